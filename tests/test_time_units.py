"""Times in another unit than microseconds (pandas' nanoseconds, Parquet written from them) give the same results.

The data contract's times are ``datetime64[us]``; frames built with pandas are often
``datetime64[ns]``, and Parquet files written from them keep nanoseconds. Both are accepted,
so the labels, the population, every feature family and the KPI table must come out the same.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from churnml.config import Config, TimeConfig
from churnml.datasets.synthetic import SyntheticConfig, generate
from churnml.engine import ParquetSource
from churnml.features import compute_features, plan_features
from churnml.io import Tables
from churnml.labels import make_labels, population
from churnml.metrics import retention_kpis

CUTOFFS = ["2023-09-01", "2023-10-01"]
NAMES = ("transactions", "events", "subscriptions", "surveys", "tickets", "customers", "marketing_spend", "loyalty")


@pytest.fixture(scope="module")
def world() -> dict[str, pd.DataFrame]:
    made = generate(SyntheticConfig(customers=300, seed=3))
    return {name: made[name] for name in NAMES}


def _in_unit(world: dict[str, pd.DataFrame], unit: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in world.items():
        times = [c for c, dtype in frame.dtypes.items() if pd.api.types.is_datetime64_dtype(dtype)]
        out[name] = frame.astype({c: f"datetime64[{unit}]" for c in times})
        assert all(str(out[name][c].dtype) == f"datetime64[{unit}]" for c in times)
    return out


def _as_parquet(world: dict[str, pd.DataFrame], folder) -> dict[str, ParquetSource]:
    out = {}
    for name in ("transactions", "events", "subscriptions", "surveys", "tickets", "customers"):
        path = folder / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(world[name], preserve_index=False), path, coerce_timestamps=None)
        out[name] = ParquetSource(str(path))
    assert pq.read_schema(folder / "transactions.parquet").field("timestamp").type == pa.timestamp("ns")
    return out


def _results(tables: dict[str, object], regime: str) -> dict[str, pd.DataFrame]:
    time = TimeConfig(regime=regime, horizon_days=60)
    frames = Tables(**tables)  # type: ignore[arg-type]
    labels = make_labels(frames, CUTOFFS, time, data_end="2025-01-01")
    pop = population(frames, CUTOFFS, time)
    plan = plan_features(tables, CUTOFFS, horizon_days=time.horizon_days)
    feats = compute_features(tables, pop, plan)
    return {"labels": labels, "population": pop, "features": feats}


@pytest.mark.parametrize("regime", ["noncontractual", "contractual"])
@pytest.mark.parametrize("unit", ["ns", "ms", "s", "parquet-ns"])
def test_labels_population_and_features_do_not_depend_on_the_time_unit(world, regime, unit, tmp_path):
    expected = _results(dict(world), regime)
    given = _as_parquet(_in_unit(world, "ns"), tmp_path) if unit == "parquet-ns" else _in_unit(world, unit)
    got = _results(dict(given), regime)  # the generator's times are whole seconds: every unit holds them
    for what, frame in expected.items():
        assert len(frame) > 0
        pd.testing.assert_frame_equal(got[what], frame, obj=what)


def test_the_kpi_table_does_not_depend_on_the_time_unit(world):
    cfg = Config.model_validate({"metrics": {"freq": "M"}})
    expected = retention_kpis(world, cfg)
    got = retention_kpis(_in_unit(world, "ns"), cfg)
    pd.testing.assert_frame_equal(got, expected)


def test_a_parquet_time_stored_as_a_date_reads_as_its_midnight(world, tmp_path):
    days = {name: world[name] for name in ("transactions", "events")}
    days["transactions"] = days["transactions"].assign(timestamp=days["transactions"]["timestamp"].dt.normalize())
    given = {}
    for name, frame in days.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if name == "transactions":  # the day as a DATE column
            table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp",
                                     pa.array(frame["timestamp"].dt.date, pa.date32()))
        pq.write_table(table, tmp_path / f"{name}.parquet")
        given[name] = ParquetSource(str(tmp_path / f"{name}.parquet"))
    assert pq.read_schema(tmp_path / "transactions.parquet").field("timestamp").type == pa.date32()
    got = _results(given, "noncontractual")  # the tables read in place: DuckDB casts the DATE to a TIMESTAMP
    for what, frame in _results(days, "noncontractual").items():
        pd.testing.assert_frame_equal(got[what], frame, obj=what)
