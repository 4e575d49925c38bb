"""Serve ``import torch`` (and ``torchvision``'s datasets, transforms, models, utils, io) from
numtorch.

:func:`install` puts an import hook at the front of :data:`sys.meta_path`; from then on
``import torch``, ``import torch.nn as nn``, ``from torch.utils.data import DataLoader``,
``from torchvision import datasets, transforms`` … give numtorch's modules, so a program written
for PyTorch runs unchanged::

    >>> import numtorch.compat          # this module, numtorch.apps.compat
    >>> numtorch.compat.install()
    >>> import torch
    >>> torch.zeros(2)
    tensor([0., 0.])

Each ``torch.X`` module is a thin stand-in (a module named ``torch.X``) whose attributes are read
from ``numtorch.X``: classes and functions are numtorch's own objects, so ``isinstance`` checks
and pickling behave as usual. ``torchvision.datasets`` is served by :mod:`numtorch.datasets`,
``torchvision.transforms`` by :mod:`numtorch.datasets.transforms` and ``torchvision.models``,
``.utils``, ``.io`` and ``.ops`` by :mod:`numtorch.vision`'s modules of those names.

A part of PyTorch that numtorch does not provide fails where the program reaches it, with an error
that names it: importing ``torch.fx`` raises :class:`ModuleNotFoundError` (an
:class:`ImportError`), reading ``torch.fft`` raises :class:`AttributeError`, each saying that the
module or attribute is not provided by numtorch.

:func:`uninstall` removes the hook and forgets the stand-ins. ``numtorch run SCRIPT`` (see
:mod:`numtorch.apps.run`) installs the hook for the duration of one program.
"""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import warnings
from typing import Any

__all__ = ["install", "uninstall", "is_installed"]

_ROOTS = ("torch", "torchvision")

# torchvision's subpackages that numtorch serves, and where they live in numtorch.
_TORCHVISION = {
    "torchvision.datasets": "numtorch.datasets",
    "torchvision.transforms": "numtorch.datasets.transforms",
    "torchvision.models": "numtorch.vision.models",
    "torchvision.utils": "numtorch.vision.utils",
    "torchvision.io": "numtorch.vision.io",
    "torchvision.ops": "numtorch.vision.ops",
}
_TORCHVISION_VERSION = "0.28.0+numtorch"

# numtorch's own modules that are no part of PyTorch's namespace (torch.ops is something else).
_INTERNAL = frozenset({"ops", "apps", "cli", "compat", "run", "viz", "datasets", "vision"})


def _not_provided_message(name):
    return f"{name} is not provided by numtorch (which serves 'import torch' in this program)"


def _is_served_name(fullname):
    root = fullname.partition(".")[0]
    return root in _ROOTS


def _numtorch_name(fullname):
    """The name of the numtorch module that serves ``fullname``.

    ``None`` for the bare ``torchvision`` stand-in, ``""`` for a module numtorch has no
    counterpart for by construction (``torchvision.tv_tensors``, ``torch.ops``).
    """
    if fullname == "torch" or fullname.startswith("torch."):
        if fullname.split(".")[1:2] and fullname.split(".")[1] in _INTERNAL:
            return ""
        return "numtorch" + fullname[len("torch"):]
    if fullname == "torchvision":
        return None
    for prefix, target in _TORCHVISION.items():
        if fullname == prefix or fullname.startswith(prefix + "."):
            return target + fullname[len(prefix):]
    return ""


class _StandIn(types.ModuleType):
    """A module named like PyTorch's whose attributes come from a numtorch module.

    Reading an attribute that the numtorch module lacks raises an :class:`AttributeError` that
    says numtorch does not provide it; a submodule read as an attribute (``torch.nn``) is itself
    served by a stand-in, so the same holds at every depth.
    """

    def __init__(self, name, target, children=None):
        super().__init__(name, getattr(target, "__doc__", None))
        self.__dict__["_numtorch_target"] = target
        self.__dict__["_numtorch_children"] = dict(children or {})
        self.__path__ = []  # a package, so that every ``torch.X.Y`` import reaches the hook
        if target is not None and getattr(target, "__file__", None):
            self.__file__ = target.__file__
        if name.startswith("torchvision.") and isinstance(target, types.ModuleType):
            # programs list what a torchvision module holds through its __dict__ (the ImageNet
            # example: ``name for name in models.__dict__ if name.islower() ...``)
            self.__dict__.update({k: v for k, v in vars(target).items()
                                  if not k.startswith("_")
                                  and not isinstance(v, types.ModuleType)})

    def __getattr__(self, attr):
        d = self.__dict__
        target = d.get("_numtorch_target")
        children = d.get("_numtorch_children", {})
        if attr.startswith("__") and attr.endswith("__") and attr not in ("__all__",
                                                                             "__version__"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")
        if self.__name__ == "torch" and attr in _INTERNAL:
            target = None
        elif attr in children:
            return self._numtorch_submodule(attr, importlib.import_module(children[attr]))
        if target is not None:
            try:
                value = getattr(target, attr)
            except AttributeError:
                pass
            else:
                if isinstance(value, types.ModuleType) and \
                        value.__name__.partition(".")[0] == "numtorch":
                    return self._numtorch_submodule(attr, value)
                return value
        if attr == "__version__" and self.__name__ == "torchvision":
            return _TORCHVISION_VERSION
        if attr == "__all__":
            return sorted(n for n in self.__dir__() if not n.startswith("_"))
        error = AttributeError(f"module {self.__name__!r} has no attribute {attr!r}: "
                               + _not_provided_message(f"{self.__name__}.{attr}"))
        error.name, error.obj = attr, self
        raise error

    def _numtorch_submodule(self, attr, target):
        module = _stand_in(f"{self.__name__}.{attr}", target)
        self.__dict__[attr] = module  # found directly from now on, as after an import
        return module

    def __dir__(self):
        names = set(self.__dict__) - {"_numtorch_target", "_numtorch_children"}
        names.update(self.__dict__.get("_numtorch_children", {}))
        target = self.__dict__.get("_numtorch_target")
        if target is not None:
            names.update(dir(target))
        if self.__name__ == "torch":
            names -= _INTERNAL
        return sorted(names)

    def __repr__(self):
        target = self.__dict__.get("_numtorch_target")
        served = getattr(target, "__name__", "numtorch")
        return f"<module {self.__name__!r} (served by {served})>"


def _stand_in(fullname, target):
    """The stand-in registered for ``fullname`` in :data:`sys.modules`, made on first use."""
    module = sys.modules.get(fullname)
    if isinstance(module, _StandIn):
        return module
    module = _make_stand_in(fullname, target)
    module.__spec__ = importlib.machinery.ModuleSpec(fullname, _LOADER, is_package=True)
    module.__loader__ = _LOADER
    module.__package__ = fullname
    sys.modules[fullname] = module
    return module


def _make_stand_in(fullname, target):
    if fullname == "torchvision":
        children = {child.rpartition(".")[2]: numtorch for child, numtorch in _TORCHVISION.items()}
        return _StandIn(fullname, None, children)
    return _StandIn(fullname, target)


def _import_system_caller():
    """What asked the import system for a module: ``"from"`` for the submodule probe of
    ``from package import name``, ``"find_spec"`` for :func:`importlib.util.find_spec`, else
    ``"import"``."""
    frame = sys._getframe(2)  # the caller of find_spec: the import system
    while frame is not None and "importlib" in frame.f_code.co_filename:
        name = frame.f_code.co_name
        if name == "_handle_fromlist":
            return "from"
        if name == "find_spec" and frame.f_code.co_filename.endswith(("util.py", "util>")):
            return "find_spec"
        frame = frame.f_back
    return "import"


class _Loader(importlib.abc.Loader):
    """Creates the stand-in for a spec found by :class:`_Finder`."""

    def create_module(self, spec):
        return _make_stand_in(spec.name, spec.loader_state)

    def exec_module(self, module):
        """Nothing to run: the stand-in reads its attributes from numtorch when asked."""


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``torch``/``torchvision`` modules and serves them from numtorch."""

    def find_spec(self, fullname, path=None, target=None):
        if not _is_served_name(fullname):
            return None
        numtorch_name = _numtorch_name(fullname)
        target = _resolve(numtorch_name) if numtorch_name else None
        if numtorch_name is not None and target is None:
            message = _not_provided_message(fullname)
            if numtorch_name and _is_plain_attribute(numtorch_name):
                message = f"No module named {fullname!r}"  # e.g. import torch.nn.Linear
            caller = _import_system_caller()
            if caller == "find_spec":  # a library probing for an optional part: "absent"
                return None
            if caller == "from":
                # ``from torch import fft``: a ModuleNotFoundError here would be swallowed and
                # replaced by "cannot import name"; a plain ImportError keeps this message.
                raise ImportError(message, name=fullname)
            raise ModuleNotFoundError(message, name=fullname)
        return importlib.machinery.ModuleSpec(fullname, _LOADER, origin="numtorch",
                                              loader_state=target, is_package=True)


def _resolve(name):
    """The numtorch object that serves the module ``name``, or ``None`` when there is none.

    That is the module ``name`` itself, or a namespace that a module holds as an attribute
    (``numtorch.backends.cudnn``, so that ``import torch.backends.cudnn`` works). An error
    raised while importing an existing numtorch module is not hidden.
    """
    module = sys.modules.get(name)
    if module is not None:
        return module
    parent_name, _, child = name.rpartition(".")
    if parent_name:
        parent = _resolve(parent_name)
        if parent is None:
            return None
        value = getattr(parent, child, None)
        if isinstance(value, (types.ModuleType, types.SimpleNamespace)):
            return value
        if not isinstance(parent, types.ModuleType) or not hasattr(parent, "__path__"):
            return None
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def _is_plain_attribute(name):
    """Whether ``name`` is a class or function of a numtorch module rather than a module."""
    parent_name, _, child = name.rpartition(".")
    parent = _resolve(parent_name) if parent_name else None
    return parent is not None and hasattr(parent, child)


_LOADER = _Loader()
_FINDER = _Finder()
_saved_modules: dict[str, Any] = {}


def install():
    """Serve ``import torch`` and ``import torchvision`` from numtorch in this interpreter.

    The hook goes to the front of :data:`sys.meta_path`, so it takes precedence over an
    installed PyTorch. Modules of real PyTorch imported before the call are set aside (and
    brought back by :func:`uninstall`); objects already taken from them stay what they are.
    Calling it twice is harmless.
    """
    if is_installed():
        return
    stale = [name for name in sys.modules if _is_served_name(name)]
    if stale:
        warnings.warn("torch was imported before numtorch.compat.install(): names already bound "
                      "to it keep referring to PyTorch", RuntimeWarning, stacklevel=2)
        for name in stale:
            _saved_modules[name] = sys.modules.pop(name)
    sys.meta_path.insert(0, _FINDER)


def uninstall():
    """Remove the hook installed by :func:`install` and forget the modules it served."""
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if _is_served_name(n)]:
        if isinstance(sys.modules[name], _StandIn) or sys.modules[name] is None:
            del sys.modules[name]
    sys.modules.update(_saved_modules)
    _saved_modules.clear()


def is_installed():
    """Whether the hook of :func:`install` is active."""
    return _FINDER in sys.meta_path
