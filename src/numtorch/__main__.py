"""``python -m numtorch``: the same as the ``numtorch`` command."""

import sys

from numtorch.cli import main

sys.exit(main())
