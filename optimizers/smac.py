"""SMAC (Hutter et al. 2011) through smac 2.x, driven by ask/tell without per-trial disk writes."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_bench.optimizer import Optimizer, check_number
from nasbench_bench.oracle import Oracle

#: ``Scenario.n_trials`` of an ask/tell run: the oracle's budget ends the run, never SMAC.
UNLIMITED_TRIALS = 2**31 - 1


def initial_design_size(dim: int) -> int:
    """Random configurations before the first model: dimension + 1 (7 for NAS-Bench-201, 27 for encoding A).

    SMAC's own default, 10 per hyperparameter capped at a quarter of ``n_trials``, would spend 260 random
    evaluations on encoding A in a paper-length run; dim + 1 is the fewest that lets every dimension enter the
    forest and matches BOHB's ``min_points_in_model``.
    """
    return dim + 1


def _key(config: Any) -> frozenset[tuple[str, Any]]:
    return frozenset(dict(config).items())


def _categorical_key(config: Any) -> tuple[float, ...]:
    """The choice indices of a configuration of an all-categorical space without conditions: equal exactly when
    the configurations are (``Configuration.__eq__`` compares the values, ``choices[rint(vector)]``, and a
    categorical's choices are distinct)."""
    return tuple(np.rint(config.get_array()).tolist())


def config_key(space: Any) -> Callable[[Any], Any]:
    """The cheapest key of :class:`_ConfigList` that is equal exactly for equal configurations of ``space``."""
    from ConfigSpace import CategoricalHyperparameter

    if not space.conditions and all(isinstance(hp, CategoricalHyperparameter) for hp in space.values()):
        return _categorical_key
    return _key


class _ConfigList(list):
    """A list of configurations with hashed membership tests (same answers as ``list.__contains__``).

    SMAC's config selector tests every challenger with ``config not in processed`` on a plain list: O(n)
    ``Configuration.__eq__`` calls per test, the dominant cost of long runs. ``key`` must be equal for equal
    configurations (:func:`config_key`).
    """

    def __init__(self, items: Any = (), key: Callable[[Any], Any] = _key) -> None:
        super().__init__(items)
        self._keyof = key
        self._index: dict[Any, list[Any]] = {}
        for config in self:
            self._index.setdefault(key(config), []).append(config)

    def append(self, config: Any) -> None:
        super().append(config)
        self._index.setdefault(self._keyof(config), []).append(config)

    def __contains__(self, config: object) -> bool:
        return any(other is config or other == config for other in self._index.get(self._keyof(config), ()))


def _fast_config_selector(scenario: Any, retrain_after: int = 8, retries: int = 16) -> Any:
    """SMAC's ``ConfigSelector`` (the facade's defaults) with two costs of its long runs removed, same output.

    Its processed-configuration list gets hashed membership (:class:`_ConfigList`) and the incumbent's
    predicted cost (``_get_x_best``) is predicted for all evaluated configurations in one call instead of
    one forest call per configuration; the first minimum is taken, as SMAC's stable sort does.
    """
    from smac.main.config_selector import ConfigSelector

    from optimizers._smac_runhistory import FastRunHistory

    key = config_key(scenario.configspace)

    class FastConfigSelector(ConfigSelector):
        @property
        def _processed_configs(self) -> _ConfigList:
            return self._processed

        @_processed_configs.setter
        def _processed_configs(self, configs: list[Any]) -> None:
            self._processed = _ConfigList(configs, key)

        def _collect_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """As ``ConfigSelector._collect_data`` (smac 2.4.1); without budgets its set of the trials' budgets is
            empty and the only budget tried is None, so the walk over the trial keys is skipped."""
            rh = self._runhistory
            if not (isinstance(rh, FastRunHistory) and rh.without_budgets()):
                return super()._collect_data()
            assert self._runhistory_encoder is not None
            X, Y = self._runhistory_encoder.transform(budget_subset=[None])
            if X.shape[0] >= self._min_trials:
                self._considered_budgets = [None]
                configs_array = self._runhistory_encoder.get_configurations(budget_subset=self._considered_budgets)
                return X, Y, configs_array
            return np.empty(shape=[0, 0]), np.empty(shape=[0]), np.empty(shape=[0, 0])

        def _get_x_best(self, X: np.ndarray) -> tuple[np.ndarray, float]:
            if not self._predict_x_best:
                return super()._get_x_best(X)
            mean = self._model.predict_marginalized(X)[0][:, 0]
            i = int(np.argmin(mean))
            return X[i], mean[i]

    return FastConfigSelector(scenario, retrain_after=retrain_after, max_new_config_tries=retries)


def _fast_intensifier(scenario: Any, max_config_calls: int) -> Any:
    """SMAC's ``Intensifier`` whose rejected-configuration list (tested once per ask) has hashed membership."""
    from smac.intensifier import Intensifier

    key = config_key(scenario.configspace)

    class FastIntensifier(Intensifier):
        def get_rejected_configs(self) -> list[Any]:
            ids = self._rejected_config_ids
            cached_ids, configs = getattr(self, "_rejected_cache", ([], None))
            n = len(cached_ids)
            if configs is None or ids[:n] != cached_ids:  # first call, or an id was removed: rebuild
                n, configs = 0, _ConfigList(key=key)
            for config_id in ids[n:]:
                configs.append(self.runhistory._ids_config[config_id])
            self._rejected_cache = (list(ids), configs)
            return configs

    return FastIntensifier(scenario, max_config_calls=max_config_calls)


#: Components :func:`make_facade` replaces by faster ones with identical output (names for ``library_components``).
FAST_COMPONENTS = frozenset({"selector", "intensifier", "maximizer", "model", "runhistory", "encoder"})


def _stock_components(library_components: bool | Collection[str]) -> frozenset[str]:
    if isinstance(library_components, bool):
        return FAST_COMPONENTS if library_components else frozenset()
    names = frozenset(library_components)
    if not names <= FAST_COMPONENTS:
        raise ValueError(f"unknown SMAC components {sorted(names - FAST_COMPONENTS)}; known: {sorted(FAST_COMPONENTS)}")
    return names


def _fast_maximizer(stock: Any) -> Any:
    """SMAC's default ``LocalAndSortedRandomSearch`` (as built by the facade) on vectors, same arguments."""
    from optimizers._smac_search import FastLocalAndSortedRandomSearch

    ls = stock._local_search
    return FastLocalAndSortedRandomSearch(
        stock._configspace,
        challengers=stock._challengers,
        max_steps=ls._max_steps,
        n_steps_plateau_walk=ls._n_steps_plateau_walk,
        local_search_iterations=stock._local_search_iterations,
        seed=stock._seed,
        uniform_configspace=stock._uniform_configspace,
        prior_sampling_fraction=stock._prior_sampling_fraction,
        n_jobs_ls=ls.n_jobs,
    )


def _facade_with_fast_runhistory() -> type:
    """``HyperparameterOptimizationFacade`` whose run history is a :class:`FastRunHistory` (same arguments).

    The facade builds a plain ``RunHistory`` in ``__init__``; it is swapped for the subclass in
    ``_update_dependencies``, before any component or the optimiser gets hold of it.
    """
    from smac import HyperparameterOptimizationFacade as HPO
    from smac.runhistory.runhistory import RunHistory

    from optimizers._smac_runhistory import FastRunHistory

    class FastRunHistoryFacade(HPO):
        def _update_dependencies(self) -> None:
            rh = self._runhistory
            if type(rh) is RunHistory and rh.empty():
                self._runhistory = FastRunHistory(
                    multi_objective_algorithm=rh._multi_objective_algorithm,
                    overwrite_existing_trials=rh._overwrite_existing_trials,
                    n_objectives=rh._n_objectives,
                )
            super()._update_dependencies()

    return FastRunHistoryFacade


def make_facade(
    configspace: Any,
    seed: int,
    output_directory: Path,
    hp: Mapping[str, Any],
    n_trials: int = UNLIMITED_TRIALS,
    target_function: Callable[..., float] | None = None,
    *,
    walltime_limit: float = float("inf"),
    library_components: bool | Collection[str] = False,
) -> Any:
    """A ``HyperparameterOptimizationFacade`` with the paper's SMAC settings (see :class:`SMAC`).

    The forest takes the facade's defaults except ``n_trees``, ``n_jobs`` and ``max_leaf_nodes=None``: SMAC's
    2**20 can never bind (a tree has fewer leaves than data points) but makes scikit-learn pre-allocate a
    best-first tree, ~0.2 s per tree fit whatever the data size. Unlimited growth builds the same kind of
    trees depth-first (different random-split order, same distribution).

    Every component that costs time is SMAC's own algorithm with the same output, made cheaper
    (:data:`FAST_COMPONENTS`): the config selector and intensifier with hashed membership tests (helpers
    above); the acquisition maximiser running SMAC's random and local search on vectors
    (``optimizers._smac_search``, ``optimizers._smac_sampling``); the forest with grouped leaf means and
    direct tree predictions (``optimizers._smac_model``); the run history with incremental objective bounds
    and trial columns, read by the encoder (``optimizers._smac_runhistory``). ``library_components=True``
    takes SMAC's own components instead, a collection of names from :data:`FAST_COMPONENTS` only those.
    ``target_function``, ``n_trials`` and ``walltime_limit`` are for running SMAC's own ``optimize()`` with
    these settings.
    """
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import Scenario
    from smac.initial_design import RandomInitialDesign
    from smac.model.random_forest import RandomForest

    from optimizers._smac_model import FastRandomForest
    from optimizers._smac_runhistory import FastLogScaledEncoder

    _quiet()
    scenario = Scenario(
        configspace,
        name="nasbench_bench",
        output_directory=output_directory,
        deterministic=True,
        n_trials=n_trials,
        walltime_limit=walltime_limit,
        seed=seed,
    )
    n_init = hp["n_initial"] if hp["n_initial"] is not None else initial_design_size(len(list(configspace.keys())))
    stock = _stock_components(library_components)
    model = (RandomForest if "model" in stock else FastRandomForest)(
        configspace=configspace,
        log_y=True,  # the facade's defaults except n_trees and n_jobs
        n_trees=int(hp["n_trees"]),
        bootstrapping=True,
        ratio_features=1.0,
        min_samples_split=2,
        min_samples_leaf=1,
        max_depth=2**20,
        max_leaf_nodes=None,  # type: ignore[arg-type]  # see make_facade's docstring
        seed=seed,
        n_jobs=int(hp["n_jobs"]),
    )
    calls = int(hp["max_config_calls"])
    intensifier = (HPO.get_intensifier(scenario, max_config_calls=calls) if "intensifier" in stock
                   else _fast_intensifier(scenario, calls))
    selector = HPO.get_config_selector(scenario) if "selector" in stock else _fast_config_selector(scenario)
    maximizer = HPO.get_acquisition_maximizer(scenario)
    if "maximizer" not in stock:
        maximizer = _fast_maximizer(maximizer)
    encoder = HPO.get_runhistory_encoder(scenario) if "encoder" in stock else FastLogScaledEncoder(scenario)
    facade = HPO if "runhistory" in stock else _facade_with_fast_runhistory()
    return facade(
        scenario,
        target_function,
        model=model,
        acquisition_maximizer=maximizer,
        initial_design=RandomInitialDesign(scenario, n_configs=int(n_init), max_ratio=1.0),
        random_design=HPO.get_random_design(scenario, probability=float(hp["random_fraction"])),
        intensifier=intensifier,
        config_selector=selector,
        runhistory_encoder=encoder,
        logging_level=False,
        overwrite=True,
    )


@contextmanager
def private_output_directory() -> Iterator[Path]:
    """A fresh temporary directory for SMAC's output, removed on exit (whatever ends the run)."""
    path = Path(tempfile.mkdtemp(prefix="nasbench_bench_smac_"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


_EXPECTED = (
    "Could not return a new configuration after",
    "Did not find enough configurations from the acquisition function",
)


def _not_expected(record: logging.LogRecord) -> bool:
    """Drop the selector's fallback notices: on a small space (NAS-Bench-201) it falls back to random often."""
    return not str(record.msg).startswith(_EXPECTED)


def _quiet() -> None:
    lib = logging.getLogger("smac")
    if lib.level == logging.NOTSET:  # SMAC logs INFO lines during set-up and every 50 trials
        lib.setLevel(logging.WARNING)
    selector = logging.getLogger("smac.main.config_selector")
    if _not_expected not in selector.filters:
        selector.addFilter(_not_expected)


class SMAC(Optimizer):
    """SMAC 2.x (random-forest Bayesian optimisation) with the NAS-Bench-101 paper's settings.

    A random forest of 5 trees (``n_jobs=1``), at most one evaluation per configuration (no intensification
    repeats), random-configuration fraction 0.33, an initial design of dimension + 1 random configurations
    (:func:`initial_design_size`); everything else is SMAC's ``HyperparameterOptimizationFacade`` default (EI
    on log costs, local and sorted random search, retraining after every 8 suggestions). Driven by ask/tell
    with ``tell(..., save=False)``; SMAC's output directory is a private temporary one, always removed.
    Cost = 1 - validation accuracy (1 for invalid configurations, which cost nothing).

    SMAC iterates sets of configurations, whose order depends on string hashing: runs are reproducible
    across processes only with a fixed ``PYTHONHASHSEED``.
    """

    name = "smac"
    defaults = {
        "n_trees": 5,
        "n_jobs": 1,
        "max_config_calls": 1,
        "random_fraction": 0.33,
        "n_initial": None,
    }
    needs_fixed_hashseed = True
    #: Parallel form: SMAC's own (its documented parallel mode): ``ask()`` is called again while earlier trials
    #: are still running and each result is told as it completes. With one worker this is :meth:`run`'s loop.
    pending_asks = True
    #: SMAC's stock components instead of the fast ones, in run() and the parallel form (for comparisons).
    library_components: bool = False

    def begin(self, oracle: Oracle, workers: int) -> None:
        self._out = out = Path(tempfile.mkdtemp(prefix="nasbench_bench_smac_"))  # removed by end()
        self._smac = make_facade(self.encoding.configspace(seed=self.seed), self.seed, out, self.hp,
                                 library_components=self.library_components)
        self._infos: dict[int, Any] = {}  # id(config dict) -> its TrialInfo

    def ask(self) -> dict[str, Any]:
        info = self._smac.ask()
        config = dict(info.config)
        self._infos[id(config)] = info
        return config

    def tell(self, config: Any, evaluation: Any) -> None:
        from smac.runhistory.dataclasses import TrialValue

        self._smac.tell(self._infos.pop(id(config)), TrialValue(cost=evaluation.loss), save=False)

    def end(self) -> None:
        shutil.rmtree(self._out, ignore_errors=True)

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "n_trees", integer=True, minimum=1)
        if hp["n_jobs"] != -1:
            check_number(cls, hp, "n_jobs", integer=True, minimum=1)
        check_number(cls, hp, "max_config_calls", integer=True, minimum=1)
        check_number(cls, hp, "random_fraction", minimum=0, maximum=1)
        check_number(cls, hp, "n_initial", integer=True, minimum=1, optional=True)

    def run_with_stock_components(self, oracle: Oracle) -> None:
        """The same search through SMAC's own components (slow; the same decisions, for comparisons)."""
        self.library_components = True
        self.run(oracle)

    def run(self, oracle: Oracle) -> None:
        """Search (with the fast components unless ``library_components``) until the oracle ends the run."""
        from smac.runhistory.dataclasses import TrialValue

        cs = self.encoding.configspace(seed=self.seed)
        evaluate = oracle.evaluate
        with private_output_directory() as out:
            smac = make_facade(cs, self.seed, out, self.hp, library_components=self.library_components)
            ask, tell = smac.ask, smac.tell
            while True:
                info = ask()
                loss = evaluate(info.config).loss  # a Mapping; dict() would walk it once more
                tell(info, TrialValue(cost=loss), save=False)
