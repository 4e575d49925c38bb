"""Layer classes, one family a module."""

# PyTorch defines the lazy variants beside their layers (torch.nn.modules.linear.LazyLinear,
# torch.nn.modules.conv.LazyConv2d); they live in .lazy here (which imports those modules) and
# are made reachable at PyTorch's paths too.
from . import conv as _conv  # noqa: E402
from . import lazy as _lazy
from . import linear as _linear
from .activation import *  # noqa: F401,F403
from .channelshuffle import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .lazy import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403

_linear.LazyLinear = _lazy.LazyLinear  # type: ignore[attr-defined]
for _name in ("LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
              "LazyConvTranspose2d"):
    setattr(_conv, _name, getattr(_lazy, _name))
del _name
