"""Peak memory of one training step, measured in a fresh process per library.

    PYTHONPATH=src:. python3 -m benchmarks.memory --lib numtorch --model lenet --batch 256

Prints one JSON object. What the numbers mean:

* ``rss_step`` — resident-set high-water mark during a few training steps minus the resident set
  just before the first of them (bytes). The model, the input batch and a warm-up step of a
  separate copy of the model at batch 2 already lie behind: the tiny warm-up takes each
  library's one-time set-up out of the step's number (numtorch imports numba and loads its
  compiled kernels on the first convolution, about 110 MiB of compiler code; torch initialises
  its kernels) without leaving large freed blocks behind; that code is counted in
  ``rss_peak``. The measurement covers what the steps add: activations, saved tensors,
  gradients, momentum buffers and temporaries, plus whatever the C allocator keeps after freeing
  (numtorch keeps up to 64 MiB of freed heap for reuse, see ``numtorch._malloc``;
  torch runs with glibc's defaults).
  The high-water mark is reset through ``/proc/self/clear_refs`` (Linux); where that is not
  possible it falls back to ``ru_maxrss``, which also counts earlier peaks (``hwm_reset`` false).
  The same method is applied to both libraries.
* ``rss_peak`` — the process's resident-set high-water mark from start to end (bytes):
  interpreter, library code (including what the warm-up step loads), model and steps together.
* ``traced_peak`` (numtorch only) — ``tracemalloc``'s peak over the same number of steps of a
  second, freshly built model (traced after the RSS pass, so tracing costs do not enter the RSS
  numbers): the most memory allocated by Python and NumPy during the steps that was alive at one
  time. NumPy reports its data buffers to ``tracemalloc``; PyTorch does not,
  so there is no such number for torch.
"""

import argparse
import importlib
import json
import resource
import tracemalloc

from .models import MODELS, make_batch


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_hwm():
    """Reset the kernel's peak-RSS counter for this process; False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _rss():
    try:
        return _status_kib("VmRSS") * 1024
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _hwm():
    try:
        return _status_kib("VmHWM") * 1024
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _training(lib, model, batch):
    """A fresh model, optimizer and batch, and the zero-argument training step over them."""
    net = MODELS[model](lib)
    xa, ya = make_batch(model, batch)
    x, y = lib.tensor(xa), lib.tensor(ya)
    opt = lib.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    F = lib.nn.functional

    def step():
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    return step


def measure(lib_name, model="lenet", batch=256, steps=3, trace=True, warmup=1):
    """Build ``model`` with ``lib_name``, run ``warmup`` steps of a copy at batch 2, then
    ``steps`` training steps on one batch, measuring memory from just before the first of those.
    Returns a dict of byte counts (see the module docstring)."""
    lib = importlib.import_module(lib_name)
    if warmup:
        tiny = _training(lib, model, 2)
        for _ in range(warmup):
            tiny()
        del tiny
    step = _training(lib, model, batch)
    peak_so_far = _hwm()
    reset = _reset_hwm()
    before = _rss()
    for _ in range(steps):
        step()
    out = {"lib": lib_name, "model": model, "batch": batch, "steps": steps, "warmup": warmup,
           "hwm_reset": reset, "rss_before": before, "rss_peak": max(peak_so_far, _hwm())}
    out["rss_step"] = out["rss_peak"] - before if not warmup else _hwm() - before
    if trace and lib_name != "torch":
        step = _training(lib, model, batch)
        tracemalloc.start()
        for _ in range(steps):
            step()
        out["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lib", default="numtorch", choices=["numtorch", "torch"])
    p.add_argument("--model", default="lenet", choices=sorted(MODELS))
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    args = p.parse_args(argv)
    print(json.dumps(measure(args.lib, args.model, args.batch, steps=args.steps,
                             warmup=args.warmup)))


if __name__ == "__main__":
    main()
