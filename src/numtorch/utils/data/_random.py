"""Where the data utilities get their randomness: numtorch's generators, drawn from as PyTorch's
data utilities draw from theirs (``randperm``, ``randint`` and an int64 ``random_()`` for seeds),
so a loader shuffles in PyTorch's order after the same ``manual_seed``. With ``generator=None``
the global default generator is used, as PyTorch does.
"""

import numpy as np

from ... import random


def _generator(generator):
    if generator is None or isinstance(generator, random.Generator):
        return generator
    raise TypeError(
        f"generator must be a numtorch.Generator or None, but got {type(generator).__name__}")


def numpy_rng(generator=None):
    """NumPy's samplers over the stream of ``generator`` (or of the global default), for draws
    numtorch does not take as PyTorch does."""
    if isinstance(generator, np.random.Generator):
        return generator
    return random._rng(_generator(generator))


def randperm(n, generator=None):
    """``torch.randperm(n, generator=generator)`` as an int64 ndarray."""
    return random.randperm(_generator(generator), n)


def randint(high, size, generator=None):
    """``torch.randint(high, (size,), generator=generator)`` as an int64 ndarray."""
    return random.random(_generator(generator), (size,), np.int64, 0, high)


def seed(generator=None):
    """A fresh 63-bit seed drawn from ``generator``, as PyTorch draws one:
    ``torch.empty((), dtype=torch.int64).random_(generator=generator)``."""
    return int(random.random(_generator(generator), (), np.int64))
