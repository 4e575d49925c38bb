"""Where the data utilities get their randomness.

A ``numtorch.Generator`` wraps a ``numpy.random.Generator`` in ``._rng``; with ``generator=None``
the global default generator (seeded by ``numtorch.manual_seed``) is used, as PyTorch does.
"""

import numpy as np

from ... import random


def numpy_rng(generator=None):
    """The ``numpy.random.Generator`` behind ``generator`` or behind the global default."""
    if generator is None:

        return random.default_generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    rng = getattr(generator, "_rng", None)
    if rng is None:
        raise TypeError(
            f"generator must be a numtorch.Generator or None, but got {type(generator).__name__}")
    return rng


def randperm(n, generator=None):
    """A random permutation of ``range(n)`` as an int64 ndarray."""
    return numpy_rng(generator).permutation(n).astype(np.int64, copy=False)


def seed(generator=None):
    """A fresh 63-bit seed drawn from ``generator`` (PyTorch's ``random_()`` on an int64)."""
    return int(numpy_rng(generator).integers(0, 2**63 - 1, dtype=np.int64))
