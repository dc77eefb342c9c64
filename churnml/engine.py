"""The embedded SQL engine: DuckDB, pandas frames in and out.

Feature and label definitions are SQL strings written once in DuckDB's
dialect using a portable subset (no ASOF joins, no DuckDB-only functions;
window bounds arrive as columns of the cutoffs table rather than as interval
arithmetic), so that :func:`transpile` can turn them into Spark SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import duckdb
import pandas as pd

__all__ = ["run_sql", "transpile"]

log = logging.getLogger(__name__)


def run_sql(
    sql: str,
    tables: Mapping[str, pd.DataFrame],
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> pd.DataFrame:
    """Run one SQL query on DuckDB over pandas frames and return a frame.

    Parameters
    ----------
    sql : str
        The query; it refers to the frames by their names in ``tables``.
    tables : mapping of str to DataFrame
        Frames registered as views (zero copy where the dtypes allow).
    threads, memory_limit : optional
        DuckDB settings; DuckDB spills to a temporary folder beyond the limit.
    """
    con = duckdb.connect(":memory:")
    try:
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        if memory_limit is not None:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        for name, frame in tables.items():
            con.register(name, frame)
        return con.sql(sql).df()
    finally:
        con.close()


def transpile(sql: str, dialect: str = "spark") -> str:
    """Translate a DuckDB query into another dialect with sqlglot."""
    import sqlglot

    return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True))
