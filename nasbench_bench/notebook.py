"""The Python API for notebooks and scripts: run an experiment, load its results, report and plot them.

Three lines do what the three CLI commands do, through the same code::

    import nasbench_bench as nb
    res = nb.run(benchmark="nb201-cifar10", optimizers=["rs", "re"], seeds="0-4", time_budget=3e4)
    print(res.report()); res.plot()

:func:`run` takes the keys of an experiment TOML file (``nasbench_bench.experiment``) as keyword arguments, or
a TOML path / dict to start from; optimizer classes may be given directly (a class defined in a notebook runs
in this process, since worker processes cannot import it). :func:`load` opens an existing results directory.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from nasbench_bench.experiment import Experiment, ExperimentError, read_experiment_file
from nasbench_bench.optimizer import Optimizer, import_path
from nasbench_bench.runner import RunSummary

__all__ = ["Results", "load", "run"]

log = logging.getLogger(__name__)


class Results:
    """A results directory (as ``nasbench-bench run`` writes it): its runs, report and plots."""

    def __init__(self, path: str | os.PathLike[str], summary: RunSummary | None = None) -> None:
        self.path = Path(path)
        self.summary = summary  #: what :func:`run` did (None for :func:`load`)

    def __repr__(self) -> str:
        done = "" if self.summary is None else f", {self.summary.done} run(s) done now, {self.summary.skipped} before"
        return f"Results({str(self.path)!r}{done})"

    # -- frames -------------------------------------------------------------------------------------------------
    def runs(self) -> pd.DataFrame:
        """One row per run file: benchmark, optimizer, seed, status, budget, ... (``results.load_runs``)."""
        from nasbench_bench.results import load_runs

        return load_runs(self.path)

    def evaluations(self) -> pd.DataFrame:
        """One row per evaluation of every readable run (``results.load_results``)."""
        from nasbench_bench.cli.report import load_frames

        return load_frames(self.path)[0]

    def final_regret(self, benchmark: str | None = None, at: float | None = None) -> pd.DataFrame:
        """Per finished run its final regret (at time ``at``, default each run's budget)."""
        from nasbench_bench import analysis as A
        from nasbench_bench.cli.report import load_frames

        results, runs, _ = load_frames(self.path)
        frames = [A.final_regret(item.prep, at=at) for item in A.by_benchmark(results, runs, benchmark)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # -- what the CLI prints and draws ----------------------------------------------------------------------------
    def report(self, baseline: str = "rs", at: float | None = None, benchmark: str | None = None,
               across: str = "all", benchmarks: Sequence[str] | None = None) -> str:
        """The text ``nasbench-bench report`` prints: summary tables, paired tests, the cross-benchmark part."""
        from nasbench_bench.cli.report import cmd_report

        args = self._args(baseline=baseline, at=at, benchmark=benchmark, across=across, benchmarks=benchmarks)
        return _captured(cmd_report, args)

    def plot(self, out: str | os.PathLike[str] | None = None, benchmark: str | None = None, band: str = "ci",
             across: str = "all", benchmarks: Sequence[str] | None = None) -> list[Path]:
        """Draw what ``nasbench-bench plot`` draws (default into ``<results>/plots``); the PNG/PDF paths written."""
        from nasbench_bench.cli.report import cmd_plot

        args = self._args(out=None if out is None else Path(out), benchmark=benchmark, band=band, across=across,
                          benchmarks=benchmarks)
        text = _captured(cmd_plot, args)
        return [Path(line) for line in text.splitlines() if line.endswith((".png", ".pdf"))]

    def _args(self, benchmarks: Sequence[str] | None = None, **kw: Any) -> argparse.Namespace:
        return argparse.Namespace(results=self.path, benchmarks=None if benchmarks is None else ",".join(benchmarks),
                                  **kw)


def _captured(func: Any, args: argparse.Namespace) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        func(args)
    return buf.getvalue()


def load(path: str | os.PathLike[str]) -> Results:
    """Open the results directory ``path`` (FileNotFoundError when it holds no runs)."""
    res = Results(path)
    if not res.path.is_dir():
        raise FileNotFoundError(f"results directory {str(path)!r} does not exist")
    return res


def _optimizer_entry(item: Any) -> tuple[Any, bool]:
    """An optimizer given as a class becomes its import path; True if it lives in ``__main__`` (a notebook)."""
    if isinstance(item, type) and issubclass(item, Optimizer):
        path = import_path(item)
        return path, path.startswith("__main__:")
    if isinstance(item, Mapping) and isinstance(item.get("name"), type):
        path, local = _optimizer_entry(item["name"])
        return {**item, "name": path, "label": item.get("label") or (item["name"].name or path)}, local
    return item, False


def run(experiment: str | os.PathLike[str] | Mapping[str, Any] | None = None, *,
        out: str | os.PathLike[str] | None = None, jobs: int = 1, executor: str | None = None,
        progress: bool = False, **keys: Any) -> Results:
    """Run (or resume) an experiment and return its :class:`Results`.

    ``experiment``: a TOML file or a dict of its keys; ``keys`` add to or override them (``benchmark``,
    ``optimizers``, ``seeds``, ``time_budget``, ...). ``out`` defaults to ``results/<name>``. ``executor``:
    ``"process"`` (``jobs`` worker processes), ``"dask"`` or ``"inline"``; default ``"process"``, or
    ``"inline"`` when an optimizer class is defined in ``__main__`` (a notebook cell). Bad keys raise
    :class:`~nasbench_bench.experiment.ExperimentError` naming them.
    """
    from nasbench_bench.runner import run_experiment

    if experiment is None:
        raw: dict[str, Any] = {}
        source, default_name = "run()", "experiment"
    elif isinstance(experiment, Mapping):
        raw, source, default_name = dict(experiment), "run()", "experiment"
    else:
        raw = read_experiment_file(experiment)
        source, default_name = str(experiment), Path(experiment).stem
    raw.update(keys)
    local = False
    if "optimizers" in raw:
        given = raw["optimizers"]
        items = [given] if isinstance(given, (str, type)) else list(given)
        converted = [_optimizer_entry(o) for o in items]
        raw["optimizers"] = [c for c, _ in converted]
        local = any(flag for _, flag in converted)
    exp = Experiment.from_dict(raw, source=source, default_name=default_name)
    if executor is None:
        executor = "inline" if local else "process"
    elif local and executor != "inline":
        raise ExperimentError(f"{source}: an optimizer class defined in __main__ cannot run in worker processes; "
                              "use executor='inline' or put the class in an importable module")
    target = Path(out) if out is not None else Path("results") / exp.name
    summary = run_experiment(exp, target, jobs=jobs, executor=executor, progress=progress)
    if summary.failures:
        log.warning("%d run(s) failed; e.g. %s: %s", len(summary.failures), *summary.failures[0])
    return Results(summary.out_dir, summary)
