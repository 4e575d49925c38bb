"""A small typed user program written as PyTorch users write one, for the type checker.

``tests/typing/test_typing_nn_optim_data.py`` runs it on numtorch and runs mypy on it: every
line must pass except those marked ``# E: <error code>``, which must fail with that code (wrong
argument types that numtorch's hints, like torch's, reject before a run). ``# R: <type>`` gives
the type mypy must reveal for the expression of ``reveal_type`` on that line.
"""

from __future__ import annotations

from typing import Any, reveal_type

import numtorch as torch
import numtorch.nn as nn
import numtorch.nn.functional as F
import numtorch.optim as optim
from numtorch import Tensor
from numtorch.datasets import MNIST, transforms
from numtorch.optim.lr_scheduler import CosineAnnealingLR, StepLR
from numtorch.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split
from numtorch.vision.models import ResNet18_Weights, resnet18


class Blobs(Dataset[tuple[Tensor, Tensor]]):
    """Points around one centre per class."""

    def __init__(self, n: int, n_features: int = 8, n_classes: int = 4) -> None:
        self.y = torch.randint(0, n_classes, (n,))
        self.x = torch.randn(n, n_features) + self.y.unsqueeze(1).float()

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.x[index], self.y[index]


class Net(nn.Module):
    def __init__(self, n_in: int, n_hidden: int, n_out: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.bn = nn.BatchNorm1d(n_hidden, momentum=None)
        self.body = nn.Sequential(nn.ReLU(inplace=True), nn.Dropout(p=0.1), nn.Identity())
        self.fc2 = nn.Linear(n_hidden, n_out, bias=False)
        self.heads = nn.ModuleList([nn.Linear(n_out, 1) for _ in range(2)])
        self.register_buffer("calls", torch.zeros(()), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        h = self.body(self.bn(self.fc1(x)))
        out: Tensor = self.fc2(h)
        return out


class Tiny(nn.Module):
    """Layers with tuple and string arguments, as in torchvision's models."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, kernel_size=(3, 3), stride=1, padding="same",
                              padding_mode="zeros")
        self.pool = nn.MaxPool2d(2, stride=(2, 2))
        self.adapt = nn.AdaptiveAvgPool2d((1, None))
        self.norm = nn.LayerNorm([4, 1, 2], eps=1e-6)
        self.rnn = nn.LSTM(input_size=4, hidden_size=8, num_layers=1, batch_first=True)
        self.emb = nn.Embedding(10, 4, padding_idx=0)
        self.attn = nn.MultiheadAttention(embed_dim=4, num_heads=2, batch_first=True)
        self.enc = nn.TransformerEncoderLayer(d_model=4, nhead=2, dim_feedforward=8,
                                              dropout=0.0, activation="gelu", batch_first=True)
        self.act = nn.ModuleDict({"relu": nn.ReLU(), "gelu": nn.GELU(approximate="tanh")})
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, images: Tensor) -> Tensor:
        out: Tensor = self.norm(self.adapt(self.pool(self.conv(images))))
        return out


def train(epochs: int = 2, seed: int = 0) -> list[float]:
    torch.manual_seed(seed)
    data = Blobs(96)
    train_set, val_set = random_split(data, [0.75, 0.25])
    loader: DataLoader[tuple[Tensor, Tensor]] = DataLoader(train_set, batch_size=16,
                                                           shuffle=True, drop_last=False)
    val_loader = DataLoader(val_set, batch_size=32, num_workers=0)
    model = Net(8, 16, 4)
    nn.init.kaiming_uniform_(model.fc1.weight, a=0, mode="fan_in", nonlinearity="relu")
    nn.init.zeros_(model.fc1.bias)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    losses: list[float] = []
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
            losses.append(loss.item())
        sched.step()
        model.eval()
        with torch.no_grad():
            for x, _ in val_loader:
                model(x)
    assert len(sched.get_last_lr()) == 1
    return losses


def checkpoint_round_trip() -> None:
    model = Net(8, 16, 4)
    # Parameter groups need the annotation with torch's hints too (mypy joins the two dicts'
    # types to ``object`` otherwise).
    groups: list[dict[str, Any]] = [{"params": model.fc1.parameters()},
                                    {"params": model.fc2.parameters(), "lr": 1e-3}]
    adam = optim.AdamW(groups, lr=3e-4, betas=(0.9, 0.99), weight_decay=0.01, amsgrad=True)
    cosine = CosineAnnealingLR(adam, T_max=10, eta_min=1e-6)
    state = {"model": model.state_dict(), "optim": adam.state_dict(),
             "sched": cosine.state_dict()}
    result = model.load_state_dict(state["model"], strict=True)
    missing: list[str] = result.missing_keys
    assert not missing and not result.unexpected_keys
    adam.load_state_dict(state["optim"])
    cosine.load_state_dict(state["sched"])
    n_params = sum(p.numel() for p in model.parameters())
    names = [name for name, _ in model.named_parameters()]
    assert n_params > 0 and names[0] == "fc1.weight"
    for name, module in model.named_modules():
        assert isinstance(name, str) and isinstance(module, nn.Module)
    frozen = model.requires_grad_(False).to(torch.float64)
    assert all(not p.requires_grad for p in frozen.parameters())
    first: nn.Module = model.body[0]
    assert isinstance(first, nn.ReLU) and len(model.body) == 3
    for head in model.heads:
        head.zero_grad()
    pairs = TensorDataset(torch.zeros(4, 2), torch.ones(4))
    sub = Subset(pairs, [0, 2])
    assert len(sub) == 2


def mnist_loader(root: str) -> DataLoader[Any]:
    """Not run by the test (it reads MNIST): torchvision-style data and model code."""
    train_set = MNIST(root, train=True, download=False, transform=transforms.ToTensor())
    head, tail = random_split(train_set, [0.9, 0.1])
    net = resnet18(weights=None, num_classes=10)
    net.fc = nn.Linear(512, 10)
    return DataLoader(head, batch_size=64, shuffle=True, drop_last=True)


def revealed(model: Net, opt: optim.Optimizer, loader: DataLoader[tuple[Tensor, Tensor]],
             sched: StepLR) -> None:
    reveal_type(model.parameters())  # R: typing.Iterator[numtorch.nn.parameter.Parameter]
    reveal_type(model.train())  # R: nn_optim_data.Net
    reveal_type(model.fc1)  # R: numtorch.nn.modules.linear.Linear
    reveal_type(model.load_state_dict({}))  # R: tuple[list[str], list[str], fallback=numtorch.nn.modules.module._IncompatibleKeys]  # noqa: E501
    reveal_type(model.body[0])  # R: numtorch.nn.modules.module.Module
    reveal_type(model.body[1:])  # R: numtorch.nn.modules.container.Sequential
    reveal_type(opt.param_groups)  # R: list[dict[str, Any]]
    reveal_type(opt.step())  # R: float | None
    reveal_type(sched.get_last_lr())  # R: list[float | numtorch._tensor.Tensor]
    reveal_type(loader.dataset)  # R: numtorch.utils.data.dataset.Dataset[tuple[numtorch._tensor.Tensor, numtorch._tensor.Tensor]]  # noqa: E501
    reveal_type(resnet18(weights=ResNet18_Weights.DEFAULT))  # R: numtorch.vision.models.resnet.ResNet  # noqa: E501
    reveal_type(MNIST("data")[0])  # R: tuple[Any, Any]
    reveal_type(random_split(Blobs(4), [2, 2]))  # R: list[numtorch.utils.data.dataset.Subset[tuple[numtorch._tensor.Tensor, numtorch._tensor.Tensor]]]  # noqa: E501


def mistakes(model: Net, data: Blobs, opt: optim.SGD) -> None:
    """Never called: each line is a mistake the type checker catches."""
    nn.Linear("3", 4)  # E: arg-type
    nn.Linear(3, 4, bias="yes")  # E: arg-type
    nn.Conv2d(1, 2, kernel_size=(3, 3, 3))  # E: arg-type
    nn.Conv2d(1, 2, 3, padding_mode="mirror")  # E: arg-type
    nn.Dropout(p="0.5")  # E: arg-type
    nn.LayerNorm("8")  # E: arg-type
    nn.Embedding(10, 3, padding_idx="0")  # E: arg-type
    nn.Sequential(nn.ReLU(), 3)  # E: call-overload
    nn.init.kaiming_uniform_(model.fc1.weight, mode="fan_middle")  # E: arg-type
    optim.SGD(model.parameters(), lr="x")  # E: arg-type
    optim.Adam(model.parameters(), betas=0.9)  # E: arg-type
    optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov="true")  # E: arg-type
    opt.zero_grad(set_to_none=None)  # E: arg-type
    StepLR(opt, step_size=1.5)  # E: arg-type
    DataLoader(data, batch_size="16")  # E: arg-type
    DataLoader(data, shufle=True)  # E: call-arg
    random_split(data, 0.5)  # E: arg-type
    model.load_state_dict(model.state_dict(), strict="yes")  # E: arg-type
    model.train("eval")  # E: arg-type
    _count: int = model.parameters()  # E: assignment
    _lr: float = StepLR(opt, 1).get_last_lr()  # E: assignment
