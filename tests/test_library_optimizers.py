"""TPE, SMAC, Hyperband and BOHB through their libraries: budgets, reproducibility, search quality,
equivalence of the fast drivers with the libraries' own drivers, and no third-party noise."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _tables import toy_table

from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.optimizer import get_optimizer, run_optimizer
from nasbench_bench.oracle import Oracle
from nasbench_bench.table import Table

TESTS = Path(__file__).parent
ENC = EncodingNB201()
NAMES = ("tpe", "smac", "hb", "bohb")
BUDGET = 3e4  # ~25 top-budget evaluations on the toy table (more for HB/BOHB, whose low budgets are cheap)


@pytest.fixture(scope="module")
def table() -> Table:
    return toy_table()


def _run(table: Table, name: str, seed: int, budget: float = BUDGET, **hp):
    return run_optimizer(get_optimizer(name)(ENC, seed=seed, **hp), Oracle(table, ENC, budget, seed=seed))


def _key(tr) -> list:
    return [tr.row.tolist(), tr.trial.tolist(), tr.budget.tolist(), tr.time.tolist()]


@pytest.fixture(scope="module")
def runs(table: Table) -> dict[str, list]:
    """Two runs with seed 3 and one with seed 4 of every optimizer."""
    return {n: [_run(table, n, 3), _run(table, n, 3), _run(table, n, 4)] for n in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_short_run_respects_budget_and_is_reproducible(table: Table, runs: dict, name: str) -> None:
    a, b, c = runs[name]
    assert len(a) >= 15
    assert a.time[-1] <= BUDGET and np.all(np.diff(a.time) >= 0)
    assert _key(a) == _key(b)
    assert _key(a) != _key(c)
    cls = get_optimizer(name)
    assert set(a.budget.tolist()) == ({4, 12, 36, 108} if cls.multi_fidelity else {108})


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_beats_the_median_random_cell(table: Table, name: str) -> None:
    median_regret = float(np.median(table.best_score - table.score))
    finals = [_run(table, name, s, budget=5e4).regret[-1] for s in range(3)]
    assert np.mean(finals) < median_regret, (finals, median_regret)


@pytest.mark.parametrize("name", ("hb", "bohb"))
def test_single_budget_table_degenerates_with_one_warning(name: str, caplog: pytest.LogCaptureFixture) -> None:
    from optimizers import _hpbandster

    single = toy_table(budgets=(108,))
    _hpbandster._WARNED_SINGLE.discard(name)
    with caplog.at_level(logging.WARNING, logger="optimizers._hpbandster"):
        a, b = _run(single, name, 1), _run(single, name, 1)
    assert set(a.budget.tolist()) == {108} and len(a) >= 15
    assert _key(a) == _key(b)
    assert sum("single-fidelity" in r.getMessage() for r in caplog.records) == 1


def test_hpbandster_state_is_restored(table: Table) -> None:
    state = np.random.get_state()[1].copy()
    _run(table, "bohb", 0)
    assert np.array_equal(np.random.get_state()[1], state)


# -- equivalence with the libraries' own drivers ---------------------------------------------------------
@pytest.mark.parametrize("name", ["tpe", "optimizers.tpe:HyperoptTPE"])
def test_tpe_equals_hyperopt_fmin(table: Table, name: str) -> None:
    """Both TPE paths (the exact re-implementation, the default, and hyperopt's tpe.suggest) make fmin's trials."""
    from hyperopt import Trials, fmin, tpe

    from optimizers.tpe import hyperopt_space

    n, seed = 30, 5
    ours = run_optimizer(get_optimizer(name)(ENC, seed=seed), Oracle(table, ENC, 1e12, seed=seed, max_evaluations=n))
    oracle = Oracle(table, ENC, 1e12, seed=seed)

    def objective(config: dict) -> float:
        return oracle.evaluate_cell(ENC.cell_index(np.array([config[p.name] for p in ENC.params], float))).loss

    fmin(objective, hyperopt_space(ENC), tpe.suggest, n, trials=Trials(), rstate=np.random.default_rng(seed),
         show_progressbar=False)
    assert _key(ours) == _key(oracle.trajectory())


@pytest.mark.slow
def test_smac_ask_tell_equals_smac_optimize(table: Table, tmp_path: Path) -> None:
    from optimizers.smac import SMAC, make_facade

    n, seed = 30, 2
    ours = run_optimizer(SMAC(ENC, seed=seed), Oracle(table, ENC, 1e12, seed=seed, max_evaluations=n))
    oracle = Oracle(table, ENC, 1e12, seed=seed)

    def train(config, seed: int = 0) -> float:
        return oracle.evaluate(dict(config)).loss

    smac = make_facade(ENC.configspace(seed=seed), seed, tmp_path, SMAC.defaults, n_trials=n, target_function=train)
    smac.optimize()
    assert len(ours) == n and _key(ours) == _key(oracle.trajectory())


@pytest.mark.slow
def test_smac_fast_components_decide_like_smacs_own(table: Table, tmp_path: Path) -> None:
    """The fast components (selector, intensifier, acquisition maximiser, forest, run history, encoder; see
    ``optimizers.smac.FAST_COMPONENTS``) make SMAC's decisions, trial for trial (more in test_smac_fast.py)."""
    from smac.runhistory.dataclasses import TrialValue

    from optimizers.smac import SMAC, make_facade

    n, seed = 80, 4  # 7 initial configurations, then ~9 forest retrains
    runs = []
    for library_components in (False, True):
        oracle = Oracle(table, ENC, 1e12, seed=seed)
        smac = make_facade(ENC.configspace(seed=seed), seed, tmp_path / str(library_components), SMAC.defaults,
                           library_components=library_components)
        for _ in range(n):
            info = smac.ask()
            smac.tell(info, TrialValue(cost=oracle.evaluate(dict(info.config)).loss), save=False)
        runs.append(_key(oracle.trajectory()))
    assert len(runs[0][0]) == n and runs[0] == runs[1]


def _pyro_run(table: Table, name: str, seed: int, n_iterations: int, workdir: Path):
    """The library's own driver: Pyro name server (127.0.0.1, port 0), one Worker thread, HB/BOHB master."""
    import Pyro4
    from hpbandster.core.nameserver import NameServer
    from hpbandster.core.worker import Worker
    from hpbandster.optimizers import BOHB, HyperBand

    oracle = Oracle(table, ENC, 1e12, seed=seed)
    budgets = [int(b) for b in table.budgets]
    quiet = logging.getLogger("hpbandster.test")
    quiet.setLevel(logging.WARNING)

    class OracleWorker(Worker):
        def compute(self, config_id, config, budget, working_directory):
            nearest = min(budgets, key=lambda b: abs(b - budget))
            return {"loss": oracle.evaluate(config, nearest).loss, "info": {}}

    run_id = f"test-{name}-{seed}-{os.getpid()}"
    old = (Pyro4.config.SERIALIZER, set(Pyro4.config.SERIALIZERS_ACCEPTED))
    # serpent (Pyro's default) chokes on the numpy scalars of ConfigSpace 1.x configurations
    Pyro4.config.SERIALIZER = "pickle"
    Pyro4.config.SERIALIZERS_ACCEPTED.add("pickle")
    ns = NameServer(run_id=run_id, host="127.0.0.1", port=0)
    host, port = ns.start()
    try:
        worker = OracleWorker(run_id=run_id, nameserver=host, nameserver_port=port, host="127.0.0.1", logger=quiet)
        worker.run(background=True)
        np.random.seed(seed)
        cs = ENC.configspace(seed=seed)
        common = dict(configspace=cs, run_id=run_id, eta=3, min_budget=budgets[0], max_budget=budgets[-1],
                      nameserver=host, nameserver_port=port, host="127.0.0.1", logger=quiet,
                      working_directory=str(workdir))
        if name == "hb":
            master = HyperBand(**common)
        else:
            d = get_optimizer("bohb").defaults
            master = BOHB(**common, random_fraction=d["random_fraction"], num_samples=d["num_samples"],
                          min_bandwidth=d["min_bandwidth"], bandwidth_factor=d["bandwidth_factor"],
                          top_n_percent=d["top_n_percent"], min_points_in_model=d["min_points_in_model"])
        try:
            master.run(n_iterations=n_iterations)
        finally:
            master.shutdown(shutdown_workers=True)
        worker.thread.join(timeout=10)
        assert not worker.thread.is_alive()
    finally:
        ns.shutdown()
        Pyro4.config.SERIALIZER, Pyro4.config.SERIALIZERS_ACCEPTED = old[0], old[1]
    return oracle.trajectory()


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name", ("hb", "bohb"))
def test_in_process_driver_equals_pyro_driver(table: Table, name: str, tmp_path: Path) -> None:
    from optimizers._hpbandster import library_warnings_silenced, run_hpbandster, seeded_global_numpy

    seed, n_iterations = 11, 2  # 40 + 13 jobs; BOHB's model takes over after 7 results at budget 4
    root_level = logging.getLogger().level
    theirs = _pyro_run(table, name, seed, n_iterations, tmp_path)
    assert logging.getLogger().level == root_level
    opt = get_optimizer(name)(ENC, seed=seed)
    oracle = Oracle(table, ENC, 1e12, seed=seed)
    with seeded_global_numpy(seed), library_warnings_silenced():
        run_hpbandster(opt.config_generator(), oracle, [int(b) for b in table.budgets], 3, n_iterations)
    ours = oracle.trajectory()
    assert len(ours) == 53
    assert _key(ours) == _key(theirs)


# -- processes: reproducibility with a fixed hash seed, and silence --------------------------------------
_SCRIPT = """
import json, logging, os, sys
sys.path.insert(0, {tests!r})
from _tables import toy_table
from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.optimizer import get_optimizer, run_optimizer
from nasbench_bench.oracle import Oracle
before = logging.getLogger().level
tables = {{"multi": toy_table(), "single": toy_table(budgets=(108,))}}
enc = EncodingNB201()
out = {{}}
for kind, names in {plan!r}:
    for name in names:
        tr = run_optimizer(get_optimizer(name)(enc, seed=7), Oracle(tables[kind], enc, {budget!r}, seed=7))
        out[kind + ":" + name] = tr.row.tolist()
out["root_level"] = [before, logging.getLogger().level]
out["cwd"] = sorted(os.listdir("."))
sys.stdout.write(json.dumps(out) + "\\n")
"""


def _subprocess(plan: list, cwd: Path, tmpdir: Path | None = None) -> tuple[dict, str, str]:
    env = {**os.environ, "PYTHONHASHSEED": "6640", "PYTHONWARNINGS": ""}
    if tmpdir is not None:  # a private temporary directory: leftovers are ours alone to find
        env["TMPDIR"] = str(tmpdir)
    code = _SCRIPT.format(tests=str(TESTS), plan=plan, budget=BUDGET)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.splitlines()
    return json.loads(lines[-1]), "\n".join(lines[:-1]), res.stderr


@pytest.mark.slow
def test_smac_reproducible_across_processes_with_fixed_hashseed(tmp_path: Path) -> None:
    a, _, _ = _subprocess([("multi", ["smac"])], tmp_path)
    b, _, _ = _subprocess([("multi", ["smac"])], tmp_path)
    assert a["multi:smac"] == b["multi:smac"] and len(a["multi:smac"]) >= 15


@pytest.mark.slow
def test_no_third_party_noise(tmp_path: Path) -> None:
    """No output at all, no files in the working directory, root logger level untouched; no temp leftovers."""
    private_tmp = tmp_path.parent / f"{tmp_path.name}-tmp"
    private_tmp.mkdir()
    plan = [("multi", list(NAMES)), ("single", ["hb", "bohb"])]
    out, stdout, stderr = _subprocess(plan, tmp_path, private_tmp)
    assert stdout == ""
    # the one expected line: the single-fidelity notice of HB and BOHB
    lines = [ln for ln in stderr.splitlines() if "single-fidelity" not in ln]
    assert lines == [], stderr
    assert stderr.count("single-fidelity") == 2
    assert out["root_level"][0] == out["root_level"][1]
    assert out["cwd"] == [] and os.listdir(tmp_path) == []
    assert os.listdir(private_tmp) == []  # e.g. SMAC's output directory is removed
