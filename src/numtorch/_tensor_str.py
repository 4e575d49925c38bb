"""Printing tensors the way PyTorch prints them (``repr(tensor)``, ``set_printoptions``).

The layout is PyTorch's: one formatter per tensor chooses a common element width and a notation
(fixed, integer-valued ``1.`` or scientific) from the values that will actually be shown; rows wrap
at ``linewidth``; tensors with more than ``threshold`` elements are summarised with ``...``
keeping ``edgeitems`` entries at each edge of every dimension; suffixes such as
``dtype=torch.float64`` or ``grad_fn=<MulBackward0>`` follow the contents.
"""

import contextlib
import math
import sys
from dataclasses import asdict, dataclass

import numpy as np

from . import _dtype as dt
from ._tensor import Tensor


@dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()

_PROFILES: dict[str, dict[str, float]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set options for printing tensors.

    Args:
        precision: number of digits after the decimal point for floating point values
            (default = 4).
        threshold: total number of elements above which the tensor is summarised rather
            than printed in full (default = 1000).
        edgeitems: number of items at the beginning and end of each dimension kept in a
            summary (default = 3).
        linewidth: number of characters per line used to wrap rows (default = 80).
        profile: sane defaults for printing; any one of ``'default'``, ``'short'`` or
            ``'full'``, overridden by the options above.
        sci_mode: ``True`` forces scientific notation, ``False`` forbids it, ``None``
            (default) lets each tensor choose. Unlike the other options it is reset to
            ``None`` by every call that does not pass it.
    """
    if profile in _PROFILES:
        for name, value in _PROFILES[profile].items():
            setattr(PRINT_OPTS, name, value)
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current print options as a dict (the keywords of :func:`set_printoptions`)."""
    return asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Context manager that sets print options temporarily (see :func:`set_printoptions`)."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# ---------------------------------------------------------------------------------- formatter
def _extremes(values):
    """The few nonzero floats whose printed lengths bound every other one's printed length.

    For a given sign, the length of ``f"{v:.Nf}"`` and ``f"{v:.0f}"`` grows with
    ``|v|``, and the length of ``f"{v:.Ne}"`` grows with the size of the exponent, so the
    largest and smallest magnitude of each sign suffice.
    """
    out = []
    for part in (values[values > 0], values[values < 0]):
        if part.size:
            out += [part.min().item(), part.max().item()]
    return out


class _Formatter:
    """Chooses one notation and width for all elements of a (real) array."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"  # bfloat16 arrives as float32 (see _str)
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if not self.floating:
            # Integers and booleans: the longest text is the minimum's or the maximum's.
            ends = [values.min().item(), values.max().item()] if values.size else []
            for v in ends:
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        vals = values[np.isfinite(values) & (values != 0)]
        if vals.size == 0:
            return  # nothing to measure; the sci_mode option is not applied either
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        mags = np.abs(vals).astype(np.float64)
        lo, hi = float(mags.min()), float(mags.max())
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = bool(PRINT_OPTS.sci_mode)
        prec = PRINT_OPTS.precision
        if self.sci_mode:
            pattern, extra = f"{{:.{prec}e}}", 0
        elif self.int_mode:
            pattern, extra = "{:.0f}", 1  # room for the trailing "."
        else:
            pattern, extra = f"{{:.{prec}f}}", 0
        for v in _extremes(vals):
            self.max_width = max(self.max_width, len(pattern.format(v)) + extra)

    def width(self):
        return self.max_width

    def format(self, value):
        """Format one Python scalar, right-aligned to the common width."""
        if not self.floating:
            text = f"{value}"
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
        else:
            text = f"{value:.{PRINT_OPTS.precision}f}"
        return text.rjust(self.max_width)


class _ComplexFormatter:
    """Formats complex values as ``real+imagj`` with one formatter for each part."""

    def __init__(self, values):
        self.real = _Formatter(values.real)
        self.imag = _Formatter(values.imag)

    def width(self):
        return self.real.width() + self.imag.width() + 1

    def format(self, value):
        re = self.real.format(value.real)
        im = (self.imag.format(value.imag) + "j").lstrip()
        return re + im if im[0] in "+-" else re + "+" + im


# ---------------------------------------------------------------------------------- layout
def _edge_indices(n):
    """Indices kept from a summarised dimension of length ``n``."""
    e = PRINT_OPTS.edgeitems
    if n > 2 * e:
        return np.r_[0:e, n - e:n]
    return np.arange(n)


def _summarized_values(arr):
    """The elements a summary shows (what the formatter measures)."""
    if arr.ndim == 0:
        return arr
    if arr.ndim >= 2 and not PRINT_OPTS.edgeitems:
        return arr[(slice(0, 0),) * arr.ndim]
    if arr.ndim == 1 and not PRINT_OPTS.edgeitems:
        return arr
    return arr[np.ix_(*[_edge_indices(n) for n in arr.shape])]


def _vector_str(arr, indent, summarize, fmt):
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        items = ["..."]
    elif summarize and arr.shape[0] > 2 * e:
        items = ([fmt.format(v) for v in arr[:e].tolist()] + [" ..."]
                 + [fmt.format(v) for v in arr[-e:].tolist()])
    else:
        items = [fmt.format(v) for v in arr.tolist()]
    per_line = max(1, int((PRINT_OPTS.linewidth - indent) // (fmt.width() + 2)))
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(arr, indent, summarize, fmt):
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    n = arr.shape[0]
    if summarize and n > 2 * e:
        rows = ([_nested_str(arr[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
                + [_nested_str(arr[i], indent + 1, summarize, fmt) for i in range(n - e, n)])
    else:
        rows = [_nested_str(arr[i], indent + 1, summarize, fmt) for i in range(n)]
    sep = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(rows) + "]"


def _contents_str(arr, indent):
    """The bracketed contents of a non-empty array."""
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    summarize = arr.size > PRINT_OPTS.threshold
    shown = _summarized_values(arr) if summarize else arr
    fmt = _ComplexFormatter(shown) if arr.dtype.kind == "c" else _Formatter(shown)
    return _nested_str(arr, indent, summarize, fmt)


def _add_suffixes(text, suffixes, indent):
    """Append ``, suffix`` items, starting a new line when one would pass ``linewidth``."""
    parts = [text]
    # PyTorch counts two more than the last line's length (kept for identical wrapping).
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _parameter_class():
    mod = sys.modules.get(__package__ + ".nn.parameter")
    return getattr(mod, "Parameter", None)


def _str(self, *, tensor_contents=None):
    """``repr(tensor)``: ``tensor([...])`` plus dtype, size and autograd suffixes."""

    param_cls = _parameter_class()
    cls = type(self)
    plain = cls is Tensor or (param_cls is not None and cls is param_cls)
    prefix = "tensor(" if plain else cls.__name__ + "("
    indent = len(prefix)
    arr = self._data
    dtype = self.dtype
    default = dt.get_default_dtype()
    default_complex = dt.complex128 if default is dt.float64 else dt.complex64
    suffixes = []
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dtype is not default:
            suffixes.append(f"dtype={dtype!r}")
        contents = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dtype not in (default, default_complex, dt.int64, dt.bool):
            suffixes.append(f"dtype={dtype!r}")
        # bfloat16 values print as the float32 numbers they are (NumPy formats ml_dtypes arrays
        # as objects); float32 holds every bfloat16 exactly.
        contents = _contents_str(arr.astype(np.float32) if dtype is dt.bfloat16 else arr, indent)
    if tensor_contents is not None:
        contents = tensor_contents
    if self.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(self.grad_fn).__name__}>")
    elif self._requires_grad:
        suffixes.append("requires_grad=True")
    out = _add_suffixes(prefix + contents, suffixes, indent)
    if param_cls is not None and isinstance(self, param_cls) and not plain:
        out = f"Parameter({out})"
    return out
