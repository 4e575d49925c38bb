"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their single-step cells.

An LSTM layer over equal-length sequences (no projection) runs as one whole-sequence node
(``ops.rnn.lstm_layer``); the other layers and the cells are composed from differentiable Tensor
ops and the fused gate nodes of ``ops/rnn.py``. The input projection of a whole sequence is one
matrix product per layer and direction; only the hidden-to-hidden product runs per time step.

Variable-length batches travel as a :class:`~numtorch.nn.utils.rnn.PackedSequence`: at time step
``t`` only the first ``batch_sizes[t]`` sequences (sorted longest first) are advanced, the others
keep their state, which is exactly how PyTorch's packed recurrences behave in both directions.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, overload

from ... import _creation
from ... import _dtype as dt
from ..._autocast_state import _AutocastState
from ..._tensor import Tensor
from ...ops._lowp import round_floating
from ...ops.dropout import dropout as _dropout
from ...ops.rnn import gru_cell_pointwise as _gru_pointwise
from ...ops.rnn import lstm_cell_pointwise as _lstm_pointwise
from ...ops.rnn import lstm_layer
from ...ops.shape import cat, stack
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module, _factory

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _packed_sequence_class():
    return PackedSequence


# ------------------------------------------------------------------------------- cell steps
# ``w_hh_t`` is the transposed hidden weight (transposed once per sequence, not per step);
# ``b_hh`` is None when it was already added to the input gates ``gi``.
def _hidden_gates(h, w_hh_t, b_hh):
    gh = h.matmul(w_hh_t)
    return gh if b_hh is None else gh + b_hh


def _rnn_tanh_step(gi, h, w_hh_t, b_hh):
    return (gi + _hidden_gates(h, w_hh_t, b_hh)).tanh()


def _rnn_relu_step(gi, h, w_hh_t, b_hh):
    return (gi + _hidden_gates(h, w_hh_t, b_hh)).relu()


def _lstm_step(gi, state, w_hh_t, b_hh, w_hr_t=None):
    """One LSTM step; ``gi`` already holds ``x W_ih^T + b_ih``. Gate order i, f, g, o."""
    h, c = state
    h, c = _lstm_pointwise(gi + _hidden_gates(h, w_hh_t, b_hh), c)
    if w_hr_t is not None:
        h = h.matmul(w_hr_t)
    return h, c


def _gru_step(gi, h, w_hh_t, b_hh):
    """One GRU step, gate order r, z, n with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``."""
    return _gru_pointwise(gi, _hidden_gates(h, w_hh_t, b_hh), h)


_STEPS = {"RNN_TANH": _rnn_tanh_step, "RNN_RELU": _rnn_relu_step, "GRU": _gru_step,
          "LSTM": _lstm_step}


# ------------------------------------------------------------------------------ state helpers
def _state_rows(state, n):
    """The first ``n`` batch rows of a hidden state (a tensor, or LSTM's ``(h, c)`` pair)."""
    if isinstance(state, tuple):
        return tuple(s[:n] for s in state)
    return state[:n]


def _merge_rows(new, old, n):
    """Rows ``:n`` from ``new`` and the rest from ``old`` (sequences that are not running)."""
    if isinstance(new, tuple):
        return tuple(_merge_rows(a, b, n) for a, b in zip(new, old))
    if n == old.shape[0]:
        return new
    return cat([new, old[n:]], 0)


class RNNBase(Module):
    r"""Base class of :class:`RNN`, :class:`LSTM` and :class:`GRU`.

    Parameters of layer ``k`` are named ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (``weight_hr_l{k}`` with ``proj_size > 0``), with the suffix ``_reverse``
    for the backward direction, and all are drawn from
    :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})`, :math:`k = 1/\text{hidden\_size}`.
    """

    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "dropout", "bidirectional", "proj_size"]

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__()
        kw = _factory(device, dtype)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        self._check_args(dropout, num_layers, hidden_size, proj_size)
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * self._num_directions
            for direction in range(self._num_directions):
                self._make_layer_params(layer, direction, gate_size, layer_input, real_hidden, kw)
        self.reset_parameters()

    @property
    def _num_directions(self):
        return 2 if self.bidirectional else 1

    def _check_args(self, dropout, num_layers, hidden_size, proj_size):
        if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1
                or isinstance(dropout, bool)):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and self.mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")

    def _make_layer_params(self, layer, direction, gate_size, layer_input, real_hidden, kw):
        suffix = "_reverse" if direction == 1 else ""
        shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
        if self.bias:
            shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
        if self.proj_size > 0:
            shapes.append(("weight_hr", (self.proj_size, self.hidden_size)))
        names = []
        for stem, shape in shapes:
            name = f"{stem}_l{layer}{suffix}"
            setattr(self, name, Parameter(_creation.empty(shape, **kw)))
            names.append(name)
        self._flat_weights_names.extend(names)
        self._all_weights.append(names)

    def reset_parameters(self) -> None:
        """Re-draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op: there is no cuDNN weight buffer to compact."""

    @property
    def _flat_weights(self):
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------------------ forward
    def _layer_weights(self, layer, direction):
        suffix = "_reverse" if direction == 1 else ""
        get = lambda stem: getattr(self, f"{stem}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def _run_direction(self, data, batch_sizes, state, weights, reverse):
        """Run one direction of one layer over packed ``data`` (sum of batch sizes, features).

        Returns the packed outputs (same row layout as ``data``) and the final state.
        """
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        if self.mode == "LSTM" and w_hr is None and batch_sizes[0] == batch_sizes[-1]:
            # whole-sequence kernel: one node, the recurrence runs on arrays
            steps, batch = len(batch_sizes), batch_sizes[0]
            out, h_n, c_n = lstm_layer(data.reshape(steps, batch, data.shape[-1]), state[0],
                                       state[1], w_ih, w_hh, b_ih, b_hh, reverse)
            return out.reshape(steps * batch, out.shape[-1]), (h_n, c_n)
        gi = data.matmul(w_ih.t())
        if b_ih is not None:
            gi = gi + b_ih
        if b_hh is not None and self.mode != "GRU":  # GRU keeps b_hn inside r * (...)
            gi, b_hh = gi + b_hh, None
        step = _STEPS[self.mode]
        extra = (w_hr.t() if w_hr is not None else None,) if self.mode == "LSTM" else ()
        w_hh = w_hh.t()
        # One split node (not a slice per step): its backward assembles the gradient once.
        gi_steps = gi.split(batch_sizes, 0)
        order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
        outputs = [None] * len(batch_sizes)
        for t in order:
            bs = batch_sizes[t]
            new = step(gi_steps[t], _state_rows(state, bs), w_hh, b_hh, *extra)
            outputs[t] = new[0] if isinstance(new, tuple) else new
            state = _merge_rows(new, state, bs)
        return cat(outputs, 0), state

    def _run(self, data, batch_sizes, hx):
        """All layers and directions over packed data; ``hx`` is ``h0`` or LSTM's ``(h0, c0)``."""
        is_lstm = self.mode == "LSTM"
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self._num_directions):
                idx = layer * self._num_directions + direction
                state = (hx[0][idx], hx[1][idx]) if is_lstm else hx[idx]
                out, state = self._run_direction(data, batch_sizes, state,
                                                 self._layer_weights(layer, direction),
                                                 reverse=direction == 1)
                outs.append(out)
                finals.append(state)
            data = outs[0] if len(outs) == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                data = _dropout(data, self.dropout, True)
        if is_lstm:
            return data, (stack([f[0] for f in finals]), stack([f[1] for f in finals]))
        return data, stack(finals)

    def _check_input(self, input, batch_sizes):
        expected = 2 if batch_sizes is not None else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def _check_hidden(self, hx, expected, msg="Expected hidden size {}, got {}"):
        if tuple(hx.shape) != tuple(expected):
            raise RuntimeError(msg.format(tuple(expected), list(hx.shape)))

    def _hidden_shapes(self, batch):
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        h_shape = (self.num_layers * self._num_directions, batch, real_hidden)
        c_shape = (self.num_layers * self._num_directions, batch, self.hidden_size)
        return h_shape, c_shape

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        packed = isinstance(input, _packed_sequence_class())
        if packed:
            data, batch_sizes_t, sorted_indices, unsorted_indices = input
            batch_sizes = [int(b) for b in batch_sizes_t.tolist()]
            batch = batch_sizes[0]
            batched = True
        else:
            batch_sizes_t = sorted_indices = unsorted_indices = None
            if input.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                                 f"{input.dim()}D instead")
            batched = input.dim() == 3
            if not batched:
                input = input.unsqueeze(1)
            elif self.batch_first:
                input = input.transpose(0, 1)
            steps, batch = input.shape[0], input.shape[1]
            batch_sizes = [batch] * steps
            data = input.reshape(steps * batch, input.shape[2])
            self._check_input(input, None)
        if packed:
            self._check_input(data, batch_sizes)
        weight = self.weight_ih_l0
        if data.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({data.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert input: input.to({weight.dtype}), or "
                             f"convert model: model.to({data.dtype})")
        hx = self._prepare_hidden(hx, batched, batch, data, sorted_indices)
        out, hidden = self._run(data, batch_sizes, hx)
        if packed:
            output = type(input)(out, batch_sizes_t, sorted_indices, unsorted_indices)
        else:
            output = out.reshape(len(batch_sizes), batch, out.shape[-1])
            if not batched:
                output = output.squeeze(1)
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, self._finish_hidden(hidden, batched, unsorted_indices)

    def _prepare_hidden(self, hx, batched, batch, data, sorted_indices):
        """Zeros when ``hx`` is None; else checked, given a batch dimension and sorted."""
        h_shape, c_shape = self._hidden_shapes(batch)
        is_lstm = self.mode == "LSTM"
        if hx is None:
            h0 = _creation.zeros(h_shape, dtype=data.dtype)
            if is_lstm:
                return h0, _creation.zeros(c_shape, dtype=data.dtype)
            return h0
        if is_lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RuntimeError("LSTM expects hx to be a tuple (h_0, c_0)")
            h0, c0 = hx
            if not batched:
                if h0.dim() != 2 or c0.dim() != 2:
                    raise RuntimeError("For unbatched 2-D input, hx and cx should also be 2-D "
                                       f"but got ({h0.dim()}-D, {c0.dim()}-D) tensors")
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            elif h0.dim() != 3 or c0.dim() != 3:
                raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but got "
                                   f"({h0.dim()}-D, {c0.dim()}-D) tensors")
            if sorted_indices is not None:
                h0, c0 = h0.index_select(1, sorted_indices), c0.index_select(1, sorted_indices)
            self._check_hidden(h0, h_shape, "Expected hidden[0] size {}, got {}")
            self._check_hidden(c0, c_shape, "Expected hidden[1] size {}, got {}")
            return h0, c0
        if not batched:
            if hx.dim() != 2:
                raise RuntimeError("For unbatched 2-D input, hx should also be 2-D but got "
                                   f"{hx.dim()}-D tensor")
            hx = hx.unsqueeze(1)
        elif hx.dim() != 3:
            raise RuntimeError("For batched 3-D input, hx should also be 3-D but got "
                               f"{hx.dim()}-D tensor")
        if sorted_indices is not None:
            hx = hx.index_select(1, sorted_indices)
        self._check_hidden(hx, h_shape)
        return hx

    @staticmethod
    def _finish_hidden(hidden, batched, unsorted_indices):
        if isinstance(hidden, tuple):
            return tuple(RNNBase._finish_hidden(h, batched, unsorted_indices) for h in hidden)
        if unsorted_indices is not None:
            hidden = hidden.index_select(1, unsorted_indices)
        if not batched:
            hidden = hidden.squeeze(1)
        return hidden


class RNN(RNNBase):
    r"""An Elman RNN with :math:`\tanh` or ReLU non-linearity:
    :math:`h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})`.

    Args:
        input_size: the number of expected features in the input ``x``
        hidden_size: the number of features in the hidden state ``h``
        num_layers: number of stacked recurrent layers. Default: 1
        nonlinearity: ``'tanh'`` or ``'relu'``. Default: ``'tanh'``
        bias: if ``False``, the layer uses no ``b_ih`` and ``b_hh``. Default: ``True``
        batch_first: if ``True``, input and output are ``(batch, seq, feature)``. Default: ``False``
        dropout: dropout probability on the outputs of each layer except the last. Default: 0
        bidirectional: if ``True``, becomes a bidirectional RNN. Default: ``False``

    Inputs: ``input, h_0`` with ``input`` of shape :math:`(L, N, H_{in})` (or batch first, or
    unbatched :math:`(L, H_{in})`, or a packed sequence) and optional ``h_0`` of shape
    :math:`(D \cdot \text{num\_layers}, N, H_{out})`, zeros by default.

    Outputs: ``output, h_n``: the last layer's features for every step, and the final hidden
    state of every layer and direction.
    """

    @overload
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None: ...

    @overload
    def __init__(self, *args, **kwargs) -> None: ...

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    r"""A multi-layer long short-term memory (LSTM) RNN.

    For each element of the input sequence each layer computes

    .. math::
        i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \qquad
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \qquad
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t \qquad h_t = o_t \odot \tanh(c_t)

    with ``h_t = W_{hr} h_t`` when ``proj_size > 0``. Arguments as :class:`RNN` (no
    ``nonlinearity``) plus ``proj_size``. Returns ``output, (h_n, c_n)``.
    """

    @overload
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None: ...

    @overload
    def __init__(self, *args, **kwargs) -> None: ...

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        if not _AutocastState.enabled:
            return super().forward(input, hx)
        # PyTorch's CPU autocast runs LSTM (mkldnn_rnn) in lower precision: the input is
        # rounded to the autocast dtype, the recurrence runs in float32 here, and the output
        # and final states come back in the autocast dtype.
        low = _AutocastState.dtype
        if isinstance(input, Tensor) and input.is_floating_point() \
                and input.dtype is not dt.float64:
            input = input.to(low).float()
        _AutocastState.enabled = False
        try:
            out = super().forward(input, hx)
        finally:
            _AutocastState.enabled = True
        return round_floating(out, low)


class GRU(RNNBase):
    r"""A multi-layer gated recurrent unit (GRU) RNN.

    .. math::
        r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \qquad
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \qquad
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Arguments and outputs as :class:`RNN` (no ``nonlinearity``).
    """

    @overload
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None: ...

    @overload
    def __init__(self, *args, **kwargs) -> None: ...

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ------------------------------------------------------------------------------------ cells
class RNNCellBase(Module):
    """Base class of the single-step cells: parameters ``weight_ih``, ``weight_hh``,
    ``bias_ih``, ``bias_hh`` drawn from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None,
                 dtype=None) -> None:
        super().__init__()
        kw = _factory(device, dtype)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(_creation.empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(_creation.empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(_creation.empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(_creation.empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input, hx, name):
        """Check shapes; give unbatched input a batch of one; zeros for a missing state."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            states = hx if isinstance(hx, tuple) else (hx,)
            for h in states:
                if h.dim() not in (1, 2):
                    raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {h.dim()}D "
                                     "instead")
        if input.size(-1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(-1)} "
                               f"expected {self.input_size}")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        return input, batched

    def _state(self, hx, input, batched):
        if hx is None:
            return _creation.zeros((input.shape[0], self.hidden_size), dtype=input.dtype)
        h = hx if batched else hx.unsqueeze(0)
        if h.shape[0] != input.shape[0]:
            raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden0 batch "
                               f"size {h.shape[0]}")
        if h.shape[1] != self.hidden_size:
            raise RuntimeError(f"hidden0 has inconsistent hidden_size: got {h.shape[1]}, "
                               f"expected {self.hidden_size}")
        return h

    def _input_gates(self, input):
        gi = input.matmul(self.weight_ih.t())
        return gi + self.bias_ih if self.bias_ih is not None else gi


class RNNCell(RNNCellBase):
    r"""An Elman RNN cell: :math:`h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})`
    (or ReLU). Input :math:`(N, H_{in})` or :math:`(H_{in})`; returns :math:`h'`."""

    __constants__ = ["input_size", "hidden_size", "bias", "nonlinearity"]

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        input, batched = self._prepare(input, hx, "RNNCell")
        h = self._state(hx, input, batched)
        step = _rnn_tanh_step if self.nonlinearity == "tanh" else _rnn_relu_step
        h = step(self._input_gates(input), h, self.weight_hh.t(), self.bias_hh)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    r"""A long short-term memory cell (gate order i, f, g, o). Returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor,
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        input, batched = self._prepare(input, hx, "LSTMCell")
        if hx is None:
            h = c = self._state(None, input, batched)
        else:
            h, c = self._state(hx[0], input, batched), self._state(hx[1], input, batched)
        h, c = _lstm_step(self._input_gates(input), (h, c), self.weight_hh.t(), self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    r"""A gated recurrent unit cell (gate order r, z, n). Returns :math:`h'`."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, batched = self._prepare(input, hx, "GRUCell")
        h = self._state(hx, input, batched)
        h = _gru_step(self._input_gates(input), h, self.weight_hh.t(), self.bias_hh)
        return h if batched else h.squeeze(0)
