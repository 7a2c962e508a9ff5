"""Experiment runner: CLI end to end, resume, kill -9 recovery, failure isolation, executor equivalence,
concurrent commands, locks, TOML validation, seed parsing.

All runs use the SYNTHETIC "toy" benchmark (NB201 cell ids, encoding nb201) with small budgets. The test
optimizers below are found by workers as ``test_runner:Class`` (spawned workers inherit this sys.path).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasbench_bench.benchmarks import load_benchmark
from nasbench_bench.cli import main as cli_main
from nasbench_bench.experiment import Experiment, ExperimentError, load_experiment, parse_seeds
from nasbench_bench.locks import acquire_lock, release_lock
from nasbench_bench.optimizer import Optimizer
from nasbench_bench.results import load_results, load_runs, read_metadata
from nasbench_bench.runner import HASHSEED, derive_seeds, run_experiment

REPO = Path(__file__).resolve().parents[1]
TOY = ["--benchmark", "toy", "--encoding", "nb201", "--budget", "2e4", "--no-progress"]
FAIL_ENV = "NBB_TEST_FAIL_SEED"


class FailOnSeed(Optimizer):
    """Random sampling that raises for the seed named by $NBB_TEST_FAIL_SEED (compares the run seed via
    the derived optimizer seed)."""

    name = "failonseed"

    def setup(self) -> None:
        bad = os.environ.get(FAIL_ENV)
        if bad is not None and self.seed == derive_seeds(int(bad))[1]:
            raise RuntimeError(f"boom for seed {bad}")

    def ask(self) -> np.ndarray:
        return self.encoding.sample(self.rng)


class HashSeeded(Optimizer):
    """Random sampling whose stream depends on str hashing: reproducible only with a fixed PYTHONHASHSEED."""

    name = "hashseeded"
    needs_fixed_hashseed = True

    def setup(self) -> None:
        self.rng = np.random.default_rng([self.seed, hash("nasbench_bench") & 0xFFFF])

    def ask(self) -> np.ndarray:
        return self.encoding.sample(self.rng)


def toy_experiment(optimizers: list[str], seeds: str, budget: float = 2e4) -> Experiment:
    return Experiment.from_dict(
        {"benchmark": "toy", "encoding": "nb201", "optimizers": optimizers, "seeds": seeds, "time_budget": budget}
    )


def run_cli_subprocess(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)])}
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from nasbench_bench.cli import main; sys.exit(main(sys.argv[1:]))",
         "run", *args], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw,
    )


# -- CLI end to end -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "res"
    rc = cli_main(["run", *TOY, "--optimizers", "rs,re,reinforce", "--seeds", "0-2,7", "--out", str(out),
                   "--jobs", "2", "--executor", "process"])
    assert rc == 0
    text = capsys.readouterr()
    assert "12 done now" in text.out
    assert f"nasbench-bench plot {out}" in text.out
    assert "SYNTHETIC" in text.err and "SYNTHETIC" in text.out

    df = load_results(out)
    for col in ("benchmark", "optimizer", "seed", "eval", "time", "regret", "cell", "incumbent"):
        assert col in df.columns
    assert isinstance(df["optimizer"].dtype, pd.CategoricalDtype)
    runs = df.groupby(["optimizer", "seed"], observed=True)
    assert runs.ngroups == 12
    assert sorted(df["seed"].unique().tolist()) == [0, 1, 2, 7]
    table = load_benchmark("toy")
    for _, g in runs:
        assert (g["eval"].to_numpy() == np.arange(len(g))).all()
        assert (np.diff(g["time"].to_numpy()) >= 0).all() and g["time"].max() <= 2e4
        assert len(g) > 5 and g["valid"].all()
        # incumbent = best validation accuracy so far; regret = optimum - its mean test accuracy
        best = np.maximum.accumulate(g["valid_acc"].to_numpy())
        inc_rows = table.rows(g["incumbent"].astype(str).to_numpy())
        assert (inc_rows >= 0).all()
        first = g.drop_duplicates("incumbent")
        assert np.allclose(first["valid_acc"], best[first.index - g.index[0]])
        np.testing.assert_allclose(g["regret"], table.best_score - table.score[inc_rows], rtol=0, atol=1e-12)

    meta = read_metadata(next((out / "runs" / "toy").glob("re-*/seed-00007.parquet")))
    assert meta["status"] == "done" and meta["seed"] == 7 and meta["synthetic"] is True
    assert meta["encoding"] == "nb201" and meta["time_budget"] == 2e4 and meta["score_metric"] == "test"
    assert meta["optimizer_path"] == "optimizers.regularized_evolution:RegularizedEvolution"
    assert meta["hyperparameters"]["population_size"] == 100
    assert meta["pythonhashseed"] == HASHSEED  # process workers start with the fixed hash seed

    runs_df = load_runs(out)
    assert len(runs_df) == 12 and (runs_df["status"] == "done").all()
    assert (runs_df["budget_s"] == 2e4).all() and runs_df["synthetic"].all()

    # same seeds in a different order and job count: identical results
    out2 = tmp_path / "res2"
    rc = cli_main(["run", *TOY, "--optimizers", "reinforce,re,rs", "--seeds", "7,2,1,0", "--out", str(out2),
                   "--jobs", "1", "--executor", "inline"])
    assert rc == 0
    pd.testing.assert_frame_equal(load_results(out2), df)


def test_seeds_depend_on_the_seed_only() -> None:
    oracle_ss, opt_seed = derive_seeds(3)
    again = derive_seeds(3)
    assert opt_seed == again[1] and 0 <= opt_seed < 2**31
    assert oracle_ss.generate_state(4).tolist() == again[0].generate_state(4).tolist()
    assert derive_seeds(4)[1] != opt_seed
    # the oracle's stream is not the optimizer's
    assert np.random.default_rng(oracle_ss).integers(2**31) != np.random.default_rng(opt_seed).integers(2**31)


# -- resume ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_resume_recomputes_only_missing_runs(tmp_path: Path) -> None:
    exp = toy_experiment(["rs", "re", "reinforce"], "0-3")
    out = tmp_path / "r"
    s1 = run_experiment(exp, out, executor="inline", progress=False)
    assert (s1.done, s1.skipped, s1.failed) == (12, 0, 0)
    before = load_results(out)
    files = sorted((out / "runs").rglob("seed-*.parquet"))
    assert len(files) == 12
    removed = files[1::4]
    kept_mtimes = {f: f.stat().st_mtime_ns for f in files if f not in removed}
    for f in removed:
        f.unlink()

    s2 = run_experiment(exp, out, executor="process", jobs=2, progress=False)
    assert (s2.done, s2.skipped, s2.failed) == (len(removed), 12 - len(removed), 0)
    assert all(f.exists() for f in removed)
    assert {f: f.stat().st_mtime_ns for f in kept_mtimes} == kept_mtimes  # untouched
    pd.testing.assert_frame_equal(load_results(out), before)

    s3 = run_experiment(exp, out, executor="inline", progress=False)
    assert (s3.done, s3.skipped) == (0, 12)


# -- kill -9, SIGTERM, Ctrl-C, and rerun ----------------------------------------------------------------
def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "rc"), [(signal.SIGKILL, -9), (signal.SIGTERM, 143), (signal.SIGINT, 130)],
                         ids=["kill-9", "SIGTERM", "ctrl-c"])
def test_interrupt_leaves_no_process_and_rerun_matches_uninterrupted(tmp_path: Path, sig: int, rc: int) -> None:
    args = ["--optimizers", "rs,re,reinforce", "--seeds", "0-39", "--benchmark", "toy", "--encoding", "nb201",
            "--budget", "3e5", "--no-progress"]
    out = tmp_path / "killed"
    total = 3 * 40
    # a session of its own (so its process group can be watched), Ctrl-C not ignored
    proc = run_cli_subprocess([*args, "--out", str(out), "--jobs", "2", "--executor", "process"],
                              start_new_session=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        n_done = 0
        while time.monotonic() < deadline:
            n_done = len(list((out / "runs").rglob("seed-*.parquet"))) if out.exists() else 0
            if n_done >= 4 or proc.poll() is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the command ended before it could be interrupted: {proc.communicate()}"
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)  # what Ctrl-C in a terminal does: the whole foreground group
        else:
            os.kill(proc.pid, sig)  # the command only
        stdout, stderr = proc.communicate(timeout=30)
        assert proc.returncode == rc, stdout + stderr
        gone = time.monotonic() + 15
        while _group_alive(proc.pid) and time.monotonic() < gone:
            time.sleep(0.1)
        assert not _group_alive(proc.pid), "worker processes outlived the command"
        n_at_stop = len(list((out / "runs").rglob("seed-*.parquet")))
        assert 4 <= n_done <= n_at_stop < total, "the signal did not land mid-way"
        assert not list(out.rglob(".*.lock")) and not list(out.rglob("*.tmp"))  # nothing half-written left
        if sig != signal.SIGKILL:
            assert f"{n_at_stop} done now" in stdout and "run the same command again to resume" in stdout

        s = run_experiment(load_args_experiment(args), out, executor="inline", progress=False)
        assert s.failed == 0 and s.busy == 0 and s.done + s.skipped == total and s.done == total - n_at_stop
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    ref = tmp_path / "ref"
    run_experiment(load_args_experiment(args), ref, executor="inline", progress=False)
    pd.testing.assert_frame_equal(load_results(out), load_results(ref))
    runs = load_runs(out)
    assert len(runs) == total and (runs["status"] == "done").all()


def load_args_experiment(args: list[str]) -> Experiment:
    """The experiment the CLI builds from ``args`` (flag form)."""
    keys = {"--optimizers": "optimizers", "--seeds": "seeds", "--benchmark": "benchmark", "--encoding": "encoding",
            "--budget": "time_budget"}
    raw = {keys[a]: args[i + 1] for i, a in enumerate(args) if a in keys}
    return Experiment.from_dict(raw, default_name=raw["benchmark"])


# -- failure isolation -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_failing_run_is_recorded_and_the_others_finish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exp = toy_experiment(["rs", "test_runner:FailOnSeed"], "0-3")
    out = tmp_path / "f"
    monkeypatch.setenv(FAIL_ENV, "2")  # spawned workers inherit it
    s = run_experiment(exp, out, executor="process", jobs=2, progress=False)
    assert (s.done, s.failed) == (7, 1)
    assert s.failures[0][0].endswith("seed-00002") and "boom for seed 2" in s.failures[0][1]

    paths = dataclasses.replace(exp.runs()[1].id, seed=2).paths(out)
    assert not paths.result.exists() and paths.failed.exists()
    record = json.loads(paths.failed.read_text())
    assert record["status"] == "failed" and record["seed"] == 2
    assert "Traceback" in record["traceback"] and "boom for seed 2" in record["traceback"]
    assert "FailOnSeed" in record["traceback"] or "setup" in record["traceback"]

    runs = load_runs(out)
    assert len(runs) == 8
    bad = runs[runs["status"] == "failed"]
    assert len(bad) == 1 and int(bad["seed"].iloc[0]) == 2 and "boom" in bad["error"].iloc[0]
    df = load_results(out)
    assert df.groupby(["optimizer", "seed"], observed=True).ngroups == 7

    # exit code of the CLI is 1 when a run failed; a later successful rerun removes the failure record
    monkeypatch.delenv(FAIL_ENV)
    s2 = run_experiment(exp, out, executor="inline", progress=False)
    assert (s2.done, s2.skipped, s2.failed) == (1, 7, 0)
    assert paths.result.exists() and not paths.failed.exists()
    assert (load_runs(out)["status"] == "done").all()


def test_cli_exit_code_and_message_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(FAIL_ENV, "0")
    rc = cli_main(["run", *TOY, "--optimizers", "test_runner:FailOnSeed", "--seeds", "0-1", "--out",
                   str(tmp_path / "x"), "--executor", "inline"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "1 failed" in out and "boom for seed 0" in out


# -- executor equivalence ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_inline_process_and_dask_give_identical_results(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    exp = toy_experiment(["rs", "re", "reinforce", "test_runner:HashSeeded"], "0-2")
    inline = run_experiment(exp, tmp_path / "inline", executor="inline", progress=False)
    process = run_experiment(exp, tmp_path / "process", executor="process", jobs=2, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        dask = run_experiment(exp, tmp_path / "dask", executor="dask", scheduler=client, progress=False)
    for s in (inline, process, dask):
        assert (s.done, s.failed) == (12, 0), s.failures
    ref = load_results(tmp_path / "inline")
    assert ref.groupby(["optimizer", "seed"], observed=True).ngroups == 12
    pd.testing.assert_frame_equal(load_results(tmp_path / "process"), ref)
    pd.testing.assert_frame_equal(load_results(tmp_path / "dask"), ref)
    for d in ("inline", "process", "dask"):  # the hash-sensitive optimizer always ran with the fixed seed
        for f in (tmp_path / d / "runs" / "toy").glob("hashseeded-*/seed-*.parquet"):
            assert read_metadata(f)["pythonhashseed"] == HASHSEED


def test_hash_seeded_optimizer_differs_without_the_fixed_seed() -> None:
    """The equivalence test above is meaningful: HashSeeded's stream depends on the hash seed."""
    code = "print(hash('nasbench_bench') & 0xFFFF)"
    vals = {
        subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": s},
                       capture_output=True, text=True, check=True).stdout
        for s in ("1", "2", HASHSEED)
    }
    assert len(vals) == 3


# -- concurrency and locks --------------------------------------------------------------------------------
@pytest.mark.slow
def test_two_concurrent_commands_share_the_work_without_corruption(tmp_path: Path) -> None:
    out = tmp_path / "shared"
    args = ["--optimizers", "rs,re,reinforce", "--seeds", "0-19", "--benchmark", "toy", "--encoding", "nb201",
            "--budget", "5e4", "--no-progress", "--out", str(out), "--executor", "inline"]
    procs = [run_cli_subprocess(args) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    done = [int(re.search(r"(\d+) done now", o[0]).group(1)) for o in outputs]
    assert sum(done) == 60  # every run computed exactly once
    ref = tmp_path / "ref"
    run_experiment(load_args_experiment(args), ref, executor="inline", progress=False)
    pd.testing.assert_frame_equal(load_results(out), load_results(ref))
    assert not list(out.rglob(".seed-*.lock")) and not list(out.rglob("*.tmp"))


def test_locks_live_dead_and_foreign(tmp_path: Path) -> None:
    lock = tmp_path / "d" / ".seed-00000.lock"
    token = acquire_lock(lock, {"pid": os.getpid(), "host": socket.gethostname()})
    assert token is not None and lock.exists()
    assert acquire_lock(lock) is None  # held by a live process (this one)
    release_lock(lock, "not-the-token")
    assert lock.exists()
    release_lock(lock, token)
    assert not lock.exists()

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "token": "x", "owner": {}}))
    assert acquire_lock(lock) is not None  # a dead process's lock is broken

    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "token": "y",
                                "owner": {"pid": dead.pid, "host": socket.gethostname()}}))
    assert acquire_lock(lock) is not None  # ... and so is one whose owning command is dead

    lock.write_text(json.dumps({"pid": dead.pid, "host": "another-host.invalid", "token": "z", "owner": {}}))
    assert acquire_lock(lock) is None  # never guess about other hosts


# -- experiments: TOML, validation, seeds ------------------------------------------------------------------
def test_shipped_experiment_files() -> None:
    fig7 = load_experiment(REPO / "experiments" / "figure7.toml")
    assert fig7.benchmarks == ("nb101",) and fig7.encoding == "A" and fig7.time_budget == 1e7
    assert fig7.seeds == tuple(range(500))
    assert [o.name for o in fig7.optimizers] == ["rs", "re", "reinforce", "tpe", "smac", "hb", "bohb"]
    assert fig7.n_runs == 3500 and len({r.id.settings_hash for r in fig7.runs()}) == 7
    quick = load_experiment(REPO / "experiments" / "quick.toml")
    assert quick.benchmarks == ("nb201-cifar10",) and quick.encoding_for("nb201-cifar10") == "nb201"
    over = load_experiment(REPO / "experiments" / "quick.toml", {"benchmark": "toy", "seeds": "3", "name": None})
    assert over.benchmarks == ("toy",) and over.seeds == (3,) and over.name == "quick"


def write_toml(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "exp.toml"
    p.write_text(text)
    return p


BASE = 'benchmark = "toy"\nseeds = "0-1"\ntime_budget = 2e4\noptimizers = ["rs"]\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + "seed = 3\n", r"unknown key\(s\) \['seed'\]"),
        (BASE.replace('"0-1"', '"5-2"'), r"'seeds' = '5-2'.*reversed"),
        (BASE.replace('"0-1"', '"0-x"'), r"'seeds' = '0-x'"),
        (BASE.replace('"toy"', '"nb102"'), r"unknown benchmark 'nb102'"),
        (BASE.replace("2e4", "-1"), r"'time_budget' = -1"),
        (BASE.replace("2e4", '"soon"'), r"'time_budget' = 'soon'"),
        (BASE + 'encoding = "A"\n', r"'encoding' = 'A' is for nb101 tables but benchmark 'toy'"),
        (BASE + 'encoding = "Z"\n', r"'encoding' = 'Z' is not one of"),
        (BASE.replace('["rs"]', '["rs", "rs"]'), r"label\(s\) \['rs'\] used more than once"),
        (BASE.replace('["rs"]', '["simulated_annealing"]'), r"unknown optimizer 'simulated_annealing'"),
        (BASE.replace('["rs"]', '[{name = "re", lable = "x"}]'), r"optimizers\[0\]: unknown key\(s\) \['lable'\]"),
        (BASE.replace('["rs"]', '[{name = "re", label = "a/b"}]'), r"optimizers\[0\]: 'label'"),
        (BASE.replace('["rs"]', "[]"), r"'optimizers' must be a non-empty list"),
        (BASE.replace("time_budget = 2e4\n", ""), r"missing 'time_budget'"),
        (BASE + "max_evaluations = 0\n", r"'max_evaluations' must be a positive integer"),
        (BASE + "oops = \n", r"invalid TOML"),
    ],
)
def test_toml_validation_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ExperimentError, match=message):
        load_experiment(write_toml(tmp_path, text))


def test_unknown_hyperparameter_is_rejected_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    p = write_toml(tmp_path, BASE.replace('["rs"]', '[{name = "re", hyperparameters = {population = 5}}]'))
    out = tmp_path / "o"
    assert cli_main(["run", str(p), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "unknown hyperparameter(s) ['population']" in err and "population_size" in err
    assert not list(out.rglob("seed-*"))
    assert cli_main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_hyperparameters_label_and_settings_hash(tmp_path: Path) -> None:
    p = write_toml(tmp_path, BASE.replace(
        '["rs"]', '[{name = "re", label = "re-small", hyperparameters = {population_size = 10, tournament_size = 3}}, '
        '"re"]'))
    exp = load_experiment(p)
    runs = exp.runs()
    assert [r.optimizer.label for r in runs[:2]] == ["re-small", "re"]
    assert runs[0].id.settings_hash != runs[1].id.settings_hash
    s = run_experiment(exp, tmp_path / "o", executor="inline", progress=False)
    assert s.done == 4
    meta = read_metadata(next((tmp_path / "o").rglob("re-small-*/seed-00000.parquet")))
    assert meta["hyperparameters"] == {"population_size": 10, "tournament_size": 3}
    assert sorted(load_results(tmp_path / "o")["optimizer"].unique()) == ["re", "re-small"]


@pytest.mark.parametrize(
    ("spec", "seeds"),
    [
        ("0-4", (0, 1, 2, 3, 4)),
        ("0-499", tuple(range(500))),
        ("3", (3,)),
        ("0,3,10-12", (0, 3, 10, 11, 12)),
        (" 5 - 6 , 1 ", (1, 5, 6)),
        ("2..4", (2, 3, 4)),
        ("1,1,0-1", (0, 1)),
        (4, (0, 1, 2, 3)),
        ([3, "0-1"], (0, 1, 3)),
    ],
)
def test_parse_seeds(spec, seeds) -> None:
    assert parse_seeds(spec) == seeds


@pytest.mark.parametrize("spec", ["", "-1", "4-2", "a", "1-", "0-1,x", 0, -3, True, [1.5], "99999999999"])
def test_parse_seeds_rejects(spec) -> None:
    with pytest.raises(ValueError):
        parse_seeds(spec)


def test_missing_nb101_data_explains_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("NASBENCH_BENCH_NB101", raising=False)
    rc = cli_main(["run", "--benchmark", "nb101", "--optimizers", "rs", "--seeds", "0", "--out",
                   str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "--data" in err and "NASBENCH_BENCH_NB101" in err and "nasbench_full.tfrecord" in err
    rc = cli_main(["run", "--benchmark", "nb101", "--optimizers", "rs", "--seeds", "0", "--data",
                   str(tmp_path / "nope.tfrecord"), "--out", str(tmp_path / "o"), "--no-progress"])
    assert rc == 2 and "not found" in capsys.readouterr().err


def test_worker_sigterm_cleans_up_and_exits_even_if_the_run_swallows_exceptions(tmp_path: Path) -> None:
    """A worker told to stop (SIGTERM, also what it gets when its parent dies) releases its run's lock, removes
    its temporary files and exits, even inside code that catches every exception."""
    lock, tmp = tmp_path / ".seed-00003.lock", tmp_path / ".seed-00003.parquet.abc.parquet.tmp"
    code = (
        "import os, time\n"
        "from pathlib import Path\n"
        "from nasbench_bench import runner\n"
        "from nasbench_bench.locks import acquire_lock\n"
        f"lock, tmp = Path({str(lock)!r}), Path({str(tmp)!r})\n"
        "runner._worker_init(os.getppid())\n"
        "runner._HELD.append((lock, acquire_lock(lock)))\n"
        "tmp.write_text('half')\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    try:\n"
        "        time.sleep(0.05)\n"
        "    except BaseException:\n"
        "        pass\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert lock.exists() and tmp.exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 128 + signal.SIGTERM
        assert not lock.exists() and not tmp.exists()
    finally:
        proc.kill()
