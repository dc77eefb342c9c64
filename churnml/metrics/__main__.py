"""``python -m churnml.metrics``: retention KPIs, cohorts and RFM segments to files.

Thin wiring: load the config and the tables, compute, print a summary, write
``kpis.csv``, ``kpis.json``, ``cohort_counts.csv``, ``cohort_rates.csv``,
``cohort_revenue.csv`` and ``rfm_segments.csv`` (counts only, no customer ids)
into ``--out`` (default ``metrics.out_dir``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from churnml import io
from churnml.config import Config, load_config
from churnml.errors import ChurnMLError
from churnml.metrics.cohorts import cohort_tables
from churnml.metrics.inputs import TablesLike, require_table
from churnml.metrics.periods import retention_kpis
from churnml.metrics.report import kpis_to_json, summary_text
from churnml.metrics.rfm import rfm_table, segment_counts

__all__ = ["OUTPUTS", "load_tables", "main", "parse_args", "run"]

#: The files written into the output folder.
OUTPUTS: tuple[str, ...] = (
    "kpis.csv",
    "kpis.json",
    "cohort_counts.csv",
    "cohort_rates.csv",
    "cohort_revenue.csv",
    "rfm_segments.csv",
)


def _periods(text: str) -> int:
    """``--last``: a whole number of periods, at least 1."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"a whole number of periods >= 1, got {text!r}")
    return n


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of ``python -m churnml.metrics``."""
    p = argparse.ArgumentParser(
        prog="python -m churnml.metrics",
        description="Retention KPIs per period, cohort tables and RFM segment counts.",
    )
    p.add_argument("--config", help="YAML config file (default: built-in defaults)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set time.active_within_days=365 (repeatable)")
    p.add_argument("--out", help="output folder (default: metrics.out_dir)")
    p.add_argument("--freq", choices=["M", "Q", "Y"], help="period: month, quarter or year (default: metrics.freq)")
    p.add_argument("--last", type=_periods, default=6, help="periods shown in the printed summary (default 6)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--debug", action="store_true", help="debug logging and full tracebacks")
    return p.parse_args(argv)


def load_tables(cfg: Config) -> TablesLike:
    """The canonical tables of ``cfg`` (:func:`churnml.io.load_tables`); swapped in tests."""
    return io.load_tables(cfg)


def run(cfg: Config, out_dir: Path, tables: TablesLike, freq: str | None = None,
        overwrite: bool = False, last: int = 6) -> tuple[str, list[Path]]:
    """Compute everything and write the files; return the summary text and the files written.

    Nothing is written when one of the files exists and ``overwrite`` is False.
    """
    existing = [n for n in OUTPUTS if (out_dir / n).exists()]
    if existing and not overwrite:
        raise ChurnMLError(f"{out_dir} already holds {existing}; pass --overwrite to replace them "
                           "or choose another --out")
    kpis = retention_kpis(tables, cfg, freq=freq)
    cutoff = min(pd.Timestamp(kpis["end"].iloc[-1]), pd.Timestamp(kpis.attrs["data_end"]))
    tx = require_table(tables, "transactions", "the metrics")
    cohorts = cohort_tables(tx, end=cutoff)
    segments = segment_counts(rfm_table(tx, cutoff, cfg.metrics.rfm_bins))
    frames = {
        "kpis.csv": (kpis, False),
        "cohort_counts.csv": (cohorts.counts, True),
        "cohort_rates.csv": (cohorts.rates, True),
        "cohort_revenue.csv": (cohorts.revenue, True),
        "rfm_segments.csv": (segments, False),
    }
    written = [io.write_frame(df, out_dir / n, overwrite=overwrite, index=i) for n, (df, i) in frames.items()]
    written.append(io.write_json(kpis_to_json(kpis), out_dir / "kpis.json", overwrite=overwrite))
    text = (
        f"Retention KPIs ({kpis.attrs['regime']} churn, periods {kpis['period'].iloc[0]}.."
        f"{kpis['period'].iloc[-1]}, latest {min(last, len(kpis))} shown)\n"
        f"{summary_text(kpis, last=last)}\n\n"
        f"RFM segments at {cutoff.date() if cutoff == cutoff.normalize() else cutoff} (history before it):\n"
        f"{segments[['segment', 'customers', 'share']].to_string(index=False, float_format='%.1f')}"
    )
    return text, written


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 for a churnml error)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(args.config, args.overrides)
        out_dir = Path(args.out or cfg.metrics.out_dir)
        text, written = run(cfg, out_dir, load_tables(cfg), args.freq, args.overwrite, args.last)
    except ChurnMLError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(text)
    print(f"\nwrote {len(written)} files to {out_dir.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
