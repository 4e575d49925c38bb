"""``numtorch mnist --export-onnx`` and ``numtorch predict model.onnx``; and what happens
without the numtorch[onnx] extra."""

import io
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import numtorch
import numtorch.onnx
from numtorch import cli
from numtorch.apps import mnist

FAST = ["--no-progress", "--no-plots", "--batch-size", "32", "--test-limit", "50", "--limit",
        "128", "--epochs", "1"]


def test_import_without_the_extra_and_export_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    model = numtorch.nn.Linear(2, 2)
    with pytest.raises(ImportError, match=r"numtorch\[onnx\]"):
        numtorch.onnx.export(model, numtorch.randn(1, 2), io.BytesIO())


def test_mnist_export_onnx_without_onnx_fails_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnx", None)
    rc = cli.main(["mnist", *FAST, "--export-onnx", "--output-dir", str(tmp_path)])
    _, err = capsys.readouterr()
    assert rc != 0 and "numtorch[onnx]" in err
    assert not (tmp_path / "checkpoint.pt").exists()


@pytest.mark.parametrize("model", ["lenet", "mlp"])
def test_mnist_writes_model_onnx_and_predict_runs_it(tmp_path, capsys, model):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    rc = cli.main(["mnist", *FAST, "--model", model, "--export-onnx", "--output-dir",
                   str(tmp_path)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert (tmp_path / "model.onnx").is_file() and "model.onnx" in out
    digits = numtorch.datasets.MNIST(None, train=False).data.numpy()[:3]
    paths = []
    for i, digit in enumerate(digits):
        np.save(tmp_path / f"d{i}.npy", digit)
        paths.append(str(tmp_path / f"d{i}.npy"))
    assert cli.main(["predict", str(tmp_path / "checkpoint.pt"), *paths]) == 0
    from_checkpoint, _ = capsys.readouterr()
    assert cli.main(["predict", str(tmp_path / "model.onnx"), *paths]) == 0
    from_onnx, err = capsys.readouterr()
    assert from_onnx == from_checkpoint, err


def test_predict_onnx_without_onnxruntime_says_so(tmp_path, capsys, monkeypatch):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not really")
    np.save(tmp_path / "d.npy", np.zeros((28, 28), np.uint8))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    rc = cli.main(["predict", str(path), str(tmp_path / "d.npy")])
    _, err = capsys.readouterr()
    assert rc != 0 and "onnxruntime" in err and "numtorch[onnx]" in err


def test_export_onnx_flag_parses():
    assert mnist.parse_args(["--export-onnx"]).export_onnx
    assert not mnist.parse_args([]).export_onnx


def test_torch_onnx_under_numtorch_run(tmp_path):
    pytest.importorskip("onnx")
    script = tmp_path / "export.py"
    script.write_text(
        "import torch\n"
        "import torch.onnx\n"
        "from torch.onnx import export\n"
        "m = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())\n"
        "export(m, torch.randn(1, 3), 'm.onnx', input_names=['x'],\n"
        "       dynamic_axes={'x': {0: 'batch'}}, dynamo=False)\n"
        "print(torch.onnx.is_in_onnx_export(), torch.onnx.TrainingMode.EVAL.name)\n")
    env = {**os.environ, "PYTHONPATH": str(pathlib.Path(numtorch.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-m", "numtorch", "run", str(script)], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "EVAL"]
    assert (tmp_path / "m.onnx").stat().st_size > 0
