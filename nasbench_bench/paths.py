"""Where converted caches live, and the atomic file writes every writer in the suite uses.

Files and directories the suite creates get the permissions the user's umask gives (``tempfile`` would make
them private).

Test seam: when ``$NASBENCH_BENCH_FAULT_DISK_FULL`` names a file that exists, atomic writes fail as on a full
disk (``OSError`` ENOSPC, after the data went to the temporary file): all of them if the file is empty, else those
whose destination's name matches one of the glob patterns it holds (one a line, e.g. ``*.parquet``). So the
handling of a full disk can be tested in every process of a command, workers included, without filling a real
file system.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs

CACHE_ENV = "NASBENCH_BENCH_CACHE"
#: Test seam: atomic writes fail with ENOSPC while the file this variable names exists.
FAULT_DISK_FULL_ENV = "NASBENCH_BENCH_FAULT_DISK_FULL"
_DISK_FULL_ERRNOS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e is not None)


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: ``override``, else ``$NASBENCH_BENCH_CACHE``, else the user cache dir."""
    if override is not None:
        root = Path(override)
    elif os.environ.get(CACHE_ENV):
        root = Path(os.environ[CACHE_ENV])
    else:
        root = Path(platformdirs.user_cache_dir("nasbench_bench"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike[str]) -> None:
    """Give a file (0666) or directory (0777) the permissions the user's umask allows."""
    mode = 0o777 if os.path.isdir(path) else 0o666
    os.chmod(path, mode & ~_umask())


@contextmanager
def atomic_path(dest: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest`` atomically.

    On error the temporary file is removed and ``dest`` is left untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix + ".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _injected_disk_full(dest, tmp_path)
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        apply_umask(tmp_path)
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(dest: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``dest`` atomically (temp file + fsync + rename)."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def _injected_disk_full(dest: Path, tmp: Path) -> None:
    flag = os.environ.get(FAULT_DISK_FULL_ENV)
    if not flag:
        return
    try:
        patterns = Path(flag).read_text().split()
    except OSError:
        return
    if not patterns or any(fnmatch.fnmatch(dest.name, p) for p in patterns):
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (injected: ${FAULT_DISK_FULL_ENV})", str(tmp))


def is_disk_full(exc: BaseException | None) -> bool:
    """True if ``exc`` (or an exception it was raised from) is a full disk or an exhausted quota."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def installed_package_dir(package: str) -> Path | None:
    """The directory of the installed package ``package`` (found without importing it), or None."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def installed_version(distribution: str, missing: str = "unknown") -> str:
    """The installed version of ``distribution``, or ``missing``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return missing
