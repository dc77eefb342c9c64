"""The bodies of the retention report's sections, from computed frames to HTML.

Each function takes frames that :mod:`churnml.metrics` (or the model
section) produced and returns HTML made of :mod:`churnml.report_template`
blocks. Nothing is computed here beyond picking rows and formatting.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from churnml.evaluate import share_lifts
from churnml.metrics.periods import KPI_COLUMNS
from churnml.metrics.report import not_available
from churnml.report_template import (
    bar_html,
    esc,
    format_value,
    image_html,
    line_chart_svg,
    note_html,
    table_html,
    tile_html,
)

__all__ = ["KPI_KINDS", "TILES", "kpi_section", "model_body", "segment_section", "survey_section"]

#: How each KPI column is formatted (see :func:`churnml.report_template.format_value`).
KPI_KINDS: dict[str, str] = {
    "customers_start": "count", "new_customers": "count", "lost_customers": "count", "customers_end": "count",
    "customers_at_end": "count", "churn_rate": "pct", "retention_rate": "pct", "revenue": "money", "orders": "count",
    "purchasing_customers": "count", "repeat_customers": "count", "aov": "money",
    "purchase_frequency": "number", "repeat_purchase_rate": "pct", "customer_value": "money",
    "value_per_year": "money", "historical_clv": "money", "margin_clv": "money",
    "nps": "score", "csat": "pct", "ces": "number", "cli": "number", "mrr": "money", "arpa": "money",
    "expansion_mrr": "money", "cac": "money", "fcr": "pct", "referral_rate": "pct",
    "loyalty_participation_rate": "pct", "loyalty_redemption_rate": "pct", "loyalty_active_participation": "pct",
}

#: The KPI tiles: (column, label, direction), direction +1 when higher is better, -1 when lower is.
TILES: tuple[tuple[str, str, int], ...] = (
    ("customers_end", "Customers kept or won (E = S - L + N)", 1),  # not a head count: see _tiles
    ("new_customers", "New customers", 1),
    ("churn_rate", "Churn rate", -1),
    ("retention_rate", "Retention rate (CRR)", 1),
    ("revenue", "Revenue", 1),
    ("aov", "Average order value", 1),
    ("purchase_frequency", "Orders per buying customer", 1),
    ("repeat_purchase_rate", "Repeat purchase rate", 1),
    ("nps", "NPS", 1),
    ("csat", "CSAT", 1),
    ("mrr", "MRR at period end", 1),
    ("cac", "Customer acquisition cost", -1),
    ("fcr", "First contact resolution", 1),
)

#: Survey metrics: column -> (label, scale).
SURVEYS: dict[str, tuple[str, str]] = {
    "nps": ("NPS", "-100 to 100"), "csat": ("CSAT", "% satisfied"), "ces": ("CES", "1 to 7"),
    "cli": ("CLI", "1 to 6"),
}

_TABLE_PERIODS = 8
_HIDDEN = ("period", "start", "end", "days", "complete")


def _num(value: Any) -> float:
    """A float, NaN for missing values (pd.NA, None)."""
    return math.nan if value is None or value is pd.NA else float(value)


def _latest_complete(kpis: pd.DataFrame) -> int:
    done = np.flatnonzero(kpis["complete"].astype("bool").to_numpy())
    return int(done[-1]) if len(done) else len(kpis) - 1


def _change(now: float, before: float, kind: str, direction: int, label: str) -> tuple[str, str]:
    """Text and mood of the change from ``before`` to ``now``: points for rates and scores, % otherwise."""
    if not math.isfinite(before):
        return "no previous value", "flat"
    if kind in ("count", "money"):
        if before == 0:
            return f"was 0 in {label}", "flat"
        delta = (now - before) / abs(before) * 100.0
        text = f"{round(delta, 1) + 0.0:+.1f}% vs {label}"
    else:
        delta = now - before
        unit = {"pct": " pp", "score": " pts"}.get(kind, "")
        digits = 2 if kind == "number" else 1
        text = f"{round(delta, digits) + 0.0:+.{digits}f}{unit} vs {label}"  # + 0.0: no "-0.00"
    mood = "flat" if abs(delta) < 0.05 else ("good" if delta * direction > 0 else "bad")
    return text, mood


def _tiles(regime: str) -> tuple[tuple[str, str, int], ...]:
    """:data:`TILES`; in the contractual regime the customers tile is the subscribers counted at the period end.

    ``customers_end`` (S - L + N) is the period's buyers in the non-contractual
    regime, but with subscriptions it counts subscribers acquired and lost in
    the same period and misses returning ones (``customers_at_end`` counts them).
    """
    if regime != "contractual":
        return TILES
    return tuple(("customers_at_end", "Subscribers at period end", d) if c == "customers_end" else (c, label, d)
                 for c, label, d in TILES)


def kpi_section(kpis: pd.DataFrame) -> str:
    """Tiles of the latest complete period with the change, the KPI table, and what is not available."""
    missing = not_available(kpis)
    i = _latest_complete(kpis)
    period = str(kpis["period"].iloc[i])
    previous = str(kpis["period"].iloc[i - 1]) if i > 0 else ""
    tiles = []
    for column, label, direction in _tiles(str(kpis.attrs.get("regime", "noncontractual"))):
        if column in missing or column not in kpis:
            continue
        now = _num(kpis[column].iloc[i])
        if not math.isfinite(now):
            continue
        before = _num(kpis[column].iloc[i - 1]) if i > 0 else math.nan
        text, mood = _change(now, before, KPI_KINDS[column], direction, previous)
        tiles.append(tile_html(label, format_value(now, KPI_KINDS[column]), text, mood, KPI_COLUMNS[column]))
    intro = (f"Latest complete period: {period} ({kpis['start'].iloc[i].date()} to "
             f"{(kpis['end'].iloc[i] - pd.Timedelta(days=1)).date()}); changes against {previous or 'nothing'}. "
             "Churn rate = lost / customers at the start; retention rate = (end - new) / start.")
    parts = [f'<p class="intro">{esc(intro)}</p>', '<div class="tiles">' + "".join(tiles) + "</div>",
             _kpi_table(kpis, missing)]
    if i < len(kpis) - 1:
        grace = int(kpis.attrs.get("grace_days", 0))
        days = f"{grace} day{'s' if grace != 1 else ''}"
        wait = (f" (a period is complete {days} after its end, when the renewal grace of its subscriptions, "
                "time.grace_days, has passed)" if grace else "")
        parts.append(note_html(f"Periods after {period} are not complete: their churn is not observed yet{wait}."))
    if missing:
        by_reason: dict[str, list[str]] = {}
        for metric, reason in missing.items():
            by_reason.setdefault(reason, []).append(metric)
        text = "; ".join(f"{', '.join(m)} ({r})" for r, m in by_reason.items())
        tables = any(r.startswith("no ") and r.endswith(" table") for r in by_reason)
        fix = " Add a missing table under data.tables (with data.source: files) to see its metrics." if tables else ""
        parts.append(note_html(f"Not computed: {text}.{fix}"))
    return "\n".join(parts)


def _kpi_table(kpis: pd.DataFrame, missing: dict[str, str]) -> str:
    recent = kpis.tail(_TABLE_PERIODS)
    header = ["metric", "unit", *recent["period"].astype("str")]
    rows = []
    for column, unit in KPI_COLUMNS.items():
        if column in _HIDDEN or column in missing or column not in recent:
            continue
        values = [format_value(_num(v), KPI_KINDS[column]) for v in recent[column].tolist()]
        rows.append([column, unit, *values])
    return "<h3>KPIs of the latest periods</h3>" + table_html(header, rows, numeric=range(2, len(header)))


def _churn_table(frame: pd.DataFrame) -> str:
    top = max(float(frame["churn_rate"].max()), 1e-9) if len(frame) else 1.0
    rows = [
        [str(r.segment), format_value(r.customers, "count"), format_value(r.churned, "count"),
         bar_html(r.churn_rate, top, format_value(r.churn_rate, "pct")), format_value(r.retention_rate, "pct")]
        for r in frame.itertuples(index=False)
    ]
    return table_html(["segment", "customers", "churned", "churn rate", "retention rate"], rows,
                      numeric=(1, 2, 4), raw=(3,))


def segment_section(by: dict[str, pd.DataFrame], cutoff: pd.Timestamp | None, horizon_days: int,
                    lead_time_days: int, problem: str, rfm_now: pd.DataFrame, data_end: pd.Timestamp) -> str:
    """Churn tables per segmentation at the cutoff, a problem note, and today's RFM segment sizes."""
    parts = []
    if cutoff is not None:
        start = cutoff + pd.Timedelta(days=lead_time_days)
        end = start + pd.Timedelta(days=horizon_days)
        intro = (f"Customers active before {cutoff.date()} (history only) and churned = no purchase (or, for "
                 f"contracts, no renewal) in [{start.date()}, {end.date()}): the newest {horizon_days}-day "
                 "window that has fully happened, with the same definition as the churn model's labels.")
        parts.append(f'<p class="intro">{esc(intro)}</p>')
    titles = {"rfm": "RFM segment at the cutoff", "segment": "Customer segment", "region": "Region",
              "acquisition_channel": "Acquisition channel"}
    for name, frame in by.items():
        parts.append(f"<h3>{esc(titles.get(name, name))}</h3>" + _churn_table(frame))
    if problem:
        parts.append(note_html(f"Churn by segment is not available: {problem}"))
    shown = rfm_now[rfm_now["customers"] > 0]
    rows = [
        [str(r.segment), format_value(r.customers, "count"), bar_html(r.share, 100.0, format_value(r.share, "pct")),
         format_value(r.recency_days, "number"), format_value(r.frequency, "number"),
         format_value(r.monetary, "money")]
        for r in shown.itertuples(index=False)
    ]
    parts.append(f"<h3>RFM segments now (history before {data_end.date()})</h3>" + table_html(
        ["segment", "customers", "share", "mean recency (days)", "mean purchase days", "mean spend"],
        rows, numeric=(1, 3, 4, 5), raw=(2,)))
    return "\n".join(parts)


def survey_section(kpis: pd.DataFrame) -> str:
    """One small line chart and the latest values per survey metric that has answers."""
    missing = not_available(kpis)
    labels = kpis["period"].astype("str").tolist()
    charts, rows = [], []
    recent = kpis.tail(_TABLE_PERIODS)
    for column, (label, scale) in SURVEYS.items():
        if column in missing:
            continue
        values = [_num(v) for v in kpis[column].tolist()]
        charts.append(line_chart_svg(labels, values, f"{label} ({scale})", KPI_KINDS[column]))
        rows.append([label, *(format_value(_num(v), KPI_KINDS[column]) for v in recent[column].tolist())])
    if not charts:
        return note_html("The surveys table has no NPS, CSAT, CES or CLI answers.")
    intro = ("Answers given in each period. NPS = % promoters (9-10) - % detractors (0-6); CSAT = % of answers "
             "in the top two points; CES and CLI are means. A gap means no answers in that period.")
    table = table_html(["metric", *recent["period"].astype("str")], rows, numeric=range(1, len(recent) + 1))
    return (f'<p class="intro">{esc(intro)}</p><div class="charts">' + "".join(charts) + "</div>" + table)


def _metrics_table(metrics: pd.DataFrame) -> str:
    names = ("roc_auc", "pr_auc", "lift_top_decile", *share_lifts(metrics), "brier", "ece", "base_rate")
    cols = [c for c in names if c in metrics]
    rows = [[str(name), *(f"{_num(row[c]):.4f}" for c in cols)] for name, row in metrics.iterrows()]
    return table_html(["model", *cols], rows, numeric=range(1, len(cols) + 1))


def _tiers_table(tiers: pd.DataFrame) -> str:
    total = max(float(tiers["customers"].sum()), 1.0)
    has_value = "value_at_risk" in tiers
    rows = []
    for r in tiers.to_dict("records"):
        row = [str(r["risk_tier"]), format_value(r["customers"], "count"),
               format_value(r["customers"] / total * 100.0, "pct"), f"{_num(r['mean_probability']):.3f}"]
        value = format_value(r["value_at_risk"], "money")
        unvalued = int(r.get("unvalued", 0) or 0)
        if unvalued:  # the sum leaves them out: say so
            value += f" ({format_value(unvalued, 'count')} with an unknown CLV not counted)"
        rows.append(row + ([value] if has_value else []))
    header = ["risk tier", "customers", "share", "mean churn probability"]
    return table_html(header + (["value at risk"] if has_value else []), rows, numeric=range(1, len(header) + 1))


def model_body(name: str, scope: str, drivers_png: bytes, risk_png: bytes, drivers: str,
               tiers: pd.DataFrame | None, metrics: pd.DataFrame | None) -> str:
    """The model section: what was scored, the two figures, the drivers text, tiers and metrics."""
    what = f"Model {name}. " if name else ""
    parts = [f'<p class="intro">{esc(what + "Scored: " + scope + ".")}</p>', '<div class="charts">',
             image_html(drivers_png, "top churn drivers", "Mean |SHAP value| per feature (log-odds): "
                        "how much each feature moves the churn risk, on average."),
             image_html(risk_png, "distribution of churn probabilities", "Predicted churn probability of "
                        "each customer scored."), "</div>"]
    if drivers:
        parts.append(f"<h3>Drivers in words</h3><pre>{esc(drivers)}</pre>")
    if tiers is not None and len(tiers):
        parts.append("<h3>Risk tiers</h3>" + _tiers_table(tiers))
    if metrics is not None and len(metrics):
        parts.append("<h3>Model and baselines on the test cutoff</h3>" + _metrics_table(metrics))
    return "\n".join(parts)
