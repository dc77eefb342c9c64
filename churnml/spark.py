"""Spark: the DuckDB features and labels on Spark, sampled training, scoring in Spark.

The one module that imports pyspark (the optional extra ``churnml[spark]``).
Nothing is defined twice: features, labels and the population run the SQL of
:func:`churnml.features.feature_sql` and :mod:`churnml.labels`, translated by
:func:`churnml.engine.transpile` and :func:`spark_sql`; the post-processing
(BG/NBD family, categories) calls the same pandas code on the driver; training
and scoring call churnml.training and churnml.scoring on what Spark produced.

Rules every entry point checks or applies:

* the session time zone is UTC (``spark.sql.session.timeZone``), so that
  casting a timestamp to a date gives the same day as DuckDB;
* time columns become ``TIMESTAMP_NTZ`` (naive UTC, like DuckDB's TIMESTAMP),
  ids strings, numbers doubles; Parquet timestamps are microseconds;
* feature columns come out as the served model's input types: numbers as
  double, categories as strings.

Scale: the per-customer work stays in Spark; the driver collects only a few
columns per row (the BG/NBD family's RFM columns, the sampled training table,
one probability and summary per scored customer, the outreach list's features).
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlglot
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from sqlglot import exp

from churnml.btyd import BGNBD, GammaGamma
from churnml.config import Config, FeaturesConfig, ScoringConfig, TimeConfig
from churnml.dataset import TARGET, SplitCutoffs, TrainingData, _check_trainable, split_cutoffs
from churnml.engine import transpile
from churnml.errors import ConfigError, EmptyDataError, ModelError, SchemaError
from churnml.features import FeaturePlan, feature_sql, plan_features
from churnml.features.btyd import add_btyd_features, btyd_docs
from churnml.features.core import FAMILIES, SQL_NAMES
from churnml.io import Tables, load_tables
from churnml.labels import (
    contractual_labels_sql,
    cutoff_table,
    noncontractual_labels_sql,
    population_sql,
)
from churnml.metrics.rfm import rfm_scores, segment_of
from churnml.model import ChurnModel, model_input
from churnml.playbook import suggest_actions
from churnml.schema import TABLE_SPECS
from churnml.scoring import ScoreResult, _reasons, _select, _tiers, load_churn_model
from churnml.tracking import Promotion, resolve_tracking_uri, start_run
from churnml.training import TrainResult, fit_and_evaluate, log_training
from churnml.windows import DataSpan, history_sql, to_cutoff

__all__ = [
    "SampleInfo",
    "SparkTables",
    "check_session",
    "features",
    "labels",
    "local_session",
    "plan_features_spark",
    "population",
    "probability_udf",
    "sample_customers",
    "score",
    "spark_sql",
    "spark_tables",
    "tables_from_config",
    "train",
    "training_data",
    "write_parquet",
]

log = logging.getLogger(__name__)

KEYS = ["customer_id", "cutoff"]
UNIT_DAYS = 7.0
BUCKETS = 1_000_000

#: Settings of :func:`local_session`; the time zone is also checked on any session.
LOCAL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


# ---------------------------------------------------------------------------------------------
# session
def local_session(master: str = "local[2]", shuffle_partitions: int = 4, driver_memory: str = "2g",
                  conf: Mapping[str, str] | None = None) -> SparkSession:
    """A Spark session for one machine, set up as churnml needs it.

    Sets the UTC session time zone, microsecond Parquet timestamps, no UI and
    no console progress bar; in local mode also ``PYSPARK_PYTHON`` (this
    Python) and ``SPARK_LOCAL_IP`` (127.0.0.1) unless already set, and binds
    the driver to loopback.

    Parameters
    ----------
    master : str
        ``local[N]`` (N cores) or a cluster master URL.
    shuffle_partitions : int
        ``spark.sql.shuffle.partitions``: about 2-4 per core in local mode.
    driver_memory : str
        JVM heap of the driver (in local mode, of everything), e.g. ``"4g"``.
    conf : mapping, optional
        More Spark settings, applied last.
    """
    settings = {**LOCAL_CONF, "spark.sql.shuffle.partitions": str(shuffle_partitions),
                "spark.driver.memory": driver_memory}
    if master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings["spark.driver.bindAddress"] = "127.0.0.1"
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName("churnml")
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def check_session(spark: SparkSession) -> None:
    """Raise :class:`ConfigError` unless the session time zone is UTC."""
    zone = spark.conf.get("spark.sql.session.timeZone")
    if zone not in ("UTC", "Etc/UTC", "Z", "+00:00"):
        raise ConfigError(
            f"the Spark session time zone is {zone!r}; churnml's time model is naive UTC, so dates would "
            "shift. Fix: spark.conf.set('spark.sql.session.timeZone', 'UTC') or use churnml.spark.local_session()"
        )


# ---------------------------------------------------------------------------------------------
# tables
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
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


_SPARK_TYPES = {"id": "string", "str": "string", "time": "timestamp_ntz", "date": "date",
                "float": "double", "int": "bigint", "bool": "boolean"}
_TIME_SOURCES = (T.TimestampType, T.TimestampNTZType, T.DateType)


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
        return _from_pandas(spark, source)
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


def _from_pandas(spark: SparkSession, frame: pd.DataFrame) -> DataFrame:
    """A pandas frame as a Spark DataFrame (through Arrow), timestamps as TIMESTAMP_NTZ."""
    out = spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False))
    stamps = {f.name: F.col(f.name).cast("timestamp_ntz") for f in out.schema.fields
              if isinstance(f.dataType, T.TimestampType)}
    return out.withColumns(stamps)


def _to_pandas(frame: DataFrame) -> pd.DataFrame:
    """Collect to the driver through Arrow; ids as ``str``, times as datetime64[us]."""
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
    ``python -m churnml.datasets`` or :func:`churnml.io.read_table`).
    Otherwise the tables are read and validated by :func:`churnml.io.load_tables`
    and handed to Spark.
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


# ---------------------------------------------------------------------------------------------
# SQL
def spark_sql(sql: str, views: Mapping[str, str] | None = None) -> str:
    """A DuckDB query as Spark SQL: :func:`churnml.engine.transpile` plus two fixes.

    * A decimal literal (``1.0``, ``30.4375``) becomes a double: Spark reads it
      as DECIMAL and rounds quotients to a fixed scale; DuckDB divides in double.
    * ``EPOCH(t)`` (seconds with fractions in DuckDB) becomes
      ``UNIX_MICROS(t) / 1e6``; sqlglot's ``UNIX_TIMESTAMP`` drops the fraction.

    ``views`` renames tables (``{"tx": "churnml_1a2b_tx"}``).
    """
    tree = sqlglot.parse_one(transpile(sql, "spark"), read="spark")
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    double = exp.DataType.build("DOUBLE")

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Literal) and node.is_number and not node.this.lstrip("-").isdigit():
            return exp.Cast(this=node.copy(), to=double.copy())
        if isinstance(node, exp.StrToUnix):
            micros = exp.Anonymous(this="UNIX_MICROS", expressions=[node.this.copy()])
            return exp.Div(this=micros, expression=exp.Cast(this=exp.Literal.number(1_000_000), to=double.copy()))
        if isinstance(node, exp.Table) and views and node.name in views and node.name not in ctes:
            node.set("this", exp.to_identifier(views[node.name]))
        return node

    return tree.transform(fix).sql(dialect="spark", pretty=True)


def _run(spark: SparkSession, sql: str, frames: Mapping[str, DataFrame]) -> DataFrame:
    """Run a DuckDB-dialect query over ``frames`` (registered under private view names)."""
    check_session(spark)
    token = uuid.uuid4().hex[:10]
    views = {name: f"churnml_{token}_{name}" for name in frames}
    for name, frame in frames.items():
        frame.createOrReplaceTempView(views[name])
    try:
        return spark.sql(spark_sql(sql, views))  # analysed now: the views may go
    finally:
        for view in views.values():
            spark.catalog.dropTempView(view)


# ---------------------------------------------------------------------------------------------
# features, labels, population
def plan_features_spark(tables: SparkTables, cutoffs: Iterable[object], cfg: FeaturesConfig | None = None,
                        horizon_days: int | None = None) -> FeaturePlan:
    """:func:`churnml.features.plan_features` on Spark tables.

    Spark supplies what the plan reads (first transaction, event and survey
    types, column names) as small stand-in frames; the planning is the same code.
    """
    first = tables.transactions.agg(F.min("timestamp").alias("first")).collect()[0]["first"]
    stand_in: dict[str, pd.DataFrame] = {}
    for name in tables.present():
        cols = getattr(tables, name).columns
        values: dict[str, Any] = {c: [] for c in cols}
        if name == "transactions" and first is not None:
            values = {c: [None] for c in cols} | {"timestamp": [pd.Timestamp(first)]}
        kind = {"events": "event_type", "surveys": "survey"}.get(name)
        if kind:
            found = sorted(r[kind] for r in getattr(tables, name).select(kind).distinct().collect()
                           if r[kind] is not None)
            values = {c: [None] * len(found) for c in cols} | {kind: found}
        stand_in[name] = pd.DataFrame(values)
    return plan_features(stand_in, list(cutoffs), cfg, horizon_days=horizon_days)


def _frames(tables: SparkTables, plan: FeaturePlan, spine: DataFrame) -> dict[str, DataFrame]:
    frames = {"spine": spine.select(*KEYS)}
    for fam in plan.families:
        table = FAMILIES[fam][0]
        frame = getattr(tables, table, None)
        if frame is None:
            raise SchemaError(f"the feature plan uses the '{fam}' family but no {table} table was given; "
                              "give the same tables as at training", table=table)
        frames[SQL_NAMES.get(table, table)] = frame
    return frames


def features(spark: SparkSession, tables: SparkTables, spine: DataFrame, plan: FeaturePlan,
             population_spine: DataFrame | None = None) -> DataFrame:
    """The Spark twin of :func:`churnml.features.compute_features`.

    Parameters
    ----------
    spine : Spark DataFrame
        ``customer_id``, ``cutoff`` (midnight UTC), each pair once (as
        :func:`labels` and :func:`population` give them).
    plan : FeaturePlan
        From :func:`plan_features_spark` or a trained model's ``feature_plan``.
    population_spine : Spark DataFrame, optional
        The spine the ``btyd`` family is fitted on at each cutoff (default
        ``spine``): pass the full spine when ``spine`` is a sample.

    Returns
    -------
    Spark DataFrame
        ``customer_id``, ``cutoff`` and the features in the DuckDB order, sorted
        by cutoff then customer; numbers as double, categories as strings. The
        ``btyd`` family is fitted per cutoff on the driver from the RFM columns.
    """
    out = _run(spark, feature_sql(plan), _frames(tables, plan, spine))
    out = out.select(*KEYS, *[
        F.col(f.name) if isinstance(f.dataType, T.StringType) else F.col(f.name).cast("double")
        for f in out.schema.fields if f.name not in KEYS
    ])
    if plan.btyd_horizon_days is not None:
        fitted = _btyd(spark, tables, spine if population_spine is None else population_spine, plan,
                       plan.btyd_horizon_days)
        out = out.join(fitted, on=KEYS, how="left")
    return out.orderBy(*KEYS)


def _btyd(spark: SparkSession, tables: SparkTables, spine: DataFrame, plan: FeaturePlan, horizon: int) -> DataFrame:
    """The BG/NBD family: RFM columns collected, fitted per cutoff on the driver, sent back."""
    rfm_only = replace(plan, families=("rfm",), btyd_horizon_days=None, censored="drop")
    rfm = _run(spark, feature_sql(rfm_only), _frames(tables, rfm_only, spine))
    local = _to_pandas(rfm.select(*KEYS, "rfm_days_all", "rfm_tenure_days", "rfm_recency_days"))
    local = local.astype({c: "float64" for c in ("rfm_days_all", "rfm_tenure_days", "rfm_recency_days")})
    names = [d.name for d in btyd_docs(horizon)]
    return _from_pandas(spark, add_btyd_features(local, horizon)[[*KEYS, *names]])


def labels(spark: SparkSession, tables: SparkTables, cutoffs: Iterable[object], time: TimeConfig,
           horizon_days: int | None = None) -> DataFrame:
    """The Spark twin of :func:`churnml.labels.make_labels`: ``customer_id``, ``cutoff``, ``churned``.

    The label window of cutoff ``c`` is ``[c + lead, c + lead + horizon)``
    (``horizon_days`` or ``time.horizon_days``).
    """
    horizon = time.horizon_days if horizon_days is None else horizon_days
    cuts = list(cutoffs)
    if time.regime == "contractual":
        if tables.subscriptions is None:
            raise SchemaError("the contractual regime needs a subscriptions table; add data.tables.subscriptions "
                              "or set time.regime=noncontractual", table="subscriptions")
        table = cutoff_table(cuts, horizon, time.lead_time_days)
        frames = {"subscriptions": tables.subscriptions, "cutoffs": _from_pandas(spark, table)}
        sql = contractual_labels_sql(time.grace_days)
    else:
        table = cutoff_table(cuts, horizon, time.lead_time_days, time.active_within_days)
        frames = {"tx": tables.transactions, "cutoffs": _from_pandas(spark, table)}
        sql = noncontractual_labels_sql(time.lead_time_days)
    out = _run(spark, sql, frames)
    return out.select(*KEYS, F.col("churned").cast("tinyint"))


def population(spark: SparkSession, tables: SparkTables, cutoffs: Iterable[object], time: TimeConfig) -> DataFrame:
    """The Spark twin of :func:`churnml.labels.population`: who is at risk at each cutoff."""
    table = cutoff_table(list(cutoffs), 1, 0, time.active_within_days)
    source = ("subscriptions", tables.subscriptions) if time.regime == "contractual" else ("tx", tables.transactions)
    if source[1] is None:
        raise SchemaError("the contractual regime needs a subscriptions table", table="subscriptions")
    return _run(spark, population_sql(time.regime), {source[0]: source[1], "cutoffs": _from_pandas(spark, table)})


def write_parquet(frame: DataFrame, path: str | Path, overwrite: bool = False) -> Path:
    """Write a Spark DataFrame as a Parquet folder (microsecond timestamps).

    An existing ``path`` is an error unless ``overwrite``.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    frame.sparkSession.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    frame.write.mode("overwrite" if overwrite else "errorifexists").parquet(str(target))
    log.info("wrote %s", target)
    return target


# ---------------------------------------------------------------------------------------------
# training at scale: features on Spark, a sample of customers, one machine
@dataclass(frozen=True)
class SampleInfo:
    """How the training table was sampled (logged as ``sample_*`` run parameters).

    Customers are kept with probability ``fraction`` by a hash of their id and
    ``seed``, the same customers at every cutoff. Whether a customer is kept
    does not depend on their label or features, so the sample has the full
    table's churn rate and P(churn | features): a model fitted and calibrated
    on it is calibrated for everyone, and no weight enters the fit. Each kept
    row stands for ``weight = 1 / fraction`` rows of the full table (column
    ``sample_weight``): scale counts and money totals by it, never probabilities.
    """

    fraction: float
    seed: int
    rows_full: dict[str, int]
    rows_kept: dict[str, int]

    @property
    def weight(self) -> float:
        return 1.0 / self.fraction

    def as_params(self) -> dict[str, Any]:
        return {"sample_method": "customer_hash", "sample_fraction": self.fraction, "sample_seed": self.seed,
                "sample_weight": round(self.weight, 9),
                **{f"sample_rows_full_{k}": v for k, v in sorted(self.rows_full.items())},
                **{f"sample_rows_kept_{k}": v for k, v in sorted(self.rows_kept.items())}}


def _buckets(fraction: float) -> int:
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"the sample fraction must be in (0, 1], got {fraction}")
    kept = round(fraction * BUCKETS)
    if kept < 1:
        raise ConfigError(f"the sample fraction {fraction} is below the resolution {1 / BUCKETS}")
    return kept


def sample_customers(frame: DataFrame, fraction: float, seed: int = 42) -> DataFrame:
    """Keep each customer (at every cutoff) with probability ``fraction``.

    A customer is kept when ``pmod(xxhash64(str(seed), customer_id), 10^6) <
    round(fraction * 10^6)``: reproducible, independent of partitioning, of
    the label and of the features. Adds ``sample_weight = 10^6 / round(fraction * 10^6)``
    (``1 / fraction``); see :class:`SampleInfo` for why this keeps probabilities calibrated.
    """
    kept = _buckets(fraction)
    bucket = F.pmod(F.xxhash64(F.lit(str(seed)), F.col("customer_id")), F.lit(BUCKETS))
    out = frame if kept == BUCKETS else frame.where(bucket < F.lit(kept))
    return out.withColumn("sample_weight", F.lit(BUCKETS / kept))


def _span(tables: SparkTables, cfg: Config) -> DataSpan:
    row = tables.transactions.agg(F.min("timestamp").alias("lo"), F.max("timestamp").alias("hi")).collect()[0]
    if row["lo"] is None:
        raise EmptyDataError("training needs a non-empty transactions table")
    return DataSpan.from_times(pd.Series([row["lo"], row["hi"]], dtype="datetime64[us]"), cfg.data.end)


def _day(ts: pd.Timestamp) -> Column:
    return F.lit(ts.strftime("%Y-%m-%d %H:%M:%S")).cast("timestamp_ntz")


def _split_column(splits: SplitCutoffs) -> Column:
    cut = F.col("cutoff")
    return (F.when(cut == _day(splits.calibration), "calibration")
            .when(cut == _day(splits.test), "test").otherwise("train"))


def training_data(spark: SparkSession, tables: SparkTables, cfg: Config,
                  sample_fraction: float = 1.0) -> tuple[TrainingData, SampleInfo]:
    """The Spark twin of :func:`churnml.dataset.build_training_data`, sampled by customer.

    Labels and features are computed in Spark for the sampled customers (the
    BG/NBD family is fitted on every customer at each cutoff, as at scoring);
    the sampled table is collected to the driver.

    Returns
    -------
    (TrainingData, SampleInfo)
        Ready for ``churnml.training.fit_and_evaluate(None, cfg, data=...)``;
        the table has a ``sample_weight`` column.
    """
    span = _span(tables, cfg)
    splits = split_cutoffs(span, cfg)
    fit_cuts = [*splits.train, splits.calibration]
    lab = labels(spark, tables, fit_cuts, cfg.time, splits.train_horizon_days).unionByName(
        labels(spark, tables, [splits.test], cfg.time, splits.test_horizon_days)
    ).withColumn("split", _split_column(splits)).persist()  # read four times below
    full = {r["split"]: int(r["count"]) for r in lab.groupBy("split").count().collect()}
    kept = sample_customers(lab, sample_fraction, cfg.seed)
    plan = plan_features_spark(tables, [*fit_cuts, splits.test], cfg.features, splits.test_horizon_days)
    feats = features(spark, tables, kept.select(*KEYS), plan, population_spine=lab.select(*KEYS))
    local = _to_pandas(feats.join(kept, on=KEYS, how="left").orderBy(*KEYS))
    cats = [f.name for f in feats.schema.fields if isinstance(f.dataType, T.StringType) and f.name != "customer_id"]
    local = local.astype({**{c: "category" for c in cats}, TARGET: "int8", "split": "str"})
    names = [c for c in feats.columns if c not in KEYS]
    lab.unpersist()
    data = TrainingData(local, plan, splits, span, names, cats)
    _check_trainable(data, cfg)
    info = SampleInfo(_buckets(sample_fraction) / BUCKETS, cfg.seed, full, data.counts())
    log.info("training table sampled: %s of %s rows kept (fraction %.4g)", info.rows_kept, full, info.fraction)
    return data, info


def train(spark: SparkSession, tables: SparkTables, cfg: Config, sample_fraction: float = 1.0,
          run_name: str | None = None) -> tuple[TrainResult, Promotion | None, str]:
    """Features and labels on Spark, a customer sample trained on this machine, one MLflow run.

    The run is the one ``python -m churnml.train`` logs, plus the tag
    ``engine=spark`` and the ``sample_*`` parameters of :class:`SampleInfo`.
    It goes to ``cfg.tracking.uri`` (e.g. a shared ``http://`` tracking server).

    Returns
    -------
    (TrainResult, Promotion or None, run id)
    """
    data, sample = training_data(spark, tables, cfg, sample_fraction)
    result = fit_and_evaluate(None, cfg, data=data)
    uri = resolve_tracking_uri(cfg.tracking.uri)
    with start_run(uri, cfg.tracking.experiment, run_name=run_name, tags={"engine": "spark"}) as run:
        run.params(sample.as_params())
        promotion = log_training(result, cfg, run)
        run_id = run.run_id
    return result, promotion, run_id


# ---------------------------------------------------------------------------------------------
# scoring in Spark
_SUMMARY_SQL = """
WITH days AS (
    SELECT t.customer_id, CAST(t."timestamp" AS DATE) AS day, MAX(c.cutoff) AS cutoff,
           SUM(t.amount) AS amount,
           COUNT(*) FILTER (WHERE t.amount >= 0) AS n_buy,
           MAX(t."timestamp") FILTER (WHERE t.amount >= 0) AS last_buy
    FROM tx t JOIN cutoffs c ON {history}
    GROUP BY t.customer_id, CAST(t."timestamp" AS DATE)
),
marked AS (
    SELECT *, MIN(day) OVER (PARTITION BY customer_id) AS first_day FROM days
)
SELECT customer_id,
       COUNT(*) - 1 AS frequency,
       DATE_DIFF('day', MIN(day), MAX(day)) / 7.0 AS recency,
       (DATE_DIFF('day', MIN(day), CAST(MAX(cutoff) AS DATE)) - 1) / 7.0 AS T,
       SUM(amount) AS total,
       SUM(CASE WHEN day = first_day THEN amount END) AS first_amount,
       (EPOCH(MAX(cutoff)) - EPOCH(MAX(last_buy))) / 86400.0 AS rfm_recency_days,
       COUNT(*) FILTER (WHERE n_buy > 0) AS rfm_frequency
FROM marked
GROUP BY customer_id
"""


def _customer_summary(spark: SparkSession, tables: SparkTables, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per customer with history: the BG/NBD summary (weeks) and the RFM measures of
    :func:`churnml.btyd.summary_at` and :func:`churnml.metrics.rfm.rfm_table`."""
    cuts = _from_pandas(spark, pd.DataFrame({"cutoff": pd.DatetimeIndex([cutoff]).as_unit("us")}))
    sql = _SUMMARY_SQL.format(history=history_sql('t."timestamp"', "c.cutoff"))
    local = _to_pandas(_run(spark, sql, {"tx": tables.transactions, "cutoffs": cuts}))
    return local.set_index("customer_id").sort_index()


def _clv(summary: pd.DataFrame, scoring: ScoringConfig) -> pd.Series:
    """:func:`churnml.scoring.predicted_clv` from the Spark summary."""
    x = summary["frequency"].astype("int64")
    btyd = pd.DataFrame({
        "frequency": x, "recency": summary["recency"], "T": summary["T"],
        "monetary_value": ((summary["total"] - summary["first_amount"]) / x.where(x > 0)).astype("float64"),
    })
    bg, gg = BGNBD().fit(btyd), GammaGamma().fit(btyd)
    weekly = (1.0 + scoring.annual_discount_rate) ** (1.0 / 52.0) - 1.0
    return gg.clv(bg, btyd, horizon_units=scoring.clv_horizon_days / UNIT_DAYS, discount_rate_per_unit=weekly)


def _segments(summary: pd.DataFrame) -> pd.Series:
    """RFM segment (5 bins, as :func:`churnml.metrics.rfm.rfm_table`) of customers with a purchase."""
    buyers = summary[summary["rfm_frequency"] > 0]
    r = rfm_scores(buyers["rfm_recency_days"], 5, higher_is_better=False)
    f = rfm_scores(buyers["rfm_frequency"].astype("int64"), 5)
    return segment_of(r, f, 5)


def _or_nan(frame: DataFrame, column: str) -> Column:
    return F.col(column) if column in frame.columns else F.lit(None).cast("double")


def probability_udf(model: ChurnModel) -> Callable[[Column], Column]:
    """A churn model as a Spark pandas UDF: ``udf(struct(features))`` -> churn probability.

    Computes what the logged pyfunc returns with ``top_k=0``
    (``model.predict_proba`` on :func:`churnml.model.model_input` rows); the
    model (from :func:`churnml.scoring.load_churn_model`, e.g. the registered
    champion) is pickled into the tasks, so executors need churnml installed
    but no access to the tracking server.
    ``mlflow.pyfunc.spark_udf(spark, model_uri, result_type="double", params={"top_k": 0})``
    applies the pyfunc itself (also with ``env_manager="virtualenv"``): pass it
    as ``predict`` to :func:`score`.
    """

    def predict(rows: pd.DataFrame) -> pd.Series:
        return pd.Series(model.predict_proba(model_input(rows)), index=rows.index, dtype="float64")

    return F.pandas_udf(predict, "double")  # type: ignore[call-overload]


def score(spark: SparkSession, tables: SparkTables, model_uri: str, cutoff: object, cfg: Config,
          top: int | None = None, budget: float | None = None,
          predict: Callable[[Column], Column] | None = None) -> ScoreResult:
    """The outreach list of :func:`churnml.scoring.score_customers`, scored in Spark.

    Everyone at risk at ``cutoff`` is scored: features and probabilities in
    Spark (``predict``: default :func:`probability_udf` of the model, or
    ``mlflow.pyfunc.spark_udf``), CLV and RFM segment from a per-customer
    summary computed in Spark and fitted on the driver; then the same ranking,
    selection (``top`` or ``budget``), reason codes and playbook as in-process,
    on the driver, for the chosen customers only.

    Returns
    -------
    ScoreResult
        The same outreach columns as ``python -m churnml.score``.
    """
    c = to_cutoff(cutoff)  # type: ignore[arg-type]
    model = load_churn_model(model_uri)
    extra = getattr(model, "extra_", {})
    if "feature_plan" not in extra:
        raise ModelError(f"{model_uri!r} has no feature plan; train it with churnml >= 0.1")
    plan, time = FeaturePlan.from_dict(extra["feature_plan"]), TimeConfig(**extra["time"])
    feats = features(spark, tables, population(spark, tables, [c], time), plan).persist()  # read twice
    udf = predict if predict is not None else probability_udf(model)
    inputs = F.struct(*[F.col(n) for n in model.feature_names_])
    scored = _to_pandas(feats.select(*KEYS, udf(inputs).alias("churn_probability"),
                                     _or_nan(feats, "rfm_monetary_sum_all").alias("historical_spend"),
                                     _or_nan(feats, "rfm_tenure_days").alias("tenure_days")))
    if scored.empty:
        raise ModelError(f"nobody to score at {c.date()}: no customer is at risk at the cutoff")
    summary = _customer_summary(spark, tables, c)
    out = scored[[*KEYS, "churn_probability"]].copy()
    out["risk_tier"] = _tiers(out["churn_probability"].to_numpy(), cfg.scoring.tiers)
    out["predicted_clv"] = out["customer_id"].map(_clv(summary, cfg.scoring)).astype("float64")
    out["value_at_risk"] = out["churn_probability"] * out["predicted_clv"]
    out["historical_spend"] = scored["historical_spend"]
    out["rfm_segment"] = out["customer_id"].map(_segments(summary)).astype("str")
    out["tenure_days"] = scored["tenure_days"]
    ranked = out.sort_values(["value_at_risk", "churn_probability", "customer_id"],
                             ascending=[False, False, True], kind="stable").reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    chosen = _select(ranked, top, budget, cfg).copy()
    ids = _from_pandas(spark, pd.DataFrame({"customer_id": chosen["customer_id"].astype("str")}))
    rows = _to_pandas(feats.join(F.broadcast(ids), on="customer_id", how="inner"))
    feats.unpersist()
    reasons = _reasons(model, rows, rows, chosen, cfg.scoring.top_k)
    chosen = pd.concat([chosen.reset_index(drop=True), reasons.reset_index(drop=True)], axis=1)
    reason_features = reasons[[col for col in reasons.columns if col.endswith("_feature")]]
    chosen["suggested_action"] = suggest_actions(chosen, cfg.scoring.playbook, reason_features.reset_index(drop=True))
    counts = {"asked": len(ranked), "scored": len(ranked), "listed": len(chosen),
              "below_cut": len(ranked) - len(chosen), "unscored": 0}
    unscored = pd.DataFrame({"customer_id": pd.Series([], dtype="str"), "reason": pd.Series([], dtype="str")})
    log.info("scored %d customers at %s in Spark; %d on the list", len(ranked), c.date(), len(chosen))
    return ScoreResult(chosen.drop(columns=["tenure_days"]), unscored, counts)
