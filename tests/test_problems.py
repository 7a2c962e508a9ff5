"""Hardware-aware and multi-objective problems (nasbench_bench.problems): hypervolume and Pareto fronts against
brute force, the constrained optimum against a direct filter of the table, the MnasNet reward against its formula,
the problem oracle's incumbent and regret, run files and the command line, and one behavioural test on real
NAS-Bench-201 (accuracy vs latency)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from _tables import toy_table
from scipy import stats

from nasbench_bench.benchmarks import get_encoding, load_benchmark
from nasbench_bench.cli import main as cli_main
from nasbench_bench.experiment import Experiment
from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.optimizer import get_optimizer, run_optimizer
from nasbench_bench.oracle import Oracle
from nasbench_bench.problems import (
    Constraint,
    Problem,
    ProblemError,
    ProblemOracle,
    cost_objectives,
    hypervolume,
    mnasnet_reward,
    pareto_front,
)
from nasbench_bench.runner import derive_seeds
from nasbench_bench.table import Table

ENC = EncodingNB201()


@pytest.fixture(scope="module")
def toy() -> Table:
    """The SYNTHETIC toy table with a TEST-ONLY latency column (a function of the cell's ops)."""
    t = toy_table()
    lat = np.array([1.0 + sum(int(c) for c in cid.decode()) for cid in t.cell_ids])
    return dataclasses.replace(t, columns={**t.columns, "latency": lat})


@pytest.fixture(scope="module")
def nb201() -> Table:
    return load_benchmark("nb201-cifar10")


# -- brute force references ----------------------------------------------------------------------------------
def brute_hv(points: np.ndarray, ref: np.ndarray) -> float:
    """Inclusion-exclusion over all subsets of the boxes [p, ref] (exact; small sets only)."""
    pts = [p for p in points if np.all(p < ref)]
    total = 0.0
    for k in range(1, len(pts) + 1):
        for subset in itertools.combinations(pts, k):
            corner = np.max(np.array(subset), axis=0)
            total += (-1) ** (k + 1) * float(np.prod(ref - corner))
    return total


def brute_front(points: np.ndarray) -> set[int]:
    """Indices not dominated by any other point (of duplicates, the first)."""
    out = set()
    for i, p in enumerate(points):
        dominated = any(np.all(q <= p) and (np.any(q < p) or j < i) for j, q in enumerate(points) if j != i)
        if not dominated:
            out.add(i)
    return out


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_hypervolume_against_inclusion_exclusion(m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pts = rng.random((7, m))
    pts[0] = pts[1]  # a duplicate
    pts[2] = np.full(m, 1.5)  # beyond the reference point: adds nothing
    ref = np.full(m, 1.1)
    assert hypervolume(pts, ref) == pytest.approx(brute_hv(pts, ref), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_pareto_front_against_pairwise_dominance(m: int, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    pts = rng.integers(0, 5, size=(40, m)).astype(float)  # many ties and duplicates
    assert set(pareto_front(pts).tolist()) == brute_front(pts)


def test_table_front_against_brute_force(toy: Table) -> None:
    """The bound problem's front = the brute-force non-dominated cells of (negated score, latency)."""
    bound = Problem.parse("pareto:latency").bind(toy)
    rows = np.arange(0, toy.n_cells, 37)  # a subset, brute force is quadratic
    pts = np.column_stack([-np.asarray(toy.score)[rows], toy.columns["latency"][rows]])
    sub = bound.normalise(pts)
    assert set(pareto_front(sub).tolist()) == brute_front(sub)
    # the whole table: no cell dominates a front cell, every other cell is dominated by a front cell
    front = bound.table_points[bound.front_rows]
    others = np.delete(bound.table_points, bound.front_rows, axis=0)
    dominated = (front[None, :, :] <= others[:, None, :]).all(-1).any(1)
    assert dominated.all()
    if len(front) <= 12:
        assert bound.best == pytest.approx(brute_hv(front, bound.reference))


def test_normalisation_and_reference_recorded(nb201: Table) -> None:
    b = Problem.parse("pareto:latency").bind(nb201)
    s = b.summary
    assert s["reference"] == [1.1, 1.1]
    assert s["lower"][0] == pytest.approx(-float(np.nanmax(nb201.score)))
    assert s["upper"][1] == pytest.approx(float(np.nanmax(nb201.columns["latency"])))
    assert np.nanmin(b.table_points) == pytest.approx(0.0) and np.nanmax(b.table_points) == pytest.approx(1.0)


# -- objectives ------------------------------------------------------------------------------------------------
def test_nb201_objectives_are_the_package_arrays(nb201: Table) -> None:
    obj = cost_objectives(nb201)
    assert set(obj) == {"latency", "params"}
    r = 123
    assert obj["latency"][0][r] == pytest.approx(np.nanmean(nb201.latency[r, 0]))  # type: ignore[attr-defined]
    assert obj["params"][0][r] == pytest.approx(np.nanmean(nb201.model_size[r, 0]))  # type: ignore[attr-defined]
    assert "seconds" in obj["latency"][1] and "millions" in obj["params"][1]


def test_unknown_objective_is_an_error_naming_what_exists(nb201: Table) -> None:
    with pytest.raises(ProblemError, match=r"no objective \['flops'\].*latency"):
        Problem.parse("pareto:flops").bind(nb201)


@pytest.mark.parametrize("spec", ["pareto:latency", "pareto:latency,params", "constrained:latency<=0.02",
                                  "constrained:latency<=25%,params<=1", "mnasnet:latency=0.02:soft",
                                  "mnasnet:latency=30%:hard", "mnasnet:latency=0.02:alpha=-0.1,beta=-0.5", "single"])
def test_spec_round_trip(spec: str) -> None:
    p = Problem.parse(spec)
    assert Problem.parse(p.spec()) == p and p.spec() == spec


@pytest.mark.parametrize("bad", ["pareto:", "pareto:a,b,c", "constrained:", "constrained:latency>0.1",
                                 "mnasnet:latency", "mnasnet:latency=0.1:medium", "frobnicate", "pareto:x,x",
                                 "constrained:latency<=250%"])
def test_bad_specs_are_errors(bad: str) -> None:
    with pytest.raises(ProblemError):
        Problem.parse(bad)


def test_toml_table_form_equals_text_form() -> None:
    assert Problem.parse({"kind": "mnasnet", "cost": "latency", "target": "25%", "mode": "hard"}) == \
        Problem.parse("mnasnet:latency=25%:hard")
    assert Problem.parse({"kind": "constrained", "constraints": ["latency <= 0.02"]}) == \
        Problem.parse("constrained:latency<=0.02")
    assert Problem.parse({"kind": "pareto", "objectives": ["latency", "params"]}) == \
        Problem.parse("pareto:latency,params")


# -- constrained -------------------------------------------------------------------------------------------
def test_constrained_optimum_is_the_filtered_table_best(nb201: Table) -> None:
    lat = np.nanmean(nb201.latency[:, 0, :], axis=1)  # type: ignore[attr-defined]
    score = np.asarray(nb201.score)
    for spec, limit in (("constrained:latency<=0.012", 0.012), ("constrained:latency<=10%", np.percentile(lat, 10))):
        b = Problem.parse(spec).bind(nb201)
        assert b.best == float(np.nanmax(score[lat <= limit]))
        assert b.best < nb201.best_score
        assert b.feasible.sum() == int((lat <= limit).sum())


def test_infeasible_evaluations_are_charged_recorded_never_incumbent(nb201: Table) -> None:
    b = Problem.parse("constrained:latency<=10%").bind(nb201)
    oracle = ProblemOracle(nb201, get_encoding("nb201"), 300 * nb201.mean_cost, seed=3, problem=b)
    traj = run_optimizer(get_optimizer("rs")(get_encoding("nb201"), seed=3), oracle)
    feasible = b.feasible[traj.row]
    assert (~feasible).sum() > 100 and feasible.sum() > 5  # both kinds happened
    # charged: the clock moves on every infeasible evaluation as on any other
    steps = np.diff(np.concatenate(([0.0], traj.time)))
    assert (steps[~feasible] > 0).all()
    # never the incumbent; the incumbent is the best validation value seen among feasible evaluations so far
    inc = traj.incumbent
    assert np.all(b.feasible[inc[inc >= 0]])
    first = int(np.argmax(feasible))
    assert np.isnan(traj.regret[:first]).all() and (inc[:first] == -1).all()
    for i in range(first, len(traj), 17):
        seen = np.flatnonzero(feasible[: i + 1])
        j = seen[np.argmax(traj.valid_acc[seen])]
        assert inc[i] == traj.row[j]
        assert traj.regret[i] == pytest.approx(b.best - nb201.score[traj.row[j]])
    # the search saw the death penalty for the infeasible ones
    ev = ProblemOracle(nb201, get_encoding("nb201"), 1e9, seed=0, problem=b).evaluate_cell(
        int(np.flatnonzero(~b.feasible)[0]))
    assert not ev.feasible and ev.value == nb201.floor and ev.valid


# -- MnasNet reward -----------------------------------------------------------------------------------------
def test_mnasnet_reward_formula() -> None:
    # ACC x (LAT/T)^w: soft w = -0.07 either side, hard w = 0 below T and -1 above
    assert mnasnet_reward(0.9, 0.01, 0.02, -0.07, -0.07) == pytest.approx(0.9 * 0.5 ** -0.07)
    assert mnasnet_reward(0.9, 0.04, 0.02, -0.07, -0.07) == pytest.approx(0.9 * 2.0 ** -0.07)
    assert mnasnet_reward(0.9, 0.01, 0.02, 0.0, -1.0) == pytest.approx(0.9)
    assert mnasnet_reward(0.9, 0.04, 0.02, 0.0, -1.0) == pytest.approx(0.45)
    assert mnasnet_reward(0.8, 0.02, 0.02, 0.0, -1.0) == pytest.approx(0.8)  # LAT == T counts as within


def test_mnasnet_problem_regret_against_table_best_reward(nb201: Table) -> None:
    b = Problem.parse("mnasnet:latency=0.015:hard").bind(nb201)
    lat = np.nanmean(nb201.latency[:, 0, :], axis=1)  # type: ignore[attr-defined]
    acc = np.asarray(nb201.score)
    reward = np.where(lat <= 0.015, acc, acc * 0.015 / lat)
    assert b.best == pytest.approx(float(np.nanmax(reward)))
    oracle = ProblemOracle(nb201, ENC, 100 * nb201.mean_cost, seed=1, problem=b)
    ev = oracle.evaluate_cell(500)
    row = oracle._row_of_cell[500]
    expect = ev.valid_acc if lat[row] <= 0.015 else ev.valid_acc * 0.015 / lat[row]
    assert ev.value == pytest.approx(expect) and ev.loss == pytest.approx(1 - expect)
    assert oracle.regret == pytest.approx(b.best - reward[row])


def test_mnasnet_needs_an_accuracy() -> None:
    fc = load_benchmark("fcnet-naval")
    with pytest.raises(ProblemError, match="multiplies an accuracy"):
        Problem.parse("mnasnet:params=50%").bind(fc)


# -- pareto oracle ---------------------------------------------------------------------------------------
def test_pareto_regret_is_hv_regret_of_the_attained_front(nb201: Table) -> None:
    b = Problem.parse("pareto:latency").bind(nb201)
    oracle = ProblemOracle(nb201, ENC, 150 * nb201.mean_cost, seed=5, problem=b)
    traj = run_optimizer(get_optimizer("mo-re")(ENC, seed=5), oracle)
    for i in (0, 10, 50, len(traj) - 1):
        rows = b.attained_rows(traj.row[: i + 1], traj.valid_acc[: i + 1])
        # against a direct computation: HV of the normalised table points of the attained cells
        pts = b.normalise(np.column_stack([-np.asarray(nb201.score)[rows], b.costs[rows, 0]]))
        assert traj.regret[i] == pytest.approx(b.best - brute_hv(pts, b.reference) if len(pts) <= 10
                                              else b.best - hypervolume(pts, b.reference))
    assert sorted(oracle.attained) == sorted(b.attained_rows(traj.row, traj.valid_acc).tolist())
    assert (traj.regret[1:] >= 0).all()


def test_pareto_regret_is_zero_on_the_true_front() -> None:
    """The table's own front has zero regret; evaluating its cells gives the regret of what the search keeps of
    them (it selects on validation values, the front is on test values)."""
    t = load_benchmark("graph-cora")
    b = Problem.parse("pareto:latency").bind(t)
    enc = get_encoding("graph")
    oracle = ProblemOracle(t, enc, 1e9, seed=0, problem=b)
    cells = {r: c for c, r in enumerate(oracle._row_of_cell) if r >= 0}
    for r in b.front_rows.tolist():
        oracle.evaluate_cell(cells[r])
    rows = np.array(oracle.attained)
    assert oracle.regret == pytest.approx(b.hv_regret(rows))
    assert b.hv_regret(b.front_rows) == pytest.approx(0.0, abs=1e-12)


def test_every_evaluation_carries_its_objectives(nb201: Table) -> None:
    b = Problem.parse("pareto:latency,params").bind(nb201)
    ev = ProblemOracle(nb201, ENC, 1e9, seed=0, problem=b).evaluate_cell(42)
    row = Oracle(nb201, ENC, 1e9)._row_of_cell[42]
    assert ev.objectives == (-ev.valid_acc, b.all_costs["latency"][row], b.all_costs["params"][row])
    assert ev.value == ev.valid_acc  # pareto: single-objective optimizers see the metric


def test_problem_oracle_charges_like_the_plain_oracle(nb201: Table) -> None:
    """Same draws, clock and cells: only incumbent and regret follow the problem."""
    b = Problem.parse("pareto:latency").bind(nb201)
    a = run_optimizer(get_optimizer("rs")(ENC, seed=2), Oracle(nb201, ENC, 80 * nb201.mean_cost, seed=2))
    p = run_optimizer(get_optimizer("rs")(ENC, seed=2), ProblemOracle(nb201, ENC, 80 * nb201.mean_cost, seed=2,
                                                                       problem=b))
    for f in ("time", "row", "trial", "valid_acc", "incumbent"):
        assert np.array_equal(getattr(a, f), getattr(p, f), equal_nan=True), f


# -- run files and the command line ---------------------------------------------------------------------------
def test_cli_pareto_run_records_all_objectives_and_resumes(tmp_path) -> None:
    out = tmp_path / "res"
    args = ["run", "--benchmark", "nb201-cifar10", "--optimizers", "mo-rs,mo-re", "--seeds", "0-1",
            "--budget", "60 evaluations", "--problem", "pareto:latency", "--out", str(out), "--no-progress",
            "--jobs", "1"]
    assert cli_main(args) == 0
    files = sorted((out / "runs" / "nb201-cifar10").glob("*/seed-*.parquet"))
    assert len(files) == 4
    tab = pq.read_table(files[0])
    for c in ("obj_latency", "obj_params", "score", "search_value", "feasible", "regret"):
        assert c in tab.column_names
    meta = {k.decode(): json.loads(v) for k, v in tab.schema.metadata.items()}
    assert meta["problem"]["spec"] == "pareto:latency" and meta["problem"]["reference"] == [1.1, 1.1]
    first = [pq.read_table(f).to_pandas() for f in files]
    stamps = [f.stat().st_mtime_ns for f in files]
    assert cli_main(args) == 0  # resumes: nothing to do, the files are kept as they were
    assert [f.stat().st_mtime_ns for f in files] == stamps
    out2 = tmp_path / "res2"
    assert cli_main(args[:-5] + ["--out", str(out2), "--no-progress", "--jobs", "1"]) == 0
    again = sorted((out2 / "runs" / "nb201-cifar10").glob("*/seed-*.parquet"))
    assert [f.relative_to(out2) for f in again] == [f.relative_to(out) for f in files]
    for f, d in zip(again, first):  # deterministic: the same evaluations, objectives and regrets
        assert pq.read_table(f).to_pandas().equals(d)


def test_problem_enters_the_setting_only_when_given() -> None:
    base = {"benchmark": "toy", "optimizers": ["rs"], "seeds": 1, "time_budget": 1e4, "encoding": "nb201"}
    single = Experiment.from_dict(base)
    pareto = Experiment.from_dict({**base, "problem": "pareto:latency"})
    o = single.optimizers[0]
    assert "problem" not in single.settings("toy", o)
    assert pareto.settings("toy", o)["problem"] == "pareto:latency"


@pytest.mark.parametrize("bad", ["pareto:flops", "mnasnet:latency", "constrained:latency<=0.000001"])
def test_cli_bad_problem_is_one_line_error(bad: str, tmp_path, capsys) -> None:
    code = cli_main(["run", "--benchmark", "nb201-cifar10", "--optimizers", "rs", "--seeds", "0", "--budget",
                     "10 evaluations", "--problem", bad, "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ")


def test_cli_constrained_and_mnasnet_runs(tmp_path) -> None:
    for spec in ("constrained:latency<=25%", "mnasnet:latency=25%:soft"):
        out = tmp_path / spec.split(":")[0]
        assert cli_main(["run", "--benchmark", "nb201-cifar10", "--optimizers", "re,optuna-tpe", "--seeds", "0",
                         "--budget", "40 evaluations", "--problem", spec, "--out", str(out), "--no-progress",
                         "--jobs", "1"]) == 0
        for f in (out / "runs" / "nb201-cifar10").glob("*/seed-*.parquet"):
            d = pq.read_table(f).to_pandas()
            assert np.isfinite(d["regret"].iloc[-1]) and d["regret"].iloc[-1] >= 0
            if spec.startswith("constrained"):
                assert (d["search_value"][~d["feasible"]] == 0.0).all()


# -- behaviour on real data ----------------------------------------------------------------------------------
def _final_hv_regret(table: Table, name: str, seeds: range, n_evals: int) -> np.ndarray:
    b = Problem.parse("pareto:latency").bind(table)
    out = []
    for s in seeds:
        oracle_ss, opt_seed = derive_seeds(s)
        oracle = ProblemOracle(table, ENC, n_evals * table.mean_cost, seed=oracle_ss, problem=b)
        out.append(run_optimizer(get_optimizer(name)(ENC, seed=opt_seed), oracle).regret[-1])
    return np.array(out)


@pytest.mark.parametrize("name", ["mo-re", "optuna-nsga2"])
def test_mo_search_beats_random_search_on_nb201_accuracy_vs_latency(nb201: Table, name: str) -> None:
    """At equal budget (200 evaluations' worth of simulated time), paired over 20 seeds, MO-RE / NSGA-II reach a
    significantly lower final hypervolume regret than MO-RS (one-sided Wilcoxon signed-rank, p < 0.01)."""
    seeds = range(20)
    ours = _final_hv_regret(nb201, name, seeds, 200)
    rs = _final_hv_regret(nb201, "mo-rs", seeds, 200)
    p = stats.wilcoxon(ours, rs, alternative="less").pvalue
    assert p < 0.01 and np.median(ours) < np.median(rs), (p, np.median(ours), np.median(rs))


def test_constraint_parse_percentile_resolves_per_table(nb201: Table) -> None:
    c = Constraint.parse("latency<=25%")
    lat = np.asarray(nb201.columns["latency"])
    assert c.resolve(lat) == pytest.approx(float(np.percentile(lat, 25))) and math.isfinite(c.resolve(lat))


# -- analysis: attained fronts, attainment surfaces, infeasible fractions ---------------------------------
def _attained_by(front: np.ndarray, z: np.ndarray) -> bool:
    return bool(np.any(np.all(front <= z + 1e-12, axis=1)))


@pytest.mark.parametrize("seed", range(4))
def test_attainment_surfaces_against_counting(seed: int) -> None:
    """Each surface point of level k is attained (weakly dominated) by >= k runs' fronts, and moving it a little
    in either objective leaves fewer than k (it is on the boundary)."""
    from nasbench_bench.mo_analysis import attainment_surfaces

    rng = np.random.default_rng(seed)
    fronts = []
    for _ in range(5):
        p = rng.random((6, 2))
        fronts.append(p[pareto_front(p)])
    surf = attainment_surfaces(fronts)
    need = {"best": 1, "median": 3, "worst": 5}  # 50% of 5 runs: at least 2.5, i.e. 3
    for lv, pts in surf.items():
        assert len(pts)
        for z in pts:
            assert sum(_attained_by(f, z) for f in fronts) >= need[lv], (lv, z)
            for d in (np.array([1e-6, 0]), np.array([0, 1e-6])):
                assert sum(_attained_by(f, z - d) for f in fronts) < need[lv], (lv, z)
    union = np.vstack(fronts)
    assert {tuple(p) for p in surf["best"]} == {tuple(p) for p in union[pareto_front(union)]}


def test_attained_front_from_the_run_file_matches_the_oracle(tmp_path, nb201: Table) -> None:
    from nasbench_bench.mo_analysis import attained_front, load_problem_runs

    out = tmp_path / "r"
    assert cli_main(["run", "--benchmark", "nb201-cifar10", "--optimizers", "mo-re", "--seeds", "3", "--budget",
                     "80 evaluations", "--problem", "pareto:latency", "--out", str(out), "--no-progress",
                     "--jobs", "1"]) == 0
    (item,) = load_problem_runs(out)
    (_, seed, df), = item.runs
    front = attained_front(df, item.costs)
    b = Problem.parse("pareto:latency").bind(nb201)
    oracle_ss, opt_seed = derive_seeds(3)
    oracle = ProblemOracle(nb201, ENC, float(df["time"].iloc[-1]) + 1e-9, seed=oracle_ss, problem=b)
    run_optimizer(get_optimizer("mo-re")(ENC, seed=opt_seed), oracle)  # the same run, in process
    rows = np.array(sorted(oracle.attained))
    expect = np.column_stack([-np.asarray(nb201.score)[rows], b.costs[rows, 0]])
    assert sorted(map(tuple, front)) == sorted(map(tuple, expect))
    assert df["regret"].iloc[-1] == pytest.approx(b.hv_regret(rows))


def test_plot_and_report_of_problem_runs(tmp_path, capsys) -> None:
    out = tmp_path / "r"
    for spec in ("pareto:latency", "constrained:latency<=20%"):
        assert cli_main(["run", "--benchmark", "nb201-cifar10", "--optimizers", "mo-rs,mo-re", "--seeds", "0-2",
                         "--budget", "40 evaluations", "--problem", spec, "--out", str(out / spec[:6]),
                         "--no-progress", "--jobs", "1"]) == 0
    assert cli_main(["plot", str(out / "pareto"), "--across", "none"]) == 0
    assert (out / "pareto" / "plots" / "nb201-cifar10_pareto_latency_attainment.png").stat().st_size > 10_000
    assert cli_main(["plot", str(out / "constr"), "--across", "none"]) == 0
    assert (out / "constr" / "plots" / "nb201-cifar10_constrained_latency_20_infeasible.png").is_file()
    capsys.readouterr()
    assert cli_main(["report", str(out / "constr"), "--baseline", "mo-rs", "--across", "none"]) == 0
    text = capsys.readouterr().out
    assert "FEASIBLE validation regret" in text and "Infeasible evaluations" in text
    from nasbench_bench.mo_analysis import infeasible_fractions, load_problem_runs

    (item,) = load_problem_runs(out / "constr")
    frac = infeasible_fractions(item)
    b = Problem.parse("constrained:latency<=20%").bind(load_benchmark("nb201-cifar10"))
    for (_, _, df), f in zip(item.runs, frac["infeasible"]):
        rows = load_benchmark("nb201-cifar10").rows(df["cell"].astype(str).to_numpy())
        assert f == pytest.approx(float((~b.feasible[rows]).mean()))


def test_committed_demonstration_matches_the_readme() -> None:
    """The README's multi-objective figures exist, come from the experiment files it names, and the reports say
    what they measure."""
    from pathlib import Path

    from nasbench_bench.experiment import load_experiment

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    nb201 = load_experiment(root / "experiments" / "pareto-nb201.toml")
    graph = load_experiment(root / "experiments" / "pareto-graph.toml")
    assert len(nb201.benchmarks) == 3 and all(b.startswith("nb201-") for b in nb201.benchmarks)
    assert all(b.startswith("graph-") for b in graph.benchmarks)
    assert nb201.problem.spec() == graph.problem.spec() == "pareto:latency"
    for exp, sub in ((nb201, "nb201"), (graph, "graph")):
        assert f"experiments/{exp.name}.toml" in readme
        plots = root / "results" / "pareto" / sub / "plots"
        for b in exp.benchmarks:
            assert (plots / f"{b}_pareto_latency_attainment.png").stat().st_size > 10_000
            assert (plots / f"{b}_figure7.png").stat().st_size > 10_000
        assert "HYPERVOLUME regret" in (root / "results" / "pareto" / sub / "report.txt").read_text()
    for link in ("results/pareto/nb201/plots/nb201-imagenet16-120_pareto_latency_attainment.png",
                 "results/pareto/graph/plots/graph-cora_pareto_latency_attainment.png"):
        assert link in readme and (root / link).is_file()


def test_k_worker_forms_of_the_mo_optimizers(tmp_path) -> None:
    """Every new optimizer runs with simulated workers on a Pareto problem; runs are deterministic."""
    names = "mo-rs,mo-re,optuna-nsga2,scalarize:re"
    frames = []
    for k in range(2):
        out = tmp_path / f"r{k}"
        assert cli_main(["run", "--benchmark", "nb201-cifar10", "--optimizers", names, "--seeds", "0", "--budget",
                         "60 evaluations", "--problem", "pareto:latency", "--workers", "3", "--out", str(out),
                         "--no-progress", "--jobs", "1"]) == 0
        files = sorted((out / "runs" / "nb201-cifar10").glob("*/seed-*.parquet"))
        assert len(files) == 4
        frames.append([pq.read_table(f).to_pandas() for f in files])
    for a, b in zip(*frames):
        assert a.equals(b)
        assert {"worker", "obj_latency", "regret"} <= set(a.columns) and a["worker"].nunique() == 3
        assert len(a) > 100  # three workers share the clock: about 3 x the sequential evaluations
