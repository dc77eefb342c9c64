"""Speed and memory of reading + validating a transactions table.

Generates N random transactions (seeded, vectorised), writes them as Parquet and
CSV to a temporary folder, then measures, each in a fresh subprocess:

* ``churnml``: :func:`churnml.io.read_table` (read, map, validate every rule);
* ``pandas``: the idiomatic way, ``pd.read_parquet`` / ``pd.read_csv`` +
  ``pd.to_datetime`` + the simple checks (null ids, unparsed times, negative
  amounts, ``duplicated``).

Wall time covers the read and the checks (not the imports); with ``--repeat``
the fastest run counts. Peak memory is the process' high-water resident size
(``VmHWM``, else ``ru_maxrss``; pyarrow allocates outside tracemalloc's view);
the peak after the imports is shown so the difference can be read off.

Usage::

    .venv/bin/python benchmarks/read_validate.py            # 10M rows
    .venv/bin/python benchmarks/read_validate.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CASES = ("churnml-parquet", "pandas-parquet", "churnml-csv", "pandas-csv")


def make_table(rows: int, seed: int) -> pa.Table:
    """Random transactions: 8-digit ids of ~rows/10 customers over two years, to the second."""
    rng = np.random.default_rng(seed)
    ids = pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, max(rows // 10, 1), rows)), pa.string()), 8, "0")
    seconds = rng.integers(0, 2 * 365 * 86_400, rows) + np.datetime64("2022-01-01T00:00:00", "s").astype(np.int64)
    return pa.table({
        "customer_id": ids,
        "timestamp": pa.array(seconds.astype("datetime64[s]")),
        "amount": pa.array(np.round(rng.gamma(2.0, 20.0, rows), 2)),
        "quantity": pa.array(rng.integers(1, 6, rows)),
    })


def rss_mb() -> float:
    """Peak resident memory of this process, in MB.

    ``VmHWM`` of /proc/self/status where it exists: unlike ``ru_maxrss`` it is
    not inherited from the parent across fork and exec.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(case: str, path: str) -> dict[str, float]:
    """Run one case in this process; return its wall time and memory."""
    import pandas as pd

    from churnml.io import read_table

    before = rss_mb()
    start = time.perf_counter()
    if case.startswith("churnml"):
        df = read_table("transactions", path, duplicates="drop")
    else:
        if case.endswith("parquet"):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype={"customer_id": str})
        df["timestamp"] = pd.to_datetime(df["timestamp"], format="ISO8601")
        problems = [df["customer_id"].isna().any(), df["timestamp"].isna().any(),
                    (df["amount"] < 0).any(), df.duplicated().any()]
        if any(problems):
            raise SystemExit(f"pandas checks found problems: {problems}")
    seconds = time.perf_counter() - start
    return {"rows": len(df), "seconds": seconds, "rss_after_imports_mb": before, "peak_rss_mb": rss_mb()}


def run_case(case: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", case, "--path", str(path)],
        check=True, capture_output=True, text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="runs per case; the fastest counts")
    ap.add_argument("--measure", choices=CASES, help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.path)))
        return 0
    with tempfile.TemporaryDirectory(prefix="churnml-bench-") as tmp:
        t0 = time.perf_counter()
        table = make_table(args.rows, args.seed)
        files = {"parquet": Path(tmp) / "tx.parquet", "csv": Path(tmp) / "tx.csv"}
        pq.write_table(table, files["parquet"])
        pacsv.write_csv(table, files["csv"])
        del table
        sizes = {k: p.stat().st_size / 1e6 for k, p in files.items()}
        print(f"{args.rows:,} rows generated and written in {time.perf_counter() - t0:.1f} s "
              f"(parquet {sizes['parquet']:.0f} MB, csv {sizes['csv']:.0f} MB)")
        results = {}
        for case in CASES:
            runs = [run_case(case, files[case.split("-")[1]]) for _ in range(args.repeat)]
            results[case] = min(runs, key=lambda r: r["seconds"])
    print(f"{'case':<16}{'wall s':>8}{'rows/s':>14}{'peak RSS MB':>13}{'after imports':>15}")
    for case, r in results.items():
        print(f"{case:<16}{r['seconds']:>8.2f}{r['rows'] / r['seconds']:>14,.0f}"
              f"{r['peak_rss_mb']:>13,.0f}{r['rss_after_imports_mb']:>15,.0f}")
    for fmt in ("parquet", "csv"):
        ours, theirs = results[f"churnml-{fmt}"], results[f"pandas-{fmt}"]
        print(f"{fmt}: churnml / pandas wall time = {ours['seconds'] / theirs['seconds']:.2f}, "
              f"peak memory = {ours['peak_rss_mb'] / theirs['peak_rss_mb']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
