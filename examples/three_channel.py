"""A three-channel input, two 3x3x3 kernels, stride 2, padding 1: a 2-channel 3x3 feature map.

The numbers are the classic hand-worked example: every output element is a
sum over the 3 input channels of a 3x3 window times a 3x3 kernel slice, plus
the bias. The script computes it with nn.Conv2d (float32, with autograd), then
in integers under no_grad, and then walks one output element by hand.

    python examples/three_channel.py
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn

X = [  # (3, 5, 5): three channels of a 5x5 image
    [[0, 1, 1, 0, 2], [0, 2, 2, 1, 1], [0, 2, 1, 1, 2], [1, 0, 2, 1, 2], [0, 1, 1, 1, 1]],
    [[2, 2, 1, 0, 0], [2, 1, 0, 0, 1], [2, 2, 1, 2, 2], [1, 2, 0, 1, 2], [1, 2, 0, 2, 1]],
    [[0, 0, 1, 0, 2], [1, 1, 1, 1, 1], [2, 0, 2, 1, 1], [1, 1, 1, 0, 0], [0, 0, 0, 1, 0]],
]
W0 = [[[-1, 0, 1], [-1, 0, 1], [0, 1, 0]], [[1, -1, 1], [1, 1, 0], [-1, 0, -1]], [[0, 1, 0], [-1, 0, 1], [-1, 0, 0]]]
W1 = [[[-1, 1, 0], [1, 0, -1], [-1, 0, 1]], [[0, 0, 1], [0, 1, 1], [1, 1, -1]], [[0, 1, 0], [-1, -1, 1], [1, -1, -1]]]
BIAS = [1, 0]
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
    print(f"y[{out_channel}, {i}, {j}]: the 3x3 window at rows {r - padding}..{r - padding + 2}, "
          f"cols {c - padding}..{c - padding + 2} of each channel (zero outside the image):")
    for ch in range(x.shape[1]):
        window = xp[0, ch, r:r + 3, c:c + 3]
        kernel = w[out_channel, ch]
        part = int((window * kernel).sum().item())
        total += part
        print(f"  channel {ch}: window {window.tolist()}")
        print(f"             kernel {kernel.tolist()}")
        print(f"             sum of products = {part}")
    bias = int(b[out_channel].item())
    print(f"  plus bias {bias}: {total} + {bias} = {total + bias}")
    return total + bias


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--element", nargs=3, type=int, default=[0, 0, 0], metavar=("O", "I", "J"),
                        help="which output element to walk by hand (default 0 0 0)")
    args = parser.parse_args(argv)

    x = torch.tensor([X], dtype=torch.float32)  # (1, 3, 5, 5)
    conv = conv_layer()
    y = conv(x)
    print("nn.Conv2d(3, 2, kernel_size=3, padding=1, stride=2) on the (1, 3, 5, 5) input, float32:")
    print(y)

    with torch.no_grad():  # integers: no gradients, exact arithmetic, an int64 result
        y_int = F.conv2d(torch.tensor([X]), torch.tensor([W0, W1]), torch.tensor(BIAS), stride=2, padding=1)
    print("\nthe same in int64 under no_grad:")
    print(y_int, y_int.dtype)

    print()
    o, i, j = args.element
    by_hand = walk_one_element(torch.tensor([X]), torch.tensor([W0, W1]), torch.tensor(BIAS), o, i, j)
    print(f"conv2d gives y[{o}, {i}, {j}] = {int(y_int[0, o, i, j].item())}; by hand: {by_hand}")
    return {"y": y.detach().numpy().copy(), "y_int": y_int.numpy().copy(), "by_hand": by_hand}


if __name__ == "__main__":
    main()
