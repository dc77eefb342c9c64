"""Point-in-time feature families (RFM, windowed, events, surveys, tickets,
subscriptions, customers) computed on DuckDB from one SQL definition."""

from __future__ import annotations

from churnml.features.core import (
    FeaturePlan,
    compute_features,
    feature_docs,
    feature_sql,
    plan_features,
)

__all__ = ["FeaturePlan", "compute_features", "feature_docs", "feature_sql", "plan_features"]
