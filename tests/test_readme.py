"""The README's promises: its example optimizer runs as shown, its commands and files exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nasbench_bench.cli.bench import BENCHMARKS
from nasbench_bench.experiment import load_experiment
from nasbench_bench.optimizer import BUILTINS
from nasbench_bench.results import load_runs

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_exactly_two_setup_commands() -> None:
    first = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first is not None and README.index("```bash") < README.index("\n## ")
    lines = [ln for ln in first.group(1).splitlines() if ln.strip()]
    assert len(lines) == 2
    assert "experiments/quickstart.toml" in lines[0] and "pytest" in lines[1]


def test_quickstart_experiment_matches_the_readme() -> None:
    exp = load_experiment(ROOT / "experiments" / "quickstart.toml")
    # the paper's seven optimizers (BUILTINS also has later ones: ls, optuna-*)
    paper = ["bohb", "hb", "re", "reinforce", "rs", "smac", "tpe"]
    assert sorted(o.name for o in exp.optimizers) == paper and set(paper) <= set(BUILTINS)
    assert exp.benchmarks == ("nb201-cifar10",) or list(exp.benchmarks) == ["nb201-cifar10"]
    assert (ROOT / "results" / "quickstart" / "plots" / "nb201-cifar10_figure7.png").stat().st_size > 10_000


def test_benchmark_commands_in_readme_exist() -> None:
    for name in re.findall(r"nasbench-bench bench (\w+)", README):
        assert name in BENCHMARKS


@pytest.mark.slow
def test_custom_optimizer_example_runs_as_documented(tmp_path: Path) -> None:
    block = README.split("<!-- example: custom-optimizer", 1)[1]
    code = re.search(r"```python\n(.*?)```", block, re.S).group(1)
    (tmp_path / "my_optimizers.py").write_text(code)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = tmp_path / "results"
    cmd = [
        sys.executable,
        "-m",
        "nasbench_bench.cli",
        "run",
        "--benchmark",
        "nb201-cifar10",
        "--plugin",
        "my_optimizers",
        "--optimizers",
        "rs,local",
        "--seeds",
        "0-1",
        "--budget",
        "1e5",
        "--jobs",
        "2",
        "--out",
        str(out),
    ]
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    runs = load_runs(out)
    assert len(runs) == 4 and set(runs["status"]) == {"done"}
    assert (runs["n_evals"] > 20).all()
    assert sorted(runs["optimizer"].unique()) == ["local", "rs"]  # recorded under its registered name
    assert "--plugin my_optimizers --optimizers rs,local" in README
