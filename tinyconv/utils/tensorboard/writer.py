"""SummaryWriter: torch.utils.tensorboard's writer of TensorBoard event files, without
TensorBoard, TensorFlow or protobuf (the bytes are written by hand, see `_proto.py`).

    from tinyconv.utils.tensorboard import SummaryWriter
    with SummaryWriter("runs/exp1") as writer:
        for step in range(100):
            writer.add_scalar("loss", loss.item(), step)

`tensorboard --logdir runs` then shows the curves. The files are the same as PyTorch's
(same event file names, tags, steps, values, histogram buckets and pixels).
"""

from __future__ import annotations

import atexit
import itertools
import os
import socket
import threading
import time
import weakref
from datetime import datetime
from typing import Any

import numpy as np

from . import _embedding, _summary
from ._proto import field_bytes, field_double, field_string, field_varint, record

__all__ = ["SummaryWriter"]

# One counter for every event file of the process: the last part of the file name, so two
# writers opened in the same second into the same folder never share a file.
_file_counter = itertools.count()

_SESSION_LOG_START = 1

# Event files still open, flushed when the interpreter exits: a script that never calls
# close() keeps its last events (PyTorch's writer loses what its queue held).
_open_files: weakref.WeakSet[FileWriter] = weakref.WeakSet()


@atexit.register
def _flush_open_files() -> None:
    for writer in list(_open_files):
        writer.flush()


def _event(
    wall_time: float,
    step: int = 0,
    *,
    file_version: str | None = None,
    summary: bytes | None = None,
    session_log_status: int | None = None,
    writer_name: str | None = None,
) -> bytes:
    """One `Event` message: wall_time 1, step 2, file_version 3, summary 5, session_log 7,
    source_metadata 10."""
    out = field_double(1, wall_time)
    if step:
        out += field_varint(2, step)
    if file_version is not None:
        out += field_string(3, file_version)
    if summary is not None:
        out += field_bytes(5, summary)
    if session_log_status is not None:
        out += field_bytes(7, field_varint(1, session_log_status))
    if writer_name is not None:
        out += field_bytes(10, field_string(1, writer_name))
    return out


class FileWriter:
    """One event file in `log_dir`, named as TensorBoard's writers name theirs:
    events.out.tfevents.{seconds}.{hostname}.{pid}.{counter}{filename_suffix}.

    Records go through a buffered file and reach the disk every `max_queue` events, every
    `flush_secs` seconds (a daemon thread, so a run that stalls still shows its last
    points), on flush() and on close()."""

    def __init__(
        self, log_dir: str, max_queue: int = 10, flush_secs: float = 120, filename_suffix: str = ""
    ) -> None:
        os.makedirs(log_dir, exist_ok=True)
        self.log_dir = log_dir
        now = time.time()
        name = (
            f"events.out.tfevents.{int(now)}.{socket.gethostname()}.{os.getpid()}."
            f"{next(_file_counter)}{filename_suffix}"
        )
        self.path = os.path.join(log_dir, name)
        self._file: Any = open(self.path, "wb")  # noqa: SIM115 (closed by close())
        self._max_queue = max(int(max_queue), 1)
        self._pending = 0
        # the flusher thread and the writing thread share the file
        self._lock = threading.Lock()
        self._closed = threading.Event()
        # the first record says which format follows; TensorBoard skips files without it
        self.add_event(
            _event(now, file_version="brain.Event:2", writer_name="tinyconv.utils.tensorboard")
        )
        self.flush()
        self._flusher = threading.Thread(
            target=self._flush_every, args=(float(flush_secs),), daemon=True
        )
        self._flusher.start()
        _open_files.add(self)

    def _flush_every(self, seconds: float) -> None:
        while not self._closed.wait(seconds):
            self.flush()

    def get_logdir(self) -> str:
        return self.log_dir

    def add_event(self, event: bytes) -> None:
        with self._lock:
            if self._file is None:
                raise RuntimeError(f"the event file {self.path} is closed")
            self._file.write(record(event))
            self._pending += 1
            if self._pending >= self._max_queue:
                self._file.flush()
                self._pending = 0

    def add_summary(self, value: bytes | list[bytes], step: int, walltime: float) -> None:
        # a Summary message holding the Values (Summary.value is field 1, repeated)
        values = [value] if isinstance(value, bytes) else value
        summary = b"".join(field_bytes(1, v) for v in values)
        self.add_event(_event(walltime, step, summary=summary))

    def flush(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()
                self._pending = 0

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
        self._flusher.join()


def _step(global_step: Any) -> int:
    if global_step is None:
        return 0
    arr = _summary.as_numpy(global_step, "global_step")
    if arr.size != 1 or (arr.dtype.kind not in "iub" and not float(arr.reshape(())).is_integer()):
        raise ValueError(f"global_step must be one integer, got {global_step!r}")
    return int(arr.reshape(()))


def _walltime(walltime: float | None) -> float:
    return time.time() if walltime is None else float(walltime)


class SummaryWriter:
    """Writes scalars, histograms, images, text and the rest for TensorBoard into event
    files in `log_dir` (default `runs/{Mon}{DD}_{HH-MM-SS}_{hostname}{comment}`), with PyTorch's
    SummaryWriter's arguments and methods.

    purge_step: TensorBoard hides the events of earlier runs in this folder whose step is at
    least purge_step (for a run resumed from a checkpoint after a crash)."""

    def __init__(
        self,
        log_dir: str | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: float = 120,
        filename_suffix: str = "",
    ) -> None:
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = os.fspath(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.default_bins = _summary.default_bins()
        self.file_writer: FileWriter | None = None
        self.all_writers: dict[str, FileWriter] | None = None
        self._get_file_writer()

    def _new_file(self, log_dir: str) -> FileWriter:
        return FileWriter(log_dir, self.max_queue, self.flush_secs, self.filename_suffix)

    def _get_file_writer(self) -> FileWriter:
        # After close() the next add_* opens a new event file, as PyTorch's writer does.
        if self.file_writer is None or self.all_writers is None:
            self.file_writer = self._new_file(self.log_dir)
            if self.purge_step is not None:
                step, now = int(self.purge_step), time.time()
                self.file_writer.add_event(_event(now, step, file_version="brain.Event:2"))
                self.file_writer.add_event(_event(now, step, session_log_status=_SESSION_LOG_START))
                self.purge_step = None
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
        return self.file_writer

    def get_logdir(self) -> str:
        """The folder the event files are written to."""
        return self.log_dir

    def _add(self, value: bytes | list[bytes], global_step: Any, walltime: float | None) -> None:
        self._get_file_writer().add_summary(value, _step(global_step), _walltime(walltime))

    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """One number (a Python number, a one-element Tensor or array) at a step; stored
        as float32 unless new_style and double_precision."""
        self._add(
            _summary.scalar(tag, scalar_value, new_style, double_precision), global_step, walltime
        )

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Several curves in one chart: each `tag` goes into its own run, the subfolder
        `{main_tag with / as _}_{tag}` of log_dir, under the tag `main_tag`."""
        walltime = _walltime(walltime)
        step = _step(global_step)
        base = self._get_file_writer().get_logdir()
        assert self.all_writers is not None
        for tag, value in tag_scalar_dict.items():
            folder = base + "/" + main_tag.replace("/", "_") + "_" + tag
            writer = self.all_writers.get(folder)
            if writer is None:
                writer = self.all_writers[folder] = self._new_file(folder)
            writer.add_summary(_summary.scalar(main_tag, value), step, walltime)

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: int | None = None,
        bins: Any = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """A histogram of `values` (any shape). bins: 'tensorflow' (exponential buckets,
        the default), an int, a NumPy estimator name ('auto', 'fd', ...) or the edges."""
        self._add(_summary.histogram(tag, values, bins, max_bins), global_step, walltime)

    def add_histogram_raw(
        self,
        tag: str,
        min: float,
        max: float,
        num: float,
        sum: float,
        sum_squares: float,
        bucket_limits: Any,
        bucket_counts: Any,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """A histogram from its statistics and buckets (bucket i ends at bucket_limits[i])."""
        value = _summary.histogram_raw(
            tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts
        )
        self._add(value, global_step, walltime)

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """An image, shape (C, H, W) by default (dataformats 'HWC', 'HW' too), C 1, 3 or 4.
        uint8 pixels are kept; other dtypes are taken as [0, 1] and scaled to 0..255."""
        self._add(_summary.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """A batch of images, shape (N, C, H, W) by default ('NHWC' too), shown as one grid
        of 8 images a row."""
        self._add(_summary.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_figure(
        self,
        tag: str,
        figure: Any,
        global_step: int | None = None,
        close: bool = True,
        walltime: float | None = None,
    ) -> None:
        """A matplotlib figure (or a list of them, shown as a grid) rendered to RGBA pixels.
        Needs matplotlib (`pip install "tinyconv[plot]"`)."""
        try:
            import matplotlib.pyplot as plt
            from matplotlib.backends.backend_agg import FigureCanvasAgg
        except ImportError as err:
            raise ImportError('add_figure needs matplotlib: pip install "tinyconv[plot]"') from err

        def render(fig: Any) -> Any:
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            rgba = np.asarray(canvas.buffer_rgba(), dtype=np.uint8).copy()
            if close:
                plt.close(fig)
            return rgba.transpose(2, 0, 1)  # (4, H, W)

        if isinstance(figure, list):
            image = np.stack([render(f) for f in figure])
            self.add_image(tag, image, global_step, walltime, dataformats="NCHW")
        else:
            self.add_image(tag, render(figure), global_step, walltime, dataformats="CHW")

    def add_text(
        self,
        tag: str,
        text_string: str,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Text (Markdown) for TensorBoard's text tab, under the tag `{tag}/text_summary`."""
        self._add(_summary.text(tag, text_string), global_step, walltime)

    def add_graph(
        self,
        model: Any,
        input_to_model: Any = None,
        verbose: bool = False,
        use_strict_trace: bool = True,
    ) -> None:
        """Not supported: raises NotImplementedError (see the message)."""
        raise NotImplementedError(
            "SummaryWriter.add_graph: tinyconv has no TorchScript tracer, and TensorBoard's "
            "graph tab needs a GraphDef of traced ops (PyTorch's comes from torch.jit.trace), "
            "so tinyconv writes no graph rather than a different one. To see the autograd "
            "graph of a loss, use tinyconv.viz.graph(loss) (Graphviz DOT)."
        )

    def _unsupported(self, name: str) -> None:
        raise NotImplementedError(
            f"SummaryWriter.{name} is not implemented in tinyconv (it writes scalars, "
            "histograms, images, figures, text, hparams, PR curves, embeddings, audio, "
            "tensors, meshes and custom-scalar layouts); see README's "
            "differences from PyTorch"
        )

    def add_hparams(
        self,
        hparam_dict: dict[str, Any],
        metric_dict: dict[str, Any],
        hparam_domain_discrete: dict[str, list[Any]] | None = None,
        run_name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """One row of TensorBoard's HPARAMS table: the hyperparameters (numbers, bools, str)
        and the metrics, written as a run of their own in the subfolder `run_name` (default
        the current time) of log_dir; each metric also as a scalar there."""
        experiment, start, end = _summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        if run_name is None:
            run_name = str(time.time())
        folder = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=folder) as run:
            for value in (experiment, start, end):
                run._add(value, global_step, None)
            for tag, metric in metric_dict.items():
                run.add_scalar(tag, metric, global_step)

    def add_embedding(
        self,
        mat: Any,
        metadata: Any = None,
        label_img: Any = None,
        global_step: int | None = None,
        tag: str = "default",
        metadata_header: Any = None,
    ) -> None:
        """Points for the embedding projector: `mat` (N, D), optional labels (N of them, or
        N rows of columns named by metadata_header) and images (N, C, H, W) shown as
        sprites; written as TSV and PNG files under log_dir/{step:05d}/{tag}."""
        _embedding.write_embedding(
            self._get_file_writer().get_logdir(),
            mat,
            metadata,
            label_img,
            _step(global_step),
            tag,
            metadata_header,
        )

    def add_pr_curve(
        self,
        tag: str,
        labels: Any,
        predictions: Any,
        global_step: int | None = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: float | None = None,
    ) -> None:
        """A precision-recall curve: `predictions` (probabilities, any shape) against the
        0/1 `labels` of the same size, at num_thresholds (at most 127) thresholds."""
        value = _summary.pr_curve(tag, labels, predictions, num_thresholds, weights)
        self._add(value, global_step, walltime)

    def add_pr_curve_raw(
        self,
        tag: str,
        true_positive_counts: Any,
        false_positive_counts: Any,
        true_negative_counts: Any,
        false_negative_counts: Any,
        precision: Any,
        recall: Any,
        global_step: int | None = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: float | None = None,
    ) -> None:
        """A precision-recall curve from its six rows, one entry per threshold (`weights`
        is accepted and unused, as in PyTorch)."""
        value = _summary.pr_curve_raw(
            tag,
            true_positive_counts,
            false_positive_counts,
            true_negative_counts,
            false_negative_counts,
            precision,
            recall,
            num_thresholds,
        )
        self._add(value, global_step, walltime)

    def add_audio(
        self,
        tag: str,
        snd_tensor: Any,
        global_step: int | None = None,
        sample_rate: int = 44100,
        walltime: float | None = None,
    ) -> None:
        """Mono sound, shape (1, L), amplitudes in [-1, 1], as a 16-bit WAV."""
        self._add(_summary.audio(tag, snd_tensor, sample_rate), global_step, walltime)

    def add_tensor(
        self,
        tag: str,
        tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """A whole tensor (float, int or bool), shape and values, for the tensor plugin."""
        self._add(_summary.tensor(tag, tensor), global_step, walltime)

    def add_custom_scalars(self, layout: dict[str, dict[str, list[Any]]]) -> None:
        """The custom-scalars dashboard's layout: {category: {chart title: ['Multiline',
        [tags]] or ['Margin', [value tag, lower tag, upper tag]]}}."""
        self._add(_summary.custom_scalars(layout), None, None)

    def add_custom_scalars_multilinechart(
        self, tags: list[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """One custom-scalars chart drawing the scalars of `tags` together."""
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(
        self, tags: list[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """One custom-scalars chart drawing tags[0] between tags[1] and tags[2]."""
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    def add_image_with_boxes(self, *args: Any, **kwargs: Any) -> None:
        """Not supported: raises NotImplementedError."""
        self._unsupported("add_image_with_boxes")

    def add_onnx_graph(self, *args: Any, **kwargs: Any) -> None:
        """Not supported: raises NotImplementedError."""
        self._unsupported("add_onnx_graph")

    def add_video(self, *args: Any, **kwargs: Any) -> None:
        """Not supported: raises NotImplementedError."""
        self._unsupported("add_video")

    def add_mesh(
        self,
        tag: str,
        vertices: Any,
        colors: Any = None,
        faces: Any = None,
        config_dict: dict[str, Any] | None = None,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """A point cloud or triangle mesh for the mesh plugin: vertices (B, N, 3), optional
        RGB colors (B, N, 3) in 0..255 and vertex indices of faces (B, F, 3); config_dict
        is the three.js scene config (camera, lights, material)."""
        self._add(_summary.mesh(tag, vertices, colors, faces, config_dict), global_step, walltime)

    def flush(self) -> None:
        """Writes every pending event of every run of this writer to disk."""
        if self.all_writers is not None:
            for writer in self.all_writers.values():
                writer.flush()

    def close(self) -> None:
        """Flushes and closes every event file (a later add_* opens a new one)."""
        if self.all_writers is not None:
            for writer in self.all_writers.values():
                writer.flush()
                writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
