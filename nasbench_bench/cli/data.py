"""``nasbench-bench data``: convert, synthesise, enumerate and inspect NAS-Bench-101 data."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def _cells_arg(text: str) -> str | int:
    if text == "all":
        return "all"
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of cells or 'all', got {text!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError("the number of cells must be positive")
    return n


def cmd_convert(args: argparse.Namespace) -> int:
    from nasbench_bench import store
    from nasbench_bench.nb101.cache import convert, default_cache_path, read_manifest

    src = Path(args.src)
    if not src.is_file():
        what = "is a directory" if src.is_dir() else "does not exist"
        raise FileNotFoundError(f"{src} {what}; give the official .tfrecord file to convert")
    dst = Path(args.dst) if args.dst else default_cache_path(src, args.cache_dir)
    replaced = store.check_destination(dst)  # refuses (before reading) anything that is not our cache
    t0 = time.perf_counter()
    out = convert(src, dst, progress=not args.quiet, verify_hashes=not args.no_verify)
    m = read_manifest(out)
    print(f"converted {src} -> {out} in {time.perf_counter() - t0:.1f} s")
    if replaced is not None:
        print(f"replaced the cache that was in {out} (converted from {replaced.get('source', {}).get('name', '?')}"
              f", created {replaced.get('created_utc', '?')})")
    print(_summary(m))
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from nasbench_bench.nb101.synth import write_synthetic_tfrecord

    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} exists; choose another file or pass --force to replace it")
    if out.is_dir():
        raise IsADirectoryError(f"{out} is a directory; give a file name such as synth.tfrecord")
    t0 = time.perf_counter()
    n = write_synthetic_tfrecord(args.out, args.cells, args.variant, args.seed, progress=not args.quiet)
    print(f"wrote {n:,} records to {args.out} in {time.perf_counter() - t0:.1f} s")
    print("NOTE: this file is SYNTHETIC (generated values, not real NAS-Bench-101 results); "
          "its records carry checkpoint_path 'synthetic://nasbench_bench/...'.")
    return 0


def cmd_enumerate(args: argparse.Namespace) -> int:
    from nasbench_bench.nb101.space import enumerate_cells

    if args.out and Path(args.out).suffix not in (".csv", ".parquet"):  # before minutes of enumeration
        from nasbench_bench.cli import UsageError

        raise UsageError(f"--out must end in .csv or .parquet, got {args.out}")
    t0 = time.perf_counter()
    rows: list[tuple[str, int, str, str]] = []
    count = 0
    for matrix, ops, h in enumerate_cells(progress=not args.quiet):
        count += 1
        if args.out:
            rows.append((h, len(ops), "".join(map(str, matrix.ravel().tolist())), ",".join(ops)))
    elapsed = time.perf_counter() - t0
    if args.out:
        _write_cells(Path(args.out), rows)
        print(f"wrote {args.out}")
    print(f"{count:,} cells enumerated in {elapsed:.1f} s")
    return 0


def _write_cells(out: Path, rows: list[tuple[str, int, str, str]]) -> None:
    from nasbench_bench.paths import atomic_path

    cols = ("module_hash", "num_vertices", "adjacency", "operations")
    if out.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        tbl = pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})
        with atomic_path(out) as tmp:
            pq.write_table(tbl, tmp)
    elif out.suffix == ".csv":
        import csv

        with atomic_path(out) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            w.writerows(rows)
    else:
        raise ValueError(f"--out must end in .csv or .parquet, got {out}")


def _summary(m: dict[str, Any]) -> str:
    lines = [
        f"  format        {m['format']} v{m['format_version']}",
        f"  source        {m['source'].get('name')} ({m['source'].get('size', 0):,} bytes)",
        f"  variant       {m['variant']}  budgets {m['budgets']}",
        f"  cells         {m['n_cells']:,}  records {m['n_records']:,}  max trials {m['max_trials']}",
        f"  trials/budget {m['trials_histogram']}",
        f"  hashes verified: {m.get('verify_hashes')}   created {m.get('created_utc')}",
    ]
    if m.get("synthetic"):
        lines.append("  SYNTHETIC DATA -- not real NAS-Bench-101 results")
    return "\n".join(lines)


def _table_info(name: str) -> int:
    """Describe registered benchmark ``name`` from its table (loaded, so converted on first use)."""
    from nasbench_bench.benchmarks import load_benchmark
    from nasbench_bench.table import COST_MODELS

    t = load_benchmark(name)
    m = t.meta
    print(f"{name}: {t.describe()}")
    for key in ("domain", "task", "search_sees", "regret_on"):
        if m.get(key):
            print(f"  {key:<12}  {m[key]}")
    print(f"  metric        {t.metric} ({t.direction}); score metric {t.score_metric}")
    print(f"  cost model    {t.cost_model}: {COST_MODELS[t.cost_model]}")
    described = m.get("columns", {})
    for col in t.columns:
        print(f"  column        {col}: {described.get(col, '(undocumented)')}")
    src = m.get("source")
    if isinstance(src, dict):
        for k in ("repository", "package", "commit", "version", "file", "sha256", "licence"):
            if src.get(k):
                print(f"  {'source ' + k:<13} {src[k]}")
    if m.get("notes"):
        print(f"  notes         {m['notes']}")
    if m.get("path"):
        print(f"  cache         {m['path']}")
    if t.synthetic:
        print("  SYNTHETIC DATA")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from nasbench_bench import store
    from nasbench_bench.benchmarks import benchmark_names
    from nasbench_bench.nb101.cache import default_cache_path, read_manifest, scan_tfrecord

    path = Path(args.path)
    if not path.exists() and args.path in benchmark_names() and args.path != "nb101":
        return _table_info(args.path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (nor is it a registered benchmark other than nb101)")
    if path.is_file():
        cache = default_cache_path(path, args.cache_dir)
        if store.existing_cache(cache) is not None:
            print(f"{path}: converted into {cache}")
            print(_summary(read_manifest(cache)))
            return 0
        info = scan_tfrecord(path, progress=not args.quiet)
        budgets = ", ".join(f"{b} epochs: {n:,} records" for b, n in info["records_per_budget"].items())
        print(f"{path}: TFRecord file, not converted yet (would be cached in {cache})")
        print(f"  size          {info['size']:,} bytes")
        print(f"  records       {info['n_records']:,}  cells {info['n_cells']:,}")
        print(f"  budgets       {budgets}")
        print(f"  variant       {info['variant']}")
        if info["synthetic"]:
            print("  SYNTHETIC DATA -- not real NAS-Bench-101 results")
        else:
            print("  not marked synthetic (records as in the official files)")
        return 0
    print(f"{path}")
    print(_summary(read_manifest(path)))
    return 0


def register(subparsers: Any) -> None:
    """Add ``data`` and its sub-commands (``convert``, ``synth``, ``enumerate``, ``info``, ``download``)."""
    p = subparsers.add_parser("data", help="convert, synthesise, enumerate and inspect NAS-Bench-101 data")
    sub = p.add_subparsers(dest="data_command", required=True)

    c = sub.add_parser("convert", help="convert an official .tfrecord into the fast NumPy cache")
    c.add_argument("src", help="nasbench_full.tfrecord or nasbench_only108.tfrecord")
    c.add_argument("dst", nargs="?", help="output directory (default: under the cache dir)")
    c.add_argument("--cache-dir", help="cache root (default: $NASBENCH_BENCH_CACHE or the user cache dir)")
    c.add_argument("--no-verify", action="store_true", help="skip recomputing each cell's module hash")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=cmd_convert)

    s = sub.add_parser("synth", help="write a SYNTHETIC file in the official format (for tests/benchmarks)")
    s.add_argument("out", help="output .tfrecord")
    s.add_argument("--cells", type=_cells_arg, default=1000, help="number of random cells, or 'all'")
    s.add_argument("--variant", choices=("full", "only108"), default="full")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--force", action="store_true", help="replace OUT if it exists")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_synth)

    e = sub.add_parser("enumerate", help="enumerate the 423,624 cells of the search space")
    e.add_argument("--out", help="write the cells to FILE.csv or FILE.parquet")
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_enumerate)

    i = sub.add_parser("info", help="summarise a .tfrecord file (records, cells, budgets, synthetic or not), a "
                       "converted NAS-Bench-101 cache, or a registered benchmark's table (e.g. macro-cifar10)")
    i.add_argument("path", help="a file, a cache directory, or a benchmark name")
    i.add_argument("--cache-dir")
    i.add_argument("-q", "--quiet", action="store_true", help="no progress bar while scanning a .tfrecord")
    i.set_defaults(func=cmd_info)

    from nasbench_bench.nb101.download import OFFICIAL_URLS

    d = sub.add_parser("download", help="download an official NAS-Bench-101 .tfrecord (resumable, verified)")
    d.add_argument("--variant", choices=tuple(OFFICIAL_URLS), default="only108",
                   help="only108 (~0.5 GB, 108 epochs) or full (~1.95 GB, 4/12/36/108 epochs)")
    d.add_argument("--dest", help="directory to save into (default: <cache dir>/downloads)")
    d.add_argument("--url", help="download from this URL instead of the official one (a mirror)")
    d.add_argument("--timeout", type=float, default=30, help="seconds to wait on the network (default 30)")
    d.add_argument("--retries", type=int, default=3, help="resume attempts after an interrupted transfer")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=cmd_download)


def cmd_download(args: argparse.Namespace) -> int:
    """``nasbench-bench data download``: fetch, verify, print the path and the next command."""
    from nasbench_bench.cli import prog
    from nasbench_bench.nb101.download import DownloadError, download

    try:
        path = download(args.variant, dest_dir=args.dest, url=args.url, progress=not args.quiet,
                        timeout=args.timeout, retries=args.retries)
    except (DownloadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"NAS-Bench-101 {args.variant} file: {path}")
    print(f"next: {prog()} data convert {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    from nasbench_bench.cli import main

    sys.exit(main(["data", *sys.argv[1:]]))
