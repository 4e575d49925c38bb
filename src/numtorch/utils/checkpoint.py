"""Activation checkpointing (``torch.utils.checkpoint``): trade compute for memory.

A checkpointed segment does not keep the tensors its backward needs; they are recomputed by
running the segment again when backward reaches it, with the random state of the first run, so
dropout inside gives the same mask and the same gradient.

Two variants, as in PyTorch:

* ``use_reentrant=True``: the segment runs under ``no_grad`` and its output gets one node,
  ``CheckpointFunctionBackward``, whose backward reruns the segment and backpropagates through
  it (a nested backward that accumulates into the leaves' ``.grad``). Not usable with
  ``autograd.grad`` or ``backward(inputs=...)``.
* ``use_reentrant=False``: the segment is recorded as usual (the output keeps the segment's own
  ``grad_fn``), then what its nodes saved is freed at once. The first of those nodes that
  backward reaches reruns the segment and gives every node its saved values back. Works with
  ``autograd.grad`` and when no input requires grad but parameters inside do.
  A tensor that requires grad and is not a leaf must reach the segment as an argument (PyTorch
  also allows it through a closure; numtorch raises a clear error then).
"""

import warnings

from .. import random as _random
from .._tensor import Tensor
from ..autograd import Function, backward
from ..autograd.grad_mode import _GradState, enable_grad, no_grad
from ..autograd.node import _FREED, AccumulateGrad, Node

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction",
           "noop_context_fn"]


class CheckpointError(RuntimeError):
    """Raised when the recomputation of a checkpointed segment does not match its first run."""


def noop_context_fn():
    return _NullContext(), _NullContext()


class _NullContext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


class _RngState:
    """The random state at the start of a segment, put back for the recomputation."""

    def __init__(self, preserve):
        self.state = _random.get_rng_state() if preserve else None

    def __enter__(self):
        if self.state is not None:
            self._outer = _random.get_rng_state()
            _random.set_rng_state(self.state)

    def __exit__(self, *exc):
        if self.state is not None:
            _random.set_rng_state(self._outer)
        return False


class CheckpointFunction(Function):
    """The reentrant variant: one node that reruns the segment in its backward."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        ctx.run_function = run_function
        ctx.rng = _RngState(preserve_rng_state)
        # Tensors only through save_for_backward, so they are freed as soon as this node ran.
        ctx.non_tensor = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grad_outputs):
        saved = iter(ctx.saved_tensors)  # raises if an input was modified in place
        detached = []
        for a in ctx.non_tensor:
            if a is None:
                t = next(saved)
                a = t.detach()
                a._requires_grad = t._requires_grad
            detached.append(a)
        with ctx.rng, enable_grad():
            outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        with_grad = [(o, g) for o, g in zip(outputs, grad_outputs)
                     if isinstance(o, Tensor) and o._requires_grad and g is not None]
        if not with_grad:
            raise RuntimeError(
                "none of output has requires_grad=True, this checkpoint() is not necessary")
        with enable_grad():
            backward([o for o, _ in with_grad], [g for _, g in with_grad])
        grads = tuple(d.grad if isinstance(d, Tensor) else None for d in detached)
        for d in detached:
            if isinstance(d, Tensor):
                d.__dict__.pop("_acc", None)  # a leaf and its accumulator refer to each other
        return (None, None) + grads


def _check_use_reentrant(use_reentrant, what, message):
    if use_reentrant is None:
        warnings.warn(
            f"torch.utils.checkpoint{what}: the use_reentrant parameter should be passed "
            f"explicitly. {message} use_reentrant=False is recommended, but if you need to "
            "preserve the current default behavior, you can pass use_reentrant=True. Refer to "
            "docs for more details on the differences between the two variants.",
            UserWarning, stacklevel=3)
        return True
    return bool(use_reentrant)


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check="default", debug=False, early_stop=True,
               preserve_rng_state=True, **kwargs):
    """Checkpoint a model or part of the model.

    Runs ``function(*args, **kwargs)`` without keeping the intermediate activations; they are
    recomputed during backward.

    Args:
        function: the segment to run (a module or any callable).
        args: its arguments.
        use_reentrant (bool): which variant to use (see the module docstring). Pass it
            explicitly; ``None`` warns and means ``True``.
        preserve_rng_state (bool): rerun the segment with the random state of its first run.
            Default: ``True``.
        context_fn, determinism_check, debug, early_stop: accepted for compatibility.

    Returns:
        The output of ``function(*args, **kwargs)``.
    """
    use_reentrant = _check_use_reentrant(
        use_reentrant, "",
        "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
        "exception.")
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if context_fn is not noop_context_fn or debug:
            raise ValueError(
                "Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        if _GradState.enabled and not any(isinstance(a, Tensor) and a._requires_grad
                                          for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                          UserWarning, stacklevel=2)
        return CheckpointFunction.apply(function, preserve_rng_state, *args)
    if determinism_check not in ("default", "none"):
        raise ValueError(
            f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    return _checkpoint_without_reentrant(function, preserve_rng_state, args, kwargs)


def _checkpoint_without_reentrant(function, preserve_rng_state, args, kwargs):
    if not _GradState.enabled:
        return function(*args, **kwargs)
    rng = _RngState(preserve_rng_state)
    tensor_args = [a for a in args if isinstance(a, Tensor)]
    inputs_guard = Node()  # tracks the inputs' versions: in-place changes before backward raise
    inputs_guard.save_versions(*tensor_args)
    boundary = {a._edge()[0] for a in tensor_args}
    state = {"done": False, "args": args, "kwargs": kwargs}  # dropped once recomputed
    outputs = function(*args, **kwargs)
    del args, kwargs
    nodes = _segment_nodes(_roots(outputs), boundary)
    saving = [n for n in nodes if n._versions is not None and n._versions is not _FREED]
    if not saving:
        return outputs

    def recompute(grad_outputs):
        if state["done"]:
            return None
        inputs_guard._check_saved()
        with rng, enable_grad():
            again = function(*state["args"], **state["kwargs"])
        fresh = _segment_nodes(_roots(again), boundary)
        if len(fresh) != len(nodes) or any(type(a) is not type(b) for a, b in zip(nodes, fresh)):
            raise CheckpointError(
                "torch.utils.checkpoint: Recomputed values for the following tensors have "
                "different metadata than during the forward pass: the checkpointed function "
                "recorded a different graph when it was run again.")
        for old, new in zip(nodes, fresh):
            if old is new:
                raise RuntimeError(
                    "checkpoint(use_reentrant=False): a tensor that requires grad and is not a "
                    f"leaf reached the checkpointed function other than as an argument (through "
                    f"{old.name()}); numtorch cannot recompute it. Pass it to checkpoint() as an "
                    "argument.")
            if old._versions is _FREED:
                for name in _saved_fields(type(old)):
                    setattr(old, name, getattr(new, name, None))
                old._versions = new._versions
        state.update(done=True, args=None, kwargs=None)
        inputs_guard._release()
        return None

    for n in saving:
        n.register_prehook(recompute)
        n._release()
    return outputs


def _roots(outputs):
    if isinstance(outputs, Tensor):
        outputs = (outputs,)
    elif isinstance(outputs, dict):
        outputs = tuple(outputs.values())
    elif not isinstance(outputs, (tuple, list)):
        outputs = ()
    return [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]


def _segment_nodes(roots, boundary):
    """The nodes recorded inside the segment, in one deterministic order (depth-first from the
    outputs, stopping at the inputs' nodes and at leaves)."""
    order = []
    seen = set()
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if node in seen or node in boundary or node.__class__ is AccumulateGrad:
            continue
        seen.add(node)
        order.append(node)
        for nxt, _ in reversed(node.next_functions):
            if nxt is not None:
                stack.append(nxt)
    return order


def _saved_fields(cls):
    """What a node keeps for backward: hand-written nodes list ``_saved_fields``, declared ones
    their slots in ``_saves``."""
    return {f for c in cls.__mro__ for f in c.__dict__.get("_saved_fields", ())} | set(cls._saves)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Checkpoint a sequential model in ``segments`` chunks.

    The layers (an ``nn.Sequential`` or a list of modules or functions) are split into
    ``segments`` consecutive chunks of ``len // segments`` layers; every chunk but the last is
    run through :func:`checkpoint`, the last one normally.

    Args:
        functions: an ``nn.Sequential`` or a list of modules or functions to run in order.
        segments (int): number of chunks.
        input: the input of the first layer.
        use_reentrant (bool): as in :func:`checkpoint`.
        preserve_rng_state (bool, keyword): as in :func:`checkpoint`.

    Returns:
        The output of the last layer.
    """
    use_reentrant = _check_use_reentrant(
        use_reentrant, ".checkpoint_sequential",
        "In version 2.9 we will raise an exception if use_reentrant is not passed.")
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
