"""A GAN/VAE example's image dump: torchvision.utils.make_grid and save_image on a batch of
generated images, then the PNG read back with Pillow."""
import os
import tempfile

import numpy as np
import torch
import torchvision.utils as vutils
from PIL import Image
from torchvision.utils import make_grid, save_image

rng = np.random.default_rng(0)
fake = torch.from_numpy(rng.standard_normal((10, 3, 8, 8)).astype(np.float32))
digits = torch.from_numpy(rng.random((6, 1, 5, 5)).astype(np.float32))

grid = vutils.make_grid(fake, padding=2, normalize=True)
print("grid", grid.shape, grid.dtype, round(grid.sum().item(), 3), grid.min().item(),
      grid.max().item())
grid = make_grid(fake, nrow=4, padding=1, normalize=True, scale_each=True, pad_value=1.0)
print("grid scale_each", grid.shape, round(grid.mean().item(), 4))
grid = make_grid(digits, nrow=3, value_range=(0.2, 0.8), normalize=True)
print("grey grid", grid.shape, round(grid[:, 2:7, 2:7].mean().item(), 4),
      torch.equal(grid[0], grid[2]))
print("one image", make_grid(fake[:1]).shape, make_grid([fake[0], fake[1]]).shape)

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "samples.png")
    save_image(fake.mul(0.5).add(0.5), path, nrow=5)
    with Image.open(path) as img:
        pixels = np.asarray(img)
    print("saved", img.size, img.mode, pixels.dtype, int(pixels.sum()), int(pixels[5, 7, 1]))
    save_image(digits, os.path.join(tmp, "digits.png"), nrow=6, normalize=True)
    with Image.open(os.path.join(tmp, "digits.png")) as img:
        print("saved grey", img.size, img.mode, int(np.asarray(img).sum()))
