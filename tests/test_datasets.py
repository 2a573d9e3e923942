"""tinyconv.datasets: MNIST, FashionMNIST and CIFAR10 from files in their real formats, and
download=True against a local HTTP server on 127.0.0.1 (good, corrupt, wrong-MD5, dropped and
unreachable mirrors). Nothing here touches the network beyond the loopback address.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import socket
import struct
import sys
import tarfile
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyconv
from tinyconv.datasets import CIFAR10, MNIST, DownloadError, FashionMNIST, read_idx
from tinyconv.utils.data import DataLoader

# -- files in the real formats ----------------------------------------------------------------


def idx_bytes(arr: np.ndarray) -> bytes:
    """An IDX file: 0, 0, type 0x08 (ubyte), ndim, big-endian uint32 dims, then the bytes."""
    assert arr.dtype == np.uint8
    return (
        bytes([0, 0, 0x08, arr.ndim])
        + b"".join(struct.pack(">I", d) for d in arr.shape)
        + arr.tobytes()
    )


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def mnist_split(seed: int, n: int):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def mnist_files(n_train: int = 12, n_test: int = 5) -> tuple[dict, dict]:
    """name -> .gz bytes of the four MNIST files, and the arrays they hold."""
    (xtr, ytr), (xte, yte) = mnist_split(0, n_train), mnist_split(1, n_test)
    files = {
        "train-images-idx3-ubyte.gz": gz(idx_bytes(xtr)),
        "train-labels-idx1-ubyte.gz": gz(idx_bytes(ytr)),
        "t10k-images-idx3-ubyte.gz": gz(idx_bytes(xte)),
        "t10k-labels-idx1-ubyte.gz": gz(idx_bytes(yte)),
    }
    return files, {"train": (xtr, ytr), "test": (xte, yte)}


def cifar_batch(seed: int, n: int):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    records = np.concatenate(
        [labels[:, None], images.reshape(n, -1)], axis=1
    )  # label byte, R, G, B
    return records.tobytes(), images, labels


def cifar_archive() -> tuple[bytes, dict]:
    members, arrays = {}, {}
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        data, images, labels = cifar_batch(10 + i, 3 if name != "test_batch.bin" else 4)
        members[name], arrays[name] = data, (images, labels)
    members["batches.meta.txt"] = b"\n".join(c.encode() for c in CIFAR10.classes) + b"\n\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        evil = tarfile.TarInfo("../escaped.bin")  # a member outside the folder is never written
        evil.size = 3
        tar.addfile(evil, io.BytesIO(b"bad"))
    return buf.getvalue(), arrays


def write(folder, files: dict) -> None:
    os.makedirs(folder, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


# -- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_mnist_reads_idx_gz_files(tmp_path, cls):
    files, arrays = mnist_files()
    write(tmp_path / cls.__name__ / "raw", files)
    for train, split in ((True, "train"), (False, "test")):
        ds = cls(tmp_path, train=train)
        x, y = arrays[split]
        assert len(ds) == len(y)
        img, label = ds[3]
        assert (
            isinstance(img, tinyconv.Tensor)
            and img.dtype == tinyconv.float32
            and img.shape == (1, 28, 28)
        )
        np.testing.assert_array_equal(
            img.numpy()[0], x[3].astype(np.float32) / 255
        )  # ToTensor's scaling
        assert type(label) is int and label == y[3]
        assert 0 <= img.numpy().min() and img.numpy().max() <= 1
        assert ds.data.dtype == tinyconv.uint8 and ds.data.shape == x.shape
        assert ds.targets.dtype == tinyconv.int64 and ds.targets.tolist() == y.tolist()
        np.testing.assert_array_equal(ds[-1][0].numpy()[0] * 255, x[-1])
    assert ds.class_to_idx[ds.classes[9]] == 9
    assert repr(ds).splitlines() == [
        f"Dataset {cls.__name__}",
        "    Number of datapoints: 5",
        f"    Root location: {tmp_path}",
        "    Split: Test",
    ]


def test_mnist_reads_torchvisions_uncompressed_files_too(tmp_path):
    files, arrays = mnist_files()
    write(tmp_path / "MNIST" / "raw", {k[:-3]: gzip.decompress(v) for k, v in files.items()})
    ds = MNIST(str(tmp_path), train=False)
    np.testing.assert_array_equal(ds.data.numpy(), arrays["test"][0])


def test_transforms_and_dataloader(tmp_path):
    files, arrays = mnist_files()
    write(tmp_path / "MNIST" / "raw", files)
    ds = MNIST(tmp_path, transform=lambda t: (t - 0.5) * 2, target_transform=lambda y: y + 100)
    img, label = ds[0]
    pixels = arrays["train"][0][0].astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(img.numpy()[0], (pixels - np.float32(0.5)) * np.float32(2))
    assert label == arrays["train"][1][0] + 100
    batches = list(DataLoader(MNIST(tmp_path), batch_size=5))
    assert [tuple(x.shape) for x, _ in batches] == [(5, 1, 28, 28), (5, 1, 28, 28), (2, 1, 28, 28)]
    assert (
        batches[0][1].dtype == tinyconv.int64
        and batches[0][1].tolist() == arrays["train"][1][:5].tolist()
    )


def test_bad_indices_and_roots(tmp_path):
    write(tmp_path / "MNIST" / "raw", mnist_files()[0])
    ds = MNIST(tmp_path)
    with pytest.raises(IndexError, match="index 12 is out of range for 12 samples"):
        ds[12]
    with pytest.raises(TypeError, match="index must be an int, got str"):
        ds["0"]
    with pytest.raises(TypeError, match="root must be a folder path"):
        MNIST(3)


def test_missing_data_says_what_to_do(tmp_path):
    with pytest.raises(RuntimeError) as exc:
        MNIST(tmp_path)
    msg = str(exc.value)
    assert "train-images-idx3-ubyte.gz" in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert "download=True" in msg
    with pytest.raises(RuntimeError, match=r"test_batch\.bin missing .*download=True"):
        CIFAR10(tmp_path, train=False)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[:-7], "truncated or damaged: its header promises shape"),
        (lambda b: b"\x01\x02" + b[2:], "is not an IDX file"),
        (lambda b: b[:6], "header is cut off"),
    ],
)
def test_damaged_idx_files_raise_naming_the_file(tmp_path, damage, message):
    files, _ = mnist_files()
    raw = gzip.decompress(files["train-images-idx3-ubyte.gz"])
    files["train-images-idx3-ubyte.gz"] = gz(damage(raw))
    write(tmp_path / "MNIST" / "raw", files)
    with pytest.raises(RuntimeError, match=message) as exc:
        MNIST(tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(exc.value)


def test_a_gzip_file_that_is_not_gzip_raises_naming_it(tmp_path):
    files, _ = mnist_files()
    files["train-labels-idx1-ubyte.gz"] = b"not gzip at all"
    write(tmp_path / "MNIST" / "raw", files)
    with pytest.raises(
        RuntimeError, match=r"can't read .*train-labels-idx1-ubyte\.gz.*download=True"
    ):
        MNIST(tmp_path)


@settings(max_examples=15)
@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=3),
    code_dtype=st.sampled_from(
        [(0x08, "u1"), (0x09, "i1"), (0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")]
    ),
    compressed=st.booleans(),
)
def test_read_idx_round_trips_every_type(tmp_path_factory, shape, code_dtype, compressed):
    code, dtype = code_dtype
    arr = (np.arange(int(np.prod(shape))) - 3).astype(dtype).reshape(shape)
    data = (
        bytes([0, 0, code, len(shape)])
        + b"".join(struct.pack(">I", d) for d in shape)
        + arr.tobytes()
    )
    path = tmp_path_factory.mktemp("idx") / ("x.idx.gz" if compressed else "x.idx")
    path.write_bytes(gz(data) if compressed else data)
    got = read_idx(str(path))
    assert (
        got.shape == tuple(shape)
        and got.dtype == np.dtype(dtype).newbyteorder("=")
        and got.dtype.isnative
    )
    np.testing.assert_array_equal(got, arr)


def test_read_idx_other_types(tmp_path):
    arr = np.arange(6, dtype=">i4").reshape(2, 3)
    path = tmp_path / "x.idx"
    path.write_bytes(bytes([0, 0, 0x0C, 2]) + struct.pack(">II", 2, 3) + arr.tobytes())
    got = read_idx(str(path))
    assert got.dtype == np.int32 and got.dtype.isnative
    np.testing.assert_array_equal(got, np.arange(6).reshape(2, 3))


def test_cifar10_reads_binary_batches(tmp_path):
    archive, arrays = cifar_archive()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for m in tar:
            if m.name.startswith("cifar-10-batches-bin/"):
                write(
                    tmp_path / "cifar-10-batches-bin",
                    {os.path.basename(m.name): tar.extractfile(m).read()},
                )
    train, test = CIFAR10(tmp_path), CIFAR10(tmp_path, train=False)
    assert len(train) == 15 and len(test) == 4
    images, labels = arrays["data_batch_2.bin"]
    img, label = train[3 + 1]  # batch 2's second record
    assert img.dtype == tinyconv.float32 and img.shape == (3, 32, 32)
    np.testing.assert_array_equal(img.numpy(), images[1].astype(np.float32) / 255)
    assert img.numpy()[0, 5, 7] == images[1][0, 5, 7] / np.float32(
        255
    )  # red channel, row 5, column 7
    assert type(label) is int and label == labels[1]
    assert train.data.shape == (15, 32, 32, 3)  # torchvision's (N, H, W, C) uint8 array
    np.testing.assert_array_equal(train.data[4], images[1].transpose(1, 2, 0))
    assert test.targets == arrays["test_batch.bin"][1].tolist()
    assert train.classes == CIFAR10.classes


def test_cifar10_truncated_batch(tmp_path):
    data, _, _ = cifar_batch(0, 2)
    write(tmp_path / "cifar-10-batches-bin", {"test_batch.bin": data[:-1]})
    with pytest.raises(RuntimeError, match=r"test_batch\.bin is truncated"):
        CIFAR10(tmp_path, train=False)


# -- downloading from a local server ------------------------------------------------------------


class Server:
    """A threaded HTTP server on 127.0.0.1 serving `routes[path] = (mode, bytes)`; it counts
    requests.

    mode "ok" serves the bytes; "drop" announces their full length, sends half and closes the
    connection; "stall" sends half and then goes silent for 2 s; "404" answers Not Found.
    """

    def __init__(self) -> None:
        self.routes: dict = {}
        self.hits: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits.append(self.path)
                mode, data = server.routes.get(self.path, ("404", b""))
                if mode == "404":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data if mode == "ok" else data[: len(data) // 2])
                self.wfile.flush()
                if mode == "stall":
                    time.sleep(2)
                    return
                if mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def serve(self, folder: str, files: dict, mode: str = "ok") -> str:
        for name, data in files.items():
            self.routes[f"/{folder}/{name}"] = (mode, data)
        return f"{self.url}/{folder}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def use(monkeypatch, cls, mirrors, files):
    monkeypatch.setattr(cls, "mirrors", mirrors)
    monkeypatch.setattr(cls, "resources", [(name, md5(data)) for name, data in files.items()])
    monkeypatch.setattr(cls, "timeout", 5.0)


def leftovers(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith(".") or n.endswith(".part"))


def test_download_from_the_first_mirror_that_works_and_cache(tmp_path, server, monkeypatch, capsys):
    files, arrays = mnist_files()
    good = server.serve("good", files)
    use(monkeypatch, MNIST, [closed_port_url(), server.url + "/missing/", good], files)
    ds = MNIST(tmp_path, train=True, download=True)
    np.testing.assert_array_equal(ds.data.numpy(), arrays["train"][0])
    out = capsys.readouterr().out
    assert "Failed (" in out and "trying the next mirror" in out and "HTTP Error 404" in out
    assert out.count("(MD5 verified)") == 4
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(files) and leftovers(raw) == []
    for name, data in files.items():
        assert (raw / name).read_bytes() == data  # kept as downloaded, gzip and all

    hits = len(server.hits)
    test = MNIST(tmp_path, train=False, download=True)  # everything is cached: no request at all
    assert len(server.hits) == hits
    np.testing.assert_array_equal(test.targets.numpy(), arrays["test"][1])


def test_a_corrupt_file_is_never_kept_and_the_next_mirror_is_used(
    tmp_path, server, monkeypatch, capsys
):
    files, arrays = mnist_files()
    corrupt = {k: v[:-3] + b"xyz" for k, v in files.items()}  # same length, wrong bytes
    use(monkeypatch, MNIST, [server.serve("bad", corrupt), server.serve("good", files)], files)
    ds = MNIST(tmp_path, download=True)
    np.testing.assert_array_equal(ds.targets.numpy(), arrays["train"][1])
    out = capsys.readouterr().out
    assert out.count("MD5 mismatch") == 4
    assert leftovers(tmp_path / "MNIST" / "raw") == []


def test_wrong_md5_everywhere_fails_and_leaves_nothing(tmp_path, server, monkeypatch):
    files, _ = mnist_files()
    url = server.serve("good", files)
    use(monkeypatch, MNIST, [url, url], files)
    resources = list(MNIST.resources)
    resources[0] = (resources[0][0], "0" * 32)  # the class's list says another MD5
    monkeypatch.setattr(MNIST, "resources", resources)
    with pytest.raises(DownloadError) as exc:
        MNIST(tmp_path, download=True)
    msg = str(exc.value)
    assert msg.count("MD5 mismatch") == 2 and msg.count(url + "train-images-idx3-ubyte.gz") == 2
    assert "put it in" in msg and "0" * 32 in msg
    raw = tmp_path / "MNIST" / "raw"
    assert not (raw / "train-images-idx3-ubyte.gz").exists() and leftovers(raw) == []
    with pytest.raises(RuntimeError, match="dataset not found"):  # and nothing is trusted later
        MNIST(tmp_path)


def test_a_dropped_connection_is_retried_on_the_next_mirror(tmp_path, server, monkeypatch, capsys):
    files, _ = mnist_files(n_train=200)
    use(
        monkeypatch,
        MNIST,
        [server.serve("flaky", files, mode="drop"), server.serve("good", files)],
        files,
    )
    ds = MNIST(tmp_path, download=True)
    assert len(ds) == 200
    out = capsys.readouterr().out
    assert out.count("connection dropped after") == 4
    assert leftovers(tmp_path / "MNIST" / "raw") == []


def test_a_dropped_connection_on_the_only_mirror_leaves_no_partial_file(
    tmp_path, server, monkeypatch
):
    files, _ = mnist_files(n_train=200)
    use(monkeypatch, MNIST, [server.serve("flaky", files, mode="drop")], files)
    with pytest.raises(DownloadError, match="could not download train-images-idx3-ubyte.gz"):
        MNIST(tmp_path, download=True)
    raw = tmp_path / "MNIST" / "raw"
    assert os.listdir(raw) == []


def test_a_stalled_mirror_times_out_and_the_next_one_is_used(tmp_path, server, monkeypatch, capsys):
    files, arrays = mnist_files()
    use(
        monkeypatch,
        MNIST,
        [server.serve("slow", files, mode="stall"), server.serve("good", files)],
        files,
    )
    monkeypatch.setattr(MNIST, "timeout", 0.3)
    started = time.monotonic()
    ds = MNIST(tmp_path, train=False, download=True)
    assert time.monotonic() - started < 10  # four timeouts of 0.3 s, not four stalls of 2 s
    assert ds.targets.tolist() == arrays["test"][1].tolist()
    assert capsys.readouterr().out.count("timed out") == 4
    assert leftovers(tmp_path / "MNIST" / "raw") == []


def test_no_network_says_what_to_do(tmp_path, monkeypatch):
    files, _ = mnist_files()
    use(monkeypatch, MNIST, [closed_port_url()], files)
    with pytest.raises(DownloadError) as exc:
        MNIST(tmp_path, download=True)
    msg = str(exc.value)
    assert "could not download train-images-idx3-ubyte.gz from any mirror" in msg
    assert "Connection refused" in msg or "refused" in msg.lower()
    assert "Check the network connection" in msg and str(tmp_path / "MNIST" / "raw") in msg


def test_a_damaged_cached_file_is_downloaded_again(tmp_path, server, monkeypatch, capsys):
    files, arrays = mnist_files()
    use(monkeypatch, MNIST, [server.serve("good", files)], files)
    raw = tmp_path / "MNIST" / "raw"
    write(raw, files)
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(b"half a file")
    ds = MNIST(tmp_path, download=True)
    assert ds.targets.tolist() == arrays["train"][1].tolist()
    assert server.hits == ["/good/train-labels-idx1-ubyte.gz"]  # only the damaged one
    assert "damaged or out of date" in capsys.readouterr().out


def test_fashion_mnist_downloads_into_its_own_folder(tmp_path, server, monkeypatch):
    files, _ = mnist_files()
    use(monkeypatch, FashionMNIST, [server.serve("fashion", files)], files)
    ds = FashionMNIST(tmp_path, train=False, download=True)
    assert (tmp_path / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte.gz").exists()
    assert ds.classes[9] == "Ankle boot" and len(ds) == 5


def test_cifar10_download_verifies_and_unpacks_only_its_files(tmp_path, server, monkeypatch):
    archive, arrays = cifar_archive()
    files = {"cifar-10-binary.tar.gz": archive}
    use(
        monkeypatch,
        CIFAR10,
        [
            server.serve("bad", {"cifar-10-binary.tar.gz": archive[:-5] + b"00000"}),
            server.serve("cifar", files),
        ],
        files,
    )
    ds = CIFAR10(tmp_path, train=False, download=True)
    np.testing.assert_array_equal(
        ds[2][0].numpy(), arrays["test_batch.bin"][0][2] / np.float32(255)
    )
    assert sorted(os.listdir(tmp_path / "cifar-10-batches-bin")) == sorted(
        [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin", "batches.meta.txt"]
    )
    assert (
        not (tmp_path.parent / "escaped.bin").exists() and not (tmp_path / "escaped.bin").exists()
    )
    hits = len(server.hits)
    assert len(CIFAR10(tmp_path, download=True)) == 15 and len(server.hits) == hits  # cached


def test_download_progress_with_and_without_tqdm(tmp_path, server, monkeypatch, capsys):
    files, _ = mnist_files(n_train=300)
    use(monkeypatch, MNIST, [server.serve("good", files)], files)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if tqdm were not installed
    MNIST(tmp_path / "plain", download=True)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("train-images-idx3-ubyte.gz: ")]
    assert lines and lines[-1].startswith("train-images-idx3-ubyte.gz: 100% ") and "\r" not in err
    assert lines[-1].endswith(" kB") or lines[-1].endswith(" MB")
    monkeypatch.delitem(sys.modules, "tqdm")
    pytest.importorskip("tqdm")
    MNIST(tmp_path / "bar", download=True)
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and "\r" in err  # tqdm redraws its bar in place
