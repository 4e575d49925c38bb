"""Loss functions: ``torch.nn.functional.mse_loss``, ``cross_entropy``, ``nll_loss``, …

Losses that PyTorch computes in one kernel are one recorded node here too (``MseLossBackward0``,
``NllLossBackward0``, ``BinaryCrossEntropyWithLogitsBackward0``, …), each fusing the pointwise
loss with its reduction; losses that PyTorch composes (``l1_loss``, ``kl_div``, label smoothing,
probability targets) are composed from the differentiable ops so their graphs read the same.

``cross_entropy`` with class-index targets is ``nll_loss(log_softmax(input, 1), target)``, as in
PyTorch: the loss's ``grad_fn`` is ``NllLossBackward0`` whose next function is
``LogSoftmaxBackward0``. Both kernels are whole-array NumPy (no Python loops, no ``np.add.at``).
Every loss is numerically stable: logits of ±1e4 give finite losses and gradients.
"""

import math
import warnings

import numpy as np

from .._fperr import quiet_call
from .._size import Size
from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from . import _formulas as F
from . import elementwise as ew
from . import reduction as rd
from ._lowp import fp32_op
from ._registry import aux, formula
from ._util import binary_operands, refuse_complex, shape_error
from .activation import _log1p_exp as _softplus
from .activation import _stable_sigmoid as _sigmoid
from .activation import softplus as _softplus_op
from .indexing import where

__all__ = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
    "cosine_embedding_loss", "margin_ranking_loss", "soft_margin_loss", "hinge_embedding_loss",
]

_wrap = Tensor._wrap

_REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------------------- reduction helpers
def _legacy_reduction(size_average, reduce, reduction, emit_warning=True):
    """Map the deprecated ``size_average``/``reduce`` flags to a ``reduction`` string."""
    if size_average is None and reduce is None:
        return reduction
    if emit_warning:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{_legacy_string(size_average, reduce)}' instead.",
                      UserWarning, stacklevel=3)
    return _legacy_string(size_average, reduce)


def _legacy_string(size_average, reduce):
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _check_reduction(reduction, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction):
    """Apply ``reduction`` to a pointwise-loss array (0-d array result for mean/sum)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.asarray(loss.sum(), dtype=loss.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(loss.sum() / loss.size if loss.size else np.nan, dtype=loss.dtype)


def _reduction_grad(g, shape, reduction):
    """The gradient reaching each pointwise loss element from the reduced loss's gradient
    (arrays or Tensors)."""
    if reduction == "none":
        return g
    size = math.prod(shape)
    if reduction == "mean" and size:
        g = g / size
    return F.expand(g, shape)


def _warn_size(input, target):
    if input._data.shape != target._data.shape:
        warnings.warn(
            f"Using a target size ({Size(target._data.shape)}) that is different to the input "
            f"size ({Size(input._data.shape)}). This will likely lead to incorrect results due "
            "to broadcasting. Please ensure they have the same size.", UserWarning, stacklevel=3)


def _as_tensor(x, like):
    return x if isinstance(x, Tensor) else _wrap(np.asarray(x, dtype=like._data.dtype))


# ---------------------------------------------------------------------------- scalar steps
def _scalar_formula(ctx, g):
    """``tensor <op> python_number`` as PyTorch's C++ losses record it (``MulBackward1``, …)."""
    return (g * ctx.factor if ctx.factor != 1 else g,)


_SCALAR_STEPS = {name: formula(name, attrs=("factor",))(_scalar_formula)
                 for name in ("MulBackward1", "DivBackward1", "AddBackward1", "SubBackward1")}


@formula("ClampMinBackward0", saves={"x": 0}, attrs=("min",))
def ClampMinBackward0(ctx, g):
    return (g * (ctx.x >= ctx.min),)


def _scalar_step(input, name, value):
    """``input * value`` (Mul), ``input / value`` (Div), ``input + value`` (Add) or
    ``input - value`` (Sub) for a Python number ``value``, recorded under PyTorch's name."""
    x = input._data
    v = np.asarray(value, dtype=x.dtype)
    kind = name[:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        res = {"Mul": np.multiply, "Div": np.true_divide, "Add": np.add,
               "Sub": np.subtract}[kind](x, v)
    factor = 1
    if kind == "Mul":
        factor = value
    elif kind == "Div":
        factor = 1 / value if value else math.inf
    return _SCALAR_STEPS[name].record(res, (input,), (), (factor,))


def _clamp_min(input, value):
    """``input.clamp_min(value)``, recorded as ``ClampMinBackward0``."""
    x = input._data
    res = np.maximum(x, np.asarray(value, dtype=x.dtype))
    return ClampMinBackward0.record(res, (input,), (x,), (value,))


# ---------------------------------------------------------------------------- regression losses
def _pointwise_loss_node(name, local):
    """Fused ``reduce(f(input - target))``; ``local(ctx, d)`` is ``f'(d)``. The difference
    ``d`` is kept for the array path; under create_graph it is recomputed from the operands."""

    def backward(ctx, g):
        (ni, _), (nt, _) = ctx.next_functions
        d = ctx.d if F.is_array(g) else ctx.a - ctx.b
        gd = _reduction_grad(g, ctx.d_shape, ctx.reduction) * local(ctx, d)
        return (F.unbroadcast(gd, ctx.in_shape) if ni is not None else None,
                F.unbroadcast(-gd, ctx.t_shape) if nt is not None else None)

    return formula(name, saves={"a": 0, "b": 1, "d": None},
                   attrs=("d_shape", "in_shape", "t_shape", "reduction", "param"))(backward)


def _smooth_l1_local(ctx, d):
    beta = ctx.param
    if beta == 0:
        return F.sign(d)
    return F.cast(F.where(F.abs(d) < beta, d / beta, F.sign(d)), d)


def _huber_local(ctx, d):
    delta = ctx.param
    if F.is_array(d):
        return np.clip(d, -delta, delta).astype(d.dtype, copy=False)
    return d.clamp(-delta, delta)


MseLossBackward0 = _pointwise_loss_node("MseLossBackward0", lambda ctx, d: 2 * d)
SmoothL1LossBackward0 = _pointwise_loss_node("SmoothL1LossBackward0", _smooth_l1_local)
HuberLossBackward0 = _pointwise_loss_node("HuberLossBackward0", _huber_local)


def _pointwise_loss(node_cls, pointwise, input, target, reduction, param=None):
    """Run a fused regression loss ``reduce(pointwise(input - target))``."""
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    _warn_size(input, target)
    a, b = binary_operands(input, target)
    try:
        d = a - b
    except ValueError:
        raise shape_error(a.shape, b.shape) from None
    with np.errstate(over="ignore"):  # an overflowing loss is inf quietly, as in PyTorch
        res = _reduce(pointwise(d), reduction)
    return node_cls.record(res, (input, target), (a, b, d),
                           (d.shape, a.shape, b.shape, reduction, param))


def _weighted(loss, weight, reduction, input, mean_by_weight_sum):
    """``reduce(loss * weight)``; a mean is over the weights' sum when ``mean_by_weight_sum``."""
    if tuple(np.shape(_data(weight))) != tuple(loss.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = ew.mul(loss, weight)
    if reduction == "mean" and mean_by_weight_sum:
        return ew.div(rd.sum(loss), rd.sum(_as_tensor(weight, input)))
    return _apply_reduction(loss, reduction)


@fp32_op
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error between each element of ``input`` and ``target``.

    With ``weight`` (the input's shape) each squared error is weighted and ``'mean'`` divides by
    the weights' sum; the graph is then composed, as PyTorch composes it.
    """
    refuse_complex(input, target, kernel="mse_cpu")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if weight is None:
        return _pointwise_loss(MseLossBackward0, lambda d: d * d, input, target, reduction)
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    _warn_size(input, target)
    return _weighted(ew.pow(ew.sub(input, target), 2), weight, reduction, input, True)


@fp32_op
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error (composed from ``sub``, ``abs`` and the reduction, as in PyTorch)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    _warn_size(input, target)
    loss = ew.abs(ew.sub(input, target))
    if weight is None:
        return _apply_reduction(loss, reduction)
    return _weighted(loss, weight, reduction, input, True)


def _smooth_l1(beta):
    def pointwise(d):
        a = np.abs(d)
        if beta == 0:
            return a
        return np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta).astype(d.dtype, copy=False)
    return pointwise


@fp32_op
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Squared error below ``beta``, absolute error above it (``beta=0`` is L1)."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _pointwise_loss(SmoothL1LossBackward0, _smooth_l1(beta), input, target, reduction,
                           beta)


@fp32_op
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Squared error below ``delta``, ``delta``-scaled absolute error above it.

    With ``weight`` the pointwise losses are weighted, then reduced (a plain mean).
    """
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")

    def pointwise(d):
        a = np.abs(d)
        return np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta)).astype(d.dtype,
                                                                                   copy=False)
    if weight is None:
        return _pointwise_loss(HuberLossBackward0, pointwise, input, target, reduction, delta)
    _check_reduction(reduction)
    loss = _pointwise_loss(HuberLossBackward0, pointwise, input, target, "none", delta)
    return _weighted(loss, weight, reduction, input, False)


def _data(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _apply_reduction(loss, reduction):
    """Reduce a loss tensor with differentiable ops (``MeanBackward0`` / ``SumBackward0``)."""
    if reduction == "mean":
        return rd.mean(loss)
    if reduction == "sum":
        return rd.sum(loss)
    return loss


# ---------------------------------------------------------------------------- nll / cross entropy
_TARGET_DTYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int32": "Int",
                       "int16": "Short", "int8": "Char", "bool": "Bool"}


@formula("NllLossBackward0", saves={"target": aux(0), "w": None},
         attrs=("total_weight", "in_shape", "class_axis", "reduction"))
def NllLossBackward0(ctx, g):
    w = ctx.w
    if ctx.reduction == "mean":
        if ctx.total_weight == 0:  # every target ignored: PyTorch's gradient is zero
            return (F.zeros_like(g, ctx.in_shape),)
        g = g / ctx.total_weight
    if F.is_array(g):
        gx = np.zeros(ctx.in_shape, dtype=w.dtype)
        _scatter_classes(gx, ctx.target, -w * g)
        return (gx,)
    # linear in the input: -g times a constant holding each target's weight at its class
    picks = np.zeros(ctx.in_shape, dtype=w._data.dtype)
    _scatter_classes(picks, ctx.target._data, -w._data)
    if ctx.reduction == "none" and len(ctx.in_shape) >= 2:
        g = F.unreduce(g, (ctx.class_axis,), False)
    return (g * _wrap(picks),)


def _pick_classes(x, target):
    """``x[n, target[n, ...], ...]``: the entries of the target classes (class dim 1, or 0)."""
    if x.ndim == 2:
        return x[np.arange(x.shape[0]), target]
    if x.ndim == 1:
        return x[target]
    return np.take_along_axis(np.moveaxis(x, 1, -1), target[..., None], axis=-1)[..., 0]


def _scatter_classes(out, target, values):
    """Write ``values`` at the target classes of ``out`` (the inverse of ``_pick_classes``)."""
    if out.ndim == 2:
        out[np.arange(out.shape[0]), target] = values
    elif out.ndim == 1:
        out[target] = values
    else:
        np.put_along_axis(np.moveaxis(out, 1, -1), target[..., None], values[..., None], axis=-1)


def _check_nll_shapes(x, t):
    if x.ndim < 1:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if x.ndim >= 2 and t.ndim >= 1 and x.shape[0] != t.shape[0]:
        raise ValueError(
            f"Expected input batch_size ({x.shape[0]}) to match target batch_size ({t.shape[0]}).")
    if x.ndim <= 2:
        if t.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if x.ndim == 1 and t.ndim == 1 and t.shape[0] != 1:
            raise RuntimeError(
                f"size mismatch (got input: [{x.shape[0]}], target: [{t.shape[0]}])")
        return
    expected = (x.shape[0],) + x.shape[2:]
    if t.shape != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(t.shape)}")


@fp32_op
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of the target classes under log-probabilities ``input``.

    ``input`` is (C), (N, C) or (N, C, d1, …); ``target`` holds class indices of shape (), (N)
    or (N, d1, …). ``weight`` rescales each class; targets equal to ``ignore_index`` contribute
    nothing, and ``'mean'`` divides by the total weight of the counted targets.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    x, t = input._data, target._data
    _check_nll_shapes(x, t)
    if t.dtype not in (np.int64, np.uint8):
        raise RuntimeError("expected target dtype to be Long or Byte, but got "
                           f"{_TARGET_DTYPE_NAMES.get(t.dtype.name, t.dtype.name)}")
    class_axis = 1 if x.ndim >= 2 else 0
    n_classes = x.shape[class_axis]
    if (weight is None and x.ndim == 2 and t.ndim == 1 and t.dtype == np.int64 and t.size
            and not 0 <= ignore_index < n_classes
            and 0 <= np.minimum.reduce(t) and np.maximum.reduce(t) < n_classes):
        return _nll_loss_all_counted(input, target, reduction)
    if t.ndim == 1 and x.ndim == 1:
        t = t.reshape(())
    t = t.astype(np.int64, copy=False)
    keep = t != ignore_index
    all_kept = bool(keep.all())
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        bad = keep & ((t < 0) | (t >= n_classes))
        if bad.any():
            raise IndexError(f"Target {t[bad].flat[0]} is out of bounds.")
    safe = t if all_kept else np.where(keep, t, 0)
    if weight is not None:
        wd = weight._data
        if wd.ndim != 1 or wd.shape[0] != n_classes:
            raise RuntimeError(
                f"weight tensor should be defined either for all {n_classes} classes or no "
                f"classes but got weight tensor of shape: {list(wd.shape)}")
        w = wd.astype(x.dtype, copy=False)[safe]
        if not all_kept:
            w = w * keep
    else:
        w = keep.astype(x.dtype)
    loss = _pick_classes(x, safe) * -w
    total_weight = None
    if reduction == "none":
        res = loss
    elif reduction == "sum":
        res = np.asarray(loss.sum(), dtype=x.dtype)
    else:
        total_weight = np.asarray(w.sum(), dtype=x.dtype)
        if total_weight == 0:  # nothing counted: NaN, as PyTorch's 0/0
            res = np.asarray(np.nan, dtype=x.dtype)
        else:
            res = np.asarray(loss.sum() / total_weight, dtype=x.dtype)
    return NllLossBackward0.record(res, (input,), (safe, w),
                                   (total_weight, x.shape, class_axis, reduction),
                                   aux=(target,))


def _nll_loss_all_counted(input, target, reduction):
    """``nll_loss`` of a batch of rows ``(N, C)`` with no class weights and every target a
    class (none ignored): the general path's values and saved state, with a few NumPy calls
    instead of a dozen (a 64x10 batch, the usual classifier loss, is all overhead)."""
    x, t = input._data, target._data
    n = t.shape[0]
    w = np.ones(n, x.dtype)
    loss = np.negative(x[np.arange(n), t])  # (the general path's x * -1, exactly)
    total_weight = None
    if reduction == "none":
        res = loss
    elif reduction == "sum":
        res = np.asarray(np.add.reduce(loss), dtype=x.dtype)
    else:
        total_weight = np.asarray(n, dtype=x.dtype)  # (the sum of n ones, exactly)
        res = np.asarray(np.add.reduce(loss) / total_weight, dtype=x.dtype)
    return NllLossBackward0.record(res, (input,), (t, w), (total_weight, x.shape, 1, reduction),
                                   aux=(target,))


def _class_weight_view(weight, ndim, class_axis):
    shape = [1] * ndim
    shape[class_axis] = -1
    return weight.reshape(shape)


@fp32_op
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross entropy between the logits ``input`` and ``target``.

    ``target`` holds class indices (as for ``nll_loss``) or, with the input's shape and a
    floating dtype, class probabilities. ``label_smoothing`` mixes the target with the uniform
    distribution over the classes.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    x, t = input._data, target._data
    class_axis = 1 if x.ndim >= 2 else 0
    if x.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if t.shape == x.shape and t.dtype.kind == "f":
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing,
                                    class_axis)
    _check_nll_shapes(x, t)
    logp = rd.log_softmax(input, class_axis)
    nll = nll_loss(logp, target, weight, None, ignore_index, None, reduction)
    if label_smoothing == 0:
        return nll
    return _smoothed_cross_entropy(logp, nll, target, weight, ignore_index, reduction,
                                   label_smoothing, class_axis)


def _smoothed_cross_entropy(logp, nll, target, weight, ignore_index, reduction, eps, class_axis):
    n_classes = logp.shape[class_axis]
    ignored = target._data == ignore_index
    if logp.ndim == 1 and ignored.ndim == 1:
        ignored = ignored.reshape(())
    if weight is not None:
        terms = ew.mul(logp, _class_weight_view(weight, logp.ndim, class_axis))
    else:
        terms = logp
    smooth = ew.neg(rd.sum(terms, class_axis))
    smooth = smooth.masked_fill(_wrap(ignored), 0)
    if reduction == "mean":
        kept = target._data.reshape(-1)[~ignored.reshape(-1)]
        if weight is not None:
            denom = weight._data[kept.astype(np.int64)].sum()
        else:
            denom = kept.size
        if denom == 0:  # nothing counted: NaN, as PyTorch's 0/0
            smooth = ew.mul(rd.sum(smooth), math.nan)
        else:
            smooth = ew.div(rd.sum(smooth), _wrap(np.asarray(denom, dtype=logp.dtype._np)))
    elif reduction == "sum":
        smooth = rd.sum(smooth)
    return ew.add(_scalar_step(nll, "MulBackward1", 1 - eps),
                  _scalar_step(smooth, "MulBackward1", eps / n_classes))


def _cross_entropy_probs(input, target, weight, reduction, eps, class_axis):
    n_classes = input.shape[class_axis]
    logp = rd.log_softmax(input, class_axis)
    if eps > 0:
        target = ew.add(ew.mul(target, 1 - eps), eps / n_classes)
    if weight is not None:
        logp = ew.mul(logp, _class_weight_view(weight, logp.ndim, class_axis))
    prod = ew.mul(logp, target)
    if reduction == "none":
        return ew.neg(rd.sum(prod, class_axis))
    total = ew.neg(rd.sum(prod))
    if reduction == "sum":
        return total
    return _scalar_step(total, "DivBackward1", input._data.size / n_classes if n_classes else 0)


# ---------------------------------------------------------------------------- binary losses
@formula("BinaryCrossEntropyBackward0", saves={"x": 0, "t": 1, "w": aux(0)},
         attrs=("reduction", "t_shape"))
def BinaryCrossEntropyBackward0(ctx, g):
    (ni, _), (nt, _) = ctx.next_functions
    x, t, w = ctx.x, ctx.t, ctx.w
    gl = _reduction_grad(g, tuple(x.shape), ctx.reduction)
    if w is not None:
        gl = gl * w
    gi = gt = None
    arrays = F.is_array(g)
    if ni is not None:
        if arrays:
            gi = _bce_input_grad(gl, x, t)
        else:  # one node, whose own backward is PyTorch's double backward
            gi = BinaryCrossEntropyBackwardBackward0.record(
                _bce_input_grad(gl._data, x._data, t._data), (g, x, t),
                (g._data, x._data, t._data, None if w is None else w._data), (ctx.reduction,),
                aux=(w,))
    if nt is not None:  # PyTorch's -logit(x) * g, not clamped (inf where x is 0 or 1)
        if arrays:
            gt = -quiet_call(np.log, quiet_call(np.divide, x, 1 - x)) * gl
        else:
            gt = -ew.log(x / (1 - x)) * gl
        gt = F.unbroadcast(gt, ctx.t_shape)
    return gi, gt


def _bce_input_grad(gl, x, t):
    """PyTorch's ``gl * (x - t) / max((1 - x) * x, 1e-12)`` on arrays, in place (``gl``: the
    gradient reaching each element, weighted)."""
    denom = 1 - x
    denom *= x
    _clamp_below(denom, _BCE_EPS)
    gi = x - t
    gi *= gl
    gi /= denom
    return gi


_BCE_EPS = 1e-12


@formula("BinaryCrossEntropyBackwardBackward0", saves={"g": 0, "x": 1, "t": 2, "w": aux(0)},
         attrs=("reduction",))
def BinaryCrossEntropyBackwardBackward0(ctx, gg):
    """PyTorch's double backward of binary cross entropy (the derivatives of the input
    gradient with respect to the loss's gradient ``g``, the input and the target): its own
    formulas, which add 1e-12 to ``x`` and ``1 - x`` where the first backward clamps their
    product, not the derivative of that quotient."""
    g, x, t, w = ctx.g, ctx.x, ctx.t, ctx.w
    reduction = ctx.reduction
    size = math.prod(x.shape)
    eps = _BCE_EPS
    dg = dx = dt = None
    if ctx.needs(0):
        dg = (x - t) / ((1 - x + eps) * (x + eps)) * gg
        if w is not None:
            dg = dg * w
        if reduction == "mean":
            dg = _over(dg, size)
        if reduction != "none":
            dg = np.asarray(dg.sum(), dtype=dg.dtype) if F.is_array(dg) else rd.sum(dg)
    if ctx.needs(1):
        dx = (x * x - 2 * x * t + t) / ((x + eps) ** 2 * (1 - x + eps) ** 2) * (gg * g)
        if w is not None:
            dx = dx * w
        if reduction == "mean":
            dx = _over(dx, size)
    if ctx.needs(2):
        dt = -gg * g
        if w is not None:
            dt = dt * w
        denom = (1 - x) * x
        dt = dt / (np.maximum(denom, eps) if F.is_array(denom) else denom.clamp(min=eps))
        if reduction == "mean":
            dt = _over(dt, size)
    return dg, dx, dt


def _over(a, size):
    """``a / size`` for a count ``size``; recorded on Tensors as PyTorch's DivBackward1."""
    return a / size if F.is_array(a) else _scalar_step(a, "DivBackward1", size)


def _clamp_below(a, low):
    """``a = max(a, low)`` in place, skipped when nothing is below ``low`` (one reduction
    instead of NumPy's slow ``maximum`` against a scalar); NaN stays NaN either way."""
    if a.size and not a.min() >= low:
        np.maximum(a, low, out=a)


def _check_weight(w, shape):
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise shape_error(shape, w.shape) from None


@fp32_op
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross entropy between probabilities ``input`` and ``target``.

    As in PyTorch, each log term is clamped at -100 so that a probability of exactly 0 or 1
    gives a finite loss.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    x, t = input._data, target._data
    if t.shape != x.shape:
        raise ValueError(
            f"Using a target size ({Size(t.shape)}) that is different to the input size "
            f"({Size(x.shape)}) is deprecated. Please ensure they have the same size.")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    t = t.astype(x.dtype, copy=False)
    # PyTorch's (t - 1) * max(log1p(-x), -100) - t * max(log(x), -100), in place
    log_x = quiet_call(np.log, x, np.empty(x.shape, x.dtype))
    _clamp_below(log_x, -100)
    log_1mx = np.negative(x, out=np.empty(x.shape, x.dtype))
    ew.log1p_values(log_1mx, log_1mx)
    _clamp_below(log_1mx, -100)
    loss = np.subtract(t, 1, out=np.empty(x.shape, x.dtype))
    loss *= log_1mx
    log_x *= t
    loss -= log_x
    w = None
    if weight is not None:
        w = _check_weight(weight._data.astype(x.dtype, copy=False), x.shape)
        loss = loss * w
    res = _reduce(loss, reduction)
    return BinaryCrossEntropyBackward0.record(res, (input, target), (x, t, w),
                                              (reduction, t.shape), aux=(weight,))


@formula("BinaryCrossEntropyWithLogitsBackward0",
         saves={"x": 0, "t": 1, "w": aux(0), "pw": aux(1)}, attrs=("reduction", "shape",
                                                                  "t_shape"))
def BinaryCrossEntropyWithLogitsBackward0(ctx, g):
    (ni, _), (nt, _) = ctx.next_functions
    x, t, pw, w = ctx.x, ctx.t, ctx.pw, ctx.w
    arrays = F.is_array(g)
    gl = _reduction_grad(g, ctx.shape, ctx.reduction)
    if w is not None:
        gl = gl * w
    gi = gt = None
    if ni is not None:
        s = _sigmoid(x) if arrays else ew.sigmoid(x)
        if pw is None:
            gi = gl * (s - t)
        else:
            gi = gl * ((1 - t) - (1 + (pw - 1) * t) * (1 - s))
        gi = F.unbroadcast(gi, tuple(x.shape))
    if nt is not None:
        if pw is None:
            gt = -gl * x
        else:
            sp = _softplus(-x) if arrays else _softplus_op(-x)
            gt = gl * ((pw - 1) * sp - x)
        gt = F.unbroadcast(gt, ctx.t_shape)
    return gi, gt


@fp32_op
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid followed by binary cross entropy, in one numerically stable expression.

    ``pos_weight`` weighs the positive term of each class (broadcast along the last dim).
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    x, t = input._data, target._data
    if t.shape != x.shape:
        raise ValueError(
            f"Target size ({Size(t.shape)}) must be the same as input size ({Size(x.shape)})")
    t = t.astype(x.dtype, copy=False)
    sp_neg = _softplus(-x)
    pw = None
    if pos_weight is not None:
        pw = pos_weight._data.astype(x.dtype, copy=False)
        loss = (1 - t) * x + (1 + (pw - 1) * t) * sp_neg
    else:
        loss = (1 - t) * x + sp_neg
    w = None
    if weight is not None:
        w = weight._data.astype(x.dtype, copy=False)
        loss = loss * w
    shape = loss.shape
    res = _reduce(loss, reduction)
    return BinaryCrossEntropyWithLogitsBackward0.record(
        res, (input, target), (x, t, w, pw), (reduction, shape, t.shape),
        aux=(weight, pos_weight))


# ---------------------------------------------------------------------------- divergences
@fp32_op
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence of ``target`` from the log-probabilities ``input``.

    ``reduction='batchmean'`` divides the summed divergence by the batch size (the mathematical
    definition); ``'mean'`` divides by the number of elements, with PyTorch's warning.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, _REDUCTIONS + ("batchmean",))
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.", UserWarning, stacklevel=2)
    target = _as_tensor(target, input)
    if log_target:
        pointwise = ew.mul(ew.exp(target), ew.sub(target, input))
    else:
        pointwise = ew.sub(_xlogy_self(target), ew.mul(target, input))
    if reduction == "batchmean":
        total = rd.sum(pointwise)
        return ew.div(total, input.shape[0]) if input.ndim else total
    return _apply_reduction(pointwise, reduction)


def _xlogy_self(t):
    """``t * log(t)`` with ``0 * log(0) = 0``."""
    td = t._data
    if not (_GradState.enabled and t._requires_grad):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _wrap(np.where(td == 0, 0, td * np.log(np.where(td == 0, 1, td))).astype(
                td.dtype, copy=False))
    positive = _wrap(td > 0)
    safe = where(positive, t, 1.0)
    return ew.mul(t, ew.log(safe))


# ---------------------------------------------------------------------------- margin losses
@fp32_op
def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {Size(input1.shape)}, input2: {Size(input2.shape)}, target: "
            f"{Size(target.shape)} ")
    diff = ew.mul(ew.neg(target), ew.sub(input1, input2))
    loss = _clamp_min(_scalar_step(diff, "AddBackward1", margin), 0)
    return _apply_reduction(loss, reduction)


@fp32_op
def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """``1 - cos(x1, x2)`` for target 1, ``max(0, cos(x1, x2) - margin)`` for target -1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    eps = 1e-12
    dim = input1.ndim - 1
    prod = rd.sum(ew.mul(input1, input2), dim)
    m1 = _scalar_step(rd.sum(ew.mul(input1, input1), dim), "AddBackward1", eps)
    m2 = _scalar_step(rd.sum(ew.mul(input2, input2), dim), "AddBackward1", eps)
    cos = ew.div(prod, ew.sqrt(ew.mul(m1, m2)))
    pos = ew.sub(_wrap(np.ones((), dtype=cos._data.dtype)), cos)
    neg = _clamp_min(_scalar_step(cos, "SubBackward1", margin), 0)
    t = target._data
    zeros = _wrap(np.zeros((), dtype=cos._data.dtype))
    loss = ew.add(where(_wrap(t == 1), pos, zeros), where(_wrap(t == -1), neg, zeros))
    return _apply_reduction(loss, reduction)


@formula("SoftMarginLossBackward0", saves={"x": 0, "y": aux(0)}, attrs=("reduction",))
def SoftMarginLossBackward0(ctx, g):
    x, y = ctx.x, ctx.y
    gl = _reduction_grad(g, tuple(x.shape), ctx.reduction)
    z = -y * x
    return (gl * -y * (_sigmoid(z) if F.is_array(g) else ew.sigmoid(z)),)


@fp32_op
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """``log(1 + exp(-target * input))`` for targets of ±1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    x, y = binary_operands(input, target)
    res = _reduce(_softplus(-y * x), reduction)
    return SoftMarginLossBackward0.record(res, (input,), (x, y), (reduction,), aux=(target,))


@fp32_op
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``input`` where target is 1, ``max(0, margin - input)`` where target is -1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    t = target._data
    zeros = _wrap(np.zeros((), dtype=input._data.dtype))
    margin_t = _wrap(np.asarray(margin, dtype=input._data.dtype))
    margin_part = where(_wrap(t != 1), _clamp_min(ew.sub(margin_t, input), 0), zeros)
    self_part = where(_wrap(t != -1), input, zeros)
    return _apply_reduction(ew.add(margin_part, self_part), reduction)
