"""A model whose graph changes every forward pass (the DynamicNet example): Python control flow
picks how many times a shared parameter is reused."""
import math
import random

import numpy as np
import torch


class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        for name in "abcde":
            setattr(self, name, torch.nn.Parameter(torch.tensor(0.1 * rng.standard_normal(),
                                                               dtype=torch.float32)))

    def forward(self, x):
        """Between 3 and 5 terms, the 4th and 5th order terms reusing the parameter e."""
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x ** exp
        return y

    def string(self):
        return (f"y = {self.a.item():.4f} + {self.b.item():.4f} x + {self.c.item():.4f} x^2 + "
                f"{self.d.item():.4f} x^3 + {self.e.item():.4f} x^4 ? + {self.e.item():.4f} x^5 ?")


random.seed(0)
x = torch.linspace(-math.pi, math.pi, 1000)
y = torch.sin(x)
model = DynamicNet()
print(sorted(n for n, _ in model.named_parameters()))
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
for t in range(300):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    if t % 50 == 49:
        print(t, f"{loss.item():.3f}")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"Result: {model.string()}")


class TreeSum(torch.nn.Module):
    """Recursion and data-dependent branching: the depth follows the input's values."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([0.5, -0.25]))

    def forward(self, x, depth=0):
        if x.numel() == 1 or depth > 4:
            return x.sum() * self.w[0]
        half = x.numel() // 2
        left, right = x[:half], x[half:]
        if left.mean() > right.mean():
            return self(left, depth + 1) + self.w[1] * self(right, depth + 1)
        return self(right, depth + 1) - self.w[1] * torch.tanh(self(left, depth + 1))


tree = TreeSum()
inp = torch.tensor(np.random.default_rng(3).standard_normal(11), dtype=torch.float32)
out = tree(inp)
out.backward()
print(f"{out.item():.5f}", [round(v, 5) for v in tree.w.grad.tolist()])

steps = 0
h = torch.tensor([1.0, -2.0], requires_grad=True)
v = h
while v.norm() < 100:
    v = v * 1.7 + 0.5
    steps += 1
v.sum().backward()
print(steps, [round(g, 4) for g in h.grad.tolist()])
