"""The HTML retention report: what it shows (:func:`build_report`) and how (:func:`render_report`).

One self-contained HTML file (inline CSS, figures as base64 PNG from
:mod:`churnml.plots`, small charts as inline SVG, no scripts, fonts or links
to the network) with five sections whose ids never change:

* ``kpis``: KPI tiles of the latest complete period with the change against
  the period before, and the KPI table of the latest periods
  (:func:`churnml.metrics.retention_kpis`);
* ``cohorts``: the acquisition-cohort retention heatmap
  (:func:`churnml.metrics.cohort_tables`);
* ``segments``: churn and retention by RFM segment (and by the customers
  table's segment, region and acquisition channel) at the newest cutoff whose
  label window has matured, with the model's horizon
  (:func:`churnml.metrics.churn_by_segment`), and today's RFM segment sizes;
* ``surveys``: NPS, CSAT, CES and CLI per period, when surveys are given;
* ``model``: when a model is given, its top drivers (mean |SHAP|), the risk
  distribution, and the risk tiers or the model-vs-baselines table.

Every section is always there: without its table or model, a note says how
to add it.

Nothing here reads or writes files or talks to MLflow: ``python -m
churnml.report`` writes the file and training logs it as an MLflow artifact.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churnml import __version__, plots
from churnml.config import Config
from churnml.errors import ChurnMLError
from churnml.metrics import (
    CohortTables,
    churn_by_segment,
    cohort_tables,
    retention_kpis,
    rfm_table,
    segment_counts,
)
from churnml.metrics.inputs import TablesLike, require_table, table_of
from churnml.metrics.segments import SEGMENT_COLUMNS
from churnml.report_sections import kpi_section, model_body, segment_section, survey_section
from churnml.report_template import image_html, note_html, page_html, section_html
from churnml.schema import TABLE_SPECS
from churnml.windows import DAY, DataSpan, latest_matured_cutoff

__all__ = ["SECTION_IDS", "ModelSection", "RetentionReport", "SegmentChurn", "build_report", "render_report"]

log = logging.getLogger(__name__)

#: The ids of the report's sections, in order (stable: links and tests rely on them).
SECTION_IDS: tuple[str, ...] = ("kpis", "cohorts", "segments", "surveys", "model")

_TITLES = {
    "kpis": "Retention KPIs",
    "cohorts": "Cohort retention",
    "segments": "Churn by segment",
    "surveys": "Customer feedback",
    "model": "Churn model",
}


@dataclass(frozen=True)
class ModelSection:
    """What the report shows about a churn model.

    Attributes
    ----------
    importance : DataFrame
        Indexed by feature with ``mean_abs_shap`` (log-odds), as
        :func:`churnml.explain.global_importance` returns it.
    probabilities : array-like
        Churn probabilities (0-1) of the customers described by ``scope``.
    scope : str
        Who was scored and when, e.g. ``"1,234 customers at risk on 1998-07-01"``.
    name : str
        The model (a URI or a run), shown as it is.
    drivers : str
        Plain-language drivers (:func:`churnml.explain.driver_summary`).
    tiers : DataFrame, optional
        One row per risk tier: ``risk_tier``, ``customers``,
        ``mean_probability`` and, optionally, ``value_at_risk`` (money).
    metrics : DataFrame, optional
        Test metrics, one row per model or baseline (index = name), e.g.
        ``roc_auc``, ``pr_auc``, ``lift_top_decile``, ``brier``, ``ece``.
    """

    importance: pd.DataFrame
    probabilities: Any
    scope: str
    name: str = ""
    drivers: str = ""
    tiers: pd.DataFrame | None = None
    metrics: pd.DataFrame | None = None


@dataclass(frozen=True)
class SegmentChurn:
    """Churn by segment at one matured cutoff: ``{by: churn_by_segment frame}``, or why not."""

    cutoff: pd.Timestamp | None
    horizon_days: int
    lead_time_days: int
    by: dict[str, pd.DataFrame] = field(default_factory=dict)
    problem: str = ""


@dataclass(frozen=True)
class RetentionReport:
    """Everything the report shows, computed; :func:`render_report` turns it into HTML."""

    title: str
    meta: list[tuple[str, str]]
    kpis: pd.DataFrame
    cohorts: CohortTables
    rfm_now: pd.DataFrame
    data_end: pd.Timestamp
    churn: SegmentChurn
    has_surveys: bool
    model: ModelSection | None = None


def _present(tables: TablesLike) -> list[str]:
    return [name for name in TABLE_SPECS if table_of(tables, name) is not None]


def _segment_churn(tables: TablesLike, cfg: Config, span: DataSpan) -> SegmentChurn:
    """Churn by RFM segment and by each customers column, at the newest matured cutoff."""
    t = cfg.time
    grace = t.grace_days if t.regime == "contractual" else 0
    cutoff = (latest_matured_cutoff(span, t.horizon_days, t.lead_time_days) - grace * DAY).normalize()
    if cutoff <= span.first:
        return SegmentChurn(None, t.horizon_days, t.lead_time_days, problem=(
            f"the data ({span.first.date()} to {(span.end - DAY).date()}) is too short for a matured "
            f"{t.horizon_days}-day label window with {t.lead_time_days} days of lead time; "
            "shorten time.horizon_days to see churn by segment"))
    customers = table_of(tables, "customers")
    wanted = ["rfm"] + [c for c in SEGMENT_COLUMNS
                        if customers is not None and c in customers and customers[c].notna().any()]
    by: dict[str, pd.DataFrame] = {}
    try:
        for name in wanted:
            by[name] = churn_by_segment(tables, cutoff, t.horizon_days, by=name, cfg=cfg)
    except ChurnMLError as exc:
        return SegmentChurn(cutoff, t.horizon_days, t.lead_time_days, by, problem=str(exc))
    return SegmentChurn(cutoff, t.horizon_days, t.lead_time_days, by)


def build_report(tables: TablesLike, cfg: Config, *, freq: str | None = None,
                 model: ModelSection | None = None, title: str | None = None) -> RetentionReport:
    """Compute everything the retention report shows.

    Parameters
    ----------
    tables : Tables, mapping or DataFrame
        The canonical tables (transactions required; every other table adds
        its KPIs, segments or survey trends).
    cfg : Config
        Time model (regime, horizon, lead time), metrics settings, data end.
    freq : {"M", "Q", "Y"}, optional
        KPI period; default ``metrics.freq``.
    model : ModelSection, optional
        The model part; without it the ``model`` section says how to add one.
    title : str, optional
        Default ``"Retention report: <config name>"``.

    Returns
    -------
    RetentionReport

    Raises
    ------
    SchemaError, EmptyDataError, DataWindowError
        From the metrics (no transactions, no rows, no period to report).
    """
    tx = require_table(tables, "transactions", "the retention report")
    span = DataSpan.from_times(tx["timestamp"], cfg.data.end)
    kpis = retention_kpis(tables, cfg, freq=freq)
    cohorts = cohort_tables(tx, end=span.end)
    rfm_now = segment_counts(rfm_table(tx, span.end, cfg.metrics.rfm_bins))
    churn = _segment_churn(tables, cfg, span)
    period = {"M": "month", "Q": "quarter", "Y": "year"}[str(kpis.attrs.get("freq", cfg.metrics.freq))]
    meta = [
        ("data", f"{cfg.data.source} (config {cfg.name})"),
        ("from", f"{span.first.date()} to {(span.end - DAY).date()}"),
        ("churn", f"{cfg.time.regime}, horizon {cfg.time.horizon_days} days"),
        ("period", period),
        ("tables", ", ".join(_present(tables))),
    ]
    log.info("retention report: %d periods, %d cohorts, model %s", len(kpis), len(cohorts.rates),
             "yes" if model is not None else "no")
    return RetentionReport(
        title=title or f"Retention report: {cfg.name}", meta=meta, kpis=kpis, cohorts=cohorts,
        rfm_now=rfm_now, data_end=span.end, churn=churn,
        has_surveys=table_of(tables, "surveys") is not None, model=model,
    )


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _cohort_body(cohorts: CohortTables) -> str:
    rates, counts = cohorts.rates, cohorts.counts
    sizes = counts[0].astype("float64")
    later = rates.drop(columns=[0]) if rates.shape[1] > 1 else rates  # month 0 is 100% by definition
    fig = plots.cohort_heatmap(later, title="Share of each cohort buying, by month since acquisition (%)")
    summary = []
    for age in (1, 2, 3, 6, 12):
        if age in counts.columns:
            seen = counts[age].notna().to_numpy()
            share = float(counts[age][seen].astype("float64").sum() / sizes[seen].sum() * 100) if seen.any() else np.nan
            summary.append(f"month {age}: {share:.1f}%" if np.isfinite(share) else f"month {age}: not observed")
    caption = (f"{len(rates)} cohorts (first-purchase month), {int(sizes.sum()):,} customers. Cell: customers of "
               "the cohort with a purchase in that month / cohort size; month 0 (100% by definition) is left out so "
               "that the colours show the later months. Blank: not observed yet.")
    text = "Customers buying again, over all cohorts observed that long: " + "; ".join(summary) + "." if summary else ""
    return image_html(_png(fig), "cohort retention heatmap", caption) + (f"<p>{text}</p>" if text else "")


def render_report(report: RetentionReport) -> str:
    """The report as one self-contained HTML document (UTF-8 text).

    Sections have the ids of :data:`SECTION_IDS`; figures are base64 PNG
    ``data:`` URIs; nothing refers to the network.
    """
    bodies = {
        "kpis": kpi_section(report.kpis),
        "cohorts": _cohort_body(report.cohorts),
        "segments": segment_section(report.churn.by, report.churn.cutoff, report.churn.horizon_days,
                                    report.churn.lead_time_days, report.churn.problem, report.rfm_now,
                                    report.data_end),
        "surveys": survey_section(report.kpis) if report.has_surveys else note_html(
            "No surveys table was given: add data.tables.surveys (customer_id, timestamp, survey, score) "
            "to see NPS, CSAT, CES and CLI per period."),
        "model": _model(report.model),
    }
    sections = [section_html(i, _TITLES[i], bodies[i]) for i in SECTION_IDS]
    footer = (f"churnml {__version__}. Metric definitions: docs/METRICS.md and the README of churnml. "
              "This file is self-contained: it loads nothing from the network.")
    return page_html(report.title, report.meta, [(i, _TITLES[i]) for i in SECTION_IDS], sections, footer)


def _model(section: ModelSection | None) -> str:
    if section is None:
        return note_html("No model was given. Run python -m churnml.report with --model "
                         "models:/churnml@champion (or runs:/RUN_ID/model) to add the top churn drivers "
                         "and the distribution of churn risk; training logs this report with its model.")
    drivers = _png(plots.shap_bar_figure(section.importance, top=10))
    risk = _png(plots.risk_distribution_figure(section.probabilities))
    return model_body(section.name, section.scope, drivers, risk, section.drivers, section.tiers, section.metrics)
