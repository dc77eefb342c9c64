"""Row-level validation of Spark tables: the rules of :mod:`churnml.validation`, as Spark aggregations.

:func:`validate_spark_table` is the Spark counterpart of
:func:`churnml.validation.validate_table`: same rules, same policies
(``data.returns``, ``data.duplicates``), every problem in one
:class:`~churnml.errors.SchemaError` naming the table, the column, the count,
up to five example rows (``customer_id`` and the value) and the fix; the nouns
and fixes are pandas' word for word: both take them from the rule catalogue
in :mod:`churnml.coercion` (``tests/test_spark_validate.py`` compares the
two). One Spark job counts every rule; duplicates are found by grouping on a
64-bit hash and comparing exactly only the rows whose hash repeats.

Where the rows come from Parquet files that Spark reads itself (a path, or
``spark.read.parquet``), each row has a place: its file and its row in the
file (Spark's ``_metadata.file_path`` and ``_metadata.row_index``). Messages
then name the first bad rows as pandas does, as 1-based data rows of their
file, and ``data.duplicates = drop`` keeps the first row of each key in file
order (files by path), as pandas does. Other frames (built in memory, read
from CSV, joined) have no row order: their messages show the example rows
with the smallest values, and ``drop`` keeps the row with the smallest values.

The casts are in :mod:`churnml.spark.canonical`, the rules' tests as Spark
expressions in :mod:`churnml.spark.checks`; this module runs them (counts,
examples, messages, the ``drop`` policies).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from churnml.coercion import (
    DUPLICATE_KEY,
    DUPLICATE_ROW,
    NEGATIVE_AMOUNT,
    SHOWN_ROWS,
    Policy,
    Rule,
    emptied_text,
)
from churnml.errors import ConfigError, EmptyDataError, SchemaError
from churnml.rules import no_rows_text
from churnml.schema import TableSpec, spec_for
from churnml.spark.canonical import canonical_columns, canonical_frame, column, schema_problems
from churnml.spark.checks import Check, duplicate_key, row_checks
from churnml.spark.session import check_session
from churnml.timeparse import as_utc
from churnml.validation import check_options

# canonical_frame, schema_problems and Policy: churnml.spark.canonical's and churnml.coercion's, kept here
__all__ = ["SPARK_TABLES", "Policy", "canonical_frame", "schema_problems", "validate_spark_table"]

log = logging.getLogger(__name__)

#: The tables the Spark path reads (the fields of ``churnml.spark.SparkTables``).
SPARK_TABLES = ("transactions", "events", "subscriptions", "surveys", "tickets", "customers")
_N, _H, _NEG = "__churnml_n", "__churnml_hash", "__churnml_negative"  # helper columns
_FILE, _ROW, _RANK = "__churnml_file", "__churnml_row", "__churnml_rank"


# ---------------------------------------------------------------------- file order
def _file_order(df: DataFrame) -> tuple[Column, Column] | None:
    """Each row's file and 0-based row in it, where Spark reads ``df`` from Parquet files itself.

    Spark's hidden ``_metadata`` column holds both for a Parquet scan (and
    follows it through projections and filters); a frame built in memory, read
    from CSV or made by a join or an aggregation has no such column (None).
    """
    try:
        fields = df.select(F.col("_metadata.file_path"), F.col("_metadata.row_index")).schema.fields
    except AnalysisException:
        return None
    if [f.dataType.typeName() for f in fields] != ["string", "long"]:  # a column of the user's own named _metadata
        return None
    return F.col("_metadata.file_path"), F.col("_metadata.row_index")


def _local(file: str) -> str:
    """A ``file:`` URI as a local path; other URIs (``s3a://...``) as they are."""
    uri = urlparse(file)
    return unquote(uri.path) if uri.scheme == "file" else file


def _places(rows: list[tuple[str, int]], n: int, source: str | None) -> str:
    """Where ``rows`` (file URI, 0-based row) are, as pandas words it: ``data rows 2, 5 and 3 more of
    <file>`` (1-based; ``n`` rows in all), or per file when they are in several; a file that is
    ``source`` itself is named as ``source`` is."""
    def name(file: str) -> str:
        path = _local(file)
        same = source is not None and Path(source).exists() and Path(source).resolve() == Path(path).resolve()
        return str(source) if same else path

    by_file: dict[str, list[int]] = {}
    for file, row in rows:
        by_file.setdefault(file, []).append(int(row) + 1)
    more = f" and {n - len(rows):,} more" if n > len(rows) else ""
    parts = [f"data {'row' if len(r) == 1 else 'rows'} {', '.join(map(str, r))}" for r in by_file.values()]
    if len(parts) == 1:  # pandas' words: data rows 2, 5 and 3 more of <file>
        return f"{parts[0]}{more} of {name(next(iter(by_file)))}"
    return ", ".join(f"{p} of {name(f)}" for p, f in zip(parts, by_file, strict=True)) + more


# ---------------------------------------------------------------------- counting
def _count(df: DataFrame, flags: list[Column], group: list[Column] | None) -> dict[str, int]:
    """One Spark job: ``rows``, offending rows per flag (``r0``, ``r1``, ...) and, when ``group``
    is given, ``suspects``: rows whose 64-bit hash of ``group`` repeats (duplicates are among them)."""
    counts = [F.count_if(f).alias(f"r{i}") for i, f in enumerate(flags)]
    if group is None:
        row = df.agg(F.count(F.lit(1)).alias("rows"), *counts).first()
    else:
        names = [f"{_N}_r{i}" for i in range(len(flags))]
        groups = df.groupBy(F.xxhash64(*group).alias(_H)).agg(
            F.count(F.lit(1)).alias(_N), *[F.count_if(f).alias(n) for f, n in zip(flags, names, strict=True)])
        row = groups.agg(F.sum(_N).alias("rows"), F.sum(F.when(F.col(_N) > 1, F.col(_N))).alias("suspects"),
                         *[F.sum(n).alias(f"r{i}") for i, n in enumerate(names)]).first()
    return {"suspects": 0, **{k: int(v or 0) for k, v in (row.asDict() if row else {}).items()}}


def _repeats(df: DataFrame, group: list[Column], negative: Column | None) -> DataFrame:
    """Exact groups of equal ``group`` values among the rows whose hash repeats: ``_N`` rows, of
    which ``_NEG`` are negative amounts (under ``data.returns = drop``)."""
    hashed = df.withColumn(_H, F.xxhash64(*group))
    suspects = hashed.groupBy(_H).agg(F.count(F.lit(1)).alias(_N)).where(F.col(_N) > 1).select(_H)
    neg = F.count_if(negative) if negative is not None else F.lit(0)
    return hashed.join(suspects, _H, "left_semi").groupBy(*group).agg(F.count(F.lit(1)).alias(_N),
                                                                       neg.alias(_NEG))


def _duplicates(repeats: DataFrame) -> tuple[int, int]:
    """Duplicate rows (each row equal to another, less one per group), and those left once the
    negative amounts are dropped."""
    row = repeats.agg(F.sum(F.col(_N) - 1).alias("all"),
                      F.sum(F.greatest(F.col(_N) - F.col(_NEG) - 1, F.lit(0))).alias("left")).first()
    return (int(row["all"] or 0), int(row["left"] or 0)) if row else (0, 0)


# ---------------------------------------------------------------------- messages
def _fmt(value: Any) -> str:
    return repr(str(value)) if isinstance(value, dt.date) else repr(value)


def _rows_text(rows: list[Any], names: list[str]) -> list[str]:
    """``name=value`` per shown column of each example row; repeated rows once."""
    return list(dict.fromkeys(" ".join(f"{n}={_fmt(v)}" for n, v in zip(names, r, strict=True)) for r in rows))


@dataclass(frozen=True)
class _Shown:
    """A failing rule's example rows as text and, where the rows have a file order, their places."""

    rows: list[str]
    places: list[tuple[str, int]] | None = None


def _problem(table: str, column: str | None, rule: Rule, n: int, shown: _Shown, source: str | None) -> str:
    if shown.places:
        ex = f" (e.g. {', '.join(shown.rows)})" if shown.rows else ""
        return rule.problem(table, column, n, f" at {_places(shown.places, n, source)}{ex}")
    of = f" in {source}" if source else ""
    more = f" and {n - len(shown.rows):,} more" if n > len(shown.rows) else ""
    ex = f" (e.g. {', '.join(shown.rows)}{more})" if shown.rows else ""
    return rule.problem(table, column, n, f"{of}{ex}")


def _examples(df: DataFrame, checks: dict[int, Check]) -> dict[int, _Shown]:
    """Up to ``SHOWN_ROWS`` example rows per failing rule: the first in file order where the rows
    have one (:func:`_file_order`), else the smallest by their shown values.

    Sorted either way, so the same rows whatever the partitioning: one top-k
    Spark job per failing rule (only failing rules get here).
    """
    order = _file_order(df)
    out: dict[int, _Shown] = {}
    for i, check in checks.items():
        cols = [e.alias(f"c{j}") for j, (_, e) in enumerate(check.shown)]
        names = [name for name, _ in check.shown]
        bad = df.where(F.coalesce(check.test, F.lit(False)))
        if order is not None:
            rows = bad.select(order[0].alias(_FILE), order[1].alias(_ROW), *cols).orderBy(_FILE, _ROW).take(SHOWN_ROWS)
            out[i] = _Shown(_rows_text([r[2:] for r in rows], names) if cols else [],
                            [(r[_FILE], r[_ROW]) for r in rows])
            continue
        rows = bad.select(*cols).orderBy(*[f"c{j}" for j in range(len(cols))]).take(SHOWN_ROWS) if cols else []
        out[i] = _Shown(_rows_text(rows, names))
    return out


def _duplicate_problem(spec: TableSpec, df: DataFrame, group: list[Column], repeats: DataFrame, n: int,
                       source: str | None) -> str:
    order = _file_order(df)
    if order is not None:
        return _placed_duplicates(spec, df, group, order, n, source)
    key = ", ".join(spec.key) if spec.key else None
    rule = DUPLICATE_KEY if spec.key else DUPLICATE_ROW
    names = list(spec.key or [c for c in ("customer_id", spec.time_column) if c and c in repeats.columns])
    # sorted: after the shuffle of the grouping, row order depends on the partitions
    rows = repeats.where(F.col(_N) > 1).select(*[column(c) for c in names], _N).orderBy(*names).take(SHOWN_ROWS)
    return _problem(spec.name, key, rule, n, _Shown(_rows_text(rows, [*names, "copies"])), source)


def _placed_duplicates(spec: TableSpec, df: DataFrame, group: list[Column], order: tuple[Column, Column], n: int,
                       source: str | None) -> str:
    """The duplicates' message with places, as pandas words it: the first rows (in file order) that
    repeat an earlier row, and the earlier row of the first of them."""
    placed = df.select(*group, order[0].alias(_FILE), order[1].alias(_ROW))
    names = [column(c) for c in placed.columns[:-2]]
    hashed = placed.withColumn(_H, F.xxhash64(*names))
    suspects = hashed.groupBy(_H).agg(F.count(F.lit(1)).alias(_N)).where(F.col(_N) > 1).select(_H)
    within = Window.partitionBy(*names).orderBy(_FILE, _ROW)
    ranked = (hashed.join(suspects, _H, "left_semi")
              .select(_FILE, _ROW, F.row_number().over(within).alias(_RANK),
                      F.first(_FILE).over(within).alias(f"{_FILE}0"), F.first(_ROW).over(within).alias(f"{_ROW}0")))
    rows = ranked.where(F.col(_RANK) > 1).orderBy(_FILE, _ROW).take(SHOWN_ROWS)
    places = [(r[_FILE], r[_ROW]) for r in rows]
    key = ", ".join(spec.key) if spec.key else None
    example: list[str] = []
    if rows:
        first, earlier = places[0], (rows[0][f"{_FILE}0"], rows[0][f"{_ROW}0"])
        what = f"repeats the {key} of" if key else "repeats"
        if first[0] == earlier[0]:
            example = [f"data row {first[1] + 1} {what} data row {earlier[1] + 1}"]
        else:
            example = [f"{_places([first], 1, source)} {what} {_places([earlier], 1, source)}"]
    return _problem(spec.name, key, DUPLICATE_KEY if spec.key else DUPLICATE_ROW, n, _Shown(example, places), source)


# ---------------------------------------------------------------------- dropping
def _drop(out: DataFrame, spec: TableSpec, of: str, negatives: int, duplicates: int) -> DataFrame:
    """The frame without the negative amounts and the duplicates the policies drop. Of rows sharing a
    key, the first in file order is kept where the rows have one (:func:`_file_order`), else the one
    with the smallest values."""
    if negatives:
        log.warning("%s%s: dropped %d %s", spec.name, of, negatives, NEGATIVE_AMOUNT.dropped)
        out = out.where(~F.coalesce(F.col("amount") < 0, F.lit(False)))
    if duplicates:
        log.warning("%s%s: dropped %d %s", spec.name, of, duplicates, DUPLICATE_ROW.dropped)
        key = list(spec.key or ())
        others = [c for c in out.columns if c not in key]
        if not key or not others:
            return out.dropDuplicates(key or None)
        order = _file_order(out)
        place = [order[0].alias(_FILE), order[1].alias(_ROW)] if order is not None else []
        first = out.groupBy(*[column(k) for k in key]).agg(
            F.min(F.struct(*place, *[column(c) for c in others])).alias(_N))
        out = first.select(*[column(k) for k in key], *[F.col(_N)[c].alias(c) for c in others]).select(*out.columns)
    return out


# --------------------------------------------------------------------------- API
def validate_spark_table(
    table: str,
    df: DataFrame,
    *,
    returns: Policy = "error",
    duplicates: Policy = "error",
    data_end: str | dt.date | dt.datetime | pd.Timestamp | None = None,
    source: str | None = None,
) -> DataFrame:
    """Check a Spark table against the data contract and return its canonical frame.

    The Spark counterpart of :func:`churnml.validation.validate_table`, with
    the same rules and policies. Counting every rule costs one Spark job (one
    scan of ``df``; it shuffles one 64-bit hash per row when duplicates are
    checked); rows whose hash repeats, and example rows of failing rules, cost
    a few more jobs only when there are any.

    Parameters
    ----------
    table : str
        Canonical table name (``transactions``, ``events``, ... see ``schema.TABLE_SPECS``).
    df : DataFrame
        The table with canonical column names; time columns are Spark
        timestamps (``TIMESTAMP``, ``TIMESTAMP_NTZ`` or ``DATE``, read in the
        UTC session); numbers may be text (checked) or numbers.
    returns : {'error', 'keep', 'drop'}
        Negative transaction amounts: an error, kept as returns, or removed
        (the count is logged at WARNING).
    duplicates : {'error', 'keep', 'drop'}
        Rows equal to another row (on ``TableSpec.key`` where the table has
        one, else on every column): an error, kept, or removed (logged). Of
        rows sharing a key, ``drop`` keeps the first in file order where
        Spark reads ``df`` from Parquet itself, else the one with the
        smallest values.
    data_end : date-like, optional
        The declared end of the data (exclusive, naive = UTC). Rows whose time
        column is ``>= data_end`` are an error.
    source : str, optional
        Where the table came from (a Parquet path), named in messages.

    Returns
    -------
    DataFrame
        Canonical columns in contract order (``customer_id`` string; times
        ``TIMESTAMP_NTZ`` naive UTC; money and scores double, NaN as null;
        flags boolean; survey types trimmed and lower case), then the extra
        columns unchanged. Lazy: the drops run with the caller's next action.

    Raises
    ------
    EmptyDataError
        The table has no rows (or none are left after dropping).
    SchemaError
        Every problem: doubled, missing or mistyped columns, then the row
        rules (nulls in required columns, non-numeric or non-finite numbers,
        flags not true/false, negative amounts, unknown survey types, scores
        outside their scale, ends before starts, rows at or after
        ``data_end``, duplicates).
    ConfigError
        ``returns``, ``duplicates`` or ``data_end`` is invalid, the table is not
        one of :data:`SPARK_TABLES`, or the session's time zone is not UTC.
    """
    if table not in SPARK_TABLES:
        raise ConfigError(f"Spark validates the tables of the Spark path {sorted(SPARK_TABLES)}, not '{table}'; "
                          "read it with churnml.io.read_table")
    check_session(df.sparkSession)
    spec = spec_for(table)
    check_options(returns, duplicates, "UTC")
    end = as_utc(data_end, "data.end")
    problems = schema_problems(table, df)
    if problems:
        raise SchemaError(problems, table)
    canon = canonical_columns(spec, df)
    checks = row_checks(spec, df, canon, returns, end)
    negative = next((i for i, r in enumerate(checks) if r.rule is NEGATIVE_AMOUNT), None)
    flags = [F.coalesce(r.test, F.lit(False)) for r in checks]
    group = duplicate_key(spec, df, canon) if duplicates != "keep" else None
    counts = _count(df, flags, group)
    of = f" ({source})" if source else ""
    if counts["rows"] == 0:
        raise EmptyDataError(no_rows_text(table, of))
    dropping = flags[negative] if negative is not None and returns == "drop" else None
    repeats = _repeats(df, group, dropping).persist() if group is not None and counts["suspects"] else None
    try:
        repeated, repeated_left = _duplicates(repeats) if repeats is not None else (0, 0)
        failing = {i: r for i, r in enumerate(checks) if counts[f"r{i}"] and (i != negative or returns == "error")}
        shown = _examples(df, failing) if failing else {}
        problems = [_problem(table, r.column, r.rule, counts[f"r{i}"], shown[i], source)
                    for i, r in failing.items()]
        if repeats is not None and group is not None and repeated and duplicates == "error":
            problems.append(_duplicate_problem(spec, df, group, repeats, repeated, source))
    finally:
        if repeats is not None:
            repeats.unpersist()
    if problems:
        raise SchemaError(problems, table)
    negatives = counts[f"r{negative}"] if dropping is not None else 0
    left = counts["rows"] - negatives - (repeated_left if duplicates == "drop" else 0)
    if left == 0:
        raise EmptyDataError(emptied_text(table, of))
    log.info("validated %s%s: %d rows, %d columns", table, of, left, len(df.columns))
    return _drop(canonical_frame(table, df), spec, of, negatives, repeated if duplicates == "drop" else 0)
