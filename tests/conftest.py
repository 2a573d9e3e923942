"""Hypothesis profiles, and the rule that PyTorch comparisons never skip in CI.

Hypothesis: `ci` is fixed and repeatable, `dev` explores more. `ci` is the default (CI and
the README's command use it); explore more with HYPOTHESIS_PROFILE=dev pytest.

PyTorch comparisons: tests that compare with PyTorch carry the `torch` marker (registered
in setup.cfg; `pytestmark = pytest.mark.torch` or a decorator; a test that imports torch with
`pytest.importorskip("torch")` in its body or in a fixture's is marked at collection) and
import torch with `pytest.importorskip("torch")`, so the suite passes without torch. With
`TINYCONV_REQUIRE_TORCH=1` (or `--require-torch`), which CI sets in its second phase:
- torch 2.13.0 must be installed, or the run stops before collecting anything;
- a skipped test fails instead if it carries the `torch` marker or if its skip reason
  mentions torch/PyTorch (this catches comparison tests added without the marker);
- the run fails if no `torch`-marked test passed (a selection that ran nothing).

CI shares work between its runs (.ci/run): the README's command (no torch) writes the ids of
the tests that passed to the file TINYCONV_PASSED_LOG names; meanwhile the torch-marked
tests run with torch in a second environment, logging theirs the same way. The last run,
given those files as TINYCONV_SKIP_PASSED (without torch: only its unmarked passes are left
out, since without a PyTorch comparison they run the same code with or without torch
installed; a test whose path depends on whether torch is installed carries the marker) and
TINYCONV_SKIP_PASSED_TORCH (with torch required: all its passes are left out, and count as
comparisons that passed), runs the rest: everything that skipped without torch and the
extras.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import inspect
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=200,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TORCH_VERSION = "2.13.0"  # the PyTorch the comparisons are pinned to (CI installs exactly this)
_ran_torch_tests: list[str] = []
_passed_earlier: list[str] = []  # torch-marked, passed in TINYCONV_SKIP_PASSED_TORCH's run


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-torch",
        action="store_true",
        default=False,
        help="fail (instead of skip) PyTorch comparison tests that cannot run; "
        "same as TINYCONV_REQUIRE_TORCH=1",
    )


def _require_torch(config: pytest.Config) -> bool:
    return bool(config.getoption("--require-torch")) or os.environ.get(
        "TINYCONV_REQUIRE_TORCH", "0"
    ) not in ("", "0")


def pytest_configure(config: pytest.Config) -> None:
    if not _require_torch(config):
        return
    # Checked from the package metadata so that torch is not imported before the tests do.
    if importlib.util.find_spec("torch") is None:
        raise pytest.UsageError(
            f"TINYCONV_REQUIRE_TORCH is set but torch is not installed "
            f"(pip install torch=={TORCH_VERSION})"
        )
    version = importlib.metadata.version("torch").split("+")[0]
    if version != TORCH_VERSION:
        raise pytest.UsageError(
            f"TINYCONV_REQUIRE_TORCH is set: expected torch {TORCH_VERSION}, found {version}"
        )


def _skip_reason(longrepr: object) -> str:
    # A skip's longrepr is (path, lineno, reason); anything else is shown as it is.
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _is_torch_skip(reason: str, marked: bool) -> bool:
    return marked or "torch" in reason.lower()


def _read_ids(variable: str) -> set[str]:
    path = os.environ.get(variable, "")
    if not path:
        return set()
    with open(path, encoding="utf-8") as f:
        return set(f.read().splitlines())


_IMPORTS_TORCH = 'importorskip("torch")'


@functools.cache
def _source_has(func, needles: tuple[str, ...]) -> bool:
    try:
        source = inspect.getsource(inspect.unwrap(func))
    except (OSError, TypeError):
        return False
    return any(needle in source for needle in needles)


@functools.cache
def _torch_helpers(module) -> tuple[str, ...]:
    """Calls of the module's functions that import torch (``_both(``, ``_torch(``)."""
    return tuple(
        f"{name}("
        for name, f in vars(module).items()
        if inspect.isfunction(f) and _source_has(f, (_IMPORTS_TORCH,))
    )


def _compares_with_torch(item: pytest.Item) -> bool:
    """Whether the test imports torch: its module at the top, or its body, a fixture it uses
    or a helper of its module that it calls, with pytest.importorskip (the comparisons that
    were not given the marker)."""
    module = getattr(item, "module", None)
    if module is None:
        return False
    torch = sys.modules.get("torch")
    if torch is not None and any(v is torch for v in vars(module).values()):
        return True
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info is not None else ():
        funcs += [d.func for d in defs]
    needles = (_IMPORTS_TORCH, *_torch_helpers(module))
    return any(_source_has(f, needles) for f in funcs if f is not None)


@pytest.hookimpl(tryfirst=True)  # (before `-m torch` selects by the marker)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the unmarked comparisons (``_compares_with_torch``); leave out the tests an earlier
    run of the same CI passed: the unmarked ones of TINYCONV_SKIP_PASSED (run without torch),
    all of TINYCONV_SKIP_PASSED_TORCH (run with it)."""
    for item in items:
        if item.get_closest_marker("torch") is None and _compares_with_torch(item):
            item.add_marker(pytest.mark.torch)
    without_torch = _read_ids("TINYCONV_SKIP_PASSED")
    with_torch = _read_ids("TINYCONV_SKIP_PASSED_TORCH")
    if not without_torch and not with_torch:
        return
    keep, drop = [], []
    for item in items:
        marked = item.get_closest_marker("torch") is not None
        if item.nodeid in with_torch:
            drop.append(item)
            if marked:
                _passed_earlier.append(item.nodeid)
        elif item.nodeid in without_torch and not marked:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    marked = item.get_closest_marker("torch") is not None
    if report.when == "call" and report.passed and marked:
        _ran_torch_tests.append(item.nodeid)
    log = os.environ.get("TINYCONV_PASSED_LOG", "")
    if log and report.when == "call" and report.passed:
        with open(log, "a", encoding="utf-8") as f:
            f.write(item.nodeid + "\n")
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and _require_torch(item.config)
        and _is_torch_skip(_skip_reason(report.longrepr), marked)
    ):
        report.outcome = "failed"
        report.longrepr = (
            f"TINYCONV_REQUIRE_TORCH is set, so this PyTorch comparison must run, "
            f"but it was skipped: {_skip_reason(report.longrepr)}"
        )
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    # A module-level importorskip("torch") skips the whole module at collection time.
    report = yield
    if (
        report.outcome == "skipped"
        and _require_torch(collector.config)
        and _is_torch_skip(_skip_reason(report.longrepr), False)
    ):
        report.outcome = "failed"
        report.longrepr = (
            f"TINYCONV_REQUIRE_TORCH is set, so this module's PyTorch comparisons must run, "
            f"but it was skipped: {_skip_reason(report.longrepr)}"
        )
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    ran = _ran_torch_tests or _passed_earlier
    if _require_torch(session.config) and exitstatus == 0 and not ran:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _require_torch(config):
        return
    if _ran_torch_tests or _passed_earlier:
        earlier = f", {len(_passed_earlier)} in an earlier run" if _passed_earlier else ""
        terminalreporter.write_line(
            f"PyTorch comparisons: {len(_ran_torch_tests)} torch-marked tests passed{earlier} "
            f"(TINYCONV_REQUIRE_TORCH: a skipped comparison is a failure)"
        )
    else:
        terminalreporter.write_line(
            "TINYCONV_REQUIRE_TORCH is set but no torch-marked test passed: failing", red=True
        )
