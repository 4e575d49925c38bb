"""Run several scripts as ``python SCRIPT`` would, importing the heavy library once.

Usage: ``python fork_runner.py MODULE OUTDIR SCRIPT...``. The process imports ``MODULE`` (e.g.
``torch``), then forks one child a script: the child changes to the script's directory, puts it
first on ``sys.path``, sends stdout/stderr to ``OUTDIR/<name>.out``/``.err`` and runs the script
as ``__main__``; its exit status goes to ``OUTDIR/<name>.rc``. This saves the corpus test a
PyTorch import (seconds of CPU) per script.
"""

import importlib
import os
import runpy
import sys
import traceback
import types


def run_child(script, outdir):
    name = os.path.basename(script)
    for fd, suffix in ((1, ".out"), (2, ".err")):
        f = os.open(os.path.join(outdir, name + suffix), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(f, fd)
        os.close(f)
    os.chdir(os.path.dirname(script))
    sys.argv = [name]
    sys.path[0] = os.path.dirname(script)
    status = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported like an uncaught exception
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def warm_up(module):
    """Import ``module`` and, for torch, pay its lazy first-use costs (the first optimizer step
    imports torch._dynamo: over a second of CPU) once, before forking."""
    lib = importlib.import_module(module)
    if module == "torch":
        import torch.nn.functional  # noqa: F401
        import torch.optim.lr_scheduler  # noqa: F401
        import torch.utils.data  # noqa: F401
        p = lib.nn.Parameter(lib.ones(2))
        optimizer = lib.optim.SGD([p], lr=0.1)
        p.sum().backward()
        optimizer.step()
        _import_torchvision()


def _import_torchvision():
    """Import torchvision for the scripts that use it. A torchvision whose compiled operators
    (nms …) do not fit the installed torch fails while registering their meta kernels; the
    scripts use none of those, so that registration module is skipped."""
    try:
        importlib.import_module("torchvision")
    except ImportError:
        return
    except RuntimeError:
        for name in [n for n in sys.modules if n.partition(".")[0] == "torchvision"]:
            del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType(
            "torchvision._meta_registrations")
        importlib.import_module("torchvision")


def main(module, outdir, scripts):
    warm_up(module)
    for script in scripts:
        script = os.path.abspath(script)
        pid = os.fork()
        if pid == 0:
            run_child(script, outdir)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        with open(os.path.join(outdir, os.path.basename(script) + ".rc"), "w") as f:
            f.write(str(code))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
