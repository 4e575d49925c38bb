"""Shape operations: views (view, permute, expand, …), copies (repeat, cat, stack), splits.

View ops return NumPy views and share the input's version counter, as PyTorch's views do.
"""

import numpy as np

from .. import _dtype as dt
from .._size import Size
from .._tensor import Tensor
from . import _formulas as F
from . import _parallel
from ._registry import declare, formula
from ._util import result_type, wrap_dim
from .complex import view_as_real
from .indexing import SliceBackward0, getitem, index_add

_wrap = Tensor._wrap


def _shape_arg(shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _infer_shape(shape, numel):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{_fmt(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{_fmt(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _fmt(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


_IN_SHAPE = ("in_shape",)


def _view_formula(ctx, g):
    return (F.reshape(g, ctx.in_shape),)


ViewBackward0 = formula("ViewBackward0", attrs=_IN_SHAPE)(_view_formula)
UnsafeViewBackward0 = formula("UnsafeViewBackward0", attrs=_IN_SHAPE)(_view_formula)


def view(input, *shape):
    if len(shape) == 1:
        first = shape[0]
        if first.__class__ is not int:
            if isinstance(first, dt.dtype) or first in (float, int, bool):
                return view_dtype(input, first)
            shape = tuple(first)
    x = input._data
    data = None
    if x.flags.c_contiguous:  # fast path: NumPy infers -1 and always returns a view here
        try:
            data = x.reshape(shape)
        except (ValueError, TypeError):
            pass
    if data is None:
        shape = _infer_shape(_shape_arg(shape), x.size)  # raises PyTorch's message if invalid
        try:
            data = np.reshape(x, shape, copy=False)
        except ValueError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
    out = ViewBackward0.record(data, (input,), (), (x.shape,))
    input._share_version(out)
    return out


def view_dtype(input, dtype):
    return _wrap(input._data.view(dt.to_numpy_dtype(dtype)))


def reshape(input, *shape):
    x = input._data
    shape = _infer_shape(_shape_arg(shape), x.size)
    try:
        data = np.reshape(x, shape, copy=False)
        is_view = True
    except ValueError:
        data = _parallel.contiguous(x).reshape(shape)
        is_view = False
    node_cls = ViewBackward0 if is_view else UnsafeViewBackward0
    out = node_cls.record(data, (input,), (), (x.shape,))
    if is_view:
        input._share_version(out)
    return out


def view_as(input, other):
    return view(input, other._data.shape)


def reshape_as(input, other):
    return reshape(input, other._data.shape)


def flatten(input, start_dim=0, end_dim=-1):
    x = input._data
    if x.ndim == 0:
        return reshape(input, 1)
    s, e = wrap_dim(start_dim, x.ndim), wrap_dim(end_dim, x.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shape = x.shape[:s] + (-1 if 0 not in x.shape else int(np.prod(x.shape[s:e + 1])),) \
        + x.shape[e + 1:]
    return reshape(input, shape)


def unflatten(input, dim, sizes):
    x = input._data
    d = wrap_dim(dim, x.ndim)
    sizes = tuple(sizes)
    if -1 in sizes:
        sizes = _infer_shape(sizes, x.shape[d])
    elif int(np.prod(sizes)) != x.shape[d]:
        raise RuntimeError(
            f"unflatten: Provided sizes {_fmt(sizes)} don't multiply up to the size of dim {dim} "
            f"({x.shape[d]}) in the input tensor")
    return view(input, x.shape[:d] + sizes + x.shape[d + 1:])


SqueezeBackward0 = formula("SqueezeBackward0", attrs=_IN_SHAPE)(_view_formula)
SqueezeBackward1 = formula("SqueezeBackward1", attrs=_IN_SHAPE)(_view_formula)
SqueezeBackward2 = formula("SqueezeBackward2", attrs=_IN_SHAPE)(_view_formula)


def squeeze(input, dim=None):
    x = input._data
    if dim is None:
        data = np.squeeze(x)
        node_cls = SqueezeBackward0
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        axes = tuple(wrap_dim(d, x.ndim) for d in dims) if x.ndim else ()
        axes = tuple(a for a in axes if x.shape[a] == 1)
        data = np.squeeze(x, axes) if axes else x.view()
        node_cls = SqueezeBackward1 if isinstance(dim, int) else SqueezeBackward2
    out = node_cls.record(data, (input,), (), (x.shape,))
    input._share_version(out)
    return out


UnsqueezeBackward0 = formula("UnsqueezeBackward0", attrs=_IN_SHAPE)(_view_formula)


def unsqueeze(input, dim):
    x = input._data
    d = wrap_dim(dim, x.ndim + 1)
    data = np.expand_dims(x, d)
    out = UnsqueezeBackward0.record(data, (input,), (), (x.shape,))
    input._share_version(out)
    return out


@formula("PermuteBackward0", attrs=("dims",))
def PermuteBackward0(ctx, g):
    return (F.permute(g, tuple(int(i) for i in np.argsort(ctx.dims))),)


def permute(input, *dims):
    x = input._data
    dims = _shape_arg(dims)
    if len(dims) != x.ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not "
            f"equal to len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(d, x.ndim) for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    data = np.transpose(x, dims)
    out = PermuteBackward0.record(data, (input,), (), (dims,))
    input._share_version(out)
    return out


@formula("TransposeBackward0", attrs=("d0", "d1"))
def TransposeBackward0(ctx, g):
    return (F.transpose(g, ctx.d0, ctx.d1) if g.ndim else g,)


@formula("TBackward0")
def TBackward0(ctx, g):
    return (g.T,)  # ndarray.T, or Tensor.T (a recorded permute) under create_graph


def transpose(input, dim0, dim1):
    x = input._data
    if x.ndim == 0:
        wrap_dim(dim0, 0), wrap_dim(dim1, 0)  # only 0 and -1 are valid
        out = TransposeBackward0.record(x.view(), (input,), (), (0, 0))
        input._share_version(out)
        return out
    d0, d1 = wrap_dim(dim0, x.ndim), wrap_dim(dim1, x.ndim)
    data = np.swapaxes(x, d0, d1)
    out = TransposeBackward0.record(data, (input,), (), (d0, d1))
    input._share_version(out)
    return out


swapaxes = swapdims = transpose


def t(input):
    x = input._data
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    out = TBackward0.record(x.T, (input,))
    input._share_version(out)
    return out


def movedim(input, source, destination):
    x = input._data
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    perm = [None] * x.ndim
    src = [wrap_dim(s, x.ndim) for s in src]
    dst = [wrap_dim(d, x.ndim) for d in dst]
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(i for i in range(x.ndim) if i not in src)
    perm = [p if p is not None else next(rest) for p in perm]
    return permute(input, *perm)


moveaxis = movedim


@formula("ExpandBackward0", attrs=_IN_SHAPE)
def ExpandBackward0(ctx, g):
    return (F.unbroadcast(g, ctx.in_shape),)


def expand(input, *sizes):
    x = input._data
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{_fmt(x.shape)}}}, size={_fmt(sizes)}): the number of "
            "sizes provided (%d) must be greater or equal to the number of dimensions in the "
            "tensor (%d)" % (len(sizes), x.ndim))
    lead = len(sizes) - x.ndim
    target = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    try:
        data = np.broadcast_to(x, target)
    except ValueError:
        for i in range(x.ndim):
            if x.shape[i] != 1 and x.shape[i] != target[i + lead]:
                raise RuntimeError(
                    f"The expanded size of the tensor ({target[i + lead]}) must match the existing "
                    f"size ({x.shape[i]}) at non-singleton dimension {i + lead}.  Target sizes: "
                    f"{_fmt(sizes)}.  Tensor sizes: {_fmt(x.shape)}") from None
        raise
    out = ExpandBackward0.record(data, (input,), (), (x.shape,))
    input._share_version(out)
    return out


def expand_as(input, other):
    return expand(input, other._data.shape)


def broadcast_to(input, shape):
    return expand(input, shape)


@formula("RepeatBackward0", attrs=("reps", "in_shape"))
def RepeatBackward0(ctx, g):
    reps, in_shape = ctx.reps, ctx.in_shape
    lead = len(reps) - len(in_shape)
    padded = (1,) * lead + in_shape
    split_shape = []
    for r, s in zip(reps, padded):
        split_shape += [r, s]
    g = F.sum(F.reshape(g, tuple(split_shape)), tuple(range(0, 2 * len(reps), 2)))
    return (F.reshape(g, in_shape),)


def repeat(input, *sizes):
    x = input._data
    reps = _shape_arg(sizes)
    if len(reps) < x.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
            "tensor")
    data = np.tile(x, reps)
    if data.ndim < len(reps):
        data = data.reshape((1,) * (len(reps) - data.ndim) + data.shape)
    return RepeatBackward0.record(data, (input,), (), (reps, x.shape))


@formula("RepeatInterleaveBackward0", attrs=("axis", "repeats", "in_shape"))
def RepeatInterleaveBackward0(ctx, g):
    if not F.is_array(g):
        rows = np.repeat(np.arange(len(ctx.repeats)), ctx.repeats).astype(np.int64)
        return (index_add(F.zeros_like(g, ctx.in_shape), ctx.axis, _wrap(rows), g),)
    # Sum each run of repeated rows back onto its source row.
    moved = np.moveaxis(g, ctx.axis, 0)
    starts = np.concatenate([[0], np.cumsum(ctx.repeats)[:-1]]).astype(np.int64)
    if moved.shape[0] == 0:
        summed = np.zeros((len(ctx.repeats),) + moved.shape[1:], dtype=g.dtype)
    else:
        summed = np.add.reduceat(moved, starts, axis=0)
        summed[np.asarray(ctx.repeats) == 0] = 0
    out = np.moveaxis(summed, 0, ctx.axis)
    return (out.reshape(ctx.in_shape),)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times along ``dim`` (the flattened tensor when None)."""
    if repeats is None:  # torch.repeat_interleave(counts): indices repeated by their counts
        counts = input._data
        return _wrap(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    src = input if dim is not None else reshape(input, -1)
    x = src._data
    ax = wrap_dim(dim if dim is not None else 0, x.ndim)
    reps = repeats._data if isinstance(repeats, Tensor) else repeats
    reps = np.broadcast_to(np.asarray(reps, dtype=np.int64), (x.shape[ax],))
    data = np.repeat(x, reps, axis=ax)
    return RepeatInterleaveBackward0.record(data, (src,), (), (ax, reps, x.shape))


def tile(input, dims):
    dims = tuple(dims)
    if len(dims) < input._data.ndim:
        dims = (1,) * (input._data.ndim - len(dims)) + dims
    return repeat(input, dims)


@formula("CloneBackward0")
def CloneBackward0(ctx, g):
    return (g,)


def clone(input, *, memory_format=None):
    return CloneBackward0.record(input._data.copy(), (input,))


def contiguous(input, memory_format=None):
    if input._data.flags.c_contiguous:
        return input
    return clone(input)


@formula("ToCopyBackward0", attrs=("in_dtype",))
def ToCopyBackward0(ctx, g):
    gd = g.dtype if F.is_array(g) else g._data.dtype
    if gd.kind == "c" and np.dtype(ctx.in_dtype).kind != "c":
        # a real tensor cast to complex: its gradient is the real part (as PyTorch)
        if F.is_array(g):
            g = g.real
        else:
            g = view_as_real(g).select(-1, 0)
    return (F.astype(g, ctx.in_dtype),)


def to_dtype(input, np_dtype, copy=False):
    """Cast to ``np_dtype`` (a NumPy dtype), recording ToCopyBackward0."""
    x = input._data
    if x.dtype == np_dtype and not copy:
        return input
    data = x.astype(np_dtype)
    if not dt.is_inexact_np(np_dtype):
        return _wrap(data)
    return ToCopyBackward0.record(data, (input,), (), (x.dtype,))


def _split_formula(ctx, grads):
    """Backward of split/chunk: one node with an output per piece."""
    like = next(g for g in grads if g is not None)
    parts = [F.astype(F.zeros_like(like, s), ctx.dtype) if g is None else g
             for g, s in zip(grads, ctx.shapes)]
    if F.is_array(like):
        return (np.concatenate(parts, axis=ctx.axis),)
    return (cat(parts, ctx.axis),)


_SPLIT = dict(attrs=("axis", "dtype", "shapes"), outputs=None)
SplitBackward0 = formula("SplitBackward0", **_SPLIT)(_split_formula)
SplitWithSizesBackward0 = formula("SplitWithSizesBackward0", **_SPLIT)(_split_formula)


@formula("UnbindBackward0", attrs=("axis", "dtype", "piece_shape"), outputs=None)
def UnbindBackward0(ctx, grads):
    like = next(g for g in grads if g is not None)
    if F.is_array(like):
        # one C-contiguous buffer written piece by piece: np.stack would keep the pieces'
        # (often permuted) memory order, and the view that usually follows would copy again
        ax, shape = ctx.axis, ctx.piece_shape
        dtype = np.result_type(*[ctx.dtype if g is None else g.dtype for g in grads])
        out = np.empty(shape[:ax] + (len(grads),) + shape[ax:], dtype)
        index = (slice(None),) * ax
        if ax and _parallel.threads_for(out.size) > 1:  # runs of the first dim, shared
            rest = index[1:]

            def run(s, e):
                for i, g in enumerate(grads):
                    out[(slice(s, e),) + rest + (i,)] = 0 if g is None else g[s:e]

            _parallel.run_rows(run, out.shape[0], out.size // out.shape[0])
        else:
            for i, g in enumerate(grads):
                out[index + (i,)] = 0 if g is None else g
        return (out,)
    parts = [F.astype(F.zeros_like(like, ctx.piece_shape), ctx.dtype) if g is None else g
             for g in grads]
    return (stack(parts, ctx.axis),)


def _multi_output(input, pieces, node_cls, attrs):
    """Wrap views ``pieces`` of ``input`` as outputs 0..n-1 of ``node_cls``."""
    outs = node_cls.record(tuple(pieces), (input,), (), attrs)
    for o in outs:
        input._share_version(o)
    return outs


def split(input, split_size_or_sections, dim=0):
    x = input._data
    ax = wrap_dim(dim, x.ndim)
    n = x.shape[ax]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and n > 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        bounds = list(range(0, n, size))[1:] if size > 0 else []
        node_cls = SplitBackward0
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                f"at dimension {ax}), but got split_sizes={sizes}")
        bounds = list(np.cumsum(sizes)[:-1])
        node_cls = SplitWithSizesBackward0
    pieces = np.split(x, bounds, axis=ax)
    return _multi_output(input, pieces, node_cls, (ax, x.dtype, [p.shape for p in pieces]))


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: %d" % chunks)
    n = input._data.shape[wrap_dim(dim, input._data.ndim)]
    size = -(-n // chunks) if n else 1
    return split(input, size, dim)


def tensor_split(input, indices_or_sections, dim=0):
    x = input._data
    ax = wrap_dim(dim, x.ndim)
    pieces = np.array_split(x, indices_or_sections, axis=ax)
    return _multi_output(input, pieces, SplitBackward0, (ax, x.dtype, [p.shape for p in pieces]))


def unbind(input, dim=0):
    x = input._data
    ax = wrap_dim(dim, x.ndim)
    pieces = [x[(slice(None),) * ax + (i,)] for i in range(x.shape[ax])]
    return _multi_output(input, pieces, UnbindBackward0,
                         (ax, x.dtype, x.shape[:ax] + x.shape[ax + 1:]))


def narrow(input, dim, start, length):
    x = input._data
    ax = wrap_dim(dim, x.ndim)
    start = int(start)
    if start < 0:
        start += x.shape[ax]
    if start + length > x.shape[ax] or length < 0:
        raise RuntimeError(
            f"start ({start}) + length ({length}) exceeds dimension size ({x.shape[ax]}).")
    index = (slice(None),) * ax + (slice(start, start + length),)
    out = SliceBackward0.record(x[index], (input,), (), (x.shape, index, False))
    input._share_version(out)
    return out


def _take_slice(g, axis, index):
    """``g[..., index, ...]`` along ``axis`` (an int or a slice), differentiable on Tensors."""
    idx = (slice(None),) * axis + (index,)
    if F.is_array(g):
        return g[idx]
    return getitem(g, idx)


@formula("CatBackward0", attrs=("axis", "bounds"))
def CatBackward0(ctx, g):
    lo = [0] + list(ctx.bounds)
    hi = list(ctx.bounds) + [g.shape[ctx.axis]]
    return tuple(None if n is None else _take_slice(g, ctx.axis, slice(a, b))
                 for (n, _), a, b in zip(ctx.next_functions, lo, hi))


def _tensor_seq(tensors, name):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        "not Tensor")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{name}(): expected a non-empty list of Tensors")
    return tensors


def _common_dtype(arrays):
    dts = {a.dtype for a in arrays}
    if len(dts) == 1:
        return None
    out = arrays[0]
    rt = out.dtype
    for a in arrays[1:]:
        rt = result_type(_wrap(np.empty((1,), rt)), _wrap(np.empty((1,), a.dtype)))
    return rt


def cat(tensors, dim=0, *, out=None):
    tensors = _tensor_seq(tensors, "cat")
    arrays = [t._data for t in tensors]
    # Legacy: 1-D empty tensors are skipped, as in PyTorch.
    keep = [i for i, a in enumerate(arrays) if not (a.ndim == 1 and a.size == 0)] or [0]
    arrays_k = [arrays[i] for i in keep]
    ref = arrays_k[0]
    ax = wrap_dim(dim, ref.ndim)
    for i, a in zip(keep, arrays_k):
        if a.ndim != ref.ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {ref.ndim} and {a.ndim}")
        for d in range(ref.ndim):
            if d != ax and a.shape[d] != ref.shape[d]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {ax}. Expected size "
                    f"{ref.shape[d]} but got size {a.shape[d]} for tensor number {i} in the list.")
    rt = _common_dtype(arrays_k)
    data = np.concatenate(arrays_k, axis=ax, dtype=rt)
    if out is not None:
        out._data = data
        out._bump_version()
        return out
    kept = tuple(tensors[i] for i in keep)
    bounds = [int(b) for b in np.cumsum([a.shape[ax] for a in arrays_k])[:-1]]
    return CatBackward0.record(data, kept, (), (ax, bounds))


concat = concatenate = cat


@formula("StackBackward0", attrs=("axis",))
def StackBackward0(ctx, g):
    return tuple(None if n is None else _take_slice(g, ctx.axis, i)
                 for i, (n, _) in enumerate(ctx.next_functions))


def stack(tensors, dim=0, *, out=None):
    tensors = _tensor_seq(tensors, "stack")
    arrays = [t._data for t in tensors]
    for i, a in enumerate(arrays):
        if a.shape != arrays[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {_fmt(arrays[0].shape)} at "
                f"entry 0 and {_fmt(a.shape)} at entry {i}")
    ax = wrap_dim(dim, arrays[0].ndim + 1)
    data = np.stack(arrays, axis=ax, dtype=_common_dtype(arrays))
    if out is not None:
        out._data = data
        out._bump_version()
        return out
    return StackBackward0.record(data, tuple(tensors), (), (ax,))


def hstack(tensors):
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors):
    return cat([t if t._data.ndim > 1 else t.reshape(1, -1) for t in tensors], 0)


@formula("FlipBackward0", attrs=("axes",))
def FlipBackward0(ctx, g):
    if F.is_array(g):
        return (np.flip(g, ctx.axes).copy(),)
    return (flip(g, *ctx.axes),)


def flip(input, *dims):
    x = input._data
    dims = _shape_arg(dims)
    axes = tuple(wrap_dim(d, x.ndim) for d in dims)
    data = np.flip(x, axes).copy()
    return FlipBackward0.record(data, (input,), (), (axes,))


def fliplr(input):
    return flip(input, 1)


def flipud(input):
    return flip(input, 0)


@formula("RollBackward0", attrs=("shifts", "axes", "shape"))
def RollBackward0(ctx, g):
    back = tuple(-s for s in ctx.shifts) if ctx.axes is not None else -ctx.shifts
    if F.is_array(g):
        if ctx.axes is None:
            return (np.roll(g.reshape(-1), back).reshape(ctx.shape),)
        return (np.roll(g, back, ctx.axes),)
    return (roll(g, back, ctx.axes),)


def roll(input, shifts, dims=None):
    x = input._data
    if dims is None:
        data = np.roll(x.reshape(-1), shifts).reshape(x.shape)
        return RollBackward0.record(data, (input,), (), (shifts, None, x.shape))
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    axes = (dims,) if isinstance(dims, int) else tuple(dims)
    axes = tuple(wrap_dim(d, x.ndim) for d in axes)
    data = np.roll(x, shifts, axes)
    return RollBackward0.record(data, (input,), (), (shifts, axes, x.shape))


@formula("DiagonalBackward0", attrs=("in_shape", "offset", "dim1", "dim2"))
def DiagonalBackward0(ctx, g):
    if F.is_array(g):
        out = np.zeros(ctx.in_shape, dtype=g.dtype)
        _writable_diagonal(out, ctx.offset, ctx.dim1, ctx.dim2)[...] = g
        return (out,)
    from .math_extra import diag_embed  # deferred: cycle: math_extra imports shape
    out = diag_embed(g, ctx.offset, ctx.dim1, ctx.dim2)
    if tuple(out.shape) != tuple(ctx.in_shape):
        raise RuntimeError("the second derivative of diagonal() of a non-square slice is not "
                           "implemented with differentiable operations in numtorch")
    return (out,)


def _writable_diagonal(a, offset, dim1, dim2):
    """A writable view of ``a``'s diagonal (the view np.diagonal returns is read-only)."""
    d = np.diagonal(a, offset, dim1, dim2)
    start = d.__array_interface__["data"][0] - a.__array_interface__["data"][0] if d.size else 0
    return np.ndarray(d.shape, a.dtype, buffer=a, offset=start, strides=d.strides)


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The ``offset`` diagonal over dims ``dim1``/``dim2`` as a view, in the last dimension."""
    x = input._data
    d1, d2 = wrap_dim(dim1, x.ndim), wrap_dim(dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    if x.flags.writeable and x.flags.c_contiguous:
        data = _writable_diagonal(x, offset, d1, d2)
    else:
        data = np.diagonal(x, offset, d1, d2)
    out = DiagonalBackward0.record(data, (input,), (), (x.shape, offset, d1, d2))
    input._share_version(out)
    return out


def diag(input, diagonal=0):
    """A 1-D input becomes a matrix with it on the ``diagonal``; a 2-D input gives that diagonal."""
    x = input._data
    if x.ndim == 2:
        return clone(globals()["diagonal"](input, diagonal))
    if x.ndim != 1:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")
    # deferred: cycle: math_extra imports shape
    from .math_extra import diag_embed  # recorded as DiagEmbedBackward0, as in PyTorch
    return diag_embed(input, diagonal, 0, 1)


@formula("TrilBackward0", attrs=("k",))
def TrilBackward0(ctx, g):
    return (np.tril(g, ctx.k) if F.is_array(g) else tril(g, ctx.k),)


@formula("TriuBackward0", attrs=("k",))
def TriuBackward0(ctx, g):
    return (np.triu(g, ctx.k) if F.is_array(g) else triu(g, ctx.k),)


def tril(input, diagonal=0):
    return TrilBackward0.record(np.tril(input._data, diagonal), (input,), (), (diagonal,))


def triu(input, diagonal=0):
    return TriuBackward0.record(np.triu(input._data, diagonal), (input,), (), (diagonal,))


def size_of(input):
    return Size(input._data.shape)


# ---------------------------------------------------------------------------- public names
# (function, numtorch.* exports, Tensor methods, in-place methods, nodes)
for _fn, _exports, _methods, _inplace, _nodes in [
    (view, False, True, None, (ViewBackward0,)),
    (view_as, False, True, None, (ViewBackward0,)),
    (reshape, True, True, None, (ViewBackward0, UnsafeViewBackward0)),
    (reshape_as, False, True, None, (ViewBackward0, UnsafeViewBackward0)),
    (flatten, True, True, None, (ViewBackward0, UnsafeViewBackward0)),
    (unflatten, True, True, None, (ViewBackward0,)),
    (squeeze, True, True, None, (SqueezeBackward0, SqueezeBackward1, SqueezeBackward2)),
    (unsqueeze, True, True, None, (UnsqueezeBackward0,)),
    (permute, True, True, None, (PermuteBackward0,)),
    (transpose, ("transpose", "swapaxes", "swapdims"), ("transpose", "swapaxes", "swapdims"),
     None, (TransposeBackward0,)),
    (t, True, True, None, (TBackward0,)),
    (movedim, ("movedim", "moveaxis"), ("movedim", "moveaxis"), None, (PermuteBackward0,)),
    (expand, False, True, None, (ExpandBackward0,)),
    (expand_as, False, True, None, (ExpandBackward0,)),
    (broadcast_to, True, True, None, (ExpandBackward0,)),
    (repeat, True, True, None, (RepeatBackward0,)),
    (tile, True, True, None, (RepeatBackward0,)),
    (repeat_interleave, True, True, None, (RepeatInterleaveBackward0,)),
    (contiguous, False, True, None, (CloneBackward0,)),
    (clone, False, True, None, (CloneBackward0,)),
    (chunk, True, True, None, (SplitBackward0,)),
    (split, True, True, None, (SplitBackward0, SplitWithSizesBackward0)),
    (tensor_split, True, True, None, (SplitBackward0,)),
    (unbind, True, True, None, (UnbindBackward0,)),
    (narrow, True, True, None, ()),
    (cat, ("cat", "concat", "concatenate"), False, None, (CatBackward0,)),
    (stack, True, False, None, (StackBackward0,)),
    (hstack, True, False, None, (CatBackward0,)), (vstack, True, False, None, (CatBackward0,)),
    (flip, True, True, None, (FlipBackward0,)),
    (fliplr, True, True, None, (FlipBackward0,)), (flipud, True, True, None, (FlipBackward0,)),
    (roll, True, True, None, (RollBackward0,)),
    (tril, True, True, "tril_", (TrilBackward0,)),
    (triu, True, True, "triu_", (TriuBackward0,)),
    (diagonal, True, True, None, (DiagonalBackward0,)),
    (diag, True, True, None, ()),
]:
    declare(_fn, export=_exports, method=_methods, inplace=_inplace, nodes=_nodes)
