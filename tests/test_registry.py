"""The registry against the tables it loads (loops over every registered real benchmark, not a hand-kept list)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from nasbench_bench import benchmarks as B

REAL = B.suite("real")
BENCH_PAGE = (Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md").read_text()


def test_at_least_forty_real_offline_benchmarks_in_several_domains() -> None:
    assert len(REAL) >= 40
    assert {B.domain(b) for b in REAL} >= {"image", "taskonomy", "graph", "tabular"}


@pytest.mark.parametrize("name", REAL)
def test_registry_facts_match_the_table(name: str) -> None:
    t = B.load_benchmark(name)
    b = B.benchmark(name)
    assert not t.synthetic and not b.synthetic
    assert b.cost_unit == t.cost_unit, "the CLI prints budgets in the registry's unit without loading the table"
    assert b.domain == t.meta.get("domain", "image")
    assert t.n_cells > 100 and t.cost_model in ("recorded", "derived", "unit")
    regret = t.best_score - t.score
    assert np.nanmin(regret) == 0.0 and (regret[~np.isnan(regret)] >= 0).all()
    assert t.floor <= np.nanmin(t.valid_acc)
    enc = B.get_encoding(B.default_encoding(name)) if hasattr(B, "get_encoding") else None
    if enc is None:
        from nasbench_bench.benchmarks import get_encoding

        enc = get_encoding(B.default_encoding(name))
    ids = enc.cell_ids()
    assert (t.rows(ids) >= 0).all(), "every cell the encoding can propose is in the table"


def test_docs_benchmark_table_lists_every_real_benchmark_as_the_catalog_describes_it() -> None:
    rows = {r["name"]: r for r in B.catalog(list(REAL))}
    table_rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([^`]+)` \|.*\|$", BENCH_PAGE, re.M)}
    missing = [n for n in REAL if n not in table_rows]
    assert not missing, f"docs/benchmarks.md lacks {missing} (print it: nasbench-bench benchmarks --suite real "\
                        "--markdown)"
    for n, r in rows.items():
        line = table_rows[n]
        for key in ("domain", "metric", "search_sees", "regret_on", "cost"):
            assert r[key] in line, f"docs/benchmarks.md row of {n}: {key} {r[key]!r} differs from the table's"


def test_the_package_has_no_import_circle_between_encodings_and_the_registry() -> None:
    import ast

    src = (Path(__file__).resolve().parents[1] / "nasbench_bench" / "encodings.py").read_text()
    imported = {n.module for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m and m.startswith("nasbench_bench") and m != "nasbench_bench.encodings" for m in imported)
