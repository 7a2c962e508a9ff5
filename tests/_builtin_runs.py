"""Every built-in optimizer on one benchmark: short runs, their identity in-process and across fresh processes.

Used by ``test_families.py`` (one task of every family): a run is keyed by its rows, trials, budgets and clock, and
must be the same for the same seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from nasbench_bench.benchmarks import default_encoding, get_encoding, load_benchmark
from nasbench_bench.optimizer import BUILTINS, get_optimizer, run_optimizer
from nasbench_bench.oracle import Oracle

NAMES = sorted(BUILTINS) + ["lce:de"]  # lce:* trains every proposal fully where there is no low fidelity
#: budget = this many x the table's mean evaluation cost (random search gets about that many evaluations)
EVALUATIONS = 40


def run_key(benchmark: str, name: str, seed: int) -> list:
    """(rows, trials, budgets, clock) of one short run of optimizer ``name`` on ``benchmark``."""
    table = load_benchmark(benchmark)
    enc = get_encoding(default_encoding(benchmark))
    oracle = Oracle(table, enc, EVALUATIONS * table.mean_cost, seed=seed)
    tr = run_optimizer(get_optimizer(name)(enc, seed=seed), oracle)
    return [tr.row.tolist(), tr.trial.tolist(), tr.budget.tolist(), tr.time.tolist()]


_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from _builtin_runs import run_key
print(json.dumps({{n: run_key({benchmark!r}, n, 7) for n in {names!r}}}))
"""


def fresh_process_keys(benchmark: str, cache: Path) -> dict[str, list]:
    """Every built-in's seed-7 run key, computed in a fresh process (PYTHONHASHSEED fixed as the runner does)."""
    env = {**os.environ, "PYTHONHASHSEED": "6640", "NASBENCH_BENCH_CACHE": str(cache)}
    code = _SCRIPT.format(tests=str(Path(__file__).parent), benchmark=benchmark, names=NAMES)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])
