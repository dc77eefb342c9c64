"""Features on Spark (local mode) next to DuckDB, from the same SQL, on synthetic Parquet files.

Two jobs per engine, each from Parquet files to a Parquet features table:

* **scoring**: the population at one cutoff and all its features;
* **training spine**: labels at K rolling cutoffs and the features of every labelled row.

With ``--train-fraction F`` also the training table of ``python -m churnml.train``
(its rolling cutoffs) built on Spark, sampled to a fraction F of the customers and
collected (:func:`churnml.spark.training_data`), then fitted on this machine
(:func:`churnml.training.fit_and_evaluate`; no MLflow logging).

DuckDB reads and validates the files with churnml.io first (timed apart); Spark
reads them directly. Memory: peak RSS of this process (DuckDB runs in it) and
of the Spark JVM (local mode: driver and executors in one JVM).

    cd benchmarks && ../.venv/bin/python spark_features.py --customers 70000   # about 1M transactions
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from common import load_average, peak_rss_mb, timed

from churnml.config import Config, load_config
from churnml.features import compute_features, plan_features
from churnml.io import load_tables, write_frame
from churnml.labels import make_labels, population

TABLES = ("transactions", "events", "subscriptions", "surveys", "tickets", "customers")


def _jvm_peak_mb() -> float:
    """Peak RSS of the java processes started by this one (the Spark JVM)."""
    peak = 0.0
    for pid in Path("/proc").iterdir():
        try:
            status = (pid / "status").read_text()
            if "\nPPid:\t" + str(os.getpid()) + "\n" not in status or "java" not in (pid / "cmdline").read_text():
                continue
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return peak


def _data(folder: Path, customers: int, months: int) -> None:
    if (folder / "transactions.parquet").exists():
        return
    from churnml.datasets.__main__ import main as datasets_main

    datasets_main(["synthetic", "--customers", str(customers), "--months", str(months), "--out", str(folder),
                   "--quiet"])


def _config(folder: Path, horizon: int) -> Config:
    sets = ["data.source=files", "data.returns=keep", f"time.horizon_days={horizon}",
            *[f"data.tables.{t}.path={folder / (t + '.parquet')}" for t in TABLES]]
    return load_config(None, sets)


def _duckdb(cfg: Config, cutoffs: list[pd.Timestamp], labelled: bool, out: Path) -> int:
    tables = load_tables(cfg)
    spine = make_labels(tables, cutoffs, cfg.time) if labelled else population(tables, cutoffs, cfg.time)
    plan = plan_features(tables, cutoffs, cfg.features, horizon_days=cfg.time.horizon_days)
    feats = compute_features(tables, spine[["customer_id", "cutoff"]], plan)
    write_frame(feats, out, overwrite=True)
    return len(feats)


def _spark(spark: Any, cfg: Config, cutoffs: list[pd.Timestamp], labelled: bool, out: Path) -> int:
    from churnml import spark as cs

    tables = cs.tables_from_config(spark, cfg)
    spine = (cs.labels(spark, tables, cutoffs, cfg.time) if labelled
             else cs.population(spark, tables, cutoffs, cfg.time))
    plan = cs.plan_features_spark(tables, cutoffs, cfg.features, horizon_days=cfg.time.horizon_days)
    feats = cs.features(spark, tables, spine.select("customer_id", "cutoff"), plan, check_spine=False)
    cs.write_parquet(feats, out, overwrite=True)
    return int(feats.sparkSession.read.parquet(str(out)).count())


def _train(spark: Any, cfg: Config, fraction: float) -> list[tuple[str, str, int, float, float]]:
    from churnml import spark as cs
    from churnml.training import fit_and_evaluate

    tables = cs.tables_from_config(spark, cfg)
    (data, sample), w, c = timed(lambda: cs.training_data(spark, tables, cfg, fraction))
    full, kept = sum(sample.rows_full.values()), sum(sample.rows_kept.values())
    result, w_fit, c_fit = timed(lambda: fit_and_evaluate(None, cfg, data=data))
    auc = result.metrics["model"]["roc_auc"]
    return [("spark", f"training table: {len(data.splits.train) + 2} cutoffs, {full:,} rows, "
                      f"sample {sample.fraction:g} collected", kept, w, c),
            ("one machine", f"fit + evaluate on the sample ({len(data.feature_names)} features, "
                            f"test ROC-AUC {auc:.3f})", kept, w_fit, c_fit)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=70_000)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--data", default="/tmp/churnml_spark_bench", help="folder of the synthetic Parquet files")
    p.add_argument("--cutoff", default="2024-07-01", help="the scoring cutoff")
    p.add_argument("--training-cutoffs", type=int, default=6, help="rolling cutoffs of the training spine")
    p.add_argument("--horizon", type=int, default=60)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--driver-memory", default="4g")
    p.add_argument("--engines", default="duckdb,spark")
    p.add_argument("--train-fraction", type=float, default=0.0, help="also build, sample and fit a training table")
    a = p.parse_args()
    folder = Path(a.data)
    _data(folder, a.customers, a.months)
    rows = {t: pq.ParquetFile(folder / f"{t}.parquet").metadata.num_rows for t in TABLES}
    cfg = _config(folder, a.horizon)
    score_cut = [pd.Timestamp(a.cutoff)]
    train_cuts = [score_cut[0] - pd.Timedelta(days=30 * k + a.horizon) for k in range(a.training_cutoffs)][::-1]
    jobs = [("scoring, 1 cutoff", score_cut, False), (f"training spine, {len(train_cuts)} cutoffs", train_cuts, True)]
    results = []
    if "duckdb" in a.engines:
        _, w_read, c_read = timed(lambda: load_tables(cfg))
        results.append(("duckdb", "read + validate (churnml.io)", sum(rows.values()), w_read, c_read))
        for name, cuts, labelled in jobs:
            n, w, c = timed(lambda cuts=cuts, labelled=labelled: _duckdb(cfg, cuts, labelled, folder / "out_duck.parquet"))
            results.append(("duckdb", name + " (incl. read)", n, w, c))
        duck_peak = peak_rss_mb()
    if "spark" in a.engines:
        from churnml.spark import local_session

        t0 = time.perf_counter()
        spark = local_session(a.master, shuffle_partitions=4, driver_memory=a.driver_memory)
        results.append(("spark", "session start", 0, time.perf_counter() - t0, float("nan")))
        for name, cuts, labelled in jobs:
            n, w, c = timed(lambda cuts=cuts, labelled=labelled: _spark(spark, cfg, cuts, labelled,
                                                                        folder / "out_spark.parquet"))
            results.append(("spark", name, n, w, c))
        if a.train_fraction:
            results += _train(spark, cfg, a.train_fraction)
        jvm_peak = _jvm_peak_mb()
        spark.stop()
    print(f"input rows: {rows}; {a.master}, driver memory {a.driver_memory}; load average {load_average()}")
    print("| engine | job | rows out | wall s | driver CPU s |")
    print("|---|---|---|---|---|")
    for engine, name, n, w, c in results:
        print(f"| {engine} | {name} | {n:,} | {w:.1f} | {c:.1f} |")
    if "duckdb" in a.engines:
        print(f"peak RSS of this process after DuckDB: {duck_peak:.0f} MB")
    if "spark" in a.engines:
        print(f"peak RSS of the Spark JVM: {jvm_peak:.0f} MB")


if __name__ == "__main__":
    main()
