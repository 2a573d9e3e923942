"""What each trick of tinyconv/kernels/conv_fast.py buys: conv2d forward+backward timed under
the plain im2col path, the fast path, and the fast path with one trick switched off.

    python benchmarks/conv_tricks.py                 # 1 thread, all cases (about a minute)
    python benchmarks/conv_tricks.py --case c1 --repeat 3

Each row is the best of `--repeat` timed calls (after one warm-up), in milliseconds, float32,
x, w and b requiring grad, `out.sum().backward()`: the c1-c4 and small cases of run.py, plus a
1x1 convolution. A trick "off" is its knob in conv_fast set so that the path is never chosen
(the layouts it falls back to compute the same sums). Prints; never fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

# (name, x shape, out channels, kernel, stride, padding)
CASES = [
    ("small", (1, 3, 5, 5), 2, 3, 2, 1),
    ("c1", (64, 1, 28, 28), 6, 5, 1, 0),
    ("c2", (64, 6, 14, 14), 16, 5, 1, 0),
    ("c3", (32, 64, 56, 56), 64, 3, 1, 1),
    ("c4", (8, 3, 224, 224), 64, 7, 2, 3),
    ("1x1", (32, 256, 14, 14), 64, 1, 1, 0),
]

# variant -> (algorithm, conv_fast knobs)
VARIANTS = {
    "im2col": ("im2col", {}),
    "fast": ("fast", {}),
    "no tiny gathers": ("fast", {"_TINY": 0}),
    "no phases/flat rows": ("fast", {"_BIG_COLS": 1 << 62}),
    "no flat rows": ("fast", {"_FLAT_MAX_RUN": 0}),
    "no chunks": ("fast", {"_CHUNK_BYTES": 1 << 62}),
    "no scratch reuse": ("fast", {"_SCRATCH_MIN_BYTES": 1 << 62}),
    "cols not kept": ("fast", {"_KEEP_COLS_BYTES": 0}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--case", action="append", help="only these cases (repeatable)")
    args = parser.parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np

    import tinyconv
    import tinyconv.nn.functional as F
    from tinyconv.kernels import conv_fast

    @contextlib.contextmanager
    def variant(name):
        algo, knobs = VARIANTS[name]
        saved = {k: getattr(conv_fast, k) for k in knobs}
        try:
            for k, v in knobs.items():
                setattr(conv_fast, k, v)
            with tinyconv.kernels.conv_algorithm(algo):
                yield
        finally:
            for k, v in saved.items():
                setattr(conv_fast, k, v)

    cases = [c for c in CASES if not args.case or c[0] in args.case]
    rng = np.random.default_rng(0)
    print(f"conv2d forward+backward, float32, {args.threads} thread(s), best of {args.repeat}, ms")
    print("| variant | " + " | ".join(c[0] for c in cases) + " |")
    print("|---|" + "---|" * len(cases))
    tensors = []
    for _, shape, o, k, s, p in cases:
        x = tinyconv.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
        w = tinyconv.tensor(
            rng.standard_normal((o, shape[1], k, k)).astype(np.float32) * 0.1, requires_grad=True
        )
        b = tinyconv.tensor(np.zeros(o, np.float32), requires_grad=True)
        tensors.append((x, w, b, s, p))
    # Variants are interleaved (one sample of each in turn, `--repeat` rounds), so a
    # neighbour's load on a shared machine slows them all alike; each keeps its best sample.
    best = {(name, i): float("inf") for name in VARIANTS for i in range(len(tensors))}
    for i, (x, w, b, s, p) in enumerate(tensors):
        calls = max(1, int(2e5 // x.numel()))  # small problems: time many calls at once
        for rep in range(args.repeat + 1):
            for name in VARIANTS:
                with variant(name):
                    t0 = time.perf_counter()
                    for _ in range(calls):
                        x.grad = w.grad = b.grad = None
                        F.conv2d(x, w, b, stride=s, padding=p).sum().backward()
                    if rep:  # the first round is the warm-up
                        best[name, i] = min(best[name, i], (time.perf_counter() - t0) / calls)
    for name in VARIANTS:
        cells = [best[name, i] * 1e3 for i in range(len(tensors))]
        print(
            f"| {name} | " + " | ".join(f"{c:.3f}" if c < 10 else f"{c:.1f}" for c in cells) + " |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
