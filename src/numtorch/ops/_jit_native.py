"""Native primitives for compiled kernels (numba) that run a whole loop without the GIL: a
matrix product from a weight packed once, atomic counters for threads sharing the steps of a
loop, and exp/sigmoid/tanh that the compiler vectorises.

A recurrent layer's time steps are too small for Python: each step is one small matrix product
and a few passes over a batch of gates, and when two threads share a step, every return to
Python waits for the GIL. The kernels of :mod:`numtorch.ops._jit_seq` therefore run all steps
in one compiled call, and two threads share a step's parts through atomic counters
(:func:`fetch_add`, :func:`load_acquire`), spinning briefly instead of waiting on a lock whose
sleeping waiter takes tens of microseconds to wake.

**Panel products.** A step multiplies a few rows (the batch) by the same weight every time.
BLAS packs the weight into its own layout on every call, which at a batch of 20 costs half as
much as the product itself (a 20x256 @ 256x512 step product: 45-50 GFLOPS through OpenBLAS on
a Zen 3 core). :func:`pack_panels` packs the weight once per sequence into panels of two
vectors' width (16 float32 columns), each panel's rows one after the other, and
:func:`panel_product` multiplies blocks of five or six rows by a panel with the sums of the
whole block in vector registers: per column of the panel, two vector loads of the panel, a
broadcast of each row's element and two fused multiply-adds per row (67-73 GFLOPS on the same
core and shape, 88-90 at 64 rows; float64 22-39 against BLAS's 15-22). The register block is
written as LLVM vector operations (:func:`_install_panels`, :class:`_Codegen`), since the
compiler does not keep sums written as scalars in vector registers. Each element of the
product is one sum in the order of the inner dimension, whatever the thread count.

**Tap products.** A direct convolution of few channels (:mod:`._conv_small_jit`) reads each
tap ``(c, i, j)`` as a run of the image's flat padded planes shifted by ``c * plane + i * Wp +
j``. :func:`tap_product` keeps the sums of five or six output channels for two vectors of
positions in registers over all taps: per tap, two vector loads of the shifted run, a broadcast
of each channel's weight and two fused multiply-adds per channel (the stride-1 forward of 16
channels at 32x32, one image: 57 µs, about 88 GFLOPS on a Zen 3 core). Its weight gradient,
:func:`tap_panel_product`, is the panel product with each row of ``a`` a tap's shifted run and
the image's gradient, moved to channels-last, as the panels.

numba's ``math.exp`` calls libm once per element (five times slower than NumPy's vectorised
exp); :func:`exp` for float32 is a range reduction and a degree-6 polynomial with fused
multiply-adds (within one unit in the last place of the exact value over all of float32,
subnormal results included) that the compiler vectorises; float64 keeps libm.
"""

import math

import numpy as np

#: Stubs given compiled implementations by :func:`install` (plain Python stand-ins until then).


def pack_panels(b, panels):
    """``panels[p, k, j] = b[k, p * P + j]`` for the (K, N) matrix ``b`` (any strides), zero
    past its last column: the layout :func:`panel_product` reads, ``P`` =
    :func:`panel_width` columns a panel, ``panels`` of :func:`panels_shape` (compiled code
    only)."""
    raise NotImplementedError


def panel_product(a, panels, c):
    """``c = a @ b`` for ``a`` (M, K) and ``c`` (M, N), each with contiguous rows, from the
    panels of ``b`` (K, N) (:func:`pack_panels`; compiled code only)."""
    raise NotImplementedError


def tap_product(planes, offsets, weights, out):
    """``out[o, q] = sum_t weights[t, o] * planes[offsets[t] + q]`` for the flat ``planes``
    (1-d), ``offsets`` (T,) int64, ``weights`` (T, O) and ``out`` (O, L), ``L`` a multiple of
    :func:`panel_width`: a direct convolution's taps read as shifted runs of an image's flat
    padded planes (compiled code only)."""
    raise NotImplementedError


def tap_panel_product(planes, offsets, panels, c):
    """``c[t, o] += sum_k planes[offsets[t] + k] * b[k, o]`` for the flat ``planes`` (1-d),
    ``offsets`` (T,) int64, ``c`` (T, O) and the panels of ``b`` (K, O) (:func:`pack_panels`):
    a direct convolution's weight gradient, each tap a shifted run of an image's flat planes
    against the image's gradient packed as ``b`` (compiled code only)."""
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


def lstm_cell_backward(dh, d_out, dc, a, tanh_c, c_prev, d, k0, n):
    """One batch row of an LSTM step's backward, units ``k0 ... k0 + n`` (see
    :func:`_lstm_cell_backward`; compiled code only)."""


def row_sum(v):
    """The sum of the 1-d ``v``, vectorised: the compiler may regroup this sum, and only this
    sum, of the kernel that calls it (see :func:`_row_sum`; compiled code only)."""


def panel_width(dtype):
    """Columns of a panel of :func:`pack_panels`: two 32-byte vectors of ``dtype`` (16 float32
    or 8 float64 columns)."""
    return _PANEL_BYTES // np.dtype(dtype).itemsize


def panels_shape(k, n, dtype):
    """The shape of the panels of a (k, n) matrix: (panels, k, :func:`panel_width`)."""
    width = panel_width(dtype)
    return (-(-n // width), k, width)


_PANEL_BYTES = 64
#: Most rows a block of :func:`panel_product` holds: six rows' sums are twelve of AVX2's
#: sixteen vector registers, the other four hold the panel's two vectors and a broadcast.
_BLOCK_ROWS = 6
#: Rows of ``a`` a chunk of :func:`panel_product` holds (in bytes): every panel passes over a
#: chunk while it is in L2 (without chunks, 12544 rows of 147 read four times from memory for
#: 64 columns: 26 against BLAS's 39 GFLOPS).
_CHUNK_BYTES = 128 << 10

_installed = False


def install(numba):
    """Gives the stubs above their compiled implementations (once per process)."""
    global _installed
    if not _installed:
        _install_math()
        _install_panels()
        _installed = True


class _Codegen:
    """LLVM IR helpers for the register blocks of :func:`_install_panels`: one intrinsic's
    builder and arguments, and the vector type of its first argument's dtype (float32 or
    float64, in two 32-byte vectors of ``lanes`` elements a block row)."""

    def __init__(self, context, builder, sig, args):
        # deferred: optional dependency (numba)
        from llvmlite import ir
        from numba.core import types

        self.ir, self.context, self.builder, self.sig, self.args = ir, context, builder, sig, args
        f32 = sig.args[0].dtype == types.float32
        self.elem = ir.FloatType() if f32 else ir.DoubleType()
        self.size = 4 if f32 else 8
        self.lanes = 32 // self.size
        self.vec = ir.VectorType(self.elem, self.lanes)
        self.name = "v%d%s" % (self.lanes, "f32" if f32 else "f64")

    def integer(self, i):
        """Argument ``i`` as an int64 value."""
        # deferred: optional dependency (numba)
        from numba.core import types

        return self.context.cast(self.builder, self.args[i], self.sig.args[i], types.int64)

    def constant(self, value):
        return self.ir.Constant(self.ir.IntType(64), value)

    def add(self, value, n):
        return self.builder.add(value, self.constant(n))

    def at(self, base, offset, stride=None):
        """``base`` + ``offset`` elements, or ``offset`` strides of ``stride`` bytes."""
        if stride is not None:
            offset = self.builder.sdiv(self.builder.mul(offset, stride), self.constant(self.size))
        return self.builder.gep(base, [offset])

    def _array(self, i):
        return self.context.make_array(self.sig.args[i])(self.context, self.builder, self.args[i])

    def pointer(self, i, elem=None):
        """The data pointer of array argument ``i`` as a pointer to ``elem`` (the block's
        element type unless given), and its strides in bytes."""
        # deferred: optional dependency (numba)
        from numba.core import cgutils

        ary = self._array(i)
        return (self.builder.bitcast(ary.data, self.ir.PointerType(elem or self.elem)),
                cgutils.unpack_tuple(self.builder, ary.strides, self.sig.args[i].ndim))

    def shape(self, i):
        # deferred: optional dependency (numba)
        from numba.core import cgutils

        return cgutils.unpack_tuple(self.builder, self._array(i).shape, self.sig.args[i].ndim)

    def register_block(self, rows, depth, vectors, scalar):
        """The sums ``s[r][h] = sum_k scalar(k, r) * vectors(k)[h * lanes:(h + 1) * lanes]``
        over ``k < depth``, in the order of ``k`` (fused multiply-adds), for ``r < rows`` and
        ``h < 2``: each ``vectors(k)`` points to two vectors' elements, each ``scalar(k, r)``
        to one element. Returns the sums' slots (LLVM keeps them in registers)."""
        # deferred: optional dependency (numba)
        from numba.core import cgutils

        ir, builder, lanes = self.ir, self.builder, self.lanes
        i32 = ir.IntType(32)
        zero = ir.Constant(self.vec, [0.0] * lanes)
        sums = [[cgutils.alloca_once_value(builder, zero) for _ in range(2)]
                for _ in range(rows)]
        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(self.vec, [self.vec] * 3),
            "llvm.fmuladd." + self.name)
        undef = ir.Constant(self.vec, ir.Undefined)
        splat = ir.Constant(ir.VectorType(i32, lanes), [0] * lanes)
        with cgutils.for_range(builder, depth) as loop:
            k = loop.index
            first = vectors(k)
            half = [self.load_vector(self.at(first, self.constant(h * lanes))) for h in range(2)]
            for r in range(rows):
                x = builder.load(scalar(k, r))
                x = builder.shuffle_vector(builder.insert_element(undef, x, ir.Constant(i32, 0)),
                                           undef, splat)
                for h in range(2):
                    builder.store(builder.call(fma, [x, half[h], builder.load(sums[r][h])]),
                                  sums[r][h])
        return sums

    def load_vector(self, pointer):
        return self.builder.load(self.builder.bitcast(pointer, self.ir.PointerType(self.vec)),
                                 align=self.size)

    def store_block(self, sums, rows, accumulate=False):
        """Each row's two vectors of sums to the elements ``rows[r]`` points to (added to
        them with ``accumulate``)."""
        for r, row in enumerate(rows):
            for h in range(2):
                pointer = self.builder.bitcast(self.at(row, self.constant(h * self.lanes)),
                                               self.ir.PointerType(self.vec))
                value = self.builder.load(sums[r][h])
                if accumulate:
                    value = self.builder.fadd(self.builder.load(pointer, align=self.size), value)
                self.builder.store(value, pointer, align=self.size)

    def store_columns(self, sums, rows, cols, accumulate=False):
        """:meth:`store_block` where a block row holds only ``cols`` columns (at most two
        vectors' worth; a last panel that the matrix fills only in part)."""
        # deferred: optional dependency (numba)
        from numba.core import cgutils

        builder = self.builder
        full = builder.icmp_signed("==", cols, self.constant(2 * self.lanes))
        with builder.if_else(full) as (whole, part):
            with whole:
                self.store_block(sums, rows, accumulate)
            with part:
                spill = cgutils.alloca_once(builder, self.vec, size=2)
                first = builder.bitcast(spill, self.ir.PointerType(self.elem))
                for r, row in enumerate(rows):
                    for h in range(2):
                        builder.store(builder.load(sums[r][h]), self.at(spill, self.constant(h)))
                    with cgutils.for_range(builder, cols) as loop:
                        value = builder.load(self.at(first, loop.index))
                        if accumulate:
                            value = builder.fadd(builder.load(self.at(row, loop.index)), value)
                        builder.store(value, self.at(row, loop.index))


def _install_panels():
    # deferred: optional dependency (numba)
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic, overload

    def block(rows):
        """``c[c_row + r, c_col + j] = sum_k a[a_row + r, k] * panels[p, k, j]`` for ``r <
        rows``, ``j < cols`` (at most the panel's width): the register block of
        :func:`panel_product` for a fixed number of rows."""
        @intrinsic
        def rows_by_panel(typingctx, a, a_row, panels, p, c, c_row, c_col, cols):
            sig = types.void(a, a_row, panels, p, c, c_row, c_col, cols)

            def codegen(context, builder, sig, args):
                g = _Codegen(context, builder, sig, args)
                a_data, a_strides = g.pointer(0)
                p_data, p_strides = g.pointer(2)
                c_data, c_strides = g.pointer(4)
                panel = g.at(p_data, g.integer(3), p_strides[0])
                a_rows = [g.at(a_data, g.add(g.integer(1), r), a_strides[0])
                          for r in range(rows)]
                depth = g.shape(2)[1]
                sums = g.register_block(
                    rows, depth,
                    lambda k: g.at(panel, g.builder.mul(k, g.constant(2 * g.lanes))),
                    lambda k, r: g.at(a_rows[r], k))
                c_row, c_col, cols = g.integer(5), g.integer(6), g.integer(7)
                c_rows = [g.at(g.at(c_data, g.add(c_row, r), c_strides[0]), c_col)
                          for r in range(rows)]
                g.store_columns(sums, c_rows, cols)
                return context.get_dummy_value()

            return sig, codegen

        return rows_by_panel

    blocks = [block(rows) for rows in range(1, _BLOCK_ROWS + 1)]
    one, two, three, four, five, six = blocks

    def product(a, panels, c):
        m = a.shape[0]
        n = c.shape[1]
        width = panels.shape[2]
        if a.shape[1] != panels.shape[1] or c.shape[0] != m or panels.shape[0] * width < n:
            raise ValueError("panel_product: shapes do not match")
        if m == 0 or n == 0:
            return
        if (a.shape[1] > 1 and a.strides[1] != a.itemsize
                or n > 1 and c.strides[1] != c.itemsize):
            raise ValueError("panel_product: rows must be contiguous")
        if width * panels.itemsize != _PANEL_BYTES or panels.shape[1] > 0 and (
                panels.strides[2] != panels.itemsize
                or panels.shape[1] > 1 and panels.strides[1] != _PANEL_BYTES):
            raise ValueError("panel_product: panels must be those of pack_panels")
        # chunks of rows that stay in cache while every panel passes over them, each cut into
        # blocks of five or six rows, as even as they come
        chunk = max(_BLOCK_ROWS, _CHUNK_BYTES // max(1, a.shape[1] * a.itemsize))
        for r0 in range(0, m, chunk):
            rows_in = min(chunk, m - r0)
            count = -(-rows_in // _BLOCK_ROWS)
            for p in range(-(-n // width)):
                cols = min(width, n - p * width)
                r = r0
                for i in range(count):
                    rows = rows_in // count + (1 if i < rows_in % count else 0)
                    if rows == 6:
                        six(a, r, panels, p, c, r, p * width, cols)
                    elif rows == 5:
                        five(a, r, panels, p, c, r, p * width, cols)
                    elif rows == 4:
                        four(a, r, panels, p, c, r, p * width, cols)
                    elif rows == 3:
                        three(a, r, panels, p, c, r, p * width, cols)
                    elif rows == 2:
                        two(a, r, panels, p, c, r, p * width, cols)
                    else:
                        one(a, r, panels, p, c, r, p * width, cols)
                    r += rows

    def tap_rows(rows):
        """``c[t0 + r, c_col + j] += sum_k planes[offsets[t0 + r] + k] * panels[p, k, j]`` for
        ``r < rows``, ``j < cols``: the register block of :func:`tap_panel_product`."""
        @intrinsic
        def tap_rows_by_panel(typingctx, planes, offsets, t0, panels, p, c, c_col, cols):
            sig = types.void(planes, offsets, t0, panels, p, c, c_col, cols)

            def codegen(context, builder, sig, args):
                g = _Codegen(context, builder, sig, args)
                x_data, _ = g.pointer(0)
                offset_data, _ = g.pointer(1, ir.IntType(64))
                p_data, p_strides = g.pointer(3)
                c_data, c_strides = g.pointer(5)
                t0 = g.integer(2)
                panel = g.at(p_data, g.integer(4), p_strides[0])
                a_rows = [g.at(x_data, builder.load(g.at(offset_data, g.add(t0, r))))
                          for r in range(rows)]
                sums = g.register_block(
                    rows, g.shape(3)[1],
                    lambda k: g.at(panel, g.builder.mul(k, g.constant(2 * g.lanes))),
                    lambda k, r: g.at(a_rows[r], k))
                c_col, cols = g.integer(6), g.integer(7)
                g.store_columns(sums, [g.at(g.at(c_data, g.add(t0, r), c_strides[0]), c_col)
                                       for r in range(rows)], cols, accumulate=True)
                return context.get_dummy_value()

            return sig, codegen

        return tap_rows_by_panel

    r1, r2, r3, r4, r5, r6 = [tap_rows(rows) for rows in range(1, _BLOCK_ROWS + 1)]

    def tap_panel_sums(planes, offsets, panels, c):
        taps, n = c.shape
        width = panels.shape[2]
        depth = panels.shape[1]
        if offsets.shape[0] != taps or panels.shape[0] * width < n:
            raise ValueError("tap_panel_product: shapes do not match")
        if taps == 0 or n == 0:
            return
        if planes.strides[0] != planes.itemsize or n > 1 and c.strides[1] != c.itemsize:
            raise ValueError("tap_panel_product: planes and rows must be contiguous")
        if width * panels.itemsize != _PANEL_BYTES or depth > 0 and (
                panels.strides[2] != panels.itemsize
                or depth > 1 and panels.strides[1] != _PANEL_BYTES):
            raise ValueError("tap_panel_product: panels must be those of pack_panels")
        for t in range(taps):
            if offsets[t] < 0 or offsets[t] + depth > planes.shape[0]:
                raise ValueError("tap_panel_product: an offset reads beyond the planes")
        count = -(-taps // _BLOCK_ROWS)  # blocks of five or six taps, as even as they come
        for p in range(-(-n // width)):
            cols = min(width, n - p * width)
            t = 0
            for i in range(count):
                rows = taps // count + (1 if i < taps % count else 0)
                if rows == 6:
                    r6(planes, offsets, t, panels, p, c, p * width, cols)
                elif rows == 5:
                    r5(planes, offsets, t, panels, p, c, p * width, cols)
                elif rows == 4:
                    r4(planes, offsets, t, panels, p, c, p * width, cols)
                elif rows == 3:
                    r3(planes, offsets, t, panels, p, c, p * width, cols)
                elif rows == 2:
                    r2(planes, offsets, t, panels, p, c, p * width, cols)
                else:
                    r1(planes, offsets, t, panels, p, c, p * width, cols)
                t += rows

    @overload(tap_panel_product)
    def _ov_tap_panel_product(planes, offsets, panels, c):
        if (planes.dtype == panels.dtype == c.dtype
                and planes.dtype in (types.float32, types.float64)
                and offsets.dtype == types.int64 and planes.ndim == 1):
            return tap_panel_sums
        return None

    def taps(rows):
        """``out[out_row + r, q + j] = sum_t weights[t, w_col + r] * planes[offsets[t] + q +
        j]`` for ``r < rows`` and ``j`` < two vectors: the register block of
        :func:`tap_product` for a fixed number of rows."""
        @intrinsic
        def taps_block(typingctx, planes, offsets, weights, w_col, out, q):
            sig = types.void(planes, offsets, weights, w_col, out, q)

            def codegen(context, builder, sig, args):
                g = _Codegen(context, builder, sig, args)
                x_data, _ = g.pointer(0)
                offset_data, _ = g.pointer(1, ir.IntType(64))
                w_data, w_strides = g.pointer(2)
                out_data, out_strides = g.pointer(4)
                q = g.integer(5)
                first = g.at(x_data, q)
                w_first = g.at(w_data, g.integer(3))
                sums = g.register_block(
                    rows, g.shape(1)[0],
                    lambda t: g.at(first, builder.load(g.at(offset_data, t))),
                    lambda t, r: g.at(g.at(w_first, t, w_strides[0]), g.constant(r)))
                w_col = g.integer(3)
                g.store_block(sums, [g.at(g.at(out_data, g.add(w_col, r), out_strides[0]), q)
                                     for r in range(rows)])
                return context.get_dummy_value()

            return sig, codegen

        return taps_block

    by_taps = [taps(rows) for rows in range(1, _BLOCK_ROWS + 1)]
    t1, t2, t3, t4, t5, t6 = by_taps

    def tap_sums(planes, offsets, weights, out):
        o, length = out.shape
        width = _PANEL_BYTES // planes.itemsize
        if weights.shape[0] != offsets.shape[0] or weights.shape[1] != o or length % width:
            raise ValueError("tap_product: shapes do not match")
        if o == 0 or length == 0:
            return
        if (planes.strides[0] != planes.itemsize or out.strides[1] != out.itemsize
                or o > 1 and weights.shape[0] > 0 and weights.strides[1] != weights.itemsize):
            raise ValueError("tap_product: planes and rows must be contiguous")
        for t in range(offsets.shape[0]):
            if offsets[t] < 0 or offsets[t] + length > planes.shape[0]:
                raise ValueError("tap_product: an offset reads beyond the planes")
        count = -(-o // _BLOCK_ROWS)  # blocks of five or six output rows, as even as they come
        for q in range(0, length, width):
            r = 0
            for i in range(count):
                rows = o // count + (1 if i < o % count else 0)
                if rows == 6:
                    t6(planes, offsets, weights, r, out, q)
                elif rows == 5:
                    t5(planes, offsets, weights, r, out, q)
                elif rows == 4:
                    t4(planes, offsets, weights, r, out, q)
                elif rows == 3:
                    t3(planes, offsets, weights, r, out, q)
                elif rows == 2:
                    t2(planes, offsets, weights, r, out, q)
                else:
                    t1(planes, offsets, weights, r, out, q)
                r += rows

    @overload(tap_product)
    def _ov_tap_product(planes, offsets, weights, out):
        if (planes.dtype == weights.dtype == out.dtype
                and planes.dtype in (types.float32, types.float64)
                and offsets.dtype == types.int64 and planes.ndim == 1):
            return tap_sums
        return None

    @overload(panel_product)
    def _ov_panel_product(a, panels, c):
        if a.dtype == panels.dtype == c.dtype and a.dtype in (types.float32, types.float64):
            return product
        return None

    @overload(pack_panels)
    def _ov_pack_panels(b, panels):
        return _pack_panels


def _pack_panels(b, panels):
    k, n = b.shape
    width = panels.shape[2]
    full = n // width  # panels the matrix fills; then the last one in part, zeros after it
    for p in range(full):
        for i in range(k):
            row, src = panels[p, i], b[i, p * width:(p + 1) * width]
            for j in range(width):
                row[j] = src[j]
    for p in range(full, panels.shape[0]):
        for i in range(k):
            row = panels[p, i]
            for j in range(width):
                col = p * width + j
                row[j] = b[i, col] if col < n else panels.dtype.type(0)


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
    copy of this arithmetic, for the sequence kernels of :mod:`._jit_seq`."""
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
