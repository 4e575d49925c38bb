"""A custom autograd Function (the LegendrePolynomial3 example) and gradcheck."""
import math

import numpy as np
import torch


class LegendrePolynomial3(torch.autograd.Function):
    """P3(x) = 1/2 (5x^3 - 3x), with its derivative written by hand."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class MulAdd(torch.autograd.Function):
    """Two inputs, one non-tensor argument, and a gradient that is None for it."""

    @staticmethod
    def forward(ctx, x, w, scale):
        ctx.scale = scale
        ctx.save_for_backward(x, w)
        return x * w * scale + x

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad * (w * ctx.scale + 1), grad * x * ctx.scale, None


dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
for t in range(400):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, f"{loss.item():.4f}")
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= learning_rate * p.grad
            p.grad = None

print(f"Result: y = {a.item():.4f} + {b.item():.4f} * P3({c.item():.4f} + {d.item():.4f} x)")
print(type(y_pred.grad_fn).__name__)

rng = np.random.default_rng(2)
xs = torch.tensor(rng.standard_normal(5), dtype=torch.float64, requires_grad=True)
ws = torch.tensor(rng.standard_normal(5), dtype=torch.float64, requires_grad=True)
print(torch.autograd.gradcheck(LegendrePolynomial3.apply, (xs,)))
print(torch.autograd.gradcheck(lambda u, v: MulAdd.apply(u, v, 2.5), (xs, ws)))
out = MulAdd.apply(xs, ws, 2.5).sum()
gx, gw = torch.autograd.grad(out, (xs, ws))
print([round(v, 4) for v in gx.tolist()])
print([round(v, 4) for v in gw.tolist()])
