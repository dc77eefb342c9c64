"""The feature documentation table of the README, generated from the code.

``python -m churnml.features.docs`` prints the Markdown table; a test checks
that the README holds exactly this table, so docs and code cannot drift.
Per-type and per-window names are shown with placeholders: ``{W}`` for a
window in days, ``{type}`` for an event type, ``{survey}`` for a survey kind.
"""

from __future__ import annotations

import re
import sys

from churnml.features.core import FAMILIES, FeaturePlan, feature_docs
from churnml.features.windowed import TRENDS

__all__ = ["feature_table_markdown"]

_EXAMPLE_PLAN = FeaturePlan(
    families=tuple(FAMILIES),
    windows=(7, 30, 90, 180, 365),
    event_types=("TYPE",),
    survey_types=("nps", "SURVEY"),
    optional_columns={
        "tickets": ("resolved_at", "first_contact_resolved"),
        "subscriptions": ("plan", "mrr"),
        "customers": ("signup_at", "region", "segment", "acquisition_channel", "referred_by"),
    },
    censored="flag",
    btyd_horizon_days=273,
)


def _pattern(text: str) -> str:
    if not (text.startswith("evt_") and "_trend_" in text):  # the events' trend is always 30 days against 30
        text = re.sub(r"_(7|30|90|180|365)d\b", "_{W}d", text)
    text = re.sub(r"_273d\b", "_{H}d", text)
    text = text.replace("type", "{type}").replace("TYPE", "{type}").replace("'{type}'", "{type}")
    return text.replace("survey", "{survey}").replace("SURVEY", "{survey}").replace("{{survey}}", "{survey}")


def feature_table_markdown() -> str:
    """The README's feature table: one row per feature (pattern), family by family."""
    docs = feature_docs(_EXAMPLE_PLAN)
    docs["name"] = docs["name"].map(_pattern)
    docs["meaning"] = docs["meaning"].map(lambda s: re.sub(r"\b(7|30|90|180|365) days\b", "{W} days", s))
    trend = docs["name"].str.startswith("win_orders_trend_")
    docs.loc[trend, "meaning"] = docs.loc[trend, "meaning"].map(
        lambda s: re.sub(r"\b(30|90) d\b", "{W} d", s) + f"; W = {' and '.join(map(str, TRENDS))}, each when a "
        "window covers twice W")
    docs["meaning"] = docs["meaning"].str.replace("273 days", "{H} days").str.replace("'TYPE'", "{type}")
    docs["meaning"] = docs["meaning"].str.replace("SURVEY", "{survey}")
    docs = docs.drop_duplicates("name")
    lines = ["| feature | family | meaning | when the customer has no rows |", "|---|---|---|---|"]
    lines += [f"| `{r.name}` | {r.family} | {r.meaning} | {r.missing} |" for r in docs.itertuples()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(feature_table_markdown() + "\n")
