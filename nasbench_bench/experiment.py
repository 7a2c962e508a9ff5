"""An experiment: benchmark(s) x optimizers x seeds under one time budget and encoding.

Built from a TOML file (:func:`load_experiment`) or a plain dict (:meth:`Experiment.from_dict`, what the
command line uses; its flags override the file's keys). The TOML keys::

    name = "figure7"                  # optional, default: the file's stem
    description = "..."               # optional
    benchmark = "nb101"               # or benchmarks = ["nb201-cifar10", "nb201-cifar100"]
                                      #   or suite = "real" (a named set: nasbench_bench.benchmarks.SUITES)
    seeds = "0-499"                   # "0-9,20,30-31", a list [0, 1, 2] or an int N (= 0..N-1)
    time_budget = 1e7                 # simulated seconds (evaluations on unit-cost tables), or a rule
                                      #   comparable across tables: "100 evaluations" = 100 x the table's
                                      #   mean evaluation cost (unit-cost tables: 100), resolved per table
    encoding = "A"                    # optional: default A for nb101, nb201 for nb201-*/toy
    max_evaluations = 100000          # optional: end each run after this many evaluations (part of its setting)
    workers = 8                       # optional: simulated parallel workers per run (default 1 = sequential;
                                      #   > 1 is part of the run's setting, see nasbench_bench.simulator)
    problem = "pareto:latency"        # optional (default "single"): "constrained:latency<=0.02",
                                      #   "mnasnet:latency=25%:soft", "pareto:latency,params" or a table
                                      #   [problem] kind = ..., objectives/constraints/cost/target/mode
                                      #   (see nasbench_bench.problems; part of the run's setting)
    data = "/path/to/nasbench_full.tfrecord"   # optional: the nb101 data (else --data / env)
    plugins = ["my_optimizers"]       # optional: modules imported first (optimizers they @register)
    optimizers = ["rs", "re"]         # names, module:Class paths, or tables:

    [limits]                          # optional safety limits: a run exceeding one FAILS with a message;
    invalid_streak = 10000            #   they never change a run that stays within them (not in its setting)
    evaluations = "auto"              #   "auto" = 10 x budget / cheapest evaluation + 10,000
    wall_clock = 3600                 #   seconds per run (default: none)

    [[optimizers]]                    # (either form; not both in one file)
    name = "re"
    label = "re-pop50"                # optional, default: the name; must be unique
    hyperparameters = { population_size = 50 }

Validation errors (:class:`ExperimentError`) name the offending key and value. Each optimizer is resolved once,
when the experiment is built (:class:`OptimizerSpec`: its import path and its hyperparameters, defaults merged
and checked); :meth:`Experiment.runs` creates each run's identity (:class:`~nasbench_bench.results.RunId`) once.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasbench_bench.benchmarks import benchmark_family, benchmark_names, default_encoding, encodings, get_encoding
from nasbench_bench.oracle import RunLimits
from nasbench_bench.problems import Problem, ProblemError
from nasbench_bench.results import RunId, check_label, settings_hash

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["BenchmarkPlan", "Experiment", "ExperimentError", "OptimizerSpec", "Plan", "Run", "load_experiment",
           "parse_seeds"]

TOP_KEYS = (
    "name", "description", "benchmark", "benchmarks", "suite", "optimizers", "seeds", "time_budget", "encoding",
    "max_evaluations", "data", "plugins", "limits", "workers", "problem",
)
LIMIT_KEYS = ("invalid_streak", "evaluations", "wall_clock")
#: Most seeds one experiment may have (a larger range is almost certainly a typo; split it otherwise).
MAX_SEEDS = 100_000
OPTIMIZER_KEYS = ("name", "label", "hyperparameters")
MAX_SEED = 2**32 - 1
log = logging.getLogger(__name__)


class ExperimentError(ValueError):
    """An invalid experiment definition; the message names the key and value at fault."""


def parse_seeds(spec: str | int | Iterable[int | str]) -> tuple[int, ...]:
    """Seeds from ``"0-499"``, ``"0,3,10-12"``, an int ``N`` (= ``0..N-1``) or a list; sorted, unique.

    Ranges are inclusive. ``ValueError`` on anything else (negative, reversed range, empty, junk).
    """
    if isinstance(spec, bool):
        raise ValueError(f"seeds must be a range string, a count or a list, got {spec!r}")
    if isinstance(spec, int):
        if spec <= 0:
            raise ValueError(f"a seed count must be positive, got {spec}")
        _check_seed_count(spec, spec)
        return tuple(range(spec))
    items: list[Any]
    if isinstance(spec, str):
        items = [p.strip() for p in spec.split(",")]
    else:
        items = list(spec)
    ranges: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"bad seed {item!r}")
        if isinstance(item, int):
            lo = hi = item
        elif isinstance(item, str):
            m = re.fullmatch(r"\s*(\d+)\s*(?:(?:-|\.\.)\s*(\d+)\s*)?", item)
            if not m:
                raise ValueError(f"bad seed or range {item!r} (use e.g. '0-499' or '0,3,10-12')")
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) is not None else lo
        else:
            raise ValueError(f"bad seed {item!r}")
        if lo < 0 or hi > MAX_SEED:
            raise ValueError(f"seeds must be in 0..{MAX_SEED}, got {item!r}")
        if hi < lo:
            raise ValueError(f"reversed seed range {item!r}")
        ranges.append((lo, hi))
    if not ranges:
        raise ValueError(f"no seeds in {spec!r}")
    _check_seed_count(sum(hi - lo + 1 for lo, hi in ranges), spec)  # before expanding anything
    out: set[int] = set()
    for lo, hi in ranges:
        out.update(range(lo, hi + 1))
    return tuple(sorted(out))


def _check_seed_count(n: int, spec: Any) -> None:
    if n > MAX_SEEDS:
        raise ValueError(f"{spec!r} gives {n:,} seeds; at most {MAX_SEEDS:,} per experiment (the paper uses 500); "
                         "split a larger study into several experiments")


_RULE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)\s*evaluations?\s*$")


def parse_budget_rule(value: Any) -> float | None:
    """``"100 evaluations"`` -> 100.0 (a budget rule), None for anything that is not a rule."""
    if not isinstance(value, str):
        return None
    m = _RULE_RE.match(value)
    if m is None:
        return None
    n = float(m.group(1))
    if not (n > 0 and math.isfinite(n)):
        raise ValueError(f"a budget rule needs a positive number of evaluations, got {value!r}")
    return n


def resolve_budget_rule(n_evaluations: float, benchmarks: Sequence[str], data: str | None = None
                        ) -> dict[str, float]:
    """Per benchmark, ``n_evaluations`` x its table's mean evaluation cost (``Table.mean_cost``; 1 on
    unit-cost tables, so the budget is then ``n_evaluations`` evaluations)."""
    from nasbench_bench.benchmarks import load_benchmark

    return {b: float(n_evaluations * load_benchmark(b, data).mean_cost) for b in benchmarks}


def parse_budget(value: Any) -> float:
    """A positive finite number of simulated seconds from a number or a string like ``"1e7"``."""
    if isinstance(value, bool):
        raise ValueError(f"time budget must be a number of seconds, got {value!r}")
    try:
        budget = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"time budget must be a number of seconds, got {value!r}") from None
    if not (budget > 0 and math.isfinite(budget)):
        raise ValueError(f"time budget must be positive and finite, got {value!r}")
    return budget


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of an experiment, resolved once: what the user gave and what it resolved to.

    ``name`` is the registry name or ``module:Class`` as given, ``label`` the display label, ``overrides`` the
    hyperparameters given; ``path`` is the importable ``module:Class`` workers load, ``hyperparameters`` the
    class defaults merged with the overrides (checked by the class).
    """

    name: str
    label: str
    overrides: Mapping[str, Any]
    path: str
    hyperparameters: Mapping[str, Any]
    needs_fixed_hashseed: bool = False


def resolve_optimizer(name: str, label: str, overrides: Mapping[str, Any]) -> OptimizerSpec:
    """Import optimizer ``name`` once and check its hyperparameters; :class:`ExperimentError` naming the problem."""
    from nasbench_bench.optimizer import OptimizerError, get_optimizer, import_path

    try:
        cls = get_optimizer(name)
        hp = cls.resolve_hyperparameters(overrides)
    except (OptimizerError, KeyError) as exc:
        raise ExperimentError(str(exc.args[0]) if exc.args else f"optimizer {label!r}: {exc!r}") from None
    if ":" in label and label == name:  # a path given without a label: the class's own name labels it
        label = cls.name or cls.__name__.lower()
    return OptimizerSpec(name=name, label=label, overrides=dict(overrides), path=import_path(cls),
                         hyperparameters=hp, needs_fixed_hashseed=bool(cls.needs_fixed_hashseed))


@dataclass(frozen=True)
class Run:
    """One run of an experiment: its identity and everything a worker needs to perform it (plain data)."""

    id: RunId
    optimizer: OptimizerSpec
    encoding: str
    time_budget: float
    max_evaluations: int | None
    data: str | None
    settings: Mapping[str, Any]
    limits: RunLimits = RunLimits()
    workers: int = 1
    domain: str = ""  # the benchmark's task domain (recorded with the run)
    problem: Problem = Problem()  # what the run optimises (nasbench_bench.problems)


@dataclass(frozen=True)
class BenchmarkPlan:
    """One benchmark of an experiment, resolved once (:meth:`Experiment.resolve`): what every run on it needs."""

    name: str
    family: str
    encoding: str
    budget: float
    domain: str
    cost_unit: str
    synthetic: bool


@dataclass(frozen=True)
class Plan:
    """An experiment resolved against the registry and the data: the data path handed to the workers and one
    :class:`BenchmarkPlan` per benchmark (tables loaded and checked to hold every cell their encoding proposes)."""

    data: str | None
    benchmarks: Mapping[str, BenchmarkPlan]

    @property
    def synthetic(self) -> list[str]:
        return [b for b, p in self.benchmarks.items() if p.synthetic]


@dataclass(frozen=True)
class Experiment:
    """Benchmarks x optimizers x seeds, one time budget; ``encoding=None`` = each benchmark's default."""

    name: str
    benchmarks: tuple[str, ...]
    optimizers: tuple[OptimizerSpec, ...]
    seeds: tuple[int, ...]
    time_budget: float
    encoding: str | None = None
    max_evaluations: int | None = None
    data: str | None = None
    description: str = ""
    limits: RunLimits = RunLimits()
    plugins: tuple[str, ...] = ()
    workers: int = 1
    budget_rule: float | None = None  # "N evaluations": N, resolved per table into ``budgets``
    budgets: Mapping[str, float] = dataclasses.field(default_factory=dict)  # per benchmark (rules only)
    suite: str | None = None
    problem: Problem = Problem()

    def encoding_for(self, benchmark: str) -> str:
        return self.encoding or default_encoding(benchmark)

    def budget_for(self, benchmark: str) -> float:
        """The run budget on ``benchmark``: the budget rule resolved for its table, else ``time_budget``."""
        return self.budgets.get(benchmark, self.time_budget)

    @property
    def budget_text(self) -> str:
        """What the budget is, in one phrase (the rule when there is one)."""
        if self.budget_rule is not None:
            return f"{self.budget_rule:g} evaluations (x each table's mean evaluation cost)"
        return f"{self.time_budget:g}"

    def settings(self, benchmark: str, optimizer: OptimizerSpec) -> dict[str, Any]:
        """What identifies a run's setting (hashed into its directory name); the benchmark is the parent.

        Hyperparameters are resolved (class defaults + overrides), so changing an optimizer's defaults
        changes the hash and old results are not mistaken for the new setting. ``workers`` enters only when it
        is > 1, so sequential runs keep the identity they always had (and old results still resume).
        """
        out: dict[str, Any] = {
            "optimizer": optimizer.name,
            "hyperparameters": dict(optimizer.hyperparameters),
            "encoding": self.encoding_for(benchmark),
            "time_budget": self.budget_for(benchmark),
            "max_evaluations": self.max_evaluations,
        }
        if self.budget_rule is not None:  # only then, so runs without a rule keep their identity
            out["budget_rule"] = f"{self.budget_rule:g} evaluations"
        if self.workers > 1:
            out["workers"] = self.workers
        if not self.problem.is_single:  # only then, so single-objective runs keep their identity
            out["problem"] = self.problem.spec()
        return out

    def resolve(self) -> Plan:
        """Resolve everything the runs need once: each benchmark's data path (the family's how-to error when it is
        missing), encoding, budget and domain, and its table loaded and checked to hold every cell the encoding can
        propose (else every run would fail at its first missing cell). The runner then only runs."""
        from nasbench_bench.benchmarks import benchmark, data_path, synthetic_benchmarks
        data = self.data
        for b in self.benchmarks:  # fail now, with the how-to, not in 500 workers
            path = data_path(b, data)
            if path is not None:
                data = str(path)
        synthetic = synthetic_benchmarks()
        plans = {}
        for b in self.benchmarks:
            enc = self.encoding_for(b)
            check_coverage(b, data, enc)
            check_optimizers(b, data, self.optimizers)
            if not self.problem.is_single:
                check_problem(b, data, self.problem)
            reg = benchmark(b)
            plans[b] = BenchmarkPlan(b, benchmark_family(b), enc, self.budget_for(b), reg.domain, reg.cost_unit,
                                     b in synthetic)
        return Plan(data, plans)

    def runs(self, data: str | None = None) -> list[Run]:
        """Every run, seed-major (all optimizers of seed 0 first) so partial results stay balanced.

        ``data`` (default: the experiment's) is the resolved data path handed to the workers.
        """
        per: list[tuple[str, OptimizerSpec, str, dict[str, Any], str]] = []
        for b in self.benchmarks:
            for o in self.optimizers:
                s = self.settings(b, o)
                per.append((b, o, self.encoding_for(b), s, settings_hash(s)))
        data = self.data if data is None else data
        return [
            Run(RunId(b, o.label, h, seed), o, enc, self.budget_for(b), self.max_evaluations, data, s, self.limits,
                self.workers, _domain(b), self.problem)
            for seed in self.seeds for (b, o, enc, s, h) in per
        ]

    @property
    def n_runs(self) -> int:
        return len(self.benchmarks) * len(self.optimizers) * len(self.seeds)

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "experiment", default_name: str = "experiment"
                  ) -> Experiment:
        """Validate ``raw`` (the TOML keys, see the module docstring) into an Experiment."""
        def err(msg: str) -> ExperimentError:
            return ExperimentError(f"{source}: {msg}")

        if not isinstance(raw, Mapping):
            raise err(f"expected a table of keys, got {type(raw).__name__}")
        unknown = [k for k in raw if k not in TOP_KEYS]
        if unknown:
            raise err(f"unknown key(s) {unknown}; valid keys: {list(TOP_KEYS)}")

        name = raw.get("name", default_name)
        if not isinstance(name, str) or not name:
            raise err(f"'name' must be a non-empty string, got {name!r}")
        description = raw.get("description", "")
        if not isinstance(description, str):
            raise err(f"'description' must be a string, got {description!r}")

        # benchmarks
        given = [k for k in ("benchmark", "benchmarks", "suite") if k in raw]
        if len(given) > 1:
            raise err(f"give one of 'benchmark', 'benchmarks' or 'suite', not {' and '.join(given)}")
        suite_name = raw.get("suite")
        if suite_name is not None:
            from nasbench_bench.benchmarks import suite

            if not isinstance(suite_name, str):
                raise err(f"'suite' must be a suite name, got {suite_name!r}")
            try:
                braw = list(suite(suite_name))
            except KeyError as exc:
                raise err(f"'suite': {exc.args[0]}") from None
            bkey = "suite"
        else:
            braw = raw.get("benchmarks", raw.get("benchmark"))
            bkey = "benchmarks" if "benchmarks" in raw else "benchmark"
        known_benchmarks = sorted(benchmark_names())
        if braw is None:
            raise err(f"missing 'benchmark' (one of {known_benchmarks}) or 'suite'")
        blist = [b.strip() for b in braw.split(",")] if isinstance(braw, str) else braw
        if not isinstance(blist, list) or not blist or not all(isinstance(b, str) for b in blist):
            raise err(f"'{bkey}' must be a benchmark name or a list of them, got {braw!r}")
        for b in blist:
            if b not in known_benchmarks:
                raise err(f"'{bkey}': unknown benchmark {b!r}; valid: {known_benchmarks}")
        if len(set(blist)) != len(blist):
            raise err(f"'{bkey}' lists a benchmark twice: {blist!r}")

        # encoding
        encoding = raw.get("encoding")
        if encoding is not None:
            if not isinstance(encoding, str) or encoding not in encodings():
                raise err(f"'encoding' = {encoding!r} is not one of {sorted(encodings())}")
            fam = get_encoding(encoding).benchmark
            for b in blist:
                if benchmark_family(b) != fam:
                    raise err(
                        f"'encoding' = {encoding!r} is for {fam} tables but benchmark {b!r} is "
                        f"{benchmark_family(b)} (use {default_encoding(b)!r})"
                    )

        # seeds, budget, caps, data
        if "seeds" not in raw:
            raise err("missing 'seeds' (e.g. seeds = \"0-499\")")
        try:
            seeds = parse_seeds(raw["seeds"])
        except ValueError as exc:
            raise err(f"'seeds' = {raw['seeds']!r}: {exc}") from None
        if "time_budget" not in raw:
            raise err("missing 'time_budget' (simulated seconds, e.g. time_budget = 1e7)")
        try:
            rule = parse_budget_rule(raw["time_budget"])
            budget = rule if rule is not None else parse_budget(raw["time_budget"])
        except ValueError as exc:
            raise err(f"'time_budget' = {raw['time_budget']!r}: {exc} (or a rule like \"100 evaluations\")"
                      ) from None
        max_evals = raw.get("max_evaluations")
        if max_evals is not None and (isinstance(max_evals, bool) or not isinstance(max_evals, int) or max_evals <= 0):
            raise err(f"'max_evaluations' must be a positive integer, got {max_evals!r}")
        data = raw.get("data")
        if data is not None and not isinstance(data, (str, os.PathLike)):
            raise err(f"'data' must be a path string, got {data!r}")
        limits = _parse_limits(raw.get("limits", {}), err)
        plugins = raw.get("plugins", [])
        if isinstance(plugins, str):
            plugins = [p.strip() for p in plugins.split(",") if p.strip()]
        if not isinstance(plugins, list) or not all(isinstance(p, str) and p for p in plugins):
            raise err(f"'plugins' must be a list of module names, got {plugins!r}")
        for module in plugins:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise err(f"'plugins': cannot import module {module!r}: {exc} (is its folder on PYTHONPATH?)") from None

        optimizers = _parse_optimizers(raw.get("optimizers"), err)
        try:
            problem = Problem.parse(raw.get("problem"))
        except (ProblemError, TypeError, ValueError) as exc:
            raise err(f"'problem' = {raw.get('problem')!r}: {exc}") from None
        if problem.kind in ("constrained", "mnasnet"):
            from nasbench_bench.problems import READS_VALID_ACC

            blind = [o.label for o in optimizers if o.name in READS_VALID_ACC]
            if blind:
                log.warning("%s: %s read the validation value directly: under %s they optimise the raw metric, "
                            "ignoring the problem (they are charged and scored like the others)", source,
                            ", ".join(blind), problem.spec())
        workers = _parse_workers(raw.get("workers", 1), optimizers, err)
        budgets: dict[str, float] = {}
        if rule is not None:
            from nasbench_bench.benchmarks import BenchmarkDataError

            try:
                budgets = resolve_budget_rule(rule, blist, None if data is None else str(data))
            except (BenchmarkDataError, OSError, ValueError) as exc:
                raise err(f"'time_budget' = {raw['time_budget']!r}: cannot resolve it per table: {exc}") from None
        return cls(
            name=name,
            benchmarks=tuple(blist),
            optimizers=optimizers,
            seeds=seeds,
            time_budget=budget,
            encoding=encoding,
            max_evaluations=max_evals,
            data=None if data is None else str(data),
            description=description,
            limits=limits,
            plugins=tuple(plugins),
            workers=workers,
            budget_rule=rule,
            budgets=budgets,
            suite=suite_name,
            problem=problem,
        )


def check_problem(benchmark: str, data: str | None, problem: Problem) -> None:
    """Raise :class:`~nasbench_bench.problems.ProblemError` if ``problem`` cannot be posed on the benchmark's table
    (an objective it lacks, a constraint no cell satisfies, a reward on a metric that is not an accuracy)."""
    from nasbench_bench.benchmarks import load_benchmark

    try:
        problem.bind(load_benchmark(benchmark, data))
    except ProblemError as exc:
        raise ProblemError(f"{benchmark}: {exc}") from None


def check_coverage(benchmark: str, data: str | None, encoding: str) -> None:
    """Raise :class:`~nasbench_bench.benchmarks.BenchmarkDataError` if the benchmark's table lacks cells the
    encoding can propose (every run would fail at the first one)."""
    from nasbench_bench.benchmarks import BenchmarkDataError, get_encoding, load_benchmark
    from nasbench_bench.oracle import coverage

    table = load_benchmark(benchmark, data)
    enc = get_encoding(encoding)
    present, total = coverage(table, enc)
    if present < total:
        raise BenchmarkDataError(
            f"table {table.name!r} of benchmark {benchmark!r} holds {present:,} of the {total:,} cells encoding "
            f"{encoding!r} can propose, so every run would fail at its first missing cell. Use a complete table: "
            "the full official file, a synthetic file written with `nasbench-bench data synth --cells all`, or "
            "the benchmark 'nb101-synthetic'"
        )


def check_optimizers(benchmark: str, data: str | None, optimizers: Sequence[OptimizerSpec]) -> None:
    """Raise :class:`ExperimentError` naming every optimizer that cannot run on the benchmark's table
    (``Optimizer.check_table``, e.g. ``zc:re`` on a table without a zero-cost proxy): one line, before any run."""
    from nasbench_bench.benchmarks import load_benchmark
    from nasbench_bench.optimizer import OptimizerError, get_optimizer

    table = load_benchmark(benchmark, data)
    problems = []
    for spec in optimizers:
        try:
            get_optimizer(spec.path).check_table(table, spec.hyperparameters)
        except OptimizerError as exc:
            msg = str(exc.args[0] if exc.args else exc)
            problems.append(msg if msg.startswith(spec.label) else f"{spec.label}: {msg}")
    if problems:
        raise ExperimentError(f"benchmark {benchmark!r}: " + "; ".join(problems)
                              + " (leave these optimizers out of runs on it)")


def _domain(benchmark: str) -> str:
    from nasbench_bench.benchmarks import domain

    return domain(benchmark)


def _parse_workers(raw: Any, optimizers: Sequence[OptimizerSpec], err: Any) -> int:
    """The number of simulated workers; each optimizer must have an ask/tell form when it is > 1."""
    from nasbench_bench.optimizer import get_optimizer
    from nasbench_bench.simulator import check_workers, supports_workers

    try:
        workers = check_workers(raw)
    except ValueError as exc:
        raise err(f"'workers': {exc}") from None
    if workers > 1:
        for spec in optimizers:
            why = supports_workers(get_optimizer(spec.path))
            if why is not None:
                raise err(f"'workers' = {workers}: {why}; run it with workers = 1")
    return workers


def _parse_limits(raw: Any, err: Any) -> RunLimits:
    if not isinstance(raw, Mapping):
        raise err(f"'limits' must be a table (invalid_streak, evaluations, wall_clock), got {raw!r}")
    bad = [k for k in raw if k not in LIMIT_KEYS]
    if bad:
        raise err(f"'limits': unknown key(s) {bad}; valid: {list(LIMIT_KEYS)}")
    out: dict[str, Any] = {}
    for key in ("invalid_streak", "evaluations"):
        v = raw.get(key)
        if key == "evaluations" and v == "auto":
            v = None
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
            also = ' or "auto"' if key == "evaluations" else ""
            raise err(f"'limits.{key}' must be a positive integer{also}, got {v!r}")
        out[key] = v
    if "invalid_streak" not in raw:
        out["invalid_streak"] = RunLimits.invalid_streak
    wall = raw.get("wall_clock")
    if wall is not None:
        try:
            wall = parse_budget(wall)
        except ValueError:
            raise err(f"'limits.wall_clock' must be a positive number of seconds, got {wall!r}") from None
    return RunLimits(out["invalid_streak"], out["evaluations"], wall)


def _parse_optimizers(raw: Any, err: Any) -> tuple[OptimizerSpec, ...]:
    if raw is None:
        raise err("missing 'optimizers' (e.g. optimizers = [\"rs\", \"re\"])")
    items = [p.strip() for p in raw.split(",") if p.strip()] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise err(f"'optimizers' must be a non-empty list, got {raw!r}")
    specs: list[OptimizerSpec] = []
    for i, item in enumerate(items):
        where = f"optimizers[{i}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping):
            raise err(f"{where} must be a name or a table with 'name', got {item!r}")
        bad = [k for k in item if k not in OPTIMIZER_KEYS]
        if bad:
            raise err(f"{where}: unknown key(s) {bad}; valid: {list(OPTIMIZER_KEYS)}")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise err(f"{where}: 'name' must be a non-empty string, got {name!r}")
        hp = item.get("hyperparameters", {})
        if not isinstance(hp, Mapping) or not all(isinstance(k, str) for k in hp):
            raise err(f"{where}: 'hyperparameters' must be a table of name = value, got {hp!r}")
        try:
            spec = resolve_optimizer(name, str(item.get("label", name)), hp)
        except ExperimentError as exc:
            raise err(f"{where}: {exc}") from None
        label = item.get("label", spec.label)
        try:
            check_label(label)
        except ValueError as exc:
            raise err(f"{where}: 'label': {exc}") from None
        specs.append(dataclasses.replace(spec, label=label))
    labels = [s.label for s in specs]
    dup = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dup:
        raise err(f"optimizer label(s) {dup} used more than once; give each entry its own 'label'")
    return tuple(specs)


def read_experiment_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw keys of a TOML experiment file (``ExperimentError`` on a missing file or TOML syntax)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ExperimentError(f"experiment file {str(path)!r} not found") from None
    except IsADirectoryError:
        raise ExperimentError(f"{str(path)!r} is a directory, not an experiment file (e.g. experiments/quick.toml)"
                              ) from None
    except (PermissionError, UnicodeDecodeError) as exc:
        raise ExperimentError(f"cannot read experiment file {str(path)!r}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{path}: invalid TOML: {exc}") from None


def load_experiment(path: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None) -> Experiment:
    """An experiment from a TOML file; ``overrides`` (e.g. from command-line flags) replace its keys."""
    raw = read_experiment_file(path)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "benchmark" in given or "benchmarks" in given or "suite" in given:
        raw.pop("benchmark", None)
        raw.pop("benchmarks", None)
        raw.pop("suite", None)
    if isinstance(given.get("limits"), Mapping) and isinstance(raw.get("limits"), Mapping):
        given["limits"] = {**raw["limits"], **given["limits"]}  # flags override single limits
    raw.update(given)
    return Experiment.from_dict(raw, source=str(path), default_name=Path(path).stem)


def experiment_dict(exp: Experiment) -> dict[str, Any]:
    """A JSON-able description of ``exp`` (recorded beside the results)."""
    return {
        "name": exp.name,
        "description": exp.description,
        "benchmarks": list(exp.benchmarks),
        "optimizers": [
            {"name": o.name, "label": o.label, "hyperparameters": dict(o.overrides)} for o in exp.optimizers
        ],
        "seeds": _compact_seeds(exp.seeds),
        "time_budget": exp.time_budget,
        "budget_rule": None if exp.budget_rule is None else f"{exp.budget_rule:g} evaluations",
        "budgets": dict(exp.budgets),
        "suite": exp.suite,
        "encoding": exp.encoding,
        "max_evaluations": exp.max_evaluations,
        "limits": exp.limits.as_dict(),
        "plugins": list(exp.plugins),
        **({"workers": exp.workers} if exp.workers > 1 else {}),
        **({"problem": exp.problem.as_dict()} if not exp.problem.is_single else {}),
    }


def _compact_seeds(seeds: Sequence[int]) -> str:
    parts: list[str] = []
    start = prev = None
    for s in seeds:
        if start is None:
            start = prev = s
        elif s == prev + 1:  # type: ignore[operator]
            prev = s
        else:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = s
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ",".join(parts)
