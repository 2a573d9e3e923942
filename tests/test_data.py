"""tinyconv.utils.data: datasets, default collation, DataLoader batching and shuffling,
random_split."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import tinyconv as torch
from tinyconv.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def _dataset(n=10):
    X = torch.arange(2 * n, dtype=torch.float32).reshape(n, 2)
    y = torch.arange(n)
    return TensorDataset(X, y)


def test_lazy_attribute_and_import_paths():
    assert torch.utils.data.DataLoader is DataLoader


def test_tensor_dataset():
    ds = _dataset()
    assert len(ds) == 10
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3 and y.ndim == 0
    with pytest.raises(ValueError, match="size mismatch .* tensor 1 has 3"):
        TensorDataset(torch.zeros(4, 2), torch.zeros(3))


def test_batches_in_order_with_a_short_last_batch():
    loader = DataLoader(_dataset(), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [tuple(x.shape) for x, _ in batches] == [(4, 2), (4, 2), (2, 2)]
    assert torch.cat([y for _, y in batches]).tolist() == list(range(10))
    assert batches[0][1].dtype == torch.int64 and batches[0][0].dtype == torch.float32
    dropped = DataLoader(_dataset(), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [len(y) for _, y in dropped] == [4, 4]


def test_shuffle_is_a_new_permutation_each_epoch_and_seeded():
    def epochs(**kw):
        loader = DataLoader(_dataset(), batch_size=3, shuffle=True, **kw)
        return [torch.cat([y for _, y in loader]).tolist() for _ in range(2)]

    torch.manual_seed(0)
    a = epochs()
    torch.manual_seed(0)
    b = epochs()
    assert a == b and a[0] != a[1]
    assert sorted(a[0]) == sorted(a[1]) == list(range(10))
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert epochs(generator=g1) == epochs(generator=g2)


def test_default_collate():
    Point = namedtuple("Point", "x y")
    assert default_collate([1, 2, 3]).dtype == torch.int64
    floats = default_collate([1.0, 2.5])
    assert floats.dtype == torch.float64 and floats.tolist() == [1.0, 2.5]  # as PyTorch: float64
    batch = default_collate([{"a": np.ones(2), "b": ("s", 1)}, {"a": np.zeros(2), "b": ("t", 2)}])
    assert (
        batch["a"].shape == (2, 2)
        and batch["b"][0] == ("s", "t")  # (a field of strings stays zip's tuple, as PyTorch's)
        and batch["b"][1].tolist() == [1, 2]
    )
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(p, Point) and p.x.tolist() == [1, 3]
    assert default_collate([Point("a", 1), Point("b", 2)]).x == ("a", "b")
    assert default_collate(["a", "b"]) == ["a", "b"]  # (the batch itself: a list)
    pairs = default_collate([(1, "x"), (2, "y")])
    assert isinstance(pairs, list) and pairs[1] == ("x", "y")
    with pytest.raises(RuntimeError, match="different shapes"):
        default_collate([torch.zeros(2), torch.zeros(3)])


def test_custom_dataset_collate_fn_and_batch_size_none():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return torch.tensor([float(i)]), i * i

    loader = DataLoader(Squares(), batch_size=2, collate_fn=lambda b: [s[1] for s in b])
    assert list(loader) == [[0, 1], [4, 9], [16]]
    single = list(DataLoader(Squares(), batch_size=None))
    assert len(single) == 5 and single[2][1] == 4
    loader = DataLoader(
        Squares(), batch_size=5, num_workers=2, pin_memory=True
    )  # accepted, runs in-process
    x, y = next(iter(loader))
    assert x.shape == (5, 1) and y.tolist() == [0, 1, 4, 9, 16]


def test_iterable_dataset_and_samplers():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError, match="IterableDataset"):
        DataLoader(Stream(), shuffle=True)
    bs = BatchSampler(SequentialSampler(range(5)), 2, drop_last=False)
    assert list(bs) == [[0, 1], [2, 3], [4]] and len(bs) == 3
    loader = DataLoader(_dataset(), batch_sampler=[[0, 9], [5]])
    assert [y.tolist() for _, y in loader] == [[0, 9], [5]]
    cat = ConcatDataset([_dataset(3), _dataset(2)])
    assert len(cat) == 5 and cat[4][1].item() == 1


def test_random_split_counts_and_fractions():
    torch.manual_seed(3)
    a, b = random_split(range(10), [3, 7])
    assert isinstance(a, Subset) and len(a) == 3 and len(b) == 7
    assert sorted(list(a) + list(b)) == list(range(10))
    parts = random_split(_dataset(), [0.5, 0.3, 0.2], generator=torch.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [5, 3, 2]
    again = random_split(_dataset(), [0.5, 0.3, 0.2], generator=torch.Generator().manual_seed(1))
    assert [p.indices for p in parts] == [p.indices for p in again]
    assert [len(p) for p in random_split(range(11), [0.5, 0.5])] == [
        6,
        5,
    ]  # remainder to the first split
    with pytest.raises(ValueError, match="sum to 9, but the dataset has 10"):
        random_split(range(10), [4, 5])
    loader = DataLoader(parts[1], batch_size=8)
    x, y = next(iter(loader))
    assert x.shape == (3, 2) and y.tolist() == parts[1].indices


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_dataset(), batch_size=0)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(_dataset(), sampler=SequentialSampler(range(10)), shuffle=True)


def test_weighted_random_sampler():
    from tinyconv.utils.data import DataLoader, WeightedRandomSampler

    g = torch.Generator().manual_seed(0)
    s = WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], num_samples=400, generator=g)
    draws = list(s)
    assert len(s) == 400 and set(draws) == {1, 3}
    assert 0.65 < draws.count(3) / 400 < 0.85  # probability 3/4
    s2 = WeightedRandomSampler(torch.tensor([1.0, 1.0, 2.0]), 3, replacement=False)
    assert sorted(s2) == [0, 1, 2]
    batches = list(DataLoader(list(range(4)), batch_size=2, sampler=s))
    assert len(batches) == 200 and all(b.tolist()[0] in (1, 3) for b in batches)
    with pytest.raises(RuntimeError, match="without replacement"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(RuntimeError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)


def test_dataloader_fetches_through_getitems():
    calls = []

    class Batched(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            calls.append(("item", i))
            return i

        def __getitems__(self, indices):
            calls.append(("items", list(indices)))
            return [10 * i for i in indices]

    assert [b.tolist() for b in DataLoader(Batched(), batch_size=2)] == [[0, 10], [20, 30], [40]]
    assert calls == [("items", [0, 1]), ("items", [2, 3]), ("items", [4])]
    calls.clear()
    assert list(DataLoader(Batched(), batch_size=None))[:2] == [0, 1]
    assert calls[:2] == [("item", 0), ("item", 1)]  # no batches: one sample at a time
    calls.clear()
    sub = Subset(Batched(), [4, 0, 3])
    assert [b.tolist() for b in DataLoader(sub, batch_size=2)] == [[40, 0], [30]]
    assert calls == [("items", [4, 0]), ("items", [3])]
    assert Subset(list("abc"), [2, 0]).__getitems__([0, 1]) == ["c", "a"]

    class Custom(Subset):
        def __getitem__(self, i):
            return 0

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Custom(Batched(), [0])


def test_collate_fn_map_convert_and_mappings():
    import collections

    from tinyconv.utils.data import default_convert
    from tinyconv.utils.data._utils.collate import collate, default_collate_fn_map

    scalar = default_convert(np.float64(2.0))
    assert isinstance(scalar, torch.Tensor) and scalar.dtype == torch.float64
    dd = collections.defaultdict(list, x=1.0)
    batch = default_collate([dd, dd])
    assert type(batch) is collections.defaultdict and batch["missing"] == []
    with pytest.raises(TypeError):
        default_collate([None, None])

    class Point:
        def __init__(self, x):
            self.x = x

    def collate_point(batch, *, collate_fn_map=None):
        return torch.tensor([p.x for p in batch])

    out = collate(
        [{"p": Point(1), "n": 1.0}, {"p": Point(2), "n": 2.0}],
        collate_fn_map={**default_collate_fn_map, Point: collate_point},
    )
    assert out["p"].tolist() == [1, 2] and out["n"].dtype == torch.float64
    with pytest.raises(TypeError):
        default_collate([Point(1)])


def test_iterable_datasets_add_to_a_chain_and_argument_errors():
    from tinyconv.utils.data import ChainDataset

    class Count(IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    both = Count(2) + Count(3)
    assert isinstance(both, ChainDataset) and list(both) == [0, 1, 0, 1, 2]
    with pytest.raises(AssertionError):  # (PyTorch's; also tinyconv's ValueError)
        TensorDataset(torch.ones(3), torch.ones(2))
    cat = ConcatDataset([_dataset(5), _dataset(5)])
    with pytest.raises(ValueError):  # (PyTorch's; also tinyconv's IndexError)
        cat[-11]
    assert cat[-10][1].item() == 0
