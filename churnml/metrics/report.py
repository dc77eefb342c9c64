"""Readable and machine-readable views of the KPI table (no files written here)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from churnml.metrics.periods import KPI_COLUMNS

__all__ = ["kpis_to_json", "not_available", "summary_text"]

_HIDDEN = ("period", "start", "end", "days")
_MISSING = "-"


def not_available(kpis: pd.DataFrame) -> dict[str, str]:
    """``{metric: reason}`` of the metrics that could not be computed at all."""
    return dict(kpis.attrs.get("not_available", {}))


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return _MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):,.2f}"
    return str(value)


#: Printed names that say what a column is where its name alone misleads (E is METRICS.md's identity, not the
#: head count at the period's end, which is customers_at_end).
_LABELS = {"customers_end": "customers_end (S-L+N)"}


def summary_text(kpis: pd.DataFrame, last: int = 6) -> str:
    """A plain-text table of the latest ``last`` periods: one line per metric.

    Metrics whose table is absent show ``n/a (<reason>)``; a value that is
    undefined in a period (zero denominator, churn not yet observable) shows
    ``-``.
    """
    recent = kpis.tail(last)
    missing = not_available(kpis)
    header = ["metric", *recent["period"].astype(str)]
    lines: list[list[str]] = []
    for column in KPI_COLUMNS:
        if column in _HIDDEN or column not in recent:
            continue
        label = _LABELS.get(column, column)
        if column in missing:
            lines.append([label, f"n/a ({missing[column]})"])
        else:
            lines.append([label, *(_cell(v) for v in recent[column].tolist())])
    valued = [r for r in lines if len(r) == len(header)]
    widths = [max(len(header[0]), *(len(r[0]) for r in lines))]
    widths += [max([len(h), *(len(r[i]) for r in valued)]) for i, h in enumerate(header) if i]
    rendered = [_row(header, widths), _row(["-" * w for w in widths], widths)]
    rendered += [_row(r, widths) for r in lines]
    return "\n".join(rendered)


def _row(cells: list[str], widths: list[int]) -> str:
    if len(cells) == 2 and cells[1].startswith("n/a"):
        return f"{cells[0]:<{widths[0]}}  {cells[1]}".rstrip()
    first = f"{cells[0]:<{widths[0]}}"
    rest = (f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=False))
    return "  ".join([first, *rest]).rstrip()


def _jsonable(value: object) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def kpis_to_json(kpis: pd.DataFrame) -> dict[str, Any]:
    """The KPI table as a JSON-ready dict.

    Keys: ``freq``, ``regime``, ``data_end``, ``units`` (per column),
    ``not_available`` (metric -> reason) and ``periods`` (one object per
    period; undefined values and absent metrics are ``null``).
    """
    records = [
        {k: _jsonable(v) for k, v in row.items()} for row in kpis.astype("object").to_dict("records")
    ]
    return {
        "freq": kpis.attrs.get("freq"),
        "regime": kpis.attrs.get("regime"),
        "data_end": kpis.attrs.get("data_end"),
        "units": {k: v for k, v in KPI_COLUMNS.items() if k in kpis.columns},
        "not_available": not_available(kpis),
        "periods": records,
    }
