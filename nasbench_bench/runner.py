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

Faults: an existing result file is checked from its footer before it counts as finished
(:func:`~nasbench_bench.results.check_run_file`); an unreadable or foreign one is moved to ``RESULTS/quarantine/``
under the run's lock and the run is redone. A full disk (ENOSPC, EDQUOT) stops the whole experiment at its first
occurrence (:class:`DiskFull`; nothing half-written is kept). SIGINT/SIGTERM while local worker processes run only
set a flag that the dispatch loop polls (a signal raised inside the executor's locks could deadlock it): the
workers are stopped and reaped, then the interrupt is raised. The summary counts the result files on disk.
``--jobs`` beyond what the machine can hold is clamped (:func:`clamp_jobs`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_bench.experiment import Experiment, Run, experiment_dict
from nasbench_bench.locks import acquire_lock, holder, pid_alive, release_lock, this_process
from nasbench_bench.paths import atomic_write_bytes, is_disk_full
from nasbench_bench.results import RunId, check_run_file, quarantine_file, run_metadata

__all__ = ["EXECUTORS", "HASHSEED", "DiskFull", "Job", "Outcome", "RunSummary", "clamp_jobs", "execute_job",
           "run_experiment"]

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
    """What became of a job: ``done``, ``failed``, ``skipped`` (finished elsewhere), ``busy`` (locked) or
    ``disk-full`` (``error`` says where; the experiment stops). ``quarantined``: where an unusable earlier result
    of this run was moved, and why."""

    run_id: RunId
    status: str
    wall_s: float = 0.0
    n_evals: int = 0
    synthetic: bool | None = None
    error: str = ""
    path: str = ""
    quarantined: tuple[str, str] | None = None


def derive_seeds(seed: int) -> tuple[np.random.SeedSequence, int]:
    """(oracle SeedSequence, optimizer int seed) of run ``seed``: independent streams, from the seed only."""
    oracle_ss, opt_ss = np.random.SeedSequence(int(seed)).spawn(2)
    return oracle_ss, int(opt_ss.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)


def execute_job(job: Job) -> Outcome:
    """Perform one run: lock, run, write the result (or the failure record), unlock. Never raises for a
    failing optimizer or table; the failure is recorded and returned. An existing result that fails
    :func:`~nasbench_bench.results.check_run_file` is moved to the quarantine folder first; a full disk is returned
    as ``disk-full`` (no failure record: there is no room for one)."""
    run_id = job.run.id
    paths = run_id.paths(job.out_dir)
    try:
        if paths.result.exists() and not check_run_file(paths.result, run_id):
            return Outcome(run_id, "skipped", path=str(paths.result))
        token = acquire_lock(paths.lock, job.owner)
    except OSError as exc:
        if is_disk_full(exc):
            return _disk_full(run_id, exc, paths.lock)
        raise
    if token is None:
        return Outcome(run_id, "busy", path=str(paths.lock))
    _HELD.append((paths.lock, token))
    try:
        _remove_temporary_files(paths.lock)  # left by a worker killed outright; we hold the run's lock
        moved = None
        if paths.result.exists():
            problem = check_run_file(paths.result, run_id)
            if not problem:  # finished by another command while we were looking
                return Outcome(run_id, "skipped", path=str(paths.result))
            dest = quarantine_file(paths.result, job.out_dir)
            log.warning("run file %s %s: moved to %s; running it again", paths.result, problem, dest)
            moved = (str(dest), problem)
        return dataclasses.replace(_run_locked(job.run, paths.result, paths.failed), quarantined=moved)
    except OSError as exc:
        if is_disk_full(exc):
            return _disk_full(run_id, exc, paths.result)
        raise
    finally:
        release_lock(paths.lock, token)
        _HELD.remove((paths.lock, token))


def _temporary_files(lock: Path) -> list[Path]:
    """The temporary files :func:`~nasbench_bench.paths.atomic_path` makes for the run of lock file ``lock``."""
    stem = lock.name.removeprefix(".").removesuffix(".lock")  # seed-NNNNN
    return list(lock.parent.glob(f".{stem}.*.tmp"))


def _remove_temporary_files(lock: Path) -> None:
    for tmp in _temporary_files(lock):
        tmp.unlink(missing_ok=True)


def _disk_full(run_id: RunId, exc: BaseException, path: Path) -> Outcome:
    return Outcome(run_id, "disk-full", error=_disk_full_message(exc, path), path=str(path))


def _disk_full_message(exc: BaseException, path: Path) -> str:
    """One line: the device is full, and the file being written (``path`` unless the error names another)."""
    where = getattr(exc, "filename", None) or str(path)
    if os.path.basename(str(where)).endswith(".tmp"):  # name the file being written, not its temporary twin
        where = str(path)
    return f"no space left on the device of {where} ({_errno_text(exc)})"


def _errno_text(exc: BaseException) -> str:
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno is not None:
            return f"{errno.errorcode.get(exc.errno, exc.errno)}: {os.strerror(exc.errno)}"
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return "disk full"


def _run_locked(run: Run, result: Path, failed: Path) -> Outcome:
    from nasbench_bench.benchmarks import get_encoding, load_benchmark
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
                    median_score=table.median_score, domain=run.domain)
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
        problem = getattr(run, "problem", None)
        bound = None
        if problem is not None and not problem.is_single:
            from nasbench_bench.problems import ProblemOracle

            bound = problem.bind(table)
            meta["problem"] = bound.summary
            oracle: Oracle = ProblemOracle(table, encoding, run.time_budget, seed=oracle_ss,
                                           max_evaluations=run.max_evaluations, limits=limits, problem=bound)
        else:
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
        data = trajectory_table(traj, table, run.id, bound)
        n = len(traj)
        meta.update(
            status="done", n_evals=n, final_time=float(traj.time[-1]) if n else 0.0,
            final_regret=float(traj.regret[-1]) if n else float("nan"),
            wall_s=round(time.perf_counter() - t0, 3), finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        write_run(result, data, meta)
    except Exception as exc:
        if is_disk_full(exc):  # stop the experiment: every other run would fail the same way
            return _disk_full(run.id, exc, result)
        tb = traceback.format_exc()
        error = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        log.error("run %s failed: %s", run.id, error)
        meta.update(status="failed", error=error, traceback=tb, wall_s=round(time.perf_counter() - t0, 3),
                    finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        try:
            write_failure(failed, meta)
        except Exception as record_exc:  # the failure of the failure record must not hide the run's error
            if is_disk_full(record_exc):
                return _disk_full(run.id, record_exc, failed)
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
            _remove_temporary_files(path)
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
    """Stop a pool now: SIGTERM every worker (they exit cleanly), SIGKILL what is left after ``grace_s``; returns
    when every worker has been reaped."""
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
                proc.join(30.0)  # SIGKILL cannot be caught: only a process stuck in the kernel takes long


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM received while local workers ran (raised once they are stopped); ``signal_name`` says
    which."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass
class _StopFlag:
    signum: int = 0  # the first SIGINT/SIGTERM received, 0 if none


#: Seconds between two looks at the stop flag while waiting for workers.
_POLL_S = 0.2


@contextlib.contextmanager
def _signals_set_flag() -> Iterator[_StopFlag]:
    """While the block runs, SIGINT and SIGTERM only set the flag yielded (the dispatch loop polls it), instead of
    raising wherever the main thread is, possibly inside the executor's locks, which could then deadlock.

    Only signals that already have a Python handler are deferred (Ctrl-C's default, the CLI's SIGTERM handler):
    a library caller's default SIGTERM still ends the process. In another thread nothing changes."""
    import threading

    flag = _StopFlag()
    saved: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        def note(signum: int, frame: Any) -> None:
            flag.signum = flag.signum or signum

        for sig in (signal.SIGINT, signal.SIGTERM):
            if callable(signal.getsignal(sig)):
                saved[sig] = signal.signal(sig, note)
    try:
        yield flag
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _run_pool(jobs: Sequence[Job], workers: int, report: Callable[[Outcome], None]) -> None:
    """Run ``jobs`` on spawned worker processes, at most 2 x ``workers`` submitted at a time; the runs in flight
    when a worker dies are retried in a fresh pool (failed after dying :data:`_MAX_POOL_RESTARTS` + 1 times).
    SIGINT/SIGTERM stop and reap the workers, then raise :class:`Interrupted`."""
    queue = deque(jobs)
    deaths: dict[RunId, int] = {}
    with _signals_set_flag() as stop:
        while queue and not stop.signum:
            with _worker_env():
                broken = _run_pool_once(queue, workers, report, stop)
            retry: list[Job] = []
            for job in broken:
                deaths[job.run.id] = deaths.get(job.run.id, 0) + 1
                if deaths[job.run.id] <= _MAX_POOL_RESTARTS:
                    retry.append(job)
                else:
                    report(_failed_outside(job, RuntimeError(
                        f"the worker process died while running this run (crash, OOM kill?) {deaths[job.run.id]} "
                        "times")))
            if retry and not stop.signum:
                log.warning("a worker process died; retrying %d run(s) in a fresh pool", len(retry))
            queue.extendleft(sorted(retry, key=lambda j: j.run.id, reverse=True))
    if stop.signum:
        raise Interrupted(signal.Signals(stop.signum).name)


def _run_pool_once(queue: deque[Job], workers: int, report: Callable[[Outcome], None], stop: _StopFlag
                   ) -> list[Job]:
    """Run jobs from ``queue`` (consumed) on one pool until it is empty, a worker dies or ``stop`` is set; return
    the jobs that were in flight when a worker died."""
    pool = _spawn_pool(min(workers, len(queue)))
    running: dict[Future[Outcome], Job] = {}
    broken: list[Job] = []
    try:
        while (running or (queue and not broken)) and not stop.signum:
            while queue and not broken and len(running) < 2 * workers:
                job = queue.popleft()
                try:
                    running[pool.submit(execute_job, job)] = job
                except BrokenProcessPool:  # a worker died (even before taking work): retried, counted
                    broken.append(job)
                    break
            if not running:
                break
            finished, _ = wait(list(running), timeout=_POLL_S, return_when=FIRST_COMPLETED)
            for fut in finished:
                job = running.pop(fut)
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    broken.append(job)
                    continue
                except Exception as exc:  # e.g. unpicklable result: record, go on
                    outcome = _failed_outside(job, exc)
                report(outcome)
    except BaseException:
        _terminate(pool)
        raise
    if stop.signum:
        _terminate(pool)
        return []
    if broken:
        _terminate(pool)  # what is left of a broken pool
    else:
        pool.shutdown(wait=True)
    return broken


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
    """Run ``jobs`` in this process; those of optimizers that need PYTHONHASHSEED=6640 (when this process lacks
    it) then run in one spawned worker process."""
    side = [j for j in jobs if j.run.optimizer.needs_fixed_hashseed and not _hashseed_fixed_here()]
    here = [j for j in jobs if not (j.run.optimizer.needs_fixed_hashseed and not _hashseed_fixed_here())]
    for job in here:
        report(execute_job(job))
    if side:
        log.info("running %d run(s) in a subprocess with PYTHONHASHSEED=%s (this process has %s)",
                 len(side), HASHSEED, _STARTUP_HASHSEED)
        _run_pool(side, 1, report)


class RunnerError(RuntimeError):
    """The runner cannot start: an unusable results directory, an unreachable Dask scheduler."""


class DiskFull(RunnerError):
    """The disk (or quota) of the results directory is full: the experiment stops at the first such error."""


# -- how many workers the machine can hold ------------------------------------------------------------------
#: Memory planned per local worker process (bytes). Measured peak resident memory of one worker (one run, 2-core
#: development machine): nb201-cifar10-12ep rs 137 MB, smac 246 MB; nb201-cifar10-mf bohb 241 MB; nb101 (the full
#: space) tpe 629 MB, smac 753 MB.
WORKER_MEMORY = 800 * 2**20


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().split()[0]
    except (OSError, IndexError):
        return None
    return int(text) if text.isdigit() else None


def machine_capacity() -> tuple[int, int | None]:
    """(usable cores, available memory in bytes or None if unknown) of this machine, within its CPU affinity and
    cgroup (v2) limits."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    with contextlib.suppress(OSError, ValueError, IndexError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))
    mem: int | None = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                mem = int(line.split()[1]) * 1024
    limit, used = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if limit is not None:
        free = limit - (used or 0)
        mem = free if mem is None else min(mem, free)
    return max(1, cores), mem


def clamp_jobs(jobs: int) -> tuple[int, str]:
    """(jobs to use, why it is fewer than ``jobs`` or ``""``): at most one local worker per usable core and per
    :data:`WORKER_MEMORY` of available memory (at least one)."""
    cores, mem = machine_capacity()
    cap = cores if mem is None else max(1, min(cores, mem // WORKER_MEMORY))
    if jobs <= cap:
        return jobs, ""
    memory = "memory unknown" if mem is None else (f"{mem / 2**30:.1f} GiB of memory available, about "
                                                    f"{WORKER_MEMORY // 2**20} MB per worker")
    return cap, (f"{jobs} parallel jobs are more than this machine can run at once ({cores} core(s), {memory}); "
                 f"running {cap}")


def _run_dask(jobs: Sequence[Job], workers: int, scheduler: Any, report: Callable[[Outcome], None],
              timeout_s: float = 10.0) -> None:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    saved_hashseed = os.environ.get("PYTHONHASHSEED")  # a local cluster's nannies set it in this process's environ
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
            if saved_hashseed is None:
                os.environ.pop("PYTHONHASHSEED", None)
            else:
                os.environ["PYTHONHASHSEED"] = saved_hashseed


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


def _write_experiment_record(out: Path, experiment: Experiment) -> Path:
    """Write ``out/experiments/NAME.json``; if a different experiment of that name already wrote it (two
    experiments into one directory), ``NAME-<hash8>.json`` instead: no record is ever overwritten by another."""
    from nasbench_bench.locks import hold_lock

    text = json.dumps(experiment_dict(experiment), indent=1).encode()
    path = out / "experiments" / f"{experiment.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    # look and write under one lock: two commands starting together must not both find the name free
    with hold_lock(path.parent / f".{experiment.name}.lock", poll_s=0.05, what=f"the experiment record {path}"):
        with contextlib.suppress(OSError):
            if path.exists() and path.read_bytes() != text:
                import hashlib

                path = path.with_name(f"{experiment.name}-{hashlib.sha256(text).hexdigest()[:8]}.json")
        atomic_write_bytes(path, text)
    return path


def _reconcile(todo: Sequence[Job], reported: Mapping[RunId, str], owner: Mapping[str, Any]) -> int:
    """After the workers are gone: remove the lock and temporary files of runs whose worker was killed outright
    (locks of this command whose holder is dead), and count the runs of ``todo`` this command finished, as found
    on disk (a worker may have written its file just before it was stopped)."""
    done = 0
    for job in todo:
        status = reported.get(job.run.id)
        if status in ("skipped", "busy"):
            continue
        paths = job.run.id.paths(job.out_dir)
        with contextlib.suppress(OSError):
            if paths.lock.exists():
                info = holder(paths.lock) or {}
                if info.get("owner") == dict(owner) and not pid_alive(info.get("pid"), info.get("start")):
                    _remove_temporary_files(paths.lock)
                    release_lock(paths.lock, str(info.get("token")))
        if status == "done" or (paths.result.exists() and not check_run_file(paths.result, job.run.id)):
            done += 1
    return done


@dataclass
class RunSummary:
    """What :func:`run_experiment` did."""

    experiment: str
    out_dir: Path
    total: int = 0  # runs in the experiment
    done: int = 0  # performed now (result files written by this command, counted on disk)
    skipped: int = 0  # already finished (before or by another command meanwhile)
    failed: int = 0
    busy: int = 0  # locked by another live process
    synthetic: list[str] = field(default_factory=list)  # benchmarks whose tables are synthetic
    failures: list[tuple[str, str]] = field(default_factory=list)  # (run id, error)
    wall_s: float = 0.0
    interrupted: str = ""  # what stopped the experiment early ("SIGINT", "SIGTERM"), else ""
    disk_full: str = ""  # the full-disk error that stopped the experiment, else ""
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (where an unusable run file went, why)
    jobs: int = 0  # local workers used
    jobs_note: str = ""  # why fewer than asked for, else ""

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
    ``"inline"``. Local workers are capped at what the machine can hold (:func:`clamp_jobs`; the summary's
    ``jobs_note`` says so). Run failures are recorded, not raised; configuration errors (bad hyperparameters,
    missing or incomplete data, an unusable results directory) raise before anything runs. A result file that
    is unreadable or not its run's is moved to ``out_dir/quarantine/`` and the run redone (``quarantined``). A
    ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM turned into one by the caller), at any point, stops the workers at
    once; a full disk stops everything at its first occurrence; the summary then says so in ``interrupted`` or
    ``disk_full``, and running the same experiment again resumes it.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    t0 = time.perf_counter()
    summary = RunSummary(experiment.name, Path(out_dir), total=experiment.n_runs, jobs=jobs)
    owner = this_process()
    todo: list[Job] = []
    reported: dict[RunId, str] = {}
    bar = None

    def report(o: Outcome) -> None:
        reported[o.run_id] = o.status
        if o.quarantined:
            summary.quarantined.append(o.quarantined)
        if o.status == "disk-full":
            raise DiskFull(o.error)
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
        if bar is not None:
            bar.update(1)
            bar.set_postfix(done=summary.done, failed=summary.failed, busy=summary.busy, refresh=False)

    try:
        out = summary.out_dir = prepare_out_dir(out_dir)
        plan = experiment.resolve()  # tables, encodings, budgets and data resolved once, before any worker starts
        summary.synthetic = plan.synthetic
        suspect = 0
        for run in experiment.runs(plan.data):
            result = run.id.paths(out).result
            if result.exists():
                if not check_run_file(result, run.id):
                    summary.skipped += 1
                    continue
                suspect += 1  # moved to quarantine and redone by its job, under the run's lock
            todo.append(Job(run, str(out), owner))
        try:
            _write_experiment_record(out, experiment)
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFull(_disk_full_message(exc, out / "experiments")) from None
            raise
        if executor == "process" or (executor == "dask" and scheduler is None):
            summary.jobs, summary.jobs_note = clamp_jobs(jobs)
            if summary.jobs_note:
                log.warning("%s", summary.jobs_note)
        log.info("experiment %s: %d runs, %d already finished, %d to run (%d to redo: unreadable result files; "
                 "%s, jobs=%d) into %s", experiment.name, summary.total, summary.skipped, len(todo), suspect,
                 executor, summary.jobs, out)

        if progress:  # tqdm.auto picks the notebook widget where there is one (and warns where it is missing)
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm

        bar = tqdm(total=len(todo), disable=not progress or not todo, unit="run", desc=experiment.name,
                   dynamic_ncols=True, smoothing=0.05)
        if todo:
            if executor == "inline":
                _run_inline(todo, report)
            elif executor == "process":
                _run_pool(todo, summary.jobs, report)
            else:
                _run_dask(todo, summary.jobs, scheduler, report, scheduler_timeout)
    except KeyboardInterrupt as exc:
        summary.interrupted = getattr(exc, "signal_name", "") or "SIGINT"
        log.info("experiment %s interrupted (%s); workers stopped", experiment.name, summary.interrupted)
    except DiskFull as exc:
        summary.disk_full = str(exc)
        log.info("experiment %s stopped: %s", experiment.name, summary.disk_full)
    finally:
        if bar is not None:
            bar.close()
    summary.done = _reconcile(todo, reported, owner)
    summary.failures.sort()
    summary.wall_s = round(time.perf_counter() - t0, 3)
    log.info("experiment %s: %d done, %d skipped, %d failed, %d busy in %.1f s", experiment.name,
             summary.done, summary.skipped, summary.failed, summary.busy, summary.wall_s)
    return summary
