"""Fingerprints of tables: which data a run read, whatever the order of its rows.

A training run logs each input table and its training table as MLflow
datasets (:func:`churnml.training_log.log_training`); their digests come from
here. Two runs that read the same rows show the same digest in the MLflow UI,
and an export that changed by one value shows another.

* A frame's digest covers every row: the sum (modulo 2**64) of pandas' 64-bit
  hash of each row, the row count and the column names and types. Row and
  column order do not change it (the features and labels do not depend on
  them either); a category column hashes its values, not its codes.
* A :class:`~churnml.engine.ParquetSource` is not read for this: its digest
  covers its files' paths, sizes and modification times (a copy of the same
  files gets another digest).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from churnml.engine import ParquetSource
from churnml.sources import files_state

__all__ = ["Fingerprint", "column_kinds", "fingerprint"]


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


def _frame_digest(frame: pd.DataFrame) -> str:
    columns = sorted(map(str, frame.columns))
    ordered = frame.set_axis(list(map(str, frame.columns)), axis=1)[columns]
    total = np.uint64(0)
    if len(ordered) and columns:
        hashes = pd.util.hash_pandas_object(ordered, index=False).to_numpy(dtype=np.uint64)
        total = hashes.sum(dtype=np.uint64)  # wraps modulo 2**64: order-free, and a repeated row counts twice
    described = [f"{c}:{ordered[c].dtype}".encode() for c in columns]
    return _hexdigest([*described, str(len(ordered)).encode(), int(total).to_bytes(8, "little")])


def _files_digest(source: ParquetSource) -> str:
    with duckdb.connect() as con:
        state = files_state(con, source) or ()  # None: a file vanished (the features' check names it)
    parts = [f"{name}|{size}|{mtime}".encode() for name, size, mtime in state]
    if source.select is not None:
        parts.append(",".join(source.select).encode())
    return _hexdigest(parts)


def fingerprint(table: pd.DataFrame | ParquetSource) -> Fingerprint:
    """The digest of a frame's rows, or of a Parquet source's files.

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
    return Fingerprint(_frame_digest(table), "rows", len(table))


def column_kinds(frame: pd.DataFrame) -> list[tuple[str, str, bool]]:
    """(name, MLflow type, required) of each column: required when it has no missing value.

    The types are MLflow's ``double``, ``float``, ``long``, ``integer``,
    ``boolean``, ``datetime`` and ``string`` (categories and text).
    """
    out = []
    for name in frame.columns:
        col = frame[name]
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
