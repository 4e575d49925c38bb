"""numtorch.distributed: every collective with 2 ranks under mpiexec, against expected values;
setup errors as PyTorch raises them; a dead, failing or absent rank ends the job within the
timeout."""

import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from distributed_helpers import RESULT, mpirun, needs_mpi, results

import numtorch
import numtorch.distributed as dist

COLLECTIVES = RESULT + """
import datetime
import numtorch as torch
import numtorch.distributed as dist

dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=30))
r, n = dist.get_rank(), dist.get_world_size()
out = {"rank": r, "size": n, "backend": dist.get_backend(), "init": dist.is_initialized()}

def base(dtype=torch.float64):
    return torch.arange(4, dtype=dtype) + 10 * r

for name, op in [("sum", dist.ReduceOp.SUM), ("avg", dist.ReduceOp.AVG),
                 ("min", dist.ReduceOp.MIN), ("max", dist.ReduceOp.MAX),
                 ("product", dist.ReduceOp.PRODUCT)]:
    t = base()
    dist.all_reduce(t, op=op)
    out["all_reduce_" + name] = t.tolist()
t = base(torch.int64); dist.all_reduce(t); out["all_reduce_int"] = [t.tolist(), str(t.dtype)]
t = base(torch.float32).reshape(2, 2).t()  # not contiguous: reduced through a copy
dist.all_reduce(t); out["all_reduce_strided"] = t.tolist()
t = base(); w = dist.all_reduce(t, async_op=True); w.wait()
out["all_reduce_async"] = [t.tolist(), w.is_completed(), [x.tolist() for x in w.result()]]
t = base(); dist.reduce(t, dst=1); out["reduce"] = t.tolist() if r == 1 else None
t = base(); dist.broadcast(t, src=1); out["broadcast"] = t.tolist()
lst = [torch.zeros(4, dtype=torch.float64) for _ in range(n)]
dist.all_gather(lst, base()); out["all_gather"] = [x.tolist() for x in lst]
o = torch.zeros(2 * 4, dtype=torch.float64); dist.all_gather_into_tensor(o, base())
out["all_gather_into_tensor"] = o.tolist()
gl = [torch.zeros(4, dtype=torch.float64) for _ in range(n)] if r == 0 else None
dist.gather(base(), gl, dst=0); out["gather"] = [x.tolist() for x in gl] if r == 0 else None
t = torch.zeros(4, dtype=torch.float64)
sl = [torch.full((4,), 100.0 + i, dtype=torch.float64) for i in range(n)] if r == 1 else None
dist.scatter(t, sl, src=1); out["scatter"] = t.tolist()
o = torch.zeros(2, dtype=torch.float64)
dist.reduce_scatter(o, [base()[:2], base()[2:]]); out["reduce_scatter"] = o.tolist()
o = torch.zeros(2, dtype=torch.float64)
dist.reduce_scatter_tensor(o, base()); out["reduce_scatter_tensor"] = o.tolist()
outs = [torch.zeros(1 + i, dtype=torch.float64) for i in range(n)]
ins = [torch.full((1 + r,), 10.0 * r + j, dtype=torch.float64) for j in range(n)]
dist.all_to_all(outs, ins); out["all_to_all"] = [x.tolist() for x in outs]
o = torch.zeros(4, dtype=torch.float64); dist.all_to_all_single(o, base())
out["all_to_all_single"] = o.tolist()
if r == 0:
    dist.send(torch.tensor([1.5, 2.5]), dst=1)
    w = dist.isend(torch.tensor([7, 8, 9]), dst=1); w.wait()
    b = torch.zeros(1); src = dist.recv(b); out["p2p"] = [b.tolist(), src]
else:
    a = torch.zeros(2); src = dist.recv(a, src=0)
    c = torch.zeros(3, dtype=torch.int64); w = dist.irecv(c, src=0); w.wait()
    dist.send(torch.tensor([42.0]), dst=0)
    out["p2p"] = [a.tolist(), c.tolist(), src]
dist.barrier()
objs = [{"from": r}, "x"] if r == 1 else [None, None]
dist.broadcast_object_list(objs, src=1); out["broadcast_object_list"] = objs
g = [None] * n; dist.all_gather_object(g, {"rank": r, "t": torch.tensor([r])})
out["all_gather_object"] = [[d["rank"], d["t"].tolist()] for d in g]
g = [None] * n if r == 0 else None; dist.gather_object(("r", r), g, dst=0)
out["gather_object"] = g
so = [None]; dist.scatter_object_list(so, [["a"], ["b"]] if r == 0 else None, src=0)
out["scatter_object_list"] = so
sub = dist.new_group([1])
if r == 1:
    t = base(); dist.all_reduce(t, group=sub)
    out["subgroup"] = [dist.get_rank(sub), dist.get_world_size(sub), t.tolist(),
                       dist.get_process_group_ranks(sub)]
else:
    out["subgroup"] = [sub is dist.GroupMember.NON_GROUP_MEMBER, dist.get_rank(sub)]
pair = dist.new_group([0, 1])
t = base(); dist.all_reduce(t, op=dist.ReduceOp.MAX, group=pair); out["pair"] = t.tolist()
dist.destroy_process_group()
out["after_destroy"] = dist.is_initialized()
report(r, out)
"""


@needs_mpi
def test_every_collective_with_two_ranks(tmp_path):
    got = results(mpirun(tmp_path, COLLECTIVES), tmp_path)
    assert sorted(got) == [0, 1]
    base = [np.arange(4.0) + 10 * r for r in range(2)]
    for r in range(2):
        g = got[r]
        assert (g["rank"], g["size"], g["backend"], g["init"]) == (r, 2, "gloo", True)
        assert g["all_reduce_sum"] == (base[0] + base[1]).tolist()
        assert g["all_reduce_avg"] == ((base[0] + base[1]) / 2).tolist()
        assert g["all_reduce_min"] == np.minimum(base[0], base[1]).tolist()
        assert g["all_reduce_max"] == np.maximum(base[0], base[1]).tolist()
        assert g["all_reduce_product"] == (base[0] * base[1]).tolist()
        assert g["all_reduce_int"] == [(base[0] + base[1]).astype(int).tolist(), "torch.int64"]
        assert g["all_reduce_strided"] == (base[0] + base[1]).reshape(2, 2).T.tolist()
        assert g["all_reduce_async"] == [(base[0] + base[1]).tolist(), True,
                                         [(base[0] + base[1]).tolist()]]
        assert g["broadcast"] == base[1].tolist()
        assert g["all_gather"] == [base[0].tolist(), base[1].tolist()]
        assert g["all_gather_into_tensor"] == np.concatenate(base).tolist()
        assert g["scatter"] == [100.0 + r] * 4
        assert g["reduce_scatter"] == (base[0] + base[1])[2 * r:2 * r + 2].tolist()
        assert g["reduce_scatter_tensor"] == (base[0] + base[1])[2 * r:2 * r + 2].tolist()
        # rank j sends [10 j + r] * (1 + j) to rank r
        assert g["all_to_all"] == [[10.0 * j + r] * (1 + j) for j in range(2)]
        assert g["all_to_all_single"] == np.concatenate(
            [base[j][2 * r:2 * r + 2] for j in range(2)]).tolist()
        assert g["broadcast_object_list"] == [{"from": 1}, "x"]
        assert g["all_gather_object"] == [[0, [0]], [1, [1]]]
        assert g["scatter_object_list"] == [["a"] if r == 0 else ["b"]]
        assert g["pair"] == np.maximum(base[0], base[1]).tolist()
        assert g["after_destroy"] is False
    assert got[1]["reduce"] == (base[0] + base[1]).tolist()
    assert got[0]["gather"] == [base[0].tolist(), base[1].tolist()]
    assert got[1]["gather_object"] is None
    assert got[0]["gather_object"] == [["r", 0], ["r", 1]]
    assert got[0]["p2p"] == [[42.0], 1]
    assert got[1]["p2p"] == [[1.5, 2.5], [7, 8, 9], 0]
    assert got[1]["subgroup"] == [0, 1, base[1].tolist(), [1]]
    assert got[0]["subgroup"] == [True, -1]


FAULT = """
import datetime, os, signal, sys, time
import numtorch as torch
import numtorch.distributed as dist

dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=float(sys.argv[2])))
t = torch.ones(3)
dist.all_reduce(t)
if dist.get_rank() == 1:
    mode = sys.argv[1]
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "raise":
        raise ValueError("rank 1 gives up")
    if mode == "leave":
        sys.exit(0)
dist.all_reduce(t)
print("rank", dist.get_rank(), "finished", flush=True)
"""


@needs_mpi
@pytest.mark.parametrize("mode, limit", [("kill", 60), ("raise", 60), ("leave", 2)])
def test_a_dead_or_failing_rank_ends_the_job_within_the_timeout(tmp_path, mode, limit):
    start = time.monotonic()
    proc = mpirun(tmp_path, FAULT, mode, limit, timeout=90)
    elapsed = time.monotonic() - start
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "finished" not in proc.stdout
    if mode == "raise":
        assert "ValueError: rank 1 gives up" in output
    if mode == "leave":  # rank 0 waits for a rank that is gone: it times out and says so
        assert "rank 0 timed out after 0:00:02 waiting for all_reduce" in output
        assert "DistBackendError" in output
    assert elapsed < limit + 30


NEVER_JOINS = """
import datetime, sys, time
import numtorch.distributed as dist
from numtorch.distributed import _mpi
if _mpi.launcher_env()[0] == 1:
    if sys.argv[1] == "raise":
        raise ImportError("rank 1 fails before init_process_group")
    time.sleep(8)  # a rank busy elsewhere, that never joins
    sys.exit(0)
dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=2))
print("rank 0 initialised")
"""


@needs_mpi
@pytest.mark.parametrize("mode", ["raise", "sleep"])
def test_a_rank_that_never_joins_fails_init_within_the_timeout(tmp_path, mode):
    start = time.monotonic()
    python = (sys.executable, "-m", "numtorch.run") if mode == "raise" else (sys.executable,)
    proc = mpirun(tmp_path, NEVER_JOINS, mode, timeout=90, python=python)
    assert proc.returncode != 0
    assert "rank 0 initialised" not in proc.stdout
    if mode == "raise":  # the failing rank takes the job down at once
        assert "ImportError: rank 1 fails before init_process_group" in proc.stderr
    else:  # rank 0 gives up after its timeout, saying why
        assert "rank 0 timed out after 2 s starting MPI" in proc.stderr
    assert time.monotonic() - start < 45


def test_errors_before_initialisation_are_pytorchs():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(numtorch.zeros(2))
    assert not dist.is_initialized()


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(backend="nccl"), ValueError,
     "Error initializing torch.distributed using env:// rendezvous: environment variable RANK "
     "expected, but not set"),
    (dict(backend="gloo"), ValueError,
     "Error initializing torch.distributed using env:// rendezvous: environment variable RANK "
     "expected, but not set"),
])
def test_init_errors_match_pytorch(monkeypatch, kwargs, error, message):
    for name in ("RANK", "WORLD_SIZE", "PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_RANK",
                 "OMPI_COMM_WORLD_SIZE", "PMIX_RANK"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(error) as got:
        dist.init_process_group(**kwargs)
    assert str(got.value) == message
    torch = pytest.importorskip("torch")
    with pytest.raises(error) as expected, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "NCCL support is not compiled"
        torch.distributed.init_process_group(**kwargs)
    assert str(expected.value) == message


def test_nccl_is_refused_as_pytorch_without_cuda_refuses_it(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    with pytest.raises(RuntimeError, match="^Distributed package doesn't have NCCL built in$"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def test_a_world_without_an_mpi_launcher_is_refused_with_the_way_to_start_it(monkeypatch):
    for name in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                 "PMIX_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="numtorch run --nproc-per-node 2"):
        dist.init_process_group("gloo")
    assert not dist.is_initialized()


def test_reduce_op_and_backend_names_as_pytorch():
    torch = pytest.importorskip("torch")
    for name in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR", "PREMUL_SUM"):
        ours, theirs = getattr(dist.ReduceOp, name), getattr(torch.distributed.ReduceOp, name)
        assert int(ours) == int(theirs) and repr(ours) == repr(theirs)
    assert dist.Backend("GLOO") == torch.distributed.Backend("GLOO") == "gloo"
    assert dist.default_pg_timeout == torch.distributed.default_pg_timeout
    assert issubclass(dist.DistBackendError, RuntimeError)


def test_without_mpi4py_the_error_names_the_extra():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import numtorch.distributed._mpi as m\n"
            "try:\n    m.mpi()\nexcept RuntimeError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env={"PYTHONPATH": str(numtorch.__path__[0] + "/..")})
    assert "pip install 'numtorch[distributed]'" in out.stdout, out.stderr


def test_node_local_rank_and_record_as_torchrun_programs_use_them(monkeypatch):
    from numtorch.distributed.elastic.multiprocessing.errors import record
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert dist.get_node_local_rank(fallback_rank=2) == 2
    with pytest.raises(RuntimeError, match="LOCAL_RANK is not in the environment"):
        dist.get_node_local_rank()
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert dist.get_node_local_rank() == 1

    @record
    def main(x):
        if x < 0:
            raise ValueError("negative")
        return x + 1

    assert main(1) == 2 and main.__name__ == "main"
    with pytest.raises(ValueError, match="negative"):
        main(-1)
    assert record()(lambda: 3)() == 3
