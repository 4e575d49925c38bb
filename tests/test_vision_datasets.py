"""torchvision.datasets counterparts (FakeData, CIFAR10/100, SVHN, DatasetFolder/ImageFolder)
against torchvision on files made here."""

import hashlib
import io
import os
import pickle
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest
from vision_oracle import import_torchvision

import numtorch
from numtorch import datasets
from numtorch.datasets import transforms as T

Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def tv():
    return import_torchvision()


@pytest.fixture
def offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def _md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


# ---------------------------------------------------------------------------- FakeData
def test_fake_data_items_are_fixed_by_index_and_leave_the_global_stream_alone():
    data = datasets.FakeData(size=5, image_size=(3, 9, 7), num_classes=4)
    numtorch.manual_seed(0)
    before = numtorch.rand(3)
    numtorch.manual_seed(0)
    img, target = data[2]
    assert numtorch.rand(3).tolist() == before.tolist()
    again, target_again = data[2]
    assert img.mode == "RGB" and img.size == (7, 9)
    assert np.array_equal(np.asarray(img), np.asarray(again)) and target == target_again
    assert not np.array_equal(np.asarray(img), np.asarray(data[3][0]))
    targets = [datasets.FakeData(size=400, num_classes=4, image_size=(1, 2, 2))[i][1]
               for i in range(400)]
    assert set(targets) == {0, 1, 2, 3} and all(isinstance(t, int) for t in targets)
    offset = datasets.FakeData(size=5, image_size=(3, 9, 7), random_offset=1)
    assert np.array_equal(np.asarray(offset[1][0]), np.asarray(data[2][0]))
    with pytest.raises(IndexError, match="FakeData index out of range"):
        data[5]
    assert len(data) == 5


@pytest.mark.parametrize("image_size,offset", [((3, 32, 32), 0), ((1, 28, 28), 5),
                                               ((3, 5, 7), 0), ((4, 6, 6), 2), ((9, 4), 1)])
def test_fake_data_items_are_torchvisions(tv, image_size, offset):
    """Item i is torchvision's item i, pixel for pixel (its normal draws, through ToPILImage)
    and target for target."""
    ours = datasets.FakeData(6, image_size, num_classes=7, random_offset=offset)
    theirs = tv.datasets.FakeData(6, image_size, num_classes=7, random_offset=offset)
    for i in range(6):
        (img, target), (want, want_target) = ours[i], theirs[i]
        assert img.mode == want.mode and img.size == want.size
        assert np.array_equal(np.asarray(img), np.asarray(want))
        assert target == want_target and type(target) is type(want_target)


def _plus_one(t):
    return t + 1


def test_fake_data_repr_and_transforms_match_torchvision(tv):
    want = tv.datasets.FakeData(size=10, transform=tv.transforms.Compose(
        [tv.transforms.ToTensor(), tv.transforms.Normalize((0.5,), (0.5,))]),
        target_transform=_plus_one)
    got = datasets.FakeData(size=10, transform=T.Compose(
        [T.ToTensor(), T.Normalize((0.5,), (0.5,))]), target_transform=_plus_one)
    assert repr(got) == repr(want)
    img, target = got[0]
    want_img, want_target = want[0]
    assert tuple(img.shape) == (3, 224, 224) and img.dtype == numtorch.float32
    np.testing.assert_allclose(img.numpy(), want_img.numpy(), rtol=0, atol=1e-6)
    assert target == want_target and isinstance(target, int)


# ---------------------------------------------------------------------------- CIFAR
def _write_cifar(root, kind, n_per_file=6):
    """A miniature of the official python archive: same folder, file names and dict keys."""
    rng = np.random.default_rng(0 if kind == 10 else 1)
    if kind == 10:
        folder, files = "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)] + \
            ["test_batch"]
        label_key, meta_name, meta = "labels", "batches.meta", {
            "label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                            "horse", "ship", "truck"], "num_cases_per_batch": n_per_file}
    else:
        folder, files = "cifar-100-python", ["train", "test"]
        label_key, meta_name, meta = "fine_labels", "meta", {
            "fine_label_names": [f"class{i}" for i in range(100)],
            "coarse_label_names": [f"super{i}" for i in range(20)]}
    os.makedirs(os.path.join(root, folder), exist_ok=True)
    md5s = {}
    for name in files:
        entry = {"batch_label": name,
                 "data": rng.integers(0, 256, (n_per_file, 3072), dtype=np.uint8),
                 label_key: rng.integers(0, kind, n_per_file).tolist(),
                 "filenames": [f"img{i}.png" for i in range(n_per_file)]}
        if kind == 100:
            entry["coarse_labels"] = rng.integers(0, 20, n_per_file).tolist()
        path = os.path.join(root, folder, name)
        with open(path, "wb") as f:
            pickle.dump(entry, f, protocol=2)
        md5s[name] = _md5(path)
    path = os.path.join(root, folder, meta_name)
    with open(path, "wb") as f:
        pickle.dump(meta, f, protocol=2)
    md5s[meta_name] = _md5(path)
    return md5s


def _patch_md5s(monkeypatch, cls, md5s):
    monkeypatch.setattr(cls, "train_list", [[n, md5s[n]] for n, _ in cls.train_list])
    monkeypatch.setattr(cls, "test_list", [[n, md5s[n]] for n, _ in cls.test_list])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": md5s[cls.meta["filename"]]})


@pytest.mark.parametrize("kind", [10, 100])
@pytest.mark.parametrize("train", [True, False])
def test_cifar_reads_the_official_layout_like_torchvision(tv, tmp_path, monkeypatch, kind, train):
    md5s = _write_cifar(str(tmp_path), kind)
    ours, theirs = (datasets.CIFAR10, tv.datasets.CIFAR10) if kind == 10 else \
        (datasets.CIFAR100, tv.datasets.CIFAR100)
    for cls in (ours, theirs):
        _patch_md5s(monkeypatch, cls, md5s)
    want = theirs(str(tmp_path), train=train, transform=tv.transforms.ToTensor())
    got = ours(str(tmp_path), train=train, transform=T.ToTensor())
    assert len(got) == len(want) == (30 if train and kind == 10 else 6)
    assert np.array_equal(got.data, want.data) and got.data.shape[1:] == (32, 32, 3)
    assert got.targets == want.targets
    assert got.classes == want.classes and got.class_to_idx == want.class_to_idx
    for i in (0, len(got) - 1):
        (img, target), (want_img, want_target) = got[i], want[i]
        assert target == want_target
        np.testing.assert_array_equal(img.numpy(), want_img.numpy())
    assert repr(got) == repr(want)
    raw = ours(str(tmp_path), train=train)
    assert isinstance(raw[0][0], Image.Image)


def test_cifar_download_unpacks_a_present_archive_and_checks_it(tv, tmp_path, monkeypatch,
                                                               offline):
    staging = tmp_path / "staging"
    md5s = _write_cifar(str(staging), 10)
    root = tmp_path / "root"
    root.mkdir()
    archive = root / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    _patch_md5s(monkeypatch, datasets.CIFAR10, md5s)
    monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", _md5(archive))
    data = datasets.CIFAR10(str(root), download=True)
    assert len(data) == 30 and (root / "cifar-10-batches-py" / "test_batch").exists()
    datasets.CIFAR10(str(root), download=True)  # intact files: nothing to fetch


def test_cifar_without_files_or_network_says_what_to_do(tmp_path, offline):
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use "
                                           "download=True to download it"):
        datasets.CIFAR10(str(tmp_path))
    with pytest.raises(RuntimeError) as error:
        datasets.CIFAR100(str(tmp_path), download=True)
    message = str(error.value)
    assert "cifar-100-python.tar.gz" in message and str(tmp_path) in message
    assert "eb9058c3a382ffc7106e4002c42a8d85" in message
    assert os.listdir(tmp_path) == []  # no partial download left


def test_cifar_corrupted_batch_is_refused(tmp_path, monkeypatch):
    md5s = _write_cifar(str(tmp_path), 10)
    _patch_md5s(monkeypatch, datasets.CIFAR10, md5s)
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_3", "ab") as f:
        f.write(b"x")
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        datasets.CIFAR10(str(tmp_path))


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_pickles_cannot_run_code(tmp_path, monkeypatch):
    md5s = _write_cifar(str(tmp_path), 10)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    with open(path, "wb") as f:
        pickle.dump({"data": _Evil(), "labels": []}, f, protocol=2)
    md5s["data_batch_1"] = _md5(path)
    _patch_md5s(monkeypatch, datasets.CIFAR10, md5s)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        datasets.CIFAR10(str(tmp_path))
    from numtorch.datasets.utils import load_pickle

    buf = io.BytesIO()
    pickle.dump({"a": np.arange(3.0), "b": [1, "x", (2.5, None)]}, buf, protocol=4)
    path.write_bytes(buf.getvalue())
    loaded = load_pickle(path)
    assert loaded["b"] == [1, "x", (2.5, None)] and loaded["a"].tolist() == [0.0, 1.0, 2.0]


# ---------------------------------------------------------------------------- SVHN
def test_svhn_reads_mat_files_like_torchvision(tv, tmp_path, monkeypatch):
    sio = pytest.importorskip("scipy.io")
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[10], [1], [9], [10], [3]], dtype=np.uint8)
    sio.savemat(tmp_path / "test_32x32.mat", {"X": x, "y": y})
    entry = ["http://example.invalid/test_32x32.mat", "test_32x32.mat",
             _md5(tmp_path / "test_32x32.mat")]
    monkeypatch.setitem(datasets.SVHN.split_list, "test", entry)
    monkeypatch.setitem(tv.datasets.SVHN.split_list, "test", entry)
    want = tv.datasets.SVHN(str(tmp_path), split="test")
    got = datasets.SVHN(str(tmp_path), split="test")
    assert got.labels.tolist() == want.labels.tolist() == [0, 1, 9, 0, 3]
    assert np.array_equal(got.data, want.data)
    np.testing.assert_array_equal(np.asarray(got[1][0]), np.asarray(want[1][0]))
    assert repr(got) == repr(want)
    with pytest.raises(ValueError, match="Unknown value 'valid' for argument split"):
        datasets.SVHN(str(tmp_path), split="valid")


def test_svhn_without_scipy_says_so(tmp_path, monkeypatch):
    import builtins

    (tmp_path / "test_32x32.mat").write_bytes(b"not really")
    entry = ["http://example.invalid/t.mat", "test_32x32.mat", _md5(tmp_path / "test_32x32.mat")]
    monkeypatch.setitem(datasets.SVHN.split_list, "test", entry)
    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("No module named 'scipy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    with pytest.raises(ImportError, match="SVHN reads MATLAB .mat files and needs scipy"):
        datasets.SVHN(str(tmp_path), split="test")


def test_svhn_download_offline_names_the_file(tmp_path, offline):
    with pytest.raises(RuntimeError, match="train_32x32.mat"):
        datasets.SVHN(str(tmp_path), download=True)


# ---------------------------------------------------------------------------- folders
def _image_tree(root):
    rng = np.random.default_rng(3)
    layout = {"cat": ["b.png", "a.jpg", "notes.txt", "sub/c.PNG"], "dog": ["x.bmp", "y.png"],
              "zebra": ["z.png"]}
    for cls, names in layout.items():
        for name in names:
            path = root / cls / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".txt"):
                path.write_text("not an image")
                continue
            mode = "L" if name.startswith("y") else "RGB"
            pixels = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
            img = Image.fromarray(pixels)
            img = img.convert(mode)
            img.save(path, format={"png": "PNG", "jpg": "JPEG", "bmp": "BMP"}[
                name.rsplit(".", 1)[1].lower()])
    (root / "stray.png").write_bytes(b"")  # a file at the top is no class


def test_image_folder_matches_torchvision(tv, tmp_path):
    _image_tree(tmp_path)
    tf = T.Compose([T.RandomResizedCrop(8), T.ColorJitter(0.3, 0.3, 0.3, 0.1), T.ToTensor()])
    want = tv.datasets.ImageFolder(str(tmp_path))
    got = datasets.ImageFolder(str(tmp_path), transform=tf)
    assert got.classes == want.classes == ["cat", "dog", "zebra"]
    assert got.class_to_idx == want.class_to_idx
    assert got.samples == want.samples and got.imgs == want.imgs
    assert got.targets == want.targets
    raw = datasets.ImageFolder(str(tmp_path))
    for i in range(len(raw)):
        (img, target), (want_img, want_target) = raw[i], want[i]
        assert img.mode == "RGB" and target == want_target
        np.testing.assert_array_equal(np.asarray(img), np.asarray(want_img))
    img, _ = got[0]
    assert tuple(img.shape) == (3, 8, 8) and img.dtype == numtorch.float32
    assert repr(raw) == repr(want)


def test_dataset_folder_with_a_loader_and_is_valid_file_matches_torchvision(tv, tmp_path):
    _image_tree(tmp_path)

    def loader(path):
        return os.path.getsize(path)

    def valid(path):
        return "a" in os.path.basename(path) or path.endswith(".txt")

    for kwargs in ({"extensions": (".png",)}, {"extensions": ".bmp", "allow_empty": True},
                   {"is_valid_file": valid, "allow_empty": True}):
        want = tv.datasets.DatasetFolder(str(tmp_path), loader, **kwargs)
        got = datasets.DatasetFolder(str(tmp_path), loader, **kwargs)
        assert got.samples == want.samples and got.targets == want.targets
        assert [got[i] for i in range(len(got))] == [want[i] for i in range(len(want))]


def test_folder_errors_match_torchvision(tv, tmp_path):
    _image_tree(tmp_path)
    cases = [
        lambda d: d.DatasetFolder(str(tmp_path), len, extensions=(".bmp",)),
        lambda d: d.DatasetFolder(str(tmp_path), len),
        lambda d: d.DatasetFolder(str(tmp_path), len, extensions=".png", is_valid_file=len),
        lambda d: d.ImageFolder(str(tmp_path / "cat" / "sub")),
    ]
    for case in cases:
        with pytest.raises(Exception) as want:
            case(tv.datasets)
        with pytest.raises(type(want.value)) as got:
            case(datasets)
        assert str(got.value) == str(want.value)


def test_mnist_repr_is_torchvisions(tv, tmp_path):
    """torchvision indents only the first line of the transforms' repr."""
    import torch

    from numtorch.datasets.mnist import MNIST

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, magic, shape in (("t10k-images-idx3-ubyte", 2051, (3, 28, 28)),
                               ("t10k-labels-idx1-ubyte", 2049, (3,)),
                               ("train-images-idx3-ubyte", 2051, (2, 28, 28)),
                               ("train-labels-idx1-ubyte", 2049, (2,))):
        header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape)
        (raw / name).write_bytes(header + bytes(int(np.prod(shape))))
    tf = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    want = tv.datasets.MNIST(str(tmp_path), train=False, transform=tv.transforms.Compose(
        [tv.transforms.ToTensor(), tv.transforms.Normalize((0.1307,), (0.3081,))]))
    got = MNIST(str(tmp_path), train=False, transform=tf)
    assert repr(got) == repr(want)
    assert torch.equal(want.targets, torch.zeros(3, dtype=torch.uint8))
