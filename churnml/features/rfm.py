"""RFM family: recency, frequency, monetary value and purchase rhythm.

A purchase is a transaction with ``amount >= 0`` (returns are not
purchases); purchase *days* are the distinct dates with a purchase. All
statistics use history only (rows before the cutoff).
"""

from __future__ import annotations

from churnml.features.base import FamilyContext, FamilySQL, FeatureDoc, age, history_join

__all__ = ["rfm_family"]

_DOCS = (
    ("rfm_recency_days", "days from the last purchase day to the cutoff", "never: every spine customer has a purchase"),
    ("rfm_tenure_days", "days from the first purchase day to the cutoff", "never"),
    ("rfm_orders_all", "purchases (rows with amount >= 0) in all history", "0"),
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


def rfm_family(ctx: FamilyContext) -> FamilySQL:
    """SQL for the RFM family over ``tx`` joined to ``spine``."""
    sql = f"""
WITH pday AS (
    SELECT customer_id, day, spend AS day_amount, n_buy AS day_orders, max_buy AS day_max
    FROM tx_daily WHERE n_buy > 0
),
gaps AS (
    SELECT customer_id, day, day_amount, day_orders, day_max,
           DATE_DIFF('day', LAG(day) OVER (PARTITION BY customer_id ORDER BY day), day) AS gap
    FROM pday
),
hist AS (
    SELECT s.customer_id, s.cutoff, g.day, g.day_amount, g.day_orders, g.day_max, g.gap,
           {age('g', 'day')} AS age
    FROM gaps g {history_join('g', 'day')}
),
agg AS (
    SELECT customer_id, cutoff,
           MIN(age) AS rfm_recency_days,
           MAX(age) AS rfm_tenure_days,
           SUM(day_orders) AS rfm_orders_all,
           COUNT(*) AS rfm_days_all,
           SUM(day_amount) AS rfm_monetary_sum_all,
           SUM(day_amount) / SUM(day_orders) AS rfm_monetary_mean_all,
           MAX(day_max) AS rfm_monetary_max_all,
           AVG(gap) AS rfm_gap_mean_days,
           STDDEV_SAMP(gap) AS rfm_gap_std_days
    FROM hist GROUP BY customer_id, cutoff
),
ends AS (
    SELECT h.customer_id, h.cutoff,
           SUM(CASE WHEN h.age = a.rfm_tenure_days THEN h.day_amount END) AS rfm_first_amount,
           SUM(CASE WHEN h.age = a.rfm_recency_days THEN h.day_amount END) AS rfm_last_amount,
           MAX(CASE WHEN h.age = a.rfm_recency_days THEN h.gap END) AS rfm_gap_last_days
    FROM hist h JOIN agg a ON h.customer_id = a.customer_id AND h.cutoff = a.cutoff
    WHERE h.age = a.rfm_tenure_days OR h.age = a.rfm_recency_days
    GROUP BY h.customer_id, h.cutoff
)
SELECT a.customer_id, a.cutoff, a.rfm_recency_days, a.rfm_tenure_days, a.rfm_orders_all,
       a.rfm_days_all, a.rfm_monetary_sum_all, a.rfm_monetary_mean_all, a.rfm_monetary_max_all,
       e.rfm_first_amount, e.rfm_last_amount, a.rfm_gap_mean_days, a.rfm_gap_std_days,
       e.rfm_gap_last_days,
       a.rfm_recency_days / a.rfm_gap_mean_days AS rfm_recency_over_gap
FROM agg a JOIN ends e ON a.customer_id = e.customer_id AND a.cutoff = e.cutoff
"""
    cols = tuple(d[0] for d in _DOCS)
    fill = {"rfm_orders_all": 0.0, "rfm_days_all": 0.0, "rfm_monetary_sum_all": 0.0}
    docs = tuple(FeatureDoc(n, "rfm", m, miss) for n, m, miss in _DOCS)
    return FamilySQL("rfm", "transactions", sql, cols, fill, (), docs, shared=("tx_daily",))
