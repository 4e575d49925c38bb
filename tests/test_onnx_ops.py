"""numtorch.onnx.export op by op: each layer or function the exporter maps, run by ONNX
Runtime at two batch sizes against numtorch's eager result; and the errors."""

import io

import numpy as np
import pytest

import numtorch
import numtorch.nn as nn
import numtorch.nn.functional as F
import numtorch.onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


class Lambda(nn.Module):
    def __init__(self, fn, *layers):
        super().__init__()
        self.fn = fn
        self.layers = nn.ModuleList(layers)

    def forward(self, *xs):
        return self.fn(self, *xs)


def roundtrip(model, shapes, batch_axes=None, dtypes=None, high=10, **kwargs):
    """Export with dynamic batch axes; compare ONNX Runtime with numtorch at batches 2 and 3."""
    model.eval()
    batch_axes = batch_axes or [0] * len(shapes)
    dtypes = dtypes or [np.float32] * len(shapes)
    names = [f"x{i}" for i in range(len(shapes))]

    def inputs(batch, seed):
        rng = np.random.default_rng(seed)
        out = []
        for shape, axis, dtype in zip(shapes, batch_axes, dtypes):
            shape = list(shape)
            if axis is not None:
                shape[axis] = batch
            if np.dtype(dtype).kind == "f":
                out.append(rng.standard_normal(shape).astype(dtype))
            elif np.dtype(dtype).kind == "b":
                out.append(rng.random(shape) < 0.3)
            else:
                out.append(rng.integers(0, high, shape).astype(dtype))
        return out

    example = [numtorch.from_numpy(a) for a in inputs(2, 0)]
    buffer = io.BytesIO()
    dynamic = {n: [a] for n, a in zip(names, batch_axes) if a is not None}
    numtorch.onnx.export(model, tuple(example), buffer, input_names=names,
                         dynamic_axes=dynamic, **kwargs)
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    for batch in (2, 3):
        arrays = inputs(batch, batch + 10)
        with numtorch.no_grad():
            want = model(*[numtorch.from_numpy(a) for a in arrays])
        want = _flat(want)
        got = session.run(None, dict(zip(names, arrays)))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            w = w.numpy()
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5 * max(1, np.abs(w).max()))
    return proto


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


def ops_of(proto):
    return {n.op_type for n in proto.graph.node}


CASES = {
    "conv1d_stride_dilation": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=2, dilation=2),
                               [(2, 3, 11)]),
    "conv1d_same": (lambda: nn.Conv1d(3, 4, 4, padding="same"), [(2, 3, 9)]),
    "conv2d_groups_same": (lambda: nn.Conv2d(4, 8, 3, padding="same", dilation=2, groups=2),
                           [(2, 4, 9, 9)]),
    "conv2d_reflect": (lambda: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
                       [(2, 2, 6, 6)]),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                    output_padding=1), [(2, 3, 5, 5)]),
    "maxpool2d_ceil": (lambda: nn.MaxPool2d(3, 2, padding=1), [(2, 3, 8, 8)]),
    "avgpool2d": (lambda: nn.AvgPool2d(2, count_include_pad=False, padding=1),
                  [(2, 3, 7, 7)]),
    "maxpool1d": (lambda: nn.MaxPool1d(2), [(2, 3, 8)]),
    "avgpool1d": (lambda: nn.AvgPool1d(3, 1), [(2, 3, 8)]),
    "adaptive_avg": (lambda: nn.AdaptiveAvgPool2d((2, 3)), [(2, 3, 8, 9)]),
    "adaptive_max": (lambda: nn.AdaptiveMaxPool2d(1), [(2, 3, 5, 5)]),
    "batchnorm1d": (lambda: _trained_bn(), [(2, 5)]),
    "layernorm": (lambda: nn.LayerNorm([4, 5]), [(2, 3, 4, 5)]),
    "layernorm_no_affine": (lambda: nn.LayerNorm(5, elementwise_affine=False), [(2, 5)]),
    "groupnorm": (lambda: _randomized(nn.GroupNorm(2, 6)), [(2, 6, 4, 3)]),
    "activations": (lambda: nn.Sequential(nn.Linear(6, 6), nn.LeakyReLU(0.2), nn.GELU(),
                                          nn.SiLU(), nn.Tanh(), nn.Sigmoid(), nn.ReLU6(),
                                          nn.ELU(), nn.Softplus(), nn.Hardswish(), nn.Mish(),
                                          nn.Softmax(dim=1), nn.LogSoftmax(dim=-1)),
                    [(2, 6)]),
    "functional_activations": (lambda: Lambda(lambda m, x: F.gelu(x, approximate="tanh")
                                              + F.leaky_relu(x) + F.silu(x) + F.elu(x)
                                              + numtorch.sigmoid(x) * x.tanh()
                                              + F.softmax(x, -1) + F.log_softmax(x, 0)
                                              + F.hardtanh(x) + x.relu()), [(2, 6)]),
    "dropout_eval": (lambda: nn.Sequential(nn.Dropout(0.5), nn.Dropout2d(0.3)),
                     [(2, 3, 4, 4)]),
    "embedding": (lambda: nn.Embedding(10, 4, padding_idx=0), [(2, 5)], None, [np.int64]),
    "gru_bidirectional": (lambda: Lambda(lambda m, x: m.layers[0](x),
                                         nn.GRU(4, 5, 2, bidirectional=True, batch_first=True)),
                          [(2, 7, 4)]),
    "lstm_with_state": (lambda: Lambda(lambda m, x, h, c: m.layers[0](x, (h, c)),
                                       nn.LSTM(3, 4, 2)),
                        [(5, 2, 3), (2, 2, 4), (2, 2, 4)], [1, 1, 1]),
    "rnn_relu": (lambda: nn.RNN(3, 4, nonlinearity="relu"), [(5, 2, 3)], [1]),
    "mha_masks": (lambda: Lambda(lambda m, q, kv, kpm: m.layers[0](
        q, kv, kv, key_padding_mask=kpm,
        attn_mask=numtorch.triu(numtorch.ones(4, 6, dtype=numtorch.bool), 3)),
        nn.MultiheadAttention(8, 2)), [(4, 2, 8), (6, 2, 8), (2, 6)], [1, 1, 0],
        [np.float32, np.float32, np.bool_]),
    "mha_batch_first_weights": (lambda: Lambda(
        lambda m, x: m.layers[0](x, x, x, average_attn_weights=False),
        nn.MultiheadAttention(8, 4, batch_first=True)), [(2, 5, 8)]),
    "transformer_layer_gelu_norm_first": (lambda: nn.TransformerEncoderLayer(
        8, 2, 16, activation="gelu", norm_first=True), [(5, 2, 8)], [1]),
    "sdpa_attn_mask": (lambda: Lambda(lambda m, q, k, v, mask: F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask)), [(2, 2, 4, 8), (2, 2, 6, 8), (2, 2, 6, 8), (4, 6)],
        [0, 0, 0, None], [np.float32] * 3 + [np.float32]),
    "shapes": (lambda: Lambda(lambda m, x: numtorch.cat(
        [x.permute(0, 2, 1).reshape(x.size(0), -1), x.flatten(1), x.view(-1, 12)[:, 2:10:3]
         .reshape(x.shape[0], -1), x.transpose(1, 2).contiguous().view(x.size(0), 12)], dim=1)),
        [(2, 3, 4)]),
    "indexing": (lambda: Lambda(lambda m, x: x[:, 1] * 2 + x[:, -1, None, 1:3].sum(-1)
                                - x[..., 0].mean(dim=1, keepdim=True)), [(2, 3, 4)]),
    "reductions": (lambda: Lambda(lambda m, x: (x.sum(1), x.mean((1, 2)), x.amax(-1),
                                                x.max(dim=2)[0], x.var(1), x.std(2))),
                   [(2, 3, 4)]),
    "arithmetic": (lambda: Lambda(lambda m, x, y: (x + 1) * y - 2 / (y.abs() + 1) + x ** 2
                                  - x.exp() / 10 + numtorch.sqrt(y * y + 1) + x @ y.T
                                  + numtorch.where(x > 0, x, y) + x.clamp(-0.5, 0.5)
                                  + numtorch.maximum(x, y) - (-x).neg()),
                   [(3, 3), (3, 3)], [None, None]),
    "matmul_stack_split": (lambda: Lambda(lambda m, x, w: numtorch.stack(
        numtorch.matmul(x, w).chunk(2, dim=-1), dim=1).unsqueeze(0).squeeze(0)),
        [(2, 3, 4), (4, 6)], [0, None]),
}


def _randomized(module):
    with numtorch.no_grad():
        for p in module.parameters():
            p.copy_(numtorch.randn(p.shape))
    return module


def _trained_bn():
    bn = nn.BatchNorm1d(5)
    with numtorch.no_grad():
        for _ in range(3):
            bn(numtorch.randn(8, 5) * 3 + 1)
    return _randomized(bn)


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_matches_numtorch(case):
    numtorch.manual_seed(0)
    builder, shapes, *rest = CASES[case]
    batch_axes = rest[0] if rest else None
    dtypes = rest[1] if len(rest) > 1 else None
    roundtrip(builder(), shapes, batch_axes, dtypes)


def test_mapping_uses_the_named_onnx_operators():
    numtorch.manual_seed(0)
    proto = roundtrip(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(),
                                    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3)),
                      [(2, 1, 6, 6)])
    assert ops_of(proto) == {"Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm"}
    proto = roundtrip(nn.LSTM(3, 4), [(5, 2, 3)], [1])
    assert "LSTM" in ops_of(proto)
    proto = roundtrip(nn.GRU(3, 4), [(5, 2, 3)], [1])
    assert "GRU" in ops_of(proto)
    proto = roundtrip(nn.LayerNorm(4), [(2, 4)])
    assert ops_of(proto) == {"LayerNormalization"}
    proto = roundtrip(nn.Embedding(10, 3), [(2, 4)], None, [np.int64])
    assert ops_of(proto) == {"Gather"}


def test_unmapped_op_names_op_and_module():
    class Inner(nn.Module):
        def forward(self, x):
            return numtorch.cumsum(x, 1)

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.ModuleList([Inner()])

        def forward(self, x):
            return self.encoder[0](x) + 1

    with pytest.raises(RuntimeError, match=r"no ONNX mapping for 'torch\.cumsum' "
                                           r"\(in module 'encoder\.0'\)"):
        numtorch.onnx.export(Outer(), (numtorch.randn(2, 3),), io.BytesIO())


def test_unmapped_tensor_method_and_random():
    model = Lambda(lambda m, x: x.cumprod(0))
    with pytest.raises(RuntimeError, match=r"'Tensor\.cumprod' \(in module 'Lambda'\)"):
        numtorch.onnx.export(model, (numtorch.randn(2, 3),), io.BytesIO())
    model = Lambda(lambda m, x: x + numtorch.randn(3))
    with pytest.raises(RuntimeError, match=r"'torch\.randn'"):
        numtorch.onnx.export(model, (numtorch.randn(2, 3),), io.BytesIO())
    with pytest.raises(RuntimeError, match=r"'torch\.nn\.functional\.dropout' in training mode"):
        numtorch.onnx.export(Lambda(lambda m, x: F.dropout(x, 0.5, training=True)),
                             (numtorch.randn(2, 3),), io.BytesIO())


def test_patches_are_restored_after_a_failed_export():
    size, add, call = numtorch.Tensor.size, numtorch.Tensor.__add__, nn.Module.__call__
    cumsum = numtorch.cumsum
    with pytest.raises(RuntimeError):
        numtorch.onnx.export(Lambda(lambda m, x: x.cumsum(0)), (numtorch.randn(2),),
                             io.BytesIO())
    assert numtorch.Tensor.size is size and numtorch.Tensor.__add__ is add
    assert nn.Module.__call__ is call and numtorch.cumsum is cumsum
    assert not numtorch.onnx.is_in_onnx_export()


def test_baked_batch_size_is_refused_not_written():
    # int() turns the batch size into a Python constant: wrong for another batch, so no file.
    model = Lambda(lambda m, x: x * int(x.size(0)))
    buffer = io.BytesIO()
    with pytest.raises(RuntimeError, match="does not reproduce output"):
        numtorch.onnx.export(model, (numtorch.randn(2, 3, 4),), buffer, input_names=["x"],
                             dynamic_axes={"x": {0: "batch"}})
    assert buffer.getvalue() == b""
    roundtrip(Lambda(lambda m, x: x.view(x.size(0), -1)), [(2, 3, 4)])


def test_data_dependent_python_control_flow_warns_and_is_refused():
    model = Lambda(lambda m, x: x * 2 if x.sum() > 0 else x - 1)
    with pytest.warns(numtorch.onnx.TracerWarning, match="Python"):
        with pytest.raises(RuntimeError, match="does not reproduce"):
            numtorch.onnx.export(model, (numtorch.rand(2, 3),), io.BytesIO())


def test_inplace_on_a_view_is_refused():
    def fn(m, x):
        y = x * 1
        y[0].add_(1)
        return y
    with pytest.raises(RuntimeError, match="shares memory"):
        numtorch.onnx.export(Lambda(fn), (numtorch.randn(2, 3),), io.BytesIO())


def test_export_to_path_export_params_and_names(tmp_path):
    numtorch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    path = tmp_path / "m.onnx"
    x = numtorch.randn(5, 3)
    assert numtorch.onnx.export(model, x, str(path), input_names=["features"],
                                output_names=["scores"], dynamic_axes={"features": [0]},
                                opset_version=18, do_constant_folding=False,
                                dynamo=False) is None
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["features"]
    assert [o.name for o in proto.graph.output] == ["scores"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == \
        "features_dynamic_axes_1"
    assert proto.opset_import[0].version == 18
    assert sorted(i.name for i in proto.graph.initializer) == sorted(model.state_dict())
    got = ort.InferenceSession(str(path)).run(["scores"], {"features": x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-5, atol=1e-6)

    proto = numtorch.onnx.export(model, (x,), None, export_params=False)
    assert not proto.graph.initializer
    assert [i.name for i in proto.graph.input][1:] == list(model.state_dict())


def test_bad_arguments():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="opset_version 13"):
        numtorch.onnx.export(model, numtorch.randn(1, 2), io.BytesIO(), opset_version=13)
    with pytest.raises(NotImplementedError, match="dynamic_shapes"):
        numtorch.onnx.export(model, numtorch.randn(1, 2), io.BytesIO(),
                             dynamic_shapes={"x": {0: "b"}})
    with pytest.warns(UserWarning, match="not a valid input/output name"):
        numtorch.onnx.export(model, numtorch.randn(1, 2), io.BytesIO(),
                             dynamic_axes={"nope": [0]})


def test_model_mode_is_restored():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).train()
    numtorch.onnx.export(model, numtorch.randn(1, 2), io.BytesIO())
    assert model.training and model[1].training


class _NanoAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.n_head, self.n_embd = n_head, n_embd
        mask = numtorch.tril(numtorch.ones(block_size, block_size))
        self.register_buffer("bias", mask.view(1, 1, block_size, block_size))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / k.size(-1) ** 0.5)
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class _NanoGPT(nn.Module):
    def __init__(self, vocab=30, block_size=16, n_embd=16):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, n_embd), nn.Embedding(block_size, n_embd)
        self.ln = nn.LayerNorm(n_embd)
        self.attn = _NanoAttention(n_embd, 2, block_size)
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        self.wte.weight = self.lm_head.weight  # tied

    def forward(self, idx):
        b, t = idx.size()
        pos = numtorch.arange(0, t, dtype=numtorch.long)
        x = self.wte(idx) + self.wpe(pos)
        x = x + self.attn(self.ln(x))
        return self.lm_head(x[:, [-1], :])


def test_gpt_with_dynamic_batch_and_sequence():
    numtorch.manual_seed(0)
    model = _NanoGPT().eval()
    buffer = io.BytesIO()
    numtorch.onnx.export(model, (numtorch.randint(0, 30, (2, 7)),), buffer, input_names=["idx"],
                         dynamic_axes={"idx": {0: "batch", 1: "seq"}})
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    for shape in ((1, 3), (4, 12)):
        idx = numtorch.randint(0, 30, shape)
        got = session.run(None, {"idx": idx.numpy()})[0]
        want = model(idx).detach().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_tuple_inputs_are_flattened_like_pytorch():
    # pytorch/examples word_language_model: export(model, (input, (h0, c0)), ...)
    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(20, 6)
            self.rnn = nn.LSTM(6, 5, 2)
            self.decoder = nn.Linear(5, 20)

        def forward(self, input, hidden):
            output, hidden = self.rnn(self.encoder(input), hidden)
            return F.log_softmax(self.decoder(output).view(-1, 20), dim=1), hidden

    numtorch.manual_seed(0)
    model = RNNModel().eval()
    x = numtorch.randint(0, 20, (4, 3))
    hidden = (numtorch.randn(2, 3, 5), numtorch.randn(2, 3, 5))
    proto = numtorch.onnx.export(model, (x, hidden), None)
    assert [i.name for i in proto.graph.input] == ["input", "hidden_0", "hidden_1"]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x.numpy(), "hidden_0": hidden[0].numpy(),
                             "hidden_1": hidden[1].numpy()})
    want = _flat(model(x, hidden))
    assert len(got) == 3
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_item_warns_like_the_tracer():
    model = Lambda(lambda m, x: x * float(x.mean().item() > -100))
    with pytest.warns(numtorch.onnx.TracerWarning, match="Tensor.item"):
        numtorch.onnx.export(model, (numtorch.randn(2, 3),), io.BytesIO())


def test_kwargs_and_trailing_dict_are_keyword_arguments():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x, scale=None, shift=0.0):
            return self.fc(x) * scale + shift

    numtorch.manual_seed(0)
    model = Scaled().eval()
    x, scale = numtorch.randn(2, 3), numtorch.randn(2, 1)
    for proto in (numtorch.onnx.export(model, (x,), None, kwargs={"scale": scale, "shift": 1.5}),
                  numtorch.onnx.export(model, (x, {"scale": scale, "shift": 1.5}), None)):
        assert [i.name for i in proto.graph.input] == ["x", "scale"]
        session = ort.InferenceSession(proto.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        got = session.run(None, {"x": x.numpy(), "scale": scale.numpy()})[0]
        want = model(x, scale=scale, shift=1.5).detach().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
