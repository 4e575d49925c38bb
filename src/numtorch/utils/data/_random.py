"""Where the data utilities get their randomness.

A ``numtorch.Generator`` wraps a ``numpy.random.Generator`` in ``._rng``; with ``generator=None``
the global default generator (seeded by ``numtorch.manual_seed``) is used, as PyTorch does.
"""

import numpy as np


def numpy_rng(generator=None):
    """The ``numpy.random.Generator`` behind ``generator`` or behind the global default."""
    if generator is None:
        generator = _default_generator()
        if generator is None:  # the core has no generator yet: fall back to NumPy's global state
            return np.random.default_rng(np.random.randint(0, 2**31 - 1))
    if isinstance(generator, np.random.Generator):
        return generator
    rng = getattr(generator, "_rng", None)
    if rng is None:
        raise TypeError(
            f"generator must be a numtorch.Generator or None, but got {type(generator).__name__}")
    return rng


def _default_generator():
    import numtorch

    gen = getattr(numtorch, "default_generator", None)
    if gen is None:
        random = getattr(numtorch, "random", None)
        gen = getattr(random, "default_generator", None)
    return gen


def randperm(n, generator=None):
    """A random permutation of ``range(n)`` as an int64 ndarray."""
    return numpy_rng(generator).permutation(n).astype(np.int64, copy=False)


def randint(high, size, generator=None):
    """``size`` integers drawn uniformly from ``[0, high)`` as an int64 ndarray."""
    return numpy_rng(generator).integers(0, high, size=size, dtype=np.int64)


def seed(generator=None):
    """A fresh 63-bit seed drawn from ``generator`` (PyTorch's ``random_()`` on an int64)."""
    return int(numpy_rng(generator).integers(0, 2**63 - 1, dtype=np.int64))
