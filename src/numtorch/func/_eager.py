"""``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian`` on top
of the reverse-mode engine.

Each call differentiates with respect to *aliases* of the chosen inputs: a detached leaf when the
input is outside any graph, a ``view_as`` of it when it already requires grad (an enclosing
transform or the user's own autograd), so the results stay differentiable one level up. The
graph of a level is kept (``create_graph``) only when something above it will differentiate.

Forward mode (``jvp``, ``jacfwd``) is computed by the double-vjp identity: with
``g(u) = J^T u`` (a vjp recorded with ``create_graph``), ``J v`` is the vjp of ``g`` with respect
to ``u`` along ``v``. That is two backward passes per ``jvp`` and ``1 + n_inputs`` for
``jacfwd``, the cost profile of forward mode. It needs ops whose backward is itself
differentiable; where it is not, numtorch builds ``J`` row by row in reverse mode instead (same
values, one backward pass per output element).
"""

import functools
import threading

import numpy as np

from .._tensor import Tensor
from ..autograd import grad as _autograd_grad
from ..autograd.functional import _no_double_backward
from ..autograd.grad_mode import enable_grad
from ..ops.shape import stack
from ._pytree import tree_flatten, tree_unflatten


class _Levels(threading.local):
    def __init__(self):
        self.depth = 0


_levels = _Levels()


class _Level:
    """One transform level: counts the nesting so inner levels keep their graphs."""

    def __enter__(self):
        _levels.depth += 1
        self._grad = enable_grad()
        self._grad.__enter__()
        return self

    def __exit__(self, *exc):
        self._grad.__exit__(*exc)
        _levels.depth -= 1
        return False


def _alias(x):
    if not isinstance(x, Tensor):
        raise RuntimeError(
            f"Expected input to be a Tensor (or a nested container of Tensors), got {type(x)}")
    if x._requires_grad:
        return x.view_as(x)
    d = x.detach()
    d.requires_grad_(True)
    return d


def _normalize_argnums(argnums, n, api):
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        nums = (argnums,)
    elif isinstance(argnums, tuple):
        if not argnums:
            raise RuntimeError(f"{api}: argnums must be non-empty")
        nums = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    out = []
    for a in nums:
        if not isinstance(a, int) or isinstance(a, bool):
            raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
        if not -n <= a < n:
            raise RuntimeError(f"Got argnum={a}, but only {n} positional inputs")
        out.append(a % n)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{api}: argnums must be unique, got {argnums}")
    return out


class _Prepared:
    """The chosen arguments replaced by aliases that require grad."""

    def __init__(self, args, argnums, api):
        self.nums = _normalize_argnums(argnums, len(args), api)
        self.single = isinstance(argnums, int)
        args = list(args)
        self.specs = []
        self.inputs = []  # flat aliases, in argnum order
        self.keep = _levels.depth > 1
        for a in self.nums:
            leaves, spec = tree_flatten(args[a])
            aliases = [_alias(x) for x in leaves]
            self.keep = self.keep or any(x._requires_grad for x in leaves)
            self.specs.append((spec, len(aliases)))
            self.inputs.extend(aliases)
            args[a] = tree_unflatten(aliases, spec)
        self.args = args

    def structure(self, flat):
        """Put per-input results back into the structure of the chosen arguments."""
        out = []
        pos = 0
        for spec, n in self.specs:
            out.append(tree_unflatten(flat[pos:pos + n], spec))
            pos += n
        return out[0] if self.single else tuple(out)


def _zeros_for(x):
    return Tensor._wrap(np.zeros_like(x._data))


def _grad_list(outputs, inputs, grad_outputs, keep, retain=True):
    """Gradients of ``outputs`` w.r.t. ``inputs`` (zeros where unused)."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o._requires_grad]
    if not pairs:
        return [_zeros_for(x) for x in inputs]
    got = _autograd_grad([o for o, _ in pairs], inputs, [g for _, g in pairs],
                         retain_graph=retain or keep, create_graph=keep, allow_unused=True)
    return [_zeros_for(x) if g is None else g for x, g in zip(inputs, got)]


def _unwrap(x, keep):
    """A level's output as the caller sees it: detached unless a level above differentiates."""
    if keep or not isinstance(x, Tensor):
        return x
    return x.detach()


def _split_aux(out, has_aux, api):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(
            f"{api}(f)(*args): output of function f should be a tuple: (output, aux) if has_aux "
            "is True")
    return out


def grad_and_value(func, argnums=0, has_aux=False):
    """Returns a function computing ``(gradient, value)`` of ``func`` with respect to the
    arguments selected by ``argnums``.

    ``func`` must return a scalar Tensor (or ``(scalar, aux)`` with ``has_aux=True``, then the
    function returns ``(gradient, (value, aux))``). ``argnums`` is an int or a tuple of ints;
    an argument may be a nested container of tensors (e.g. a dict of parameters) and its
    gradient has the same structure.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _Level():
            prep = _Prepared(args, argnums, "grad_and_value")
            out = func(*prep.args, **kwargs)
            value, aux = _split_aux(out, has_aux, "grad_and_value")
            if not isinstance(value, Tensor):
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                    f"{type(value)}")
            if value.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                    f"tensor with {value.dim()} dims. Maybe you wanted to use the vjp or jacrev "
                    "APIs instead?")
            keep = prep.keep
            grads = _grad_list([value], prep.inputs, [None], keep, retain=False)
        result = prep.structure(grads)
        value = _unwrap(value, keep)
        if has_aux:
            aux = tree_unflatten([_unwrap(a, keep) for a in tree_flatten(aux)[0]],
                                 tree_flatten(aux)[1])
            return result, (value, aux)
        return result, value

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """Returns a function computing the gradient of ``func`` with respect to the arguments
    selected by ``argnums`` (see :func:`grad_and_value`). With ``has_aux=True`` it returns
    ``(gradient, aux)``."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        if has_aux:
            return g, value[1]
        return g

    return wrapper


def _flat_outputs(out, api):
    leaves, spec = tree_flatten(out)
    for x in leaves:
        if not isinstance(x, Tensor):
            raise RuntimeError(
                f"{api}: Expected f to be a function that has non-empty output and only Tensor "
                f"outputs; got an output of type {type(x)}")
    if not leaves:
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output")
    return leaves, spec


def vjp(func, *primals, has_aux=False):
    """Returns ``(func(*primals), vjp_fn)``; ``vjp_fn(cotangents)`` gives the vector-Jacobian
    product, one gradient per primal (a tuple)."""
    with _Level():
        prep = _Prepared(primals, tuple(range(len(primals))), "vjp")
        out = func(*prep.args)
        out, aux = _split_aux(out, has_aux, "vjp")
        outs, out_spec = _flat_outputs(out, "vjp(f, *primals)")
    keep = prep.keep

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        cots, cot_spec = tree_flatten(cotangents)
        if cot_spec != out_spec and not (len(outs) == 1 and len(cots) == 1):
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure of "
                f"outputs to the function. cotangents: {cot_spec}, primal output: {out_spec}")
        for o, c in zip(outs, cots):
            if tuple(o.shape) != tuple(c.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {c.shape} and output[0] "
                    f"has a shape of {o.shape}.")
        with _Level():
            grads = _grad_list(outs, prep.inputs, cots, keep or bool(create_graph))
        return prep.structure(grads)

    result = tree_unflatten([_unwrap(o, keep) for o in outs], out_spec)
    if has_aux:
        return result, vjp_fn, aux
    return result, vjp_fn


def _double_vjp(outs, inputs, tangents, keep):
    """``J v`` for every output, by differentiating ``u -> J^T u`` along ``v``."""
    us = [Tensor._wrap(np.zeros_like(o._data), requires_grad=True) for o in outs]
    live = [(o, u) for o, u in zip(outs, us) if o._requires_grad]
    if not live:
        return [_zeros_for(o) for o in outs]
    g = _autograd_grad([o for o, _ in live], inputs, [u for _, u in live], retain_graph=True,
                       create_graph=True, allow_unused=True)
    pairs = [(gi, t) for gi, t in zip(g, tangents) if gi is not None and gi._requires_grad]
    if not pairs:
        return [_zeros_for(o) for o in outs]
    jv = _autograd_grad([p for p, _ in pairs], us, [t for _, t in pairs], retain_graph=True,
                        create_graph=keep, allow_unused=True)
    return [_zeros_for(o) if j is None else j for o, j in zip(outs, jv)]


def _jacobian_rows(outs, inputs, keep):
    """Reverse mode: for each output, a list (one per input) of Jacobians
    ``out.shape + in.shape``, one backward pass per output element."""
    result = []
    for o in outs:
        n = o.numel()
        rows = [[] for _ in inputs]
        for e in range(n):
            basis = np.zeros(n, dtype=o._data.dtype)
            basis[e] = 1
            gs = _grad_list([o], inputs, [Tensor._wrap(basis.reshape(o._data.shape))], keep)
            for r, gx in zip(rows, gs):
                r.append(gx)
        jac = []
        for x, r in zip(inputs, rows):
            if n == 0:
                jac.append(Tensor._wrap(np.zeros(tuple(o.shape) + tuple(x.shape),
                                                 dtype=o._data.dtype)))
            else:
                jac.append(stack(r).reshape(tuple(o.shape) + tuple(x.shape)))
        result.append(jac)
    return result


def _jvp_values(outs, inputs, tangents, keep):
    try:
        return _double_vjp(outs, inputs, tangents, keep)
    except (NotImplementedError, RuntimeError) as e:
        if not _no_double_backward(e):
            raise
    rows = _jacobian_rows(outs, inputs, keep)
    result = []
    for o, jac in zip(outs, rows):
        total = None
        for j, t, x in zip(jac, tangents, inputs):
            flat = j.reshape(o.numel(), x.numel()) @ t.reshape(x.numel())
            total = flat if total is None else total + flat
        result.append(total.reshape(tuple(o.shape)))
    return result


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """Returns ``(func(*primals), J @ tangents)``: the Jacobian-vector product of ``func`` at
    ``primals`` along ``tangents`` (both tuples, one entry per argument). With ``has_aux`` a
    third element, the auxiliary output, is returned."""
    if strict:
        raise RuntimeError("jvp(f, primals, tangents, strict=True): strict is not supported")
    if not isinstance(primals, tuple):
        raise RuntimeError(
            f"jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be "
            f"valid to call f(*primals). Got: {type(primals)}")
    if not isinstance(tangents, tuple):
        raise RuntimeError(
            f"jvp(f, primals, tangents): Expected tangents to be a tuple. Got: {type(tangents)}")
    p_leaves, p_spec = tree_flatten(primals)
    t_leaves, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals and tangents to have the same python "
            f"structure. For example, if primals is a tuple of 3 tensors, tangents also must be. "
            f"Got primals with structure {p_spec} and tangents with structure {t_spec}")
    for p, t in zip(p_leaves, t_leaves):
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(
                "Trying to set a forward gradient that has a different size than that of the "
                f"original Tensor, this is not supported. Tensor is of size {list(p.shape)} "
                f"while the given forward gradient is of size {list(t.shape)}.")
    with _Level():
        prep = _Prepared(primals, tuple(range(len(primals))), "jvp")
        out = func(*prep.args)
        out, aux = _split_aux(out, has_aux, "jvp")
        outs, spec = _flat_outputs(out, "jvp(f, primals, tangents)")
        keep = prep.keep
        jv = _jvp_values(outs, prep.inputs, t_leaves, keep)
    primal_out = tree_unflatten([_unwrap(o, keep) for o in outs], spec)
    tangent_out = tree_unflatten([_unwrap(j, keep) for j in jv], spec)
    if has_aux:
        return primal_out, tangent_out, aux
    return primal_out, tangent_out


def _assemble(outs_spec, per_output, prep):
    """Jacobians arranged as torch.func arranges them: the output's structure, each leaf the
    structure of the chosen arguments."""
    leaves = [prep.structure(jacs) for jacs in per_output]
    return tree_unflatten(leaves, outs_spec)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """Returns a function computing the Jacobian of ``func`` with respect to the arguments
    selected by ``argnums`` using reverse mode (one backward pass per output element).
    Each Jacobian has shape ``output.shape + input.shape``."""
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _Level():
            prep = _Prepared(args, argnums, "jacrev")
            out = func(*prep.args, **kwargs)
            out, aux = _split_aux(out, has_aux, "jacrev")
            outs, spec = _flat_outputs(out, "jacrev(f, ...)(*args)")
            rows = _jacobian_rows(outs, prep.inputs, prep.keep)
        rows = [[_unwrap(j, prep.keep) for j in r] for r in rows]
        result = _assemble(spec, rows, prep)
        if has_aux:
            return result, aux
        return result

    return wrapper


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """Returns a function computing the Jacobian of ``func`` with respect to the arguments
    selected by ``argnums`` in forward mode (one Jacobian-vector product per input element;
    see the module docstring for how numtorch computes them). Each Jacobian has shape
    ``output.shape + input.shape``."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. Got "
            f"{randomness}")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _Level():
            prep = _Prepared(args, argnums, "jacfwd")
            out = func(*prep.args, **kwargs)
            out, aux = _split_aux(out, has_aux, "jacfwd")
            outs, spec = _flat_outputs(out, "jacfwd(f, ...)(*args)")
            per_output = _jacobian_columns(outs, prep.inputs, prep.keep)
        per_output = [[_unwrap(j, prep.keep) for j in r] for r in per_output]
        result = _assemble(spec, per_output, prep)
        if has_aux:
            return result, aux
        return result

    return wrapper


def _jacobian_columns(outs, inputs, keep):
    try:
        return _double_vjp_columns(outs, inputs, keep)
    except (NotImplementedError, RuntimeError) as e:
        if not _no_double_backward(e):
            raise
    return _jacobian_rows(outs, inputs, keep)


def _double_vjp_columns(outs, inputs, keep):
    us = [Tensor._wrap(np.zeros_like(o._data), requires_grad=True) for o in outs]
    live = [(o, u) for o, u in zip(outs, us) if o._requires_grad]
    g = (_autograd_grad([o for o, _ in live], inputs, [u for _, u in live],
                        retain_graph=True, create_graph=True, allow_unused=True)
         if live else [None] * len(inputs))
    per_output = [[None] * len(inputs) for _ in outs]
    for i, (x, gi) in enumerate(zip(inputs, g)):
        n = x.numel()
        columns = [[] for _ in outs]
        for e in range(n):
            if gi is None or not gi._requires_grad:
                for k, o in enumerate(outs):
                    columns[k].append(_zeros_for(o))
                continue
            basis = np.zeros(n, dtype=x._data.dtype)
            basis[e] = 1
            jv = _autograd_grad([gi], us, [Tensor._wrap(basis.reshape(x._data.shape))],
                                retain_graph=True, create_graph=keep, allow_unused=True)
            for k, (o, j) in enumerate(zip(outs, jv)):
                columns[k].append(_zeros_for(o) if j is None else j)
        for k, o in enumerate(outs):
            if n == 0:
                jac = Tensor._wrap(np.zeros(tuple(o.shape) + tuple(x.shape), dtype=o._data.dtype))
            else:
                # columns: n tensors of o.shape -> (n, *o.shape) -> o.shape + x.shape
                col = stack(columns[k])
                jac = col.reshape(n, o.numel()).t().reshape(tuple(o.shape) + tuple(x.shape))
            per_output[k][i] = jac
    return per_output


def hessian(func, argnums=0):
    """Returns a function computing the Hessian of the scalar function ``func`` with respect to
    the arguments selected by ``argnums`` (``jacfwd(jacrev(func))``)."""
    return jacfwd(jacrev(func, argnums), argnums)
