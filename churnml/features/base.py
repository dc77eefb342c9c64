"""What every feature family shares: its context, its SQL, its documentation.

A family turns one canonical table into per-(customer, cutoff) aggregates with
one SQL query over the ``spine`` (customer_id, cutoff). Rows are joined to
the spine on ``customer_id`` and kept only when they are in the history of
the cutoff (:func:`churnml.windows.history_sql`), so a family cannot see a
row at or after its cutoff.
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

    ``sql`` selects ``customer_id, cutoff`` and the feature columns.
    ``fill`` maps columns to the neutral value used for spine customers who
    have no rows in the table (counts: 0); columns not in ``fill`` stay NaN
    (unknown). ``categorical`` lists columns returned as pandas categories.
    """

    family: str
    table: str
    sql: str
    columns: tuple[str, ...]
    fill: dict[str, float] = field(default_factory=dict)
    categorical: tuple[str, ...] = ()
    docs: tuple[FeatureDoc, ...] = ()
    shared: tuple[str, ...] = ()


#: Derived tables several families read, defined once per query (name -> SQL).
SHARED_SQL = {
    # One row per customer and calendar day: purchases (amount >= 0) and returns.
    "tx_daily": """
    SELECT customer_id, CAST("timestamp" AS DATE) AS day,
           COUNT(*) FILTER (WHERE amount >= 0) AS n_buy,
           COALESCE(SUM(amount) FILTER (WHERE amount >= 0), 0) AS spend,
           MAX(amount) FILTER (WHERE amount >= 0) AS max_buy,
           COUNT(*) FILTER (WHERE amount < 0) AS n_ret,
           COALESCE(SUM(amount) FILTER (WHERE amount < 0), 0) AS ret_amount
    FROM tx
    GROUP BY customer_id, CAST("timestamp" AS DATE)
"""
}


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
