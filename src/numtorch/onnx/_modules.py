"""The ONNX mapping of the layers that are one ONNX construct (``nn.LSTM`` → ``LSTM`` …).

A module listed here is recorded as a whole when the model calls it; what its ``forward`` does
inside is not traced. A subclass that overrides ``forward`` is traced through instead.
"""

import math

import numpy as np

from .. import nn
from . import _ops
from ._trace import MODULE_GUARDS, SYMBOLICS, ExportError, module_symbolic

__all__ = []


def _fail(g, module, what):
    raise ExportError(f"numtorch.onnx.export: {type(module).__name__} {what} has no ONNX "
                      f"mapping (in module {g.module_path()!r})")


@module_symbolic(nn.Identity)
def _identity(g, m, input, *args, **kwargs):
    return g.v(input)


@module_symbolic(nn.Linear)
def _linear(g, m, input):
    return _ops._linear(g, input, m.weight, m.bias)


def _conv_module(g, m, input):
    if m.padding_mode == "zeros":
        return _ops._conv(g, input, m.weight, m.bias, m.stride, m.padding, m.dilation,
                          m.groups)
    pads = getattr(m, "_reversed_padding_repeated_twice", None)
    if pads is None:
        _fail(g, m, f"with padding_mode={m.padding_mode!r}")
    x = _pad_name(g, input, list(pads), m.padding_mode)
    n = len(m.kernel_size)
    inputs = [x, g.v(m.weight)] + ([g.v(m.bias)] if m.bias is not None else [])
    return g.node("Conv", inputs, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                  pads=[0] * (2 * n), dilations=list(m.dilation), group=int(m.groups))


def _pad_name(g, input, pads, mode):
    r = g.rank(input)
    begins, ends = [0] * r, [0] * r
    for i in range(len(pads) // 2):
        begins[r - 1 - i], ends[r - 1 - i] = pads[2 * i], pads[2 * i + 1]
    onnx_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    if mode == "circular" and g.opset < 19:
        raise ExportError("numtorch.onnx.export: padding_mode='circular' needs opset 19 or "
                          f"newer (in module {g.module_path()!r})")
    return g.node("Pad", [g.v(input), g.ints(begins + ends)], mode=onnx_mode)


module_symbolic(nn.Conv1d, nn.Conv2d)(_conv_module)


def _conv_transpose_module(g, m, input, output_size=None):
    if output_size is not None:
        _fail(g, m, "with output_size")
    return _ops._conv_transpose(g, input, m.weight, m.bias, m.stride, m.padding,
                                m.output_padding, m.groups, m.dilation)


module_symbolic(nn.ConvTranspose1d, nn.ConvTranspose2d)(_conv_transpose_module)


@module_symbolic(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
def _batch_norm(g, m, input):
    if m.training or m.running_mean is None:
        _fail(g, m, "using batch statistics (training mode or track_running_stats=False)")
    return _ops._batch_norm(g, input, m.running_mean, m.running_var, m.weight, m.bias, False,
                            0.0, m.eps)


@module_symbolic(nn.LayerNorm)
def _layer_norm(g, m, input):
    return _ops._layer_norm(g, input, m.normalized_shape, m.weight, m.bias, m.eps)


@module_symbolic(nn.GroupNorm)
def _group_norm(g, m, input):
    return _ops._group_norm(g, input, m.num_groups, m.weight, m.bias, m.eps)


@module_symbolic(nn.Embedding)
def _embedding(g, m, input):
    return _ops._embedding(g, input, m.weight, m.padding_idx, m.max_norm)


@module_symbolic(nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
def _dropout(g, m, input):
    if m.training and m.p > 0:
        _fail(g, m, "in training mode")
    return g.v(input)


def _activation(fn, *attrs, **fixed):
    def mapping(g, m, input):
        return fn(g, input, *[getattr(m, a) for a in attrs], **fixed)
    return mapping


_ACTIVATIONS = [
    (nn.ReLU, SYMBOLICS["relu"], ()),
    (nn.Sigmoid, SYMBOLICS["sigmoid"], ()),
    (nn.Tanh, SYMBOLICS["tanh"], ()),
    (nn.SELU, SYMBOLICS["selu"], ()),
    (nn.Softsign, SYMBOLICS["softsign"], ()),
    (nn.ReLU6, _ops._relu6, ()),
    (nn.LeakyReLU, _ops._leaky_relu, ("negative_slope",)),
    (nn.ELU, _ops._elu, ("alpha",)),
    (nn.CELU, _ops._celu, ("alpha",)),
    (nn.GELU, _ops._gelu, ("approximate",)),
    (nn.SiLU, _ops._silu, ()),
    (nn.Mish, _ops._mish, ()),
    (nn.Softplus, _ops._softplus, ("beta", "threshold")),
    (nn.LogSigmoid, _ops._logsigmoid, ()),
    (nn.Hardsigmoid, _ops._hardsigmoid, ()),
    (nn.Hardswish, _ops._hardswish, ()),
    (nn.Hardtanh, _ops._hardtanh, ("min_val", "max_val")),
    (nn.GLU, _ops._glu, ("dim",)),
    (nn.Softmax, SYMBOLICS["softmax"], ("dim",)),
    (nn.LogSoftmax, SYMBOLICS["log_softmax"], ("dim",)),
    (nn.Softmin, _ops._softmin, ("dim",)),
]
for _cls, _fn, _attrs in _ACTIVATIONS:
    module_symbolic(_cls)(_activation(_fn, *_attrs))


@module_symbolic(nn.Flatten)
def _flatten(g, m, input):
    return _ops._flatten(g, input, m.start_dim, m.end_dim)


@module_symbolic(nn.Unflatten)
def _unflatten(g, m, input):
    return _ops._unflatten(g, input, m.dim, m.unflattened_size)


@module_symbolic(nn.MaxPool1d, nn.MaxPool2d)
def _max_pool(g, m, input):
    n = 1 if isinstance(m, nn.MaxPool1d) else 2
    return _ops._max_pool(n)(g, input, m.kernel_size, m.stride, m.padding, m.dilation,
                             m.ceil_mode, m.return_indices)


@module_symbolic(nn.AvgPool1d, nn.AvgPool2d)
def _avg_pool(g, m, input):
    n = 1 if isinstance(m, nn.AvgPool1d) else 2
    return _ops._avg_pool(n)(g, input, m.kernel_size, m.stride, m.padding, m.ceil_mode,
                             m.count_include_pad, getattr(m, "divisor_override", None))


@module_symbolic(nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
def _adaptive_avg(g, m, input):
    n = 1 if isinstance(m, nn.AdaptiveAvgPool1d) else 2
    return _ops._adaptive(n, "GlobalAveragePool", "AveragePool")(g, input, m.output_size)


@module_symbolic(nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)
def _adaptive_max(g, m, input):
    n = 1 if isinstance(m, nn.AdaptiveMaxPool1d) else 2
    return _ops._adaptive(n, "GlobalMaxPool", "MaxPool")(g, input, m.output_size,
                                                        m.return_indices)


# ---------------------------------------------------------------------- recurrent layers
# PyTorch stacks the gates as (i, f, g, o) for LSTM and (r, z, n) for GRU; ONNX as
# (i, o, f, c) and (z, r, h).
_GATE_ORDER = {"LSTM": (4, [0, 3, 1, 2]), "GRU": (3, [1, 0, 2]), "RNN": (1, [0])}


def _gates(g, tensor, mode):
    n, order = _GATE_ORDER[mode]
    name = g.v(tensor)
    if n == 1:
        return name
    parts = g.node("Split", [name, g.ints([g.shape(tensor)[0] // n] * n)], n, axis=0)
    return g.node("Concat", [parts[i] for i in order], axis=0)


def _stack_directions(g, names):
    parts = [g.unsqueeze(n, [0]) for n in names]
    return parts[0] if len(parts) == 1 else g.node("Concat", parts, axis=0)


@module_symbolic(nn.LSTM, nn.GRU, nn.RNN)
def _rnn(g, m, input, hx=None):
    mode = type(m).__name__ if type(m).__name__ in _GATE_ORDER else m.mode
    if not hasattr(input, "dim"):
        _fail(g, m, "on a PackedSequence")
    if getattr(m, "proj_size", 0):
        _fail(g, m, "with proj_size")
    if m.training and m.dropout > 0 and m.num_layers > 1:
        _fail(g, m, "with dropout in training mode")
    nd = 2 if m.bidirectional else 1
    H = m.hidden_size
    batched = g.rank(input) == 3
    x = g.v(input)
    if not batched:
        x = g.unsqueeze(x, [1])
    elif m.batch_first:
        x = g.transpose(x, [1, 0, 2])
    states = []
    if hx is not None:
        hs = list(hx) if mode == "LSTM" else [hx]
        for h in hs:
            name = g.v(h)
            states.append(g.unsqueeze(name, [1]) if not batched else name)
    if mode == "RNN":
        activation = {"tanh": "Tanh", "relu": "Relu"}[m.nonlinearity]
    h_out, c_out = [], []
    for layer in range(m.num_layers):
        w, r, b = [], [], []
        for d in range(nd):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih, w_hh = getattr(m, "weight_ih" + sfx), getattr(m, "weight_hh" + sfx)
            w.append(_gates(g, w_ih, mode))
            r.append(_gates(g, w_hh, mode))
            if m.bias:
                b.append(g.node("Concat", [_gates(g, getattr(m, "bias_ih" + sfx), mode),
                                           _gates(g, getattr(m, "bias_hh" + sfx), mode)],
                                axis=0))
        inputs = [x, _stack_directions(g, w), _stack_directions(g, r),
                  _stack_directions(g, b) if b else "", ""]
        for state in states:
            inputs.append(g.node("Slice", [state, g.ints([layer * nd]),
                                           g.ints([(layer + 1) * nd]), g.ints([0])]))
        attrs = {"hidden_size": H, "direction": "bidirectional" if nd == 2 else "forward"}
        if mode == "LSTM":
            y, y_h, y_c = g.node("LSTM", inputs, 3, **attrs)
            c_out.append(y_c)
        elif mode == "GRU":
            y, y_h = g.node("GRU", inputs, 2, linear_before_reset=1, **attrs)
        else:
            y, y_h = g.node("RNN", inputs, 2, activations=[activation] * nd, **attrs)
        h_out.append(y_h)
        # Y is (seq, directions, batch, hidden): back to (seq, batch, directions * hidden)
        x = g.node("Reshape", [g.transpose(y, [0, 2, 1, 3]), g.ints([0, 0, -1])])
    output = x
    if not batched:
        output = g.squeeze(output, [1])
    elif m.batch_first:
        output = g.transpose(output, [1, 0, 2])
    hidden = [h_out, c_out] if mode == "LSTM" else [h_out]
    results = [output]
    for parts in hidden:
        h = parts[0] if len(parts) == 1 else g.node("Concat", parts, axis=0)
        results.append(g.squeeze(h, [1]) if not batched else h)
    return results


# ---------------------------------------------------------------------- attention
def _additive(g, mask, dtype):
    name = g.v(mask)
    if g.dtype(mask) == np.bool_:
        return g.node("Where", [name, g.const(np.asarray(-np.inf, dtype)),
                                g.const(np.asarray(0, dtype))])
    return g.cast(name, dtype)


@module_symbolic(nn.MultiheadAttention)
def _multihead_attention(g, m, query, key, value, key_padding_mask=None, need_weights=True,
                         attn_mask=None, average_attn_weights=True, is_causal=False):
    if m.bias_k is not None or m.add_zero_attn:
        _fail(g, m, "with add_bias_kv or add_zero_attn")
    if m.training and m.dropout > 0:
        _fail(g, m, "with dropout in training mode")
    dtype = g.dtype(query)
    H, E = m.num_heads, m.embed_dim
    hd = E // H
    batched = g.rank(query) == 3
    names = []
    for t in (query, key, value):
        x = g.v(t)
        if not batched:
            x = g.unsqueeze(x, [1])
        elif m.batch_first:
            x = g.transpose(x, [1, 0, 2])
        names.append(x)
    if m._qkv_same_embed_dim:
        weights = g.node("Split", [g.v(m.in_proj_weight), g.ints([E] * 3)], 3, axis=0)
    else:
        weights = [g.v(m.q_proj_weight), g.v(m.k_proj_weight), g.v(m.v_proj_weight)]
    biases = g.node("Split", [g.v(m.in_proj_bias), g.ints([E] * 3)], 3, axis=0) \
        if m.in_proj_bias is not None else [None] * 3
    projected = []
    for x, w, b in zip(names, weights, biases):
        y = g.node("MatMul", [x, g.node("Transpose", [w], perm=[1, 0])])
        if b is not None:
            y = g.node("Add", [y, b])
        projected.append(g.node("Reshape", [y, g.ints([0, 0, H, hd])]))  # (L, N, H, hd)
    q = g.transpose(projected[0], [1, 2, 0, 3])  # (N, H, L, hd)
    k = g.transpose(projected[1], [1, 2, 3, 0])  # (N, H, hd, S)
    v = g.transpose(projected[2], [1, 2, 0, 3])  # (N, H, S, hd)
    q = g.node("Mul", [q, g.const(np.asarray(1.0 / math.sqrt(hd), dtype))])
    scores = g.node("MatMul", [q, k])  # (N, H, L, S)
    if attn_mask is not None:
        mask = _additive(g, attn_mask, dtype)
        if g.rank(attn_mask) == 3:
            target = g.node("Concat", [g.ints([-1, H]), g.shape(mask, start=1)], axis=0)
            mask = g.node("Reshape", [mask, target])
        scores = g.node("Add", [scores, mask])
    if key_padding_mask is not None:
        mask = _additive(g, key_padding_mask, dtype)
        mask = g.unsqueeze(mask, [1, 2] if batched else [0, 1, 2])
        scores = g.node("Add", [scores, mask])
    attn = g.node("Softmax", [scores], axis=-1)
    out = g.node("MatMul", [attn, v])  # (N, H, L, hd)
    out = g.node("Reshape", [g.transpose(out, [2, 0, 1, 3]), g.ints([0, 0, -1])])  # (L, N, E)
    out = g.node("MatMul", [out, g.node("Transpose", [g.v(m.out_proj.weight)], perm=[1, 0])])
    if m.out_proj.bias is not None:
        out = g.node("Add", [out, g.v(m.out_proj.bias)])
    if not batched:
        out = g.squeeze(out, [1])
    elif m.batch_first:
        out = g.transpose(out, [1, 0, 2])
    results = [out]
    if need_weights:
        w = g.reduce("ReduceMean", attn, [1], False) if average_attn_weights else attn
        results.append(g.squeeze(w, [0]) if not batched else w)
    return results


def _transformer_encoder_guard(g, m, src, mask=None, src_key_padding_mask=None,
                               is_causal=None):
    if m._nested_padding(src, mask, src_key_padding_mask) is not None:
        _fail(g, m, "with src_key_padding_mask on the nested-tensor fast path (build it with "
              "enable_nested_tensor=False)")


MODULE_GUARDS[nn.TransformerEncoder] = _transformer_encoder_guard
