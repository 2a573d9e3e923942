"""The worked numbers of docs/conv_backprop.md, computed by hand and checked by tinyconv.

The three-channel example (examples/three_channel.py): a (1, 3, 5, 5) input
through conv2d with two 3x3x3 kernels, stride 2, padding 1. This script works
one output element, one weight-gradient element and one input-gradient
element from the formulas, with plain Python loops over plain numbers, then
runs tinyconv on the same data and asserts the two agree. Every sentence it
prints is computed from the indices and the configuration, so any element
(and any stride, padding or dilation) can be worked. With the defaults, its
output is the text between the `<!-- BEGIN GENERATED: ... -->` /
`<!-- END GENERATED -->` markers of the document, and the test suite checks the
committed document still contains exactly what this script prints today.

    python docs/conv_backprop_numbers.py                   # print the generated sections
    python docs/conv_backprop_numbers.py --dx 0 2 2        # work dL/dx[0, 2, 2] instead
    python docs/conv_backprop_numbers.py --y 0 2 1 --dw 1 2 0 1 --stride 1 --dilation 2
    python docs/conv_backprop_numbers.py --check    # exit 1 if the document is out of date
    python docs/conv_backprop_numbers.py --write    # rewrite those sections in the document
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import random
import re
import sys
from dataclasses import dataclass, field

import tinyconv as torch
from tinyconv import nn
from tinyconv.autograd import trace
from tinyconv.autograd.trace import call_tree

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(HERE, "conv_backprop.md")


def _example():
    """examples/three_channel.py, loaded from its file: the data below is the example's own."""
    spec = importlib.util.spec_from_file_location(
        "three_channel", os.path.join(ROOT, "examples", "three_channel.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EX = _example()
X = EX.X  # [c][h][w]: 3 channels of 5x5
W = [EX.W0, EX.W1]  # [o][c][p][q]: 2 kernels of 3x3x3
B = EX.BIAS  # [o]
C, H, WIDTH, O, K = 3, 5, 5, 2, 3
# The gradient arriving from above, dL/dy, as if L = sum(g * y): the example's G, the numbers
# 1..18 in a shuffled order, so you can see which one went where (other shapes: 1..n, shuffled).
G = EX.G

# The elements the document works by hand (change them with --y, --dw, --dx).
Y_AT = (1, 1, 2)  # y[o, i, j]
DW_AT = (0, 0, 0, 0)  # dL/dw[o, c, p, q]
DX_AT = (0, 1, 2)  # dL/dx[c, u, v]

WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


@dataclass
class Case:
    """The configuration (one stride, padding and dilation for both axes) and the worked
    elements."""

    stride: int = 2
    padding: int = 1
    dilation: int = 1
    y_at: tuple = Y_AT
    dw_at: tuple = DW_AT
    dx_at: tuple = DX_AT
    g: list = field(default=None)  # dL/dy (O, OH, OW); None: G, or 1..n shuffled for other shapes

    def __post_init__(self) -> None:
        self.oh = (H + 2 * self.padding - self.dilation * (K - 1) - 1) // self.stride + 1
        self.ow = (WIDTH + 2 * self.padding - self.dilation * (K - 1) - 1) // self.stride + 1
        if self.oh < 1 or self.ow < 1:
            raise ValueError(
                f"stride {self.stride}, padding {self.padding}, dilation {self.dilation}: "
                "the output of the 5x5 input would be empty"
            )
        if self.g is None:
            if (self.oh, self.ow) == (3, 3):
                self.g = G
            else:
                n = O * self.oh * self.ow
                values = list(range(1, n + 1))
                random.Random(0).shuffle(values)
                self.g = [
                    [
                        values[(o * self.oh + i) * self.ow : (o * self.oh + i + 1) * self.ow]
                        for i in range(self.oh)
                    ]
                    for o in range(O)
                ]
        for name, at, bounds in (
            ("--y", self.y_at, (O, self.oh, self.ow)),
            ("--dw", self.dw_at, (O, C, K, K)),
            ("--dx", self.dx_at, (C, H, WIDTH)),
        ):
            if len(at) != len(bounds) or not all(
                0 <= a < n for a, n in zip(at, bounds, strict=False)
            ):
                raise ValueError(f"{name}: indices must lie in a shape {bounds}, got {tuple(at)}")

    def x_pad(self, c: int, r: int, t: int) -> int:
        """The padded input: x_pad[c, u + P, v + P] = x[c, u, v], 0 outside the image."""
        u, v = r - self.padding, t - self.padding
        return X[c][u][v] if 0 <= u < H and 0 <= v < WIDTH else 0


def num(v: float) -> str:
    """Integers print as integers: every number in this example is one."""
    return str(int(v)) if float(v).is_integer() else f"{v:.6g}"


def times(a: float, b: float) -> str:
    return f"{num(a)}·{num(b)}" if b >= 0 else f"{num(a)}·({num(b)})"


def grid_rows(rows: list[list[float]]) -> list[str]:
    """A matrix as one "[a, b, c]" string per row, numbers right-aligned to a common width."""
    width = max(len(num(v)) for row in rows for v in row)
    return ["[" + ", ".join(num(v).rjust(width) for v in row) + "]" for row in rows]


def grid(rows: list[list[float]], indent: str) -> str:
    return ("\n" + indent).join(grid_rows(rows))


def listing(items: list) -> str:
    """[0, 2, 4] -> "0, 2 and 4"."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def linear(coef: int, var: str, const: int | None = None) -> str:
    """linear(2, "i", 1) -> "2i + 1"; a coefficient of 1 is left out."""
    term = var if coef == 1 else f"{coef}{var}"
    return term if const is None else f"{term} + {const}"


# ---------------------------------------------------------------------------------------
# Which window reads which pixel, along one axis: the whole of stride, padding and dilation.
# ---------------------------------------------------------------------------------------


def readers(pos: int, n_out: int, stride: int, dilation: int) -> list[tuple[int, int]]:
    """The (window, tap) pairs (i, p) that read padded position `pos`: i*stride + p*dilation =
    pos."""
    return [(i, p) for i in range(n_out) for p in range(K) if i * stride + p * dilation == pos]


def readers_prose(pairs: list[tuple[int, int]], window: str, tap: str) -> str:
    """`pairs` in words: "only i = 1 with p = 1", "i = 0 with p = 2, or i = 1 with p = 0 (...)"."""
    if not pairs:
        return "none (no window's tap lands there)"
    parts = [f"{window} = {i} with {tap} = {p}" for i, p in pairs]
    if len(parts) == 1:
        return "only " + parts[0]
    return ", or ".join(parts) + f" ({WORDS.get(len(parts), len(parts))} windows overlap there)"


# ---------------------------------------------------------------------------------------
# The hand computations: each one the formula of the document, term by term.
# ---------------------------------------------------------------------------------------


def hand_output(o: int, i: int, j: int, case: Case | None = None) -> tuple[int, list]:
    """y[o,i,j] = b[o] + sum_{c,p,q} x_pad[c, i*s + p*d, j*s + q*d] * w[o,c,p,q]."""
    k = case or Case()
    s, d = k.stride, k.dilation
    per_channel = []
    for c in range(C):
        window = [[k.x_pad(c, i * s + p * d, j * s + q * d) for q in range(K)] for p in range(K)]
        terms = [(window[p][q], W[o][c][p][q]) for p in range(K) for q in range(K)]
        per_channel.append((c, window, terms, sum(a * b for a, b in terms)))
    return sum(t for *_, t in per_channel) + B[o], per_channel


def hand_weight_grad(o: int, c: int, p: int, q: int, case: Case | None = None) -> tuple[int, list]:
    """dL/dw[o,c,p,q] = sum_{i,j} g[o,i,j] * x_pad[c, i*s + p*d, j*s + q*d]."""
    k = case or Case()
    s, d = k.stride, k.dilation
    terms = [
        (i, j, k.g[o][i][j], k.x_pad(c, i * s + p * d, j * s + q * d))
        for i in range(k.oh)
        for j in range(k.ow)
    ]
    return sum(g * x for *_, g, x in terms), terms


def hand_input_grad(c: int, u: int, v: int, case: Case | None = None) -> tuple[int, list]:
    """dL/dx[c,u,v] = sum over (o, i, j, p, q) with i*s + p*d = u + P, j*s + q*d = v + P of g *
    w."""
    k = case or Case()
    rows = readers(u + k.padding, k.oh, k.stride, k.dilation)
    cols = readers(v + k.padding, k.ow, k.stride, k.dilation)
    terms = [
        (o, i, j, p, q, k.g[o][i][j], W[o][c][p][q])
        for o in range(O)
        for i, p in rows
        for j, q in cols
    ]
    return sum(g * w for *_, g, w in terms), terms


# The code the document walks through is kernels/conv.py's im2col path; tinyconv's
# default ("fast", kernels/conv_fast.py) takes its tiny-problem gathers on an input
# this small. The document's numbers come from the im2col run, and the script
# checks that the loops and the fast path give exactly the same ones.
DOC_ALGORITHM = "im2col"


def run_tinyconv(algorithm: str = DOC_ALGORITHM, case: Case | None = None) -> dict:
    """The same numbers from tinyconv: nn.Conv2d with the example's weights, forward, then backward
    with dL/dy = g, with the convolution kernels of `algorithm` (see
    tinyconv.kernels.conv_algorithms()).

    float32, as in the example: every number here is a small integer, so float32 is exact.
    """
    k = case or Case()
    with torch.kernels.conv_algorithm(algorithm):
        conv = nn.Conv2d(C, O, K, stride=k.stride, padding=k.padding, dilation=k.dilation)
        conv.weight.data = torch.tensor(W, dtype=torch.float32)
        conv.bias.data = torch.tensor(B, dtype=torch.float32)
        x = torch.tensor([X], dtype=torch.float32, requires_grad=True)
        y = conv(x)
        with trace(names={"x": x, **dict(conv.named_parameters())}) as t:
            y.backward(
                torch.tensor([k.g], dtype=torch.float32)
            )  # the same as (g * y).sum().backward()
    return {
        "y": y.detach().numpy()[0],
        "dw": conv.weight.grad.numpy(),
        "dx": x.grad.numpy()[0],
        "db": conv.bias.grad.numpy(),
        "trace": t,
    }


def same_under_every_algorithm(tc: dict, case: Case | None = None) -> dict[str, dict]:
    """Every algorithm's run, asserting that its y, dL/dw, dL/dx and dL/db equal `tc`'s exactly."""
    runs = {}
    for name in torch.kernels.conv_algorithms():
        runs[name] = other = run_tinyconv(name, case)
        for key in ("y", "dw", "dx", "db"):
            assert (other[key] == tc[key]).all(), (name, key, other[key], tc[key])
    return runs


# ---------------------------------------------------------------------------------------
# The generated sections of the document.
# ---------------------------------------------------------------------------------------


def config_text(k: Case) -> str:
    text = f"stride {k.stride}, padding {k.padding}"
    return text + (f", dilation {k.dilation}" if k.dilation != 1 else "")


def section_setup(case: Case | None = None) -> str:
    k = case or Case()
    out = io.StringIO()
    out.write("```text\n")
    for c in range(C):
        out.write(f"x[{c}] = {grid(X[c], ' ' * 7)}\n")
    out.write("\n")
    for o in range(O):
        for c in range(C):
            out.write(f"w[{o}, {c}] = {grid(W[o][c], ' ' * 10)}\n")
    out.write(f"\nb = {B}    {config_text(k)}  ->  y has shape (1, {O}, {k.oh}, {k.ow})\n\n")
    for o in range(O):
        out.write(f"g[{o}] = {grid(k.g[o], ' ' * 7)}\n")
    out.write("```\n")
    return out.getvalue()


def section_output(tc: dict, case: Case | None = None) -> str:
    k = case or Case()
    s, d, pad = k.stride, k.dilation, k.padding
    o, i, j = k.y_at
    total, per_channel = hand_output(o, i, j, k)
    rows = [i * s + p * d - pad for p in range(K)]  # image rows (and columns) the window reads
    cols = [j * s + q * d - pad for q in range(K)]
    outside = [f"row {r}" for r in rows if not 0 <= r < H]
    outside += [f"column {t}" for t in cols if not 0 <= t < WIDTH]
    verb = "falls" if len(outside) == 1 else "fall"
    where = f", where {listing(outside)} {verb} in the padding (zeros)" if outside else ""
    step = f":{d}" if d != 1 else ""

    def span(a: list[int]) -> str:
        return f"{a[0]}..{a[-1]}" if d == 1 else listing(a)

    out = io.StringIO()
    out.write(
        f"`y[{o}, {i}, {j}]` reads, in every channel, the window `x_pad[c, "
        f"{i * s}:{i * s + d * (K - 1) + 1}{step}, {j * s}:{j * s + d * (K - 1) + 1}{step}]`: rows "
        f"{span(rows)} and columns {span(cols)} of the image{where}.\n\n```text\n"
    )
    for c, window, terms, t in per_channel:
        left, right = grid_rows(window), grid_rows(W[o][c])
        out.write(f"c = {c}   {'window'.ljust(len(left[0]))}     kernel w[{o}, {c}]\n")
        for a, b in zip(left, right, strict=False):
            out.write(f"        {a}     {b}\n")
        out.write(f"        sum = {' + '.join(times(a, b) for a, b in terms)} = {num(t)}\n\n")
    sums = [t for *_, t in per_channel]
    out.write(
        f"y[{o}, {i}, {j}] = {' + '.join(num(t) if t >= 0 else f'({num(t)})' for t in sums)}"
        f" + b[{o}] = {num(sum(sums))} + {B[o]} = {num(total)}\n"
    )
    got = tc["y"][o, i, j]
    out.write(f"tinyconv: conv(x)[0, {o}, {i}, {j}] = {num(got)}\n```\n")
    assert got == total, (got, total)
    return out.getvalue()


def section_weight_grad(tc: dict, case: Case | None = None) -> str:
    k = case or Case()
    s, d, pad = k.stride, k.dilation, k.padding
    o, c, p, q = k.dw_at
    total, terms = hand_weight_grad(o, c, p, q, k)
    out = io.StringIO()
    at = f"x_pad[{c}, {linear(s, 'i', p * d)}, {linear(s, 'j', q * d)}]"
    out.write(
        f"`dL/dw[{o}, {c}, {p}, {q}]` pairs each `g[{o}, i, j]` with the pixel that tap "
        f"({p}, {q}) of kernel {o} saw in window (i, j) of channel {c}: `{at}`.\n\n"
    )
    out.write("```text\n" + f"(i, j)   g[{o}, i, j]   {at}".ljust(55) + "product\n")
    for i, j, g, x in terms:
        u, v = i * s + p * d - pad, j * s + q * d - pad
        where = f"x[{c}, {u}, {v}]" if 0 <= u < H and 0 <= v < WIDTH else "padding"
        out.write(
            f"({i}, {j})   {num(g).rjust(10)}   {num(x).rjust(2)}  ({where})".ljust(55)
            + f"{num(g * x).rjust(7)}\n"
        )
    out.write(
        f"\ndL/dw[{o}, {c}, {p}, {q}] = {' + '.join(times(g, x) for *_, g, x in terms)} = "
        f"{num(total)}\n"
    )
    got = tc["dw"][o, c, p, q]
    out.write(f"tinyconv: conv.weight.grad[{o}, {c}, {p}, {q}] = {num(got)}\n```\n")
    assert got == total, (got, total)
    return out.getvalue()


def read_counts(n: int, n_out: int, k: Case) -> dict[int, list[int]]:
    """{how many windows read it: [image positions]} along one axis of length n."""
    counts: dict[int, list[int]] = {}
    for u in range(n):
        counts.setdefault(len(readers(u + k.padding, n_out, k.stride, k.dilation)), []).append(u)
    return counts


def counts_prose(counts: dict[int, list[int]], what: str) -> str:
    """{2: [1, 3], 1: [0, 2, 4]} -> "rows 1 and 3 are read by two windows, rows 0, 2 and 4 by
    one"."""
    parts = []
    for n in sorted(counts, reverse=True):
        many = len(counts[n]) > 1
        noun = f"{what}s" if many else what
        by = "none" if n == 0 else f"{WORDS.get(n, n)} window{'s' if n != 1 else ''}"
        verb = ("are" if many else "is") + " read by " if not parts else "by "
        parts.append(f"{noun} {listing(counts[n])} {verb}{by}")
    return ", ".join(parts)


def section_input_grad(tc: dict, case: Case | None = None) -> str:
    k = case or Case()
    s, d, pad = k.stride, k.dilation, k.padding
    c, u, v = k.dx_at
    U, V = u + pad, v + pad
    rows, cols = readers(U, k.oh, s, d), readers(V, k.ow, s, d)
    total, terms = hand_input_grad(c, u, v, k)
    if d == 1:
        how = (
            f"tap (p, q) = ({U} - {linear(s, 'i')}, {V} - {linear(s, 'j')}) when that tap lies "
            f"inside the {K}x{K} kernel"
        )
    else:
        how = (
            f"tap (p, q) when {linear(s, 'i')} + {linear(d, 'p')} = {U} and {linear(s, 'j')} + "
            f"{linear(d, 'q')} = {V}, with p and q inside the {K}x{K} kernel"
        )
    out = io.StringIO()
    out.write(
        f"`x[{c}, {u}, {v}]` is `x_pad[{c}, {U}, {V}]`. A window (i, j) reads it through {how}. "
        f"Rows: {readers_prose(rows, 'i', 'p')}; columns: {readers_prose(cols, 'j', 'q')}. "
        f"Over the {O} output channels, that is {O} × {len(rows)} × {len(cols)} = {len(terms)} "
        f"term{'s' if len(terms) != 1 else ''}.\n\n"
    )
    out.write(f"```text\no  (i, j)  (p, q)   g[o, i, j]   w[o, {c}, p, q]   product\n")
    for o, i, j, p, q, g, w in terms:
        out.write(
            f"{o}  ({i}, {j})  ({p}, {q})   {num(g).rjust(10)}   {num(w).rjust(13)}   "
            f"{num(g * w).rjust(7)}\n"
        )
    sum_text = " + ".join(times(g, w) for *_, g, w in terms) if terms else "(no terms)"
    out.write(f"\ndL/dx[{c}, {u}, {v}] = {sum_text} = {num(total)}\n")
    got = tc["dx"][c, u, v]
    out.write(f"tinyconv: x.grad[0, {c}, {u}, {v}] = {num(got)}\n\n")
    by_row, by_col = read_counts(H, k.oh, k), read_counts(WIDTH, k.ow, k)
    out.write(f"the whole of x.grad[0, {c}]: {counts_prose(by_row, 'row')}")
    if by_col == by_row:
        out.write(" (and the same for columns)")
    else:
        out.write(f"; {counts_prose(by_col, 'column')}")
    # the pixels read by one window along both axes: if they share one tap, name its weights
    once_r, once_c = by_row.get(1, []), by_col.get(1, [])
    taps = {
        (readers(r + pad, k.oh, s, d)[0][1], readers(t + pad, k.ow, s, d)[0][1])
        for r in once_r
        for t in once_c
    }
    if len(taps) == 1:
        ((p, q),) = taps
        weights = [W[o][c][p][q] for o in range(O)]
        out.write(
            f";\na pixel in rows {listing(once_r)} and columns {listing(once_c)} is read only "
            f"through tap ({p}, {q}), and {', '.join(f'w[{o}, {c}, {p}, {q}]' for o in range(O))} "
            f"= {', '.join(num(w) for w in weights)}"
        )
    out.write("\n" + grid(tc["dx"][c].tolist(), "") + "\n```\n")
    assert got == total, (got, total)
    return out.getvalue()


def section_trace(tc: dict, case: Case | None = None) -> str:
    k = case or Case()
    db = [sum(k.g[o][i][j] for i in range(k.oh) for j in range(k.ow)) for o in range(O)]
    assert tc["db"].tolist() == db, (tc["db"], db)
    runs = same_under_every_algorithm(tc, k)
    others = [n for n in runs if n != DOC_ALGORITHM]
    kernels = {n: call_tree(run["trace"].records[0].kernels) for n, run in runs.items()}
    width = max(len(n) for n in others)
    return (
        "```text\n" + str(tc["trace"]) + "```\n\n"
        f"The bias gradient is the sum of each `g[o]`: {listing([num(v) for v in db])}.\n"
        f"`algorithm = {DOC_ALGORITHM}` says which kernels ran, and `kernels:` the functions its "
        "backward called, nested as they called each other: those of the table in section 3. "
        f"Every number on this page comes from that run, and the script checks that "
        f"{' and '.join(f'{chr(34)}{n}{chr(34)}' for n in others)} give exactly the same ones, "
        "through these functions:\n\n```text\n"
        + "".join(f"{n.ljust(width)}  {kernels[n]}\n" for n in others)
        + "```\n"
    )


def sections(case: Case | None = None) -> dict[str, str]:
    """name -> the exact text that goes between that name's markers in the document."""
    k = case or Case()
    tc = run_tinyconv(case=k)
    return {
        "setup": section_setup(k),
        "output": section_output(tc, k),
        "weight-grad": section_weight_grad(tc, k),
        "input-grad": section_input_grad(tc, k),
        "trace": section_trace(tc, k),
    }


# ---------------------------------------------------------------------------------------
# The document's generated parts: read, compare, rewrite.
# ---------------------------------------------------------------------------------------

MARKER = re.compile(r"<!-- BEGIN GENERATED: ([\w-]+) -->\n(.*?)<!-- END GENERATED -->", re.DOTALL)


def doc_sections(text: str) -> dict[str, str]:
    """name -> text between the markers, as the document holds them now."""
    return {m.group(1): m.group(2) for m in MARKER.finditer(text)}


def rewrite(text: str, new: dict[str, str]) -> str:
    return MARKER.sub(
        lambda m: (
            f"<!-- BEGIN GENERATED: {m.group(1)} -->\n{new[m.group(1)]}<!-- END GENERATED -->"
        ),
        text,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the document is out of date")
    mode.add_argument(
        "--write", action="store_true", help="rewrite the generated sections in place"
    )
    parser.add_argument(
        "--y",
        nargs=3,
        type=int,
        default=list(Y_AT),
        metavar=("O", "I", "J"),
        help=f"the output element y[o, i, j] to work (default {' '.join(map(str, Y_AT))})",
    )
    parser.add_argument(
        "--dw",
        nargs=4,
        type=int,
        default=list(DW_AT),
        metavar=("O", "C", "P", "Q"),
        help=f"the weight-gradient element dL/dw[o, c, p, q] (default {' '.join(map(str, DW_AT))})",
    )
    parser.add_argument(
        "--dx",
        nargs=3,
        type=int,
        default=list(DX_AT),
        metavar=("C", "U", "V"),
        help=f"the input-gradient element dL/dx[c, u, v] (default {' '.join(map(str, DX_AT))})",
    )
    parser.add_argument("--stride", type=int, default=2, help="stride (default 2, the example's)")
    parser.add_argument("--padding", type=int, default=1, help="padding (default 1)")
    parser.add_argument("--dilation", type=int, default=1, help="dilation (default 1)")
    args = parser.parse_args(argv)
    try:
        case = Case(
            args.stride, args.padding, args.dilation, tuple(args.y), tuple(args.dw), tuple(args.dx)
        )
    except ValueError as e:
        parser.error(str(e))
    if (args.check or args.write) and case != Case():
        parser.error(
            "--check and --write compare with the document, which works the default elements "
            "and configuration; leave out --y/--dw/--dx/--stride/--padding/--dilation"
        )
    new = sections(case)
    if not (args.check or args.write):
        for name, text in new.items():
            print(f"<!-- BEGIN GENERATED: {name} -->\n{text}<!-- END GENERATED -->\n")
        return 0
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    old = doc_sections(text)
    if args.check:
        stale = sorted(n for n in new if old.get(n) != new[n]) + sorted(set(old) - set(new))
        if stale:
            print(
                f"{DOC}: generated sections out of date: {', '.join(stale)}; "
                "run python docs/conv_backprop_numbers.py --write"
            )
            return 1
        print(f"{DOC}: up to date")
        return 0
    missing = set(new) - set(old)
    if missing:
        raise SystemExit(f"{DOC} has no markers for: {', '.join(sorted(missing))}")
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(rewrite(text, new))
    print(f"rewrote {len(new)} sections of {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
