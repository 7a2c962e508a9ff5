"""The table store (one atomicity rule for every cache) and the lock helper every lock goes through."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest

from nasbench_bench import store
from nasbench_bench.locks import LockBusy, acquire_lock, hold_lock, release_lock

FMT, VERSION = "nasbench_bench.test", 3


def _arrays() -> dict[str, np.ndarray]:
    return {"a": np.arange(12, dtype=np.int64).reshape(3, 4), "b": np.array([b"x", b"yz"], dtype="S2")}


def test_write_read_round_trip_and_manifest(tmp_path: Path) -> None:
    dst = tmp_path / "cache"
    assert store.write(dst, _arrays(), {"note": "hi"}, fmt=FMT, version=VERSION) is None
    arrays, manifest = store.read(dst, fmt=FMT, version=VERSION)
    assert set(arrays) == {"a", "b"} and np.array_equal(arrays["a"], _arrays()["a"])
    assert manifest["note"] == "hi" and manifest["format"] == FMT and manifest["format_version"] == VERSION
    assert manifest["arrays"]["a"] == {"dtype": "<i8", "shape": [3, 4]} and "created_utc" in manifest
    mapped, _ = store.read(dst, fmt=FMT, version=VERSION, mmap=True)
    assert type(mapped["a"]) is np.ndarray and not mapped["a"].flags.writeable  # plain read-only view
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]  # no temporary directory left


def test_validation_names_the_problem(tmp_path: Path) -> None:
    dst = tmp_path / "cache"
    store.write(dst, _arrays(), {}, fmt=FMT, version=VERSION)
    with pytest.raises(store.DataFormatError, match="format 'nasbench_bench.test' is not 'other'"):
        store.read(dst, fmt="other", version=VERSION)
    with pytest.raises(store.DataFormatError, match="version 3 .*reads version 4.*; re-run it"):
        store.read(dst, fmt=FMT, version=4, hint="re-run it")
    np.save(dst / "a.npy", np.zeros(5))  # an array that no longer matches the manifest
    with pytest.raises(store.DataFormatError, match="differ from the manifest"):
        store.read(dst, fmt=FMT, version=VERSION)
    (dst / "a.npy").unlink()
    with pytest.raises(store.DataFormatError, match="missing array file a.npy"):
        store.read(dst, fmt=FMT, version=VERSION)
    np.save(dst / "a.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)  # a pickle inside a .npy
    with pytest.raises(store.DataFormatError, match="unreadable array"):
        store.read(dst, fmt=FMT, version=VERSION)


def test_never_overwrites_what_is_not_a_cache(tmp_path: Path) -> None:
    user_dir = tmp_path / "mine"
    user_dir.mkdir()
    (user_dir / "thesis.tex").write_text("precious")
    with pytest.raises(store.StoreRefused, match="not a nasbench_bench cache"):
        store.write(user_dir, _arrays(), {}, fmt=FMT, version=VERSION)
    assert (user_dir / "thesis.tex").read_text() == "precious" and len(list(user_dir.iterdir())) == 1

    user_file = tmp_path / "file.npy"
    user_file.write_text("also precious")
    with pytest.raises(store.StoreRefused, match="not a directory"):
        store.write(user_file, _arrays(), {}, fmt=FMT, version=VERSION)
    assert user_file.read_text() == "also precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.npy", "mine"]  # nothing hidden or added

    empty = tmp_path / "empty"
    empty.mkdir()
    assert store.write(empty, _arrays(), {}, fmt=FMT, version=VERSION) is None
    replaced = store.write(empty, {"c": np.ones(2)}, {"note": "second"}, fmt=FMT, version=VERSION)
    assert replaced is not None and set(replaced["arrays"]) == {"a", "b"}  # says what it replaced
    arrays, manifest = store.read(empty, fmt=FMT, version=VERSION)
    assert set(arrays) == {"c"} and manifest["note"] == "second"
    assert sorted(p.name for p in empty.iterdir()) == ["c.npy", "manifest.json"]


def test_permissions_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        store.write(tmp_path / "c", _arrays(), {}, fmt=FMT, version=VERSION)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "c").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "c" / "a.npy").stat().st_mode) == 0o640


def _build_in_child(dest: str, log: str) -> None:
    def build() -> tuple[dict[str, np.ndarray], dict[str, object]]:
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(0.5)  # long enough for the other process to find the lock held
        return _arrays(), {}

    arrays, _ = store.cached(dest, build, fmt=FMT, version=VERSION)
    assert np.array_equal(arrays["a"], _arrays()["a"])


def test_cached_builds_once_across_processes(tmp_path: Path) -> None:
    dest, log = tmp_path / "c", tmp_path / "builds.log"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_build_in_child, args=(str(dest), str(log))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert len(log.read_text().split()) == 1  # one builder; the other waited and read its cache


def test_cached_rebuilds_outdated_or_damaged(tmp_path: Path) -> None:
    dest, calls = tmp_path / "c", []

    def build() -> tuple[dict[str, np.ndarray], dict[str, object]]:
        calls.append(1)
        return _arrays(), {"source": len(calls)}

    _, m1 = store.cached(dest, build, fmt=FMT, version=VERSION)
    _, m2 = store.cached(dest, build, fmt=FMT, version=VERSION, current=lambda m: m["source"] == 1)
    assert (m1["source"], m2["source"], len(calls)) == (1, 1, 1)
    _, m3 = store.cached(dest, build, fmt=FMT, version=VERSION, current=lambda m: m["source"] == 2)
    assert (m3["source"], len(calls)) == (2, 2)
    (dest / "b.npy").unlink()
    _, m4 = store.cached(dest, build, fmt=FMT, version=VERSION)
    assert (m4["source"], len(calls)) == (3, 3)


def test_existing_cache_recognises_only_suite_manifests(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    assert store.existing_cache(d) is None
    (d / "manifest.json").write_text(json.dumps({"format": "someone-else", "arrays": {}}))
    assert store.existing_cache(d) is None
    (d / "manifest.json").write_text("{not json")
    assert store.existing_cache(d) is None
    store.write(tmp_path / "ours", _arrays(), {}, fmt=FMT, version=VERSION)
    assert store.existing_cache(tmp_path / "ours")["format"] == FMT


def test_locks_block_refuse_and_break_stale(tmp_path: Path) -> None:
    lock = tmp_path / ".x.lock"
    token = acquire_lock(lock)
    assert token is not None and acquire_lock(lock) is None  # held by a live process (this one)
    with pytest.raises(LockBusy, match="in use by pid"):
        with hold_lock(lock, wait=False, what="x"):
            pass
    release_lock(lock, token)
    assert not lock.exists()
    with hold_lock(lock, wait=False):
        assert lock.exists()
    assert not lock.exists()
    # a lock left by a dead process (kill -9) is broken
    dead = multiprocessing.get_context("fork").Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    lock.write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename, "token": "t", "owner": {}}))
    with hold_lock(lock, wait=False):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
