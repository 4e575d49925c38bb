"""numtorch.save / numtorch.load against torch.save / torch.load, safety, damage, safetensors.

Tests that need torch take the ``torch`` fixture (skipped when torch is missing); the rest check
that numtorch reads its own files, refuses malicious ones and reports damaged ones without it.
"""

import io
import json
import os
import pickle
import struct
import warnings
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import numtorch
from numtorch import serialization
from numtorch.nn.parameter import Parameter
from numtorch.serialization import writer

ALL_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
              np.uint8, np.bool_, np.complex64, np.complex128]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def nt(arr):
    """A numtorch tensor over ``arr`` (no copy, so views stay views)."""
    return numtorch.from_numpy(np.asarray(arr))


def sample(shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.bool_:
        return np.asarray(rng.random(shape) > 0.5)
    if np.dtype(dtype).kind == "c":
        out = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    elif np.dtype(dtype).kind in "iu":
        out = rng.integers(0, 100, shape)
    else:
        out = rng.standard_normal(shape)
    return np.asarray(out, dtype=dtype)


def lenet_arrays(seed=0):
    shapes = [("conv1.weight", (6, 1, 5, 5)), ("conv1.bias", (6,)),
              ("conv2.weight", (16, 6, 5, 5)), ("conv2.bias", (16,)),
              ("fc1.weight", (120, 400)), ("fc1.bias", (120,)), ("fc2.weight", (84, 120)),
              ("fc2.bias", (84,)), ("fc3.weight", (10, 84)), ("fc3.bias", (10,))]
    return OrderedDict((k, sample(s, seed=seed + i)) for i, (k, s) in enumerate(shapes))


def assert_same(a, b):
    """``a`` (numtorch side) and ``b`` (torch or numtorch side) hold the same data."""
    if isinstance(a, numtorch.Tensor):
        assert type(b).__name__ in ("Tensor", "Parameter"), type(b)
        bn = b._data if isinstance(b, numtorch.Tensor) else b.detach().numpy()
        assert a._data.dtype == bn.dtype
        assert a._data.shape == bn.shape
        np.testing.assert_array_equal(a._data, bn)
        assert bool(a.requires_grad) == bool(b.requires_grad)
        assert (type(a).__name__ == "Parameter") == (type(b).__name__ == "Parameter")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and type(a).__name__ == type(b).__name__
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) or (type(a).__name__ == type(b).__name__ == "Size")
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, numtorch.dtype):
        assert str(a) == str(b)
    else:
        assert type(a) is type(b) and a == b, (a, b)


def to_torch(torch, obj):
    """The same structure with torch tensors (copies of the numtorch arrays)."""
    if isinstance(obj, numtorch.Tensor):
        t = torch.from_numpy(obj._data.copy())
        if type(obj).__name__ == "Parameter":
            return torch.nn.Parameter(t, obj.requires_grad)
        return t.requires_grad_(obj.requires_grad)
    if isinstance(obj, dict):
        return type(obj)((k, to_torch(torch, v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_torch(torch, v) for v in obj)
    return obj


def adam_state(make):
    return {
        "state": {0: {"step": make(np.array(3.0, np.float32)),
                      "exp_avg": make(sample((4, 3), seed=1)),
                      "exp_avg_sq": make(np.abs(sample((4, 3), seed=2)))},
                  1: {"step": make(np.array(3.0, np.float32)),
                      "exp_avg": make(sample((4,), seed=3)),
                      "exp_avg_sq": make(np.abs(sample((4,), seed=4)))}},
        "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0,
                          "amsgrad": False, "maximize": False, "foreach": None,
                          "capturable": False, "differentiable": False, "fused": None,
                          "decoupled_weight_decay": False, "params": [0, 1]}],
    }


def batchnorm_buffers(make):
    return OrderedDict([("bn.weight", make(np.ones(6, np.float32))),
                        ("bn.bias", make(np.zeros(6, np.float32))),
                        ("bn.running_mean", make(sample((6,), seed=5))),
                        ("bn.running_var", make(np.abs(sample((6,), seed=6)))),
                        ("bn.num_batches_tracked", make(np.array(7, np.int64)))])


def checkpoints(make):
    model = OrderedDict((k, make(v)) for k, v in lenet_arrays().items())
    return {
        "lenet": model,
        "batchnorm": batchnorm_buffers(make),
        "adam": adam_state(make),
        "nested": {"model": model, "optimizer": adam_state(make), "epoch": 3},
    }


# --------------------------------------------------------------------------- numtorch <-> torch
@pytest.mark.parametrize("name", ["lenet", "batchnorm", "adam", "nested"])
def test_numtorch_save_torch_load(torch, tmp_path, name):
    obj = checkpoints(nt)[name]
    path = tmp_path / "ckpt.pt"
    numtorch.save(obj, path)
    assert_same(obj, torch.load(path, weights_only=True))


@pytest.mark.parametrize("name", ["lenet", "batchnorm", "adam", "nested"])
def test_torch_save_numtorch_load(torch, tmp_path, name):
    obj = checkpoints(nt)[name]
    path = tmp_path / "ckpt.pt"
    torch.save(to_torch(torch, obj), path)
    assert_same(obj, numtorch.load(path))


@pytest.mark.parametrize("name", ["lenet", "batchnorm", "adam", "nested"])
def test_numtorch_round_trip_without_torch(tmp_path, name):
    obj = checkpoints(nt)[name]
    numtorch.save(obj, tmp_path / "ckpt.pt")
    assert_same(obj, numtorch.load(tmp_path / "ckpt.pt"))


def test_real_torch_model_and_optimizer(torch, tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(8, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(4, 1, 4, 4)).sum().backward()
    opt.step()
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}
    torch.save(ckpt, tmp_path / "t.pt")
    loaded = numtorch.load(tmp_path / "t.pt", map_location="cpu")
    assert list(loaded["model"]) == list(ckpt["model"])
    assert loaded["model"]._metadata == ckpt["model"]._metadata
    assert loaded["model"]["1.num_batches_tracked"].dtype == numtorch.int64
    assert loaded["optimizer"]["param_groups"] == ckpt["optimizer"]["param_groups"]
    for k, v in ckpt["optimizer"]["state"][0].items():
        np.testing.assert_array_equal(loaded["optimizer"]["state"][0][k]._data, v.numpy())
    # ... and numtorch writes it back in a form torch restores the model from
    numtorch.save(loaded, tmp_path / "n.pt")
    again = torch.load(tmp_path / "n.pt", weights_only=True)
    model.load_state_dict(again["model"])
    opt.load_state_dict(again["optimizer"])
    assert again["model"]._metadata == ckpt["model"]._metadata


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(), (0, 3), (2, 3, 4)])
def test_every_dtype_both_ways(torch, tmp_path, dtype, shape):
    arr = sample(shape, dtype)
    numtorch.save({"x": nt(arr)}, tmp_path / "n.pt")
    t = torch.load(tmp_path / "n.pt", weights_only=True)["x"]
    assert str(t.dtype) == str(nt(arr).dtype)
    assert tuple(t.shape) == shape
    np.testing.assert_array_equal(t.numpy(), arr)
    torch.save({"x": torch.from_numpy(arr.copy())}, tmp_path / "t.pt")
    back = numtorch.load(tmp_path / "t.pt")["x"]
    assert back._data.dtype == arr.dtype and back.shape == shape
    np.testing.assert_array_equal(back._data, arr)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_round_trip_without_torch(tmp_path, dtype):
    arr = sample((3, 2), dtype)
    numtorch.save([nt(arr), nt(arr[0])], tmp_path / "n.pt")
    back = numtorch.load(tmp_path / "n.pt")
    assert back[0]._data.dtype == arr.dtype
    np.testing.assert_array_equal(back[0]._data, arr)
    np.testing.assert_array_equal(back[1]._data, arr[0])


def test_bfloat16_both_ways(torch, tmp_path):
    t = torch.tensor([1.5, -2.0, 3.25], dtype=torch.bfloat16)
    torch.save(t, tmp_path / "t.pt")
    back = numtorch.load(tmp_path / "t.pt")
    assert back.dtype == numtorch.bfloat16
    np.testing.assert_array_equal(back.float()._data, t.float().numpy())
    numtorch.save(back * 2, tmp_path / "n.pt")
    again = torch.load(tmp_path / "n.pt", weights_only=True)
    assert again.dtype == torch.bfloat16
    assert torch.equal(again, t * 2)


def test_parameters_and_requires_grad_both_ways(torch, tmp_path):
    p = Parameter(nt(sample((3, 2))))
    frozen = Parameter(nt(sample((2,))), requires_grad=False)
    leaf = nt(sample((2,))).requires_grad_(True)
    numtorch.save({"p": p, "frozen": frozen, "leaf": leaf}, tmp_path / "n.pt")
    got = torch.load(tmp_path / "n.pt", weights_only=True)
    assert isinstance(got["p"], torch.nn.Parameter) and got["p"].requires_grad
    assert isinstance(got["frozen"], torch.nn.Parameter) and not got["frozen"].requires_grad
    assert type(got["leaf"]) is torch.Tensor and got["leaf"].requires_grad
    torch.save(got, tmp_path / "t.pt")
    back = numtorch.load(tmp_path / "t.pt")
    assert_same({"p": p, "frozen": frozen, "leaf": leaf}, back)


def test_python_values_both_ways(torch, tmp_path):
    obj = {"none": None, "str": "héllo", "int": -(2 ** 70), "float": 0.1, "bool": True,
           "complex": 1 - 2j, "tuple": (1, (2, [3.0])), "set": {1, 2}, "bytes": b"\x00\xff",
           "empty_bytes": b"", "size": numtorch.Size([2, 3]), "dtype": numtorch.float16,
           "device": numtorch.device("cpu"), 7: "int key", "np_scalar": np.float32(0.5)}
    numtorch.save(obj, tmp_path / "n.pt")
    got = torch.load(tmp_path / "n.pt", weights_only=True)
    assert got["size"] == torch.Size([2, 3]) and type(got["size"]) is torch.Size
    assert got["dtype"] is torch.float16 and got["device"] == torch.device("cpu")
    assert got["np_scalar"] == 0.5 and type(got["np_scalar"]) is float
    for k in ("none", "str", "int", "float", "bool", "complex", "tuple", "set", "bytes",
              "empty_bytes", 7):
        assert got[k] == obj[k] and type(got[k]) is type(obj[k])
    torch.save(got, tmp_path / "t.pt")
    back = numtorch.load(tmp_path / "t.pt")
    assert back["size"] == (2, 3) and type(back["size"]) is numtorch.Size
    assert back["dtype"] is numtorch.float16 and back["device"] == numtorch.device("cpu")
    assert list(back) == list(obj)
    for k in ("none", "str", "int", "float", "bool", "complex", "tuple", "set", "bytes",
              "empty_bytes", 7):
        assert back[k] == obj[k] and type(back[k]) is type(obj[k])


# ------------------------------------------------------------------------------ shared storage
def test_views_share_one_storage_in_torch(torch, tmp_path):
    base = np.arange(24, dtype=np.float32)
    w = nt(base.reshape(4, 6))
    obj = {"w": w, "row": nt(base.reshape(4, 6)[2]), "t": nt(base.reshape(4, 6).T),
           "tail": nt(base[10:]), "tied": w}
    numtorch.save(obj, tmp_path / "n.pt")
    with zipfile.ZipFile(tmp_path / "n.pt") as z:
        assert sum("/data/" in n for n in z.namelist()) == 1
    got = torch.load(tmp_path / "n.pt", weights_only=True)
    assert got["tied"] is got["w"]
    ptr = got["w"].untyped_storage().data_ptr()
    assert all(got[k].untyped_storage().data_ptr() == ptr for k in ("row", "t", "tail"))
    assert got["t"].stride() == (1, 6) and got["tail"].storage_offset() == 10
    got["w"][2, 0] = -1.0
    assert got["row"][0] == -1.0 and got["t"][0, 2] == -1.0 and got["tail"][2] == -1.0


def test_torch_views_stay_shared_in_numtorch(torch, tmp_path):
    w = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    torch.save({"w": w, "row": w[2], "t": w.t(), "tail": w.view(-1)[10:], "tied": w},
               tmp_path / "t.pt")
    got = numtorch.load(tmp_path / "t.pt")
    assert got["tied"] is got["w"]
    base = got["w"]._data.base
    assert base is not None and all(got[k]._data.base is base for k in ("row", "t", "tail"))
    np.testing.assert_array_equal(got["t"]._data, w.t().numpy())
    got["w"]._data[2, 0] = -1.0
    assert got["row"]._data[0] == -1.0 and got["t"]._data[0, 2] == -1.0
    assert got["tail"]._data[2] == -1.0


def test_sharing_survives_a_numtorch_round_trip(tmp_path):
    base = np.arange(12, dtype=np.float64)
    numtorch.save([nt(base), nt(base[::2]), nt(base.reshape(3, 4).T)], tmp_path / "n.pt")
    a, b, c = numtorch.load(tmp_path / "n.pt")
    assert b._data.base is a._data.base and c._data.base is a._data.base
    np.testing.assert_array_equal(c._data, base.reshape(3, 4).T)
    a._data[4] = 100.0
    assert b._data[2] == 100.0 and c._data[0, 1] == 100.0


def test_unrepresentable_strides_are_saved_as_copies(torch, tmp_path):
    base = np.arange(6, dtype=np.float32)
    numtorch.save({"flip": nt(base[::-1]), "base": nt(base)}, tmp_path / "n.pt")
    got = torch.load(tmp_path / "n.pt", weights_only=True)
    np.testing.assert_array_equal(got["flip"].numpy(), base[::-1])
    np.testing.assert_array_equal(got["base"].numpy(), base)


# -------------------------------------------------------------------------------- file objects
def test_file_objects_mmap_and_map_location(torch, tmp_path):
    obj = checkpoints(nt)["lenet"]
    buf = io.BytesIO()
    numtorch.save(obj, buf)
    buf.seek(0)
    assert_same(obj, torch.load(buf, weights_only=True))
    buf.seek(0)
    assert_same(obj, numtorch.load(buf))
    tbuf = io.BytesIO()
    torch.save(to_torch(torch, obj), tbuf)
    tbuf.seek(0)
    assert_same(obj, numtorch.load(tbuf, map_location=numtorch.device("cpu")))
    path = tmp_path / "n.pt"
    numtorch.save(obj, path)
    mapped = numtorch.load(path, mmap=True, map_location={"cuda:0": "cpu"})
    assert_same(obj, mapped)
    assert_same(obj, torch.load(path, mmap=True, weights_only=True))
    mapped["fc1.weight"]._data[0, 0] = 123.0  # copy-on-write: the file is unchanged
    assert numtorch.load(path)["fc1.weight"]._data[0, 0] == obj["fc1.weight"]._data[0, 0]
    seen = []
    numtorch.load(path, map_location=lambda storage, loc: seen.append(loc) or storage)
    assert seen and set(seen) == {"cpu"}


def test_load_errors_like_torch(tmp_path):
    numtorch.save({"a": nt(np.ones(2))}, tmp_path / "n.pt")
    with pytest.raises(ValueError, match="mmap"):
        numtorch.load(io.BytesIO((tmp_path / "n.pt").read_bytes()), mmap=True)
    with pytest.raises(RuntimeError, match="cuda"):
        numtorch.load(tmp_path / "n.pt", map_location="cuda")
    with pytest.raises(RuntimeError, match="Parent directory"):
        numtorch.save({}, tmp_path / "missing" / "x.pt")


def test_non_seekable_reader(tmp_path):
    numtorch.save({"a": nt(np.arange(3))}, tmp_path / "n.pt")

    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._src = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self._src.readinto(b)

    got = numtorch.load(Pipe((tmp_path / "n.pt").read_bytes()))
    np.testing.assert_array_equal(got["a"]._data, np.arange(3))


def test_pickle_protocols(torch, tmp_path):
    obj = checkpoints(nt)["nested"]
    for protocol in (2, 3, 4, 5):
        numtorch.save(obj, tmp_path / "n.pt", pickle_protocol=protocol)
        assert_same(obj, numtorch.load(tmp_path / "n.pt"))
        # torch's weights_only loader warns about protocols other than 2 and can't read the
        # frames of protocol 4+ (not even in its own files), so read those with the full one
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            got = torch.load(tmp_path / "n.pt", weights_only=protocol < 4)
        assert_same(obj, got)
        torch.save(to_torch(torch, obj), tmp_path / "t.pt", pickle_protocol=protocol)
        assert_same(obj, numtorch.load(tmp_path / "t.pt"))


def test_storages_are_aligned_like_torch(tmp_path):
    numtorch.save([nt(np.ones(n, np.float32)) for n in (1, 3, 17)], tmp_path / "n.pt")
    raw = (tmp_path / "n.pt").read_bytes()
    with zipfile.ZipFile(tmp_path / "n.pt") as z:
        for info in z.infolist():
            if "/data/" in info.filename:
                name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:
                                                               info.header_offset + 30])
                assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0
        names = z.namelist()
        assert names[0] == "n/data.pkl" and "n/version" in names and "n/byteorder" in names
        assert z.read("n/byteorder") == b"little"


class Point:
    """A user class at module level (importable, so whole objects of it can be pickled)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return type(other) is Point and (self.x, self.y) == (other.x, other.y)


_NUMPY_GLOBALS = [np._core.multiarray._reconstruct, np.ndarray, np.dtype,
                  type(np.dtype(np.float64))]


def test_any_picklable_object_saves(tmp_path):
    obj = {"cfg": Point(1, [2, 3]), "arr": np.arange(4.0), "w": nt(np.ones(3, np.float32))}
    numtorch.save(obj, tmp_path / "n.pt")
    got = numtorch.load(tmp_path / "n.pt", weights_only=False)
    assert got["cfg"] == Point(1, [2, 3])
    np.testing.assert_array_equal(got["arr"], np.arange(4.0))
    assert isinstance(got["w"], numtorch.Tensor) and got["w"].tolist() == [1.0, 1.0, 1.0]


def test_weights_only_is_the_default_and_refuses_other_globals(tmp_path):
    numtorch.save({"cfg": Point(1, 2)}, tmp_path / "n.pt")
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed") as e:
        numtorch.load(tmp_path / "n.pt")
    name = f"{Point.__module__}.Point"
    assert f"GLOBAL {name} was not an allowed global by default" in str(e.value)
    assert f"torch.serialization.add_safe_globals([{name}])" in str(e.value)
    with pytest.raises(pickle.UnpicklingError):
        numtorch.load(tmp_path / "n.pt", weights_only=True)
    with pytest.raises(RuntimeError, match="explicit pickle_module"):
        numtorch.load(tmp_path / "n.pt", pickle_module=pickle, weights_only=True)
    assert numtorch.load(tmp_path / "n.pt", pickle_module=pickle)["cfg"] == Point(1, 2)


def test_refusal_message_is_torchs(torch, tmp_path):
    for i, obj in enumerate([{"cfg": Point(1, 2)}, np.arange(3.0), [1, Point(0, 0)]]):
        path = tmp_path / f"n{i}.pt"
        numtorch.save(obj, path)
        with pytest.raises(pickle.UnpicklingError) as ours:
            numtorch.load(path)
        with pytest.raises(pickle.UnpicklingError) as theirs:
            torch.load(path)
        assert str(ours.value) == str(theirs.value)


def test_safe_globals_allow_user_classes_and_numpy_arrays(tmp_path):
    numtorch.save({"cfg": Point(1, 2), "arr": np.arange(3.0)}, tmp_path / "n.pt")
    assert serialization.get_safe_globals() == []
    with serialization.safe_globals([Point] + _NUMPY_GLOBALS):
        assert serialization.get_safe_globals() == [Point] + _NUMPY_GLOBALS
        got = numtorch.load(tmp_path / "n.pt")
    assert got["cfg"] == Point(1, 2)
    np.testing.assert_array_equal(got["arr"], np.arange(3.0))
    assert serialization.get_safe_globals() == []
    serialization.add_safe_globals([Point])
    try:
        assert serialization.get_unsafe_globals_in_checkpoint(tmp_path / "n.pt") == [
            "numpy._core.multiarray._reconstruct", "numpy.dtype", "numpy.ndarray"]
        with pytest.raises(pickle.UnpicklingError, match="numpy"):
            numtorch.load(tmp_path / "n.pt")
    finally:
        serialization.clear_safe_globals()
    assert serialization.get_safe_globals() == []
    with pytest.raises(ValueError, match="tuple of length 2"):
        serialization.add_safe_globals([(Point,)])


def test_numpy_arrays_take_torchs_allowlisted_path(torch, tmp_path):
    """torch pickles ndarrays with numpy's own reduce; both load them only when allowed."""
    arr = np.arange(6, dtype=np.int32).reshape(2, 3)
    torch.save(arr, tmp_path / "t.pt")
    numtorch.save(arr, tmp_path / "n.pt")
    allowed = _NUMPY_GLOBALS[:3] + [type(arr.dtype)]
    for path in (tmp_path / "t.pt", tmp_path / "n.pt"):
        with pytest.raises(pickle.UnpicklingError, match="numpy._core.multiarray._reconstruct"):
            numtorch.load(path)
        np.testing.assert_array_equal(numtorch.load(path, weights_only=False), arr)
        np.testing.assert_array_equal(torch.load(path, weights_only=False), arr)
        with serialization.safe_globals(allowed):
            np.testing.assert_array_equal(numtorch.load(path), arr)
        with torch.serialization.safe_globals(allowed):
            np.testing.assert_array_equal(torch.load(path), arr)


def _same_module_outputs(ours, theirs, torch):
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    got = ours(numtorch.from_numpy(x)).detach().numpy()
    want = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_whole_module_numtorch_to_torch(torch, tmp_path):
    net = numtorch.nn.Sequential(numtorch.nn.Linear(4, 3), numtorch.nn.ReLU(),
                                 numtorch.nn.Linear(3, 2))
    numtorch.save(net, tmp_path / "net.pt")
    with pytest.raises(pickle.UnpicklingError, match="torch.nn.modules.container.Sequential"):
        torch.load(tmp_path / "net.pt")
    theirs = torch.load(tmp_path / "net.pt", weights_only=False)
    assert type(theirs) is torch.nn.Sequential and type(theirs[0]) is torch.nn.Linear
    _same_module_outputs(net, theirs, torch)
    back = numtorch.load(tmp_path / "net.pt", weights_only=False)
    assert type(back) is numtorch.nn.Sequential and repr(back) == repr(net)
    _same_module_outputs(back, theirs, torch)


def test_whole_module_torch_to_numtorch(torch, tmp_path):
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(),
                                 torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    theirs[2].running_mean.uniform_()
    theirs.eval()
    torch.save(theirs, tmp_path / "net.pt")
    with pytest.raises(pickle.UnpicklingError, match="torch.nn.modules.container.Sequential"):
        numtorch.load(tmp_path / "net.pt")
    ours = numtorch.load(tmp_path / "net.pt", weights_only=False)
    assert type(ours) is numtorch.nn.Sequential and type(ours[1]) is numtorch.nn.Tanh
    assert isinstance(ours[0].weight, numtorch.nn.Parameter) and ours[0].weight.requires_grad
    _same_module_outputs(ours, theirs, torch)
    with serialization.safe_globals([numtorch.nn.Sequential, numtorch.nn.Linear,
                                     numtorch.nn.Tanh, numtorch.nn.BatchNorm1d, set]):
        _same_module_outputs(numtorch.load(tmp_path / "net.pt"), theirs, torch)


def test_weights_only_false_runs_code_only_when_asked(tmp_path):
    marker = tmp_path / "ran"
    _checkpoint_with(pickle.dumps(_Exploit(open, str(marker), "w"), protocol=2),
                     tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError):
        numtorch.load(tmp_path / "evil.pt")
    assert not marker.exists()
    numtorch.load(tmp_path / "evil.pt", weights_only=False).close()
    assert marker.exists()


# ----------------------------------------------------------------------------------- malicious
class _Exploit:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _checkpoint_with(pkl_bytes, path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pkl_bytes)
        z.writestr("archive/byteorder", b"little")
        z.writestr("archive/version", b"3\n")


def _malicious_pickles(marker):
    cmd = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"
    system = r"(os|posix)\.system"  # os.system pickles as posix.system on Linux
    yield system, pickle.dumps({"w": _Exploit(os.system, cmd)}, protocol=2)
    yield r"GLOBAL exec ", pickle.dumps(_Exploit(exec, code), protocol=4)  # STACK_GLOBAL
    yield r"GLOBAL eval ", pickle.dumps([1, _Exploit(eval, code)], protocol=2)
    yield r"posix\.system", b"(cposix\nsystem\nX" + struct.pack("<I", len(cmd)) + cmd.encode() \
        + b"tR."
    yield r"os\.system", b"(X" + struct.pack("<I", len(cmd)) + cmd.encode() + b"ios\nsystem\n."
    yield r"GLOBAL getattr ", b"\x80\x02cbuiltins\ngetattr\n."


@pytest.mark.parametrize("weights_only", [True, None])
def test_malicious_checkpoints_are_refused(tmp_path, weights_only):
    marker = tmp_path / "pwned"
    for i, (name, pkl) in enumerate(_malicious_pickles(marker)):
        path = tmp_path / f"evil{i}.pt"
        _checkpoint_with(pkl, path)
        with pytest.raises(pickle.UnpicklingError, match=name):
            numtorch.load(path, weights_only=weights_only)
        assert not marker.exists()


def test_build_cannot_patch_numtorch_objects(tmp_path):
    # BUILD on a dtype would otherwise rename numtorch.float32 for the whole process
    pkl = b"\x80\x02ctorch\nfloat32\n}X\x04\x00\x00\x00nameX\x04\x00\x00\x00evilsb."
    _checkpoint_with(pkl, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError, match="OrderedDict"):
        numtorch.load(tmp_path / "evil.pt")
    assert str(numtorch.float32) == "torch.float32"
    # REDUCE may only call allowlisted functions, not a dtype or a storage marker
    _checkpoint_with(b"\x80\x02ctorch\nFloatStorage\n)R.", tmp_path / "evil2.pt")
    with pytest.raises(pickle.UnpicklingError):
        numtorch.load(tmp_path / "evil2.pt")


def test_torch_refuses_what_numtorch_refuses(torch, tmp_path):
    """The crafted files really are attacks: torch's weights_only loader refuses them too."""
    marker = tmp_path / "pwned"
    name, pkl = next(_malicious_pickles(marker))
    _checkpoint_with(pkl, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError, match="os.system|posix.system"):
        torch.load(tmp_path / "evil.pt", weights_only=True)
    assert not marker.exists()


def test_out_of_bounds_tensor_is_refused(tmp_path):
    numtorch.save(nt(np.arange(4, dtype=np.float32)), tmp_path / "n.pt")
    with zipfile.ZipFile(tmp_path / "n.pt") as z:
        records = {n: z.read(n) for n in z.namelist()}
    pkl = records["n/data.pkl"].replace(b"K\x04\x85", b"K\x40\x85")  # size (4,) -> (64,)
    assert pkl != records["n/data.pkl"]
    with zipfile.ZipFile(tmp_path / "bad.pt", "w") as z:
        for n, data in records.items():
            z.writestr(n, pkl if n.endswith("data.pkl") else data)
    with pytest.raises(RuntimeError, match="outside its storage"):
        numtorch.load(tmp_path / "bad.pt")


# ------------------------------------------------------------------------------ damaged files
def _good_bytes(tmp_path):
    numtorch.save(checkpoints(nt)["nested"], tmp_path / "good.pt")
    return (tmp_path / "good.pt").read_bytes()


@pytest.mark.parametrize("kind", ["empty", "half", "tail", "garbage", "text", "legacy",
                                  "zip_without_pickle", "short_pickle", "corrupt_storage"])
def test_damaged_files_raise_clear_runtime_errors(tmp_path, kind):
    good = _good_bytes(tmp_path)
    path = tmp_path / "bad.pt"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "half":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "tail":
        path.write_bytes(good[:-10])
    elif kind == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif kind == "text":
        path.write_text("epoch,loss\n1,0.5\n")
    elif kind == "legacy":
        path.write_bytes(serialization._LEGACY_MAGIC + b"more pickle")
    elif kind == "zip_without_pickle":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("notes.txt", "hello")
    elif kind == "short_pickle":
        with zipfile.ZipFile(io.BytesIO(good)) as z:
            pkl = z.read("good/data.pkl")
        _checkpoint_with(pkl[: len(pkl) // 2], path)
    elif kind == "corrupt_storage":
        with zipfile.ZipFile(io.BytesIO(good)) as z:
            info = z.getinfo("good/data/5")
        name_len, extra_len = struct.unpack("<HH", good[info.header_offset + 26:
                                                        info.header_offset + 30])
        at = info.header_offset + 30 + name_len + extra_len + 3
        path.write_bytes(good[:at] + bytes([good[at] ^ 0xFF]) + good[at + 1:])
    message = {"empty": "empty", "legacy": "legacy", "corrupt_storage": "checksum"}.get(
        kind, "damaged or is not a PyTorch checkpoint")
    with pytest.raises(RuntimeError, match=message):
        numtorch.load(path)


def test_torch_also_rejects_them_with_runtime_errors(torch, tmp_path):
    good = _good_bytes(tmp_path)
    (tmp_path / "half.pt").write_bytes(good[: len(good) // 2])
    with pytest.raises(RuntimeError):
        torch.load(tmp_path / "half.pt", weights_only=True)


# ---------------------------------------------------------------------------------- atomicity
@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch, exc):
    path = tmp_path / "model.pt"
    old = checkpoints(nt)["lenet"]
    numtorch.save(old, path)
    before = path.read_bytes()
    real = writer._write_record
    calls = []

    def failing(zf, fileobj, name, data, align):
        calls.append(name)
        if "/data/3" in name:
            fileobj.write(b"partial")
            raise exc
        return real(zf, fileobj, name, data, align)

    monkeypatch.setattr(writer, "_write_record", failing)
    new = OrderedDict((k, nt(v._data * 2)) for k, v in old.items())
    with pytest.raises(type(exc)):
        numtorch.save(new, path)
    assert any("/data/3" in c for c in calls)
    assert path.read_bytes() == before
    assert_same(old, numtorch.load(path))
    assert os.listdir(tmp_path) == ["model.pt"]  # no temporary file left behind


def test_save_over_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "model.pt"
    numtorch.save({"a": nt(np.ones(1))}, path)
    os.chmod(path, 0o640)
    numtorch.save({"a": nt(np.zeros(1))}, path)
    assert path.stat().st_mode & 0o777 == 0o640
    assert numtorch.load(path)["a"]._data[0] == 0.0


# --------------------------------------------------------------------------------- nn modules
def _nn_pair(torch):
    nn = numtorch.nn
    if not all(hasattr(nn, n) for n in ("Sequential", "Conv2d", "Linear", "Flatten")):
        pytest.skip("numtorch.nn modules are not available yet")
    ours = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Flatten(), nn.Linear(12, 5))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.Flatten(),
                                 torch.nn.Linear(12, 5))
    return ours, theirs


def test_numtorch_model_weights_load_into_torch_model(torch, tmp_path):
    ours, theirs = _nn_pair(torch)
    numtorch.save(ours.state_dict(), tmp_path / "n.pt")
    theirs.load_state_dict(torch.load(tmp_path / "n.pt", weights_only=True))
    x = sample((2, 1, 4, 4), seed=9)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with numtorch.no_grad():
        got = ours(nt(x))._data
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_torch_model_weights_load_into_numtorch_model(torch, tmp_path):
    ours, theirs = _nn_pair(torch)
    torch.save(theirs.state_dict(), tmp_path / "t.pt")
    ours.load_state_dict(numtorch.load(tmp_path / "t.pt"))
    x = sample((2, 1, 4, 4), seed=10)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with numtorch.no_grad():
        got = ours(nt(x))._data
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


# -------------------------------------------------------------------------------- safetensors
ST_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
             np.uint8, np.bool_, np.complex64]


def test_safetensors_round_trip(tmp_path):
    tensors = {f"t_{np.dtype(d).name}": nt(sample((2, 3), d)) for d in ST_DTYPES}
    tensors["scalar"] = nt(np.array(2.5, np.float32))
    tensors["empty"] = nt(np.zeros((0, 4), np.float32))
    tensors["strided"] = nt(sample((4, 4))[:, ::2])
    path = tmp_path / "m.safetensors"
    serialization.save_safetensors(tensors, path, metadata={"format": "pt"})
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"] == {"format": "pt"}
    assert header["t_float32"]["dtype"] == "F32" and header["t_float32"]["shape"] == [2, 3]
    assert header["t_bool"]["dtype"] == "BOOL"
    back = serialization.load_safetensors(path)
    assert set(back) == set(tensors)
    for k, t in tensors.items():
        assert back[k]._data.dtype == t._data.dtype
        np.testing.assert_array_equal(back[k]._data, t._data)


def test_safetensors_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="complex128"):
        serialization.save_safetensors({"c": nt(np.zeros(2, np.complex128))},
                                       tmp_path / "c.safetensors")
    with pytest.raises(TypeError):
        serialization.save_safetensors({"a": nt(np.ones(1))}, tmp_path / "m.safetensors",
                                       metadata={"epoch": 3})
    path = tmp_path / "bad.safetensors"
    serialization.save_safetensors({"a": nt(np.ones(4, np.float32))}, path)
    good = path.read_bytes()
    for bad in (b"", good[:-3], struct.pack("<Q", 10 ** 12) + good[8:],
                good[:8] + b"[" + good[9:],
                good.replace(b'"F32"', b'"F64"')):
        path.write_bytes(bad)
        with pytest.raises(RuntimeError, match="safetensors"):
            serialization.load_safetensors(path)


def test_safetensors_package_agrees(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    arrays = {"w": sample((3, 2)), "i": np.arange(4, dtype=np.int64)}
    serialization.save_safetensors({k: nt(v) for k, v in arrays.items()},
                                   tmp_path / "n.safetensors")
    for k, v in st.load_file(str(tmp_path / "n.safetensors")).items():
        np.testing.assert_array_equal(v, arrays[k])
    st.save_file(arrays, str(tmp_path / "s.safetensors"))
    for k, v in serialization.load_safetensors(tmp_path / "s.safetensors").items():
        np.testing.assert_array_equal(v._data, arrays[k])


# ------------------------------------------------------------------------------------- extras
def test_works_without_torch(tmp_path):
    """save/load never import torch (run in a process where importing torch fails)."""
    import subprocess
    import sys
    import textwrap
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # any 'import torch' now raises ImportError
        import numpy as np, numtorch
        w = numtorch.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
        numtorch.save({{"w": w, "t": w.T, "dtype": numtorch.int8}}, {str(tmp_path / "n.pt")!r})
        got = numtorch.load({str(tmp_path / "n.pt")!r})
        assert got["t"]._data.base is got["w"]._data.base and got["dtype"] is numtorch.int8
        assert "torch" not in {{m.split(".")[0] for m in sys.modules if sys.modules[m]}}
        print("ok")
    """)
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_torch_tensor_attributes_and_subclass_path(torch, tmp_path):
    t = torch.arange(3.0)
    t.note = "calibrated"  # torch pickles this via _rebuild_from_type_v2
    torch.save({"t": t}, tmp_path / "t.pt")
    got = numtorch.load(tmp_path / "t.pt")["t"]
    np.testing.assert_array_equal(got._data, [0.0, 1.0, 2.0])
    assert got.note == "calibrated"


def test_save_to_a_non_seekable_stream(torch):
    class Sink(io.RawIOBase):
        def __init__(self):
            self.chunks = []

        def writable(self):
            return True

        def write(self, b):
            self.chunks.append(bytes(b))
            return len(b)

    obj = checkpoints(nt)["batchnorm"]
    sink = Sink()
    numtorch.save(obj, sink)
    data = b"".join(sink.chunks)
    assert_same(obj, numtorch.load(io.BytesIO(data)))
    assert_same(obj, torch.load(io.BytesIO(data), weights_only=True))


def test_resume_training_across_libraries(torch, tmp_path):
    """A Linear + Adam checkpoint moves between the libraries and training continues alike."""
    nn = numtorch.nn
    if not hasattr(nn, "Linear") or not hasattr(numtorch, "optim"):
        pytest.skip("numtorch.nn.Linear / numtorch.optim are not available yet")
    x = sample((4, 3), seed=11)
    ours = nn.Linear(3, 2)
    opt = numtorch.optim.Adam(ours.parameters(), lr=0.1)
    theirs = torch.nn.Linear(3, 2)
    topt = torch.optim.Adam(theirs.parameters(), lr=0.1)

    def step_ours():
        opt.zero_grad()
        out = ours(nt(x))
        (out * out).sum().backward()
        opt.step()

    def step_theirs():
        topt.zero_grad()
        out = theirs(torch.from_numpy(x))
        (out * out).sum().backward()
        topt.step()

    def assert_models_agree():
        for k, v in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[k]._data, v.numpy(), rtol=1e-5,
                                       atol=1e-6)

    step_ours()
    numtorch.save({"model": ours.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "n.pt")
    ckpt = torch.load(tmp_path / "n.pt", weights_only=True)
    theirs.load_state_dict(ckpt["model"])
    topt.load_state_dict(ckpt["optimizer"])
    step_ours()
    step_theirs()
    assert_models_agree()

    step_theirs()
    torch.save({"model": theirs.state_dict(), "optimizer": topt.state_dict()}, tmp_path / "t.pt")
    ckpt = numtorch.load(tmp_path / "t.pt")
    ours.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    step_ours()
    step_theirs()
    assert_models_agree()


def _mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(len(data))
        if rng.random() < 0.7:
            data[pos] = rng.randrange(256)
        else:
            del data[pos:pos + rng.randint(1, 30)]
    return bytes(data)


def test_random_corruption_gives_only_clear_errors():
    """Mutated checkpoints load or fail with RuntimeError / UnpicklingError, nothing else:
    mutations of the whole file, and of data.pkl inside an otherwise valid archive (so that
    the unpickler, not the zip checksum, meets them)."""
    import random
    buf = io.BytesIO()
    numtorch.save(checkpoints(nt)["nested"], buf)
    good = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        records = {n: z.read(n) for n in z.namelist()}
    rng = random.Random(0)
    for i in range(200):
        if i % 2:
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w") as z:
                for name, data in records.items():
                    z.writestr(name, _mutate(rng, data) if name.endswith(".pkl") else data)
            data = out.getvalue()
        else:
            data = _mutate(rng, good)
        try:
            numtorch.load(io.BytesIO(data))
        except (RuntimeError, pickle.UnpicklingError):
            pass


def test_gpu_checkpoints_load_on_the_cpu(torch, tmp_path):
    """Storages saved from a GPU (location 'cuda:0') load as CPU tensors."""
    buf = io.BytesIO()
    torch.save({"w": torch.arange(4.0)}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        records = {n: z.read(n) for n in z.namelist()}
    pkl = records["archive/data.pkl"]
    cuda_pkl = pkl.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
    assert cuda_pkl != pkl
    with zipfile.ZipFile(tmp_path / "gpu.pt", "w") as z:
        for name, data in records.items():
            z.writestr(name, cuda_pkl if name.endswith("data.pkl") else data)
    seen = []
    got = numtorch.load(tmp_path / "gpu.pt", map_location=lambda s, loc: seen.append(loc) or s)
    assert seen == ["cuda:0"] and got["w"].device == numtorch.device("cpu")
    np.testing.assert_array_equal(got["w"]._data, np.arange(4.0, dtype=np.float32))
    np.testing.assert_array_equal(numtorch.load(tmp_path / "gpu.pt")["w"]._data, np.arange(4.0))


def test_load_reads_safetensors_paths(tmp_path):
    path = tmp_path / "m.safetensors"
    serialization.save_safetensors({"a": nt(np.arange(3, dtype=np.float32))}, path)
    assert numtorch.load(path)["a"].tolist() == [0.0, 1.0, 2.0]
    assert numtorch.load(str(path), map_location="cpu")["a"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="dict map_location is not supported"):
        numtorch.load(path, map_location={"cpu": "cpu"})


def test_load_reads_from_a_pipe(tmp_path):
    """Pipes end when the writer closes them, so unlike devices they are read."""
    import threading
    numtorch.save({"w": nt(np.arange(3.0))}, tmp_path / "n.pt")
    data = (tmp_path / "n.pt").read_bytes()
    r, w = os.pipe()

    def feed():
        with os.fdopen(w, "wb") as fh:
            fh.write(data)

    t = threading.Thread(target=feed)
    t.start()
    with os.fdopen(r, "rb") as fh:
        got = numtorch.load(fh)
    t.join()
    assert got["w"].tolist() == [0.0, 1.0, 2.0]


def test_classes_are_written_under_torchs_module_path(torch):
    """Every torch.nn class numtorch has is pickled by the name torch pickles it by, so a
    whole module saved by numtorch loads in torch (and its weights_only allowlist matches)."""
    import inspect
    import pickletools
    pairs = [(getattr(numtorch.nn, name), cls) for name, cls in vars(torch.nn).items()
             if inspect.isclass(cls) and inspect.isclass(getattr(numtorch.nn, name, None))]
    assert len(pairs) > 50
    buf = io.BytesIO()
    numtorch.save([ours for ours, _ in pairs], buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        pkl = z.read("archive/data.pkl")
    written = [arg for op, arg, _ in pickletools.genops(pkl) if op.name == "GLOBAL"]
    assert written == [f"{cls.__module__} {cls.__qualname__}" for _, cls in pairs]
