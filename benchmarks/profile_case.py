#!/usr/bin/env python
"""Profile tinyconv's side of one benchmark case with cProfile.

    python benchmarks/profile_case.py c3                 # top 25 functions by own time
    python benchmarks/profile_case.py micro --calls 20000 --sort cumulative --top 40
    python benchmarks/profile_case.py lenet --threads 2 --save /tmp/lenet.prof

Runs exactly the function benchmarks/run.py times (same inputs, same code), after
a warm-up call, `--calls` times under cProfile, and prints pstats. For a view
that includes NumPy's C code, run py-spy on the same script instead:

    py-spy record --native -o /tmp/c3.svg -- python benchmarks/profile_case.py c3 --no-profile
    --calls 20
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="benchmarks/profile_case.py", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("case", help="a case name from benchmarks/cases.py (e.g. micro, c3, lenet)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--calls", type=int, help="calls to profile (default: about 2 s worth)")
    p.add_argument("--sort", default="tottime", help="pstats sort key (default tottime)")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--save", metavar="PATH", help="also write the raw profile here")
    p.add_argument("--no-profile", action="store_true", help="just run the calls (for py-spy)")
    args = p.parse_args(argv)

    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = str(args.threads)
    sys.path[:0] = [HERE, ROOT]
    import cProfile
    import pstats
    import time

    import cases as C
    import numpy as np

    import tinyconv

    case = next((c for c in C.CASES if c.name == args.case), None)
    if case is None or case.setup is None:
        p.error(
            f"no tinyconv case {args.case!r}; choose from "
            + ", ".join(c.name for c in C.CASES if c.setup is not None)
        )
    fn = case.setup(tinyconv, case.make_data(np.random.default_rng(0)))
    t0 = time.perf_counter()
    fn()  # warm-up (and the cost of one call)
    one = time.perf_counter() - t0
    calls = args.calls or max(1, int(2.0 / max(one, 1e-6)))
    if args.no_profile:
        for _ in range(calls):
            fn()
        return 0
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    print(
        f"{case.name}: {case.description}; {calls} calls profiled (one unprofiled call: "
        f"{one * 1e3:.3f} ms)"
    )
    stats = pstats.Stats(prof).strip_dirs().sort_stats(args.sort)
    stats.print_stats(args.top)
    if args.save:
        stats.dump_stats(args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
