"""The shipped table of the NAS-Bench-101 search space's module hashes (so a fresh machine does not md5 it).

Building the search space (:mod:`~nasbench_bench.nb101.space`) enumerates the 423,624 cells with numpy in a few
seconds; hashing them with the official module hash costs about 20 CPU-seconds of md5. The package ships that
hash table, ``data/nb101_space_hashes.npz``, produced by this suite's own enumerator and hash function (see
``data/PROVENANCE.md``), and the build uses it instead of hashing:

* ``encoding`` (N,) uint32, ascending: the canonical encoding of each cell, ``n << 29 | code << 8 | labels``
  (``n`` vertices of the pruned cell, ``code`` its canonical upper-triangular adjacency code, bit ``k`` = the
  ``k``-th position of the row-major upper triangle, ``labels`` the middle op labels in base 3, vertex 1 the
  least significant digit; 0/1/2 = :data:`~nasbench_bench.nb101.spec.OPS`);
* ``digest`` (N, 16) uint8: the md5 module hash of that cell (its 32 hex digits are the NB101 hash).

:func:`load_table` checks the file's sha256 against :data:`SHA256` and its structure before anything is used,
and raises :class:`~nasbench_bench.store.DataFormatError` naming the problem otherwise (the space build then
computes the hashes itself, with a warning). Regenerate (about a minute on 2 cores)::

    python -m nasbench_bench.nb101.space_hashes --write nasbench_bench/nb101/data/nb101_space_hashes.npz

which prints the new file's sha256 for :data:`SHA256`; ``--check`` recomputes and compares with the shipped
table.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import zipfile
from pathlib import Path

import numpy as np

from nasbench_bench.store import DataFormatError

__all__ = ["FILE", "SHA256", "compute_table", "decode", "encode", "hex_of", "load_table", "lookup", "write_table"]

log = logging.getLogger(__name__)

FILE = "nb101_space_hashes.npz"
DATA_DIR = Path(__file__).resolve().parent / "data"
#: sha256 of the shipped ``data/nb101_space_hashes.npz`` (the table the suite was tested with).
SHA256 = "834cb7c21910ec8f5449cffc3c86e654b318baa0a8d856e142eb518feba31ec6"
N_CELLS = 423_624
REGENERATE = "python -m nasbench_bench.nb101.space_hashes --write nasbench_bench/nb101/data/nb101_space_hashes.npz"
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def encode(n: np.ndarray, code: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The canonical uint32 encoding ``n << 29 | code << 8 | labels`` of cells (see the module docstring)."""
    n, code, labels = (np.asarray(x, dtype=np.int64) for x in (n, code, labels))
    return ((n << 29) | (code << 8) | labels).astype(np.uint32)


def decode(enc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(n, code, labels)`` int64 arrays of encoded cells (inverse of :func:`encode`)."""
    e = np.asarray(enc, dtype=np.int64)
    return e >> 29, (e >> 8) & ((1 << 21) - 1), e & 255


def hex_of(digest: np.ndarray) -> np.ndarray:
    """(N,) 'S32' lowercase hex strings of (N, 16) uint8 digests."""
    d = np.asarray(digest, dtype=np.uint8)
    out = np.empty((len(d), 32), dtype=np.uint8)
    out[:, 0::2] = _HEX[d >> 4]
    out[:, 1::2] = _HEX[d & 15]
    return out.view("S32").ravel()


def _digest_of(hexes: np.ndarray) -> np.ndarray:
    h = np.frombuffer(np.ascontiguousarray(hexes, dtype="S32").tobytes(), dtype=np.uint8).reshape(-1, 32)
    nib = np.where(h >= 97, h - 87, h - 48).astype(np.uint8)
    return (nib[:, 0::2] << 4) | nib[:, 1::2]


def _path() -> Path:
    return DATA_DIR / FILE


def load_table(path: str | Path | None = None, sha256: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(encoding, digest)`` of the shipped table, after checking its sha256 and structure.

    :class:`DataFormatError` if the file is missing, altered or malformed (the message says how to fix it).
    """
    p = Path(path) if path is not None else _path()
    want = sha256 if sha256 is not None else SHA256
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataFormatError(f"the shipped NAS-Bench-101 hash table {p} cannot be read ({exc}); reinstall "
                              f"nasbench-bench or regenerate it with `{REGENERATE}`") from None
    got = hashlib.sha256(raw).hexdigest()
    if got != want:
        raise DataFormatError(f"the shipped NAS-Bench-101 hash table {p} has sha256 {got}, expected {want}: it was "
                              f"altered or damaged; reinstall nasbench-bench or regenerate it with `{REGENERATE}`")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            enc, dig = z["encoding"], z["digest"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DataFormatError(f"{p} is not a NAS-Bench-101 hash table ({exc})") from None
    if enc.dtype != np.uint32 or enc.shape != (N_CELLS,) or dig.dtype != np.uint8 or dig.shape != (N_CELLS, 16):
        raise DataFormatError(f"{p}: expected encoding ({N_CELLS},) uint32 and digest ({N_CELLS}, 16) uint8, got "
                              f"{enc.shape} {enc.dtype} and {dig.shape} {dig.dtype}")
    if np.any(enc[1:] <= enc[:-1]):
        raise DataFormatError(f"{p}: the encodings are not strictly ascending")
    return enc, dig


def lookup(enc: np.ndarray, table: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """'S32' hex hashes of encoded cells from the shipped table (:func:`load_table` unless ``table`` is given).

    :class:`DataFormatError` unless the encodings are exactly the table's (the enumerator and the table must
    describe the same cells).
    """
    t_enc, t_dig = table if table is not None else load_table()
    e = np.asarray(enc, dtype=np.uint32)
    pos = np.minimum(np.searchsorted(t_enc, e), len(t_enc) - 1)
    if len(e) != len(t_enc) or not np.array_equal(t_enc[pos], e) or len(np.unique(pos)) != len(e):
        raise DataFormatError("the enumerated NAS-Bench-101 cells are not the cells of the shipped hash table "
                              f"(regenerate it with `{REGENERATE}`)")
    return hex_of(t_dig[pos])


def compute_table(workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(encoding, digest)`` computed from scratch: the suite's enumerator, every cell hashed (slow)."""
    from nasbench_bench.nb101 import space as sp

    e = sp._enumerate()
    hexes = sp._hash_reps(e, workers=workers)
    enc = encode(e.r_n, e.r_code, e.r_lab)
    order = np.argsort(enc, kind="stable")
    return enc[order], _digest_of(hexes[order])


def write_table(path: str | Path, table: tuple[np.ndarray, np.ndarray]) -> str:
    """Write ``(encoding, digest)`` as a deterministic ``.npz`` (fixed timestamps, deflate); returns its sha256."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, arr in (("encoding", table[0]), ("digest", table[1])):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, member.getvalue(), compresslevel=9)
    data = buf.getvalue()
    Path(path).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """``--write PATH``: compute the table and write it; ``--check``: compute and compare with the shipped one."""
    parser = argparse.ArgumentParser(prog="python -m nasbench_bench.nb101.space_hashes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", metavar="PATH", help="compute the table and write it to PATH")
    group.add_argument("--check", action="store_true", help="compute the table and compare it with the shipped one")
    parser.add_argument("--workers", type=int, default=None, help="hashing processes (default: up to 2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    table = compute_table(workers=args.workers)
    if args.write:
        sha = write_table(args.write, table)
        print(f"wrote {args.write}: {Path(args.write).stat().st_size:,} bytes, sha256 {sha}")
        return 0
    shipped = load_table()
    same = np.array_equal(shipped[0], table[0]) and np.array_equal(shipped[1], table[1])
    print(f"shipped table {'equals' if same else 'DIFFERS FROM'} the recomputed one")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
