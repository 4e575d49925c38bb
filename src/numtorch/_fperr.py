"""Run NumPy code with floating-point warnings off (inf and nan are values, as in PyTorch).

``np.errstate`` costs about a microsecond a use; on the op hot path this sets NumPy's error
state context variable directly (a few hundred nanoseconds), falling back to ``np.errstate``
where NumPy's internals differ.
"""

import numpy as np

try:
    from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj  # type: ignore[attr-defined]

    _IGNORE = _make_extobj(all="ignore")

    def quiet_call(fn, *args):
        """``fn(*args)`` with NumPy's floating-point warnings off."""
        token = _extobj_contextvar.set(_IGNORE)
        try:
            return fn(*args)
        finally:
            _extobj_contextvar.reset(token)
except (ImportError, AttributeError, TypeError):  # another NumPy layout: the public way
    def quiet_call(fn, *args):
        """``fn(*args)`` with NumPy's floating-point warnings off."""
        with np.errstate(all="ignore"):
            return fn(*args)
