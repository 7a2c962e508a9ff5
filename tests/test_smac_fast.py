"""The fast SMAC components decide exactly like SMAC's own (smac 2.4.1, ConfigSpace 1.2.2).

Component tests run each replacement and the library's code on the same inputs and RNG states and compare
outputs and RNG states afterwards. Trajectory tests compare whole ask/tell runs: in-process against the
stock facade, and in a subprocess with ``PYTHONHASHSEED=6640`` against 200-trial references recorded from
the stock facade (``tests/data/smac_make_reference.py``).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, EqualsCondition, ForbiddenEqualsClause
from ConfigSpace.util import get_one_exchange_neighbourhood

from nasbench_bench.benchmarks import get_encoding
from optimizers._smac_sampling import VectorSampler

DATA = Path(__file__).parent / "data"
ENCODINGS = ("A", "B", "C", "nb201")


def _reference_module():
    spec = importlib.util.spec_from_file_location("smac_make_reference", DATA / "smac_make_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same_state(a: np.random.RandomState, b: np.random.RandomState) -> bool:
    return all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
               for x, y in zip(a.get_state(), b.get_state()))


def _vectors(configs) -> np.ndarray:
    return np.array([c.get_array() for c in configs])


def _values(pairs) -> list[float]:
    """The acquisition values of (value, configuration) pairs (SMAC mixes scalars and 1-element arrays)."""
    return [float(np.asarray(a).item()) for a, _ in pairs]


# -- sampling ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ENCODINGS)
def test_sampler_equals_sample_configuration(name: str) -> None:
    enc = get_encoding(name)
    lib, ours = enc.configspace(seed=11), enc.configspace(seed=11)
    sampler = VectorSampler(ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # size=1
        for size in (None, 1, 2, 3, 5, 7, 2000, 4, 10000):
            got = lib.sample_configuration(size)
            expected = _vectors([got] if size in (None, 1) else got)
            assert np.array_equal(sampler.sample(size), expected), size
            assert _same_state(lib.random, ours.random), size


def test_sampler_refuses_spaces_it_cannot_replicate() -> None:
    cs = ConfigurationSpace(seed=0)
    a, b = CategoricalHyperparameter("a", [0, 1]), CategoricalHyperparameter("b", [0, 1])
    cs.add([a, b])
    assert VectorSampler.supports(cs)
    cs.add(ForbiddenEqualsClause(a, 1))
    assert not VectorSampler.supports(cs)
    conditional = ConfigurationSpace(seed=0)
    c, d = CategoricalHyperparameter("c", [0, 1]), CategoricalHyperparameter("d", [0, 1])
    conditional.add([c, d, EqualsCondition(d, c, 1)])
    assert not VectorSampler.supports(conditional)
    with pytest.raises(ValueError):
        VectorSampler(conditional).sample(3)


# -- neighbourhoods ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ENCODINGS)
def test_neighbourhood_equals_get_one_exchange_neighbourhood(name: str) -> None:
    from optimizers._smac_search import one_exchange_neighbours

    cs = get_encoding(name).configspace(seed=2)
    pool: list[np.random.RandomState] = []
    for i, config in enumerate(cs.sample_configuration(25)):
        for stdev in (0.05, 0.2, 0.0125):
            seed = 1000 * i + 17
            expected = _vectors(get_one_exchange_neighbourhood(config, seed=seed, num_neighbors=8, stdev=stdev))
            for p in (None, pool):
                got = []
                for idx, value in one_exchange_neighbours(cs, config.get_array(), seed, 8, stdev, p):
                    v = config.get_array().copy()
                    v[idx] = value
                    got.append(v)
                assert np.array_equal(np.array(got), expected), (i, stdev)
    assert len(pool) == 1  # one RandomState, re-seeded for every neighbourhood


def test_continuous_neighbourhood_equals_configspaces() -> None:
    """Including the retries with growing standard deviations, and their failure."""
    from optimizers._smac_search import _continuous_neighbourhood

    dist = next(iter(get_encoding("C").configspace().values()))._vector_dist
    for vector in (0.5, 0.0, 1.0, -0.3, 1.6, -3.0):
        for std in (None, 0.2, 0.05, 0.4, 0.005):
            for n in (1, 4, 40):
                lib, ours = np.random.RandomState(n), np.random.RandomState(n)
                try:
                    expected = dist.neighborhood(np.float64(vector), n, std=std, seed=lib)
                except ValueError:
                    with pytest.raises(ValueError):
                        _continuous_neighbourhood(dist, np.float64(vector), n, std, ours)
                else:
                    assert np.array_equal(_continuous_neighbourhood(dist, np.float64(vector), n, std, ours), expected)
                assert _same_state(lib, ours), (vector, std, n)



def _categorical_space(seed: int) -> ConfigurationSpace:
    """One-choice, two-, three-, six- (NeighborhoodCat's arange cache) and thirty-choice (no cache) categoricals,
    with non-integer choices, in an order that differs from the DAG's (alphabetical)."""
    cs = ConfigurationSpace(seed=seed)
    cs.add([CategoricalHyperparameter("z_one", ["only"]), CategoricalHyperparameter("b_two", [True, False]),
            CategoricalHyperparameter("y_three", ["x", "y", "z"]),
            CategoricalHyperparameter("c_six", [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]),
            CategoricalHyperparameter("a_thirty", list(range(30))), CategoricalHyperparameter("x_two", [3, 4])])
    return cs


@pytest.mark.parametrize("name", [*ENCODINGS[:2], "nb201", "mixed"])
def test_categorical_neighbourhoods_equal_get_one_exchange_neighbourhood(name: str) -> None:
    """Whole neighbourhoods as arrays: the same neighbours in the same order as ConfigSpace's generator, and
    visited-value codes equal exactly for equal (hyperparameter, value) pairs."""
    from optimizers._smac_search import CategoricalNeighbourhoods

    cs = _categorical_space(2) if name == "mixed" else get_encoding(name).configspace(seed=2)
    assert CategoricalNeighbourhoods.supports(cs)
    gen = CategoricalNeighbourhoods(cs)
    names = list(cs.keys())
    random = np.random.RandomState(0)
    codes: dict[tuple[str, object], int] = {}
    for i, config in enumerate(cs.sample_configuration(60)):
        for seed in (7 * i, 99999 - i, 50000 + 13 * i):
            expected = _vectors(get_one_exchange_neighbourhood(config, seed=seed, num_neighbors=8, stdev=0.2))
            idx, values, code = gen(config.get_array(), seed, random)
            assert len(idx) == gen.size == len(expected)
            got = np.repeat(config.get_array()[np.newaxis, :], len(idx), axis=0)
            got[np.arange(len(idx)), idx] = values
            assert np.array_equal(got, expected), (i, seed)
            for j, v, c in zip(idx.tolist(), values.tolist(), code.tolist()):
                value = cs[names[j]].to_value(np.float64(v))
                assert codes.setdefault((names[j], value), c) == c
    assert len(set(codes.values())) == len(codes)
    assert not CategoricalNeighbourhoods.supports(get_encoding("C").configspace())


# -- acquisition maximisation -------------------------------------------------------------------------------
def _trained_acquisition(cs: ConfigurationSpace, seed: int, n: int = 80):
    """EI (log) on SMAC's forest with our settings, trained on ``n`` random configurations whose costs tie
    often (as invalid NAS-Bench-101 cells do), so that local searches walk plateaus."""
    from smac.acquisition.function import EI
    from smac.model.random_forest import RandomForest

    rng = np.random.default_rng(seed)
    X = _vectors(cs.sample_configuration(n))
    y = np.where(rng.random(n) < 0.6, 0.0, np.log(0.05 + 0.3 * rng.random(n)))
    model = RandomForest(cs, log_y=True, n_trees=5, bootstrapping=True, ratio_features=1.0, min_samples_split=2,
                         min_samples_leaf=1, max_depth=2**20, max_leaf_nodes=None, seed=seed, n_jobs=1)
    model.train(X, y.reshape(-1, 1))
    acq = EI(xi=0.0, log=True)
    acq.update(model=model, eta=float(y.min()))
    return acq


@pytest.mark.parametrize("name", ENCODINGS)
def test_random_search_equals_smacs(name: str) -> None:
    from smac.acquisition.maximizer.random_search import RandomSearch

    from optimizers._smac_search import FastRandomSearch

    enc = get_encoding(name)
    acq = _trained_acquisition(enc.configspace(seed=3), seed=3)
    cs_lib, cs_ours = enc.configspace(seed=4), enc.configspace(seed=4)
    lib = RandomSearch(cs_lib, acquisition_function=acq, seed=5)
    ours = FastRandomSearch(cs_ours, acquisition_function=acq, seed=5)
    for n_points in (3000, 1, 2):
        for _sorted in (True, False):
            a, b = lib._maximize([], n_points, _sorted=_sorted), ours._maximize([], n_points, _sorted=_sorted)
            assert _values(a) == _values(b)
            assert np.array_equal(_vectors(c for _, c in a), _vectors(c for _, c in b))
            assert [c.origin for _, c in a] == [c.origin for _, c in b]
            assert _same_state(lib._rng, ours._rng) and _same_state(cs_lib.random, cs_ours.random)
    top, expected = ours.best(3000, 10), lib._maximize([], 3000, _sorted=True)[:10]
    assert np.array_equal(_vectors(c for _, c in top), _vectors(c for _, c in expected))
    assert _values(top) == _values(expected)
    assert _same_state(lib._rng, ours._rng) and _same_state(cs_lib.random, cs_ours.random)


@pytest.mark.parametrize(("name", "seed"), [("A", 0), ("A", 1), ("A", 2), ("A", 3), ("B", 0), ("B", 1), ("C", 0),
                                          ("nb201", 0), ("nb201", 1), ("mixed", 0), ("mixed", 1)])
def test_local_search_equals_smacs(name: str, seed: int) -> None:
    """All-categorical spaces take the array search (:meth:`FastLocalSearch._search_categorical`), C the
    vector transcription; the same end points, values and RNG state as SMAC's ``LocalSearch``."""
    from smac.acquisition.maximizer.local_search import LocalSearch

    from optimizers._smac_search import FastLocalSearch

    cs = _categorical_space(6 + seed) if name == "mixed" else get_encoding(name).configspace(seed=6 + seed)
    acq = _trained_acquisition(cs, seed=seed, n=80 if seed < 2 else 400)
    previous = list(cs.sample_configuration(40))
    starts = [(0.0, c) for c in cs.sample_configuration(5 if seed < 2 else 12)]
    lib = LocalSearch(cs, acquisition_function=acq, seed=seed)
    ours = FastLocalSearch(cs, acquisition_function=acq, seed=seed)
    assert (ours._categorical is None) == (name == "C")
    for _ in range(2):  # the second call reuses the cached array of the previous configurations
        a = lib._maximize(previous, 5, additional_start_points=starts)
        b = ours._maximize(previous, 5, additional_start_points=starts)
        assert [c.origin for _, c in a] == [c.origin for _, c in b]
        assert _values(a) == _values(b)
        assert np.array_equal(_vectors(c for _, c in a), _vectors(c for _, c in b))
        assert _same_state(lib._rng, ours._rng)
        previous += list(cs.sample_configuration(3))



@pytest.mark.parametrize("name", ENCODINGS)
def test_log_ei_equals_smacs(name: str) -> None:
    """The acquisition values of the fast paths equal ``EI._compute`` (log) bit for bit: random points, the
    training points, other incumbent values and ``xi``, and a forest whose trees all agree (its variance is
    floored at ``VERY_SMALL_NUMBER``)."""
    from smac.acquisition.function import EI
    from smac.model.random_forest import RandomForest

    from optimizers._smac_search import _log_ei, acquisition_values

    cs = get_encoding(name).configspace(seed=8)
    acq = _trained_acquisition(cs, seed=8, n=200)
    X = np.concatenate([_vectors(cs.sample_configuration(3000)), acq.model._rf.trainX])
    for eta, xi in ((acq._eta, 0.0), (-1.2, 0.0), (-3.5, 0.01), (0.0, 0.0)):
        acq.update(model=acq.model, eta=eta, xi=xi)
        for q in (X, X[:1], X[7:9]):
            expected = acq._compute(q)
            assert np.array_equal(_log_ei(acq, q), expected)
            assert np.array_equal(acquisition_values(acq, q), expected)
    flat = RandomForest(cs, log_y=True, n_trees=5, seed=0, max_leaf_nodes=None)  # all trees agree
    flat.train(np.repeat(X[:1], 4, axis=0), np.full((4, 1), -1.0))
    agreed = EI(xi=0.0, log=True)
    agreed.update(model=flat, eta=-1.5)
    assert np.array_equal(_log_ei(agreed, X[:50]), agreed._compute(X[:50]))

# -- model --------------------------------------------------------------------------------------------------
def test_forest_equals_smacs_forest() -> None:
    from smac.model.random_forest.random_forest import EPMRandomForest

    from optimizers._smac_model import FastEPMRandomForest

    opts = dict(n_estimators=5, log_y=True, splitter="random", max_depth=2**20, min_samples_split=2,
                min_samples_leaf=1, max_leaf_nodes=None, min_impurity_decrease=1e-8, bootstrap=True, n_jobs=1,
                max_features=26)
    rng = np.random.default_rng(0)
    levels = np.r_[[2] * 21, [3] * 5]
    for n, n_distinct in ((40, 40), (600, 600), (3000, 3000), (2000, 8)):  # the last: leaves of >128 samples
        X = np.floor(rng.random((n, 26)) * levels)
        if n_distinct < n:
            X = X[rng.integers(0, n_distinct, n)]
        y = np.where(rng.random(n) < 0.6, 0.0, np.log(0.05 + 0.3 * rng.random(n)))
        lib, ours = EPMRandomForest(**opts, random_state=n), FastEPMRandomForest(**opts, random_state=n)
        lib.fit(X, y)
        ours.fit(X, y)
        for a, b in zip(lib.estimators_, ours.estimators_):
            assert np.array_equal(a.tree_.value, b.tree_.value)
        Q = np.floor(rng.random((500, 26)) * levels)
        for q in (Q, Q[:1], X):
            for a, b in zip(lib.predict(q), ours.predict(q)):
                assert np.array_equal(a, b)
        assert np.array_equal(lib.all_trees_pred(Q.astype(np.float32)), ours.all_trees_pred(Q.astype(np.float32)))


@pytest.mark.parametrize("name", ENCODINGS)
def test_random_forest_model_equals_smacs(name: str) -> None:
    from smac.model.random_forest import RandomForest

    from optimizers._smac_model import FastRandomForest

    cs = get_encoding(name).configspace(seed=4)
    rng = np.random.default_rng(4)
    X = _vectors(cs.sample_configuration(300))
    y = np.where(rng.random(300) < 0.6, 0.0, np.log(0.05 + 0.3 * rng.random(300))).reshape(-1, 1)
    opts = dict(log_y=True, n_trees=5, bootstrapping=True, ratio_features=1.0, min_samples_split=2, min_samples_leaf=1,
                max_depth=2**20, max_leaf_nodes=None, seed=4, n_jobs=1)
    lib, ours = RandomForest(cs, **opts), FastRandomForest(cs, **opts)
    lib.train(X, y)
    ours.train(X, y)
    Q = _vectors(cs.sample_configuration(200))
    for q in (Q, Q[:1], X):
        for a, b in zip(lib.predict_marginalized(q), ours.predict_marginalized(q)):
            assert np.array_equal(a, b)
        for a, b in zip(lib.predict(q), ours.predict(q)):
            assert np.array_equal(a, b)


# -- run history and encoder ---------------------------------------------------------------------------------
def _fill(rh, cs: ConfigurationSpace) -> None:
    from smac.runhistory.enumerations import StatusType

    configs = list(cs.sample_configuration(12))
    steps = [(0, 0.5, StatusType.RUNNING), (0, 0.5, StatusType.SUCCESS), (1, 0.25, StatusType.CRASHED),
             (2, 0.75, StatusType.SUCCESS), (3, 0.1, StatusType.SUCCESS), (2, 0.9, StatusType.SUCCESS),
             (4, 0.0, StatusType.SUCCESS), (5, 0.3, StatusType.RUNNING), (5, 0.3, StatusType.SUCCESS),
             (6, float("nan"), StatusType.SUCCESS), (7, 0.2, StatusType.SUCCESS), (8, 0.6, StatusType.TIMEOUT),
             (6, 0.4, StatusType.SUCCESS), (9, 0.15, StatusType.SUCCESS)]
    for i, c, status in steps:
        rh.add(configs[i], c, status=status, force_update=True)
        yield rh.objective_bounds


def test_run_history_bounds_equal_smacs() -> None:
    from smac.runhistory.runhistory import RunHistory

    from optimizers._smac_runhistory import FastRunHistory

    cs = get_encoding("nb201").configspace(seed=0)
    a, b = list(_fill(RunHistory(), cs)), list(_fill(FastRunHistory(), cs))
    assert len(a) == 14
    for x, y in zip(a, b):
        assert np.array_equal(np.array(x, dtype=float), np.array(y, dtype=float), equal_nan=True)
        assert [type(v) for pair in x for v in pair] == [type(v) for pair in y for v in pair]


@pytest.mark.parametrize("history", ["RunHistory", "FastRunHistory", "FastRunHistory with a budget"])
def test_encoder_equals_smacs(tmp_path: Path, history: str) -> None:
    """Through the run history's dictionary (plain ``RunHistory``, or a budget), and through the columns a
    ``FastRunHistory`` keeps; at every step of a run history with all kinds of statuses."""
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import Scenario
    from smac.runhistory.runhistory import RunHistory

    from optimizers._smac_runhistory import FastLogScaledEncoder, FastRunHistory

    cs = get_encoding("C").configspace(seed=0)
    rh = RunHistory() if history == "RunHistory" else FastRunHistory()
    scenario = Scenario(cs, deterministic=True, seed=0, output_directory=tmp_path)
    lib, ours = HPO.get_runhistory_encoder(scenario), FastLogScaledEncoder(scenario)
    for encoder in (lib, ours):
        encoder.runhistory = rh
    assert np.array_equal(lib.get_configurations(None), ours.get_configurations(None))  # empty
    if history.endswith("budget"):
        rh.add(cs.sample_configuration(), 0.5, budget=3.0)
    for _ in _fill(rh, cs):
        for budget in (None, [None]):
            for x, y in zip(lib.transform(budget), ours.transform(budget)):
                assert np.array_equal(x, y, equal_nan=True)
            assert np.array_equal(lib.get_configurations(budget), ours.get_configurations(budget))
    assert (rh.columns() is not None) == (history == "FastRunHistory") if isinstance(rh, FastRunHistory) else True


# -- whole runs ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "n_trials"), [("nb201", 60), ("A", 60)])
def test_fast_facade_decides_like_stock_facade(name: str, n_trials: int) -> None:
    """Same process, any hash seed: the fast and the stock facade ask for the same configurations."""
    ref = _reference_module()
    X_lib, y_lib = ref.trajectory(name, n_trials, seed=3, library_components=True)
    X_ours, y_ours = ref.trajectory(name, n_trials, seed=3, library_components=False)
    assert np.array_equal(X_lib, X_ours) and np.array_equal(y_lib, y_ours)


def test_fast_facade_reproduces_recorded_stock_trajectories(tmp_path: Path) -> None:
    """200 trials per encoding (over 20 retrains and local searches) against the stock facade's record."""
    ref = _reference_module()
    out = tmp_path / "fast.npz"
    env = {**os.environ, "PYTHONHASHSEED": ref.HASHSEED}
    res = subprocess.run([sys.executable, str(DATA / "smac_make_reference.py"), "--fast", str(out)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    expected, got = np.load(ref.REFERENCE), np.load(out)
    for name in ref.ENCODINGS:
        X, y = expected[f"{name}_X"], expected[f"{name}_y"]
        assert X.shape == (ref.TRIALS, get_encoding(name).dim)
        first = next((i for i in range(len(X)) if not np.array_equal(X[i], got[f"{name}_X"][i])), None)
        assert first is None, f"{name}: first different configuration at trial {first}"
        assert np.array_equal(y, got[f"{name}_y"])


# -- bookkeeping ------------------------------------------------------------------------------------------------
def test_configs_per_budget_equal_smacs() -> None:
    """The kept column of trial configurations gives ``get_configs_per_budget`` the library's list at every step
    (overwritten trials keep their place); with a budget the library's walk is used."""
    from smac.runhistory.runhistory import RunHistory

    from optimizers._smac_runhistory import FastRunHistory

    cs = get_encoding("nb201").configspace(seed=0)
    lib, ours = RunHistory(), FastRunHistory()
    for _ in zip(_fill(lib, get_encoding("nb201").configspace(seed=0)), _fill(ours, cs)):
        for subset in ([None], None):
            a, b = lib.get_configs_per_budget(subset), ours.get_configs_per_budget(subset)
            assert a == b and len(a) == len(ours._data)
    assert ours.without_budgets()
    ours.add(cs.sample_configuration(), 0.5, budget=3.0)
    lib.add(ours.get_configs()[-1], 0.5, budget=3.0)
    assert not ours.without_budgets()
    for subset in ([None], [3.0], None):
        assert lib.get_configs_per_budget(subset) == ours.get_configs_per_budget(subset)


@pytest.mark.parametrize("name", ENCODINGS)
def test_config_list_answers_as_a_list(name: str) -> None:
    """Membership in a :class:`_ConfigList` (choice-index keys on all-categorical spaces, dictionary keys
    otherwise) answers as ``list.__contains__``, for equal configurations built from other vectors too."""
    from ConfigSpace import Configuration

    from optimizers.smac import _categorical_key, _ConfigList, _key, config_key

    cs = get_encoding(name).configspace(seed=0)
    key = config_key(cs)
    assert key is (_key if name == "C" else _categorical_key)
    configs = list(cs.sample_configuration(40))
    listed, plain = _ConfigList(configs[:20], key), list(configs[:20])
    for c in configs[20:30]:
        listed.append(c)
        plain.append(c)
    rebuilt = [Configuration(cs, vector=c.get_array().copy()) for c in configs]
    for c in configs + rebuilt:
        assert (c in listed) == (c in plain)
    assert sum(c in listed for c in rebuilt) == 30


@pytest.mark.parametrize("name", [*ENCODINGS, "mixed"])
def test_hashed_configuration_string_from_choice_indices(name: str) -> None:
    """On all-categorical spaces the string is written from precomputed lines per choice; the library's string."""
    from ConfigSpace import Configuration

    from optimizers._smac_search import HashedConfiguration, _categorical_lines

    cs = _categorical_space(0) if name == "mixed" else get_encoding(name).configspace(seed=0)
    assert (_categorical_lines(cs) is None) == (name == "C")
    for c in cs.sample_configuration(200):
        ours = HashedConfiguration(cs, vector=c.get_array().copy())
        assert (str(ours), repr(ours), hash(ours)) == (str(c), repr(c), hash(c))
        lib = Configuration(cs, values=dict(c))
        assert (str(HashedConfiguration(cs, values=dict(c))), hash(ours)) == (str(lib), hash(lib))


def test_hashed_configuration_keeps_the_librarys_hash_and_string() -> None:
    from ConfigSpace import Configuration

    from optimizers._smac_search import HashedConfiguration

    cs = get_encoding("C").configspace(seed=0)
    for c in cs.sample_configuration(5):
        ours = HashedConfiguration(cs, vector=c.get_array())
        assert (str(ours), repr(ours), hash(ours)) == (str(c), repr(c), hash(c))
        ours["num_edges"] = c["num_edges"] % 9 + 1
        lib = Configuration(cs, vector=ours.get_array())
        assert (str(ours), hash(ours)) == (str(lib), hash(lib))
