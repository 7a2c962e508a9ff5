"""The CLI reference page (``docs/cli.md``) written from the parser itself: ``python -m nasbench_bench.cli.reference``.

Every command and sub-command with its usage line and one table row per option; the docs test checks that the
committed page is what this writes and that every option ``--help`` prints is on it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator

HEADER = """# Command-line reference

Every `nasbench-bench` command and option, written from the parser itself
(`python -m nasbench_bench.cli.reference > docs/cli.md`; a test checks that this page is current). Ordinary
mistakes end with one line `error: ...` and exit status 2; `-v` adds the traceback; 130 / 143 mean
interrupted by Ctrl-C / SIGTERM.
"""


def _subcommands(parser: argparse.ArgumentParser, prefix: str) -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", helps.get(name, ""), sub
                yield from _subcommands(sub, f"{prefix} {name}")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for a in parser._actions:
        if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) or a.help == argparse.SUPPRESS:
            continue
        if a.option_strings:
            meta = "" if a.nargs == 0 else f" {a.metavar or a.dest.upper()}"
            if a.choices is not None and a.metavar is None:
                meta = " {" + ",".join(map(str, a.choices)) + "}"
            name = ", ".join(f"`{s}{meta}`" for s in a.option_strings)
        else:
            name = f"`{a.metavar or a.dest}`"
        hidden = a.default is None or a.default is False or a.default == argparse.SUPPRESS or a.nargs == 0
        default = "" if hidden or "default" in (a.help or "") else f" (default: `{a.default}`)"
        help_text = (a.help or "") % {"default": a.default, "prog": parser.prog} if a.help else ""
        rows.append(f"| {name} | {_cell(help_text + default)} |")
    return rows


def markdown() -> str:
    """The reference page's text."""
    from nasbench_bench.cli import build_parser

    old, cpu_count = os.environ.get("COLUMNS"), os.cpu_count
    os.environ["COLUMNS"] = "110"  # argparse wraps usage lines to the terminal: a fixed width, a stable page
    os.cpu_count = lambda: _Cores(1)  # defaults computed from the machine read as what they are, on every machine
    try:
        return _markdown(build_parser())
    finally:
        os.cpu_count = cpu_count
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


class _Cores(int):
    """A default taken from ``os.cpu_count()``, written as such on the page."""

    def __str__(self) -> str:
        return "the number of cores"

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return str(self)


def _markdown(root: argparse.ArgumentParser) -> str:
    root.prog = "nasbench-bench"
    out = [HEADER]
    out.append("\n## nasbench-bench\n\n| option | what it does |\n| --- | --- |\n")
    out.append("\n".join(_option_rows(root)) + "\n")
    for name, help_text, sub in _subcommands(root, "nasbench-bench"):
        out.append(_section(name, help_text, sub))
        if name == "nasbench-bench bench":  # each benchmark parses its own options (`bench NAME --help`)
            from nasbench_bench.cli.bench import BENCHMARKS, bench_parser

            for bench in BENCHMARKS:
                parser, _ = bench_parser(bench)
                out.append(_section(f"{name} {bench}", parser.description or "", parser))
    return "".join(out)


def _section(name: str, help_text: str, parser: argparse.ArgumentParser) -> str:
    """One command's part of the page: heading, help line, usage, option table."""
    text = f"\n## {name}\n\n{_cell(help_text)}\n\n```text\n{parser.format_usage().strip()}\n```\n"
    rows = _option_rows(parser)
    if rows:
        text += "\n| option | what it does |\n| --- | --- |\n" + "\n".join(rows) + "\n"
    return text


if __name__ == "__main__":
    sys.stdout.write(markdown())
