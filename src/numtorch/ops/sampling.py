"""``normal`` with tensor parameters and ``bernoulli`` of a probability tensor: samples that
PyTorch records with zero gradients (``NormalBackward1``/``2``/``3``, ``BernoulliBackward0``).
They are not reparameterised (``Normal.rsample`` is ``loc + eps * scale`` for that), so a loss
through them gives their parameters zero gradients rather than an error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _creation
from .._tensor import Tensor
from . import _formulas as F
from ._registry import formula

if TYPE_CHECKING:
    from ..random import Generator
    from ..types import _size

__all__ = ["bernoulli", "normal"]


def _zero_grads(ctx, g):
    """Zeros of each input's shape."""
    return tuple(F.zeros_like(g, shape) if ctx.needs(i) else None
                 for i, shape in enumerate(ctx.shapes))


NormalBackward1 = formula("NormalBackward1", attrs=("shapes",))(_zero_grads)  # Tensor mean
NormalBackward2 = formula("NormalBackward2", attrs=("shapes",))(_zero_grads)  # Tensor std
NormalBackward3 = formula("NormalBackward3", attrs=("shapes",))(_zero_grads)  # both Tensors
BernoulliBackward0 = formula("BernoulliBackward0", attrs=("shapes",))(_zero_grads)


def normal(mean: float | Tensor = 0.0, std: float | Tensor = 1.0, size: _size | None = None, *,
           generator: Generator | None = None, **kwargs: Any) -> Tensor:
    """Samples from N(mean, std²) (:func:`numtorch._creation.normal`); with Tensor ``mean``
    or ``std`` the result is recorded as PyTorch records it, with zero gradients."""
    out = _creation.normal(mean, std, size, generator=generator, **kwargs)
    inputs: tuple[Tensor, ...]
    if isinstance(mean, Tensor) and isinstance(std, Tensor):
        node, inputs = NormalBackward3, (mean, std)
    elif isinstance(mean, Tensor):
        node, inputs = NormalBackward1, (mean,)
    elif isinstance(std, Tensor):
        node, inputs = NormalBackward2, (std,)
    else:
        return out
    return node.record(out._data, inputs, (), (tuple(t._data.shape for t in inputs),))


def bernoulli(input: Tensor, p: float | None = None, *,
              generator: Generator | None = None) -> Tensor:
    """Draws 0 or 1 with the probabilities ``input`` (or ``p``)
    (:func:`numtorch._creation.bernoulli`); with the probabilities from ``input`` the result
    is recorded with a zero gradient, as in PyTorch."""
    out = _creation.bernoulli(input, p, generator=generator)
    if p is not None:
        return out
    return BernoulliBackward0.record(out._data, (input,), (), ((input._data.shape,),))
