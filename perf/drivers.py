"""``nasbench-bench bench drivers``: per-evaluation cost of TPE, SMAC, HB and BOHB, next to the libraries' drivers.

Each of our optimizers runs once to ``--max-evals`` evaluations on a timed oracle; the cost per evaluation is
reported at each checkpoint as the mean over the first N evaluations and as the marginal cost over the last
10 % before N (the cost of model-based optimizers grows with the history). The libraries' own default drivers
run in the same process to ``--library-max-evals`` on the same settings: hyperopt ``fmin``, SMAC ``optimize()``
with SMAC's own config selector and intensifier, hpbandster with a Pyro name server and worker; the report
says whether each made the same trials as ours. SMAC's ``optimize()`` also runs with the facade's defaults,
as a user gets it out of the box (each SMAC run capped at ``--library-seconds`` of wall clock through SMAC's
``walltime_limit``). For HB and BOHB our run is split into four timed parts: the config
generator (``get_config``, ``new_result``), hpbandster's own successive-halving bookkeeping (its iterations'
``get_next_run`` without the generator, ``register_result``, and building each bracket), the oracle, and the
rest, which is what our in-process driver adds. The target compares that rest with the generator's cost; the
stricter reading that also counts the library's bookkeeping as driver is printed next to it. Everything
prints; nothing is written to disk.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from nasbench_bench.encodings import Encoding
from nasbench_bench.oracle import BudgetExhausted, Oracle
from nasbench_bench.table import Table

NAMES = ("tpe", "smac", "hb", "bohb")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", choices=("nb101", "nb201"), default="nb101",
                        help="nb101: the SYNTHETIC NAS-Bench-101 table, encoding A (26 hyperparameters, the "
                             "paper's setting); nb201: the SYNTHETIC toy table over the 15,625 NAS-Bench-201 cells "
                             "(6 hyperparameters, budgets 4/12/36/108)")
    parser.add_argument("--optimizers", default=",".join(NAMES))
    parser.add_argument("--max-evals", type=int, default=5000, help="our drivers (quick mode: e.g. 300)")
    parser.add_argument("--checkpoints", default="100,1000,5000", help="evaluation counts to report (<= max)")
    parser.add_argument("--library-max-evals", type=int, default=1000, help="the libraries' own drivers")
    parser.add_argument("--library-seconds", type=float, default=240.0,
                        help="wall-clock cap of SMAC optimize() (its walltime_limit)")
    parser.add_argument("--no-library", action="store_true", help="skip the libraries' own drivers")
    parser.add_argument("--seed", type=int, default=0)


# -- instrumentation ------------------------------------------------------------------------------------------
class TimedOracle(Oracle):
    """An oracle that stamps the wall clock after every evaluation and sums the time spent inside it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stamps: list[float] = []
        self.inside = 0.0
        self._depth = 0
        self.start = time.perf_counter()

    def evaluate(self, config: Any, budget: int | None = None, **kwargs: Any) -> Any:
        self._depth += 1
        t = time.perf_counter()
        try:
            return super().evaluate(config, budget, **kwargs)
        finally:
            self._depth -= 1
            self.inside += time.perf_counter() - t

    def evaluate_cell(self, cell: int, budget: int | None = None, halfway: bool = False) -> Any:
        t = time.perf_counter()
        try:
            ev = super().evaluate_cell(cell, budget, halfway)
        finally:
            if self._depth == 0:
                self.inside += time.perf_counter() - t
        self.stamps.append(time.perf_counter())
        return ev

    def resume(self, run_id: int) -> Any:
        t = time.perf_counter()
        try:
            ev = super().resume(run_id)
        finally:
            self.inside += time.perf_counter() - t
        self.stamps.append(time.perf_counter())
        return ev


def _timed(fn: Callable[..., Any], acc: dict[str, float], key: str) -> Callable[..., Any]:
    """``fn`` adding its wall time to ``acc[key]``; a recursive call is counted once, in its outermost call."""
    depth = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal depth
        if depth:
            return fn(*args, **kwargs)
        depth += 1
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            acc[key] += time.perf_counter() - t
            depth -= 1

    return wrapper


def marginal_seconds(stamps: list[float], n: int) -> float | None:
    """Seconds per evaluation over the last 10 % before ``n`` evaluations (``stamps``: wall clock after each
    evaluation), None if the run did not get there."""
    if len(stamps) < n:
        return None
    lo = max(1, int(n * 0.9))
    return (stamps[n - 1] - stamps[lo - 1]) / (n - lo)


def _costs(oracle: TimedOracle, n: int) -> tuple[float, float] | None:
    """(mean, marginal) seconds per evaluation at ``n`` evaluations, None if the run did not get there."""
    marginal = marginal_seconds(oracle.stamps, n)
    if marginal is None:
        return None
    return (oracle.stamps[n - 1] - oracle.start) / n, marginal


# -- the runs -----------------------------------------------------------------------------------------------
def _load(space: str) -> tuple[Table, Encoding]:
    from nasbench_bench.benchmarks import get_encoding, load_benchmark

    if space == "nb101":
        table, enc = load_benchmark("nb101-synthetic"), get_encoding("A")
    else:
        table, enc = load_benchmark("toy"), get_encoding("nb201")
    enc.cell_indices(enc.sample(np.random.default_rng(0), 2))  # warm lookups outside the clock
    return table, enc


class _TimedGenerator:
    """A config generator that adds the wall time of ``get_config`` and ``new_result`` to ``parts``."""

    def __init__(self, generator: Any, parts: dict[str, float]) -> None:
        self.get_config = _timed(generator.get_config, parts, "get_config")
        self.new_result = _timed(generator.new_result, parts, "new_result")


def _timed_master(parts: dict[str, float]) -> type[Any]:
    """An :class:`InProcessMaster` that times hpbandster's successive-halving bookkeeping into ``parts``:
    the iterations' ``get_next_run`` (which calls the generator's ``get_config``), ``register_result`` and
    building each bracket."""
    from optimizers._hpbandster import InProcessMaster

    class TimedMaster(InProcessMaster):
        next_run = _timed(InProcessMaster.next_run, parts, "next_run")
        register_result = _timed(InProcessMaster.register_result, parts, "register")
        get_next_iteration = _timed(InProcessMaster.get_next_iteration, parts, "bracket")

    return TimedMaster


def _ours(name: str, table: Table, enc: Encoding, n: int, seed: int) -> tuple[TimedOracle, dict[str, float]]:
    from nasbench_bench.optimizer import get_optimizer

    oracle = TimedOracle(table, enc, 1e15, seed=seed, max_evaluations=n)
    opt = get_optimizer(name)(enc, seed=seed)
    parts = dict.fromkeys(("get_config", "new_result", "next_run", "register", "bracket"), 0.0)
    try:
        if name in ("hb", "bohb"):
            from optimizers._hpbandster import library_warnings_silenced, run_hpbandster, seeded_global_numpy

            with seeded_global_numpy(seed), library_warnings_silenced():
                cg = _TimedGenerator(opt.config_generator(), parts)
                oracle.start = time.perf_counter()
                run_hpbandster(cg, oracle, [int(b) for b in table.budgets], float(opt.hp["eta"]),
                               master=_timed_master(parts))
        else:
            oracle.start = time.perf_counter()
            opt.run(oracle)
    except BudgetExhausted:
        pass
    parts["total"] = time.perf_counter() - oracle.start
    return oracle, parts


def _lib_tpe(table: Table, enc: Encoding, n: int, seed: int) -> TimedOracle:
    from hyperopt import Trials, fmin, tpe

    from optimizers.tpe import hyperopt_space

    oracle = TimedOracle(table, enc, 1e15, seed=seed)
    names = [p.name for p in enc.params]

    def objective(config: dict[str, Any]) -> float:
        return oracle.evaluate_cell(enc.cell_index(np.array([config[k] for k in names], float))).loss

    logging.getLogger("hyperopt").setLevel(logging.WARNING)
    oracle.start = time.perf_counter()
    fmin(objective, hyperopt_space(enc), tpe.suggest, n, trials=Trials(), rstate=np.random.default_rng(seed),
         show_progressbar=False)
    return oracle


def _lib_smac(table: Table, enc: Encoding, n: int, seed: int, seconds: float, defaults: bool) -> TimedOracle:
    """SMAC's own ``optimize()``, capped at ``seconds`` through SMAC's ``walltime_limit``.

    ``defaults=False``: our settings (scenario, forest, initial design) with SMAC's own config selector and
    intensifier, so it makes the same trials as our ask/tell run and only the driver differs.
    ``defaults=True``: the ``HyperparameterOptimizationFacade`` as a user gets it (its forest of 10 trees with
    ``n_jobs=-1``, an initial design of 10 configurations per hyperparameter capped at a quarter of the trials).
    """
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import Scenario

    from optimizers.smac import SMAC, _quiet, make_facade, private_output_directory

    oracle = TimedOracle(table, enc, 1e15, seed=seed)

    def train(config: Any, seed: int = 0) -> float:
        return oracle.evaluate(dict(config)).loss

    with private_output_directory() as out:
        cs = enc.configspace(seed=seed)
        if defaults:
            _quiet()
            scenario = Scenario(cs, output_directory=out, n_trials=n, walltime_limit=seconds, seed=seed)
            smac = HPO(scenario, train, logging_level=False, overwrite=True)
        else:
            smac = make_facade(cs, seed, out, SMAC.defaults, n_trials=n, target_function=train,
                               walltime_limit=seconds, library_components=True)
        oracle.start = time.perf_counter()
        smac.optimize()
    return oracle


def _hb_iterations_for(n: int, n_budgets: int, eta: int = 3) -> int:
    """Hyperband iterations whose jobs add up to at least ``n`` (hpbandster's bracket sizes)."""
    total, i = 0, 0
    while total < n:
        s = n_budgets - 1 - i % n_budgets
        n0 = int(np.floor(n_budgets / (s + 1)) * eta**s)
        total += sum(max(int(n0 * eta ** (-k)), 1) for k in range(s + 1))
        i += 1
    return i


def _lib_hpbandster(name: str, table: Table, enc: Encoding, n: int, seed: int) -> TimedOracle:
    """hpbandster's own driver: Pyro name server on 127.0.0.1 (port 0), one worker thread, HB/BOHB master."""
    import Pyro4
    from hpbandster.core.nameserver import NameServer
    from hpbandster.core.worker import Worker
    from hpbandster.optimizers import BOHB, HyperBand

    from nasbench_bench.optimizer import get_optimizer
    from optimizers._hpbandster import library_warnings_silenced, quiet_library_loggers

    quiet_library_loggers()
    oracle = TimedOracle(table, enc, 1e15, seed=seed)
    budgets = [int(b) for b in table.budgets]
    quiet = logging.getLogger("hpbandster.bench")  # a Worker without a logger sets the root logger to DEBUG

    class OracleWorker(Worker):
        def compute(self, config_id: Any, config: dict, budget: float, working_directory: str) -> dict:
            nearest = min(budgets, key=lambda b: abs(b - budget))
            return {"loss": oracle.evaluate(config, nearest).loss, "info": {}}

    run_id = f"bench-{name}-{os.getpid()}"
    saved = (Pyro4.config.SERIALIZER, set(Pyro4.config.SERIALIZERS_ACCEPTED))
    Pyro4.config.SERIALIZER = "pickle"  # serpent hangs on ConfigSpace 1.x's numpy scalars
    Pyro4.config.SERIALIZERS_ACCEPTED.add("pickle")
    ns = NameServer(run_id=run_id, host="127.0.0.1", port=0)
    host, port = ns.start()
    try:
        with tempfile.TemporaryDirectory(prefix="nasbench_bench_hpb_") as work, library_warnings_silenced():
            worker = OracleWorker(run_id=run_id, nameserver=host, nameserver_port=port, host="127.0.0.1",
                                  logger=quiet)
            worker.run(background=True)
            np.random.seed(seed)
            d = get_optimizer(name).defaults
            common: dict[str, Any] = dict(configspace=enc.configspace(seed=seed), run_id=run_id, eta=d["eta"],
                                          min_budget=budgets[0], max_budget=budgets[-1], nameserver=host,
                                          nameserver_port=port, host="127.0.0.1", logger=quiet,
                                          working_directory=work)
            if name == "bohb":
                extra = {k: d[k] for k in ("random_fraction", "num_samples", "min_bandwidth", "bandwidth_factor",
                                           "top_n_percent", "min_points_in_model")}
                master: Any = BOHB(**common, **extra)
            else:
                master = HyperBand(**common)
            oracle.start = time.perf_counter()
            try:
                master.run(n_iterations=_hb_iterations_for(n, len(budgets), int(d["eta"])))
            finally:
                master.shutdown(shutdown_workers=True)
                if worker.thread is not None:
                    worker.thread.join(timeout=30)
    finally:
        ns.shutdown()
        Pyro4.config.SERIALIZER, Pyro4.config.SERIALIZERS_ACCEPTED = saved
    return oracle


# -- report -------------------------------------------------------------------------------------------------
def _ms(x: tuple[float, float] | None) -> str:
    return "      -          -   " if x is None else f"{x[0] * 1e3:9.2f} {x[1] * 1e3:9.2f}  "


def run(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.optimizers.split(",") if n.strip()]
    checkpoints = sorted({int(c) for c in args.checkpoints.split(",") if c.strip()} | {args.max_evals})
    checkpoints = [c for c in checkpoints if c <= args.max_evals]
    lib_n = min(args.library_max_evals, args.max_evals)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start (shared machine: "
          "figures include interference from other users)")
    t0 = time.perf_counter()
    table, enc = _load(args.space)
    print(f"space {args.space}: encoding {enc.name} ({enc.dim} hyperparameters), table {table.name} "
          f"({table.n_cells:,} cells, budgets {list(map(int, table.budgets))}), loaded in "
          f"{time.perf_counter() - t0:.1f} s")
    verdicts: list[str] = []
    for name in names:
        w0 = time.perf_counter()
        ours, parts = _ours(name, table, enc, args.max_evals, args.seed)
        libs: list[tuple[str, TimedOracle, bool]] = []  # (label, run, on our settings: same trials expected)
        if not args.no_library:
            if name == "tpe":
                libs.append(("hyperopt fmin", _lib_tpe(table, enc, lib_n, args.seed), True))
            elif name == "smac":
                for defaults, label in ((False, "SMAC optimize() on our settings"),
                                        (True, "SMAC optimize() with the facade's defaults")):
                    libs.append((label, _lib_smac(table, enc, lib_n, args.seed, args.library_seconds, defaults),
                                 not defaults))
            else:
                libs.append(("hpbandster+Pyro", _lib_hpbandster(name, table, enc, lib_n, args.seed), True))
        print(f"\n{name}: ours {len(ours.stamps):,} evaluations ({time.perf_counter() - w0:.0f} s wall in all)")
        for label, lib, our_settings in libs or [("no library run", None, False)]:
            _print_costs(ours, lib, label, checkpoints)
            if lib is not None and our_settings:
                same, both = _same_runs(ours, lib)
                print(f"  same trials (cell, budget, trial drawn) as ours over the {both:,} evaluations both made: "
                      f"{'yes' if same == both else 'NO, they diverge at evaluation ' + str(same + 1)}")
        if name == "smac":
            verdicts += [_smac_verdict(ours, lib, lib_n, label) for label, lib, _ in libs]
        if name in ("hb", "bohb"):
            verdicts.append(_overhead_verdict(name, ours, parts))
    print("\ntargets:")
    for v in verdicts:
        print("  " + v)
    print(f"total wall clock {time.perf_counter() - t0:.0f} s; load average {os.getloadavg()[0]:.2f} at the end")
    return 0


def _print_costs(ours: TimedOracle, lib: TimedOracle | None, label: str, checkpoints: list[int]) -> None:
    n_lib = "" if lib is None else f" ({len(lib.stamps):,} evaluations)"
    print(f"  vs {label}{n_lib}")
    print("       N   ours ms/eval (mean, marginal)   library ms/eval (mean, marginal)   ratio (marginal)")
    for n in checkpoints:
        a, b = _costs(ours, n), None if lib is None else _costs(lib, n)
        ratio = f"{b[1] / a[1]:8.1f}x" if a and b else "       -"
        print(f"  {n:6d}   {_ms(a)}            {_ms(b)}            {ratio}")


def _same_runs(ours: TimedOracle, lib: TimedOracle) -> tuple[int, int]:
    """(leading evaluations the two runs share (cell, budget, trial drawn), evaluations both made)."""
    return shared_prefix(ours.trajectory(), lib.trajectory())


def shared_prefix(a: Any, b: Any) -> tuple[int, int]:
    """(leading evaluations trajectories ``a`` and ``b`` share (cell, budget, trial drawn), evaluations both
    made)."""
    n = min(len(a), len(b))
    same = (a.row[:n] == b.row[:n]) & (a.budget[:n] == b.budget[:n]) & (a.trial[:n] == b.trial[:n])
    return (n if same.all() else int(np.argmin(same))), n


def _smac_verdict(ours: TimedOracle, lib: TimedOracle, target_n: int, label: str) -> str:
    reached = len(lib.stamps)
    n = min(target_n, reached)
    a, b = _costs(ours, n), _costs(lib, n)
    if not a or not b or n < 20:
        return f"SMAC vs {label}: too few trials to compare"
    ratio = b[1] / a[1]
    note = "" if n >= target_n else (f" (it reached only {reached} trials within its wall-clock cap: ratio at {n}, "
                                     f"a lower bound for {target_n} since its cost grows)")
    return (f"SMAC ask/tell vs {label}, marginal cost at {n} trials: {ratio:.1f}x faster "
            f"(target >= 10x at 1,000): {'OK' if ratio >= 10 else 'MISSED'}{note}")


def _overhead_verdict(name: str, ours: TimedOracle, parts: dict[str, float]) -> str:
    gen = parts["get_config"] + parts["new_result"]
    # get_config runs inside get_next_run (a new configuration fills a bracket slot)
    bookkeeping = parts["next_run"] - parts["get_config"] + parts["register"] + parts["bracket"]
    driver = parts["total"] - gen - bookkeeping - ours.inside
    n = len(ours.stamps)
    return (f"{name.upper()}: {n} evaluations in {parts['total']:.2f} s = config generator {gen:.2f} s "
            f"(get_config {parts['get_config']:.2f} s) + hpbandster's successive-halving bookkeeping "
            f"{bookkeeping:.3f} s + oracle {ours.inside:.2f} s + our driver {driver:.3f} s; driver overhead "
            f"{100 * driver / gen:.1f} % of the generator's cost (target <= 10 %): "
            f"{'OK' if driver <= 0.1 * gen else 'MISSED'}; counting the library's bookkeeping as driver too: "
            f"{100 * (driver + bookkeeping) / gen:.1f} %; whole run / get_config alone = "
            f"{parts['total'] / parts['get_config']:.2f}")
