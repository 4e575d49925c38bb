"""torch.autograd.functional against torch: values, structures, options, errors."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")
# torch's forward-mode jacobian compiles a helper with torch.jit.script, which warns.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning")

RNG = np.random.default_rng(1)
A = RNG.standard_normal(3)
B = RNG.standard_normal((2, 3))


def _higher_order_available():
    try:
        x = numtorch.ones(1, requires_grad=True)
        numtorch.autograd.grad((x * x).sum(), x, create_graph=True)
    except NotImplementedError:
        return False
    return True


needs_create_graph = pytest.mark.skipif(not _higher_order_available(),
                                        reason="higher-order gradients not available yet")


def _np(tree):
    if isinstance(tree, (tuple, list)):
        return type(tree)(_np(t) for t in tree)
    return tree.detach().numpy(), tree.requires_grad


def _same(a, b):
    if isinstance(b, (tuple, list)) and not isinstance(b[0], np.ndarray):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
        return
    (av, ar), (bv, br) = a, b
    assert av.shape == bv.shape and av.dtype == bv.dtype, (av.shape, bv.shape)
    rtol = 1e-6 if av.dtype == np.float32 else 1e-7
    np.testing.assert_allclose(av, bv, rtol=rtol, atol=1e-10)
    assert ar == br


def _compare(fn):
    results = []
    for lib in (numtorch, torch):
        try:
            results.append(("ok", _np(fn(lib, lib.autograd.functional))))
        except Exception as e:  # noqa: BLE001 - compared
            results.append((type(e).__name__, str(e)))
    ours, theirs = results
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "ok":
        _same(ours[1], theirs[1])
    else:
        assert ours == theirs


def _f1(x):
    return x.exp() * x.sum()


def _f2(x, y):
    return (y @ x).tanh(), (x * x).sum() + y.sum()


def _scalar(x, y):
    return (y * x.sin()).sum(1).pow(2).sum() + (x * x * x).sum()


def _t(lib, a):
    return lib.tensor(a)


@pytest.mark.parametrize("case", ["single", "tuple", "v_none_scalar", "strict_unused",
                                  "v_bad_size", "v_bad_tuple", "inputs_list", "outputs_list"])
def test_vjp(case):
    def run(lib, F):
        a, b = _t(lib, A), _t(lib, B)
        if case == "single":
            return F.vjp(_f1, a, _t(lib, np.arange(3.0)))
        if case == "tuple":
            return F.vjp(_f2, (a, b), (_t(lib, np.ones(2)), _t(lib, np.array(2.0))))
        if case == "v_none_scalar":
            return F.vjp(lambda x: x.sum(), a)
        if case == "strict_unused":
            return F.vjp(lambda x, y: x * 2, (a, b), a, strict=True)
        if case == "v_bad_size":
            return F.vjp(_f1, a, b)
        if case == "v_bad_tuple":
            return F.vjp(_f1, a, (a, a))
        if case == "inputs_list":
            return F.vjp(_f1, [a], a)
        return F.vjp(lambda x: [x], a, a)
    _compare(run)


@pytest.mark.parametrize("case", ["single", "tuple", "v_none_error", "v_none_scalar",
                                  "unused_input"])
def test_jvp(case):
    def run(lib, F):
        a, b = _t(lib, A), _t(lib, B)
        if case == "single":
            return F.jvp(_f1, a, _t(lib, np.arange(3.0)))
        if case == "tuple":
            return F.jvp(_f2, (a, b), (_t(lib, np.ones(3)), _t(lib, np.ones((2, 3)))))
        if case == "v_none_error":
            return F.jvp(_f1, a)
        if case == "v_none_scalar":
            return F.jvp(lambda x: x * 3, _t(lib, np.array([2.0])))
        return F.jvp(lambda x, y: x * 2, (a, b), (a, b))
    _compare(run)


@pytest.mark.parametrize("case", ["single", "tuple_in_out", "tuple_in", "tuple_out",
                                  "independent", "strict_independent", "strict_no_grad",
                                  "vectorize", "forward_mode", "forward_no_vectorize",
                                  "bad_strategy", "strict_vectorize", "float32"])
def test_jacobian(case):
    def run(lib, F):
        a, b = _t(lib, A), _t(lib, B)
        if case == "single":
            return F.jacobian(_f1, a)
        if case == "tuple_in_out":
            return F.jacobian(_f2, (a, b))
        if case == "tuple_in":
            return F.jacobian(lambda x, y: y @ x, (a, b))
        if case == "tuple_out":
            return F.jacobian(lambda x: (x.sin(), x.sum()), a)
        if case == "independent":
            return F.jacobian(lambda x, y: x * 2, (a, b))
        if case == "strict_independent":
            return F.jacobian(lambda x, y: x * 2, (a, b), strict=True)
        if case == "strict_no_grad":
            return F.jacobian(lambda x: x.detach(), a, strict=True)
        if case == "vectorize":
            return F.jacobian(_f2, (a, b), vectorize=True)
        if case == "forward_mode":
            return F.jacobian(_f2, (a, b), vectorize=True, strategy="forward-mode")
        if case == "forward_no_vectorize":
            return F.jacobian(_f1, a, strategy="forward-mode")
        if case == "bad_strategy":
            return F.jacobian(_f1, a, strategy="sideways")
        if case == "strict_vectorize":
            return F.jacobian(_f1, a, strict=True, vectorize=True)
        return F.jacobian(_f1, _t(lib, A.astype(np.float32)))
    _compare(run)


@needs_create_graph
@pytest.mark.parametrize("case", ["single", "tuple", "create_graph", "not_scalar",
                                  "tuple_output", "strict_linear", "forward_outer"])
def test_hessian(case):
    def run(lib, F):
        a, b = _t(lib, A), _t(lib, B)
        if case == "single":
            return F.hessian(lambda x: (x.sin() * x).sum(), a)
        if case == "tuple":
            return F.hessian(_scalar, (a, b))
        if case == "create_graph":
            return F.hessian(lambda x: (x ** 3).sum(), a, create_graph=True)
        if case == "not_scalar":
            return F.hessian(lambda x: x ** 3, a)
        if case == "tuple_output":
            return F.hessian(lambda x: ((x ** 3).sum(),), a)
        if case == "strict_linear":
            return F.hessian(lambda x: (x * 2).sum(), a, strict=True)
        # torch's forward-over-reverse result keeps a grad_fn even without create_graph;
        # numtorch's does not: compare the values.
        h = F.hessian(_scalar, (a, b), vectorize=True, outer_jacobian_strategy="forward-mode")
        return tuple(tuple(x.detach() for x in row) for row in h)
    _compare(run)


@needs_create_graph
@pytest.mark.parametrize("name", ["hvp", "vhp"])
@pytest.mark.parametrize("case", ["single", "tuple", "v_none_error", "not_scalar"])
def test_hessian_vector_products(name, case):
    def run(lib, F):
        fn = getattr(F, name)
        a, b = _t(lib, A), _t(lib, B)
        if case == "single":
            return fn(lambda x: (x.exp() * x).sum(), a, _t(lib, np.arange(3.0)))
        if case == "tuple":
            return fn(_scalar, (a, b), (_t(lib, np.ones(3)), _t(lib, np.ones((2, 3)))))
        if case == "v_none_error":
            return fn(lambda x: x.sum(), a)
        return fn(lambda x: x ** 3, a, a)
    _compare(run)


def test_inputs_requiring_grad_are_not_modified():
    x = numtorch.tensor(A, requires_grad=True)
    numtorch.autograd.functional.jacobian(_f1, x)
    assert x.grad is None
