"""``torch.utils.tensorboard``: write TensorBoard event files.

The event files are written by the ``tensorboardX`` package (numtorch's optional extra
``[tensorboard]``); TensorBoard itself is only needed to view them.
"""

try:
    import tensorboardX  # noqa: F401
except ImportError as e:
    raise ImportError(
        "TensorBoard logging requires the tensorboardX package; install numtorch's "
        "'tensorboard' extra (pip install 'numtorch[tensorboard]') or tensorboardX") from e

from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
