"""Random number generation: ``Generator``, ``manual_seed`` and the global default generator.

A generator is PyTorch's CPU generator: a 32-bit Mersenne Twister (MT19937) seeded as PyTorch
seeds it (``init_genrand`` with the seed's low 32 bits), and the sampling functions here turn its
outputs into numbers the way PyTorch's CPU kernels do. So after the same ``manual_seed`` these
give PyTorch's numbers: ``rand``, ``randn``, ``randint``, ``randperm``, ``normal``,
``bernoulli``, ``multinomial``; the in-place ``uniform_``, ``normal_``, ``random_``,
``bernoulli_`` and ``exponential_``; the ``nn.init`` functions, and so every module's initial
weights; ``rrelu``; the data loaders' shuffling, ``random_split`` and ``WeightedRandomSampler``;
the random transforms' parameters; ``datasets.FakeData``'s items; the samples of ``Normal``,
``Uniform``, ``Exponential``, ``Bernoulli`` and ``Categorical``. (float32 normals of 16 or more
agree to float32 rounding, not always bit for bit: PyTorch computes them with vectorised
approximations of log, sin and cos; standard normals measured within 4 units in the last
place, 86 % exactly.)
``get_state()`` is PyTorch's 5056-byte state, which ``torch.Generator.set_state`` accepts, and
back.

* ``uniform_(a, b)``: one 32-bit output per element, its low 24 bits scaled to [0, 1) (float16
  and bfloat16 round that float), or for float64 a 64-bit one (two outputs, high word first)
  and its low 53 bits; then ``x * (b - a) + a`` in double precision.
* ``normal_``: a contiguous tensor of at least 16 elements is filled with uniforms of its dtype
  and transformed 16 at a time by Box-Muller (``u1 = 1 - x[j]``, ``u2 = x[j + 8]`` for the first
  8 of each 16); a size that is not a multiple of 16 redraws and transforms its last 16. Smaller
  or strided tensors take doubles in pairs (``r = sqrt(-2 log1p(-u2))``, ``theta = 2 pi u1``,
  ``r cos(theta)``), keeping ``r sin(theta)`` for the next one.
* ``random_(from, to)``: ``from + output % (to - from)`` (a 64-bit output from ``2**32`` up);
  ``randperm(n)`` swaps position ``i`` with ``i + output % (n - i)``, front to back.
* ``bernoulli_(p)`` with a float ``p``: a double uniform per element, ``u < p``; with a tensor of
  probabilities a float one (a double one for float64 probabilities).
* A strided tensor is filled in the order of its memory, as PyTorch's iterators walk it.

Other draws (the gamma, Poisson and binomial samplers, the distributions' other samplers)
come from NumPy's samplers on the same Mersenne Twister: reproducible with
``manual_seed``, but not PyTorch's numbers. Dropout masks come from numtorch's own counter-based
stream keyed by one 64-bit draw (PyTorch's takes two Twister outputs per element, several times
the cost of the dropout itself), so they are reproducible but not PyTorch's either.
"""

from __future__ import annotations

import contextlib
import math
import struct
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ._device import CPU
from ._tensor import Tensor

if TYPE_CHECKING:
    from ._device import device as _device_cls

__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed",
           "manual_seed", "seed", "set_rng_state"]

_INITIAL_SEED = 67280421310721
_MT_N = 624
# PyTorch's CPUGeneratorImplState: the legacy THGeneratorState (initial seed, left, seeded, next,
# the 624 state words as uint64, normal_x, normal_y, normal_rho, normal_is_valid), then the
# cached float normal sample and its flag.
_STATE_HEAD = struct.Struct("<QiiQ")
_STATE_NORMAL = struct.Struct("<dddi4x")
_STATE_FLOAT = struct.Struct("<f?3x")
_STATE_SIZE = _STATE_HEAD.size + _MT_N * 8 + _STATE_NORMAL.size + _STATE_FLOAT.size  # 5056
_MASK64 = 0xFFFFFFFFFFFFFFFF


def _uniform_bits(dtype):
    """Random bits per uniform of a float ``dtype``: 53 for float64, 24 for the others (float16
    and bfloat16 uniforms are float32 ones, rounded)."""
    return 53 if np.dtype(dtype) == np.float64 else 24


def _mantissa_bits(dtype):
    """A float dtype's mantissa with its implicit bit (None for other dtypes)."""
    return {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}.get(np.dtype(dtype).name)


class Generator:
    """A pseudo-random number generator (``torch.Generator``): PyTorch's CPU generator, a
    Mersenne Twister giving PyTorch's numbers for the same seed (see :mod:`numtorch.random`)."""

    def __init__(self, device: _device_cls | str | int = "cpu") -> None:
        self._bits = np.random.MT19937(0)
        # NumPy's samplers over the same stream, for draws numtorch does not take as PyTorch does
        self._rng = np.random.Generator(self._bits)
        self._next_double_normal: float | None = None
        self._next_float_normal: float | None = None
        self.manual_seed(_INITIAL_SEED)

    @property
    def device(self) -> _device_cls:
        return CPU

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        self._seed = seed & _MASK64
        # RandomState seeds a Mersenne Twister with init_genrand, as PyTorch does
        key = cast(tuple, np.random.RandomState(seed & 0xFFFFFFFF).get_state(legacy=True))[1]
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": _MT_N}}
        self._next_double_normal = self._next_float_normal = None
        return self

    def seed(self) -> int:
        # entropy is an int when SeedSequence() draws it from the OS
        s = int(np.random.SeedSequence().entropy) & _MASK64  # type: ignore[arg-type]
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The generator's state as PyTorch's 5056-byte ``ByteTensor``."""
        state = self._bits.state["state"]
        pos = int(state["pos"])
        words = np.asarray(state["key"], dtype="<u8")
        double = self._next_double_normal
        flt = self._next_float_normal
        raw = b"".join((
            _STATE_HEAD.pack(self._seed, _MT_N + 1 - pos, 1, 0 if pos == _MT_N else pos),
            words.tobytes(),
            _STATE_NORMAL.pack(0.0, 0.0 if double is None else double, 0.0, double is not None),
            _STATE_FLOAT.pack(0.0 if flt is None else flt, flt is not None)))
        return Tensor._wrap(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state: Tensor) -> Generator:
        """Restores a state from :meth:`get_state` (or from ``torch.Generator.get_state``)."""
        if not isinstance(new_state, Tensor) or new_state._data.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        raw = new_state._data.tobytes()
        if len(raw) != _STATE_SIZE:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_SIZE} but found "
                               f"the input RNG state size to be {len(raw)}")
        seed, left, _, _ = _STATE_HEAD.unpack_from(raw, 0)
        offset = _STATE_HEAD.size
        words = np.frombuffer(raw, dtype="<u8", count=_MT_N, offset=offset)
        offset += _MT_N * 8
        _, double, _, double_valid = _STATE_NORMAL.unpack_from(raw, offset)
        flt, flt_valid = _STATE_FLOAT.unpack_from(raw, offset + _STATE_NORMAL.size)
        if not 1 <= left <= _MT_N:
            raise RuntimeError("Invalid mt19937 state")
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": (words & 0xFFFFFFFF).astype(np.uint32),
                                      "pos": _MT_N + 1 - left}}
        self._seed = seed
        self._next_double_normal = double if double_valid else None
        self._next_float_normal = flt if flt_valid else None
        return self

    def clone_state(self) -> Generator:
        """A new generator in this one's state."""
        return Generator().set_state(self.get_state())

    def get_offset(self) -> int:
        raise RuntimeError("CPU Generator does not use offset")

    def set_offset(self, offset: int) -> Generator:
        raise RuntimeError("CPU Generator does not use offset")

    # ------------------------------------------------------------------- PyTorch's draws
    def _random(self, n: int) -> np.ndarray:
        """``n`` 32-bit outputs (as uint64)."""
        return self._bits.random_raw(n)

    def _random64(self, n: int) -> np.ndarray:
        """``n`` 64-bit outputs, each two 32-bit ones with the first as the high word."""
        r = self._bits.random_raw(2 * n)
        return (r[0::2] << np.uint64(32)) | r[1::2]

    def _unit(self, n: int, dtype) -> np.ndarray:
        """``n`` uniforms in [0, 1) with the bits of ``dtype``: float64 values for float64, the
        others' float32 values (24 bits, exact in float32)."""
        if _uniform_bits(dtype) == 53:
            return (self._random64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53
        return (self._random(n) & np.uint64(0xFFFFFF)).astype(np.float32) * np.float32(2.0**-24)

    def _uniform(self, shape, dtype, low=0.0, high=1.0, fused=True) -> np.ndarray:
        """``uniform_(low, high)`` on a tensor of ``shape`` and float ``dtype`` (``fused``: the
        scaling's multiply and add rounded once, as in PyTorch's vectorised kernels; the scalar
        code of ops such as ``rrelu`` rounds twice)."""
        dtype = np.dtype(dtype)
        if dtype.kind == "c":  # the real and imaginary parts, as a real view
            real = self._uniform(tuple(shape) + (2,), _real_dtype(dtype), low, high, fused)
            return real.view(dtype).reshape(shape)
        frm, to = dtype.type(low), dtype.type(high)
        if frm == 0 and to == 1:  # (x * 1 + 0 is x)
            return self._unit(math.prod(shape), dtype).astype(dtype).reshape(shape)
        acc = np.float64 if dtype.itemsize >= 4 else np.float32
        x: Any = self._unit(math.prod(shape), dtype).astype(acc, copy=False)
        span, start = float(dtype.type(to - frm)), float(frm)  # (exact in the accumulator)
        out = _fma(x, span, start) if fused and acc == np.float64 else x * span + start
        return out.astype(dtype).reshape(shape)

    def _normal(self, shape, dtype, mean=0.0, std=1.0, contiguous=True) -> np.ndarray:
        """``normal_(mean, std)`` on a tensor of ``shape`` and float ``dtype``."""
        dtype = np.dtype(dtype)
        n = math.prod(shape)
        if dtype.kind == "c":  # PyTorch: normal of the real view with std / sqrt(2)
            real = self._normal(tuple(shape) + (2,), _real_dtype(dtype), 0.0,
                                std / math.sqrt(2.0), contiguous)
            return (real.view(dtype).reshape(shape) + mean).astype(dtype)
        if n >= 16 and contiguous:
            return self._normal_fill(n, dtype, mean, std).reshape(shape)
        return self._normal_pairs(n, mean, std).astype(dtype).reshape(shape)

    def _normal_fill(self, n, dtype, mean, std):
        compute = np.float64 if dtype == np.float64 else np.float32
        out = np.empty(n, compute)
        full = n // 16 * 16
        if dtype.itemsize < 4:
            # float16 and bfloat16 draw whole runs of 16 float uniforms; a size that is not a
            # multiple of 16 takes its last 16 from the last run
            u = self._unit(-(-n // 16) * 16, dtype)
            tail = u[full:]
        else:
            u = self._unit(n, dtype)
            tail = self._unit(16, dtype) if n != full else None
        out[:full] = _box_muller_16(u[:full], compute, mean, std)
        if n != full:
            out[n - 16:] = _box_muller_16(tail, compute, mean, std)
        return out.astype(dtype, copy=False)

    def _normal_pairs(self, n, mean, std):
        """``n`` normals as PyTorch's ``normal_distribution<double>`` gives them one by one."""
        out = np.empty(n)
        done = 0
        if n and self._next_double_normal is not None:
            out[0] = self._next_double_normal
            self._next_double_normal = None
            done = 1
        pairs = (n - done + 1) // 2
        if pairs:
            # one by one with the C library's functions, as PyTorch computes them (NumPy's
            # vectorised sin and cos may differ in the last bit): only small or strided
            # tensors come here
            u = self._unit(2 * pairs, np.float64).tolist()
            both = []
            for k in range(pairs):
                r = math.sqrt(-2.0 * math.log1p(-u[2 * k + 1]))
                theta = 2.0 * math.pi * u[2 * k]
                both += (r * math.cos(theta), r * math.sin(theta))
            out[done:] = both[:n - done]
            if (n - done) % 2:
                self._next_double_normal = both[-1]
        return _fma(out, np.float64(std), np.float64(mean))

    def _random_from_to(self, shape, low, high) -> np.ndarray:
        """``random_(low, high)``: int64 values ``low + output % (high - low)``."""
        span = int(high) - int(low)
        n = math.prod(shape)
        raw = self._random64(n) if span >= 1 << 32 else self._random(n)
        return ((raw % np.uint64(span)).astype(np.int64) + int(low)).reshape(shape)

    def _random_full(self, shape, dtype) -> np.ndarray:
        """``random_()`` without bounds: ``[0, 2**digits]`` for floats, ``[0, max]`` for
        integers (a 64-bit output for int64 and float64)."""
        dtype = np.dtype(dtype)
        n = math.prod(shape)
        if dtype == np.bool_:
            return (self._random(n) & np.uint64(1)).astype(np.bool_).reshape(shape)
        bits = _mantissa_bits(dtype)
        modulus = (1 << bits) + 1 if bits is not None else int(np.iinfo(dtype).max) + 1
        raw = self._random64(n) if dtype in (np.int64, np.float64) else self._random(n)
        return (raw % np.uint64(modulus)).astype(dtype).reshape(shape)

    def _randperm(self, n: int) -> np.ndarray:
        """``randperm(n)`` as an int64 array: position ``i`` swaps with ``i + output % (n - i)``
        front to back (a 64-bit output for ``n`` of ``2**32 / 20`` and more)."""
        steps = max(n - 1, 0)
        raw = self._random64(steps) if n >= (2**32 - 1) // 20 else self._random(steps)
        offsets = (raw % np.arange(n, n - steps, -1, dtype=np.uint64)).tolist()
        perm = list(range(n))
        for i, z in enumerate(offsets):
            j = i + z
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)

    def _bernoulli(self, shape, p) -> np.ndarray:
        """``bernoulli_(p)``: booleans, a double uniform below the float ``p``, or a float
        uniform (a double one for float64) below each of the probabilities ``p`` (an array
        broadcast to ``shape``)."""
        n = math.prod(shape)
        if isinstance(p, np.ndarray):
            p = np.broadcast_to(p, shape)
            bits = np.float64 if p.dtype == np.float64 else np.float32
            return self._unit(n, bits).reshape(shape) < p
        return (self._unit(n, np.float64) < p).reshape(shape)


# ---------------------------------------------------------------------------- checked sampling
# What the tensor functions call: PyTorch's argument checks, then the generator's draws.
_TYPE_WORDS = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64"}


def _is_float(dtype):
    dtype = np.dtype(dtype)
    return dtype.kind in "fc" or dtype.name == "bfloat16"


def _refuse_non_float(dtype, kernel):
    if not _is_float(dtype):
        name = np.dtype(dtype).name
        word = _TYPE_WORDS.get(name, name)
        raise NotImplementedError(f'"{kernel}" not implemented for \'{word}\'')


def _num(x):
    """A number as PyTorch's messages print it (C++'s default stream format)."""
    return f"{x:g}" if isinstance(x, float) else str(x)


def uniform(generator, shape, dtype, low=0.0, high=1.0, fused=True):
    """An array of ``shape`` and float ``dtype`` filled as ``uniform_(low, high)`` fills it
    (see :meth:`Generator._uniform` for ``fused``)."""
    _refuse_non_float(dtype, "check_uniform_bounds")
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={_num(low)} > to={_num(high)}")
    return _gen(generator)._uniform(tuple(shape), dtype, low, high, fused)


def normal(generator, shape, dtype, mean=0.0, std=1.0, contiguous=True):
    """An array of ``shape`` and float ``dtype`` filled as ``normal_(mean, std)`` fills a
    (``contiguous`` or strided) tensor."""
    _refuse_non_float(dtype, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(std)}")
    return _gen(generator)._normal(tuple(shape), dtype, mean, std, contiguous)


def random(generator, shape, dtype, low=None, high=None):
    """An array of ``shape`` and ``dtype`` filled as ``random_(low, high)`` (``random_(high)``
    when ``low`` is None and ``high`` is not, ``random_()`` when both are None) fills it."""
    g = _gen(generator)
    dtype = np.dtype(dtype)
    if low is None and high is None:
        return g._random_full(tuple(shape), dtype)
    low = 0 if low is None else int(low)
    high = int(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    return g._random_from_to(tuple(shape), low, high).astype(dtype, copy=False)


def bernoulli(generator, shape, p):
    """Booleans of ``shape`` drawn as ``bernoulli_(p)`` draws them (``p`` a float or an array of
    probabilities of ``shape``)."""
    if isinstance(p, np.ndarray):
        _refuse_non_float(p.dtype, "bernoulli_tensor_cpu_p_")
        if p.size and ((p < 0).any() or (p > 1).any() or np.isnan(p).any()):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  "
                               "(Could this error message be improved?  If so, please report an "
                               "enhancement request to PyTorch.)")
        return _gen(generator)._bernoulli(tuple(shape), p)
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_num(p)}")
    return _gen(generator)._bernoulli(tuple(shape), float(p))


def randperm(generator, n):
    """``randperm(n)`` as an int64 array."""
    return _gen(generator)._randperm(int(n))


def _real_dtype(dtype):
    return np.dtype(np.float32 if np.dtype(dtype) == np.complex64 else np.float64)


def _box_muller_16(u, compute, mean, std):
    """PyTorch's ``normal_fill_16`` over consecutive runs of 16 uniforms ``u`` (of the tensor's
    dtype): the first 8 of each run give the radii, the last 8 the angles. float32 is computed
    in float32 as PyTorch does (NumPy's float32 log, sin and cos give PyTorch's bits for most
    values, within 4 units in the last place for all), float64 in float64."""
    runs = u.reshape(-1, 16).astype(compute, copy=False)
    u1 = 1 - runs[:, :8]
    theta = compute(2.0 * math.pi) * runs[:, 8:]
    radius = np.sqrt(compute(-2.0) * np.log(u1))
    out = np.empty(runs.shape, compute)
    np.multiply(radius, np.cos(theta), out=out[:, :8])
    np.multiply(radius, np.sin(theta), out=out[:, 8:])
    if compute == np.float32:
        if std == 1 and mean == 0:
            return out.reshape(-1)
        # PyTorch's fused multiply-add: the float32 product is exact in float64, and the sum
        # rounds there and then to float32 (the same as one rounding but in rare ties)
        scaled = out.astype(np.float64) * float(np.float32(std)) + float(np.float32(mean))
        return scaled.astype(np.float32).reshape(-1)
    return _fma(out, np.float64(std), np.float64(mean)).reshape(-1)


def _fma(a, b, c):
    """``a * b + c`` rounded once (float64 arrays or scalars), as PyTorch's kernels compute it
    where the compiler fuses the multiply and add: the exact product as a sum of two doubles
    (Dekker) added to ``c`` with the rounding error of that sum carried along."""
    p = a * b
    split = 134217729.0  # 2**27 + 1
    ta, tb = a * split, b * split
    ah, bh = ta - (ta - a), tb - (tb - b)
    al, bl = a - ah, b - bh
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # a * b == p + err exactly
    s = p + c
    bp = s - p
    low = (p - (s - bp)) + (c - bp)  # p + c == s + low exactly
    return s + (low + err)


default_generator = Generator()


def _rng(generator: Generator | None = None) -> np.random.Generator:
    """NumPy's samplers over the generator's stream (for draws not taken as PyTorch does)."""
    return (generator or default_generator)._rng


def _gen(generator: Generator | None = None) -> Generator:
    """``generator``, or the default one."""
    return generator or default_generator


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


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Forks the RNG: the default generator's state is restored when the block exits (there
    are no accelerator generators to fork). With ``enabled=False`` it does nothing."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
