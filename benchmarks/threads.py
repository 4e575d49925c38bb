"""numtorch's default thread policy against one thread, pass by pass.

    PYTHONPATH=src python3 -m benchmarks.threads [--rounds 6] [--only add,relu]

The thread policy (``numtorch._threads.threads_for``) decides per op, from its size, whether a
helper thread shares the work; the aim is that the default is never slower than one thread.
This measures it: each pass (element-wise ops and their backwards, a few matrix products) at
sizes from 2**18 to 2**22 elements, on one thread (what ``numtorch.set_num_threads(1)`` sets)
and on the default, taking turns call by call in one process (the order reversed every other
round), medians of each case's timed calls, then the median over rounds. Reported per case:
both times and ``one thread / default`` (≥ 1: the default is no slower); cases where the
default is more than 10 % slower are marked.

Calls are a few hundred microseconds apart, so a helper sleeps between them as it does between
the ops of a model: waking it is part of what a shared pass costs. On a shared host the
numbers move by 10-20 % between runs; a policy change should be judged by cases that move
together, and by the model zoo (``benchmarks.paired``).
"""

import argparse
import sys
import time

import numpy as np

SIZES = tuple(1 << k for k in range(18, 23))
ROW = 256  # elements a row of the 2-D operands (softmax and layer norm reduce along it)


def _cases(torch, rng):
    """``{name: (make(size) -> call, sizes)}`` of the passes measured (sizes in elements; for
    the products, the side ``n``)."""
    F = torch.nn.functional

    def tensor(n, grad=False):
        return torch.tensor(rng.standard_normal((n // ROW, ROW)).astype(np.float32),
                            requires_grad=grad)

    def unary(fn):
        def make(n):
            x = tensor(n)
            return lambda: fn(x)
        return make

    def binary(fn):
        def make(n):
            a, b = tensor(n), tensor(n)
            return lambda: fn(a, b)
        return make

    def bias_add(n):
        a = tensor(n)
        b = torch.tensor(rng.standard_normal(ROW).astype(np.float32))
        return lambda: a + b

    def relu_backward(n):
        x, g = tensor(n, grad=True), tensor(n)

        def call():
            x.grad = None
            F.relu(x).backward(g)
        return call

    def layer_norm_backward(n):
        x, g = tensor(n, grad=True), tensor(n)

        def call():
            x.grad = None
            F.layer_norm(x, (ROW,)).backward(g)
        return call

    def product(side):
        a = torch.tensor(rng.standard_normal((side, side)).astype(np.float32))
        b = torch.tensor(rng.standard_normal((side, side)).astype(np.float32))
        return lambda: a @ b

    element_wise = {
        "add": binary(lambda a, b: a + b),
        "mul": binary(lambda a, b: a * b),
        "add bias (broadcast rows)": bias_add,
        "clone (never shared: the noise floor)": unary(lambda x: x.clone()),
        "relu": unary(F.relu),
        "relu backward": relu_backward,
        "sigmoid": unary(torch.sigmoid),
        "gelu": unary(F.gelu),
        "softmax": unary(lambda x: F.softmax(x, -1)),
        "layer_norm": unary(lambda x: F.layer_norm(x, (ROW,))),
        "layer_norm backward": layer_norm_backward,
        "dropout": unary(lambda x: F.dropout(x, 0.2)),
    }
    cases = {name: (make, SIZES) for name, make in element_wise.items()}
    # square products of 2-17 M multiply-adds, around numtorch._threads.FLOPS_PER_THREAD
    cases["matmul, n x n @ n x n"] = (product, (128, 160, 200, 256))
    return cases


def _time(call, settings, calls=20):
    """Median seconds of ``call`` under each of ``settings`` (callables that apply one), the
    settings taking turns call by call, so that each is timed after the others' calls as
    often (a shared pass leaves half its output in the other core's cache, which slows the
    next pass that touches that memory, whichever setting runs it)."""
    times = [[] for _ in settings]
    for i in range(calls + 2):
        for k, apply in enumerate(settings):
            apply()
            time.sleep(0.0003)  # (as between a model's ops: a helper goes back to sleep)
            t0 = time.perf_counter()
            call()
            if i >= 2:  # (two warm-up turns)
                times[k].append(time.perf_counter() - t0)
    return [float(np.median(t)) for t in times]


def measure(rounds=6, only=None):
    """``[(case, size, one-thread seconds, default seconds)]``: medians over ``rounds`` of the
    per-round medians, one thread and the default taking turns call by call (the first of
    the two alternating between rounds)."""
    import numtorch
    from numtorch import _threads

    rng = np.random.default_rng(0)
    cases = _cases(numtorch, rng)
    if only:
        cases = {k: v for k, v in cases.items() if any(o in k for o in only)}
        if not cases:
            raise SystemExit(f"error: no case matches {', '.join(only)}")
    calls = {(name, n): make(n) for name, (make, sizes) in cases.items() for n in sizes}
    saved = _threads._requested

    def one():
        _threads._requested = 1  # (BLAS stays on its one thread either way)

    def default():
        _threads._requested = saved

    samples = {key: ([], []) for key in calls}
    try:
        for r in range(rounds):
            for key, call in calls.items():
                if r % 2 == 0:
                    t_one, t_default = _time(call, (one, default))
                else:
                    t_default, t_one = _time(call, (default, one))
                samples[key][0].append(t_one)
                samples[key][1].append(t_default)
    finally:
        _threads._requested = saved
    return [(name, n, float(np.median(one)), float(np.median(default)))
            for (name, n), (one, default) in samples.items()]


def _fmt(seconds):
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


def table(rows, threads):
    lines = [f"Default: up to {threads} threads. Ratio = one thread / default (≥ 1: the default "
             "is no slower); † more than 10 % slower.", "",
             "| pass | elements | one thread | default | ratio |", "|---|---:|---:|---:|---:|"]
    for name, n, one, default in rows:
        ratio = one / default
        mark = " †" if ratio < 0.9 else ""
        size = f"2^{n.bit_length() - 1}" if n & (n - 1) == 0 and n > 1024 else f"n = {n}"
        lines.append(f"| {name} | {size} | {_fmt(one)} | {_fmt(default)} | {ratio:.2f}{mark} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.threads",
                                description="numtorch's default threads against one thread, "
                                            "pass by pass.")
    p.add_argument("--rounds", type=int, default=6, help="rounds (default 6)")
    p.add_argument("--only", help="comma-separated parts of case names")
    args = p.parse_args(argv)
    if args.rounds < 1:
        raise SystemExit("error: --rounds must be at least 1")
    import numtorch

    rows = measure(args.rounds, args.only.split(",") if args.only else None)
    print(table(rows, numtorch.get_num_threads()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
