"""The README's promises: two set-up commands, under 10 KB, its figures; the docs' example plug-in runs."""

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
DOCS = {p.name: p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))}


def test_readme_is_short_and_links_the_docs() -> None:
    assert len((ROOT / "README.md").read_bytes()) <= 10_000
    for page in ("benchmarks", "protocol", "optimizers", "analysis", "performance", "reliability", "nb101",
                 "plugins", "python-api", "cli", "development"):
        assert f"(docs/{page}.md" in README, page


def test_readme_starts_with_exactly_two_setup_commands() -> None:
    first = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first is not None and README.index("```bash") < README.index("\n## ")
    lines = [ln for ln in first.group(1).splitlines() if ln.strip()]
    assert len(lines) == 2
    assert "run experiments/quickstart.toml" in lines[0] and "pytest" in lines[1]
    assert "run experiments/quickstart-mf.toml --out results/quickstart" in lines[0]
    assert lines[0].endswith("plot results/quickstart")


def test_quickstart_experiments_match_the_readme() -> None:
    """Part 1: test regret on the 12-epoch table; part 2: HB/BOHB/ASHA/LCE on the two-fidelity one; together every
    built-in optimizer; the committed plots say what they measure."""
    single = load_experiment(ROOT / "experiments" / "quickstart.toml")
    multi = load_experiment(ROOT / "experiments" / "quickstart-mf.toml")
    assert single.benchmarks == ("nb201-cifar10-12ep",) and multi.benchmarks == ("nb201-cifar10-mf",)
    paper = {"rs", "re", "reinforce", "tpe", "smac", "hb", "bohb"}  # BUILTINS also has ls and optuna-*
    assert paper | {"asha"} <= set(BUILTINS)
    assert {o.name for o in single.optimizers + multi.optimizers} == paper | {"asha", "lce:re"}
    assert {o.name for o in multi.optimizers} >= {"hb", "bohb", "asha", "lce:re"}
    plots = ROOT / "results" / "quickstart" / "plots"
    for bench in ("nb201-cifar10-12ep", "nb201-cifar10-mf"):
        assert (plots / f"{bench}_figure7.png").stat().st_size > 10_000
        assert f"plots/{bench}_figure7.png" in README + DOCS["index.md"]
    report = (ROOT / "results" / "quickstart" / "report.txt").read_text()
    part1, part2 = report.split("=== nb201-cifar10-mf ===")
    assert "TEST regret" in part1 and "VALIDATION regret" in part2
    assert "DERIVED" in part1 and "DERIVED" in part2


def test_benchmark_commands_in_readme_and_docs_exist() -> None:
    named = re.findall(r"nasbench-bench bench (\w+)", README + "".join(DOCS.values()))
    assert len(named) >= 10
    for name in named:
        assert name in BENCHMARKS


@pytest.mark.slow
def test_custom_optimizer_example_runs_as_documented(tmp_path: Path) -> None:
    block = DOCS["plugins.md"].split("<!-- example: custom-optimizer", 1)[1]
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
    assert "--plugin my_optimizers --optimizers rs,local" in DOCS["plugins.md"]
