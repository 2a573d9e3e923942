"""tinyconv's random numbers: PyTorch's CPU stream, reproduced (engine level: Tensor.uniform_ and
normal_ draw from it; tinyconv.creation re-exports manual_seed, seed, get_rng_state, ...).

PyTorch's CPU generator is a 32-bit Mersenne Twister (mt19937) started with init_genrand on the
low 32 bits of the seed; NumPy's MT19937 with its legacy seeding is the same machine, so its raw
32-bit words (`random_raw`, drawn in bulk) are PyTorch's words. What PyTorch 2.13 makes of the
words was found by experiment against it (tests/test_rng_torch.py checks each rule):

- a "64-bit draw" is two words, the first one the high half;
- float32 uniform on [a, b): the low 24 bits of a word times 2**-24, then fma(x, b - a, a)
  rounded once to float32 (b - a in float32); float64: the low 53 bits of a 64-bit draw times
  2**-53, then fma(x, b - a, a) in float64;
- normal with fewer than 16 elements: per element, Box-Muller on two float64 uniforms u1, u2
  (r = sqrt(-2 log1p(-u2)), theta = 2 pi u1): r cos(theta), and r sin(theta) is kept for the
  next element (even one of a later call; a new seed forgets it);
- normal with 16 or more: first fill with uniforms of the dtype, then Box-Muller on blocks of
  16 (u1 = 1 - x[j], u2 = x[j + 8], the cosine into j, the sine into j + 8); when 16 does not
  divide the size, the last 16 are redrawn and transformed again. float32 follows PyTorch's
  AVX2 kernel (theta = float32(2 pi) * u2 in float32) with NumPy's log, sin and cos, where
  PyTorch uses SLEEF's (each within 1 ulp): results agree within a few float32 ulp;
- integers in [low, high): one word (two when high - low >= 2**32) modulo the range;
  random_() without bounds: a word modulo (dtype max + 1), two words for int64 and float64
  (whose "max" is 2**53, float32's 2**24);
- randperm(n): Fisher-Yates from the front, swapping i with i + word % (n - i).
"""

from __future__ import annotations

import math
import secrets
from typing import Any

import numpy as np

from ._args import _check_device
from ._dtype import dtype_name

DEFAULT_SEED = 67280421310721  # a new torch.Generator()'s seed, and so a new tinyconv.Generator's
_STATE_BYTES = 5056  # torch.get_rng_state()'s size: its CPU generator state as a C struct
_M24, _M53 = np.uint64(0xFFFFFF), np.uint64((1 << 53) - 1)


class Generator:
    """A random-number stream to pass as `generator=` (rand, randn, randint, randperm,
    DataLoader, random_split), as torch.Generator: `tinyconv.Generator().manual_seed(42)`
    gives PyTorch's numbers for the same seed."""

    def __init__(self, device: Any = "cpu") -> None:
        _check_device(device, "Generator()")
        self.device = "cpu"
        self._mt = np.random.MT19937()
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed: Any) -> Generator:
        """Restart the stream from `seed` (an int in [-2**63, 2**64)); returns the generator."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"manual_seed(): seed must be an int, got {type(seed).__name__}")
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise RuntimeError(f"manual_seed(): seed must be in [-2**63, 2**64), got {seed}")
        self._initial_seed = seed % 2**64  # a negative seed counts as its two's complement
        self._mt._legacy_seeding(seed & 0xFFFFFFFF)  # PyTorch seeds mt19937 with 32 bits
        self._fresh = True  # seeded and not drawn from: PyTorch's state says next = 0
        self._next_normal: float | None = None  # the cached second Box-Muller sample
        return self

    def seed(self) -> int:
        """Seed from fresh entropy; returns the (64-bit) seed used."""
        s = secrets.randbits(64)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed of the last manual_seed/seed (as an unsigned 64-bit int)."""
        return self._initial_seed

    # -- state ----------------------------------------------------------------------------
    def _state_array(self) -> np.ndarray:
        """The state as PyTorch's 5056 bytes (uint8): the same bytes torch.get_rng_state()
        holds for the same stream (little-endian x86-64 layout)."""
        s = self._mt.state["state"]
        pos = int(s["pos"])
        out = np.zeros(_STATE_BYTES, np.uint8)
        out[0:8] = np.frombuffer(np.uint64(self._initial_seed).tobytes(), np.uint8)
        # mt19937 bookkeeping: PyTorch counts down `left` to its next twist; NumPy counts up pos
        left, nxt = 625 - pos, (0 if self._fresh else pos)
        out[8:16] = np.frombuffer(np.array([left, 1], np.int32).tobytes(), np.uint8)
        out[16:24] = np.frombuffer(np.uint64(nxt).tobytes(), np.uint8)
        out[24:5016] = np.frombuffer(s["key"].astype(np.uint64).tobytes(), np.uint8)
        if self._next_normal is not None:
            out[5024:5032] = np.frombuffer(np.float64(self._next_normal).tobytes(), np.uint8)
            out[5040] = 1
        return out

    def _set_state_array(self, data: np.ndarray) -> None:
        if data.dtype != np.uint8 or data.shape != (_STATE_BYTES,):
            raise RuntimeError(
                f"set_state(): expected a uint8 tensor of {_STATE_BYTES} bytes (get_state()'s), "
                f"got dtype {data.dtype} and shape {tuple(data.shape)}"
            )
        raw = np.ascontiguousarray(data).tobytes()
        left = int(np.frombuffer(raw[8:12], np.int32)[0])
        if not 1 <= left <= 624:
            raise RuntimeError(f"set_state(): the state is invalid (left = {left})")
        key = np.frombuffer(raw[24:5016], np.uint64).astype(np.uint32)
        self._mt.state = {
            "bit_generator": "MT19937",
            "state": {"key": key, "pos": 625 - left},
        }
        self._initial_seed = int(np.frombuffer(raw[0:8], np.uint64)[0])
        self._fresh = int(np.frombuffer(raw[16:24], np.uint64)[0]) == 0 and left == 1
        valid = int(np.frombuffer(raw[5040:5044], np.int32)[0])
        self._next_normal = float(np.frombuffer(raw[5024:5032], np.float64)[0]) if valid else None

    def get_state(self) -> Any:
        """The state as a uint8 Tensor of 5056 bytes, byte for byte PyTorch's for the same
        stream (torch.set_rng_state accepts it, and the other way round)."""
        from .tensor import Tensor

        return Tensor._make(self._state_array(), None, False)

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state from get_state() (tinyconv's or PyTorch's bytes); returns self."""
        data = getattr(new_state, "_data", None)
        if data is None:
            data = np.asarray(new_state)
        self._set_state_array(data)
        return self

    # -- raw draws ------------------------------------------------------------------------
    def _words(self, n: int) -> np.ndarray:
        """The next n 32-bit words, as uint64."""
        self._fresh = False
        return self._mt.random_raw(n)

    def _words64(self, n: int) -> np.ndarray:
        """The next n 64-bit draws (two words each, the first the high half), as uint64."""
        w = self._words(2 * n)
        return (w[0::2] << np.uint64(32)) | w[1::2]


_default = Generator()
_default.manual_seed(secrets.randbits(64))  # (PyTorch's global stream also starts at random)


def _gen(generator: Any = None) -> Generator:
    """`generator` if given (it must be a tinyconv.Generator), else the global one."""
    if generator is None:
        return _default
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a tinyconv.Generator, got {type(generator).__name__}")
    return generator


def _rng() -> Generator:
    """The global generator (reseeded in place by manual_seed)."""
    return _default


def manual_seed(seed: Any) -> Generator:
    """Seed the global stream (rand, randn, init, dropout, shuffling), as torch.manual_seed:
    the same seed gives PyTorch's numbers."""
    try:
        seed = int(seed)  # (as torch.manual_seed: True, 3.7, "12" and a one-element tensor)
    except (TypeError, ValueError) as e:
        raise TypeError(f"manual_seed(): seed must be an int, got {type(seed).__name__}") from e
    return _default.manual_seed(seed)


def initial_seed() -> int:
    """The seed of the global stream (the last manual_seed, else the random one it began with)."""
    return _default.initial_seed()


def seed() -> int:
    """Seed the global stream from fresh entropy; returns the seed used."""
    return _default.seed()


def get_rng_state() -> Any:
    """The global stream's state: a uint8 Tensor, byte for byte torch.get_rng_state()'s."""
    return _default.get_state()


def set_rng_state(new_state: Any) -> None:
    """Restore the global stream from get_rng_state() (tinyconv's or PyTorch's bytes)."""
    _default.set_state(new_state)


# -- exact arithmetic for PyTorch's fused multiply-adds --------------------------------------
def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s = fl(a + b) and the exact error e, a + b = s + e (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _to_odd(s: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Round-to-odd from (s, err), s = fl(exact), err = exact - s: a value that rounds (to
    nearest) into any narrower format exactly as the exact sum would, so a later rounding
    cannot land on a false tie (Boldo and Melquiond's round-to-odd)."""
    even = (s.view(np.uint64) & np.uint64(1)) == 0
    nudge = (err != 0) & even
    return np.where(nudge, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)


def _fma32(x: np.ndarray, r: np.float32, c: np.float32, bits24: bool = False) -> np.ndarray:
    """float32 fma(x, r, c) rounded once, as PyTorch's compiled `x * r + c`: the product of
    two float32 is exact in float64, the sum is rounded to odd, then to float32. bits24: every
    x is a multiple of 2**-24 in [0, 1) (a uniform draw)."""
    p = x.astype(np.float64) * np.float64(r)
    if c == 0:  # (rand, normal with mean 0) the exact product needs one rounding only
        out = p.astype(np.float32)
        if not math.copysign(1.0, float(c)) < 0:
            out += np.float32(0)  # fma(0, -r, +0) is +0, not the product's -0
        return out
    if bits24 and r != 0 and -24 <= math.frexp(float(c))[1] - math.frexp(float(r))[1] <= 1:
        # x has 24 bits and x * r has 48 whose last is no coarser than c's: the exact sum
        # needs at most 50 bits, so float64 holds it and one rounding remains (uniform_(a, b)
        # with |a| not far above |b - a|: 4x faster than the general path)
        return (p + np.float64(c)).astype(np.float32)
    s, e = _two_sum(p, np.full_like(p, np.float64(c)))
    return _to_odd(s, e).astype(np.float32)


def _fma64(x: np.ndarray, r: float, c: float) -> np.ndarray:
    """float64 fma(x, r, c) rounded once: Dekker's exact product (ph + pl), then the sum of
    ph, pl and c with its low part rounded to odd before the last rounding."""
    x = np.asarray(x, np.float64)
    if (
        np.ndim(c) == 0 and c == 0
    ):  # (rand, bernoulli) the exact product needs one rounding only; + 0 as fma's
        # exact-zero sum (fma(0, -r, +0) is +0): 12x fewer passes than the general path below
        return x * r + c
    split = 134217729.0  # 2**27 + 1, Veltkamp's splitter for 53-bit mantissas
    ph = x * r
    xa = split * x
    xh = xa - (xa - x)
    xl = x - xh
    ra = split * r
    rh = ra - (ra - r)
    rl = r - rh
    pl = ((xh * rh - ph) + xh * rl + xl * rh) + xl * rl
    s1, e1 = _two_sum(ph, np.full_like(ph, c))
    s2, e2 = _two_sum(e1, pl)
    h, low = _two_sum(s1, s2)
    t, et = _two_sum(low, e2)
    return h + _to_odd(t, et)


# -- distributions ------------------------------------------------------------------------------
def _float_kind(dtype: np.dtype) -> np.dtype:
    """The float dtype to draw in: the tensor's, float64 for non-float tensors."""
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


# Large draws run in chunks of this many elements (a multiple of 16, Box-Muller's block):
# the words, the uniforms and the transform's temporaries of a chunk stay in the L2 cache,
# where whole-array passes went to memory (randn of 4M float32: 308 -> 45 ms with
# float32 trigonometry below; of 34M: 3.7 s -> 0.4 s). The Mersenne Twister's words come in
# order whatever the chunking, so the numbers are the same.
_CHUNK = 1 << 16


def _chunks(n: int) -> range:
    """The start of each chunk of _CHUNK elements in n."""
    return range(0, n, _CHUNK)


def _uniform_flat(gen: Generator, n: int, dtype: np.dtype, a: float, b: float) -> np.ndarray:
    """n uniforms on [a, b) in float32 or float64 (a 1-D array; one chunk's worth)."""
    if dtype == np.float64:
        x = (gen._words64(n) & _M53).astype(np.float64)
        x *= 2.0**-53
        return _fma64(x, float(b) - float(a), float(a))
    x = (gen._words(n) & _M24).astype(np.float32)
    x *= np.float32(2.0**-24)
    lo, hi = np.float32(a), np.float32(b)
    if lo == 0 and hi == 1:  # rand(): fma(x, 1, +0) is x itself (x >= 0, never -0)
        return x
    return _fma32(x, np.float32(hi - lo), lo, bits24=True)


def uniform(gen: Generator, shape: tuple, dtype: Any, a: float = 0.0, b: float = 1.0) -> np.ndarray:
    """Uniform on [a, b) in `dtype` (float16/32/64), shape `shape`, PyTorch's numbers."""
    dtype = _float_kind(np.dtype(dtype))
    # float16 is made as float32 then rounded (PyTorch draws Half so)
    work = np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)
    n = int(np.prod(shape, dtype=np.int64))
    if n <= _CHUNK:
        out = _uniform_flat(gen, n, work, a, b).astype(dtype, copy=False)
    else:
        out = np.empty(n, dtype)
        for start in _chunks(n):
            stop = min(n, start + _CHUNK)
            out[start:stop] = _uniform_flat(gen, stop - start, work, a, b)
    # [a, b) stays half-open: a value that rounded up to b becomes a, as PyTorch's kernel
    # makes it (float16 rand near 1, a range narrower than the dtype's spacing)
    top = out == dtype.type(b)
    if top.any():
        out[top] = dtype.type(a)
    return out.reshape(shape)


def _normal_scalar(gen: Generator, n: int, mean: float, std: float) -> np.ndarray:
    """n normals one at a time, PyTorch's path for fewer than 16: float64 Box-Muller, the
    second sample of each pair kept for the next element (in the generator)."""
    out = np.empty(n)
    for i in range(n):
        if gen._next_normal is not None:
            z, gen._next_normal = gen._next_normal, None
        else:
            u1, u2 = ((gen._words64(2) & _M53).astype(np.float64) * 2.0**-53).tolist()
            # math's functions are the C library's, as PyTorch's (NumPy's may differ by an ulp)
            r = math.sqrt(-2.0 * math.log1p(-u2))
            theta = 2.0 * math.pi * u1
            gen._next_normal = r * math.sin(theta)
            z = r * math.cos(theta)
        out[i] = z
    return _fma64(out, float(std), float(mean))


def _box_muller16(blocks: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Box-Muller on rows of 16 uniforms: u1 = 1 - x[:8], u2 = x[8:]; cosines then sines."""
    u1, u2 = 1 - blocks[:, :8], blocks[:, 8:]
    if blocks.dtype == np.float32:
        # PyTorch's AVX2 kernel: float32 throughout, theta a float32 product, an fma last.
        # log rounded from float64 and NumPy's float32 sin and cos come nearest SLEEF's:
        # 92% of 4M normals bitwise PyTorch's and all within 3 ulp (float64 sin and cos, 10x
        # slower, gave 83%)
        lg = np.log(u1.astype(np.float64)).astype(np.float32)
        radius = np.sqrt(np.float32(-2.0) * lg)
        theta = np.float32(2.0 * np.pi) * u2
        both = np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
        return _fma32(both, np.float32(std), np.float32(mean)).reshape(blocks.shape)
    radius = np.sqrt(-2.0 * np.log(u1))
    theta = 2.0 * np.pi * u2
    both = np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
    return _fma64(both, float(std), float(mean)).reshape(blocks.shape)


def normal(
    gen: Generator,
    shape: tuple,
    dtype: Any,
    mean: float = 0.0,
    std: float = 1.0,
    contiguous: bool = True,
) -> np.ndarray:
    """Normal(mean, std) samples in `dtype`, shape `shape`, PyTorch's numbers (see the top);
    PyTorch fills a non-contiguous tensor one element at a time, as a small one."""
    dtype = _float_kind(np.dtype(dtype))
    n = int(np.prod(shape, dtype=np.int64))
    if n < 16 or not contiguous:
        values = _normal_scalar(gen, n, mean, std)
        if dtype == np.float16:  # PyTorch makes a Half from a float, not from the double
            values = values.astype(np.float32)
        return values.astype(dtype).reshape(shape)
    work = np.dtype(np.float64 if dtype == np.float64 else np.float32)  # float16: in float32
    data = np.empty(n, work)
    full = n // 16 * 16
    for start in _chunks(full):  # all n uniforms are drawn first, then transformed in 16s
        stop = min(full, start + _CHUNK)
        u = _uniform_flat(gen, stop - start, work, 0.0, 1.0)
        data[start:stop] = _box_muller16(u.reshape(-1, 16), mean, std).ravel()
    if n % 16:
        rest = _uniform_flat(gen, n - full, work, 0.0, 1.0)
        if dtype == np.float16:
            # PyTorch's Half: the leftover uniforms, topped up to 16 with fresh ones
            last = np.concatenate([rest, _uniform_flat(gen, 16 - n % 16, work, 0.0, 1.0)])
        else:
            last = _uniform_flat(gen, 16, work, 0.0, 1.0)  # float32/64: 16 fresh ones
        # transformed, they overwrite the last 16 values
        data[n - 16 :] = _box_muller16(last.reshape(1, 16), mean, std).ravel()
    return data.astype(dtype, copy=False).reshape(shape)


def exponential(gen: Generator, shape: tuple, dtype: Any, lambd: float = 1.0) -> np.ndarray:
    """Exponential(lambd) samples in `dtype`: -1/lambd * log1p(-u), u a float64 uniform, as
    PyTorch (float64 through the C library's log1p, whose last bit NumPy's may not share)."""
    dtype = _float_kind(np.dtype(dtype))
    u = uniform(gen, shape, np.float64)
    if dtype == np.float64:
        # (np.asarray: on a 0-d array frompyfunc returns a Python float, not an array)
        log = np.asarray(np.frompyfunc(math.log1p, 1, 1)(-u), dtype=np.float64)
    else:
        log = np.log1p(-u)  # (an ulp of float64 vanishes in the rounding to float32)
    return (-1.0 / lambd * log).astype(dtype)


def cauchy(gen: Generator, shape: tuple, dtype: Any, median: float, sigma: float) -> np.ndarray:
    """Cauchy(median, sigma) samples: median + sigma tan(pi (u - 1/2)), u a float64 uniform,
    in float64 (the C library's tan), as PyTorch's serial CPU kernel."""
    u = uniform(gen, shape, np.float64)
    t = np.asarray(np.frompyfunc(math.tan, 1, 1)(np.pi * (u - 0.5)), dtype=np.float64)
    return _fma64(t, sigma, median).astype(dtype)  # (one rounding: the kernel's fma)


def geometric(gen: Generator, shape: tuple, dtype: Any, p: float) -> np.ndarray:
    """Geometric(p) samples (trials to the first success): ceil(log(u) / log1p(-p)), u a
    float64 uniform, as PyTorch's serial CPU kernel."""
    u = uniform(gen, shape, np.float64)
    with np.errstate(divide="ignore"):
        logs = np.asarray(np.frompyfunc(math.log, 1, 1)(np.where(u > 0, u, 1.0)), np.float64)
    logs = np.where(u > 0, logs, -np.inf)
    return np.ceil(logs / math.log1p(-p)).astype(dtype)


def log_normal(gen: Generator, shape: tuple, dtype: Any, mean: float, std: float) -> np.ndarray:
    """exp(Normal(mean, std)) samples, one float64 normal per element with the second
    Box-Muller value kept for the next (PyTorch's serial CPU kernel)."""
    n = int(np.prod(shape))
    draws = _ScalarDraws(gen)
    try:
        z = [draws.normal() for _ in range(n)]
    finally:
        draws.close()
    vals = _fma64(np.asarray(z, dtype=np.float64).reshape(shape), std, mean)  # (its fma)
    exp = np.frompyfunc(_exp_or_inf, 1, 1)  # (the C library's exp, as the kernel's)
    out = np.asarray(exp(vals), dtype=np.float64) if vals.size else vals
    return out.astype(dtype)


def _exp_or_inf(v: float) -> float:
    """math.exp, inf past float64's range (where math.exp raises; the C kernel gives inf)."""
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


class _ScalarDraws:
    """Float64 uniforms and normals one at a time, as PyTorch's scalar samplers take them, in
    plain Python: words are read ahead in blocks (one NumPy call per block, not per draw), and
    `close()` rewinds the generator to just past the words used (the stream then stands where
    PyTorch's would)."""

    _BLOCK = 4096

    def __init__(self, gen: Generator) -> None:
        self.gen, self.start = gen, gen._mt.state
        self.words: list = []
        self.pos = 0

    def uniform(self) -> float:
        """A float64 uniform on [0, 1): the low 53 bits of a 64-bit draw times 2**-53."""
        if self.pos + 2 > len(self.words):
            self.words += self.gen._mt.random_raw(self._BLOCK).tolist()
        hi, lo = self.words[self.pos], self.words[self.pos + 1]
        self.pos += 2
        return (((hi << 32) | lo) & ((1 << 53) - 1)) * 2.0**-53

    def normal(self) -> float:
        """A standard normal, Box-Muller with the second value cached (_normal_scalar's rule)."""
        gen = self.gen
        if gen._next_normal is not None:
            z, gen._next_normal = gen._next_normal, None
            return z
        u1, u2 = self.uniform(), self.uniform()
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        gen._next_normal = r * math.sin(theta)
        return r * math.cos(theta)

    def close(self) -> None:
        used = self.pos
        self.gen._mt.state = self.start
        if used:
            self.gen._words(used)  # (advances past exactly the words drawn)


def _gamma_one(draws: _ScalarDraws, alpha: float, single: bool) -> float:
    """One Gamma(alpha, 1) draw, PyTorch's CPU way (Marsaglia and Tsang's squeeze-and-reject,
    boosted for alpha < 1 by u ** (1 / alpha)): its uniforms and normals one at a time, its
    arithmetic in float64 except where PyTorch's runs in the tensor's float32 (`single`: the
    boost's exponent, alpha + 1 and d = alpha - 1/3; 1/3 and 0.0331 are float32 constants)."""
    rnd = (lambda v: float(np.float32(v))) if single else float
    scale = 1.0
    if alpha < 1.0:
        if alpha == 0.0:
            return 0.0
        scale = math.pow(1.0 - draws.uniform(), rnd(1.0 / alpha))
        alpha = rnd(alpha + 1.0)
    d = rnd(alpha - _THIRD32)
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        y = 0.0
        while y <= 0:
            x = draws.normal()
            y = 1.0 + c * x
        v = y * y * y
        u = 1.0 - draws.uniform()
        xx = x * x
        if u < 1.0 - _SQUEEZE32 * xx * xx or math.log(u) < 0.5 * xx + d * (1.0 - v + math.log(v)):
            return scale * d * v


_THIRD32 = float(np.float32(1.0 / 3.0))
_SQUEEZE32 = float(np.float32(0.0331))


def gamma(gen: Generator, alpha: np.ndarray, dtype: Any) -> np.ndarray:
    """Gamma(alpha, 1) draws, one per element of alpha in C order, in `dtype` (float32/64),
    at least the dtype's smallest normal number: PyTorch's _standard_gamma for the same seed.
    (A Python loop: each draw takes a data-dependent number of uniforms and normals.)"""
    dtype = np.dtype(dtype)
    single = dtype == np.float32
    a = np.ascontiguousarray(alpha, dtype=dtype).ravel().tolist()
    draws = _ScalarDraws(gen)
    try:
        values = [_gamma_one(draws, x, single) for x in a]
    finally:
        draws.close()
    out = np.array(values, dtype=np.float64).astype(dtype)
    return np.maximum(out, np.finfo(dtype).tiny).reshape(np.shape(alpha))


def _poisson_one(draws: _ScalarDraws, lam: float) -> int:
    """One Poisson(lam) draw, PyTorch's CPU way (its sample_poisson): for lam >= 10 Hoermann's
    transformed rejection (1993) on pairs of float64 uniforms, below that the product of
    uniforms until it falls to exp(-lam) or below; all in float64."""
    if lam >= 10:
        slam, loglam = math.sqrt(lam), math.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = draws.uniform() - 0.5
            v = draws.uniform()
            us = 0.5 - abs(u)
            k = math.floor((2 * a / us + b) * u + lam + 0.43)
            if us >= 0.07 and v <= vr:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= (
                -lam + k * loglam - math.lgamma(k + 1.0)
            ):
                return k
    if lam == 0:
        return 0
    enlam, x, prod = math.exp(-lam), 0, 1.0
    while True:
        prod *= draws.uniform()
        if prod <= enlam:
            return x
        x += 1


def poisson(gen: Generator, rates: np.ndarray) -> np.ndarray:
    """Poisson(rate) counts, one per element of `rates` in C order, in rates' dtype: PyTorch's
    torch.poisson for the same seed. (A Python loop, as gamma: each draw takes a
    data-dependent number of uniforms.)"""
    lam = np.ascontiguousarray(rates, dtype=np.float64).ravel().tolist()
    draws = _ScalarDraws(gen)
    try:
        values = [_poisson_one(draws, x) for x in lam]
    finally:
        draws.close()
    return np.array(values, dtype=np.float64).astype(rates.dtype).reshape(rates.shape)


def dirichlet(gen: Generator, alpha: np.ndarray, dtype: Any) -> np.ndarray:
    """Dirichlet(alpha) draws along the last dim, as PyTorch's _sample_dirichlet: float64
    Gamma draws (whatever `dtype`), each row divided by its sum, then kept inside (0, 1) in
    `dtype`: at least its smallest normal number, at most the largest number below 1."""
    g = gamma(gen, np.asarray(alpha, np.float64), np.float64)
    dtype = np.dtype(dtype)
    out = (g / g.sum(-1, keepdims=True)).astype(dtype)
    return np.clip(out, np.finfo(dtype).tiny, 1 - np.finfo(dtype).epsneg)


def bernoulli(gen: Generator, shape: tuple, p: Any) -> np.ndarray:
    """0/1 (bool) draws: with a number p, a float64 uniform < p per element (PyTorch's
    bernoulli_(p) and dropout, its default CPU kernel); with an array of probabilities
    (broadcast to `shape`), a uniform < p, as PyTorch's bernoulli_(tensor): float64 for
    float64 probabilities, float32 for the others (whatever the filled tensor's dtype)."""
    if isinstance(p, np.ndarray):
        return bernoulli_along(gen, np.empty(shape, np.bool_), p)
    if not 0 <= p <= 1:
        return uniform(gen, shape, np.float64) < p
    # the uniform is k * 2**-53 (k the draw's low 53 bits), exactly, so u < p is k < p * 2**53
    # (exact: a power-of-two scaling), that is k < ceil(p * 2**53) in integers: the same bits
    # without the float64 array (dropout's mask on 2M elements: 170 -> 30 ms, 21 ms of which
    # are the Mersenne Twister's words)
    n = int(np.prod(shape, dtype=np.int64))
    w = gen._words(2 * n)
    k = np.bitwise_and(w[0::2], np.uint64(0x1FFFFF))  # the high word's low 21 bits
    np.left_shift(k, np.uint64(32), out=k)
    np.bitwise_or(k, w[1::2], out=k)
    return np.less(k, np.uint64(math.ceil(float(p) * 2.0**53))).reshape(shape)


def bernoulli_along(gen: Generator, target: np.ndarray, p: np.ndarray) -> np.ndarray:
    """bernoulli(gen, target.shape, p) for an array of probabilities p, the uniforms drawn
    along target's memory (fill_in_memory_order), as PyTorch's bernoulli_(tensor) fills a
    transposed or strided tensor."""
    work = np.float64 if p.dtype == np.float64 else np.float32
    u = fill_in_memory_order(target, lambda shape, _: uniform(gen, shape, work))
    return u < np.broadcast_to(p, target.shape).astype(work)


def fill_in_memory_order(target: np.ndarray, make: Any) -> np.ndarray:
    """Values for `target` (an array, maybe a transposed or strided view) in its shape, drawn
    along its memory as PyTorch fills a tensor: `make(shape, contiguous)` draws in C order for
    `shape`, the target's dims sorted by decreasing stride."""
    if target.flags.c_contiguous or target.ndim < 2:
        return make(target.shape, bool(target.flags.c_contiguous))
    perm = sorted(range(target.ndim), key=lambda d: -abs(target.strides[d]))
    values = make(tuple(target.shape[d] for d in perm), False)
    return values.transpose(np.argsort(perm))


def integers(gen: Generator, shape: tuple, low: int, high: int) -> np.ndarray:
    """Integers in [low, high) as int64 (PyTorch's randint/random_(from, to))."""
    n = int(np.prod(shape, dtype=np.int64))
    span = int(high) - int(low)
    if span == 2**64:  # all of int64 (random_(-2**63, None)): a 64-bit word as it is
        return gen._words64(n).view(np.int64).reshape(shape)
    # (two words a number from a range of 2**28: PyTorch's modulo skew bound, not 2**32)
    w = gen._words64(n) if span >= 2**28 else gen._words(n)
    # the offset is added in uint64, wrapping as PyTorch's int64 does past 2**63
    v = (w % np.uint64(span)) + np.uint64(int(low) % 2**64)
    return v.view(np.int64).reshape(shape)


def largest_integer(dtype: Any) -> int:
    """The largest integer random_ draws for `dtype` (its max; 2**digits for floats; 1 for
    bool), and randperm's largest n - 1."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return 1
    if dtype.kind == "f":
        return 2 ** (np.finfo(dtype).nmant + 1)
    return int(np.iinfo(dtype).max)


def check_int_range(low: int, high: int, dtype: Any, what: str) -> None:
    """PyTorch's bounds check for integers in [low, high) of an integer or bool dtype: low and
    high - 1 must be values of the dtype (randint(100, 300, dtype=uint8) raises)."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "biu":
        return
    least = 0 if dtype.kind in "bu" else int(np.iinfo(dtype).min)
    most = largest_integer(dtype)
    name = dtype_name(dtype)
    if not least <= low <= most:
        raise RuntimeError(f"{what}: from is out of bounds for {name}")
    if not least <= high - 1 <= most:
        raise RuntimeError(f"{what}: to - 1 is out of bounds for {name}")


def random_full(gen: Generator, shape: tuple, dtype: Any) -> np.ndarray:
    """random_() without bounds: integers in [0, max] where max is the dtype's largest integer
    (2**mantissa bits for floats, True for bool)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    modulus = largest_integer(dtype) + 1
    wide = dtype in (np.dtype(np.int64), np.dtype(np.float64))
    w = gen._words64(n) if wide else gen._words(n)
    return (w % np.uint64(modulus)).astype(dtype).reshape(shape)


def permutation(gen: Generator, n: int) -> np.ndarray:
    """A random permutation of 0..n-1 (int64), PyTorch's randperm: Fisher-Yates from the front,
    one word per step."""
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    # the offsets need the words only, so they are computed in one vectorised pass; the swaps
    # depend on each other and run in a plain loop over a list (fast for lists)
    z = (gen._words(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
    r = list(range(n))
    for i, off in enumerate(z):
        j = i + off
        r[i], r[j] = r[j], r[i]
    return np.array(r, dtype=np.int64)


def multinomial_indices(
    weights: np.ndarray, num_samples: int, replacement: bool, generator: Any, what: str
) -> np.ndarray:
    """Indices drawn by weight from each row of `weights` (1-D or 2-D, non-negative, a nonzero
    sum per row), int64 of shape (num_samples,) or (rows, num_samples): PyTorch's draws
    (float32/float64 weights)."""
    if weights.ndim not in (1, 2):
        raise RuntimeError(f"{what}: prob_dist must be 1 or 2 dim, got {weights.ndim} dims")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
        raise RuntimeError(f"{what}: num_samples must be a positive integer, got {num_samples!r}")
    w = np.atleast_2d(weights).astype(np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise RuntimeError(f"{what}: probability tensor contains either inf, nan or element < 0")
    sums = w.sum(axis=1)
    if np.any(sums <= 0):
        raise RuntimeError(f"{what}: invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > w.shape[1]:
        raise RuntimeError(
            f"{what}: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
            f"({num_samples} > {w.shape[1]})"
        )
    if not replacement and np.any(np.count_nonzero(w, axis=1) < num_samples):
        raise RuntimeError(
            f"{what}: fewer nonzero weights than num_samples ({num_samples}) in some row, "
            "so they cannot be drawn without replacement"
        )
    gen = _gen(generator)
    x = np.atleast_2d(weights)
    dt = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    x = x.astype(dt)
    if replacement and num_samples > 1:
        # PyTorch: per row, the cumulative sums in the dtype divided by the total, then per
        # sample a float64 uniform and the first category whose cumulative value reaches it
        out = np.empty((x.shape[0], num_samples), np.int64)
        for i, row in enumerate(x):
            cum = np.cumsum(row)  # (sequential, as PyTorch's loop)
            cum = cum / cum[-1]
            u = uniform(gen, (num_samples,), np.float64)
            out[i] = np.searchsorted(cum.astype(np.float64), u, side="left")
    else:
        # PyTorch: weight / Exp(1) noise (-log1p(-u), u a float64 uniform, rounded to the
        # dtype), the largest num_samples of each row in decreasing order
        # (drawn along the weights' memory: PyTorch's noise is exponential_ of empty_like(w))
        u = fill_in_memory_order(x, lambda shape, _: uniform(gen, shape, np.float64))
        q = (-np.log1p(-u)).astype(dt)
        out = np.argsort(-(x / q), axis=1, kind="stable")[:, :num_samples].astype(np.int64)
    return out[0] if weights.ndim == 1 else out
