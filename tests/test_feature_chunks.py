"""Assembling chunked feature results (churnml.features.chunks._Columns) and the spine's key check."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from churnml.errors import SchemaError
from churnml.features import compute_features, plan_features
from churnml.features.chunks import _Columns


def _keys(n: int) -> pd.DataFrame:
    ids = pd.Series([f"C{i}" for i in range(n)], dtype="str")
    return pd.DataFrame({"customer_id": ids, "cutoff": pd.Timestamp("2024-02-01")}).astype({"cutoff": "datetime64[us]"})


def test_chunks_written_at_their_rows_give_the_columns_in_order_with_widened_types():
    cols = _Columns(5)
    # Chunk 1 holds rows 0, 2, 4: `n` has no NULL there (int), `gap` is float, `plan` is text.
    cols.write(np.array([0, 2, 4]), {
        "n": np.array([1, 3, 5]),
        "gap": np.array([0.5, 1.5, 2.5]),
        "plan": np.array(["a", "c", "e"], dtype=object),
    })
    # Chunk 2 (rows 1, 3): `n` has a NULL, so it comes back masked and must become float with NaN.
    cols.write(np.array([1, 3]), {
        "n": np.ma.MaskedArray([2, 0], mask=[False, True]),
        "gap": np.array([1.0, 2.0]),
        "plan": np.array(["b", None], dtype=object),
    })
    out = cols.frame(_keys(5))
    assert out.columns.tolist() == ["customer_id", "cutoff", "n", "gap", "plan"]
    assert out["customer_id"].tolist() == ["C0", "C1", "C2", "C3", "C4"]
    assert out["n"].dtype == "float64"
    np.testing.assert_array_equal(out["n"].to_numpy(), [1.0, 2.0, 3.0, np.nan, 5.0])
    assert out["gap"].tolist() == [0.5, 1.0, 1.5, 2.0, 2.5]
    assert out["plan"].tolist()[:3] == ["a", "b", "c"] and out["plan"].isna().tolist() == [False] * 3 + [True, False]


def test_an_integer_column_without_nulls_stays_integer_and_the_frame_shares_the_block():
    cols = _Columns(4)
    cols.write(np.array([1, 3]), {"n": np.array([20, 40]), "x": np.array([0.2, 0.4])})
    cols.write(np.array([0, 2]), {"n": np.array([10, 30]), "x": np.array([0.1, 0.3])})
    block = cols.blocks[np.dtype("int64")]
    out = cols.frame(_keys(4))
    assert out["n"].dtype == "int64" and out["n"].tolist() == [10, 20, 30, 40]
    assert out["x"].tolist() == [0.1, 0.2, 0.3, 0.4]
    assert np.shares_memory(out["n"].to_numpy(), block)  # no consolidating copy


def test_an_empty_first_chunk_does_not_decide_the_column_types():
    cols = _Columns(2)
    cols.write(np.array([], dtype=np.int64), {"gap": np.array([], dtype=np.int64)})
    cols.write(np.array([0, 1]), {"gap": np.ma.MaskedArray([3, 0], mask=[False, True])})
    out = cols.frame(_keys(2))
    assert out["gap"].dtype == "float64" and out["gap"].isna().tolist() == [False, True]
    assert list(cols.blocks) == [np.dtype("float64")]  # no int block left over from the empty chunk


def test_a_chunk_returning_more_rows_than_its_spine_rows_is_an_error():
    cols = _Columns(3)
    with pytest.raises(SchemaError, match="returned 3 rows for 2 spine rows of a chunk"):
        cols.write(np.array([0, 1]), {"n": np.array([1, 2, 3])})


def test_rows_left_unwritten_are_an_error():
    cols = _Columns(3)
    cols.write(np.array([0, 1]), {"n": np.array([1, 2])})
    with pytest.raises(SchemaError, match="returned 2 rows for 3 spine rows"):
        cols.frame(_keys(3))


def test_a_spine_repeating_a_customer_and_cutoff_is_refused_on_both_paths(tiny_tx):
    plan = plan_features({"transactions": tiny_tx}, [pd.Timestamp("2024-02-01")])
    twice = pd.concat([_keys(1).assign(customer_id="A")] * 2, ignore_index=True)
    for chunk_rows in (1, 10):
        with pytest.raises(SchemaError, match="repeated"):
            compute_features({"transactions": tiny_tx}, twice, plan, chunk_rows=chunk_rows)


def test_a_chunked_run_reports_its_progress(tiny_tx, caplog, monkeypatch):
    import churnml.features.chunks as chunks

    monkeypatch.setattr(chunks, "PROGRESS_EVERY_S", 0.0)  # report every chunk
    cut = pd.Timestamp("2024-02-01")
    plan = plan_features({"transactions": tiny_tx}, [cut])
    keys = pd.DataFrame({"customer_id": pd.Series(["A", "B", "C"], dtype="str"), "cutoff": [cut] * 3}).astype(
        {"cutoff": "datetime64[us]"})
    with caplog.at_level(logging.INFO, logger="churnml.features.chunks"):
        compute_features({"transactions": tiny_tx}, keys, plan, chunk_rows=1)
    lines = [r.getMessage() for r in caplog.records if r.name == "churnml.features.chunks"]
    assert lines[0] == "features: 3 spine rows in 3 chunks of customer ids"
    # The ranges start at the spine's id quantiles (A, B): the first range (ids below A) is empty,
    # so it has no estimate of the time left; the last line reports all rows.
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["features: chunk 1 of 3", " 0% of the rows"], ["features: chunk 2 of 3", " 33% of the rows"],
        ["features: chunk 3 of 3", " 100% of the rows"]]
    assert lines[1].endswith("s elapsed") and lines[-1].endswith("about 0 s left")
