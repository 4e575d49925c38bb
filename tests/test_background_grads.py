"""Leaf gradients computed on a helper thread while the backward walks on
(``autograd.engine.Background``: a convolution's weight gradient): the same bits as computed in
place, hooks and shared or non-leaf weights see plain arrays, errors reach the caller."""

import threading

import numpy as np
import pytest

import numtorch
from numtorch import _threads
from numtorch.autograd import engine
from numtorch.ops import conv

F = numtorch.nn.functional


@pytest.fixture
def two_threads(monkeypatch):
    """Two threads granted whatever the machine's load (the background path asks for them)."""
    before = numtorch.get_num_threads()
    numtorch.set_num_threads(2)
    monkeypatch.setattr(_threads, "workers", lambda: 2)
    yield
    numtorch.set_num_threads(before)


@pytest.fixture
def started(monkeypatch):
    """Counts the Background gradients started."""
    count = [0]
    real = engine.Background.__init__

    def counting(self, fn):
        count[0] += 1
        real(self, fn)

    monkeypatch.setattr(engine.Background, "__init__", counting)
    return count


def _block(seed=0, dtype=np.float32):
    """A ResNet-like stack's parameters and input (3x3 convolutions, batch norm, ReLU)."""
    rng = np.random.default_rng(seed)
    x = numtorch.tensor(rng.standard_normal((4, 16, 12, 12)).astype(dtype), requires_grad=True)
    w1 = numtorch.tensor(rng.standard_normal((16, 16, 3, 3)).astype(dtype) * 0.1,
                         requires_grad=True)
    w2 = numtorch.tensor(rng.standard_normal((8, 16, 3, 3)).astype(dtype) * 0.1,
                         requires_grad=True)
    gamma = numtorch.tensor(rng.uniform(0.5, 1.5, 16).astype(dtype), requires_grad=True)
    return x, w1, w2, gamma


def _step(x, w1, w2, gamma, weight=lambda w: w):
    h = F.conv2d(x, weight(w1), padding=1)
    h = F.relu(F.batch_norm(h, None, None, gamma, None, training=True))
    y = F.conv2d(h, w2, padding=1, stride=2)
    return (y * y).sum() + F.conv2d(h, w2, padding=1).sum()


def _grads(monkeypatch, background, make=_step, **kw):
    monkeypatch.setattr(conv, "_BACKGROUND_WEIGHT", background)
    params = _block(**kw)
    make(*params).backward()
    return [p.grad.numpy().copy() for p in params]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_background_weight_gradients_are_the_same_bits(monkeypatch, two_threads, started, dtype):
    """Every weight gradient is the bits of the gradient computed in place; the background path
    was taken (the stride-1 weights, the second one used twice)."""
    expected = _grads(monkeypatch, False, dtype=dtype)
    assert started[0] == 0
    got = _grads(monkeypatch, True, dtype=dtype)
    assert started[0] >= 2
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_background_gradient_against_torch(monkeypatch, two_threads, started):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(conv, "_BACKGROUND_WEIGHT", True)
    params = _block(1, np.float64)
    _step(*params).backward()
    assert started[0] >= 2
    tp = [torch.tensor(p.detach().numpy(), requires_grad=True) for p in params]
    tf = torch.nn.functional
    h = tf.conv2d(tp[0], tp[1], padding=1)
    h = tf.relu(tf.batch_norm(h, None, None, tp[3], None, training=True))
    y = tf.conv2d(h, tp[2], padding=1, stride=2)
    ((y * y).sum() + tf.conv2d(h, tp[2], padding=1).sum()).backward()
    for p, t in zip(params, tp):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_hooks_and_non_leaf_weights_see_arrays(monkeypatch, two_threads, started):
    """A hook on the weight (which changes its gradient), a post-accumulate hook, a module's
    full backward hook and a weight made by an op all get the finished gradient."""
    expected = _grads(monkeypatch, False, make=lambda x, w1, w2, g: _step(
        x, w1, w2, g, weight=lambda w: w * 1.5))
    got = _grads(monkeypatch, True, make=lambda x, w1, w2, g: _step(
        x, w1, w2, g, weight=lambda w: w * 1.5))
    assert started[0] >= 1
    for a, b in zip(got, expected):
        assert np.array_equal(a, b)

    monkeypatch.setattr(conv, "_BACKGROUND_WEIGHT", True)
    x, w1, w2, gamma = _block()
    seen = []
    w1.register_hook(lambda g: g * 2)
    w2.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.numpy().copy()))
    _step(x, w1, w2, gamma).backward()
    reference = _grads(monkeypatch, False)
    assert np.array_equal(w1.grad.numpy(), 2 * reference[1])
    assert len(seen) == 1 and np.array_equal(seen[0], reference[2])

    layer = numtorch.nn.Conv2d(16, 16, 3, padding=1, bias=False)
    outs = []
    layer.register_full_backward_hook(lambda m, gi, go: outs.append(gi[0].shape))
    layer(x).sum().backward()
    assert outs == [(4, 16, 12, 12)] and layer.weight.grad.shape == (16, 16, 3, 3)


def test_no_background_outside_a_plain_backward(monkeypatch, two_threads, started):
    """``autograd.grad`` and ``create_graph`` compute the weight gradient in place (the values
    are returned or recorded, not left to an AccumulateGrad node)."""
    monkeypatch.setattr(conv, "_BACKGROUND_WEIGHT", True)
    x, w1, w2, gamma = _block()
    gx, gw = numtorch.autograd.grad(_step(x, w1, w2, gamma), (x, w1))
    assert started[0] == 0 and gw.shape == w1.shape
    loss = _step(x, w1, w2, gamma)
    (gw2,) = numtorch.autograd.grad(loss, (w1,), create_graph=True)
    assert started[0] == 0
    # (recorded, the batch norm and ReLU backwards are other kernels: equal up to rounding)
    np.testing.assert_allclose(gw2.detach().numpy(), gw.numpy(), rtol=1e-5, atol=1e-5)
    (gw2 * gw2).sum().backward()
    assert w1.grad is not None


def test_a_failing_background_gradient_raises_and_leaves_things_usable(monkeypatch, two_threads,
                                                                       started):
    real = conv._conv_backward_weight_steps

    def failing(*args):
        raise ValueError("weight gradient failed")
        yield  # (a generator, as the real one)

    monkeypatch.setattr(conv, "_BACKGROUND_WEIGHT", True)
    monkeypatch.setattr(conv, "_conv_backward_weight_steps", failing)
    params = _block()
    with pytest.raises(ValueError, match="weight gradient failed"):
        _step(*params).backward()
    assert started[0] >= 1
    monkeypatch.setattr(conv, "_conv_backward_weight_steps", real)
    for p in params:
        p.grad = None
    _step(*params).backward()
    expected = _grads(monkeypatch, False)
    for p, e in zip(params, expected):
        assert np.array_equal(p.grad.numpy(), e)


def test_background_task_runs_on_the_caller_when_no_helper_took_it(monkeypatch):
    """``_threads.Background``: the value or the exception of ``fn``; where no helper takes it
    (here: none is started), ``result()`` runs it on the calling thread."""
    task = _threads.Background(lambda: 41 + 1)
    assert task.result() == 42

    monkeypatch.setattr(_threads._team, "start", lambda helpers, job: None)
    where = []
    task = _threads.Background(lambda: where.append(threading.get_ident()) or "done")
    assert not task.done()
    assert task.result() == "done" and where == [threading.get_ident()] and task.done()

    def boom():
        raise KeyError("inside")

    task = _threads.Background(boom)
    with pytest.raises(KeyError, match="inside"):
        task.result()


def test_the_permission_is_per_thread():
    """Only the thread running a plain backward may start background gradients: a hook on that
    thread sees the permission, another thread at the same moment does not, and neither does
    anyone once backward has returned."""
    seen = {}

    def hook(grad):
        seen["walker"] = engine.background_allowed()
        other = threading.Thread(target=lambda: seen.update(other=engine.background_allowed()))
        other.start()
        other.join()
        return grad

    x = numtorch.ones(3, requires_grad=True)
    y = x * 2
    y.register_hook(hook)
    y.sum().backward()
    assert seen == {"walker": True, "other": False}
    assert not engine.background_allowed()
    numtorch.autograd.grad((x * 2).sum(), x)  # (not plain: no permission inside, none after)
    assert not engine.background_allowed()
