"""Optional compiled kernels (numba) for sequence models: an LSTM time step's gate arithmetic
and the embedding gradient.

Between its hidden matrix products, a step of an LSTM layer is ten to twenty element-wise
passes over arrays of one batch (20×256 in the word language model), where NumPy spends more
time dispatching than computing. Backward, one compiled loop computes the gate gradients and the
cell gradient carried to the previous step. Forward, ``exp`` and ``tanh`` stay with NumPy, which
vectorises them (numba calls libm once per element): one loop adds the hidden gates and negates
the sigmoid gates' inputs before NumPy's ``exp``, one forms ``1 / (1 + exp(-x))`` and the cell;
the same operations as NumPy's path, so the forward values are bitwise equal. Gated like the
other kernels (:mod:`numtorch.ops._jit`): without numba, or with ``NUMTORCH_JIT=0``,
:func:`kernels` returns None and ``ops/rnn.py`` runs its NumPy path.

The embedding gradient adds each output-gradient row to its index's row in one pass, in the
order of the indices (NumPy's path sorts the indices and sums each run with ``reduceat``,
twenty times slower on the word language model's 700 lookups; sums equal up to rounding).
"""


from . import _jit


class _Kernels:
    def __init__(self, numba):
        def jit(fn):
            return _jit.njit(numba, fn, nogil=True)

        self.lstm_gates_in = jit(_lstm_gates_in)
        self.lstm_cell = jit(_lstm_cell)
        self.lstm_step_backward = jit(_lstm_step_backward)
        self.embedding_backward = jit(_embedding_backward)


#: ``kernels(*arrays)``: the compiled kernels, or None where :mod:`numtorch.ops._jit`'s are off
#: or unusable or an array is not float32/float64.
kernels = _jit.family(_Kernels)


# Compiled by numba (plain Python, slow, if called directly). Loops run over row views, one per
# gate: the compiler vectorises those (three times faster than indexing the 2-D arrays).
def _lstm_gates_in(a, hh):
    """``a += hh`` on the gates (B, 4H), negated for the sigmoid gates i, f, o (not g)."""
    batch = a.shape[0]
    hs = a.shape[1] // 4
    for b in range(batch):
        ar, hr = a[b], hh[b]
        for j in range(2 * hs):
            ar[j] = -(ar[j] + hr[j])
        for j in range(2 * hs, 3 * hs):
            ar[j] = ar[j] + hr[j]
        for j in range(3 * hs, 4 * hs):
            ar[j] = -(ar[j] + hr[j])


def _lstm_cell(a, c_prev, c):
    """With ``exp(-x)`` in the sigmoid gates of ``a`` and ``tanh`` in ``g``: the sigmoids
    ``1 / (1 + exp(-x))`` in place and the cell ``c = f * c_prev + i * g``."""
    batch, hs = c.shape
    one = a.dtype.type(1)
    for b in range(batch):
        ai, af, ag, ao = a[b, :hs], a[b, hs:2 * hs], a[b, 2 * hs:3 * hs], a[b, 3 * hs:]
        cp, cr = c_prev[b], c[b]
        for j in range(hs):
            i = one / (ai[j] + one)
            f = one / (af[j] + one)
            ai[j] = i
            af[j] = f
            ao[j] = one / (ao[j] + one)
            cr[j] = f * cp[j] + i * ag[j]


def _lstm_step_backward(dh, d_out, dc, a, tanh_c, c_prev, d):
    """One backward step: with ``dh_t = dh + d_out`` (the carried and the output gradient),
    writes the gate gradients ``d`` (B, 4H) and replaces ``dc`` by the cell gradient carried to
    the previous step, ``(dc + dh_t * o * (1 - tanh_c**2)) * f``."""
    batch, hs = dc.shape
    one = a.dtype.type(1)
    for b in range(batch):
        dhb, dob, dcb, tcb, cpb = dh[b], d_out[b], dc[b], tanh_c[b], c_prev[b]
        ai, af, ag, ao = a[b, :hs], a[b, hs:2 * hs], a[b, 2 * hs:3 * hs], a[b, 3 * hs:]
        di, df, dg, do = d[b, :hs], d[b, hs:2 * hs], d[b, 2 * hs:3 * hs], d[b, 3 * hs:]
        for j in range(hs):
            dht = dhb[j] + dob[j]
            i, f, g, o, tc = ai[j], af[j], ag[j], ao[j], tcb[j]
            dct = dcb[j] + dht * o * (one - tc * tc)
            di[j] = dct * g * i * (one - i)
            df[j] = dct * cpb[j] * f * (one - f)
            dg[j] = dct * i * (one - g * g)
            do[j] = dht * tc * o * (one - o)
            dcb[j] = dct * f


def _embedding_backward(indices, rows, grad):
    """``grad[indices[n]] += rows[n]`` for every ``n``, in order."""
    for n in range(indices.shape[0]):
        dst = grad[indices[n]]
        src = rows[n]
        for j in range(src.shape[0]):
            dst[j] += src[j]
