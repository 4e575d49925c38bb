"""How tensors travel between processes: a tensor in shared memory by its handle, not a copy.

Registered with :class:`multiprocessing.reduction.ForkingPickler`, the pickler of
``multiprocessing`` (Queue, Pipe, the arguments of a ``spawn``/``forkserver`` Process). A tensor
that :meth:`~numtorch.Tensor.share_memory_` put in shared memory is sent as the name of its
mapping, so the receiver works on the same memory; any other tensor is sent by value (PyTorch
would first move it into shared memory). ``torch.save`` and plain ``pickle`` are not affected.
"""

from multiprocessing.reduction import ForkingPickler

from .._tensor import Tensor
from ..nn.parameter import Parameter
from . import _shm

__all__ = ["init_reductions"]


def _rebuild_shared(cls, handle, requires_grad):
    data = _shm.rebuild(*handle)
    if cls is Tensor:
        t = Tensor._wrap(data)
        if requires_grad:
            t._requires_grad = True
        return t
    return cls(Tensor._wrap(data), requires_grad)


def _reduce_tensor(tensor):
    if _shm.is_shared(tensor._data):
        return (_rebuild_shared, (type(tensor), _shm.handle(tensor._data),
                                  tensor._requires_grad))
    return tensor.__reduce_ex__(4)


def init_reductions():
    """Register the tensor reducers with ``multiprocessing``'s pickler."""
    for cls in (Tensor, Parameter):
        ForkingPickler.register(cls, _reduce_tensor)
