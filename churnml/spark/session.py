"""Spark sessions set up as churnml needs them: UTC, microsecond Parquet timestamps, no UI."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping

from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from churnml.errors import ConfigError

__all__ = ["LOCAL_CONF", "check_session", "local_session"]

#: Settings of :func:`local_session`; the time zone is also checked on any session.
LOCAL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}

_UTC = ("UTC", "Etc/UTC", "Z", "+00:00")


def local_session(master: str = "local[2]", shuffle_partitions: int = 4, driver_memory: str = "4g",
                  conf: Mapping[str, str] | None = None) -> SparkSession:
    """A Spark session for one machine, set up as churnml needs it.

    Sets the UTC session time zone, microsecond Parquet timestamps, no UI and
    no console progress bar; in local mode also ``PYSPARK_PYTHON`` (this
    Python) and ``SPARK_LOCAL_IP`` (127.0.0.1) unless already set, and binds
    the driver to loopback. A session already running in this process is
    reused (``getOrCreate``) with these settings applied where Spark allows.

    Parameters
    ----------
    master : str
        ``local[N]`` (N cores) or a cluster master URL.
    shuffle_partitions : int
        ``spark.sql.shuffle.partitions``: about 2-4 per core in local mode.
    driver_memory : str
        JVM heap of the driver (in local mode, of everything), e.g. ``"8g"``.
        Measured here: 100k synthetic customers (1.6M transactions, 5.0M
        events) handed over from memory train in 4g (the default); tables
        handed over from memory (pandas frames) are held in this heap.
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
        # A JVM out of heap would otherwise leave Python waiting on it for ever (seen while collecting a
        # training table): exit, so that the call fails with an error.
        settings["spark.driver.extraJavaOptions"] = "-XX:+ExitOnOutOfMemoryError"
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName("churnml")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except PySparkRuntimeError as exc:  # e.g. JAVA_GATEWAY_EXITED: no usable Java
        java = os.environ.get("JAVA_HOME") or shutil.which("java") or "not found on PATH"
        raise ConfigError(
            f"Spark could not start its JVM ({exc.getCondition() or type(exc).__name__}; Java: {java}). "
            "Fix: install Java 17 and set JAVA_HOME (java -version must work), or use --engine duckdb"
        ) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def check_session(spark: SparkSession) -> None:
    """Raise :class:`ConfigError` unless the session time zone is UTC."""
    zone = spark.conf.get("spark.sql.session.timeZone")
    if zone not in _UTC:
        raise ConfigError(
            f"the Spark session time zone is {zone!r}; churnml's times are naive local times of data.timezone, "
            "which another session zone would shift again. Fix: spark.conf.set('spark.sql.session.timeZone', 'UTC') or use churnml.spark.local_session()"
        )
