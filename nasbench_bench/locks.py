"""One lock helper for the whole suite: exclusive lock files that survive ``kill -9`` gracefully.

A lock is a small JSON file created with ``O_CREAT | O_EXCL`` recording the holder's pid, host and process
start time (and optionally the pid/host/start of the command that owns the work). A lock whose holder (or
owning command) is dead on this host is stale: it is broken and taken over, so an interrupted command never
blocks the next one. Locks held on other hosts are never broken automatically (a shared filesystem with a Dask
cluster): the log names the file to delete. The same files serve per-run locks (non-blocking: the run is
``busy``), cache builds (blocking: wait for the builder) and downloads (non-blocking: refuse).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["LockBusy", "acquire_lock", "hold_lock", "release_lock", "this_process"]

log = logging.getLogger(__name__)

_UNREADABLE_LOCK_GRACE_S = 30.0


class LockBusy(RuntimeError):
    """A lock is held by another live process."""


def _proc_start(pid: int) -> str | None:
    """The start time of process ``pid`` (Linux /proc; None elsewhere or if absent)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of stat, counted after the comm


def pid_alive(pid: Any, start: Any = None) -> bool:
    """True if ``pid`` runs here (not a zombie) and, when ``start`` is known, is the same process."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().decode(errors="replace").rpartition(")")[2].split()
        if state and state[0] in ("Z", "X"):
            return False
    except OSError:
        pass
    if start is not None:
        now = _proc_start(pid)
        if now is not None and now != start:
            return False  # pid reused by another process
    return True


def this_process() -> dict[str, Any]:
    """pid, host and start time of the current process (what locks record as holder or owner)."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start": _proc_start(pid)}


def _is_stale(info: Mapping[str, Any]) -> bool:
    host = socket.gethostname()
    if info.get("host") != host:
        return False
    if not pid_alive(info.get("pid"), info.get("start")):
        return True
    owner = info.get("owner") or {}
    return owner.get("host") == host and not pid_alive(owner.get("pid"), owner.get("start"))


def acquire_lock(path: str | os.PathLike[str], owner: Mapping[str, Any] | None = None) -> str | None:
    """Create lock file ``path`` exclusively; return its token, or None if a live process holds it.

    A lock whose process (or owning command) is dead on this host is broken and taken over."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    content = json.dumps({**this_process(), "owner": dict(owner or {}), "token": token,
                          "time": time.time()}).encode()
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                info = json.loads(path.read_bytes())
            except FileNotFoundError:
                continue  # released meanwhile: retry
            except (OSError, ValueError):
                info = None
            if info is None:  # being written right now, or left half-written by a crash
                with contextlib.suppress(OSError):
                    if time.time() - path.stat().st_mtime > _UNREADABLE_LOCK_GRACE_S:
                        log.warning("breaking unreadable lock %s", path)
                        path.unlink(missing_ok=True)
                        continue
                return None
            if not _is_stale(info):
                if info.get("host") != socket.gethostname():
                    log.info("%s is locked by pid %s on host %s (delete the file if that process is dead)",
                             path, info.get("pid"), info.get("host"))
                return None
            log.warning("breaking stale lock %s (pid %s dead)", path, info.get("pid"))
            _unlink_if_token(path, info.get("token"))
            continue
        try:
            try:
                os.write(fd, content)
            finally:
                os.close(fd)
        except OSError:  # e.g. a full disk: leave no empty lock file behind (it would block for a while)
            path.unlink(missing_ok=True)
            raise
        return token
    return None


def _unlink_if_token(path: Path, token: Any) -> None:
    try:
        info = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return
    if info.get("token") == token:
        path.unlink(missing_ok=True)


def release_lock(path: str | os.PathLike[str], token: str) -> None:
    """Remove lock file ``path`` if it is still ours (it may have been broken and taken over)."""
    _unlink_if_token(Path(path), token)


def holder(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What a lock file says of its holder (None if absent or unreadable)."""
    try:
        return json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def hold_lock(path: str | os.PathLike[str], *, wait: bool = True, poll_s: float = 0.2,
              what: str = "this resource") -> Iterator[None]:
    """Hold lock file ``path`` for the block.

    ``wait=True`` waits while another live process holds it (logging once who); ``wait=False`` raises
    :class:`LockBusy` naming the holder instead.
    """
    token = acquire_lock(path)
    told = False
    while token is None:
        info = holder(path) or {}
        who = f"pid {info.get('pid', '?')} on {info.get('host', '?')}"
        if not wait:
            raise LockBusy(f"{what} is in use by {who} (lock file {path})")
        if not told:
            log.info("waiting for %s (held by %s, lock file %s)", what, who, path)
            told = True
        time.sleep(poll_s)
        token = acquire_lock(path)
    try:
        yield
    finally:
        release_lock(path, token)
