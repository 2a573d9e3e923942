"""What a second Python thread can buy on this machine: the costs behind the kernels' pool.

    python benchmarks/threads_probe.py               # about 10 seconds
    python benchmarks/threads_probe.py --repeat 31

tinyconv's kernels split work over Python threads (tinyconv/kernels/threads.py): NumPy
releases the GIL inside its copies, ufunc loops and BLAS calls, so two threads can run them
at once. What that buys depends on two costs of the machine, which this script measures:

- **waking a thread**: a ``threading.Event`` round trip between two threads (two wake-ups),
  and an empty ``threads.parallel_map`` over two parts (one hand-off to the pool and back).
  A virtual machine whose idle CPU halts pays a hypervisor exit per wake-up.
- **the GIL between NumPy calls**: two threads each running a loop of one NumPy call on
  their own arrays, against one thread running both loops. Each time a call returns while
  the other thread holds the GIL (running Python between its calls), the returning thread
  sleeps until the GIL is released, and pays a wake-up. So short calls lose, and only
  calls long beside a wake-up gain. The rows give the speedup by call length.

Single-threaded BLAS throughout (OPENBLAS_NUM_THREADS=1, set before NumPy loads), so only
the Python threads run in parallel. Prints; never fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402

from tinyconv.kernels import threads  # noqa: E402


def event_round_trip(count: int = 2000) -> float:
    """Microseconds for one ping-pong of two Events between two threads (two wake-ups)."""
    ping, pong = threading.Event(), threading.Event()

    def other() -> None:
        for _ in range(count):
            ping.wait()
            ping.clear()
            pong.set()

    thread = threading.Thread(target=other)
    thread.start()
    start = time.perf_counter()
    for _ in range(count):
        ping.set()
        pong.wait()
        pong.clear()
    elapsed = time.perf_counter() - start
    thread.join()
    return elapsed / count * 1e6


def empty_split(repeat: int) -> float:
    """Median microseconds of ``threads.parallel_map`` over two parts that do nothing."""
    threads.set_num_threads(2)
    samples = []
    for _ in range(repeat * 10):
        start = time.perf_counter()
        threads.parallel_map(lambda part: None, [0, 1])
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def call_speedup(size: int, calls: int, repeat: int) -> tuple[float, float]:
    """(microseconds per call, speedup of two threads over one) for a loop of ``calls``
    float32 multiplies of ``size`` numbers per thread."""
    arrays = [np.random.default_rng(i).random(size, np.float32) for i in range(2)]
    outs = [np.empty(size, np.float32) for _ in range(2)]

    def loop(i: int) -> None:
        a, out = arrays[i], outs[i]
        for _ in range(calls):
            np.multiply(a, 2.0, out=out)

    def serial() -> float:
        start = time.perf_counter()
        loop(0)
        loop(1)
        return time.perf_counter() - start

    def parallel() -> float:
        thread = threading.Thread(target=loop, args=(1,))
        start = time.perf_counter()
        thread.start()
        loop(0)
        thread.join()
        return time.perf_counter() - start

    one = min(serial() for _ in range(repeat))
    two = min(parallel() for _ in range(repeat))
    return one / (2 * calls) * 1e6, one / two


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=15, help="samples per row (default 15)")
    args = p.parse_args(argv)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"CPUs usable: {cpus}")
    if (cpus or 1) < 2:
        print("one CPU: nothing to split")
        return 0
    print(f"Event round trip between two threads: {event_round_trip():.1f} us")
    print(f"empty parallel_map over 2 parts: {empty_split(args.repeat):.1f} us")
    print("two threads each looping over one NumPy call (float32 multiply), against one thread:")
    print("| numbers per call | us per call | speedup |")
    print("|---|---|---|")
    for size, calls in ((1_000, 2_000), (20_000, 400), (200_000, 40), (2_000_000, 4)):
        per_call, speedup = call_speedup(size, calls, args.repeat)
        print(f"| {size:,} | {per_call:.1f} | {speedup:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
