"""nn.Fold / nn.Unfold (F.fold/F.unfold on the declared-op path: differentiable twice) and
Conv3d / F.conv3d (composed of conv2d) against torch."""

import numpy as np
import pytest
from oracle import check_grad_fd, check_op

import numtorch
import numtorch.nn as nn
import numtorch.nn.functional as F

torch = pytest.importorskip("torch")


def _outcome(fn, *args, **kwargs):
    try:
        return ("ok", tuple(fn(*args, **kwargs).shape))
    except Exception as e:  # noqa: BLE001  (class and message are compared)
        return (type(e).__name__, str(e))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=(1, 2)),
                                dict(kernel_size=3, padding=1, dilation=2, stride=2)])
def test_unfold_fold_match_torch_including_second_order(kw):
    check_op(lambda t, x: t.nn.functional.unfold(x, **kw), [(2, 3, 7, 8)])
    out = torch.nn.functional.unfold(torch.zeros(2, 3, 7, 8), **kw)
    check_op(lambda t, x: t.nn.functional.fold(x, (7, 8), **kw), [tuple(out.shape)])
    # a non-linear use, so the second derivative is not zero
    check_op(lambda t, x: t.nn.functional.fold(t.nn.functional.unfold(x, **kw) ** 2, (7, 8),
                                               **kw), [(1, 2, 7, 8)])


def test_fold_unfold_gradients_are_differentiable():
    x = numtorch.randn(1, 2, 5, 5, dtype=numtorch.float64, requires_grad=True)
    y = F.unfold(x, 2, stride=1)
    (g,) = numtorch.autograd.grad((y ** 3).sum(), x, create_graph=True)
    assert g.grad_fn is not None
    (gg,) = numtorch.autograd.grad(g.sum(), x)
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    (gt,) = torch.autograd.grad((torch.nn.functional.unfold(xt, 2) ** 3).sum(), xt,
                                create_graph=True)
    (ggt,) = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_allclose(gg.numpy(), ggt.numpy(), rtol=1e-12)


def test_fold_unfold_modules_match_torch():
    for a, b in ((nn.Fold((4, 5), (2, 2)), torch.nn.Fold((4, 5), (2, 2))),
                 (nn.Unfold(3, padding=1), torch.nn.Unfold(3, padding=1)),
                 (nn.Unfold((2, 3), dilation=2, stride=(1, 2)),
                  torch.nn.Unfold((2, 3), dilation=2, stride=(1, 2)))):
        assert repr(a) == repr(b)
    x = np.random.default_rng(0).standard_normal((2, 8, 12)).astype(np.float32)
    np.testing.assert_allclose(nn.Fold((4, 5), (2, 2))(numtorch.tensor(x)).numpy(),
                               torch.nn.Fold((4, 5), (2, 2))(torch.tensor(x)).numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("args", [((2, 3, 4, 4), 2), ((2, 5, 6), (4, 5), 2, 1, 0, 1),
                                  ((2, 8, 5), (4, 5), 2)])
def test_fold_unfold_errors_match_torch(args):
    shape, *rest = args
    fn = "unfold" if len(rest) == 1 else "fold"
    assert _outcome(getattr(F, fn), numtorch.zeros(*shape), *rest) == _outcome(
        getattr(torch.nn.functional, fn), torch.zeros(*shape), *rest)


CONV3D_CASES = [
    ((2, 3, 5, 6, 7), (4, 3, 3, 2, 3), {}),
    ((2, 3, 5, 6, 7), (4, 3, 2, 3, 3), dict(stride=(2, 1, 2), padding=1)),
    ((1, 4, 6, 5, 5), (6, 2, 3, 3, 3), dict(groups=2, dilation=(2, 1, 1), padding=(2, 1, 0))),
    ((2, 3, 4, 5, 6), (2, 3, 3, 3, 3), dict(padding="same")),
    ((3, 5, 6, 7), (2, 3, 2, 2, 2), dict(stride=2)),  # unbatched
]


@pytest.mark.parametrize("xs,ws,kw", CONV3D_CASES)
def test_conv3d_matches_torch(xs, ws, kw):
    check_op(lambda t, x, w, b: t.nn.functional.conv3d(x, w, b, **kw), [xs, ws, (ws[0],)],
             gradgrad=False)
    check_grad_fd(lambda x, w: F.conv3d(x, w, **kw), [np.random.default_rng(1).standard_normal(s)
                                                      for s in (xs, ws)])


def test_conv3d_module_and_lazy_match_torch():
    x = np.random.default_rng(2).standard_normal((2, 4, 5, 6, 7)).astype(np.float32)
    for kw in (dict(), dict(stride=2, padding=1, bias=False), dict(padding_mode="reflect",
                                                                     padding=1)):
        a, b = nn.Conv3d(4, 6, (3, 2, 3), **kw), torch.nn.Conv3d(4, 6, (3, 2, 3), **kw)
        assert repr(a) == repr(b)
        a.load_state_dict({k: numtorch.tensor(v.detach().numpy())
                           for k, v in b.state_dict().items()})
        np.testing.assert_allclose(a(numtorch.tensor(x)).detach().numpy(),
                                   b(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    lazy, tl = nn.LazyConv3d(6, 3), torch.nn.LazyConv3d(6, 3)
    assert repr(lazy) == repr(tl)
    lazy(numtorch.tensor(x))
    tl(torch.tensor(x))
    assert repr(lazy) == repr(tl) and type(lazy) is nn.Conv3d


@pytest.mark.parametrize("xs,ws,kw", [((2, 3, 4, 4), (4, 3, 2, 2, 2), {}),
                                      ((1, 2, 4, 4, 4), (4, 3, 2, 2, 2), {}),
                                      ((1, 3, 2, 4, 4), (4, 3, 3, 2, 2), {})])
def test_conv3d_errors_match_torch(xs, ws, kw):
    assert _outcome(F.conv3d, numtorch.zeros(*xs), numtorch.zeros(*ws), **kw) == _outcome(
        torch.nn.functional.conv3d, torch.zeros(*xs), torch.zeros(*ws), **kw)


@pytest.mark.parametrize("dtypes", [("float32", "float64", None), ("float64", "float32", None),
                                    ("float32", "float32", "float64"),
                                    ("float64", "float64", "float32")])
def test_conv3d_dtype_mismatch_errors_match_torch(dtypes):
    """A weight or bias of another dtype than the input raises as in PyTorch (a float64 bias
    would otherwise promote the float32 result)."""
    xd, wd, bd = dtypes

    def call(lib, f):
        bias = None if bd is None else lib.zeros(4, dtype=getattr(lib, bd))
        return _outcome(f, lib.zeros(1, 3, 4, 4, 4, dtype=getattr(lib, xd)),
                        lib.zeros(4, 3, 2, 2, 2, dtype=getattr(lib, wd)), bias)

    assert call(numtorch, F.conv3d) == call(torch, torch.nn.functional.conv3d)
