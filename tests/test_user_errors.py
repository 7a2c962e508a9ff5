"""Ordinary mistakes get one clear line and a non-zero exit (``-v`` adds the traceback); nothing is lost;
runaway runs end as failed with a message; bad plugin output and hyperparameters are caught up front."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nasbench_bench.benchmarks import get_encoding
from nasbench_bench.cli import main
from nasbench_bench.experiment import Experiment, ExperimentError, parse_seeds
from nasbench_bench.nb201.toy import toy_table
from nasbench_bench.optimizer import Optimizer, OptimizerError, get_optimizer, run_optimizer
from nasbench_bench.oracle import BudgetExhausted, Oracle, RunawayRun, RunLimits
from nasbench_bench.results import load_runs, read_metadata
from nasbench_bench.runner import run_experiment

REPO = Path(__file__).resolve().parents[1]
TOY = ["--benchmark", "toy", "--optimizers", "rs", "--seeds", "0", "--budget", "1e4", "--no-progress"]


def _err(capsys: pytest.CaptureFixture[str], argv: list[str], rc: int = 2) -> str:
    assert main(argv) == rc
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# -- one line, no traceback ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "message"), [
    (["run", "--jobs", "0", *TOY], "must be at least 1"),
    (["run", "--jobs", "-1", *TOY], "must be at least 1"),
    (["report", "x", "--at", "-5"], "positive"),
    (["run", "--max-evaluations", "0", *TOY], "must be at least 1"),
])
def test_bad_numbers_are_refused_by_the_parser(capsys, argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_unusable_out_directories(tmp_path: Path, capsys) -> None:
    f = tmp_path / "afile"
    f.write_text("mine")
    assert "is a file" in _err(capsys, ["run", *TOY, "--out", str(f)])
    assert f"is under {f}, which is a file" in _err(capsys, ["run", *TOY, "--out", str(f / "sub")])
    # /proc refuses new directories even to root, like a read-only mount
    assert "cannot write into results directory" in _err(capsys, ["run", *TOY, "--out", "/proc/nasbench-test"])
    assert f.read_text() == "mine"


def test_experiment_file_problems(tmp_path: Path, capsys) -> None:
    assert "is a directory, not an experiment file" in _err(capsys, ["run", str(tmp_path)])
    assert "not found" in _err(capsys, ["run", str(tmp_path / "missing.toml")])
    bad = tmp_path / "bad.toml"
    bad.write_text("benchmark = [\n")
    assert "invalid TOML" in _err(capsys, ["run", str(bad)])


def test_missing_plugins_name_the_problem_without_a_contradictory_warning(capsys, caplog) -> None:
    err = _err(capsys, ["run", *TOY[:2], "--optimizers", "no_such_module:Opt", "--seeds", "0"])
    assert "cannot import module 'no_such_module'" in err and "WARNING" not in err
    err = _err(capsys, ["run", *TOY[:2], "--optimizers", "optimizers.random_search:Nope", "--seeds", "0"])
    assert "has no 'Nope'" in err
    assert "cannot import module 'nope_plugin'" in _err(capsys, ["run", *TOY, "--plugin", "nope_plugin"])
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_plot_and_report_of_missing_or_empty_results(tmp_path: Path, capsys) -> None:
    assert "does not exist" in _err(capsys, ["plot", str(tmp_path / "nowhere")])
    (tmp_path / "empty").mkdir()
    assert "no run files" in _err(capsys, ["report", str(tmp_path / "empty")])


@pytest.mark.parametrize(("argv", "message"), [
    (["analyze", "nb999"], "unknown benchmark 'nb999'"),
    (["analyze", "toy", "--encoding", "A"], "encoding 'A' is for 'nb101', not for benchmark 'toy'"),
    (["data", "enumerate", "--out", "cells.txt"], "--out must end in .csv or .parquet"),
])
def test_every_command_reports_mistakes_the_same_way(tmp_path: Path, capsys, monkeypatch, argv: list[str],
                                                     message: str) -> None:
    monkeypatch.chdir(tmp_path)
    err = _err(capsys, argv)
    assert err.startswith("error: ") and message in err
    assert not list(tmp_path.iterdir())


def test_scheduler_without_dask_is_a_contradiction(capsys) -> None:
    err = _err(capsys, ["run", *TOY, "--scheduler", "tcp://127.0.0.1:1", "--executor", "process"])
    assert "--scheduler" in err and "--executor" in err


def test_unreachable_scheduler_is_reported_after_the_timeout(tmp_path: Path, capsys) -> None:
    t0 = time.monotonic()
    err = _err(capsys, ["run", *TOY, "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9",
                        "--scheduler-timeout", "2"])
    assert "could not reach the Dask scheduler" in err and time.monotonic() - t0 < 30


def test_verbose_shows_the_traceback(tmp_path: Path, capsys) -> None:
    assert main(["-v", "run", str(tmp_path)]) == 2
    assert "Traceback" in capsys.readouterr().err


# -- data convert never loses what a user had ------------------------------------------------------------
def test_convert_refuses_what_is_not_its_cache_and_says_what_it_replaced(tmp_path: Path, capsys,
                                                                         nb101_full_file: Path) -> None:
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("precious")
    err = _err(capsys, ["data", "convert", str(nb101_full_file), str(user), "-q"])
    assert "not a nasbench_bench cache" in err and (user / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in user.iterdir()) == ["notes.txt"]
    f = tmp_path / "file"
    f.write_text("also precious")
    assert "not a directory" in _err(capsys, ["data", "convert", str(nb101_full_file), str(f), "-q"])
    assert f.read_text() == "also precious" and sorted(p.name for p in tmp_path.iterdir()) == ["file", "mine"]

    cache = tmp_path / "cache"
    assert main(["data", "convert", str(nb101_full_file), str(cache), "-q"]) == 0
    assert "replaced" not in capsys.readouterr().out
    assert main(["data", "convert", str(nb101_full_file), str(cache), "-q"]) == 0
    assert f"replaced the cache that was in {cache}" in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"\x00" * 7, os.urandom(3000), "truncate"], ids=["empty", "short",
                                                                                          "random", "truncated"])
def test_convert_of_damaged_files_is_one_line(tmp_path: Path, capsys, nb101_full_file: Path,
                                              content: bytes | str) -> None:
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(nb101_full_file.read_bytes()[:5000] if content == "truncate" else content)
    err = _err(capsys, ["data", "convert", str(bad), str(tmp_path / "out"), "-q"])
    assert str(bad) in err and not (tmp_path / "out").exists()


def test_synth_does_not_overwrite_without_force(tmp_path: Path, capsys) -> None:
    f = tmp_path / "s.tfrecord"
    f.write_text("mine")
    assert "--force" in _err(capsys, ["data", "synth", str(f), "--cells", "5", "-q"])
    assert f.read_text() == "mine"


def test_info_summarises_a_tfrecord(capsys, nb101_full_file: Path, nb101_full_table) -> None:
    assert main(["data", "info", str(nb101_full_file), "-q", "--cache-dir", str(nb101_full_file.parent)]) == 0
    out = capsys.readouterr().out
    n = nb101_full_table.n_cells
    assert f"records       {int(nb101_full_table.n_trials.sum()):,}  cells {n:,}" in out
    assert "4 epochs: " in out and "108 epochs: " in out and "SYNTHETIC" in out


# -- partial tables ------------------------------------------------------------------------------------------
def test_a_table_that_does_not_cover_the_space_is_refused_before_running(tmp_path: Path, capsys,
                                                                         nb101_full_file: Path) -> None:
    err = _err(capsys, ["run", "--benchmark", "nb101", "--data", str(nb101_full_file), "--optimizers", "rs",
                        "--seeds", "0", "--budget", "1e4", "--out", str(tmp_path / "o"), "--no-progress"])
    assert "holds" in err and "of the 423,624 cells" in err and "nb101-synthetic" in err
    assert not (tmp_path / "o" / "runs").exists()


# -- input bounds ------------------------------------------------------------------------------------------
def test_huge_seed_ranges_are_refused_before_expanding() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match="100,000,000 seeds; at most 100,000"):
        parse_seeds("0-99999999")
    with pytest.raises(ValueError, match="at most"):
        parse_seeds(10**9)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KB: nothing was expanded
    assert len(parse_seeds("0-99999")) == 100_000


@pytest.mark.parametrize(("name", "hp", "message"), [
    ("re", {"population_size": -3}, "population_size=-3 must be >= 1"),
    ("re", {"population_size": 5, "tournament_size": 6}, "tournament_size=6 must be <= 5"),
    ("re", {"population_size": 2.5}, "must be an integer"),
    ("reinforce", {"learning_rate": 0}, "learning_rate=0 must be > 0"),
    ("reinforce", {"baseline_momentum": 1.0}, "must be < 1"),
    ("rs", {"block": "big"}, "block='big' must be an integer"),
    ("hb", {"eta": 1}, "eta=1 must be > 1"),
    ("bohb", {"random_fraction": 1.5}, "must be <= 1"),
    ("smac", {"n_trees": 0}, "n_trees=0 must be >= 1"),
    ("smac", {"random_fraction": float("nan")}, "must be a number"),
])
def test_hyperparameter_values_are_checked_up_front(name: str, hp: dict, message: str) -> None:
    with pytest.raises(ExperimentError, match=message.replace("(", r"\(")):
        Experiment.from_dict({"benchmark": "toy", "seeds": "0", "time_budget": 1e4,
                              "optimizers": [{"name": name, "hyperparameters": hp}]})
    with pytest.raises(OptimizerError, match=name):
        get_optimizer(name)(get_encoding("nb201"), **hp)


class _Asks(Optimizer):
    name = "asks"
    defaults = {"what": "ok"}

    def ask(self):
        v = self.encoding.sample(self.rng)
        return {"short": v[:3], "nan": np.where(np.arange(len(v)) == 2, np.nan, v), "range": v + 10,
                "text": "abc", "dict": {"Op0": "conv"}, "ok": v}[self.hp["what"]]


@pytest.mark.parametrize(("what", "message"), [
    ("short", "has shape (3,); encoding 'nb201' takes vectors of length 6"),
    ("nan", "Op2 is nan (not a finite number)"),
    ("range", "is not a choice index 0..4"),
    ("text", "is not a vector of numbers"),
    ("dict", "is not valid"),
])
def test_what_a_plugin_asks_is_checked(what: str, message: str) -> None:
    table, enc = toy_table(), get_encoding("nb201")
    with pytest.raises(OptimizerError, match=r"optimizer 'asks': ask\(\) returned a configuration") as exc:
        run_optimizer(_Asks(enc, what=what), Oracle(table, enc, 1e5))
    assert message in str(exc.value)
    assert len(run_optimizer(_Asks(enc, what="ok"), Oracle(table, enc, 1e5))) > 10


# -- runaway runs ------------------------------------------------------------------------------------------
class AlwaysInvalid(Optimizer):
    """Proposes only invalid encoding-A configurations (21 edges): they cost no simulated time."""

    name = "always-invalid"

    def ask(self) -> np.ndarray:
        v = np.zeros(self.encoding.dim)
        v[5:] = 1
        return v


class StuckInAsk(Optimizer):
    name = "stuck"

    def ask(self) -> np.ndarray:
        while True:
            time.sleep(0.05)


def test_only_invalid_proposals_end_as_failed_with_bounded_memory(tmp_path: Path) -> None:
    exp = Experiment.from_dict({"benchmark": "nb101-synthetic", "seeds": "0", "time_budget": 1e7,
                                "optimizers": ["test_user_errors:AlwaysInvalid"],
                                "limits": {"invalid_streak": 5000}})
    s = run_experiment(exp, tmp_path, executor="inline", progress=False)
    assert s.failed == 1 and "5,000 invalid configurations in a row" in s.failures[0][1]
    assert "--limit-invalid-streak" in s.failures[0][1]
    meta = read_metadata(next(tmp_path.rglob("*.failed.json")))
    assert meta["status"] == "failed" and meta["limits"]["invalid_streak"] == 5000


def test_the_invalid_streak_cap_is_exact_one_at_a_time_and_batched() -> None:
    table, enc = toy_table(), get_encoding("nb201")
    valid = int(enc.cell_indices(enc.sample(np.random.default_rng(0), 1))[0])
    cells = np.array([valid] + [-1] * 7 + [valid] + [-1] * 20)
    one = Oracle(table, enc, 1e9, limits=RunLimits(invalid_streak=10))
    with pytest.raises(RunawayRun, match="10 invalid configurations in a row"):
        for c in cells:
            one.evaluate_cell(int(c))
    batch = Oracle(table, enc, 1e9, limits=RunLimits(invalid_streak=10))
    with pytest.raises(RunawayRun, match="10 invalid configurations in a row"):
        batch.evaluate_cells(cells)
    assert one.n_evaluations == batch.n_evaluations == 19  # the 10th invalid one after the second valid
    with pytest.raises(RunawayRun, match="safety limit evaluations=5"):
        Oracle(table, enc, 1e9, limits=RunLimits(evaluations=5)).evaluate_cells(np.full(8, valid))
    capped = Oracle(table, enc, 1e9, max_evaluations=5)  # the protocol's cap ends runs normally
    with pytest.raises(BudgetExhausted):
        capped.evaluate_cells(np.full(8, valid))


def test_default_evaluation_limit_follows_the_budget() -> None:
    from nasbench_bench.oracle import default_max_evaluations

    table = toy_table()
    cheapest = float(table.train_time.min())
    assert default_max_evaluations(table, 1e6) == int(10 * 1e6 / cheapest + 10_000)
    assert default_max_evaluations(table, 2e6) > default_max_evaluations(table, 1e6)


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_a_run_stuck_in_ask_fails_after_its_timeout(tmp_path: Path, executor: str) -> None:
    exp = Experiment.from_dict({"benchmark": "toy", "seeds": "0", "time_budget": 1e6,
                                "optimizers": ["test_user_errors:StuckInAsk"], "limits": {"wall_clock": 1.5}})
    t0 = time.monotonic()
    s = run_experiment(exp, tmp_path, executor=executor, progress=False)
    assert s.failed == 1 and "1.5 s of wall-clock time" in s.failures[0][1]
    assert time.monotonic() - t0 < 30


# -- names and labels ----------------------------------------------------------------------------------------
def test_registered_plugin_names_work_with_plugin_modules(tmp_path: Path) -> None:
    (tmp_path / "my_plugin_mod.py").write_text(
        "from nasbench_bench.optimizer import register\n"
        "from optimizers.random_search import RandomSearch\n\n"
        "@register\nclass Mine(RandomSearch):\n    name = 'mine'\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    out = tmp_path / "o"
    res = subprocess.run([sys.executable, "-m", "nasbench_bench.cli", "run", "--plugin", "my_plugin_mod",
                          "--optimizers", "mine", *TOY[:2], "--seeds", "0-1", "--budget", "1e4", "--jobs", "2",
                          "--out", str(out), "--no-progress"], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert list(load_runs(out)["optimizer"].unique()) == ["mine"]


@pytest.mark.slow
def test_dask_is_quiet_without_verbose(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "nasbench_bench.cli", "run", *TOY, "--executor", "dask",
                          "--jobs", "1", "--out", str(tmp_path / "o")], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert res.returncode == 0, res.stderr
    assert "INFO" not in res.stderr and "distributed" not in res.stderr, res.stderr
