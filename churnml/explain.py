"""SHAP explanations of a LightGBM churn model: global drivers and per-customer reason codes.

Contributions are LightGBM's native TreeSHAP values (``booster.predict(X,
pred_contrib=True)``), in raw log-odds of the *uncalibrated* booster: for each
row ``base_value + sum(values) = booster.predict(X, raw_score=True)``. They
equal ``shap.TreeExplainer(booster).shap_values(X)`` and need no ``shap`` at
serving time. A positive contribution raises the churn risk.

Reason codes name, per customer, the ``top_k`` features (or feature groups) that
raise the risk most, with the customer's value and a plain sentence taken from
a small template table (see :data:`REASON_TEMPLATES`). They live in
:mod:`churnml.reasons` and are re-exported here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnml.errors import EmptyDataError, ModelError, SchemaError
from churnml.reasons import (
    REASON_TEMPLATES,
    _check_same_rows,
    _is_categorical,
    default_groups,
    describe_values,
    reason_codes,
)
from churnml.reasons import Describe as Describe  # re-exported for callers of the old location
from churnml.reasons import ReasonTemplate as ReasonTemplate

if TYPE_CHECKING:
    import lightgbm

__all__ = [
    "REASON_TEMPLATES",
    "Contributions",
    "churn_rate_by_decile",
    "contributions",
    "default_groups",
    "describe_values",
    "driver_summary",
    "global_importance",
    "reason_codes",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Contributions:
    """TreeSHAP contributions of one model on one feature frame.

    Attributes
    ----------
    values : DataFrame
        ``n x features`` contributions in log-odds, same index and columns as ``X``.
    base_value : float
        The model's expected raw score (log-odds) over its training data.
    """

    values: pd.DataFrame
    base_value: float

    def logit(self) -> pd.Series:
        """Raw score per row: ``base_value + values.sum(axis=1)`` (log-odds)."""
        return (self.values.sum(axis=1) + self.base_value).rename("logit")

    @classmethod
    def from_array(cls, raw: Any, X: pd.DataFrame, base_value: Any = None) -> Contributions:
        """Build from any SHAP output shape; the one place where shapes are normalised.

        Accepted: LightGBM binary ``(n, features + 1)`` (last column = base value);
        shap 0.51 ``(n, features)`` with ``base_value`` given; older shap lists
        ``[negative, positive]`` or ``(n, features, 2)`` arrays (positive class kept).
        """
        two_class = isinstance(raw, list) or np.ndim(raw) == 3
        arr = np.asarray(raw[-1] if isinstance(raw, list) else raw, dtype="float64")
        arr = arr[:, :, -1] if arr.ndim == 3 else arr
        n, f = X.shape
        base = None if base_value is None else np.asarray(base_value, dtype="float64").ravel()[-1 if two_class else 0 :]
        if arr.shape == (n, f + 1) and base is None:
            arr, base = arr[:, :f], arr[:, f]
        if arr.shape != (n, f) or base is None or base.size == 0:
            raise ModelError(
                f"SHAP values of shape {arr.shape} do not fit X of shape {(n, f)}; expected (n, features + 1) "
                "from LightGBM or (n, features) plus a base value; only binary models are supported"
            )
        if np.ptp(base) > 1e-12:
            raise ModelError(f"SHAP base value varies across rows (range {np.ptp(base):.3g}); not a single model")
        return cls(values=pd.DataFrame(arr, index=X.index, columns=X.columns), base_value=float(base[0]))


def contributions(booster: lightgbm.Booster, X: pd.DataFrame) -> Contributions:
    """LightGBM native TreeSHAP contributions of ``X`` (raw log-odds space).

    Parameters
    ----------
    booster : lightgbm.Booster
        A fitted binary model (an ``LGBMClassifier`` is unwrapped via ``booster_``).
    X : DataFrame
        Exactly the model's features (any column order; categoricals as pandas categories).

    Returns
    -------
    Contributions
        ``phi`` with ``base_value + phi.sum(axis=1) == booster.predict(X, raw_score=True)``.

    Raises
    ------
    EmptyDataError
        ``X`` has no rows.
    ModelError
        The columns of ``X`` differ from the model's features.
    """
    booster = getattr(booster, "booster_", booster)
    if len(X) == 0:
        raise EmptyDataError("contributions: X has no rows; pass at least one customer row")
    names = list(booster.feature_name())
    missing = [c for c in names if c not in X.columns]
    extra = [c for c in X.columns if c not in names]
    if missing or extra:
        raise ModelError(
            f"contributions: X does not match the model's {len(names)} features; missing {missing[:10]}, "
            f"unexpected {extra[:10]}; pass X[booster.feature_name()]"
        )
    logger.debug("explaining %d rows x %d features with LightGBM TreeSHAP", len(X), len(names))
    raw = booster.predict(X[names], pred_contrib=True)
    ordered = Contributions.from_array(raw, X[names])
    return Contributions(ordered.values[list(X.columns)], ordered.base_value)


def global_importance(contrib: Contributions) -> pd.DataFrame:
    """Mean absolute SHAP per feature, largest first.

    Returns
    -------
    DataFrame
        Indexed by ``feature``: ``mean_abs_shap`` = mean_i |phi_ij| (log-odds),
        ``mean_shap`` = mean_i phi_ij, ``share`` = mean_abs_shap / sum over features.
    """
    values = contrib.values
    mean_abs = values.abs().mean(axis=0)
    total = float(mean_abs.sum())
    out = pd.DataFrame(
        {
            "mean_abs_shap": mean_abs.to_numpy(),
            "mean_shap": values.mean(axis=0).to_numpy(),
            "share": (mean_abs / total).to_numpy() if total > 0 else np.zeros(len(mean_abs)),
        },
        index=pd.Index(values.columns, name="feature"),
    )
    return out.sort_values("mean_abs_shap", ascending=False, kind="stable")




def _direction(x: pd.Series, phi: pd.Series) -> str:
    if _is_categorical(x):
        means = phi.groupby(x.astype("object"), observed=True).mean()
        if means.empty:
            return "no observed level"
        return f"level '{means.idxmax()}' raises churn risk most"
    corr = x.astype("float64").corr(phi)
    if pd.isna(corr) or abs(corr) < 0.05:
        return "no clear direction"
    return f"higher values {'raise' if corr > 0 else 'lower'} churn risk"


def driver_summary(contrib: Contributions, X: pd.DataFrame, top: int = 5) -> str:
    """Plain-language summary of the ``top`` global churn drivers.

    Direction comes from the sign of the Pearson correlation between a feature's
    value and its SHAP value (|r| < 0.05: no clear direction); for a categorical
    feature the level with the highest mean SHAP is named.
    """
    _check_same_rows(contrib, X, "driver_summary")
    imp = global_importance(contrib).head(top)
    lines = [f"Top {len(imp)} churn drivers (mean |SHAP| in log-odds):"]
    for rank, (feature, row) in enumerate(imp.iterrows(), start=1):
        text = _direction(X[feature], contrib.values[feature])
        lines.append(f"{rank}. {feature}: {text} (mean |SHAP| {row['mean_abs_shap']:.2f})")
    return "\n".join(lines)


def churn_rate_by_decile(x: pd.Series, y: Any, bins: int = 10) -> pd.DataFrame:
    """Observed churn rate per decile (quantile bin) of a feature, or per level.

    Numeric features with more than ``bins`` distinct values are cut into
    ``bins`` quantile bins (fewer when quantiles tie); other numeric features
    get one row per value and categoricals one row per level. Missing values
    form a last ``missing`` row.

    Returns
    -------
    DataFrame
        ``bin`` (label), ``lower``/``upper`` (observed min/max of the bin, NaN
        for levels), ``customers``, ``churners`` and ``churn_rate`` =
        churners / customers (0-1). ``attrs["feature"]`` holds the feature name.
    """
    target = np.asarray(y, dtype="float64")
    if len(target) != len(x):
        raise SchemaError(f"churn_rate_by_decile: x has {len(x)} rows but y has {len(target)}; align them")
    if not np.isin(target, (0.0, 1.0)).all():
        raise SchemaError("churn_rate_by_decile: y must hold 0/1 churn labels only (no NaN)")
    frame = pd.DataFrame({"x": x.reset_index(drop=True), "y": target})
    missing = frame["x"].isna()
    seen = frame.loc[~missing]
    levels = _is_categorical(x)
    if levels or seen["x"].nunique() <= bins:
        key = seen["x"]
    else:
        key = pd.qcut(seen["x"].astype("float64"), bins, labels=False, duplicates="drop")
    grouped = seen.groupby(key, sort=True, observed=True)
    out = grouped.agg(customers=("y", "size"), churners=("y", "sum"))
    if levels:
        out["lower"] = out["upper"] = np.nan
        out["bin"] = out.index.astype("object").astype(str)
    else:
        out["lower"] = grouped["x"].min().astype("float64")
        out["upper"] = grouped["x"].max().astype("float64")
        low, high = describe_values(out["lower"]), describe_values(out["upper"])
        out["bin"] = low.where(out["lower"] == out["upper"], low + " to " + high)
    if missing.any():
        rest = frame.loc[missing, "y"]
        extra = {"customers": len(rest), "churners": rest.sum(), "lower": np.nan, "upper": np.nan, "bin": "missing"}
        out = pd.concat([out, pd.DataFrame([extra])])
    cols = ["bin", "lower", "upper", "customers", "churners"]
    out = out.reset_index(drop=True)[cols].astype(
        {"bin": "str", "lower": "float64", "upper": "float64", "customers": "int64", "churners": "int64"}
    )
    out["churn_rate"] = out["churners"] / out["customers"]
    out.attrs["feature"] = str(x.name)
    return out
