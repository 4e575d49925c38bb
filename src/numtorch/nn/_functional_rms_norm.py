"""rms_norm: Root Mean Square layer normalisation, composed of differentiable tensor ops as
PyTorch's CPU implementation is (its result's grad_fn is a ``MulBackward0`` too)."""

from .. import _dtype as dt

__all__ = ["rms_norm"]


def rms_norm(input, normalized_shape, weight=None, eps=None):
    r"""Apply Root Mean Square Layer Normalization over the last ``len(normalized_shape)``
    dimensions: :math:`y = x / \sqrt{\operatorname{mean}(x^2) + \epsilon} \cdot \text{weight}`.

    ``eps`` defaults to ``torch.finfo(input.dtype).eps``. float16 and bfloat16 inputs are
    normalised in float32 and the result cast back.
    """
    if not isinstance(normalized_shape, (list, tuple)):
        raise TypeError(f"rms_norm(): argument 'normalized_shape' (position 2) must be tuple of "
                        f"ints, not {type(normalized_shape).__name__}")
    shape = tuple(normalized_shape)
    k = len(shape)
    if tuple(input.shape[input.dim() - k:]) != shape or input.dim() < k:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*{', '.join(str(s) for s in shape)}], but got input of size"
            f"{list(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(
            f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
            f"{list(weight.shape)} and normalized_shape = {list(shape)}")
    low = input.dtype in (dt.float16, dt.bfloat16)
    x = input.float() if low else input
    if eps is None:
        from .._type_info import finfo
        eps = finfo(input.dtype).eps
    dims = tuple(range(-k, 0))
    result = x * (x.pow(2).mean(dims, keepdim=True) + eps).rsqrt()
    if weight is not None:
        result = result * weight
    return result.to(input.dtype) if low else result
