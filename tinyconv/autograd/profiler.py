"""Where the time goes: a profiler of tinyconv's ops with PyTorch's API.

    from tinyconv.profiler import profile, record_function, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            model(x).sum().backward()
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

While a profile records, every op (``Function.apply``: its forward, ``aten::<op>``) and every
backward node (``<Op>Backward0``) is timed, nested inside the ``record_function`` ranges
open at the time. An event's *CPU total* is its wall time; its *self CPU* time leaves out
the events nested inside it. The table, ``key_averages()`` (grouped by name, optionally by
input shapes or by the innermost ``n`` source lines), the Chrome trace (``chrome://tracing``
or Perfetto), ``schedule`` and ``on_trace_ready`` follow PyTorch's. The op names are
tinyconv's ops named as PyTorch names its nodes (``ConvolutionBackward0`` runs
``aten::convolution``'s backward), not ATen's whole call tree, so the rows differ from
PyTorch's where one tinyconv op is several ATen calls or the other way round.
``profile_memory`` counts the bytes of each op's outputs (*CPU Mem*; *Self CPU Mem* leaves
out the nested ops'); PyTorch's allocator also counts frees and temporaries.

Engine level: the hooks are ``function.profiler`` (read by ``Function.apply`` and the
backward engine) and nothing else.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import json
import os
import re
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._errors import TensorValueError
from . import function as _function


class ProfilerActivity(enum.Enum):
    """What to profile: tinyconv runs on the CPU, so CPU is the activity that records."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


def supported_activities() -> set:
    """The activities this build can profile: the CPU."""
    return {ProfilerActivity.CPU}


class ProfilerAction(enum.Enum):
    """What a ``schedule`` asks of a step."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(
    *,
    wait: int,
    warmup: int,
    active: int,
    repeat: int = 0,
    skip_first: int = 0,
    skip_first_wait: int = 0,
) -> Callable[[int], ProfilerAction]:
    """PyTorch's cycle: after ``skip_first`` steps, ``wait`` idle steps, ``warmup`` steps,
    ``active`` recorded ones (the last one saves: ``on_trace_ready`` runs), ``repeat`` times
    (0: forever). ``skip_first_wait`` skips the first cycle's wait."""
    for name, v in (("wait", wait), ("warmup", warmup), ("skip_first", skip_first)):
        if v < 0:
            raise TensorValueError(f"Invalid profiler schedule arguments: {name} must be >= 0")
    if active <= 0:
        raise TensorValueError("Invalid profiler schedule arguments: active must be > 0")
    if repeat < 0:
        raise TensorValueError("Invalid profiler schedule arguments: repeat must be >= 0")

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise TensorValueError(f"Invalid profiler step: {step}")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait  # (the first cycle starts at its warm-up)
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        at = step % cycle
        if at < wait:
            return ProfilerAction.NONE
        if at < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if at < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _default_schedule(_: int) -> ProfilerAction:
    return ProfilerAction.RECORD


# -- events ---------------------------------------------------------------------------------


class FunctionEvent:
    """One timed op, backward node or record_function range (times in microseconds)."""

    def __init__(
        self,
        id: int,
        name: str,
        start_us: float,
        input_shapes: list,
        stack: list,
        is_user_annotation: bool = False,
    ) -> None:
        self.id, self.name, self.input_shapes, self.stack = id, name, input_shapes, stack
        self.start_us, self.end_us = start_us, start_us
        self.is_user_annotation = is_user_annotation
        self.cpu_children: list[FunctionEvent] = []
        self.cpu_parent: FunctionEvent | None = None
        self.cpu_memory_usage = 0
        self.count, self.thread, self.node_id = 1, 0, -1
        self.flops, self.overload_name, self.use_device = 0, "", None
        self.device_type = "CPU"
        self.is_async, self.is_remote, self.is_legacy = False, False, False

    key = property(lambda self: self.name)
    cpu_time_total = property(lambda self: self.end_us - self.start_us)
    cpu_time = property(lambda self: self.cpu_time_total / max(self.count, 1))
    self_cpu_time_total = property(
        lambda self: self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)
    )
    self_cpu_memory_usage = property(
        lambda self: self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)
    )
    # no devices: their columns are zeros, as PyTorch's on a CPU-only run
    device_time = device_time_total = self_device_time_total = cuda_time = property(lambda self: 0)
    device_memory_usage = self_device_memory_usage = property(lambda self: 0)

    def __repr__(self) -> str:
        return (
            f"<FunctionEvent id={self.id} name={self.name} cpu_time={_time(self.cpu_time_total)} "
            f"start_us={self.start_us:.3f} end_us={self.end_us:.3f} "
            f"input_shapes={self.input_shapes} cpu_memory_usage={self.cpu_memory_usage}>"
        )


class FunctionEventAvg:
    """Events of one key (name, and shapes or source lines when grouped by them), summed."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0
        self.input_shapes: list | None = None
        self.stack: list | None = None
        self.is_user_annotation = False
        self.node_id, self.flops, self.overload_name, self.use_device = -1, 0, "", None
        self.cpu_parent = None
        self.device_type = "CPU"
        self.is_async = self.is_remote = self.is_legacy = False

    cpu_time = property(lambda self: self.cpu_time_total / max(self.count, 1))
    device_time = device_time_total = self_device_time_total = cuda_time = property(lambda self: 0)
    device_memory_usage = self_device_memory_usage = property(lambda self: 0)

    def add(self, other: Any) -> FunctionEventAvg:
        """Add an event (or another average) into this one."""
        if self.key is None:
            self.key, self.input_shapes, self.stack = other.key, other.input_shapes, other.stack
            self.is_user_annotation = other.is_user_annotation
        elif other.key != self.key:
            raise AssertionError(
                f"cannot add an event {other.key!r} to the average of {self.key!r}"
            )
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        return self

    __iadd__ = add

    def __repr__(self) -> str:
        return (
            f"<FunctionEventAvg key={self.key} self_cpu_time={_time(self.self_cpu_time_total)} "
            f"cpu_time={_time(self.cpu_time_total)} input_shapes={self.input_shapes} "
            f"cpu_memory_usage={self.cpu_memory_usage}>"
        )


class EventList(list):
    """A list of events (or of averages) that prints as PyTorch's table."""

    def __init__(self, *args: Any, profile_memory: bool = False, **_: Any) -> None:
        super().__init__(*args)
        self._profile_memory = profile_memory

    @property
    def self_cpu_time_total(self) -> float:
        """The self CPU time of all events, in microseconds."""
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(
        self, group_by_input_shapes: bool = False, group_by_stack_n: int = 0, **_: Any
    ) -> EventList:
        """The events summed per name (and per input shapes / innermost source lines)."""
        groups: dict[tuple, FunctionEventAvg] = {}
        for e in self:
            key = [e.key]
            if group_by_input_shapes:
                key.append(str(e.input_shapes))
            if group_by_stack_n > 0:
                key += list(e.stack[:group_by_stack_n])
            avg = groups.setdefault(tuple(key), FunctionEventAvg())
            avg.add(e)
            if not group_by_input_shapes:  # (shapes show only when they are part of the key)
                avg.input_shapes = []
            if group_by_stack_n > 0:
                avg.stack = list(e.stack[:group_by_stack_n])
        return EventList(groups.values(), profile_memory=self._profile_memory)

    def total_average(self) -> FunctionEventAvg:
        """All events summed into one (its key: "Total")."""
        total = FunctionEventAvg()
        for e in self:
            total.count += e.count
            total.cpu_time_total += e.cpu_time_total
            total.self_cpu_time_total += e.self_cpu_time_total
            total.cpu_memory_usage += e.cpu_memory_usage
            total.self_cpu_memory_usage += e.self_cpu_memory_usage
        total.key = "Total"
        return total

    def table(
        self,
        sort_by: str | None = None,
        row_limit: int = 100,
        max_src_column_width: int = 75,
        max_name_column_width: int = 55,
        max_shapes_column_width: int = 80,
        header: str | None = None,
        top_level_events_only: bool = False,
        time_unit: str | None = None,
    ) -> str:
        """PyTorch's table: one row per event, sorted by an attribute (descending)."""
        return _table(
            self,
            sort_by,
            row_limit,
            max_src_column_width,
            max_name_column_width,
            max_shapes_column_width,
            header,
            top_level_events_only,
            self._profile_memory,
            time_unit,
        )

    def __str__(self) -> str:
        return self.table()

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as a Chrome trace (JSON, "X" events in microseconds)."""
        _write_trace(self, path)


def _time(us: float, unit: str | None = None) -> str:
    """PyTorch's time format: seconds, milliseconds or microseconds, 3 decimals."""
    if unit == "s" or (unit is None and us >= 1e6):
        return f"{us / 1e6:.3f}s"
    if unit == "ms" or (unit is None and us >= 1e3):
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _memory(nbytes: float) -> str:
    """PyTorch's memory format: GB, MB, KB with 2 decimals, else bytes."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


def _table(
    events,
    sort_by,
    row_limit,
    max_src,
    max_name,
    max_shapes,
    header,
    top_only,
    memory,
    time_unit,
) -> str:
    if len(events) == 0:
        return ""
    rows = list(events)
    if sort_by is not None:
        attr = sort_by.replace("cuda", "device").replace("xpu", "device")
        rows.sort(key=lambda e: getattr(e, attr), reverse=True)
    if top_only:
        rows = [e for e in rows if e.cpu_parent is None]
    shapes = any(e.input_shapes for e in rows)
    stacks = [e.stack for e in rows if e.stack]
    name_w = min(max(len(e.key) for e in rows) + 4, max_name)
    cols = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if memory:
        cols += ["CPU Mem", "Self CPU Mem"]
    cols.append("# of Calls")
    widths = [name_w] + [12] * len(cols)
    heads = ["Name", *cols]
    if shapes:
        heads.append("Input Shapes")
        widths.append(min(max(len(str(e.input_shapes)) for e in rows) + 4, max_shapes))
    if stacks:
        heads.append("Source Location")
        widths.append(min(max(len(s) for st in stacks for s in st) + 4, max_src))

    def line(cells: list[str]) -> str:
        out = ""
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            left = heads[i] == "Source Location"
            out += (f"{cell:<{w}}" if left else f"{cell:>{w}}") + "  "
        return out

    def clip(text: str, width: int) -> str:
        return text if len(text) <= width - 1 else text[: width - 4] + "..."

    sep = "".join("-" * w + "  " for w in widths)
    total_self = sum(e.self_cpu_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * (len(sep) - 2), header]
    lines += [sep, line(heads), sep]
    for e in rows[:row_limit] if row_limit and row_limit > 0 else rows:
        pct = lambda t: f"{100 * t / total_self:.2f}%" if total_self else "0.00%"  # noqa: E731
        cells = [
            clip(e.key, name_w),
            pct(e.self_cpu_time_total),
            _time(e.self_cpu_time_total, time_unit),
            pct(e.cpu_time_total),
            _time(e.cpu_time_total, time_unit),
            _time(e.cpu_time, time_unit),
        ]
        if memory:
            cells += [_memory(e.cpu_memory_usage), _memory(e.self_cpu_memory_usage)]
        cells.append(str(e.count))
        if shapes:
            cells.append(clip(str(e.input_shapes), widths[heads.index("Input Shapes")]))
        if stacks:
            src = e.stack[0] if e.stack else ""
            cells.append(clip(src, widths[-1]))
        lines.append(line(cells))
        if stacks and e.stack:  # the rest of the stack, one line each
            for frame in e.stack[1:]:
                lines.append(line([""] * (len(cells) - 1) + [clip(frame, widths[-1])]))
    lines.append(sep)
    lines.append(f"Self CPU time total: {_time(total_self, time_unit)}")
    return "\n".join(lines) + "\n"


def _trace(events: Iterable[FunctionEvent]) -> dict:
    """The Chrome trace of ``events``: "X" (complete) events, times in microseconds."""
    return {
        "schemaVersion": 1,
        "traceEvents": [
            {
                "ph": "X",
                "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                "name": e.name,
                "pid": os.getpid(),
                "tid": e.thread,
                "ts": e.start_us,
                "dur": e.cpu_time_total,
                "args": {"Input Dims": e.input_shapes} if e.input_shapes else {},
            }
            for e in events
        ],
        "displayTimeUnit": "ms",
    }


def _write_trace(events: Iterable[FunctionEvent], path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(_trace(events), f)


# -- recording ------------------------------------------------------------------------------


def _op_name(cls: type) -> str:
    """``aten::<op>`` from the node name PyTorch gives the op (ConvolutionBackward0 ->
    aten::convolution, MaxPool2DWithIndicesBackward0 -> aten::max_pool2d_with_indices), or
    from the op's class when the name depends on the call (Sum -> aten::sum); a user's
    Function keeps its class name."""
    if "aten_name" in cls.__dict__:  # (an op whose node PyTorch names after an inner call)
        return cls.aten_name
    node = getattr(cls, "torch_name", None)
    if not cls.__module__.startswith("tinyconv."):
        return cls.__name__  # a user's Function
    base = re.sub(r"Backward\d*$", "", node) if node else cls.__name__
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", base).lower()
    return "aten::" + snake.replace("_2_d", "2d").replace("_3_d", "3d").replace("_1_d", "1d")


def _shapes(values: Iterable) -> list:
    return [list(np.shape(getattr(v, "_data", v))) if _is_array(v) else [] for v in values]


def _is_array(v: Any) -> bool:
    return hasattr(v, "_data") or isinstance(v, np.ndarray)


def _nbytes(values: Any) -> int:
    if isinstance(values, tuple | list):
        return sum(_nbytes(v) for v in values)
    data = getattr(values, "_data", values)
    return int(data.nbytes) if isinstance(data, np.ndarray) else 0


class _Recorder:
    """The open events (a stack) and the finished ones, while a profile records."""

    def __init__(self, record_shapes: bool, profile_memory: bool, with_stack: bool) -> None:
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.with_stack = with_stack
        self.events: list[FunctionEvent] = []
        self.open: list[FunctionEvent] = []
        self.inside = False  # read by Function.apply
        self.t0 = time.perf_counter_ns()

    def now(self) -> float:
        return (time.perf_counter_ns() - self.t0) / 1e3

    def begin(self, name: str, shapes: list, user: bool = False) -> FunctionEvent:
        stack = []
        if self.with_stack:  # the user's lines (tinyconv's own frames left out)
            here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            stack = [
                f"{f.filename}({f.lineno}): {f.name}"
                for f in reversed(traceback.extract_stack()[:-2])
                if not os.path.abspath(f.filename).startswith(here)
            ]
        e = FunctionEvent(len(self.events), name, self.now(), shapes, stack, user)
        if self.open:
            e.cpu_parent = self.open[-1]
            self.open[-1].cpu_children.append(e)
        self.events.append(e)
        self.open.append(e)
        return e

    def end(self, e: FunctionEvent, outputs: Any = None) -> None:
        e.end_us = self.now()
        if self.profile_memory:
            e.cpu_memory_usage += _nbytes(outputs) if outputs is not None else 0
            for child in e.cpu_children:  # (a parent's memory includes its children's)
                e.cpu_memory_usage += child.cpu_memory_usage
        while self.open and self.open.pop() is not e:  # (an exception left some open)
            pass

    def run_op(self, cls: type, args: tuple) -> Any:
        e = self.begin(_op_name(cls), _shapes(args) if self.record_shapes else [])
        out = None
        try:
            self.inside = True
            out = cls.apply(*args)
            return out
        finally:
            self.inside = False
            self.end(e, out)

    def begin_node(self, node: Any, grad_out: Any) -> FunctionEvent:
        return self.begin(node.name(), _shapes([grad_out]) if self.record_shapes else [])


_active: list[_Recorder] = []  # the recording profiles (innermost last)


def _install(rec: _Recorder | None) -> None:
    _function.profiler = rec


class record_function(contextlib.ContextDecorator):  # noqa: N801  (PyTorch's name)
    """A named range in the profile (a user annotation): as a ``with`` block or a decorator.
    Outside a recording profile it does nothing."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name, self.args = name, args
        self._event: FunctionEvent | None = None
        self._rec: _Recorder | None = None

    def __enter__(self) -> record_function:
        rec = _function.profiler
        if isinstance(rec, _Recorder):
            self._rec, self._event = rec, rec.begin(self.name, [], user=True)
        return self

    def __exit__(self, *exc: Any) -> bool:
        if self._rec is not None:
            self._rec.end(self._event)
            self._rec = self._event = None
        return False


class ScheduledProfile:
    """``torch.profiler.profile`` (tinyconv.profiler.profile): record tinyconv's ops between
    ``__enter__`` and ``__exit__`` (or ``start``/``stop``), stepping through ``schedule``
    with ``step()``. PyTorch's arguments; ``activities`` other than CPU record nothing more
    (tinyconv runs on the CPU)."""

    def __init__(
        self,
        *,
        activities: Iterable[ProfilerActivity] | None = None,
        schedule: Callable[[int], ProfilerAction] | None = None,
        on_trace_ready: Callable[[ScheduledProfile], Any] | None = None,
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_flops: bool = False,
        with_modules: bool = False,
        experimental_config: Any = None,
        execution_trace_observer: Any = None,
        acc_events: bool = False,
        use_cuda: bool | None = None,
        custom_trace_id_callback: Any = None,
    ) -> None:
        self.activities = set(activities) if activities is not None else supported_activities()
        self.schedule = schedule if schedule is not None else _default_schedule
        self.on_trace_ready = on_trace_ready
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.with_stack, self.with_flops, self.with_modules = with_stack, with_flops, with_modules
        self.acc_events = acc_events
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._rec: _Recorder | None = None
        self._events: list[FunctionEvent] = []

    # -- recording on and off
    def _record(self) -> None:
        if self._rec is None:
            self._rec = _Recorder(self.record_shapes, self.profile_memory, self.with_stack)
            _active.append(self._rec)
            _install(self._rec)

    def _finish(self) -> None:
        """Stop recording; the events of this recording become ``events()``."""
        rec, self._rec = self._rec, None
        if rec is None:
            return
        if rec in _active:
            _active.remove(rec)
        _install(_active[-1] if _active else None)
        done = [e for e in rec.events if e.end_us >= e.start_us]
        self._events = (self._events + done) if self.acc_events else done

    def start(self) -> None:
        if self.current_action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            self._record()

    def stop(self) -> None:
        if self._rec is not None:
            self._finish()
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)

    def step(self) -> None:
        """The next step of the schedule: a finished recording is saved (on_trace_ready)."""
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        recording = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        if prev == ProfilerAction.RECORD_AND_SAVE or (
            prev in recording and self.current_action not in recording
        ):
            self.stop()
        if self.current_action in recording:
            self._record()

    def __enter__(self) -> ScheduledProfile:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> bool:
        self.stop()
        return False

    # -- results
    def events(self) -> EventList:
        """Every recorded event, in the order they started."""
        return EventList(self._events, profile_memory=self.profile_memory)

    def key_averages(
        self, group_by_input_shape: bool = False, group_by_stack_n: int = 0, **kw: Any
    ) -> EventList:
        """The events summed per name (optionally per input shapes or source lines)."""
        if group_by_stack_n and not self.with_stack:
            raise RuntimeError("group_by_stack_n needs a profile made with with_stack=True")
        return self.events().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path: str) -> None:
        """Write the recorded events as a Chrome trace (JSON)."""
        _write_trace(self._events, path)

    @property
    def function_events(self) -> EventList:
        return self.events()

    def table(self, *args: Any, **kw: Any) -> str:
        return self.events().table(*args, **kw)

    def total_average(self) -> FunctionEventAvg:
        return self.events().total_average()

    @property
    def self_cpu_time_total(self) -> float:
        return self.events().self_cpu_time_total


class profile(ScheduledProfile):  # noqa: N801  (PyTorch's name)
    """``torch.autograd.profiler.profile``: the older spelling (``enabled``, ``use_cuda``),
    the same recording, no schedule; prints as its table."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, **kw: Any) -> None:
        kw = {k: v for k, v in kw.items() if k in _LEGACY_KEYS}
        super().__init__(**kw)
        self.enabled = enabled

    def start(self) -> None:
        if self.enabled:
            self._record()

    def stop(self) -> None:
        self._finish()

    def __str__(self) -> str:
        return self.events().table()


_LEGACY_KEYS = ("record_shapes", "profile_memory", "with_stack", "with_flops", "with_modules")


def tensorboard_trace_handler(
    dir_name: str,
    worker_name: str | None = None,
    use_gzip: bool = False,
    use_python_export: bool = False,
) -> Callable[[ScheduledProfile], None]:
    """An ``on_trace_ready`` that writes each recording's Chrome trace into ``dir_name`` as
    ``{worker}.{nanoseconds}.pt.trace.json`` (gzipped with use_gzip), as PyTorch's; the
    worker defaults to ``{hostname}_{pid}``."""
    import gzip
    import socket

    def handler(prof: ScheduledProfile) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{worker}.{time.time_ns()}.pt.trace.json")
        if use_gzip:
            with gzip.open(path + ".gz", "wt", encoding="utf-8") as f:
                json.dump(_trace(prof.events()), f)
        else:
            prof.export_chrome_trace(path)

    return handler


@functools.lru_cache(maxsize=1)
def kineto_available() -> bool:
    """PyTorch's Kineto tracer: not part of tinyconv."""
    return False
