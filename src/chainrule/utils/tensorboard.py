"""``SummaryWriter``: TensorBoard logs from a training script, as ``torch.utils.tensorboard``.

``w = SummaryWriter("runs/exp1"); w.add_scalar("loss", loss, step); w.close()``; then
``tensorboard --logdir runs``. Needs the ``tensorboard`` extra
(``pip install 'chainrule[tensorboard]'``); chainrule tensors, NumPy arrays and numbers are
accepted wherever PyTorch takes a tensor.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import Any

import numpy as np

from ..tensor import Tensor


def _tensorboard():
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ImportError("SummaryWriter needs the tensorboard package: pip install "
                          "'chainrule[tensorboard]'") from None
    return event_pb2, summary_pb2, EventFileWriter


def _array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return value._data  # logging reads values; it never records a graph
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"SummaryWriter.{what}: expected a Tensor, an array or a number (got "
                        f"{type(value).__name__})") from None


def _scalar(value: Any, what: str) -> float:
    arr = np.squeeze(_array(value, what))
    if arr.ndim != 0:
        raise ValueError(f"SummaryWriter.{what}: the value should contain one element (got "
                         f"shape {tuple(np.shape(value))})")
    return float(arr)


def _tensorflow_bins() -> np.ndarray:
    # TensorFlow's default histogram buckets (PyTorch's bins="tensorflow"): +-1e-12 * 1.1**k
    v, buckets = 1e-12, []
    while v < 1e20:
        buckets.append(v)
        v *= 1.1
    return np.array([-b for b in reversed(buckets)] + [0.0] + buckets)


def _histogram(summary_pb2, values: np.ndarray, bins, max_bins: int | None):
    """PyTorch's make_histogram: NumPy's counts trimmed to the occupied range."""
    values = values.reshape(-1).astype(np.float64)
    if values.size == 0:
        raise ValueError("SummaryWriter.add_histogram: the input has no element")
    counts, limits = np.histogram(values, bins=_tensorflow_bins() if bins == "tensorflow"
                                  else bins)
    if max_bins is not None and len(counts) > max_bins:
        step = len(counts) // max_bins
        if len(counts) % step:
            counts = np.pad(counts, (0, step - len(counts) % step))
        counts = counts.reshape(-1, step).sum(axis=-1)
        limits = np.concatenate([limits[:-1:step][:counts.size], limits[-1:]])
    cum = np.cumsum(np.greater(counts, 0))
    start, end = np.searchsorted(cum, [0, cum[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    return summary_pb2.HistogramProto(
        min=values.min(), max=values.max(), num=len(values), sum=values.sum(),
        sum_squares=values.dot(values), bucket_limit=limits.tolist(), bucket=counts.tolist())


class SummaryWriter:
    """Write TensorBoard event files into ``log_dir`` (default ``runs/<date>_<host><comment>``).

    ``with SummaryWriter(tmp_dir) as w: w.add_scalar("loss", 0.5, global_step=1)``
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "",
                 purge_step: int | None = None, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = "") -> None:
        self._event_pb2, self._summary_pb2, self._writer_cls = _tensorboard()
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue, self.flush_secs = max_queue, flush_secs
        self.filename_suffix = filename_suffix
        self._writers: dict[str, Any] = {}
        self._main = self._writer(self.log_dir)
        if purge_step is not None:
            self._main.add_event(self._event_pb2.Event(
                step=purge_step, file_version="brain.Event:2",
                session_log=self._event_pb2.SessionLog(status=self._event_pb2.SessionLog.START)))

    def _writer(self, directory: str):
        if directory not in self._writers:
            self._writers[directory] = self._writer_cls(
                directory, self.max_queue, self.flush_secs, self.filename_suffix)
        return self._writers[directory]

    def get_logdir(self) -> str:
        return self.log_dir

    def _add(self, writer, summary, global_step, walltime) -> None:
        event = self._event_pb2.Event(summary=summary,
                                      wall_time=time.time() if walltime is None else walltime)
        if global_step is not None:
            event.step = int(global_step)
        writer.add_event(event)

    def add_scalar(self, tag: str, scalar_value, global_step: int | None = None,
                   walltime: float | None = None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """Log one number: ``w.add_scalar("loss", loss, step)`` (a one-element tensor is fine)."""
        value = _scalar(scalar_value, "add_scalar")
        summary = self._summary_pb2.Summary(
            value=[self._summary_pb2.Summary.Value(tag=tag, simple_value=value)])
        self._add(self._main, summary, global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Several curves on one chart, each in its own run directory (as PyTorch):
        ``w.add_scalars("loss", {"train": a, "val": b}, step)``"""
        for tag, value in tag_scalar_dict.items():
            directory = self.log_dir + "/" + main_tag.replace("/", "_") + "_" + tag
            summary = self._summary_pb2.Summary(value=[self._summary_pb2.Summary.Value(
                tag=main_tag, simple_value=_scalar(value, "add_scalars"))])
            self._add(self._writer(directory), summary, global_step, walltime)

    def add_histogram(self, tag: str, values, global_step: int | None = None,
                      bins="tensorflow", walltime: float | None = None,
                      max_bins: int | None = None) -> None:
        """The distribution of ``values`` (weights, gradients): ``w.add_histogram("w", p, i)``"""
        histo = _histogram(self._summary_pb2, _array(values, "add_histogram"), bins, max_bins)
        summary = self._summary_pb2.Summary(value=[self._summary_pb2.Summary.Value(
            tag=tag, histo=histo)])
        self._add(self._main, summary, global_step, walltime)

    def flush(self) -> None:
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.flush()
            writer.close()
        self._writers = {}

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
