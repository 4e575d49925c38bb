"""``SyncBatchNorm``: batch normalization whose statistics span every rank of a process group.

In training, with more than one rank, each channel's mean and variance are those of the union of
all ranks' batches (one all-reduce of the per-channel sums in forward, one of the gradient sums
in backward), so a data-parallel model normalizes as one process on the whole batch would. In
evaluation, or with a single rank, it is :class:`~numtorch.nn.BatchNorm2d`'s computation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import distributed as dist
from ..._tensor import Tensor
from ...autograd.function import Function
from ..modules.normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


class _SyncBatchNormFn(Function):
    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, eps, momentum, group):
        x = input._data
        axes = (0,) + tuple(range(2, x.ndim))
        cshape = (1, -1) + (1,) * (x.ndim - 2)
        count = x.size // x.shape[1]
        stats = np.concatenate([x.sum(axis=axes), (x * x).sum(axis=axes), [count]])
        stats = Tensor._wrap(stats.astype(np.float64))
        dist.all_reduce(stats, group=group)
        c = x.shape[1]
        total = stats._data[-1]
        mean = stats._data[:c] / total
        var = np.maximum(stats._data[c:2 * c] / total - mean * mean, 0.0)
        if total <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {tuple(x.shape)}")
        if running_mean is not None:
            rm, rv = running_mean._data, running_var._data
            rm[...] = (1 - momentum) * rm + momentum * mean.astype(rm.dtype)
            rv[...] = (1 - momentum) * rv + momentum * (var * total / (total - 1)).astype(rv.dtype)
            running_mean._bump_version()
            running_var._bump_version()
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        xhat = (x - mean.astype(x.dtype).reshape(cshape)) * invstd.reshape(cshape)
        out = xhat
        if weight is not None:
            out = out * weight._data.reshape(cshape)
        if bias is not None:
            out = out + bias._data.reshape(cshape)
        ctx.xhat, ctx.invstd, ctx.total, ctx.group = xhat, invstd, total, group
        ctx.axes, ctx.cshape = axes, cshape
        ctx.w = None if weight is None else weight._data
        return Tensor._wrap(out if out is not xhat else xhat.copy())

    @staticmethod
    def backward(ctx, grad_output):
        dy = grad_output._data
        xhat, invstd, axes, cshape = ctx.xhat, ctx.invstd, ctx.axes, ctx.cshape
        sum_dy = dy.sum(axis=axes)
        sum_dy_xhat = (dy * xhat).sum(axis=axes)
        grad_weight = Tensor._wrap(sum_dy_xhat.copy()) if ctx.needs_input_grad[1] else None
        grad_bias = Tensor._wrap(sum_dy.copy()) if ctx.needs_input_grad[2] else None
        grad_input = None
        if ctx.needs_input_grad[0]:
            sums = Tensor._wrap(np.concatenate([sum_dy, sum_dy_xhat]).astype(np.float64))
            dist.all_reduce(sums, group=ctx.group)
            c = sum_dy.size
            mean_dy = (sums._data[:c] / ctx.total).astype(dy.dtype).reshape(cshape)
            mean_dy_xhat = (sums._data[c:] / ctx.total).astype(dy.dtype).reshape(cshape)
            scale = invstd if ctx.w is None else invstd * ctx.w
            grad_input = Tensor._wrap(scale.reshape(cshape) * (dy - mean_dy - xhat * mean_dy_xhat))
        return grad_input, grad_weight, grad_bias, None, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over the union of the batches of every rank of ``process_group``.

    Args:
        num_features, eps, momentum, affine, track_running_stats: as for
            :class:`~numtorch.nn.BatchNorm1d`.
        process_group (ProcessGroup, optional): the ranks whose batches are normalized together
            (the default group).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Any | None = None, device=None, dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _check_non_zero_input_channels(self, input):
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        group = self.process_group
        world = dist.get_world_size(group) if dist.is_initialized() else 1
        if not self.training or world == 1:
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        running = self.track_running_stats
        return _SyncBatchNormFn.apply(input, self.weight, self.bias,
                                      self.running_mean if running else None,
                                      self.running_var if running else None,
                                      self.eps, factor, group)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every ``BatchNorm*d`` layer replaced by a :class:`SyncBatchNorm` that
        keeps its parameters, buffers and mode."""
        converted = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = SyncBatchNorm(module.num_features, module.eps, module.momentum,
                                      module.affine, module.track_running_stats, process_group)
            if module.affine:
                converted.weight = module.weight
                converted.bias = module.bias
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
            converted.training = module.training
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted
