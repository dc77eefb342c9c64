"""Scoring speed: probabilities for 1M customers, reason codes for 100k.

A model is trained on seeded synthetic feature rows (40 features, the
default churnml LightGBM settings), then timed on a features table:

* ``predict_proba`` on N rows (target: 1M in <= 5 s);
* reason codes on M rows: LightGBM's native TreeSHAP (``pred_contrib``) +
  :func:`churnml.explain.reason_codes` (target: 100k in <= 30 s), against
  ``shap.TreeExplainer`` for the contributions alone (the idiomatic route).

    .venv/bin/python benchmarks/scoring.py --rows 1000000 --reasons 100000
"""

from __future__ import annotations

import argparse

from common import load_average, peak_rss_mb, timed
from train_fit import make

from churnml import explain
from churnml.model import ChurnModel


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--reasons", type=int, default=100_000)
    p.add_argument("--train-rows", type=int, default=200_000)
    p.add_argument("--shap-rows", type=int, default=5_000, help="rows for the shap.TreeExplainer comparison")
    p.add_argument("--trees", type=int, default=1000, help="fixed tree count (1000 = the default maximum)")
    a = p.parse_args()
    X, y = make(a.train_rows, 40, 0)
    Xc, yc = make(a.train_rows // 4, 40, 1)
    model = ChurnModel(num_boost_round=a.trees, early_stopping_rounds=a.trees + 1).fit(X, y, X_cal=Xc, y_cal=yc)
    Xs, _ = make(a.rows, 40, 2)
    _, w_p, c_p = timed(lambda: model.predict_proba(Xs))
    Xr = model.prepared(Xs.head(a.reasons))

    def reasons() -> object:
        return explain.reason_codes(explain.contributions(model.booster_, Xr), Xr, top_k=3)

    _, w_r, c_r = timed(reasons)
    import shap

    small = Xr.head(a.shap_rows)
    _, w_s, _ = timed(lambda: shap.TreeExplainer(model.booster_).shap_values(small))
    _, w_n, _ = timed(lambda: explain.contributions(model.booster_, small))
    print(f"model: {model.booster_.num_trees()} trees of <= 7 leaves; load average {load_average()}; "
          f"peak RSS {peak_rss_mb():.0f} MB")
    print("| step | rows | wall s | CPU s | rows/s |")
    print("|---|---|---|---|---|")
    print(f"| churn probability | {a.rows:,} | {w_p:.2f} | {c_p:.2f} | {a.rows / w_p:,.0f} |")
    print(f"| reason codes (top 3) | {a.reasons:,} | {w_r:.2f} | {c_r:.2f} | {a.reasons / w_r:,.0f} |")
    print(f"| contributions: LightGBM pred_contrib | {a.shap_rows:,} | {w_n:.2f} | | {a.shap_rows / w_n:,.0f} |")
    print(f"| contributions: shap.TreeExplainer | {a.shap_rows:,} | {w_s:.2f} | | {a.shap_rows / w_s:,.0f} |")


if __name__ == "__main__":
    main()
