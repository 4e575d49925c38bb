"""Complex numbers: ``real``, ``imag``, ``conj``, ``angle``, ``polar``, ``view_as_real``,
``view_as_complex`` and the complex ``sgn``.

Gradients follow PyTorch's convention (the gradient of a real loss with respect to ``z`` is
``dL/d(conj z)``, so a holomorphic ``f`` passes ``g * conj(f'(z))``; ``autograd.node.Node``
applies that to every formula written as ``g * f'``). The nodes here are not holomorphic and
write the convention into their formulas. ``conj`` returns a new tensor holding the conjugate
values (PyTorch returns a lazily conjugated view; values and gradients are the same).
"""

import numpy as np

from .._creation import as_tensor
from .._dtype import get_default_dtype
from .._tensor import Tensor
from . import _formulas as F
from ._registry import OUT, declare, formula

_SCALAR_NAME = {"float64": "Double", "float32": "Float", "float16": "Half", "int64": "Long",
                "int32": "Int", "bool": "Bool"}
_COMPLEX_OF = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128}


def _re(x):
    return x.real if not isinstance(x, Tensor) else real(x)


def _im(x):
    return x.imag if not isinstance(x, Tensor) else imag(x)


def _conj(x):
    return np.conj(x) if not isinstance(x, Tensor) else conj(x)


def _complex(re, im):
    """``re + i im`` from two real arrays/Tensors."""
    if not isinstance(re, Tensor):
        out = np.empty(re.shape, _COMPLEX_OF[re.dtype])
        out.real = re
        out.imag = im
        return out
    from .shape import stack  # deferred: cycle: shape imports complex
    return view_as_complex(stack([re, im], -1))


# ---------------------------------------------------------------- view_as_real / view_as_complex
@formula("ViewAsRealBackward0")
def ViewAsRealBackward0(ctx, g):
    if not isinstance(g, Tensor):
        return (_complex(g[..., 0], g[..., 1]),)
    return (view_as_complex(g.contiguous()),)


ViewAsRealBackward0._holomorphic = False


def view_as_real(input):
    """A real view of a complex tensor: a last dimension of size 2 holds the real and imaginary
    parts."""
    x = input._data
    if x.dtype.kind != "c":
        raise RuntimeError("view_as_real is only supported for complex tensors")
    data = x[..., None].view(x.real.dtype)
    out = ViewAsRealBackward0.record(data, (input,))
    input._share_version(out)
    return out


@formula("ViewAsComplexBackward0")
def ViewAsComplexBackward0(ctx, g):
    if not isinstance(g, Tensor):
        return (np.stack((g.real, g.imag), -1),)
    return (view_as_real(g),)


ViewAsComplexBackward0._holomorphic = False


def view_as_complex(input):
    """A complex view of a real tensor whose last dimension (of size 2, stride 1) holds the real
    and imaginary parts."""
    x = input._data
    if x.dtype not in _COMPLEX_OF:
        raise RuntimeError(
            "view_as_complex is only supported for float and double tensors, but got a tensor "
            f"of scalar type: {input.dtype}")
    if x.ndim == 0 or x.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if x.strides[-1] != x.itemsize:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % (2 * x.itemsize) for s in x.strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    data = x.view(_COMPLEX_OF[x.dtype])[..., 0]
    out = ViewAsComplexBackward0.record(data, (input,))
    input._share_version(out)
    return out


# ---------------------------------------------------------------- real / imag / conj
def real(input):
    """The real part (a view); a real tensor is returned as is."""
    if input._data.dtype.kind != "c":
        return input
    return view_as_real(input).select(-1, 0)


def imag(input):
    """The imaginary part (a view) of a complex tensor."""
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return view_as_real(input).select(-1, 1)


def _set_part(part):
    def setter(self, value):
        target = part(self)
        src = value if isinstance(value, Tensor) else as_tensor(value)
        target.copy_(src)
    return setter


@formula("ConjBackward0")
def ConjBackward0(ctx, g):
    return (_conj(g),)


ConjBackward0._holomorphic = False


def conj(input):
    """The complex conjugate; a real tensor is returned as is."""
    x = input._data
    if x.dtype.kind != "c":
        return input
    return ConjBackward0.record(np.conj(x), (input,))


def conj_physical(input):
    """The complex conjugate as a new tensor (``conj`` already is one in numtorch)."""
    if input._data.dtype.kind != "c":
        return input.clone()
    return conj(input)


def resolve_conj(input):
    """``input`` itself: numtorch's ``conj`` results are never lazy views."""
    return input


def is_conj(input):
    """False: numtorch never sets a lazy conjugate bit."""
    return False


# ---------------------------------------------------------------- angle / polar / sgn
@formula("AngleBackward0", saves={"z": 0})
def AngleBackward0(ctx, g):
    z = ctx.z
    if (z.is_complex() if isinstance(z, Tensor) else z.dtype.kind == "c") is False:
        return (g * 0,)
    zero = z == 0
    mag2 = F.where(zero, 1, _re(z) * _re(z) + _im(z) * _im(z))
    # g * i z / |z|^2, written with real parts so it runs on arrays and Tensors alike
    res = _complex(-g * _im(z) / mag2, g * _re(z) / mag2)
    return (F.where(zero, 0, res),)


AngleBackward0._holomorphic = False


def angle(input):
    """The argument of each element (in radians); for real tensors 0 or pi."""
    x = input._data
    if x.dtype.kind == "c":
        out = np.angle(x)
    elif x.dtype.kind == "f":
        out = np.where(x < 0, np.pi, 0).astype(x.dtype)
        out = np.where(np.isnan(x), x, out)
    else:
        out = np.where(x < 0, np.pi, 0).astype(get_default_dtype()._np)
    return AngleBackward0.record(out, (input,), (x,))


@formula("PolarBackward0", saves={"angle": 1, "out": OUT})
def PolarBackward0(ctx, g):
    gr, gi = _re(g), _im(g)
    out, th = ctx.out, ctx.angle
    g_abs = gr * F.cos(th) + gi * F.sin(th) if ctx.needs(0) else None
    g_angle = gi * _re(out) - gr * _im(out) if ctx.needs(1) else None
    return g_abs, g_angle


PolarBackward0._holomorphic = False


def polar(abs, angle, *, out=None):
    """The complex tensor ``abs * (cos(angle) + i sin(angle))``."""
    if out is not None:
        raise RuntimeError("polar: out= is not supported by numtorch")
    a, t = abs._data, angle._data
    if a.dtype != t.dtype:
        raise RuntimeError(
            f"Expected object of scalar type {_SCALAR_NAME.get(a.dtype.name, a.dtype.name)} but "
            f"got scalar type {_SCALAR_NAME.get(t.dtype.name, t.dtype.name)} for second argument")
    if a.dtype not in _COMPLEX_OF:
        raise RuntimeError(f"polar is not implemented for {abs.dtype}")
    res = _complex(a * np.cos(t), a * np.sin(t))
    return PolarBackward0.record(res, (abs, angle), (t, res))


def sgn_backward(g, z):
    """PyTorch's gradient of ``sgn`` at complex ``z``: ``(g - Re(g conj(s)) s) / |z|`` with
    ``s = z / |z|``, 0 where ``z == 0`` (arrays or Tensors)."""
    zero = z == 0
    mag = F.where(zero, 1, F.abs(z))
    s = z / mag
    proj = _re(g) * _re(s) + _im(g) * _im(s)
    return F.where(zero, 0, (g - proj * s) / mag)


declare(view_as_real, method=False, nodes=(ViewAsRealBackward0,))
declare(view_as_complex, method=False, nodes=(ViewAsComplexBackward0,))
declare(real, method=False)
declare(imag, method=False)
declare(conj, nodes=(ConjBackward0,))
declare(conj_physical, nodes=(ConjBackward0,))
declare(resolve_conj)
declare(is_conj)
declare(angle, nodes=(AngleBackward0,))
declare(polar, method=False, nodes=(PolarBackward0,))
# properties put on Tensor here (the stub declares them)
Tensor.real = property(real, _set_part(real))  # type: ignore[method-assign, assignment]
Tensor.imag = property(imag, _set_part(imag))  # type: ignore[method-assign, assignment]
