"""The CIFAR-10 tutorial's data pipeline on a miniature of the official python archive (same
file names and pickled dicts, made here with NumPy): download=True finds the archive already in
./data, checks it and unpacks it; the train split goes through the usual augmentation."""
import hashlib
import os
import pickle
import shutil
import tarfile
import tempfile

import numpy as np
import torch
import torchvision
import torchvision.transforms as transforms

rng = np.random.default_rng(0)
root = tempfile.mkdtemp()
batches = os.path.join(root, "staging", "cifar-10-batches-py")
os.makedirs(batches)


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


sums = {}
for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
    entry = {"batch_label": name, "data": rng.integers(0, 256, (8, 3072), dtype=np.uint8),
             "labels": rng.integers(0, 10, 8).tolist(),
             "filenames": [f"{name}_{i}.png" for i in range(8)]}
    with open(os.path.join(batches, name), "wb") as f:
        pickle.dump(entry, f, protocol=2)
    sums[name] = md5(os.path.join(batches, name))
with open(os.path.join(batches, "batches.meta"), "wb") as f:
    pickle.dump({"label_names": ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse",
                                 "ship", "truck"], "num_cases_per_batch": 8}, f, protocol=2)
archive = os.path.join(root, "cifar-10-python.tar.gz")
with tarfile.open(archive, "w:gz") as tar:
    tar.add(batches, arcname="cifar-10-batches-py")

# the checksums of this miniature instead of the published ones
CIFAR10 = torchvision.datasets.CIFAR10
CIFAR10.tgz_md5 = md5(archive)
CIFAR10.train_list = [[n, sums[n]] for n, _ in CIFAR10.train_list]
CIFAR10.test_list = [["test_batch", sums["test_batch"]]]
CIFAR10.meta = {**CIFAR10.meta, "md5": md5(os.path.join(batches, "batches.meta"))}

normalize = transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
trainset = CIFAR10(root=root, train=True, download=True, transform=transforms.Compose([
    transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
    transforms.ToTensor(), normalize]))
testset = CIFAR10(root=root, train=False, download=True,
                  transform=transforms.Compose([transforms.ToTensor(), normalize]))
print(len(trainset), len(testset), trainset.classes, trainset.class_to_idx["cat"])
print(trainset.data.shape, trainset.data.dtype, trainset.targets[:10], testset.targets)
print("\n".join(line for line in repr(testset).splitlines() if "Root" not in line))
trainloader = torch.utils.data.DataLoader(trainset, batch_size=16, shuffle=True)
testloader = torch.utils.data.DataLoader(testset, batch_size=4, shuffle=False)
for images, labels in trainloader:
    print("train", images.shape, images.dtype, labels.dtype, bool(images.abs().max() < 3))
for images, labels in testloader:
    print("test", images.shape, labels.tolist(), round(images.mean().item(), 4),
          round(images[:, 2].std().item(), 4))
img, label = CIFAR10(root=root, train=False)[3]
print(type(img).__name__, img.size, img.mode, label, np.asarray(img)[5, 6].tolist())
shutil.rmtree(root)
