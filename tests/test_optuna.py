"""The Optuna adapter: the generic ``optuna:SamplerClassName`` form, its validation, equivalence with a bare Optuna
ask/tell loop, quiet runs, and reproducibility whatever the hash seed (the built-ins ``optuna-*`` also go through
the parametrized suite in test_optimizers.py)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from _tables import toy_table

from nasbench_bench.experiment import Experiment, ExperimentError
from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.optimizer import OptimizerError, get_optimizer, import_path, run_optimizer
from nasbench_bench.oracle import Oracle
from nasbench_bench.table import Table

TESTS = Path(__file__).parent
ENC = EncodingNB201()


@pytest.fixture(scope="module")
def table() -> Table:
    return toy_table()


def _run(table: Table, name: str, seed: int, n: int = 30, **hp):
    opt = get_optimizer(name)(ENC, seed=seed, **hp)
    return opt, run_optimizer(opt, Oracle(table, ENC, 1e12, seed=seed, max_evaluations=n))


def test_generic_form_passes_keywords_to_the_sampler(table: Table) -> None:
    cls = get_optimizer("optuna:TPESampler")
    assert cls.name == "optuna-TPESampler" and import_path(cls) == "optuna:TPESampler"
    assert cls.defaults["n_startup_trials"] == 10 and "seed" not in cls.defaults
    opt, tr = _run(table, "optuna:TPESampler", 3, n_startup_trials=3, n_ei_candidates=5)
    sampler = opt.make_sampler()
    assert (sampler._n_startup_trials, sampler._n_ei_candidates) == (3, 5)
    assert len(opt.study.trials) == 31  # the last one asked for is not evaluated: the oracle's cap stopped the run
    _, default = _run(table, "optuna:TPESampler", 3)
    _, short = _run(table, "optuna-tpe", 3)
    assert tr.row.tolist() != default.row.tolist()  # the keywords changed the search
    assert short.row.tolist() == default.row.tolist()  # optuna-tpe is TPESampler with Optuna's defaults


def test_bad_keywords_and_classes_give_clear_errors() -> None:
    with pytest.raises(OptimizerError, match=r"optuna-TPESampler.*valid: \[.*'n_startup_trials'"):
        get_optimizer("optuna:TPESampler")(ENC, seed=0, n_startup=3)
    with pytest.raises(ExperimentError, match=r"unknown hyperparameter\(s\) \['popsize_typo'\].*optuna-CmaEsSampler"):
        Experiment.from_dict({"benchmark": "toy", "seeds": "0", "time_budget": 1e4, "optimizers": [
            {"name": "optuna:CmaEsSampler", "hyperparameters": {"popsize_typo": 4}}]})
    with pytest.raises(OptimizerError, match=r"'NoSuchSampler' is not a usable sampler.*'TPESampler'"):
        get_optimizer("optuna:NoSuchSampler")
    for name in ("GridSampler", "PartialFixedSampler", "BaseSampler", "nsgaii"):
        with pytest.raises(OptimizerError, match="not a usable sampler"):
            get_optimizer(f"optuna:{name}")
    from optimizers.optuna_samplers import sampler_keywords

    # ours is False (one notice of ours instead); the sampler's own default, as reported, stays Optuna's
    assert get_optimizer("optuna:CmaEsSampler").defaults["warn_independent_sampling"] is False
    assert sampler_keywords("CmaEsSampler")["warn_independent_sampling"] is True
    # keywords that take objects (callables, samplers) cannot come from an experiment file
    assert "gamma" not in get_optimizer("optuna:TPESampler").defaults
    assert "independent_sampler" not in get_optimizer("optuna:CmaEsSampler").defaults


@pytest.mark.parametrize("name", ["optuna-tpe", "optuna-cmaes"])
def test_adapter_makes_the_suggestions_of_a_bare_optuna_loop(table: Table, name: str) -> None:
    import optuna

    from optimizers.optuna_samplers import quiet_optuna, search_space

    n, seed = 25, 4
    opt, ours = _run(table, name, seed, n=n)
    oracle = Oracle(table, ENC, 1e12, seed=seed)
    kwargs = {"warn_independent_sampling": False} if name == "optuna-cmaes" else {}
    sampler = {"optuna-tpe": optuna.samplers.TPESampler, "optuna-cmaes": optuna.samplers.CmaEsSampler}[name]
    with quiet_optuna():
        study = optuna.create_study(sampler=sampler(seed=seed, **kwargs))
        for _ in range(n):
            trial = study.ask(search_space(ENC))
            study.tell(trial, oracle.evaluate(trial.params).loss)
    assert [t.params for t in opt.study.trials[:n]] == [t.params for t in study.trials]
    assert ours.row.tolist() == oracle.trajectory().row.tolist()


def test_real_warnings_still_reach_the_user(table: Table) -> None:
    """A deprecated keyword the user passes is the user's business: Optuna's FutureWarning is not swallowed."""
    with pytest.warns(FutureWarning, match="consider_prior"):
        _run(table, "optuna:TPESampler", 0, n=3, consider_prior=True)


def test_logger_level_and_warning_filters_are_restored(table: Table, caplog: pytest.LogCaptureFixture) -> None:
    import optuna  # noqa: F401  (importing optuna sets its logger to INFO: that is the state to keep)

    from optimizers import optuna_samplers

    logger = logging.getLogger("optuna")
    for user_level in (logging.INFO, logging.DEBUG, logging.ERROR):
        logger.setLevel(user_level)
        filters = list(warnings.filters)
        _run(table, "optuna-qmc", 1, n=5)
        assert logger.level == user_level and warnings.filters == filters
    logger.setLevel(logging.INFO)
    optuna_samplers._WARNED.clear()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="optimizers.optuna_samplers"):
        _run(table, "optuna-cmaes", 0, n=3)
        _run(table, "optuna-cmaes", 1, n=3)
    notices = [r.getMessage() for r in caplog.records if r.name == "optimizers.optuna_samplers"]
    assert len(notices) == 1 and "random search" in notices[0]


_SCRIPT = """
import json, logging, sys, warnings
sys.path.insert(0, {tests!r})
import optuna
from _tables import toy_table
from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.optimizer import get_optimizer, run_optimizer
from nasbench_bench.oracle import Oracle
logging.basicConfig()  # a user's root handler: third-party records would show up on stderr
state = lambda: [logging.getLogger("optuna").level, len(logging.getLogger("optuna").handlers), len(warnings.filters)]
before = state()
t, enc = toy_table(), EncodingNB201()
out = {{}}
for name in {names!r}:
    tr = run_optimizer(get_optimizer(name)(enc, seed=7), Oracle(t, enc, 3e4, seed=7))
    out[name] = [tr.row.tolist(), tr.trial.tolist()]
out["state"] = [before, state()]
sys.stdout.write(json.dumps(out) + "\\n")
"""
NAMES = ["optuna-tpe", "optuna-cmaes", "optuna-qmc", "optuna-random", "optuna:NSGAIISampler"]


def _subprocess(hashseed: str) -> tuple[dict, str, str]:
    env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONWARNINGS": ""}
    res = subprocess.run([sys.executable, "-c", _SCRIPT.format(tests=str(TESTS), names=NAMES)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.splitlines()
    return json.loads(lines[-1]), "\n".join(lines[:-1]), res.stderr


@pytest.mark.slow
def test_quiet_and_reproducible_whatever_the_hash_seed() -> None:
    """Same runs under two hash seeds (no fixed PYTHONHASHSEED needed); nothing on stdout; on stderr only our one
    notice per sampler that ignores categoricals; optuna's logger and the warning filters as found."""
    a, out_a, err_a = _subprocess("1")
    b, _, err_b = _subprocess("2")
    assert a == b and all(len(a[n][0]) >= 15 for n in NAMES)
    assert not any(get_optimizer(n).needs_fixed_hashseed for n in NAMES)
    assert out_a == "" and err_a == err_b
    lines = err_a.splitlines()
    assert len(lines) == 2 and all(ln.startswith("WARNING:optimizers.optuna_samplers:") for ln in lines), err_a
    assert a["state"][0] == a["state"][1] == [logging.INFO, 1, a["state"][0][2]]


def test_different_samplers_search_differently(table: Table) -> None:
    names = ("optuna-tpe", "optuna-qmc", "optuna-random", "optuna-cmaes")
    rows = {n: _run(table, n, 2, n=40)[1].row.tolist() for n in names}
    assert len({tuple(rows[n]) for n in names[:3]}) == 3
    # as the README says: CMA-ES models no categorical, so on nb201 it makes RandomSampler(seed)'s trials
    assert rows["optuna-cmaes"] == rows["optuna-random"]


def test_overhead_benchmark_checks_the_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    """The benchmark's correctness, not its timings: it runs and finds the same suggestions in both loops."""
    from nasbench_bench.cli import main

    assert main(["bench", "optuna", "--n", "8", "--repeats", "1", "--optimizers", "optuna-random,optuna-tpe"]) == 0
    out = capsys.readouterr().out
    assert out.count("same suggestions") == 2 and "overhead" in out
