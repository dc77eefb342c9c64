"""Fit time of the churn model on N customer-cutoff rows x F features.

Compares churnml's ChurnModel (LightGBM + early stopping + its default
calibration) with scikit-learn's HistGradientBoostingClassifier (the idiomatic
choice without LightGBM) on the same seeded data. Target (issue 4): 1M rows x
40 features fit in <= 60 s on this 2-core machine.

    .venv/bin/python benchmarks/train_fit.py --rows 1000000 --features 40
"""

from __future__ import annotations

import os

# As `python -m churnml.train` does (before LightGBM loads): OpenMP threads sleep while waiting.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse

import numpy as np
import pandas as pd
from common import load_average, peak_rss_mb, timed
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from churnml.model import ChurnModel


def make(rows: int, features: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)).astype("float64")
    X[rng.random((rows, features)) < 0.05] = np.nan
    w = rng.normal(size=features) * (rng.random(features) < 0.5)
    z = 2.0 * (np.nan_to_num(X) @ w / np.sqrt(features)) + np.sin(np.nan_to_num(X[:, 0]) * 2)
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype("int8")
    return pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(features)]), y


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--features", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trees", type=int, default=300, help="fixed number of trees for both libraries")
    p.add_argument("--skip-sklearn", action="store_true")
    a = p.parse_args()
    X, y = make(a.rows, a.features, a.seed)
    Xc, yc = make(a.rows // 5, a.features, a.seed + 1)
    churn = ChurnModel(num_boost_round=a.trees, early_stopping_rounds=a.trees + 1)
    model, wall, cpu = timed(lambda: churn.fit(X, y, X_cal=Xc, y_cal=yc))
    auc = roc_auc_score(yc, model.predict_proba(Xc))
    rows = [("churnml ChurnModel (LightGBM)", wall, cpu, auc, model.best_iteration_)]
    if not a.skip_sklearn:
        hgb = HistGradientBoostingClassifier(max_iter=a.trees, learning_rate=0.02, max_leaf_nodes=7,
                                             min_samples_leaf=400, early_stopping=False, random_state=0)
        _, w2, c2 = timed(lambda: hgb.fit(X, y))
        rows.append(("sklearn HistGradientBoosting", w2, c2, roc_auc_score(yc, hgb.predict_proba(Xc)[:, 1]),
                     a.trees))
    print(f"{a.rows:,} rows x {a.features} features; load average {load_average()}; peak RSS {peak_rss_mb():.0f} MB")
    print("| model | wall s | CPU s | rows/s | trees | AUC |")
    print("|---|---|---|---|---|---|")
    for name, w, c, auc_, trees in rows:
        print(f"| {name} | {w:.1f} | {c:.1f} | {a.rows / w:,.0f} | {trees} | {auc_:.4f} |")
    if len(rows) == 2:
        print(f"ratio sklearn / churnml wall time: {rows[1][1] / rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
