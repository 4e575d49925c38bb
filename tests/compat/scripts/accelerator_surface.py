"""The surface current example programs touch before any model code: torch.accelerator, matmul
precision, finfo/iinfo, Tensor.new and the backend predicates, torch.testing.assert_close, and a
minGPT-style infinite RandomSampler."""
import numpy as np
import torch
from torch.testing import assert_close
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

device = (torch.accelerator.current_accelerator().type
          if torch.accelerator.is_available() else "cpu")
print(f"Using {device} device", torch.accelerator.device_count())
torch.set_float32_matmul_precision("high")
print(torch.get_float32_matmul_precision())

print(torch.finfo(torch.float32))
print(torch.finfo(torch.bfloat16).eps, torch.finfo(torch.float16).max, torch.finfo().tiny)
print(torch.iinfo(torch.int32), torch.iinfo(torch.uint8).max)
x = torch.tensor(np.arange(6.0).reshape(2, 3))
print(x.is_xpu, x.is_sparse, x.is_cuda, x.new(2, 4).shape, x.new([1, 2]).dtype)
print(x.new([[1.5, 2.5]]))

assert_close(x, x + 1e-9)
for args in ((x, x + 0.5), (torch.tensor([1, 2]), torch.tensor([1, 3])), (x, x.float())):
    try:
        assert_close(*args)
    except AssertionError as e:
        print(str(e).splitlines()[0])

data = TensorDataset(torch.tensor(np.arange(40.0).reshape(20, 2)))
sampler = RandomSampler(data, replacement=True, num_samples=int(1e10))
loader = DataLoader(data, batch_size=4, sampler=sampler)
print(len(sampler))
for step, (batch,) in enumerate(loader):
    assert batch.shape == (4, 2) and bool((batch[:, 1] - batch[:, 0] == 1).all())
    if step == 5:
        break
print("drew", step + 1, "batches")
