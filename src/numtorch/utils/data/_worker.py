"""What runs inside a DataLoader worker process, and the fetchers both sides share."""

import multiprocessing.queues
import os
import queue
import random
import sys
import traceback

import numpy as np

from ._collate import default_collate
from .dataset import _batch_source

__all__ = ["get_worker_info", "WorkerInfo"]

# How often (seconds) a blocked worker or loader wakes up to check that its peer is alive. The
# loader checks often, so that a worker killed by a signal is reported at once.
STATUS_CHECK_INTERVAL = 5.0
LOADER_CHECK_INTERVAL = 0.2

_worker_info = None


class WorkerInfo:
    """Facts about the current worker process: ``id``, ``num_workers``, ``seed``, ``dataset``."""

    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(
                f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self):
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


def get_worker_info():
    """In a DataLoader worker, a :class:`WorkerInfo`; in the main process, ``None``.

    An :class:`IterableDataset` uses it to give each worker its own share of the stream::

        info = get_worker_info()
        start = 0 if info is None else info.id
        step = 1 if info is None else info.num_workers
    """
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback text."""

    def __init__(self, exc_info, where):
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except TypeError:  # exception types that need more than a message
            raise RuntimeError(msg) from None
        raise exc


class KeyErrorMessage(str):
    """A str whose repr is itself, so a KeyError shows the traceback readably."""

    def __repr__(self):
        return self


class _IterableDatasetStopIteration:
    """Sent by a worker whose replica of an IterableDataset is exhausted."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class _ResumeIteration:
    """Sent to persistent workers at the start of a new epoch (and echoed back)."""


class DataQueue(multiprocessing.queues.Queue):
    """The workers' result queue: a batch that can't be pickled is answered with its error.

    ``multiprocessing.Queue`` pickles in a background thread; when that fails it only prints
    the error and drops the item, so the loader would wait for the batch forever. Here the
    worker sends the pickling error in its place, and the loader raises it.
    """

    def __init__(self, ctx):
        super().__init__(ctx=ctx)

    def _on_queue_feeder_error(self, e, obj):
        if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], int):
            where = "in DataLoader worker process"
            if _worker_info is not None:
                where += f" {_worker_info.id}"
            where += " while sending a batch (it can't be pickled)"
            self.put((obj[0], ExceptionWrapper((type(e), e, e.__traceback__), where)))
        else:
            super()._on_queue_feeder_error(e, obj)


# ---------------------------------------------------------------------------- fetchers
class _MapDatasetFetcher:
    """Fetch a batch (or one sample) of a map-style dataset and collate it."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self._batch_source = None
        if auto_collation and collate_fn is default_collate:
            self._batch_source = _batch_source(dataset)

    def fetch(self, index):
        if self._batch_source is not None:
            batch = self._fetch_whole_batch(index)
            if batch is not None:
                return batch
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if getitems else [self.dataset[i] for i in index]
        return self.collate_fn(data)

    def _fetch_whole_batch(self, index):
        """Fast path: the dataset builds the collated batch itself (see ``_batch_source``)."""
        idx = np.asarray(index)
        if idx.ndim != 1 or idx.dtype.kind not in "iu" or idx.size == 0:
            return None
        fetch, row_map = self._batch_source
        return fetch(idx if row_map is None else row_map[idx])


class _IterableDatasetFetcher:
    """Pull the next sample(s) of an IterableDataset and collate them."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.dataset_iter = iter(dataset)
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in possibly_batched_index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(possibly_batched_index)):
            raise StopIteration
        return self.collate_fn(data)


def make_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last):
    cls = _IterableDatasetFetcher if is_iterable else _MapDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# ---------------------------------------------------------------------------- worker loop
def _seed_worker(seed, worker_id, base_seed):
    random.seed(seed)
    # PyTorch's workers seed NumPy with SeedSequence([worker_id, base_seed]).generate_state(4)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    numtorch = sys.modules.get("numtorch")
    manual_seed = getattr(numtorch, "manual_seed", None)
    if manual_seed is not None:
        manual_seed(seed)


def worker_loop(is_iterable, dataset, index_queue, data_queue, auto_collation, collate_fn,
                drop_last, base_seed, init_fn, worker_id, num_workers):
    """Serve ``(task_idx, index)`` requests from ``index_queue`` until told to stop (``None``)."""
    global _worker_info
    parent = os.getppid()
    seed = base_seed + worker_id
    _seed_worker(seed, worker_id, base_seed)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)

    init_error = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = make_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
    except Exception:
        init_error = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id}")
    exhausted = False
    while True:
        try:
            request = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
        except queue.Empty:
            if os.getppid() != parent:  # the main process died: leave quietly
                return
            continue
        if request is None:
            break
        if isinstance(request, _ResumeIteration):
            data_queue.put((request, None))
            exhausted = False
            if init_error is None:
                fetcher = make_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
            continue
        if exhausted:  # nothing more to give this epoch; the loader knows already
            continue
        task_idx, index = request
        if init_error is not None:
            data, init_error = init_error, None
        else:
            try:
                data = fetcher.fetch(index)
            except StopIteration:
                data = _IterableDatasetStopIteration(worker_id)
                exhausted = True
            except Exception:
                data = ExceptionWrapper(
                    sys.exc_info(), f"in DataLoader worker process {worker_id}")
        data_queue.put((task_idx, data))
        del data
    data_queue.cancel_join_thread()
