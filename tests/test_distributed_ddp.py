"""DistributedDataParallel and SyncBatchNorm with 2 ranks: training equals one process on the
concatenated batches; a checkpoint of rank 0 loads into a plain model. DataParallel in process."""

import pytest
from distributed_helpers import RESULT, mpirun, needs_mpi, results

import numtorch
import numtorch.nn as nn
from numtorch.nn.parallel import DataParallel, DistributedDataParallel, data_parallel

LENET = RESULT + """
import copy, sys
import numpy as np
import numtorch as torch
import numtorch.distributed as dist
import numtorch.nn.functional as F
from numtorch.nn.parallel import DistributedDataParallel as DDP
from tutorial_net import lenet

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
out = {}
for name in ("float64", "float32"):
    dtype = getattr(torch, name)
    torch.manual_seed(10 + rank)  # different weights on each rank: DDP starts from rank 0's
    model = lenet(torch).to(dtype)
    ref = copy.deepcopy(model)  # rank 0's copy is the single-process reference
    # float32 in small buckets: several all-reduces started during backward
    ddp = DDP(model, bucket_cap_mb=None if name == "float64" else 0.05)
    out[name + "_buckets"] = len(ddp._buckets)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    per = 8
    for step in range(20):
        x = rng.standard_normal((per * world, 1, 32, 32))
        y = rng.integers(0, 10, per * world)
        mine = slice(rank * per, (rank + 1) * per)
        opt.zero_grad()
        F.cross_entropy(ddp(torch.tensor(x[mine], dtype=dtype)), torch.tensor(y[mine])).backward()
        opt.step()
        ref_opt.zero_grad()
        F.cross_entropy(ref(torch.tensor(x, dtype=dtype)), torch.tensor(y)).backward()
        ref_opt.step()
    if rank == 0:
        out[name] = max(float((a - b).abs().max())
                        for a, b in zip(model.parameters(), ref.parameters()))
        torch.save(ddp.state_dict(), f"ddp_{name}.pt")
        torch.save(model.state_dict(), f"plain_{name}.pt")
    everyone = [None] * world
    dist.all_gather_object(everyone, [p.detach().numpy() for p in model.parameters()])
    out[name + "_same"] = all(np.array_equal(a, b) for a, b in zip(*everyone))

# no_sync: gradients accumulate locally, the next synchronised backward averages the sum
torch.manual_seed(0)
lin = torch.nn.Linear(3, 1, bias=False).double()
ddp = DDP(lin)
x = torch.full((1, 3), float(rank + 1), dtype=torch.float64)
with ddp.no_sync():
    ddp(x).sum().backward()
out["no_sync_local"] = lin.weight.grad.tolist()
ddp(x).sum().backward()
out["after_sync"] = lin.weight.grad.tolist()

# find_unused_parameters: a branch used by rank 1 only
class Branchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(2, 1, bias=False)
        self.b = torch.nn.Linear(2, 1, bias=False)
        self.never = torch.nn.Linear(2, 1, bias=False)
    def forward(self, x, use_b):
        return self.a(x) + (self.b(x) if use_b else 0)

torch.manual_seed(0)
m = Branchy().double()
ddp = DDP(m, find_unused_parameters=True)
for _ in range(2):
    m.zero_grad()
    ddp(torch.ones(1, 2, dtype=torch.float64), use_b=rank == 1).sum().backward()
out["unused"] = [m.a.weight.grad.tolist(), m.b.weight.grad.tolist(), m.never.weight.grad]

# without find_unused_parameters the next forward says what went wrong, as in PyTorch
torch.manual_seed(0)
m = Branchy().double()
ddp = DDP(m)
ddp(torch.ones(1, 2, dtype=torch.float64), use_b=False).sum().backward()
try:
    ddp(torch.ones(1, 2, dtype=torch.float64), use_b=False)
    out["unfinished"] = None
except RuntimeError as e:
    out["unfinished"] = str(e).split(".")[0]

# SyncBatchNorm on 2 ranks equals BatchNorm on the concatenated batch
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 1), torch.nn.BatchNorm2d(3)).double()
ref = copy.deepcopy(net)
sync = DDP(torch.nn.SyncBatchNorm.convert_sync_batchnorm(net))
x = torch.tensor(np.random.default_rng(5).standard_normal((8, 2, 4, 4)))
y = sync(x[rank * 4:(rank + 1) * 4])
(y * y).mean().backward()
yr = ref(x)
(yr * yr).mean().backward()
out["syncbn"] = [float((y - yr[rank * 4:(rank + 1) * 4]).abs().max()),
                 float((net[1].running_var - ref[1].running_var).abs().max()),
                 float((net[1].running_mean - ref[1].running_mean).abs().max()),
                 max(float((p.grad - q.grad).abs().max())
                     for p, q in zip(net.parameters(), ref.parameters())),
                 type(net[1]).__name__]
report(rank, out)
"""


@needs_mpi
@pytest.mark.slow
def test_ddp_lenet_equals_one_process_on_the_whole_batch(tmp_path):
    got = results(mpirun(tmp_path, LENET, timeout=300), tmp_path)
    r0, r1 = got[0], got[1]
    assert r0["float64"] <= 1e-10
    assert r0["float32"] <= 1e-5
    assert r0["float64_buckets"] == 1 and r0["float32_buckets"] >= 3
    assert r0["float64_same"] and r0["float32_same"] and r1["float64_same"]
    # the checkpoint rank 0 saved (keys with "module.") loads into a plain LeNet
    from tutorial_net import lenet
    for name in ("float64", "float32"):
        state = numtorch.load(tmp_path / f"ddp_{name}.pt")
        plain = numtorch.load(tmp_path / f"plain_{name}.pt")
        assert all(k.startswith("module.") for k in state)
        model = lenet(numtorch).to(getattr(numtorch, name))
        stripped = {k[len("module."):]: v for k, v in state.items()}
        model.load_state_dict(stripped)
        for k, v in model.state_dict().items():
            assert numtorch.equal(v, plain[k])
    # no_sync: rank r's local gradient is x = r + 1; after sync: mean over ranks of 2 (r + 1)
    assert r0["no_sync_local"] == [[1.0] * 3] and r1["no_sync_local"] == [[2.0] * 3]
    assert r0["after_sync"] == r1["after_sync"] == [[3.0] * 3]
    # a: used by both ranks; b: rank 1 only (rank 0 contributes zero); never: stays None
    for r in (r0, r1):
        assert r["unused"] == [[[1.0, 1.0]], [[0.5, 0.5]], None]
        assert r["unfinished"] == ("Expected to have finished reduction in the prior iteration "
                                   "before starting a new one")
        out, running_var, running_mean, grads, kind = r["syncbn"]
        assert kind == "SyncBatchNorm"
        assert max(out, running_var, running_mean) < 1e-12 and grads < 1e-12


BUFFERS = RESULT + """
import warnings
import numtorch as torch
import numtorch.distributed as dist
from numtorch.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
rank = dist.get_rank()
out = {}


def net():
    bn = torch.nn.BatchNorm1d(2)
    bn.running_mean.fill_(float(rank + 1))  # rank-local buffers
    return bn


for name, kwargs in (("default", {}), ("broadcast_false", {"broadcast_buffers": False}),
                     ("forward_false", {"forward_sync_buffers": False}),
                     ("both", {"broadcast_buffers": True, "forward_sync_buffers": False})):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bn = net()
        ddp = DDP(bn, **kwargs)
    at_init = bn.running_mean.tolist()
    bn.running_mean.fill_(float(10 * (rank + 1)))
    ddp.eval()
    ddp(torch.zeros(2, 2))
    out[name] = [at_init, bn.running_mean.tolist(), ddp.broadcast_buffers,
                 [(w.category.__name__, str(w.message)[:40]) for w in caught]]

lin = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.Linear(512, 512))
out["caps"] = [[len(b.params) for b in DDP(lin, bucket_cap_mb_list=caps)._buckets]
               for caps in ([1, 2], [3])]
ddp = DDP(lin, bucket_cap_mb_list=[1, 2])
out["cap_attrs"] = [ddp.bucket_bytes_cap, ddp.bucket_bytes_cap_list]
report(rank, out)
"""


@needs_mpi
def test_ddp_buffer_sync_flags_and_per_bucket_caps_follow_torch(tmp_path):
    got = results(mpirun(tmp_path, BUFFERS), tmp_path)
    deprecated = ("FutureWarning", "`broadcast_buffers` is deprecated. Use `")
    both = ("FutureWarning", "Both `broadcast_buffers` and `forward_sy")
    for rank, r in got.items():
        mine_init, mine_later = [float(rank + 1)] * 2, [float(10 * (rank + 1))] * 2
        # [buffers after construction, after a forward, broadcast_buffers, warnings]
        assert r["default"] == [[1.0, 1.0], [10.0, 10.0], True, []]
        assert r["broadcast_false"] == [mine_init, mine_later, False, [list(deprecated)]]
        assert r["forward_false"] == [[1.0, 1.0], mine_later, False, []]
        assert r["both"] == [[1.0, 1.0], mine_later, False, [list(both)]]
        # 1 MiB per 512x512 float32 weight: a single 3 MiB cap holds all four parameters,
        # [1, 2] MiB caps split them (which parameters share a bucket changes no number)
        small, large = r["caps"]
        assert len(small) > 1 and sum(small) == 4 and large == [4]
        assert r["cap_attrs"] == [2 * 1024 * 1024, [1024 * 1024, 2 * 1024 * 1024]]


def test_ddp_needs_an_initialised_process_group():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedDataParallel(nn.Linear(2, 2))


def test_data_parallel_runs_the_module_and_prefixes_its_state_dict():
    torch = pytest.importorskip("torch")
    numtorch.manual_seed(0)
    model = nn.Linear(3, 2)
    dp = DataParallel(model)
    x = numtorch.randn(4, 3)
    assert numtorch.equal(dp(x), model(x))
    assert numtorch.equal(data_parallel(model, x), model(x))
    assert dp.module is model
    theirs = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert list(dp.state_dict()) == list(theirs.state_dict()) == ["module.weight", "module.bias"]
    assert nn.DataParallel is DataParallel


def test_convert_sync_batchnorm_keeps_parameters_and_buffers():
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm1d(2)))
    net[1].running_mean.fill_(3.0)
    net.eval()
    weight = net[1].weight
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert type(converted[1]) is nn.SyncBatchNorm and type(converted[2][0]) is nn.SyncBatchNorm
    assert converted[1].weight is weight and converted[1].running_mean.tolist() == [3.0, 3.0]
    assert not converted[1].training
    # without a process group (or in eval) it is batch norm
    bn, sync = nn.BatchNorm2d(2), nn.SyncBatchNorm(2)
    x = numtorch.randn(4, 2, 3, 3)
    assert numtorch.allclose(bn(x), sync(x))
    assert numtorch.allclose(bn.running_var, sync.running_var)
