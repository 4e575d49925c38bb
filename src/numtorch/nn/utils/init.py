"""``skip_init``: build a module without caring about its initial values."""

import inspect

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """Instantiate ``module_cls(*args, **kwargs)``; its parameters are to be overwritten.

    PyTorch leaves them uninitialised; numtorch runs the ordinary initialisation (cheap here),
    so the result is the same module with arbitrary starting values.
    """
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return module_cls(*args, **kwargs)
