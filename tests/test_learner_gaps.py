"""What learners' PyTorch code reaches for that tinyconv lacked: placement keywords on creation
functions (device=, layout=, pin_memory=, memory_format=), Tensor.unfold, ravel, itemsize,
nbytes, ndimension, logspace, multinomial, nn.init.eye_/dirac_/orthogonal_."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv
from tinyconv.autograd import gradcheck, gradgradcheck


def test_creation_accepts_placement_keywords():
    dev = tinyconv.device("cpu")
    t = tinyconv.ones(2)
    made = [
        tinyconv.arange(5, device=dev),
        tinyconv.arange(0, 1, 0.25, dtype=tinyconv.float64, device="cpu"),
        tinyconv.linspace(0, 1, 3, device=dev),
        tinyconv.logspace(0, 2, 3, device=dev),
        tinyconv.eye(2, device=dev),
        tinyconv.zeros_like(t, device=dev),
        tinyconv.ones_like(t, device=dev, memory_format=None),
        tinyconv.full_like(t, 3.0, device=dev),
        tinyconv.rand_like(t, device=dev),
        tinyconv.randn_like(t, device=dev),
        tinyconv.randint(0, 5, (3,), device=dev),
        tinyconv.as_tensor([1, 2], device=dev),
        tinyconv.normal(0.0, 1.0, size=(2,), device=dev),
        tinyconv.tensor([1.0], device=dev, pin_memory=False),
    ]
    assert [tuple(m.shape) for m in made][:3] == [(5,), (4,), (3,)]
    for f in (tinyconv.arange, tinyconv.eye):
        with pytest.raises(RuntimeError, match="CPU only"):
            f(3, device="cuda")
    with pytest.raises(TypeError, match="unexpected keyword"):
        tinyconv.zeros_like(t, devise="cpu")
    g = tinyconv.Generator().manual_seed(3)
    a = tinyconv.randint(0, 100, (5,), generator=g)
    b = tinyconv.randint(0, 100, (5,), generator=tinyconv.Generator().manual_seed(3))
    assert a.tolist() == b.tolist()


@pytest.mark.torch
def test_unfold_matches_pytorch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).normal(size=(3, 7, 2))
    w_rng = np.random.default_rng(1)
    for args in [(1, 3, 2), (1, 2, 1), (0, 3, 1), (-1, 1, 1), (1, 7, 3), (1, 0, 2), (2, 2, 5)]:
        t = torch.tensor(a, requires_grad=True)
        c = tinyconv.tensor(a, requires_grad=True)
        ot, oc = t.unfold(*args), c.unfold(*args)
        assert tuple(oc.shape) == tuple(ot.shape) and oc.grad_fn.name() == ot.grad_fn.name()
        np.testing.assert_array_equal(oc.detach().numpy(), ot.detach().numpy())
        w = w_rng.normal(size=tuple(ot.shape))
        (ot * torch.tensor(w)).sum().backward()
        (oc * tinyconv.tensor(w)).sum().backward()
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_unfold_gradients_and_errors():
    x = tinyconv.tensor(np.random.default_rng(2).normal(size=(2, 9)), requires_grad=True)
    assert gradcheck(lambda x: x.unfold(1, 4, 3), (x,), eps=1e-6, atol=1e-6)
    assert gradgradcheck(lambda x: x.unfold(1, 3, 2) ** 2, (x,), eps=1e-6, atol=1e-6)
    with pytest.raises(RuntimeError, match="size"):
        x.unfold(1, 10, 1)
    with pytest.raises(RuntimeError, match="step"):
        x.unfold(1, 2, 0)
    with pytest.raises(ValueError):  # a copy, read-only: writing into it cannot reach x
        x.detach().unfold(1, 2, 1)[0, 0, 0] = 5.0


def test_small_tensor_helpers():
    x = tinyconv.arange(6, dtype=tinyconv.float64).view(2, 3)
    assert x.ravel().tolist() == list(range(6)) and x.ndimension() == 2
    assert x.itemsize == 8 and x.nbytes == 48


def test_multinomial():
    g = tinyconv.Generator().manual_seed(0)
    p = tinyconv.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 0.0]])
    draws = tinyconv.multinomial(p, 200, replacement=True, generator=g)
    assert draws.dtype == tinyconv.int64 and tuple(draws.shape) == (2, 200)
    assert set(draws[0].tolist()) == {1, 2} and set(draws[1].tolist()) == {0}
    assert 0.65 < (draws[0] == 2).float().mean().item() < 0.85
    assert sorted(tinyconv.tensor([0.2, 0.5, 0.3]).multinomial(3).tolist()) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="without replacement"):
        tinyconv.tensor([1.0, 0.0]).multinomial(2)
    with pytest.raises(RuntimeError, match="element < 0"):
        tinyconv.tensor([1.0, -1.0]).multinomial(1)


@pytest.mark.torch
def test_init_eye_dirac_orthogonal():
    torch = pytest.importorskip("torch")
    for shape, groups in [((4, 2, 3, 3), 1), ((4, 2, 3, 3), 2), ((3, 5, 3), 1), ((6, 2, 1, 1), 3)]:
        a, b = tinyconv.empty(*shape), torch.empty(*shape)
        tinyconv.nn.init.dirac_(a, groups)
        torch.nn.init.dirac_(b, groups)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    a = tinyconv.empty(3, 4, requires_grad=True)
    assert tinyconv.nn.init.eye_(a) is a and a.requires_grad and a.grad_fn is None
    np.testing.assert_array_equal(a.detach().numpy(), np.eye(3, 4))
    for shape in [(3, 5), (5, 3), (6, 2, 3, 3)]:
        w = tinyconv.empty(*shape)
        tinyconv.nn.init.orthogonal_(w, gain=2.0)
        m = w.numpy().reshape(shape[0], -1).astype(np.float64)
        small = min(m.shape)
        gram = m @ m.T if m.shape[0] == small else m.T @ m
        np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-5)
    with pytest.raises(ValueError, match="2 dimensions"):
        tinyconv.nn.init.eye_(tinyconv.empty(2, 2, 2))
    with pytest.raises(ValueError, match="3, 4 or 5"):
        tinyconv.nn.init.dirac_(tinyconv.empty(2, 2))


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["plain", "scale", "bool_mask", "float_mask", "causal", "gqa"])
def test_scaled_dot_product_attention_matches_pytorch(mode):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    q, k, v = (
        rng.normal(size=(2, 4, 4, 5)),
        rng.normal(size=(2, 4, 6, 5)),
        rng.normal(size=(2, 4, 6, 7)),
    )
    bool_mask = rng.random((4, 6)) > 0.3
    bool_mask[:, 0] = True  # (every query attends to something)
    float_mask = rng.normal(size=(2, 1, 4, 6))
    w = np.linspace(-1, 1, 2 * 4 * 4 * 7).reshape(2, 4, 4, 7)
    res = []
    for lib in (torch, tinyconv):
        Q, K, V = (lib.tensor(a, requires_grad=True) for a in (q, k, v))
        kw: dict = {}
        k2, v2 = K, V
        if mode == "scale":
            kw["scale"] = 0.3
        elif mode == "bool_mask":
            kw["attn_mask"] = lib.tensor(bool_mask)
        elif mode == "float_mask":
            kw["attn_mask"] = lib.tensor(float_mask)
        elif mode == "causal":
            kw["is_causal"] = True
        elif mode == "gqa":
            kw["enable_gqa"] = True
            k2, v2 = K[:, :2], V[:, :2]
        o = lib.nn.functional.scaled_dot_product_attention(Q, k2, v2, **kw)
        (o * lib.tensor(w)).sum().backward()
        res.append([o.detach().numpy(), Q.grad.numpy(), K.grad.numpy(), V.grad.numpy()])
    for a, b in zip(*res, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_scaled_dot_product_attention_gradcheck_and_errors():
    F = tinyconv.nn.functional
    rng = np.random.default_rng(1)
    q, k, v = (
        tinyconv.tensor(rng.normal(size=s), requires_grad=True) for s in ((3, 4), (5, 4), (5, 2))
    )
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), (q, k, v))
    assert gradgradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v)
    )
    with pytest.raises(RuntimeError, match="not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tinyconv.ones(3, 5), is_causal=True)
    with pytest.raises(RuntimeError, match="last dim"):
        F.scaled_dot_product_attention(q, v, v)
    with pytest.raises(RuntimeError, match="same sequence length"):
        F.scaled_dot_product_attention(q, k, v[:4])


MHA_CASES = [
    ({}, [(4, 3, 8), (5, 3, 8), (5, 3, 8)], {}),
    ({"batch_first": True}, [(3, 4, 8), (3, 5, 8), (3, 5, 8)], {"need_weights": False}),
    ({}, [(4, 8), (5, 8), (5, 8)], {"average_attn_weights": False}),
    ({"kdim": 6, "vdim": 5}, [(4, 3, 8), (5, 3, 6), (5, 3, 5)], {"key_padding_mask": "pad"}),
    ({"bias": False}, [(4, 3, 8), (5, 3, 8), (5, 3, 8)], {"attn_mask": "causal"}),
    ({}, [(4, 3, 8), (5, 3, 8), (5, 3, 8)], {"attn_mask": "float", "key_padding_mask": "padf"}),
    # fairseq's options: a learned key/value pair and a zero one appended to every sequence
    ({"add_bias_kv": True}, [(4, 3, 8), (5, 3, 8), (5, 3, 8)], {"attn_mask": "causal"}),
    ({"add_zero_attn": True}, [(4, 3, 8), (5, 3, 8), (5, 3, 8)], {"key_padding_mask": "pad"}),
    (
        {"add_bias_kv": True, "add_zero_attn": True, "kdim": 6, "vdim": 5, "batch_first": True},
        [(3, 4, 8), (3, 5, 6), (3, 5, 5)],
        {"attn_mask": "float", "key_padding_mask": "padf", "average_attn_weights": False},
    ),
    ({"add_bias_kv": True, "add_zero_attn": True}, [(4, 8), (5, 8), (5, 8)], {}),
]


def _mha_run(lib, cfg, shapes, fwd, seed):
    rng = np.random.default_rng(seed)
    inputs = [rng.normal(size=s) for s in shapes]
    masks = {
        "pad": np.array([[False] * 4 + [True], [False] * 5, [True] + [False] * 4]),
        "padf": np.where(np.array([[0, 0, 0, 0, 1], [0] * 5, [1, 0, 0, 0, 0]]), -1e9, 0.0),
        "causal": np.triu(np.ones((4, 5), bool), 1),
        "float": rng.normal(size=(6, 4, 5)),
    }
    m = lib.nn.MultiheadAttention(8, 2, **cfg).double()
    with lib.no_grad():
        for _, p in m.named_parameters():
            p.copy_(lib.tensor(rng.normal(size=tuple(p.shape)) * 0.4))
    q, k, v = (lib.tensor(a, requires_grad=True) for a in inputs)
    kw = {n: lib.tensor(masks[val]) if isinstance(val, str) else val for n, val in fwd.items()}
    out, w = m(q, k, v, **kw)
    loss = (out * lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))).sum()
    if w is not None:
        loss = loss + (w**2).sum()
    loss.backward()
    res = [out, w, q.grad, k.grad, v.grad] + [p.grad for _, p in m.named_parameters()]
    return res, list(m.state_dict()), repr(m)


@pytest.mark.torch
@pytest.mark.parametrize("case", range(len(MHA_CASES)))
def test_multihead_attention_matches_pytorch(case):
    torch = pytest.importorskip("torch")
    cfg, shapes, fwd = MHA_CASES[case]
    want, keys_t, repr_t = _mha_run(torch, cfg, shapes, fwd, case)
    got, keys_c, repr_c = _mha_run(tinyconv, cfg, shapes, fwd, case)
    assert keys_c == keys_t and repr_c == repr_t
    for a, b in zip(got, want, strict=True):
        assert (a is None) == (b is None)
        if b is not None:
            assert tuple(a.shape) == tuple(b.shape)
            np.testing.assert_allclose(
                a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-12
            )


def test_multihead_attention_errors():
    m = tinyconv.nn.MultiheadAttention(8, 2)
    x = tinyconv.ones(4, 3, 8)
    with pytest.raises(AssertionError, match="divisible by num_heads"):  # (PyTorch asserts)
        tinyconv.nn.MultiheadAttention(8, 3)
    with pytest.raises(RuntimeError, match="2D attn_mask is"):
        m(x, x, x, attn_mask=tinyconv.ones(3, 3))
    with pytest.raises(AssertionError, match="key_padded_mask.shape"):
        m(x, x, x, key_padding_mask=tinyconv.ones(4, 3, dtype=tinyconv.bool))
    with pytest.raises(AssertionError, match="2-D or 3-D"):
        m(x, x, x, attn_mask=tinyconv.ones(2, 4, 4, 4))
    with pytest.raises(RuntimeError, match="is_causal"):
        m(x, x, x, is_causal=True)


def test_gpu_script_boilerplate_runs_on_the_cpu():
    torch = tinyconv
    torch.manual_seed(3)
    assert torch.initial_seed() == 3
    torch.cuda.manual_seed(3)
    torch.cuda.manual_seed_all(3)
    torch.cuda.empty_cache()
    torch.use_deterministic_algorithms(True, warn_only=True)
    assert torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    torch.set_float32_matmul_precision("high")
    assert torch.get_float32_matmul_precision() == "high"
    torch.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError, match="highest"):
        torch.set_float32_matmul_precision("fast")
    model = torch.nn.Linear(2, 2)
    with pytest.warns(UserWarning, match="no compiler"):
        compiled = torch.compile(model)
    # PyTorch's OptimizedModule: the module as `_orig_mod` (state_dict keys prefixed), its
    # attributes read and written through, the same numbers
    assert type(compiled).__name__ == "OptimizedModule" and compiled._orig_mod is model
    assert list(compiled.state_dict()) == ["_orig_mod.weight", "_orig_mod.bias"]
    assert compiled.weight is model.weight and compiled.in_features == 2
    x = torch.randn(3, 2)
    assert torch.equal(compiled(x), model(x))
    compiled.eval()
    assert not model.training and not compiled.training
    model.train()
    assert compiled.training
    compiled.tag = "t"
    assert model.tag == "t" and "tag" not in compiled.__dict__
    with pytest.warns(UserWarning, match="no compiler"):
        assert type(torch.compile()(model)).__name__ == "OptimizedModule"

    def f(v):
        return v * 2

    with pytest.warns(UserWarning, match="no compiler"):
        assert torch.compile(f) is f
    with pytest.warns(UserWarning, match="disabled"):
        scaler = torch.cuda.amp.GradScaler()
    with pytest.warns(UserWarning, match="disabled"), torch.autocast("cuda", dtype=torch.float16):
        loss = model(torch.ones(1, 2)).sum()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.weight.detach().clone()
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 1.0 and not scaler.is_enabled() and scaler.state_dict() == {}
    np.testing.assert_allclose(model.weight.detach().numpy(), before.numpy() - 0.1)
    with torch.autocast("cpu", enabled=False), torch.amp.autocast("cpu", enabled=False):
        pass
    with pytest.raises(NotImplementedError, match="autocast"):
        torch.autocast("cpu", dtype=torch.float16)
    with pytest.raises(NotImplementedError, match="GradScaler"):
        torch.amp.GradScaler("cpu")


@pytest.mark.torch
def test_legacy_tensor_types_match_pytorch():
    torch = pytest.importorskip("torch")
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor"):
        a, b = getattr(torch, name)([1, 0, 2]), getattr(tinyconv, name)([1, 0, 2])
        assert str(b.dtype).split(".")[-1] == str(a.dtype).split(".")[-1]
        assert b.tolist() == a.tolist()
        assert tuple(getattr(tinyconv, name)(2, 3).shape) == (2, 3)
        assert isinstance(b, getattr(tinyconv, name)) == isinstance(a, getattr(torch, name))
    assert not isinstance(tinyconv.ones(2), tinyconv.LongTensor)
    assert not isinstance(torch.ones(2), torch.LongTensor)


def test_zero_dim_index_in_gather_and_scatter_matches_pytorch():
    """PyTorch counts a 0-d index, self or src as 1-d in gather/scatter (the tutorials' one-hot
    `zeros(10).scatter_(0, tensor(y), value=1)`); values, shapes and gradients agree."""
    torch = pytest.importorskip("torch")
    res = {}
    for lib in (torch, tinyconv):
        x = lib.tensor([0.5, -1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        s = lib.tensor(7.0, dtype=lib.float64, requires_grad=True)
        i = lib.tensor(2)
        outs = [
            lib.zeros(5).scatter_(0, lib.tensor(3), value=1),
            x.gather(0, i),
            x.scatter(0, i, s),
            x.scatter(0, i, 4.0),
            x.scatter_add(0, i, s),
            x.scatter_reduce(0, i, s, "amax"),
            s.scatter(0, lib.tensor(0), 2.0),
            s.gather(0, lib.tensor([0, 0])),
        ]
        sum(o.sum() for o in outs[1:]).backward()
        res[lib.__name__] = ([(tuple(o.shape), o.detach().numpy()) for o in outs], x.grad, s.grad)
    (t_outs, tx, ts), (c_outs, cx, cs) = res["torch"], res["tinyconv"]
    for (ts_, tv), (cs_, cv) in zip(t_outs, c_outs, strict=True):
        assert ts_ == cs_
        np.testing.assert_array_equal(cv, tv)
    np.testing.assert_array_equal(cx.numpy(), tx.numpy())
    np.testing.assert_array_equal(cs.numpy(), ts.numpy())
    x = tinyconv.tensor([0.5, -1.0, 2.0], dtype=tinyconv.float64, requires_grad=True)
    s = tinyconv.tensor(1.5, dtype=tinyconv.float64, requires_grad=True)
    i = tinyconv.tensor(1)
    assert gradcheck(lambda a, b: a.scatter(0, i, b) * a, (x, s))
    assert gradcheck(lambda a, b: a.scatter_add(0, i, b * b), (x, s))
    assert gradcheck(lambda a: a.gather(0, i) * a, (x,))
    assert gradgradcheck(lambda a, b: (a.scatter(0, i, b) ** 2).sum(), (x, s))
    with pytest.raises(RuntimeError, match="same number"):
        tinyconv.zeros(2, 3).gather(0, i)


def test_range_as_an_index_matches_pytorch():
    """`input[range(n), target]` (the "What is torch.nn really?" nll): a range indexes as the
    list of its integers, an advanced (copying) index, in reads, writes and gradients."""
    torch = pytest.importorskip("torch")
    res = {}
    for lib in (torch, tinyconv):
        x = lib.arange(12.0, dtype=lib.float64).view(3, 4).requires_grad_()
        t = lib.tensor([3, 0, 1])
        outs = [x[range(3), t], x[range(2)], x[range(2, 0, -1), 1:], x[:, range(1, 4, 2)]]
        outs.append(x[range(0)])
        sum((o * o).sum() for o in outs).backward()
        y = lib.zeros(3, 4)
        y[range(2), 0] = 5.0
        res[lib.__name__] = [o.detach().numpy() for o in outs] + [x.grad.numpy(), y.numpy()]
        with pytest.raises(IndexError, match="out of bounds"):
            x[range(5)]
    for a, b in zip(res["tinyconv"], res["torch"], strict=True):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    x = tinyconv.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    assert gradcheck(lambda a: a[range(3), [3, 0, 1]] * a[range(1, 3), 0].sum(), (x,))


def test_sgd_without_momentum_keeps_no_state():
    """PyTorch's SGD stores nothing per parameter without momentum: optimizer.state and the
    state_dict's 'state' are empty (a learner comparing checkpoints sees the same dict)."""
    torch = pytest.importorskip("torch")
    for lib in (torch, tinyconv):
        p = lib.nn.Parameter(lib.ones(2))
        q = lib.nn.Parameter(lib.ones(2))
        plain = lib.optim.SGD([p], lr=0.1, weight_decay=0.1)
        heavy = lib.optim.SGD([q], lr=0.1, momentum=0.9)
        for _ in range(2):
            p.grad = lib.ones(2)
            q.grad = lib.ones(2)
            plain.step()
            heavy.step()
        assert len(plain.state) == 0 and plain.state_dict()["state"] == {}
        assert list(heavy.state_dict()["state"][0]) == ["momentum_buffer"]
        np.testing.assert_allclose(p.detach().numpy(), [0.7811, 0.7811], rtol=1e-6)
        np.testing.assert_allclose(q.detach().numpy(), [0.71, 0.71], rtol=1e-6)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_pytorch(batch_first, side):
    """nn.utils.rnn.pad_sequence (a collate_fn's usual step): values, shape, dtype and the
    gradient of every sequence, against PyTorch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(n, 2, 3)) for n in (3, 1, 4, 4)]
    res = {}
    for lib in (torch, tinyconv):
        seqs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = lib.nn.utils.rnn.pad_sequence(
            seqs, batch_first=batch_first, padding_value=-2.5, padding_side=side
        )
        w = lib.tensor(rng.normal(size=tuple(out.shape)))
        (out * w).sum().backward()
        ints = lib.nn.utils.rnn.pad_sequence(
            [lib.tensor([1, 2]), lib.tensor([3])], batch_first, 0.5, side
        )
        res[lib.__name__] = [out.detach().numpy(), ints.numpy()] + [s.grad.numpy() for s in seqs]
        rng = np.random.default_rng(0)
        arrays = [rng.normal(size=(n, 2, 3)) for n in (3, 1, 4, 4)]
    for a, b in zip(res["tinyconv"], res["torch"], strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    seqs = [tinyconv.tensor(a, requires_grad=True) for a in arrays[:3]]
    pad = tinyconv.nn.utils.rnn.pad_sequence
    assert gradcheck(lambda *s: pad(s, batch_first, 1.0, side) ** 2, seqs)
    with pytest.raises(RuntimeError, match="empty"):
        pad([])
    with pytest.raises(RuntimeError, match="padding_side"):
        pad(seqs, padding_side="middle")
    with pytest.raises(RuntimeError, match="sequence 1 has shape"):
        pad([tinyconv.ones(2, 3), tinyconv.ones(2, 4)])


def test_numpy_argument_names_match_pytorch():
    """axis= for dim= and keepdims= for keepdim=, as PyTorch's methods and functions take them
    (d2l's `y_hat.argmax(axis=1)`); results equal the dim= spelling's, in both libraries."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4))
    res = {}
    for lib in (torch, tinyconv):
        x = lib.tensor(a, requires_grad=True)
        outs = [
            x.sum(axis=1, keepdims=True),
            lib.sum(x, axis=0),
            x.mean(axis=(0, 1)),
            x.argmax(axis=1),
            lib.max(x, axis=1, keepdims=True).values,
            x.softmax(axis=0),
            x.std(axis=1),
            lib.cat([x, x], axis=1),
            lib.stack([x, x], axis=0),
            x.unsqueeze(axis=0),
            x.cumsum(axis=1),
            x.topk(2, axis=1).indices,
            (x > 0).any(axis=1, keepdims=True),
            lib.all(x > -5, axis=0),
            lib.tensor([[1, 0]], dtype=lib.uint8).any(keepdim=True),
        ]
        sum(o.double().sum() for o in outs if o.requires_grad).backward()
        res[lib.__name__] = [o.detach().numpy() for o in outs] + [x.grad.numpy()]
        with pytest.raises(TypeError):
            x.sum(dim=0, axis=1)
    for got, want in zip(res["tinyconv"], res["torch"], strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_more_inplace_methods_and_functions_match_pytorch():
    """x.sin_(), x.clip_(...), torch.sin_(x), ... (the "Introduction to PyTorch" tensors
    notebook): values, dtypes, version counters and gradients through them, as PyTorch."""
    torch = pytest.importorskip("torch")
    a = np.array([0.3, -1.2, 2.5, -0.7])
    calls = [
        ("sin_", ()),
        ("cos_", ()),
        ("square_", ()),
        ("sign_", ()),
        ("negative_", ()),
        ("clip_", (-0.5, 0.5)),
        ("remainder_", (0.4,)),
        ("multiply_", (3.0,)),
        ("subtract_", (1.0,)),
        ("divide_", (2.0,)),
        ("arctan_", ()),
        ("fix_", ()),
    ]
    res = {}
    for lib in (torch, tinyconv):
        out = []
        for name, args in calls:
            leaf = lib.tensor(a, requires_grad=True)
            y = leaf * 1.5
            r = getattr(y, name)(*args)
            assert r is y and y._version == 1
            (y * lib.tensor(a)).sum().backward()
            out += [y.detach().numpy(), leaf.grad.numpy()]
        for name in ("sin_", "clamp_", "square_", "zero_"):
            x = lib.tensor(a)
            getattr(lib, name)(x, *((-0.5, 0.5) if name == "clamp_" else ()))
            out.append(x.numpy())
        b = lib.tensor([5, 3, 6])
        b.bitwise_xor_(lib.tensor([1, 1, 1]))
        out.append(b.numpy())
        with pytest.raises(RuntimeError):
            lib.tensor([1, 2]).sin_()
        res[lib.__name__] = out
    for got, want in zip(res["tinyconv"], res["torch"], strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    x = tinyconv.tensor(a, requires_grad=True)
    assert gradcheck(lambda t: (t * 1).sin_().square_(), (x,))
    assert gradcheck(lambda t: (t * 1).clip_(-0.5, 0.5) * t, (x,))


def test_creation_out_keyword_matches_pytorch():
    """out= on the creation functions (`torch.rand(2, 2, out=c)` in PyTorch's tensors
    notebook): out is filled in its own dtype and returned; a clashing dtype= or an out that
    requires grad raises, as in PyTorch."""
    torch = pytest.importorskip("torch")
    res = {}
    for lib in (torch, tinyconv):
        c = lib.zeros(2, 2, dtype=lib.float64)
        assert lib.rand(2, 2, out=c) is c
        outs = [
            lib.zeros(2, 2, out=lib.ones(2, 2, dtype=lib.int64)),
            lib.ones(3, out=lib.empty(0)),
            lib.arange(5.0, out=lib.zeros(5, dtype=lib.int64)),
            lib.arange(1, 4, out=lib.zeros(3)),
            lib.linspace(0, 1, 3, out=lib.zeros(3, dtype=lib.float64)),
            lib.eye(2, out=lib.zeros(2, 2, dtype=lib.int64)),
            lib.full((2,), 7, out=lib.zeros(2)),
        ]
        res[lib.__name__] = [o.numpy() for o in outs]
        with pytest.raises(RuntimeError, match="dtype"):
            lib.zeros(2, dtype=lib.float32, out=lib.zeros(2, dtype=lib.int64))
        with pytest.raises(RuntimeError, match="differentiation"):
            lib.rand(2, out=lib.zeros(2, requires_grad=True))
    for got, want in zip(res["tinyconv"], res["torch"], strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.torch
def test_out_keyword_on_the_math_functions_matches_pytorch():
    """out= on PyTorch's other functions (torch.exp(x, out=y), torch.max(x, 1, out=(v, i)),
    torch.cat([...], out=c)): written into out, which is returned; tuple results into a tuple
    of outs; an out of another shape resized with a warning, of a float result into an int
    out refused; an argument that requires grad refused while grad mode is on."""
    torch = pytest.importorskip("torch")
    got = {}
    for lib in (torch, tinyconv):
        x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 2.0, -1.0]])
        r, s = lib.empty(2, 3), lib.empty(3)
        v, i = lib.empty(2), lib.empty(2, dtype=lib.long)
        assert lib.abs(x, out=r) is r and lib.sum(x, 0, out=s) is s
        top = lib.max(x, 1, out=(v, i))
        assert top.values is v and top.indices is i and top[1] is i
        results = [r, s, v, i]
        results.append(lib.cat([x, x], out=lib.empty(4, 3)))
        results.append(lib.clamp(x, -1, 1, out=lib.empty(2, 3)))
        results.append(lib.where(x > 0, x, lib.zeros(2, 3), out=lib.empty(2, 3)))
        results += list(lib.sort(x, 1, out=(lib.empty(0), lib.empty(0, dtype=lib.long))))
        results += list(lib.topk(x, 2, out=(lib.empty(0), lib.empty(0, dtype=lib.long))))
        results.append(lib.argmax(x, 1, out=lib.empty(2, dtype=lib.long)))
        results.append(lib.mean(x, 1, out=lib.empty(2, dtype=lib.float64)))
        results.append(lib.mm(x, x.T, out=lib.empty(2, 2)))
        results.append(lib.eq(x, 2.0, out=lib.empty(2, 3, dtype=lib.bool)))
        results.append(lib.stack([x, x], out=lib.empty(2, 2, 3)))
        results.append(lib.sqrt(x.abs(), out=x.abs()))
        with pytest.warns(UserWarning, match="resized"):
            results.append(lib.neg(x, out=lib.empty(5)))
        with pytest.raises(RuntimeError, match="can't be cast"):
            lib.exp(x, out=lib.empty(2, 3, dtype=lib.long))
        xg = x.clone().requires_grad_()
        with pytest.raises(RuntimeError, match="differentiation"):
            lib.cumsum(xg, 0, out=lib.empty(2, 3))
        with pytest.raises(RuntimeError, match="differentiation"):
            lib.cat([x, xg], out=lib.empty(4, 3))
        with lib.no_grad():
            results.append(lib.cumsum(xg, 0, out=lib.empty(2, 3)))
        assert not results[-1].requires_grad
        got[lib.__name__] = [t.numpy() for t in results]
    for a, b in zip(got["tinyconv"], got["torch"], strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_out_functions_all_take_out():
    """Every name in OUT_FUNCTIONS is a tinyconv function that takes out=."""
    import inspect

    from tinyconv.torch_functions import OUT_FUNCTIONS

    for name in OUT_FUNCTIONS:
        assert "out" in inspect.signature(getattr(tinyconv, name), follow_wrapped=False).parameters
    x = tinyconv.tensor([0.25, 0.5])
    assert tinyconv.exp(x, out=None).tolist() == x.exp().tolist()  # (out=None: as without it)


def test_gradcheck_accepts_non_leaf_inputs():
    """gradcheck(f, (x[0],)) checks f at a view of a leaf, as PyTorch's does (tinyconv's read
    the view's .grad, which backward leaves None, and reported a mismatch); .grad is untouched."""
    x = tinyconv.tensor([[0.5, -1.0], [2.0, 0.3]], dtype=tinyconv.float64, requires_grad=True)
    assert gradcheck(lambda a: a.sin() * a, (x[0],))
    assert gradgradcheck(lambda a: (a * a).exp(), (x[1] * 2,))
    assert x.grad is None
    with pytest.raises(Exception, match="mismatch"):
        gradcheck(_WrongBackward.apply, (x[0],))


class _WrongBackward(tinyconv.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        return a * 3

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_inverse_hyperbolic_and_angle_functions_match_pytorch():
    """asinh/acosh/atanh (and the arc* names), absolute, deg2rad/rad2deg, their in-place forms:
    values (nan/inf outside the domain included), dtypes, grad_fn names and gradients."""
    torch = pytest.importorskip("torch")
    a = np.array([-1.0, -0.5, 0.0, 0.3, 1.0, 1.5, 3.0])
    res = {}
    for lib in (torch, tinyconv):
        x = lib.tensor(a, requires_grad=True)
        outs = [x.asinh(), lib.acosh(x), x.atanh(), lib.arcsinh(x), x.arctanh(), x.absolute()]
        outs += [lib.deg2rad(x), x.rad2deg(), lib.deg2rad(lib.tensor([180, 90]))]
        names = [o.grad_fn.name() for o in outs[:3]]
        inner = lib.tensor(a[1:4], requires_grad=True)
        (x.asinh() * 2 + inner.atanh().sum() + x.deg2rad()).sum().backward()
        y = lib.tensor(a)
        y.arcsinh_()
        lib.atanh_(lib.tensor(a[1:4]))
        res[lib.__name__] = [o.detach().numpy() for o in outs] + [x.grad.numpy(), y.numpy()]
        res[lib.__name__ + "names"] = names
    assert res["tinyconvnames"] == res["torchnames"]
    for got, want in zip(res["tinyconv"], res["torch"], strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    x = tinyconv.tensor([-0.6, 0.1, 0.8], dtype=tinyconv.float64, requires_grad=True)
    z = tinyconv.tensor([1.2, 2.0, 5.0], dtype=tinyconv.float64, requires_grad=True)
    for f, inp in ((lambda t: t.asinh(), x), (lambda t: t.atanh(), x), (lambda t: t.acosh(), z)):
        assert gradcheck(f, (inp,))
        assert gradgradcheck(f, (inp,))


def _asm_run(lib, seed):
    lib.manual_seed(seed)
    asm = lib.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs=[5, 12], div_value=2.0, head_bias=True)
    asm = asm.double()
    rng = np.random.default_rng(seed)
    x = lib.tensor(rng.normal(size=(7, 8)), requires_grad=True)
    target = lib.tensor([0, 4, 7, 13, 19, 2, 11])  # head, cluster 1 and cluster 2 rows
    out, loss = asm(x, target)
    loss.backward()
    single = asm(x[0].detach(), target[3])  # unbatched: 1-D input, 0-D target
    assert type(single).__name__ == "_ASMoutput" and single._fields == ("output", "loss")
    logp = asm.log_prob(x.detach())
    res = [out, loss, x.grad, single.output, single.loss, logp, asm.predict(x.detach())]
    res += [p.grad for p in asm.parameters()]
    return res, list(asm.state_dict()), repr(asm)


@pytest.mark.torch
def test_adaptive_log_softmax_with_loss_matches_pytorch():
    """nn.AdaptiveLogSoftmaxWithLoss (word-level language models): initial weights from the
    same seed, the (output, loss) pair, the input's and every parameter's gradient,
    log_prob (each row a distribution over all 20 classes) and predict."""
    torch = pytest.importorskip("torch")
    want, keys_t, repr_t = _asm_run(torch, 0)
    got, keys_c, repr_c = _asm_run(tinyconv, 0)
    assert keys_c == keys_t and repr_c == repr_t
    for a, b in zip(got, want, strict=True):
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype)[-5:] == str(b.dtype)[-5:]
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.exp(got[5].detach().numpy()).sum(1), 1.0, rtol=1e-12)
    assert got[3].ndim == 0


@pytest.mark.torch
@pytest.mark.parametrize(
    "make, call",
    [
        (lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(4, 10, []), None),
        (lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [6, 3]), None),
        (lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3, 10]), None),
        (
            lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3]),
            lambda lib, m: m(lib.zeros(2, 4), lib.tensor([1, 10])),
        ),
        (
            lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3]),
            lambda lib, m: m(lib.zeros(3, 4), lib.tensor([1, 2])),
        ),
        (
            lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3]),
            lambda lib, m: m(lib.zeros(2, 4), lib.tensor([[1, 2]])),
        ),
    ],
)
def test_adaptive_log_softmax_errors_match_pytorch(make, call):
    torch = pytest.importorskip("torch")
    errors = []
    for lib in (torch, tinyconv):
        with pytest.raises((ValueError, RuntimeError)) as e:
            m = make(lib)
            call(lib, m)
        errors.append((type(e.value), str(e.value).split(",")[0]))
    assert errors[0] == errors[1]
