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


# --------------------------------------------------------- where Parquet is read in place, and where not
@pytest.fixture(scope="module")
def synthetic_world(tmp_path_factory):
    from churnml.config import SyntheticConfig
    from churnml.datasets import generate_synthetic

    raw = generate_synthetic(SyntheticConfig(customers=400, seed=3, months=12))
    folder = tmp_path_factory.mktemp("pq")
    tx = raw["transactions"][["customer_id", "timestamp", "amount"]]
    events = raw["events"][["customer_id", "timestamp", "event_type"]]
    for name, frame in (("transactions", tx), ("events", events)):
        frame.to_parquet(folder / f"{name}.parquet")
    return tx, events, folder


def test_training_reads_the_events_in_place_and_refuses_parquet_transactions(synthetic_world):
    from churnml.config import load_config
    from churnml.dataset import build_training_data
    from churnml.io import Tables

    tx, events, folder = synthetic_world
    cfg = load_config(None, overrides=["time.horizon_days=60", "time.max_train_cutoffs=2", "time.min_history_days=120",
                                       "model.min_rows=20",
                                       "features.families=[rfm,windowed,events]"])
    frames = build_training_data(Tables(transactions=tx, events=events), cfg).table
    mixed = build_training_data(Tables(transactions=tx, events=ParquetSource(folder / "events.parquet")), cfg).table
    pd.testing.assert_frame_equal(mixed, frames)
    on_disk = Tables(transactions=ParquetSource(folder / "transactions.parquet"), events=events)
    with pytest.raises(SchemaError, match=r"table 'transactions': training needs this table as a pandas frame, but it "
                                          r"is a ParquetSource \(.*transactions\.parquet\).*churnml\.io\.read_table"):
        build_training_data(on_disk, cfg)


def test_scoring_and_the_metrics_refuse_parquet_transactions_with_the_fix(synthetic_world):
    from churnml.config import load_config
    from churnml.io import Tables
    from churnml.metrics import cohort_tables, retention_kpis, rfm_table
    from churnml.model import ChurnModel
    from churnml.scoring import score_customers

    tx, events, folder = synthetic_world
    source = ParquetSource(folder / "transactions.parquet")
    with pytest.raises(SchemaError, match=r"table 'transactions': scoring needs this table as a pandas frame"):
        score_customers(Tables(transactions=source), ChurnModel(), "2023-10-01", load_config(None))
    for call in (lambda: rfm_table(source, "2023-10-01"), lambda: cohort_tables(source),
                 lambda: retention_kpis(Tables(transactions=source))):
        with pytest.raises(SchemaError, match=r"table 'transactions': the metrics need this table as a pandas frame"):
            call()
    from churnml.metrics.inputs import table_of

    with pytest.raises(SchemaError, match=r"table 'surveys': the metrics need this table as a pandas DataFrame, got list"):
        table_of({"transactions": tx, "surveys": [1, 2]}, "surveys")


def test_a_frame_reversed_by_iloc_runs_though_its_columns_are_backward_views():
    # DuckDB 2.0 fails on negative strides with a bare std::bad_cast; churnml copies those columns
    import numpy as np

    df = pd.DataFrame({"a": np.arange(5.0), "n": np.arange(5), "t": pd.date_range("2024-01-01", periods=5)})
    back = df.iloc[::-1].reset_index(drop=True)
    assert back["a"].to_numpy().strides[0] < 0
    got = run_sql("SELECT SUM(a * n) AS a, SUM(n) AS n, MIN(t) AS t FROM x", {"x": back})
    assert got.to_dict("records") == [{"a": 30.0, "n": 10, "t": pd.Timestamp("2024-01-01")}]  # 1 + 4 + 9 + 16
