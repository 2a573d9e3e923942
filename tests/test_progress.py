"""tinyconv.utils.progress: tqdm where installed, plain lines otherwise."""

from __future__ import annotations

import io
import sys

import pytest

from tinyconv.utils.progress import PlainProgress, have_tqdm, progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_at_each_tenth_and_no_carriage_returns():
    out = io.StringIO()
    bar = PlainProgress(total=20, desc="epoch 1", file=out)
    for i in range(20):
        bar.set_postfix_str(f"loss {i}")
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "epoch 1:  10% 2/20 it  loss 1"
    assert lines[-1] == "epoch 1: 100% 20/20 it  loss 19"
    assert len(lines) == 10 and "\r" not in out.getvalue()


def test_plain_bytes_iterables_and_early_end():
    out = io.StringIO()
    bar = PlainProgress(total=2_500_000, desc="f.gz", unit="B", unit_scale=True, file=out)
    bar.update(1_000_000)
    bar.close()  # ended early: the last count is printed once
    assert out.getvalue().splitlines() == ["f.gz:  40% 1.0 MB of 2.5 MB"]
    out = io.StringIO()
    assert list(PlainProgress(range(3), file=out)) == [0, 1, 2]
    assert out.getvalue().splitlines()[-1] == "100% 3/3 it"
    with pytest.raises(TypeError, match="nothing to iterate"):
        iter(PlainProgress(total=3)).__next__()


def test_disable_none_shows_only_on_a_terminal():
    out = io.StringIO()
    with PlainProgress(total=4, file=out, disable=None) as bar:
        bar.update(4)
    assert out.getvalue() == ""
    term = Terminal()
    with PlainProgress(total=4, file=term, disable=None) as bar:
        bar.update(4)
    assert term.getvalue() == "100% 4/4 it\n"


def test_progress_uses_tqdm_when_installed_else_plain(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert not have_tqdm()
    assert isinstance(progress(total=3, file=io.StringIO()), PlainProgress)
    monkeypatch.delitem(sys.modules, "tqdm")
    tqdm = pytest.importorskip("tqdm")
    out = io.StringIO()
    bar = progress(total=3, desc="x", file=out)
    assert isinstance(bar, tqdm.tqdm)
    bar.update(3)
    bar.close()
    assert "3/3" in out.getvalue()


def test_the_progress_extra_exists_and_ci_installs_it():
    import configparser
    import os

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(root, "setup.cfg"))
    assert "tqdm" in cfg["options.extras_require"]["progress"]
    with open(os.path.join(root, ".ci", "run"), encoding="utf-8") as f:
        assert any("progress" in line and "pip install" in line for line in f.read().splitlines())
