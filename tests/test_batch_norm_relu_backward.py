"""A ReLU applied to a training-mode batch norm's result leaves its backward to the batch norm
(``engine._apply_into``, ``ops/normalization.py`` ``_bn_relu_backward``): the mask recomputed
from the batch norm's input gives the gradients of the separate passes, bit for bit, and
PyTorch's values; anything that could make the recomputed mask differ from the ReLU's result
(the result modified in place, hooks, other consumers) takes the ordinary path."""

import numpy as np
import pytest
from conftest import skip_without_numba

import numtorch
from numtorch.ops import _jit
from numtorch.ops import elementwise as ew
from numtorch.ops import normalization as norm_ops

torch = pytest.importorskip("torch")

SHAPE = (4, 6, 5, 5)


@pytest.fixture
def fused_calls(monkeypatch):
    """Whether each batch-norm backward given a ReLU's unmasked gradient finished it."""
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    calls = []
    fn = norm_ops._bn_relu_backward

    def counting(node, terms, result):
        out = fn(node, terms, result)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(norm_ops.NativeBatchNormBackward0, "_backward_relu", counting)
    return calls


def _inputs(dtype, shape=SHAPE, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    c = shape[1]
    w = (rng.random(c) + 0.5).astype(dtype)
    b = (rng.standard_normal(c) * 0.7).astype(dtype)  # shifts the mask away from xhat > 0
    cs = [rng.standard_normal(shape).astype(dtype) for _ in range(2)]
    return x, w, b, cs


def _bn_relu(lib, x, w, b, cs, consumers=1, affine=True, edit=None):
    """Input and parameter gradients of ``sum(relu(bn(x)) * c)`` over ``consumers`` c's."""
    xt = lib.tensor(x, requires_grad=True)
    params = [lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)]
    if not affine:
        params = []
    c = x.shape[1]
    rm, rv = lib.zeros(c, dtype=xt.dtype), lib.ones(c, dtype=xt.dtype)
    y = lib.nn.functional.batch_norm(xt, rm, rv, *(params or (None, None)), training=True)
    if edit is not None:
        y = edit(lib, y)
    o = lib.relu(y)
    loss = sum((o * lib.tensor(cc)).sum() for cc in cs[:consumers])
    loss.backward()
    return [xt.grad.numpy()] + [p.grad.numpy() for p in params]


def _check_close(got, want, dtype):
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(got, want):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("consumers", [1, 2])
def test_matches_torch_and_the_separate_passes_bitwise(monkeypatch, fused_calls, dtype, affine,
                                                       consumers):
    x, w, b, cs = _inputs(dtype)
    got = _bn_relu(numtorch, x, w, b, cs, consumers, affine)
    assert fused_calls == [True]
    want = _bn_relu(torch, x, w, b, cs, consumers, affine)
    _check_close(got, want, dtype)
    monkeypatch.setattr(ew.relu.node, "_backward_into", None)
    separate = _bn_relu(numtorch, x, w, b, cs, consumers, affine)
    assert fused_calls == [True]  # not asked again
    for a, s in zip(got, separate):
        np.testing.assert_array_equal(a, s)


def test_same_bits_on_one_and_two_threads_in_blocks(monkeypatch, fused_calls):
    x, w, b, cs = _inputs(np.float32, shape=(8, 6, 9, 9), seed=1)
    whole = _bn_relu(numtorch, x, w, b, cs, 2)
    monkeypatch.setattr(norm_ops, "_BN_SWEEP_BLOCKS", 1000)  # one channel per block
    monkeypatch.setattr(norm_ops, "_BN_THREADED_BYTES", 0)
    monkeypatch.setattr(numtorch._threads, "_requested", 2)  # two threads, both idle
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    blocks = _bn_relu(numtorch, x, w, b, cs, 2)
    assert fused_calls == [True, True]
    for a, s in zip(whole, blocks):
        np.testing.assert_array_equal(a, s)


def test_resnet_block_gradients_match_torch(fused_calls):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    w1 = (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32)
    w2 = (rng.standard_normal((8, 8, 3, 3)) * 0.2).astype(np.float32)
    shift = np.linspace(-0.5, 0.5, 8, dtype=np.float32)  # biases that move the masks
    grads = []
    for lib in (numtorch, torch):
        conv1 = lib.nn.Conv2d(3, 8, 3, padding=1, bias=False)
        conv2 = lib.nn.Conv2d(8, 8, 3, padding=1, bias=False)
        bn1, bn2 = lib.nn.BatchNorm2d(8), lib.nn.BatchNorm2d(8)
        with lib.no_grad():
            conv1.weight.copy_(lib.tensor(w1))
            conv2.weight.copy_(lib.tensor(w2))
            bn1.bias.copy_(lib.tensor(shift))
        xt = lib.tensor(x, requires_grad=True)
        stem = lib.relu(bn1(conv1(xt)))
        out = lib.relu(bn2(conv2(stem)) + stem)  # the stem's ReLU has two consumers
        out.square().sum().backward()
        grads.append([xt.grad.numpy(), conv1.weight.grad.numpy(), conv2.weight.grad.numpy(),
                      bn1.weight.grad.numpy(), bn1.bias.grad.numpy()])
    assert fused_calls == [True]
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def _add_in_place_without_grad(lib, y):
    with lib.no_grad():
        y.add_(0.25)
    return y


def _relu_in_place(lib, y):
    return lib.nn.functional.relu(y, inplace=True)


@pytest.mark.parametrize("edit", [_add_in_place_without_grad, _relu_in_place])
def test_result_modified_in_place_takes_the_ordinary_path(fused_calls, edit):
    x, w, b, cs = _inputs(np.float32, seed=3)
    got = _bn_relu(numtorch, x, w, b, cs, edit=edit)
    want = _bn_relu(torch, x, w, b, cs, edit=edit)
    assert fused_calls in ([], [False])
    _check_close(got, want, np.float32)


def test_hooks_other_consumers_and_eval_mode_take_the_ordinary_path(fused_calls):
    x, w, b, cs = _inputs(np.float32, seed=4)
    seen = []

    def hooked(lib, y):
        y.register_hook(lambda g: seen.append(g.numpy().copy()))
        return y

    def node_hooked(lib, y):
        y.grad_fn.register_hook(lambda gi, go: seen.append(go[0].numpy().copy()))
        return y

    for edit in (hooked, node_hooked):
        got = _bn_relu(numtorch, x, w, b, cs, edit=edit)
        want = _bn_relu(torch, x, w, b, cs, edit=edit)
        _check_close(got, want, np.float32)
        np.testing.assert_array_equal(seen[0], seen[1])  # the masked gradient, as in torch
        seen.clear()
    for lib in (numtorch, torch):  # the batch norm's result has a second consumer
        xt = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.batch_norm(xt, None, None, training=True)
        (lib.relu(y) * lib.tensor(cs[0])).sum().add((y * lib.tensor(cs[1])).sum()).backward()
        seen.append(xt.grad.numpy())
    np.testing.assert_allclose(seen[0], seen[1], rtol=1e-5, atol=1e-5)
    m = numtorch.nn.BatchNorm2d(SHAPE[1]).eval()
    xt = numtorch.tensor(x, requires_grad=True)
    numtorch.relu(m(xt)).sum().backward()
    assert fused_calls == []  # hooks, a second consumer, eval mode: never offered


@pytest.mark.parametrize("consumers", [1, 2])
def test_a_declined_deferral_is_resolved_to_the_relu_gradient(monkeypatch, consumers):
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    declined = []

    def decline(node, terms, result):
        declined.append(len(terms))
        return None

    monkeypatch.setattr(norm_ops.NativeBatchNormBackward0, "_backward_relu", decline)
    x, w, b, cs = _inputs(np.float32, seed=5)
    got = _bn_relu(numtorch, x, w, b, cs, consumers)
    assert declined == [consumers]
    monkeypatch.setattr(ew.relu.node, "_backward_into", None)
    separate = _bn_relu(numtorch, x, w, b, cs, consumers)
    for a, s in zip(got, separate):
        np.testing.assert_array_equal(a, s)
