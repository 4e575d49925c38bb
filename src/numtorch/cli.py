"""The ``numtorch`` command.

``numtorch mnist``   train LeNet-5 on MNIST (the embedded 10,000-digit sample by default)
``numtorch predict`` classify digit images with a checkpoint that ``numtorch mnist`` wrote
``numtorch run``     (when :mod:`numtorch.apps.run` is installed) run a PyTorch script on numtorch;
                    ``numtorch run --nproc-per-node N`` runs it as N ranks, as ``torchrun`` does
                    (:mod:`numtorch.distributed.run`)

Subcommands are listed in :data:`COMMANDS`: name → module; a module that is not present is left
out of the command line, so a new command is one entry here plus its module. A command module
either

* provides ``HELP`` (a one-line description), ``add_arguments(parser)`` (fills an ``argparse``
  subparser) and ``main(args)`` (runs with the parsed namespace, returns the exit status), or
* provides only ``main(argv)``, which then gets the raw arguments after the command's name (as
  :mod:`numtorch.apps.run` does, to pass them on to a script); the first line of the module's
  docstring is its description in ``numtorch --help``.

Errors the user can fix are raised as :class:`numtorch.apps.CommandError` and printed as
``numtorch <command>: error: <message>`` with exit status 2, without a traceback; so are
``OSError`` (a full disk, a file that vanished).
"""

import argparse
import importlib
import importlib.util
import sys

from .apps import CommandError
from .version import __version__

COMMANDS = {
    "mnist": "numtorch.apps.mnist",
    "predict": "numtorch.apps.predict",
    "run": "numtorch.apps.run",
}


class _Broken:
    """Stands in for a command whose module fails to import: says why when it is run."""

    def __init__(self, error):
        self.HELP = f"(unavailable: {error})"
        self._message = f"this command is unavailable: {type(error).__name__}: {error}"

    def add_arguments(self, parser):
        parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def main(self, args):
        raise CommandError(self._message)


def _available_commands():
    """``{name: module}`` for the commands whose module exists."""
    found = {}
    for name, module_name in COMMANDS.items():
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
        except ModuleNotFoundError:
            continue
        try:
            found[name] = importlib.import_module(module_name)
        except ImportError as e:  # one broken command must not take the others down
            found[name] = _Broken(e)
    return found


def build_parser(commands=None):
    """The ``argparse`` parser of the ``numtorch`` command and its subcommands."""

    commands = _available_commands() if commands is None else commands
    parser = argparse.ArgumentParser(
        prog="numtorch", description="PyTorch's programming model on NumPy: example jobs.")
    parser.add_argument("--version", action="version", version=f"numtorch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in commands.items():
        if _takes_argv(module):
            doc = (module.__doc__ or "").strip().splitlines()
            sub.add_parser(name, help=doc[0] if doc else None, add_help=False)
            continue
        help_line = getattr(module, "HELP", None)
        p = sub.add_parser(name, help=help_line, description=help_line)
        module.add_arguments(p)
        p.set_defaults(_handler=module.main, _prog=p.prog)
    return parser


def _takes_argv(module):
    """Whether ``module.main`` wants the raw arguments rather than an argparse namespace."""
    return not hasattr(module, "add_arguments")


def main(argv=None):
    """Entry point of the ``numtorch`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = _available_commands()
    if argv and argv[0] in commands and _takes_argv(commands[argv[0]]):
        return commands[argv[0]].main(argv[1:]) or 0
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    handler = getattr(args, "_handler", None)
    if handler is None:
        parser.print_help()
        return 2
    prog = args._prog
    del args._handler, args._prog
    try:
        return handler(args) or 0
    except CommandError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the disk filled up, a file vanished: the system's words, one line
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
