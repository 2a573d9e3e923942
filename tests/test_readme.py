"""The README's two opening commands are the ones CI runs and the ones that work."""

from __future__ import annotations

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def readme_commands() -> list[str]:
    text = _read(os.path.join(ROOT, "README.md"))
    block = re.search(r"```bash\n(.*?)```", text, re.DOTALL)
    assert block, "README.md must open with a bash block of commands"
    assert text.index("```bash") < 200, "the commands must come first in the README"
    return [line.strip() for line in block.group(1).strip().splitlines()]


def test_readme_opens_with_two_commands():
    cmds = readme_commands()
    assert len(cmds) == 2
    assert "examples/edge_kernel.py" in cmds[0] and "pip install" in cmds[0]
    assert "pytest" in cmds[1] and ".[test" in cmds[1]


def test_ci_runs_the_readme_test_command():
    ci = _read(os.path.join(ROOT, ".ci", "run"))
    ci_lines = [line.strip() for line in ci.splitlines()]
    assert readme_commands()[1] in ci_lines
