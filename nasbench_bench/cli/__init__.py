"""The ``nasbench-bench`` command line. Each sub-module registers one command group.

A command module defines ``register(subparsers) -> None`` which adds its parser(s) and sets
``func=callable(args) -> int`` as the parser default. The library never prints; these modules do.

Ordinary mistakes (a bad experiment file, missing or damaged data, an unusable results directory, an unknown
optimizer, an unreachable scheduler...) end with one line ``error: ...`` and exit status 2; ``-v`` adds the
traceback. Exit status 130/143 means interrupted by Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback

COMMAND_MODULES = ("data", "run", "report", "bench", "analyze", "benchmarks")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nasbench-bench", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"nasbench_bench.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"nasbench_bench.cli.{name}":
                continue  # command group not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # distributed sets its loggers from its config when imported (here and in its worker processes)
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", logging.getLevelName(max(level, logging.WARNING)).lower())
    for noisy in ("smac", "hyperopt", "distributed", "Pyro4", "matplotlib", "numexpr"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # hpbandster's BOHB dumps its model data at WARNING on categorical spaces: routine, not actionable
    logging.getLogger("hpbandster").setLevel(max(level, logging.ERROR))
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:
        print("interrupted", file=sys.stderr)
        return 143 if getattr(exc, "signal_name", "") == "SIGTERM" else 130
    except user_errors() as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        if not args.verbose:
            print("(run with -v for the traceback)", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk is the machine's state, not a bug: one line too
        from nasbench_bench.paths import is_disk_full

        if not is_disk_full(exc):
            raise
        if args.verbose:
            traceback.print_exc()
        where = f" of {exc.filename}" if exc.filename else ""
        print(f"error: no space left on the device{where} ({_one_line(exc)})", file=sys.stderr)
        return 2


def prog() -> str:
    """How to call this command again: ``nasbench-bench`` if that is on PATH (and is this one), else its path."""
    import shutil
    from pathlib import Path

    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    found = shutil.which("nasbench-bench")
    if argv0 is None or argv0.name != "nasbench-bench":
        return "nasbench-bench"
    if found and Path(found).resolve() == argv0.resolve():
        return "nasbench-bench"
    return str(argv0)


class UsageError(ValueError):
    """A command-line mistake the parser cannot see (e.g. options that contradict each other)."""


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean a mistake in what the user gave, not a bug: reported in one line."""
    from nasbench_bench.benchmarks import BenchmarkDataError
    from nasbench_bench.experiment import ExperimentError
    from nasbench_bench.locks import LockBusy
    from nasbench_bench.nb101.download import DownloadError
    from nasbench_bench.nb101.spec import InvalidSpecError, OutOfDomainError
    from nasbench_bench.nb101.tfrecord import CorruptRecordError
    from nasbench_bench.optimizer import OptimizerError
    from nasbench_bench.problems import ProblemError
    from nasbench_bench.runner import RunnerError
    from nasbench_bench.store import DataFormatError

    return (UsageError, ExperimentError, BenchmarkDataError, DataFormatError, CorruptRecordError, OptimizerError,
            RunnerError, LockBusy, DownloadError, ProblemError, InvalidSpecError, OutOfDomainError, FileNotFoundError,
            NotADirectoryError, IsADirectoryError, PermissionError, FileExistsError)


def _one_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(text.split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
