"""The first load of NAS-Bench-101: converting a full-size official-format file vs the official API's load.

For each variant (``only108``, ``full``) a SYNTHETIC official-format file of all 423,624 cells is written (or
reused), then, each in a fresh process, measured for wall time, CPU time and peak resident memory:

* ``convert``: this suite's conversion (every CRC checked, every cell's hash verified), into a new cache;
* ``official-style load``: the official ``nasbench.api.NASBench.__init__`` algorithm re-implemented without
  TensorFlow (``perf.data.OfficialReimplementation``: json + protobuf + numpy + dicts per record; its framing is
  this suite's Python TFRecord reader, not TensorFlow's C++ one);
* optionally (``--reference``) the one-record-at-a-time reference converter (the conversion before issue 24);
* optionally (``--fresh-space``) ``convert`` with an empty cache root, so the search space the hashes are
  checked against is built during the conversion (a machine's very first contact): from the package's
  sha256-checked hash table (:mod:`nasbench_bench.nb101.space_hashes`), read and checked in that process, or,
  with ``--computed-hashes``, by hashing all 423,624 cells (the behaviour before the table shipped).

Targets (issue 24): convert <= 1/3 of the official load on the same file; only108 <= 12 s, full <= 40 s; peak
memory <= 1.5 GB. The files are SYNTHETIC (structured, invented values); their records are about the size of
the official ones (the synthetic marker is a short checkpoint path), so the byte counts are close to the real
files' (only108 ~0.5 GB, full ~1.95 GB). On a shared machine, compare CPU times as well as wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TARGET_RATIO = 3.0
TARGET_WALL = {"only108": 12.0, "full": 40.0}
TARGET_RSS_MB = 1536.0

_CHILD = r"""
import json, os, resource, sys, time
what, src, dst = sys.argv[1:4]
t0, c0 = time.perf_counter(), time.process_time()
space = None
if what == "convert":
    from nasbench_bench.nb101.cache import convert
    convert(src, dst)
    if os.environ.get("NASBENCH_BENCH_FIRST_LOAD_FRESH"):
        from nasbench_bench import store
        from nasbench_bench.paths import cache_dir
        space = (store.existing_cache(cache_dir() / "space-v2") or {}).get("hashes", "not built")
elif what == "reference":
    from nasbench_bench.nb101.cache import read_tfrecord_reference
    read_tfrecord_reference(src)
else:
    from perf.data import OfficialReimplementation
    OfficialReimplementation(src)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": cpu, "cpu_children": kids.ru_utime + kids.ru_stime,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_children_mb": kids.ru_maxrss / 1024, "space": space}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", choices=("only108", "full", "both"), default="both")
    parser.add_argument("--workdir", default="/tmp/nasbench_bench_first_load", help="where files are written")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="reuse synthetic files already in workdir")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic files afterwards")
    parser.add_argument("--no-official", action="store_true", help="skip the official-style load")
    parser.add_argument("--reference", action="store_true", help="also time the one-record-at-a-time converter")
    parser.add_argument("--fresh-space", action="store_true",
                        help="also convert with an empty cache (the search space is built during the conversion)")
    parser.add_argument("--computed-hashes", action="store_true",
                        help="with --fresh-space: build the space by hashing every cell, not from the shipped table")


def _tree_rss(proc: Any) -> float:
    """Resident memory (bytes) of a process and all its descendants, now (0 if it is gone)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with smac and dask
        return 0.0
    total = 0
    try:
        root = psutil.Process(proc.pid)
        for p in [root, *root.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return float(total)


def _measure(what: str, src: Path, dst: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run one measurement in a fresh process; the process tree's total RSS is sampled every 20 ms meanwhile."""
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, what, str(src), str(dst)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _tree_rss(proc))

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    done.set()
    t.join()
    if proc.returncode != 0:
        raise SystemExit(f"error: {what} failed: {err.strip().splitlines()[-1:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["tree_mb"] = peak[0] / 2**20
    return result


def _line(label: str, m: dict[str, Any]) -> str:
    cpu = m["cpu"] + m["cpu_children"]
    rss = _rss(m)
    return (f"  {label:<24} wall {m['wall']:7.1f} s   CPU {cpu:7.1f} s   peak RSS {rss:7,.0f} MB "
            f"(largest process; all processes together, sampled: {m['tree_mb']:,.0f} MB)")


def _rss(m: dict[str, Any]) -> float:
    """Peak memory for the target: the larger of the largest single process and the sampled process-tree sum."""
    return max(m["rss_mb"], m["rss_children_mb"], m["tree_mb"])


def _ok(value: float, limit: float, higher: bool = False) -> str:
    return "OK" if (value >= limit if higher else value <= limit) else "MISSED"


def run(args: argparse.Namespace) -> int:
    from nasbench_bench.nb101.space import get_space
    from nasbench_bench.nb101.synth import write_synthetic_tfrecord

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    variants = ("only108", "full") if args.variant == "both" else (args.variant,)
    print(f"bench load: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
          "SYNTHETIC official-format files of all 423,624 cells (invented values)")
    get_space()  # writing the files needs it; the 'convert' rows then find it built, as on a used machine
    for variant in variants:
        src = work / f"synthetic_{variant}_s{args.seed}.tfrecord"
        if not (args.reuse and src.is_file()):
            t0 = time.perf_counter()
            n = write_synthetic_tfrecord(src, "all", variant, args.seed)
            print(f"{variant}: wrote {n:,} records ({src.stat().st_size / 2**30:.2f} GiB) in "
                  f"{time.perf_counter() - t0:.0f} s")
        print(f"{variant}: {src.stat().st_size / 2**30:.2f} GiB  (load average {os.getloadavg()[0]:.2f})")
        dst = work / f"{src.stem}.cache"
        shutil.rmtree(dst, ignore_errors=True)
        conv = _measure("convert", src, dst, env)
        print(_line("convert", conv))
        shutil.rmtree(dst, ignore_errors=True)
        if args.fresh_space:
            with tempfile.TemporaryDirectory(dir=work) as empty:
                fenv = {**env, "NASBENCH_BENCH_CACHE": empty, "NASBENCH_BENCH_FIRST_LOAD_FRESH": "1"}
                if args.computed_hashes:
                    fenv["NASBENCH_BENCH_NB101_SHIPPED_HASHES"] = "0"
                fresh = _measure("convert", src, Path(empty) / "out", fenv)
            print(_line("convert, no space yet", fresh) + f"   (space hashes: {fresh['space']})")
            frss = _rss(fresh)
            print(f"  fresh-machine convert wall {fresh['wall']:.1f} s (target <= {TARGET_WALL[variant]:g} s: "
                  f"{_ok(fresh['wall'], TARGET_WALL[variant])}), peak RSS {frss:,.0f} MB "
                  f"(target <= {TARGET_RSS_MB:g} MB: {_ok(frss, TARGET_RSS_MB)}); "
                  f"load average {os.getloadavg()[0]:.2f}")
        if args.reference:
            print(_line("reference converter", _measure("reference", src, dst, env)))
        if not args.no_official:
            off = _measure("official", src, dst, env)
            print(_line("official-style load", off))
            ratio = off["wall"] / conv["wall"]
            cpu_ratio = (off["cpu"] + off["cpu_children"]) / (conv["cpu"] + conv["cpu_children"])
            print(f"  official-style / convert: wall {ratio:.1f}x, CPU {cpu_ratio:.1f}x "
                  f"(target >= {TARGET_RATIO:g}x: {_ok(ratio, TARGET_RATIO, higher=True)})")
        rss = _rss(conv)
        print(f"  convert wall {conv['wall']:.1f} s (target <= {TARGET_WALL[variant]:g} s: "
              f"{_ok(conv['wall'], TARGET_WALL[variant])}), peak RSS {rss:,.0f} MB "
              f"(target <= {TARGET_RSS_MB:g} MB: {_ok(rss, TARGET_RSS_MB)}); load average {os.getloadavg()[0]:.2f}")
        if not args.keep:
            src.unlink(missing_ok=True)
    return 0
