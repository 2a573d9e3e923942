"""tinyconv.hub: load_state_dict_from_url downloads once into the cache and reads the file with
tinyconv.load; checked on file:// URLs and a loopback HTTP server (no network needed)."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

import tinyconv
from tinyconv import hub, nn


def _weights(folder, name: str) -> tuple[str, dict]:
    model = nn.Linear(3, 2)
    state = model.state_dict()
    path = os.path.join(folder, name)
    tinyconv.save(state, path)  # (.pth: PyTorch's format)
    return path, {k: v.numpy().copy() for k, v in state.items()}


def _same(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_array_equal(got[k].numpy(), want[k])


def test_downloads_once_then_reads_the_cache(tmp_path, capsys):
    src, want = _weights(tmp_path, "linear.pth")
    cache = tmp_path / "cache"
    got = hub.load_state_dict_from_url(f"file://{src}", model_dir=str(cache), progress=False)
    _same(got, want)
    assert "Downloading" in capsys.readouterr().err
    assert os.listdir(cache) == ["linear.pth"]  # (no partial file left beside it)
    os.remove(src)  # the second call reads the cached copy
    _same(hub.load_state_dict_from_url(f"file://{src}", model_dir=str(cache)), want)
    assert "Downloading" not in capsys.readouterr().err


def test_the_default_folder_follows_torch_home_and_set_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert hub.get_dir() == os.path.join(str(tmp_path / "th"), "hub")
    src, want = _weights(tmp_path, "w.pth")
    _same(hub.load_state_dict_from_url(f"file://{src}", progress=False), want)
    assert os.path.exists(tmp_path / "th" / "hub" / "checkpoints" / "w.pth")
    hub.set_dir(tmp_path / "elsewhere")
    assert hub.get_dir() == str(tmp_path / "elsewhere")
    assert tinyconv.hub is hub


@pytest.fixture
def server(tmp_path):
    """An HTTP server on the loopback address serving tmp_path/served, for the test's life."""
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_http_download_checks_the_hash_in_the_name(tmp_path, server):
    root, base = server
    path, want = _weights(root, "tmp.pth")
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()  # noqa: SIM115
    good = f"lin-{digest[:8]}.pth"
    os.rename(path, root / good)
    cache = tmp_path / "c"
    got = hub.load_state_dict_from_url(f"{base}/{good}", str(cache), check_hash=True)
    _same(got, want)
    bad = f"lin-{'0' * 8}.pth"
    os.link(root / good, root / bad)
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.load_state_dict_from_url(f"{base}/{bad}", str(cache), check_hash=True)
    assert sorted(os.listdir(cache)) == [good]  # (the bad download was not kept)
    # file_name= names the cached copy
    got = hub.load_state_dict_from_url(f"{base}/{good}", str(cache), file_name="mine.pth")
    _same(got, want)
    assert os.path.exists(cache / "mine.pth")


def test_hub_load_says_it_does_not_run_repository_code():
    for call in (
        lambda: hub.load("pytorch/vision", "resnet18"),
        lambda: hub.list("pytorch/vision"),
        lambda: hub.help("pytorch/vision", "resnet18"),
    ):
        with pytest.raises(NotImplementedError, match="hubconf.py"):
            call()


def test_reads_what_pytorch_hub_reads(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Conv2d(2, 3, 3)
    src = tmp_path / "conv-0.pth"
    torch.save(model.state_dict(), src)
    url = f"file://{src}"
    want = torch.hub.load_state_dict_from_url(url, str(tmp_path / "pt"), progress=False)
    got = hub.load_state_dict_from_url(url, str(tmp_path / "tc"), progress=False)
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_array_equal(got[k].numpy(), want[k].numpy())
    mine = nn.Conv2d(2, 3, 3)
    mine.load_state_dict(got)
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(
        mine(tinyconv.tensor(x)).detach().numpy(),
        model(torch.tensor(x)).detach().numpy(),
        rtol=1e-6,
        atol=1e-6,
    )
