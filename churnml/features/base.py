"""What every feature family shares: its context, its SQL, its documentation.

A family turns one canonical table into per-(customer, cutoff) aggregates
over the ``spine`` (customer_id, cutoff). Rows are joined to the spine on
``customer_id`` and kept only when they are in the history of the cutoff
(:func:`churnml.windows.history_sql`), so a family cannot see a row at or
after its cutoff.

A family gives either one query (``FamilySQL.sql``) or aggregate
expressions over a shared *history stream* (``FamilySQL.source``, one of
:data:`SHARED_SQL`): the rows of a table already joined to the spine, with
their ``age`` in days. Families reading the same stream (RFM and windowed
both read ``tx_hist``) are computed in one ``GROUP BY``, so the table is
scanned, sorted and joined once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from churnml.windows import age_days_sql, history_sql

__all__ = ["SHARED_SQL", "FamilyContext", "FamilySQL", "FeatureDoc", "age", "history_join", "sql_name"]


@dataclass(frozen=True)
class FeatureDoc:
    """One row of the feature documentation table."""

    name: str
    family: str
    meaning: str
    missing: str


@dataclass(frozen=True)
class FamilyContext:
    """Inputs a family's SQL needs besides its table.

    ``windows`` are the look-back windows (days) kept after censoring;
    ``event_types`` and ``survey_types`` fix the per-type columns so that
    training and scoring produce the same columns.
    """

    windows: tuple[int, ...]
    event_types: tuple[str, ...] = ()
    survey_types: tuple[str, ...] = ()
    optional_columns: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class FamilySQL:
    """A family's query and its columns.

    ``sql`` selects ``customer_id, cutoff`` and the feature columns; or,
    when ``source`` names a history stream of :data:`SHARED_SQL`, ``sql`` is
    empty and ``aggregates`` are ``"<aggregate expression> AS <column>"``
    over that stream's columns, grouped by ``customer_id, cutoff``.
    ``fill`` maps columns to the neutral value used for spine customers who
    have no rows in the table (counts: 0); columns not in ``fill`` stay NaN
    (unknown). ``categorical`` lists columns returned as pandas categories.
    ``shared`` names the :data:`SHARED_SQL` tables the family reads.
    """

    family: str
    table: str
    sql: str
    columns: tuple[str, ...]
    fill: dict[str, float] = field(default_factory=dict)
    categorical: tuple[str, ...] = ()
    docs: tuple[FeatureDoc, ...] = ()
    shared: tuple[str, ...] = ()
    source: str = ""
    aggregates: tuple[str, ...] = ()


def history_join(alias: str, time_col: str) -> str:
    """``JOIN spine s`` keeping only rows before the cutoff of each spine row."""
    return (
        f"JOIN spine s ON {alias}.customer_id = s.customer_id "
        f"AND {history_sql(f'{alias}.{time_col}', 's.cutoff')}"
    )


def age(alias: str, time_col: str) -> str:
    """Days from a row to its cutoff, computed on dates (>= 1 in history)."""
    return age_days_sql(f"{alias}.{time_col}", "s.cutoff")


def sql_name(value: str) -> str:
    """A safe lower-case column-name fragment for a data value (event type)."""
    cleaned = re.sub(r"[^0-9a-zA-Z]+", "_", value).strip("_").lower()
    return cleaned or "blank"


def quote_literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


# Transactions before the latest cutoff, one row each, with their purchase-day
# context from one sort per customer: ``day_amount`` (purchases that day),
# ``new_day`` (1 on exactly one purchase row per purchase day, whichever of the
# day's rows comes first) and ``gap`` (days since the previous purchase day, on
# that row; NULL on the first purchase day).
_TX_DAYS = f"""
    SELECT customer_id, day, amount, day_amount,
           CASE WHEN amount >= 0 AND (prev_day IS NULL OR prev_day < day) THEN 1 ELSE 0 END AS new_day,
           CASE WHEN amount >= 0 AND prev_day < day THEN DATE_DIFF('day', prev_day, day) END AS gap
    FROM (
        SELECT customer_id, day, amount,
               SUM(CASE WHEN amount >= 0 THEN amount END) OVER (
                   PARTITION BY customer_id ORDER BY day RANGE BETWEEN CURRENT ROW AND CURRENT ROW
               ) AS day_amount,
               MAX(CASE WHEN amount >= 0 THEN day END) OVER (
                   PARTITION BY customer_id ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
               ) AS prev_day
        FROM (
            SELECT customer_id, CAST("timestamp" AS DATE) AS day, amount
            FROM tx
            WHERE {history_sql('"timestamp"', "(SELECT MAX(cutoff) FROM spine)")}
        ) d
    ) w"""

#: Derived tables several families read, defined once per query (name -> SQL).
#: ``tx_hist`` is a history stream: each transaction joined to every spine row
#: whose history holds it (cutoffs are midnights, so a row's day is before the
#: cutoff exactly when its time is), with ``age`` in days to the cutoff (>= 1).
SHARED_SQL = {
    "tx_hist": f"""
    SELECT s.customer_id, s.cutoff, t.amount, t.day_amount, t.new_day, t.gap, {age('t', 'day')} AS age
    FROM ({_TX_DAYS}
    ) t {history_join('t', 'day')}
"""
}
