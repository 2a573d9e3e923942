"""Tensor.storage() / untyped_storage(), torch.is_storage and torch.typename: views share one
storage (its data_ptr is the base's), copies do not; writes through a storage reach the
tensors; sizes in elements and bytes."""

from __future__ import annotations

import pytest

import tinyconv

pytestmark = pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")


def test_views_share_the_storage_copies_do_not():
    x = tinyconv.arange(6.0)
    for view in (x[2:], x.reshape(2, 3).t(), x.as_strided((2,), (3,)), x.view(3, 2)[1]):
        assert view.storage().data_ptr() == x.storage().data_ptr() == x.data_ptr()
        assert view.untyped_storage().data_ptr() == x.data_ptr()
        assert view.storage().size() == 6 and view.untyped_storage().nbytes() == 24
    assert x.clone().untyped_storage().data_ptr() != x.untyped_storage().data_ptr()


def test_storage_reads_and_writes_the_shared_memory():
    x = tinyconv.arange(4.0, dtype=tinyconv.float64)
    s = x[1:].storage()
    assert s.tolist() == [0.0, 1.0, 2.0, 3.0] and s[2] == 2.0 and list(s) == s.tolist()
    assert s.dtype == tinyconv.float64 and s.element_size() == 8 and len(s) == 4
    s[0] = 7.0
    assert x.tolist() == [7.0, 1.0, 2.0, 3.0]
    u = x.untyped_storage()
    assert (
        len(u) == 32
        and u.element_size() == 1
        and u.tolist()[:8] == list(bytes(memoryview(x.numpy())[:1]))
    )
    assert "TypedStorage(dtype=tinyconv.float64, device=cpu) of size 4" in repr(s)


def test_is_storage_and_typename():
    x = tinyconv.ones(2)
    assert tinyconv.is_storage(x.storage()) and tinyconv.is_storage(x.untyped_storage())
    assert not tinyconv.is_storage(x)
    assert tinyconv.typename(x) == "tinyconv.FloatTensor"
    assert tinyconv.typename(3) == "int"
    assert tinyconv.typename(tinyconv.nn.Linear(1, 1)).endswith(".Linear")
    assert tinyconv.typename(tinyconv.nn.Linear).endswith(".Linear")


def test_storage_matches_torch_on_views():
    torch = pytest.importorskip("torch")
    for lib in (torch, tinyconv):
        x = lib.arange(12.0)
        views = [x[3:], x.reshape(3, 4).t(), x[::2], x.view(2, 6)[1]]
        assert all(v.untyped_storage().data_ptr() == x.data_ptr() for v in views)
        assert [v.storage().size() for v in views] == [12] * 4
        assert [v.untyped_storage().nbytes() for v in views] == [48] * 4
    assert tinyconv.typename(3) == torch.typename(3)


test_storage_matches_torch_on_views = pytest.mark.torch(test_storage_matches_torch_on_views)


def test_storage_warns_as_pytorch():
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        tinyconv.ones(2).storage()
