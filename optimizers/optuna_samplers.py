"""Optuna samplers as optimizers, through Optuna's own ask/tell on an in-memory study.

Built-in names: ``optuna-tpe``, ``optuna-cmaes``, ``optuna-qmc``, ``optuna-random``, and the multi-objective
``optuna-nsga2`` (NSGAIISampler), ``optuna-nsga3`` (NSGAIIISampler) and ``optuna-motpe`` (TPESampler, which Optuna
runs as MOTPE on a study with several objectives); any other sampler of
``optuna.samplers`` as ``optuna:SamplerClassName`` (e.g. ``optuna:NSGAIISampler``), with the sampler's keyword
arguments as the experiment's hyperparameters (checked up front: unknown names are an error listing the valid
ones). The sampler is seeded with the run's seed.

Mapping: each categorical hyperparameter of the encoding is a ``CategoricalDistribution`` over its choices, an
integer one an ``IntDistribution``, a float one a ``FloatDistribution``; the objective is the oracle's loss
(1 - validation accuracy, minimised; invalid configurations cost nothing and get loss 1); on a Pareto problem
(:mod:`nasbench_bench.problems`) the study minimises every objective (the negated metric and the costs,
``Evaluation.objectives``). CMA-ES and QMC model
no categorical hyperparameter: Optuna draws those with the sampler's independent sampler (a seeded
``RandomSampler``), so on an all-categorical encoding (``nb201``, ``A``, ``B``) they are random search; one
warning per process says so instead of Optuna's warning per parameter and trial.

Quiet: while a run lasts, the ``optuna`` logger is raised to WARNING (no per-study/per-trial INFO lines) and
Optuna's ``ExperimentalWarning`` is ignored; both are restored afterwards. Other warnings (e.g. a deprecated
keyword the user passed) still reach the user.
"""

from __future__ import annotations

import inspect
import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

from nasbench_bench.encodings import Encoding
from nasbench_bench.optimizer import Optimizer, OptimizerError
from nasbench_bench.oracle import Oracle

log = logging.getLogger(__name__)

#: Samplers that model no categorical hyperparameter (Optuna samples those with their independent sampler).
NO_CATEGORICAL = frozenset({"CmaEsSampler", "QMCSampler"})
#: Keyword annotations made only of these names can be given in an experiment file (objects cannot).
_PLAIN = {"int", "float", "bool", "str", "None"}
_WARNED: set[tuple[str, str]] = set()


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines and ExperimentalWarnings off for the block; logger level and filters restored."""
    from optuna.exceptions import ExperimentalWarning

    logger = logging.getLogger("optuna")
    level = logger.level
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ExperimentalWarning)
            yield
    finally:
        logger.setLevel(level)


def search_space(encoding: Encoding) -> dict[str, Any]:
    """The encoding as Optuna distributions, in the encoding's parameter order."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for p in encoding.params:
        if p.kind == "cat":
            out[p.name] = CategoricalDistribution(p.choices)
        elif p.kind == "int":
            out[p.name] = IntDistribution(int(p.lower), int(p.upper))
        else:
            out[p.name] = FloatDistribution(float(p.lower), float(p.upper))
    return out


@cache
def sampler_keywords(class_name: str) -> dict[str, Any]:
    """The keyword arguments of ``optuna.samplers.<class_name>`` settable from an experiment file, with their
    defaults (``seed`` excluded: it is the run's). :class:`OptimizerError` for anything but a usable sampler."""
    import optuna

    usable = usable_samplers()
    if class_name not in usable:
        raise OptimizerError(
            f"{class_name!r} is not a usable sampler of optuna.samplers (optuna {optuna.__version__}); usable: "
            f"{sorted(usable)} (samplers needing arguments that cannot come from an experiment file, such as "
            "GridSampler and PartialFixedSampler, and abstract base classes are not)"
        )
    params = inspect.signature(getattr(optuna.samplers, class_name).__init__).parameters
    return {name: p.default for name, p in params.items() if name != "seed" and _plain(p)}


def _plain(p: inspect.Parameter) -> bool:
    if p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) or p.default is inspect.Parameter.empty:
        return False
    return set(re.findall(r"[A-Za-z_][\w.]*", str(p.annotation))) <= _PLAIN


@cache
def usable_samplers() -> frozenset[str]:
    """Samplers of ``optuna.samplers`` that take a ``seed`` and need no argument without a default."""
    import optuna

    out = set()
    for name in optuna.samplers.__all__:
        cls = getattr(optuna.samplers, name)
        if not (isinstance(cls, type) and issubclass(cls, optuna.samplers.BaseSampler)) or inspect.isabstract(cls):
            continue
        params = inspect.signature(cls.__init__).parameters
        required = [n for n, p in params.items() if n != "self" and p.default is inspect.Parameter.empty]
        if "seed" in params and not required:
            out.add(name)
    return frozenset(out)


class OptunaSampler(Optimizer):
    """Base of the Optuna adapters: ``sampler_class`` names a sampler of ``optuna.samplers``; ``defaults`` are its
    keyword arguments (Optuna's defaults, except where a subclass says otherwise). After :meth:`run`,
    ``self.study`` is the run's in-memory Optuna study."""

    sampler_class = ""
    #: Parallel form: Optuna's own (its documented distributed mode): ``study.ask()`` while other trials are
    #: still RUNNING; each sampler treats running trials its own way (TPE ignores them unless
    #: ``constant_liar=True``). With one worker this is exactly :meth:`run`.
    pending_asks = True

    def setup(self) -> None:
        self.study: Any = None

    def begin(self, oracle: Oracle, workers: int) -> None:
        import optuna

        self._notice()
        self._dists = search_space(self.encoding)
        self._trials: dict[int, Any] = {}  # id(vector) -> its running trial
        self._mo = n_objectives(oracle)
        with quiet_optuna():
            self.study = optuna.create_study(
                sampler=self.make_sampler(), directions=["minimize"] * self._mo,
                study_name=f"nasbench-bench-{self.name}-{self.seed}"
            )

    def ask(self) -> Any:
        with quiet_optuna():
            trial = self.study.ask(self._dists)
        vector = self.encoding.to_vector(trial.params)
        self._trials[id(vector)] = trial
        return vector

    def tell(self, config: Any, evaluation: Any) -> None:
        with quiet_optuna():
            self.study.tell(self._trials.pop(id(config)), _told(evaluation, self._mo))

    def make_sampler(self) -> Any:
        """The seeded sampler, given only the keywords that differ from Optuna's own defaults."""
        import optuna

        cls = getattr(optuna.samplers, self.sampler_class)
        params = inspect.signature(cls.__init__).parameters
        kwargs = {k: v for k, v in self.hp.items() if not _same(v, params[k].default)}
        return cls(seed=self.seed, **kwargs)

    def run(self, oracle: Oracle) -> None:
        import optuna

        enc = self.encoding
        self._notice()
        dists = search_space(enc)
        to_vector, cell_index, evaluate_cell = enc.to_vector, enc.cell_index, oracle.evaluate_cell
        mo = n_objectives(oracle)
        with quiet_optuna():
            self.study = study = optuna.create_study(
                sampler=self.make_sampler(), directions=["minimize"] * mo,
                study_name=f"nasbench-bench-{self.name}-{self.seed}"
            )
            ask, tell = study.ask, study.tell
            if mo > 1:
                while True:
                    trial = ask(dists)
                    tell(trial, _told(evaluate_cell(cell_index(to_vector(trial.params))), mo))
            while True:
                trial = ask(dists)
                tell(trial, evaluate_cell(cell_index(to_vector(trial.params))).loss)

    def _notice(self) -> None:
        n_cat = sum(p.kind == "cat" for p in self.encoding.params)
        key = (self.sampler_class, self.encoding.name)
        if self.sampler_class in NO_CATEGORICAL and n_cat and key not in _WARNED:
            _WARNED.add(key)
            everything = n_cat == self.encoding.dim
            log.warning(
                "optuna %s models no categorical hyperparameter: %s of encoding %r %s drawn by its independent "
                "sampler (RandomSampler)%s", self.sampler_class,
                "all" if everything else f"{n_cat} of the {self.encoding.dim}", self.encoding.name,
                "are", ", so on this encoding it is random search" if everything else "",
            )


def n_objectives(oracle: Any) -> int:
    """Objectives the study minimises: those of a Pareto problem's oracle (:mod:`nasbench_bench.problems`), else 1
    (the loss)."""
    bound = getattr(oracle, "problem", None)
    if bound is None or bound.problem.kind != "pareto":
        return 1
    return len(bound.names)


def _told(evaluation: Any, n: int) -> Any:
    """What the study is told: the loss, or the minimised objectives (negated metric, costs) of a Pareto problem."""
    return evaluation.loss if n == 1 else list(evaluation.objectives)


def _same(value: Any, default: Any) -> bool:
    return type(value) is type(default) and value == default


def _defaults(class_name: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(sampler_keywords(class_name))  # a copy: the cached dict stays Optuna's defaults
    # one notice of ours instead of Optuna's warning per parameter and trial (see the module docstring)
    if out.get("warn_independent_sampling") is True:
        out["warn_independent_sampling"] = False
    return {**out, **overrides}


def sampler_optimizer(class_name: str, name: str | None = None, **overrides: Any) -> type[OptunaSampler]:
    """The optimizer class running ``optuna.samplers.<class_name>`` (the ``optuna:`` factory); ``overrides``
    change its defaults."""
    defaults = _defaults(class_name, overrides)
    label = name or f"optuna-{class_name}"
    changed = f", except {overrides}" if overrides else ""
    doc = f"Optuna's {class_name} through ask/tell, seeded with the run's seed (defaults: Optuna's{changed})."
    return type(f"Optuna_{class_name}", (OptunaSampler,),
                {"name": label, "sampler_class": class_name, "defaults": defaults, "__doc__": doc,
                 "__module__": __name__})


OptunaTPE = sampler_optimizer("TPESampler", "optuna-tpe")
OptunaCmaEs = sampler_optimizer("CmaEsSampler", "optuna-cmaes")
#: scrambled: unscrambled Sobol points are the same sequence for every seed
OptunaQMC = sampler_optimizer("QMCSampler", "optuna-qmc", scramble=True)
OptunaRandom = sampler_optimizer("RandomSampler", "optuna-random")
#: multi-objective samplers (on a Pareto problem the study has one direction per objective; single-objective
#: problems run them with one): NSGA-II, NSGA-III, and TPE, which is MOTPE on several objectives
OptunaNSGA2 = sampler_optimizer("NSGAIISampler", "optuna-nsga2")
OptunaNSGA3 = sampler_optimizer("NSGAIIISampler", "optuna-nsga3")
OptunaMOTPE = sampler_optimizer("TPESampler", "optuna-motpe")
for _cls, _qualname in ((OptunaTPE, "OptunaTPE"), (OptunaCmaEs, "OptunaCmaEs"), (OptunaQMC, "OptunaQMC"),
                        (OptunaRandom, "OptunaRandom"), (OptunaNSGA2, "OptunaNSGA2"), (OptunaNSGA3, "OptunaNSGA3"),
                        (OptunaMOTPE, "OptunaMOTPE")):
    _cls.__qualname__ = _cls.__name__ = _qualname
