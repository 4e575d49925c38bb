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
