"""Per-sample gradients with torch.func: vmap(grad(loss)) over a small MLP, checked against a
loop of ordinary backward passes (the torch.func "per-sample gradients" tutorial)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

torch.manual_seed(0)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


model = MLP()
rng = np.random.default_rng(0)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.4, 0.4, tuple(p.shape)), dtype=torch.float32))

data = torch.tensor(rng.standard_normal((8, 6)), dtype=torch.float32)
targets = torch.tensor(rng.integers(0, 3, 8))

params = {k: v.detach() for k, v in model.named_parameters()}


def compute_loss(params, sample, target):
    batch = sample.unsqueeze(0)
    predictions = functional_call(model, params, (batch,))
    return F.cross_entropy(predictions, target.unsqueeze(0))


per_sample = vmap(grad(compute_loss), in_dims=(None, 0, 0))(params, data, targets)
for name, g in per_sample.items():
    print(name, tuple(g.shape), g.dtype, [round(v, 5) for v in g.flatten(1).norm(dim=1).tolist()])

# The same gradients, one backward pass per sample.
for i in range(data.shape[0]):
    model.zero_grad()
    F.cross_entropy(model(data[i:i + 1]), targets[i:i + 1]).backward()
    diff = max((per_sample[n][i] - p.grad).abs().max().item() for n, p in model.named_parameters())
    print(i, diff < 1e-6)
