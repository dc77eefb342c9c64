"""Acquisition-cohort retention tables.

Rows are acquisition cohorts (the calendar month of a customer's first
purchase, ``amount >= 0``); columns are months since acquisition (0, 1, 2,
... as calendar-month differences). Cells:

* ``counts``: customers of the cohort with a purchase in that month
  (month 0 is the cohort size);
* ``rates``: ``counts / cohort size * 100`` (%);
* ``revenue``: net amount (returns included) the cohort spent in that month;
  a return dated before its customer's first purchase (of something bought
  before the data begins) is counted in month 0, so that a cohort's revenue
  is all its customers' net amount. Returns of a customer who never bought
  belong to no cohort (such a customer is not acquired, as in the KPIs' N).

Months the data does not reach (after the month containing the data's last
moment) are missing (``<NA>``/NaN), not 0. A month the data only partly covers
is shown as observed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnml.engine import in_memory
from churnml.errors import EmptyDataError
from churnml.metrics.inputs import purchases
from churnml.metrics.sums import group_sum
from churnml.sources import check_sources
from churnml.windows import DataSpan, history_mask, to_timestamp

__all__ = ["CohortTables", "cohort_tables"]


@dataclass(frozen=True)
class CohortTables:
    """The three cohort tables, indexed by cohort label (``"1997-01"``), columns = months since acquisition."""

    counts: pd.DataFrame
    rates: pd.DataFrame
    revenue: pd.DataFrame


def _month_number(times: pd.Series) -> pd.Series:
    """Months since year 0: ``year * 12 + month - 1`` (int64)."""
    return (times.dt.year * 12 + times.dt.month - 1).astype("int64")


def _label(month_number: np.ndarray) -> list[str]:
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in month_number]


def cohort_tables(transactions: pd.DataFrame, end: object | None = None) -> CohortTables:
    """Cohort retention tables of the purchases before ``end``.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (customer_id, timestamp, amount).
    end : date-like, optional
        Exclusive end: only rows with ``timestamp < end`` are used. Default:
        the end of the data (the day after the last timestamp).

    Returns
    -------
    CohortTables
        ``counts`` (Int64), ``rates`` (float64, %) and ``revenue`` (float64).

    Raises
    ------
    EmptyDataError
        No purchase before ``end``.
    """
    transactions = in_memory(transactions, "transactions", "the metrics need")
    check_sources({"transactions": transactions})
    stop = (
        to_timestamp(end, "end")  # type: ignore[arg-type]
        if end is not None
        else DataSpan.from_times(transactions["timestamp"]).end
    )
    rows = transactions.loc[history_mask(transactions["timestamp"], stop)]
    buys = purchases(rows)
    if buys.empty:
        raise EmptyDataError(f"cohort_tables: no purchase (amount >= 0) before {stop}")
    month = _month_number(rows["timestamp"])
    cohort = _month_number(buys["timestamp"]).groupby(buys["customer_id"]).min()
    frame = pd.DataFrame(
        {
            "customer_id": rows["customer_id"],
            "amount": rows["amount"],
            "cohort": rows["customer_id"].map(cohort),
            "month": month,
            "purchase": rows["amount"] >= 0,
        }
    ).dropna(subset=["cohort"])
    frame["cohort"] = frame["cohort"].astype("int64")
    frame["age"] = (frame["month"] - frame["cohort"]).clip(lower=0)  # only returns are dated before the cohort
    last_month = int(_month_number(pd.Series([stop - pd.Timedelta(1, "us")])).iloc[0])
    cohorts = np.sort(cohort.unique()).astype("int64")
    ages = np.arange(0, last_month - cohorts[0] + 1)
    observed = (cohorts[:, None] + ages[None, :]) <= last_month

    def shape(table: pd.Series, fill: float) -> pd.DataFrame:
        wide = table.unstack("age").reindex(index=cohorts, columns=ages).fillna(fill)
        wide = wide.where(observed)
        wide.index = pd.Index(_label(cohorts), name="cohort")
        wide.columns = pd.Index(ages, name="months_since_acquisition")
        return wide

    active = frame.loc[frame["purchase"]].groupby(["cohort", "age"])["customer_id"].nunique()
    counts = shape(active, 0).astype("Int64")
    revenue = shape(group_sum(frame, ["cohort", "age"], "amount"), 0.0).astype("float64")
    size = counts[0].astype("float64")
    rates = counts.astype("float64").div(size.where(size > 0), axis=0) * 100.0
    return CohortTables(counts=counts, rates=rates, revenue=revenue)
