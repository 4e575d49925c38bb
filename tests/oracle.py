"""The one compare-with-PyTorch helper, and float64 finite-difference gradient checks.

``check_op(fn, shapes)`` runs ``fn`` on numtorch and on torch with the same inputs (float64 and
float32), then compares values, dtype, shape, every input gradient and every second derivative
(a Hessian-vector product through ``create_graph=True``), plus a float64 finite-difference
check of that second derivative.
"""

import os

import numpy as np

import numtorch

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}
GRADGRAD_TOL = {np.float64: dict(rtol=1e-8, atol=1e-10), np.float32: dict(rtol=1e-3, atol=1e-4)}


def _to_numpy(x):
    if isinstance(x, numtorch.Tensor):
        return x._data
    return x.detach().numpy(force=True)


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
             torch_fn=None, seed=0, low=None, high=None, tol=None, gradgrad=True):
    """Compare ``fn(*inputs)`` between numtorch and torch, forward, backward and double
    backward."""
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
        if gradgrad:  # second derivatives sum more rounded terms: a looser floor
            floor = GRADGRAD_TOL[dtype]
            gt = {k: max(t[k], floor[k]) for k in ("rtol", "atol")}
            check_gradgrad(fn, torch_fn, base, seed, gt, fd=dtype == np.float64)


# Raised (by numtorch.autograd.node.DelayedError) when a graph holds a node whose backward is not
# yet written with differentiable ops; check_gradgrad skips such ops until their family is
# converted (NUMTORCH_GRADGRAD_STRICT=1 makes it fail instead, to find them).
_NOT_TWICE = "is not implemented with differentiable operations"


def _hvp(lib, fn, arrays, seed):
    """First derivatives of a random weighting of ``fn``'s outputs (with create_graph) and the
    second derivative along random vectors: returns (inputs, hvp, weights, vectors)."""
    ins = [lib.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    rng = np.random.default_rng(seed + 2)
    loss, ws = None, []
    for o in _as_tuple(fn(lib, *ins)):
        w = None
        if hasattr(o, "requires_grad") and o.requires_grad:
            w = rng.standard_normal(tuple(o.shape)).astype(_to_numpy(o).dtype)
            term = (o * lib.tensor(w)).sum()
            loss = term if loss is None else loss + term
        ws.append(w)
    if loss is None:
        return None
    diff = [x for x in ins if x.requires_grad]
    grads = lib.autograd.grad(loss, diff, create_graph=True, allow_unused=True)
    s, vs = None, []
    for x, g in zip(diff, grads):
        v = rng.standard_normal(tuple(x.shape)).astype(_to_numpy(x).dtype)
        vs.append(v)
        if g is not None and g.requires_grad:
            term = (g * lib.tensor(v)).sum()
            s = term if s is None else s + term
    hvp = [None] * len(diff) if s is None else lib.autograd.grad(s, diff, allow_unused=True)
    return diff, hvp, ws, vs


def check_gradgrad(fn, torch_fn, arrays, seed, tol, fd=True):
    """Second derivatives of ``fn`` against torch's (and, in float64, against central
    differences of numtorch's own first derivative)."""
    import torch
    try:
        th = _hvp(torch, torch_fn, arrays, seed)
    except RuntimeError:
        return  # torch itself has no second derivative here
    if th is None:
        return
    try:
        nt = _hvp(numtorch, fn, arrays, seed)
    except RuntimeError as e:
        if _NOT_TWICE in str(e) and not os.environ.get("NUMTORCH_GRADGRAD_STRICT"):
            return
        raise
    for x, a, b in zip(nt[0], nt[1], th[1]):
        an = np.zeros(x.shape) if a is None else _to_numpy(a)
        bn = np.zeros(x.shape) if b is None else _to_numpy(b)
        if a is not None:
            assert an.dtype == _to_numpy(x).dtype, (an.dtype, _to_numpy(x).dtype)
        np.testing.assert_allclose(an, bn, **tol)
    if fd:
        _gradgrad_fd(fn, arrays, seed, nt)


def _gradgrad_fd(fn, arrays, seed, nt, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Directional central difference of the first derivative, against the second derivative
    numtorch computed (float64)."""
    _, hvp, ws, vs = nt
    diff_pos = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    rng = np.random.default_rng(seed + 7)
    dirs = {i: rng.standard_normal(arrays[i].shape) for i in diff_pos}

    def first(step):
        ins = [numtorch.tensor(a + step * dirs[i] if i in dirs else a, requires_grad=i in dirs)
               for i, a in enumerate(arrays)]
        loss = None
        for o, w in zip(_as_tuple(fn(numtorch, *ins)), ws):
            if w is not None:
                term = (o * numtorch.tensor(w)).sum()
                loss = term if loss is None else loss + term
        gs = numtorch.autograd.grad(loss, [ins[i] for i in diff_pos], allow_unused=True)
        return sum(float((g._data * v).sum()) for g, v in zip(gs, vs) if g is not None)

    numeric = (first(eps) - first(-eps)) / (2 * eps)
    analytic = sum(float((_to_numpy(h) * dirs[i]).sum())
                   for i, h in zip(diff_pos, hvp) if h is not None)
    assert np.isclose(analytic, numeric, rtol=rtol, atol=atol), (analytic, numeric)


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
