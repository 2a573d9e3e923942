"""The thread pool of the fast kernels (tinyconv/kernels/threads.py) and set_num_threads.

The pool must not change the numbers: the fast convolution splits its chunks of
images over the threads and adds the chunks' weight-gradient shares in chunk
order, so 1, 2 and 3 threads give bit-identical results, forward and backward.
Small test problems are forced into many chunks (``_CHUNK_BYTES = 1``) so the
pool really runs, and the BLAS limit is taken as available even without
threadpoolctl (``blas_single`` is then a no-op), so the split always happens.
"""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import conv2d_configs

import tinyconv
from tinyconv.kernels import conv as PLAIN
from tinyconv.kernels import conv_fast as FAST
from tinyconv.kernels import threads as TH


@pytest.fixture
def restore_threads():
    before = tinyconv.get_num_threads()
    yield
    tinyconv.set_num_threads(before)


@pytest.fixture
def many_chunks(monkeypatch, restore_threads):
    """One image per chunk, every temporary a scratch buffer, and the split always on."""
    monkeypatch.setattr(FAST, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(FAST, "_KEEP_COLS_BYTES", 0)
    monkeypatch.setattr(FAST, "_SCRATCH_MIN_BYTES", 0)
    monkeypatch.setattr(FAST, "_TINY", 0)
    monkeypatch.setattr(FAST, "_DEPTHWISE", False)
    monkeypatch.setattr(FAST, "_THIN_SPLIT_CHUNKS", 2)  # thin weights split too
    monkeypatch.setattr(FAST, "_DW_POOL_BYTES", 0)  # and any depthwise input
    monkeypatch.setattr(TH, "can_limit_blas", lambda: True)
    splits = []  # the thread count of every split (so the tests know the pool ran)
    real = TH.parallel_map

    def spy(fn, parts):
        splits.append(TH.get_num_threads())
        return real(fn, parts)

    monkeypatch.setattr(TH, "parallel_map", spy)
    return splits


# -- set_num_threads / get_num_threads ----------------------------------------------------------


def test_set_and_get_num_threads(restore_threads):
    tinyconv.set_num_threads(3)
    assert tinyconv.get_num_threads() == 3
    tinyconv.set_num_threads(np.int64(1))  # numpy integers are ints, as for PyTorch
    assert tinyconv.get_num_threads() == 1 and type(tinyconv.get_num_threads()) is int
    tinyconv.set_num_threads(2)
    assert tinyconv.get_num_threads() == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, np.float64(2.0), "2", True, None])
def test_set_num_threads_rejects_what_torch_rejects(bad, restore_threads):
    before = tinyconv.get_num_threads()
    with pytest.raises(RuntimeError, match="set_num_threads expects") as info:
        tinyconv.set_num_threads(bad)
    assert tinyconv.get_num_threads() == before
    assert ("positive" in str(info.value)) == (isinstance(bad, int) and not isinstance(bad, bool))
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    try:
        with pytest.raises(RuntimeError, match="set_num_threads expects"):
            torch.set_num_threads(bad)
    finally:
        torch.set_num_threads(threads)


def test_set_num_threads_takes_one_positional_argument():
    with pytest.raises(TypeError):
        tinyconv.set_num_threads()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        tinyconv.set_num_threads(n=2)  # type: ignore[call-arg]


def test_default_is_the_blas_thread_count_else_the_usable_cpus(monkeypatch):
    for var in TH._ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    assert TH._default_num_threads() == len(TH.os.sched_getaffinity(0))
    monkeypatch.setenv("MKL_NUM_THREADS", "5")
    assert TH._default_num_threads() == 5
    monkeypatch.setenv("OMP_NUM_THREADS", "4,2")  # nested OpenMP: the outer count
    assert TH._default_num_threads() == 4
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")  # OpenBLAS's own variable first
    assert TH._default_num_threads() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "0")  # not a count: the next variable
    assert TH._default_num_threads() == 4


def test_set_num_threads_sets_the_blas_threads_when_it_can(restore_threads):
    libs = TH._blas_controllers()  # [] without threadpoolctl: then only the pool changes
    tinyconv.set_num_threads(1)
    assert [lib.get_num_threads() for lib in libs] == [1] * len(libs)
    tinyconv.set_num_threads(2)
    assert [lib.get_num_threads() for lib in libs] == [2] * len(libs)
    with TH.blas_single():
        with TH.blas_single():  # nested: the outer one restores
            assert [lib.get_num_threads() for lib in libs] == [1] * len(libs)
        assert [lib.get_num_threads() for lib in libs] == [1] * len(libs)
    assert [lib.get_num_threads() for lib in libs] == [2] * len(libs)


# -- the pool -----------------------------------------------------------------------------------


def test_parallel_map_order_threads_and_errors(restore_threads):
    tinyconv.set_num_threads(2)
    barrier = threading.Barrier(2, timeout=10)

    def part(i):
        barrier.wait()  # both parts run at once, or this times out
        return i, threading.get_ident()

    (a, ta), (b, tb) = TH.parallel_map(part, [0, 1])
    assert (a, b) == (0, 1) and ta == threading.get_ident() and tb != ta

    def fail(i):
        if i == 2:
            raise ValueError("part 2 failed")
        return i

    with pytest.raises(ValueError, match="part 2 failed"):
        TH.parallel_map(fail, [0, 1, 2, 3])
    # inside a part, a nested split runs on that part's thread
    nested = TH.parallel_map(
        lambda i: TH.parallel_map(lambda j: threading.get_ident(), [0, 1]), [0, 1]
    )
    assert all(len(set(ids)) == 1 for ids in nested)
    tinyconv.set_num_threads(1)
    assert {t for _, t in TH.parallel_map(lambda i: (i, threading.get_ident()), [0, 1, 2])} == {
        threading.get_ident()
    }


def test_a_late_or_stalled_thread_leaves_its_share_to_the_others(restore_threads):
    # The parts go to whichever thread is free: while the worker is held up in its first
    # part (as when it shares a core with another program), the caller runs the rest. With
    # fixed halves (3 parts each) the caller could not reach its 4th part and this would
    # time out.
    tinyconv.set_num_threads(2)
    main = threading.get_ident()
    caller_ran = []
    release = threading.Event()

    def part(i):
        if threading.get_ident() == main:
            caller_ran.append(i)
            if len(caller_ran) == 4:
                release.set()
        else:
            assert release.wait(timeout=10), "the caller did not take the stalled worker's share"
        return i * i

    assert TH.parallel_map(part, list(range(6))) == [i * i for i in range(6)]
    assert len(caller_ran) >= 4 and caller_ran == sorted(caller_ran)


# -- the convolution: the same numbers at any thread count ---------------------------------------


def _conv_all(cfg, dtype):
    """Forward, backward (grad_x, grad_w, grad_b), conv_transpose2d forward and backward."""
    rng = np.random.default_rng(cfg.seed)
    N = cfg.shape[0] + 2  # at least 3 images: 3 threads get one chunk each
    x = rng.standard_normal((N, *cfg.shape[1:])).astype(dtype)
    w = rng.standard_normal(cfg.weight_shape).astype(dtype)
    b = rng.standard_normal(cfg.out_channels).astype(dtype)
    args = (cfg.stride, cfg.padding, cfg.dilation, cfg.groups)
    y, cols = FAST.conv2d_forward(x, w, b, *args)
    g = rng.standard_normal(y.shape).astype(dtype)
    grads = FAST.conv2d_backward(g, x, w, cols, *args)
    out = [y, *grads]
    if cfg.padding[0][0] == cfg.padding[0][1] and cfg.padding[1][0] == cfg.padding[1][1]:
        pad = (cfg.padding[0][0], cfg.padding[1][0])
        # conv_transpose2d: x plays grad_out (O channels in), w maps O -> C/groups
        tw = rng.standard_normal((cfg.out_channels, cfg.shape[1] // cfg.groups, *cfg.kernel_size))
        tw = tw.astype(dtype)
        targs = (cfg.stride, pad, (0, 0), cfg.dilation, cfg.groups)
        yt = FAST.conv_transpose2d_forward(g, tw, None, *targs)
        out += [yt, *FAST.conv_transpose2d_backward(np.ones_like(yt), g, tw, *targs)]
    return out, (x, w, b, g, args)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conv2d_configs(max_batch=3, max_channels=4), st.sampled_from([np.float32, np.float64]))
def test_conv_is_bit_identical_at_1_2_3_threads(many_chunks, cfg, dtype):
    results = {}
    for n in (1, 2, 3):
        tinyconv.set_num_threads(n)
        results[n], (x, w, b, g, args) = _conv_all(cfg, dtype)
    assert set(many_chunks) == {2, 3}
    many_chunks.clear()
    for n in (2, 3):
        for got, ref in zip(results[n], results[1], strict=True):
            assert (got is None) == (ref is None)
            if ref is not None:
                assert got.dtype == ref.dtype and np.array_equal(got, ref), n
    # and the plain path's numbers (conv.py: one im2col, one GEMM)
    y, gx, gw, gb = results[2][:4]
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(y, PLAIN.conv2d_forward(x, w, b, *args)[0], rtol=rtol, atol=rtol)
    ref_x, ref_w, ref_b = PLAIN.conv2d_backward(g, x, w, None, *args)
    np.testing.assert_allclose(gx, ref_x, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gw, ref_w, rtol=rtol, atol=rtol * 10)
    np.testing.assert_allclose(gb, ref_b, rtol=rtol, atol=rtol)


def test_autograd_conv_same_at_1_and_2_threads(many_chunks):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((5, 3, 9, 8)).astype(np.float32)
    w0 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    got = []
    for n in (1, 2):
        tinyconv.set_num_threads(n)
        x = tinyconv.tensor(x0, requires_grad=True)
        w = tinyconv.tensor(w0, requires_grad=True)
        y = tinyconv.nn.functional.conv2d(x, w, padding=1, stride=(1, 2))
        (y * y).sum().backward()
        got.append((y.detach().numpy(), x.grad.numpy(), w.grad.numpy()))
    assert many_chunks == [2, 2]  # forward and backward split
    for a, b in zip(*got, strict=True):
        assert np.array_equal(a, b)


def test_concurrent_callers_with_the_pool_on(many_chunks):
    """Several user threads run split convolutions at once: each thread's scratch
    buffers are its own, so every result equals the one computed alone."""
    tinyconv.set_num_threads(2)
    rng = np.random.default_rng(1)
    problems = [
        (
            rng.standard_normal((4, 3, 10, 9 + i)),
            rng.standard_normal((5, 3, 3, 2)),
        )
        for i in range(4)
    ]
    args = ((1, 1), ((1, 1), (0, 2)), (1, 1), 1)

    def solve(x, w):
        y, cols = FAST.conv2d_forward(x, w, None, *args)
        return [y, *FAST.conv2d_backward(y, x, w, cols, *args)[:2]]

    alone = [solve(x, w) for x, w in problems]
    results = [None] * len(problems)
    barrier = threading.Barrier(len(problems), timeout=30)

    def work(i):
        barrier.wait()
        for _ in range(5):
            results[i] = solve(*problems[i])
            for a, b in zip(results[i], alone[i], strict=True):
                assert np.array_equal(a, b)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(len(problems))]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for i in range(len(problems)):
        for a, b in zip(results[i], alone[i], strict=True):
            assert np.array_equal(a, b)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_pool_works_in_a_forked_child(restore_threads):
    """A forked child has none of the parent's worker threads: it must start its own pool
    instead of queueing work for threads that do not exist (which would hang)."""
    tinyconv.set_num_threads(2)
    assert TH.parallel_map(lambda i: i, [0, 1]) == [0, 1]  # the parent's pool is running
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code, never return into pytest
        code = 3
        try:
            signal.alarm(30)  # a hang ends the child instead of the test run
            ids = TH.parallel_map(lambda i: threading.get_ident(), [0, 1])
            code = 0 if len(set(ids)) == 2 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    conv2d_configs(depthwise=True, max_batch=3, max_channels=4),
    st.sampled_from([np.float32, np.float64]),
    st.booleans(),
    st.booleans(),
)
def test_depthwise_is_bit_identical_at_1_2_3_threads(
    many_chunks, monkeypatch, cfg, dtype, inside, one_chunk
):
    """depthwise.py's work spread over the pool through conv_fast's ``_over_threads``: chunks
    of one image each, or one chunk of all images with its channels cut over the threads
    (``_DW_SPLIT_BYTES``). Forward and both gradients the same to the bit at any thread
    count, with the images outside or side by side (``_layout``)."""
    if one_chunk:
        assume(cfg.shape[1] >= 2)  # one channel cannot be cut
    monkeypatch.setattr(FAST, "_DEPTHWISE", True)
    monkeypatch.setattr(FAST, "_DW_CHUNK_BYTES", 1 << 30 if one_chunk else 1)
    monkeypatch.setattr(FAST, "_DW_SPLIT_BYTES", 0)
    monkeypatch.setattr(FAST, "_DW_BATCH_INSIDE", 1 << 30 if inside else 0)
    many_chunks.clear()
    results = {}
    for n in (1, 2, 3):
        tinyconv.set_num_threads(n)
        rng = np.random.default_rng(cfg.seed)
        x = rng.standard_normal((cfg.shape[0] + 2, *cfg.shape[1:])).astype(dtype)
        w = rng.standard_normal(cfg.weight_shape).astype(dtype)
        b = rng.standard_normal(cfg.out_channels).astype(dtype)
        assert FAST._is_depthwise(x.shape, w.shape, cfg.groups)
        # (1x1 stride-1 unpadded kernels are one GEMM, not depthwise.py's: no chunks to split)
        out = PLAIN.conv2d_output_size(*x.shape[2:], w.shape[2:], *cfg.args[:3])
        assume(not FAST._is_pointwise(w, cfg.stride, cfg.padding, x.shape[2:], out))
        y, cols = FAST.conv2d_forward(x, w, b, *cfg.args)
        g = rng.standard_normal(y.shape).astype(dtype)
        results[n] = (y, *FAST.conv2d_backward(g, x, w, cols, *cfg.args))
    assert set(many_chunks) == {2, 3}  # the pool ran (forward and backward at 2 and 3 threads)
    for n in (2, 3):
        for got, ref in zip(results[n], results[1], strict=True):
            assert got.dtype == ref.dtype and np.array_equal(got, ref), n
    ref = PLAIN.conv2d_forward(x, w, b, *cfg.args)[0]
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(results[1][0], ref, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("rows", [3, 1000, 4097])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matvec_is_the_same_product_at_any_thread_count(rows, dtype, restore_threads):
    """threads.matvec (batch norm's and the global pool's GEMVs) keeps NumPy's BLAS from
    being left spinning: one BLAS thread, split over the pool by rows when big. The
    numbers are a @ v's, bit for bit, at 1, 2 and 3 threads (sizes below, at and past the
    split)."""
    rng = np.random.default_rng(rows)
    a = rng.standard_normal((rows, 1037)).astype(dtype)
    v = rng.standard_normal(1037).astype(dtype)
    TH.set_num_threads(1)
    want = a @ v
    for n in (1, 2, 3):
        TH.set_num_threads(n)
        got = TH.matvec(a, v)
        assert got.dtype == want.dtype and got.shape == (rows,)
        np.testing.assert_array_equal(got, want)
        if n > 1 and TH.can_limit_blas():  # the BLAS count is back where it was
            assert all(lib.get_num_threads() == n for lib in TH._blas_controllers())


@pytest.mark.parametrize("shape", [(64, 400, 120), (8, 512, 1000), (3, 7, 5)])
def test_small_products_are_the_same_at_1_and_2_threads(shape, restore_threads):
    """threads.matmul (Linear's and matmul's GEMMs) runs products below a few milliseconds
    on one BLAS thread at 2 threads (no spinning worker left behind): forward and both
    gradients equal the 1-thread ones bit for bit."""
    m, k, n = shape
    rng = np.random.default_rng(k)
    xs, ws = rng.standard_normal((m, k)), rng.standard_normal((n, k))
    results = []
    for count in (1, 2):
        TH.set_num_threads(count)
        x = tinyconv.tensor(xs, dtype=tinyconv.float32, requires_grad=True)
        w = tinyconv.tensor(ws, dtype=tinyconv.float32, requires_grad=True)
        y = tinyconv.nn.functional.linear(x, w) + (x @ w.t()) * 0.5
        y.backward(tinyconv.ones_like(y))
        results.append([y.detach().numpy(), x.grad.numpy(), w.grad.numpy()])
        if count == 2 and TH.can_limit_blas():  # the BLAS count is back where it was
            assert all(lib.get_num_threads() == 2 for lib in TH._blas_controllers())
    for one, two in zip(*results, strict=True):
        np.testing.assert_array_equal(one, two)


def test_blas_one_thread_inside_blas_single(restore_threads):
    """conv_fast's column blocks run where the BLAS has one thread: at 1 thread, and in
    the pool's chunks (blas_single) at 2."""
    TH.set_num_threads(1)
    assert TH.blas_one_thread()
    TH.set_num_threads(2)
    assert not TH.blas_one_thread()
    with TH.blas_single():
        assert TH.blas_one_thread() == TH.can_limit_blas()
    assert not TH.blas_one_thread()


def test_thin_conv_chunks_stay_on_one_thread_unless_many(monkeypatch, restore_threads):
    """c2's shape at its default knobs: four chunks of 16 images, too few for the pool to
    pay (_pool_pays): at 2 threads they run in turn on this thread, under the one-thread
    BLAS with column blocks, as at 1 thread. With the split forced (_THIN_SPLIT_CHUNKS = 4)
    2 threads share them. The same numbers every way."""
    monkeypatch.setattr(TH, "can_limit_blas", lambda: True)
    splits = []
    real = TH.parallel_map

    def spy(fn, parts):
        splits.append(len(parts))
        return real(fn, parts)

    monkeypatch.setattr(TH, "parallel_map", spy)
    one_thread_blas = []
    real_blocks = FAST._blocks_pay

    def blocks_spy():
        one_thread_blas.append(TH.blas_one_thread())
        return real_blocks()

    monkeypatch.setattr(FAST, "_blocks_pay", blocks_spy)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 6, 14, 14)).astype(np.float32)
    w = (rng.standard_normal((16, 6, 5, 5)) * 0.1).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    g = rng.standard_normal((64, 16, 10, 10)).astype(np.float32)
    args = ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    results = []
    for n, split_chunks in ((1, 8), (2, 8), (2, 4)):
        TH.set_num_threads(n)
        monkeypatch.setattr(FAST, "_THIN_SPLIT_CHUNKS", split_chunks)
        y, cols = FAST.conv2d_forward(x, w, b, *args)
        results.append((y, *FAST.conv2d_backward(g, x, w, cols, *args)))
        if n == 2 and split_chunks == 8:
            assert splits == []  # forward and backward on this thread...
            assert one_thread_blas  # the column blocks asked...
            if TH._blas_controllers():  # ...under one BLAS thread (threadpoolctl sets it)
                assert all(one_thread_blas)
    assert splits == [4, 4]  # forward and backward, when forced
    for got in results[1:]:
        for one, two in zip(results[0], got, strict=True):
            assert one.dtype == two.dtype == np.float32
            np.testing.assert_array_equal(one, two)


def test_small_depthwise_stays_on_one_thread(monkeypatch, restore_threads):
    """LeNet's first layer (one input channel, multiplier 6, as the c1 case) is below
    _DW_POOL_BYTES: at 2 threads depthwise.py's chunks run on this thread, as at 1 thread;
    forced over the pool (_DW_POOL_BYTES = 0) they split. The same numbers every way."""
    monkeypatch.setattr(TH, "can_limit_blas", lambda: True)
    splits = []
    real = TH.parallel_map

    def spy(fn, parts):
        splits.append(len(parts))
        return real(fn, parts)

    monkeypatch.setattr(TH, "parallel_map", spy)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    w = (rng.standard_normal((6, 1, 5, 5)) * 0.2).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    g = rng.standard_normal((64, 6, 28, 28)).astype(np.float32)
    args = ((1, 1), ((2, 2), (2, 2)), (1, 1), 1)
    assert FAST._is_depthwise(x.shape, w.shape, 1) and x.nbytes < FAST._DW_POOL_BYTES
    results = []
    for n, pool_bytes in ((1, FAST._DW_POOL_BYTES), (2, FAST._DW_POOL_BYTES), (2, 0)):
        TH.set_num_threads(n)
        monkeypatch.setattr(FAST, "_DW_POOL_BYTES", pool_bytes)
        y, cols = FAST.conv2d_forward(x, w, b, *args)
        results.append((y, *FAST.conv2d_backward(g, x, w, cols, *args)))
        if n == 2 and pool_bytes:
            assert splits == []
    assert splits  # forced: the input gradient's chunks went over the pool
    for got in results[1:]:
        for one, two in zip(results[0], got, strict=True):
            np.testing.assert_array_equal(one, two)
