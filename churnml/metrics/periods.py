"""Retention KPIs per calendar period: the dashboard table.

One row per period ``[start, end)`` of a month, quarter or year grid. The
customer flow uses the one definition of "lost" of :mod:`churnml.labels`
(see :mod:`churnml.metrics.churn`): for each period,

* ``S`` (``customers_start``): the label population at ``cutoff = start``;
* ``L`` (``lost_customers``): those labelled churned with
  ``horizon = period length in days`` and no lead time;
* ``N`` (``new_customers``): customers acquired in the period (first purchase,
  or first subscription start in the contractual regime);
* ``E`` (``customers_end``) ``= S - L + N``, the identity of METRICS.md. It
  is not a head count: in the non-contractual regime it is the period's
  buyers (without ``time.active_within_days``; with it, lapsed customers who
  come back are not in it), and in the contractual one it counts subscribers
  acquired and lost in the same period and misses returning ones;
* ``customers_at_end``: the population at the period's end (the data's end
  for the running period), counted as ``S`` is (the next period's
  ``customers_start``);
* ``churn_rate = L / S * 100`` and ``retention_rate = (E - N) / S * 100``.

A purchase is a transaction with ``amount >= 0`` (as in the labels); revenue
is the net sum of all amounts, returns included.

The customer value per year (``value_per_year``: AOV x APF over the calendar
year before the period's end, so a month's row is a year's value too) gives
the historical CLV (x ``metrics.lifespan_years``) and the margin CLV (less
the CAC of the same year and ``metrics.serving_cost_per_year`` x the
lifespan). The lifespan and the serving cost are not in the data: without
them those columns are n/a. The value counts transactions only (in the
contractual regime, subscription revenue is not in it).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from churnml.config import Config, TimeConfig
from churnml.metrics import formulas as f
from churnml.metrics.churn import first_seen, population_counts
from churnml.metrics.grid import bucket, nan_if_undefined, per_period, period_grid
from churnml.metrics.inputs import TablesLike, purchases, require_table, settings_of, table_of
from churnml.metrics.sums import group_sum, total
from churnml.metrics.table_kpis import PeriodContext, table_kpis
from churnml.windows import DataSpan, in_window_mask, to_timestamp, year_before

__all__ = ["KPI_COLUMNS", "has_a_year", "retention_kpis", "value_per_year"]

log = logging.getLogger(__name__)

#: Columns of :func:`retention_kpis`, in order, with their unit.
KPI_COLUMNS: dict[str, str] = {
    "period": "label",
    "start": "timestamp (inclusive)",
    "end": "timestamp (exclusive)",
    "days": "days",
    "complete": "churn fully observed",
    "customers_start": "customers (S)",
    "new_customers": "customers (N)",
    "lost_customers": "customers (L)",
    "customers_end": "customers (E = S - L + N of METRICS.md: not a head count; see customers_at_end)",
    "customers_at_end": "customers (the population at the period's end, counted as S is: the next period's S; "
                        "at the data's end for the running period)",
    "churn_rate": "% (L / S)",
    "retention_rate": "% ((E - N) / S)",
    "revenue": "money (net of returns)",
    "orders": "orders",
    "purchasing_customers": "customers",
    "repeat_customers": "customers (>= 2 orders)",
    "aov": "money per order",
    "purchase_frequency": "orders per customer",
    "repeat_purchase_rate": "%",
    "customer_value": "money per customer (AOV x APF)",
    "value_per_year": "money per customer per year (AOV x APF over the year to the period end, or to the data "
                      "end for the running period; n/a before a year of data)",
    "historical_clv": "money per customer (value_per_year x metrics.lifespan_years)",
    "margin_clv": "money per customer (historical_clv - the year's CAC - metrics.serving_cost_per_year x lifespan)",
    "nps": "-100..100",
    "csat": "%",
    "ces": "1..7",
    "cli": "1..6",
    "mrr": "money per month (at period end)",
    "arpa": "money per month per account",
    "expansion_mrr": "money per month",
    "cac": "money per new customer",
    "fcr": "%",
    "referral_rate": "% of new customers",
    "loyalty_participation_rate": "% of customers",
    "loyalty_redemption_rate": "% of points issued",
    "loyalty_active_participation": "% of members",
}


def retention_kpis(
    tables: TablesLike,
    cfg: Config | TimeConfig | None = None,
    freq: str | None = None,
    start: object | None = None,
    end: object | None = None,
) -> pd.DataFrame:
    """Retention KPIs, one row per period.

    Parameters
    ----------
    tables : Tables, mapping or DataFrame
        The canonical tables (``churnml.io.Tables``, a ``{name: frame}``
        mapping, or a bare transactions frame). Transactions are required;
        every other table adds its metrics when present.
    cfg : Config or TimeConfig, optional
        The regime (``time.regime``), ``time.active_within_days``,
        ``time.grace_days``, ``metrics.*`` and ``data.end``. Defaults apply
        when None.
    freq : {"M", "Q", "Y"}, optional
        Calendar months, quarters or years; default ``metrics.freq``.
    start, end : date-like, optional
        Which periods: those that overlap ``[start, end)`` (the first one
        contains ``start``, the last one the moment before ``end``); default
        ``metrics.start``/``metrics.end``, else the first transaction and the
        end of the data. Each period is reported whole: ``end`` picks the
        last period and does not cut it (``end="2024-01-15"`` with monthly
        periods reports all of January). Only the end of the data cuts a
        period (the one still running).

    Returns
    -------
    DataFrame
        The columns of :data:`KPI_COLUMNS`. ``lost_customers``,
        ``customers_end``, ``churn_rate`` and ``retention_rate`` are missing
        for incomplete periods (churn not yet observable). A rate with a zero
        denominator is NaN. Metrics whose table is absent are NaN, and
        ``result.attrs["not_available"]`` maps each of them to the reason
        (e.g. ``{"nps": "no surveys table"}``).

    Raises
    ------
    SchemaError
        No transactions table (or no subscriptions in the contractual regime).
    EmptyDataError
        The transactions table has no rows.
    DataWindowError, ConfigError
        No period to report, or an unknown ``freq``.
    """
    time, mcfg, declared_end = settings_of(cfg)
    tx = require_table(tables, "transactions", "retention_kpis")
    span = DataSpan.from_times(tx["timestamp"], declared_end)
    grace = time.grace_days if time.regime == "contractual" else 0
    lo = start if start is not None else (mcfg.start or span.first)
    hi = end if end is not None else (mcfg.end or span.end)
    grid = period_grid(freq or mcfg.freq, lo, hi, span.end, grace)
    seen = first_seen(tables, time.regime)
    flow = _customer_flow(tables, grid, seen, time)
    sales, buyers = _sales(tx, grid)
    ctx = PeriodContext(grid, seen, buyers, flow["new_customers"], span.end, mcfg.csat_satisfied_min, span.first)
    extra, reasons = table_kpis(tables, ctx)
    clv, clv_reasons = _clv(tx, table_of(tables, "marketing_spend"), seen, grid, span, mcfg.lifespan_years,
                            mcfg.serving_cost_per_year)
    out = grid.set_index("period").join([flow, sales, clv, extra]).reset_index()
    out = out[list(KPI_COLUMNS)]
    reasons = {**clv_reasons, **reasons}
    out.attrs.update(
        not_available={k: reasons[k] for k in KPI_COLUMNS if k in reasons},
        freq=freq or mcfg.freq,
        regime=time.regime,
        data_end=str(span.end),
        grace_days=grace,
    )
    log.info("retention KPIs: %d periods, regime %s", len(out), time.regime)
    return out


def _customer_flow(
    tables: TablesLike, grid: pd.DataFrame, seen: pd.Series, time: TimeConfig
) -> pd.DataFrame:
    """S, N, L, E, the head count at the end, churn and retention rate per period label.

    The head count of the running period is taken at the data's end, not at
    the period's calendar end, which the data has not reached; populations are
    counted at midnights, so a ``data.end`` with a time of day counts at the end
    of that day (no purchase or subscription start lies between the two: rows at
    or after ``data.end`` are not read; a subscription end after ``data.end`` is
    taken as not yet happened).
    """
    index = pd.Index(grid["period"], name="period")
    starts = pd.DatetimeIndex(grid["start"])
    stops = pd.DatetimeIndex(grid["stop"])
    ends = stops.ceil("D")
    last_ends = ends.difference(starts)  # the last period's end or the data's end (the grid is contiguous)
    cuts = pd.DatetimeIndex(starts.append(last_ends))
    counts = population_counts(tables, cuts, [*grid["days"].tolist(), *[1] * len(last_ends)], time)
    timed = stops[stops != ends] if time.regime == "contractual" else pd.DatetimeIndex([])
    for stop in timed:
        # a subscription ending between the data's end and midnight was active at the data's end: the table may
        # hold ends scheduled after it, which the count at midnight would take as ended
        subs = require_table(tables, "subscriptions", "time.regime=contractual")
        then = {"subscriptions": subs.assign(end=subs["end"].where(subs["end"] < stop))}
        counts.loc[stop.ceil("D"), "customers_start"] = population_counts(
            then, pd.DatetimeIndex([stop.ceil("D")]), [1], time)["customers_start"].iloc[0]
    at = counts["customers_start"]
    s = pd.Series(at.loc[starts].to_numpy(), index=index)
    at_end = pd.Series(at.loc[ends].to_numpy(), index=index).astype("int64")
    n = bucket(seen.rename("t").reset_index(), "t", grid).groupby("period").size()
    n = n.reindex(index, fill_value=0).astype("int64")
    done = grid["complete"].to_numpy()
    lost = pd.Series(counts["lost_customers"].loc[starts].to_numpy(), index=index).astype("Int64").where(done)
    e = (s - lost + n).astype("Int64")
    return pd.DataFrame(
        {
            "customers_start": s,
            "new_customers": n,
            "lost_customers": lost,
            "customers_end": e,
            "customers_at_end": at_end,
            "churn_rate": per_period(f.churn_rate, lost, s),
            "retention_rate": per_period(f.retention_rate, e, n, s),
        },
        index=index,
    )


def _order_keys(buys: pd.DataFrame) -> pd.Series:
    """One key per order: ``order_id`` when given, else (and for null ids) the row."""
    rows = pd.Series(np.arange(len(buys)), index=buys.index).astype("str").radd("#row")
    if "order_id" not in buys.columns:
        return rows
    return buys["order_id"].astype("str").where(buys["order_id"].notna(), rows)


def _sales(tx: pd.DataFrame, grid: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Revenue, orders and the purchase KPIs per period, and the (period, customer) buyers."""
    index = pd.Index(grid["period"], name="period")
    rows = bucket(tx, "timestamp", grid)
    revenue = group_sum(rows, "period", "amount").reindex(index, fill_value=0.0)
    buys = purchases(rows)
    buys = buys.assign(order_key=_order_keys(buys))
    per_customer = buys.groupby(["period", "customer_id"]).agg(orders=("order_key", "nunique")).reset_index()
    per_customer["repeat"] = per_customer["orders"] >= 2
    counts = per_customer.groupby("period").agg(
        orders=("orders", "sum"),
        purchasing_customers=("orders", "size"),
        repeat_customers=("repeat", "sum"),
    )
    counts = counts.reindex(index, fill_value=0).astype("int64")
    aov = per_period(f.aov, revenue, counts["orders"])
    apf = per_period(f.purchase_frequency, counts["orders"], counts["purchasing_customers"])
    out = counts.assign(
        revenue=revenue.astype("float64"),
        aov=aov,
        purchase_frequency=apf,
        repeat_purchase_rate=per_period(
            f.repeat_purchase_rate, counts["repeat_customers"], counts["purchasing_customers"]
        ),
        customer_value=per_period(f.customer_value, aov, apf),
    )
    return out, per_customer[["period", "customer_id"]]


# ------------------------------------------------------------------------------------------ CLV
def has_a_year(end: pd.Timestamp, first: pd.Timestamp) -> bool:
    """Whether data starting at ``first`` (from that day) covers the calendar year before ``end``."""
    return year_before(end) >= first.normalize()


def _per_buyer(revenue: float, buyers: int) -> float:
    """AOV x APF = (revenue / orders) x (orders / buyers) = revenue / buyers; NaN without a buyer.

    The orders cancel, so how they are counted (``order_id`` or rows) never changes the value.
    """
    return float(revenue) / buyers if buyers else float("nan")


def value_per_year(transactions: pd.DataFrame, end: object) -> float:
    """Customer value per year of the metric definitions (APV x APF per year) in the year before ``end``.

    Counted as the KPI table counts a period, over ``[end - 1 year, end)``:
    revenue net of returns (also of returns of purchases made before the
    window) over the customers with a purchase there. NaN without a purchase,
    and NaN when the data starts after that year does (:func:`has_a_year`),
    as the KPI table says n/a for such a period.
    """
    e = to_timestamp(end, "end")  # type: ignore[arg-type]
    if transactions.empty or not has_a_year(e, transactions["timestamp"].min()):
        return float("nan")
    year = transactions.loc[in_window_mask(transactions["timestamp"], year_before(e), e)]
    buyers = int(purchases(year)["customer_id"].nunique())
    return _per_buyer(total(year["amount"]), buyers)


def _clv(tx: pd.DataFrame, spend: pd.DataFrame | None, seen: pd.Series, grid: pd.DataFrame, span: DataSpan,
         lifespan: float | None, serving: float | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """``value_per_year``, ``historical_clv`` and ``margin_clv`` per period label, and why a column is n/a.

    A period's year is the calendar year before its end, or before the end of
    the data for the period still running; a year that starts before the first
    day of data has no value (NaN). The margin CLV takes the CAC of the same
    year (its spend / the customers acquired in it), NaN without spend rows there.
    """
    index = pd.Index(grid["period"], name="period")
    n = len(grid)
    # each period's year is then a slice, its amounts in one order whatever the rows' (by time, ties by amount:
    # two stable argsorts, a third of the time of a two-key sort_values)
    times, amount = tx["timestamp"].to_numpy(), tx["amount"].to_numpy(dtype="float64")
    by_amount = np.argsort(amount, kind="stable")
    order = by_amount[np.argsort(times[by_amount], kind="stable")]
    times, amount = times[order], amount[order]
    bought = amount >= 0
    codes, bought_at = pd.factorize(tx["customer_id"].to_numpy()[order])[0][bought], times[bought]  # the buyers
    is_buyer = np.zeros(int(codes.max()) + 1 if len(codes) else 0, dtype=bool)
    stops = pd.DatetimeIndex(grid["stop"])  # the running period: the data's end
    value, cac = np.full(n, np.nan), np.full(n, np.nan)
    short = 0  # periods whose year starts before the data
    for i, stop in enumerate(stops):
        if not has_a_year(stop, span.first):
            short += 1
            continue
        start = year_before(stop)
        bounds = np.array([start, stop], dtype=times.dtype)
        lo, hi = np.searchsorted(times, bounds, side="left")
        blo, bhi = np.searchsorted(bought_at, bounds, side="left")
        is_buyer[:] = False
        is_buyer[codes[blo:bhi]] = True
        value[i] = _per_buyer(float(amount[lo:hi].sum()), int(is_buyer.sum()))
        cac[i] = _year_cac(spend, seen, start, stop)
    reasons: dict[str, str] = {}
    if n and short == n:  # no period has a year of data before its end
        reasons["value_per_year"] = (f"needs a year of data before a period's end; the data starts on "
                                     f"{span.first.date()}")
    if lifespan is None:
        reasons["historical_clv"] = "set metrics.lifespan_years"
    elif "value_per_year" in reasons:
        reasons["historical_clv"] = reasons["value_per_year"]
    margin_missing = reasons.get("historical_clv") or (
        "set metrics.serving_cost_per_year" if serving is None else
        "no marketing_spend table" if spend is None else None)
    if margin_missing:
        reasons["margin_clv"] = margin_missing
    historical = per_period(f.historical_clv, value, [lifespan] * n) if lifespan is not None else np.full(n, np.nan)
    margin = np.full(n, np.nan)
    if lifespan is not None and serving is not None:
        margin = per_period(f.margin_clv, historical, cac, [serving * lifespan] * n)
    frame = pd.DataFrame({"value_per_year": value, "historical_clv": historical, "margin_clv": margin}, index=index)
    return frame, reasons


def _year_cac(spend: pd.DataFrame | None, seen: pd.Series, start: pd.Timestamp, stop: pd.Timestamp) -> float:
    """CAC over ``[start, stop)``: the spend dated in it / the customers first seen in it (NaN without spend rows)."""
    if spend is None:
        return float("nan")
    dated = in_window_mask(spend["period"].astype("datetime64[us]"), start, stop)
    if not dated.any():
        return float("nan")  # no spend rows: unknown, not 0 (as the period's CAC)
    new = int(in_window_mask(seen, start, stop).sum())
    return nan_if_undefined(f.cac, total(spend.loc[dated, "spend"]), new)
