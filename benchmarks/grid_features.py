"""The dropped grid formulation of the many-cutoff features, kept to reproduce its measurement.

For evenly spaced cutoffs (step ``s`` days) each history row is aggregated
once into its step interval ``j`` with its offset ``a0 = c_j - day``; windows
and lifetime statistics are then combined per (customer, cutoff) from the
interval groups. It gives the same values as the general path (checked here,
1e-9) but is slower on the synthetic data (benchmarks/README.md, "third
pass"). Not part of the package; it reads churnml's private SQL pieces and
may need updating when they change.

Usage (data from ``benchmarks/features.py``'s cache)::

    .venv/bin/python benchmarks/grid_features.py 1M 12 tx_old,tx_grid,ev_old,ev_grid
"""
import argparse
import resource
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from churnml.features import core
from churnml.features.base import _TX_DAYS, _TX_ROWS, quote_literal, sql_name
from churnml.windows import history_sql


def win(col, W, s, diff="diff"):
    q, r = divmod(W, s)
    parts = []
    if q > 0:
        parts.append(f"COALESCE(SUM({col}) FILTER (WHERE {diff} < {q}), 0)")
    if r > 0:
        parts.append(f"COALESCE(SUM({col}_r{r}) FILTER (WHERE {diff} = {q}), 0)")
    return " + ".join(parts) or "0"

def combine(g, out, c0, s):
    """Join each spine row (cutoff index k) to its customer's interval groups j <= k and aggregate ``out``."""
    sel = ",\n ".join(f"{v} AS {k}" for k, v in out.items())
    k = f"CAST(DATE_DIFF('day', DATE '{c0}', CAST(cutoff AS DATE)) / {s} AS BIGINT)"
    return f"""WITH g AS ({g})
SELECT sp.customer_id, sp.cutoff, {sel}
FROM (SELECT customer_id, cutoff, {k} AS k FROM spine) sp JOIN g ON sp.customer_id = g.customer_id AND g.jc <= sp.k,
LATERAL (SELECT sp.k - g.jc AS diff)
GROUP BY sp.customer_id, sp.cutoff"""


def thresholds(ws, s):
    return sorted({W % s for W in ws if W % s})

def tx_grid(plan, c0, s, maxcut):
    ws = list(plan.windows)
    trends = [t for t in (30, 90) if max(ws) >= 2 * t]
    allw = sorted(set(ws) | {t for t in trends} | {2 * t for t in trends})
    L = max(W // s for W in allw) + 1
    rows = _TX_ROWS.format(history=history_sql('"timestamp"', maxcut))
    days = _TX_DAYS.format(rows=rows)
    jexpr = f"CAST(FLOOR(DATE_DIFF('day', DATE '{c0}', day) / {s}) AS BIGINT) + 1"
    aexpr = f"j * {s} - DATE_DIFF('day', DATE '{c0}', day)"
    B, D = "amount >= 0", "new_day = 1"
    aggs = [
        "COUNT(*) AS n_rows", f"COUNT(*) FILTER (WHERE {B}) AS n_buy", f"SUM(amount) FILTER (WHERE {B}) AS s_buy",
        f"MAX(amount) FILTER (WHERE {B}) AS m_buy", f"MIN(day) FILTER (WHERE {B}) AS d_first",
        f"MAX(day) FILTER (WHERE {B}) AS d_last", f"COUNT(*) FILTER (WHERE {D}) AS n_days",
        f"ARG_MIN(day_amount, day) FILTER (WHERE {D}) AS a_first", f"ARG_MAX(day_amount, day) FILTER (WHERE {D}) AS a_last",
        f"ARG_MAX(gap, day) FILTER (WHERE {D}) AS g_last", "COUNT(gap) AS g_n", "SUM(gap) AS g_sum", "SUM(gap * gap) AS g_sq",
        "COUNT(*) FILTER (WHERE amount < 0) AS n_ret", "SUM(amount) FILTER (WHERE amount < 0) AS s_ret",
    ]
    for r in thresholds(allw, s):
        aggs += [f"COUNT(*) FILTER (WHERE {B} AND a0 <= {r}) AS n_buy_r{r}",
                 f"SUM(amount) FILTER (WHERE {B} AND a0 <= {r}) AS s_buy_r{r}",
                 f"COUNT(*) FILTER (WHERE {D} AND a0 <= {r}) AS n_days_r{r}"]
    g = f"""SELECT customer_id, GREATEST(j, {-L}) AS jc, {', '.join(aggs)}
    FROM (SELECT *, {aexpr} AS a0 FROM (SELECT *, {jexpr} AS j FROM ({days}) x) y) z
    GROUP BY customer_id, jc"""
    rec = "DATE_DIFF('day', MAX(g.d_last), CAST(sp.cutoff AS DATE))"
    gm = "CAST(SUM(g_sum) AS DOUBLE) / NULLIF(SUM(g_n), 0)"
    out = {
        "rfm_recency_days": rec,
        "rfm_tenure_days": "DATE_DIFF('day', MIN(g.d_first), CAST(sp.cutoff AS DATE))",
        "rfm_orders_all": "CAST(SUM(n_buy) AS DOUBLE)",
        "rfm_days_all": "CAST(SUM(n_days) AS BIGINT)",
        "rfm_monetary_sum_all": "SUM(s_buy)",
        "rfm_monetary_mean_all": "SUM(s_buy) / NULLIF(SUM(n_buy), 0)",
        "rfm_monetary_max_all": "MAX(m_buy)",
        "rfm_first_amount": "ARG_MIN(a_first, jc) FILTER (WHERE n_days > 0)",
        "rfm_last_amount": "ARG_MAX(a_last, jc) FILTER (WHERE n_days > 0)",
        "rfm_gap_mean_days": gm,
        "rfm_gap_std_days": "CASE WHEN SUM(g_n) >= 2 THEN SQRT(CAST(SUM(g_n) * SUM(g_sq) - SUM(g_sum) * SUM(g_sum) AS DOUBLE) / CAST(SUM(g_n) * (SUM(g_n) - 1) AS DOUBLE)) END",
        "rfm_gap_last_days": "ARG_MAX(g_last, jc) FILTER (WHERE n_days > 0)",
        "rfm_recency_over_gap": f"{rec} / ({gm})",
    }
    for W in ws:
        out[f"win_orders_{W}d"] = f"CAST({win('n_buy', W, s)} AS DOUBLE)"
        out[f"win_spend_{W}d"] = f"{win('s_buy', W, s)}"
        out[f"win_active_days_{W}d"] = f"CAST({win('n_days', W, s)} AS BIGINT)"
    for t in trends:
        a, b = win('n_buy', t, s), win('n_buy', 2 * t, s)
        out[f"win_orders_trend_{t}d"] = f"(({a}) + 1.0) / (({b}) - ({a}) + 1.0)"
    out["win_returns_share_all"] = "CAST(SUM(n_ret) AS DOUBLE) / SUM(n_rows)"
    out["win_returns_amount_all"] = "ABS(COALESCE(SUM(s_ret), 0))"
    return combine(g, out, c0, s)


def ev_grid(plan, c0, s, maxcut):
    ws = list(plan.windows)
    trend = max(ws) >= 60
    allw = sorted(set(ws) | ({30, 60} if trend else set()))
    L = max(W // s for W in allw) + 1
    jexpr = f"CAST(FLOOR(DATE_DIFF('day', DATE '{c0}', day) / {s}) AS BIGINT) + 1"
    aexpr = f"j * {s} - DATE_DIFF('day', DATE '{c0}', day)"
    R = thresholds(allw, s)
    aggs = ["COUNT(*) AS n_all"] + [f"COUNT(*) FILTER (WHERE a0 <= {r}) AS n_all_r{r}" for r in R]
    for e in plan.event_types:
        n, lit = sql_name(e), quote_literal(e)
        aggs += [f"COUNT(*) FILTER (WHERE event_type = {lit}) AS n_{n}", f"MAX(day) FILTER (WHERE event_type = {lit}) AS last_{n}"]
        aggs += [f"COUNT(*) FILTER (WHERE event_type = {lit} AND a0 <= {r}) AS n_{n}_r{r}" for r in R]
    g = f"""SELECT customer_id, GREATEST(j, {-L}) AS jc, {', '.join(aggs)}
    FROM (SELECT *, {aexpr} AS a0 FROM (SELECT *, {jexpr} AS j FROM (
        SELECT customer_id, event_type, CAST("timestamp" AS DATE) AS day FROM events WHERE {history_sql('"timestamp"', maxcut)}) x) y) z
    GROUP BY customer_id, jc"""
    out = {}
    for W in ws:
        out[f"evt_all_count_{W}d"] = f"CAST({win('n_all', W, s)} AS BIGINT)"
    for e in plan.event_types:
        n = sql_name(e)
        for W in ws:
            out[f"evt_{n}_count_{W}d"] = f"CAST({win('n_' + n, W, s)} AS BIGINT)"
        out[f"evt_{n}_days_since"] = f"DATE_DIFF('day', MAX(last_{n}), CAST(sp.cutoff AS DATE))"
        if trend:
            a, b = win('n_' + n, 30, s), win('n_' + n, 60, s)
            out[f"evt_{n}_trend_30d"] = f"(({a}) + 1.0) / (({b}) - ({a}) + 1.0)"
    return combine(g, out, c0, s)


def spine_and_plan(size, n):
    """The benchmark's spine (population at ``n`` cutoffs 28 days apart) and feature plan."""
    import features as fb

    from churnml.config import FeaturesConfig, TimeConfig
    from churnml.engine import ParquetSource
    from churnml.features import plan_features
    from churnml.io import Tables
    from churnml.labels import population

    data = Path(f"/tmp/churnml_featbench/{size}")
    cuts = fb._cutoffs(data, n)
    tables = Tables(transactions=ParquetSource(data / "transactions.parquet")[fb.TX_COLUMNS],
                    events=ParquetSource(data / "events.parquet")[fb.EV_COLUMNS])
    return plan_features(tables, cuts, FeaturesConfig(families=fb.FAMILIES)), population(tables, cuts, TimeConfig())


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _compare(old: pd.DataFrame, new: pd.DataFrame) -> list[tuple[object, ...]]:
    """Columns whose values (1e-9) or dtypes differ between the two frames."""
    new = new[old.columns]
    bad: list[tuple[object, ...]] = []
    for col in old.columns[2:]:
        x = old[col].to_numpy(dtype=float, na_value=np.nan)
        y = new[col].to_numpy(dtype=float, na_value=np.nan)
        ok = np.isclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True)
        if not ok.all():
            i = np.flatnonzero(~ok)[0]
            bad.append((col, int((~ok).sum()), x[i], y[i], old.iloc[i, :2].tolist()))
        if old[col].dtype != new[col].dtype:
            bad.append((col, "dtype", old[col].dtype, new[col].dtype))
    return bad


def _old_sql(plan, part):
    fams = core._families(plan)
    if part == "ev_old":
        return next(f for f in fams if f.family == "events").sql
    aggs = ",\n".join(a for f in fams if f.source == "tx_hist" for a in f.aggregates)
    return f"WITH tx_hist AS ({core.shared_sql('')['tx_hist']}) SELECT customer_id, cutoff, {aggs} FROM tx_hist GROUP BY customer_id, cutoff"


def main(size: str, n: int, parts: list[str]) -> None:
    plan, spine = spine_and_plan(size, n)
    cuts = sorted(spine.cutoff.unique())
    c0, s = pd.Timestamp(cuts[0]).date(), (pd.Timestamp(cuts[1]) - pd.Timestamp(cuts[0])).days
    maxcut = f"TIMESTAMP '{pd.Timestamp(cuts[-1])}'"
    con = duckdb.connect()
    con.execute("SET threads=2")
    con.execute("SET preserve_insertion_order=false")
    d = f"/tmp/churnml_featbench/{size}"
    con.execute(f"CREATE VIEW tx AS SELECT customer_id, \"timestamp\", amount FROM read_parquet('{d}/transactions.parquet')")
    con.execute(f"CREATE VIEW events AS SELECT customer_id, \"timestamp\", event_type FROM read_parquet('{d}/events.parquet')")
    con.register("spine", spine)
    res = {}
    for part in parts:
        grid = {"tx_grid": tx_grid, "ev_grid": ev_grid}.get(part)
        sql = grid(plan, c0, s, maxcut) if grid else _old_sql(plan, part)
        t, c = time.perf_counter(), cpu()
        res[part] = con.execute(sql + " ORDER BY 2, 1").df()
        print(part, "rows", len(res[part]), f"wall {time.perf_counter() - t:.1f} cpu {cpu() - c:.1f}", flush=True)
    for fam in ("tx", "ev"):
        if f"{fam}_grid" in res and f"{fam}_old" in res:
            print(fam, "mismatches:", _compare(res[f"{fam}_old"], res[f"{fam}_grid"]) or "none")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The dropped grid formulation of the many-cutoff features against "
                                                 "the kept one (same values; reads /tmp/churnml_featbench/<size>, "
                                                 "written by features.py).")
    parser.add_argument("size", help="a size features.py wrote, e.g. 1M")
    parser.add_argument("cutoffs", type=int, help="number of rolling cutoffs, e.g. 12")
    parser.add_argument("parts", help="comma-separated: tx_old, tx_grid, ev_old, ev_grid")
    args = parser.parse_args()
    main(args.size, args.cutoffs, args.parts.split(","))
