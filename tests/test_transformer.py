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


def _mha_run(lib, case):
    """One MultiheadAttention (or F.multi_head_attention_forward) configuration in float64 on
    seeded weights: outputs, attention weights and every gradient."""
    make, shapes, kwargs = case
    m = make(lib).double()
    with lib.no_grad():
        for i, (_, p) in enumerate(m.named_parameters()):
            p.copy_(lib.tensor(np.random.default_rng(i).normal(0, 0.3, tuple(p.shape))))
    xs = [
        lib.tensor(np.random.default_rng(50 + i).normal(size=s), requires_grad=True)
        for i, s in enumerate(shapes)
    ]
    if len(xs) == 1:
        xs = xs * 3
    out, weights = m(*xs, **{k: v(lib) for k, v in kwargs.items()})
    loss = (out * out.detach().cos()).sum()
    if weights is not None:
        loss = loss + (weights * weights.detach().sin()).sum()
    loss.backward()
    arrays = [out.detach().numpy()] + ([] if weights is None else [weights.detach().numpy()])
    arrays += [x.grad.numpy() for x in xs[: len(shapes)]]
    arrays += [p.grad.numpy() for _, p in m.named_parameters()]
    return arrays, list(m.state_dict())


def _kpm(lib):
    return lib.tensor([[False, False, False, True], [False, True, False, False], [False] * 4])


class _AttentionPool:
    """CLIP's AttentionPool2d calls F.multi_head_attention_forward with separate q/k/v
    projections: built here as a module of each library."""

    @staticmethod
    def make(lib):
        F = lib.nn.functional

        class Pool(lib.nn.Module):
            def __init__(self, e=8, heads=2):
                super().__init__()
                self.q_proj, self.k_proj = lib.nn.Linear(e, e), lib.nn.Linear(e, e)
                self.v_proj, self.c_proj = lib.nn.Linear(e, e), lib.nn.Linear(e, 6)
                self.heads = heads

            def forward(self, x, _k, _v):
                x = lib.cat([x.mean(dim=0, keepdim=True), x], dim=0)
                return F.multi_head_attention_forward(
                    query=x[:1],
                    key=x,
                    value=x,
                    embed_dim_to_check=x.shape[-1],
                    num_heads=self.heads,
                    q_proj_weight=self.q_proj.weight,
                    k_proj_weight=self.k_proj.weight,
                    v_proj_weight=self.v_proj.weight,
                    in_proj_weight=None,
                    in_proj_bias=lib.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
                    bias_k=None,
                    bias_v=None,
                    add_zero_attn=False,
                    dropout_p=0.0,
                    out_proj_weight=self.c_proj.weight,
                    out_proj_bias=self.c_proj.bias,
                    use_separate_proj_weight=True,
                    training=self.training,
                    need_weights=False,
                )

        return Pool()


MHA_CASES = [
    (
        lambda L: L.nn.MultiheadAttention(8, 2, add_bias_kv=True),
        [(5, 3, 8), (4, 3, 8), (4, 3, 8)],
        {"key_padding_mask": _kpm, "attn_mask": lambda L: L.zeros(5, 4, dtype=L.float64)},
    ),
    (
        lambda L: L.nn.MultiheadAttention(
            8, 2, add_zero_attn=True, kdim=6, vdim=5, batch_first=True
        ),
        [(3, 5, 8), (3, 4, 6), (3, 4, 5)],
        {"average_attn_weights": lambda L: False, "key_padding_mask": _kpm},
    ),
    (
        lambda L: L.nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True),
        [(4, 8)],
        {
            "attn_mask": lambda L: L.rand(
                2, 4, 4, dtype=L.float64, generator=L.Generator().manual_seed(0)
            )
        },
    ),
    (
        lambda L: L.nn.MultiheadAttention(8, 4),
        [(4, 3, 8)],
        {
            "need_weights": lambda L: False,
            "is_causal": lambda L: True,
            "attn_mask": lambda L: L.nn.Transformer.generate_square_subsequent_mask(
                4, dtype=L.float64
            ),
        },
    ),
    (_AttentionPool.make, [(7, 3, 8)], {}),
]


@pytest.mark.parametrize("case", MHA_CASES, ids=[str(i) for i in range(len(MHA_CASES))])
def test_multihead_attention_options_match_pytorch(case):
    torch = pytest.importorskip("torch")
    want, keys_t = _mha_run(torch, case)
    got, keys_c = _mha_run(tinyconv, case)
    assert keys_c == keys_t
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
