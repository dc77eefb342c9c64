"""Surveys family: the latest answer per survey type, its age and its change.

For each survey type ``k`` (nps, csat, ces, cli; those present at training):
``srv_{k}_last`` the latest score before the cutoff, ``srv_{k}_age_days`` its
age, ``srv_{k}_change`` latest minus the previous answer (NaN with fewer than
two). ``srv_nps_category``: promoter (9-10), passive (7-8), detractor (0-6)
of the latest NPS answer. Answers are ordered by their timestamp. Answers of
one type at the same moment are one answer whose score is the lowest of them
(a deterministic, cautious tie-break), so the change compares the latest
moment with the one before it, never two answers given together.
"""

from __future__ import annotations

from churnml.features.base import (
    FamilyContext,
    FamilySQL,
    FeatureDoc,
    age,
    as_int,
    history_join,
    quote_literal,
    sql_name,
)

__all__ = ["latest_column", "surveys_family"]


def latest_column(kind: str) -> str:
    """The latest score's column of survey type ``kind`` (missing: never answered before the cutoff)."""
    return f"srv_{sql_name(kind)}_last"


def _latest(lit: str) -> str:
    """The latest moment's score of one survey type (the lowest of answers given together)."""
    return f"MIN(CASE WHEN survey = {lit} AND rn = 1 THEN score END)"


def surveys_family(ctx: FamilyContext) -> FamilySQL:
    """SQL for the surveys family over ``surveys`` joined to ``spine``."""
    parts: list[str] = []
    docs: list[FeatureDoc] = []
    cats: list[str] = []
    for kind in ctx.survey_types:
        n, lit = sql_name(kind), quote_literal(kind)
        parts += [
            f"{_latest(lit)} AS {latest_column(kind)}",
            f"MAX(CASE WHEN survey = {lit} AND rn = 1 THEN age END) AS srv_{n}_age_days",
            f"{_latest(lit)} - MIN(CASE WHEN survey = {lit} AND rn = 2 THEN score END) AS srv_{n}_change",
        ]
        docs += [
            FeatureDoc(latest_column(kind), "surveys", f"latest {kind} score", "NaN (never answered)"),
            FeatureDoc(f"srv_{n}_age_days", "surveys", f"days since the latest {kind} answer", "NaN"),
            FeatureDoc(f"srv_{n}_change", "surveys", f"latest minus previous {kind} score", "NaN"),
        ]
        if kind == "nps":
            parts.append(
                f"CASE WHEN {_latest(lit)} >= 9 THEN 'promoter' WHEN {_latest(lit)} >= 7 THEN 'passive' "
                f"WHEN {_latest(lit)} IS NOT NULL THEN 'detractor' END AS srv_nps_category"
            )
            docs.append(FeatureDoc("srv_nps_category", "surveys", "promoter / passive / detractor", "NaN"))
            cats.append("srv_nps_category")
    select = ",\n           ".join(parts) if parts else f"{as_int('COUNT(*)')} AS srv_answers_all"
    if not parts:
        docs.append(FeatureDoc("srv_answers_all", "surveys", "survey answers in history", "0"))
    sql = f"""
SELECT customer_id, cutoff,
           {select}
FROM (
    SELECT s.customer_id, s.cutoff, v.survey, v.score, {age('v', '"timestamp"')} AS age,
           DENSE_RANK() OVER (PARTITION BY s.customer_id, s.cutoff, v.survey
                              ORDER BY v."timestamp" DESC) AS rn
    FROM surveys v {history_join('v', '"timestamp"')}
) h
GROUP BY customer_id, cutoff
"""
    fill = {"srv_answers_all": 0.0} if not ctx.survey_types else {}
    return FamilySQL("surveys", "surveys", sql, tuple(d.name for d in docs), fill, tuple(cats), tuple(docs))
