"""numtorch.onnx.export: the written models pass ONNX's full check, ONNX Runtime computes
numtorch's outputs with them (at other batch sizes where the batch axis is dynamic), and they
agree with what real PyTorch's exporter writes for the same weights."""

import io
import warnings

import numpy as np
import pytest

import numtorch
import numtorch.onnx
from numtorch.apps.models import MLP, LeNet5

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


# ---------------------------------------------------------------------- the models, twice
def model_classes(lib):
    """The test models written against ``lib`` (numtorch or torch), so that each has a twin."""
    nn, F = lib.nn, lib.nn.functional

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                              nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class ResNet(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(8), nn.ReLU(inplace=True))
            self.layer1 = BasicBlock(8, 8, 1)
            self.layer2 = BasicBlock(8, 16, 2)
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(16, num_classes)

        def forward(self, x):
            x = self.layer2(self.layer1(self.stem(x)))
            return self.fc(lib.flatten(self.pool(x), 1))

    class LSTMLanguageModel(nn.Module):
        def __init__(self, ntoken=50, ninp=16, nhid=24, nlayers=2):
            super().__init__()
            self.drop = nn.Dropout(0.2)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=0.2)
            self.decoder = nn.Linear(nhid, ntoken)
            self.ntoken = ntoken

        def forward(self, input):
            emb = self.drop(self.encoder(input))
            output, (h, c) = self.rnn(emb)
            decoded = self.decoder(self.drop(output)).view(-1, self.ntoken)
            return F.log_softmax(decoded, dim=1), h, c

    class TransformerClassifier(nn.Module):
        def __init__(self, ntoken=40, d_model=16, nhead=4, nlayers=2, num_classes=3):
            super().__init__()
            self.embed = nn.Embedding(ntoken, d_model)
            self.pos = nn.Parameter(lib.randn(1, 32, d_model) * 0.1)
            layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=32, dropout=0.1,
                                               batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
            self.head = nn.Linear(d_model, num_classes)

        def forward(self, tokens):
            x = self.embed(tokens) + self.pos[:, :tokens.size(1)]
            x = self.encoder(x)
            return self.head(x.mean(dim=1))

    class CausalSelfAttention(nn.Module):
        def __init__(self, n_embd, n_head):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd)
            self.c_proj = nn.Linear(n_embd, n_embd)
            self.n_head = n_head

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(C, dim=2)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class GPTBlock(nn.Module):
        def __init__(self, n_embd=16, n_head=4):
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd)
            self.attn = CausalSelfAttention(n_embd, n_head)
            self.ln_2 = nn.LayerNorm(n_embd)
            self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(approximate="tanh"),
                                     nn.Linear(4 * n_embd, n_embd), nn.Dropout(0.1))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    return {"resnet": ResNet, "lstm_lm": LSTMLanguageModel, "transformer": TransformerClassifier,
            "gpt_block": GPTBlock}


def example(name, batch):
    rng = np.random.default_rng(batch)
    if name == "lenet":
        return rng.standard_normal((batch, 1, 32, 32)).astype(np.float32)
    if name == "mlp":
        return rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    if name == "resnet":
        return rng.standard_normal((batch, 3, 16, 16)).astype(np.float32)
    if name == "lstm_lm":  # (seq, batch) token ids
        return rng.integers(0, 50, (7, batch)).astype(np.int64)
    if name == "transformer":
        return rng.integers(0, 40, (batch, 9)).astype(np.int64)
    return rng.standard_normal((batch, 6, 16)).astype(np.float32)


BATCH_AXIS = {"lstm_lm": 1}
MODELS = ["lenet", "mlp", "resnet", "lstm_lm", "transformer", "gpt_block"]


def build(name):
    numtorch.manual_seed(0)
    if name == "lenet":
        model = LeNet5()
    elif name == "mlp":
        model = MLP()
    else:
        model = model_classes(numtorch)[name]()
    if name == "resnet":  # running statistics that differ from the initial ones
        model.train()
        with numtorch.no_grad():
            for _ in range(3):
                model(numtorch.from_numpy(example(name, 8)))
    return model.eval()


def export_bytes(model, x, name, **kwargs):
    axis = BATCH_AXIS.get(name, 0)
    buffer = io.BytesIO()
    numtorch.onnx.export(model, (numtorch.from_numpy(x),), buffer, input_names=["input"],
                         output_names=None, dynamic_axes={"input": {axis: "batch"}}, **kwargs)
    return buffer.getvalue()


def eager(model, x):
    with numtorch.no_grad():
        out = model(numtorch.from_numpy(x))
    out = out if isinstance(out, tuple) else (out,)
    return [o.numpy() for o in out]


def assert_close(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("name", MODELS)
def test_export_runs_in_onnxruntime_at_two_batch_sizes(name):
    model = build(name)
    data = export_bytes(model, example(name, 2), name)
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 17
    initializers = {i.name for i in proto.graph.initializer}
    assert initializers <= set(model.state_dict()) | {
        i for i in initializers if i.startswith("onnx::")}
    assert set(model.state_dict()) - {k for k in model.state_dict()
                                      if k.endswith("num_batches_tracked")} <= initializers
    batch_dim = proto.graph.input[0].type.tensor_type.shape.dim[BATCH_AXIS.get(name, 0)]
    assert batch_dim.dim_param == "batch"
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for batch in (2, 5):
        x = example(name, batch)
        got = session.run(None, {"input": x})
        want = eager(model, x)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_close(g, w)


def torch_twin(name, model):
    torch = pytest.importorskip("torch")
    if name == "lenet":
        twin_cls = _torch_lenet(torch)
    elif name == "mlp":
        twin_cls = _torch_mlp(torch)
    else:
        twin_cls = model_classes(torch)[name]
    twin = twin_cls()
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)
    return twin.eval()


def _torch_lenet(torch):
    nn, F = torch.nn, torch.nn.functional

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), \
                nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
    return LeNet5


def _torch_mlp(torch):
    nn, F = torch.nn, torch.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(784, 128), nn.Linear(128, 64), \
                nn.Linear(64, 10)

        def forward(self, x):
            x = torch.flatten(x, 1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
    return MLP


def torch_export_bytes(twin, x, name):
    torch = pytest.importorskip("torch")
    axis = BATCH_AXIS.get(name, 0)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(twin, (torch.from_numpy(x),), buffer, input_names=["input"],
                          dynamic_axes={"input": {axis: "batch"}}, opset_version=17,
                          dynamo=False)
    return buffer.getvalue()


@pytest.mark.parametrize("name", MODELS)
def test_same_outputs_as_pytorchs_export(name):
    model = build(name)
    twin = torch_twin(name, model)
    ours = ort.InferenceSession(export_bytes(model, example(name, 2), name),
                                providers=["CPUExecutionProvider"])
    theirs = ort.InferenceSession(torch_export_bytes(twin, example(name, 2), name),
                                  providers=["CPUExecutionProvider"])
    for batch in (2, 3):
        x = example(name, batch)
        got = ours.run(None, {"input": x})
        want = theirs.run(None, {"input": x})
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_close(g, w)
