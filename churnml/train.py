"""``python -m churnml.train``: train, compare with baselines, log to MLflow.

With no arguments: the bundled CDNOW data, ``configs``-free defaults, and a
local SQLite MLflow store ``./mlflow.db``. With ``--engine spark``, labels and
features are computed in Spark (``churnml.spark.train``) on a customer sample
(``--sample-fraction``, ``--sample-by``) and the fit runs on this machine; the run, the
registered model and the printed summary are the same as with DuckDB.
"""

from __future__ import annotations

import os

# Before LightGBM's OpenMP runtime loads (it reads this once): waiting threads
# sleep instead of spinning. Same speed on an idle machine; on a busy 2-core
# one a 1M-row fit took 52 s instead of 69 s (benchmarks/README.md). The user's value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# MLflow draws a "Downloading artifacts" bar for every model it loads (the champion is loaded to compare it, and
# by score): noise in a command's output and its logs. The user's value wins.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import argparse
import importlib.util
import sys
from typing import Any

from churnml.cli import (
    add_engine_options,
    add_json_option,
    base_parser,
    config_from_args,
    print_json,
    refuse_options,
    require_spark,
    run,
)
from churnml.config import Config
from churnml.dataset import build_training_data, horizon_move_problem
from churnml.errors import ConfigError
from churnml.evaluate import share_lifts
from churnml.io import load_tables
from churnml.model import lightgbm_param_problems
from churnml.tracking import Promotion, check_store, resolve_tracking_uri, start_run, ui_command
from churnml.training import TrainResult, fit_and_evaluate, log_training
from churnml.training_log import default_run_name
from churnml.tuning import tune

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = base_parser("python -m churnml.train", "Train a calibrated LightGBM churn model and log it to MLflow.")
    p.add_argument("--tracking-uri",
                   help="MLflow tracking URI (default: the config's tracking.uri, sqlite:///./mlflow.db unless set)")
    p.add_argument("--experiment", help="MLflow experiment name (default: tracking.experiment)")
    p.add_argument("--run-name", help="MLflow run name (default: what was trained, <data source>-<regime>-"
                                      "<horizon>d-test-<test cutoff>, e.g. cdnow-noncontractual-273d-test-1997-10-01)")
    p.add_argument("--description", metavar="TEXT",
                   help="MLflow run description: why this run was made (shown on the run's page; Markdown)")
    p.add_argument("--tune", type=int, default=0, metavar="N",
                   help="first run N Optuna trials (nested runs, judged on the calibration cutoff)")
    add_engine_options(p)
    p.add_argument("--sample-fraction", type=float, default=None, metavar="F",
                   help="--engine spark only: train on each customer with probability F, in (0, 1] "
                        "(default 1.0: everyone)")
    p.add_argument("--sample-by", choices=("customer", "class"), default=None,
                   help="--engine spark only: 'customer' (default) samples customers uniformly; 'class' also keeps "
                        "every training row of the rarer class, weighted so probabilities stay calibrated")
    add_json_option(p)
    return p


def _summary(result: TrainResult, promotion: Promotion | None) -> str:
    names = list(result.metrics)
    # The lift at evaluation.top_fraction (e.g. lift_top_20pct) joins the decile's when the share is not 0.1.
    cols = ["roc_auc", "pr_auc", "lift_top_decile", *share_lifts(result.metrics["model"]), "brier", "ece"]
    width = max(16, *(len(n) + 1 for n in names))  # subscription_logistic is 21 characters
    lines = [" " * width + "".join(f"{c:>16s}" for c in cols)]
    for n in names:
        lines.append(f"{n:{width}s}" + "".join(f"{result.metrics[n][c]:16.4f}" for c in cols))
    d = result.data
    head = (
        f"test cutoff {d.splits.test.date()}, horizon {d.splits.test_horizon_days} days, "
        f"{len(d.part('test'))} customers, churn rate {result.metrics['model']['base_rate']:.2%}"
    )
    out = [head, *lines]
    if promotion is not None:
        alias = {"champion": "as champion", "challenger": "as challenger", "none": "without an alias"}
        out.append(f"registered version {promotion.version} {alias[promotion.alias]}: {promotion.reason}")
    return "\n".join(out)


def _record(result: TrainResult, promotion: Promotion | None, run_id: str, cfg: Config, uri: str) -> dict[str, Any]:
    """The summary as data (``--json``): the run, the test window, every model's test metrics and the
    registration."""
    d = result.data
    return {
        "run_id": run_id, "experiment": cfg.tracking.experiment, "tracking_uri": uri,
        "test_cutoff": str(d.splits.test.date()), "horizon_days": int(d.splits.test_horizon_days),
        "test_customers": len(d.part("test")), "churn_rate": result.metrics["model"]["base_rate"],
        "metrics": result.metrics,
        "registered_model": cfg.tracking.registered_model_name if promotion is not None else None,
        "version": None if promotion is None else promotion.version,
        "alias": None if promotion is None else promotion.alias,
        "promoted": promotion is not None and promotion.champion,
        "promotion": None if promotion is None else promotion.reason,
        "model_uri": None if promotion is None else
        f"models:/{cfg.tracking.registered_model_name}/{promotion.version}",
    }


def _train_duckdb(args: argparse.Namespace, cfg: Config, uri: str) -> tuple[TrainResult, Promotion | None, str]:
    tables = load_tables(cfg)
    data = build_training_data(tables, cfg)  # data and window errors end here, before a run exists
    check_store(uri, cfg.tracking.experiment)  # before the fit: one message, not a traceback after it
    name = args.run_name or default_run_name(cfg, data)
    with start_run(uri, cfg.tracking.experiment, run_name=name, description=args.description) as run:
        if args.tune:
            cfg.model.params = tune(data, cfg, args.tune, uri)
            run.params({"tuning_trials": args.tune})
        result = fit_and_evaluate(tables, cfg, data=data)
        promotion = log_training(result, cfg, run, tables)
        run_id = run.run_id
    return result, promotion, run_id


def _train_spark(args: argparse.Namespace, cfg: Config) -> tuple[TrainResult, Promotion | None, str]:
    from churnml import spark as cs

    session = cs.local_session(args.spark_master, driver_memory=args.spark_memory)
    tables = cs.tables_from_config(session, cfg)
    fraction = 1.0 if args.sample_fraction is None else args.sample_fraction
    return cs.train(session, tables, cfg, sample_fraction=fraction, run_name=args.run_name,
                    tune_trials=args.tune, sample_by=args.sample_by or "customer", description=args.description)


def _check_args(args: argparse.Namespace) -> None:
    """Refuse bad option values before any data is read or any run is started.

    Raises
    ------
    ConfigError
        One message listing every bad option and its fix.
    """
    problems = []
    if args.tune < 0:
        problems.append(f"--tune {args.tune}: the number of Optuna trials is 0 (no tuning) or more")
    elif args.tune > 0 and importlib.util.find_spec("optuna") is None:
        problems.append("--tune needs Optuna: pip install 'churnml[tune]'")
    fraction = args.sample_fraction
    if fraction is not None and not 0.0 < fraction <= 1.0:
        problems.append(f"--sample-fraction {fraction}: a share of customers in (0, 1], e.g. 0.1")
    if fraction is not None and args.engine != "spark":
        problems.append(f"--sample-fraction {fraction} samples customers on Spark only; add --engine spark, "
                        "or drop --sample-fraction to train on everyone with DuckDB")
    if args.sample_by is not None and args.engine != "spark":
        problems.append(f"--sample-by {args.sample_by} samples on Spark only; add --engine spark, "
                        "or drop --sample-by to train on everyone with DuckDB")
    elif args.sample_by == "class" and (fraction is None or fraction == 1.0):
        problems.append("--sample-by class keeps a share of the commoner class; give it with --sample-fraction "
                        "below 1, e.g. --sample-fraction 0.1")
    refuse_options(problems)


def _main(args: argparse.Namespace) -> int:
    _check_args(args)
    cfg = config_from_args(args)
    refused = lightgbm_param_problems(cfg.model.params)
    if refused:  # before the data is read and before an MLflow run exists
        raise ConfigError(f"model.params: {refused[0]}")
    problem = horizon_move_problem(cfg.time, cfg.features.families)
    if problem:
        raise ConfigError(problem)
    if args.engine == "spark":
        require_spark()
    if args.tracking_uri:
        cfg.tracking.uri = args.tracking_uri
    if args.experiment:
        cfg.tracking.experiment = args.experiment
    uri = resolve_tracking_uri(cfg.tracking.uri)
    if args.engine == "spark":
        check_store(uri, cfg.tracking.experiment)  # before Spark starts: one message, not a late traceback
        result, promotion, run_id = _train_spark(args, cfg)
    else:
        result, promotion, run_id = _train_duckdb(args, cfg, uri)
    if args.json:
        print_json(_record(result, promotion, run_id, cfg, uri))
        return 0
    print(_summary(result, promotion))
    print(f"MLflow run {run_id} in experiment '{cfg.tracking.experiment}' at {uri}")
    print(f"open it with: {ui_command(uri)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    return run(_main, _parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
