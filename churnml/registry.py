"""``python -m churnml.registry``: the registered versions of the churn model, and its champion by hand.

``list`` shows each version with its aliases, regime, horizon, test cutoff,
the metric it was judged on and what became of it; ``promote N`` makes version N the champion
(what ``churnml.score`` uses); ``rollback`` undoes the last change of
champion (by training or by hand), one change further back each time.
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from churnml.cli import base_parser, config_from_args, run
from churnml.tracking import model_versions, resolve_tracking_uri, rollback, set_champion

__all__ = ["main"]

#: Characters of the ``promotion`` reason the ``list`` table shows (``--json`` has all of it).
_REASON_WIDTH = 90


def _parser() -> argparse.ArgumentParser:
    common = base_parser("python -m churnml.registry", "", add_help=False)
    common.add_argument("--tracking-uri",
                        help="MLflow tracking URI (default: the config's tracking.uri, sqlite:///./mlflow.db unless "
                             "set)")
    common.add_argument("--name", help="registered model name (default: tracking.registered_model_name)")
    p = argparse.ArgumentParser(prog="python -m churnml.registry",
                                description="List the registered versions of the churn model; set or roll back "
                                            "its champion (the model churnml.score uses).")
    sub = p.add_subparsers(dest="command", required=True, metavar="{list,promote,rollback}")
    show = sub.add_parser("list", parents=[common], help="each version: aliases, regime, horizon, test cutoff, metric, "
                                                                   "promotion",
                          description="Each registered version, newest first.")
    show.add_argument("--json", action="store_true", help="print the versions as JSON (every field, in full; aliases as a list)")
    make = sub.add_parser("promote", parents=[common], help="make version N the champion",
                          description="Make version N the champion; the replaced one keeps previous_champion, "
                                      "and rollback undoes it.")
    make.add_argument("version", help="the version number, e.g. 7")
    make.add_argument("--note", default="", help="why, kept in the version's promotion tag")
    make.add_argument("--force", action="store_true",
                      help="also when N answers another question (data source, regime, horizon) than the champion")
    back = sub.add_parser("rollback", parents=[common], help="undo the last change of champion",
                          description="Make the champion before the last change champion again.")
    back.add_argument("--note", default="", help="why, kept in the rolled-back version's rolled_back tag")
    return p


def _cut(text: str) -> str:
    return text if len(text) <= _REASON_WIDTH else text[: _REASON_WIDTH - 3] + "..."


def _table(versions: pd.DataFrame) -> str:
    if versions.empty:
        return "no versions"
    shown = versions.assign(
        aliases=versions["aliases"].map(", ".join),
        horizon_days=versions["horizon_days"].astype("string").fillna(""),
        created=versions["created"].dt.strftime("%Y-%m-%d %H:%M"),
        value=versions["value"].map(lambda v: "" if pd.isna(v) else f"{v:.4f}"),
        promotion=versions["promotion"].fillna("").map(_cut), rolled_back=versions["rolled_back"].fillna("").map(_cut),
    ).drop(columns=["run_id"]).fillna("")
    return shown.to_string(index=False)


def _main(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    uri = resolve_tracking_uri(args.tracking_uri or cfg.tracking.uri)
    name = args.name or cfg.tracking.registered_model_name
    if args.command == "list":
        versions = model_versions(uri, name)
        if args.json:
            records = versions.assign(created=versions["created"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
            print(json.dumps(json.loads(records.to_json(orient="records")), indent=2))
        else:
            print(f"{name} in {uri}")
            print(_table(versions))
    elif args.command == "promote":
        print(set_champion(uri, name, args.version, note=args.note, force=args.force))
    else:
        print(rollback(uri, name, note=args.note))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    return run(_main, _parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
