"""Spark: the DuckDB features and labels on Spark, sampled training, scoring in Spark.

The one package that imports pyspark (the optional extra ``churnml[spark]``);
importing it without pyspark raises ``ModuleNotFoundError``. Nothing is
defined twice: features, labels and the population run the SQL of
:func:`churnml.features.feature_sql` and :mod:`churnml.labels`, translated by
:func:`churnml.engine.transpile` and :func:`spark_sql`; the post-processing
(BG/NBD family, categories) calls the same pandas code on the driver; training
and scoring call :mod:`churnml.training` and :mod:`churnml.scoring` on what
Spark produced.

Rules every entry point checks or applies:

* the session time zone is UTC (``spark.sql.session.timeZone``), so that
  casting a timestamp to a date gives the same day as DuckDB;
* time columns become ``TIMESTAMP_NTZ`` (wall-clock times of ``data.timezone``,
  like DuckDB's TIMESTAMP),
  ids strings, numbers doubles; Parquet timestamps are microseconds;
* feature columns come out as DuckDB's frame has them, but for categories:
  integers (counts, flags, the RFM days) as 32-bit ``INT``, other numbers as double,
  categories as strings (the served model's input types).

Scale: the per-customer work stays in Spark; the driver collects only a few
columns per row (the BG/NBD family's RFM columns, the sampled training table,
one probability and summary per scored customer, the outreach list's features).

Modules: :mod:`~churnml.spark.session` (sessions), :mod:`~churnml.spark.tables`
(canonical tables, pandas <-> Spark), :mod:`~churnml.spark.canonical` (schema checks
and casts), :mod:`~churnml.spark.checks` (the row rules as Spark expressions),
:mod:`~churnml.spark.validate` (row-level
validation, the rules of :mod:`churnml.validation`), :mod:`~churnml.spark.sql` (the shared
SQL: features, labels, population), :mod:`~churnml.spark.training` (sampled
training) and :mod:`~churnml.spark.scoring` (outreach list).
"""

from __future__ import annotations

from churnml.spark.scoring import customer_summary, probability_udf, score
from churnml.spark.session import LOCAL_CONF, check_session, local_session
from churnml.spark.sql import (
    count_customers,
    features,
    labels,
    not_at_risk,
    plan_features_spark,
    population,
    run_sql,
    spark_sql,
    write_parquet,
)
from churnml.spark.tables import (
    SparkTables,
    from_pandas,
    spark_tables,
    tables_from_config,
    to_pandas,
)
from churnml.spark.training import SampleInfo, sample_customers, train, training_data
from churnml.spark.validate import validate_spark_table

__all__ = [
    "LOCAL_CONF",
    "SampleInfo",
    "SparkTables",
    "check_session",
    "count_customers",
    "customer_summary",
    "features",
    "from_pandas",
    "labels",
    "local_session",
    "not_at_risk",
    "plan_features_spark",
    "population",
    "probability_udf",
    "run_sql",
    "sample_customers",
    "score",
    "spark_sql",
    "spark_tables",
    "tables_from_config",
    "to_pandas",
    "train",
    "training_data",
    "validate_spark_table",
    "write_parquet",
]
