"""``numtorch.viz`` (torchviz's ``make_dot``): the graph tools, which live in
:mod:`numtorch.utils.viz`. This name is the same module object."""

import sys

from .utils import viz as _viz

sys.modules[__name__] = _viz
