"""Parallel workers on one simulated clock (nasbench_bench.simulator): K = 1 is today's protocol bit for bit,
hand-checked event schedules, hpbandster's own master with K workers, determinism across executors, and no
evaluation lost or delivered twice.

Tables are the SYNTHETIC toy table (NB201 cell ids) or small hand-made tables with chosen training times.
"""

from __future__ import annotations

import heapq
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _tables import RowEncoding, check_halfway_resumes, toy_table

from nasbench_bench.experiment import Experiment, ExperimentError
from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.optimizer import BUILTINS, Optimizer, OptimizerError, get_optimizer, run_optimizer
from nasbench_bench.oracle import Evaluation, Oracle
from nasbench_bench.results import load_results, read_metadata
from nasbench_bench.runner import run_experiment
from nasbench_bench.simulator import EventSimulation, check_workers, run_parallel
from nasbench_bench.table import Table

ENC = EncodingNB201()
FIELDS = ("time", "row", "trial", "budget", "valid_acc", "train_acc", "incumbent", "regret")


@pytest.fixture(scope="module")
def toy() -> Table:
    return toy_table()


def _same(a: Any, b: Any) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True) for f in FIELDS)


# -- K = 1 -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rs", "re", "reinforce", "tpe", "smac", "hb", "bohb", "asha", "ls", "optuna-tpe",
                                  "lce:re", "lce:rs", "bananas", "lce:bananas"])
def test_parallel_form_with_one_worker_is_the_sequential_run(toy: Table, name: str) -> None:
    """Each built-in's ask/tell form, driven by the event loop with K = 1, reproduces its sequential run()."""
    budget = 3e4
    seq = run_optimizer(get_optimizer(name)(ENC, seed=5), Oracle(toy, ENC, budget, seed=5))
    par = run_parallel(get_optimizer(name)(ENC, seed=5), Oracle(toy, ENC, budget, seed=5), 1)
    assert len(seq) > 10 and _same(seq, par)
    assert par.worker is not None and (par.worker == 0).all()
    assert np.array_equal(par.start, np.concatenate(([0.0], seq.time[:-1])))  # back to back on one worker


def _experiment(workers: Any = None, optimizers: tuple[str, ...] = ("rs", "re"), seeds: str = "0-1",
                budget: float = 2e4) -> Experiment:
    raw: dict[str, Any] = {"benchmark": "toy", "encoding": "nb201", "optimizers": list(optimizers), "seeds": seeds,
                           "time_budget": budget}
    if workers is not None:
        raw["workers"] = workers
    return Experiment.from_dict(raw)


def test_workers_1_keeps_run_identity_and_k_joins_it() -> None:
    plain, one, four = _experiment(), _experiment(1), _experiment(4)
    assert [r.id for r in plain.runs()] == [r.id for r in one.runs()]
    assert all("workers" not in r.settings for r in one.runs())
    assert {r.id.settings_hash for r in four.runs()}.isdisjoint({r.id.settings_hash for r in one.runs()})
    assert all(r.workers == 4 and r.settings["workers"] == 4 for r in four.runs())


def test_workers_1_run_files_are_unchanged(tmp_path: Path) -> None:
    """A K = 1 experiment writes exactly the sequential columns and metadata keys (no workers key)."""
    run_experiment(_experiment(1, ("re",), "0"), tmp_path, executor="inline", progress=False)
    f = next((tmp_path / "runs" / "toy").glob("re-*/seed-00000.parquet"))
    import pyarrow.parquet as pq

    from nasbench_bench.results import SCHEMA

    assert pq.read_schema(f).names == SCHEMA.names
    assert "workers" not in read_metadata(f)
    from nasbench_bench.results import PARALLEL_COLUMNS, RUN_COLUMNS

    assert tuple(load_results(tmp_path).columns) == RUN_COLUMNS  # as before
    df = load_results(tmp_path, columns=RUN_COLUMNS + PARALLEL_COLUMNS)
    assert (df["workers"] == 1).all() and (df["worker"] == 0).all() and (df["end"] == df["time"]).all()
    assert df["start"].iloc[0] == 0.0 and np.array_equal(df["start"].to_numpy()[1:], df["time"].to_numpy()[:-1])


@pytest.mark.parametrize("bad", [0, -1, 4097, 2.5, "x", True])
def test_workers_are_validated(bad: Any) -> None:
    with pytest.raises(ExperimentError, match="workers must be an integer from 1 to 4096"):
        _experiment(bad)
    with pytest.raises(ValueError):
        check_workers(bad)


class RunOnly(Optimizer):
    """Owns its loop: random search through run() only."""

    name = "runonly"

    def run(self, oracle: Oracle) -> None:
        while True:
            oracle.evaluate(self.encoding.sample(self.rng))


def test_optimizer_without_ask_tell_is_refused_with_workers(tmp_path: Path) -> None:
    with pytest.raises(ExperimentError, match="'runonly' owns its loop .run. and has no ask/tell"):
        _experiment(4, ("test_workers:RunOnly",))
    with pytest.raises(ExperimentError, match="wraps 'runonly', which has no ask/tell"):
        _experiment(4, ("lce:test_workers:RunOnly",))
    _experiment(1, ("test_workers:RunOnly", "lce:test_workers:RunOnly"))  # fine sequentially
    _experiment(4, ("lce:re",))


def test_cli_workers_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasbench_bench.cli import main

    args = ["run", "--benchmark", "toy", "--encoding", "nb201", "--optimizers", "rs", "--seeds", "0",
            "--budget", "1e4", "--no-progress", "--executor", "inline", "--out", str(tmp_path)]
    assert main([*args, "--workers", "0"]) == 2
    assert "workers must be an integer from 1 to 4096, got 0" in capsys.readouterr().err
    assert main([*args, "--workers", "3"]) == 0
    f = next((tmp_path / "runs" / "toy").glob("rs-*/seed-00000.parquet"))
    assert read_metadata(f)["workers"] == 3
    assert set(load_results(tmp_path)["optimizer"]) == {"rs@K3"}


# -- hand-checked schedules --------------------------------------------------------------------------------
def _table(costs: dict[int, float], accs: dict[int, float] | None = None) -> Table:
    """One budget, one trial; cell row r costs ``costs[r]`` (default 1) and has accuracy ``accs[r]``."""
    ids = ENC.cell_ids()
    n = len(ids)
    time = np.ones((n, 1, 1))
    acc = np.full((n, 1, 1), 0.5)
    for r, c in costs.items():
        time[r, 0, 0] = c
    for r, a in (accs or {}).items():
        acc[r, 0, 0] = a
    return Table(name="hand", budgets=np.array([200]), cell_ids=ids, n_trials=np.ones((n, 1), np.int8),
                 train_time=time, train_acc=acc, valid_acc=acc, test_acc=acc, synthetic=True)


def _vector(row: int) -> np.ndarray:
    """The nb201 vector of table row ``row`` (rows are sorted cell ids; the encoding's ids are too)."""
    ids = ENC.cell_ids()
    return np.array([int(ch) for ch in ids[row].decode()], dtype=float)


class Scripted(Optimizer):
    """Asks the scripted rows in order, in synchronous batches of ``batch`` when set (None until the whole batch
    is told); records the tells."""

    name = "scripted"
    pending_asks = True

    def setup(self) -> None:
        self.script: list[int] = []
        self.batch: int | None = None
        self.told: list[tuple[int, float]] = []
        self.batch_asked = self.batch_told = 0

    def ask(self) -> np.ndarray | None:
        if self.batch is not None and self.batch_asked >= self.batch:
            if self.batch_told < self.batch:
                return None
            self.batch_asked = self.batch_told = 0
        if not self.script:
            return None
        self.batch_asked += 1
        return _vector(self.script.pop(0))

    def tell(self, config: Any, evaluation: Evaluation) -> None:  # type: ignore[override]
        self.batch_told += 1
        row = int(ENC.cell_index(config))
        self.told.append((row, evaluation.time))


def _scripted(script: list[int], batch: int | None = None) -> Scripted:
    opt = Scripted(ENC, seed=0)
    opt.script, opt.batch = list(script), batch
    return opt


def test_hand_checked_schedule_two_workers() -> None:
    """K = 2, budget 100; costs a30 b50 c10 d40 e25 f25 g30 h5 (rows 0..7):
    t0: w0 a(->30), w1 b(->50); t30 a done, w0 c(->40); t40 c done, w0 d(->80); t50 b done, w1 e(->75);
    t75 e done, w1 f(->100); t80 d done, w0 g(->110); t100 f done (exactly the budget: delivered), w1 h(->105);
    the next completion, h at 105, is after the budget: the run ends, g and h are cut (never told)."""
    costs = dict(enumerate([30.0, 50.0, 10.0, 40.0, 25.0, 25.0, 30.0, 5.0]))
    opt = _scripted(list(range(8)) + [8] * 10)
    sim = EventSimulation(opt, Oracle(_table(costs), ENC, 100.0, seed=0), 2, keep_log=True)
    tr = sim.run()
    assert tr.row.tolist() == [0, 2, 1, 4, 3, 5]
    assert tr.time.tolist() == [30.0, 40.0, 50.0, 75.0, 80.0, 100.0]
    assert tr.worker.tolist() == [0, 0, 1, 1, 0, 1]
    assert tr.start.tolist() == [0.0, 30.0, 0.0, 50.0, 40.0, 75.0]
    assert opt.told == [(0, 30.0), (2, 40.0), (1, 50.0), (4, 75.0), (3, 80.0), (5, 100.0)]
    assert (sim.dispatched, sim.delivered, sim.cut) == (8, 6, 2)
    starts = [(w, t, int(ENC.cell_index(r))) for e, w, t, r in sim.log if e == "start"]
    assert starts[-2:] == [(0, 80.0, 6), (1, 100.0, 7)]
    assert tr.time.max() <= 100.0


def test_ties_are_delivered_in_dispatch_order() -> None:
    """K = 3, every evaluation costs 10, budget 20: deliveries at 10 and at 20 in dispatch order, workers 0,1,2;
    the three evaluations started at 20 would end at 30 and are cut."""
    opt = _scripted(list(range(9)))
    sim = EventSimulation(opt, Oracle(_table(dict.fromkeys(range(9), 10.0)), ENC, 20.0, seed=0), 3)
    tr = sim.run()
    assert tr.row.tolist() == [0, 1, 2, 3, 4, 5]
    assert tr.worker.tolist() == [0, 1, 2, 0, 1, 2]
    assert tr.time.tolist() == [10.0] * 3 + [20.0] * 3
    assert (sim.dispatched, sim.cut) == (9, 3)


def test_workers_wait_when_the_optimizer_has_no_work() -> None:
    """K = 3, batches of 2 (costs a10 b20 c5 d5): w2 waits from t0; a's completion at 10 frees w0, which also
    waits; b at 20 completes the batch: w0 and w1 take c and d at 20 (lowest ids first), w2 still waits."""
    costs = {0: 10.0, 1: 20.0, 2: 5.0, 3: 5.0}
    opt = _scripted([0, 1, 2, 3], batch=2)
    sim = EventSimulation(opt, Oracle(_table(costs), ENC, 1000.0, seed=0), 3, keep_log=True)
    with pytest.raises(OptimizerError, match="no work while no evaluation is running"):
        sim.run()  # the script runs dry: nothing left to run, nothing running
    starts = [(w, t, int(ENC.cell_index(r))) for e, w, t, r in sim.log if e == "start"]
    assert starts == [(0, 0.0, 0), (1, 0.0, 1), (0, 20.0, 2), (1, 20.0, 3)]
    assert opt.told == [(0, 10.0), (1, 20.0), (2, 25.0), (3, 25.0)]


def test_incumbent_follows_completion_order() -> None:
    """The better cell (row 0) is asked first but completes last: the incumbent changes only then."""
    costs, accs = {0: 50.0, 1: 10.0}, {0: 0.9, 1: 0.6}
    opt = _scripted([0, 1])
    oracle = Oracle(_table(costs, accs), ENC, 100.0, seed=0)
    with pytest.raises(OptimizerError):
        EventSimulation(opt, oracle, 2).run()
    tr = oracle.trajectory()
    assert tr.row.tolist() == [1, 0] and tr.incumbent.tolist() == [1, 0]


def test_max_evaluations_caps_delivered_evaluations(toy: Table) -> None:
    sim = EventSimulation(get_optimizer("rs")(ENC, seed=1), Oracle(toy, ENC, 1e9, seed=1, max_evaluations=7), 4)
    tr = sim.run()
    assert len(tr) == 7 and sim.delivered == 7 and sim.dispatched == sim.delivered + sim.cut


# -- every built-in with K = 4 ----------------------------------------------------------------------------
class Ledger:
    """Wraps an optimizer: records every ask and every tell (by object identity)."""

    def __init__(self, inner: Optimizer) -> None:
        self.inner = inner
        self.asked: list[int] = []
        self.told: list[int] = []
        self.keep: list[Any] = []  # keeps asked objects alive so their ids stay unique

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def ask(self) -> Any:
        req = self.inner.ask()
        if req is not None:
            self.asked.append(id(req))
            self.keep.append(req)
        return req

    def tell(self, req: Any, ev: Evaluation) -> None:
        self.told.append(id(req))
        self.inner.tell(req, ev)


PARALLEL_NAMES = sorted(BUILTINS) + ["lce:re", "lce:tpe", "lce:bananas", "lce:de"]


@pytest.mark.parametrize("name", PARALLEL_NAMES)
def test_every_builtin_runs_with_four_workers_deterministically(toy: Table, name: str) -> None:
    """K = 4: deterministic per seed, every evaluation told exactly once or cut by the budget, never beyond it;
    completions in time order; at most 4 evaluations overlap at any time."""
    budget = 2e4
    runs = []
    for _ in range(2):
        ledger = Ledger(get_optimizer(name)(ENC, seed=3))
        sim = EventSimulation(ledger, Oracle(toy, ENC, budget, seed=3), 4)
        runs.append((sim.run(), sim, ledger))
    (a, sim, ledger), (b, _, _) = runs
    assert _same(a, b) and np.array_equal(a.worker, b.worker) and np.array_equal(a.start, b.start)
    assert len(a) > 4 and a.time[-1] <= budget and (np.diff(a.time) >= 0).all()
    assert len(set(ledger.told)) == len(ledger.told) == sim.delivered  # nothing delivered twice
    assert set(ledger.told) <= set(ledger.asked) and len(ledger.asked) == sim.dispatched
    assert sim.dispatched == sim.delivered + sim.cut and sim.cut <= 4  # nothing lost: told or cut
    # at any start time at most 4 evaluations are running; a worker never runs two at once
    for w in range(4):
        mine = np.flatnonzero(a.worker == w)
        assert (a.start[mine][1:] >= a.time[mine][:-1]).all()
    events = sorted([(t, 1) for t in a.start] + [(t, -1) for t in a.time])
    assert max(np.cumsum([d for _, d in events])) <= 4
    assert set(a.worker.tolist()) == {0, 1, 2, 3}


def test_parallel_runs_are_faster_in_simulated_time(toy: Table) -> None:
    """More workers spend more training time in the same wall-clock budget: RS with K = 8 performs about 8x the
    evaluations of K = 1."""
    n = {k: len(run_parallel(get_optimizer("rs")(ENC, seed=2), Oracle(toy, ENC, 5e4, seed=2), k)) for k in (1, 8)}
    assert 6 * n[1] < n[8] < 9 * n[1]


# -- hpbandster's own master with K workers ----------------------------------------------------------------
class _Cond:
    """Stands in for the master's threading.Condition: waiting delivers the next completion (simulated time)."""

    def __init__(self, harness: _Harness) -> None:
        self.h = harness

    def acquire(self) -> None: ...
    def release(self) -> None: ...
    def notify(self) -> None: ...
    def notify_all(self) -> None: ...

    def __enter__(self) -> _Cond:
        return self

    def __exit__(self, *exc: object) -> None: ...

    def wait(self) -> None:
        self.h.deliver_next()


class _Stop(Exception):
    pass


class _Harness:
    """hpbandster's ``Master.run`` / ``job_callback`` / ``_queue_wait`` code itself, with K simulated workers.

    Only the Pyro dispatcher is replaced: a submitted job draws its evaluation from the oracle at once (the
    oracle's start half) and completes after its recorded time; waiting on the condition delivers the earliest
    completion (ties: submission order) through the library's own ``job_callback``."""

    def __init__(self, config_generator: Any, budgets: list[float], eta: float, workers: int, oracle: Oracle) -> None:
        from hpbandster.core.master import Master
        from hpbandster.optimizers.hyperband import HyperBand

        self._run, self._callback = Master.run, Master.job_callback
        self._queue_wait_f, self._active = Master._queue_wait, Master.active_iterations
        self._next_iteration = HyperBand.get_next_iteration
        self.config_generator, self.eta = config_generator, eta
        self.budgets = np.asarray(budgets)
        self.max_SH_iter = len(budgets)
        self.iterations: list[Any] = []
        self.num_running_jobs = 0
        self.job_queue_sizes = (workers - 1, workers)  # Master's dynamic queue sizes for K workers
        self.thread_cond = _Cond(self)
        self.logger = logging.getLogger("hpbandster-harness")
        self.result_logger = None
        self.time_ref, self.config, self.warmstart_iteration = 0.0, {}, []
        self.oracle = oracle
        self.heap: list[Any] = []
        self.now, self.seq = 0.0, 0
        self.started: list[tuple[dict[str, Any], int, float]] = []

    def wait_for_workers(self, n: int) -> None: ...
    def _queue_wait(self) -> None:
        self._queue_wait_f(self)

    def active_iterations(self) -> list[int]:
        return self._active(self)

    def get_next_iteration(self, iteration: int, kwargs: dict[str, Any]) -> Any:
        return self._next_iteration(self, iteration, kwargs)

    def job_callback(self, job: Any) -> None:
        self._callback(self, job)

    def _submit_job(self, config_id: Any, config: dict[str, Any], budget: float) -> None:
        from hpbandster.core.dispatcher import Job

        self.num_running_jobs += 1
        cell = ENC.cell_index(ENC.to_vector(config))
        p = self.oracle.start_evaluation(cell, int(budget))
        job = Job(config_id, config=config, budget=budget, working_directory=".")
        job.result = {"loss": 1.0 - p.val, "info": {}}
        self.started.append((dict(config), int(budget), self.now))
        heapq.heappush(self.heap, (self.now + p.cost, self.seq, job))
        self.seq += 1

    def deliver_next(self) -> None:
        end, _, job = heapq.heappop(self.heap)
        if end > self.oracle.time_budget:
            raise _Stop
        self.now = end
        self.job_callback(job)

    def run(self) -> None:
        try:
            self._run(self, n_iterations=10**9)
        except _Stop:
            pass


@pytest.mark.parametrize("name", ["hb", "bohb"])
@pytest.mark.parametrize("workers", [3, 8])
def test_hb_bohb_dispatch_like_hpbandsters_master(toy: Table, name: str, workers: int) -> None:
    """Same configurations, budgets and start times, in the same order, as hpbandster's own Master.run with K
    workers (its code, driven on the simulated clock), until the budget ends the run."""
    from optimizers._hpbandster import library_warnings_silenced, rung_budgets, seeded_global_numpy

    budget = 2e4
    opt = get_optimizer(name)(ENC, seed=4)
    sim = EventSimulation(opt, Oracle(toy, ENC, budget, seed=4), workers, keep_log=True)
    sim.run()
    ours = [(dict(r.config), r.fidelity.budget, t) for e, _, t, r in sim.log if e == "start"]

    ref_opt = get_optimizer(name)(ENC, seed=4)
    budgets = [float(b) for b in rung_budgets(toy.budgets, name)]
    with seeded_global_numpy(4), library_warnings_silenced():
        # the library's own generator (BOHB: hpbandster's KDEs, not the exact re-implementation the optimizer uses)
        generator = getattr(ref_opt, "library_config_generator", ref_opt.config_generator)()
        harness = _Harness(generator, budgets, float(ref_opt.hp["eta"]), workers,
                           Oracle(toy, ENC, budget, seed=4))
        harness.run()
    assert len(ours) > 3 * workers
    assert [b for _, b, _ in ours] == [b for _, b, _ in harness.started]
    assert [t for _, _, t in ours] == [t for _, _, t in harness.started]
    assert [c for c, _, _ in ours] == [c for c, _, _ in harness.started]


# -- executors ---------------------------------------------------------------------------------------------
def test_parallel_runs_identical_across_executors(tmp_path: Path) -> None:
    exp = _experiment(4, ("rs", "re", "reinforce", "hb"), "0-1")
    inline = run_experiment(exp, tmp_path / "inline", executor="inline", progress=False)
    process = run_experiment(exp, tmp_path / "process", executor="process", jobs=2, progress=False)
    assert (inline.done, process.done, inline.failed, process.failed) == (8, 8, 0, 0)
    ref = load_results(tmp_path / "inline")
    assert set(ref["optimizer"]) == {"rs@K4", "re@K4", "reinforce@K4", "hb@K4"}
    assert set(ref["worker"]) == {0, 1, 2, 3} and (ref["workers"] == 4).all()
    pd.testing.assert_frame_equal(load_results(tmp_path / "process"), ref)


# -- analysis and plots -----------------------------------------------------------------------------------
def _curves() -> pd.DataFrame:
    """Hand-made mean curves: with K workers the regret 0.4 -> 0.1 steps at t = 8/K (K = 1, 2, 8)."""
    rows = []
    for name, k in (("re", 1), ("re@K2", 2), ("re@K8", 8)):
        for t in (1.0, 2.0, 4.0, 8.0):
            rows.append({"benchmark": "b", "optimizer": name, "time": t, "n_runs": 3,
                         "mean": 0.1 if t >= 8.0 / k else 0.4})
    return pd.DataFrame(rows)


def test_speedup_table_by_hand() -> None:
    from nasbench_bench import analysis as A

    assert A.split_workers("re@K8") == ("re", 8) and A.split_workers("re-abc@K2") == ("re-abc", 2)
    assert A.split_workers("re") == ("re", 1) and A.split_workers("a@Kx") == ("a@Kx", 1)
    w = A.workers_curves(_curves())
    assert A.has_several_workers(_curves()) and not A.has_several_workers(_curves().query("optimizer == 're'"))
    s = A.speedup_table(w).set_index("workers")
    assert (s["target"] == 0.1).all()  # K = 1's final mean
    assert s["time_to_reach"].tolist() == [8.0, 4.0, 1.0]
    assert s["speedup"].tolist() == [1.0, 2.0, 8.0]
    s2 = A.speedup_table(w, {("b", "re"): 0.05})
    assert s2["time_to_reach"].isna().all()


def test_workers_figure_draws_one_panel_per_optimizer_and_the_speedup(tmp_path: Path) -> None:
    from nasbench_bench import analysis as A
    from nasbench_bench import plots

    w = A.workers_curves(_curves())
    fig = plots.workers_figure(w, A.speedup_table(w), "t", synthetic=True)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2 and len(visible[0].get_lines()) == 3
    assert list(visible[1].get_lines()[0].get_ydata()) == [1.0, 2.0, 8.0]
    paths = plots.plot_workers(w, A.speedup_table(w), "t", tmp_path / "x")
    assert all(p.exists() for p in paths)


@pytest.mark.slow
def test_parallel_runs_identical_under_dask(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    exp = _experiment(4, ("rs", "re", "tpe"), "0-1")
    run_experiment(exp, tmp_path / "inline", executor="inline", progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        s = run_experiment(exp, tmp_path / "dask", executor="dask", scheduler=client, progress=False)
    assert (s.done, s.failed) == (6, 0)
    pd.testing.assert_frame_equal(load_results(tmp_path / "dask"), load_results(tmp_path / "inline"))


def test_mixed_workers_results_load_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """K = 1 and K = 3 runs in one results directory: separate display names, filled columns, the workers plot."""
    from nasbench_bench.cli import main

    for k in (1, 3):
        run_experiment(_experiment(k, ("rs",), "0-1"), tmp_path, executor="inline", progress=False)
    df = load_results(tmp_path)
    assert set(df["optimizer"]) == {"rs", "rs@K3"}
    one = df[df["optimizer"] == "rs"]
    assert (one["workers"] == 1).all() and (one["worker"] == 0).all() and (one["end"] == one["time"]).all()
    three = df[df["optimizer"] == "rs@K3"]
    assert (three["workers"] == 3).all() and set(three["worker"]) == {0, 1, 2}
    assert main(["plot", str(tmp_path)]) == 0
    assert (tmp_path / "plots" / "toy_workers.png").exists()
    assert "toy_workers.png" in capsys.readouterr().out


def test_asha_halfway_rungs_with_workers_resume_the_same_run(nb101_full_table: Table) -> None:
    """NB101 halfway rungs through the event loop: K = 1 is run() exactly; with K = 4 every full-rung evaluation
    continues a paused run of the same cell and trial, charged (end - start) exactly its full minus halfway time."""
    table = nb101_full_table
    enc = RowEncoding(table.cell_ids)
    seq = run_optimizer(get_optimizer("asha")(enc, seed=1, eta=2, halfway=True), Oracle(table, enc, 3e5, seed=1))
    one = run_parallel(get_optimizer("asha")(enc, seed=1, eta=2, halfway=True), Oracle(table, enc, 3e5, seed=1), 1)
    assert _same(seq, one)
    tr = run_parallel(get_optimizer("asha")(enc, seed=1, eta=2, halfway=True), Oracle(table, enc, 3e5, seed=1), 4)
    resumed = check_halfway_resumes(table, tr, tr.time - tr.start)
    assert resumed >= 10 and set(tr.worker.tolist()) == {0, 1, 2, 3}


class PlainAskTell(Optimizer):
    """A user ask/tell optimizer that does not declare pending_asks: greedy mutation of the best so far."""

    name = "plain"

    def setup(self) -> None:
        self.best: np.ndarray | None = None
        self.best_acc = -1.0

    def ask(self) -> np.ndarray:
        if self.best is None:
            return self.encoding.sample(self.rng)
        child = self.best.copy()
        i = int(self.rng.integers(self.encoding.dim))
        child[i] = self.encoding.sample(self.rng)[i]
        return child

    def tell(self, config: Any, evaluation: Evaluation) -> None:  # type: ignore[override]
        if evaluation.valid and evaluation.valid_acc > self.best_acc:
            self.best, self.best_acc = np.asarray(config), evaluation.valid_acc


def test_optimizer_without_pending_asks_runs_one_evaluation_at_a_time(toy: Table,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Without ``pending_asks`` the K workers run one evaluation at a time: the sequential run, on worker 0."""
    seq = run_optimizer(PlainAskTell(ENC, seed=1), Oracle(toy, ENC, 2e4, seed=1))
    with caplog.at_level(logging.WARNING, logger="nasbench_bench.simulator"):
        par = run_parallel(PlainAskTell(ENC, seed=1), Oracle(toy, ENC, 2e4, seed=1), 4)
    assert _same(seq, par) and (par.worker == 0).all()
    assert "does not declare pending_asks" in caplog.text


def test_a_bad_configuration_from_ask_is_an_optimizer_error(toy: Table) -> None:
    class Bad(PlainAskTell):
        pending_asks = True

        def ask(self) -> np.ndarray:
            return np.full(ENC.dim, 99.0)

    with pytest.raises(OptimizerError, match="ask\\(\\) returned a configuration that"):
        run_parallel(Bad(ENC, seed=0), Oracle(toy, ENC, 1e4, seed=0), 2)


def test_lce_on_nb101_halfway_with_workers(nb101_full_table: Table) -> None:
    """lce:re screens at NB101's halfway point and continues the same run: K = 1 is run() exactly; with K = 4
    every top-budget result continues a paused halfway run (charged full minus halfway)."""
    table = nb101_full_table
    enc = RowEncoding(table.cell_ids)

    def make() -> Optimizer:
        return get_optimizer("lce:re")(enc, seed=0, population_size=10, tournament_size=3)

    seq = run_optimizer(make(), Oracle(table, enc, 2e5, seed=0))
    assert _same(seq, run_parallel(make(), Oracle(table, enc, 2e5, seed=0), 1))
    tr = run_parallel(make(), Oracle(table, enc, 2e5, seed=0), 4)
    top = np.flatnonzero(tr.budget == 108)
    assert len(top) >= 5 and (tr.budget[tr.row >= 0] != 108).sum() >= len(top)
    b = table.budget_index(108)
    for i in top:
        r, t = int(tr.row[i]), int(tr.trial[i])
        full, half = table.train_time[r, b, t], table.halfway_train_time[r, b, t]
        assert tr.time[i] - tr.start[i] == pytest.approx(full - half, abs=1e-6)


@pytest.mark.parametrize("workers", [4, 16])
def test_tpe_parallel_form_equals_hyperopts_own_pending_trials(toy: Table, workers: int) -> None:
    """TPE's parallel form (ExactTPE with pending trials at +inf) makes exactly the suggestions hyperopt's own
    tpe.suggest makes on a Trials object holding the pending (NEW) documents."""
    from optimizers.tpe import TPE, HyperoptTPE

    budget = 2e4
    exact = EventSimulation(TPE(ENC, seed=6), Oracle(toy, ENC, budget, seed=6), workers)
    a = exact.run()
    b = run_parallel(HyperoptTPE(ENC, seed=6), Oracle(toy, ENC, budget, seed=6), workers)
    assert exact.delivered > 25 + workers  # well past hyperopt's 20 random start-up trials, with pending ones
    assert _same(a, b) and np.array_equal(a.worker, b.worker)


def test_smac_parallel_form_fast_components_equal_smacs_own(toy: Table) -> None:
    """SMAC with pending trials (K = 4): the suite's fast components make the same decisions as SMAC's stock ones."""
    from optimizers.smac import SMAC

    class StockSMAC(SMAC):
        library_components = True

    a = run_parallel(SMAC(ENC, seed=2), Oracle(toy, ENC, 1.5e4, seed=2), 4)
    b = run_parallel(StockSMAC(ENC, seed=2), Oracle(toy, ENC, 1.5e4, seed=2), 4)
    assert len(a) > 30 and _same(a, b) and np.array_equal(a.worker, b.worker)
