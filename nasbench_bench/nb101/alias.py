"""Let unmodified client code keep ``from nasbench import api``: an opt-in alias onto this suite's drop-in.

:func:`install_alias` registers, in this process only, ``nasbench`` and ``nasbench.api`` (the drop-in
:mod:`nasbench_bench.nb101.api`), ``nasbench.lib.graph_util``, ``nasbench.lib.model_spec``,
``nasbench.lib.config`` (``build_config()``) and ``nasbench.lib.model_metrics_pb2`` (the record protobufs).
It refuses when a real ``nasbench`` is importable or already imported, unless ``force=True`` (then it says
so in a warning). To run a client script unmodified::

    python -m nasbench_bench.nb101.alias client.py [ARGS...]
"""

from __future__ import annotations

import importlib.util
import logging
import runpy
import sys
from types import ModuleType

__all__ = ["AliasError", "install_alias", "main"]

log = logging.getLogger(__name__)

_MARK = "__nasbench_bench_alias__"


class AliasError(ImportError):
    """The alias would shadow a real ``nasbench`` installation (pass ``force=True`` to do it anyway)."""


def _real_nasbench() -> str | None:
    """Where a real ``nasbench`` is imported or importable from, else ``None``."""
    mod = sys.modules.get("nasbench")
    if mod is not None:
        if getattr(mod, _MARK, False):
            return None
        return str(getattr(mod, "__file__", None) or list(getattr(mod, "__path__", [])) or mod)
    try:
        spec = importlib.util.find_spec("nasbench")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    return str(spec.origin if spec.origin not in (None, "namespace") else list(spec.submodule_search_locations or []))


def install_alias(force: bool = False) -> ModuleType:
    """Make ``import nasbench.api`` (and ``nasbench.lib.*``) resolve to this suite's drop-in; returns the api.

    Idempotent. :class:`AliasError` if a real ``nasbench`` is installed or imported, unless ``force``.
    """
    real = _real_nasbench()
    if real is not None:
        if not force:
            raise AliasError(
                f"a real 'nasbench' package is installed or imported ({real}); the alias would shadow it. "
                "Use it directly, or call install_alias(force=True) to shadow it in this process.")
        log.warning("nasbench_bench.nb101.install_alias(force=True): shadowing the real 'nasbench' at %s "
                    "in this process", real)
    elif getattr(sys.modules.get("nasbench"), _MARK, False):
        return sys.modules["nasbench.api"]

    from nasbench_bench.nb101 import api, graph_util, records, spec

    config = ModuleType("nasbench.lib.config", "The official build_config(), from nasbench_bench.nb101.api.")
    config.build_config = api.build_config  # type: ignore[attr-defined]
    pb2 = ModuleType("nasbench.lib.model_metrics_pb2", "The NAS-Bench-101 record protobufs (nasbench_bench).")
    pb2.ModelMetrics = records.ModelMetrics  # type: ignore[attr-defined]
    pb2.EvaluationData = records.EvaluationData  # type: ignore[attr-defined]
    lib = ModuleType("nasbench.lib", "Alias of nasbench_bench's official-API helpers.")
    lib.__path__ = []  # a package, so `import nasbench.lib.x` works
    for name, mod in (("graph_util", graph_util), ("model_spec", spec), ("config", config),
                      ("model_metrics_pb2", pb2)):
        setattr(lib, name, mod)
    top = ModuleType("nasbench", "Alias of nasbench_bench.nb101's drop-in for the official NAS-Bench-101 API.")
    top.__path__ = []
    top.api = api  # type: ignore[attr-defined]
    top.lib = lib  # type: ignore[attr-defined]
    setattr(top, _MARK, True)
    modules = {"nasbench": top, "nasbench.api": api, "nasbench.lib": lib,
               "nasbench.lib.graph_util": graph_util, "nasbench.lib.model_spec": spec,
               "nasbench.lib.config": config, "nasbench.lib.model_metrics_pb2": pb2}
    for stale in [k for k in sys.modules if k == "nasbench" or k.startswith("nasbench.")]:
        del sys.modules[stale]  # only reached with force=True when a real one was imported
    sys.modules.update(modules)
    return api


def main(argv: list[str] | None = None) -> int:
    """``python -m nasbench_bench.nb101.alias SCRIPT [ARGS...]``: run SCRIPT with the alias installed."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m nasbench_bench.nb101.alias SCRIPT [ARGS...]\n"
              "Run SCRIPT with `from nasbench import api` served by nasbench_bench (no TensorFlow).")
        return 0 if args else 2
    try:
        install_alias()
    except AliasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
