"""Figures for MLflow runs and reports; the only module that imports matplotlib.

Every function returns a :class:`matplotlib.figure.Figure` built directly (no
``pyplot`` global state, no backend switch): the caller logs or saves it
(``fig.savefig(path)`` uses the Agg renderer). Nothing is written here. Figures
are small (6 x 4 in at 100 dpi unless stated), titled, labelled and
deterministic (any sampling uses a fixed seed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from churnml.errors import EmptyDataError, SchemaError
from churnml.explain import Contributions

__all__ = [
    "calibration_figure",
    "cohort_heatmap",
    "decile_figure",
    "gains_figure",
    "pr_figure",
    "profit_figure",
    "risk_distribution_figure",
    "roc_figure",
    "shap_bar_figure",
    "shap_beeswarm_figure",
]

logger = logging.getLogger(__name__)

SIZE = (6.0, 4.0)
DPI = 100


def _figure(title: str, size: tuple[float, float] = SIZE, rows: int = 1, **grid: Any) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, 1, squeeze=False, gridspec_kw=grid or None)[:, 0]
    fig.suptitle(title)
    return fig, list(axes)


def _labels_and_scores(y: Any, scores: Mapping[str, Any] | Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """0/1 labels and a name -> score array mapping, checked for length and content."""
    target = np.asarray(y, dtype="float64")
    named = dict(scores) if isinstance(scores, Mapping) else {"model": scores}
    if len(target) == 0 or not named:
        raise EmptyDataError("plots: no labels or no scores to draw")
    if not np.isin(target, (0.0, 1.0)).all():
        raise SchemaError("plots: y must hold 0/1 churn labels only (no NaN)")
    out = {}
    for name, s in named.items():
        arr = np.asarray(s, dtype="float64")
        if arr.shape != target.shape:
            raise SchemaError(f"plots: scores '{name}' have {arr.shape[0]} rows but y has {len(target)}; align them")
        out[name] = arr
    return target, out


def _need_both_classes(target: np.ndarray, where: str) -> None:
    if len(np.unique(target)) < 2:
        raise SchemaError(f"{where}: y holds only class {target[0]:.0f}; the curve needs churners and non-churners")


def roc_figure(y: Any, scores: Mapping[str, Any]) -> Figure:
    """ROC curves, one per model or baseline, AUC in the legend; dashed chance diagonal."""
    target, named = _labels_and_scores(y, scores)
    _need_both_classes(target, "roc_figure")
    fig, (ax,) = _figure("ROC curve")
    for name, s in named.items():
        fpr, tpr, _ = roc_curve(target, s)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(target, s):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (AUC 0.500)")
    ax.set(xlabel="false positive rate", ylabel="true positive rate (recall)", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize="small")
    return fig


def pr_figure(y: Any, scores: Mapping[str, Any]) -> Figure:
    """Precision-recall curves with average precision in the legend; dotted line at the churn rate."""
    target, named = _labels_and_scores(y, scores)
    _need_both_classes(target, "pr_figure")
    fig, (ax,) = _figure("Precision-recall curve")
    for name, s in named.items():
        precision, recall, _ = precision_recall_curve(target, s)
        ax.plot(recall, precision, label=f"{name} (AP {average_precision_score(target, s):.3f})")
    rate = float(target.mean())
    ax.axhline(rate, linestyle=":", color="grey", label=f"churn rate {rate:.3f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="upper right", fontsize="small")
    return fig


def calibration_figure(y: Any, probs: Mapping[str, Any], bins: int = 10) -> Figure:
    """Reliability diagram (mean predicted vs observed churn rate per equal-width bin) over a counts histogram."""
    target, named = _labels_and_scores(y, probs)
    fig, (top, bottom) = _figure("Calibration", (6.0, 5.0), rows=2, height_ratios=[3, 1])
    edges = np.linspace(0.0, 1.0, bins + 1)
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, p in named.items():
        idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        counts = np.bincount(idx, minlength=bins)
        seen = counts > 0
        mean_p = np.bincount(idx, weights=p, minlength=bins)[seen] / counts[seen]
        observed = np.bincount(idx, weights=target, minlength=bins)[seen] / counts[seen]
        top.plot(mean_p, observed, marker="o", label=name)
        bottom.hist(p, bins=edges.tolist(), histtype="step", label=name)
    top.set(xlabel="mean predicted probability", ylabel="observed churn rate", xlim=(0, 1), ylim=(0, 1.01))
    top.legend(loc="upper left", fontsize="small")
    bottom.set(xlabel="predicted probability", ylabel="customers", xlim=(0, 1))
    return fig


def gains_figure(y: Any, scores: Mapping[str, Any], bins: int = 10) -> Figure:
    """Cumulative gains (share of churners reached vs share contacted) and lift per decile.

    Lift of decile d = churn rate among the d-th tenth of customers ranked by score / overall churn rate.
    """
    target, named = _labels_and_scores(y, scores)
    fig, (gains, lift) = _figure("Cumulative gains and lift", (6.0, 6.0), rows=2)
    total = max(target.sum(), 1.0)
    width = 0.8 / len(named)
    for i, (name, s) in enumerate(named.items()):
        ranked = target[np.argsort(-s, kind="stable")]
        share = np.arange(len(ranked) + 1) / len(ranked)
        gains.plot(share, np.concatenate([[0.0], np.cumsum(ranked) / total]), label=name)
        deciles = np.array_split(ranked, bins)
        rates = np.array([d.mean() if len(d) else np.nan for d in deciles]) / max(target.mean(), 1e-12)
        lift.bar(np.arange(1, bins + 1) + (i - (len(named) - 1) / 2) * width, rates, width=width, label=name)
    gains.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random")
    gains.set(xlabel="share of customers contacted (by score)", ylabel="share of churners reached")
    gains.legend(loc="lower right", fontsize="small")
    lift.axhline(1.0, linestyle="--", color="grey")
    lift.set(xlabel="decile (1 = highest score)", ylabel="lift", xticks=np.arange(1, bins + 1))
    return fig


def profit_figure(profit_table: pd.DataFrame) -> Figure:
    """Expected profit against the number of customers contacted, best point marked.

    ``profit_table`` needs a ``k`` column and ``profit`` or ``expected_profit``
    (e.g. from ``churnml.evaluate.profit_curve``); an optional ``model`` column
    draws one line per model.
    """
    value = next((c for c in ("profit", "expected_profit") if c in profit_table), None)
    if "k" not in profit_table or value is None:
        raise SchemaError(
            f"profit_figure: needs columns 'k' and 'profit' (or 'expected_profit'); found {list(profit_table.columns)}"
        )
    fig, (ax,) = _figure("Expected profit by number contacted")
    parts = profit_table.groupby("model", sort=False) if "model" in profit_table else [("profit", profit_table)]
    for name, part in parts:
        part = part.sort_values("k")
        ax.plot(part["k"], part[value], label=str(name))
        best = part.iloc[int(np.argmax(part[value].to_numpy(dtype="float64")))]
        ax.plot([best["k"]], [best[value]], marker="o", color="black")
        label = f"max {best[value]:,.0f} at k={best['k']:,.0f}"
        ax.annotate(label, (best["k"], best[value]), xytext=(6, 6), textcoords="offset points", fontsize="small")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set(xlabel="customers contacted (k, by descending risk)", ylabel="expected profit")
    if "model" in profit_table:
        ax.legend(fontsize="small")
    return fig


def shap_bar_figure(importance: pd.DataFrame, top: int = 20) -> Figure:
    """Horizontal bars of mean |SHAP| per feature (from ``explain.global_importance``), largest on top."""
    if "mean_abs_shap" not in importance:
        raise SchemaError("shap_bar_figure: needs a 'mean_abs_shap' column indexed by feature (global_importance)")
    head = importance.sort_values("mean_abs_shap", ascending=False, kind="stable").head(top).iloc[::-1]
    fig, (ax,) = _figure("Global churn drivers", (6.0, max(3.0, 0.25 * len(head) + 1.0)))
    ax.barh([str(i) for i in head.index], head["mean_abs_shap"].to_numpy())
    ax.set(xlabel="mean |SHAP value| (log-odds)", ylabel="feature")
    return fig


def _colour_values(x: pd.Series) -> np.ndarray:
    """Feature values mapped to [0, 1] for colouring (5th-95th percentile; categoricals by level code)."""
    if isinstance(x.dtype, pd.CategoricalDtype):
        codes = x.cat.codes.to_numpy(dtype="float64")
        codes[codes < 0] = np.nan
        return codes / max(len(x.cat.categories) - 1, 1)
    if not pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x):
        codes, _ = pd.factorize(x, sort=True)
        return np.where(codes < 0, np.nan, codes / max(codes.max(), 1))
    v = x.to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(v).all():
        return v
    lo, hi = np.nanpercentile(v, [5, 95])
    return np.clip((v - lo) / (hi - lo), 0, 1) if hi > lo else np.where(np.isnan(v), np.nan, 0.5)


def _swarm_offsets(values: np.ndarray, rng: np.random.Generator, width: float = 0.4) -> np.ndarray:
    """Vertical offsets that widen where points are dense (a beeswarm-like spread)."""
    span = np.ptp(values) or 1.0
    bins = np.floor((values - values.min()) / span * 60).astype("int64")
    order = np.lexsort((rng.random(len(values)), bins))
    counts = np.bincount(bins)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(values))
    rank[order] = np.arange(len(values)) - start[bins[order]]
    sign = np.where(rank % 2 == 0, 1.0, -1.0)
    return sign * np.ceil(rank / 2) / max(counts.max() / 2, 1) * width


def shap_beeswarm_figure(
    contrib: pd.DataFrame | Contributions, X: pd.DataFrame, top: int = 15, max_points: int = 2000, seed: int = 0
) -> Figure:
    """Beeswarm-like SHAP summary: one row per top feature, a dot per customer, coloured by feature value.

    Rows are the ``top`` features by mean |SHAP|; at most ``max_points``
    customers (a seeded sample) are drawn. Colour: the feature's value scaled
    to its 5th-95th percentile (categoricals by level code); grey = missing.
    """
    values = contrib.values if isinstance(contrib, Contributions) else contrib
    if values.empty:
        raise EmptyDataError("shap_beeswarm_figure: no contributions to draw")
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(values), min(max_points, len(values)), replace=False))
    order = values.abs().mean(axis=0).sort_values(ascending=False, kind="stable").index[:top][::-1]
    fig, (ax,) = _figure("SHAP values per customer", (6.0, max(3.0, 0.3 * len(order) + 1.2)))
    mappable = None
    for pos, feature in enumerate(order):
        phi = values[feature].to_numpy(dtype="float64")[rows]
        colour = _colour_values(X[feature].iloc[rows])
        y = pos + _swarm_offsets(phi, rng)
        nan = np.isnan(colour)
        ax.scatter(phi[nan], y[nan], s=6, color="lightgrey", linewidths=0)
        mappable = ax.scatter(phi[~nan], y[~nan], s=6, c=colour[~nan], cmap="coolwarm", vmin=0, vmax=1, linewidths=0)
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_yticks(np.arange(len(order)), [str(f) for f in order])
    ax.set(xlabel="SHAP value (log-odds; > 0 raises churn risk)", ylabel="feature")
    if mappable is not None:
        bar = fig.colorbar(mappable, ax=ax, ticks=[0, 1])
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value")
    return fig


def decile_figure(table: pd.DataFrame, feature: str | None = None) -> Figure:
    """Observed churn rate per bin (from ``explain.churn_rate_by_decile``), overall rate dashed."""
    if not {"bin", "churn_rate", "customers", "churners"} <= set(table.columns):
        raise SchemaError("decile_figure: needs columns bin, churn_rate, customers, churners (churn_rate_by_decile)")
    name = feature or table.attrs.get("feature", "feature")
    fig, (ax,) = _figure(f"Churn rate by {name}")
    ax.bar(np.arange(len(table)), table["churn_rate"].to_numpy(dtype="float64"))
    overall = table["churners"].sum() / max(table["customers"].sum(), 1)
    ax.axhline(overall, linestyle="--", color="grey", label=f"overall {overall:.1%}")
    ax.set_xticks(np.arange(len(table)), table["bin"].astype(str).tolist(), rotation=45, ha="right", fontsize="small")
    ax.set(xlabel=str(name), ylabel="observed churn rate")
    ax.legend(fontsize="small")
    return fig


def cohort_heatmap(rates: pd.DataFrame, title: str = "Cohort retention (%)") -> Figure:
    """Heatmap of a cohort table: rows = cohorts, columns = months since acquisition; NaN cells blank."""
    if rates.empty:
        raise EmptyDataError("cohort_heatmap: the rates table is empty")
    grid = np.ma.masked_invalid(rates.to_numpy(dtype="float64", na_value=np.nan))
    fig, (ax,) = _figure(title, (6.0, max(3.0, 0.2 * len(rates) + 1.5)))
    image = ax.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest")
    step_r, step_c = max(1, len(rates) // 20), max(1, rates.shape[1] // 20)
    ax.set_yticks(np.arange(0, len(rates), step_r), [str(i) for i in rates.index[::step_r]], fontsize="small")
    ax.set_xticks(np.arange(0, rates.shape[1], step_c), [str(c) for c in rates.columns[::step_c]], fontsize="small")
    ax.set(xlabel=str(rates.columns.name or "months since acquisition"), ylabel=str(rates.index.name or "cohort"))
    fig.colorbar(image, ax=ax)
    return fig


def risk_distribution_figure(probabilities: Any, bins: int = 20) -> Figure:
    """Histogram of predicted churn probabilities with the mean marked."""
    p = np.asarray(probabilities, dtype="float64")
    p = p[~np.isnan(p)]
    if len(p) == 0:
        raise EmptyDataError("risk_distribution_figure: no probabilities to draw")
    fig, (ax,) = _figure("Distribution of churn probabilities")
    ax.hist(p, bins=np.linspace(0.0, 1.0, bins + 1).tolist())
    ax.axvline(float(p.mean()), linestyle="--", color="black", label=f"mean {p.mean():.3f}")
    ax.set(xlabel="predicted churn probability", ylabel="customers", xlim=(0, 1))
    ax.legend(fontsize="small")
    return fig
