"""``assert_close``: PyTorch's tensor/scalar/container comparison with per-dtype tolerances."""

import collections.abc
import numbers

import numpy as np

from .. import _dtype as dt
from .._tensor import Tensor

# (rtol, atol) by dtype, as torch.testing chooses them when neither is given.
_DEFAULT_TOLERANCES = {
    "float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7),
}


class _Mismatch(Exception):
    """A failed comparison: ``cls`` is the exception class to raise with ``msg``."""

    def __init__(self, cls, msg):
        super().__init__(msg)
        self.cls = cls
        self.msg = msg


def _tolerances(names, rtol, atol):
    if (rtol is None) != (atol is None):
        raise ValueError(
            f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
            f"{'rtol' if rtol is None else 'atol'}.")
    if rtol is not None:
        return rtol, atol
    pairs = [_DEFAULT_TOLERANCES.get(n, (0.0, 0.0)) for n in names]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _diff_line(kind, diff, idx, tol, equality):
    line = (f"{kind.title()} difference: {diff}" if idx is None
            else f"Greatest {kind} difference: {diff} at index {idx}")
    return line if equality else f"{line} (up to {tol} allowed)"


def _mismatch_msg(identifier, extra, abs_diff, abs_idx, rel_diff, rel_idx, rtol, atol):
    equality = rtol == 0 and atol == 0
    lines = [f"{identifier} are not {'equal' if equality else 'close'}!", "", extra,
             _diff_line("absolute", abs_diff, abs_idx, atol, equality),
             _diff_line("relative", rel_diff, rel_idx, rtol, equality)]
    return "\n".join(lines)


def _scalar_mismatch(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_msg("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None,
                         rel_diff, None, rtol, atol)


def _isclose(a, e, rtol, atol, equal_nan):
    with np.errstate(invalid="ignore", over="ignore"):
        close = a == e
        if equal_nan and (dt.is_inexact_np(a.dtype)):
            close |= np.isnan(a) & np.isnan(e)
        if rtol == 0 and atol == 0 or not dt.is_inexact_np(a.dtype):
            return close
        err = np.abs(a - e)
        allowed = atol + np.abs(rtol * e)
        return close | (np.isfinite(err) & (err <= allowed))


def _compare_arrays(a, e, rtol, atol, equal_nan, is_scalar):
    matches = _isclose(a, e, rtol, atol, equal_nan)
    if matches.all():
        return
    if is_scalar:
        raise _Mismatch(AssertionError, _scalar_mismatch(a.item(), e.item(), rtol, atol))
    inexact = dt.is_inexact_np(a.dtype)
    af, ef, mf = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    if not inexact:
        af, ef = af.astype(np.int64), ef.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        abs_diff = np.abs(af - ef)
        abs_diff[mf] = 0
        rel_diff = abs_diff / np.abs(ef)
        if not inexact:
            rel_diff = rel_diff.astype(dt.get_default_dtype()._np)
    rel_diff[mf] = 0
    i_abs, i_rel = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))
    total = mf.size - int(mf.sum())
    extra = f"Mismatched elements: {total} / {mf.size} ({total / mf.size:.1%})"
    shape = a.shape
    raise _Mismatch(AssertionError, _mismatch_msg(
        "Tensor-likes", extra, abs_diff[i_abs].item(), _index(i_abs, shape),
        rel_diff[i_rel].item(), _index(i_rel, shape), rtol, atol))


def _attr_mismatch(name, a, e):
    raise _Mismatch(AssertionError,
                    f"The values for attribute '{name}' do not match: {a} != {e}.")


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_dtype, check_stride):
    at = actual if isinstance(actual, Tensor) else Tensor._wrap(np.asarray(actual))
    et = expected if isinstance(expected, Tensor) else Tensor._wrap(np.asarray(expected))
    if at.shape != et.shape:
        _attr_mismatch("shape", at.shape, et.shape)
    if check_dtype and at.dtype is not et.dtype:
        _attr_mismatch("dtype", at.dtype, et.dtype)
    if check_stride and at.stride() != et.stride():
        _attr_mismatch("stride()", at.stride(), et.stride())
    rtol, atol = _tolerances((at.dtype.name, et.dtype.name), rtol, atol)
    a, e = at._data, et._data
    if a.dtype != e.dtype:
        common = np.result_type(a.dtype, e.dtype)
        a, e = a.astype(common), e.astype(common)
    _compare_arrays(a, e, rtol, atol, equal_nan, is_scalar=a.ndim == 0)


_SCALAR_DTYPE = {int: "int64", float: "float64", complex: "complex128"}


def _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype):
    ta, te = type(actual), type(expected)
    if check_dtype and ta is not te:
        raise _Mismatch(AssertionError, f"The (d)types do not match: {ta} != {te}.")
    names = [_SCALAR_DTYPE.get(t, "float64") for t in (ta, te)
             if not issubclass(t, numbers.Integral)]
    rtol, atol = _tolerances(names or ["int64"], rtol, atol)
    if actual == expected:
        return
    if equal_nan and actual != actual and expected != expected:
        return
    finite = abs(actual - expected) == abs(actual - expected) != float("inf")
    if (rtol or atol) and finite and abs(actual - expected) <= atol + rtol * abs(expected):
        return
    raise _Mismatch(AssertionError, _scalar_mismatch(actual, expected, rtol, atol))


def _is_number(x):
    return isinstance(x, (numbers.Number, np.number)) and not isinstance(x, (bool, np.bool_))


def _type_error(actual, expected):
    return _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type "
                                f"{type(actual)} and {type(expected)}.")


def _compare(actual, expected, path, kw):
    """Compare two inputs; containers recurse, collecting the item path for the message."""
    if isinstance(actual, (Tensor, np.ndarray)) or isinstance(expected, (Tensor, np.ndarray)):
        pass
    elif (isinstance(actual, collections.abc.Sequence) and not isinstance(actual, str)
            and isinstance(expected, collections.abc.Sequence)
            and not isinstance(expected, str)):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: "
                                            f"{len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, path + [i], kw)
        return
    elif (isinstance(actual, collections.abc.Mapping)
            and isinstance(expected, collections.abc.Mapping)):
        ak, ek = set(actual.keys()), set(expected.keys())
        if ak != ek:
            lines = ["The keys of the mappings do not match:"]
            if ek - ak:
                lines.append(f"Missing keys in the actual mapping: {sorted(ek - ak)}")
            if ak - ek:
                lines.append(f"Additional keys in the actual mapping: {sorted(ak - ek)}")
            raise _Mismatch(AssertionError, "\n".join(lines))
        for k in sorted(ak) if _sortable(ak) else actual.keys():
            _compare(actual[k], expected[k], path + [k], kw)
        return
    try:
        _compare_leaf(actual, expected, kw)
    except _Mismatch as m:
        if path and m.cls is AssertionError:
            m.msg += "\n\nThe failure occurred for item " + "".join(f"[{p!r}]" for p in path)
        raise


def _sortable(keys):
    try:
        sorted(keys)
        return True
    except TypeError:
        return False


def _compare_leaf(actual, expected, kw):
    rtol, atol, equal_nan = kw["rtol"], kw["atol"], kw["equal_nan"]
    if actual is None or expected is None:
        if actual is None and expected is None:
            return
        if actual is None or expected is None:
            raise _Mismatch(AssertionError, f"None mismatch: {actual} is not {expected}")
    if isinstance(actual, (bool, np.bool_)) and isinstance(expected, (bool, np.bool_)):
        if bool(actual) != bool(expected):
            raise _Mismatch(AssertionError, f"Booleans mismatch: {actual} is not {expected}")
        return
    for cls in (Tensor, np.ndarray):
        if isinstance(actual, cls) or isinstance(expected, cls):
            if not (isinstance(actual, cls) and isinstance(expected, cls)):
                raise _type_error(actual, expected)
            _compare_tensors(actual, expected, rtol, atol, equal_nan, kw["check_dtype"],
                             kw["check_stride"])
            return
    if _is_number(actual) and _is_number(expected):
        _compare_numbers(actual, expected, rtol, atol, equal_nan, kw["check_dtype"])
        return
    raise _type_error(actual, expected)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    r"""Assert that ``actual`` and ``expected`` are close.

    Tensors (and NumPy arrays) must match in shape and, unless ``check_dtype=False``, dtype;
    their values are close when ``|actual - expected| <= atol + rtol * |expected|`` elementwise
    (infinities must be equal, NaN matches NaN only with ``equal_nan=True``). Without ``rtol``
    and ``atol`` the defaults depend on the dtype: float16 ``(1e-3, 1e-5)``, bfloat16
    ``(1.6e-2, 1e-5)``, float32 / complex64 ``(1.3e-6, 1e-5)``, float64 / complex128
    ``(1e-7, 1e-7)``, and ``0`` for integers and bool. Python scalars compare the same way;
    sequences and mappings are compared item by item.

    Raises:
        AssertionError: with PyTorch's message when the inputs are not close.
        TypeError: when the inputs are of types that cannot be compared.
        ValueError: when only one of ``rtol`` and ``atol`` is given.
    """
    if (rtol is None) != (atol is None):
        _tolerances((), rtol, atol)
    kw = dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=check_dtype,
              check_stride=check_stride)
    try:
        _compare(actual, expected, [], kw)
    except _Mismatch as m:
        text = m.msg
        if msg is not None and m.cls is AssertionError:
            text = msg(text) if callable(msg) else msg
        raise m.cls(text) from None


def _index(flat, shape):
    return tuple(int(i) for i in np.unravel_index(flat, shape))
