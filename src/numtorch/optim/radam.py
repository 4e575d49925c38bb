"""RAdam (``torch.optim.RAdam``): Adam with a rectified adaptive learning rate."""

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
    _mul_addcmul_,
    _params_with_grad,
    _run_closure,
    _scalar_tensor,
    _zeros_like,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._tensor import Tensor
    from .optimizer import ParamsT

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""Implements the RAdam algorithm (Liu et al., 2019).

    With :math:`\rho_\infty = 2/(1-\beta_2) - 1` and
    :math:`\rho_t = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t)`, the update is
    :math:`\theta_t \leftarrow \theta_{t-1} - \gamma\,\hat m_t\, r_t\, l_t` when
    :math:`\rho_t > 5` (with the rectification :math:`r_t` and the adaptive term
    :math:`l_t = \sqrt{1-\beta_2^t}/(\sqrt{v_t}+\epsilon)`), and plain momentum SGD
    :math:`\theta_t \leftarrow \theta_{t-1} - \gamma\,\hat m_t` otherwise.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): learning rate (default: 1e-3)
        betas (Tuple[float, float], optional): coefficients used for computing running averages
            of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        weight_decay (float, optional): weight decay (default: 0)
        decoupled_weight_decay (bool, optional): whether to decouple the weight decay as in
            AdamW to obtain RAdamW (default: False)
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        foreach, capturable, differentiable: accepted for compatibility.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    _setstate_defaults = {"foreach": None, "maximize": False, "differentiable": False,
                           "decoupled_weight_decay": False, "capturable": False}

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
                weight_decay = _lr_value(group["weight_decay"])
                for p in _params_with_grad(group):
                    _check_dense(p, "RAdam")
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = _scalar_tensor(0.0)
                        state["exp_avg"] = _zeros_like(p)
                        state["exp_avg_sq"] = _zeros_like(p)
                    step = _increment(state["step"])
                    if weight_decay != 0 and group["decoupled_weight_decay"]:
                        p._data *= 1 - lr * weight_decay
                        grad = _effective_grad(p, group["maximize"], 0)
                    else:
                        grad = _effective_grad(p, group["maximize"], weight_decay)
                    exp_avg = state["exp_avg"]._data
                    exp_avg_sq = state["exp_avg_sq"]._data
                    _lerp_(exp_avg, grad, 1 - beta1)
                    _mul_addcmul_(exp_avg_sq, beta2, grad, 1 - beta2)

                    bias_correction1 = 1 - beta1 ** step
                    bias_correction2 = 1 - beta2 ** step
                    update = np.divide(exp_avg, bias_correction1, out=np.empty_like(exp_avg))
                    update *= lr
                    rho_inf = 2 / (1 - beta2) - 1
                    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                    if rho_t > 5.0:
                        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                                / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                        adaptive = np.sqrt(exp_avg_sq, out=np.empty_like(exp_avg_sq))
                        adaptive += _lr_value(group["eps"])
                        np.divide(bias_correction2 ** 0.5, adaptive, out=adaptive)
                        update *= adaptive
                        update *= rect
                    p._data -= update
                    p._bump_version()
        return loss
