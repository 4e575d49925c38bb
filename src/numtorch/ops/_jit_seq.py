"""Optional compiled kernels (numba) for sequence models: an LSTM layer's whole recurrence,
an LSTM time step's gate arithmetic, log-softmax over a vocabulary and the embedding gradient.

**Whole-sequence LSTM** (``lstm_forward``, ``lstm_backward``; where
:mod:`numtorch.ops._jit_native` finds NumPy's BLAS). A step of the word language model's
layer is one 20×256 @ 256×1024 product (~70 µs per half) and a few passes over 20×1024 gates:
from Python, every step returned to the interpreter about ten times, and two threads sharing
a step waited for the GIL and for sleeping partners. One compiled call runs all steps: the
hidden product through NumPy's ``cblas_?gemm``, the gates with vectorised exp/tanh, and, on
two threads, each step's two halves of the hidden units claimed by whichever thread is free
(see the comment above :func:`_lstm_forward_steps`), bit-identical on one or two threads.

**Per-step kernels** (``lstm_gates_in``, ``lstm_cell``, ``lstm_step_backward``: the path
where NumPy's BLAS cannot be called from compiled code). Forward, ``exp`` and ``tanh`` stay
with NumPy: one loop adds the hidden gates and negates the sigmoid gates' inputs before
NumPy's ``exp``, one forms ``1 / (1 + exp(-x))`` and the cell; the same operations as NumPy's
path, so the forward values are bitwise equal. Backward, one loop computes the gate gradients
and the cell gradient carried to the previous step.

Gated like the other kernels (:mod:`numtorch.ops._jit`): without numba, or with
``NUMTORCH_JIT=0``, :func:`kernels` returns None and the callers run their NumPy paths.

The embedding gradient adds each output-gradient row to its index's row in one pass, in the
order of the indices (NumPy's path sorts the indices and sums each run with ``reduceat``,
twenty times slower on the word language model's 700 lookups; sums equal up to rounding).
"""

import functools
import itertools
import math
import time

import numpy as np

from .. import _threads
from . import _jit
from . import _jit_native as nat
from ._jit_native import NO_TRANS, ROW_MAJOR, TRANS


class _Kernels:
    def __init__(self, numba):
        def jit(fn):
            return _jit.njit(numba, fn, nogil=True)

        self.lstm_gates_in = jit(_lstm_gates_in)
        self.lstm_cell = jit(_lstm_cell)
        self.lstm_step_backward = jit(_lstm_step_backward)
        self.embedding_backward = jit(_embedding_backward)
        # NumPy's error model: a division by zero gives inf instead of a check per element
        # that keeps the loops from being vectorised; sums along a row may be reassociated (a
        # fixed order for a given build, whatever the thread count). Cached on disk like the
        # others: numba keys the cache on this file, so after changing an implementation in
        # _jit_native, change this file too (or clear __pycache__).
        def vec(fn, reduces=False):
            return _jit.njit(numba, fn, nogil=True, error_model="numpy",
                             **({"fastmath": {"reassoc", "nsz"}} if reduces else {}))

        # whole-sequence LSTM kernels where NumPy's BLAS can be called from compiled code
        self.sequence = nat.install(numba)
        if self.sequence:
            self._lstm_forward_steps = vec(_lstm_forward_steps)
            self._lstm_backward_steps = vec(_lstm_backward_steps)
        # no reassociation here: it may turn (x - top) - log(sum) into x - (top + log(sum)),
        # which loses the log term next to a top near float32's largest value
        self.log_softmax_rows = vec(_log_softmax_rows)
        self.log_softmax_backward_rows = vec(_log_softmax_backward_rows, reduces=True)

    def lstm_forward(self, gates, bias, w_parts, out, cells, tanh_c, h0, c0, reverse, threads):
        """The recurrence of one LSTM layer over the whole sequence (see
        :func:`_lstm_forward_steps`), on ``threads`` (1 or one per part) threads."""
        by_rows = _by_rows(h0.shape[0])
        # each part's hidden gates (batch, its rows), from rows_dot or BLAS: the gate pass then
        # reads them along its rows (BLAS's (its rows, batch) orientation, no faster here, made
        # that pass read them a batch apart: 60 against 39 µs of a zoo LSTM step's part)
        hh = np.empty((w_parts.shape[0], h0.shape[0], w_parts.shape[1]), dtype=gates.dtype)
        _team(self._lstm_forward_steps, gates.shape[0], w_parts.shape[0],
              (nat.BLAS, by_rows, gates, bias, w_parts, out, cells, tanh_c, h0,
               c0, hh, reverse), threads)

    def lstm_backward(self, dh, dc, d_out, acts, tanh_c, cells, c0, w_hh, parts, dg, reverse,
                      threads, after=()):
        """The backward recurrence of one LSTM layer (see :func:`_lstm_backward_steps`), then
        the callables ``after`` (each once, shared by the same threads: work that needs all of
        ``dg``, such as the weight gradients' products)."""
        by_rows = _by_rows(dh.shape[0])
        # W_hh's transpose, for dot products along its rows (each part transposes its own at
        # the first step; NumPy's transposing copy takes longer than a step)
        w_t = np.empty(w_hh.shape[::-1] if by_rows else (0, 0), dtype=w_hh.dtype)
        _team(self._lstm_backward_steps, dg.shape[0] + 1, parts,
              (nat.BLAS, by_rows, dh, dc, d_out, acts, tanh_c, cells, c0, w_hh, w_t, parts, dg,
               reverse), threads, after)


def _by_rows(batch):
    """Whether a recurrence's hidden products run as :func:`._jit_native.rows_dot` (a small
    batch, where BLAS spends as long repacking the weight on each step as multiplying) rather
    than through BLAS: on CPUs with AVX-512 only (:func:`_wide_vectors`). By the shape and the
    CPU alone, like everything that decides the bits (never by the load)."""
    return batch <= _ROWS_MAX_BATCH and _wide_vectors()


_ROWS_MAX_BATCH = 32


@functools.cache
def _wide_vectors():
    """Whether the CPU has AVX-512, whose 32 vector registers hold ``rows_dot``'s 16 sums and 8
    operands (a Zen 4: 64 against BLAS's 74 µs for a 512x256 @ 256x20 half step). With AVX2's
    16 they spill to memory: on a Zen 3, 110 against 83 µs, and the zoo LSTM's step took
    47.5 ms by rows against 43.1 ms through BLAS (alternated in one process, 16 of 16
    rounds)."""
    try:
        import llvmlite.binding as ll  # deferred: optional dependency (numba's llvmlite)

        return bool(ll.get_host_cpu_features().get("avx512f", False))
    except Exception:  # noqa: BLE001 - no llvmlite, or no answer: the portable choice
        return False


#: How many times a thread reads a step's counter before going back to Python to sleep a
#: little (a partner that another process keeps off its core should not cost a spinning core):
#: about 0.3 ms here, longer than a part of a step takes (30-60 µs for the zoo's LSTM), since a
#: sleep lasts 60-100 µs whatever it asks for. With 2**16 reads (~20 µs) a thread waiting for its
#: partner's part slept several times a layer, ~2 ms of a 35 ms LSTM step.
_SPINS = 1 << 20


def _team(kernel, steps, parts, args, threads, after=()):
    """Runs ``kernel(*args, claims, done, threads, rank, start, spins)`` until all ``steps``
    are done: on this thread alone, or on ``threads`` threads sharing each step's ``parts``
    (a kernel returns the step it was waiting at when its spins ran out; it is called again
    from there after a short sleep). Then the callables ``after``, each once, taken by
    whichever of the same threads is free (a kernel returns only once every step before its
    last has all its parts done): the helpers, awake already, need no second job (a woken
    helper starts ~0.1 ms late here, a step's part takes 30-60 µs)."""
    claims = np.zeros(steps * parts, dtype=np.int64)
    done = np.zeros(steps, dtype=np.int64)
    take = itertools.count().__next__  # atomic under the GIL

    def rank(r):
        s = 0
        while True:
            s = kernel(*args, claims, done, threads, r, s, _SPINS)
            if s >= steps:
                break
            time.sleep(2e-5)
        while (i := take()) < len(after):
            after[i]()

    if threads == 1:
        rank(0)
    else:
        _threads.run_chunks(rank, threads, threads)


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
    for b in range(batch):
        nat.lstm_cell_backward(dh[b], d_out[b], dc[b], a[b], tanh_c[b], c_prev[b], d[b], 0, hs)


def _embedding_backward(indices, rows, grad):
    """``grad[indices[n]] += rows[n]`` for every ``n``, in order."""
    for n in range(indices.shape[0]):
        dst = grad[indices[n]]
        src = rows[n]
        for j in range(src.shape[0]):
            dst[j] += src[j]


# Whole-sequence LSTM recurrences, gates in PyTorch's order (i, f, g, o; H columns each). The
# hidden units are cut into P parts of hs = H / P units: part p owns columns p * hs ... (p + 1)
# * hs of each gate. Forward, w_parts[p] holds the matching rows of W_hh ((4hs, H): its gates
# one after the other); backward, the products take columns p * hs ... (p + 1) * hs of W_hh.
# On one thread, every part in turn. On two, each step's parts go to whichever thread claims
# them first (rank r tries part r first): a thread whose partner another process keeps off
# its core does both parts and never waits for it, except for a part the partner has started.
# A part is computed by the same products and arithmetic whoever computes it, so the results
# do not depend on the thread count or on who did what. ``claims[s * P + p]`` counts the
# claims of step s's part p (the first claimer computes it), ``done[s]`` the parts of step s
# finished; a step starts when the one before has all its parts done.
def _lstm_forward_steps(blas, by_rows, gates, bias, w_parts, out, cells, tanh_c, h0, c0, hh,
                        reverse, claims, done, threads, rank, start, spins):
    """From step ``start``: each step adds ``h_prev @ W_hh^T + bias`` (4H) to the gates (T, B,
    4H, holding ``x W_ih^T``; replaced by the activations i, f, g, o), and writes the cell, its
    tanh and the output. Returns the number of steps done (less than T when the
    partner did not arrive within ``spins``)."""
    steps, batch, width = gates.shape
    parts, rows, hidden = w_parts.shape
    hs = rows // 4
    for s in range(start, steps):
        if s > 0 and threads > 1:  # wait until step s - 1 is done
            n = 0
            while nat.load_acquire(done, s - 1) < parts:
                n += 1
                if n >= spins:
                    return s
        t = steps - 1 - s if reverse else s
        if s == 0:
            h_prev, c_prev = h0, c0
        else:
            tp = t + 1 if reverse else t - 1
            h_prev, c_prev = out[tp], cells[tp]
        for q in range(parts):
            p = (q + rank) % parts
            if threads > 1 and nat.fetch_add(claims, s * parts + p, 1) != 0:
                continue
            buf = hh[p]
            if by_rows:
                nat.rows_dot(w_parts[p], h_prev, buf.T)
            else:
                nat.gemm(blas, ROW_MAJOR, NO_TRANS, TRANS, batch, rows, hidden, h_prev, hidden,
                         w_parts[p], hidden, 0.0, buf, rows)
            k0 = p * hs
            bi, bf = bias[k0:k0 + hs], bias[hidden + k0:hidden + k0 + hs]
            bg = bias[2 * hidden + k0:2 * hidden + k0 + hs]
            bo = bias[3 * hidden + k0:3 * hidden + k0 + hs]
            for b in range(batch):
                g = gates[t, b]
                gi = g[k0:k0 + hs]
                gf = g[hidden + k0:hidden + k0 + hs]
                gg = g[2 * hidden + k0:2 * hidden + k0 + hs]
                go = g[3 * hidden + k0:3 * hidden + k0 + hs]
                hb = buf[b]
                for j in range(hs):
                    gi[j] += hb[j] + bi[j]
                    gf[j] += hb[hs + j] + bf[j]
                    gg[j] += hb[2 * hs + j] + bg[j]
                    go[j] += hb[3 * hs + j] + bo[j]
                cp = c_prev[b, k0:k0 + hs]
                cr, tr = cells[t, b, k0:k0 + hs], tanh_c[t, b, k0:k0 + hs]
                hr = out[t, b, k0:k0 + hs]
                for j in range(hs):
                    i = nat.sigmoid(gi[j])
                    f = nat.sigmoid(gf[j])
                    z = nat.tanh(gg[j])
                    o = nat.sigmoid(go[j])
                    gi[j], gf[j], gg[j], go[j] = i, f, z, o
                    c = f * cp[j] + i * z
                    tc = nat.tanh(c)
                    cr[j], tr[j], hr[j] = c, tc, o * tc
            if threads > 1:
                nat.fetch_add(done, s, 1)
    return steps


def _lstm_backward_steps(blas, by_rows, dh, dc, d_out, acts, tanh_c, cells, c0, w_hh, w_t, parts,
                         dg, reverse, claims, done, threads, rank, start, spins):
    """Backward through time from the last step: at step ``s`` (of T + 1) the hidden gradient
    of the step before, ``dh = dg[t'] @ W_hh`` (each part its columns; with ``by_rows``, as
    dot products along the rows of ``w_t``, which step 0 fills with ``W_hh^T``), then the gate
    gradients ``dg[t]`` and the cell gradient ``dc`` carried back. ``dh``, ``dc`` (B, H) hold
    the final states' gradients on entry and those of ``h0``, ``c0`` on return. Returns the
    number of steps done (T + 1 when finished)."""
    steps, batch, width = dg.shape
    hidden = width // 4
    hs = hidden // parts
    for s in range(start, steps + 1):
        if s > 0 and threads > 1:  # wait until step s - 1 is done
            n = 0
            while nat.load_acquire(done, s - 1) < parts:
                n += 1
                if n >= spins:
                    return s
        t = s if reverse else steps - 1 - s
        tl = s - 1 if reverse else steps - s  # the step done last
        if s < steps - 1:
            c_prev = cells[t + 1] if reverse else cells[t - 1]
        else:
            c_prev = c0
        for q in range(parts):
            p = (q + rank) % parts
            if threads > 1 and nat.fetch_add(claims, s * parts + p, 1) != 0:
                continue
            k0 = p * hs
            if s == 0 and by_rows:  # this part's rows of W_hh^T
                nat.transpose_columns(w_hh, w_t, k0, hs)
            if s > 0 and by_rows:  # this part of the hidden gradient from the step done last
                nat.rows_dot(w_t[k0:k0 + hs], dg[tl], dh[:, k0:k0 + hs].T)
            elif s > 0:
                nat.gemm(blas, ROW_MAJOR, NO_TRANS, NO_TRANS, batch, hs, width, dg[tl], width,
                         w_hh[:, k0:], hidden, 0.0, dh[:, k0:], hidden)
            if s < steps:
                for b in range(batch):
                    nat.lstm_cell_backward(dh[b], d_out[t, b], dc[b], acts[t, b], tanh_c[t, b],
                                           c_prev[b], dg[t, b], k0, hs)
            if threads > 1:
                nat.fetch_add(done, s, 1)
    return steps + 1


# Log-softmax over the rows of a 2-d array (a language model's vocabulary), the exps by
# :func:`._jit_native.exp` (vectorised, subnormal results kept), the same formulas as NumPy's
# path: ``(x - max) - log(sum(exp(x - max)))`` and, backward, ``g - exp(y) * sum(g)``. The rows'
# maxima ``tops`` come from NumPy (a compiled max does not vectorise without assuming there is no
# nan).
def _log_softmax_rows(x, tops, out, start, stop):
    n = x.shape[1]
    for r in range(start, stop):
        xr, o = x[r], out[r]
        top = tops[r]
        for j in range(n):  # the exponentials in one vectorised pass, then their sum
            o[j] = nat.exp(xr[j] - top)
        lg = x.dtype.type(math.log(nat.row_sum(o)))
        for j in range(n):
            o[j] = (xr[j] - top) - lg


def _log_softmax_backward_rows(y, g, out, start, stop):
    n = y.shape[1]
    for r in range(start, stop):
        yr, gr, o = y[r], g[r], out[r]
        total = y.dtype.type(0)
        for j in range(n):
            total += gr[j]
        for j in range(n):
            o[j] = gr[j] - nat.exp(yr[j]) * total
