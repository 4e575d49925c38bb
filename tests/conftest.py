"""Suite-wide settings: the torch oracle runs single-threaded; the ``jit_kernels`` fixture.

On a 2-core machine shared with other work, torch's default thread pool makes each small oracle
call several times slower; one thread keeps the suite fast and changes no result.
"""

import numpy as np
import pytest

from numtorch.ops import _jit

try:
    import torch
except ImportError:
    torch = None

if torch is not None:
    torch.set_num_threads(1)


@pytest.fixture(params=["numpy", "numba"])
def jit_kernels(request, monkeypatch):
    """Runs a test on the pure-NumPy kernels and, when numba is installed, again on the compiled
    ones (``numtorch.ops._jit``). Modules opt in with ``pytestmark``."""
    if request.param == "numba":
        skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", request.param == "numba")
    return request.param


def skip_without_numba():
    """Skip the calling test unless numtorch can use its compiled kernels here."""
    saved = _jit.ENABLED
    _jit.ENABLED = True
    try:
        usable = _jit.kernels(np.empty(1, np.float32)) is not None
    finally:
        _jit.ENABLED = saved
    if not usable:
        pytest.skip(f"numba kernels unavailable ({_jit.unavailable_reason or 'numba missing'})")
