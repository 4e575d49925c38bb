"""Importing torchvision as a test oracle.

The installed torchvision's compiled operators (``torchvision::nms`` …) may not match the
installed torch, and then ``import torchvision`` fails while registering their meta kernels.
The oracle tests need none of those operators (only models, transforms, utils and datasets), so
that registration module is skipped.
"""

import importlib
import sys
import types

import pytest


def import_torchvision():
    """torchvision, or skip the calling test when it is not installed."""
    pytest.importorskip("torch")
    try:
        return importlib.import_module("torchvision")
    except ImportError:
        pytest.skip("torchvision is not installed")
    except RuntimeError:  # compiled operators that do not fit this torch
        for name in [n for n in sys.modules if n == "torchvision" or
                     n.startswith("torchvision.")]:
            del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType(
            "torchvision._meta_registrations")
        return importlib.import_module("torchvision")
