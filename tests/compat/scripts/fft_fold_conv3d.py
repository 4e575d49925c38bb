"""torch.fft on a signal (spectrum, filtering, gradients), Unfold/Fold patches, Conv3d, and the
foreach ops optimizers use."""
import numpy as np
import torch
import torch.nn as nn

torch.set_printoptions(precision=4)
t = np.linspace(0, 1, 16, endpoint=False)
sig = torch.tensor(np.sin(2 * np.pi * 3 * t) + 0.5 * np.cos(2 * np.pi * 5 * t),
                   dtype=torch.float64, requires_grad=True)
spec = torch.fft.rfft(sig)
print(spec.abs().round(decimals=4))
print(torch.fft.rfftfreq(16, d=1 / 16))
low = torch.fft.irfft(spec * (torch.fft.rfftfreq(16, d=1 / 16) < 4), n=16)
print(low.detach().round(decimals=4))
(low ** 2).sum().backward()
print(sig.grad.round(decimals=4))
z = torch.fft.fft2(torch.tensor(np.arange(12.0).reshape(3, 4)), norm="ortho")
print(torch.view_as_real(z).round(decimals=4))
print(torch.fft.fftshift(torch.fft.fftfreq(6)))

img = torch.tensor(np.arange(2 * 3 * 5 * 5, dtype=np.float32).reshape(2, 3, 5, 5))
patches = nn.Unfold(kernel_size=2, stride=1)(img)
print(patches.shape, nn.Fold((5, 5), 2)(patches)[0, 0])
vol = torch.tensor(np.cos(np.arange(2 * 2 * 4 * 5 * 5)).reshape(2, 2, 4, 5, 5),
                   dtype=torch.float32)
conv = nn.Conv3d(2, 3, kernel_size=(2, 3, 3), padding=(0, 1, 1))
with torch.no_grad():
    conv.weight.copy_(torch.tensor(np.sin(np.arange(conv.weight.numel())).reshape(
        conv.weight.shape) * 0.1, dtype=torch.float32))
    conv.bias.fill_(0.05)
print(conv, conv(vol).shape, round(conv(vol).sum().item(), 3))

params = [torch.ones(2), torch.full((3,), 2.0)]
grads = [torch.full((2,), 0.5), torch.full((3,), -1.0)]
torch._foreach_add_(params, grads, alpha=-0.1)
torch._foreach_mul_(params, 0.9)
print(params, torch._foreach_norm(grads))
