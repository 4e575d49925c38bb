"""Fit y = sin(x) with a polynomial using autograd and a manual update under no_grad."""
import math

import numpy as np
import torch

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

rng = np.random.default_rng(1)
a, b, c, d = (torch.tensor(v, dtype=torch.float32, requires_grad=True)
              for v in rng.standard_normal(4))
print(a.requires_grad, a.is_leaf, a.grad)

learning_rate = 1e-6
for t in range(600):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, f"{loss.item():.4f}")
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(type(loss.grad_fn).__name__, loss.requires_grad, y_pred.grad_fn is not None)
print(f"Result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
