"""Smoke test of the benchmark suite (``python -m benchmarks``): it runs and prints a table.

No timing assertions: the numbers depend on the machine and its load.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import numtorch
from numtorch.apps import models as app_models

ROOT = Path(__file__).resolve().parents[1]


def _run(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_quick_numtorch_only_case_prints_and_writes_a_table(tmp_path):
    out_file = tmp_path / "bench.md"
    proc = _run("--quick", "--no-torch", "--only", "train-lenet-b1", "--markdown", str(out_file))
    assert proc.returncode == 0, proc.stderr
    table = out_file.read_text(encoding="utf-8")
    assert table in proc.stdout + "\n"
    assert "Machine: " in table and "NumPy " in table
    header = "| case | numtorch | torch | torch/numtorch | best ratio | spread | other load |"
    assert header in table
    rows = [line for line in table.splitlines() if line.startswith("| LeNet-5, batch 1 |")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[1].endswith(("ms", "µs", " s")) and cells[2] == "–" and cells[3] == "–"


def test_unknown_case_is_an_error():
    proc = _run("--quick", "--no-torch", "--only", "no-such-case")
    assert proc.returncode != 0
    assert "no benchmark matches" in proc.stderr


def test_list_names_every_section():
    proc = _run("--list")
    assert proc.returncode == 0, proc.stderr
    ids = [line.split()[0] for line in proc.stdout.splitlines()]
    for prefix in ("train-lenet-b", "train-mlp-b", "infer-", "micro-conv1", "micro-pool1",
                   "micro-fc1", "micro-cross_entropy", "optim-adam", "optim-sgd", "overhead-",
                   "memory-", "import"):
        assert any(i.startswith(prefix) for i in ids), prefix


def test_benchmarked_networks_are_the_ones_numtorch_mnist_trains():
    spec = importlib.util.spec_from_file_location("bench_models", ROOT / "benchmarks" / "models.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert set(bench.MODELS) == set(app_models.MODELS)
    for name, build in bench.MODELS.items():
        app_net, bench_net = app_models.build_model(name), build(numtorch)
        state = app_net.state_dict()
        assert ({k: tuple(v.shape) for k, v in bench_net.state_dict().items()}
                == {k: tuple(v.shape) for k, v in state.items()}), name
        assert bench.INPUT_SHAPES[name][1:] == (app_net.input_size,) * 2, name
        bench_net.load_state_dict(state)
        x = numtorch.tensor(bench.make_batch(name, 3)[0])
        np.testing.assert_array_equal(bench_net(x).detach().numpy(),
                                      app_net(x).detach().numpy(), err_msg=name)


def _zoo_module():
    import benchmarks.zoo as zoo
    return zoo


def test_zoo_models_agree_with_torch_on_the_same_weights():
    """The zoo's deterministic models compute the same loss in both libraries (same source,
    same weights, same batch), so their timings compare the same work."""
    torch = __import__("pytest").importorskip("torch")
    sys.path.insert(0, str(ROOT))
    try:
        zoo = _zoo_module()
    finally:
        sys.path.remove(str(ROOT))
    # (ResNet-18 in float64: at batch 4 its float32 stem gradient moves by 0.5 % with rounding
    # alone, in either library's block order; in float64 they agree to 1e-14)
    for name, dtype, tol in (("resnet8", "float32", 1e-3), ("resnet18", "float64", 1e-9),
                             ("mlp-adam", "float32", 1e-3)):
        losses = {}
        for lib in (numtorch, torch):
            builder = zoo.ZOO[name][0]
            net = builder(lib)
            net.load_state_dict({k: lib.tensor(v) for k, v in zoo._weights(name).items()})
            net = net.to(getattr(lib, dtype))
            xa, ya = zoo._batch(name, np.random.default_rng(0))
            out = net(lib.tensor(xa).to(getattr(lib, dtype)))
            loss = lib.nn.functional.cross_entropy(out, lib.tensor(ya))
            loss.backward()
            losses[lib.__name__] = (loss.item(), next(net.parameters()).grad.numpy().copy())
        assert abs(losses["numtorch"][0] - losses["torch"][0]) < tol / 10
        np.testing.assert_allclose(losses["numtorch"][1], losses["torch"][1], rtol=tol,
                                   atol=tol / 10)
    for name in ("lstm", "gpt", "vae"):
        zoo.zoo_setup(name)(numtorch)()  # one full training step runs


def _spy_on_steps(monkeypatch, paired, read):
    """Makes ``paired``'s training steps record ``read()`` before each step; returns the list."""
    seen = []
    real_setup = paired.zoo_setup

    def spying_setup(name):
        def setup(lib):
            step = real_setup(name)(lib)

            def spied():
                seen.append(read())
                step()
            return spied
        return setup

    monkeypatch.setattr(paired, "zoo_setup", spying_setup)
    return seen


def test_paired_comparison_sets_restores_and_reports(monkeypatch, capsys):
    """``benchmarks.paired``: each configuration's constants are set for its rounds only (the
    defaults restored after), every configuration gets a median per round, and the report
    has a line per configuration; unknown names and bad JSON are one-line errors."""
    from benchmarks import paired
    from numtorch.ops import conv

    default = conv._WINOGRAD_CL_MIN_CHANNELS
    seen = _spy_on_steps(monkeypatch, paired, lambda: conv._WINOGRAD_CL_MIN_CHANNELS)
    medians = paired.compare("mlp-adam", [[], [(conv, "_WINOGRAD_CL_MIN_CHANNELS", 99)]],
                             rounds=2, steps=1)
    assert [len(m) for m in medians] == [2, 2] and all(v > 0 for m in medians for v in m)
    assert conv._WINOGRAD_CL_MIN_CHANNELS == default
    # round 0: reference then config; round 1 reversed (3 warm-ups, then 3 steps a turn)
    assert seen == [default] * 3 + [default] * 3 + [99] * 6 + [default] * 3
    assert paired.main(["mlp-adam", "{}", '{"_WINOGRAD_CL_MIN_CHANNELS": 99}', "--rounds", "1",
                        "--steps", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "faster in" in lines[1]
    with pytest.raises(SystemExit, match="has no attribute"):
        paired.main(["mlp-adam", "{}", '{"numtorch.ops.conv:_NO_SUCH": 1}'])
    with pytest.raises(SystemExit, match="not JSON"):
        paired.main(["mlp-adam", "{"])


def test_paired_threads_key_sets_the_thread_cap(monkeypatch):
    """``"threads"`` in a ``benchmarks.paired`` configuration is the cap that
    ``set_num_threads`` sets, in force during that configuration's steps only."""
    from benchmarks import paired
    from numtorch import _threads

    before = _threads._requested
    seen = _spy_on_steps(monkeypatch, paired, numtorch.get_num_threads)
    configs = [paired._targets({"threads": 1}), paired._targets({"threads": 3})]
    paired.compare("mlp-adam", configs, rounds=1, steps=1)
    assert seen[3:] == [1] * 3 + [3] * 3
    assert _threads._requested == before
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(SystemExit, match="threads must be a positive integer"):
            paired._targets({"threads": bad})


def test_threads_benchmark_alternates_one_thread_and_the_default(monkeypatch, capsys):
    """``benchmarks.threads``: every case is timed under one thread and under the default,
    taking turns call by call (the first of the two alternating between rounds; the default
    restored afterwards), and the table has a row per case and size; an ``--only`` that
    matches nothing is a one-line error."""
    from benchmarks import threads
    from numtorch import _threads

    monkeypatch.setattr(threads, "SIZES", (1 << 12, 1 << 13))
    turns = []
    real_time = threads._time

    def spy(call, settings, calls=20):
        def seen(apply):
            def record():
                apply()
                turns.append(_threads.get_num_threads())
            return record
        return real_time(call, [seen(a) for a in settings], calls=3)

    monkeypatch.setattr(threads, "_time", spy)
    default = _threads._requested
    rows = threads.measure(rounds=2, only=["add", "relu"])
    assert _threads._requested == default
    names = {r[0] for r in rows}
    assert names == {"add", "add bias (broadcast rows)", "relu", "relu backward"}
    assert len(rows) == 2 * len(names)
    assert all(one > 0 and default_time > 0 for _, _, one, default_time in rows)
    d = numtorch.get_num_threads()
    per_case = 2 * (3 + 2)  # two settings, three timed calls after two warm-up turns
    first_round = turns[:per_case * len(rows)]
    second_round = turns[per_case * len(rows):]
    assert first_round == [1, d] * (len(first_round) // 2)
    assert second_round == [d, 1] * (len(second_round) // 2)
    assert threads.main(["--rounds", "1", "--only", "mul"]) == 0
    table = capsys.readouterr().out
    assert "| mul | 2^12 |" in table and "| mul | 2^13 |" in table
    with pytest.raises(SystemExit, match="no case matches"):
        threads.main(["--only", "no-such-pass"])
