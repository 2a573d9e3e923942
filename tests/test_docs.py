"""docs/conv_backprop.md cannot drift: its numbers come from a script, its code names exist."""
from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
DOC = os.path.join(DOCS, "conv_backprop.md")


@pytest.fixture(scope="module")
def numbers():
    spec = importlib.util.spec_from_file_location("conv_backprop_numbers",
                                                  os.path.join(DOCS, "conv_backprop_numbers.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def doc_text():
    with open(DOC, encoding="utf-8") as f:
        return f.read()


def test_committed_doc_holds_exactly_what_the_script_prints_now(numbers, doc_text):
    generated = numbers.sections()
    in_doc = numbers.doc_sections(doc_text)
    assert set(in_doc) == set(generated) == {"setup", "output", "weight-grad", "input-grad", "trace"}
    for name, text in generated.items():
        assert in_doc[name] == text, (
            f"docs/conv_backprop.md section {name!r} is out of date; "
            "run python docs/conv_backprop_numbers.py --write")


def test_script_check_mode_passes_and_catches_a_stale_doc(numbers, doc_text, tmp_path, monkeypatch, capsys):
    res = subprocess.run([sys.executable, os.path.join(DOCS, "conv_backprop_numbers.py"), "--check"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "up to date" in res.stdout

    stale = tmp_path / "conv_backprop.md"
    stale.write_text(doc_text.replace("= 24\n", "= 25\n"), encoding="utf-8")
    monkeypatch.setattr(numbers, "DOC", str(stale))
    assert numbers.main(["--check"]) == 1
    assert "weight-grad" in capsys.readouterr().out
    assert numbers.main(["--write"]) == 0
    assert stale.read_text(encoding="utf-8") == doc_text
    assert numbers.main(["--check"]) == 0


def test_worked_elements_match_an_independent_computation(numbers):
    """The three numbers, from the definitions in NumPy (no tinyconv, no script loops)."""
    x = np.array(numbers.X, dtype=np.float64)
    w = np.array(numbers.W, dtype=np.float64)
    b = np.array(numbers.B, dtype=np.float64)
    g = np.array(numbers.G, dtype=np.float64)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    # windows[c, i, j, p, q] = x_pad[c, 2i + p, 2j + q]
    windows = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))[:, ::2, ::2]
    y = np.einsum("cijpq,ocpq->oij", windows, w) + b[:, None, None]
    dw = np.einsum("oij,cijpq->ocpq", g, windows)
    # dL/dx by the adjoint: spread g * w back onto every window's pixels
    dxp = np.zeros_like(xp)
    for i in range(3):
        for j in range(3):
            dxp[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3] += np.einsum("o,ocpq->cpq", g[:, i, j], w)
    dx = dxp[:, 1:-1, 1:-1]

    assert y[numbers.Y_AT] == numbers.hand_output(*numbers.Y_AT)[0] == 4
    assert dw[numbers.DW_AT] == numbers.hand_weight_grad(*numbers.DW_AT)[0] == 24
    assert dx[numbers.DX_AT] == numbers.hand_input_grad(*numbers.DX_AT)[0] == 21
    np.testing.assert_array_equal(y, np.array(numbers.EX.EXPECTED))  # the example's own answer

    tc = numbers.run_tinyconv()
    np.testing.assert_array_equal(tc["y"], y)
    np.testing.assert_array_equal(tc["dw"], dw)
    np.testing.assert_array_equal(tc["dx"], dx)
    np.testing.assert_array_equal(tc["db"], g.sum(axis=(1, 2)))


def test_the_worked_sections_show_both_the_hand_result_and_tinyconvs(numbers):
    s = numbers.sections()
    assert "y[1, 1, 2] = 0 + 5 + (-1) + b[1] = 4 + 0 = 4" in s["output"]
    assert "tinyconv: conv(x)[0, 1, 1, 2] = 4" in s["output"]
    assert s["weight-grad"].count("(padding)") == 5
    assert "tinyconv: conv.weight.grad[0, 0, 0, 0] = 24" in s["weight-grad"]
    assert "dL/dx[0, 1, 2] = 11·1 + 1·0 + 15·0 + 10·1 = 21" in s["input-grad"]
    assert "tinyconv: x.grad[0, 0, 1, 2] = 21" in s["input-grad"]
    assert "1  ConvolutionBackward0  (1, 2, 3, 3) float32" in s["trace"]
    assert "weight.grad (parameter)" in s["trace"]


def test_every_code_name_the_doc_links_to_exists(doc_text):
    links = re.findall(r"\[`([\w.]+)`\]\((\.\./tinyconv/[\w/]+)\.py\)", doc_text)
    assert len(links) >= 20
    names = {n for n, _ in links}
    for expected in ("corr2d", "im2col", "col2im", "conv2d_forward", "conv2d_backward", "input_grad",
                     "conv2d_reference", "conv2d_backward_reference", "conv_algorithm",
                     "conv_transpose2d_forward", "Conv2d.backward", "_conv_padding"):
        assert expected in names
    for name, path in links:
        module = importlib.import_module(path.replace("../", "").replace("/", "."))
        obj = module
        for part in name.split("."):
            assert hasattr(obj, part), f"docs/conv_backprop.md names {name} in {path}.py, which has no {part}"
            obj = getattr(obj, part)


def test_the_doc_says_which_code_runs_and_the_numbers_do_not_depend_on_it(numbers, doc_text):
    """The page walks through conv.py's im2col path; its numbers come from a run of exactly
    that algorithm, and every other algorithm gives the same numbers, bit for bit."""
    from tinyconv import kernels
    from tinyconv.kernels import conv_fast

    assert numbers.DOC_ALGORITHM == "im2col"
    assert "algorithm = im2col" in numbers.sections()["trace"]
    runs = {name: numbers.run_tinyconv(name) for name in kernels.conv_algorithms()}
    assert set(runs) == {"loops", "im2col", "fast"}
    for name, run in runs.items():
        assert run["trace"].records[0].algorithm == name
        for key in ("y", "dw", "dx", "db"):
            np.testing.assert_array_equal(run[key], runs["im2col"][key], err_msg=f"{name}: {key}")
    # the claim that the default takes conv_fast's tiny path on this example (so the
    # slice-adds the page describes run only when asked for) is still true
    assert conv_fast._is_tiny((1, 3, 5, 5), (2, 3, 3, 3), (3, 3))
    for name in runs:
        assert f'| `"{name}"' in doc_text


def test_the_small_examples_take_the_tiny_path_by_default(doc_text, monkeypatch, capsys):
    """The page says the default runs conv_fast's tiny gathers, not the slice-adds it describes,
    on the edge, three-channel and padding/stride examples: keep that sentence true."""
    from tinyconv.kernels import conv_fast

    assert "the edge, three-channel and\npadding/stride examples" in doc_text
    seen = []
    real = conv_fast._is_tiny
    monkeypatch.setattr(conv_fast, "_is_tiny", lambda *a: seen.append(real(*a)) or seen[-1])
    for name, argv in [("edge_kernel", ["--module", "--steps", "2"]), ("three_channel", []),
                       ("padding_stride", [])]:
        seen.clear()
        load_example(name).main(argv)
        assert seen and all(seen), name
    capsys.readouterr()


def test_every_relative_link_points_at_a_file(doc_text):
    targets = re.findall(r"\]\(((?:\.\./|\w)[^)#\s]*)\)", doc_text)
    assert targets
    for target in targets:
        assert os.path.exists(os.path.normpath(os.path.join(DOCS, target))), target


# -- the README's guided tour --------------------------------------------------------------


@pytest.fixture(scope="module")
def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("## A guided tour")
    end = text.index("\n## ", start + 1)
    return text, text[start:end]


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tour_command_prints_what_the_readme_shows(readme, capsys):
    _, tour = readme
    command = re.search(r"```bash\n(.*?)\n```", tour, re.DOTALL).group(1).strip()
    assert command == "python examples/edge_kernel.py --module --steps 1 --graph --trace"
    shown = re.search(r"```text\n(.*?)```", tour, re.DOTALL).group(1)
    load_example("edge_kernel").main(command.split()[2:])
    printed = capsys.readouterr().out
    assert "digraph tinyconv {" in printed and "ConvolutionBackward0" in printed
    # numbers compared to 3 significant digits: a BLAS may sum in another order
    assert coarse(shown) in coarse(printed), "README's trace excerpt differs from what the command prints now"


def coarse(text: str) -> str:
    return re.sub(r"-?\d+\.\d*", lambda m: f"{float(m.group()):.3g}", text)


def test_tour_claim_that_every_algorithm_gives_the_same_numbers(readme, capsys):
    """--algorithm loops / im2col / fast: the edge example prints the same numbers (float32; the
    loops add in another order, so the last bits may differ, never a printed digit)."""
    _, tour = readme
    assert "--algorithm loops" in tour and 'conv_algorithm("loops")' in tour
    printed, results = {}, {}
    for name in ("loops", "im2col", "fast"):
        results[name] = load_example("edge_kernel").main(
            ["--module", "--steps", "20", "--trace", "--algorithm", name])
        printed[name] = capsys.readouterr().out
        assert f"algorithm = {name}\n" in printed[name]
        printed[name] = printed[name].replace(f"algorithm = {name}\n", "")
    for name in ("loops", "im2col"):
        assert printed[name] == printed["fast"]
        np.testing.assert_allclose(results[name]["weight"], results["fast"]["weight"], rtol=1e-5)
        np.testing.assert_allclose(results[name]["bias"], results["fast"]["bias"], rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(results[name]["losses"], results["fast"]["losses"], rtol=1e-5)


def test_tour_claim_about_the_hand_written_loop(readme, capsys):
    _, tour = readme
    n = int(re.search(r"(\d+) nodes in all", tour).group(1))
    load_example("edge_kernel").main(["--steps", "1", "--graph", "--trace"])
    printed = capsys.readouterr().out
    assert f"the graph behind this step's loss ({n} ops;" in printed
    assert f"backward trace: {n} node(s)" in printed
    assert printed.count("CopySlices") >= 6 * 7  # one per Y[i, j] = ... at least


def test_tour_reads_engine_then_kernel_then_functional_then_nn(readme):
    _, tour = readme
    order = [tour.index(f"({path})") for path in (
        "tinyconv/autograd/function.py", "tinyconv/kernels/conv.py",
        "tinyconv/nn/functional.py", "tinyconv/nn/layers.py")]
    assert order == sorted(order)
    assert "(docs/conv_backprop.md)" in tour


def test_tour_python_snippet_runs(readme, capsys):
    _, tour = readme
    code = re.search(r"```python\n(.*?)```", tour, re.DOTALL).group(1)
    exec(compile(code, "README tour", "exec"), {})  # noqa: S102  (the README runs as written)
    printed = capsys.readouterr().out
    assert "backward trace: 3 node(s)" in printed  # SumBackward0, ReluBackward0, ConvolutionBackward0
    assert "x.grad (input)" in printed and "weight.grad (parameter)" in printed
    assert "digraph tinyconv {" in printed


def test_readme_relative_links_exist(readme):
    text, _ = readme
    targets = re.findall(r"\]\(((?:tinyconv|docs|examples)[^)#\s]*)\)", text)
    assert len(targets) >= 10
    for target in targets:
        assert os.path.exists(os.path.join(ROOT, target)), target
