"""In-place changes under autograd that PyTorch handles specially (against torch)."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")


def _dirty_fn(lib):
    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return Double


@pytest.mark.parametrize("case", ["leaf", "non_leaf", "no_grad_leaf"])
def test_mark_dirty_matches_torch(case):
    def run(lib):
        fn = _dirty_fn(lib)
        x = lib.ones(2, requires_grad=True)
        try:
            if case == "leaf":
                fn.apply(x)
            elif case == "non_leaf":
                y = x.clone()
                z = fn.apply(y)
                z.sum().backward()
                return z is y, type(z.grad_fn).__name__, x.grad.tolist()
            else:
                with lib.no_grad():
                    return fn.apply(x).tolist()
        except RuntimeError as e:
            return str(e), x.detach().tolist()
        return None

    assert run(numtorch) == run(torch)


def _view_cases(lib):
    def inplace_on_view_then_base():
        x = lib.ones(2, 3, requires_grad=True)
        y = x * 2
        y[:, 0].mul_(3)
        (y * y).sum().backward()
        return x.grad, type(y.grad_fn).__name__

    def inplace_on_base_then_old_view():
        x = lib.ones(2, 3, requires_grad=True)
        y = x * 2
        v = y[:, 0]
        y.mul_(3)
        (v * lib.arange(2.0)).sum().backward()
        return (x.grad,)

    def unary_inplace_on_view_autograd_grad():
        x = lib.ones(2, 3, requires_grad=True)
        y = x * 2
        v = y[0]
        v.exp_()
        return (lib.autograd.grad(y.sum(), x)[0], type(y.grad_fn).__name__,
                type(v.grad_fn).__name__)

    def other_input_of_the_inplace_op():
        x = lib.ones(2, 3, requires_grad=True)
        w = lib.full((3,), 2.0, requires_grad=True)
        y = x.clone()
        y[1].mul_(w)
        y.sum().backward()
        return x.grad, w.grad

    def transposed_view_of_reshape():
        x = lib.arange(4.0, requires_grad=True)
        y = x * 1
        v = y.view(2, 2).t()
        v.add_(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
        (y ** 2).sum().backward()
        return x.grad, y.detach()

    def view_of_view_and_middle_view():
        x = lib.ones(3, 4, requires_grad=True)
        y = x * 1
        m = y[1:]
        v = m[:, 2]
        v.mul_(5)
        (m.sum() + y.sum() * 2).backward()
        return (x.grad,)

    def view_whose_base_does_not_require_grad():
        w = lib.full((2,), 3.0, requires_grad=True)
        y = lib.zeros(4)
        y[1:3].add_(w)
        (y * lib.arange(4.0)).sum().backward()
        return w.grad, y.requires_grad

    def complex_view():
        z = lib.tensor([1 + 2j, 3 - 1j, 0.5j], requires_grad=True)
        y = z * 1
        y[1:].mul_(2 - 1j)
        (y * y.conj()).real.sum().backward()
        return (z.grad,)

    return [inplace_on_view_then_base, inplace_on_base_then_old_view,
            unary_inplace_on_view_autograd_grad, other_input_of_the_inplace_op,
            transposed_view_of_reshape, view_of_view_and_middle_view,
            view_whose_base_does_not_require_grad, complex_view]


@pytest.mark.parametrize("k", range(8))
def test_inplace_on_views_matches_torch(k):
    ours = _view_cases(numtorch)[k]()
    theirs = _view_cases(torch)[k]()
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if isinstance(b, torch.Tensor):
            np.testing.assert_allclose(a.numpy(), b.resolve_conj().numpy(), rtol=1e-6)
            assert str(a.dtype) == str(b.dtype)
        else:
            assert a == b


def test_saved_view_value_modified_through_base_still_raises():
    def run(lib):
        x = lib.ones(2, 3, requires_grad=True)
        y = x * 2
        v = y[:, 1:]
        v.mul_(v)
        try:
            (y * lib.arange(6.0).view(2, 3)).sum().backward()
        except RuntimeError as e:
            return str(e).split(":")[0]
        return None
    assert run(numtorch) == run(torch) is not None


def test_backward_from_a_view_whose_base_changed_matches_torch():
    def run(lib):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        v = y[0:2]
        y.mul_(3)
        v.backward(lib.ones(2))
        return x.grad.tolist()
    assert run(numtorch) == run(torch)
