"""A small training program written as a PyTorch user writes one, fully annotated.

mypy checks it strictly (pyproject.toml, ``[tool.mypy]``; CI's "mypy" section and
tests/test_typing.py): it must type-check against numtorch's annotations and stubs, and it runs.
"""

import io
from collections.abc import Iterator

import numtorch as torch
import numtorch.nn as nn
import numtorch.nn.functional as F
from numtorch.optim import SGD, Optimizer
from numtorch.optim.lr_scheduler import StepLR
from numtorch.utils.data import DataLoader, TensorDataset


class MLP(nn.Module):
    def __init__(self, n_in: int, n_hidden: int, n_out: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(n_hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def tensor_basics() -> float:
    torch.manual_seed(0)
    a = torch.randn(3, 4)
    b = torch.ones(3, 4, dtype=torch.float32)
    c = (a + b) * 2.0 - a / 3 + 1
    d = c @ torch.zeros(4, 2)
    e = torch.cat([a, b], dim=0).reshape(2, 12).view(-1).unsqueeze(0)
    f = torch.reshape(torch.permute(a, (1, 0)), (2, 6)).flip(0).T.contiguous()
    shape: torch.Size = e.shape
    n: int = e.size(1)
    rows: int = a.shape[0]
    first = a[0]
    block = a[1:, :2]
    mask = a > 0
    picked = a[mask]
    a[0, 0] = 5.0
    values, indices = a.max(dim=1)
    best = a.max(1).indices
    total: torch.Tensor = a.sum(dim=(0, 1), keepdim=False)
    mean = a.mean(1).float().to(torch.float64)
    assert shape == torch.Size([1, 24]) and n == 24 and rows == 3
    assert first.dim() == 1 and block.shape == (2, 2) and picked.dim() == 1
    assert d.shape == (3, 2) and values.shape == (3,) and indices.dtype == torch.int64
    assert f.shape == (6, 2)
    assert best.shape == (3,) and mean.dtype == torch.float64
    return total.item() + float(mean.sum())


def namespace_functions() -> list[torch.Tensor]:
    a = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    mask = a > 5
    parts: tuple[torch.Tensor, ...] = torch.split(a, 2, dim=1)
    top = torch.topk(a, 2, dim=1)
    out = [
        torch.stack([a, a]).sum(0), torch.where(mask, a, 0.0), torch.softmax(a, dim=1),
        torch.argmax(a, dim=1), torch.linspace(0, 1, 5), torch.full((2, 2), 1.5),
        torch.einsum("ij,kj->ik", a, a), torch.clamp(a, min=0.0, max=4.0), torch.max(a),
        torch.max(a, 1).values, torch.max(a, a), torch.matmul(a, a.T), torch.exp(a).log(),
        torch.eye(3), torch.zeros_like(a), torch.tensor([[1, 2], [3, 4]]).float(),
        torch.chunk(a, 2)[0], parts[0], top.indices, torch.flatten(a), torch.abs(-a),
        torch.mean(a, dim=(0, 1)), torch.std(a, dim=0), torch.sort(a, descending=True).values,
        torch.squeeze(a.unsqueeze(0)), torch.transpose(a, 0, 1), torch.tril(a),
    ]
    assert all(isinstance(t, torch.Tensor) for t in out) and top.values.shape == (3, 2)
    return out


def gradients() -> torch.Tensor:
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    grad = w.grad
    assert grad is not None
    with torch.no_grad():
        w -= 0.1 * grad
        frozen = w * 2
    assert not frozen.requires_grad
    return w.detach().clone()


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, optimizer: Optimizer,
          epochs: int) -> list[float]:
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    losses: list[float] = []
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    return losses


def parameters_of(model: nn.Module) -> Iterator[nn.Parameter]:
    return model.parameters()


def main() -> None:
    tensor_basics()
    namespace_functions()
    gradients()
    model = MLP(4, 16, 3)
    optimizer = SGD(parameters_of(model), lr=0.1, momentum=0.9)
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    losses = train(model, x, y, optimizer, epochs=2)
    assert len(losses) == 8

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    restored = MLP(4, 16, 3)
    restored.load_state_dict(torch.load(buffer))
    restored.eval()
    with torch.no_grad():
        probe = torch.randn(2, 4)
        assert torch.allclose(model(probe), restored(probe))


if __name__ == "__main__":
    main()
