"""F.scaled_dot_product_attention, nn.MultiheadAttention and the Transformer stacks vs torch."""

import warnings

import numpy as np
import pytest
from oracle import check_op

import numtorch

torch = pytest.importorskip("torch")

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}
DTYPES = [np.float64, np.float32]


def _np(t):
    return t.detach().numpy()


def _pair(factory_t, factory_n, dtype):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = factory_t(torch.nn)
        nm = factory_n(numtorch.nn)
    if dtype == np.float64:
        tm, nm = tm.double(), nm.double()
    tm.eval()
    nm.eval()
    nm.load_state_dict({k: numtorch.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    return tm, nm


def _inputs(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return ([torch.tensor(a, requires_grad=True) for a in arrays],
            [numtorch.tensor(a, requires_grad=True) for a in arrays])


def _compare(tm, nm, t_out, n_out, t_in, n_in, dtype):
    tol = TOL[dtype]
    t_out = [o for o in (t_out if isinstance(t_out, tuple) else (t_out,)) if o is not None]
    n_out = [o for o in (n_out if isinstance(n_out, tuple) else (n_out,)) if o is not None]
    assert len(t_out) == len(n_out)
    rng = np.random.default_rng(1)
    t_loss = n_loss = 0
    for a, b in zip(t_out, n_out):
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
        if a.grad is None:
            assert b.grad is None or not np.any(b.grad.numpy()), name
            continue
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), err_msg=name, **tol)
    for a, b in zip(t_in, n_in):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **tol)


# --------------------------------------------------------------------------------------- SDPA
@pytest.mark.parametrize("kwargs", [{}, dict(is_causal=True), dict(scale=0.3)], ids=str)
def test_sdpa_matches_torch(kwargs):
    check_op(lambda m, q, k, v: m.nn.functional.scaled_dot_product_attention(q, k, v, **kwargs),
             [(2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 6)])


def test_sdpa_cross_lengths_and_masks():
    rng = np.random.default_rng(0)
    bool_mask = rng.random((4, 6)) > 0.3
    bool_mask[:, 0] = True
    float_mask = rng.standard_normal((2, 1, 4, 6))

    def with_bool(m, q, k, v):
        return m.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m.tensor(bool_mask))

    def with_float(m, q, k, v):
        mask = m.tensor(float_mask.astype(q.detach().numpy().dtype))
        return m.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    shapes = [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5)]
    check_op(with_bool, shapes)
    check_op(with_float, shapes)


def test_sdpa_fully_masked_rows_give_zeros():
    mask = np.ones((3, 3), dtype=bool)
    mask[1] = False
    check_op(lambda m, q, k, v: m.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=m.tensor(mask)), [(1, 2, 3, 4)] * 3)


def test_sdpa_grouped_query_attention():
    check_op(lambda m, q, k, v: m.nn.functional.scaled_dot_product_attention(
        q, k, v, enable_gqa=True), [(1, 4, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2)])


def test_sdpa_dropout_changes_weights_and_keeps_dtype():
    numtorch.manual_seed(0)
    q = numtorch.randn(2, 4, 5)
    out = numtorch.nn.functional.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    ref = numtorch.nn.functional.scaled_dot_product_attention(q, q, q)
    assert out.dtype == numtorch.float32
    assert not np.allclose(_np(out), _np(ref))


# ------------------------------------------------------------------------ MultiheadAttention
MHA_CASES = [
    dict(kwargs={}, q=(4, 2, 8), kv=(5, 2, 8)),
    dict(kwargs=dict(batch_first=True), q=(2, 4, 8), kv=(2, 5, 8)),
    dict(kwargs=dict(kdim=3, vdim=6), q=(4, 2, 8), kv=(5, 2, None)),
    dict(kwargs=dict(bias=False), q=(4, 2, 8), kv=(5, 2, 8)),
    dict(kwargs=dict(add_bias_kv=True, add_zero_attn=True), q=(4, 2, 8), kv=(5, 2, 8)),
    dict(kwargs={}, q=(4, 8), kv=(5, 8)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("case", MHA_CASES, ids=lambda c: str(c["kwargs"]) + str(c["q"]))
def test_multihead_attention_matches_torch(case, need_weights, average, dtype):
    kw = case["kwargs"]
    tm, nm = _pair(lambda nn: nn.MultiheadAttention(8, 2, **kw),
                   lambda nn: nn.MultiheadAttention(8, 2, **kw), dtype)
    kv = case["kv"]
    k_shape = kv[:-1] + (kw.get("kdim", 8),) if kv[-1] is None else kv
    v_shape = kv[:-1] + (kw.get("vdim", 8),) if kv[-1] is None else kv
    t_in, n_in = _inputs([case["q"], k_shape, v_shape], dtype)
    opts = dict(need_weights=need_weights, average_attn_weights=average)
    _compare(tm, nm, tm(*t_in, **opts), nm(*n_in, **opts), t_in, n_in, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask_kind", ["bool", "float", "3d"])
def test_multihead_attention_masks(mask_kind, need_weights, dtype):
    tm, nm = _pair(lambda nn: nn.MultiheadAttention(8, 2, batch_first=True),
                   lambda nn: nn.MultiheadAttention(8, 2, batch_first=True), dtype)
    rng = np.random.default_rng(2)
    t_in, n_in = _inputs([(3, 4, 8), (3, 5, 8), (3, 5, 8)], dtype)
    kpm = np.zeros((3, 5), dtype=bool)
    kpm[0, 3:] = True
    kpm[2, 1] = True
    if mask_kind == "bool":
        mask = np.triu(np.ones((4, 5), dtype=bool), k=1)
    elif mask_kind == "float":
        mask = rng.standard_normal((4, 5)).astype(dtype)
    else:
        mask = rng.standard_normal((6, 4, 5)).astype(dtype)
    opts_t = dict(key_padding_mask=torch.tensor(kpm), attn_mask=torch.tensor(mask),
                  need_weights=need_weights)
    opts_n = dict(key_padding_mask=numtorch.tensor(kpm), attn_mask=numtorch.tensor(mask),
                  need_weights=need_weights)
    if mask_kind == "bool":
        t_out, n_out = tm(*t_in, **opts_t), nm(*n_in, **opts_n)
    else:
        with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
            t_out = tm(*t_in, **opts_t)
        with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
            n_out = nm(*n_in, **opts_n)
    _compare(tm, nm, t_out, n_out, t_in, n_in, dtype)


def test_multihead_attention_state_dict_repr_and_init():
    for kw in [{}, dict(kdim=3, vdim=5), dict(bias=False, add_bias_kv=True)]:
        tm, nm = torch.nn.MultiheadAttention(8, 2, **kw), numtorch.nn.MultiheadAttention(8, 2, **kw)
        assert list(nm.state_dict()) == list(tm.state_dict())
        assert [tuple(p.shape) for p in nm.parameters()] == [tuple(p.shape) for p in
                                                              tm.parameters()]
        assert repr(nm) == repr(tm)
    mha = numtorch.nn.MultiheadAttention(8, 2)
    assert not np.any(_np(mha.in_proj_bias)) and not np.any(_np(mha.out_proj.bias))
    bound = np.sqrt(6 / (8 + 24))  # xavier_uniform_ on (3E, E)
    assert np.abs(_np(mha.in_proj_weight)).max() <= bound
    assert mha.in_proj_weight.dtype == numtorch.float32


def test_multihead_attention_errors():
    with pytest.raises(AssertionError, match="divisible"):
        numtorch.nn.MultiheadAttention(5, 2)
    mha = numtorch.nn.MultiheadAttention(4, 2)
    x = numtorch.randn(3, 1, 4)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="The shape of the 2D attn_mask"):
        mha(x, x, x, attn_mask=numtorch.zeros(2, 3))


# ------------------------------------------------------------------------------ Transformer
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(), dict(norm_first=True, activation="gelu"),
                                dict(batch_first=True, dim_feedforward=12)], ids=str)
def test_transformer_encoder_matches_torch(kw, dtype):
    def make(nn):
        layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=kw.get("dim_feedforward", 16),
                                           dropout=0.1, **{k: v for k, v in kw.items()
                                                           if k != "dim_feedforward"})
        return nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))

    tm, nm = _pair(make, make, dtype)
    shape = (2, 5, 8) if kw.get("batch_first") else (5, 2, 8)
    t_in, n_in = _inputs([shape], dtype)
    kpm = np.zeros((2, 5), dtype=dtype)
    kpm[1, 3:] = -np.inf
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5).numpy().astype(dtype)
    t_out = tm(t_in[0], mask=torch.tensor(mask), src_key_padding_mask=torch.tensor(kpm))
    n_out = nm(n_in[0], mask=numtorch.tensor(mask), src_key_padding_mask=numtorch.tensor(kpm))
    _compare(tm, nm, t_out, n_out, t_in, n_in, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_transformer_matches_torch(dtype):
    def make(nn):
        return nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=2,
                              dim_feedforward=16, batch_first=True)

    tm, nm = _pair(make, make, dtype)
    assert list(nm.state_dict()) == list(tm.state_dict())
    t_in, n_in = _inputs([(2, 5, 8), (2, 4, 8)], dtype)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4).numpy().astype(dtype)
    t_out = tm(*t_in, tgt_mask=torch.tensor(mask))
    n_out = nm(*n_in, tgt_mask=numtorch.tensor(mask))
    _compare(tm, nm, t_out, n_out, t_in, n_in, dtype)


def test_transformer_reprs_and_nested_tensor_warning():
    with pytest.warns(UserWarning, match="batch_first was not True"):
        nm = numtorch.nn.TransformerEncoder(numtorch.nn.TransformerEncoderLayer(4, 2, 8), 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(4, 2, 8), 2)
    assert repr(nm) == repr(tm)
    assert list(nm.state_dict()) == list(tm.state_dict())
    layer_t = torch.nn.TransformerDecoderLayer(4, 2, 8, norm_first=True)
    layer_n = numtorch.nn.TransformerDecoderLayer(4, 2, 8, norm_first=True)
    assert repr(layer_n) == repr(layer_t)
    mask = numtorch.nn.Transformer.generate_square_subsequent_mask(3)
    np.testing.assert_array_equal(_np(mask), torch.nn.Transformer.generate_square_subsequent_mask(
        3).numpy())
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        numtorch.nn.TransformerEncoderLayer(4, 2, activation="tanh")


def test_encoder_trains():
    numtorch.manual_seed(0)
    layer = numtorch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    model = numtorch.nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
    head = numtorch.nn.Linear(8, 1)
    opt = numtorch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=0.01)
    x = numtorch.randn(16, 5, 8)
    y = x[:, :, 0].mean(1, keepdim=True)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = ((head(model(x).mean(1)) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")
@pytest.mark.parametrize("grad_mode", [False, True])
def test_encoder_inference_zeroes_padded_positions_like_torch(grad_mode):
    def make(nn):
        return nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2,
                                     norm=nn.LayerNorm(8))

    tm, nm = _pair(make, make, np.float64)
    x = np.random.default_rng(0).standard_normal((2, 5, 8))
    kpm = np.zeros((2, 5), dtype=bool)
    kpm[1, 3:] = True
    with torch.set_grad_enabled(grad_mode):
        t_out = tm(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm))
    with numtorch.set_grad_enabled(grad_mode):
        n_out = nm(numtorch.tensor(x), src_key_padding_mask=numtorch.tensor(kpm))
    np.testing.assert_allclose(_np(n_out), _np(t_out), **TOL[np.float64])


def test_functional_multi_head_attention_forward_matches_torch():
    rng = np.random.default_rng(4)
    w_in, b_in = rng.standard_normal((24, 8)) * 0.3, rng.standard_normal(24) * 0.1
    w_out, b_out = rng.standard_normal((8, 8)) * 0.3, rng.standard_normal(8) * 0.1
    mask = np.triu(np.ones((4, 4), dtype=bool), k=1)

    def fn(m, q, k, v):
        out, weights = m.nn.functional.multi_head_attention_forward(
            q, k, v, 8, 2, m.tensor(w_in), m.tensor(b_in), None, None, False, 0.0,
            m.tensor(w_out), m.tensor(b_out), training=False, attn_mask=m.tensor(mask),
            average_attn_weights=False)
        return out, weights

    check_op(fn, [(4, 3, 8)] * 3, dtypes=(np.float64,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_kind", [None, "float", "bool", "3d", "padding"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_self_attention_matches_torch(batch_first, mask_kind, dtype):
    """The self-attention path (one tensor as query, key and value, no weights returned),
    which works in the input's memory order (batch-major under batch_first)."""
    tm, nm = _pair(lambda nn: nn.MultiheadAttention(8, 2, batch_first=batch_first),
                   lambda nn: nn.MultiheadAttention(8, 2, batch_first=batch_first), dtype)
    tm.train()
    nm.train()  # dropout 0: training and eval agree, the path is the training one
    shape = (3, 4, 8) if batch_first else (4, 3, 8)
    t_in, n_in = _inputs([shape], dtype)
    rng = np.random.default_rng(3)
    mask = {None: None, "float": rng.standard_normal((4, 4)).astype(dtype),
            "bool": np.triu(np.ones((4, 4), dtype=bool), k=1),
            "3d": rng.standard_normal((6, 4, 4)).astype(dtype), "padding": None}[mask_kind]
    kpm = np.array([[False] * 4, [False, False, True, True], [False] * 4]) \
        if mask_kind == "padding" else None
    opts = [dict(need_weights=False,
                 attn_mask=None if mask is None else lib.tensor(mask),
                 key_padding_mask=None if kpm is None else lib.tensor(kpm))
            for lib in (torch, numtorch)]
    t_out = tm(t_in[0], t_in[0], t_in[0], **opts[0])
    n_out = nm(n_in[0], n_in[0], n_in[0], **opts[1])
    _compare(tm, nm, t_out, n_out, t_in, n_in, dtype)


def test_multihead_self_attention_batch_major_gradcheck_and_gradgradcheck():
    numtorch.manual_seed(0)
    mha = numtorch.nn.MultiheadAttention(4, 2, batch_first=True).double()
    x = numtorch.randn(2, 3, 4, dtype=numtorch.float64, requires_grad=True)
    mask = numtorch.nn.Transformer.generate_square_subsequent_mask(3, dtype=numtorch.float64)

    def f(inp):
        return mha(inp, inp, inp, attn_mask=mask, need_weights=False)[0]

    assert numtorch.autograd.gradcheck(f, (x,))
    assert numtorch.autograd.gradgradcheck(f, (x,))
