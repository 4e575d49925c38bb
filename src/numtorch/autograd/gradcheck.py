"""Finite-difference gradient checks (``torch.autograd.gradcheck``)."""

import numpy as np

from .. import _tensor  # _tensor imports the core: read _tensor.Tensor at call time
from .. import autograd as _autograd  # the package imports this module: grad() at call time
from .grad_mode import enable_grad, no_grad


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **kwargs):
    """Compare analytical gradients with central differences, one input element at a time."""
    Tensor = _tensor.Tensor
    autograd_grad = _autograd.grad
    inputs = _as_tuple(inputs)
    diff_inputs = [t for t in inputs if isinstance(t, Tensor) and t._requires_grad]
    outputs = _as_tuple(func(*inputs))
    for oi, out in enumerate(outputs):
        if not isinstance(out, Tensor) or not out._requires_grad:
            continue
        n_out = out._data.size
        for j in range(n_out):
            # C order whatever the output's layout: reshape(-1) of a transposed array is a copy
            go = np.zeros(out._data.shape, dtype=out._data.dtype)
            go.reshape(-1)[j] = 1
            at_j = np.unravel_index(j, out._data.shape)
            analytical = autograd_grad(out, diff_inputs, Tensor._wrap(go), retain_graph=True,
                                       allow_unused=True)
            for t, a in zip(diff_inputs, analytical):
                num = np.zeros(t._data.size)
                for k in range(t._data.size):
                    at = np.unravel_index(k, t._data.shape)  # in place, also through strides
                    orig = t._data[at]
                    with no_grad():
                        t._data[at] = orig + eps
                        plus = _as_tuple(func(*inputs))[oi]._data[at_j]
                        t._data[at] = orig - eps
                        minus = _as_tuple(func(*inputs))[oi]._data[at_j]
                        t._data[at] = orig
                    num[k] = (plus - minus) / (2 * eps)
                ana = np.zeros(t._data.size) if a is None else a._data.reshape(-1)
                if not np.allclose(ana, num, atol=atol, rtol=rtol):
                    if raise_exception:
                        raise GradcheckError(
                            f"Jacobian mismatch for output {oi} with respect to input,\n"
                            f"numerical:{num}\nanalytical:{ana}\n")
                    return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, **kwargs):
    """Check second derivatives: ``gradcheck`` of the function that maps ``inputs`` (and the
    output gradients) to ``autograd.grad(func(inputs), inputs, grad_outputs,
    create_graph=True)``."""
    Tensor = _tensor.Tensor
    autograd_grad = _autograd.grad
    inputs = _as_tuple(inputs)
    outputs = _as_tuple(func(*inputs))
    diff_outputs = [o for o in outputs if isinstance(o, Tensor) and o._requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            Tensor._wrap(rng.standard_normal(o._data.shape).astype(o._data.dtype),
                         requires_grad=True) for o in diff_outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_derivatives(*args):
        ins, gos = args[:n_in], args[n_in:]
        with enable_grad():  # gradcheck evaluates the function under no_grad
            outs = [o for o in _as_tuple(func(*ins))
                    if isinstance(o, Tensor) and o._requires_grad]
            diff_in = [t for t in ins if isinstance(t, Tensor) and t._requires_grad]
            grads = autograd_grad(outs, diff_in, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
