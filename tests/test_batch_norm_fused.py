"""The compiled training-mode batch norm (``ops/_batchnorm_jit.py``) against the NumPy path and
PyTorch: values, gradients, running statistics, switching the kernels off between forward and
backward, and second derivatives through a fused forward."""

import numpy as np
import pytest
from conftest import skip_without_numba

import numtorch
from numtorch.ops import _jit
from numtorch.ops import normalization as norm_ops

SHAPES = [(6, 3), (4, 5, 2), (4, 5, 7), (3, 4, 5, 6), (2, 3, 2, 3, 4)]


def _run(shape, dtype, affine, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    c = shape[1]
    rm, rv = numtorch.zeros(c, dtype=x.dtype), numtorch.ones(c, dtype=x.dtype)
    xt = numtorch.tensor(x, requires_grad=True)
    params = []
    if affine:
        params = [numtorch.tensor(rng.random(c).astype(dtype), requires_grad=True),
                  numtorch.tensor(rng.random(c).astype(dtype), requires_grad=True)]
    w, b = params or (None, None)
    y = numtorch.nn.functional.batch_norm(xt, rm, rv, w, b, training=True, momentum=0.3)
    # the fused kernel (on for 4 values or more per channel and sample) keeps no xhat
    fused = _jit.ENABLED and x.size // (shape[0] * c) >= norm_ops._BN_MIN_INNER
    assert (y.grad_fn.xhat is None) == fused
    y.backward(numtorch.tensor(g))
    grads = [xt.grad.numpy()] + [p.grad.numpy() for p in params]
    return y.detach().numpy(), grads, rm.numpy(), rv.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_fused_matches_numpy_path(monkeypatch, shape, dtype, affine):
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    fused = _run(shape, dtype, affine)
    monkeypatch.setattr(_jit, "ENABLED", False)
    plain = _run(shape, dtype, affine)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip([fused[0], *fused[1], fused[2], fused[3]],
                    [plain[0], *plain[1], plain[2], plain[3]]):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_fused_channel_blocks_and_threads_match(monkeypatch):
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    whole = _run((4, 6, 5, 5), np.float32, True)
    monkeypatch.setattr(norm_ops, "_BN_SWEEP_BLOCKS", 1000)  # one channel per block
    monkeypatch.setattr(norm_ops, "_BN_THREADED_BYTES", 0)
    monkeypatch.setattr(numtorch._threads, "_requested", 2)  # two threads, both idle
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    blocks = _run((4, 6, 5, 5), np.float32, True)
    for a, b in zip([whole[0], *whole[1]], [blocks[0], *blocks[1]]):
        np.testing.assert_array_equal(a, b)


def test_kernels_switched_off_between_forward_and_backward(monkeypatch):
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3, 4, 4)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    grads = []
    for switch_off in (False, True):
        m = numtorch.nn.BatchNorm2d(3)
        xt = numtorch.tensor(x, requires_grad=True)
        y = m(xt)
        monkeypatch.setattr(_jit, "ENABLED", not switch_off)
        y.backward(numtorch.tensor(g))
        monkeypatch.setattr(_jit, "ENABLED", True)
        grads.append([xt.grad.numpy(), m.weight.grad.numpy(), m.bias.grad.numpy()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_fused_against_torch_with_second_derivatives(monkeypatch):
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 5, 5))
    w, b = rng.random(3), rng.random(3)

    def grads(lib):
        xt = lib.tensor(x, requires_grad=True)
        wt = lib.tensor(w, requires_grad=True)
        bt = lib.tensor(b, requires_grad=True)
        y = lib.nn.functional.batch_norm(xt, None, None, wt, bt, training=True)
        loss = (y ** 3).sum()
        gx, gw = lib.autograd.grad(loss, (xt, wt), create_graph=True)
        (gx.square().sum() + gw.sum()).backward()
        return [t.detach().numpy() for t in (y, gx, gw, xt.grad, wt.grad, bt.grad)]

    for a, e in zip(grads(numtorch), grads(torch)):
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-9)
