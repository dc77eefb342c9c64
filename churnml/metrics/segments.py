"""Churn and retention rates per customer segment at one cutoff.

The churned flags are the labels of :mod:`churnml.labels` (see
:mod:`churnml.metrics.churn`), so the rate of every segment agrees with the
churn model's label for the same cutoff, horizon and lead time.
"""

from __future__ import annotations

import pandas as pd

from churnml.config import Config, TimeConfig
from churnml.errors import ConfigError, SchemaError
from churnml.labels import check_label_windows, cutoff_table
from churnml.metrics import formulas as f
from churnml.metrics.churn import labels_at
from churnml.metrics.grid import per_period
from churnml.metrics.inputs import TablesLike, require_table, settings_of
from churnml.metrics.rfm import rfm_table
from churnml.windows import DataSpan, label_window

__all__ = ["SEGMENT_COLUMNS", "UNKNOWN", "churn_by_segment"]

#: Columns of the customers table that can split the churn rate.
SEGMENT_COLUMNS: tuple[str, ...] = ("segment", "region", "acquisition_channel")

#: The segment of customers the segment source does not know.
UNKNOWN = "unknown"


def churn_by_segment(
    tables: TablesLike,
    cutoff: object,
    horizon_days: int,
    by: str = "segment",
    cfg: Config | TimeConfig | None = None,
    lead_time_days: int | None = None,
) -> pd.DataFrame:
    """Churn and retention rate per segment for one cutoff and horizon.

    Parameters
    ----------
    tables : Tables, mapping or DataFrame
        The canonical tables; ``customers`` is needed unless ``by="rfm"``.
    cutoff : date-like
        Required; the population is the label population at this moment.
    horizon_days : int
        Label window length in days.
    by : str
        ``"segment"``, ``"region"``, ``"acquisition_channel"`` (columns of the
        customers table) or ``"rfm"`` (the RFM segment at the cutoff, from
        history only; see :func:`churnml.metrics.rfm.rfm_table`).
    cfg : Config or TimeConfig, optional
        Regime, ``active_within_days``, ``grace_days``, ``metrics.rfm_bins``, ``data.end``.
    lead_time_days : int, optional
        Gap before the label window; default ``time.lead_time_days``.

    Returns
    -------
    DataFrame
        One row per segment (customers the source does not know are
        ``"unknown"``), by descending size then name: ``segment``,
        ``customers`` (S), ``churned`` (L), ``churn_rate`` = L / S * 100 and
        ``retention_rate`` = (S - L) / S * 100 (%).

    Raises
    ------
    DataWindowError
        The label window is not inside the data (immature labels).
    ConfigError
        An unknown ``by``.
    """
    time, mcfg, declared_end = settings_of(cfg)
    lead = time.lead_time_days if lead_time_days is None else lead_time_days
    _check_matured(tables, cutoff, horizon_days, lead, time, declared_end)
    window = label_window(cutoff, horizon_days, lead)
    labels = labels_at(tables, pd.DatetimeIndex([window.cutoff]), horizon_days, time, lead)
    names = _segments(tables, by, window.cutoff, mcfg.rfm_bins)
    labels["segment"] = labels["customer_id"].map(names).fillna(UNKNOWN).astype("str")
    out = labels.groupby("segment").agg(customers=("churned", "size"), churned=("churned", "sum"))
    out = out.astype("int64").reset_index()
    out["churn_rate"] = per_period(f.churn_rate, out["churned"], out["customers"])
    out["retention_rate"] = per_period(
        f.retention_rate, out["customers"] - out["churned"], [0] * len(out), out["customers"]
    )
    return out.sort_values(["customers", "segment"], ascending=[False, True], ignore_index=True)


def _segments(tables: TablesLike, by: str, cutoff: pd.Timestamp, bins: int) -> pd.Series:
    """Segment name per customer_id."""
    if by == "rfm":
        tx = require_table(tables, "transactions", "churn_by_segment(by='rfm')")
        return rfm_table(tx, cutoff, bins)["segment"]
    if by not in SEGMENT_COLUMNS:
        raise ConfigError(f"churn_by_segment: by must be 'rfm' or one of {list(SEGMENT_COLUMNS)}, got {by!r}")
    customers = require_table(tables, "customers", f"churn_by_segment(by={by!r})")
    if by not in customers.columns:
        raise SchemaError(
            f"no '{by}' column (columns found: {list(customers.columns)}); map it in "
            f"data.tables.customers.columns or choose another 'by'",
            table="customers",
        )
    return customers.set_index("customer_id")[by].dropna().astype("str")


def _check_matured(
    tables: TablesLike, cutoff: object, horizon: int, lead: int, time: TimeConfig, declared_end: object
) -> None:
    tx = require_table(tables, "transactions", "churn_by_segment")
    span = DataSpan.from_times(tx["timestamp"], declared_end)
    grace = time.grace_days if time.regime == "contractual" else 0
    check_label_windows(cutoff_table([cutoff], horizon, lead), span, grace)
