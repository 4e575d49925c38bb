"""Second derivatives of the normalization, attention, embedding and recurrent families against
PyTorch (``check_op`` compares gradgrad in float64/float32 and with finite differences), and a
MAML-style program: two inner SGD steps taken with ``create_graph``, then the outer gradient."""

import numpy as np
import pytest
from oracle import GRADGRAD_TOL, check_gradgrad, check_op, make_inputs

import numtorch

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    # a DelayedError (a node without a differentiable backward) fails instead of skipping
    monkeypatch.setenv("NUMTORCH_GRADGRAD_STRICT", "1")


def F(t):
    return t.nn.functional


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("training", [False, True])
def test_batch_norm_twice(training):
    rm, rv = rng(5).standard_normal(3), rng(6).uniform(0.5, 2, 3)

    def fn(t, x, w, b):
        mean, var = t.tensor(rm, dtype=x.dtype), t.tensor(rv, dtype=x.dtype)
        return F(t).batch_norm(x, mean, var, w, b, training=training, eps=1e-3)
    check_op(fn, arrays=[rng(1).standard_normal((4, 3, 2)), rng(2).uniform(0.5, 1.5, 3),
                         rng(3).standard_normal(3)])


@pytest.mark.parametrize("normalized", [(4,), (3, 4)])
def test_layer_norm_twice(normalized):
    arrays = [rng(1).standard_normal((2, 3, 4)), rng(2).uniform(0.5, 1.5, normalized),
              rng(3).standard_normal(normalized)]
    check_op(lambda t, x, w, b: F(t).layer_norm(x, normalized, w, b, eps=1e-4), arrays=arrays)


def test_group_and_instance_norm_twice():
    arrays = [rng(1).standard_normal((2, 4, 3)), rng(2).uniform(0.5, 1.5, 4),
              rng(3).standard_normal(4)]
    check_op(lambda t, x, w, b: F(t).group_norm(x, 2, w, b), arrays=arrays)
    check_op(lambda t, x, w, b: F(t).instance_norm(x, weight=w, bias=b), arrays=arrays)


def test_normalize_and_local_response_norm_twice():
    check_op(lambda t, x: F(t).normalize(x, dim=1), [(3, 4)])
    check_op(lambda t, x: F(t).local_response_norm(x, 3), [(2, 4, 3)])


@pytest.mark.parametrize("padding_idx", [None, 1])
@pytest.mark.parametrize("freq", [False, True])
def test_embedding_twice(padding_idx, freq):
    idx = np.array([[0, 2, 1], [2, 2, 3]])

    def fn(t, w, s):  # a loss nonlinear in the weight, so the second derivative is not zero
        e = F(t).embedding(t.tensor(idx), w, padding_idx=padding_idx, scale_grad_by_freq=freq)
        return (e * e * s).sum(-1)
    if padding_idx is None and not freq:
        check_op(fn, [(4, 3), (3,)])
        return
    check_op(fn, [(4, 3), (3,)], gradgrad=False)
    arrays = make_inputs([(4, 3), (3,)])
    if freq:
        # The scaled gradient is no derivative, so finite differences do not apply, and
        # torch's double backward drops the 1/count scaling (its own gradgradcheck fails).
        # numtorch differentiates the scaled backward exactly: its gradient with respect to
        # the incoming gradient is the adjoint, gather(u) / count.
        w = numtorch.tensor(arrays[0], requires_grad=True)
        g = numtorch.tensor(rng(9).standard_normal(idx.shape + (3,)), requires_grad=True)
        e = F(numtorch).embedding(numtorch.tensor(idx), w, scale_grad_by_freq=True)
        (gw,) = numtorch.autograd.grad(e, w, g, create_graph=True)
        u = rng(10).standard_normal((4, 3))
        (gg,) = numtorch.autograd.grad(gw, g, numtorch.tensor(u))
        counts = np.bincount(idx.reshape(-1), minlength=4)[idx]
        np.testing.assert_allclose(gg.numpy(), u[idx] / counts[..., None], rtol=1e-12)
    else:
        # the padding row's gradient is zeroed by definition (not a derivative): compare
        # with torch only, no finite differences
        check_gradgrad(fn, fn, arrays, 0, GRADGRAD_TOL[np.float64], fd=False)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("mask", [None, "bool", "float"])
def test_scaled_dot_product_attention_twice(causal, mask):
    if causal and mask is not None:
        pytest.skip("torch refuses an explicit mask together with is_causal")
    m = None
    if mask == "bool":
        m = rng(4).uniform(size=(3, 5)) > 0.3
        m[:, 0] = True
    elif mask == "float":
        m = rng(4).standard_normal((3, 5))

    def fn(t, q, k, v):
        am = None
        if m is not None:
            am = t.tensor(m) if m.dtype == bool else t.tensor(m, dtype=q.dtype)
        return F(t).scaled_dot_product_attention(q, k, v, attn_mask=am, is_causal=causal)
    check_op(fn, [(2, 3, 4), (2, 5, 4), (2, 5, 2)])
    if not causal and mask is None:  # broadcast batch dims, a fully masked row (zeros)
        check_op(lambda t, q, k, v: F(t).scaled_dot_product_attention(q, k, v),
                 [(2, 1, 3, 4), (1, 2, 5, 4), (2, 2, 5, 2)],
                 gradgrad=False)  # (its recorded broadcast matmul is the linalg family's)
        dead = np.ones((3, 5), dtype=bool)
        dead[1] = False
        check_op(lambda t, q, k, v: F(t).scaled_dot_product_attention(
            q, k, v, attn_mask=t.tensor(dead)), [(2, 3, 4), (2, 5, 4), (2, 5, 2)])


def test_fused_lstm_and_gru_cells_twice():
    from numtorch.ops import rnn

    def lstm(t, gates, c):
        if t is numtorch:
            return rnn.lstm_cell_pointwise(gates, c)
        i, f, g, o = gates.chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c

    def gru(t, gi, gh, h):
        if t is numtorch:
            return rnn.gru_cell_pointwise(gi, gh, h)
        (ir, iz, i_n), (hr, hz, hn) = gi.chunk(3, 1), gh.chunk(3, 1)
        r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
        n = (i_n + r * hn).tanh()
        return (1 - z) * n + z * h
    check_op(lstm, [(2, 8), (2, 2)])
    check_op(gru, [(2, 6), (2, 6), (2, 2)])


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_layer_twice(reverse):
    from numtorch.ops.rnn import lstm_layer

    def fn(t, x, h, c, wi, wh, bi, bh):
        if t is numtorch:
            return lstm_layer(x, h, c, wi, wh, bi, bh, reverse)
        outs = []  # torch's LSTM recurrence, composed
        for step in (reversed(range(x.shape[0])) if reverse else range(x.shape[0])):
            i, f, g, o = (x[step] @ wi.t() + bi + h @ wh.t() + bh).chunk(4, 1)
            c = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h = o.sigmoid() * c.tanh()
            outs.append(h)
        return t.stack(outs[::-1] if reverse else outs), h, c
    check_op(fn, [(4, 2, 3), (2, 2), (2, 2), (8, 3), (8, 2), (8,), (8,)])


# --------------------------------------------------------------------------------- MAML
def _lin(x, w):
    """``x @ w.T`` from broadcasting and a sum (families already differentiable twice)."""
    return (x.unsqueeze(-2) * w).sum(-1)


def _maml_outer_grad(t, params, lstm, xs, ys, xq, yq, lr=0.1):
    """Two inner SGD steps with create_graph on a support batch, the query loss after them,
    and its gradient with respect to the initial parameters."""
    def forward(p, x):
        if lstm:
            h = t.zeros(x.shape[1], 3, dtype=x.dtype)
            c = t.zeros(x.shape[1], 3, dtype=x.dtype)
            for step in range(x.shape[0]):
                g = _lin(x[step], p[0]) + p[2] + _lin(h, p[1])
                i, f, gg, o = g.chunk(4, 1)
                c = i.sigmoid() * gg.tanh() + f.sigmoid() * c
                h = o.sigmoid() * c.tanh()
            return _lin(h, p[3])
        h = F(t).layer_norm((_lin(x, p[0]) + p[1]).tanh(), (5,))
        return _lin(h, p[2]) + p[3]

    fast = list(params)
    for _ in range(2):
        loss = F(t).mse_loss(forward(fast, xs), ys)
        grads = t.autograd.grad(loss, fast, create_graph=True)
        fast = [p - lr * g for p, g in zip(fast, grads)]
    outer = F(t).mse_loss(forward(fast, xq), yq)
    return t.autograd.grad(outer, params)


@pytest.mark.parametrize("lstm", [False, True])
def test_maml_outer_gradient_matches_torch(lstm):
    r = rng(7)
    if lstm:
        shapes = [(12, 2), (12, 3), (12,), (1, 3)]
        data = [r.standard_normal((4, 5, 2)), r.standard_normal((5, 1)),
                r.standard_normal((4, 5, 2)), r.standard_normal((5, 1))]
    else:
        shapes = [(5, 3), (5,), (2, 5), (2,)]
        data = [r.standard_normal((6, 3)), r.standard_normal((6, 2)),
                r.standard_normal((6, 3)), r.standard_normal((6, 2))]
    init = [r.standard_normal(s) * 0.5 for s in shapes]
    results = []
    for t in (numtorch, torch):
        params = [t.tensor(a, requires_grad=True) for a in init]
        results.append(_maml_outer_grad(t, params, lstm, *(t.tensor(d) for d in data)))
    for a, b in zip(*results):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9,
                                   atol=1e-11)


def test_maml_through_nn_lstm_matches_torch():
    """The functional outer gradient through nn.LSTM's whole-sequence node (float64)."""
    r = rng(3)
    x = r.standard_normal((4, 2, 3))
    grads = []
    nets = {numtorch: numtorch.nn.LSTM(3, 2).double(), torch: torch.nn.LSTM(3, 2).double()}
    nets[torch].load_state_dict({k: torch.tensor(v.detach().numpy())
                                 for k, v in nets[numtorch].state_dict().items()})
    for t, net in nets.items():
        params = list(net.parameters())
        out, _ = net(t.tensor(x))
        loss = (out ** 2).sum()
        g = t.autograd.grad(loss, params, create_graph=True)
        s = sum((gi * gi).sum() for gi in g)
        grads.append(t.autograd.grad(s, params))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-8, atol=1e-10)
