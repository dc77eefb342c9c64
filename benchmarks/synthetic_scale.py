"""Speed and memory of the synthetic generator writing Parquet, chunk by chunk.

Usage (about 50M transactions)::

    .venv/bin/python benchmarks/synthetic_scale.py --customers 3300000 --out /tmp/synthetic_bench

Runs the same code as ``python -m churnml.datasets synthetic`` and reports the
rows written per table, rows per second (all tables together), wall time, the
peak resident memory and the resident memory sampled while it runs, to show
that memory stays bounded by the chunk size and not by the data size.
``--generate-only`` skips writing, to separate generation from Parquet cost.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq

from churnml.config import SyntheticConfig
from churnml.datasets.__main__ import main
from churnml.datasets.synthetic import TABLES, generate_chunks


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Sampler(threading.Thread):
    """Samples the resident memory every ``every`` seconds."""

    def __init__(self, every: float) -> None:
        super().__init__(daemon=True)
        self.every, self.samples = every, [(0.0, _rss_mb())]
        self.stop = threading.Event()
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.samples.append((time.perf_counter() - self.t0, _rss_mb()))


def _generate_only(args: argparse.Namespace) -> dict[str, int]:
    rows = dict.fromkeys(TABLES, 0)
    cfg = SyntheticConfig(customers=args.customers, seed=args.seed)
    for chunk in generate_chunks(cfg, chunk_customers=args.chunk_customers):
        for table, frame in chunk.items():
            rows[table] += len(frame)
        del chunk, frame
    return rows


def _write(args: argparse.Namespace, out: Path) -> dict[str, int]:
    with contextlib.redirect_stdout(io.StringIO()):  # the summary is printed below
        code = main([
            "synthetic", "--customers", str(args.customers), "--out", str(out),
            "--seed", str(args.seed), "--chunk-customers", str(args.chunk_customers),
            "--overwrite", "--quiet",
        ])
    if code:
        raise SystemExit(code)
    return {t: pq.ParquetFile(out / f"{t}.parquet").metadata.num_rows for t in TABLES}


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--chunk-customers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", help="output folder (default: a temporary folder, removed)")
    parser.add_argument("--generate-only", action="store_true", help="do not write files")
    args = parser.parse_args(argv)
    tmp = tempfile.TemporaryDirectory(prefix="synthetic_bench_") if args.out is None else None
    out = Path(tmp.name if tmp else args.out)
    sampler = _Sampler(every=2.0)
    sampler.start()
    t0 = time.perf_counter()
    rows = _generate_only(args) if args.generate_only else _write(args, out)
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = sum(rows.values())
    print(f"customers {args.customers:,}, chunk {args.chunk_customers:,}, "
          f"{'generate only' if args.generate_only else f'parquet in {out}'}")
    for table, n in rows.items():
        size = "" if args.generate_only else f"{(out / f'{table}.parquet').stat().st_size / 2**20:9.1f} MiB"
        print(f"  {table:<16} {n:>14,} rows {size}")
    print(f"total {total:,} rows in {wall:.1f} s: {total / wall:,.0f} rows/s "
          f"({rows['transactions'] / wall:,.0f} transactions/s)")
    tenth = max(len(sampler.samples) // 10, 1)
    timeline = ", ".join(f"{t:.0f}s {mb:,.0f}" for t, mb in sampler.samples[::tenth])
    print(f"peak RSS {peak:,.0f} MiB; RSS over time (MiB): {timeline}")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    run()
