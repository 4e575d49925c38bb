"""nn.RNN / LSTM / GRU, their cells and nn.utils.rnn against PyTorch.

Each case builds the torch module, copies its weights into the numtorch module through
``state_dict`` and compares outputs, final states and every parameter and input gradient.
"""

import math
import warnings

import numpy as np
import pytest
from oracle import check_grad_fd

import numtorch
from numtorch.nn.utils import rnn as nt_rnn

torch = pytest.importorskip("torch")

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}
DTYPES = [np.float64, np.float32]


def _np(t):
    return t.detach().numpy()


def _pair(cls_name, dtype, *args, **kwargs):
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls_name)(*args, **kwargs)
    nm = getattr(numtorch.nn, cls_name)(*args, **kwargs)
    if dtype == np.float64:
        tm, nm = tm.double(), nm.double()
    nm.load_state_dict({k: numtorch.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    return tm, nm


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    if hasattr(out, "data") and hasattr(out, "batch_sizes"):
        return [out.data]
    return [out]


def _compare(tm, nm, t_out, n_out, t_inputs, n_inputs, dtype):
    tol = TOL[dtype]
    t_flat, n_flat = _flat(t_out), _flat(n_out)
    assert len(t_flat) == len(n_flat)
    rng = np.random.default_rng(1)
    t_loss, n_loss = 0, 0
    for a, b in zip(t_flat, n_flat):
        assert tuple(b.shape) == tuple(a.shape)
        assert _np(b).dtype == _np(a).dtype
        np.testing.assert_allclose(_np(b), _np(a), **tol)
        w = rng.standard_normal(tuple(a.shape)).astype(dtype)
        t_loss = t_loss + (a * torch.tensor(w)).sum()
        n_loss = n_loss + (b * numtorch.tensor(w)).sum()
    t_loss.backward()
    n_loss.backward()
    for (name, a), (name2, b) in zip(tm.named_parameters(), nm.named_parameters()):
        assert name == name2
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), err_msg=name, **tol)
    for a, b in zip(t_inputs, n_inputs):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **tol)


def _inputs(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return ([torch.tensor(a, requires_grad=True) for a in arrays],
            [numtorch.tensor(a, requires_grad=True) for a in arrays])


CONFIGS = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(bias=False, batch_first=True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("with_h0", [False, True])
def test_recurrent_layers_match_torch(cls_name, config, with_h0, dtype):
    input_size, hidden, steps, batch = 3, 4, 5, 2
    tm, nm = _pair(cls_name, dtype, input_size, hidden, **config)
    layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    x_shape = (batch, steps, input_size) if config.get("batch_first") else (steps, batch,
                                                                            input_size)
    shapes = [x_shape]
    if with_h0:
        shapes += [(layers, batch, hidden)] * (2 if cls_name == "LSTM" else 1)
    t_in, n_in = _inputs(shapes, dtype)
    if not with_h0:
        t_out, n_out = tm(t_in[0]), nm(n_in[0])
    elif cls_name == "LSTM":
        t_out, n_out = tm(t_in[0], tuple(t_in[1:])), nm(n_in[0], tuple(n_in[1:]))
    else:
        t_out, n_out = tm(t_in[0], t_in[1]), nm(n_in[0], n_in[1])
    _compare(tm, nm, t_out, n_out, t_in, n_in, dtype)


@pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_rnn_relu_and_lstm_proj_size(dtype):
    tm, nm = _pair("RNN", dtype, 3, 4, nonlinearity="relu", num_layers=2)
    t_in, n_in = _inputs([(5, 2, 3)], dtype)
    _compare(tm, nm, tm(t_in[0]), nm(n_in[0]), t_in, n_in, dtype)
    tm, nm = _pair("LSTM", dtype, 3, 5, proj_size=2, num_layers=2, bidirectional=True)
    t_in, n_in = _inputs([(4, 2, 3), (4, 2, 2), (4, 2, 5)], dtype)
    _compare(tm, nm, tm(t_in[0], (t_in[1], t_in[2])), nm(n_in[0], (n_in[1], n_in[2])),
             t_in, n_in, dtype)


@pytest.mark.parametrize("jit", ["sequence", "numpy"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("outputs", ["all", "states_only"])
def test_lstm_layer_kernels_match_torch(monkeypatch, jit, dtype, outputs):
    """Both paths of the whole-sequence LSTM layer (the whole recurrence compiled, NumPy alone),
    in both directions, with the output sequence used or only the final states."""
    from numtorch.ops import _jit
    if jit != "numpy":
        pytest.importorskip("numba")
    monkeypatch.setattr(_jit, "ENABLED", jit != "numpy")
    tm, nm = _pair("LSTM", dtype, 5, 8, num_layers=2, bidirectional=True)
    t_in, n_in = _inputs([(7, 3, 5), (4, 3, 8), (4, 3, 8)], dtype)
    t_out = tm(t_in[0], tuple(t_in[1:]))
    n_out = nm(n_in[0], tuple(n_in[1:]))
    if outputs == "states_only":
        t_out, n_out = t_out[1], n_out[1]
    _compare(tm, nm, t_out, n_out, t_in, n_in, dtype)


def _sequence_kernels_or_skip():
    pytest.importorskip("numba")
    from numtorch.ops import rnn as ops_rnn
    if ops_rnn._sequence_kernels(np.zeros(1, np.float32)) is None:
        pytest.skip("compiled kernels are off")
    return ops_rnn


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", [1, 2])
def test_lstm_sequence_kernels_two_parts_match_torch(monkeypatch, dtype, threads):
    """Hidden units cut in two parts (hidden size 64), on one thread or on two threads meeting
    once per step, both directions, with an initial state."""
    ops_rnn = _sequence_kernels_or_skip()
    assert ops_rnn._parts(64) == 2
    monkeypatch.setattr(ops_rnn, "_sequence_threads",
                        lambda steps, batch, hs, parts: min(parts, threads))
    tm, nm = _pair("LSTM", dtype, 5, 64, num_layers=2, bidirectional=True)
    t_in, n_in = _inputs([(6, 3, 5), (4, 3, 64), (4, 3, 64)], dtype)
    _compare(tm, nm, tm(t_in[0], tuple(t_in[1:])), nm(n_in[0], tuple(n_in[1:])), t_in, n_in,
             dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [1, 4, 6, 9, 13])
def test_lstm_sequence_kernels_any_batch_and_hidden_size(batch, dtype):
    """The hidden products in blocks of five or six batch rows, and fewer (batch 1-13), with
    panels of the weight only partly filled (hidden size 7: backward products of 7 columns,
    forward ones of 28)."""
    _sequence_kernels_or_skip()
    tm, nm = _pair("LSTM", dtype, 5, 7, num_layers=2)
    t_in, n_in = _inputs([(4, batch, 5)], dtype)
    _compare(tm, nm, tm(t_in[0]), nm(n_in[0]), t_in, n_in, dtype)


@pytest.mark.parametrize("spins", [None, 1], ids=["spin", "sleep"])
def test_lstm_sequence_kernels_same_bits_on_one_and_two_threads(monkeypatch, spins):
    """The cut of the hidden units depends on the shape alone: one thread or two give the same
    outputs and gradients, bit for bit, also when the partners wait by sleeping (a partner
    that does not arrive while a thread spins)."""
    ops_rnn = _sequence_kernels_or_skip()
    if spins is not None:
        from numtorch.ops import _jit_seq
        monkeypatch.setattr(_jit_seq, "_SPINS", spins)
    numtorch.manual_seed(0)
    lstm = numtorch.nn.LSTM(8, 64, num_layers=2)
    x = numtorch.randn(7, 5, 8)
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(ops_rnn, "_sequence_threads",
                            lambda steps, batch, hs, parts, n=threads: min(parts, n))
        lstm.zero_grad()
        out, (h, c) = lstm(x)
        (out.sum() + (h * c).sum()).backward()
        results.append([out.detach().numpy(), h.detach().numpy(), c.detach().numpy()]
                       + [p.grad.numpy().copy() for p in lstm.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_backward_products_on_the_recurrence_threads(monkeypatch, dtype):
    """Where the backward recurrence runs on two threads and the input and weight gradients'
    products are cut, the same threads go on to the products (one job): PyTorch's values, and
    the same bits as the recurrence on one thread with the products in a job of their own."""
    ops_rnn = _sequence_kernels_or_skip()
    from numtorch import _threads
    from numtorch.ops import _jit_seq
    monkeypatch.setattr(_threads, "FLOPS_PER_THREAD", 2000)  # cut even these small products
    monkeypatch.setattr(_threads, "get_num_threads", lambda: 2)
    monkeypatch.setattr(_threads, "workers", lambda: 2)
    kern_cls = type(_jit_seq.kernels(np.zeros(1, np.float32)))
    shared = []
    backward = kern_cls.lstm_backward

    def spy(self, *args):
        shared.append(len(args[-1]))
        return backward(self, *args)

    monkeypatch.setattr(kern_cls, "lstm_backward", spy)
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(ops_rnn, "_sequence_threads",
                            lambda steps, batch, hs, parts, n=threads: min(parts, n))
        tm, nm = _pair("LSTM", dtype, 5, 64, num_layers=2)
        t_in, n_in = _inputs([(6, 3, 5), (2, 3, 64), (2, 3, 64)], dtype)
        n_out = nm(n_in[0], tuple(n_in[1:]))
        _compare(tm, nm, tm(t_in[0], tuple(t_in[1:])), n_out, t_in, n_in, dtype)
        results.append([t.detach().numpy() for t in _flat(n_out)]
                       + [t.grad.numpy().copy() for t in n_in]
                       + [q.grad.numpy().copy() for q in nm.parameters()])
    assert shared[:2] == [0, 0] and min(shared[2:]) > 0 and len(shared) == 4  # two layers
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_lstm_sequence_kernels_switched_off_before_backward(monkeypatch):
    """A forward through the compiled recurrence (its own gate order) and a backward on NumPy
    alone still give PyTorch's gradients."""
    _sequence_kernels_or_skip()
    from numtorch.ops import _jit
    tm, nm = _pair("LSTM", np.float64, 5, 64)
    t_in, n_in = _inputs([(6, 3, 5)], np.float64)
    t_out, n_out = tm(t_in[0]), nm(n_in[0])
    monkeypatch.setattr(_jit, "ENABLED", False)
    _compare(tm, nm, t_out, n_out, t_in, n_in, np.float64)


def test_lstm_sequence_kernels_close_to_numpy_path(monkeypatch):
    """The compiled recurrence computes exp and tanh with its own vectorised formulas: the
    NumPy path's values up to float32 rounding."""
    _sequence_kernels_or_skip()
    from numtorch.ops import _jit
    numtorch.manual_seed(0)
    lstm = numtorch.nn.LSTM(6, 64, num_layers=2)
    x = numtorch.randn(9, 4, 6) * 3
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(_jit, "ENABLED", enabled)
        out, (h, c) = lstm(x)
        results.append([out.detach().numpy(), h.detach().numpy(), c.detach().numpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("own_buffer", [True, False], ids=["view", "concatenated"])
def test_lstm_layer_states_before_each_step(monkeypatch, own_buffer):
    """The backward's W_hh gradient takes the states the steps started from (h0, then the
    outputs shifted) as a view of the output's buffer, or concatenates them where the output
    is an array of its own: the same gradients either way, both directions, from a given h0."""
    from numtorch.ops import rnn as ops_rnn
    if not own_buffer:
        monkeypatch.setattr(ops_rnn, "_outputs_after",
                            lambda h0, steps, reverse: np.empty((steps,) + h0.shape, h0.dtype))
    tm, nm = _pair("LSTM", np.float64, 5, 8, num_layers=2, bidirectional=True)
    t_in, n_in = _inputs([(6, 3, 5), (4, 3, 8), (4, 3, 8)], np.float64)
    _compare(tm, nm, tm(t_in[0], tuple(t_in[1:])), nm(n_in[0], tuple(n_in[1:])), t_in, n_in,
             np.float64)


@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
def test_unbatched_input(cls_name):
    tm, nm = _pair(cls_name, np.float64, 3, 4, num_layers=2, bidirectional=True)
    shapes = [(5, 3)] + [(4, 4)] * (2 if cls_name == "LSTM" else 1)
    t_in, n_in = _inputs(shapes, np.float64)
    if cls_name == "LSTM":
        t_out, n_out = tm(t_in[0], tuple(t_in[1:])), nm(n_in[0], tuple(n_in[1:]))
    else:
        t_out, n_out = tm(t_in[0], t_in[1]), nm(n_in[0], n_in[1])
    assert tuple(n_out[0].shape) == (5, 8)
    _compare(tm, nm, t_out, n_out, t_in, n_in, np.float64)


def test_output_types_and_float32_stays_float32():
    lstm = numtorch.nn.LSTM(3, 4)
    out, (h, c) = lstm(numtorch.randn(5, 2, 3))
    assert out.dtype == h.dtype == c.dtype == numtorch.float32
    assert tuple(out.shape) == (5, 2, 4) and tuple(h.shape) == tuple(c.shape) == (1, 2, 4)
    out, h = numtorch.nn.GRU(3, 4, batch_first=True)(numtorch.randn(2, 5, 3))
    assert tuple(out.shape) == (2, 5, 4) and tuple(h.shape) == (1, 2, 4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls_name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(cls_name, dtype):
    tm, nm = _pair(cls_name, dtype, 3, 4)
    is_lstm = cls_name == "LSTMCell"
    t_in, n_in = _inputs([(2, 3)] + [(2, 4)] * (2 if is_lstm else 1), dtype)
    hx_t = tuple(t_in[1:]) if is_lstm else t_in[1]
    hx_n = tuple(n_in[1:]) if is_lstm else n_in[1]
    _compare(tm, nm, tm(t_in[0], hx_t), nm(n_in[0], hx_n), t_in, n_in, dtype)
    tm, nm = _pair(cls_name, dtype, 3, 4)
    t_in, n_in = _inputs([(3,)], dtype)
    _compare(tm, nm, tm(t_in[0]), nm(n_in[0]), t_in, n_in, dtype)


def test_rnn_cell_relu_no_bias():
    tm, nm = _pair("RNNCell", np.float64, 3, 4, bias=False, nonlinearity="relu")
    t_in, n_in = _inputs([(2, 3), (2, 4)], np.float64)
    _compare(tm, nm, tm(*t_in), nm(*n_in), t_in, n_in, np.float64)


@pytest.mark.parametrize("args,kwargs", [
    ((10, 20), dict(num_layers=2, batch_first=True)),
    ((3, 4), dict(bias=False, dropout=0.5, num_layers=3, bidirectional=True)),
    ((3, 4), dict(proj_size=2)),
])
@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
def test_state_dict_keys_and_repr(cls_name, args, kwargs):
    if "proj_size" in kwargs and cls_name != "LSTM":
        with pytest.raises(ValueError):
            getattr(numtorch.nn, cls_name)(*args, **kwargs)
        return
    tm = getattr(torch.nn, cls_name)(*args, **kwargs)
    nm = getattr(numtorch.nn, cls_name)(*args, **kwargs)
    assert list(nm.state_dict()) == list(tm.state_dict())
    assert [tuple(p.shape) for p in nm.parameters()] == [tuple(p.shape) for p in tm.parameters()]
    assert repr(nm) == repr(tm)


def test_cell_reprs():
    for cls_name, kwargs in [("RNNCell", dict(nonlinearity="relu")), ("LSTMCell", dict(bias=False)),
                             ("GRUCell", {})]:
        tm = getattr(torch.nn, cls_name)(3, 4, **kwargs)
        nm = getattr(numtorch.nn, cls_name)(3, 4, **kwargs)
        assert repr(nm) == repr(tm)
        assert list(nm.state_dict()) == list(tm.state_dict())
    assert repr(numtorch.nn.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4)"


def test_default_init_bounds():
    numtorch.manual_seed(0)
    for module in (numtorch.nn.LSTM(3, 25, num_layers=2), numtorch.nn.GRUCell(3, 25)):
        bound = 1 / math.sqrt(25)
        for p in module.parameters():
            assert np.all(np.abs(p.detach().numpy()) <= bound)
            assert np.abs(p.detach().numpy()).max() > 0.8 * bound


def test_argument_errors_match_torch():
    lstm = numtorch.nn.LSTM(3, 4)
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        lstm(numtorch.randn(1, 2, 3, 3))
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        lstm(numtorch.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="Expected hidden\\[0\\] size \\(1, 3, 4\\)"):
        lstm(numtorch.randn(2, 3, 3), (numtorch.randn(1, 2, 4), numtorch.randn(1, 3, 4)))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input"):
        lstm(numtorch.randn(2, 3), (numtorch.randn(1, 3, 4), numtorch.randn(1, 3, 4)))
    with pytest.raises(RuntimeError, match="inconsistent input_size"):
        numtorch.nn.RNNCell(3, 4)(numtorch.randn(2, 4))
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        numtorch.nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number"):
        numtorch.nn.GRU(3, 4, dropout=2)
    with pytest.raises(ValueError, match="RNN input dtype \\(torch.float64\\) does not match"):
        lstm(numtorch.randn(2, 1, 3, dtype=numtorch.float64))
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        numtorch.nn.LSTM(3, 4, dropout=0.5)


def test_dropout_between_layers_only_in_training():
    numtorch.manual_seed(0)
    gru = numtorch.nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = numtorch.randn(6, 2, 3)
    a, b = gru(x)[0], gru(x)[0]
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    gru.eval()
    np.testing.assert_array_equal(gru(x)[0].detach().numpy(), gru(x)[0].detach().numpy())


def test_flatten_parameters_and_all_weights():
    lstm = numtorch.nn.LSTM(3, 4, num_layers=2)
    assert lstm.flatten_parameters() is None
    assert [[tuple(w.shape) for w in layer] for layer in lstm.all_weights] == \
        [[tuple(w.shape) for w in layer] for layer in torch.nn.LSTM(3, 4, num_layers=2).all_weights]


def test_lstm_learns_with_sgd():
    numtorch.manual_seed(0)
    lstm, head = numtorch.nn.LSTM(2, 8, batch_first=True), numtorch.nn.Linear(8, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = numtorch.optim.Adam(params, lr=0.05)
    x = numtorch.randn(16, 6, 2)
    y = x[:, :, 0].sum(1, keepdim=True)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        out, _ = lstm(x)
        loss = ((head(out[:, -1]) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


# ------------------------------------------------------------------------------- utils.rnn
def _seqs(dtype, lengths=(2, 4, 3), features=3):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((n, features)).astype(dtype) for n in lengths]
    return ([torch.tensor(a, requires_grad=True) for a in arrays],
            [numtorch.tensor(a, requires_grad=True) for a in arrays])


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence(batch_first, padding_side):
    t_in, n_in = _seqs(np.float64)
    t_out = torch.nn.utils.rnn.pad_sequence(t_in, batch_first, -1.0, padding_side)
    n_out = nt_rnn.pad_sequence(n_in, batch_first, -1.0, padding_side)
    np.testing.assert_array_equal(n_out.detach().numpy(), t_out.detach().numpy())
    w = np.random.default_rng(0).standard_normal(tuple(t_out.shape))
    (t_out * torch.tensor(w)).sum().backward()
    (n_out * numtorch.tensor(w)).sum().backward()
    for a, b in zip(t_in, n_in):
        np.testing.assert_array_equal(b.grad.numpy(), a.grad.numpy())


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_and_pad_roundtrip(enforce_sorted):
    lengths = (4, 3, 2) if enforce_sorted else (2, 4, 3)
    t_in, n_in = _seqs(np.float64, lengths)
    t_pad = torch.nn.utils.rnn.pad_sequence(t_in, batch_first=True)
    n_pad = nt_rnn.pad_sequence(n_in, batch_first=True)
    t_pack = torch.nn.utils.rnn.pack_padded_sequence(t_pad, list(lengths), batch_first=True,
                                                     enforce_sorted=enforce_sorted)
    n_pack = nt_rnn.pack_padded_sequence(n_pad, list(lengths), batch_first=True,
                                         enforce_sorted=enforce_sorted)
    assert isinstance(n_pack, nt_rnn.PackedSequence)
    np.testing.assert_array_equal(n_pack.data.detach().numpy(), t_pack.data.detach().numpy())
    np.testing.assert_array_equal(n_pack.batch_sizes.numpy(), t_pack.batch_sizes.numpy())
    for a, b in [(n_pack.sorted_indices, t_pack.sorted_indices),
                 (n_pack.unsorted_indices, t_pack.unsorted_indices)]:
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    t_back, t_len = torch.nn.utils.rnn.pad_packed_sequence(t_pack, total_length=6)
    n_back, n_len = nt_rnn.pad_packed_sequence(n_pack, total_length=6)
    np.testing.assert_array_equal(n_back.detach().numpy(), t_back.detach().numpy())
    np.testing.assert_array_equal(n_len.numpy(), t_len.numpy())
    assert n_len.dtype == numtorch.int64
    unpacked = nt_rnn.unpack_sequence(nt_rnn.pack_sequence(n_in, enforce_sorted=False))
    for a, b in zip(unpacked, n_in):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_pack_padded_sequence_requires_sorted_lengths():
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        nt_rnn.pack_padded_sequence(numtorch.zeros(3, 2, 2), [1, 3])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls_name", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers_take_packed_sequences(cls_name, dtype):
    lengths = [2, 5, 3]
    tm, nm = _pair(cls_name, dtype, 3, 4, num_layers=2, bidirectional=True)
    t_seq, n_seq = _seqs(dtype, lengths)
    layers = 4
    t_h, n_h = _inputs([(layers, 3, 4)] * (2 if cls_name == "LSTM" else 1), dtype, seed=5)
    t_pack = torch.nn.utils.rnn.pack_sequence(t_seq, enforce_sorted=False)
    n_pack = nt_rnn.pack_sequence(n_seq, enforce_sorted=False)
    t_hx = tuple(t_h) if cls_name == "LSTM" else t_h[0]
    n_hx = tuple(n_h) if cls_name == "LSTM" else n_h[0]
    t_out, t_state = tm(t_pack, t_hx)
    n_out, n_state = nm(n_pack, n_hx)
    assert isinstance(n_out, nt_rnn.PackedSequence)
    t_pad = torch.nn.utils.rnn.pad_packed_sequence(t_out)[0]
    n_pad = nt_rnn.pad_packed_sequence(n_out)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _compare(tm, nm, (t_pad, t_state), (n_pad, n_state), t_seq + t_h, n_seq + n_h, dtype)


@pytest.mark.parametrize("which", [0, 1])
def test_lstm_cell_gradient_through_one_output_only(which):
    tm, nm = _pair("LSTMCell", np.float64, 3, 4)
    t_in, n_in = _inputs([(2, 3), (2, 4), (2, 4)], np.float64)
    (tm(t_in[0], (t_in[1], t_in[2]))[which] ** 2).sum().backward()
    (nm(n_in[0], (n_in[1], n_in[2]))[which] ** 2).sum().backward()
    for a, b in zip(t_in + list(tm.parameters()), n_in + list(nm.parameters())):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **TOL[np.float64])


def test_no_graph_under_no_grad():
    gru = numtorch.nn.GRU(3, 4)
    with numtorch.no_grad():
        out, h = gru(numtorch.randn(5, 2, 3))
    assert out.grad_fn is None and not out.requires_grad and h.grad_fn is None


@pytest.mark.parametrize("cls_name", ["LSTM", "GRU", "RNN"])
def test_finite_difference_gradients(cls_name):
    numtorch.manual_seed(0)
    module = getattr(numtorch.nn, cls_name)(3, 4, bidirectional=True).double()
    check_grad_fd(lambda x: module(x)[0], [np.random.default_rng(0).standard_normal((4, 2, 3))])
