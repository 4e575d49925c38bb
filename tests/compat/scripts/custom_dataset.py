"""A map-style Dataset written by hand ("Datasets & DataLoaders" / "Writing Custom Datasets"):
__len__/__getitem__ returning dicts, a transform, default and custom collate_fn, samplers,
Subset/ConcatDataset/random_split lengths."""
import numpy as np
import torch
from torch.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, SequentialSampler,
                              Subset, random_split)


class PointsDataset(Dataset):
    """Points with a label; `transform` is applied to each sample, as in the tutorial."""

    def __init__(self, n, transform=None):
        rng = np.random.default_rng(n)
        self.points = rng.standard_normal((n, 3)).astype(np.float32)
        self.labels = (self.points.sum(axis=1) > 0).astype(np.int64)
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        if torch.is_tensor(idx):
            idx = idx.tolist()
        sample = {"point": self.points[idx], "label": self.labels[idx], "index": idx}
        if self.transform:
            sample = self.transform(sample)
        return sample


class ToTensor:
    def __call__(self, sample):
        return {"point": torch.from_numpy(sample["point"]),
                "label": torch.tensor(sample["label"]), "index": sample["index"]}


dataset = PointsDataset(10, transform=ToTensor())
print(len(dataset), dataset[3]["point"].shape, dataset[3]["label"].dtype)
loader = DataLoader(dataset, batch_size=4)
for i_batch, sample_batched in enumerate(loader):
    print(i_batch, sorted(sample_batched), sample_batched["point"].size(),
          sample_batched["label"].tolist(), sample_batched["index"])

raw = PointsDataset(10)
batch = next(iter(DataLoader(raw, batch_size=3)))
print(type(batch["point"]).__name__, batch["point"].dtype, batch["label"].dtype,
      batch["index"].dtype)


def pad_collate(samples):
    points = torch.stack([torch.as_tensor(s["point"]) for s in samples])
    return points.sum(dim=1), len(samples)


print([(tuple(s.shape), n) for s, n in DataLoader(raw, batch_size=4, collate_fn=pad_collate)])
tuples = DataLoader([(i, float(i) / 2, f"s{i}") for i in range(5)], batch_size=2)
print([b for b in tuples])
print(list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False)))
print(list(DataLoader(range(7), batch_sampler=BatchSampler(range(7), 3, True))))

sub = Subset(raw, [0, 2, 4])
both = ConcatDataset([sub, raw])
print(len(sub), len(both), both[3]["index"], both[2]["index"])
train, val = random_split(raw, [0.7, 0.3], generator=torch.Generator().manual_seed(42))
print(len(train), len(val), sorted(train.indices + val.indices) == list(range(10)))
shuffled = DataLoader(raw, batch_size=5, shuffle=True)
seen = sorted(int(i) for b in shuffled for i in b["index"])
print(seen == list(range(10)), len(shuffled))
