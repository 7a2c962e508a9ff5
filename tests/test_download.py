"""``data.download`` against a local HTTP server on 127.0.0.1 (no other network): full download, resume
with Range, a server ignoring Range, short files refused, CRC corruption detected, no request when the file
is already there, clear errors when the host cannot be reached, and the CLI sub-command."""

from __future__ import annotations

import http.server
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from nasbench_bench.nb101.download import (
    CorruptDownloadError,
    DownloadError,
    IncompleteDownloadError,
    download,
)
from nasbench_bench.nb101.tfrecord import iter_records, iter_records_with_offsets, write_records

NAME = "nasbench_only108.tfrecord"


@dataclass
class ServerState:
    content: bytes = b""
    truncate_first: int = 0  # serve this many truncated responses (half the body) before honest ones
    always_short: bool = False  # every response announces the full length but stops early
    ignore_range: bool = False
    no_length: bool = False
    status: int = 0  # answer every request with this HTTP error
    requests: list[dict[str, str]] = field(default_factory=list)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: ServerState  # set on the per-server subclass

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        st = self.state
        st.requests.append({"path": self.path, **{k: v for k, v in self.headers.items()}})
        if st.status:
            self.send_error(st.status)
            return
        data = st.content
        start = 0
        rng = self.headers.get("Range")
        if rng and not st.ignore_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        if st.no_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if st.always_short or st.truncate_first > 0:
            st.truncate_first -= 1
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


@dataclass
class Server:
    state: ServerState
    url: str


@pytest.fixture
def server() -> Iterator[Server]:
    state = ServerState()
    handler = type("BoundHandler", (Handler,), {"state": state})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Server(state, f"http://127.0.0.1:{httpd.server_address[1]}/nasbench/{NAME}")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def tfrecord_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A valid TFRecord file (~150 KB, 120 records of random sizes) written by the suite's writer."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("tfr") / "valid.tfrecord"
    write_records(path, (rng.bytes(int(n)) for n in rng.integers(1, 2500, 120)))
    return path.read_bytes()


def _get(srv: Server, dest: Path, **kw: object) -> Path:
    return download("only108", dest_dir=dest, url=srv.url, chunk_size=4096, timeout=5, **kw)


def test_full_download(server: Server, tfrecord_bytes: bytes, tmp_path: Path) -> None:
    server.state.content = tfrecord_bytes
    path = _get(server, tmp_path)
    assert path == tmp_path / NAME
    assert path.read_bytes() == tfrecord_bytes
    assert sum(1 for _ in iter_records(path)) == 120
    assert not (tmp_path / f"{NAME}.part").exists()
    assert len(server.state.requests) == 1 and "Range" not in server.state.requests[0]
    assert server.state.requests[0]["path"] == f"/nasbench/{NAME}"


def test_resume_within_one_call(server: Server, tfrecord_bytes: bytes, tmp_path: Path) -> None:
    server.state.content = tfrecord_bytes
    server.state.truncate_first = 1
    path = _get(server, tmp_path, progress=True)  # with tqdm bars (download + verification)
    assert path.read_bytes() == tfrecord_bytes
    reqs = server.state.requests
    assert len(reqs) == 2
    assert reqs[1]["Range"] == f"bytes={len(tfrecord_bytes) // 2}-"


def test_resume_across_calls(server: Server, tfrecord_bytes: bytes, tmp_path: Path) -> None:
    server.state.content = tfrecord_bytes
    server.state.truncate_first = 1
    with pytest.raises(IncompleteDownloadError) as info:
        _get(server, tmp_path, retries=0)
    half = len(tfrecord_bytes) // 2
    assert info.value.expected == len(tfrecord_bytes) and info.value.got == half
    assert f"expected {len(tfrecord_bytes):,} bytes, got {half:,}" in str(info.value)
    assert not (tmp_path / NAME).exists()
    assert (tmp_path / f"{NAME}.part").stat().st_size == half
    path = _get(server, tmp_path, retries=0)
    assert path.read_bytes() == tfrecord_bytes
    assert server.state.requests[-1]["Range"] == f"bytes={half}-"


def test_server_ignoring_range_restarts(
    server: Server, tfrecord_bytes: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.state.content = tfrecord_bytes
    server.state.ignore_range = True
    (tmp_path / f"{NAME}.part").write_bytes(b"\xff" * 1000)  # a stale partial file with wrong bytes
    with caplog.at_level(logging.WARNING, logger="nasbench_bench.nb101.download"):
        path = _get(server, tmp_path)
    assert path.read_bytes() == tfrecord_bytes
    assert server.state.requests[0]["Range"] == "bytes=1000-"
    assert "ignored the Range request" in caplog.text


def test_part_already_complete_gets_416_then_verified(
    server: Server, tfrecord_bytes: bytes, tmp_path: Path
) -> None:
    server.state.content = tfrecord_bytes
    (tmp_path / f"{NAME}.part").write_bytes(tfrecord_bytes)
    path = _get(server, tmp_path)
    assert path.read_bytes() == tfrecord_bytes
    assert len(server.state.requests) == 1


def test_refuses_short_file(server: Server, tfrecord_bytes: bytes, tmp_path: Path) -> None:
    server.state.content = tfrecord_bytes
    server.state.always_short = True
    with pytest.raises(IncompleteDownloadError, match=r"expected [\d,]+ bytes, got [\d,]+") as info:
        _get(server, tmp_path, retries=2)
    assert info.value.expected == len(tfrecord_bytes) and info.value.got < len(tfrecord_bytes)
    assert not (tmp_path / NAME).exists()  # never renamed into place
    assert len(server.state.requests) == 3


def test_corrupt_content_detected(server: Server, tfrecord_bytes: bytes, tmp_path: Path) -> None:
    offsets = [off for off, _ in iter_records_with_offsets_bytes(tfrecord_bytes, tmp_path)]
    bad = bytearray(tfrecord_bytes)
    target = offsets[57]
    bad[target + 12 + 3] ^= 0x40  # flip a bit in record 57's data
    server.state.content = bytes(bad)
    with pytest.raises(CorruptDownloadError) as info:
        _get(server, tmp_path)
    assert info.value.offset == target
    assert not (tmp_path / NAME).exists()
    assert not (tmp_path / f"{NAME}.part").exists()  # corrupt bytes are not kept for a resume


def test_not_a_tfrecord(server: Server, tmp_path: Path) -> None:
    server.state.content = b"<html>captive portal</html>"
    with pytest.raises(CorruptDownloadError) as info:
        _get(server, tmp_path)
    assert info.value.offset == 0
    assert not (tmp_path / NAME).exists()


def test_no_content_length_relies_on_records(server: Server, tfrecord_bytes: bytes, tmp_path: Path) -> None:
    server.state.content = tfrecord_bytes
    server.state.no_length = True
    assert _get(server, tmp_path).read_bytes() == tfrecord_bytes


def test_existing_file_no_request(server: Server, tmp_path: Path) -> None:
    (tmp_path / NAME).write_bytes(b"already here")
    assert _get(server, tmp_path) == tmp_path / NAME
    assert server.state.requests == []


def test_unreachable_host(tmp_path: Path) -> None:
    with socket.socket() as s:  # a local port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError) as info:
        download("full", dest_dir=tmp_path, url=f"http://127.0.0.1:{port}/nasbench_full.tfrecord", timeout=2)
    msg = str(info.value)
    assert msg.startswith("could not reach 127.0.0.1:")
    assert "download on a machine with internet" in msg and "`nasbench-bench data convert`" in msg
    assert list(tmp_path.iterdir()) == []  # nothing left behind (no final file, no lock file)


def test_http_error(server: Server, tmp_path: Path) -> None:
    server.state.status = 404
    with pytest.raises(DownloadError, match="HTTP 404"):
        _get(server, tmp_path)
    assert not (tmp_path / NAME).exists() and len(server.state.requests) == 1


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown NAS-Bench-101 variant"):
        download("108", dest_dir=tmp_path)
    with pytest.raises(ValueError, match="only http"):
        download("only108", dest_dir=tmp_path, url="file:///etc/passwd")


def test_cli(server: Server, tfrecord_bytes: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasbench_bench.cli import build_parser

    server.state.content = tfrecord_bytes
    args = build_parser().parse_args(["data", "download", "--dest", str(tmp_path), "--url", server.url, "-q"])
    assert args.variant == "only108"
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / NAME) in out
    assert f"nasbench-bench data convert {tmp_path / NAME}" in out


def test_cli_network_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasbench_bench.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc = main(["data", "download", "--variant", "full", "--dest", str(tmp_path), "-q",
               "--url", f"http://127.0.0.1:{port}/nasbench_full.tfrecord"])
    assert rc == 1
    assert "could not reach 127.0.0.1" in capsys.readouterr().err


def iter_records_with_offsets_bytes(data: bytes, tmp: Path) -> Iterator[tuple[int, bytes]]:
    f = tmp / "probe.tfrecord"
    f.write_bytes(data)
    yield from iter_records_with_offsets(f)


def test_concurrent_download_refused(server: Server, tfrecord_bytes: bytes, tmp_path: Path) -> None:
    from nasbench_bench.locks import hold_lock

    server.state.content = tfrecord_bytes
    with hold_lock(tmp_path / f".{NAME}.part.lock"):  # a live process (this one) is downloading
        with pytest.raises(DownloadError, match="in progress"):
            _get(server, tmp_path)
    assert server.state.requests == []
