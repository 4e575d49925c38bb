"""The ``numtorch`` command: ``numtorch mnist`` end to end, determinism, resume, ``predict``."""

import csv
import gzip
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

import numtorch
from numtorch import cli
from numtorch.apps import mnist, plots, predict
from numtorch.apps.models import MLP, LeNet5

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
HAVE_PILLOW = importlib.util.find_spec("PIL") is not None
# Small and fast: a few hundred digits, tiny test split.
FAST = ["--no-progress", "--batch-size", "32", "--test-limit", "100"]
LENET_REPR = """LeNet5(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
  (fc1): Linear(in_features=400, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)"""


def run_mnist(capsys, *argv):
    """``numtorch mnist ARGV``: (exit status, stdout, stderr)."""
    rc = cli.main(["mnist", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def history_without_times(path):
    with open(path, encoding="utf-8") as f:
        epochs = json.load(f)["epochs"]
    return [{k: v for k, v in e.items() if k != "seconds"} for e in epochs]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A LeNet-5 trained for 2 epochs on 768 digits, with the files it wrote."""
    out = tmp_path_factory.mktemp("mnist")
    args = mnist.parse_args(["--epochs", "2", "--limit", "768", "--output-dir", str(out),
                             "--seed", "1", "--no-plots", *FAST])
    result = mnist.train(args, stream=io.StringIO())
    return out, result


# ---------------------------------------------------------------------------- models
def test_lenet_matches_the_seed_network():
    net = LeNet5()
    assert repr(net) == LENET_REPR
    assert sum(p.numel() for p in net.parameters()) == 61706
    out = net(numtorch.zeros(3, 1, 32, 32))
    assert out.shape == (3, 10) and out.dtype == numtorch.float32


def test_mlp_shape_and_size():
    net = MLP()
    assert sum(p.numel() for p in net.parameters()) == 784 * 128 + 128 + 128 * 64 + 64 + 650
    assert net(numtorch.zeros(2, 1, 28, 28)).shape == (2, 10)


# ---------------------------------------------------------------------------- mnist end to end
def test_end_to_end_run_prints_and_writes_everything(tmp_path, capsys):
    rc, out, err = run_mnist(capsys, "--epochs", 1, "--limit", 256, "--output-dir", tmp_path,
                             *FAST)
    assert rc == 0, err
    assert "embedded sample of 10,000 real MNIST digits" in out
    assert "train 256 of 8,000, test 100 of 2,000" in out
    assert LENET_REPR in out
    assert "Total params: 61,706" in out
    assert "epoch 1/1  train loss" in out and "test loss" in out
    assert "confusion matrix (rows: true digit, columns: predicted digit)" in out
    assert "final test accuracy" in out
    for name in ("checkpoint.pt", "metrics.json", "metrics.csv", "confusion.csv",
                 "predictions.csv"):
        assert (tmp_path / name).is_file(), name
    if HAVE_MATPLOTLIB:
        for name in ("curves.png", "predictions.png", "confusion.png"):
            assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
            if HAVE_PILLOW:
                from PIL import Image

                with Image.open(tmp_path / name) as img:
                    assert min(img.size) >= 300
    if shutil.which("dot"):
        assert (tmp_path / "graph.svg").read_text().lstrip().startswith("<?xml")

    epochs = json.loads((tmp_path / "metrics.json").read_text())["epochs"]
    assert [e["epoch"] for e in epochs] == [1]
    assert set(epochs[0]) >= {"train_loss", "train_acc", "test_loss", "test_acc", "lr"}
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[0]["test_acc"]) == pytest.approx(epochs[0]["test_acc"])
    with open(tmp_path / "confusion.csv", newline="") as f:
        matrix = np.array([row[1:] for row in list(csv.reader(f))[1:]], dtype=np.int64)
    assert matrix.shape == (10, 10) and matrix.sum() == 100
    assert np.trace(matrix) == round(epochs[0]["test_acc"] * 100)


def test_checkpoint_loads_into_a_fresh_model_with_the_same_predictions(trained):
    out, result = trained
    ckpt = numtorch.load(str(out / "checkpoint.pt"))
    assert ckpt["epoch"] == 2 and ckpt["model_name"] == "lenet"
    assert ckpt["args"]["limit"] == 768 and ckpt["args"]["seed"] == 1
    assert set(ckpt["optimizer"]) == {"state", "param_groups"}
    net = LeNet5()
    net.load_state_dict(ckpt["model"])
    args = mnist.parse_args(FAST)
    _, test_raw, _ = mnist.load_datasets(args, mnist.mnist_transform("lenet"))
    test_set = mnist.materialize(test_raw, 100)
    loss, acc, probs = mnist.evaluate(net, test_set)
    np.testing.assert_allclose(probs, result["probabilities"], rtol=1e-5, atol=1e-7)
    assert acc == result["history"][-1]["test_acc"]
    assert loss == pytest.approx(result["history"][-1]["test_loss"], rel=1e-5)
    with open(out / "predictions.csv", newline="") as f:
        predicted = [int(row["predicted"]) for row in csv.DictReader(f)]
    assert predicted == probs.argmax(1).tolist()


def test_short_training_learns(trained):
    _, result = trained
    history = result["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_acc"] > 0.75  # 2 epochs on 768 digits; chance is 0.1


def test_same_seed_same_numbers(tmp_path, capsys):
    common = ["--epochs", 2, "--limit", 64, "--no-plots", *FAST]
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        rc, _, err = run_mnist(capsys, *common, "--seed", seed, "--output-dir", tmp_path / name)
        assert rc == 0, err
    a, b, c = (history_without_times(tmp_path / n / "metrics.json") for n in "abc")
    assert a == b
    assert a != c
    wa, wb = (numtorch.load(str(tmp_path / n / "checkpoint.pt"))["model"] for n in "ab")
    for key in wa:
        np.testing.assert_array_equal(wa[key].numpy(), wb[key].numpy())


def test_resume_continues_exactly(tmp_path, capsys):
    common = ["--limit", 64, "--no-plots", "--scheduler", "none", "--optimizer",
              "sgd-momentum", *FAST]
    assert run_mnist(capsys, *common, "--epochs", 2, "--output-dir", tmp_path / "straight")[0] == 0
    assert run_mnist(capsys, *common, "--epochs", 1, "--output-dir", tmp_path / "part")[0] == 0
    rc, out, err = run_mnist(capsys, *common, "--epochs", 2, "--output-dir", tmp_path / "part",
                             "--resume", tmp_path / "part" / "checkpoint.pt")
    assert rc == 0, err
    assert "resumed from" in out and "after epoch 1" in out
    assert (history_without_times(tmp_path / "part" / "metrics.json")
            == history_without_times(tmp_path / "straight" / "metrics.json"))


@pytest.mark.parametrize("optimizer", ["sgd", "adamw", "rmsprop"])
@pytest.mark.parametrize("scheduler", ["step", "cosine"])
def test_optimizers_and_schedules_run(tmp_path, capsys, optimizer, scheduler):
    rc, out, err = run_mnist(capsys, "--epochs", 1, "--limit", 64, "--no-plots", "--model",
                             "mlp", "--optimizer", optimizer, "--scheduler", scheduler,
                             "--output-dir", tmp_path, *FAST)
    assert rc == 0, err
    assert f"optimizer: {optimizer}" in out and "MLP(" in out


def test_quiet_prints_one_line(tmp_path, capsys):
    rc, out, err = run_mnist(capsys, "--epochs", 1, "--limit", 64, "--no-plots", "--quiet",
                             "--output-dir", tmp_path, *FAST)
    assert rc == 0
    assert out.count("\n") == 1 and out.startswith("final test accuracy")
    assert err == ""


def test_without_matplotlib_says_how_to_get_pictures(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(plots, "available", lambda: False)
    rc, out, _ = run_mnist(capsys, "--epochs", 1, "--limit", 64, "--output-dir", tmp_path, *FAST)
    assert rc == 0
    assert "pip install numtorch[plot]" in out
    # names what is missing: graph.svg needs Graphviz only and may still be written
    assert "curves.png, predictions.png and confusion.png were not drawn" in out
    assert not list(tmp_path.glob("*.png"))
    assert (tmp_path / "metrics.json").is_file()


# ---------------------------------------------------------------------------- data options
def test_missing_data_directory_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    rc, _, err = run_mnist(capsys, "--data", missing, "--output-dir", tmp_path / "out")
    assert rc == 2
    assert f"data directory not found: {missing}" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_directory_without_mnist_files_is_a_clear_error(tmp_path, capsys):
    rc, _, err = run_mnist(capsys, "--data", tmp_path, "--output-dir", tmp_path / "out")
    assert rc == 2
    assert "no MNIST files in" in err and "train-images-idx3-ubyte" in err


def _write_idx_files(folder):
    """The embedded 10,000 digits as if they were MNIST's four files (gzip and raw)."""
    folder.mkdir(parents=True)
    data = resources.files("numtorch.datasets").joinpath("_data")
    images = data.joinpath("mnist-10k-images-idx3-ubyte.gz").read_bytes()
    labels = data.joinpath("mnist-10k-labels-idx1-ubyte.gz").read_bytes()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(images)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(labels)
    (folder / "t10k-images-idx3-ubyte").write_bytes(gzip.decompress(images))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(labels))


@pytest.mark.parametrize("layout", ["flat", "torchvision", "default ./data"])
def test_data_directory_of_idx_files(tmp_path, capsys, monkeypatch, layout):
    root = tmp_path / "mnist"
    _write_idx_files(root if layout == "flat" else root / "MNIST" / "raw")
    data = ["--data", root]
    if layout == "default ./data":  # where --download puts the files
        os.rename(root, tmp_path / "data")
        monkeypatch.chdir(tmp_path)
        data = []
    rc, out, err = run_mnist(capsys, *data, "--epochs", 1, "--limit", 64, "--no-plots",
                             "--model", "mlp", "--output-dir", tmp_path / "out", *FAST)
    assert rc == 0, err
    assert "MNIST" in out.splitlines()[0] and "embedded" not in out.splitlines()[0]
    assert "train 64 of 10,000, test 100 of 10,000" in out


def test_download_offline_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import urllib.error

    from numtorch.datasets import mnist as mnist_files

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(mnist_files, "_download_url", offline)
    rc, _, err = run_mnist(capsys, "--download", "--data", tmp_path / "data", "--output-dir",
                           tmp_path / "out")
    assert rc == 2
    assert "offline" in err and "Traceback" not in err


def test_corrupt_data_file_is_a_clear_error(tmp_path, capsys):
    _write_idx_files(tmp_path / "mnist")
    bad = tmp_path / "mnist" / "t10k-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:1000])
    rc, _, err = run_mnist(capsys, "--data", tmp_path / "mnist", "--output-dir", tmp_path / "o")
    assert rc == 2
    assert "t10k-images-idx3-ubyte" in err and "truncated" in err
    assert "Traceback" not in err


def test_bad_options_are_errors(tmp_path, capsys):
    rc, _, err = run_mnist(capsys, "--epochs", 0, "--output-dir", tmp_path)
    assert rc == 2 and "--epochs must be at least 1" in err
    with pytest.raises(SystemExit):
        cli.main(["mnist", "--optimizer", "lbfgs"])
    capsys.readouterr()


# ---------------------------------------------------------------------------- predict
def _confident_digit(result):
    """Index (into the test split) of a digit the trained model gets right with p > 0.95."""
    probs = result["probabilities"]
    targets = numtorch.datasets.MNIST(None, train=False).targets.numpy()[: len(probs)]
    good = np.flatnonzero((probs.argmax(1) == targets) & (probs.max(1) > 0.95))
    assert len(good), "the fixture model is not confident about any digit"
    return int(good[0]), int(targets[good[0]])


@pytest.mark.skipif(not HAVE_PILLOW, reason="needs Pillow")
def test_predict_reads_a_png_of_a_test_digit(trained, tmp_path, capsys):
    from PIL import Image

    out, result = trained
    index, label = _confident_digit(result)
    digit = numtorch.datasets.MNIST(None, train=False).data.numpy()[index]
    as_is = tmp_path / "digit.png"
    Image.fromarray(digit).save(as_is)
    # Dark ink on white paper, four times the size, in colour: preprocessing must undo it.
    paper = tmp_path / "paper.png"
    Image.fromarray(255 - digit).resize((112, 112), Image.Resampling.BICUBIC).convert(
        "RGB").save(paper)
    rc = cli.main(["predict", str(out / "checkpoint.pt"), str(as_is), str(paper)])
    text, err = capsys.readouterr()
    assert rc == 0, err
    assert f"{as_is}: {label}  (" in text
    assert f"{paper}: {label}  (" in text
    assert text.count(f"{label}: ") == 2  # the per-class probability lines


@pytest.mark.skipif(not HAVE_PILLOW, reason="needs Pillow")
def test_to_mnist_centres_and_scales_like_mnist():
    canvas = np.full((200, 120), 250.0, dtype=np.float32)  # light paper
    canvas[40:160, 50:70] = 10.0  # a dark vertical bar: a "1"
    digit = predict.to_mnist(canvas)
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    rows = np.flatnonzero(digit.max(1) > 0)
    assert rows[-1] - rows[0] + 1 == 20  # the long side fits the 20-pixel box
    ys, xs = np.nonzero(digit)
    w = digit[ys, xs].astype(float)
    assert abs((ys * w).sum() / w.sum() - 13.5) <= 0.5
    assert abs((xs * w).sum() / w.sum() - 13.5) <= 0.5
    assert digit[0].max() == 0 and digit[:, 0].max() == 0  # background black


def test_predict_accepts_npy_and_a_bare_state_dict(trained, tmp_path, capsys):
    out, result = trained
    index, label = _confident_digit(result)
    digit = numtorch.datasets.MNIST(None, train=False).data.numpy()[index]
    np.save(tmp_path / "digit.npy", digit)
    weights = tmp_path / "weights.pt"
    numtorch.save(numtorch.load(str(out / "checkpoint.pt"))["model"], str(weights))
    rc = cli.main(["predict", "--quiet", str(weights), str(tmp_path / "digit.npy")])
    text, _ = capsys.readouterr()
    assert rc == 0 and text == f"{tmp_path / 'digit.npy'}: {label}\n"


def test_predict_without_pillow(trained, tmp_path, capsys, monkeypatch):
    out, result = trained
    index, label = _confident_digit(result)
    digit = numtorch.datasets.MNIST(None, train=False).data.numpy()[index]
    np.save(tmp_path / "digit.npy", np.pad(255 - digit, 10, constant_values=255))  # on paper
    (tmp_path / "digit.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    for name in [m for m in sys.modules if m == "PIL" or m.startswith("PIL.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL fails
    ckpt = str(out / "checkpoint.pt")
    assert cli.main(["predict", "-q", ckpt, str(tmp_path / "digit.npy")]) == 0
    assert capsys.readouterr().out.endswith(f": {label}\n")
    assert cli.main(["predict", ckpt, str(tmp_path / "digit.png")]) == 2
    assert "pip install numtorch[plot]" in capsys.readouterr().err


def test_predict_errors(trained, tmp_path, capsys):
    out, _ = trained
    assert cli.main(["predict", str(tmp_path / "none.pt"), "x.png"]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert cli.main(["predict", str(out / "checkpoint.pt"), str(tmp_path / "no.png")]) == 2
    assert "image not found" in capsys.readouterr().err
    (tmp_path / "junk.png").write_bytes(b"not an image")
    if HAVE_PILLOW:
        assert cli.main(["predict", str(out / "checkpoint.pt"), str(tmp_path / "junk.png")]) == 2
        assert "not an image" in capsys.readouterr().err


# ---------------------------------------------------------------------------- the command
def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "mnist" in text and "predict" in text


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "usage: numtorch" in capsys.readouterr().out


def test_command_hook_passes_raw_arguments_and_survives_broken_modules(tmp_path, capsys,
                                                                      monkeypatch):
    (tmp_path / "echo_cmd.py").write_text(
        '"""Echo the arguments."""\n\ndef main(argv):\n    print(argv)\n    return 3\n')
    (tmp_path / "broken_cmd.py").write_text("import a_module_that_is_not_there\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "echo", "echo_cmd")
    monkeypatch.setitem(cli.COMMANDS, "broken", "broken_cmd")
    monkeypatch.setitem(cli.COMMANDS, "absent", "no_such_command_module")
    assert cli.main(["echo", "--epochs", "x", "-h"]) == 3
    assert capsys.readouterr().out == "['--epochs', 'x', '-h']\n"
    assert cli.main(["broken"]) == 2
    assert "a_module_that_is_not_there" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert "Echo the arguments." in text and "absent" not in text
    assert cli.main(["mnist", "--epochs", "0"]) == 2  # the others still work


def test_interrupt_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    real = mnist.train_one_epoch
    calls = []

    def interrupted_second_epoch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(mnist, "train_one_epoch", interrupted_second_epoch)
    rc, out, err = run_mnist(capsys, "--epochs", 3, "--limit", 32, "--no-plots", "--model",
                             "mlp", "--output-dir", tmp_path, *FAST)
    assert rc == 130 and "interrupted" in err
    assert f"continue with --resume {tmp_path / 'checkpoint.pt'}" in out
    assert numtorch.load(str(tmp_path / "checkpoint.pt"))["epoch"] == 1


def test_python_dash_m_numtorch():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(numtorch.__file__)), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "numtorch", "mnist", "--help"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--epochs" in proc.stdout and "--optimizer" in proc.stdout
