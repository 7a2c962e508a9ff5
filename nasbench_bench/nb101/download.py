"""Download the official NAS-Bench-101 TFRecord files (stdlib ``urllib`` only), resumably and verified.

The file is fetched into ``<name>.part`` (a partial ``.part`` is resumed with an HTTP ``Range`` request; a
server that ignores ``Range`` makes us restart from byte 0), its size is checked against the server's
``Content-Length``/``Content-Range`` total, every record's framing and CRC32C is checked by streaming it
through :func:`~nasbench_bench.nb101.tfrecord.iter_records`, and only then is it renamed to its final name
(atomic ``os.replace`` in the same directory). A final file that is already present is complete by
construction and is returned without any request.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO

from nasbench_bench.locks import LockBusy, hold_lock
from nasbench_bench.nb101.tfrecord import CorruptRecordError, iter_records_with_offsets
from nasbench_bench.paths import cache_dir

__all__ = [
    "APPROX_SIZES",
    "EXPECTED_RECORDS",
    "OFFICIAL_URLS",
    "CorruptDownloadError",
    "DownloadError",
    "IncompleteDownloadError",
    "default_dest_dir",
    "download",
]

log = logging.getLogger(__name__)

OFFICIAL_URLS: dict[str, str] = {
    "only108": "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord",
    "full": "https://storage.googleapis.com/nasbench/nasbench_full.tfrecord",
}
#: Rough sizes for messages only; the exact size is always the server's Content-Length.
APPROX_SIZES: dict[str, str] = {"only108": "~0.5 GB", "full": "~1.95 GB"}
#: One record per (cell, epoch budget, trial): 423,624 cells x 3 trials x (1 or 4) budgets.
EXPECTED_RECORDS: dict[str, int] = {"only108": 423_624 * 3, "full": 423_624 * 3 * 4}
USER_AGENT = "nasbench-bench-downloader"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_CONTENT_RANGE_UNSAT = re.compile(r"bytes\s+\*/(\d+)")


class DownloadError(RuntimeError):
    """A download that could not be completed; the message says why and what to do."""


class IncompleteDownloadError(DownloadError):
    """The transfer ended before the announced size; ``.part`` is kept so a rerun resumes."""

    def __init__(self, path: Path, expected: int, got: int, detail: str = "") -> None:
        self.path, self.expected, self.got = path, expected, got
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"download incomplete: expected {expected:,} bytes, got {got:,}{extra}; refusing to move {path} "
            "into place. Run the same command again to resume."
        )


class CorruptDownloadError(DownloadError):
    """The downloaded bytes fail the TFRecord framing/CRC check at byte ``offset``."""

    def __init__(self, path: Path, offset: int, reason: str) -> None:
        self.path, self.offset, self.reason = path, offset, reason
        super().__init__(
            f"downloaded file is corrupt at byte offset {offset:,} ({reason}); it was deleted, "
            "run the command again to download it afresh"
        )


def default_dest_dir() -> Path:
    """``cache_dir()/downloads``."""
    return cache_dir() / "downloads"


def _unreachable(url: str, exc: BaseException) -> DownloadError:
    host = urllib.parse.urlsplit(url).hostname or url
    reason = getattr(exc, "reason", None) or exc
    return DownloadError(
        f"could not reach {host}: {reason}; download on a machine with internet and pass the file to "
        "`nasbench-bench data convert`"
    )


def _progress_bar(progress: bool, total: int | None, initial: int, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
        disable=not progress, leave=False,
    )


def _open(url: str, start: int, timeout: float) -> http.client.HTTPResponse | urllib.error.HTTPError:
    """GET ``url`` from byte ``start``; an HTTP 416 comes back as the error object (not raised)."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if start > 0:
        headers["Range"] = f"bytes={start}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416:
            return exc
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _unreachable(url, exc) from exc


def _transfer(
    url: str, part: Path, timeout: float, chunk_size: int, progress: bool, known_total: int | None
) -> tuple[int | None, str]:
    """One GET into ``part`` (resuming if it exists). Returns ``(total or None, how the stream ended)``."""
    have = part.stat().st_size if part.exists() else 0
    resp = _open(url, have, timeout)
    with contextlib.closing(resp):
        if isinstance(resp, urllib.error.HTTPError):  # 416: our range starts at or past the end
            m = _CONTENT_RANGE_UNSAT.match(resp.headers.get("Content-Range", ""))
            total = int(m.group(1)) if m else known_total
            if total is not None and have == total:
                log.info("%s is already complete (%d bytes)", part, have)
                return total, "complete"
            log.warning("server refused range from byte %d (total %s); restarting from byte 0", have, total)
            part.unlink()
            return total, "restart"
        status = resp.status
        length = resp.headers.get("Content-Length")
        if status == 206:
            m = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
            if m is None or int(m.group(1)) != have:
                log.warning("unexpected Content-Range %r for a resume from byte %d; restarting",
                            resp.headers.get("Content-Range"), have)
                part.unlink(missing_ok=True)
                return known_total, "restart"
            total = None if m.group(3) == "*" else int(m.group(3))
            mode = "ab"
        elif status == 200:
            if have:
                log.warning("server ignored the Range request; restarting %s from byte 0", part.name)
                have = 0
            total = int(length) if length is not None else None
            mode = "wb"
        else:
            raise DownloadError(f"{url}: unexpected HTTP status {status}")
        if known_total is not None and total is not None and total != known_total:
            log.warning("remote size changed from %d to %d bytes; restarting", known_total, total)
            part.unlink(missing_ok=True)
            return total, "restart"
        ended = "eof"
        with open(part, mode) as fh, _progress_bar(progress, total, have, part.name[:-5]) as bar:
            try:
                _copy(resp, fh, chunk_size, bar)
            except (OSError, http.client.HTTPException) as exc:  # reset, timeout, IncompleteRead
                ended = f"connection lost: {exc!r}"
                log.warning("transfer of %s interrupted: %r", part.name, exc)
            fh.flush()
            os.fsync(fh.fileno())
        return total, ended


def _copy(resp: http.client.HTTPResponse, fh: BinaryIO, chunk_size: int, bar: Any) -> None:
    while True:
        chunk = resp.read(chunk_size)
        if not chunk:
            return
        fh.write(chunk)
        bar.update(len(chunk))


def _verify_records(path: Path, progress: bool) -> int:
    """Stream every record through the CRC-checking reader; returns the record count."""
    n = 0
    last = 0
    size = path.stat().st_size
    with _progress_bar(progress, size, 0, "verifying") as bar:
        try:
            for offset, _ in iter_records_with_offsets(path):
                n += 1
                if offset - last >= 64 << 20:
                    bar.update(offset - last)
                    last = offset
        except CorruptRecordError as exc:
            path.unlink(missing_ok=True)
            raise CorruptDownloadError(path, exc.offset, exc.reason) from exc
        bar.update(size - last)
    if n == 0:
        path.unlink(missing_ok=True)
        raise CorruptDownloadError(path, 0, "the file holds no records")
    return n


def download(
    variant: str = "only108",
    dest_dir: str | os.PathLike[str] | None = None,
    url: str | None = None,
    progress: bool = False,
    chunk_size: int = 1 << 20,
    timeout: float = 30,
    retries: int = 3,
) -> Path:
    """Download an official NAS-Bench-101 file ("only108" or "full") and return its path.

    ``url`` overrides the official URL (e.g. a mirror); the file keeps the URL's base name. ``dest_dir``
    defaults to ``cache_dir()/downloads``. An interrupted transfer is resumed up to ``retries`` times in
    this call (and by any later call, from the ``.part`` file). Raises :class:`DownloadError` (network,
    HTTP), :class:`IncompleteDownloadError` (short file; never moved into place) or
    :class:`CorruptDownloadError` (bad framing/CRC).
    """
    if variant not in OFFICIAL_URLS:
        raise ValueError(f"unknown NAS-Bench-101 variant {variant!r}; valid: {list(OFFICIAL_URLS)}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    src = url or OFFICIAL_URLS[variant]
    scheme = urllib.parse.urlsplit(src).scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"only http(s) URLs are supported, got {src!r}")
    name = Path(urllib.parse.urlsplit(src).path).name or Path(OFFICIAL_URLS[variant]).name
    dest = Path(dest_dir) if dest_dir is not None else default_dest_dir()
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / name
    if final.is_file():
        log.info("%s already present; not downloading", final)
        return final
    part = dest / f"{name}.part"
    try:
        with hold_lock(dest / f".{name}.part.lock", wait=False, what=f"the download into {part}"):
            if final.is_file():  # finished by another process meanwhile
                return final
            n = _fetch(src, part, name, variant, url, timeout, chunk_size, progress, retries)
            os.replace(part, final)
    except LockBusy as exc:
        raise DownloadError(f"another download into {part} is in progress ({exc})") from None
    log.info("verified %d records; saved %s", n, final)
    return final


def _fetch(src: str, part: Path, name: str, variant: str, url: str | None, timeout: float, chunk_size: int,
           progress: bool, retries: int) -> int:
    """Transfer ``src`` into ``part`` (resuming), check its size and every record; return the record count."""
    log.info("downloading %s (%s) into %s", src, APPROX_SIZES[variant] if url is None else "?", part)
    total: int | None = None
    ended = ""
    attempts = 0
    while True:
        total, ended = _transfer(src, part, timeout, chunk_size, progress, total)
        got = part.stat().st_size if part.exists() else 0
        if ended == "restart":
            attempts += 1
        elif total is None:
            if ended == "eof":
                log.warning("server sent no size for %s; relying on the record check alone", src)
                break
            attempts += 1
        elif got == total:
            break
        elif got > total:
            part.unlink()
            raise DownloadError(f"download larger than announced: expected {total:,} bytes, got {got:,}")
        else:
            attempts += 1
        if attempts > retries:
            if total is None or ended == "restart":
                raise DownloadError(f"could not complete the download of {src} after {attempts} attempts")
            raise IncompleteDownloadError(part, total, got, ended)
        log.info("resuming %s from byte %d (attempt %d of %d)", name, got, attempts + 1, retries + 1)
    n = _verify_records(part, progress)
    if url is None and n != EXPECTED_RECORDS[variant]:
        log.warning("%s holds %d records, expected %d for %r", name, n, EXPECTED_RECORDS[variant], variant)
    return n
