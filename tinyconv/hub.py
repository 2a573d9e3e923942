"""`tinyconv.hub`: pretrained weights downloaded once and cached, as `torch.hub` does.

    state = tinyconv.hub.load_state_dict_from_url(
        "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    )
    model.load_state_dict(state)

The file is kept in ``get_dir()/checkpoints`` (``$TORCH_HOME/hub``, by default
``~/.cache/torch/hub``: the folder PyTorch uses, so weights it downloaded are found there, and
the other way round) and read with `tinyconv.load`, which reads PyTorch's checkpoint format.
A name with a hash in it (``resnet18-f37072fd.pth``) can be checked against the file's
SHA-256 (``check_hash=True``).

`torch.hub.load` runs the ``hubconf.py`` of a GitHub repository, PyTorch code that builds the
model; tinyconv does not run other repositories' code, so `load`, `list` and `help` raise and
say so (README, deliberate differences).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request
from typing import Any, NoReturn

from . import serialization

__all__ = ["download_url_to_file", "get_dir", "load_state_dict_from_url", "set_dir"]

_hub_dir: str | None = None  # set_dir's folder; None: the default below
# the hash in a file name such as resnet18-f37072fd.pth (PyTorch's rule: after the last "-")
_HASH_IN_NAME = re.compile(r"-([a-f0-9]*)\.")
_CHUNK = 1 << 16


def get_dir() -> str:
    """The hub's folder: ``set_dir``'s, else ``$TORCH_HOME/hub`` (TORCH_HOME defaults to
    ``$XDG_CACHE_HOME/torch``, and that to ``~/.cache/torch``), as PyTorch's."""
    if _hub_dir is not None:
        return _hub_dir
    cache = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    home = os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(cache, "torch")))
    return os.path.join(home, "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use folder ``d`` for the hub from now on (``~`` expanded)."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def download_url_to_file(
    url: str, dst: str | os.PathLike, hash_prefix: str | None = None, progress: bool = True
) -> None:
    """Download ``url`` to file ``dst``, through a temporary file beside it (so that an
    interrupted download never leaves a partial ``dst``). ``hash_prefix``: the start of the
    file's SHA-256 in hex, checked before the file is kept (RuntimeError when it differs).
    ``progress``: a bar on stderr (tqdm's where installed)."""
    dst = os.path.expanduser(os.fspath(dst))
    request = urllib.request.Request(url, headers={"User-Agent": "tinyconv.hub"})
    with urllib.request.urlopen(request) as response:  # noqa: S310 (the caller's URL)
        length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
        total = int(length) if length and length.isdigit() else None
        folder = os.path.dirname(os.path.abspath(dst))
        os.makedirs(folder, exist_ok=True)
        tmp = tempfile.NamedTemporaryFile(delete=False, dir=folder, suffix=".partial")  # noqa: SIM115
        try:
            digest = hashlib.sha256()
            bar = _bar(total, progress)
            with tmp:
                while chunk := response.read(_CHUNK):
                    tmp.write(chunk)
                    digest.update(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            if bar is not None:
                bar.close()
            if hash_prefix is not None:
                got = digest.hexdigest()
                if not got.startswith(hash_prefix):
                    raise RuntimeError(
                        f'invalid hash value (expected "{hash_prefix}", got "{got}") for the '
                        f"file downloaded from {url}"
                    )
            shutil.move(tmp.name, dst)
        finally:
            if os.path.exists(tmp.name):
                os.remove(tmp.name)


def _bar(total: int | None, progress: bool) -> Any:
    if not progress:
        return None
    from .utils.progress import progress as make_bar

    return make_bar(total=total, desc="download", file=sys.stderr, unit="B", unit_scale=True)


def load_state_dict_from_url(
    url: str,
    model_dir: str | None = None,
    map_location: Any = None,
    progress: bool = True,
    check_hash: bool = False,
    file_name: str | None = None,
    weights_only: bool = False,
) -> Any:
    """The checkpoint at ``url`` (a state_dict), downloaded into ``model_dir`` (default
    ``get_dir()/checkpoints``) unless a file of that name is already there, then read with
    `tinyconv.load` (PyTorch's format or tinyconv's). ``file_name``: the cached file's name
    (default: the URL's last part). ``check_hash``: check the download's SHA-256 against the
    hex digits after the last ``-`` of the name. ``map_location`` and ``weights_only`` are
    accepted as PyTorch's are (tinyconv is on the CPU and never unpickles code)."""
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    name = file_name or os.path.basename(urllib.parse.urlparse(url).path)
    if not name:
        raise ValueError(
            f"load_state_dict_from_url: {url!r} names no file; give file_name= for the cache"
        )
    cached = os.path.join(model_dir, name)
    if not os.path.exists(cached):
        sys.stderr.write(f'Downloading: "{url}" to {cached}\n')
        hash_prefix = None
        if check_hash:
            found = _HASH_IN_NAME.search(name)
            hash_prefix = found.group(1) if found else None
        download_url_to_file(url, cached, hash_prefix, progress=progress)
    return serialization.load(cached, map_location=map_location)


def _runs_repository_code(what: str) -> NoReturn:
    raise NotImplementedError(
        f"tinyconv.hub.{what}: this runs the hubconf.py of a GitHub repository, PyTorch code "
        "that tinyconv does not run; build the model from its source (with `torch` pointing at "
        "tinyconv) and load its weights with tinyconv.hub.load_state_dict_from_url"
    )


def load(repo_or_dir: str, model: str, *args: Any, **kwargs: Any) -> NoReturn:
    """torch.hub.load: not in tinyconv (raises; see the module's docstring)."""
    _runs_repository_code("load")


def list(github: str, *args: Any, **kwargs: Any) -> NoReturn:  # noqa: A001 (PyTorch's name)
    """torch.hub.list: not in tinyconv (raises; see the module's docstring)."""
    _runs_repository_code("list")


def help(github: str, model: str, *args: Any, **kwargs: Any) -> NoReturn:  # noqa: A001
    """torch.hub.help: not in tinyconv (raises; see the module's docstring)."""
    _runs_repository_code("help")
