"""Thread settings: set/get_num_threads, the BLAS limit, the worker count that backs off when
other processes keep cores busy, and the products shared among numtorch's threads."""

import threading

import numpy as np
import pytest

import numtorch
from numtorch import _threads
from numtorch.ops import _parallel, _runtime


@pytest.fixture
def restore_threads(monkeypatch):
    monkeypatch.setattr(_threads, "_requested", _threads._requested)
    monkeypatch.setattr(_threads, "_sample", {})
    monkeypatch.setattr(_threads, "_BLAS_ENV_CAP", None)  # whatever the environment running us says
    yield
    _threads._apply_default()


def test_set_num_threads_caps_blas_and_workers(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    numtorch.set_num_threads(1)
    assert numtorch.get_num_threads() == 1
    assert _threads.workers() == 1
    blas = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert blas and all(n == 1 for n in blas)


def test_default_is_the_usable_cpus(restore_threads):
    _threads._requested = None
    assert numtorch.get_num_threads() == _threads._usable_cpus()


def test_bad_thread_count_raises_and_keeps_setting(restore_threads):
    before = numtorch.get_num_threads()
    with pytest.raises(ValueError):
        numtorch.set_num_threads(0)
    assert numtorch.get_num_threads() == before


@pytest.mark.parametrize("busy,expected", [(0.0, 4), (1.0, 3), (2.6, 1), (3.9, 1), (8.0, 1)])
def test_workers_leave_the_busy_cores_alone(restore_threads, monkeypatch, busy, expected):
    monkeypatch.setattr(_threads, "_requested", 8)
    monkeypatch.setattr(_threads, "_usable_cpus", lambda: 4)
    monkeypatch.setattr(_threads, "_cores_busy_with_others", lambda: busy)
    assert _threads.workers() == expected


def test_busy_cores_come_from_cpu_time_not_counting_our_own(restore_threads, monkeypatch):
    # two CPUs at 100 ticks a second; over one second the machine used 150 busy ticks, 100 of
    # them ours: other processes kept half a core busy
    readings = iter([(1000, 500), (1200, 550)])
    own = iter([10.0, 11.0])
    monkeypatch.setattr(_threads, "_read_proc_stat", lambda: next(readings))
    monkeypatch.setattr(_threads, "_own_cpu_seconds", lambda: next(own))
    monkeypatch.setattr(_threads, "_CLOCK_TICKS", 100)
    monkeypatch.setattr(_threads, "_usable_cpus", lambda: 2)
    assert _threads._cores_busy_with_others() is None  # first reading: nothing to compare
    assert _threads._cores_busy_with_others() == pytest.approx(0.5)


def test_only_the_cpus_we_may_run_on_count(restore_threads, monkeypatch):
    import io

    stat = (b"cpu  900 0 100 1000 0 0 0 0 0 0\n"
            b"cpu0 400 0 0 100 0 0 0 0 0 0\n"
            b"cpu1 100 0 0 400 0 0 0 0 0 0\n"
            b"cpu2 400 0 100 500 0 0 0 0 0 0\n"
            b"intr 12345\n")
    real_open = open
    monkeypatch.setattr(_threads, "open", lambda path, mode="r": io.BytesIO(stat)
                        if path == "/proc/stat" else real_open(path, mode), raising=False)
    monkeypatch.setattr(_threads.os, "sched_getaffinity", lambda pid: {1, 2})
    assert _threads._read_proc_stat() == (1500, 900)


def test_without_proc_stat_the_load_average_is_used(restore_threads, monkeypatch):
    def missing():
        raise OSError("no /proc here")

    monkeypatch.setattr(_threads, "_read_proc_stat", missing)
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (2.5, 0.0, 0.0))
    assert _threads._cores_busy_with_others() == pytest.approx(1.5)


# ------------------------------------------------------------------ BLAS threads per product
def test_small_products_stay_on_one_blas_thread(restore_threads, monkeypatch):
    monkeypatch.setattr(_threads, "_requested", 8)
    monkeypatch.setattr(_threads, "workers", lambda: 8)
    assert _threads.blas_threads_for(64, 120, 400) == 1  # LeNet's largest product
    assert _threads.blas_threads_for(1, 1, 1) == 1
    limit = _threads.FLOPS_PER_BLAS_THREAD
    assert _threads.blas_threads_for(1, 1, 2 * limit - 1) == 1
    assert _threads.blas_threads_for(1, 1, 2 * limit) == 2
    assert _threads.blas_threads_for(4096, 384, 128) == 8  # the char GPT's QKV projection


def test_large_products_respect_the_cap_and_the_idle_cores(restore_threads, monkeypatch):
    size = (4096, 384, 128)
    numtorch.set_num_threads(1)
    assert _threads.blas_threads_for(*size) == 1
    numtorch.set_num_threads(3)
    monkeypatch.setattr(_threads, "_usable_cpus", lambda: 4)
    monkeypatch.setattr(_threads, "_cores_busy_with_others", lambda: 0.0)
    assert _threads.blas_threads_for(*size) == 3
    _threads._sample.clear()
    monkeypatch.setattr(_threads, "_cores_busy_with_others", lambda: 3.0)  # one core idle
    assert _threads.blas_threads_for(*size) == 1


def test_off_the_main_thread_products_use_one_blas_thread(restore_threads, monkeypatch):
    import threading

    monkeypatch.setattr(_threads, "_requested", 4)
    monkeypatch.setattr(_threads, "workers", lambda: 4)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(_threads.blas_threads_for(4096, 384, 128)))
    worker.start()
    worker.join()
    assert seen == [1]


def _blas_threads_now(threadpoolctl):
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


@pytest.fixture
def small_work(restore_threads, monkeypatch):
    """Products of a few thousand multiply-adds count as large enough to share."""
    monkeypatch.setattr(_threads, "FLOPS_PER_THREAD", 1000)
    monkeypatch.setattr(_threads, "_requested", 2)


@pytest.mark.parametrize("sa,sb,fortran", [
    ((64, 40), (40, 30), ""), ((30, 40), (40, 64), "a"), ((48, 33), (33, 50), "ab"),
    ((3, 40, 20), (3, 20, 30), ""), ((2, 2, 40, 20), (2, 2, 20, 30), "b")])
def test_shared_products_give_the_same_bits_quiet_or_busy(small_work, monkeypatch, sa, sb,
                                                          fortran):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    if "a" in fortran:
        a = np.asfortranarray(a)
    if "b" in fortran:
        b = np.asfortranarray(b)
    calls = []
    real = _threads.run_chunks

    def recording(fn, chunks, threads):
        calls.append((chunks, threads))
        real(fn, chunks, threads)

    monkeypatch.setattr(_threads, "run_chunks", recording)
    monkeypatch.setattr(_threads, "workers", lambda: 2)  # a quiet machine
    quiet = _threads.matmul(a, b)
    monkeypatch.setattr(_threads, "workers", lambda: 1)  # another process keeps a core busy
    busy = _threads.matmul(a, b)
    assert calls == [(2, 2), (2, 1)]
    np.testing.assert_array_equal(quiet, busy)
    np.testing.assert_allclose(quiet, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-5,
                               atol=1e-5)
    assert quiet.shape == (a @ b).shape and quiet.dtype == np.float32


@pytest.mark.parametrize("bias_kind", ["row", "row2d", "full", "column", "scalar"])
@pytest.mark.parametrize("sa,sb", [((64, 40), (40, 30)), ((30, 40), (40, 64)), ((4, 3), (3, 5))])
def test_addmm_adds_the_bias_in_each_piece_with_the_bits_of_product_plus_bias(
        small_work, monkeypatch, sa, sb, bias_kind):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    m, n = sa[0], sb[1]
    shape = {"row": (n,), "row2d": (1, n), "full": (m, n), "column": (m, 1), "scalar": ()}
    shape = shape[bias_kind]
    bias = rng.standard_normal(shape).astype(np.float32)
    for workers in (2, 1):
        monkeypatch.setattr(_threads, "workers", lambda w=workers: w)
        got = _threads.addmm(bias, a, b)
        want = _threads.matmul(a, b)
        want += bias
        np.testing.assert_array_equal(got, want)


def test_products_run_as_one_job_with_the_bits_of_separate_products(small_work, monkeypatch):
    rng = np.random.default_rng(2)
    g = rng.standard_normal((64, 30)).astype(np.float32)
    w = rng.standard_normal((30, 40)).astype(np.float32)
    x = rng.standard_normal((64, 40)).astype(np.float32)
    tiny = rng.standard_normal((2, 3)).astype(np.float64)
    separate = [_threads.matmul(g, w), _threads.matmul(g.T, x), tiny @ tiny.T]
    calls, ran = [], []
    real = _threads.run_chunks

    def recording(fn, chunks, threads):
        calls.append(chunks)
        real(fn, chunks, threads)

    monkeypatch.setattr(_threads, "run_chunks", recording)
    monkeypatch.setattr(_threads, "workers", lambda: 2)
    outs = _threads.products([(g, w), (g.T, x), (tiny, tiny.T)], extra=(lambda: ran.append(1),))
    assert len(calls) == 1 and calls[0] >= 4 and ran == [1]
    for got, want in zip(outs, separate):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_shared_products_keep_blas_on_one_thread(small_work, monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(_threads, "workers", lambda: 2)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 40)).astype(np.float32)
    seen = []

    def piece(i):
        seen.append(_blas_threads_now(threadpoolctl))

    _threads.run_chunks(piece, 2, 2)
    _threads.matmul(a, a.T)
    assert seen and all(n == 1 for ns in seen for n in ns)
    assert all(n == 1 for n in _blas_threads_now(threadpoolctl))


def test_set_num_threads_one_never_cuts_a_product(restore_threads, monkeypatch):
    monkeypatch.setattr(_threads, "FLOPS_PER_THREAD", 1000)
    numtorch.set_num_threads(1)
    monkeypatch.setattr(_threads, "run_chunks", lambda *args: pytest.fail("cut a product"))
    a = np.ones((64, 40), np.float32)
    np.testing.assert_array_equal(_threads.matmul(a, a.T), a @ a.T)


@pytest.mark.parametrize("chunks,threads", [(1, 1), (5, 1), (5, 2), (3, 8), (64, 3)])
def test_run_chunks_calls_every_chunk_once(chunks, threads):
    done = []
    _threads.run_chunks(done.append, chunks, threads)
    assert sorted(done) == list(range(chunks))


@pytest.mark.parametrize("rows,row_size", [(0, 10), (1, 1), (7, 1000), (65, 1000), (65, 1009),
                                          (3, 1 << 16), (2, 1 << 16), (5, 0)])
def test_run_rows_calls_the_ranges_of_chunks_on_one_thread(restore_threads, rows, row_size):
    # (a pass of one chunk is called at once, without the thread bookkeeping: the same range)
    numtorch.set_num_threads(1)
    done = []
    _parallel.run_rows(lambda s, e: done.append((s, e)), rows, row_size)
    assert done == _parallel.chunks(rows, row_size)


def test_run_chunks_raises_the_error_of_a_chunk_after_all_ran():
    done = []

    def piece(i):
        done.append(i)
        if i == 1:
            raise ValueError("chunk 1 failed")

    with pytest.raises(ValueError, match="chunk 1 failed"):
        _threads.run_chunks(piece, 4, 2)
    assert sorted(done) == [0, 1, 2, 3]
    _threads.run_chunks(done.append, 2, 2)  # the helpers still serve
    assert sorted(done) == [0, 0, 1, 1, 2, 3]


def test_threads_for_scales_with_the_work_and_the_idle_cores(restore_threads, monkeypatch):
    monkeypatch.setattr(_threads, "_requested", 4)
    monkeypatch.setattr(_threads, "workers", lambda: 3)
    per = _threads.FLOPS_PER_THREAD
    assert _threads.threads_for(0) == 1
    assert _threads.threads_for(2 * per - 1) == 1
    assert _threads.threads_for(2 * per) == 2
    assert _threads.threads_for(100 * per) == 3  # one core is busy with another process
    assert _threads.threads_for(250, per_thread=100) == 2  # a caller's own unit of work
    numtorch.set_num_threads(1)
    assert _threads.threads_for(100 * per) == 1


def test_set_num_threads_leaves_blas_at_rest_on_one_thread(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    numtorch.set_num_threads(2)
    assert numtorch.get_num_threads() == 2
    assert all(n == 1 for n in _blas_threads_now(threadpoolctl))


@pytest.mark.parametrize("sa,sb", [((3, 5, 7), (7, 4)), ((2, 3, 5, 7), (7, 65)),
                                   ((0, 5, 7), (7, 4)), ((3, 5, 0), (0, 4)),
                                   ((3, 5, 7), (1, 7, 4)), ((5, 7), (7, 4))])
def test_matmul_stack_times_matrix_is_one_product(sa, sb):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    out = _threads.matmul(a, b)
    assert out.shape == (a @ b).shape and out.dtype == np.float32
    np.testing.assert_allclose(out, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-5,
                               atol=1e-5)
    strided = np.swapaxes(rng.standard_normal(sa[:-2] + sa[-1:] + sa[-2:-1]), -1, -2)
    np.testing.assert_allclose(_threads.matmul(strided, b), strided @ b, rtol=1e-5, atol=1e-5)


def test_matmul_keeps_numpys_error_for_mismatched_shapes():
    with pytest.raises(ValueError):
        _threads.matmul(np.ones((2, 3, 4), np.float32), np.ones((5, 6), np.float32))


def test_blas_environment_variables_cap_the_product_threads(restore_threads, monkeypatch):
    monkeypatch.setattr(_threads, "_requested", 8)
    monkeypatch.setattr(_threads, "workers", lambda: 8)
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert _threads._blas_env_cap() is None
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setattr(_threads, "_BLAS_ENV_CAP", _threads._blas_env_cap())
    assert _threads._BLAS_ENV_CAP == 1
    assert _threads.blas_threads_for(4096, 384, 128) == 1
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    monkeypatch.setattr(_threads, "_BLAS_ENV_CAP", _threads._blas_env_cap())
    assert _threads.blas_threads_for(4096, 384, 128) == 3


# ------------------------------------------------------------------- the one worker pool
def test_a_chunk_that_asks_for_the_pool_runs_its_own_chunks_inline(monkeypatch):
    outer = threading.Barrier(2, timeout=10)  # the two outer chunks run on two threads
    seen = []
    starters = []
    real_start = _threads._team.start

    def recording_start(helpers, job):
        starters.append(threading.get_ident())
        real_start(helpers, job)

    monkeypatch.setattr(_threads._team, "start", recording_start)

    def inner(j):
        seen.append((threading.get_ident(), j))

    def piece(i):
        outer.wait()
        _threads.run_chunks(inner, 3, 2)  # from the helper: inline, never waiting on the pool

    _threads.run_chunks(piece, 2, 2)
    assert sorted(j for _, j in seen) == [0, 0, 1, 1, 2, 2]
    assert len({t for t, _ in seen}) >= 2
    assert set(starters) == {threading.get_ident()}  # only the caller handed work to the pool


def test_nested_users_of_the_pool_finish(restore_threads, monkeypatch):
    monkeypatch.setattr(_threads, "_requested", 2)
    monkeypatch.setattr(_threads, "workers", lambda: 2)
    monkeypatch.setattr(_parallel, "threads_for", lambda size, per_thread=None: 2)
    out = np.zeros((8, 4))

    def rows(s, e):  # each run of rows runs convolution-style blocks
        _runtime.run_blocks(4, 1, lambda b0, b1: out[s:e, b0:b1].__iadd__(1.0))

    _parallel.run_rows(rows, 8, 1, bounds=[(i, i + 1) for i in range(8)])
    np.testing.assert_array_equal(out, np.ones((8, 4)))


def test_run_blocks_gives_the_results_in_block_order_and_raises_a_blocks_error(
        restore_threads, monkeypatch):
    monkeypatch.setattr(_threads, "_requested", 2)
    monkeypatch.setattr(_threads, "workers", lambda: 2)
    assert _runtime.run_blocks(8, 1, lambda s, e: s) == list(range(8))

    def fail(s, e):
        if s == 5:
            raise ValueError("block 5 failed")

    with pytest.raises(ValueError, match="block 5 failed"):
        _runtime.run_blocks(8, 1, fail)


def test_helpers_keep_the_callers_numpy_error_state():
    both = threading.Barrier(2, timeout=10)  # so each chunk runs on its own thread
    seen = []

    def piece(i):
        both.wait()
        seen.append((threading.get_ident(), np.geterr()["over"]))
        np.float32(3e38) * np.float32(10)

    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        _threads.run_chunks(piece, 2, 2)
    assert len({t for t, _ in seen}) == 2 and {e for _, e in seen} == {"raise"}


def test_one_thread_runs_every_pooled_kernel_on_the_caller(restore_threads):
    pytest.importorskip("threadpoolctl")
    numtorch.set_num_threads(1)
    seen = set()
    _runtime.run_blocks(8, 1, lambda s, e: seen.add(threading.get_ident()))
    _parallel.run_rows(lambda s, e: seen.add(threading.get_ident()), 1 << 20, 1)
    assert seen == {threading.get_ident()}


def _shared_jobs(monkeypatch):
    """Two threads allowed and idle; returns the list that records the thread count of each
    job handed to the pool with more than one thread."""
    monkeypatch.setattr(_threads, "_requested", 2)
    monkeypatch.setattr(_threads, "workers", lambda: 2)
    jobs = []
    real = _threads.run_chunks

    def spy(fn, chunks, threads):
        if threads > 1:
            jobs.append(chunks)
        return real(fn, chunks, threads)

    monkeypatch.setattr(_threads, "run_chunks", spy)
    return jobs


@pytest.mark.parametrize("op", ["add", "mul", "relu", "relu_backward"])
def test_light_passes_are_shared_only_from_twice_their_per_thread_size(restore_threads,
                                                                       monkeypatch, op):
    # an add, a product or ReLU of 2**18-2**19 float32 took 1.3-2 times as long on two threads
    # as on one (waking a helper): those stay whole, larger ones are shared
    from numtorch.ops import _jit, elementwise

    if op.startswith("relu") and _jit.kernels(np.ones(1, np.float32)) is None:
        pytest.skip("ReLU's shared passes are the compiled ones (numba)")
    jobs = _shared_jobs(monkeypatch)
    light = {"relu": 2 * elementwise._RELU_RUN,
             "relu_backward": 2 * elementwise._RELU_BACKWARD_RUN}.get(
        op, 2 * _parallel.LIGHT_PER_THREAD)
    for size, shared in ((light - 256, False), (light, True)):
        jobs.clear()
        rng = np.random.default_rng(0)
        a = numtorch.tensor(rng.standard_normal((size // 256, 256)).astype(np.float32),
                            requires_grad=op == "relu_backward")
        b = numtorch.tensor(rng.standard_normal((size // 256, 256)).astype(np.float32))
        if op == "add":
            got, want = (a + b).numpy(), a.numpy() + b.numpy()
        elif op == "mul":
            got, want = (a * b).numpy(), a.numpy() * b.numpy()
        elif op == "relu":
            got, want = numtorch.relu(a).numpy(), np.maximum(a.numpy(), 0)
        else:
            out = numtorch.relu(a)
            jobs.clear()  # (only the backward's passes)
            out.backward(b)
            got, want = a.grad.numpy(), np.where(a.detach().numpy() > 0, b.numpy(), 0)
        np.testing.assert_array_equal(got, want)
        assert bool(jobs) == shared, (size, jobs)
        if shared and op in ("add", "mul"):  # runs of LIGHT_RUN elements: few hand-offs
            assert jobs == [size // _parallel.LIGHT_RUN]


@pytest.mark.parametrize("part", ["forward", "backward", "dropout"])
def test_layer_norm_and_dropout_are_shared_from_two_of_their_per_thread_runs(
        restore_threads, monkeypatch, part):
    from numtorch.ops import _jit, dropout, normalization

    if _jit.kernels(np.ones(1, np.float32)) is None:
        pytest.skip("the compiled layer norm and dropout need numba")
    jobs = _shared_jobs(monkeypatch)
    per = {"forward": normalization._LAYER_NORM_PER_THREAD,
           "backward": normalization._LAYER_NORM_BACKWARD_PER_THREAD,
           "dropout": dropout._PER_THREAD}[part]
    for size, shared in ((per, False), (2 * per, True)):
        x = numtorch.randn(size // 256, 256, requires_grad=True)
        jobs.clear()
        if part == "dropout":
            numtorch.nn.functional.dropout(x, 0.3)
        else:
            y = numtorch.nn.functional.layer_norm(x, (256,))
        if part == "backward":
            jobs.clear()
            y.backward(numtorch.ones_like(y))
        assert bool(jobs) == shared, size


def test_helpers_do_not_keep_a_finished_jobs_arrays_alive(restore_threads, monkeypatch):
    # a helper waiting for its next job held the last one, and with it that job's inputs and
    # result: a 10 MB tensor outlived its last reference until the next parallel pass
    import gc
    import tracemalloc

    monkeypatch.setattr(_threads, "_requested", 2)
    monkeypatch.setattr(_threads, "_cores_busy_with_others", lambda: 0.0)
    monkeypatch.setattr(_threads, "_usable_cpus", lambda: 2)
    size = 4 * _parallel.MIN_PARALLEL
    tracemalloc.start()
    try:
        for _ in range(3):
            a = np.ones(size, np.float32)
            b = _parallel.binary(np.multiply, a, a)
            del a, b
            gc.collect()
        left = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert left < size * 4 // 2, left


# ------------------------------------------------------------- handing jobs to the helpers
def _two_thread_job(gap, log):
    """A job of two chunks that only finishes if a second thread takes one of them: each
    chunk waits for the other at a barrier (a lost wake-up breaks it after 10 s)."""
    import time

    both = threading.Barrier(2, timeout=10)
    done = []

    def piece(i):
        both.wait()
        done.append(i)

    if gap:
        time.sleep(gap)
    _threads.run_chunks(piece, 2, 2)
    log.append(sorted(done))


def test_jobs_reach_the_helpers_after_short_and_long_gaps():
    log = []
    for k in range(60):
        _two_thread_job((0, 20e-6, 2e-3)[k % 3], log)
    assert log == [[0, 1]] * 60


def test_a_stress_loop_of_jobs_runs_every_chunk_once():
    rng = np.random.default_rng(3)
    for k in range(400):
        chunks = int(rng.integers(2, 9))
        threads = int(rng.integers(2, 4))  # more threads than this machine may have cores
        done = []
        _threads.run_chunks(done.append, chunks, threads)
        assert sorted(done) == list(range(chunks)), k


def test_a_forked_child_starts_its_own_helpers():
    import os
    import warnings

    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    _two_thread_job(0, [])  # the parent has helpers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (Python 3.12)
        pid = os.fork()
    if pid == 0:  # the child: a fresh pool whose helpers serve it
        code = 1
        try:
            log = []
            _two_thread_job(0, log)
            _two_thread_job(1e-3, log)
            code = 0 if log == [[0, 1]] * 2 and len(_threads._team.helpers) == 1 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
