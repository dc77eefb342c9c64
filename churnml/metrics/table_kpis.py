"""Per-period KPIs of the optional tables: surveys, subscriptions, spend, tickets, customers, loyalty.

Each function takes one canonical table and the :class:`PeriodContext` and
returns a frame indexed by period label (NaN where a period has no data) and
a dict ``{metric: reason}`` for metrics that cannot be computed at all (a
missing optional column, no answers of a survey type). A metric whose table
is absent is never 0: :func:`table_kpis` reports it as ``"no <table> table"``.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnml.metrics import formulas as f
from churnml.metrics.grid import bucket, nan_if_undefined, per_period, periods_of
from churnml.metrics.inputs import TablesLike, table_of
from churnml.metrics.sums import group_sum, total
from churnml.windows import history_mask

__all__ = ["SOURCES", "PeriodContext", "one_answer_per_moment", "table_kpis"]

log = logging.getLogger(__name__)

#: The metrics each optional table feeds, in output order.
SOURCES: dict[str, tuple[str, ...]] = {
    "surveys": ("nps", "csat", "ces", "cli"),
    "subscriptions": ("mrr", "arpa", "expansion_mrr"),
    "marketing_spend": ("cac",),
    "tickets": ("fcr",),
    "customers": ("referral_rate",),
    "loyalty": ("loyalty_participation_rate", "loyalty_redemption_rate", "loyalty_active_participation"),
}

Result = tuple[pd.DataFrame, dict[str, str]]


@dataclass(frozen=True)
class PeriodContext:
    """What the optional KPIs need from the core computation.

    ``first_seen``: acquisition moment per customer_id; ``buyers``: distinct
    ``(period, customer_id)`` pairs with a purchase; ``new_customers``: N per
    period label; ``data_end``: exclusive end of the data.
    """

    grid: pd.DataFrame
    first_seen: pd.Series
    buyers: pd.DataFrame
    new_customers: pd.Series
    data_end: pd.Timestamp
    csat_satisfied_min: float = 4
    data_start: pd.Timestamp | None = None  # the first transaction


def _blank(ctx: PeriodContext, columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(np.nan, index=pd.Index(ctx.grid["period"], name="period"), columns=list(columns))


def _bucket(frame: pd.DataFrame, column: str, ctx: PeriodContext, table: str, metrics: str) -> pd.DataFrame:
    """:func:`~churnml.metrics.grid.bucket`, with a warning naming the rows left out of every period."""
    rows = bucket(frame, column, ctx.grid)
    times = frame[column]
    outside = int(times.notna().sum()) - len(rows)
    if outside:
        lo, hi = ctx.grid["start"].iloc[0], ctx.grid["end"].iloc[-1]
        first = ctx.data_start if ctx.data_start is not None else lo
        left = (times < lo) | (times >= hi)
        if not (left & ((times < first) | (times >= ctx.data_end))).any():  # left out by metrics.start / end only
            log.info("table '%s': %d of %d rows (%s) fall outside the reported periods %s .. %s (metrics.start "
                     "/ metrics.end); they count in no period's %s", table, outside, len(frame), column,
                     ctx.grid["period"].iloc[0], ctx.grid["period"].iloc[-1], metrics)
            return rows
        before = int((times < lo).sum())
        shown = ("; e.g. customers " + ", ".join(frame.loc[left, "customer_id"].astype("str").head(3))
                 if "customer_id" in frame else "")
        log.warning(
            "table '%s': %d of %d rows (%s) fall outside the reported periods %s .. %s (%s to %s, exclusive) and "
            "count in no period's %s (%d before, %d at or after%s). The periods run from metrics.start (default: "
            "the first transaction) to metrics.end (default: the data's end: the day after the last transaction, "
            "or data.end). Fix: set metrics.start / metrics.end (or data.end) to cover them, or leave them out on "
            "purpose", table, outside, len(frame), column, ctx.grid["period"].iloc[0], ctx.grid["period"].iloc[-1],
            lo.date(), hi.date(), metrics, before, outside - before, shown)
    return rows


def one_answer_per_moment(surveys: pd.DataFrame) -> pd.DataFrame:
    """The answers, with those of one customer, survey type (and ``question``) at the same moment as one answer.

    Such a group is an answer exported twice (a re-sent response, a second response id) more often than
    two answers: it keeps its first row with the group's lowest score, the rule of the ``srv_*`` features
    (:mod:`churnml.features.surveys`), and a warning names the groups. The CLI's questions answered
    together stay three answers: with their ``question``, or, without one, as CLI answers at one moment
    (METRICS.md: the mean of three answers), which are not merged.
    """
    keys = [c for c in ("customer_id", "survey", "question", "timestamp") if c in surveys.columns]
    unnamed = surveys["question"].isna() if "question" in surveys.columns else True
    repeat = (surveys.duplicated(keys) & ~((surveys["survey"] == "cli") & unnamed)).to_numpy()
    if not repeat.any():
        return surveys
    lowest = surveys.groupby(keys, dropna=False, sort=False)["score"].transform("min")
    first = surveys.loc[repeat].drop_duplicates(keys).head(3)  # each group once
    shown = "; ".join(f"customer {c}, {k} at {t}" for c, k, t in zip(first["customer_id"], first["survey"],
                                                                        first["timestamp"], strict=True))
    log.warning("table 'surveys': %d answer(s) repeat an answer of the same customer, survey type%s and moment (e.g. "
                "%s); NPS, CSAT, CES and CLI count each such group once, with its lowest score, as the srv_* features "
                "do. Fix: remove the repeated rows if the tool exported one answer twice (data.duplicates: drop "
                "removes only whole-row repeats), or give distinct answers their own times",
                int(repeat.sum()), " and question" if "question" in keys else "", shown)
    return surveys.assign(score=lowest).loc[~repeat]


def survey_kpis(surveys: pd.DataFrame, ctx: PeriodContext) -> Result:
    """NPS, CSAT, CES and CLI of the answers given in each period (:func:`one_answer_per_moment`)."""
    out, reasons = _blank(ctx, SOURCES["surveys"]), {}
    surveys = one_answer_per_moment(surveys)
    rows = _bucket(surveys, "timestamp", ctx, "surveys", "NPS, CSAT, CES or CLI")
    scorers: dict[str, Callable[[pd.DataFrame], float]] = {
        "nps": lambda g: f.nps_from_scores(g["score"].to_numpy()),
        "csat": lambda g: f.csat_from_scores(g["score"].to_numpy(), ctx.csat_satisfied_min),
        "ces": lambda g: f.ces(g["score"].to_numpy()),
        "cli": _cli_of,
    }
    cli = surveys.loc[surveys["survey"] == "cli"]
    if "question" in cli and cli["question"].isna().any() and cli["question"].notna().any():
        log.warning("table 'surveys': %d of %d CLI answers have no question (e.g. customers %s); a period with "
                    "such an answer gets the mean of all its CLI answers, the others the mean of each question's "
                    "mean. Fix: fill in question on every CLI answer (would recommend, buy again, try other "
                    "products)", int(cli["question"].isna().sum()), len(cli),
                    cli.loc[cli["question"].isna(), "customer_id"].astype("str").head(3).tolist())
    for kind, scorer in scorers.items():
        if not (surveys["survey"] == kind).any():
            reasons[kind] = f"no {kind} answers in the surveys table"
            continue
        for period, group in rows.loc[rows["survey"] == kind].groupby("period"):
            out.loc[period, kind] = nan_if_undefined(scorer, group)
    return out, reasons


def _cli_of(group: pd.DataFrame) -> float:
    """CLI of one period: one answer list per question when ``question`` is given."""
    if "question" in group and group["question"].notna().all():
        return f.cli(*[g["score"].to_numpy() for _, g in group.groupby("question")])
    return f.cli(group["score"].to_numpy())


def _mrr_by_customer(subs: pd.DataFrame, moment: pd.Timestamp) -> pd.Series:
    """MRR per customer of the subscriptions active at ``moment`` (start < moment <= end)."""
    active = history_mask(subs["start"], moment) & ~history_mask(subs["end"], moment)
    return group_sum(subs.loc[active], "customer_id", "mrr")


def subscription_kpis(subs: pd.DataFrame, ctx: PeriodContext) -> Result:
    """MRR and ARPA at the end of each period, expansion MRR over it.

    The end of the running period is the end of the data. Subscriptions with
    a null ``mrr`` count as 0, with a warning (e.g. a free plan recorded
    without a price; a price that is unknown lowers MRR and ARPA).
    """
    out = _blank(ctx, SOURCES["subscriptions"])
    if "mrr" not in subs.columns:
        return out, dict.fromkeys(SOURCES["subscriptions"], "no mrr column in the subscriptions table")
    blank = subs["mrr"].isna()
    if blank.any():
        log.warning("table 'subscriptions', column 'mrr': %d of %d rows are empty (e.g. customers %s); MRR, ARPA and "
                    "expansion MRR count them as 0. Fix: fill mrr (0 for a free plan), or leave those rows out if "
                    "their price is unknown", int(blank.sum()), len(subs),
                    subs.loc[blank, "customer_id"].astype("str").head(3).tolist())
    subs = subs.assign(mrr=subs["mrr"].fillna(0.0))
    for (period, start, _), stop in zip(periods_of(ctx.grid), ctx.grid["stop"], strict=True):
        at_start = _mrr_by_customer(subs, start)
        at_end = _mrr_by_customer(subs, pd.Timestamp(stop))
        both = pd.concat([at_start.rename("s"), at_end.rename("e")], axis=1).fillna(0.0)
        total = f.mrr(at_end.to_numpy())
        out.loc[period, "mrr"] = total
        out.loc[period, "arpa"] = nan_if_undefined(f.arpa, total, float(at_end.index.size))
        out.loc[period, "expansion_mrr"] = f.expansion_mrr(both["s"].to_numpy(), both["e"].to_numpy())
    return out, {}


def cac_kpi(spend: pd.DataFrame, ctx: PeriodContext) -> Result:
    """CAC: the spend dated in each period / the new customers of the period.

    A period without spend rows has an unknown spend, so its CAC is NaN (not 0).
    """
    out = _blank(ctx, SOURCES["marketing_spend"])
    dated = spend.rename(columns={"period": "spent_at"})
    dated = dated.assign(spent_at=dated["spent_at"].astype("datetime64[us]"))
    per = group_sum(_bucket(dated, "spent_at", ctx, "marketing_spend", "CAC"), "period", "spend").reindex(out.index)
    new = ctx.new_customers.reindex(out.index, fill_value=0)
    out["cac"] = per_period(f.cac, per, new)
    return out, {}


def fcr_kpi(tickets: pd.DataFrame, ctx: PeriodContext) -> Result:
    """FCR of the tickets opened in each period: resolved in the first contact / all tickets.

    A ticket still open (no ``resolved_at``, when the table has the column) was
    not resolved in the first contact, whatever its flag says (a flag saying
    it was is named in a warning). A resolved ticket with a missing flag has an
    unknown outcome and is left out of both counts.
    """
    out = _blank(ctx, SOURCES["tickets"])
    if "first_contact_resolved" not in tickets.columns:
        return out, {"fcr": "no first_contact_resolved column in the tickets table"}
    flag = tickets["first_contact_resolved"]
    still_open = (tickets["resolved_at"].isna() if "resolved_at" in tickets.columns
                  else pd.Series(False, index=tickets.index))
    claimed = still_open & flag.fillna(False).astype(bool)
    if claimed.any():
        log.warning("table 'tickets': %d ticket(s) have first_contact_resolved=true and no resolved_at (still "
                    "open), e.g. customers %s opened at %s; FCR counts them as not resolved in the first "
                    "contact. Fix: fill in resolved_at (the moment of that first contact), or the flag false",
                    int(claimed.sum()), ", ".join(tickets.loc[claimed, "customer_id"].astype("str").head(3)),
                    ", ".join(str(t) for t in tickets.loc[claimed, "opened_at"].head(3)))
    ok = flag.fillna(False).astype(bool) & ~still_open
    known = tickets.assign(ok=ok).loc[flag.notna() | still_open]
    rows = _bucket(known, "opened_at", ctx, "tickets", "FCR")
    counts = rows.groupby("period").agg(
        resolved=("ok", "sum"), tickets=("ok", "size")
    )
    counts = counts.reindex(out.index, fill_value=0)
    out["fcr"] = per_period(f.fcr, counts["resolved"], counts["tickets"])
    return out, {}


def referral_kpi(customers: pd.DataFrame, ctx: PeriodContext) -> Result:
    """Referral rate: new customers of the period with a ``referred_by`` / all new customers.

    A ``referred_by`` that is null or blank (only ``string.whitespace``) is not a
    referral, as in the ``cst_referred`` feature (:mod:`churnml.features.customers`).
    """
    out = _blank(ctx, SOURCES["customers"])
    if "referred_by" not in customers.columns:
        return out, {"referral_rate": "no referred_by column in the customers table"}
    ref = customers.set_index("customer_id")["referred_by"]
    referred = ref.notna() & (ref.astype("str").str.strip(string.whitespace) != "")
    new = bucket(ctx.first_seen.rename("t").reset_index(), "t", ctx.grid)
    new["referred"] = new["customer_id"].map(referred).fillna(False).astype(bool)
    counts = new.groupby("period")["referred"].sum().reindex(out.index, fill_value=0)
    total = ctx.new_customers.reindex(out.index, fill_value=0)
    out["referral_rate"] = per_period(f.referral_rate, counts, total)
    return out, {}


def loyalty_kpis(loyalty: pd.DataFrame, ctx: PeriodContext) -> Result:
    """Loyalty participation, redemption and active participation per period.

    Members of a period are those enrolled before its end. The loyalty table
    holds cumulative point totals per member (no dates), so the redemption
    rate of a period is that of its members' totals as of the extract; a
    member with an empty total is left out of it (with a warning).
    """
    out, reasons = _blank(ctx, SOURCES["loyalty"]), {}
    has_points = {"points_issued", "points_redeemed"} <= set(loyalty.columns)
    if not has_points:
        reasons["loyalty_redemption_rate"] = "no points_issued/points_redeemed columns in the loyalty table"
    else:  # a member with an unknown total is left out of the rate (counted as 0 issued, it could pass 100 %)
        unknown = loyalty["points_issued"].isna() | loyalty["points_redeemed"].isna()
        if unknown.any():
            log.warning("table 'loyalty': %d of %d members have an empty points_issued or points_redeemed (e.g. "
                        "customers %s); the redemption rate leaves them out. Fix: fill both (0 when none)",
                        int(unknown.sum()), len(loyalty),
                        loyalty.loc[unknown, "customer_id"].astype("str").head(3).tolist())
    for period, _, end in periods_of(ctx.grid):
        members = loyalty.loc[history_mask(loyalty["enrolled_at"], end)]
        ids = pd.Index(members["customer_id"].unique())
        acquired = ctx.first_seen.index[history_mask(ctx.first_seen, end).to_numpy()]
        active = ctx.buyers.loc[ctx.buyers["period"] == period, "customer_id"]
        out.loc[period, "loyalty_participation_rate"] = nan_if_undefined(
            f.loyalty_participation_rate, ids.intersection(acquired).size, acquired.size
        )
        out.loc[period, "loyalty_active_participation"] = nan_if_undefined(
            f.loyalty_active_participation, ids.intersection(pd.Index(active)).size, ids.size
        )
        if has_points:
            known = members.dropna(subset=["points_issued", "points_redeemed"])
            out.loc[period, "loyalty_redemption_rate"] = nan_if_undefined(
                f.loyalty_redemption_rate, total(known["points_redeemed"]), total(known["points_issued"]))
    return out, reasons


_BUILDERS: dict[str, Callable[[pd.DataFrame, PeriodContext], Result]] = {
    "surveys": survey_kpis,
    "subscriptions": subscription_kpis,
    "marketing_spend": cac_kpi,
    "tickets": fcr_kpi,
    "customers": referral_kpi,
    "loyalty": loyalty_kpis,
}


def table_kpis(tables: TablesLike, ctx: PeriodContext) -> Result:
    """All optional KPIs: one column per metric of :data:`SOURCES`, and the reasons for n/a."""
    frames, reasons = [], {}
    for table, metrics in SOURCES.items():
        frame = table_of(tables, table)
        if frame is None:
            frames.append(_blank(ctx, metrics))
            reasons.update(dict.fromkeys(metrics, f"no {table} table"))
            continue
        part, why = _BUILDERS[table](frame, ctx)
        frames.append(part)
        reasons.update(why)
    log.debug("optional KPIs not available: %s", reasons)
    return pd.concat(frames, axis=1), reasons

