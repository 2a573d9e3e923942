"""grad_fn names print as PyTorch's do (`<MulBackward0>`): learners compare tutorial output
line by line. Each case runs in PyTorch 2.13 and in tinyconv; the node names must agree."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv
import tinyconv.nn.functional as tF

# name -> f(T, F, x, y, v, m, img, w): the same program in either library
CASES = {
    "add": lambda T, F, x, y, v, m, img, w: x + y,
    "add scalar": lambda T, F, x, y, v, m, img, w: x + 1,
    "sub": lambda T, F, x, y, v, m, img, w: x - y,
    "rsub": lambda T, F, x, y, v, m, img, w: 1 - x,
    "mse_loss": lambda T, F, x, y, v, m, img, w: F.mse_loss(x, y),
    "mul": lambda T, F, x, y, v, m, img, w: x * y,
    "div": lambda T, F, x, y, v, m, img, w: x / y,
    "pow scalar": lambda T, F, x, y, v, m, img, w: x**2,
    "pow tensor": lambda T, F, x, y, v, m, img, w: x.abs() ** y,
    "rpow": lambda T, F, x, y, v, m, img, w: 2**x,
    "mm": lambda T, F, x, y, v, m, img, w: x @ m,
    "dot": lambda T, F, x, y, v, m, img, w: v @ v,
    "mv": lambda T, F, x, y, v, m, img, w: x @ v,
    "vm": lambda T, F, x, y, v, m, img, w: v @ m,
    "bmm": lambda T, F, x, y, v, m, img, w: x[None] @ m[None],
    "neg": lambda T, F, x, y, v, m, img, w: -x,
    "abs": lambda T, F, x, y, v, m, img, w: x.abs(),
    "exp": lambda T, F, x, y, v, m, img, w: x.exp(),
    "log": lambda T, F, x, y, v, m, img, w: x.log(),
    "sqrt": lambda T, F, x, y, v, m, img, w: x.sqrt(),
    "sin": lambda T, F, x, y, v, m, img, w: x.sin(),
    "cos": lambda T, F, x, y, v, m, img, w: x.cos(),
    "relu": lambda T, F, x, y, v, m, img, w: F.relu(x),
    "sigmoid": lambda T, F, x, y, v, m, img, w: x.sigmoid(),
    "tanh": lambda T, F, x, y, v, m, img, w: x.tanh(),
    "clamp": lambda T, F, x, y, v, m, img, w: x.clamp(0, 1),
    "clamp tensor bounds": lambda T, F, x, y, v, m, img, w: x.clamp(min=y),
    "remainder": lambda T, F, x, y, v, m, img, w: x % 2,
    "remainder tensor": lambda T, F, x, y, v, m, img, w: x % (y + 1),
    "sign": lambda T, F, x, y, v, m, img, w: x.sign(),
    "std": lambda T, F, x, y, v, m, img, w: x.std(0),
    "norm": lambda T, F, x, y, v, m, img, w: x.norm(),
    "norm p=1 dim": lambda T, F, x, y, v, m, img, w: x.norm(1, dim=0),
    "zero_": lambda T, F, x, y, v, m, img, w: (x * 1).zero_(),
    "fill_": lambda T, F, x, y, v, m, img, w: (x * 1).fill_(2.0),
    "copy_": lambda T, F, x, y, v, m, img, w: (x * 1).copy_(T.ones(2, 3)),
    "to": lambda T, F, x, y, v, m, img, w: x.float(),
    "clone": lambda T, F, x, y, v, m, img, w: x.clone(),
    "sum": lambda T, F, x, y, v, m, img, w: x.sum(),
    "sum dim": lambda T, F, x, y, v, m, img, w: x.sum(0),
    "mean": lambda T, F, x, y, v, m, img, w: x.mean(),
    "mean dim": lambda T, F, x, y, v, m, img, w: x.mean(1),
    "var": lambda T, F, x, y, v, m, img, w: x.var(0),
    "max": lambda T, F, x, y, v, m, img, w: x.max(),
    "max dim": lambda T, F, x, y, v, m, img, w: x.max(1)[0],
    "min dim": lambda T, F, x, y, v, m, img, w: x.min(1).values,
    "amax": lambda T, F, x, y, v, m, img, w: x.amax(0),
    "prod": lambda T, F, x, y, v, m, img, w: x.prod(),
    "prod dim": lambda T, F, x, y, v, m, img, w: x.prod(0),
    "view": lambda T, F, x, y, v, m, img, w: x.view(6),
    "reshape": lambda T, F, x, y, v, m, img, w: x.reshape(3, 2),
    "flatten": lambda T, F, x, y, v, m, img, w: img.flatten(1),
    "unsqueeze": lambda T, F, x, y, v, m, img, w: x.unsqueeze(0),
    "squeeze dim": lambda T, F, x, y, v, m, img, w: x[None].squeeze(0),
    "permute": lambda T, F, x, y, v, m, img, w: img.permute(0, 2, 3, 1),
    "transpose": lambda T, F, x, y, v, m, img, w: x.transpose(0, 1),
    "expand": lambda T, F, x, y, v, m, img, w: v.expand(2, 3),
    "flip": lambda T, F, x, y, v, m, img, w: x.flip(0),
    "select": lambda T, F, x, y, v, m, img, w: x[0],
    "slice": lambda T, F, x, y, v, m, img, w: x[:, 1:],
    "select after slice": lambda T, F, x, y, v, m, img, w: x[1:, 0],
    "none index": lambda T, F, x, y, v, m, img, w: x[None],
    "advanced index": lambda T, F, x, y, v, m, img, w: x[[0, 1]],
    "cat": lambda T, F, x, y, v, m, img, w: T.cat([x, y]),
    "stack": lambda T, F, x, y, v, m, img, w: T.stack([x, y]),
    "where": lambda T, F, x, y, v, m, img, w: T.where(x > 0, x, y),
    "maximum": lambda T, F, x, y, v, m, img, w: T.maximum(x, y),
    "minimum": lambda T, F, x, y, v, m, img, w: T.minimum(x, y),
    "softmax": lambda T, F, x, y, v, m, img, w: F.softmax(x, 1),
    "log_softmax": lambda T, F, x, y, v, m, img, w: F.log_softmax(x, 1),
    "linear": lambda T, F, x, y, v, m, img, w: F.linear(x, m.T, v[:1].expand(4).contiguous()),
    "linear no bias": lambda T, F, x, y, v, m, img, w: F.linear(x, m.T),
    "linear 3-d": lambda T, F, x, y, v, m, img, w: F.linear(x[None], m.T, m[0]),
    "conv2d": lambda T, F, x, y, v, m, img, w: F.conv2d(img, w),
    "interpolate nearest": lambda T, F, x, y, v, m, img, w: F.interpolate(img, scale_factor=2),
    "interpolate bilinear": lambda T, F, x, y, v, m, img, w: F.interpolate(
        img, size=(3, 5), mode="bilinear"
    ),
    "interpolate linear": lambda T, F, x, y, v, m, img, w: F.interpolate(x[None], 5, mode="linear"),
    "unfold": lambda T, F, x, y, v, m, img, w: F.unfold(img, 2),
    "fold": lambda T, F, x, y, v, m, img, w: F.fold(T.cat([x, y]).reshape(1, 4, 3), (2, 4), 2),
    "embedding": lambda T, F, x, y, v, m, img, w: F.embedding(T.tensor([[1, 0]]), x),
    "max_pool1d": lambda T, F, x, y, v, m, img, w: F.max_pool1d(x[None], 2),
    "instance_norm": lambda T, F, x, y, v, m, img, w: F.instance_norm(img),
    "conv_transpose2d": lambda T, F, x, y, v, m, img, w: F.conv_transpose2d(img, w.transpose(0, 1)),
    "max_pool2d": lambda T, F, x, y, v, m, img, w: F.max_pool2d(img, 2),
    "adaptive_avg_pool2d": lambda T, F, x, y, v, m, img, w: F.adaptive_avg_pool2d(img, 4),
    "adaptive_max_pool2d": lambda T, F, x, y, v, m, img, w: F.adaptive_max_pool2d(img, 4),
    "avg_pool2d": lambda T, F, x, y, v, m, img, w: F.avg_pool2d(img, 2),
    "pad": lambda T, F, x, y, v, m, img, w: F.pad(img, (1, 1, 1, 1)),
    "pad reflect": lambda T, F, x, y, v, m, img, w: F.pad(img, (1, 1, 1, 1), mode="reflect"),
    "pad replicate": lambda T, F, x, y, v, m, img, w: F.pad(img, (1, 1, 1, 1), mode="replicate"),
    "cross_entropy": lambda T, F, x, y, v, m, img, w: F.cross_entropy(x, T.tensor([0, 2])),
    "nll_loss": lambda T, F, x, y, v, m, img, w: F.nll_loss(x, T.tensor([0, 2])),
    "bce": lambda T, F, x, y, v, m, img, w: F.binary_cross_entropy(
        x.sigmoid(), T.ones(2, 3, dtype=T.float64) / 2
    ),
    "bce logits": lambda T, F, x, y, v, m, img, w: F.binary_cross_entropy_with_logits(
        x, T.ones(2, 3, dtype=T.float64)
    ),
    "leaky_relu": lambda T, F, x, y, v, m, img, w: F.leaky_relu(x),
    "batch_norm": lambda T, F, x, y, v, m, img, w: F.batch_norm(img, None, None, training=True),
    # breadth (tests/test_breadth.py)
    "nan_to_num": lambda T, F, x, y, v, m, img, w: x.nan_to_num(),
    "clamp_min": lambda T, F, x, y, v, m, img, w: x.clamp_min(0.7),
    "clamp_min tensor": lambda T, F, x, y, v, m, img, w: T.clamp_min(x, y),
    "clamp_max": lambda T, F, x, y, v, m, img, w: T.clamp_max(x, 0.7),
    "clamp_max tensor": lambda T, F, x, y, v, m, img, w: x.clamp_max(v),
    "clamp_min_": lambda T, F, x, y, v, m, img, w: (x * 1).clamp_min_(0.7),
    "abs_": lambda T, F, x, y, v, m, img, w: (x * 1).abs_(),
    "sqrt_": lambda T, F, x, y, v, m, img, w: (x * 1).sqrt_(),
    "pow_": lambda T, F, x, y, v, m, img, w: (x * 1).pow_(y),
    "relu_": lambda T, F, x, y, v, m, img, w: T.relu_(x * 1),
    "where method": lambda T, F, x, y, v, m, img, w: x.where(x > 1, y),
    "tan": lambda T, F, x, y, v, m, img, w: x.tan(),
    "hypot": lambda T, F, x, y, v, m, img, w: T.hypot(x, y),
    "trace": lambda T, F, x, y, v, m, img, w: m.trace(),
    "mv fn": lambda T, F, x, y, v, m, img, w: T.mv(m, v[:1].expand(4)),
    "bmm fn": lambda T, F, x, y, v, m, img, w: T.bmm(x[None], m[None]),
    "nansum": lambda T, F, x, y, v, m, img, w: x.nansum(),
    "nanmean": lambda T, F, x, y, v, m, img, w: x.nanmean(),
    "movedim": lambda T, F, x, y, v, m, img, w: img.movedim(1, -1),
    "broadcast_to": lambda T, F, x, y, v, m, img, w: v.broadcast_to((2, 3)),
    "fliplr": lambda T, F, x, y, v, m, img, w: x.fliplr(),
    "select method": lambda T, F, x, y, v, m, img, w: x.select(1, 2),
    "vstack": lambda T, F, x, y, v, m, img, w: T.vstack([x, v]),
    "addmm": lambda T, F, x, y, v, m, img, w: T.addmm(v[:1], x, m[:, :3], beta=0.5),
    "addmv": lambda T, F, x, y, v, m, img, w: T.addmv(v[:2], x, v),
    "baddbmm": lambda T, F, x, y, v, m, img, w: T.baddbmm(x[None, :, :1], x[None], m[None, :, :2]),
    "fmod": lambda T, F, x, y, v, m, img, w: x.fmod(0.3),
    "fmod tensor": lambda T, F, x, y, v, m, img, w: T.fmod(x, y + 1),
    "masked_select": lambda T, F, x, y, v, m, img, w: x.masked_select(y > 0.5),
    "take": lambda T, F, x, y, v, m, img, w: x.take(T.tensor([0, 4])),
    "rot90": lambda T, F, x, y, v, m, img, w: x.rot90(),
    "std_mean": lambda T, F, x, y, v, m, img, w: T.std_mean(x, 0)[1],
    "var_mean": lambda T, F, x, y, v, m, img, w: T.var_mean(x)[0],
    # (found by the program fuzzer: printing nn.Bilinear's output showed ViewBackward0)
    "bilinear": lambda T, F, x, y, v, m, img, w: F.bilinear(x, y, w[0], v[:2]),
    "bilinear no bias": lambda T, F, x, y, v, m, img, w: F.bilinear(x, y, w[0]),
    "bilinear 1-D": lambda T, F, x, y, v, m, img, w: F.bilinear(v, v, w[0], v[:2]),
    # (found by the program fuzzer: segmentation-style losses printed NllLossBackward0, soft
    # targets MeanBackward0, margin losses ClampBackward1)
    "cross_entropy 4-D": lambda T, F, x, y, v, m, img, w: F.cross_entropy(
        img, T.zeros(1, 6, 6, dtype=T.int64)
    ),
    "cross_entropy 4-D none": lambda T, F, x, y, v, m, img, w: F.cross_entropy(
        img, T.zeros(1, 6, 6, dtype=T.int64), reduction="none"
    ),
    "nll_loss 3-D none": lambda T, F, x, y, v, m, img, w: F.nll_loss(
        img[:, :, 0], T.ones(1, 6, dtype=T.int64), reduction="none"
    ),
    "nll_loss 3-D sum": lambda T, F, x, y, v, m, img, w: F.nll_loss(
        img[:, :, 0], T.ones(1, 6, dtype=T.int64), reduction="sum"
    ),
    "cross_entropy probabilities": lambda T, F, x, y, v, m, img, w: F.cross_entropy(
        x, y.detach().softmax(1)
    ),
    "cross_entropy probabilities sum": lambda T, F, x, y, v, m, img, w: F.cross_entropy(
        x, y.detach().softmax(1), reduction="sum"
    ),
    "margin_ranking_loss none": lambda T, F, x, y, v, m, img, w: F.margin_ranking_loss(
        x, y, T.ones(2, 3), reduction="none"
    ),
    "triplet_margin_loss none": lambda T, F, x, y, v, m, img, w: F.triplet_margin_loss(
        x, y, x * 2, reduction="none"
    ),
    "soft_margin_loss": lambda T, F, x, y, v, m, img, w: F.soft_margin_loss(x, y.detach().sign()),
    "soft_margin_loss none": lambda T, F, x, y, v, m, img, w: F.soft_margin_loss(
        x, y.detach().sign(), reduction="none"
    ),
    # (found by the torch fuzzer: threshold printed MaskedFillBackward0; a whole-dim slice in a
    # tuple index is skipped by PyTorch, so x[0, :] is a select and x[:, :] an alias)
    "threshold": lambda T, F, x, y, v, m, img, w: F.threshold(x, 0.75, -1.5),
    "threshold inplace": lambda T, F, x, y, v, m, img, w: F.threshold(x * 1, 0.75, -1.5, True),
    "index int, whole slice": lambda T, F, x, y, v, m, img, w: x[0, :],
    "index int, slice past the end": lambda T, F, x, y, v, m, img, w: x[0, 0:9],
    "index int, negative-start slice": lambda T, F, x, y, v, m, img, w: x[0, -3:],
    "index whole slices": lambda T, F, x, y, v, m, img, w: x[:, :],
    "index ellipsis, whole slice": lambda T, F, x, y, v, m, img, w: x[..., :],
    "index None, whole slice": lambda T, F, x, y, v, m, img, w: x[None, :],
    "index lone whole slice": lambda T, F, x, y, v, m, img, w: x[:],
    # (found by the torch fuzzer: composites and unbatched pools printed their last small op)
    "softshrink": lambda T, F, x, y, v, m, img, w: F.softshrink(x, 0.75),
    "hardshrink": lambda T, F, x, y, v, m, img, w: F.hardshrink(x, 0.75),
    "prelu": lambda T, F, x, y, v, m, img, w: F.prelu(x, y[0, :1]),
    "glu": lambda T, F, x, y, v, m, img, w: F.glu(m, 1),
    "conv1d": lambda T, F, x, y, v, m, img, w: F.conv1d(img[:, :, 0], w[:, :, 0], padding=1),
    "conv_transpose1d": lambda T, F, x, y, v, m, img, w: F.conv_transpose1d(
        img[:, :, 0], w[:2, :, 0]
    ),
    "conv1d unbatched": lambda T, F, x, y, v, m, img, w: F.conv1d(img[0, :, 0], w[:, :, 0]),
    "max_pool2d unbatched": lambda T, F, x, y, v, m, img, w: F.max_pool2d(img[0], 2),
    "avg_pool2d unbatched": lambda T, F, x, y, v, m, img, w: F.avg_pool2d(img[0], 2),
    "adaptive_max_pool2d unbatched": lambda T, F, x, y, v, m, img, w: F.adaptive_max_pool2d(
        img[0], 2
    ),
    "adaptive_avg_pool2d unbatched": lambda T, F, x, y, v, m, img, w: F.adaptive_avg_pool2d(
        img[0], 2
    ),
    "max_pool3d unbatched": lambda T, F, x, y, v, m, img, w: F.max_pool3d(img, 1),
    "group_norm": lambda T, F, x, y, v, m, img, w: F.group_norm(img, 2, y[0, :2], y[1, :2]),
    # (found by the torch fuzzer's "more" ops)
    "logcumsumexp": lambda T, F, x, y, v, m, img, w: x.logcumsumexp(1),
    "copysign number": lambda T, F, x, y, v, m, img, w: x.copysign(-1.0),
    "copysign tensor": lambda T, F, x, y, v, m, img, w: x.copysign(y - 0.5),
    "xlogy": lambda T, F, x, y, v, m, img, w: T.xlogy(x, y),
    "xlogy number other": lambda T, F, x, y, v, m, img, w: T.xlogy(x, 2.0),
    "xlogy number input": lambda T, F, x, y, v, m, img, w: T.xlogy(2.0, y),
    "repeat_interleave int": lambda T, F, x, y, v, m, img, w: x.repeat_interleave(2, dim=1),
    "repeat_interleave tensor": lambda T, F, x, y, v, m, img, w: x.repeat_interleave(
        T.tensor([1, 2]), dim=0
    ),
    "diag_embed": lambda T, F, x, y, v, m, img, w: T.diag_embed(x, 1),
    "sinc": lambda T, F, x, y, v, m, img, w: x.sinc(),
    "sgn": lambda T, F, x, y, v, m, img, w: x.sgn(),
    "pairwise_distance": lambda T, F, x, y, v, m, img, w: F.pairwise_distance(x, y),
    # (narrow and the split family over a whole dim: PyTorch's slice op, not an index's alias)
    "narrow whole dim": lambda T, F, x, y, v, m, img, w: x.narrow(0, 0, 2),
    "tensor_split whole dim": lambda T, F, x, y, v, m, img, w: x.tensor_split(1, 1)[0],
}


def _run(T, F, case):
    rng = np.random.default_rng(0)
    arrays = [
        rng.random((2, 3)) + 0.5,
        rng.random((2, 3)),
        rng.random(3),
        rng.random((3, 4)),
        rng.standard_normal((1, 2, 6, 6)),
        rng.standard_normal((3, 2, 3, 3)),
    ]
    ts = [T.tensor(a, requires_grad=True) for a in arrays]
    return CASES[case](T, F, *ts)


@pytest.mark.parametrize("case", sorted(CASES))
def test_grad_fn_name_matches_torch(case):
    torch = pytest.importorskip("torch")
    # (the class name: that is what a tensor's repr shows; name() adds "torch::autograd::" to a few)
    expected = type(_run(torch, torch.nn.functional, case).grad_fn).__name__
    got = _run(tinyconv, tF, case)
    assert got.grad_fn.name() == expected
    assert type(got.grad_fn).__name__ == expected  # (graph printers and torchviz read this)
    assert f"grad_fn=<{expected}>" in repr(got)


def test_setitem_is_copyslices_and_user_functions_keep_their_class_name():
    x = tinyconv.ones(3, requires_grad=True) * 1
    x[0] = 5.0
    assert x.grad_fn.name() == "CopySlices"
    # as PyTorch prints a node: its name and its address
    assert repr(x.grad_fn) == f"<CopySlices object at {id(x.grad_fn):#x}>"

    class Cube(tinyconv.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a**3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 3 * a * a * g

    y = Cube.apply(tinyconv.ones(2, requires_grad=True))
    assert y.grad_fn.name() == "CubeBackward"  # PyTorch names a custom Function's node the same way


@pytest.mark.parametrize(
    "case",
    [
        "max_pool2d",
        "avg_pool2d",
        "adaptive_avg_pool2d",
        "adaptive_max_pool2d",
        "pad",
        "conv2d",
        "conv_transpose2d",
        "interpolate",
        "unfold",
    ],
)
def test_kernel_backed_nodes_have_torchs_edges(case):
    # The options travel as one tuple argument; next_functions shows only the tensor edges,
    # as many as PyTorch's node has (the input; conv: input, weight, bias).
    torch = pytest.importorskip("torch")
    img = np.random.default_rng(0).standard_normal((1, 2, 6, 6))
    wts = np.random.default_rng(1).standard_normal((2, 2, 3, 3))

    def run(T, F):
        x = T.tensor(img, requires_grad=True)
        w = T.tensor(wts, requires_grad=True)
        b = T.tensor(np.ones(2), requires_grad=True)
        out = {
            "max_pool2d": lambda: F.max_pool2d(x, 2, 1, 1),
            "avg_pool2d": lambda: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
            "adaptive_avg_pool2d": lambda: F.adaptive_avg_pool2d(x, 4),
            "adaptive_max_pool2d": lambda: F.adaptive_max_pool2d(x, 4),
            "pad": lambda: F.pad(x, (1, 2, 0, 1), mode="reflect"),
            "conv2d": lambda: F.conv2d(x, w, b, 2, 1),
            "conv_transpose2d": lambda: F.conv_transpose2d(x, w, b, 2, 1, 1),
            "interpolate": lambda: F.interpolate(x, scale_factor=1.5, mode="bilinear"),
            "unfold": lambda: F.unfold(x, 2, padding=1),
        }[case]()
        out.sum().backward()
        edges = [None if f is None else type(f).__name__ for f, _ in out.grad_fn.next_functions]
        return edges, x.grad.numpy()

    (tc_edges, tc_grad), (pt_edges, pt_grad) = run(tinyconv, tF), run(torch, torch.nn.functional)
    assert tc_edges == pt_edges
    np.testing.assert_allclose(tc_grad, pt_grad, rtol=1e-10, atol=1e-12)


GRAD_FN_CASES = {
    "squeeze()": lambda T, x, v: x[None].squeeze(),
    "squeeze(dims)": lambda T, x, v: x[None].squeeze((0,)),
    "square": lambda T, x, v: x.square(),
    "t()": lambda T, x, v: x.t(),
    "x.T": lambda T, x, v: x.T,
    "number / x": lambda T, x, v: 2 / x,
    "number % x": lambda T, x, v: 2 % x,
    "x // 2": lambda T, x, v: x // 2,
    "copy_": lambda T, x, v: T.zeros(2, 3, dtype=T.float64).copy_(x),
}


def _written(T, x, index):
    a = x * 1
    a[index] = 5.0
    return a


SETITEM_CASES = {
    "[[0]]": [0],
    "mask": "mask",
    "(0, [1])": (0, [1]),
    "(:, [1])": (slice(None), [1]),
    "True": True,
    "(1:, [1])": (slice(1, None), [1]),
}


@pytest.mark.torch
def test_names_match_pytorch_for_ops_whose_node_depends_on_the_call():
    """grad_fn names as PyTorch prints them (its C++ nodes' namespace left out)."""
    torch = pytest.importorskip("torch")

    def names(T):
        x = T.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=T.float64, requires_grad=True)
        v = T.tensor([1.0, 2.0, 3.0], dtype=T.float64, requires_grad=True)
        out = {k: f(T, x, v).grad_fn.name() for k, f in GRAD_FN_CASES.items()}
        for k, index in SETITEM_CASES.items():
            out["set " + k] = _written(T, x, x > 2 if index == "mask" else index).grad_fn.name()
        return {k: n.replace("torch::autograd::", "") for k, n in out.items()}

    assert names(tinyconv) == names(torch)


# -- next_functions: the graph as PyTorch shows it ------------------------------------------------

# (what each expression builds; x, y, w, b require grad, t and labels do not)
GRAPH_CASES = [
    "x + 2",
    "2 * x",
    "x + y",
    "x - y",
    "x * y",
    "x / y",
    "x ** 2",
    "2 ** x",
    "x.pow(y)",
    "x.sum()",
    "x.sum(0)",
    "x.mean(1)",
    "x.max()",
    "x.max(1)[0]",
    "x.var()",
    "x.std()",
    "x.norm()",
    "x @ y.t()",
    "x.t()",
    "x.view(12)",
    "x.reshape(3, 4)",
    "x[0]",
    "x[:, 1]",
    "x.flatten()",
    "x.unsqueeze(0)",
    "x.squeeze()",
    "x.permute(1, 0)",
    "x.expand(2, 4, 3)",
    "x.clamp(0, 1)",
    "x.exp()",
    "-x",
    "L.cat([t, x])",
    "L.stack([x, t])",
    "L.where(x > 0, t, x)",
    "F.linear(x, w, b)",
    "F.linear(x, w)",
    "F.linear(t, w, b)",
    "F.mse_loss(F.linear(x, w, b), u)",
    "F.mse_loss(u, F.linear(x, w, b))",
    "F.cross_entropy(F.linear(x, w, b), labels)",
    "F.smooth_l1_loss(x, t)",
    "F.huber_loss(x, t)",
    "F.binary_cross_entropy_with_logits(x, t.sigmoid())",
    "F.binary_cross_entropy(x.sigmoid(), t.sigmoid())",
    "F.softmax(x, 1)",
    "F.gelu(x)",
    "F.layer_norm(x, (3,), y[0], y[1])",
    "F.batch_norm(img, None, None, training=True)",
    "F.adaptive_avg_pool2d(img, 1)",
    "F.adaptive_avg_pool2d(img, (2, 1))",
    "2 - x",
    "2 / x",
    "x % 2",
    "x % t",
    "t % x",
    "F.logsigmoid(x)",
    "F.conv2d(img, cw)",
    "F.max_pool2d(img, 2)",
    "F.embedding(labels, w)",
]


def _graph(node, depth: int = 2):
    """A node's name and, `depth` levels down, its next_functions' (None: no edge)."""
    if node is None:
        return None
    if depth == 0:
        return node.name()
    return node.name(), tuple(_graph(f, depth - 1) for f, _ in node.next_functions)


def _build(L, expr: str):
    F = L.nn.functional
    rng = np.random.default_rng(0)

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    x, y = L.tensor(arr(4, 3), requires_grad=True), L.tensor(arr(4, 3), requires_grad=True)
    w, b = L.tensor(arr(5, 3), requires_grad=True), L.tensor(arr(5), requires_grad=True)
    t, u, labels = L.tensor(arr(4, 3)), L.tensor(arr(4, 5)), L.tensor([0, 1, 2, 1])
    img = L.tensor(arr(2, 3, 6, 6), requires_grad=True)
    cw = L.tensor(arr(4, 3, 3, 3), requires_grad=True)
    names = dict(L=L, F=F, x=x, y=y, w=w, b=b, t=t, u=u, labels=labels, img=img, cw=cw)
    return eval(expr, names)


@pytest.mark.torch
@pytest.mark.parametrize("expr", GRAPH_CASES)
def test_next_functions_show_pytorchs_graph(expr):
    # The 60-minute blitz prints loss.grad_fn, then .next_functions[0][0] twice
    # (MseLossBackward0 -> AddmmBackward0 -> AccumulateGrad): the nodes, their edges (one per
    # tensor input, None where no gradient flows) and names two levels down are PyTorch's
    torch = pytest.importorskip("torch")
    assert _graph(_build(tinyconv, expr).grad_fn) == _graph(_build(torch, expr).grad_fn)


def test_next_functions_reach_the_leaf_and_print_as_pytorch():
    w = tinyconv.ones(2, 3, requires_grad=True)
    loss = tF.mse_loss(tF.linear(tinyconv.ones(4, 3), w, tinyconv.zeros(2)), tinyconv.zeros(4, 2))
    addmm = loss.grad_fn.next_functions[0][0]
    transposed = addmm.next_functions[2][0]
    leaf = transposed.next_functions[0][0]
    assert (addmm.name(), transposed.name()) == ("AddmmBackward0", "TBackward0")
    assert leaf.variable is w and leaf.next_functions == ()
    assert repr(leaf) == f"<AccumulateGrad object at {id(leaf):#x}>"
    assert repr(addmm) == f"<AddmmBackward0 object at {id(addmm):#x}>"


@pytest.mark.torch
def test_recurrent_layers_output_nodes_match_pytorch():
    """PyTorch's CPU LSTM in float32 runs through oneDNN (output node MkldnnRnnLayerBackward0,
    what the sequence-models tutorial prints); RNN and GRU transpose a batch_first output in
    place (TransposeBackward1), LSTM does not; h_n and c_n are stacks."""
    torch = pytest.importorskip("torch")

    def names(T):
        out = []
        for cls in ("LSTM", "GRU", "RNN"):
            for dtype in (T.float32, T.float64):
                for kw in ({}, {"num_layers": 2}, {"bidirectional": True}, {"batch_first": True}):
                    T.manual_seed(0)
                    m = getattr(T.nn, cls)(3, 4, **kw).to(dtype)
                    y, h = m(T.randn(5, 2, 3, dtype=dtype))
                    h = h[0] if cls == "LSTM" else h
                    out.append((cls, str(dtype)[-7:], str(kw), y.grad_fn.name(), h.grad_fn.name()))
                y, _ = getattr(T.nn, cls)(3, 4).to(dtype)(T.randn(5, 3, dtype=dtype))
                out.append((cls, "unbatched", y.grad_fn.name()))
        return out

    assert names(tinyconv) == names(torch)


@pytest.mark.parametrize(
    "sa, sb, a_grad",
    [
        ((3, 2), (4, 2, 5), True),  # 2-D @ batched, a requires grad: a copy (CloneBackward0)
        ((1, 2), (4, 2, 5), True),  # ... whose transpose is already contiguous: Transpose
        ((3, 2), (2, 2, 1), True),
        ((1, 0), (1, 0, 1), True),  # (found by the fuzzer: an empty contraction)
        ((3, 2), (2, 1, 2, 3), True),
        ((3, 2), (4, 2, 5), False),  # a needs no grad: the bmm path (UnsafeViewBackward0)
        ((2,), (4, 2, 5), True),
        ((4, 3, 2), (2, 5), True),
    ],
)
def test_matmul_node_follows_torchs_lowering(sa, sb, a_grad):
    torch = pytest.importorskip("torch")

    def name(T):
        a = T.ones(sa, dtype=T.float64, requires_grad=a_grad)
        b = T.ones(sb, dtype=T.float64, requires_grad=True)
        return (a @ b).grad_fn.name()

    assert name(tinyconv) == name(torch)


@pytest.mark.parametrize(
    "index, value",
    [
        ("...", "t"),  # (found by the torch fuzzer: x[...] = v is PyTorch's copy_)
        ("...", "0.0"),
        (":", "t"),
        (":, :", "0.5"),
        ("0:2, ...", "t"),
        (":, 0:9", "T.tensor(3.0)"),
        ("None", "t"),  # a new dim: CopySlices
        ("0", "t"),
        (":, 1:", "1.5"),
    ],
)
def test_setitem_of_the_whole_tensor_is_a_copy_or_a_fill(index, value):
    torch = pytest.importorskip("torch")

    def name(T):
        x = T.ones(2, 3, dtype=T.float64, requires_grad=True) * 1
        t = T.full((3,), 2.0, dtype=T.float64, requires_grad=True)
        exec(f"x[{index}] = {value}", {"x": x, "t": t, "T": T})
        return x.grad_fn.name().replace("torch::autograd::", "")

    assert name(tinyconv) == name(torch)
