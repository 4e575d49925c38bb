"""Convolution and pooling on LeNet-5's shapes, numtorch against PyTorch (forward + backward).

Run: ``PYTHONPATH=src python3 benchmarks/bench_conv_pool.py [--cpu] [batch ...]`` from the
repository root. Each case runs alternately in both libraries; the table shows median
milliseconds and the ratio PyTorch time / numtorch time (>= 1 means numtorch is as fast or
faster). ``--cpu`` measures process CPU time with one thread in both libraries (numtorch's
convolution workers and BLAS limited through threadpoolctl): a fairer comparison on a machine
shared with other jobs, where wall-clock times mostly measure the other jobs.
"""

import contextlib
import sys
import time

import numpy as np

import numtorch

try:
    import torch
except ImportError:  # pragma: no cover - the comparison needs PyTorch
    torch = None


def _cases(lib, n, rng):
    """``name -> zero-argument callable`` running forward + backward of one LeNet piece."""
    F = lib.nn.functional

    def t(shape, grad=False):
        return lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=grad)

    x1 = t((n, 1, 32, 32))
    w1, b1 = t((6, 1, 5, 5), True), t((6,), True)
    x2 = t((n, 6, 14, 14), True)
    w2, b2 = t((16, 6, 5, 5), True), t((16,), True)
    p1 = t((n, 6, 28, 28), True)
    p2 = t((n, 16, 10, 10), True)
    g1, g2 = t((n, 6, 28, 28)), t((n, 16, 10, 10))
    gp1, gp2 = t((n, 6, 14, 14)), t((n, 16, 5, 5))

    def conv1():
        F.conv2d(x1, w1, b1).backward(g1)

    def conv2():
        F.conv2d(x2, w2, b2).backward(g2)

    def pool1():
        F.max_pool2d(p1, 2).backward(gp1)

    def pool2():
        F.max_pool2d(p2, 2).backward(gp2)

    def features():
        y = F.max_pool2d(F.relu(F.conv2d(x1, w1, b1)), 2)
        y = F.max_pool2d(F.relu(F.conv2d(y, w2, b2)), 2)
        y.backward(gp2)

    def conv1_nograd():
        with lib.no_grad():
            F.conv2d(x1, w1, b1)

    return {"conv1 fwd+bwd": conv1, "conv2 fwd+bwd": conv2, "maxpool1 fwd+bwd": pool1,
            "maxpool2 fwd+bwd": pool2, "conv-relu-pool x2 fwd+bwd": features,
            "conv1 no_grad fwd": conv1_nograd}


_clock = time.perf_counter


def _time(fn, reps):
    out = []
    for _ in range(reps):
        t0 = _clock()
        fn()
        out.append(_clock() - t0)
    return out


def _single_thread():
    """One thread in both libraries (and CPU time): PyTorch's intra-op threads, numtorch's
    convolution workers and NumPy's BLAS (the last two through threadpoolctl)."""
    global _clock
    _clock = time.process_time
    if torch is not None:
        torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    numtorch.set_num_threads(1)  # its convolutions split a batch among worker threads otherwise
    return threadpool_limits(1)


def run(batches=(1, 64, 256), reps=30):
    rows = []
    for n in batches:
        ours = _cases(numtorch, n, np.random.default_rng(0))
        theirs = _cases(torch, n, np.random.default_rng(0)) if torch is not None else {}
        for name, fn in ours.items():
            other = theirs.get(name)
            fn()
            if other is not None:
                other()
            ts_n, ts_t = [], []
            for _ in range(5):  # alternate in blocks so both see the same machine load
                ts_n += _time(fn, reps // 5)
                if other is not None:
                    ts_t += _time(other, reps // 5)
            mn = float(np.median(ts_n)) * 1e3
            mt = float(np.median(ts_t)) * 1e3 if ts_t else float("nan")
            rows.append((n, name, mn, mt, mt / mn))
    print(f"{'batch':>5}  {'case':<28}{'numtorch ms':>12}{'torch ms':>10}{'torch/nt':>10}")
    for n, name, mn, mt, r in rows:
        print(f"{n:>5}  {name:<28}{mn:>12.3f}{mt:>10.3f}{r:>10.2f}")
    return rows


if __name__ == "__main__":
    args = sys.argv[1:]
    ctx = _single_thread() if "--cpu" in args else contextlib.nullcontext()
    with ctx:
        run(tuple(int(a) for a in args if a != "--cpu") or (1, 64, 256))
