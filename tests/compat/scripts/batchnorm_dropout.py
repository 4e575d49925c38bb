"""BatchNorm and Dropout behave differently in train() and eval(): batch statistics and random
masks while training, running statistics and the identity when evaluating."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.bn2d = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 6 * 6, 8)
        self.bn1d = nn.BatchNorm1d(8, momentum=0.2)
        self.drop = nn.Dropout(p=0.5)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        x = torch.relu(self.bn2d(self.conv(x)))
        x = torch.relu(self.bn1d(self.fc(x.flatten(1))))
        return self.out(self.drop(x))


net = Net()
print(net)
with torch.no_grad():
    for name, p in net.named_parameters():
        if "bn" not in name:
            p.copy_(torch.tensor(rng.uniform(-0.4, 0.4, tuple(p.shape))))
print([name for name, _ in net.named_buffers()])
print(net.bn2d.running_mean, net.bn2d.running_var, net.bn2d.num_batches_tracked)

x = torch.tensor(rng.standard_normal((6, 2, 6, 6)), dtype=torch.float32)
target = torch.tensor(rng.standard_normal((6, 2)), dtype=torch.float32)
print(net.training, net.bn1d.training)

# Train mode without dropout's randomness: batch statistics only.
net.drop.p = 0.0
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
for step in range(3):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(net(x), target)
    loss.backward()
    optimizer.step()
    print(step, f"{loss.item():.5f}")
print([round(v, 4) for v in net.bn2d.running_mean.tolist()])
print([round(v, 4) for v in net.bn2d.running_var.tolist()])
print([round(v, 4) for v in net.bn1d.running_mean.tolist()])
print(net.bn2d.num_batches_tracked.item(), net.bn1d.num_batches_tracked.item())

net.eval()
print(net.training, net.drop.training)
with torch.no_grad():
    a, b = net(x), net(x)
print(torch.equal(a, b), [round(v, 4) for v in a[0].tolist()])
print(net.bn2d.num_batches_tracked.item())
print(f"{nn.functional.mse_loss(a, target).item():.5f}")

# Dropout: identity in eval, a scaled random mask in train.
drop = nn.Dropout(p=0.25)
ones = torch.ones(1000)
drop.eval()
print(torch.equal(drop(ones), ones))
drop.train()
torch.manual_seed(0)
y = drop(ones)
kept = y[y != 0]
print(torch.allclose(kept, torch.full_like(kept, 1 / 0.75)), 650 < kept.numel() < 850)
print(torch.equal(nn.functional.dropout(ones, 0.5, training=False), ones))

bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
z = torch.tensor(rng.standard_normal((10, 3)), dtype=torch.float32)
bn.eval()
zn = bn(z)
print([round(v, 4) for v in zn.mean(0).tolist()], [round(v, 3) for v in zn.var(0, unbiased=False).tolist()])
