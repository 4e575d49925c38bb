"""The less common torch functions (ops/math_extra.py) against torch: values, dtypes, gradients,
node names and errors."""

import warnings

import numpy as np
import pytest
from oracle import check_grad_fd, check_op

import numtorch

torch = pytest.importorskip("torch")

# name: (input shapes, fn, extra check_op keyword arguments)
CASES = {
    "addcmul": ([(3, 4), (3, 4), (4,)], lambda t, a, b, c: t.addcmul(a, b, c, value=0.5)),
    "addcdiv": ([(3, 4), (3, 4), (4,)], lambda t, a, b, c: t.addcdiv(a, b, c.exp(), value=2)),
    "lerp": ([(3, 4), (3, 4)], lambda t, a, b: t.lerp(a, b, 0.3)),
    "lerp_tensor": ([(3, 4), (3, 4), (4,)], lambda t, a, b, w: t.lerp(a, b, w.sigmoid())),
    "baddbmm": ([(2, 3, 5), (2, 3, 4), (2, 4, 5)],
                lambda t, a, b, c: t.baddbmm(a, b, c, beta=0.5, alpha=2)),
    "baddbmm_method": ([(3, 5), (2, 3, 4), (2, 4, 5)], lambda t, a, b, c: a.baddbmm(b, c)),
    "broadcast_tensors": ([(3, 1), (4,)], lambda t, a, b: t.broadcast_tensors(a, b)),
    "block_diag": ([(2, 3), (3,), ()], lambda t, a, b, c: t.block_diag(a, b, c)),
    "cartesian_prod": ([(3,), (2,)], lambda t, a, b: t.cartesian_prod(a, b)),
    "column_stack": ([(3,), (3, 2)], lambda t, a, b: t.column_stack([a, b])),
    "dstack": ([(3,), (1, 3)], lambda t, a, b: t.dstack([a, b])),
    "atleast_3d": ([(3, 2)], lambda t, a: t.atleast_3d(a)),
    "cross": ([(4, 3), (4, 3)], lambda t, a, b: t.cross(a, b, dim=1)),
    "cummax": ([(3, 5)], lambda t, a: tuple(t.cummax(a, 1))),
    "cummin": ([(3, 5)], lambda t, a: tuple(t.cummin(a, 0))),
    "deg2rad": ([(3, 4)], lambda t, a: t.deg2rad(a)),
    "rad2deg": ([(3, 4)], lambda t, a: a.rad2deg()),
    "diag_embed": ([(2, 3)], lambda t, a: t.diag_embed(a)),
    "diag_embed_offset": ([(2, 3)], lambda t, a: t.diag_embed(a, -1, 0, 2)),
    "diagflat": ([(2, 2)], lambda t, a: t.diagflat(a, 1)),
    "diff": ([(3, 5)], lambda t, a: t.diff(a)),
    "diff_n2": ([(3, 5), (3, 1)], lambda t, a, p: t.diff(a, 2, dim=1, prepend=p, append=a)),
    "diff_method": ([(4, 3)], lambda t, a: a.diff(dim=0)),
    "dist": ([(3, 4), (4,)], lambda t, a, b: t.dist(a, b)),
    "dist_p3": ([(3, 4), (3, 4)], lambda t, a, b: t.dist(a, b, 3)),
    "hypot": ([(3, 4), (4,)], lambda t, a, b: t.hypot(a, b)),
    "inner": ([(2, 4), (3, 4)], lambda t, a, b: t.inner(a, b)),
    "inner_vec": ([(4,), (4,)], lambda t, a, b: a.inner(b)),
    "kron": ([(2, 3), (3, 2)], lambda t, a, b: t.kron(a, b)),
    "kron_mixed": ([(2,), (2, 3)], lambda t, a, b: t.kron(a, b)),
    "kthvalue": ([(3, 5)], lambda t, a: tuple(t.kthvalue(a, 2))),
    "kthvalue_keep": ([(3, 5)], lambda t, a: tuple(a.kthvalue(3, 0, keepdim=True))),
    "logaddexp": ([(3, 4), (4,)], lambda t, a, b: t.logaddexp(a * 30, b)),
    "logaddexp2": ([(3, 4), (3, 4)], lambda t, a, b: t.logaddexp2(a, b)),
    "logcumsumexp": ([(3, 5)], lambda t, a: t.logcumsumexp(a * 10, 1)),
    "logcumsumexp0": ([(4, 2)], lambda t, a: a.logcumsumexp(0)),
    "logit": ([(3, 4)], lambda t, a: t.logit(a.sigmoid())),
    "logit_eps": ([(3, 4)], lambda t, a: t.logit(a * 0.6 + 0.5, eps=0.2)),
    "nan_to_num": ([(3, 4)], lambda t, a: t.nan_to_num(t.log(a), nan=0.5, neginf=-3.0)),
    "nan_to_num_method": ([(3, 4)], lambda t, a: a.masked_fill(a > 1, float("inf")).masked_fill(
        a < -1, float("nan")).nan_to_num(posinf=7.0)),
    "nanmean": ([(3, 4)], lambda t, a: t.nanmean(a.log(), 1)),
    "nansum": ([(3, 4)], lambda t, a: t.nansum(a.log())),
    "nansum_keep": ([(3, 4)], lambda t, a: a.log().nansum(0, keepdim=True)),
    "rot90": ([(3, 4)], lambda t, a: t.rot90(a)),
    "rot90_k3": ([(2, 3, 4)], lambda t, a: t.rot90(a, 3, [2, 0])),
    "rot90_k2": ([(3, 4)], lambda t, a: a.rot90(-2)),
    "select": ([(3, 4)], lambda t, a: t.select(a, 1, -1)),
    "take_along_dim": ([(3, 4)], lambda t, a: t.take_along_dim(a, a.argsort(1), 1)),
    "take_along_dim_flat": ([(3, 4)], lambda t, a: t.take_along_dim(a, t.tensor([0, 5, 5]))),
    "take_along_dim_bcast": ([(3, 4)],
                             lambda t, a: t.take_along_dim(a, t.tensor([[1], [0], [3]]), 1)),
    "tensordot": ([(2, 3, 4), (4, 3, 5)], lambda t, a, b: t.tensordot(a, b, ([1, 2], [1, 0]))),
    "tensordot_int": ([(2, 3, 4), (3, 4, 5)], lambda t, a, b: t.tensordot(a, b)),
    "trapezoid": ([(3, 5)], lambda t, a: t.trapezoid(a)),
    "trapezoid_dx": ([(3, 5)], lambda t, a: t.trapezoid(a, dx=0.5, dim=0)),
    "trapezoid_x": ([(3, 5), (5,)], lambda t, a, x: t.trapezoid(a, x.cumsum(0))),
    # torch's own vander backward fails (an in-place cumprod): values only, and a
    # finite-difference check below.
    "vander": ([(4,)], lambda t, a: t.vander(a), dict(grad=False)),
    "vander_inc": ([(3,)], lambda t, a: t.vander(a, N=4, increasing=True), dict(grad=False)),
    "xlogy": ([(3, 4), (3, 4)], lambda t, a, b: t.xlogy(a, b.abs())),
    "xlogy_zero": ([(3, 4), (3, 4)], lambda t, a, b: t.xlogy(a.clamp(min=0), b.abs())),
    "sgn": ([(3, 4)], lambda t, a: t.sgn(a), dict(grad=False)),  # torch: a ZeroTensor grad
    "cov": ([(3, 6)], lambda t, a: t.cov(a)),
    "cov_vec": ([(6,)], lambda t, a: t.cov(a, correction=0)),
    "cov_weights": ([(3, 6), (6,)], lambda t, a, w: t.cov(
        a, fweights=t.tensor([1, 2, 1, 3, 1, 1]), aweights=w.abs())),
    "corrcoef": ([(3, 6)], lambda t, a: t.corrcoef(a)),
    "erfinv": ([(3, 4)], lambda t, a: t.erfinv(a.tanh() * 0.99)),
    "lgamma": ([(3, 4)], lambda t, a: t.lgamma(a * 3)),
    # torch's trigamma (digamma's gradient) truncates its series earlier: agree to 1e-8.
    "digamma": ([(3, 4)], lambda t, a: t.digamma(a * 3),
                dict(dtypes=(np.float64,), tol=dict(rtol=1e-8, atol=1e-10))),
    "digamma32": ([(3, 4)], lambda t, a: t.digamma(a * 3), dict(dtypes=(np.float32,))),
    "unfold": ([(3, 7)], lambda t, a: a.unfold(1, 3, 2)),
    "unfold_overlap": ([(5, 2)], lambda t, a: a.unfold(0, 2, 1)),
    "cosine_similarity": ([(3, 4), (3, 4)], lambda t, a, b: t.cosine_similarity(a, b)),
    "mode": ([(3, 6)], lambda t, a: tuple(t.mode((a * 2).round(), 1))),
}


@pytest.mark.parametrize("name", CASES)
def test_against_torch(name):
    shapes, fn, *kwargs = CASES[name]
    check_op(fn, shapes, **(kwargs[0] if kwargs else {}))


@pytest.mark.parametrize("fn", [
    lambda x, y: numtorch.logaddexp(x, y), lambda x, y: numtorch.hypot(x, y),
    lambda x, y: numtorch.xlogy(x, y.abs() + 0.1), lambda x, y: numtorch.logcumsumexp(x, 1),
    lambda x, y: numtorch.erfinv(x.tanh() * 0.9), lambda x, y: numtorch.lgamma(x.abs() + 0.5),
    lambda x, y: numtorch.digamma(x.abs() + 0.5), lambda x, y: x.unfold(1, 2, 1),
    lambda x, y: numtorch.diag_embed(x, 1), lambda x, y: numtorch.logit(x.sigmoid()),
    lambda x, y: numtorch.vander(x[0], 5), lambda x, y: numtorch.cov(x, aweights=y[0].abs()),
    lambda x, y: numtorch.corrcoef(x), lambda x, y: numtorch.cummax(x, 1).values,
])
def test_finite_differences(fn):
    rng = np.random.default_rng(5)
    check_grad_fd(fn, [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))])


NODE_NAMES = {
    "LogaddexpBackward0": lambda t, x: t.logaddexp(x, x),
    "Logaddexp2Backward0": lambda t, x: t.logaddexp2(x, x),
    "HypotBackward0": lambda t, x: t.hypot(x, x), "XlogyBackward0": lambda t, x: t.xlogy(x, x),
    "LogcumsumexpBackward0": lambda t, x: t.logcumsumexp(x, 0),
    "LogitBackward0": lambda t, x: t.logit(x), "NanToNumBackward0": lambda t, x: t.nan_to_num(x),
    "ErfinvBackward0": lambda t, x: t.erfinv(x), "LgammaBackward0": lambda t, x: t.lgamma(x),
    "DigammaBackward0": lambda t, x: t.digamma(x), "SgnBackward0": lambda t, x: t.sgn(x),
    "DiagEmbedBackward0": lambda t, x: t.diag_embed(x),
    "UnfoldBackward0": lambda t, x: x.unfold(1, 2, 1),
    "SubBackward0": lambda t, x: t.diff(x), "SelectBackward0": lambda t, x: t.select(x, 0, 1),
    "GatherBackward0": lambda t, x: t.take_along_dim(x, t.tensor([[0], [1]]), 1),
}


@pytest.mark.parametrize("name", NODE_NAMES)
def test_node_names(name):
    for t in (numtorch, torch):
        x = t.rand(2, 3, requires_grad=True)
        assert type(NODE_NAMES[name](t, x).grad_fn).__name__ == name


SAME_RESULT = {
    "broadcast_shapes": lambda t: tuple(t.broadcast_shapes((2, 1), (3,), 1)),
    "tril_indices": lambda t: t.tril_indices(3, 4, 1).tolist(),
    "triu_indices": lambda t: t.triu_indices(4, 3, -1).tolist(),
    "tril_dtype": lambda t: str(t.tril_indices(3, 3, dtype=t.int32).dtype),
    "isin": lambda t: t.isin(t.tensor([1, 2, 3, 4]), t.tensor([2, 4])).tolist(),
    "isin_invert": lambda t: t.isin(t.tensor([[1, 2], [3, 4]]), 3, invert=True).tolist(),
    "unique_consecutive": lambda t: [x.tolist() for x in t.unique_consecutive(
        t.tensor([1, 1, 2, 2, 3, 1, 1, 2]), return_inverse=True, return_counts=True)],
    "unique_consecutive_dim": lambda t: t.unique_consecutive(
        t.tensor([[1, 1, 2], [1, 1, 2]]), dim=1).tolist(),
    "signbit": lambda t: t.signbit(t.tensor([-1.0, -0.0, 0.0, 2.0])).tolist(),
    "heaviside": lambda t: t.heaviside(t.tensor([-1.5, 0.0, 2.0]), t.tensor([0.5])).tolist(),
    "int_dtypes": lambda t: [str(f(t.arange(4)).dtype) for f in (
        t.deg2rad, t.logit, t.erfinv, t.lgamma, t.digamma, t.sgn, t.nansum, t.diff, t.vander,
        lambda a: t.xlogy(a, a), lambda a: t.kron(a, a),
        lambda a: t.cummax(a, 0).values, lambda a: t.trapezoid(a), t.cov, t.nan_to_num)],
    "cummax_ties": lambda t: [x.tolist() for x in t.cummax(t.tensor([1, 3, 3, 2, 5, 5]), 0)],
    "cummin_ties": lambda t: t.cummin(t.tensor([3, 1, 1, 2, 0, 0]), 0).indices.tolist(),
    "mode_ties": lambda t: [x.tolist() for x in t.mode(t.tensor([[1, 2, 2, 3, 3, 1]]), 1)],
    "kthvalue_int": lambda t: t.kthvalue(t.tensor([[3, 1, 4, 2]]), 3).indices.tolist(),
    "nan_to_num_inf": lambda t: t.nan_to_num(
        t.tensor([float("nan"), float("inf"), -float("inf"), 1.0])).tolist(),
    "erfinv_edges": lambda t: t.erfinv(t.tensor([-1.0, 1.0, 0.0, 1.5])).tolist(),
    "lgamma_poles": lambda t: t.lgamma(t.tensor([0.0, -1.0, -2.5, 1e-3])).tolist(),
    "digamma_neg": lambda t: t.digamma(t.tensor([-2.5, -0.5, 1.0, 0.0], dtype=t.float64))
    .tolist(),
    "nanmean_all_nan": lambda t: t.nanmean(t.tensor([float("nan"), 1.0, 3.0])).item(),
    "baddbmm_beta0": lambda t: t.baddbmm(t.full((1, 2, 2), float("nan")), t.ones(1, 2, 3),
                                         t.ones(1, 3, 2), beta=0).tolist(),
    "block_diag_int": lambda t: t.block_diag(t.tensor([[1, 2]]), t.tensor([3.5])).tolist(),
    "unfold_view": lambda t: _unfold_writes(t),
}


def _unfold_writes(t):
    x = t.arange(6.0)
    u = x.unfold(0, 2, 2)
    u[1, 0] = 10.0
    return [x.tolist(), list(u.shape)]


@pytest.mark.parametrize("name", SAME_RESULT)
def test_same_result(name):
    a, b = SAME_RESULT[name](numtorch), SAME_RESULT[name](torch)
    if isinstance(a, list) and a and isinstance(a[0], float):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    elif isinstance(a, float):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    else:
        assert a == b


def test_erfinv_float64_accuracy():
    x = np.linspace(-0.999999, 0.999999, 2001)
    ours = numtorch.erfinv(numtorch.tensor(x)).numpy()
    theirs = torch.erfinv(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)


def test_special_functions_float64_accuracy():
    x = np.concatenate([np.linspace(-7.9, -0.1, 500), np.linspace(0.01, 40, 500)])
    for name in ("lgamma", "digamma"):
        ours = getattr(numtorch, name)(numtorch.tensor(x)).numpy()
        theirs = getattr(torch, name)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-12)


def test_cross_default_dim_warns_like_torch():
    a = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    import numtorch.ops.math_extra as mx
    mx._CROSS_WARNED.clear()
    with pytest.warns(UserWarning, match="without specifying the dim"):
        ours = numtorch.cross(numtorch.tensor(a), numtorch.tensor(a[::-1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.cross(torch.tensor(a), torch.tensor(a[::-1]))
    assert ours.tolist() == theirs.tolist()


def _errors(fn):
    out = []
    for t in (numtorch, torch):
        with pytest.raises(Exception) as info:
            fn(t)
        out.append(info)
    return out


@pytest.mark.parametrize("fn", [
    lambda t: t.broadcast_shapes((2, 3), (4, 3)),
    lambda t: t.block_diag(t.zeros(1, 1, 1)),
    lambda t: t.lerp(t.zeros(2), t.zeros(2, dtype=t.float64), 0.5),
    lambda t: t.rot90(t.zeros(2, 2), 1, [0, 0]),
    lambda t: t.kthvalue(t.zeros(3), 4),
    lambda t: t.inner(t.zeros(2, 3), t.zeros(2)),
    lambda t: t.cov(t.zeros(2, 2, 2)),
    lambda t: t.zeros(5).unfold(0, 6, 1),
    lambda t: t.heaviside(t.zeros(2), t.zeros(2, dtype=t.float64)),
    lambda t: t.select(t.zeros(2, 3), 1, 3),
    lambda t: t.nanmean(t.arange(3)),
    lambda t: t.hypot(t.arange(3), t.arange(3)),
    lambda t: t.logaddexp(t.arange(3), t.arange(3)),
    lambda t: t.diag_embed(t.zeros(2), 0, 1, 1),
])
def test_errors_match(fn):
    ours, theirs = _errors(fn)
    assert isinstance(ours.value, type(theirs.value)) or type(theirs.value) in type(
        ours.value).__mro__, (ours.value, theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_linalg_aliases():
    a = numtorch.randn(3, 3, dtype=numtorch.float64)
    assert numtorch.det(a).item() == pytest.approx(numtorch.linalg.det(a).item())
    assert numtorch.allclose(numtorch.inverse(a) @ a, numtorch.eye(3, dtype=numtorch.float64))
    assert type(numtorch.slogdet(a)).__name__ == "slogdet"
    assert numtorch.svd(a).V.shape == (3, 3)
    assert a.det().item() == pytest.approx(numtorch.det(a).item())
    assert numtorch.allclose(a.matrix_power(2), a @ a)


@pytest.mark.parametrize("fn", [lambda L, x: L.kthvalue(x, 2, 1),
                                lambda L, x: L.kthvalue(x, 2, 1, keepdim=True),
                                lambda L, x: L.mode(x, 1), lambda L, x: L.cummax(x, 1),
                                lambda L, x: L.cummin(x, 1)])
def test_returned_indices_changed_in_place_fail_backward_as_in_torch(fn):
    """The values' gradient reads the indices: an in-place change to the returned indices must
    raise (as torch does), not silently scatter the gradient elsewhere."""
    x = numtorch.tensor([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 4.0, 4.0]], requires_grad=True)
    values, indices = fn(numtorch, x)
    indices.add_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        values.sum().backward()
