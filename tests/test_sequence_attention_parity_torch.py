# ruff: noqa: E501  (the programs' own lines)
"""Recurrent layers, attention and Transformers as PyTorch 2.13 runs them, each case a program run
in both libraries (tests/program_harness.py compares every variable): PyTorch's inference fast
paths (a query that may attend to nothing gives NaN in MultiheadAttention's and the encoder
layer's native kernels, zeros in the SDPA path; the encoder layer's kernel runs its own exact
gelu; the nested-tensor encoder's zeros at padding, its conditions and mask_check=False), the
decoder layer's copies that run relu (PyTorch's __setstate__), the errors of hidden states and
masks of the wrong kind, and random configurations of RNN/LSTM/GRU (packed too), attention and
Transformer layers, forward values and every gradient."""

from __future__ import annotations

import random

import pytest
from program_harness import compare_program

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

HEAD = """
import copy
import warnings
warnings.simplefilter("ignore")
import torch
import torch.nn as nn
import torch.nn.functional as F
def outcome(f):
    try:
        return f()
    except Exception as e:
        return type(e).__name__
"""

PROGRAMS = {
    # MultiheadAttention's fast path (eval, no grad, self-attention, batch_first, even heads):
    # a fully masked query row is NaN there; with a float mask, grad or the switch off, zeros
    "mha_fast_path_fully_masked_rows": """
torch.manual_seed(0)
m = nn.MultiheadAttention(8, 2, batch_first=True).eval()
x = torch.randn(3, 4, 8)
kpm = torch.tensor([[False, False, True, True], [True, True, True, True], [False, True, True, True]])
am = torch.zeros(4, 4, dtype=torch.bool)
am[1] = True
with torch.no_grad():
    fast = m(x, x, x, key_padding_mask=kpm, need_weights=False)[0]
    fast_am = m(x, x, x, attn_mask=am, need_weights=False)[0]
    fast_both = m(x, x, x, attn_mask=am, key_padding_mask=kpm, need_weights=False)[0]
    fast_w = m(x, x, x, key_padding_mask=kpm, average_attn_weights=False)
    float_mask = m(x, x, x, key_padding_mask=torch.zeros(3, 4).masked_fill(kpm, float("-inf")), need_weights=False)[0]
    not_self = m(x, x.clone(), x, key_padding_mask=kpm, need_weights=False)[0]
    torch.backends.mha.set_fastpath_enabled(False)
    switched_off = m(x, x, x, key_padding_mask=kpm, need_weights=False)[0]
    torch.backends.mha.set_fastpath_enabled(True)
odd = nn.MultiheadAttention(8, 1, batch_first=True).eval()
with torch.no_grad():
    odd_heads = odd(x, x, x, key_padding_mask=kpm, need_weights=False)[0]
with_grad = m(x, x, x, key_padding_mask=kpm, need_weights=False)[0]
nan_rows = [torch.isnan(t).any(-1).tolist() for t in (fast, fast_am, fast_both, float_mask, switched_off, with_grad)]
""",
    # the fast path takes no is_causal hint (the mask alone counts) and checks a padding mask
    # itself (RuntimeError)
    "mha_fast_path_hints_and_checks": """
torch.manual_seed(11)
m = nn.MultiheadAttention(8, 2, batch_first=True).eval()
x = torch.randn(2, 3, 8)
with torch.no_grad():
    no_mask = outcome(lambda: m(x, x, x, is_causal=True, need_weights=False))
    causal = outcome(lambda: m(x, x, x, is_causal=True, attn_mask=torch.ones(3, 3, dtype=torch.bool).triu(1), need_weights=False))
    bad_kpm = outcome(lambda: m(x, x, x, key_padding_mask=torch.zeros(2, 4, dtype=torch.bool)))
    bad_am = outcome(lambda: m(x, x, x, attn_mask=torch.zeros(3, 4, dtype=torch.bool)))
slow_no_mask = outcome(lambda: m(x, x, x, is_causal=True, need_weights=False))
slow_bad_kpm = outcome(lambda: m(x, x, x, key_padding_mask=torch.zeros(2, 4, dtype=torch.bool)))
""",
    # the encoder layer's native kernel: NaN for a fully padded sequence (float masks too),
    # exact gelu for any nn.GELU; outside it, bool masks go in as float ones (no MHA fast path)
    "encoder_layer_fast_path": """
torch.manual_seed(1)
x = torch.randn(3, 3, 8, dtype=torch.float64) * 3
kpm = torch.tensor([[False, False, True], [True, True, True], [False, True, True]])
fkpm = torch.zeros(3, 3, dtype=torch.float64).masked_fill(kpm, float("-inf"))
outs = []
for nf in (False, True):
    for act in ("relu", nn.GELU(approximate="tanh"), nn.ReLU(), torch.tanh):
        layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, activation=act, batch_first=True, norm_first=nf, dtype=torch.float64).eval()
        with torch.no_grad():
            outs.append((layer(x), layer(x, src_key_padding_mask=kpm), layer(x, src_key_padding_mask=fkpm)))
        layer.norm2.eps = 1e-3  # (eps unequal: no fast path)
        with torch.no_grad():
            outs.append(layer(x, src_key_padding_mask=kpm))
""",
    # the nested-tensor encoder: zeros at padding (nn.GELU() counts as gelu), mask_check=False
    # takes each sequence's first count positions, training or a src mask: the plain path
    "encoder_nested_tensor_path": """
torch.manual_seed(2)
x = torch.randn(2, 4, 8)
right = torch.tensor([[False, False, True, True], [False, False, False, True]])
anywhere = torch.tensor([[False, True, False, True], [True, False, False, False]])
outs = []
for act in ("gelu", nn.GELU(), nn.ReLU(), torch.tanh):
    for check in (True, False):
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, activation=act, batch_first=True), 2, norm=nn.LayerNorm(8), mask_check=check).eval()
        with torch.no_grad():
            outs.append((enc(x, src_key_padding_mask=right), enc(x, src_key_padding_mask=anywhere)))
            outs.append(enc(x, mask=torch.zeros(4, 4, dtype=torch.bool), src_key_padding_mask=right))
        outs.append(enc(x, src_key_padding_mask=right))
        enc.layers[0].train()
        with torch.no_grad():
            outs.append(enc(x, src_key_padding_mask=right))
        enc.layers[0].eval()
        with torch.no_grad():  # (every sequence empty: no nested tensor to pad back)
            outs.append(outcome(lambda: enc(x, src_key_padding_mask=torch.ones(2, 4, dtype=torch.bool))))
""",
    # PyTorch's decoder layer __setstate__ puts F.relu in a copy's __dict__, over a module
    # activation: TransformerDecoder's clones (and Transformer's) run relu
    "decoder_copies_run_relu": """
torch.manual_seed(3)
layer = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, activation=nn.GELU(), batch_first=True)
tgt, mem = torch.randn(2, 3, 8) * 3, torch.randn(2, 4, 8)
direct = layer(tgt, mem)
copied = copy.deepcopy(layer)(tgt, mem)
dec = nn.TransformerDecoder(layer, 2)
stacked = dec(tgt, mem)
is_function = [not isinstance(l.activation, nn.Module) for l in dec.layers]
t = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, activation=nn.GELU(approximate="tanh"), batch_first=True)
full = t(tgt, tgt)
enc_layer = copy.deepcopy(nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU()))
enc_kind = type(enc_layer.activation).__name__
""",
    "errors": """
torch.manual_seed(4)
q = torch.randn(2, 3, 4)
m = nn.MultiheadAttention(4, 2, batch_first=True)
cell = nn.LSTMCell(3, 4)
x, h = torch.randn(2, 3), torch.randn(2, 4)
lstm = nn.LSTM(3, 4, 2)
errs = [
    outcome(lambda: F.scaled_dot_product_attention(q[0], q[0], q[0], enable_gqa=True)),
    outcome(lambda: F.scaled_dot_product_attention(torch.randn(2, 4, 2, 3), torch.randn(2, 3, 2, 3), torch.randn(2, 3, 2, 3))),
    outcome(lambda: m(q[0], q, q)), outcome(lambda: m(q, q[0], q)), outcome(lambda: m(q[None], q[None], q[None])),
    outcome(lambda: m(q, q, q[..., :3])),
    outcome(lambda: cell(x, h)), outcome(lambda: cell(x, (h,))), outcome(lambda: cell(x, (h, h, h))),
    outcome(lambda: lstm(torch.randn(5, 2, 3), torch.zeros(2, 2, 4))),
    outcome(lambda: nn.RNN(3, 4)(torch.randn(5, 2, 3), torch.zeros(1, 2, 4, dtype=torch.float64))),
    outcome(lambda: nn.LSTM(3, 4)(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4, dtype=torch.float64)))),
    outcome(lambda: nn.GRUCell(3, 4)(x, h.double())),
]
gqa = F.scaled_dot_product_attention(torch.randn(2, 4, 3, 2), torch.randn(2, 2, 3, 2), torch.randn(2, 2, 3, 2), enable_gqa=True)
tensor_hx = outcome(lambda: lstm(torch.randn(5, 2, 3), torch.zeros(2, 2, 2, 4)))
""",
    # a sequence of length 0 is refused, an empty batch runs (its outputs in the graph); an
    # unbatched 3-D attn_mask is (heads, L, S)
    "edges": """
torch.manual_seed(5)
res = []
for cls in (nn.RNN, nn.LSTM, nn.GRU):
    m = cls(3, 4)
    res += [outcome(lambda: m(torch.randn(0, 2, 3))), outcome(lambda: m(torch.randn(0, 3))), m(torch.randn(4, 0, 3))]
mha = nn.MultiheadAttention(4, 2)
q, k = torch.randn(3, 4), torch.randn(5, 4)
bad_mask = outcome(lambda: mha(q, k, k, attn_mask=torch.zeros(3, 3, 5, dtype=torch.bool)))
good_mask = mha(q, k, k, attn_mask=torch.rand(2, 3, 5) < 0.3)
""",
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_as_pytorchs(name):
    compare_program(HEAD + PROGRAMS[name], stdout=False)


# -- random configurations ---------------------------------------------------------------


def _loss(names: str) -> str:
    """A loss that weighs every element of the outputs differently (so every gradient counts)."""
    terms = " + ".join(
        f"({n} * torch.arange({n}.numel(), dtype={n}.dtype).reshape({n}.shape).sin()).nan_to_num().sum()"
        for n in names.split()
    )
    return f"loss = {terms}\nloss.backward()\n"


def _recurrent(rng: random.Random) -> str:
    kind = rng.choice(["RNN", "RNN_relu", "LSTM", "GRU"])
    layers, bi, bf = rng.randint(1, 3), rng.random() < 0.5, rng.random() < 0.5
    proj = rng.choice([0, 2]) if kind == "LSTM" else 0
    dtype = rng.choice(["float32", "float64"])
    hin, hidden, steps, n = (
        rng.randint(1, 4),
        rng.randint(3, 5),
        rng.randint(1, 5),
        rng.randint(1, 4),
    )
    args = f"{hin}, {hidden}, num_layers={layers}, bidirectional={bi}, batch_first={bf}, bias={rng.random() < 0.7}, dropout={rng.choice([0.0, 0.4])}, dtype=torch.{dtype}"
    cls = "RNN" if kind == "RNN_relu" else kind
    args += ", nonlinearity='relu'" if kind == "RNN_relu" else f", proj_size={proj}" if proj else ""
    d = 2 if bi else 1
    src = f"torch.manual_seed({rng.randint(0, 999)})\nm = nn.{cls}({args})\nm.train({rng.random() < 0.7})\n"
    packed = rng.random() < 0.4
    if packed:
        lengths = [rng.randint(1, steps) for _ in range(n)]
        shape = (n, steps, hin) if bf else (steps, n, hin)
        src += f"x = torch.randn({shape}, dtype=torch.{dtype}, requires_grad=True)\n"
        src += f"inp = nn.utils.rnn.pack_padded_sequence(x, torch.tensor({lengths}), batch_first={bf}, enforce_sorted=False)\n"
    else:
        unbatched = rng.random() < 0.2
        shape = (steps, hin) if unbatched else (n, steps, hin) if bf else (steps, n, hin)
        src += f"x = torch.randn({shape}, dtype=torch.{dtype}, requires_grad=True)\ninp = x\n"
    states = ""
    if rng.random() < 0.5:
        mid = () if not packed and len(shape) == 2 else (n,)
        src += f"h0 = torch.randn({(d * layers, *mid, proj or hidden)}, dtype=torch.{dtype}, requires_grad=True)\n"
        states = ", h0"
        if kind == "LSTM":
            src += f"c0 = torch.randn({(d * layers, *mid, hidden)}, dtype=torch.{dtype}, requires_grad=True)\n"
            states = ", (h0, c0)"
    final = "(hn, cn)" if kind == "LSTM" else "hn"
    src += f"out, {final} = m(inp{states})\n"
    if packed:
        src += f"out, lens = nn.utils.rnn.pad_packed_sequence(out, batch_first={bf}, total_length={steps + 1})\n"
    return src + _loss("out hn cn" if kind == "LSTM" else "out hn")


def _attention(rng: random.Random) -> str:
    e, heads = 8, rng.choice([1, 2, 4])
    bf, dtype = rng.random() < 0.5, rng.choice(["float32", "float64"])
    length, n = rng.randint(1, 4), rng.randint(1, 3)
    kdim = rng.choice([None, 3])
    src = f"torch.manual_seed({rng.randint(0, 999)})\n"
    src += f"m = nn.MultiheadAttention({e}, {heads}, dropout={rng.choice([0.0, 0.3])}, bias={rng.random() < 0.8}, add_bias_kv={rng.random() < 0.3}, add_zero_attn={rng.random() < 0.3}, kdim={kdim}, vdim={kdim}, batch_first={bf}, dtype=torch.{dtype})\n"
    src += f"m.train({rng.random() < 0.5})\n"
    shape = (n, length, e) if bf else (length, n, e)
    kshape = shape[:-1] + (kdim or e,)
    src += f"q = torch.randn({shape}, dtype=torch.{dtype}, requires_grad=True)\n"
    src += f"k = torch.randn({kshape}, dtype=torch.{dtype}, requires_grad=True)\n"
    kw = [f"need_weights={rng.random() < 0.5}", f"average_attn_weights={rng.random() < 0.5}"]
    if rng.random() < 0.5:
        src += f"kpm = torch.rand({n}, {length}) < 0.4\nkpm[:, 0] = False\n"
        kw.append("key_padding_mask=kpm")
    elif rng.random() < 0.5:
        src += (
            f"am = nn.Transformer.generate_square_subsequent_mask({length}, dtype=torch.{dtype})\n"
        )
        kw += ["attn_mask=am", f"is_causal={rng.random() < 0.5}"]
    src += f"out, w = m(q, k, k, {', '.join(kw)})\n"
    return src + _loss("out")


def _transformer(rng: random.Random) -> str:
    act = rng.choice(
        ['"relu"', '"gelu"', "F.gelu", "nn.GELU()", "nn.GELU(approximate='tanh')", "torch.tanh"]
    )
    bf, nf, dtype = rng.random() < 0.6, rng.random() < 0.4, rng.choice(["float32", "float64"])
    lk = f"8, {rng.choice([1, 2, 4])}, 16, dropout={rng.choice([0.0, 0.2])}, activation={act}, batch_first={bf}, norm_first={nf}, bias={rng.random() < 0.8}, dtype=torch.{dtype}"
    s, t, n = rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3)
    src = f"torch.manual_seed({rng.randint(0, 999)})\n"
    src += f"m = nn.Transformer({lk.replace(', 16,', f', {rng.randint(1, 2)}, {rng.randint(1, 2)}, 16,')})\n"
    src += f"x = torch.randn({(n, s, 8) if bf else (s, n, 8)}, dtype=torch.{dtype})\n"
    src += f"y = torch.randn({(n, t, 8) if bf else (t, n, 8)}, dtype=torch.{dtype})\n"
    src += f"lens = torch.randint({rng.choice([0, 1])}, {s} + 1, ({n},))\nkpm = torch.arange({s})[None, :] >= lens[:, None]\n"
    call = f"m(x, y, tgt_mask=m.generate_square_subsequent_mask({t}, dtype=torch.{dtype}), src_key_padding_mask=kpm, memory_key_padding_mask=kpm)"
    if rng.random() < 0.5:  # inference, where PyTorch's fast paths run
        return src + f"m.eval()\nwith torch.no_grad():\n    out = {call}\n"
    src += f"m.train({rng.random() < 0.5})\nx.requires_grad_()\nout = {call}\n"
    return src + _loss("out")


GENERATORS = {"recurrent": _recurrent, "attention": _attention, "transformer": _transformer}


@pytest.mark.parametrize("kind", sorted(GENERATORS))
@pytest.mark.parametrize("seed", range(12))
def test_random_configuration_as_pytorchs(kind, seed):
    src = GENERATORS[kind](random.Random(f"{kind}{seed}"))
    # (float32 gradients are sums over many products: a few ulps more than the default)
    with __import__("program_harness").allowing(tols={"float32": (1e-4, 1e-5)}):
        compare_program(HEAD + src, stdout=False)
