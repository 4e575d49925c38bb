"""Saving and loading: state_dict, torch.save/torch.load to a temporary directory, resuming."""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


class TheModelClass(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(4 * 3 * 3, 10)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        return self.fc1(torch.flatten(x, 1))


rng = np.random.default_rng(0)


def fill(model):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape))))


model = TheModelClass()
fill(model)
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
x = torch.tensor(rng.standard_normal((5, 3, 8, 8)), dtype=torch.float32)
target = torch.tensor(rng.integers(0, 10, 5))

print("Model's state_dict:")
for param_tensor in model.state_dict():
    print(param_tensor, "\t", model.state_dict()[param_tensor].size())

for step in range(3):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x), target)
    loss.backward()
    optimizer.step()
    model.steps += 1
    print(step, f"{loss.item():.5f}")

print("Optimizer's state_dict:")
for var_name in optimizer.state_dict():
    print(var_name, "\t", optimizer.state_dict()[var_name])
print(sorted(optimizer.state_dict()["state"][0]))

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "model.pt")
    torch.save(model.state_dict(), path)
    restored = TheModelClass()
    print(restored.load_state_dict(torch.load(path, weights_only=True)))
    restored.eval()
    print(int(restored.steps), torch.equal(restored(x), model(x)))

    ckpt = os.path.join(tmp, "checkpoint.tar")
    torch.save({"epoch": 3, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": loss.item()}, ckpt)
    checkpoint = torch.load(ckpt)
    resumed = TheModelClass()
    resumed_opt = optim.SGD(resumed.parameters(), lr=0.1)
    resumed.load_state_dict(checkpoint["model_state_dict"])
    resumed_opt.load_state_dict(checkpoint["optimizer_state_dict"])
    print(checkpoint["epoch"], f"{checkpoint['loss']:.5f}", resumed_opt.param_groups[0]["lr"],
          resumed_opt.param_groups[0]["momentum"])

    for step in range(2):
        for m, o in ((model, optimizer), (resumed, resumed_opt)):
            o.zero_grad()
            loss = nn.functional.cross_entropy(m(x), target)
            loss.backward()
            o.step()
        print(step, f"{loss.item():.5f}", torch.allclose(model.fc1.weight, resumed.fc1.weight))

    whole = os.path.join(tmp, "tensors.pt")
    torch.save([torch.arange(4), {"w": torch.ones(2, 2)}], whole)
    print(torch.load(whole))

missing = TheModelClass().load_state_dict({"fc1.weight": torch.zeros(10, 36)}, strict=False)
print(sorted(missing.missing_keys), missing.unexpected_keys)
try:
    TheModelClass().load_state_dict({"fc1.weight": torch.zeros(10, 36)})
except RuntimeError as e:
    print(type(e).__name__, str(e).splitlines()[0])
