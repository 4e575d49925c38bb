"""Grad-mode switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

As in PyTorch, grad mode and inference mode belong to the thread that sets them: a thread
evaluating under ``no_grad`` does not stop another thread from recording. The op hot path reads
``_GradState.enabled``; ``_GradState`` is one ``threading.local`` object whose ``__init__`` runs
once in every thread that touches it and stores that thread's defaults as plain instance
attributes (a lookup in the thread's own dict, about twice the cost of a class attribute and
far cheaper than a function call).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Self, TypeVar, overload

_F = TypeVar("_F", bound=Callable[..., Any])


class _ThreadGradState(threading.local):
    def __init__(self) -> None:
        self.enabled = True  # grad mode
        self.inference = False  # inference mode
        self.fw_grad = True  # forward-mode AD (torch.autograd.forward_ad)


_GradState = _ThreadGradState()


def is_grad_enabled() -> bool:
    """Returns True if grad mode is currently enabled in this thread."""
    return _GradState.enabled


def is_inference_mode_enabled() -> bool:
    """Returns True if inference mode is currently enabled in this thread."""
    return _GradState.inference


class _DecoratorContextManager:
    """A context manager that can also decorate functions (as in PyTorch)."""

    def __call__(self, func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def clone(self) -> _DecoratorContextManager:
        return self.__class__()

    def __enter__(self) -> None:
        raise NotImplementedError

    def __exit__(self, *exc: object) -> None:
        raise NotImplementedError


class _NoParamDecoratorContextManager(_DecoratorContextManager):
    """Also usable as a bare decorator: ``@no_grad`` as well as ``@no_grad()``."""

    @overload
    def __new__(cls, orig_func: None = None) -> Self: ...
    @overload
    def __new__(cls, orig_func: _F) -> _F: ...  # type: ignore[misc]

    def __new__(cls, orig_func: Callable[..., Any] | None = None) -> Any:
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecoratorContextManager):
    """Context-manager that disables gradient calculation in the current thread.

    Every tensor computed inside has ``requires_grad=False``, even when its inputs require grad.
    Also works as a decorator.
    """

    def __enter__(self) -> None:
        state = _GradState
        self._prev = state.enabled
        state.enabled = False

    def __exit__(self, *exc: object) -> None:
        _GradState.enabled = self._prev


class enable_grad(_NoParamDecoratorContextManager):
    """Context-manager that enables gradient calculation in the current thread (inside a
    ``no_grad`` or ``set_grad_enabled(False)`` block). Also works as a decorator."""

    def __enter__(self) -> None:
        state = _GradState
        self._prev = state.enabled
        state.enabled = True

    def __exit__(self, *exc: object) -> None:
        _GradState.enabled = self._prev


class set_grad_enabled(_DecoratorContextManager):
    """Context-manager that sets gradient calculation on or off in the current thread.

    Called as a function it switches the mode at once; used with ``with`` the previous mode is
    restored on exit.
    """

    def __init__(self, mode: bool) -> None:
        self._prev = _GradState.enabled
        self.mode = bool(mode)
        _GradState.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _GradState.enabled = self._prev

    def clone(self) -> _DecoratorContextManager:
        return self.__class__(self.mode)


class inference_mode(_DecoratorContextManager):
    """Context-manager that enables or disables inference mode in the current thread.

    Inside ``inference_mode()`` gradients are not recorded and every tensor created is an
    *inference tensor* (``Tensor.is_inference()``); views of normal tensors stay normal.
    Outside inference mode an inference tensor cannot be updated in place, cannot be saved for
    backward by a recorded op, and cannot be made to require grad. ``inference_mode(False)``
    inside turns inference mode off and grad mode on until it exits.
    """

    @overload
    def __new__(cls, mode: bool = True) -> Self: ...
    @overload
    def __new__(cls, mode: _F) -> _F: ...  # type: ignore[misc]

    def __new__(cls, mode: bool | Callable[..., Any] = True) -> Any:
        if callable(mode):
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        state = _GradState
        self._prev = (state.enabled, state.inference)
        state.enabled = not self.mode
        state.inference = self.mode

    def __exit__(self, *exc: object) -> None:
        _GradState.enabled, _GradState.inference = self._prev

    def clone(self) -> _DecoratorContextManager:
        return self.__class__(self.mode)
