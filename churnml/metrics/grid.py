"""The period grid of the descriptive metrics: calendar months, quarters or years.

A period is the half-open interval ``[start, end)`` of a pandas period
(``freq`` ``"M"``, ``"Q"`` or ``"Y"``, calendar quarters and years) on the
naive timestamps of the canonical tables (the calendar of ``data.timezone``). A period is *complete* when its churn can be observed in full:
its end (plus ``grace_days`` in the contractual regime, where a renewal may
come after the end) is at or before the data's exclusive end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from churnml.errors import ConfigError, DataWindowError, EmptyDataError
from churnml.windows import DAY, in_window_mask, to_timestamp

__all__ = ["FREQS", "bucket", "nan_if_undefined", "per_period", "period_grid", "periods_of"]

#: Accepted period frequencies and their names in messages.
FREQS: dict[str, str] = {"M": "month", "Q": "quarter", "Y": "year"}


def period_grid(
    freq: str,
    start: object,
    end: object,
    data_end: object,
    grace_days: int = 0,
) -> pd.DataFrame:
    """The periods that overlap ``[start, end)``, cut at the data's end.

    Parameters
    ----------
    freq : {"M", "Q", "Y"}
        Calendar month, quarter or year.
    start, end : date-like
        The first period is the one containing ``start``; the last one contains
        the moment just before ``end`` (exclusive) or ``data_end``, whichever
        is earlier.
    data_end : date-like
        Exclusive end of the data. Periods starting at or after it are dropped.
    grace_days : int
        Days after a period's end that must still be inside the data for the
        period to be complete (the contractual renewal grace).

    Returns
    -------
    DataFrame
        One row per period, ascending: ``period`` (label such as ``1997-01``,
        ``1997Q1`` or ``1997``), ``start``, ``end`` (datetime64[us]),
        ``days`` (int64, the period length), ``complete`` (bool) and ``stop``
        (datetime64[us]: ``end``, or the data's end for the period still
        running; where values "at the period's end" are taken).
    """
    if freq not in FREQS:
        raise ConfigError(f"freq must be one of {list(FREQS)} (month, quarter, year), got {freq!r}")
    lo = to_timestamp(start, "start")  # type: ignore[arg-type]
    asked, data_stop = to_timestamp(end, "end"), to_timestamp(data_end, "data_end")  # type: ignore[arg-type]
    stop = min(asked, data_stop)
    if stop <= lo:
        fix = (f"the asked end {asked} is not after the start {lo}: set metrics.end after the start, or "
               f"metrics.start before the end" if asked < data_stop
               else f"the data ends at {data_stop} (exclusive), not after the start {lo}: set metrics.start "
                    f"before the data's end")
        raise DataWindowError(f"no period to report: {fix}")
    periods = pd.period_range(pd.Period(lo, freq=freq), pd.Period(stop - pd.Timedelta(1, "us"), freq=freq))
    starts = pd.DatetimeIndex(periods.start_time).as_unit("us")
    ends = pd.DatetimeIndex((periods + 1).start_time).as_unit("us")
    lengths = np.asarray((ends - starts) // DAY, dtype="int64")
    complete = ends + grace_days * DAY <= data_stop
    return pd.DataFrame(
        {
            "period": periods.astype(str),
            "start": starts,
            "end": ends,
            "days": lengths,
            "complete": np.asarray(complete, dtype=bool),
            "stop": ends.where(ends <= data_stop, data_stop),
        }
    )


def periods_of(grid: pd.DataFrame) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """``(label, start, end)`` of each period of the grid."""
    return [
        (str(p), pd.Timestamp(s), pd.Timestamp(e))
        for p, s, e in zip(grid["period"], grid["start"], grid["end"], strict=True)
    ]


def bucket(frame: pd.DataFrame, time_col: str, grid: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` inside the grid, with a ``period`` column added.

    Rows before the first period or at or after the last period's end are
    dropped; each remaining row gets the label of the period containing
    ``frame[time_col]``.
    """
    times = frame[time_col]
    inside = frame.loc[in_window_mask(times, grid["start"].iloc[0], grid["end"].iloc[-1])].copy()
    starts = grid["start"].to_numpy()
    pos = np.searchsorted(starts, inside[time_col].to_numpy(), side="right") - 1
    inside["period"] = grid["period"].to_numpy()[pos]
    return inside


def nan_if_undefined(formula: Callable[..., float], *args: object) -> float:
    """``formula(*args)``, or NaN when an argument is missing or the metric is undefined.

    A metric is undefined when its denominator is 0 (the formula raises
    :class:`~churnml.errors.EmptyDataError`), e.g. a churn rate with nobody
    at the start of the period.
    """
    if any(a is None or a is pd.NA or (isinstance(a, float) and math.isnan(a)) for a in args):
        return float("nan")
    try:
        return formula(*args)
    except EmptyDataError:
        return float("nan")


def per_period(formula: Callable[..., float], *columns: Iterable[object]) -> np.ndarray:
    """Apply a scalar formula to aligned per-period columns (one call per period).

    The grid has tens of periods, so this loop is over periods, never rows of
    data; it keeps each metric defined once, in :mod:`churnml.metrics.formulas`.
    """
    return np.array([nan_if_undefined(formula, *args) for args in zip(*columns, strict=True)], dtype="float64")
