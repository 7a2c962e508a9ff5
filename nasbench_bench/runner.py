"""Run an experiment's runs (resumable, crash-isolated, identical results under every executor).

Each run is one job, :func:`execute_job`, which resolves table, encoding and optimizer *in the worker*
(tables are memoised per process), runs the optimizer against the oracle and writes the run's file (see
:mod:`nasbench_bench.results`). Seeds depend on the run's seed only: ``SeedSequence(seed).spawn(2)`` gives
the oracle's stream (the SeedSequence itself) and the optimizer's (a 31-bit int drawn from the second),
so the results do not depend on the executor, the number of jobs or the order.

Executors: ``"inline"`` (this process), ``"process"`` (a ``spawn`` ProcessPoolExecutor whose workers start
with ``PYTHONHASHSEED=6640``, the value dask's nanny sets, so optimizers with
``Optimizer.needs_fixed_hashseed`` such as SMAC give the same results under both) and ``"dask"`` (a
``dask.distributed`` Client on ``scheduler``; with none, a LocalCluster of ``jobs`` workers). Inline jobs of
such optimizers run in a spawned subprocess unless this process already has ``PYTHONHASHSEED=6640``.

Resume and concurrency: finished runs are skipped. Before running, a job takes the lock file
``.seed-NNNNN.lock`` beside its result (:mod:`nasbench_bench.locks`, recording the owning command too); a lock
is broken when, on this host, its process or its owning command is dead (e.g. after ``kill -9``), so an
interrupted experiment resumes by running the same command again. A run whose lock is held by a live process
is reported as ``busy`` and left to that process.

A run that raises is recorded as ``seed-NNNNN.failed.json`` with its traceback and does not stop the rest.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_bench.benchmarks import data_path, synthetic_benchmarks
from nasbench_bench.experiment import Experiment, Run, experiment_dict
from nasbench_bench.locks import acquire_lock, release_lock, this_process
from nasbench_bench.paths import atomic_write_bytes
from nasbench_bench.results import RunId, run_metadata

__all__ = ["EXECUTORS", "HASHSEED", "Job", "Outcome", "RunSummary", "execute_job", "run_experiment"]

log = logging.getLogger(__name__)

#: PYTHONHASHSEED of local workers: what dask's nanny sets in its workers.
HASHSEED = "6640"
EXECUTORS = ("process", "dask", "inline")
_STARTUP_HASHSEED = os.environ.get("PYTHONHASHSEED")
_MAX_POOL_RESTARTS = 3


# -- jobs ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """One run to perform into results directory ``out_dir`` for the command ``owner`` (pid, host, start)."""

    run: Run
    out_dir: str
    owner: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What became of a job: ``done``, ``failed``, ``skipped`` (finished elsewhere) or ``busy`` (locked)."""

    run_id: RunId
    status: str
    wall_s: float = 0.0
    n_evals: int = 0
    synthetic: bool | None = None
    error: str = ""
    path: str = ""


def derive_seeds(seed: int) -> tuple[np.random.SeedSequence, int]:
    """(oracle SeedSequence, optimizer int seed) of run ``seed``: independent streams, from the seed only."""
    oracle_ss, opt_ss = np.random.SeedSequence(int(seed)).spawn(2)
    return oracle_ss, int(opt_ss.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)


def execute_job(job: Job) -> Outcome:
    """Perform one run: lock, run, write the result (or the failure record), unlock. Never raises for a
    failing optimizer or table; the failure is recorded and returned."""
    run_id = job.run.id
    paths = run_id.paths(job.out_dir)
    if paths.result.exists():
        return Outcome(run_id, "skipped", path=str(paths.result))
    token = acquire_lock(paths.lock, job.owner)
    if token is None:
        return Outcome(run_id, "busy", path=str(paths.lock))
    try:
        if paths.result.exists():  # finished by another command while we were looking
            return Outcome(run_id, "skipped", path=str(paths.result))
        return _run_locked(job.run, paths.result, paths.failed)
    finally:
        release_lock(paths.lock, token)


def _run_locked(run: Run, result: Path, failed: Path) -> Outcome:
    from nasbench_bench.benchmarks import load_benchmark
    from nasbench_bench.encodings import get_encoding
    from nasbench_bench.optimizer import get_optimizer, run_optimizer
    from nasbench_bench.oracle import Oracle
    from nasbench_bench.results import trajectory_table, write_failure, write_run

    t0 = time.perf_counter()
    hashseed = _STARTUP_HASHSEED if not sys.flags.ignore_environment else None
    meta: dict[str, Any] = {**run_metadata(run), "pythonhashseed": hashseed, "host": socket.gethostname()}
    synthetic: bool | None = None
    try:
        table = load_benchmark(run.id.benchmark, run.data)
        synthetic = bool(table.synthetic)
        meta.update(table=table.name, synthetic=synthetic, score_metric=table.score_metric,
                    best_score=table.best_score, derived=list(table.derived))
        encoding = get_encoding(run.encoding)
        cls = get_optimizer(run.optimizer.path)
        if cls.needs_fixed_hashseed and hashseed != HASHSEED:
            log.warning("%s: %s needs PYTHONHASHSEED=%s for reproducible results but this worker has %s",
                        run.id, run.optimizer.name, HASHSEED, hashseed)
        oracle_ss, opt_seed = derive_seeds(run.id.seed)
        meta.update(oracle_seed=f"SeedSequence({run.id.seed}).spawn(2)[0]", optimizer_seed=opt_seed)
        oracle = Oracle(table, encoding, run.time_budget, seed=oracle_ss, max_evaluations=run.max_evaluations)
        optimizer = cls(encoding, seed=opt_seed, **dict(run.optimizer.hyperparameters))
        meta["hyperparameters"] = dict(optimizer.hp)
        traj = run_optimizer(optimizer, oracle)
        data = trajectory_table(traj, table, run.id)
        n = len(traj)
        meta.update(
            status="done", n_evals=n, final_time=float(traj.time[-1]) if n else 0.0,
            final_regret=float(traj.regret[-1]) if n else float("nan"),
            wall_s=round(time.perf_counter() - t0, 3), finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        write_run(result, data, meta)
    except Exception as exc:
        tb = traceback.format_exc()
        error = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        log.error("run %s failed: %s", run.id, error)
        meta.update(status="failed", error=error, traceback=tb, wall_s=round(time.perf_counter() - t0, 3),
                    finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        try:
            write_failure(failed, meta)
        except Exception:  # the failure of the failure record must not hide the run's error
            log.exception("could not write the failure record %s", failed)
        return Outcome(run.id, "failed", meta["wall_s"], 0, synthetic, error, str(failed))
    failed.unlink(missing_ok=True)
    return Outcome(run.id, "done", meta["wall_s"], meta["n_evals"], synthetic, "", str(result))


# -- executors --------------------------------------------------------------------------------------------
def _hashseed_fixed_here() -> bool:
    return not sys.flags.ignore_environment and _STARTUP_HASHSEED == HASHSEED


@contextlib.contextmanager
def _worker_env() -> Iterator[None]:
    """PYTHONHASHSEED=6640 in the environment that spawned workers inherit (they start lazily, on submit,
    so keep this active for the pool's whole life). ``spawn`` also gives workers this process's sys.path."""
    saved = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = HASHSEED
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = saved


def _spawn_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def _run_pool(jobs: Sequence[Job], workers: int, report: Callable[[Outcome], None]) -> None:
    """Run ``jobs`` on spawned worker processes; a dead worker's jobs are retried in a fresh pool."""
    pending = list(jobs)
    for attempt in range(_MAX_POOL_RESTARTS + 1):
        if not pending:
            return
        broken: list[Job] = []
        with _worker_env():
            _run_pool_once(pending, workers, report, broken)
        pending = sorted(broken, key=lambda j: j.run.id)
        if pending and attempt < _MAX_POOL_RESTARTS:
            log.warning("a worker process died; retrying %d run(s) in a fresh pool", len(pending))
    for job in pending:
        report(_failed_outside(job, RuntimeError("the worker process died while running this run (crash, "
                                                 f"OOM kill?) {_MAX_POOL_RESTARTS + 1} times")))


def _run_pool_once(pending: Sequence[Job], workers: int, report: Callable[[Outcome], None], broken: list[Job]
                   ) -> None:
    pool = _spawn_pool(min(workers, len(pending)))
    try:
        futures: dict[Future[Outcome], Job] = {pool.submit(execute_job, j): j for j in pending}
        todo = set(futures)
        while todo:
            finished, todo = wait(todo, return_when=FIRST_COMPLETED)
            for fut in finished:
                try:
                    report(fut.result())
                except BrokenProcessPool:
                    broken.append(futures[fut])
                except Exception as exc:  # e.g. unpicklable result: record, go on
                    report(_failed_outside(futures[fut], exc))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _failed_outside(job: Job, exc: BaseException) -> Outcome:
    """Record a run that failed outside :func:`execute_job` (its worker died)."""
    from nasbench_bench.results import write_failure

    paths = job.run.id.paths(job.out_dir)
    error = f"{type(exc).__name__}: {exc}"
    if not paths.result.exists():
        with contextlib.suppress(OSError):
            write_failure(paths.failed, {**run_metadata(job.run), "error": error,
                                         "traceback": "".join(traceback.format_exception(exc))})
    return Outcome(job.run.id, "failed", error=error, path=str(paths.failed))


def _run_inline(jobs: Sequence[Job], report: Callable[[Outcome], None]) -> None:
    side = [j for j in jobs if j.run.optimizer.needs_fixed_hashseed and not _hashseed_fixed_here()]
    here = [j for j in jobs if not (j.run.optimizer.needs_fixed_hashseed and not _hashseed_fixed_here())]
    if side:
        log.info("running %d run(s) in a subprocess with PYTHONHASHSEED=%s (this process has %s)",
                 len(side), HASHSEED, _STARTUP_HASHSEED)
    pool: ProcessPoolExecutor | None = None
    futures: list[tuple[Future[Outcome], Job]] = []
    with contextlib.ExitStack() as stack:
        if side:
            stack.enter_context(_worker_env())
            pool = _spawn_pool(1)
            futures = [(pool.submit(execute_job, j), j) for j in side]
        _inline_loop(here, futures, pool, report)


def _inline_loop(here: Sequence[Job], futures: Sequence[tuple[Future[Outcome], Job]],
                 pool: ProcessPoolExecutor | None, report: Callable[[Outcome], None]) -> None:
    try:
        for job in here:
            report(execute_job(job))
        for fut, job in futures:
            try:
                report(fut.result())
            except Exception as exc:  # a dead subprocess: record, go on
                report(_failed_outside(job, exc))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(jobs: Sequence[Job], workers: int, scheduler: Any, report: Callable[[Outcome], None]) -> None:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
        client = Client(cluster)
    elif isinstance(scheduler, Client):
        client = scheduler
    else:
        client = Client(scheduler)  # an address or a cluster object
    try:
        futures = {}
        for j in jobs:
            fut = client.submit(execute_job, j, pure=False, key=f"nasbench-run-{j.run.id}-{uuid.uuid4().hex[:8]}")
            futures[fut] = j
        for fut in as_completed(list(futures)):
            try:
                report(fut.result())
            except Exception as exc:  # KilledWorker etc.: record, go on
                report(_failed_outside(futures[fut], exc))
    finally:
        if client is not scheduler:
            client.close()
        if cluster is not None:
            cluster.close()


# -- the experiment ----------------------------------------------------------------------------------------
@dataclass
class RunSummary:
    """What :func:`run_experiment` did."""

    experiment: str
    out_dir: Path
    total: int = 0  # runs in the experiment
    done: int = 0  # performed now
    skipped: int = 0  # already finished (before or by another command meanwhile)
    failed: int = 0
    busy: int = 0  # locked by another live process
    synthetic: list[str] = field(default_factory=list)  # benchmarks whose tables are synthetic
    failures: list[tuple[str, str]] = field(default_factory=list)  # (run id, error)
    wall_s: float = 0.0

    @property
    def complete(self) -> bool:
        """Every run of the experiment has a finished result."""
        return self.done + self.skipped == self.total

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        return d


def run_experiment(
    experiment: Experiment,
    out_dir: str | os.PathLike[str],
    jobs: int = 1,
    executor: str = "process",
    scheduler: Any = None,
    progress: bool = True,
) -> RunSummary:
    """Run every unfinished run of ``experiment`` into results directory ``out_dir``; return a summary.

    ``executor``: ``"process"`` (``jobs`` spawned workers), ``"dask"`` (``scheduler``: address, Client or
    cluster; None = a LocalCluster of ``jobs`` workers) or ``"inline"``. Run failures are recorded, not
    raised; configuration errors (bad hyperparameters, missing NB101 data) raise before anything runs.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = experiment.data
    for b in experiment.benchmarks:  # fail now, with the how-to, not in 500 workers
        path = data_path(b, data)
        if path is not None:
            data = str(path)
    atomic_write_bytes(out / "experiments" / f"{experiment.name}.json",
                       json.dumps(experiment_dict(experiment), indent=1).encode())

    summary = RunSummary(experiment.name, out, total=experiment.n_runs)
    summary.synthetic = [b for b in experiment.benchmarks if b in synthetic_benchmarks()]
    owner = this_process()
    todo: list[Job] = []
    for run in experiment.runs(data):
        if run.id.paths(out).result.exists():
            summary.skipped += 1
            continue
        todo.append(Job(run, str(out), owner))
    log.info("experiment %s: %d runs, %d already finished, %d to run (%s, jobs=%d) into %s",
             experiment.name, summary.total, summary.skipped, len(todo), executor, jobs, out)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), disable=not progress or not todo, unit="run", desc=experiment.name,
               dynamic_ncols=True, smoothing=0.05)

    def report(o: Outcome) -> None:
        if o.status == "done":
            summary.done += 1
        elif o.status == "skipped":
            summary.skipped += 1
        elif o.status == "busy":
            summary.busy += 1
        else:
            summary.failed += 1
            summary.failures.append((str(o.run_id), o.error))
        if o.synthetic and o.run_id.benchmark not in summary.synthetic:
            summary.synthetic.append(o.run_id.benchmark)
        bar.update(1)
        bar.set_postfix(done=summary.done, failed=summary.failed, busy=summary.busy, refresh=False)

    try:
        if todo:
            if executor == "inline":
                _run_inline(todo, report)
            elif executor == "process":
                _run_pool(todo, jobs, report)
            else:
                _run_dask(todo, jobs, scheduler, report)
    finally:
        bar.close()
    summary.failures.sort()
    summary.wall_s = round(time.perf_counter() - t0, 3)
    log.info("experiment %s: %d done, %d skipped, %d failed, %d busy in %.1f s", experiment.name,
             summary.done, summary.skipped, summary.failed, summary.busy, summary.wall_s)
    return summary
