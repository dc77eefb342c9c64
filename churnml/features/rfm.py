"""RFM family: recency, frequency, monetary value and purchase rhythm.

A purchase is a transaction with ``amount >= 0`` (returns are not
purchases); purchase *days* are the distinct dates with a purchase. All
statistics use history only (rows before the cutoff).
"""

from __future__ import annotations

from churnml.engine import exact_sum
from churnml.features.base import PURCHASE, FamilyContext, FamilySQL, FeatureDoc, as_int, when

__all__ = ["rfm_family"]

_DOCS = (
    ("rfm_recency_days", "days from the last purchase day to the cutoff", "NaN (no purchase: a subscriber who never bought)"),
    ("rfm_tenure_days", "days from the first purchase day to the cutoff", "NaN (no purchase)"),
    ("rfm_orders_all", "purchases in all history (rows with amount >= 0; with an order_id, an order's rows of one day "
     "are one purchase)", "0"),
    ("rfm_days_all", "distinct purchase days in all history (frequency)", "0"),
    ("rfm_monetary_sum_all", "sum of purchase amounts in all history", "0"),
    ("rfm_monetary_mean_all", "mean purchase amount", "NaN (no purchase)"),
    ("rfm_monetary_max_all", "largest purchase amount", "NaN (no purchase)"),
    ("rfm_first_amount", "amount spent on the first purchase day", "NaN"),
    ("rfm_last_amount", "amount spent on the last purchase day", "NaN"),
    ("rfm_gap_mean_days", "mean days between consecutive purchase days", "NaN (fewer than 2 purchase days)"),
    ("rfm_gap_std_days", "sample std of days between purchase days", "NaN (fewer than 3 purchase days)"),
    ("rfm_gap_last_days", "days between the last two purchase days", "NaN (fewer than 2 purchase days)"),
    ("rfm_recency_over_gap", "recency / mean gap: > 1 means later than usual", "NaN (fewer than 2 purchase days)"),
)


# Column -> aggregate over the ``tx_hist`` stream (one row per transaction and
# spine row; ``new_day`` marks one purchase row per purchase day, which carries
# the day's total ``day_amount`` and the ``gap`` to the previous purchase day).
# Counts and whole days are 32-bit integers (``as_int``). Conditional
# aggregates are ``COUNT_IF(c)`` and ``AGG(CASE WHEN c THEN x END)`` (NULLs are
# skipped, as with ``FILTER (WHERE c)``), which DuckDB runs faster
# (``churnml.features.base.when``); ``ARG_MIN``/``ARG_MAX`` keep ``FILTER``.
_BUY = PURCHASE
_DAY = "new_day = 1"
# The sample std of the (whole-day) gaps from their exact integer count, sum and sum of squares:
# sqrt((n * sum g^2 - (sum g)^2) / (n (n - 1))). STDDEV_SAMP updates a running mean and square sum
# in doubles, thread by thread, so it could differ in the last bit from run to run (engine.exact_sum);
# the integers are the same in any order and the one division is correctly rounded. Gaps are at most
# a century of days, so the products stay far inside 64 bits.
_GAP_STD = ("SQRT(CAST(COUNT(gap) * SUM(gap * gap) - SUM(gap) * SUM(gap) AS DOUBLE)"
            " / NULLIF(COUNT(gap) * (COUNT(gap) - 1), 0))")
_AGGREGATES = {
    "rfm_recency_days": as_int(f"MIN({when(_BUY, 'age')})"),
    "rfm_tenure_days": as_int(f"MAX({when(_BUY, 'age')})"),
    "rfm_orders_all": as_int(f"COUNT_IF({_BUY})"),
    "rfm_days_all": as_int(f"COUNT_IF({_DAY})"),
    "rfm_monetary_sum_all": exact_sum(when(_BUY, "amount")),
    "rfm_monetary_mean_all": f"{exact_sum(when(_BUY, 'amount'))} / NULLIF(COUNT_IF({_BUY}), 0)",
    "rfm_monetary_max_all": f"MAX({when(_BUY, 'amount')})",
    "rfm_first_amount": f"ARG_MAX(day_amount, age) FILTER (WHERE {_DAY})",
    "rfm_last_amount": f"ARG_MIN(day_amount, age) FILTER (WHERE {_DAY})",
    "rfm_gap_mean_days": "AVG(gap)",
    "rfm_gap_std_days": _GAP_STD,
    "rfm_gap_last_days": f"ARG_MIN(gap, age) FILTER (WHERE {_DAY})",
    "rfm_recency_over_gap": f"MIN({when(_BUY, 'age')}) / AVG(gap)",
}


def rfm_family(ctx: FamilyContext) -> FamilySQL:
    """Aggregates of the RFM family over the ``tx_hist`` stream."""
    cols = tuple(d[0] for d in _DOCS)
    fill = {"rfm_orders_all": 0.0, "rfm_days_all": 0.0, "rfm_monetary_sum_all": 0.0}
    docs = tuple(FeatureDoc(n, "rfm", m, miss) for n, m, miss in _DOCS)
    aggregates = tuple(f"{_AGGREGATES[c]} AS {c}" for c in cols)
    return FamilySQL(
        "rfm", "transactions", "", cols, fill, (), docs, shared=("tx_hist",), source="tx_hist", aggregates=aggregates
    )
