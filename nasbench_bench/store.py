"""The one table store: every converted cache is a directory of ``.npy`` arrays plus ``manifest.json``.

Rules, the same for every cache the suite writes (NAS-Bench-101 conversions, NAS-Bench-201, the search space,
synthetic tables):

* **Atomic**: a cache is written into a temporary sibling directory (each file fsynced, the manifest last)
  and renamed into place, so a reader sees a complete cache or none.
* **Nothing of the user's is lost**: an existing destination is replaced only if it is empty or is a cache
  this suite wrote (recognised by its manifest); anything else is refused with :class:`StoreRefused`.
* **Validated**: the manifest names the format and version; every array is read with
  ``np.load(allow_pickle=False)`` and checked against the shape and dtype the manifest records.
* **Built once**: :func:`cached` builds a missing or outdated cache under a lock, so concurrent processes
  wait for one builder instead of building it twice.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_bench.locks import hold_lock
from nasbench_bench.paths import apply_umask

__all__ = [
    "MANIFEST",
    "DataFormatError",
    "StoreRefused",
    "cached",
    "existing_cache",
    "read",
    "read_manifest",
    "write",
]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
_PREFIX = "nasbench_bench."

Arrays = dict[str, np.ndarray]


class DataFormatError(ValueError):
    """A file or cache that is not what it should be (not a TFRecord, bad record, unknown cache format)."""


class StoreRefused(DataFormatError):
    """A cache would overwrite something that is not a cache of this suite."""


# -- what is there ------------------------------------------------------------------------------------------
def existing_cache(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of ``path`` if it is a cache directory this suite wrote, else None."""
    mf = Path(path) / MANIFEST
    try:
        manifest = json.loads(mf.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("arrays"), dict):
        return None
    fmt = manifest.get("format")
    return manifest if fmt is None or str(fmt).startswith(_PREFIX) else None


def check_destination(dst: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Raise :class:`StoreRefused` unless ``dst`` is absent, an empty directory or a cache of this suite.

    Returns the manifest of the cache that writing would replace (None if there is none).
    """
    dst = Path(dst)
    if not dst.exists() and not dst.is_symlink():
        return None
    if not dst.is_dir():
        raise StoreRefused(f"{dst} exists and is not a directory: refusing to replace it with a cache "
                           "(choose another destination or remove the file yourself)")
    manifest = existing_cache(dst)
    if manifest is not None:
        return manifest
    if any(dst.iterdir()):
        raise StoreRefused(f"{dst} is a non-empty directory that is not a nasbench_bench cache (no manifest "
                           f"this suite wrote): refusing to overwrite it; choose an empty or new directory")
    return None


# -- writing -----------------------------------------------------------------------------------------------
def write(
    dst: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], manifest: Mapping[str, Any], *, fmt: str,
    version: int,
) -> dict[str, Any] | None:
    """Write ``arrays`` + ``manifest`` as cache directory ``dst`` atomically (see the module rules).

    ``manifest`` gets ``format``, ``format_version``, ``arrays`` (shape and dtype of each) and
    ``created_utc``. Returns the manifest of the cache that was replaced, if any.
    """
    dst = Path(dst)
    replaced = check_destination(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent))
    try:
        info = {}
        for name, arr in arrays.items():
            arr = np.ascontiguousarray(arr)
            with open(tmp / f"{name}.npy", "wb") as fh:
                np.save(fh, arr, allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
            info[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape)}
        full = {
            **manifest,
            "format": fmt,
            "format_version": version,
            "arrays": info,
            "created_utc": manifest.get("created_utc")
            or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        with open(tmp / MANIFEST, "w") as fh:
            fh.write(json.dumps(full, indent=1, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        apply_umask(tmp)
        check_destination(dst)  # still safe to replace (nothing appeared meanwhile)
        old = None
        if dst.exists():
            old = dst.with_name(f".{dst.name}.old-{os.getpid()}-{time.time_ns()}")
            os.replace(dst, old)
        os.replace(tmp, dst)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return replaced


# -- reading -----------------------------------------------------------------------------------------------
def read_manifest(path: str | os.PathLike[str], *, fmt: str, version: int, hint: str = "") -> dict[str, Any]:
    """The manifest of cache ``path``; :class:`DataFormatError` naming what is wrong (``hint``: how to fix)."""
    path = Path(path)
    mf = path / MANIFEST
    suffix = f"; {hint}" if hint else ""
    if not mf.is_file():
        raise DataFormatError(f"{path} is not a nasbench_bench {fmt} cache (no {MANIFEST}){suffix}")
    try:
        manifest = json.loads(mf.read_text())
    except ValueError as exc:
        raise DataFormatError(f"{mf}: not valid JSON: {exc}{suffix}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != fmt:
        got = manifest.get("format") if isinstance(manifest, dict) else None
        raise DataFormatError(f"{mf}: format {got!r} is not {fmt!r}{suffix}")
    if manifest.get("format_version") != version:
        raise DataFormatError(
            f"{mf}: unknown cache format version {manifest.get('format_version')!r} (this nasbench_bench reads "
            f"version {version}){suffix}"
        )
    if not isinstance(manifest.get("arrays"), dict):
        raise DataFormatError(f"{mf}: lists no arrays{suffix}")
    return manifest


def read(
    path: str | os.PathLike[str], *, fmt: str, version: int, mmap: bool = False, hint: str = ""
) -> tuple[Arrays, dict[str, Any]]:
    """(arrays, manifest) of cache ``path``, every array checked against the manifest.

    With ``mmap`` the arrays are memory-mapped read-only (shared page cache, loads in milliseconds) and
    exposed as plain ``ndarray`` views.
    """
    path = Path(path)
    manifest = read_manifest(path, fmt=fmt, version=version, hint=hint)
    arrays: Arrays = {}
    for name, info in manifest["arrays"].items():
        f = path / f"{name}.npy"
        if not f.is_file():
            raise DataFormatError(f"{path}: missing array file {f.name}")
        try:
            arr = np.load(f, allow_pickle=False, mmap_mode="r" if mmap else None)
        except ValueError as exc:
            raise DataFormatError(f"{f}: unreadable array: {exc}") from exc
        if list(arr.shape) != info.get("shape") or arr.dtype.str != info.get("dtype"):
            raise DataFormatError(f"{f}: shape/dtype {arr.shape}/{arr.dtype.str} differ from the manifest")
        arrays[name] = np.asarray(arr) if mmap else arr
    return arrays, manifest


def cached(
    dest: str | os.PathLike[str],
    build: Callable[[], tuple[Mapping[str, np.ndarray], Mapping[str, Any]]],
    *,
    fmt: str,
    version: int,
    mmap: bool = False,
    current: Callable[[dict[str, Any]], bool] | None = None,
    what: str = "cache",
) -> tuple[Arrays, dict[str, Any]]:
    """Read cache ``dest``, building it first (once, under a lock) if it is missing, damaged or not ``current``.

    ``build() -> (arrays, manifest)`` makes the content; ``current(manifest)`` says whether an existing cache
    is still up to date (e.g. its source's checksum).
    """
    dest = Path(dest)

    def attempt() -> tuple[Arrays, dict[str, Any]] | None:
        try:
            arrays, manifest = read(dest, fmt=fmt, version=version, mmap=mmap)
        except (OSError, DataFormatError) as exc:
            if existing_cache(dest) is not None:
                log.warning("%s %s is damaged or outdated (%s); rebuilding it", what, dest, exc)
            return None
        if current is not None and not current(manifest):
            log.info("%s %s is outdated; rebuilding it", what, dest)
            return None
        return arrays, manifest

    got = attempt()
    if got is not None:
        return got
    dest.parent.mkdir(parents=True, exist_ok=True)
    with hold_lock(dest.parent / f".{dest.name}.lock", what=f"the {what} build in {dest}"):
        got = attempt()  # another process may have built it meanwhile
        if got is None:
            t0 = time.perf_counter()
            log.info("building %s in %s (once)", what, dest)
            arrays, manifest = build()
            write(dest, arrays, manifest, fmt=fmt, version=version)
            log.info("built %s in %.1f s", what, time.perf_counter() - t0)
            got = read(dest, fmt=fmt, version=version, mmap=mmap)
    return got
