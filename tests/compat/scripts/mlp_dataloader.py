"""An MLP trained from a TensorDataset through a DataLoader ("Optimizing Model Parameters" style)."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
features = rng.standard_normal((96, 8)).astype(np.float32)
true_w = rng.standard_normal((8, 3)).astype(np.float32)
labels = (features @ true_w).argmax(axis=1)

dataset = TensorDataset(torch.from_numpy(features), torch.from_numpy(labels))
print(len(dataset), dataset[0][0].shape, dataset[0][1], dataset[0][1].dtype)
train_dataloader = DataLoader(dataset, batch_size=16, shuffle=False)
print(len(train_dataloader))
X, y = next(iter(train_dataloader))
print(f"Shape of X [N, C]: {X.shape}")
print(f"Shape of y: {y.shape} {y.dtype}")
loader_tail = DataLoader(dataset, batch_size=40, drop_last=False)
print([len(batch[0]) for batch in loader_tail])
print(len(DataLoader(dataset, batch_size=40, drop_last=True)))


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8, 32),
            nn.ReLU(),
            nn.Linear(32, 32),
            nn.Tanh(),
            nn.Linear(32, 3),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork()
print(model)
with torch.no_grad():
    for p in model.parameters():
        fan_in = p.shape[1] if p.dim() > 1 else p.shape[0]
        p.copy_(torch.tensor(rng.uniform(-1, 1, tuple(p.shape)) / np.sqrt(fan_in)))

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)


def train_loop(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 3 == 0:
            loss, current = loss.item(), batch * dataloader.batch_size + len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test_loop(dataloader, model, loss_fn):
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")


epochs = 4
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train_loop(train_dataloader, model, loss_fn, optimizer)
    test_loop(train_dataloader, model, loss_fn)
print("Done!")
