"""The "Neural Networks" walkthrough of the 60-minute blitz: LeNet, its parameters, the graph
behind a loss, backprop, a hand-written SGD update and torch.optim."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):

    def __init__(self):
        super(Net, self).__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        c1 = F.relu(self.conv1(input))
        s2 = F.max_pool2d(c1, (2, 2))
        c3 = F.relu(self.conv2(s2))
        s4 = F.max_pool2d(c3, 2)
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        output = self.fc3(f6)
        return output


def load_numpy_weights(model, seed):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p[0].numel() if p.dim() > 1 else p.shape[0]
            bound = 1 / np.sqrt(fan_in)
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape)).astype(np.float32)))


net = Net()
print(net)
load_numpy_weights(net, 0)

params = list(net.parameters())
print(len(params))
print(params[0].size())  # conv1's .weight
print([tuple(p.shape) for p in params])
print(sum(p.numel() for p in params))

rng = np.random.default_rng(1)
input = torch.tensor(rng.standard_normal((1, 1, 32, 32)), dtype=torch.float32)
out = net(input)
print(out.shape)
print([round(v, 4) for v in out.flatten().tolist()])

net.zero_grad()
out.backward(torch.tensor(rng.standard_normal((1, 10)), dtype=torch.float32))
print(net.conv1.weight.grad.shape, round(net.conv1.weight.grad.abs().sum().item(), 3))

output = net(input)
target = torch.tensor(rng.standard_normal(10), dtype=torch.float32)
target = target.view(1, -1)
criterion = nn.MSELoss()
loss = criterion(output, target)
print(f"{loss.item():.5f}")

print(type(loss.grad_fn).__name__)  # MSELoss
print(type(loss.grad_fn.next_functions[0][0]).__name__)  # Linear
print(type(loss.grad_fn.next_functions[0][0].next_functions[0][0]).__name__)  # ReLU

net.zero_grad()
print("conv1.bias.grad before backward")
print(net.conv1.bias.grad)
loss.backward()
print("conv1.bias.grad after backward")
print([round(v, 5) for v in net.conv1.bias.grad.tolist()])

learning_rate = 0.01
with torch.no_grad():
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
print(f"{criterion(net(input), target).item():.5f}")

optimizer = optim.SGD(net.parameters(), lr=0.01)
for step in range(3):
    optimizer.zero_grad()
    output = net(input)
    loss = criterion(output, target)
    loss.backward()
    optimizer.step()
    print(step, f"{loss.item():.5f}")
