"""Smoke test of benchmarks/run.py: it runs, prints its table and writes its JSON.

Speed is never asserted here: the benchmarks print, they do not fail a build. The
test passes with and without PyTorch installed (and runs the no-PyTorch path
explicitly with --no-torch when it is installed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, "benchmarks", "run.py")
HAVE_TORCH = importlib.util.find_spec("torch") is not None
CASES = ("micro", "small_conv_fwd")


def run_quick(tmp_path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    path = tmp_path / "results.json"
    cmd = [
        sys.executable,
        RUN,
        "--quick",
        "--case",
        "micro",
        "--case",
        "small_conv_fwd",
        "--json",
        str(path),
        *extra,
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    with open(path, encoding="utf-8") as f:
        return proc, json.load(f)


def table_row(stdout: str, name: str) -> list[str]:
    rows = [line for line in stdout.splitlines() if line.startswith(f"| {name} ")]
    assert len(rows) == 1, f"no single table row for {name!r} in:\n{stdout}"
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


@pytest.mark.torch  # (compares with PyTorch where installed: CI's second phase runs it again)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch-if-installed", "no-torch"])
def test_quick_run_prints_table_and_writes_json(tmp_path, with_torch):
    if not with_torch and not HAVE_TORCH:
        pytest.skip("PyTorch is not installed: the first case already ran without it")
    proc, result = run_quick(tmp_path, *([] if with_torch else ["--no-torch"]))
    out = proc.stdout
    compared = with_torch and HAVE_TORCH

    # Header: thread count pinned, versions named.
    assert "threads: 1 (OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1" in out
    assert "NumPy " in out and "PyTorch " in out and "CPU: " in out
    if not HAVE_TORCH:
        assert "PyTorch not installed" in out

    # The table: header and one row per case, with times and the ratio column.
    header = table_row(out, "case")
    assert header == [
        "case",
        "tinyconv",
        "PyTorch",
        "ratio",
        "GFLOP/s tc",
        "GFLOP/s pt",
        "% GEMM",
        "target",
        "met",
    ]
    for name in CASES:
        cells = dict(zip(header, table_row(out, name), strict=True))
        assert cells["tinyconv"].endswith(("us", "ms", " s")), cells
        assert cells["target"] == "ratio <= 0.5"
        if compared:
            assert cells["PyTorch"].endswith(("us", "ms", " s")), cells
            float(cells["ratio"])
        else:
            assert cells["PyTorch"] == "n/a" and cells["ratio"] == "n/a", cells
    assert "targets met:" in out and "targets missed:" in out

    # The JSON: environment, GEMM reference, one record per case with positive times.
    assert set(result) >= {"environment", "gemm_reference", "cases", "order", "memory"}
    env = result["environment"]
    assert env["threads"] == 1
    assert env["thread_env"] == {
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    assert env["numpy"] and env["cpu"] and env["date"]
    assert result["gemm_reference"]["gflops"] > 0
    assert result["order"] == list(CASES)
    assert result["memory"] == {}  # c3 and c4 were not selected
    for name in CASES:
        rec = result["cases"][name]
        assert "error" not in rec, rec
        assert rec["tinyconv_median_s"] > 0
        assert len(rec["samples_s"]["tinyconv"]) == rec["repeat"] == 3
        assert all(t > 0 for t in rec["samples_s"]["tinyconv"])
        assert rec["target"]["ratio"] == 0.5
        if compared:
            assert rec["torch_median_s"] > 0 and rec["ratio"] > 0
            assert rec["max_rel_diff"] < 1e-4  # the two libraries computed the same thing
            assert isinstance(rec["met"]["all"], bool)
        else:
            assert rec["torch_median_s"] is None and rec["ratio"] is None
            assert rec["met"]["all"] is None
    small = result["cases"]["small_conv_fwd"]
    assert small["flops"] == 2 * 1 * 2 * 3 * 3 * 3 * 3 * 3  # 2*N*O*OH*OW*C*kh*kw
    assert small["tinyconv_gflops"] > 0 and small["gemm_share"] > 0


def test_unknown_case_is_a_usage_error():
    proc = subprocess.run(
        [sys.executable, RUN, "--case", "no_such_case"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "no_such_case" in proc.stderr and "invalid choice" in proc.stderr


def test_threads_probe_prints_its_measurements():
    """benchmarks/threads_probe.py (the costs behind the kernels' pool) runs and prints a
    wake-up time and a speedup for each call length (on one CPU it says there is nothing
    to split)."""
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "threads_probe.py"), "--repeat", "1"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    if "one CPU" in proc.stdout:
        return
    assert "Event round trip between two threads:" in proc.stdout
    rows = [line.split("|") for line in proc.stdout.splitlines() if line[:3] in ("| 1", "| 2")]
    assert [r[1].strip() for r in rows] == ["1,000", "20,000", "200,000", "2,000,000"]
    assert all(float(r[2]) > 0 and float(r[3]) > 0 for r in rows)


@pytest.mark.torch  # (as above)
def test_quick_run_of_the_round_two_cases(tmp_path):
    """The depthwise convolution and the residual-block training step run in both libraries
    and agree (the whole models are checked at a small size below: at benchmark size they
    take seconds)."""
    path = tmp_path / "r.json"
    cmd = [sys.executable, RUN, "--quick", "--no-memory", "--json", str(path)]
    cmd += ["--case", "depthwise", "--case", "resblock"]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(path.read_text(encoding="utf-8"))
    assert result["order"] == ["depthwise", "resblock"]
    dw = result["cases"]["depthwise"]
    assert dw["flops"] == 3 * 2 * 16 * 64 * 32 * 32 * 1 * 3 * 3  # groups=64: one input channel
    for name in ("depthwise", "resblock"):
        cells = table_row(proc.stdout, name)
        assert cells[-2] == "ratio <= 1"
        if HAVE_TORCH:
            assert result["cases"][name]["max_rel_diff"] < 1e-4


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "shufflenet_v2"])
def test_benchmark_models_agree_with_torch(name):
    """benchmarks/models.py runs the same code in both libraries: one training step on a small
    input gives the same loss and classifier gradients, float32 stays float32, and the
    parameter count is the torchvision model's (ResNet-18 11.69M, MobileNetV2 3.50M,
    ShuffleNetV2 x1.0 2.28M).

    float64 for the comparison: float32 through 20 layers of small-batch BatchNorm amplifies
    rounding differences to ~1e-2 in a few elements. At 32x32 the last stages are 1x1 maps,
    so BatchNorm normalises over 2 values per channel and channels whose two values nearly
    coincide amplify float64 rounding too (to 2e-7 in MobileNetV2): rtol 1e-6 is that
    conditioning, a wrong layer shows at 1e-2 (64x64 inputs agree to 1e-9 but take 30 s).
    In a child process, so that neither library's global state (RNG, PyTorch's thread pool)
    changes for the tests that run after this one in the same process."""
    have_torch = HAVE_TORCH
    script = f"""
import json, sys
import numpy as np
sys.path[:0] = [{os.path.join(ROOT, "benchmarks")!r}, {ROOT!r}]
import cases as C, models as M, tinyconv
data = C.model_data((2, 3, 32, 32), 1000)(np.random.default_rng(0))
count = sum(p.numel() for p in M.MODELS[{name!r}](tinyconv).parameters())
step = C.model_setup(M.MODELS[{name!r}])(tinyconv, data)
dtypes = [str(a.dtype) for a in C.to_numpy_list(step())]
pairs = []
if {have_torch!r}:
    import torch
    setup = C.model_setup(M.MODELS[{name!r}], double=True)
    ours, theirs = (C.to_numpy_list(setup(lib, data)()) for lib in (tinyconv, torch))
    pairs = [[a.tolist(), b.tolist()] for a, b in zip(ours, theirs, strict=True)]
print(json.dumps({{"count": count, "dtypes": dtypes, "pairs": pairs}}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    counts = {"resnet18": 11_689_512, "mobilenet_v2": 3_504_872, "shufflenet_v2": 2_278_604}
    assert out["count"] == counts[name]
    assert out["dtypes"] == ["float32"] * 3
    if not HAVE_TORCH:
        pytest.skip("PyTorch is not installed: the comparison needs it")
    assert len(out["pairs"]) == 3
    for a, b in out["pairs"]:
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-6, atol=1e-12)


def _harness():
    """benchmarks/harness.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "bench_harness", os.path.join(ROOT, "benchmarks", "harness.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(os.path.join(ROOT, "benchmarks"))
    return module


def test_settle_waits_while_another_thread_burns_cpu():
    """Each sample starts once the process's other threads are idle (PyTorch's OpenMP
    workers spin for milliseconds after a call): settle() returns at its first quiet check
    when nothing else runs, and keeps waiting (up to its cap) while a thread spins."""
    import threading

    settle = _harness().settle
    assert settle(step_s=0.01, max_s=0.5) < 0.25  # idle: the first or second check

    stop = threading.Event()

    def spin():
        while not stop.is_set():
            pass

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        waited = settle(step_s=0.01, max_s=0.15)
    finally:
        stop.set()
        spinner.join()
    assert waited >= 0.15


def test_settle_waits_while_a_thread_runs_outside_the_gil():
    """A thread that runs without the GIL (as PyTorch's OpenMP and NumPy's OpenBLAS workers
    spin) keeps settle() waiting at its default 1 ms checks. The other threads' CPU time
    advances only at scheduler ticks (4 ms on the benchmark machine), so the CPU-time check
    alone let most samples start beside such a thread; others_running() sees its /proc state."""
    import threading

    harness = _harness()
    if harness.others_running() is None:
        pytest.skip("no /proc/self/task here: settle() has only the CPU-time check")
    data = np.random.default_rng(0).standard_normal(1 << 18)
    stop = threading.Event()
    started = threading.Event()

    def sort_until_stopped():
        started.set()
        while not stop.is_set():
            np.sort(data)  # NumPy sorts without the GIL

    worker = threading.Thread(target=sort_until_stopped)
    worker.start()
    try:
        started.wait()
        running = [harness.others_running() for _ in range(20)]
        waited = harness.settle(max_s=0.15)
    finally:
        stop.set()
        worker.join()
    assert sum(running) >= 15  # (between sorts it holds the GIL for a moment)
    assert waited >= 0.15


@pytest.mark.torch
def test_benchmark_op_cases_agree_with_torch():
    """The `ops` group's cases run the same code in both libraries and agree (output and
    the first input's gradient): dropout included, since both seed their generator alike.
    In a child process, so that neither library's RNG or thread pool changes for later tests."""
    if not HAVE_TORCH:
        pytest.skip("PyTorch is not installed: the comparison needs it")
    script = f"""
import json, sys
import numpy as np
sys.path[:0] = [{os.path.join(ROOT, "benchmarks")!r}, {ROOT!r}]
import cases as C, tinyconv, torch
from harness import max_rel_diff
out = {{}}
for case in C.CASES:
    if case.group != "ops":
        continue
    data = case.make_data(np.random.default_rng(0))
    ours, theirs = (case.setup(lib, data)() for lib in (tinyconv, torch))
    dtypes = [str(t.dtype) for t in ours]
    out[case.name] = [max_rel_diff(ours, theirs), dtypes]
print(json.dumps(out))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    assert len(out) == 9
    for name, (diff, dtypes) in out.items():
        assert diff is not None and diff < 1e-5, (name, diff)
        assert dtypes == ["tinyconv.float32"] * 2, (name, dtypes)


# -- the README's result tables are the committed runs' ------------------------------------

README_TABLES = {  # marker in benchmarks/README.md -> the run's JSON, committed beside it
    "zen5-1t": "reference-results-zen5-1t.json",
    "zen5-2t": "reference-results-zen5-2t.json",
    "haswell-1t": "reference-results-haswell-1t.json",
    "haswell-2t": "reference-results-haswell-2t.json",
}


@pytest.mark.parametrize("marker", sorted(README_TABLES))
def test_readme_tables_are_the_committed_runs(marker):
    """Each marked table in benchmarks/README.md is harness.table() of its committed JSON, and
    that JSON's medians and ratios are those of its own raw samples: the published numbers
    come from the recorded run, not from hand edits."""
    bench = os.path.join(ROOT, "benchmarks")
    sys.path.insert(0, bench)
    try:
        import harness
    finally:
        sys.path.remove(bench)
    with open(os.path.join(bench, README_TABLES[marker]), encoding="utf-8") as f:
        run = json.load(f)
    for rec in run["cases"].values():
        samples = rec["samples_s"]
        for lib in ("tinyconv", "torch"):
            assert rec[f"{lib}_median_s"] == pytest.approx(float(np.median(samples[lib])))
        assert rec["ratio"] == pytest.approx(rec["tinyconv_median_s"] / rec["torch_median_s"])
    want = harness.table([run["cases"][n] for n in run["order"]], run["gemm_reference"])
    with open(os.path.join(bench, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start, end = f"<!-- {marker} -->\n", f"\n<!-- /{marker} -->"
    assert start in text and end in text, marker
    assert text.split(start, 1)[1].split(end, 1)[0].strip() == want.strip()
