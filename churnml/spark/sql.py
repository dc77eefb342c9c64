"""The shared DuckDB SQL on Spark: translation, features, labels, population, Parquet output.

Nothing is defined twice: features, labels and the population run the SQL of
:func:`churnml.features.feature_sql` and :mod:`churnml.labels`, translated by
:func:`churnml.engine.transpile` and :func:`spark_sql`; the BG/NBD family is
fitted on the driver by the same pandas code.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import sqlglot
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from sqlglot import exp

from churnml.btyd import BGNBD
from churnml.config import FeaturesConfig, TimeConfig
from churnml.engine import transpile
from churnml.errors import ConfigError, DataWindowError, SchemaError
from churnml.features import FeaturePlan, feature_sql, plan_features
from churnml.features.btyd import add_btyd_features, btyd_docs
from churnml.features.core import FAMILIES, REPEATED_PAIRS, SQL_NAMES, spine_cutoffs_error
from churnml.features.plan import TYPE_COLUMN, order_problem
from churnml.label_sql import CUSTOMER_TABLES, count_customers_sql, not_at_risk_sql
from churnml.labels import (
    check_label_windows,
    contractual_labels_sql,
    cutoff_table,
    noncontractual_labels_sql,
    not_at_risk_rows,
    population_sql,
)
from churnml.schema import STAND_IN
from churnml.spark.session import check_session
from churnml.spark.tables import SparkTables, from_pandas, time_range, to_pandas
from churnml.windows import DataSpan, history_sql, to_cutoff

__all__ = ["KEYS", "count_customers", "features", "labels", "not_at_risk", "plan_features_spark", "population",
           "run_sql", "spark_sql", "write_parquet"]

log = logging.getLogger(__name__)

KEYS = ["customer_id", "cutoff"]


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


def run_sql(spark: SparkSession, sql: str, frames: Mapping[str, DataFrame]) -> DataFrame:
    """Run a DuckDB-dialect query over Spark ``frames``.

    Each frame is registered under a private temporary view name for the
    query's analysis and dropped right after; the result is lazy. Spark's
    ``${...}`` variable substitution is off while the text is parsed: data
    values are written into the SQL as literals (event types such as
    ``'${x}'``), and Spark would otherwise rewrite them.
    """
    check_session(spark)
    token = uuid.uuid4().hex[:10]
    views = {name: f"churnml_{token}_{name}" for name in frames}
    for name, frame in frames.items():
        frame.createOrReplaceTempView(views[name])
    substitute = spark.conf.get(_SUBSTITUTE, "true") or "true"
    spark.conf.set(_SUBSTITUTE, "false")
    try:
        return spark.sql(spark_sql(sql, views))  # analysed now: the views may go
    finally:
        spark.conf.set(_SUBSTITUTE, substitute)
        for view in views.values():
            spark.catalog.dropTempView(view)


_SUBSTITUTE = "spark.sql.variable.substitute"


def plan_features_spark(tables: SparkTables, cutoffs: Iterable[object], cfg: FeaturesConfig | None = None,
                        horizon_days: int | None = None) -> FeaturePlan:
    """:func:`churnml.features.plan_features` on Spark tables.

    Spark supplies what the plan reads (first transaction, event and survey
    types, column names) as small stand-in frames; the planning is the same code.
    """
    cutoffs = list(cutoffs)
    last = max((to_cutoff(c) for c in cutoffs), default=None)  # type: ignore[arg-type]  # as plan_features
    first = tables.transactions.agg(F.min("timestamp").alias("first")).collect()[0]["first"]
    stand_in: dict[str, pd.DataFrame] = {}
    for name in tables.present():
        cols = getattr(tables, name).columns
        values: dict[str, Any] = {c: [] for c in cols}
        if name == "transactions" and first is not None:
            values = {c: [None] for c in cols} | {"timestamp": [pd.Timestamp(first)]}
        kind = TYPE_COLUMN.get(name)
        if kind and last is not None:  # each type with its first time before the last cutoff, as plan_features reads
            seen = F.expr(history_sql("`timestamp`", f"TIMESTAMP_NTZ '{last}'"))
            rows = (getattr(tables, name).where(F.col(kind).isNotNull() & seen).groupBy(kind)
                    .agg(F.min("timestamp").alias("timestamp")).orderBy(kind).collect())
            times = pd.Series([pd.Timestamp(r["timestamp"]) for r in rows], dtype="datetime64[us]")  # typed if none
            values = {c: [None] * len(rows) for c in cols} | {kind: [r[kind] for r in rows], "timestamp": times}
        stand_in[name] = pd.DataFrame(values)
        stand_in[name].attrs[STAND_IN] = name  # not data: the Spark tables are validated where they are read
    return plan_features(stand_in, cutoffs, cfg, horizon_days=horizon_days)


def _frames(tables: SparkTables, plan: FeaturePlan, spine: DataFrame) -> dict[str, DataFrame]:
    frames = {"spine": spine.select(*KEYS)}
    for fam in plan.families:
        table = FAMILIES[fam][0]
        frame = getattr(tables, table, None)
        if frame is None:
            raise SchemaError(f"the feature plan uses the '{fam}' family but no {table} table was given; "
                              "give the same tables as at training", table=table)
        frames[SQL_NAMES.get(table, table)] = frame
    if "tx" in frames and (problem := order_problem(plan, frames["tx"].columns)):
        raise problem
    return frames


def features(spark: SparkSession, tables: SparkTables, spine: DataFrame, plan: FeaturePlan,
             population_spine: DataFrame | None = None,
             btyd_models: dict[pd.Timestamp, BGNBD] | None = None, *, check_spine: bool = True) -> DataFrame:
    """The Spark twin of :func:`churnml.features.compute_features`.

    Parameters
    ----------
    spine : Spark DataFrame
        ``customer_id``, ``cutoff`` (a midnight), each pair once (as
        :func:`labels` and :func:`population` give them).
    plan : FeaturePlan
        From :func:`plan_features_spark` or a trained model's ``feature_plan``.
    population_spine : Spark DataFrame, optional
        The spine the ``btyd`` family is fitted on at each cutoff (default
        ``spine``): pass the full spine when ``spine`` is a sample.
    check_spine : bool
        Refuse, as DuckDB does, a spine with missing or non-midnight cutoffs
        or repeated pairs (one Spark job over the spine); churnml's own
        callers pass spines from :func:`labels` or :func:`population` and skip it.

    Returns
    -------
    Spark DataFrame
        ``customer_id``, ``cutoff`` and the features in the DuckDB order, sorted
        by cutoff then customer; integers (counts, flags, the RFM days) as 32-bit
        ``INT``, as DuckDB gives them, other numbers as double, categories as strings. The
        ``btyd`` family is fitted per cutoff on the driver from the RFM columns.
    """
    if check_spine:
        _check_spine(spine)
    out = run_sql(spark, feature_sql(plan), _frames(tables, plan, spine))
    # text and 32-bit integers (counts, flags: INT, as on DuckDB) as they are; 64-bit integers as double, as
    # DuckDB's frame has them once one is missing (and MLflow's spark_udf refuses them for double inputs)
    out = out.select(*KEYS, *[
        F.col(f.name) if isinstance(f.dataType, T.StringType | T.IntegerType | T.ShortType | T.ByteType)
        else F.col(f.name).cast("double") for f in out.schema.fields if f.name not in KEYS
    ])
    if plan.btyd_horizon_days is not None:
        fitted = _btyd(spark, tables, spine if population_spine is None else population_spine, plan,
                       plan.btyd_horizon_days, btyd_models)
        out = out.join(fitted, on=KEYS, how="left")
    return out.orderBy("cutoff", "customer_id")


def _check_spine(spine: DataFrame) -> None:
    """The checks of :func:`churnml.features.compute_features` on a Spark spine, in one job when it passes."""
    cutoff = F.col("cutoff")
    bad = cutoff.isNull() | F.col("customer_id").isNull() | (
        cutoff != cutoff.cast("date").cast(spine.schema["cutoff"].dataType))
    pairs = spine.groupBy(*KEYS).agg(F.count(F.lit(1)).alias("n"), F.max(bad.cast("int")).alias("bad"))
    got = pairs.agg(F.sum(F.when(F.col("bad") == 1, F.col("n"))).alias("bad"),
                    F.sum((F.col("n") > 1).cast("int")).alias("repeated")).collect()[0]
    if got["bad"]:
        rows = spine.where(bad).limit(5).collect()
        raise spine_cutoffs_error(int(got["bad"]), "; ".join(f"{r['customer_id']}, {r['cutoff']}" for r in rows))
    if got["repeated"]:
        raise SchemaError(REPEATED_PAIRS, table="spine")


def _btyd(spark: SparkSession, tables: SparkTables, spine: DataFrame, plan: FeaturePlan, horizon: int,
          models: dict[pd.Timestamp, BGNBD] | None = None) -> DataFrame:
    """The btyd family: RFM columns collected, BG/NBD fitted and recency ranked per cutoff on the driver, sent back."""
    rfm_only = replace(plan, families=("rfm",), btyd_horizon_days=None, censored="drop")
    rfm = run_sql(spark, feature_sql(rfm_only), _frames(tables, rfm_only, spine))
    local = to_pandas(rfm.select(*KEYS, "rfm_days_all", "rfm_tenure_days", "rfm_recency_days"))
    local = local.astype({c: "float64" for c in ("rfm_days_all", "rfm_tenure_days", "rfm_recency_days")})
    names = [d.name for d in btyd_docs(horizon)]
    return from_pandas(spark, add_btyd_features(local, horizon, models)[[*KEYS, *names]])


def labels(spark: SparkSession, tables: SparkTables, cutoffs: Iterable[object], time: TimeConfig,
           horizon_days: int | None = None, *, data_end: object | None = None,
           immature: str = "error") -> DataFrame:
    """The Spark twin of :func:`churnml.labels.make_labels`: ``customer_id``, ``cutoff``, ``churned``.

    The label window of cutoff ``c`` is ``[c + lead, c + lead + horizon)``
    (``horizon_days`` or ``time.horizon_days``). As there, a window that ends
    after the data (``data_end``, default the day after the last transaction)
    is a :class:`~churnml.errors.DataWindowError` unless ``immature="keep"``.
    """
    horizon = time.horizon_days if horizon_days is None else horizon_days
    cuts = list(cutoffs)
    if immature == "error":
        times = time_range(tables)
        if times.isna().all():
            raise DataWindowError("table 'transactions' has no timestamp values, so no label window can be checked")
        span, grace = DataSpan.from_times(times, data_end), 0
        if time.regime == "contractual" and tables.subscriptions is not None:  # from the first start, as DuckDB
            first = tables.subscriptions.agg(F.min("start")).collect()[0][0]
            if first is None:
                raise DataWindowError("table 'subscriptions' has no start values, so no label window can be checked")
            span, grace = DataSpan(pd.Timestamp(first).as_unit("us"), span.end), time.grace_days
        check_label_windows(cutoff_table(cuts, horizon, time.lead_time_days), span, grace)
    if time.regime == "contractual":
        if tables.subscriptions is None:
            raise SchemaError("the contractual regime needs a subscriptions table; add data.tables.subscriptions "
                              "or set time.regime=noncontractual", table="subscriptions")
        table = cutoff_table(cuts, horizon, time.lead_time_days)
        frames = {"subscriptions": tables.subscriptions, "cutoffs": from_pandas(spark, table)}
        sql = contractual_labels_sql(time.grace_days)
    else:
        table = cutoff_table(cuts, horizon, time.lead_time_days, time.active_within_days)
        frames = {"tx": tables.transactions, "cutoffs": from_pandas(spark, table)}
        sql = noncontractual_labels_sql(time.lead_time_days)
    out = run_sql(spark, sql, frames)
    return out.select(*KEYS, F.col("churned").cast("tinyint"))


def population(spark: SparkSession, tables: SparkTables, cutoffs: Iterable[object], time: TimeConfig) -> DataFrame:
    """The Spark twin of :func:`churnml.labels.population`: who is at risk at each cutoff."""
    table = cutoff_table(list(cutoffs), 1, 0, time.active_within_days)
    source = ("subscriptions", tables.subscriptions) if time.regime == "contractual" else ("tx", tables.transactions)
    if source[1] is None:
        raise SchemaError("the contractual regime needs a subscriptions table", table="subscriptions")
    sql = population_sql(time.regime, active_within=time.active_within_days is not None)  # as DuckDB's
    return run_sql(spark, sql, {source[0]: source[1], "cutoffs": from_pandas(spark, table)})


def _customer_tables(tables: SparkTables) -> dict[str, DataFrame]:
    """The Spark twin of :func:`churnml.labels.customer_tables`: the tables whose customers are "in the tables"."""
    return {name: getattr(tables, name).select("customer_id") for name in CUSTOMER_TABLES
            if getattr(tables, name, None) is not None}


def count_customers(spark: SparkSession, tables: SparkTables) -> int:
    """The Spark twin of :func:`churnml.labels.count_customers`: how many customers the tables hold."""
    frames = _customer_tables(tables)
    return int(run_sql(spark, count_customers_sql(list(frames)), frames).collect()[0]["n"])


def not_at_risk(spark: SparkSession, tables: SparkTables, spine: DataFrame, time: TimeConfig) -> pd.DataFrame:
    """The Spark twin of :func:`churnml.labels.not_at_risk`: the customers of the tables with no row in
    ``spine`` (the population at one cutoff), collected with the reason (``customer_id``, ``reason``)."""
    frames = _customer_tables(tables)
    rows = run_sql(spark, not_at_risk_sql(list(frames)), {**frames, "spine": spine.select("customer_id")})
    return not_at_risk_rows(to_pandas(rows), time)


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
