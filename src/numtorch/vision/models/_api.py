"""Pretrained-weight descriptions and the model registry (``torchvision.models._api``).

A weights enum member (``ResNet18_Weights.IMAGENET1K_V1``) names a checkpoint by its URL. Its
state dict is read from the torch hub cache, ``$TORCH_HOME/hub/checkpoints/<file name of the
URL>`` (``TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, i.e. ``~/.cache/torch``), exactly
where PyTorch keeps it, so a file downloaded once by torchvision is found by numtorch. A missing
file is downloaded and checked against the hash prefix in its name; without a network the error
names the file and the directory to put it in.
"""

import enum
import fnmatch
import functools
import hashlib
import os
import re
import shutil
import sys
import tempfile
import typing
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ...serialization import load

__all__ = ["Weights", "WeightsEnum", "get_model", "get_model_builder", "get_model_weights",
           "get_weight", "list_models", "register_model"]


def _hub_dir():
    default = os.path.join(os.environ.get("XDG_CACHE_HOME",
                                          os.path.join("~", ".cache")), "torch")
    return os.path.join(os.path.expanduser(os.environ.get("TORCH_HOME", default)), "hub")



def _checkpoint_path(url, model_dir=None, file_name=None):
    directory = model_dir or os.path.join(_hub_dir(), "checkpoints")
    return os.path.join(directory, file_name or os.path.basename(url.split("?")[0]))


_HASH_PREFIX = re.compile(r"-([a-f0-9]*)\.")


def _download(url, dst, hash_prefix):
    """Fetch ``url`` into ``dst`` through a temporary file, checking the SHA-256 prefix."""
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        response = urllib.request.urlopen(url, timeout=30)
    except (urllib.error.URLError, OSError) as exc:
        raise RuntimeError(
            f"Could not download {url} ({exc}). numtorch reads pretrained weights from the torch "
            f"hub cache: place the file {os.path.basename(dst)!r} in {os.path.dirname(dst)!r} "
            "(or point TORCH_HOME at a directory whose hub/checkpoints holds it)") from None
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dst), suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out, response:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
        if hash_prefix and not digest.hexdigest().startswith(hash_prefix):
            raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got '
                               f'"{digest.hexdigest()}")')
        shutil.move(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True,
                             check_hash=False, file_name=None, weights_only=True):
    """The state dict stored at ``url``, read from the hub cache (downloaded there if absent)."""

    path = _checkpoint_path(url, model_dir, file_name)
    if not os.path.exists(path):
        if progress:
            sys.stderr.write(f'Downloading: "{url}" to {path}\n')
        match = _HASH_PREFIX.search(os.path.basename(path)) if check_hash else None
        _download(url, path, match.group(1) if match else None)
    return load(path, map_location=map_location, weights_only=weights_only)


@dataclass
class Weights:
    """What a set of pretrained weights is: its ``url``, the preprocessing ``transforms`` it
    expects (a callable making the transform) and ``meta`` data (``num_params``, ``min_size``,
    ``num_classes``; numtorch does not ship torchvision's ImageNet ``categories`` list)."""

    url: str
    transforms: Callable
    meta: dict = field(default_factory=dict)

    def __eq__(self, other):
        if not isinstance(other, Weights):
            return NotImplemented
        if self.url != other.url or self.meta != other.meta:
            return False
        a, b = self.transforms, other.transforms
        if hasattr(a, "func") and hasattr(b, "func"):
            return (a.func, a.args, a.keywords) == (b.func, b.args, b.keywords)
        return a == b

    __hash__ = None  # type: ignore[assignment]


class WeightsEnum(enum.Enum):
    """The base of the enums of pretrained weights (``ResNet18_Weights`` …)."""

    @classmethod
    def verify(cls, obj):
        """``obj`` as a member of this enum: a member, its name (``"IMAGENET1K_V1"``,
        ``"DEFAULT"``, ``"ResNet18_Weights.IMAGENET1K_V1"``) or ``None``."""
        if obj is not None:
            if type(obj) is str:
                obj = cls[obj.replace(cls.__name__ + ".", "")]
            elif not isinstance(obj, cls):
                raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but "
                                f"received {obj.__class__.__name__}.")
        return obj

    def get_state_dict(self, *args, **kwargs):
        """The checkpoint's state dict (see :func:`load_state_dict_from_url`)."""
        return load_state_dict_from_url(self.url, *args, **kwargs)

    def __repr__(self):
        return f"{self.__class__.__name__}.{self._name_}"

    @property
    def url(self):
        return self.value.url

    @property
    def transforms(self):
        return self.value.transforms

    @property
    def meta(self):
        return self.value.meta


def _ovewrite_named_param(kwargs, param, new_value):
    if param in kwargs:
        if kwargs[param] != new_value:
            raise ValueError(f"The parameter '{param}' expected value {new_value} but got "
                             f"{kwargs[param]} instead.")
    else:
        kwargs[param] = new_value


BUILTIN_MODELS: dict[str, Callable[..., Any]] = {}

_M = TypeVar("_M")


def register_model(name: str | None = None) -> Callable[[Callable[..., _M]], Callable[..., _M]]:
    """Decorator adding a model builder to the registry read by :func:`get_model`."""
    def wrapper(fn):
        key = name if name is not None else fn.__name__
        if key in BUILTIN_MODELS:
            raise ValueError(f"An entry is already registered under the name '{key}'.")
        BUILTIN_MODELS[key] = fn
        return fn
    return wrapper


def list_models(module: Any = None, include: str | list[str] | None = None,
                exclude: str | list[str] | None = None) -> list[str]:
    """Names of the registered models, sorted; ``module`` keeps those defined in it and
    ``include``/``exclude`` are Unix shell-style patterns."""

    # a stand-in module of numtorch.compat (torchvision.models) names its numtorch target
    module = getattr(module, "_numtorch_target", module)
    models = [k for k, v in BUILTIN_MODELS.items()
              if module is None or v.__module__.rsplit(".", 1)[0] == module.__name__]
    if include:
        include = [include] if isinstance(include, str) else include
        models = [m for m in models if any(fnmatch.fnmatch(m, p) for p in include)]
    if exclude:
        exclude = [exclude] if isinstance(exclude, str) else exclude
        models = [m for m in models if not any(fnmatch.fnmatch(m, p) for p in exclude)]
    return sorted(models)


def get_model_builder(name: str) -> Callable[..., Any]:
    """The function that builds the model called ``name``."""
    name = name.lower()
    try:
        return BUILTIN_MODELS[name]
    except KeyError:
        raise ValueError(f"Unknown model {name}") from None


def get_model(name: str, **config: Any) -> Any:
    """Build the model called ``name`` with the keyword arguments of its builder."""
    return get_model_builder(name)(**config)


def _weights_enum(fn):
    """The weights enum of a builder, read from its ``weights: X_Weights | None`` hint."""
    hint = fn.__annotations__.get("weights")
    for candidate in typing.get_args(hint) or (hint,):
        if isinstance(candidate, type) and issubclass(candidate, WeightsEnum):
            return candidate
    return None


def get_model_weights(name: str | Callable[..., Any]) -> type[WeightsEnum]:
    """The weights enum of a model, given its name or its builder."""
    fn = get_model_builder(name) if isinstance(name, str) else name
    enum_cls = _weights_enum(fn)
    if enum_cls is None:
        raise ValueError(f"The weight enum for the model {name} could not be found.")
    return enum_cls


def get_weight(name: str) -> WeightsEnum:
    """The weights enum member called ``"EnumName.MEMBER"``."""
    try:
        enum_name, value_name = name.split(".")
    except ValueError:
        raise ValueError(f"Invalid weight name provided: '{name}'.") from None
    for fn in BUILTIN_MODELS.values():
        enum_cls = _weights_enum(fn)
        if enum_cls is not None and enum_cls.__name__ == enum_name:
            return enum_cls[value_name]
    raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be "
                     "retrieved.")


def _load_weights(model, weights, progress, fix_keys=None):
    """Load ``weights`` (a checked enum member) into ``model``."""
    state_dict = weights.get_state_dict(progress=progress, check_hash=True)
    if fix_keys is not None:
        state_dict = fix_keys(state_dict)
    model.load_state_dict(state_dict)
    return model


def _quoted_list(names):
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def handle_legacy_interface(legacy_weights: Any
                            ) -> Callable[[Callable[..., _M]], Callable[..., _M]]:
    """Accept the builders' interface from before torchvision 0.13 with its warnings:
    ``weights``/``progress`` given positionally, and ``pretrained=True`` (meaning
    ``legacy_weights``) or ``pretrained=False`` (``weights=None``)."""
    def decorate(builder):
        @functools.wraps(builder)
        def wrapper(*args, **kwargs):
            if args:
                names = ("weights", "progress")[:len(args)]
                if len(args) > 2:
                    raise TypeError(f"{builder.__name__}() takes at most 2 positional arguments "
                                    f"({len(args)} given)")
                warnings.warn(f"Using {_quoted_list(names)} as positional parameter(s) is "
                              "deprecated since 0.13 and may be removed in the future. Please "
                              "use keyword parameter(s) instead.", stacklevel=2)
                kwargs.update(zip(names, args))
            missing = object()
            weights = kwargs.get("weights", missing)
            if (("weights" not in kwargs and "pretrained" not in kwargs)
                    or weights is None or isinstance(weights, WeightsEnum)
                    or (isinstance(weights, str) and weights != "legacy")):
                return builder(**kwargs)
            # a bool (or "legacy") where the weights go means the old ``pretrained``
            pretrained_positional = weights is not missing
            pretrained = kwargs.pop("weights") if pretrained_positional else kwargs["pretrained"]
            kwargs.pop("pretrained", None)
            default = legacy_weights if pretrained else None
            if not pretrained_positional:
                warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be "
                              "removed in the future, please use 'weights' instead.",
                              stacklevel=2)
            msg = ("Arguments other than a weight enum or `None` for 'weights' are deprecated "
                   "since 0.13 and may be removed in the future. The current behavior is "
                   f"equivalent to passing `weights={default}`.")
            if pretrained:
                msg += (f" You can also use `weights={type(default).__name__}.DEFAULT` to get "
                        "the most up-to-date weights.")
            warnings.warn(msg, stacklevel=2)
            kwargs["weights"] = default
            return builder(**kwargs)
        return wrapper
    return decorate
