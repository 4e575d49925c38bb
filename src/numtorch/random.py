"""Random number generation: ``Generator``, ``manual_seed`` and the global default generator.

Streams come from NumPy's PCG64; the same seed gives the same numbers in numtorch every time
(bit-equality with PyTorch's Mersenne Twister is not a goal).
"""

import numpy as np

from ._device import CPU
from ._tensor import Tensor

_INITIAL_SEED = 67280421310721


class Generator:
    """A pseudo-random number generator (``torch.Generator``)."""

    def __init__(self, device="cpu"):
        self._seed = _INITIAL_SEED
        self._rng = np.random.default_rng(self._seed)

    @property
    def device(self):
        return CPU

    def manual_seed(self, seed):
        seed = int(seed)
        self._seed = seed
        self._rng = np.random.default_rng(seed & 0xFFFFFFFFFFFFFFFF)
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        import json  # deferred: startup time (only the generator's state needs json)

        state = json.dumps(self._rng.bit_generator.state).encode()
        return Tensor._wrap(np.frombuffer(state, dtype=np.uint8).copy())

    def set_state(self, new_state):
        import json  # deferred: startup time (only the generator's state needs json)
        self._rng.bit_generator.state = json.loads(bytes(new_state._data.tolist()).decode())
        return self


default_generator = Generator()


def _rng(generator=None):
    return (generator or default_generator)._rng


def manual_seed(seed):
    """Seed the default generator (and return it), as ``torch.manual_seed`` does."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)
