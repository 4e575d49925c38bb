"""``SummaryWriter``: PyTorch's TensorBoard writer API, writing event files with tensorboardX's
record writer and summary builders."""

import itertools
import os
import socket
import time
from datetime import datetime

import numpy as np
from tensorboardX import summary as _summary
from tensorboardX.event_file_writer import EventsWriter
from tensorboardX.proto.event_pb2 import Event, SessionLog
from tensorboardX.proto.summary_pb2 import Summary
from tensorboardX.proto.tensor_pb2 import TensorProto
from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboardX.utils import figure_to_image

from ..._tensor import Tensor
from ._graph import graph_def

__all__ = ["FileWriter", "SummaryWriter"]


_file_ids = itertools.count()


def _np(value):
    """A numtorch tensor (or a container of them) as NumPy data tensorboardX accepts."""
    if isinstance(value, Tensor):
        data = value.detach()._data
        if data.dtype.kind not in "biufc":  # bfloat16
            data = data.astype(np.float32)
        return data
    if isinstance(value, dict):
        return {k: _np(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_np(v) for v in value)
    return value


def _scalar(value):
    value = _np(value)
    if isinstance(value, (np.ndarray, np.generic)):
        if value.size != 1:
            raise ValueError(
                f"scalar should be 0D, got a tensor of shape {list(np.shape(value))}")
        return value.reshape(()).item()
    return value


class FileWriter:
    """Writes ``Event`` protocol buffers to one event file in ``log_dir``.

    Events are written as they are added and the file is flushed every ``max_queue`` events,
    every ``flush_secs`` seconds (checked when an event is added), on :meth:`flush` and on
    :meth:`close`, so no writer thread is involved.
    """

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix=""):
        log_dir = str(log_dir)
        os.makedirs(log_dir, exist_ok=True)
        self._log_dir = log_dir
        self._max_queue = max_queue
        self._flush_secs = flush_secs
        # events.out.tfevents.<time>.<host>.<pid>.<n><suffix>, as TensorBoard names them, so two
        # files opened in the same second (close() then add_*) never overwrite each other.
        self._writer = EventsWriter(os.path.join(log_dir, "events"),
                                    f".{os.getpid()}.{next(_file_ids)}{filename_suffix}")
        self._pending = 0
        self._last_flush = time.time()
        self._closed = False

    def get_logdir(self):
        return self._log_dir

    def add_event(self, event, step=None, walltime=None):
        if self._closed:
            raise RuntimeError("the event file of this writer is closed")
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self._writer.write_event(event)
        self._pending += 1
        if self._pending >= self._max_queue or time.time() - self._last_flush >= self._flush_secs:
            self.flush()

    def add_summary(self, summary, global_step=None, walltime=None):
        self.add_event(Event(summary=summary), global_step, walltime)

    def add_graph(self, graph, walltime=None):
        self.add_event(Event(graph_def=graph.SerializeToString()), None, walltime)

    def flush(self):
        if not self._closed:
            self._writer.flush()
        self._pending = 0
        self._last_flush = time.time()

    def close(self):
        if not self._closed:
            self._writer.close()
            self._closed = True

    def __del__(self):
        # A writer dropped without close() still gets its events to disk.
        if not getattr(self, "_closed", True):
            self.close()


class SummaryWriter:
    """Writes entries directly to event files in ``log_dir`` to be consumed by TensorBoard.

    Args:
        log_dir (str): the directory to write to. Default: ``runs/CURRENT_DATETIME_HOSTNAME``.
        comment (str): suffix appended to the default ``log_dir`` (ignored with ``log_dir``).
        purge_step (int): hide events whose step is ``>= purge_step`` from an earlier, crashed run
            that wrote to the same ``log_dir``.
        max_queue (int): pending events before an ``add`` call forces a flush. Default: 10.
        flush_secs (int): how often pending events are flushed, in seconds. Default: 120.
        filename_suffix (str): suffix of the event file's name.

    Values may be numtorch tensors, NumPy arrays or Python numbers. Use it as a context manager
    or call :meth:`close` so the last events reach the disk.
    """

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        if not log_dir:
            current_time = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", current_time + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        # TensorBoard's default histogram buckets: +-1e-12 * 1.1**k up to 1e20, and 0.
        v, buckets = 1e-12, []
        while v < 1e20:
            buckets.append(v)
            v *= 1.1
        self.default_bins = [-b for b in reversed(buckets)] + [0] + buckets

    def _get_file_writer(self):
        """The default FileWriter, made again after :meth:`close`."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs,
                                          self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                self.file_writer.add_event(Event(step=self.purge_step,
                                                 file_version="brain.Event:2"))
                self.file_writer.add_event(Event(step=self.purge_step, session_log=SessionLog(
                    status=SessionLog.START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        """The directory the event files are written to."""
        return self.log_dir

    def _add(self, summary, global_step, walltime):
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        """Add one scalar (a number or a one-element tensor) under ``tag`` at ``global_step``."""
        self._add(_summary.scalar(tag, _scalar(scalar_value)), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Add several scalars that share ``main_tag``; each goes to its own run directory
        ``log_dir/<main_tag>_<tag>`` so TensorBoard draws them in one chart."""
        walltime = time.time() if walltime is None else walltime
        fw_logdir = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            fw_tag = fw_logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            fw = self.all_writers.get(fw_tag)
            if fw is None:
                fw = self.all_writers[fw_tag] = FileWriter(
                    fw_tag, self.max_queue, self.flush_secs, self.filename_suffix)
            fw.add_summary(_summary.scalar(main_tag, _scalar(value)), global_step, walltime)

    def add_tensor(self, tag, tensor, global_step=None, walltime=None):
        """Add a tensor's values as a TensorBoard tensor summary."""
        data = np.ascontiguousarray(_np(tensor))
        dtypes = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6,
                  "int64": 9, "bool": 10, "float16": 19}
        if data.dtype.name not in dtypes:
            raise TypeError(f"add_tensor: unsupported dtype {data.dtype}")
        proto = TensorProto(dtype=dtypes[data.dtype.name], tensor_content=data.tobytes(),
                            tensor_shape=TensorShapeProto(
                                dim=[TensorShapeProto.Dim(size=s) for s in data.shape]))
        self._add(Summary(value=[Summary.Value(tag=tag, tensor=proto)]), global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """Add a histogram of ``values``; ``bins`` is ``'tensorflow'`` (TensorBoard's default
        exponential buckets), a NumPy bin rule such as ``'auto'``, or a bin count."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._add(_summary.histogram(tag, np.asarray(_np(values)), bins, max_bins=max_bins),
                  global_step, walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits,
                          bucket_counts, global_step=None, walltime=None):
        """Add a histogram from precomputed statistics and buckets."""
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        self._add(_summary.histogram_raw(tag, min, max, num, sum, sum_squares,
                                         _np(bucket_limits), _np(bucket_counts)),
                  global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """Add one image: a float tensor in ``[0, 1]`` or a uint8 tensor in ``[0, 255]``, laid
        out as ``dataformats`` (``CHW``, ``HWC`` or ``HW``)."""
        self._add(_summary.image(tag, np.asarray(_np(img_tensor)), dataformats=dataformats),
                  global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """Add a batch of images, tiled into one grid image (``NCHW`` or ``NHWC``)."""
        self._add(_summary.image(tag, np.asarray(_np(img_tensor)), dataformats=dataformats),
                  global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """Render a matplotlib figure (or a list of them) into an image summary."""
        if isinstance(figure, list):
            self.add_images(tag, figure_to_image(figure, close), global_step, walltime,
                            dataformats="NCHW")
        else:
            self.add_image(tag, figure_to_image(figure, close), global_step, walltime,
                           dataformats="CHW")

    def add_video(self, tag, vid_tensor, global_step=None, fps=4, walltime=None):
        """Add a video, ``(N, T, C, H, W)``; needs the moviepy package."""
        self._add(_summary.video(tag, np.asarray(_np(vid_tensor)), fps), global_step, walltime)

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100, walltime=None):
        """Add an audio clip, values in ``[-1, 1]``."""
        self._add(_summary.audio(tag, np.asarray(_np(snd_tensor)), sample_rate=sample_rate),
                  global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Add a text (markdown) entry."""
        self._add(_summary.text(tag, text_string), global_step, walltime)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Add the model's graph: run ``model(input_to_model)`` once and record which layers and
        operations feed which (layers are named by their module path)."""
        if input_to_model is None:
            raise ValueError("add_graph needs input_to_model to run the model once")
        graph = graph_def(model, input_to_model)
        if verbose:
            print(graph)
        self._get_file_writer().add_graph(graph)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        """Add a set of hyperparameters and the metrics they gave, for TensorBoard's HParams
        view; the metrics go to the sub-run ``run_name`` (default: the current time)."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = _summary.hparams(_np(hparam_dict), _np(metric_dict))
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as w_hp:
            for s in (exp, ssi, sei):
                w_hp.file_writer.add_summary(s, global_step)
            for k, v in metric_dict.items():
                w_hp.add_scalar(k, v, global_step)

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127,
                     weights=None, walltime=None):
        """Add a precision-recall curve from binary ``labels`` and ``predictions`` in [0, 1]."""
        self._add(_summary.pr_curve(tag, np.asarray(_np(labels)), np.asarray(_np(predictions)),
                                    num_thresholds, _np(weights)), global_step, walltime)

    def add_custom_scalars(self, layout):
        """Describe a custom-scalars dashboard layout."""
        self._get_file_writer().add_summary(_summary.custom_scalars(layout))

    def flush(self):
        """Write all pending events of every run of this writer to disk."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self):
        """Flush and close the event files; a later ``add_*`` call opens a new file."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()
