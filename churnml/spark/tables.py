"""Canonical Spark tables: read, map, cast; pandas <-> Spark through Arrow.

Time columns become ``TIMESTAMP_NTZ`` (naive UTC, like DuckDB's TIMESTAMP),
ids strings, numbers doubles. Spark trusts its input: Parquet read here is
checked for columns and types, not row by row.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from churnml.config import Config
from churnml.errors import ConfigError, SchemaError
from churnml.io import Tables, load_tables
from churnml.schema import TABLE_SPECS
from churnml.spark.session import check_session

__all__ = ["SparkTables", "from_pandas", "spark_tables", "tables_from_config", "to_pandas"]

log = logging.getLogger(__name__)

_SPARK_TYPES = {"id": "string", "str": "string", "time": "timestamp_ntz", "date": "date",
                "float": "double", "int": "bigint", "bool": "boolean"}
_TIME_SOURCES = (T.TimestampType, T.TimestampNTZType, T.DateType)


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


def spark_tables(spark: SparkSession, sources: Mapping[str, DataFrame | str | Path | pd.DataFrame],
                 columns: Mapping[str, Mapping[str, str]] | None = None) -> SparkTables:
    """Canonical Spark tables from Spark DataFrames, Parquet paths or pandas frames.

    Parameters
    ----------
    sources : mapping of table name to source
        ``transactions`` is required; also ``events``, ``subscriptions``,
        ``surveys``, ``tickets``, ``customers``. A ``str`` or ``Path`` is a
        Parquet file or folder; a catalog table is ``spark.table("db.name")``.
    columns : mapping, optional
        Per table, canonical name -> the source's column name.

    Raises
    ------
    SchemaError
        Every missing required column and every column of the wrong type.
    """
    check_session(spark)
    known = [f.name for f in fields(SparkTables)]
    unknown = sorted(set(sources) - set(known))
    if unknown or "transactions" not in sources:
        raise ConfigError(f"Spark tables: got {sorted(sources)}; expected 'transactions' and any of {known}")
    problems: list[str] = []
    frames = {name: _canonical(name, _as_spark(spark, src), (columns or {}).get(name, {}), problems)
              for name, src in sources.items()}
    if problems:
        raise SchemaError(problems)
    return SparkTables(**frames)


def _as_spark(spark: SparkSession, source: DataFrame | str | Path | pd.DataFrame) -> DataFrame:
    if isinstance(source, DataFrame):
        return source
    if isinstance(source, pd.DataFrame):
        return from_pandas(spark, source)
    path = Path(source)
    if not path.exists():
        raise ConfigError(f"Parquet source {str(path)!r} not found (working folder {Path.cwd()})")
    return spark.read.parquet(str(path))


def _canonical(name: str, frame: DataFrame, mapping: Mapping[str, str], problems: list[str]) -> DataFrame:
    spec = TABLE_SPECS[name]
    frame = frame.withColumnsRenamed({user: canon for canon, user in mapping.items()})
    types = {f.name: f.dataType for f in frame.schema.fields}
    missing = [c for c in spec.required if c not in types]
    if missing:
        problems.append(f"table '{name}': missing required column(s) {missing}; found {sorted(types)}; "
                        f"map them with data.tables.{name}.columns")
    casts = {}
    for col in spec.columns:
        if col.name not in types:
            continue
        if col.kind == "time" and not isinstance(types[col.name], _TIME_SOURCES):
            problems.append(f"table '{name}': column '{col.name}' must be a timestamp, found "
                            f"{types[col.name].simpleString()}; parse it first (to_timestamp) or write the "
                            "table with churnml.io.write_frame")
            continue
        casts[col.name] = F.col(col.name).cast(_SPARK_TYPES[col.kind])
    return frame.withColumns(casts)


def from_pandas(spark: SparkSession, frame: pd.DataFrame) -> DataFrame:
    """A pandas frame as a Spark DataFrame (through Arrow), timestamps as ``TIMESTAMP_NTZ``."""
    out = spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False))
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


def tables_from_config(spark: SparkSession, cfg: Config) -> SparkTables:
    """The configured data as Spark tables.

    With ``data.source: files`` and Parquet files, Spark reads them directly
    (the scalable path; validate them once upstream, e.g. with
    ``python -m churnml.datasets`` or :func:`churnml.io.read_table`) and
    applies ``data.returns``; ``data.timezone`` must be UTC. Otherwise the
    tables are read and validated by :func:`churnml.io.load_tables` and
    handed to Spark.
    """
    data = cfg.data
    wanted = [f.name for f in fields(SparkTables)]
    parquet = data.source == "files" and all(
        src.format == "parquet" or (src.format == "auto" and src.path.endswith((".parquet", ".pq")))
        for name, src in data.tables.items() if name in wanted
    )
    if parquet:
        if data.timezone != "UTC":
            raise ConfigError(f"data.timezone is {data.timezone!r}: Spark reads Parquet timestamps as UTC; "
                              "convert them upstream (churnml.io.read_table does) or use --engine duckdb")
        sources = {name: data.tables[name].path for name in wanted if name in data.tables}
        mapping = {name: data.tables[name].columns for name in sources}
        read = spark_tables(spark, sources, mapping)
        return replace(read, transactions=_returns(read.transactions, data.returns))
    local: Tables = load_tables(cfg)
    log.info("data.source=%s: tables read by churnml.io and handed to Spark", data.source)
    return spark_tables(spark, {n: getattr(local, n) for n in local.present() if n in wanted})


def _returns(tx: DataFrame, policy: str) -> DataFrame:
    """``data.returns`` on Spark: ``keep`` negative amounts, ``drop`` them, or ``error``."""
    if policy == "drop":
        return tx.where(F.col("amount") >= 0)
    if policy == "error":
        negative = tx.where(F.col("amount") < 0).count()
        if negative:
            raise SchemaError(f"column 'amount' has {negative} negative values (returns); set data.returns "
                              "to 'keep' (they count as returns) or 'drop'", table="transactions")
    return tx
