"""Data-parallel LeNet-5 training throughput: numtorch DDP on MPI next to PyTorch DDP on gloo.

Run from the repository root::

    PYTHONPATH=src:. python3 -m benchmarks.ddp_lenet [--steps N] [--ranks 1,2] [--no-torch]
    PYTHONPATH=src python3 -m benchmarks --ddp

One program (``WORKER`` below, written for PyTorch) trains LeNet-5 (``benchmarks/models.py``) with
``DistributedDataParallel`` at batch 64 per rank: SGD (lr 0.01, momentum 0.9), a few warm-up
steps, then ``--steps`` timed steps between two barriers. It runs under ``numtorch run
--nproc-per-node N`` (numtorch serves ``import torch``; the ranks talk through MPI) and under
``torchrun --nproc-per-node N`` (PyTorch, gloo), one thread per rank in both, as torchrun sets.
The table shows images per second (all ranks together, ``N * 64 * steps / seconds`` measured by
rank 0) and, per library, the speed-up of 2 ranks over 1. On a machine that other work keeps
busy the wall-clock speed-up says little, so the CPU time one rank spends per step is shown too:
``2 * cpu(1 rank) / cpu(2 ranks)`` is the speed-up 2 idle cores would allow.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CPU_MS = {}  # (library, ranks): CPU milliseconds one rank spends on one step of 64 images

WORKER = r'''
import sys, time
sys.path.insert(0, {root!r})
import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from benchmarks.models import lenet5

steps, warmup, batch = {steps}, {warmup}, 64
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = DDP(lenet5(torch))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
rng = np.random.default_rng(rank)
x = torch.tensor(rng.standard_normal((batch, 1, 32, 32)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, 10, batch))

def step():
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()

for _ in range(warmup):
    step()
dist.barrier()
start, cpu = time.perf_counter(), time.process_time()
for _ in range(steps):
    step()
cpu = torch.tensor([time.process_time() - cpu], dtype=torch.float64)
dist.barrier()
seconds = time.perf_counter() - start
dist.all_reduce(cpu)
if rank == 0:
    print(f"IMAGES_PER_SECOND {{world * batch * steps / seconds:.1f}}", flush=True)
    print(f"CPU_MS_PER_STEP {{1000 * cpu.item() / (world * steps):.2f}}", flush=True)
dist.destroy_process_group()
'''


def _env(threads=1):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)]
                                        + [p for p in [env.get("PYTHONPATH")] if p])
    env["OMP_NUM_THREADS"] = str(threads)
    env["NUMTORCH_NUM_THREADS"] = str(threads)
    return env


def measure(library, ranks, steps=30, warmup=5, timeout=600):
    """Images per second of ``library`` (``"numtorch"`` or ``"torch"``) with ``ranks`` ranks,
    or ``None`` (and the reason) when it cannot run here."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "ddp_worker.py"
        script.write_text(WORKER.format(root=str(ROOT), steps=steps, warmup=warmup))
        env = _env()
        if library == "numtorch":
            cmd = [sys.executable, "-m", "numtorch.run", "--nproc-per-node", str(ranks),
                   str(script)]
        else:
            torchrun = shutil.which("torchrun")
            if torchrun is None:
                return None, "torchrun not found"
            cmd = [torchrun, "--nproc-per-node", str(ranks), "--tee", "3", str(script)]
            env["PYTHONPATH"] = str(ROOT)  # real torch, not numtorch's compat
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    found = re.search(r"IMAGES_PER_SECOND ([\d.]+)", proc.stdout)
    cpu = re.search(r"CPU_MS_PER_STEP ([\d.]+)", proc.stdout)
    if proc.returncode != 0 or found is None:
        return None, (proc.stdout + proc.stderr)[-2000:]
    CPU_MS[library, ranks] = float(cpu.group(1)) if cpu else None
    return float(found.group(1)), ""


def run(ranks=(1, 2), steps=30, with_torch=True, progress=None):
    """``({(library, ranks): images_per_second}, markdown_table)``."""
    libraries = ["numtorch"] + (["torch"] if with_torch else [])
    found = {}
    for n in ranks:
        for library in libraries:
            value, why = measure(library, n, steps)
            found[(library, n)] = value
            if progress:
                progress(f"ddp lenet5 {library} {n} rank(s): "
                         + (f"{value:.0f} images/s" if value else f"failed: {why}"))
    return found, table(found, ranks, libraries)


def table(found, ranks, libraries):
    def cell(v):
        return "n/a" if v is None else f"{v:,.0f}"

    lines = ["### DDP LeNet-5 training throughput (images/s, batch 64 per rank)", "",
             "| ranks | " + " | ".join(libraries) + " | numtorch / torch |",
             "|---|" + "---|" * (len(libraries) + 1)]
    for n in ranks:
        values = [found.get((lib, n)) for lib in libraries]
        ratio = "n/a"
        if len(values) > 1 and values[0] and values[1]:
            ratio = f"{values[0] / values[1]:.2f}"
        lines.append(f"| {n} | " + " | ".join(cell(v) for v in values) + f" | {ratio} |")
    if 1 in ranks and 2 in ranks:
        speedups, cpu = [], []
        for lib in libraries:
            one, two = found.get((lib, 1)), found.get((lib, 2))
            speedups.append(f"{lib} {two / one:.2f}x" if one and two else f"{lib} n/a")
            c1, c2 = CPU_MS.get((lib, 1)), CPU_MS.get((lib, 2))
            if c1 and c2:
                cpu.append(f"{lib} {c1:.1f} ms with 1 rank, {c2:.1f} ms with 2 "
                           f"(at most {2 * c1 / c2:.2f}x on 2 idle cores)")
        lines += ["", "2 ranks over 1: " + ", ".join(speedups)]
        if cpu:
            lines += ["", "CPU time of one rank's step: " + "; ".join(cpu)]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.ddp_lenet", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=30, help="timed steps per run (default 30)")
    p.add_argument("--ranks", default="1,2", help="rank counts to run (default 1,2)")
    p.add_argument("--no-torch", action="store_true", help="measure numtorch only")
    args = p.parse_args(argv)
    ranks = [int(r) for r in args.ranks.split(",")]
    _, text = run(ranks, args.steps, not args.no_torch,
                  progress=lambda line: print(line, file=sys.stderr))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
