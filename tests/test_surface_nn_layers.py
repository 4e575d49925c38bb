"""RMSNorm, pixel/channel shuffle, distance layers and the lazy modules against torch."""

import copy
import pickle

import numpy as np
import pytest
from oracle import check_grad_fd, check_op

import numtorch
import numtorch.nn as nn
import numtorch.nn.functional as F

torch = pytest.importorskip("torch")


def _outcome(fn, *args, **kwargs):
    try:
        out = fn(*args, **kwargs)
        return ("ok", tuple(out.shape))
    except Exception as e:  # noqa: BLE001  (class and message are compared)
        return (type(e).__name__, str(e))


# ------------------------------------------------------------------ rms_norm
@pytest.mark.parametrize("shape,normalized", [((2, 3, 4), (4,)), ((2, 3, 4), [3, 4]),
                                               ((5,), (5,))])
def test_rms_norm_matches_torch(shape, normalized):
    ns = tuple(normalized)
    check_op(lambda t, x, w: t.nn.functional.rms_norm(x, normalized, w), [shape, ns])
    check_op(lambda t, x: t.nn.functional.rms_norm(x, normalized, eps=1e-3), [shape])
    check_grad_fd(lambda x, w: F.rms_norm(x, normalized, w),
                  [np.random.default_rng(0).standard_normal(shape), np.ones(ns) * 1.5])


def test_rms_norm_grad_fn_and_errors_match_torch():
    x = numtorch.randn(2, 3, 4, requires_grad=True)
    assert type(F.rms_norm(x, (4,)).grad_fn).__name__ == "MulBackward0"
    tx = torch.randn(2, 3, 4)
    for args in (((3,),), ((3, 4), "w3"), (4,)):
        nargs = [a if a != "w3" else numtorch.ones(3) for a in args]
        targs = [a if a != "w3" else torch.ones(3) for a in args]
        assert _outcome(F.rms_norm, numtorch.tensor(tx.numpy()), *nargs) == _outcome(
            torch.nn.functional.rms_norm, tx, *targs)


def test_rmsnorm_module_matches_torch():
    for kwargs in ({}, {"eps": 1e-5}, {"elementwise_affine": False}):
        a, b = nn.RMSNorm([3, 4], **kwargs), torch.nn.RMSNorm([3, 4], **kwargs)
        assert repr(a) == repr(b)
        assert list(a.state_dict()) == list(b.state_dict())
        x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
        if a.weight is not None:
            w = np.linspace(0.5, 2, 12, dtype=np.float32).reshape(3, 4)
            a.weight.data = numtorch.tensor(w)
            b.weight.data = torch.tensor(w)
        np.testing.assert_allclose(a(numtorch.tensor(x)).detach().numpy(),
                                   b(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ shuffles
@pytest.mark.parametrize("shape,r", [((2, 8, 3, 3), 2), ((18, 2, 3), 3), ((1, 2, 4, 3, 2), 1)])
def test_pixel_shuffle_matches_torch(shape, r):
    check_op(lambda t, x: t.nn.functional.pixel_shuffle(x, r), [shape])
    a, b = nn.PixelShuffle(r), torch.nn.PixelShuffle(r)
    assert repr(a) == repr(b)


@pytest.mark.parametrize("shape,r", [((2, 2, 4, 6), 2), ((1, 6, 9), 3)])
def test_pixel_unshuffle_matches_torch_and_inverts_shuffle(shape, r):
    check_op(lambda t, x: t.nn.functional.pixel_unshuffle(x, r), [shape])
    x = numtorch.randn(*shape)
    assert numtorch.equal(F.pixel_shuffle(F.pixel_unshuffle(x, r), r), x)
    assert repr(nn.PixelUnshuffle(r)) == repr(torch.nn.PixelUnshuffle(r))


def test_channel_shuffle_matches_torch():
    check_op(lambda t, x: t.nn.functional.channel_shuffle(x, 3), [(2, 6, 3)])
    check_op(lambda t, x: t.nn.ChannelShuffle(2)(x), [(2, 4, 3, 2)])
    assert repr(nn.ChannelShuffle(2)) == repr(torch.nn.ChannelShuffle(2))


@pytest.mark.parametrize("fn,shape,arg", [
    ("pixel_shuffle", (2, 3), 2), ("pixel_shuffle", (2, 5, 3, 3), 2),
    ("pixel_shuffle", (8, 3, 3), 0), ("pixel_unshuffle", (2, 2, 3, 4), 2),
    ("pixel_unshuffle", (2, 2, 4, 3), 2), ("pixel_unshuffle", (2, 4), 2),
    ("channel_shuffle", (2, 5, 3), 3), ("channel_shuffle", (2, 6), 3)])
def test_shuffle_errors_match_torch(fn, shape, arg):
    assert _outcome(getattr(F, fn), numtorch.zeros(*shape), arg) == _outcome(
        getattr(torch.nn.functional, fn), torch.zeros(*shape), arg)


def test_distance_modules_match_torch():
    check_op(lambda t, a, b: t.nn.PairwiseDistance(p=1.5)(a, b), [(3, 4), (3, 4)])
    check_op(lambda t, a, b: t.nn.CosineSimilarity(dim=0)(a, b), [(3, 4), (3, 4)])


# ------------------------------------------------------------------ lazy modules
def _pair(name, *args, **kwargs):
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


@pytest.mark.parametrize("name,args,shape", [
    ("LazyLinear", (3,), (2, 5)), ("LazyConv1d", (4, 3), (2, 2, 7)),
    ("LazyConv2d", (4, 3), (1, 2, 5, 5)), ("LazyConv2d", (4, 3), (2, 5, 5)),
    ("LazyConvTranspose1d", (4, 3), (2, 2, 7)), ("LazyConvTranspose2d", (4, 3), (1, 2, 5, 5)),
    ("LazyBatchNorm1d", (), (4, 3)), ("LazyBatchNorm2d", (), (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2)), ("LazyInstanceNorm2d", (), (2, 3, 4, 4))])
def test_lazy_module_lifecycle_matches_torch(name, args, shape):
    a, b = _pair(name, *args)
    assert repr(a) == repr(b)
    assert a.has_uninitialized_params() and b.has_uninitialized_params()
    assert {k: repr(v) for k, v in a.state_dict().items()} == {
        k: repr(v) for k, v in b.state_dict().items()}
    assert isinstance(a.weight, nn.UninitializedParameter)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ya, yb = a(numtorch.tensor(x)), b(torch.tensor(x))
    assert type(a).__name__ == type(b).__name__  # became the ordinary class
    assert repr(a) == repr(b)
    assert not a.has_uninitialized_params() if hasattr(a, "has_uninitialized_params") else True
    assert type(a.weight) is nn.Parameter and a.weight.shape == tuple(b.weight.shape)
    assert tuple(ya.shape) == tuple(yb.shape)
    # with torch's parameters loaded, the outputs agree
    a.load_state_dict({k: numtorch.tensor(v.detach().numpy()) for k, v in b.state_dict().items()})
    np.testing.assert_allclose(a(numtorch.tensor(x)).detach().numpy(),
                               b(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_lazy_linear_initialize_parameters_default_init_bounds():
    m = nn.LazyLinear(50)
    m.initialize_parameters(numtorch.zeros(2, 16))
    assert type(m).__name__ == "LazyLinear" and m.in_features == 16  # class changes on forward
    w = m.weight.detach().numpy()
    assert w.shape == (50, 16) and np.abs(w).max() <= 0.25 and np.abs(w).max() > 0.2
    m(numtorch.zeros(1, 16))
    assert type(m) is nn.Linear


def test_uninitialized_parameter_errors_match_torch():
    a, b = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    with pytest.raises(RuntimeError) as ea:
        _ = a.weight.shape
    with pytest.raises(RuntimeError) as eb:
        _ = b.weight.shape
    assert str(ea.value) == str(eb.value)
    with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
        a.weight + 1
    assert repr(a.weight) == repr(b.weight) == "<UninitializedParameter>"
    assert repr(nn.LazyLinear(3, bias=False)) == repr(torch.nn.LazyLinear(3, bias=False))


def test_lazy_load_state_dict_materialises_from_checkpoint():
    ref = nn.Linear(5, 3)
    m = nn.LazyLinear(3)
    m.load_state_dict(ref.state_dict())
    assert type(m).__name__ == "LazyLinear" and m.weight.shape == (3, 5)
    assert numtorch.equal(m.weight, ref.weight)
    x = numtorch.randn(2, 5)
    assert numtorch.allclose(m(x), ref(x))
    bn = nn.LazyBatchNorm1d()
    bn.load_state_dict(nn.BatchNorm1d(4).state_dict())
    assert bn.running_mean.shape == (4,)


def test_lazy_module_copies_and_optimizer_after_forward():
    m = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
    clone = copy.deepcopy(m)
    assert isinstance(clone[0].weight, nn.UninitializedParameter)
    pickle.loads(pickle.dumps(m))
    m(numtorch.randn(3, 6))
    opt = numtorch.optim.SGD(m.parameters(), lr=0.1)
    loss = m(numtorch.randn(3, 6)).pow(2).sum()
    loss.backward()
    opt.step()
    assert [tuple(p.shape) for p in m.parameters()] == [(4, 6), (4,), (2, 4), (2,)]


def test_lazy_conv_rejects_wrong_rank_like_torch():
    a, b = _pair("LazyConv2d", 4, 3)
    assert _outcome(a, numtorch.zeros(2, 3)) == _outcome(b, torch.zeros(2, 3))
    a, b = _pair("LazyConv2d", 4, 3, groups=2)
    assert _outcome(a, numtorch.zeros(1, 3, 5, 5)) == _outcome(b, torch.zeros(1, 3, 5, 5))
