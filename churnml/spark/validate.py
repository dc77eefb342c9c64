"""Row-level validation of Spark tables: the rules of :mod:`churnml.validation`, as Spark aggregations.

:func:`validate_spark_table` is the Spark counterpart of
:func:`churnml.validation.validate_table`: same rules, same policies
(``data.returns``, ``data.duplicates``), every problem in one
:class:`~churnml.errors.SchemaError` naming the table, the column, the count,
up to five example rows (``customer_id`` and the value) and the fix; the nouns
and fixes are pandas' word for word (``tests/test_spark_validate.py`` compares
the two). Spark rows have no order: messages show example rows, not row
numbers. One Spark job counts every rule; duplicates are found by grouping on
a 64-bit hash and comparing exactly only the rows whose hash repeats.
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
from dataclasses import dataclass
from functools import reduce
from typing import Any, Literal

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from churnml.coercion import BOOL_WORDS, SHOWN_ROWS
from churnml.errors import EmptyDataError, SchemaError
from churnml.schema import SCORE_SCALES, ColumnSpec, TableSpec, spec_for
from churnml.timeparse import as_utc
from churnml.validation import check_options, scale_text

__all__ = ["canonical_frame", "schema_problems", "validate_spark_table"]

log = logging.getLogger(__name__)

Policy = Literal["error", "keep", "drop"]
_SPARK_TYPES = {"id": "string", "str": "string", "time": "timestamp_ntz", "date": "date",
                "float": "double", "int": "bigint", "bool": "boolean"}
_TIME_SOURCES = (T.TimestampType, T.TimestampNTZType, T.DateType)
_N, _H, _NEG = "__churnml_n", "__churnml_hash", "__churnml_negative"  # helper columns
_SCANNED = 1000  # offending rows read at most to pick the examples of every failing rule


@dataclass(frozen=True)
class _Rule:
    """One row rule: the column it names, its noun (one, many), its fix and its test (never null)."""

    column: str | None
    noun: tuple[str, str]
    fix: str
    test: Column
    shown: tuple[tuple[str, Column], ...]
    returns: bool = False  # the negative-amount rule, under data.returns


def _col(name: str) -> Column:
    return F.col(f"`{name}`")


# ------------------------------------------------------------------------ schema
def schema_problems(table: str, df: DataFrame) -> list[str]:
    """Problems visible in the schema alone (no Spark job): doubled, missing and mistyped columns."""
    spec = spec_for(table)
    sensitive = df.sparkSession.conf.get("spark.sql.caseSensitive") == "true"
    names = [f.name if sensitive else f.name.lower() for f in df.schema.fields]
    doubled = sorted({f.name for f, n in zip(df.schema.fields, names, strict=True) if names.count(n) > 1})
    problems = []
    if doubled:
        problems.append(f"{table}: column(s) {doubled} appear more than once; fix: keep one of "
                        f"each (check data.tables.{table}.columns for two names mapped to one column)")
    types = {f.name: f.dataType for f in df.schema.fields}
    missing = [c for c in spec.required if c not in types]
    if missing:
        problems.append(f"table '{table}': missing required column(s) {missing}; found {sorted(types)}; "
                        f"map them with data.tables.{table}.columns")
    for c in spec.columns:
        if c.kind == "time" and c.name in types and not isinstance(types[c.name], _TIME_SOURCES):
            problems.append(f"table '{table}': column '{c.name}' must be a timestamp, found "
                            f"{types[c.name].simpleString()}; parse it first (to_timestamp) or write the "
                            "table with churnml.io.write_frame")
    return problems


# ------------------------------------------------------------------ conversions
def _missing(name: str, dtype: T.DataType) -> Column:
    """Null, ``''`` in text, NaN in floating point: what pandas' ``missing_mask`` calls missing."""
    c = _col(name)
    if isinstance(dtype, T.StringType):
        return c.isNull() | (c == "")
    if isinstance(dtype, T.FloatType | T.DoubleType):
        return c.isNull() | F.isnan(c)
    return c.isNull()


def _strip(c: Column) -> Column:
    """Text without leading and trailing white space (Unicode, as ``str.strip``)."""
    return F.regexp_replace(c.cast("string"), r"(?U)^\s+|\s+$", "")


def _as_bool(name: str, dtype: T.DataType) -> Column:
    if isinstance(dtype, T.BooleanType):
        return _col(name)
    words = F.create_map(*[F.lit(x) for pair in BOOL_WORDS.items() for x in pair])
    return F.try_element_at(words, F.lower(_strip(_col(name))))


def _canonical(c: ColumnSpec, dtype: T.DataType, table: str) -> Column:
    """The canonical value of column ``c``: NaN becomes null, bad numbers null, survey types lower case."""
    raw = _col(c.name)
    if c.kind in ("float", "int"):
        number = F.nanvl(raw.try_cast("double"), F.lit(None).cast("double"))
        return number if c.kind == "float" else number.try_cast("bigint")
    if c.kind == "bool":
        return _as_bool(c.name, dtype)
    if table == "surveys" and c.name == "survey":
        return F.lower(_strip(raw))
    return raw.cast(_SPARK_TYPES[c.kind])


def _expressions(spec: TableSpec, df: DataFrame) -> dict[str, Column]:
    types = {f.name: f.dataType for f in df.schema.fields}
    return {c.name: _canonical(c, types[c.name], spec.name) for c in spec.columns if c.name in types}


def canonical_frame(table: str, df: DataFrame) -> DataFrame:
    """Canonical types without row checks, for frames already validated (e.g. by ``churnml.io``).

    Columns in contract order, then the extra columns unchanged.
    """
    spec = spec_for(table)
    canon = _expressions(spec, df)
    extras = [_col(f.name) for f in df.schema.fields if f.name not in spec]
    return df.select(*[e.alias(n) for n, e in canon.items()], *extras)


# ------------------------------------------------------------------------- rules
def _context(spec: TableSpec, canon: dict[str, Column], skip: str) -> tuple[tuple[str, Column], ...]:
    """The column that identifies an example row: customer_id, else the time column."""
    for name in ("customer_id", spec.time_column):
        if name and name in canon and name != skip:
            return ((name, canon[name]),)
    return ()


def _column_rules(spec: TableSpec, df: DataFrame, canon: dict[str, Column]) -> list[_Rule]:
    types = {f.name: f.dataType for f in df.schema.fields}
    rules = []
    for c in (c for c in spec.columns if c.name in canon):
        missing = _missing(c.name, types[c.name])
        context = _context(spec, canon, c.name)
        shown = (*context, (c.name, _col(c.name)))
        if c.kind in ("float", "int"):
            number = _col(c.name).try_cast("double")
            finite = F.when(number.isNull(), False).otherwise(~F.isnan(number) & (F.abs(number) != float("inf")))
            rules.append(_Rule(c.name, ("non-numeric value", "non-numeric values"),
                               "write plain numbers ('12.50': a dot for decimals, no currency sign or thousands "
                               "separator)", ~finite & ~missing, shown))
        if c.kind == "bool" and not isinstance(types[c.name], T.BooleanType):
            rules.append(_Rule(c.name, ("value that is not true/false", "values that are not true/false"),
                               "write true/false, yes/no or 1/0", canon[c.name].isNull() & ~missing, shown))
        if not c.nullable:
            noun = "customer id" if c.kind == "id" else f"{c.name} value"
            rules.append(_Rule(c.name, (f"null {noun}", f"null {noun}s"),
                               f"fill in {c.name} or remove those rows (it is required in every row)", missing,
                               context))
    return rules


def _table_rules(spec: TableSpec, canon: dict[str, Column], returns: Policy,
                 end: pd.Timestamp | None) -> list[_Rule]:
    rules = []
    ctx = _context(spec, canon, "")
    if spec.name == "transactions" and "amount" in canon and returns != "keep":
        rules.append(_Rule("amount", ("negative amount", "negative amounts"),
                           "if they are returns, set data.returns to 'keep' (they reduce spend) or 'drop'; "
                           "otherwise correct them", canon["amount"] < 0, (*ctx, ("amount", canon["amount"])),
                           returns=True))
    if spec.name == "surveys" and {"survey", "score"} <= canon.keys():
        survey, score = canon["survey"], canon["score"]
        rules.append(_Rule("survey", ("unknown survey type", "unknown survey types"),
                           f"use one of {sorted(SCORE_SCALES)} (scales {scale_text()})",
                           survey.isNotNull() & ~survey.isin(list(SCORE_SCALES)), (*ctx, ("survey", survey))))
        low, high = (F.try_element_at(F.create_map(*[F.lit(x) for k, v in SCORE_SCALES.items()
                                                     for x in (k, float(v[i]))]), survey) for i in (0, 1))
        rules.append(_Rule("score", ("score outside its survey's scale", "scores outside their survey's scale"),
                           f"keep each score within its scale ({scale_text()}) or fix the survey type",
                           (score < low) | (score > high), (*ctx, ("survey", survey), ("score", score))))
    pairs = {"subscriptions": ("start", "end"), "tickets": ("opened_at", "resolved_at")}
    first, last = pairs.get(spec.name, ("", ""))
    if first in canon and last in canon:
        rules.append(_Rule(last, (f"{last} before {first}", f"{last}s before {first}"),
                           f"correct the dates: {last} must be at or after {first}", canon[last] < canon[first],
                           (*ctx, (first, canon[first]), (last, canon[last]))))
    if end is not None and spec.time_column in canon:
        name, time = spec.time_column, canon[spec.time_column]
        rules.append(_Rule(name, ("row dated at or after data.end", "rows dated at or after data.end"),
                           f"data.end ({end}, UTC) is exclusive: remove those rows or set data.end later",
                           time >= F.lit(str(end)).cast("timestamp_ntz"),
                           (*_context(spec, canon, name), (name, time))))
    return rules


# ---------------------------------------------------------------------- counting
def _duplicate_key(spec: TableSpec, df: DataFrame, canon: dict[str, Column]) -> list[Column]:
    """``TableSpec.key`` where the table has one, else every column (canonical values)."""
    if spec.key:
        return [canon[k].alias(k) for k in spec.key if k in canon]
    return [canon[f.name].alias(f.name) if f.name in canon else _col(f.name) for f in df.schema.fields]


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


def _problem(table: str, column: str | None, noun: tuple[str, str], n: int, shown: list[str],
             source: str | None, fix: str) -> str:
    where = f"{table}.{column}" if column else f"{table} (whole rows)"
    of = f" in {source}" if source else ""
    more = f" and {n - len(shown):,} more" if n > len(shown) else ""
    ex = f" (e.g. {', '.join(shown)}{more})" if shown else ""
    return f"{where}: {n:,} {noun[0] if n == 1 else noun[1]}{of}{ex}; fix: {fix}"


def _examples(df: DataFrame, rules: dict[int, _Rule]) -> dict[int, list[str]]:
    """Up to ``SHOWN_ROWS`` example rows per failing rule: one Spark job that stops at the first
    ``_SCANNED`` offending rows, then one ``take`` for each rule those rows do not show."""
    flags = {i: F.coalesce(r.test, F.lit(False)) for i, r in rules.items()}
    cols = [F.struct(*[e.alias(f"c{j}") for j, (_, e) in enumerate(r.shown)]).alias(f"s{i}")
            for i, r in rules.items() if r.shown]
    rows = df.where(reduce(operator.or_, flags.values())).select(
        *[f.alias(f"f{i}") for i, f in flags.items()], *cols).limit(_SCANNED).collect() if cols else []
    out = {}
    for i, rule in rules.items():
        names = [name for name, _ in rule.shown]
        found = [r[f"s{i}"] for r in rows if r[f"f{i}"]][:SHOWN_ROWS]
        if names and not found:
            found = df.where(flags[i]).select(*[e for _, e in rule.shown]).take(SHOWN_ROWS)
        out[i] = _rows_text(found, names) if names else []
    return out


def _duplicate_problem(spec: TableSpec, repeats: DataFrame, n: int, source: str | None) -> str:
    names = list(spec.key or [c for c in ("customer_id", spec.time_column) if c and c in repeats.columns])
    # sorted: after the shuffle of the grouping, row order depends on the partitions
    rows = repeats.where(F.col(_N) > 1).select(*[_col(c) for c in names], _N).orderBy(*names).take(SHOWN_ROWS)
    column = ", ".join(spec.key) if spec.key else None
    fix = ("each customer may appear once: merge or remove the repeats" if spec.key else
           "if they are real repeat events, set data.duplicates to 'keep'; else 'drop'")
    return _problem(spec.name, column, ("duplicate row", "duplicate rows"), n,
                    _rows_text(rows, [*names, "copies"]), source, fix)


# ---------------------------------------------------------------------- dropping
def _drop(out: DataFrame, spec: TableSpec, of: str, negatives: int, duplicates: int) -> DataFrame:
    if negatives:
        log.warning("%s%s: dropped %d %s", spec.name, of, negatives, "negative amounts (data.returns = drop)")
        out = out.where(~F.coalesce(F.col("amount") < 0, F.lit(False)))
    if duplicates:
        log.warning("%s%s: dropped %d %s", spec.name, of, duplicates, "duplicate rows (data.duplicates = drop)")
        key = list(spec.key or ())
        others = [c for c in out.columns if c not in key]
        if not key or not others:
            return out.dropDuplicates(key or None)
        first = out.groupBy(*[_col(k) for k in key]).agg(F.min(F.struct(*[_col(c) for c in others])).alias(_N))
        out = first.select(*[_col(k) for k in key], *[F.col(_N)[c].alias(c) for c in others]).select(*out.columns)
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
        rows sharing a key, ``drop`` keeps the one with the smallest values.
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
        ``returns``, ``duplicates`` or ``data_end`` is invalid.
    """
    spec = spec_for(table)
    check_options(returns, duplicates, "UTC")
    end = as_utc(data_end, "data.end")
    problems = schema_problems(table, df)
    if problems:
        raise SchemaError(problems, table)
    canon = _expressions(spec, df)
    rules = [*_column_rules(spec, df, canon), *_table_rules(spec, canon, returns, end)]
    negative = next((i for i, r in enumerate(rules) if r.returns), None)
    flags = [F.coalesce(r.test, F.lit(False)) for r in rules]
    group = _duplicate_key(spec, df, canon) if duplicates != "keep" else None
    counts = _count(df, flags, group)
    of = f" ({source})" if source else ""
    if counts["rows"] == 0:
        raise EmptyDataError(f"table '{table}'{of} has no rows; it needs at least one "
                             "(check the file, or leave the table out)")
    dropping = flags[negative] if negative is not None and returns == "drop" else None
    repeats = _repeats(df, group, dropping).persist() if group is not None and counts["suspects"] else None
    try:
        repeated, repeated_left = _duplicates(repeats) if repeats is not None else (0, 0)
        failing = {i: r for i, r in enumerate(rules) if counts[f"r{i}"] and (i != negative or returns == "error")}
        shown = _examples(df, failing) if failing else {}
        problems = [_problem(table, r.column, r.noun, counts[f"r{i}"], shown[i], source, r.fix)
                    for i, r in failing.items()]
        if repeats is not None and repeated and duplicates == "error":
            problems.append(_duplicate_problem(spec, repeats, repeated, source))
    finally:
        if repeats is not None:
            repeats.unpersist()
    if problems:
        raise SchemaError(problems, table)
    negatives = counts[f"r{negative}"] if dropping is not None else 0
    left = counts["rows"] - negatives - (repeated_left if duplicates == "drop" else 0)
    if left == 0:
        raise EmptyDataError(f"table '{table}'{of} has no rows left after dropping returns and duplicates")
    log.info("validated %s%s: %d rows, %d columns", table, of, left, len(df.columns))
    return _drop(canonical_frame(table, df), spec, of, negatives, repeated if duplicates == "drop" else 0)
