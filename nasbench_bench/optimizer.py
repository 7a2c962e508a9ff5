"""The optimizer interface and registry.

An optimizer is a class with a ``name``, its hyperparameters' ``defaults`` (the paper's settings) and
either the ask/tell pair (the oracle drives the loop) or ``run(oracle)`` (the optimizer owns its loop, as
hpbandster and SMAC do). Configurations are encoding vectors (see :mod:`nasbench_bench.encodings`) or
dicts. The search only ever sees :class:`~nasbench_bench.oracle.Evaluation` (no test accuracy).

Optimizers are found by name: built-ins, classes registered with :func:`register`, the
``nasbench_bench.optimizers`` entry-point group, a dotted path ``package.module:Class``, or a *parametrized*
name ``prefix:argument`` whose prefix is in :data:`FACTORIES` (a function builds the class from the argument,
e.g. a wrapper around another optimizer). :func:`import_path` gives what a worker process resolves again.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, ClassVar

import numpy as np

from nasbench_bench.encodings import Encoding
from nasbench_bench.oracle import BudgetExhausted, Evaluation, Oracle, Trajectory

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "nasbench_bench.optimizers"

#: Built-in optimizers: registry name -> "module:Class" (imported only when used).
BUILTINS: dict[str, str] = {
    "rs": "optimizers.random_search:RandomSearch",
    "re": "optimizers.regularized_evolution:RegularizedEvolution",
    "reinforce": "optimizers.reinforce:Reinforce",
    "tpe": "optimizers.tpe:TPE",
    "smac": "optimizers.smac:SMAC",
    "hb": "optimizers.hyperband:Hyperband",
    "bohb": "optimizers.bohb:BOHB",
    "ls": "optimizers.local_search:LocalSearch",
    "optuna-tpe": "optimizers.optuna_samplers:OptunaTPE",
    "optuna-cmaes": "optimizers.optuna_samplers:OptunaCmaEs",
    "optuna-qmc": "optimizers.optuna_samplers:OptunaQMC",
    "optuna-random": "optimizers.optuna_samplers:OptunaRandom",
    "asha": "optimizers.asha:ASHA",
    "bananas": "optimizers.bananas:Bananas",
    "de": "optimizers.de:DE",
    "dehb": "optimizers.dehb:DEHB",
    # multi-objective (nasbench_bench.problems: they read Evaluation.objectives)
    "mo-rs": "optimizers.multi_objective:MORandomSearch",
    "mo-re": "optimizers.multi_objective:MORegularizedEvolution",
    "optuna-nsga2": "optimizers.optuna_samplers:OptunaNSGA2",
    "optuna-nsga3": "optimizers.optuna_samplers:OptunaNSGA3",
    "optuna-motpe": "optimizers.optuna_samplers:OptunaMOTPE",
}


#: Parametrized optimizer names: prefix -> "module:function"; ``function(argument) -> type[Optimizer]`` builds
#: the class of ``"prefix:argument"`` (imported only when used).
FACTORIES: dict[str, str] = {
    "optuna": "optimizers.optuna_samplers:sampler_optimizer",  # optuna:SamplerClassName
    "lce": "optimizers.lce:make_lce",  # learning-curve early stopping around a single-fidelity optimizer: lce:re
    "zc": "optimizers.zc:make_zc",  # zero-cost (training-free) warm-up: zc:re, zc:rs, zc:bananas
    "scalarize": "optimizers.scalarize:make_scalarize",  # random Chebyshev scalarisation (ParEGO-style): scalarize:re
}


class OptimizerError(ValueError):
    """An optimizer that cannot be found or loaded, or hyperparameters it does not accept."""


class Optimizer:
    """Base class: subclass it, set ``name`` and ``defaults``, implement ``ask``/``tell`` or ``run``.

    ``self.rng`` is this run's own ``numpy.random.Generator``; ``self.hp`` the hyperparameters (defaults
    overridden by keyword arguments; unknown names are an error).
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: True if the optimizer evaluates several budgets (fidelities) of the table.
    multi_fidelity: ClassVar[bool] = False
    #: True if runs are only reproducible with a fixed PYTHONHASHSEED (the runner then guarantees one).
    needs_fixed_hashseed: ClassVar[bool] = False
    #: Set on classes built by a :data:`FACTORIES` entry: the parametrized name that builds them again.
    import_path: ClassVar[str] = ""
    #: True if ``ask`` may be called again before earlier asks are told (several simulated workers, see
    #: :mod:`nasbench_bench.simulator`); ``ask`` may then also return None: no work until the next ``tell``.
    pending_asks: ClassVar[bool] = False

    def __init__(self, encoding: Encoding, seed: int = 0, **hyperparameters: Any) -> None:
        self.encoding = encoding
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.hp: dict[str, Any] = self.resolve_hyperparameters(hyperparameters)
        self.setup()

    @classmethod
    def resolve_hyperparameters(cls, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """``defaults`` overridden by ``overrides``; :class:`OptimizerError` naming unknown names."""
        unknown = sorted(set(overrides) - set(cls.defaults))
        if unknown:
            raise OptimizerError(
                f"unknown hyperparameter(s) {unknown} for optimizer {cls.name or cls.__name__!r}; "
                f"valid: {sorted(cls.defaults)}"
            )
        hp = {**cls.defaults, **overrides}
        cls.check_hyperparameters(hp)
        return hp

    @classmethod
    def check_hyperparameters(cls, hp: Mapping[str, Any]) -> None:
        """Raise :class:`OptimizerError` naming a hyperparameter value this optimizer cannot use (override it;
        :func:`check_number` helps). Called once per experiment, before anything runs."""

    @classmethod
    def check_table(cls, table: Any, hp: Mapping[str, Any]) -> None:
        """Raise :class:`OptimizerError` if this optimizer cannot run on ``table`` with ``hp`` (e.g. a column it
        needs is missing). Called once per benchmark when an experiment is resolved, before any run starts."""

    def setup(self) -> None:
        """Called at the end of ``__init__``: build state from ``self.hp``."""

    def begin(self, oracle: Oracle, workers: int) -> None:
        """Called once before the first :meth:`ask` of a run with ``workers`` > 1 simulated workers (the
        sequential protocol calls :meth:`run` instead). Default: nothing."""

    def end(self) -> None:
        """Called once when a run with ``workers`` > 1 ends, however it ends (release resources). Default:
        nothing."""

    def ask(self) -> np.ndarray | Mapping[str, Any]:
        """The next configuration to evaluate (vector or dict). With several workers (``pending_asks``), None
        means no work until the next evaluation completes."""
        raise NotImplementedError(f"{type(self).__name__} implements neither ask/tell nor run")

    def tell(self, config: np.ndarray | Mapping[str, Any], evaluation: Evaluation) -> None:
        """Receive the evaluation of a configuration returned by :meth:`ask` (the same object), in completion
        order."""

    def run(self, oracle: Oracle) -> None:
        """Drive the search until the oracle raises :class:`BudgetExhausted` (default: ask/tell loop, every
        configuration checked: a bad one raises :class:`OptimizerError` naming the optimizer and the problem)."""
        while True:
            config = self.ask()
            self.tell(config, oracle.evaluate(self.checked(config)))

    def checked(self, config: Any) -> np.ndarray | Mapping[str, Any]:
        """``config`` if it is a valid configuration of the encoding (a vector or a dict), else
        :class:`OptimizerError` saying what ``ask()`` returned and what is wrong with it."""
        who = f"optimizer {self.name or type(self).__name__!r}: ask() returned a configuration that"
        if isinstance(config, Mapping):
            try:
                vector = self.encoding.to_vector(config)
            except (TypeError, ValueError) as exc:
                raise OptimizerError(f"{who} is not valid: {exc}") from None
            problem = self.encoding.problem(vector)
            if problem is not None:
                raise OptimizerError(f"{who} {problem}")
            return config
        problem = self.encoding.problem(config)
        if problem is not None:
            raise OptimizerError(f"{who} {problem}")
        return config


def check_number(
    optimizer: type[Optimizer] | str, hp: Mapping[str, Any], key: str, *, integer: bool = False,
    minimum: float | None = None, maximum: float | None = None, exclusive_minimum: bool = False,
    exclusive_maximum: bool = False, optional: bool = False,
) -> None:
    """Check that ``hp[key]`` is a number (an int when ``integer``) within the bounds (None allowed if
    ``optional``); :class:`OptimizerError` naming the optimizer, the hyperparameter and what is wrong."""
    name = optimizer if isinstance(optimizer, str) else (optimizer.name or optimizer.__name__)
    v = hp.get(key)
    if v is None and optional:
        return
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok_type or (not integer and not math.isfinite(float(v))):
        raise OptimizerError(f"optimizer {name!r}: hyperparameter {key}={v!r} must be {kind}"
                             + (" or None" if optional else ""))
    if minimum is not None and (v <= minimum if exclusive_minimum else v < minimum):
        raise OptimizerError(f"optimizer {name!r}: hyperparameter {key}={v!r} must be "
                             f"{'>' if exclusive_minimum else '>='} {minimum}")
    if maximum is not None and (v >= maximum if exclusive_maximum else v > maximum):
        raise OptimizerError(f"optimizer {name!r}: hyperparameter {key}={v!r} must be "
                             f"{'<' if exclusive_maximum else '<='} {maximum}")


def run_optimizer(optimizer: Optimizer, oracle: Oracle) -> Trajectory:
    """Run ``optimizer`` on ``oracle`` until the budget is spent; return the run's trajectory."""
    try:
        optimizer.run(oracle)
    except BudgetExhausted:
        pass
    if not oracle.exhausted:
        log.warning("%s stopped before its budget was spent (clock %.1f s)", optimizer.name, oracle.clock)
    return oracle.trajectory()


# -- registry -----------------------------------------------------------------------------------------
_REGISTERED: dict[str, type[Optimizer]] = {}


def register(cls: type[Optimizer]) -> type[Optimizer]:
    """Class decorator: make ``cls`` available by ``cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)) or not cls.name:
        raise TypeError(f"{cls!r} must be an Optimizer subclass with a non-empty `name`")
    _REGISTERED[cls.name] = cls
    return cls


def _load_path(path: str) -> type[Optimizer]:
    module_name, _, attr = path.partition(":")
    if not attr:
        raise OptimizerError(f"optimizer path {path!r} must look like 'package.module:ClassName'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise OptimizerError(f"cannot import module {module_name!r} for optimizer {path!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise OptimizerError(f"module {module_name!r} has no {attr!r} (optimizer {path!r})") from None
    if not (isinstance(obj, type) and issubclass(obj, Optimizer)):
        raise OptimizerError(f"{path!r} is not a subclass of nasbench_bench.optimizer.Optimizer")
    return obj


def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> dict[str, str]:
    """All optimizer names -> where they come from ('module:Class')."""
    out = dict(BUILTINS)
    out.update(_entry_points())
    out.update({n: f"{c.__module__}:{c.__qualname__}" for n, c in _REGISTERED.items()})
    return out


def get_optimizer(name: str) -> type[Optimizer]:
    """Resolve an optimizer class by registry name, entry point or ``module:Class`` path."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in BUILTINS:
        return _load_path(BUILTINS[name])
    eps = _entry_points()
    if name in eps:
        return _load_path(eps[name])
    prefix, sep, argument = name.partition(":")
    if sep and prefix in FACTORIES:
        return _from_factory(prefix, argument)
    if sep:
        return _load_path(name)
    raise KeyError(f"unknown optimizer {name!r}; available: {sorted(available())} or 'package.module:Class'"
                   + (f" or one of the forms {sorted(p + ':...' for p in FACTORIES)}" if FACTORIES else ""))


def _from_factory(prefix: str, argument: str) -> type[Optimizer]:
    module_name, _, attr = FACTORIES[prefix].partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    cls = factory(argument)
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise OptimizerError(f"{prefix}:{argument!r} did not give an Optimizer subclass")
    cls.import_path = f"{prefix}:{argument}"
    return cls


def inner_optimizer(prefix: str, argument: str, single_fidelity: str = "") -> type[Optimizer]:
    """The optimizer a wrapper ``prefix:argument`` wraps (``OptimizerError`` naming the form if unknown). A wrapper
    of single-fidelity optimizers passes ``single_fidelity``: what it wraps, said when refusing a multi-fidelity one."""
    try:
        inner = get_optimizer(argument)
    except KeyError as exc:
        raise OptimizerError(f"{prefix}:{argument}: {exc.args[0]}") from None
    if single_fidelity and inner.multi_fidelity:
        raise OptimizerError(f"{prefix}:{argument}: {inner.name or argument!r} is multi-fidelity; {single_fidelity}")
    return inner


def wrapper_class(prefix: str, base: type[Optimizer], own_defaults: Mapping[str, Any], inner: type[Optimizer],
                  argument: str, doc: str, **attributes: Any) -> type[Optimizer]:
    """The class of ``prefix:argument``: a subclass of the wrapper ``base`` around ``inner``, named
    ``prefix-<inner>``, with the wrapper's hyperparameters beside the inner one's (a name clash is refused).
    ``doc`` may use ``{label}``; ``attributes`` override the class attributes taken from ``inner``."""
    clash = sorted(set(inner.defaults) & set(own_defaults))
    if clash:
        raise OptimizerError(f"{prefix}:{argument}: hyperparameter names {clash} clash with {prefix}'s own")
    label = inner.name or argument.replace(":", "-")
    return type(f"{base.__name__}_{label}", (base,), {
        "name": f"{prefix}-{label}",
        "inner": inner,
        "defaults": {**own_defaults, **inner.defaults},
        "needs_fixed_hashseed": inner.needs_fixed_hashseed,
        "pending_asks": inner.pending_asks,
        "__doc__": doc.format(label=repr(label)),
        "__module__": base.__module__,
        **attributes,
    })


def import_path(cls: type[Optimizer]) -> str:
    """What a worker passes to :func:`get_optimizer` to get ``cls`` again (``module:Class`` or ``prefix:arg``)."""
    return cls.__dict__.get("import_path") or f"{cls.__module__}:{cls.__qualname__}"
