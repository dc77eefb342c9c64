"""``python -m churnml.score``: a ranked outreach list a CRM can import.

Writes the list (CSV or Parquet by the suffix of ``--out``) and, beside it,
``<name>.unscored.csv`` with every asked customer that could not be scored and
why. Both are written atomically and never replace a file without
``--overwrite``. With ``--engine spark``, features and probabilities of
everyone at risk (or of the ``--customers`` asked) are computed in Spark
(``churnml.spark.score``); the files and printed lines are the same.
"""

from __future__ import annotations

import os

# Before LightGBM's OpenMP runtime loads (it reads this once): waiting threads
# sleep instead of spinning. Same speed on an idle machine; on a busy 2-core
# one a 1M-row fit took 52 s instead of 69 s (benchmarks/README.md). The user's value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd

from churnml.cli import add_engine_options, base_parser, config_from_args, require_spark, run
from churnml.config import Config
from churnml.errors import ChurnMLError
from churnml.io import Tables, load_tables, read_table, write_frame
from churnml.model import ChurnModel
from churnml.schema import TABLE_SPECS
from churnml.scoring import ScoreResult, load_churn_model, score_customers, spreadsheet_safe
from churnml.tracking import resolve_tracking_uri

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = base_parser("python -m churnml.score", "Score customers and write a ranked outreach list.")
    p.add_argument("--model", default=None,
                   help="models:/NAME@alias (default: models:/<tracking.registered_model_name>@champion), "
                        "runs:/RUN_ID/model, or a model folder")
    p.add_argument("--data", help="folder with <table>.parquet|.csv files in canonical columns "
                                  "(default: the config's data section)")
    p.add_argument("--customers", help="CSV with a customer_id column: the customers to score "
                                       "(default: everyone at risk at the cutoff)")
    p.add_argument("--cutoff", required=True, help="scoring date, e.g. 1998-07-01 (midnight UTC)")
    p.add_argument("--out", required=True, help="output file: .csv, .csv.gz or .parquet")
    limit = p.add_mutually_exclusive_group()
    limit.add_argument("--top", type=int, help="keep the N customers with the highest value at risk")
    limit.add_argument("--budget", type=float, help="contact budget (money); see scoring.cost_per_contact")
    p.add_argument("--top-k", type=int, help="reasons per customer (default scoring.top_k)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: sqlite:///./mlflow.db)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_engine_options(p)
    return p


def _folder_files(folder: Path) -> dict[str, Path]:
    """``folder/<table>.parquet|.csv|.csv.gz`` of every canonical table found."""
    found = {}
    for name in TABLE_SPECS:
        for suffix in (".parquet", ".csv", ".csv.gz"):
            path = folder / f"{name}{suffix}"
            if path.is_file():
                found[name] = path
                break
    if "transactions" not in found:
        raise ChurnMLError(f"{folder} has no transactions.parquet or transactions.csv")
    return found


def _folder_tables(folder: Path) -> Tables:
    files = _folder_files(folder)
    return Tables(**{name: read_table(name, path, returns="keep", duplicates="keep") for name, path in files.items()})


def _asked(args: argparse.Namespace) -> list[str] | None:
    """The ids of ``--customers`` (a CSV with a customer_id column), or None for everyone at risk."""
    if not args.customers:
        return None
    return read_table("customers", args.customers, duplicates="keep")["customer_id"].tolist()


def _score_duckdb(args: argparse.Namespace, cfg: Config, model: ChurnModel) -> ScoreResult:
    tables = _folder_tables(Path(args.data)) if args.data else load_tables(cfg)
    return score_customers(tables, model, args.cutoff, cfg, _asked(args), args.top, args.budget)


def _score_spark(args: argparse.Namespace, cfg: Config, model: ChurnModel) -> ScoreResult:
    from churnml import spark as cs

    session = cs.local_session(args.spark_master)
    if args.data:  # Parquet read and validated by Spark; CSV read and validated here
        wanted = {f.name for f in fields(cs.SparkTables)}
        sources: dict[str, Any] = {
            name: path if path.suffix == ".parquet" else read_table(name, path, returns="keep", duplicates="keep")
            for name, path in _folder_files(Path(args.data)).items() if name in wanted
        }
        tables = cs.spark_tables(session, sources, returns="keep", duplicates="keep")  # as --data on DuckDB
    else:
        tables = cs.tables_from_config(session, cfg)
    return cs.score(session, tables, model, args.cutoff, cfg, args.top, args.budget, customers=_asked(args))


def _main(args: argparse.Namespace) -> int:
    import os

    cfg = config_from_args(args)
    if args.engine == "spark":
        require_spark()
    if args.top_k is not None:
        cfg.scoring.top_k = args.top_k
    out = Path(args.out)
    side = out.with_name(out.name.split(".")[0] + ".unscored.csv")
    for target in (out, side):
        if target.exists() and not args.overwrite:
            raise ChurnMLError(f"{target} exists; pass --overwrite to replace it")
    os.environ["MLFLOW_TRACKING_URI"] = resolve_tracking_uri(args.tracking_uri or cfg.tracking.uri)
    uri = args.model or f"models:/{cfg.tracking.registered_model_name}@champion"
    model = load_churn_model(uri)
    result = _score_spark(args, cfg, model) if args.engine == "spark" else _score_duckdb(args, cfg, model)
    write_frame(spreadsheet_safe(result.outreach), out, overwrite=args.overwrite)
    write_frame(spreadsheet_safe(result.unscored), side, overwrite=args.overwrite)
    c = result.counts
    print(f"{c['asked']} customers asked: {c['scored']} scored, {c['unscored']} not scored (see {side})")
    print(f"{c['listed']} on the outreach list {out} ({c['below_cut']} scored but below the cut)")
    if len(result.outreach):
        cols = ["rank", "customer_id", "churn_probability", "risk_tier", "value_at_risk", "suggested_action"]
        with pd.option_context("display.width", 160, "display.max_columns", 10):
            print(result.outreach[cols].head(10).to_string(index=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    return run(_main, _parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
