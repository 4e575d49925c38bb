"""``torch.nn.functional``: the stateless forms of the layers, activations and losses.

The kernels live in ``numtorch.ops`` (one family a module); this module is the public surface.
"""

from ..ops.activation import *  # noqa: F401,F403
from ..ops.attention import *  # noqa: F401,F403
from ..ops.conv import *  # noqa: F401,F403
from ..ops.conv3d import conv3d  # noqa: F401
from ..ops.dropout import *  # noqa: F401,F403
from ..ops.fold import *  # noqa: F401,F403
from ..ops.linalg import linear  # noqa: F401
from ..ops.loss import *  # noqa: F401,F403
from ..ops.normalization import *  # noqa: F401,F403
from ..ops.padding import *  # noqa: F401,F403
from ..ops.pooling import *  # noqa: F401,F403
from ..ops.reduction import log_softmax, softmax  # noqa: F401
from ._functional_core import *  # noqa: F401,F403
from ._functional_rms_norm import rms_norm  # noqa: F401
from ._functional_shuffle import *  # noqa: F401,F403
