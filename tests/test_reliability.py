"""Hostile files, bad input, workers and the command line: nothing crashes, hangs or misleads.

One test per case of the reliability review (issue #17). Run alone with::

    PYTHONPATH=src python -m pytest tests/test_reliability.py -q

Cases that could take the machine down when the protection is missing (reading ``/dev/zero``,
a loader waiting forever) run in a child process with a memory limit and a time limit.
"""

import importlib.util
import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import warnings
import zipfile
import zlib

import numpy as np
import pytest

import numtorch
from numtorch import cli
from numtorch.apps import mnist

SRC = os.path.dirname(os.path.dirname(numtorch.__file__))
HAVE_PILLOW = importlib.util.find_spec("PIL") is not None
FAST = ["--no-progress", "--no-plots", "--batch-size", "32", "--test-limit", "100"]


def run_child(code, timeout=60, memory_mb=2048):
    """Run ``code`` in a fresh Python with numtorch importable, at most ``memory_mb`` of
    address space and ``timeout`` seconds; returns the CompletedProcess (or raises
    ``subprocess.TimeoutExpired``)."""
    def limit():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=timeout, preexec_fn=limit)


def records_of(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def write_zip(path, records, deflate=()):
    """A zip archive of ``records`` (name, bytes), deflating the names in ``deflate``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w") as z:
            for name, data in records:
                kind = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
                z.writestr(zipfile.ZipInfo(name), data, compress_type=kind)


def peak_memory(fn):
    """``(result or exception, peak bytes Python allocated while running fn)``."""
    tracemalloc.start()
    try:
        try:
            out = fn()
        except Exception as e:  # the caller checks which
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ============================================================================ loading checkpoints
@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "symlink", "file_object"])
def test_load_refuses_devices_at_once(tmp_path, target):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    what = repr(target)
    if target == "symlink":
        what = repr(str(tmp_path / "model.pt"))
        os.symlink("/dev/zero", tmp_path / "model.pt")
    elif target == "file_object":
        what = "open('/dev/zero', 'rb')"
    proc = run_child(f"""
        import pickle, numtorch
        try:
            numtorch.load({what})
        except pickle.UnpicklingError as e:
            print("refused:", e)
        """, timeout=60, memory_mb=1024)
    assert proc.returncode == 0 and "refused:" in proc.stdout, proc.stderr[-2000:]
    assert "not a regular file" in proc.stdout


def test_deflated_pickle_bomb_is_refused_before_inflating(tmp_path):
    numtorch.save({"w": numtorch.ones(2)}, tmp_path / "m.pt")
    records = dict(records_of(tmp_path / "m.pt"))
    big = 96 << 20  # a pickled string of 96 MiB of zeros: 100 KB when deflated
    pkl = b"\x80\x02X" + struct.pack("<I", big) + bytes(big) + b"."
    records["m/data.pkl"] = pkl
    write_zip(tmp_path / "bomb.pt", records.items(), deflate={"m/data.pkl"})
    del pkl, records
    assert os.path.getsize(tmp_path / "bomb.pt") < 1 << 20
    out, peak = peak_memory(lambda: numtorch.load(tmp_path / "bomb.pt"))
    assert isinstance(out, RuntimeError) and "inflate" in str(out)
    assert peak < 16 << 20


def test_deflated_storage_bomb_is_refused(tmp_path):
    numtorch.save({"w": numtorch.arange(6.0)}, tmp_path / "m.pt")
    records = dict(records_of(tmp_path / "m.pt"))
    records["m/data/0"] += bytes(64 << 20)  # 6 floats, then 64 MiB of zeros
    write_zip(tmp_path / "bomb.pt", records.items(), deflate={"m/data/0"})
    del records
    out, peak = peak_memory(lambda: numtorch.load(tmp_path / "bomb.pt"))
    assert isinstance(out, RuntimeError) and "record size" in str(out), out
    assert peak < 16 << 20


@pytest.mark.parametrize("extra", [8, -8])
def test_storage_record_of_the_wrong_size_is_refused(tmp_path, extra):
    numtorch.save({"w": numtorch.arange(6.0)}, tmp_path / "m.pt")
    records = [(n, d + bytes(extra) if extra > 0 and n == "m/data/0" else
                d[:extra] if n == "m/data/0" else d) for n, d in records_of(tmp_path / "m.pt")]
    write_zip(tmp_path / "bad.pt", records)
    with pytest.raises(RuntimeError, match=r"record size \(\d+ bytes\) .*does not match "
                                           r"expected size \(24 bytes"):
        numtorch.load(tmp_path / "bad.pt")


@pytest.mark.parametrize("duplicate", ["m/data.pkl", "m/data/0"])
def test_duplicate_zip_entries_are_refused(tmp_path, duplicate):
    numtorch.save({"w": numtorch.arange(6.0)}, tmp_path / "m.pt")
    records = records_of(tmp_path / "m.pt")
    (tmp_path / "other").mkdir()
    numtorch.save({"w": numtorch.zeros(6)}, tmp_path / "other" / "m.pt")
    records.append((duplicate, dict(records_of(tmp_path / "other" / "m.pt"))[duplicate]))
    write_zip(tmp_path / "dup.pt", records)
    with pytest.raises(RuntimeError, match="two records named"):
        numtorch.load(tmp_path / "dup.pt")


def _safetensors(path, header):
    blob = json.dumps(header).encode() if not isinstance(header, bytes) else header
    path.write_bytes(struct.pack("<Q", len(blob)) + blob)


def test_safetensors_element_count_cannot_overflow(tmp_path):
    _safetensors(tmp_path / "m.safetensors", {"a": {"dtype": "F32", "data_offsets": [0, 0],
                                                    "shape": [2 ** 32, 2 ** 32]}})
    with pytest.raises(RuntimeError, match="don't match its shape"):
        numtorch.load_safetensors(tmp_path / "m.safetensors")


def test_safetensors_deeply_nested_header_is_refused(tmp_path):
    _safetensors(tmp_path / "m.safetensors", b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(RuntimeError, match="nested too deeply"):
        numtorch.load_safetensors(tmp_path / "m.safetensors")


# ======================================================================================== saving
def test_save_cleans_up_its_temporaries(tmp_path, monkeypatch):
    """A killed save's hidden temporary is removed by the next save of the same path; one in
    use by a running save, or another path's, is left alone; an exception leaves none."""
    fcntl = pytest.importorskip("fcntl")
    path = tmp_path / "model.pt"
    stale = tmp_path / ".model.pt.0123456789ab.tmp"   # what a killed save leaves
    stale.write_bytes(b"PK half a checkpoint")
    other = tmp_path / ".other.pt.0123456789ab.tmp"   # another file's: not ours to delete
    other.write_bytes(b"x")
    numtorch.save({"w": numtorch.ones(3)}, path)
    assert not stale.exists() and other.exists()
    assert numtorch.load(path)["w"].tolist() == [1.0, 1.0, 1.0]

    busy = tmp_path / ".model.pt.ba9876543210.tmp"  # a save in progress in another process
    with open(busy, "wb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        proc = run_child(f"""
            import numtorch
            numtorch.save({{"w": numtorch.ones(3)}}, {str(path)!r})
            """)
        assert proc.returncode == 0, proc.stderr
        assert busy.exists()
    busy.unlink()
    other.unlink()

    def failing(*args):
        raise OSError("disk full")

    serialization = importlib.import_module("numtorch.serialization")
    monkeypatch.setattr(getattr(serialization, "writer", serialization), "_write_record", failing)
    with pytest.raises(OSError, match="disk full"):
        numtorch.save({"w": numtorch.zeros(3)}, path)
    assert os.listdir(tmp_path) == ["model.pt"]
    assert numtorch.load(path)["w"].tolist() == [1.0, 1.0, 1.0]


# ===================================================================================== creation
@pytest.mark.parametrize("data", [[2 ** 63], 2 ** 63, [-2 ** 63 - 1], [[1, 2], [3, 2 ** 64]]])
def test_tensor_of_ints_beyond_int64_raises(data):
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        numtorch.tensor(data)


@pytest.mark.parametrize("data,dtype", [([300], "uint8"), ([2 ** 31], "int32"),
                                        ([256], "int8"), ([float("nan")], "int64")])
def test_tensor_values_that_dont_fit_the_dtype_raise(data, dtype):
    with pytest.raises(RuntimeError, match=f"value cannot be converted to type {dtype} "
                                           "without overflow"):
        numtorch.tensor(data, dtype=getattr(numtorch, dtype))


def test_tensor_overflow_matches_torch():
    torch = pytest.importorskip("torch")
    for data, dtype in [([2 ** 63], None), ([-1], "uint8"), ([-256], "uint8"),
                        ([2 ** 63], "float32"), ([2 ** 70], "float64"), ([255.5], "uint8")]:
        got = []
        for lib in (torch, numtorch):
            try:
                t = lib.tensor(data, dtype=None if dtype is None else getattr(lib, dtype))
                got.append(t.tolist())
            except (ValueError, RuntimeError) as e:
                got.append((type(e), str(e)))
        assert got[0] == got[1], (data, dtype)


# ================================================================================ command line
def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, *words):
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0], err
    for w in words:
        assert w in lines[0], err


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """An output directory with a good checkpoint of a short MLP run."""
    out = tmp_path_factory.mktemp("good")
    args = mnist.parse_args(["--epochs", "1", "--limit", "64", "--model", "mlp",
                             "--output-dir", str(out), *FAST])
    mnist.train(args, stream=io.StringIO())
    return out


def test_idx_dimensions_that_overflow(tmp_path, capsys):
    folder = tmp_path / "idx"
    folder.mkdir()
    header = struct.pack(">4B3I", 0, 0, 8, 3, 2 ** 22, 2 ** 21, 2 ** 21)  # 2**64 pixels
    labels = struct.pack(">4BI", 0, 0, 8, 1, 0)
    for split in ("train", "t10k"):
        (folder / f"{split}-images-idx3-ubyte").write_bytes(header)
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(labels)
    rc, _, err = run(capsys, "mnist", "--data", folder, "--output-dir", tmp_path / "out", *FAST)
    assert_one_line_error(rc, err, "IDX")


def test_learning_rate_must_be_finite_and_positive(tmp_path, capsys):
    for lr in ["inf", "-inf", "nan", "-0.1", "0"]:
        rc, _, err = run(capsys, "mnist", f"--lr={lr}", "--epochs", 1, "--limit", 32,
                         "--output-dir", tmp_path, *FAST)
        assert_one_line_error(rc, err, "--lr")
        assert not (tmp_path / "checkpoint.pt").exists()


@pytest.mark.parametrize("kind", ["file", "under_a_file", "read_only_fs"])
def test_unusable_output_dir(tmp_path, capsys, kind):
    if kind == "file":
        target = tmp_path / "out"
        target.write_text("not a directory")
    elif kind == "under_a_file":
        (tmp_path / "f").write_text("x")
        target = tmp_path / "f" / "out"
    else:
        if not os.path.isdir("/proc/self"):
            pytest.skip("no /proc")
        target = "/proc/numtorch-output"
    rc, _, err = run(capsys, "mnist", "--epochs", 1, "--limit", 32, "--output-dir", target,
                     *FAST)
    assert_one_line_error(rc, err, "--output-dir")


def _resume(capsys, tmp_path, checkpoint):
    return run(capsys, "mnist", "--resume", checkpoint, "--model", "mlp", "--epochs", 2,
               "--limit", 64, "--output-dir", tmp_path / "out", *FAST)


def test_resume_from_a_damaged_file(tmp_path, capsys, good_run):
    good = (good_run / "checkpoint.pt").read_bytes()
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(good[: len(good) // 2])
    rc, _, err = _resume(capsys, tmp_path, damaged)
    assert_one_line_error(rc, err, str(damaged))
    assert damaged.read_bytes() == good[: len(good) // 2]


def test_resume_from_a_whole_module_pickle(tmp_path, capsys):
    from numtorch.apps.models import build_model
    numtorch.save(build_model("mlp"), tmp_path / "whole.pt")
    rc, _, err = _resume(capsys, tmp_path, tmp_path / "whole.pt")
    assert_one_line_error(rc, err, "state_dict")


@pytest.mark.parametrize("kind", ["state_dict", "foreign_checkpoint", "wrong_shapes"])
def test_resume_from_another_networks_checkpoint(tmp_path, capsys, good_run, kind):
    other = numtorch.nn.Sequential(numtorch.nn.Linear(3, 2))
    if kind == "state_dict":
        obj = other.state_dict()
    elif kind == "foreign_checkpoint":
        obj = {"model": other.state_dict(), "epoch": 3}
    else:
        obj = numtorch.load(good_run / "checkpoint.pt")
        obj["model"] = {k: v[:1] for k, v in obj["model"].items()}
    numtorch.save(obj, tmp_path / "other.pt")
    rc, _, err = _resume(capsys, tmp_path, tmp_path / "other.pt")
    assert_one_line_error(rc, err, str(tmp_path / "other.pt"))
    assert "--model None" not in err


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow notes while diverging
def test_diverging_training_stops_and_keeps_the_good_checkpoint(tmp_path, capsys, good_run):
    out = tmp_path / "out"
    out.mkdir()
    good = (good_run / "checkpoint.pt").read_bytes()
    (out / "checkpoint.pt").write_bytes(good)
    argv = ["mnist", "--model", "mlp", "--optimizer", "sgd", "--lr", "1e30", "--scheduler",
            "none", "--epochs", 1, "--limit", 64, "--output-dir", out, *FAST]
    rc, _, err = run(capsys, *argv)
    assert_one_line_error(rc, err, "diverged", "--allow-nan")
    assert (out / "checkpoint.pt").read_bytes() == good
    rc, _, err = run(capsys, *argv, "--allow-nan")  # asked for: saved as it is
    assert rc == 0, err
    weights = numtorch.load(out / "checkpoint.pt")["model"]
    assert not all(np.isfinite(w.numpy()).all() for w in weights.values())


def _png(width, height, idat=b""):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(idat)) + chunk(b"IEND", b""))


@pytest.mark.skipif(not HAVE_PILLOW, reason="needs Pillow")
def test_predict_refuses_a_decompression_bomb_png(tmp_path, capsys, good_run):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png(30000, 30000))
    assert len(bomb.read_bytes()) < 100
    rc, _, err = run(capsys, "predict", good_run / "checkpoint.pt", bomb)
    assert_one_line_error(rc, err, str(bomb))


@pytest.mark.parametrize("kind", ["whole_module", "damaged", "not_a_dict"])
def test_predict_with_a_bad_checkpoint(tmp_path, capsys, good_run, kind):
    from numtorch.apps.models import build_model
    path = tmp_path / "ckpt.pt"
    if kind == "whole_module":
        numtorch.save(build_model("lenet"), path)
    elif kind == "damaged":
        good = (good_run / "checkpoint.pt").read_bytes()
        path.write_bytes(good[:-200])
    else:
        numtorch.save([numtorch.ones(2)], path)
    np.save(tmp_path / "digit.npy", np.zeros((28, 28), np.uint8))
    rc, _, err = run(capsys, "predict", path, tmp_path / "digit.npy")
    assert_one_line_error(rc, err, str(path))


def _npy_header_only(path, shape, dtype="<f4"):
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)


@pytest.mark.parametrize("kind", ["objects", "huge", "all_nan", "empty"])
def test_predict_with_a_bad_npy(tmp_path, capsys, good_run, kind):
    path = tmp_path / "digit.npy"
    if kind == "objects":
        np.save(path, np.array([[{"a": 1}, None]], dtype=object), allow_pickle=True)
    elif kind == "huge":
        _npy_header_only(path, (10 ** 6, 10 ** 6))  # claims 10**12 floats
    elif kind == "all_nan":
        np.save(path, np.full((28, 28), np.nan, np.float32))
    else:
        np.save(path, np.zeros((0, 0), np.float32))
    rc, _, err = run(capsys, "predict", good_run / "checkpoint.pt", path)
    assert_one_line_error(rc, err, str(path))


# ================================================================================== DataLoader
_LOADER_SCRIPT = """
import os, signal, threading, numtorch
from numtorch.utils.data import DataLoader, Dataset

class Unpicklable(Dataset):
    def __len__(self):
        return 4
    def __getitem__(self, i):
        return threading.Lock()

class Killed(Dataset):
    def __len__(self):
        return 64
    def __getitem__(self, i):
        if i == 5:
            os.kill(os.getpid(), signal.SIGKILL)
        return i

if __name__ == "__main__":
    dataset = {kind}()
    try:
        for _ in DataLoader(dataset, batch_size=2, num_workers=1, collate_fn=list,
                            timeout={timeout}):
            pass
    except Exception as e:
        print(type(e).__name__ + ": " + str(e).splitlines()[0])
"""


def _run_loader(tmp_path, kind, timeout):
    script = tmp_path / "loader.py"
    script.write_text(_LOADER_SCRIPT.format(kind=kind, timeout=timeout))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    try:
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              env=env, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the DataLoader hung")
    return proc.stdout.strip()


def test_a_batch_that_cannot_be_pickled_raises_in_the_main_process(tmp_path):
    out = _run_loader(tmp_path, "Unpicklable", 0)
    assert out.startswith("TypeError: Caught TypeError in DataLoader worker process 0"), out


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_worker_is_reported_as_killed_at_once(tmp_path):
    # With a 3-second timeout, a loader that notices the death only every few seconds would
    # report a timeout instead.
    out = _run_loader(tmp_path, "Killed", 3)
    assert out.startswith("RuntimeError: DataLoader worker (pid ") and \
        "is killed by signal: Killed." in out, out
