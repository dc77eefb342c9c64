"""Running the feature query over a large spine in ranges of customer ids (DuckDB).

:func:`run_chunked` runs one query per range of customer ids, each seeing
the tables through a view of that range's customers, and places each
chunk's rows at their positions in the (cutoff, customer)-sorted spine as
soon as it is fetched, so the result is built once and only one chunk's
result is held besides it. DuckDB's memory is then bounded by one chunk.
Used by :func:`churnml.features.compute_features`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from churnml.engine import TableSource, connect
from churnml.errors import SchemaError
from churnml.features.base import quote_literal

__all__ = ["normalise", "run_chunked"]

log = logging.getLogger(__name__)

#: Seconds between two progress lines of :func:`run_chunked` (the last chunk is always reported).
PROGRESS_EVERY_S = 10.0


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
    chunk's rows (sorted by cutoff, customer like the whole) are written at
    their positions in the sorted spine as soon as the chunk is fetched, so
    that only one chunk's result is held besides the final columns.
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
        columns = _Columns(len(keys))
        n_parts = len(bounds) + 1
        log.info("features: %d spine rows in %d chunks of customer ids", len(keys), n_parts)
        start = last_report = time.perf_counter()
        for i in range(n_parts):
            low = f"customer_id >= {quote_literal(bounds[i - 1])}" if i > 0 else "TRUE"
            high = f"customer_id < {quote_literal(bounds[i])}" if i < len(bounds) else "TRUE"
            for name in frames:
                con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM "{name}__all" WHERE {low} AND {high}')
            rows = np.flatnonzero(chunk_of == i)
            con.register("spine", keys.iloc[rows])
            part = con.execute(sql).fetchnumpy()
            del part["customer_id"], part["cutoff"]
            columns.write(rows, part)
            del part
            now = time.perf_counter()
            if now - last_report >= PROGRESS_EVERY_S or i + 1 == n_parts:
                last_report, share = now, columns.written / len(keys)
                left = f", about {(now - start) * (1 - share) / share:.0f} s left" if share else ""
                log.info("features: chunk %d of %d, %.0f%% of the rows, %.0f s elapsed%s",
                         i + 1, n_parts, 100 * share, now - start, left)
    finally:
        con.close()
    return columns.frame(keys)


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


class _Columns:
    """The result, filled chunk by chunk at the chunks' row positions.

    At the first chunk, numeric columns get one 2-D block per dtype for the
    whole result (the frame's final memory: pages are committed as rows are
    written, and no consolidating copy is made at the end). A column whose
    later chunk needs a wider type (an integer column with NULLs in that
    chunk comes back as float with NaN, as in :func:`normalise`) moves to an
    array of its own. Text columns are rare and small: their pieces are
    kept and joined at the end. Every row is written by exactly one chunk,
    which :meth:`write` checks by counting.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.order: list[str] = []
        self.blocks: dict[np.dtype, np.ndarray] = {}
        self.slot: dict[str, tuple[np.dtype, int]] = {}
        self.own: dict[str, np.ndarray] = {}
        self.text: dict[str, list[pd.Series]] = {}
        self.written = 0

    def _allocate(self, part: dict[str, np.ndarray]) -> None:
        self.order = list(part)
        by_dtype: dict[np.dtype, list[str]] = {}
        for col, values in part.items():
            if values.dtype.kind in "biuf":
                by_dtype.setdefault(values.dtype, []).append(col)
        for dtype, cols in by_dtype.items():
            self.blocks[dtype] = np.empty((len(cols), self.n), dtype=dtype)
            self.slot |= {col: (dtype, j) for j, col in enumerate(cols)}

    def _target(self, col: str, dtype: np.dtype) -> np.ndarray | None:
        """Where a numeric column's values go (widened to ``dtype`` if needed); None for text."""
        if col in self.slot:
            home, j = self.slot[col]
            if np.can_cast(dtype, home, "safe"):
                return self.blocks[home][j]
            del self.slot[col]
            self.own[col] = self.blocks[home][j].astype(np.result_type(home, dtype))
        if col in self.own:
            if not np.can_cast(dtype, self.own[col].dtype, "safe"):
                self.own[col] = self.own[col].astype(np.result_type(self.own[col].dtype, dtype))
            return self.own[col]
        if col in self.text:
            return None
        raise SchemaError(f"feature column {col} came back as text and as numbers", table="spine")

    def write(self, rows: np.ndarray, fetched: dict[str, Any]) -> None:
        part = {col: _unmask(fetched.pop(col)) for col in list(fetched)}
        returned = len(next(iter(part.values()))) if part else len(rows)
        if returned != len(rows):
            raise SchemaError(
                f"features returned {returned} rows for {len(rows)} spine rows of a chunk; a table has duplicate keys",
                table="spine",
            )
        if not len(rows):  # an empty range: its dtypes (no NULL seen) must not decide the blocks
            return
        if not self.order:
            self._allocate(part)
        self.written += len(rows)
        for col in self.order:
            values = part.pop(col)
            if values.dtype.kind in "biuf":
                target = self._target(col, values.dtype)
                if target is not None:
                    target[rows] = values
                    continue
            elif col in self.slot or col in self.own:
                raise SchemaError(f"feature column {col} came back as numbers and as text", table="spine")
            self.text.setdefault(col, []).append(pd.Series(values, index=rows))

    def frame(self, keys: pd.DataFrame) -> pd.DataFrame:
        """The frame in column order, sharing the blocks' memory (no copy)."""
        if self.written != self.n:
            raise SchemaError(f"features returned {self.written} rows for {self.n} spine rows", table="spine")
        parts: list[pd.DataFrame] = [keys.reset_index(drop=True)]
        for dtype, block in self.blocks.items():
            names = [""] * len(block)
            for col, (home, j) in self.slot.items():
                if home == dtype:
                    names[j] = col
            whole = pd.DataFrame(block.T, columns=[name or f"__moved{j}" for j, name in enumerate(names)], copy=False)
            parts.append(whole[[name for name in names if name]])
        if self.own:
            parts.append(pd.DataFrame(self.own, copy=False))
        if self.text:
            parts.append(
                pd.DataFrame({col: pd.concat(pieces).sort_index().reset_index(drop=True) for col, pieces in self.text.items()})
            )
        return pd.concat(parts, axis=1)[["customer_id", "cutoff", *self.order]]
