"""numtorch.datasets: the IDX reader, MNIST / FashionMNIST, the embedded sample, the downloader."""

import gzip
import hashlib
import io
import os
import urllib.error
import urllib.request
from importlib import resources

import numpy as np
import pytest

import numtorch
from numtorch._tensor import Tensor
from numtorch.datasets import (
    MNIST,
    FashionMNIST,
    read_idx,
    read_image_file,
    read_label_file,
    transforms,
)
from numtorch.datasets import mnist as mnist_module
from numtorch.utils.data import DataLoader, Subset, default_collate

README_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
README_SHA256 = {
    "mnist-10k-images-idx3-ubyte.gz":
        "e1544b00056b5eac4e6ef2574fb05a1ce248d4aac786a0b9dfc368fae611700b",
    "mnist-10k-labels-idx1-ubyte.gz":
        "1777d3dc0e92b1263283dadc3b01bf7597b0d6151d393856ddd62f1f191587fc",
}


def embedded_path(name):
    return resources.files("numtorch.datasets").joinpath("_data", name)


def idx_bytes(array, type_code=0x08):
    """Encode ``array`` as an IDX file (big-endian header and data)."""
    header = bytes([0, 0, type_code, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_split(raw, prefix, images, labels, compress=True):
    os.makedirs(raw, exist_ok=True)
    for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
        name = os.path.join(raw, f"{prefix}-{kind}-ubyte")
        data = idx_bytes(arr)
        if compress:
            with gzip.open(name + ".gz", "wb") as f:
                f.write(data)
        else:
            with open(name, "wb") as f:
                f.write(data)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    root = tmp_path_factory.mktemp("empty_root")
    return MNIST(root, train=True), MNIST(root, train=False)


@pytest.fixture
def fake_images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.array([3, 1, 4, 1, 5], np.uint8)


# ---------------------------------------------------------------------------- IDX reader
def test_embedded_files_match_readme_checksums():
    for name, digest in README_SHA256.items():
        assert hashlib.sha256(embedded_path(name).read_bytes()).hexdigest() == digest


def test_idx_reader_on_embedded_files():
    with resources.as_file(embedded_path("mnist-10k-images-idx3-ubyte.gz")) as p:
        images = read_idx(p, expected_magic=0x803)
    with resources.as_file(embedded_path("mnist-10k-labels-idx1-ubyte.gz")) as p:
        labels = read_label_file(p)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and str(labels.dtype) == "torch.int64"
    assert np.bincount(labels.numpy()).tolist() == README_COUNTS
    assert images.max() == 255 and images.min() == 0


def test_idx_reader_raw_and_gzip_agree(tmp_path, fake_images):
    images, labels = fake_images
    write_split(str(tmp_path / "gz"), "train", images, labels, compress=True)
    write_split(str(tmp_path / "raw"), "train", images, labels, compress=False)
    a = read_image_file(tmp_path / "gz" / "train-images-idx3-ubyte.gz")
    b = read_image_file(tmp_path / "raw" / "train-images-idx3-ubyte")
    assert isinstance(a, Tensor) and str(a.dtype) == "torch.uint8"
    np.testing.assert_array_equal(a.numpy(), images)
    np.testing.assert_array_equal(b.numpy(), images)


def test_idx_reader_other_types(tmp_path):
    arr = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    (tmp_path / "ints").write_bytes(idx_bytes(arr, 0x0C))
    np.testing.assert_array_equal(read_idx(tmp_path / "ints"), arr)
    farr = np.linspace(0, 1, 5).astype(np.float32)
    (tmp_path / "floats").write_bytes(idx_bytes(farr, 0x0D))
    out = read_idx(tmp_path / "floats")
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, farr)


@pytest.mark.parametrize("damage", ["truncated data", "extra data", "bad magic", "short header",
                                    "wrong kind", "truncated gzip", "empty"])
def test_idx_reader_rejects_corrupt_files(tmp_path, fake_images, damage):
    images, _ = fake_images
    good = idx_bytes(images)
    path = tmp_path / "train-images-idx3-ubyte"
    content = {
        "truncated data": good[:-100],
        "extra data": good + b"\0",
        "bad magic": b"\x12\x34" + good[2:],
        "short header": good[:10],
        "wrong kind": idx_bytes(images[:, 0, 0]),  # labels-like file where images are expected
        "truncated gzip": gzip.compress(good)[:200],
        "empty": b"",
    }[damage]
    path.write_bytes(content)
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte"):
        read_image_file(path)


# ---------------------------------------------------------------------------- MNIST
def test_embedded_split_sizes_dtypes_and_source(embedded):
    train, test = embedded
    assert len(train) == 8000 and len(test) == 2000
    for ds in embedded:
        assert ds.source == "embedded"
        assert str(ds.data.dtype) == "torch.uint8" and tuple(ds.data.shape[1:]) == (28, 28)
        assert str(ds.targets.dtype) == "torch.int64"
    counts = np.bincount(np.concatenate([train.targets.numpy(), test.targets.numpy()]))
    assert counts.tolist() == README_COUNTS
    with resources.as_file(embedded_path("mnist-10k-images-idx3-ubyte.gz")) as p:
        all_images = read_idx(p)
    np.testing.assert_array_equal(train.data.numpy(), all_images[:8000])
    np.testing.assert_array_equal(test.data.numpy(), all_images[8000:])


def test_embedded_load_prints_nothing(tmp_path, capsys):
    MNIST(tmp_path, train=False)
    assert capsys.readouterr() == ("", "")


def test_getitem_classes_and_repr(embedded):
    train, _ = embedded
    img, target = train[0]
    assert isinstance(img, Tensor) and tuple(img.shape) == (28, 28)
    assert str(img.dtype) == "torch.uint8"
    assert type(target) is int and target == int(train.targets[0].item())
    assert train.classes[0] == "0 - zero" and len(train.classes) == 10
    assert train.class_to_idx["9 - nine"] == 9
    text = repr(train)
    assert text.splitlines()[:4] == [
        "Dataset MNIST", "    Number of datapoints: 8000",
        f"    Root location: {train.root}", "    Split: Train"]


def test_samples_are_fresh_images(embedded):
    # torchvision builds a new image per sample; editing one must not change the dataset
    train, _ = embedded
    before = train.data.numpy()[3].copy()
    img, _ = train[3]
    img.zero_()
    np.testing.assert_array_equal(train.data.numpy()[3], before)


def test_transforms_are_applied(embedded, tmp_path):
    ds = MNIST(tmp_path, train=False, transform=transforms.ToTensor(),
               target_transform=lambda y: y + 100)
    img, target = ds[5]
    raw = embedded[1].data.numpy()[5]
    assert tuple(img.shape) == (1, 28, 28) and str(img.dtype) == "torch.float32"
    np.testing.assert_array_equal(img.numpy()[0], raw.astype(np.float32) / np.float32(255))
    assert target == int(embedded[1].targets.numpy()[5]) + 100
    lines = repr(ds).splitlines()
    assert lines[-3:-1] == ["    StandardTransform", "Transform: ToTensor()"]  # torchvision's
    assert lines[-1].startswith("Target transform: <function")
    # torchvision's ``transforms`` applies both transforms to a pair
    img2, target2 = ds.transforms(embedded[1].data[5], int(embedded[1].targets[5]))
    np.testing.assert_array_equal(img2.numpy(), img.numpy())
    assert target2 == target


def test_mnist_is_a_vision_dataset(tmp_path):
    # As in torchvision: a Dataset (so ``DataLoader(MNIST(...))`` type-checks) that ``+`` joins.
    from numtorch.datasets import VisionDataset
    from numtorch.utils.data import ConcatDataset, Dataset
    test = MNIST(tmp_path, train=False)
    assert isinstance(test, VisionDataset) and isinstance(test, Dataset)
    both = test + test
    assert isinstance(both, ConcatDataset) and len(both) == 2 * len(test)


def test_dataloader_over_mnist(tmp_path):
    ds = MNIST(tmp_path, train=False, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]))
    x, y = next(iter(DataLoader(ds, batch_size=64, shuffle=True)))
    assert tuple(x.shape) == (64, 1, 28, 28) and str(x.dtype) == "torch.float32"
    assert tuple(y.shape) == (64,) and str(y.dtype) == "torch.int64"


@pytest.mark.parametrize("compress", [True, False])
def test_full_copy_is_preferred(tmp_path, fake_images, compress):
    images, labels = fake_images
    write_split(str(tmp_path / "MNIST" / "raw"), "t10k", images, labels, compress)
    ds = MNIST(tmp_path, train=False)
    assert ds.source == "full" and len(ds) == 5
    np.testing.assert_array_equal(ds.data.numpy(), images)
    assert ds.targets.numpy().tolist() == labels.tolist()
    assert "Source" not in repr(ds)
    assert MNIST(str(tmp_path), train=True).source == "embedded"  # no train files there


def test_fashion_mnist(tmp_path, fake_images):
    with pytest.raises(RuntimeError, match="Dataset not found"):
        FashionMNIST(tmp_path)
    write_split(str(tmp_path / "FashionMNIST" / "raw"), "train", *fake_images)
    ds = FashionMNIST(tmp_path)
    assert ds.source == "full" and len(ds) == 5 and ds.classes[9] == "Ankle boot"
    assert repr(ds).startswith("Dataset FashionMNIST\n")


# ---------------------------------------------------------------------------- download
def _offline(*args, **kwargs):
    raise urllib.error.URLError("no network")


def test_download_offline_error(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    with pytest.raises(RuntimeError, match="Error downloading train-images-idx3-ubyte.gz") as e:
        MNIST(tmp_path, download=True)
    assert "ossci-datasets.s3.amazonaws.com" in str(e.value)
    assert "no network" in str(e.value)
    raw = tmp_path / "MNIST" / "raw"
    assert raw.is_dir() and list(raw.iterdir()) == []


class _Response(io.BytesIO):
    pass


def test_download_checks_md5_and_uses_the_next_mirror(tmp_path, monkeypatch, fake_images):
    images, labels = fake_images
    files = {"t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images)),
             "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels)),
             "train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images)),
             "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels))}
    requested = []

    def fake_urlopen(url, timeout=None):
        requested.append(url)
        name = url.rsplit("/", 1)[1]
        if url.startswith(MNIST.mirrors[0]):
            return _Response(b"garbage")  # first mirror serves a corrupt file
        return _Response(files[name])

    class Checked(MNIST):
        resources = [(n, hashlib.md5(files[n]).hexdigest()) for n, _ in MNIST.resources]

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    ds = Checked(tmp_path, train=False, download=True)
    assert ds.source == "full" and len(ds) == 5
    assert len(requested) == 8  # every file: bad mirror first, then the good one
    assert sorted(os.listdir(tmp_path / "Checked" / "raw")) == sorted(files)
    requested.clear()
    Checked(tmp_path, train=True, download=True)
    assert requested == []  # already there: nothing fetched


def test_download_rejects_bad_checksum_everywhere(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: _Response(b"x"))
    with pytest.raises(RuntimeError, match="MD5 checksum mismatch"):
        MNIST(tmp_path, download=True)
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []


def test_md5_helper(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert mnist_module._md5(p) == "900150983cd24fb0d6963f7d28e17f72"


# ---------------------------------------------------------------------------- batch fast path
def _assert_same_batches(fast, slow):
    got, want = list(fast), list(slow)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert type(g) is list and len(g) == len(w) == 2
        for gt, wt in zip(g, w):
            assert gt.dtype == wt.dtype and gt.shape == wt.shape
            np.testing.assert_array_equal(gt.numpy(), wt.numpy())


@pytest.mark.parametrize("transform", [
    None, transforms.ToTensor(),
    transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]),
])
def test_whole_batch_path_equals_per_sample_path(tmp_path, transform):
    ds = MNIST(tmp_path, train=False, transform=transform)
    ds.data, ds.targets = ds.data[:300], ds.targets[:300]
    assert ds._fetch_collated(np.arange(3)) is not None
    for dataset in (ds, Subset(ds, list(range(299, 0, -2)))):
        kw = dict(batch_size=64, shuffle=True)
        fast = DataLoader(dataset, generator=numtorch.Generator().manual_seed(0), **kw)
        slow = DataLoader(dataset, generator=numtorch.Generator().manual_seed(0),
                          collate_fn=lambda b: default_collate(b), **kw)
        _assert_same_batches(fast, slow)


def test_whole_batch_path_declines_what_it_cannot_reproduce(tmp_path):
    flip = transforms.Compose([transforms.ToTensor(), transforms.RandomHorizontalFlip()])
    assert MNIST(tmp_path, transform=flip)._fetch_collated(np.arange(3)) is None
    assert MNIST(tmp_path, target_transform=str)._fetch_collated(np.arange(3)) is None

    class Shifted(MNIST):
        def __getitem__(self, index):
            img, target = super().__getitem__(index)
            return img, target + 1

    ds = Shifted(tmp_path, train=False)
    assert ds._fetch_collated(np.arange(3)) is None
    _, y = next(iter(DataLoader(ds, batch_size=4)))
    assert y.tolist() == [int(t) + 1 for t in ds.targets.numpy()[:4]]
