"""Loss functions and modules: values and input/target gradients against PyTorch over the
option grids, numerical stability, errors, node names; float64 finite differences without torch."""

import itertools

import numpy as np
import pytest
from oracle import check_grad_fd, check_op

import numtorch

try:
    import torch
except ImportError:  # the finite-difference tests still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs torch as the oracle")
REDUCTIONS = ["none", "mean", "sum"]


def F(t):
    return t.nn.functional


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------- regression losses
REGRESSION = [
    ("mse", lambda r: lambda t, x, y: F(t).mse_loss(x, y, reduction=r)),
    ("l1", lambda r: lambda t, x, y: F(t).l1_loss(x, y, reduction=r)),
    ("smooth_l1", lambda r: lambda t, x, y: F(t).smooth_l1_loss(x, y, reduction=r)),
    ("smooth_l1_b0", lambda r: lambda t, x, y: F(t).smooth_l1_loss(x, y, reduction=r, beta=0.0)),
    ("smooth_l1_b05", lambda r: lambda t, x, y: F(t).smooth_l1_loss(x, y, reduction=r, beta=0.5)),
    ("huber", lambda r: lambda t, x, y: F(t).huber_loss(x, y, reduction=r)),
    ("huber_d05", lambda r: lambda t, x, y: F(t).huber_loss(x, y, reduction=r, delta=0.5)),
    ("huber_d2", lambda r: lambda t, x, y: F(t).huber_loss(x, y, reduction=r, delta=2.0)),
]


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,make", REGRESSION, ids=[r[0] for r in REGRESSION])
def test_regression_losses_match_torch(name, make, reduction):
    arrays = [rng(1).standard_normal((3, 4)) * 2, rng(2).standard_normal((3, 4))]
    check_op(make(reduction), arrays=arrays)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weighted_regression_losses_match_torch(name, reduction):
    w = rng(3).uniform(0.1, 2, (3, 4))

    def fn(t, x, y):
        return getattr(F(t), name)(x, y, reduction=reduction, weight=t.tensor(w, dtype=x.dtype))
    check_op(fn, arrays=[rng(1).standard_normal((3, 4)) * 2, rng(2).standard_normal((3, 4))])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,make", REGRESSION, ids=[r[0] for r in REGRESSION])
def test_regression_losses_finite_differences(name, make, reduction):
    fn = make(reduction)
    x, y = rng(1).standard_normal((3, 4)) * 2, rng(2).standard_normal((3, 4))
    check_grad_fd(lambda a, b: fn(numtorch, a, b), [x, y])


@needs_torch
def test_regression_broadcast_warns_as_torch():
    x, y = numtorch.randn(3, 4, requires_grad=True), numtorch.randn(4)
    with pytest.warns(UserWarning, match="different to the input size"):
        loss = F(numtorch).mse_loss(x, y)
    with pytest.warns(UserWarning):
        want = F(torch).mse_loss(torch.tensor(x.detach().numpy()), torch.tensor(y.numpy()))
    np.testing.assert_allclose(loss.item(), want.item(), rtol=1e-6)
    with pytest.raises(RuntimeError), pytest.warns(UserWarning):
        F(numtorch).l1_loss(numtorch.randn(3, 4), numtorch.randn(3, 5))


def test_weight_shape_must_match():
    with pytest.raises(ValueError, match="same size"):
        F(numtorch).mse_loss(numtorch.randn(3, 4), numtorch.randn(3, 4), weight=numtorch.ones(4))


# ---------------------------------------------------------------------------- nll / cross entropy
def _class_problem(shape, n_classes, seed, ignore=False):
    """Logits of ``shape`` (class dim 1, or 0 for 1-D) and matching int64 targets."""
    r = rng(seed)
    logits = r.standard_normal(shape) * 2
    tshape = () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])
    target = r.integers(0, n_classes, tshape).astype(np.int64)
    if ignore and target.ndim:
        target.reshape(-1)[::3] = 1  # ignore_index=1 in the tests below
    return logits, target


# Every option combination on (N, C); the other layouts with options all off and all on.
CE_GRID = list(itertools.product([(4, 5)], REDUCTIONS, [False, True], [-100, 1], [0.0, 0.2]))
CE_GRID += [(shape, r, *options) for shape in [(5,), (3, 5, 2), (2, 5, 3, 2)]
            for r in REDUCTIONS for options in [(False, -100, 0.0), (True, 1, 0.2)]]


def _ce_fn(reduction, use_weight, ignore_index, label_smoothing, w):
    def fn(t, x, y):
        weight = t.tensor(w, dtype=x.dtype) if use_weight else None
        return F(t).cross_entropy(x, y, weight=weight, ignore_index=ignore_index,
                                  reduction=reduction, label_smoothing=label_smoothing)
    return fn


@needs_torch
@pytest.mark.parametrize("shape,reduction,use_weight,ignore_index,smoothing", CE_GRID)
def test_cross_entropy_class_targets_match_torch(shape, reduction, use_weight, ignore_index,
                                                 smoothing):
    logits, target = _class_problem(shape, 5, seed=len(shape), ignore=ignore_index == 1)
    w = rng(9).uniform(0.2, 2.0, 5)
    check_op(_ce_fn(reduction, use_weight, ignore_index, smoothing, w), arrays=[logits, target])


@needs_torch
@pytest.mark.parametrize("shape,reduction,use_weight,ignore_index,smoothing",
                         [g[:4] + (0.0,) for g in CE_GRID if g[4] == 0.2 or g[0] == (4, 5)
                          and g[4] == 0.0])
def test_nll_loss_matches_torch(shape, reduction, use_weight, ignore_index, smoothing):
    logits, target = _class_problem(shape, 5, seed=len(shape) + 7, ignore=ignore_index == 1)
    w = rng(9).uniform(0.2, 2.0, 5)

    def fn(t, x, y):
        weight = t.tensor(w, dtype=x.dtype) if use_weight else None
        return F(t).nll_loss(x, y, weight=weight, ignore_index=ignore_index, reduction=reduction)
    check_op(fn, arrays=[logits, target])


@needs_torch
@pytest.mark.parametrize("shape", [(4, 5), (3, 5, 2), (5,)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets_match_torch(shape, reduction, use_weight, smoothing):
    logits = rng(5).standard_normal(shape)
    cdim = 1 if len(shape) > 1 else 0
    probs = np.exp(rng(6).standard_normal(shape))
    probs /= probs.sum(axis=cdim, keepdims=True)
    w = rng(9).uniform(0.2, 2.0, 5)
    check_op(_ce_fn(reduction, use_weight, -100, smoothing, w), arrays=[logits, probs])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_finite_differences(reduction, smoothing):
    logits, target = _class_problem((4, 5, 2), 5, seed=3, ignore=True)
    w = numtorch.tensor(rng(9).uniform(0.2, 2.0, 5))
    fn = _ce_fn(reduction, True, 1, smoothing, w.numpy())
    check_grad_fd(lambda x: fn(numtorch, x, numtorch.tensor(target)), [logits])
    probs = np.exp(rng(6).standard_normal((4, 5)))
    probs /= probs.sum(axis=1, keepdims=True)
    check_grad_fd(lambda x, p: fn(numtorch, x, p) if False else F(numtorch).cross_entropy(
        x, p, reduction=reduction, label_smoothing=smoothing), [rng(7).standard_normal((4, 5)),
                                                               probs])


def test_nll_loss_finite_differences():
    logits, target = _class_problem((6, 4), 4, seed=2)
    check_grad_fd(lambda x: F(numtorch).nll_loss(x, numtorch.tensor(target)), [logits])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_with_every_target_counted_is_the_general_path_bit_for_bit(dtype, reduction):
    # unweighted (N, C) rows whose targets are all classes take a shorter path; an in-range
    # ignore_index that no target uses sends the same problem down the general one
    logits = rng(3).standard_normal((37, 9)).astype(dtype)
    target = rng(4).integers(0, 8, 37)  # (class 8 is never a target)
    results = []
    for ignore_index in (-100, 8):
        x = numtorch.tensor(logits, requires_grad=True)
        loss = F(numtorch).cross_entropy(x, numtorch.tensor(target), reduction=reduction,
                                         ignore_index=ignore_index)
        (loss.sum() if reduction == "none" else loss).backward()
        (gg,) = numtorch.autograd.grad(
            F(numtorch).nll_loss(x * 1.0, numtorch.tensor(target), reduction="sum",
                                 ignore_index=ignore_index), x, create_graph=True)
        results.append((loss.detach().numpy(), x.grad.numpy(), gg.detach().numpy()))
    for fast, general in zip(*results):
        assert fast.dtype == general.dtype and np.array_equal(fast, general)


@needs_torch
def test_cross_entropy_graph_reads_as_torch():
    x = numtorch.randn(3, 4, requires_grad=True)
    loss = F(numtorch).cross_entropy(x, numtorch.tensor([0, 3, 1]))
    assert type(loss.grad_fn).__name__ == "NllLossBackward0"
    assert type(loss.grad_fn.next_functions[0][0]).__name__ == "LogSoftmaxBackward0"
    assert type(loss.grad_fn.next_functions[0][0].next_functions[0][0]).__name__ == \
        "AccumulateGrad"


@needs_torch
def test_cross_entropy_uint8_target():
    check_op(lambda t, x, y: F(t).cross_entropy(x, y),
             arrays=[rng(0).standard_normal((3, 4)), np.array([0, 3, 2], dtype=np.uint8)])


@needs_torch
@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_cross_entropy_extreme_logits_stay_finite(scale):
    logits = np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, 0.0], [0.0, 0.3, -1.0]]) * scale
    target = np.array([1, 1, 2])
    for smoothing in (0.0, 0.1):
        fn = _ce_fn("mean", False, -100, smoothing, None)
        check_op(fn, arrays=[logits, target])
        x = numtorch.tensor(logits.astype(np.float32), requires_grad=True)
        loss = fn(numtorch, x, numtorch.tensor(target))
        loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(x.grad.numpy()).all()


ERRORS = [
    ("float_target", (3, 4), np.array([0.0, 1.0, 2.0]), RuntimeError),
    ("int32_target", (3, 4), np.array([0, 1, 2], dtype=np.int32), RuntimeError),
    ("out_of_range", (3, 4), np.array([0, 1, 4]), IndexError),
    ("negative", (3, 4), np.array([0, -2, 1]), IndexError),
    ("batch_mismatch", (3, 4), np.array([0, 1]), ValueError),
    ("multi_target", (3, 4), np.array([[0, 1, 2], [0, 1, 2], [1, 1, 1]]), RuntimeError),
    ("kdim_shape", (2, 4, 3), np.zeros((2, 5), dtype=np.int64), RuntimeError),
    ("float_target_other_shape", (3, 4), np.zeros((3, 5), dtype=np.float32), RuntimeError),
]


@needs_torch
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("name,shape,target,exc", ERRORS, ids=[e[0] for e in ERRORS])
def test_class_target_errors_match_torch(loss, name, shape, target, exc):
    x = rng(0).standard_normal(shape).astype(np.float32)
    with pytest.raises(exc):
        getattr(F(torch), loss)(torch.tensor(x), torch.tensor(target))
    with pytest.raises(exc):
        getattr(F(numtorch), loss)(numtorch.tensor(x), numtorch.tensor(target))


def test_cross_entropy_option_errors():
    x, y = numtorch.randn(3, 4), numtorch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F(numtorch).cross_entropy(x, y, reduction="avg")
    with pytest.raises(RuntimeError, match="weight tensor should be defined"):
        F(numtorch).cross_entropy(x, y, weight=numtorch.ones(3))
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        F(numtorch).cross_entropy(x, numtorch.rand(3, 4), ignore_index=1)


@needs_torch
def test_legacy_size_average_and_reduce():
    x, y = rng(0).standard_normal((3, 4)), rng(1).standard_normal((3, 4))
    for size_average, reduce in [(False, None), (None, False), (True, True), (False, True)]:
        with pytest.warns(UserWarning):
            got = F(numtorch).mse_loss(numtorch.tensor(x), numtorch.tensor(y),
                                       size_average=size_average, reduce=reduce)
        with pytest.warns(UserWarning):
            want = F(torch).mse_loss(torch.tensor(x), torch.tensor(y),
                                     size_average=size_average, reduce=reduce)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------- binary losses
@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
def test_binary_cross_entropy_matches_torch(reduction, use_weight):
    probs = rng(1).uniform(0.02, 0.98, (3, 4))
    target = rng(2).uniform(0, 1, (3, 4))
    w = rng(3).uniform(0.5, 2, (4,))

    def fn(t, x, y):
        weight = t.tensor(w, dtype=x.dtype) if use_weight else None
        return F(t).binary_cross_entropy(x, y, weight=weight, reduction=reduction)
    check_op(fn, arrays=[probs, target])
    check_grad_fd(lambda x, y: fn(numtorch, x, y), [probs, target])


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_binary_cross_entropy_double_backward_is_pytorchs(reduction, use_weight, dtype):
    """The input gradient recorded under create_graph is one BinaryCrossEntropyBackwardBackward0
    node (edges: the loss's gradient, input, target) whose derivatives are PyTorch's double
    backward formulas (1e-12 added to x and 1 - x), not the derivative of the clamped
    quotient: that differed by ~3e-11 relative in float64. Third order too."""
    probs = rng(4).uniform(0.05, 0.95, (3, 5)).astype(dtype)
    target = rng(5).uniform(0, 1, (3, 5)).astype(dtype)
    w = rng(6).uniform(0.5, 2, (5,)).astype(dtype)
    upstream = rng(7).standard_normal(() if reduction != "none" else (3, 5)).astype(dtype)
    gg = rng(8).standard_normal((3, 5)).astype(dtype)
    got = {}
    for t in (numtorch, torch):
        x = t.tensor(probs, requires_grad=True)
        y = t.tensor(target, requires_grad=True)
        go = t.tensor(upstream, requires_grad=True)
        weight = t.tensor(w) if use_weight else None
        loss = F(t).binary_cross_entropy(x, y, weight=weight, reduction=reduction)
        gx, = t.autograd.grad(loss, x, go, create_graph=True)
        edges = [None if n is None else type(n).__name__ for n, _ in gx.grad_fn.next_functions]
        second = t.autograd.grad(gx, (go, x, y), t.tensor(gg), create_graph=True)
        third, = t.autograd.grad(second[1].sum(), x)
        got[t.__name__] = (type(gx.grad_fn).__name__, len(edges), gx.detach().numpy(),
                           [s.detach().numpy() for s in second], third.numpy())
    mine, theirs = got["numtorch"], got["torch"]
    assert mine[0] == theirs[0] == "BinaryCrossEntropyBackwardBackward0"
    assert mine[1] == theirs[1] == 3
    rtol = 1e-13 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(mine[2], theirs[2], rtol=rtol)
    for a, b in zip(mine[3], theirs[3]):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=0)
    np.testing.assert_allclose(mine[4], theirs[4], rtol=rtol * 10)


@needs_torch
def test_binary_cross_entropy_clamps_log_at_minus_100():
    probs = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    target = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    check_op(lambda t, x, y: F(t).binary_cross_entropy(x, y, reduction="none"),
             arrays=[probs, target], grad=False)
    x = numtorch.tensor(probs, requires_grad=True)
    F(numtorch).binary_cross_entropy(x, numtorch.tensor(target)).backward()
    xt = torch.tensor(probs, requires_grad=True)
    F(torch).binary_cross_entropy(xt, torch.tensor(target)).backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight,use_pos_weight", [(False, False), (True, False),
                                                       (False, True), (True, True)])
def test_bce_with_logits_matches_torch(reduction, use_weight, use_pos_weight):
    logits = rng(1).standard_normal((3, 4)) * 3
    target = rng(2).uniform(0, 1, (3, 4))
    w, pw = rng(3).uniform(0.5, 2, (3, 1)), rng(4).uniform(0.5, 3, (4,))

    def fn(t, x, y):
        return F(t).binary_cross_entropy_with_logits(
            x, y, weight=t.tensor(w, dtype=x.dtype) if use_weight else None,
            pos_weight=t.tensor(pw, dtype=x.dtype) if use_pos_weight else None,
            reduction=reduction)
    check_op(fn, arrays=[logits, target])
    check_grad_fd(lambda x, y: fn(numtorch, x, y), [logits, target])


@needs_torch
def test_bce_with_logits_extreme_logits():
    logits = np.array([-1e4, 1e4, -1e4, 1e4, 0.0])
    target = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    check_op(lambda t, x, y: F(t).binary_cross_entropy_with_logits(
        x, y, pos_weight=t.tensor([2.0], dtype=x.dtype), reduction="none"), arrays=[logits, target])


def test_binary_losses_errors():
    with pytest.raises(ValueError, match="different to the input size"):
        F(numtorch).binary_cross_entropy(numtorch.rand(3, 4), numtorch.rand(3, 1))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F(numtorch).binary_cross_entropy(numtorch.randn(3, 4) + 5, numtorch.rand(3, 4))
    with pytest.raises(ValueError, match="must be the same as input size"):
        F(numtorch).binary_cross_entropy_with_logits(numtorch.randn(3, 4), numtorch.rand(3, 1))


# ---------------------------------------------------------------------------- kl_div and margins
@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    logp = np.log(rng(1).dirichlet(np.ones(5), 3))
    q = rng(2).dirichlet(np.ones(5), 3)
    q[0, 0] = 0.0  # 0 * log 0 counts as 0
    if log_target:
        q = np.log(rng(2).dirichlet(np.ones(5), 3))

    def fn(t, x, y):
        return F(t).kl_div(x, y, reduction=reduction, log_target=log_target)
    if reduction == "mean":
        with pytest.warns(UserWarning, match="batchmean"):
            check_op(fn, arrays=[logp, q], grad=False)
        with pytest.warns(UserWarning, match="batchmean"):
            check_op(lambda t, x: fn(t, x, t.tensor(q)), arrays=[logp])
    else:
        check_op(fn, arrays=[logp, q] if log_target else [logp, q + 0.01])
        check_op(lambda t, x: fn(t, x, t.tensor(q)), arrays=[logp])
        check_grad_fd(lambda x, y: fn(numtorch, x, y), [logp, q + 0.01])


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_margin_losses_match_torch(reduction, margin):
    y = np.array([1.0, -1.0, 1.0, -1.0])
    check_op(lambda t, a, b: F(t).margin_ranking_loss(a, b, t.tensor(y, dtype=a.dtype),
                                                      margin=margin, reduction=reduction),
             [(4,), (4,)])
    check_op(lambda t, a, b: F(t).cosine_embedding_loss(a, b, t.tensor(y, dtype=a.dtype),
                                                        margin=margin, reduction=reduction),
             [(4, 3), (4, 3)])
    check_op(lambda t, a: F(t).soft_margin_loss(a, t.tensor(y, dtype=a.dtype),
                                                reduction=reduction), [(4,)])
    check_op(lambda t, a: F(t).hinge_embedding_loss(a, t.tensor(y, dtype=a.dtype),
                                                    margin=margin + 1, reduction=reduction),
             [(4,)])


# ---------------------------------------------------------------------------- node names
@needs_torch
@pytest.mark.parametrize("make", [
    lambda t, x, y: F(t).mse_loss(x, y), lambda t, x, y: F(t).mse_loss(x, y, reduction="none"),
    lambda t, x, y: F(t).l1_loss(x, y), lambda t, x, y: F(t).smooth_l1_loss(x, y),
    lambda t, x, y: F(t).huber_loss(x, y),
    lambda t, x, y: F(t).binary_cross_entropy(x.sigmoid(), y.sigmoid()),
    lambda t, x, y: F(t).binary_cross_entropy_with_logits(x, y.sigmoid()),
    lambda t, x, y: F(t).nll_loss(x, y.argmax(1)),
], ids=["mse", "mse_none", "l1", "smooth_l1", "huber", "bce", "bce_logits", "nll"])
def test_loss_node_names(make):
    x, y = rng(0).standard_normal((3, 4)), rng(1).standard_normal((3, 4))
    got = make(numtorch, numtorch.tensor(x, requires_grad=True), numtorch.tensor(y)).grad_fn
    want = make(torch, torch.tensor(x, requires_grad=True), torch.tensor(y)).grad_fn
    assert type(got).__name__ == type(want).__name__
    assert [type(n).__name__ for n, _ in got.next_functions] == \
        [type(n).__name__ for n, _ in want.next_functions]


def test_losses_keep_float32():
    x = numtorch.randn(4, 3, requires_grad=True)
    for loss in (F(numtorch).mse_loss(x, numtorch.randn(4, 3)),
                 F(numtorch).cross_entropy(x, numtorch.tensor([0, 1, 2, 1]), label_smoothing=0.1),
                 F(numtorch).binary_cross_entropy_with_logits(x, numtorch.rand(4, 3))):
        assert loss.dtype == numtorch.float32
        loss.backward()
        assert x.grad.dtype == numtorch.float32
        x.grad = None


@needs_torch
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_all_targets_ignored_gives_nan_loss_and_zero_grad(smoothing):
    x = numtorch.randn(3, 4, requires_grad=True)
    loss = F(numtorch).cross_entropy(x, numtorch.tensor([-100, -100, -100]),
                                     label_smoothing=smoothing)
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4), np.float32))


# ---------------------------------------------------------------------------- modules
LOSS_MODULES = [
    ("MSELoss", {}, "regression"), ("MSELoss", dict(reduction="sum"), "regression"),
    ("L1Loss", dict(reduction="none"), "regression"), ("SmoothL1Loss", dict(beta=0.5),
                                                       "regression"),
    ("HuberLoss", dict(delta=2.0), "regression"),
    ("CrossEntropyLoss", {}, "classes"),
    ("CrossEntropyLoss", dict(ignore_index=1, label_smoothing=0.1, reduction="sum"), "classes"),
    ("CrossEntropyLoss", dict(weight=[0.5, 1.0, 2.0, 1.5]), "classes"),
    ("NLLLoss", dict(weight=[0.5, 1.0, 2.0, 1.5], ignore_index=2), "classes"),
    ("BCELoss", {}, "probs"), ("BCELoss", dict(weight=[0.5, 1.0, 2.0, 1.5]), "probs"),
    ("BCEWithLogitsLoss", dict(pos_weight=[0.5, 1.0, 2.0, 1.5]), "logits"),
    ("BCEWithLogitsLoss", dict(weight=[0.5, 1.0, 2.0, 1.5], reduction="none"), "logits"),
    ("KLDivLoss", dict(reduction="batchmean"), "kl"),
    ("KLDivLoss", dict(reduction="sum", log_target=True), "kl"),
]


def _loss_inputs(kind):
    r = rng(7)
    x = r.standard_normal((3, 4)).astype(np.float32)
    if kind == "regression":
        return x, r.standard_normal((3, 4)).astype(np.float32)
    if kind == "classes":
        return x, np.array([0, 1, 3], dtype=np.int64)
    if kind == "probs":
        return 1 / (1 + np.exp(-x)), r.uniform(0, 1, (3, 4)).astype(np.float32)
    if kind == "logits":
        return x, r.uniform(0, 1, (3, 4)).astype(np.float32)
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    return np.log(p), p


def _with_tensors(lib, kwargs):
    return {k: lib.tensor(v) if isinstance(v, list) else v for k, v in kwargs.items()}


@needs_torch
@pytest.mark.parametrize("name,kwargs,kind", LOSS_MODULES,
                         ids=[f"{m[0]}{i}" for i, m in enumerate(LOSS_MODULES)])
def test_loss_modules_match_torch(name, kwargs, kind):
    ours = getattr(numtorch.nn, name)(**_with_tensors(numtorch, kwargs))
    theirs = getattr(torch.nn, name)(**_with_tensors(torch, kwargs))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.reduction == theirs.reduction
    x, y = _loss_inputs(kind)
    xo, xt = numtorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    lo, lt = ours(xo, numtorch.tensor(y)), theirs(xt, torch.tensor(y))
    assert type(lo.grad_fn).__name__ == type(lt.grad_fn).__name__
    np.testing.assert_allclose(lo.detach().numpy(), lt.detach().numpy(), rtol=1e-5, atol=1e-6)
    lo.sum().backward()
    lt.sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
                                  "BCEWithLogitsLoss", "SmoothL1Loss", "KLDivLoss",
                                  "MarginRankingLoss", "CosineEmbeddingLoss", "SoftMarginLoss",
                                  "HingeEmbeddingLoss"])
@pytest.mark.parametrize("size_average,reduce", [(False, None), (None, False), (True, None)])
def test_loss_modules_legacy_arguments(name, size_average, reduce):
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        ours = getattr(numtorch.nn, name)(size_average=size_average, reduce=reduce)
    with pytest.warns(UserWarning):
        theirs = getattr(torch.nn, name)(size_average=size_average, reduce=reduce)
    assert ours.reduction == theirs.reduction


def test_loss_module_reprs_without_torch():
    nn = numtorch.nn
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.1)) == "CrossEntropyLoss()"
    assert nn.HuberLoss(delta=0.5).delta == 0.5
    assert nn.CrossEntropyLoss().weight is None and nn.BCEWithLogitsLoss().pos_weight is None


FD_LOSSES = [
    ("bce", lambda x, y: F(numtorch).binary_cross_entropy(
        x, y, weight=numtorch.tensor([0.5, 1.0, 2.0, 1.5], dtype=numtorch.float64))),
    ("bce_with_logits", lambda x, y: F(numtorch).binary_cross_entropy_with_logits(
        x, y, pos_weight=numtorch.tensor([0.5, 1.0, 2.0, 1.5], dtype=numtorch.float64))),
    ("kl_div", lambda x, y: F(numtorch).kl_div(x, y, reduction="batchmean")),
    ("kl_div_log_target", lambda x, y: F(numtorch).kl_div(x, y, reduction="sum",
                                                          log_target=True)),
    ("margin_ranking", lambda x, y: F(numtorch).margin_ranking_loss(
        x, y, numtorch.tensor([[1.0, -1.0, 1.0, -1.0]] * 3, dtype=numtorch.float64), 0.1)),
    ("cosine_embedding", lambda x, y: F(numtorch).cosine_embedding_loss(
        x, y, numtorch.tensor([1.0, -1.0, 1.0], dtype=numtorch.float64), margin=-0.5)),
    ("soft_margin", lambda x, y: F(numtorch).soft_margin_loss(x, (y - 0.5).sign())),
    ("hinge_embedding", lambda x, y: F(numtorch).hinge_embedding_loss(
        x, numtorch.tensor([[1.0, -1.0, 1.0, -1.0]] * 3, dtype=numtorch.float64), margin=1.5)),
]


@pytest.mark.parametrize("name,fn", FD_LOSSES, ids=[c[0] for c in FD_LOSSES])
def test_other_losses_finite_differences(name, fn):
    x = rng(1).uniform(0.1, 0.9, (3, 4))
    y = rng(2).uniform(0.1, 0.9, (3, 4))
    if name == "margin_ranking":
        y = x + rng(3).choice([-0.5, 0.5], (3, 4))  # keep clear of the hinge
    if name == "cosine_embedding":
        check_grad_fd(fn, [rng(1).standard_normal((3, 4)), rng(2).standard_normal((3, 4))])
    elif name in ("soft_margin", "hinge_embedding"):
        check_grad_fd(lambda a: fn(a, numtorch.tensor(y)), [x])
    else:
        check_grad_fd(fn, [x, y])


def _graph(fn, depth=0, out=None):
    """The backward graph below ``fn`` as indented node names (skipping absent edges)."""
    out = [] if out is None else out
    out.append("  " * depth + type(fn).__name__)
    for node, _ in fn.next_functions:
        if node is not None:
            _graph(node, depth + 1, out)
    return out


COMPOSED = {
    "label_smoothing": lambda F, x, y, p, w: F.cross_entropy(x, y, label_smoothing=0.1),
    "label_smoothing_weight": lambda F, x, y, p, w: F.cross_entropy(x, y, weight=w,
                                                                    label_smoothing=0.1),
    "label_smoothing_none": lambda F, x, y, p, w: F.cross_entropy(x, y, label_smoothing=0.1,
                                                                  reduction="none"),
    "probabilities": lambda F, x, y, p, w: F.cross_entropy(x, p),
    "probabilities_weight": lambda F, x, y, p, w: F.cross_entropy(x, p, weight=w,
                                                                  label_smoothing=0.2),
    "kl_div_batchmean": lambda F, x, y, p, w: F.kl_div(x, p, reduction="batchmean"),
    "kl_div_log_target": lambda F, x, y, p, w: F.kl_div(x, p, reduction="sum", log_target=True),
    "l1": lambda F, x, y, p, w: F.l1_loss(x, p),
    "mse_weight": lambda F, x, y, p, w: F.mse_loss(x, p, weight=p),
    "huber_weight": lambda F, x, y, p, w: F.huber_loss(x, p, weight=p),
    "margin_ranking": lambda F, x, y, p, w: F.margin_ranking_loss(x, p, p.sign(), margin=0.1),
    "cosine_embedding": lambda F, x, y, p, w: F.cosine_embedding_loss(
        x, p, (w[:4] - 1).sign(), margin=0.1),
    "soft_margin": lambda F, x, y, p, w: F.soft_margin_loss(x, (p - 0.2).sign()),
    "hinge_embedding": lambda F, x, y, p, w: F.hinge_embedding_loss(x, (p - 0.2).sign()),
}


@needs_torch
@pytest.mark.parametrize("name", list(COMPOSED))
def test_composed_loss_graphs_read_as_torch(name):
    r = rng(0)
    x = r.standard_normal((4, 5)).astype(np.float32)
    p = r.dirichlet(np.ones(5), 4).astype(np.float32)
    y, w = np.array([0, 4, 2, 1]), r.uniform(0.5, 1.5, 5).astype(np.float32)

    def build(lib):
        return COMPOSED[name](lib.nn.functional, lib.tensor(x, requires_grad=True),
                              lib.tensor(y), lib.tensor(p), lib.tensor(w))
    assert _graph(build(numtorch).grad_fn) == _graph(build(torch).grad_fn)
