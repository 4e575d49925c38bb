"""torch.func transforms compared with torch.func's results."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")
# torch.func.jvp compiles a helper with torch.jit.script on first use, which warns.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
W = RNG.standard_normal((4, 2))
V = RNG.standard_normal(4)


def _to_np(tree):
    if isinstance(tree, (tuple, list)):
        return type(tree)(_to_np(t) for t in tree) if not hasattr(tree, "_fields") else \
            tuple(_to_np(t) for t in tree)
    if isinstance(tree, dict):
        return {k: _to_np(v) for k, v in tree.items()}
    if hasattr(tree, "detach"):
        return tree.detach().numpy()
    return tree


def _assert_same(a, b, rtol=1e-7, atol=1e-9):
    if isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _assert_same(x, y, rtol, atol)
    elif isinstance(b, dict):
        assert isinstance(a, dict) and list(a) == list(b)
        for k in b:
            _assert_same(a[k], b[k], rtol, atol)
    elif isinstance(b, np.ndarray):
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    else:
        assert a == b


def _compare(fn, rtol=1e-7, atol=1e-9):
    """``fn(lib)`` on numtorch and torch; outputs (nested tensors) must agree."""
    ours = _to_np(fn(numtorch))
    theirs = _to_np(fn(torch))
    _assert_same(ours, theirs, rtol, atol)


def _t(lib, a, **kw):
    return lib.tensor(np.array(a), **kw)


def _mlp_loss(lib):
    def loss(w, x):
        return (x @ w).tanh().pow(2).sum()
    return loss


# ---------------------------------------------------------------- grad / grad_and_value
@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1,), -1])
def test_grad_argnums(argnums):
    _compare(lambda lib: lib.func.grad(_mlp_loss(lib), argnums=argnums)(_t(lib, W), _t(lib, X)))


def test_grad_and_value_has_aux():
    def run(lib):
        def f(w, x):
            y = (x @ w).sin()
            return y.sum(), {"mean": y.mean(), "raw": y}
        return lib.func.grad_and_value(f, has_aux=True)(_t(lib, W), _t(lib, X))
    _compare(run)


def test_grad_of_dict_of_params():
    def run(lib):
        params = {"w": _t(lib, W), "b": _t(lib, np.ones(2))}
        return lib.func.grad(lambda p, x: ((x @ p["w"]) + p["b"]).relu().sum())(params, _t(lib, X))
    _compare(run)


def test_grad_float32_dtype():
    _compare(lambda lib: lib.func.grad(lambda x: (x * x).sum())(_t(lib, X.astype(np.float32))))


@pytest.mark.parametrize("case", ["non_scalar", "not_tensor", "argnum_range", "aux_not_tuple",
                                  "argnums_type"])
def test_grad_errors_match_torch(case):
    def run(lib):
        x = _t(lib, X)
        try:
            if case == "non_scalar":
                lib.func.grad(lambda a: a)(x)
            elif case == "not_tensor":
                lib.func.grad(lambda a: (a.sum(), 1))(x)
            elif case == "argnum_range":
                lib.func.grad(lambda a: a.sum(), argnums=1)(x)
            elif case == "aux_not_tuple":
                lib.func.grad(lambda a: a.sum(), has_aux=True)(x)
            else:
                lib.func.grad(lambda a: a.sum(), argnums=[0])(x)
        except Exception as e:  # noqa: BLE001 - compared
            return type(e).__name__, str(e)
        return None
    assert run(numtorch) == run(torch)


def test_grad_result_is_outside_any_graph():
    g = numtorch.func.grad(lambda a: (a * a).sum())(numtorch.ones(3))
    assert not g.requires_grad and g.grad_fn is None


def test_grad_output_differentiable_by_outer_autograd():
    def run(lib):
        w = _t(lib, W, requires_grad=True)
        g = lib.func.grad(lambda a: (a * a * a).sum())(w)
        return lib.autograd.grad(g.sum(), w)[0]
    try:
        numtorch.autograd.grad(numtorch.ones(1, requires_grad=True).sum(),
                               numtorch.ones(1, requires_grad=True), create_graph=True,
                               allow_unused=True)
    except NotImplementedError:
        pytest.skip("higher-order gradients (create_graph) are not available yet")
    _compare(run)


# ---------------------------------------------------------------- vjp / jvp
def test_vjp_tuple_inputs_and_outputs():
    def run(lib):
        def f(x, w):
            y = x @ w
            return y.exp(), y.sum(0)
        out, fn = lib.func.vjp(f, _t(lib, X), _t(lib, W))
        cot = (_t(lib, np.ones((3, 2))), _t(lib, np.arange(2.0)))
        return out, fn(cot), fn(cot)  # vjp_fn can be called more than once
    _compare(run)


def test_vjp_has_aux():
    def run(lib):
        out, fn, aux = lib.func.vjp(lambda x: (x.sin(), x.cos()), _t(lib, X), has_aux=True)
        return out, fn(_t(lib, np.ones((3, 4)))), aux
    _compare(run)


def test_jvp_matches_torch():
    def run(lib):
        f = lambda x, w: ((x @ w).tanh(), (x * x).sum())  # noqa: E731
        return lib.func.jvp(f, (_t(lib, X), _t(lib, W)),
                            (_t(lib, np.ones((3, 4))), _t(lib, np.full((4, 2), 0.5))))
    _compare(run)


def test_jvp_has_aux_and_shape_error():
    def run(lib):
        out = lib.func.jvp(lambda x: (x.exp(), x.sum()), (_t(lib, V),), (_t(lib, V),),
                           has_aux=True)
        try:
            lib.func.jvp(lambda x: x, (_t(lib, V),), (_t(lib, X),))
        except RuntimeError as e:
            return out, str(e)
        return out, None
    _compare(run)


# ---------------------------------------------------------------- Jacobians and Hessians
@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("argnums", [0, (0, 1)])
def test_jacobians(transform, argnums):
    def run(lib):
        jac = getattr(lib.func, transform)
        f = lambda x, w: ((x @ w).sigmoid(), (x.exp() * 2).sum(1))  # noqa: E731
        return jac(f, argnums=argnums)(_t(lib, X), _t(lib, W))
    _compare(run)


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobian_has_aux_and_unused_input(transform):
    def run(lib):
        jac = getattr(lib.func, transform)
        f = lambda x, w: (x.sum() * 3, x.max())  # noqa: E731 - w unused: zeros
        return jac(f, argnums=(0, 1), has_aux=True)(_t(lib, X), _t(lib, W))
    _compare(run)


def test_hessian():
    try:
        numtorch.autograd.grad(numtorch.ones(1, requires_grad=True).sum(),
                               numtorch.ones(1, requires_grad=True), create_graph=True,
                               allow_unused=True)
    except NotImplementedError:
        pytest.skip("higher-order gradients (create_graph) are not available yet")
    _compare(lambda lib: lib.func.hessian(lambda x: (x.sin() * x).sum())(_t(lib, V)))


# ---------------------------------------------------------------- vmap
@pytest.mark.parametrize("in_dims,out_dims", [(0, 0), (1, 0), (0, 1), (-1, -1)])
def test_vmap_dims(in_dims, out_dims):
    def run(lib):
        return lib.func.vmap(lambda a: (a.softmax(0) * 2, a.sum()), in_dims=in_dims,
                             out_dims=out_dims if out_dims != 1 else (1, 0))(_t(lib, X))
    _compare(run)


def test_vmap_nested_tuple_in_dims_and_none():
    def run(lib):
        def f(pair, scale, w):
            a, b = pair
            return (a * scale + b) @ w
        args = ((_t(lib, X), _t(lib, X.T.copy())), _t(lib, np.array(2.0)), _t(lib, W))
        return lib.func.vmap(f, in_dims=((0, 1), None, None))(*args)
    _compare(run)


def test_vmap_dict_input_and_kwargs():
    def run(lib):
        f = lambda d, *, k: d["a"] * k + d["b"]  # noqa: E731
        return lib.func.vmap(f)({"a": _t(lib, X), "b": _t(lib, X + 1)}, k=3.0)
    _compare(run)


def test_nested_vmap():
    def run(lib):
        inner = lib.func.vmap(lambda a, b: (a * b).sum(), in_dims=(0, None))
        return lib.func.vmap(inner, in_dims=(None, 0))(_t(lib, X), _t(lib, W.T.copy()))
    _compare(run)


def test_vmap_chunk_size_and_matmul_linear():
    def run(lib):
        lin_w, lin_b = _t(lib, W.T.copy()), _t(lib, np.ones(2))
        f = lambda a: lib.nn.functional.linear(a, lin_w, lin_b).relu()  # noqa: E731
        return lib.func.vmap(f, chunk_size=2)(_t(lib, X))
    _compare(run)


def test_vmap_conv2d():
    img = RNG.standard_normal((3, 2, 6, 6))
    k = RNG.standard_normal((4, 2, 3, 3))

    def run(lib):
        f = lambda x: lib.nn.functional.conv2d(x.unsqueeze(0), _t(lib, k)).squeeze(0)  # noqa
        return lib.func.vmap(f)(_t(lib, img))
    _compare(run, rtol=1e-6)


@pytest.mark.parametrize("case", ["sizes", "in_dims_structure", "out_not_tensor", "in_dim_range",
                                  "non_tensor_mapped", "in_dims_type", "randomness_value",
                                  "chunk_size", "random_in_error_mode", "out_dims_none_batched"])
def test_vmap_errors_match_torch(case):
    def run(lib):
        x, y = _t(lib, X), _t(lib, X[:2])
        v = lib.func.vmap
        try:
            if case == "sizes":
                v(lib.add)(x, y)
            elif case == "in_dims_structure":
                v(lambda a: a.sum(), in_dims=(0, 0))(x)
            elif case == "out_not_tensor":
                v(lambda a: 1)(x)
            elif case == "in_dim_range":
                v(lambda a: a, in_dims=2)(x)
            elif case == "non_tensor_mapped":
                v(lambda a: a, in_dims=0)(1.0)
            elif case == "in_dims_type":
                v(lambda a: a, in_dims="a")(x)
            elif case == "randomness_value":
                v(lambda a: a, randomness="foo")(x)
            elif case == "chunk_size":
                v(lambda a: a, chunk_size=0)(x)
            elif case == "random_in_error_mode":
                v(lambda a: a * lib.rand(1))(x)
            else:
                v(lambda a: a, out_dims=None)(x)
        except Exception as e:  # noqa: BLE001 - compared
            msg = str(e)
            if case == "in_dims_structure":
                msg = msg.split(" in_dims has structure")[0]
            return type(e).__name__, msg
        return None
    assert run(numtorch) == run(torch)


def test_vmap_randomness_same_and_different():
    x = numtorch.zeros(4, 3)
    same = numtorch.func.vmap(lambda a: a + numtorch.rand(3), randomness="same")(x)
    diff = numtorch.func.vmap(lambda a: a + numtorch.rand(3), randomness="different")(x)
    assert all(np.array_equal(same[0].numpy(), same[i].numpy()) for i in range(4))
    assert not np.array_equal(diff[0].numpy(), diff[1].numpy())


def test_vmap_out_dims_none_for_unbatched_output():
    _compare(lambda lib: lib.func.vmap(lambda a: (a * 2, lib.ones(2)), out_dims=(0, None))(
        _t(lib, X)))


def test_vmap_outputs_differentiable():
    def run(lib):
        x = _t(lib, X, requires_grad=True)
        y = lib.func.vmap(lambda a: (a * a).sum())(x)
        (g,) = lib.autograd.grad((y * _t(lib, np.arange(3.0))).sum(), x)
        return y, g
    _compare(run)


# ---------------------------------------------------------------- composition
def test_per_sample_gradients_vmap_grad():
    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))
        model = model.double()
        for p, a in zip(model.parameters(), _PARAMS):
            with lib.no_grad():
                p.copy_(lib.tensor(a))
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(p, x, t):
            out = lib.func.functional_call(model, p, (x.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(out, t.unsqueeze(0))

        return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(
            params, _t(lib, X), _t(lib, np.array([0, 1, 1])))
    _compare(run)


_PARAMS = [RNG.standard_normal((5, 4)), RNG.standard_normal(5), RNG.standard_normal((2, 5)),
           RNG.standard_normal(2)]


# ---------------------------------------------------------------- functional_call
class _Tied:
    @staticmethod
    def make(lib):
        class Tied(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = lib.nn.Linear(2, 2, bias=False)
                self.b = lib.nn.Linear(2, 2, bias=False)
                self.b.weight = self.a.weight
                self.register_buffer("scale", lib.ones(2))

            def forward(self, x):
                return self.b(self.a(x)) * self.scale
        m = Tied().double()
        with lib.no_grad():
            m.a.weight.copy_(lib.tensor([[0.5, -1.0], [2.0, 0.25]]))
        return m


@pytest.mark.parametrize("case", ["one_name", "both_same", "both_different", "untied",
                                  "buffer", "strict_missing", "strict_unexpected",
                                  "two_dicts", "duplicate_dicts", "args_not_tuple"])
def test_functional_call_matches_torch(case):
    def run(lib):
        m = _Tied.make(lib)
        before = [p.detach().numpy().copy() for p in m.parameters()]
        w1, w2 = _t(lib, np.eye(2) * 2), _t(lib, np.eye(2) * 3)
        x = _t(lib, np.array([[1.0, 2.0]]))
        fc = lib.func.functional_call
        try:
            if case == "one_name":
                out = fc(m, {"a.weight": w1}, (x,))
            elif case == "both_same":
                out = fc(m, {"a.weight": w1, "b.weight": w1}, (x,))
            elif case == "both_different":
                out = fc(m, {"a.weight": w1, "b.weight": w2}, (x,))
            elif case == "untied":
                out = fc(m, {"a.weight": w1}, (x,), tie_weights=False) - m(x)  # b keeps old w
            elif case == "buffer":
                out = fc(m, {"scale": _t(lib, np.array([1.0, -1.0]))}, (x,)) - m(x) * 0
            elif case == "strict_missing":
                out = fc(m, {"a.weight": w1}, (x,), strict=True)
            elif case == "strict_unexpected":
                out = fc(m, {"a.weight": w1, "scale": x[0], "c": w1}, (x,), strict=True)
            elif case == "two_dicts":
                out = fc(m, ({"a.weight": w1}, {"scale": x[0]}), (x,))
            elif case == "duplicate_dicts":
                out = fc(m, ({"a.weight": w1}, {"a.weight": w2}), (x,))
            else:
                out = fc(m, {"a.weight": w1}, x)
        except Exception as e:  # noqa: BLE001 - compared
            return type(e).__name__, str(e)
        after = [p.detach().numpy() for p in m.parameters()]
        assert all(np.array_equal(a, b) for a, b in zip(before, after))  # module unchanged
        return out.detach().numpy() if case not in ("untied",) else \
            np.isclose(out.detach().numpy(), 0).all()
    _compare(run)


def test_ensemble_functional_call_vmap():
    def run(lib):
        models = []
        for k in range(3):
            m = lib.nn.Linear(4, 2).double()
            with lib.no_grad():
                m.weight.copy_(lib.tensor(W.T * (k + 1)))
                m.bias.fill_(float(k))
            models.append(m)
        stacked = {n: lib.stack([dict(m.named_parameters())[n].detach() for m in models])
                   for n, _ in models[0].named_parameters()}
        return lib.func.vmap(lambda p, x: lib.func.functional_call(models[0], p, (x,)),
                             in_dims=(0, None))(stacked, _t(lib, X))
    _compare(run)
