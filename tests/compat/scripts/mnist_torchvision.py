"""The classic torchvision MNIST recipe: datasets.MNIST with ToTensor + Normalize, a DataLoader,
a small convnet and a few SGD steps. (numtorch serves torchvision.datasets/transforms; without a
copy of MNIST under ./data it uses the 10,000-digit sample that ships with numtorch.)"""
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.fc1 = nn.Linear(16 * 12 * 12, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
root = os.path.join(tempfile.gettempdir(), "numtorch-compat-no-mnist-here")
dataset = datasets.MNIST(root, train=True, download=False, transform=transform)
image, label = dataset[0]
print(type(image).__name__, image.shape, image.dtype, type(label).__name__)
train_loader = DataLoader(Subset(dataset, range(256)), batch_size=64)

torch.manual_seed(1)
model = Net()
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
model.train()
losses = []
for batch_idx, (data, target) in enumerate(train_loader):
    optimizer.zero_grad()
    output = model(data)
    loss = F.nll_loss(output, target)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    print(f"Train batch {batch_idx}: {len(data)} images, loss finite: {loss.isfinite().item()}")
print("loss fell:", losses[-1] < losses[0])
