"""The reference: churnml's RFM, windowed and events features in idiomatic pandas.

What a data scientist would write without churnml: for each cutoff, boolean
masks for the history (``time < cutoff``) and the look-back windows, a
per-day table of purchases, then ``groupby`` with named aggregations and a
``merge``/``reindex`` onto the spine. No row-wise ``apply``. The result has the
layout of :func:`churnml.features.compute_features` (``customer_id``,
``cutoff``, then the feature columns in the plan's order), so the two can be
compared value by value; it is not part of the package.

Definitions (the same as the SQL in ``churnml/features``):

* a purchase is a transaction with ``amount >= 0``; purchase days are the
  distinct dates with a purchase; ``age`` of a row is the number of whole
  days from its date to the cutoff's date (>= 1 in history);
* "in the last W days" is ``age <= W``; trends are
  ``(last t days + 1) / (the t days before + 1)``;
* spine rows without any history row get 0 for counts and sums, 1 for
  trends and NaN for the rest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnml.features import FeaturePlan, feature_docs
from churnml.features.base import sql_name
from churnml.windows import history_mask

__all__ = ["pandas_features", "pandas_population"]

TRENDS = (30, 90)
KEYS = ["customer_id", "cutoff"]
ORDER = ["cutoff", "customer_id"]  # the order of compute_features and population


def pandas_population(transactions: pd.DataFrame, cutoffs: list[pd.Timestamp]) -> pd.DataFrame:
    """Customers with a purchase before each cutoff: ``customer_id, cutoff``, sorted by cutoff then customer."""
    buys = transactions[transactions["amount"] >= 0]
    parts = [
        pd.DataFrame({"customer_id": buys.loc[history_mask(buys["timestamp"], c), "customer_id"].unique(),
                      "cutoff": c})
        for c in cutoffs
    ]
    spine = pd.concat(parts, ignore_index=True).astype({"cutoff": "datetime64[us]"})
    return spine.sort_values(ORDER, ignore_index=True)


def _age(times: pd.Series, cutoff: pd.Timestamp) -> pd.Series:
    """Whole days from each row's date to the cutoff's date."""
    return (cutoff.normalize() - times.dt.normalize()).dt.days


def _history(frame: pd.DataFrame, cutoff: pd.Timestamp, customers: pd.Index) -> pd.DataFrame:
    """Rows of the spine's customers before the cutoff, with their age in days."""
    rows = frame[history_mask(frame["timestamp"], cutoff) & frame["customer_id"].isin(customers)]
    return rows.assign(age=_age(rows["timestamp"], cutoff))


def _rfm(tx: pd.DataFrame, cutoff: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """RFM per customer, and the per-purchase-day table the windowed family reuses."""
    buys = tx[tx["amount"] >= 0].assign(day=lambda d: d["timestamp"].dt.normalize())
    days = (
        buys.groupby(["customer_id", "day"], sort=True)
        .agg(day_amount=("amount", "sum"), day_orders=("amount", "size"), day_max=("amount", "max"))
        .reset_index()
    )
    days["gap"] = days.groupby("customer_id")["day"].diff().dt.days
    days["age"] = _age(days["day"], cutoff)
    out = days.groupby("customer_id").agg(
        rfm_recency_days=("age", "min"),
        rfm_tenure_days=("age", "max"),
        rfm_orders_all=("day_orders", "sum"),
        rfm_days_all=("day", "size"),
        rfm_monetary_sum_all=("day_amount", "sum"),
        rfm_monetary_max_all=("day_max", "max"),
        rfm_first_amount=("day_amount", "first"),
        rfm_last_amount=("day_amount", "last"),
        rfm_gap_mean_days=("gap", "mean"),
        rfm_gap_std_days=("gap", "std"),
        rfm_gap_last_days=("gap", "last"),
    )
    out["rfm_monetary_mean_all"] = out["rfm_monetary_sum_all"] / out["rfm_orders_all"]
    out["rfm_recency_over_gap"] = out["rfm_recency_days"] / out["rfm_gap_mean_days"]
    return out, days


def _windowed(tx: pd.DataFrame, days: pd.DataFrame, windows: tuple[int, ...]) -> pd.DataFrame:
    buy = tx["amount"] >= 0
    cols: dict[str, pd.Series] = {"customer_id": tx["customer_id"], "n_ret": ~buy,
                                  "ret_amount": tx["amount"].where(~buy, 0.0)}
    trends = [t for t in TRENDS if max(windows, default=0) >= 2 * t]
    for w in sorted(set(windows) | set(trends)):
        cols[f"win_orders_{w}d"] = buy & (tx["age"] <= w)
        cols[f"win_spend_{w}d"] = tx["amount"].where(buy & (tx["age"] <= w), 0.0)
    for t in trends:
        cols[f"prev_{t}"] = buy & (tx["age"] > t) & (tx["age"] <= 2 * t)
    out = pd.DataFrame(cols).groupby("customer_id").sum()
    out["n_rows"] = tx.groupby("customer_id").size()
    active = pd.DataFrame({"customer_id": days["customer_id"],
                           **{f"win_active_days_{w}d": days["age"] <= w for w in windows}})
    out = out.join(active.groupby("customer_id").sum(), how="left")
    for t in trends:
        out[f"win_orders_trend_{t}d"] = (out[f"win_orders_{t}d"] + 1.0) / (out[f"prev_{t}"] + 1.0)
    out["win_returns_share_all"] = out["n_ret"] / out["n_rows"]
    out["win_returns_amount_all"] = out["ret_amount"].abs()
    return out


def _events(ev: pd.DataFrame, windows: tuple[int, ...], types: tuple[str, ...], names: dict[str, str]) -> pd.DataFrame:
    trend = max(windows, default=0) >= 60
    flags = {f"n_{w}": ev["age"] <= w for w in sorted(set(windows) | ({30} if trend else set()))}
    if trend:
        flags["n_prev_30"] = (ev["age"] > 30) & (ev["age"] <= 60)
    per_row = pd.DataFrame({"customer_id": ev["customer_id"], "event_type": ev["event_type"], **flags})
    by_type = per_row.groupby(["customer_id", "event_type"]).sum()
    by_type["since"] = ev.groupby(["customer_id", "event_type"])["age"].min()
    total = by_type.groupby(level="customer_id")[[f"n_{w}" for w in windows]].sum()
    out = total.rename(columns={f"n_{w}": f"evt_all_count_{w}d" for w in windows})
    wide = by_type.unstack("event_type")
    for etype in types:
        n = names[etype]
        cols: dict[str, tuple[str, float]] = {f"evt_{n}_count_{w}d": (f"n_{w}", 0.0) for w in windows}
        cols[f"evt_{n}_days_since"] = ("since", np.nan)
        for name, (col, missing) in cols.items():
            out[name] = wide[(col, etype)].fillna(missing) if (col, etype) in wide.columns else missing
        if trend:
            last = wide[("n_30", etype)].fillna(0) if ("n_30", etype) in wide.columns else 0
            prev = wide[("n_prev_30", etype)].fillna(0) if ("n_prev_30", etype) in wide.columns else 0
            out[f"evt_{n}_trend_30d"] = (last + 1.0) / (prev + 1.0)
    return out


def _neutral(column: str) -> float:
    """The value of a spine row without history rows: 0 for counts and sums, 1 for trends, else NaN."""
    if "_trend_" in column:
        return 1.0
    if column.startswith(("win_", "evt_")) and not column.endswith("_days_since"):
        return 0.0
    return 0.0 if column in ("rfm_orders_all", "rfm_days_all", "rfm_monetary_sum_all") else np.nan


def pandas_features(
    transactions: pd.DataFrame, events: pd.DataFrame | None, spine: pd.DataFrame, plan: FeaturePlan
) -> pd.DataFrame:
    """The plan's ``rfm``, ``windowed`` and ``events`` features, one cutoff at a time.

    Parameters
    ----------
    transactions, events : DataFrame
        Canonical tables (``customer_id, timestamp, amount`` and
        ``customer_id, timestamp, event_type``).
    spine : DataFrame
        ``customer_id, cutoff`` pairs.
    plan : FeaturePlan
        Windows and event types (from :func:`churnml.features.plan_features`).

    Returns
    -------
    DataFrame
        The layout of :func:`churnml.features.compute_features`.
    """
    columns = list(feature_docs(plan)["name"])  # the layout only: every value is computed below
    names = {t: sql_name(t) for t in plan.event_types}
    parts = []
    for value, keys in spine.groupby("cutoff", sort=True):
        cutoff = pd.Timestamp(value)  # type: ignore[arg-type]
        customers = pd.Index(keys["customer_id"].unique())
        frames = []
        if {"rfm", "windowed"} & set(plan.families):
            tx = _history(transactions, cutoff, customers)
            rfm, days = _rfm(tx, cutoff)
            if "rfm" in plan.families:
                frames.append(rfm)
            if "windowed" in plan.families:
                frames.append(_windowed(tx, days, plan.windows))
        if "events" in plan.families and events is not None:
            ev = _history(events, cutoff, customers)
            frames.append(_events(ev, plan.windows, plan.event_types, names))
        feats = pd.concat(frames, axis=1).reindex(keys["customer_id"])
        feats = feats.reindex(columns=columns).fillna({c: _neutral(c) for c in columns})
        parts.append(feats.reset_index().assign(cutoff=cutoff))
    out = pd.concat(parts, ignore_index=True)[KEYS + columns]
    out["cutoff"] = out["cutoff"].astype("datetime64[us]")
    return out.sort_values(ORDER, ignore_index=True)
