"""Fidelities: what the oracle charges (separate runs per budget; halfway + resume = exactly one run), ASHA's
promotion rule replayed independently, HB/BOHB on the two-fidelity NB201 tables, LCE's accounting and model, and
that ASHA and LCE-RE beat random search on real data at equal simulated time."""

from __future__ import annotations

import numpy as np
import pytest
from _tables import RowEncoding, check_halfway_resumes, toy_table

from nasbench_bench.benchmarks import load_benchmark
from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.optimizer import Optimizer, OptimizerError, get_optimizer, register, run_optimizer
from nasbench_bench.oracle import BudgetExhausted, Fidelity, Oracle
from nasbench_bench.table import Table
from optimizers.lce import LinearExtrapolation

ENC = EncodingNB201()


@pytest.fixture(scope="module")
def nb101(nb101_full_table) -> tuple[Table, RowEncoding]:
    """SYNTHETIC official-format full-variant file -> converted NB101Table (halfway_* = evaluation_data[1])."""
    return nb101_full_table, RowEncoding(nb101_full_table.cell_ids)


@pytest.fixture(scope="module")
def mf() -> Table:
    return load_benchmark("nb201-cifar10-mf")


def _increments(tr) -> np.ndarray:
    return np.diff(np.concatenate(([0.0], tr.time)))


# -- the oracle's accounting -------------------------------------------------------------------------------
def test_fidelity_spelling_and_ladders(nb101, mf: Table) -> None:
    table, enc = nb101
    assert [str(f) for f in Oracle(table, enc, 1e9).fidelities()] == [
        "4/2", "4", "12/2", "12", "36/2", "36", "108/2", "108"]
    assert [f.epochs for f in Oracle(table, enc, 1e9).fidelities()] == [2, 4, 6, 12, 18, 36, 54, 108]
    assert Oracle(table, enc, 1e9).fidelities(halfway=False) == (Fidelity(4), Fidelity(12), Fidelity(36), Fidelity(108))
    assert Oracle(mf, ENC, 1e9).fidelities() == (Fidelity(12), Fidelity(200))
    assert Fidelity.parse("108/2") == Fidelity(108, True) and Fidelity.parse(" 12 ") == Fidelity(12)
    for bad in ("108/3", "x", "/2", ""):
        with pytest.raises(ValueError):
            Fidelity.parse(bad)


@pytest.mark.parametrize("budget", [4, 12, 36, 108])
def test_halfway_then_resume_charges_exactly_one_full_run_of_the_same_trial(nb101, budget: int) -> None:
    table, enc = nb101
    b = table.budget_index(budget)
    oracle = Oracle(table, enc, 1e12, seed=budget)
    rows = [3, 17, 3, 250]  # row 3 twice: two paused runs of one cell, each resumed as itself
    halves = [oracle.evaluate_cell(r, budget, halfway=True) for r in rows]
    fulls = [oracle.resume(h.run_id) for h in reversed(halves)][::-1]
    tr = oracle.trajectory()
    n = len(rows)
    for i, (r, h, f) in enumerate(zip(rows, halves, fulls)):
        t = tr.trial[i]
        assert tr.trial[2 * n - 1 - i] == t and tr.row[i] == tr.row[2 * n - 1 - i] == r  # the same run continues
        assert h.halfway and h.budget == budget and tr.budget[i] == budget // 2
        assert h.cost == table.halfway_train_time[r, b, t] and h.valid_acc == table.halfway_valid_acc[r, b, t]
        assert not f.halfway and f.budget == budget and tr.budget[2 * n - 1 - i] == budget
        assert f.valid_acc == table.valid_acc[r, b, t] and f.train_acc == table.train_acc[r, b, t]
        assert f.cost == pytest.approx(table.train_time[r, b, t] - table.halfway_train_time[r, b, t], rel=1e-12)
        assert h.cost + f.cost == pytest.approx(table.train_time[r, b, t], rel=1e-12)
    np.testing.assert_allclose(_increments(tr), [e.cost for e in halves + fulls[::-1]], rtol=1e-12)
    with pytest.raises(ValueError, match="no run"):
        oracle.resume(halves[0].run_id)  # a run is resumed once
    with pytest.raises(ValueError, match="no run"):
        oracle.resume(12345)


def test_a_higher_budget_is_a_new_fully_charged_run(nb101) -> None:
    """12 -> 36 epochs: the 36-epoch evaluation is its own run (fresh trial), charged its whole recorded time."""
    table, enc = nb101
    oracle = Oracle(table, enc, 1e12, seed=0)
    lo, hi = oracle.evaluate_cell(5, 12), oracle.evaluate_cell(5, 36)
    tr = oracle.trajectory()
    assert lo.cost == table.train_time[5, 1, tr.trial[0]]
    assert hi.cost == table.train_time[5, 2, tr.trial[1]]  # not reduced by what the 12-epoch run cost
    assert tr.time[1] == lo.cost + hi.cost


def test_halfway_needs_the_data_and_respects_the_budget(nb101) -> None:
    with pytest.raises(ValueError, match="no halfway evaluations"):
        Oracle(toy_table(), ENC, 1e9).evaluate_cell(0, 108, halfway=True)
    table, enc = nb101
    oracle = Oracle(table, enc, float(table.halfway_train_time[0, 3].min()) * 0.5, seed=0)
    with pytest.raises(BudgetExhausted):
        oracle.evaluate_cell(0, 108, halfway=True)
    assert len(oracle.trajectory()) == 0 and oracle.clock == 0.0
    # an invalid configuration costs nothing at any fidelity and is recorded at the halfway epoch
    ev = Oracle(table, enc, 1e9).evaluate_cell(-1, 36, halfway=True)
    assert not ev.valid and ev.cost == 0.0 and ev.run_id == -1


def test_two_fidelity_nb201_charges_derived_12_epoch_time(mf: Table) -> None:
    oracle = Oracle(mf, ENC, 1e12, seed=0)
    a, b = oracle.evaluate_cell(1234, 12), oracle.evaluate_cell(1234, 200)
    tr = oracle.trajectory()
    assert a.cost == pytest.approx(mf.train_time[1234, 1, tr.trial[1]] * 12 / 200, rel=1e-12)
    assert a.valid_acc == mf.valid_acc[1234, 0, 0] and tr.trial[0] == 0
    assert b.cost == mf.train_time[1234, 1, tr.trial[1]]  # a separate 200-epoch run, charged in full


# -- ASHA --------------------------------------------------------------------------------------------------
def _replay_asha(table: Table, tr, rungs: list[int], eta: int) -> None:
    """Check every decision of an ASHA run against the published rule, from the trajectory alone."""
    results: list[list[tuple[float, int]]] = [[] for _ in rungs]  # per rung: (valid_acc, row) in order
    promoted: list[set[int]] = [set() for _ in rungs]  # per rung: indices into results[k]

    def promotable(k: int) -> list[int]:
        n = len(results[k]) // eta
        top = sorted(range(len(results[k])), key=lambda i: (-results[k][i][0], i))[:n]
        return [i for i in top if i not in promoted[k]]

    for i in range(len(tr)):
        k = rungs.index(int(tr.budget[i]))
        expect = next((j for j in range(len(rungs) - 2, -1, -1) if promotable(j)), None)
        if k == 0:
            assert expect is None, f"evaluation {i}: a new configuration although rung {expect} could promote"
        else:
            assert expect == k - 1, f"evaluation {i}: promoted into rung {k}, rule says {expect}"
            best = promotable(k - 1)[0]
            assert int(tr.row[i]) == results[k - 1][best][1]
            promoted[k - 1].add(best)
        if tr.row[i] >= 0:
            results[k].append((float(tr.valid_acc[i]), int(tr.row[i])))


@pytest.mark.parametrize("eta", [4, 3])
def test_asha_follows_the_promotion_rule_and_charges_full_runs(eta: int) -> None:
    table = toy_table()
    tr = run_optimizer(get_optimizer("asha")(ENC, seed=2, eta=eta), Oracle(table, ENC, 1.5e5, seed=2))
    assert set(tr.budget.tolist()) == {4, 12, 36, 108} and len(tr) > 100
    _replay_asha(table, tr, [4, 12, 36, 108], eta)
    b = np.searchsorted(table.budgets, tr.budget)
    # every evaluation, promotions included, is charged its own budget's full recorded time
    np.testing.assert_allclose(_increments(tr), table.train_time[tr.row, b, tr.trial], rtol=1e-12)


def test_asha_with_halfway_rungs_resumes_the_same_run(nb101) -> None:
    table, enc = nb101
    opt = get_optimizer("asha")(enc, seed=1, eta=2, halfway=True)
    tr = run_optimizer(opt, Oracle(table, enc, 3e5, seed=1))
    assert {2, 4, 6, 12, 18, 36} <= set(tr.budget.tolist())
    resumed = check_halfway_resumes(table, tr, _increments(tr))
    assert resumed >= 10


def test_dehb_with_halfway_rungs_resumes_promotions_and_starts_offspring_afresh(nb101) -> None:
    """DEHB's rungs 2/4/6/12/18/36/54/108 epochs: a promotion from a budget's halfway rung to its full rung resumes
    the paused run (charged its full minus its halfway time); every other full-rung job (a DE offspring, or a
    promotion from another budget) is a new training run charged its full time."""
    table, enc = nb101
    tr = run_optimizer(get_optimizer("dehb")(enc, seed=1, halfway=True), Oracle(table, enc, 4e5, seed=1))
    cost = _increments(tr)
    paused: dict[tuple[int, int], list[int]] = {}
    resumed = fresh = 0
    for i in range(len(tr)):
        r, e, t = int(tr.row[i]), int(tr.budget[i]), int(tr.trial[i])
        if e in (2, 6, 18, 54):
            paused.setdefault((r, 2 * e), []).append(t)
            assert cost[i] == pytest.approx(table.halfway_train_time[r, table.budget_index(2 * e), t], abs=1e-6)
            continue
        b = table.budget_index(e)
        if t in paused.get((r, e), []) and cost[i] == pytest.approx(
                table.train_time[r, b, t] - table.halfway_train_time[r, b, t], abs=1e-6):
            paused[(r, e)].remove(t)
            resumed += 1
        else:
            assert cost[i] == pytest.approx(table.train_time[r, b, t], abs=1e-6)
            fresh += 1
    assert {2, 4, 6, 12}.issubset(tr.budget.tolist()) and resumed >= 10 and fresh >= 10, (resumed, fresh)


# -- HB / BOHB on two fidelities ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hb", "bohb"])
def test_hyperband_and_bohb_use_both_budgets(mf: Table, name: str) -> None:
    """eta = 3 on rungs [12, 200] (hpbandster's bracket formula): 3 configurations at 12 -> the best at 200, then
    a bracket of 2 at 200; eta = 16 (~200/12): 16 at 12 -> 1 at 200, then 2 at 200."""
    for eta, first in ((3, [12] * 3 + [200] * 3 + [12] * 3 + [200]), (16, [12] * 16 + [200] * 3)):
        tr = run_optimizer(get_optimizer(name)(ENC, seed=0, eta=eta), Oracle(mf, ENC, 4e4, seed=0))
        assert tr.budget[: len(first)].tolist() == first
        assert set(tr.budget.tolist()) == {12, 200}
        # the one promoted configuration of the first bracket is the best of its 12-epoch evaluations
        n12 = first.index(200)
        assert tr.row[n12] == tr.row[int(np.argmax(tr.valid_acc[:n12]))]


# -- LCE ---------------------------------------------------------------------------------------------------
def test_linear_extrapolation_is_least_squares_and_quantile() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.random(40), rng.random(40)
    model = LinearExtrapolation()
    for a, b in zip(x, y):
        model.add(float(a), float(b))
    slope, intercept = np.polyfit(x, y, 1)
    assert model.predict(0.3) == pytest.approx(intercept + slope * 0.3, rel=1e-9)
    for f in (0.5, 0.25, 0.1, 1.0):
        assert model.threshold(f) == pytest.approx(np.quantile(y, 1 - f), rel=1e-12)


def test_lce_accounting_on_two_fidelity_nb201(mf: Table) -> None:
    opt = get_optimizer("lce:re")(ENC, seed=3)
    tr = run_optimizer(opt, Oracle(mf, ENC, 2e5, seed=3))
    low = tr.budget == 12
    top = np.flatnonzero(tr.budget == 200)
    assert opt.stopped > 10 and opt.continued == len(top) >= opt.hp["lce_min_points"]
    assert low.sum() in (opt.stopped + opt.continued, opt.stopped + opt.continued + 1)  # + a last one cut off
    # every 200-epoch evaluation follows the 12-epoch screening of the same cell and is a full, separate run
    assert (tr.budget[top - 1] == 12).all() and (tr.row[top - 1] == tr.row[top]).all()
    np.testing.assert_allclose(_increments(tr)[top], mf.train_time[tr.row[top], 1, tr.trial[top]], rtol=1e-12)
    # before lce_min_points fully trained proposals, every proposal continues
    assert tr.budget[: 2 * opt.hp["lce_min_points"]].tolist() == [12, 200] * opt.hp["lce_min_points"]


def test_lce_auto_low_fidelity_on_nb101_is_the_same_run_halfway(nb101) -> None:
    table, enc = nb101
    opt = get_optimizer("lce:rs")(enc, seed=0)
    tr = run_optimizer(opt, Oracle(table, enc, 2e5, seed=0))
    assert set(tr.budget.tolist()) == {54, 108} and opt.stopped > 0
    inc = _increments(tr)
    for i in np.flatnonzero(tr.budget == 108):
        assert tr.budget[i - 1] == 54 and tr.row[i - 1] == tr.row[i] and tr.trial[i - 1] == tr.trial[i]
        r, t = tr.row[i], tr.trial[i]
        assert inc[i - 1] + inc[i] == pytest.approx(table.train_time[r, 3, t], rel=1e-12)


class _Recorder(Optimizer):
    """Random proposals; remembers every evaluation it is told."""

    name = "test-recorder"
    defaults = {"note": 0}

    def setup(self) -> None:
        self.seen: list = []

    def run(self, oracle: Oracle) -> None:
        while True:
            ev = oracle.evaluate(self.encoding.sample(self.rng))
            self.seen.append(ev)
            type(self).last = self.seen


def test_lce_tells_the_wrapped_optimizer_what_it_paid_for(mf: Table) -> None:
    register(_Recorder)
    cls = get_optimizer("lce:test-recorder")
    assert cls.name == "lce-test-recorder" and "note" in cls.defaults
    tr = run_optimizer(cls(ENC, seed=1), Oracle(mf, ENC, 1e5, seed=1))
    seen = _Recorder.last
    stopped = [e for e in seen if e.budget == 12]
    full = [e for e in seen if e.budget == 200]
    assert stopped and full and len(stopped) + len(full) == len(seen)
    inc = _increments(tr)
    i = 0  # walk the proposals: [12] when stopped, [12, 200] when fully trained
    for e in seen:
        assert tr.budget[i] == 12
        if e.budget == 200:
            assert tr.budget[i + 1] == 200 and tr.row[i + 1] == tr.row[i]
            assert e.valid_acc == tr.valid_acc[i + 1] and e.cost == pytest.approx(inc[i] + inc[i + 1], rel=1e-12)
            i += 2
        else:  # stopped: told the 12-epoch observation it paid for
            assert e.valid_acc == mf.valid_acc[tr.row[i], 0, 0] and e.cost == pytest.approx(inc[i], rel=1e-12)
            i += 1
    assert i in (len(tr), len(tr) - 1)


def test_lce_errors_name_the_problem() -> None:
    with pytest.raises(OptimizerError, match="multi-fidelity"):
        get_optimizer("lce:hb")
    with pytest.raises(OptimizerError, match="unknown optimizer"):
        get_optimizer("lce:nope")
    single = load_benchmark("nb201-cifar10-12ep")
    with pytest.raises(OptimizerError, match="not a fidelity below the top"):  # an explicit low fidelity
        run_optimizer(get_optimizer("lce:re")(ENC, seed=0, lce_low="12"), Oracle(single, ENC, 1e5))
    with pytest.raises(OptimizerError, match="not a fidelity below the top"):
        run_optimizer(get_optimizer("lce:re")(ENC, seed=0, lce_low="200"), Oracle(load_benchmark("nb201-cifar10-mf"),
                                                                                   ENC, 1e5))
    with pytest.raises(OptimizerError, match="lce_top_fraction"):
        get_optimizer("lce:re")(ENC, seed=0, lce_top_fraction=0)


@pytest.mark.parametrize("name", ["re", "de"])
def test_lce_on_a_single_budget_table_is_the_wrapped_optimizer(name: str) -> None:
    """No low fidelity to stop at (one budget, no halfway points): every proposal is trained fully, so the run is the
    wrapped optimizer's own, sequentially and with workers."""
    from nasbench_bench.simulator import EventSimulation

    single = load_benchmark("nb201-cifar10-12ep")
    plain = run_optimizer(get_optimizer(name)(ENC, seed=3), Oracle(single, ENC, 2e4, seed=3))
    wrapped = run_optimizer(get_optimizer(f"lce:{name}")(ENC, seed=3), Oracle(single, ENC, 2e4, seed=3))
    assert len(plain) > 20
    assert plain.row.tolist() == wrapped.row.tolist() and plain.time.tolist() == wrapped.time.tolist()
    runs = [EventSimulation(get_optimizer(n)(ENC, seed=3), Oracle(single, ENC, 2e4, seed=3), 3).run()
            for n in (name, f"lce:{name}")]
    assert runs[0].row.tolist() == runs[1].row.tolist() and runs[0].start.tolist() == runs[1].start.tolist()


# -- behaviour on real data --------------------------------------------------------------------------------
def test_asha_and_lce_re_beat_random_search_at_equal_time(mf: Table) -> None:
    """Real NAS-Bench-201 (12 + 200 epochs), 30 paired seeds at 3e5 simulated seconds (~160 RS evaluations)."""
    finals = {
        name: np.array([run_optimizer(get_optimizer(name)(ENC, seed=s), Oracle(mf, ENC, 3e5, seed=100 + s)).regret[-1]
                        for s in range(30)])
        for name in ("rs", "asha", "lce:re")
    }
    rs = finals["rs"].mean()
    assert finals["asha"].mean() < 0.85 * rs, {k: v.mean() for k, v in finals.items()}
    assert finals["lce:re"].mean() < 0.5 * rs, {k: v.mean() for k, v in finals.items()}
    assert (finals["lce:re"] <= finals["rs"]).mean() > 0.7
