"""The one compare-with-PyTorch helper, and a float64 finite-difference gradient check.

``check_op(fn, shapes)`` runs ``fn`` on numtorch and on torch with the same inputs (float64 and
float32), then compares values, dtype, shape and every input gradient.
"""

import numpy as np

import numtorch

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}


def _to_numpy(x):
    if isinstance(x, numtorch.Tensor):
        return x._data
    return x.detach().numpy()


def _as_tuple(out):
    return out if isinstance(out, (tuple, list)) else (out,)


def make_inputs(shapes, dtype=np.float64, seed=0, low=None, high=None):
    rng = np.random.default_rng(seed)
    arrays = []
    for s in shapes:
        if low is not None:
            arrays.append(rng.uniform(low, high, s).astype(dtype))
        else:
            arrays.append(rng.standard_normal(s).astype(dtype))
    return arrays


def check_op(fn, shapes=None, arrays=None, dtypes=(np.float64, np.float32), grad=True,
             torch_fn=None, seed=0, low=None, high=None, tol=None):
    """Compare ``fn(*inputs)`` between numtorch and torch, forward and backward."""
    import torch
    torch_fn = torch_fn or fn
    for dtype in dtypes:
        base = arrays if arrays is not None else make_inputs(shapes, dtype, seed, low, high)
        base = [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
                for a in base]
        nt_in = [numtorch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in base]
        th_in = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in base]
        nt_out = _as_tuple(fn(numtorch, *nt_in))
        th_out = _as_tuple(torch_fn(torch, *th_in))
        t = tol or TOL[dtype]
        assert len(nt_out) == len(th_out)
        for a, b in zip(nt_out, th_out):
            an, bn = _to_numpy(a), _to_numpy(b)
            assert an.shape == bn.shape, (an.shape, bn.shape)
            assert an.dtype == bn.dtype, (an.dtype, bn.dtype)
            np.testing.assert_allclose(an, bn, **t)
        if not grad:
            continue
        rng = np.random.default_rng(seed + 1)
        nt_loss, th_loss = 0, 0
        for a, b in zip(nt_out, th_out):
            if isinstance(a, numtorch.Tensor) and a.requires_grad:
                w = rng.standard_normal(a.shape).astype(a._data.dtype)
                nt_loss = nt_loss + (a * numtorch.tensor(w)).sum()
                th_loss = th_loss + (b * torch.tensor(w)).sum()
        if isinstance(nt_loss, int):
            continue
        nt_loss.backward()
        th_loss.backward()
        for a, b in zip(nt_in, th_in):
            if b.grad is None:
                assert a.grad is None or not np.any(a.grad._data)
                continue
            assert a.grad is not None
            assert a.grad.dtype == a.dtype
            np.testing.assert_allclose(a.grad._data, b.grad.numpy(), **t)


def check_grad_fd(fn, arrays, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    """Directional finite-difference check in float64 (Chainer's ``check_backward`` idea)."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    inputs = [numtorch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    w = rng.standard_normal(out.shape)
    (out * numtorch.tensor(w)).sum().backward()
    directions = [rng.standard_normal(a.shape) for a in arrays]
    analytic = sum(float((x.grad._data * d).sum()) for x, d in zip(inputs, directions)
                   if x.grad is not None)

    def f(step):
        with numtorch.no_grad():
            ins = [numtorch.tensor(a + step * d) for a, d in zip(arrays, directions)]
            return float((fn(*ins)._data * w).sum())

    numeric = (f(eps) - f(-eps)) / (2 * eps)
    assert np.isclose(analytic, numeric, rtol=rtol, atol=atol), (analytic, numeric)
