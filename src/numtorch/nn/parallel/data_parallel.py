"""``DataParallel`` and ``data_parallel``: on a machine without GPUs PyTorch runs the module
directly, and so does numtorch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..modules.module import Module

if TYPE_CHECKING:
    from ..._device import device
    from ..._tensor import Tensor

__all__ = ["DataParallel", "data_parallel"]


def _check_devices(device_ids, output_device):
    if device_ids or output_device not in (None, "cpu", -1):
        raise ValueError(f"numtorch has no GPUs: DataParallel runs on the CPU and takes no "
                         f"device_ids (got device_ids={device_ids}, "
                         f"output_device={output_device})")


class DataParallel(Module):
    """Wraps ``module``; with no GPU (always, in numtorch) ``forward`` calls ``module``.

    Its state_dict keys carry the ``module.`` prefix, as in PyTorch.
    """

    def __init__(self, module: Module, device_ids: Sequence[int | device] | None = None,
                 output_device: int | device | None = None, dim: int = 0) -> None:
        super().__init__()
        _check_devices(device_ids, output_device)
        self.module = module
        self.device_ids: list[int] = []
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs: Any, device_ids: Sequence[int | device] | None = None,
                  output_device: int | device | None = None, dim: int = 0,
                  module_kwargs: Any | None = None) -> Tensor:
    """Evaluate ``module(*inputs)`` (on the CPU: the module itself, as PyTorch does)."""
    _check_devices(device_ids, output_device)
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))
