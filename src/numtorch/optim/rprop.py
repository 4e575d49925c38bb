"""Rprop (``torch.optim.Rprop``): resilient backpropagation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._tensor import Tensor
from .optimizer import (
    Optimizer,
    _check_dense,
    _check_lr_tensor,
    _effective_grad,
    _increment,
    _lr_value,
    _params_with_grad,
    _run_closure,
    _scalar_tensor,
    _validate,
    _zeros_like,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .optimizer import ParamsT

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Implements the resilient backpropagation algorithm.

    Each element keeps its own step size :math:`\eta`: it grows by ``etaplus`` while the
    gradient keeps its sign, shrinks by ``etaminus`` when the sign flips (and that element is
    then not updated), and stays within ``step_sizes``; the update is
    :math:`\theta \leftarrow \theta - \eta\,\mathrm{sign}(g)`.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): learning rate, the initial step size (default: 1e-2)
        etas (Tuple[float, float], optional): pair of (etaminus, etaplus), the multiplicative
            decrease and increase factors (default: (0.5, 1.2))
        step_sizes (Tuple[float, float], optional): a pair of minimal and maximal allowed step
            sizes (default: (1e-6, 50))
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        capturable, foreach, differentiable: accepted for compatibility.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr_tensor(lr)
        _validate([
            (0.0 <= _lr_value(lr), f"Invalid learning rate: {lr}"),
            (0.0 < etas[0] < 1.0 < etas[1], f"Invalid eta values: {etas[0]}, {etas[1]}"),
        ])
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    _setstate_defaults = {"foreach": None, "maximize": False, "differentiable": False,
                           "capturable": False}

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Perform a single optimization step.

        Args:
            closure (Callable, optional): a closure that reevaluates the model and returns
                the loss.
        """
        loss = _run_closure(closure)
        with np.errstate(all="ignore"):  # inf and nan propagate silently, as in PyTorch
            for group in self.param_groups:
                etaminus, etaplus = group["etas"]
                step_size_min, step_size_max = group["step_sizes"]
                for p in _params_with_grad(group):
                    _check_dense(p, "Rprop")
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = _scalar_tensor(0.0)
                        state["prev"] = _zeros_like(p)
                        state["step_size"] = Tensor._wrap(
                            np.full_like(p._data, _lr_value(group["lr"])))
                    _increment(state["step"])
                    grad = _effective_grad(p, group["maximize"], 0)
                    prev = state["prev"]._data
                    step_size = state["step_size"]._data
                    product = np.multiply(grad, prev, out=np.empty_like(prev))
                    # The factors in the parameter's dtype (Python floats would make a float64
                    # array); PyTorch writes them into a tensor of that dtype too.
                    as_dtype = prev.dtype.type
                    factor = np.where(product > 0, as_dtype(etaplus),
                                      np.where(product < 0, as_dtype(etaminus), as_dtype(1)))
                    step_size *= factor
                    np.clip(step_size, step_size_min, step_size_max, out=step_size)
                    # Where the gradient changed sign, skip the update and forget the gradient.
                    np.copyto(prev, grad)
                    prev[factor == as_dtype(etaminus)] = 0
                    update = np.sign(prev, out=product)
                    np.nan_to_num(update, copy=False)  # PyTorch's sign(nan) is 0
                    update *= step_size
                    p._data -= update
                    p._bump_version()
        return loss
