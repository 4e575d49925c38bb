"""Adam (``torch.optim.Adam``), with optional AMSGrad and decoupled weight decay."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._tensor import Tensor
from . import _jit
from .optimizer import (
    Optimizer,
    _addcdiv_,
    _check_dense,
    _check_fused,
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

    from .optimizer import ParamsT

__all__ = ["Adam"]


def _check_adam_args(lr, betas, eps, weight_decay):
    _check_lr_tensor(lr)
    _validate([
        (0.0 <= _lr_value(lr), f"Invalid learning rate: {lr}"),
        (0.0 <= eps, f"Invalid epsilon value: {eps}"),
        (0.0 <= _lr_value(betas[0]) < 1.0, f"Invalid beta parameter at index 0: {betas[0]}"),
        (0.0 <= _lr_value(betas[1]) < 1.0, f"Invalid beta parameter at index 1: {betas[1]}"),
        (0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}"),
    ])


class Adam(Optimizer):
    r"""Implements the Adam algorithm.

    For each parameter, with gradient :math:`g_t` (negated when ``maximize``):

    .. math::
        \begin{aligned}
        &g_t \leftarrow g_t + \lambda\theta_{t-1}
            \quad\text{(or } \theta_{t-1} \leftarrow \theta_{t-1}(1-\gamma\lambda)
            \text{ if decoupled)} \\
        &m_t \leftarrow \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
         v_t \leftarrow \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        &\hat v_t \leftarrow \max(\hat v_{t-1}, v_t) \text{ if amsgrad else } v_t \\
        &\theta_t \leftarrow \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}
            \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}
        \end{aligned}

    ``eps`` is added after the bias correction of the second moment, as PyTorch does.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): learning rate (default: 1e-3)
        betas (Tuple[float, float], optional): coefficients used for computing running averages
            of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        weight_decay (float, optional): weight decay coefficient (default: 0)
        amsgrad (bool, optional): whether to use the AMSGrad variant (default: False)
        foreach, capturable, differentiable, fused: accepted for compatibility; numtorch runs
            one update per parameter, compiled with numba for large float parameters (see
            ``numtorch.optim._jit``; bitwise the same numbers as its NumPy path).
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        decoupled_weight_decay (bool, optional): if True, this optimizer is equivalent to AdamW
            (default: False)
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)

    _setstate_defaults = {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                           "differentiable": False, "decoupled_weight_decay": False, "fused": None}

    def _state_for(self, p, amsgrad):
        _check_dense(p, "Adam")
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _scalar_tensor(0.0)
            state["exp_avg"] = _zeros_like(p)
            state["exp_avg_sq"] = _zeros_like(p)
            if amsgrad:
                state["max_exp_avg_sq"] = _zeros_like(p)
        return state

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
                beta1, beta2 = (_lr_value(b) for b in group["betas"])
                eps = _lr_value(group["eps"])
                weight_decay = _lr_value(group["weight_decay"])
                amsgrad = group["amsgrad"]
                decoupled = group["decoupled_weight_decay"]
                for p in _params_with_grad(group):
                    state = self._state_for(p, amsgrad)
                    step = _increment(state["step"])
                    step_size = lr / (1 - beta1 ** step)
                    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
                    decay = weight_decay != 0 and decoupled
                    grad = _effective_grad(p, group["maximize"], 0 if decoupled else weight_decay)
                    exp_avg = state["exp_avg"]._data
                    exp_avg_sq = state["exp_avg_sq"]._data
                    kernel = None if amsgrad else _jit.adam_kernel(p._data, grad, exp_avg,
                                                                   exp_avg_sq)
                    if kernel is not None:
                        s = p._data.dtype.type  # every scalar rounded to the arrays' dtype
                        low = 1 - beta1 < 0.5
                        _jit.run_flat(
                            kernel, (p._data.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1),
                                     exp_avg_sq.reshape(-1)),
                            decay, s(1 - lr * weight_decay), low,
                            s(1 - beta1 if low else 1 - (1 - beta1)), s(beta2), s(1 - beta2),
                            s(bias_correction2_sqrt), s(eps), s(-step_size))
                        p._bump_version()
                        continue
                    if decay:
                        p._data *= 1 - lr * weight_decay
                    scratch = np.empty_like(exp_avg)  # the one temporary, used three times
                    _lerp_(exp_avg, grad, 1 - beta1, scratch)
                    _mul_addcmul_(exp_avg_sq, beta2, grad, 1 - beta2, scratch)
                    if amsgrad:
                        max_sq = state["max_exp_avg_sq"]._data
                        np.maximum(max_sq, exp_avg_sq, out=max_sq)
                        denom = np.sqrt(max_sq, out=scratch)
                    else:
                        denom = np.sqrt(exp_avg_sq, out=scratch)
                    denom /= bias_correction2_sqrt
                    denom += eps
                    _addcdiv_(p._data, exp_avg, denom, -step_size)
                    p._bump_version()
        return loss
