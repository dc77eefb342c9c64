"""Per-customer purchase summaries (x, t_x, T, m) at a cutoff, the input of the BTYD models.

Times are in *units* of ``unit_days`` days (weeks by default) from the
customer's first purchase day (Fader, Hardie & Lee 2005a).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnml.errors import ConfigError, EmptyDataError, SchemaError
from churnml.windows import history_mask, in_window_mask, to_timestamp

__all__ = ["summary_at"]


def summary_at(
    transactions: pd.DataFrame, cutoff: object, unit_days: float = 7.0, start: object | None = None
) -> pd.DataFrame:
    """Per-customer (x, t_x, T, m) at a cutoff, from the history ``time < cutoff``.

    Purchases are counted in *purchase days*: all rows of a customer on one
    calendar day form one purchase whose amount is their sum. Times are
    differences between calendar days, so ``t_x <= T`` always, and T runs to
    the *last day of the history* (``cutoff - 1 day`` for a midnight cutoff).
    This is the convention of Fader, Hardie & Lee (2005a), e.g. T = 38.86
    weeks for a first purchase on 1997-01-01 and cutoff 1997-10-01. A label
    window ``[cutoff, cutoff + H days)`` is then the model's ``(T, T + H / unit_days]``.
    A purchase day is a day with at least one purchase (``amount >= 0``), as
    in the labels and the RFM features (whose BG/NBD summary this equals: see
    :mod:`churnml.features.btyd`), and its amount is the sum of its purchases,
    as the features' day amounts. Returns (negative amounts) are left out
    wherever they fall, so the spend, and the CLV made from it, is gross of
    returns (whether a return falls on a purchase day or the day after would
    otherwise change it).

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``timestamp``, ``amount``).
    cutoff : date-like
        Moment of the prediction; only rows with ``timestamp < cutoff`` count.
    unit_days : float
        Length of the time unit in days (7 = weeks).
    start : date-like, optional
        When given, rows before ``start`` are ignored too, so a customer's
        first purchase is their first on or after ``start``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, one row per customer with history:

        * ``frequency`` x = distinct purchase days - 1 (repeat purchases), int64;
        * ``recency`` t_x = (last purchase day - first purchase day) / unit;
        * ``T`` = (last day of the history - first purchase day) / unit;
        * ``monetary_value`` = mean amount per repeat purchase day, the first
          day excluded: (total - first-day amount) / x; NaN when x = 0.
    """
    missing = [c for c in ("customer_id", "timestamp", "amount") if c not in transactions.columns]
    if missing:
        raise SchemaError(
            f"missing columns {missing}; found {list(transactions.columns)}. Map them in the config.",
            table="transactions",
        )
    if not unit_days > 0:
        raise ConfigError(f"unit_days must be > 0 (7 = weeks), got {unit_days}")
    c = to_timestamp(cutoff)  # type: ignore[arg-type]
    times = transactions["timestamp"]
    keep = history_mask(times, c) if start is None else in_window_mask(times, start, c)
    hist = transactions.loc[keep, ["customer_id", "amount"]].assign(day=times[keep].dt.floor("D"))
    if hist.empty:
        first = times.min()
        raise EmptyDataError(
            f"table 'transactions': no purchase before cutoff {c} (start={start}); the data "
            f"begins at {first}. Choose a later cutoff."
        )
    buys = hist[hist["amount"].to_numpy() >= 0]  # purchases only: returns are no purchase and no spend
    if buys.empty:
        raise EmptyDataError(
            f"table 'transactions': no purchase (amount >= 0) before cutoff {c} (start={start}), only returns. "
            "Choose a later cutoff."
        )
    days = buys.groupby(["customer_id", "day"], sort=True, as_index=False).agg(amount=("amount", "sum"))
    # The repeat days' amounts are summed as they are: total - first day would lose the small amounts
    # to rounding next to a large first one (1e15 then 3.07: 44.4167 for 44.45), as Spark's sum did.
    days["repeat"] = days["amount"].where(days["customer_id"].duplicated(), 0.0)  # sorted: the first is first
    per = days.groupby("customer_id", sort=True).agg(
        n_days=("day", "size"),
        first=("day", "min"),
        last=("day", "max"),
        repeat=("repeat", "sum"),
    )
    last_day = (c - pd.Timedelta(microseconds=1)).floor("D")  # the day of the last moment of history
    unit_seconds = 86400.0 * unit_days
    x = per["n_days"] - 1
    out = pd.DataFrame(
        {
            "frequency": x.astype("int64"),
            "recency": (per["last"] - per["first"]).dt.total_seconds() / unit_seconds,
            "T": (last_day - per["first"]).dt.total_seconds() / unit_seconds,
            "monetary_value": (per["repeat"] / x.where(x > 0)).astype("float64"),
        },
        index=per.index,
    )
    out.index.name = "customer_id"
    return out


def _rfm(summary: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a summary frame and return x, t_x, T as float arrays."""
    missing = [c for c in ("frequency", "recency", "T") if c not in summary.columns]
    if missing:
        raise SchemaError(f"{what}: summary lacks columns {missing}; build it with summary_at()")
    if len(summary) == 0:
        raise EmptyDataError(f"{what}: the summary has no customers; check the cutoff")
    x, tx, T = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    bad = ~(np.isfinite(x) & np.isfinite(tx) & np.isfinite(T) & (x >= 0) & (tx >= 0) & (tx <= T + 1e-9 * (1 + T)))
    if bad.any():
        rows = list(summary.index[bad][:5])
        raise SchemaError(
            f"{what}: {int(bad.sum())} customers need finite frequency >= 0 and 0 <= recency <= T; "
            f"e.g. {rows}. Rebuild the summary with summary_at()."
        )
    return x, tx, T
