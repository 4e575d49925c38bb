"""Gradients that several consumers send to one output: summed in arrival order when the node
runs, or (ReLU) added inside the node's own backward pass; the same values either way."""

import numpy as np
import pytest

import numtorch
from numtorch.ops import elementwise as ew

torch = pytest.importorskip("torch")

SHAPE = (4, 16, 16, 16)  # large enough for the compiled ReLU kernels


def _inputs(dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(SHAPE).astype(dtype)
    x[0, 0, 0, :4] = 0.0  # ReLU's edge: no gradient through a zero result
    cs = [rng.standard_normal(SHAPE).astype(dtype) for _ in range(3)]
    return x, cs


def _relu_two_consumers(lib, x, cs, consumers=2, hook=None, retain=False):
    xt = lib.tensor(x, requires_grad=True)
    y = lib.relu(xt * 1)
    if hook is not None:
        y.register_hook(hook)
    if retain:
        y.retain_grad()
    loss = sum((y * lib.tensor(c)).sum() for c in cs[:consumers])
    loss.backward()
    return xt.grad.numpy(), y


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts the ReLU backward passes that added the two gradients themselves."""
    calls = []
    fn = ew._relu_backward_sum

    def counting(node, terms):
        out = fn(node, terms)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(ew.relu.node, "_backward_sum", counting)
    return calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_with_two_consumers_matches_torch_bitwise(dtype, fused_calls):
    x, cs = _inputs(dtype)
    got, _ = _relu_two_consumers(numtorch, x, cs)
    want, _ = _relu_two_consumers(torch, x, cs)
    assert fused_calls == [True]
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_sum_gives_the_bits_of_the_separate_sum(dtype, monkeypatch):
    x, cs = _inputs(dtype, seed=1)
    fused, _ = _relu_two_consumers(numtorch, x, cs)
    monkeypatch.setattr(ew.relu.node, "_backward_sum", None)
    separate, _ = _relu_two_consumers(numtorch, x, cs)
    np.testing.assert_array_equal(fused, separate)


def test_three_consumers_are_summed_in_order(fused_calls):
    x, cs = _inputs(np.float32, seed=2)
    got, _ = _relu_two_consumers(numtorch, x, cs, consumers=3)
    want, _ = _relu_two_consumers(torch, x, cs, consumers=3)
    assert fused_calls == [False]  # declined: the sum is taken first
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_hooks_and_retain_grad_see_the_summed_gradient(fused_calls):
    x, cs = _inputs(np.float32, seed=3)
    seen = []
    got, y = _relu_two_consumers(numtorch, x, cs, hook=lambda g: seen.append(g.numpy().copy()),
                                 retain=True)
    want, ty = _relu_two_consumers(torch, x, cs, retain=True)
    assert fused_calls == []  # the summed gradient is needed: the ordinary path
    np.testing.assert_array_equal(seen[0], ty.grad.numpy())
    np.testing.assert_array_equal(y.grad.numpy(), ty.grad.numpy())
    np.testing.assert_array_equal(got, want)


def test_autograd_grad_and_create_graph_through_two_consumers(fused_calls):
    x, cs = _inputs(np.float64, seed=4)
    results = []
    for lib in (numtorch, torch):
        xt = lib.tensor(x, requires_grad=True)
        y = lib.relu(xt * xt)
        loss = (y * lib.tensor(cs[0])).sum() + (y * lib.tensor(cs[1])).sum()
        (gx,) = lib.autograd.grad(loss, xt, create_graph=True)
        (ggx,) = lib.autograd.grad((gx * gx).sum(), xt)
        results.append((gx.detach().numpy(), ggx.numpy()))
    assert fused_calls == []
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_non_contiguous_and_small_gradients_take_the_ordinary_path(fused_calls):
    rng = np.random.default_rng(5)
    for shape, transpose in (((64, 128), True), ((4, 8), False)):
        x = rng.standard_normal(shape).astype(np.float32)
        c = rng.standard_normal(shape[::-1] if transpose else shape).astype(np.float32)
        grads = []
        for lib in (numtorch, torch):
            xt = lib.tensor(x, requires_grad=True)
            y = lib.relu(xt * 1)
            second = (y.t() * lib.tensor(c)).sum() if transpose else (y * lib.tensor(c)).sum()
            ((y * 3).sum() + second).backward()
            grads.append(xt.grad.numpy())
        np.testing.assert_array_equal(*grads)
    assert fused_calls == [False, False]  # a transposed gradient, a small one: declined


def test_saved_result_modified_in_place_raises_as_without_fusion(monkeypatch):
    def run():
        xt = numtorch.tensor(_inputs(np.float32)[0], requires_grad=True)
        y = numtorch.relu(xt * 1)
        loss = (y * 2).sum() + (y * 3).sum()
        y.add_(1)
        with pytest.raises(RuntimeError) as err:
            loss.backward()
        return str(err.value)

    fused = run()
    monkeypatch.setattr(ew.relu.node, "_backward_sum", None)
    assert fused == run()
    assert "modified by an inplace operation" in fused
