"""Ranking, calibration and business metrics of a churn score.

Every function takes ``y_true`` (1 = churned, 0 = stayed; bool, int or float
0/1) and a score of the same length (numpy or pandas; two pandas Series must
share their index). Scores must be finite; the calibration metrics also need
probabilities in [0, 1].

Top-k metrics treat tied scores fairly: when the k-th place falls inside a
group of equal scores, the group counts with its mean outcome, i.e. the
expected value over a random order of the ties. A score with many ties (such
as P(alive) = 1 for every one-time buyer) is then not flattered by the row order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from churnml.errors import ConfigError, EmptyDataError, SchemaError

__all__ = [
    "best_k",
    "better_than_chance",
    "brier",
    "calibration_table",
    "classification_report",
    "cumulative_gains",
    "expected_calibration_error",
    "lift_at",
    "log_loss",
    "pr_auc",
    "precision_at",
    "profit_curve",
    "roc_auc",
    "top_metric_names",
    "champion_metric_key",
    "is_share_metric",
    "share_lifts",
]

Strategy = Literal["uniform", "quantile"]
ArrayLike = np.ndarray | pd.Series | list[float] | list[int] | list[bool]


def _check(
    y_true: ArrayLike, score: ArrayLike, *, what: str, probability: bool = False,
    both_classes: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate the inputs of a metric; return y as float 0/1 and the score as float64."""
    if isinstance(y_true, pd.Series) and isinstance(score, pd.Series) and not y_true.index.equals(score.index):
        raise SchemaError(f"{what}: y_true and the score are Series with different indexes; align them first")
    try:
        y, s = np.asarray(y_true, dtype="float64"), np.asarray(score, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{what}: y_true and the score must be numeric without missing values ({exc})") from None
    if y.ndim != 1 or s.ndim != 1 or len(y) != len(s):
        raise SchemaError(
            f"{what}: y_true and the score must be 1-D of the same length; got shapes {y.shape} and {s.shape}"
        )
    if len(y) == 0:
        raise EmptyDataError(f"{what}: no rows to evaluate")
    bad = np.flatnonzero((y != 0) & (y != 1))
    if len(bad):
        raise SchemaError(f"{what}: y_true must be 0/1; {len(bad)} rows are not, e.g. positions "
                          f"{bad[:5].tolist()} with values {y[bad[:5]].tolist()}")
    bad = np.flatnonzero(~np.isfinite(s))
    if len(bad):
        raise SchemaError(f"{what}: {len(bad)} scores are NaN or infinite, e.g. positions {bad[:5].tolist()}; "
                          "score every customer or drop them from both arrays")
    if probability:
        bad = np.flatnonzero((s < 0) | (s > 1))
        if len(bad):
            raise SchemaError(f"{what} needs probabilities in [0, 1]; {len(bad)} are outside, e.g. "
                              f"{s[bad[:5]].tolist()} at positions {bad[:5].tolist()}")
    if both_classes and y.min() == y.max():
        label = "churned" if y[0] == 1 else "stayed"
        raise EmptyDataError(f"{what} needs both classes in y_true; all {len(y)} rows {label}. "
                             "Check the label window (horizon, cutoff) and the customers scored.")
    return y, s


def _top_sums(values: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``c[k]`` = expected sum of ``values`` over the top k rows by ``key`` (k = 0..n), ties in random order.

    Within a group of tied keys the expected sum grows linearly, so ``c`` is the
    linear interpolation of the cumulative sums taken at the ends of the tie groups.
    """
    order = np.argsort(-key, kind="stable")
    sorted_key, cum = key[order], np.cumsum(values[order])
    ends = np.flatnonzero(np.r_[sorted_key[1:] != sorted_key[:-1], True])
    return np.interp(np.arange(len(key) + 1), np.r_[0, ends + 1], np.r_[0.0, cum[ends]])


def _n_top(k: float, n: int) -> int:
    if not 0 < k <= 1:
        raise ConfigError(f"k is the share of customers contacted and must be in (0, 1]; got {k}")
    return max(1, math.ceil(k * n - 1e-9))


def roc_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Area under the ROC curve (scikit-learn's ``roc_auc_score``); 0.5 = random ranking."""
    y, s = _check(y_true, y_score, what="roc_auc", both_classes=True)
    return float(skm.roc_auc_score(y, s))


def better_than_chance(auc: float) -> bool:
    """Whether a ROC-AUC ranks better than chance: above 0.5 by more than rounding (a constant scores 0.5)."""
    return auc > 0.5 + 1e-9


def pr_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Average precision, ``sum_n (R_n - R_(n-1)) P_n`` (``average_precision_score``); random = base rate."""
    y, s = _check(y_true, y_score, what="pr_auc", both_classes=True)
    return float(skm.average_precision_score(y, s))


def precision_at(y_true: ArrayLike, y_score: ArrayLike, k: float = 0.1) -> float:
    """Share of churners among the top ``ceil(k * N)`` customers by score (ties: expected value)."""
    y, s = _check(y_true, y_score, what="precision_at")
    n = _n_top(k, len(y))
    return float(_top_sums(y, s)[n] / n)


def lift_at(y_true: ArrayLike, y_score: ArrayLike, k: float = 0.1) -> float:
    """``precision_at(k) / base rate``: how many times more churners the top k holds than random."""
    y, s = _check(y_true, y_score, what="lift_at", both_classes=True)
    n = _n_top(k, len(y))
    return float(_top_sums(y, s)[n] / n / y.mean())


def cumulative_gains(y_true: ArrayLike, y_score: ArrayLike, n_bins: int = 10) -> pd.DataFrame:
    """Cumulative gains table: customers ranked by score, cut in ``n_bins`` near-equal bins.

    Bin b (1 = highest scores) ends at rank ``ceil(b N / n_bins)``. Columns:
    ``bin``, ``n`` (customers in the bin), ``n_cum``, ``share_contacted``
    (n_cum / N), ``churners`` (in the bin), ``churners_cum``, ``bin_rate``
    (churners / n), ``gain`` (churners_cum / all churners), ``precision``
    (churners_cum / n_cum) and ``lift`` (precision / base rate).
    """
    y, s = _check(y_true, y_score, what="cumulative_gains", both_classes=True)
    if not 1 <= n_bins <= len(y):
        raise ConfigError(f"n_bins must be between 1 and the number of rows ({len(y)}); got {n_bins}")
    ends = np.ceil(np.arange(1, n_bins + 1) * len(y) / n_bins - 1e-9).astype("int64")
    cum = _top_sums(y, s)[ends]
    n = np.diff(np.r_[0, ends])
    churners = np.diff(np.r_[0.0, cum])
    return pd.DataFrame({
        "bin": np.arange(1, n_bins + 1), "n": n, "n_cum": ends, "share_contacted": ends / len(y),
        "churners": churners, "churners_cum": cum, "bin_rate": churners / n,
        "gain": cum / y.sum(), "precision": cum / ends, "lift": cum / ends / y.mean(),
    })


def brier(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Brier score ``mean((p - y)^2)``: 0 is perfect; a constant base-rate forecast scores ``b (1 - b)``."""
    y, p = _check(y_true, y_prob, what="brier", probability=True)
    return float(skm.brier_score_loss(y, p, labels=[0, 1]))


def log_loss(y_true: ArrayLike, y_prob: ArrayLike, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood ``-mean(y ln p + (1 - y) ln(1 - p))``, p clipped to [eps, 1 - eps]."""
    y, p = _check(y_true, y_prob, what="log_loss", probability=True)
    return float(skm.log_loss(y, np.clip(p, eps, 1.0 - eps), labels=[0, 1]))


def calibration_table(
    y_true: ArrayLike, y_prob: ArrayLike, n_bins: int = 10, strategy: Strategy = "uniform"
) -> pd.DataFrame:
    """Predicted against observed churn rate per probability bin (empty bins are left out).

    ``uniform``: equal-width bins ``[i/n, (i+1)/n)`` (the last one closed);
    ``quantile``: bins between the quantiles of the probabilities, about equal
    counts (tied probabilities always share a bin). Columns: ``bin``, ``lower``,
    ``upper``, ``n``, ``weight`` (n / N), ``mean_predicted``, ``observed_rate``,
    ``gap`` (observed - predicted).
    """
    y, p = _check(y_true, y_prob, what="calibration_table", probability=True)
    if n_bins < 1:
        raise ConfigError(f"n_bins must be >= 1, got {n_bins}")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        idx = np.minimum((p * n_bins).astype("int64"), n_bins - 1)
    elif strategy == "quantile":
        edges = np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1))
        idx = np.searchsorted(edges[1:-1], p, side="right")
    else:
        raise ConfigError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    table = (
        pd.DataFrame({"bin": idx, "p": p, "y": y})
        .groupby("bin", sort=True)
        .agg(n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
        .reset_index()
    )
    table.insert(1, "lower", edges[table["bin"]])
    table.insert(2, "upper", edges[table["bin"] + 1])
    table.insert(4, "weight", table["n"] / len(y))
    return table.assign(gap=table["observed_rate"] - table["mean_predicted"])


def expected_calibration_error(
    y_true: ArrayLike, y_prob: ArrayLike, n_bins: int = 10, strategy: Strategy = "uniform"
) -> float:
    """ECE ``= sum_b (n_b / N) |mean(y)_b - mean(p)_b|`` over the bins of :func:`calibration_table`."""
    table = calibration_table(y_true, y_prob, n_bins, strategy)
    return float((table["weight"] * table["gap"].abs()).sum())


def top_metric_names(top_fraction: float) -> tuple[str, str]:
    """Names of the lift and precision among the top ``top_fraction`` of customers.

    ``lift_top_decile`` and ``precision_top_decile`` at 0.1; otherwise the
    share in percent, e.g. ``lift_top_20pct`` and ``precision_top_20pct`` at 0.2.
    """
    if not 0 < top_fraction <= 1:
        raise ConfigError(f"evaluation.top_fraction must be in (0, 1]; got {top_fraction}")
    if math.isclose(top_fraction, 0.1):
        return "lift_top_decile", "precision_top_decile"
    pct = f"{round(top_fraction * 100, 4):g}pct"
    return f"lift_top_{pct}", f"precision_top_{pct}"


def is_share_metric(name: str) -> bool:
    """Whether ``name`` is a lift or precision at a share of its own (``lift_top_20pct``; higher is better).

    The names :func:`top_metric_names` gives for a ``top_fraction`` other than 0.1.
    """
    return re.fullmatch(r"(lift|precision)_top_[0-9.]+pct", name) is not None


def share_lifts(names: Iterable[object]) -> list[str]:
    """The lifts at a share of their own among ``names`` (e.g. ``lift_top_20pct``), in their order.

    The columns that join ``lift_top_decile`` in the train summary and the
    report when ``evaluation.top_fraction`` is not 0.1.
    """
    return [str(n) for n in names if str(n).startswith("lift") and is_share_metric(str(n))]


def champion_metric_key(metric: str, top_fraction: float) -> str:
    """The metric a ``tracking.champion_metric`` names, as a key of :func:`classification_report`.

    ``lift_top_fraction`` and ``precision_top_fraction`` stand for the lift and
    precision at ``top_fraction`` (:func:`top_metric_names`, e.g.
    ``lift_top_20pct`` at 0.2); other names are keys already.
    """
    lift, precision = top_metric_names(top_fraction)
    return {"lift_top_fraction": lift, "precision_top_fraction": precision}.get(metric, metric)


def classification_report(y_true: ArrayLike, y_prob: ArrayLike, top_fraction: float = 0.1) -> dict[str, float]:
    """The standard metrics of a churn probability, under stable names.

    Keys: ``roc_auc``, ``pr_auc``, ``lift_top_decile``, ``precision_top_decile``,
    ``brier``, ``log_loss``, ``ece`` (10 equal-width bins) and ``base_rate``.
    A ``top_fraction`` other than 0.1 (``evaluation.top_fraction``) adds the
    lift and precision among that share of customers under names that give it
    (:func:`top_metric_names`, e.g. ``lift_top_20pct``); the decile metrics
    stay, so every report has them with the same meaning.
    """
    y, p = _check(y_true, y_prob, what="classification_report", probability=True, both_classes=True)
    report = {
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        "lift_top_decile": lift_at(y, p, 0.1),
        "precision_top_decile": precision_at(y, p, 0.1),
        "brier": brier(y, p),
        "log_loss": log_loss(y, p),
        "ece": expected_calibration_error(y, p),
        "base_rate": float(y.mean()),
    }
    lift, precision = top_metric_names(top_fraction)
    if lift not in report:  # at 0.1 they are the decile metrics
        report[lift] = lift_at(y, p, top_fraction)
        report[precision] = precision_at(y, p, top_fraction)
    return report


def profit_curve(
    y_true: ArrayLike, y_prob: ArrayLike, value: ArrayLike | None = None, *,
    contact_cost: float, offer_cost: float, save_rate: float,
) -> pd.DataFrame:
    """Profit of a retention campaign that contacts the top k customers, for k = 0 .. N.

    The model, per contacted customer i with churn probability ``p_i``
    (realised churn ``y_i``) and value ``v_i`` (kept when a churner is saved;
    1 when ``value`` is None, so all money is then in units of one customer):
    the contact costs ``contact_cost``; a churner accepts the offer and stays
    with probability ``save_rate``, which costs ``offer_cost`` and keeps
    ``v_i``; customers who would stay anyway do not take the offer.

    * expected profit of i: ``save_rate * p_i * (v_i - offer_cost) - contact_cost``
    * realised profit of i: ``save_rate * y_i * (v_i - offer_cost) - contact_cost``

    Customers are ranked by ``p_i * (v_i - offer_cost)``, which maximises the
    expected profit of every k (it is ``p`` without values and ``p * value``
    without an offer cost); ties count with their mean (see the module notes).

    Returns
    -------
    DataFrame
        One row per k: ``k``, ``share_contacted``, ``expected_churners``
        (sum of p), ``churners`` (sum of y), ``expected_profit``, ``realised_profit``.
    """
    y, p = _check(y_true, y_prob, what="profit_curve", probability=True)
    if not (contact_cost >= 0 and offer_cost >= 0 and 0 <= save_rate <= 1):
        raise ConfigError(
            f"profit_curve needs contact_cost >= 0, offer_cost >= 0 and 0 <= save_rate <= 1; got "
            f"{contact_cost}, {offer_cost}, {save_rate}"
        )
    v = np.ones_like(p) if value is None else _check(y, value, what="profit_curve value")[1]
    if (v < 0).any():
        raise SchemaError(f"profit_curve: value must be >= 0; {int((v < 0).sum())} values are negative")
    net = v - offer_cost
    key = p * net
    k = np.arange(len(p) + 1)
    return pd.DataFrame({
        "k": k,
        "share_contacted": k / len(p),
        "expected_churners": _top_sums(p, key),
        "churners": _top_sums(y, key),
        "expected_profit": save_rate * _top_sums(key, key) - contact_cost * k,
        "realised_profit": save_rate * _top_sums(y * net, key) - contact_cost * k,
    })


def best_k(curve: pd.DataFrame, by: str = "expected_profit") -> int:
    """The number of customers to contact that maximises ``by`` in a :func:`profit_curve` (smallest k on ties)."""
    if by not in curve.columns or "k" not in curve.columns:
        raise SchemaError(f"best_k: the curve needs columns 'k' and {by!r}; found {list(curve.columns)}")
    return int(curve["k"].iloc[int(np.argmax(curve[by].to_numpy()))])
