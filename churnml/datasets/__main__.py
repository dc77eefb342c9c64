"""Command line of the bundled and generated data sets.

``python -m churnml.datasets synthetic --customers N --out DIR`` writes every
table of the data contract plus ``ground_truth``, chunk by chunk of customers:

* ``--format parquet`` (default): one file per table, ``DIR/<table>.parquet``,
  timestamps in microseconds (Spark-readable);
* ``--format csv``: one file per table, ``DIR/<table>.csv`` (header once,
  rows appended chunk by chunk).

Either folder is what ``python -m churnml.score --data`` and
``python -m churnml.features --data`` read (:func:`churnml.io.folder_files`).

Existing outputs are an error unless ``--overwrite``. Errors of the
:class:`~churnml.errors.ChurnMLError` family print one line to stderr and exit
with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TextIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError
from tqdm import tqdm

from churnml.config import SyntheticConfig, load_config
from churnml.datasets.synthetic import TABLES, count_chunks, generate_chunks
from churnml.errors import ChurnMLError, ConfigError
from churnml.schema import FOLDER_SUFFIXES

__all__ = ["build_parser", "main"]

log = logging.getLogger("churnml.datasets")


class _ParquetSink:
    """One Parquet file per table, appended chunk by chunk, renamed into place at the end."""

    def __init__(self, out: Path, overwrite: bool) -> None:
        self.out, self.overwrite = out, overwrite
        self.writers: dict[str, tuple[pq.ParquetWriter, Path]] = {}

    def targets(self) -> list[Path]:
        return [self.out / f"{t}.parquet" for t in TABLES]

    def write(self, table: str, df: pd.DataFrame) -> None:
        data = pa.Table.from_pandas(df, preserve_index=False)
        if table not in self.writers:
            tmp = self.out / f".{table}.parquet.{os.getpid()}.tmp"
            writer = pq.ParquetWriter(tmp, data.schema, coerce_timestamps="us")
            self.writers[table] = (writer, tmp)
        if data.num_rows:
            self.writers[table][0].write_table(data)

    def __enter__(self) -> _ParquetSink:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for table, (writer, tmp) in self.writers.items():
            writer.close()
            if kind is None:
                os.replace(tmp, self.out / f"{table}.parquet")
            else:
                tmp.unlink(missing_ok=True)


class _CsvSink:
    """One CSV file per table, ``<out>/<table>.csv``: the header once, then each chunk's rows appended.

    Written to a temporary file beside the target and renamed into place at
    the end (removed on error), as :func:`churnml.io.write_frame` does; the
    files are what ``--data`` folders hold (:func:`churnml.io.folder_files`).
    """

    def __init__(self, out: Path, overwrite: bool) -> None:
        self.out, self.overwrite = out, overwrite
        self.files: dict[str, tuple[TextIO, Path, list[str]]] = {}

    def targets(self) -> list[Path]:
        return [self.out / f"{t}.csv" for t in TABLES]

    def write(self, table: str, df: pd.DataFrame) -> None:
        if table not in self.files:
            tmp = self.out / f".{table}.csv.{os.getpid()}.tmp"
            self.files[table] = (tmp.open("w", encoding="utf-8", newline=""), tmp, list(df.columns))
            df.iloc[:0].to_csv(self.files[table][0], index=False)
        handle, _, columns = self.files[table]
        if not df.empty:
            df[columns].to_csv(handle, index=False, header=False)

    def __enter__(self) -> _CsvSink:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for table, (handle, tmp, _) in self.files.items():
            handle.close()
            if kind is None:
                os.replace(tmp, self.out / f"{table}.csv")
            else:
                tmp.unlink(missing_ok=True)


def _synthetic_config(args: argparse.Namespace) -> SyntheticConfig:
    given = {
        "customers": args.customers,
        "seed": args.seed,
        "start": args.start,
        "months": args.months,
        "churn_rate": args.churn_rate,
        "contractual_share": args.contractual_share,
    }
    base = load_config(args.config, list(args.set)).data.synthetic.model_dump()
    try:
        return SyntheticConfig(**{**base, **{k: v for k, v in given.items() if v is not None}})
    except ValidationError as exc:
        problems = [
            f"--{'-'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']} (got {e.get('input')!r})"
            for e in exc.errors()
        ]
        raise ConfigError("invalid synthetic options: " + "; ".join(problems)) from None


def _run_synthetic(args: argparse.Namespace) -> int:
    cfg = _synthetic_config(args)
    out = Path(args.out)
    sink: _ParquetSink | _CsvSink = (_ParquetSink if args.format == "parquet" else _CsvSink)(
        out, args.overwrite
    )
    existing = [str(p) for p in sink.targets() if p.exists()]
    if existing and not args.overwrite:
        raise ChurnMLError(
            f"{len(existing)} output file(s) exist already in {out}, e.g. {existing[0]}; "
            "pass --overwrite to replace them or choose another --out"
        )
    other = [f"{t}{s}" for t in TABLES for s in FOLDER_SUFFIXES
             if out / f"{t}{s}" not in sink.targets() and (out / f"{t}{s}").exists()]
    if other:
        raise ChurnMLError(
            f"{out} holds {', '.join(other)} already, in another format: a --data folder keeps one file per "
            "table, so the two would clash; choose another --out (or remove those files)"
        )
    out.mkdir(parents=True, exist_ok=True)
    rows = dict.fromkeys(TABLES, 0)
    chunks = generate_chunks(cfg, chunk_customers=args.chunk_customers)
    total = count_chunks(cfg.customers, args.chunk_customers)
    bar = tqdm(chunks, total=total, unit="chunk", desc="synthetic", disable=not sys.stderr.isatty())
    with sink:
        for i, chunk in enumerate(bar, start=1):
            for table, df in chunk.items():
                sink.write(table, df)
                rows[table] += len(df)
            del chunk  # free it before the next one is generated
            log.info("chunk %d/%d written (%d transactions so far)", i, total, rows["transactions"])
    where = f"<table>.{args.format}"
    print(f"wrote {len(TABLES)} tables to {out}/{where} ({cfg.customers:,} customers, seed {cfg.seed}):")
    for table, n in rows.items():
        print(f"  {table:<16} {n:>14,} rows")
    return 0


def _add_synthetic(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "synthetic",
        parents=[common],
        help="generate seeded synthetic tables with a known churn ground truth",
        description="Generate every table of the data contract plus ground_truth.",
    )
    p.add_argument("--customers", type=int, metavar="N", help="number of customers (>= 10; default from the config)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default 42)")
    p.add_argument("--months", type=int, metavar="M", help="simulated calendar months (default 24)")
    p.add_argument("--start", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                   help="first simulated day (default 2023-01-01)")
    p.add_argument("--churn-rate", type=float, metavar="R",
                   help="share of customers who churn within the period (default 0.30)")
    p.add_argument("--contractual-share", type=float, metavar="R",
                   help="share of customers with monthly subscriptions (default 0.4)")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                   help="parquet: DIR/<table>.parquet (default); csv: DIR/<table>.csv")
    p.add_argument("--chunk-customers", type=int, default=200_000, metavar="N",
                   help="customers generated and written at a time; bounds memory (default 200000)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(run=_run_synthetic)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one subcommand per data set (``synthetic``, ...)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    common.add_argument("--quiet", action="store_true", help="log warnings only")
    common.add_argument("--config", help="YAML config; its data.synthetic section gives the defaults")
    common.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="config override, e.g. --set data.synthetic.months=12 (flags win over both)")
    parser = argparse.ArgumentParser(
        prog="python -m churnml.datasets", description="Write churnml data sets to files."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    adders: list[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]] = [
        _add_synthetic
    ]
    for add in adders:
        add(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 error)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.run(args))
    except ChurnMLError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
