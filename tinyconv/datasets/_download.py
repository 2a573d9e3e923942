"""Fetch a data file from a list of mirrors, trusting it only once its MD5 matches.

The bytes go to a temporary file beside the target (`.NAME.*.part`); only after the whole
file arrived and its MD5 is the expected one is it renamed to NAME. So an interrupted or
corrupt download never sits where a later run would read it: a file under its real name is
always one that was verified. A mirror that fails (no connection, an HTTP error, a connection
dropped early, the wrong bytes) is reported and the next one is tried.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request

from .._errors import TensorValueError
from ..utils.progress import progress

CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """Every mirror failed for a file; the message lists each URL with its reason and what to do."""


def md5sum(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def check_md5(path: str, md5: str | None) -> bool:
    """True when `path` exists and (if an MD5 is given) has that MD5."""
    if not os.path.isfile(path):
        return False
    return md5 is None or md5sum(path) == md5


def _fetch(url: str, dest: str, md5: str | None, timeout: float) -> None:
    """Download `url` to `dest` via a temporary file; raise OSError/ValueError on any failure."""
    folder = os.path.dirname(os.path.abspath(dest))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", suffix=".part", dir=folder)
    try:
        h = hashlib.md5()
        received = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            bar = progress(
                total=expected,
                desc=os.path.basename(dest),
                unit="B",
                unit_scale=True,
                file=sys.stderr,
                leave=False,
            )
            try:
                while True:
                    try:
                        chunk = resp.read(CHUNK)
                    except (
                        http.client.IncompleteRead
                    ) as e:  # the server closed the connection early
                        received += len(e.partial)
                        chunk = b""
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            finally:
                bar.close()
            if expected is not None and received != expected:
                raise OSError(f"connection dropped after {received} of {expected} bytes")
            out.flush()
            os.fsync(out.fileno())
        got = h.hexdigest()
        if md5 is not None and got != md5:
            raise TensorValueError(
                f"MD5 mismatch: got {got}, expected {md5} (corrupt or changed file)"
            )
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def download(
    filename: str,
    md5: str | None,
    mirrors: list[str],
    folder: str,
    *,
    timeout: float = 30.0,
    stream=None,
) -> str:
    """Put a verified copy of `filename` in `folder`, from the first mirror that delivers it.

    A file already there with the right MD5 is kept (no network). Returns its path; raises
    DownloadError naming every URL tried and why it failed.
    """
    stream = stream if stream is not None else sys.stdout
    os.makedirs(folder, exist_ok=True)
    dest = os.path.join(folder, filename)
    if check_md5(dest, md5):
        return dest
    if os.path.exists(dest):
        print(
            f"{dest} is damaged or out of date (MD5 is not {md5}); downloading it again",
            file=stream,
        )
    failures = []
    for mirror in mirrors:
        url = mirror if mirror.endswith(filename) else mirror.rstrip("/") + "/" + filename
        print(f"Downloading {url}", file=stream, flush=True)
        try:
            _fetch(url, dest, md5, timeout)
        except (OSError, ValueError, http.client.HTTPException) as e:
            reason = (
                e.reason
                if isinstance(e, urllib.error.URLError)
                and not isinstance(e, urllib.error.HTTPError)
                else e
            )
            failures.append(f"  {url}: {reason}")
            print(
                f"Failed ({reason}); trying the next mirror"
                if mirror != mirrors[-1]
                else f"Failed ({reason})",
                file=stream,
                flush=True,
            )
            continue
        print(f"Saved {dest} (MD5 verified)", file=stream, flush=True)
        return dest
    raise DownloadError(
        f"could not download {filename} from any mirror:\n"
        + "\n".join(failures or ["  (no mirrors listed)"])
        + f"\nCheck the network connection and try again, or fetch {filename} by hand from one of "
        f"the URLs above (its MD5 is {md5}) and put it in {folder}"
    )
