"""Figure renderers for the tidy frames of :mod:`nasbench_bench.analysis` (matplotlib, Agg, no pyplot)."""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nasbench_bench.paths import atomic_path

if TYPE_CHECKING:
    from nasbench_bench.space_analysis import SpaceAnalysis

log = logging.getLogger(__name__)

SYNTHETIC_MARK = "SYNTHETIC DATA"

# Fixed colours for the paper's methods (by lower-cased label) so every figure agrees.
KNOWN_COLORS: dict[str, str] = {
    "rs": "#7f7f7f", "random_search": "#7f7f7f", "random": "#7f7f7f",
    "re": "#d62728", "regularized_evolution": "#d62728", "evolution": "#d62728",
    "rl": "#9467bd", "reinforce": "#9467bd",
    "tpe": "#2ca02c",
    "smac": "#1f77b4",
    "hb": "#ff7f0e", "hyperband": "#ff7f0e",
    "bohb": "#8c564b",
    # multi-objective optimizers (nasbench_bench.problems): random search grey, evolution red, as above
    "mo-rs": "#7f7f7f", "mo-re": "#d62728", "optuna-nsga2": "#1f77b4", "optuna-nsga3": "#17becf",
    "optuna-motpe": "#2ca02c", "scalarize-re": "#ff7f0e", "scalarize-tpe": "#9467bd", "scalarize-smac": "#8c564b",
}
_EXTRA = ["#e377c2", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
          "#3182bd", "#31a354"]
_STYLES = ["-", "--", "-."]  # dotted is reserved for "not every run has a value yet"


def optimizer_color(label: str) -> str:
    """Colour of an optimizer label, the same in every figure (unknown labels: hash into a palette)."""
    known = KNOWN_COLORS.get(label.lower())
    return known if known is not None else _EXTRA[zlib.crc32(label.encode()) % len(_EXTRA)]


def _linestyle(label: str) -> str:
    return "-" if label.lower() in KNOWN_COLORS else _STYLES[zlib.crc32(label.encode()) % len(_STYLES)]


def regret_label(score_metric: str) -> str:
    """Axis label for the regret measured on ``score_metric`` ('test' or 'validation'; a text naming a regret,
    such as a problem's ``"hypervolume regret"``, is the label itself)."""
    if score_metric.endswith("regret") or "regret (" in score_metric:
        return score_metric
    if score_metric in ("test", "validation"):
        return f"{score_metric} regret"
    return f"regret ({score_metric})"


def time_label(time_note: str = "", time_unit: str = "seconds") -> str:
    """Axis label of the simulated clock (``time_unit`` "evaluations" on unit-cost tables: no time was recorded);
    ``time_note`` (e.g. the table's DERIVED training times) on a second line."""
    head = ("evaluations (unit cost: no training time recorded)" if time_unit == "evaluations"
            else "simulated wall-clock time [s]")
    return head + (f"\n{time_note}" if time_note else "")


def _title(title: str, synthetic: bool) -> str:
    return f"{SYNTHETIC_MARK} - {title}" if synthetic and SYNTHETIC_MARK not in title else title


def save_figure(fig: Figure, path_stem: str | os.PathLike[str], title: str = "") -> list[Path]:
    """Write ``path_stem.png`` and ``path_stem.pdf`` atomically (``title`` also goes in their metadata)."""
    FigureCanvasAgg(fig)
    stem = Path(path_stem)
    paths = []
    for ext, kwargs in (
        ("png", {"dpi": 150, "metadata": {"Title": title}}),
        ("pdf", {"metadata": {"Title": title, "CreationDate": None}}),
    ):
        dest = stem.with_name(stem.name + "." + ext)
        with atomic_path(dest) as tmp:
            fig.savefig(tmp, format=ext, bbox_inches="tight", **kwargs)
        paths.append(dest)
        log.info("wrote %s", dest)
    return paths


def _single_benchmark(df: pd.DataFrame, what: str) -> None:
    if "benchmark" in df.columns and df["benchmark"].nunique() > 1:
        raise ValueError(f"{what} holds several benchmarks; plot one at a time")


def plot_figure7(
    summary_curves: pd.DataFrame,
    final_ecdf: pd.DataFrame,
    title: str,
    path_stem: str | os.PathLike[str],
    *,
    score_metric: str = "test",
    synthetic: bool = False,
    band: str = "ci",
    ci: float = 0.95,
    quantiles: tuple[float, float] = (0.25, 0.75),
    final_time: float | None = None,
    time_note: str = "",
    time_unit: str = "seconds",
) -> list[Path]:
    """Draw :func:`figure7` and write ``path_stem.png`` and ``path_stem.pdf``; returns both paths."""
    fig = figure7(summary_curves, final_ecdf, title, score_metric=score_metric, synthetic=synthetic,
                  band=band, ci=ci, quantiles=quantiles, final_time=final_time, time_note=time_note,
                  time_unit=time_unit)
    return save_figure(fig, path_stem, _title(title, synthetic))


def plot_ranks(
    avg_rank: pd.DataFrame,
    title: str,
    path_stem: str | os.PathLike[str],
    *,
    score_metric: str = "test",
    synthetic: bool = False,
    time_note: str = "",
    time_unit: str = "seconds",
) -> list[Path]:
    """Draw :func:`ranks_figure` and write ``path_stem.png`` and ``path_stem.pdf``; returns both paths."""
    fig = ranks_figure(avg_rank, title, score_metric=score_metric, synthetic=synthetic, time_note=time_note,
                       time_unit=time_unit)
    return save_figure(fig, path_stem, _title(title, synthetic))


def figure7(
    summary_curves: pd.DataFrame,
    final_ecdf: pd.DataFrame,
    title: str,
    *,
    score_metric: str = "test",
    synthetic: bool = False,
    band: str = "ci",
    ci: float = 0.95,
    quantiles: tuple[float, float] = (0.25, 0.75),
    final_time: float | None = None,
    time_note: str = "",
    time_unit: str = "seconds",
) -> Figure:
    """Two panels like the paper's Figure 7.

    Left: mean regret over runs vs simulated time (log-log), dotted while only some runs have a
    valid evaluation (the mean is then over those runs); the shaded band is the bootstrap CI of
    the mean (``band='ci'``) or the run quantiles (``band='quantile'``), said in the legend; ``ci`` and
    ``quantiles`` only label the band and must match what :func:`summarize_curves` was given.
    The axes start where the data start (the first time any run has a value; the smallest positive value
    drawn); a band or mean reaching regret 0 runs to the bottom edge, with a note.
    Right: ECDF of the final regret per optimizer (log x); a regret of exactly 0 cannot sit on a
    log axis and is drawn at a floor value noted in the panel. ``time_note`` is printed under the time axis
    (the table's DERIVED training times, which set the simulated clock).
    """
    if band not in ("ci", "quantile"):
        raise ValueError("band must be 'ci' or 'quantile'")
    _single_benchmark(summary_curves, "summary_curves")
    _single_benchmark(final_ecdf, "final_ecdf")
    ylab = regret_label(score_metric)
    fig = Figure(figsize=(12, 4.6))
    ax, ax2 = fig.subplots(1, 2)

    lo_col, hi_col = ("ci_low", "ci_high") if band == "ci" else ("q_low", "q_high")
    bands: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]] = []
    if band == "ci":
        band_text = f"{ci:.0%} bootstrap CI of the mean"
    else:
        band_text = f"{quantiles[0]:.0%}-{quantiles[1]:.0%} quantiles of runs"
    t_all = summary_curves["time"].to_numpy(dtype=float) if len(summary_curves) else np.array([10.0, 1e7])
    drawn: list[np.ndarray] = []  # positive values on the axis, for its limits
    floors: list[np.ndarray] = []  # band lows, which may reach 0 (not drawable on a log axis)
    for opt, grp in summary_curves.groupby("optimizer", sort=True):
        grp = grp.sort_values("time")
        t = grp["time"].to_numpy(dtype=float)
        mean = grp["mean"].to_numpy(dtype=float)
        n_runs = int(grp["n_runs"].max()) if "n_runs" in grp else 0
        color = optimizer_color(str(opt))
        with np.errstate(invalid="ignore"):
            show = np.isfinite(mean) & (mean > 0)
        full = grp["n_runs"].to_numpy() == n_runs if "n_runs" in grp else np.ones(len(t), bool)
        partial = show & ~full
        if partial.any():  # mean over only the runs that already have a value: drawn faint
            last = np.flatnonzero(partial)[-1]
            ax.plot(t[: last + 2][show[: last + 2]], mean[: last + 2][show[: last + 2]], color=color,
                    ls=":", lw=1.0, alpha=0.7)
        ax.plot(np.where(full & show, t, np.nan), np.where(full & show, mean, np.nan), color=color,
                ls=_linestyle(str(opt)), lw=1.6, label=f"{opt} (n={n_runs})")
        lo, hi = grp[lo_col].to_numpy(dtype=float), grp[hi_col].to_numpy(dtype=float)
        ok = np.isfinite(lo) & np.isfinite(hi) & (hi > 0)
        bands.append((t, lo, hi, ok, color))
        drawn += [mean[show], hi[ok]]
        floors.append(lo[ok])
    values = np.concatenate(drawn) if drawn else np.array([])
    lows = np.concatenate(floors) if floors else np.array([])
    positive = np.concatenate([values, lows[lows > 0]])
    y_lo = float(positive.min()) / 1.5 if len(positive) else 1e-3
    y_hi = float(values.max()) * 1.5 if len(values) else 1.0
    for t, lo, hi, ok, color in bands:  # a band reaching 0 runs to the bottom edge, not to 1e-12
        ax.fill_between(t, np.where(ok, np.maximum(lo, y_lo), np.nan), np.where(ok, hi, np.nan),
                        color=color, alpha=0.18, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(y_lo, max(y_hi, y_lo * 10))
    has_data = (summary_curves["n_runs"].to_numpy() > 0) if "n_runs" in summary_curves else np.ones(len(t_all), bool)
    t_first = float(np.min(t_all[has_data])) if has_data.any() else float(np.min(t_all))
    ax.set_xlim(t_first, float(np.max(t_all)))
    if len(lows) and (lows <= 0).any():
        ax.text(0.02, 0.02, "a band at the bottom edge reaches regret 0 (not drawable on a log axis)",
                transform=ax.transAxes, fontsize=7, va="bottom")
    ax.set_xlabel(time_label(time_note, time_unit), fontsize=10 if not time_note else 8)
    ax.set_ylabel(f"mean {ylab}")
    ax.grid(True, which="major", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=8, title_fontsize=8,
                  title=f"shaded: {band_text}\ndotted: not every run has a value yet")
    ax.set_title("mean regret over runs", fontsize=10)

    x_pos = final_ecdf.loc[final_ecdf["final_regret"] > 0, "final_regret"]
    floor = float(x_pos.min()) / 10.0 if len(x_pos) else 1e-6
    has_zero = bool((final_ecdf["final_regret"] <= 0).any())
    for opt, grp in final_ecdf.groupby("optimizer", sort=True):
        grp = grp.sort_values("final_regret")
        x = np.maximum(grp["final_regret"].to_numpy(dtype=float), floor)
        y = grp["ecdf"].to_numpy(dtype=float)
        ax2.step(np.concatenate([[floor], x]), np.concatenate([[0.0], y]), where="post",
                 color=optimizer_color(str(opt)), ls=_linestyle(str(opt)), lw=1.6, label=str(opt))
    ax2.set_xscale("log")
    ax2.set_ylim(0, 1.02)
    when = f"at {final_time:.3g} s" if final_time is not None else "at the end of each run"
    ax2.set_xlabel(f"final {ylab} ({when})")
    ax2.set_ylabel("fraction of runs (ECDF)")
    ax2.grid(True, which="major", alpha=0.3)
    if has_zero:
        ax2.text(0.02, 0.97, f"regret 0 drawn at {floor:.1e}", transform=ax2.transAxes, fontsize=8, va="top")
    if len(final_ecdf):
        ax2.legend(fontsize=8, loc="lower right")
    ax2.set_title("ECDF of final regret", fontsize=10)

    fig.suptitle(_title(title, synthetic), color="red" if synthetic else "black")
    return fig


def ranks_figure(
    avg_rank: pd.DataFrame,
    title: str,
    *,
    score_metric: str = "test",
    synthetic: bool = False,
    time_note: str = "",
    time_unit: str = "seconds",
) -> Figure:
    """Average rank (1 = lowest regret) vs simulated time, log x (``time_note`` under the time axis)."""
    _single_benchmark(avg_rank, "avg_rank")
    fig = Figure(figsize=(7, 4.6))
    ax = fig.subplots()
    for opt, grp in avg_rank.groupby("optimizer", sort=True):
        grp = grp.sort_values("time")
        ax.plot(grp["time"], grp["mean_rank"], color=optimizer_color(str(opt)), ls=_linestyle(str(opt)),
                lw=1.6, label=str(opt))
    n_opt = avg_rank["optimizer"].nunique()
    ax.set_xscale("log")
    ranked = avg_rank.loc[np.isfinite(avg_rank["mean_rank"].to_numpy(dtype=float)), "time"]
    if len(ranked):  # from the first evaluation on: before it nobody is ranked
        ax.set_xlim(float(ranked.min()), float(avg_rank["time"].max()))
        ax.set_ylim(0.9, n_opt + 0.1)
        n_seeds = int(avg_rank["n_seeds"].max()) if "n_seeds" in avg_rank else 0
        ax.legend(fontsize=8, title=f"paired over {n_seeds} seeds", title_fontsize=8)
    ax.set_xlabel(time_label(time_note, time_unit), fontsize=10 if not time_note else 8)
    ax.set_ylabel(f"average rank by {regret_label(score_metric)} (1 = best)")
    ax.grid(True, which="major", alpha=0.3)
    fig.suptitle(_title(title, synthetic), color="red" if synthetic else "black")
    return fig


# -- search-space analysis (nasbench_bench.space_analysis) ---------------------------------------------------------
def workers_figure(wcurves: pd.DataFrame, speedup: pd.DataFrame, title: str, *, score_metric: str = "test",
                   synthetic: bool = False, time_note: str = "", time_unit: str = "seconds") -> Figure:
    """Parallel workers: one panel per optimizer label with its mean regret vs simulated wall-clock time, one
    curve per number of workers K (darker = more workers), then a last panel with the speed-up (time to reach the
    level of :func:`~nasbench_bench.analysis.speedup_table` with the fewest workers / with K) against K, with the
    ideal linear speed-up dashed. ``wcurves``/``speedup``: :func:`~nasbench_bench.analysis.workers_curves` and
    :func:`~nasbench_bench.analysis.speedup_table` of one benchmark."""
    from matplotlib import colormaps

    _single_benchmark(wcurves, "wcurves")
    labels = sorted(wcurves["label"].unique())
    n = len(labels) + 1
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(4.2 * cols, 3.6 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    all_k = sorted(wcurves["workers"].unique())
    cmap = colormaps["viridis"]
    shade = {k: cmap(0.85 * (1 - i / max(1, len(all_k) - 1))) for i, k in enumerate(all_k)}
    ylab = regret_label(score_metric)
    for ax, label in zip(axes, labels, strict=False):
        for k, grp in wcurves[wcurves["label"] == label].groupby("workers", sort=True):
            full = grp["n_runs"].to_numpy() == grp["n_runs"].max()
            mean = grp["mean"].to_numpy(dtype=float)
            ok = full & np.isfinite(mean) & (mean > 0)
            ax.plot(grp["time"].to_numpy()[ok], mean[ok], color=shade[k], lw=1.6,
                    label=f"K={k} (n={int(grp['n_runs'].max())})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel(time_label(time_unit=time_unit), fontsize=9)
        ax.set_ylabel(f"mean {ylab}")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
    ax = axes[len(labels)]
    for label, grp in speedup.groupby("label", sort=True):
        ax.plot(grp["workers"], grp["speedup"], marker="o", color=optimizer_color(str(label)),
                ls=_linestyle(str(label)), label=str(label))
    if len(all_k):
        ks = np.asarray(all_k, dtype=float)
        ax.plot(ks, ks / ks[0], color="black", ls="--", lw=0.8, label="linear")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("workers K")
    ax.set_ylabel("speed-up to reach the level")
    ax.set_title("time to reach the K-min final mean regret, vs K", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7)
    for extra in axes[len(labels) + 1:]:
        extra.set_visible(False)
    fig.suptitle(_title(title, synthetic), color="red" if synthetic else "black")
    fig.tight_layout(rect=(0, 0.05 if time_note else 0, 1, 1))
    if time_note:  # once for the figure (the table's DERIVED training times set the clock)
        fig.text(0.5, 0.01, time_note, ha="center", va="bottom", fontsize=8)
    return fig


def plot_workers(wcurves: pd.DataFrame, speedup: pd.DataFrame, title: str, path_stem: str | os.PathLike[str], *,
                 score_metric: str = "test", synthetic: bool = False, time_note: str = "",
                 time_unit: str = "seconds") -> list[Path]:
    """Draw :func:`workers_figure` and write ``path_stem.png`` and ``path_stem.pdf``; returns both paths."""
    fig = workers_figure(wcurves, speedup, title, score_metric=score_metric, synthetic=synthetic,
                         time_note=time_note, time_unit=time_unit)
    return save_figure(fig, path_stem, _title(title, synthetic))


def _missing(ax: object, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _budget_colors(budgets: list[int]) -> dict[int, tuple[float, ...]]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    n = max(len(budgets) - 1, 1)
    return {b: cmap(0.85 * i / n) for i, b in enumerate(budgets)}


def space_distributions_figure(sa: SpaceAnalysis) -> Figure:
    """ECDFs of validation (solid) and test (dashed) accuracy and of training time per budget; trial noise."""
    fig = Figure(figsize=(15, 4.4))
    ax_acc, ax_time, ax_noise = fig.subplots(1, 3)
    colors = _budget_colors(sa.budgets)
    for (metric, budget), grp in sa.ecdfs.groupby(["metric", "budget"], sort=True):
        ax = ax_time if metric == "time" else ax_acc
        ls = "--" if metric == "test" else "-"
        label = f"{budget}" if metric == "time" else f"{'test' if metric == 'test' else 'validation'}, budget {budget}"
        ax.step(grp["value"], grp["ecdf"], where="post", color=colors[int(budget)], ls=ls, lw=1.5, label=label)
    has = set(sa.ecdfs["metric"])
    if {"valid", "test"} & has:
        ax_acc.set_xlabel(f"{sa.metric} (mean over trials){'' if sa.maximize else ', lower is better'}")
        values = sa.ecdfs.loc[sa.ecdfs["metric"] != "time", "value"].to_numpy(dtype=float)
        if len(values) and values.min() > 0 and values.max() > 1e3 * values.min():
            ax_acc.set_xscale("log")  # e.g. MSEs spanning many orders of magnitude
        ax_acc.set_ylabel("fraction of cells (ECDF)")
        ax_acc.legend(fontsize=7)
        ax_acc.grid(True, alpha=0.3)
        if "test" not in has:
            ax_acc.set_title("no test split in this table", fontsize=9)
    else:
        _missing(ax_acc, f"no {sa.metric} in this table")
    if "time" in has:
        ax_time.set_xscale("log")
        ax_time.set_xlabel("training time [s] (mean over trials)")
        ax_time.legend(fontsize=7, title="budget", title_fontsize=7)
        ax_time.grid(True, alpha=0.3)
    else:
        _missing(ax_time, "no training time in this table")
    if len(sa.noise):
        raw = sa.noise["value"].to_numpy(dtype=float)
        floor = float(raw[raw > 0].min()) / 10.0 if (raw > 0).any() else 1e-6
        ax_noise.step(np.maximum(raw, floor), sa.noise["ecdf"], where="post", color="k", lw=1.5)
        if (raw <= 0).any():
            ax_noise.text(0.02, 0.97, f"no noise (0) drawn at {floor:.0e}", transform=ax_noise.transAxes, fontsize=8,
                          va="top")
        ax_noise.set_xscale("log")
        ax_noise.set_xlabel(f"max - min validation {sa.metric} over trials, budget {sa.budgets[-1]}")
        ax_noise.grid(True, alpha=0.3)
    else:
        _missing(ax_noise, "fewer than 2 trials per cell: no trial noise")
    fig.suptitle(_title(f"{sa.name}: distributions over all {sa.summary.get('cells', 0):,} cells", sa.synthetic),
                 color="red" if sa.synthetic else "black")
    return fig


def space_cost_figure(sa: SpaceAnalysis) -> Figure:
    """Training time and parameter count against accuracy (hexbin densities, log colour)."""
    fig = Figure(figsize=(12, 4.6))
    axes = fig.subplots(1, 2)
    for ax, col, label in ((axes[0], "time", f"training time [s], budget {sa.budgets[-1]}"),
                           (axes[1], "params", sa.params_label)):
        x, y = sa.cost[col].to_numpy(dtype=float), sa.cost["score"].to_numpy(dtype=float)
        ylabel = sa.score_label
        if not sa.maximize:  # draw the minimised metric as recorded (e.g. a positive MSE), log-scaled if it spans
            y = -y
            ylabel = f"mean {sa.metric} at budget {sa.budgets[-1]} (lower is better)"
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            _missing(ax, f"no {label} in this table")
            continue
        log_y = not sa.maximize and y[ok].min() > 0 and y[ok].max() > 1e3 * y[ok].min()
        hb = ax.hexbin(x[ok], y[ok], gridsize=60, bins="log", mincnt=1, cmap="viridis",
                       yscale="log" if log_y else "linear")
        fig.colorbar(hb, ax=ax, label="cells")
        ax.set_xlabel(label)
        ax.set_ylabel(ylabel)
    fig.suptitle(_title(f"{sa.name}: cost vs {sa.metric}", sa.synthetic), color="red" if sa.synthetic else "black")
    return fig


def space_ops_figure(sa: SpaceAnalysis) -> Figure:
    """Median accuracy (and interquartile band) by how many times each op occurs in the cell."""
    fig = Figure(figsize=(7, 4.6))
    ax = fig.subplots()
    if sa.ops.empty:
        _missing(ax, "op composition unknown for this table")
    tab10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    for i, (op, grp) in enumerate(sa.ops.groupby("op", sort=False)):
        color = tab10[i % len(tab10)]
        ax.plot(grp["count"], grp["median"], marker="o", color=color, label=str(op))
        ax.fill_between(grp["count"], grp["q25"], grp["q75"], color=color, alpha=0.15, lw=0)
    if not sa.ops.empty:
        ax.set_xlabel("number of this op in the cell")
        ax.set_ylabel(f"{sa.score_label}\n(median, band: 25-75 %)")
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
    fig.suptitle(_title(f"{sa.name}: {sa.metric} by op composition", sa.synthetic),
                 color="red" if sa.synthetic else "black")
    return fig


def space_locality_figure(sa: SpaceAnalysis) -> Figure:
    """Random-walk autocorrelation by lag; fraction of strict local optima next to an i.i.d. landscape's."""
    fig = Figure(figsize=(11, 4.4))
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    s = sa.summary
    ax.plot(sa.rwa["lag"], sa.rwa["rwa"], marker="o", color="#1f77b4")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel(f"lag (steps of a random walk over the neighbourhood of encoding {s.get('encoding')})")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel(f"autocorrelation of {sa.score_label}")
    ax.set_title(f"random-walk autocorrelation ({s.get('random_walks')})", fontsize=9)
    ax.grid(True, alpha=0.3)
    frac, rand = s.get("local_optima_fraction", np.nan), s.get("local_optima_fraction_if_random", np.nan)
    ax2.bar(["this table", "i.i.d. scores"], [frac, rand], color=["#1f77b4", "#7f7f7f"])
    for i, v in enumerate((frac, rand)):
        ax2.text(i, v, f"{v:.3%}", ha="center", va="bottom", fontsize=8)
    ax2.set_ylabel("fraction of strict local optima")
    ax2.set_title(f"{s.get('local_optima')} of {s.get('configurations_with_neighbours'):,} configurations "
                  f"({s.get('configurations')})", fontsize=9)
    fig.suptitle(_title(f"{sa.name}: locality", sa.synthetic), color="red" if sa.synthetic else "black")
    return fig


def plot_space(sa: SpaceAnalysis, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the four search-space figures of ``sa`` to ``out_dir`` (PNG and PDF each); returns the paths."""
    out = Path(out_dir)
    paths: list[Path] = []
    for stem, make in (("distributions", space_distributions_figure), ("cost", space_cost_figure),
                       ("ops", space_ops_figure), ("locality", space_locality_figure)):
        fig = make(sa)
        paths += save_figure(fig, out / stem, _title(f"{sa.name}: {stem}", sa.synthetic))
    return paths


# -- across benchmarks (nasbench_bench.across) -----------------------------------------------------------------------
def across_figure(curves: pd.DataFrame, profile: pd.DataFrame, fried: dict, heat: pd.DataFrame, title: str, *,
                  note: str = "") -> Figure:
    """Four panels over several benchmarks: mean normalized regret vs budget fraction (bootstrap CI), the
    Dolan-More performance profiles, the critical-difference diagram (Friedman + Nemenyi over benchmarks) and the
    benchmark x optimizer heat map of mean final normalized regret. Inputs: :mod:`nasbench_bench.across`."""
    from matplotlib.colors import LogNorm

    n_b = max(len(heat), 1)
    fig = Figure(figsize=(15, max(9.0, 5.0 + 0.22 * n_b)))
    gs = fig.add_gridspec(2, 2, height_ratios=[1.0, max(1.0, 0.06 * n_b)])
    ax_c, ax_p = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1])
    ax_cd, ax_h = fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1])
    for opt, grp in curves.groupby("optimizer", sort=True):
        grp = grp.sort_values("fraction")
        color, ls = optimizer_color(str(opt)), _linestyle(str(opt))
        ok = np.isfinite(grp["mean"].to_numpy(dtype=float))
        ax_c.plot(grp["fraction"][ok], grp["mean"][ok], color=color, ls=ls, lw=1.6, label=str(opt))
        ax_c.fill_between(grp["fraction"][ok], grp["lo"][ok], grp["hi"][ok], color=color, alpha=0.12, lw=0)
    ax_c.set_xscale("log")
    ax_c.set_yscale("symlog", linthresh=1e-2)
    ax_c.set_xlabel("fraction of each run's budget")
    ax_c.set_ylabel("mean normalized regret (regret / regret of the median configuration)")
    n_runs = int(curves["n_runs"].max()) if len(curves) else 0
    ax_c.set_title(f"normalized regret, 95% bootstrap CI over benchmarks x seeds (<= {n_runs} runs each)",
                   fontsize=9)
    ax_c.grid(True, which="major", alpha=0.3)
    ax_c.legend(fontsize=7, ncol=2)
    for opt, grp in profile.groupby("optimizer", sort=True):
        ax_p.step(grp["tau"], grp["rho"], where="post", color=optimizer_color(str(opt)), ls=_linestyle(str(opt)),
                  lw=1.6, label=str(opt))
    ax_p.set_xscale("log")
    ax_p.set_ylim(-0.02, 1.02)
    ax_p.set_xlabel("tau (final normalized regret within a factor tau of the best optimizer's)")
    ax_p.set_ylabel("fraction of benchmarks")
    ax_p.set_title("performance profiles (Dolan & More 2002)", fontsize=9)
    ax_p.grid(True, which="major", alpha=0.3)
    ax_p.legend(fontsize=7, ncol=2)
    ranks = fried.get("ranks")
    if ranks is not None and len(ranks) >= 2 and not fried["nemenyi"].empty:
        import scikit_posthocs as sp

        sp.critical_difference_diagram(ranks, fried["nemenyi"], ax=ax_cd, label_fmt_left="{label} ({rank:.2f})  ",
                                       label_fmt_right="  ({rank:.2f}) {label}",
                                       color_palette={str(o): optimizer_color(str(o)) for o in ranks.index})
        p = fried.get("p", float("nan"))
        ax_cd.set_title(f"critical difference: average rank over {fried['n_benchmarks']} benchmarks; Friedman "
                        f"p = {p:.2g}; bars join optimizers Nemenyi does not separate (alpha {fried['alpha']}; "
                        f"CD = {fried['cd']:.2f})", fontsize=8)
    else:
        _missing(ax_cd, "critical-difference diagram: needs >= 2 optimizers on >= 2 common benchmarks")
    if not heat.empty:
        vals = heat.to_numpy(dtype=float)
        pos = vals[np.isfinite(vals) & (vals > 0)]
        vmin = max(float(pos.min()), 1e-4) if len(pos) else 1e-4
        vmax = max(float(np.nanmax(vals)), vmin * 10) if np.isfinite(vals).any() else 1.0
        im = ax_h.imshow(np.clip(vals, vmin, None), aspect="auto", cmap="viridis", norm=LogNorm(vmin, vmax))
        ax_h.set_xticks(range(heat.shape[1]), [str(c) for c in heat.columns], rotation=45, ha="right", fontsize=7)
        ax_h.set_yticks(range(heat.shape[0]), [str(i) for i in heat.index], fontsize=6)
        fig.colorbar(im, ax=ax_h, label="mean final normalized regret (log; 0 drawn at the lowest colour)")
        ax_h.set_title("mean final normalized regret per benchmark", fontsize=9)
    else:
        _missing(ax_h, "no normalized regrets (runs lack the table's median score)")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.04 if note else 0, 1, 1))
    if note:
        fig.text(0.5, 0.005, note, ha="center", va="bottom", fontsize=8, wrap=True)
    return fig


def plot_across(curves: pd.DataFrame, profile: pd.DataFrame, fried: dict, heat: pd.DataFrame, title: str,
                path_stem: str | os.PathLike[str], *, note: str = "") -> list[Path]:
    """Draw :func:`across_figure` and write ``path_stem.png`` and ``path_stem.pdf``."""
    return save_figure(across_figure(curves, profile, fried, heat, title, note=note), path_stem, title)


# -- multi-objective and constrained runs (nasbench_bench.problems, nasbench_bench.mo_analysis) -----------------
def _staircase(points: np.ndarray, x_max: float, y_min: float) -> tuple[np.ndarray, np.ndarray]:
    """The boundary of what 2-D minimisation ``points`` (negated metric, cost) attain, as (cost, metric) lines."""
    p = points[np.argsort(points[:, 1], kind="stable")]
    cost, metric = p[:, 1], -p[:, 0]
    xs, ys = [cost[0], cost[0]], [y_min, metric[0]]
    for i in range(1, len(p)):
        xs += [cost[i], cost[i]]
        ys += [metric[i - 1], metric[i]]
    xs.append(x_max)
    ys.append(metric[-1])
    return np.asarray(xs), np.asarray(ys)


def attainment_figure(surfaces: Mapping[str, Mapping[str, np.ndarray]], front: np.ndarray, title: str, *,
                      metric: str, cost: str, cost_unit: str = "", n_runs: Mapping[str, int] | None = None,
                      synthetic: bool = False, log_cost: bool = False) -> Figure:
    """Empirical attainment surfaces of 2-objective runs against the table's true front.

    ``surfaces``: optimizer -> level (``best``/``median``/``worst``) -> minimised points (negated metric, cost),
    as :func:`nasbench_bench.mo_analysis.attainment_surfaces` gives them; ``front``: the table's exact front.
    First panel: every optimizer's median surface; then one panel per optimizer with its best, median and worst.
    """
    opts = list(surfaces)
    n = 1 + len(opts)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(4.6 * cols, 3.9 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    allpts = [front] + [s for lv in surfaces.values() for s in lv.values() if len(s)]
    stacked = np.vstack(allpts)
    x_max = float(np.nanmax(stacked[:, 1]))
    y_all = -stacked[:, 0]
    y_min = float(np.nanmin(y_all))
    y_lo = y_min - 0.02 * (float(np.nanmax(y_all)) - y_min)
    fx, fy = _staircase(front, x_max, y_lo)
    styles = {"best": ("--", 1.0), "median": ("-", 1.8), "worst": (":", 1.4)}
    for k, ax in enumerate(axes):
        if k >= n:
            ax.set_visible(False)
            continue
        ax.plot(fx, fy, color="black", lw=1.2, label=f"table front ({len(front)} cells)")
        if k == 0:
            for opt in opts:
                med = surfaces[opt].get("median")
                if med is not None and len(med):
                    sx, sy = _staircase(med, x_max, y_lo)
                    ax.plot(sx, sy, color=optimizer_color(opt), ls=_linestyle(opt), lw=1.6,
                            label=f"{opt} (n={(n_runs or {}).get(opt, '?')})")
            ax.set_title("median attainment surfaces", fontsize=10)
        else:
            opt = opts[k - 1]
            color = optimizer_color(opt)
            for lv, pts in surfaces[opt].items():
                if len(pts):
                    sx, sy = _staircase(pts, x_max, y_lo)
                    ls, lw = styles.get(lv, ("-", 1.0))
                    ax.plot(sx, sy, color=color, ls=ls, lw=lw, label=lv)
            ax.set_title(f"{opt}: best / median / worst over {(n_runs or {}).get(opt, '?')} runs", fontsize=10)
        if log_cost:
            ax.set_xscale("log")
        ax.set_ylim(y_lo, None)
        ax.set_xlabel(f"{cost}" + (f" [{cost_unit}]" if cost_unit else "") + " (lower is better)", fontsize=9)
        ax.set_ylabel(f"{metric} (higher is better)", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(_title(title, synthetic), color="red" if synthetic else "black", fontsize=11)
    fig.tight_layout()
    return fig


def infeasible_figure(summary: pd.DataFrame, title: str, *, synthetic: bool = False) -> Figure:
    """Mean fraction of infeasible evaluations per optimizer (constrained runs), with bootstrap CIs."""
    fig = Figure(figsize=(1.2 + 0.9 * max(len(summary), 1), 3.6))
    ax = fig.subplots()
    x = np.arange(len(summary))
    mean = summary["mean"].to_numpy(dtype=float)
    err = np.vstack([mean - summary["ci_low"].to_numpy(dtype=float), summary["ci_high"].to_numpy(dtype=float) - mean])
    ax.bar(x, mean, yerr=err, color=[optimizer_color(str(o)) for o in summary["optimizer"]], capsize=3)
    ax.set_xticks(x, [f"{o}\n(n={k})" for o, k in zip(summary["optimizer"], summary["n_runs"])], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("infeasible evaluations (fraction, charged)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_title("mean over runs, 95% bootstrap CI", fontsize=9)
    fig.suptitle(_title(title, synthetic), color="red" if synthetic else "black", fontsize=10)
    fig.tight_layout()
    return fig
