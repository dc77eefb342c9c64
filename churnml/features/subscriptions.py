"""Subscriptions family: plan, price and tenure of the contract.

Only what is known at the cutoff is used: a subscription is active when it
started before the cutoff and has not ended before it (its recorded end, if
in the future, is never read). Cancellation requests are not features: in
the contractual regime they are part of the outcome.
"""

from __future__ import annotations

from churnml.features.base import FamilyContext, FamilySQL, FeatureDoc, age, as_int, history_join
from churnml.windows import MONTH_DAYS, history_sql

__all__ = ["subscriptions_family"]


def _anniversary(year: str, month: str) -> str:
    """The start's day of the month in (year, month), or that month's last day when it is shorter."""
    return f"MAKE_DATE({year}, {month}, LEAST(DAY(st), DAY(LAST_DAY(MAKE_DATE({year}, {month}, 1)))))"


# Days from the cutoff to the next monthly anniversary of the start, 0 when it falls on the cutoff's
# day: the start's day in the cutoff's month if not yet past, else in the next month; a start on the
# 29th to 31st renews on the last day of shorter months (2024-01-31: 02-29, 03-31). In calendar
# months, as bills are, and in functions DuckDB and Spark SQL share.
_DAYS_TO_ANNIVERSARY = (
    "CASE WHEN {this} >= c THEN DATE_DIFF('day', c, {this}) ELSE DATE_DIFF('day', c, {next}) END".format(
        this=_anniversary("YEAR(c)", "MONTH(c)"),
        next=_anniversary("YEAR(c) + CASE WHEN MONTH(c) = 12 THEN 1 ELSE 0 END", "MONTH(c) % 12 + 1"),
    )
)


def subscriptions_family(ctx: FamilyContext) -> FamilySQL:
    """SQL for the subscriptions family over ``subscriptions`` joined to ``spine``."""
    opt = ctx.optional_columns.get("subscriptions", frozenset())
    has_plan, has_mrr = "plan" in opt, "mrr" in opt
    docs = [
        FeatureDoc("sub_active", "subscriptions", "1 when a subscription is active at the cutoff", "0"),
        FeatureDoc("sub_count_all", "subscriptions", "subscriptions started before the cutoff", "0"),
        FeatureDoc("sub_months_since_first", "subscriptions", f"months ({MONTH_DAYS} d) since the first start", "NaN"),
        FeatureDoc(
            "sub_days_to_renewal",
            "subscriptions",
            "days to the next monthly anniversary of the active subscription's start",
            "NaN (none active)",
        ),
        FeatureDoc(
            "sub_days_since_start",
            "subscriptions",
            "days since the active subscription started (with the plan: where an annual term stands)",
            "NaN (none active)",
        ),
    ]
    parts = [
        "MAX(CASE WHEN active THEN 1 ELSE 0 END) AS sub_active",
        f"{as_int('COUNT(*)')} AS sub_count_all",
        f"MAX(age) / {MONTH_DAYS} AS sub_months_since_first",
        f"MAX(CASE WHEN active AND rn_active = 1 THEN {_DAYS_TO_ANNIVERSARY} END) AS sub_days_to_renewal",
        f"{as_int('MAX(CASE WHEN active AND rn_active = 1 THEN age END)')} AS sub_days_since_start",
    ]
    cats: list[str] = []
    if has_plan:
        parts.append("MAX(CASE WHEN active AND rn_active = 1 THEN plan END) AS sub_plan")
        docs.append(FeatureDoc("sub_plan", "subscriptions", "plan of the active subscription (the latest started)", "NaN (none)"))
        cats.append("sub_plan")
    if has_mrr:
        parts += [
            "MAX(CASE WHEN active AND rn_active = 1 THEN mrr END) AS sub_mrr",
            f"{as_int('SUM(CASE WHEN mrr < prev_mrr THEN 1 ELSE 0 END)')} AS sub_downgrades_all",
        ]
        docs += [
            FeatureDoc("sub_mrr", "subscriptions", "monthly recurring revenue of the active subscription", "NaN"),
            FeatureDoc("sub_downgrades_all", "subscriptions", "subscriptions cheaper than the one before", "0"),
        ]
    extra = (", u.plan" if has_plan else "") + (", u.mrr" if has_mrr else "")
    prev = (
        ", LAG(u.mrr) OVER (PARTITION BY s.customer_id, s.cutoff ORDER BY u.start, u.mrr) AS prev_mrr"
        if has_mrr
        else ""
    )
    # The active subscription is the latest started; two started at the same moment: the dearer, then
    # the first plan by name, so that the plan and MRR never depend on row order.
    tie = (", mrr DESC NULLS LAST" if has_mrr else "") + (", plan ASC NULLS LAST" if has_plan else "")
    select = ",\n           ".join(parts)
    sql = f"""
SELECT customer_id, cutoff,
           {select}
FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY customer_id, cutoff, active ORDER BY start DESC{tie}) AS rn_active
    FROM (
        SELECT s.customer_id, s.cutoff, u.start{extra}, {age('u', 'start')} AS age,
               CAST(u.start AS DATE) AS st, CAST(s.cutoff AS DATE) AS c,
               (u."end" IS NULL OR NOT {history_sql('u."end"', 's.cutoff')}) AS active{prev}
        FROM subscriptions u {history_join('u', 'start')}
    ) a
) h
GROUP BY customer_id, cutoff
"""
    fill = {d.name: 0.0 for d in docs if d.missing == "0"}
    return FamilySQL("subscriptions", "subscriptions", sql, tuple(d.name for d in docs), fill, tuple(cats), tuple(docs))
