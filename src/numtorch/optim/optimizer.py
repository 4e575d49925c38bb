"""``Optimizer``: the base class of every optimizer (``torch.optim.Optimizer``).

An optimizer holds ``param_groups`` (a list of dicts, each with a ``"params"`` list and its own
options), ``defaults`` (the options a group gets when it does not set them) and ``state`` (a
``defaultdict(dict)`` keyed by parameter tensor; ``Tensor.__hash__`` is identity based).
Subclasses implement :meth:`step`, updating ``p._data`` in place from ``p._grad._data`` and
calling ``p._bump_version()`` afterwards.
"""

from __future__ import annotations

import copy
import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any, TypeAlias

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]

# What an optimizer accepts as ``params``: tensors, parameter-group dicts or (name, tensor) pairs.
ParamsT: TypeAlias = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]


class _RequiredParameter:
    """Singleton marking an option that every parameter group must specify."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_global_step_pre_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
_global_step_post_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()


def _add_hook(hooks_dict: OrderedDict[int, Any], hook: Callable[..., Any],
              prepend: bool = False) -> RemovableHandle:
    handle = RemovableHandle(hooks_dict)
    hooks_dict[handle.id] = hook
    if prepend:
        hooks_dict.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs)`` run before every optimizer's ``step``."""
    return _add_hook(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs)`` run after every optimizer's ``step``."""
    return _add_hook(_global_step_post_hooks, hook)


def _typename(obj):
    if isinstance(obj, Tensor):
        return "numtorch." + type(obj).__name__
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in ("builtins", None) else f"{module}.{name}"


def _with_step_hooks(step):
    """Wrap a subclass's ``step`` so that global and per-optimizer step hooks run around it."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        for pre_hook in chain(_global_step_pre_hooks.values(),
                              self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"{pre_hook} must return None or a tuple of (new_args, new_kwargs), "
                        f"but got {result}.")
                args, kwargs = result
        out = step(self, *args, **kwargs)
        self._optimizer_step_code()
        for post_hook in chain(self._optimizer_step_post_hooks.values(),
                               _global_step_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out

    wrapper.hooked = True
    return wrapper


class Optimizer:
    r"""Base class for all optimizers.

    .. warning::
        Parameters need to be specified as collections that have a deterministic
        ordering that is consistent between runs. Examples of objects that don't
        satisfy those properties are sets and iterators over values of dictionaries.

    Args:
        params (iterable): an iterable of :class:`Tensor` s or :class:`dict` s. Specifies what
            Tensors should be optimized.
        defaults (dict): a dict containing default values of optimization options (used when a
            parameter group doesn't specify them).
    """

    _optimizer_step_pre_hooks: OrderedDict[int, Callable[..., Any]]
    _optimizer_step_post_hooks: OrderedDict[int, Callable[..., Any]]
    _optimizer_state_dict_pre_hooks: OrderedDict[int, Callable[..., Any]]
    _optimizer_state_dict_post_hooks: OrderedDict[int, Callable[..., Any]]
    _optimizer_load_state_dict_pre_hooks: OrderedDict[int, Callable[..., Any]]
    _optimizer_load_state_dict_post_hooks: OrderedDict[int, Callable[..., Any]]

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()
        self._patch_step_function()

        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + _typename(params))

        self.state: defaultdict[Tensor, Any] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        param_groups: list[Any] = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # Options a parameter group saved by an older PyTorch may lack, with the value
    # ``__setstate__`` (so also ``load_state_dict``) fills in; each subclass lists its own, in
    # PyTorch's order, which decides the order of the group's keys.
    _setstate_defaults: dict[str, Any] = {}

    # ------------------------------------------------------------------ pickling and repr
    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self._patch_step_function()
        self.defaults.setdefault("differentiable", False)
        # Checkpoints from old versions kept ``step`` as a number: make it a float32 tensor.
        for p_state in self.state.values():
            if isinstance(p_state, dict) and isinstance(p_state.get("step"), (int, float)):
                p_state["step"] = _scalar_tensor(float(p_state["step"]))
        for group in self.param_groups:
            for key, value in self._setstate_defaults.items():
                group.setdefault(key, value)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines) + "\n)"

    # ------------------------------------------------------------------ hooks
    def _patch_step_function(self):
        cls = type(self)
        if not getattr(cls.step, "hooked", False):
            cls.step = _with_step_hooks(cls.step)

    def _optimizer_step_code(self):
        """Entry point for profilers; does nothing."""

    def register_step_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Register ``hook(optimizer, args, kwargs) -> None or (args, kwargs)`` run before
        :meth:`step`. Returns a handle whose ``remove()`` unregisters it."""
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Register ``hook(optimizer, args, kwargs) -> None`` run after :meth:`step`."""
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable[..., Any],
                                     prepend: bool = False) -> RemovableHandle:
        """Register ``hook(optimizer)`` run before :meth:`state_dict` builds its result."""
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable[..., Any],
                                      prepend: bool = False) -> RemovableHandle:
        """Register ``hook(optimizer, state_dict) -> state_dict or None`` run after
        :meth:`state_dict`."""
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable[..., Any],
                                          prepend: bool = False) -> RemovableHandle:
        """Register ``hook(optimizer, state_dict) -> state_dict or None`` run before
        :meth:`load_state_dict`."""
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable[..., Any],
                                           prepend: bool = False) -> RemovableHandle:
        """Register ``hook(optimizer)`` run after :meth:`load_state_dict`."""
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ------------------------------------------------------------------ state dict
    def state_dict(self) -> dict[str, Any]:
        r"""Return the state of the optimizer as a :class:`dict`.

        It contains two entries:

        * ``state``: a dict mapping parameter indices to that parameter's optimizer state
          (e.g. ``{'momentum_buffer': tensor(...)}``).
        * ``param_groups``: a list of dicts, one per parameter group, holding every option of
          the group and ``'params'``, the list of indices of its parameters.

        Indices count parameters across groups in order. Tensors in the result are shared
        with the optimizer, not copied.
        """
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index_of: dict[int, int] = {}

        def pack_group(group):
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(index_of[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    @staticmethod
    def _cast_state_value(param, value, key, group):
        """Copy a loaded state tensor, taking the parameter's floating dtype (``step`` keeps
        its own dtype unless the group is capturable or fused).

        Always a copy, on purpose: PyTorch's ``value.to(dtype)`` returns ``value`` itself when
        the dtype already matches, so there the loaded optimizer updates the tensors of the
        state dict (and of the optimizer it came from) in place; here the two stay apart.
        """
        if key == "step":
            if group.get("capturable", False) or group.get("fused", False):
                return Tensor._wrap(np.array(value._data, dtype=np.float32))
            return Tensor._wrap(value._data.copy())
        if param._data.dtype.kind in "fc":
            return Tensor._wrap(value._data.astype(param._data.dtype, copy=True))
        return Tensor._wrap(value._data.copy())

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        r"""Load the optimizer state.

        Args:
            state_dict (dict): optimizer state. Should be an object returned from a call to
                :meth:`state_dict`.
        """
        state_dict = state_dict.copy()
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        group_of = {i: g for g in state_dict["param_groups"] for i in g["params"]}

        def cast(param, value, group, key=None):
            if isinstance(value, Tensor):
                return self._cast_state_value(param, value, key, group)
            if isinstance(value, dict):
                return {k: cast(param, v, group, k) for k, v in value.items()}
            if isinstance(value, Iterable) and not isinstance(value, str):
                return type(value)(cast(param, v, group) for v in value)
            return value

        state: defaultdict[Tensor, Any] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v, group_of.get(k, {}))
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    # ------------------------------------------------------------------ gradients and steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        r"""Reset the gradients of all optimized tensors.

        Args:
            set_to_none (bool, optional): instead of setting to zero, set the grads to None.
                Default: ``True``. Optimizers skip parameters whose grad is None but do a step
                with a zero gradient.
        """
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if grad.grad_fn is not None:
                        grad.detach_()
                    else:
                        grad._requires_grad = False
                    grad._data[...] = 0
                    grad._bump_version()

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        r"""Perform a single optimization step to update parameters.

        Args:
            closure (Callable): a closure that reevaluates the model and returns the loss.
                Optional for most optimizers.
        """
        raise NotImplementedError

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        r"""Add a param group to the optimizer's ``param_groups``.

        Useful when fine tuning a pre-trained network, as frozen layers can be made trainable
        and added to the optimizer as training progresses.

        Args:
            param_group (dict): specifies what tensors should be optimized along with group
                specific optimization options.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list "
                "instead.")
        else:
            params = list(params)
        tensors, names = [], []
        for item in params:
            if isinstance(item, tuple):
                names.append(item[0])
                tensors.append(item[1])
            else:
                tensors.append(item)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing")
            param_group["param_names"] = names

        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not self.defaults.get("differentiable", None) and not (
                    param.grad_fn is None or param._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization "
                    f"parameter {name}")
            param_group.setdefault(name, default)

        if len(tensors) != len({id(p) for p in tensors}):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for "
                "more information", stacklevel=3)

        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add "
                    f"param group {which} to the optimizer")
        if not seen.isdisjoint(id(p) for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)


# ---------------------------------------------------------------------- helpers for subclasses
def _run_closure(closure):
    """Evaluate ``closure`` with gradient recording enabled (``step`` itself records none)."""
    if closure is None:
        return None
    with enable_grad():
        return closure()


def _params_with_grad(group):
    """The parameters of ``group`` that have a gradient."""
    return [p for p in group["params"] if p._grad is not None]


def _check_dense(p, name):
    if getattr(p._grad, "is_sparse", False) is True:
        raise RuntimeError(f"{name} does not support sparse gradients")


def _scalar_tensor(value):
    """A 0-dim float32 tensor, as PyTorch keeps ``step`` (and ``mu_product``) on the CPU."""
    return Tensor._wrap(np.array(value, dtype=np.float32))


def _zeros_like(p):
    return Tensor._wrap(np.zeros_like(p._data))


def _increment(step_t):
    """``step += 1`` on a 0-dim float32 tensor; returns the new value as a Python float."""
    arr = step_t._data
    arr += 1
    return float(arr)


def _effective_grad(p, maximize, weight_decay):
    """``-grad`` if maximizing, plus ``weight_decay * p`` (L2 penalty); returns an ndarray.

    Allocates only when the gradient has to change; otherwise returns the gradient array itself
    (which callers must not modify).

    Temporaries throughout ``optim`` are made with ``out=np.empty_like(...)``: a ufunc applied to
    a 0-dim array returns a NumPy scalar, which could be neither stored as state nor used as an
    ``out=`` buffer.
    """
    grad = p._grad._data
    weight_decay = _lr_value(weight_decay)
    if maximize:
        grad = np.negative(grad, out=np.empty_like(grad))
        if weight_decay != 0:
            grad += weight_decay * p._data
    elif weight_decay != 0:
        decayed = np.multiply(p._data, weight_decay, out=np.empty_like(grad))
        decayed += grad
        grad = decayed
    return grad


def _lerp_(start, end, weight, scratch=None):
    """``start.lerp_(end, weight)`` in place, with PyTorch's two-sided formula. ``scratch``: an
    array like ``start`` to use as working space (one is made if not given)."""
    diff = np.subtract(end, start, out=np.empty_like(start) if scratch is None else scratch)
    if weight < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1 - weight
        np.subtract(end, diff, out=start)


def _mul_addcmul_(avg, decay, grad, value, scratch=None):
    """``avg.mul_(decay).addcmul_(grad, grad, value=value)`` in place (``scratch`` as in
    :func:`_lerp_`)."""
    avg *= decay
    sq = np.multiply(grad, value, out=np.empty_like(avg) if scratch is None else scratch)
    sq *= grad
    avg += sq


def _validate(checks):
    """Raise PyTorch's ``ValueError`` for the first failing ``(ok, message)`` pair."""
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def _check_fused(fused, foreach, differentiable):
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _lr_value(lr):
    """A Python number from a learning rate (or beta) given as a number or a 1-element tensor.

    NumPy scalars become Python floats too: under NumPy's promotion rules ``np.float64(0.1)``
    would turn a float32 update into float64 temporaries (and round differently from PyTorch,
    which treats any number as a weak scalar); a Python float keeps the parameter's dtype.
    """
    if isinstance(lr, Tensor):
        return lr._data.item()
    return float(lr) if isinstance(lr, np.generic) else lr


def _check_lr_tensor(lr):
    if isinstance(lr, Tensor) and lr._data.size != 1:
        raise ValueError("Tensor lr must be 1-element")



def _addcdiv_(out, num, denom, value):
    """``out.addcdiv_(num, denom, value=value)``, reusing ``denom`` as scratch space."""
    np.divide(num, denom, out=denom)
    denom *= value
    out += denom
