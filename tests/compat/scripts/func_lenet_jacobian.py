"""The Jacobian of LeNet's ten outputs with respect to its input image (torch.func.jacrev and
torch.autograd.functional.jacobian), checked row by row against ordinary backward passes."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import jacrev


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


net = Net()
rng = np.random.default_rng(0)
with torch.no_grad():
    for p in net.parameters():
        fan_in = p[0].numel() if p.dim() > 1 else p.shape[0]
        bound = 1 / np.sqrt(fan_in)
        p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape)).astype(np.float32)))

image = torch.tensor(rng.standard_normal((1, 32, 32)), dtype=torch.float32)


def logits(img):
    return net(img.unsqueeze(0)).squeeze(0)


jac = jacrev(logits)(image)
print(tuple(jac.shape), jac.dtype)
print([round(v, 4) for v in jac.flatten(1).norm(dim=1).tolist()])
print([round(v, 4) for v in jac.sum(dim=(1, 2, 3)).tolist()])

jac2 = torch.autograd.functional.jacobian(logits, image)
print(tuple(jac2.shape), torch.allclose(jac, jac2, atol=1e-6))

x = image.clone().requires_grad_()
out = logits(x)
rows = [torch.autograd.grad(out[k], x, retain_graph=True)[0] for k in range(10)]
print(torch.allclose(jac, torch.stack(rows), atol=1e-6))
