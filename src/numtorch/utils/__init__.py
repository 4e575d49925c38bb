"""Utilities (``torch.utils``): data loading lives in :mod:`numtorch.utils.data`, activation
checkpointing in :mod:`numtorch.utils.checkpoint`, hook handles in :mod:`numtorch.utils.hooks`,
and the model tools in :mod:`numtorch.utils.viz` (graph pictures) and
:mod:`numtorch.utils.summary` (torchinfo's table).

The submodules load on first use: the autograd core imports :mod:`numtorch.utils.hooks` while
``import numtorch`` runs, before the library layers that ``data`` and ``checkpoint`` need.
"""

import importlib as _importlib

__all__ = ["checkpoint", "data", "hooks"]


def __getattr__(name):
    if name in ("checkpoint", "data", "hooks", "viz", "summary"):
        module = _importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
