"""F.ctc_loss / nn.CTCLoss: against a brute-force sum over every alignment (independent of
PyTorch), against float64 finite differences through log_softmax, and against PyTorch 2.13
(values, gradients, dtypes, grad_fn names, errors), with hypothesis-drawn small problems."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import CtcProblem, ctc_min_frames, ctc_problems

import tinyconv
import tinyconv.nn.functional as F
from tinyconv.autograd import gradcheck


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def _collapse(path: tuple, blank: int) -> tuple:
    """An alignment's labelling: merge runs of equal classes, then drop the blanks."""
    return tuple(c for i, c in enumerate(path) if c != blank and (i == 0 or path[i - 1] != c))


def _brute_force(lp: np.ndarray, target: np.ndarray, blank: int) -> tuple[float, np.ndarray]:
    """-log p(target) and the posterior gamma[t, c] of class c at frame t, from every one
    of the C**T alignments of lp (T, C)."""
    T, C = lp.shape
    total, gamma = 0.0, np.zeros((T, C))
    for path in itertools.product(range(C), repeat=T):
        if _collapse(path, blank) == tuple(target):
            p = float(np.exp(lp[np.arange(T), list(path)].sum()))
            total += p
            gamma[np.arange(T), list(path)] += p
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.log(total), gamma / total


def _inputs(lib, p: CtcProblem, layout: str, lengths: str, dtype: str = "float64"):
    """(log_probs leaf, targets, input_lengths, target_lengths) in `lib`'s types."""
    lp = lib.tensor(_log_softmax(p.logits), dtype=getattr(lib, dtype), requires_grad=True)
    if layout == "padded":
        targets = lib.tensor(p.targets)
    else:
        rows = [p.targets[n, : p.target_lengths[n]] for n in range(len(p.target_lengths))]
        targets = lib.tensor(np.concatenate(rows).astype(np.int64))
    if lengths == "tensor":
        il, tl = lib.tensor(p.input_lengths), lib.tensor(p.target_lengths)
    else:
        il, tl = [int(v) for v in p.input_lengths], tuple(int(v) for v in p.target_lengths)
    return lp, targets, il, tl


@given(ctc_problems(max_t=5, max_c=3, max_s=3), st.booleans())
def test_ctc_loss_matches_brute_force_enumeration(p, zero_infinity):
    """Every alignment enumerated: the loss is -log of their summed probability (inf when
    none fits), and the log_probs gradient is exp(lp) - posterior (0 after a sample's input
    length; 0 for an impossible sample with zero_infinity, else nan on its frames)."""
    lp, targets, il, tl = _inputs(tinyconv, p, "padded", "tensor")
    loss = F.ctc_loss(lp, targets, il, tl, p.blank, reduction="none", zero_infinity=zero_infinity)
    loss.sum().backward()
    lpn = lp.detach().numpy()
    for n in range(lpn.shape[1]):
        T_n, L_n = int(p.input_lengths[n]), int(p.target_lengths[n])
        want, gamma = _brute_force(lpn[:T_n, n], p.targets[n, :L_n], p.blank)
        grad = np.zeros_like(lpn[:, n])
        if np.isinf(want) and zero_infinity:
            want = 0.0
        elif np.isinf(want):
            grad[:T_n] = np.nan
        else:
            grad[:T_n] = np.exp(lpn[:T_n, n]) - gamma
        np.testing.assert_allclose(loss.detach().numpy()[n], want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(lp.grad.numpy()[:, n], grad, rtol=1e-10, atol=1e-12)


def test_repeated_labels_need_a_blank_between_them():
    lp = tinyconv.tensor(_log_softmax(np.zeros((3, 1, 3))), requires_grad=True)
    same, other = tinyconv.tensor([[1, 1]]), tinyconv.tensor([[1, 2]])
    # 1,1 needs 3 frames (1, blank, 1): impossible in 2; 1,2 fits in 2 (4 of 9 paths in 3)
    assert F.ctc_loss(lp, same, [2], [2], reduction="sum").item() == np.inf
    assert F.ctc_loss(lp, same, [3], [2], reduction="sum").item() == pytest.approx(np.log(27))
    assert F.ctc_loss(lp, other, [2], [2], reduction="sum").item() == pytest.approx(np.log(9))
    loss = F.ctc_loss(lp, same, [2], [2], reduction="sum", zero_infinity=True)
    assert loss.item() == 0.0
    loss.backward()
    assert np.array_equal(lp.grad.numpy(), np.zeros((3, 1, 3)))


@given(
    ctc_problems(max_t=5, max_n=2, max_c=4, max_s=3, feasible=True),
    st.sampled_from(["mean", "sum", "none"]),
)
def test_ctc_loss_gradcheck_through_log_softmax(p, reduction):
    """Finite differences in float64 of ctc_loss(log_softmax(logits)), every element: the
    way CTC is used, where PyTorch's log_probs gradient convention gives the exact logits
    gradient."""
    x = tinyconv.tensor(p.logits, requires_grad=True)
    targets = tinyconv.tensor(p.targets)
    il, tl = tinyconv.tensor(p.input_lengths), tinyconv.tensor(p.target_lengths)
    gradcheck(
        lambda a: F.ctc_loss(F.log_softmax(a, 2), targets, il, tl, p.blank, reduction),
        (x,),
        atol=1e-6,
        rtol=1e-6,
    )


@given(ctc_problems(max_t=4, max_n=2, max_c=3, max_s=2, feasible=True))
def test_raw_log_probs_gradient_is_the_partial_plus_exp_log_probs(p):
    """Treated as free inputs, d loss / d lp[t, c] = -posterior (finite differences of the
    raw loss); ctc_loss returns exp(lp) more on each frame of the sample, as PyTorch does."""
    lp, targets, il, tl = _inputs(tinyconv, p, "padded", "tensor")
    F.ctc_loss(lp, targets, il, tl, p.blank, reduction="sum").backward()
    base, eps = lp.detach().numpy(), 1e-6
    fd = np.zeros_like(base)
    for i in np.ndindex(base.shape):
        for sign in (1, -1):
            moved = base.copy()
            moved[i] += sign * eps
            loss = F.ctc_loss(tinyconv.tensor(moved), targets, il, tl, p.blank, reduction="sum")
            fd[i] += sign * loss.item() / (2 * eps)
    frames = np.arange(base.shape[0])[:, None, None] < p.input_lengths[None, :, None]
    np.testing.assert_allclose(lp.grad.numpy() - fd, np.where(frames, np.exp(base), 0), atol=1e-6)


def test_ctc_loss_module_unbatched_and_float32():
    rng = np.random.default_rng(0)
    lp = tinyconv.tensor(_log_softmax(rng.normal(size=(6, 4))), dtype=tinyconv.float32)
    loss_fn = tinyconv.nn.CTCLoss(blank=3, reduction="none")
    target = tinyconv.tensor([1, 1, 2])
    out = loss_fn(lp, target, tinyconv.tensor(6), tinyconv.tensor(3))
    assert out.shape == () and out.dtype == tinyconv.float32
    batched = F.ctc_loss(lp.unsqueeze(1), target.unsqueeze(0), [6], [3], blank=3, reduction="none")
    assert out.item() == batched[0].item()
    mean = tinyconv.nn.CTCLoss(blank=3)(lp, target, (6,), (3,))
    assert mean.item() == pytest.approx(out.item() / 3)


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"targets": [[1, 0]]}, "targets must be class indices"),  # the blank as a label
        ({"targets": [[1, 3]]}, "targets must be class indices"),  # C = 3
        ({"targets": [[-1, 1]]}, "targets must be class indices"),
    ],
)
def test_ctc_loss_refuses_targets_pytorch_reads_out_of_range(bad, match):
    """PyTorch 2.13 computes with these (reading outside the class axis, or treating the
    blank as a label); tinyconv raises (README's differences)."""
    lp = tinyconv.tensor(_log_softmax(np.zeros((4, 1, 3))))
    with pytest.raises(RuntimeError, match=match):
        F.ctc_loss(lp, tinyconv.tensor(bad["targets"]), [4], [2])


# -- against PyTorch ------------------------------------------------------------------------


@pytest.mark.torch
@given(
    ctc_problems(),
    st.sampled_from(["mean", "sum", "none"]),
    st.booleans(),
    st.sampled_from(["padded", "concatenated"]),
    st.sampled_from(["tensor", "list"]),
    st.sampled_from(["float64", "float32"]),
)
def test_ctc_loss_matches_pytorch(p, reduction, zero_infinity, layout, lengths, dtype):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, tinyconv):
        lp, targets, il, tl = _inputs(lib, p, layout, lengths, dtype)
        loss = lib.nn.functional.ctc_loss(
            lp, targets, il, tl, p.blank, reduction, zero_infinity=zero_infinity
        )
        w = np.linspace(0.5, 1.5, loss.numel()).reshape(tuple(loss.shape))
        (loss * lib.tensor(w, dtype=loss.dtype)).sum().backward()
        results.append((loss, lp.grad, loss.grad_fn.name()))
    (want, want_grad, want_fn), (got, got_grad, got_fn) = results
    assert got.dtype == getattr(tinyconv, dtype) and got_grad.dtype == got.dtype
    assert tuple(got.shape) == tuple(want.shape) and got.requires_grad
    assert got_fn == want_fn
    tol = 1e-12 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(got_grad.numpy(), want_grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_graph_and_unbatched_match_pytorch(reduction, zero_infinity):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5, 4))
    out = []
    for lib in (torch, tinyconv):
        lp = lib.tensor(_log_softmax(logits), requires_grad=True)
        loss_fn = lib.nn.CTCLoss(blank=2, reduction=reduction, zero_infinity=zero_infinity)
        loss = loss_fn(lp, lib.tensor([1, 1, 3]), lib.tensor(5), lib.tensor([3]))
        loss.backward(lib.ones_like(loss))
        names, node = [], loss.grad_fn
        while node is not None:  # the chain of nodes down to the CTC node
            names.append(node.name())
            node = next((f for f, _ in node.next_functions if f is not None), None)
            if node is not None and node.name() == "torch::autograd::AccumulateGrad":
                break
        out.append((loss.detach().numpy(), lp.grad.numpy(), tuple(loss.shape), names))
    (w, wg, ws, wn), (g, gg, gs, gn) = out
    assert gs == ws and gn == wn
    np.testing.assert_allclose(g, w, rtol=1e-12)
    np.testing.assert_allclose(gg, wg, rtol=1e-12, atol=1e-14)


@pytest.mark.torch
def test_ctc_loss_double_backward_raises_as_pytorch():
    torch = pytest.importorskip("torch")
    logits = np.random.default_rng(2).normal(size=(4, 2, 3))
    for lib in (torch, tinyconv):
        lp = lib.tensor(_log_softmax(logits), requires_grad=True)
        loss = lib.nn.functional.ctc_loss(lp, lib.tensor([[1, 2], [2, 2]]), [4, 3], [2, 2])
        (g,) = lib.autograd.grad(loss, lp, create_graph=True)
        assert g.requires_grad and g.grad_fn.name().endswith("NotImplemented")
        with pytest.raises(RuntimeError, match="not implemented"):
            g.sum().backward()


def _torch_bad_calls(lib):
    """{name: (the argument the message must name, thunk)} of wrong calls; each raises in
    PyTorch."""
    F_ = lib.nn.functional
    lp = lib.tensor(_log_softmax(np.zeros((5, 2, 4))))
    tg = lib.tensor([[1, 1, 2], [3, 1, 1]])
    il, tl = [5, 5], [2, 1]
    return {
        "log_probs 1-D": ("log_probs", lambda: F_.ctc_loss(lp[:, 0, 0], tg, il, tl)),
        "log_probs 4-D": ("log_probs", lambda: F_.ctc_loss(lp[None], tg, il, tl)),
        "log_probs empty": ("log_probs", lambda: F_.ctc_loss(lp[:, :0], tg[:0], [], [])),
        "log_probs int": ("log_probs", lambda: F_.ctc_loss(lp.long(), tg, il, tl)),
        "targets list": ("targets", lambda: F_.ctc_loss(lp, [[1, 1, 2], [3, 1, 1]], il, tl)),
        "targets 3-D": ("targets", lambda: F_.ctc_loss(lp, tg[None], il, tl)),
        "targets rows": ("targets", lambda: F_.ctc_loss(lp, tg[:1], il, tl)),
        "targets too short": ("targets", lambda: F_.ctc_loss(lp, tg, il, [4, 1])),
        "targets concatenated": ("targets", lambda: F_.ctc_loss(lp, lib.tensor([1, 1]), il, tl)),
        "blank = C": ("blank", lambda: F_.ctc_loss(lp, tg, il, tl, blank=4)),
        "blank < 0": ("blank", lambda: F_.ctc_loss(lp, tg, il, tl, blank=-1)),
        "blank float": ("blank", lambda: F_.ctc_loss(lp, tg, il, tl, blank=1.0)),
        "input_lengths > T": ("input_lengths", lambda: F_.ctc_loss(lp, tg, [6, 5], tl)),
        "input_lengths < 0": ("input_lengths", lambda: F_.ctc_loss(lp, tg, [-1, 5], tl)),
        "target_lengths < 0": ("target_lengths", lambda: F_.ctc_loss(lp, tg, il, [-1, 1])),
        "input_lengths size": ("input_lengths", lambda: F_.ctc_loss(lp, tg, [5], tl)),
        "target_lengths size": ("target_lengths", lambda: F_.ctc_loss(lp, tg, il, [1, 1, 1])),
        "input_lengths float": (
            "input_lengths",
            lambda: F_.ctc_loss(lp, tg, lib.tensor([5.0, 5.0]), lib.tensor(tl)),
        ),
        "input_lengths int": ("input_lengths", lambda: F_.ctc_loss(lp, tg, 5, tl)),
        "lengths mixed": ("target_lengths", lambda: F_.ctc_loss(lp, tg, lib.tensor(il), tl)),
        "reduction": ("reduction", lambda: F_.ctc_loss(lp, tg, il, tl, reduction="avg")),
        "zero_infinity None": (
            "zero_infinity",
            lambda: F_.ctc_loss(lp, tg, il, tl, zero_infinity=None),
        ),
    }


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(_torch_bad_calls(tinyconv)))
def test_ctc_loss_errors_match_pytorch(name):
    """The same exception class as PyTorch's, with a message naming the argument."""
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as want:
        _torch_bad_calls(torch)[name][1]()
    argument, call = _torch_bad_calls(tinyconv)[name]
    with pytest.raises(type(want.value)) as got:
        call()
    assert str(got.value).startswith("ctc_loss: ") and argument in str(got.value)


def test_feasible_problems_have_enough_frames():
    """The strategy's helper: 1,1 needs a blank between (3 frames), 1,2 does not."""
    assert ctc_min_frames(np.array([1, 1])) == 3
    assert ctc_min_frames(np.array([1, 2])) == 2
    assert ctc_min_frames(np.array([], dtype=np.int64)) == 0
