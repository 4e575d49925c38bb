"""``import numtorch.compat``: the ``import torch`` hook, which lives in
:mod:`numtorch.apps.compat` next to the ``numtorch run`` job that installs it. This name is the
same module object, so ``numtorch.compat.install()`` keeps working."""

import sys

from .apps import compat as _compat

sys.modules[__name__] = _compat
