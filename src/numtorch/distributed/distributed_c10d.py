"""Process groups and collectives (``torch.distributed``'s API) on MPI.

Both backend names PyTorch uses on CPUs, ``"gloo"`` and ``"mpi"``, run on MPI through mpi4py. The
processes of a job are MPI's ``COMM_WORLD``: started by ``numtorch run --nproc-per-node N``, by
``mpiexec -n N``, or by any MPI launcher. The ``env://`` variables (``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT``) are read and checked against MPI's view, but the transport is MPI.

Collectives work in place on the tensor's NumPy buffer through mpi4py's buffer interface (no
pickling). Every blocking call is a non-blocking MPI request waited on with a deadline: the
process group's ``timeout``. A rank that waits longer raises :class:`DistBackendError`; an
uncaught error in any rank ends the whole job (``MPI_Abort``), so no rank is left hanging.
"""

import atexit
import datetime
import enum
import os
import pickle
import sys
import time
import traceback
import warnings
from typing import Any

import numpy as np

from .._tensor import Tensor
from . import _mpi

__all__ = [
    "Backend", "DistBackendError", "DistError", "GroupMember", "P2POp", "ProcessGroup", "ReduceOp",
    "Work", "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce",
    "all_to_all", "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast",
    "broadcast_object_list", "default_pg_timeout", "destroy_process_group", "gather",
    "gather_object", "get_backend", "get_global_rank", "get_group_rank", "get_node_local_rank",
    "get_process_group_ranks", "get_rank", "get_world_size", "group", "init_process_group",
    "irecv", "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
    "is_torchelastic_launched", "isend", "monitored_barrier", "new_group", "recv", "reduce",
    "reduce_scatter", "reduce_scatter_tensor", "scatter", "scatter_object_list", "send",
]

default_pg_timeout = datetime.timedelta(minutes=30)


class DistError(RuntimeError):
    """An error in the distributed library (``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """An error in the communication backend, a timeout included."""


class ReduceOp:
    """The reduction of :func:`all_reduce`, :func:`reduce` and :func:`reduce_scatter`."""

    class RedOpType(enum.IntEnum):
        SUM = 0
        AVG = 1
        PRODUCT = 2
        MIN = 3
        MAX = 4
        BAND = 5
        BOR = 6
        BXOR = 7
        PREMUL_SUM = 8

    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM


class Backend(str):
    """A backend name: ``Backend.GLOO == "gloo"``, ``Backend.MPI == "mpi"``."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, got {name!r}")
        return super().__new__(cls, name.lower())


class ProcessGroup:
    """A set of ranks that run collectives together: an MPI communicator.

    ``rank()`` and ``size()`` are this process's rank in the group and the group's size.
    """

    def __init__(self, comm, ranks, timeout, backend):
        self._comm = comm
        self._ranks = list(ranks)  # global ranks, in group-rank order
        self._timeout = timeout
        self._backend = backend

    def rank(self):
        return self._comm.Get_rank()

    def size(self):
        return self._comm.Get_size()

    def name(self):
        return self._backend

    def __repr__(self):
        return f"<numtorch.distributed.ProcessGroup ranks={self._ranks} backend={self._backend}>"


class _NonMember:
    def __repr__(self):
        return "GroupMember.NON_GROUP_MEMBER"


class _WorldAttr(type):
    @property
    def WORLD(cls):
        return _state.default


class GroupMember(metaclass=_WorldAttr):
    """``GroupMember.WORLD`` (the default group) and ``GroupMember.NON_GROUP_MEMBER``."""

    NON_GROUP_MEMBER = _NonMember()


class group(metaclass=_WorldAttr):
    """``group.WORLD``: the default process group (``None`` before initialisation)."""


class _State:
    default = None
    backend = None
    groups: tuple[()] | list[Any] = ()
    broken = False  # a collective timed out: the job cannot finish cleanly
    hooked = False


_state = _State()
_state.groups = []


# ----------------------------------------------------------------------------- setup

def is_available():
    """Whether ``numtorch.distributed`` can run here: mpi4py is installed."""
    return _mpi.is_available()


def is_mpi_available():
    return _mpi.is_available()


def is_gloo_available():
    """``"gloo"`` is served by MPI as well."""
    return _mpi.is_available()


def is_nccl_available():
    return False


def is_torchelastic_launched():
    """Whether this process was started by ``torchrun`` or ``numtorch run --nproc-per-node``."""
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


def is_initialized():
    """Whether the default process group has been initialised."""
    return _state.default is not None


def _backend_name(backend):
    if backend is None:
        return Backend.GLOO
    name = str(backend).lower()
    # "cpu:gloo,cuda:nccl": the CPU entry is what runs here
    if ":" in name:
        parts = dict(p.split(":", 1) for p in name.split(",") if ":" in p)
        name = parts.get("cpu", name)
    if name in ("gloo", "mpi"):
        return Backend(name)
    if name == "nccl":
        raise RuntimeError("Distributed package doesn't have NCCL built in")
    raise ValueError(f"Invalid backend: '{backend}'")


def _env_int(name):
    value = os.environ.get(name)
    if value is None:
        raise ValueError(f"Error initializing torch.distributed using env:// rendezvous: "
                         f"environment variable {name} expected, but not set")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"Error initializing torch.distributed using env:// rendezvous: "
                         f"environment variable {name} is not an integer: {value!r}") from None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Initialise the default process group.

    The processes are those of MPI's ``COMM_WORLD``. ``rank``/``world_size`` (arguments, or
    ``RANK``/``WORLD_SIZE`` for ``init_method="env://"``) must agree with MPI's; a process
    started by an MPI launcher without them takes MPI's values.

    Args:
        backend (str, optional): ``"gloo"`` (default) or ``"mpi"``; both run on MPI.
        init_method (str, optional): ``"env://"`` (default), ``"tcp://…"`` or ``"file://…"``;
            the address is not used, MPI connects the processes.
        timeout (datetime.timedelta, optional): how long a collective may wait for the other
            ranks before it raises (default 30 minutes).
        world_size (int, optional): number of processes.
        rank (int, optional): rank of this process.
    """
    if _state.default is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if timeout is None:
        timeout = default_pg_timeout
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got "
                        f"{timeout!r}")
    if store is not None and (world_size <= 0 or rank < 0):
        raise ValueError("world_size and rank must be specified when store is given")
    launched = _mpi.launcher_env()
    env_method = init_method is None or str(init_method).startswith("env://")
    if rank < 0 and env_method and (launched is None or "RANK" in os.environ):
        rank = _env_int("RANK")
    if world_size < 0 and env_method and (launched is None or "WORLD_SIZE" in os.environ):
        world_size = _env_int("WORLD_SIZE")
    name = _backend_name(backend)  # after the rendezvous variables, as PyTorch checks them
    if launched is None and world_size > 1:
        raise RuntimeError(
            f"numtorch.distributed: a process group of {world_size} processes needs its "
            f"processes started by MPI; launch the program with 'numtorch run "
            f"--nproc-per-node {world_size} SCRIPT' or 'mpiexec -n {world_size} python SCRIPT', "
            f"or start the processes with torch.multiprocessing.spawn (which uses mpiexec)")
    MPI = _mpi.mpi(timeout.total_seconds() if launched is not None else None)
    world = MPI.COMM_WORLD
    if world_size >= 0 and world_size != world.Get_size():
        raise RuntimeError(f"numtorch.distributed: world_size={world_size} but MPI started "
                           f"{world.Get_size()} processes")
    if rank >= 0 and rank != world.Get_rank():
        raise RuntimeError(f"numtorch.distributed: rank={rank} but this is MPI rank "
                           f"{world.Get_rank()} (RANK must follow the MPI launcher's order)")
    if world.Get_size() > 1:
        _install_fault_handlers()
    # every rank must get here: a barrier with the timeout first, as Dup itself cannot time out
    _wait([world.Ibarrier()], timeout, "init_process_group",
          f"MPI's COMM_WORLD ({world.Get_size()} processes)")
    comm = world.Dup()  # the library's own traffic never mixes with the program's MPI use
    pg = ProcessGroup(comm, range(world.Get_size()), timeout, name)
    _state.default, _state.backend, _state.broken = pg, name, False
    _state.groups = [pg]
    return None


def destroy_process_group(group=None):
    """Destroy ``group``, or every group and the default one when ``group`` is ``None``."""
    if group is None or group is _state.default:
        for pg in _state.groups:
            _free(pg)
        _state.default, _state.backend = None, None
        _state.groups = []
        return
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    _free(group)
    if group in _state.groups:
        _state.groups.remove(group)


def _free(pg):
    comm, pg._comm = pg._comm, None
    if comm is not None and not _state.broken:
        try:
            comm.Free()
        except Exception:  # noqa: BLE001 - a communicator MPI already took down
            pass


def _default():
    if _state.default is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    return _state.default


def _group(group):
    pg = _default() if group is None else group
    if pg is not GroupMember.NON_GROUP_MEMBER and pg._comm is None:
        raise ValueError("The given process group has been destroyed")
    return pg


def _not_member(pg, what):
    if pg is GroupMember.NON_GROUP_MEMBER:
        warnings.warn(f"Running {what} on global rank {get_rank()} which does not belong to the "
                      f"given group.", UserWarning, stacklevel=3)
        return True
    return False


def get_backend(group=None):
    """The backend name of ``group`` (``"gloo"`` or ``"mpi"``)."""
    pg = _group(group)
    if pg is GroupMember.NON_GROUP_MEMBER:
        raise ValueError("Invalid process group specified")
    return pg._backend


def get_rank(group=None):
    """This process's rank in ``group`` (-1 when it is not a member)."""
    pg = _group(group)
    return -1 if pg is GroupMember.NON_GROUP_MEMBER else pg.rank()


def get_world_size(group=None):
    """The number of processes in ``group`` (-1 when this process is not a member)."""
    pg = _group(group)
    return -1 if pg is GroupMember.NON_GROUP_MEMBER else pg.size()


def get_node_local_rank(fallback_rank=None):
    """This process's rank on its host: ``LOCAL_RANK``, else ``fallback_rank``."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError(
        "LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
        "`get_node_local_rank` to work, assuming you are not running in a multi-device context "
        "and want the code to run locally instead.")


def get_process_group_ranks(group):
    """The global ranks of the members of ``group``, in group order."""
    return list(_group(group)._ranks)


def get_global_rank(group, group_rank):
    pg = _group(group)
    if not 0 <= group_rank < len(pg._ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
    return pg._ranks[group_rank]


def get_group_rank(group, global_rank):
    pg = _group(group)
    if global_rank not in pg._ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg}")
    return pg._ranks.index(global_rank)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False, group_desc=None, device_id=None,
              sort_ranks=True):
    """A new group of the global ``ranks`` (all by default): every rank must call it."""
    world = _default()
    n = world.size()
    ranks = list(range(n)) if ranks is None else [int(r) for r in ranks]
    if sort_ranks:
        ranks = sorted(ranks)
    for r in ranks:
        if not 0 <= r < n:
            raise ValueError(f"The new group's rank should be within the world_size set by "
                             f"init_process_group (got {r}, world_size {n})")
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"ranks must be unique, got {ranks}")
    MPI = _mpi.mpi()
    me = world.rank()
    member = me in ranks
    _wait([world._comm.Ibarrier()], world._timeout, "new_group", world)  # Split cannot time out
    comm = world._comm.Split(0 if member else MPI.UNDEFINED, ranks.index(me) if member else 0)
    if not member:
        return GroupMember.NON_GROUP_MEMBER
    name = _backend_name(backend) if backend is not None else world._backend
    pg = ProcessGroup(comm, ranks, timeout or world._timeout, name)
    _state.groups.append(pg)
    return pg


# ----------------------------------------------------------------------------- waiting

class Work:
    """A collective or point-to-point operation in flight (``async_op=True``, ``isend``)."""

    def __init__(self, requests, pg, what, finish=None, result=(), statuses=None):
        self._requests = list(requests)
        self._statuses = statuses
        self._pg = pg
        self._what = what
        self._finish = finish
        self._result = list(result)
        self._done = False
        self._exception = None

    def _complete(self):
        self._done = True
        finish, self._finish = self._finish, None
        if finish is not None:
            finish()

    def is_completed(self):
        """Whether the operation has finished (without waiting)."""
        if not self._done and _mpi.mpi().Request.Testall(self._requests, self._statuses):
            self._complete()
        return self._done

    def wait(self, timeout=None):
        """Wait for the operation; raise :class:`DistBackendError` after the timeout."""
        if not self._done:
            limit = self._pg._timeout if timeout is None else timeout
            try:
                _wait(self._requests, limit, self._what, self._pg, self._statuses)
            except DistBackendError as e:
                self._exception = e
                raise
            self._complete()
        return True

    def is_success(self):
        return self._done and self._exception is None

    def exception(self):
        return self._exception

    def result(self):
        """The output tensors of the operation."""
        return list(self._result)

    def source_rank(self):
        """The rank a receive got its data from."""
        return getattr(self, "_source", -1)

    def get_future(self):
        """A future that completes with :meth:`result` once the operation is waited on."""
        return _Future(self)

    def synchronize(self):
        self.wait()


class _Future:
    def __init__(self, work):
        self._work = work

    def wait(self):
        self._work.wait()
        return self._work.result()

    def value(self):
        return self.wait()

    def done(self):
        return self._work.is_completed()

    def then(self, callback):
        parent = self

        class _Then(_Future):
            def wait(self):
                parent.wait()
                return callback(parent)

        return _Then(self._work)


def _timeout_error(what, limit, pg):
    return DistBackendError(
        f"numtorch.distributed: rank {_world_rank()} timed out after {limit} waiting for {what} "
        f"in {pg}: another rank died, raised an error or did not enter the same call")


def _world_rank():
    try:
        return _mpi.mpi().COMM_WORLD.Get_rank()
    except RuntimeError:
        return 0


# How long a wait keeps polling MPI before it starts to sleep between polls. MPI moves a large
# message in rounds that both ranks must poll for, so a rank that slept between rounds would
# stretch one all-reduce of LeNet's gradients to milliseconds; ``sched_yield`` between polls
# hands the core to the other rank where the two share one.
SPIN_SECONDS = 0.002


def _wait(requests, limit, what, pg, statuses=None):
    """Wait for all ``requests``; :class:`DistBackendError` when ``limit`` passes first."""
    Request = _mpi.mpi().Request
    if Request.Testall(requests, statuses):
        return
    now = time.monotonic()
    seconds = limit.total_seconds() if isinstance(limit, datetime.timedelta) else float(limit)
    deadline, spin_until = now + seconds, now + SPIN_SECONDS
    yield_ = getattr(os, "sched_yield", lambda: None)
    while not Request.Testall(requests, statuses):
        now = time.monotonic()
        if now < spin_until:
            yield_()
            continue
        if now > deadline:
            _state.broken = True
            raise _timeout_error(what, limit if isinstance(limit, datetime.timedelta)
                                 else datetime.timedelta(seconds=seconds), pg)
        time.sleep(2e-4)


def _run(requests, pg, what, async_op, finish=None, result=()):
    work = Work(requests, pg, what, finish, result)
    if async_op:
        return work
    work.wait()
    return None


# ----------------------------------------------------------------------------- buffers

def _check_tensor(tensor, name="tensor"):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"torch.Tensor\n             but got {type(tensor)} instead.")
    return tensor


def _buffer(tensor, for_reduce=False):
    """``(array, mpi_datatype, write_back)``: the tensor's own buffer when MPI can use it as is,
    else a contiguous (and, for reductions MPI cannot do on the dtype, widened) copy that
    ``write_back`` copies into the tensor afterwards."""
    data = tensor._data
    kind = _mpi.datatype(data.dtype)
    if kind is not None and data.flags.c_contiguous and (not for_reduce or data.dtype != bool):
        return data, kind, None
    if kind is None or (for_reduce and data.dtype == bool):
        wide = (np.float64 if data.dtype.kind == "f" else np.complex128 if data.dtype.kind == "c"
                else np.int64)
        if data.dtype.kind not in "biufc":
            raise TypeError(f"numtorch.distributed cannot communicate tensors of dtype "
                            f"{tensor.dtype}")
        tmp = np.ascontiguousarray(data, dtype=wide)
    else:
        tmp = np.ascontiguousarray(data)

    def write_back():
        tensor._data[...] = tmp.astype(data.dtype, copy=False) if tmp.dtype != data.dtype else tmp

    return tmp, _mpi.datatype(tmp.dtype), write_back


def _op(op):
    MPI = _mpi.mpi()
    try:
        op = ReduceOp.RedOpType(op)
    except ValueError:
        raise ValueError(f"Unknown reduce op {op!r}") from None
    table = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
             ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
             ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}
    if op not in table:
        raise ValueError(f"numtorch.distributed does not support {op!r}")
    return op, table[op]


def _finish_reduce(tensors_and_buffers, op, size):
    """After a reduction: divide for AVG, copy widened buffers back, bump versions."""
    def finish():
        for tensor, arr, write_back in tensors_and_buffers:
            if op == ReduceOp.AVG:
                if arr.dtype.kind in "fc":
                    arr /= size
                else:
                    arr //= size
            if write_back is not None:
                write_back()
            tensor._bump_version()
    return finish


def _src_in(pg, src, group_src, what="src"):
    if group_src is not None:
        if src is not None:
            raise ValueError(f"Can not specify both group_{what} and {what}")
        r = int(group_src)
        if not 0 <= r < pg.size():
            raise ValueError(f"Group rank {r} is not part of group {pg}")
        return r
    if src is None:
        src = 0
    if pg is _state.default:
        if not 0 <= src < pg.size():
            raise ValueError(f"Invalid {what} rank {src} for a world of size {pg.size()}")
        return src
    return get_group_rank(pg, src)


# ----------------------------------------------------------------------------- collectives

def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` across all ranks, in place on every rank."""
    _check_tensor(tensor)
    pg = _group(group)
    if _not_member(pg, "all_reduce"):
        return None
    op, mop = _op(op)
    if op == ReduceOp.AVG and tensor._data.dtype.kind not in "fc":
        raise RuntimeError("all_reduce with ReduceOp.AVG needs a floating point tensor")
    arr, kind, wb = _buffer(tensor, for_reduce=True)
    req = pg._comm.Iallreduce(_mpi.mpi().IN_PLACE, [arr, kind], mop)
    return _run([req], pg, "all_reduce", async_op,
                _finish_reduce([(tensor, arr, wb)], op, pg.size()), [tensor])


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduce ``tensor`` across all ranks into ``tensor`` on rank ``dst``."""
    _check_tensor(tensor)
    pg = _group(group)
    if _not_member(pg, "reduce"):
        return None
    root = _src_in(pg, dst, group_dst, "dst")
    op, mop = _op(op)
    arr, kind, wb = _buffer(tensor, for_reduce=True)
    MPI = _mpi.mpi()
    if pg.rank() == root:
        req = pg._comm.Ireduce(MPI.IN_PLACE, [arr, kind], mop, root)
        finish = _finish_reduce([(tensor, arr, wb)], op, pg.size())
    else:
        req = pg._comm.Ireduce([arr, kind], None, mop, root)
        finish = None
    return _run([req], pg, "reduce", async_op, finish, [tensor])


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy ``tensor`` of rank ``src`` into ``tensor`` on every other rank."""
    _check_tensor(tensor)
    pg = _group(group)
    if _not_member(pg, "broadcast"):
        return None
    root = _src_in(pg, src, group_src)
    arr, kind, wb = _buffer(tensor)
    req = pg._comm.Ibcast([arr, kind], root)
    mine = pg.rank() == root
    return _run([req], pg, "broadcast", async_op,
                _finish_reduce([(tensor, arr, None if mine else wb)], None, 1), [tensor])


def _same_shapes(tensors, like, what):
    for t in tensors:
        _check_tensor(t, what)
        if t._data.shape != like._data.shape or t._data.dtype != like._data.dtype:
            raise ValueError(f"{what}: every tensor must have the shape and dtype of the input "
                             f"({tuple(like._data.shape)}, {like.dtype}), got "
                             f"{tuple(t._data.shape)}, {t.dtype}")


def _copy_out(chunks, outputs):
    def finish():
        for out, chunk in zip(outputs, chunks):
            out._data[...] = chunk.reshape(out._data.shape)
            out._bump_version()
    return finish


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Gather ``tensor`` from every rank into ``tensor_list`` (one entry per rank)."""
    _check_tensor(tensor)
    pg = _group(group)
    if _not_member(pg, "all_gather"):
        return None
    if len(tensor_list) != pg.size():
        raise ValueError(f"all_gather: tensor_list must hold {pg.size()} tensors, got "
                         f"{len(tensor_list)}")
    _same_shapes(tensor_list, tensor, "tensor_list")
    send, kind, _ = _buffer(tensor)
    recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype)
    req = pg._comm.Iallgather([send, kind], [recv, kind])
    return _run([req], pg, "all_gather", async_op, _copy_out(list(recv), tensor_list),
                tensor_list)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Gather ``input_tensor`` from every rank into ``output_tensor``, concatenated along the
    first dimension (or stacked: shape ``(world_size, *input.shape)``)."""
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    pg = _group(group)
    if _not_member(pg, "all_gather_into_tensor"):
        return None
    if output_tensor._data.size != input_tensor._data.size * pg.size():
        raise ValueError("output tensor size must be equal to world_size times input tensor "
                         "size")
    send, kind, _ = _buffer(input_tensor)
    recv, _, wb = _buffer(output_tensor)
    req = pg._comm.Iallgather([send, kind], [recv, kind])
    return _run([req], pg, "all_gather_into_tensor", async_op,
                _finish_reduce([(output_tensor, recv, wb)], None, 1), [output_tensor])


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Gather ``tensor`` from every rank into ``gather_list`` on rank ``dst``."""
    _check_tensor(tensor)
    pg = _group(group)
    if _not_member(pg, "gather"):
        return None
    root = _src_in(pg, dst, group_dst, "dst")
    send, kind, _ = _buffer(tensor)
    if pg.rank() == root:
        if gather_list is None or len(gather_list) != pg.size():
            raise ValueError(f"gather: gather_list on the destination rank must hold "
                             f"{pg.size()} tensors")
        _same_shapes(gather_list, tensor, "gather_list")
        recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype)
        req = pg._comm.Igather([send, kind], [recv, kind], root)
        finish = _copy_out(list(recv), gather_list)
    else:
        if gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination "
                             "ranks.")
        req = pg._comm.Igather([send, kind], None, root)
        finish = None
    return _run([req], pg, "gather", async_op, finish, gather_list or [])


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Scatter the tensors of ``scatter_list`` on rank ``src``: rank ``i`` gets entry ``i``."""
    _check_tensor(tensor)
    pg = _group(group)
    if _not_member(pg, "scatter"):
        return None
    root = _src_in(pg, src, group_src)
    recv, kind, wb = _buffer(tensor)
    if pg.rank() == root:
        if scatter_list is None or len(scatter_list) != pg.size():
            raise ValueError(f"scatter: scatter_list on the source rank must hold {pg.size()} "
                             f"tensors")
        _same_shapes(scatter_list, tensor, "scatter_list")
        send = np.ascontiguousarray(np.stack([t._data for t in scatter_list]), dtype=recv.dtype)
        req = pg._comm.Iscatter([send, kind], [recv, kind], root)
    else:
        if scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source "
                             "ranks.")
        req = pg._comm.Iscatter(None, [recv, kind], root)
    return _run([req], pg, "scatter", async_op, _finish_reduce([(tensor, recv, wb)], None, 1),
                [tensor])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list`` across ranks; rank ``i`` gets the reduction of entry ``i``."""
    _check_tensor(output, "output")
    pg = _group(group)
    if _not_member(pg, "reduce_scatter"):
        return None
    if len(input_list) != pg.size():
        raise ValueError(f"reduce_scatter: input_list must hold {pg.size()} tensors")
    _same_shapes(input_list, output, "input_list")
    op, mop = _op(op)
    recv, kind, wb = _buffer(output, for_reduce=True)
    send = np.ascontiguousarray(np.stack([t._data for t in input_list]), dtype=recv.dtype)
    req = pg._comm.Ireduce_scatter_block([send, kind], [recv, kind], mop)
    return _run([req], pg, "reduce_scatter", async_op,
                _finish_reduce([(output, recv, wb)], op, pg.size()), [output])


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (``world_size`` chunks along the first dimension) across ranks; rank
    ``i`` gets the reduction of chunk ``i`` in ``output``."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = _group(group)
    if _not_member(pg, "reduce_scatter_tensor"):
        return None
    if input._data.size != output._data.size * pg.size():
        raise ValueError("input tensor must be the same size as output size times world size")
    op, mop = _op(op)
    recv, kind, wb = _buffer(output, for_reduce=True)
    send = np.ascontiguousarray(input._data, dtype=recv.dtype)
    req = pg._comm.Ireduce_scatter_block([send, kind], [recv, kind], mop)
    return _run([req], pg, "reduce_scatter_tensor", async_op,
                _finish_reduce([(output, recv, wb)], op, pg.size()), [output])


def _alltoallv(pg, send, send_counts, recv, recv_counts, kind):
    s_displ = np.concatenate([[0], np.cumsum(send_counts)[:-1]]).astype(int).tolist()
    r_displ = np.concatenate([[0], np.cumsum(recv_counts)[:-1]]).astype(int).tolist()
    return pg._comm.Ialltoallv([send, (list(send_counts), s_displ), kind],
                               [recv, (list(recv_counts), r_displ), kind])


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """Rank ``i`` sends ``input_tensor_list[j]`` to rank ``j``, which receives it into
    ``output_tensor_list[i]``."""
    pg = _group(group)
    if _not_member(pg, "all_to_all"):
        return None
    n = pg.size()
    if len(output_tensor_list) != n or len(input_tensor_list) != n:
        raise ValueError(f"all_to_all: both tensor lists must hold {n} tensors")
    for t in list(output_tensor_list) + list(input_tensor_list):
        _check_tensor(t)
    dtype = input_tensor_list[0]._data.dtype
    send = np.concatenate([np.ascontiguousarray(t._data, dtype=dtype).ravel()
                           for t in input_tensor_list])
    recv_counts = [t._data.size for t in output_tensor_list]
    recv = np.empty(sum(recv_counts), dtype=dtype)
    kind = _mpi.datatype(dtype)
    if kind is None:
        raise TypeError(f"numtorch.distributed cannot communicate tensors of dtype "
                        f"{input_tensor_list[0].dtype}")
    req = _alltoallv(pg, send, [t._data.size for t in input_tensor_list], recv, recv_counts, kind)
    chunks = np.split(recv, np.cumsum(recv_counts)[:-1])
    return _run([req], pg, "all_to_all", async_op, _copy_out(chunks, output_tensor_list),
                output_tensor_list)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op=False):
    """:func:`all_to_all` on single tensors split along the first dimension."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = _group(group)
    if _not_member(pg, "all_to_all_single"):
        return None
    n = pg.size()
    row_in = int(np.prod(input._data.shape[1:]))
    row_out = int(np.prod(output._data.shape[1:]))
    if input_split_sizes is None:
        if input._data.shape[0] % n:
            raise ValueError("all_to_all_single: the input's first dimension must divide by "
                             "world_size when input_split_sizes is not given")
        input_split_sizes = [input._data.shape[0] // n] * n
    if output_split_sizes is None:
        if output._data.shape[0] % n:
            raise ValueError("all_to_all_single: the output's first dimension must divide by "
                             "world_size when output_split_sizes is not given")
        output_split_sizes = [output._data.shape[0] // n] * n
    send = np.ascontiguousarray(input._data)
    recv, kind, wb = _buffer(output)
    req = _alltoallv(pg, send, [s * row_in for s in input_split_sizes], recv,
                     [s * row_out for s in output_split_sizes], kind)
    return _run([req], pg, "all_to_all_single", async_op,
                _finish_reduce([(output, recv, wb)], None, 1), [output])


def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    """Wait until every rank of ``group`` has reached the barrier."""
    pg = _group(group)
    if _not_member(pg, "barrier"):
        return None
    work = Work([pg._comm.Ibarrier()], pg, "barrier")
    if async_op:
        return work
    work.wait(timeout)
    return None


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A barrier that raises when a rank does not arrive within ``timeout``."""
    return barrier(group, timeout=timeout)


# ----------------------------------------------------------------------------- point to point

def _peer(pg, peer, group_peer, what):
    if group_peer is not None:
        return int(group_peer)
    if peer is None:
        raise ValueError(f"Must specify one of {what} or group_{what}")
    return get_group_rank(pg, peer) if pg is not _state.default else int(peer)


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to rank ``dst`` without waiting; returns a :class:`Work`."""
    _check_tensor(tensor)
    pg = _group(group)
    if _not_member(pg, "isend"):
        return None
    peer = _peer(pg, dst, group_dst, "dst")
    if peer == pg.rank():
        raise ValueError("Invalid destination rank: destination rank should not be the same as "
                         "the rank of the current process.")
    arr, kind, _ = _buffer(tensor)
    return Work([pg._comm.Isend([arr, kind], peer, tag)], pg, f"send to rank {dst}",
                result=[tensor])


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor`` from rank ``src`` (any rank when ``None``) without waiting."""
    _check_tensor(tensor)
    pg = _group(group)
    if _not_member(pg, "irecv"):
        return None
    MPI = _mpi.mpi()
    peer = MPI.ANY_SOURCE if src is None and group_src is None else _peer(pg, src, group_src,
                                                                          "src")
    arr, kind, wb = _buffer(tensor)
    status = MPI.Status()
    req = pg._comm.Irecv([arr, kind], peer, tag)
    work = Work([req], pg, f"recv from rank {src}", result=[tensor], statuses=[status])

    def finish():
        work._source = pg._ranks[status.Get_source()]
        if wb is not None:
            wb()
        tensor._bump_version()

    work._finish = finish
    return work


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to rank ``dst``."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor`` from rank ``src`` (any rank when ``None``); returns the sender's
    rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work.source_rank()


class P2POp:
    """A point-to-point operation for :func:`batch_isend_irecv`."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type "
                             "``torch.distributed.isend`` or ``torch.distributed.irecv``.")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list):
    """Start every operation of ``p2p_op_list``; returns their :class:`Work` handles."""
    works = []
    for p in p2p_op_list:
        if p.op is isend:
            works.append(isend(p.tensor, p.peer, p.group, p.tag, p.group_peer))
        else:
            works.append(irecv(p.tensor, p.peer, p.group, p.tag, p.group_peer))
    return works


# ----------------------------------------------------------------------------- objects

def _to_bytes(obj):
    return np.frombuffer(pickle.dumps(obj), dtype=np.uint8)


def _from_bytes(arr):
    return pickle.loads(arr.tobytes())


def _allgather_bytes(pg, payload, what):
    MPI = _mpi.mpi()
    n = pg.size()
    sizes = np.zeros(n, dtype=np.int64)
    mine = np.array([payload.size], dtype=np.int64)
    _wait([pg._comm.Iallgather([mine, MPI.INT64_T], [sizes, MPI.INT64_T])], pg._timeout, what,
          pg)
    recv = np.empty(int(sizes.sum()), dtype=np.uint8)
    displ = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
    _wait([pg._comm.Iallgatherv([payload, MPI.BYTE], [recv, (sizes.tolist(), displ), MPI.BYTE])],
          pg._timeout, what, pg)
    return [recv[d:d + s] for d, s in zip(displ, sizes.tolist())]


def all_gather_object(object_list, obj, group=None):
    """Gather the picklable ``obj`` of every rank into ``object_list``."""
    pg = _group(group)
    if _not_member(pg, "all_gather_object"):
        return
    if len(object_list) != pg.size():
        raise ValueError(f"all_gather_object: object_list must have {pg.size()} entries")
    for i, chunk in enumerate(_allgather_bytes(pg, _to_bytes(obj), "all_gather_object")):
        object_list[i] = _from_bytes(chunk)


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """Gather the picklable ``obj`` of every rank into ``object_gather_list`` on ``dst``."""
    pg = _group(group)
    if _not_member(pg, "gather_object"):
        return
    root = _src_in(pg, dst, group_dst, "dst")
    chunks = _allgather_bytes(pg, _to_bytes(obj), "gather_object")
    if pg.rank() == root:
        if object_gather_list is None or len(object_gather_list) != pg.size():
            raise ValueError("gather_object: object_gather_list on the destination rank must "
                             f"have {pg.size()} entries")
        for i, chunk in enumerate(chunks):
            object_gather_list[i] = _from_bytes(chunk)


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Replace the entries of ``object_list`` by those of rank ``src`` (picklable objects)."""
    pg = _group(group)
    if _not_member(pg, "broadcast_object_list"):
        return
    MPI = _mpi.mpi()
    root = _src_in(pg, src, group_src)
    payload = _to_bytes(list(object_list)) if pg.rank() == root else None
    size = np.array([0 if payload is None else payload.size], dtype=np.int64)
    _wait([pg._comm.Ibcast([size, MPI.INT64_T], root)], pg._timeout, "broadcast_object_list", pg)
    if payload is None:
        payload = np.empty(int(size[0]), dtype=np.uint8)
    _wait([pg._comm.Ibcast([payload, MPI.BYTE], root)], pg._timeout, "broadcast_object_list",
          pg)
    if pg.rank() != root:
        received = _from_bytes(payload)
        if len(received) != len(object_list):
            raise ValueError("broadcast_object_list: object_list must have the same length on "
                             "every rank")
        object_list[:] = received


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None,
                        group=None, group_src=None):
    """Rank ``i`` receives ``scatter_object_input_list[i]`` of rank ``src`` into
    ``scatter_object_output_list[0]``."""
    pg = _group(group)
    if _not_member(pg, "scatter_object_list"):
        return
    if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    root = _src_in(pg, src, group_src)
    objects = [None]
    if pg.rank() == root:
        objects = [list(scatter_object_input_list)]
    broadcast_object_list(objects, src=None, group=pg, group_src=root)
    scatter_object_output_list[0] = objects[0][pg.rank()]


# ----------------------------------------------------------------------------- faults

def _install_fault_handlers():
    """An uncaught error in one rank ends the job: print it, then ``MPI_Abort``.

    Without it the other ranks would wait in their next collective until the timeout. A rank
    whose collective timed out also aborts at exit: MPI cannot finalise with a request that
    never completes.
    """
    if _state.hooked:
        return
    _state.hooked = True
    previous = sys.excepthook

    def excepthook(exc_type, exc, tb):
        if previous is not sys.__excepthook__ or issubclass(exc_type, SystemExit):
            previous(exc_type, exc, tb)
        else:
            # One write: mpiexec forwards output line by line and an abort can cut a traceback
            # printed in pieces short.
            sys.stderr.write("".join(traceback.format_exception(exc_type, exc, tb)))
        if issubclass(exc_type, (SystemExit,)):
            return
        _abort(1)

    sys.excepthook = excepthook
    atexit.register(_abort_if_broken)


def _abort_if_broken():
    if _state.broken:
        _abort(1)


def _abort(status):
    """End every rank of the job with ``status`` (``MPI_Abort`` on ``COMM_WORLD``)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    time.sleep(0.2)  # let mpiexec forward what this rank printed before the abort ends it
    _mpi.mpi().COMM_WORLD.Abort(int(status) or 1)
