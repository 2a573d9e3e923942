"""Gradients of gradients: backward(create_graph=True) and autograd.grad on a CNN.

Three things, each checked by numbers it prints:

(a) conv2d's input gradient IS a transposed convolution of the output gradient: the
    gradient autograd computes equals tinyconv.nn.grad.conv2d_input (= conv_transpose2d
    with the right output_padding), and the weight gradient equals nn.grad.conv2d_weight
    (a conv2d of the input with the output gradient). With create_graph=True these two
    functions are exactly what conv2d's backward runs, so the gradient has a graph of its
    own and can be differentiated again.
(b) A gradient penalty on the digits LeNet (examples/lenet_digits.py's model and data):
    loss + lambda * ||d loss / d image||^2, trained for a few steps. The penalty's own
    gradient goes back through the gradient of the loss: a double backward through
    conv, max-pool, relu and linear layers. A forward hook (Module.register_forward_hook)
    captures conv1's feature maps, and a tensor hook (Tensor.register_hook) on them prints
    the gradient arriving at the conv in the first backward.
(c) A Hessian-vector product of a tiny CNN, H v = d/dp <d loss/dp, v>, checked against
    central finite differences of gradients, (g(p + eps v) - g(p - eps v)) / (2 eps).

    python examples/double_backward.py              # all three (b needs scikit-learn)
    python examples/double_backward.py --steps 50 --penalty 0.1
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn, optim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenet_digits import LeNet, load_digits_split  # noqa: E402  (the digits example's own)


def conv_gradient_is_transposed_conv(seed: int = 0) -> dict:
    """(a): autograd's conv2d gradients against nn.grad.conv2d_input / conv2d_weight."""
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.standard_normal((2, 4, 9, 8)), requires_grad=True)
    w = torch.tensor(rng.standard_normal((6, 2, 3, 3)), requires_grad=True)
    opts = {"stride": 2, "padding": 1, "dilation": 1, "groups": 2}
    y = F.conv2d(x, w, **opts)
    g = torch.tensor(rng.standard_normal(tuple(y.shape)))
    y.backward(g)
    gx = nn.grad.conv2d_input(x.shape, w.detach(), g, **opts)
    gw = nn.grad.conv2d_weight(x.detach(), w.shape, g, **opts)
    # the same input gradient written as the transposed convolution it is: a 9x8 input gives
    # a 5x4 output, and conv_transpose2d of that is 9x7 without output_padding: (0, 1)
    gt = F.conv_transpose2d(g, w.detach(), stride=2, padding=1, output_padding=(0, 1), groups=2)
    diffs = {
        "input": float(np.abs(x.grad.numpy() - gx.numpy()).max()),
        "transposed": float(np.abs(x.grad.numpy() - gt.numpy()).max()),
        "weight": float(np.abs(w.grad.numpy() - gw.numpy()).max()),
    }
    print("(a) conv2d's gradient is a convolution (x (2, 4, 9, 8), w (6, 2, 3, 3), stride 2,")
    print("    padding 1, groups 2; float64):")
    print(f"    |x.grad - nn.grad.conv2d_input(x.shape, w, g)|  max = {diffs['input']:.1e}")
    print(
        f"    |x.grad - conv_transpose2d(g, w, output_padding=(0, 1))|  max = "
        f"{diffs['transposed']:.1e}"
    )
    print(f"    |w.grad - nn.grad.conv2d_weight(x, w.shape, g)|  max = {diffs['weight']:.1e}")
    # with create_graph, the gradient has a graph: its node is the transposed convolution
    x.grad = None
    (gx2,) = torch.autograd.grad(F.conv2d(x, w, **opts), x, g, create_graph=True)
    node = type(gx2.grad_fn).__qualname__  # (tinyconv's class; __name__ is PyTorch's node name)
    print(f"    with create_graph=True, x's gradient is made by a {node} node: it has a graph")
    return {**diffs, "grad_fn": node}


def gradient_penalty(steps: int, penalty: float, seed: int, batch: int = 64) -> dict:
    """(b): a few SGD steps on loss + penalty * ||d loss / d x||^2 with the digits LeNet."""
    torch.manual_seed(seed)
    x_train, y_train, _, _ = load_digits_split()
    model = LeNet().double()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x_all, y_all = x_train.double(), y_train
    captured = {}
    printed = []

    def print_arriving_gradient(grad):
        # a tensor hook: called with the gradient arriving at conv1's output (first step only)
        if not printed:
            printed.append(grad.shape)
            print(
                f"    tensor hook: gradient arriving at conv1's output, shape "
                f"{tuple(grad.shape)}, |grad| = {float(grad.detach().norm()):.3e}"
            )

    def capture_feature_maps(module, inputs, output):
        # a forward hook: keep conv1's feature maps, and hook their gradient
        captured["conv1"] = output.detach()
        if output.requires_grad and not printed:
            output.register_hook(print_arriving_gradient)

    handle = model.conv1.register_forward_hook(capture_feature_maps)
    print()
    print(f"(b) gradient penalty on the digits LeNet: loss + {penalty:g} * ||d loss / d x||^2")
    history = []
    rng = np.random.default_rng(seed)
    for step in range(1, steps + 1):
        idx = torch.tensor(rng.choice(len(y_all), batch, replace=False))
        x = x_all[idx].requires_grad_()
        loss = F.cross_entropy(model(x), y_all[idx])
        # the input gradient, with a graph (create_graph=True) so it can be differentiated
        (gx,) = torch.autograd.grad(loss, x, create_graph=True)
        # loss is a mean over the batch, so gx holds each image's gradient / batch: this is
        # the mean over the images of ||d loss_i / d x_i||^2
        reg = (gx * gx).sum() * batch
        total = loss + penalty * reg
        optimizer.zero_grad()
        total.backward()  # through the gradient: a double backward
        optimizer.step()
        history.append((loss.item(), reg.item()))
        if step == 1 or step % max(1, steps // 4) == 0 or step == steps:
            print(f"    step {step:>3}: loss {loss.item():.4f}  penalty {reg.item():.3e}")
    handle.remove()
    fmap = captured["conv1"]
    print(f"    forward hook: captured conv1's feature maps of shape {tuple(fmap.shape)}")
    # a saliency map: where in one image the loss is most sensitive (|d loss / d pixel|)
    x0 = x_all[:1].requires_grad_()
    (s,) = torch.autograd.grad(F.cross_entropy(model(x0), y_all[:1]), x0)
    sal = np.abs(s.numpy()[0, 0])
    r, c = np.unravel_index(sal.argmax(), sal.shape)
    print(
        f"    saliency of training image 0 (label {int(y_all[0])}): most sensitive pixel ({r}, {c})"
    )
    return {"history": history, "feature_maps": tuple(fmap.shape), "saliency": sal}


class TinyCNN(nn.Module):
    """conv (1 -> 3, 3x3) -> tanh -> avg-pool 2 -> linear (12 -> 2): smooth, so its Hessian
    exists everywhere and finite differences of its gradient converge."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.fc = nn.Linear(3 * 2 * 2, 2)

    def forward(self, x):
        h = F.avg_pool2d(torch.tanh(self.conv(x)), 2)
        return self.fc(h.flatten(1))


def hessian_vector_product(seed: int = 0, eps: float = 1e-5) -> dict:
    """(c): H v by double backward against central differences of the gradient."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = TinyCNN().double()
    x = torch.tensor(rng.standard_normal((5, 1, 6, 6)))
    y = torch.tensor(rng.integers(0, 2, 5))
    params = list(model.parameters())
    v = [torch.tensor(rng.standard_normal(tuple(p.shape))) for p in params]

    def gradient():
        return torch.autograd.grad(F.cross_entropy(model(x), y), params, create_graph=True)

    grads = gradient()
    dot = sum((g * vi).sum() for g, vi in zip(grads, v, strict=True))
    hv = torch.autograd.grad(dot, params)  # d/dp <g(p), v> = H v
    with torch.no_grad():
        for p, vi in zip(params, v, strict=True):
            p += eps * vi
    plus = [g.detach().numpy().copy() for g in gradient()]
    with torch.no_grad():
        for p, vi in zip(params, v, strict=True):
            p -= 2 * eps * vi
    minus = [g.detach().numpy().copy() for g in gradient()]
    with torch.no_grad():
        for p, vi in zip(params, v, strict=True):
            p += eps * vi
    fd = np.concatenate([((a - b) / (2 * eps)).ravel() for a, b in zip(plus, minus, strict=True)])
    ours = np.concatenate([h.numpy().ravel() for h in hv])
    rel = float(np.abs(ours - fd).max() / np.abs(fd).max())
    n = ours.size
    print()
    print(f"(c) Hessian-vector product of a tiny CNN ({n} parameters, float64):")
    print(
        f"    |H v| = {np.linalg.norm(ours):.6f} by double backward, "
        f"{np.linalg.norm(fd):.6f} by finite differences"
    )
    print(f"    max |H v - finite differences| / max |H v| = {rel:.1e}")
    return {"hv": ours, "fd": fd, "relative_difference": rel}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=20, help="gradient-penalty training steps")
    p.add_argument("--penalty", type=float, default=0.5, help="weight of the gradient penalty")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    if args.steps < 1:
        build_parser().error("--steps must be at least 1")
    out = {"conv": conv_gradient_is_transposed_conv(args.seed)}
    out["penalty"] = gradient_penalty(args.steps, args.penalty, args.seed)
    out["hvp"] = hessian_vector_product(args.seed)
    return out


if __name__ == "__main__":
    main()
