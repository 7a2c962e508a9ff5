"""The ``nasbench-bench`` command line. Each sub-module registers one command group.

A command module defines ``register(subparsers) -> None`` which adds its parser(s) and sets
``func=callable(args) -> int`` as the parser default. The library never prints; these modules do.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMAND_MODULES = ("data", "run", "report", "bench", "analyze")


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
    for noisy in ("smac", "hyperopt", "distributed", "Pyro4", "matplotlib", "numexpr"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # hpbandster's BOHB dumps its model data at WARNING on categorical spaces: routine, not actionable
    logging.getLogger("hpbandster").setLevel(max(level, logging.ERROR))
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
