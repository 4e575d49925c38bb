"""DistributedSampler gives PyTorch's index lists, rank by rank, epoch by epoch."""

import pytest

import numtorch
from numtorch.utils.data import DistributedSampler

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("n", [0, 1, 7, 10, 101, 1000])
@pytest.mark.parametrize("replicas", [1, 2, 3])
@pytest.mark.parametrize("shuffle, drop_last", [(True, False), (True, True), (False, False),
                                                (False, True)])
def test_index_lists_equal_pytorchs(n, replicas, shuffle, drop_last):
    from torch.utils.data import DistributedSampler as TorchSampler
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=shuffle, seed=3,
                                  drop_last=drop_last)
        theirs = TorchSampler(range(n), replicas, rank, shuffle=shuffle, seed=3,
                              drop_last=drop_last)
        for epoch in (0, 1, 5):
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs)
            assert len(ours) == len(theirs)


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 + 7, 2**40 + 3])
def test_permutation_is_torch_randperm_with_a_seeded_generator(seed):
    for n in (2, 50, 60000):
        g = torch.Generator()
        g.manual_seed(seed)
        ours = numtorch.randperm(n, generator=numtorch.Generator().manual_seed(seed))
        assert ours.tolist() == torch.randperm(n, generator=g).tolist()


def test_invalid_rank_is_pytorchs_error():
    from torch.utils.data import DistributedSampler as TorchSampler
    for rank in (2, -1):
        with pytest.raises(ValueError) as ours:
            DistributedSampler(range(4), num_replicas=2, rank=rank)
        with pytest.raises(ValueError) as theirs:
            TorchSampler(range(4), num_replicas=2, rank=rank)
        assert str(ours.value) == str(theirs.value)


def test_without_a_process_group_the_rank_must_be_given():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedSampler(range(4))
