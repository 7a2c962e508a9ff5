"""Faults a long experiment meets: corrupt run files, signals at awkward moments, a full disk, too many jobs,
two experiments into one directory at once.

All runs use the SYNTHETIC "toy" benchmark with small budgets. Nothing here asserts a duration: processes are
polled for a condition with generous timeouts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nasbench_bench.cli import main as cli_main
from nasbench_bench.experiment import Experiment
from nasbench_bench.locks import acquire_lock, release_lock
from nasbench_bench.paths import FAULT_DISK_FULL_ENV
from nasbench_bench.results import UnreadableRunFile, check_run_file, load_results, load_runs
from nasbench_bench.runner import WORKER_MEMORY, run_experiment

REPO = Path(__file__).resolve().parents[1]
TOY = ["--benchmark", "toy", "--encoding", "nb201", "--budget", "2e4", "--no-progress"]


def toy(optimizers: list[str], seeds: str) -> Experiment:
    return Experiment.from_dict({"benchmark": "toy", "encoding": "nb201", "optimizers": optimizers, "seeds": seeds,
                                 "time_budget": 2e4})


def run_files(out: Path) -> list[Path]:
    return sorted((out / "runs").rglob("seed-*.parquet")) if (out / "runs").exists() else []


def leftovers(out: Path) -> list[Path]:
    """Lock and temporary files: what a stopped command must not leave behind."""
    return sorted([*out.rglob(".*.lock"), *out.rglob("*.tmp")])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli_subprocess(args: list[str], env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    """``nasbench-bench ARGS`` in a new session (its process group can be watched), Ctrl-C not ignored."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)]), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from nasbench_bench.cli import main; sys.exit(main(sys.argv[1:]))",
         *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kw)


def group_gone(pgid: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


# -- 1. corrupt run files ----------------------------------------------------------------------------------
def damage(out: Path) -> dict[Path, bytes]:
    """Truncate one run file, replace another by a copy of a different seed's, fill a third with junk; return
    the bytes now in each (what the quarantine must keep)."""
    files = {f.relative_to(out): f for f in run_files(out)}
    rs = sorted(p for p in files if p.parent.name.startswith("rs-"))
    re_ = sorted(p for p in files if p.parent.name.startswith("re-"))
    truncated, foreign, junk = files[rs[0]], files[re_[1]], files[re_[2]]
    truncated.write_bytes(truncated.read_bytes()[:1000])
    foreign.write_bytes(files[re_[3]].read_bytes())  # seed 3's run under seed 1's name
    junk.write_bytes(b"not a parquet file\n" * 50)
    return {p.relative_to(out): p.read_bytes() for p in (truncated, foreign, junk)}


def test_damaged_run_files_are_quarantined_and_redone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    args = ["run", *TOY, "--optimizers", "rs,re", "--seeds", "0-3", "--out", str(out), "--executor", "inline"]
    assert cli_main(args) == 0
    damaged = damage(out)
    assert all(check_run_file(out / p) for p in damaged)
    capsys.readouterr()

    assert cli_main(args) == 0
    text = capsys.readouterr().out
    assert "3 done now, 5 already finished, 0 failed" in text
    for rel, content in damaged.items():  # moved aside, byte for byte, and named; never deleted
        kept = out / "quarantine" / rel
        assert kept.read_bytes() == content and str(kept) in text
    assert "holds another run (seed 3, expected 1)" in text and "cannot be read" in text
    assert not leftovers(out)

    ref = tmp_path / "ref"
    run_experiment(toy(["rs", "re"], "0-3"), ref, executor="inline", progress=False)
    pd.testing.assert_frame_equal(load_results(out), load_results(ref))
    assert cli_main(args) == 0 and "0 done now, 8 already finished" in capsys.readouterr().out


def test_a_second_quarantine_of_the_same_run_keeps_both(tmp_path: Path) -> None:
    out = tmp_path / "r"
    exp = toy(["rs"], "0")
    for _ in range(2):
        run_experiment(exp, out, executor="inline", progress=False)
        run_files(out)[0].write_bytes(b"junk")
    s = run_experiment(exp, out, executor="inline", progress=False)
    assert s.done == 1 and len(s.quarantined) == 1
    kept = sorted(p.name for p in (out / "quarantine").rglob("seed-*"))
    assert kept == ["seed-00000.parquet", "seed-00000.parquet.1"]


def test_report_and_plot_name_unreadable_files_and_go_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    out = tmp_path / "r"
    run_experiment(toy(["rs", "re"], "0-3"), out, executor="inline", progress=False)
    damaged = damage(out)
    for command in ("report", "plot"):
        assert cli_main([command, str(out)]) == 0, command
        captured = capsys.readouterr()
        lines = [ln for ln in captured.err.splitlines() if "skipping run file" in ln]
        assert len(lines) == 3 and all(any(str(out / p) in ln for ln in lines) for p in damaged), captured.err
        assert "Traceback" not in captured.err
    assert cli_main(["report", str(out)]) == 0
    report = capsys.readouterr().out
    assert "3 unreadable run file(s)" in report and "EXCLUDED" in report
    assert "re 2/4, rs 3/4" in report  # runs (finished / total)
    runs = load_runs(out)
    assert sorted(runs.loc[runs["status"] == "unreadable", "path"]) == sorted(str(out / p) for p in damaged)
    assert set(runs["score_metric"].dropna()) == {"test"}  # unreadable files do not mix in an empty metric


def test_damage_inside_a_file_with_an_intact_footer_is_caught_when_loading(tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_experiment(toy(["rs"], "0-2"), out, executor="inline", progress=False)
    victim = run_files(out)[1]
    data = bytearray(victim.read_bytes())
    data[4:400] = bytes(396)  # the first column chunk; the footer at the end stays intact
    victim.write_bytes(bytes(data))
    assert check_run_file(victim) == ""  # the cheap check cannot see it: loading must
    with pytest.raises(UnreadableRunFile, match=re.escape(str(victim))):
        load_results(out)
    seen: list[Path] = []
    df = load_results(out, on_unreadable=lambda p, problem: seen.append(p))
    assert seen == [victim] and sorted(df["seed"].unique().tolist()) == [0, 2]


# -- 2. signals at awkward moments ---------------------------------------------------------------------------
def test_sigterm_during_a_lock_wait_at_start_up_stops_the_command(tmp_path: Path) -> None:
    """The command waits for another process's cache build (a lock this test holds); SIGTERM ends it."""
    cache = tmp_path / "cache"
    lock = cache / "nb201-v1" / ".cifar10.lock"  # the NB201 CIFAR-10 table's build lock (nasbench_bench.store)
    token = acquire_lock(lock)
    assert token is not None
    proc = cli_subprocess(["-v", "run", "--benchmark", "nb201-cifar10", "--optimizers", "rs", "--seeds", "0",
                           "--budget", "1e5", "--no-progress", "--out", str(tmp_path / "o")],
                          env={"NASBENCH_BENCH_CACHE": str(cache)})
    try:
        seen = ""
        for line in proc.stderr:  # wait until it is waiting for the lock
            seen += line
            if "waiting for" in line:
                break
        assert "waiting for" in seen, seen
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 143, stdout + stderr
        assert "interrupted (SIGTERM)" in stdout and "run the same command again to resume" in stdout
        assert group_gone(proc.pid)
        assert json.loads(lock.read_text())["token"] == token  # another process's lock is never broken
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        release_lock(lock, token)


SIGNAL_AT_POOL_CREATION = """
import os, signal, sys
from nasbench_bench import runner
from nasbench_bench.cli import main

spawn = runner._spawn_pool

def spawn_and_signal(workers):
    pool = spawn(workers)
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))  # the signal arrives while the pool starts
    return pool

runner._spawn_pool = spawn_and_signal
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(("sig", "rc"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_during_pool_creation_stops_the_command(tmp_path: Path, sig: str, rc: int) -> None:
    out = tmp_path / "o"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)])}
    proc = subprocess.Popen([sys.executable, "-c", SIGNAL_AT_POOL_CREATION, sig, "run", *TOY, "--optimizers",
                             "rs,re", "--seeds", "0-99", "--jobs", "2", "--out", str(out)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not ignored
    try:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == rc, stdout + stderr
        n = len(run_files(out))
        assert f"interrupted ({sig})" in stdout and f"{n} done now" in stdout
        assert group_gone(proc.pid) and not leftovers(out)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
def test_sigterm_with_thousands_of_runs_queued_stops_promptly_and_counts_the_files(tmp_path: Path) -> None:
    """3,000 runs on 2 workers (the case that once hung at exit): SIGTERM once runs are being written."""
    out = tmp_path / "o"
    proc = cli_subprocess(["run", *TOY, "--optimizers", "rs,re,reinforce", "--seeds", "0-999", "--jobs", "2",
                           "--out", str(out)])
    try:
        deadline = time.monotonic() + 120
        while len(run_files(out)) < 6 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 143, stdout + stderr
        assert group_gone(proc.pid)
        n = len(run_files(out))
        assert 6 <= n < 3000 and f"{n} done now" in stdout and not leftovers(out)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


# -- 3. a full disk ------------------------------------------------------------------------------------------
def test_a_full_disk_stops_at_the_first_error_keeps_finished_files_and_resumes(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch,
                                                                               capsys: pytest.CaptureFixture[str]
                                                                               ) -> None:
    out, full = tmp_path / "r", tmp_path / "disk-is-full"
    monkeypatch.setenv(FAULT_DISK_FULL_ENV, str(full))  # every process of the command, workers included
    run_experiment(toy(["rs", "re", "reinforce"], "0-3"), out, executor="inline", progress=False)
    before = {f: digest(f) for f in run_files(out)}
    assert len(before) == 12
    args = ["run", *TOY, "--optimizers", "rs,re,reinforce", "--seeds", "0-29", "--out", str(out), "--jobs", "2"]
    for fails, where in [("", out / "experiments"), ("seed-*.parquet\nseed-*.json", out / "runs")]:
        full.write_text(fails)  # from now on these atomic writes (all if empty) fail with ENOSPC
        assert cli_main(args) == 2
        captured = capsys.readouterr()
        errors = [ln for ln in captured.err.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and "no space left on the device of" in errors[0], captured.err
        assert str(where) in errors[0]
        assert "Errno 28" not in captured.out and "failed runs" not in captured.out
        assert "0 done now, 12 already finished, 0 failed" in captured.out
        assert {f: digest(f) for f in run_files(out)} == before  # finished files intact, nothing new
        assert not list(out.rglob("*.failed.json")) and not leftovers(out)

    full.unlink()  # space freed: the same command resumes, identically
    assert cli_main(args) == 0
    assert "78 done now, 12 already finished, 0 failed" in capsys.readouterr().out
    ref = tmp_path / "ref"
    run_experiment(toy(["rs", "re", "reinforce"], "0-29"), ref, executor="inline", progress=False)
    pd.testing.assert_frame_equal(load_results(out), load_results(ref))


@pytest.mark.slow
def test_a_real_full_file_system(tmp_path: Path) -> None:
    """The same on a 1 MB tmpfs, where ENOSPC comes from the kernel (skipped where mounting is not allowed)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        out = mnt / "r"
        args = ["run", *TOY, "--optimizers", "rs,re,reinforce", "--seeds", "0-199", "--jobs", "2", "--out", str(out)]
        proc = cli_subprocess(args)
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 2, stdout + stderr
        errors = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and "no space left on the device of" in errors[0] and str(out) in errors[0]
        files = run_files(out)
        assert 0 < len(files) < 600 and f"{len(files)} done now" in stdout and "0 failed" in stdout
        assert not list(out.rglob("*.failed.json")) and not leftovers(out)
        assert all(check_run_file(f) == "" for f in files)  # every finished file is whole
        kept = {f.name: digest(f) for f in files[:5]}
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        proc = cli_subprocess(args)
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stdout + stderr
        assert f"{600 - len(files)} done now, {len(files)} already finished, 0 failed" in stdout
        assert {f.name: digest(f) for f in files[:5]} == kept
        ref = tmp_path / "ref"
        run_experiment(toy(["rs", "re", "reinforce"], "0-199"), ref, jobs=2, progress=False)
        pd.testing.assert_frame_equal(load_results(out), load_results(ref))
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# -- 4. too many jobs ------------------------------------------------------------------------------------------
def expected_job_cap() -> int:
    """Read independently of the runner: usable cores and MemAvailable / the planned memory per worker."""
    cores = len(os.sched_getaffinity(0))
    with contextlib.suppress(OSError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, -(-int(quota) // int(period)))
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    available = int(meminfo["MemAvailable"].split()[0]) * 1024
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        available = min(available, int(limit) - int(used))
    return max(1, min(cores, available // WORKER_MEMORY))


@pytest.mark.skipif(not Path("/proc/meminfo").exists() or not hasattr(os, "sched_getaffinity"), reason="Linux")
def test_too_many_jobs_are_clamped_to_what_the_machine_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    cap = expected_job_cap()
    assert cli_main(["run", *TOY, "--optimizers", "rs", "--seeds", "0-1", "--jobs", "1000", "--out",
                     str(tmp_path / "o")]) == 0
    text = capsys.readouterr().out
    note = next(ln for ln in text.splitlines() if ln.startswith("note: --jobs 1000"))
    assert "core(s)" in note and "GiB of memory available" in note and note.endswith(f"running {cap}")
    assert f"jobs {cap};" in text and "2 done now" in text
    s = run_experiment(toy(["rs"], "0-1"), tmp_path / "p", jobs=10_000, progress=False)
    assert s.jobs == cap and "running" in s.jobs_note and s.done == 2
    assert run_experiment(toy(["rs"], "0"), tmp_path / "q", jobs=1, progress=False).jobs_note == ""


@pytest.mark.slow
def test_a_dask_local_cluster_is_clamped_too(tmp_path: Path) -> None:
    before = os.environ.get("PYTHONHASHSEED")
    s = run_experiment(toy(["rs"], "0-1"), tmp_path / "d", jobs=1000, executor="dask", progress=False)
    assert s.done == 2 and s.jobs == expected_job_cap() and s.jobs_note
    # the cluster's nannies set PYTHONHASHSEED in this process's environment: restored (later tests read it)
    assert os.environ.get("PYTHONHASHSEED") == before


# -- 6. two experiments into one directory at once ---------------------------------------------------------------
@pytest.mark.slow
def test_two_experiments_into_one_directory_at_once(tmp_path: Path) -> None:
    """Different optimizers (rs in both), same --out and the same default name: both finish, every run is
    computed exactly once, nothing is lost (both experiment records are kept)."""
    out = tmp_path / "shared"
    common = [*TOY, "--seeds", "0-14", "--out", str(out)]
    procs = [cli_subprocess(["run", *common, "--optimizers", "rs,re", "--jobs", "1"]),
             cli_subprocess(["run", *common, "--optimizers", "reinforce,rs", "--executor", "inline"])]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    done = [int(re.search(r"(\d+) done now", o[0]).group(1)) for o in outputs]
    skipped = [int(re.search(r"(\d+) already finished", o[0]).group(1)) for o in outputs]
    assert sum(done) == 45 and done[0] + skipped[0] == 30 and done[1] + skipped[1] == 30  # rs: 15 runs, once
    ref = tmp_path / "ref"
    run_experiment(toy(["re", "reinforce", "rs"], "0-14"), ref, executor="inline", progress=False)
    pd.testing.assert_frame_equal(load_results(out), load_results(ref))
    records = [json.loads(p.read_text()) for p in sorted((out / "experiments").glob("*.json"))]
    assert sorted(sorted(o["label"] for o in r["optimizers"]) for r in records) == [["re", "rs"], ["reinforce", "rs"]]
    assert not leftovers(out)
