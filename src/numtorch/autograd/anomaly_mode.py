"""Anomaly detection: ``detect_anomaly``, ``set_detect_anomaly``, ``is_anomaly_enabled``.

While enabled, every graph node remembers the Python stack of the forward call that created it
(in ``node.metadata["traceback_"]``, as PyTorch keeps it), and the backward engine checks what
each node returns: a NaN gradient raises ``RuntimeError``, and any error raised in a node's
backward is preceded by a ``UserWarning`` that shows that forward trace.

As in PyTorch the switch is process-wide, not per thread. Nothing is paid while it is off: the
trace is recorded by a ``grad_fn`` descriptor put on ``Tensor`` only while anomaly mode is on
(every op, declared or hand-written, and every custom Function sets its output's ``grad_fn``).
"""

import os
import traceback
import warnings

import numpy as np

from .. import _tensor  # _tensor imports the core: read _tensor.Tensor at call time


class _AnomalyState:
    enabled = False
    check_nan = True


def is_anomaly_enabled() -> bool:
    """Returns True if anomaly detection is enabled."""
    return _AnomalyState.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Returns True if anomaly detection checks backward results for NaN."""
    return _AnomalyState.check_nan


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _record_forward_trace(node):
    # The user's frames only: numtorch's own frames (the op that made this node) are dropped,
    # as PyTorch's trace ends at the Python line that called the op.
    frames = traceback.extract_stack()
    while frames and frames[-1].filename.startswith(_PACKAGE_DIR):
        frames.pop()
    node.metadata["traceback_"] = traceback.format_list(frames)


class _TracingGradFn:
    """``Tensor.grad_fn`` while anomaly mode is on: setting it records the forward trace on a
    node that has none yet."""

    def __get__(self, tensor, owner=None):
        if tensor is None:
            return None
        return tensor.__dict__.get("grad_fn")

    def __set__(self, tensor, node):
        if node is not None and (node.metadata_ is None
                                 or "traceback_" not in node.metadata_):
            _record_forward_trace(node)
        tensor.__dict__["grad_fn"] = node


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    Tensor = _tensor.Tensor
    _AnomalyState.enabled = bool(enabled)
    _AnomalyState.check_nan = bool(check_nan)
    # a data descriptor on the class while on (the instances' grad_fn stays a Node or None)
    Tensor.grad_fn = _TracingGradFn() if enabled else None  # type: ignore[assignment]


class detect_anomaly:
    """Context-manager that enables anomaly detection for the autograd engine.

    Forward calls record their traceback so that an error in backward can point at the forward
    operation that caused it, and (with ``check_nan``) a backward that produces NaN raises.
    This mode should be enabled only for debugging: it slows every operation down.

    Args:
        check_nan (bool): raise an error when backward generates NaN. Default: ``True``.
    """

    def __init__(self, check_nan=True):
        self.prev = is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should "
            "only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self):
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *args):
        set_anomaly_enabled(self.prev, self.prev_check_nan)
        return False


class set_detect_anomaly:
    """Context-manager that sets anomaly detection on or off.

    Works as a function call (the mode switches at once) or with ``with`` (the previous mode is
    restored on exit).

    Args:
        mode (bool): enable (``True``) or disable (``False``) anomaly detection.
        check_nan (bool): raise an error when backward generates NaN. Default: ``True``.
    """

    def __init__(self, mode, check_nan=True):
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        pass

    def __exit__(self, *args):
        set_anomaly_enabled(self.prev, self.prev_check_nan)
        return False


def _warn_forward_trace(node):
    stack = (node.metadata_ or {}).get("traceback_")
    if stack is None:
        warnings.warn(
            f"Error detected in {node.name()}. No forward pass information available. Enable "
            "detect anomaly during forward pass for more information.", UserWarning, stacklevel=3)
        return
    warnings.warn(
        f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
        + "".join(stack), UserWarning, stacklevel=3)


def apply_checked(node, grads, graph=False):
    """``node.apply(grads)`` (``apply_graph`` with ``create_graph``) as the engine runs it in
    anomaly mode."""
    try:
        results = node.apply_graph(grads) if graph else node.apply(grads)
        if results.__class__ is not tuple:
            results = (results,)
        if _AnomalyState.check_nan:
            for i, r in enumerate(results):
                if r is None:
                    continue
                data = getattr(r, "_data", r)
                if data.dtype.kind in "fc" and np.isnan(data).any():
                    raise RuntimeError(
                        f"Function '{node.name()}' returned nan values in its {i}th output.")
    except Exception:
        _warn_forward_trace(node)
        raise
    return results
