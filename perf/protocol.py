"""``nasbench-bench bench protocol``: one seed of each built-in optimizer at the paper's full protocol.

Each optimizer runs one seed on the SYNTHETIC NB101-shaped table (``nb101-synthetic``) under the paper's
budget (1e7 simulated seconds) on encodings A, B and C, sequentially in this process, as a run of
``nasbench-bench run`` does it. Per run it prints the wall-clock and CPU time, the suggestions made (one per
charged evaluation, invalid cells included), how many were valid, the marginal wall time per suggestion over
the last 10 % before 1,000 / 5,000 / 10,000 suggestions of history (the cost of model-based optimizers grows
with it), and the projected CPU-hours of 500 seeds (this seed's CPU time x 500). The last lines add up the
projection for the whole of Figure 7 (the paper's seven optimizers, encoding A, 500 seeds each).

``--library N`` also runs TPE, SMAC and BOHB through the libraries' own machinery for their first ``N``
suggestions, in this process: hyperopt's ``tpe.suggest`` with its ``Trials`` and pyll graph, SMAC's
ask/tell with its stock components, and hpbandster's own BOHB config generator (statsmodels' KDEs, scipy's
truncated normals); it prints their cost per suggestion at ``N`` against ours and whether they made the same
trials. One seed is one sample: seeds differ in how many suggestions a budget buys.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

from perf.drivers import TimedOracle, marginal_seconds, shared_prefix

#: The paper's seven optimizers (Figure 7), in its order.
FIGURE7 = ("rs", "re", "reinforce", "tpe", "smac", "hb", "bohb")
HISTORY = (1000, 5000, 10000)
SEEDS = 500


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--optimizers", default=",".join(FIGURE7),
                        help="comma-separated optimizer names, or 'all' for every built-in "
                             "(default: the paper's seven)")
    parser.add_argument("--encodings", default="A,B,C", help="NB101 encodings (default: A,B,C)")
    parser.add_argument("--budget", type=float, default=1e7, help="simulated seconds per run (default: 1e7)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--library", type=int, default=0, metavar="N",
                        help="also run TPE, SMAC and BOHB through the libraries' own machinery for N "
                             "suggestions and compare (default: 0, off; 1000 takes a few minutes)")


def _load() -> Any:
    from nasbench_bench.benchmarks import load_benchmark

    return load_benchmark("nb101-synthetic")


def _marginal_ms(stamps: list[float], n: int) -> float | None:
    """Wall milliseconds per suggestion over the last 10 % before ``n`` suggestions; None if not reached."""
    seconds = marginal_seconds(stamps, n)
    return None if seconds is None else seconds * 1e3


def _run(name: str, table: Any, enc: Any, budget: float, seed: int, engine: str = "ours",
         max_evaluations: int | None = None) -> dict[str, Any]:
    from nasbench_bench.optimizer import get_optimizer
    from nasbench_bench.oracle import BudgetExhausted

    kwargs = {} if max_evaluations is None else {"max_evaluations": max_evaluations}
    oracle = TimedOracle(table, enc, budget, seed=seed, **kwargs)
    opt = get_optimizer(name)(enc, seed=seed)
    c0, t0 = time.process_time(), time.perf_counter()
    oracle.start = t0
    try:
        if engine == "hyperopt":
            opt.run_with_hyperopt(oracle)
        elif engine == "stock":
            opt.run_with_stock_components(oracle)
        elif engine == "hpbandster":
            opt.run_with_hpbandster(oracle)
        else:
            opt.run(oracle)
    except BudgetExhausted:
        pass
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    tr = oracle.trajectory()
    valid = int((tr.row >= 0).sum())
    return {"name": name, "encoding": enc.name, "wall": wall, "cpu": cpu, "n": len(tr), "valid": valid,
            "stamps": oracle.stamps, "trajectory": tr}


def _fmt_ms(x: float | None) -> str:
    return "-" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.0f}")


def _fmt_h(hours: float) -> str:
    return f"{hours:.3f}" if hours < 0.1 else f"{hours:.2f}"


def _names(spec: str) -> list[str]:
    from nasbench_bench.optimizer import available

    if spec.strip() == "all":
        return sorted(available())
    return [n.strip() for n in spec.split(",") if n.strip()]


def run(args: argparse.Namespace) -> int:
    from nasbench_bench.benchmarks import get_encoding
    from nasbench_bench.optimizer import get_optimizer
    from nasbench_bench.runner import HASHSEED

    names = _names(args.optimizers)
    encodings = [e.strip() for e in args.encodings.split(",") if e.strip()]
    _check(names, encodings)
    if os.environ.get("PYTHONHASHSEED") != str(HASHSEED) and any(
            get_optimizer(n).needs_fixed_hashseed for n in names):  # as the runner guarantees it
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]],
                  {**os.environ, "PYTHONHASHSEED": str(HASHSEED)})
    table = _load()
    load = os.getloadavg()
    print(f"{len(names)} optimizers x encodings {','.join(encodings)}, one seed ({args.seed}) each at "
          f"{args.budget:g} simulated s on nb101-synthetic (SYNTHETIC data: cost figures only), sequential, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} at start")
    header = (f"{'optimizer':<14} {'enc':<3} {'wall s':>8} {'CPU s':>8} {'suggest.':>9} {'valid':>7} "
              f"{'invalid':>8} " + " ".join(f"{'ms@' + format(h, ','):>9}" for h in HISTORY)
              + f" {'CPU-h/500':>10}")
    print(header)
    results: list[dict[str, Any]] = []
    for enc_name in encodings:
        enc = get_encoding(enc_name)
        enc.cell_indices(enc.sample(np.random.default_rng(0), 2))  # warm the lookups outside the clock
        for name in names:
            r = _run(name, table, enc, args.budget, args.seed)
            results.append(r)
            ms = " ".join(f"{_fmt_ms(_marginal_ms(r['stamps'], h)):>9}" for h in HISTORY)
            print(f"{name:<14} {enc_name:<3} {r['wall']:>8.2f} {r['cpu']:>8.2f} {r['n']:>9,} {r['valid']:>7,} "
                  f"{r['n'] - r['valid']:>8,} {ms} {_fmt_h(r['cpu'] * SEEDS / 3600):>10}", flush=True)
    fig7 = [r for r in results if r["encoding"] == "A" and r["name"] in FIGURE7]
    if {r["name"] for r in fig7} == set(FIGURE7):
        total = sum(r["cpu"] for r in fig7) * SEEDS / 3600
        parts = ", ".join(f"{r['name']} {_fmt_h(r['cpu'] * SEEDS / 3600)}" for r in fig7)
        print(f"Figure 7 (7 optimizers x {SEEDS} seeds, encoding A), projected from these seeds: "
              f"{total:.1f} CPU-hours ({parts}); {total / (os.cpu_count() or 1):.1f} h wall on "
              f"{os.cpu_count()} cores")
    if args.library:
        _compare_libraries(names, encodings, table, args)
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


def _check(names: list[str], encodings: list[str]) -> None:
    """Refuse unknown optimizers and encodings before anything runs (one-line errors in the CLI)."""
    from nasbench_bench.benchmarks import get_encoding
    from nasbench_bench.cli import UsageError
    from nasbench_bench.optimizer import get_optimizer

    if not names or not encodings:
        raise UsageError("--optimizers and --encodings need at least one name each")
    for items, get in ((names, get_optimizer), (encodings, get_encoding)):
        for item in items:
            try:
                get(item)
            except KeyError as exc:
                raise UsageError(exc.args[0]) from None
    bad = [e for e in encodings if get_encoding(e).benchmark != "nb101"]
    if bad:
        raise UsageError(f"bench protocol runs on the NB101-shaped table: encodings A, B, C, not {bad}")


def _compare_libraries(names: list[str], encodings: list[str], table: Any, args: argparse.Namespace) -> None:
    from nasbench_bench.benchmarks import get_encoding

    n = args.library
    print(f"Against the libraries' own machinery, first {n:,} suggestions (ms per suggestion, marginal at {n:,}):")
    for enc_name in encodings:
        enc = get_encoding(enc_name)
        for name, engine, label in (("tpe", "hyperopt", "hyperopt tpe.suggest + Trials"),
                                    ("smac", "stock", "SMAC ask/tell, stock components"),
                                    ("bohb", "hpbandster", "hpbandster's BOHB generator")):
            if name not in names:
                continue
            ours = _run(name, table, enc, args.budget, args.seed, max_evaluations=n)
            lib = _run(name, table, enc, args.budget, args.seed, engine=engine, max_evaluations=n)
            m = min(len(ours["trajectory"]), len(lib["trajectory"]))
            a, b = _marginal_ms(ours["stamps"], m), _marginal_ms(lib["stamps"], m)
            ratio = f"{b / a:.1f}x" if a and b else "-"
            shared, _ = shared_prefix(ours["trajectory"], lib["trajectory"])
            if shared != m or len(ours["trajectory"]) != len(lib["trajectory"]):
                same = "DIFFERENT trials"
            else:
                same = "same trials" if m == n else f"same trials; the budget ended both runs at {m:,} (raise --budget)"
            print(f"  {name} {enc_name}: ours {_fmt_ms(a)} ms, {label} {_fmt_ms(b)} ms ({ratio} ours); "
                  f"whole {m:,}: {ours['wall']:.1f} s vs {lib['wall']:.1f} s; {same}", flush=True)
