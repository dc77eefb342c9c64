"""``python -m churnml.train``: train, compare with baselines, log to MLflow.

With no arguments: the bundled CDNOW data, ``configs``-free defaults, and a
local SQLite MLflow store ``./mlflow.db``.
"""

from __future__ import annotations

import argparse
import sys

from churnml.cli import base_parser, config_from_args, run
from churnml.dataset import build_training_data
from churnml.io import load_tables
from churnml.tracking import Promotion, resolve_tracking_uri, start_run, ui_command
from churnml.training import TrainResult, fit_and_evaluate, log_training
from churnml.tuning import tune

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = base_parser("python -m churnml.train", "Train a calibrated LightGBM churn model and log it to MLflow.")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: sqlite:///./mlflow.db)")
    p.add_argument("--experiment", help="MLflow experiment name (default: tracking.experiment)")
    p.add_argument("--run-name", help="MLflow run name")
    p.add_argument("--tune", type=int, default=0, metavar="N",
                   help="first run N Optuna trials (nested runs, judged on the calibration cutoff)")
    return p


def _summary(result: TrainResult, promotion: Promotion | None) -> str:
    names = list(result.metrics)
    cols = ["roc_auc", "pr_auc", "lift_top_decile", "brier", "ece"]
    lines = [f"{'':16s}" + "".join(f"{c:>16s}" for c in cols)]
    for n in names:
        lines.append(f"{n:16s}" + "".join(f"{result.metrics[n][c]:16.4f}" for c in cols))
    d = result.data
    head = (
        f"test cutoff {d.splits.test.date()}, horizon {d.splits.test_horizon_days} days, "
        f"{len(d.part('test'))} customers, churn rate {result.metrics['model']['base_rate']:.2%}"
    )
    out = [head, *lines]
    if promotion is not None:
        alias = "champion" if promotion.champion else "challenger"
        out.append(f"registered version {promotion.version} as {alias}: {promotion.reason}")
    return "\n".join(out)


def _main(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.tracking_uri:
        cfg.tracking.uri = args.tracking_uri
    if args.experiment:
        cfg.tracking.experiment = args.experiment
    uri = resolve_tracking_uri(cfg.tracking.uri)
    tables = load_tables(cfg)
    with start_run(uri, cfg.tracking.experiment, run_name=args.run_name) as run:
        data = build_training_data(tables, cfg)
        if args.tune:
            cfg.model.params = tune(data, cfg, args.tune, uri)
            run.params({"tuning_trials": args.tune})
        result = fit_and_evaluate(tables, cfg, data=data)
        promotion = log_training(result, cfg, run, tables)
        run_id = run.run_id
    print(_summary(result, promotion))
    print(f"MLflow run {run_id} in experiment '{cfg.tracking.experiment}' at {uri}")
    print(f"open it with: {ui_command(uri)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    return run(_main, _parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
