"""The label, population and recurring-revenue queries as text (DuckDB dialect), written once.

:mod:`churnml.labels` runs them on DuckDB; :mod:`churnml.spark` runs the
same text on Spark after :func:`churnml.engine.transpile`. Each function's
docstring names the tables its query reads. Time filters come from
:mod:`churnml.windows`.
"""

from __future__ import annotations

from collections.abc import Sequence

from churnml.engine import exact_sum
from churnml.errors import ConfigError
from churnml.windows import history_sql

__all__ = [
    "CUSTOMER_TABLES",
    "cancel_requests_sql",
    "contractual_labels_sql",
    "count_customers_sql",
    "customers_sql",
    "noncontractual_labels_sql",
    "not_at_risk_sql",
    "population_sql",
    "recurring_revenue_sql",
]

_NONCONTRACTUAL_SQL = """
WITH purchases AS (
    SELECT DISTINCT customer_id, "timestamp" AS ts FROM tx WHERE amount >= 0
),
spans AS (
    SELECT customer_id, ts,
           LEAD(ts) OVER (PARTITION BY customer_id ORDER BY ts) AS next_ts,
           MIN(ts) OVER (PARTITION BY customer_id) AS first_ts
    FROM purchases
),
at_start AS (
    SELECT s.customer_id, c.cutoff, c.win_end, c.active_from, s.ts, s.next_ts, s.first_ts
    FROM spans s JOIN cutoffs c
      ON s.ts < c.win_start AND (s.next_ts IS NULL OR s.next_ts >= c.win_start)
)
SELECT customer_id, cutoff,
       CAST(CASE WHEN next_ts IS NULL OR next_ts >= win_end THEN 1 ELSE 0 END AS TINYINT) AS churned
FROM at_start
WHERE {population}
ORDER BY cutoff, customer_id
"""


_CONTRACTUAL_SQL = """
WITH subs AS (
    SELECT customer_id, "start" AS s_start, COALESCE("end", TIMESTAMP '9999-12-31') AS s_end
    FROM subscriptions
),
ordered AS (
    SELECT customer_id, s_start, s_end,
           MAX(s_end) OVER (PARTITION BY customer_id ORDER BY s_start, s_end
                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM subs
),
flagged AS (
    SELECT customer_id, s_start, s_end,
           SUM(CASE WHEN prev_end IS NULL OR s_start > prev_end + INTERVAL {grace} DAY THEN 1 ELSE 0 END)
             OVER (PARTITION BY customer_id ORDER BY s_start, s_end ROWS UNBOUNDED PRECEDING) AS spell
    FROM ordered
),
spells AS (
    SELECT customer_id, spell, s_start, s_end, MAX(s_end) OVER (PARTITION BY customer_id, spell) AS spell_end
    FROM flagged
),
active AS (
    SELECT s.customer_id, c.cutoff, MAX(s.spell_end) AS spell_end, MAX(c.win_end) AS win_end
    FROM spells s JOIN cutoffs c ON {history} AND NOT {ended}
    GROUP BY s.customer_id, c.cutoff
)
-- The active spell ends at or after the cutoff; ending before the window's end (in it, or in
-- the lead time before it) leaves the customer without a subscription in the window.
SELECT customer_id, cutoff,
       CAST(CASE WHEN spell_end < win_end THEN 1 ELSE 0 END AS TINYINT) AS churned
FROM active
ORDER BY cutoff, customer_id
"""


_POPULATION_SQL = {
    # Without an active_within look-back (``active_from`` at its sentinel), a customer is in
    # the population of every cutoff after their first purchase: one row per customer is
    # joined to the cutoffs instead of every purchase. The purchase condition is an aggregate
    # FILTER, not a WHERE (a customer with only returns gets a NULL first_ts and joins no
    # cutoff): measured on 52M Parquet rows, DuckDB groups 3x faster when the scan is not
    # filtered (2.3 against 6.5 CPU-s).
    "noncontractual_first": """
WITH firsts AS (
    SELECT customer_id, MIN("timestamp") FILTER (WHERE amount >= 0) AS first_ts FROM tx GROUP BY customer_id
)
SELECT f.customer_id, c.cutoff
FROM firsts f JOIN cutoffs c ON {history}
ORDER BY c.cutoff, f.customer_id
""",
    "noncontractual": """
SELECT DISTINCT t.customer_id, c.cutoff
FROM tx t JOIN cutoffs c ON {history} AND t."timestamp" >= c.active_from
WHERE t.amount >= 0
ORDER BY c.cutoff, t.customer_id
""",
    "contractual": """
SELECT DISTINCT u.customer_id, c.cutoff
FROM subscriptions u JOIN cutoffs c ON {history_sub} AND (u."end" IS NULL OR NOT {ended})
ORDER BY c.cutoff, u.customer_id
""",
}


# The MRR of the subscriptions active at a cutoff, by the contractual population's rule (started
# before the cutoff, not ended before it), summed per customer; ``mrr_missing`` counts the active
# subscriptions whose MRR is NULL (the customer's recurring revenue is then unknown).
_RECURRING_REVENUE_SQL = """
SELECT u.customer_id, c.cutoff, {mrr} AS mrr, CAST(COUNT(*) - COUNT(u.mrr) AS BIGINT) AS mrr_missing
FROM subscriptions u JOIN cutoffs c ON {history_sub} AND (u."end" IS NULL OR NOT {ended})
GROUP BY u.customer_id, c.cutoff
ORDER BY c.cutoff, u.customer_id
"""


# The latest cancellation request made before a cutoff on a subscription active at it (the
# contractual population's rule), per customer. Not a feature (DESIGN.md: a cancellation is the
# label's event): a flag on the outreach list, for a save call.
_CANCEL_REQUESTS_SQL = """
SELECT u.customer_id, c.cutoff, MAX(u.cancel_requested_at) AS cancel_requested_at
FROM subscriptions u JOIN cutoffs c ON {history_sub} AND (u."end" IS NULL OR NOT {ended})
WHERE {requested}
GROUP BY u.customer_id, c.cutoff
ORDER BY c.cutoff, u.customer_id
"""


#: The tables whose customers are "in the tables": buyers, the customer list and subscribers (an id only in
#: events or surveys is not a customer churnml could be asked for). The features command counts them, and
#: scoring accounts for those not at risk at its cutoff.
CUSTOMER_TABLES = ("transactions", "customers", "subscriptions")


def customers_sql(tables: Sequence[str]) -> str:
    """The customers of ``tables`` (some of :data:`CUSTOMER_TABLES`), once each (DuckDB dialect).

    It reads ``customer_id`` of each table named and returns ``customer_id``.
    """
    if not tables:
        raise ConfigError(f"customers_sql needs at least one of {list(CUSTOMER_TABLES)}")
    every = " UNION ALL ".join(f"SELECT customer_id FROM {name}" for name in tables)
    return f"SELECT DISTINCT customer_id FROM ({every}) ids"


def count_customers_sql(tables: Sequence[str]) -> str:
    """How many customers ``tables`` hold (:func:`customers_sql`), as the column ``n`` (DuckDB dialect)."""
    return f"SELECT COUNT(*) AS n FROM ({customers_sql(tables)}) k"


def not_at_risk_sql(tables: Sequence[str]) -> str:
    """The customers of ``tables`` with no row in ``spine`` (DuckDB dialect): not at risk at its cutoff.

    It reads ``customer_id`` of each table named (:func:`customers_sql`) and
    of ``spine`` (the population at one cutoff, :func:`population_sql`'s rows)
    and returns ``customer_id``, sorted.
    """
    return (f"WITH known AS ({customers_sql(tables)})\n"
            "SELECT k.customer_id FROM known k LEFT JOIN spine s ON k.customer_id = s.customer_id\n"
            "WHERE s.customer_id IS NULL ORDER BY k.customer_id")


def noncontractual_labels_sql(lead_time_days: int = 0) -> str:
    """The query of :func:`noncontractual_labels` (DuckDB dialect).

    It reads ``tx`` (customer_id, timestamp, amount) and ``cutoffs``
    (:func:`cutoff_table`) and returns ``customer_id``, ``cutoff``, ``churned``.
    """
    if lead_time_days == 0:
        population = f"{history_sql('first_ts', 'cutoff')} AND ts >= active_from"
    else:
        population = (
            f"{history_sql('first_ts', 'cutoff')} AND EXISTS (SELECT 1 FROM purchases p "
            "WHERE p.customer_id = at_start.customer_id AND p.ts < at_start.cutoff "
            "AND p.ts >= at_start.active_from)"
        )
    return _NONCONTRACTUAL_SQL.format(population=population)


def contractual_labels_sql(grace_days: int = 30) -> str:
    """The query of :func:`contractual_labels` (DuckDB dialect).

    It reads ``subscriptions`` (customer_id, start, end) and ``cutoffs``
    (:func:`cutoff_table`) and returns ``customer_id``, ``cutoff``, ``churned``.
    """
    if grace_days < 0:
        raise ConfigError(f"grace_days must be >= 0, got {grace_days}")
    return _CONTRACTUAL_SQL.format(
        grace=int(grace_days), history=history_sql("s.s_start", "c.cutoff"), ended=history_sql("s.s_end", "c.cutoff")
    )


def population_sql(regime: str, active_within: bool = True) -> str:
    """The query of :func:`population` for a regime (DuckDB dialect).

    ``noncontractual`` reads ``tx`` and ``cutoffs``; ``contractual`` reads
    ``subscriptions`` and ``cutoffs``. It returns ``customer_id``, ``cutoff``.
    ``active_within=False`` says that ``cutoffs.active_from`` is the
    "no look-back" sentinel of :func:`cutoff_table` (``active_within_days``
    not set): the non-contractual query then joins each customer's first
    purchase, not every purchase, to the cutoffs (same rows, faster). The
    default query is right either way.
    """
    if regime == "contractual":
        return _POPULATION_SQL["contractual"].format(
            history_sub=history_sql('u."start"', "c.cutoff"), ended=history_sql('u."end"', "c.cutoff")
        )
    if regime == "noncontractual" and not active_within:
        return _POPULATION_SQL["noncontractual_first"].format(history=history_sql("f.first_ts", "c.cutoff"))
    if regime == "noncontractual":
        return _POPULATION_SQL["noncontractual"].format(history=history_sql('t."timestamp"', "c.cutoff"))
    raise ConfigError(f"time.regime must be 'noncontractual' or 'contractual', got {regime!r}")


def recurring_revenue_sql() -> str:
    """MRR per customer of the subscriptions active at each cutoff (DuckDB dialect).

    It reads ``subscriptions`` (customer_id, start, end, mrr) and ``cutoffs``
    (:func:`cutoff_table`) and returns ``customer_id``, ``cutoff``, ``mrr``
    (the sum over the customer's active subscriptions) and ``mrr_missing``
    (how many of them have no MRR). Active is the contractual population's
    rule, so its customers are the population of :func:`population_sql`.
    """
    return _RECURRING_REVENUE_SQL.format(
        history_sub=history_sql('u."start"', "c.cutoff"), ended=history_sql('u."end"', "c.cutoff"),
        mrr=exact_sum("u.mrr"),
    )


def cancel_requests_sql() -> str:
    """Open cancellation requests per customer at each cutoff (DuckDB dialect).

    It reads ``subscriptions`` (customer_id, start, end, cancel_requested_at)
    and ``cutoffs`` (:func:`cutoff_table`) and returns ``customer_id``,
    ``cutoff`` and ``cancel_requested_at``: the latest request dated before the
    cutoff on a subscription active at it (the rule of
    :func:`recurring_revenue_sql`). Customers without one have no row. A
    request dated at or after the cutoff is not known then and is not seen.
    """
    return _CANCEL_REQUESTS_SQL.format(
        history_sub=history_sql('u."start"', "c.cutoff"), ended=history_sql('u."end"', "c.cutoff"),
        requested=history_sql("u.cancel_requested_at", "c.cutoff"),
    )
