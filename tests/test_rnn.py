"""nn.RNN / LSTM / GRU and their cells: against PyTorch 2.13 on the same weights (outputs, final
states, every gradient, state_dict keys, repr), central finite differences in float64 (backward
through time, double backward), and the errors PyTorch raises."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinyconv
from tinyconv.autograd import gradcheck, gradgradcheck

CASES = [
    ("RNN", {"input_size": 3, "hidden_size": 4}, (5, 2, 3), None),
    (
        "RNN",
        {
            "input_size": 3,
            "hidden_size": 4,
            "nonlinearity": "relu",
            "num_layers": 2,
            "bidirectional": True,
        },
        (5, 2, 3),
        [(4, 2, 4)],
    ),
    (
        "LSTM",
        {"input_size": 3, "hidden_size": 4, "num_layers": 2, "batch_first": True},
        (2, 5, 3),
        [(2, 2, 4), (2, 2, 4)],
    ),
    (
        "LSTM",
        {"input_size": 3, "hidden_size": 4, "bidirectional": True, "bias": False},
        (5, 3),
        None,
    ),
    (
        "GRU",
        {
            "input_size": 3,
            "hidden_size": 4,
            "num_layers": 3,
            "bidirectional": True,
            "batch_first": True,
        },
        (2, 4, 3),
        [(6, 2, 4)],
    ),
    ("GRU", {"input_size": 3, "hidden_size": 4}, (5, 3), [(1, 4)]),
    ("RNNCell", {"input_size": 3, "hidden_size": 4, "nonlinearity": "relu"}, (2, 3), [(2, 4)]),
    ("LSTMCell", {"input_size": 3, "hidden_size": 4}, (2, 3), [(2, 4), (2, 4)]),
    ("LSTMCell", {"input_size": 3, "hidden_size": 4, "bias": False}, (3,), None),
    ("GRUCell", {"input_size": 3, "hidden_size": 4}, (2, 3), [(2, 4)]),
]


def _run(lib, cls, kw, shape, hx_shapes):
    m = getattr(lib.nn, cls)(**kw).double()
    with lib.no_grad():
        for i, (_, p) in enumerate(m.named_parameters()):
            p.copy_(lib.tensor(np.random.default_rng(i).normal(0, 0.4, tuple(p.shape))))
    x = lib.tensor(np.random.default_rng(100).normal(size=shape), requires_grad=True)
    hs = [
        lib.tensor(np.random.default_rng(200 + i).normal(size=s), requires_grad=True)
        for i, s in enumerate(hx_shapes or [])
    ]
    if not hs:
        out = m(x)
    else:
        out = m(x, tuple(hs) if len(hs) > 1 else hs[0])
    flat = []

    def walk(o):
        if isinstance(o, tuple):
            for v in o:
                walk(v)
        else:
            flat.append(o)

    walk(out)
    sum((f * f.detach().cos()).sum() for f in flat).backward()
    grads = [x.grad] + [p.grad for _, p in m.named_parameters()] + [h.grad for h in hs]
    arrays = [f.detach().numpy() for f in flat] + [g.numpy() for g in grads]
    return arrays, list(m.state_dict()), repr(m)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_recurrent_layers_match_pytorch(case):
    torch = pytest.importorskip("torch")
    want, keys_t, repr_t = _run(torch, *case)
    got, keys_c, repr_c = _run(tinyconv, *case)
    assert keys_c == keys_t
    assert repr_c == repr_t
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_gradcheck(cls):
    """Backward through time (and double backward) equals finite differences, for the input
    and the initial state, two layers, both directions; and for one cell step."""
    m = getattr(tinyconv.nn, cls)(2, 3, num_layers=2, bidirectional=True).double()
    rng = np.random.default_rng(0)
    x = tinyconv.tensor(rng.normal(size=(3, 2, 2)), requires_grad=True)
    h0 = tinyconv.tensor(rng.normal(size=(4, 2, 3)) * 0.5, requires_grad=True)

    def g(x, h0):
        hx = (h0, h0.tanh()) if cls == "LSTM" else h0
        out, hn = m(x, hx)
        return tinyconv.cat([out.sum(0), (hn[0] if cls == "LSTM" else hn).sum(0)], 1)

    assert gradcheck(g, (x, h0))
    assert gradgradcheck(lambda x: (g(x, h0) ** 2).sum(), (x,))
    cell = getattr(tinyconv.nn, cls + "Cell")(2, 3).double()
    hc = tinyconv.tensor(rng.normal(size=(2, 3)), requires_grad=True)

    def step(x1, h):
        out = cell(x1, (h, h * h) if cls == "LSTM" else h)
        return out[1] if cls == "LSTM" else out

    assert gradcheck(step, (x[0], hc))


def test_recurrent_layers_init_train_mode_and_errors():
    torch = pytest.importorskip("torch")
    tinyconv.manual_seed(0)
    m = tinyconv.nn.LSTM(5, 8, num_layers=2, dropout=0.5)
    bound = 1 / np.sqrt(8)
    for p in m.parameters():
        a = p.detach().numpy()
        assert a.min() >= -bound and a.max() <= bound and a.std() > bound / 3
    assert len(m.all_weights) == 2 and m.all_weights[1][0] is m.weight_ih_l1
    m.flatten_parameters()
    x = tinyconv.randn(4, 3, 5)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    assert tinyconv.equal(a, b)  # no dropout in eval mode
    for lib in (torch, tinyconv):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.nn.GRU(3, 4, dropout=0.2)
        assert any("num_layers greater than 1" in str(x.message) for x in w)
        gru = lib.nn.GRU(3, 4)
        with pytest.raises(RuntimeError, match="input_size"):
            gru(lib.ones(5, 2, 7))
        with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\)"):
            gru(lib.ones(5, 2, 3), lib.zeros(1, 3, 4))
        with pytest.raises(ValueError, match="dtype"):
            gru(lib.ones(5, 3, dtype=lib.float64))
        with pytest.raises(ValueError, match="2D or 3D"):
            gru(lib.ones(2, 5, 2, 3))
        with pytest.raises(ValueError, match="1D or 2D"):
            lib.nn.GRUCell(3, 4)(lib.ones(5, 2, 3))
        with pytest.raises(RuntimeError, match=r"hidden\[0\] size"):
            lib.nn.LSTM(3, 4, num_layers=2)(
                lib.ones(5, 2, 3), (lib.zeros(1, 2, 4), lib.zeros(2, 2, 4))
            )
    with pytest.raises(NotImplementedError, match="proj_size"):
        tinyconv.nn.LSTM(3, 4, proj_size=2)
