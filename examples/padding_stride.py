"""How padding and stride set a convolution's output shape, on an 8x8 input.

For each configuration it prints the formula
    out = floor((n + 2p - k) / s) + 1        (per dimension; dilation 1)
with the numbers filled in, beside the shape nn.Conv2d actually returns.

    python examples/padding_stride.py
"""

from __future__ import annotations

import argparse

import tinyconv as torch
from tinyconv import nn

CASES = [  # (description, kernel_size, padding, stride)
    ("3x3 kernel, padding 1", (3, 3), (1, 1), (1, 1)),
    ("5x3 kernel, padding (2, 1)", (5, 3), (2, 1), (1, 1)),
    ("3x3 kernel, padding 1, stride 2", (3, 3), (1, 1), (2, 2)),
    ("3x5 kernel, padding (0, 1), stride (3, 4)", (3, 5), (0, 1), (3, 4)),
]


def formula(n, k, p, s):
    out = (n + 2 * p - k) // s + 1
    return out, f"floor(({n} + 2*{p} - {k}) / {s}) + 1 = {out}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=8, help="input height and width (default 8)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    X = torch.rand(1, 1, args.size, args.size)
    shapes = []
    for desc, k, p, s in CASES:
        conv = nn.Conv2d(1, 1, kernel_size=k, padding=p, stride=s)
        shape = tuple(conv(X).shape[2:])
        (oh, fh), (ow, fw) = (
            formula(args.size, k[0], p[0], s[0]),
            formula(args.size, k[1], p[1], s[1]),
        )
        assert shape == (oh, ow), (shape, oh, ow)
        print(f"{desc:44s} -> {shape[0]}x{shape[1]}")
        print(f"    height: {fh}")
        print(f"    width:  {fw}")
        shapes.append(shape)
    return {"shapes": shapes}


if __name__ == "__main__":
    main()
