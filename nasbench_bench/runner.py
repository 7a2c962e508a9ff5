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
``.seed-NNNNN.lock`` beside its result with ``O_CREAT|O_EXCL``, recording pid, host, process start time
and the owning command's pid; a lock is broken when, on this host, its process or its owning command is
dead (e.g. after ``kill -9``), so an interrupted experiment resumes by running the same command again.
Locks from other hosts are never broken automatically (the log says which file to delete). A run whose
lock is held by a live process is reported as ``busy`` and left to that process.

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

from nasbench_bench.benchmarks import SYNTHETIC_BENCHMARKS, nb101_data_path
from nasbench_bench.experiment import Experiment, ExperimentError, experiment_dict
from nasbench_bench.paths import atomic_write_bytes
from nasbench_bench.results import run_paths

__all__ = ["EXECUTORS", "HASHSEED", "Job", "Outcome", "RunSummary", "execute_job", "run_experiment"]

log = logging.getLogger(__name__)

#: PYTHONHASHSEED of local workers: what dask's nanny sets in its workers.
HASHSEED = "6640"
EXECUTORS = ("process", "dask", "inline")
_STARTUP_HASHSEED = os.environ.get("PYTHONHASHSEED")
_MAX_POOL_RESTARTS = 3
_UNREADABLE_LOCK_GRACE_S = 30.0


# -- jobs ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """Everything a worker needs to perform one run (plain data, cheap to ship)."""

    out_dir: str
    benchmark: str
    data: str | None
    optimizer: str  # registry name or module:Class, as in the experiment
    optimizer_path: str  # what the worker imports (module:Class when resolvable here, else the name)
    label: str
    hyperparameters: Mapping[str, Any]
    encoding: str
    time_budget: float
    max_evaluations: int | None
    seed: int
    settings: Mapping[str, Any]
    settings_hash: str
    needs_fixed_hashseed: bool = False
    owner: Mapping[str, Any] = field(default_factory=dict)  # the submitting command: pid, host, start

    @property
    def run_id(self) -> str:
        return f"{self.benchmark}/{self.label}-{self.settings_hash}/seed-{self.seed:05d}"


@dataclass(frozen=True)
class Outcome:
    """What became of a job: ``done``, ``failed``, ``skipped`` (finished elsewhere) or ``busy`` (locked)."""

    run_id: str
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


def _suite_version() -> str:
    from nasbench_bench import __version__

    return __version__


def execute_job(job: Job) -> Outcome:
    """Perform one run: lock, run, write the result (or the failure record), unlock. Never raises for a
    failing optimizer or table; the failure is recorded and returned."""
    paths = run_paths(job.out_dir, job.benchmark, job.label, job.settings_hash, job.seed)
    if paths.result.exists():
        return Outcome(job.run_id, "skipped", path=str(paths.result))
    token = acquire_lock(paths.lock, job.owner)
    if token is None:
        return Outcome(job.run_id, "busy", path=str(paths.lock))
    try:
        if paths.result.exists():  # finished by another command while we were looking
            return Outcome(job.run_id, "skipped", path=str(paths.result))
        return _run_locked(job, paths.result, paths.failed)
    finally:
        release_lock(paths.lock, token)


def _run_locked(job: Job, result: Path, failed: Path) -> Outcome:
    from nasbench_bench.benchmarks import load_benchmark
    from nasbench_bench.encodings import get_encoding
    from nasbench_bench.optimizer import get_optimizer, run_optimizer
    from nasbench_bench.oracle import Oracle
    from nasbench_bench.results import trajectory_table, write_failure, write_run

    t0 = time.perf_counter()
    hashseed = _STARTUP_HASHSEED if not sys.flags.ignore_environment else None
    meta: dict[str, Any] = {
        "benchmark": job.benchmark,
        "optimizer": job.label,
        "optimizer_name": job.optimizer,
        "optimizer_path": job.optimizer_path,
        "settings": json.dumps(dict(job.settings), sort_keys=True),
        "settings_hash": job.settings_hash,
        "encoding": job.encoding,
        "time_budget": job.time_budget,
        "max_evaluations": job.max_evaluations,
        "seed": job.seed,
        "suite_version": _suite_version(),
        "pythonhashseed": hashseed,
        "host": socket.gethostname(),
    }
    synthetic: bool | None = None
    try:
        table = load_benchmark(job.benchmark, job.data)
        synthetic = bool(table.synthetic)
        meta.update(table=table.name, synthetic=synthetic, score_metric=table.score_metric,
                    best_score=table.best_score)
        encoding = get_encoding(job.encoding)
        cls = get_optimizer(job.optimizer_path)
        meta["optimizer_path"] = f"{cls.__module__}:{cls.__qualname__}"
        if cls.needs_fixed_hashseed and hashseed != HASHSEED:
            log.warning("%s: %s needs PYTHONHASHSEED=%s for reproducible results but this worker has %s",
                        job.run_id, job.optimizer, HASHSEED, hashseed)
        oracle_ss, opt_seed = derive_seeds(job.seed)
        meta.update(oracle_seed=f"SeedSequence({job.seed}).spawn(2)[0]", optimizer_seed=opt_seed)
        oracle = Oracle(table, encoding, job.time_budget, seed=oracle_ss, max_evaluations=job.max_evaluations)
        optimizer = cls(encoding, seed=opt_seed, **dict(job.hyperparameters))
        meta["hyperparameters"] = dict(optimizer.hp)
        traj = run_optimizer(optimizer, oracle)
        data = trajectory_table(traj, table, job.benchmark, job.label, job.settings_hash, job.seed)
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
        log.error("run %s failed: %s", job.run_id, error)
        meta.update(status="failed", error=error, traceback=tb, wall_s=round(time.perf_counter() - t0, 3),
                    finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        try:
            write_failure(failed, meta)
        except Exception:  # the failure of the failure record must not hide the run's error
            log.exception("could not write the failure record %s", failed)
        return Outcome(job.run_id, "failed", meta["wall_s"], 0, synthetic, error, str(failed))
    failed.unlink(missing_ok=True)
    return Outcome(job.run_id, "done", meta["wall_s"], meta["n_evals"], synthetic, "", str(result))


# -- lock files -----------------------------------------------------------------------------------------
def _proc_start(pid: int) -> str | None:
    """The start time of process ``pid`` (Linux /proc; None elsewhere or if absent)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of stat, counted after the comm


def _pid_alive(pid: Any, start: Any = None) -> bool:
    """True if ``pid`` runs here (not a zombie) and, when ``start`` is known, is the same process."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().decode(errors="replace").rpartition(")")[2].split()
        if state and state[0] in ("Z", "X"):
            return False
    except OSError:
        pass
    if start is not None:
        now = _proc_start(pid)
        if now is not None and now != start:
            return False  # pid reused by another process
    return True


def this_process() -> dict[str, Any]:
    """pid, host and start time of the current process (what locks and jobs record as owner)."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start": _proc_start(pid)}


def _lock_is_stale(info: Mapping[str, Any]) -> bool:
    host = socket.gethostname()
    if info.get("host") != host:
        return False
    if not _pid_alive(info.get("pid"), info.get("start")):
        return True
    owner = info.get("owner") or {}
    return owner.get("host") == host and not _pid_alive(owner.get("pid"), owner.get("start"))


def acquire_lock(path: Path, owner: Mapping[str, Any] | None = None) -> str | None:
    """Create lock file ``path`` exclusively; return its token, or None if a live process holds it.

    A lock whose process (or owning command) is dead on this host is broken and taken over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    content = json.dumps({**this_process(), "owner": dict(owner or {}), "token": token,
                          "time": time.time()}).encode()
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                info = json.loads(path.read_bytes())
            except FileNotFoundError:
                continue  # released meanwhile: retry
            except (OSError, ValueError):
                info = None
            if info is None:  # being written right now, or left half-written by a crash
                with contextlib.suppress(OSError):
                    if time.time() - path.stat().st_mtime > _UNREADABLE_LOCK_GRACE_S:
                        log.warning("breaking unreadable lock %s", path)
                        path.unlink(missing_ok=True)
                        continue
                return None
            if not _lock_is_stale(info):
                if info.get("host") != socket.gethostname():
                    log.info("%s is locked by pid %s on host %s (delete the file if that run is dead)",
                             path, info.get("pid"), info.get("host"))
                return None
            log.warning("breaking stale lock %s (pid %s dead)", path, info.get("pid"))
            _unlink_if_token(path, info.get("token"))
            continue
        try:
            os.write(fd, content)
        finally:
            os.close(fd)
        return token
    return None


def _unlink_if_token(path: Path, token: Any) -> None:
    try:
        info = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return
    if info.get("token") == token:
        path.unlink(missing_ok=True)


def release_lock(path: Path, token: str) -> None:
    """Remove lock file ``path`` if it is still ours (it may have been broken and taken over)."""
    _unlink_if_token(path, token)


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
        pending = sorted(broken, key=lambda j: j.run_id)
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

    paths = run_paths(job.out_dir, job.benchmark, job.label, job.settings_hash, job.seed)
    error = f"{type(exc).__name__}: {exc}"
    if not paths.result.exists():
        with contextlib.suppress(OSError):
            write_failure(paths.failed, {
                "benchmark": job.benchmark, "optimizer": job.label, "optimizer_name": job.optimizer,
                "settings": json.dumps(dict(job.settings), sort_keys=True), "settings_hash": job.settings_hash,
                "encoding": job.encoding, "time_budget": job.time_budget, "seed": job.seed,
                "error": error, "traceback": "".join(traceback.format_exception(exc)),
            })
    return Outcome(job.run_id, "failed", error=error, path=str(paths.failed))


def _run_inline(jobs: Sequence[Job], report: Callable[[Outcome], None]) -> None:
    side = [j for j in jobs if j.needs_fixed_hashseed and not _hashseed_fixed_here()]
    here = [j for j in jobs if not (j.needs_fixed_hashseed and not _hashseed_fixed_here())]
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
            fut = client.submit(execute_job, j, pure=False, key=f"nasbench-run-{j.run_id}-{uuid.uuid4().hex[:8]}")
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


def _resolve_optimizers(exp: Experiment) -> dict[str, tuple[str, bool]]:
    """label -> (import path, needs_fixed_hashseed); unknown hyperparameters are an ExperimentError."""
    from nasbench_bench.optimizer import get_optimizer

    out: dict[str, tuple[str, bool]] = {}
    for spec in exp.optimizers:
        try:
            cls = get_optimizer(spec.name)
        except (ImportError, ValueError, TypeError, KeyError) as exc:
            log.warning("optimizer %r cannot be loaded here (%s); its runs will be recorded as failed if the "
                        "workers cannot load it either", spec.name, exc)
            out[spec.label] = (spec.name, False)
            continue
        unknown = sorted(set(spec.hyperparameters) - set(cls.defaults))
        if unknown:
            raise ExperimentError(
                f"optimizer {spec.label!r} ({spec.name}): unknown hyperparameter(s) {unknown}; "
                f"valid: {sorted(cls.defaults)}"
            )
        out[spec.label] = (f"{cls.__module__}:{cls.__qualname__}", bool(cls.needs_fixed_hashseed))
    return out


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
    if "nb101" in experiment.benchmarks:
        data = str(nb101_data_path(data).resolve())  # fail now, with the how-to, not in 500 workers
    resolved = _resolve_optimizers(experiment)
    atomic_write_bytes(out / "experiments" / f"{experiment.name}.json",
                       json.dumps(experiment_dict(experiment), indent=1).encode())

    summary = RunSummary(experiment.name, out, total=experiment.n_runs)
    summary.synthetic = [b for b in experiment.benchmarks if b in SYNTHETIC_BENCHMARKS]
    owner = this_process()
    todo: list[Job] = []
    for key in experiment.run_keys():
        paths = run_paths(out, key.benchmark, key.optimizer.label, key.settings_hash, key.seed)
        if paths.result.exists():
            summary.skipped += 1
            continue
        path, needs_seed = resolved[key.optimizer.label]
        todo.append(Job(
            out_dir=str(out), benchmark=key.benchmark, data=data, optimizer=key.optimizer.name,
            optimizer_path=path, label=key.optimizer.label, hyperparameters=dict(key.optimizer.hyperparameters),
            encoding=key.encoding, time_budget=experiment.time_budget, max_evaluations=experiment.max_evaluations,
            seed=key.seed, settings=key.settings, settings_hash=key.settings_hash,
            needs_fixed_hashseed=needs_seed, owner=owner,
        ))
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
            summary.failures.append((o.run_id, o.error))
        if o.synthetic and o.run_id.split("/")[0] not in summary.synthetic:
            summary.synthetic.append(o.run_id.split("/")[0])
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
