"""Microbenchmark of the fast module's convolution kernels against PyTorch, side by side.

    python benchmarks/conv_kernels.py                       # 1 thread, all cases
    python benchmarks/conv_kernels.py --threads 2 --case dw --case c3 --algorithm im2col

Each case is float32 conv2d forward+backward (x, w, b requiring grad, `out.sum().backward()`,
gradients reset before each call), timed in one process for tinyconv (each `--algorithm`,
default "fast") and PyTorch with the same thread count, samples interleaved so that a
neighbour's load hits all alike. Prints medians and bests in ms, the median ratio
tinyconv/PyTorch, the OpenBLAS kernel that ran (threadpoolctl, when installed) and the load
average before and after. Prints; never fails. (benchmarks/run.py is the suite of record.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

# name -> (x shape, out channels, kernel, stride, padding, groups)
CASES = {
    "dw": ((16, 64, 32, 32), 64, 3, 1, 1, 64),
    "dw_s2": ((16, 64, 32, 32), 64, 3, 2, 1, 64),
    "dw_x2": ((16, 32, 32, 32), 64, 3, 1, 1, 32),
    "dw5": ((16, 96, 28, 28), 96, 5, 1, 2, 96),
    "c1": ((64, 1, 28, 28), 6, 5, 1, 0, 1),
    "c2": ((64, 6, 14, 14), 16, 5, 1, 0, 1),
    "c3": ((32, 64, 56, 56), 64, 3, 1, 1, 1),
    "c4": ((8, 3, 224, 224), 64, 7, 2, 3, 1),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--case", action="append", choices=list(CASES))
    parser.add_argument("--algorithm", action="append", help="tinyconv algorithms to time")
    args = parser.parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np

    import tinyconv
    import tinyconv.nn.functional as F

    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    try:
        from threadpoolctl import threadpool_info

        blas = [
            f"{p['internal_api']} {p.get('version')} {p.get('architecture')} x{p['num_threads']}"
            for p in threadpool_info()
            if p["user_api"] == "blas"
        ]
    except ImportError:
        blas = ["threadpoolctl not installed"]
    algos = args.algorithm or ["fast"]
    print(f"threads {args.threads}; BLAS: {'; '.join(blas)}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r}; load {os.getloadavg()}")
    rng = np.random.default_rng(0)
    head = [f"{a} ms (best)" for a in algos] + ["torch ms (best)"] + [f"ratio {a}" for a in algos]
    print("| case | " + " | ".join(head) + " |")
    print("|---|" + "---|" * len(head))
    for name in args.case or list(CASES):
        shape, o, k, s, p, g = CASES[name]
        data = {
            "x": rng.standard_normal(shape).astype(np.float32),
            "w": (rng.standard_normal((o, shape[1] // g, k, k)) * 0.1).astype(np.float32),
            "b": np.zeros(o, np.float32),
        }
        runners = {}
        for lib_name, lib in [("tinyconv", tinyconv), ("torch", torch)]:
            if lib is None:
                continue
            x, w, b = (lib.tensor(data[n].copy(), requires_grad=True) for n in "xwb")

            def step(lib=lib, x=x, w=w, b=b, s=s, p=p, g=g):
                x.grad = w.grad = b.grad = None
                lib.nn.functional.conv2d(x, w, b, stride=s, padding=p, groups=g).sum().backward()

            runners[lib_name] = step
        times = {a: [] for a in algos}
        times["torch"] = []
        for rep in range(args.repeat + 1):
            for a in [*algos, "torch"]:
                if a == "torch" and torch is None:
                    continue
                t0 = time.perf_counter()
                if a == "torch":
                    runners["torch"]()
                else:
                    with tinyconv.kernels.conv_algorithm(a):
                        runners["tinyconv"]()
                if rep:
                    times[a].append(time.perf_counter() - t0)
        med = {a: float(np.median(t)) * 1e3 for a, t in times.items() if t}
        best = {a: min(t) * 1e3 for a, t in times.items() if t}
        cells = [f"{med[a]:.2f} ({best[a]:.2f})" for a in [*algos, "torch"] if a in med]
        cells += [f"{med[a] / med['torch']:.2f}" if "torch" in med else "-" for a in algos]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"load after {os.getloadavg()}")
    del F
    return 0


if __name__ == "__main__":
    sys.exit(main())
