"""Matrix products: mm, bmm, matmul, addmm, dot, mv, outer, linear."""

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from ..autograd.node import Node
from ._lowp import lower_precision_op
from ._util import attach, unbroadcast

_wrap = Tensor._wrap


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
    return (g.T @ a).T


class MmBackward0(Node):
    _saved_fields = ("a", "b")

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        return (g @ self.b.T if na is not None else None,
                _grad_rhs(self.a, g) if nb is not None else None)


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
    a, b = input._data, mat2._data
    if a.ndim != 2 or b.ndim != 2:
        which, t = ("self", a) if a.ndim != 2 else ("mat2", b)
        raise RuntimeError(f"{which} must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
            f"{b.shape[0]}x{b.shape[1]})")
    _same_dtype(input, mat2, "mm")
    data = a @ b
    if _GradState.enabled and (input._requires_grad or mat2._requires_grad):
        node = MmBackward0()
        node.a, node.b = a, b
        node.save_versions(input, mat2)
        return attach(data, node, input, mat2)
    return _wrap(data)


class AddmmBackward0(Node):
    _saved_fields = ("m1", "m2")

    def backward(self, g):
        (nb, _), (n1, _), (n2, _) = self.next_functions
        gb = None
        if nb is not None:
            gb = unbroadcast(g, self.bias_shape) if self.beta == 1 else \
                unbroadcast(g * self.beta, self.bias_shape)
        ga = g if self.alpha == 1 else g * self.alpha
        return (gb,
                ga @ self.m2.T if n1 is not None else None,
                _grad_rhs(self.m1, ga) if n2 is not None else None)


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
    data = m1 @ m2
    if alpha != 1:
        data *= alpha
    try:
        data += bias if beta == 1 else beta * bias
    except ValueError:
        raise RuntimeError(
            f"The expanded size of the tensor ({data.shape[-1]}) must match the existing size "
            f"({bias.shape[-1]}) at non-singleton dimension 1.") from None
    if _GradState.enabled and (input._requires_grad or mat1._requires_grad or
                               mat2._requires_grad):
        node = AddmmBackward0()
        node.m1, node.m2, node.bias_shape = m1, m2, bias.shape
        node.alpha, node.beta = alpha, beta
        node.save_versions(mat1, mat2)
        return attach(data, node, input, mat1, mat2)
    return _wrap(data)


class BmmBackward0(Node):
    _saved_fields = ("a", "b")

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        a, b = self.a, self.b
        ga = gb = None
        if na is not None:
            ga = unbroadcast(g @ np.swapaxes(b, -1, -2), a.shape)
        if nb is not None:
            gb = unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape)
        return ga, gb


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
    data = a @ b
    if _GradState.enabled and (input._requires_grad or mat2._requires_grad):
        node = BmmBackward0()
        node.a, node.b = a, b
        node.save_versions(input, mat2)
        return attach(data, node, input, mat2)
    return _wrap(data)


class DotBackward0(Node):
    _saved_fields = ("a", "b")

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        return (g * self.b if na is not None else None, g * self.a if nb is not None else None)


class MvBackward0(Node):
    _saved_fields = ("a", "b")

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        return (np.outer(g, self.b) if na is not None else None,
                self.a.T @ g if nb is not None else None)


class _MatmulBackward(BmmBackward0):
    """General broadcasting matmul, including 1-D operands (PyTorch shows it as a view)."""

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        ga = gb = None
        if na is not None:
            ga = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if nb is not None:
            gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


_MatmulBackward.__name__ = "UnsafeViewBackward0"


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
    data = np.asarray(np.dot(a, b))
    if _GradState.enabled and (input._requires_grad or other._requires_grad):
        node = DotBackward0()
        node.a, node.b = a, b
        node.save_versions(input, other)
        return attach(data, node, input, other)
    return _wrap(data)


def mv(input, vec):
    a, b = input._data, vec._data
    if a.ndim != 2 or b.ndim != 1 or a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"size mismatch, got input ({a.shape[0] if a.ndim else 0}), mat "
            f"({'x'.join(map(str, a.shape))}), vec ({b.shape[0] if b.ndim else 0})")
    if a.dtype != b.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_dn(b)}, "
                           f"{_dn(a)}, and {_dn(b)}")
    data = a @ b
    if _GradState.enabled and (input._requires_grad or vec._requires_grad):
        node = MvBackward0()
        node.a, node.b = a, b
        node.save_versions(input, vec)
        return attach(data, node, input, vec)
    return _wrap(data)


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
        return mm(input, other)
    if a.ndim == 1 and b.ndim == 1:
        return dot(input, other)
    if a.ndim == 2 and b.ndim == 1:
        return mv(input, other)
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] == b.shape[0]:
        return bmm(input, other)
    _same_dtype(input, other, "matmul")
    try:
        data = np.matmul(a, b)
    except ValueError:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_mat_shape(a)} and {_mat_shape(b)})"
        ) from None
    if _GradState.enabled and (input._requires_grad or other._requires_grad):
        node = _MatmulBackward()
        node.a, node.b = a, b
        node.save_versions(input, other)
        return attach(data, node, input, other)
    return _wrap(data)


def _mat_shape(a):
    return f"{int(np.prod(a.shape[:-1]))}x{a.shape[-1]}" if a.ndim > 1 else f"1x{a.shape[0]}"


def outer(input, vec2):
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


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
    out = matmul(input, wt)
    if bias is not None:
        out = out + bias
    return out


def _dn(a):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long"}.get(
        a.dtype.name, a.dtype.name)


@lower_precision_op
def einsum(equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = operands[0]
    arrays = [o._data for o in operands]
    equation = _expand_ellipsis(equation.replace(" ", ""), arrays)
    data = np.einsum(equation, *arrays, optimize=True)
    if not (_GradState.enabled and any(o._requires_grad for o in operands)):
        return _wrap(np.asarray(data))
    node = _EinsumBackward()
    node.equation, node.arrays = equation, arrays
    node.save_versions(*operands)
    return attach(np.asarray(data), node, *operands)


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


class _EinsumBackward(Node):
    _saved_fields = ("arrays",)

    def backward(self, g):
        lhs, arrow, out = self.equation.partition("->")
        specs = lhs.split(",")
        if not arrow:
            letters = "".join(specs)
            out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        grads = []
        for i, ((n, _), spec) in enumerate(zip(self.next_functions, specs)):
            if n is None:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(specs) if j != i]
            arrs = [a for j, a in enumerate(self.arrays) if j != i]
            grads.append(_einsum_operand_grad(g, out, others, arrs, spec, self.arrays[i].shape))
        return tuple(grads)


def _einsum_operand_grad(g, out, others, arrays, spec, shape):
    """Gradient of the operand with subscripts ``spec``: an einsum of ``g`` with the other
    operands, broadcast over letters summed within this operand alone (``ij->i``) and written
    onto the diagonal for a repeated letter (``ii->i``)."""
    letters = "".join(dict.fromkeys(spec))
    known = set(out).union(*others)
    kept = "".join(c for c in letters if c in known)
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


_EinsumBackward.__name__ = "EinsumBackward0"
