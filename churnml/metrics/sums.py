"""Sums of money that do not depend on the order of the rows.

Floating-point addition is not associative: pandas adds a group's values in
the order the rows come, so the same table shuffled gave KPIs that differed in
the last digit (a CAC of 42.03357142857144 against ...143). Here every sum adds
its values in ascending order, so the same rows in any order give the same
bits. (The features add money exactly as decimals, in SQL: ``churnml.engine.exact_sum``.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["group_sum", "total"]


def group_sum(frame: pd.DataFrame, by: str | list[str], column: str) -> pd.Series:
    """``frame.groupby(by)[column].sum()``, each group's values added in ascending order (NaN skipped)."""
    keys = [by] if isinstance(by, str) else list(by)
    return frame[[*keys, column]].sort_values(column, kind="stable").groupby(by)[column].sum()


def total(values: pd.Series | np.ndarray) -> float:
    """The sum of ``values`` added in ascending order, NaN skipped (0.0 for none)."""
    v = np.asarray(values, dtype="float64")
    return float(np.nansum(np.sort(v)))
