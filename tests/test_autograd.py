"""Autograd semantics: graph structure, accumulation, hooks, grad modes and PyTorch's errors."""

import numpy as np
import pytest

import numtorch as torch


def leaf(*shape):
    return torch.randn(*shape, requires_grad=True)


def test_graph_structure_matches_pytorch_names():
    x, y = leaf(3), leaf(3)
    z = (x + y) * (y + 5)
    assert type(z.grad_fn).__name__ == "MulBackward0"
    (a, _), (b, _) = z.grad_fn.next_functions
    assert type(a).__name__ == type(b).__name__ == "AddBackward0"
    acc_x, _ = a.next_functions[0]
    acc_y1, _ = a.next_functions[1]
    acc_y2, _ = b.next_functions[0]
    assert type(acc_x).__name__ == "AccumulateGrad" and acc_x.variable is x
    assert acc_y1 is acc_y2 and acc_y1.variable is y
    assert b.next_functions[1] == (None, 0)
    assert x.is_leaf and not z.is_leaf and z.requires_grad
    assert x.grad_fn is None


def test_linear_records_addmm_over_t():
    x, w, b = torch.randn(2, 4), leaf(3, 4), leaf(3)
    out = torch.nn.functional.linear(x, w, b)
    fn = out.grad_fn
    assert type(fn).__name__ == "AddmmBackward0"
    names = [None if n is None else type(n).__name__ for n, _ in fn.next_functions]
    assert names == ["AccumulateGrad", None, "TBackward0"]


def test_gradients_accumulate_and_zero_grad_semantics():
    x = leaf(3)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 5.0))
    assert x.grad.dtype == torch.float32


def test_shared_input_gradients_do_not_alias():
    x, y = leaf(3), leaf(3)
    (x + y).sum().backward()
    x.grad.add_(1)
    np.testing.assert_allclose(y.grad.numpy(), np.ones(3))


def test_backward_twice_through_freed_graph_raises():
    x = leaf(3)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf(3)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.detach().numpy(), rtol=1e-6)


def test_inplace_on_saved_tensor_raises_version_error():
    x = leaf(3)
    y = x.exp()
    z = y.sum() + (y * 2).sum()
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_inplace_on_leaf_requiring_grad_raises():
    x = leaf(3)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with torch.no_grad():
        x.add_(1)  # allowed
    assert x.requires_grad


def test_inplace_on_non_leaf_rebases_history():
    x = leaf(3)
    y = x * 2
    y.add_(1)
    assert type(y.grad_fn).__name__ == "AddBackward0"
    y.relu_()
    (y * y).sum().backward()
    expected = 2 * np.maximum(2 * x.detach().numpy() + 1, 0) * 2
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_setitem_records_copyslices():
    x = leaf(4)
    y = x * 1
    v = leaf(2)
    y[1:3] = v
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1, 0, 0, 1])
    np.testing.assert_allclose(v.grad.numpy(), [1, 1])


def test_no_grad_records_nothing():
    x = leaf(3)
    with torch.no_grad():
        y = x * 2
    assert y.grad_fn is None and not y.requires_grad
    assert torch.is_grad_enabled()

    @torch.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with torch.set_grad_enabled(False):
        assert not (x + 1).requires_grad
    with torch.inference_mode():
        assert not (x + 1).requires_grad
    with torch.no_grad(), torch.enable_grad():
        assert (x + 1).requires_grad


def test_nothing_recorded_without_requires_grad():
    a = torch.randn(3)
    assert (a * 2 + 1).exp().grad_fn is None


def test_backward_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.ones(2).sum().backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (leaf(2) * 2).backward()
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (leaf(2) * 2).backward(torch.ones(3))


def test_backward_with_gradient_argument():
    x = leaf(3)
    (x * 2).backward(torch.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2, 4, 6])


def test_deep_chain_is_iterative():
    x = leaf(1)
    y = x
    for _ in range(10000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 10000], rtol=1e-3)


def test_retain_grad_and_hooks():
    x = leaf(3)
    y = x * 2
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 10)
    (y * 3).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), np.full(3, 3.0))
    np.testing.assert_allclose(seen[0], np.full(3, 3.0))
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 60.0))
    assert not (x * 2).retains_grad


def test_hook_can_be_removed():
    x = leaf(2)
    h = x.register_hook(lambda g: g * 0)
    h.remove()
    x.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1, 1])


def test_autograd_grad_returns_without_accumulating():
    x, y = leaf(3), leaf(3)
    z = (x * y).sum()
    gx, gy = torch.autograd.grad(z, (x, y))
    np.testing.assert_allclose(gx.numpy(), y.detach().numpy())
    np.testing.assert_allclose(gy.numpy(), x.detach().numpy())
    assert x.grad is None and y.grad is None
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        torch.autograd.grad((x * 2).sum(), [x, y])
    gx, gy = torch.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None


def test_autograd_grad_of_intermediate():
    x = leaf(3)
    h = x * 2
    out = (h * h).sum()
    (gh,) = torch.autograd.grad(out, h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy(), rtol=1e-6)


def test_detach_and_data():
    x = leaf(3)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 5.0
    assert x[0].item() == 5.0  # shares storage
    assert not x.data.requires_grad
    with pytest.raises(RuntimeError, match="requires grad"):
        x.numpy()


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2], requires_grad=True)
    y = leaf(2) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False


def test_custom_function():
    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x ** 3 * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return g * 3 * x ** 2 * ctx.k, None

    x = leaf(4)
    y = Cube.apply(x, 2.0)
    assert type(y.grad_fn).__name__ == "CubeBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy() ** 2, rtol=1e-5)


def test_multi_output_node_partial_use():
    x = leaf(6)
    a, b, c = x.chunk(3)
    assert a.grad_fn is b.grad_fn and b.output_nr == 1
    (b * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0, 2, 2, 0, 0])


def test_max_dim_gradient_to_single_index_and_full_max_splits_ties():
    x = torch.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    x.max(1).values.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1, 0]])
    x.grad = None
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5]])


def test_relu_gradient_at_zero_is_zero():
    x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0, 1])


def test_gradcheck_helper():
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: (t.sin() * t).sum(), (x,))


def test_grad_assignment_checks():
    x = leaf(3)
    with pytest.raises(RuntimeError, match="different size"):
        x.grad = torch.zeros(4)
    x.grad = torch.zeros(3)
    x.grad = None


def test_float32_stays_float32():
    x = leaf(4)
    y = (x * 2.5 + 1).exp().log1p().sqrt() / 3 - x ** 2
    assert y.dtype == torch.float32
    y.sum().backward()
    assert x.grad.dtype == torch.float32


def test_inplace_on_view_of_leaf_raises_like_pytorch():
    w = leaf(3)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        w[0].add_(1)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        w.view(3).mul_(2)


def test_augmented_index_assignment_matches_torch():
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(0).standard_normal((3, 4))
    grads = []
    for lib in (torch, __import__("numtorch")):
        x = lib.tensor(x0, requires_grad=True)
        y = x * 2
        y[:, 0] += 1
        y[1] *= 3
        (y * y).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])


def test_base_used_after_view_changed_in_place_is_rebased():
    # PyTorch rebases the base's history (CopySlices); so does numtorch.
    x = leaf(3)
    b = x * 2
    b[0:2].mul_(2)
    (b * 1).sum().backward()
    assert type(b.grad_fn).__name__ == "CopySlices"
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0, 2.0])


@pytest.mark.parametrize("op", ["relu_", "tanh_", "sigmoid_", "exp_", "neg_", "sqrt_", "mul_"])
def test_recorded_inplace_ops_match_torch(op):
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(0).standard_normal((3, 4))
    grads = []
    for lib in (torch, __import__("numtorch")):
        x = lib.tensor(x0, requires_grad=True)
        w = lib.tensor(x0 * 0.5, requires_grad=True)
        y = x * 2
        y.add_(w)
        y.sub_(w, alpha=3)
        y = y.abs() if op == "sqrt_" else y
        getattr(y, op)(*((w,) if op == "mul_" else ()))
        (y * y).sum().backward()
        grads.append((x.grad.numpy().copy(), w.grad.numpy().copy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0])
    np.testing.assert_allclose(grads[0][1], grads[1][1])
