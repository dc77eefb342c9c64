"""Validation of raw tables against the data contract, once, at the boundary.

:func:`validate_table` turns a raw frame whose columns already carry canonical
names (see :mod:`churnml.schema`) into a canonical frame. It checks every rule
and reports every problem at once in one :class:`~churnml.errors.SchemaError`;
each problem names the table, the column, the offending rows, example values
and the fix. Code below ``io`` trusts its output and never re-checks.

Row numbers in messages are 1-based data rows of the file (the header is not
counted) when ``source`` names a file, and index labels otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Mapping

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from churnml.coercion import (
    DATE_ORDER,
    DUPLICATE_KEY,
    DUPLICATE_ROW,
    NEGATIVE_AMOUNT,
    SCORE_OUTSIDE_SCALE,
    UNKNOWN_SURVEY,
    Policy,
    Report,
    convert_columns,
    data_end_rule,
    doubled_columns_text,
    emptied_text,
    order_rule,
    scale_text,
)
from churnml.dateformat import time_formats
from churnml.errors import ConfigError, EmptyDataError, SchemaError
from churnml.rules import (
    FAR_TIME,
    HUGE_NUMBER,
    NON_NEGATIVE,
    SCORE_NOT_WHOLE,
    SUMMED_EXACTLY,
    empty_table_text,
    epoch_rule,
    epoch_times,
    far_times,
    fractional,
    huge_numbers,
    missing_columns_text,
    negative_rule,
    no_rows_text,
    returns_only_text,
    scale_masks,
    scores_shown,
)
from churnml.schema import TableSpec, spec_for
from churnml.timeparse import as_local, to_local

__all__ = ["check_options", "scale_text", "validate_table"]  # scale_text: churnml.coercion's, kept here

log = logging.getLogger(__name__)

def _check_missing_columns(rep: Report, spec: TableSpec, raw: pd.DataFrame) -> None:
    absent = [c for c in spec.required if c not in raw.columns]
    if absent:
        rep.problems.append(missing_columns_text(rep.table, absent, [str(c) for c in raw.columns],
                                                 given="frame" if rep.source is None else "file"))


# ------------------------------------------------------------------ table rules
def _check_rules(rep: Report, spec: TableSpec, canon: dict[str, pd.Series], returns: Policy,
                 data_end: pd.Timestamp | None, raw: pd.DataFrame, tz: str = "UTC") -> np.ndarray:
    """Table-specific rules. Returns the mask of negative amounts (returns) for ``drop``.

    Two times are compared as instants (UTC); ``data_end``, a wall-clock time of ``tz``, is
    compared with the rows' wall-clock times, as Spark compares it. Values are shown as ``raw``
    has them (as written in the file), so that an example can be found in the file whatever
    ``data.timezone`` converted it to.
    """
    negative = np.zeros(len(rep.labels), dtype=bool)
    if spec.name == "transactions" and "amount" in canon:
        negative = (canon["amount"] < 0).to_numpy()
        if returns == "error" and negative.any():
            rep.add("amount", NEGATIVE_AMOUNT, negative, canon["amount"])
        elif returns == "keep" and len(negative) and negative.all():
            log.warning("%s", returns_only_text(f" ({rep.source})" if rep.source else "", len(negative)))
    for name in NON_NEGATIVE.get(spec.name, {}):
        if name in canon and (below := (canon[name] < 0).to_numpy(dtype=bool, na_value=False)).any():
            rep.add(name, negative_rule(spec.name, name), below, raw[name])
    for name in SUMMED_EXACTLY.get(spec.name, ()):
        if name in canon and (huge := huge_numbers(canon[name])).any():
            rep.add(name, HUGE_NUMBER, huge, raw[name])
    if spec.name == "surveys" and {"survey", "score"} <= canon.keys():
        _check_scores(rep, canon)
    local = {c.name: to_local(canon[c.name], tz) for c in spec.columns if c.kind in ("time", "date") and c.name in canon}
    epoch = epoch_times({c: canon[c] for c in local}, local)
    for name, at in epoch.items():
        rep.add(name, epoch_rule(spec.column(name).nullable), at, raw[name])
    first, last = DATE_ORDER.get(spec.name, ("", ""))
    if first in canon and last in canon:  # a placeholder's rows are named above: not again as out of order
        none = np.zeros(len(rep.labels), dtype=bool)
        before = (canon[last] < canon[first]).to_numpy() & ~epoch.get(first, none) & ~epoch.get(last, none)
        if before.any():
            rep.add(last, order_rule(first, last), before, raw[last])
    for name, times in local.items():
        if (far := far_times(spec.name, name, times)).any():
            rep.add(name, FAR_TIME, far, raw[name])
    if data_end is not None and spec.time_column in local:
        late = (local[spec.time_column] >= data_end).to_numpy()
        if late.any():
            rep.add(spec.time_column, data_end_rule(data_end, tz), late, raw[spec.time_column])
    return negative


def _check_scores(rep: Report, canon: dict[str, pd.Series]) -> None:
    written = canon["survey"]
    survey = written.str.strip().str.lower()
    canon["survey"] = survey
    unknown, outside = scale_masks(survey, canon["score"])
    if unknown.any():  # shown as written: the spelling a value map (data.tables.surveys.values) takes
        rep.add("survey", UNKNOWN_SURVEY, unknown, written)
    shown = scores_shown(survey, canon["score"])
    if outside.any():
        rep.add("score", SCORE_OUTSIDE_SCALE, outside, shown)
    if (whole := fractional(canon["score"])).any():
        rep.add("score", SCORE_NOT_WHOLE, whole, shown)


# ------------------------------------------------------------------- duplicates
def _duplicates(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Positions of rows equal to an earlier row (all columns of ``frame``) and of that earlier row.

    DuckDB hashes every row to 64 bits (in parallel) and a sort finds the
    repeated hashes: about 2 s for 10M rows here, where pandas' ``duplicated``
    takes 7 s. Only rows whose hash repeats are then compared exactly, so a
    hash collision is never reported as a duplicate.
    """
    try:
        tbl = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return _exact_duplicates(frame)
    cols = [f"c{i}" for i in range(tbl.num_columns)]
    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = true")
        con.register("t", tbl.rename_columns(cols))
        hashes = np.asarray(con.execute(f"SELECT hash({', '.join(cols)}) AS h FROM t").fetchnumpy()["h"])
    ordered = np.sort(hashes)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    candidates = np.flatnonzero(np.isin(hashes, np.unique(repeated)))
    pos, first = _exact_duplicates(frame.iloc[candidates])
    return candidates[pos], candidates[first]


def _exact_duplicates(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    groups = frame.groupby(list(frame.columns), dropna=False, sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(frame))).groupby(groups).transform("min").to_numpy()
    pos = np.flatnonzero(first != np.arange(len(frame)))
    return pos, first[pos]


def _check_duplicates(rep: Report, spec: TableSpec, frame: pd.DataFrame, policy: Policy) -> np.ndarray:
    """Rows repeating an earlier row (or its key): refused under ``error``, the mask to drop under ``drop``.
    ``keep`` keeps repeated rows of a table without a key; a keyed table's repeated keys are refused under
    it too, since the table is one row per customer (its features and KPIs could not choose a row)."""
    mask = np.zeros(len(frame), dtype=bool)
    if policy == "keep" and not spec.key:
        return mask
    key = [k for k in spec.key or () if k in frame.columns] or None
    if spec.key and not key:
        return mask
    pos, first = _duplicates(frame[key] if key else frame)
    mask[pos] = True
    if policy != "drop" and len(pos):
        column = ", ".join(key) if key else None
        what = f"repeats the {column} of" if key else "repeats"
        example = f"{rep.name(pos[0])} {what} {rep.name(first[0])}"
        rep.add(column, DUPLICATE_KEY if key else DUPLICATE_ROW, mask, None, example)
    return mask


# ------------------------------------------------------------------------- API
def check_options(returns: str, duplicates: str, timezone: str) -> None:
    """ConfigError unless ``data.returns``/``data.duplicates`` are error|keep|drop and the zone is known."""
    bad = [f"data.{k}={v!r} (expected 'error', 'keep' or 'drop')"
           for k, v in (("returns", returns), ("duplicates", duplicates))
           if v not in ("error", "keep", "drop")]
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        bad.append(f"data.timezone={timezone!r} is not an IANA time zone (e.g. 'UTC', 'Europe/Berlin')")
    if bad:
        raise ConfigError("; ".join(bad))


def validate_table(
    table: str,
    raw: pd.DataFrame,
    *,
    returns: Policy = "error",
    duplicates: Policy = "error",
    timezone: str = "UTC",
    data_end: str | dt.date | dt.datetime | pd.Timestamp | None = None,
    source: str | None = None,
    date_format: str | Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
    decimal: str = ".",
    thousands: str | None = None,
) -> pd.DataFrame:
    """Check a raw table against the data contract and return its canonical frame.

    Parameters
    ----------
    table : str
        Canonical table name (``transactions``, ``events``, ... see ``schema.TABLE_SPECS``).
    raw : DataFrame
        The table with canonical column names (map the user's names first).
    returns : {'error', 'keep', 'drop'}
        Negative transaction amounts: an error, kept as returns, or removed
        (the count is logged at WARNING).
    duplicates : {'error', 'keep', 'drop'}
        Rows equal to an earlier row (on ``TableSpec.key`` where the table has
        one, else on every column): an error, kept, or removed (logged). A
        keyed table (one row per customer) refuses repeated keys under
        ``keep`` too: it cannot keep two rows of one customer.
    timezone : str
        The business's IANA zone. Naive timestamps are its wall-clock times;
        values with an offset are converted to it exactly. The returned times
        are naive wall-clock times of this zone, so that days, months and
        cutoffs are its calendar's (rules comparing times compare the instants).
    data_end : date-like, optional
        The declared end of the data (exclusive; naive = a wall-clock time of
        ``timezone``). Rows whose time column is ``>= data_end`` are an error.
    source : str, optional
        The file the table came from; messages then give 1-based data row
        numbers of that file instead of index labels. For a folder of files,
        ``raw`` indexed by (file, 1-based row), as :func:`churnml.io.read_table`
        reads one: messages give each row's file and row.
    date_format : str or mapping, optional
        The format of text timestamps (``read_options.date_format``): one for
        every time column, or a mapping canonical time column -> format.
        Strftime codes (``'%d.%m.%Y %H:%M'``), ``'ISO8601'`` or ``'mixed'``, as
        :func:`pandas.to_datetime` reads them; applied strictly (a value that
        does not match is a problem). Without one, ISO 8601 values are read
        as ISO and the others with one format inferred from all of them
        (:mod:`churnml.dateformat`): values that read differently day-first
        and month-first, with no day above 12 to settle the order, are a
        problem.
    dayfirst : bool, optional
        Settles the order of day and month of an inferred format
        (``read_options.dayfirst``): True day first, False month first.
    decimal, thousands : str, optional
        The file's number format (``read_options.decimal`` and ``thousands``),
        applied to numbers the reader left as text: with ``decimal=','`` a
        '.' is neither mark and such a number is a problem, not a decimal.

    Returns
    -------
    DataFrame
        Canonical columns present in ``raw`` in contract order (``customer_id``
        ``str``; times ``datetime64[us]``, naive wall-clock times of ``timezone``; money and scores
        ``float64``; counts ``int64``; flags ``boolean``), then the extra
        columns unchanged, on a fresh ``RangeIndex``.

    Raises
    ------
    EmptyDataError
        The table has no rows (or none are left after dropping).
    SchemaError
        Listing every problem found: missing columns, unparseable timestamps,
        mixed time zones, nulls in required columns, non-numeric values,
        negative amounts, scores outside their scale, unknown survey types,
        duplicates, rows at or after ``data_end``, ends before starts.
    ConfigError
        ``returns``, ``duplicates``, ``timezone``, ``data_end``, ``date_format``
        or ``dayfirst`` is invalid.
    """
    spec = spec_for(table)
    check_options(returns, duplicates, timezone)
    formats = time_formats(spec, date_format, dayfirst)
    end = as_local(data_end, "data.end", timezone)
    of = f" ({source})" if source else ""
    if len(raw) == 0:
        if table == "transactions":
            raise EmptyDataError(no_rows_text(table, of))
        log.warning("%s", empty_table_text(table, of))
    # a folder's files (churnml.io) come indexed by (file, row): their messages name both
    files = source is not None and isinstance(raw.index, pd.MultiIndex)
    rep = Report(table, source, raw.index if source is None or files else pd.RangeIndex(1, len(raw) + 1))
    raw = raw.reset_index(drop=True)
    doubled = raw.columns[raw.columns.duplicated()].unique()
    if len(doubled):
        rep.problems.append(doubled_columns_text(table, [str(c) for c in doubled]))
        raw = raw.loc[:, ~raw.columns.isin(doubled)]
    _check_missing_columns(rep, spec, raw)
    canon = convert_columns(rep, spec, raw, timezone, formats, dayfirst, decimal, thousands)
    negative = _check_rules(rep, spec, canon, returns, end, raw, timezone)
    extras = raw[[c for c in raw.columns if c not in spec]]
    frame = pd.concat([pd.DataFrame(canon, copy=False), extras], axis=1)
    repeated = _check_duplicates(rep, spec, frame, duplicates)
    if rep.problems:
        raise SchemaError(rep.problems, table)
    for c in spec.columns:
        if c.kind == "time" and c.name in frame.columns:
            frame[c.name] = to_local(frame[c.name], timezone)
    return _drop(frame, table, of, negative if returns == "drop" else None,
                 repeated if duplicates == "drop" else None)


def _drop(frame: pd.DataFrame, table: str, of: str, negative: np.ndarray | None,
          repeated: np.ndarray | None) -> pd.DataFrame:
    drop = np.zeros(len(frame), dtype=bool)
    for mask, rule in ((negative, NEGATIVE_AMOUNT), (repeated, DUPLICATE_ROW)):
        if mask is not None and mask.any():
            log.warning("%s%s: dropped %d %s", table, of, int(mask.sum()), rule.dropped)
            drop |= mask
    if drop.any() and drop.all():
        raise EmptyDataError(emptied_text(table, of))
    out = frame.loc[~drop].reset_index(drop=True) if drop.any() else frame
    log.info("validated %s%s: %d rows, %d columns", table, of, len(out), out.shape[1])
    return out
