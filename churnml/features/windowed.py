"""Windowed family: activity in the last W days, trends and returns.

For each window ``W`` (days): purchases, spend and active days in
``[cutoff - W days, cutoff)``. Trends compare the last 30 (90) days with the
30 (90) days before: ``(last + 1) / (previous + 1)`` on purchase counts, so
that 1 means steady, < 1 slowing down, and zero counts stay finite. A trend
is produced only when its double window fits in the kept windows' history.
Aggregates the ``tx_hist`` stream (one row per transaction and spine row),
in the same ``GROUP BY`` as the RFM family.
"""

from __future__ import annotations

from churnml.engine import exact_sum
from churnml.features.base import PURCHASE, FamilyContext, FamilySQL, FeatureDoc, as_int, when

__all__ = ["windowed_family"]

TRENDS = (30, 90)


_BUY = PURCHASE


def _orders(cond: str) -> str:
    return f"COUNT_IF({_BUY} AND {cond})"


def windowed_family(ctx: FamilyContext) -> FamilySQL:
    """Aggregates of the windowed family over the ``tx_hist`` stream."""
    parts: list[str] = []
    docs: list[FeatureDoc] = []
    for w in ctx.windows:
        parts += [
            f"{as_int(_orders(f'age <= {w}'))} AS win_orders_{w}d",
            f"COALESCE({exact_sum(when(f'{_BUY} AND age <= {w}', 'amount'))}, 0) AS win_spend_{w}d",
            f"{as_int(f'COUNT_IF(new_day = 1 AND age <= {w})')} AS win_active_days_{w}d",
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
                f"({_orders(f'age <= {t}')} + 1.0) / "
                f"({_orders(f'age > {t} AND age <= {2 * t}')} + 1.0) AS win_orders_trend_{t}d"
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
        "CAST(COUNT_IF(amount < 0) AS DOUBLE) / COUNT(*) AS win_returns_share_all",
        f"ABS(COALESCE({exact_sum(when('amount < 0', 'amount'))}, 0)) AS win_returns_amount_all",
    ]
    docs += [
        FeatureDoc("win_returns_share_all", "windowed",
                   "returns / all transactions in history (rows; with an order_id, an order's rows of one day)",
                   "0"),
        FeatureDoc("win_returns_amount_all", "windowed", "money returned in history (positive)", "0"),
    ]
    cols = tuple(d.name for d in docs)
    fill = {c: (1.0 if c in trend_cols else 0.0) for c in cols}
    return FamilySQL(
        "windowed", "transactions", "", cols, fill, (), tuple(docs),
        shared=("tx_hist",), source="tx_hist", aggregates=tuple(parts),
    )
