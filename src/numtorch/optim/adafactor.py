"""Adafactor (``torch.optim.Adafactor``): Adam-like steps with factored second moments."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .._tensor import Tensor
from .optimizer import (
    Optimizer,
    _check_dense,
    _check_lr_tensor,
    _increment,
    _lerp_,
    _lr_value,
    _params_with_grad,
    _run_closure,
    _scalar_tensor,
    _validate,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .optimizer import ParamsT

__all__ = ["Adafactor"]


def _mean_square(grad, axis):
    """``norm(grad, dim=axis, keepdim=True) ** 2 / grad.shape[axis]``, as PyTorch rounds it."""
    norm = np.sqrt(np.sum(grad * grad, axis=axis, keepdims=True))
    norm *= norm
    norm /= grad.shape[axis]
    return norm


class Adafactor(Optimizer):
    r"""Implements the Adafactor algorithm (Shazeer & Stern, 2018) as PyTorch does.

    For matrices (and higher-dimensional tensors, over the last two dimensions) the second
    moment is kept as a row and a column running mean whose outer product, divided by the mean
    of the rows, estimates it; vectors keep a full running mean. With
    :math:`\hat\beta_{2,t} = 1 - t^{c}` (``beta2_decay`` :math:`c`),
    :math:`\rho_t = \min(\gamma, 1/\sqrt t)` and
    :math:`\alpha_t = \max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))\rho_t`, the update is
    :math:`\theta_t \leftarrow \theta_{t-1} - \alpha_t\, U_t / \max(1, \mathrm{RMS}(U_t)/d)`,
    :math:`U_t = g_t / \sqrt{\max(\hat v_t, \epsilon_1^2)}`.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): unlike other optimizers, Adafactor does not require a learning
            rate; it is the upper bound of :math:`\rho_t` (default: 1e-2)
        beta2_decay (float, optional): the decay rate of beta2 (default: -0.8)
        eps (Tuple[float, float], optional): epsilon1, added to the squared gradient for
            stability (default: None, the machine epsilon of the parameter's dtype), and
            epsilon2, the smallest parameter scale (default: 1e-3)
        d (float, optional): the clipping threshold of the update's RMS (default: 1.0)
        weight_decay (float, optional): weight decay coefficient (default: 1e-2 in the paper,
            0 here as in PyTorch)
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        foreach: accepted for compatibility.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        _check_lr_tensor(lr)
        _validate([
            (0.0 <= _lr_value(lr), f"Learning rate should be >= 0 but is: {lr}"),
            (0.0 >= beta2_decay, f"beta2_decay should be <= 0 but is: {beta2_decay}"),
            (eps[0] is None or 0.0 <= eps[0], f"epsilon1 should be >= 0 but is: {eps[0]}"),
            (0.0 <= eps[1], f"epsilon2 should be >= 0 but is: {eps[1]}"),
            (1.0 <= d, f"Clipping threshold d should be >= 1 but is: {d}"),
            (0.0 <= weight_decay, f"weight_decay should be >= 0 but is: {weight_decay}"),
        ])
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    _setstate_defaults = {"foreach": None}

    def _state_for(self, p):
        _check_dense(p, "Adafactor")
        if p._data.dtype.kind == "c":
            raise RuntimeError("Adafactor does not support complex parameters")
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _scalar_tensor(0.0)
            grad = p._grad._data
            if grad.ndim > 1:
                state["row_var"] = Tensor._wrap(np.zeros(grad.shape[:-1] + (1,), grad.dtype))
                state["col_var"] = Tensor._wrap(
                    np.zeros(grad.shape[:-2] + (1,) + grad.shape[-1:], grad.dtype))
            else:
                state["variance"] = Tensor._wrap(np.zeros_like(grad))
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
                eps1, eps2 = (_lr_value(e) for e in group["eps"])
                for p in _params_with_grad(group):
                    state = self._state_for(p)
                    if eps1 is None:  # like PyTorch, the first parameter's dtype decides
                        eps1 = float(np.finfo(p._data.dtype).eps)
                    self._update(p, state, lr, eps1, eps2, group)
                    p._bump_version()
        return loss

    @staticmethod
    def _update(p, state, lr, eps1, eps2, group):
        grad = p._grad._data
        if group["maximize"]:
            grad = np.negative(grad, out=np.empty_like(grad))
        step = _increment(state["step"])
        one_minus_beta2 = step ** _lr_value(group["beta2_decay"])
        rho = min(lr, 1 / (step ** 0.5))
        param_rms = float(np.sqrt(np.sum(p._data * p._data))) / (p._data.size ** 0.5)
        alpha = max(eps2, param_rms) * rho
        if _lr_value(group["weight_decay"]) != 0:
            p._data *= 1 - lr * _lr_value(group["weight_decay"])
        if grad.ndim > 1:
            row_var, col_var = state["row_var"]._data, state["col_var"]._data
            _lerp_(row_var, _mean_square(grad, -1), one_minus_beta2)
            _lerp_(col_var, _mean_square(grad, -2), one_minus_beta2)
            var_estimate = np.matmul(row_var, col_var)
            var_estimate /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = state["variance"]._data
            _lerp_(variance, np.multiply(grad, grad, out=np.empty_like(grad)), one_minus_beta2)
            var_estimate = variance.copy()
        update = np.maximum(var_estimate, eps1 * eps1, out=var_estimate)
        np.sqrt(update, out=update)
        np.divide(1, update, out=update)
        update *= grad
        update_rms = float(np.sqrt(np.sum(update * update)))
        denom = max(1.0, update_rms / (math.sqrt(update.size) * _lr_value(group["d"])))
        update *= -alpha / denom
        p._data += update
