"""tinyconv.utils.benchmark: Timer runs its statement in a copy of the given globals, after
setup, the asked number of times; Measurement derives per-run times and prints as PyTorch's
(the layouts below are what torch.utils.benchmark 2.13 prints for the same raw times)."""

from __future__ import annotations

import re

import pytest

from tinyconv.utils.benchmark import Measurement, Timer


def test_timer_runs_the_statement_number_times_in_a_copy_of_globals():
    calls = []
    env = {"tick": lambda: calls.append(1)}
    m = Timer(stmt="tick()", setup="calls_before = 0", globals=env).timeit(50)
    assert len(calls) == 50 + 2  # the timed runs and a warm-up of max(50 // 100, 2)
    assert "calls_before" not in env  # setup ran in a copy
    assert m.number_per_run == 50 and len(m.raw_times) == 1
    assert m.times == [m.raw_times[0] / 50] and m.mean == m.median == m.times[0] and m.iqr == 0


def test_measurement_statistics_and_printing():
    spec = {
        "stmt": "f(x)",
        "setup": "pass",
        "label": None,
        "sub_label": None,
        "description": None,
        "env": None,
        "num_threads": 1,
    }
    one = Measurement(10, [2.5e-5], spec)
    assert re.fullmatch(
        r"<tinyconv\.utils\.benchmark\.Measurement object at 0x[0-9a-f]+>\nf\(x\)\n  2\.50 us\n"
        r"  1 measurement, 10 runs , 1 thread",
        repr(one),
    )
    labelled = dict(spec, label="L", sub_label="S", description="D", setup="x = 1", num_threads=2)
    many = Measurement(1000, [1e-3, 2e-3, 3e-3, 4e-3, 5e-3], labelled)
    assert many.times == pytest.approx([1e-6, 2e-6, 3e-6, 4e-6, 5e-6])
    assert many.median == pytest.approx(3e-6) and many.iqr == pytest.approx(2e-6)
    assert repr(many).split("\n")[1:] == [
        "L: S",
        "D",
        "setup: x = 1",
        "  Median: 3.00 us",
        "  IQR:    2.00 us (2.00 to 4.00)",
        "  5 measurements, 1000 runs per measurement, 2 threads",
        "  WARNING: Interquartile range is 66.7% of the median measurement.",
        "           This suggests significant environmental influence.",
    ]
    assert many.has_warnings and not one.has_warnings
    steady = Measurement(1, [1e-3, 1.05e-3, 1.1e-3, 1.08e-3], spec)  # IQR 4% of the median
    assert repr(steady).split("\n")[2:] == [
        "  Median: 1.06 ms",
        "  IQR:    0.05 ms (1.04 to 1.08)",
        "  4 measurements, 1 runs per measurement, 1 thread",
    ]
    three = Measurement(1, [1e-3, 2e-3, 3e-3], spec)  # no IQR line below four
    assert repr(three).split("\n")[2:4] == [
        "  Median: 2.00 ms",
        "  3 measurements, 1 runs per measurement, 1 thread",
    ]
    assert str(Measurement(1, [2.0], spec)).split("\n")[2] == "  2.00 s"
    assert str(Measurement(1, [3e-8], spec)).split("\n")[2] == "  30.00 ns"


def test_autoranges_and_bad_arguments():
    m = Timer("sum(range(10))").blocked_autorange(min_run_time=0.01)
    assert sum(m.raw_times) >= 0.01 and m.number_per_run >= 1
    seen = []
    m = Timer("sum(range(10))").adaptive_autorange(
        max_run_time=0.05, callback=lambda n, t: seen.append(n)
    )
    assert len(seen) == len(m.raw_times) >= 1
    with pytest.raises(ValueError, match="stmt must be a string"):
        Timer(stmt=lambda: 1)
    with pytest.raises(ValueError, match="num_threads must be a positive int"):
        Timer(num_threads=0)
    with pytest.raises(ValueError, match="only language='python'"):
        Timer(language="cpp")
