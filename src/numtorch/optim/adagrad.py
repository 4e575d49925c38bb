"""Adagrad (``torch.optim.Adagrad``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._tensor import Tensor
from .optimizer import (
    Optimizer,
    _addcdiv_,
    _check_fused,
    _check_lr_tensor,
    _effective_grad,
    _increment,
    _lr_value,
    _params_with_grad,
    _run_closure,
    _scalar_tensor,
    _validate,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .optimizer import ParamsT

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Implements the Adagrad algorithm.

    .. math::
        \tilde\gamma = \frac{\gamma}{1 + (t-1)\eta}, \qquad
        s_t \leftarrow s_{t-1} + g_t^2, \qquad
        \theta_t \leftarrow \theta_{t-1} - \tilde\gamma\frac{g_t}{\sqrt{s_t} + \epsilon}

    The state (``step`` and ``sum``, filled with ``initial_accumulator_value``) is created
    when the optimizer is constructed, as in PyTorch.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): learning rate (default: 1e-2)
        lr_decay (float, optional): learning rate decay :math:`\eta` (default: 0)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        initial_accumulator_value (float, optional): initial value of the sum of squares of
            gradients (default: 0)
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-10)
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        foreach, differentiable, fused: accepted for compatibility.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr_tensor(lr)
        _validate([
            (0.0 <= _lr_value(lr), f"Invalid learning rate: {lr}"),
            (0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}"),
            (0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}"),
            (0.0 <= initial_accumulator_value,
             f"Invalid initial_accumulator_value value: {initial_accumulator_value}"),
            (0.0 <= eps, f"Invalid epsilon value: {eps}"),
        ])
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _scalar_tensor(0.0)
        state["sum"] = Tensor._wrap(np.full_like(p._data, group["initial_accumulator_value"]))
        return state

    _setstate_defaults = {"foreach": None, "maximize": False, "differentiable": False,
                           "fused": None}

    def share_memory(self) -> None:
        """No-op kept for API compatibility (NumPy arrays live in this process)."""

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
                for p in _params_with_grad(group):
                    # A group added by add_param_group() has no state yet.
                    state = self.state.get(p) or self._init_state(p, group)
                    step = _increment(state["step"])
                    grad = _effective_grad(p, group["maximize"], _lr_value(group["weight_decay"]))
                    clr = lr / (1 + (step - 1) * _lr_value(group["lr_decay"]))
                    state_sum = state["sum"]._data
                    state_sum += grad * grad
                    std = np.sqrt(state_sum, out=np.empty_like(state_sum))
                    std += _lr_value(group["eps"])
                    _addcdiv_(p._data, grad, std, -clr)
                    p._bump_version()
        return loss
