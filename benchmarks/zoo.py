"""The model zoo: common networks beyond LeNet, written once against a ``torch``-like module.

Each entry builds the model, its optimizer and one fixed batch with the library it is given, so
``numtorch`` and ``torch`` run the same source on the same weights (numtorch initialises them,
the other library loads them) and the same data. The shapes are those of issue #19:

* ``resnet8``: a CIFAR ResNet-8 (a 3×3 stem and three stages of one BasicBlock each, 16/32/64
  channels, BatchNorm, 1×1 projection shortcuts), batch 32 of 3×32×32, SGD with momentum 0.9 and
  weight decay 5e-4;
* ``resnet18`` (not in the issue's table, added later): an ImageNet ResNet-18 (7×7 stride-2
  stem, max pooling, four stages of two BasicBlocks, 64/128/256/512 channels, 1×1 projection
  shortcuts), batch 4 of 3×224×224, SGD with momentum 0.9 and weight decay 1e-4: the shapes
  where a convolution's weight outweighs its columns, which ResNet-8 never reaches;
* ``lstm``: the word-language-model shape: embedding 1000→128, a 2-layer LSTM with hidden size 256
  and dropout 0.2, a linear decoder back to 1000 words, 35 steps × batch 20, plain SGD;
* ``gpt``: a character GPT: token + position embeddings (65 symbols, block 64, width 128), two
  pre-LN ``nn.TransformerEncoderLayer`` (4 heads, GELU, feed-forward 512) under a causal mask,
  a final LayerNorm and a linear head, batch 16, AdamW;
* ``mlp-adam``: the MLP 784-128-64-10 at batch 64 with Adam;
* ``vae``: the VAE of PyTorch's examples (784-400-20 encoder, 20-400-784 decoder, binary cross
  entropy plus the KL term), batch 128, Adam.

Dropout stays on (training mode) as in real training; the two libraries draw different masks,
which changes no timing.
"""

import numpy as np

__all__ = ["ZOO", "zoo_setup"]


def _basic_block(torch):
    """ResNet's BasicBlock class in ``torch``: two 3x3 convolutions with batch norms, the first
    with the stride, and a 1x1 projection shortcut where the shape changes."""
    nn, F = torch.nn, torch.nn.functional

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

    return BasicBlock


def resnet8(torch):
    nn, F = torch.nn, torch.nn.functional

    BasicBlock = _basic_block(torch)

    class ResNet8(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.layer1 = BasicBlock(16, 16, 1)
            self.layer2 = BasicBlock(16, 32, 2)
            self.layer3 = BasicBlock(32, 64, 2)
            self.fc = nn.Linear(64, num_classes)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
            return self.fc(x)

    return ResNet8()


def resnet18(torch, num_classes=1000):
    nn, F = torch.nn, torch.nn.functional

    BasicBlock = _basic_block(torch)

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                      nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
            stages, cin = [], 64
            for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                stages += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
                cin = cout
            self.stages = nn.Sequential(*stages)
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.stages(self.stem(x))
            return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))

    return ResNet18()


def lstm_lm(torch, vocab=1000, emb=128, hidden=256, layers=2, dropout=0.2):
    nn = torch.nn

    class LSTMLanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(vocab, emb)
            self.rnn = nn.LSTM(emb, hidden, layers, dropout=dropout)
            self.decoder = nn.Linear(hidden, vocab)

        def forward(self, tokens):
            out, _ = self.rnn(self.drop(self.encoder(tokens)))
            return self.decoder(self.drop(out)).view(-1, vocab)

    return LSTMLanguageModel()


def char_gpt(torch, vocab=65, block=64, width=128, heads=4, layers=2):
    nn = torch.nn

    class CharGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, width)
            self.pos = nn.Embedding(block, width)
            self.blocks = nn.ModuleList([
                nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.1,
                                           activation="gelu", batch_first=True, norm_first=True)
                for _ in range(layers)])
            self.ln = nn.LayerNorm(width)
            self.head = nn.Linear(width, vocab)

        def forward(self, idx):
            t = idx.shape[1]
            x = self.tok(idx) + self.pos(torch.arange(t))
            mask = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
            for layer in self.blocks:
                x = layer(x, src_mask=mask, is_causal=True)
            return self.head(self.ln(x)).view(-1, vocab)

    return CharGPT()


def mlp(torch):
    from .models import mlp as build
    return build(torch)


def vae(torch):
    nn, F = torch.nn, torch.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def forward(self, x):
            h = F.relu(self.fc1(x.view(-1, 784)))
            mu, logvar = self.fc21(h), self.fc22(h)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar

    return VAE()


def _vae_loss(lib, out, x):
    recon, mu, logvar = out
    bce = lib.nn.functional.binary_cross_entropy(recon, x.view(-1, 784), reduction="sum")
    kld = -0.5 * lib.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def _batch(name, rng):
    """The fixed batch of ``name`` as NumPy arrays: (input, target)."""
    if name == "resnet8":
        return (rng.standard_normal((32, 3, 32, 32)).astype(np.float32),
                rng.integers(0, 10, 32).astype(np.int64))
    if name == "resnet18":
        return (rng.standard_normal((4, 3, 224, 224)).astype(np.float32),
                rng.integers(0, 1000, 4).astype(np.int64))
    if name == "lstm":
        return (rng.integers(0, 1000, (35, 20)).astype(np.int64),
                rng.integers(0, 1000, 35 * 20).astype(np.int64))
    if name.startswith("gpt"):
        batch = 64 if name == "gpt-b64" else 16
        return (rng.integers(0, 65, (batch, 64)).astype(np.int64),
                rng.integers(0, 65, batch * 64).astype(np.int64))
    if name == "mlp-adam":
        return (rng.standard_normal((64, 1, 28, 28)).astype(np.float32),
                rng.integers(0, 10, 64).astype(np.int64))
    if name == "vae":
        return rng.random((128, 1, 28, 28)).astype(np.float32), None
    raise KeyError(name)


#: name -> (builder, optimizer factory(lib, params), label)
ZOO = {
    "resnet8": (resnet8, lambda lib, p: lib.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=5e-4),
                "CIFAR ResNet-8 with BatchNorm, batch 32, SGD momentum + weight decay"),
    "resnet18": (resnet18,
                 lambda lib, p: lib.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-4),
                 "ImageNet ResNet-18, batch 4 of 224×224, SGD momentum + weight decay"),
    "lstm": (lstm_lm, lambda lib, p: lib.optim.SGD(p, lr=1.0),
             "2-layer LSTM language model, 35 steps × batch 20, SGD"),
    "gpt": (char_gpt, lambda lib, p: lib.optim.AdamW(p, lr=3e-4),
            "char GPT (2 pre-LN encoder layers, d=128, 4 heads, block 64), batch 16, AdamW"),
    "gpt-b64": (char_gpt, lambda lib, p: lib.optim.AdamW(p, lr=3e-4),
                "char GPT as above, batch 64, AdamW"),
    "mlp-adam": (mlp, lambda lib, p: lib.optim.Adam(p, lr=1e-3),
                 "MLP 784-128-64-10, batch 64, Adam"),
    "vae": (vae, lambda lib, p: lib.optim.Adam(p, lr=1e-3),
            "VAE of PyTorch's examples, batch 128, Adam"),
}

_WEIGHTS = {}


def _weights(name):
    """numtorch-initialised weights of ``name`` as NumPy arrays, shared by both libraries."""
    if name not in _WEIGHTS:
        import numtorch
        numtorch.manual_seed(0)
        net = ZOO[name][0](numtorch)
        _WEIGHTS[name] = {k: np.array(v.detach().numpy()) for k, v in net.state_dict().items()}
    return _WEIGHTS[name]


def zoo_setup(name):
    """A ``setup(lib)`` returning one training step of zoo model ``name`` in ``lib``."""

    def setup(lib):
        builder, make_opt, _ = ZOO[name]
        net = builder(lib)
        net.load_state_dict({k: lib.tensor(v) for k, v in _weights(name).items()})
        net.train()
        xa, ya = _batch(name, np.random.default_rng(0))
        x = lib.tensor(xa)
        y = None if ya is None else lib.tensor(ya)
        opt = make_opt(lib, net.parameters())
        cross_entropy = lib.nn.functional.cross_entropy

        def step():
            opt.zero_grad()
            out = net(x)
            loss = _vae_loss(lib, out, x) if name == "vae" else cross_entropy(out, y)
            loss.backward()
            opt.step()

        return step

    return setup
