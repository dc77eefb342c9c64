"""Turning raw columns into canonical types; the wording of every row rule.

Used by :func:`churnml.validation.validate_table`: :func:`convert_columns`
converts each column of a table spec (times, dates, numbers, counts,
booleans, text) and records every value that does not convert in a
:class:`Report`, which names the table, the column, the rows (file rows or
index labels) and example values, with the fix.

The rule catalogue (:class:`Rule`: the constants and ``*_rule`` functions
below) is the one place the nouns and fixes of the row rules are written;
the pandas path (:mod:`churnml.validation`) and the Spark path
(:mod:`churnml.spark.validate`) both take their messages from it, so the two
say the same thing about the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from churnml.schema import SCORE_SCALES, TableSpec
from churnml.timeparse import _as_text, _localize, _log_offsets, _parse_times

__all__ = [
    "BOOL_WORDS", "DATE_ORDER", "DUPLICATE_KEY", "DUPLICATE_ROW", "NEGATIVE_AMOUNT", "NON_INTEGER",
    "NON_NUMERIC", "NOT_BOOL", "SCORE_OUTSIDE_SCALE", "SHOWN_ROWS", "TIME_OF_DAY", "UNKNOWN_SURVEY",
    "UNPARSEABLE_TIME", "Policy", "Report", "Rule", "convert_columns", "count_text", "data_end_rule",
    "doubled_columns_text", "emptied_text", "examples", "missing_mask", "null_rule", "order_rule", "scale_text",
]

Policy = Literal["error", "keep", "drop"]  # data.returns, data.duplicates
SHOWN_ROWS = 5
SHOWN_EXAMPLES = 3
BOOL_WORDS = {"true": True, "t": True, "yes": True, "y": True, "1": True, "1.0": True,
          "false": False, "f": False, "no": False, "n": False, "0": False, "0.0": False}


# ---------------------------------------------------------------- rule catalogue
@dataclass(frozen=True)
class Rule:
    """The wording of one row rule: its noun for one and for several offending rows, and its fix.

    A problem reads ``<table>.<column>: <count> <noun><detail>; fix: <fix>``,
    e.g. ``transactions.amount: 3 negative amounts at data rows 2, 8, 9 of
    tx.csv (e.g. -2.0); fix: ...``; the detail (rows, examples) is the
    caller's.

    Attributes
    ----------
    key : str
        Stable name of the rule, e.g. ``"negative_amount"``.
    one, many : str
        The noun after a count of 1 and after any other count.
    fix : str
        What the user should change, after ``fix:``.
    policy : str, optional
        The setting that may keep or drop the offending rows instead of
        raising (``data.returns``, ``data.duplicates``).
    """

    key: str
    one: str
    many: str
    fix: str
    policy: str | None = None

    def count(self, n: int) -> str:
        """``n`` with the noun, e.g. ``1 negative amount``, ``1,250 negative amounts``."""
        return f"{n:,} {self.one if n == 1 else self.many}"

    def problem(self, table: str, column: str | None, n: int, detail: str = "") -> str:
        """The message for ``n`` offending rows; ``column`` None means whole rows."""
        where = f"{table}.{column}" if column else f"{table} (whole rows)"
        return f"{where}: {self.count(n)}{detail}; fix: {self.fix}"

    @property
    def dropped(self) -> str:
        """What a drop under the rule's policy logs, e.g. ``negative amounts (data.returns = drop)``."""
        return f"{self.many} ({self.policy} = drop)"


UNPARSEABLE_TIME = Rule(
    "unparseable_time", "unparseable timestamp", "unparseable timestamps",
    "write ISO 8601 ('2024-03-01', '2024-03-01 10:00:00' or '2024-03-01T10:00:00+02:00'), "
    "or give the format as read_options.date_format")
TIME_OF_DAY = Rule("time_of_day", "value with a time of day", "values with a time of day",
                   "give dates only (the first day of the period, e.g. '2024-03-01')")
NON_NUMERIC = Rule("non_numeric", "non-numeric value", "non-numeric values",
                   "write plain numbers ('12.50': a dot for decimals, no currency sign or thousands separator)")
NON_INTEGER = Rule("non_integer", "non-integer count", "non-integer counts", "write whole numbers")
NOT_BOOL = Rule("not_bool", "value that is not true/false", "values that are not true/false",
                "write true/false, yes/no or 1/0")
NEGATIVE_AMOUNT = Rule("negative_amount", "negative amount", "negative amounts",
                       "if they are returns, set data.returns to 'keep' (they reduce spend) or 'drop'; "
                       "otherwise correct them", "data.returns")
DUPLICATE_ROW = Rule("duplicate_row", "duplicate row", "duplicate rows",
                     "if they are real repeat events, set data.duplicates to 'keep'; else 'drop'",
                     "data.duplicates")
DUPLICATE_KEY = Rule("duplicate_key", "duplicate row", "duplicate rows",
                     "each customer may appear once: merge or remove the repeats", "data.duplicates")


def scale_text() -> str:
    """The survey score scales as text for messages, e.g. ``nps 0-10, csat 1-5, ces 1-7``."""
    return ", ".join(f"{k} {lo:g}-{hi:g}" for k, (lo, hi) in SCORE_SCALES.items())


UNKNOWN_SURVEY = Rule("unknown_survey", "unknown survey type", "unknown survey types",
                      f"use one of {sorted(SCORE_SCALES)} (scales {scale_text()})")
SCORE_OUTSIDE_SCALE = Rule("score_outside_scale", "score outside its survey's scale",
                           "scores outside their survey's scale",
                           f"keep each score within its scale ({scale_text()}) or fix the survey type")


def null_rule(column: str, kind: str) -> Rule:
    """Nulls (or ``''``) in a required column; ``kind`` is the column's ``ColumnSpec.kind``."""
    noun = "customer id" if kind == "id" else f"{column} value"
    return Rule("null", f"null {noun}", f"null {noun}s",
                f"fill in {column} or remove those rows (it is required in every row)")


DATE_ORDER = {"subscriptions": ("start", "end"), "tickets": ("opened_at", "resolved_at")}
"""Per table, the columns ``(first, last)`` of one row where ``last`` may not be before ``first``."""


def order_rule(first: str, last: str) -> Rule:
    """``last`` before ``first`` in one row (a subscription's end before its start, see ``DATE_ORDER``)."""
    return Rule("order", f"{last} before {first}", f"{last}s before {first}",
                f"correct the dates: {last} must be at or after {first}")


def data_end_rule(end: pd.Timestamp) -> Rule:
    """Rows at or after ``data.end`` (``end``: naive UTC, exclusive)."""
    return Rule("after_data_end", "row dated at or after data.end", "rows dated at or after data.end",
                f"data.end ({end}, UTC) is exclusive: remove those rows or set data.end later")


def doubled_columns_text(table: str, names: list[str]) -> str:
    """The problem of columns that appear more than once."""
    return (f"{table}: column(s) {names} appear more than once; fix: keep one of each "
            f"(check data.tables.{table}.columns for two names mapped to one column)")


def emptied_text(table: str, of: str) -> str:
    """The message of a table left without rows by ``drop``; ``of`` is ``' (source)'`` or ``''``."""
    return f"table '{table}'{of} has no rows left after dropping returns and duplicates"


# ------------------------------------------------------------------------ report
@dataclass
class Report:
    """Collects problems; knows how to name rows (file rows or index labels)."""

    table: str
    source: str | None
    labels: pd.Index
    problems: list[str] = field(default_factory=list)

    def rows(self, mask: np.ndarray) -> str:
        pos = np.flatnonzero(mask)
        shown = ", ".join(str(self.labels[p]) for p in pos[:SHOWN_ROWS])
        more = f" and {len(pos) - SHOWN_ROWS:,} more" if len(pos) > SHOWN_ROWS else ""
        if self.source is None:
            return f"index {shown}{more}"
        return f"data {'row' if len(pos) == 1 else 'rows'} {shown}{more} of {self.source}"

    def name(self, position: int) -> str:
        label = self.labels[position]
        return f"index {label}" if self.source is None else f"data row {label}"

    def add(self, column: str | None, rule: Rule, mask: np.ndarray, values: pd.Series | None,
            example: str | None = None) -> None:
        """Record ``rule`` broken at ``mask``: the rows, and examples of ``values`` (or ``example``)."""
        if values is not None:
            example = examples(values, mask)
        ex = f" (e.g. {example})" if example is not None else ""
        self.problems.append(rule.problem(self.table, column, int(mask.sum()), f" at {self.rows(mask)}{ex}"))


def examples(values: pd.Series, mask: np.ndarray) -> str:
    picked = values.iloc[np.flatnonzero(mask)[:1000]].drop_duplicates().head(SHOWN_EXAMPLES)
    return ", ".join(repr(str(v) if isinstance(v, pd.Timestamp) else v.item() if isinstance(v, np.generic)
                          else v) for v in picked)


def count_text(mask: np.ndarray) -> str:
    n = int(mask.sum())
    return f"{n:,} {'value' if n == 1 else 'values'}"


def missing_mask(col: pd.Series) -> np.ndarray:
    miss = col.isna().to_numpy(dtype=bool)
    if ptypes.is_string_dtype(col.dtype):
        return miss | (col.astype("str") == "").to_numpy(dtype=bool, na_value=False)
    return miss


# --------------------------------------------------------------------------- times
def _convert_time(rep: Report, name: str, col: pd.Series, kind: str, tz: str) -> pd.Series:
    values, aware = _parse_times(col)
    missing = missing_mask(col)
    nat = np.isnat(values)
    bad = nat & ~missing
    if bad.any():
        rep.add(name, UNPARSEABLE_TIME, bad, col)
    naive = ~aware & ~nat
    if aware.any() and naive.any():
        rep.problems.append(
            f"{rep.table}.{name}: mixed time zones: {count_text(aware)} with a UTC offset "
            f"({rep.rows(aware)}, e.g. {examples(col, aware)}) and {count_text(naive)} without "
            f"({rep.rows(naive)}, e.g. {examples(col, naive)}); fix: write every timestamp with "
            f"its offset, or none (naive values are read in data.timezone = {tz!r})"
        )
    elif aware.any():
        _log_offsets(col, aware, f"{rep.table}.{name}")
    if kind == "time" and tz != "UTC" and naive.any():
        values = _localize(values, naive, tz, f"{rep.table}.{name}")
    if kind == "date":
        timed = ~nat & (values != values.astype("datetime64[D]"))
        if timed.any():
            rep.add(name, TIME_OF_DAY, timed, col)
    return pd.Series(values, index=col.index, name=name)


# -------------------------------------------------------------------- other kinds
def _convert_number(rep: Report, name: str, col: pd.Series, kind: str) -> pd.Series:
    if ptypes.is_numeric_dtype(col.dtype) and not ptypes.is_bool_dtype(col.dtype):
        out = col.astype("float64")
    else:
        out = pd.to_numeric(col.astype("str"), errors="coerce").astype("float64")
    values = out.to_numpy()
    bad = ~np.isfinite(values) & ~missing_mask(col)
    if bad.any():
        rep.add(name, NON_NUMERIC, bad, col)
    if kind != "int":
        return out
    fraction = np.isfinite(values) & (values != np.floor(values))
    if fraction.any():
        rep.add(name, NON_INTEGER, fraction, col)
        return out
    return out.astype("Int64") if np.isnan(values).any() else out.astype("int64")


def _convert_bool(rep: Report, name: str, col: pd.Series) -> pd.Series:
    if ptypes.is_bool_dtype(col.dtype):
        return col.astype("boolean")
    mapped = _as_text(col).str.strip().str.lower().map(BOOL_WORDS)
    bad = mapped.isna().to_numpy() & ~missing_mask(col)
    if bad.any():
        rep.add(name, NOT_BOOL, bad, col)
    return mapped.astype("boolean")


def convert_columns(rep: Report, spec: TableSpec, raw: pd.DataFrame, tz: str) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    for c in spec.columns:
        if c.name not in raw.columns:
            continue
        col = raw[c.name]
        if c.kind in ("time", "date"):
            out[c.name] = _convert_time(rep, c.name, col, c.kind, tz)
        elif c.kind in ("float", "int"):
            out[c.name] = _convert_number(rep, c.name, col, c.kind)
        elif c.kind == "bool":
            out[c.name] = _convert_bool(rep, c.name, col)
        else:
            out[c.name] = _as_text(col)
        missing = missing_mask(col)
        if not c.nullable and missing.any():
            rep.add(c.name, null_rule(c.name, c.kind), missing, None)
    return out
