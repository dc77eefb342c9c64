"""The time model: cutoffs, history and label windows, rolling cutoffs.

This is the one module that decides which rows a cutoff may see.

* **History** of a cutoff ``c`` is every row with ``time < c``.
* **The label window** of ``c`` is ``[c + lead, c + lead + horizon)``.
* A cutoff is **matured** when its label window ends at or before the data's
  end (exclusive), so that every label is fully observed.

Both pandas masks and SQL predicates are built here, so the DuckDB and Spark
feature definitions use exactly the same filters; the label queries read the
window bounds of :func:`label_window_bounds` from a table of cutoffs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnml.errors import DataWindowError

__all__ = [
    "MONTH_DAYS",
    "STRAY_SHARE",
    "DataSpan",
    "LabelWindow",
    "age_days_sql",
    "cutoff_column",
    "daily_counts",
    "cutoff_list",
    "epoch_day",
    "history_mask",
    "history_sql",
    "in_window_mask",
    "label_window",
    "label_window_bounds",
    "latest_matured_cutoff",
    "matured_cutoffs",
    "rolling_cutoffs",
    "late_rows_text",
    "quiet_end_text",
    "stray_tail_text",
    "stale_cutoff_text",
    "to_cutoff",
    "to_moment",
    "to_timestamp",
    "year_before",
]

DAY = pd.Timedelta(days=1)
#: Days in a month on average (365.25 / 12): the subscriptions' months and the MRR CLV's.
MONTH_DAYS = 30.4375
_ISO_DATE = re.compile(r"\s*[+-]?\d{4}-\d{2}-\d{2}(?:$|[ T\s])")


def to_timestamp(value: str | dt.date | dt.datetime | pd.Timestamp, name: str = "cutoff") -> pd.Timestamp:
    """Turn a date-like value into a naive :class:`pandas.Timestamp` (a time of the data's calendar).

    A ``datetime.date`` means midnight at the start of that day. Aware values
    are converted to UTC and made naive, which matches the canonical frames
    when ``data.timezone`` is UTC; for another zone give dates or naive times.
    """
    if value is None:
        raise DataWindowError(f"{name} is required (a date such as '1997-10-01'); it has no default")
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise DataWindowError(
            f"{name}={value!r} is not a date in the form YYYY-MM-DD (e.g. '1997-10-01', optionally with a time); "
            "forms such as 01/06/2024 are ambiguous (1 June or 6 January) and '2024' alone is not a day"
        )
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataWindowError(f"{name}={value!r} is not a date or timestamp: {exc}") from None
    if ts is pd.NaT:
        raise DataWindowError(f"{name} is missing (NaT); pass a date such as '1997-10-01'")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.as_unit("us")


def to_moment(value: str | dt.date | dt.datetime | pd.Timestamp, name: str = "cutoff",
              day: bool = False) -> pd.Timestamp:
    """:func:`to_timestamp`, refusing a value with a non-zero UTC offset: the data's times are wall-clock
    times of ``data.timezone``, so an offset would be read as UTC's (``+00:00`` is UTC's own calendar).

    ``day``: the value must be a day (a cutoff), and the fix says to give the date alone.
    """
    ts = to_timestamp(value, name)
    given = pd.Timestamp(value)
    if given.tzinfo is not None and given.utcoffset():
        fix = (f"a {name} is a day of data.timezone's calendar, so give the date alone (e.g. '{given.date()}')"
               if day else "the data's times are wall-clock times of data.timezone, so give the moment as one of "
               f"them, without an offset (e.g. '{given.tz_localize(None)}' if that is the time meant there)")
        raise DataWindowError(f"{name} {value!s} carries a UTC offset; {fix}")
    return ts


def to_cutoff(value: str | dt.date | dt.datetime | pd.Timestamp) -> pd.Timestamp:
    """A cutoff: a date-like value that must fall on midnight (of ``data.timezone``'s calendar).

    Cutoffs are whole days so that "before the cutoff" means the same on a
    timestamp and on its date, and day differences agree across engines.
    """
    ts = to_moment(value, "cutoff", day=True)
    if ts != ts.normalize():
        raise DataWindowError(
            f"cutoff {ts} is not at midnight; cutoffs are whole days (e.g. '{ts.date()}'), "
            "so that history 'time < cutoff' is the same on timestamps and on dates"
        )
    return ts


def epoch_day(cutoff: str | dt.date | dt.datetime | pd.Timestamp) -> int:
    """A cutoff's day number since 1970-01-01 (negative before it): one number per date, e.g. 10227 for
    1998-01-01 (MLflow's step of a backtest cutoff's metrics)."""
    return int((pd.Timestamp(cutoff).normalize() - pd.Timestamp("1970-01-01")).days)


def year_before(end: pd.Timestamp) -> pd.Timestamp:
    """The start of the calendar year (12 months) that ends at ``end``: 2024-03-01 for 2025-03-01.

    A calendar year, not 365 days, so a year with 29 February keeps its first day.
    """
    return end - pd.DateOffset(years=1)


def cutoff_column(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A column of cutoffs as naive ``datetime64[us]``, and the mask of rows that are not cutoffs.

    The vectorised :func:`to_cutoff`: text must be YYYY-MM-DD (as for one
    cutoff), date objects are parsed, aware values converted to UTC. A row is
    bad when it is missing, not such a date, or not at midnight.
    """
    cut = values
    text_bad = pd.Series(False, index=values.index)
    if not (pd.api.types.is_datetime64_dtype(cut) or isinstance(cut.dtype, pd.DatetimeTZDtype)):
        text = values.map(lambda v: isinstance(v, str))
        text_bad = text & ~values.where(text, "").astype("str").str.match(_ISO_DATE.pattern)
        cut = pd.to_datetime(values.where(~text_bad), errors="coerce", format="mixed", utc=True)
    if isinstance(cut.dtype, pd.DatetimeTZDtype):
        cut = cut.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = text_bad | cut.isna() | (cut != cut.dt.normalize())
    return cut.astype("datetime64[us]"), bad


@dataclass(frozen=True)
class LabelWindow:
    """The half-open label window ``[start, end)`` of one cutoff."""

    cutoff: pd.Timestamp
    start: pd.Timestamp
    end: pd.Timestamp


def label_window(cutoff: object, horizon_days: int, lead_time_days: int = 0) -> LabelWindow:
    """Label window of a cutoff: ``[cutoff + lead, cutoff + lead + horizon)``.

    Parameters
    ----------
    cutoff : date-like
        The moment of prediction. Required.
    horizon_days : int
        Length of the label window in days (>= 1).
    lead_time_days : int
        Days between the cutoff and the start of the window (>= 0).
    """
    if horizon_days < 1:
        raise DataWindowError(f"horizon_days must be >= 1, got {horizon_days}")
    if lead_time_days < 0:
        raise DataWindowError(f"lead_time_days must be >= 0, got {lead_time_days}")
    c = to_timestamp(cutoff)  # type: ignore[arg-type]
    start = c + lead_time_days * DAY
    return LabelWindow(c, start, start + horizon_days * DAY)


def history_mask(times: pd.Series, cutoff: object) -> pd.Series:
    """Boolean mask of the rows a cutoff may see: ``time < cutoff``."""
    return times < to_timestamp(cutoff)  # type: ignore[arg-type]


def in_window_mask(times: pd.Series, start: object, end: object) -> pd.Series:
    """Boolean mask of ``start <= time < end``."""
    return (times >= to_timestamp(start, "start")) & (times < to_timestamp(end, "end"))  # type: ignore[arg-type]


def history_sql(time_col: str, cutoff_col: str) -> str:
    """SQL predicate of the history of a cutoff: ``time < cutoff``."""
    return f"({time_col} < {cutoff_col})"


def age_days_sql(time_col: str, cutoff_col: str) -> str:
    """SQL: whole days from a row's date to the cutoff's date (>= 1 in history).

    Computed on dates, so DuckDB and Spark agree; "within the last W days"
    is ``age <= W``, i.e. the row is in ``[cutoff - W days, cutoff)``.
    """
    return f"DATE_DIFF('day', CAST({time_col} AS DATE), CAST({cutoff_col} AS DATE))"


def label_window_bounds(
    cutoffs: pd.DatetimeIndex, horizon_days: np.ndarray, lead_time_days: int = 0
) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Starts and ends of the label windows of many cutoffs (:func:`label_window`, vectorised).

    The label queries (:mod:`churnml.label_sql`) read these bounds from a
    table of cutoffs, so they use this module's window, ``[c + lead, c + lead + horizon)``.
    """
    start = cutoffs + lead_time_days * DAY
    return start, start + pd.to_timedelta(horizon_days, unit="D")


@dataclass(frozen=True)
class DataSpan:
    """First moment and exclusive end of the data.

    ``end`` is exclusive: by default the day after the last timestamp (the
    data is taken to cover whole days), or the declared end from the config.
    """

    first: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def from_times(cls, times: pd.Series, declared_end: object | None = None) -> DataSpan:
        if len(times) == 0 or times.isna().all():
            raise DataWindowError("the transactions table has no timestamps; cannot place cutoffs")
        first = to_timestamp(times.min(), "the first timestamp")
        end = (
            to_timestamp(declared_end, "data.end")  # type: ignore[arg-type]
            if declared_end is not None
            else to_timestamp(times.max(), "the last timestamp").normalize() + DAY
        )
        return cls(first.as_unit("us"), end.as_unit("us"))


#: A cutoff more days than this after the data's end gets a warning (:func:`stale_cutoff_text`), and so does a
#: declared ``data.end`` more days than this after the last transaction (:func:`quiet_end_text`): a week, so
#: that an export a month behind is noticed.
STALE_DAYS = 7


def stale_cutoff_text(cutoff: pd.Timestamp, end: pd.Timestamp, consequence: str = "the churn probabilities run high"
                      ) -> str | None:
    """Why a cutoff more than :data:`STALE_DAYS` days after ``end`` (the data's exclusive end) misleads; else None.

    Every customer looks silent since the data's end: ``consequence`` says what that does.
    """
    gap = (cutoff - end).days
    if gap <= STALE_DAYS:
        return None
    return (f"the cutoff {cutoff.date()} is {gap} days after the end of the data ({end.date()}, exclusive): nobody "
            f"can have bought in between, so everyone looks silent for {gap} more days than they are and "
            f"{consequence}. Use {end.date()} or load newer data (if the data does run to the cutoff, with no "
            "purchase since, declare data.end)")


#: Days after a silent stretch holding fewer rows than this share of what the data's usual rate would give
#: there are taken for stray dates (:func:`stray_tail_text`).
STRAY_SHARE = 0.1


def daily_counts(times: pd.Series) -> pd.Series:
    """The number of ``times`` on each day (index: the days with any), in one pass (no sort)."""
    day = times.dropna().to_numpy(dtype="datetime64[D]").astype("int64")
    if not len(day):
        return pd.Series(dtype="int64")
    counts = np.bincount(day - day.min())
    on = np.flatnonzero(counts)
    return pd.Series(counts[on], index=pd.DatetimeIndex((on + day.min()).astype("datetime64[D]")))


def late_rows_text(rows: Iterable[tuple[object, dt.datetime | np.datetime64]]) -> str:
    """``e.g. customer_id 'A' at 2024-03-01 10:00:00, ...``: the (customer, time) rows a data-end message shows."""
    return "e.g. " + ", ".join(f"customer_id {c!r} at {pd.Timestamp(t)}" for c, t in rows)


def _silent_days(days: pd.Series | pd.Index) -> np.ndarray:
    """The days without a transaction before each of the sorted distinct ``days`` but the first."""
    return pd.Series(days).diff().dt.days.to_numpy()[1:] - 1


def stray_tail_text(daily: pd.Series, examples: Callable[[pd.Timestamp], str]) -> str | None:
    """Why the last transactions look like stray dates that move the data's inferred end; else None.

    ``daily``: the number of transactions of each day (index: the days). The last silent stretch longer
    than :data:`STALE_DAYS` and than any before it in the year before it is the gap; the days after it are
    stray when they hold fewer than :data:`STRAY_SHARE` of the rows the year before's daily rate gives the
    gap and them together (one order typed a month late, a test order dated next year): with ``data.end``
    null the data's end is the day after them, and everyone looks silent through the gap.
    ``examples(first)`` names some rows dated from ``first`` on.
    """
    days = pd.Series(daily.to_numpy(dtype="float64"), index=pd.DatetimeIndex(daily.index).normalize())
    days = days.groupby(level=0).sum().sort_index()
    if len(days) < 3:
        return None
    silent = _silent_days(days.index)
    long = np.flatnonzero(silent > STALE_DAYS)
    if not len(long):
        return None
    i = int(long[-1])  # the last long silence: days.index[i] is its eve, days.index[i + 1] the day after it
    gap, start = silent[i], days.index[i]
    year = (days.index > year_before(start)) & (days.index <= start)
    earlier = silent[:i][days.index[1:i + 1] > year_before(start)]
    if i < 2 or gap <= earlier.max():  # no year to judge by, or as long as silences in it were
        return None
    tail = days.iloc[i + 1:]
    rate = float(days[year].sum()) / max(1, (start - max(year_before(start), days.index[0])).days + 1)
    expected = rate * ((tail.index[-1] - start).days)
    if tail.sum() >= STRAY_SHARE * expected:
        return None
    first, last = tail.index[0], tail.index[-1]
    dates = str(first.date()) if first == last else f"{first.date()} to {last.date()}"
    n = int(tail.sum())
    rows, come, they, them = (("row", "comes", "it looks like a stray date", "it") if n == 1 else
                              ("rows", "come", "they look like stray dates", "the last of them"))
    return (f"transactions.timestamp: {n:,} {rows} dated {dates} {come} after {int(gap)} days without a "
            f"transaction (from {(start + DAY).date()}), where the year before had about {rate:,.1f} a day: "
            f"{they} ({examples(first)}). With data.end null the data's end is the day "
            f"after {them}, {(last + DAY).date()}, so everyone looks silent through those {int(gap)} days and churn "
            f"labels whose window reaches into them count customers as gone. Fix: correct or remove those rows "
            f"(or set data.end to {(start + DAY).date()}, where the data ends, and they are refused with their "
            f"rows); if the silence is real, declare it with data.end {(last + DAY).date()}")


def quiet_end_text(days: pd.Series, span: DataSpan) -> str | None:
    """Why a declared data end long after the last transaction may mislead (an export that stopped early); else
    None.

    ``days``: the days with a transaction in the data's last year (from :func:`year_before` the last
    transaction; any order, repeats allowed). The quiet
    days before ``span.end`` are long when they are more than :data:`STALE_DAYS` and more than the longest
    run of days without a transaction in that year (a shop that sells twice a month is quiet for weeks).
    Training warns with it in the non-contractual regime, whose labels are purchases (a subscription
    business's invoices may be a month apart).
    """
    seen = pd.Series(pd.to_datetime(pd.Series(days).dropna()).dt.normalize().unique()).sort_values()
    if seen.empty:
        return None
    after = seen.iloc[-1] + DAY
    gap = (span.end - after).days
    longest = int(_silent_days(seen).max()) if len(seen) > 1 else 0
    if gap <= max(STALE_DAYS, longest):
        return None
    end = span.end.date() if span.end == span.end.normalize() else span.end
    return (f"no transaction after {(after - DAY).date()}: the {gap} days before data.end {end} (exclusive) have "
            f"none (in the year before, at most {longest} days in a row had none). If the export stopped early, "
            f"everyone looks silent in those {gap} days, and churn labels whose window reaches into them count "
            f"customers as gone who may have bought then. Load the missing rows, or set data.end to {after.date()} "
            "if the data ends there")


def latest_matured_cutoff(span: DataSpan, horizon_days: int, lead_time_days: int = 0) -> pd.Timestamp:
    """The last cutoff (a midnight) whose label window ends at or before ``span.end``."""
    return (span.end - (horizon_days + lead_time_days) * DAY).normalize()


def cutoff_list(cutoffs: object) -> list[object]:
    """``cutoffs`` as a list: one date (text, date, Timestamp) becomes a list of one, so that ``"2024-01-01"``
    is one cutoff, not ten characters."""
    if isinstance(cutoffs, str | dt.date | np.datetime64):
        return [cutoffs]
    return list(cutoffs)  # type: ignore[call-overload]


def rolling_cutoffs(first: object, last: object, step_days: int) -> pd.DatetimeIndex:
    """Cutoffs ``last, last - step, ...`` down to ``first`` (returned ascending).

    Anchored on ``last`` so that the newest cutoff is always included.
    """
    if step_days < 1:
        raise DataWindowError(f"step_days must be >= 1, got {step_days}")
    lo, hi = to_timestamp(first, "first_cutoff"), to_timestamp(last, "last_cutoff")  # type: ignore[arg-type]
    if hi < lo:
        raise DataWindowError(f"last cutoff {hi.date()} is before first cutoff {lo.date()}")
    n = int((hi - lo) // (step_days * DAY))
    offsets = np.arange(n, -1, -1) * step_days
    return pd.DatetimeIndex([hi - int(k) * DAY for k in offsets]).as_unit("us")


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def matured_cutoffs(
    span: DataSpan,
    horizon_days: int,
    step_days: int,
    lead_time_days: int = 0,
    first: object | None = None,
    last: object | None = None,
    min_history_days: int = 0,
    grace_days: int = 0,
) -> pd.DatetimeIndex:
    """Rolling cutoffs whose label windows are fully inside the data.

    The default first cutoff leaves ``max(min_history_days, 1)`` days of
    history; the default last cutoff is the latest matured one. With
    ``grace_days`` (contractual labels) the data must also cover that many
    days after the window, where a renewal would continue the spell.

    Raises
    ------
    DataWindowError
        When no cutoff fits: the message gives the data's first and last
        dates, the earliest and latest usable cutoffs, and names what to
        change (the horizon, ``first``/``last``, or the minimum history).
    """
    latest = latest_matured_cutoff(span, horizon_days + grace_days, lead_time_days)
    asked_first = None if first is None else to_cutoff(first)  # type: ignore[arg-type]
    asked_last = None if last is None else to_cutoff(last)  # type: ignore[arg-type]
    floor = span.first.normalize() + max(min_history_days, 1) * DAY
    earliest = floor if asked_first is None else max(floor, asked_first)
    hi = latest if asked_last is None else min(latest, asked_last)
    if hi < earliest:
        grace = f" and {grace_days} days of grace after it" if grace_days else ""
        data = (
            f"the data runs from {span.first.date()} to {(span.end - DAY).date()} (end exclusive "
            f"{span.end.date()}); a label window of {horizon_days} days after a lead time of "
            f"{lead_time_days} days{grace} needs a cutoff on or before {latest.date()}"
        )
        if asked_last is not None and asked_last < earliest <= latest:
            fix = (
                f"the last cutoff asked (time.last_cutoff) {asked_last.date()} is before the earliest "
                f"usable cutoff {earliest.date()}; ask for a last cutoff from {earliest.date()} to {latest.date()}"
            )
        elif asked_first is not None and asked_first > latest and floor <= latest:
            fix = (
                f"the first cutoff asked (time.first_cutoff) {asked_first.date()} is after it; ask for one "
                f"from {floor.date()} to {latest.date()}"
            )
        else:
            longest = int((span.end - earliest) / DAY) - lead_time_days - grace_days
            cause = (
                f"the earliest usable cutoff is {earliest.date()} ({_days(max(min_history_days, 1))} of history"
                + (f", or the first cutoff asked {asked_first.date()}" if asked_first is not None and earliest > floor else "")
                + ")"
            )
            fix = (
                f"{cause}. The longest horizon that fits is {longest} days; shorten time.horizon_days "
                "or time.lead_time_days, or give more data"
                if longest >= 1
                else f"{cause}, after the data's end: no horizon fits. Lower time.min_history_days "
                "(or time.first_cutoff), or give more data"
            )
        raise DataWindowError(f"no cutoff has a matured label window: {data}, but {fix}.")
    return rolling_cutoffs(earliest, hi, step_days)
