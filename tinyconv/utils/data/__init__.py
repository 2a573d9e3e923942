"""Datasets and batching, as torch.utils.data.

A `Dataset` is anything with `__getitem__(i)` and `__len__()`; `TensorDataset`
wraps tensors that share their first dimension. A `DataLoader` walks a dataset
in batches: a sampler picks the order of indices (in order, or shuffled with
tinyconv's seeded random numbers, so `tinyconv.manual_seed` makes it
repeatable), they are grouped into batches, and `collate_fn` joins each
batch's samples, by default stacking tensors along a new first dimension:

    for X, y in DataLoader(TensorDataset(X_all, y_all), batch_size=64, shuffle=True):
        ...   # X: (64, ...) and y: (64,), the last batch possibly smaller

Everything runs in the main process. With `num_workers=n` the loader emulates PyTorch's n
worker processes (see _Worker): the same batches in the same order, each worker's random
streams seeded as PyTorch seeds them, `get_worker_info()` and `worker_init_fn` as in a worker.
"""

from __future__ import annotations

import bisect
import builtins
import copy
import importlib
import itertools
import math
import multiprocessing
import multiprocessing.context
import operator
import random
import types
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ... import _rng as _random
from ..._errors import TensorIndexError, TensorValueError
from ..._rng import Generator, _gen
from ...tensor import Tensor
from ._utils.collate import default_collate, default_convert

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "DistributedSampler",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]


# -- datasets ---------------------------------------------------------------------------------


# PyTorch asserts its datasets' arguments (AssertionError) where tinyconv raised ValueError or
# TypeError, and refuses a too-negative ConcatDataset index with ValueError where tinyconv
# raised IndexError: these are both, so code written for either library catches them.
class DatasetAssertionError(builtins.AssertionError, TensorValueError):
    """A dataset's bad argument (tensors of different lengths, no datasets): PyTorch's
    AssertionError, tinyconv's ValueError."""

    def __reduce__(self) -> tuple:
        return (builtins.AssertionError, self.args)


class DatasetTypeAssertionError(builtins.AssertionError, builtins.TypeError):
    """A dataset of the wrong kind (an IterableDataset in a ConcatDataset): PyTorch's
    AssertionError, tinyconv's TypeError."""

    def __reduce__(self) -> tuple:
        return (builtins.AssertionError, self.args)


class DatasetIndexValueError(builtins.ValueError, builtins.IndexError):
    """A negative index past the start of a ConcatDataset: PyTorch's ValueError, tinyconv's
    IndexError."""

    def __reduce__(self) -> tuple:
        return (builtins.ValueError, self.args)


for _cls, _name in (
    (DatasetAssertionError, "AssertionError"),
    (DatasetTypeAssertionError, "AssertionError"),
    (DatasetIndexValueError, "ValueError"),
):
    _cls.__name__ = _cls.__qualname__ = _name  # (shown as the PyTorch exception)
    _cls.__module__ = "builtins"


class Dataset:
    """Base class of map-style datasets: define `__getitem__(index)` and `__len__()`."""

    # Dataset[int], `class Pairs(Dataset[tuple])`: generic as PyTorch's (Generic[T_co]) are
    __class_getitem__ = classmethod(types.GenericAlias)

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(self, index)")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: define `__iter__()`; DataLoader batches what it yields."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__(self)")

    def __add__(self, other: Dataset) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Sample i is `(t[i] for t in tensors)`; all tensors must have the same first dimension."""

    def __init__(self, *tensors: Tensor) -> None:
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {i} must be a Tensor, got {type(t).__name__}"
                )
            if t.ndim == 0:  # (PyTorch's t.size(0): an IndexError)
                raise TensorIndexError(
                    f"TensorDataset: argument {i} is a 0-d tensor; every tensor needs a first "
                    "dimension to index samples along"
                )
        n = tensors[0].shape[0] if tensors else 0
        for i, t in enumerate(tensors):
            if t.shape[0] != n:
                raise DatasetAssertionError(
                    f"TensorDataset: size mismatch between tensors: tensor 0 has {n} samples "
                    f"(shape {tuple(tensors[0].shape)}) but tensor {i} has {t.shape[0]} "
                    f"(shape {tuple(t.shape)})"
                )
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        if not self.tensors:  # (PyTorch accepts TensorDataset() but has no length for it)
            raise TensorIndexError("TensorDataset: no tensors, so no length")
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices
        # (PyTorch's check: DataLoader fetches batches through __getitems__, which would
        # bypass a subclass's own __getitem__)
        if (
            type(self).__getitem__ is not Subset.__getitem__
            and type(self).__getitems__ is Subset.__getitems__
        ):
            raise NotImplementedError(
                f"{type(self).__name__} overrides __getitem__ but not __getitems__. When "
                "subclassing Subset and overriding __getitem__, you must also override "
                "__getitems__ to ensure DataLoader works correctly with your custom logic. "
                "A simple implementation:\n\n"
                "def __getitems__(self, indices):\n"
                "    return [self.__getitem__(idx) for idx in indices]"
            )

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        """The samples at `indices` (a batch): from the wrapped dataset's own __getitems__ when
        it has one, as PyTorch's, else one by one."""
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Datasets one after another."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise DatasetAssertionError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise DatasetTypeAssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    @property
    def cummulative_sizes(self) -> list[int]:
        """The old, misspelt name of cumulative_sizes (PyTorch keeps it, with a warning)."""
        warnings.warn(
            "cummulative_sizes attribute is renamed to cumulative_sizes",
            FutureWarning,
            stacklevel=2,
        )
        return self.cumulative_sizes

    def __getitem__(self, idx: int) -> Any:
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise DatasetIndexValueError(
                    f"ConcatDataset: index {idx} is out of range for {n} samples (absolute value "
                    "of index should not exceed dataset length)"
                )
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for {n} samples")
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][idx - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another (the stream of each in turn)."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator[Any]:
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                # (PyTorch asserts it, lazily too, as the chain reaches the dataset)
                raise TypeError(
                    f"ChainDataset only supports IterableDataset: dataset {i} is a "
                    f"{type(d).__name__}"
                )
            yield from d

    def __len__(self) -> int:
        total = 0
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(
                    f"ChainDataset only supports IterableDataset: dataset {i} is a "
                    f"{type(d).__name__}"
                )
            total += len(d)
        return total


class StackDataset(Dataset):
    """Sample i gathers sample i of each dataset: a tuple (`StackDataset(a, b)`) or a dict
    (`StackDataset(image=a, label=b)`); all must have the same length."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise TensorValueError(
                "StackDataset: give the datasets either positionally (tuple samples) or by "
                "name (dict samples), not both"
            )
        datasets = args or kwargs
        if not datasets:
            raise TensorValueError("StackDataset: at least one dataset should be passed")
        items = list(datasets.items()) if kwargs else list(enumerate(args))
        n = len(items[0][1])
        for name, d in items:
            if len(d) != n:
                raise TensorValueError(
                    f"StackDataset: size mismatch between datasets: {items[0][0]!r} has {n} "
                    f"samples but {name!r} has {len(d)}"
                )
        self.datasets = datasets
        self._length = n

    def __getitem__(self, index: int) -> Any:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        """The samples at `indices`, each dataset's part through its own __getitems__ when it
        has one (as PyTorch's)."""
        named = isinstance(self.datasets, dict)
        items = self.datasets.items() if named else enumerate(self.datasets)
        columns = {}
        for k, d in items:
            if callable(getattr(d, "__getitems__", None)):
                got = d.__getitems__(indices)
                if len(got) != len(indices):
                    raise TensorValueError(
                        f"Nested dataset's output size mismatch. Expected {len(indices)}, got "
                        f"{len(got)}"
                    )
                columns[k] = list(got)
            else:
                columns[k] = [d[i] for i in indices]
        if named:
            return [{k: col[j] for k, col in columns.items()} for j in range(len(indices))]
        return [tuple(col[j] for col in columns.values()) for j in range(len(indices))]

    def __len__(self) -> int:
        return self._length


class WorkerInfo:
    """What get_worker_info() returns inside a DataLoader worker: its `id`, `num_workers`,
    `seed` (its random streams' seed) and `dataset` (the worker's own copy)."""

    __initialized = False

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key: str, val: Any) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self) -> str:
        items = [f"{k}={getattr(self, k)}" for k in self.__keys]
        return f"{self.__class__.__name__}({', '.join(items)})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The current DataLoader worker's WorkerInfo while a worker loads a batch (see
    DataLoader's num_workers), None in the main process."""
    return _worker_info


_STOP = object()  # a worker's iterable dataset is exhausted


class _Worker:
    """One of PyTorch's DataLoader worker processes, emulated in the main process: its own
    (shallow) copy of the dataset and its own random streams, seeded as PyTorch seeds a worker:
    tinyconv's and Python's `random` with base_seed + id, NumPy's global one with NumPy's
    SeedSequence([id, base_seed's low and high 32 bits, 0]) (torch's _generate_state). They are
    swapped in only while the worker runs, so the main process's streams never see its draws.
    """

    def __init__(self, loader: DataLoader, wid: int, base_seed: int) -> None:
        seed = base_seed + wid
        self.info = WorkerInfo(
            id=wid, num_workers=loader.num_workers, seed=seed, dataset=copy.copy(loader.dataset)
        )
        self.gen = Generator().manual_seed(seed)
        py = random.Random(seed)
        self.py_state = py.getstate()
        entropy = [wid, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
        np_rng = np.random.RandomState(np.random.SeedSequence(entropy).generate_state(4))
        self.np_state = np_rng.get_state()
        self.it: Iterator[Any] | None = None
        if loader.worker_init_fn is not None:
            self.run(loader.worker_init_fn, wid)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) as this worker: its WorkerInfo, its random streams."""
        global _worker_info
        default = _random._default
        prev_info, _worker_info = _worker_info, self.info
        main_py, main_np = random.getstate(), np.random.get_state()
        random.setstate(self.py_state)
        np.random.set_state(self.np_state)
        default.__dict__, self.gen.__dict__ = self.gen.__dict__, default.__dict__
        try:
            return fn(*args)
        finally:
            default.__dict__, self.gen.__dict__ = self.gen.__dict__, default.__dict__
            self.py_state, self.np_state = random.getstate(), np.random.get_state()
            random.setstate(main_py)
            np.random.set_state(main_np)
            _worker_info = prev_info

    def next_batch(self, loader: DataLoader) -> Any:
        """The next batch of this worker's copy of an IterableDataset, or _STOP."""
        if self.it is None:
            self.it = iter(self.info.dataset)
        if loader.batch_size is None:
            sample = next(self.it, _STOP)
            return sample if sample is _STOP else loader.collate_fn(sample)
        batch = list(itertools.islice(self.it, loader.batch_size))
        if not batch or (loader.drop_last and len(batch) < loader.batch_size):
            return _STOP
        return loader.collate_fn(batch)


def random_split(dataset: Any, lengths: Sequence[Any], generator: Any = None) -> list[Subset]:
    """Split `dataset` into non-overlapping random Subsets of the given lengths.

    `lengths` are counts summing to len(dataset), or fractions summing to 1: then each split gets
    floor(fraction * len) samples and the remainder is handed out one by one from the first split.
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise TensorValueError(
                    f"random_split: fraction at index {i} is {frac}, not between 0 and 1"
                )
            counts.append(math.floor(n * frac))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(
                    f"random_split: length of split at index {i} is 0; this might result in an "
                    "empty dataset",
                    UserWarning,
                    stacklevel=2,
                )
        lengths = counts
    if sum(lengths) != n:
        raise TensorValueError(
            f"random_split: the lengths {lengths} sum to {sum(lengths)}, but the dataset has "
            f"{n} samples"
        )
    counts = []
    for i, c in enumerate(lengths):
        try:  # (ints, NumPy integers and integer 0-d tensors, as PyTorch's slicing takes them)
            count = operator.index(c)
        except TypeError:
            # PyTorch's randperm(sum(lengths)) fails on counts such as 3.0: a TypeError
            raise TypeError(
                f"random_split: lengths must be integer counts or fractions summing to 1, "
                f"got {c!r} at index {i}"
            ) from None
        if isinstance(c, bool) or count < 0:
            raise TensorValueError(
                f"random_split: lengths must be non-negative counts or fractions summing to 1, "
                f"got {c!r} at index {i}"
            )
        counts.append(count)
    lengths = counts
    perm = _random.permutation(_gen(generator), n).tolist()
    out, start = [], 0
    for c in lengths:
        out.append(Subset(dataset, perm[start : start + c]))
        start += c
    return out


# -- samplers: the order of indices ------------------------------------------------------------


class Sampler:
    """Base class: an iterable of dataset indices."""

    __class_getitem__ = classmethod(types.GenericAlias)  # Sampler[int], as PyTorch's

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order at every pass (every epoch), from `generator` or tinyconv's seeded one."""

    def __init__(
        self,
        data_source: Any,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Any = None,
    ) -> None:
        self.data_source, self.replacement, self.generator = data_source, replacement, generator
        self._num_samples = num_samples
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got {replacement!r}")
        # (an empty dataset counts too: PyTorch checks the number of samples it would draw)
        n = self.num_samples
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise TensorValueError(
                f"RandomSampler: num_samples must be a positive integer, got num_samples={n!r}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        # A generator, as PyTorch's: nothing is drawn before the first index is asked for, and
        # each block below is drawn when reached (num_samples=1e10 with replacement is fine).
        n = len(self.data_source)
        g = self.generator
        if g is None:
            # as PyTorch: a fresh generator seeded by one 64-bit draw from the global stream
            g = Generator().manual_seed(int(_random.random_full(_gen(None), (), np.int64)))
        if self.replacement:
            # PyTorch draws 32 at a time, then the remainder (an empty draw included)
            for _ in range(self.num_samples // 32):
                yield from _random.integers(g, (32,), 0, n).tolist()
            yield from _random.integers(g, (self.num_samples % 32,), 0, n).tolist()
            return
        if n == 0:
            return
        for _ in range(self.num_samples // n):
            yield from _random.permutation(g, n).tolist()
        # PyTorch draws one more permutation for the remainder, even an empty one
        yield from _random.permutation(g, n)[: self.num_samples % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a new random order at every pass."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices, self.generator = indices, generator

    def __iter__(self) -> Iterator[int]:
        for i in _random.permutation(_gen(self.generator), len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probability proportional to `weights` (a 1-D sequence
    or Tensor of non-negative numbers), with replacement by default; new draws at every pass."""

    def __init__(
        self,
        weights: Any,
        num_samples: int,
        replacement: bool = True,
        generator: Any = None,
    ) -> None:
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
            raise TensorValueError(
                "WeightedRandomSampler: num_samples must be a positive integer, "
                f"got {num_samples!r}"
            )
        if not isinstance(replacement, bool):
            raise TensorValueError(
                f"WeightedRandomSampler: replacement must be a bool, got {replacement!r}"
            )
        w = np.asarray(weights._data if isinstance(weights, Tensor) else weights, np.float64)
        if w.ndim != 1 or w.size == 0:
            raise TensorValueError(
                "WeightedRandomSampler: weights must be a non-empty 1-D sequence, "
                f"got shape {w.shape}"
            )
        # (PyTorch finds these at the first pass, with the same RuntimeError; here the sampler
        # that cannot draw is the error)
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise RuntimeError(
                "WeightedRandomSampler: weights must be finite, non-negative and not all zero"
            )
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError(
                f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement "
                f"from {np.count_nonzero(w)} nonzero weights"
            )
        self.weights = Tensor(w, dtype=np.float64)  # (a float64 Tensor, as PyTorch keeps them)
        self.num_samples, self.replacement, self.generator = num_samples, replacement, generator

    def __iter__(self) -> Iterator[int]:
        # PyTorch's torch.multinomial(weights as float64, num_samples, replacement)
        idx = _random.multinomial_indices(
            self.weights._data,
            self.num_samples,
            self.replacement,
            self.generator,
            "WeightedRandomSampler",
        )
        return iter(idx.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group another sampler's indices into lists of `batch_size` (the last one shorter unless
    drop_last)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise TensorValueError(
                f"BatchSampler: batch_size must be a positive integer, got {batch_size!r}"
            )
        if not isinstance(drop_last, bool):
            raise TensorValueError(f"BatchSampler: drop_last must be a bool, got {drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# -- the loader -----------------------------------------------------------------------------------


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size` samples, joined by `collate_fn`.

    `shuffle=True` draws a new order at every pass (from `generator`, else tinyconv's seeded
    generator); `drop_last=True` skips a last, incomplete batch. `len(loader)` is the number
    of batches. Loading runs in the main process; `num_workers=n` emulates PyTorch's n
    workers (their batch order, dataset copies and random streams: PyTorch's numbers), and
    `pin_memory`, `timeout`, `prefetch_factor` and the other process options are ignored.
    """

    __class_getitem__ = classmethod(types.GenericAlias)  # DataLoader[tuple], as PyTorch's

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Any = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: Any = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0
        ):
            raise TensorValueError(
                f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}"
            )
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise TensorValueError(
                f"DataLoader: num_workers must be a non-negative integer, got {num_workers!r}"
            )
        # PyTorch's checks of the process options, though no process is started here: code
        # that passes them must fail (or not) as it does there
        if timeout < 0:
            raise TensorValueError(f"DataLoader: timeout must be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise TensorValueError(
                "DataLoader: prefetch_factor needs num_workers > 0 (it is the number of batches "
                "each worker loads ahead); leave it None without workers"
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise TensorValueError(
                f"DataLoader: prefetch_factor must be non-negative, got {prefetch_factor!r}"
            )
        if persistent_workers and num_workers == 0:
            raise TensorValueError("DataLoader: persistent_workers=True needs num_workers > 0")
        self.dataset = dataset
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.persistent_workers = worker_init_fn, persistent_workers
        self.prefetch_factor, self.pin_memory_device, self.in_order = (
            prefetch_factor,
            pin_memory_device,
            in_order,
        )
        self.multiprocessing_context = _multiprocessing_context(
            multiprocessing_context, num_workers
        )
        self._workers: list[_Worker] | None = None
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise TensorValueError(
                    "DataLoader: shuffle=True is not allowed with an IterableDataset "
                    "(it has no indices to shuffle)"
                )
            if sampler is not None or batch_sampler is not None:
                raise TensorValueError(
                    "DataLoader: sampler and batch_sampler are not allowed with an IterableDataset"
                )
        if sampler is not None and shuffle:
            raise TensorValueError(
                "DataLoader: sampler and shuffle=True are mutually exclusive "
                "(the sampler decides the order)"
            )
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise TensorValueError(
                    "DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, "
                    "sampler and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise TensorValueError(
                "DataLoader: batch_size=None (no batching) is mutually exclusive with drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        if collate_fn is None:
            collate_fn = (
                default_collate
                if batch_size is not None or batch_sampler is not None
                else default_convert
            )
        self.collate_fn = collate_fn
        self._initialized = True

    # What decides the batches is fixed once the loader exists (PyTorch's loader would keep
    # using its old sampler and batch sampler): setting it raises, as there
    _FROZEN = (
        "batch_size",
        "batch_sampler",
        "sampler",
        "drop_last",
        "dataset",
        "persistent_workers",
    )

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._FROZEN and self.__dict__.get("_initialized", False):
            raise TensorValueError(
                f"{name} attribute should not be set after {type(self).__name__} is initialized"
            )
        super().__setattr__(name, value)

    def __iter__(self) -> Iterator[Any]:
        if self.pin_memory:  # (PyTorch warns at each pass when there is no accelerator)
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then device "
                "pinned memory won't be used.",
                UserWarning,
                stacklevel=2,
            )
        # PyTorch draws a base seed for its workers (one 64-bit number, from the loader's
        # generator or the global one) at every pass, even with no workers; drawing it too keeps
        # the random stream, and the shuffled order after it, the same as PyTorch's. Persistent
        # workers keep theirs: PyTorch reuses its iterator then, and draws no new seed.
        if self.num_workers and self.persistent_workers and self._workers is not None:
            for w in self._workers:
                w.it = None  # (each pass restarts a worker's iterable dataset)
            return _LoaderIter(self, self._worker_batches(self._workers))
        self._base_seed = int(_random.random_full(_gen(self.generator), (), np.int64))
        if self.num_workers:
            workers = [_Worker(self, i, self._base_seed) for i in range(self.num_workers)]
            if self.persistent_workers:
                self._workers = workers
            return _LoaderIter(self, self._worker_batches(workers))
        return _LoaderIter(self, self._batches())

    def _worker_batches(self, workers: list[_Worker]) -> Iterator[Any]:
        """PyTorch's multi-process loading, in order and in this process: batch k of a
        map-style dataset is loaded by worker k % num_workers; an IterableDataset is iterated
        by every worker's copy, batches taken from the workers in turn (a worker that runs out
        drops out of the turn)."""
        if not self._iterable:
            one = self.batch_sampler is None
            for k, task in enumerate(self.sampler if one else self.batch_sampler):
                w = workers[k % len(workers)]
                yield w.run(self._fetch, w.info.dataset, task, one)
            return
        active, pos = list(workers), 0
        while active:
            w = active[pos]
            batch = w.run(w.next_batch, self)
            if batch is _STOP:
                del active[pos]
                pos = 0 if pos >= len(active) else pos
                continue
            yield batch
            pos = (pos + 1) % len(active)

    def _fetch(self, dataset: Any, task: Any, one: bool) -> Any:
        """One batch of a map-style dataset: the sample at index `task` (one) or the samples at
        the indices `task`, through the dataset's __getitems__ when it has one (PyTorch's
        fetcher), then collate_fn."""
        if one:
            return self.collate_fn(dataset[task])
        getitems = getattr(dataset, "__getitems__", None)
        return self.collate_fn(getitems(task) if getitems else [dataset[i] for i in task])

    def _batches(self) -> Iterator[Any]:
        if self._iterable:
            it = iter(self.dataset)
            if self.batch_size is None:
                for sample in it:
                    yield self.collate_fn(sample)
                return
            while True:
                batch = list(itertools.islice(it, self.batch_size))
                if not batch or (self.drop_last and len(batch) < self.batch_size):
                    return
                yield self.collate_fn(batch)
        one = self.batch_sampler is None
        for task in self.sampler if one else self.batch_sampler:
            yield self._fetch(self.dataset, task, one)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)


class _LoaderIter:
    """One pass over a DataLoader: its batches, and len() the number of batches of a
    map-style dataset, as PyTorch's loader iterators (an IterableDataset's pass has no length
    there either: TypeError)."""

    def __init__(self, loader: DataLoader, batches: Iterator[Any]) -> None:
        self._loader, self._batches = loader, batches

    def __iter__(self) -> _LoaderIter:
        return self

    def __next__(self) -> Any:
        return next(self._batches)

    def __len__(self) -> int:
        if self._loader._iterable:
            raise TypeError("a pass over an IterableDataset has no len()")
        return len(self._loader)


def _multiprocessing_context(context: Any, num_workers: int) -> Any:
    """DataLoader's multiprocessing_context checked as PyTorch checks it: only with workers, a
    start method's name (made a context) or a multiprocessing context object."""
    if context is None:
        return None
    if num_workers == 0:
        raise TensorValueError(
            "DataLoader: multiprocessing_context can only be used with multi-process loading "
            "(num_workers > 0), but got num_workers=0"
        )
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise TensorValueError(
                f"DataLoader: multiprocessing_context should be a start method in {methods!r}, "
                f"got {context!r}"
            )
        context = multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(
            "DataLoader: multiprocessing_context should be a context object or the name of a "
            f"start method, got {context!r}"
        )
    return context


# torch.utils.data.distributed (and the name at this level, as PyTorch's)
from . import distributed  # noqa: E402, F401
from .distributed import DistributedSampler  # noqa: E402

# torch.utils.data.sampler, .dataset, .dataloader, ._utils as attributes too (PyTorch's package
# imports them, so `torch.utils.data.sampler.SubsetRandomSampler` works without an import);
# imported by name, as a plain `from . import dataset` would shadow the many `dataset`
# arguments above
for _submodule in ("_utils", "dataloader", "dataset", "sampler"):
    importlib.import_module(f"{__name__}.{_submodule}")
