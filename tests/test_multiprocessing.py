"""numtorch.multiprocessing: shared tensors are one memory across processes (fork, spawn,
Queue); Hogwild training of one shared model by several processes; spawn reports failures."""

import copy
import importlib.util
import io
import multiprocessing as std_mp
import os
import pickle
import shutil
import time

import pytest

import numtorch
import numtorch.multiprocessing as mp
import numtorch.nn as nn
import numtorch.nn.functional as F


def _add_one(tensor):
    tensor.add_(1)


def _receive_and_add(queue, done):
    t = queue.get()
    t.add_(10)
    done.put(t.is_shared())


def _fails(i):
    if i == 1:
        raise ValueError(f"process {i} fails")


def _exits(i):
    os._exit(3 if i == 0 else 0)


def _tutorial_rank(rank, world_size, directory):
    import numtorch.distributed as dist
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "localhost", "12355"
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    t = numtorch.tensor([rank + 1.0])
    dist.all_reduce(t)
    with open(os.path.join(directory, f"rank{rank}.txt"), "w") as f:
        f.write(f"{dist.get_rank()} {dist.get_world_size()} {t.item()}")
    dist.destroy_process_group()


def _rank_fails(rank, directory):
    import numtorch.distributed as dist
    dist.init_process_group("gloo", rank=rank, world_size=2)
    if rank == 1:
        raise RuntimeError("rank 1 broke")
    dist.barrier()  # never passes: the parent ends the job


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def _hogwild_train(rank, model, x, y):
    numtorch.manual_seed(rank)
    opt = numtorch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(40):
        idx = numtorch.randint(0, x.shape[0], (16,))
        opt.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()


def test_share_memory_moves_data_in_place_and_keeps_values():
    t = numtorch.arange(6.0).reshape(2, 3)
    assert not t.is_shared()
    assert t.share_memory_() is t
    assert t.is_shared() and t.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert t[1].is_shared()  # a view of shared memory is shared
    t.share_memory_()  # already there: nothing changes
    assert not copy.deepcopy(t).is_shared()
    buffer = io.BytesIO()
    numtorch.save(t, buffer)  # a checkpoint holds the values, not the handle
    buffer.seek(0)
    loaded = numtorch.load(buffer)
    assert loaded.tolist() == t.tolist() and not loaded.is_shared()
    assert not pickle.loads(pickle.dumps(t)).is_shared()


@pytest.mark.parametrize("method", ["fork", pytest.param("spawn", marks=pytest.mark.slow)])
def test_a_child_writes_into_the_parents_shared_tensor(method):
    ctx = mp.get_context(method)
    t = numtorch.zeros(3).share_memory_()
    p = ctx.Process(target=_add_one, args=(t,))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert t.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.slow
def test_a_shared_tensor_travels_through_a_queue_as_a_handle():
    ctx = mp.get_context("spawn")
    queue, done = ctx.Queue(), ctx.Queue()
    t = numtorch.ones(4, dtype=numtorch.float64).share_memory_()
    p = ctx.Process(target=_receive_and_add, args=(queue, done))
    p.start()
    queue.put(t)
    assert done.get(timeout=60) is True
    p.join(60)
    assert t.tolist() == [11.0] * 4


def test_hogwild_processes_train_one_shared_model():
    numtorch.manual_seed(0)
    model = _Net()
    model.share_memory()
    assert all(p.is_shared() for p in model.parameters())
    g = numtorch.Generator().manual_seed(0)
    x = numtorch.randn(256, 8, generator=g)
    y = (x.sum(1) > 0).long()
    before = F.cross_entropy(model(x), y).item()
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_hogwild_train, args=(r, model, x, y)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    after = F.cross_entropy(model(x), y).item()
    assert after < 0.7 * before  # the parent's model learned from the children's steps


def test_spawn_runs_each_index_and_raises_a_childs_error():
    with pytest.raises(mp.ProcessRaisedException) as raised:
        mp.spawn(_fails, nprocs=2, start_method="fork")
    assert "-- Process 1 terminated with the following error:" in str(raised.value)
    assert "ValueError: process 1 fails" in str(raised.value)
    with pytest.raises(mp.ProcessExitedException, match="process 0 terminated with exit code 3"):
        mp.spawn(_exits, nprocs=2, start_method="fork")
    assert std_mp.active_children() == []


needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or shutil.which("mpiexec") is None,
    reason="needs mpi4py and mpiexec")


@needs_mpi
@pytest.mark.slow
def test_spawn_starts_ranks_that_can_form_a_process_group(tmp_path):
    """PyTorch's DDP tutorial: mp.spawn + init_process_group(rank=rank, world_size=n)."""
    mp.spawn(_tutorial_rank, args=(2, str(tmp_path)), nprocs=2, join=True)
    assert [(tmp_path / f"rank{r}.txt").read_text() for r in range(2)] == ["0 2 3.0",
                                                                          "1 2 3.0"]
    start = time.monotonic()
    with pytest.raises(mp.ProcessRaisedException) as raised:
        mp.spawn(_rank_fails, args=(str(tmp_path),), nprocs=2)
    assert "-- Process 1 terminated with the following error:" in str(raised.value)
    assert "RuntimeError: rank 1 broke" in str(raised.value)
    assert time.monotonic() - start < 60


def test_module_reexports_multiprocessing():
    assert mp.Queue is not None and mp.Process is std_mp.Process
    assert mp.get_sharing_strategy() == "file_system"
    with pytest.raises(ValueError, match="file_system"):
        mp.set_sharing_strategy("file_descriptor")
