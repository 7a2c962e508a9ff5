"""``nasbench-bench benchmarks``: the registered benchmarks with what each one measures (a table, or Markdown)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "benchmarks", help="list the registered benchmarks: domain, size, metric, what the search sees, regret, cost",
        description="List the registered benchmarks (loading each table once; the first use converts its data).")
    p.add_argument("--suite", default=None, help="only this suite's benchmarks (e.g. real, nb201, tnb101-micro)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (the one in docs/benchmarks.md)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from nasbench_bench.benchmarks import catalog, suite
    from nasbench_bench.cli import UsageError

    if args.suite is not None:
        try:
            names = list(suite(args.suite))
        except KeyError as exc:
            raise UsageError(str(exc.args[0])) from None
    else:
        names = None
    rows = catalog(names)
    if args.markdown:
        print("| benchmark | domain | cells | metric | the search sees | regret on | cost |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for r in rows:
            print(f"| `{r['name']}` | {r['domain']} | {r['cells']} | {r['metric']} | {r['search_sees']} | "
                  f"{r['regret_on']} | {r['cost']} |")
        return 0
    for r in rows:
        print(f"{r['name']}: {r['domain']}, {r['cells']} cells, {r['metric']}; search sees {r['search_sees']}; "
              f"regret on {r['regret_on']}; cost {r['cost']}")
    return 0
