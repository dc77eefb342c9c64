"""Canonical Spark tables: read, map, cast; pandas <-> Spark through Arrow.

Time columns become ``TIMESTAMP_NTZ`` (wall-clock times of ``data.timezone``, like DuckDB's TIMESTAMP),
ids strings, numbers doubles. Parquet and Spark DataFrames are validated row
by row under ``data.returns``, ``data.duplicates`` and ``data.end``, with the
rules of :func:`churnml.validation.validate_table`
(:mod:`churnml.spark.validate`); pandas frames are taken as canonical (the
output of :mod:`churnml.io`) and only cast.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from churnml.config import Config
from churnml.config_data import TableSource
from churnml.errors import ConfigError, EmptyDataError, SchemaError, raise_collected
from churnml.io import (
    Tables,
    check_mapped_present,
    check_mapping,
    file_not_found_text,
    load_tables,
    read_file_tables,
    unmatched_ids_text,
)
from churnml.io import warn_id_spellings as warn_read_id_spellings
from churnml.io import warn_unmatched_ids as warn_read_unmatched_ids
from churnml.parquet_files import check_same_schema, folder_schemas
from churnml.recode import check_present, check_values, values_key
from churnml.rules import INVISIBLE, SHOWN_TWINS, SPELLED_IDS, case_twins_text, invisible_ids_text
from churnml.schema import spec_for
from churnml.sources import check_frame_as_read
from churnml.spark.canonical import id_key, stripped, without_zeros
from churnml.spark.session import check_session
from churnml.spark.validate import Policy, canonical_frame, schema_problems, validate_spark_table

__all__ = ["SparkTables", "from_pandas", "spark_tables", "tables_from_config", "time_range", "to_pandas",
           "warn_id_spellings", "warn_unmatched_ids"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SparkTables:
    """The canonical tables features and labels read, as Spark DataFrames."""

    transactions: DataFrame
    events: DataFrame | None = None
    subscriptions: DataFrame | None = None
    surveys: DataFrame | None = None
    tickets: DataFrame | None = None
    customers: DataFrame | None = None

    def present(self) -> list[str]:
        """Names of the tables given, ``transactions`` first."""
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


#: From this many rows a pandas table handed to Spark gets a warning: it is held in the driver's heap. 100k
#: synthetic customers from memory (1.6M transactions, 5.0M events) trained in a 4g heap (README.md, --spark-memory).
IN_MEMORY_WARN_ROWS = 10_000_000


def spark_tables(spark: SparkSession, sources: Mapping[str, DataFrame | str | Path | pd.DataFrame],
                 columns: Mapping[str, Mapping[str, str]] | None = None, *, returns: Policy = "error",
                 duplicates: Policy = "error", data_end: dt.datetime | str | None = None,
                 timezone: str = "UTC", values: Mapping[str, Mapping[str, Mapping[str, object]]] | None = None,
                 ) -> SparkTables:
    """Canonical Spark tables from Spark DataFrames, Parquet paths or pandas frames.

    Spark DataFrames and Parquet are validated row by row
    (:func:`~churnml.spark.validate.validate_spark_table`: one Spark job per
    table, and a few more to show examples when a rule fails); pandas frames
    are taken as canonical (the output of :mod:`churnml.io`), checked as the
    DuckDB path checks a frame (:func:`churnml.sources.check_frame_as_read`) and cast.

    Parameters
    ----------
    sources : mapping of table name to source
        ``transactions`` is required; also ``events``, ``subscriptions``,
        ``surveys``, ``tickets``, ``customers``. A ``str`` or ``Path`` is a
        Parquet file or folder; a catalog table is ``spark.table("db.name")``.
    columns : mapping, optional
        Per table, canonical name -> the source's column name.
    values : mapping, optional
        Per table, the value map of its text columns (``data.tables.<table>.values``,
        :mod:`churnml.recode`): column -> {the source's value: the value to read}; not for a pandas frame,
        which is canonical (give the map to :func:`churnml.io.read_table`).
    returns, duplicates : {'error', 'keep', 'drop'}
        ``data.returns`` and ``data.duplicates`` (see :func:`churnml.validation.validate_table`).
    data_end : date-like, optional
        ``data.end``: rows at or after it are an error.
    timezone : str
        ``data.timezone``, the business's zone: a Spark DataFrame's or Parquet's
        zoned times (``TIMESTAMP``) become its wall-clock times, and times without
        a zone are taken as its local times (pandas frames from ``churnml.io``
        are local times already).

    Raises
    ------
    SchemaError
        Every missing required column and every column of the wrong type of
        every table; else every row problem of every table.
    EmptyDataError
        A table has no rows (or none left after dropping).
    """
    check_session(spark)
    known = [f.name for f in fields(SparkTables)]
    unknown = sorted(set(sources) - set(known))
    if unknown or "transactions" not in sources:
        raise ConfigError(f"Spark tables: got {sorted(sources)}; expected 'transactions' and any of {known}")
    maps = {name: dict((columns or {}).get(name, {})) for name in sources}
    for name, mapping in maps.items():
        check_mapping(spec_for(name), mapping)
    recodes = {name: check_values(spec_for(name), (values or {}).get(name, {})) for name in sources}
    canonical = sorted(n for n, m in recodes.items() if m and isinstance(sources[n], pd.DataFrame))
    if canonical:
        raise ConfigError(f"spark_tables: a value map for the pandas frame(s) {canonical}, which are canonical; "
                          "give the map to churnml.io.read_table (values=) when reading them")
    raw = {name: _as_spark(spark, src, name, maps[name]) for name, src in sources.items()}
    mapped: list[SchemaError | EmptyDataError] = []
    for name, frame in raw.items():
        try:
            where = _source_name(sources[name])
            check_mapped_present(name, maps[name], frame.columns, where or "the DataFrame",
                                 None if where else "spark_tables' columns=")
        except SchemaError as exc:
            mapped.append(exc)
    raise_collected(mapped)
    renamed = {name: _recoded(name, frame.withColumnsRenamed({user: canon for canon, user in maps[name].items()}),
                              recodes[name]) for name, frame in raw.items()}
    problems = [p for name, frame in renamed.items() for p in schema_problems(name, frame)]
    if problems:
        raise SchemaError(problems)
    frames: dict[str, DataFrame] = {}
    errors: list[SchemaError | EmptyDataError] = []
    for name, frame in renamed.items():
        src = sources[name]
        if isinstance(src, pd.DataFrame):
            try:  # as the DuckDB path checks a frame handed to it: the contract's columns, types and values
                check_frame_as_read(name, src.rename(columns={u: c for c, u in (columns or {}).get(name, {}).items()}))
            except SchemaError as exc:
                errors.append(exc)
                continue
            if len(src) >= IN_MEMORY_WARN_ROWS:
                log.warning("table '%s' (%s rows) is handed to Spark from memory, so it lives in the driver's heap "
                            "with everything Spark does there; for tables this size give Spark Parquet paths to "
                            "read (or raise --spark-memory)", name, f"{len(src):,}")
            frames[name] = canonical_frame(name, frame)
            continue
        try:
            frames[name] = validate_spark_table(name, frame, returns=returns, duplicates=duplicates,
                                                data_end=data_end, timezone=timezone, source=_source_name(src))
        except (SchemaError, EmptyDataError) as exc:
            errors.append(exc)
    raise_collected(errors)
    if any(not isinstance(src, pd.DataFrame) for src in sources.values()):  # frames come checked by churnml.io
        warn_id_spellings({n: f for n, f in frames.items() if not isinstance(sources[n], pd.DataFrame)})
        warn_unmatched_ids(frames)
    return SparkTables(**frames)


def warn_id_spellings(frames: Mapping[str, DataFrame]) -> list[str]:
    """Spark's :func:`churnml.io.warn_id_spellings`: ids equal but for case or for leading zeros, ids with
    invisible characters.

    Per table of :data:`~churnml.rules.SPELLED_IDS`, its distinct ids (kept in memory while they are looked
    at), counted where they match :data:`~churnml.rules.INVISIBLE`, grouped by their ASCII lower case, and
    those of digits grouped by the id without leading zeros; examples cost a short job more
    only when there are any (14 s for 53M transactions on local[2] before the zeros were looked at, of which
    the distinct ids alone take 6-7 s; measured). Same wording as DuckDB's path; returns the warnings.
    """
    warned = []
    for name in SPELLED_IDS:
        frame = frames.get(name)
        if frame is None or "customer_id" not in frame.columns:
            continue
        ids = frame.select("customer_id").where(F.col("customer_id").isNotNull()).distinct().persist()
        try:
            texts = _spellings(name, ids)
        finally:
            ids.unpersist()
        for text in texts:
            log.warning("%s", text)
        warned += texts
    return warned


def _spellings(name: str, ids: DataFrame) -> list[str]:
    """The warnings of :func:`warn_id_spellings` about table ``name``'s distinct ``ids``."""
    texts = []
    hidden = int(ids.where(F.col("customer_id").rlike(INVISIBLE)).count())
    digits = ids.where(F.col("customer_id").rlike("^[0-9]+$"))  # zeros a spreadsheet drops: ids of digits only
    for some, key, differ in ((ids, _ascii_lower(F.col("customer_id")), "upper and lower case"),
                              (digits, without_zeros(F.col("customer_id")), "leading zeros")):
        keyed = some.groupBy(key.alias("k")).agg(F.count(F.lit(1)).alias("n"))
        row = keyed.agg(F.sum(F.when(F.col("n") > 1, F.col("n"))).alias("twins")).first()
        twins = int(row["twins"] or 0) if row is not None else 0
        if twins:
            shown = (some.groupBy(key.alias("k")).agg(F.sort_array(F.collect_list("customer_id")).alias("ids"))
                     .where(F.size("ids") > 1).orderBy("k").limit(SHOWN_TWINS).collect())
            texts.append(case_twins_text(name, twins, [list(r["ids"]) for r in shown], differ))
    if hidden:
        seen = ids.where(F.col("customer_id").rlike(INVISIBLE)).orderBy("customer_id").limit(SHOWN_TWINS).collect()
        texts.append(invisible_ids_text(name, hidden, [r[0] for r in seen]))
    return texts


def _ascii_lower(c: Column) -> Column:
    """``c`` with its ASCII capital letters in lower case (as Arrow's ``ascii_lower``; Spark's ``lower`` folds
    other letters too, and not as Arrow does)."""
    return F.translate(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def warn_unmatched_ids(frames: Mapping[str, DataFrame]) -> list[str]:
    """Spark's :func:`churnml.io.warn_unmatched_ids`: warn about a table whose ids are not the transactions'.

    The distinct ids among each table's first rows (up to ``10 * ID_SAMPLE`` rows, at most
    ``ID_SAMPLE`` ids: a short job per table that stops early) are looked up in the transactions,
    one job per table, and once more with leading zeros and case ignored when fewer than half are
    found. Same rules and wording as DuckDB's path; returns the warnings.
    """
    samples: dict[str, tuple[list[str], bool]] = {}
    for name, frame in frames.items():
        if name == "transactions" or "customer_id" not in frame.columns:
            continue
        rows = [r[0] for r in frame.select("customer_id").where(F.col("customer_id").isNotNull())
                .limit(10 * ID_SAMPLE).collect()]
        ids = list(dict.fromkeys(rows))[:ID_SAMPLE]
        if ids:
            samples[name] = (ids, len(rows) < 10 * ID_SAMPLE and len(ids) < ID_SAMPLE)
    if not samples:
        return []
    tx = frames["transactions"].select("customer_id")
    shares = {name: _found_share(tx, ids, F.col("customer_id"), lambda i: i) for name, (ids, _) in samples.items()}
    low = [name for name, share in shares.items() if share < 0.5]
    key = id_key(F.col("customer_id"))
    fixed = {name: _found_share(tx, samples[name][0], key, lambda i: i.lstrip("0").lower()) for name in low}
    shown = [r[0] for r in tx.limit(3).collect()] if low else []
    warned = []
    for name in low:
        ids, whole = samples[name]
        text = unmatched_ids_text(name, ids, shares[name], fixed[name], shown, whole=whole)
        if text:
            log.warning("%s", text)
            warned.append(text)
    return warned


#: Most distinct ids of a table :func:`warn_unmatched_ids` looks up in the transactions.
ID_SAMPLE = 10_000


def _found_share(tx: DataFrame, ids: list[str], key: Column, spell: Callable[[str], str]) -> float:
    """The share of the distinct ``spell(id)`` of ``ids`` found among ``key`` of the transactions (one job)."""
    wanted = sorted({spell(i) for i in ids})
    spark = tx.sparkSession
    small = spark.createDataFrame([(k,) for k in wanted], "k string")
    found = tx.select(key.alias("k")).join(F.broadcast(small), "k", "left_semi").distinct().count()
    return found / len(wanted)


def _source_name(source: DataFrame | str | Path | pd.DataFrame) -> str | None:
    """A path's name for messages; None for a frame."""
    return None if isinstance(source, DataFrame | pd.DataFrame) else str(source)


def _as_spark(spark: SparkSession, source: DataFrame | str | Path | pd.DataFrame, table: str,
              mapping: Mapping[str, str] | None = None) -> DataFrame:
    if isinstance(source, DataFrame):
        return source
    if isinstance(source, pd.DataFrame):
        return from_pandas(spark, source)
    if not Path(source).exists():
        raise ConfigError(file_not_found_text(table, Path(source)))
    path = Path(source).absolute()  # Spark resolves a relative path from where it started, not this folder
    nanos = _nanosecond_times(path, table, mapping or {})  # a folder's files checked there, one line if refused
    if nanos:
        return _read_nanoseconds(spark, path, nanos, table)
    try:
        return spark.read.parquet(str(path))
    except AnalysisException as exc:
        if "PARQUET_TYPE_ILLEGAL" not in str(exc) or "NANOS" not in str(exc):
            raise
        raise SchemaError(
            f"Spark cannot read the Parquet file(s) {str(path)!r}: a time column is stored in nanoseconds "
            "(INT64 TIMESTAMP(NANOS), as pandas writes datetime64[ns] frames) in a file whose schema churnml did "
            "not see (files with different schemas?), and Spark has no nanosecond times. Fix: write the files with "
            "microsecond times (pandas: frame.to_parquet(path, coerce_timestamps='us', "
            "allow_truncated_timestamps=True); churnml.io.write_frame does so), or use the DuckDB engine, which "
            "reads them", table=table) from None


_NANOS_AS_LONG = "spark.sql.legacy.parquet.nanosAsLong"


def _nanosecond_times(path: Path, table: str, mapping: Mapping[str, str] | None = None) -> dict[str, bool]:
    """The nanosecond time columns of the Parquet file(s) at ``path`` -> whether each has a zone (is an instant).

    Read from the footers by pyarrow, of every file of a folder (:func:`churnml.parquet_files.folder_schemas`:
    a folder without Parquet files, or with a file that is not one, is refused); of one file, empty when pyarrow
    cannot read it. A column stored in nanoseconds in one file and in another unit in another is refused: Spark
    reads a folder with one schema, and the other files' times would be read as the wrong unit.
    """
    import pyarrow.dataset as ds

    if path.is_dir():
        schemas = folder_schemas(path, table)
    else:
        try:
            schemas = [(f.path, f.physical_schema) for f in ds.dataset(str(path), format="parquet").get_fragments()]
        except (OSError, ValueError, pa.ArrowException):
            return {}
    spec = spec_for(table)
    check_same_schema(path, schemas, table, {(mapping or {}).get(c.name, c.name) for c in spec.columns})
    units: dict[str, dict[str, list[str]]] = {}  # column -> unit -> files
    zoned: dict[str, bool] = {}
    for file, schema in schemas:
        for f in schema:
            if pa.types.is_timestamp(f.type):
                units.setdefault(f.name, {}).setdefault(f.type.unit, []).append(file)
                zoned[f.name] = f.type.tz is not None
    mixed = {name: by for name, by in units.items() if "ns" in by and len(by) > 1}
    if mixed:
        name, by = sorted(mixed.items())[0]
        where = "; ".join(f"{unit}: {files[0]}" + (f" and {len(files) - 1} more" if len(files) > 1 else "")
                          for unit, files in sorted(by.items()))
        raise SchemaError(
            f"the Parquet files of {str(path)!r} store the time column {name!r} in different units ({where}), "
            "which Spark cannot read as one table. Fix: write every file with microsecond times (pandas: "
            "frame.to_parquet(path, coerce_timestamps='us', allow_truncated_timestamps=True); churnml.io.write_frame "
            "does so)", table=table)
    return {name: zoned[name] for name, by in units.items() if set(by) == {"ns"}}


#: One read with spark.sql.legacy.parquet.nanosAsLong at a time (it is a setting of the whole session).
_NANOS_LOCK = threading.Lock()


def _read_nanoseconds(spark: SparkSession, path: Path, nanos: dict[str, bool], table: str) -> DataFrame:
    """Parquet with nanosecond times, read by Spark: the times as microseconds (as churnml's pandas reader has them).

    Spark has no nanosecond time type: with ``spark.sql.legacy.parquet.nanosAsLong`` (set for the read only) it
    reads such a column as its INT64 count of nanoseconds since 1970-01-01, which is cut down here to whole
    microseconds (towards the past, as pandas does; DuckDB cuts towards 1970, which differs only before 1970)
    and made a time again: a zoned column (``isAdjustedToUTC``)
    an instant (``TIMESTAMP``), a column without a zone its wall-clock time (``TIMESTAMP_NTZ``), whatever the
    session's zone. The frame keeps the file and row of each row (``_metadata``), for the validation's messages.
    """
    with _NANOS_LOCK:
        before = spark.conf.get(_NANOS_AS_LONG, None)
        spark.conf.set(_NANOS_AS_LONG, "true")
        try:
            frame = spark.read.parquet(str(path))
        finally:
            if before is None:
                spark.conf.unset(_NANOS_AS_LONG)
            else:
                spark.conf.set(_NANOS_AS_LONG, before)
    times: dict[str, Column] = {}
    for name, zoned in nanos.items():
        if name not in frame.columns or not isinstance(frame.schema[name].dataType, T.LongType):
            continue
        q = f"`{name.replace('`', '``')}`"
        micros = f"({q} - pmod({q}, 1000)) div 1000"
        times[name] = F.timestamp_micros(F.expr(micros)) if zoned else F.expr(
            f"timestampadd(MICROSECOND, {micros}, TIMESTAMP_NTZ'1970-01-01 00:00:00')")
    log.info("table '%s': Spark read the nanosecond time column(s) %s of %s as microseconds "
             "(digits below a microsecond dropped)", table, ", ".join(sorted(times)), str(path))
    return frame.withColumns(times)


#: Frames of at least this many rows go to Spark as an RDD of Arrow batches, not a ``LocalRelation``.
LOCAL_RELATION_MAX_ROWS = 10_000

_ARROW_LOCAL = "spark.sql.execution.arrow.localRelationThreshold"


def from_pandas(spark: SparkSession, frame: pd.DataFrame) -> DataFrame:
    """A pandas frame as a Spark DataFrame (through Arrow), timestamps as ``TIMESTAMP_NTZ``.

    Spark makes Arrow data under ``spark.sql.execution.arrow.localRelationThreshold`` (48 MB by
    default) a ``LocalRelation``: the rows become part of every query plan that reads them, and the
    optimizer evaluates projections and filters over them on the driver, once per plan and per
    reference. The training query reads each table many times: 20k synthetic customers (1M events,
    about 25 MB) so handed over filled a 4g heap. From :data:`LOCAL_RELATION_MAX_ROWS` rows the
    threshold is set to 0 for the call, so the frame becomes an RDD of Arrow batches, scanned by
    tasks like a file; smaller frames (cutoffs, id lists) stay local relations.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if len(frame) < LOCAL_RELATION_MAX_ROWS:
        out = spark.createDataFrame(table)
    else:
        before = spark.conf.get(_ARROW_LOCAL, None)
        spark.conf.set(_ARROW_LOCAL, "0")
        try:
            out = spark.createDataFrame(table)
        finally:
            if before is None:
                spark.conf.unset(_ARROW_LOCAL)
            else:
                spark.conf.set(_ARROW_LOCAL, before)
    stamps = {f.name: F.col(f.name).cast("timestamp_ntz") for f in out.schema.fields
              if isinstance(f.dataType, T.TimestampType)}
    return out.withColumns(stamps)


def to_pandas(frame: DataFrame) -> pd.DataFrame:
    """Collect to the driver through Arrow; ids as ``str``, times as ``datetime64[us]``."""
    out = frame.toArrow().to_pandas()
    if "customer_id" in out:
        out["customer_id"] = out["customer_id"].astype("str")
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].astype("datetime64[us]")
    return out


def _recoded(table: str, frame: DataFrame, checked: dict[str, dict[str, str]]) -> DataFrame:
    """``frame`` with the value map of :func:`churnml.recode.check_values` applied (values matched without
    surrounding spaces, as :func:`churnml.recode.recode_frame` matches them; the others kept). Spark logs the
    map, not the rows it renamed (that would be a job of its own)."""
    check_present(table, checked, frame.columns)
    for column, mapping in checked.items():
        lookup = F.create_map(*[F.lit(x) for pair in mapping.items() for x in pair])
        value = F.col(column)
        written = stripped(value)  # a whole number of a float column as the integer the file wrote, as pandas
        if isinstance(frame.schema[column].dataType, T.FloatType | T.DoubleType):
            written = F.when((F.abs(value) < 1e15) & (value == F.floor(value)), value.cast("bigint").cast("string")
                             ).otherwise(written)
        frame = frame.withColumn(column, F.coalesce(lookup[written], value.cast("string")))
        log.info("%s.%s: values renamed by %s (%s)", table, column, values_key(table),
                 ", ".join(f"{k!r} -> {v!r}" for k, v in list(mapping.items())[:5]))
    return frame


def tables_from_config(spark: SparkSession, cfg: Config) -> SparkTables:
    """The configured data as Spark tables.

    With ``data.source: files``, Spark reads the Parquet tables (files and
    folders) directly (the scalable path) and validates them row by row under
    ``data.returns``, ``data.duplicates`` and ``data.end``, as
    :func:`churnml.io.load_tables` does; the CSV tables are read and validated
    by :func:`churnml.io.read_table` (pandas, on the driver) and handed to
    Spark. The bundled sources (``cdnow``, ``synthetic``) are loaded by
    :func:`churnml.io.load_tables` and handed to Spark. Times are
    ``data.timezone``'s wall-clock times either way. The problems of every
    table are listed at once (the CSV tables' first).
    """
    data = cfg.data
    wanted = [f.name for f in fields(SparkTables)]
    if data.source != "files":
        local: Tables = load_tables(cfg)
        log.info("data.source=%s: tables read by churnml.io and handed to Spark", data.source)
        return spark_tables(spark, {n: getattr(local, n) for n in local.present() if n in wanted})
    names = [name for name in wanted if name in data.tables]
    parquet = [name for name in names if _read_by_spark(data.tables[name])]
    csv = [name for name in names if name not in parquet]
    if csv:
        log.info("data.tables %s: CSV read by churnml.io (pandas, on the driver) and handed to Spark%s",
                 ", ".join(csv), f"; {', '.join(parquet)} read by Spark" if parquet else "")
    read, errors = read_file_tables(data, csv)
    warn_read_id_spellings(read)  # spark_tables warns about the ids of the tables Spark read
    if read and not parquet and not errors:  # spark_tables looks for unmatched ids when Spark read a table
        warn_read_unmatched_ids(read)
    sources: dict[str, str | pd.DataFrame] = {name: data.tables[name].path for name in parquet}
    if errors and "transactions" not in {*sources, *read}:
        raise_collected(errors)  # spark_tables needs the transactions: the CSV tables' problems are those known
    try:
        tables = spark_tables(spark, {**sources, **read}, {name: data.tables[name].columns for name in parquet},
                              returns=data.returns, duplicates=data.duplicates, data_end=data.end,
                              timezone=data.timezone, values={name: data.tables[name].values for name in parquet})
    except (SchemaError, EmptyDataError) as exc:
        raise_collected([*errors, exc])
        raise
    raise_collected(errors)
    return tables


def _read_by_spark(src: TableSource) -> bool:
    """Whether Spark reads a configured table itself: Parquet files, and a folder (a table's Parquet files)."""
    return src.format == "parquet" or (src.format == "auto" and (src.path.lower().endswith((".parquet", ".pq"))
                                                                 or Path(src.path).is_dir()))


def time_range(tables: SparkTables) -> pd.Series:
    """The transactions' first and last ``timestamp`` (one Spark job), both NaT when there is none."""
    row = tables.transactions.agg(F.min("timestamp").alias("lo"), F.max("timestamp").alias("hi")).collect()[0]
    return pd.Series([row["lo"], row["hi"]], dtype="datetime64[us]")
