"""Sampling for Spark training by customer against by class, on a world where churn is rare.

A synthetic world (contractual regime: a subscription ending without renewal in a 60-day
window is rare) is trained three times on Spark, as ``python -m churnml.train --engine
spark`` does it (:func:`churnml.spark.training_data`, then
:func:`churnml.training.fit_and_evaluate`; no MLflow logging):

* every customer kept (the reference);
* ``--sample-by customer`` at the fraction;
* ``--sample-by class`` at the fraction.

Both samples keep the same uniform customers, so their calibration and test rows are the
same and their test metrics compare the fits alone. Printed per case: rows kept, churners in
the training rows, test ROC-AUC, PR-AUC, ECE, Brier, mean probability against the observed
rate, and the time of the Spark part and of the fit.

    cd benchmarks && ../.venv/bin/python spark_class_sample.py --customers 20000 --fraction 0.1
"""

from __future__ import annotations

import argparse
import json
import time

from churnml import spark as cs
from churnml.config import load_config
from churnml.io import load_tables
from churnml.spark.training import training_data
from churnml.training import fit_and_evaluate

TABLES = ("transactions", "events", "subscriptions", "surveys", "tickets", "customers")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--fraction", type=float, default=0.1)
    p.add_argument("--spark-memory", default="4g")
    args = p.parse_args()
    cfg = load_config(None, [
        "data.source=synthetic", f"data.synthetic.customers={args.customers}", "time.regime=contractual",
        "time.horizon_days=60", "time.train_horizon_days=null", "time.step_days=30",
        # a 0.1 sample of the default 0.2 calibration customers leaves about 80 calibration rows at 20k customers
        "time.calibration_share=0.5", "model.min_rows=100",
    ])
    tables = load_tables(cfg)
    spark = cs.local_session("local[2]", driver_memory=args.spark_memory)
    stables = cs.spark_tables(spark, {t: getattr(tables, t) for t in TABLES if getattr(tables, t) is not None})
    for by, fraction in (("customer", 1.0), ("customer", args.fraction), ("class", args.fraction)):
        start = time.perf_counter()
        data, info = training_data(spark, stables, cfg, fraction, sample_by=by)
        built = time.perf_counter()
        result = fit_and_evaluate(None, cfg, data=data)
        m = result.metrics["model"]
        train = data.part("train")
        print(f"{by} at {fraction}:", json.dumps({
            "rows_kept": info.rows_kept, "train_churners": int(train["churned"].sum()),
            "train_churn_share": round(float(train["churned"].mean()), 4),
            "test_roc_auc": round(m["roc_auc"], 4), "test_pr_auc": round(m["pr_auc"], 4),
            "test_ece": round(m["ece"], 4), "test_brier": round(m["brier"], 5),
            "test_mean_probability": round(float(result.test_probabilities["model"].mean()), 4),
            "test_churn_rate": round(m["base_rate"], 4),
            "spark_s": round(built - start, 1), "fit_s": round(time.perf_counter() - built, 1),
        }), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
