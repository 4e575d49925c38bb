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
