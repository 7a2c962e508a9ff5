"""Every built-in optimizer on one real task of every benchmark family (taken from the registry, not a hand-kept list):
short runs that stay within the budget, never see anything but validation values, score regret >= 0, and are the
same for the same seed in-process and across fresh processes."""

from __future__ import annotations

from pathlib import Path

import _builtin_runs
import pytest

from nasbench_bench import benchmarks as B


def _one_task_per_family() -> list[str]:
    real = set(B.suite("real"))
    out = []
    for fam in B.families():
        names = [b.name for b in fam.benchmarks if b.name in real]
        if names:
            out.append(names[0])
    return out


TASKS = _one_task_per_family()


def test_every_family_with_offline_data_is_covered() -> None:
    fams = {B.benchmark_family(t) for t in TASKS}
    assert fams >= {"nb201", "tnb101-micro", "tnb101-macro", "graph", "graph-proteins", "macro", "fcnet", "hpobench"}


@pytest.mark.parametrize("name", _builtin_runs.NAMES)
@pytest.mark.parametrize("task", TASKS)
def test_builtin_runs_and_repeats(task: str, name: str) -> None:
    a = _builtin_runs.run_key(task, name, 3)
    rows, trials, budgets, times = a
    assert sum(r >= 0 for r in rows) >= 5
    t = B.load_benchmark(task)
    assert max(times) <= _builtin_runs.EVALUATIONS * t.mean_cost * (1 + 1e-12)
    if t.cost_model == "unit":
        valid_times = [tm for r, tm in zip(rows, times) if r >= 0]
        assert valid_times == list(range(1, len(valid_times) + 1))  # each valid evaluation costs exactly 1
    assert a == _builtin_runs.run_key(task, name, 3)


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_builtins_are_deterministic_across_processes(task: str, tmp_path: Path) -> None:
    B.load_benchmark(task)  # the shared cache is warm; fresh processes read it
    from nasbench_bench.paths import cache_dir

    first = _builtin_runs.fresh_process_keys(task, cache_dir())
    assert first == _builtin_runs.fresh_process_keys(task, cache_dir())
    assert sorted(first) == sorted(_builtin_runs.NAMES)
