"""``torch._foreach_*``: one operation applied to every tensor of a list (what PyTorch's
optimizers call with ``foreach=True``).

Each is a loop over the ordinary tensor op, so results, dtypes, errors and gradients are exactly
those of the per-tensor op. Out-of-place forms return a tuple of new tensors; in-place forms
(``_foreach_add_``) update the tensors and return the list they were given.
"""

import importlib
import numbers

from ._tensor import Tensor
from .ops.elementwise import pow as _pow

_UNARY = ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1",
          "floor", "frac", "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal",
          "round", "rsqrt", "sigmoid", "sign", "sin", "sinh", "sqrt", "tan", "tanh", "trunc")
_BINARY = ("add", "sub", "mul", "div", "maximum", "minimum", "clamp_min", "clamp_max", "pow")
_TERNARY = ("addcmul", "addcdiv")


def _check_list(tensors):
    if len(tensors) == 0:
        raise RuntimeError("Tensor list must have at least one tensor.")


def _check_same_length(a, b):
    if len(a) != len(b):
        raise RuntimeError(f"Tensor lists must have the same number of tensors, got {len(a)} and "
                           f"{len(b)}")


def _per_tensor(tensors, other):
    """``other`` spread over ``tensors``: a scalar or one tensor for all, or one entry each."""
    if isinstance(other, (list, tuple)):
        if other and all(isinstance(o, Tensor) for o in other):
            _check_same_length(tensors, other)
        elif len(other) != len(tensors):
            raise RuntimeError("Tensor list must have same number of elements as scalar list.")
        return list(other)
    return [other] * len(tensors)


def _scalars(tensors, value):
    """``value`` for addcmul/addcdiv: a number, a list of numbers or a 1-D tensor of them."""
    if isinstance(value, Tensor):
        if value.dim() != 1 or value.numel() != len(tensors):
            raise RuntimeError(f"Expected length of scalars to match input of length "
                               f"{len(tensors)} but got {value.numel()} instead.")
        return value.tolist()
    return _per_tensor(tensors, value)


def _out_of_place(name):
    for module in ("numtorch", "numtorch.special"):
        fn = getattr(importlib.import_module(module), name, None)
        if fn is not None:
            return fn
    raise NotImplementedError(f"_foreach_{name}: numtorch has no {name}")


def _call(t, name, inplace, *args, **kwargs):
    method = getattr(t, name + "_" if inplace else name, None)
    if method is not None:
        return method(*args, **kwargs)
    result = _out_of_place(name)(t, *args, **kwargs)
    # An op with no in-place method: compute, then copy into the tensor (recorded as a copy_).
    return t.copy_(result) if inplace else result


def _make_unary(name, inplace):
    def op(self):
        _check_list(self)
        out = [_call(t, name, inplace) for t in self]
        return self if inplace else tuple(out)
    op.__name__ = f"_foreach_{name}{'_' if inplace else ''}"
    op.__doc__ = f"Apply ``{name}`` to each tensor of the list."
    return op


def _make_binary(name, inplace):
    takes_alpha = name in ("add", "sub")

    def op(self, other, *, alpha=None):
        _check_list(self)
        others = _per_tensor(self, other)
        kw = {} if alpha is None or not takes_alpha else {"alpha": alpha}
        out = [_call(t, name, inplace, o, **kw) for t, o in zip(self, others)]
        return self if inplace else tuple(out)
    op.__name__ = f"_foreach_{name}{'_' if inplace else ''}"
    op.__doc__ = (f"Apply ``{name}`` to each tensor of the list with a scalar, a list of scalars, "
                  f"a list of tensors or one tensor.")
    return op


def _make_ternary(name, inplace):
    def op(self, tensor1, tensor2, value=1):
        _check_list(self)
        _check_same_length(self, tensor1)
        _check_same_length(self, tensor2)
        values = _scalars(self, value)
        out = [_call(t, name, inplace, a, b, value=v)
               for t, a, b, v in zip(self, tensor1, tensor2, values)]
        return self if inplace else tuple(out)
    op.__name__ = f"_foreach_{name}{'_' if inplace else ''}"
    op.__doc__ = f"``self[i].{name}(tensor1[i], tensor2[i], value=value[i])`` for every ``i``."
    return op


def _make_lerp(inplace):
    def op(self, tensors1, weight):
        _check_list(self)
        _check_same_length(self, tensors1)
        weights = _per_tensor(self, weight)
        out = [_call(t, "lerp", inplace, e, w) for t, e, w in zip(self, tensors1, weights)]
        return self if inplace else tuple(out)
    op.__name__ = f"_foreach_lerp{'_' if inplace else ''}"
    op.__doc__ = "``self[i].lerp(tensors1[i], weight[i])`` for every ``i``."
    return op


__all__ = []
for _name in _UNARY:
    for _inplace in (False, True):
        _fn = _make_unary(_name, _inplace)
        globals()[_fn.__name__] = _fn
        __all__.append(_fn.__name__)
for _name in _BINARY:
    for _inplace in (False, True):
        _fn = _make_binary(_name, _inplace)
        globals()[_fn.__name__] = _fn
        __all__.append(_fn.__name__)
for _name in _TERNARY:
    for _inplace in (False, True):
        _fn = _make_ternary(_name, _inplace)
        globals()[_fn.__name__] = _fn
        __all__.append(_fn.__name__)
for _inplace in (False, True):
    _fn = _make_lerp(_inplace)
    globals()[_fn.__name__] = _fn
    __all__.append(_fn.__name__)
del _name, _inplace, _fn


def _foreach_pow_scalar_base(base, exponents):
    return tuple(_pow(base, e) for e in exponents)


_foreach_pow_tensors = globals()["_foreach_pow"]


def _foreach_pow(self, exponent):  # noqa: F811  (a scalar base is accepted too)
    """``self[i] ** exponent[i]``; ``self`` may be a scalar base with a list of exponents."""
    if isinstance(self, numbers.Number):
        _check_list(exponent)
        return _foreach_pow_scalar_base(self, exponent)
    return _foreach_pow_tensors(self, exponent)


def _foreach_zero_(self):
    """Zero every tensor of the list in place."""
    _check_list(self)
    for t in self:
        t.zero_()
    return self


def _foreach_copy_(self, src, non_blocking=False):
    """Copy ``src[i]`` into ``self[i]`` for every ``i``."""
    _check_list(self)
    _check_same_length(self, src)
    for t, s in zip(self, src):
        t.copy_(s)
    return self


def _foreach_clone(self):
    """A copy of every tensor of the list."""
    _check_list(self)
    return tuple(t.clone() for t in self)


def _foreach_norm(self, ord=2, dtype=None):
    """The vector ``ord``-norm of every tensor of the list (0-dim tensors)."""
    _check_list(self)
    # deferred: startup time (torch.linalg's decompositions load on first use)
    from .ops.decompositions import vector_norm
    return tuple(vector_norm(t, ord, dtype=dtype) for t in self)


def _foreach_max(self):
    """The maximum of every tensor of the list (0-dim tensors)."""
    _check_list(self)
    return tuple(t.max() for t in self)


def _foreach_powsum(self, exponent=2, dtype=None):
    """``sum(|t| ** exponent)`` of every tensor of the list."""
    _check_list(self)
    return tuple(t.abs().pow(exponent).sum(dtype=dtype) for t in self)


def _foreach_mm(self, other):
    """``self[i] @ other[i]`` for every ``i``."""
    _check_list(self)
    _check_same_length(self, other)
    return tuple(a.mm(b) for a, b in zip(self, other))


__all__ += ["_foreach_pow", "_foreach_zero_", "_foreach_copy_", "_foreach_clone",
            "_foreach_norm", "_foreach_max", "_foreach_powsum", "_foreach_mm"]
