"""Element-wise passes cut into runs of rows, shared among numtorch's worker threads.

A large element-wise pass (GELU, softmax, layer norm, dropout on a transformer's activations,
a large add or product) is cut into runs of rows (:func:`chunks`) that numtorch's one worker
pool (``numtorch._threads.run_chunks``) shares among the calling thread and up to
``numtorch.get_num_threads() - 1`` helpers, only as many as :func:`threads_for` gives now
(``numtorch._threads.threads_for`` in elements: one thread per ``MIN_PARALLEL // 2`` elements,
capped by the cores other processes leave idle). NumPy's ufuncs and the compiled kernels
release the GIL, so the runs proceed in parallel. Below :data:`MIN_PARALLEL` elements
everything stays on the calling thread: waking a helper costs some tens of microseconds, more
than it saves there. A light pass (an element-wise add or multiply: little arithmetic per
element) saves less per element, so it is shared only from ``2 * LIGHT_PER_THREAD`` elements
(and each kernel may pass its own ``per_thread``); ``python -m benchmarks.threads`` measures
each pass on one thread and on the default.

Run boundaries never depend on the number of threads, and each row is computed by the same
code whichever thread runs it, so results are bitwise the same on one thread or several.
"""

import numpy as np

from .. import _threads

__all__ = ["chunks", "run_rows", "map_flat", "binary", "copy", "stacked_matmul", "MIN_PARALLEL"]

#: Passes over fewer elements than this run on the calling thread alone: a memory-bound pass
#: over 2**18 float32 takes 0.1-0.5 ms here, and waking a worker and waiting for it costs
#: 20-50 µs, so only above that does the second thread win clearly.
MIN_PARALLEL = 1 << 18
#: Rows are cut into runs of about this many elements (a quarter MiB of float32): small enough
#: to stay in the L2 cache across the several passes of a NumPy fallback.
CHUNK_ELEMENTS = 1 << 16
#: A light pass (each element read and written once with next to no arithmetic: an
#: element-wise add or multiply) is shared only from twice this many elements, in runs of
#: :data:`LIGHT_RUN` (ReLU's compiled passes have their own runs, ``elementwise._RELU_RUN``).
#: Measured on the 2-core Zen 3 (``python -m benchmarks.threads``, one thread against two,
#: helpers asleep between calls as between a model's ops): with 2**17 an add or multiply of
#: 2**18-2**19 float32 took 1.4-2 times as long on two threads (126 against 247 µs at 2**18,
#: 208 against 325 at 2**19: waking a helper and handing the GIL back and forth cost more than
#: half the pass saves); at 2**20 an add read 0.79-1.26 over five runs, a multiply 0.85-1.15;
#: from 2**21 both were 1.15-1.6 times faster.
LIGHT_PER_THREAD = 1 << 19
#: Runs of a light pass: its single ufunc needs nothing kept in cache across passes, and fewer
#: runs hand the GIL between the threads fewer times (an add of 2**20 float32 on two threads:
#: 446 µs in runs of 2**16, 291 µs in runs of 2**18, one thread 308 µs).
LIGHT_RUN = 1 << 18


def chunks(rows, row_size, elements=CHUNK_ELEMENTS):
    """Row ranges ``(start, stop)`` covering ``range(rows)``, each about ``elements``
    elements (at least one row); the same whatever the thread count."""
    per = max(1, elements // max(1, row_size))
    return [(s, min(rows, s + per)) for s in range(0, rows, per)]


def threads_for(size, per_thread=MIN_PARALLEL // 2):
    """How many threads a pass over ``size`` elements should use now: one per ``per_thread``
    elements (1 below two threads' worth: :data:`MIN_PARALLEL` by default)."""
    return _threads.threads_for(size, per_thread)


def run_rows(fn, rows, row_size, bounds=None, per_thread=MIN_PARALLEL // 2):
    """Call ``fn(start, stop)`` for every range of :func:`chunks` (or of ``bounds``), shared
    among numtorch's worker threads when the pass is large (one thread per ``per_thread``
    elements). ``fn`` must only write rows ``start:stop`` of its outputs. The first error
    raised by a range is raised here, after all ranges have run."""
    if bounds is None:
        if 0 < rows * row_size <= CHUNK_ELEMENTS:  # one chunk (what chunks gives), this thread
            fn(0, rows)
            return
        bounds = chunks(rows, row_size)
    threads = min(threads_for(rows * row_size, per_thread), len(bounds))
    if threads <= 1:
        for s, e in bounds:
            fn(s, e)
        return

    def run(i):
        fn(*bounds[i])

    _threads.run_chunks(run, len(bounds), threads)


def map_flat(kernel, out, *inputs, run=None):
    """``kernel(*input_chunks, out_chunk)`` over matching flat runs of C-contiguous arrays of
    one size (:func:`run_rows` with rows of one element); returns ``out``. With ``run``, the
    runs are that many elements each, shared only from two runs' worth (a pass that reads
    little per element, such as ReLU's, pays for a thread only over larger runs)."""
    flat_in = [a.reshape(-1) for a in inputs]
    flat_out = out.reshape(-1)
    n = flat_out.size

    def piece(s, e):
        kernel(*[a[s:e] for a in flat_in], flat_out[s:e])

    if run is None:
        run_rows(piece, n, 1)
        return out
    threads = _threads.threads_for(n, run)
    if threads <= 1:
        piece(0, n)
    else:
        _threads.run_chunks(lambda i: piece(i * run, min(n, (i + 1) * run)), -(-n // run),
                            threads)
    return out


def binary(ufunc, a, b, out=None):
    """``ufunc(a, b)`` for arrays, split into runs shared among threads when the result is large:
    both operands C-contiguous of one shape (flat runs), or one of them C-contiguous of the
    result's shape and the other a scalar (flat runs) or broadcast along the first dim (runs of
    that dim: attention scores plus a ``(1, 1, L, S)`` mask, a product plus its bias). An
    element-wise ufunc gives the same bits either way. ``out`` may be ``a`` itself (in place)."""
    light = 2 * LIGHT_PER_THREAD
    if a.size < light and (b.__class__ is not np.ndarray or b.size < light):
        # (an ``out=None`` keyword alone costs a ufunc call half again: 0.98 against 0.53 µs)
        return ufunc(a, b) if out is None else ufunc(a, b, out=out)
    plan = _plan_binary(ufunc, a, b)
    if plan is None:
        return ufunc(a, b, out=out)
    big_is_a, flat = plan
    big = a if big_is_a else b
    if threads_for(big.size, LIGHT_PER_THREAD) <= 1 or out is not None and (
            out.shape != big.shape or out.dtype != big.dtype or not out.flags.c_contiguous):
        return ufunc(a, b, out=out)
    if out is None:
        out = np.empty(big.shape, a.dtype)
    if flat:
        fa = a.reshape(-1) if a.ndim else a
        fb = b.reshape(-1) if b.ndim else b
        fo = out.reshape(-1)
        rows, row_size = fo.size, 1
    else:
        fa, fb, fo = a, b, out
        rows, row_size = big.shape[0], big.size // big.shape[0]
    cut_a, cut_b = fa.ndim and (big_is_a or fa.shape == fo.shape), \
        fb.ndim and (not big_is_a or fb.shape == fo.shape)

    def run(s, e):
        ufunc(fa[s:e] if cut_a else fa, fb[s:e] if cut_b else fb, out=fo[s:e])

    run_rows(run, rows, row_size, chunks(rows, row_size, LIGHT_RUN), LIGHT_PER_THREAD)
    return out


def copy(dst, src):
    """``dst[...] = src`` for a C-contiguous ``dst`` and ``src`` of its shape (or broadcast to
    it), in runs of ``dst``'s first dim shared among threads when it is large (from
    :data:`MIN_PARALLEL` elements). A strided copy walks short inner runs (an attention head's
    32 floats): on two threads the batch-64 char GPT's head copies took 0.8 of the time of one
    call, the stack of its query/key/value gradients 0.6. Returns ``dst``."""
    if dst.ndim == 0 or not dst.flags.c_contiguous or threads_for(dst.size) <= 1:
        np.copyto(dst, src)  # one call: one thread copying runs of rows is a fifth slower
        return dst
    src = np.broadcast_to(src, dst.shape)

    def run(s, e):
        np.copyto(dst[s:e], src[s:e])

    run_rows(run, dst.shape[0], dst.size // dst.shape[0])
    return dst


def contiguous(a):
    """``np.ascontiguousarray(a)``, a large copy shared among threads (:func:`copy`)."""
    if a.flags.c_contiguous or a.ndim == 0 or threads_for(a.size) <= 1:
        return np.ascontiguousarray(a)
    return copy(np.empty(a.shape, a.dtype), a)


_KEEPS_DTYPE: dict = {}


def _same_dtype_out(ufunc, dtype):
    """Whether ``ufunc`` maps two ``dtype`` operands to one ``dtype`` result (not a comparison)."""
    key = (ufunc, dtype)
    known = _KEEPS_DTYPE.get(key)
    if known is None:
        known = _KEEPS_DTYPE[key] = (
            ufunc.__class__ is np.ufunc and ufunc.nin == 2 and ufunc.nout == 1
            and ufunc.resolve_dtypes((dtype, dtype, None))[2] == dtype)
    return known


def _plan_binary(ufunc, a, b):
    """``(big_is_a, flat)`` when :func:`binary` may cut ``ufunc(a, b)`` into runs, else None."""
    if (b.__class__ is not np.ndarray or a.__class__ is not np.ndarray or a.dtype != b.dtype
            or a.dtype.kind != "f" or not _same_dtype_out(ufunc, a.dtype)):
        return None
    if a.shape == b.shape:
        return (True, True) if a.flags.c_contiguous and b.flags.c_contiguous else None
    big_is_a = a.ndim >= b.ndim and a.size >= b.size
    big, small = (a, b) if big_is_a else (b, a)
    if not big.flags.c_contiguous:  # (its size is checked by binary)
        return None
    if small.ndim == 0:
        return big_is_a, True
    if small.ndim == big.ndim and small.shape[0] != 1 or small.ndim > big.ndim:
        return None
    try:
        if np.broadcast_shapes(a.shape, b.shape) != big.shape:
            return None
    except ValueError:
        return None
    return big_is_a, False


def row_sums(g, inline=False):
    """``g.sum(0)`` of a 2-D array (a bias's gradient), as fixed blocks of rows summed on
    whichever thread is free (all on this one with ``inline``) and their partial sums added in
    order: the blocks depend only on the shape, so the bits are the same on one thread or
    several."""
    rows, cols = g.shape
    if g.size < MIN_PARALLEL or not g.flags.c_contiguous or g.dtype.kind != "f":
        return g.sum(0)
    bounds = chunks(rows, cols)
    partial = np.empty((len(bounds), cols), g.dtype)

    def run(i, _):
        s, e = bounds[i]
        np.sum(g[s:e], axis=0, out=partial[i])

    if inline:
        for i in range(len(bounds)):
            run(i, None)
    else:
        run_rows(run, len(bounds), rows * cols // len(bounds),
                 bounds=[(i, i + 1) for i in range(len(bounds))])
    return partial.sum(0)


#: A stack of matrix products is shared among threads from this many multiply-adds in all
#: (attention's 256 products of 64×32 by 32×64 at batch 64 are 33 M).
MIN_PARALLEL_STACK_MACS = 4_000_000
_STACK_BLOCKS = 8  # the stack is cut into this many runs, whatever the thread count


def _stack_plan(a, b):
    """``(out, bounds)`` when ``a @ b`` is a stack of small products to cut into fixed runs of
    the batch (see :func:`stacked_matmul`), else None."""
    if (a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[0] < _STACK_BLOCKS
            or a.shape[2] != b.shape[1] or a.dtype != b.dtype
            or a.dtype not in (np.float32, np.float64)):
        return None
    batch, m, k = a.shape
    n = b.shape[2]
    per = m * n * k
    if per >= 2 * _threads.FLOPS_PER_BLAS_THREAD or batch * per < MIN_PARALLEL_STACK_MACS:
        return None
    step = -(-batch // _STACK_BLOCKS)
    return (np.empty((batch, m, n), a.dtype),
            [(s, min(batch, s + step)) for s in range(0, batch, step)])


def stacked_matmul(a, b, product):
    """``product(a, b)`` for arrays; a stack of small matrix products (3-d ``a`` and ``b`` of
    one batch size, each product too small for BLAS threads, many in all) is instead cut into
    fixed runs of the batch shared among threads, each run one NumPy matmul on one BLAS thread
    (each product computed exactly as in one call)."""
    return stacked_matmuls([(a, b)], product)[0]


def stacked_matmuls(pairs, product):
    """``[product(a, b) for a, b in pairs]``, the stacks of small products among them cut as
    :func:`stacked_matmul` cuts them and all their runs shared among threads in one job (a
    batched product's two gradients wake the helpers once)."""
    plans = [_stack_plan(a, b) for a, b in pairs]
    if all(p is None for p in plans) or threads_for(MIN_PARALLEL) <= 1:
        return [product(a, b) for a, b in pairs]
    outs, runs = [], []
    for (a, b), plan in zip(pairs, plans):
        if plan is None:
            outs.append(product(a, b))
            continue
        out, bounds = plan
        outs.append(out)
        runs.extend((a, b, out, s, e) for s, e in bounds)

    def run(i, _):
        a, b, out, s, e = runs[i]
        np.matmul(a[s:e], b[s:e], out=out[s:e])

    run_rows(run, len(runs), MIN_PARALLEL, bounds=[(i, i + 1) for i in range(len(runs))])
    return outs
