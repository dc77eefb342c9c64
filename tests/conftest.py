"""Shared fixtures: a tiny hand-typed world whose features are computed by hand.

The cutoff of the hand computations is 2024-02-01 (midnight UTC).
"""

from __future__ import annotations

import os
import sys

import pandas as pd
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def _ts(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, format="ISO8601"), dtype="datetime64[us]")


def frame(**cols: object) -> pd.DataFrame:
    """Build a canonical frame: customer_id as str, *_at/timestamp/start/end as datetimes."""
    out = {}
    for name, values in cols.items():
        if name in {"timestamp", "start", "end", "opened_at", "resolved_at", "signup_at", "enrolled_at",
                    "cancel_requested_at"}:
            out[name] = _ts(values)  # type: ignore[arg-type]
        elif name == "customer_id":
            out[name] = pd.Series(values, dtype="str")
        else:
            out[name] = values
    return pd.DataFrame(out)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (2 cores) for every Spark test: a JVM starts once per test run."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from churnml.spark import local_session

    session = local_session("local[2]", shuffle_partitions=4)
    yield session
    session.stop()


@pytest.fixture
def tiny_tx() -> pd.DataFrame:
    return frame(
        customer_id=["A", "A", "A", "A", "A", "B", "C", "D", "D", "D"],
        timestamp=[
            "2024-01-01 09:00", "2024-01-01 18:00", "2024-01-11 12:00", "2024-01-31 23:59",
            "2024-02-05 08:00", "2024-01-20 10:00", "2024-02-10 10:00", "2023-12-02 10:00",
            "2024-01-30 10:00", "2024-03-05 10:00",
        ],
        amount=[10.0, 5.0, 20.0, -5.0, 30.0, 50.0, 15.0, 8.0, 12.0, 9.0],
    )


@pytest.fixture
def tiny_events() -> pd.DataFrame:
    return frame(
        customer_id=["A", "A", "A", "A"],
        timestamp=["2024-01-25", "2024-01-31 12:00", "2023-12-20", "2024-02-01 00:00"],
        event_type=["login", "login", "email_open", "login"],
    )


@pytest.fixture
def tiny_surveys() -> pd.DataFrame:
    return frame(
        customer_id=["A", "A", "A", "D"],
        timestamp=["2024-01-05", "2024-01-20", "2024-01-10", "2024-02-01"],
        survey=["nps", "nps", "csat", "nps"],
        score=[9.0, 4.0, 5.0, 10.0],
    )


@pytest.fixture
def tiny_tickets() -> pd.DataFrame:
    return frame(
        customer_id=["A", "A", "B"],
        opened_at=["2024-01-10", "2024-01-28", "2024-01-25"],
        resolved_at=["2024-01-12", "2024-02-03", "2024-01-26"],
        first_contact_resolved=pd.array([True, False, False], dtype="boolean"),
    )


@pytest.fixture
def tiny_subscriptions() -> pd.DataFrame:
    return frame(
        customer_id=["A", "A", "B", "B"],
        start=["2023-12-15", "2024-01-15", "2024-01-01", "2024-01-21"],
        end=["2024-01-15", None, "2024-01-20", "2024-03-10"],
        plan=["basic", "pro", "pro", "basic"],
        mrr=[10.0, 20.0, 20.0, 10.0],
    )


@pytest.fixture
def tiny_customers() -> pd.DataFrame:
    return frame(
        customer_id=["A", "B"],
        signup_at=["2023-12-01", "2024-03-01"],
        region=["north", "south"],
        segment=["gold", "silver"],
        acquisition_channel=["ads", "referral"],
        referred_by=[None, "A"],
    )


#: The 12-row purchase log of the metrics tests (Jan-Apr 2024); B buys twice on 02-14,
#: C's April row is a return, E's first purchase is in April.
METRICS_ROWS = [
    ("A", "2024-01-05", 10.0), ("A", "2024-01-20", 20.0), ("A", "2024-03-03", 30.0),
    ("B", "2024-01-10", 50.0), ("B", "2024-02-14 09:00", 25.0), ("B", "2024-02-14 17:00", 5.0),
    ("C", "2024-02-02", 40.0), ("C", "2024-04-10", -10.0),
    ("D", "2024-03-15", 60.0), ("D", "2024-03-20", 15.0), ("D", "2024-04-02", 12.0),
    ("E", "2024-04-25", 100.0),
]  # fmt: skip


def metrics_log() -> pd.DataFrame:
    """The canonical transactions frame of :data:`METRICS_ROWS`."""
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in METRICS_ROWS], dtype="str"),
            "timestamp": pd.Series(
                pd.to_datetime([r[1] for r in METRICS_ROWS], format="ISO8601"), dtype="datetime64[us]"
            ),
            "amount": [r[2] for r in METRICS_ROWS],
        }
    )


@pytest.fixture
def registry(tmp_path):
    """A SQLite model registry with the model 'm' and three versions (no runs, no artifacts)."""
    import mlflow

    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", source=str(tmp_path))
    yield client
    mlflow.set_tracking_uri(before)
