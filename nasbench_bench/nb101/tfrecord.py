"""TFRecord framing without TensorFlow: a checksum-verifying reader and an atomic writer.

Each record is ``uint64 length (LE) | uint32 masked crc32c(length bytes) | data | uint32 masked
crc32c(data)``; the mask rotates the CRC right by 15 bits and adds ``0xa282ead8`` (mod 2**32).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import crc32c

from nasbench_bench.paths import atomic_path

__all__ = [
    "CorruptRecordError",
    "TFRecordWriter",
    "iter_records",
    "iter_records_with_offsets",
    "masked_crc",
    "write_records",
]

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_CHUNK = 16 << 20  # bytes read per system call


class CorruptRecordError(ValueError):
    """A record whose framing or checksums are wrong, or which is cut short; names its byte offset."""

    def __init__(self, path: str | os.PathLike[str], offset: int, reason: str) -> None:
        self.path = str(path)
        self.offset = offset
        self.reason = reason
        super().__init__(f"{self.path}: corrupt TFRecord at byte offset {offset}: {reason}")


def masked_crc(data: bytes | memoryview) -> int:
    """The TFRecord masked CRC32C of ``data``."""
    crc = crc32c.crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def iter_records_with_offsets(path: str | os.PathLike[str], verify: bool = True) -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset, data)`` for every record of a TFRecord file, verifying both checksums.

    Raises :class:`CorruptRecordError` (with ``.offset`` of the record's first byte) on a bad
    length checksum, a bad data checksum or a truncated record; ``FileNotFoundError`` if missing.
    """
    path = Path(path)
    crc = crc32c.crc32c
    unpack_header = _HEADER.unpack_from
    unpack_footer = _FOOTER.unpack_from
    with open(path, "rb", buffering=0) as fh:
        buf = b""
        pos = 0  # position of the next record inside buf
        base = 0  # file offset of buf[0]
        eof = False
        while True:
            # Refill when the next header or record is not entirely in the buffer.
            if len(buf) - pos < 12 and not eof:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    eof = True
                buf = buf[pos:] + chunk
                base += pos
                pos = 0
            n = len(buf)
            if pos == n and eof:
                return
            if n - pos < 12:
                if eof:
                    raise CorruptRecordError(path, base + pos, f"truncated header ({n - pos} of 12 bytes)")
                continue
            length, len_crc = unpack_header(buf, pos)
            if verify:
                hdr = buf[pos : pos + 8]
                c = crc(hdr)
                if ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF != len_crc:
                    raise CorruptRecordError(path, base + pos, "length checksum mismatch (not a TFRecord file?)")
            end = pos + 12 + length + 4
            if end > n:
                if eof:
                    raise CorruptRecordError(
                        path, base + pos, f"truncated record (needs {12 + length + 4} bytes, {n - pos} left)"
                    )
                need = end - n
                chunk = fh.read(max(_CHUNK, need))
                if not chunk:
                    eof = True
                buf = buf[pos:] + chunk
                base += pos
                pos = 0
                continue
            data = buf[pos + 12 : pos + 12 + length]
            if verify:
                c = crc(data)
                (data_crc,) = unpack_footer(buf, end - 4)
                if ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF != data_crc:
                    raise CorruptRecordError(path, base + pos, "data checksum mismatch")
            yield base + pos, data
            pos = end


def iter_records(path: str | os.PathLike[str], verify: bool = True) -> Iterator[bytes]:
    """Yield the data of every record of a TFRecord file (checksums verified; see above)."""
    for _, data in iter_records_with_offsets(path, verify=verify):
        yield data


def frame(data: bytes) -> bytes:
    """One record's bytes: header, data and footer."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc(header)) + data + struct.pack("<I", masked_crc(data))


class TFRecordWriter:
    """Write records to ``path`` atomically: the file appears complete on close, or not at all.

    Use as a context manager; an exception inside the block leaves ``path`` untouched.
    """

    def __init__(self, path: str | os.PathLike[str], buffer_size: int = 8 << 20) -> None:
        self.path = Path(path)
        self._buffer_size = buffer_size
        self._ctx = atomic_path(self.path)
        self._fh: BinaryIO | None = None
        self.n_records = 0

    def __enter__(self) -> TFRecordWriter:
        tmp = self._ctx.__enter__()
        self._fh = open(tmp, "wb", buffering=self._buffer_size)
        return self

    def write(self, data: bytes) -> None:
        """Append one record."""
        if self._fh is None:
            raise RuntimeError("TFRecordWriter is not open; use it as a context manager")
        self._fh.write(frame(data))
        self.n_records += 1

    def write_framed(self, framed: bytes, n_records: int) -> None:
        """Append ``n_records`` records already framed with :func:`frame` (a fast path for bulk writers)."""
        if self._fh is None:
            raise RuntimeError("TFRecordWriter is not open; use it as a context manager")
        self._fh.write(framed)
        self.n_records += n_records

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        assert self._fh is not None
        self._fh.close()
        self._fh = None
        return bool(self._ctx.__exit__(exc_type, exc, tb))


def write_records(path: str | os.PathLike[str], records: Iterable[bytes]) -> int:
    """Write all ``records`` to a TFRecord file atomically; returns the number written."""
    with TFRecordWriter(path) as writer:
        for data in records:
            writer.write(data)
        return writer.n_records
