"""nn.RNN / LSTM / GRU and their cells: against PyTorch 2.13 on the same weights (outputs, final
states, every gradient, state_dict keys, repr), central finite differences in float64 (backward
through time, double backward), and the errors PyTorch raises."""

from __future__ import annotations

import functools
import gc
import re
import warnings
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import recurrent_configs

import tinyconv
from tinyconv.autograd import gradcheck, gradgradcheck
from tinyconv.nn.functional.rnn import lstm_step

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
    (
        "LSTM",
        {"input_size": 3, "hidden_size": 5, "proj_size": 2},
        (4, 2, 3),
        [(1, 2, 2), (1, 2, 5)],
    ),
    (
        "LSTM",
        {
            "input_size": 3,
            "hidden_size": 4,
            "proj_size": 3,
            "num_layers": 2,
            "bidirectional": True,
            "batch_first": True,
        },
        (2, 4, 3),
        None,
    ),
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


# -- the one-op layer (nn.functional.rnn.rnn_layer) against the cells, step by step ------

_CELLS = {"RNN_TANH": "RNNCell", "RNN_RELU": "RNNCell", "LSTM": "LSTMCell", "GRU": "GRUCell"}
_LAYERS = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


def _layer_and_cell(mode, input_size, hidden_size, bias, reverse, dtype, seed):
    """A one-layer nn.RNN/LSTM/GRU (both directions when `reverse`) and a cell holding the
    weights of its forward direction (`reverse`: of its reverse direction)."""
    kw = {"nonlinearity": "relu"} if mode == "RNN_RELU" else {}
    layer = getattr(tinyconv.nn, _LAYERS[mode])(
        input_size, hidden_size, bias=bias, bidirectional=reverse, **kw
    ).to(dtype)
    cell = getattr(tinyconv.nn, _CELLS[mode])(input_size, hidden_size, bias=bias, **kw).to(dtype)
    rng = np.random.default_rng(seed)
    sfx = "_l0_reverse" if reverse else "_l0"
    with tinyconv.no_grad():
        for _, p in layer.named_parameters():
            p.copy_(tinyconv.tensor(rng.normal(0, 0.6, tuple(p.shape))))
        for name, p in cell.named_parameters():
            p.copy_(getattr(layer, name + sfx))
    return layer, cell


def _leaf(rng, shape, dtype):
    return tinyconv.tensor(rng.normal(size=shape)).to(dtype).requires_grad_()


@given(recurrent_configs(), st.sampled_from([np.float32, np.float64]))
def test_one_op_layer_equals_the_cells_step_by_step(config, dtype):
    """nn.RNN/LSTM/GRU run each layer and direction as one op with a hand-written backward
    through time; the cells run the plain steps (one graph node per op). Same weights, input,
    initial state and upstream gradients: the outputs and every gradient (input, initial
    states, all four weights) agree to rounding (the op multiplies by a contiguous copy of
    W_hh^T and sums W_hh's gradient over the steps in one GEMM; the steps multiply by the
    transposed view and make one product per step)."""
    mode, steps, batch, n_in, hidden, bias, reverse, seed = config
    tc_dtype = tinyconv.float32 if dtype == np.float32 else tinyconv.float64
    layer, cell = _layer_and_cell(mode, n_in, hidden, bias, reverse, tc_dtype, seed)
    rng = np.random.default_rng(seed + 1)
    lstm = mode == "LSTM"
    d = 1 if reverse else 0
    x = _leaf(rng, (steps, batch, n_in), tc_dtype)
    h0 = _leaf(rng, (1 + d, batch, hidden), tc_dtype)
    c0 = _leaf(rng, (1 + d, batch, hidden), tc_dtype)
    g_out = rng.normal(size=(steps, batch, hidden)).astype(dtype)
    g_h, g_c = rng.normal(size=(2, batch, hidden)).astype(dtype)

    out, hn = layer(x, (h0, c0) if lstm else h0)
    h_n, c_n = hn if lstm else (hn, None)
    out = out[..., hidden:] if reverse else out  # (this direction's half)
    loss = (out * tinyconv.tensor(g_out)).sum() + (h_n[d] * tinyconv.tensor(g_h)).sum()
    if lstm:
        loss = loss + (c_n[d] * tinyconv.tensor(g_c)).sum()
    loss.backward()

    # the plain path: the cell, one step after another, over the same leaves
    xc, h0c, c0c = (t.detach().clone().requires_grad_() for t in (x, h0, c0))
    h, c, hs = h0c[d], c0c[d], {}
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        if lstm:
            h, c = cell(xc[t], (h, c))
        else:
            h = cell(xc[t], h)
        hs[t] = h
    out_c = tinyconv.stack([hs[t] for t in range(steps)])
    loss_c = (out_c * tinyconv.tensor(g_out)).sum() + (h * tinyconv.tensor(g_h)).sum()
    if lstm:
        loss_c = loss_c + (c * tinyconv.tensor(g_c)).sum()
    loss_c.backward()

    tol = 1e-5 if dtype == np.float32 else 1e-12
    close = functools.partial(np.testing.assert_allclose, rtol=tol, atol=tol)
    close(out.detach().numpy(), out_c.detach().numpy())
    close(h_n[d].detach().numpy(), h.detach().numpy())
    if lstm:
        close(c_n[d].detach().numpy(), c.detach().numpy())
    sfx = "_l0_reverse" if reverse else "_l0"
    pairs = [(x.grad, xc.grad), (h0.grad[d], h0c.grad[d])]
    if lstm:
        pairs.append((c0.grad[d], c0c.grad[d]))
    pairs += [(getattr(layer, name + sfx).grad, p.grad) for name, p in cell.named_parameters()]
    for got, want in pairs:
        assert got.dtype == want.dtype
        close(got.numpy(), want.numpy())


def test_one_op_layer_double_backward_reaches_the_weights():
    """Double backward through the one-op layer (its graph_backward reruns the steps as
    Tensor ops): finite differences for the weights and initial states of every mode."""
    rng = np.random.default_rng(3)
    for mode in ("RNN_TANH", "LSTM", "GRU"):
        layer, _ = _layer_and_cell(mode, 2, 3, True, False, tinyconv.float64, 7)
        x = _leaf(rng, (3, 2, 2), tinyconv.float64)
        h0 = _leaf(rng, (1, 2, 3), tinyconv.float64)
        w_hh, b_ih = layer.weight_hh_l0, layer.bias_ih_l0

        def f(w_hh, b_ih, h0, layer=layer, mode=mode, x=x):
            weights = {"weight_hh_l0": w_hh, "bias_ih_l0": b_ih}
            hx = (h0, h0.sin()) if mode == "LSTM" else h0
            out, _ = tinyconv.func.functional_call(layer, weights, (x, hx))
            return (out**2).sum()

        assert gradgradcheck(
            f, (w_hh.detach().requires_grad_(), b_ih.detach().requires_grad_(), h0)
        )
    # an LSTM with a projection: through weight_hr too
    layer = tinyconv.nn.LSTM(2, 3, proj_size=2).double()
    x = _leaf(rng, (3, 2, 2), tinyconv.float64)
    h0, c0 = _leaf(rng, (1, 2, 2), tinyconv.float64), _leaf(rng, (1, 2, 3), tinyconv.float64)

    def g(w_hr, h0, c0):
        out, _ = tinyconv.func.functional_call(layer, {"weight_hr_l0": w_hr}, (x, (h0, c0)))
        return (out**2).sum()

    assert gradgradcheck(g, (layer.weight_hr_l0.detach().requires_grad_(), h0, c0))


def test_one_op_layer_keeps_the_saved_state_checks():
    """Changing W_hh in place between forward and backward is an error (the op saved it),
    and a second backward without retain_graph says so, as the steps' nodes do."""
    lstm = tinyconv.nn.LSTM(2, 3)
    out, _ = lstm(tinyconv.randn(4, 1, 2))
    with tinyconv.no_grad():
        lstm.weight_hh_l0.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    out, _ = lstm(tinyconv.randn(4, 1, 2))
    out.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        out.sum().backward()


@given(recurrent_configs(), st.integers(1, 3))
def test_lstm_projection_one_op_equals_the_steps(config, proj):
    """LSTM(proj_size=P): the one-op layer against lstm_step (projecting h_t by W_hr) run
    step by step on the layer's own weights, float64: outputs, final states and every
    gradient, weight_hr's included."""
    _, steps, batch, n_in, hidden, bias, reverse, seed = config
    hidden = proj + hidden  # (proj_size < hidden_size)
    layer = tinyconv.nn.LSTM(n_in, hidden, bias=bias, bidirectional=reverse, proj_size=proj)
    layer = layer.double()
    rng = np.random.default_rng(seed)
    with tinyconv.no_grad():
        for p in layer.parameters():
            p.copy_(tinyconv.tensor(rng.normal(0, 0.6, tuple(p.shape))))
    d = 1 if reverse else 0
    x = _leaf(rng, (steps, batch, n_in), tinyconv.float64)
    h0 = _leaf(rng, (1 + d, batch, proj), tinyconv.float64)
    c0 = _leaf(rng, (1 + d, batch, hidden), tinyconv.float64)
    g_out, g_h = rng.normal(size=(steps, batch, proj)), rng.normal(size=(batch, proj))
    g_c = rng.normal(size=(batch, hidden))
    out, (h_n, c_n) = layer(x, (h0, c0))
    out = out[..., proj:] if reverse else out
    loss = (out * tinyconv.tensor(g_out)).sum() + (h_n[d] * tinyconv.tensor(g_h)).sum()
    (loss + (c_n[d] * tinyconv.tensor(g_c)).sum()).backward()

    sfx = "_l0_reverse" if reverse else "_l0"
    names = ["weight_ih", "weight_hh", "weight_hr"] + (["bias_ih", "bias_hh"] if bias else [])
    w = {n: getattr(layer, n + sfx).detach().clone().requires_grad_() for n in names}
    xc, h0c, c0c = (t.detach().clone().requires_grad_() for t in (x, h0, c0))
    xw = tinyconv.nn.functional.linear(xc, w["weight_ih"], w.get("bias_ih"))
    h, c, hs = h0c[d], c0c[d], {}
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        h, c = lstm_step(xw[t], h, c, w["weight_hh"], w.get("bias_hh"), w["weight_hr"])
        hs[t] = h
    out_c = tinyconv.stack([hs[t] for t in range(steps)])
    loss_c = (out_c * tinyconv.tensor(g_out)).sum() + (h * tinyconv.tensor(g_h)).sum()
    (loss_c + (c * tinyconv.tensor(g_c)).sum()).backward()

    close = functools.partial(np.testing.assert_allclose, rtol=1e-12, atol=1e-12)
    for got, want in [(out, out_c), (h_n[d], h), (c_n[d], c)]:
        close(got.detach().numpy(), want.detach().numpy())
    pairs = [(x.grad, xc.grad), (h0.grad[d], h0c.grad[d]), (c0.grad[d], c0c.grad[d])]
    pairs += [(getattr(layer, n + sfx).grad, w[n].grad) for n in names]
    for got, want in pairs:
        close(got.numpy(), want.numpy())


@pytest.mark.torch
def test_projection_argument_errors_match_pytorch():
    torch = pytest.importorskip("torch")
    cases = [
        ("LSTM", {"proj_size": 5}),
        ("LSTM", {"proj_size": 7}),
        ("LSTM", {"proj_size": -1}),
        ("GRU", {"proj_size": 0}),
        ("RNN", {"proj_size": 2}),
    ]
    for cls, kw in cases:
        with pytest.raises(ValueError) as want:
            getattr(torch.nn, cls)(3, 5, **kw)
        with pytest.raises(ValueError, match=re.escape(str(want.value))):
            getattr(tinyconv.nn, cls)(3, 5, **kw)


def test_one_op_layer_frees_its_steps_after_backward():
    """What the steps saved for backward (the gates of every step) is freed by backward, as
    every op's saved tensors are, not kept until the graph itself goes."""
    lstm = tinyconv.nn.LSTM(2, 3)
    out, _ = lstm(tinyconv.randn(4, 1, 2))
    node = out.grad_fn
    while type(node).__qualname__ != "RnnLayer":  # (__name__ is PyTorch's node name)
        node = node.next_functions[0][0]
    steps = node._saved[-1]
    first_gate = weakref.ref(steps[0][0])
    del steps
    out.sum().backward(retain_graph=True)
    assert first_gate() is not None  # (retain_graph keeps them for a second backward)
    out.sum().backward()
    gc.collect()
    assert first_gate() is None
