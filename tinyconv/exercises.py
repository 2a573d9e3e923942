"""Check your own convolution code: the exercises of docs/exercises/, against tinyconv.

    python -m tinyconv.exercises               # the list of exercises
    python -m tinyconv.exercises 1             # check docs/exercises/ex1_corr1d.py
    python -m tinyconv.exercises 3 mine.py     # check another file

Each exercise is a file with functions to fill in. The checker runs them on a few
small problems (integers, so every number prints exactly), compares each result
with tinyconv's reference kernels (tinyconv/kernels/conv.py, the loops and im2col
of the teaching kernel), and for the backward exercises also runs
`tinyconv.autograd.gradcheck` on your forward and backward together. On the first
difference it says which element is wrong, what it should be, and, when the
wrong numbers are those of a typical mistake (a kernel not flipped, a stride
ignored in the backward, a missing sum over the batch, ...), which one.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ._errors import TensorValueError
from .autograd import Function, gradcheck
from .autograd._gradcheck import GradcheckError
from .creation import tensor as make_tensor
from .kernels import conv as K

__all__ = ["EXERCISES", "Wrong", "check", "main"]


class Wrong(Exception):
    """The learner's code gave a wrong answer (the message says where and what it should be)."""


class Exercise(NamedTuple):
    number: int
    file: str  # under docs/exercises/
    title: str
    functions: tuple[str, ...]
    check: Callable[[Any], list[str]]  # module -> the lines of a passing report; raises Wrong


# -- comparing one result --------------------------------------------------------------


def _fmt(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.6g}"


def compare(
    what: str,
    got: Any,
    want: np.ndarray,
    setting: str,
    mistakes: dict[str, np.ndarray] | None = None,
    shape_hints: dict[tuple, str] | None = None,
) -> None:
    """Raise Wrong naming the first element of `got` that differs from `want`.

    mistakes: {"what the learner probably did": the result that mistake gives}; if `got`
    equals one of them, the message says so. shape_hints: {wrong shape: hint}.
    """
    if got is None:
        raise Wrong(f"{what} is None ({setting}): return an array of shape {want.shape}")
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise Wrong(f"{what} is not an array of numbers ({type(got).__name__}: {e})") from None
    if got.shape != want.shape:
        hint = (shape_hints or {}).get(got.shape)
        raise Wrong(
            f"{what} has shape {got.shape} but should have shape {want.shape} ({setting})"
            + (f"\n  hint: {hint}" if hint else "")
        )
    bad = ~np.isclose(got, want, rtol=1e-9, atol=1e-9)
    if not bad.any():
        return
    at = tuple(int(i) for i in np.argwhere(bad)[0])
    index = ", ".join(map(str, at))
    msg = (
        f"{what}[{index}] is {_fmt(got[at])} but should be {_fmt(want[at])} "
        f"({int(bad.sum())} of {bad.size} elements are wrong; {setting})"
    )
    for hint, result in (mistakes or {}).items():
        if result.shape == got.shape and np.allclose(got, result, rtol=1e-9, atol=1e-9):
            msg += f"\n  hint: {hint}"
            break
    raise Wrong(msg)


def _call(module: Any, name: str, *args: Any) -> Any:
    fn = getattr(module, name, None)
    if fn is None:
        raise Wrong(f"the file defines no function {name}()")
    try:
        return fn(*(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args))
    except NotImplementedError:
        raise Wrong(f"{name}() is not written yet (it raises NotImplementedError)") from None


def _gradcheck(
    forward: Callable, backward: Callable, arrays: list[np.ndarray], names: list[str], setting: str
) -> None:
    """tinyconv.autograd.gradcheck on the learner's forward/backward pair, at float64 inputs of
    the shapes of `arrays` (finite differences of the learner's forward against its backward)."""

    class Learner(Function):  # the learner's code as a graph node, arrays in and out
        array_mode = True

        @staticmethod
        def forward(ctx: Any, *xs: np.ndarray) -> np.ndarray:
            ctx.xs = [np.array(a, copy=True) for a in xs]
            return np.asarray(forward(*ctx.xs), dtype=np.float64)

        @staticmethod
        def backward(ctx: Any, g: np.ndarray) -> tuple:
            grads = backward(np.array(g, copy=True), *ctx.xs)
            return tuple(np.asarray(d, dtype=np.float64) for d in grads)

    # At non-integer values: the reference checks use integers, which hide a gradient
    # accumulated in an integer array (np.zeros(shape, dtype=int)) or rounded.
    rng = np.random.default_rng(0)
    inputs = [make_tensor(rng.standard_normal(a.shape), requires_grad=True) for a in arrays]
    try:
        gradcheck(lambda *t: Learner.apply(*t), tuple(inputs), atol=1e-6, rtol=1e-6)
    except GradcheckError as e:
        raise Wrong(
            f"gradcheck at random non-integer inputs: your backward is not the derivative of "
            f"your forward ({setting}; input "
            f"{', '.join(f'{i} is {n}' for i, n in enumerate(names))}):\n  {e}"
        ) from None


def _ints(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Small integers as float64: exact sums, numbers you can read."""
    return rng.integers(-3, 4, size=shape).astype(np.float64)


def _pairs(v: int) -> tuple[int, int]:
    return (v, v)


def _ref_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: int = 1, padding: int = 0
):
    return K.conv2d_reference(
        x, w, b, _pairs(stride), (_pairs(padding), _pairs(padding)), (1, 1), 1
    )


def _ref_backward(g: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0):
    return K.conv2d_backward_reference(
        g, x, w, _pairs(stride), (_pairs(padding), _pairs(padding)), (1, 1), 1
    )


# -- the typical mistakes, each computed from the reference -----------------------------


def _mistakes_backward(
    g: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0
) -> dict:
    """{"hint": (dx, dw, db) the mistake gives}: what a learner's backward typically gets wrong."""
    N, O = g.shape[:2]
    _, dw, db = _ref_backward(g, x, w, stride, padding)
    flipped = _ref_backward(g, x, w[:, :, ::-1, ::-1].copy(), stride, padding)[0]
    first = _ref_backward(g[:1], x[:1], w, stride, padding)
    out: dict[str, dict[str, np.ndarray]] = {"dx": {}, "dw": {}, "db": {}}
    out["dx"][
        "the kernel is not flipped: dL/dx[u] = sum_p g[u - p] * w[p] (a full correlation with the "
        "kernel rotated 180 degrees), not sum_p g[u + p] * w[p]"
    ] = flipped
    only_o0 = _ref_backward(g[:, :1], x, w[:1], stride, padding)[0]
    out["dx"][
        "dL/dx sums over every output channel o: x[n, c] fed all of them (you used only o = 0)"
    ] = only_o0
    out["dw"][
        "dL/dw is missing the sum over the batch: every image used the same w, so add the "
        "contributions of all N images (you used only image 0)"
    ] = first[1]
    out["dw"]["dL/dw sums over the batch; it does not average (you divided by N)"] = dw / N
    out["dw"][
        "dL/dw adds image 0's contribution N times: inside the loop over n, read x[n] and "
        "g[n], not x[0] and g[0]"
    ] = first[1] * N
    out["db"][
        "dL/db is missing the sum over the batch: add g[n, o, i, j] over n too (you used only "
        "image 0)"
    ] = first[2]
    out["db"]["dL/db sums over the batch and the positions; it does not average"] = db / (
        g.size / O
    )
    if stride != 1:
        # the loops written without the stride: window (i, j) read at (i + p, j + q)
        OH, OW = g.shape[2:]
        kh, kw = w.shape[2:]
        x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        crop = x_pad[:, :, : OH + kh - 1, : OW + kw - 1]
        dcrop, dw1, _ = _ref_backward(g, crop, w)
        dx_pad = np.zeros_like(x_pad)
        dx_pad[:, :, : OH + kh - 1, : OW + kw - 1] = dcrop
        H, W = x.shape[2:]
        hint = (
            "the stride is ignored in the backward: window (i, j) starts at (i*stride, j*stride), "
            "so it read x_pad[i*stride + p, j*stride + q], not x_pad[i + p, j + q]"
        )
        out["dx"][hint] = dx_pad[:, :, padding : padding + H, padding : padding + W]
        out["dw"][hint] = dw1
    return out


def _shape_hints_dx(x: np.ndarray, padding: int) -> dict:
    if not padding:
        return {}
    N, C, H, W = x.shape
    padded = (N, C, H + 2 * padding, W + 2 * padding)
    return {
        padded: "that is the shape of x_pad: crop the padding off (its pixels are constants, their "
        "gradient belongs to nothing)"
    }


# -- the exercises ------------------------------------------------------------------------


def _check_ex1(m: Any) -> list[str]:
    rng = np.random.default_rng(1)
    lines = []
    for H, k in [(5, 2), (7, 3), (4, 4), (6, 1)]:
        x, w, g = _ints(rng, H), _ints(rng, k), _ints(rng, H - k + 1)
        setting = f"x of length {H}, w of length {k}"
        want_y = K.corr2d(x[None], w[None])[0]
        compare(
            "corr1d(x, w)",
            _call(m, "corr1d", x, w),
            want_y,
            setting,
            {
                "the taps run backwards: y[i] = sum_p x[i + p] * w[p], not w[k - 1 - p] (that is a "
                "true convolution)": K.corr2d(x[None], w[None, ::-1])[0]
            },
        )
        dx, dw, _ = _ref_backward(g[None, None, None], x[None, None, None], w[None, None, None])
        got = _call(m, "corr1d_backward", g, x, w)
        if not isinstance(got, tuple) or len(got) != 2:
            raise Wrong("corr1d_backward() must return a pair (dx, dw)")
        flipped = np.convolve(g, w[::-1], mode="full")  # the full correlation with w not flipped
        compare(
            "dx",
            got[0],
            dx[0, 0, 0],
            setting,
            {
                "the kernel is not flipped: dL/dx[u] = sum_p g[u - p] * w[p], a full correlation "
                "with w reversed (a full convolution)": flipped
            },
        )
        compare(
            "dw",
            got[1],
            dw[0, 0, 0],
            setting,
            {"dw is reversed: dL/dw[p] = sum_i g[i] * x[i + p]": dw[0, 0, 0, ::-1]},
        )
        _gradcheck(m.corr1d, m.corr1d_backward, [x, w], ["x", "w"], setting)
        lines.append(f"ok: {setting}")
    return lines


_CONV_CASES = [  # (N, C, H, W, O, kh, kw)
    (1, 1, 4, 4, 1, 2, 2),
    (2, 3, 5, 4, 2, 3, 2),
    (3, 2, 4, 5, 3, 2, 3),
]


def _check_ex2(m: Any) -> list[str]:
    rng = np.random.default_rng(2)
    lines = []
    for N, C, H, W, O, kh, kw in _CONV_CASES:
        x, w, b = _ints(rng, N, C, H, W), _ints(rng, O, C, kh, kw), _ints(rng, O)
        setting = f"x {x.shape}, w {w.shape}"
        want = _ref_forward(x, w, b)
        compare(
            "y",
            _call(m, "conv2d", x, w, b),
            want,
            setting,
            {
                "the bias is missing: add b[o] to every y[n, o, i, j]": want
                - b[None, :, None, None],
                (
                    "the kernel is flipped: the forward is a correlation, x[i + p] * w[p] "
                    "(not w[kh - 1 - p])"
                ): _ref_forward(x, w[:, :, ::-1, ::-1].copy(), b),
                "y sums over every input channel c (you used only c = 0)": _ref_forward(
                    x[:, :1], w[:, :1], b
                ),
            },
        )
        lines.append(f"ok: {setting}")
    return lines


def _check_backward(m: Any, cases: list, with_options: bool) -> list[str]:
    rng = np.random.default_rng(3 + with_options)
    lines = []
    for N, C, H, W, O, kh, kw, s, pad in cases:
        x, w, b = _ints(rng, N, C, H, W), _ints(rng, O, C, kh, kw), _ints(rng, O)
        opts = (s, pad) if with_options else ()
        setting = f"x {x.shape}, w {w.shape}" + (
            f", stride {s}, padding {pad}" if with_options else ""
        )
        y = _ref_forward(x, w, b, s, pad)
        compare("y", _call(m, "conv2d", x, w, b, *opts), y, setting)
        g = _ints(rng, *y.shape)
        got = _call(m, "conv2d_backward", g, x, w, *opts)
        if not isinstance(got, tuple) or len(got) != 3:
            raise Wrong("conv2d_backward() must return a triple (dx, dw, db)")
        want = _ref_backward(g, x, w, s, pad)
        mistakes = _mistakes_backward(g, x, w, s, pad)
        compare("dx", got[0], want[0], setting, mistakes["dx"], _shape_hints_dx(x, pad))
        compare("dw", got[1], want[1], setting, mistakes["dw"])
        compare(
            "db",
            got[2],
            want[2],
            setting,
            mistakes["db"],
            {(N, O): "dL/db[o] sums over the batch too: every image used the same bias"},
        )

        def forward(
            x_: np.ndarray, w_: np.ndarray, b_: np.ndarray, opts: tuple = opts
        ) -> np.ndarray:
            return m.conv2d(x_, w_, b_, *opts)

        def backward(
            g_: np.ndarray, x_: np.ndarray, w_: np.ndarray, b_: np.ndarray, opts: tuple = opts
        ) -> tuple:
            return m.conv2d_backward(g_, x_, w_, *opts)

        if x.size <= 64:  # gradcheck builds the whole Jacobian: keep it to the small cases
            _gradcheck(forward, backward, [x, w, b], ["x", "w", "b"], setting)
        lines.append(f"ok: {setting}")
    return lines


def _check_ex3(m: Any) -> list[str]:
    return _check_backward(m, [c + (1, 0) for c in _CONV_CASES], False)


_STRIDED_CASES = [  # (N, C, H, W, O, kh, kw, stride, padding)
    (1, 1, 5, 5, 1, 3, 3, 2, 1),
    (2, 2, 6, 5, 3, 3, 2, 2, 0),
    (2, 3, 7, 7, 2, 2, 2, 3, 1),
    (1, 2, 4, 4, 2, 3, 3, 1, 2),
]


def _check_ex4(m: Any) -> list[str]:
    return _check_backward(m, _STRIDED_CASES, True)


def _check_ex5(m: Any) -> list[str]:
    rng = np.random.default_rng(5)
    lines = []
    for N, C, H, W, O, kh, kw, s, pad in _STRIDED_CASES:
        x, w, b = _ints(rng, N, C, H, W), _ints(rng, O, C, kh, kw), _ints(rng, O)
        setting = f"x_pad {(N, C, H + 2 * pad, W + 2 * pad)}, kernel {kh}x{kw}, stride {s}"
        x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        OH, OW = (H + 2 * pad - kh) // s + 1, (W + 2 * pad - kw) // s + 1
        args = ((kh, kw), (OH, OW), (s, s), (1, 1))
        want = K.im2col(x_pad, *args)
        win = K.im2col(x_pad, *args).reshape(N, C, kh, kw, OH * OW)
        compare(
            "cols",
            _call(m, "im2col", x_pad, kh, kw, s),
            want,
            setting,
            {
                (
                    "the rows are in (p, q, c) order; im2col's rows run over (c, p, q), c slowest"
                ): win.transpose(0, 2, 3, 1, 4).reshape(N, C * kh * kw, OH * OW),
                "the stride is ignored: window (i, j) starts at (i*stride, j*stride)": K.im2col(
                    x_pad[:, :, : OH + kh - 1, : OW + kw - 1], (kh, kw), (OH, OW), (1, 1), (1, 1)
                ),
            },
            {
                (
                    N,
                    C * kh * kw,
                    (H + 2 * pad - kh + 1) * (W + 2 * pad - kw + 1),
                ): "that many columns is every stride-1 window: keep every stride-th one"
            },
        )
        dcols = _ints(rng, N, C * kh * kw, OH * OW)
        want = K.col2im(dcols, x_pad.shape, *args)
        assigned = np.zeros(x_pad.shape)  # a col2im that assigns: overlapping windows overwrite
        d6 = dcols.reshape(N, C, kh, kw, OH, OW)
        for p in range(kh):
            for q in range(kw):
                assigned[:, :, p : p + s * (OH - 1) + 1 : s, q : q + s * (OW - 1) + 1 : s] = d6[
                    :, :, p, q
                ]
        mistakes = {}
        if not np.array_equal(assigned, want):
            mistakes[
                "where windows overlap, their entries must add up (+=); an assignment keeps only "
                "the last one"
            ] = assigned
        compare(
            "col2im(dcols)",
            _call(m, "col2im", dcols, x_pad.shape, kh, kw, s),
            want,
            setting,
            mistakes,
        )
        y = _ref_forward(x, w, b, s, pad)
        compare(
            "y",
            _call(m, "conv2d", x, w, b, s, pad),
            y,
            f"x {x.shape}, w {w.shape}, stride {s}, padding {pad}",
            {"the bias is missing": y - b[None, :, None, None]},
        )
        lines.append(f"ok: {setting}")
    return lines


EXERCISES: dict[int, Exercise] = {
    e.number: e
    for e in (
        Exercise(
            1,
            "ex1_corr1d.py",
            "1-D correlation and its backward",
            ("corr1d", "corr1d_backward"),
            _check_ex1,
        ),
        Exercise(2, "ex2_conv2d_loops.py", "conv2d forward as loops", ("conv2d",), _check_ex2),
        Exercise(
            3,
            "ex3_conv2d_backward.py",
            "conv2d backward: input, weight and bias",
            ("conv2d", "conv2d_backward"),
            _check_ex3,
        ),
        Exercise(
            4,
            "ex4_stride_padding.py",
            "stride and padding, forward and backward",
            ("conv2d", "conv2d_backward"),
            _check_ex4,
        ),
        Exercise(
            5,
            "ex5_im2col.py",
            "im2col, col2im and the convolution as one matrix product",
            ("im2col", "col2im", "conv2d"),
            _check_ex5,
        ),
    )
}


def load(path: str) -> Any:
    """Import the learner's file as a module."""
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"exercises: no file {path!r} (run from the repository root, or pass the path)"
        )
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(number: int, path: str | None = None) -> tuple[bool, str]:
    """Check exercise `number` in `path` (default docs/exercises/<its file>): (passed, report)."""
    if number not in EXERCISES:
        raise TensorValueError(
            f"exercises: number must be one of {sorted(EXERCISES)}, got {number}"
        )
    ex = EXERCISES[number]
    path = path or os.path.join("docs", "exercises", ex.file)
    head = f"exercise {number}: {ex.title} ({path})"
    try:
        lines = ex.check(load(path))
    except Wrong as e:
        return False, f"{head}\nnot yet: {e}\n"
    return True, head + "\n" + "\n".join(lines) + f"\npassed: all {len(lines)} checks\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tinyconv.exercises", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("number", type=int, nargs="?", help="which exercise (omit for the list)")
    parser.add_argument(
        "path", nargs="?", help="the file to check (default docs/exercises/exN_*.py)"
    )
    args = parser.parse_args(argv)
    if args.number is None:
        for ex in EXERCISES.values():
            print(f"{ex.number}  {ex.title:<58} docs/exercises/{ex.file}")
        print("\ncheck one with: python -m tinyconv.exercises N [path]")
        return 0
    if args.number not in EXERCISES:
        parser.error(f"number must be one of {sorted(EXERCISES)}, got {args.number}")
    try:
        ok, report = check(args.number, args.path)
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 2
    print(report, end="")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
