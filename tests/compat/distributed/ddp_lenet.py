"""A data-parallel LeNet program written for PyTorch, launched with torchrun.

    torchrun --nproc-per-node 2 ddp_lenet.py
    numtorch run --nproc-per-node 2 ddp_lenet.py

Data and starting weights come from NumPy, so both libraries start from the same numbers. Each
rank reads its share of the data through DistributedSampler; every rank prints its losses.
"""

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def main():
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    rng = np.random.default_rng(0)
    images = torch.tensor(rng.standard_normal((96, 1, 28, 28)), dtype=torch.float32)
    labels = torch.tensor(rng.integers(0, 10, 96))
    model = LeNet()
    with torch.no_grad():
        for p in model.parameters():  # rank 1 starts elsewhere: DDP copies rank 0's weights
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.1 + rank,
                                 dtype=torch.float32))
    ddp = DDP(model)
    sampler = DistributedSampler(TensorDataset(images, labels), seed=7)
    loader = DataLoader(TensorDataset(images, labels), batch_size=8, sampler=sampler)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        first = next(iter(sampler))
        total = 0.0
        for x, y in loader:
            opt.zero_grad()
            loss = F.cross_entropy(ddp(x), y)
            loss.backward()
            opt.step()
            total += loss.item()
        summed = torch.tensor([total])
        dist.all_reduce(summed)
        print(f"rank {rank} epoch {epoch} first index {first} local loss {total:.5f} "
              f"all ranks {summed.item():.5f}")
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    print(f"rank {rank} weights sum {weights.sum().item():.5f} norm {weights.norm().item():.5f}")
    if rank == 0:
        print("state_dict keys", list(ddp.state_dict())[:2])
    dist.barrier()  # both ranks done before teardown (torch's gloo can abort at exit otherwise)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
