"""Adadelta (``torch.optim.Adadelta``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .optimizer import (
    Optimizer,
    _check_dense,
    _check_lr_tensor,
    _effective_grad,
    _increment,
    _lr_value,
    _mul_addcmul_,
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

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Implements the Adadelta algorithm (Zeiler, 2012).

    .. math::
        \begin{aligned}
        &v_t \leftarrow \rho v_{t-1} + (1-\rho) g_t^2, \qquad
         \Delta x_t \leftarrow \frac{\sqrt{u_{t-1}+\epsilon}}{\sqrt{v_t+\epsilon}}\, g_t \\
        &u_t \leftarrow \rho u_{t-1} + (1-\rho)\Delta x_t^2, \qquad
         \theta_t \leftarrow \theta_{t-1} - \gamma\Delta x_t
        \end{aligned}

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): coefficient that scales delta before it is applied to the
            parameters (default: 1.0)
        rho (float, optional): coefficient used for computing a running average of squared
            gradients (default: 0.9)
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-6)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        foreach, capturable, differentiable: accepted for compatibility.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr_tensor(lr)
        _validate([
            (0.0 <= _lr_value(lr), f"Invalid learning rate: {lr}"),
            (0.0 <= rho <= 1.0, f"Invalid rho value: {rho}"),
            (0.0 <= eps, f"Invalid epsilon value: {eps}"),
            (0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}"),
        ])
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
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
                rho, eps = _lr_value(group["rho"]), _lr_value(group["eps"])
                for p in _params_with_grad(group):
                    _check_dense(p, "Adadelta")
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = _scalar_tensor(0.0)
                        state["square_avg"] = _zeros_like(p)
                        state["acc_delta"] = _zeros_like(p)
                    _increment(state["step"])
                    grad = _effective_grad(p, group["maximize"], _lr_value(group["weight_decay"]))
                    square_avg = state["square_avg"]._data
                    acc_delta = state["acc_delta"]._data
                    _mul_addcmul_(square_avg, rho, grad, 1 - rho)
                    std = np.add(square_avg, eps, out=np.empty_like(square_avg))
                    np.sqrt(std, out=std)
                    delta = np.add(acc_delta, eps, out=np.empty_like(acc_delta))
                    np.sqrt(delta, out=delta)
                    delta /= std
                    delta *= grad
                    _mul_addcmul_(acc_delta, rho, delta, 1 - rho)
                    delta *= -lr
                    p._data += delta
                    p._bump_version()
        return loss
