"""A three-channel input, two 3x3x3 kernels, stride 2, padding 1: a 2-channel 3x3 feature map.

The numbers are the classic hand-worked example: every output element is a
sum over the 3 input channels of a 3x3 window times a 3x3 kernel slice, plus
the bias. The script computes it with nn.Conv2d (float32, with autograd), then
in integers under no_grad, and then walks one output element by hand. With
--backward it runs the backward of docs/conv_backprop.md's loss, L = sum(G * y),
prints every gradient as labelled 2-D grids, walks one element of each term by
term, and traces which kernel function computed each gradient.

    python examples/three_channel.py
    python examples/three_channel.py --element 1 1 2            # walk y[1, 1, 2], not y[0, 0, 0]
    python examples/three_channel.py --backward                 # dL/dy, dL/dx, dL/dw, dL/db
    python examples/three_channel.py --backward --dx 0 2 2 --dw 1 2 0 1 --db 1 --algorithm loops
"""

from __future__ import annotations

import argparse

import numpy as np

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import trace

X = [  # (3, 5, 5): three channels of a 5x5 image
    [[0, 1, 1, 0, 2], [0, 2, 2, 1, 1], [0, 2, 1, 1, 2], [1, 0, 2, 1, 2], [0, 1, 1, 1, 1]],
    [[2, 2, 1, 0, 0], [2, 1, 0, 0, 1], [2, 2, 1, 2, 2], [1, 2, 0, 1, 2], [1, 2, 0, 2, 1]],
    [[0, 0, 1, 0, 2], [1, 1, 1, 1, 1], [2, 0, 2, 1, 1], [1, 1, 1, 0, 0], [0, 0, 0, 1, 0]],
]
W0 = [
    [[-1, 0, 1], [-1, 0, 1], [0, 1, 0]],
    [[1, -1, 1], [1, 1, 0], [-1, 0, -1]],
    [[0, 1, 0], [-1, 0, 1], [-1, 0, 0]],
]
W1 = [
    [[-1, 1, 0], [1, 0, -1], [-1, 0, 1]],
    [[0, 0, 1], [0, 1, 1], [1, 1, -1]],
    [[0, 1, 0], [-1, -1, 1], [1, -1, -1]],
]
BIAS = [1, 0]
# The gradient from above, dL/dy, of docs/conv_backprop.md: as if L = sum(G * y). The numbers
# 1..18 in a shuffled order, so you can follow each one into the gradients.
G = [[[3, 11, 4], [13, 1, 5], [8, 6, 17]], [[14, 15, 12], [7, 10, 18], [9, 2, 16]]]
STRIDE, PADDING = 2, 1
EXPECTED = [[[3, 3, 1], [6, 3, 3], [5, 9, 0]], [[4, 0, -2], [-1, 6, 4], [6, 7, 2]]]


def conv_layer():
    """nn.Conv2d(3, 2, 3, padding=1, stride=2) with the example's weights set through .data."""
    conv = nn.Conv2d(3, 2, kernel_size=3, padding=1, stride=2)
    conv.weight.data = torch.tensor([W0, W1], dtype=torch.float32)
    conv.bias.data = torch.tensor(BIAS, dtype=torch.float32)
    return conv


def walk_one_element(x, w, b, out_channel=0, i=0, j=0, stride=2, padding=1):
    """Recompute y[out_channel, i, j] window by window, channel by channel, and print the sum."""
    xp = F.pad(x, (padding, padding, padding, padding))  # zero border, as the convolution sees it
    r, c = i * stride, j * stride
    total = 0
    print(
        f"y[{out_channel}, {i}, {j}]: the 3x3 window at rows {r - padding}..{r - padding + 2}, "
        f"cols {c - padding}..{c - padding + 2} of each channel (zero outside the image):"
    )
    for ch in range(x.shape[1]):
        window = xp[0, ch, r : r + 3, c : c + 3]
        kernel = w[out_channel, ch]
        part = int((window * kernel).sum().item())
        total += part
        print(f"  channel {ch}: window {window.tolist()}")
        print(f"             kernel {kernel.tolist()}")
        print(f"             sum of products = {part}")
    bias = int(b[out_channel].item())
    print(f"  plus bias {bias}: {total} + {bias} = {total + bias}")
    return total + bias


def grids(label, a):
    """A (1, C, H, W) gradient as one labelled 2-D grid per channel; (O,) as one line."""
    a = a.detach().numpy() if hasattr(a, "detach") else a
    if a.ndim == 1:
        print(f"{label} = [{', '.join(fmt(v) for v in a)}]")
        return
    lead = a.reshape(-1, *a.shape[-2:])
    index = list(np.ndindex(a.shape[:-2]))
    width = max(len(fmt(v)) for v in a.ravel())
    for k, plane in zip(index, lead, strict=False):
        name = f"{label}[{', '.join(map(str, k))}]"
        for r, row in enumerate(plane):
            head = f"{name} = " if r == 0 else " " * (len(name) + 3)
            print(head + "[" + ", ".join(fmt(v).rjust(width) for v in row) + "]")


def fmt(v):
    """Every number of this example is an integer: print it as one."""
    return str(int(v)) if float(v).is_integer() else f"{v:.4g}"


def times(a, b):
    return f"{fmt(a)}·{fmt(b)}" if b >= 0 else f"{fmt(a)}·({fmt(b)})"


def x_pad(c, r, t):
    """x with PADDING zeros around: x_pad[c, u + PADDING, v + PADDING] = x[c, u, v]."""
    u, v = r - PADDING, t - PADDING
    return X[c][u][v] if 0 <= u < len(X[c]) and 0 <= v < len(X[c][0]) else 0


def walk_weight_grad(o, c, p, q):
    """dL/dw[o, c, p, q] = sum_{i, j} G[o][i][j] * x_pad[c, i*s + p, j*s + q], term by term."""
    terms = [
        (G[o][i][j], x_pad(c, i * STRIDE + p, j * STRIDE + q))
        for i in range(len(G[o]))
        for j in range(len(G[o][0]))
    ]
    total = sum(g * x for g, x in terms)
    print(
        f"dL/dw[{o}, {c}, {p}, {q}] = sum over windows (i, j) of g[{o}, i, j] * x_pad[{c}, "
        f"{STRIDE}i + {p}, {STRIDE}j + {q}]\n  = {' + '.join(times(g, x) for g, x in terms)} = "
        f"{fmt(total)}"
    )
    return total


def walk_input_grad(c, u, v):
    """dL/dx[c, u, v] = sum over o and the (window, tap) pairs that read x[c, u, v] of g * w."""
    W = [W0, W1]
    terms = []
    for o in range(len(G)):
        for i in range(len(G[o])):
            for j in range(len(G[o][0])):
                p, q = u + PADDING - i * STRIDE, v + PADDING - j * STRIDE  # the tap that read it
                if 0 <= p < 3 and 0 <= q < 3:
                    terms.append((o, i, j, p, q, G[o][i][j], W[o][c][p][q]))
    total = sum(g * w for *_, g, w in terms)
    print(
        f"dL/dx[{c}, {u}, {v}] = sum over o, windows (i, j) and taps (p, q) with {STRIDE}i + p = "
        f"{u + PADDING}, {STRIDE}j + q = {v + PADDING} of g[o, i, j] * w[o, {c}, p, q]"
    )
    for o, i, j, p, q, g, w in terms:
        print(f"  o = {o}, window ({i}, {j}), tap ({p}, {q}): g = {fmt(g)}, w = {fmt(w)}")
    print(
        f"  = {' + '.join(times(g, w) for *_, g, w in terms) or '0 (no window reads it)'} = "
        f"{fmt(total)}"
    )
    return total


def walk_bias_grad(o):
    """dL/db[o] = the sum of G[o]: b[o] is in every y[o, i, j] once."""
    total = sum(sum(row) for row in G[o])
    print(
        f"dL/db[{o}] = sum of g[{o}] = {' + '.join(fmt(v) for row in G[o] for v in row)} = "
        f"{fmt(total)}"
    )
    return total


def backward(args):
    """The backward of L = sum(G * y): every gradient as grids, one element of each by hand."""
    with torch.kernels.conv_algorithm(args.algorithm):
        conv = conv_layer()
        x = torch.tensor([X], dtype=torch.float32, requires_grad=True)
        y = conv(x)
        g = torch.tensor([G], dtype=torch.float32)
        loss = (g * y).sum()
        print(
            f"\nthe loss of docs/conv_backprop.md: L = sum(g * y) = {fmt(loss.item())}, so dL/dy = "
            "g:"
        )
        grids("dL/dy", g)
        with trace(names={"x": x, **dict(conv.named_parameters())}) as t:
            loss.backward()
    print("\nthe gradients backward computed (algorithm " + repr(args.algorithm) + "):")
    grids("dL/dx", x.grad)
    grids("dL/dw", conv.weight.grad)
    grids("dL/db", conv.bias.grad)
    print("\none element of each, by hand:")
    (o, c, p, q), (cx, u, v), ob = args.dw, args.dx, args.db
    dw = walk_weight_grad(o, c, p, q)
    print(
        f"  tinyconv: conv.weight.grad[{o}, {c}, {p}, {q}] = "
        f"{fmt(conv.weight.grad[o, c, p, q].item())}"
    )
    dx = walk_input_grad(cx, u, v)
    print(f"  tinyconv: x.grad[0, {cx}, {u}, {v}] = {fmt(x.grad[0, cx, u, v].item())}")
    db = walk_bias_grad(ob)
    print(f"  tinyconv: conv.bias.grad[{ob}] = {fmt(conv.bias.grad[ob].item())}")
    print("\nwhat backward did, node by node:")
    t.print()
    return {
        "dx": x.grad.numpy().copy(),
        "dw": conv.weight.grad.numpy().copy(),
        "db": conv.bias.grad.numpy().copy(),
        "dw_by_hand": dw,
        "dx_by_hand": dx,
        "db_by_hand": db,
        "trace": t,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--element",
        nargs=3,
        type=int,
        default=[0, 0, 0],
        metavar=("O", "I", "J"),
        help="which output element to walk by hand (default 0 0 0)",
    )
    parser.add_argument(
        "--backward",
        action="store_true",
        help="then run the backward of L = sum(g * y) and print its gradients",
    )
    parser.add_argument(
        "--dw",
        nargs=4,
        type=int,
        default=[0, 0, 0, 0],
        metavar=("O", "C", "P", "Q"),
        help="with --backward: the weight-gradient element to walk (default 0 0 0 0)",
    )
    parser.add_argument(
        "--dx",
        nargs=3,
        type=int,
        default=[0, 1, 2],
        metavar=("C", "U", "V"),
        help="with --backward: the input-gradient element to walk (default 0 1 2)",
    )
    parser.add_argument(
        "--db",
        type=int,
        default=0,
        metavar="O",
        help="with --backward: the bias-gradient element to walk (default 0)",
    )
    parser.add_argument(
        "--algorithm",
        default="fast",
        choices=torch.kernels.conv_algorithms(),
        help="the convolution kernels to run (default fast; see docs/conv_backprop.md)",
    )
    args = parser.parse_args(argv)
    for name, at, shape in (
        ("--element", args.element, (2, 3, 3)),
        ("--dw", args.dw, (2, 3, 3, 3)),
        ("--dx", args.dx, (3, 5, 5)),
        ("--db", [args.db], (2,)),
    ):
        if not all(0 <= a < n for a, n in zip(at, shape, strict=False)):
            parser.error(
                f"{name}: indices must lie in a shape {shape}, got {' '.join(map(str, at))}"
            )

    x = torch.tensor([X], dtype=torch.float32)  # (1, 3, 5, 5)
    conv = conv_layer()
    y = conv(x)
    print("nn.Conv2d(3, 2, kernel_size=3, padding=1, stride=2) on the (1, 3, 5, 5) input, float32:")
    print(y)

    with torch.no_grad():  # integers: no gradients, exact arithmetic, an int64 result
        y_int = F.conv2d(
            torch.tensor([X]), torch.tensor([W0, W1]), torch.tensor(BIAS), stride=2, padding=1
        )
    print("\nthe same in int64 under no_grad:")
    print(y_int, y_int.dtype)

    print()
    o, i, j = args.element
    by_hand = walk_one_element(
        torch.tensor([X]), torch.tensor([W0, W1]), torch.tensor(BIAS), o, i, j
    )
    print(f"conv2d gives y[{o}, {i}, {j}] = {int(y_int[0, o, i, j].item())}; by hand: {by_hand}")
    result = {"y": y.detach().numpy().copy(), "y_int": y_int.numpy().copy(), "by_hand": by_hand}
    if args.backward:
        result.update(backward(args))
    return result


if __name__ == "__main__":
    main()
