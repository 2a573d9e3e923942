"""The convolution explorer page (tinyconv/explain.py, tinyconv.viz.explain).

1. Python side: every product list embedded in the page sums to tinyconv's own output or
   gradient, for the docs' example and for configurations with stride, asymmetric padding,
   dilation and groups; the docs' worked numbers are on the page.
2. The command line: examples, options, and clear errors for bad input.
3. A real browser (headless Chromium driven by Selenium) opens the page, clicks cells and
   checks what lights up and the sums shown, with no JavaScript errors. It skips without a
   browser, unless TINYCONV_REQUIRE_BROWSER=1 (set by .ci/run), which makes the skip fail.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil

import numpy as np
import pytest

import tinyconv as torch
from tinyconv import explain as ex
from tinyconv import nn, viz


def embedded(page: str) -> dict:
    """The JSON the page carries (what its JavaScript draws)."""
    m = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def three_channel(loss: str = "squares") -> tuple:
    args = argparse.Namespace(
        example="three",
        loss=loss,
        stride=None,
        padding=None,
        dilation=None,
        in_channels=None,
        out_channels=None,
        size=None,
        kernel_size=None,
        groups=None,
        seed=0,
    )
    return ex.build(args)


def check_sums(conv: nn.Conv2d, x: torch.Tensor, loss, data: dict) -> None:
    """Every list of products on the page sums to tinyconv's own numbers."""
    x = x.detach().clone().requires_grad_(True)
    y = conv(x)
    y.retain_grad()
    conv.zero_grad()
    loss(y).backward()
    O, Cg, kh, kw = conv.weight.shape
    _, C, H, W = x.shape
    OH, OW = y.shape[2:]
    tol = {"rtol": 1e-5, "atol": 1e-5}
    page = data["losses"][0]
    np.testing.assert_allclose(np.array(data["y"]), y.detach().numpy()[0], **tol)
    np.testing.assert_allclose(np.array(page["g"]), y.grad.numpy()[0], **tol)
    np.testing.assert_allclose(np.array(page["dx"]), x.grad.numpy()[0], **tol)
    np.testing.assert_allclose(np.array(page["dw"]), conv.weight.grad.numpy(), **tol)
    b = conv.bias.detach().numpy()
    for o, i, j in itertools.product(range(O), range(OH), range(OW)):
        f = data["forward"][o][i][j]
        assert len(f["terms"]) == Cg * kh * kw
        products = sum(t[5] * t[6] for t in f["terms"])
        assert f["sum"] == pytest.approx(products + b[o], rel=1e-5, abs=1e-5)
        assert f["sum"] == pytest.approx(float(y[0, o, i, j]), rel=1e-5, abs=1e-5)
        assert sum(f["parts"]) + b[o] == pytest.approx(f["sum"], rel=1e-5, abs=1e-5)
    for c, u, v in itertools.product(range(C), range(H), range(W)):
        f = page["dx_terms"][c][u][v]
        assert sum(t[5] * t[6] for t in f["terms"]) == pytest.approx(f["sum"], abs=1e-5)
        assert f["sum"] == pytest.approx(float(x.grad[0, c, u, v]), rel=1e-5, abs=1e-5)
    for o, cg, p, q in itertools.product(range(O), range(Cg), range(kh), range(kw)):
        f = page["dw_terms"][o][cg][p][q]
        assert len(f["terms"]) == OH * OW  # one pixel per window
        assert sum(t[4] * t[5] for t in f["terms"]) == pytest.approx(f["sum"], abs=1e-5)
        assert f["sum"] == pytest.approx(float(conv.weight.grad[o, cg, p, q]), rel=1e-5, abs=1e-5)
    np.testing.assert_allclose(page["db_sum"], conv.bias.grad.numpy(), **tol)
    np.testing.assert_allclose(page["db"], conv.bias.grad.numpy(), **tol)
    # Each window product is listed once for dL/dx (unless it read the padding)
    dx_terms = sum(len(f["terms"]) for plane in page["dx_terms"] for row in plane for f in row)
    in_image = sum(
        0 <= t[1] < H and 0 <= t[2] < W
        for plane in data["forward"]
        for row in plane
        for f in row
        for t in f["terms"]
    )
    assert dx_terms == in_image


def test_the_docs_example_sums_to_tinyconvs_numbers_and_holds_the_worked_elements():
    conv, x, losses, _, _ = three_channel("doc")
    name, doc_loss = next(iter(losses.items()))
    assert "G" in name
    data = ex.page_data(conv, x, {name: doc_loss})
    check_sums(conv, x, doc_loss, data)
    page = data["losses"][0]
    # docs/conv_backprop.md section 11, exactly (integers stay integers on the page)
    assert data["forward"][1][1][2]["sum"] == 4
    assert page["dw_terms"][0][0][0][0]["sum"] == 24
    assert page["dx_terms"][0][1][2]["sum"] == 21
    assert page["db_sum"][0] == 68
    # dL/dx[0, 1, 2] is read by two windows of each kernel (the doc's four terms)
    # [o, i, j, p, q]: x_pad[0, 2, 3] is row 2i + p = 2, column 2j + q = 3
    assert [t[:5] for t in page["dx_terms"][0][1][2]["terms"]] == [
        [0, 0, 1, 2, 1],
        [0, 1, 1, 0, 1],
        [1, 0, 1, 2, 1],
        [1, 1, 1, 0, 1],
    ]


def test_the_default_page_is_the_three_channel_example_with_sum_of_squares(tmp_path):
    path = ex.main(["--output", str(tmp_path / "three.html")])
    data = embedded(open(path, encoding="utf-8").read())
    assert [d["name"].split(",")[0] for d in data["losses"]][0] == "sum of squares"
    assert (data["C"], data["H"], data["W"], data["O"], data["kh"]) == (3, 5, 5, 2, 3)
    assert data["stride"] == [2, 2] and data["padding"] == [[1, 1], [1, 1]]
    y = np.array(data["y"])
    np.testing.assert_array_equal(np.array(data["losses"][0]["g"]), 2 * y)  # dL/dy = 2y
    assert data["losses"][0]["loss"] == int((y**2).sum())
    # the doc's loss is on the page too, for the worked numbers
    assert any(d["dw_terms"][0][0][0][0]["sum"] == 24 for d in data["losses"])


@pytest.mark.parametrize(
    "config",
    [
        dict(cin=4, cout=2, k=3, stride=1, padding=1, dilation=2, groups=2, size=(6, 5)),
        dict(cin=2, cout=3, k=(2, 3), stride=(2, 1), padding="same", dilation=1, groups=1),
        dict(cin=3, cout=3, k=2, stride=3, padding=(0, 2), dilation=(1, 2), groups=3),
    ],
)
def test_products_sum_to_tinyconv_for_stride_padding_dilation_groups(config):
    torch.manual_seed(0)
    if config["padding"] == "same":
        config["stride"] = 1
    conv = nn.Conv2d(
        config["cin"],
        config["cout"],
        config["k"],
        stride=config["stride"],
        padding=config["padding"],
        dilation=config["dilation"],
        groups=config["groups"],
    )
    H, W = config.get("size", (7, 7))
    x = torch.randn(config["cin"], H, W)  # unbatched works too

    def loss(y):
        return (y * y).sum() + y.sum()  # not symmetric in sign: a wrong flip shows

    data = ex.page_data(conv, x, loss)
    check_sums(conv, x.unsqueeze(0), loss, data)
    if config["padding"] == "same":  # an even kernel: PyTorch pads the extra row at the end
        assert data["padding"] == [[0, 1], [1, 1]]


def test_viz_explain_writes_a_self_contained_page_and_leaves_the_layer_alone(tmp_path):
    conv = nn.Conv2d(2, 2, 3, padding=1)
    x = torch.randn(1, 2, 4, 4)
    out = viz.explain(conv, x, loss=lambda y: y.abs().sum(), path=tmp_path / "page.html")
    assert out == str(tmp_path / "page.html")
    page = open(out, encoding="utf-8").read()
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert "src=" not in page  # inline scripts only
    data = embedded(page)
    assert data["losses"][0]["name"] == "<lambda>"
    assert conv.weight.grad is None and conv.bias.grad is None  # autograd.grad, not .backward


def test_viz_explain_default_path_and_loss(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conv = nn.Conv2d(1, 1, 2, bias=False)
    path = viz.explain(conv, torch.ones(1, 3, 3))
    data = embedded(open(path, encoding="utf-8").read())
    assert path == "conv_explain.html" and data["b"] is None and data["losses"][0]["db"] is None
    assert data["losses"][0]["name"].startswith("sum of squares")


def test_explain_rejects_what_it_cannot_draw():
    conv = nn.Conv2d(1, 1, 3)
    with pytest.raises(ValueError, match=r"one image.*\(2, 1, 5, 5\)"):
        viz.explain(conv, torch.randn(2, 1, 5, 5))
    with pytest.raises(ValueError, match="padding_mode='reflect'"):
        viz.explain(nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"), torch.randn(1, 5, 5))
    with pytest.raises(TypeError, match="nn.Conv2d, got Linear"):
        viz.explain(nn.Linear(2, 2), torch.randn(1, 5, 5))
    with pytest.raises(TypeError, match="loss must be a callable"):
        viz.explain(conv, torch.randn(1, 5, 5), loss=3)
    with pytest.raises(ValueError, match="one-element Tensor"):
        viz.explain(conv, torch.randn(1, 5, 5), loss=lambda y: y)
    with pytest.raises(ValueError, match="window products"):
        viz.explain(nn.Conv2d(8, 8, 5, padding=2), torch.randn(8, 20, 20))
    with pytest.raises(ValueError, match="larger than the padded input"):
        viz.explain(conv, torch.randn(1, 2, 2))


def test_cli_edge_and_random_examples(tmp_path, capsys):
    path = ex.main(["--example", "edge", "--output", str(tmp_path / "edge.html")])
    assert f"wrote {path}" in capsys.readouterr().out
    data = embedded(open(path, encoding="utf-8").read())
    assert np.array(data["w"]).tolist() == [[[[-1, 1]]]]
    y = np.array(data["y"])[0]
    assert y.shape == (6, 7) and sorted(set(y.ravel().tolist())) == [-1, 0, 1]
    path = ex.main(
        [
            "--example",
            "random",
            "--in-channels",
            "4",
            "--out-channels",
            "2",
            "--groups",
            "2",
            "--size",
            "6",
            "7",
            "--kernel-size",
            "2",
            "3",
            "--stride",
            "2",
            "1",
            "--padding",
            "1",
            "--dilation",
            "2",
            "--seed",
            "3",
            "--loss",
            "sum",
            "--output",
            str(tmp_path / "random.html"),
        ]
    )
    data = embedded(open(path, encoding="utf-8").read())
    assert (data["C"], data["O"], data["Cg"], data["groups"]) == (4, 2, 2, 2)
    assert (data["H"], data["W"], data["kh"], data["kw"]) == (6, 7, 2, 3)
    assert data["stride"] == [2, 1] and data["dilation"] == [2, 2]
    assert data["losses"][0]["name"].startswith("sum,")
    assert np.all(np.array(data["losses"][0]["g"]) == 1)
    # the seed picks the numbers
    again = ex.main(["--example", "random", "--seed", "4", "--output", str(tmp_path / "r.html")])
    assert embedded(open(again, encoding="utf-8").read())["x"] != data["x"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--stride", "0"], "--stride must be at least 1, got 0"),
        (["--padding", "-1"], "--padding must be at least 0, got -1"),
        (["--dilation", "1", "2", "3"], "--dilation takes one or two integers, got 3"),
        (
            ["--example", "random", "--size", "3", "--kernel-size", "6"],
            "larger than the padded input",
        ),
        (["--in-channels", "2"], "--in-channels set the shapes of --example random"),
        (["--example", "edge", "--loss", "doc"], "--loss doc is the loss of the three-channel"),
        (["--example", "random", "--in-channels", "3", "--groups", "2"], "must divide"),
        (["--example", "random", "--groups", "0"], "--groups must be at least 1, got 0"),
        (["--example", "random", "--size", "50"], "draws at most 40x40"),
    ],
)
def test_cli_bad_input_is_a_clear_error(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        ex.main(argv + ["--output", str(tmp_path / "bad.html")])
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "bad.html").exists()


# ------------------------------------------------------------------------------------------
# In a real browser
# ------------------------------------------------------------------------------------------


def _browser_paths() -> tuple[str | None, str | None]:
    binary = next(
        (
            shutil.which(n)
            for n in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(n)
        ),
        None,
    )
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/lib/chromium/chromedriver",) if os.path.exists(p)), None
    )
    return binary, driver


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Selenium; skips (or, in CI, fails) when there is none."""
    required = os.environ.get("TINYCONV_REQUIRE_BROWSER", "0") not in ("", "0")
    binary, driver = _browser_paths()
    try:
        from selenium import webdriver
    except ImportError:
        missing = "the selenium package (pip install '.[browser]')"
    else:
        missing = (
            None
            if binary and driver
            else "chromium and chromedriver (apt-get install chromium chromium-driver)"
        )
    if missing:
        if required:
            pytest.fail(f"TINYCONV_REQUIRE_BROWSER is set but {missing} is not installed")
        pytest.skip(f"browser test: needs {missing}")
    options = webdriver.ChromeOptions()
    # --no-sandbox: CI runs as root; a container's /dev/shm is small
    args = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu")
    for arg in args + ("--window-size=1400,1600",):
        options.add_argument(arg)
    options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    yield d
    d.quit()


def _keys(d, section: str, cls: str, kind: str | None = None) -> set[str]:
    """The keys ("x:c,u,v", ...) of the cells of a section that carry the class cls."""
    from selenium.webdriver.common.by import By

    found = {
        e.get_attribute("data-key")
        for e in d.find_elements(By.CSS_SELECTOR, f"#{section} td.{cls}")
    }
    return {k for k in found if kind is None or k.startswith(kind + ":")}


def _click(d, section: str, key: str) -> str:
    """Click a cell; return the bold total of the explanation below the section."""
    from selenium.webdriver.common.by import By

    d.find_element(By.CSS_SELECTOR, f'#{section} td[data-key="{key}"]').click()
    return d.find_element(By.CSS_SELECTOR, f"#{section}-explain .total").text


def _errors(d) -> list:
    return [e for e in d.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_in_a_browser_the_clicks_show_the_docs_numbers(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    path = ex.main(["--output", str(tmp_path / "three.html")])
    data = embedded(open(path, encoding="utf-8").read())
    d.get("file://" + path)
    # Forward: y[1, 1, 2] = 4; its window (rows 1..3, cols 3..5: the right column is padding)
    # lights up in all three channels, and the kernel w[1] and bias b[1] with it.
    assert _click(d, "forward", "y:1,1,2") == "4"
    window = {f"x:{c},{u},{v}" for c in range(3) for u in (1, 2, 3) for v in (3, 4, 5)}
    assert _keys(d, "forward", "hl") == window
    taps = {f"w:1,{c},{p},{q}" for c in range(3) for p in range(3) for q in range(3)}
    assert _keys(d, "forward", "tap") == taps | {"b:0,1"}
    assert _keys(d, "forward", "sel") == {"y:1,1,2"}
    border = d.find_element(By.CSS_SELECTOR, '#forward td[data-key="x:0,1,5"]')
    assert "pad" in border.get_attribute("class").split()  # drawn as padding, and in the window
    # The loss of docs/conv_backprop.md: dL/dw[0, 0, 0, 0] = 24 and dL/dx[0, 1, 2] = 21.
    menu = Select(d.find_element(By.ID, "loss"))
    doc = next(k for k, lo in enumerate(data["losses"]) if "G" in lo["name"])
    menu.select_by_value(str(doc))
    assert _click(d, "weight-grad", "dw:0,0,0,0") == "24"
    # tap (0, 0) reads x_pad[0, 2i, 2j]: x[0, 2i - 1, 2j - 1], one pixel per window
    assert _keys(d, "weight-grad", "hl") == {
        f"x:0,{2 * i - 1},{2 * j - 1}" for i in range(3) for j in range(3)
    }
    assert _keys(d, "weight-grad", "gcell") == {f"g:0,{i},{j}" for i in range(3) for j in range(3)}
    assert _click(d, "input-grad", "dx:0,1,2") == "21"
    # read by windows (0, 1) and (1, 1) of both kernels, through taps (2, 1) and (0, 1)
    assert _keys(d, "input-grad", "gcell", "g") == {"g:0,0,1", "g:0,1,1", "g:1,0,1", "g:1,1,1"}
    # ... and in dL/dy spread out (g[o, i, j] at row 2i + 1, column 2j + 1), the rotated
    # kernel's 3x3 window at rows 1..3, columns 2..4 covers exactly those cells
    assert _keys(d, "input-grad", "gcell", "s") == {"s:0,1,3", "s:0,3,3", "s:1,1,3", "s:1,3,3"}
    assert _keys(d, "input-grad", "hl", "s") == {
        f"s:{o},{r},{k}" for o in (0, 1) for r in (1, 2, 3) for k in (2, 3, 4)
    }
    assert _keys(d, "input-grad", "tap") == {"w:0,0,2,1", "w:0,0,0,1", "w:1,0,2,1", "w:1,0,0,1"}
    text = d.find_element(By.ID, "input-grad-explain").text
    assert "11·1 + 1·0 + 15·0 + 10·1 = 21" in text  # the doc's sum, term by term
    assert _click(d, "weight-grad", "db:0,0") == "68"
    # Back to sum of squares: the same clicks now give 2y's numbers
    menu.select_by_value("0")
    assert _click(d, "weight-grad", "dw:0,0,0,0") == str(
        data["losses"][0]["dw_terms"][0][0][0][0]["sum"]
    )
    assert _errors(d) == []


def test_in_a_browser_stride_dilation_and_groups_change_the_highlight(browser, tmp_path):
    from selenium.webdriver.common.by import By

    d = browser
    argv = ["--example", "random", "--in-channels", "4", "--out-channels", "2", "--groups", "2"]
    argv += ["--size", "6", "--stride", "2", "--padding", "1", "--dilation", "2", "--seed", "1"]
    path = ex.main(argv + ["--output", str(tmp_path / "random.html")])
    data = embedded(open(path, encoding="utf-8").read())
    d.get("file://" + path)
    # y[1, 1, 0] reads channels 2 and 3 only (group 1), taps spread 2 apart from row 1, col -1
    total = _click(d, "forward", "y:1,1,0")
    assert float(total) == pytest.approx(data["forward"][1][1][0]["sum"], rel=1e-3)
    assert _keys(d, "forward", "hl") == {
        f"x:{c},{1 + 2 * p},{-1 + 2 * q}" for c in (2, 3) for p in range(3) for q in range(3)
    }
    # hovering shows another output for as long as the pointer stays; leaving restores the click
    from selenium.webdriver.common.action_chains import ActionChains

    def total() -> float:
        return float(d.find_element(By.CSS_SELECTOR, "#forward-explain .total").text)

    other = d.find_element(By.CSS_SELECTOR, '#forward td[data-key="y:0,0,1"]')
    ActionChains(d).move_to_element(other).perform()
    assert total() == pytest.approx(data["forward"][0][0][1]["sum"], rel=1e-3)
    assert {k.split(",")[0] for k in _keys(d, "forward", "hl")} == {"x:0", "x:1"}  # group 0
    ActionChains(d).move_to_element(d.find_element(By.ID, "title")).perform()
    assert total() == pytest.approx(data["forward"][1][1][0]["sum"], rel=1e-3)
    # dL/dx[0, 1, 3]: the windows that read it (taps 2 apart, windows 2 apart), nothing else
    _click(d, "input-grad", "dx:0,1,3")
    terms = data["losses"][0]["dx_terms"][0][1][3]["terms"]
    assert len(terms) > 1
    assert _keys(d, "input-grad", "gcell", "g") == {f"g:{t[0]},{t[1]},{t[2]}" for t in terms}
    # the window over dL/dy spread out: output channel 0 only (channel 0 is in group 0)
    assert {k.split(",")[0] for k in _keys(d, "input-grad", "hl", "s")} == {"s:0"}
    # x_pad row 2 + 1 = 3 is odd: stride 2 and dilation 2 only reach even rows
    assert _click(d, "input-grad", "dx:0,2,2") == "0"
    assert _keys(d, "input-grad", "gcell") == set()
    assert "no window reads this pixel" in d.find_element(By.ID, "input-grad-explain").text
    assert _errors(d) == []


def test_the_readme_tour_and_the_doc_say_how_to_open_it(tmp_path, monkeypatch):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    tour = readme[readme.index("## A guided tour") :]
    tour = tour[: tour.index("\n## ", 1)]
    doc = open(os.path.join(root, "docs", "conv_backprop.md"), encoding="utf-8").read()
    assert "python -m tinyconv.explain" in doc and "python -m tinyconv.explain" in tour
    # the tour's commands run as written
    monkeypatch.chdir(tmp_path)
    block = tour[tour.index("python -m tinyconv.explain") :]
    block = block[: block.index("```")]
    for line in block.strip().splitlines():
        argv = line.split("#")[0].split()
        assert argv[:3] == ["python", "-m", "tinyconv.explain"]
        assert os.path.exists(ex.main(argv[3:]))
