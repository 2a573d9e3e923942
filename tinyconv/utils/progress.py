"""Progress reports: a `tqdm` bar where tqdm is installed, plain lines of text otherwise.

tqdm is an optional extra (`pip install "tinyconv[progress]"`); tinyconv never needs it.

    bar = progress(total=len(loader), desc="epoch 1", file=sys.stdout, disable=None)
    for batch in loader:
        ...
        bar.update(1)
        bar.set_postfix_str(f"loss {loss:.4f}")
    bar.close()

Without tqdm the same calls print a line each time another tenth of the work is done, so a
log file or a pipe gets about ten short lines, never a carriage return. `disable=None`
means what it means to tqdm: show nothing unless `file` is a terminal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

__all__ = ["PlainProgress", "have_tqdm", "progress"]


def have_tqdm() -> bool:
    """True when `import tqdm` works (and is not blocked)."""
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def progress(
    iterable: Iterable | None = None,
    *,
    total: float | None = None,
    desc: str = "",
    unit: str = "it",
    unit_scale: bool = False,
    file: TextIO | None = None,
    disable: bool | None = False,
    leave: bool = True,
    mininterval: float = 0.1,
) -> Any:
    """A progress bar over `iterable` (or updated by hand up to `total`): tqdm's, else a
    PlainProgress.

    The arguments are tqdm's. `unit="B"` with `unit_scale=True` counts bytes (shown as kB, MB);
    `mininterval` is the least time between two redraws of a tqdm bar.
    """
    if have_tqdm():
        from tqdm import tqdm

        return tqdm(
            iterable,
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=unit_scale,
            file=file,
            disable=disable,
            leave=leave,
            mininterval=mininterval,
            dynamic_ncols=True,
        )
    return PlainProgress(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=unit_scale,
        file=file,
        disable=disable,
    )


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


class PlainProgress:
    """tqdm's small API (iterate, update, set_postfix_str, close, `with`) printing plain lines.

    A line is printed when the count passes each tenth of `total` (and when it is reached);
    without a total, at most every `interval` seconds.
    """

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: float | None = None,
        desc: str = "",
        unit: str = "it",
        unit_scale: bool = False,
        file: TextIO | None = None,
        disable: bool | None = False,
        interval: float = 5.0,
    ) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.bytes = unit == "B" and unit_scale
        self.file = file if file is not None else sys.stderr
        if disable is None:  # as tqdm: only on a terminal
            disable = not getattr(self.file, "isatty", lambda: False)()
        self.disable = disable
        self.n = 0
        self.postfix = ""
        self.interval = interval
        self._tenths = 0  # tenths of total already reported
        self._last = time.monotonic()
        self._printed = 0  # the count in the last line printed
        self._closed = False

    def __iter__(self) -> Iterator:
        if self.iterable is None:
            raise TypeError(
                "PlainProgress: there is nothing to iterate over (no iterable was given)"
            )
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> PlainProgress:  # noqa: PYI034  (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = str(s)

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def update(self, n: float = 1) -> None:
        self.n += n
        if self.disable:
            return
        if self.total:
            tenths = min(10, int(10 * self.n / self.total))
            if tenths > self._tenths:
                self._tenths = tenths
                self._print()
        elif time.monotonic() - self._last >= self.interval:
            self._print()

    def close(self) -> None:
        """Print the final count if it was not the last one printed (e.g. the work ended early)."""
        if self._closed:
            return
        self._closed = True
        if not self.disable and self.n != self._printed:
            self._print()

    def _count(self) -> str:
        if self.bytes:
            done = _size(self.n)
            return f"{done} of {_size(self.total)}" if self.total else done
        total = f"/{self.total:g}" if self.total else ""
        return f"{self.n:g}{total} {self.unit}"

    def _print(self) -> None:
        pct = f"{100 * self.n / self.total:3.0f}% " if self.total else ""
        desc = f"{self.desc}: " if self.desc else ""
        post = f"  {self.postfix}" if self.postfix else ""
        print(f"{desc}{pct}{self._count()}{post}", file=self.file, flush=True)
        self._last = time.monotonic()
        self._printed = self.n
