"""Behaviour fixes found in review of ops/: each test failed before its fix."""

import numpy as np
import pytest

import numtorch


def test_einsum_detects_inplace_change_of_saved_operand():
    x = numtorch.randn(3, 3, requires_grad=True)
    y = numtorch.einsum("ij,jk->ik", x, x)
    with numtorch.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_einsum_repeated_letter_gradient_is_on_the_diagonal():
    x = numtorch.randn(3, 3, requires_grad=True)
    numtorch.einsum("ii", x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.eye(3, dtype=np.float32))


def test_var_std_without_degrees_of_freedom_divide_by_zero_and_warn_like_torch():
    torch = pytest.importorskip("torch")
    for lib in (numtorch, torch):
        with pytest.warns(UserWarning, match=r"var\(\): degrees of freedom is <= 0"):
            v = lib.var(lib.tensor([1.0, 2.0]), correction=2)
        with pytest.warns(UserWarning, match=r"std\(\): degrees of freedom is <= 0"):
            s = lib.std(lib.tensor([[1.0, 1.0], [1.0, 3.0]]), dim=1, correction=2)
        assert np.isinf(v.item())  # not nan: the spread is not zero
        np.testing.assert_array_equal(np.isnan(s.numpy()), [True, False])


@pytest.mark.parametrize("fn", [
    lambda t, x, i: t.gather(x, 1, i),
    lambda t, x, i: x.scatter(1, i, 5.0),
    lambda t, x, i: x.scatter_add(1, i, t.ones(1, 1)),
])
def test_gather_scatter_reject_negative_index_like_torch(fn):
    torch = pytest.importorskip("torch")
    for lib in (numtorch, torch):
        x = lib.arange(6.0).reshape(2, 3)
        with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 1 with "
                                               "size 3"):
            fn(lib, x, lib.tensor([[-1]]))
        with pytest.raises(RuntimeError, match="index 3 is out of bounds"):
            fn(lib, x, lib.tensor([[3]]))


def test_fmod_and_remainder_record_gradients_named_like_torch():
    torch = pytest.importorskip("torch")
    for name in ("fmod", "remainder"):
        for other in (1.5, "tensor"):
            names = []
            for lib in (numtorch, torch):
                a = lib.tensor([5.5, -3.0], requires_grad=True)
                b = lib.tensor([2.0, 2.0], requires_grad=True) if other == "tensor" else other
                out = getattr(lib, name)(a, b)
                out.sum().backward()
                names.append(type(out.grad_fn).__name__)
                np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0])
            assert names[0] == names[1]


@pytest.mark.parametrize("fn", [
    lambda t: t.tensor([1, 2]).logsumexp(0),
    lambda t: t.tensor([1, 5]).clamp(0.5, 2.5),
    lambda t: t.atan2(t.tensor([1]), t.tensor([2])),
    lambda t: t.where(t.tensor([True, False]), 1.0, 0),
], ids=["logsumexp", "clamp", "atan2", "where"])
def test_integer_inputs_give_default_float_dtype_like_torch(fn):
    torch = pytest.importorskip("torch")
    a, b = fn(numtorch), fn(torch)
    assert str(a.dtype) == str(b.dtype) == "torch.float32"
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_var_std_of_integers_raise_like_torch():
    for fn in (numtorch.var, numtorch.std):
        with pytest.raises(RuntimeError, match="std and var only support floating point"):
            fn(numtorch.tensor([1, 2]))


def test_diag_of_a_vector_is_recorded_as_diag_embed_like_torch():
    torch = pytest.importorskip("torch")
    names = {type(lib.diag(lib.ones(3, requires_grad=True), 1).grad_fn).__name__
             for lib in (numtorch, torch)}
    assert names == {"DiagEmbedBackward0"}


@pytest.mark.parametrize("fn", [
    lambda t, a, o: t.add(a, 1, out=o), lambda t, a, o: t.mul(a, 2, out=o),
    lambda t, a, o: t.div(a, 2, rounding_mode="floor", out=o), lambda t, a, o: t.exp(a, out=o),
    lambda t, a, o: t.clamp(a, t.zeros(2), out=o),
], ids=["add", "mul", "div_floor", "exp", "clamp_tensor"])
def test_out_refuses_inputs_that_require_grad_and_writes_without_grad(fn):
    torch = pytest.importorskip("torch")
    for lib in (numtorch, torch):
        a = lib.tensor([1.5, -2.5], requires_grad=True)
        with pytest.raises(RuntimeError, match=r"out=\.\.\. arguments don't support automatic"):
            fn(lib, a, lib.empty(2))
    results = []
    for lib in (numtorch, torch):
        o = lib.empty(2)
        assert fn(lib, lib.tensor([1.5, -2.5]), o) is o  # the result lands in ``out``
        results.append(o.numpy())
    np.testing.assert_allclose(*results)


@pytest.mark.parametrize("fn", [
    lambda t, f, d: t.bmm(d[None], f[None]), lambda t, f, d: t.mv(f, d[0]),
    lambda t, f, d: t.matmul(d[None], f), lambda t, f, d: t.matmul(t.ones(2, 2).long()[None], f),
    lambda t, f, d: t.addmm(f, d, f), lambda t, f, d: t.addmm(d, f, f),
], ids=["bmm", "mv", "matmul", "matmul_long", "addmm_mat1", "addmm_self"])
def test_matrix_products_refuse_mixed_dtypes_like_torch(fn):
    torch = pytest.importorskip("torch")
    messages = []
    for lib in (numtorch, torch):
        f, d = lib.ones(2, 2), lib.ones(2, 2, dtype=lib.float64)
        with pytest.raises(RuntimeError) as err:
            fn(lib, f, d)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
