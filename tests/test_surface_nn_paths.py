"""Every public class numtorch.nn implements is importable from PyTorch's module path
(``torch.nn.modules.activation.MultiheadAttention`` …), checked by walking real torch."""

import importlib
import inspect
import pkgutil

import pytest

import numtorch.nn as nn

torch = pytest.importorskip("torch")


def _torch_public_names():
    import torch.nn.modules as tm
    for info in pkgutil.iter_modules(tm.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"torch.nn.modules.{info.name}")
        names = set(getattr(mod, "__all__", ()))
        # Classes defined in the module but left out of __all__ (NonDynamicallyQuantizableLinear).
        names |= {n for n, v in vars(mod).items() if inspect.isclass(v) and not n.startswith("_")
                  and v.__module__ == mod.__name__}
        for name in sorted(names):
            yield info.name, name


def _numtorch_names():
    """Every public name numtorch.nn or any of its nn.modules submodules defines."""
    import numtorch.nn.modules as nm
    names = {n for n in dir(nn) if not n.startswith("_")}
    for info in pkgutil.iter_modules(nm.__path__):
        mod = importlib.import_module(f"numtorch.nn.modules.{info.name}")
        names |= {n for n, v in vars(mod).items() if inspect.isclass(v)
                  and not n.startswith("_") and v.__module__.startswith("numtorch.nn")}
    return names


_IMPLEMENTED = _numtorch_names()
PAIRS = [(m, n) for m, n in _torch_public_names() if n in _IMPLEMENTED]


def test_walk_finds_the_names_real_programs_import():
    assert ("activation", "MultiheadAttention") in PAIRS
    assert ("linear", "NonDynamicallyQuantizableLinear") in PAIRS
    assert ("conv", "Conv2d") in PAIRS
    assert len(PAIRS) > 100


@pytest.mark.parametrize("module,name", PAIRS, ids=[f"{m}.{n}" for m, n in PAIRS])
def test_public_name_at_torch_module_path(module, name):
    mod = importlib.import_module(f"numtorch.nn.modules.{module}")
    value = getattr(mod, name)
    if hasattr(nn, name):
        assert value is getattr(nn, name)


def test_modules_utils_helpers():
    from torch.nn.modules import utils as tu

    from numtorch.nn.modules.utils import (
        _pair,
        _quadruple,
        _single,
        _triple,
        consume_prefix_in_state_dict_if_present,
    )
    for x in (3, (1, 2), [4, 5, 6]):
        for ours, theirs in ((_single, tu._single), (_pair, tu._pair), (_triple, tu._triple),
                             (_quadruple, tu._quadruple)):
            assert ours(x) == theirs(x)
    model = nn.Sequential(nn.Linear(2, 3))
    sd = {"module." + k: v for k, v in model.state_dict().items()}
    consume_prefix_in_state_dict_if_present(sd, "module.")
    assert sorted(sd) == ["0.bias", "0.weight"]
    model.load_state_dict(sd)
