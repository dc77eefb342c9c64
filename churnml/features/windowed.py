"""Windowed family: activity in the last W days, trends and returns.

For each window ``W`` (days): purchases, spend and active days in
``[cutoff - W days, cutoff)``. Trends compare the last 30 (90) days with the
30 (90) days before: ``(last + 1) / (previous + 1)`` on purchase counts, so
that 1 means steady, < 1 slowing down, and zero counts stay finite. A trend
is produced only when its double window fits in the kept windows' history.
Reads the per-day table ``tx_daily`` (one row per customer and day).
"""

from __future__ import annotations

from churnml.features.base import FamilyContext, FamilySQL, FeatureDoc, age, history_join

__all__ = ["windowed_family"]

TRENDS = (30, 90)


def _sum(expr: str, cond: str) -> str:
    return f"COALESCE(SUM({expr}) FILTER (WHERE {cond}), 0)"


def windowed_family(ctx: FamilyContext) -> FamilySQL:
    """SQL for the windowed family over ``tx_daily`` joined to ``spine``."""
    parts: list[str] = []
    docs: list[FeatureDoc] = []
    for w in ctx.windows:
        parts += [
            f"{_sum('n_buy', f'age <= {w}')} AS win_orders_{w}d",
            f"{_sum('spend', f'age <= {w}')} AS win_spend_{w}d",
            f"COUNT(*) FILTER (WHERE n_buy > 0 AND age <= {w}) AS win_active_days_{w}d",
        ]
        docs += [
            FeatureDoc(f"win_orders_{w}d", "windowed", f"purchases in the last {w} days", "0"),
            FeatureDoc(f"win_spend_{w}d", "windowed", f"purchase amount in the last {w} days", "0"),
            FeatureDoc(f"win_active_days_{w}d", "windowed", f"distinct purchase days in the last {w} days", "0"),
        ]
    trend_cols = []
    for t in TRENDS:
        if max(ctx.windows, default=0) >= 2 * t:
            parts.append(
                f"({_sum('n_buy', f'age <= {t}')} + 1.0) / "
                f"({_sum('n_buy', f'age > {t} AND age <= {2 * t}')} + 1.0) AS win_orders_trend_{t}d"
            )
            trend_cols.append(f"win_orders_trend_{t}d")
            docs.append(
                FeatureDoc(
                    f"win_orders_trend_{t}d",
                    "windowed",
                    f"(purchases in last {t} d + 1) / (purchases in the {t} d before + 1)",
                    "1 (no purchases in either)",
                )
            )
    parts += [
        "CAST(SUM(n_ret) AS DOUBLE) / (SUM(n_buy) + SUM(n_ret)) AS win_returns_share_all",
        "ABS(SUM(ret_amount)) AS win_returns_amount_all",
    ]
    docs += [
        FeatureDoc("win_returns_share_all", "windowed", "returns / all transaction rows in history", "0"),
        FeatureDoc("win_returns_amount_all", "windowed", "money returned in history (positive)", "0"),
    ]
    select = ",\n           ".join(parts)
    sql = f"""
SELECT customer_id, cutoff,
           {select}
FROM (
    SELECT s.customer_id, s.cutoff, d.n_buy, d.spend, d.n_ret, d.ret_amount, {age('d', 'day')} AS age
    FROM tx_daily d {history_join('d', 'day')}
) h
GROUP BY customer_id, cutoff
"""
    cols = tuple(d.name for d in docs)
    fill = {c: (1.0 if c in trend_cols else 0.0) for c in cols}
    return FamilySQL("windowed", "transactions", sql, cols, fill, (), tuple(docs), shared=("tx_daily",))
