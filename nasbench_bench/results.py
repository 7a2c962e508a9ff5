"""Results of benchmark runs on disk, and loading them back as DataFrames.

Layout (one file per run = one ``(benchmark, optimizer settings, seed)``)::

    RESULTS/runs/<benchmark>/<label>-<settingshash8>/seed-<seed:05d>.parquet      finished run
    RESULTS/runs/<benchmark>/<label>-<settingshash8>/seed-<seed:05d>.failed.json  failed run (traceback)
    RESULTS/runs/<benchmark>/<label>-<settingshash8>/.seed-<seed:05d>.lock        run in progress

``label`` is the optimizer's display name (the registry name unless the experiment gives one); the
settings hash is the first 8 hex digits of the SHA-256 of the canonical JSON (sorted keys) of
``{"optimizer", "hyperparameters" (defaults merged with the overrides), "encoding", "time_budget",
"max_evaluations"}``, so a change of any setting writes to a new directory instead of mixing with old runs.
A run's identity is one value, :class:`RunId` ``(benchmark, label, settings hash, seed)``: it names the files
above, and :meth:`RunId.from_file` is the one place that reads it back from a file name.

A ``.parquet`` file holds one row per evaluation, in order:

=============  ============  ===========================================================================
column         type          meaning
=============  ============  ===========================================================================
benchmark      dict string   benchmark name (``nb101``, ``nb201-cifar10``, ...)
optimizer      dict string   optimizer label
settings       dict string   settings hash (8 hex)
seed           int32         run seed
eval           int32         evaluation index, 0-based, in the order performed (invalid ones included)
time           float64       simulated clock after the evaluation (s; evaluations on unit-cost tables)
cell           dict string   cell id evaluated (module hash / NB201 id), ``""`` for invalid configurations
valid          bool          configuration was valid
budget         int32         epochs of the metrics: the budget, or budget // 2 for a halfway evaluation
trial          int8          trial drawn, -1 for invalid
valid_acc      float64       validation value seen by the search, oriented higher-is-better (NaN if invalid)
train_acc      float64       train accuracy (NaN if invalid or not recorded)
incumbent      dict string   cell id of the incumbent after the evaluation, ``""`` before any valid one
regret         float64       incumbent regret (``table.best_score - table.score[incumbent]``), NaN before
workers        int32         simulated workers of the run (runs with ``workers`` > 1 only, see below)
worker         int32         the worker that performed the evaluation (0..workers-1)
start          float64       simulated time the evaluation started (s)
end            float64       simulated time it ended (= ``time``: the clock when it was delivered)
=============  ============  ===========================================================================

Runs of a problem other than ``single`` (:mod:`nasbench_bench.problems`) append :data:`PROBLEM_COLUMNS`:
``obj_<name>`` (float64, every cost objective of the table for the evaluated cell, e.g. ``obj_latency``,
``obj_params``; NaN if invalid), ``score`` (the table's score of the evaluated cell, what regret is measured on),
``search_value`` (what the search maximised: ``valid_acc``, the MnasNet reward, or the floor for an infeasible
evaluation) and ``feasible`` (bool); their ``regret`` column holds the problem's regret (constrained: against the
best feasible cell; mnasnet: the best reward; pareto: the hypervolume regret of the attained front) and the metadata
key ``problem`` the resolved problem (limits, normalisation bounds, reference point, the table's optimum).

The last four columns are written only by runs with several simulated workers (:mod:`nasbench_bench.simulator`);
a sequential run's file has exactly the first fourteen, as it always had, and :func:`load_results` fills them for
its rows (workers 1, worker 0, start = the previous evaluation's ``time``, end = ``time``). Such runs also record
``workers`` in their metadata and settings (so a K > 1 run never shares a directory with the sequential one).

The Parquet key/value metadata holds one JSON-encoded value per key: ``format_version``, ``benchmark``,
``optimizer`` (label), ``optimizer_name``, ``optimizer_path`` (``module:Class``), ``settings`` (JSON text),
``settings_hash``, ``hyperparameters`` (resolved, defaults included), ``encoding``, ``time_budget``,
``max_evaluations``, ``seed``, ``oracle_seed``/``optimizer_seed`` (how the streams were derived),
``score_metric``, ``best_score``, ``synthetic``, ``derived`` (the table's derived, not measured, values: a list of
sentences), ``metric`` and ``maximize`` (what the table's values measure; ``best_score`` and ``valid_acc`` are
oriented so higher is better), ``cost_model`` and ``cost_unit`` (``"seconds"``, or ``"evaluations"`` on unit-cost
tables, where ``time`` and ``time_budget`` count evaluations), ``median_score`` (the table's median configuration's
score: normalized regret divides by ``best_score - median_score``), ``domain``, ``table``, ``suite_version``,
``wall_s``, ``status`` (``"done"``), ``n_evals``, ``final_time``, ``final_regret``, ``pythonhashseed``, ``host``,
``finished``.
A ``.failed.json`` file holds the same keys (as far as known) with ``status: "failed"``, ``error`` (one
line) and ``traceback``. All files are written atomically (temporary file + rename); no pickle anywhere.

A run file that cannot be read (a truncated copy, a damaged disk) or that is not the run its name says (a file
copied over another, a row count that disagrees with its metadata) is found by :func:`check_run_file` from its
footer alone; the runner moves such a file into ``RESULTS/quarantine/`` (same relative path; never deleted) and
redoes the run. :func:`load_runs` lists it with status ``"unreadable"`` and :func:`load_results` skips it (or
raises :class:`UnreadableRunFile` naming it).

:func:`load_results` reads every finished run into one long DataFrame (the columns above, strings as
categoricals); :func:`load_runs` gives one row per run, failures included.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from nasbench_bench.oracle import ParallelTrajectory, Trajectory
from nasbench_bench.paths import atomic_path
from nasbench_bench.table import Table

__all__ = [
    "FORMAT_VERSION",
    "PARALLEL_COLUMNS",
    "RUN_COLUMNS",
    "RunId",
    "RunPaths",
    "UnreadableRunFile",
    "check_run_file",
    "load_results",
    "load_runs",
    "read_metadata",
    "quarantine_file",
    "read_run",
    "settings_hash",
    "trajectory_table",
    "write_failure",
    "write_run",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
RUNS_DIR = "runs"
#: Where the runner moves run files it cannot use (under the results directory, same relative path).
QUARANTINE_DIR = "quarantine"
_DICT_COLUMNS = ("benchmark", "optimizer", "settings", "cell", "incumbent")
SCHEMA = pa.schema(
    [
        ("benchmark", pa.dictionary(pa.int32(), pa.string())),
        ("optimizer", pa.dictionary(pa.int32(), pa.string())),
        ("settings", pa.dictionary(pa.int32(), pa.string())),
        ("seed", pa.int32()),
        ("eval", pa.int32()),
        ("time", pa.float64()),
        ("cell", pa.dictionary(pa.int32(), pa.string())),
        ("valid", pa.bool_()),
        ("budget", pa.int32()),
        ("trial", pa.int8()),
        ("valid_acc", pa.float64()),
        ("train_acc", pa.float64()),
        ("incumbent", pa.dictionary(pa.int32(), pa.string())),
        ("regret", pa.float64()),
    ]
)
#: Extra columns of a run with several simulated workers (:mod:`nasbench_bench.simulator`).
PARALLEL_FIELDS = (
    pa.field("workers", pa.int32()),
    pa.field("worker", pa.int32()),
    pa.field("start", pa.float64()),
    pa.field("end", pa.float64()),
)
PARALLEL_SCHEMA = pa.schema(list(SCHEMA) + list(PARALLEL_FIELDS))
#: Columns of a sequential run's file / of :func:`load_results`.
RUN_COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)
#: Fixed columns a problem's run appends (besides one ``obj_<name>`` per cost objective of the table).
PROBLEM_COLUMNS: tuple[str, ...] = ("score", "search_value", "feasible")
#: Columns a run with several workers adds (:func:`load_results` adds them, filled for sequential runs, when
#: any run it loads has them, or when asked for).
PARALLEL_COLUMNS: tuple[str, ...] = tuple(f.name for f in PARALLEL_FIELDS)
RUNS_COLUMNS: tuple[str, ...] = (
    "benchmark", "optimizer", "settings", "seed", "status", "budget_s", "score_metric", "synthetic", "n_evals",
    "final_regret", "wall_s", "encoding", "table", "optimizer_name", "error", "path", "derived", "cost_model",
    "cost_unit", "metric", "best_score", "median_score", "domain", "problem",
)
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=-]*$")
_RUN_FILE_RE = re.compile(r"^seed-(\d+)\.(parquet|failed\.json)$")


# -- naming -------------------------------------------------------------------------------------------
def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces) used for hashing and metadata."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable: {obj!r}")


def settings_hash(settings: Mapping[str, Any]) -> str:
    """First 8 hex digits of the SHA-256 of the settings' canonical JSON."""
    return hashlib.sha256(canonical_json(settings).encode()).hexdigest()[:8]


def check_label(label: str) -> str:
    """``label`` if usable as a directory name (letters, digits, ``_ . + = -``), else ``ValueError``."""
    if not isinstance(label, str) or not _LABEL_RE.match(label):
        raise ValueError(
            f"optimizer label {label!r} must start with a letter or digit and contain only letters, digits "
            "and _ . + = -"
        )
    return label


@dataclass(frozen=True)
class RunPaths:
    """The files of one run."""

    result: Path
    failed: Path
    lock: Path


@dataclass(frozen=True, order=True)
class RunId:
    """The identity of one run: ``(benchmark, optimizer label, settings hash, seed)``; ``str()`` is its path."""

    benchmark: str
    label: str
    settings_hash: str
    seed: int

    def __str__(self) -> str:
        return f"{self.benchmark}/{self.label}-{self.settings_hash}/seed-{self.seed:05d}"

    @property
    def setting(self) -> tuple[str, str, str]:
        """``(benchmark, label, settings hash)``: the runs of one setting differ only by seed."""
        return self.benchmark, self.label, self.settings_hash

    def paths(self, root: str | os.PathLike[str]) -> RunPaths:
        """Where this run's files live under results directory ``root``."""
        d = Path(root) / RUNS_DIR / self.benchmark / f"{check_label(self.label)}-{self.settings_hash}"
        stem = f"seed-{int(self.seed):05d}"
        return RunPaths(d / f"{stem}.parquet", d / f"{stem}.failed.json", d / f".{stem}.lock")

    @classmethod
    def from_file(cls, path: Path) -> tuple[RunId, bool] | None:
        """``(run id, failed)`` of a run file ``<benchmark>/<label>-<hash>/seed-N.(parquet|failed.json)``;
        None for any other file."""
        m = _RUN_FILE_RE.match(path.name)
        label, sep, shash = path.parent.name.rpartition("-")
        if not m or not sep or not label:
            return None
        return cls(path.parent.parent.name, label, shash, int(m.group(1))), m.group(2) != "parquet"


def run_metadata(run: Any) -> dict[str, Any]:
    """The metadata every record of run ``run`` (an :class:`~nasbench_bench.experiment.Run`) starts with."""
    return {
        "benchmark": run.id.benchmark,
        "optimizer": run.id.label,
        "optimizer_name": run.optimizer.name,
        "optimizer_path": run.optimizer.path,
        "settings": json.dumps(dict(run.settings), sort_keys=True),
        "settings_hash": run.id.settings_hash,
        "encoding": run.encoding,
        "time_budget": run.time_budget,
        "max_evaluations": run.max_evaluations,
        "seed": run.id.seed,
        "suite_version": _suite_version(),
        **({"workers": run.workers} if getattr(run, "workers", 1) > 1 else {}),
    }


def _suite_version() -> str:
    from nasbench_bench import __version__

    return __version__


# -- writing --------------------------------------------------------------------------------------------
def _dict_array(values: np.ndarray) -> pa.DictionaryArray:
    """Dictionary array of strings with the dictionary in first-appearance order (deterministic)."""
    uniq, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return pa.DictionaryArray.from_arrays(
        pa.array(rank[inverse.reshape(-1)], pa.int32()), pa.array(uniq[order].tolist(), pa.string())
    )


def _const_dict(value: str, n: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([value], pa.string()))


def trajectory_table(trajectory: Trajectory, table: Table, run: RunId, problem: Any = None) -> pa.Table:
    """The per-evaluation Arrow table of run ``run`` (the columns documented in the module docstring), with a
    problem's columns appended (a :class:`~nasbench_bench.problems.BoundProblem`; see :data:`PROBLEM_COLUMNS`)."""
    data = _trajectory_table(trajectory, table, run)
    if problem is None:
        return data
    for name, values in problem.record_columns(trajectory.row, trajectory.valid_acc).items():
        data = data.append_column(name, pa.array(values))
    return data


def _trajectory_table(trajectory: Trajectory, table: Table, run: RunId) -> pa.Table:
    n = len(trajectory)
    ids = np.concatenate([np.char.decode(table.cell_ids, "ascii").astype(object), np.array([""], object)])
    cell = ids[trajectory.row]  # row -1 -> the trailing ""
    inc = ids[trajectory.incumbent]
    arrays = [
        _const_dict(run.benchmark, n),
        _const_dict(run.label, n),
        _const_dict(run.settings_hash, n),
        pa.array(np.full(n, run.seed, np.int32)),
        pa.array(np.arange(n, dtype=np.int32)),
        pa.array(trajectory.time.astype(np.float64)),
        _dict_array(cell.astype(str)) if n else pa.array([], SCHEMA.field("cell").type),
        pa.array(trajectory.row >= 0),
        pa.array(trajectory.budget.astype(np.int32)),
        pa.array(trajectory.trial.astype(np.int8)),
        pa.array(trajectory.valid_acc.astype(np.float64)),
        pa.array(trajectory.train_acc.astype(np.float64)),
        _dict_array(inc.astype(str)) if n else pa.array([], SCHEMA.field("incumbent").type),
        pa.array(trajectory.regret.astype(np.float64)),
    ]
    if not isinstance(trajectory, ParallelTrajectory):  # a sequential run: exactly the columns it always had
        return pa.Table.from_arrays(arrays, schema=SCHEMA)
    arrays += [
        pa.array(np.full(n, trajectory.workers, np.int32)),
        pa.array(trajectory.worker.astype(np.int32)),
        pa.array(trajectory.start.astype(np.float64)),
        pa.array(trajectory.time.astype(np.float64)),
    ]
    return pa.Table.from_arrays(arrays, schema=PARALLEL_SCHEMA)


def _encode_meta(meta: Mapping[str, Any]) -> dict[bytes, bytes]:
    return {k.encode(): canonical_json(v).encode() for k, v in meta.items()}


def write_run(path: str | os.PathLike[str], data: pa.Table, metadata: Mapping[str, Any]) -> None:
    """Write a run's table with ``metadata`` (JSON-encoded per key) atomically to ``path``."""
    meta = {"format_version": FORMAT_VERSION, **metadata}
    data = data.replace_schema_metadata(_encode_meta(meta))
    with atomic_path(path, suffix=".parquet") as tmp:
        pq.write_table(data, tmp, compression="zstd")


def write_failure(path: str | os.PathLike[str], metadata: Mapping[str, Any]) -> None:
    """Write a failed run's record (metadata incl. ``error`` and ``traceback``) atomically as JSON."""
    meta = {"format_version": FORMAT_VERSION, "status": "failed", **metadata}
    text = json.dumps(meta, indent=1, sort_keys=True, default=_json_default)
    with atomic_path(path) as tmp:
        tmp.write_text(text)


# -- reading ----------------------------------------------------------------------------------------------
def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata of a run file (``.parquet`` footer or ``.failed.json``)."""
    path = Path(path)
    if path.name.endswith(".json"):
        return json.loads(path.read_text())
    return _decode_meta(pq.read_schema(path).metadata)


class UnreadableRunFile(ValueError):
    """A run file that cannot be read, or is not the run its name says; ``path`` and ``problem`` say which."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(f"unreadable run file {str(path)!r}: {problem}")
        self.path = Path(path)
        self.problem = problem


_READ_ERRORS = (OSError, ValueError, TypeError, pa.ArrowException)
_IDENTITY_KEYS = (("benchmark", "benchmark"), ("optimizer", "label"), ("settings_hash", "settings_hash"),
                  ("seed", "seed"))


def _problem(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _inspect(path: Path, run: RunId | None) -> tuple[dict[str, Any], str]:
    """(metadata, problem) of the finished-run file ``path`` from its footer: problem is ``""`` if the file reads
    and is run ``run`` (default: the run its name says), else one line saying what is wrong."""
    try:
        footer = pq.read_metadata(path)
        meta = _decode_meta(footer.metadata)
        n_rows = footer.num_rows
        columns = set(footer.schema.names)
    except _READ_ERRORS as exc:
        return {}, f"cannot be read ({_problem(exc)})"
    if "format_version" not in meta:
        return meta, "not a run file of this suite (no format_version in its metadata)"
    if meta.get("status", "done") != "done":
        return meta, f"status {meta.get('status')!r}, not 'done'"
    missing = [c for c in RUN_COLUMNS if c not in columns]
    if missing:
        return meta, f"lacks the column(s) {missing}"
    if run is None:
        parsed = RunId.from_file(path)
        run = parsed[0] if parsed is not None else None
    if run is not None:
        for key, attr in _IDENTITY_KEYS:
            if key in meta and meta[key] != getattr(run, attr):
                return meta, f"holds another run ({key} {meta[key]!r}, expected {getattr(run, attr)!r})"
    if "n_evals" in meta and meta["n_evals"] != n_rows:
        return meta, f"{n_rows} rows but its metadata says {meta['n_evals']} evaluations"
    return meta, ""


def check_run_file(path: str | os.PathLike[str], run: RunId | None = None) -> str:
    """``""`` if the finished-run file ``path`` is readable and is run ``run`` (default: the run its name says),
    else what is wrong, in one line. Cheap: reads the footer only (metadata, schema, row count)."""
    return _inspect(Path(path), run)[1]


def quarantine_file(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> Path:
    """Move run file ``path`` (under results directory ``root``) to ``root/quarantine/`` under the same relative
    path (``.1``, ``.2``... appended if that name is taken); never deletes anything. Returns the new path."""
    path, root = Path(path), Path(root)
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        rel = Path(path.name)
    dest = root / QUARANTINE_DIR / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    candidate, n = dest, 0
    while candidate.exists():
        n += 1
        candidate = dest.with_name(f"{dest.name}.{n}")
    os.rename(path, candidate)
    return candidate


def _decode_meta(raw: Mapping[bytes, bytes] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in (raw or {}).items():
        key = k.decode()
        if key == "ARROW:schema":
            continue
        try:
            out[key] = json.loads(v)
        except ValueError:
            out[key] = v.decode(errors="replace")
    return out


def read_run(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One run file as (per-evaluation DataFrame, metadata)."""
    return pq.read_table(path).to_pandas(), read_metadata(path)


@dataclass(frozen=True)
class _RunFile:
    path: Path
    run: RunId
    failed: bool


def _scan(root: str | os.PathLike[str]) -> list[_RunFile]:
    """Every run file under ``root`` (a results directory or its ``runs/`` directory), sorted."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"results directory {str(root)!r} does not exist")
    base = root / RUNS_DIR if (root / RUNS_DIR).is_dir() else root
    out: list[_RunFile] = []
    for bdir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for odir in sorted(p for p in bdir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if not odir.name.rpartition("-")[0]:
                log.warning("ignoring %s: not <label>-<settingshash>", odir)
                continue
            for f in sorted(odir.iterdir()):
                parsed = RunId.from_file(f)
                if parsed is not None:
                    out.append(_RunFile(f, *parsed))
    return out


def _workers_of(path: Path) -> int | None:
    """Simulated workers of the run in file ``path`` (1 for a sequential run; None for an unreadable file)."""
    try:
        return int(read_metadata(path).get("workers", 1) or 1)
    except (OSError, ValueError, TypeError, pa.ArrowException):
        return None


def _setting_workers(files: Iterable[_RunFile]) -> dict[tuple[str, str, str], int]:
    """Simulated workers of every setting (benchmark, label, hash): one file footer read per setting (more only
    while files are unreadable)."""
    by_setting: dict[tuple[str, str, str], list[Path]] = {}
    for f in files:
        by_setting.setdefault(f.run.setting, []).append(f.path)
    out: dict[tuple[str, str, str], int] = {}
    for setting, paths in by_setting.items():
        k = None
        for path in paths:
            k = _workers_of(path)
            if k is not None:
                break
        out[setting] = k or 1
    return out


def _display_names(files: Iterable[_RunFile]) -> dict[tuple[str, str, str], str]:
    """(benchmark, label, hash) -> optimizer name shown: the label (``label@K<k>`` for runs with k > 1 simulated
    workers), or ``label-hash`` when one label has several settings besides the workers on a benchmark (so runs
    of different settings never mix)."""
    workers = _setting_workers(files)
    by_label: dict[tuple[str, str, int], set[str]] = {}
    for (bench, label, h), k in workers.items():
        by_label.setdefault((bench, label, k), set()).add(h)
    out: dict[tuple[str, str, str], str] = {}
    for (bench, label, k), hashes in by_label.items():
        shown = label if k == 1 else f"{label}@K{k}"
        if len(hashes) > 1:
            log.warning(
                "benchmark %s: optimizer label %r has runs with %d different settings %s; they are shown as "
                "'%s-<hash>' (give each setting its own label to avoid this)",
                bench, shown, len(hashes), sorted(hashes), label,
            )
        for h in hashes:
            out[(bench, label, h)] = f"{label}-{h}" + shown[len(label):] if len(hashes) > 1 else shown
    return out


def _select(
    files: list[_RunFile], benchmarks: Sequence[str] | None, optimizers: Sequence[str] | None
) -> list[_RunFile]:
    names = _display_names(files)
    return [
        f for f in files
        if (benchmarks is None or f.run.benchmark in benchmarks)
        and (optimizers is None or f.run.label in optimizers or names[f.run.setting] in optimizers)
    ]


def _empty_results(columns: Sequence[str]) -> pd.DataFrame:
    return PARALLEL_SCHEMA.empty_table().select(list(columns)).to_pandas()


def _fill_sequential(df: pd.DataFrame) -> None:
    """Fill the parallel columns of sequential runs' rows (null there): one worker, 0, each evaluation starting
    when the previous one of its run ended, ending at its ``time``."""
    time = df["time"].to_numpy(dtype=np.float64)
    if "workers" in df.columns:
        df["workers"] = df["workers"].fillna(1).astype(np.int32)
    if "worker" in df.columns:
        df["worker"] = df["worker"].fillna(0).astype(np.int32)
    if "end" in df.columns:
        df["end"] = df["end"].fillna(pd.Series(time, index=df.index))
    if "start" in df.columns:
        prev = np.concatenate(([0.0], time[:-1]))
        prev[df["eval"].to_numpy() == 0] = 0.0
        df["start"] = df["start"].fillna(pd.Series(prev, index=df.index))


def load_results(
    path: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
    benchmarks: Sequence[str] | None = None,
    optimizers: Sequence[str] | None = None,
    skip: Collection[str | os.PathLike[str]] = (),
    on_unreadable: Callable[[Path, str], None] | None = None,
) -> pd.DataFrame:
    """All finished runs under results directory ``path`` as one long DataFrame (one row per evaluation).

    Columns are :data:`RUN_COLUMNS`, plus :data:`PARALLEL_COLUMNS` when any run loaded has several simulated
    workers (or ``columns``, from both); strings are categoricals. Rows are ordered by
    benchmark, optimizer label, settings, seed, eval. Runs are selected by ``benchmarks``/``optimizers``
    before any file is read; files in ``skip`` are not read. If one label has runs with different settings on a
    benchmark, its ``optimizer`` values become ``label-<settingshash>`` (with a warning).

    A file that cannot be read raises :class:`UnreadableRunFile` naming it; with ``on_unreadable``, it is skipped
    and ``on_unreadable(path, problem)`` is called instead (the other runs load as usual).
    """
    valid = RUN_COLUMNS + PARALLEL_COLUMNS
    unknown = sorted(set(columns or ()) - set(valid))
    if unknown:
        raise ValueError(f"unknown result column(s) {unknown}; valid: {list(valid)}")
    all_files = _scan(path)
    names = _display_names(all_files)
    skipped = {Path(p) for p in skip}
    files = [f for f in _select(all_files, benchmarks, optimizers) if not f.failed and f.path not in skipped]
    if columns is None:
        workers = _setting_workers(files)
        cols = list(RUN_COLUMNS + (PARALLEL_COLUMNS if any(k > 1 for k in workers.values()) else ()))
    else:
        cols = list(columns)
    if not files:
        return _empty_results(cols)
    parallel = [c for c in cols if c in PARALLEL_SCHEMA.names[len(SCHEMA):]]
    read_cols = list(dict.fromkeys(cols + (["benchmark", "optimizer", "settings"] if "optimizer" in cols else [])
                                   + (["eval", "time"] if parallel else [])))
    df = _read_files([f.path for f in files], read_cols, on_unreadable)
    if parallel:
        _fill_sequential(df)
    renames = {k: v for k, v in names.items() if v != k[1]}
    if renames and "optimizer" in cols:
        codes = [df[c].cat.codes.to_numpy().astype(np.int64) for c in ("benchmark", "optimizer", "settings")]
        sizes = [len(df[c].cat.categories) for c in ("benchmark", "optimizer", "settings")]
        key = (codes[0] * sizes[1] + codes[1]) * sizes[2] + codes[2]
        uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        shown = [
            names.get((str(df["benchmark"].iat[i]), str(df["optimizer"].iat[i]), str(df["settings"].iat[i])),
                      str(df["optimizer"].iat[i]))
            for i in first
        ]
        cats = list(dict.fromkeys(shown))
        pos = {c: i for i, c in enumerate(cats)}
        mapped = np.array([pos[s] for s in shown], dtype=np.int32)[inverse.reshape(-1)]
        df["optimizer"] = pd.Categorical.from_codes(mapped, categories=cats)
    for c in _DICT_COLUMNS:
        if c in df.columns and not isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype("category")
    return df[cols]


def _read_files(paths: Sequence[Path], columns: list[str], on_unreadable: Callable[[Path, str], None] | None
                ) -> pd.DataFrame:
    """Columns ``columns`` of the run files ``paths`` as one DataFrame: all at once, or, if that fails, file by
    file to find the unreadable ones (raised as :class:`UnreadableRunFile`, or passed to ``on_unreadable``)."""
    fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=list(_DICT_COLUMNS)))

    def read(group: Sequence[Path]) -> pa.Table:
        dataset = ds.dataset([str(p) for p in group], schema=PARALLEL_SCHEMA, format=fmt)
        return dataset.to_table(columns=columns, use_threads=True)

    try:
        return read(paths).to_pandas()
    except _READ_ERRORS:
        pass
    good: list[Path] = []
    for p in paths:
        try:
            read([p])
        except _READ_ERRORS as exc:
            problem = f"cannot be read ({_problem(exc)})"
            if on_unreadable is None:
                raise UnreadableRunFile(p, problem) from None
            log.warning("skipping unreadable run file %s: %s", p, problem)
            on_unreadable(p, problem)
            continue
        good.append(p)
    if not good:
        return PARALLEL_SCHEMA.empty_table().select(columns).to_pandas()
    return read(good).to_pandas()


def load_runs(
    path: str | os.PathLike[str],
    benchmarks: Sequence[str] | None = None,
    optimizers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per run under ``path``, failures included: :data:`RUNS_COLUMNS` (``status`` is ``"done"``,
    ``"failed"`` or ``"unreadable"``: a file :func:`check_run_file` rejects, with the problem as its ``error``;
    ``error`` is the one-line error of a failed run, else empty). Reads only file footers."""
    all_files = _scan(path)
    names = _display_names(all_files)
    files = _select(all_files, benchmarks, optimizers)
    done = {f.run for f in files if not f.failed}
    rows: list[dict[str, Any]] = []
    for f in files:
        if f.failed and f.run in done:
            continue  # a stale failure record next to a finished run: the run counts as done
        if f.failed:
            try:
                meta = read_metadata(f.path)
            except _READ_ERRORS as exc:
                meta = {"status": "unreadable", "error": f"cannot be read ({_problem(exc)})"}
        else:
            meta, problem = _inspect(f.path, f.run)
            if problem:  # nothing it says can be trusted
                meta = {"status": "unreadable", "error": problem}
        rows.append(
            {
                "benchmark": f.run.benchmark,
                "optimizer": names[f.run.setting],
                "settings": f.run.settings_hash,
                "seed": f.run.seed,
                "status": meta.get("status", "failed" if f.failed else "done"),
                "budget_s": meta.get("time_budget", np.nan),
                "score_metric": meta.get("score_metric"),  # None (NaN) if unknown: a failed or unreadable run
                "synthetic": meta.get("synthetic"),
                "n_evals": meta.get("n_evals", 0 if f.failed else -1),
                "final_regret": meta.get("final_regret", np.nan),
                "wall_s": meta.get("wall_s", np.nan),
                "encoding": meta.get("encoding", ""),
                "table": meta.get("table", ""),
                "optimizer_name": meta.get("optimizer_name", ""),
                "error": meta.get("error", ""),
                "path": str(f.path),
                "derived": "; ".join(meta.get("derived") or ()),
                "cost_model": meta.get("cost_model", "recorded" if "score_metric" in meta else ""),
                "cost_unit": meta.get("cost_unit", "seconds" if "score_metric" in meta else ""),
                "metric": meta.get("metric", "accuracy" if "score_metric" in meta else ""),
                "best_score": meta.get("best_score", np.nan),
                "median_score": meta.get("median_score", np.nan),
                "domain": meta.get("domain", ""),
                "problem": (meta.get("problem") or {}).get("spec", "single") if meta.get("status") != "unreadable"
                else "",
            }
        )
    df = pd.DataFrame(rows, columns=list(RUNS_COLUMNS))
    df = df.astype(
        {"seed": "int64", "n_evals": "int64", "budget_s": "float64", "wall_s": "float64", "final_regret": "float64",
         "best_score": "float64", "median_score": "float64"}
    )
    df["synthetic"] = df["synthetic"].astype("boolean")
    for c in ("benchmark", "optimizer", "settings", "status", "score_metric", "encoding", "table", "optimizer_name"):
        df[c] = df[c].astype("category")
    return df.reset_index(drop=True)
