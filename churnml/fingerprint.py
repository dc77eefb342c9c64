"""Fingerprints of tables: which data a run read, whatever the order of its rows.

A training run logs each input table and its training table as MLflow
datasets (:func:`churnml.training_log.log_training`); their digests come from
here. Two runs that read the same rows show the same digest in the MLflow UI,
and an export that changed by one value shows another.

* A frame's digest covers every row: the sum (modulo 2**64) of pandas' 64-bit
  hash of each row, the row count and the column names and types. Row and
  column order do not change it (the features and labels do not depend on
  them either); a category column hashes its values, not its codes.
* The digest covers the values as the frame holds them, with their dtypes: the
  same rows read another way (text as ``object`` instead of ``str``, times in
  nanoseconds instead of microseconds) give another digest, and pandas hashes
  an ``object`` column through the values' text, so ``1`` and ``'1'`` there
  are one value. churnml's canonical tables have one dtype per column.
* A :class:`~churnml.engine.ParquetSource`, or a file path (Spark's tables,
  read by Spark from the configured files), is not read for this: its digest
  covers the files' paths, sizes and modification times (a copy of the same
  files gets another digest).

Rows are hashed in chunks of :data:`CHUNK_ROWS`, which bounds the memory of the
hashes; the cost is about 0.14 s per million rows of (text id, time, amount) on
this project's machine (``benchmarks/log_dataset.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from churnml.engine import ParquetSource
from churnml.sources import files_state

__all__ = ["CHUNK_ROWS", "Fingerprint", "column_kinds", "fingerprint"]


@dataclass(frozen=True)
class Fingerprint:
    """A table's digest (16 hex digits), what it covers, and its rows when known."""

    digest: str
    covers: str  # "rows": every row's content; "files": the files' paths, sizes and modification times
    rows: int | None = None


def _hexdigest(parts: list[bytes]) -> str:
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


#: Rows hashed at a time (bounds the memory of the row hashes).
CHUNK_ROWS = 4_000_000


def _frame_digest(frame: pd.DataFrame) -> str:
    names = [str(c) for c in frame.columns]
    order = sorted(range(len(names)), key=lambda i: (names[i], i))  # by name; repeated names by position
    ordered = frame.iloc[:, order]
    total = 0
    for start in range(0, len(ordered) if order else 0, CHUNK_ROWS):
        hashes = pd.util.hash_pandas_object(ordered.iloc[start:start + CHUNK_ROWS], index=False)
        # a sum modulo 2**64 (numpy's uint64 sum wraps): order-free, and a repeated row counts twice
        total = (total + int(hashes.to_numpy(dtype=np.uint64).sum(dtype=np.uint64))) % 2**64
    described = [f"{names[i]}:{frame.dtypes.iloc[i]}".encode() for i in order]
    return _hexdigest([*described, str(len(ordered)).encode(), total.to_bytes(8, "little")])


def _files_digest(source: ParquetSource | list[str]) -> str:
    with duckdb.connect() as con:
        state = files_state(con, source) or ()  # None: a file vanished (the features' check names it)
    parts = [f"{name}|{size}|{mtime}".encode() for name, size, mtime in state]
    if isinstance(source, ParquetSource) and source.select is not None:
        parts.append(",".join(source.select).encode())
    return _hexdigest(parts)


def fingerprint(table: pd.DataFrame | ParquetSource | str | Path) -> Fingerprint:
    """The digest of a frame's rows, or of the files of a Parquet source or of a path (a glob pattern too).

    Examples
    --------
    >>> a = pd.DataFrame({"customer_id": ["a", "b"], "amount": [1.0, 2.0]})
    >>> fingerprint(a) == fingerprint(a.iloc[::-1])
    True
    >>> fingerprint(a).digest == fingerprint(a.assign(amount=[1.0, 2.5])).digest
    False
    """
    if isinstance(table, ParquetSource):
        return Fingerprint(_files_digest(table), "files")
    if isinstance(table, str | Path):
        return Fingerprint(_files_digest([str(table)]), "files")
    return Fingerprint(_frame_digest(table), "rows", len(table))


def column_kinds(frame: pd.DataFrame) -> list[tuple[str, str, bool]]:
    """(name, MLflow type, required) of each column: required when it has no missing value.

    The types are MLflow's ``double``, ``float``, ``long``, ``integer``,
    ``boolean``, ``datetime`` and ``string`` (categories and text).
    """
    out = []
    for i, name in enumerate(frame.columns):
        col = frame.iloc[:, i]  # by position: a repeated name is two columns
        dtype = col.dtype
        if pd.api.types.is_bool_dtype(dtype):
            kind = "boolean"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kind = "datetime"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "float" if dtype == np.float32 else "double"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "long" if getattr(dtype, "itemsize", 8) > 4 else "integer"
        else:
            kind = "string"
        out.append((str(name), kind, bool(col.notna().all())))
    return out
