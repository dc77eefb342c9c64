"""Text timestamps that are not ISO 8601: the user's format, or one inferred from all the values.

Used by :mod:`churnml.timeparse`. A given format (``read_options.date_format``)
is applied strictly by :func:`strict`: a value that does not match it is not
parsed. Without one, :func:`parse_inferred` reads ISO 8601 values as ISO and
infers one format for the others, and the order of day and month must be
settled by the values themselves:

* a format is guessed from the values (``pandas``' ``guess_datetime_format``);
  when it has both a day and a month field and the year is not first
  (``05.01.2024``, ``01/05/2024 10:00``), the other order is a candidate too;
* the order that parses every value wins; a value with a day above 12 proves
  the order. When both orders parse every value and read some of them
  differently (every day <= 12, e.g. ``05.01.2024`` and ``06.01.2024``), the
  values are *ambiguous*: they are left unparsed and reported, unless
  ``dayfirst`` settles the order;
* year-first values (``2024/01/05``) are always year-month-day.

The order is decided on the distinct values, or on an evenly spaced sample of
:data:`DECIDING_SAMPLE` of them when there are more; then every distinct value
is parsed once with the chosen format (vectorised, never row by row) and the
ambiguity is checked on all of them.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from churnml.errors import ConfigError
from churnml.schema import TableSpec

__all__ = [
    "DECIDING_SAMPLE", "NUMBER_FORMATS", "ParsedTimes", "day_first", "expand", "parse_inferred", "strict",
    "swapped", "time_formats",
]

#: ``read_options.date_format`` values for times written as numbers, with what each number is: seconds or
#: milliseconds since 1970-01-01 UTC (instants, converted to ``data.timezone``), or a spreadsheet's serial day
#: number (days since 1899-12-30 with the time as the fraction: a local time of ``data.timezone``, as written).
NUMBER_FORMATS: dict[str, str] = {
    "epoch_seconds": "seconds since 1970-01-01 UTC",
    "epoch_milliseconds": "milliseconds since 1970-01-01 UTC",
    "excel_serial": "spreadsheet serial days (days since 1899-12-30, the time as the fraction)",
}

#: Distinct values the order of day and month is decided on (all of them when there are fewer).
DECIDING_SAMPLE = 200_000
_GUESSES = 20  # distinct non-ISO values tried, in turn, for a format guess
_NAT = np.datetime64("NaT", "us")


@dataclass(frozen=True)
class ParsedTimes:
    """Timestamps parsed from one column, with how they were read.

    Attributes
    ----------
    values : ndarray of datetime64[us]
        Naive values (UTC where ``aware``); NaT where missing, unparseable or ambiguous.
    aware : ndarray of bool
        The values that carried a UTC offset.
    fmt : str, optional
        The format of the non-ISO values: the user's (``given``) or inferred; None when
        every value read was ISO 8601 (or no format could be guessed).
    given : bool
        ``fmt`` is the user's ``read_options.date_format``.
    ambiguous : ndarray of bool, optional
        The values that read differently day-first and month-first, the order being
        settled by no value (left NaT).
    other : str, optional
        ``fmt`` with day and month exchanged, when they were candidates.
    by_format : int
        How many values were read with ``fmt`` rather than as ISO 8601.
    """

    values: np.ndarray
    aware: np.ndarray
    fmt: str | None = None
    given: bool = False
    ambiguous: np.ndarray | None = None
    other: str | None = None
    by_format: int = 0


def strict(values: pd.Index | pd.Series, fmt: str, dayfirst: bool = False, utc: bool = False) -> np.ndarray:
    """``values`` parsed with exactly ``fmt`` (strftime codes, or ``ISO8601``/``mixed``); NaT where they
    do not match. With ``utc``, values with an offset are converted to UTC; the result is naive."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = pd.to_datetime(values, format=fmt, dayfirst=dayfirst, utc=utc, errors="coerce")
    if utc:
        got = got.tz_localize(None) if isinstance(got, pd.DatetimeIndex) else got.dt.tz_localize(None)
    return np.asarray(got, dtype="datetime64[us]")


def expand(codes: np.ndarray, per_value: np.ndarray, fill: object) -> np.ndarray:
    """``per_value[codes]`` (one entry per distinct value, see ``pandas.factorize``); ``fill`` where
    ``codes`` is -1 (missing)."""
    return np.append(per_value, np.array([fill], dtype=per_value.dtype))[codes]


def swapped(fmt: str) -> str | None:
    """``fmt`` with ``%d`` and ``%m`` exchanged, or None when it has not both or starts with the year.

    >>> swapped("%d.%m.%Y %H:%M"), swapped("%Y/%m/%d"), swapped("%d-%b-%Y")
    ('%m.%d.%Y %H:%M', None, None)
    """
    if "%d" not in fmt or "%m" not in fmt or _year_first(fmt):
        return None
    return _exchange(fmt)


def _exchange(fmt: str) -> str:
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def day_first(fmt: str) -> bool:
    """Whether the day comes before the month in ``fmt`` (which has both)."""
    return fmt.index("%d") < fmt.index("%m")


def _year_first(fmt: str) -> bool:
    year = re.search(r"%[Yy]", fmt)
    return year is not None and all(year.start() < fmt.index(f) for f in ("%d", "%m") if f in fmt)


def _guess(values: pd.Index, dayfirst: bool | None) -> str | None:
    """A format guessed from the first values that give one; year-first formats read year-month-day."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for value in values[:_GUESSES]:
            fmt = guess_datetime_format(str(value), dayfirst=bool(dayfirst))
            if fmt is not None:
                break
        else:
            return None
    if _year_first(fmt) and "%d" in fmt and "%m" in fmt and day_first(fmt):
        return _exchange(fmt)  # never year-day-month
    return fmt


def _decide(rest: pd.Index, dayfirst: bool | None) -> tuple[str | None, str | None, bool]:
    """(format, the other order or None, whether the values settle the order) for the non-ISO ``rest``."""
    fmt = _guess(rest, dayfirst)
    other = swapped(fmt) if fmt is not None else None
    if fmt is None or other is None:
        return fmt, None, True
    if dayfirst is not None:
        return (fmt, other, True) if day_first(fmt) == dayfirst else (other, fmt, True)
    a, b = ~np.isnat(strict(rest, fmt)), ~np.isnat(strict(rest, other))
    if b.sum() > a.sum():
        fmt, other, a, b = other, fmt, b, a
    return fmt, other, bool((a & ~b).any())


def _sample(uniq: pd.Index) -> pd.Index:
    if len(uniq) <= DECIDING_SAMPLE:
        return uniq
    return uniq[np.linspace(0, len(uniq) - 1, DECIDING_SAMPLE).astype(np.int64)]


def parse_inferred(text: pd.Series, dayfirst: bool | None = None) -> ParsedTimes:
    """Parse naive text timestamps: ISO 8601, or one format inferred and checked on all values.

    Parameters
    ----------
    text : Series of str
        Naive timestamps (no UTC offset); missing values and ``''`` stay NaT.
    dayfirst : bool, optional
        Settles the order of day and month (``read_options.dayfirst``); None: the
        values must settle it, else the values read differently are ``ambiguous``.

    Returns
    -------
    ParsedTimes
        ``aware`` is all False.
    """
    codes, uniq = pd.factorize(text.where(text != ""))
    zeros = np.zeros(len(text), dtype=bool)
    if not len(uniq):
        return ParsedTimes(np.full(len(text), _NAT), zeros)
    sample = _sample(uniq)
    iso_s = ~np.isnat(strict(sample, "ISO8601"))
    fmt, other, settled = _decide(sample[~iso_s], dayfirst) if not iso_s.all() else (None, None, True)
    fmt_first = bool(iso_s.mean() < 0.5)
    values, by_fmt = _parse_all(uniq, fmt, fmt_first)
    if fmt is None and len(sample) < len(uniq) and np.isnat(values).any():  # non-ISO values the sample missed
        fmt, other, settled = _decide(_sample(uniq[np.isnat(values)]), dayfirst)
        values, by_fmt = _parse_all(uniq, fmt, False)
    if other is not None and not settled and _proves(uniq[np.isnat(values)], other):
        fmt, other, settled = other, fmt, True  # a value the sample missed settles the order
        values, by_fmt = _parse_all(uniq, fmt, fmt_first)
    ambiguous = None
    if other is not None and not settled:
        ambiguous = _ambiguous(values, by_fmt)
        values[ambiguous] = _NAT
    return ParsedTimes(
        expand(codes, values, _NAT), zeros, fmt if by_fmt.any() else None, False,
        None if ambiguous is None or not ambiguous.any() else expand(codes, ambiguous, False),
        other, int(expand(codes, by_fmt, False).sum()),
    )


def _parse_all(uniq: pd.Index, fmt: str | None, fmt_first: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every distinct value parsed as ISO 8601 or with ``fmt`` (the likelier first, the other on what
    it misses); and which were read with ``fmt``."""
    by_fmt = np.zeros(len(uniq), dtype=bool)
    if fmt_first and fmt is not None:
        values = strict(uniq, fmt)
        by_fmt = ~np.isnat(values)
        values[~by_fmt] = strict(uniq[~by_fmt], "ISO8601")
        return values, by_fmt
    values = strict(uniq, "ISO8601")
    todo = np.isnat(values)
    if fmt is not None and todo.any():
        values[todo] = strict(uniq[todo], fmt)
        by_fmt = todo & ~np.isnat(values)
    return values, by_fmt


def _proves(missed: pd.Index, other: str) -> bool:
    """Whether a value the format missed reads in the other order (which settles the order)."""
    return len(missed) > 0 and bool((~np.isnat(strict(missed, other))).any())


def _ambiguous(values: np.ndarray, by_fmt: np.ndarray) -> np.ndarray:
    """Values read with the format that read otherwise with day and month exchanged, when no value
    read with it has a day above 12 (which would settle the order)."""
    read = pd.DatetimeIndex(values[by_fmt])
    if (read.day > 12).any():
        return np.zeros(len(values), dtype=bool)
    out = np.zeros(len(values), dtype=bool)
    out[by_fmt] = read.day != read.month
    return out


def time_formats(spec: TableSpec, date_format: str | Mapping[str, str] | None,
                 dayfirst: bool | None = None) -> dict[str, str]:
    """``date_format`` as a mapping time column -> format; ConfigError for a bad type or column.

    A single format applies to every time column of ``spec``; a mapping must
    name time columns of ``spec`` (canonical names).
    """
    times = [c.name for c in spec.columns if c.kind in ("time", "date")]
    where = f"data.tables.{spec.name}.read_options"
    if dayfirst is not None and not isinstance(dayfirst, bool):
        raise ConfigError(f"{where}.dayfirst={dayfirst!r}; expected true or false")
    if date_format is None:
        return {}
    if isinstance(date_format, str):
        _check_format(where, date_format)
        return dict.fromkeys(times, date_format)
    if not isinstance(date_format, Mapping) or not all(isinstance(v, str) for v in date_format.values()):
        raise ConfigError(f"{where}.date_format={date_format!r}; expected a format such as '%d.%m.%Y' "
                          "or a mapping column -> format")
    unknown = [k for k in date_format if k not in times]
    if unknown:
        raise ConfigError(f"{where}.date_format names {unknown}, which are not time columns of "
                          f"{spec.name}; its time columns are {times}")
    for fmt in date_format.values():
        _check_format(where, fmt)
    return dict(date_format)


def _check_format(where: str, fmt: str) -> None:
    """A ConfigError for a format strptime cannot use (``%s``, a stray ``%``); any usable one passes, and so
    do :data:`NUMBER_FORMATS`."""
    if fmt in NUMBER_FORMATS:
        return
    try:
        dt.datetime.strptime("", fmt)
    except ValueError as exc:
        if "does not match format" in str(exc):
            return
        raise ConfigError(f"{where}.date_format={fmt!r}: {exc}; give a format of strptime codes such as "
                          "'%d.%m.%Y %H:%M', or for times written as numbers one of "
                          f"{', '.join(repr(k) for k in NUMBER_FORMATS)}") from None
