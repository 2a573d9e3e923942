"""tinyconv's random stream is PyTorch's: the same seed gives the same rand/uniform_/randint/
randperm/random_ numbers bit for bit, normal ones within a few float32 ulp, the same initial
weights of Linear/Conv2d/LeNet, the same shuffled batches, and get_rng_state's bytes. The first
part needs no torch (determinism, state round trips, the exact fma helpers, known values);
the rest compares with PyTorch 2.13."""

from __future__ import annotations

import functools
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyconv
from tinyconv import _rng
from tinyconv.utils.data import DataLoader, RandomSampler, SubsetRandomSampler, random_split

# -- without torch ----------------------------------------------------------------------------


def test_known_first_values_of_the_mt19937_stream():
    # mt19937 seeded with 0 (init_genrand) starts 2357136044, 2546248239: PyTorch's rand takes
    # the low 24 bits of a word, a float64 the low 53 bits of (first << 32 | second)
    tinyconv.manual_seed(0)
    assert tinyconv.rand(1).item() == (2357136044 & 0xFFFFFF) / 2**24
    tinyconv.manual_seed(0)
    want = ((2357136044 << 32 | 2546248239) & (2**53 - 1)) / 2**53
    assert tinyconv.rand(1, dtype=tinyconv.float64).item() == want
    tinyconv.manual_seed(0)
    assert tinyconv.randint(0, 1000, (1,)).item() == 2357136044 % 1000


def test_same_seed_same_numbers_and_seeds_mod_2_32_share_a_stream():
    def draw() -> list:
        return [
            tinyconv.rand(5).tolist(),
            tinyconv.randn(20).tolist(),
            tinyconv.randn(3, dtype=tinyconv.float64).tolist(),
            tinyconv.randint(0, 7, (6,)).tolist(),
            tinyconv.randperm(9).tolist(),
        ]

    tinyconv.manual_seed(123)
    a = draw()
    tinyconv.manual_seed(123)
    assert draw() == a
    tinyconv.manual_seed(123 + 2**32)  # as PyTorch: the twister is seeded with 32 bits
    assert draw() == a
    assert tinyconv.initial_seed() == 123 + 2**32
    tinyconv.manual_seed(-1)
    assert tinyconv.initial_seed() == 2**64 - 1


def test_rng_state_round_trip_restores_the_stream_and_the_cached_normal():
    tinyconv.manual_seed(5)
    tinyconv.randn(1, dtype=tinyconv.float64)  # leaves the pair's second sample cached
    state = tinyconv.get_rng_state()
    assert state.dtype == tinyconv.uint8 and tuple(state.shape) == (5056,)
    a = [tinyconv.randn(3).tolist(), tinyconv.rand(700).tolist(), tinyconv.randperm(5).tolist()]
    tinyconv.set_rng_state(state)
    b = [tinyconv.randn(3).tolist(), tinyconv.rand(700).tolist(), tinyconv.randperm(5).tolist()]
    assert a == b
    assert tinyconv.get_rng_state().tolist() != state.tolist()


def test_generator_is_its_own_stream():
    g = tinyconv.Generator()
    assert g.initial_seed() == 67280421310721  # PyTorch's default for a new Generator
    assert g.manual_seed(3) is g
    tinyconv.manual_seed(0)
    a = tinyconv.rand(4, generator=g).tolist()
    b = tinyconv.rand(4).tolist()
    tinyconv.manual_seed(0)
    assert tinyconv.rand(4).tolist() == b  # drawing from g left the global stream alone
    g2 = tinyconv.Generator().manual_seed(3)
    assert tinyconv.rand(4, generator=g2).tolist() == a
    g2.set_state(g.get_state())
    assert tinyconv.randn(17, generator=g2).tolist() == tinyconv.randn(17, generator=g).tolist()


def test_bad_seeds_states_and_generators_raise():
    with pytest.raises(RuntimeError, match="seed must be in"):
        tinyconv.manual_seed(2**64)
    with pytest.raises(TypeError, match="seed must be an int"):
        tinyconv.Generator().manual_seed(1.5)
    with pytest.raises(RuntimeError, match="5056 bytes"):
        tinyconv.set_rng_state(tinyconv.zeros(10, dtype=tinyconv.uint8))
    with pytest.raises(RuntimeError, match="state is invalid"):
        tinyconv.set_rng_state(tinyconv.zeros(5056, dtype=tinyconv.uint8))
    with pytest.raises(TypeError, match="tinyconv.Generator"):
        tinyconv.rand(2, generator=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="expected low < high"):
        tinyconv.randint(3, 3, (2,))
    with pytest.raises(RuntimeError, match="floating point"):
        tinyconv.rand(2, dtype=tinyconv.int64)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_draws_do_not_depend_on_the_chunk_size(monkeypatch, dtype):
    # big draws run through _rng's pipeline a chunk at a time; smaller chunks (cutting Box-Muller
    # blocks and the redrawn tail at other places) must give the same numbers, bit for bit
    def draw():
        g = _rng.Generator().manual_seed(5)
        return [
            _rng.uniform(g, (1000,), dtype),
            _rng.uniform(g, (999,), dtype, -0.3, 2.5),
            _rng.normal(g, (1000,), dtype),
            _rng.normal(g, (21, 47), dtype, 0.5, 3.0),
            g._words(4),
        ]

    whole = draw()
    monkeypatch.setattr(_rng, "_CHUNK", 48)
    for a, b in zip(whole, draw(), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a.view(np.uint8), b.view(np.uint8))


def test_randint_takes_high_alone_with_size_by_keyword():
    # minGPT: torch.randint(self.num_digits, size=(self.length,)): the one number is high
    for call in (
        lambda: tinyconv.randint(3, size=(50,)),
        lambda: tinyconv.randint(high=3, size=(50,)),
        lambda: tinyconv.randint(0, 3, (50,)),
        lambda: tinyconv.randint(3, (50,)),
    ):
        tinyconv.manual_seed(4)
        got = call().tolist()
        tinyconv.manual_seed(4)
        assert got == tinyconv.randint(0, 3, (50,)).tolist() and set(got) == {0, 1, 2}
    tinyconv.manual_seed(4)
    assert min(tinyconv.randint(2, high=5, size=(50,)).tolist()) == 2


def test_randint_randperm_random_ranges():
    tinyconv.manual_seed(1)
    big = tinyconv.randint(-(2**40), 2**40, (500,)).numpy()
    assert big.min() >= -(2**40) and big.max() < 2**40 and np.ptp(big) > 2**39
    assert sorted(tinyconv.randperm(1000).tolist()) == list(range(1000))
    assert tinyconv.randperm(0).tolist() == [] and tinyconv.randperm(1).tolist() == [0]
    x = tinyconv.empty(300, dtype=tinyconv.uint8).random_()
    assert x.numpy().max() > 200
    y = tinyconv.empty(300).random_(-3, 4).numpy()
    assert set(y.tolist()) == {-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0}


def _exact_fma(x: float, r: float, c: float) -> Fraction:
    return Fraction(x) * Fraction(r) + Fraction(c)


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)


@given(st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=20), finite, finite)
def test_fma64_rounds_once(xs, r, c):
    got = _rng._fma64(np.array(xs), r, c)
    want = [float(_exact_fma(x, r, c)) for x in xs]  # Fraction -> float rounds to nearest
    assert got.tolist() == want


def _check_fma32(xs: list, r: float, c: float, bits24: bool) -> None:
    got = _rng._fma32(np.array(xs, np.float32), np.float32(r), np.float32(c), bits24)
    exact = [_exact_fma(x, r, c) for x in xs]
    # the float32 nearest to the exact value: the nearer of the two float32 neighbours of the
    # float64 nearest (ties to the even one)
    for g, e in zip(got.tolist(), exact, strict=True):
        f = np.float32(float(e))
        lo, hi = (
            (np.nextafter(f, np.float32(-np.inf)), f)
            if Fraction(float(f)) > e
            else (
                f,
                np.nextafter(f, np.float32(np.inf)),
            )
        )
        dlo, dhi = e - Fraction(float(lo)), Fraction(float(hi)) - e
        even = lo if int(np.array(lo).view(np.int32)) % 2 == 0 else hi
        want = lo if dlo < dhi else hi if dhi < dlo else even
        assert g == float(want)


floats32 = st.floats(-1e4, 1e4, width=32, allow_subnormal=False)


@given(st.lists(st.integers(0, 2**24 - 1), min_size=1, max_size=20), floats32, floats32)
def test_fma32_rounds_once_for_uniform_draws(ks, r, c):
    # x: uniform draws (multiples of 2**-24), through the 24-bit shortcut and the general path
    xs = [k * 2.0**-24 for k in ks]
    _check_fma32(xs, r, c, True)
    _check_fma32(xs, r, c, False)


@given(st.lists(st.floats(-8, 8, width=32), min_size=1, max_size=20), floats32, floats32)
def test_fma32_rounds_once(xs, r, c):
    _check_fma32(xs, r, c, False)


# -- against PyTorch 2.13 ------------------------------------------------------------------------

SEEDS = [0, 1, 42, 2**40 + 3, -7]


def _both(seed):
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    tinyconv.manual_seed(seed)
    return torch


def _ulps(a, b) -> int:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    it = np.int32 if a.dtype == np.float32 else np.int64
    return int(np.abs(a.view(it).astype(np.int64) - b.view(it).astype(np.int64)).max(initial=0))


@pytest.mark.torch
@pytest.mark.parametrize("seed", SEEDS)
def test_uniform_is_bitwise_pytorchs(seed):
    torch = _both(seed)
    for dt in ("float32", "float64"):
        td, cd = getattr(torch, dt), getattr(tinyconv, dt)
        assert np.array_equal(torch.rand(3, 5, dtype=td).numpy(), tinyconv.rand(3, 5, dtype=cd))
        for a, b in [(-0.3, 0.3), (2.0, 7.5), (-1e-3, 5.0), (-0.4472135954999579, 0.44721359)]:
            want = torch.empty(257, dtype=td).uniform_(a, b).numpy()
            assert np.array_equal(tinyconv.empty(257, dtype=cd).uniform_(a, b).numpy(), want)
        n = 2 * (1 << 16) + 7  # drawn in three chunks
        assert np.array_equal(torch.rand(n, dtype=td).numpy(), tinyconv.rand(n, dtype=cd))
        x = torch.zeros(4, 4, dtype=td)
        assert np.array_equal(
            torch.rand_like(x).numpy(), tinyconv.rand_like(tinyconv.zeros(4, 4, dtype=cd))
        )
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())


@pytest.mark.torch
@pytest.mark.parametrize("seed", SEEDS)
def test_small_normals_are_bitwise_and_share_the_cached_sample(seed):
    # fewer than 16: PyTorch's scalar float64 Box-Muller, the second sample kept for later
    torch = _both(seed)
    for dt in ("float32", "float64"):
        td, cd = getattr(torch, dt), getattr(tinyconv, dt)
        for n, mean, std in [(1, 0.0, 1.0), (3, 0.5, 3.0), (15, -2.0, 0.01), (1, 0.0, 1.0)]:
            want = torch.empty(n, dtype=td).normal_(mean, std).numpy()
            assert np.array_equal(tinyconv.empty(n, dtype=cd).normal_(mean, std).numpy(), want)
        assert np.array_equal(torch.randn(2, 2, dtype=td).numpy(), tinyconv.randn(2, 2, dtype=cd))
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())


@pytest.mark.torch
@pytest.mark.parametrize("seed", SEEDS)
def test_large_normals_match_within_a_few_ulp(seed):
    # 16 or more: uniforms then Box-Muller on blocks of 16 (the tail block redrawn). PyTorch's
    # SLEEF log/sin/cos (float32) and libm (float64) differ from NumPy's by up to an ulp, which
    # becomes up to 3 float32 ulp (2 float64 ulp) in a unit normal; the stream stays aligned
    # (70001: over one chunk of _rng's pipeline)
    torch = _both(seed)
    for n in (16, 17, 100, 1000, 4099, 70001):
        assert _ulps(torch.randn(n).numpy(), tinyconv.randn(n).numpy()) <= 3
        want = torch.randn(n, dtype=torch.float64).numpy()
        assert _ulps(want, tinyconv.randn(n, dtype=tinyconv.float64).numpy()) <= 2
        want = torch.empty(n).normal_(0.5, 3.0).numpy()  # (near 0, an ulp of 3 z is many of x)
        np.testing.assert_allclose(tinyconv.empty(n).normal_(0.5, 3.0), want, rtol=0, atol=2e-6)
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())
    m, s = torch.rand(40), torch.rand(40)
    cm, cs = tinyconv.rand(40), tinyconv.rand(40)
    np.testing.assert_allclose(tinyconv.normal(cm, cs), torch.normal(m, s), rtol=0, atol=2e-6)
    np.testing.assert_allclose(tinyconv.normal(1.5, cs), torch.normal(1.5, s), rtol=0, atol=2e-6)
    np.testing.assert_allclose(tinyconv.normal(cm, 2.0), torch.normal(m, 2.0), rtol=0, atol=2e-6)
    assert np.array_equal(torch.rand(5).numpy(), tinyconv.rand(5).numpy())


@pytest.mark.torch
@pytest.mark.parametrize("seed", SEEDS)
def test_integers_and_permutations_are_pytorchs(seed):
    torch = _both(seed)
    for low, high in [(0, 10), (-5, 9), (-3, 2**33), (0, 2**62)]:
        assert np.array_equal(
            torch.randint(low, high, (33,)).numpy(), tinyconv.randint(low, high, (33,))
        )
    x = torch.zeros(3, 4, dtype=torch.int32)
    got = tinyconv.randint_like(tinyconv.zeros(3, 4, dtype=tinyconv.int32), 100)
    assert np.array_equal(torch.randint_like(x, 100).numpy(), got.numpy())
    for dt in ("int64", "int32", "int16", "int8", "uint8", "float32", "float64", "bool"):
        want = torch.empty(9, dtype=getattr(torch, dt)).random_().numpy()
        assert np.array_equal(tinyconv.empty(9, dtype=getattr(tinyconv, dt)).random_(), want)
    assert np.array_equal(torch.empty(9).random_(7).numpy(), tinyconv.empty(9).random_(7))
    assert np.array_equal(torch.empty(9).random_(-4, 4).numpy(), tinyconv.empty(9).random_(-4, 4))
    for n in (1, 2, 10, 1000, 70000):
        assert np.array_equal(torch.randperm(n).numpy(), tinyconv.randperm(n).numpy())
    tg, cg = torch.Generator().manual_seed(seed), tinyconv.Generator().manual_seed(seed)
    assert np.array_equal(torch.randperm(50, generator=tg), tinyconv.randperm(50, generator=cg))
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())


@pytest.mark.torch
def test_state_bytes_cross_between_the_libraries():
    torch = _both(9)
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())
    torch.randn(1, dtype=torch.float64)
    tinyconv.randn(1, dtype=tinyconv.float64)
    torch.rand(1000)
    tinyconv.rand(1000)
    state = tinyconv.get_rng_state()
    assert np.array_equal(torch.get_rng_state().numpy(), state.numpy())
    want = torch.randn(5, dtype=torch.float64).numpy()
    tinyconv.manual_seed(0)
    tinyconv.set_rng_state(tinyconv.tensor(torch.get_rng_state().numpy()))  # not yet advanced
    torch.set_rng_state(torch.from_numpy(state.numpy().copy()))
    assert np.array_equal(torch.randn(5, dtype=torch.float64).numpy(), want)
    tinyconv.set_rng_state(state)
    assert np.array_equal(tinyconv.randn(5, dtype=tinyconv.float64).numpy(), want)
    tg = torch.Generator()
    assert tinyconv.Generator().initial_seed() == tg.initial_seed()
    assert np.array_equal(tg.get_state().numpy(), tinyconv.Generator().get_state().numpy())


class _LeNet:
    @staticmethod
    def build(nn):
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, 10),
        )


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 7])
def test_default_init_is_bitwise_pytorchs(seed):
    torch = _both(seed)
    assert np.array_equal(
        torch.nn.Linear(5, 3).weight.detach().numpy(),
        tinyconv.nn.Linear(5, 3).weight.detach().numpy(),
    )
    a, b = torch.nn.Conv2d(3, 8, 3).state_dict(), tinyconv.nn.Conv2d(3, 8, 3).state_dict()
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k].numpy()) for k in a)
    a, b = _LeNet.build(torch.nn).state_dict(), _LeNet.build(tinyconv.nn).state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].numpy().dtype == b[k].numpy().dtype == np.float32
        assert np.array_equal(a[k].numpy(), b[k].numpy()), k


@pytest.mark.torch
def test_init_functions_follow_pytorchs_stream():
    torch = _both(3)
    ti, ci = torch.nn.init, tinyconv.nn.init
    for fn, args in [
        ("uniform_", (-0.2, 0.7)),
        ("xavier_uniform_", ()),
        ("kaiming_uniform_", ()),
        ("normal_", (0.1, 0.5)),
        ("xavier_normal_", ()),
        ("kaiming_normal_", ()),
    ]:
        want = getattr(ti, fn)(torch.empty(20, 30), *args).numpy()
        got = getattr(ci, fn)(tinyconv.empty(20, 30), *args).numpy()
        np.testing.assert_allclose(got, want, rtol=4e-7, atol=1e-7, err_msg=fn)
        if "uniform" in fn:
            assert np.array_equal(got, want)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (mean far outside [a, b] warns in both)
        for kw in [{"std": 0.02}, {}, {"mean": 0.3, "a": 0.0, "b": 0.5}, {"mean": 3, "b": 0.2}]:
            want = ti.trunc_normal_(torch.empty(64, 33), **kw).numpy()
            got = ci.trunc_normal_(tinyconv.empty(64, 33), **kw).numpy()
            np.testing.assert_allclose(got, want, rtol=4e-7, atol=1e-7, err_msg=str(kw))
    want = ti.orthogonal_(torch.empty(6, 10)).numpy()  # the QR's rounding differs
    np.testing.assert_allclose(ci.orthogonal_(tinyconv.empty(6, 10)).numpy(), want, atol=1e-6)
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 3])
def test_shuffled_batches_and_splits_are_pytorchs(seed):
    torch = _both(seed)
    from torch.utils import data as td

    data = list(range(23))
    for _ in range(2):  # every pass draws a new order (and a worker base seed) in both
        want = [b.tolist() for b in td.DataLoader(data, batch_size=4, shuffle=True)]
        assert [b.tolist() for b in DataLoader(data, batch_size=4, shuffle=True)] == want
    tg, cg = torch.Generator().manual_seed(5), tinyconv.Generator().manual_seed(5)
    want = [b.tolist() for b in td.DataLoader(data, batch_size=5, shuffle=True, generator=tg)]
    assert [b.tolist() for b in DataLoader(data, batch_size=5, shuffle=True, generator=cg)] == want
    want = [list(s) for s in td.random_split(range(10), [0.7, 0.3])]
    assert [list(s) for s in random_split(range(10), [0.7, 0.3])] == want
    assert list(SubsetRandomSampler([3, 5, 8, 13])) == list(td.SubsetRandomSampler([3, 5, 8, 13]))
    want = list(td.RandomSampler(range(6), replacement=True, num_samples=40))
    assert list(RandomSampler(range(6), replacement=True, num_samples=40)) == want
    want = list(td.RandomSampler(range(6), num_samples=15))
    assert list(RandomSampler(range(6), num_samples=15)) == want
    # with replacement PyTorch draws 32 at a time, lazily (minGPT asks for num_samples=1e10);
    # the global stream is read at the first index, not at iter()
    it, want_it = (
        iter(RandomSampler(range(7), True, 10**10)),
        iter(td.RandomSampler(range(7), True, 10**10)),
    )
    tinyconv.rand(1), torch.rand(1)
    assert [next(it) for _ in range(70)] == [next(want_it) for _ in range(70)]
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())


@pytest.mark.torch
def test_views_are_filled_along_memory_as_pytorch_does():
    # PyTorch fills a transposed or strided view in memory order, and draws normals for a
    # non-contiguous one element by element (its small-tensor path)
    torch = _both(11)
    views = [
        lambda lib: lib.zeros(4, 5).t(),
        lambda lib: lib.zeros(4, 10)[:, ::2],
        lambda lib: lib.zeros(2, 3, 4).permute(2, 0, 1),
        lambda lib: lib.zeros(40)[::2],
    ]
    fills = [lambda x: x.uniform_(-1, 2), lambda x: x.normal_(0.5, 2.0), lambda x: x.random_(100)]
    for view in views:
        for fill in fills:
            assert np.array_equal(fill(view(torch)).numpy(), fill(view(tinyconv)).numpy())
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())


@functools.cache
def _pytorch_uses_its_default_bernoulli() -> bool:
    """Whether this PyTorch's bernoulli_(p) draws through its own stream, as tinyconv does
    (seen on Intel Xeon and AMD EPYC machines with the 2.13 CPU wheel), and not through MKL's
    generator, which some MKL builds use on Intel processors: asked of PyTorch itself."""
    import torch

    states = torch.get_rng_state(), tinyconv.get_rng_state()  # (the caller's streams kept)
    try:
        torch.manual_seed(0)
        tinyconv.manual_seed(0)
        theirs = torch.empty(256, dtype=torch.float64).bernoulli_(0.5).numpy()
        ours = tinyconv.empty(256, dtype=tinyconv.float64).bernoulli_(0.5).numpy()
    finally:
        torch.set_rng_state(states[0])
        tinyconv.set_rng_state(states[1])
    return bool(np.array_equal(theirs, ours))


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 5])
def test_dropout_masks(seed):
    torch = _both(seed)
    F, tF = tinyconv.nn.functional, torch.nn.functional
    x = np.arange(1.0, 61.0, dtype=np.float32).reshape(3, 4, 5)
    got = [
        F.dropout(tinyconv.tensor(x), 0.4).numpy(),
        F.dropout2d(tinyconv.tensor(x[None]), 0.5).numpy(),
        F.dropout(tinyconv.tensor(x), 1.0).numpy(),  # p = 1 draws nothing, as PyTorch
        F.dropout(tinyconv.tensor(x, dtype=tinyconv.float64), 0.3).numpy(),
    ]
    if _pytorch_uses_its_default_bernoulli():
        tx = torch.tensor(x)
        want = [
            tF.dropout(tx, 0.4).numpy(),
            tF.dropout2d(tx[None], 0.5).numpy(),
            tF.dropout(tx, 1.0).numpy(),
            tF.dropout(tx.double(), 0.3).numpy(),
        ]
        for g, w in zip(got, want, strict=True):
            assert np.array_equal(g, w)
        assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())
    # the rule itself: a float64 uniform < 1 - p keeps, kept values divided by 1 - p
    tinyconv.manual_seed(seed)
    u = tinyconv.rand(3, 4, 5, dtype=tinyconv.float64).numpy()
    assert np.array_equal(got[0], x * ((u < 0.6).astype(np.float32) / np.float32(0.6)))


def test_dropout_mask_follows_the_inputs_memory_order():
    # PyTorch draws the mask into empty_like(input), in memory order: the mask of a transposed
    # input is the transposed mask of its memory, and the result keeps the input's strides
    F = tinyconv.nn.functional
    base = tinyconv.arange(1.0, 25.0).reshape(2, 3, 4)
    for perm in [(1, 0, 2), (2, 0, 1), (0, 2, 1)]:
        tinyconv.manual_seed(2)
        want = F.dropout(base, 0.5).permute(*perm)
        tinyconv.manual_seed(2)
        got = F.dropout(base.permute(*perm), 0.5)
        assert np.array_equal(got.numpy(), want.numpy()) and got.stride() == want.stride()
        tinyconv.manual_seed(2)
        want = F.alpha_dropout(base, 0.5, True).permute(*perm)
        tinyconv.manual_seed(2)
        assert np.array_equal(F.alpha_dropout(base.permute(*perm), 0.5, True).numpy(), want.numpy())
    tinyconv.manual_seed(2)
    want = F.dropout(tinyconv.ones(4, 3), 0.5)
    tinyconv.manual_seed(2)  # a slice keeps C order (its strides are in order)
    assert np.array_equal(F.dropout(tinyconv.ones(4, 6)[:, ::2], 0.5).numpy(), want.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 4])
def test_dropout_of_views_is_pytorchs(seed):
    torch = _both(seed)
    if not _pytorch_uses_its_default_bernoulli():
        pytest.skip("this PyTorch draws bernoulli through MKL (an Intel processor)")
    views = [
        lambda L: L.ones(3, 4).t(),
        lambda L: L.ones(4, 6)[:, ::2],
        lambda L: L.ones(2, 3, 4).permute(2, 0, 1),
        lambda L: L.ones(2, 1, 3, 4).permute(0, 2, 3, 1),
        lambda L: L.ones(2, 3, 4).transpose(0, 1)[:, :, :3],
        lambda L: L.ones(5, 1).expand(5, 3),
        lambda L: L.ones(3, 1, 4).expand(3, 5, 4).transpose(0, 2),
        lambda L: L.ones(4, 5, 6)[::2, :, 1:4].permute(1, 2, 0),
        lambda L: L.ones(2, 3, 4, 5).to(memory_format=L.channels_last),
    ]
    for view in views:
        for drop in (lambda F, x: F.dropout(x, 0.5), lambda F, x: F.alpha_dropout(x, 0.5, True)):
            want = drop(torch.nn.functional, view(torch))
            got = drop(tinyconv.nn.functional, view(tinyconv))
            assert np.array_equal(got.numpy(), want.numpy())
            assert got.stride() == want.stride()
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multinomial_and_weighted_sampler_are_pytorchs(seed):
    torch = _both(seed)
    for dt in ("float32", "float64"):
        for shape in [(5,), (3, 7), (1000,)]:
            p = torch.rand(shape, dtype=getattr(torch, dt))
            cp = tinyconv.rand(shape, dtype=getattr(tinyconv, dt))
            for replacement, n in [(True, 1), (True, 20), (False, 1), (False, 3)]:
                want = torch.multinomial(p, n, replacement).numpy()
                assert np.array_equal(cp.multinomial(n, replacement).numpy(), want)
    from torch.utils.data import WeightedRandomSampler as TorchWeighted

    from tinyconv.utils.data import WeightedRandomSampler

    w = [0.1, 0.5, 2.0, 0.0, 1.2]
    assert list(WeightedRandomSampler(w, 30)) == list(TorchWeighted(w, 30))
    assert list(WeightedRandomSampler(w, 3, False)) == list(TorchWeighted(w, 3, False))
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 4])
def test_bernoulli_and_exponential_are_pytorchs(seed):
    torch = _both(seed)
    p, cp = torch.rand(4, 6), tinyconv.rand(4, 6)
    pairs = [
        (torch.bernoulli(p), tinyconv.bernoulli(cp)),  # a float32 uniform < p per element
        (torch.bernoulli(p, 0.3), tinyconv.bernoulli(cp, 0.3)),  # a float64 uniform < p
        (torch.empty(3, 5).t().bernoulli_(0.7), tinyconv.empty(3, 5).t().bernoulli_(0.7)),
        (
            torch.zeros(4, 6, dtype=torch.float64).bernoulli_(p[0]),
            tinyconv.zeros(4, 6, dtype=tinyconv.float64).bernoulli_(cp[0]),
        ),
        # float64 probabilities: a float64 uniform < p, whatever the filled tensor's dtype
        (torch.bernoulli(p.double()), tinyconv.bernoulli(cp.double())),
        (torch.empty(4, 6).bernoulli_(p.double()), tinyconv.empty(4, 6).bernoulli_(cp.double())),
        (torch.empty(100).exponential_(2.5), tinyconv.empty(100).exponential_(2.5)),
        (
            torch.empty(100, dtype=torch.float64).exponential_(),
            tinyconv.empty(100, dtype=tinyconv.float64).exponential_(),
        ),
    ]
    for want, got in pairs:
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        assert np.array_equal(got.numpy(), want.numpy())
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())
    with pytest.raises(RuntimeError, match="lambda > 0"):
        tinyconv.empty(2).exponential_(0.0)
    with pytest.raises(RuntimeError, match=r"in \[0, 1\]"):
        tinyconv.empty(2).bernoulli_(1.5)
    with pytest.raises(TypeError, match="must be a Tensor"):
        tinyconv.bernoulli([0.5])


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 7])
def test_poisson_is_pytorchs(seed):
    """Both of PyTorch's samplers (the product of uniforms below rate 10, Hoermann's
    transformed rejection from 10 up), rate 0, float32 and float64, a generator, and the
    stream left where PyTorch leaves it; zero gradient, PyTorch's node and errors."""
    torch = _both(seed)
    rates = [0.0, 0.3, 1.0, 4.0, 9.99, 10.0, 25.0, 300.0, 1e4, 3.0]
    r64, c64 = (
        torch.tensor(rates, dtype=torch.float64),
        tinyconv.tensor(rates, dtype=tinyconv.float64),
    )
    g, cg = torch.Generator().manual_seed(5), tinyconv.Generator().manual_seed(5)
    pairs = [
        (torch.poisson(r64), tinyconv.poisson(c64)),
        (torch.poisson(r64.float().reshape(2, 5)), tinyconv.poisson(c64.float().reshape(2, 5))),
        (
            torch.poisson(torch.full((40,), 12.0), g),
            tinyconv.poisson(tinyconv.full((40,), 12.0), cg),
        ),
        (torch.rand(3), tinyconv.rand(3)),  # the stream continues where PyTorch's does
    ]
    for want, got in pairs:
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        assert np.array_equal(got.numpy(), want.numpy())
    assert np.array_equal(g.get_state().numpy(), cg.get_state().numpy())
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())
    rate = tinyconv.tensor([1.0, 30.0], requires_grad=True)
    out = tinyconv.poisson(rate)
    assert out.requires_grad and out.grad_fn.name() == "PoissonBackward0"
    out.sum().backward()
    assert rate.grad.tolist() == [0.0, 0.0]
    (g,) = tinyconv.autograd.grad((tinyconv.poisson(rate) * rate).sum(), rate, create_graph=True)
    assert g.requires_grad  # d/dr (poisson(r) * r) = poisson(r): differentiable, zero again
    (gg,) = tinyconv.autograd.grad(g.sum(), rate)
    assert gg.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="non-negative"):
        tinyconv.poisson(tinyconv.tensor([-1.0]))
    with pytest.raises(NotImplementedError, match="poisson_cpu"):
        tinyconv.poisson(tinyconv.tensor([1, 2]))


def test_random_module_and_fork_rng():
    tinyconv.random.manual_seed(8)
    assert tinyconv.random.initial_seed() == 8
    with tinyconv.random.fork_rng():
        inside = tinyconv.rand(3).tolist()
    assert tinyconv.rand(3).tolist() == inside  # the block's draws did not move the stream
    with tinyconv.random.fork_rng(enabled=False):
        tinyconv.rand(1)
    tinyconv.manual_seed(8)
    tinyconv.rand(4)
    assert tinyconv.random.get_rng_state().tolist() == tinyconv.get_rng_state().tolist()
    with pytest.raises(TypeError, match="unexpected keyword"):
        with tinyconv.random.fork_rng(device="cpu"):
            pass


@pytest.mark.torch
def test_fork_rng_as_pytorch():
    torch = _both(2)
    with torch.random.fork_rng():
        torch.randn(20)
    with tinyconv.random.fork_rng():
        tinyconv.randn(20)
    assert np.array_equal(torch.rand(6).numpy(), tinyconv.rand(6).numpy())


@pytest.mark.torch
def test_float16_draws():
    # float16 is drawn as float32 and rounded; randn of 16 or more tops its last block up from
    # the leftover uniforms (PyTorch's Half path), within 1 float16 ulp, the stream aligned
    torch = _both(6)
    assert np.array_equal(
        torch.rand(50, dtype=torch.float16).numpy(), tinyconv.rand(50, dtype=tinyconv.float16)
    )
    assert np.array_equal(
        torch.randn(7, dtype=torch.float16).numpy(), tinyconv.randn(7, dtype=tinyconv.float16)
    )
    for n in (16, 20, 33, 1001):
        want = torch.randn(n, dtype=torch.float16).numpy().view(np.int16).astype(np.int64)
        got = tinyconv.randn(n, dtype=tinyconv.float16).numpy().view(np.int16).astype(np.int64)
        assert np.abs(want - got).max() <= 1  # (float16 bit patterns: 1 apart = 1 ulp)
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())


# ranges of 2**28 and more take two words a number; uniform_ never returns its upper bound;
# random_(from, None) runs to the dtype's largest integer; out-of-dtype ranges raise; the
# stream stays aligned after each
RANGE_EXPRESSIONS = [
    "T.randint(0, 2**28, (4,))",
    "T.randint(0, 2**28 - 1, (3,))",
    "T.randint(0, 2**31, (2,), dtype=T.int32)",
    "T.randint(-(2**40), 2**40, (3,))",
    "(T.rand(4096, dtype=T.float16) == 1).sum()",
    "(T.empty(2000).uniform_(1.0, 1.0000002) == T.tensor(1.0000002)).sum()",
    "(T.nn.Linear(256, 256, dtype=T.float16).weight == 0.0625).sum()",
    "T.empty(4).uniform_(2.0, 2.0)",
    "T.empty(3, dtype=T.int64).random_(5, None)",
    "T.empty(3, dtype=T.int64).random_(-3, None)",
    "T.empty(3, dtype=T.int64).random_(5)",
    "T.empty(3).random_(**{'from': 2, 'to': 9})",
    "T.empty(3).random_(5, None)",
    "T.empty(2, dtype=T.uint8).random_(3, None)",
    "T.empty(2, dtype=T.bool).random_(0, None)",
    "T.randint(0, 2, (2,), dtype=T.bool)",
    "T.randperm(256, dtype=T.uint8)",
    "T.randperm(2049, dtype=T.float16)",
]
RANGE_ERRORS = [
    "T.randint(100, 300, (6,), dtype=T.uint8)",
    "T.randint(0, 3, (2,), dtype=T.bool)",
    "T.randint(-129, 0, (2,), dtype=T.int8)",
    "T.empty(2, dtype=T.int16).random_(0, 2**24)",
    "T.empty(2, dtype=T.uint8).random_(-3, None)",
    "T.randperm(300, dtype=T.uint8)",
    "T.randperm(3000, dtype=T.float16)",
]


@pytest.mark.torch
@pytest.mark.parametrize("expression", RANGE_EXPRESSIONS)
def test_integer_ranges_and_uniform_bounds_draw_as_pytorchs(expression):
    torch = pytest.importorskip("torch")
    seen = []
    for T in (tinyconv, torch):
        T.manual_seed(0)
        first = eval(expression, {"T": T})  # noqa: S307  (the tests' own expressions)
        after = T.rand(3)  # (the stream stays aligned)
        seen.append((first.numpy().tolist(), after.numpy().tolist()))
    assert seen[0] == seen[1]


@pytest.mark.torch
@pytest.mark.parametrize("expression", RANGE_ERRORS)
def test_out_of_dtype_ranges_raise_as_pytorchs(expression):
    torch = pytest.importorskip("torch")
    for T in (torch, tinyconv):
        with pytest.raises(RuntimeError):
            eval(expression, {"T": T})  # noqa: S307


def test_manual_seed_takes_what_int_takes():
    for seed, want in ((True, 1), (3.7, 3), ("12", 12), (tinyconv.tensor([5]), 5)):
        tinyconv.manual_seed(seed)
        assert tinyconv.initial_seed() == want
    with pytest.raises(TypeError):
        tinyconv.manual_seed(None)


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 3])
def test_draws_found_by_the_parity_hunt(seed):
    """cauchy_ and log_normal_ with their own parameters are one fused multiply-add in
    PyTorch's kernel (median + sigma t, mean + std z: tinyconv rounded twice, an ulp off in
    about 1 float64 element of 6), and log_normal_ beyond float64's range is inf (raised);
    bernoulli_(tensor) of a transposed tensor and multinomial of transposed weights draw along
    memory; random_(-2**63, None) fills all of int64 (raised OverflowError)."""
    torch = _both(seed)
    p = [[0.1, 0.9, 0.5, 0.2], [0.5, 0.3, 0.7, 0.9]]
    w = [[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]
    pairs = []
    for lib in (torch, tinyconv):
        lib.manual_seed(seed)
        pairs.append(
            [
                lib.empty(200, dtype=lib.float64).cauchy_(0.5, 0.7),
                lib.empty(200, dtype=lib.float64).log_normal_(-3.2, 2.5),
                lib.empty(20).cauchy_(1e3, 1e-3),
                lib.empty(6, dtype=lib.float64).log_normal_(709.5, 1.0),
                lib.zeros(4, 2).t().bernoulli_(lib.tensor(p)),
                lib.zeros(3, 4).t().bernoulli_(lib.tensor([0.2, 0.5, 0.8])),
                lib.multinomial(lib.tensor(w).t(), 2),
                lib.multinomial(lib.tensor(w).t(), 1),
                lib.empty(3, dtype=lib.int64).random_(-(2**63), None),
                lib.rand(3),  # (the stream continues where PyTorch's does)
            ]
        )
    for want, got in zip(*pairs, strict=True):
        assert np.array_equal(got.numpy(), want.numpy()), (want, got)
