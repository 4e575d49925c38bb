"""Grad-mode switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

The flag lives on a class so the op hot path reads it with one attribute lookup.
"""

import functools


class _GradState:
    enabled = True
    inference = False


def is_grad_enabled():
    return _GradState.enabled


def is_inference_mode_enabled():
    return _GradState.inference


class _DecoratorContextManager:
    """A context manager that can also decorate functions (as in PyTorch)."""

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_DecoratorContextManager):
    """Context manager (and decorator) that disables gradient recording."""

    def __enter__(self):
        self._prev = _GradState.enabled
        _GradState.enabled = False

    def __exit__(self, *exc):
        _GradState.enabled = self._prev
        return False


class enable_grad(_DecoratorContextManager):
    """Context manager (and decorator) that enables gradient recording."""

    def __enter__(self):
        self._prev = _GradState.enabled
        _GradState.enabled = True

    def __exit__(self, *exc):
        _GradState.enabled = self._prev
        return False


class set_grad_enabled(_DecoratorContextManager):
    """Sets gradient recording on or off, as a function call or a context manager."""

    def __init__(self, mode):
        self._prev = _GradState.enabled
        self.mode = bool(mode)
        _GradState.enabled = self.mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _GradState.enabled = self._prev
        return False

    def clone(self):
        return self.__class__(self.mode)


class inference_mode(_DecoratorContextManager):
    """Like ``no_grad``; tensors made inside are ordinary tensors here."""

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = (_GradState.enabled, _GradState.inference)
        if self.mode:
            _GradState.enabled = False
            _GradState.inference = True

    def __exit__(self, *exc):
        _GradState.enabled, _GradState.inference = self._prev
        return False

    def clone(self):
        return self.__class__(self.mode)
