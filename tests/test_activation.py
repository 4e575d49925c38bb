"""Activation functions and modules: values, gradients and node names against PyTorch, plus
float64 finite-difference checks that need no torch."""

import numpy as np
import pytest
from oracle import check_grad_fd, check_op

import numtorch

try:
    import torch
except ImportError:  # the finite-difference tests still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs torch as the oracle")


def F(t):
    return t.nn.functional


# name, function of (library, input); inputs are scaled so every branch of each op is reached.
ACTIVATIONS = [
    ("relu", lambda t, x: F(t).relu(x)),
    ("relu6", lambda t, x: F(t).relu6(x * 5)),
    ("leaky_relu", lambda t, x: F(t).leaky_relu(x, 0.2)),
    ("leaky_relu_default", lambda t, x: F(t).leaky_relu(x)),
    ("elu", lambda t, x: F(t).elu(x, alpha=0.7)),
    ("selu", lambda t, x: F(t).selu(x)),
    ("celu", lambda t, x: F(t).celu(x, alpha=1.5)),
    ("gelu", lambda t, x: F(t).gelu(x * 3)),
    ("gelu_tanh", lambda t, x: F(t).gelu(x * 3, approximate="tanh")),
    ("silu", lambda t, x: F(t).silu(x * 3)),
    ("mish", lambda t, x: F(t).mish(x * 3)),
    ("softplus", lambda t, x: F(t).softplus(x * 3)),
    ("softplus_beta_threshold", lambda t, x: F(t).softplus(x * 10, beta=2, threshold=5)),
    ("hardtanh", lambda t, x: F(t).hardtanh(x * 2, -0.5, 1.5)),
    ("hardswish", lambda t, x: F(t).hardswish(x * 5)),
    ("hardsigmoid", lambda t, x: F(t).hardsigmoid(x * 5)),
    ("sigmoid", lambda t, x: F(t).sigmoid(x * 3)),
    ("tanh", lambda t, x: F(t).tanh(x * 3)),
    ("softsign", lambda t, x: F(t).softsign(x * 3)),
    ("tanhshrink", lambda t, x: F(t).tanhshrink(x * 3)),
    ("logsigmoid", lambda t, x: F(t).logsigmoid(x * 3)),
    ("softmin", lambda t, x: F(t).softmin(x, dim=1)),
    ("softmax", lambda t, x: F(t).softmax(x, dim=-1)),
    ("log_softmax", lambda t, x: F(t).log_softmax(x, dim=0)),
    ("glu", lambda t, x: F(t).glu(x, dim=1)),
    ("hardshrink", lambda t, x: F(t).hardshrink(x, 0.3)),
    ("softshrink", lambda t, x: F(t).softshrink(x, 0.3)),
    ("threshold", lambda t, x: F(t).threshold(x, 0.1, 20.0)),
    ("rrelu_eval", lambda t, x: F(t).rrelu(x, 0.1, 0.3, training=False)),
]
IDS = [a[0] for a in ACTIVATIONS]


@needs_torch
@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=IDS)
def test_activation_matches_torch(name, fn):
    check_op(fn, [(3, 4)])
    check_op(fn, [(2, 4, 3)], seed=3)


@needs_torch
@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=IDS)
def test_activation_node_name(name, fn):
    x = np.random.default_rng(0).standard_normal((3, 4))
    got = fn(numtorch, numtorch.tensor(x, requires_grad=True)).grad_fn
    want = fn(torch, torch.tensor(x, requires_grad=True)).grad_fn
    assert type(got).__name__ == type(want).__name__
    assert [type(n).__name__ for n, _ in got.next_functions] == \
        [type(n).__name__ for n, _ in want.next_functions]


@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=IDS)
def test_activation_finite_differences(name, fn):
    # Shift away from kinks so the central difference does not straddle one.
    x = np.random.default_rng(1).standard_normal((3, 4))
    x = np.where(np.abs(x) < 0.05, 0.5, x)
    check_grad_fd(lambda a: fn(numtorch, a), [x])


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda t, w, x: F(t).prelu(x, w)], ids=["prelu"])
@pytest.mark.parametrize("x_shape,w_shape", [((2, 3, 4), (3,)), ((2, 3), (1,)), ((4,), (1,)),
                                             ((2, 3, 2, 2), (3,))])
def test_prelu_input_and_weight_grads(fn, x_shape, w_shape):
    rng = np.random.default_rng(2)
    check_op(fn, arrays=[rng.uniform(0.05, 0.5, w_shape), rng.standard_normal(x_shape)])


@pytest.mark.parametrize("x_shape,w_shape", [((2, 3, 4), (3,)), ((2, 3), (1,))])
def test_prelu_finite_differences(x_shape, w_shape):
    rng = np.random.default_rng(2)
    check_grad_fd(lambda w, x: F(numtorch).prelu(x, w),
                  [rng.uniform(0.05, 0.5, w_shape), rng.standard_normal(x_shape)])


@needs_torch
@pytest.mark.parametrize("name", ["softplus", "logsigmoid", "silu", "mish", "gelu", "elu",
                                  "selu", "celu", "sigmoid", "tanh", "softsign", "hardswish"])
def test_extreme_inputs_stay_finite(name):
    x = np.array([-1e4, -50.0, -1.0, 0.5, 50.0, 1e4])
    fn = lambda t, a: getattr(F(t), name)(a)  # noqa: E731
    # first order only: at ±1e4 torch's own second derivatives overflow to nan in places
    check_op(fn, arrays=[x], gradgrad=False)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        a = numtorch.tensor(x.astype(np.float32), requires_grad=True)
        getattr(F(numtorch), name)(a).sum().backward()
    assert np.isfinite(a.grad.numpy()).all()


@needs_torch
@pytest.mark.parametrize("x", [-3.0, 0.0, 3.0, 6.0, -1.0, 1.0])
def test_gradients_at_kinks(x):
    for name, kw in [("relu", {}), ("relu6", {}), ("hardtanh", {}), ("hardswish", {}),
                     ("hardsigmoid", {}), ("leaky_relu", {}), ("elu", {}), ("celu", {})]:
        a = numtorch.tensor([x], requires_grad=True)
        b = torch.tensor([x], requires_grad=True)
        getattr(F(numtorch), name)(a, **kw).sum().backward()
        getattr(F(torch), name)(b, **kw).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), err_msg=name)


def test_gelu_float32_accuracy_and_dtype():
    x = np.linspace(-12, 12, 2001).astype(np.float32)
    got = F(numtorch).gelu(numtorch.tensor(x))
    assert got.dtype == numtorch.float32
    want = F(numtorch).gelu(numtorch.tensor(x.astype(np.float64))).numpy()
    np.testing.assert_allclose(got.numpy(), want, rtol=2e-6, atol=1e-7)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(RuntimeError):
        F(numtorch).gelu(numtorch.randn(3), approximate="erf")


@pytest.mark.parametrize("name,args", [("relu", ()), ("leaky_relu", (0.1,)), ("elu", (1.0,)),
                                       ("hardtanh", (-0.5, 0.5)), ("relu6", ()), ("selu", ()),
                                       ("celu", (1.0,)), ("silu", ()), ("hardswish", ()),
                                       ("hardsigmoid", ()), ("mish", ()),
                                       ("threshold", (0.2, -1.0))])
def test_inplace_writes_input_and_backprops(name, args):
    x = np.random.default_rng(4).standard_normal((3, 4))
    leaf = numtorch.tensor(x, requires_grad=True)
    h = leaf * 2
    out = getattr(F(numtorch), name)(h, *args, inplace=True)
    assert out is h
    ref_leaf = numtorch.tensor(x, requires_grad=True)
    ref = getattr(F(numtorch), name)(ref_leaf * 2, *args)
    np.testing.assert_array_equal(h.detach().numpy(), ref.detach().numpy())
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), ref_leaf.grad.numpy())


def test_inplace_on_leaf_requiring_grad_raises():
    with pytest.raises(RuntimeError):
        F(numtorch).relu(numtorch.randn(3, requires_grad=True), inplace=True)


def test_rrelu_training_slopes_within_bounds():
    x = -numtorch.rand(1000) - 0.1
    x.requires_grad_(True)
    y = F(numtorch).rrelu(x, 0.1, 0.3, training=True)
    slopes = (y / x).detach().numpy()
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-5)


def test_glu_odd_dimension_raises():
    with pytest.raises(RuntimeError):
        F(numtorch).glu(numtorch.randn(3, 5), dim=1)


def test_no_graph_without_grad():
    y = F(numtorch).gelu(numtorch.randn(3))
    assert y.grad_fn is None and not y.requires_grad
    with numtorch.no_grad():
        assert F(numtorch).elu(numtorch.randn(3, requires_grad=True)).grad_fn is None


# ---------------------------------------------------------------------------- modules
MODULES = [
    ("ReLU", (), {}), ("ReLU", (), dict(inplace=True)), ("ReLU6", (), {}),
    ("ReLU6", (True,), {}), ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}),
    ("PReLU", (), {}), ("PReLU", (4, 0.1), {}), ("ELU", (), {}), ("ELU", (0.5, True), {}),
    ("SELU", (), {}), ("SELU", (True,), {}), ("CELU", (1.5,), {}), ("GELU", (), {}),
    ("GELU", ("tanh",), {}), ("SiLU", (), {}), ("SiLU", (True,), {}), ("Mish", (), {}),
    ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softmax", (), dict(dim=1)),
    ("Softmax", (-1,), {}), ("LogSoftmax", (1,), {}), ("Softmin", (1,), {}),
    ("Softplus", (), {}), ("Softplus", (2, 10), {}), ("Hardtanh", (), {}),
    ("Hardtanh", (-2, 2, True), {}), ("Hardswish", (), {}), ("Hardsigmoid", (), {}),
    ("Softsign", (), {}), ("Tanhshrink", (), {}), ("LogSigmoid", (), {}),
    ("Threshold", (0.1, 20), {}), ("GLU", (), dict(dim=1)), ("Hardshrink", (), {}),
    ("Softshrink", (0.3,), {}), ("RReLU", (0.1, 0.3), {}), ("Softmax2d", (), {}),
]
MODULE_IDS = [f"{m[0]}{i}" for i, m in enumerate(MODULES)]


@needs_torch
@pytest.mark.parametrize("name,args,kwargs", MODULES, ids=MODULE_IDS)
def test_activation_module_repr_and_forward_match_torch(name, args, kwargs):
    ours = getattr(numtorch.nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    ours.eval()
    theirs.eval()  # RReLU is deterministic in eval mode
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 2)).astype(np.float32) * 3
    xo = numtorch.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out_o, out_t = ours(xo * 1), theirs(xt * 1)  # non-leaf inputs, so inplace=True is allowed
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    out_o.sum().backward()
    out_t.sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_prelu_module_parameter_and_training_step():
    m = numtorch.nn.PReLU(3, init=0.2)
    assert m.weight.shape == (3,) and m.weight.requires_grad
    np.testing.assert_allclose(m.weight.detach().numpy(), [0.2, 0.2, 0.2])
    x = -numtorch.ones(2, 3, 4)
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), [-8.0, -8.0, -8.0])
    assert list(m.state_dict()) == ["weight"]
    with pytest.raises(RuntimeError):
        m(numtorch.randn(2, 4, 4))


def test_rrelu_module_random_in_training_only():
    m = numtorch.nn.RReLU(0.1, 0.3)
    x = -numtorch.ones(200)
    assert len(np.unique(m(x).numpy())) > 1
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2, rtol=1e-6)


def test_softmax2d_rejects_wrong_rank():
    with pytest.raises(ValueError):
        numtorch.nn.Softmax2d()(numtorch.randn(2, 3))


def test_gelu_of_infinities_is_quiet_and_matches_torch_float64():
    torch = pytest.importorskip("torch")
    a = np.array([-np.inf, np.inf, np.nan, 1.0])
    for approximate in ("none", "tanh"):
        results = []
        for lib in (numtorch, torch):
            x = lib.tensor(a, requires_grad=True)
            y = lib.nn.functional.gelu(x, approximate=approximate)
            y.sum().backward()
            results.append((y.detach().numpy(), x.grad.numpy()))
        np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)  # nan == nan
        np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)
