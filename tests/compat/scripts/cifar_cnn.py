"""The blitz's CIFAR-10 classifier on random CIFAR-shaped images: a few SGD steps."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

classes = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


rng = np.random.default_rng(0)
net = Net()
with torch.no_grad():
    for p in net.parameters():
        fan_in = p[0].numel() if p.dim() > 1 else p.shape[0]
        p.copy_(torch.tensor(rng.uniform(-1, 1, tuple(p.shape)) / np.sqrt(fan_in)))
print(net)

images = torch.tensor(rng.uniform(-1, 1, (16, 3, 32, 32)), dtype=torch.float32)
labels = torch.tensor(rng.integers(0, 10, 16))
print(images.shape, images.dtype, labels.shape, labels.dtype)
print("GroundTruth:", " ".join(f"{classes[labels[j]]:5s}" for j in range(4)))

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

for epoch in range(2):
    running_loss = 0.0
    for i in range(4):
        inputs, targets = images[4 * i:4 * i + 4], labels[4 * i:4 * i + 4]
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        print(f"[{epoch + 1}, {i + 1:5d}] loss: {loss.item():.4f}")
    print(f"epoch {epoch + 1} mean loss: {running_loss / 4:.4f}")

with torch.no_grad():
    outputs = net(images)
    print(outputs.shape, outputs.requires_grad)
    probabilities = F.softmax(outputs, dim=1)
    print([round(v, 4) for v in probabilities[0].tolist()])
    _, predicted = torch.max(outputs, 1)
    correct = (predicted == labels).sum().item()
    print(f"accuracy on the 16 images: {100 * correct // labels.size(0)} %")
