"""Compare settings of numtorch's tuning constants on one zoo model, alternating in one process.

    PYTHONPATH=src python3 -m benchmarks.paired resnet8 '{}' \\
        '{"numtorch.ops.conv:_WINOGRAD_CL_MIN_CHANNELS": 32}' [--rounds 20] [--steps 8]

Each argument after the model is a configuration: a JSON object mapping ``module:NAME`` (or a
bare ``NAME`` of ``numtorch.ops.conv``) to the value to set, or ``"threads"`` to a thread count
(what ``numtorch.set_num_threads`` sets: ``'{"threads": 1}' '{"threads": 2}'`` measures how a
step scales with the second thread). The first is the reference. Every
round runs each configuration in turn (in reverse order every other round, so that none always
comes first), two warm-up steps and then ``--steps`` timed training steps, and keeps the
median. Reported per configuration: the median and fastest of its round medians, and against
the reference the median of the paired differences and in how many rounds it was the faster.

Why: on a shared 2-core host the same step drifts by 15-30 % between processes, more than most
tuning changes; runs side by side in one process, round by round, see differences of a few
percent (a threshold that made ResNet-8's step 4 % faster won 23 of 32 rounds, while a block
size that separate processes had measured 7-15 % faster won 9 of 24). Constants read once at
import into other names are not changed by setting them here.
"""

import argparse
import importlib
import json
import sys
import time

import numpy as np

from .zoo import ZOO, zoo_setup

_DEFAULT_MODULE = "numtorch.ops.conv"
# the thread cap ``numtorch.set_num_threads`` sets (None: the usable CPUs)
_THREADS = "numtorch._threads:_requested"


def _targets(config):
    """``[(module, name, value)]`` of one configuration; an unknown name is an error."""
    out = []
    for key, value in config.items():
        if key == "threads":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SystemExit(f"error: threads must be a positive integer, not {value!r}")
            key = _THREADS
        module_name, _, name = key.rpartition(":")
        module = importlib.import_module(module_name or _DEFAULT_MODULE)
        if not hasattr(module, name):
            raise SystemExit(f"error: {module.__name__} has no attribute {name!r}")
        out.append((module, name, value))
    return out


def compare(model, configs, rounds=12, steps=8):
    """Round medians (ms) of a training step of zoo ``model`` under each of ``configs``
    (lists of ``(module, name, value)``), alternating as the module docstring says; the
    constants are restored afterwards. Returns one list of ``rounds`` medians per config."""
    import numtorch

    saved = [(m, n, getattr(m, n)) for config in configs for m, n, _ in config]
    step = zoo_setup(model)(numtorch)
    for _ in range(3):
        step()
    medians = [[] for _ in configs]
    order = list(range(len(configs)))
    try:
        for r in range(rounds):
            for i in (order if r % 2 == 0 else order[::-1]):
                for m, n, v in saved:  # (each configuration starts from the defaults)
                    setattr(m, n, v)
                for m, n, v in configs[i]:
                    setattr(m, n, v)
                step()
                step()
                times = []
                for _ in range(steps):
                    t0 = time.perf_counter()
                    step()
                    times.append(time.perf_counter() - t0)
                medians[i].append(float(np.median(times)) * 1e3)
    finally:
        for m, n, v in saved:
            setattr(m, n, v)
    return medians


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.paired",
                                description="Compare tuning constants on a zoo model, "
                                            "alternating in one process.")
    p.add_argument("model", choices=sorted(ZOO), help="the zoo model to train")
    p.add_argument("configs", nargs="+", metavar="JSON",
                   help='configurations, e.g. \'{}\' \'{"numtorch.ops.conv:_WINOGRAD": false}\'; '
                        "the first is the reference")
    p.add_argument("--rounds", type=int, default=12, help="rounds (default 12)")
    p.add_argument("--steps", type=int, default=8, help="timed steps a round (default 8)")
    args = p.parse_args(argv)
    try:
        configs = [json.loads(c) for c in args.configs]
    except json.JSONDecodeError as e:
        raise SystemExit(f"error: a configuration is not JSON: {e}") from None
    if not all(isinstance(c, dict) for c in configs):
        raise SystemExit("error: each configuration must be a JSON object")
    if args.rounds < 1 or args.steps < 1:
        raise SystemExit("error: --rounds and --steps must be at least 1")
    medians = compare(args.model, [_targets(c) for c in configs], args.rounds, args.steps)
    reference = np.array(medians[0])
    for text, m in zip(args.configs, medians):
        m = np.array(m)
        diff = m - reference
        print(f"{text:60s} median {np.median(m):8.2f} ms  fastest {m.min():8.2f} ms  "
              f"vs first {np.median(diff):+7.2f} ms, faster in {(diff < 0).sum()}/{len(m)} "
              "rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
