"""The machinery behind benchmarks/run.py: environment header, interleaved timing,
peak-memory probes in fresh processes, the table and the JSON file.

Imported by run.py only after the thread count is pinned (it imports NumPy).
"""

from __future__ import annotations

import datetime
import gc
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import cases as C
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUN = os.path.join(HERE, "run.py")
SEED = 0

# Environment variables that change how fast (or with how much memory) either
# library runs; the header prints every one that is set.
ENV_PATTERN = re.compile(
    r"^(OPENBLAS|GOTO|OMP|GOMP|KMP|MKL|BLIS|NVPL|VECLIB|NUMEXPR|ATEN|DNNL|ONEDNN|"
    r"TORCH|PYTORCH|MALLOC|LD_PRELOAD|PYTHONMALLOC|NPY)"
)


# --------------------------------------------------------------------------
# Libraries
# --------------------------------------------------------------------------


def load_torch(threads: int, disabled: bool) -> tuple[Any, str]:
    """(torch module or None, a version string or the reason it is absent)."""
    if disabled:
        return None, "not used (--no-torch)"
    try:
        import torch
    except ImportError:
        return None, "not installed"
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set, or parallel work already started
        pass
    return torch, torch.__version__


def load_tinyconv() -> Any:
    import tinyconv
    import tinyconv.nn.functional
    import tinyconv.optim

    return tinyconv


def to_numpy(x: Any) -> list[np.ndarray]:
    """Flatten what a timed function returned into NumPy arrays (for the agreement check)."""
    if x is None:
        return []
    if isinstance(x, (tuple, list)):
        return [a for item in x for a in to_numpy(item)]
    if isinstance(x, np.ndarray):
        return [x.astype(np.float64)]
    return [np.asarray(x.detach().numpy(), dtype=np.float64)]


def max_rel_diff(a: Any, b: Any) -> float | None:
    """Largest |a - b| over everything returned, relative to the largest |b| (one scale for all,
    so a bias that has converged to ~0 does not turn float32 rounding into a big relative error)."""
    xs, ys = to_numpy(a), to_numpy(b)
    if not xs or len(xs) != len(ys):
        return None
    if any(x.shape != y.shape for x, y in zip(xs, ys, strict=False)):
        return math.inf
    scale = max(max(float(np.max(np.abs(y), initial=0.0)) for y in ys), 1e-30)
    return (
        max(float(np.max(np.abs(x - y), initial=0.0)) for x, y in zip(xs, ys, strict=False)) / scale
    )


# --------------------------------------------------------------------------
# The environment header
# --------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> dict:
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (AttributeError, KeyError, TypeError) as e:  # NumPy < 1.26: no dict form
        return {"name": "unknown", "error": repr(e)}
    return {k: deps.get(k) for k in ("name", "version", "openblas configuration") if deps.get(k)}


def thread_pools() -> list[dict]:
    """What threadpoolctl sees (BLAS and OpenMP pools actually loaded), when it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {k: p.get(k) for k in ("internal_api", "num_threads", "version", "architecture", "prefix")}
        for p in threadpool_info()
    ]


def git_state() -> dict:
    def git(*cmd):
        return subprocess.run(
            ["git", "-C", ROOT, *cmd], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        changed = git("status", "--porcelain", "--", "tinyconv").splitlines()
        return {
            "head": git("rev-parse", "--short", "HEAD"),
            "uncommitted_tinyconv_files": len(changed),
        }
    except (OSError, subprocess.SubprocessError):
        return {}


def environment(args, previous: dict, torch_version: str, tinyconv: Any) -> dict:
    cpus = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cpus
    thread_env = {
        k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    }
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python", os.path.relpath(RUN, os.getcwd())] + sys.argv[1:]),
        "threads": args.threads,
        "thread_env": thread_env,
        "thread_env_before": previous,
        "other_env": {
            k: v
            for k, v in sorted(os.environ.items())
            if ENV_PATTERN.match(k) and k not in thread_env
        },
        "cpu": cpu_model(),
        "cpus": cpus,
        "cpus_usable": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "torch": torch_version,
        "torch_threads": None,
        "tinyconv": getattr(getattr(tinyconv, "version", None), "tinyconv_version", "?"),
        "tinyconv_path": os.path.dirname(tinyconv.__file__),
        "git": git_state(),
        "quick": args.quick,
        "interleaved": None,
    }


def print_header(env: dict, pools: list[dict]) -> None:
    te = " ".join(f"{k}={v}" for k, v in env["thread_env"].items())
    print(f"tinyconv benchmarks, {env['date']}: {env['command']}")
    print(
        f"threads: {env['threads']} ({te}, set by run.py before NumPy/PyTorch load"
        + (f"; torch.get_num_threads() = {env['torch_threads']}" if env["torch_threads"] else "")
        + ")"
    )
    before = {k: v for k, v in env["thread_env_before"].items() if v is not None}
    if before:
        print(
            "  (the environment had "
            + " ".join(f"{k}={v}" for k, v in before.items())
            + ", overridden)"
        )
    if pools:
        print(
            "thread pools loaded: "
            + ", ".join(
                " ".join(
                    str(x) for x in (p["internal_api"], p.get("version"), p["num_threads"]) if x
                )
                + " thr"
                + (f" [{p['architecture']}]" if p.get("architecture") else "")
                for p in pools
            )
        )
    other = " ".join(f"{k}={v}" for k, v in env["other_env"].items())
    print(f"other environment (kept): {other or '(none)'}")
    print(
        f"CPU: {env['cpu']} ({env['cpus']} logical CPUs, {env['cpus_usable']} usable); "
        f"{env['platform']}"
    )
    blas = env["blas"]
    print(
        f"Python {env['python']}, NumPy {env['numpy']}, BLAS {blas.get('name')} "
        f"{blas.get('version', '')}"
        + (
            f" ({blas['openblas configuration'].strip()})"
            if blas.get("openblas configuration")
            else ""
        )
    )
    git = env["git"]
    src = (
        (
            f" (git {git['head']}"
            + (
                f", {git['uncommitted_tinyconv_files']} uncommitted file(s) in tinyconv/"
                if git.get("uncommitted_tinyconv_files")
                else ""
            )
            + ")"
        )
        if git
        else ""
    )
    print(f"PyTorch {env['torch']}; tinyconv {env['tinyconv']} from {env['tinyconv_path']}{src}")
    if env["quick"]:
        print("--quick: few repetitions, short warm-up: a smoke test, not a measurement")


# A case is "noisy" when other processes took more than QUIET_SHARE of the machine's CPU time
# while it ran. run.py's main() raises it to (free CPUs)/(CPUs) + 5% for the thread count used:
# at 1 thread on 2 CPUs a neighbour busy on the other CPU does not compete (measured: NumPy's
# 1-thread sgemm runs at full speed beside one), but anything beyond that does.
QUIET_SHARE = 0.10


def set_noise_limit(threads: int) -> float:
    global QUIET_SHARE
    cpus = os.cpu_count() or 1
    QUIET_SHARE = max(0.10, (cpus - threads) / cpus + 0.05)
    return QUIET_SHARE


class MachineLoad:
    """How much of the machine other processes used while we ran (from /proc/stat and our own
    CPU time): on a shared 2-core machine, a neighbour's busy process distorts the timings."""

    def __init__(self) -> None:
        self.start = self.sample()

    @staticmethod
    def sample() -> tuple[float, float, float] | None:
        """(busy CPU seconds of the whole machine, total CPU seconds, our own CPU seconds)."""
        try:
            with open("/proc/stat", encoding="ascii") as f:
                fields = [
                    float(x) for x in f.readline().split()[1:9]
                ]  # user..steal (guest is in user)
        except (OSError, ValueError):
            return None
        tick = os.sysconf("SC_CLK_TCK")
        busy = (
            sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
        ) / tick  # minus idle, iowait
        t = os.times()
        return busy, sum(fields) / tick, t.user + t.system + t.children_user + t.children_system

    @staticmethod
    def other_share(start, end) -> float | None:
        """Share of all CPU time between two samples used by anything but this process
        (None for windows shorter than about 0.2 s: /proc/stat counts in 10 ms ticks)."""
        if not start or not end:
            return None
        busy, total, ours = (e - s for e, s in zip(end, start, strict=False))
        if total * 100 < 20 * (
            os.cpu_count() or 1
        ):  # under 20 clock ticks per CPU: too coarse to tell
            return None
        return min(1.0, max(0.0, busy - ours) / total)

    def report(self) -> dict:
        return {
            "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "other_processes_cpu_share": self.other_share(self.start, self.sample()),
        }


def wait_quiet(max_wait: float, window: float = 0.5) -> float:
    """Sleep until other processes use under QUIET_SHARE of the CPUs for `window` seconds
    (at most `max_wait` seconds); return how long we waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_wait:
        a = MachineLoad.sample()
        time.sleep(window)
        share = MachineLoad.other_share(a, MachineLoad.sample())
        if share is None or share < QUIET_SHARE:
            break
    return time.perf_counter() - t0


def load_note(start: dict, end: dict, cpus: int) -> str:
    share = end.get("other_processes_cpu_share")
    note = (
        f"machine load: 1-min load average {start['loadavg_1min']:.2f} at start, "
        f"{end['loadavg_1min']:.2f} at end ({cpus} CPUs)"
    )
    if share is not None:
        note += (
            f"; other processes (or the hypervisor) used {share:.0%} of all CPU time during the run"
        )
        if share > QUIET_SHARE:
            note += (
                " -- WARNING: a busy neighbour; these timings are unreliable, rerun on a quiet"
                " machine"
            )
    return note


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------


def warm_and_calibrate(fn: Callable, warmup_s: float, min_sample_s: float) -> int:
    """Run fn until warmup_s has passed (at least twice); return how many calls make one sample."""
    calls, t0 = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - t0
        if calls >= 2 and elapsed >= warmup_s:
            break
    n = 1  # time batches of calls until one batch is long enough to estimate a call's cost
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - t0
        if t >= min_sample_s / 5 or n >= 1 << 20:
            break
        n *= 4
    return max(1, math.ceil(min_sample_s / (t / n))) if t < min_sample_s else 1


SETTLE_STEP_S = 0.001  # settle(): how long each check watches the other threads
SETTLE_MAX_S = 0.15  # settle(): never wait longer than this


def others_running() -> bool | None:
    """Whether another thread of this process is running or waiting for a core right now
    (state R in /proc/self/task/*/stat); None where /proc cannot tell (not Linux)."""
    me = threading.get_native_id()
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in tids:
        if tid == str(me):
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # (the thread has ended)
            continue
        end = stat.rfind(b")")  # the state follows the command name, which may hold spaces
        if stat[end + 2 : end + 3] == b"R":
            return True
    return False


def settle(step_s: float = SETTLE_STEP_S, max_s: float = SETTLE_MAX_S) -> float:
    """Wait until this process's other threads are idle; return the seconds waited.

    Worker threads spin after a parallel call, waiting for more work: PyTorch's OpenMP
    workers for several milliseconds (measured at 2 threads: 4-9 ms of a core burnt while
    the main thread slept right after a depthwise forward+backward), NumPy's OpenBLAS
    workers for ~95 ms after a multi-threaded GEMM. Interleaved, one library's spinning
    workers took a core from the first milliseconds (or, for OpenBLAS's, the whole) of
    the other library's next sample: a cost no program using one library pays. So each
    sample starts once no other thread runs: none in state R (running or runnable) in
    /proc, and none burning CPU time (process time - this thread's). The check busy-waits
    instead of sleeping, so this core never idles: a sleep before each sample made every
    first call slower (waking cores and workers; micro 18 -> 21 us with 0.03-0.1 s pauses).
    Within a sample each library keeps its own workers warm between calls, as in a
    training loop.

    Both tests, because the CPU time of the *other* threads advances only at the kernel's
    scheduler ticks (every 4 ms on the benchmark machine) while they run: a 1 ms check saw
    no change in three windows of four and let a sample start beside a spinning worker.
    Measured after a PyTorch c2 step at 2 threads: settle returned while PyTorch's worker
    went on burning 3-4 ms of every 5 ms for another ~10 ms, into tinyconv's sample (other
    threads' CPU during tinyconv's c2 calls 0.46 ms a call, LeNet's step 1.9 ms, on a
    loaded machine). The /proc state is exact at every check.
    """
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_s:
        others = time.process_time() - time.thread_time()
        start = time.perf_counter()
        while time.perf_counter() - start < step_s:
            time.sleep(0)  # (lets a Python thread run too: it needs the GIL this loop holds)
        burnt = time.process_time() - time.thread_time() - others
        if burnt < step_s / 10 and not others_running():
            break
    return time.perf_counter() - t0


def measure(
    fns: dict[str, Callable], repeat: int, warmup_s: float, min_sample_s: float, interleave: bool
) -> dict:
    """Median seconds per call for each function: every sample times `inner` calls in a row;
    with `interleave` the libraries alternate sample by sample (A B A B ...). Every sample
    starts on idle threads (``settle``)."""
    inner = {lib: warm_and_calibrate(fn, warmup_s, min_sample_s) for lib, fn in fns.items()}
    samples: dict[str, list[float]] = {lib: [] for lib in fns}

    def sample(lib):
        fn, n = fns[lib], inner[lib]
        settle()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples[lib].append((time.perf_counter() - t0) / n)

    if interleave:
        for _ in range(repeat):
            for lib in fns:
                sample(lib)
    else:
        for lib in fns:
            for _ in range(repeat):
                sample(lib)
    return {
        "inner": inner,
        "samples": samples,
        "median": {lib: statistics.median(s) for lib, s in samples.items()},
    }


def measure_quietly(
    run: Callable[[], dict], wait: float, attempts: int = 3
) -> tuple[dict, float | None]:
    """run() once; with `wait` > 0, first wait for a quiet machine, and if a neighbour still
    took more than QUIET_SHARE of the CPUs meanwhile, try again (up to `attempts` times),
    keeping the least disturbed measurement. Returns (measurement, its other-process share)."""
    best, best_share = None, None
    for attempt in range(1, attempts + 1):
        if wait:
            wait_quiet(wait)
        before = MachineLoad.sample()
        m = run()
        share = MachineLoad.other_share(before, MachineLoad.sample())
        if best is None or (share is not None and (best_share is None or share < best_share)):
            best, best_share = m, share
        best["attempts"] = attempt
        if not wait or share is None or share <= QUIET_SHARE:
            break
    return best, best_share


def reference_gemm_rate(quick: bool, interleave: bool, wait: float) -> dict:
    """NumPy's float32 square-matmul rate at this thread count (the '% GEMM' denominator)."""
    n = 1024 if quick else 2048
    case = C._gemm_case(f"gemm_{n}", (n, n), (n, n), "", repeat=3 if quick else 7)
    fn = C.numpy_gemm_setup(case.make_data(np.random.default_rng(SEED)))
    m, share = measure_quietly(
        lambda: measure({"numpy": fn}, case.repeat, 0.05 if quick else 0.5, 0.0, interleave), wait
    )
    sec = m["median"]["numpy"]
    return {
        "case": case.name,
        "shape": [n, n, n],
        "median_s": sec,
        "gflops": case.flops / sec / 1e9,
        "other_cpu_share": share,
    }


# --------------------------------------------------------------------------
# Running the cases
# --------------------------------------------------------------------------


def evaluate_targets(case: C.Case, ratio: float | None, share: float | None) -> dict:
    met = {}
    if case.target_ratio is not None:
        met["ratio"] = None if ratio is None else ratio <= case.target_ratio
    if case.target_gemm_share is not None:
        met["gemm_share"] = None if share is None else share >= case.target_gemm_share
    known = [v for v in met.values() if v is not None]
    if not met:
        overall = None
    elif False in known:
        overall = False
    elif len(known) == len(met):
        overall = True
    else:
        overall = None  # e.g. no PyTorch to compare with
    return {"parts": met, "all": overall}


def run_case(case: C.Case, tinyconv: Any, torch: Any, args, ref_rate: float | None = None) -> dict:
    rec: dict[str, Any] = {
        "name": case.name,
        "group": case.group,
        "description": case.description,
        "flops": case.flops,
        "a_library": "numpy" if case.numpy_setup else "tinyconv",
        "target": {"ratio": case.target_ratio, "gemm_share": case.target_gemm_share},
    }
    rng = np.random.default_rng(SEED)
    data = case.make_data(rng)
    fns: dict[str, Callable] = {}
    if case.numpy_setup:
        fns["tinyconv"] = case.numpy_setup(data)
        if torch is not None:
            fns["torch"] = case.torch_setup(torch, data)
    else:
        fns["tinyconv"] = case.setup(tinyconv, data)
        if torch is not None:
            fns["torch"] = case.setup(torch, data)
    if torch is not None:  # same inputs, same init: the two must compute the same thing
        rec["max_rel_diff"] = max_rel_diff(fns["tinyconv"](), fns["torch"]())
    repeat = args.repeat or (3 if args.quick else case.repeat)
    warmup_s, min_sample_s = (0.01, 0.001) if args.quick else (0.3, 0.02)
    gc.collect()
    m, share = measure_quietly(
        lambda: measure(fns, repeat, warmup_s, min_sample_s, not args.no_interleave),
        args.wait_quiet,
    )
    rec["other_cpu_share"], rec["attempts"] = share, m["attempts"]
    t_a, t_b = m["median"]["tinyconv"], m["median"].get("torch")
    rec.update(
        repeat=repeat,
        inner=m["inner"],
        samples_s=m["samples"],
        tinyconv_median_s=t_a,
        torch_median_s=t_b,
        ratio=(t_a / t_b) if t_b else None,
    )
    if case.flops:
        rec["tinyconv_gflops"] = case.flops / t_a / 1e9
        rec["torch_gflops"] = case.flops / t_b / 1e9 if t_b else None
    else:
        rec["tinyconv_gflops"] = rec["torch_gflops"] = None
    score(case, rec, ref_rate)
    return rec


def score(case: C.Case, rec: dict, ref_rate: float | None) -> None:
    """Fill in the share of the GEMM rate and whether the targets are met."""
    if rec.get("error"):
        return
    g = rec.get("tinyconv_gflops")
    rec["gemm_share"] = g / ref_rate if (g and ref_rate) else None
    rec["met"] = evaluate_targets(case, rec["ratio"], rec["gemm_share"])


# --------------------------------------------------------------------------
# Peak memory, one fresh process per (case, library, method)
# --------------------------------------------------------------------------


def _status_kb(field_name: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so it measures from now on (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


# The probes run with glibc's mmap threshold fixed (unless the environment already fixes it):
# every large buffer is then mmapped and returned to the OS when freed, so RSS follows the
# live memory. With glibc's default (a threshold that adapts upward after frees), freed
# buffers may stay in the heap and fragment it, and PyTorch's c3 peak then varies from
# 135 to 233 MiB from run to run, tinyconv's "retained" from 33 to 82 MiB.
MMAP_THRESHOLD = 128 << 10


def memory_probe(case_name: str, lib: str, method: str, threads: int) -> int:
    """Child process: build the case's inputs, then run its fwd+bwd twice and print one JSON
    line with the peak memory above the baseline (after imports and input creation)."""
    case = next(c for c in C.CASES if c.name == case_name)
    if lib == "torch":
        module, _ = load_torch(threads, False)
        if module is None:
            print(json.dumps({"error": "PyTorch not installed"}))
            return 0
    else:
        module = load_tinyconv()
    data = case.make_data(np.random.default_rng(SEED))
    fn = case.setup(module, data)
    gc.collect()
    base_rss = _status_kb("VmRSS")
    base_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    reset = _reset_peak_rss()
    if method == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
    t0 = time.perf_counter()
    for _ in range(2):  # the second call shows any buffers the first one kept
        fn()
    seconds = (time.perf_counter() - t0) / 2
    out: dict[str, Any] = {
        "case": case_name,
        "lib": lib,
        "method": method,
        "seconds_per_call": seconds,
        "MALLOC_MMAP_THRESHOLD_": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
    }
    if method == "tracemalloc":
        current, peak = tracemalloc.get_traced_memory()
        out.update(peak_mib=peak / 2**20, retained_mib=current / 2**20)
    else:
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        hwm, rss = _status_kb("VmHWM"), _status_kb("VmRSS")
        if reset and hwm is not None and base_rss is not None:
            out.update(
                how="VmHWM after resetting it via /proc/self/clear_refs, minus VmRSS at baseline",
                peak_mib=(hwm - base_rss) / 1024,
            )
        else:
            out.update(
                how="ru_maxrss minus ru_maxrss at baseline", peak_mib=(maxrss - base_maxrss) / 1024
            )
        out.update(
            baseline_rss_mib=(base_rss or 0) / 1024,
            ru_maxrss_delta_mib=(maxrss - base_maxrss) / 1024,
            retained_mib=((rss or 0) - (base_rss or 0)) / 1024,
        )
    print(json.dumps(out))
    return 0


def run_memory_probe(case: str, lib: str, method: str, threads: int) -> dict:
    cmd = [sys.executable, RUN, "--threads", str(threads), "--memory-probe", case, lib, method]
    env = dict(os.environ)
    env.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD))
    try:
        p = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=900, env=env)
    except subprocess.TimeoutExpired:
        return {"case": case, "lib": lib, "method": method, "error": "timed out"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return {
            "case": case,
            "lib": lib,
            "method": method,
            "error": (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1],
        }
    return json.loads(lines[-1])


def measure_memory(selected: list[C.Case], threads: int, have_torch: bool) -> list[dict]:
    rows = []
    for case in selected:
        if not case.memory:
            continue
        print(f"  memory {case.name} ...", file=sys.stderr, flush=True)
        tc = run_memory_probe(case.name, "tinyconv", "rss", threads)
        tm = run_memory_probe(case.name, "tinyconv", "tracemalloc", threads)
        pt = run_memory_probe(case.name, "torch", "rss", threads) if have_torch else None
        row: dict[str, Any] = {
            "case": case.name,
            "tinyconv_rss": tc,
            "tinyconv_tracemalloc": tm,
            "torch_rss": pt,
        }
        a = tc.get("peak_mib")
        b = pt.get("peak_mib") if pt else None
        row["ratio"] = a / b if (a is not None and b) else None
        row["target_ratio"] = case.target_memory_ratio
        row["met"] = (
            None
            if row["target_ratio"] is None or row["ratio"] is None
            else row["ratio"] <= row["target_ratio"]
        )
        rows.append(row)
    return rows


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def fmt_time(s: float | None) -> str:
    if s is None:
        return "n/a"
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def fmt_num(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def fmt_target(rec: dict) -> str:
    t = rec["target"]
    parts = []
    if t.get("ratio") is not None:
        parts.append(f"ratio <= {t['ratio']:g}")
    if t.get("gemm_share") is not None:
        parts.append(f">= {t['gemm_share']:.0%} GEMM")
    return ", ".join(parts) or "-"


def fmt_met(rec: dict) -> str:
    met = rec.get("met") or {"parts": {}, "all": None}
    if not met["parts"]:
        return "-"
    if met["all"] is True:
        return "yes"
    missed = [k for k, v in met["parts"].items() if v is False]
    unknown = [k for k, v in met["parts"].items() if v is None]
    names = {"ratio": "ratio", "gemm_share": "GEMM"}
    if missed:
        return "NO (" + ", ".join(names[k] for k in missed) + ")"
    return "n/a" if len(unknown) == len(met["parts"]) else "n/a (GEMM ok)"


def markdown(head: list[str], rows: list[list]) -> list[str]:
    """A Markdown table, padded so it also reads as plain text."""
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]

    def line(cells):
        return (
            "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"
        )

    return [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [
        line(r) for r in rows
    ]


def table(records: list[dict], ref: dict | None) -> str:
    head = [
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
    rows, noisy = [], []
    for r in records:
        if r.get("error"):
            rows.append([r["name"], "error", "", "", "", "", "", fmt_target(r), r["error"][:60]])
            continue
        name = r["name"] + (" (NumPy)" if r.get("a_library") == "numpy" else "")
        if (r.get("other_cpu_share") or 0) > QUIET_SHARE:
            name += " *"
            noisy.append(f"{r['name']} {r['other_cpu_share']:.0%}")
        rows.append(
            [
                name,
                fmt_time(r["tinyconv_median_s"]),
                fmt_time(r["torch_median_s"]),
                fmt_num(r["ratio"], ".2f") if r["ratio"] is not None else "n/a",
                fmt_num(r["tinyconv_gflops"], ".1f"),
                fmt_num(r["torch_gflops"], ".1f"),
                fmt_num(None if r["gemm_share"] is None else 100 * r["gemm_share"], ".0f"),
                fmt_target(r),
                fmt_met(r),
            ]
        )
    out = markdown(head, rows)
    if noisy:
        out.append(
            f"\n* other processes used more than {QUIET_SHARE:.0%} of the CPU time while this case "
            f"ran ({', '.join(noisy)}): its times are unreliable (rerun, or use --wait-quiet 60)."
        )
    if ref:
        rates = " and ".join(f"{m['gflops']:.1f}" for m in ref.get("measurements", [ref]))
        rate = f"\n% GEMM = tinyconv GFLOP/s / NumPy's float32 {ref['shape'][0]}^3 matmul rate"
        out.append(
            f"{rate} in this run: {ref['gflops']:.1f} GFLOP/s, the faster of {rates} measured at "
            "the start and end."
            if len(ref.get("measurements", [])) > 1
            else f"{rate} in this run: {ref['gflops']:.1f} GFLOP/s ({fmt_time(ref['median_s'])})."
        )
    return "\n".join(out)


def memory_table(rows: list[dict]) -> str:
    head = [
        "case",
        "tinyconv peak RSS",
        "PyTorch peak RSS",
        "ratio",
        "tinyconv tracemalloc peak",
        "tinyconv retained",
        "PyTorch retained",
        "target",
        "met",
    ]

    def mib(d, key="peak_mib"):
        if not d:
            return "n/a"
        return "error: " + d["error"][:40] if "error" in d else f"{d[key]:.1f} MiB"

    body = []
    for r in rows:
        met = (
            "-"
            if r["target_ratio"] is None
            else ("n/a" if r["met"] is None else ("yes" if r["met"] else "NO"))
        )
        body.append(
            [
                r["case"],
                mib(r["tinyconv_rss"]),
                mib(r["torch_rss"]),
                fmt_num(r["ratio"], ".2f"),
                mib(r["tinyconv_tracemalloc"]),
                mib(r["tinyconv_rss"], "retained_mib"),
                mib(r["torch_rss"], "retained_mib"),
                f"ratio <= {r['target_ratio']:g}" if r["target_ratio"] else "-",
                met,
            ]
        )
    out = markdown(head, body)
    how = next((r["tinyconv_rss"].get("how") for r in rows if r["tinyconv_rss"].get("how")), None)
    if how:
        thr = next((r["tinyconv_rss"].get("MALLOC_MMAP_THRESHOLD_") for r in rows), None)
        out.append(
            f"\nPeak = one fresh process per library, fwd+bwd run twice; RSS peak = {how} "
            f"(baseline: after imports and input creation; MALLOC_MMAP_THRESHOLD_={thr}, so freed "
            "buffers leave RSS). tracemalloc sees NumPy's buffers only, so it is given for "
            "tinyconv alone; retained = RSS still held after the calls (gradients, cached buffers)."
        )
    return "\n".join(out)


def summary(records: list[dict], mem: list[dict]) -> str:
    met, missed, unknown = [], [], []
    for r in records:
        m = r.get("met") or {}
        if not m.get("parts"):
            continue
        {True: met, False: missed, None: unknown}[m["all"]].append(r["name"])
    for r in mem:
        if r["target_ratio"] is not None:
            {True: met, False: missed, None: unknown}[r["met"]].append(f"{r['case']} memory")
    lines = [
        f"targets met: {', '.join(met) or 'none'}",
        f"targets missed: {', '.join(missed) or 'none'}",
    ]
    if unknown:
        lines.append(f"not evaluated (no PyTorch to compare with): {', '.join(unknown)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def main(args, previous: dict) -> int:
    if args.memory_probe:
        case, lib, method = args.memory_probe
        return memory_probe(case, lib, method, args.threads)

    set_noise_limit(args.threads)
    load = MachineLoad()
    load_start = {"loadavg_1min": os.getloadavg()[0]}
    torch, torch_version = load_torch(args.threads, args.no_torch)
    tinyconv = load_tinyconv()
    env = environment(args, previous, torch_version, tinyconv)
    env["torch_threads"] = torch.get_num_threads() if torch is not None else None
    env["interleaved"] = torch is not None and not args.no_interleave
    pools = thread_pools()
    env["thread_pools"] = pools
    print_header(env, pools)
    print(f"machine load at start: 1-min load average {load_start['loadavg_1min']:.2f}", flush=True)
    print(flush=True)

    groups = args.case or list(C.GROUPS)
    selected = [c for c in C.CASES if c.group in groups]
    need_ref = any(c.flops for c in selected)
    gemm_rows = [c for c in selected if c.group == "gemm"]
    others = [c for c in selected if c.group != "gemm"]
    records: dict[str, dict] = {}
    ref = None
    errors = 0

    def run(case):
        nonlocal errors
        print(f"  {case.name} ...", file=sys.stderr, flush=True)
        try:
            rec = run_case(case, tinyconv, torch, args)
        except Exception as e:  # noqa: BLE001  (any failure: report it in the table, keep going)
            errors += 1
            traceback.print_exc()
            rec = {
                "name": case.name,
                "group": case.group,
                "description": case.description,
                "target": {"ratio": case.target_ratio, "gemm_share": case.target_gemm_share},
                "error": f"{type(e).__name__}: {e}",
            }
        records[case.name] = rec

    # The GEMM ceiling is measured at the start (the gemm_2048 row when selected) and again at
    # the end, and the faster of the two is the reference: two chances to catch a quiet machine.
    for case in gemm_rows:
        run(case)
    if need_ref:
        r = records.get(C.REFERENCE_GEMM)
        if r and not r.get("error"):
            first = {
                "case": r["name"],
                "shape": [2048] * 3,
                "median_s": r["tinyconv_median_s"],
                "gflops": r["tinyconv_gflops"],
                "other_cpu_share": r.get("other_cpu_share"),
            }
        else:
            first = reference_gemm_rate(args.quick, not args.no_interleave, args.wait_quiet)
    for case in others:
        run(case)
    if need_ref:
        measured = [first]
        if not args.quick and others:
            print("  gemm reference again ...", file=sys.stderr, flush=True)
            measured.append(reference_gemm_rate(False, not args.no_interleave, args.wait_quiet))
        ref = dict(max(measured, key=lambda m: m["gflops"]), measurements=measured)
        for case in selected:
            score(case, records[case.name], ref["gflops"])
    ordered = [records[c.name] for c in selected]

    mem = [] if args.no_memory else measure_memory(selected, args.threads, torch is not None)

    print(table(ordered, ref))
    if torch is None:
        print(
            f'\nPyTorch {torch_version}: ratios are n/a (pip install ".[bench]" for the '
            "comparison)."
        )
    disagree = [
        f"{r['name']} ({r['max_rel_diff']:.1e})"
        for r in ordered
        if r.get("max_rel_diff") is not None and not r["max_rel_diff"] <= 1e-3
    ]
    if disagree:
        print(
            "WARNING: tinyconv and PyTorch results differ (max relative difference) in: "
            + ", ".join(disagree)
        )
    if mem:
        print()
        print(memory_table(mem))
    print()
    print(summary(ordered, mem))
    load_end = load.report()
    env["machine_load"] = {"start": load_start, "end": load_end}
    print(load_note(load_start, load_end, env["cpus"]))

    path = args.json or os.path.join(HERE, f"results-{args.threads}t.json")
    result = {
        "environment": env,
        "gemm_reference": ref,
        "cases": records,
        "order": [c.name for c in selected],
        "memory": {r["case"]: r for r in mem},
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, default=str)
        f.write("\n")
    print(f"\nresults written to {path}")
    if errors:
        print(f"{errors} case(s) could not run (see the error rows above)", file=sys.stderr)
        return 1
    return 0
