"""NAdam (``torch.optim.NAdam``): Adam with Nesterov momentum."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._tensor import Tensor
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
    _validate,
    _zeros_like,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .optimizer import ParamsT

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""Implements the NAdam algorithm (Adam with Nesterov momentum, Dozat 2016).

    With the momentum schedule :math:`\mu_t = \beta_1(1 - \frac12 0.96^{t\psi})`
    (:math:`\psi` = ``momentum_decay``) and its running product :math:`\Pi_t = \prod_{i\le t}\mu_i`
    (kept, as in PyTorch, in a float32 scalar tensor ``mu_product``):

    .. math::
        \theta_t \leftarrow \theta_{t-1}
            - \gamma\frac{(1-\mu_t)}{1-\Pi_t}\frac{g_t}{\sqrt{\hat v_t}+\epsilon}
            - \gamma\frac{\mu_{t+1}}{1-\Pi_t\mu_{t+1}}\frac{m_t}{\sqrt{\hat v_t}+\epsilon},
        \qquad \hat v_t = v_t / (1-\beta_2^t)

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): learning rate (default: 2e-3)
        betas (Tuple[float, float], optional): coefficients used for computing running averages
            of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        momentum_decay (float, optional): momentum decay :math:`\psi` (default: 4e-3)
        decoupled_weight_decay (bool, optional): whether to decouple the weight decay as in
            AdamW to obtain NAdamW (default: False)
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        foreach, capturable, differentiable: accepted for compatibility.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        _validate([(0.0 <= momentum_decay, f"Invalid momentum_decay value: {momentum_decay}")])
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    _setstate_defaults = {"maximize": False, "foreach": None, "capturable": False,
                           "differentiable": False, "decoupled_weight_decay": False}

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for p in group["params"]:
                p_state = self.state.get(p, {})
                if p_state and not isinstance(p_state["mu_product"], Tensor):
                    p_state["mu_product"] = _scalar_tensor(float(p_state["mu_product"]))

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
                momentum_decay = _lr_value(group["momentum_decay"])
                for p in _params_with_grad(group):
                    _check_dense(p, "NAdam")
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = _scalar_tensor(0.0)
                        state["mu_product"] = _scalar_tensor(1.0)
                        state["exp_avg"] = _zeros_like(p)
                        state["exp_avg_sq"] = _zeros_like(p)
                    step = _increment(state["step"])
                    bias_correction2 = 1 - beta2 ** step
                    if weight_decay != 0 and group["decoupled_weight_decay"]:
                        p._data *= 1 - lr * weight_decay
                        grad = _effective_grad(p, group["maximize"], 0)
                    else:
                        grad = _effective_grad(p, group["maximize"], weight_decay)
                    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
                    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
                    mu_product_arr = state["mu_product"]._data
                    mu_product_arr *= mu  # float32 arithmetic, as PyTorch's scalar tensor
                    mu_product = float(mu_product_arr)
                    exp_avg = state["exp_avg"]._data
                    exp_avg_sq = state["exp_avg_sq"]._data
                    _lerp_(exp_avg, grad, 1 - beta1)
                    _mul_addcmul_(exp_avg_sq, beta2, grad, 1 - beta2)
                    denom = np.divide(exp_avg_sq, bias_correction2, out=np.empty_like(exp_avg_sq))
                    np.sqrt(denom, out=denom)
                    denom += _lr_value(group["eps"])
                    mu_product_next = mu_product * mu_next
                    update = np.multiply(grad, -lr * (1.0 - mu) / (1.0 - mu_product),
                                         out=np.empty_like(grad))
                    update /= denom
                    p._data += update
                    np.multiply(exp_avg, (-lr * mu_next) / (1.0 - mu_product_next), out=update)
                    update /= denom
                    p._data += update
                    p._bump_version()
        return loss
