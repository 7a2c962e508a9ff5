"""The shipped NAS-Bench-101 hash table (nasbench_bench.nb101.space_hashes) and the space build that uses it.

The table's entries are checked against the hash functions themselves (recomputed here from each decoded cell),
against hashes of the real data published elsewhere, and, in the slow lane, against a full regeneration.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import tomllib

from nasbench_bench.nb101 import graph_util
from nasbench_bench.nb101 import space as space_mod
from nasbench_bench.nb101 import space_hashes as sh
from nasbench_bench.nb101.spec import OPS, ModelSpec, hash_module
from nasbench_bench.store import DataFormatError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def table() -> tuple[np.ndarray, np.ndarray]:
    return sh.load_table()


def _cell(enc: int) -> tuple[np.ndarray, list[int]]:
    n, code, lab = (int(x[0]) for x in sh.decode(np.array([enc])))
    m = np.zeros((n, n), dtype=np.int8)
    pos = [(i, j) for i in range(n) for j in range(i + 1, n)]
    for k, (i, j) in enumerate(pos):
        if (code >> k) & 1:
            m[i, j] = 1
    labels = [-1] + [(lab // 3**v) % 3 for v in range(n - 2)] + [-2]
    return m, labels


def _plain_wl_md5(matrix: np.ndarray, labels: list[int]) -> str:
    """The official module hash as its algorithm reads, on plain Python lists and strings (an independent oracle:
    no code shared with nasbench_bench.nb101.spec)."""
    rows = matrix.tolist()
    n = len(rows)
    preds = [[u for u in range(n) if rows[u][v]] for v in range(n)]
    succs = [[w for w in range(n) if rows[v][w]] for v in range(n)]
    state = [hashlib.md5(str((len(succs[v]), len(preds[v]), labels[v])).encode()).hexdigest() for v in range(n)]
    for _ in range(n):
        state = [hashlib.md5(("".join(sorted(state[u] for u in preds[v])) + "|"
                              + "".join(sorted(state[w] for w in succs[v])) + "|" + state[v]).encode()).hexdigest()
                 for v in range(n)]
    return hashlib.md5(str(sorted(state)).encode()).hexdigest()


def test_file_size_and_sha256() -> None:
    raw = (sh.DATA_DIR / sh.FILE).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == sh.SHA256
    assert len(raw) <= 12 * 2**20  # modest package growth
    prov = (sh.DATA_DIR / "PROVENANCE.md").read_text()
    assert sh.SHA256 in prov and f"{len(raw):,} bytes" in prov and "--write" in prov


def test_random_sample_equals_the_reference_hash_functions(table) -> None:
    enc, dig = table
    hexes = sh.hex_of(dig)
    assert len(np.unique(hexes)) == sh.N_CELLS
    rng = np.random.default_rng(2024)
    for i in rng.choice(sh.N_CELLS, size=400, replace=False).tolist():
        m, labels = _cell(int(enc[i]))
        expect = hexes[i].decode()
        assert hash_module(m, labels) == expect
        assert _plain_wl_md5(m, labels) == expect
        # each entry is a valid, already pruned cell of the space
        spec = ModelSpec(m, ["input", *[OPS[x] for x in labels[1:-1]], "output"])
        assert spec.valid_spec and spec.matrix.shape == m.shape and int(m.sum()) <= 9


def test_real_data_hashes_are_in_the_table(table) -> None:
    # (matrix, ops, hash) of a real NB101 record (see test_space.test_known_official_hash for the sources)
    matrix = np.array([[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
                       [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]])
    labels = [-1, 0, 2, 0, 0, 1, -2]
    enc, dig = table
    where = np.flatnonzero(sh.hex_of(dig) == b"00005c142e6f48ac74fdcf73e3439874")
    assert len(where) == 1
    m, lab = _cell(int(enc[where[0]]))
    assert graph_util.is_isomorphic((m, lab), (matrix, labels))


def test_an_altered_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / sh.FILE
    raw = bytearray((sh.DATA_DIR / sh.FILE).read_bytes())
    raw[len(raw) // 2] ^= 1
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataFormatError, match=r"has sha256 [0-9a-f]{64}, expected " + sh.SHA256 + ".*altered"):
        sh.load_table(bad)
    with pytest.raises(DataFormatError, match="cannot be read.*reinstall"):
        sh.load_table(tmp_path / "missing.npz")


def test_a_malformed_table_is_refused_even_with_its_own_sha256(tmp_path: Path, table) -> None:
    enc, dig = table
    cases = {
        "short": (enc[:-1], dig[:-1]),
        "dtype": (enc.astype(np.int64), dig),
        "unsorted": (enc[::-1].copy(), dig[::-1].copy()),
    }
    for name, tab in cases.items():
        path = tmp_path / f"{name}.npz"
        sha = sh.write_table(path, tab)
        with pytest.raises(DataFormatError, match="expected encoding|not strictly ascending"):
            sh.load_table(path, sha256=sha)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(DataFormatError, match="not a NAS-Bench-101 hash table"):
        sh.load_table(junk, sha256=hashlib.sha256(b"not a zip").hexdigest())


def test_lookup_requires_exactly_the_tables_cells(table) -> None:
    enc, dig = table
    perm = np.random.default_rng(0).permutation(len(enc))
    np.testing.assert_array_equal(sh.lookup(enc[perm], table), sh.hex_of(dig)[perm])
    other = enc.copy()
    other[5] += 1  # not a cell of the table
    with pytest.raises(DataFormatError, match="not the cells of the shipped hash table"):
        sh.lookup(other, table)
    with pytest.raises(DataFormatError, match="not the cells"):
        sh.lookup(enc[:-1], table)


def test_the_build_uses_the_table_and_falls_back_when_it_is_refused(tmp_path, monkeypatch, caplog, table) -> None:
    arrays, source = space_mod._build()
    assert source == "shipped"
    # a space built from the table: every hash is in it, each cell's stored spec hashes to its hash
    assert set(arrays["hashes"].tolist()) == set(sh.hex_of(table[1]).tolist())
    for i in range(0, sh.N_CELLS, 9973):
        n = int(arrays["num_vertices"][i])
        assert hash_module(arrays["matrices"][i, :n, :n], arrays["ops"][i, :n].tolist()) == arrays["hashes"][i].decode()
    # an altered table: a warning, and the hashes are computed (stubbed here by the true ones: 20 CPU-s saved)
    shutil.copy(sh.DATA_DIR / sh.FILE, tmp_path / sh.FILE)
    with open(tmp_path / sh.FILE, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\xff\x00")
    monkeypatch.setattr(sh, "DATA_DIR", tmp_path)
    calls = []

    def computed(e, progress=False, workers=None):
        calls.append(1)
        return sh.lookup(sh.encode(e.r_n, e.r_code, e.r_lab), table)

    monkeypatch.setattr(space_mod, "_hash_reps", computed)
    with caplog.at_level(logging.WARNING, logger="nasbench_bench.nb101.space"):
        again, source = space_mod._build()
    assert source == "computed" and calls == [1]
    assert "altered or damaged" in caplog.text and "computing the hashes instead" in caplog.text
    np.testing.assert_array_equal(again["hashes"], arrays["hashes"])


def test_the_build_refuses_a_table_that_disagrees_with_the_hash_function(monkeypatch, table) -> None:
    enc, dig = table
    wrong = dig.copy()
    wrong[:, 0] ^= 0x10  # every hash altered: the spread cross-check must notice
    monkeypatch.setattr(sh, "load_table", lambda: (enc, wrong))
    with pytest.raises(RuntimeError, match="shipped hash of cell .* disagrees"):
        space_mod._build()


def test_package_data_globs_ship_the_table() -> None:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = conf["tool"]["setuptools"]["package-data"]["nasbench_bench.nb101"]
    base = ROOT / "nasbench_bench" / "nb101"
    assert {p for p in sh.DATA_DIR.iterdir() if p.is_file()} == {p for pat in patterns for p in base.glob(pat)}


@pytest.mark.slow
def test_regenerating_the_table_gives_the_shipped_file(tmp_path: Path, table) -> None:
    fresh = sh.compute_table()
    np.testing.assert_array_equal(fresh[0], table[0])
    np.testing.assert_array_equal(fresh[1], table[1])
    assert sh.write_table(tmp_path / sh.FILE, fresh) == sh.SHA256  # byte for byte
