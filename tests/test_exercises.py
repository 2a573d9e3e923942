"""The exercises: skeletons, the worked solution, the reference solutions, and the checker's
messages for the typical wrong answers (python -m tinyconv.exercises)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from tinyconv import exercises

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXERCISES = os.path.join(ROOT, "docs", "exercises")
SOLUTIONS = os.path.join(ROOT, "tests", "exercise_solutions")


@pytest.fixture(autouse=True)
def solutions_importable(monkeypatch):
    monkeypatch.syspath_prepend(SOLUTIONS)  # ex3's solution imports ex2's forward


def test_every_exercise_has_a_skeleton_that_is_not_done_yet():
    assert sorted(exercises.EXERCISES) == [1, 2, 3, 4, 5]
    for n, ex in exercises.EXERCISES.items():
        path = os.path.join(EXERCISES, ex.file)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for name in ex.functions:
            assert re.search(rf"^def {name}\(", text, re.MULTILINE), (ex.file, name)
        assert text.count("\n    raise NotImplementedError\n") == len(ex.functions)
        assert f"python -m tinyconv.exercises {n}" in text
        ok, report = exercises.check(n, path)
        assert not ok and "is not written yet (it raises NotImplementedError)" in report


def test_only_exercise_1_has_a_worked_solution():
    files = sorted(os.listdir(EXERCISES))
    assert [f for f in files if "solution" in f] == ["ex1_solution.py"]
    ok, report = exercises.check(1, os.path.join(EXERCISES, "ex1_solution.py"))
    assert ok, report
    assert "passed: all 4 checks" in report


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_reference_solutions_pass(n):
    ok, report = exercises.check(n, os.path.join(SOLUTIONS, f"ex{n}.py"))
    assert ok, report


def wrong(tmp_path, n: int, source: str, replace: dict[str, str] | None = None) -> str:
    """Check a variant of a solution: `source` is a solution file, `replace` its edits."""
    with open(source, encoding="utf-8") as f:
        text = f.read()
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"wrong_ex{n}.py"
    path.write_text(text, encoding="utf-8")
    ok, report = exercises.check(n, str(path))
    assert not ok, report
    return report


def test_ex1_kernel_not_flipped(tmp_path):
    report = wrong(
        tmp_path,
        1,
        os.path.join(EXERCISES, "ex1_solution.py"),
        {
            "            dx[i + p] += g[i] * w[p]\n": "",
            "    return dx, dw": "    gp = np.pad(g, (k - 1, k - 1))\n"
            "    dx = np.array([sum(gp[u + p] * w[p] for p in range(k)) for u in range(len(x))])\n"
            "    return dx, dw",
        },
    )
    m = re.search(r"dx\[(\d+)\] is (-?\d+) but should be (-?\d+)", report)
    assert m, report
    assert "hint: the kernel is not flipped" in report


def test_ex1_backward_accumulated_in_integers_is_caught_by_gradcheck(tmp_path):
    report = wrong(
        tmp_path,
        1,
        os.path.join(EXERCISES, "ex1_solution.py"),
        {"dx = np.zeros(len(x))": "dx = np.zeros(len(x), dtype=int)"},
    )
    assert "gradcheck at random non-integer inputs" in report and "input 0 is x" in report


def test_ex2_bias_missing(tmp_path):
    report = wrong(tmp_path, 2, os.path.join(SOLUTIONS, "ex2.py"), {"b[o] + np.sum": "np.sum"})
    assert re.search(r"y\[0, 0, 0, 0\] is -?\d+ but should be -?\d+", report), report
    assert "hint: the bias is missing" in report


def test_ex3_missing_sum_over_the_batch(tmp_path):
    report = wrong(
        tmp_path,
        3,
        os.path.join(SOLUTIONS, "ex3.py"),
        {
            "dw[o] += g[n, o, i, j] * x[n, :, i : i + kh, j : j + kw]": (
                "dw[o] += g[n, o, i, j] * x[n, :, i : i + kh, j : j + kw] if n == 0 else 0"
            )
        },
    )
    assert "dw[" in report and "should be" in report
    assert "hint: dL/dw is missing the sum over the batch" in report
    assert "x (2, 3, 5, 4)" in report  # the first case with N > 1 names its shapes


def test_ex3_first_image_counted_n_times(tmp_path):
    report = wrong(
        tmp_path,
        3,
        os.path.join(SOLUTIONS, "ex3.py"),
        {
            "dw[o] += g[n, o, i, j] * x[n, :, i : i + kh, j : j + kw]": (
                "dw[o] += g[0, o, i, j] * x[0, :, i : i + kh, j : j + kw]"
            )
        },
    )
    assert "hint: dL/dw adds image 0's contribution N times" in report


def test_ex3_bias_gradient_per_image(tmp_path):
    report = wrong(
        tmp_path,
        3,
        os.path.join(SOLUTIONS, "ex3.py"),
        {"db = g.sum(axis=(0, 2, 3))": "db = g.sum(axis=(2, 3))"},
    )
    assert "db has shape (1, 1) but should have shape (1,)" in report
    assert "hint: dL/db[o] sums over the batch too" in report


def test_ex3_kernel_not_flipped(tmp_path):
    report = wrong(
        tmp_path,
        3,
        os.path.join(SOLUTIONS, "ex3.py"),
        {
            "dx[n, :, i : i + kh, j : j + kw] += g[n, o, i, j] * w[o]": (
                "dx[n, :, i : i + kh, j : j + kw] += g[n, o, i, j] * w[o, :, ::-1, ::-1]"
            )
        },
    )
    assert "hint: the kernel is not flipped" in report


def test_ex4_stride_ignored_in_the_backward(tmp_path):
    report = wrong(
        tmp_path,
        4,
        os.path.join(SOLUTIONS, "ex4.py"),
        {
            textwrap.indent("r, c = i * stride, j * stride\ndw[o] +=", " " * 20): textwrap.indent(
                "r, c = i, j\ndw[o] +=", " " * 20
            )
        },
    )
    assert re.search(r"dx\[[\d, ]+\] is -?\d+ but should be -?\d+", report), report
    assert "stride 2, padding 1" in report
    assert "hint: the stride is ignored in the backward" in report


def test_ex4_padding_not_cropped(tmp_path):
    report = wrong(
        tmp_path,
        4,
        os.path.join(SOLUTIONS, "ex4.py"),
        {
            "return dx_pad[:, :, padding : padding + H, padding : padding + W], dw": (
                "return dx_pad, dw"
            )
        },
    )
    assert "dx has shape (1, 1, 7, 7) but should have shape (1, 1, 5, 5)" in report
    assert "hint: that is the shape of x_pad: crop the padding off" in report


def test_ex5_col2im_that_assigns(tmp_path):
    report = wrong(
        tmp_path, 5, os.path.join(SOLUTIONS, "ex5.py"), {"] += d[:, :, p, q]": "] = d[:, :, p, q]"}
    )
    assert "col2im(dcols)[" in report and "should be" in report
    assert "hint: where windows overlap, their entries must add up" in report


def test_ex5_rows_in_the_wrong_order(tmp_path):
    report = wrong(
        tmp_path,
        5,
        os.path.join(SOLUTIONS, "ex5.py"),
        {
            "return cols.reshape(N, C * kh * kw, OH * OW)": (
                "return cols.transpose(0, 2, 3, 1, 4, 5).reshape(N, C * kh * kw, OH * OW)"
            )
        },
    )
    assert "hint: the rows are in (p, q, c) order" in report


def test_command_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    run = [sys.executable, "-m", "tinyconv.exercises"]
    res = subprocess.run(
        run, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False
    )
    assert res.returncode == 0 and "docs/exercises/ex5_im2col.py" in res.stdout
    res = subprocess.run(
        run + ["1"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False
    )
    assert res.returncode == 1 and "corr1d() is not written yet" in res.stdout
    res = subprocess.run(
        run + ["1", "docs/exercises/ex1_solution.py"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0 and "passed" in res.stdout, res.stdout + res.stderr
    res = subprocess.run(
        run + ["1", str(tmp_path / "none.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert res.returncode == 2 and "no file" in res.stderr
    res = subprocess.run(
        run + ["9"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False
    )
    assert res.returncode == 2 and "number must be one of [1, 2, 3, 4, 5], got 9" in res.stderr
