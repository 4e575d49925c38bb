"""Indexing and selection: ``__getitem__``/``__setitem__``, where, gather, scatter, …"""

import numpy as np

from .. import _dtype as dt
from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from . import _formulas as F
from ._registry import aux, declare, formula
from ._util import as_tensor_arg, binary_operands, wrap_dim

_wrap = Tensor._wrap


def _convert_index(index):
    """Translate a PyTorch index into a NumPy one; report whether it is advanced."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    advanced = False
    for i in index:
        if isinstance(i, Tensor):
            d = i._data
            if d.dtype.kind in "iu" and d.ndim == 0:
                out.append(int(d))
                continue
            if d.dtype.kind not in "iub":
                raise IndexError(
                    "tensors used as indices must be long, int, byte or bool tensors")
            out.append(d)
            advanced = True
        elif isinstance(i, (list, np.ndarray)):
            a = np.asarray(i)
            if a.dtype.kind not in "iub":
                if a.size == 0:
                    a = a.astype(np.int64)
                else:
                    raise IndexError(
                        "tensors used as indices must be long, int, byte or bool tensors")
            out.append(a)
            advanced = True
        elif isinstance(i, bool):
            out.append(i)
            advanced = True
        else:
            out.append(i)
    return tuple(out), advanced


def _embed_formula(ctx, g):
    """Gradient of ``x[index]``: ``g`` put back at ``index`` in zeros of x's shape."""
    return (embed(g, ctx.in_shape, ctx.index, ctx.accumulate),)


_INDEX_ATTRS = ("in_shape", "index", "accumulate")
SelectBackward0 = formula("SelectBackward0", attrs=_INDEX_ATTRS)(_embed_formula)
SliceBackward0 = formula("SliceBackward0", attrs=_INDEX_ATTRS)(_embed_formula)
IndexBackward0 = formula("IndexBackward0", attrs=_INDEX_ATTRS)(_embed_formula)


@formula("IndexPutBackward0", attrs=("index",))
def IndexPutBackward0(ctx, g):
    """Gradient of :func:`embed`: the values at ``index`` (duplicates each get theirs)."""
    if F.is_array(g):
        return (np.asarray(g[ctx.index]),)
    return (getitem(g, _as_index(ctx.index)),)


def _as_index(idx):
    return tuple(_wrap(i) if isinstance(i, np.ndarray) else i for i in idx)


def embed(g, shape, index, accumulate=False):
    """Zeros of ``shape`` with ``g`` written (``accumulate``: added) at NumPy ``index``; on
    Tensors a differentiable op (its gradient takes the values at ``index`` back)."""
    if not isinstance(g, Tensor):
        out = np.zeros(shape, dtype=g.dtype)
        if accumulate:
            np.add.at(out, index, g)
        else:
            out[index] = g
        return out
    out = embed(g._data, shape, index, accumulate)
    return IndexPutBackward0.record(out, (g,), (), (index,))


def getitem(input, index):
    x = input._data
    kind = index.__class__
    if kind is slice or kind is int:  # (the common ``x[i]``, ``x[a:b]``: no conversion needed)
        idx = (index, Ellipsis)
        try:
            data = x[idx]
        except IndexError as e:
            raise IndexError(_index_message(e, x.shape, idx)) from None
        node_cls = SliceBackward0 if kind is slice else SelectBackward0
        out = node_cls.record(data, (input,), (), (x.shape, idx, False))
        input._share_version(out)
        return out
    idx, advanced = _convert_index(index)
    if not advanced and Ellipsis not in idx:
        idx = idx + (Ellipsis,)  # NumPy then returns a 0-d view, not a scalar copy
    try:
        data = x[idx]
    except IndexError as e:
        raise IndexError(_index_message(e, x.shape, idx)) from None
    if not advanced:
        is_select = any(isinstance(i, (int, np.integer)) for i in idx)
        node_cls = SelectBackward0 if is_select else SliceBackward0
        out = node_cls.record(data, (input,), (), (x.shape, idx, False))
        input._share_version(out)  # basic indexing always gives a view
        return out
    bool_only = all(not isinstance(i, np.ndarray) or i.dtype == np.bool_ for i in idx)
    return IndexBackward0.record(np.asarray(data), (input,), (), (x.shape, idx, not bool_only))


def _index_message(err, shape, idx):
    msg = str(err)
    if "out of bounds" in msg:
        for dim, i in enumerate(i for i in idx if i is not None and i is not Ellipsis):
            if isinstance(i, (int, np.integer)) and dim < len(shape):
                if not -shape[dim] <= i < shape[dim]:
                    return (f"index {i} is out of bounds for dimension {dim} with size "
                            f"{shape[dim]}")
    if "too many indices" in msg:
        return f"too many indices for tensor of dimension {len(shape)}"
    return msg


@formula("CopySlices", attrs=("index", "v_shape"))
def CopySlices(ctx, g):
    """Backward of ``x[index] = value`` on a tensor in the graph."""
    (nx, _), (nv, _) = ctx.next_functions
    gx = gv = None
    idx = ctx.index
    if F.is_array(g):
        if nx is not None:
            gx = g.copy()
            gx[idx] = 0
        if nv is not None:
            gv = F.unbroadcast(np.asarray(g[idx]), ctx.v_shape)
        return gx, gv
    if nx is not None:
        keep = np.ones(g._data.shape, dtype=bool)
        keep[idx] = False
        gx = g * _wrap(keep)
    if nv is not None:
        gv = F.unbroadcast(getitem(g, _as_index(idx)), ctx.v_shape)
    return gx, gv


def setitem(input, index, value):
    idx, _ = _convert_index(index)
    value_t = value if isinstance(value, Tensor) else None
    vd = value._data if value_t is not None else as_tensor_arg(value, input)
    record = _GradState.enabled and (input._requires_grad or
                                     (value_t is not None and value_t._requires_grad))
    if input._is_inference:
        input._check_inplace()
    if record:
        input._check_inplace()
        # An in-place write: the node becomes ``input``'s history (not an output of record).
        node = CopySlices.__new__(CopySlices)
        node.index, node.v_shape = idx, np.shape(vd)
        node.next_functions = (input._edge(), value_t._edge() if value_t is not None else (None, 0))
    try:
        input._data[idx] = vd
    except IndexError as e:
        raise IndexError(_index_message(e, input._data.shape, idx)) from None
    except ValueError as e:
        raise RuntimeError(str(e)) from None
    input._bump_version()
    if record:
        input.grad_fn = node
        input._requires_grad = True
        input._output_nr = 0


@formula("WhereBackward0", saves={"cond": aux(0)}, attrs=("a_shape", "b_shape"))
def WhereBackward0(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    c = ctx.cond
    ga = F.unbroadcast(F.where(c, g, 0), ctx.a_shape) if na is not None else None
    gb = F.unbroadcast(F.where(c, 0, g), ctx.b_shape) if nb is not None else None
    return ga, gb


def where(condition, input=None, other=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other``."""
    if input is None and other is None:
        return tuple(_wrap(i.astype(np.int64)) for i in np.nonzero(condition._data))
    c = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if c.dtype != np.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{_dtype_name(c)}")
    if not isinstance(input, Tensor):
        input = _wrap(as_tensor_arg(input, other)) if isinstance(other, Tensor) \
            else _wrap(np.asarray(input, dt.get_default_dtype()._np if isinstance(input, float)
                                  else None))
    ad, bd = binary_operands(input, other)
    data = np.where(c, ad, bd)
    other_t = other if isinstance(other, Tensor) else None
    return WhereBackward0.record(
        data, (input, other_t), (c,), aux=(condition if isinstance(condition, Tensor) else None,),
        attrs=(ad.shape, np.shape(bd)))


def _dtype_name(a):
    return dt.from_numpy_dtype(a.dtype).name.capitalize()


@formula("MaskedFillBackward0", saves={"mask": aux(0)})
def MaskedFillBackward0(ctx, g):
    (nx, _), (nv, _) = ctx.next_functions
    mask = ctx.mask
    gx = F.where(mask, 0, g) if nx is not None else None
    gv = None
    if nv is not None:
        gv = F.cast(F.sum(F.where(mask, g, 0)), g)
    return gx, gv


def masked_fill(input, mask, value):
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype "
            f"{_dtype_name(m)}")
    value_t = value if isinstance(value, Tensor) else None
    v = value_t._data if value_t is not None else as_tensor_arg(value, input)
    if value_t is not None and value_t._data.ndim != 0:
        raise RuntimeError(
            "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value_t._data.ndim} dimension(s).")
    data = np.where(m, v.astype(input._data.dtype) if hasattr(v, "astype") else v, input._data)
    if data.shape != input._data.shape:
        data = np.broadcast_to(data, input._data.shape).copy()
    return MaskedFillBackward0.record(
        data, (input, value_t), (np.broadcast_to(m, input._data.shape),),
        aux=(mask if isinstance(mask, Tensor) else None,))


def masked_select(input, mask):
    m = np.broadcast_to(mask._data, np.broadcast_shapes(mask._data.shape, input._data.shape))
    x = np.broadcast_to(input._data, m.shape)
    if _GradState.enabled and input._requires_grad:
        return getitem(input.expand(m.shape), _wrap(m))
    return _wrap(x[m])


@formula("GatherBackward0", saves={"index": aux(0)}, attrs=("axis", "in_shape"))
def GatherBackward0(ctx, g):
    if F.is_array(g):
        out = np.zeros(ctx.in_shape, dtype=g.dtype)
        _scatter_add_np(out, ctx.axis, ctx.index, g)
        return (out,)
    return (scatter_add(F.zeros_like(g, ctx.in_shape), ctx.axis, ctx.index, g),)


def _scatter_add_np(out, axis, index, src):
    """out[index[i][j]][j] += src[i][j] along ``axis`` (duplicates accumulate)."""
    idx = list(np.indices(index.shape, sparse=True))
    idx[axis] = index
    np.add.at(out, tuple(idx), src[tuple(slice(0, s) for s in index.shape)])


def _check_index(index, name, x, axis):
    """PyTorch's checks of a gather/scatter index into ``x``: int64, and within the size of
    ``axis`` (NumPy would wrap a negative index)."""
    size = x.shape[axis] if x.ndim else 1
    if index.dtype != np.int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if index.size:
        lo, hi = index.min(), index.max()
        if lo < 0 or hi >= size:
            raise RuntimeError(f"index {int(lo if lo < 0 else hi)} is out of bounds for "
                               f"dimension {axis} with size {size}")


def gather(input, dim, index, *, sparse_grad=False):
    x, idx = input._data, index._data
    ax = wrap_dim(dim, x.ndim)
    if idx.ndim != x.ndim:
        raise RuntimeError(
            "Index tensor must have the same number of dimensions as input tensor")
    _check_index(idx, "gather", x, ax)
    src = x[tuple(slice(0, s) if d != ax else slice(None) for d, s in enumerate(idx.shape))]
    data = np.take_along_axis(src, idx, axis=ax)
    return GatherBackward0.record(data, (input,), (idx,), (ax, x.shape), aux=(index,))


def _gathered_src_grad(g, axis, index, src_shape):
    """The gradient a scatter's ``src`` gets: ``g`` gathered at ``index`` (zeros where ``src``
    is larger than ``index``)."""
    if F.is_array(g):
        gs = np.zeros(src_shape, dtype=g.dtype)
        region = tuple(slice(0, s) for s in index.shape)
        gs[region] = np.take_along_axis(g, index, axis=axis)
        return gs
    got = gather(g, axis, index)
    if tuple(index.shape) == tuple(src_shape):
        return got
    return embed(got, src_shape, tuple(slice(0, s) for s in index.shape))


def _scatter_formula(ctx, g):
    (nx, _), (ns, _) = ctx.next_functions
    gx = gs = None
    index = ctx.index
    if nx is not None:
        if F.is_array(g):
            gx = g.copy()
            _scatter_np(gx, ctx.axis, index, np.zeros((), g.dtype))
        else:
            gx = scatter(g, ctx.axis, index, value=0.0)
    if ns is not None:
        gs = _gathered_src_grad(g, ctx.axis, index, ctx.src_shape)
    return gx, gs


_SCATTER = dict(saves={"index": aux(0)}, attrs=("axis", "src_shape"))
ScatterBackward0 = formula("ScatterBackward0", **_SCATTER)(_scatter_formula)
ScatterBackward1 = formula("ScatterBackward1", **_SCATTER)(_scatter_formula)


@formula("ScatterAddBackward0", **_SCATTER)
def ScatterAddBackward0(ctx, g):
    (nx, _), (ns, _) = ctx.next_functions
    gs = None
    if ns is not None:
        gs = _gathered_src_grad(g, ctx.axis, ctx.index, ctx.src_shape)
    return (g if nx is not None else None), gs


def _scatter_np(out, axis, index, src):
    idx = list(np.indices(index.shape, sparse=True))
    idx[axis] = index
    if np.ndim(src):
        src = src[tuple(slice(0, s) for s in index.shape)]
    out[tuple(idx)] = src


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    x, idx = input._data, index._data
    ax = wrap_dim(dim, x.ndim)
    _check_index(idx, "scatter", x, ax)
    if src is None:
        src = value
    src_t = src if isinstance(src, Tensor) else None
    sd = src_t._data if src_t is not None else as_tensor_arg(src, input)
    data = x.copy()
    if reduce is None:
        _scatter_np(data, ax, idx, sd)
    elif reduce == "add":
        _scatter_add_np(data, ax, idx, np.broadcast_to(sd, idx.shape))
    elif reduce == "multiply":
        tmp = list(np.indices(idx.shape, sparse=True))
        tmp[ax] = idx
        np.multiply.at(data, tuple(tmp), np.broadcast_to(sd, idx.shape))
    else:
        raise RuntimeError(f"reduce argument must be either add or multiply. Got {reduce}")
    if reduce is not None and _GradState.enabled and (
            input._requires_grad or (src_t is not None and src_t._requires_grad)):
        raise NotImplementedError(
            "the gradient of scatter with reduce= is not implemented in numtorch; use "
            "scatter_add or scatter_reduce's out-of-place equivalent")
    node_cls = ScatterBackward0 if src_t is not None else ScatterBackward1
    return node_cls.record(data, (input, src_t), (idx,), (ax, np.shape(sd)), aux=(index,))


def scatter_add(input, dim, index, src):
    x, idx = input._data, index._data
    ax = wrap_dim(dim, x.ndim)
    _check_index(idx, "scatter_add", x, ax)
    data = x.copy()
    _scatter_add_np(data, ax, idx, src._data)
    return ScatterAddBackward0.record(data, (input, src), (idx,), (ax, src._data.shape),
                                      aux=(index,))


@formula("IndexSelectBackward0", saves={"index": aux(0)}, attrs=("axis", "in_shape"))
def IndexSelectBackward0(ctx, g):
    if F.is_array(g):
        out = np.zeros(ctx.in_shape, dtype=g.dtype)
        moved = np.moveaxis(out, ctx.axis, 0)
        np.add.at(moved, ctx.index, np.moveaxis(g, ctx.axis, 0))
        return (out,)
    return (index_add(F.zeros_like(g, ctx.in_shape), ctx.axis, ctx.index, g),)


@formula("IndexAddBackward0", saves={"index": aux(0)}, attrs=("axis", "alpha"))
def IndexAddBackward0(ctx, g):
    (nx, _), (ns, _) = ctx.next_functions
    gs = None
    if ns is not None:
        gs = index_select(g, ctx.axis, ctx.index) if not F.is_array(g) else \
            np.take(g, ctx.index, axis=ctx.axis)
        if ctx.alpha != 1:
            gs = gs * ctx.alpha
    return (g if nx is not None else None), gs


def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added at ``index`` along ``dim`` (out of place)."""
    x, idx = input._data, index._data.reshape(-1)
    ax = wrap_dim(dim, x.ndim)
    data = x.copy()
    np.add.at(np.moveaxis(data, ax, 0), idx,
              np.moveaxis(source._data * alpha if alpha != 1 else source._data, ax, 0))
    return IndexAddBackward0.record(data, (input, source), (idx,), (ax, alpha),
                                    aux=(index,))


def index_select(input, dim, index):
    x, idx = input._data, index._data
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    ax = wrap_dim(dim, x.ndim)
    idx = idx.reshape(-1)
    data = np.take(x, idx, axis=ax)
    return IndexSelectBackward0.record(data, (input,), (idx,), (ax, x.shape), aux=(index,))


def take(input, index):
    return getitem(input.reshape(-1), index)


def nonzero(input, *, as_tuple=False):
    nz = np.nonzero(input._data)
    if as_tuple:
        return tuple(_wrap(i.astype(np.int64)) for i in nz)
    return _wrap(np.stack(nz, axis=1).astype(np.int64) if nz else
                 np.zeros((0, 0), np.int64))


# ---------------------------------------------------------------------------- public names
# (function, numtorch.* exports, Tensor methods, nodes); Tensor.where, __getitem__,
# __setitem__ and the special in-place forms are attached in ops/__init__.py
for _fn, _exports, _methods, _nodes in [
    (where, True, False, (WhereBackward0,)),
    (masked_fill, True, True, (MaskedFillBackward0,)),
    (masked_select, True, True, (IndexBackward0,)),
    (gather, True, True, (GatherBackward0,)),
    (scatter, True, True, (ScatterBackward0, ScatterBackward1)),
    (scatter_add, True, True, (ScatterAddBackward0,)),
    (index_select, True, True, (IndexSelectBackward0,)),
    (index_add, True, True, (IndexAddBackward0,)),
    (take, True, True, (IndexBackward0,)),
    (nonzero, True, True, ()),
]:
    declare(_fn, export=_exports, method=_methods, nodes=_nodes)
