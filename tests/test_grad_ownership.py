"""The engine keeps an unshared gradient as ``.grad`` without copying it (as PyTorch steals
such a gradient); every gradient that something else can still reach is copied."""

import numpy as np
import pytest

import numtorch
from numtorch.autograd import node as node_module


@pytest.fixture
def copies(monkeypatch):
    """How many gradients AccumulateGrad copied (its plain ``backward``)."""
    count = []
    real = node_module.AccumulateGrad.backward

    def counting(self, grad):
        count.append(grad.shape)
        return real(self, grad)

    monkeypatch.setattr(node_module.AccumulateGrad, "backward", counting)
    return count


def test_fresh_gradients_of_a_linear_layer_are_kept_without_a_copy(copies):
    if not node_module._STEAL:
        pytest.skip("reference counts are not trusted on this Python")
    lin = numtorch.nn.Linear(5, 4)
    lin(numtorch.randn(3, 5)).sum().backward()
    assert copies == []
    assert lin.weight.grad.is_contiguous() and lin.weight.grad.shape == (4, 5)
    np.testing.assert_allclose(lin.bias.grad.numpy(), np.full(4, 3.0))


def test_one_gradient_reaching_two_leaves_is_copied_for_each(copies):
    a = numtorch.randn(4, 4, requires_grad=True)
    b = numtorch.randn(4, 4, requires_grad=True)
    (a + b).backward(numtorch.ones(4, 4) * 2)
    assert len(copies) == 2
    a.grad.add_(1)
    np.testing.assert_array_equal(b.grad.numpy(), np.full((4, 4), 2.0))


def test_a_gradient_the_user_passed_is_never_taken():
    a = numtorch.randn(16, requires_grad=True)
    g = numtorch.ones(4, 4)
    a.view(4, 4).backward(g)  # ViewBackward0 passes a view of g itself
    assert not np.shares_memory(a.grad.numpy(), g.numpy())
    a.grad.add_(1)
    np.testing.assert_array_equal(g.numpy(), np.ones((4, 4)))
    a.grad = None
    a.backward(g.view(16))  # the root itself is the leaf
    assert not np.shares_memory(a.grad.numpy(), g.numpy())


def test_a_gradient_held_by_a_hook_or_a_retained_graph_is_copied(copies):
    kept = []
    a = numtorch.randn(3, requires_grad=True)
    a.register_hook(lambda g: kept.append(g))
    (a * 2).sum().backward()
    a.grad.add_(1)
    np.testing.assert_array_equal(kept[0].numpy(), np.full(3, 2.0))
    w = numtorch.randn(3, requires_grad=True)
    y = (w * 1.5).sum()
    y.backward(retain_graph=True)
    first = w.grad
    y.backward()  # accumulates into the first .grad in place
    assert w.grad is first
    np.testing.assert_array_equal(w.grad.numpy(), np.full(3, 3.0, np.float32))


def test_split_gradients_of_one_buffer_are_copied(copies):
    a = numtorch.randn(3, requires_grad=True)
    b = numtorch.randn(3, requires_grad=True)
    numtorch.cat([a, b]).backward(numtorch.arange(6.0))
    np.testing.assert_array_equal(a.grad.numpy(), [0, 1, 2])
    np.testing.assert_array_equal(b.grad.numpy(), [3, 4, 5])
    assert len(copies) == 2


def test_a_gradient_of_the_wrong_shape_still_raises():
    x = numtorch.randn(4, requires_grad=True)
    accumulate = x._grad_accumulator()
    with pytest.raises(RuntimeError, match="invalid gradient"):
        accumulate.accumulate([np.ones(5, np.float32)])  # fresh, unshared, same strides
    assert x.grad is None


def test_post_accumulate_grad_hooks_run_when_the_gradient_is_kept(copies):
    if not node_module._STEAL:
        pytest.skip("reference counts are not trusted on this Python")
    lin = numtorch.nn.Linear(5, 4)
    seen = []
    handle = lin.weight.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.shape))
    lin(numtorch.randn(3, 5)).sum().backward()
    assert copies == [] and seen == [(4, 5)]
    handle.remove()
    lin.weight.grad = None
    lin(numtorch.randn(3, 5)).sum().backward()
    assert seen == [(4, 5)]
