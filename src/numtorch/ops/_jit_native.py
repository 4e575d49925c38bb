"""Native primitives for compiled kernels (numba) that run a whole loop without the GIL: NumPy's
own BLAS matrix product, atomic counters for threads sharing the steps of a loop, and
exp/sigmoid/tanh that the compiler vectorises.

A recurrent layer's time steps are too small for Python: each step is one small matrix product
and a few passes over a batch of gates, and when two threads share a step, every return to
Python waits for the GIL. The kernels of :mod:`numtorch.ops._jit_seq` therefore call the BLAS
that NumPy is linked against directly (``cblas_?gemm`` of NumPy's bundled OpenBLAS, found by
its symbol; where it is not found, :func:`install` returns False and callers keep their
per-step NumPy path), and two threads share a step's parts through atomic counters
(:func:`fetch_add`, :func:`load_acquire`), spinning briefly instead of waiting on a lock whose
sleeping waiter takes tens of microseconds to wake.

numba's ``math.exp`` calls libm once per element (five times slower than NumPy's vectorised
exp); :func:`exp` for float32 is a range reduction and a degree-6 polynomial with fused
multiply-adds (within one unit in the last place of the exact value over all of float32,
subnormal results included) that the compiler vectorises; float64 keeps libm.
"""

import ctypes
import math

import numpy as np

#: Stubs given compiled implementations by :func:`install` (plain Python stand-ins until then).


def gemm(blas, order, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc):
    """``c = a @ b + beta * c`` by ``cblas_sgemm``/``cblas_dgemm`` (alpha 1) on the arrays'
    data pointers; ``blas`` is :data:`BLAS` (compiled code only)."""
    raise NotImplementedError


def load_acquire(flags, i):
    """``flags[i]`` (int64) read with acquire order (compiled code only)."""
    raise NotImplementedError


def fetch_add(flags, i, value):
    """``flags[i] += value`` (int64) as one atomic step, returning the value before
    (sequentially consistent; compiled code only)."""
    raise NotImplementedError


def exp(x):
    """``e**x``: vectorisable for float32, libm's for float64."""
    return math.exp(x)


def sigmoid(x):
    """``1 / (1 + exp(-x))``."""
    return 1.0 / (1.0 + math.exp(-x))


def tanh(x):
    """``tanh(x)``: vectorisable for float32, libm's for float64."""
    return math.tanh(x)


def rows_dot(w, x, out):
    """``out[j, b] = w[j] . x[b]`` (``out = w @ x.T``: rows of ``w`` and ``x`` contiguous) by
    dot products that stream both operands as they lie (compiled code only)."""


def transpose_columns(w, w_t, k0, n):
    """``w_t[k0:k0 + n] = w[:, k0:k0 + n].T`` (compiled code only)."""


def lstm_cell_backward(dh, d_out, dc, a, tanh_c, c_prev, d, k0, n):
    """One batch row of an LSTM step's backward, units ``k0 ... k0 + n`` (see
    :func:`_lstm_cell_backward`; compiled code only)."""


def row_sum(v):
    """The sum of the 1-d ``v``, vectorised: the compiler may regroup this sum, and only this
    sum, of the kernel that calls it (see :func:`_row_sum`; compiled code only)."""


ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

_installed = None  # None: not tried; otherwise whether it worked

# (names of cblas_sgemm, cblas_dgemm, C type of their integer arguments) to look for
_CBLAS_NAMES = (("scipy_cblas_sgemm64_", "scipy_cblas_dgemm64_", 64),
                ("cblas_sgemm64_", "cblas_dgemm64_", 64),
                ("scipy_cblas_sgemm", "scipy_cblas_dgemm", 32))


def _numpy_cblas():
    """Addresses of NumPy's BLAS ``cblas_sgemm``/``cblas_dgemm`` and their integer width, or
    None. The symbols are looked up through NumPy's extension module, whose dependencies
    include its BLAS."""
    try:
        lib = ctypes.CDLL(np._core._multiarray_umath.__file__)
    except (OSError, AttributeError):
        return None
    for s_name, d_name, bits in _CBLAS_NAMES:
        try:
            s, d = getattr(lib, s_name), getattr(lib, d_name)
        except AttributeError:
            continue
        return (ctypes.cast(s, ctypes.c_void_p).value, ctypes.cast(d, ctypes.c_void_p).value,
                bits)
    return None


def install(numba):
    """Gives the stubs above their compiled implementations; returns whether :func:`gemm` can
    be used (False where NumPy's BLAS cannot be found: callers then keep their NumPy path)."""
    global _installed, BLAS
    if _installed is None:
        _install_math()
        found = _numpy_cblas()
        if found is not None:
            _install_gemm()
            BLAS = np.array(found, dtype=np.int64)
        _installed = found is not None
    return _installed


#: ``[address of cblas_sgemm, of cblas_dgemm, integer width]`` once :func:`install` found them:
#: the first argument of :func:`gemm`.
BLAS = None


def _install_gemm():
    # deferred: optional dependency (numba)
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.extending import intrinsic, overload

    def _data(context, builder, aryty, value, elem):
        ary = context.make_array(aryty)(context, builder, value)
        return builder.bitcast(ary.data, ir.PointerType(elem))

    # The BLAS is an argument, not a linked symbol, so a kernel cached on disk stays valid
    # whichever BLAS (and integer width) a later process finds.
    @intrinsic
    def _gemm(typingctx, blas, order, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc):
        sig = types.void(blas, order, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc)

        def codegen(context, builder, sig, args):
            dtype = sig.args[7].dtype
            elem = ir.FloatType() if dtype == types.float32 else ir.DoubleType()
            blas_ty = sig.args[0]
            table = context.make_array(blas_ty)(context, builder, args[0])

            def entry(i):
                return builder.load(cgutils.get_item_pointer(
                    context, builder, blas_ty, table, [context.get_constant(types.intp, i)],
                    wraparound=False))

            addr = entry(0 if dtype == types.float32 else 1)
            wide = builder.icmp_signed("==", entry(2), ir.Constant(ir.IntType(64), 64))
            i32 = ir.IntType(32)
            ptr = ir.PointerType(elem)
            beta_v = context.cast(builder, args[11], sig.args[11], dtype)
            pointers = {7: _data(context, builder, sig.args[7], args[7], elem),
                        9: _data(context, builder, sig.args[9], args[9], elem),
                        12: _data(context, builder, sig.args[12], args[12], elem)}

            def call(bits):
                blasint = ir.IntType(bits)
                fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, blasint, blasint, blasint,
                                                      elem, ptr, blasint, ptr, blasint, elem,
                                                      ptr, blasint])

                def integer(i, width):
                    v = context.cast(builder, args[i], sig.args[i], types.int64)
                    return v if width == 64 else builder.trunc(v, ir.IntType(width))

                fn = builder.inttoptr(addr, ir.PointerType(fnty))
                builder.call(fn, [integer(1, 32), integer(2, 32), integer(3, 32),
                                  integer(4, bits), integer(5, bits), integer(6, bits),
                                  ir.Constant(elem, 1.0), pointers[7], integer(8, bits),
                                  pointers[9], integer(10, bits), beta_v, pointers[12],
                                  integer(13, bits)])

            with builder.if_else(wide) as (then, otherwise):
                with then:
                    call(64)
                with otherwise:
                    call(32)
            return context.get_dummy_value()

        return sig, codegen

    @overload(gemm)
    def _ov_gemm(blas, order, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc):
        return lambda blas, order, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc: _gemm(
            blas, order, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc)


def _install_math():
    # deferred: optional dependency (numba)
    from numba.core import cgutils, types
    from numba.extending import intrinsic, overload

    def _flag_pointer(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        index = context.cast(builder, args[1], sig.args[1], types.intp)
        return cgutils.get_item_pointer(context, builder, aryty, ary, [index], wraparound=False)

    @intrinsic
    def _load_acquire(typingctx, flags, i):
        def codegen(context, builder, sig, args):
            return builder.load_atomic(_flag_pointer(context, builder, sig, args), "acquire", 8)

        return types.int64(flags, i), codegen

    @intrinsic
    def _fetch_add(typingctx, flags, i, value):
        def codegen(context, builder, sig, args):
            v = context.cast(builder, args[2], sig.args[2], types.int64)
            return builder.atomic_rmw("add", _flag_pointer(context, builder, sig, args), v,
                                      "seq_cst")

        return types.int64(flags, i, value), codegen

    @overload(load_acquire)
    def _ov_load(flags, i):
        return lambda flags, i: _load_acquire(flags, i)

    @overload(fetch_add)
    def _ov_fetch_add(flags, i, value):
        return lambda flags, i, value: _fetch_add(flags, i, value)

    @overload(rows_dot, jit_options={"fastmath": {"reassoc", "nsz", "contract"}})
    def _ov_rows_dot(w, x, out):
        return _rows_dot

    @overload(transpose_columns)
    def _ov_transpose_columns(w, w_t, k0, n):
        return _transpose_columns

    # reassociation as an option of this function alone: its flag is on the sum's additions
    # only, so a caller without it keeps its own groupings (log-softmax's (x - max) - log(sum))
    @overload(row_sum, jit_options={"fastmath": {"reassoc"}})
    def _ov_row_sum(v):
        return _row_sum

    @overload(lstm_cell_backward)
    def _ov_lstm_cell_backward(dh, d_out, dc, a, tanh_c, c_prev, d, k0, n):
        return _lstm_cell_backward

    @overload(exp, jit_options={"fastmath": {"contract"}})
    def _ov_exp(x):
        if x == types.float32:
            return _exp32
        return lambda x: math.exp(x)

    @overload(sigmoid)
    def _ov_sigmoid(x):
        one = np.float32(1) if x == types.float32 else 1.0
        return lambda x: one / (one + exp(-x))

    @overload(tanh, jit_options={"fastmath": {"contract"}})
    def _ov_tanh(x):
        if x == types.float32:
            return _tanh32
        return lambda x: math.tanh(x)


# float32 exp: n = round(x / ln 2), r = x - n ln 2 (in two parts, exact for |n| < 2**9),
# e**r = 1 + r + r**2 q(r) with q of degree 4 (fitted to (e**r - 1 - r) / r**2 on |r| <= ln(2) / 2
# for the least relative error: 3e-9), times 2**n built in the exponent bits in two factors
# (n runs from -150 to 128: each factor stays a normal number, and a result below float32's
# smallest normal number is rounded once, by the last product, to its subnormal); inf above
# 88.72283 (the largest float32 whose e**x rounds below float32's largest value), 0 below
# -103.97 (where e**x rounds to 0), nan for nan. Compiled with contraction (``fastmath``
# "contract": multiply-adds fused, nothing regrouped), which makes it half as many operations.
# Checked against e**x in float64 rounded to float32 for every float32: within one unit in the
# last place (subnormal results: one subnormal step).
def _exp32(x):
    v = min(max(x, np.float32(-104.0)), np.float32(88.72283))
    n = np.floor(v * np.float32(1.4426950408889634) + np.float32(0.5))
    r = v - n * np.float32(0.693359375)
    r = r - n * np.float32(-2.12194440e-4)
    p = np.float32(0.0013814575504511595)
    p = p * r + np.float32(0.0083687212318182)
    p = p * r + np.float32(0.04166838899254799)
    p = p * r + np.float32(0.1666652113199234)
    p = p * r + np.float32(0.4999999403953552)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    m = np.int32(n)
    m1 = m >> np.int32(1)  # 2**n as 2**m1 * 2**m2: both factors normal from n = -150 to 128
    m2 = m - m1
    p = p * np.int32((m1 + np.int32(127)) << np.int32(23)).view(np.float32)
    p = p * np.int32((m2 + np.int32(127)) << np.int32(23)).view(np.float32)
    if x > np.float32(88.72283):
        p = np.float32(np.inf)
    if x != x:
        p = x
    return p


# float32 tanh: below |x| = 0.625 an odd polynomial (least-squares fit of (tanh x - x) / x**3
# in x**2, under one unit in the last place), above it 1 - 2 / (e**(2|x|) + 1); both are
# computed and one is selected, so the loop stays vectorised.
def _tanh32(x):
    a = abs(x)
    u = a * a
    p = np.float32(-0.0057981000281870365)
    p = p * u + np.float32(0.020720280706882477)
    p = p * u + np.float32(-0.053763799369335175)
    p = p * u + np.float32(0.13331718742847443)
    p = p * u + np.float32(-0.33333292603492737)
    small = a + a * u * p
    large = np.float32(1) - np.float32(2) / (exp(a + a) + np.float32(1))
    t = small if a < np.float32(0.625) else large
    return t if x >= np.float32(0) else -t


# ``out = w @ x.T`` for a recurrent step's small products (x: a batch of a few rows): 4 x 4
# blocks of dot products along the rows, whose sixteen sums the compiler keeps in vector
# registers. BLAS repacks ``w`` (the whole weight) on every call, which costs as much as the
# product at a batch of 20; these loops read it once per block of four batch rows, from cache.
def _rows_dot(w, x, out):
    m, k = w.shape
    n = x.shape[0]
    m4, n4 = m - m % 4, n - n % 4
    zero = w.dtype.type(0)
    for j in range(0, m4, 4):
        w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
        for b in range(0, n4, 4):
            x0, x1, x2, x3 = x[b], x[b + 1], x[b + 2], x[b + 3]
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
            for i in range(k):
                a0, a1, a2, a3 = w0[i], w1[i], w2[i], w3[i]
                c0, c1, c2, c3 = x0[i], x1[i], x2[i], x3[i]
                s00 += a0 * c0
                s01 += a0 * c1
                s02 += a0 * c2
                s03 += a0 * c3
                s10 += a1 * c0
                s11 += a1 * c1
                s12 += a1 * c2
                s13 += a1 * c3
                s20 += a2 * c0
                s21 += a2 * c1
                s22 += a2 * c2
                s23 += a2 * c3
                s30 += a3 * c0
                s31 += a3 * c1
                s32 += a3 * c2
                s33 += a3 * c3
            out[j, b], out[j, b + 1], out[j, b + 2], out[j, b + 3] = s00, s01, s02, s03
            out[j + 1, b], out[j + 1, b + 1], out[j + 1, b + 2], out[j + 1, b + 3] = (
                s10, s11, s12, s13)
            out[j + 2, b], out[j + 2, b + 1], out[j + 2, b + 2], out[j + 2, b + 3] = (
                s20, s21, s22, s23)
            out[j + 3, b], out[j + 3, b + 1], out[j + 3, b + 2], out[j + 3, b + 3] = (
                s30, s31, s32, s33)
    for j in range(m):  # the rows and batch rows left over
        for b in range(n4 if j < m4 else 0, n):
            wj, xb = w[j], x[b]
            s = zero
            for i in range(k):
                s += wj[i] * xb[i]
            out[j, b] = s


def _transpose_columns(w, w_t, k0, n):
    """``w_t[k0:k0 + n] = w[:, k0:k0 + n].T``, eight rows of ``w`` at a time (each row of
    ``w_t`` written eight consecutive elements at a time, each row of ``w`` read in order)."""
    rows = w.shape[0]
    r8 = rows - rows % 8
    for r in range(0, r8, 8):
        w0, w1, w2, w3 = w[r], w[r + 1], w[r + 2], w[r + 3]
        w4, w5, w6, w7 = w[r + 4], w[r + 5], w[r + 6], w[r + 7]
        for c in range(k0, k0 + n):
            d = w_t[c]
            d[r], d[r + 1], d[r + 2], d[r + 3] = w0[c], w1[c], w2[c], w3[c]
            d[r + 4], d[r + 5], d[r + 6], d[r + 7] = w4[c], w5[c], w6[c], w7[c]
    for r in range(r8, rows):
        for c in range(k0, k0 + n):
            w_t[c, r] = w[r, c]


def _row_sum(v):
    """The sum of ``v``, one add per element, which reassociation lets the compiler turn into
    vector partial sums (a fixed grouping for a given build and length, whatever the thread
    count; four times faster than sixteen scalar partial sums written out)."""
    total = v.dtype.type(0)
    for j in range(v.shape[0]):
        total += v[j]
    return total


def _lstm_cell_backward(dh, d_out, dc, a, tanh_c, c_prev, d, k0, n):
    """With ``dh_t = dh + d_out`` (the carried and the output gradient of the hidden state),
    writes the gate gradients into ``d`` (4H: i, f, g, o) and replaces ``dc`` by the cell
    gradient carried to the previous step, ``(dc + dh_t * o * (1 - tanh_c**2)) * f``, for
    the units ``k0 ... k0 + n`` of one batch row (``a``: the activations i, f, g, o). The one
    copy of this arithmetic, for the sequence kernels and the per-step ones of
    :mod:`._jit_seq`."""
    hidden = dh.shape[0]
    one = a.dtype.type(1)
    ai, af = a[k0:k0 + n], a[hidden + k0:hidden + k0 + n]
    ag, ao = a[2 * hidden + k0:2 * hidden + k0 + n], a[3 * hidden + k0:3 * hidden + k0 + n]
    di, df = d[k0:k0 + n], d[hidden + k0:hidden + k0 + n]
    dg, do = d[2 * hidden + k0:2 * hidden + k0 + n], d[3 * hidden + k0:3 * hidden + k0 + n]
    dhb, dob, dcb = dh[k0:k0 + n], d_out[k0:k0 + n], dc[k0:k0 + n]
    tcb, cpb = tanh_c[k0:k0 + n], c_prev[k0:k0 + n]
    for j in range(n):
        dht = dhb[j] + dob[j]
        i, f, g, o, tc = ai[j], af[j], ag[j], ao[j], tcb[j]
        dct = dcb[j] + dht * o * (one - tc * tc)
        di[j] = dct * g * i * (one - i)
        df[j] = dct * cpb[j] * f * (one - f)
        dg[j] = dct * i * (one - g * g)
        do[j] = dht * tc * o * (one - o)
        dcb[j] = dct * f
