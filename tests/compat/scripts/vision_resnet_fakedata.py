"""The ImageNet example's loop on torchvision.datasets.FakeData with a torchvision ResNet-18:
FakeData through the DataLoader, then a forward/backward/SGD step of resnet18 on a NumPy-made
batch with NumPy-made weights (FakeData's pixels come from each library's own random stream)."""
import numpy as np
import torch
import torch.nn as nn
import torchvision.models as models
import torchvision.transforms as transforms
from torch.utils.data import DataLoader
from torchvision import datasets

normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
train_dataset = datasets.FakeData(12, (3, 64, 64), 10, transforms.Compose([
    transforms.RandomResizedCrop(48), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
    normalize]))
print(train_dataset)
loader = DataLoader(train_dataset, batch_size=4, shuffle=True)
for images, target in loader:
    print("batch", images.shape, images.dtype, target.shape, target.dtype,
          bool(((target >= 0) & (target < 10)).all()))

model = models.resnet18(num_classes=10)
print(type(model).__name__, sum(p.numel() for p in model.parameters()),
      list(model.state_dict())[:3], model.fc)
rng = np.random.default_rng(0)
state = {}
for name, value in model.state_dict().items():
    if name.endswith("num_batches_tracked"):
        state[name] = value
    elif name.endswith("running_var"):
        state[name] = torch.ones_like(value)
    else:
        scale = 0.05 if "weight" in name and value.dim() > 1 else 0.02
        state[name] = torch.from_numpy(
            (rng.standard_normal(tuple(value.shape)) * scale).astype(np.float32))
        if name.endswith("bn2.weight") or name.endswith("bn1.weight"):
            state[name] = state[name] + 1
model.load_state_dict(state)

criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), 0.02, momentum=0.9, weight_decay=1e-4)
images = torch.from_numpy(rng.standard_normal((8, 3, 64, 64)).astype(np.float32))
target = torch.from_numpy(rng.integers(0, 10, 8))
model.train()
for step in range(3):
    output = model(images)
    loss = criterion(output, target)
    optimizer.zero_grad()
    loss.backward()
    print(f"step {step} loss {loss.item():.4f} fc grad {model.fc.weight.grad.norm().item():.4f} "
          f"conv1 grad {model.conv1.weight.grad.norm().item():.4f}")
    optimizer.step()
model.eval()
with torch.no_grad():
    out = model(images)
print("eval", out.shape, out.dtype, bool(out.isfinite().all()))
