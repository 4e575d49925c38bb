"""torch._foreach_*: every op against torch, in place and out of place, with scalars, scalar
lists, tensor lists and one tensor, the errors for mismatched lists, and gradients."""

import numpy as np
import pytest

import numtorch
from numtorch import _foreach

torch = pytest.importorskip("torch")

SHAPES = [(2, 3), (4,), ()]


def _lists(seed=0, low=0.2, high=0.9):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(low, high, s).astype(np.float32) for s in SHAPES]
    return ([numtorch.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays])


def _same(a, b, rtol=1e-5, atol=1e-6):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert str(x.dtype) == str(y.dtype) and tuple(x.shape) == tuple(y.shape)
        np.testing.assert_allclose(x.detach().numpy(), y.detach().numpy(), rtol=rtol, atol=atol)


def _outcome(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
        return ("ok", "")
    except Exception as e:  # noqa: BLE001  (class and message are compared)
        return (type(e).__name__, str(e))


@pytest.mark.parametrize("name", _foreach._UNARY)
def test_unary_matches_torch(name):
    (n, t), (n2, t2) = _lists(), _lists()
    out_n = getattr(numtorch, f"_foreach_{name}")(n)
    out_t = getattr(torch, f"_foreach_{name}")(t)
    assert type(out_n) is type(out_t)
    _same(out_n, out_t)
    ret_n = getattr(numtorch, f"_foreach_{name}_")(n2)
    ret_t = getattr(torch, f"_foreach_{name}_")(t2)
    assert ret_n is n2 and ret_t is t2
    _same(n2, t2)


def _other(lib, kind, tensors):
    if kind == "scalar":
        return 1.5
    if kind == "scalars":
        return [0.5, 2.0, 3.0]
    if kind == "tensors":
        return [lib.full(tuple(x.shape), 0.75) for x in tensors]
    return lib.tensor(1.25)


@pytest.mark.parametrize("kind", ["scalar", "scalars", "tensors", "tensor"])
@pytest.mark.parametrize("name", _foreach._BINARY)
def test_binary_matches_torch(name, kind):
    if kind == "tensor" and name not in ("add", "sub", "mul", "div"):
        pytest.skip("torch takes one tensor only for add/sub/mul/div")
    for inplace in (False, True):
        (n, t) = _lists()
        suffix = "_" if inplace else ""
        args_n, args_t = [_other(numtorch, kind, n)], [_other(torch, kind, t)]
        kw = {"alpha": 2} if (name, kind) in (("add", "tensors"), ("sub", "tensors"),
                                               ("add", "tensor")) else {}
        out_n = getattr(numtorch, f"_foreach_{name}{suffix}")(n, *args_n, **kw)
        out_t = getattr(torch, f"_foreach_{name}{suffix}")(t, *args_t, **kw)
        _same(out_n, out_t)
        if inplace:
            assert out_n is n
            _same(n, t)


@pytest.mark.parametrize("value", [1, 0.5, [0.5, 2.0, -1.0], "tensor"])
@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_addcmul_addcdiv_match_torch(name, value):
    (n, t), (n1, t1), (n2, t2) = _lists(0), _lists(1), _lists(2)
    vn = numtorch.tensor([0.5, 2.0, -1.0]) if value == "tensor" else value
    vt = torch.tensor([0.5, 2.0, -1.0]) if value == "tensor" else value
    _same(getattr(numtorch, f"_foreach_{name}")(n, n1, n2, vn),
          getattr(torch, f"_foreach_{name}")(t, t1, t2, vt))
    getattr(numtorch, f"_foreach_{name}_")(n, n1, n2, vn)
    getattr(torch, f"_foreach_{name}_")(t, t1, t2, vt)
    _same(n, t)


@pytest.mark.parametrize("weight", [0.25, "tensors", [0.1, 0.5, 0.9]])
def test_lerp_matches_torch(weight):
    (n, t), (n1, t1) = _lists(0), _lists(1)
    wn = [numtorch.full(tuple(x.shape), 0.3) for x in n] if weight == "tensors" else weight
    wt = [torch.full(tuple(x.shape), 0.3) for x in t] if weight == "tensors" else weight
    if isinstance(weight, list) and not isinstance(weight[0], str):
        if not hasattr(torch, "_foreach_lerp_"):
            pytest.skip()
    outcome = _outcome(torch._foreach_lerp, t, t1, wt)
    if outcome[0] != "ok":
        assert _outcome(numtorch._foreach_lerp, n, n1, wn)[0] == outcome[0]
        return
    _same(numtorch._foreach_lerp(n, n1, wn), torch._foreach_lerp(t, t1, wt))
    numtorch._foreach_lerp_(n, n1, wn)
    torch._foreach_lerp_(t, t1, wt)
    _same(n, t)


@pytest.mark.parametrize("ord", [2, 1, float("inf"), 3])
def test_norm_and_reductions_match_torch(ord):
    n, t = _lists(3, -1, 1)
    _same(numtorch._foreach_norm(n, ord), torch._foreach_norm(t, ord))
    _same(numtorch._foreach_max(n), torch._foreach_max(t))
    _same(numtorch._foreach_pow(2.0, n), torch._foreach_pow(2.0, t))
    _same(numtorch._foreach_clone(n), torch._foreach_clone(t))


def test_zero_and_copy():
    n, t = _lists()
    src_n, src_t = _lists(5)
    assert numtorch._foreach_copy_(n, src_n) is n
    torch._foreach_copy_(t, src_t)
    _same(n, t)
    assert numtorch._foreach_zero_(n) is n
    assert all(not x.any() for x in n)


def test_list_errors_match_torch():
    n, t = _lists()
    cases = [("_foreach_add", lambda lib, xs: (xs, [lib.ones(2)])),
             ("_foreach_add", lambda lib, xs: (xs, [1.0])),
             ("_foreach_add", lambda lib, xs: ([], 1.0)),
             ("_foreach_mul_", lambda lib, xs: (xs, xs[:1])),
             ("_foreach_addcmul_", lambda lib, xs: (xs, xs, xs[:2]))]
    for name, make in cases:
        assert _outcome(getattr(numtorch, name), *make(numtorch, n)) == _outcome(
            getattr(torch, name), *make(torch, t)), name


def test_out_of_place_foreach_records_gradients():
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s) for s in SHAPES]
    n = [numtorch.tensor(a, requires_grad=True) for a in arrays]
    t = [torch.tensor(a, requires_grad=True) for a in arrays]
    outs_n = numtorch._foreach_mul(numtorch._foreach_sin(n), [2.0, 3.0, 4.0])
    outs_t = torch._foreach_mul(torch._foreach_sin(t), [2.0, 3.0, 4.0])
    sum(o.sum() for o in numtorch._foreach_add(outs_n, n)).backward()
    sum(o.sum() for o in torch._foreach_add(outs_t, t)).backward()
    for a, b in zip(n, t):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
