"""Running the feature query over a large spine in ranges of customer ids (DuckDB).

:func:`run_chunked` runs one query per range of customer ids, each seeing
the tables through a view of that range's customers, and places each
chunk's rows at their positions in the (cutoff, customer)-sorted spine,
column by column, so the result is built once. DuckDB's memory is then
bounded by one chunk. Used by :func:`churnml.features.compute_features`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from churnml.engine import TableSource, connect
from churnml.errors import SchemaError
from churnml.features.base import quote_literal

__all__ = ["normalise", "run_chunked"]

log = logging.getLogger(__name__)


def normalise(out: pd.DataFrame) -> pd.DataFrame:
    """Integer columns with NULLs (DuckDB's nullable Int64) become float64 with NaN.

    Features use float NaN for "unknown" so that LightGBM sees missing.
    """
    for col in out.columns:
        if isinstance(out[col].dtype, pd.Int64Dtype | pd.Int32Dtype | pd.Int8Dtype | pd.Int16Dtype):
            out[col] = out[col].astype("float64")
    return out


def run_chunked(
    sql: str, spine: pd.DataFrame, frames: dict[str, TableSource], n_chunks: int, one_cutoff: bool
) -> pd.DataFrame:
    """Run ``sql`` once per range of customer ids and assemble the result in (cutoff, customer) order.

    Each table is seen through a view keeping the range's customers; each
    chunk's rows (sorted by cutoff, customer like the whole) go to their
    positions in the sorted spine, column by column, so the result is built
    once without a concatenated copy.
    """
    con = connect({f"{name}__all": frame for name, frame in frames.items()} | {"spine__all": spine})
    if one_cutoff:
        # Measured: on the fast path under a range filter, DuckDB's partitioned execution reads the
        # whole Parquet file once per partition (2x slower); on the general path it helps.
        with contextlib.suppress(duckdb.Error):
            con.execute("SET disabled_optimizers = 'partitioned_execution'")
    try:
        fractions = ", ".join(str(i / n_chunks) for i in range(1, n_chunks))
        bounds = sorted(set(con.execute(f"SELECT QUANTILE_DISC(customer_id, [{fractions}]) FROM spine__all").fetchone()[0]))  # type: ignore[index]
        cases = " ".join(f"WHEN customer_id < {quote_literal(b)} THEN {i}" for i, b in enumerate(bounds))
        keys = con.execute(
            f"SELECT customer_id, cutoff, CASE {cases} ELSE {len(bounds)} END AS chunk "
            "FROM spine__all ORDER BY cutoff, customer_id"
        ).df()
        chunk_of = keys.pop("chunk").to_numpy()
        pieces: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        for i in range(len(bounds) + 1):
            low = f"customer_id >= {quote_literal(bounds[i - 1])}" if i > 0 else "TRUE"
            high = f"customer_id < {quote_literal(bounds[i])}" if i < len(bounds) else "TRUE"
            for name in frames:
                con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM "{name}__all" WHERE {low} AND {high}')
            rows = np.flatnonzero(chunk_of == i)
            con.register("spine", keys.iloc[rows])
            part = {col: _unmask(values) for col, values in con.execute(sql).fetchnumpy().items()}
            del part["customer_id"], part["cutoff"]
            pieces.append((rows, part))
            log.debug("features: chunk %d of %d, %d rows", i + 1, len(bounds) + 1, len(rows))
    finally:
        con.close()
    return _assemble(keys, pieces)


def _unmask(values: Any) -> np.ndarray:
    """A fetched column as a plain array: NULL numbers become NaN (as :func:`normalise`), other NULLs None."""
    if isinstance(values, pd.Categorical):
        return np.asarray(values.astype(object))
    if not isinstance(values, np.ma.MaskedArray):
        return np.asarray(values)
    if values.dtype.kind in "iuf":
        return np.ma.filled(values.astype("float64"), np.nan)
    out = np.asarray(values.data, dtype=object)
    out[np.ma.getmaskarray(values)] = None
    return out


def _assemble(keys: pd.DataFrame, pieces: list[tuple[np.ndarray, dict[str, np.ndarray]]]) -> pd.DataFrame:
    """One frame from chunk results placed at their row positions (column by column, freeing as it goes)."""
    n = len(keys)
    returned = sum(len(next(iter(part.values()), rows)) for rows, part in pieces)
    if returned != n:
        raise SchemaError(f"features returned {returned} rows for {n} spine rows; a table has duplicate keys", table="spine")
    columns: dict[str, Any] = {"customer_id": keys["customer_id"], "cutoff": keys["cutoff"]}
    for col in list(pieces[0][1]):
        parts = [(rows, part.pop(col)) for rows, part in pieces]
        if all(p.dtype.kind in "biuf" for _, p in parts):
            values = np.empty(n, dtype=np.result_type(*(p.dtype for _, p in parts)))
            for rows, p in parts:
                values[rows] = p
            columns[col] = values
        else:  # text: rare and small
            joined = pd.concat([pd.Series(p, index=rows) for rows, p in parts]).sort_index()
            columns[col] = joined.reset_index(drop=True)
        del parts
    return pd.DataFrame(columns)
