"""tinyconv.profiler (and tinyconv.autograd.profiler): which events a profile records, how they
nest, their times and memory, the table, key averages, schedules, traces."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinyconv
from tinyconv.autograd import function
from tinyconv.profiler import (
    ProfilerAction,
    ProfilerActivity,
    profile,
    record_function,
    schedule,
    tensorboard_trace_handler,
)


def _model():
    tinyconv.manual_seed(0)
    return tinyconv.nn.Sequential(
        tinyconv.nn.Conv2d(3, 4, 3),
        tinyconv.nn.ReLU(),
        tinyconv.nn.Flatten(),
        tinyconv.nn.Linear(4 * 6 * 6, 2),
    )


def test_ops_and_backward_nodes_nest_inside_record_function():
    m, x = _model(), tinyconv.randn(2, 3, 8, 8)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            m(x).sum().backward()
    events = prof.events()
    names = [e.name for e in events]
    assert names[0] == "model_inference"
    assert "aten::convolution" in names and "aten::relu" in names
    assert "ConvolutionBackward0" in names and "ReluBackward0" in names
    root = events[0]
    assert root.is_user_annotation and all(e.cpu_parent is root for e in root.cpu_children)
    assert {e.name for e in root.cpu_children} >= {"aten::convolution", "ReluBackward0"}
    for e in events:  # times add up: a parent holds its children
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total + 1e-9
        assert e.cpu_time_total >= sum(c.cpu_time_total for c in e.cpu_children) - 1e-9
    conv = next(e for e in events if e.name == "aten::convolution")
    assert conv.input_shapes[:3] == [[2, 3, 8, 8], [4, 3, 3, 3], [4]]
    assert function.profiler is None  # recording stopped with the block


def test_key_averages_count_calls_and_the_table_prints_them():
    m, x = _model(), tinyconv.randn(2, 3, 8, 8)
    with profile(record_shapes=True) as prof:
        for _ in range(3):
            m(x)
    avg = {e.key: e for e in prof.key_averages()}
    assert avg["aten::convolution"].count == 3 and avg["aten::relu"].count == 3
    total = sum(e.self_cpu_time_total for e in prof.events())
    assert prof.key_averages().self_cpu_time_total == pytest.approx(total)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=2)
    lines = table.splitlines()
    assert "Self CPU %" in lines[1] and "# of Calls" in lines[1]
    assert len([ln for ln in lines if ln.strip().startswith("aten::")]) == 2  # row_limit
    assert lines[-1].startswith("Self CPU time total: ")
    shaped = prof.key_averages(group_by_input_shape=True).table(row_limit=50)
    assert "Input Shapes" in shaped and "[[2, 3, 8, 8], [4, 3, 3, 3], [4], []]" in shaped
    assert str(prof.key_averages()) == prof.key_averages().table()


def test_profile_memory_counts_output_bytes():
    x = tinyconv.randn(4, 5)
    with profile(profile_memory=True) as prof:
        with record_function("outer"):
            y = x * 2
            y.exp()
    events = {e.name: e for e in prof.events()}
    assert events["aten::mul"].cpu_memory_usage == 4 * 5 * 4
    assert events["outer"].cpu_memory_usage == 2 * 4 * 5 * 4  # includes its children's
    assert events["outer"].self_cpu_memory_usage == 0
    assert "CPU Mem" in prof.key_averages().table()


def test_with_stack_records_the_users_line():
    x = tinyconv.randn(3)
    with profile(with_stack=True) as prof:
        x.exp()  # this line
    (event,) = [e for e in prof.events() if e.name == "aten::exp"]
    assert "test_profiler.py" in event.stack[0] and "test_with_stack" in event.stack[0]
    table = prof.key_averages(group_by_stack_n=1).table()
    assert "Source Location" in table
    with profile() as plain:
        x.exp()
    with pytest.raises(RuntimeError, match="with_stack"):
        plain.key_averages(group_by_stack_n=1)


def test_schedule_cycles_as_documented():
    fn = schedule(skip_first=1, wait=1, warmup=1, active=2, repeat=2)
    got = [fn(i) for i in range(11)]
    N, W, R, S = (
        ProfilerAction.NONE,
        ProfilerAction.WARMUP,
        ProfilerAction.RECORD,
        ProfilerAction.RECORD_AND_SAVE,
    )
    assert got == [N, N, W, R, S, N, W, R, S, N, N]
    with pytest.raises(ValueError, match="active"):
        schedule(wait=0, warmup=0, active=0)


def test_on_trace_ready_sees_each_recorded_cycle(tmp_path):
    x = tinyconv.randn(3)
    seen = []
    handler = tensorboard_trace_handler(str(tmp_path), worker_name="w")

    def ready(p):
        seen.append((p.step_num, [e.name for e in p.events()]))
        handler(p)

    with profile(
        schedule=schedule(wait=1, warmup=1, active=2, repeat=2), on_trace_ready=ready
    ) as p:
        for step in range(10):
            x.exp() if step % 2 else x.sin()
            p.step()
    assert seen == [
        (4, ["aten::sin", "aten::exp"]),
        (8, ["aten::sin", "aten::exp"]),
    ]
    files = sorted(tmp_path.iterdir())
    assert len(files) == 2 and all(f.name.startswith("w.") for f in files)
    trace = json.loads(files[0].read_text())
    assert [e["name"] for e in trace["traceEvents"]] == ["aten::sin", "aten::exp"]
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in trace["traceEvents"])


def test_record_function_as_decorator_and_outside_a_profile():
    @record_function("double_it")
    def double(t):
        return t * 2

    x = tinyconv.ones(3)
    assert double(x).tolist() == [2.0, 2.0, 2.0]  # no profile: nothing recorded, no error
    with profile() as prof:
        double(x)
    assert [e.name for e in prof.events()] == ["double_it", "aten::mul"]


def test_an_error_inside_a_profile_leaves_no_hook_behind():
    with pytest.raises(ValueError, match="inner sizes differ"), profile():
        tinyconv.ones(2, 3) @ tinyconv.ones(2, 3)
    assert function.profiler is None
    assert (tinyconv.ones(2) * 3).tolist() == [3.0, 3.0]


def test_legacy_autograd_profiler_and_chrome_trace(tmp_path):
    x = tinyconv.randn(4, requires_grad=True)
    with tinyconv.autograd.profiler.profile(record_shapes=True) as prof:
        (x * x).sum().backward()
    names = [e.key for e in prof.key_averages()]
    assert "aten::mul" in names and "MulBackward0" in names
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    assert {e["name"] for e in trace["traceEvents"]} == {e.name for e in prof.function_events}
    with tinyconv.autograd.profiler.profile(enabled=False) as off:
        x * 2
    assert len(off.function_events) == 0
    assert "Self CPU time total" in str(prof)


def test_a_user_function_keeps_its_name():
    class Cube(tinyconv.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t**3

        @staticmethod
        def backward(ctx, g):
            (t,) = ctx.saved_tensors
            return 3 * t * t * g

    x = tinyconv.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with profile() as prof:
        Cube.apply(x).sum().backward()
    names = [e.name for e in prof.events()]
    assert "Cube" in names and "CubeBackward" in names
    assert x.grad.tolist() == [3.0, 12.0]
