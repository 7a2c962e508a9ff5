"""The benchmark registry: benchmark families, their benchmarks (tables) and their encodings.

A family is a subpackage of ``nasbench_bench`` (``nb101/``, ``nb201/``) whose ``__init__`` defines ``FAMILY``, a
:class:`BenchmarkFamily` listing its benchmarks (name -> table loader) and its encodings. Adding a family is one
new folder plus one line in :data:`FAMILIES`.

:func:`load_benchmark` memoises per process, so a worker running many jobs loads each table once.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from nasbench_bench.encodings import Encoding
from nasbench_bench.table import Table

__all__ = [
    "FAMILIES",
    "Benchmark",
    "BenchmarkDataError",
    "BenchmarkFamily",
    "benchmark",
    "benchmark_family",
    "benchmark_names",
    "catalog",
    "clear_cache",
    "table_facts",
    "cost_unit",
    "default_encoding",
    "encodings",
    "get_encoding",
    "domain",
    "suite",
    "suite_names",
    "SUITES",
    "families",
    "load_benchmark",
    "synthetic_benchmarks",
]

#: The registered benchmark families (modules defining ``FAMILY``): one line per family.
FAMILIES: tuple[str, ...] = (
    "nasbench_bench.nb101",
    "nasbench_bench.nb201",
    "nasbench_bench.tnb101.micro",
    "nasbench_bench.tnb101.macro",
    "nasbench_bench.graph",
    "nasbench_bench.graph.proteins",
    "nasbench_bench.macro",
    "nasbench_bench.fcnet",
    "nasbench_bench.hpobench",
)


class BenchmarkDataError(FileNotFoundError):
    """The data a benchmark needs is missing; the message says how to get it."""


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: a name and how to load its table.

    ``load(data)`` returns the table; ``data`` is the path given by the user (``--data``), only meaningful
    when ``data_path`` is set: ``data_path(data)`` resolves it (or the family's environment variable) and
    raises :class:`BenchmarkDataError` with a how-to when it is missing.
    """

    name: str
    load: Callable[[Path | None], Table]
    description: str
    synthetic: bool = False
    data_path: Callable[[str | os.PathLike[str] | None], Path] | None = None
    cost_unit: str = "seconds"  # what its budget counts: "seconds", or "evaluations" (unit cost; = Table.cost_unit)
    domain: str = "image"  # task domain for cross-benchmark analysis: image, taskonomy, graph, tabular


@dataclass(frozen=True)
class BenchmarkFamily:
    """A benchmark family: tables sharing one cell space and its encodings."""

    name: str
    benchmarks: tuple[Benchmark, ...]
    encodings: Mapping[str, type[Encoding]]
    default_encoding: str
    benchmark_of: dict[str, Benchmark] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "benchmark_of", {b.name: b for b in self.benchmarks})
        if self.default_encoding not in self.encodings:
            raise ValueError(f"family {self.name!r}: default encoding {self.default_encoding!r} is not one of its own")


@cache
def families() -> tuple[BenchmarkFamily, ...]:
    """The registered families, in :data:`FAMILIES` order."""
    out = tuple(importlib.import_module(m).FAMILY for m in FAMILIES)
    names = [b.name for f in out for b in f.benchmarks]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise RuntimeError(f"benchmark name(s) {dup} registered by more than one family")
    return out


def benchmark_names() -> list[str]:
    """Every registered benchmark name."""
    return [b.name for f in families() for b in f.benchmarks]


def _lookup(name: str) -> tuple[BenchmarkFamily, Benchmark]:
    for fam in families():
        b = fam.benchmark_of.get(name)
        if b is not None:
            return fam, b
    raise KeyError(f"unknown benchmark {name!r}; valid: {sorted(benchmark_names())}")


def benchmark(name: str) -> Benchmark:
    """The registered benchmark ``name``; ``KeyError`` listing the valid names."""
    return _lookup(name)[1]


def benchmark_family(name: str) -> str:
    """The family of benchmark ``name`` (e.g. ``"nb101"``): the ``benchmark`` attribute of its encodings."""
    return _lookup(name)[0].name


def default_encoding(name: str) -> str:
    """The encoding used when none is given (A for NAS-Bench-101, ``nb201`` for NAS-Bench-201)."""
    return _lookup(name)[0].default_encoding


def cost_unit(name: str) -> str:
    """What the budget of benchmark ``name`` counts, without loading its table: ``"seconds"`` or ``"evaluations"``."""
    return benchmark(name).cost_unit


def domain(name: str) -> str:
    """The task domain of benchmark ``name`` (image, taskonomy, graph, tabular)."""
    return benchmark(name).domain


#: Named sets of benchmarks (``--suite NAME``, ``suite = "NAME"``): name -> (description, families or None, rule).
#: A suite lists every registered benchmark of its families that is real, ships with the package (needs no
#: ``--data``) and passes the rule, so a new family's benchmarks join the suites by registering.
SUITES: dict[str, tuple[str, tuple[str, ...] | None, Callable[[Benchmark], bool]]] = {
    "nb201": ("every real NAS-Bench-201 table (3 datasets x 200 epochs / 12 epochs / both)", ("nb201",),
              lambda b: True),
    "tnb101": ("every TransNAS-Bench-101 task, micro and macro spaces", ("tnb101-micro", "tnb101-macro"),
               lambda b: True),
    "graph": ("every NAS-Bench-Graph dataset", ("graph", "graph-proteins"), lambda b: True),
    "tabular": ("the tabular MLP tasks (HPOLib FCNet, HPOBench MLP)", ("fcnet", "hpobench"), lambda b: True),
    "macro": ("NAS-Bench-Macro", ("macro",), lambda b: True),
    "real": ("every real benchmark that runs offline (ships with the package)", None, lambda b: True),
    "nb101": ("the paper's NAS-Bench-101 (needs the official data: --data)", ("nb101",),
              lambda b: b.name == "nb101"),
}


def suite_names() -> list[str]:
    return list(SUITES)


def suite(name: str) -> tuple[str, ...]:
    """The benchmarks of suite ``name``, in registry order; ``KeyError`` naming the suites, or saying it is empty."""
    if name not in SUITES:
        raise KeyError(f"unknown suite {name!r}; valid: {', '.join(SUITES)}")
    _, fams, rule = SUITES[name]
    out = []
    for fam in families():
        if fams is not None and fam.name not in fams:
            continue
        for b in fam.benchmarks:
            offline = b.data_path is None or name == "nb101"
            if not b.synthetic and offline and rule(b):
                out.append(b.name)
    if not out:
        raise KeyError(f"suite {name!r} has no registered benchmarks")
    return tuple(out)


def table_facts(table: Table) -> dict[str, str]:
    """What a table measures, in short phrases: metric (with its direction), what the search sees, what regret is
    measured on, and its cost model (the table's ``meta`` sentences where the family wrote them)."""
    meta = table.meta
    metric = table.metric + ("" if table.maximize else " (minimised)")
    trials = "one drawn trial's" if table.max_trials > 1 else "the (single) recorded"
    sees = meta.get("search_sees") or f"{trials} validation {table.metric}"
    if meta.get("regret_on"):
        regret = meta["regret_on"]
    elif table.score_metric == "test":
        regret = f"mean test {table.metric} at budget {table.top_budget}"
    else:
        regret = f"mean validation {table.metric} at budget {table.top_budget} (no test split)"
    cost = {"recorded": "recorded", "derived": "DERIVED", "unit": "unit (evaluations)"}[table.cost_model]
    return {"metric": metric, "search_sees": str(sees), "regret_on": str(regret), "cost": cost}


def catalog(names: list[str] | None = None) -> list[dict[str, str]]:
    """One row per benchmark (default: every registered one that needs no user data): name, domain, cells and
    :func:`table_facts`; loads each table."""
    rows = []
    for name in names if names is not None else benchmark_names():
        b = benchmark(name)
        if b.data_path is not None and names is None:
            continue
        t = load_benchmark(name)
        kind = "SYNTHETIC " if t.synthetic else ""
        rows.append({"name": name, "domain": kind + b.domain, "cells": f"{t.n_cells:,}", **table_facts(t)})
    return rows


def synthetic_benchmarks() -> frozenset[str]:
    """Benchmarks whose tables are synthetic whatever the data (``nb101`` may be too: see ``Table.synthetic``)."""
    return frozenset(b.name for f in families() for b in f.benchmarks if b.synthetic)


def data_path(name: str, data: str | os.PathLike[str] | None = None) -> Path | None:
    """The resolved data path of benchmark ``name`` (None for benchmarks without user data)."""
    b = benchmark(name)
    return None if b.data_path is None else b.data_path(data).resolve()


_CACHE: dict[tuple[str, str], Table] = {}
_LOCK = threading.Lock()


def load_benchmark(name: str, data: str | os.PathLike[str] | None = None) -> Table:
    """The table of benchmark ``name`` (memoised per process). ``data`` is only used by benchmarks that
    read user data (``nb101``)."""
    b = benchmark(name)
    path = data_path(name, data)
    key = (name, "" if path is None else str(path))
    with _LOCK:
        table = _CACHE.get(key)
        if table is None:
            table = b.load(path)
            _CACHE[key] = table
    return table


def clear_cache() -> None:
    """Forget the memoised tables."""
    with _LOCK:
        _CACHE.clear()


def encodings() -> dict[str, type[Encoding]]:
    """Every encoding of every registered benchmark family, by name."""
    return {name: cls for fam in families() for name, cls in fam.encodings.items()}


def get_encoding(name: str) -> Encoding:
    """An encoding by name (e.g. 'A', 'B', 'C', 'nb201'); ``KeyError`` listing the valid names."""
    known = encodings()
    try:
        return known[name]()
    except KeyError:
        raise KeyError(f"unknown encoding {name!r}; valid: {sorted(known)}") from None
