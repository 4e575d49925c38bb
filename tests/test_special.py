"""torch.special vs PyTorch: values, dtypes and gradients (float64 tight, float32 loose)."""

import math

import numpy as np
import pytest
from oracle import check_grad_fd, check_op

import numtorch
import numtorch.special as S

torch = pytest.importorskip("torch")

# name: (low, high) of the inputs
UNARY = {
    "expit": (-6, 6), "erf": (-3, 3), "erfc": (-4, 6), "erfinv": (-0.99, 0.99),
    "log1p": (-0.9, 3), "expm1": (-3, 3), "exp2": (-4, 4), "gammaln": (0.05, 12),
    "digamma": (0.05, 12), "ndtr": (-6, 6), "ndtri": (0.01, 0.99), "log_ndtr": (-12, 6),
    "sinc": (-3, 3), "entr": (0.01, 3), "logit": (0.02, 0.98),
}
TOL32 = dict(rtol=2e-4, atol=2e-5)
TOL64 = dict(rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_against_torch(name):
    low, high = UNARY[name]

    def fn(T, x):
        return getattr(T.special, name)(x)
    check_op(fn, [(3, 4)], low=low, high=high, dtypes=(np.float64,), tol=TOL64)
    check_op(fn, [(3, 4)], low=low, high=high, dtypes=(np.float32,), tol=TOL32)


def test_negative_and_special_points():
    x = [-2.5, -1.5, -0.5, 0.0, -1.0, -3.0]
    for name in ("gammaln", "digamma"):
        a = getattr(S, name)(numtorch.tensor(x, dtype=numtorch.float64))._data
        b = getattr(torch.special, name)(torch.tensor(x, dtype=torch.float64)).numpy()
        np.testing.assert_allclose(a, b, rtol=1e-10, equal_nan=True)
    y = numtorch.tensor([-1.0, 1.0, 0.0, 1.5])
    np.testing.assert_array_equal(S.erfinv(y)._data, torch.special.erfinv(
        torch.tensor([-1.0, 1.0, 0.0, 1.5])).numpy())
    np.testing.assert_array_equal(S.entr(numtorch.tensor([-1.0, 0.0]))._data, [-math.inf, 0.0])
    np.testing.assert_allclose(S.log_ndtr(numtorch.tensor([-30.0, -50.0], dtype=numtorch.float64))
                               ._data, torch.special.log_ndtr(
                                   torch.tensor([-30.0, -50.0], dtype=torch.float64)).numpy(),
                               rtol=1e-10)
    assert S.sinc(numtorch.tensor(0.0)).item() == 1.0
    assert S.expit(numtorch.tensor([1, 2])).dtype == numtorch.float32


def test_logit_eps_and_polygamma():
    check_op(lambda T, x: T.special.logit(x, eps=0.1), [(5,)], low=0.0, high=1.0,
             dtypes=(np.float64,), tol=TOL64)
    x = np.linspace(0.2, 6, 7)
    a = S.polygamma(1, numtorch.tensor(x))._data
    np.testing.assert_allclose(a, torch.special.polygamma(1, torch.tensor(x)).numpy(), rtol=1e-8)
    check_grad_fd(S.digamma, [np.linspace(0.3, 5, 6)])
    check_grad_fd(S.gammaln, [np.linspace(0.3, 5, 6)])


def test_multigammaln():
    check_op(lambda T, x: T.special.multigammaln(x, 3), [(4,)], low=1.5, high=5,
             dtypes=(np.float64,), tol=TOL64)


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_xlogy_family(name):
    def fn(T, x, y):
        return getattr(T.special, name)(x, y)
    check_op(fn, [(3, 1), (4,)], low=0.1, high=3, dtypes=(np.float64,), tol=TOL64)
    check_op(fn, [(3, 4), (3, 4)], low=0.1, high=3, dtypes=(np.float32,), tol=TOL32)
    x = np.array([0.0, 0.0, 2.0, 1.0])
    y = np.array([0.0, 2.0, 3.0, np.nan])
    check_op(fn, arrays=[x, y], dtypes=(np.float64,), grad=False)
    a = numtorch.tensor(x, requires_grad=True)
    b = numtorch.tensor(y[:3].tolist() + [1.0], requires_grad=True)
    getattr(S, name)(a, b).sum().backward()
    ta = torch.tensor(x, requires_grad=True)
    tb = torch.tensor(y[:3].tolist() + [1.0], requires_grad=True)
    getattr(torch.special, name)(ta, tb).sum().backward()
    np.testing.assert_allclose(b.grad._data, tb.grad.numpy())
    np.testing.assert_allclose(a.grad._data[2:], ta.grad.numpy()[2:])
    assert S.xlogy(2.0, numtorch.tensor([3.0])).shape == (1,)


def test_reductions_and_rounding():
    check_op(lambda T, x: T.special.log_softmax(x, 1), [(3, 5)], tol=TOL64,
             dtypes=(np.float64,))
    check_op(lambda T, x: T.special.softmax(x, -1), [(3, 5)], tol=TOL64, dtypes=(np.float64,))
    check_op(lambda T, x: T.special.logsumexp(x, 0), [(3, 5)], tol=TOL64, dtypes=(np.float64,))
    check_op(lambda T, x: T.special.round(x), [(3, 5)], dtypes=(np.float64,))
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(S.i0(numtorch.tensor(x))._data,
                               torch.special.i0(torch.tensor(x)).numpy(), rtol=1e-10)


def test_top_level_access():
    assert numtorch.special is S
    assert callable(numtorch.special.expit)


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma(name):
    rng = np.random.default_rng(0)
    a = rng.uniform(0.2, 30, (4, 5))
    x = rng.uniform(0.01, 40, (5,))
    ta = torch.tensor(a)
    tx = torch.tensor(x, requires_grad=True)
    nx = numtorch.tensor(x, requires_grad=True)
    out = getattr(S, name)(numtorch.tensor(a), nx)
    ref = getattr(torch.special, name)(ta, tx)
    np.testing.assert_allclose(out._data, ref.detach().numpy(), rtol=1e-8, atol=1e-14)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(nx.grad._data, tx.grad.numpy(), rtol=1e-8)
    f32 = getattr(S, name)(numtorch.tensor(a, dtype=numtorch.float32), 1.5)
    assert f32.dtype == numtorch.float32


def test_grad_fn_names_match_torch():
    """The functions torch.special shares with torch (lgamma, digamma, erfinv, xlogy) use the same
    nodes, and the others carry PyTorch's node names."""
    calls = {"gammaln": lambda T, x: T.special.gammaln(x),
             "digamma": lambda T, x: T.special.digamma(x),
             "polygamma": lambda T, x: T.special.polygamma(1, x),
             "erfinv": lambda T, x: T.special.erfinv(x * 0.1),
             "erfc": lambda T, x: T.special.erfc(x),
             "log_ndtr": lambda T, x: T.special.log_ndtr(x),
             "xlogy": lambda T, x: T.special.xlogy(x, x),
             "xlog1py": lambda T, x: T.special.xlog1py(x, x)}
    for name, fn in calls.items():
        ours = fn(numtorch, numtorch.tensor([0.5, 2.0], requires_grad=True))
        theirs = fn(torch, torch.tensor([0.5, 2.0], requires_grad=True))
        assert ours.grad_fn.name() == theirs.grad_fn.name(), name


def test_gammaln_infinities():
    x = [-math.inf, math.inf, 1e308, -2.0]
    a = S.gammaln(numtorch.tensor(x, dtype=numtorch.float64))._data
    np.testing.assert_array_equal(a, torch.special.gammaln(torch.tensor(x, dtype=torch.float64)))


_POS = {"low": 0.5, "high": 3}
SECOND = {
    "erfc": (lambda T, x: T.special.erfc(x), {}),
    "log_ndtr": (lambda T, x: T.special.log_ndtr(x * 3), {}),
    "gammaln": (lambda T, x: T.special.gammaln(x), _POS),
    "gammainc": (lambda T, x: T.special.gammainc(T.ones_like(x) * 1.7, x), _POS),
    "gammaincc": (lambda T, x: T.special.gammaincc(T.ones_like(x) * 2.5, x), _POS),
    "xlog1py": (lambda T, x: T.special.xlog1py(x, x), {"low": 0.1, "high": 3}),
}


@pytest.mark.parametrize("name", SECOND)
def test_values_gradients_and_second_derivatives(name):
    from oracle import check_op
    fn, kw = SECOND[name]
    check_op(fn, [(3, 4)], **kw)


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma_has_no_gradient_for_a(name):
    a = numtorch.tensor([1.5, 2.0], requires_grad=True)
    out = getattr(S, name)(a, numtorch.tensor([0.5, 3.0]))
    with pytest.raises(NotImplementedError, match="the derivative for 'igamma"):
        out.sum().backward()
