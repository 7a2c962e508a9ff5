"""Training-free assisted search ``zc:NAME`` (``zc:re``, ``zc:rs``, ``zc:bananas``): a zero-cost warm-up.

Before the wrapped optimizer starts, ``zc_samples`` uniformly random configurations are scored with the table's
zero-cost proxy (the ``<zc_proxy>_score`` column; the Zen-NAS score on every NAS-Bench-201 table and every
TransNAS-Bench-101 task), each scoring charged its recorded compute time (the ``<zc_proxy>_time`` column) to the
simulated clock, and the optimizer starts from the ``zc_seeded`` best-scored distinct cells: regularized
evolution's initial population (Mellor et al., ICML 2021, assisted REA; Abdelfattah et al., ICLR 2021, warm-up),
random search's and BANANAS's first evaluations. Defaults and their sources: ``docs/baselines.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar

import numpy as np

from nasbench_bench.optimizer import (
    Optimizer,
    OptimizerError,
    check_number,
    inner_optimizer,
    wrapper_class,
)
from nasbench_bench.oracle import Oracle, cell_rows

__all__ = ["ZC", "ZC_DEFAULTS", "make_zc"]

log = logging.getLogger(__name__)

#: zc's own hyperparameters (prefixed so they never clash with the wrapped optimizer's).
ZC_DEFAULTS: dict[str, Any] = {"zc_samples": 3000, "zc_seeded": "auto", "zc_proxy": "zen"}


class ZC(Optimizer):
    """Zero-cost warm-up around ``inner`` (set by :func:`make_zc`).

    ``zc_samples``: configurations drawn uniformly (with replacement, from the run's seed through a stream of
    its own, so the wrapped optimizer's own draws are unchanged) and scored; invalid draws and cells without a
    recorded score are skipped and not charged. Each scoring is charged the cell's recorded proxy time; on a
    unit-cost table (the clock counts evaluations, e.g. TransNAS-Bench-101) scorings are charged nothing and the
    recorded seconds are only logged. ``zc_seeded``: how many of the best-scored distinct cells seed the wrapped
    optimizer (ties: the earlier draw first); ``"auto"`` = its initial design: ``population_size`` (RE),
    ``num_init`` (BANANAS), else 10. ``zc_proxy``: the column prefix (``zen``).
    """

    name: ClassVar[str] = "zc"
    inner: ClassVar[type[Optimizer]]
    defaults: ClassVar[Mapping[str, Any]] = ZC_DEFAULTS

    @classmethod
    def check_hyperparameters(cls, hp: Mapping[str, Any]) -> None:
        check_number(cls, hp, "zc_samples", integer=True, minimum=1)
        if hp["zc_seeded"] != "auto":
            check_number(cls, hp, "zc_seeded", integer=True, minimum=1)
        if not isinstance(hp["zc_proxy"], str) or not hp["zc_proxy"]:
            raise OptimizerError(f"optimizer {cls.name!r}: hyperparameter zc_proxy must be a column prefix like 'zen'")
        inner = getattr(cls, "inner", None)
        if inner is not None:
            inner.check_hyperparameters({**inner.defaults, **{k: hp[k] for k in inner.defaults if k in hp}})

    @classmethod
    def check_table(cls, table: Any, hp: Mapping[str, Any]) -> None:
        proxy = str(hp["zc_proxy"])
        score_col, time_col = f"{proxy}_score", f"{proxy}_time"
        if score_col not in table.columns or time_col not in table.columns:
            have = sorted(c[:-6] for c in table.columns if c.endswith("_score") and f"{c[:-6]}_time" in table.columns)
            raise OptimizerError(
                f"{cls.name}: table {table.name!r} has no zero-cost proxy {proxy!r} (columns {score_col!r} and "
                f"{time_col!r}); " + (f"it has {have}" if have else
                                      "zc: runs only on tables that ship a proxy (NAS-Bench-201, TransNAS-Bench-101)"))
        inner = getattr(cls, "inner", None)
        if inner is not None:
            inner.check_table(table, {**inner.defaults, **{k: hp[k] for k in inner.defaults if k in hp}})

    def seeded(self) -> int:
        """How many best-scored cells seed the wrapped optimizer."""
        n = self.hp["zc_seeded"]
        if n != "auto":
            return int(n)
        for key in ("population_size", "num_init"):
            if key in self.inner.defaults:
                return int(self.hp[key])
        return 10

    def warm_up(self, oracle: Oracle) -> list[np.ndarray]:
        """Score ``zc_samples`` random configurations (charged) and return the ``seeded()`` best, best first."""
        table, enc = oracle.table, self.encoding
        self.check_table(table, self.hp)
        proxy = str(self.hp["zc_proxy"])
        score_col, time_col = f"{proxy}_score", f"{proxy}_time"
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0x7A63]))
        vecs = enc.sample(rng, int(self.hp["zc_samples"]))
        cells = enc.cell_indices(vecs)
        rows = np.full(len(cells), -1, dtype=np.int64)
        ok = cells >= 0
        if ok.any():
            rows[ok] = cell_rows(table, enc)[cells[ok]]
        scores = np.full(len(cells), np.nan)
        times = np.zeros(len(cells))
        has = rows >= 0
        scores[has] = np.asarray(table.columns[score_col], dtype=float)[rows[has]]
        times[has] = np.asarray(table.columns[time_col], dtype=float)[rows[has]]
        scored = has & ~np.isnan(scores)
        charge = table.cost_model != "unit"
        self.proxy_seconds = 0.0
        self.scored = 0
        for t in times[scored].tolist():
            if charge:
                oracle.charge(t)
            self.proxy_seconds += t
            self.scored += 1
        log.debug("%s: %d scorings, %.1f recorded proxy seconds%s", self.name, self.scored, self.proxy_seconds,
                  "" if charge else " (not charged: unit-cost table)")
        idx = np.flatnonzero(scored)
        order = idx[np.lexsort((idx, -scores[idx]))]
        out: list[np.ndarray] = []
        taken: set[int] = set()
        want = self.seeded()
        for i in order.tolist():
            if len(out) >= want:
                break
            c = int(cells[i])
            if c not in taken:
                taken.add(c)
                out.append(vecs[i])
        return out

    def run(self, oracle: Oracle) -> None:
        inner = self.inner(self.encoding, seed=self.seed, **{k: self.hp[k] for k in self.inner.defaults})
        inner.set_initial(self.warm_up(oracle))  # type: ignore[attr-defined]
        inner.run(oracle)


@cache
def make_zc(argument: str) -> type[Optimizer]:
    """The class of ``zc:<argument>``: :class:`ZC` around the optimizer ``argument``."""
    inner = inner_optimizer("zc", argument)
    if not callable(getattr(inner, "set_initial", None)):
        raise OptimizerError(f"zc:{argument}: {inner.name or argument!r} cannot start from given configurations "
                             "(it has no set_initial); zc: wraps re, rs and bananas")
    return wrapper_class("zc", ZC, ZC_DEFAULTS, inner, argument,
                         "Zero-cost warm-up around {label} (see :class:`optimizers.zc.ZC`).",
                         multi_fidelity=inner.multi_fidelity, pending_asks=False)
