"""The worked numbers of docs/conv_backprop.md, computed by hand and checked by tinyconv.

The three-channel example (examples/three_channel.py): a (1, 3, 5, 5) input
through conv2d with two 3x3x3 kernels, stride 2, padding 1. This script works
one output element, one weight-gradient element and one input-gradient
element from the formulas, with plain Python loops over plain numbers, then
runs tinyconv on the same data and asserts the two agree. Its output is the
text between the `<!-- BEGIN GENERATED: ... -->` / `<!-- END GENERATED -->`
markers of the document, and the test suite checks the committed document
still contains exactly what this script prints today.

    python docs/conv_backprop_numbers.py            # print the generated sections
    python docs/conv_backprop_numbers.py --check    # exit 1 if the document is out of date
    python docs/conv_backprop_numbers.py --write    # rewrite those sections in the document
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(HERE, "conv_backprop.md")
sys.path.insert(0, ROOT)

import tinyconv as torch
from tinyconv.autograd import trace


def _example():
    spec = importlib.util.spec_from_file_location("three_channel", os.path.join(ROOT, "examples",
                                                                                "three_channel.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EX = _example()
X = EX.X                      # [c][h][w]: 3 channels of 5x5
W = [EX.W0, EX.W1]            # [o][c][p][q]: 2 kernels of 3x3x3
B = EX.BIAS                   # [o]
STRIDE, PAD, K = 2, 1, 3
C, H, WIDTH, O = 3, 5, 5, 2
OH = OW = (H + 2 * PAD - K) // STRIDE + 1  # 3
# The gradient arriving from above, dL/dy, as if L = sum(G * y): the numbers
# 1..18 in a shuffled order, so you can see which one went where.
G = [[[3, 11, 4], [13, 1, 5], [8, 6, 17]], [[14, 15, 12], [7, 10, 18], [9, 2, 16]]]

# The three elements worked by hand.
Y_AT = (1, 1, 2)        # y[o, i, j]
DW_AT = (0, 0, 0, 0)    # dL/dw[o, c, p, q]
DX_AT = (0, 1, 2)       # dL/dx[c, u, v]


def x_pad(c: int, r: int, s: int) -> int:
    """The padded input: x_pad[c, r, s] = x[c, r - PAD, s - PAD], 0 outside the image."""
    u, v = r - PAD, s - PAD
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


# ---------------------------------------------------------------------------------------
# The hand computations: each one the formula of the document, term by term.
# ---------------------------------------------------------------------------------------

def hand_output(o: int, i: int, j: int) -> tuple[int, list]:
    """y[o,i,j] = b[o] + sum_{c,p,q} x_pad[c, i*s + p, j*s + q] * w[o,c,p,q]."""
    per_channel = []
    for c in range(C):
        window = [[x_pad(c, i * STRIDE + p, j * STRIDE + q) for q in range(K)] for p in range(K)]
        terms = [(window[p][q], W[o][c][p][q]) for p in range(K) for q in range(K)]
        per_channel.append((c, window, terms, sum(a * b for a, b in terms)))
    return sum(s for *_, s in per_channel) + B[o], per_channel


def hand_weight_grad(o: int, c: int, p: int, q: int) -> tuple[int, list]:
    """dL/dw[o,c,p,q] = sum_{i,j} g[o,i,j] * x_pad[c, i*s + p, j*s + q]."""
    terms = [(i, j, G[o][i][j], x_pad(c, i * STRIDE + p, j * STRIDE + q))
             for i in range(OH) for j in range(OW)]
    return sum(g * x for *_, g, x in terms), terms


def hand_input_grad(c: int, u: int, v: int) -> tuple[int, list]:
    """dL/dx[c,u,v] = sum over (o, i, j, p, q) with i*s + p = u + pad, j*s + q = v + pad of g * w."""
    terms = []
    for o in range(O):
        for i in range(OH):
            for j in range(OW):
                p, q = u + PAD - i * STRIDE, v + PAD - j * STRIDE  # the tap that read x[c,u,v]
                if 0 <= p < K and 0 <= q < K:
                    terms.append((o, i, j, p, q, G[o][i][j], W[o][c][p][q]))
    return sum(g * w for *_, g, w in terms), terms


# The code the document walks through is kernels/conv.py's im2col path; tinyconv's
# default ("fast", kernels/conv_fast.py) takes its tiny-problem gathers on an input
# this small. The document's numbers come from the im2col run, and the script
# checks that the loops and the fast path give exactly the same ones.
DOC_ALGORITHM = "im2col"


def run_tinyconv(algorithm: str = DOC_ALGORITHM) -> dict:
    """The same numbers from tinyconv: the example's nn.Conv2d forward, then backward with dL/dy = G,
    with the convolution kernels of `algorithm` (see tinyconv.kernels.conv_algorithms()).

    float32, as in the example: every number here is a small integer, so float32 is exact.
    """
    with torch.kernels.conv_algorithm(algorithm):
        conv = EX.conv_layer()  # nn.Conv2d(3, 2, 3, padding=1, stride=2) with W and B
        x = torch.tensor([X], dtype=torch.float32, requires_grad=True)
        y = conv(x)
        with trace(names={"x": x, **dict(conv.named_parameters())}) as t:
            y.backward(torch.tensor([G], dtype=torch.float32))  # the same as (G * y).sum().backward()
    return {"y": y.detach().numpy()[0], "dw": conv.weight.grad.numpy(), "dx": x.grad.numpy()[0],
            "db": conv.bias.grad.numpy(), "trace": t}


def same_under_every_algorithm(tc: dict) -> list[str]:
    """The algorithms whose y, dL/dw, dL/dx and dL/db equal `tc`'s exactly (asserted: all of them)."""
    names = list(torch.kernels.conv_algorithms())
    for name in names:
        other = run_tinyconv(name)
        for key in ("y", "dw", "dx", "db"):
            assert (other[key] == tc[key]).all(), (name, key, other[key], tc[key])
    return names


# ---------------------------------------------------------------------------------------
# The generated sections of the document.
# ---------------------------------------------------------------------------------------

def section_setup() -> str:
    out = io.StringIO()
    out.write("```text\n")
    for c in range(C):
        out.write(f"x[{c}] = {grid(X[c], ' ' * 7)}\n")
    out.write("\n")
    for o in range(O):
        for c in range(C):
            out.write(f"w[{o}, {c}] = {grid(W[o][c], ' ' * 10)}\n")
    out.write(f"\nb = {B}    stride 2, padding 1  ->  y has shape (1, {O}, {OH}, {OW})\n\n")
    for o in range(O):
        out.write(f"g[{o}] = {grid(G[o], ' ' * 7)}\n")
    out.write("```\n")
    return out.getvalue()


def section_output(tc: dict) -> str:
    o, i, j = Y_AT
    total, per_channel = hand_output(o, i, j)
    r0, c0 = i * STRIDE - PAD, j * STRIDE - PAD
    out = io.StringIO()
    outside = [f"row {r}" for r in range(r0, r0 + K) if not 0 <= r < H]
    outside += [f"column {s}" for s in range(c0, c0 + K) if not 0 <= s < WIDTH]
    verb = "falls" if len(outside) == 1 else "fall"
    where = f", where {' and '.join(outside)} {verb} in the padding (zeros)" if outside else ""
    out.write(f"`y[{o}, {i}, {j}]` reads, in every channel, the window `x_pad[c, {i * STRIDE}:{i * STRIDE + K}, "
              f"{j * STRIDE}:{j * STRIDE + K}]`: rows {r0}..{r0 + K - 1} and columns {c0}..{c0 + K - 1} of "
              f"the image{where}.\n\n```text\n")
    for c, window, terms, s in per_channel:
        left, right = grid_rows(window), grid_rows(W[o][c])
        out.write(f"c = {c}   {'window'.ljust(len(left[0]))}     kernel w[{o}, {c}]\n")
        for a, b in zip(left, right):
            out.write(f"        {a}     {b}\n")
        out.write(f"        sum = {' + '.join(times(a, b) for a, b in terms)} = {num(s)}\n\n")
    sums = [s for *_, s in per_channel]
    out.write(f"y[{o}, {i}, {j}] = {' + '.join(num(s) if s >= 0 else f'({num(s)})' for s in sums)}"
              f" + b[{o}] = {num(sum(sums))} + {B[o]} = {num(total)}\n")
    got = tc["y"][o, i, j]
    out.write(f"tinyconv: conv(x)[0, {o}, {i}, {j}] = {num(got)}\n```\n")
    assert got == total, (got, total)
    return out.getvalue()


def section_weight_grad(tc: dict) -> str:
    o, c, p, q = DW_AT
    total, terms = hand_weight_grad(o, c, p, q)
    out = io.StringIO()
    at = f"x_pad[{c}, {STRIDE}i + {p}, {STRIDE}j + {q}]"
    out.write(f"`dL/dw[{o}, {c}, {p}, {q}]` pairs each `g[{o}, i, j]` with the pixel that tap "
              f"({p}, {q}) of kernel {o} saw in window (i, j) of channel {c}: `{at}`.\n\n")
    out.write("```text\n" + f"(i, j)   g[{o}, i, j]   {at}".ljust(55) + "product\n")
    for i, j, g, x in terms:
        u, v = i * STRIDE + p - PAD, j * STRIDE + q - PAD
        where = f"x[{c}, {u}, {v}]" if 0 <= u < H and 0 <= v < WIDTH else "padding"
        out.write(f"({i}, {j})   {num(g).rjust(10)}   {num(x).rjust(2)}  ({where})".ljust(55)
                  + f"{num(g * x).rjust(7)}\n")
    out.write(f"\ndL/dw[{o}, {c}, {p}, {q}] = {' + '.join(times(g, x) for *_, g, x in terms)} = {num(total)}\n")
    got = tc["dw"][o, c, p, q]
    out.write(f"tinyconv: conv.weight.grad[{o}, {c}, {p}, {q}] = {num(got)}\n```\n")
    assert got == total, (got, total)
    return out.getvalue()


def section_input_grad(tc: dict) -> str:
    c, u, v = DX_AT
    total, terms = hand_input_grad(c, u, v)
    out = io.StringIO()
    out.write(f"`x[{c}, {u}, {v}]` is `x_pad[{c}, {u + PAD}, {v + PAD}]`. A window (i, j) reads it through "
              f"tap (p, q) = ({u + PAD} - {STRIDE}i, {v + PAD} - {STRIDE}j) when that tap lies inside the 3x3 "
              f"kernel. Rows: i = 0 with p = 2, or i = 1 with p = 0 (two windows overlap there); "
              f"columns: only j = 1 with q = 1. For both output channels, that is {len(terms)} terms.\n\n")
    out.write("```text\no  (i, j)  (p, q)   g[o, i, j]   w[o, 0, p, q]   product\n")
    for o, i, j, p, q, g, w in terms:
        out.write(f"{o}  ({i}, {j})  ({p}, {q})   {num(g).rjust(10)}   {num(w).rjust(13)}   "
                  f"{num(g * w).rjust(7)}\n")
    out.write(f"\ndL/dx[{c}, {u}, {v}] = {' + '.join(times(g, w) for *_, g, w in terms)} = {num(total)}\n")
    got = tc["dx"][c, u, v]
    out.write(f"tinyconv: x.grad[0, {c}, {u}, {v}] = {num(got)}\n\n")
    centre = [W[o][c][1][1] for o in range(O)]
    out.write(f"the whole of x.grad[0, {c}]: odd rows (and columns) are read by two windows, even ones by "
              f"one;\na pixel at an even row and column is read only through the centre tap, and "
              f"w[0, {c}, 1, 1], w[1, {c}, 1, 1] = {', '.join(num(v) for v in centre)}\n")
    out.write(grid(tc["dx"][c].tolist(), "") + "\n```\n")
    assert got == total, (got, total)
    return out.getvalue()


def section_trace(tc: dict) -> str:
    db = [sum(G[o][i][j] for i in range(OH) for j in range(OW)) for o in range(O)]
    assert tc["db"].tolist() == db, (tc["db"], db)
    names = same_under_every_algorithm(tc)
    others = " and ".join(f'"{n}"' for n in names if n != DOC_ALGORITHM)
    return ("```text\n" + str(tc["trace"]) + "```\n\n"
            f"The bias gradient is the sum of each `g[o]`: {' and '.join(num(d) for d in db)}.\n"
            f'`algorithm = {DOC_ALGORITHM}` says which kernels ran. Every number on this page comes '
            f'from that run, and the script checks that {others} give exactly the same ones.\n')


def sections() -> dict[str, str]:
    """name -> the exact text that goes between that name's markers in the document."""
    tc = run_tinyconv()
    return {
        "setup": section_setup(),
        "output": section_output(tc),
        "weight-grad": section_weight_grad(tc),
        "input-grad": section_input_grad(tc),
        "trace": section_trace(tc),
    }


# ---------------------------------------------------------------------------------------
# The document's generated parts: read, compare, rewrite.
# ---------------------------------------------------------------------------------------

MARKER = re.compile(r"<!-- BEGIN GENERATED: ([\w-]+) -->\n(.*?)<!-- END GENERATED -->", re.DOTALL)


def doc_sections(text: str) -> dict[str, str]:
    """name -> text between the markers, as the document holds them now."""
    return {m.group(1): m.group(2) for m in MARKER.finditer(text)}


def rewrite(text: str, new: dict[str, str]) -> str:
    return MARKER.sub(lambda m: f"<!-- BEGIN GENERATED: {m.group(1)} -->\n{new[m.group(1)]}"
                                "<!-- END GENERATED -->", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the document is out of date")
    mode.add_argument("--write", action="store_true", help="rewrite the generated sections in place")
    args = parser.parse_args(argv)
    new = sections()
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
            print(f"{DOC}: generated sections out of date: {', '.join(stale)}; "
                  "run python docs/conv_backprop_numbers.py --write")
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
