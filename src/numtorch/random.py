"""Random number generation: ``Generator``, ``manual_seed`` and the global default generator.

Streams come from NumPy's PCG64; the same seed gives the same numbers in numtorch every time
(bit-equality with PyTorch's Mersenne Twister is not a goal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np

from ._device import CPU
from ._tensor import Tensor

if TYPE_CHECKING:
    from ._device import device as _device_cls

_INITIAL_SEED = 67280421310721


class Generator:
    """A pseudo-random number generator (``torch.Generator``)."""

    def __init__(self, device: _device_cls | str | int = "cpu") -> None:
        self._seed = _INITIAL_SEED
        self._rng = np.random.default_rng(self._seed)

    @property
    def device(self) -> _device_cls:
        return CPU

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        self._seed = seed
        self._rng = np.random.default_rng(seed & 0xFFFFFFFFFFFFFFFF)
        return self

    def seed(self) -> int:
        # entropy is an int when SeedSequence() draws it from the OS
        s = int(cast(int, np.random.SeedSequence().entropy)) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        import json  # deferred: startup time (only the generator's state needs json)

        state = json.dumps(self._rng.bit_generator.state).encode()
        return Tensor._wrap(np.frombuffer(state, dtype=np.uint8).copy())

    def set_state(self, new_state: Tensor) -> Generator:
        import json  # deferred: startup time (only the generator's state needs json)
        self._rng.bit_generator.state = json.loads(bytes(new_state._data.tolist()).decode())
        return self


default_generator = Generator()


def _rng(generator: Generator | None = None) -> np.random.Generator:
    return (generator or default_generator)._rng


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (and return it), as ``torch.manual_seed`` does."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    default_generator.set_state(new_state)
