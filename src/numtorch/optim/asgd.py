"""ASGD (``torch.optim.ASGD``): averaged stochastic gradient descent."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._dtype import get_default_dtype
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

    from .._tensor import Tensor
    from .optimizer import ParamsT

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Implements averaged stochastic gradient descent (Polyak & Juditsky, 1992).

    .. math::
        \theta_t \leftarrow \theta_{t-1}(1 - \lambda\eta_{t-1}) - \eta_{t-1} g_t, \quad
        \bar\theta_t \leftarrow \bar\theta_{t-1} + \mu_{t-1}(\theta_t - \bar\theta_{t-1}),
        \quad \eta_t = \frac{\gamma}{(1 + \lambda\gamma t)^\alpha}, \quad
        \mu_t = \frac{1}{\max(1, t - t_0)}

    The averaged parameters :math:`\bar\theta` are kept in ``state['ax']``; ``eta`` and ``mu``
    are float32 scalar tensors, as in PyTorch.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): learning rate (default: 1e-2)
        lambd (float, optional): decay term (default: 1e-4)
        alpha (float, optional): power for eta update (default: 0.75)
        t0 (float, optional): point at which to start averaging (default: 1e6)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        foreach, differentiable, capturable: accepted for compatibility.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_lr_tensor(lr)
        _validate([
            (0.0 <= _lr_value(lr), f"Invalid learning rate: {lr}"),
            (0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}"),
        ])
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
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
                lr = _lr_value(group["lr"])
                lambd, alpha, t0 = (_lr_value(group[k]) for k in ("lambd", "alpha", "t0"))
                for p in _params_with_grad(group):
                    _check_dense(p, "ASGD")
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = _scalar_tensor(0.0)
                        state["eta"] = _scalar_tensor(lr)
                        state["mu"] = _scalar_tensor(1.0)
                        state["ax"] = _zeros_like(p)
                    step = _increment(state["step"])
                    grad = _effective_grad(p, group["maximize"], _lr_value(group["weight_decay"]))
                    eta = float(state["eta"]._data)
                    p._data *= 1 - lambd * eta
                    p._data += -eta * grad
                    p._bump_version()
                    ax = state["ax"]._data
                    mu = state["mu"]._data
                    if float(mu) != 1:
                        diff = np.subtract(p._data, ax, out=np.empty_like(ax))
                        diff *= mu
                        ax += diff
                    else:
                        np.copyto(ax, p._data)
                    # PyTorch rounds the new values through a tensor of the default dtype.
                    default = get_default_dtype()._np
                    state["eta"]._data[...] = default.type(lr / ((1 + lambd * lr * step) ** alpha))
                    mu[...] = default.type(1 / max(1, step - t0))
        return loss
