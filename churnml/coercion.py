"""Turning raw columns into canonical types, and collecting what does not convert.

Used by :func:`churnml.validation.validate_table`: :func:`convert_columns`
converts each column of a table spec (times, dates, numbers, counts,
booleans, text) and records every value that does not convert in a
:class:`Report`, which names the table, the column, the rows (file rows or
index labels) and example values, with the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from churnml.schema import TableSpec
from churnml.timeparse import _as_text, _localize, _log_offsets, _parse_times

__all__ = ["BOOL_WORDS", "Report", "convert_columns", "count_text", "examples", "missing_mask"]

SHOWN_ROWS = 5
SHOWN_EXAMPLES = 3
_ISO_FIX = (
    "write ISO 8601 ('2024-03-01', '2024-03-01 10:00:00' or '2024-03-01T10:00:00+02:00'), "
    "or give the format as read_options.date_format"
)
BOOL_WORDS = {"true": True, "t": True, "yes": True, "y": True, "1": True, "1.0": True,
          "false": False, "f": False, "no": False, "n": False, "0": False, "0.0": False}


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

    def add(self, column: str | None, noun: tuple[str, str], mask: np.ndarray,
            values: pd.Series | None, fix: str) -> None:
        n = int(mask.sum())
        where = f"{self.table}.{column}" if column else f"{self.table} (whole rows)"
        ex = f" (e.g. {examples(values, mask)})" if values is not None else ""
        self.problems.append(
            f"{where}: {n:,} {noun[0] if n == 1 else noun[1]} at {self.rows(mask)}{ex}; fix: {fix}"
        )


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
        rep.add(name, ("unparseable timestamp", "unparseable timestamps"), bad, col, _ISO_FIX)
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
            rep.add(name, ("value with a time of day", "values with a time of day"), timed, col,
                    "give dates only (the first day of the period, e.g. '2024-03-01')")
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
        rep.add(name, ("non-numeric value", "non-numeric values"), bad, col,
                "write plain numbers ('12.50': a dot for decimals, no currency sign or thousands separator)")
    if kind != "int":
        return out
    fraction = np.isfinite(values) & (values != np.floor(values))
    if fraction.any():
        rep.add(name, ("non-integer count", "non-integer counts"), fraction, col, "write whole numbers")
        return out
    return out.astype("Int64") if np.isnan(values).any() else out.astype("int64")


def _convert_bool(rep: Report, name: str, col: pd.Series) -> pd.Series:
    if ptypes.is_bool_dtype(col.dtype):
        return col.astype("boolean")
    mapped = _as_text(col).str.strip().str.lower().map(BOOL_WORDS)
    bad = mapped.isna().to_numpy() & ~missing_mask(col)
    if bad.any():
        rep.add(name, ("value that is not true/false", "values that are not true/false"), bad, col,
                "write true/false, yes/no or 1/0")
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
            noun = "customer id" if c.kind == "id" else f"{c.name} value"
            rep.add(c.name, (f"null {noun}", f"null {noun}s"), missing, None,
                    f"fill in {c.name} or remove those rows (it is required in every row)")
    return out
