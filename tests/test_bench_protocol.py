"""``nasbench-bench bench protocol``: its per-suggestion figures and its comparison with the libraries."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from perf.protocol import _marginal_ms


def test_marginal_cost_is_the_last_tenth_before_n() -> None:
    stamps = [float(i) for i in range(1, 1001)]  # one second per suggestion ...
    stamps[-1] += 100.0  # ... except the 1,000th, which took 101 s
    # the last tenth before 1,000 suggestions: suggestions 901..1000, (1100 - 900) s over 100 suggestions
    assert _marginal_ms(stamps, 1000) == pytest.approx(2000.0)
    assert _marginal_ms(stamps, 100) == pytest.approx(1000.0)
    assert _marginal_ms(stamps, 1001) is None


@pytest.mark.slow
def test_protocol_runs_every_optimizer_and_matches_the_libraries() -> None:
    cmd = [sys.executable, "-m", "nasbench_bench", "bench", "protocol", "--budget", "2e5", "--encodings", "A",
           "--library", "60"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()
            if line[:1].isalpha() and line.split()[0] in ("rs", "re", "reinforce", "tpe", "smac", "hb", "bohb")}
    assert set(rows) == {"rs", "re", "reinforce", "tpe", "smac", "hb", "bohb"}
    for cols in rows.values():
        suggestions, valid, invalid = (int(c.replace(",", "")) for c in cols[4:7])
        assert suggestions == valid + invalid and valid > 0
    assert "Figure 7 (7 optimizers x 500 seeds, encoding A)" in out.stdout
    comparisons = [line for line in out.stdout.splitlines() if line.startswith(("  tpe A:", "  smac A:", "  bohb A:"))]
    assert len(comparisons) == 3 and all(line.endswith("; same trials") for line in comparisons), comparisons


@pytest.mark.parametrize(("args", "message"), [
    (["--optimizers", "nope"], "unknown optimizer 'nope'"),
    (["--encodings", "Z"], "unknown encoding 'Z'"),
    (["--encodings", "nb201"], "encodings A, B, C, not ['nb201']"),
])
def test_protocol_refuses_unknown_names_in_one_line(args: list[str], message: str) -> None:
    out = subprocess.run([sys.executable, "-m", "nasbench_bench", "bench", "protocol", *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr, out.stderr


@pytest.mark.parametrize("name", ["asha", "lce:re", "hb"])
def test_timed_oracle_stamps_every_evaluation_of_multi_fidelity_optimizers(name: str) -> None:
    # asha and lce evaluate through evaluate(..., halfway=...): every evaluation gets its stamp
    from _tables import toy_table

    from nasbench_bench.benchmarks import get_encoding
    from perf.protocol import _run

    r = _run(name, toy_table(), get_encoding("nb201"), 3e5, seed=1)
    assert r["n"] > 50 and len(r["stamps"]) == r["n"]


def test_timed_oracle_stamps_resumed_runs(nb101_full_table) -> None:
    # lce:re on an NB101 table screens at the halfway point of 108 epochs and resumes the promising runs
    from _tables import RowEncoding

    from perf.protocol import _run

    r = _run("lce:re", nb101_full_table, RowEncoding(nb101_full_table.cell_ids), 3e6, seed=1)
    resumed = int(np.sum(r["trajectory"].budget == 108))
    assert resumed > 0 and len(r["stamps"]) == r["n"]
