"""Stochastic gradient descent, optionally with (Nesterov) momentum (``torch.optim.SGD``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import _threads
from .._tensor import Tensor
from ..ops import _jit
from . import _jit as _opt_jit
from .optimizer import (
    Optimizer,
    _check_fused,
    _check_lr_tensor,
    _effective_grad,
    _lr_value,
    _params_with_grad,
    _run_closure,
    _validate,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .optimizer import ParamsT

__all__ = ["SGD"]

_FUSED_MIN_SIZE = 1  # the compiled call (under a microsecond to dispatch) beats the NumPy
# path's three ufunc calls at every size

#: Elements of one piece of the fused updates' job (a multiple of 16): a parameter up to this
#: size is one piece, a larger one is cut. Measured on the word language model's eleven
#: parameters (130 to 260 thousand elements each): pieces of 32 Ki elements took half as long
#: again as these (each piece costs a few microseconds of Python and a hand-over).
_PIECE = 131072


def _fused_update(param, grad, buf, weight_decay, momentum, lr):
    """The compiled plain SGD update, or the momentum update after the first step (without
    dampening or Nesterov), of one parameter: ``(kernel, flat arrays, scalars)`` for
    :func:`_run_fused`, or None when the arrays do not allow it (``numtorch.ops._jit``)."""
    arrays = (param, grad) if buf is None else (param, buf, grad)
    if param.size < _FUSED_MIN_SIZE or any(a.dtype != param.dtype or not a.flags.c_contiguous
                                           for a in arrays):
        return None
    jit = _jit.kernels(param)
    if jit is None:
        return None
    scalar = param.dtype.type
    flat = tuple(a.reshape(-1) for a in arrays)
    if buf is None:
        return jit.sgd, flat, (weight_decay != 0, scalar(weight_decay), scalar(-lr))
    return jit.sgd_momentum, flat, (weight_decay != 0, scalar(weight_decay), scalar(momentum),
                                    scalar(-lr))


def _run_fused(updates):
    """Runs the compiled updates of several parameters as one job (like PyTorch's ``foreach``):
    pieces of :data:`_PIECE` elements shared among the threads that
    :func:`numtorch._threads.threads_for` gives for their total size, so the helper threads are
    woken once per step, not once per parameter. Each element is updated the same way whichever
    thread takes it."""
    total = sum(flat[0].size for _, flat, _ in updates)
    threads = _threads.threads_for(total, _opt_jit.ELEMENTS_PER_THREAD)
    if threads <= 1:
        for kernel, flat, scalars in updates:
            kernel(*flat, *scalars)
        return
    pieces = [(kernel, flat, scalars, start)
              for kernel, flat, scalars in updates
              for start in range(0, flat[0].size, _PIECE)]

    def piece(i):
        kernel, flat, scalars, start = pieces[i]
        kernel(*[a[start:start + _PIECE] for a in flat], *scalars)

    _threads.run_chunks(piece, len(pieces), threads)


class SGD(Optimizer):
    r"""Implements stochastic gradient descent (optionally with momentum).

    For each parameter with gradient :math:`g_t` (negated when ``maximize``):

    .. math::
        g_t \leftarrow g_t + \lambda\theta_{t-1}, \qquad
        b_t \leftarrow \begin{cases} g_t & t = 1 \\ \mu b_{t-1} + (1-\tau) g_t & t > 1
        \end{cases}, \qquad
        \theta_t \leftarrow \theta_{t-1} - \gamma\,(g_t + \mu b_t \text{ if nesterov else } b_t)

    The first momentum step stores the raw gradient (no dampening), as PyTorch does.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): learning rate (default: 1e-3)
        momentum (float, optional): momentum factor (default: 0)
        dampening (float, optional): dampening for momentum (default: 0)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        nesterov (bool, optional): enables Nesterov momentum (default: False)
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        foreach, differentiable, fused: accepted for compatibility; numtorch always runs its
            single-tensor NumPy implementation.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float | Tensor = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        _check_lr_tensor(lr)
        _validate([
            (_lr_value(lr) >= 0.0, f"Invalid learning rate: {lr}"),
            (momentum >= 0.0, f"Invalid momentum value: {momentum}"),
            (weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}"),
        ])
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)

    _setstate_defaults = {"nesterov": False, "maximize": False, "foreach": None,
                           "differentiable": False, "fused": False}

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
                momentum = _lr_value(group["momentum"])
                dampening = _lr_value(group["dampening"])
                weight_decay = _lr_value(group["weight_decay"])
                fused = []  # this group's compiled updates, run as one job at the end
                for p in _params_with_grad(group):
                    state = self.state[p] if momentum != 0 else None
                    buf_t = None if state is None else state.get("momentum_buffer")
                    if not group["maximize"] and (
                            momentum == 0 or (buf_t is not None and dampening == 0
                                              and not group["nesterov"])):
                        update = _fused_update(p._data, p._grad._data,
                                               None if buf_t is None else buf_t._data,
                                               weight_decay, momentum, lr)
                        if update is not None:
                            fused.append((p, update))
                            continue
                    grad = _effective_grad(p, group["maximize"], weight_decay)
                    if momentum != 0:
                        if buf_t is None:
                            buf = np.array(grad, copy=True)
                            self.state[p]["momentum_buffer"] = Tensor._wrap(buf)
                        else:
                            buf = buf_t._data
                            buf *= momentum
                            buf += grad if dampening == 0 else grad * (1 - dampening)
                        if group["nesterov"]:  # grad + momentum * buf, in one buffer
                            step = np.multiply(buf, momentum, out=np.empty_like(buf))
                            step += grad
                            step *= -lr
                            p._data += step
                            p._bump_version()
                            continue
                        grad = buf
                    p._data += np.multiply(grad, -lr, out=np.empty_like(grad))
                    p._bump_version()
                if fused:
                    _run_fused([update for _, update in fused])
                    for p, _ in fused:
                        p._bump_version()
        return loss
