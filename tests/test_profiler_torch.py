"""tinyconv.profiler against torch.profiler: the same schedule, and the recipe's code runs in
both with only the import changed, recording rows PyTorch records too."""

from __future__ import annotations

import itertools

import pytest

import tinyconv
import tinyconv.profiler as tprof

pytestmark = pytest.mark.torch


@pytest.mark.parametrize(
    ("wait", "warmup", "active", "repeat", "skip_first"),
    list(itertools.product([0, 1, 2], [0, 1], [1, 3], [0, 2], [0, 3])),
)
def test_schedule_matches_torch(wait, warmup, active, repeat, skip_first):
    torch = pytest.importorskip("torch")
    kw = dict(wait=wait, warmup=warmup, active=active, repeat=repeat, skip_first=skip_first)
    theirs = torch.profiler.schedule(**kw)
    ours = tprof.schedule(**kw)
    assert [ours(i).name for i in range(30)] == [theirs(i).name for i in range(30)]


def _recipe(lib):
    """The profiler recipe's calls, on a small conv net (returns the profile)."""
    profiler = lib.profiler
    lib.manual_seed(0)
    model = lib.nn.Sequential(
        lib.nn.Conv2d(3, 4, 3), lib.nn.ReLU(), lib.nn.Flatten(), lib.nn.Linear(4 * 6 * 6, 2)
    )
    x = lib.randn(2, 3, 8, 8)
    with profiler.profile(
        activities=[profiler.ProfilerActivity.CPU], record_shapes=True, profile_memory=True
    ) as prof:
        with profiler.record_function("model_inference"):
            model(x).sum().backward()
    return prof


def test_the_recipe_runs_in_both_and_records_rows_torch_records():
    torch = pytest.importorskip("torch")
    ours, theirs = _recipe(tinyconv), _recipe(torch)
    our_keys = {e.key for e in ours.key_averages()}
    their_keys = {e.key for e in theirs.key_averages()}
    assert {"model_inference", "aten::convolution", "aten::relu", "ConvolutionBackward0"} <= (
        our_keys
    )
    assert our_keys <= their_keys, our_keys - their_keys
    for prof in (ours, theirs):
        table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=5)
        header = table.splitlines()[1].split()
        assert header[:3] == ["Name", "Self", "CPU"]
        assert "Mem" in header and "Input" not in header  # shapes: only grouped by them
        shaped = prof.key_averages(group_by_input_shape=True).table(row_limit=3)
        assert "Input Shapes" in shaped.splitlines()[1]
        avg = {e.key: e for e in prof.key_averages()}["model_inference"]
        assert avg.count == 1 and avg.cpu_time_total >= avg.self_cpu_time_total > 0
