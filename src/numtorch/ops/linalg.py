"""Matrix products (mm, bmm, matmul, addmm, dot, mv, outer, linear, einsum) and pairwise
distances (cdist)."""

import math

import numpy as np

from .._tensor import Tensor
from .._threads import addmm as _blas_addmm
from .._threads import matmul as _blas_product
from .._threads import products as _blas_products
from ..autograd.grad_mode import _GradState
from ..autograd.node import Node
from . import _formulas as F
from . import _parallel
from ._lowp import fp32_op, lower_precision_op
from ._registry import OUT, declare, formula
from .shape import UnsafeViewBackward0, expand, reshape

_wrap = Tensor._wrap


def _product(a, b):
    """``a @ b`` on arrays: BLAS threads by size (numtorch._threads.matmul), a stack of many
    small products shared among numtorch's threads (ops._parallel.stacked_matmul)."""
    if a.ndim == 2 and b.ndim == 2:  # (no stack to cut: straight to BLAS's threads)
        return _blas_product(a, b)
    return _parallel.stacked_matmul(a, b, _blas_product)


def _as_t(x):
    return x if isinstance(x, Tensor) else _wrap(np.asarray(x))


def _mm(x, y):
    """``x @ y`` for the formulas: NumPy on arrays, the recorded ``matmul`` on Tensors."""
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        return _product(x, y)
    return matmul(_as_t(x), _as_t(y))


def _mT(x):
    return F.transpose(x, -1, -2)


def _same_dtype(a, b, name):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_tn(a)} != {_tn(b)}"
            if name != "dot" else
            f"dot : expected both vectors to have same dtype, but found {_tn(a)} and {_tn(b)}")


def _tn(t):
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "float16": "c10::Half"}.get(t._data.dtype.name, t._data.dtype.name)


def _grad_rhs(a, g):
    """``a.T @ g``, the gradient of the right operand of ``a @ b``.

    Computed as ``(g.T @ a).T``: BLAS runs faster in that orientation, and when ``b`` is a
    transposed weight (``linear``) the result is already contiguous in the weight's layout. A
    single row (batch 1) is an outer product, which NumPy's matmul does slowly.
    """
    if a.shape[0] == 1:
        return (g.T * a).T
    return _product(g.T, a).T


@formula("MmBackward0", saves={"a": 0, "b": 1})
def MmBackward0(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    if F.is_array(g):
        return (_product(g, ctx.b.T) if na is not None else None,
                _grad_rhs(ctx.a, g) if nb is not None else None)
    return (_mm(g, _mT(ctx.b)) if na is not None else None,
            _mm(_mT(ctx.a), g) if nb is not None else None)


def _into(out, result):
    """Honour an ``out=`` tensor: copy the result into it (no graph is recorded, as in PyTorch
    where out= ops do not support autograd)."""
    if out is None:
        return result
    if result._requires_grad and (out._requires_grad or result.grad_fn is not None):
        if _GradState.enabled:
            raise RuntimeError(
                "out=... arguments don't support automatic differentiation, but one of the "
                "arguments requires grad.")
    out._data = np.array(result._data, dtype=out._data.dtype, copy=True)
    out._bump_version()
    return out


@lower_precision_op
def mm(input, mat2, *, out=None):
    if out is not None:
        return _into(out, mm(input, mat2))
    return _mm_recorded(input, mat2)


def _mm_recorded(input, mat2):
    """``mm`` past its lower-precision wrapper (``matmul`` of two matrices, already through
    its own, calls this)."""
    a, b = input._data, mat2._data
    if a.ndim != 2 or b.ndim != 2:
        which, t = ("self", a) if a.ndim != 2 else ("mat2", b)
        raise RuntimeError(f"{which} must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
            f"{b.shape[0]}x{b.shape[1]})")
    _same_dtype(input, mat2, "mm")
    return MmBackward0.record(_product(a, b), (input, mat2), (a, b))


@formula("AddmmBackward0", saves={"m1": 1, "m2": 2}, attrs=("bias_shape", "alpha", "beta"))
def AddmmBackward0(ctx, g):
    (nb, _), (n1, _), (n2, _) = ctx.next_functions
    if F.is_array(g):
        return _addmm_backward_arrays(ctx, g, nb is not None, n1 is not None, n2 is not None)
    gb = None
    if nb is not None:
        gb = F.unbroadcast(g if ctx.beta == 1 else g * ctx.beta, ctx.bias_shape)
    ga = g if ctx.alpha == 1 else g * ctx.alpha
    return (gb, _mm(ga, _mT(ctx.m2)) if n1 is not None else None,
            _mm(_mT(ctx.m1), ga) if n2 is not None else None)


def _addmm_backward_arrays(ctx, g, want_bias, want_m1, want_m2):
    """AddmmBackward0 on arrays: the two products and a row vector bias's gradient are one job
    for numtorch's threads (woken once; the bias's sum runs while they wake)."""
    ga = g if ctx.alpha == 1 else g * ctx.alpha
    gb = rows = None
    shape = ctx.bias_shape
    if want_bias:
        if (ctx.beta == 1 and g.ndim == 2 and g.flags.c_contiguous and len(shape) <= 2
                and shape[-1:] == g.shape[1:] and math.prod(shape) == g.shape[1]):
            rows = []  # a bias row: summed in the job below
        else:
            gb = F.unbroadcast(g if ctx.beta == 1 else g * ctx.beta, shape)
    pairs = []
    if want_m1:
        pairs.append((ga, ctx.m2.T))
    rhs_outer = want_m2 and ctx.m1.shape[0] == 1
    if want_m2 and not rhs_outer:
        pairs.append((ga.T, ctx.m1))
    extra = () if rows is None else (lambda: rows.append(_parallel.row_sums(g, inline=True)),)
    if pairs:
        outs = _blas_products(pairs, extra)
    else:
        outs = []
        for f in extra:
            f()
    if rows is not None:
        gb = rows[0].reshape(shape)
    g1 = outs.pop(0) if want_m1 else None
    g2 = _grad_rhs(ctx.m1, ga) if rhs_outer else outs.pop(0).T if want_m2 else None
    return gb, g1, g2


@lower_precision_op
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)``."""
    m1, m2 = mat1._data, mat2._data
    if m1.ndim != 2 or m2.ndim != 2 or m1.shape[1] != m2.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, m1.shape))} and "
            f"{'x'.join(map(str, m2.shape))})")
    bias = input._data
    if m1.dtype != m2.dtype or bias.dtype != m2.dtype:
        which, d = ("mat1", m1) if m1.dtype != m2.dtype else ("self", bias)
        raise RuntimeError(f"{which} and mat2 must have the same dtype, but got {_dn(d)} and "
                           f"{_dn(m2)}")
    try:
        if alpha == 1:
            data = _blas_addmm(bias if beta == 1 else beta * bias, m1, m2)
        else:
            data = _product(m1, m2)
            data *= alpha
            _parallel.binary(np.add, data, bias if beta == 1 else beta * bias, out=data)
    except ValueError:
        raise RuntimeError(_expand_error(input, (m1.shape[0], m2.shape[1]))) from None
    return AddmmBackward0.record(data, (input, mat1, mat2), (m1, m2),
                                 (bias.shape, alpha, beta))


def _expand_error(tensor, target):
    """PyTorch's message for a ``tensor`` whose shape does not expand to ``target``."""
    shape = tuple(tensor.shape)
    if len(shape) > len(target):
        return (f"expand({tensor.type()}{{{list(shape)}}}, size={list(target)}): the number of "
                f"sizes provided ({len(target)}) must be greater or equal to the number of "
                f"dimensions in the tensor ({len(shape)})")
    lead = len(target) - len(shape)
    for i in range(len(target) - 1, lead - 1, -1):  # PyTorch reports the last mismatch first
        size = shape[i - lead]
        if size != 1 and size != target[i]:
            break
    return (f"The expanded size of the tensor ({target[i]}) must match the existing size "
            f"({size}) at non-singleton dimension {i}.  Target sizes: {list(target)}.  Tensor "
            f"sizes: {list(shape)}")


@formula("BmmBackward0", saves={"a": 0, "b": 1})
def BmmBackward0(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    if F.is_array(g) and na is not None and nb is not None:
        # both products in one job for numtorch's threads
        return tuple(_parallel.stacked_matmuls(
            [(g, np.swapaxes(ctx.b, -1, -2)), (np.swapaxes(ctx.a, -1, -2), g)], _blas_product))
    return (_mm(g, _mT(ctx.b)) if na is not None else None,
            _mm(_mT(ctx.a), g) if nb is not None else None)


@lower_precision_op
def bmm(input, mat2, *, out=None):
    if out is not None:
        return _into(out, bmm(input, mat2))
    a, b = input._data, mat2._data
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{a.shape[0]}, "
            f"{a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {_dn(a)} but found {_dn(b)}")
    return BmmBackward0.record(_product(a, b), (input, mat2), (a, b))


@formula("DotBackward0", saves={"a": 0, "b": 1})
def DotBackward0(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    return (g * ctx.b if na is not None else None, g * ctx.a if nb is not None else None)


@formula("MvBackward0", saves={"a": 0, "b": 1})
def MvBackward0(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    a, b = ctx.a, ctx.b
    return (F.reshape(g, (a.shape[0], 1)) * F.reshape(b, (1, b.shape[0]))
            if na is not None else None,
            _mm(_mT(a), g) if nb is not None else None)


def dot(input, other):
    a, b = input._data, other._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape != b.shape:
        raise RuntimeError(
            "inconsistent tensor size, expected tensor [%d] and src [%d] to have the same number "
            "of elements, but got %d and %d elements respectively"
            % (a.shape[0], b.shape[0], a.shape[0], b.shape[0]))
    _same_dtype(input, other, "dot")
    return DotBackward0.record(np.asarray(np.dot(a, b)), (input, other), (a, b))


def mv(input, vec):
    a, b = input._data, vec._data
    if a.ndim != 2 or b.ndim != 1 or a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"size mismatch, got input ({a.shape[0] if a.ndim else 0}), mat "
            f"({'x'.join(map(str, a.shape))}), vec ({b.shape[0] if b.ndim else 0})")
    if a.dtype != b.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_dn(b)}, "
                           f"{_dn(a)}, and {_dn(b)}")
    return MvBackward0.record(a @ b, (input, vec), (a, b))


@lower_precision_op
def matmul(input, other, *, out=None):
    """Matrix product with PyTorch's rules for 1-D and batched operands."""
    if out is not None:
        return _into(out, matmul(input, other))
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and "
            f"{b.ndim}D")
    if a.ndim == 2 and b.ndim == 2:
        return _mm_recorded(input, other)
    if a.ndim == 1 and b.ndim == 1:
        return dot(input, other)
    if a.ndim == 2 and b.ndim == 1:
        return mv(input, other)
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] == b.shape[0]:
        return bmm(input, other)
    _same_dtype(input, other, "matmul")
    return _matmul_folded(input, other)


def _matmul_folded(input, other):
    """Broadcasting matmul composed of recorded ops, as PyTorch does it: a 2-D right operand
    folds the left one's batch into ``mm`` rows; otherwise both are expanded to the common
    batch for ``bmm``. The result is an unsafe view of the product."""
    a, b = input._data, other._data
    an = a[None, :] if a.ndim == 1 else a
    bn = b[:, None] if b.ndim == 1 else b
    try:
        if an.shape[-1] != bn.shape[-2]:
            raise ValueError
        batch = np.broadcast_shapes(an.shape[:-2], bn.shape[:-2])
    except ValueError:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_mat_shape(a)} and {_mat_shape(b)})"
        ) from None
    n, k, m = an.shape[-2], an.shape[-1], bn.shape[-1]
    x = reshape(input, an.shape) if a.ndim == 1 else input
    y = reshape(other, bn.shape) if b.ndim == 1 else other
    if bn.ndim == 2:
        prod = mm(reshape(x, (-1, k)), y)
    else:
        size = int(np.prod(batch))
        x = reshape(expand(x, batch + (n, k)), (size, n, k))
        y = reshape(expand(y, batch + (k, m)), (size, k, m))
        prod = bmm(x, y)
    shape = batch + ((n,) if a.ndim > 1 else ()) + ((m,) if b.ndim > 1 else ())
    return UnsafeViewBackward0.record(prod._data.reshape(shape), (prod,), (), (prod.shape,))


def _mat_shape(a):
    return f"{int(np.prod(a.shape[:-1]))}x{a.shape[-1]}" if a.ndim > 1 else f"1x{a.shape[0]}"


def outer(input, vec2):
    return input.reshape(-1, 1) * vec2.reshape(1, -1)



@lower_precision_op
def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, recorded as PyTorch records it (AddmmBackward0 over TBackward0
    for a 2-D input)."""
    x, w = input._data, weight._data
    if x.shape[-1] != w.shape[-1] if w.ndim == 2 else False:
        rows = int(np.prod(x.shape[:-1])) if x.ndim > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} and "
            f"{w.shape[1]}x{w.shape[0]})")
    if x.dtype != w.dtype:
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {_dn(x)} and {_dn(w)}")
    wt = weight.t()
    if x.ndim == 2 and bias is not None:
        return addmm(bias, input, wt)
    if x.ndim > 2 and bias is not None and w.ndim == 2 and x.flags.c_contiguous:
        # as PyTorch: a contiguous batch is one addmm over its rows, viewed back (the bias
        # added inside the product's output, not as a separate pass and node)
        rows = addmm(bias, input.view(-1, x.shape[-1]), wt)
        return rows.view(*x.shape[:-1], w.shape[0])
    out = matmul(input, wt)
    if bias is not None:
        out = out + bias
    return out


def _dn(a):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long"}.get(
        a.dtype.name, a.dtype.name)


_EINSUM_MAX = 16  # operands an einsum can record (one saved slot each)


@lower_precision_op
def einsum(equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = operands[0]
    arrays = [o._data for o in operands]
    equation = _expand_ellipsis(equation.replace(" ", ""), arrays)
    data = np.asarray(np.einsum(equation, *arrays, optimize=True))
    if len(operands) > _EINSUM_MAX and _GradState.enabled and any(
            o._requires_grad for o in operands):
        raise NotImplementedError(
            f"numtorch.einsum records at most {_EINSUM_MAX} operands for autograd")
    saved = tuple(arrays) + (None,) * (_EINSUM_MAX - len(arrays))
    return EinsumBackward0.record(data, tuple(operands), saved, (equation,))


def _expand_ellipsis(equation, arrays):
    """Spell out ``...`` with explicit letters so backward can build the reverse equations."""
    if "..." not in equation:
        return equation
    lhs, arrow, out = equation.partition("->")
    specs = lhs.split(",")
    used = set(equation) - set(".,->")
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    n_ell = max(a.ndim - (len(s) - 3) for s, a in zip(specs, arrays) if "..." in s)
    ell = "".join(free[:n_ell])
    specs = [s.replace("...", ell[n_ell - (a.ndim - (len(s) - 3)):]) if "..." in s else s
             for s, a in zip(specs, arrays)]
    if arrow:
        out = out.replace("...", ell)
    else:
        rest = "".join(sorted(c for c in set("".join(specs)) - set(ell)
                              if "".join(specs).count(c) == 1))
        out = ell + rest
    return ",".join(specs) + "->" + out


@formula("EinsumBackward0", saves={f"x{i}": i for i in range(_EINSUM_MAX)},
         attrs=("equation",))
def EinsumBackward0(ctx, g):
    lhs, arrow, out = ctx.equation.partition("->")
    specs = lhs.split(",")
    if not arrow:
        letters = "".join(specs)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    values = [getattr(ctx, f"x{i}") for i in range(len(specs))]
    grads = []
    for i, ((n, _), spec) in enumerate(zip(ctx.next_functions, specs)):
        if n is None:
            grads.append(None)
            continue
        others = [s for j, s in enumerate(specs) if j != i]
        arrs = [a for j, a in enumerate(values) if j != i]
        grads.append(_einsum_operand_grad(g, out, others, arrs, spec, tuple(values[i].shape)))
    return tuple(grads)


def _einsum_operand_grad(g, out, others, arrays, spec, shape):
    """Gradient of the operand with subscripts ``spec``: an einsum of ``g`` with the other
    operands, broadcast over letters summed within this operand alone (``ij->i``) and written
    onto the diagonal for a repeated letter (``ii->i``)."""
    letters = "".join(dict.fromkeys(spec))
    known = set(out).union(*others)
    kept = "".join(c for c in letters if c in known)
    if not F.is_array(g):
        grad = einsum(",".join([out] + others) + "->" + kept, g, *arrays)
        size = dict(zip(spec, shape))
        if len(kept) != len(letters):
            grad = F.expand(F.reshape(grad, tuple(size[c] if c in known else 1
                                                  for c in letters)),
                            tuple(size[c] for c in letters))
        if len(letters) == len(spec):
            return grad
        # a repeated subscript: spread onto the diagonal with identity matrices, so the
        # gradient stays an einsum (differentiable again)
        used = set(spec).union(out, *others)
        fresh = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 if c not in used)
        target, pairs, seen = "", [], set()
        for c in spec:
            if c in seen:
                d = next(fresh)
                target += d
                pairs.append(c + d)
            else:
                seen.add(c)
                target += c
        eyes = [_wrap(np.eye(size[p[0]], dtype=grad._data.dtype)) for p in pairs]
        return einsum(",".join([letters] + pairs) + "->" + target, grad, *eyes)
    grad = np.einsum(",".join([out] + others) + "->" + kept, g, *arrays, optimize=True)
    size = dict(zip(spec, shape))
    if len(kept) != len(letters):
        grad = np.broadcast_to(grad.reshape([size[c] if c in known else 1 for c in letters]),
                               [size[c] for c in letters])
    if len(letters) == len(spec):
        return grad.copy() if grad.base is not None else grad
    full = np.zeros(shape, grad.dtype)
    np.einsum(spec + "->" + letters, full)[...] = grad
    return full


# ---------------------------------------------------------------------------- cdist
@formula("CdistBackward0", saves={"x1": 0, "x2": 1, "out": OUT}, attrs=("p", "s1", "s2"))
def CdistBackward0(ctx, g):
    """The gradient of ``||x1_i - x2_j||_p`` (torch has no second derivative here)."""
    (n1, _), (n2, _) = ctx.next_functions
    if not F.is_array(g):  # create_graph: the values, with a node that refuses to go further
        arrays = CdistBackward0.backward(
            _ArrayCtx(ctx.next_functions, ctx.x1._data, ctx.x2._data, ctx.out._data, ctx.p,
                      ctx.s1, ctx.s2), g._data)
        inputs = (g, ctx.x1, ctx.x2)
        return tuple(None if a is None else _cdist_backward_backward(a, inputs) for a in arrays)
    diff = ctx.x1[..., :, None, :] - ctx.x2[..., None, :, :]
    d = ctx.out[..., None]
    p = ctx.p
    if p == 0:
        step = np.zeros_like(diff)
    elif p == 1:
        step = np.sign(diff)
    elif p == np.inf:
        step = np.sign(diff) * (np.abs(diff) == d)
    else:
        ad = np.abs(diff)
        step = np.where((d == 0) | (ad == 0), 0,
                        np.sign(diff) * ad ** (p - 1) / np.where(d == 0, 1, d) ** (p - 1))
    w = g[..., None] * step.astype(g.dtype, copy=False)
    return (F.unbroadcast(w.sum(-2), ctx.s1) if n1 is not None else None,
            F.unbroadcast(-w.sum(-3), ctx.s2) if n2 is not None else None)


class _ArrayCtx:
    """CdistBackward0's saved values as arrays (to run its array formula under create_graph)."""

    def __init__(self, next_functions, x1, x2, out, p, s1, s2):
        self.next_functions = next_functions
        self.x1, self.x2, self.out, self.p, self.s1, self.s2 = x1, x2, out, p, s1, s2


class CdistBackwardBackward0(Node):
    """Stands for cdist's gradient under create_graph: PyTorch has no derivative for it."""

    def backward(self, g):
        raise NotImplementedError("the derivative for '_cdist_backward' is not implemented.")


def _cdist_backward_backward(array, inputs):
    out = _wrap(array)
    if _GradState.enabled and any(t._requires_grad for t in inputs):
        node = CdistBackwardBackward0()
        node.next_functions = tuple(t._edge() if t._requires_grad else (None, 0)
                                    for t in inputs)
        out._requires_grad = True
        out.grad_fn = node
    return out


@fp32_op
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The ``p``-norm distance between each row of ``x1`` and each row of ``x2`` (batched)."""
    a, b = x1._data, x2._data
    for name, t in (("X1", a), ("X2", b)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} "
                           f"X2: {b.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    _same_dtype(x1, x2, "cdist")
    diff = np.abs(a[..., :, None, :] - b[..., None, :, :])
    if p == 0:
        res = (diff != 0).sum(-1).astype(diff.dtype)
    elif p == np.inf:
        res = diff.max(-1, initial=0)
    elif p == 1:
        res = diff.sum(-1)
    elif p == 2:
        res = np.sqrt((diff * diff).sum(-1))
    else:
        res = (diff ** p).sum(-1) ** (1 / p)
    return CdistBackward0.record(res.astype(a.dtype, copy=False), (x1, x2), (a, b, res),
                                 (float(p), a.shape, b.shape))


# ---------------------------------------------------------------------------- public names
declare(matmul, nodes=(MmBackward0, BmmBackward0, DotBackward0, MvBackward0))
declare(mm, nodes=(MmBackward0,))
declare(bmm, nodes=(BmmBackward0,))
declare(mv, nodes=(MvBackward0,))
declare(dot, nodes=(DotBackward0,))
declare(outer, export=("outer", "ger"), method=("outer", "ger"))
declare(addmm, inplace="addmm_", nodes=(AddmmBackward0,))
declare(einsum, method=False, nodes=(EinsumBackward0,))
declare(cdist, method=False, nodes=(CdistBackward0,))
