#!/usr/bin/env python
"""tinyconv's benchmark suite, side by side with PyTorch (issue 5).

    python benchmarks/run.py [--threads 1|2] [--repeat N] [--case NAME ...] [--json PATH] [--quick]

Times each case (warm-up, then the median of many samples; tinyconv and PyTorch
interleaved sample by sample when PyTorch is installed, so machine noise hits
both), prints a table (median times, ratio tinyconv/PyTorch, GFLOP/s, share of
NumPy's float32 GEMM rate, the issue's target and whether it is met), the peak
memory of the big cases (c3, c4, the whole models) measured in fresh processes, and writes
everything as JSON. PyTorch is optional (`pip install ".[bench]"`); without it
the table shows tinyconv alone. Missed targets never make it fail: it exits 0
(1 only when a case could not run at all).

The thread count is pinned for NumPy's BLAS and for PyTorch before either is
imported: this file sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and
MKL_NUM_THREADS first, then imports the rest (benchmarks/harness.py), which
calls torch.set_num_threads. Everything else in the environment is kept and
printed in the header.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
GROUP_NAMES = (
    "edge",
    "micro",
    "small_conv_fwd",
    "small_conv_fwdbwd",
    "c1",
    "c2",
    "depthwise",
    "c3",
    "c4",
    "lenet",
    "resblock",
    "models",
    "ops",
    "gemm",
)  # checked against cases.py once it is imported


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="Time tinyconv against PyTorch (same process, same thread count) on the cases "
        "of issues 5 and 14; print a table and write JSON.",
        epilog="cases: "
        + ", ".join(GROUP_NAMES)
        + " (default: all; 'gemm' is NumPy's matmul rate)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="threads for NumPy's BLAS and for PyTorch (default 1)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="timed samples per library and case (default: per case, 7 to 50; 3 with --quick)",
    )
    p.add_argument(
        "--case",
        action="append",
        metavar="NAME",
        choices=GROUP_NAMES,
        help="run only this case; repeat the option for several",
    )
    p.add_argument(
        "--json",
        metavar="PATH",
        help="where to write the results (default benchmarks/results-<threads>t.json)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="few repetitions and a short warm-up: a smoke test, not a measurement",
    )
    p.add_argument(
        "--no-torch", action="store_true", help="time tinyconv alone even if PyTorch is installed"
    )
    p.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the peak-memory measurements (c3, c4, models)",
    )
    p.add_argument(
        "--no-interleave",
        action="store_true",
        help="time all of tinyconv's samples, then all of PyTorch's (default: alternate)",
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each case, wait (up to SECONDS) until other processes leave the CPUs idle, "
        "and measure a case again (up to 3 times) if a neighbour was busy while it ran: "
        "on a shared machine a neighbour's job distorts timings (default: don't wait)",
    )
    p.add_argument(
        "--memory-probe", nargs=3, metavar=("CASE", "LIB", "METHOD"), help=argparse.SUPPRESS
    )
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error(f"--threads must be >= 1, got {args.threads}")
    if args.repeat is not None and args.repeat < 1:
        p.error(f"--repeat must be >= 1, got {args.repeat}")
    return args


def pin_threads(n: int) -> dict[str, str | None]:
    """Set the BLAS/OpenMP thread variables to n; return what they were before."""
    if "numpy" in sys.modules or "torch" in sys.modules:
        print(
            "warning: NumPy or PyTorch was imported before the thread count was set",
            file=sys.stderr,
        )
    before = {k: os.environ.get(k) for k in THREAD_VARS}
    for k in THREAD_VARS:
        os.environ[k] = str(n)
    return before


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    previous = pin_threads(args.threads)  # before NumPy or PyTorch loads
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    sys.path.insert(1, ROOT)  # time the tinyconv of this checkout, not an installed copy
    import harness  # imports NumPy: only now, after pin_threads

    if set(harness.C.GROUPS) != set(GROUP_NAMES):
        raise SystemExit(
            f"run.py's GROUP_NAMES {GROUP_NAMES} do not match cases.py's {harness.C.GROUPS}"
        )

    return harness.main(args, previous)


if __name__ == "__main__":
    sys.exit(main())
