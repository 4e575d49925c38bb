"""Adamax (``torch.optim.Adamax``): Adam with the infinity norm."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .adam import _check_adam_args
from .optimizer import (
    Optimizer,
    _check_dense,
    _effective_grad,
    _increment,
    _lerp_,
    _lr_value,
    _params_with_grad,
    _run_closure,
    _scalar_tensor,
    _zeros_like,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._tensor import Tensor
    from .optimizer import ParamsT

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Implements the Adamax algorithm (a variant of Adam based on the infinity norm).

    .. math::
        m_t \leftarrow \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        u_t \leftarrow \max(\beta_2 u_{t-1}, |g_t| + \epsilon), \quad
        \theta_t \leftarrow \theta_{t-1} - \frac{\gamma\, m_t}{(1-\beta_1^t)\, u_t}

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): learning rate (default: 2e-3)
        betas (Tuple[float, float], optional): coefficients used for computing running averages
            of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        foreach, differentiable, capturable: accepted for compatibility.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
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
                lr = _lr_value(group["lr"])
                beta1, beta2 = group["betas"]
                for p in _params_with_grad(group):
                    _check_dense(p, "Adamax")
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = _scalar_tensor(0.0)
                        state["exp_avg"] = _zeros_like(p)
                        state["exp_inf"] = _zeros_like(p)
                    step = _increment(state["step"])
                    grad = _effective_grad(p, group["maximize"], _lr_value(group["weight_decay"]))
                    exp_avg = state["exp_avg"]._data
                    exp_inf = state["exp_inf"]._data
                    _lerp_(exp_avg, grad, 1 - beta1)
                    exp_inf *= beta2
                    norm = np.abs(grad, out=np.empty_like(grad))
                    norm += _lr_value(group["eps"])
                    np.maximum(exp_inf, norm, out=exp_inf)
                    clr = lr / (1 - beta1 ** step)
                    np.divide(exp_avg, exp_inf, out=norm)
                    norm *= -clr
                    p._data += norm
                    p._bump_version()
        return loss
