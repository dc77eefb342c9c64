"""Config overrides of the small synthetic worlds the training, scoring and Spark tests use."""

from __future__ import annotations


def small_world(customers: int, months: int, rounds: int, min_rows: int) -> list[str]:
    """``--set`` overrides: a synthetic world of ``customers`` over ``months``, a 60-day horizon
    trained as it is, monthly cutoffs, ``rounds`` LightGBM trees and windows of 7/30/90 days."""
    return [
        "data.source=synthetic",
        f"data.synthetic.customers={customers}",
        f"data.synthetic.months={months}",
        "time.horizon_days=60",
        "time.train_horizon_days=null",
        "time.step_days=30",
        f"model.num_boost_round={rounds}",
        f"model.min_rows={min_rows}",
        "features.windows=[7, 30, 90]",
    ]
