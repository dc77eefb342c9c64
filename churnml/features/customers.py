"""Customers family: static attributes as categoricals.

Attributes are taken as fixed over time (as of the extract). A customer
counts as referred when ``referred_by`` is neither null nor blank (only
white space: ``string.whitespace``), as in the referral-rate KPI; io keeps
blank optional text as it is (only ids are stripped, blank ids null). If your
customers table is a current snapshot whose values changed because of churn
(e.g. a segment 'former customer'), leave those columns out of the mapping.
"""

from __future__ import annotations

import string

from churnml.features.base import FamilyContext, FamilySQL, FeatureDoc, age

__all__ = ["customers_family"]

_CATEGORICAL = ("region", "segment", "acquisition_channel")

#: A blank ``referred_by`` holds nothing but these characters (``string.whitespace``), written as
#: SQL (``CHR(32) || CHR(9) || ...``); the referral KPI (``churnml.metrics.table_kpis``) strips the same.
_WHITESPACE_SQL = " || ".join(f"CHR({ord(ch)})" for ch in string.whitespace)


def customers_family(ctx: FamilyContext) -> FamilySQL:
    """SQL for the customers family over ``customers`` joined to ``spine``."""
    opt = ctx.optional_columns.get("customers", frozenset())
    parts: list[str] = []
    docs: list[FeatureDoc] = []
    cats: list[str] = []
    for col in _CATEGORICAL:
        if col in opt:
            parts.append(f"c.{col} AS cst_{col}")
            docs.append(FeatureDoc(f"cst_{col}", "customers", f"customer {col} (categorical)", "NaN"))
            cats.append(f"cst_{col}")
    if "referred_by" in opt:
        parts.append(f"CASE WHEN TRIM(c.referred_by, {_WHITESPACE_SQL}) <> '' THEN 1 ELSE 0 END AS cst_referred")
        docs.append(FeatureDoc("cst_referred", "customers", "1 when acquired through a referral (referred_by neither null nor blank)", "0"))
    if "signup_at" in opt:
        parts.append(f"CASE WHEN c.signup_at < s.cutoff THEN {age('c', 'signup_at')} END AS cst_signup_age_days")
        docs.append(FeatureDoc("cst_signup_age_days", "customers", "days since sign-up", "NaN"))
    if not parts:
        parts.append("1 AS cst_known")
        docs.append(FeatureDoc("cst_known", "customers", "1 when the customer is in the customers table", "0"))
    select = ",\n           ".join(parts)
    sql = f"""
SELECT s.customer_id, s.cutoff,
           {select}
FROM customers c JOIN spine s ON c.customer_id = s.customer_id
"""
    fill = {d.name: 0.0 for d in docs if d.missing == "0"}
    return FamilySQL("customers", "customers", sql, tuple(d.name for d in docs), fill, tuple(cats), tuple(docs))
