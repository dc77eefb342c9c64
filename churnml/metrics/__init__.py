"""Descriptive retention metrics: the baseline a retention team already trusts.

* :mod:`~churnml.metrics.formulas`: one pure function per metric of METRICS.md;
* :func:`retention_kpis`: the KPIs per month, quarter or year, with churn
  from the same definition as the churn labels;
* :func:`churn_by_segment`: churn and retention per customer segment at a cutoff;
* :func:`cohort_tables`: acquisition-cohort retention tables;
* :func:`rfm_table`: RFM scores and named segments on history only.

Command line: ``python -m churnml.metrics --help``. Nothing here imports
io, model code or MLflow (the CLI in ``__main__`` does the file work).
"""

from __future__ import annotations

from churnml.metrics import formulas
from churnml.metrics.cohorts import CohortTables, cohort_tables
from churnml.metrics.periods import KPI_COLUMNS, retention_kpis
from churnml.metrics.report import kpis_to_json, not_available, summary_text
from churnml.metrics.rfm import SEGMENT_MAP, SEGMENTS, rfm_table, segment_counts
from churnml.metrics.segments import churn_by_segment

__all__ = [
    "KPI_COLUMNS",
    "SEGMENTS",
    "SEGMENT_MAP",
    "CohortTables",
    "churn_by_segment",
    "cohort_tables",
    "formulas",
    "kpis_to_json",
    "not_available",
    "retention_kpis",
    "rfm_table",
    "segment_counts",
    "summary_text",
]
