"""Timing a statement, as torch.utils.benchmark: `Timer(stmt, setup, globals=...)` and the
`Measurement` its `timeit` / `blocked_autorange` / `adaptive_autorange` return.

Tutorials (Jacobians and Hessians, model ensembling, per-sample gradients) time a loop against
its vectorised twin with it and print the result. The numbers are wall-clock times of this
machine, so only the printed layout can match PyTorch's, never the values.
"""

from __future__ import annotations

import statistics
import time
import timeit as _timeit
from collections.abc import Callable
from typing import Any

from .._errors import TensorValueError
from ..kernels.threads import get_num_threads, set_num_threads

__all__ = ["Measurement", "Timer"]


def _select_unit(seconds: float) -> tuple[str, float]:
    """The unit a time prints in (as PyTorch picks it) and its size in seconds."""
    for unit, scale in (("ns", 1e-9), ("us", 1e-6), ("ms", 1e-3)):
        if seconds < scale * 1e3:
            return unit, scale
    return "s", 1.0


class Measurement:
    """The result of timing one statement: raw_times holds the seconds of each block of
    number_per_run runs; times (per run), mean, median and iqr are derived from them."""

    def __init__(
        self,
        number_per_run: int,
        raw_times: list[float],
        task_spec: dict[str, Any],
        metadata: dict | None = None,
    ) -> None:
        self.number_per_run = number_per_run
        self.raw_times = list(raw_times)
        self.task_spec = task_spec
        self.metadata = metadata

    @property
    def times(self) -> list[float]:
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def iqr(self) -> float:
        lo, hi = self._quartiles()
        return hi - lo

    def _quartiles(self) -> tuple[float, float]:
        ts = self.times
        if len(ts) < 2:
            return ts[0], ts[0]
        q = statistics.quantiles(ts, n=4, method="inclusive")
        return q[0], q[2]

    @property
    def significant_figures(self) -> int:
        return 1 if len(self.times) < 2 else max(1, min(4, len(self.times)))

    @property
    def title(self) -> str:
        label, sub_label = self.task_spec["label"], self.task_spec["sub_label"]
        if label is None:
            return self.task_spec["stmt"]
        return f"{label}: {sub_label}" if sub_label else label

    @property
    def env(self) -> str | None:
        return self.task_spec["env"]

    @property
    def has_warnings(self) -> bool:
        """Whether the spread between runs is large: an IQR above 10% of the median."""
        return len(self.times) > 1 and self.iqr > 0.1 * self.median

    def __repr__(self) -> str:
        spec = self.task_spec
        lines = [object.__repr__(self), self.title]
        if spec["description"]:
            lines.append(spec["description"])
        if spec["setup"] != "pass":
            lines.append(f"setup: {spec['setup']}")
        unit, scale = _select_unit(self.median)
        n = len(self.times)
        if n == 1:
            lines.append(f"  {self.median / scale:.2f} {unit}")
        else:
            lines.append(f"  Median: {self.median / scale:.2f} {unit}")
        if n >= 4:  # (fewer measurements give no quartiles worth printing)
            lo, hi = self._quartiles()
            lines.append(
                f"  IQR:    {self.iqr / scale:.2f} {unit} ({lo / scale:.2f} to {hi / scale:.2f})"
            )
        threads = spec["num_threads"]
        per = " per measurement" if n > 1 else " "
        lines.append(
            f"  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs{per}, "
            f"{threads} thread{'s' if threads > 1 else ''}"
        )
        if self.has_warnings:
            lines.append(
                f"  WARNING: Interquartile range is {100 * self.iqr / self.median:.1f}% of the "
                "median measurement."
            )
            lines.append("           This suggests significant environmental influence.")
        return "\n".join(lines)

    __str__ = __repr__


class Timer:
    """Times `stmt` (Python source) run in a copy of `globals` after `setup` ran there once.
    num_threads: tinyconv's thread count while timing. label, sub_label, description and env
    only label the printed Measurement."""

    def __init__(
        self,
        stmt: str = "pass",
        setup: str = "pass",
        global_setup: str = "",
        timer: Callable[[], float] = time.perf_counter,
        globals: dict[str, Any] | None = None,  # noqa: A002 (PyTorch's argument name)
        label: str | None = None,
        sub_label: str | None = None,
        description: str | None = None,
        env: str | None = None,
        num_threads: int = 1,
        language: str = "python",
    ) -> None:
        if not isinstance(stmt, str):
            raise TensorValueError(f"Timer: stmt must be a string of Python code, got {type(stmt)}")
        if str(getattr(language, "name", language)).lower() != "python":
            raise TensorValueError(f"Timer: only language='python' can run here, got {language!r}")
        if not isinstance(num_threads, int) or num_threads < 1:
            raise TensorValueError(
                f"Timer: num_threads must be a positive int, got {num_threads!r}"
            )
        self._globals = dict(globals or {})
        if global_setup:
            exec(global_setup, self._globals)  # noqa: S102 (timing user code is the point)
        self._timer = _timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=self._globals)
        self._task_spec = {
            "stmt": stmt,
            "setup": setup,
            "label": label,
            "sub_label": sub_label,
            "description": description,
            "env": env,
            "num_threads": num_threads,
        }

    def _run(self, number: int) -> float:
        before = get_num_threads()
        set_num_threads(self._task_spec["num_threads"])
        try:
            return self._timer.timeit(number)
        finally:
            set_num_threads(before)

    def timeit(self, number: int = 1000000) -> Measurement:
        """Run stmt `number` times (after a short warm-up) as one measurement."""
        self._run(max(number // 100, 2))  # warm-up
        return Measurement(number, [self._run(number)], self._task_spec)

    def _number_for(self, min_time: float) -> int:
        """Runs per block: grown by tens until one block takes at least min_time."""
        number = 1
        while True:
            if self._run(number) >= min_time or number >= 10**7:
                return number
            number *= 10

    def blocked_autorange(
        self, callback: Callable[[int, float], Any] | None = None, min_run_time: float = 0.2
    ) -> Measurement:
        """Blocks of runs (each at least a tenth of min_run_time long) until min_run_time
        has passed."""
        number = self._number_for(max(1e-4, min_run_time / 10))
        raw, total = [], 0.0
        while total < min_run_time or not raw:
            t = self._run(number)
            raw.append(t)
            total += t
            if callback is not None:
                callback(number, t)
        return Measurement(number, raw, self._task_spec)

    def adaptive_autorange(
        self,
        threshold: float = 0.1,
        *,
        min_run_time: float = 0.01,
        max_run_time: float = 10.0,
        callback: Callable[[int, float], Any] | None = None,
    ) -> Measurement:
        """Blocks of runs until the IQR is below threshold * median (after at least
        min_run_time) or max_run_time has passed."""
        number = self._number_for(1e-4)
        raw, total = [], 0.0
        while True:
            t = self._run(number)
            raw.append(t)
            total += t
            if callback is not None:
                callback(number, t)
            m = Measurement(number, raw, self._task_spec)
            if total >= max_run_time:
                return m
            if total >= min_run_time and len(raw) > 3 and m.iqr <= threshold * m.median:
                return m
