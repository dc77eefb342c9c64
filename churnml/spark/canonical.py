"""Canonical Spark columns: the schema checks and casts of :mod:`churnml.spark.validate`.

:func:`schema_problems` finds what the schema alone shows (doubled, missing
and mistyped columns, no Spark job); :func:`canonical_columns` gives the
canonical value of every contract column as a Spark expression (numbers as
double, NaN and unparseable numbers as null, flags from the words pandas
reads, survey types trimmed and lower case); :func:`canonical_frame` selects
them. :mod:`churnml.spark.validate` checks the rows of the same expressions.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from churnml.coercion import BOOL_WORDS, doubled_columns_text
from churnml.rules import missing_columns_text
from churnml.schema import ColumnSpec, TableSpec, spec_for

__all__ = ["as_text", "canonical_columns", "canonical_frame", "column", "id_key", "instants", "missing", "number",
           "schema_problems", "without_zeros"]

_SPARK_TYPES = {"id": "string", "str": "string", "time": "timestamp_ntz", "date": "date",
                "float": "double", "int": "bigint", "bool": "boolean"}
_TIME_SOURCES = (T.TimestampType, T.TimestampNTZType, T.DateType)


def column(name: str) -> Column:
    """The column ``name`` of a frame, quoted (names may hold dots or spaces)."""
    return F.col(f"`{name}`")


def schema_problems(table: str, df: DataFrame) -> list[str]:
    """Problems visible in the schema alone (no Spark job): doubled, missing and mistyped columns."""
    spec = spec_for(table)
    sensitive = df.sparkSession.conf.get("spark.sql.caseSensitive") == "true"
    names = [f.name if sensitive else f.name.lower() for f in df.schema.fields]
    doubled = sorted({f.name for f, n in zip(df.schema.fields, names, strict=True) if names.count(n) > 1})
    problems = [doubled_columns_text(table, doubled)] if doubled else []
    types = {f.name: f.dataType for f in df.schema.fields}
    absent = [c for c in spec.required if c not in types]
    if absent:
        problems.append(missing_columns_text(table, absent, [f.name for f in df.schema.fields], given="spark"))
    for c in spec.columns:
        if c.kind == "time" and c.name in types and not isinstance(types[c.name], _TIME_SOURCES):
            problems.append(f"table '{table}': column '{c.name}' must be a timestamp, found "
                            f"{types[c.name].simpleString()}; parse it first: F.to_timestamp for text "
                            "with an offset or a UTC/GMT word (instants, shown as data.timezone's "
                            "times), F.to_timestamp_ntz for text without a zone (local times of "
                            "data.timezone; F.to_timestamp would take them as UTC), or read the table "
                            "with churnml.io.read_table, which reads both, and write it with "
                            "churnml.io.write_frame")
    return problems


def missing(name: str, dtype: T.DataType) -> Column:
    """Null, ``''`` in text, NaN in floating point: what pandas' ``missing_mask`` calls missing."""
    c = column(name)
    if isinstance(dtype, T.StringType):
        return c.isNull() | (c == "")
    if isinstance(dtype, T.FloatType | T.DoubleType):
        return c.isNull() | F.isnan(c)
    return c.isNull()


def stripped(text: Column) -> Column:
    """The id rule of :func:`churnml.ids.canonical_ids` for text: stripped, blank = null."""
    bare = _strip(text)
    return F.when(bare != "", bare)


def without_zeros(ids: Column) -> Column:
    """Ids without their leading zeros (``str.lstrip("0")``): ``07592`` as ``7592``."""
    return F.regexp_replace(ids, "^0+", "")


def id_key(ids: Column) -> Column:
    """Ids as the leading-zeros and case hints compare them (``churnml.io._id_key``): without leading
    zeros, in lower case (``07592`` and ``7592``, ``k90001`` and ``K90001`` are one key)."""
    return F.lower(without_zeros(ids))


def _strip(c: Column) -> Column:
    """Text without leading and trailing white space (Unicode, as ``str.strip``)."""
    return F.regexp_replace(c.cast("string"), _SPACE, "")


# Java's Unicode \s lacks the separators U+001C-U+001F that Python's str.strip removes.
_SPACE = r"(?U)^[\s\x{1c}-\x{1f}]+|[\s\x{1c}-\x{1f}]+$"


def _as_bool(name: str, dtype: T.DataType) -> Column:
    if isinstance(dtype, T.BooleanType):
        return column(name)
    words = F.create_map(*[F.lit(x) for pair in BOOL_WORDS.items() for x in pair])
    return F.try_element_at(words, F.lower(_strip(column(name))))


#: Java number syntax pandas does not read: a type suffix after the digits ('1d', '2f', '12.5D'),
#: or a hexadecimal float ('0x1p4').
_JAVA_SUFFIX = r"(?i)[0-9.][df]\s*$|^\s*[+-]?0x"


def number(name: str, dtype: T.DataType) -> Column:
    """Column ``name`` as double; text that is not a number pandas reads becomes null.

    Spark's cast follows Java, which also reads a type suffix (``'1d'``,
    ``'2f'``) and hexadecimal floats (``'0x1p4'``); those are refused here, as
    ``pandas.to_numeric`` refuses them.
    NaN and infinities stay (the row checks report them as not finite).
    """
    raw = column(name)
    if isinstance(dtype, T.StringType):
        return F.when(~raw.rlike(_JAVA_SUFFIX), raw.try_cast("double"))
    return raw.try_cast("double")


def as_text(raw: Column, dtype: T.DataType) -> Column:
    """Ids and text as strings; a whole float (an id stored as a number) without ``.0``, as pandas writes
    a column of whole floats (a column mixing whole and fractional floats keeps ``.0`` in pandas, not here)."""
    if isinstance(dtype, T.FloatType | T.DoubleType):
        whole = (raw % F.lit(1.0)) == 0  # false for NaN and infinities; FLOOR would overflow a bigint
        # beyond 64-bit integers pandas writes the float in exponent form, '1e+20' where Java writes '1.0E20'
        big = F.regexp_replace(F.regexp_replace(raw.cast("string"), r"\.0E", "E"), "E", "e+")
        return (F.when(F.isnan(raw), F.lit(None).cast("string"))  # missing, as pandas reads NaN (not 'NaN')
                .when(whole & (F.abs(raw) < F.lit(2.0**63)), raw.cast("bigint").cast("string"))
                .when(whole, big)
                .otherwise(raw.cast("string")))
    return raw.cast("string")


def _canonical(c: ColumnSpec, dtype: T.DataType, table: str, tz: str = "UTC") -> Column:
    """The canonical value of column ``c``: NaN becomes null, bad numbers null, survey types lower case.

    A time column of instants (``TIMESTAMP``: Parquet written from zoned times) becomes the
    wall-clock time of zone ``tz``; one without a zone (``TIMESTAMP_NTZ``) or a date is taken as
    that zone's local time already, as pandas' path reads naive times.
    """
    raw = column(c.name)
    if c.kind in ("float", "int"):
        value = F.nanvl(number(c.name, dtype), F.lit(None).cast("double"))
        return value if c.kind == "float" else value.try_cast("bigint")
    if c.kind == "bool":
        return _as_bool(c.name, dtype)
    if c.kind in ("id", "str"):  # the id rule of churnml.ids, for all text: stripped, blank = null
        text = stripped(as_text(raw, dtype))
        return F.lower(text) if table == "surveys" and c.name == "survey" else text
    if c.kind == "time" and tz != "UTC" and isinstance(dtype, T.TimestampType):
        return F.from_utc_timestamp(raw, tz).cast("timestamp_ntz")  # the session is UTC (check_session)
    return raw.cast(_SPARK_TYPES[c.kind])


def canonical_columns(spec: TableSpec, df: DataFrame, tz: str = "UTC") -> dict[str, Column]:
    """The canonical value of each contract column present in ``df``, in contract order (times as
    wall-clock times of zone ``tz``, see :func:`_canonical`)."""
    types = {f.name: f.dataType for f in df.schema.fields}
    return {c.name: _canonical(c, types[c.name], spec.name, tz) for c in spec.columns if c.name in types}


def instants(spec: TableSpec, df: DataFrame, tz: str) -> dict[str, Column]:
    """The time columns whose instants differ from their local times' order: zoned ``TIMESTAMP``
    columns when ``tz`` is not UTC, as UTC wall-clock times (one per instant; the session is UTC).

    Rules comparing two times and the duplicate key use them, so that two instants of a
    daylight-saving overlap, which show the same local time, stay two, as on the pandas path.
    """
    if tz == "UTC":
        return {}
    types = {f.name: f.dataType for f in df.schema.fields}
    return {c.name: column(c.name).cast("timestamp_ntz") for c in spec.columns
            if c.kind == "time" and isinstance(types.get(c.name), T.TimestampType)}


def canonical_frame(table: str, df: DataFrame, tz: str = "UTC") -> DataFrame:
    """Canonical types without row checks, for frames already validated (e.g. by ``churnml.io``).

    Columns in contract order, then the extra columns unchanged; ``tz`` as in
    :func:`canonical_columns` (frames from ``churnml.io`` are local times already: keep UTC).
    """
    spec = spec_for(table)
    canon = canonical_columns(spec, df, tz)
    extras = [column(f.name) for f in df.schema.fields if f.name not in spec]
    return df.select(*[e.alias(n) for n, e in canon.items()], *extras)
