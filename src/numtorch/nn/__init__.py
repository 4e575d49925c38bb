"""``numtorch.nn``: neural-network building blocks."""

from . import functional, init, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import Buffer, Parameter, UninitializedParameter  # noqa: F401
from . import parallel  # noqa: F401
from .parallel import DataParallel, SyncBatchNorm  # noqa: F401
