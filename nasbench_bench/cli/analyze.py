"""``nasbench-bench analyze BENCHMARK``: the dataset figures of the NAS-Bench-101 paper's section 3 for any table."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze", help="search-space analysis of a benchmark table (distributions, cost, ops, locality)",
        description="Regenerate the dataset analysis of the NAS-Bench-101 paper's section 3 for a benchmark: ECDFs "
                    "of accuracy and training time per budget, cost vs accuracy, accuracy by op composition, and "
                    "locality (random-walk autocorrelation, fraction of local optima) over the encoding's "
                    "neighbourhood. Writes PNG + PDF figures and summary.json.")
    p.add_argument("benchmark", help="benchmark name (e.g. nb201-cifar10, nb101, nb101-synthetic, toy)")
    p.add_argument("--data", default=None, help="NAS-Bench-101 data (file or converted cache) for nb101")
    p.add_argument("--encoding", default=None, help="encoding whose neighbourhood defines locality (default: the "
                                                    "benchmark's)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default: results/analysis/BENCHMARK)")
    p.add_argument("--metric", choices=("valid", "test"), default="valid",
                   help="accuracy used for cost, ops and locality (mean over trials at the top budget)")
    p.add_argument("--sample", type=int, default=5000,
                   help="configurations drawn for local optima when the encoding has too many to enumerate")
    p.add_argument("--walks", type=int, default=50, help="random walks")
    p.add_argument("--walk-length", type=int, default=500, help="steps per random walk")
    p.add_argument("--max-lag", type=int, default=20)
    p.add_argument("--seed", type=int, default=0, help="seeds sampling and walks")
    p.set_defaults(func=cmd_analyze)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def cmd_analyze(args: argparse.Namespace) -> int:
    from nasbench_bench import plots
    from nasbench_bench.benchmarks import benchmark_family, default_encoding, get_encoding, load_benchmark
    from nasbench_bench.cli import UsageError
    from nasbench_bench.paths import atomic_path
    from nasbench_bench.space_analysis import analyze_space

    try:  # mistakes end as `error: ...`, exit 2, like every command's (BenchmarkDataError is one of them)
        family = benchmark_family(args.benchmark)
        enc = get_encoding(args.encoding or default_encoding(args.benchmark))
    except KeyError as exc:
        raise UsageError(str(exc.args[0]) if exc.args else str(exc)) from None
    if enc.benchmark != family:
        raise UsageError(f"encoding {enc.name!r} is for {enc.benchmark!r}, not for benchmark {args.benchmark!r}")
    table = load_benchmark(args.benchmark, args.data)
    if table.synthetic:
        print("*** SYNTHETIC DATA: these figures do not describe the real benchmark ***")
    print(table.describe())
    try:
        sa = analyze_space(table, enc, family, metric=args.metric, seed=args.seed, n_sample=args.sample,
                           n_walks=args.walks, walk_length=args.walk_length, max_lag=args.max_lag)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = args.out if args.out is not None else Path("results") / "analysis" / args.benchmark
    paths = plots.plot_space(sa, out)
    record = {"benchmark": args.benchmark, "synthetic": sa.synthetic, "metric": args.metric, "seed": args.seed,
              **sa.summary, "notes": sa.notes}
    summary = out / "summary.json"
    with atomic_path(summary) as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n")
    for key, value in sa.summary.items():
        print(f"{key}: {_fmt(value)}")
    for note in sa.notes:
        print(f"note: {note}")
    for p in [*paths, summary]:
        print(p)
    return 0
