"""`tinyconv.torch_version.TorchVersion`, as torch.torch_version: the type of
``tinyconv.__version__``, a str that also compares as a version against strings and tuples.

``tinyconv.__version__`` is ``"2.13.0+tinyconv.0.1.0"``: the PyTorch release whose API tinyconv
follows, with tinyconv's own release as the local label (as PyTorch's CPU build says
``"2.13.0+cpu"``). Model code gates features on it (``torch.__version__ >= "1.10"``,
``>= (2, 0)``, ``version.parse(torch.__version__)``), and should take its PyTorch 2 branch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["TorchVersion"]

# PEP 440: release, pre-release, post-release, dev release, local label
_PEP440 = re.compile(
    r"v?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre>a|b|rc|c|alpha|beta|pre|preview)[-_.]?(?P<pre_n>\d*))?"
    r"(?:[-_.]?(?P<post>post|rev|r)[-_.]?(?P<post_n>\d*))?"
    r"(?:[-_.]?(?P<dev>dev)[-_.]?(?P<dev_n>\d*))?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?",
    re.IGNORECASE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_INF = float("inf")


def version_key(text: str) -> tuple:
    """A key that orders version strings as PEP 440 does (ValueError if ``text`` isn't one)."""
    m = _PEP440.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"invalid version: {text!r}")
    release = [int(p) for p in m["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:  # 2.0 == 2.0.0
        release.pop()
    if m["pre"]:
        pre: tuple = (_PRE_RANK[m["pre"].lower()], int(m["pre_n"] or 0))
    elif m["dev"] and not m["post"]:
        pre = (-_INF,)  # 2.0.dev1 comes before 2.0a1
    else:
        pre = (_INF,)
    post = int(m["post_n"] or 0) if m["post"] else -_INF
    dev = int(m["dev_n"] or 0) if m["dev"] else _INF
    local: tuple = ()
    if m["local"]:  # (a local label sorts after none; numbers after words)
        local = tuple(
            (1, int(s), "") if s.isdigit() else (0, 0, s.lower())
            for s in re.split(r"[-_.]", m["local"])
        )
    return (tuple(release), pre, post, dev, (1 if m["local"] else 0, local))


class TorchVersion(str):
    """A str that compares as a version with strings (``"2.0"``), tuples (``(2, 0)``) and
    objects whose str() is a version (packaging's Version); with anything that isn't a
    version it compares as the str it is."""

    __slots__ = ()

    def _compare(self, other: Any, method: str) -> bool:
        if isinstance(other, str):
            text = str(other)
        elif isinstance(other, Iterable):
            text = ".".join(str(item) for item in other)
        elif type(other).__name__ == "Version":  # (packaging.version.Version)
            text = str(other)
        else:
            return getattr(str, method)(self, other)
        try:
            mine, theirs = version_key(str(self)), version_key(text)
        except ValueError:
            return getattr(str, method)(self, other)
        return getattr(mine, method)(theirs)

    def __gt__(self, other: Any) -> bool:
        return self._compare(other, "__gt__")

    def __lt__(self, other: Any) -> bool:
        return self._compare(other, "__lt__")

    def __ge__(self, other: Any) -> bool:
        return self._compare(other, "__ge__")

    def __le__(self, other: Any) -> bool:
        return self._compare(other, "__le__")

    def __eq__(self, other: Any) -> bool:
        return self._compare(other, "__eq__")

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__
