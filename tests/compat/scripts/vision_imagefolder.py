"""A fine-tuning recipe's data side: torchvision.datasets.ImageFolder over a directory of PNG and
JPEG files, training transforms (RandomResizedCrop, ColorJitter, RandomGrayscale, GaussianBlur,
RandomApply) and deterministic evaluation transforms through a DataLoader."""
import os
import shutil
import tempfile

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

rng = np.random.default_rng(0)
root = tempfile.mkdtemp()
for cls, count in (("ants", 3), ("bees", 2), ("wasps", 3)):
    os.makedirs(os.path.join(root, cls))
    for i in range(count):
        pixels = rng.integers(0, 256, (40 + 4 * i, 50, 3), dtype=np.uint8)
        ext = "jpg" if i == 1 else "png"
        Image.fromarray(pixels).save(os.path.join(root, cls, f"img{i}.{ext}"))
open(os.path.join(root, "ants", "README.txt"), "w").close()

train_tf = transforms.Compose([
    transforms.RandomResizedCrop(24),
    transforms.RandomHorizontalFlip(),
    transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
    transforms.RandomGrayscale(p=0.2),
    transforms.GaussianBlur(3),
    transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
])
eval_tf = transforms.Compose([
    transforms.Resize(32), transforms.CenterCrop(28), transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
train = datasets.ImageFolder(root, train_tf)
evaluation = datasets.ImageFolder(root, eval_tf)
print(train.classes, train.class_to_idx, len(train), train.targets)
print([os.path.relpath(p, root) for p, _ in train.samples])
print(train_tf)

for images, labels in DataLoader(train, batch_size=4, shuffle=True):
    print("train batch", images.shape, images.dtype, sorted(labels.tolist()) == sorted(
        labels.tolist()), bool(images.abs().max() < 3))
for images, labels in DataLoader(evaluation, batch_size=4):
    print("eval batch", images.shape, labels.tolist(), round(images.mean().item(), 4),
          round(images[:, 1].std().item(), 4))

img = Image.open(train.samples[0][0]).convert("RGB")
print("jitter", np.asarray(TF.adjust_hue(TF.adjust_saturation(img, 1.5), 0.2)).sum(),
      np.asarray(TF.adjust_contrast(TF.adjust_brightness(img, 0.7), 1.3)).sum())
x = TF.to_tensor(img)
print("tensor ops", TF.resized_crop(x, 2, 3, 20, 30, [10, 12]).shape,
      round(TF.gaussian_blur(x, 5, 1.2).sum().item(), 2),
      round(TF.rgb_to_grayscale(x).mean().item(), 4), TF.hflip(x).shape,
      round(TF.rotate(x, 30.0).sum().item(), 2))
print("size", TF.get_image_size(img), TF.get_dimensions(x))
shutil.rmtree(root)
print("done")
