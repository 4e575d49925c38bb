"""Recurrent kernels: the fused LSTM/GRU cell arithmetic and a whole-sequence LSTM layer.

* ``lstm_cell_pointwise`` / ``gru_cell_pointwise``: the gate arithmetic of one time step after
  the matrix products, each one node (``ThnnFusedLstmCellBackward0``,
  ``ThnnFusedGruCellBackward0``: PyTorch's names for its fused cells).
* ``lstm_layer``: one LSTM layer and direction over a whole (unpacked) sequence, one node
  (``MkldnnRnnLayerBackward0``, PyTorch's CPU node, with its edges: input, ``w_ih``, ``w_hh``,
  ``b_ih``, ``b_hh``, ``hx``, ``cx``). The input projection of all time steps is one matrix
  product, only the hidden product runs per step; the backward runs the recurrence once and
  forms the input and weight gradients as one matrix product each over the stacked steps.
  Those big products go through ``_threads.matmul``, so they may use idle cores. With numba,
  the whole recurrence is one compiled call (``_jit_seq``), the hidden units cut in two parts
  (by the hidden size alone) that two threads share step by step where a core is idle;
  without numba's access to NumPy's BLAS, a step's gate arithmetic alone is compiled.

Plain backward runs hand-tuned array code on the activations saved by the forward. Under
``create_graph`` the formulas recompute those activations from the saved inputs with recorded
ops and run the same recurrences on Tensors, so the gradients can be differentiated again.
"""

import numpy as np

from .. import _threads
from .._tensor import Tensor
from . import _formulas as F
from . import _jit_seq
from . import activation as act
from . import shape as sh
from ._registry import formula, out
from .activation import _stable_sigmoid as _sigmoid

__all__ = ["lstm_cell_pointwise", "gru_cell_pointwise", "lstm_layer"]

_wrap = Tensor._wrap


def _t_sigmoid(x):
    return act.sigmoid(x)


def _t_tanh(x):
    return act.tanh(x)


def _mm_t(a, b):
    """``a @ b.T`` on Tensors."""
    return a.matmul(sh.t(b))


# ------------------------------------------------------------------------------- LSTM cell
def _lstm_cell_grads(dh, dc, i, f, g, o, tanh_c, c_prev, cat):
    """Gate and previous-cell gradients of ``h, c = o * tanh(c), f * c_prev + i * g``
    (arrays or Tensors; ``dh``/``dc`` may be None)."""
    dc_total = dc
    do = None
    if dh is not None:
        term = dh * o * (1 - tanh_c * tanh_c)
        dc_total = term if dc_total is None else dc_total + term
        do = dh * tanh_c * o * (1 - o)
    if dc_total is None:
        dc_total = F.zeros_like(tanh_c)
    if do is None:
        do = F.zeros_like(o)
    di = dc_total * g * i * (1 - i)
    df = dc_total * c_prev * f * (1 - f)
    dg = dc_total * i * (1 - g * g)
    return cat([di, df, dg, do]), dc_total * f


@formula("ThnnFusedLstmCellBackward0", outputs=2,
         saves={"gates": 0, "c_prev": 1, "i": None, "f": None, "g": None, "o": None,
                "tanh_c": None})
def ThnnFusedLstmCellBackward0(ctx, grads):
    """Backward of the LSTM gate arithmetic: (gates, c) -> (h, c'), gate order i, f, g, o."""
    dh, dc = grads
    c_prev = ctx.c_prev
    if F.is_array(c_prev):
        i, f, g, o, tanh_c = ctx.i, ctx.f, ctx.g, ctx.o, ctx.tanh_c
        cat = _np_cat
    else:
        i, f, g, o = _t_lstm_gates(ctx.gates)
        tanh_c = _t_tanh(f * c_prev + i * g)
        cat = _t_cat
    d_gates, d_c_prev = _lstm_cell_grads(dh, dc, i, f, g, o, tanh_c, c_prev, cat)
    return d_gates, (d_c_prev if ctx.needs(1) else None)


def _np_cat(parts):
    return np.concatenate(parts, axis=-1)


def _t_cat(parts):
    return sh.cat(parts, -1)


def _t_lstm_gates(x):
    hs = x.shape[-1] // 4
    return (_t_sigmoid(x[..., :hs]), _t_sigmoid(x[..., hs:2 * hs]),
            _t_tanh(x[..., 2 * hs:3 * hs]), _t_sigmoid(x[..., 3 * hs:]))


def _np_lstm_gates(x):
    hs = x.shape[-1] // 4
    return (_sigmoid(x[..., :hs]), _sigmoid(x[..., hs:2 * hs]), np.tanh(x[..., 2 * hs:3 * hs]),
            _sigmoid(x[..., 3 * hs:]))


def lstm_cell_pointwise(gates, c_prev):
    """``h, c = o * tanh(c), f * c_prev + i * g`` from the pre-activation ``gates``: one node."""
    i, f, g, o = _np_lstm_gates(gates._data)
    c = f * c_prev._data + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return ThnnFusedLstmCellBackward0.record(
        (h, c), (gates, c_prev), (gates._data, c_prev._data, i, f, g, o, tanh_c))


# -------------------------------------------------------------------------------- GRU cell
@formula("ThnnFusedGruCellBackward0",
         saves={"gi": 0, "gh": 1, "h_prev": 2, "r": None, "z": None, "n": None})
def ThnnFusedGruCellBackward0(ctx, dh):
    """Backward of the GRU gate arithmetic: (input gates, hidden gates, h) -> h'."""
    h_prev = ctx.h_prev
    hs = h_prev.shape[-1]
    h_n = ctx.gh[..., 2 * hs:]
    if F.is_array(dh):
        r, z, n = ctx.r, ctx.z, ctx.n
        cat = _np_cat
    else:
        a, b = ctx.gi, ctx.gh
        r = _t_sigmoid(a[..., :hs] + b[..., :hs])
        z = _t_sigmoid(a[..., hs:2 * hs] + b[..., hs:2 * hs])
        n = _t_tanh(a[..., 2 * hs:] + r * h_n)
        cat = _t_cat
    dn = dh * (1 - z) * (1 - n * n)
    dz = dh * (h_prev - n) * z * (1 - z)
    dr = dn * h_n * r * (1 - r)
    d_gi = cat([dr, dz, dn]) if ctx.needs(0) else None
    d_gh = cat([dr, dz, dn * r]) if ctx.needs(1) else None
    d_h = dh * z if ctx.needs(2) else None
    return d_gi, d_gh, d_h


def gru_cell_pointwise(gi, gh, h_prev):
    """``h' = (1 - z) * n + z * h`` with ``n = tanh(i_n + r * h_n)``: one node."""
    a, b, hp = gi._data, gh._data, h_prev._data
    hs = hp.shape[-1]
    r = _sigmoid(a[:, :hs] + b[:, :hs])
    z = _sigmoid(a[:, hs:2 * hs] + b[:, hs:2 * hs])
    n = np.tanh(a[:, 2 * hs:] + r * b[:, 2 * hs:])
    h = n + z * (hp - n)
    return ThnnFusedGruCellBackward0.record(h, (gi, gh, h_prev), (a, b, hp, r, z, n))


# ---------------------------------------------------------------------- LSTM sequence layer
def _sequence_kernels(*arrays):
    """The compiled whole-sequence kernels (:mod:`._jit_seq`), or None."""
    return _jit_seq.kernels(*arrays)


def _parts(hs):
    """How many parts the compiled recurrence cuts the hidden units into (by the shape alone,
    so the results never depend on the machine's load): two where each part is a multiple of
    16 units and its product worth a second thread."""
    return 2 if hs >= 64 and hs % 32 == 0 else 1


def _sequence_threads(steps, batch, hs, parts):
    """Threads for the compiled recurrence: one per part where a step's product is large
    enough to share (the partners meet once per step) and idle cores allow."""
    step = 4 * hs * hs * batch
    if parts == 1 or step < 500_000:
        return 1
    return min(parts, _threads.threads_for(steps * step))


def _np_lstm_forward(x, w_ih, w_hh, bias, h0, c0, reverse):
    """Arrays: x (T, B, I) -> (outputs, cells, gate activations, tanh(cells)): (T, B, H) each
    but the activations (T, B, 4H)."""
    steps, batch, n_in = x.shape
    hs = h0.shape[-1]
    kern = _sequence_kernels(x, w_ih, w_hh, h0, c0) if steps and batch and hs else None
    gates = _threads.matmul(x.reshape(steps * batch, n_in), w_ih.T)
    gates = gates.reshape(steps, batch, 4 * hs)
    out = _outputs_after(h0, steps, reverse)
    cells = np.empty_like(out)
    tanh_c = np.empty_like(out)
    if kern is not None:
        parts = _parts(hs)
        kern.lstm_forward(gates, np.zeros(4 * hs, x.dtype) if bias is None else bias, w_hh, parts,
                          out, cells, tanh_c, np.ascontiguousarray(h0), np.ascontiguousarray(c0),
                          reverse, _sequence_threads(steps, batch, hs, parts))
        return out, cells, gates, tanh_c
    if bias is not None:
        gates += bias
    # The hidden gates as W_hh @ h^T into a (4H, B) buffer: BLAS runs that as fast as
    # h @ W_hh^T with a contiguous copy of W_hh^T (a third faster than with the transposed
    # view), without the copy; ``hh`` is its (B, 4H) view.
    hh_t = np.empty((4 * hs, batch), dtype=gates.dtype)
    hh = hh_t.T
    h, c = h0, c0
    with np.errstate(over="ignore"):  # exp(-x) = inf gives sigmoid 0, as it should
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            np.matmul(w_hh, h.T, out=hh_t)
            a = gates[t]
            c_prev, c, h = c, cells[t], out[t]
            a += hh
            _sigmoid_(a[:, :2 * hs])
            np.tanh(a[:, 2 * hs:3 * hs], out=a[:, 2 * hs:3 * hs])
            so = _sigmoid_(a[:, 3 * hs:])
            np.multiply(a[:, hs:2 * hs], c_prev, out=c)
            c += a[:, :hs] * a[:, 2 * hs:3 * hs]
            np.tanh(c, out=tanh_c[t])
            np.multiply(so, tanh_c[t], out=h)
    return out, cells, gates, tanh_c


def _outputs_after(h0, steps, reverse):
    """An empty output sequence (T, B, H): a view of a (T + 1, B, H) buffer that holds ``h0``
    just before it (just after it in reverse), so that the states the steps started from are
    a view of the same buffer (:func:`_states_before`) and the backward needs no copy."""
    buf = np.empty((steps + 1,) + h0.shape, dtype=h0.dtype)
    if reverse:
        buf[steps] = h0
        return buf[:steps]
    buf[0] = h0
    return buf[1:]


def _states_before(out, h0, reverse):
    """The state each step started from: ``h0`` then ``out`` shifted by one step, a view of
    the forward's buffer where ``out`` is one from :func:`_outputs_after` (``out`` is saved with
    its version tracked, so the buffer holds what the forward wrote), else concatenated."""
    buf = out.base
    steps = out.shape[0]
    if (isinstance(buf, np.ndarray) and buf.shape == (steps + 1,) + out.shape[1:]
            and buf.dtype == out.dtype and buf.flags.c_contiguous):
        seq, before = (buf[:steps], buf[1:]) if reverse else (buf[1:], buf[:steps])
        if seq.ctypes.data == out.ctypes.data and seq.strides == out.strides:
            return before
    return _shift(out, h0, reverse, np.concatenate)


def _sigmoid_(v):
    """``v = 1 / (1 + exp(-v))`` in place (a view of the gate buffer)."""
    np.negative(v, out=v)
    np.exp(v, out=v)
    v += 1
    return np.reciprocal(v, out=v)


def _shift(seq, first, reverse, cat):
    """The state each step starts from: ``first`` then ``seq`` shifted by one step."""
    first = F.reshape(first, (1,) + tuple(first.shape))
    if reverse:
        return cat([seq[1:], first])
    return cat([first, seq[:-1]])


@formula("MkldnnRnnLayerBackward0", outputs=3,
         saves={"x": 0, "w_ih": 1, "w_hh": 2, "b_ih": 3, "b_hh": 4, "h0": 5, "c0": 6,
                "out": out(0), "cells": None, "acts": None, "tanh_c": None},
         attrs=("reverse",))
def MkldnnRnnLayerBackward0(ctx, grads):
    """Backward through time of one LSTM layer: (input, weights, biases, hx, cx) ->
    (output, h_n, c_n)."""
    d_out, d_hn, d_cn = grads
    x, w_ih, w_hh, h0, c0, reverse = ctx.x, ctx.w_ih, ctx.w_hh, ctx.h0, ctx.c0, ctx.reverse
    if F.is_array(x):
        return _np_lstm_backward(ctx, d_out, d_hn, d_cn)
    out, cells, acts, tanh_c = _t_lstm_forward(x, w_ih, w_hh, ctx.b_ih, ctx.b_hh, h0, c0,
                                               reverse)
    steps = x.shape[0]
    hs = h0.shape[-1]
    cat0 = sh.cat
    h_prev = _shift(out, h0, reverse, cat0)
    c_prev = _shift(cells, c0, reverse, cat0)
    dh, dc = d_hn, d_cn
    d_gates = [None] * steps
    for t in (range(steps) if reverse else range(steps - 1, -1, -1)):
        dh_t = dh if d_out is None else (d_out[t] if dh is None else dh + d_out[t])
        i, f, g, o = acts[t]
        d_gates[t], dc = _lstm_cell_grads(dh_t, dc, i, f, g, o, tanh_c[t], c_prev[t], _t_cat)
        dh = d_gates[t].matmul(w_hh)
    dg = sh.stack(d_gates).reshape(steps * x.shape[1], 4 * hs)
    return _layer_param_grads(ctx, dg, x, h_prev, dh, dc)


def _layer_param_grads(ctx, dg, x, h_prev, dh0, dc0):
    """Input, weight and bias gradients from the stacked gate gradients ``dg`` (T*B, 4H): one
    matrix product each (arrays or Tensors)."""
    if F.is_array(dg):
        jobs, threads, results = _param_jobs(ctx, dg, x, h_prev)
        _threads.run_chunks(lambda i: jobs[i](), len(jobs), threads)
        return _grads_tuple(ctx, x, *results(), dh0, dc0)
    x2 = F.reshape(x, (dg.shape[0], x.shape[-1]))
    dgt = F.transpose(dg, 0, 1)
    h2 = F.reshape(h_prev, (dg.shape[0], h_prev.shape[-1]))
    dx, dw_ih, dw_hh = (None if p is None else p[0] @ p[1]
                        for p in _param_pairs(ctx, dg, dgt, x2, h2))
    db = F.sum(dg, 0) if ctx.needs(3) or ctx.needs(4) else None
    return _grads_tuple(ctx, x, dx, dw_ih, dw_hh, db, dh0, dc0)


def _param_pairs(ctx, dg, dgt, x2, h2):
    return [(dg, ctx.w_ih) if ctx.needs(0) else None, (dgt, x2) if ctx.needs(1) else None,
            (dgt, h2) if ctx.needs(2) else None]


def _param_jobs(ctx, dg, x, h_prev):
    """Arrays: the input and weight gradients' products and the bias sum as one job, ``(jobs,
    threads, results)``: once each of ``jobs`` has run (any order, any threads; ``threads``
    suggested), ``results()`` gives ``(dx (T*B, I), dW_ih, dW_hh, db)`` (None where not
    needed). The products are cut as :func:`.._threads.products` cuts them."""
    pairs = _param_pairs(ctx, dg, dg.T, x.reshape(dg.shape[0], x.shape[-1]),
                         h_prev.reshape(dg.shape[0], h_prev.shape[-1]))
    live = [p for p in pairs if p is not None]
    db = [None]

    def bias_sum():
        db[0] = dg.sum(0)

    extra = (bias_sum,) if ctx.needs(3) or ctx.needs(4) else ()
    plan = _threads.product_jobs(live, extra)
    if plan is None:  # too small to share: computed whole, as products() computes them
        outs = []

        def whole():
            for f in extra:
                f()
            outs.extend(_threads.matmul(a, b) for a, b in live)

        jobs, threads = [whole], 1
    else:
        outs, jobs, threads = plan

    def results():
        it = iter(outs)
        return (*(None if p is None else next(it) for p in pairs), db[0])

    return jobs, threads, results


def _grads_tuple(ctx, x, dx, dw_ih, dw_hh, db, dh0, dc0):
    if dx is not None:
        dx = F.reshape(dx, x.shape)
    return (dx, dw_ih, dw_hh, db if ctx.needs(3) else None, db if ctx.needs(4) else None,
            dh0 if ctx.needs(5) else None, dc0 if ctx.needs(6) else None)


def _t_lstm_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse):
    """The layer's forward with recorded ops: (outputs, cells, activations, tanh(cells)), each
    stacked over steps."""
    steps, batch = x.shape[:2]
    hs = h0.shape[-1]
    gates = _mm_t(F.reshape(x, (steps * batch, x.shape[-1])), w_ih)
    if b_ih is not None:
        gates = gates + b_ih
    if b_hh is not None:
        gates = gates + b_hh
    gates = F.reshape(gates, (steps, batch, 4 * hs))
    outs, cells, acts, tcs = ([None] * steps for _ in range(4))
    h, c = h0, c0
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        a = gates[t] + _mm_t(h, w_hh)
        i, f, g, o = _t_lstm_gates(a)
        c = f * c + i * g
        tc = _t_tanh(c)
        h = o * tc
        outs[t], cells[t], acts[t], tcs[t] = h, c, (i, f, g, o), tc
    return sh.stack(outs), sh.stack(cells), acts, tcs


def _np_lstm_backward(ctx, d_out, d_hn, d_cn):
    out, cells, acts, tanh_c = ctx.out, ctx.cells, ctx.acts, ctx.tanh_c
    x, w_hh, h0, c0, reverse = ctx.x, ctx.w_hh, ctx.h0, ctx.c0, ctx.reverse
    steps, batch, hs = out.shape
    dh = np.zeros_like(h0) if d_hn is None else np.array(d_hn, dtype=h0.dtype, order="C")
    dc = np.zeros_like(c0) if d_cn is None else np.array(d_cn, dtype=c0.dtype, order="C")
    dg = np.empty((steps, batch, 4 * hs), dtype=out.dtype)
    kern = _sequence_kernels(dh, dc, acts, w_hh) if steps and batch and hs else None
    if kern is not None:
        if d_out is None:
            d_out = np.broadcast_to(np.zeros((1, batch, hs), dtype=dh.dtype), (steps, batch, hs))
        parts = _parts(hs)
        threads = _sequence_threads(steps, batch, hs, parts)
        dg2 = dg.reshape(steps * batch, 4 * hs)
        jobs, job_threads, results = _param_jobs(ctx, dg2, x, _states_before(out, h0, reverse))
        # where both share threads, the recurrence's threads go on to the products (the
        # helpers stay awake: waking them again for a second job costs ~0.1 ms here)
        after = jobs if threads > 1 and job_threads > 1 else ()
        kern.lstm_backward(dh, dc, d_out.astype(dh.dtype, copy=False), acts, tanh_c, cells, c0,
                           w_hh, parts, dg, reverse, threads, after)
        if not after:
            _threads.run_chunks(lambda i: jobs[i](), len(jobs), job_threads)
        return _grads_tuple(ctx, x, *results(), dh, dc)
    order = range(steps) if reverse else range(steps - 1, -1, -1)
    last = order[-1]
    tmp = np.empty_like(dh)
    for t in order:
        if t == last:
            cp = c0
        else:
            cp = cells[t + 1] if reverse else cells[t - 1]
        _np_step_backward(dh, None if d_out is None else d_out[t], dc, acts[t], tanh_c[t], cp,
                          dg[t], tmp)
        np.matmul(dg[t], w_hh, out=dh)
    return _layer_param_grads(ctx, dg.reshape(steps * batch, 4 * hs), x,
                              _states_before(out, h0, reverse), dh, dc)


def _np_step_backward(dh, d_out, dc, a, tc, cp, d, tmp):
    """One backward step on NumPy (the compiled recurrence's formulas): adds
    ``d_out`` to ``dh``, writes the gate gradients ``d`` and replaces ``dc`` by the cell
    gradient carried to the previous step."""
    hs = dc.shape[-1]
    if d_out is not None:
        dh += d_out
    i, f, g, o = a[:, :hs], a[:, hs:2 * hs], a[:, 2 * hs:3 * hs], a[:, 3 * hs:]
    # dc += dh * o * (1 - tanh_c ** 2)
    np.multiply(tc, tc, out=tmp)
    np.subtract(1, tmp, out=tmp)
    tmp *= o
    tmp *= dh
    dc += tmp
    # do = dh * tanh_c * o * (1 - o)
    do = d[:, 3 * hs:]
    np.subtract(1, o, out=do)
    do *= o
    do *= tc
    do *= dh
    di = d[:, :hs]
    np.subtract(1, i, out=di)
    di *= i
    di *= g
    di *= dc
    df = d[:, hs:2 * hs]
    np.subtract(1, f, out=df)
    df *= f
    df *= cp
    df *= dc
    dgg = d[:, 2 * hs:3 * hs]
    np.multiply(g, g, out=dgg)
    np.subtract(1, dgg, out=dgg)
    dgg *= i
    dgg *= dc
    dc *= f


def lstm_layer(input, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """One LSTM layer and direction over the whole sequence ``input`` (T, B, I) from state
    ``hx``, ``cx`` (B, H): returns ``(output (T, B, H), h_n, c_n)``. Gate order i, f, g, o."""
    x = input._data
    bias = None
    if b_ih is not None:
        bias = b_ih._data
    if b_hh is not None:
        bias = b_hh._data if bias is None else bias + b_hh._data
    h0, c0 = hx._data, cx._data
    out, cells, acts, tanh_c = _np_lstm_forward(x, w_ih._data, w_hh._data, bias, h0, c0,
                                                reverse)
    end = 0 if reverse else -1
    h_n, c_n = out[end].copy(), cells[end].copy()
    return MkldnnRnnLayerBackward0.record(
        (out, h_n, c_n), (input, w_ih, w_hh, b_ih, b_hh, hx, cx),
        (x, w_ih._data, w_hh._data, _data(b_ih), _data(b_hh), h0, c0, out, cells,
         acts, tanh_c), (reverse,))


def _data(t):
    return None if t is None else t._data
