"""The blocked convolution kernels (scratch buffers, worker threads, batch-folded input
gradient) give the same numbers as one whole-batch pass and as PyTorch."""

import numpy as np
import pytest

import numtorch
import numtorch.nn.functional as F
from numtorch.ops import _runtime
from numtorch.ops import conv as conv_ops

torch = pytest.importorskip("torch")


# every test runs on the pure-NumPy kernels and on the compiled ones (conftest.py)
pytestmark = pytest.mark.usefixtures("jit_kernels")


def _run(lib, x, w, b, **kw):
    xt = lib.tensor(x, requires_grad=True)
    wt = lib.tensor(w, requires_grad=True)
    bt = lib.tensor(b, requires_grad=True)
    out = lib.nn.functional.conv2d(xt, wt, bt, **kw)
    (out * out).sum().backward()
    return [a.detach().numpy() for a in (out, xt.grad, wt.grad, bt.grad)]


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("kw", [{}, dict(padding=2), dict(padding=(1, 0), dilation=2),
                                dict(stride=2, padding=1)])
def test_tiny_blocks_scratch_and_threads_match_whole_batch_and_torch(monkeypatch, kw, workers):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 3, 9, 8)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    whole = _run(numtorch, x, w, b, **kw)
    theirs = _run(torch, x, w, b, **kw)
    # one image per block, every temporary from the per-thread scratch buffers
    monkeypatch.setattr(conv_ops, "_BLOCK_BYTES", 1)
    monkeypatch.setattr(conv_ops, "_COL2IM_BLOCK_BYTES", 1)
    monkeypatch.setattr(_runtime, "_SCRATCH_MIN", 0)
    monkeypatch.setattr(numtorch._threads, "_requested", workers)  # that many threads, all idle
    monkeypatch.setattr(numtorch._threads, "workers", lambda: workers)
    for _ in range(2):  # the second pass reuses the buffers the first one left behind
        blocked = _run(numtorch, x, w, b, **kw)
        for a, c, t in zip(blocked, whole, theirs):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(a, t, rtol=1e-4, atol=1e-4)


def test_scratch_views_and_cap(monkeypatch):
    a = _runtime.scratch("test", (40, 500), np.float32)
    assert a.shape == (40, 500) and a.dtype == np.float32 and a.flags.c_contiguous
    b = _runtime.scratch("test", (10, 10), np.float64)
    assert np.shares_memory(a, b) or b.nbytes < _runtime._SCRATCH_MIN
    monkeypatch.setattr(_runtime, "_SCRATCH_CAP", 1024)
    c = _runtime.scratch("test", (40, 500), np.float32)
    assert not np.shares_memory(a, c)


def test_input_gradient_not_needed_skips_it():
    rng = np.random.default_rng(1)
    x = numtorch.tensor(rng.standard_normal((2, 1, 8, 8)).astype(np.float32))
    w = numtorch.tensor(rng.standard_normal((4, 1, 5, 5)).astype(np.float32), requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == (4, 1, 5, 5)


@pytest.mark.parametrize("n,block", [(32, 14), (32, 7), (32, 3), (32, 1), (32, 64), (5, 2),
                                     (64, 13), (3, 1)])
def test_blocks_cover_the_batch_in_equal_shares(monkeypatch, n, block):
    monkeypatch.setattr(numtorch._threads, "_requested", 2)
    bounds = _runtime._bounds(n, block)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert all(0 < e - s <= block for s, e in bounds)
    if n > block:  # two workers taking contiguous halves of the blocks get equal work
        per = -(-len(bounds) // 2)
        halves = [sum(e - s for s, e in bounds[:per]), sum(e - s for s, e in bounds[per:])]
        assert abs(halves[0] - halves[1]) <= max(1, n // 8)


def test_run_steps_runs_generator_kernels_together_and_returns_their_values(monkeypatch):
    monkeypatch.setattr(numtorch._threads, "_requested", 2)
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    jobs = []
    run_together = _runtime.run_together
    monkeypatch.setattr(_runtime, "run_together",
                        lambda steps: jobs.append(len(steps)) or run_together(steps))

    def two_rounds():  # yields twice: its second blocks see the first blocks' results
        firsts = yield _runtime.Blocks(8, 2, lambda s, e: s)
        seconds = yield _runtime.Blocks(3, 1, lambda s, e: firsts[s] * 10)
        return firsts, seconds

    def one_round():
        parts = yield _runtime.Blocks(5, 1, lambda s, e: -s)
        return sum(parts)

    def no_blocks():
        return "done"
        yield  # a generator that returns before yielding anything

    assert _runtime.run_steps(two_rounds(), no_blocks(), one_round()) == [
        ([0, 2, 4, 6], [0, 20, 40]), "done", -10]
    assert jobs == [2, 1]  # both kernels' first blocks in one job, then the second round

    def fail(s, e):
        raise ValueError("block failed")

    def failing():
        yield _runtime.Blocks(4, 1, fail)

    with pytest.raises(ValueError, match="block failed"):
        _runtime.run_steps(one_round(), failing())


@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_prepare_runs_first_and_finish_replaces_the_results(monkeypatch, threads):
    """A step's ``prepare`` runs once before any of its blocks, its ``finish`` once after the
    last, on the results in block order, and its value is what the kernel receives; a step
    without either still gets its list."""
    monkeypatch.setattr(numtorch._threads, "_requested", threads)
    monkeypatch.setattr(numtorch._threads, "workers", lambda: threads)
    log = []
    prepared = []

    def prepare():
        log.append("prepare")
        prepared.append(10)

    def block(s, e):
        log.append(s)
        return prepared[0] + s

    def finish(parts):
        log.append("finish")
        return tuple(parts)

    def prepared_kernel():
        return (yield _runtime.Blocks(6, 1, block, prepare=prepare, finish=finish))

    def plain_kernel():
        return (yield _runtime.Blocks(4, 1, lambda s, e: -s))

    assert _runtime.run_steps(prepared_kernel(), plain_kernel()) == [
        (10, 11, 12, 13, 14, 15), [0, -1, -2, -3]]
    assert log.count("prepare") == log.count("finish") == 1
    assert log[0] == "prepare" and log[-1] == "finish"
    assert sorted(log[1:-1]) == list(range(6))

    def failing_prepare():
        raise ValueError("prepare failed")

    def failing():
        return (yield _runtime.Blocks(6, 1, block, prepare=failing_prepare, finish=finish))

    prepared.clear()
    with pytest.raises(ValueError, match="prepare failed"):
        _runtime.run_steps(failing(), plain_kernel())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,w_shape,stride,padding", [
    ((8, 16, 12, 12), (16, 3, 3), 1, 1),   # Winograd forward of the flipped weight + weight
    ((8, 16, 12, 12), (32, 3, 3), 2, 1),   # gather + stride-2 columns
    ((8, 32, 8, 8), (16, 3, 3), 2, 1),     # rows' weight gradient
    ((8, 16, 12, 12), (32, 1, 1), 2, 0),   # 1x1 shortcut: the col2im and columns paths
    ((4, 3, 9, 9), (5, 3, 3), 1, 1),       # few channels: col2im and columns
])
def test_input_and_weight_gradients_in_one_job_match_separate_runs_and_torch(
        monkeypatch, shape, w_shape, stride, padding, dtype):
    """The backward runs both gradients' blocks in one job: the same bits as computing each
    alone, on one thread and on two (tiny blocks, many per gradient), and torch's values."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((w_shape[0], shape[1]) + w_shape[1:]).astype(dtype)
    geom = ((stride, stride), (padding,) * 4, (1, 1), 1, False, (0, 0), 2)
    ho = (shape[2] + 2 * padding - w_shape[1]) // stride + 1
    g = rng.standard_normal((shape[0], w_shape[0], ho, ho)).astype(dtype)
    args = (g, w, x.shape, geom[0], geom[1], geom[2], 1)
    alone = (conv_ops._conv_backward_input(*args),
             conv_ops._conv_backward_weight(g, x, w.shape[2:], *geom[:3], 1))
    together = conv_ops._conv_backward_arrays(g, x, w, geom, (True, True, False), x.shape)
    np.testing.assert_array_equal(together[0], alone[0])
    np.testing.assert_array_equal(together[1], alone[1])
    assert together[2] is None
    monkeypatch.setattr(conv_ops, "_BLOCK_BYTES", 1)
    monkeypatch.setattr(conv_ops, "_COL2IM_BLOCK_BYTES", 1)
    one = conv_ops._conv_backward_arrays(g, x, w, geom, (True, True, False), x.shape)
    monkeypatch.setattr(numtorch._threads, "_requested", 2)
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    two = conv_ops._conv_backward_arrays(g, x, w, geom, (True, True, False), x.shape)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv2d(xt, wt, None, stride, padding).backward(torch.tensor(g))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(two[0], xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(two[1], wt.grad.numpy(), rtol=tol, atol=tol)


def test_single_block_kernels_run_together_stay_on_the_caller(monkeypatch):
    """Two kernels of one block each (small convolutions) do not wake a helper; one with
    several blocks shares all of them."""
    import threading
    monkeypatch.setattr(numtorch._threads, "_requested", 2)
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    starts = []
    run_chunks = numtorch._threads.run_chunks
    monkeypatch.setattr(numtorch._threads, "run_chunks",
                        lambda fn, n, t: starts.append(n) or run_chunks(fn, n, t))
    here = threading.get_ident()

    def kernel(n, block):
        seen = yield _runtime.Blocks(n, block, lambda s, e: threading.get_ident())
        return seen

    small = _runtime.run_steps(kernel(4, 4), kernel(2, 8))
    assert starts == [] and small == [[here], [here]]
    _runtime.run_steps(kernel(4, 1), kernel(2, 8))
    assert starts == [5]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(stride=2), dict(padding=1)])
def test_split_batch_and_shared_gradients_match_torch_on_one_and_two_threads(monkeypatch, dtype,
                                                                            kw):
    """A batch that fits in one block but is large (``_SPLIT_BYTES``) is cut in shares, and its
    gradients' single blocks run side by side: the same bits on one thread and two."""
    rng = np.random.default_rng(2)
    k = 1 if kw.get("stride") else 3
    x = rng.standard_normal((6, 4, 8, 8)).astype(dtype)
    w = rng.standard_normal((5, 4, k, k)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    whole = _run(numtorch, x, w, b, **kw)
    theirs = _run(torch, x, w, b, **kw)
    monkeypatch.setattr(conv_ops, "_SPLIT_BYTES", 1)
    runs = []
    for workers in (1, 2):
        monkeypatch.setattr(numtorch._threads, "_requested", workers)
        monkeypatch.setattr(numtorch._threads, "workers", lambda n=workers: n)
        runs.append(_run(numtorch, x, w, b, **kw))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for one, two, c, t in zip(*runs, whole, theirs):
        assert one.dtype == dtype
        np.testing.assert_array_equal(one, two)
        np.testing.assert_allclose(one, c, rtol=tol, atol=tol)
        np.testing.assert_allclose(one, t, rtol=tol, atol=tol)
