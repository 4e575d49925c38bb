"""Higher-order gradients (create_graph), the op declaration path and the leaf's weak
AccumulateGrad, against PyTorch."""

import gc
import tracemalloc
import warnings

import numpy as np
import pytest

import numtorch
from numtorch.autograd.node import Node
from numtorch.ops._util import attach

torch = pytest.importorskip("torch")


def _pair(data, dtype="float64"):
    a = np.asarray(data, dtype=dtype)
    return (numtorch.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True))


def _close(a, b, **kw):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **(kw or {"rtol": 1e-10}))


def test_grad_create_graph_second_and_third_derivative():
    (x, tx) = _pair([0.5, 1.0, 2.0])
    for lib, v in ((numtorch, x), (torch, tx)):
        y = (v ** 3 * v.sin()).sum()
        g, = lib.autograd.grad(y, v, create_graph=True)
        h, = lib.autograd.grad(g.sum(), v, create_graph=True)
        k, = lib.autograd.grad(h.sum(), v)
        if lib is numtorch:
            res = (g, h, k)
        else:
            ref = (g, h, k)
    for a, b in zip(res, ref):
        _close(a, b)
    assert res[0].grad_fn is not None and res[0].requires_grad
    assert not res[2].requires_grad


def test_backward_create_graph_accumulates_a_grad_with_history(monkeypatch):
    monkeypatch.setitem(numtorch.autograd._warned, "create_graph", False)
    (x, tx) = _pair([1.0, 2.0, 3.0])
    for v in (x, tx):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            (v.sin() * v.exp()).sum().backward(create_graph=True)
        assert any("reference cycle" in str(w.message) for w in caught) or v is tx
    assert type(x.grad.grad_fn).__name__ == type(tx.grad.grad_fn).__name__ == "CopyBackwards"
    _close(x.grad, tx.grad)
    for v in (x, tx):
        v.grad.sum().backward()  # accumulates d(sum grad)/dx into .grad, in place
    _close(x.grad, tx.grad)
    assert type(x.grad.grad_fn).__name__ == "CopyBackwards"
    for v in (x, tx):
        v.grad = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            (v * v).sum().backward(create_graph=True)  # numtorch warns once per process
            (v * v * v).sum().backward(create_graph=True)
    assert type(x.grad.grad_fn).__name__ == type(tx.grad.grad_fn).__name__ == "AddBackward0"
    _close(x.grad, tx.grad)


def test_gradient_penalty_and_hessian_vector_product():
    rng = np.random.default_rng(0)
    w0, x0, v0 = (rng.standard_normal(s) for s in ((3, 4), (5, 3), (3, 4)))
    out = {}
    for lib in (numtorch, torch):
        w = lib.tensor(w0, requires_grad=True)
        x = lib.tensor(x0, requires_grad=True)
        y = ((x.unsqueeze(2) * w).sum(1).tanh() ** 2).mean()
        gx, gw = lib.autograd.grad(y, (x, w), create_graph=True)
        penalty = ((gx * gx).sum(1).sqrt() - 1).pow(2).mean()
        hvp, = lib.autograd.grad((gw * lib.tensor(v0)).sum(), w, retain_graph=True)
        pw, = lib.autograd.grad(penalty, w)
        out[lib] = (gx, gw, hvp, pw)
    for a, b in zip(out[numtorch], out[torch]):
        _close(a, b)


def test_custom_function_under_create_graph():
    class Cube(numtorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 3 * x ** 2

    x = numtorch.tensor([1.0, 2.0], dtype=numtorch.float64, requires_grad=True)
    g, = numtorch.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    h, = numtorch.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), [3.0, 12.0])
    np.testing.assert_allclose(h.numpy(), [6.0, 12.0])


class _ArrayOnlyBackward(Node):
    """A hand-written node whose backward only knows arrays."""

    def backward(self, g):
        return (g * 2,)


def test_a_node_without_a_differentiable_formula_raises_when_differentiated_twice():
    x = numtorch.tensor([1.0, 2.0], requires_grad=True)
    y = attach(x._data * 2, _ArrayOnlyBackward(), x)
    g, = numtorch.autograd.grad((y * y).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [8.0, 16.0])
    with pytest.raises(RuntimeError, match="_ArrayOnlyBackward is not implemented with "
                                           "differentiable operations"):
        g.sum().backward()


def test_gradgradcheck():
    x = numtorch.tensor(np.linspace(0.3, 1.2, 4), requires_grad=True)
    y = numtorch.tensor(np.linspace(-1.0, 1.0, 4), requires_grad=True)
    assert numtorch.autograd.gradgradcheck(lambda a, b: (a * b.exp()).sin() / a, (x, y))

    class WrongSecond(numtorch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, g):
            a, = ctx.saved_tensors
            return g * 3 * a.detach() ** 2  # right first derivative, no second

    assert numtorch.autograd.gradcheck(WrongSecond.apply, (x,))
    assert not numtorch.autograd.gradgradcheck(WrongSecond.apply, (x,), raise_exception=False)
    with pytest.raises(numtorch.autograd.GradcheckError):
        numtorch.autograd.gradgradcheck(WrongSecond.apply, (x,))


# ---------------------------------------------------------------------------- leaves
def test_leaf_holds_its_accumulate_grad_weakly():
    x = numtorch.randn(3, requires_grad=True)
    tx = torch.randn(3, requires_grad=True)
    for v in (x, tx):
        assert v.grad_fn is None
        y, z = v * 2, v * 3
        acc = y.grad_fn.next_functions[0][0]
        assert type(acc).__name__ == "AccumulateGrad"
        assert z.grad_fn.next_functions[0][0] is acc
        assert acc.variable is v


def test_dropping_a_leaf_frees_it_without_the_cyclic_collector():
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        peaks = []
        for i in range(40):
            x = numtorch.randn(2_500_000, requires_grad=True)
            (x * 2).sum().backward()
            if i in (4, 39):
                peaks.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.stop()
    finally:
        gc.enable()
    # one leaf of 10 MB (float32) and its grad alive at a time: memory stays flat
    assert peaks[1] - peaks[0] < 5_000_000, peaks


# ---------------------------------------------------------------------------- in-place checks
def test_scalar_power_output_modified_in_place_raises_as_torch():
    for lib in (numtorch, torch):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = 2 ** x
        assert type(y.grad_fn).__name__ == "PowBackward2"
        y.exp_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_where_condition_modified_in_place_raises_as_torch():
    for lib in (numtorch, torch):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        cond = x.detach() > 0
        y = lib.where(cond, x, x * 2)
        cond.fill_(False)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


# ---------------------------------------------------------------------------- quiet values
@pytest.mark.parametrize("fn", [
    lambda t, x: x.sqrt(), lambda t, x: x.log(), lambda t, x: x.rsqrt(),
    lambda t, x: x.log2(), lambda t, x: x ** 0.5, lambda t, x: x.reciprocal(),
], ids=["sqrt", "log", "rsqrt", "log2", "pow_half", "reciprocal"])
def test_gradient_at_zero_is_inf_or_nan_silently(fn):
    grads = []
    for lib in (numtorch, torch):
        x = lib.tensor([0.0, 1.0], requires_grad=True)
        fn(lib, x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("case", ["gather_index", "max_indices", "sort_indices",
                                  "topk_indices"])
def test_index_operands_modified_in_place_raise_as_torch(case):
    for lib in (numtorch, torch):
        x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], requires_grad=True)
        if case == "gather_index":
            idx = lib.tensor([[2, 0], [1, 1]])
            y = x.gather(1, idx)
            idx.fill_(0)
        elif case == "max_indices":
            y, idx = x.max(1)
            idx.fill_(0)
        else:
            y, idx = x.sort(1) if case == "sort_indices" else x.topk(2, 1)
            idx.fill_(0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@pytest.mark.parametrize("op", ["lgamma", "erfinv", "digamma", "logit"])
def test_saved_input_of_special_functions_modified_in_place_raises_as_torch(op):
    for lib in (numtorch, torch):
        leaf = lib.tensor([0.3, 0.6, 0.2], dtype=lib.float64, requires_grad=True)
        x = leaf * 1
        y = getattr(x, op)()
        x.add_(0.1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@pytest.mark.parametrize("case", ["exp", "expm1", "sinh", "cosh", "sum_f16", "softmax_inf",
                                  "log_softmax_inf", "mse_overflow"])
def test_overflow_values_are_quiet_and_equal_torch(case):
    def run(lib):
        f32 = lib.float32
        if case == "sum_f16":
            return lib.tensor([60000.0] * 4, dtype=lib.float16).sum()
        if case in ("softmax_inf", "log_softmax_inf"):
            x = lib.tensor([float("inf"), 1.0], requires_grad=True)
            y = getattr(x, case.split("_inf")[0])(0)
            y.sum().backward()
            return lib.cat([y.detach(), x.grad])
        if case == "mse_overflow":
            x = lib.tensor([1e30], requires_grad=True)
            y = lib.nn.functional.mse_loss(x, lib.tensor([-1e30]))
            y.backward()
            return lib.cat([y.detach().reshape(1), x.grad])
        x = lib.tensor([100.0, -100.0, 1.0], dtype=f32, requires_grad=True)
        y = getattr(x, case)()
        y.sum().backward()
        return lib.cat([y.detach(), x.grad])
    np.testing.assert_allclose(run(numtorch).numpy(), run(torch).numpy(), rtol=1e-6)


def test_in_place_op_saving_its_output_then_modified_raises_as_torch():
    for lib in (numtorch, torch):
        leaf = lib.tensor([0.5, 1.0], requires_grad=True)
        x = leaf * 1
        x.exp_()
        x.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            x.sum().backward()


def test_in_place_index_add_masked_fill_scatter_record_the_source_gradient():
    grads = []
    for lib in (numtorch, torch):
        x = lib.zeros(3, 2, requires_grad=True)
        s = lib.ones(2, 2, requires_grad=True)
        y = (x * 1).index_add_(0, lib.tensor([0, 2]), s * 3)
        z = (x * 1).masked_fill_(lib.tensor([True, False]).expand(3, 2), s[0, 0] * 2)
        w = (x * 1).scatter_(1, lib.tensor([[1], [0], [1]]), s[:, :1].repeat(2, 1)[:3] * 5)
        (y.sum() + z.sum() + w.sum()).backward()
        grads.append((x.grad.tolist(), s.grad.tolist()))
    assert grads[0] == grads[1]


def test_zero_dim_transpose_and_unfold_record_as_torch():
    for lib in (numtorch, torch):
        x = lib.tensor(2.0, requires_grad=True)
        y, z = x.transpose(0, 0), x.unfold(0, 1, 1)
        assert type(y.grad_fn).__name__ == "TransposeBackward0"
        assert type(z.grad_fn).__name__ == "UnfoldBackward0"
        (y + z.sum()).backward()
        assert x.grad.item() == 2.0
