"""nn.utils.rnn packing (PackedSequence, pack_padded_sequence, pad_packed_sequence,
pack_sequence, unpack_sequence, unpad_sequence) and RNN/LSTM/GRU on packed input: values,
gradients (finite differences in float64), grad_fn names and errors, against PyTorch where
it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import packing_configs

import tinyconv
from tinyconv.autograd import gradcheck, gradgradcheck
from tinyconv.nn.utils import rnn as R


def _np(t):
    return t.detach().numpy()


def _padded(lengths, steps, batch_first, trailing=(2,), seed=0):
    shape = (len(lengths), steps) if batch_first else (steps, len(lengths))
    return np.random.default_rng(seed).standard_normal(shape + trailing)


# -- without PyTorch -----------------------------------------------------------------------


@given(packing_configs(), st.integers(0, 2**16))
@settings(max_examples=25)
def test_pack_then_pad_restores_the_padded_batch_and_its_gradient(cfg, seed):
    lengths, steps, batch_first, enforce_sorted = cfg
    x = _padded(lengths, steps, batch_first, seed=seed)
    a = tinyconv.tensor(x, requires_grad=True)
    packed = R.pack_padded_sequence(a, lengths, batch_first, enforce_sorted)
    assert packed.data.shape == (sum(lengths), 2)
    assert packed.batch_sizes.tolist() == [sum(n > t for n in lengths) for t in range(max(lengths))]
    out, lens = R.pad_packed_sequence(packed, batch_first, padding_value=-7.0)
    assert lens.tolist() == lengths and lens.dtype == tinyconv.int64
    # every sequence comes back in place, padding_value past its end
    for b, n in enumerate(lengths):
        want = x[b] if batch_first else x[:, b]
        got = _np(out)[b] if batch_first else _np(out)[:, b]
        assert np.array_equal(got[:n], want[:n])
        assert np.all(got[n:] == -7.0)
    for seq, n, b in zip(R.unpack_sequence(packed), lengths, range(len(lengths)), strict=True):
        assert np.array_equal(_np(seq), (x[b] if batch_first else x[:, b])[:n])

    def f(z):
        p = R.pack_padded_sequence(z, lengths, batch_first, enforce_sorted)
        return R.pad_packed_sequence(p, batch_first, total_length=steps + 1)[0]

    assert gradcheck(f, (a,))
    assert gradgradcheck(lambda z: (f(z) ** 2).sum(), (a,))


def test_packed_sequence_is_a_namedtuple_with_conversions():
    p = R.pack_sequence([tinyconv.ones(2, 3), tinyconv.ones(3, 3)], enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert sorted_indices.tolist() == [1, 0] and unsorted_indices.tolist() == [1, 0]
    assert batch_sizes.tolist() == [2, 2, 1]
    d = p.double()
    assert isinstance(d, R.PackedSequence) and d.data.dtype == tinyconv.float64
    assert d.batch_sizes is p.batch_sizes and d.sorted_indices is p.sorted_indices
    assert p.to(tinyconv.float32) is p and p.cpu() is p and p.float() is p
    assert not p.is_cuda and p.long().data.dtype == tinyconv.int64
    # unsorted_indices is worked out from sorted_indices when not given
    q = R.PackedSequence(data, batch_sizes, tinyconv.tensor([2, 0, 1]))
    assert q.unsorted_indices.tolist() == [1, 2, 0]
    assert repr(p).startswith("PackedSequence(data=tensor(")


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_packed_recurrent_layers_gradcheck(cls):
    tinyconv.manual_seed(0)
    m = getattr(tinyconv.nn, cls)(2, 3, num_layers=2, bidirectional=True).double()
    lengths = [1, 3, 2]
    x = tinyconv.tensor(_padded(lengths, 3, False), requires_grad=True)
    h0 = tinyconv.tensor(np.random.default_rng(1).standard_normal((4, 3, 3)), requires_grad=True)

    def f(x, h0):
        hx = (h0, h0 * 0.5) if cls == "LSTM" else h0
        out, h = m(R.pack_padded_sequence(x, lengths, enforce_sorted=False), hx)
        h = h[0] if cls == "LSTM" else h
        return R.pad_packed_sequence(out)[0].sum() + (h * h).sum()

    assert gradcheck(f, (x, h0))


def test_packed_rnn_final_state_is_each_sequence_state_at_its_own_length():
    tinyconv.manual_seed(0)
    m = tinyconv.nn.GRU(2, 3, bidirectional=True).double()
    lengths = [2, 4, 1]
    x = tinyconv.tensor(_padded(lengths, 4, True), dtype=tinyconv.float64)
    out, h = m(R.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    padded, _ = R.pad_packed_sequence(out, batch_first=True)
    for b, n in enumerate(lengths):
        alone, h_alone = m(x[b : b + 1, :n].transpose(0, 1))  # the sequence on its own
        assert np.allclose(_np(padded)[b, :n], _np(alone)[:, 0], atol=1e-12)
        assert np.all(_np(padded)[b, n:] == 0)
        assert np.allclose(_np(h)[:, b], _np(h_alone)[:, 0], atol=1e-12)


def test_unpad_sequence_transposes_its_argument_in_place_as_pytorch():
    x = tinyconv.arange(12.0).reshape(3, 2, 2)
    seqs = R.unpad_sequence(x, [3, 1])
    assert x.shape == (2, 3, 2)  # PyTorch's unpad_sequence does x.transpose_(0, 1)
    assert [tuple(s.shape) for s in seqs] == [(3, 2), (1, 2)]


def test_packing_errors_name_the_problem():
    x = tinyconv.zeros(4, 3, 2)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        R.pack_padded_sequence(x, [2, 4, 3])
    with pytest.raises(RuntimeError, match="greater than 0"):
        R.pack_padded_sequence(x, [4, 0, 3], enforce_sorted=False)
    with pytest.raises(RuntimeError, match="batch_size"):
        R.pack_padded_sequence(x, [4, 3])
    with pytest.raises(RuntimeError, match="1D"):
        R.pack_padded_sequence(x, [[4, 3, 2]])
    with pytest.raises(TypeError, match="lengths"):
        R.pack_padded_sequence(x, ["a", "b", "c"])
    # PyTorch reads past the input's end here; tinyconv refuses (README)
    with pytest.raises(RuntimeError, match="only 4 time steps"):
        R.pack_padded_sequence(x, [5, 3, 2])
    with pytest.raises(RuntimeError, match="empty"):
        R.pack_padded_sequence(x[:, :0], [])
    p = R.pack_padded_sequence(x, [4, 3, 2])
    with pytest.raises(ValueError, match="total_length=3"):
        R.pad_packed_sequence(p, total_length=3)
    with pytest.raises(TypeError, match="total_length"):
        R.pad_packed_sequence(p, total_length=4.5)
    with pytest.raises(TypeError, match="PackedSequence"):
        R.pad_packed_sequence(x)
    m = tinyconv.nn.LSTM(2, 3)
    with pytest.raises(RuntimeError, match=r"hidden\[0\] size \(1, 3, 3\)"):
        m(p, (tinyconv.zeros(1, 2, 3), tinyconv.zeros(1, 2, 3)))
    with pytest.raises(ValueError, match="dtype"):
        m(p.double())
    with pytest.raises(RuntimeError, match="input_size"):
        tinyconv.nn.GRU(3, 3)(p)


# -- against PyTorch ---------------------------------------------------------------------


def _torch():
    return pytest.importorskip("torch")


def _pair(torch, x):
    return tinyconv.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _same(a, b, exact=True):
    a, b = _np(a), b.detach().numpy()
    assert a.shape == b.shape and a.dtype == b.dtype
    if exact:
        assert np.array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def _names(t):
    """grad_fn's class name in PyTorch (CopySlices' name() is namespaced there)."""
    return t.grad_fn.name() if isinstance(t, tinyconv.Tensor) else type(t.grad_fn).__name__


@pytest.mark.torch
@given(packing_configs(), st.integers(0, 2**16), st.sampled_from([0, 1, 3]))
@settings(max_examples=20)
def test_pack_pad_unpack_match_pytorch(cfg, seed, extra):
    torch = _torch()
    TR = torch.nn.utils.rnn
    lengths, steps, batch_first, enforce_sorted = cfg
    a, b = _pair(torch, _padded(lengths, steps, batch_first, (2, 1), seed))
    pa = R.pack_padded_sequence(a, lengths, batch_first, enforce_sorted)
    pb = TR.pack_padded_sequence(b, torch.tensor(lengths), batch_first, enforce_sorted)
    _same(pa.data, pb.data)
    _same(pa.batch_sizes, pb.batch_sizes)
    for i in (2, 3):
        assert (pa[i] is None) == (pb[i] is None)
        if pa[i] is not None:
            _same(pa[i], pb[i])
    assert _names(pa.data) == _names(pb.data)
    total = steps + extra if extra != 1 else None
    oa, la = R.pad_packed_sequence(pa, batch_first, 1.5, total)
    ob, lb = TR.pad_packed_sequence(pb, batch_first, 1.5, total)
    _same(oa, ob)
    _same(la, lb)
    assert _names(oa) == _names(ob)
    ua, ub = R.unpack_sequence(pa), TR.unpack_sequence(pb)
    assert len(ua) == len(ub)
    for u, v in zip(ua, ub, strict=True):
        _same(u, v)
        assert _names(u) == _names(v)
    w = np.random.default_rng(seed).standard_normal(tuple(oa.shape))
    loss_a = (oa * tinyconv.tensor(w)).sum() + sum((u**3).sum() for u in ua)
    loss_b = (ob * torch.tensor(w)).sum() + sum((v**3).sum() for v in ub)
    loss_a.backward()
    loss_b.backward()
    _same(a.grad, b.grad, exact=False)


@pytest.mark.torch
def test_pack_sequence_and_unpad_sequence_match_pytorch():
    torch = _torch()
    TR = torch.nn.utils.rnn
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, 3)) for n in (2, 4, 1, 4)]
    ta = [tinyconv.tensor(x, requires_grad=True) for x in arrays]
    tb = [torch.tensor(x, requires_grad=True) for x in arrays]
    for enforce in (False, True):
        if enforce:
            with pytest.raises(RuntimeError):
                TR.pack_sequence(tb, enforce_sorted=True)
            with pytest.raises(RuntimeError):
                R.pack_sequence(ta, enforce_sorted=True)
            continue
        pa, pb = R.pack_sequence(ta, enforce_sorted=False), TR.pack_sequence(tb, False)
        _same(pa.data, pb.data)
        _same(pa.sorted_indices, pb.sorted_indices)
        _same(pa.unsorted_indices, pb.unsorted_indices)
        assert _names(pa.data) == _names(pb.data)
    padded = rng.standard_normal((4, 3, 2))
    lengths = [4, 1, 3]
    for bf in (False, True):
        x = padded.transpose(1, 0, 2).copy() if bf else padded
        xa, xb = tinyconv.tensor(x), torch.tensor(x)
        ua = R.unpad_sequence(xa, tinyconv.tensor(lengths), batch_first=bf)
        ub = TR.unpad_sequence(xb, torch.tensor(lengths), batch_first=bf)
        assert tuple(xa.shape) == tuple(xb.shape)  # (both transposed in place when not bf)
        for u, v in zip(ua, ub, strict=True):
            _same(u, v)


@pytest.mark.torch
@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize(
    ("layers", "bidirectional", "lengths", "with_hx"),
    [
        (1, False, [5, 3, 3, 1], False),
        (2, True, [2, 5, 1, 3], True),
        (1, True, [3, 3, 3], True),
        (2, False, [1, 4], False),
    ],
)
def test_packed_recurrent_layers_match_pytorch(cls, layers, bidirectional, lengths, with_hx):
    torch = _torch()
    TR = torch.nn.utils.rnn
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(3, 4, num_layers=layers, bidirectional=bidirectional).double()
    m = getattr(tinyconv.nn, cls)(3, 4, num_layers=layers, bidirectional=bidirectional).double()
    m.load_state_dict({k: tinyconv.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(sum(lengths))
    a, b = _pair(torch, rng.standard_normal((max(lengths), len(lengths), 3)))
    d = 2 if bidirectional else 1
    ha, hb = _pair(torch, rng.standard_normal((layers * d, len(lengths), 4)))
    hxa = hxb = None
    if with_hx:
        hxa, hxb = ((ha, ha * 0.5), (hb, hb * 0.5)) if cls == "LSTM" else (ha, hb)
    sort = lengths != sorted(lengths, reverse=True)
    oa, sa = m(R.pack_padded_sequence(a, lengths, enforce_sorted=not sort), hxa)
    ob, sb = tm(TR.pack_padded_sequence(b, lengths, enforce_sorted=not sort), hxb)
    assert type(oa).__name__ == type(ob).__name__ == "PackedSequence"
    _same(oa.data, ob.data, exact=False)
    _same(oa.batch_sizes, ob.batch_sizes)
    assert (oa.sorted_indices is None) == (ob.sorted_indices is None)
    assert _names(oa.data) == _names(ob.data)
    sa, sb = (list(sa), list(sb)) if cls == "LSTM" else ([sa], [sb])
    for u, v in zip(sa, sb, strict=True):
        _same(u, v, exact=False)
        assert _names(u) == _names(v)
    la = R.pad_packed_sequence(oa)[0].sum() + sum((u * u).sum() for u in sa)
    lb = TR.pad_packed_sequence(ob)[0].sum() + sum((v * v).sum() for v in sb)
    la.backward()
    lb.backward()
    _same(a.grad, b.grad, exact=False)
    if with_hx:
        _same(ha.grad, hb.grad, exact=False)
    for (name, p), q in zip(m.named_parameters(), tm.parameters(), strict=True):
        np.testing.assert_allclose(
            _np(p.grad), q.grad.numpy(), rtol=1e-11, atol=1e-12, err_msg=name
        )


@pytest.mark.torch
def test_packing_errors_match_pytorch():
    torch = _torch()
    TR = torch.nn.utils.rnn

    def calls(lib, U):
        x = lib.zeros(4, 3, 2)
        p = U.pack_padded_sequence(x, [4, 3, 2])
        return [
            lambda: U.pack_padded_sequence(x, [2, 4, 3]),
            lambda: U.pack_padded_sequence(x, [4, 3, 0]),
            lambda: U.pack_padded_sequence(x, [4, 0, 3], enforce_sorted=False),
            lambda: U.pack_padded_sequence(x, [4, 3, -1]),
            lambda: U.pack_padded_sequence(x, [4, 3]),
            lambda: U.pack_padded_sequence(x, [[4, 3, 2]]),
            lambda: U.pack_padded_sequence(x, lib.tensor(4)),
            lambda: U.pack_padded_sequence(x, [4, 3, 2], batch_first=True),
            lambda: U.pack_padded_sequence(x[:, :0], []),
            lambda: U.pack_padded_sequence(x, lib.tensor([4.0, 3.0, 2.5])),
            lambda: U.pack_padded_sequence(x, [4, 3, 2]),
            lambda: U.pack_sequence([]),
            lambda: U.pack_sequence([lib.ones(2), lib.ones(3)]),
            lambda: U.pad_packed_sequence(p, total_length=3),
            lambda: U.pad_packed_sequence(p, total_length=4.5),
            lambda: U.pad_packed_sequence(p, total_length=4),
            lambda: lib.nn.RNN(2, 3)(p, lib.zeros(1, 2, 3)),
            lambda: lib.nn.RNN(2, 3)(p.double()),
            lambda: lib.nn.RNN(1, 3)(p),
        ]

    for i, (fa, fb) in enumerate(zip(calls(tinyconv, R), calls(torch, TR), strict=True)):
        got = want = None
        try:
            fb()
        except Exception as e:  # noqa: BLE001  (the type is what is compared)
            want = type(e)
        try:
            fa()
        except Exception as e:  # noqa: BLE001
            got = type(e)
        assert (got is None) == (want is None), (i, got, want)
        if want is not None:
            assert got.__name__ == want.__name__, (i, got, want)


@pytest.mark.torch
def test_packed_lstm_with_projection_matches_pytorch():
    """LSTM(proj_size=2), bidirectional, on an unsorted packed batch: the packed steps project
    h_t as the padded path does; output, final states and every gradient as PyTorch's."""
    torch = _torch()

    def run(lib):
        m = lib.nn.LSTM(3, 5, proj_size=2, bidirectional=True).double()
        with lib.no_grad():
            for i, p in enumerate(m.parameters()):
                p.copy_(lib.tensor(np.random.default_rng(i).normal(0, 0.4, tuple(p.shape))))
        x = lib.tensor(np.random.default_rng(9).normal(size=(4, 3, 3)), requires_grad=True)
        packed = lib.nn.utils.rnn.pack_padded_sequence(x, [4, 2, 3], enforce_sorted=False)
        out, (h, c) = m(packed)
        o, _ = lib.nn.utils.rnn.pad_packed_sequence(out)
        (o.sin().sum() + h.sum() + (c * c).sum()).backward()
        return [o, h, c, x.grad] + [p.grad for p in m.parameters()]

    for a, b in zip(run(tinyconv), run(torch), strict=True):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(_np(a), b.detach().numpy(), rtol=1e-10, atol=1e-12)
