"""ParquetSource: DuckDB reads canonical Parquet in place, with the same results as frames."""

from __future__ import annotations

import pandas as pd
import pytest

from churnml.config import FeaturesConfig
from churnml.engine import ParquetSource, run_sql
from churnml.errors import SchemaError
from churnml.features import compute_features, plan_features

CUT = pd.Timestamp("2024-02-01")


def test_features_from_parquet_sources_equal_features_from_frames(tmp_path, tiny_tx, tiny_events):
    tiny_tx.to_parquet(tmp_path / "tx.parquet")
    tiny_events.to_parquet(tmp_path / "ev.parquet")
    frames = {"transactions": tiny_tx, "events": tiny_events}
    sources = {"transactions": ParquetSource(tmp_path / "tx.parquet"), "events": ParquetSource(tmp_path / "ev.parquet")}
    spine = pd.DataFrame({"customer_id": pd.Series(["A", "B", "D"], dtype="str"), "cutoff": [CUT] * 3}).astype(
        {"cutoff": "datetime64[us]"}
    )
    cfg = FeaturesConfig(windows=[7, 30, 60], families=["rfm", "windowed", "events"])
    plan = plan_features(frames, [CUT], cfg)
    assert plan_features(sources, [CUT], cfg) == plan
    pd.testing.assert_frame_equal(compute_features(sources, spine, plan), compute_features(frames, spine, plan))


def test_a_parquet_source_projects_counts_and_lists_columns_like_a_frame(tmp_path, tiny_tx):
    tiny_tx.to_parquet(tmp_path / "tx.parquet")
    source = ParquetSource(tmp_path / "tx.parquet")
    assert len(source) == len(tiny_tx)
    assert source.columns == list(tiny_tx.columns)
    assert source[["customer_id", "amount"]].columns == ["customer_id", "amount"]
    got = run_sql("SELECT SUM(amount) AS s FROM tx", {"tx": source[["amount"]]})["s"].iloc[0]
    assert got == pytest.approx(tiny_tx["amount"].sum())


def test_a_missing_parquet_file_is_a_schema_error_naming_the_table_and_the_fix(tmp_path):
    with pytest.raises(SchemaError, match=r"(?s)table .tx.*missing\.parquet.*Fix"):
        run_sql("SELECT 1", {"tx": ParquetSource(tmp_path / "missing.parquet")})
