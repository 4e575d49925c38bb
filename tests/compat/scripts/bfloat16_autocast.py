"""bfloat16 tensors and CPU autocast: a linear model's forward under
torch.autocast("cpu", dtype=torch.bfloat16), the gradients back in float32, and GradScaler."""
import numpy as np
import torch
import torch.nn as nn

torch.set_printoptions(precision=4)
x = torch.tensor(np.linspace(-2, 2, 24).reshape(6, 4), dtype=torch.float32)
print(x.bfloat16())
print(x.to(torch.bfloat16).dtype, (x.bfloat16() + 1).dtype, (x.bfloat16() * x).dtype)
print(torch.ones(1000, dtype=torch.bfloat16).sum())

model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.tensor(np.sin(np.arange(p.numel()) + i).reshape(p.shape) * 0.5,
                             dtype=torch.float32))
target = torch.tensor([0, 1, 2, 0, 1, 2])
opt = torch.optim.SGD(model.parameters(), lr=0.05)
scaler = torch.amp.GradScaler("cpu", init_scale=256.0)
for step in range(3):
    opt.zero_grad()
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        out = model(x)
        loss = nn.functional.cross_entropy(out, target)
    print(step, out.dtype, loss.dtype, round(loss.item(), 4))
    scaler.scale(loss).backward()
    print(model[0].weight.grad.dtype, model[0].weight.grad.abs().sum().item() > 0)
    scaler.step(opt)
    scaler.update()
print(out.float())
print(scaler.get_scale())
half_model = nn.Linear(4, 2).bfloat16()
print(half_model.weight.dtype, half_model(x.bfloat16()).dtype)
