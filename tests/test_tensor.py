"""Tensor creation, dtypes, Size, device, conversions and their errors, against PyTorch."""

import pickle

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")

CREATION = [
    lambda t: t.tensor([1, 2, 3]), lambda t: t.tensor([1.0, 2]), lambda t: t.tensor(3.5),
    lambda t: t.tensor([True, False]), lambda t: t.tensor([[1, 2], [3, 4]], dtype=t.float64),
    lambda t: t.zeros(2, 3), lambda t: t.ones((2, 3), dtype=t.int32), lambda t: t.empty(0, 3),
    lambda t: t.full((2,), 7), lambda t: t.full((2,), 7.0), lambda t: t.full((1,), True),
    lambda t: t.arange(5), lambda t: t.arange(1, 4, 0.5), lambda t: t.arange(0, 1, 0.1),
    lambda t: t.linspace(0, 1, 5), lambda t: t.eye(3), lambda t: t.eye(2, 3),
    lambda t: t.zeros_like(t.ones(2, dtype=t.int64)), lambda t: t.ones_like(t.zeros(3)),
    lambda t: t.full_like(t.zeros(2), 3), lambda t: t.tensor(np.array([1, 2], dtype=np.int32)),
    lambda t: t.from_numpy(np.arange(3.0)), lambda t: t.as_tensor([1, 2], dtype=t.float16),
    lambda t: t.tensor([t.tensor(1.0), t.tensor(2.0)]), lambda t: t.Tensor([1, 2]),
    lambda t: t.Tensor(2, 3).zero_(), lambda t: t.LongTensor([1, 2]),
]


@pytest.mark.parametrize("i", range(len(CREATION)))
def test_creation_matches_torch(i):
    a, b = CREATION[i](numtorch), CREATION[i](torch)
    assert str(a.dtype) == str(b.dtype)
    assert a.shape == tuple(b.shape)
    np.testing.assert_allclose(a.numpy().astype(float), b.numpy().astype(float), rtol=1e-6)


def test_random_creation_shapes_dtypes_and_reproducibility():
    numtorch.manual_seed(0)
    a = numtorch.randn(3, 4)
    numtorch.manual_seed(0)
    b = numtorch.randn(3, 4)
    assert np.array_equal(a.numpy(), b.numpy()) and a.dtype == numtorch.float32
    assert numtorch.rand(2, dtype=numtorch.float64).dtype == numtorch.float64
    r = numtorch.randint(0, 10, (100,))
    assert r.dtype == numtorch.int64 and r.min() >= 0 and r.max() < 10
    p = numtorch.randperm(10)
    assert sorted(p.tolist()) == list(range(10))
    g = numtorch.Generator().manual_seed(5)
    x1 = numtorch.rand(3, generator=g)
    g.manual_seed(5)
    assert np.array_equal(x1.numpy(), numtorch.rand(3, generator=g).numpy())
    n = numtorch.normal(2.0, 0.5, size=(20000,))
    assert abs(n.mean().item() - 2.0) < 0.02 and abs(n.std().item() - 0.5) < 0.02


def test_size_and_repr_of_metadata():
    x = numtorch.zeros(6, 1, 5, 5)
    assert repr(x.size()) == "torch.Size([6, 1, 5, 5])"
    assert x.size(0) == 6 and x.size(-1) == 5 and x.shape[1:] == (1, 5, 5)
    assert isinstance(x.shape[1:], numtorch.Size)
    assert x.numel() == 150 and x.dim() == 4 and x.ndim == 4
    assert repr(numtorch.float32) == "torch.float32"
    assert x.device == numtorch.device("cpu") and str(x.device) == "cpu"
    assert repr(numtorch.device("cpu")) == "device(type='cpu')"
    assert x.type() == "torch.FloatTensor"
    assert x.stride() == tuple(torch.zeros(6, 1, 5, 5).stride())


def test_cuda_is_unavailable_and_asking_for_it_is_clear():
    assert numtorch.cuda.is_available() is False
    with pytest.raises(RuntimeError, match="CPU only"):
        numtorch.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        numtorch.zeros(2).to("cuda")
    assert numtorch.zeros(2).to("cpu").device.type == "cpu"


def test_from_numpy_shares_memory_and_tensor_copies():
    a = np.zeros(3, dtype=np.float32)
    t = numtorch.from_numpy(a)
    t[0] = 1
    assert a[0] == 1
    c = numtorch.tensor(a)
    c[1] = 5
    assert a[1] == 0


def test_conversions():
    x = numtorch.tensor([[1.5, -2.0]])
    assert x.long().dtype == numtorch.int64 and x.long().tolist() == [[1, -2]]
    assert x.double().dtype == numtorch.float64
    assert x.to(numtorch.int32).dtype == numtorch.int32
    assert x.to(numtorch.zeros(1, dtype=numtorch.float16)).dtype == numtorch.float16
    assert x.bool().tolist() == [[True, True]]
    assert numtorch.tensor(3.5).item() == 3.5 and float(numtorch.tensor([2.0])) == 2.0
    assert int(numtorch.tensor(7)) == 7 and len(x) == 1
    assert np.asarray(x).shape == (1, 2)
    assert [r.tolist() for r in numtorch.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]
    assert bool(numtorch.tensor([1]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(numtorch.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        numtorch.tensor([1, 2]).item()
    assert numtorch.tensor([1, 2])[numtorch.tensor(1)].item() == 2


def test_shape_errors_are_runtime_errors_with_torch_text():
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of "
                                           r"tensor b \(4\) at non-singleton dimension 1"):
        numtorch.zeros(2, 3) + numtorch.zeros(2, 4)
    with pytest.raises(RuntimeError, match=r"shape '\[4, 4\]' is invalid for input of size 6"):
        numtorch.zeros(2, 3).view(4, 4)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied"):
        numtorch.zeros(2, 3) @ numtorch.zeros(4, 5)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        numtorch.zeros(2, 3).t().view(6)
    with pytest.raises(IndexError, match="Dimension out of range"):
        numtorch.zeros(2, 3).sum(2)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 2"):
        numtorch.zeros(2, 3)[5]


def test_views_share_storage_and_version():
    x = numtorch.zeros(2, 3)
    v = x.view(6)
    v[0] = 1
    assert x[0, 0].item() == 1
    assert x._version == v._version == 1
    assert x.t().is_contiguous() is False and x.t().contiguous().is_contiguous()


def test_inplace_methods_and_operators():
    x = numtorch.ones(3)
    x += 1
    x *= numtorch.tensor([1.0, 2.0, 3.0])
    x.sub_(1).div_(2)
    np.testing.assert_allclose(x.numpy(), [0.5, 1.5, 2.5])
    i = numtorch.ones(2, dtype=numtorch.int64)
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(0.5)
    x.zero_()
    assert x.sum().item() == 0
    x.fill_(2)
    assert x.tolist() == [2, 2, 2]


def test_pickle_round_trip():
    x = numtorch.randn(2, 3)
    y = pickle.loads(pickle.dumps(x))
    assert np.array_equal(x.numpy(), y.numpy())


def test_max_returns_named_tuple_like_torch():
    x = [[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]
    a, b = numtorch.tensor(x).max(1), torch.tensor(x).max(1)
    assert a.indices.tolist() == b.indices.tolist() and a.values.tolist() == b.values.tolist()
    assert repr(a).startswith("torch.return_types.max(\nvalues=tensor(")


def test_integer_index_is_a_view_like_pytorch():
    x = numtorch.zeros(3)
    x[0].add_(1)
    x[1].fill_(5)
    m = numtorch.zeros(2, 2)
    m[0][1] = 7
    assert x.tolist() == [1, 5, 0] and m.tolist() == [[0, 7], [0, 0]]


@pytest.mark.parametrize("index", [1, -3, slice(1, 3), slice(None, None, 2), slice(5, 9), 3, -4])
def test_single_int_or_slice_index_matches_torch(index):
    # x[i] and x[a:b] take a shorter path than other indices: the same view, node and errors
    def run(t):
        a = t.arange(12.0).reshape(3, 4).requires_grad_()
        try:
            y = a[index]
        except IndexError as e:
            return "IndexError", str(e)
        return y.detach().tolist(), type(y.grad_fn).__name__
    assert run(numtorch) == run(torch)
    x = numtorch.zeros(3, 4)
    view = x[index] if index not in (3, -4) else None
    if view is not None:
        x.add_(1)  # a view: shares the storage and the version counter
        assert view._version == x._version == 1 and float(view.sum()) == view.numel()


def test_reductions_of_empty_tensors_match_torch():
    for fn in (lambda t: t.zeros(0, 3).mean(0), lambda t: t.zeros(0).mean(),
               lambda t: t.zeros(0, 3).sum(0), lambda t: t.zeros(0).sum()):
        a, b = fn(numtorch), fn(torch)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert str(a.dtype) == str(b.dtype)
