"""``vmap``: map a function over a batch dimension of its inputs.

numtorch has no dispatch layer through which an op could see a "batched tensor", so ``vmap``
runs the function once per batch entry on views of the inputs (``select``) and stacks the
results: every op takes this loop path. The results, their dtypes and their gradients are those
of PyTorch's ``vmap``; the speed is that of a Python loop. Because each entry is an ordinary
tensor, everything works inside, transforms (``grad``, ``jacrev``, nested ``vmap``) included,
and the outputs are differentiable with respect to the inputs by ordinary autograd.
"""

import functools

import numpy as np

from .. import random as _random
from .._tensor import Tensor
from ..ops.shape import stack
from ._pytree import _broadcast, tree_flatten, tree_unflatten

_RANDOMNESS = ("error", "different", "same")


def _func_name(func):
    return getattr(func, "__name__", repr(func))


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Vectorizing map: ``vmap(func)`` returns a function that maps ``func`` over dimension
    ``in_dims`` of its inputs and stacks the results along ``out_dims``.

    Args:
        func (function): a Python function of one or more arguments returning one or more
            Tensors.
        in_dims (int or nested structure): which dimension of each input to map over; ``None``
            for an input that is passed whole to every call. A tuple matching the structure of
            the positional arguments (nested as they are) gives one entry per argument.
            Default: 0.
        out_dims (int or tuple of ints): where the mapped dimension goes in each output;
            ``None`` for an output that does not depend on the mapped inputs. Default: 0.
        randomness (str): ``'error'`` (default) raises if ``func`` draws random numbers;
            ``'different'`` gives each batch entry its own draws; ``'same'`` gives every entry
            the same draws.
        chunk_size (int, optional): accepted for compatibility; numtorch computes one entry at
            a time in any case.

    Returns:
        A function taking the same arguments as ``func``, with the mapped dimension added.

    All ops run through a loop over the batch (see the module docstring).
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. Got "
            f"{randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        return _vmap_call(func, in_dims, out_dims, randomness, args, kwargs)

    return wrapped


def _vmap_call(func, in_dims, out_dims, randomness, args, kwargs):
    name = _func_name(func)
    where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
    if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
        raise ValueError(
            f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
            f"structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(
            f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are "
            "trying to vmap over a function with no inputs. The latter is unsupported.")
    leaves, spec = tree_flatten(args)
    dims = []
    prefix = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
    if isinstance(in_dims, tuple) and len(in_dims) != len(args) or \
            not _broadcast(prefix, args, dims):
        raise ValueError(
            f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has "
            f"structure {tree_flatten(in_dims)[1]} but inputs has structure {spec}.")
    sizes = []
    for x, d in zip(leaves, dims):
        if d is None:
            continue
        if not isinstance(d, int) or isinstance(d, bool):
            raise ValueError(
                f"{where}: Got in_dim={d} for an input but in_dim must be either an integer "
                "dimension or None.")
        if not isinstance(x, Tensor):
            raise ValueError(
                f"{where}: Got in_dim={d} for an input but the input is of type {type(x)}. We "
                "cannot vmap over non-Tensor arguments, please use None as the respective in_dim")
        n = x.dim()
        if not -n <= d < n:
            raise ValueError(
                f"{where}: Got in_dim={d} for some input, but that input is a Tensor of "
                f"dimensionality {n} so expected in_dim to satisfy -{n} <= in_dim < {n}.")
        sizes.append(x.shape[d])
    if not sizes:
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): at least one input must be a "
            "Tensor mapped over a dimension (in_dims is None for every input).")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
            f"{sizes} for the mapped dimension")
    batch = sizes[0]

    gen = _random.default_generator
    start_state = gen.get_state()
    results = []
    for i in range(batch):
        if randomness == "same":
            gen.set_state(start_state)
        entry = [x if d is None else x.select(d, i) for x, d in zip(leaves, dims)]
        before = gen.get_state()._data if randomness == "error" else None
        out = func(*tree_unflatten(entry, spec), **kwargs)
        if before is not None and not np.array_equal(gen.get_state()._data, before):
            raise RuntimeError(
                "vmap: called random operation while in randomness error mode. Please either use "
                "the 'same' or 'different' randomness flags on vmap or perform the randomness "
                "operation out of vmap")
        results.append(out)
    return _stack_outputs(name, results, out_dims, batch)


def _stack_outputs(name, results, out_dims, batch):
    if batch == 0:
        raise ValueError(f"vmap({name}, ...): the mapped dimension has size 0; numtorch cannot "
                         "infer the outputs of a function it never ran.")
    flat = []
    spec = None
    for out in results:
        leaves, s = tree_flatten(out)
        if spec is None:
            spec = s
        for x in leaves:
            if not isinstance(x, Tensor):
                raise ValueError(
                    f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(x)}. "
                    "Did you mean to set out_dims= to None for output?")
        flat.append(leaves)
    odims = []
    prefix = out_dims
    if isinstance(out_dims, (tuple, list)) and not isinstance(results[0], (tuple, list)):
        prefix = out_dims[0] if len(out_dims) == 1 else out_dims
    if not _broadcast(prefix, results[0], odims):
        raise ValueError(
            f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with "
            f"the structure of `outputs`. out_dims has structure {tree_flatten(out_dims)[1]} but "
            f"outputs has structure {spec}.")
    stacked = []
    for j, d in enumerate(odims):
        column = [leaves[j] for leaves in flat]
        if d is None:
            first = column[0]._data
            if any(not np.array_equal(c._data, first, equal_nan=True) for c in column[1:]):
                raise ValueError(
                    f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is "
                    "None")
            stacked.append(column[0])
            continue
        n = column[0].dim() + 1
        if not -n <= d < n:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
                f"{d})")
        stacked.append(stack(column, d))
    return tree_unflatten(stacked, spec)
