"""Engagement events family: per event type counts, recency and trend.

For each event type ``e`` (fixed at training, so scoring produces the same
columns) and window ``W``: ``evt_{e}_count_{W}d`` events in the last W days,
``evt_{e}_days_since`` days since the last such event (NaN: never), and
``evt_{e}_trend_30d`` = (last 30 d + 1) / (previous 30 d + 1). Also
``evt_all_count_{W}d`` over all types.
"""

from __future__ import annotations

from churnml.features.base import (
    FamilyContext,
    FamilySQL,
    FeatureDoc,
    age,
    history_join,
    quote_literal,
    sql_name,
)

__all__ = ["events_family"]


def events_family(ctx: FamilyContext) -> FamilySQL:
    """SQL for the events family over ``events`` joined to ``spine``."""
    parts: list[str] = []
    docs: list[FeatureDoc] = []
    fill: dict[str, float] = {}
    for w in ctx.windows:
        parts.append(f"COUNT(*) FILTER (WHERE age <= {w}) AS evt_all_count_{w}d")
        docs.append(FeatureDoc(f"evt_all_count_{w}d", "events", f"events of any type in the last {w} days", "0"))
    for etype in ctx.event_types:
        n, lit = sql_name(etype), quote_literal(etype)
        for w in ctx.windows:
            parts.append(f"COUNT(*) FILTER (WHERE event_type = {lit} AND age <= {w}) AS evt_{n}_count_{w}d")
            docs.append(FeatureDoc(f"evt_{n}_count_{w}d", "events", f"'{etype}' events in the last {w} days", "0"))
        parts.append(f"MIN(age) FILTER (WHERE event_type = {lit}) AS evt_{n}_days_since")
        docs.append(FeatureDoc(f"evt_{n}_days_since", "events", f"days since the last '{etype}' event", "NaN (never)"))
        if max(ctx.windows, default=0) >= 60:
            parts.append(
                f"(COUNT(*) FILTER (WHERE event_type = {lit} AND age <= 30) + 1.0) / "
                f"(COUNT(*) FILTER (WHERE event_type = {lit} AND age > 30 AND age <= 60) + 1.0) "
                f"AS evt_{n}_trend_30d"
            )
            docs.append(
                FeatureDoc(f"evt_{n}_trend_30d", "events", f"(last 30 d + 1) / (previous 30 d + 1) of '{etype}'", "1")
            )
    for d in docs:
        if "_days_since" not in d.name:
            fill[d.name] = 1.0 if "_trend_" in d.name else 0.0
    select = ",\n           ".join(parts)
    sql = f"""
SELECT customer_id, cutoff,
           {select}
FROM (
    SELECT s.customer_id, s.cutoff, e.event_type, {age('e', '"timestamp"')} AS age
    FROM events e {history_join('e', '"timestamp"')}
) h
GROUP BY customer_id, cutoff
"""
    return FamilySQL("events", "events", sql, tuple(d.name for d in docs), fill, (), tuple(docs))
