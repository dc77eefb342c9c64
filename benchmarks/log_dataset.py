"""Logging a table as an MLflow dataset: churnml's digest and schema against MLflow's pandas dataset.

A training run logs its training table and each input table with
:meth:`churnml.tracking.RunLogger.dataset` (a digest of every row, the column
types from the dtypes). The idiomatic route, ``mlflow.log_input(
mlflow.data.from_pandas(frame))``, hashes the first 10,000 rows only and infers
the schema value by value. Both are timed into a throwaway SQLite store on:

* a training table: N rows x 40 float features, the label and the cutoff;
* a transactions table: M rows of (text id, UTC time, amount).

    .venv/bin/python benchmarks/log_dataset.py --rows 1000000 --transactions 10000000
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from common import load_average, peak_rss_mb, timed
from train_fit import make

from churnml.tracking import RunLogger


def transactions(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    ids = pd.Series(np.char.add("C", rng.integers(0, rows // 16 + 1, rows).astype(str)), dtype="str")
    times = pd.to_datetime(rng.integers(1_500_000_000, 1_700_000_000, rows), unit="s", utc=True)
    return pd.DataFrame({"customer_id": ids, "time": times, "amount": rng.gamma(2.0, 20.0, rows).round(2)})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000, help="training-table rows")
    p.add_argument("--transactions", type=int, default=10_000_000)
    a = p.parse_args()
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    X, y = make(a.rows, 40, 0)
    train = X.assign(churned=y, cutoff=pd.Timestamp("2024-01-01"))
    tx = transactions(a.transactions)
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(f"sqlite:///{Path(tmp) / 'bench.db'}")
        mlflow.set_experiment("bench")
        rows = []
        with mlflow.start_run() as run, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow's schema hints and pandas deprecations
            logger = RunLogger(run.info.run_id)
            for label, frame, path in (("training table", train, None), ("transactions", tx, "tx.parquet")):
                _, w_c, c_c = timed(lambda f=frame, pth=path: logger.dataset(f, "t", "input", path=pth))
                idiomatic = frame.assign(cutoff=frame["cutoff"].dt.strftime("%Y-%m-%d")) if "cutoff" in frame \
                    else frame  # as churnml logged it before: dates as text for MLflow's pandas dataset
                _, w_m, c_m = timed(lambda f=idiomatic: mlflow.log_input(from_pandas(f, name="t"), context="input"))
                rows.append((label, len(frame), w_c, c_c, w_m, c_m))
    print(f"load average {load_average()}; peak RSS {peak_rss_mb():.0f} MB (both routes, one process)")
    print("| table | rows | churnml wall s | CPU s | rows/s | mlflow.data.from_pandas wall s | CPU s | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for label, n, w_c, c_c, w_m, c_m in rows:
        print(f"| {label} | {n:,} | {w_c:.2f} | {c_c:.2f} | {n / w_c:,.0f} | {w_m:.2f} | {c_m:.2f} | "
              f"{w_c / w_m:.2f}x |")


if __name__ == "__main__":
    main()
