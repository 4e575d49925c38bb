"""torch.utils.checkpoint: same gradients as without it, less peak memory, torch's warnings."""

import tracemalloc
import warnings

import numpy as np
import pytest

import numtorch
from numtorch.utils import checkpoint as ck

torch = pytest.importorskip("torch")


def _mlp(lib, width=16, depth=4, dropout=0.0):
    lib.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [lib.nn.Linear(width, width), lib.nn.Tanh()]
        if dropout:
            layers.append(lib.nn.Dropout(dropout))
    return lib.nn.Sequential(*layers)


def _copy_weights(src, dst):
    for p, q in zip(src.parameters(), dst.parameters()):
        q.data = numtorch.tensor(p.detach().numpy().copy())


def _run(lib, net, x, mode):
    cp = lib.utils.checkpoint
    for p in net.parameters():
        p.grad = None
    xi = x.clone().requires_grad_()
    lib.manual_seed(7)
    if mode == "plain":
        y = net(xi)
    elif mode in ("reentrant", "non_reentrant"):
        y = cp.checkpoint(net, xi, use_reentrant=mode == "reentrant")
    else:
        y = cp.checkpoint_sequential(net, 3, xi, use_reentrant=mode == "seq_reentrant")
    (y * y).sum().backward()
    return (type(y.grad_fn).__name__, y.detach().numpy().copy(), xi.grad.numpy().copy(),
            [p.grad.numpy().copy() for p in net.parameters()])


@pytest.mark.parametrize("mode", ["reentrant", "non_reentrant", "seq_reentrant",
                                  "seq_non_reentrant"])
def test_gradients_match_torch(mode):
    tnet = _mlp(torch)
    nnet = _mlp(numtorch)
    _copy_weights(tnet, nnet)
    x = np.random.default_rng(0).standard_normal((5, 16)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's reentrant "None of the inputs"
        t = _run(torch, tnet, torch.tensor(x), mode)
    n = _run(numtorch, nnet, numtorch.tensor(x), mode)
    assert n[0] == t[0]
    for a, b in zip([n[1], n[2], *n[3]], [t[1], t[2], *t[3]]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert a.dtype == b.dtype


@pytest.mark.parametrize("mode", ["reentrant", "non_reentrant", "seq_reentrant",
                                  "seq_non_reentrant"])
def test_dropout_inside_gives_same_gradient(mode):
    net = _mlp(numtorch, dropout=0.5)
    x = numtorch.randn(6, 16)
    plain = _run(numtorch, net, x, "plain")
    checked = _run(numtorch, net, x, mode)
    for a, b in zip([plain[1], plain[2], *plain[3]], [checked[1], checked[2], *checked[3]]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_without_preserved_rng_state_dropout_differs():
    net = _mlp(numtorch, dropout=0.5)
    x = numtorch.randn(6, 16)
    plain = _run(numtorch, net, x, "plain")
    for p in net.parameters():
        p.grad = None
    numtorch.manual_seed(7)
    xi = x.clone().requires_grad_()
    ck.checkpoint(net, xi, use_reentrant=False, preserve_rng_state=False).pow(2).sum().backward()
    assert not np.allclose(plain[2], xi.grad.numpy())


def test_use_reentrant_warning_matches_torch():
    for lib in (numtorch, torch):
        x = lib.ones(3, requires_grad=True)
        with pytest.warns(UserWarning) as rec:
            y = lib.utils.checkpoint.checkpoint(lambda a: a * 2, x)
        assert type(y.grad_fn).__name__ == "CheckpointFunctionBackward"  # None means True
        with pytest.warns(UserWarning) as rec_seq:
            lib.utils.checkpoint.checkpoint_sequential([lambda a: a * 2], 1, x)
        if lib is numtorch:
            ours = str(rec[0].message), str(rec_seq[0].message)
        else:
            assert (str(rec[0].message), str(rec_seq[0].message)) == ours


def test_reentrant_without_inputs_requiring_grad_warns():
    for lib in (numtorch, torch):
        with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
            y = lib.utils.checkpoint.checkpoint(lambda a: a * 2, lib.ones(2), use_reentrant=True)
        assert not y.requires_grad


def test_non_reentrant_with_parameters_only_and_autograd_grad():
    for lib in (numtorch, torch):
        lib.manual_seed(0)
        lin = lib.nn.Linear(3, 2)
        x = lib.ones(4, 3)
        y = lib.utils.checkpoint.checkpoint(lin, x, use_reentrant=False)
        assert y.requires_grad
        (gw,) = lib.autograd.grad(y.sum(), [lin.weight])
        np.testing.assert_allclose(gw.numpy(), np.full((2, 3), 4.0))


def test_non_reentrant_input_modified_in_place_raises():
    x = numtorch.ones(3, requires_grad=True)
    h = x * 1
    y = ck.checkpoint(lambda a: (a * a).sum(), h, use_reentrant=False)
    with numtorch.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def _peak(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_checkpoint_lowers_peak_memory(use_reentrant):
    net = _mlp(numtorch, width=256, depth=16)
    x = numtorch.randn(2048, 256, requires_grad=True)  # 2 MB per activation, 32 of them

    def plain():
        net(x).pow(2).mean().backward()

    def checkpointed():
        ck.checkpoint_sequential(net, 4, x, use_reentrant=use_reentrant).pow(2).mean().backward()

    for p in net.parameters():
        p.grad = None
    base = _peak(plain)
    grads = [p.grad.numpy().copy() for p in net.parameters()]
    for p in net.parameters():
        p.grad = None
    low = _peak(checkpointed)
    for g, p in zip(grads, net.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-5, atol=1e-7)
    assert low < 0.75 * base, (low, base)
