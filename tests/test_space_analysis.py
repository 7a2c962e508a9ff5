"""Search-space analysis: each data function checked on tables small enough to compute by hand; the figures and the
``analyze`` command on the toy table (missing metrics are notes, not crashes)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from _grid import ACC, GridEncoding, grid_table

from nasbench_bench import plots
from nasbench_bench import space_analysis as S
from nasbench_bench.table import Table

ENC = GridEncoding()


def test_ecdf_points_leave_out_nan_and_thin_to_exact_points() -> None:
    x, y = S.ecdf_points(np.array([3.0, 1.0, np.nan, 2.0]))
    assert x.tolist() == [1, 2, 3] and y.tolist() == pytest.approx([1 / 3, 2 / 3, 1])
    x, y = S.ecdf_points(np.arange(10.0)[::-1], max_points=4)  # ranks 0, 3, 6, 9 of 10
    assert x.tolist() == [0, 3, 6, 9] and y.tolist() == pytest.approx([0.1, 0.4, 0.7, 1.0])


def test_autocorrelation_of_known_walks() -> None:
    assert S.autocorrelation(np.array([1.0, 2, 3, 4, 5]), 1).tolist() == pytest.approx([1.0, 1.0])
    alt = S.autocorrelation(np.array([1.0, 0, 1, 0, 1, 0]), 2)
    assert alt.tolist() == pytest.approx([1.0, -1.0, 1.0])
    # two walks pooled: lag-1 pairs (0,1), (1,0), (1,1), (1,0) -> correlation -1/sqrt(3)
    assert S.autocorrelation(np.array([[0.0, 1, 0], [1, 1, 0]]), 1)[1] == pytest.approx(-1 / math.sqrt(3))
    flat = S.autocorrelation(np.ones(5), 1)
    assert np.isnan(flat).all()


def test_local_optima_of_the_grid() -> None:
    table = grid_table()
    score = S.score_of_cells(table, ENC, np.array([ACC[k] for k in sorted(ACC)]))
    assert score[3 * 2 + 0] == 0.90 and np.isnan(score[8])
    vectors, exact = S.configurations(ENC, np.random.default_rng(0), n=3)
    assert exact and len(vectors) == 9
    opt = S.local_optima(ENC, vectors, score).set_index("cell")
    assert len(opt) == 8  # the invalid configuration (2, 2) is left out
    assert sorted(opt.index[opt["is_optimum"]]) == [3 * 1 + 2, 3 * 2 + 0]  # (1, 2) .80 and (2, 0) .90
    # the neighbours of the invalid (2, 2) -- (0, 2), (1, 2), (2, 0), (2, 1) -- have 3 valid neighbours, the rest 4
    assert opt["n_neighbours"].to_dict() == {0: 4, 1: 4, 2: 3, 3: 4, 4: 4, 5: 3, 6: 3, 7: 3}
    # a tie is not worse: give (1, 1) the score of (1, 2) and (1, 2) is no longer a strict optimum
    tied = score.copy()
    tied[4] = tied[5]
    assert sorted(S.local_optima(ENC, vectors, tied).query("is_optimum")["cell"]) == [6]


def test_random_walks_step_to_valid_neighbouring_cells() -> None:
    table = grid_table()
    score = S.score_of_cells(table, ENC, np.array([ACC[k] for k in sorted(ACC)]))
    walks = S.random_walks(ENC, score, np.random.default_rng(1), 3, 30)
    cell_of = {v: 3 * x + y for (x, y), v in ACC.items()}  # scores are distinct: a score names its cell
    for walk in walks:
        cells = [cell_of[v] for v in walk.tolist()]
        for a, b in zip(cells, cells[1:]):
            assert (a // 3 == b // 3) != (a % 3 == b % 3), (a, b)  # exactly one coordinate changed


def _nb201_table(ids: list[str], acc: list[float], trials: list[list[float]] | None = None) -> Table:
    n = len(ids)
    valid = np.array(trials if trials is not None else [[a] for a in acc], dtype=float).reshape(n, 1, -1)
    t = valid.shape[2]
    return Table(name="tiny201", budgets=np.array([200]), cell_ids=np.array(sorted(ids), dtype="S6"),
                 n_trials=np.full((n, 1), t, np.int8), train_time=np.full((n, 1, t), 100.0),
                 train_acc=np.full((n, 1, t), np.nan), valid_acc=valid, test_acc=None, score_metric="validation")


def test_op_counts_and_accuracy_by_op() -> None:
    table = _nb201_table(["000000", "012344", "333333"], [0.1, 0.5, 0.9])
    names, counts = S.op_counts(table, "nb201")
    assert names[0] == "none" and names[3] == "nor_conv_3x3"
    assert counts.tolist() == [[6, 0, 0, 0, 0], [1, 1, 1, 1, 2], [0, 0, 0, 6, 0]]
    assert S.op_counts(table, "grid") is None
    frame = S.accuracy_by_op_count(np.array([0.1, 0.5, 0.9]), counts, names).set_index(["op", "count"])
    assert frame.loc[("none", 0), "n_cells"] == 1 and frame.loc[("none", 0), "median"] == 0.9
    assert frame.loc[("none", 1), "median"] == 0.5 and frame.loc[("nor_conv_3x3", 6), "mean"] == 0.9
    assert frame.loc[("avg_pool_3x3", 0), "median"] == pytest.approx(0.5)  # cells 1 and 3: median of .1 and .9
    assert frame.loc[("avg_pool_3x3", 0), "q25"] == pytest.approx(0.3)


def test_cell_metrics_and_trial_noise_by_hand() -> None:
    table = _nb201_table(["000001", "000002"], [], trials=[[0.5, 0.7, np.nan], [0.2, 0.2, 0.3]])
    assert S.cell_metric(table, "valid")[:, 0].tolist() == pytest.approx([0.6, 0.7 / 3])
    assert S.cell_metric(table, "test") is None and S.cell_metric(table, "train") is None
    assert S.trial_noise(table).tolist() == pytest.approx([0.2, 0.1])
    assert S.cell_parameters(table) is None


def test_analyze_space_on_the_grid_with_missing_metrics(tmp_path) -> None:
    table = dataclasses.replace(grid_table(), test_acc=None, score_metric="validation")
    sa = S.analyze_space(table, ENC, "grid", n_walks=2, walk_length=10, max_lag=3)
    s = sa.summary
    assert (s["local_optima"], s["configurations_with_neighbours"], s["configurations"]) == (2, 8, "all")
    assert s["local_optima_fraction"] == pytest.approx(2 / 8)
    assert s["local_optima_fraction_if_random"] == pytest.approx((4 * 1 / 5 + 4 * 1 / 4) / 8)
    notes = " ".join(sa.notes)
    assert "no test_acc" in notes and "no parameter counts" in notes and "op composition unknown" in notes
    assert "fewer than 2 trials" in notes
    paths = plots.plot_space(sa, tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{n}.{e}" for n in ("distributions", "cost", "ops", "locality")
                                                   for e in ("png", "pdf"))
    assert all(p.stat().st_size > 1000 for p in paths)
    assert all(b"SYNTHETIC DATA" in p.read_bytes() for p in paths)  # the grid table is marked synthetic
    with pytest.raises(ValueError, match="no test_acc"):
        S.analyze_space(table, ENC, "grid", metric="test")


def test_analyze_command_on_the_toy_table(tmp_path, capsys) -> None:
    from nasbench_bench.cli import main

    assert main(["analyze", "toy", "--out", str(tmp_path), "--walks", "2", "--walk-length", "20"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC DATA" in out and "local_optima_fraction" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["synthetic"] is True and summary["cells"] == 15625 and summary["configurations"] == "all"
    assert summary["notes"] == ["no parameter counts in this table: parameters vs accuracy is omitted"]
    assert len(list(tmp_path.glob("*.png"))) == 4 and len(list(tmp_path.glob("*.pdf"))) == 4
    assert main(["analyze", "toy", "--encoding", "A", "--out", str(tmp_path)]) == 2  # like every command's mistakes
    assert "error: encoding 'A' is for 'nb101'" in capsys.readouterr().err
