"""Optional compiled kernels (numba) for sequence models: an LSTM layer's whole recurrence,
log-softmax over a vocabulary and the embedding gradient.

**Whole-sequence LSTM** (``lstm_forward``, ``lstm_backward``). A step of the word language
model's layer is one 20×256 @ 256×1024 product and a few passes over 20×1024 gates: from
Python, every step returned to the interpreter about ten times, and two threads sharing a step
waited for the GIL and for sleeping partners. One compiled call runs all steps: the hidden
product from the weight packed once per sequence (:func:`._jit_native.panel_product`), the
gates with vectorised exp/tanh, and, on two threads, each step's two halves of the hidden units
claimed by whichever thread is free (see the comment above :func:`_lstm_forward_steps`),
bit-identical on one or two threads.

Gated like the other kernels (:mod:`numtorch.ops._jit`): without numba, or with
``NUMTORCH_JIT=0``, :func:`kernels` returns None and the callers run their NumPy paths.

The embedding gradient adds each output-gradient row to its index's row in one pass, in the
order of the indices (NumPy's path sorts the indices and sums each run with ``reduceat``,
twenty times slower on the word language model's 700 lookups; sums equal up to rounding).
"""

import itertools
import math
import time

import numpy as np

from .. import _threads
from . import _jit
from . import _jit_native as nat


class _Kernels:
    def __init__(self, numba):
        def jit(fn):
            return _jit.njit(numba, fn, nogil=True)

        self.embedding_backward = jit(_embedding_backward)
        self.pack_panels = jit(_pack_panels)
        # NumPy's error model: a division by zero gives inf instead of a check per element
        # that keeps the loops from being vectorised; sums along a row may be reassociated (a
        # fixed order for a given build, whatever the thread count). Cached on disk like the
        # others: numba keys the cache on this file, so after changing an implementation in
        # _jit_native, change this file too (or clear __pycache__).
        def vec(fn, reduces=False):
            return _jit.njit(numba, fn, nogil=True, error_model="numpy",
                             **({"fastmath": {"reassoc", "nsz"}} if reduces else {}))

        nat.install(numba)
        self._lstm_forward_steps = vec(_lstm_forward_steps)
        self._lstm_backward_steps = vec(_lstm_backward_steps)
        # no reassociation here: it may turn (x - top) - log(sum) into x - (top + log(sum)),
        # which loses the log term next to a top near float32's largest value
        self.log_softmax_rows = vec(_log_softmax_rows)
        self.log_softmax_backward_rows = vec(_log_softmax_backward_rows, reduces=True)

    def lstm_forward(self, gates, bias, w_hh, parts, out, cells, tanh_c, h0, c0, reverse,
                     threads):
        """The recurrence of one LSTM layer over the whole sequence (see
        :func:`_lstm_forward_steps`), its hidden units cut into ``parts``, on ``threads`` (1 or
        one per part) threads."""
        hidden = w_hh.shape[1]
        hs = hidden // parts
        width = nat.panel_width(w_hh.dtype)
        # part p's product: h @ (the rows of W_hh of its units, gates one after the other)^T
        panels = np.empty((parts,) + nat.panels_shape(hidden, 4 * hs, w_hh.dtype), w_hh.dtype)
        if parts == 1:
            self.pack_panels(w_hh.T, panels[0])
        else:  # each gate's units of a part fill whole panels (_parts cuts hs = 16k units)
            for p in range(parts):
                for g in range(4):
                    rows = w_hh[g * hidden + p * hs:g * hidden + (p + 1) * hs]
                    self.pack_panels(rows.T, panels[p, g * hs // width:(g + 1) * hs // width])
        hh = np.empty((parts, h0.shape[0], 4 * hs), dtype=gates.dtype)
        _team(self._lstm_forward_steps, gates.shape[0], parts,
              (gates, bias, panels, out, cells, tanh_c, h0, c0, hh, reverse), threads)

    def lstm_backward(self, dh, dc, d_out, acts, tanh_c, cells, c0, w_hh, parts, dg, reverse,
                      threads, after=()):
        """The backward recurrence of one LSTM layer (see :func:`_lstm_backward_steps`), then
        the callables ``after`` (each once, shared by the same threads: work that needs all of
        ``dg``, such as the weight gradients' products)."""
        hidden = w_hh.shape[1]
        hs = hidden // parts
        # part p's product: dg @ (the columns of W_hh of its units)
        panels = np.empty((parts,) + nat.panels_shape(4 * hidden, hs, w_hh.dtype), w_hh.dtype)
        for p in range(parts):
            self.pack_panels(w_hh[:, p * hs:(p + 1) * hs], panels[p])
        _team(self._lstm_backward_steps, dg.shape[0] + 1, parts,
              (dh, dc, d_out, acts, tanh_c, cells, c0, panels, dg, reverse), threads, after)


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


# Compiled by numba (plain Python, slow, if called directly).
def _pack_panels(b, panels):
    nat.pack_panels(b, panels)


def _embedding_backward(indices, rows, grad):
    """``grad[indices[n]] += rows[n]`` for every ``n``, in order."""
    for n in range(indices.shape[0]):
        dst = grad[indices[n]]
        src = rows[n]
        for j in range(src.shape[0]):
            dst[j] += src[j]


# Whole-sequence LSTM recurrences, gates in PyTorch's order (i, f, g, o; H columns each). The
# hidden units are cut into P parts of hs = H / P units: part p owns columns p * hs ... (p + 1)
# * hs of each gate. Forward, panels[p] holds the matching rows of W_hh, transposed ((H, 4hs):
# its gates one after the other); backward, panels[p] holds columns p * hs ... (p + 1) * hs of
# W_hh ((4H, hs)); both packed for :func:`._jit_native.panel_product`.
# On one thread, every part in turn. On two, each step's parts go to whichever thread claims
# them first (rank r tries part r first): a thread whose partner another process keeps off
# its core does both parts and never waits for it, except for a part the partner has started.
# A part is computed by the same products and arithmetic whoever computes it, so the results
# do not depend on the thread count or on who did what. ``claims[s * P + p]`` counts the
# claims of step s's part p (the first claimer computes it), ``done[s]`` the parts of step s
# finished; a step starts when the one before has all its parts done.
def _lstm_forward_steps(gates, bias, panels, out, cells, tanh_c, h0, c0, hh, reverse, claims,
                        done, threads, rank, start, spins):
    """From step ``start``: each step adds ``h_prev @ W_hh^T + bias`` (4H) to the gates (T, B,
    4H, holding ``x W_ih^T``; replaced by the activations i, f, g, o), and writes the cell, its
    tanh and the output. Returns the number of steps done (less than T when the
    partner did not arrive within ``spins``)."""
    steps, batch, hidden = out.shape
    parts = panels.shape[0]
    hs = hidden // parts
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
            nat.panel_product(h_prev, panels[p], buf)
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


def _lstm_backward_steps(dh, dc, d_out, acts, tanh_c, cells, c0, panels, dg, reverse, claims, done,
                         threads, rank, start, spins):
    """Backward through time from the last step: at step ``s`` (of T + 1) the hidden gradient
    of the step before, ``dh = dg[t'] @ W_hh`` (each part its columns), then the gate
    gradients ``dg[t]`` and the cell gradient ``dc`` carried back. ``dh``, ``dc`` (B, H) hold
    the final states' gradients on entry and those of ``h0``, ``c0`` on return. Returns the
    number of steps done (T + 1 when finished)."""
    steps, batch, width = dg.shape
    hidden = width // 4
    parts = panels.shape[0]
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
            if s > 0:  # this part of the hidden gradient from the step done last
                nat.panel_product(dg[tl], panels[p], dh[:, k0:k0 + hs])
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
