"""The ops behind ``torch.linalg``: norms, decompositions, inverses and solvers.

Every function accepts batches of matrices (leading dimensions), keeps float32 as float32 and is
differentiable: decompositions and solvers have their own backward nodes (named as PyTorch names
them) with the standard matrix-calculus formulas; the rest are composed from differentiable ops.
The gradients of ``eigh`` and ``svd`` assume distinct eigen/singular values, as PyTorch's do.
"""

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from . import _formulas as F
from . import elementwise as ew
from . import linalg as _la
from . import reduction as rd
from . import shape as sh
from ._registry import OUT, formula, out
from ._util import wrap_dim
from .indexing import getitem

_wrap = Tensor._wrap
_rt = rd._return_type

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "det", "slogdet", "inv",
           "solve", "lstsq", "cholesky", "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv",
           "matrix_rank", "cross", "matrix_power", "multi_dot", "vecdot", "matmul",
           "solve_triangular", "inv_ex", "cholesky_ex", "solve_ex", "matrix_exp", "diagonal",
           "vander"]


class LinAlgError(RuntimeError):
    """A matrix was singular or not positive-definite (PyTorch's ``torch._C._LinAlgError``)."""


class return_types:
    linalg_slogdet = _rt("linalg_slogdet", ("sign", "logabsdet"))
    slogdet = _rt("slogdet", ("sign", "logabsdet"))
    linalg_eigh = _rt("linalg_eigh", ("eigenvalues", "eigenvectors"))
    linalg_svd = _rt("linalg_svd", ("U", "S", "Vh"))
    svd = _rt("svd", ("U", "S", "V"))
    linalg_qr = _rt("linalg_qr", ("Q", "R"))
    linalg_lstsq = _rt("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
    linalg_inv_ex = _rt("linalg_inv_ex", ("inverse", "info"))
    linalg_cholesky_ex = _rt("linalg_cholesky_ex", ("L", "info"))
    linalg_solve_ex = _rt("linalg_solve_ex", ("result", "info"))


matmul = _la.matmul

# ---------------------------------------------------------------------------- helpers
_TYPE_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
               "uint8": "Byte", "bool": "Bool", "float16": "Half"}


def _mT(a):
    return F.transpose(a, -1, -2)


# ---------------------------------------------------------------------------- formula helpers
# Each runs NumPy on arrays (plain backward) and the recorded op on Tensors (create_graph), so
# the gradients below can be differentiated again.
def _mm(x, y):
    return _la._mm(x, y)


def _inv(a):
    return np.linalg.inv(a) if F.is_array(a) else inv(a)


def _solve(a, b):
    """``a^-1 b`` for (batches of) matrices ``b``."""
    if not F.is_array(a):
        return solve(a, b)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return np.linalg.solve(np.broadcast_to(a, batch + a.shape[-2:]),
                           np.broadcast_to(b, batch + b.shape[-2:]))


def _tril_f(x, k=0):
    return _tril(x, k) if F.is_array(x) else sh.tril(x, k)


def _triu_f(x, k=0):
    return np.triu(x, k) if F.is_array(x) else sh.triu(x, k)


def _eye(n, like):
    """The identity (a constant) in ``like``'s dtype and kind."""
    e = np.eye(n, dtype=like.dtype if F.is_array(like) else like._data.dtype)
    return e if F.is_array(like) else _wrap(e)


def _row(v):
    """``v[..., None, :]``."""
    return F.reshape(v, tuple(v.shape[:-1]) + (1, v.shape[-1]))


def _col(v):
    """``v[..., :, None]``."""
    return F.reshape(v, tuple(v.shape) + (1,))


def _mat(v):
    """``v[..., None, None]``: a batch of numbers against a batch of matrices."""
    return F.reshape(v, tuple(v.shape) + (1, 1))


def _cat(parts, axis):
    return np.concatenate(parts, axis=axis) if F.is_array(parts[0]) else sh.cat(parts, axis)


def _not_twice(what):
    return RuntimeError(f"the derivative of {what} is not implemented with differentiable "
                        "operations in numtorch")


def _float_input(A, name):
    """The array of ``A``, refusing non-float tensors with PyTorch's message."""
    a = A._data
    if a.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{_TYPE_NAMES.get(a.dtype.name, a.dtype.name)}")
    return a


def _matrix_input(A, name, square=True):
    a = _float_input(A, name)
    if a.ndim < 2:
        raise RuntimeError(
            f"{name}: The input tensor A must have at least 2 dimensions.")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")
    return a


def _record(*tensors):
    return _GradState.enabled and any(t is not None and t._requires_grad for t in tensors)


def _batch_prefix(a, index):
    return f"(Batch element {index}): " if a.ndim > 2 else ""


def _first_zero_pivot(a):
    """(batch index, 1-based pivot) of the first singular matrix in ``a``: Gaussian elimination
    with partial pivoting, as LAPACK's getrf reports it (only run on the error path)."""
    mats = a.reshape((-1,) + a.shape[-2:]).astype(np.float64)
    for b, m in enumerate(mats):
        m = m.copy()
        n = m.shape[0]
        for k in range(n):
            p = k + int(np.argmax(np.abs(m[k:, k])))
            if m[p, k] == 0:
                return b, k + 1
            m[[k, p]] = m[[p, k]]
            m[k + 1:, k:] -= np.outer(m[k + 1:, k] / m[k, k], m[k, k:])
    return 0, n


def _singular_error(name, a):
    b, k = _first_zero_pivot(a)
    return LinAlgError(
        f"{name}: {_batch_prefix(a, b)}The diagonal element {k} is zero, the inversion could not "
        "be completed because the input matrix is singular.")


def _tril(m, k=0):
    return np.tril(m, k) if m.ndim == 2 else m * np.tri(*m.shape[-2:], k, dtype=bool)


# ---------------------------------------------------------------------------- norms
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The ``ord``-norm of ``x`` seen as a vector over ``dim`` (all elements by default)."""
    return rd.vector_norm(x, ord, dim, keepdim, dtype=dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norm over the two dimensions ``dim``: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf."""
    if dtype is not None:
        A = A.to(dtype)
    a = _float_input(A, "linalg.matrix_norm")
    if a.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    d0, d1 = (wrap_dim(d, a.ndim) for d in dim)
    if ord == "fro":
        return rd.vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        s = svdvals(sh.movedim(A, (d0, d1), (-2, -1)))
        if ord == "nuc":
            res = rd.sum(s, -1)
        else:
            res = rd.amax(s, -1) if ord == 2 else rd.amin(s, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                res = sh.unsqueeze(res, d)
        return res
    if ord in (1, -1, np.inf, -np.inf):
        inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)
        s = rd.sum(ew.abs(A), inner, keepdim=True)
        res = rd.amax(s, outer, keepdim=True) if ord > 0 else rd.amin(s, outer, keepdim=True)
        return res if keepdim else sh.squeeze(res, (d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """Vector or matrix norm, chosen by ``dim`` (and by ``A.ndim`` when only ``ord`` is given)."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is None and ord is not None:
        nd = A._data.ndim
        if nd == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        if nd != 1:
            raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must "
                               f"be 1D or 2D. Got {nd}D.")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Order {ord} not supported.")
    return rd.vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


# ---------------------------------------------------------------------------- determinants
@formula("LinalgDetBackward0", saves={"a": 0, "out": OUT})
def LinalgDetBackward0(ctx, g):
    """``d det(A) / dA = det(A) A^{-T}``; zero for an exactly singular matrix, as PyTorch's
    LU-based backward gives."""
    a = ctx.a
    if F.is_array(a):
        try:
            inv_t = _mT(np.linalg.inv(a))
        except np.linalg.LinAlgError:
            return (np.zeros_like(a),)
        return (((g * ctx.out)[..., None, None] * inv_t).astype(a.dtype, copy=False),)
    try:
        inv_t = _mT(inv(a))
    except LinAlgError:
        raise _not_twice("det at a singular matrix") from None
    return (_mat(g * ctx.out) * inv_t,)


def det(A):
    """Determinant of each square matrix in ``A``."""
    a = _matrix_input(A, "linalg.det")
    out = np.asarray(np.linalg.det(a), dtype=a.dtype)
    return LinalgDetBackward0.record(out, (A,), (a, out))


# sign is saved (unread for real input) so that changing it in place raises, as in torch
@formula("LinalgSlogdetBackward0", saves={"a": 0, "sign": out(0)}, outputs=2)
def LinalgSlogdetBackward0(ctx, grads):
    g = grads[1]
    if g is None:
        return (None,)
    a = ctx.a
    if F.is_array(a):
        try:
            inv_t = _mT(np.linalg.inv(a))
        except np.linalg.LinAlgError:
            inv_t = _mT(np.linalg.pinv(a))
        return ((g[..., None, None] * inv_t).astype(a.dtype, copy=False),)
    return (_mat(g) * _mT(inv(a)),)


def slogdet(A):
    """``(sign, log|det A|)``: the determinant without overflow."""
    a = _matrix_input(A, "linalg.slogdet")
    with np.errstate(divide="ignore"):
        sign, logabs = np.linalg.slogdet(a)
    sign, logabs = np.asarray(sign, a.dtype), np.asarray(logabs, a.dtype)
    outs = LinalgSlogdetBackward0.record((sign, logabs), (A,), (a, sign))
    return return_types.linalg_slogdet(*outs)


# ---------------------------------------------------------------------------- inverse, solve
@formula("LinalgInvExBackward0", saves={"out": OUT})
def LinalgInvExBackward0(ctx, g):
    inv_t = _mT(ctx.out)
    return (-_mm(_mm(inv_t, g), inv_t),)


def inv(A):
    """Inverse of each square matrix in ``A``; a singular matrix raises ``LinAlgError``."""
    a = _matrix_input(A, "linalg.inv")
    try:
        out = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise _singular_error("linalg.inv", a) from None
    return LinalgInvExBackward0.record(out, (A,), (out,))


@formula("LinalgSolveExBackward0", saves={"a": 0, "x": OUT},
         attrs=("vector", "a_shape", "b_shape"))
def LinalgSolveExBackward0(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    a, x = ctx.a, ctx.x
    if ctx.vector:
        g, x = _col(g), _col(x)
    gb = _solve(_mT(a), g)
    ga = F.unbroadcast(-_mm(gb, _mT(x)), ctx.a_shape) if na is not None else None
    if nb is not None:
        gb = F.unbroadcast(gb, ctx.b_shape)
        if ctx.vector:
            gb = F.reshape(gb, tuple(gb.shape[:-1]))
    return ga, (gb if nb is not None else None)


def solve(A, B, *, left=True):
    """The solution ``X`` of ``A X = B`` (``X A = B`` with ``left=False``), batched and
    broadcast; ``B`` may be a (batch of) vector(s)."""
    if not left:
        return sh.transpose(solve(sh.transpose(A, -2, -1), sh.transpose(B, -2, -1)), -2, -1)
    a = _matrix_input(A, "linalg.solve")
    b = B._data
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{_dtype_word(a)} and B of type {_dtype_word(b)} instead")
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    bm = b[..., None] if vector else b
    if bm.shape[-2] != a.shape[-1]:
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({a.shape[-2]}x{a.shape[-1]} and {bm.shape[-2]}x{bm.shape[-1]})")
    batch = np.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
    try:
        x = np.linalg.solve(np.broadcast_to(a, batch + a.shape[-2:]),
                            np.broadcast_to(bm, batch + bm.shape[-2:]))
    except np.linalg.LinAlgError:
        raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is "
                          "singular.") from None
    out = x[..., 0] if vector else x
    # B is not read by backward
    return LinalgSolveExBackward0.record(out, (A, B), (a, out), (vector, a.shape, bm.shape))


def _dtype_word(a):
    return {"float32": "Float", "float64": "Double"}.get(a.dtype.name, a.dtype.name)


def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of ``A X = B`` (through the pseudo-inverse, so differentiable).

    Only ``solution`` and ``rank`` are filled, as with PyTorch's default CPU driver ('gelsy')."""
    a = _matrix_input(A, "torch.linalg.lstsq", square=False)
    vector = B._data.ndim == a.ndim - 1
    Bm = sh.unsqueeze(B, -1) if vector else B
    if Bm._data.shape[-2] != a.shape[-2]:
        raise RuntimeError(
            "torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    rtol = rcond if rcond is not None else np.finfo(a.dtype).eps * max(a.shape[-2:])
    X = _la.matmul(pinv(A, rtol=rtol), Bm)
    if vector:
        X = sh.squeeze(X, -1)
    empty = _wrap(np.empty((0,), a.dtype))
    rank = matrix_rank(_wrap(a), rtol=rtol)
    return return_types.linalg_lstsq(X, empty, rank, _wrap(np.empty((0,), a.dtype)))


def _triangle(a, upper, unitriangular):
    """The triangle of ``a`` that solve_triangular reads (unit diagonal when asked)."""
    tri = _triu_f(a) if upper else _tril_f(a)
    if not unitriangular:
        return tri
    n = a.shape[-1]
    return (_triu_f(a, 1) if upper else _tril_f(a, -1)) + _eye(n, a)


@formula("LinalgSolveTriangularBackward0", saves={"a": 0, "x": OUT},
         attrs=("upper", "unitriangular", "a_shape", "b_shape"))
def LinalgSolveTriangularBackward0(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    x, upper = ctx.x, ctx.upper
    tri = _triangle(ctx.a, upper, ctx.unitriangular)
    if F.is_array(g):
        gb = _triangular_solve(_mT(tri), g, not upper)
    else:
        gb = solve_triangular(_mT(tri), g, upper=not upper)
    ga = None
    if na is not None:
        ga = -_mm(gb, _mT(x))
        ga = _triu_f(ga, 1 if ctx.unitriangular else 0) if upper else \
            _tril_f(ga, -1 if ctx.unitriangular else 0)
        ga = F.unbroadcast(ga, ctx.a_shape)
    return ga, (F.unbroadcast(gb, ctx.b_shape) if nb is not None else None)


def _triangular_solve(a, b, upper):
    """Solve ``a x = b`` for (batches of) triangular ``a``, by substitution when ``a`` is
    singular so that the result holds inf/nan as LAPACK's trtrs gives."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        pass
    n = a.shape[-1]
    x = np.zeros(b.shape, np.result_type(a, b))
    order = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(all="ignore"):
        for i in order:
            acc = b[..., i, :] - np.einsum("...j,...jk->...k", a[..., i, :], x)
            x[..., i, :] = acc / a[..., i, i, None]
    return x


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """Solve ``A X = B`` (``X A = B`` with ``left=False``) for triangular ``A``; only the
    ``upper`` or lower triangle of ``A`` is read."""
    a = _matrix_input(A, "linalg.solve_triangular")
    b = B._data
    if b.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 "
                           "dimensions.")
    ok = a.shape[-1] == b.shape[-2] if left else b.shape[-1] == a.shape[-2]
    if not ok:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(
            f"linalg.solve_triangular: Incompatible shapes of A and B for the equation {eq} "
            f"({a.shape[-2]}x{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})")
    if not left:
        return sh.transpose(solve_triangular(sh.transpose(A, -2, -1), sh.transpose(B, -2, -1),
                                             upper=not upper, unitriangular=unitriangular),
                            -2, -1)
    tri = np.triu(a) if upper else _tril(a)
    if unitriangular:
        tri = tri.copy()
        n = tri.shape[-1]
        tri[..., np.arange(n), np.arange(n)] = 1
    x = _triangular_solve(tri, b, upper)
    # B is not read by backward
    return LinalgSolveTriangularBackward0.record(x, (A, B), (a, x),
                                                 (upper, unitriangular, a.shape, b.shape))


def _info(a, failed_index=0):
    return _wrap(np.full(a.shape[:-2], failed_index, np.int32))


def inv_ex(A, *, check_errors=False):
    """``(inverse, info)``: ``info`` is 0, or the failing pivot for a singular matrix (whose
    inverse is then nan) instead of an error."""
    try:
        return return_types.linalg_inv_ex(inv(A), _info(A._data))
    except LinAlgError:
        if check_errors:
            raise
    a = A._data
    info = np.zeros(a.shape[:-2], np.int32).reshape(-1)
    out = np.empty(a.shape, a.dtype).reshape((-1,) + a.shape[-2:])
    for i, m in enumerate(a.reshape((-1,) + a.shape[-2:])):
        try:
            out[i] = np.linalg.inv(m)
        except np.linalg.LinAlgError:
            out[i], info[i] = np.nan, _first_zero_pivot(m)[1]
    return return_types.linalg_inv_ex(_wrap(out.reshape(a.shape)),
                                      _wrap(info.reshape(a.shape[:-2])))


def cholesky_ex(A, *, upper=False, check_errors=False):
    """``(L, info)``: ``info`` is 0, or the order of the leading minor that is not
    positive-definite (``L`` is then nan) instead of an error."""
    try:
        return return_types.linalg_cholesky_ex(cholesky(A, upper=upper), _info(A._data))
    except LinAlgError as err:
        if check_errors:
            raise
        order = int(str(err).split("order ")[-1].split(" ")[0]) if "order" in str(err) else 1
    a = A._data
    return return_types.linalg_cholesky_ex(_wrap(np.full(a.shape, np.nan, a.dtype)),
                                           _info(a, order))


def solve_ex(A, B, *, left=True, check_errors=False):
    """``(result, info)``: as ``solve`` with ``info`` 0, or nan results and a non-zero
    ``info`` for a singular matrix."""
    try:
        return return_types.linalg_solve_ex(solve(A, B, left=left), _info(A._data))
    except LinAlgError:
        if check_errors:
            raise
    a, b = A._data, B._data
    shape = np.broadcast_shapes(a.shape[:-1], b.shape) if b.ndim == a.ndim else b.shape
    return return_types.linalg_solve_ex(_wrap(np.full(shape, np.nan, a.dtype)),
                                        _info(a, _first_zero_pivot(a)[1]))


# ---------------------------------------------------------------------------- cholesky
@formula("LinalgCholeskyExBackward0", saves={"L": OUT}, attrs=("upper",))
def LinalgCholeskyExBackward0(ctx, g):
    L = ctx.L
    if ctx.upper:
        g, L = _mT(g), _mT(L)
    P = _tril_f(_mm(_mT(L), g))
    P = P - 0.5 * (_eye(L.shape[-1], P) * P)
    Linv = _inv(L)
    S = _mm(_mm(_mT(Linv), P), Linv)
    return (0.5 * (S + _mT(S)),)


def cholesky(A, *, upper=False):
    """Lower (or upper) Cholesky factor of each symmetric positive-definite matrix in ``A``."""
    a = _matrix_input(A, "linalg.cholesky")
    try:
        L = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise _not_pd_error(a) from None
    out = np.ascontiguousarray(_mT(L)) if upper else L
    return LinalgCholeskyExBackward0.record(out, (A,), (out,), (upper,))


def _not_pd_error(a):
    mats = a.reshape((-1,) + a.shape[-2:])
    for b, m in enumerate(mats):
        for k in range(1, m.shape[0] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                return LinAlgError(
                    f"linalg.cholesky: {_batch_prefix(a, b)}The factorization could not be "
                    f"completed because the input is not positive-definite (the leading minor of "
                    f"order {k} is not positive-definite).")
    return LinAlgError("linalg.cholesky: The factorization could not be completed because the "
                       "input is not positive-definite.")


# ---------------------------------------------------------------------------- qr
def _qr_grad_tall(Q, R, gQ, gR):
    """Gradient of the reduced QR of a matrix with at least as many rows as columns."""
    M = _mm(R, _mT(gR)) - _mm(_mT(gQ), Q)
    low = _tril_f(M, -1)
    M = low + _mT(low) + _eye(M.shape[-1], M) * M
    b = gQ + _mm(Q, M)
    return _mT(_solve(R, _mT(b)))


@formula("LinalgQrBackward0", saves={"Q": out(0), "R": out(1)}, attrs=("mode",), outputs=2)
def LinalgQrBackward0(ctx, grads):
    if ctx.mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                           "when mode='r'. Please use linalg.qr(A, mode='reduced') if you are "
                           "going to differentiate through linalg.qr.")
    Q, R = ctx.Q, ctx.R
    m, n = Q.shape[-2], R.shape[-1]
    if ctx.mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                           "and nrows > ncols.")
    gQ, gR = grads
    gQ = F.zeros_like(Q) if gQ is None else gQ
    gR = F.zeros_like(R) if gR is None else gR
    if m >= n:
        return (_qr_grad_tall(Q, R, gQ, gR),)
    # A = [X | Y] with X square: X = Q U, Y = Q V.
    U, V = R[..., :m], R[..., m:]
    gU, gV = gR[..., :m], gR[..., m:]
    Y = _mm(Q, V)
    gX = _qr_grad_tall(Q, U, gQ + _mm(Y, _mT(gV)), gU)
    return (_cat([gX, _mm(Q, gV)], -1),)


def qr(A, mode="reduced"):
    """QR decomposition; ``mode`` is 'reduced', 'complete' or 'r' (then ``Q`` is empty)."""
    a = _matrix_input(A, "linalg.qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    if mode == "r":
        R = np.asarray(np.linalg.qr(a, mode="r"))
        Rt = LinalgQrBackward0.record((np.empty((0,), a.dtype), R), (A,), (), ("r",))[1]
        return return_types.linalg_qr(_wrap(np.empty((0,), a.dtype)), Rt)
    Q, R = np.linalg.qr(a, mode=mode)
    return return_types.linalg_qr(*LinalgQrBackward0.record((Q, R), (A,), (Q, R), (mode,)))


# ---------------------------------------------------------------------------- eigh
def _inv_gaps(w):
    """``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it."""
    n = w.shape[-1]
    if F.is_array(w):
        with np.errstate(divide="ignore"):
            gaps = 1.0 / (w[..., None, :] - w[..., :, None])
        gaps[..., np.arange(n), np.arange(n)] = 0
        return gaps
    eye = _eye(n, w)
    return (1 - eye) / (_row(w) - _col(w) + eye)


@formula("LinalgEighBackward0", saves={"w": out(0), "V": out(1)}, outputs=2)
def LinalgEighBackward0(ctx, grads):
    gw, gV = grads
    w, V = ctx.w, ctx.V
    inner = F.zeros_like(V)
    if gV is not None:
        X = _mm(_mT(V), gV)
        inner = _inv_gaps(w) * (0.5 * (X - _mT(X)))
    if gw is not None:
        inner = inner + _eye(w.shape[-1], V) * _row(gw)
    return (F.cast(_mm(_mm(V, inner), _mT(V)), V),)


def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices; only the
    ``UPLO`` triangle of ``A`` is read."""
    a = _matrix_input(A, "linalg.eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError("Expected UPLO argument to be 'L' or 'U', but got " + str(UPLO))
    w, V = np.linalg.eigh(a, UPLO)
    return return_types.linalg_eigh(*LinalgEighBackward0.record((w, V), (A,), (w, V)))


def eigvalsh(A, UPLO="L"):
    """Eigenvalues (ascending) of symmetric matrices."""
    if not _record(A):
        a = _matrix_input(A, "linalg.eigvalsh")
        return _wrap(np.linalg.eigvalsh(a, UPLO))
    return eigh(A, UPLO).eigenvalues


# ---------------------------------------------------------------------------- svd
@formula("LinalgSvdBackward0", saves={"U": out(0), "S": out(1), "Vh": out(2)}, outputs=3)
def LinalgSvdBackward0(ctx, grads):
    gU, gS, gVh = grads
    S = ctx.S
    k = S.shape[-1]
    U, Vh = ctx.U[..., :k], ctx.Vh[..., :k, :]
    m, n = U.shape[-2], Vh.shape[-1]
    if gU is not None:
        gU = gU[..., :k]
    if gVh is not None:
        gVh = gVh[..., :k, :]
    eye = _eye(k, S)
    if gU is None and gVh is None:
        return (_mm(U * _row(gS), Vh),)
    inner = F.zeros_like(S, tuple(S.shape) + (k,)) if gS is None else eye * _row(gS)
    gaps = _inv_gaps(S * S)
    grad = 0
    if gU is not None:
        J = _mm(_mT(U), gU)
        inner = inner + gaps * (J - _mT(J)) * _row(S)
        if m > k:
            grad = _mm((gU - _mm(U, J)) / _row(S), Vh)
    if gVh is not None:
        V, gV = _mT(Vh), _mT(gVh)
        K = _mm(Vh, gV)
        inner = inner + _col(S) * (gaps * (K - _mT(K)))
        if n > k:
            grad = grad + _mm(U / _row(S), _mT(gV - _mm(V, K)))
    return (F.cast(_mm(_mm(U, inner), Vh) + grad, S),)


def svd(A, full_matrices=True, *, driver=None):
    """Singular value decomposition ``A = U diag(S) Vh`` (singular values descending)."""
    a = _matrix_input(A, "linalg.svd", square=False)
    U, S, Vh = np.linalg.svd(a, full_matrices=full_matrices)
    return return_types.linalg_svd(*LinalgSvdBackward0.record((U, S, Vh), (A,), (U, S, Vh)))


def svdvals(A, *, driver=None):
    """Singular values of ``A``, descending."""
    if not _record(A):
        a = _matrix_input(A, "linalg.svdvals", square=False)
        return _wrap(np.linalg.svd(a, compute_uv=False))
    return svd(A, full_matrices=False).S


# ---------------------------------------------------------------------------- pinv, rank
def _tolerance(s, shape, atol, rtol):
    """The cutoff below which singular values count as zero (PyTorch's atol/rtol rule)."""
    if isinstance(atol, Tensor):
        atol = atol._data
    if isinstance(rtol, Tensor):
        rtol = rtol._data
    if rtol is None:
        rtol = np.finfo(s.dtype).eps * max(shape[-2:]) if atol is None or np.all(
            np.asarray(atol) == 0) else 0.0
    smax = s[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,), s.dtype)
    return np.maximum(0.0 if atol is None else np.asarray(atol)[..., None]
                      if np.ndim(atol) else atol, np.asarray(rtol) * smax)


@formula("LinalgPinvBackward0", saves={"a": 0, "p": OUT})
def LinalgPinvBackward0(ctx, g):
    a, p = ctx.a, ctx.p
    pt, gt = _mT(p), _mT(g)
    grad = -_mm(_mm(pt, g), pt)
    grad = grad + _mm(gt - _mm(a, _mm(p, gt)), _mm(p, pt))
    grad = grad + _mm(_mm(pt, p), gt - _mm(_mm(gt, p), a))
    return (grad,)


def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    """Moore-Penrose pseudo-inverse through the SVD, singular values below the tolerance
    ``max(atol, rtol * S.max())`` treated as zero."""
    a = _matrix_input(A, "linalg.pinv", square=False)
    if rcond is not None:
        rtol = rcond
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    keep = s > _tolerance(s, a.shape, atol, rtol)
    with np.errstate(divide="ignore"):
        s_inv = np.where(keep, 1 / np.where(keep, s, 1), 0).astype(a.dtype)
    p = (_mT(vh) * s_inv[..., None, :]) @ _mT(u)
    return LinalgPinvBackward0.record(p, (A,), (a, p))


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None):
    """Number of singular values above ``max(atol, rtol * S.max())`` (int64)."""
    a = _matrix_input(A, "torch.linalg.matrix_rank", square=False)
    if tol is not None:
        atol = tol
    s = np.sort(np.abs(np.linalg.eigvalsh(a)), -1)[..., ::-1] if hermitian else \
        np.linalg.svd(a, compute_uv=False)
    return _wrap(np.asarray(np.sum(s > _tolerance(s, a.shape, atol, rtol), -1), np.int64))


# ---------------------------------------------------------------------------- products
@formula("LinalgCrossBackward0", saves={"a": 0, "b": 1}, attrs=("dim", "a_shape", "b_shape"))
def LinalgCrossBackward0(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    a, b, d = ctx.a, ctx.b, ctx.dim

    def cr(x, y):
        return np.cross(x, y, axis=d) if F.is_array(g) else cross(x, y, dim=d)

    ga = F.unbroadcast(cr(b, g), ctx.a_shape) if na is not None else None
    gb = F.unbroadcast(cr(g, a), ctx.b_shape) if nb is not None else None
    return ga, gb


def cross(input, other, *, dim=-1):
    """Cross product of 3-vectors along ``dim`` (inputs broadcast)."""
    a, b = input._data, other._data
    shape = np.broadcast_shapes(a.shape, b.shape)
    d = wrap_dim(dim, len(shape))
    sa = a.shape[d - len(shape) + a.ndim] if d - len(shape) + a.ndim >= 0 else 1
    sb = b.shape[d - len(shape) + b.ndim] if d - len(shape) + b.ndim >= 0 else 1
    if sa != 3 or sb != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {sa} and {sb}")
    if a.dtype != b.dtype:
        common = np.promote_types(a.dtype, b.dtype)
        a, b = a.astype(common), b.astype(common)
    a_b, b_b = np.broadcast_to(a, shape), np.broadcast_to(b, shape)
    out = np.cross(a_b, b_b, axis=d)
    return LinalgCrossBackward0.record(out, (input, other), (a, b),
                                       (d - len(shape), a.shape, b.shape))


def matrix_power(A, n):
    """``A`` multiplied by itself ``n`` times (the inverse's powers for negative ``n``)."""
    a = _matrix_input(A, "linalg.matrix_power") if A._data.dtype.kind in "fc" else A._data
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError("linalg.matrix_power: A must be batches of square matrices, but they "
                           f"are {a.shape[-2] if a.ndim > 1 else 1} by {a.shape[-1]} matrices")
    if n == 0:
        return _wrap(np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy())
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while True:
        if n & 1:
            result = base if result is None else _la.matmul(result, base)
        n >>= 1
        if not n:
            return result
        base = _la.matmul(base, base)


def multi_dot(tensors):
    """Chained matrix product; the first and last operands may be vectors."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first_vec, last_vec = tensors[0]._data.ndim == 1, tensors[-1]._data.ndim == 1
    if first_vec:
        tensors[0] = sh.unsqueeze(tensors[0], 0)
    if last_vec:
        tensors[-1] = sh.unsqueeze(tensors[-1], -1)
    for i, t in enumerate(tensors):
        if t._data.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t._data.ndim}D")
    out = tensors[0]
    for t in tensors[1:]:
        out = _la.mm(out, t)
    if first_vec and last_vec:
        return sh.reshape(out, ())
    if first_vec:
        return sh.squeeze(out, 0)
    if last_vec:
        return sh.squeeze(out, -1)
    return out


def vecdot(x, y, *, dim=-1):
    """Dot product of vectors along ``dim`` (inputs broadcast)."""
    return rd.sum(ew.mul(x, y), dim)


# ---------------------------------------------------------------------------- matrix_exp
def _expm(a):
    """Matrix exponential by scaling and squaring with a degree-18 Taylor polynomial (the
    truncation error is below float64 rounding once the norm is scaled under 1/2)."""
    norm = np.abs(a).sum(-2).max(-1) if a.size else np.zeros(a.shape[:-2])
    squarings = int(max(0, np.ceil(np.log2(max(float(np.max(norm, initial=0)), 1e-300) / 0.5))))
    x = a / (2.0 ** squarings)
    eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
    out, term = eye.copy(), eye
    for k in range(1, 19):
        term = term @ x / k
        out = out + term
    for _ in range(squarings):
        out = out @ out
    return out.astype(a.dtype, copy=False)


@formula("LinalgMatrixExpBackward0", saves={"a": 0})
def LinalgMatrixExpBackward0(ctx, g):
    """The gradient is the upper-right block of ``exp([[A^T, G], [0, A^T]])``."""
    at = _mT(ctx.a)
    n = at.shape[-1]
    if F.is_array(g):
        block = np.zeros(g.shape[:-2] + (2 * n, 2 * n), g.dtype)
        block[..., :n, :n] = at
        block[..., n:, n:] = at
        block[..., :n, n:] = g
        return (_expm(block)[..., :n, n:],)
    at = F.expand(at, tuple(g.shape))
    block = _cat([_cat([at, g], -1), _cat([F.zeros_like(g), at], -1)], -2)
    return (matrix_exp(block)[..., :n, n:],)


def matrix_exp(A):
    """Matrix exponential of each square matrix in ``A``."""
    a = _matrix_input(A, "linalg.matrix_exp")
    return LinalgMatrixExpBackward0.record(_expm(a), (A,), (a,))


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The ``offset`` diagonal of each matrix (alias of ``torch.diagonal`` with the last two
    dimensions as defaults)."""
    idx = np.arange(min(A._data.shape[dim1], A._data.shape[dim2]))
    moved = sh.movedim(A, (dim1, dim2), (-2, -1))
    n_rows, n_cols = moved._data.shape[-2:]
    rows = idx if offset >= 0 else idx - offset
    cols = idx + offset if offset >= 0 else idx
    keep = (rows < n_rows) & (cols < n_cols)
    return getitem(moved, (Ellipsis, rows[keep], cols[keep]))


def vander(x, *, N=None):
    """Vandermonde matrix with increasing powers of ``x`` along the last dimension."""
    n = x._data.shape[-1] if N is None else N
    if n < 2 and N is not None and N < 1:
        raise RuntimeError("N must be greater than 1.")
    ones = _wrap(np.ones(x._data.shape + (1,), x._data.dtype))
    if n == 1:
        return ones
    powers = rd.cumprod(sh.expand(sh.unsqueeze(x, -1), x._data.shape + (n - 1,)), -1)
    return sh.cat([ones, powers], -1)
