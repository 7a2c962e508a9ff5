"""The Python API for notebooks (``nasbench_bench.run`` / ``load``): the same runs, report and plots as the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import nasbench_bench as nb
from nasbench_bench.experiment import ExperimentError
from nasbench_bench.optimizer import Optimizer
from nasbench_bench.results import load_results

KEYS = {"benchmark": "nb201-cifar10-12ep", "seeds": "0-1", "time_budget": 5e3}


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nasbench_bench.cli", *argv], capture_output=True, text=True,
                          timeout=600)


def test_run_makes_the_cli_runs_and_report_prints_what_the_cli_prints(tmp_path: Path) -> None:
    res = nb.run(optimizers=["rs", "re"], out=tmp_path / "api", executor="inline", **KEYS)
    assert res.summary is not None and res.summary.done == 4 and res.summary.complete
    cli = _cli("run", "--benchmark", KEYS["benchmark"], "--optimizers", "rs,re", "--seeds", "0-1", "--budget", "5e3",
               "--jobs", "1", "--out", str(tmp_path / "cli"))
    assert cli.returncode == 0, cli.stderr
    cols = ["optimizer", "seed", "eval", "time", "cell", "valid_acc", "regret"]
    a = load_results(tmp_path / "api").sort_values(cols[:3]).reset_index(drop=True)[cols]
    b = load_results(tmp_path / "cli").sort_values(cols[:3]).reset_index(drop=True)[cols]
    pd.testing.assert_frame_equal(a, b, check_categorical=False)
    report = _cli("report", str(tmp_path / "cli"))
    assert report.returncode == 0 and "Paired Wilcoxon" in report.stdout
    assert res.report() == nb.load(tmp_path / "cli").report() == report.stdout


def test_plot_writes_the_figures_and_final_regret_has_one_row_per_run(tmp_path: Path) -> None:
    res = nb.run(optimizers="rs", out=tmp_path / "r", executor="inline", **KEYS)
    paths = res.plot()
    assert {p.name for p in paths} >= {"nb201-cifar10-12ep_figure7.png", "nb201-cifar10-12ep_ranks.png"}
    assert all(p.stat().st_size > 5_000 for p in paths)
    final = res.final_regret()
    assert len(final) == 2 and set(final["seed"]) == {0, 1} and (final["final_regret"] >= 0).all()


class _Mine(Optimizer):
    name = "mine"

    def ask(self):
        return self.encoding.sample(self.rng)

    def tell(self, config, evaluation) -> None:
        pass


def test_a_class_runs_and_a_rerun_resumes(tmp_path: Path) -> None:
    res = nb.run(optimizers=[_Mine], out=tmp_path / "r", executor="inline", **KEYS)
    assert res.summary is not None and res.summary.done == 2
    assert set(res.runs()["optimizer"].astype(str)) == {"mine"}
    again = nb.run(optimizers=[_Mine], out=tmp_path / "r", executor="inline", **KEYS)
    assert again.summary is not None and again.summary.done == 0 and again.summary.skipped == 2


def test_mistakes_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ExperimentError, match="unknown benchmark"):
        nb.run(benchmark="nb999", optimizers=["rs"], seeds="0", time_budget=1e3, out=tmp_path / "x")
    monkeypatch.setattr(_Mine, "__module__", "__main__")  # as if defined in a notebook cell
    with pytest.raises(ExperimentError, match="__main__"):
        nb.run(optimizers=[_Mine], out=tmp_path / "y", executor="process", **KEYS)
    with pytest.raises(FileNotFoundError):
        nb.load(tmp_path / "missing")
