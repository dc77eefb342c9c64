"""Churn labels for both regimes, at one or many cutoffs, in one pass.

Non-contractual
    Population at cutoff ``c``: customers with a purchase before ``c`` (and,
    with ``active_within_days = w``, at or after ``c - w``). A customer is
    churned when they make no purchase in the label window
    ``[c + lead, c + lead + horizon)``.
Contractual
    Population at ``c``: customers with a subscription active at ``c``
    (``start < c`` and ``end`` null or ``end >= c``). Subscriptions of a
    customer that follow each other within ``grace_days`` form one spell. A
    customer is churned when the spell active at ``c`` ends before the label
    window ends: inside it, or in the lead time before it (the customer then
    has no subscription in the window). A renewal within the grace period
    continues the spell.

A *purchase* is a transaction with ``amount >= 0``; returns (negative
amounts) are not purchases. Purchases at the same moment count once.

Labels need a matured window: a window (plus the grace, contractual) that
ends after the data would count customers whose window is not over as
churned, so the label functions refuse it (:func:`check_label_windows`)
unless told ``immature="keep"``.

How: each customer's distinct purchase times become intervals
``[t_i, t_{i+1})``; the interval that contains the window start holds the last
purchase before it, and the customer is churned when the next purchase
``t_{i+1}`` is missing or at or after the window end. One range join of these
intervals with the table of cutoffs labels every cutoff at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from churnml.config import MAX_DAYS, Config, TimeConfig
from churnml.engine import TableSource, as_tables, run_sql
from churnml.errors import ConfigError, DataWindowError, SchemaError
from churnml.label_sql import (
    CUSTOMER_TABLES,
    contractual_labels_sql,
    count_customers_sql,
    noncontractual_labels_sql,
    not_at_risk_sql,
    population_sql,
)
from churnml.sources import check_sources, select
from churnml.windows import (
    DAY,
    DataSpan,
    cutoff_list,
    label_window_bounds,
    latest_matured_cutoff,
    to_cutoff,
)

__all__ = [
    "check_label_windows",
    "contractual_labels",
    "contractual_labels_sql",
    "count_customers",
    "customer_tables",
    "cutoff_table",
    "make_labels",
    "noncontractual_labels",
    "noncontractual_labels_sql",
    "not_at_risk",
    "not_at_risk_reason",
    "not_at_risk_rows",
    "population",
    "population_sql",
]


def _whole_days(name: str, days: float, low: int) -> None:
    if not (float(days) == int(days) and low <= int(days) <= MAX_DAYS):
        raise ConfigError(f"{name} must be whole days from {low} to {MAX_DAYS:,}, got {days}")


#: ``active_from`` without an ``active_within_days`` look-back: a time before any data. Tables reach
#: the queries in microseconds (:func:`churnml.engine.connect` converts nanosecond frames and
#: Parquet columns), which hold it; nanoseconds could not (they start in 1677).
NO_LOOK_BACK = pd.Timestamp("1000-01-01")


def cutoff_table(
    cutoffs: object,
    horizon_days: int | Sequence[int],
    lead_time_days: int = 0,
    active_within_days: int | None = None,
) -> pd.DataFrame:
    """One row per cutoff with its window bounds, ready to join in SQL.

    Columns: ``cutoff``, ``win_start`` (= cutoff + lead), ``win_end``
    (= win_start + horizon) and ``active_from`` (cutoff - active_within, or
    :data:`NO_LOOK_BACK` when not given).
    """
    cut = pd.DatetimeIndex([to_cutoff(c) for c in cutoff_list(cutoffs)]).as_unit("us")  # type: ignore[arg-type]
    if len(cut) == 0:
        raise ConfigError("no cutoffs given; pass at least one cutoff date")
    if cut.has_duplicates:
        repeated = sorted({str(d) for d in cut[cut.duplicated()].date})
        raise ConfigError(f"cutoffs must be distinct; repeated: {', '.join(repeated)}")
    given = np.asarray(horizon_days, dtype="float64")
    if given.ndim > 1 or (given.ndim == 1 and len(given) != len(cut)):
        raise ConfigError(
            f"horizon_days: give one value for all cutoffs or one per cutoff ({len(cut)}), got {horizon_days}"
        )
    if not (np.isfinite(given) & (given >= 1) & (given <= MAX_DAYS) & (given == np.floor(given))).all():
        raise ConfigError(f"horizon_days must be whole days from 1 to {MAX_DAYS:,}, got {horizon_days}")
    horizon = np.broadcast_to(given.astype("int64"), (len(cut),))
    _whole_days("lead_time_days", lead_time_days, 0)
    if active_within_days is not None:
        _whole_days("active_within_days", active_within_days, 1)
    start, end = label_window_bounds(cut, horizon, lead_time_days)
    active_from = (
        cut - active_within_days * DAY
        if active_within_days is not None
        else pd.DatetimeIndex([NO_LOOK_BACK] * len(cut)).as_unit("us")
    )
    return pd.DataFrame(
        {
            "cutoff": cut,
            "win_start": start,
            "win_end": end,
            "active_from": active_from,
        }
    )


Immature = Literal["error", "keep"]


def check_label_windows(cuts: pd.DataFrame, span: DataSpan, grace_days: int = 0, last: str = "transaction") -> None:
    """Raise :class:`~churnml.errors.DataWindowError` unless every label window is inside the data.

    Parameters
    ----------
    cuts : DataFrame
        A :func:`cutoff_table` (``cutoff``, ``win_start``, ``win_end``).
    span : DataSpan
        The data's first moment and exclusive end.
    grace_days : int
        Days after the window the data must also cover (contractual: a
        renewal within the grace continues the spell).
    last : str
        What the data's end was read from, for the fix (``"transaction"``).

    A cutoff is matured when it is on or before
    :func:`churnml.windows.latest_matured_cutoff` for its window plus the
    grace, as :func:`churnml.dataset.check_matured` has it.
    """
    leads = (cuts["win_start"] - cuts["cutoff"]).dt.days
    horizons = (cuts["win_end"] - cuts["win_start"]).dt.days + grace_days
    latest = pd.Series([latest_matured_cutoff(span, int(h), int(lead)) for h, lead in zip(horizons, leads, strict=True)],
                       index=cuts.index, dtype="datetime64[us]")
    late = (cuts["cutoff"] > latest).to_numpy()
    if not late.any():
        return
    row, lat = cuts.loc[late].iloc[0], latest[late].iloc[0]
    n = int(late.sum())
    dates = [str(c.date()) for c in cuts.loc[late, "cutoff"]]
    which = f"cutoff {dates[0]}" if n == 1 else f"{n} cutoffs ({', '.join(dates[:3])}{', ...' if n > 3 else ''})"
    grace = f" and {grace_days} days of grace after it" if grace_days else ""
    first = span.first.normalize() + DAY
    if lat >= first:
        fix = f"use cutoffs on or before {lat.date()} (the latest matured one), or a shorter horizon"
    else:
        longest = (span.end - first).days - int(leads[late].iloc[0]) - grace_days  # the first cutoff that has a day of history
        fix = (f"no cutoff fits: the data runs from {span.first.date()}, and even a cutoff on {first.date()} "
               + (f"needs a horizon of at most {longest} days" if longest > 0 else "leaves no room for a window"))
    raise DataWindowError(
        f"the label window of {which} ends after the data: [{row.win_start.date()}, {row.win_end.date()}){grace} "
        f"needs data up to {(row.win_end + grace_days * DAY).date()}, and the data ends {(span.end - DAY).date()} "
        f"(exclusive end {span.end.date()}), so churn there is not yet observed (a customer whose window is not over "
        f"would count as churned). Fix: {fix}; pass data_end when the data runs later than its last {last}, or "
        "immature='keep' to label it anyway"
    )


def _span(source: object, column: str, table: str, data_end: object | None) -> DataSpan:
    """The span of ``source[column]`` (a frame or a Parquet source), or up to a given ``data_end``."""
    if isinstance(source, pd.DataFrame):
        times = source[column]
    else:
        got = run_sql(f'SELECT MIN("{column}") AS lo, MAX("{column}") AS hi FROM t', {"t": source[[column]]})  # type: ignore[index]
        times = pd.Series([got["lo"].iloc[0], got["hi"].iloc[0]])
    if len(times) == 0 or times.isna().all():
        raise DataWindowError(f"table '{table}' has no {column} values, so no label window can be checked; "
                              "give a table with rows (or pass immature='keep' to label without the check)")
    return DataSpan.from_times(times.astype("datetime64[us]"), data_end)


def noncontractual_labels(
    transactions: pd.DataFrame,
    cutoffs: object,
    horizon_days: int | Sequence[int],
    lead_time_days: int = 0,
    active_within_days: int | None = None,
    *,
    data_end: object | None = None,
    immature: Immature = "error",
) -> pd.DataFrame:
    """Non-contractual churn labels: no purchase in the label window.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (customer_id, timestamp, amount).
    cutoffs : date-like or sequence of date-like
        One cutoff (``"2024-01-01"``) or many; required, never defaulted.
    horizon_days : int or sequence of int
        Label window length in days, one for all cutoffs or one per cutoff.
    lead_time_days : int
        Gap between the cutoff and the window start.
    active_within_days : int, optional
        Population rule: only customers whose last purchase before the cutoff
        is at most this many days old.
    data_end : date-like, optional
        The data's exclusive end (default: the day after the last
        transaction); every label window must end by then.
    immature : {"error", "keep"}
        ``"error"`` (default): a window that ends after the data is a
        :class:`~churnml.errors.DataWindowError` naming the latest matured
        cutoff; ``"keep"`` labels it anyway (the caller knows it is not over).

    Returns
    -------
    DataFrame
        ``customer_id``, ``cutoff``, ``churned`` (int8, 1 = churned), sorted by
        cutoff then customer.
    """
    cuts = cutoff_table(cutoffs, horizon_days, lead_time_days, active_within_days)
    sql = noncontractual_labels_sql(lead_time_days)
    tx = select("transactions", transactions, ["customer_id", "timestamp", "amount"])
    check_sources({"transactions": tx})
    if immature == "error":
        check_label_windows(cuts, _span(tx, "timestamp", "transactions", data_end))
    out = run_sql(sql, {"tx": tx, "cutoffs": cuts})
    return _finish(out)


def contractual_labels(
    subscriptions: pd.DataFrame,
    cutoffs: object,
    horizon_days: int | Sequence[int],
    lead_time_days: int = 0,
    grace_days: int = 30,
    *,
    data_end: object | None = None,
    immature: Immature = "error",
) -> pd.DataFrame:
    """Contractual churn labels: the active spell ends before the label window ends.

    Parameters
    ----------
    subscriptions : DataFrame
        Canonical subscriptions (customer_id, start, end; null end = active).
    cutoffs, horizon_days, lead_time_days
        As in :func:`noncontractual_labels`.
    grace_days : int
        A subscription starting within this many days after the previous one
        ended is a renewal (same spell).
    data_end : date-like, optional
        The data's exclusive end (default: the day after the latest
        subscription start, the last moment the table shows to have passed; an
        ``end`` may be scheduled in the future). Every label window plus
        ``grace_days`` must end by then. :func:`make_labels` passes the
        transactions' end, as training does.
    immature : {"error", "keep"}
        As in :func:`noncontractual_labels`.

    Returns
    -------
    DataFrame
        ``customer_id``, ``cutoff``, ``churned`` (int8).
    """
    return _contractual_labels(subscriptions, cutoffs, horizon_days, lead_time_days, grace_days, data_end, immature)


def _contractual_labels(subscriptions: pd.DataFrame, cutoffs: object,
                        horizon_days: int | Sequence[int], lead_time_days: int, grace_days: int,
                        data_end: object | None, immature: Immature, tx_end: pd.Timestamp | None = None
                        ) -> pd.DataFrame:
    """:func:`contractual_labels`; ``tx_end`` (from :func:`make_labels`): the data's end read from the
    transactions, so the windows span the first subscription start to it and the fix names the transactions."""
    sql = contractual_labels_sql(grace_days)
    cuts = cutoff_table(cutoffs, horizon_days, lead_time_days)
    subs = select("subscriptions", subscriptions, ["customer_id", "start", "end"])
    check_sources({"subscriptions": subs})
    if immature == "error":
        span = _span(subs, "start", "subscriptions", data_end if tx_end is None else tx_end)
        check_label_windows(cuts, span, grace_days, "subscription start" if tx_end is None else "transaction")
    out = run_sql(sql, {"subscriptions": subs, "cutoffs": cuts})
    return _finish(out)


def _finish(out: pd.DataFrame) -> pd.DataFrame:
    out["cutoff"] = out["cutoff"].astype("datetime64[us]")
    out["churned"] = out["churned"].astype("int8")
    return out.reset_index(drop=True)


def make_labels(
    tables: object,
    cutoffs: object,
    time: TimeConfig | Config,
    horizon_days: int | Sequence[int] | None = None,
    *,
    data_end: object | None = None,
    immature: Immature = "error",
) -> pd.DataFrame:
    """Labels of the configured regime.

    Parameters
    ----------
    tables : Tables, dict of str to DataFrame, or DataFrame
        ``churnml.io.Tables``, ``{"transactions": ..., "subscriptions": ...}`` or
        the transactions frame alone: the transactions (non-contractual) or the
        subscriptions (contractual).
    cutoffs : date-like or sequence of date-like
        One cutoff (``"2024-01-01"``) or several; midnights, without an offset.
    time : TimeConfig or Config
        The time model (``cfg.time``, or the whole config): regime, horizon,
        lead time, active window, grace.
    horizon_days : int or sequence of int, optional
        Overrides ``time.horizon_days`` (one for all cutoffs or one per cutoff).
    data_end : date-like, optional
        The data's exclusive end; default ``data.end`` of a whole config, else
        the day after the last transaction, in both regimes (as training reads it).
    immature : {"error", "keep"}
        As in :func:`noncontractual_labels`.

    Returns
    -------
    DataFrame
        ``customer_id``, ``cutoff``, ``churned`` (int8), sorted by cutoff then customer.
    """
    if isinstance(time, Config):  # the whole config: its declared data end too, as training reads it
        data_end = time.data.end if data_end is None else data_end
        time = time.time
    tables = as_tables(tables)
    horizon = time.horizon_days if horizon_days is None else horizon_days
    tx = getattr(tables, "transactions", None)
    if time.regime == "contractual":
        subs = getattr(tables, "subscriptions", None)
        if subs is None:
            raise SchemaError(
                "the contractual regime needs a subscriptions table; add data.tables.subscriptions "
                "or set time.regime=noncontractual",
                table="subscriptions",
            )
        tx_end = None
        if immature == "error" and data_end is None and tx is not None:  # the transactions' end, not the last start's
            bought = select("transactions", tx, ["customer_id", "timestamp", "amount"])
            check_sources({"transactions": bought})  # before any time is read from them
            tx_end = _span(bought, "timestamp", "transactions", None).end
        return _contractual_labels(subs, cutoffs, horizon, time.lead_time_days, time.grace_days, data_end, immature,
                                   tx_end)
    if tx is None:
        raise SchemaError("no transactions table given", table="transactions")
    return noncontractual_labels(tx, cutoffs, horizon, time.lead_time_days, time.active_within_days,
                                 data_end=data_end, immature=immature)



def population(tables: object, cutoffs: object, time: TimeConfig | Config) -> pd.DataFrame:
    """Who is at risk at each cutoff: the spine for scoring.

    The same population rule as the labels (no label window is needed):
    non-contractual, a purchase before the cutoff (within
    ``active_within_days`` if set); contractual, an active subscription.

    Parameters
    ----------
    tables : Tables or dict of str to DataFrame
        As in :func:`make_labels`.
    cutoffs : date-like or sequence of date-like
        One cutoff or several (midnights).
    time : TimeConfig or Config
        The time model: regime and active window.

    Returns
    -------
    DataFrame
        ``customer_id``, ``cutoff``; sorted.
    """
    time = time.time if isinstance(time, Config) else time
    tables = as_tables(tables)
    cuts = cutoff_table(cutoffs, 1, 0, time.active_within_days)
    if time.regime == "contractual":
        subs = getattr(tables, "subscriptions", None)
        if subs is None:
            raise SchemaError("the contractual regime needs a subscriptions table", table="subscriptions")
        sql = population_sql("contractual")
        frames = {"subscriptions": select("subscriptions", subs, ["customer_id", "start", "end"]), "cutoffs": cuts}
        check_sources({"subscriptions": frames["subscriptions"]})
    else:
        tx = getattr(tables, "transactions", None)
        if tx is None:
            raise SchemaError("no transactions table given", table="transactions")
        sql = population_sql("noncontractual", active_within=time.active_within_days is not None)
        frames = {"tx": select("transactions", tx, ["customer_id", "timestamp", "amount"]), "cutoffs": cuts}
        check_sources({"transactions": frames["tx"]})
    out = run_sql(sql, frames)
    out["cutoff"] = out["cutoff"].astype("datetime64[us]")
    return out.reset_index(drop=True)


def not_at_risk_reason(time: TimeConfig) -> str:
    """Why a customer is not in :func:`population` at a cutoff, in the regime's words.

    The reason of an asked customer not at risk (:func:`churnml.outreach.account_for`)
    and of the customers of the tables the score command counts as not at risk.
    """
    if time.regime == "contractual":
        return "no active subscription at the cutoff"
    return "no purchase before the cutoff" + (f" within {time.active_within_days} days" if time.active_within_days
                                              else "")


def customer_tables(tables: object) -> dict[str, TableSource]:
    """The tables of ``tables`` whose customers are "in the tables" (:data:`churnml.label_sql.CUSTOMER_TABLES`:
    transactions, customers, subscriptions), each as its ``customer_id`` column (a frame or a Parquet source)."""
    given = as_tables(tables)
    return {name: select(name, getattr(given, name), ["customer_id"]) for name in CUSTOMER_TABLES
            if getattr(given, name, None) is not None}


def count_customers(tables: object) -> int:
    """How many customers the tables hold: the distinct ids of :func:`customer_tables` (DuckDB)."""
    frames = customer_tables(tables)
    return int(run_sql(count_customers_sql(list(frames)), frames)["n"].iloc[0])


def not_at_risk(tables: object, spine: pd.DataFrame, time: TimeConfig) -> pd.DataFrame:
    """The customers of the tables not at risk at a cutoff, with the reason (DuckDB).

    ``spine`` is :func:`population` at that cutoff; every customer of
    :func:`customer_tables` without a row in it is returned with
    :func:`not_at_risk_reason`: ``customer_id``, ``reason``, sorted by id.
    """
    frames = customer_tables(tables)
    return not_at_risk_rows(run_sql(not_at_risk_sql(list(frames)), {**frames, "spine": spine[["customer_id"]]}),
                            time)


def not_at_risk_rows(rows: pd.DataFrame, time: TimeConfig) -> pd.DataFrame:
    """The rows of :func:`churnml.label_sql.not_at_risk_sql` (either engine's) as ``customer_id``, ``reason``."""
    return pd.DataFrame({"customer_id": rows["customer_id"].astype("str").reset_index(drop=True),
                         "reason": pd.Series(not_at_risk_reason(time), index=range(len(rows)), dtype="str")})
