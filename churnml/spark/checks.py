"""The row rules as Spark expressions: which rows break which rule (no Spark job).

The Spark twin of the checks in :mod:`churnml.coercion` and
:mod:`churnml.validation`: each :class:`Check` pairs a rule of the catalogue
in :mod:`churnml.coercion` (its noun and fix) with a boolean Spark test over
the canonical columns of :func:`churnml.spark.canonical.canonical_columns`
and the columns an example row shows. :mod:`churnml.spark.validate` counts
and reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from churnml.coercion import (
    DATE_ORDER,
    NEGATIVE_AMOUNT,
    NON_NUMERIC,
    NOT_BOOL,
    SCORE_OUTSIDE_SCALE,
    UNKNOWN_SURVEY,
    Policy,
    Rule,
    data_end_rule,
    null_rule,
    order_rule,
)
from churnml.rules import (
    EPOCH,
    EPOCH_ALONE,
    FAR_TIME,
    HUGE,
    HUGE_NUMBER,
    NON_NEGATIVE,
    OPEN_END,
    SCORE_NOT_WHOLE,
    SUMMED_EXACTLY,
    TIME_RANGE,
    epoch_rule,
    negative_rule,
)
from churnml.schema import SCORE_SCALES, TableSpec
from churnml.spark.canonical import column, missing, number

__all__ = ["Check", "duplicate_key", "near_epoch", "row_checks"]


@dataclass(frozen=True)
class Check:
    """One row rule on Spark: the column it names, its wording, its test (never null) and the
    columns its example rows show. ``placeholders``: None for a rule that always applies; True (False)
    for one that applies only when the table's times at the epoch are (are not) placeholders, which
    the count of :func:`near_epoch` settles after the counting job."""

    column: str | None
    rule: Rule
    test: Column
    shown: tuple[tuple[str, Column], ...]
    placeholders: bool | None = None


def _context(spec: TableSpec, canon: dict[str, Column], skip: str) -> tuple[tuple[str, Column], ...]:
    """The column that identifies an example row: customer_id, else the time column."""
    for name in ("customer_id", spec.time_column):
        if name and name in canon and name != skip:
            return ((name, canon[name]),)
    return ()


def row_checks(spec: TableSpec, df: DataFrame, canon: dict[str, Column], returns: Policy,
               end: pd.Timestamp | None, tz: str = "UTC", moments: dict[str, Column] | None = None) -> list[Check]:
    """Every row rule of table ``spec`` on ``df`` (``canon``: its :func:`canonical_columns`), in the
    order pandas reports them: per column (non-numeric, not true/false, null), then the table's
    rules (negative amounts, counted under every ``returns`` policy, survey types and scales, times at the
    epoch, ends before starts, rows at or after ``end``). ``moments``: :func:`~churnml.spark.canonical.instants`, which
    the order rule compares when both its columns have them (``end`` is a local time of ``tz``)."""
    return [*_column_checks(spec, df, canon), *_table_checks(spec, canon, returns, end, tz, moments or {})]


def _column_checks(spec: TableSpec, df: DataFrame, canon: dict[str, Column]) -> list[Check]:
    types = {f.name: f.dataType for f in df.schema.fields}
    checks = []
    for c in (c for c in spec.columns if c.name in canon):
        # text is stripped, blank = null (churnml.spark.canonical): a value of spaces is missing, as in pandas
        absent = canon[c.name].isNull() if c.kind in ("id", "str") else missing(c.name, types[c.name])
        context = _context(spec, canon, c.name)
        shown = (*context, (c.name, column(c.name)))
        if c.kind in ("float", "int"):
            value = number(c.name, types[c.name])
            finite = F.when(value.isNull(), False).otherwise(~F.isnan(value) & (F.abs(value) != float("inf")))
            checks.append(Check(c.name, NON_NUMERIC, ~finite & ~absent, shown))
        if c.kind == "bool" and not isinstance(types[c.name], T.BooleanType):
            checks.append(Check(c.name, NOT_BOOL, canon[c.name].isNull() & ~absent, shown))
        if not c.nullable:
            checks.append(Check(c.name, null_rule(c.name, c.kind), absent, context))
    return checks


def _table_checks(spec: TableSpec, canon: dict[str, Column], returns: Policy,
                  end: pd.Timestamp | None, tz: str, moments: dict[str, Column]) -> list[Check]:
    checks = []
    ctx = _context(spec, canon, "")
    if spec.name == "transactions" and "amount" in canon:  # counted under keep too (a table of returns only)
        checks.append(Check("amount", NEGATIVE_AMOUNT, canon["amount"] < 0, (*ctx, ("amount", canon["amount"]))))
    for name in NON_NEGATIVE.get(spec.name, {}):
        if name in canon:
            checks.append(Check(name, negative_rule(spec.name, name), canon[name] < 0, (*ctx, (name, canon[name]))))
    for name in (n for n in SUMMED_EXACTLY.get(spec.name, ()) if n in canon):
        value = canon[name]
        finite = ~F.isnan(value) & (F.abs(value) != F.lit(float("inf")))
        checks.append(Check(name, HUGE_NUMBER, finite & (F.abs(value) >= F.lit(HUGE)), (*ctx, (name, value))))
    if spec.name == "surveys" and {"survey", "score"} <= canon.keys():
        survey, score = canon["survey"], canon["score"]
        checks.append(Check("survey", UNKNOWN_SURVEY, survey.isNotNull() & ~survey.isin(list(SCORE_SCALES)),
                            (*ctx, ("survey", survey))))
        low, high = (F.try_element_at(F.create_map(*[F.lit(x) for k, v in SCORE_SCALES.items()
                                                     for x in (k, float(v[i]))]), survey) for i in (0, 1))
        checks.append(Check("score", SCORE_OUTSIDE_SCALE, (score < low) | (score > high),
                            (*ctx, ("survey", survey), ("score", score))))
        finite = ~F.isnan(score) & (F.abs(score) != F.lit(float("inf")))  # pmod, not floor: no 64-bit overflow
        checks.append(Check("score", SCORE_NOT_WHOLE, finite & (F.pmod(score, F.lit(1.0)) != 0),
                            (*ctx, ("survey", survey), ("score", score))))
    zero = _at_epoch(spec, canon, tz, moments)
    for c in (c for c in spec.columns if c.name in zero):  # refused only if no time of the table is near
        checks.append(Check(c.name, epoch_rule(c.nullable), zero[c.name],
                            (*_context(spec, canon, c.name), (c.name, canon[c.name])), placeholders=True))
    first, last = DATE_ORDER.get(spec.name, ("", ""))
    if first in canon and last in canon:
        at = moments if first in moments and last in moments else canon
        before, shown = at[last] < at[first], (*ctx, (first, canon[first]), (last, canon[last]))
        # a placeholder's rows are named as such, not again as out of order (as on the pandas path)
        checks.append(Check(last, order_rule(first, last), before & ~zero[first] & ~zero[last], shown, True))
        checks.append(Check(last, order_rule(first, last), before, shown, False))
    low, high = (F.lit(str(t)).cast("timestamp_ntz") for t in TIME_RANGE)
    for c in spec.columns:
        if c.kind in ("time", "date") and c.name in canon:
            time = canon[c.name].cast("timestamp_ntz")
            far = (time < low) if (spec.name, c.name) in OPEN_END else (time < low) | (time >= high)
            checks.append(Check(c.name, FAR_TIME, far, (*_context(spec, canon, c.name), (c.name, canon[c.name]))))
    if end is not None and spec.time_column in canon:
        name, time = spec.time_column, canon[spec.time_column]
        checks.append(Check(name, data_end_rule(end, tz), time >= F.lit(str(end)).cast("timestamp_ntz"),
                            (*_context(spec, canon, name), (name, time))))
    return checks


def _at_epoch(spec: TableSpec, canon: dict[str, Column], tz: str, moments: dict[str, Column]) -> dict[str, Column]:
    """Per time column, its rows at :data:`~churnml.rules.EPOCH` as an instant (UTC) or as a local time of
    ``tz``, as :func:`churnml.rules.epoch_times` takes them (never null)."""
    zero = F.lit(str(EPOCH)).cast("timestamp_ntz")
    out = {}
    for c in (c for c in spec.columns if c.kind in ("time", "date") and c.name in canon):
        local = canon[c.name].cast("timestamp_ntz")
        utc = moments.get(c.name, local if tz == "UTC" else F.to_utc_timestamp(local, tz).cast("timestamp_ntz"))
        out[c.name] = F.coalesce((utc == zero) | (local == zero), F.lit(False))
    return out


def near_epoch(spec: TableSpec, canon: dict[str, Column], tz: str = "UTC",
               moments: dict[str, Column] | None = None) -> Column:
    """The rows with a time within :data:`~churnml.rules.EPOCH_ALONE` of the epoch that is not at it (in any
    time column): when some row has one, the table's times at the epoch are real ones of a history around
    1970, not placeholders (:func:`churnml.rules.epoch_times`). Never null; ``F.lit(False)`` without times."""
    zero = _at_epoch(spec, canon, tz, moments or {})
    low, high = (F.lit(str(t)).cast("timestamp_ntz") for t in (EPOCH - EPOCH_ALONE, EPOCH + EPOCH_ALONE))
    near = F.lit(False)
    for name, at in zero.items():
        local = canon[name].cast("timestamp_ntz")
        near = near | F.coalesce((local > low) & (local < high) & ~at, F.lit(False))
    return near


def duplicate_key(spec: TableSpec, df: DataFrame, canon: dict[str, Column]) -> list[Column]:
    """``TableSpec.key`` where the table has one, else every column (``canon``: canonical values, or
    instants where :func:`~churnml.spark.canonical.instants` gives them)."""
    if spec.key:
        return [canon[k].alias(k) for k in spec.key if k in canon]
    return [canon[f.name].alias(f.name) if f.name in canon else column(f.name) for f in df.schema.fields]
