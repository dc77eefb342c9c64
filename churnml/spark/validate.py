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

Where the rows come from Parquet files that Spark reads itself, each row has
a place: its file and its row in the file (:mod:`churnml.spark.places`).
Messages then name the first bad rows as pandas does, as 1-based data rows of
their file, and ``data.duplicates = drop`` keeps the first row of each key in
file order, as pandas does. Other frames (built in memory, read from CSV,
joined, unioned, cached) have no row order: their messages show the example
rows with the smallest values, and ``drop`` keeps the row with the smallest
values.

The casts are in :mod:`churnml.spark.canonical`, the rules' tests as Spark
expressions in :mod:`churnml.spark.checks`; this module runs them (counts,
examples, messages, the ``drop`` policies).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from churnml.coercion import (
    DUPLICATE_KEY,
    DUPLICATE_ROW,
    NEGATIVE_AMOUNT,
    SHOWN_EXAMPLES,
    SHOWN_ROWS,
    STRIPPED_IDS,
    STRIPPED_VALUES,
    Policy,
    Rule,
    emptied_text,
    stripped_text,
)
from churnml.errors import ConfigError, EmptyDataError, SchemaError
from churnml.rules import empty_table_text, float_ids_text, no_rows_text, returns_only_text
from churnml.schema import TableSpec, spec_for
from churnml.spark.canonical import (
    as_text,
    canonical_columns,
    canonical_frame,
    column,
    instants,
    schema_problems,
    stripped,
)
from churnml.spark.checks import Check, duplicate_key, near_epoch, row_checks
from churnml.spark.places import FileOrder, file_order, places_text
from churnml.spark.session import check_session
from churnml.timeparse import as_local
from churnml.validation import check_options

# canonical_frame, schema_problems and Policy: churnml.spark.canonical's and churnml.coercion's, kept here
__all__ = ["SPARK_TABLES", "Policy", "canonical_frame", "schema_problems", "validate_spark_table"]

log = logging.getLogger(__name__)

#: The tables the Spark path reads (the fields of ``churnml.spark.SparkTables``).
SPARK_TABLES = ("transactions", "events", "subscriptions", "surveys", "tickets", "customers")
_N, _H, _NEG, _NEAR = "__churnml_n", "__churnml_hash", "__churnml_negative", "__churnml_near"  # helper names
_URI, _FILE, _ROW, _RANK = "__churnml_uri", "__churnml_file", "__churnml_row", "__churnml_rank"


# ---------------------------------------------------------------------- counting
def _count(df: DataFrame, flags: list[Column], group: list[Column] | None,
           more: dict[str, Column] | None = None) -> dict[str, int]:
    """One Spark job: ``rows``, offending rows per flag (``r0``, ``r1``, ...), rows per test of ``more``
    (under its key) and, when ``group`` is given, ``suspects``: rows whose 64-bit hash of ``group`` repeats
    (duplicates are among them)."""
    tests = {f"r{i}": f for i, f in enumerate(flags)} | (more or {})
    if group is None:
        row = df.agg(F.count(F.lit(1)).alias("rows"), *[F.count_if(f).alias(k) for k, f in tests.items()]).first()
    else:
        names = {k: f"{_N}_{i}" for i, k in enumerate(tests)}
        groups = df.groupBy(F.xxhash64(*group).alias(_H)).agg(
            F.count(F.lit(1)).alias(_N), *[F.count_if(f).alias(names[k]) for k, f in tests.items()])
        row = groups.agg(F.sum(_N).alias("rows"), F.sum(F.when(F.col(_N) > 1, F.col(_N))).alias("suspects"),
                         *[F.sum(n).alias(k) for k, n in names.items()]).first()
    return {"suspects": 0, **{k: int(v or 0) for k, v in (row.asDict() if row else {}).items()}}


def _suspects(df: DataFrame, group: list[Column], negative: Column | None,
              order: FileOrder | None) -> tuple[DataFrame, list[str]]:
    """The rows whose 64-bit hash of ``group`` repeats (the duplicates are among them), and the names
    of the ``group`` columns. Each row has the ``group`` values, ``_NEG`` (a negative amount dropped
    under ``data.returns = drop``) and, where the rows have a file order, its place (``_URI``,
    ``_FILE``, ``_ROW``)."""
    neg = F.coalesce(negative, F.lit(False)) if negative is not None else F.lit(False)
    places = [order.uri.alias(_URI), order.key.alias(_FILE), order.row.alias(_ROW)] if order is not None else []
    picked = df.select(*group, neg.alias(_NEG), *places)
    names = picked.columns[:len(group)]
    hashed = picked.withColumn(_H, F.xxhash64(*[column(c) for c in names]))
    repeated = hashed.groupBy(_H).agg(F.count(F.lit(1)).alias(_N)).where(F.col(_N) > 1).select(_H)
    return hashed.join(repeated, _H, "left_semi"), names


def _groups(suspects: DataFrame, names: list[str]) -> DataFrame:
    """Exact groups of equal ``names`` values among the suspect rows: ``_N`` rows, of which ``_NEG``
    are negative amounts dropped under ``data.returns = drop``."""
    return suspects.groupBy(*[column(c) for c in names]).agg(F.count(F.lit(1)).alias(_N),
                                                             F.count_if(F.col(_NEG)).alias(_NEG))


def _duplicates(groups: DataFrame) -> tuple[int, int]:
    """Duplicate rows (each row equal to another, less one per group), and those left once the
    negative amounts are dropped."""
    row = groups.agg(F.sum(F.col(_N) - 1).alias("all"),
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
        return rule.problem(table, column, n, f" at {places_text(shown.places, n, source)}{ex}")
    of = f" in {source}" if source else ""
    more = f" and {n - len(shown.rows):,} more" if n > len(shown.rows) else ""
    ex = f" (e.g. {', '.join(shown.rows)}{more})" if shown.rows else ""
    return rule.problem(table, column, n, f"{of}{ex}")


def _examples(df: DataFrame, checks: dict[int, Check], order: FileOrder | None) -> dict[int, _Shown]:
    """Up to ``SHOWN_ROWS`` example rows per failing rule: the first in file order where the rows
    have one (``order``, :func:`churnml.spark.places.file_order`), else the smallest by their shown
    values.

    Sorted either way, so the same rows whatever the partitioning: one top-k
    Spark job per failing rule (only failing rules get here).
    """
    out: dict[int, _Shown] = {}
    for i, check in checks.items():
        cols = [e.alias(f"c{j}") for j, (_, e) in enumerate(check.shown)]
        names = [name for name, _ in check.shown]
        bad = df.where(F.coalesce(check.test, F.lit(False)))
        if order is not None:
            rows = (bad.select(order.uri.alias(_URI), order.key.alias(_FILE), order.row.alias(_ROW), *cols)
                    .orderBy(_FILE, _ROW).take(SHOWN_ROWS))
            out[i] = _Shown(_rows_text([r[3:] for r in rows], names) if cols else [],
                            [(r[_URI], r[_ROW]) for r in rows])
            continue
        rows = bad.select(*cols).orderBy(*[f"c{j}" for j in range(len(cols))]).take(SHOWN_ROWS) if cols else []
        out[i] = _Shown(_rows_text(rows, names))
    return out


def _duplicate_problem(spec: TableSpec, suspects: DataFrame, groups: DataFrame, names: list[str], n: int,
                       placed: bool, source: str | None) -> str:
    key = ", ".join(spec.key) if spec.key else None
    rule = DUPLICATE_KEY if spec.key else DUPLICATE_ROW
    if placed:
        return rule.problem(spec.name, key, n, _placed_duplicates(suspects, names, key, n, source))
    shown = list(spec.key or [c for c in ("customer_id", spec.time_column) if c and c in names])
    # sorted: after the shuffle of the grouping, row order depends on the partitions
    rows = groups.where(F.col(_N) > 1).select(*[column(c) for c in shown], _N).orderBy(*shown).take(SHOWN_ROWS)
    return _problem(spec.name, key, rule, n, _Shown(_rows_text(rows, [*shown, "copies"])), source)


def _placed_duplicates(suspects: DataFrame, names: list[str], key: str | None, n: int, source: str | None) -> str:
    """Where the duplicates are, as pandas words it: the first rows (in file order) that repeat an
    earlier row, and the earlier row of the first of them. Ranks the persisted suspect rows only."""
    within = Window.partitionBy(*[column(c) for c in names]).orderBy(_FILE, _ROW)
    ranked = suspects.select(_URI, _FILE, _ROW, F.row_number().over(within).alias(_RANK),
                             F.first(_URI).over(within).alias(f"{_URI}0"), F.first(_ROW).over(within).alias(f"{_ROW}0"))
    rows = ranked.where(F.col(_RANK) > 1).orderBy(_FILE, _ROW).take(SHOWN_ROWS)
    places = [(r[_URI], r[_ROW]) for r in rows]
    if not rows:
        return ""
    first, earlier = places[0], (rows[0][f"{_URI}0"], rows[0][f"{_ROW}0"])
    what = f"repeats the {key} of" if key else "repeats"
    if first[0] == earlier[0]:
        example = f"data row {first[1] + 1} {what} data row {earlier[1] + 1}"
    else:
        example = f"{places_text([first], 1, source)} {what} {places_text([earlier], 1, source)}"
    return f" at {places_text(places, n, source)} (e.g. {example})"


# ---------------------------------------------------------------------- dropping
def _drop(out: DataFrame, spec: TableSpec, of: str, negatives: int, duplicates: int) -> DataFrame:
    """The frame without the negative amounts and the duplicates the policies drop. Of rows sharing a
    key, the first in file order is kept where the rows have one
    (:func:`churnml.spark.places.file_order`), else the one with the smallest values."""
    if negatives:
        log.warning("%s%s: dropped %d %s", spec.name, of, negatives, NEGATIVE_AMOUNT.dropped)
        out = out.where(~F.coalesce(F.col("amount") < 0, F.lit(False)))
    if duplicates:
        log.warning("%s%s: dropped %d %s", spec.name, of, duplicates, DUPLICATE_ROW.dropped)
        key = list(spec.key or ())
        others = [c for c in out.columns if c not in key]
        if not key or not others:
            return out.dropDuplicates(key or None)
        order = file_order(out)
        place = [order.key.alias(_FILE), order.row.alias(_ROW)] if order is not None else []
        first = out.groupBy(*[column(k) for k in key]).agg(
            F.min(F.struct(*place, *[column(c) for c in others])).alias(_N))
        out = first.select(*[column(k) for k in key], *[F.col(_N)[c].alias(c) for c in others]).select(*out.columns)
    return out


# --------------------------------------------------------------------------- API
def _warn_float_ids(spec: TableSpec, df: DataFrame) -> None:
    """Warn about ids stored as floats of 2^53 or more, as the pandas path does (a job only for a float id column)."""
    for c in spec.columns:
        if c.kind != "id" or c.name not in df.columns:
            continue
        dtype = df.schema[c.name].dataType
        if not isinstance(dtype, T.FloatType | T.DoubleType):
            continue
        big = df.where(~F.isnan(F.col(c.name)) & (F.abs(F.col(c.name)) >= F.lit(2.0**53)))  # NaN sorts above all
        row = big.agg(F.count(F.lit(1)).alias("n"), F.first(as_text(F.col(c.name), dtype)).alias("e")).first()
        if row is not None and row["n"]:
            log.warning("%s", float_ids_text(spec.name, c.name, int(row["n"]), str(row["e"])))


def _stripping(spec: TableSpec, df: DataFrame) -> dict[str, tuple[Column, Column]]:
    """Per text column of the contract in ``df`` (ids and other text): its values as read and as kept
    (stripped of surrounding white space, blank = null), as :func:`churnml.coercion.canonical_ids` keeps them."""
    types = {f.name: f.dataType for f in df.schema.fields}
    out = {}
    for c in spec.columns:
        if c.kind in ("id", "str") and c.name in types:
            raw = as_text(column(c.name), types[c.name])
            out[c.name] = raw, stripped(raw)
    return out


def _changed(raw: Column, kept: Column) -> Column:
    """Values that stripping changed (a value of spaces included: it becomes missing), as the pandas path counts."""
    return raw.isNotNull() & (raw != "") & (kept.isNull() | (kept != raw))


def _warn_stripped(spec: TableSpec, df: DataFrame, texts: dict[str, tuple[Column, Column]],
                   counts: dict[str, int]) -> None:
    """The pandas path's warning per text column that stripping changed (one more Spark job each, for its
    examples: the smallest values as read, since not every frame has a row order)."""
    for name, (raw, kept) in texts.items():
        n = counts[f"s_{name}"]
        if not n:
            continue
        rows = (df.where(_changed(raw, kept)).select(raw.alias("a"), kept.alias("b")).distinct()
                .orderBy("a").limit(SHOWN_EXAMPLES).collect())
        noun, same = STRIPPED_IDS if spec.column(name).kind == "id" else STRIPPED_VALUES
        log.warning("%s", stripped_text(spec.name, name, n, [(r["a"], r["b"]) for r in rows], noun, same))


def validate_spark_table(
    table: str,
    df: DataFrame,
    *,
    returns: Policy = "error",
    duplicates: Policy = "error",
    data_end: str | dt.date | dt.datetime | pd.Timestamp | None = None,
    timezone: str = "UTC",
    source: str | None = None,
) -> DataFrame:
    """Check a Spark table against the data contract and return its canonical frame.

    The Spark counterpart of :func:`churnml.validation.validate_table`, with
    the same rules and policies. Counting every rule costs one Spark job (one
    scan of ``df``; it shuffles one 64-bit hash per row when duplicates are
    checked; the times at 1970-01-01 00:00, and the times within a year of it
    that say they are real, are two comparisons more per time column in it); rows whose hash repeats, and example rows of failing rules, cost
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
        one, else on every column): an error, kept, or removed (logged); a
        keyed table refuses repeated keys under ``keep`` too. Of
        rows sharing a key, ``drop`` keeps the first in file order where
        Spark reads ``df`` from Parquet itself, else the one with the
        smallest values.
    data_end : date-like, optional
        The declared end of the data (exclusive, naive = a local time of
        ``timezone``). Rows whose time column is ``>= data_end`` are an error.
    timezone : str
        The business's zone (``data.timezone``): ``TIMESTAMP`` columns (instants)
        become its wall-clock times; ``TIMESTAMP_NTZ`` and ``DATE`` columns are
        taken as its local times, as the pandas path reads naive times.
    source : str, optional
        Where the table came from (a Parquet path), named in messages.

    Returns
    -------
    DataFrame
        Canonical columns in contract order (``customer_id`` string; times
        ``TIMESTAMP_NTZ``, wall-clock times of ``timezone``; money and scores double, NaN as null;
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
        outside their scale, times at 1970-01-01 00:00 with no other time of
        the table within a year (an export's placeholder), ends before
        starts, rows at or after ``data_end``, duplicates).
    ConfigError
        ``returns``, ``duplicates`` or ``data_end`` is invalid, the table is not
        one of :data:`SPARK_TABLES`, or the session's time zone is not UTC.
    """
    if table not in SPARK_TABLES:
        raise ConfigError(f"Spark validates the tables of the Spark path {sorted(SPARK_TABLES)}, not '{table}'; "
                          "read it with churnml.io.read_table")
    check_session(df.sparkSession)
    spec = spec_for(table)
    check_options(returns, duplicates, timezone)
    end = as_local(data_end, "data.end", timezone)
    problems = schema_problems(table, df)
    if problems:
        raise SchemaError(problems, table)
    canon = canonical_columns(spec, df, timezone)
    moments = instants(spec, df, timezone)
    checks = row_checks(spec, df, canon, returns, end, timezone, moments)
    negative = next((i for i, r in enumerate(checks) if r.rule is NEGATIVE_AMOUNT), None)
    flags = [F.coalesce(r.test, F.lit(False)) for r in checks]
    refused = duplicates == "error" or (duplicates == "keep" and bool(spec.key))  # keep: not a keyed table's repeats
    group = duplicate_key(spec, df, {**canon, **moments}) if refused or duplicates == "drop" else None
    texts = _stripping(spec, df)
    more = {f"s_{n}": _changed(raw, kept) for n, (raw, kept) in texts.items()}
    counts = _count(df, flags, group, {**more, _NEAR: near_epoch(spec, canon, timezone, moments)})
    # times at the epoch are placeholders when no other time of the table is within a year of it
    placeholders = counts[_NEAR] == 0 and any(
        counts[f"r{i}"] for i, r in enumerate(checks) if r.rule.key == "epoch_time")
    of = f" ({source})" if source else ""
    if counts["rows"] == 0:
        if table == "transactions":
            raise EmptyDataError(no_rows_text(table, of))
        log.warning("%s", empty_table_text(table, of))
    if returns == "keep" and negative is not None and counts["rows"] and counts[f"r{negative}"] == counts["rows"]:
        log.warning("%s", returns_only_text(of, counts["rows"]))
    _warn_float_ids(spec, df)
    _warn_stripped(spec, df, texts, counts)
    dropping = flags[negative] if negative is not None and returns == "drop" else None
    failing = {i: r for i, r in enumerate(checks) if counts[f"r{i}"] and (i != negative or returns == "error")
               and r.placeholders in (None, placeholders)}
    repeating = group is not None and counts["suspects"] > 0
    # places are looked up only for a message (a drop looks them up on the frame it returns)
    order = file_order(df) if failing or (repeating and refused) else None
    suspects: DataFrame | None = None
    names: list[str] = []
    if group is not None and repeating:
        suspects, names = _suspects(df, group, dropping, order if refused else None)
        suspects.persist()
    try:
        groups = _groups(suspects, names) if suspects is not None else None
        repeated, repeated_left = _duplicates(groups) if groups is not None else (0, 0)
        shown = _examples(df, failing, order) if failing else {}
        problems = [_problem(table, r.column, r.rule, counts[f"r{i}"], shown[i], source)
                    for i, r in failing.items()]
        if suspects is not None and groups is not None and repeated and refused:
            problems.append(_duplicate_problem(spec, suspects, groups, names, repeated, order is not None, source))
    finally:
        if suspects is not None:
            suspects.unpersist()
    if problems:
        raise SchemaError(problems, table)
    negatives = counts[f"r{negative}"] if dropping is not None else 0
    left = counts["rows"] - negatives - (repeated_left if duplicates == "drop" else 0)
    if left == 0 and counts["rows"]:
        raise EmptyDataError(emptied_text(table, of))
    log.info("validated %s%s: %d rows, %d columns", table, of, left, len(df.columns))
    return _drop(canonical_frame(table, df, timezone), spec, of, negatives, repeated if duplicates == "drop" else 0)
