"""The second core: a small thread pool for the fast kernels (pure NumPy and the stdlib).

NumPy releases the GIL inside its copies, ufunc loops and BLAS calls, so Python
threads that each run such calls on their own part of an array run at the same
time. The fast convolution uses this to spread the chunks of its im2col ->
GEMM -> col2im loop over ``get_num_threads()`` threads (conv_fast.py says what
it buys).

What ``set_num_threads(n)`` controls, like ``torch.set_num_threads`` (which also
sets the threads of PyTorch's own BLAS and OpenMP):

- the number of threads the fast kernels split their work over (this pool: the
  calling thread plus ``n - 1`` workers);
- the thread count of NumPy's BLAS, when the optional ``threadpoolctl`` package
  is installed (tinyconv never requires it: without it, NumPy's BLAS keeps the
  count it read from ``OPENBLAS_NUM_THREADS`` etc. when it loaded).

The default is the BLAS thread count the environment asks for
(``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, first set
one wins), else the CPUs this process may run on (``os.sched_getaffinity``).

Two threads each calling a 2-thread OpenBLAS would ask for 4 threads on 2
cores. So a split region that runs GEMMs limits the BLAS to one thread while it
runs (``blas_single``), when threadpoolctl can; without it, the kernels keep
their GEMMs on the calling thread and leave them to the BLAS's own threads.

Splits are over independent outputs (images, channels) and partial sums are
added in a fixed order, so the pool's splits never change a number. (A GEMM left
to the BLAS's own threads may: OpenBLAS's Haswell kernel rounds some products'
last bit differently at 2 threads than at 1; its SkylakeX kernel does not.)
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _default_num_threads() -> int:
    """The BLAS thread count the environment asks for, else the usable CPU count."""
    for var in _ENV_VARS:
        value = os.environ.get(var, "")
        # OpenBLAS reads the leading integer ("4,2" for nested OpenMP is allowed too)
        head = value.split(",")[0].strip()
        if head.isdigit() and int(head) > 0:
            return int(head)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


_num_threads = _default_num_threads()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_in_worker = threading.local()  # set inside pool tasks: a nested split runs serially


def get_num_threads() -> int:
    """The number of threads the fast kernels split their work over (``torch.get_num_threads``)."""
    return _num_threads


def set_num_threads(n: int, /) -> None:
    """Use ``n`` threads in the fast kernels and, with threadpoolctl installed, in NumPy's BLAS.

    As ``torch.set_num_threads``: ``n`` must be a positive int (a bool is not one),
    else RuntimeError.
    """
    global _num_threads, _pool
    n = _thread_count(n, "set_num_threads")
    with _pool_lock:
        _num_threads = n
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=False)  # idle workers exit; a new pool of the new size starts on demand
    libs = _blas_controllers()
    with _blas_lock:
        if _blas_depth[0]:  # inside a blas_single region: the count it restores on leaving
            _blas_saved[:] = [n] * len(libs)
        else:
            for lib in libs:
                lib.set_num_threads(n)


def _thread_count(n: Any, what: str) -> int:
    """n as a positive int (a bool is not one), else RuntimeError, as PyTorch's setters."""
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise RuntimeError(
            f"{what} expects an int for its argument n, but got {type(n).__name__} {n!r}"
        )
    n = int(n.__index__())
    if n < 1:
        raise RuntimeError(f"{what} expects a positive integer for n, but got {n}")
    return n


_num_interop_threads = _default_num_threads()


def get_num_interop_threads() -> int:
    """The number set by set_num_interop_threads (torch.get_num_interop_threads)."""
    return _num_interop_threads


def set_num_interop_threads(n: int, /) -> None:
    """Record n, a positive int: PyTorch's pool for running independent ops at once, which
    tinyconv does not have (its ops run one after another), so nothing else changes; unlike
    PyTorch's, it may be called again."""
    global _num_interop_threads
    _num_interop_threads = _thread_count(n, "set_num_interop_threads")


def _forget_pool_in_child() -> None:
    """A forked child has none of its parent's worker threads: it starts its own pool."""
    global _pool, _pool_lock, _blas_lock
    _pool, _pool_lock, _blas_lock = None, threading.Lock(), threading.Lock()
    _blas_depth[0] = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def _workers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max(1, _num_threads - 1), thread_name_prefix="tinyconv")
        return _pool


def _take_parts(fn, parts: Sequence[Any], next_index, results: list, first: int | None) -> None:
    """Run part ``first`` (if given), then parts until none is left: each ``next_index()``
    is the next part no thread has taken."""
    _in_worker.active = True
    try:
        i = next_index() if first is None else first
        while i is not None:
            results[i] = fn(parts[i])
            i = next_index()
    finally:
        _in_worker.active = False


def parallel_map(fn: Callable[[Any], T], parts: Sequence[Any]) -> list[T]:
    """``[fn(p) for p in parts]``, the parts run on the pool's threads at once.

    Each thread takes the next part no one has taken, until none is left, so a thread
    that starts late or shares its core with another program takes fewer parts instead
    of holding up the rest. That happens: the operating system sometimes wakes a worker
    on the caller's own core, and PyTorch's OpenMP threads keep spinning on a core for
    milliseconds after their work. Against fixed contiguous halves (measured on the
    2-core machine under load, fwd+bwd right after a PyTorch step, median of 12):
    c2 5.4 -> 4.9 ms, (16, 32, 32, 32) 3x3 25.9 -> 20.0 ms; alone, alike (4.4 / 4.3,
    17.7 / 17.4). Which thread runs a part never changes a number: each part's result
    is its own, returned in the order of ``parts``.

    The calling thread takes parts too; ``min(threads, len(parts)) - 1`` workers join it
    (each hand-off ~10-50 us: split only work much bigger than that). An exception in
    any part stops the handing out and is raised here. Inside a part (or with one
    thread, or one part) it is a plain loop.
    """
    n = len(parts)
    if n <= 1 or _num_threads <= 1 or getattr(_in_worker, "active", False):
        return [fn(p) for p in parts]
    results: list = [None] * n
    taken = iter(range(n))
    lock = threading.Lock()
    failed = []

    def next_index() -> int | None:
        with lock:  # (the GIL would do in CPython; the lock keeps it right without one)
            return None if failed else next(taken, None)

    def work(first: int | None = None) -> None:
        try:
            _take_parts(fn, parts, next_index, results, first)
        except BaseException:
            failed.append(True)
            raise

    first = next_index()  # the caller's first part is part 0, taken before the workers start
    pool = _workers()
    # Each worker runs in a copy of the caller's context: NumPy's error state (a context
    # variable, per thread) follows the caller, so a quiet caller's parts are quiet too.
    futures = [
        pool.submit(contextvars.copy_context().run, work) for _ in range(min(_num_threads, n) - 1)
    ]
    try:
        work(first)
    finally:
        for f in futures:  # wait for all before anything is reused
            f.exception()
    for f in futures:  # (this thread's own error, if any, was raised above)
        f.result()
    return results


def over_blocks(
    n: int,
    size: int,
    run_block: Callable[[slice, Any], None],
    make_work: Callable[[int], Any],
    **errstate: str,
) -> None:
    """``run_block(part, work)`` for the slices ``part`` of ``size`` numbers that cover
    ``range(n)``: the elementwise kernels' loop over cache-sized blocks.

    ``work = make_work(min(n, size))`` is each thread's own scratch (``run_block`` cuts it
    to the part's length); ``errstate`` is set in each thread (NumPy's is per thread). The
    blocks are independent, so the range is cut into one contiguous run of blocks per
    thread (``parallel_map``); a block's numbers never depend on the split. The kernels'
    ufuncs release the GIL, so a second core takes a third to a half off (1M float32, same
    process, 1 -> 2 threads: GELU forward 6.0 -> 4.1 ms, softplus 3.3 -> 2.2 ms).
    """
    starts = range(0, n, size)
    parts = min(_num_threads, len(starts))
    if parts == 0:
        return
    runs = [starts[i * len(starts) // parts : (i + 1) * len(starts) // parts] for i in range(parts)]

    def run(run_starts: range) -> None:
        work = make_work(min(n, size))
        with np.errstate(**errstate):
            for start in run_starts:
                run_block(slice(start, min(n, start + size)), work)

    parallel_map(run, runs)


# --------------------------------------------------------------------------
# NumPy's BLAS threads (through threadpoolctl, when it is installed)
# --------------------------------------------------------------------------

_blas: list | None = None  # threadpoolctl's controllers of the loaded BLAS libraries
_blas_lock = threading.Lock()
_blas_depth = [0]  # blas_single regions open now
_blas_saved: list[int] = []  # the counts to restore when the last one closes


def _blas_controllers() -> list:
    """threadpoolctl's controllers for the loaded BLAS libraries ([] without threadpoolctl)."""
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _blas = []
        else:
            ctl = ThreadpoolController().select(user_api="blas")
            _blas = list(ctl.lib_controllers)
    return _blas


def can_limit_blas() -> bool:
    """Whether ``blas_single`` can limit NumPy's BLAS (threadpoolctl is installed)."""
    return bool(_blas_controllers())


def blas_one_thread() -> bool:
    """Whether NumPy's BLAS runs on one thread now: one thread set, or inside ``blas_single``
    (the pool's chunks), where GEMMs tuned for one core (conv_fast's column blocks) pay."""
    return _num_threads <= 1 or _blas_depth[0] > 0


@contextmanager
def blas_single():
    """NumPy's BLAS runs single-threaded inside (when threadpoolctl can make it so).

    For regions where the pool's threads each run their own GEMMs: a 2-thread
    OpenBLAS in each of two threads would oversubscribe the cores. Setting the
    count is one ctypes call into the library (~1 us).
    """
    libs = _blas_controllers()
    if not libs:
        yield
        return
    with _blas_lock:  # nested or concurrent regions: the first in saves, the last out restores
        if _blas_depth[0] == 0:
            _blas_saved[:] = [lib.get_num_threads() for lib in libs]
            for lib in libs:
                lib.set_num_threads(1)
        _blas_depth[0] += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth[0] -= 1
            if _blas_depth[0] == 0:
                for lib, count in zip(libs, _blas_saved, strict=True):
                    lib.set_num_threads(count)


# OpenBLAS threads a GEMV past about this many matrix entries (2304 * its default
# GEMM_MULTITHREAD_THRESHOLD of 4)
_GEMV_THREADED = 2304 * 4
# ...and matvec splits one over the pool from this many entries
_GEMV_SPLIT = 1 << 20


def matvec(a: Any, v: Any) -> Any:
    """``a (R, K) @ v (K,)`` without leaving NumPy's BLAS threads spinning.

    After a multi-threaded call, OpenBLAS's worker threads spin for ~95 ms waiting for
    more work (measured: a 50 ms sleep right after one burns 50 ms of a core). The
    kernels' own pool then shares the two cores with a spinning thread: batch norm's and
    the global pool's GEMVs left one spinning through every convolution of a residual
    block. So with several threads, a GEMV OpenBLAS would thread runs on one BLAS thread,
    split over the pool by rows when big. Each row's dot product is the same either way
    (the split is by rows), so are the numbers.
    """
    if _num_threads <= 1 or a.size < _GEMV_THREADED or not _blas_controllers():
        return a @ v
    with blas_single():
        rows = a.shape[0]
        if a.size < _GEMV_SPLIT or rows < 2:
            return a @ v
        half = rows // 2 // 16 * 16 or rows // 2  # (the BLAS kernel's row blocks stay whole)
        parts = parallel_map(lambda r: a[r] @ v, [slice(0, half), slice(half, rows)])
        return np.concatenate(parts)


# OpenBLAS threads a GEMM of at least this many multiply-adds (its SMP_THRESHOLD_MIN 65536
# times GEMM_MULTITHREAD_THRESHOLD 4)...
_GEMM_THREADED = 65536 * 4
# ...and matmul keeps it on one BLAS thread up to this many (~0.2 ms on one core)
_GEMM_QUIET = 1 << 24


def matmul(a: Any, b: Any) -> Any:
    """``a @ b`` (np.matmul's rules), without leaving NumPy's BLAS threads spinning after a
    small product.

    With several threads, a product OpenBLAS would thread but that takes well under a
    millisecond on one core (a classifier's ``(64, 400) @ (400, 120)``) runs on one BLAS
    thread: two threads save microseconds there, while the worker they wake spins ~95 ms
    afterwards, through the next convolutions' pool work (see ``matvec``). Bigger products
    keep the BLAS's own threads. (The same sums either way on OpenBLAS's SkylakeX kernel;
    its Haswell kernel may round the last bit of a product it threads differently.)
    """
    if _num_threads <= 1 or a.ndim < 2 or b.ndim < 1:
        return a @ b
    macs = a.size * (b.shape[-1] if b.ndim > 1 else 1)
    if macs < _GEMM_THREADED or macs >= _GEMM_QUIET or not _blas_controllers():
        return a @ b
    with blas_single():
        return a @ b
