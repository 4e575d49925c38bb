"""Stochastic Weight Averaging and EMA helpers (``torch.optim.swa_utils``).

``AveragedModel`` keeps a running (SWA) or exponential (EMA) average of a model's parameters,
``SWALR`` anneals the learning rate towards a constant SWA learning rate, and ``update_bn``
recomputes BatchNorm statistics for the averaged weights.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._dtype import get_default_dtype
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn.modules.module import Module
from .lr_scheduler import LRScheduler, _format_param, _warn_get_lr_called_within_step
from .optimizer import _lerp_

if TYPE_CHECKING:
    from .._device import device
    from .optimizer import Optimizer

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] "
                         "range.")


def get_ema_multi_avg_fn(decay=0.999):
    """An in-place EMA update ``ema = decay * ema + (1 - decay) * current`` for lists of
    tensors, usable as ``AveragedModel(multi_avg_fn=...)``."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        for p_ema, p_model in zip(ema_param_list, current_param_list):
            if p_ema._data.dtype.kind in "fc":
                _lerp_(p_ema._data, p_model._data, 1 - decay)
            else:
                p_ema._data[...] = p_ema._data * decay + p_model._data * (1 - decay)
            p_ema._bump_version()

    return ema_update


def get_swa_multi_avg_fn():
    """An in-place running-mean update for lists of tensors, usable as
    ``AveragedModel(multi_avg_fn=...)``."""

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        if isinstance(num_averaged, Tensor):
            # PyTorch's ``1 / (n + 1)`` on an integer tensor is a tensor of the default dtype.
            n = int(num_averaged._data)
            weight = float(get_default_dtype()._np.type(1 / (n + 1)))
        else:
            n = num_averaged
            weight = 1 / (n + 1)
        for p_avg, p_model in zip(averaged_param_list, current_param_list):
            if p_avg._data.dtype.kind in "fc":
                _lerp_(p_avg._data, p_model._data, weight)
            else:
                p_avg._data += (p_model._data - p_avg._data) // (n + 1)
            p_avg._bump_version()

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """``avg_fn(ema, current, num_averaged) -> decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """``avg_fn(avg, current, n) -> avg + (current - avg) / (n + 1)`` (the running mean)."""

    def swa_update(averaged_param, current_param, num_averaged):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    r"""Keeps averaged copies of a model's parameters, for Stochastic Weight Averaging (SWA)
    and Exponential Moving Average (EMA).

    Args:
        model (Module): the model whose parameters are averaged (it is deep-copied).
        device: accepted for compatibility; numtorch runs on the CPU.
        avg_fn (function, optional): ``avg_fn(averaged, current, num_averaged) -> Tensor``,
            the averaging applied to each parameter (default: the running mean).
        multi_avg_fn (function, optional): an in-place version working on lists of tensors.
        use_buffers (bool): average the buffers too instead of copying them (default: False).

    Call :meth:`update_parameters` after each optimizer step (or epoch) to fold in the
    model's current weights; ``n_averaged`` counts the updates.
    """

    module: Module
    n_averaged: Tensor

    def __init__(self, model: Module, device: int | str | device | None = None,
                 avg_fn: Callable[[Tensor, Tensor, Tensor | int], Tensor] | None = None,
                 multi_avg_fn: Callable[[list[Tensor], list[Tensor], Tensor | int], None]
                 | None = None,
                 use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        self.register_buffer("n_averaged", Tensor._wrap(np.array(0, dtype=np.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def _tensors(self, model):
        if self.use_buffers:
            return itertools.chain(model.parameters(), model.buffers())
        return model.parameters()

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters into the average."""
        averaged = [p.detach() for p in self._tensors(self.module)]
        current = [p.detach() for p in self._tensors(model)]
        n = int(self.n_averaged._data)
        if n == 0:
            for p_avg, p_model in zip(averaged, current):
                np.copyto(p_avg._data, p_model._data)
                p_avg._bump_version()
        else:
            self._average(averaged, current, n)
        if not self.use_buffers:
            for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                np.copyto(b_avg._data, b_model._data)
                b_avg._bump_version()
        self.n_averaged._data += 1
        self.n_averaged._bump_version()

    def _average(self, averaged, current, n):
        if self.multi_avg_fn is not None:
            self.multi_avg_fn(averaged, current, self.n_averaged)
        elif self.avg_fn is not None:
            for p_avg, p_model in zip(averaged, current):
                result = self.avg_fn(p_avg, p_model, self.n_averaged)
                np.copyto(p_avg._data, result._data if isinstance(result, Tensor) else result,
                          casting="unsafe")
                p_avg._bump_version()
        else:
            for p_avg, p_model in zip(averaged, current):
                # averaged + (current - averaged) / (n + 1), as PyTorch computes it on the CPU
                diff = np.subtract(p_model._data, p_avg._data, out=np.empty_like(p_avg._data))
                if diff.dtype.kind in "fc":
                    diff /= n + 1
                    p_avg._data += diff
                else:
                    p_avg._data[...] = p_avg._data + diff / (n + 1)
                p_avg._bump_version()


def _is_batchnorm(module):
    names = {c.__name__ for c in type(module).__mro__}
    if "_BatchNorm" in names:
        return True
    return any(n.startswith(("BatchNorm", "SyncBatchNorm")) for n in names) and hasattr(
        module, "reset_running_stats")


def update_bn(loader: Iterable[Any], model: Module,
              device: int | str | device | None = None) -> None:
    r"""Recompute the BatchNorm running statistics of ``model`` with one pass over ``loader``.

    The statistics are reset and then computed as a plain cumulative average (``momentum``
    set to None during the pass). The first element of list or tuple batches is fed to the
    model.

    Args:
        loader (iterable): batches of inputs (or ``(input, ...)`` tuples).
        model (Module): the model to update.
        device: accepted for compatibility; numtorch runs on the CPU.
    """
    with no_grad():
        momenta = {}
        for module in model.modules():
            if _is_batchnorm(module):
                module.reset_running_stats()  # type: ignore[operator]
                momenta[module] = module.momentum
        if not momenta:
            return
        was_training = model.training
        model.train()
        for module in momenta:
            module.momentum = None  # type: ignore[assignment]
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            model(batch)
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneals each group's learning rate to a fixed ``swa_lr`` over ``anneal_epochs``
    epochs (cosine or linear), then keeps it constant.

    Args:
        optimizer (Optimizer): wrapped optimizer.
        swa_lr (float or list): the SWA learning rate, per group.
        anneal_epochs (int): number of epochs of the annealing phase (default: 10).
        anneal_strategy (str): ``'cos'`` or ``'linear'`` (default: 'cos').
        last_epoch (int): the index of the last epoch (default: -1).
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float], anneal_epochs: int = 10,
                 anneal_strategy: Literal["cos", "linear"] = "cos", last_epoch: int = -1) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        """Invert one annealing step: the rate that ``alpha`` mixed with ``swa_lr`` into
        ``lr``."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy):
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else \
            self._linear_anneal

    def get_lr(self):
        _warn_get_lr_called_within_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / span)))
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
