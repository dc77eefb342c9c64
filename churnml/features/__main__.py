"""``python -m churnml.features``: point-in-time features (and labels) as Parquet, on DuckDB or Spark.

Examples::

    python -m churnml.features --engine duckdb --cutoff 1997-10-01 --out out/features
    python -m churnml.features --engine spark --data DIR --set data.returns=keep \\
        --cutoffs 2024-03-01,2024-04-01 --labels --out out/training

Writes into ``--out``:

* ``features.parquet``: ``customer_id``, ``cutoff`` and the features of every
  customer at risk at each cutoff (with ``--labels``: of every labelled
  customer, plus ``churned`` for the ``time.horizon_days`` window). DuckDB
  writes one file, Spark a folder of part files; both read as one table;
* ``plan.json``: the feature plan (families, windows, types), the same
  object a trained model stores.

Both engines run the same SQL; Spark needs ``pip install 'churnml[spark]'``
and Java 17.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from churnml.cli import add_engine_options, base_parser, config_from_args, require_spark, run
from churnml.config import Config, apply_overrides
from churnml.errors import ChurnMLError, ConfigError, SchemaError
from churnml.windows import DAY, DataSpan, stale_cutoff_text, to_cutoff

__all__ = ["main"]

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = base_parser("python -m churnml.features", "Compute point-in-time features (and labels) as Parquet.")
    add_engine_options(p)  # --engine duckdb|spark and --spark-master, as train and score have them
    p.add_argument("--master", dest="spark_master", default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # old spelling
    p.add_argument("--cutoff", action="append", default=[], help="a cutoff date, e.g. 1997-10-01 (repeatable)")
    p.add_argument("--cutoffs", help="comma-separated cutoff dates, e.g. 2024-03-01,2024-04-01")
    p.add_argument("--labels", action="store_true",
                   help="label the rows (time.horizon_days) and keep only labelled customers")
    p.add_argument("--data", help="folder with <table>.parquet|.csv files (or <table>/ Parquet folders) in "
                                  "canonical columns (default: the config's data section)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    return p


def _cutoffs(args: argparse.Namespace) -> list[str]:
    raw = list(args.cutoff) + ([c for c in args.cutoffs.split(",") if c.strip()] if args.cutoffs else [])
    if not raw:
        raise ConfigError("give at least one --cutoff DATE or --cutoffs D1,D2,...")
    return [str(to_cutoff(c.strip()).date()) for c in raw]


def _with_data_folder(cfg: Config, folder: str | None) -> Config:
    """``--data DIR``: every ``DIR/<table>.parquet`` (or ``.csv``, ``.csv.gz``, or a Parquet folder ``DIR/<table>/``)
    becomes a ``data.tables`` entry."""
    from churnml.io import folder_files

    if folder is None:
        return cfg
    found = folder_files(folder, required=("transactions",))
    tree = cfg.model_dump(mode="json")
    tree["data"]["tables"] = {}
    apply_overrides(tree, ["data.source=files", *[f"data.tables.{n}.path={p}" for n, p in found.items()]])
    return Config.model_validate(tree)


def _check_cutoffs(tables: Any, span: Callable[[Any, Config], DataSpan], cfg: Config, cutoffs: list[str],
                   labelled: bool) -> DataSpan:
    """The regime's table is there and, with ``--labels``, every label window has matured (as in training);
    a cutoff long after the data gets a warning. Returns the data's span."""
    from churnml.dataset import check_matured, check_regime_tables

    check_regime_tables(tables, cfg.time)
    data = span(tables, cfg)
    if labelled:
        check_matured(data, [to_cutoff(c) for c in cutoffs], cfg.time, what="the cutoff", where="--cutoff/--cutoffs")
    for c in cutoffs:
        text = stale_cutoff_text(to_cutoff(c), data.end, "every recency runs long")
        if text:
            log.warning("%s", text)
    return data


def _check_population(sizes: pd.Series, cutoffs: list[str], cfg: Config, data: DataSpan) -> list[str]:
    """The cutoffs where someone is at risk (the features are planned on those only, so that an empty cutoff
    drops no look-back window); refuse when there is none, warn about the others.

    ``sizes``: spine rows per cutoff (indexed by the cutoff's timestamp).
    """
    have = {str(d) for d in pd.DatetimeIndex(sizes.index[sizes.to_numpy() > 0]).date}  # as _cutoffs writes them
    empty = [c for c in cutoffs if c not in have]
    if not empty:
        return cutoffs
    window = f" within {cfg.time.active_within_days} days" if cfg.time.active_within_days else ""
    who = ("an active subscription" if cfg.time.regime == "contractual"
           else f"a purchase before the cutoff{window}")
    where = f"the transactions run from {data.first.date()} to {(data.end - DAY).date()}"
    if len(empty) == len(cutoffs):
        raise ConfigError(f"nobody is at risk at {', '.join(empty)}: no customer has {who} ({cfg.time.regime} "
                          f"regime); {where}; fix: pick cutoffs inside it")
    log.warning("nobody is at risk at %s (no customer has %s); %s; those cutoffs have no rows", ", ".join(empty),
                who, where)
    return [c for c in cutoffs if c not in empty]


def _accounting(known: int, sizes: pd.Series, cutoffs: list[str], cfg: Config) -> str:
    """Who is in the output: the customers of the tables, and how many of them are at risk at each cutoff."""
    window = f" within {cfg.time.active_within_days} days" if cfg.time.active_within_days else ""
    who = ("an active subscription at the cutoff" if cfg.time.regime == "contractual"
           else f"a purchase before the cutoff{window}")
    counts = {str(d): int(n) for d, n in zip(pd.DatetimeIndex(sizes.index).date, sizes.to_numpy(), strict=True)}
    per = ", ".join(f"{counts.get(c, 0):,} at {c}" for c in cutoffs)
    return (f"{known:,} customers in the tables; at risk (with {who}), one row each: {per}; the others have "
            "no row at that cutoff")


def _pandas_span(tables: Any, cfg: Config) -> DataSpan:
    return DataSpan.from_times(tables.transactions["timestamp"], cfg.data.end)


def _duckdb(cfg: Config, cutoffs: list[str], labelled: bool, out: Path, overwrite: bool) -> tuple[int, dict[str, Any]]:
    from churnml.features import compute_features, plan_features
    from churnml.io import load_tables, write_frame
    from churnml.labels import count_customers, make_labels, population

    tables = load_tables(cfg)
    data = _check_cutoffs(tables, _pandas_span, cfg, cutoffs, labelled)
    spine = (make_labels(tables, cutoffs, cfg.time, data_end=data.end) if labelled
             else population(tables, cutoffs, cfg.time))
    planned = _check_population(spine["cutoff"].value_counts(), cutoffs, cfg, data)
    print(_accounting(count_customers(tables), spine["cutoff"].value_counts(), cutoffs, cfg))
    plan = plan_features(tables, planned, cfg.features, horizon_days=cfg.time.horizon_days)
    feats = compute_features(tables, spine[["customer_id", "cutoff"]], plan)
    if labelled:
        feats = feats.merge(spine, on=["customer_id", "cutoff"], how="left", validate="one_to_one")
    write_frame(feats, out / "features.parquet", overwrite=overwrite)
    return len(feats), plan.to_dict()


def _spark(cfg: Config, cutoffs: list[str], labelled: bool, out: Path, overwrite: bool,
           master: str, memory: str) -> tuple[int, dict[str, Any]]:
    require_spark()  # as train and score: the install line without pyspark, and pyspark's pandas-3 warning off
    from churnml import spark as cs
    from churnml.spark.training import data_span

    session = cs.local_session(master=master, driver_memory=memory)
    tables = cs.tables_from_config(session, cfg)
    data = _check_cutoffs(tables, data_span, cfg, cutoffs, labelled)
    spine = (cs.labels(session, tables, cutoffs, cfg.time, data_end=data.end) if labelled
             else cs.population(session, tables, cutoffs, cfg.time)).persist()  # counted here, read by the features
    counted = cs.to_pandas(spine.groupBy("cutoff").count())
    planned = _check_population(counted.set_index("cutoff")["count"], cutoffs, cfg, data)
    print(_accounting(cs.count_customers(session, tables), counted.set_index("cutoff")["count"], cutoffs, cfg))
    plan = cs.plan_features_spark(tables, planned, cfg.features, horizon_days=cfg.time.horizon_days)
    feats = cs.features(session, tables, spine.select("customer_id", "cutoff"), plan, check_spine=False)
    if labelled:
        feats = feats.join(spine, on=["customer_id", "cutoff"], how="left").orderBy("cutoff", "customer_id")
    cs.write_parquet(feats, out / "features.parquet", overwrite=overwrite)
    spine.unpersist()
    return int(session.read.parquet(str(out / "features.parquet")).count()), plan.to_dict()


def _main(args: argparse.Namespace) -> int:
    from churnml.io import folder_schema_error, write_json

    cfg = _with_data_folder(config_from_args(args), args.data)
    cutoffs = _cutoffs(args)
    out = Path(args.out)
    for target in (out / "features.parquet", out / "plan.json"):
        if target.exists() and not args.overwrite:
            raise ChurnMLError(f"{target} exists; pass --overwrite to replace it")
    start = time.perf_counter()
    try:
        if args.engine == "spark":
            rows, plan = _spark(cfg, cutoffs, args.labels, out, args.overwrite, args.spark_master, args.spark_memory)
        else:
            rows, plan = _duckdb(cfg, cutoffs, args.labels, out, args.overwrite)
    except SchemaError as exc:
        if args.data is None:
            raise
        raise folder_schema_error(exc) from None
    write_json(plan, out / "plan.json", overwrite=args.overwrite)
    seconds = time.perf_counter() - start
    what = "labelled rows" if args.labels else "rows"
    print(f"{rows} {what} at {len(cutoffs)} cutoff(s) on {args.engine} in {seconds:.1f} s -> {out / 'features.parquet'}")
    print(f"feature plan -> {out / 'plan.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    return run(_main, _parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
