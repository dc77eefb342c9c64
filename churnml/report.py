"""``python -m churnml.report``: the retention report as one self-contained HTML file.

Thin wiring around :mod:`churnml.report_html`: load the config and the tables,
optionally load a churn model and score the customers at risk at the cutoff
(default: the end of the data), render, and write the file atomically (a
temporary file in the same folder, then a rename; an existing file is only
replaced with ``--overwrite``).

Examples
--------
``python -m churnml.report --config configs/cdnow.yaml --out report.html``

``python -m churnml.report --out report.html --model models:/churnml@champion --overwrite``
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import pandas as pd

from churnml import explain
from churnml.cli import base_parser, config_from_args, run
from churnml.config import Config, TimeConfig
from churnml.errors import ChurnMLError, ModelError
from churnml.features import FeaturePlan, compute_features
from churnml.io import load_tables, write_text
from churnml.model import ChurnModel
from churnml.report_html import ModelSection, build_report, render_report
from churnml.scoring import load_churn_model, score_customers
from churnml.tracking import resolve_tracking_uri
from churnml.windows import DataSpan, to_cutoff

__all__ = ["DRIVER_SAMPLE", "main", "model_section", "write_html"]

log = logging.getLogger(__name__)

#: Customers whose TreeSHAP contributions give the report's global drivers (a seeded sample).
DRIVER_SAMPLE = 2000


def model_section(tables: object, model: ChurnModel, cfg: Config, cutoff: object, name: str = "",
                  sample: int = DRIVER_SAMPLE) -> ModelSection:
    """Score everyone at risk at ``cutoff`` and explain the model on a sample of them.

    Parameters
    ----------
    tables : Tables
        The canonical tables the model's feature plan needs.
    model : ChurnModel
        A trained model with its feature plan (``extra_["feature_plan"]``).
    cfg : Config
        ``scoring.tiers`` and the CLV settings of the value at risk; ``seed``.
    cutoff : date-like
        The moment of scoring (a midnight).
    name : str
        How the report names the model (e.g. its URI).
    sample : int
        At most this many scored customers (seeded sample) are explained with
        TreeSHAP for the global drivers (mean |SHAP|).

    Returns
    -------
    ModelSection
        Probabilities of everyone scored, risk tiers (customers, mean
        probability, value at risk = probability x predicted CLV, summed),
        global importance and the drivers in words.
    """
    quick = cfg.model_copy(deep=True)
    quick.scoring.top_k = 0  # reason codes are for outreach lists, not for a report of everyone,
    quick.scoring.playbook_reasons = 0  # and so are the actions that read them: no TreeSHAP at all
    scored = score_customers(tables, model, cutoff, quick).outreach
    tiers = scored.groupby("risk_tier", sort=False).agg(
        customers=("customer_id", "size"),
        mean_probability=("churn_probability", "mean"),
        value_at_risk=("value_at_risk", "sum"),  # of the customers with a known CLV
        unvalued=("value_at_risk", lambda v: int(v.isna().sum())),  # unknown CLV (e.g. an MRR left empty)
    )
    order = [t for t, _ in sorted(cfg.scoring.tiers.items(), key=lambda kv: -kv[1]) if t in tiers.index]
    # Features of everyone scored, then the sample: some families (BG/NBD) are fitted on the whole spine,
    # so a sample's own features would differ from the ones behind the probabilities.
    plan = FeaturePlan.from_dict(model.extra_["feature_plan"])
    spine = scored[["customer_id", "cutoff"]].sort_values("customer_id", ignore_index=True)
    feats = compute_features(tables, spine, plan)
    rows = feats.sample(n=min(sample, len(feats)), random_state=cfg.seed).sort_index()
    X = model.prepared(rows[model.feature_names_])
    contrib = explain.contributions(model.booster_, X)
    day = pd.Timestamp(scored["cutoff"].iloc[0]).date()
    return ModelSection(
        importance=explain.global_importance(contrib),
        probabilities=scored["churn_probability"].to_numpy(),
        scope=f"{len(scored):,} customers at risk on {day} (drivers from {len(X):,} of them)",
        name=name,
        drivers=explain.driver_summary(contrib, X, top=5),
        tiers=tiers.loc[order].reset_index(),
    )


def write_html(text: str, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: a temporary file in the same folder, then a rename.

    Raises
    ------
    ChurnMLError
        ``path`` exists and ``overwrite`` is False.
    """
    return write_text(text, path, overwrite)


def _parser() -> argparse.ArgumentParser:
    p = base_parser("python -m churnml.report", "Write the retention report: one self-contained HTML file.")
    p.add_argument("--out", required=True, help="the HTML file to write, e.g. report.html")
    p.add_argument("--model", default=None,
                   help="add the model section: models:/NAME@alias, runs:/RUN_ID/model or a model folder "
                        "(default: none)")
    p.add_argument("--cutoff", help="scoring date of the model section, e.g. 1998-07-01 (default: the end "
                                    "of the data)")
    p.add_argument("--freq", choices=["M", "Q", "Y"], help="KPI period (default: metrics.freq)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI of --model (default: the config's tracking.uri, "
                                          "sqlite:///./mlflow.db unless set)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    return p


def _main(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ChurnMLError(f"--out {out}: the report is an HTML page; name it .html (e.g. report.html), then print "
                           "it to PDF from a browser if a PDF is wanted")
    if out.exists() and not args.overwrite:
        raise ChurnMLError(f"{out} exists; pass --overwrite to replace it or choose another --out")
    if args.cutoff and not args.model:
        raise ChurnMLError("--cutoff is the scoring date of the model section; give --model too")
    asked = to_cutoff(args.cutoff) if args.cutoff else None  # a bad date stops before the data is read
    tables = load_tables(cfg)
    section = None
    if args.model:
        os.environ["MLFLOW_TRACKING_URI"] = resolve_tracking_uri(args.tracking_uri or cfg.tracking.uri)
        model = load_churn_model(args.model)
        if "feature_plan" not in getattr(model, "extra_", {}):
            raise ModelError(f"{args.model} has no feature plan; train it with python -m churnml.train")
        cfg = _with_model_time(cfg, model, args.model)
        end = DataSpan.from_times(tables.transactions["timestamp"], cfg.data.end).end.normalize()
        cutoff = asked if asked is not None else end
        section = model_section(tables, model, cfg, cutoff, name=args.model)
    html = render_report(build_report(tables, cfg, freq=args.freq, model=section))
    written = write_html(html, out, overwrite=args.overwrite)
    log.info("wrote the retention report (%d kB) to %s", len(html.encode()) // 1024, written.resolve())
    return 0


def _with_model_time(cfg: Config, model: ChurnModel, name: str) -> Config:
    """``cfg`` with the model's time model: the segments' churn and the header then mean the model's churn."""
    time = TimeConfig(**model.extra_["time"])
    if time != cfg.time:
        changed = [k for k in TimeConfig.model_fields if getattr(time, k) != getattr(cfg.time, k)]
        log.info("the report uses the time model of %s (%s), not the configuration's: its churn is the model's "
                 "(regime %s, horizon %d days)", name, ", ".join(f"time.{k}" for k in changed), time.regime,
                 time.horizon_days)
    return cfg.model_copy(update={"time": time})


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 for a churnml error)."""
    return run(_main, _parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
