"""A convolution you can click: one self-contained HTML page with real tinyconv numbers.

    python -m tinyconv.explain                       # the three-channel example of the docs
    python -m tinyconv.explain --example edge        # the edge kernel of examples/edge_kernel.py
    python -m tinyconv.explain --example random --in-channels 4 --out-channels 2 --groups 2 \\
        --size 6 6 --kernel-size 3 3 --stride 1 --padding 1 --dilation 2 --seed 3
    python -m tinyconv.explain --output conv.html --open

From Python, on a live layer: `tinyconv.viz.explain(conv, x, loss=..., path=...)`.

The page shows the input (with its zero padding drawn), the kernels, the bias, the
output, and for a loss the gradient dL/dy that arrives from above, dL/dx and dL/dw:

- click an output cell: its window lights up in every input channel it reads, with the
  products and their sum (the forward);
- click an input-gradient cell: every output cell whose window read that pixel lights up,
  with the kernel tap that read it (drawn in the kernel rotated 180 degrees, as the
  transposed convolution slides it) and the sum g * w that is dL/dx there;
- click a weight-gradient cell: the input pixels that tap read, one per window, and the
  gradients they met; their products sum to dL/dw (the correlation of x with dL/dy).

Every number comes from a real tinyconv forward and backward. The lists of products
behind each cell are computed here, in Python, with the index arithmetic of the loop
references in `kernels/conv.py` (window (i, j) reads x_pad[c, i*s + p*d, j*s + q*d]);
tests/test_explain.py checks that each list sums to tinyconv's own output and gradient.
The page embeds them as JSON; its JavaScript (explain.html, beside this file) only draws
and highlights, it computes nothing.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import json
import os
import sys
import webbrowser
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._dtype import float32
from ._errors import TensorValueError
from .autograd import grad as autograd_grad
from .creation import tensor as make_tensor
from .nn import Conv2d
from .nn.functional.conv import _conv_padding
from .tensor import Tensor

__all__ = ["explain", "page_data", "main"]

TEMPLATE = Path(__file__).with_name("explain.html")
REPO = Path(__file__).resolve().parent.parent  # examples/ lives here in a source checkout
MAX_PRODUCTS = 20000  # window products (O * OH * OW * C/groups * kh * kw) a page may show
MAX_SIDE = 40  # input height and width the grids can draw legibly

Loss = Callable[[Tensor], Tensor]


def sum_of_squares(y: Tensor) -> Tensor:
    """L = sum(y ** 2): dL/dy = 2y, so the gradient shows the output itself."""
    return (y * y).sum()


def _num(v: Any) -> float | int:
    """A number for the page: integers stay integers, floats keep 7 significant digits
    (float32's precision) so the JSON stays small and prints cleanly."""
    f = float(v)
    if f.is_integer() and abs(f) < 2**53:
        return int(f)
    return float(f"{f:.7g}")


def _nums(a: np.ndarray) -> Any:
    """A nested list of _num values, of a's shape."""
    if a.ndim == 0:
        return _num(a)
    return [_nums(s) for s in a]


def _losses(loss: Loss | dict[str, Loss] | None) -> list[tuple[str, Loss]]:
    if loss is None:
        return [("sum of squares, L = sum(y²)", sum_of_squares)]
    if callable(loss):
        return [(getattr(loss, "__name__", "loss").replace("_", " "), loss)]
    if isinstance(loss, dict) and loss and all(callable(f) for f in loss.values()):
        return list(loss.items())
    raise TypeError(
        "explain: loss must be a callable on the output Tensor, or a dict name -> callable, "
        f"got {type(loss).__name__}"
    )


def page_data(
    conv: Conv2d,
    x: Tensor,
    loss: Loss | dict[str, Loss] | None = None,
    title: str = "A convolution, forward and backward",
    note: str = "",
) -> dict:
    """Run conv on x, forward and backward for each loss, and list the products behind every
    output, input-gradient and weight-gradient cell (what the page embeds as JSON).

    conv: an nn.Conv2d with padding_mode 'zeros'; x: one image, (C, H, W) or (1, C, H, W);
    loss: a callable on the output Tensor returning a scalar (default sum of squares), or a
    dict name -> callable (the page then offers them in a menu).
    """
    if not isinstance(conv, Conv2d):
        raise TypeError(f"explain: conv must be an nn.Conv2d, got {type(conv).__name__}")
    if conv.padding_mode != "zeros":
        raise TensorValueError(
            f"explain: only padding_mode='zeros' is drawn, got padding_mode={conv.padding_mode!r}"
        )
    if not isinstance(x, Tensor):
        raise TypeError(f"explain: x must be a Tensor, got {type(x).__name__}")
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or x.shape[0] != 1:
        raise TensorValueError(
            f"explain: x must be one image, (C, H, W) or (1, C, H, W), got shape {tuple(x.shape)}"
        )
    losses = _losses(loss)
    O, Cg, kh, kw = conv.weight.shape
    C, H, W = x.shape[1:]
    groups = conv.groups
    (sh, sw), (dh, dw) = conv.stride, conv.dilation
    (pt, pb), (pl, pr) = _conv_padding(
        conv.padding, conv.kernel_size, conv.dilation, conv.stride, "explain"
    )
    if H > MAX_SIDE or W > MAX_SIDE:
        raise TensorValueError(
            f"explain: the input is {H}x{W}; the page draws at most {MAX_SIDE}x{MAX_SIDE}"
        )

    # The forward and backward: tinyconv's own, on a leaf copy of x (the caller's tensor and
    # the layer's .grad are left alone: autograd.grad does not accumulate).
    xl = x.detach().clone().requires_grad_(True)
    y = conv(xl)  # conv2d checks the configuration and says what is wrong
    OH, OW = y.shape[2:]
    products = O * OH * OW * Cg * kh * kw
    if products > MAX_PRODUCTS:
        raise TensorValueError(
            f"explain: this convolution has {products} window products, more than a page "
            f"shows ({MAX_PRODUCTS}); use a smaller input, kernel or fewer channels"
        )
    xn = xl.detach().numpy()[0].astype(np.float64)
    wn = conv.weight.detach().numpy().astype(np.float64)
    bn = None if conv.bias is None else conv.bias.detach().numpy().astype(np.float64)
    yn = y.detach().numpy()[0]
    O_g = O // groups

    def x_at(c: int, u: int, v: int) -> float:
        """x_pad[c, u + pt, v + pl], in unpadded coordinates: zero in the border."""
        return xn[c, u, v] if 0 <= u < H and 0 <= v < W else 0.0

    def reads(o: int, i: int, j: int):
        """The taps of window (i, j) for output channel o, as in the loop reference:
        (c, cg, p, q, u, v) with x_pad row i*sh + p*dh, i.e. input row u = i*sh + p*dh - pt."""
        c0 = (o // O_g) * Cg  # the first input channel o sees
        for cg in range(Cg):
            for p in range(kh):
                for q in range(kw):
                    yield c0 + cg, cg, p, q, i * sh + p * dh - pt, j * sw + q * dw - pl

    # Forward: y[o, i, j] = b[o] + sum of x_pad * w over the window; per-channel parts too.
    forward = [[[None] * OW for _ in range(OH)] for _ in range(O)]
    for o in range(O):
        for i in range(OH):
            for j in range(OW):
                terms, parts = [], [0.0] * Cg
                for c, cg, p, q, u, v in reads(o, i, j):
                    xv, wv = x_at(c, u, v), wn[o, cg, p, q]
                    terms.append([c, u, v, p, q, _num(xv), _num(wv)])
                    parts[cg] += xv * wv
                total = sum(parts) + (0.0 if bn is None else bn[o])
                forward[o][i][j] = {
                    "terms": terms,
                    "parts": [_num(s) for s in parts],
                    "sum": _num(total),
                }

    pages = []
    for name, fn in losses:
        y = conv(xl)
        L = fn(y)
        if not isinstance(L, Tensor) or L.numel() != 1:
            raise TensorValueError(
                f"explain: loss {name!r} must return a one-element Tensor, got "
                f"{type(L).__name__}{'' if not isinstance(L, Tensor) else tuple(L.shape)}"
            )
        params = [conv.weight] + ([] if conv.bias is None else [conv.bias])
        grads = autograd_grad(L, [y, xl, *params], allow_unused=True)
        gy, gx, gw = (
            np.zeros(t.shape) if g is None else g.numpy()
            for g, t in zip(grads[:3], [y, xl, conv.weight], strict=True)
        )
        gb = None if conv.bias is None else grads[3]
        g = gy[0].astype(np.float64)
        # dL/dx[c, u, v]: every window (o, i, j) whose tap (p, q) read x[c, u, v] adds g * w.
        dx_terms: list = [[[[] for _ in range(W)] for _ in range(H)] for _ in range(C)]
        # dL/dw[o, cg, p, q]: every window adds g[o, i, j] times the pixel that tap read.
        dw_terms: list = [
            [[[[] for _ in range(kw)] for _ in range(kh)] for _ in range(Cg)] for _ in range(O)
        ]
        for o in range(O):
            for i in range(OH):
                for j in range(OW):
                    gv = g[o, i, j]
                    for c, cg, p, q, u, v in reads(o, i, j):
                        if 0 <= u < H and 0 <= v < W:  # a border tap has no x to send to
                            dx_terms[c][u][v].append(
                                [o, i, j, p, q, _num(gv), _num(wn[o, cg, p, q])]
                            )
                        dw_terms[o][cg][p][q].append([i, j, u, v, _num(x_at(c, u, v)), _num(gv)])
        pages.append(
            {
                "name": name,
                "loss": _num(L.detach().numpy()),
                "g": _nums(g),
                "dx": _nums(gx[0]),
                "dw": _nums(gw),
                "db": None if gb is None else _nums(gb.numpy()),
                "dx_terms": [
                    [
                        [{"terms": t, "sum": _num(sum(a[5] * a[6] for a in t))} for t in row]
                        for row in plane
                    ]
                    for plane in dx_terms
                ],
                "dw_terms": [
                    [
                        [
                            [{"terms": t, "sum": _num(sum(a[4] * a[5] for a in t))} for t in row]
                            for row in k
                        ]
                        for k in kernel
                    ]
                    for kernel in dw_terms
                ],
                "db_sum": [_num(g[o].sum()) for o in range(O)],
            }
        )

    def size_text(n: int, p0: int, p1: int, d: int, k: int, s: int, out: int) -> str:
        return f"⌊({n} + {p0} + {p1} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = {out}"

    return {
        "title": title,
        "note": note,
        "C": C,
        "H": H,
        "W": W,
        "O": O,
        "Cg": Cg,
        "kh": kh,
        "kw": kw,
        "OH": OH,
        "OW": OW,
        "groups": groups,
        "stride": [sh, sw],
        "padding": [[pt, pb], [pl, pr]],
        "dilation": [dh, dw],
        "size_text": [
            "OH = " + size_text(H, pt, pb, dh, kh, sh, OH),
            "OW = " + size_text(W, pl, pr, dw, kw, sw, OW),
        ],
        "x": _nums(xn),
        "w": _nums(wn),
        "b": None if bn is None else _nums(bn),
        "y": _nums(yn),
        "forward": forward,
        "losses": pages,
    }


def render(data: dict) -> str:
    """The page: explain.html with the data embedded as JSON (and the title escaped)."""
    # "<" is escaped so no string in the data can close the <script> element early.
    blob = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    text = TEMPLATE.read_text(encoding="utf-8")
    return text.replace("__TITLE__", html.escape(data["title"])).replace("__DATA__", blob)


def explain(
    conv: Conv2d,
    x: Tensor,
    loss: Loss | dict[str, Loss] | None = None,
    path: str | os.PathLike | None = None,
    title: str = "A convolution, forward and backward",
) -> str:
    """Write the explorer page for `conv` on the image `x` and return its path.

    conv: an nn.Conv2d (any stride, padding, dilation, groups; padding_mode 'zeros');
    x: (C, H, W) or (1, C, H, W); loss: a callable on the output Tensor (default: sum of
    squares) or a dict name -> callable; path: where to write (default conv_explain.html).
    """
    path = os.fspath(path if path is not None else "conv_explain.html")
    page = render(page_data(conv, x, loss, title=title))
    Path(path).write_text(page, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# The command line: the docs' examples (their numbers loaded from examples/), or a random one
# ------------------------------------------------------------------------------------------


def _load_example(name: str):
    """examples/<name>.py of the source checkout, as a module: its data is the example's own."""
    path = REPO / "examples" / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(
            f"explain: the example's numbers live in the repository's examples/{name}.py, "
            f"not found at {path} (tinyconv installed without its source tree?); "
            "use --example random"
        )
    spec = importlib.util.spec_from_file_location(f"_tinyconv_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pair_arg(values: Sequence[int] | None, name: str, default: int, low: int) -> tuple:
    if values is None:
        return (default, default)
    if len(values) not in (1, 2):
        raise TensorValueError(f"{name} takes one or two integers, got {len(values)}")
    if any(v < low for v in values):
        raise TensorValueError(f"{name} must be at least {low}, got {' '.join(map(str, values))}")
    return (values[0], values[0]) if len(values) == 1 else tuple(values)


def build(args: argparse.Namespace) -> tuple[Conv2d, Tensor, dict, str, str]:
    """The layer, the image, the losses, a title and a note for the chosen example."""
    shape_given = [
        opt
        for opt, v in (
            ("--in-channels", args.in_channels),
            ("--out-channels", args.out_channels),
            ("--size", args.size),
            ("--kernel-size", args.kernel_size),
            ("--groups", args.groups),
        )
        if v is not None
    ]
    if shape_given and args.example != "random":
        raise TensorValueError(
            f"{', '.join(shape_given)} set the shapes of --example random; "
            f"the {args.example} example has its own"
        )
    defaults = {"three": (2, 1, 1), "edge": (1, 0, 1), "random": (1, 1, 1)}[args.example]
    stride = _pair_arg(args.stride, "--stride", defaults[0], 1)
    padding = _pair_arg(args.padding, "--padding", defaults[1], 0)
    dilation = _pair_arg(args.dilation, "--dilation", defaults[2], 1)
    squares = ("sum of squares, L = sum(y²)", sum_of_squares)
    plain_sum = ("sum, L = sum(y): dL/dy = 1 everywhere", lambda y: y.sum())
    if args.example == "three":
        ex = _load_example("three_channel")
        x = make_tensor([ex.X], dtype=float32)
        weight, bias = [ex.W0, ex.W1], ex.BIAS
        g = make_tensor([ex.G], dtype=float32)
        doc = ("L = sum(G · y), G of docs/conv_backprop.md", lambda y: (y * g).sum())
        losses = [squares, doc, plain_sum]
        title = "The three-channel example: (1, 3, 5, 5) input, two 3x3x3 kernels"
        note = (
            "The numbers of examples/three_channel.py. Choose the loss L = sum(G · y) to find "
            "docs/conv_backprop.md's worked elements: y[1, 1, 2] = 4, "
            "dL/dw[0, 0, 0, 0] = 24, dL/dx[0, 1, 2] = 21."
        )
    elif args.example == "edge":
        ex = _load_example("edge_kernel")
        x = ex.edge_image().reshape(1, 1, 6, 8)
        weight, bias = [[ex.EDGE_KERNEL]], [0.0]
        losses = [squares, plain_sum]
        title = "The edge kernel [[-1, 1]] on a dark band"
        note = (
            "examples/edge_kernel.py: the kernel [[-1, 1]] turns a 6x8 image with a dark "
            "vertical band into its edge map (-1 where light turns dark, +1 back)."
        )
    else:
        C, O = args.in_channels or 2, args.out_channels or 2
        H, W = _pair_arg(args.size, "--size", 5, 1)
        kh, kw = _pair_arg(args.kernel_size, "--kernel-size", 3, 1)
        groups = args.groups or 1
        if C % groups or O % groups:
            raise TensorValueError(
                f"--groups {groups} must divide --in-channels {C} and --out-channels {O}"
            )
        rng = np.random.default_rng(args.seed)
        # small integers: every product and sum on the page can be checked by heart
        x = make_tensor(rng.integers(-2, 3, size=(1, C, H, W)), dtype=float32)
        weight = rng.integers(-1, 2, size=(O, C // groups, kh, kw)).tolist()
        bias = rng.integers(-1, 2, size=O).tolist()
        losses = [squares, plain_sum]
        title = f"A random convolution (seed {args.seed})"
        note = "Small random integers, so every product and sum can be checked by heart."
    O, Cg, kh, kw = np.shape(weight)
    C = x.shape[1]
    conv = Conv2d(C, O, (kh, kw), stride, padding, dilation, groups=C // Cg)
    conv.weight.data = make_tensor(weight, dtype=float32)
    conv.bias.data = make_tensor(bias, dtype=float32)
    by_key = {"squares": 0, "doc": 1, "sum": len(losses) - 1}
    if args.loss == "doc" and args.example != "three":
        raise TensorValueError(
            "--loss doc is the loss of the three-channel example (--example three)"
        )
    first = by_key[args.loss]
    ordered = [losses[first]] + [lo for k, lo in enumerate(losses) if k != first]
    return conv, x, dict(ordered), title, note


def main(argv: Sequence[str] | None = None) -> str:
    """`python -m tinyconv.explain`: write the page, print its path, return it."""
    parser = argparse.ArgumentParser(
        prog="python -m tinyconv.explain",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--example",
        choices=["three", "edge", "random"],
        default="three",
        help="three: the three-channel example of docs/conv_backprop.md (default); edge: "
        "the edge kernel of examples/edge_kernel.py; random: small random integers",
    )
    parser.add_argument(
        "--loss",
        choices=["squares", "doc", "sum"],
        default="squares",
        help="the loss shown first (the page has a menu): squares = sum(y²) (default), "
        "doc = sum(G·y) of docs/conv_backprop.md (three only), sum = sum(y)",
    )
    two = {"nargs": "+", "type": int, "metavar": "N"}
    parser.add_argument("--stride", help="one or two integers (example's default)", **two)
    parser.add_argument("--padding", help="one or two integers (example's default)", **two)
    parser.add_argument("--dilation", help="one or two integers (default 1)", **two)
    parser.add_argument("--in-channels", type=int, help="random: input channels (default 2)")
    parser.add_argument("--out-channels", type=int, help="random: output channels (default 2)")
    parser.add_argument("--size", help="random: input height and width (default 5)", **two)
    parser.add_argument("--kernel-size", help="random: kernel height and width (default 3)", **two)
    parser.add_argument("--groups", type=int, help="random: groups (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random: the seed (default 0)")
    parser.add_argument(
        "--output", default="conv_explain.html", help="the page to write (default %(default)s)"
    )
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    args = parser.parse_args(argv)
    for opt in ("in_channels", "out_channels", "groups"):
        value = getattr(args, opt)
        if value is not None and value < 1:
            parser.error(f"--{opt.replace('_', '-')} must be at least 1, got {value}")
    try:
        conv, x, losses, title, note = build(args)
        path = os.fspath(Path(args.output).resolve())
        Path(path).write_text(render(page_data(conv, x, losses, title, note)), encoding="utf-8")
    except (ValueError, FileNotFoundError) as e:
        parser.error(str(e))
    print(f"wrote {path}")
    if args.open:
        webbrowser.open(Path(path).as_uri())
    return path


if __name__ == "__main__":
    main(sys.argv[1:])
