"""``autograd.gradcheck``/``gradgradcheck`` themselves: they pass on right derivatives whatever
the memory layout of outputs and inputs, and catch wrong ones."""

import numpy as np
import pytest

import numtorch
from numtorch.autograd import gradcheck, gradgradcheck
from numtorch.autograd.gradcheck import GradcheckError


def _double(*shape):
    return numtorch.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)


def test_gradcheck_passes_through_a_transposed_output():
    # the output's array is a transposed view: its one-hot output gradients must still be set
    x = _double(3, 4)
    assert gradcheck(lambda t: t.t() * 2, (x,))
    assert gradcheck(lambda t: (t * t).t().exp(), (x,))


def test_gradcheck_perturbs_a_non_contiguous_input_in_place():
    # its Jacobian is not zero: a check that perturbed a copy would see zero and fail
    y = numtorch.tensor(np.random.default_rng(1).standard_normal((4, 3))).t().detach()
    y.requires_grad_()
    assert not y.is_contiguous()
    assert gradcheck(lambda t: t * t + t.sum(0), (y,))


def test_gradcheck_catches_a_wrong_backward():
    class WrongCube(numtorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x * x  # should be 3 x^2

    x = _double(2, 3)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(WrongCube.apply, (x,))
    assert not gradcheck(lambda t: WrongCube.apply(t).t(), (x,), raise_exception=False)
    # a column-major input gives a column-major output: both one-hot vectors and perturbations
    # must reach the arrays, or every Jacobian reads as zero and anything passes
    y = numtorch.tensor(np.random.default_rng(2).standard_normal((3, 2))).t().detach()
    y.requires_grad_()
    assert not gradcheck(WrongCube.apply, (y,), raise_exception=False)


def test_gradgradcheck_of_conv2d_whose_weight_gradient_is_not_contiguous():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 3, 3, 4)), rng.standard_normal((4, 3, 3, 3))

    def conv(lib):
        return lambda a, b: lib.nn.functional.conv2d(a, b, padding=1)

    assert torch.autograd.gradgradcheck(conv(torch), (torch.tensor(x, requires_grad=True),
                                                      torch.tensor(w, requires_grad=True)))
    assert gradgradcheck(conv(numtorch), (numtorch.tensor(x, requires_grad=True),
                                          numtorch.tensor(w, requires_grad=True)))
