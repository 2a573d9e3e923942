"""``torch.profiler`` for tinyconv: time the ops of a forward and backward pass.

    from tinyconv.profiler import profile, record_function, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            model(x)
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

The recording lives in the engine (tinyconv/autograd/profiler.py, which also serves
``tinyconv.autograd.profiler``); see there for what is timed and how it names the rows.
"""

from __future__ import annotations

from .autograd.profiler import (
    EventList,
    FunctionEvent,
    FunctionEventAvg,
    ProfilerAction,
    ProfilerActivity,
    ScheduledProfile,
    kineto_available,
    record_function,
    schedule,
    supported_activities,
    tensorboard_trace_handler,
)


class profile(ScheduledProfile):  # noqa: N801  (PyTorch's name)
    """Record tinyconv's ops inside ``with profile(...) as prof:`` (or between ``start()`` and
    ``stop()``), stepping through a ``schedule`` with ``prof.step()``; ``on_trace_ready``
    receives the profile after each recorded cycle. Results: ``prof.key_averages()``,
    ``prof.events()``, ``prof.export_chrome_trace(path)``."""


__all__ = [
    "EventList",
    "FunctionEvent",
    "FunctionEventAvg",
    "ProfilerAction",
    "ProfilerActivity",
    "kineto_available",
    "profile",
    "record_function",
    "schedule",
    "supported_activities",
    "tensorboard_trace_handler",
]
