"""torch.distributions vs PyTorch: log_prob, entropy, moments, cdf/icdf, kl_divergence and their
gradients; sample shapes, dtypes and statistics; argument validation; reprs."""

import numpy as np
import pytest

import numtorch
import numtorch.distributions as nd

torch = pytest.importorskip("torch")

TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=2e-4, atol=2e-5)}
RNG = np.random.default_rng(0)


def _pos(*shape, low=0.5, high=2.0):
    return RNG.uniform(low, high, shape)


def _spd(*shape):
    a = RNG.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _tril(*shape):
    a = np.tril(RNG.standard_normal(shape) * 0.3)
    idx = np.arange(shape[-1])
    a[..., idx, idx] = RNG.uniform(0.5, 1.5, shape[:-1])
    return a


def _simplex(*shape):
    p = RNG.uniform(0.1, 1.0, shape)
    return p / p.sum(-1, keepdims=True)


def _one_hot(n, k):
    return np.eye(k)[RNG.integers(0, k, n)]


# name: (builder(T, *params), param arrays, value array, methods, value is differentiable)
CASES = {
    "normal": (lambda T, m, s: T.distributions.Normal(m, s),
               [RNG.standard_normal((3, 2)), _pos(2)], RNG.standard_normal((4, 3, 2)),
               ["log_prob", "cdf", "entropy", "mean", "mode", "variance", "stddev"], True),
    "normal_icdf": (lambda T, m, s: T.distributions.Normal(m, s),
                    [RNG.standard_normal(3), _pos(3)], RNG.uniform(0.05, 0.95, (2, 3)),
                    ["icdf"], True),
    "bernoulli_probs": (lambda T, p: T.distributions.Bernoulli(probs=p),
                        [RNG.uniform(0.1, 0.9, (2, 3))], RNG.integers(0, 2, (2, 3)) * 1.0,
                        ["log_prob", "entropy", "mean", "variance"], False),
    "bernoulli_logits": (lambda T, lg: T.distributions.Bernoulli(logits=lg),
                         [RNG.standard_normal(4) * 3], RNG.integers(0, 2, (5, 4)) * 1.0,
                         ["log_prob", "entropy", "mean", "variance"], False),
    "categorical_probs": (lambda T, p: T.distributions.Categorical(probs=p),
                          [_simplex(3, 4)], RNG.integers(0, 4, (2, 3)),
                          ["log_prob", "entropy", "probs", "logits"], False),
    "categorical_logits": (lambda T, lg: T.distributions.Categorical(logits=lg),
                           [RNG.standard_normal((2, 5))], RNG.integers(0, 5, (2,)),
                           ["log_prob", "entropy", "probs"], False),
    "onehot": (lambda T, p: T.distributions.OneHotCategorical(probs=p),
               [_simplex(4, 3)], _one_hot(4, 3), ["log_prob", "entropy", "mean", "variance"],
               False),
    "uniform": (lambda T, lo, w: T.distributions.Uniform(lo, lo + w),
                [RNG.standard_normal(3), _pos(3)], None,
                ["log_prob", "cdf", "entropy", "mean", "variance", "stddev"], True),
    "exponential": (lambda T, r: T.distributions.Exponential(r), [_pos(2, 3)], _pos(2, 3),
                    ["log_prob", "cdf", "entropy", "mean", "variance", "stddev"], True),
    "exponential_icdf": (lambda T, r: T.distributions.Exponential(r), [_pos(3)],
                         RNG.uniform(0.05, 0.95, 3), ["icdf"], True),
    "laplace": (lambda T, m, s: T.distributions.Laplace(m, s),
                [RNG.standard_normal(3), _pos(3)], RNG.standard_normal((2, 3)),
                ["log_prob", "cdf", "entropy", "mean", "variance", "stddev"], True),
    "laplace_icdf": (lambda T, m, s: T.distributions.Laplace(m, s),
                     [RNG.standard_normal(3), _pos(3)], RNG.uniform(0.05, 0.95, 3), ["icdf"],
                     True),
    "gamma": (lambda T, c, r: T.distributions.Gamma(c, r), [_pos(2, 3, high=3), _pos(3)],
              _pos(2, 3, low=0.1, high=4), ["log_prob", "entropy", "mean", "mode", "variance"],
              True),
    "beta": (lambda T, a, b: T.distributions.Beta(a, b), [_pos(3, high=3), _pos(3, high=3)],
             RNG.uniform(0.05, 0.95, (2, 3)), ["log_prob", "entropy", "mean", "variance"], True),
    "dirichlet": (lambda T, c: T.distributions.Dirichlet(c), [_pos(2, 4, high=3)],
                  _simplex(2, 4), ["log_prob", "entropy", "mean", "variance"], True),
    "mvn_scale_tril": (lambda T, m, L: T.distributions.MultivariateNormal(m, scale_tril=L),
                       [RNG.standard_normal((2, 3)), _tril(3, 3)], RNG.standard_normal((4, 2, 3)),
                       ["log_prob", "entropy", "mean", "variance", "covariance_matrix",
                        "precision_matrix"], True),
    "mvn_covariance": (lambda T, m, c: T.distributions.MultivariateNormal(m, c),
                       [RNG.standard_normal(3), _spd(2, 3, 3)], RNG.standard_normal((2, 3)),
                       ["log_prob", "entropy", "variance", "scale_tril"], True),
    "mvn_precision": (lambda T, m, p: T.distributions.MultivariateNormal(m, precision_matrix=p),
                      [RNG.standard_normal(3), _spd(3, 3)], RNG.standard_normal((5, 3)),
                      ["log_prob", "entropy", "covariance_matrix"], True),
    "independent": (lambda T, m, s: T.distributions.Independent(T.distributions.Normal(m, s), 1),
                    [RNG.standard_normal((3, 2)), _pos(3, 2)], RNG.standard_normal((3, 2)),
                    ["log_prob", "entropy", "mean", "variance"], True),
    "poisson": (lambda T, r: T.distributions.Poisson(r), [_pos(2, 3, high=5)],
                RNG.integers(0, 8, (2, 3)) * 1.0, ["log_prob", "mean", "mode", "variance"],
                False),
    "binomial": (lambda T, p: T.distributions.Binomial(6, p), [RNG.uniform(0.1, 0.9, 3)],
                 RNG.integers(0, 7, (2, 3)) * 1.0,
                 ["log_prob", "entropy", "mean", "mode", "variance"], False),
    "binomial_logits": (lambda T, lg: T.distributions.Binomial(T.tensor([3.0, 9.0]), logits=lg),
                        [RNG.standard_normal(2)], np.array([3.0, 4.0]),
                        ["log_prob", "mean", "variance"], False),
    "geometric": (lambda T, p: T.distributions.Geometric(p), [RNG.uniform(0.1, 0.9, 3)],
                  RNG.integers(0, 6, (2, 3)) * 1.0,
                  ["log_prob", "entropy", "mean", "variance"], False),
    "cauchy": (lambda T, m, s: T.distributions.Cauchy(m, s), [RNG.standard_normal(3), _pos(3)],
               RNG.standard_normal((2, 3)) * 3, ["log_prob", "cdf", "entropy", "mode"], True),
    "cauchy_icdf": (lambda T, m, s: T.distributions.Cauchy(m, s),
                    [RNG.standard_normal(3), _pos(3)], RNG.uniform(0.05, 0.95, 3), ["icdf"],
                    True),
    "mixture": (lambda T, lg, m, s: T.distributions.MixtureSameFamily(
        T.distributions.Categorical(logits=lg), T.distributions.Normal(m, s)),
        [RNG.standard_normal((2, 4)), RNG.standard_normal((2, 4)), _pos(2, 4)],
        RNG.standard_normal((5, 2)), ["log_prob", "cdf", "mean", "variance"], True),
    "mixture_mvn": (lambda T, lg, m, L: T.distributions.MixtureSameFamily(
        T.distributions.Categorical(logits=lg),
        T.distributions.Independent(T.distributions.Normal(m, L), 1)),
        [RNG.standard_normal(3), RNG.standard_normal((3, 2)), _pos(3, 2)],
        RNG.standard_normal((4, 2)), ["log_prob", "mean", "variance"], True),
}
CASES["uniform"] = CASES["uniform"][:2] + (
    CASES["uniform"][1][0] + CASES["uniform"][1][1] * RNG.uniform(0.05, 0.95, (2, 3)),
) + CASES["uniform"][3:]


def _call(dist, name, value):
    attr = getattr(dist, name)
    return attr(value) if name in ("log_prob", "cdf", "icdf") else attr() if callable(attr) \
        else attr


def _to_np(t):
    return t._data if isinstance(t, numtorch.Tensor) else t.detach().numpy()


# PyTorch's own trigamma (the digamma gradient) is good to about 1e-9 relative.
_DIGAMMA_TOL = {np.float64: dict(rtol=1e-8, atol=1e-10)}
_USES_DIGAMMA = ("gamma", "beta", "dirichlet")


def _tol(case, dtype):
    return _DIGAMMA_TOL.get(dtype, TOL[dtype]) if case in _USES_DIGAMMA else TOL[dtype]


def _compare_outputs(lib_outs, t, grads_of):
    nt_outs, th_outs = lib_outs
    for a, b in zip(nt_outs, th_outs):
        assert tuple(a.shape) == tuple(b.shape)
        assert _to_np(a).dtype == _to_np(b).dtype
        np.testing.assert_allclose(_to_np(a), _to_np(b), **t)
    rng = np.random.default_rng(1)
    nt_loss, th_loss = 0, 0
    for a, b in zip(nt_outs, th_outs):
        if b.requires_grad:
            w = rng.standard_normal(tuple(b.shape)).astype(_to_np(b).dtype)
            nt_loss = nt_loss + (a * numtorch.tensor(w)).sum()
            th_loss = th_loss + (b * torch.tensor(w)).sum()
    if isinstance(th_loss, int):
        return
    nt_loss.backward()
    th_loss.backward()
    for a, b in grads_of:
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad._data)
            continue
        assert a.grad is not None and a.grad.dtype == a.dtype
        np.testing.assert_allclose(a.grad._data, b.grad.numpy(), **t)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", sorted(CASES))
def test_against_torch(case, dtype):
    build, params, value, methods, value_grad = CASES[case]
    outs = ([], [])
    grads_of = []
    for lib, out in zip((numtorch, torch), outs):
        ps = [lib.tensor(p.astype(dtype), requires_grad=True) for p in params]
        v = (lib.tensor(value.astype(dtype), requires_grad=value_grad)
             if value.dtype.kind == "f" else lib.tensor(value))
        dist = build(lib, *ps)
        out.extend(_call(dist, m, v) for m in methods)
        grads_of.append(ps + ([v] if value_grad else []))
    _compare_outputs(outs, _tol(case, dtype), list(zip(*grads_of)))


def _kl_cases():
    p2, q2 = _simplex(3, 4), _simplex(3, 4)
    return {
        "normal": (lambda T, a, b, c, d: (T.distributions.Normal(a, b),
                                          T.distributions.Normal(c, d)),
                   [RNG.standard_normal(3), _pos(3), RNG.standard_normal((2, 3)), _pos(3)]),
        "bernoulli": (lambda T, a, b: (T.distributions.Bernoulli(a), T.distributions.Bernoulli(b)),
                      [RNG.uniform(0.1, 0.9, 4), RNG.uniform(0.1, 0.9, 4)]),
        "categorical": (lambda T, a, b: (T.distributions.Categorical(a),
                                         T.distributions.Categorical(logits=b)),
                        [p2, np.log(q2)]),
        "uniform": (lambda T, a, b: (T.distributions.Uniform(a, a + 1),
                                     T.distributions.Uniform(a - b, a + 1 + b)),
                    [RNG.standard_normal(3), _pos(3)]),
        "poisson": (lambda T, a, b: (T.distributions.Poisson(a), T.distributions.Poisson(b)),
                    [_pos(3), _pos(3)]),
        "exponential": (lambda T, a, b: (T.distributions.Exponential(a),
                                         T.distributions.Exponential(b)), [_pos(3), _pos(3)]),
        "laplace": (lambda T, a, b, c, d: (T.distributions.Laplace(a, b),
                                           T.distributions.Laplace(c, d)),
                    [RNG.standard_normal(3), _pos(3), RNG.standard_normal(3), _pos(3)]),
        "gamma": (lambda T, a, b, c, d: (T.distributions.Gamma(a, b), T.distributions.Gamma(c, d)),
                  [_pos(3), _pos(3), _pos(3), _pos(3)]),
        "beta": (lambda T, a, b, c, d: (T.distributions.Beta(a, b), T.distributions.Beta(c, d)),
                 [_pos(3), _pos(3), _pos(3), _pos(3)]),
        "dirichlet": (lambda T, a, b: (T.distributions.Dirichlet(a), T.distributions.Dirichlet(b)),
                      [_pos(2, 3), _pos(2, 3)]),
        "mvn": (lambda T, a, b, c, d: (T.distributions.MultivariateNormal(a, scale_tril=b),
                                       T.distributions.MultivariateNormal(c, d)),
                [RNG.standard_normal((2, 3)), _tril(3, 3), RNG.standard_normal(3),
                 _spd(2, 3, 3)]),
        "independent": (lambda T, a, b, c, d: (
            T.distributions.Independent(T.distributions.Normal(a, b), 1),
            T.distributions.Independent(T.distributions.Normal(c, d), 1)),
            [RNG.standard_normal((2, 3)), _pos(2, 3), RNG.standard_normal((2, 3)), _pos(2, 3)]),
    }


KL_CASES = _kl_cases()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", sorted(KL_CASES))
def test_kl_divergence_against_torch(case, dtype):
    build, params = KL_CASES[case]
    outs, grads_of = ([], []), []
    for lib, out in zip((numtorch, torch), outs):
        ps = [lib.tensor(p.astype(dtype), requires_grad=True) for p in params]
        out.append(lib.distributions.kl_divergence(*build(lib, *ps)))
        grads_of.append(ps)
    _compare_outputs(outs, _tol(case, dtype), list(zip(*grads_of)))


def test_kl_infinite_and_registry():
    p = nd.Uniform(numtorch.tensor([0.0]), numtorch.tensor([2.0]))
    q = nd.Uniform(numtorch.tensor([0.5]), numtorch.tensor([1.0]))
    assert numtorch.isinf(nd.kl_divergence(p, q)).all()
    with pytest.raises(NotImplementedError):
        nd.kl_divergence(nd.Normal(0.0, 1.0), nd.Exponential(1.0))

    class MyNormal(nd.Normal):
        pass

    @nd.register_kl(MyNormal, nd.Exponential)
    def _kl(p, q):
        return p.loc * 0 + 42.0

    assert nd.kl_divergence(MyNormal(0.0, 1.0), nd.Exponential(1.0)).item() == 42.0
    # subclasses fall back to the registered parent pair
    assert nd.kl_divergence(MyNormal(0.0, 1.0), nd.Normal(0.0, 1.0)).item() == 0.0


# ------------------------------------------------------------------- sampling
SAMPLERS = {
    "Normal": (lambda T: T.distributions.Normal(T.tensor([1.0, -2.0]), T.tensor([0.5, 2.0])),
               [1.0, -2.0], [0.25, 4.0]),
    "Bernoulli": (lambda T: T.distributions.Bernoulli(T.tensor([0.2, 0.7])), [0.2, 0.7],
                  [0.16, 0.21]),
    "Categorical": (lambda T: T.distributions.Categorical(T.tensor([[0.1, 0.2, 0.7],
                                                                   [0.5, 0.0, 0.5]])),
                    [0.1 * 0 + 0.2 + 1.4, 1.0], [0.2 + 2.8 - 1.6 ** 2, 1.0]),
    "Uniform": (lambda T: T.distributions.Uniform(T.tensor([0.0, 2.0]), T.tensor([1.0, 5.0])),
                [0.5, 3.5], [1 / 12, 0.75]),
    "Exponential": (lambda T: T.distributions.Exponential(T.tensor([0.5, 2.0])), [2.0, 0.5],
                    [4.0, 0.25]),
    "Laplace": (lambda T: T.distributions.Laplace(T.tensor([0.0, 1.0]), T.tensor([1.0, 0.5])),
                [0.0, 1.0], [2.0, 0.5]),
    "Gamma": (lambda T: T.distributions.Gamma(T.tensor([0.5, 3.0]), T.tensor([1.0, 2.0])),
              [0.5, 1.5], [0.5, 0.75]),
    "Poisson": (lambda T: T.distributions.Poisson(T.tensor([0.5, 4.0])), [0.5, 4.0], [0.5, 4.0]),
    "Binomial": (lambda T: T.distributions.Binomial(T.tensor([5.0, 20.0]), T.tensor([0.3, 0.9])),
                 [1.5, 18.0], [1.05, 1.8]),
    "Geometric": (lambda T: T.distributions.Geometric(T.tensor([0.3, 0.8])), [7 / 3, 0.25],
                  [7 / 0.9, 0.3125]),
    "LogNormal": (lambda T: T.distributions.LogNormal(T.tensor([0.0, 1.0]), T.tensor([0.3, 0.2])),
                  [np.exp(0.045), np.exp(1.02)],
                  [np.expm1(0.09) * np.exp(0.09), np.expm1(0.04) * np.exp(2.04)]),
    "Mixture": (lambda T: T.distributions.MixtureSameFamily(
        T.distributions.Categorical(T.tensor([0.3, 0.7])),
        T.distributions.Normal(T.tensor([-2.0, 1.0]), T.tensor([0.5, 1.0]))),
        0.3 * -2.0 + 0.7, 0.3 * 0.25 + 0.7 + 0.3 * 2.1 ** 2 + 0.7 * 0.9 ** 2),
    "Beta": (lambda T: T.distributions.Beta(T.tensor([2.0, 0.5]), T.tensor([3.0, 0.5])),
             [0.4, 0.5], [0.04, 0.125]),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sample_statistics_shapes_and_dtypes(name):
    build, mean, var = SAMPLERS[name]
    numtorch.manual_seed(0)
    d, td = build(numtorch), build(torch)
    s = d.sample((20000,))
    ts = td.sample((20000,))
    assert tuple(s.shape) == tuple(ts.shape) and str(s.dtype) == str(ts.dtype)
    x = s._data.astype(np.float64)
    np.testing.assert_allclose(x.mean(0), mean, atol=0.05, rtol=0.02)
    np.testing.assert_allclose(x.var(0), var, rtol=0.06, atol=0.01)
    assert tuple(d.sample().shape) == tuple(td.sample().shape)
    assert tuple(d.sample((3, 2)).shape) == tuple(td.sample((3, 2)).shape)
    numtorch.manual_seed(7)
    a = d.sample((5,))
    numtorch.manual_seed(7)
    assert np.array_equal(a._data, d.sample((5,))._data)



SCALAR_PARAMS = {
    "Normal": (0.0, 1.0), "Laplace": (0.0, 1.0), "Cauchy": (0.0, 1.0), "Uniform": (0.0, 1.0),
    "Gamma": (2.0, 3.0), "Exponential": (2.0,), "Poisson": (3.0,), "Bernoulli": (0.3,),
    "Geometric": (0.3,), "Beta": (2.0, 3.0), "Binomial": (5, 0.3),
}


@pytest.mark.parametrize("name", sorted(SCALAR_PARAMS))
def test_scalar_parameters(name):
    """Python-number parameters give batch_shape () and 0-d samples (Gamma, Poisson and
    Binomial drew a Python scalar there and failed)."""
    args = SCALAR_PARAMS[name]
    d, td = getattr(nd, name)(*args), getattr(torch.distributions, name)(*args)
    assert tuple(d.batch_shape) == tuple(td.batch_shape) == ()
    for shape in ((), (4,)):
        s, ts = d.sample(shape), td.sample(shape)
        assert tuple(s.shape) == tuple(ts.shape) and str(s.dtype) == str(ts.dtype)

def test_multivariate_samples_and_shapes():
    numtorch.manual_seed(0)
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    d = nd.MultivariateNormal(numtorch.tensor([1.0, -1.0]), numtorch.tensor(cov.tolist()))
    s = d.sample((20000,))._data
    assert s.shape == (20000, 2) and s.dtype == np.float32
    np.testing.assert_allclose(s.mean(0), [1.0, -1.0], atol=0.05)
    np.testing.assert_allclose(np.cov(s.T), cov, atol=0.08)
    dr = nd.Dirichlet(numtorch.tensor([[1.0, 2.0, 3.0]]))
    x = dr.sample((20000,))
    assert tuple(x.shape) == (20000, 1, 3)
    np.testing.assert_allclose(x._data.sum(-1), 1, rtol=1e-5)
    np.testing.assert_allclose(x._data.mean(0)[0], [1 / 6, 2 / 6, 3 / 6], atol=0.02)
    oh = nd.OneHotCategorical(numtorch.tensor([0.2, 0.8])).sample((20000,))
    assert tuple(oh.shape) == (20000, 2) and oh.dtype == numtorch.float32
    np.testing.assert_allclose(oh._data.mean(0), [0.2, 0.8], atol=0.02)
    ind = nd.Independent(nd.Normal(numtorch.zeros(3, 2), 1.0), 1)
    assert (ind.batch_shape, ind.event_shape) == (numtorch.Size([3]), numtorch.Size([2]))
    assert tuple(ind.sample((4,)).shape) == (4, 3, 2)


def test_rsample_gradients():
    numtorch.manual_seed(0)
    loc = numtorch.tensor([1.0, 2.0], requires_grad=True)
    scale = numtorch.tensor([0.5, 3.0], requires_grad=True)
    x = nd.Normal(loc, scale).rsample((1000,))
    assert x.requires_grad and not nd.Normal(loc, scale).sample().requires_grad
    x.sum().backward()
    np.testing.assert_allclose(loc.grad._data, [1000.0, 1000.0])
    eps = (x._data - np.array([1.0, 2.0], np.float32)) / np.array([0.5, 3.0], np.float32)
    np.testing.assert_allclose(scale.grad._data, eps.sum(0), rtol=1e-4)
    # MVN reparameterisation: d/dL of sum(L @ eps) is sum over samples of eps^T per row
    L = numtorch.tensor([[1.0, 0.0], [0.5, 2.0]], requires_grad=True)
    m = nd.MultivariateNormal(numtorch.zeros(2), scale_tril=L)
    m.rsample((10,)).sum().backward()
    assert L.grad is not None and tuple(L.grad.shape) == (2, 2)
    # Uniform / Exponential / Gamma rsample reach their parameters
    rate = numtorch.tensor(2.0, requires_grad=True)
    nd.Exponential(rate).rsample((5,)).sum().backward()
    assert rate.grad is not None and rate.grad.item() < 0


# ------------------------------------------------------------------- validation, reprs
def test_validate_args_errors():
    with pytest.raises(ValueError, match="Expected parameter scale"):
        nd.Normal(0.0, -1.0)
    nd.Normal(0.0, -1.0, validate_args=False)
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        nd.Bernoulli()
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        nd.Categorical(numtorch.ones(2), numtorch.ones(2))
    with pytest.raises(ValueError, match="Expected parameter probs"):
        nd.Bernoulli(numtorch.tensor([1.5]))
    with pytest.raises(ValueError, match="Expected parameter probs"):
        nd.Categorical(numtorch.tensor([-0.5, 1.5]))
    with pytest.raises(ValueError, match="low>= high"):
        nd.Uniform(1.0, 0.0)
    with pytest.raises(ValueError, match="within the support"):
        nd.Bernoulli(numtorch.tensor(0.5)).log_prob(numtorch.tensor(0.3))
    with pytest.raises(ValueError, match="within the support"):
        nd.Exponential(1.0).log_prob(numtorch.tensor(-1.0))
    with pytest.raises(ValueError, match="right-most size"):
        nd.MultivariateNormal(numtorch.zeros(2), numtorch.eye(2)).log_prob(numtorch.zeros(3))
    with pytest.raises(ValueError, match="Exactly one of"):
        nd.MultivariateNormal(numtorch.zeros(2))
    with pytest.raises(ValueError, match="positive_definite|PositiveDefinite"):
        nd.MultivariateNormal(numtorch.zeros(2), numtorch.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="within the support"):
        nd.Binomial(5, numtorch.ones(2) * 0.3).log_prob(numtorch.tensor([6.0, 1.0]))
    with pytest.raises(ValueError, match="within the support"):
        nd.Poisson(numtorch.ones(2)).log_prob(numtorch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="does not equal"):
        nd.MixtureSameFamily(nd.Categorical(numtorch.ones(2)), nd.Normal(numtorch.zeros(3), 1.0))
    with pytest.raises(ValueError):
        nd.Distribution.set_default_validate_args(3)
    try:
        nd.Distribution.set_default_validate_args(False)
        nd.Normal(0.0, -1.0)
    finally:
        nd.Distribution.set_default_validate_args(True)


def test_reprs_match_torch():
    for build in [lambda T: T.distributions.Normal(0.0, 1.0),
                  lambda T: T.distributions.Normal(T.zeros(2), 1.0),
                  lambda T: T.distributions.Bernoulli(logits=T.zeros(2)),
                  lambda T: T.distributions.Categorical(T.ones(3)),
                  lambda T: T.distributions.Uniform(T.zeros(2), 2.0),
                  lambda T: T.distributions.Independent(
                      T.distributions.Normal(T.zeros(3, 2), 1.0), 1),
                  lambda T: T.distributions.MultivariateNormal(T.zeros(2), T.eye(2)),
                  lambda T: T.distributions.Gamma(T.ones(2), 1.0),
                  lambda T: T.distributions.Poisson(T.ones(2)),
                  lambda T: T.distributions.Binomial(5, T.ones(2) * 0.3),
                  lambda T: T.distributions.Geometric(T.ones(2) * 0.3),
                  lambda T: T.distributions.Cauchy(0.0, 1.0),
                  lambda T: T.distributions.MixtureSameFamily(
                      T.distributions.Categorical(T.ones(3)),
                      T.distributions.Normal(T.zeros(3), T.ones(3)))]:
        assert repr(build(numtorch)) == repr(build(torch))
    assert repr(nd.constraints.positive) == repr(torch.distributions.constraints.positive)
    assert repr(nd.constraints.simplex) == repr(torch.distributions.constraints.simplex)
    tc = torch.distributions.constraints
    assert repr(nd.constraints.interval(0, 1)) == repr(tc.interval(0, 1))


def test_shapes_expand_and_support():
    for lib in (numtorch, torch):
        d = lib.distributions.Normal(lib.zeros(3), 1.0).expand((4, 3))
        assert tuple(d.batch_shape) == (4, 3) and tuple(d.sample((2,)).shape) == (2, 4, 3)
        c = lib.distributions.Categorical(logits=lib.zeros(2, 5))
        assert tuple(c.batch_shape) == (2,) and tuple(c.event_shape) == ()
        assert tuple(c.expand((3, 2)).sample().shape) == (3, 2)
        assert tuple(c.enumerate_support().shape) == (5, 2)
        assert c.support.upper_bound == 4
        b = lib.distributions.Beta(lib.ones(3), 2.0).expand((2, 3))
        assert tuple(b.sample().shape) == (2, 3)
        m = lib.distributions.MultivariateNormal(lib.zeros(3), lib.eye(3)).expand((2,))
        assert tuple(m.batch_shape) == (2,) and tuple(m.log_prob(lib.zeros(2, 3)).shape) == (2,)
    assert nd.Normal(0.0, 1.0).has_rsample and not nd.Bernoulli(0.5).has_rsample
    assert nd.Categorical(numtorch.ones(3)).mode.dtype == numtorch.int64
    tb = torch.distributions.Bernoulli(torch.tensor([0.2, 0.5, 0.9]))
    nb = nd.Bernoulli(numtorch.tensor([0.2, 0.5, 0.9]))
    np.testing.assert_array_equal(nb.mode._data, tb.mode.numpy())
    np.testing.assert_array_equal(nb.enumerate_support()._data, tb.enumerate_support().numpy())


def test_top_level_namespace():
    assert numtorch.distributions is nd
    from numtorch.distributions import Normal, kl_divergence  # noqa: F401
    from numtorch.distributions.utils import broadcast_all, logits_to_probs, probs_to_logits
    a, b = broadcast_all(numtorch.zeros(2, 1), 3.0)
    assert tuple(a.shape) == tuple(b.shape) == (2, 1)
    p = numtorch.tensor([0.2, 0.8])
    np.testing.assert_allclose(logits_to_probs(probs_to_logits(p, True), True)._data, p._data,
                               rtol=1e-6)


def test_gamma_rsample_implicit_gradient():
    numtorch.manual_seed(3)
    conc = numtorch.tensor([0.3, 1.0, 4.0], dtype=numtorch.float64, requires_grad=True)
    rate = numtorch.tensor(2.0, dtype=numtorch.float64, requires_grad=True)
    x = nd.Gamma(conc, rate).rsample((200,))
    w = np.random.default_rng(0).standard_normal((200, 3))
    (x * numtorch.tensor(w)).sum().backward()
    draws = torch.tensor(x._data * 2.0)  # the standard-gamma draws
    expected = (torch._standard_gamma_grad(torch.tensor([0.3, 1.0, 4.0]).expand(200, 3)
                                           .double(), draws) / 2.0).numpy()
    np.testing.assert_allclose(conc.grad._data, (w * expected).sum(0), rtol=2e-3)
    np.testing.assert_allclose(rate.grad.item(), -(w * x._data).sum() / 2.0, rtol=1e-10)
    # Beta and Dirichlet rsample reach their concentrations too
    a = numtorch.tensor([2.0, 0.5], requires_grad=True)
    nd.Beta(a, 1.5).rsample((50,)).sum().backward()
    assert a.grad is not None and np.all(np.isfinite(a.grad._data))
    c = numtorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    nd.Dirichlet(c).rsample((10,))[..., 0].sum().backward()
    assert c.grad is not None and c.grad._data[0] > 0 > c.grad._data[2]


def _transformed_outputs(lib, dtype):
    D = lib.distributions
    loc = lib.tensor(np.array([0.3, -0.2], dtype), requires_grad=True)
    sc = lib.tensor(np.array([0.5, 1.2], dtype), requires_grad=True)
    v = lib.tensor(np.array([[0.7, 2.0], [1.5, 0.1]], dtype))
    ln = D.LogNormal(loc, sc)
    outs = [ln.log_prob(v), ln.entropy(), ln.mean, ln.variance, ln.mode, ln.cdf(v),
            ln.icdf(lib.tensor(np.array([0.2, 0.7], dtype)))]
    tanh = D.TransformedDistribution(D.Normal(loc, sc), [D.TanhTransform(),
                                                          D.AffineTransform(1.0, 2.0)])
    outs.append(tanh.log_prob(lib.tensor(np.array([[0.5, 1.2]], dtype))))
    sig = D.TransformedDistribution(D.Normal(loc, sc), [D.SigmoidTransform()])
    outs.append(sig.log_prob(lib.tensor(np.array([0.3, 0.6], dtype))))
    aff = D.TransformedDistribution(D.Normal(loc, sc),
                                    D.AffineTransform(loc * 0 + 1, sc, event_dim=1))
    outs.append(aff.log_prob(lib.tensor(np.array([0.3, 0.6], dtype))))
    comp = D.ComposeTransform([D.ExpTransform(), D.AffineTransform(0.5, -3.0)])
    x = lib.tensor(np.array([0.1, -0.4], dtype))
    outs += [comp(x), comp.log_abs_det_jacobian(x, comp(x)), comp.inv(comp(x))]
    return outs, [loc, sc], (tanh, aff)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_transformed_distributions_against_torch(dtype):
    (nt_outs, nt_in, (nt_tanh, nt_aff)) = _transformed_outputs(numtorch, dtype)
    (th_outs, th_in, (th_tanh, th_aff)) = _transformed_outputs(torch, dtype)
    _compare_outputs((nt_outs, th_outs), TOL[dtype], list(zip(nt_in, th_in)))
    for a, b in ((nt_tanh, th_tanh), (nt_aff, th_aff)):
        assert (tuple(a.batch_shape), tuple(a.event_shape)) == (tuple(b.batch_shape),
                                                                tuple(b.event_shape))
        assert tuple(a.sample((3,)).shape) == tuple(b.sample((3,)).shape)
        assert a.has_rsample and repr(a.support) == repr(b.support)
    numtorch.manual_seed(0)
    s = nd.LogNormal(0.0, 0.5).sample((20000,))._data
    np.testing.assert_allclose(s.mean(), np.exp(0.125), rtol=0.02)
    assert repr(nd.LogNormal(0.0, 1.0)) == repr(torch.distributions.LogNormal(0.0, 1.0))


def test_mvn_uses_linalg_nodes():
    """MultivariateNormal factors and solves with torch.linalg, so its graph has PyTorch's
    nodes (it had private Cholesky/solve Functions)."""
    cov = _spd(3, 3)
    for lib in (numtorch, torch):
        c = lib.tensor(cov, requires_grad=True)
        d = lib.distributions.MultivariateNormal(lib.zeros(3, dtype=c.dtype), c)
        names = (d._unbroadcasted_scale_tril.grad_fn.name(),
                 d.log_prob(lib.zeros(2, 3, dtype=c.dtype)).grad_fn.name())
        if lib is numtorch:
            ours = names
    assert ours == names
