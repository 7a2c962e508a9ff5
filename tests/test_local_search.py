"""Local search (``ls``): a trajectory checked by hand on the 3 x 3 toy space, and the encodings' neighbourhoods."""

from __future__ import annotations

import numpy as np
import pytest
from _grid import GridEncoding, cell, grid_table

from nasbench_bench.benchmarks import get_encoding
from nasbench_bench.optimizer import get_optimizer, run_optimizer
from nasbench_bench.oracle import Oracle

INV = b""


def test_trajectory_checked_by_hand() -> None:
    """Seed 5, budget 7.5 s (1 s per valid evaluation). The random stream, in the order the search asks for it
    (s = restart draw [x, y], p = neighbourhood order; neighbours are listed x-changes first, then y-changes):

    s [2,2] invalid (free) -> s [1,0] .70 -> nbrs of (1,0) = [(0,0),(2,0),(1,1),(1,2)], p [0,3,2,1]: (0,0) .50 no,
    (1,2) .80 move -> nbrs [(0,2),(2,2),(1,0),(1,1)], p [3,2,0,1]: (1,1) .65 no, (1,0) seen, (0,2) .55 no,
    (2,2) invalid: local optimum -> s [0,0] evaluated again .50 -> nbrs [(1,0),(2,0),(0,1),(0,2)], p [3,2,1,0]:
    (0,2) seen .55 > .50, move without evaluating -> nbrs [(1,2),(2,2),(0,0),(0,1)], p [2,0,1,3]: (0,0) seen, (1,2)
    seen .80, move -> p [2,3,0,1]: (1,0), (1,1), (0,2) seen, (2,2) invalid: local optimum -> s [2,2] invalid ->
    s [1,1] .65 (7 s) -> p [3,1,2,0]: (1,2) seen, move -> p [3,1,2,0]: (1,1) seen, (2,2) invalid, rest seen ->
    s [0,2] would end at 8 s > 7.5 s: not performed.
    """
    rng = np.random.default_rng(5)  # the draws the derivation above used
    draws = [np.floor(rng.random((1, 2)) * 3)[0].tolist() if k == "s" else rng.permutation(4).tolist()
             for k in "ssppspppsspps"]
    assert draws[:4] == [[2, 2], [1, 0], [0, 3, 2, 1], [3, 2, 0, 1]] and draws[-1] == [0, 2]

    enc, table = GridEncoding(), grid_table()
    tr = run_optimizer(get_optimizer("ls")(enc, seed=5), Oracle(table, enc, 7.5, seed=0))
    got = [table.cell_ids[r] if r >= 0 else INV for r in tr.row.tolist()]
    assert got == [INV, cell(1, 0), cell(0, 0), cell(1, 2), cell(1, 1), cell(0, 2), INV, cell(0, 0), INV, INV,
                   cell(1, 1), INV]
    assert tr.time.tolist() == [0, 1, 2, 3, 4, 5, 5, 6, 6, 6, 7, 7]
    assert table.cell_ids[tr.incumbent[-1]] == cell(1, 2)


def test_local_search_finds_the_optimum_of_the_toy_space() -> None:
    enc, table = GridEncoding(), grid_table()
    for seed in range(5):
        tr = run_optimizer(get_optimizer("ls")(enc, seed=seed), Oracle(table, enc, 100.0, seed=seed))
        assert table.cell_ids[tr.incumbent[-1]] == cell(2, 0)


@pytest.mark.parametrize("name", ["A", "B", "C", "nb201"])
def test_neighbours_change_one_op_or_one_edge(name: str) -> None:
    enc = get_encoding(name)
    rng = np.random.default_rng(0)
    for v in enc.sample(rng, 20):
        nb = enc.neighbours(v)
        assert len(np.unique(nb, axis=0)) == len(nb) and not (nb == v).all(axis=1).any()
        if name == "C":  # ops and num_edges change one value; an edge move swaps two weights
            changed = (nb != v).sum(axis=1)
            k = int(v[5])
            assert (changed[:10] == 1).all() and ((nb[:, 5] != v[5]).sum() == (k > 0) + (k < 9))
            assert (changed[10 + (k > 0) + (k < 9):] == 2).all() and len(nb) == 10 + (k > 0) + (k < 9) + k * (21 - k)
            codes, _ = enc._codes(nb[10 + (k > 0) + (k < 9):])
            base, _ = enc._codes(v[None, :])
            assert all(bin(int(c) ^ int(base[0])).count("1") == 2 for c in codes)  # one edge off, one edge on
        else:
            assert ((nb != v).sum(axis=1) == 1).all()
            expected = {"A": 5 * 2 + 21, "B": 5 * 2 + 9 * 20, "nb201": 6 * 4}[name]
            assert len(nb) == expected


def test_float_encodings_without_a_neighbourhood_say_so() -> None:
    from nasbench_bench.encodings import Encoding, Param

    class Floats(Encoding):
        name = "floats"
        params = (Param("w", "float"),)

    with pytest.raises(NotImplementedError, match="float hyperparameters"):
        Floats().neighbours(np.array([0.5]))
