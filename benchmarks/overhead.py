"""Per-op overhead: microseconds per small op (forward + backward on tiny tensors),
numtorch next to PyTorch in the same process.

    python benchmarks/overhead.py
"""

import statistics
import time

import numpy as np

OPS = {
    "add": lambda t, a, b: a + b,
    "mul": lambda t, a, b: a * b,
    "matmul": lambda t, a, b: a @ b,
    "relu": lambda t, a, b: a.relu(),
    "sum": lambda t, a, b: a.sum(),
    "view": lambda t, a, b: a.view(-1),
    "exp": lambda t, a, b: a.exp(),
    "getitem": lambda t, a, b: a[1:3],
}


def _time(fn, repeat=7, number=300):
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(runs)


def measure(lib, name, backward):
    rng = np.random.default_rng(0)
    a0 = rng.standard_normal((4, 4)).astype(np.float32)
    b0 = rng.standard_normal((4, 4)).astype(np.float32)
    a = lib.tensor(a0, requires_grad=backward)
    b = lib.tensor(b0, requires_grad=backward)
    op = OPS[name]
    if backward:
        def step():
            op(lib, a, b).sum().backward()
    else:
        def step():
            op(lib, a, b)
    return _time(step)


def main():
    import numtorch
    try:
        import torch
    except ImportError:
        torch = None
    print(f"{'op':<10}{'mode':<10}{'numtorch µs':>13}{'torch µs':>10}{'torch/numtorch':>16}")
    for name in OPS:
        for backward in (False, True):
            mode = "fwd+bwd" if backward else "forward"
            nt = measure(numtorch, name, backward)
            if torch is not None:
                th = measure(torch, name, backward)
                print(f"{name:<10}{mode:<10}{nt:>13.2f}{th:>10.2f}{th / nt:>16.2f}")
            else:
                print(f"{name:<10}{mode:<10}{nt:>13.2f}{'-':>10}{'-':>16}")


if __name__ == "__main__":
    main()
