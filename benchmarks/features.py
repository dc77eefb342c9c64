"""Point-in-time features: speed and memory of churnml against idiomatic pandas.

For each data size (synthetic data: about 15.7 transactions and 50 events per
customer) and for one cutoff and 12 rolling cutoffs 28 days apart (the newest
one is the day after the last transaction), it measures, each case in its own
subprocess:

* ``churnml``: the tables as :class:`churnml.engine.ParquetSource` (DuckDB
  reads the Parquet files in place), the spine from
  :func:`churnml.labels.population`, :func:`churnml.features.plan_features`
  with the families rfm, windowed and events, then
  :func:`churnml.features.compute_features`;
* ``churnml-frames`` (optional): the same on pandas frames read with
  ``pd.read_parquet``;
* ``pandas``: ``pd.read_parquet`` and the reference implementation of
  ``benchmarks/pandas_features.py`` (spine and features).

Reported per case: wall time, CPU time (all threads), peak resident memory
(``VmHWM``), input rows (transactions + events) per second of wall time, the
phases (load, spine, plan, features) and the 1-minute load average before the
case (the machine is shared). The benchmark asserts that churnml and pandas
give the same spine and the same features (relative tolerance 1e-9); above
``--pandas-max`` transactions pandas runs on a seeded sample of customers
only, and the comparison is made on that sample.

The Markdown table is printed and merged into ``benchmarks/results/features.md``
and ``features.json`` (one row per size, cutoffs and engine; reruns replace
their rows).

Usage::

    .venv/bin/python benchmarks/features.py --sizes 1M,10M
    .venv/bin/python benchmarks/features.py --sizes 50M --cutoffs 1 --data /tmp/churnml_featbench/50M
    .venv/bin/python benchmarks/features.py --transactions 2000000 --repeat 3

Data is generated once per size with ``python -m churnml.datasets synthetic``
into ``--cache`` (default ``/tmp/churnml_featbench/<size>``), or read from
``--data DIR`` (a folder with ``transactions.parquet`` and ``events.parquet``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TX_PER_CUSTOMER = 15.73  # the synthetic generator's defaults (51.9M transactions for 3.3M customers)
STEP_DAYS = 28
FAMILIES = ["rfm", "windowed", "events"]
TX_COLUMNS = ["customer_id", "timestamp", "amount"]
EV_COLUMNS = ["customer_id", "timestamp", "event_type"]


# ---------------------------------------------------------------------------------------------
# measuring one case (runs in a fresh subprocess)
def _status(field: str) -> float:
    """A /proc/self/status memory field in MiB (VmHWM: peak resident, VmRSS: current)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cutoffs(data: Path, n: int) -> list[Any]:
    import duckdb
    import pandas as pd

    with duckdb.connect() as con:
        last = con.execute(f"SELECT MAX(\"timestamp\") FROM read_parquet('{data / 'transactions.parquet'}')").fetchone()
    end = pd.Timestamp(last[0]).normalize() + pd.Timedelta(days=1)  # type: ignore[index]
    return [end - pd.Timedelta(days=STEP_DAYS * k) for k in range(n - 1, -1, -1)]


def _read(data: Path, table: str, columns: list[str], sample: Path | None) -> Any:
    import pandas as pd
    import pyarrow.parquet as pq

    filters = None
    if sample is not None:
        ids = pq.read_table(sample).column("customer_id").to_pylist()
        filters = [("customer_id", "in", ids)]
    return pd.read_parquet(data / f"{table}.parquet", columns=columns, filters=filters)


def run_case(engine: str, data: Path, n_cutoffs: int, out: Path, sample: Path | None) -> dict[str, Any]:
    """Compute the features with one engine; write them (or the sampled customers' rows) to ``out``."""
    import pandas as pd

    from churnml.config import FeaturesConfig, TimeConfig
    from churnml.engine import ParquetSource
    from churnml.features import compute_features, plan_features
    from churnml.io import Tables
    from churnml.labels import population

    sys.path.insert(0, str(HERE))
    from pandas_features import pandas_features, pandas_population

    cuts = _cutoffs(data, n_cutoffs)
    cfg = FeaturesConfig(families=FAMILIES)
    rss_imports = _status("VmRSS")
    marks = [("start", time.perf_counter())]
    cpu0 = time.process_time()
    if engine == "churnml":
        tx: Any = ParquetSource(data / "transactions.parquet")[TX_COLUMNS]
        ev: Any = ParquetSource(data / "events.parquet")[EV_COLUMNS]
    else:
        use_sample = sample if engine == "pandas" else None
        tx, ev = _read(data, "transactions", TX_COLUMNS, use_sample), _read(data, "events", EV_COLUMNS, use_sample)
    marks.append(("load", time.perf_counter()))
    tables = Tables(transactions=tx, events=ev)
    if engine == "pandas":
        spine = pandas_population(tx, cuts)
        marks.append(("spine", time.perf_counter()))
        # On a sample, plan on the whole data (event types, first day) so that the columns match.
        planned = tables if sample is None else Tables(
            transactions=ParquetSource(data / "transactions.parquet")[TX_COLUMNS],  # type: ignore[arg-type]
            events=ParquetSource(data / "events.parquet")[EV_COLUMNS],  # type: ignore[arg-type]
        )
        plan = plan_features(planned, cuts, cfg)
        marks.append(("plan", time.perf_counter()))
        feats = pandas_features(tx, ev, spine, plan)
    else:
        spine = population(tables, cuts, TimeConfig())
        marks.append(("spine", time.perf_counter()))
        plan = plan_features(tables, cuts, cfg)
        marks.append(("plan", time.perf_counter()))
        feats = compute_features(tables, spine, plan)
    marks.append(("features", time.perf_counter()))
    cpu = time.process_time() - cpu0
    peak = _status("VmHWM")
    n_rows = len(tx) + len(ev)
    if sample is not None and engine != "pandas":
        ids = pd.read_parquet(sample)["customer_id"]
        feats = feats[feats["customer_id"].isin(ids)].reset_index(drop=True)
    feats.to_parquet(out)
    return {
        "wall_s": marks[-1][1] - marks[0][1],
        "cpu_s": cpu,
        "peak_rss_mb": peak,
        "rss_after_imports_mb": rss_imports,
        "input_rows": n_rows,
        "spine_rows": len(spine),
        "feature_columns": feats.shape[1] - 2,
        "phases_s": {name: round(t - marks[i][1], 3) for i, (name, t) in enumerate(marks[1:])},
        "windows": list(plan.windows),
    }


# ---------------------------------------------------------------------------------------------
# orchestration
def parse_size(text: str) -> int:
    """``1M`` -> 1_000_000, ``500k`` -> 500_000, ``2000000`` -> 2_000_000."""
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def size_label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n / 1_000_000:.1f}M"


def ensure_data(n_transactions: int, cache: Path) -> Path:
    """The synthetic data of about ``n_transactions`` transactions, generated on first use."""
    out = cache / size_label(n_transactions)
    if (out / "transactions.parquet").exists() and (out / "events.parquet").exists():
        return out
    customers = max(int(round(n_transactions / TX_PER_CUSTOMER, -3)), 1_000)
    print(f"generating {customers:,} customers into {out} ...", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "churnml.datasets", "synthetic", "--customers", str(customers), "--out", str(out),
         "--chunk-customers", "100000", "--quiet", "--overwrite"],
        check=True,
    )
    return out


def table_rows(data: Path) -> tuple[int, int]:
    import pyarrow.parquet as pq

    tx, ev = (pq.ParquetFile(data / f"{t}.parquet").metadata.num_rows for t in ("transactions", "events"))
    return tx, ev


def write_sample(data: Path, customers: int, seed: int, path: Path) -> None:
    """A seeded random sample of the customers with transactions."""
    import duckdb
    import numpy as np
    import pandas as pd

    with duckdb.connect() as con:
        ids = con.execute(
            f"SELECT DISTINCT customer_id FROM read_parquet('{data / 'transactions.parquet'}') ORDER BY 1"
        ).df()["customer_id"]
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(ids), size=min(customers, len(ids)), replace=False))
    pd.DataFrame({"customer_id": ids.iloc[chosen].to_numpy()}).to_parquet(path)


def measure(engine: str, data: Path, n_cutoffs: int, out: Path, sample: Path | None) -> dict[str, Any]:
    """Run one case in a fresh interpreter and return its metrics."""
    load = os.getloadavg()[0]
    cmd = [sys.executable, __file__, "--case", engine, "--data", str(data), "--cutoffs", str(n_cutoffs),
           "--case-out", str(out)]
    if sample is not None:
        cmd += ["--sample-file", str(sample)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"case {engine} failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load_avg_1m"] = round(load, 2)
    return result


def assert_same(churnml_path: Path, pandas_path: Path) -> None:
    """Same rows, columns and values (relative tolerance 1e-9; NaN where NaN)."""
    import pandas as pd

    a, b = pd.read_parquet(churnml_path), pd.read_parquet(pandas_path)
    pd.testing.assert_frame_equal(a[["customer_id", "cutoff"]], b[["customer_id", "cutoff"]], check_dtype=False)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9, atol=0.0)


def _row(size: str, n_tx: int, n_ev: int, n_cutoffs: int, engine: str, scope: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "size": size, "transactions": n_tx, "events": n_ev, "cutoffs": n_cutoffs, "engine": engine, "scope": scope,
        "wall_s": round(r["wall_s"], 2), "cpu_s": round(r["cpu_s"], 2), "peak_rss_mb": round(r["peak_rss_mb"]),
        "rss_after_imports_mb": round(r["rss_after_imports_mb"]),
        "rows_per_s": round(r["input_rows"] / r["wall_s"]), "spine_rows": r["spine_rows"],
        "feature_columns": r["feature_columns"], "phases_s": r["phases_s"], "load_avg_1m": r["load_avg_1m"],
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table, with the pandas/churnml wall-time ratio."""
    head = ("| size (tx + events) | cutoffs | engine | scope | wall s | CPU s | peak RSS MB | rows/s "
            "| phases s (load/spine/plan/features) | pandas / churnml | load avg |")
    lines = [head, "|" + "---|" * 11]
    walls = {(r["size"], r["cutoffs"], r["engine"], r["scope"]): r["wall_s"] for r in rows}
    for r in rows:
        ph = r["phases_s"]
        phases = "/".join(f"{ph.get(k, 0):.1f}" for k in ("load", "spine", "plan", "features"))
        pd_wall = walls.get((r["size"], r["cutoffs"], "pandas", "full"))
        ratio = f"{pd_wall / r['wall_s']:.1f}x" if r["engine"].startswith("churnml") and pd_wall and r["scope"] == "full" else ""
        sizes = f"{r['size']} ({r['transactions'] / 1e6:.1f}M + {r['events'] / 1e6:.1f}M)"
        lines.append(
            f"| {sizes} | {r['cutoffs']} | {r['engine']} | {r['scope']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} "
            f"| {r['peak_rss_mb']:,} | {r['rows_per_s']:,} | {phases} | {ratio} | {r['load_avg_1m']} |"
        )
    return "\n".join(lines)


def save(rows: list[dict[str, Any]], results: Path) -> list[dict[str, Any]]:
    """Merge these rows into results/features.json (replacing same size/cutoffs/engine/scope) and write the .md."""
    results.mkdir(parents=True, exist_ok=True)
    path = results / "features.json"
    old = json.loads(path.read_text())["runs"] if path.exists() else []
    key = ("size", "cutoffs", "engine", "scope")
    new_keys = {tuple(r[k] for k in key) for r in rows}
    merged = [r for r in old if tuple(r[k] for k in key) not in new_keys] + rows
    merged.sort(key=lambda r: (r["transactions"], r["cutoffs"], r["engine"], r["scope"]))
    import duckdb
    import pandas as pd

    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "duckdb": duckdb.__version__,
               "pandas": pd.__version__}
    path.write_text(json.dumps({"machine": machine, "runs": merged}, indent=1) + "\n")
    (results / "features.md").write_text(
        "# Point-in-time features: churnml vs pandas\n\n"
        "Written by `benchmarks/features.py` (see its docstring). Families rfm, windowed, events; "
        f"cutoffs 28 days apart. Machine: {machine}.\n\n" + markdown(merged) + "\n"
    )
    return merged


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1M,10M", help="transactions per data set, e.g. 1M,10M,50M")
    p.add_argument("--transactions", type=int, help="one data set of about N transactions (instead of --sizes)")
    p.add_argument("--data", type=Path, help="use this folder's Parquet files (one data set) instead of generating")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "churnml_featbench")
    p.add_argument("--cutoffs", default="1,12", help="numbers of rolling cutoffs to run, e.g. 1,12")
    p.add_argument("--engines", default="churnml,pandas", help="churnml, churnml-frames, pandas")
    p.add_argument("--repeat", type=int, default=1, help="runs per case; the fastest counts")
    p.add_argument("--pandas-max", type=parse_size, default=parse_size("20M"),
                   help="above this many transactions pandas runs on a sample of customers only")
    p.add_argument("--sample-customers", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--case-out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--sample-file", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.case:  # a worker: one measurement, JSON on the last stdout line
        result = run_case(args.case, args.data, int(args.cutoffs), args.case_out, args.sample_file)
        print(json.dumps(result))
        return 0

    if args.data is not None:
        datasets = [args.data]
    else:
        sizes = [args.transactions] if args.transactions else [parse_size(s) for s in args.sizes.split(",")]
        datasets = [ensure_data(n, args.cache) for n in sizes]
    engines = args.engines.split(",")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="featbench_") as tmp:
        for data in datasets:
            n_tx, n_ev = table_rows(data)
            size = size_label(int(round(n_tx, -6))) if n_tx >= 1_000_000 else f"{n_tx:,}"
            sample = None
            if "pandas" in engines and n_tx > args.pandas_max:
                sample = Path(tmp) / "sample.parquet"
                write_sample(data, args.sample_customers, args.seed, sample)
            for n_cut in (int(c) for c in args.cutoffs.split(",")):
                outs = {}
                for engine in engines:
                    runs = []
                    for _ in range(args.repeat):
                        outs[engine] = Path(tmp) / f"{engine}.parquet"
                        runs.append(measure(engine, data, n_cut, outs[engine], sample))
                    best = min(runs, key=lambda r: r["wall_s"])
                    scope = f"sample {args.sample_customers // 1000}k customers" if sample and engine == "pandas" else "full"
                    rows.append(_row(size, n_tx, n_ev, n_cut, engine, scope, best))
                    print(f"{size} {n_cut} cutoff(s) {engine:>14}: {best['wall_s']:7.1f} s wall, {best['cpu_s']:7.1f} s CPU, "
                          f"peak {best['peak_rss_mb']:,.0f} MB {best['phases_s']}", flush=True)
                for engine in engines:
                    if engine != "pandas" and "pandas" in outs:
                        assert_same(outs[engine], outs["pandas"])
                        print(f"  {engine} == pandas" + (" (on the sample)" if sample else ""), flush=True)
    save(rows, args.results)
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
