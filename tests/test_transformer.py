"""nn.TransformerEncoderLayer / Encoder / DecoderLayer / Decoder / Transformer against PyTorch
2.13 on the same weights (outputs, every gradient, state_dict keys, repr), PyTorch's
nested-tensor inference path (zeros at padded positions), finite differences, and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinyconv
from tinyconv.autograd import gradcheck


def _mask(n):
    return lambda lib: lib.nn.Transformer.generate_square_subsequent_mask(n, dtype=lib.float64)


def _pad(lib):
    return lib.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])


CASES = [
    (lambda L: L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), [(5, 3, 8)], {}),
    (
        lambda L: L.nn.TransformerEncoderLayer(
            8, 2, 16, dropout=0.0, batch_first=True, norm_first=True, activation="gelu"
        ),
        [(3, 5, 8)],
        {"src_key_padding_mask": _pad},
    ),
    (
        lambda L: L.nn.TransformerEncoder(
            L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2, L.nn.LayerNorm(8)
        ),
        [(5, 3, 8)],
        {"mask": _mask(5)},
    ),
    (
        lambda L: L.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, norm_first=True),
        [(4, 3, 8), (5, 3, 8)],
        {"tgt_mask": _mask(4)},
    ),
    (
        lambda L: L.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, batch_first=True),
        [(3, 5, 8), (3, 4, 8)],
        {"tgt_mask": _mask(4), "src_key_padding_mask": _pad},
    ),
    (lambda L: L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), [(5, 8)], {}),
]


def _run(lib, make, shapes, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (PyTorch's note that its nested path is off)
        m = make(lib).double()
    with lib.no_grad():
        for i, (_, p) in enumerate(m.named_parameters()):
            p.copy_(lib.tensor(np.random.default_rng(i).normal(0, 0.3, tuple(p.shape))))
    m.eval()
    xs = [
        lib.tensor(np.random.default_rng(100 + i).normal(size=s), requires_grad=True)
        for i, s in enumerate(shapes)
    ]
    out = m(*xs, **{k: v(lib) for k, v in kwargs.items()})
    (out * out.detach().cos()).sum().backward()
    arrays = [out.detach().numpy()] + [x.grad.numpy() for x in xs]
    arrays += [p.grad.numpy() for _, p in m.named_parameters()]
    return arrays, list(m.state_dict()), repr(m)


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_transformer_layers_match_pytorch(case):
    torch = pytest.importorskip("torch")
    want, keys_t, repr_t = _run(torch, *case)
    got, keys_c, repr_c = _run(tinyconv, *case)
    assert keys_c == keys_t and repr_c == repr_t
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("pad_at", ["end", "middle"])
@pytest.mark.parametrize("grad", [False, True])
def test_encoder_inference_padding_matches_pytorch(norm_first, pad_at, grad):
    """PyTorch's encoder, in eval mode without gradients, runs padded batches as nested
    tensors and returns zeros at the padding (then the final norm); elsewhere all agree."""
    torch = pytest.importorskip("torch")
    mask = [[False, False, True, True], [False] * 4]
    if pad_at == "middle":
        mask[0] = [False, True, False, True]
    res = {}
    for lib in (torch, tinyconv):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layer = lib.nn.TransformerEncoderLayer(
                8, 2, 16, dropout=0.0, batch_first=True, norm_first=norm_first
            )
            enc = lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(8)).double()
        with lib.no_grad():
            for i, (_, p) in enumerate(enc.named_parameters()):
                p.copy_(lib.tensor(np.random.default_rng(i).normal(0, 0.3, tuple(p.shape))))
        enc.eval()
        x = lib.tensor(np.random.default_rng(5).normal(size=(2, 4, 8)))
        with lib.set_grad_enabled(grad):
            res[lib.__name__] = enc(x, src_key_padding_mask=lib.tensor(mask)).detach().numpy()
    np.testing.assert_allclose(res["tinyconv"], res["torch"], rtol=1e-9, atol=1e-11)


def test_transformer_gradcheck_and_errors():
    layer = tinyconv.nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0).double()
    rng = np.random.default_rng(0)
    tgt = tinyconv.tensor(rng.normal(size=(3, 2, 4)), requires_grad=True)
    mem = tinyconv.tensor(rng.normal(size=(2, 2, 4)), requires_grad=True)
    mask = tinyconv.nn.Transformer.generate_square_subsequent_mask(3, dtype=tinyconv.float64)
    assert gradcheck(lambda t, m: layer(t, m, tgt_mask=mask), (tgt, mem))
    with pytest.raises(RuntimeError, match="activation"):
        tinyconv.nn.TransformerEncoderLayer(4, 2, activation="swish")
    model = tinyconv.nn.Transformer(4, 2, 1, 1, 6)
    with pytest.raises(RuntimeError, match="batch number"):
        model(tinyconv.ones(3, 2, 4), tinyconv.ones(3, 1, 4))
    with pytest.raises(RuntimeError, match="d_model"):
        model(tinyconv.ones(3, 2, 5), tinyconv.ones(3, 2, 5))
