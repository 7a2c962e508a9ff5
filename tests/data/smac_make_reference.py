"""Record SMAC's own ask/tell trajectories (stock components, our settings) as the fast path's reference.

    PYTHONHASHSEED=6640 python tests/data/smac_make_reference.py            # writes smac_reference.npz
    PYTHONHASHSEED=6640 python tests/data/smac_make_reference.py --fast OUT  # the fast facade, same runs

SMAC's decisions depend on string hashing (it iterates sets of configurations), so both need
``PYTHONHASHSEED=6640``; the script refuses to run without it. The objective needs no table: a
configuration's cost is 1 when its encoding maps it to no cell (invalid), otherwise a fixed pseudo-random
value of its cell index, in [0.05, 0.35) (:func:`cost`). Each run is ``TRIALS`` ask/tell steps of
:func:`optimizers.smac.make_facade` with the paper's settings and seed ``SEED``; the file stores, per
encoding, every asked configuration's vector (``<enc>_X``) and cost (``<enc>_y``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HASHSEED = "6640"
ENCODINGS = ("A", "B", "C", "nb201")
TRIALS = 200
SEED = 1
REFERENCE = Path(__file__).with_name("smac_reference.npz")


def cost(encoding, config) -> float:
    """1.0 for an invalid configuration, else a fixed pseudo-random value of its cell index."""
    cell = encoding.cell_index(encoding.to_vector(dict(config)))
    return 1.0 if cell < 0 else 0.05 + 0.3 * ((cell * 2654435761) % 9973) / 9973


def trajectory(name: str, n_trials: int = TRIALS, seed: int = SEED, library_components=True):
    """(vectors, costs) of ``n_trials`` ask/tell steps of SMAC on encoding ``name``."""
    from smac.runhistory.dataclasses import TrialValue

    from nasbench_bench.benchmarks import get_encoding
    from optimizers.smac import SMAC, make_facade

    enc = get_encoding(name)
    X, y = [], []
    with tempfile.TemporaryDirectory(prefix="smac_reference_") as out:
        smac = make_facade(enc.configspace(seed=seed), seed, Path(out), SMAC.defaults,
                           library_components=library_components)
        for _ in range(n_trials):
            info = smac.ask()
            c = cost(enc, info.config)
            smac.tell(info, TrialValue(cost=c), save=False)
            X.append(info.config.get_array().copy())
            y.append(c)
    return np.array(X), np.array(y)


def record(path: Path, library_components) -> None:
    arrays = {}
    for name in ENCODINGS:
        X, y = trajectory(name, library_components=library_components)
        arrays[f"{name}_X"], arrays[f"{name}_y"] = X, y
    np.savez_compressed(path, **arrays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", type=Path, help="run the fast facade instead and write to this file")
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != HASHSEED:
        sys.exit(f"set PYTHONHASHSEED={HASHSEED}: SMAC's decisions depend on string hashing")
    if args.fast is not None:
        record(args.fast, library_components=False)
    else:
        record(REFERENCE, library_components=True)


if __name__ == "__main__":
    main()
