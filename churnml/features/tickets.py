"""Support tickets family: volume, open tickets and service quality.

Only what is known at the cutoff is used: a ticket's resolution (time and
first-contact flag) counts only when it was resolved before the cutoff.
"""

from __future__ import annotations

from churnml.engine import exact_sum
from churnml.features.base import FamilyContext, FamilySQL, FeatureDoc, age, as_int, history_join
from churnml.windows import history_sql

__all__ = ["tickets_family"]


def tickets_family(ctx: FamilyContext) -> FamilySQL:
    """SQL for the tickets family over ``tickets`` joined to ``spine``."""
    opt = ctx.optional_columns.get("tickets", frozenset())
    has_res, has_fcr = "resolved_at" in opt, "first_contact_resolved" in opt
    parts: list[str] = []
    docs: list[FeatureDoc] = []
    for w in ctx.windows:
        parts.append(f"{as_int(f'COUNT(*) FILTER (WHERE age <= {w})')} AS tkt_count_{w}d")
        docs.append(FeatureDoc(f"tkt_count_{w}d", "tickets", f"tickets opened in the last {w} days", "0"))
    parts.append(f"{as_int('COUNT(*)')} AS tkt_count_all")
    docs.append(FeatureDoc("tkt_count_all", "tickets", "tickets opened in history", "0"))
    if has_res:
        known = f"resolved_at IS NOT NULL AND {history_sql('resolved_at', 'cutoff')}"
        parts += [
            f"{as_int(f'COUNT(*) FILTER (WHERE NOT ({known}))')} AS tkt_open_at_cutoff",
            exact_sum(f"CASE WHEN {known} THEN EPOCH(resolved_at) - EPOCH(opened_at) END")
            + f" / NULLIF(COUNT_IF({known}), 0) / 86400.0 AS tkt_resolution_mean_days",
        ]
        docs += [
            FeatureDoc("tkt_open_at_cutoff", "tickets", "tickets not resolved at the cutoff", "0"),
            FeatureDoc("tkt_resolution_mean_days", "tickets", "mean days to resolve (resolved before cutoff)", "NaN"),
        ]
        if has_fcr:
            parts.append(
                "AVG(CASE WHEN " + known + " THEN CAST(first_contact_resolved AS DOUBLE) END) AS tkt_fcr_share"
            )
            docs.append(
                FeatureDoc("tkt_fcr_share", "tickets", "share of resolved tickets solved on first contact", "NaN")
            )
    select = ",\n           ".join(parts)
    extra = ", k.resolved_at" if has_res else ""
    extra += ", k.first_contact_resolved" if has_fcr else ""
    sql = f"""
SELECT customer_id, cutoff,
           {select}
FROM (
    SELECT s.customer_id, s.cutoff, k.opened_at{extra}, {age('k', 'opened_at')} AS age
    FROM tickets k {history_join('k', 'opened_at')}
) h
GROUP BY customer_id, cutoff
"""
    fill = {d.name: 0.0 for d in docs if d.missing == "0"}
    return FamilySQL("tickets", "tickets", sql, tuple(d.name for d in docs), fill, (), tuple(docs))
