"""What every feature family shares: its context, its SQL, its documentation.

A family turns one canonical table into per-(customer, cutoff) aggregates
over the ``spine`` (customer_id, cutoff). Rows are joined to the spine on
``customer_id`` and kept only when they are in the history of the cutoff
(:func:`churnml.windows.history_sql`), so a family cannot see a row at or
after its cutoff.

A family gives either one query (``FamilySQL.sql``) or aggregate
expressions over a shared *history stream* (``FamilySQL.source``, one of
:func:`shared_sql`): the rows of a table already joined to the spine, with
their ``age`` in days. Families reading the same stream (RFM and windowed
both read ``tx_hist``) are computed in one ``GROUP BY``, so the table is
scanned, sorted and joined once.

One-cutoff fast path: when every spine row has the same cutoff, the context
carries it as a SQL literal (``FamilyContext.cutoff``) and the families that
support it (RFM, windowed, events) filter history by ``time < <literal>``,
age rows against the constant and aggregate per customer; the spine is
joined to the aggregates afterwards instead of to every history row. The
filters still come from :mod:`churnml.windows`, and the values are the same
as on the general path (a test checks it).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

from churnml.engine import exact_sum, quote_string
from churnml.windows import age_days_sql, history_sql, to_cutoff

__all__ = [
    "PURCHASE",
    "FamilyContext",
    "FamilySQL",
    "FeatureDoc",
    "age",
    "as_int",
    "cutoff_literal",
    "history_join",
    "history_source",
    "shared_sql",
    "sql_name",
    "when",
]


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
    training and scoring produce the same columns. ``cutoff`` is empty
    (general path: rows are joined to the spine) or, when every spine row
    has the same cutoff, that cutoff as a SQL literal
    (:func:`cutoff_literal`) for the one-cutoff fast path.
    """

    windows: tuple[int, ...]
    event_types: tuple[str, ...] = ()
    survey_types: tuple[str, ...] = ()
    optional_columns: dict[str, frozenset[str]] = field(default_factory=dict)
    cutoff: str = ""


@dataclass(frozen=True)
class FamilySQL:
    """A family's query and its columns.

    ``sql`` selects ``customer_id, cutoff`` and the feature columns; or,
    when ``source`` names a history stream of :func:`shared_sql`, ``sql`` is
    empty and ``aggregates`` are ``"<aggregate expression> AS <column>"``
    over that stream's columns, grouped by ``customer_id, cutoff``.
    ``fill`` maps columns to the neutral value used for spine customers who
    have no rows in the table (counts: 0); columns not in ``fill`` stay NaN
    (unknown). ``categorical`` lists columns returned as pandas categories.
    ``shared`` names the :func:`shared_sql` tables the family reads.
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


def cutoff_literal(cutoff: pd.Timestamp) -> str:
    """A cutoff (a midnight) as a portable SQL timestamp literal."""
    return f"TIMESTAMP '{to_cutoff(cutoff).strftime('%Y-%m-%d %H:%M:%S')}'"


def history_join(alias: str, time_col: str) -> str:
    """``JOIN spine s`` keeping only rows before the cutoff of each spine row."""
    return (
        f"JOIN spine s ON {alias}.customer_id = s.customer_id "
        f"AND {history_sql(f'{alias}.{time_col}', 's.cutoff')}"
    )


def age(alias: str, time_col: str, cutoff: str = "") -> str:
    """Days from a row to its cutoff, computed on dates (>= 1 in history).

    ``cutoff`` is a cutoff literal (fast path) or empty: the spine's ``s.cutoff``.
    """
    return age_days_sql(f"{alias}.{time_col}", cutoff or "s.cutoff")


def history_source(table: str, alias: str, time_col: str, cutoff: str = "") -> tuple[str, str]:
    """The key columns and the ``FROM`` clause of a table's history rows.

    General path (``cutoff`` empty): ``s.customer_id, s.cutoff`` and the
    table joined to the spine (:func:`history_join`). Fast path (``cutoff``
    a literal): the table's own ``customer_id``, the constant cutoff, and
    ``WHERE time < cutoff``, so that each row is read once and not joined.
    """
    if not cutoff:
        return "s.customer_id, s.cutoff", f"FROM {table} {alias} {history_join(alias, time_col)}"
    keys = f"{alias}.customer_id, {cutoff} AS cutoff"
    return keys, f"FROM {table} {alias} WHERE {history_sql(f'{alias}.{time_col}', cutoff)}"


def as_int(expr: str) -> str:
    """A count or a whole number of days as a 32-bit ``INTEGER`` column.

    DuckDB's COUNT and DATE_DIFF give 64-bit BIGINT; feature frames keep
    counts and days in 32 bits, which halves their memory (0.4 GB of a
    3.1M-customer frame). A value beyond 2^31 - 1 is a cast error, never a
    wrap-around.
    """
    return f"CAST({expr} AS INTEGER)"


#: A purchase row of the transactions (returns have a negative amount), as a SQL condition.
PURCHASE = "amount >= 0"


def when(cond: str, expr: str) -> str:
    """``expr`` where ``cond`` holds, else NULL: the argument of a conditional aggregate.

    ``AGG(CASE WHEN c THEN x END)`` equals ``AGG(x) FILTER (WHERE c)`` for
    aggregates that skip NULLs (SUM, MIN, MAX, AVG), and counts use
    ``COUNT_IF(c)``. Measured at 50M transactions (benchmarks/README.md): the
    purchases' history stream and its RFM and windowed ``GROUP BY`` took
    16-18 s in this form against 19-20 s with ``FILTER``. Both forms are
    standard in DuckDB and Spark SQL.
    """
    return f"CASE WHEN {cond} THEN {expr} END"


def sql_name(value: str) -> str:
    """A safe lower-case column-name fragment for a data value (event type): ASCII letters and digits.

    A character whose compatibility form is ASCII apart from accents becomes that ASCII, lower-cased
    (``'Café'`` -> ``cafe``, ``'™'`` -> ``tm``); any other letter, digit, mark or symbol becomes its
    code point (``'登录'`` -> ``u767b_u5f55``; ``'バ'`` and ``'パ'`` stay two), so that types written in
    any script get distinct names that every engine and LightGBM take as they are; each run of other
    characters becomes ``_``.
    """
    parts = []
    for ch in unicodedata.normalize("NFC", value).lower():
        if ch.isascii():
            parts.append(ch if ch.isalnum() else "_")
            continue
        base = [c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)]
        if base and all(c.isascii() for c in base):  # é -> e, ™ -> tm, ﬁ -> fi, a full-width l -> l
            parts.append("".join(c.lower() if c.isalnum() else "_" for c in base))
        elif unicodedata.category(ch)[0] in "LNMS":  # a letter, digit, mark or symbol (an emoji)
            parts.append(f"_u{ord(ch):04x}_")
        else:
            parts.append("_")
    cleaned = re.sub(r"_+", "_", "".join(parts)).strip("_")
    return cleaned or "blank"


#: A SQL string literal (the engine's quoting, under the name the families use).
quote_literal = quote_string


# Transactions before the latest cutoff, one row each, with their purchase-day
# context from one window over a single scan: ``day_amount`` (purchases that
# day), ``new_day`` (1 on exactly one purchase row per purchase day, whichever
# of the day's rows comes first) and ``gap`` (days since the previous purchase
# day, on that row; NULL on the first purchase day). The window partitions by
# customer *and* by :data:`PURCHASE`, so purchases are ordered among purchases
# only: the previous purchase row's day is the previous purchase day on the
# first row of a day and the same day on the others. Returns (and rows without
# an amount, which validation and churnml.sources refuse) fall in other partitions
# and get ``new_day`` 0 and NULL ``day_amount`` and ``gap``. Measured at 50M
# transactions (benchmarks/README.md): one scan and window took 7.9-9.2 s
# against 10.3-11.1 s for purchases and returns scanned apart and joined by
# UNION ALL.
_TX_DAYS = """
    SELECT customer_id, day, amount,
           CASE WHEN {buy} THEN day_amount END AS day_amount,
           CASE WHEN {buy} AND (prev_day IS NULL OR prev_day < day) THEN 1 ELSE 0 END AS new_day,
           CASE WHEN {buy} AND prev_day < day THEN DATE_DIFF('day', prev_day, day) END AS gap
    FROM (
        SELECT customer_id, day, amount,
               {day_amount} AS day_amount,
               LAG(day) OVER (PARTITION BY customer_id, {buy} ORDER BY day) AS prev_day
        FROM ({rows}) d
    ) w"""

_TX_ROWS = """
    SELECT customer_id, CAST("timestamp" AS DATE) AS day, amount
    FROM tx
    WHERE {history}"""

# Purchases as orders (FeaturePlan.orders): the rows of one order on one day are one purchase
# (their sum; returns the same, apart: the sign is in the key), a row without an order id is
# one on its own. Grouped by day, so an order's rows after the cutoff never join it.
_TX_ORDERS = """
    SELECT customer_id, CAST("timestamp" AS DATE) AS day, {amount} AS amount
    FROM tx
    WHERE {history} AND order_id IS NOT NULL
    GROUP BY customer_id, CAST("timestamp" AS DATE), order_id, {buy}
    UNION ALL""" + _TX_ROWS + " AND order_id IS NULL"


def shared_sql(cutoff: str = "", orders: bool = False) -> dict[str, str]:
    """The derived tables several families read (name -> SQL).

    ``tx_hist`` is a history stream: each transaction joined to every spine
    row whose history holds it (cutoffs are midnights, so a row's day is
    before the cutoff exactly when its time is), with ``age`` in days to the
    cutoff (>= 1). With a ``cutoff`` literal (one-cutoff fast path) each
    transaction before it appears once, with that cutoff, and no join.
    With ``orders`` (``FeaturePlan.orders``), a transaction is an order's
    rows of one day (``tx`` then needs ``order_id``).
    """
    bound = cutoff or "(SELECT MAX(cutoff) FROM spine)"
    template = _TX_ORDERS if orders else _TX_ROWS
    rows = template.format(history=history_sql('"timestamp"', bound), buy=PURCHASE, amount=exact_sum("amount"))
    same_day = f"OVER (PARTITION BY customer_id, {PURCHASE} ORDER BY day RANGE BETWEEN CURRENT ROW AND CURRENT ROW)"
    days = _TX_DAYS.format(rows=rows, buy=PURCHASE, day_amount=exact_sum("amount", same_day))
    keys = "t.customer_id, " + (f"{cutoff} AS cutoff" if cutoff else "s.cutoff")
    join = "" if cutoff else history_join("t", "day")
    hist = f"""
    SELECT {keys}, t.amount, t.day_amount, t.new_day, t.gap, {age('t', 'day', cutoff)} AS age
    FROM ({days}
    ) t {join}
"""
    return {"tx_hist": hist}

