"""Tensor printing: ``repr`` must match PyTorch's character for character."""

import numpy as np
import pytest

from numtorch import _dtype as nt_dtype
from numtorch import _tensor_str
from numtorch._tensor import Tensor

torch = pytest.importorskip("torch")

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80}


@pytest.fixture(autouse=True)
def _restore_printoptions():
    yield
    _tensor_str.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")
    nt_dtype.set_default_dtype(nt_dtype.float32)
    torch.set_default_dtype(torch.float32)


def _pair(arr, requires_grad=False):
    """The numtorch tensor and the torch tensor holding the same array."""
    t = Tensor._wrap(arr)
    ref = torch.from_numpy(np.array(arr, copy=True))
    if requires_grad:
        t._requires_grad = True
        ref.requires_grad_()
    return t, ref


def _check(arr, requires_grad=False):
    t, ref = _pair(arr, requires_grad)
    assert repr(t) == repr(ref)


def _cases():
    rng = np.random.default_rng(0)
    shapes = [(), (1,), (5,), (3, 4), (2, 3, 4), (2, 2, 2, 3), (23,), (4, 17)]
    cases = {}
    for shape in shapes:
        base = rng.standard_normal(shape)
        for k in (-5, -3, -1, 0, 2, 4, 6, 8, 9):
            cases[f"normal{shape}e{k}"] = (base * 10.0**k).astype(np.float32)
        cases[f"f64{shape}"] = base * 123.456
        cases[f"f16{shape}"] = base.astype(np.float16)
        cases[f"intval{shape}"] = rng.integers(-100, 100, shape).astype(np.float32)
        cases[f"bigint{shape}"] = (rng.integers(1, 9, shape) * 10.0**rng.integers(0, 10, shape))
        cases[f"i64{shape}"] = rng.integers(-1000, 1000, shape)
        cases[f"i32{shape}"] = rng.integers(-5, 50, shape).astype(np.int32)
        cases[f"u8{shape}"] = rng.integers(0, 255, shape).astype(np.uint8)
        cases[f"i8{shape}"] = rng.integers(-128, 127, shape).astype(np.int8)
        cases[f"i16{shape}"] = rng.integers(-3000, 3000, shape).astype(np.int16)
        cases[f"bool{shape}"] = rng.integers(0, 2, shape).astype(bool)
        cases[f"c64{shape}"] = (base + 1j * rng.standard_normal(shape)).astype(np.complex64)
        cases[f"c128{shape}"] = base * 1e5 - 3j * rng.standard_normal(shape)
    specials = {
        "nan_inf": [np.nan, np.inf, -np.inf, 1.5, -2.25],
        "nan_int": [np.nan, 1.0, 2.0, -np.inf],
        "nan_sci": [np.nan, 1e10, 1.5],
        "all_nan": [np.nan, np.nan],
        "zeros": [0.0, 0.0, 0.0],
        "neg_zero": [-0.0, 0.0, 1.0],
        "neg_zero_frac": [-0.0, 0.5],
        "tiny": [1e-5, 2e-5],
        "ratio": [1.0, 1001.0],
        "ratio_frac": [0.5, 600.0],
        "huge": [1e8, 1.5e8],
        "round_up": [9.99996, 0.5],
        "big_exponent": [1e-300, 1e300, -5e-310],
    }
    for name, values in specials.items():
        cases[name] = np.array(values, dtype=np.float32 if "exponent" not in name else None)
    for name, value in {"s_nan": np.nan, "s_inf": -np.inf, "s_negzero": -0.0, "s_big": 1e10,
                        "s_half": 0.5, "s_tiny": 3e-7}.items():
        cases[name] = np.array(value, dtype=np.float32)
    cases["s_int"] = np.array(-7)
    cases["s_bool"] = np.array(True)
    cases["s_c64"] = np.array(1 + 2j, dtype=np.complex64)
    cases["i64_wide"] = np.array([1, -10**12, 10**15])
    cases["u8_zeros"] = np.zeros(4, np.uint8)
    cases["bool_false"] = np.zeros(3, bool)
    cases["noncontiguous"] = rng.standard_normal((4, 6)).astype(np.float32)[::2, ::-3]
    cases["transposed"] = rng.standard_normal((3, 5)).astype(np.float32).T
    return cases


_CASES = _cases()


@pytest.mark.parametrize("name", list(_CASES))
def test_repr_matches_torch(name):
    _check(_CASES[name])


_LARGE = {
    "1d": ((2000,), np.float32),
    "2d": ((40, 50), np.float32),
    "3d": ((10, 10, 20), np.float64),
    "4d": ((5, 6, 7, 8), np.float32),
    "narrow_dim": ((1001, 1), np.float32),
    "short_rows": ((2, 600), np.float32),
    "int": ((30, 40), np.int64),
    "u8": ((3, 20, 20), np.uint8),
    "bool": ((1200,), np.bool_),
    "complex": ((50, 30), np.complex64),
}


@pytest.mark.parametrize("name", list(_LARGE))
@pytest.mark.parametrize("scale", [1.0, 1e-6, 1e9])
def test_summarized_repr_matches_torch(name, scale):
    shape, dtype = _LARGE[name]
    rng = np.random.default_rng(1)
    if np.dtype(dtype).kind in "iub":
        arr = rng.integers(0, 200 if dtype != np.bool_ else 2, shape).astype(dtype)
    else:
        arr = (rng.standard_normal(shape) * scale).astype(dtype)
        if np.dtype(dtype).kind == "c":
            arr = arr + 1j * rng.standard_normal(shape).astype(dtype)
    _check(arr)


def test_summary_measures_only_shown_values():
    arr = np.full(3000, 0.5, np.float32)
    arr[1500] = 1e6  # hidden by the summary: must not switch to scientific notation
    _check(arr)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 4), (3, 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64, np.int32,
                                   np.bool_, np.uint8, np.complex64])
def test_empty(shape, dtype):
    _check(np.zeros(shape, dtype))


@pytest.mark.parametrize("name", ["normal(5,)e0", "f64(3, 4)", "f16(2, 3, 4)", "normal(4, 17)e0",
                                  "normal()e0", "f64()", "c64(3, 4)"])
def test_requires_grad_suffix(name):
    _check(_CASES[name], requires_grad=True)


def test_requires_grad_on_empty_and_summarized():
    _check(np.zeros((0, 2), np.float64), requires_grad=True)
    _check(np.random.default_rng(2).standard_normal((50, 50)), requires_grad=True)


class MulBackward0:
    """Stands in for a graph node: the repr only looks at the class name."""


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (3,), (2, 12), (7, 9)])
def test_grad_fn_suffix(dtype, shape):
    arr = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    leaf = torch.from_numpy(np.array(arr / 2)).requires_grad_()
    ref = leaf * 2  # exact: the same values as arr
    t = Tensor._wrap(arr)
    t._requires_grad = True
    t.grad_fn = MulBackward0()
    assert repr(t) == repr(ref)


@pytest.mark.parametrize("width", [78, 79, 80, 81])
def test_suffix_wrapping_near_linewidth(width):
    # A 1-d float64 row whose last line ends near the line width.
    n = (width - 8) // 8
    arr = np.linspace(1.5, 2.5, n)
    _check(arr, requires_grad=True)
    _check(arr.astype(np.int32))


def test_subclass_prefix():
    # Both subclasses are named "Sub": the prefix sets the indentation.
    ours_cls = type("Sub", (Tensor,), {})
    ref_cls = type("Sub", (torch.Tensor,), {})
    arr = np.arange(30, dtype=np.float64).reshape(3, 10) / 7
    ours = ours_cls._wrap(arr)
    ref = torch.from_numpy(arr.copy()).as_subclass(ref_cls)
    assert repr(ours) == repr(ref)


def test_parameter_repr():
    parameter = pytest.importorskip("numtorch.nn.parameter")
    arr = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    ours = parameter.Parameter(Tensor._wrap(arr))
    ref = torch.nn.Parameter(torch.from_numpy(arr.copy()))
    assert repr(ours) == repr(ref)


# ---------------------------------------------------------------------------------- options
_OPTION_SETS = [
    {"precision": 2},
    {"precision": 0},
    {"precision": 8},
    {"sci_mode": False},
    {"sci_mode": True},
    {"threshold": 5},
    {"threshold": 0},
    {"threshold": 5, "edgeitems": 1},
    {"threshold": 5, "edgeitems": 0},
    {"linewidth": 40},
    {"linewidth": 200},
    {"linewidth": 10},
    {"profile": "short"},
    {"profile": "full"},
    {"profile": "short", "precision": 6},
    {"precision": 3, "sci_mode": False, "linewidth": 50, "threshold": 20, "edgeitems": 2},
]

_OPTION_CASES = ["normal(3, 4)e0", "normal(4, 17)e-5", "normal(2, 3, 4)e9", "intval(4, 17)",
                 "i64(2, 2, 2, 3)", "bool(4, 17)", "zeros", "nan_inf", "normal()e4",
                 "f64(23,)", "c64(2, 3, 4)", "bigint(4, 17)", "round_up"]


def _opts_id(opts):
    return "-".join(f"{k}{v}" for k, v in opts.items())


@pytest.mark.parametrize("opts", _OPTION_SETS, ids=_opts_id)
def test_printoptions_match_torch(opts):
    torch.set_printoptions(**opts)
    _tensor_str.set_printoptions(**opts)
    assert _tensor_str.get_printoptions() == torch._tensor_str.get_printoptions()
    for name in _OPTION_CASES:
        t, ref = _pair(_CASES[name])
        assert repr(t) == repr(ref), name
    big = np.random.default_rng(5).standard_normal((6, 5, 40)).astype(np.float32)
    _check(big)
    _check(big[0, 0], requires_grad=True)


def test_set_printoptions_resets_sci_mode_and_keeps_others():
    _tensor_str.set_printoptions(precision=2, sci_mode=True)
    _tensor_str.set_printoptions(linewidth=60)
    assert _tensor_str.get_printoptions() == {
        "precision": 2, "threshold": 1000, "edgeitems": 3, "linewidth": 60, "sci_mode": None}
    _tensor_str.set_printoptions(profile="default")
    assert _tensor_str.get_printoptions() == {**_DEFAULTS, "sci_mode": None}


def test_printoptions_context_manager():
    t = Tensor._wrap(np.array([1.23456, 2.5], np.float32))
    with _tensor_str.printoptions(precision=1):
        assert repr(t) == "tensor([1.2, 2.5])"
    assert repr(t) == "tensor([1.2346, 2.5000])"


def test_default_dtype_float64_changes_dtype_suffix():
    nt_dtype.set_default_dtype(nt_dtype.float64)
    torch.set_default_dtype(torch.float64)
    for arr in (np.ones(3), np.ones(3, np.float32), np.zeros(0), np.zeros((0, 2), np.float32),
                np.zeros(0, np.int64), np.array([1 + 1j]), np.array([1 + 1j], np.complex64)):
        _check(arr)


def test_grad_fn_suffix_from_real_graph():
    import numtorch

    if not hasattr(numtorch, "tensor"):
        pytest.skip("numtorch.tensor is not available yet")
    arr = np.array([[1.5, -2.0, 3.25], [0.5, 4.0, -1.0]])
    x = numtorch.tensor(arr, requires_grad=True)
    ref = torch.tensor(arr, requires_grad=True)
    assert repr(x * 2) == repr(ref * 2)
    assert repr((x * 2).sum()) == repr((ref * 2).sum())


def test_top_level_exports():
    import numtorch

    if not hasattr(numtorch, "set_printoptions"):
        pytest.skip("numtorch.set_printoptions is not exported yet")
    numtorch.set_printoptions(precision=2)
    assert repr(Tensor._wrap(np.array([1.23456], np.float32))) == "tensor([1.23])"
