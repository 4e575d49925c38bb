"""RMSprop (``torch.optim.RMSprop``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .optimizer import (
    Optimizer,
    _addcdiv_,
    _check_dense,
    _check_lr_tensor,
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

    from .._tensor import Tensor
    from .optimizer import ParamsT

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""Implements the RMSprop algorithm.

    .. math::
        \begin{aligned}
        &v_t \leftarrow \alpha v_{t-1} + (1-\alpha) g_t^2, \qquad
         \tilde v_t \leftarrow v_t - \bar g_t^2 \text{ if centered}
         \;(\bar g_t \leftarrow \alpha\bar g_{t-1} + (1-\alpha) g_t) \\
        &b_t \leftarrow \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon), \qquad
         \theta_t \leftarrow \theta_{t-1} - \gamma b_t
         \quad(\text{without momentum: } \theta_t \leftarrow \theta_{t-1}
         - \gamma g_t/(\sqrt{\tilde v_t}+\epsilon))
        \end{aligned}

    ``eps`` is added outside the square root, as PyTorch does.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): learning rate (default: 1e-2)
        alpha (float, optional): smoothing constant (default: 0.99)
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        momentum (float, optional): momentum factor (default: 0)
        centered (bool, optional): if ``True``, compute the centered RMSProp, the gradient is
            normalized by an estimation of its variance (default: False)
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        capturable, foreach, differentiable: accepted for compatibility.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr_tensor(lr)
        _validate([
            (0.0 <= _lr_value(lr), f"Invalid learning rate: {lr}"),
            (0.0 <= eps, f"Invalid epsilon value: {eps}"),
            (0.0 <= momentum, f"Invalid momentum value: {momentum}"),
            (0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}"),
            (0.0 <= alpha, f"Invalid alpha value: {alpha}"),
        ])
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay,
                    "capturable": capturable, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    _setstate_defaults = {"momentum": 0, "centered": False, "foreach": None, "maximize": False,
                           "differentiable": False, "capturable": False}

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
                alpha = _lr_value(group["alpha"])
                momentum = _lr_value(group["momentum"])
                for p in _params_with_grad(group):
                    _check_dense(p, "RMSprop")
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = _scalar_tensor(0.0)
                        state["square_avg"] = _zeros_like(p)
                        if momentum > 0:
                            state["momentum_buffer"] = _zeros_like(p)
                        if group["centered"]:
                            state["grad_avg"] = _zeros_like(p)
                    _increment(state["step"])
                    grad = _effective_grad(p, group["maximize"], _lr_value(group["weight_decay"]))
                    square_avg = state["square_avg"]._data
                    _mul_addcmul_(square_avg, alpha, grad, 1 - alpha)
                    if group["centered"]:
                        grad_avg = state["grad_avg"]._data
                        _lerp_(grad_avg, grad, 1 - alpha)
                        avg = np.multiply(grad_avg, grad_avg, out=np.empty_like(grad_avg))
                        np.subtract(square_avg, avg, out=avg)
                        np.sqrt(avg, out=avg)
                    else:
                        avg = np.sqrt(square_avg, out=np.empty_like(square_avg))
                    avg += _lr_value(group["eps"])
                    if momentum > 0:
                        buf = state["momentum_buffer"]._data
                        buf *= momentum
                        np.divide(grad, avg, out=avg)
                        buf += avg
                        p._data += -lr * buf
                    else:
                        _addcdiv_(p._data, grad, avg, -lr)
                    p._bump_version()
        return loss
