"""From simulated integer columns to canonical frames: id strings, vocabularies, dtypes and times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churnml.datasets.synthetic.clock import _Clock
from churnml.datasets.synthetic.params import GROUND_TRUTH_COLUMNS, VOCAB, Arr, Columns
from churnml.schema import TABLE_SPECS

__all__: list[str] = []  # internals of churnml.datasets.synthetic


@dataclass(frozen=True)
class _Ids:
    """The id strings of one chunk's customers (global index ``i`` -> ``C{i + 1}``)."""

    first: int
    width: int
    strings: pa.Array

    @classmethod
    def of(cls, first: int, stop: int, width: int) -> _Ids:
        return cls(first, width, _format_ids(np.arange(first, stop), width))

    def take(self, index: Arr) -> pa.Array:
        return self.strings.take(pa.array(index - self.first))


def _format_ids(index: Arr, width: int) -> pa.Array:
    text = np.strings.add("C", np.strings.zfill((index + 1).astype(str), width))
    return pa.array(text, type=pa.large_string(), mask=index < 0)


def _text(table: str, name: str, cols: Columns, ids: _Ids) -> pa.Array:
    values = cols[name]
    if name == "order_id":
        seq = pc.utf8_lpad(pc.cast(pa.array(values), pa.large_string()), 4, "0")
        dash = pa.scalar("-", pa.large_string())
        return pc.binary_join_element_wise(ids.take(cols["customer_id"]), seq, dash)
    if name == "referred_by":
        return _format_ids(values, ids.width)
    return pa.array(VOCAB[(table, name)], type=pa.large_string()).take(pa.array(values))


def _frame(table: str, cols: Columns, ids: _Ids, clock: _Clock) -> pd.DataFrame:
    """Canonical frame: dtypes follow the kinds of ``schema.TABLE_SPECS``."""
    if table == "ground_truth":
        kinds = list(GROUND_TRUTH_COLUMNS)
    else:
        kinds = [(c.name, c.kind) for c in TABLE_SPECS[table].columns]
    flag = "boolean" if table in TABLE_SPECS else "bool"  # the validator's canonical flags
    numeric = {"float": "float64", "int": "int64", "bool": flag}
    out: dict[str, Any] = {}
    for name, kind in kinds:
        if kind == "id":
            out[name] = pd.array(ids.take(cols[name]), dtype="str")
        elif kind == "str":
            out[name] = pd.array(_text(table, name, cols, ids), dtype="str")
        elif kind in ("time", "date"):
            out[name] = clock.to_datetime(cols[name])
        else:
            out[name] = pd.Series(cols[name], copy=False).astype(numeric[kind])  # type: ignore[call-overload]
    return pd.DataFrame(out, copy=False)


def _merge(parts: list[Columns]) -> Columns:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
