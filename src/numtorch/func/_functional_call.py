from ..ops.shape import stack

"""``functional_call``: run a module with some of its parameters and buffers replaced."""

_MISSING = object()


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """Calls ``module(*args, **kwargs)`` with its parameters and buffers replaced by the tensors
    in ``parameter_and_buffer_dicts`` (a dict, or a sequence of dicts, of dotted names such as
    ``"0.weight"``); the module is left unchanged afterwards.

    Args:
        module (nn.Module): the module to call.
        parameter_and_buffer_dicts (dict or sequence of dicts): the tensors to use.
        args (Any or tuple): positional arguments (a non-tuple is a single argument).
        kwargs (dict): keyword arguments.
        tie_weights (bool): if True, a parameter or buffer that the module shares under several
            names (tied weights) is replaced under all of them when one name is given.
            Default: ``True``.
        strict (bool): if True, the names given must be exactly the module's parameters and
            buffers. Default: ``False``.

    Returns:
        Whatever ``module`` returns.
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        values = dict(parameter_and_buffer_dicts)
    else:
        values = {}
        seen = []
        for d in parameter_and_buffer_dicts:
            repeated = [k for k in d if k in values]
            seen.extend(repeated)
            values.update(d)
        if seen:
            raise ValueError(
                f"{seen} appeared in multiple dictionaries; behavior of functional call is "
                "ambiguous")
    named = list(module.named_parameters(remove_duplicate=False)) + \
        list(module.named_buffers(remove_duplicate=False))
    if tie_weights:
        groups = {}
        for name, t in named:
            groups.setdefault(id(t), []).append(name)
        for names in groups.values():
            if len(names) < 2:
                continue
            given = [n for n in names if n in values]
            if not given:
                continue
            first = values[given[0]]
            if any(values[n] is not first for n in given[1:]):
                raise ValueError(
                    f"functional_call got multiple values for keys {given}, which are tied. "
                    "Consider using tie_weights=False")
            for n in names:
                values[n] = first
    if strict:
        all_names = [n for n, _ in named]
        missing = [n for n in all_names if n not in values]
        unexpected = [k for k in values if k not in set(all_names)]
        if missing or unexpected:
            lines = []
            if unexpected:
                lines.append("Unexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected)
                             + ".")
            if missing:
                lines.append("Missing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t"
                               + "\n\t".join(lines))
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    saved = []
    try:
        for name, value in values.items():
            owner, _, attr = _owner(module, name)
            saved.append((owner, attr, _swap(owner, attr, value)))
        return module(*args, **(kwargs or {}))
    finally:
        for owner, attr, (store, old) in reversed(saved):
            if store is None:
                if old is _MISSING:
                    object.__delattr__(owner, attr)
                else:
                    object.__setattr__(owner, attr, old)
            else:
                getattr(owner, store)[attr] = old


def _owner(module, name):
    *path, attr = name.split(".")
    owner = module
    for p in path:
        owner = getattr(owner, p)
    return owner, path, attr


def _swap(owner, attr, value):
    for store in ("_parameters", "_buffers"):
        d = owner.__dict__.get(store)
        if d is not None and attr in d:
            old = d[attr]
            d[attr] = value
            return store, old
    old = owner.__dict__.get(attr, _MISSING)
    object.__setattr__(owner, attr, value)
    return None, old


def stack_module_state(models):
    """Stacks the parameters and buffers of several modules of one class (an ensemble) along a
    new leading dimension, for use with ``vmap`` and :func:`functional_call`.

    Returns:
        ``(params, buffers)``: two dicts from name to stacked tensor. The stacked parameters
        are new leaves that require grad when the originals do.
    """
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode.")
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(getter, leaf):
        per_model = [dict(getter(m)) for m in models]
        out = {}
        for name in per_model[0]:
            tensors = [d[name] for d in per_model]
            t = stack([x.detach() for x in tensors])
            if leaf and any(x.requires_grad for x in tensors):
                t.requires_grad_(True)
            out[name] = t
        return out

    return (stacked(lambda m: m.named_parameters(), True),
            stacked(lambda m: m.named_buffers(), False))
