"""Applications built on numtorch: the jobs behind the ``numtorch`` command.

``mnist``   train LeNet-5 (or an MLP) on MNIST and write a checkpoint, metrics and pictures.
``predict`` classify digit images with such a checkpoint.

Each command module provides ``HELP`` (one line), ``add_arguments(parser)`` and ``main(args)``
returning the exit status; :mod:`numtorch.cli` wires them into ``argparse``.
"""


class CommandError(Exception):
    """A problem the user can fix (a missing file, a bad option): printed without a traceback."""
