"""A small super-resolution-style net written with lazy layers, PixelShuffle and RMSNorm, the
classes reached through their torch.nn.modules paths, trained for a few steps."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.activation import MultiheadAttention
from torch.nn.modules.linear import NonDynamicallyQuantizableLinear
from torch.nn.modules.pixelshuffle import PixelShuffle


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.LazyConv2d(8, 3, padding=1)
        self.shuffle = PixelShuffle(2)
        self.norm = nn.RMSNorm(2 * 8 * 8)
        self.head = nn.LazyLinear(3)

    def forward(self, x):
        x = self.shuffle(F.relu(self.conv(x)))
        return self.head(self.norm(x.flatten(1)))


net = Net()
print(net)
x = torch.tensor(np.linspace(-1, 1, 4 * 3 * 4 * 4).reshape(4, 3, 4, 4), dtype=torch.float32)
net(x)  # materialises the lazy layers
print(net)
with torch.no_grad():
    for i, p in enumerate(net.parameters()):
        p.copy_(torch.tensor(np.cos(np.arange(p.numel()) * (i + 1.3)).reshape(p.shape) * 0.2,
                             dtype=torch.float32))
print([tuple(p.shape) for p in net.parameters()])
opt = torch.optim.SGD(net.parameters(), lr=0.1)
target = torch.tensor([0, 1, 2, 1])
for step in range(4):
    opt.zero_grad()
    loss = F.cross_entropy(net(x), target)
    loss.backward()
    opt.step()
    print(step, round(loss.item(), 5))
print(F.pixel_unshuffle(F.pixel_shuffle(x[:, :, :2, :2].repeat(1, 4, 1, 1), 2), 2).shape)
print(F.rms_norm(x[0, 0], (4,)).sum().item() != 0, nn.ChannelShuffle(3)(x).shape)
mha = MultiheadAttention(4, 2)
print(type(mha.out_proj) is NonDynamicallyQuantizableLinear, mha.out_proj)
