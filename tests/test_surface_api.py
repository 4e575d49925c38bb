"""Small pieces of torch's surface that real programs touch: torch.accelerator, Tensor.new and
the backend flags, finfo/iinfo, float32 matmul precision, torch.testing.assert_close,
nn.attention.sdpa_kernel and lazily drawn RandomSampler indices."""

import itertools
import warnings

import numpy as np
import pytest

import numtorch
import numtorch.utils.data as nd

torch = pytest.importorskip("torch")


def _outcome(fn, *args, **kwargs):
    try:
        return ("ok", fn(*args, **kwargs))
    except Exception as e:  # noqa: BLE001  (the class and message are what is compared)
        return (type(e).__name__, str(e))


# ------------------------------------------------------------------ torch.accelerator
# numtorch answers as PyTorch's CPU-only build does; a CUDA build of torch (CI installs PyPI's,
# whose torchvision loads) reports CUDA even on a machine without a GPU, so it is no oracle here.
cpu_build_oracle = pytest.mark.skipif(
    torch.version.cuda is not None,
    reason="the installed torch is a CUDA build; numtorch mirrors the CPU-only build")


def test_accelerator_is_absent_as_on_a_cpu_build():
    import numtorch.accelerator as acc
    assert acc.is_available() is False and acc.device_count() == 0
    assert acc.current_accelerator() is None


@cpu_build_oracle
@pytest.mark.parametrize("name", ["is_available", "current_accelerator", "device_count",
                                  "current_device_index", "current_stream", "synchronize",
                                  "get_device_capability", "empty_cache", "memory_allocated",
                                  "max_memory_allocated", "memory_stats", "get_memory_info",
                                  "reset_peak_memory_stats", "empty_host_cache"])
def test_accelerator_answers_as_torch_cpu_build(name):
    import numtorch.accelerator  # noqa: F401  (import path real programs use)
    assert _outcome(getattr(numtorch.accelerator, name)) == _outcome(
        getattr(torch.accelerator, name))


@cpu_build_oracle
def test_accelerator_device_index_and_setters():
    a, t = numtorch.accelerator, torch.accelerator
    assert _outcome(a.set_device_index, 0) == _outcome(t.set_device_index, 0)
    assert _outcome(a.synchronize, "cpu") == _outcome(t.synchronize, "cpu")
    assert a.current_accelerator(check_available=True) is None
    with a.device_index(None):
        pass
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        with a.device_index(0):
            pass
    names = {n for n in t.__all__ if callable(getattr(t, n))} - {"Graph"}
    assert names <= set(dir(a)), names - set(dir(a))


# ------------------------------------------------------------------ Tensor attributes, new()
def test_backend_predicates_are_false():
    x = numtorch.zeros(2)
    for name in ("is_xpu", "is_sparse", "is_mps", "is_meta", "is_quantized", "is_mkldnn",
                 "is_nested", "is_sparse_csr"):
        assert getattr(x, name) is getattr(torch.zeros(2), name) is False


@pytest.mark.parametrize("args", [(), (2, 3), ([1, 2],), ((1, 2),), (np.array([1, 2]),)])
def test_tensor_new_matches_torch(args):
    for dtype in ("float64", "int32"):
        a = numtorch.zeros(2, dtype=getattr(numtorch, dtype)).new(*args)
        b = torch.zeros(2, dtype=getattr(torch, dtype)).new(*args)
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype)
        if args and not isinstance(args[0], int):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_tensor_new_size_alias_and_errors():
    x = numtorch.zeros(2, dtype=numtorch.float64)
    assert x.new(numtorch.Size([2, 1])).shape == (2, 1)
    y = numtorch.tensor([1.0, 2.0], dtype=numtorch.float64)
    x.new(y)[0] = 5  # aliases, as torch does
    assert y.tolist() == [5.0, 2.0]
    assert not x.new(3).requires_grad
    with pytest.raises(TypeError):
        x.new(numtorch.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"new\(\): data must be a sequence \(got float\)"):
        x.new(2.5)


# ------------------------------------------------------------------ finfo / iinfo
@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64", "complex64",
                                  "complex128"])
def test_finfo_matches_torch(name):
    a, b = numtorch.finfo(getattr(numtorch, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(a, attr) == getattr(b, attr), attr
        assert type(getattr(a, attr)) is type(getattr(b, attr)), attr
    assert repr(a) == repr(b) and str(a) == str(b)
    assert a == numtorch.finfo(getattr(numtorch, name))


def test_finfo_default_and_errors():
    assert repr(numtorch.finfo()) == repr(torch.finfo())
    assert _outcome(numtorch.finfo, numtorch.int32) == _outcome(torch.finfo, torch.int32)
    assert _outcome(numtorch.finfo, "float32") == _outcome(torch.finfo, "float32")
    assert _outcome(numtorch.iinfo, numtorch.float32) == _outcome(torch.iinfo, torch.float32)
    assert _outcome(numtorch.iinfo, numtorch.bool) == _outcome(torch.iinfo, torch.bool)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    a, b = numtorch.iinfo(getattr(numtorch, name)), torch.iinfo(getattr(torch, name))
    for attr in ("bits", "min", "max", "dtype"):
        assert getattr(a, attr) == getattr(b, attr)
        assert type(getattr(a, attr)) is type(getattr(b, attr))
    assert repr(a) == repr(b)


# ------------------------------------------------------------------ matmul precision
def test_float32_matmul_precision_roundtrip():
    assert numtorch.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    try:
        for p in ("high", "medium", "highest"):
            numtorch.set_float32_matmul_precision(p)
            assert numtorch.get_float32_matmul_precision() == p
        numtorch.set_float32_matmul_precision("high")
        with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
            numtorch.set_float32_matmul_precision("fast")
        assert numtorch.get_float32_matmul_precision() == "high"
    finally:
        numtorch.set_float32_matmul_precision("highest")


# ------------------------------------------------------------------ assert_close
def _cases(t):
    T = t.tensor
    nan, inf = float("nan"), float("inf")
    return [
        ((T([1., 2., 3.]), T([1., 2.5, 3.])), {}),
        ((T([[1., 2.], [3., 4.]]), T([[1., 2.], [3.1, 4.2]])), {}),
        ((T([1, 2]), T([1, 3])), {}),
        ((T([1., 2.]), T([1., 2.], dtype=t.float64)), {}),
        ((T([1., 2.]), T([1., 2., 3.])), {}),
        ((T([1., 2.]), T([1., 2.1], dtype=t.float64)), {"check_dtype": False}),
        ((T([1., nan]), T([1., nan])), {}),
        ((T([1., nan]), T([1., nan])), {"equal_nan": True}),
        ((1.0, 1.0 + 1e-9), {}), ((1.0, 1.1), {}), ((1.0, 0.0), {}), ((1, 2), {}),
        (([T(1.)], [T(2.)]), {}), (({"a": T(1.)}, {"a": T(2.)}), {}),
        (([{"a": [1.0]}], [{"a": [2.0]}]), {}), (((1, 2), [1, 2]), {}),
        ((T([1., 2.]), [1., 2.]), {}), (("a", "b"), {}), ((1.0, T(1.0)), {}),
        ((T([1., 2.]), T([1., 2.])), {"rtol": 1e-3}),
        ((T([1., 2.]), T([1., 2.])), {"atol": 1e-3}),
        ((T(1.), T(1.5)), {"rtol": 0, "atol": 0, "msg": "custom"}),
        ((T([1., 2.]), T([1., 3.])), {"msg": lambda m: "X" + m[:10]}),
        ((T([True]), T([False])), {}), ((True, False), {}),
        ((T([1. + 1j]), T([1. + 2j])), {}),
        ((T([1., 2.], requires_grad=True), T([1., 2.])), {}),
        ((t.zeros(3, 2).t(), t.zeros(2, 3)), {"check_stride": True}),
        ((T([1., 2.]), np.array([1., 2.], dtype=np.float32)), {}),
        ((np.array([1., 2.]), np.array([1., 2.5])), {}),
        ((1, 1.0), {}), ((1, 1.0), {"check_dtype": False}),
        (([1, 2], [1, 2, 3]), {}), (({"a": 1}, {"b": 1}), {}),
        ((T([1., 2.], dtype=t.float16), T([1., 2.001], dtype=t.float16)), {}),
        ((T([1., 2.], dtype=t.bfloat16), T([1., 3.], dtype=t.bfloat16)), {}),
        ((T([1., 2.], dtype=t.bfloat16), T([1., 2.01], dtype=t.bfloat16)), {}),
        ((t.zeros(0), t.zeros(0)), {}), ((T(1.), T(2.)), {}), ((T(2), T(1)), {}),
        ((None, None), {}), ((None, 1), {}), ((T([0.]), T([1e-20])), {}),
        ((T([1, 2]), T([1., 2.])), {}), ((1, 2), {"rtol": 0.1, "atol": 0.5}),
        ((T([2., 0.]), T([0., 1.])), {}), ((T([inf]), T([inf])), {}),
        ((T([inf]), T([-inf])), {}), ((t.zeros(2), t.ones(2)), {"rtol": 0, "atol": 0}),
        ((T([1, 2], dtype=t.uint8), T([2, 1], dtype=t.uint8)), {}),
        ((np.float64(1.0), np.float64(2.0)), {}),
    ]


def test_assert_close_matches_torch_outcomes_and_messages():
    for (nargs, nkw), (targs, tkw) in zip(_cases(numtorch), _cases(torch), strict=True):
        got = _outcome(numtorch.testing.assert_close, *nargs, **nkw)
        want = _outcome(torch.testing.assert_close, *targs, **tkw)
        assert (got[0], str(got[1]).replace("numtorch._tensor", "torch")) == (
            want[0], str(want[1])), (targs, tkw)


# ------------------------------------------------------------------ sdpa_kernel
def test_sdpa_kernel_selects_backends_as_torch_cpu():
    from torch.nn.attention import SDPBackend as TB
    from torch.nn.attention import sdpa_kernel as tk

    from numtorch.nn.attention import SDPBackend, sdpa_kernel
    assert {k: int(v) for k, v in SDPBackend.__members__.items()} == {
        k: int(v) for k, v in TB.__members__.items()}
    rng = np.random.default_rng(0)
    q = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
    F, TF = numtorch.nn.functional, torch.nn.functional
    for choice in ("MATH", "FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION",
                   ["MATH", "FLASH_ATTENTION"], []):
        names = choice if isinstance(choice, list) else [choice]
        with sdpa_kernel([getattr(SDPBackend, n) for n in names]):
            got = _outcome(F.scaled_dot_product_attention, *[numtorch.tensor(q)] * 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tk([getattr(TB, n) for n in names]):
                want = _outcome(TF.scaled_dot_product_attention, *[torch.tensor(q)] * 3)
        assert got[0] == want[0], choice
        if got[0] == "ok":
            np.testing.assert_allclose(got[1].numpy(), want[1].numpy(), rtol=1e-5, atol=1e-6)
        else:
            assert got[1] == want[1]
    assert numtorch.backends.cuda.math_sdp_enabled()  # restored on exit
    with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend"):
        with sdpa_kernel("math"):
            pass


# ------------------------------------------------------------------ RandomSampler
def test_random_sampler_huge_num_samples_draws_lazily():
    g = numtorch.Generator().manual_seed(0)
    s = nd.RandomSampler(range(7), replacement=True, num_samples=int(1e10), generator=g)
    assert len(s) == int(1e10)
    first = list(itertools.islice(iter(s), 1000))  # would need 74.5 GiB if drawn up front
    assert len(first) == 1000 and set(first) == set(range(7))


def test_random_sampler_with_replacement_length_not_multiple_of_chunk():
    g = numtorch.Generator().manual_seed(1)
    drawn = list(nd.RandomSampler(range(5), replacement=True, num_samples=70, generator=g))
    assert len(drawn) == 70 and set(drawn) <= set(range(5))
    again = list(nd.RandomSampler(range(5), replacement=True, num_samples=70,
                                  generator=numtorch.Generator().manual_seed(1)))
    assert drawn == again


def test_is_floating_point_of_every_floating_dtype():
    """numtorch.is_floating_point agrees with Tensor.is_floating_point (bfloat16 included)."""
    for dtype in (numtorch.float16, numtorch.bfloat16, numtorch.float32, numtorch.float64):
        assert numtorch.is_floating_point(numtorch.zeros(1, dtype=dtype))
    assert not numtorch.is_floating_point(numtorch.zeros(1, dtype=numtorch.int64))
