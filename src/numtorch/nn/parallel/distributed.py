"""``DistributedDataParallel``: data-parallel training across the ranks of a process group.

Each rank runs the whole module on its own part of the batch. At construction the parameters and
buffers of rank 0 are broadcast to every rank. During backward, each parameter's gradient is
copied into a flat bucket as soon as it is accumulated (a post-accumulate-grad hook); a full
bucket starts a non-blocking all-reduce at once, so communication overlaps the rest of backward.
The last gradient of the step waits for the buckets and writes the averaged gradients back.
Buckets start in the same order on every rank, as MPI requires.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ... import distributed as dist
from ..._tensor import Tensor
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...autograd.node import AccumulateGrad
from ..modules.module import Module

if TYPE_CHECKING:
    from ..._device import device

__all__ = ["DistributedDataParallel"]

_MIB = 1024 * 1024
_FIRST_BUCKET_BYTES = _MIB  # torch.distributed._DEFAULT_FIRST_BUCKET_BYTES

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing loss. "
    "You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, and by \n"
    "making sure all `forward` function outputs participate in calculating loss. \n"
    "If you already have done the above, then the distributed data parallel module wasn't able "
    "to locate the output tensors in the return value of your module's `forward` function. "
    "Please include the loss function and the structure of the return value of `forward` of "
    "your module when reporting this issue (e.g. list, dict, iterable).")


class _Bucket:
    """Parameters whose gradients are reduced together in one flat buffer."""

    def __init__(self, params):
        self.params = params
        self.offsets = np.cumsum([0] + [p._data.size for p in params]).tolist()
        self.buffer = Tensor._wrap(np.zeros(self.offsets[-1], dtype=params[0]._data.dtype))
        self.pending = len(params)
        self.work = None

    def slot(self, i):
        return self.buffer._data[self.offsets[i]:self.offsets[i + 1]]


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the ranks of ``process_group``.

    Args:
        module (Module): the module to replicate; every rank builds the same one.
        device_ids, output_device: must be ``None`` (CPU modules).
        dim (int): unused on CPU (the batch is split by the program, e.g. with
            ``DistributedSampler``).
        broadcast_buffers (bool or None): deprecated spelling of ``forward_sync_buffers``;
            unlike it, ``False`` also leaves the buffers out of the sync at construction.
            Default: ``None``
        process_group (ProcessGroup, optional): the ranks to average over (the default group).
        bucket_cap_mb (float, optional): bucket size in MiB (default 25; with the default, the
            first bucket is 1 MiB).
        find_unused_parameters (bool): walk the autograd graph after forward and count the
            parameters it does not reach as ready, so a model that leaves some parameters unused
            in a step still finishes its reduction. Default: ``False``
        gradient_as_bucket_view, static_graph, batched_grad_copy: accepted; no effect here.
        bucket_cap_mb_list (list of int, optional): one size limit in MiB per bucket, in the
            order gradients become ready; the last applies to every later bucket. Overrides
            ``bucket_cap_mb``.
        forward_sync_buffers (bool or None): copy rank 0's buffers to every rank at the start of
            each ``forward``. Buffers are synced at construction either way. ``None`` means
            ``True``. Default: ``None``
    """

    def __init__(self, module: Module, device_ids: Sequence[int | device] | None = None,
                 output_device: int | device | None = None, dim: int = 0,
                 broadcast_buffers: bool | None = None, init_sync: bool = True,
                 process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, delay_all_reduce_named_params: Any = None,
                 param_to_hook_all_reduce: Any = None, mixed_precision: Any = None,
                 device_mesh: Any = None, skip_all_reduce_unused_params: bool = False,
                 bucket_cap_mb_list: list[int] | None = None, batched_grad_copy: bool = False,
                 forward_sync_buffers: bool | None = None) -> None:
        super().__init__()
        params: list[Tensor] = []
        for p in module.parameters():
            if p.requires_grad and all(p is not q for q in params):
                params.append(p)
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        if device_ids or output_device is not None:
            raise ValueError(
                f"DistributedDataParallel device_ids and output_device arguments only work with "
                f"single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                f"{device_ids}, output_device {output_device}, and module parameters "
                f"{{device(type='cpu')}}.")
        self.module = module
        self.process_group = process_group if process_group is not None else \
            dist.distributed_c10d._default()
        self.device_ids = None
        self.output_device = None
        self.dim = dim
        if broadcast_buffers is not None:
            if forward_sync_buffers is not None:
                warnings.warn("Both `broadcast_buffers` and `forward_sync_buffers` were specified. "
                              "`broadcast_buffers` is deprecated and its value is ignored when "
                              "`forward_sync_buffers` is provided.", FutureWarning, stacklevel=2)
            else:
                warnings.warn(
                    "`broadcast_buffers` is deprecated. Use `forward_sync_buffers` instead. "
                    "IMPORTANT: unlike `broadcast_buffers=False`, `forward_sync_buffers=False` "
                    "still syncs buffers at init. If you rely on buffers NOT being synced at init "
                    "(e.g. rank-local buffers), keep using `broadcast_buffers=False` until "
                    "`init_sync_buffers` is available.", FutureWarning, stacklevel=2)
        if forward_sync_buffers is not None:
            self.forward_sync_buffers = forward_sync_buffers
            init_sync_buffers = True
        else:
            self.forward_sync_buffers = True if broadcast_buffers is None else broadcast_buffers
            init_sync_buffers = self.forward_sync_buffers
        self.batched_grad_copy = batched_grad_copy
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self._params = params
        if bucket_cap_mb_list:
            caps = [int(mb * _MIB) for mb in bucket_cap_mb_list]
            self.bucket_bytes_cap = max(caps)
        else:
            self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * _MIB)
            first = _FIRST_BUCKET_BYTES if bucket_cap_mb is None else self.bucket_bytes_cap
            caps = [first, self.bucket_bytes_cap]
        self.bucket_bytes_cap_list = caps if bucket_cap_mb_list else []
        self._buckets = self._make_buckets(params, caps)
        self._where = {}
        for b, bucket in enumerate(self._buckets):
            for i, p in enumerate(bucket.params):
                self._where[id(p)] = (b, i)
        self._used = np.zeros(len(params), dtype=np.int32)
        self._index = {id(p): k for k, p in enumerate(params)}
        self._expecting = False
        self._next_bucket = 0
        self._check_shapes()
        if init_sync:
            self._sync_module_states(init_sync_buffers)
        self._grad_hooks = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _make_buckets(params, caps):
        """Group parameters, in reverse order (roughly the order backward produces their
        gradients), into buckets of one dtype up to the size caps."""
        buckets, current, size, dtype = [], [], 0, None
        for p in reversed(params):
            cap = caps[min(len(buckets), len(caps) - 1)]
            if current and (p._data.dtype != dtype or size + p._data.nbytes > cap):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p._data.nbytes
            dtype = p._data.dtype
        if current:
            buckets.append(_Bucket(current))
        return buckets

    def _check_shapes(self):
        shapes = [(tuple(p._data.shape), p._data.dtype.str) for p in self._params]
        everyone = [None] * dist.get_world_size(self.process_group)
        dist.all_gather_object(everyone, shapes, group=self.process_group)
        for rank, theirs in enumerate(everyone):
            if theirs != shapes:
                raise RuntimeError(
                    f"DDP expects same model across all ranks, but Rank "
                    f"{dist.get_rank(self.process_group)} has {len(shapes)} params, while rank "
                    f"{rank} has inconsistent {len(theirs)} params or shapes.")

    @property
    def broadcast_buffers(self) -> bool:
        """Deprecated name of ``forward_sync_buffers``."""
        return self.forward_sync_buffers

    @broadcast_buffers.setter
    def broadcast_buffers(self, value: bool) -> None:
        self.forward_sync_buffers = value

    def _sync_module_states(self, buffers=True):
        """Give every rank rank 0's parameters and, with ``buffers``, its buffers."""
        tensors = [p for p in self.module.parameters()]
        if buffers:
            tensors += [b for b in self.module.buffers() if b is not None]
        self._broadcast_coalesced(tensors)

    def _broadcast_coalesced(self, tensors):
        src = dist.get_global_rank(self.process_group, 0)
        by_dtype = {}
        for t in tensors:
            if all(t is not u for u in by_dtype.get(t._data.dtype, [])):
                by_dtype.setdefault(t._data.dtype, []).append(t)
        with no_grad():
            for group in by_dtype.values():
                flat = Tensor._wrap(np.concatenate([t._data.ravel() for t in group]))
                dist.broadcast(flat, src=src, group=self.process_group)
                start = 0
                for t in group:
                    n = t._data.size
                    t._data[...] = flat._data[start:start + n].reshape(t._data.shape)
                    start += n

    # ------------------------------------------------------------------ forward
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self._expecting and is_grad_enabled():
            raise RuntimeError(_UNFINISHED)
        if self.forward_sync_buffers and self.require_forward_param_sync:
            buffers = [b for b in self.module.buffers() if b is not None]
            if buffers:
                self._broadcast_coalesced(buffers)
        output = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._prepare_for_backward(output)
        return output

    def _prepare_for_backward(self, output):
        outputs = [t for t in _tensors_in(output) if t._requires_grad]
        if not outputs:
            return
        for bucket in self._buckets:
            bucket.pending = len(bucket.params)
            bucket.work = None
        self._next_bucket = 0
        self._used[:] = 1
        self._ready = set()
        self._expecting = True
        if self.find_unused_parameters:
            reached = _reachable_leaves(outputs)
            for p in self._params:
                if id(p) not in reached:
                    self._used[self._index[id(p)]] = 0
                    self._mark_ready(p, None)

    def _grad_ready(self, param):
        if not self._expecting or id(param) in self._ready:
            return
        self._mark_ready(param, param._grad)

    def _mark_ready(self, param, grad):
        self._ready.add(id(param))
        b, i = self._where[id(param)]
        bucket = self._buckets[b]
        slot = bucket.slot(i)
        if grad is None:
            slot[...] = 0
        else:
            np.copyto(slot, grad._data.reshape(-1))
        bucket.pending -= 1
        self._launch_ready_buckets()

    def _launch_ready_buckets(self):
        buckets = self._buckets
        while self._next_bucket < len(buckets) and buckets[self._next_bucket].pending == 0:
            bucket = buckets[self._next_bucket]
            bucket.buffer._data *= 1.0 / dist.get_world_size(self.process_group)
            bucket.work = dist.all_reduce(bucket.buffer, group=self.process_group, async_op=True)
            self._next_bucket += 1
        for bucket in buckets[:self._next_bucket]:  # give MPI a chance to progress
            bucket.work.is_completed()
        if self._next_bucket == len(buckets):
            self._finish_reduction()

    def _finish_reduction(self):
        self._expecting = False
        used = self._used
        if self.find_unused_parameters:
            flags = Tensor._wrap(self._used.copy())
            dist.all_reduce(flags, group=self.process_group)
            used = flags._data
        for bucket in self._buckets:
            bucket.work.wait()
            for i, p in enumerate(bucket.params):
                k = self._index[id(p)]
                if not used[k]:
                    continue  # no rank used it: its gradient stays as it was
                reduced = bucket.slot(i).reshape(p._data.shape)
                if p._grad is None:
                    p._grad = Tensor._wrap(reduced.copy())
                else:
                    p._grad._data[...] = reduced
                    p._grad._bump_version()

    # ------------------------------------------------------------------ API
    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Accumulate gradients locally, without reducing them, inside this context; the first
        backward after it reduces the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def extra_repr(self) -> str:
        return ""


def _tensors_in(obj):
    """The tensors in a (nested) forward output: tensors, tuples, lists, dicts."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors_in(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors_in(item)


def _reachable_leaves(outputs):
    """``id`` of every leaf tensor whose gradient the graph of ``outputs`` reaches."""
    seen, found = set(), set()
    stack = []
    for t in outputs:
        if t.grad_fn is not None:
            stack.append(t.grad_fn)
        else:
            found.add(id(t))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            found.add(id(node.variable))
            continue
        for nxt, _ in node.next_functions:
            if nxt is not None:
                stack.append(nxt)
    return found
