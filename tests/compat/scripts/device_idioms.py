"""The boilerplate most PyTorch programs start with: pick a device, set seeds and flags, move the
model and the batches, evaluate under no_grad/inference_mode, print with chosen options."""
import random

import numpy as np
import torch
import torch.backends.cudnn as cudnn
import torch.nn as nn

device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"Using {device} device")
device = torch.device(device)
print(device, device.type, torch.cuda.device_count())
print(torch.backends.mps.is_available())
torch.backends.cudnn.benchmark = False
torch.backends.cudnn.deterministic = True
cudnn.benchmark = True
print(cudnn.benchmark)
random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
torch.set_num_threads(1)
print(torch.get_default_dtype(), torch.is_grad_enabled())

model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).to(device)
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.linspace(-0.5, 0.5, p.numel()).reshape(p.shape) * (i + 1))
print(next(model.parameters()).device, next(model.parameters()).dtype)
print(sum(p.numel() for p in model.parameters() if p.requires_grad))

x = torch.tensor(np.linspace(-1, 1, 20).reshape(5, 4), dtype=torch.float32)
x = x.to(device, non_blocking=True)
print(x.is_cuda, x.device, x.cpu().numpy().shape)

model.eval()
with torch.inference_mode():
    out = model(x)
print(out.requires_grad, out.shape)
with torch.no_grad():
    out2 = model(x)
print(torch.allclose(out, out2), out.argmax(dim=1).tolist())

double = model.double()
print(double[0].weight.dtype, double(x.double()).dtype)
model.float()
half_tensor = x.half()
print(half_tensor.dtype, x.to(torch.float64).dtype, x.type(torch.int64).dtype)

torch.set_printoptions(precision=2)
print(out)
torch.set_printoptions(profile="default")
print(out[:2])
print(x.size(), x.size(1), x.ndim, x.dim(), x.numel(), len(x))
print(torch.is_tensor(x), isinstance(x, torch.Tensor), torch.is_floating_point(x))
print(x.T.contiguous().is_contiguous(), x.clone().data_ptr() != x.data_ptr())
