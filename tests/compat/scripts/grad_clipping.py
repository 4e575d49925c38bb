"""Gradient clipping by global norm and by value inside a training loop."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(0)
model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.uniform(-2, 2, tuple(p.shape))))
x = torch.tensor(rng.standard_normal((32, 4)) * 3, dtype=torch.float32)
y = torch.tensor(rng.standard_normal((32, 1)) * 10, dtype=torch.float32)

optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(5):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    total = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    after = torch.norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    optimizer.step()
    print(step, f"loss {loss.item():.4f} norm before {total.item():.4f} after {after.item():.4f}")

optimizer.zero_grad()
nn.functional.mse_loss(model(x), y).backward()
torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.05)
grads = torch.cat([p.grad.flatten() for p in model.parameters()])
print(f"{grads.abs().max().item():.4f}", f"{grads.abs().sum().item():.4f}")

optimizer.zero_grad()
nn.functional.mse_loss(model(x), y).backward()
norm_inf = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5, norm_type="inf")
print(f"{norm_inf.item():.4f}", f"{max(p.grad.abs().max().item() for p in model.parameters()):.4f}")

vec = torch.nn.utils.parameters_to_vector(model.parameters())
print(vec.shape, f"{vec.sum().item():.4f}")
torch.nn.utils.vector_to_parameters(vec * 0.5, model.parameters())
print(f"{model[0].weight.sum().item():.4f}")
