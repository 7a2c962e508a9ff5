"""The documentation site's promises: it builds in strict mode, its code runs, it names everything the suite has.

Every ```python block of a page is executed (the page's blocks in order, as one script, in a fresh directory
holding the repository's ``results/`` and ``experiments/`` and the files a page's example opens). Every
``nasbench-bench`` command of a ```bash block is parsed by the command's own parser, and every ``run`` command is
built into its experiment (benchmarks, optimizers, hyperparameters, seeds and budget checked), without running
it: several are hours of compute (Figure 7) or need the official NAS-Bench-101 file.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(page: Path, lang: str) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(page.read_text()) if m.group(1) == lang]


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    """Broken links, missing anchors, unknown pages and unresolved API references fail the build."""
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "site" / "python-api" / "index.html").read_text().count("nasbench_bench.notebook.run") >= 1


def _nb101_example_file(where: Path) -> None:
    """A SYNTHETIC official-format file under the name the NB101 page uses, holding the page's example cell."""
    from conftest import random_valid_specs

    from nasbench_bench.nb101.spec import ModelSpec
    from nasbench_bench.nb101.synth import write_synthetic_tfrecord

    cell = ModelSpec([[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                      [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
                     ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu",
                      "maxpool3x3", "output"])
    write_synthetic_tfrecord(where / "nasbench_only108.tfrecord", [cell, *random_valid_specs(50)], variant="only108")


FIXTURES = {"nb101.md": _nb101_example_file}


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p, "python")], ids=lambda p: p.name)
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    for name in ("results", "experiments"):
        (tmp_path / name).symlink_to(ROOT / name)
    if page.name in FIXTURES:
        FIXTURES[page.name](tmp_path)
    script = "\n\n".join(blocks(page, "python"))
    (tmp_path / "page.py").write_text(script)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]), "MPLBACKEND": "Agg"}
    res = subprocess.run([sys.executable, "page.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=900)
    assert res.returncode == 0, f"{page.name}:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"


TOML_BLOCKS = [(p.name, b) for p in PAGES for b in blocks(p, "toml")]


@pytest.mark.parametrize(("page", "text"), TOML_BLOCKS, ids=[f"{p}:{i}" for i, (p, _) in enumerate(TOML_BLOCKS)])
def test_toml_blocks_build_experiments(page: str, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole experiment file builds as it is; a fragment (``[[optimizers]]``, ``[problem]``) inside a minimal one."""
    import tomllib

    from nasbench_bench.experiment import Experiment

    raw = tomllib.loads(text)
    if "seeds" not in raw:
        raw = {"benchmark": "nb201-cifar10", "seeds": "0", "time_budget": 1e4, "optimizers": ["rs"], **raw}
    monkeypatch.chdir(ROOT)
    exp = Experiment.from_dict({k: v for k, v in raw.items() if k != "plugins"}, source=page)
    assert exp.n_runs >= 1 and exp.optimizers


def shell_commands(text: str) -> list[list[str]]:
    """The ``nasbench-bench`` invocations of a bash block (continuations joined, loops' ``$k`` set to 1; each
    command cut at a redirection, pipe or ``&&``)."""
    text = text.replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        lexer = shlex.shlex(line.replace("$k", "1"), posix=True, punctuation_chars=True)
        lexer.whitespace_split, lexer.commenters = True, "#"
        words: list[str] = []
        for token in [*lexer, "&&"]:
            if token in ("&&", "||", ";", "|", ">", ">>", "<", "&"):
                while words and "=" in words[0] and not words[0].startswith("-"):
                    words = words[1:]  # VAR=value prefixes
                if words and words[0].endswith("nasbench-bench"):
                    out.append(words[1:])
                words = [] if token != ">" and token != ">>" else ["<redirect>"]
            elif words[:1] != ["<redirect>"]:
                words.append(token)
    return out


ALL_COMMANDS = [(p.name, cmd) for p in PAGES for b in blocks(p, "bash") for cmd in shell_commands(b)]
README_COMMANDS = [("README.md", cmd) for b in blocks(ROOT / "README.md", "bash") for cmd in shell_commands(b)]


def test_the_pages_have_shell_commands_to_check() -> None:
    assert len(ALL_COMMANDS) >= 20 and {c[0] for _, c in ALL_COMMANDS} >= {"run", "plot", "report", "bench", "data"}


@pytest.mark.parametrize(("page", "argv"), ALL_COMMANDS + README_COMMANDS,
                         ids=[f"{p}:{' '.join(a)[:60]}" for p, a in ALL_COMMANDS + README_COMMANDS])
def test_shell_commands_parse_and_their_experiments_build(page: str, argv: list[str], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from nasbench_bench.cli import build_parser
    from nasbench_bench.cli.run import _build_experiment

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's error exit
        pytest.fail(f"{page}: `nasbench-bench {' '.join(argv)}` does not parse (exit {exc.code})")
    if args.command == "run":
        example = blocks(DOCS / "plugins.md", "python")[0]  # the page's plug-in module, for `--plugin my_optimizers`
        (tmp_path / "my_optimizers.py").write_text(example)
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.chdir(ROOT)
        exp = _build_experiment(args)
        assert exp.n_runs >= 1


def test_every_benchmark_and_optimizer_is_documented() -> None:
    from nasbench_bench.benchmarks import benchmark_names, families
    from nasbench_bench.optimizer import BUILTINS, FACTORIES, get_optimizer

    bench_page = (DOCS / "benchmarks.md").read_text()
    missing = [b for b in benchmark_names() if f"`{b}`" not in bench_page]
    assert not missing, f"docs/benchmarks.md does not name {missing}"
    fam_missing = [f.name for f in families() if f"`{f.name}`" not in bench_page]
    assert not fam_missing, f"docs/benchmarks.md does not name the families {fam_missing}"
    opt_page = (DOCS / "optimizers.md").read_text()
    assert not [n for n in BUILTINS if f"`{n}`" not in opt_page], "docs/optimizers.md lacks a built-in"
    assert not [p for p in FACTORIES if f"`{p}:" not in opt_page], "docs/optimizers.md lacks a wrapper form"
    for n in BUILTINS:  # each default hyperparameter is named on the page
        hp = [k for k in get_optimizer(n).defaults if f"`{k}`" not in opt_page]
        assert not hp, f"docs/optimizers.md does not name {n}'s hyperparameters {hp}"


def _help_text(argv: list[str]) -> str:
    """What ``nasbench-bench ARGV --help`` prints (argparse's own formatter, 200 columns wide)."""
    import argparse

    from nasbench_bench.cli import build_parser
    from nasbench_bench.cli.bench import bench_parser

    if argv[:1] == ["bench"] and len(argv) == 2:
        parser = bench_parser(argv[1])[0]
    else:
        parser = build_parser()
        for word in argv:
            sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser = sub.choices[word]
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "200"
    try:
        return parser.format_help()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def _help_options(argv: list[str]) -> set[str]:
    heads = [ln.split("  ", 2)[1] for ln in _help_text(argv).splitlines() if re.match(r"^  --?\w", ln)]
    opts = {w.split()[0] for h in heads for w in h.split(", ")}
    return opts - {"-h", "--help"}


def test_every_option_of_every_command_is_in_the_cli_reference() -> None:
    """Read from ``--help`` (argparse's own output, not the page's generator), command by command."""
    page = (DOCS / "cli.md").read_text()
    commands = [h[len("## nasbench-bench"):].split() for h in re.findall(r"^## nasbench-bench.*$", page, re.M)]
    assert ["run"] in commands and ["data", "convert"] in commands and ["bench", "protocol"] in commands
    for argv in commands:
        section = page.split(f"## nasbench-bench{''.join(' ' + a for a in argv)}\n", 1)[1].split("\n## ", 1)[0]
        missing = [o for o in _help_options(argv) if f"`{o}" not in section]
        assert not missing, f"docs/cli.md, `nasbench-bench {' '.join(argv)}`: options {missing} missing"


def test_the_cli_reference_is_current() -> None:
    from nasbench_bench.cli.reference import markdown

    assert (DOCS / "cli.md").read_text() == markdown(), "run: python -m nasbench_bench.cli.reference > docs/cli.md"
