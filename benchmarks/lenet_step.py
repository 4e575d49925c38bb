"""One LeNet-5 training step, numtorch next to PyTorch in one process.

Run from the repository root::

    PYTHONPATH=src:. python3 benchmarks/lenet_step.py [--threads N] [--rounds R] [batch ...]

The step is ``zero_grad``, forward, ``cross_entropy``, backward, SGD (lr 0.01, momentum 0.9) on
the same weights and data in both libraries (``benchmarks/models.py``). The two run in alternating
blocks (numtorch, torch, torch, numtorch, ..., 10 ms apart) so both see the same machine load;
the table shows the median milliseconds per step and the ratio ``torch time / numtorch time``
(>= 1 means numtorch is as fast or faster). ``--threads N`` calls ``torch.set_num_threads(N)``
(default: PyTorch's own default); numtorch keeps its default unless ``--nt-threads`` is given.

``--memory`` adds the peak memory of three steps at each batch, each library in a fresh process
(``benchmarks/memory.py``: resident-set growth over the steps for both, tracemalloc's peak for
numtorch).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.models import lenet5, make_batch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _step_fn(lib, batch, state):
    net = lenet5(lib)
    net.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    xa, ya = make_batch("lenet", batch)
    x, y = lib.tensor(xa), lib.tensor(ya)
    opt = lib.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    ce = lib.nn.functional.cross_entropy

    def step():
        opt.zero_grad()
        ce(net(x), y).backward()
        opt.step()

    return step


def _time_block(fn, reps):
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def compare(batch, rounds, numtorch, torch):
    """Median seconds per step of each library, timed in alternating blocks."""
    ref = lenet5(torch)
    state = {k: v.detach().numpy().copy() for k, v in ref.state_dict().items()}
    fns = {"numtorch": _step_fn(numtorch, batch, state), "torch": _step_fn(torch, batch, state)}
    reps = {}
    for name, fn in fns.items():  # warm up and size the blocks to ~20 ms
        fn()
        t = _time_block(fn, 3)
        reps[name] = max(1, int(0.02 / t))
    times = {k: [] for k in fns}
    order = ["numtorch", "torch"]
    for r in range(rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            # as in the suite: let the other library's spinning worker threads (torch's
            # OpenMP pool) go idle before timing, or they take the CPU from this block
            time.sleep(0.01)
            times[name].append(_time_block(fns[name], reps[name]))
    return {k: statistics.median(v) for k, v in times.items()}


def memory(batch):
    """Peak memory of three training steps per library, each in a fresh process."""
    out = {}
    path = os.environ.get("PYTHONPATH") or str(ROOT / "src")  # the numtorch being measured
    env = dict(os.environ, PYTHONPATH=f"{path}:{ROOT}")
    for lib in ("numtorch", "torch"):
        res = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--lib", lib, "--model",
                              "lenet", "--batch", str(batch)], capture_output=True, text=True,
                             cwd=ROOT, env=env, check=True)
        out[lib] = json.loads(res.stdout)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("batches", nargs="*", type=int, default=[1, 64, 256])
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--nt-threads", type=int, default=None, help="numtorch.set_num_threads")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--memory", action="store_true")
    args = p.parse_args(argv)
    import torch

    import numtorch
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.nt_threads:
        numtorch.set_num_threads(args.nt_threads)
    print(f"torch threads {torch.get_num_threads()}, numtorch threads "
          f"{numtorch.get_num_threads()}, load {os.getloadavg()[0]:.2f}")
    print("| batch | numtorch ms | torch ms | torch/numtorch |")
    print("|---:|---:|---:|---:|")
    for b in args.batches:
        m = compare(b, args.rounds, numtorch, torch)
        print(f"| {b} | {m['numtorch'] * 1e3:.2f} | {m['torch'] * 1e3:.2f} | "
              f"{m['torch'] / m['numtorch']:.2f} |", flush=True)
    if args.memory:
        print("\n| batch | numtorch rss_step MiB | numtorch traced MiB | torch rss_step MiB |")
        print("|---:|---:|---:|---:|")
        for b in args.batches:
            m = memory(b)
            nt, th = m["numtorch"], m["torch"]
            print(f"| {b} | {nt['rss_step'] / 2**20:.1f} | {nt['traced_peak'] / 2**20:.1f} | "
                  f"{th['rss_step'] / 2**20:.1f} |", flush=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
