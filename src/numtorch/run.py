"""``python -m numtorch.run`` / ``import numtorch.run``: the ``numtorch run`` job, which lives in
:mod:`numtorch.apps.run` with the other jobs of the ``numtorch`` command."""

import sys

from .apps import run as _run

if __name__ == "__main__":
    sys.exit(_run.main())
sys.modules[__name__] = _run
