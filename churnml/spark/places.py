"""Where a Spark row comes from: its Parquet file and its row in that file.

When Spark reads Parquet itself (a path, or ``spark.read.parquet``), its
hidden ``_metadata`` column gives each row its file (``file_path``, a URI)
and its 0-based row in that file (``row_index``), through projections,
filters and repartitions. :mod:`churnml.spark.validate` uses them to name bad
rows as pandas does (1-based data rows of their file) and to keep the first
row of a key in file order. Frames without that order get None from
:func:`file_order`: built in memory, read from CSV, made by a join, a union
or an aggregation, or cached (the places would be read from the files again,
not from the cache).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

__all__ = ["FileOrder", "file_order", "places_text"]

#: PySpark 4 logs every AnalysisException of the DataFrame API to this logger, with the Java stack.
_QUERY_LOGGER = "DataFrameQueryContextLogger"


@dataclass(frozen=True)
class FileOrder:
    """The columns that place a row: ``uri`` (shown, as :func:`places_text` reads it), ``key`` (the
    decoded path: files sort by it, as Python sorts paths) and ``row`` (0-based, in its file)."""

    uri: Column
    key: Column
    row: Column


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Without PySpark's ERROR record of an AnalysisException that is expected and handled."""
    logger = logging.getLogger(_QUERY_LOGGER)
    before, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = before


def _cached(df: DataFrame) -> bool:
    """Whether ``df``, or a frame it is computed from, is cached."""
    level = df.storageLevel
    if level.useMemory or level.useDisk:
        return True
    try:  # a cached parent (then filtered, say) shows in the plan Spark would run
        plan = df._jdf.queryExecution().withCachedData().toString()
    except Exception:  # no JVM plan to read (e.g. Spark Connect): take the frame as it is
        return False
    return "InMemoryRelation" in plan


def file_order(df: DataFrame) -> FileOrder | None:
    """The file and row of each row of ``df``, where Spark reads it from Parquet files itself, else None.

    Spark's own ``_metadata`` column is used even where the data has a column
    of that name (``DataFrame.metadataColumn``).
    """
    if _cached(df):
        return None
    try:
        with _quiet():
            meta = df.metadataColumn("_metadata")
            types = [f.dataType.typeName() for f in df.select(meta["file_path"], meta["row_index"]).schema.fields]
    except AnalysisException:
        return None
    if types != ["string", "long"]:
        return None
    uri = meta["file_path"]
    # the URI escapes some characters ('%20' for a space): sort on the path, as Python sorts paths ('+' kept)
    key = F.url_decode(F.replace(uri, F.lit("+"), F.lit("%2B")))
    return FileOrder(uri, key, meta["row_index"])


def _local(uri: str) -> str:
    """A ``file:`` URI as a local path; other URIs (``s3a://...``) as they are."""
    parts = urlparse(uri)
    return unquote(parts.path) if parts.scheme == "file" else uri


def places_text(rows: list[tuple[str, int]], n: int, source: str | None) -> str:
    """Where ``rows`` (file URI, 0-based row) are, as pandas words it.

    ``data rows 2, 5 and 3 more of <file>`` (1-based; ``n`` rows in all), or
    per file when they are in several (each file's rows counted from its
    start, where pandas, reading a folder as one frame, counts across it). A
    file that is ``source`` itself is named as ``source`` is.
    """

    def name(uri: str) -> str:
        path = _local(uri)
        same = source is not None and Path(source).exists() and Path(source).resolve() == Path(path).resolve()
        return str(source) if same else path

    by_file: dict[str, list[int]] = {}
    for uri, row in rows:
        by_file.setdefault(uri, []).append(int(row) + 1)
    more = f" and {n - len(rows):,} more" if n > len(rows) else ""
    parts = [f"data {'row' if len(r) == 1 else 'rows'} {', '.join(map(str, r))}" for r in by_file.values()]
    if len(parts) == 1:  # pandas' words: data rows 2, 5 and 3 more of <file>
        return f"{parts[0]}{more} of {name(next(iter(by_file)))}"
    return ", ".join(f"{p} of {name(u)}" for p, u in zip(parts, by_file, strict=True)) + more
