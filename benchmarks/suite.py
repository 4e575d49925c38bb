"""The benchmark suite: numtorch next to PyTorch, in the same process, as one markdown table.

Every timed case builds the same work in both libraries (same code, same weights, same data),
warms both up, then times them in alternating blocks (numtorch, torch, torch, numtorch, …) so
both see the same machine load, and reports the median time per call of each and the ratio
``torch time / numtorch time`` (≥ 1 means numtorch is as fast or faster). Memory and import
time run in fresh subprocesses, one per library.
"""

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .models import MODELS, make_batch
from .zoo import ZOO, zoo_setup

ROOT = Path(__file__).resolve().parents[1]

TRAIN = "training step (zero_grad, forward, cross_entropy, backward, SGD momentum 0.9)"
INFER = "inference (eval, no_grad forward) and, for reference, a forward that records the graph"
MICRO = "forward + backward on LeNet-5's shapes, batch 64"
OPTIM = "optimizer step alone on LeNet-5's parameters (gradients preset)"
OVERHEAD = "per-op overhead on 4×4 float32 tensors (benchmarks/overhead.py's ops)"
MEMORY = "memory of LeNet-5 training steps at batch 256 (fresh process per library)"
ZOO_SECTION = ("model zoo: one training step (zero_grad, forward, loss, backward, the model's "
               "optimizer)")
IMPORT = "import time (fresh process, in-process timer around the import)"


@dataclass
class Settings:
    """How hard to measure: ``budget`` seconds per library per case (scaled by each case's
    weight), at least ``min_rounds`` alternating blocks, blocks of at least ``block`` seconds,
    ``pause`` seconds of sleep before each block when two libraries alternate (PyTorch's OpenMP
    workers keep spinning for a while after its calls; without the pause they steal the CPU from
    whatever runs next, which on a loaded 2-core machine made numtorch's LeNet batch-1 step look
    twice as slow as when it runs alone)."""

    quick: bool = False
    budget: float = 0.6
    min_rounds: int = 5
    block: float = 0.02
    warmup: float = 0.05
    imports: int = 5
    pause: float = 0.01
    libs: dict = field(default_factory=dict)

    @classmethod
    def make(cls, quick=False, with_torch=True):
        import numtorch
        libs = {"numtorch": numtorch}
        if with_torch:
            try:
                import torch
            except ImportError:  # pragma: no cover - the comparison needs PyTorch
                torch = None
            if torch is not None:
                libs["torch"] = torch
        if quick:
            return cls(True, budget=0.02, min_rounds=2, block=0.0, warmup=0.0, imports=1,
                       pause=0.0, libs=libs)
        return cls(libs=libs)


@dataclass
class Result:
    """One row: ``values`` maps a library name to its median (seconds or bytes)."""

    section: str
    label: str
    unit: str
    values: dict
    spread: float = float("nan")
    other: float = float("nan")
    best: dict = field(default_factory=dict)

    @property
    def ratio(self):
        return _ratio(self.values)

    @property
    def best_ratio(self):
        return _ratio(self.best)


def _ratio(values):
    nt, th = values.get("numtorch"), values.get("torch")
    if nt is None or th is None or not nt:
        return float("nan")
    return th / nt


@dataclass
class Case:
    """A named measurement: ``run(settings)`` returns a list of :class:`Result`."""

    id: str
    section: str
    run: object


# --------------------------------------------------------------------------- timing


def _block(fn, inner):
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def _warm_and_calibrate(fn, s):
    """Run ``fn`` until warm; return how many calls make a block of ``s.block`` seconds."""
    start = time.perf_counter()
    calls = 0
    while calls < 2 or time.perf_counter() - start < s.warmup:
        t = _block(fn, 1)
        calls += 1
    return max(1, math.ceil(s.block / max(t, 1e-9)))


def compare_times(fns, s, weight=1.0):
    """Time the zero-argument callables in ``fns`` (``lib -> fn``) in alternating blocks.

    Returns ``(medians, spread, best)``: median seconds per call for each library, the largest
    relative interquartile range among them (a noise indicator) and the fastest block of each."""
    inner = {name: _warm_and_calibrate(fn, s) for name, fn in fns.items()}
    samples = {name: [] for name in fns}
    order = list(fns)
    deadline = time.perf_counter() + s.budget * weight * len(fns)
    rounds = 0
    while rounds < s.min_rounds or time.perf_counter() < deadline:
        for name in order if rounds % 2 == 0 else order[::-1]:
            if s.pause and len(fns) > 1:
                time.sleep(s.pause)
            samples[name].append(_block(fns[name], inner[name]))
        rounds += 1
    return _summary(samples)


def _summary(samples):
    medians = {name: statistics.median(v) for name, v in samples.items()}
    spread = max(_rel_iqr(v) for v in samples.values())
    return medians, spread, {name: min(v) for name, v in samples.items()}


def _rel_iqr(v):
    if len(v) < 4:
        return float("nan")
    q = statistics.quantiles(v, n=4)
    return (q[2] - q[0]) / q[1]


def timed(id, section, label, setup, weight=1.0):
    """A case timing ``setup(lib)()`` in each library."""

    def run(s):
        fns = {name: setup(lib) for name, lib in s.libs.items()}
        medians, spread, best = compare_times(fns, s, weight)
        return [Result(section, label, "s", medians, spread, best=best)]

    return Case(id, section, run)


# --------------------------------------------------------------------------- the cases

_REFERENCE = {}


def _reference_state(model):
    """numtorch-initialised weights for ``model`` as NumPy arrays, shared by both libraries."""
    if model not in _REFERENCE:
        import numtorch
        numtorch.manual_seed(0)
        net = MODELS[model](numtorch)
        _REFERENCE[model] = {k: np.array(v.detach().numpy()) for k, v in net.state_dict().items()}
    return _REFERENCE[model]


def build(model, lib):
    """``model`` built with ``lib``, loaded with the shared reference weights."""
    net = MODELS[model](lib)
    net.load_state_dict({k: lib.tensor(v) for k, v in _reference_state(model).items()})
    return net


def train_setup(model, batch):
    def setup(lib):
        net = build(model, lib)
        xa, ya = make_batch(model, batch)
        x, y = lib.tensor(xa), lib.tensor(ya)
        opt = lib.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        cross_entropy = lib.nn.functional.cross_entropy

        def step():
            opt.zero_grad()
            loss = cross_entropy(net(x), y)
            loss.backward()
            opt.step()

        return step

    return setup


def infer_setup(model, batch, grad=False):
    def setup(lib):
        net = build(model, lib)
        x = lib.tensor(make_batch(model, batch)[0])
        if grad:
            def forward():
                net(x)
        else:
            net.eval()

            def forward():
                with lib.no_grad():
                    net(x)

        return forward

    return setup


def _tensor(lib, rng, shape, grad=False):
    return lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=grad)


def micro_setup(name, n=64):
    """Forward + backward of one LeNet-5 piece; the upstream gradient is given."""

    def setup(lib):
        F = lib.nn.functional
        rng = np.random.default_rng(0)

        def t(*shape, grad=False):
            return _tensor(lib, rng, shape, grad)

        if name == "conv1":
            x, w, b, g = t(n, 1, 32, 32), t(6, 1, 5, 5, grad=True), t(6, grad=True), t(n, 6, 28, 28)
            return lambda: F.conv2d(x, w, b).backward(g)
        if name == "conv2":
            x, w, b = t(n, 6, 14, 14, grad=True), t(16, 6, 5, 5, grad=True), t(16, grad=True)
            g = t(n, 16, 10, 10)
            return lambda: F.conv2d(x, w, b).backward(g)
        if name == "pool1":
            x, g = t(n, 6, 28, 28, grad=True), t(n, 6, 14, 14)
            return lambda: F.max_pool2d(x, 2).backward(g)
        if name == "pool2":
            x, g = t(n, 16, 10, 10, grad=True), t(n, 16, 5, 5)
            return lambda: F.max_pool2d(x, 2).backward(g)
        if name == "fc1":
            x, w, b, g = t(n, 400, grad=True), t(120, 400, grad=True), t(120, grad=True), t(n, 120)
            return lambda: F.linear(x, w, b).backward(g)
        if name == "cross_entropy":
            logits = t(n, 10, grad=True)
            target = lib.tensor(rng.integers(0, 10, size=n).astype(np.int64))
            return lambda: F.cross_entropy(logits, target).backward()
        raise ValueError(name)

    return setup


MICRO_LABELS = {
    "conv1": "conv2d 1→6 5×5 on 64×1×32×32",
    "conv2": "conv2d 6→16 5×5 on 64×6×14×14",
    "pool1": "max_pool2d 2 on 64×6×28×28",
    "pool2": "max_pool2d 2 on 64×16×10×10",
    "fc1": "linear 400→120 on 64×400",
    "cross_entropy": "cross_entropy on 64×10 logits",
}


def optim_setup(kind):
    def setup(lib):
        net = build("lenet", lib)
        rng = np.random.default_rng(1)
        for p in net.parameters():
            p.grad = _tensor(lib, rng, tuple(p.shape))
        if kind == "adam":
            opt = lib.optim.Adam(net.parameters(), lr=1e-3)
        else:
            opt = lib.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        return opt.step

    return setup


def overhead_setup(op, backward):
    from .overhead import OPS

    def setup(lib):
        rng = np.random.default_rng(0)
        a, b = _tensor(lib, rng, (4, 4), backward), _tensor(lib, rng, (4, 4), backward)
        fn = OPS[op]
        if backward:
            return lambda: fn(lib, a, b).sum().backward()
        return lambda: fn(lib, a, b)

    return setup


# --------------------------------------------------------------------------- subprocess cases


def _env():
    env = dict(os.environ)
    paths = [str(ROOT / "src"), str(ROOT)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _memory_run(s):
    values = {"rss_step": {}, "rss_peak": {}, "traced_peak": {}}
    for name in s.libs:
        cmd = [sys.executable, "-m", "benchmarks.memory", "--lib", name, "--batch",
               "32" if s.quick else "256", "--steps", "1" if s.quick else "3"]
        out = json.loads(subprocess.run(cmd, env=_env(), cwd=ROOT, check=True,
                                        capture_output=True, text=True).stdout)
        for key in values:
            if key in out:
                values[key][name] = out[key]
    batch = "batch 32 (quick)" if s.quick else "batch 256"
    return [
        Result(MEMORY, f"step RSS high-water above RSS before the steps (after a batch-2 warm-up), "
               f"{batch}", "B", values["rss_step"]),
        Result(MEMORY, "process peak RSS (interpreter + libraries, incl. numba if used + model "
               "+ steps)", "B",
               values["rss_peak"]),
        Result(MEMORY, "tracemalloc peak during the steps (NumPy buffers; numtorch only)", "B",
               values["traced_peak"]),
    ]


_IMPORT_SNIPPET = ("import time; t = time.perf_counter(); import {0}; "
                   "print(time.perf_counter() - t)")


def _import_time(name):
    cmd = [sys.executable, "-c", _IMPORT_SNIPPET.format(name)]
    out = subprocess.run(cmd, env=_env(), cwd=ROOT, check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def _import_run(s):
    """Alternate fresh-process imports: ``s.imports`` of numtorch, fewer of the slow torch."""
    if not s.quick:  # a discarded run: bytecode of freshly edited files gets compiled here
        _import_time("numtorch")
    counts = {name: s.imports if name == "numtorch" else max(1, s.imports - 2) for name in s.libs}
    samples = {name: [] for name in s.libs}
    for i in range(max(counts.values())):
        for name in list(s.libs) if i % 2 == 0 else list(s.libs)[::-1]:
            if len(samples[name]) < counts[name]:
                samples[name].append(_import_time(name))
    medians, spread, best = _summary(samples)
    label = " / ".join(f"{counts[n]}" for n in s.libs)
    return [Result(IMPORT, f"import (median of {label} runs)", "s", medians, spread, best=best)]


# --------------------------------------------------------------------------- registry


def cases():
    """All cases in report order."""
    out = []
    for model, batches in (("lenet", (1, 64, 256)), ("mlp", (1, 64))):
        title = "LeNet-5" if model == "lenet" else "MLP 784-128-64-10"
        for n in batches:
            out.append(timed(f"train-{model}-b{n}", TRAIN, f"{title}, batch {n}",
                             train_setup(model, n), weight=2.0 if n > 1 else 1.5))
    for model, n in (("lenet", 64), ("lenet", 256), ("mlp", 64)):
        title = "LeNet-5" if model == "lenet" else "MLP"
        out.append(timed(f"infer-{model}-b{n}", INFER, f"{title} no_grad, batch {n}",
                         infer_setup(model, n)))
    for name, (_, _, label) in ZOO.items():
        out.append(timed(f"zoo-{name}", ZOO_SECTION, label, zoo_setup(name), weight=2.0))
    out.append(timed("infer-lenet-b64-graph", INFER, "LeNet-5 forward recording the graph, "
                     "batch 64", infer_setup("lenet", 64, grad=True)))
    for name, label in MICRO_LABELS.items():
        out.append(timed(f"micro-{name}", MICRO, label, micro_setup(name)))
    out.append(timed("optim-sgd", OPTIM, "SGD momentum 0.9 step", optim_setup("sgd")))
    out.append(timed("optim-adam", OPTIM, "Adam step", optim_setup("adam")))
    from .overhead import OPS
    for op in OPS:
        for backward in (False, True):
            mode = "fwd+bwd" if backward else "forward"
            out.append(timed(f"overhead-{op}-{mode}", OVERHEAD, f"{op} {mode}",
                             overhead_setup(op, backward), weight=0.4))
    out.append(Case("memory-lenet-b256", MEMORY, _memory_run))
    out.append(Case("import", IMPORT, _import_run))
    return out


def select(all_cases, only):
    """The cases whose id contains one of the comma-separated substrings in ``only``."""
    if not only:
        return all_cases
    keys = [k.strip().lower() for k in only.split(",") if k.strip()]
    return [c for c in all_cases if any(k in c.id for k in keys)]


# --------------------------------------------------------------------------- machine load


def _cpu_seconds():
    """``(busy CPU seconds of the whole machine, CPU seconds of this process and its reaped
    children, wall clock)``; the first is ``nan`` where ``/proc/stat`` is missing."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        busy = float("nan")
    t = os.times()
    return busy, t.user + t.system + t.children_user + t.children_system, time.perf_counter()


def other_load(before, after):
    """Average number of cores kept busy by other processes between two :func:`_cpu_seconds`
    snapshots (the contention spinner counts as other)."""
    wall = after[2] - before[2]
    if wall <= 0:
        return float("nan")
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / wall)


# --------------------------------------------------------------------------- contention


_BUSY = "import os, sys\nos.sched_setaffinity(0, {int(sys.argv[1])})\nwhile True:\n    pass\n"


@contextmanager
def contended(enabled=True):
    """Keep one core busy with a spinning process (pinned to the last allowed CPU) while the
    block runs; yields that CPU's number or ``None`` when disabled."""
    if not enabled:
        yield None
        return
    cpu = max(os.sched_getaffinity(0))
    proc = subprocess.Popen([sys.executable, "-c", _BUSY, str(cpu)])
    try:
        time.sleep(0.3)
        yield cpu
    finally:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- machine info


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas():
    try:
        from threadpoolctl import threadpool_info
        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        # NumPy's own BLAS first: SciPy (imported by numba) brings a second OpenBLAS
        infos.sort(key=lambda i: "numpy" not in i.get("filepath", ""))
        for info in infos:
            return (f"{info.get('internal_api')} {info.get('version')} "
                    f"({info.get('threading_layer', '?')}, {_threads(info['num_threads'])})")
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - older NumPy: no dict mode
        return "unknown"


def _numba_available():
    try:
        from numtorch.ops import _jit
    except ImportError:  # pragma: no cover - an older numtorch
        return False
    return _jit.kernels(np.empty(1, np.float32)) is not None


def _threads(n):
    return f"{n} thread" + ("" if n == 1 else "s")


def _commit():
    """``git describe``-like tag of the measured tree: short hash, ``+dirty`` if edited."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "src"],
                               cwd=ROOT, text=True, capture_output=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+dirty" if dirty else "")


def machine_info(s):
    """One line: CPU, cores, Python, NumPy + BLAS, torch and numtorch with their threads."""
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0))
    parts = [f"{_cpu_model()}, {cores} cores ({usable} usable)",
             f"Python {platform.python_version()}",
             f"NumPy {np.__version__} with BLAS {_blas()}"]
    torch = s.libs.get("torch")
    if torch is not None:
        parts.append(f"torch {torch.__version__} ({_threads(torch.get_num_threads())})")
    nt = s.libs["numtorch"]
    jit = "numba kernels" if _numba_available() else "pure-NumPy kernels"
    parts.append(f"numtorch {getattr(nt, '__version__', '?')} at {_commit()} "
                 f"(get_num_threads {nt.get_num_threads()}: the most threads a matrix product "
                 f"or a batched kernel shares; {jit})")
    return " · ".join(parts)


# --------------------------------------------------------------------------- report


def _fmt(value, unit):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "B":
        return f"{value / 2**20:.1f} MiB"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms"
    return f"{value * 1e6:.1f} µs"


def _fmt_ratio(r):
    return "–" if math.isnan(r) else f"{r:.2f}"


def _fmt_spread(x):
    return "–" if math.isnan(x) else f"{x * 100:.0f}%"


def _fmt_load(x):
    return "–" if math.isnan(x) else f"{x:.1f}"


def markdown(results, info, mode, wall, load=None):
    """The results as a markdown table with a heading and the machine line; ``load`` is the
    pair of 1-minute load averages at the start and the end of the run."""
    load_text = f", load average {load[0]:.1f} → {load[1]:.1f}" if load else ""
    lines = [f"### numtorch vs PyTorch — {mode}", "",
             f"Machine: {info}", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {wall:.0f} s wall"
             f"{load_text}. "
             "Alternating runs in one process, medians. Ratio = torch / numtorch (≥ 1: numtorch "
             "is faster or, for memory, smaller); best ratio = the same for each library's "
             "fastest run (less sensitive to load). Spread = the larger relative interquartile "
             "range of the two libraries' samples. Other load = cores kept busy by other "
             "processes during the case, on average.", "",
             "| case | numtorch | torch | torch/numtorch | best ratio | spread | other load |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    section = None
    for r in results:
        if r.section != section:
            section = r.section
            lines.append(f"| ***{section}*** | | | | | | |")
        lines.append(f"| {r.label} | {_fmt(r.values.get('numtorch'), r.unit)} | "
                     f"{_fmt(r.values.get('torch'), r.unit)} | {_fmt_ratio(r.ratio)} | "
                     f"{_fmt_ratio(r.best_ratio)} | {_fmt_spread(r.spread)} | "
                     f"{_fmt_load(r.other)} |")
    summary = _train_summary(results)
    if summary:
        lines += ["", summary]
    return "\n".join(lines) + "\n"


def _geomean(xs):
    xs = [x for x in xs if x > 0 and not math.isnan(x)]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")


def _train_summary(results):
    rows = [r for r in results if r.section == TRAIN]
    ratio = _geomean([r.ratio for r in rows])
    if math.isnan(ratio):
        return ""
    return (f"Training steps, geometric mean of torch/numtorch over {len(rows)} rows: "
            f"{ratio:.2f} (best-run ratios: {_geomean([r.best_ratio for r in rows]):.2f}).")


def wait_for_quiet(expected_other=0.0, quiet=0.3, max_wait=5.0, window=0.5):
    """Sleep in ``window``-second steps until other processes keep at most ``quiet`` cores
    (beyond ``expected_other``) busy, or ``max_wait`` seconds have passed."""
    end = time.perf_counter() + max_wait
    while time.perf_counter() < end:
        before = _cpu_seconds()
        time.sleep(window)
        if not other_load(before, _cpu_seconds()) - expected_other > quiet:
            return


class Retrier:
    """Measures cases again while other processes load the machine, within a time budget.

    A case measured while others kept more than ``busy`` cores (beyond ``expected_other``, the
    contention spinner) busy is run again, up to ``retries`` times, after waiting up to 5 s for
    a quiet moment; the quietest attempt is kept. All retries together may take ``budget``
    seconds."""

    def __init__(self, retries=2, expected_other=0.0, busy=0.5, budget=60.0):
        self.retries, self.expected, self.busy = retries, expected_other, busy
        self.left = budget

    def measure(self, case, s):
        best = None
        for attempt in range(self.retries + 1):
            if attempt:
                if self.left <= 0:
                    break
                start = time.perf_counter()
                wait_for_quiet(self.expected, max_wait=min(5.0, self.left))
            before = _cpu_seconds()
            rows = case.run(s)
            load = other_load(before, _cpu_seconds())
            if attempt:
                self.left -= time.perf_counter() - start
            for r in rows:
                r.other = load
            if best is None or not load >= best[0]:
                best = (load, rows)
            if not load - self.expected > self.busy:
                break
        return best[1]


def _numtorch_threads_now():
    """How many threads numtorch's policy gives a large job now (it backs off from the cores
    other processes keep busy)."""
    try:
        from numtorch import _threads
    except ImportError:  # pragma: no cover - an older numtorch
        return "?"
    return _threads.workers()


def run(quick=False, only=None, with_torch=True, contend=False, retries=2, retry_budget=60.0,
        progress=None):
    """Run the selected cases; returns ``(results, markdown_text)``.

    Cases measured while other processes kept the machine busy are measured again (see
    :class:`Retrier`; ``retries`` times at most, ``retry_budget`` seconds in all)."""
    s = Settings.make(quick, with_torch)
    chosen = select(cases(), only)
    if not chosen:
        raise ValueError(f"no benchmark matches {only!r}; ids: "
                         + ", ".join(c.id for c in cases()))
    start = time.perf_counter()
    load_start = os.getloadavg()[0]
    retrier = Retrier(0 if quick else retries, 1.0 if contend else 0.0, budget=retry_budget)
    results = []
    with contended(contend) as cpu:
        for case in chosen:
            rows = retrier.measure(case, s)
            results += rows
            if progress is not None:
                for r in rows:
                    progress(f"{case.id:<28} {_fmt(r.values.get('numtorch'), r.unit):>11} "
                             f"{_fmt(r.values.get('torch'), r.unit):>11} "
                             f"{_fmt_ratio(r.ratio):>6} (best {_fmt_ratio(r.best_ratio)})"
                             f"  other load {_fmt_load(r.other)}")
        threads_now = _numtorch_threads_now()
    mode = (f"shared cores (a spinning process pinned to CPU {cpu}; numtorch's idle-core "
            f"estimate at the end: {threads_now} of {s.libs['numtorch'].get_num_threads()} "
            f"threads)" if contend else "normal (no extra load from the suite)")
    if quick:
        mode += ", quick"
    wall = time.perf_counter() - start
    load = (load_start, os.getloadavg()[0])
    return results, markdown(results, machine_info(s), mode, wall, load)
