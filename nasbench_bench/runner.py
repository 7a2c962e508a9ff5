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
import dataclasses
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
    _HELD.append((paths.lock, token))
    try:
        if paths.result.exists():  # finished by another command while we were looking
            return Outcome(run_id, "skipped", path=str(paths.result))
        return _run_locked(job.run, paths.result, paths.failed)
    finally:
        release_lock(paths.lock, token)
        _HELD.remove((paths.lock, token))


def _domain(benchmark: str) -> str:
    from nasbench_bench.benchmarks import domain

    try:
        return domain(benchmark)
    except KeyError:
        return ""


def _run_locked(run: Run, result: Path, failed: Path) -> Outcome:
    from nasbench_bench.benchmarks import load_benchmark
    from nasbench_bench.encodings import get_encoding
    from nasbench_bench.optimizer import get_optimizer, run_optimizer
    from nasbench_bench.oracle import Oracle, default_max_evaluations
    from nasbench_bench.results import trajectory_table, write_failure, write_run

    t0 = time.perf_counter()
    hashseed = _STARTUP_HASHSEED if not sys.flags.ignore_environment else None
    meta: dict[str, Any] = {**run_metadata(run), "pythonhashseed": hashseed, "host": socket.gethostname()}
    synthetic: bool | None = None
    try:
        table = load_benchmark(run.id.benchmark, run.data)
        synthetic = bool(table.synthetic)
        meta.update(table=table.name, synthetic=synthetic, score_metric=table.score_metric,
                    best_score=table.best_score, derived=list(table.derived), metric=table.metric,
                    maximize=table.maximize, cost_model=table.cost_model, cost_unit=table.cost_unit,
                    median_score=table.median_score, domain=_domain(run.id.benchmark))
        encoding = get_encoding(run.encoding)
        cls = get_optimizer(run.optimizer.path)
        if cls.needs_fixed_hashseed and hashseed != HASHSEED:
            log.warning("%s: %s needs PYTHONHASHSEED=%s for reproducible results but this worker has %s",
                        run.id, run.optimizer.name, HASHSEED, hashseed)
        oracle_ss, opt_seed = derive_seeds(run.id.seed)
        meta.update(oracle_seed=f"SeedSequence({run.id.seed}).spawn(2)[0]", optimizer_seed=opt_seed)
        limits = dataclasses.replace(
            run.limits, evaluations=run.limits.evaluations or default_max_evaluations(table, run.time_budget))
        meta["limits"] = limits.as_dict()
        oracle = Oracle(table, encoding, run.time_budget, seed=oracle_ss, max_evaluations=run.max_evaluations,
                        limits=limits)
        optimizer = cls(encoding, seed=opt_seed, **dict(run.optimizer.hyperparameters))
        meta["hyperparameters"] = dict(optimizer.hp)
        with _wall_clock_alarm(run.limits.wall_clock):
            if run.workers > 1:
                from nasbench_bench.simulator import run_parallel

                traj = run_parallel(optimizer, oracle, run.workers)
            else:
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


@contextlib.contextmanager
def _wall_clock_alarm(seconds: float | None) -> Iterator[None]:
    """Interrupt the run after ``seconds`` of wall-clock time even if the optimizer never calls the oracle
    (SIGALRM; only in a main thread, e.g. process and inline workers; elsewhere the oracle checks the clock)."""
    import signal
    import threading

    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return
    from nasbench_bench.oracle import RunawayRun

    def expire(signum: int, frame: Any) -> None:
        raise RunawayRun(f"stopped after {seconds:g} s of wall-clock time (the run's timeout; the optimizer "
                         "did not return from its own code)")

    previous = signal.signal(signal.SIGALRM, expire)
    # the oracle's own check fires first when it can; repeat in case a finaliser swallowed the exception
    signal.setitimer(signal.ITIMER_REAL, seconds + 1.0, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init, initargs=(os.getpid(),))


def _worker_init(parent: int) -> None:
    """In each worker: leave Ctrl-C to the parent (the terminal sends it to every process of the group), turn
    SIGTERM into a clean, immediate exit (the run's lock and temporary files are removed), and die with the
    parent."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_sigterm)
    _die_with_parent(parent)


#: Lock files this process holds for runs in progress: (path, token).
_HELD: list[tuple[Path, str]] = []


def _worker_sigterm(signum: int, frame: Any) -> None:
    """Clean up and exit at once: release the locks of the run in progress and remove its temporary files.

    Done here rather than by raising an exception, which code in the middle of a run (a finaliser, a
    library's ``except BaseException``) could swallow."""
    for path, token in list(_HELD):
        with contextlib.suppress(Exception):
            stem = path.name.removeprefix(".").removesuffix(".lock")  # seed-NNNNN
            for tmp in path.parent.glob(f".{stem}.*.tmp"):  # atomic_path's temporary files of this run
                tmp.unlink(missing_ok=True)
            release_lock(path, token)
    os._exit(128 + signum)


def _die_with_parent(parent: int) -> None:
    """Exit when process ``parent`` ends (even by SIGKILL): the kernel's parent-death signal where there is one
    (Linux), else a watchdog thread polling the parent."""
    import signal
    import threading

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        armed = libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0) == 0
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if armed:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="nasbench-parent-watchdog", daemon=True).start()


def _terminate(pool: ProcessPoolExecutor, grace_s: float = 3.0) -> None:
    """Stop a pool now: SIGTERM every worker (they exit cleanly), SIGKILL what is left after ``grace_s``."""
    import signal
    import threading

    procs = list((getattr(pool, "_processes", None) or {}).values())
    blocked = threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
    if blocked:  # a second Ctrl-C must not interrupt the clean-up
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        _stop_processes(procs, grace_s)
    finally:
        if blocked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    pool.shutdown(wait=False, cancel_futures=True)


def _stop_processes(procs: Sequence[Any], grace_s: float) -> None:
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    deadline = time.monotonic() + grace_s
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)


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
    todo: set[Future[Outcome]] = set()
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
        _terminate(pool)
        for fut in todo:  # runs that finished while we were stopping still count
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                report(fut.result())
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
    except BaseException:
        if pool is not None:
            _terminate(pool)
        raise
    if pool is not None:
        pool.shutdown(wait=True)


class RunnerError(RuntimeError):
    """The runner cannot start: an unusable results directory, an unreachable Dask scheduler."""


def _run_dask(jobs: Sequence[Job], workers: int, scheduler: Any, report: Callable[[Outcome], None],
              timeout_s: float = 10.0) -> None:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               silence_logs=logging.ERROR, dashboard_address=":0")
        client = Client(cluster)
    elif isinstance(scheduler, Client):
        client = scheduler
    else:
        try:
            client = Client(scheduler, timeout=timeout_s)  # an address or a cluster object
        except (OSError, TimeoutError) as exc:
            raise RunnerError(f"could not reach the Dask scheduler at {scheduler!r} within {timeout_s:g} s "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); is it "
                              "running, and is the address tcp://HOST:PORT?") from None
    futures: dict[Any, Job] = {}
    try:
        for j in jobs:
            fut = client.submit(execute_job, j, pure=False, key=f"nasbench-run-{j.run.id}-{uuid.uuid4().hex[:8]}")
            futures[fut] = j
        for fut in as_completed(list(futures)):
            try:
                report(fut.result())
            except Exception as exc:  # KilledWorker etc.: record, go on
                report(_failed_outside(futures[fut], exc))
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures), force=True)
        raise
    finally:
        if client is not scheduler:
            client.close()
        if cluster is not None:
            cluster.close()


# -- the experiment ----------------------------------------------------------------------------------------
def prepare_out_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Create results directory ``out_dir``; :class:`RunnerError` naming the problem if it cannot be used."""
    out = Path(out_dir)
    for parent in [out, *out.parents]:
        if parent.exists() and not parent.is_dir():
            what = "is a file" if parent == out else f"is under {parent}, which is a file"
            raise RunnerError(f"results directory {str(out)!r} {what}; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunnerError(f"cannot write into results directory {str(out)!r}: {exc.strerror or exc}") from None
    return out


def check_coverage(benchmark: str, data: str | None, encoding: str) -> None:
    """Raise :class:`~nasbench_bench.benchmarks.BenchmarkDataError` if the benchmark's table lacks cells the
    encoding can propose (every run would fail at the first one)."""
    from nasbench_bench.benchmarks import BenchmarkDataError, load_benchmark
    from nasbench_bench.encodings import get_encoding
    from nasbench_bench.oracle import coverage

    table = load_benchmark(benchmark, data)
    enc = get_encoding(encoding)
    present, total = coverage(table, enc)
    if present < total:
        raise BenchmarkDataError(
            f"table {table.name!r} of benchmark {benchmark!r} holds {present:,} of the {total:,} cells encoding "
            f"{encoding!r} can propose, so every run would fail at its first missing cell. Use a complete table: "
            "the full official file, a synthetic file written with `nasbench-bench data synth --cells all`, or "
            "the benchmark 'nb101-synthetic'"
        )

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
    interrupted: str = ""  # what stopped the experiment early ("SIGINT", "SIGTERM"), else ""

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
    scheduler_timeout: float = 10.0,
) -> RunSummary:
    """Run every unfinished run of ``experiment`` into results directory ``out_dir``; return a summary.

    ``executor``: ``"process"`` (``jobs`` spawned workers), ``"dask"`` (``scheduler``: address, Client or
    cluster; None = a LocalCluster of ``jobs`` workers; ``scheduler_timeout`` seconds to reach it) or
    ``"inline"``. Run failures are recorded, not raised; configuration errors (bad hyperparameters, missing or
    incomplete data, an unusable results directory) raise before anything runs. A ``KeyboardInterrupt``
    (Ctrl-C, or SIGTERM turned into one by the caller) stops the workers at once; the summary then says so
    in ``interrupted``, and running the same experiment again resumes it.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    t0 = time.perf_counter()
    out = prepare_out_dir(out_dir)
    data = experiment.data
    for b in experiment.benchmarks:  # fail now, with the how-to, not in 500 workers
        path = data_path(b, data)
        if path is not None:
            data = str(path)
    for b in experiment.benchmarks:
        check_coverage(b, data, experiment.encoding_for(b))
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
                _run_dask(todo, jobs, scheduler, report, scheduler_timeout)
    except KeyboardInterrupt as exc:
        summary.interrupted = getattr(exc, "signal_name", "") or "SIGINT"
        log.info("experiment %s interrupted (%s); workers stopped", experiment.name, summary.interrupted)
    finally:
        bar.close()
    summary.failures.sort()
    summary.wall_s = round(time.perf_counter() - t0, 3)
    log.info("experiment %s: %d done, %d skipped, %d failed, %d busy in %.1f s", experiment.name,
             summary.done, summary.skipped, summary.failed, summary.busy, summary.wall_s)
    return summary
