"""The one definition of "lost" the metrics use: the churn labels of :mod:`churnml.labels`.

The churn rate of a dashboard period and the label of the churn model must
never disagree, so the metrics do not re-implement churn: the customers at the
start of a period (``S``) are the label population at ``cutoff = period
start`` and the lost customers (``L``) are those labelled churned with
``horizon = period length`` and no lead time.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from churnml.config import TimeConfig
from churnml.labels import contractual_labels, noncontractual_labels
from churnml.metrics.inputs import TablesLike, purchases, require_table

__all__ = ["first_seen", "labels_at", "population_counts"]


def labels_at(
    tables: TablesLike,
    cutoffs: pd.DatetimeIndex,
    horizon_days: int | Sequence[int],
    time: TimeConfig,
    lead_time_days: int = 0,
) -> pd.DataFrame:
    """Churn labels (``customer_id, cutoff, churned``) of the regime in ``time``.

    Non-contractual: :func:`churnml.labels.noncontractual_labels` on the
    transactions with ``time.active_within_days``. Contractual:
    :func:`churnml.labels.contractual_labels` on the subscriptions with
    ``time.grace_days``. Windows are not checked for maturity here: the
    callers check them (:func:`churnml.metrics.churn_by_segment`) or mark
    the periods whose window is not over as not complete (the KPI table).
    """
    if time.regime == "contractual":
        subs = require_table(tables, "subscriptions", "time.regime=contractual")
        return contractual_labels(
            subs, cutoffs, horizon_days, lead_time_days=lead_time_days, grace_days=time.grace_days, immature="keep"
        )
    tx = require_table(tables, "transactions", "the non-contractual churn rate")
    return noncontractual_labels(
        tx,
        cutoffs,
        horizon_days,
        lead_time_days=lead_time_days,
        active_within_days=time.active_within_days,
        immature="keep",
    )


def population_counts(
    tables: TablesLike, cutoffs: pd.DatetimeIndex, horizon_days: Sequence[int], time: TimeConfig
) -> pd.DataFrame:
    """``S`` (customers at the cutoff) and ``L`` (churned in the window) per cutoff.

    Returns
    -------
    DataFrame
        Indexed by cutoff (all of ``cutoffs``, 0 where nobody is active), with
        int64 columns ``customers_start`` and ``lost_customers``.
    """
    empty = pd.DataFrame(
        {"customers_start": 0, "lost_customers": 0}, index=pd.DatetimeIndex(cutoffs, name="cutoff")
    )
    if len(cutoffs) == 0:
        return empty.astype("int64")
    labels = labels_at(tables, cutoffs, list(horizon_days), time)
    counts = labels.groupby("cutoff").agg(
        customers_start=("churned", "size"), lost_customers=("churned", "sum")
    )
    counts.index = pd.DatetimeIndex(counts.index).as_unit("us")
    return counts.reindex(empty.index, fill_value=0).astype("int64")


def first_seen(tables: TablesLike, regime: str) -> pd.Series:
    """The moment each customer was acquired: first purchase (or first subscription start).

    Non-contractual: the first purchase (``amount >= 0``); contractual: the first
    subscription start. Returns a datetime Series indexed by customer_id.
    """
    if regime == "contractual":
        subs = require_table(tables, "subscriptions", "time.regime=contractual")
        return subs.groupby("customer_id")["start"].min()
    tx = purchases(require_table(tables, "transactions", "new customers"))
    return tx.groupby("customer_id")["timestamp"].min()
