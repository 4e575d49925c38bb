"""One WGAN-GP critic step on a small all-convolutional critic (gradient penalty through
torch.autograd.grad(create_graph=True)), in float64 with NumPy-made data and weights."""

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(0)

critic = nn.Sequential(
    nn.Conv2d(1, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.MaxPool2d(2),
    nn.Conv2d(4, 8, 3, stride=2, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.2),
    nn.Conv2d(8, 1, 2), nn.Flatten())
with torch.no_grad():
    for p in critic.parameters():
        p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.4))
opt = torch.optim.Adam(critic.parameters(), lr=1e-2, betas=(0.5, 0.9))

real = torch.tensor(rng.standard_normal((6, 1, 8, 8)))
fake = torch.tensor(rng.standard_normal((6, 1, 8, 8)) * 0.5 + 0.3)
for step in range(2):
    alpha = torch.tensor(rng.uniform(0, 1, (6, 1, 1, 1)))
    interp = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    d_interp = critic(interp)
    grads = torch.autograd.grad(d_interp, interp, grad_outputs=torch.ones_like(d_interp),
                                create_graph=True, retain_graph=True)[0]
    gp = ((grads.reshape(6, -1).norm(2, dim=1) - 1) ** 2).mean()
    loss = critic(fake).mean() - critic(real).mean() + 10 * gp
    opt.zero_grad()
    loss.backward()
    print(f"step {step} loss {loss.item():.10f} gp {gp.item():.10f}")
    for name, p in critic.named_parameters():
        print(f"  {name} grad norm {p.grad.norm().item():.10f}")
    opt.step()
print("weights", " ".join(f"{p.sum().item():.10f}" for p in critic.parameters()))
