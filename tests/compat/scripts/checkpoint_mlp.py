"""Training an MLP whose hidden blocks run under torch.utils.checkpoint (both variants, and
checkpoint_sequential): the loss sequence is that of plain training."""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint, checkpoint_sequential

rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((64, 10)), dtype=torch.float32)
Y = torch.tensor(rng.standard_normal((64, 1)), dtype=torch.float32)


def make():
    layers = []
    for i in range(4):
        layers += [nn.Linear(10 if i == 0 else 32, 32), nn.Tanh()]
    layers.append(nn.Linear(32, 1))
    net = nn.Sequential(*layers)
    r = np.random.default_rng(1)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.tensor(r.uniform(-0.3, 0.3, tuple(p.shape)), dtype=torch.float32))
    return net


def train(mode):
    net = make()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for step in range(15):
        opt.zero_grad()
        x = X.clone().requires_grad_(mode == "reentrant")
        if mode == "plain":
            out = net(x)
        elif mode == "sequential":
            out = checkpoint_sequential(net, 3, x, use_reentrant=False)
        else:
            h = x
            for i in range(0, 8, 2):
                h = checkpoint(net[i:i + 2], h, use_reentrant=(mode == "reentrant"))
            out = net[8](h)
        loss = nn.functional.mse_loss(out, Y)
        loss.backward()
        opt.step()
        losses.append(round(loss.item(), 5))
    return losses


for mode in ["plain", "reentrant", "non_reentrant", "sequential"]:
    print(mode, train(mode))
