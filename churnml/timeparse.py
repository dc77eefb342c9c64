"""Timestamp parsing and time-zone handling for :mod:`churnml.validation`.

Raw time columns arrive as text (ISO 8601, with or without a UTC offset, in
the user's ``read_options.date_format``, or in another format inferred from
all the values by :mod:`churnml.dateformat`), as naive ``datetime64`` or as
time-zone-aware datetimes. The helpers here turn them into naive UTC
``datetime64[us]`` values and say which values carried an offset;
:mod:`churnml.validation` decides what is a problem and reports it, in UTC,
and then hands the times on as wall-clock times of ``data.timezone``
(:func:`to_local`): the calendar of every day, month and cutoff inside
churnml is the business's.

Naive values are wall-clock times in the data's IANA zone: :func:`_localize`
converts them to UTC (daylight-saving overlaps are read as standard time,
gaps are shifted forward; the caller logs both with their rows). Warnings go to the
``churnml.validation`` logger, as they did before this module was split out.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

from churnml.dateformat import NUMBER_FORMATS, ParsedTimes, expand, parse_inferred, strict
from churnml.errors import ConfigError

__all__ = ["as_local", "to_local"]  # helpers of churnml.validation and churnml.spark.validate

log = logging.getLogger("churnml.validation")  # the messages are validation's (and so is its logger)

_PROBE = 1_000  # values the ISO fast path is tried on before all of them
_OFFSET = r"(?:(?P<z>Z)|(?P<sign>[+-])(?P<h>\d\d)(?::?(?P<m>\d\d))?)$"  # groups read by _offset_minutes
_AWARE = r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*" + _OFFSET


def _as_text(col: pd.Series) -> pd.Series:
    """The column as ``str`` dtype; integral floats lose their ``.0``."""
    if ptypes.is_float_dtype(col.dtype):
        finite = col.dropna()
        if (finite == np.floor(finite)).all():
            return col.astype("Int64").astype("str")
    return col if col.dtype == "str" else col.astype("str")


def _parse_strings(text: pd.Series, dayfirst: bool | None = None) -> ParsedTimes:
    """Parse text timestamps once: naive UTC-or-wall values and which carried an offset.

    Fast path: Arrow's ISO 8601 cast (all naive, or all with offsets). Otherwise
    the values with an offset are converted to UTC and the others are parsed as
    ISO 8601 or with one format inferred from all of them
    (:func:`churnml.dateformat.parse_inferred`, which refuses an unsettled
    order of day and month unless ``dayfirst`` settles it).
    """
    arr = pa.array(text)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    fast = _fast_iso(arr, text)
    if fast is not None:  # plain ISO 8601: no zone word can be there (Arrow's cast refuses one)
        return fast
    worded = _zone_words_as_offsets(arr)
    if worded is not arr:
        arr, text = worded, pd.Series(worded.to_numpy(zero_copy_only=False), index=text.index, dtype="str")
        fast = _fast_iso(arr, text)
        if fast is not None:
            return fast
    aware_mask = _aware_mask(arr)
    values = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    if aware_mask.any():
        values[aware_mask] = strict(text[aware_mask], "ISO8601", utc=True)
    naive = ~aware_mask & text.notna().to_numpy()
    if not naive.any():
        return ParsedTimes(values, aware_mask)
    got = parse_inferred(text[naive], dayfirst)
    values[naive] = got.values
    ambiguous = None
    if got.ambiguous is not None:
        ambiguous = np.zeros(len(text), dtype=bool)
        ambiguous[naive] = got.ambiguous
    return ParsedTimes(values, aware_mask, got.fmt, False, ambiguous, got.other, got.by_format)


def _fast_iso(arr: pa.Array, text: pd.Series) -> ParsedTimes | None:
    """Arrow's ISO 8601 cast of every value (all naive, or all with an offset), or None when it refuses them."""
    for typ, aware in ((pa.timestamp("us"), False), (pa.timestamp("us", "UTC"), True)):
        try:
            pc.cast(arr.slice(0, _PROBE), typ)  # a failing cast of every value costs ~2 s per 1M
            out = pc.cast(pc.cast(arr, typ), pa.timestamp("us"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        mask = np.full(len(text), aware) & text.notna().to_numpy()
        return ParsedTimes(out.to_numpy(zero_copy_only=False), mask)
    return None


def _zone_words_as_offsets(arr: pa.Array) -> pa.Array:
    """``arr`` with a trailing ``UTC``/``GMT`` written as the offset it names (``+00:00``, or the offset after
    it), so such times are read as instants, not as local times of data.timezone; ``arr`` itself when no value
    holds either word (two literal scans, no regex; only for values Arrow's ISO cast refused)."""
    if not any(pc.any(pc.match_substring(arr, word)).as_py() for word in ("UTC", "GMT")):
        return arr
    offset = pc.replace_substring_regex(arr, r"\s*(?:UTC|GMT)([+-]\d\d(?::?\d\d)?)$", r"\1")
    return pc.replace_substring_regex(offset, r"\s*(?:UTC|GMT)$", "+00:00")


def _aware_mask(arr: pa.Array) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(arr, _AWARE), False).to_numpy(zero_copy_only=False)


def _parse_given(text: pd.Series, fmt: str, dayfirst: bool | None) -> ParsedTimes:
    """Parse text timestamps strictly with the user's format ``fmt`` (``read_options.date_format``).

    A format with ``%z``/``%Z`` gives values with an offset (converted to UTC);
    ``ISO8601`` and ``mixed`` take each value's offset, if any; other formats
    give naive values. ``dayfirst`` only matters for ``mixed`` (as in pandas).
    """
    codes, uniq = pd.factorize(text.where(text != ""))
    if fmt in ("ISO8601", "mixed"):
        aware = _aware_mask(pa.array(uniq.to_numpy(dtype=object), type=pa.string()))
    else:
        aware = np.full(len(uniq), "%z" in fmt or "%Z" in fmt)
    values = np.full(len(uniq), np.datetime64("NaT"), dtype="datetime64[us]")
    for mask, utc in ((aware, True), (~aware, False)):
        if mask.any():
            values[mask] = strict(uniq[mask], fmt, bool(dayfirst), utc=utc)
    parsed = expand(codes, values, np.datetime64("NaT"))
    return ParsedTimes(parsed, expand(codes, aware, False) & ~np.isnat(parsed), fmt, True,
                       by_format=int((~np.isnat(parsed)).sum()))


#: Microseconds per unit of each of :data:`NUMBER_FORMATS`, and its origin.
_NUMBER_UNITS = {"epoch_seconds": (1e6, np.datetime64("1970-01-01", "us")),
                 "epoch_milliseconds": (1e3, np.datetime64("1970-01-01", "us")),
                 "excel_serial": (86_400e6, np.datetime64("1899-12-30", "us"))}
#: Serial days below this are the spreadsheet's 1900-01-01 .. 1900-02-28, which its calendar (with a
#: 29 February 1900) numbers one day off; they are not read.
_FIRST_TRUE_SERIAL = 61
#: Beyond this many microseconds from the origin a number is not a time (year ~2286): left unparsed.
_MAX_MICROS = 1e16


def _as_numbers(col: pd.Series, decimal: str = ".", thousands: str | None = None) -> np.ndarray:
    """A raw column as float64 numbers (NaN where a value is not one); text read with the file's marks (a
    value whose thousands marks are out of place, :func:`_misplaced_marks`, is not one)."""
    misplaced = np.zeros(len(col), dtype=bool)
    if ptypes.is_numeric_dtype(col.dtype) and not ptypes.is_bool_dtype(col.dtype):
        text = col
    else:
        text, _, misplaced = _number_text(_as_text(col), decimal, thousands)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return np.where(misplaced, np.nan, numbers) if misplaced.any() else numbers


def _number_text(text: pd.Series, decimal: str, thousands: str | None) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Text numbers written with the file's ``decimal`` mark and ``thousands`` separator, as '1234.5'; the
    rows holding a '.' that is neither (e.g. '1.250' with ``decimal=','``: 1.25 or 1250?); and the rows whose
    thousands marks are out of place (:func:`_misplaced_marks`: '12,5')."""
    misplaced = stray = np.zeros(len(text), dtype=bool)
    if thousands:
        misplaced = _misplaced_marks(text, thousands, decimal)
        text = text.str.replace(thousands, "", regex=False)
    if decimal != ".":
        stray = text.str.contains(".", regex=False).to_numpy(dtype=bool, na_value=False)
        text = text.str.replace(decimal, ".", regex=False)
    return text, stray, misplaced


def _misplaced_marks(text: pd.Series, thousands: str, decimal: str = ".") -> np.ndarray:
    """The text numbers holding the ``thousands`` mark elsewhere than between groups of three digits before
    the ``decimal`` mark (``'12,5'``, ``'1,23,4'``, ``'1,234.5,6'``; not ``'1,234.5'`` or ``'-12,345'``), or
    than in the Indian grouping (a last group of three, pairs before it: ``'1,23,456.00'`` is read): read
    with the mark removed, as pandas reads them, they would be other numbers (125, 1234). Surrounding white
    space is allowed; a value that is no number once the marks are removed (``'$1,234'``) is left to the
    non-numeric rule. Two vectorised scans of the values holding the mark (one literal, one regular
    expression); none when no value holds it."""
    arr = pa.array(text, type=pa.large_string(), from_pandas=True)
    has = pc.fill_null(pc.match_substring(arr, thousands), False)
    out = np.zeros(len(text), dtype=bool)
    if not pc.any(has).as_py():
        return out
    t, d = (f"\\x{{{ord(ch):x}}}" for ch in (thousands, decimal))  # RE2's escape of any character
    whole = rf"(?:\d{{1,3}}(?:{t}\d{{3}})+|\d{{1,2}}(?:{t}\d{{2}})*{t}\d{{3}})"  # 1,234,567 or 12,34,567
    marked = pc.filter(arr, has)
    grouped = pc.match_substring_regex(marked, rf"^\s*[-+]?{whole}(?:{d}\d*)?\s*$").to_numpy(zero_copy_only=False)
    # a number once the marks are removed (the decimal mark as '.'), else not a number at all
    bare = pc.replace_substring(marked, thousands, "")
    if decimal != ".":
        bare = pc.replace_substring(bare, decimal, ".")
    number = pc.match_substring_regex(bare, r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)\s*$").to_numpy(zero_copy_only=False)
    out[np.flatnonzero(has.to_numpy(zero_copy_only=False))] = ~grouped & number
    return out


def _parse_numbers(col: pd.Series, fmt: str, decimal: str = ".", thousands: str | None = None) -> ParsedTimes:
    """Times written as numbers (:data:`NUMBER_FORMATS`): epoch times are instants (``aware``, UTC), serial
    days wall-clock times (to the millisecond, a spreadsheet's precision); a value that is not a number, or out
    of range, is NaT. Text is read with the file's ``decimal`` and ``thousands`` marks."""
    numbers = _as_numbers(col, decimal, thousands)
    per, origin = _NUMBER_UNITS[fmt]
    micros = np.round(numbers * per / 1e3) * 1e3 if fmt == "excel_serial" else np.round(numbers * per)
    ok = np.isfinite(micros) & (np.abs(micros) < _MAX_MICROS)
    if fmt == "excel_serial":
        ok &= numbers >= _FIRST_TRUE_SERIAL
    values = np.full(len(col), np.datetime64("NaT"), dtype="datetime64[us]")
    values[ok] = origin + micros[ok].astype("int64").astype("timedelta64[us]")
    aware = ok & (fmt != "excel_serial")
    return ParsedTimes(values, aware, fmt, True, by_format=int(ok.sum()))


def _parse_times(col: pd.Series, fmt: str | None = None, dayfirst: bool | None = None, decimal: str = ".",
                 thousands: str | None = None) -> ParsedTimes:
    """Parse a raw time column once (see :class:`churnml.dateformat.ParsedTimes`).

    Datetime columns are taken as they are (aware ones converted to UTC); text
    is read with the user's format ``fmt`` when given, else inferred; with one
    of :data:`~churnml.dateformat.NUMBER_FORMATS`, numbers (or text holding
    them) are read as such.
    """
    if fmt in NUMBER_FORMATS and not ptypes.is_datetime64_any_dtype(col.dtype):
        return _parse_numbers(col, fmt, decimal, thousands)
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        utc = col.dt.tz_convert("UTC").dt.tz_localize(None)
        return ParsedTimes(utc.to_numpy().astype("datetime64[us]"), col.notna().to_numpy())
    if ptypes.is_datetime64_dtype(col.dtype):
        return ParsedTimes(col.to_numpy().astype("datetime64[us]"), np.zeros(len(col), dtype=bool))
    text = _as_text(col)
    return _parse_given(text, fmt, dayfirst) if fmt is not None else _parse_strings(text, dayfirst)


def _localize(values: np.ndarray, mask: np.ndarray, tz: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read ``values[mask]`` as wall-clock times in ``tz``, converted to naive UTC.

    Returns the values and two masks over all of them: the times in a
    daylight-saving overlap (read as standard time) and in a gap (shifted
    forward to the first time that exists); the caller names those rows.
    """
    local = pd.Series(values[mask])
    overlap = np.zeros(len(values), dtype=bool)
    gap = np.zeros(len(values), dtype=bool)
    loc = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    odd = loc.isna().to_numpy() & local.notna().to_numpy()
    if odd.any():
        in_gap = local[odd].dt.tz_localize(tz, ambiguous=np.zeros(int(odd.sum()), dtype=bool),
                                            nonexistent="NaT").isna().to_numpy()
        loc[odd] = local[odd].dt.tz_localize(
            tz, ambiguous=np.zeros(int(odd.sum()), dtype=bool), nonexistent="shift_forward"
        )
        where = np.flatnonzero(mask)[np.flatnonzero(odd)]
        gap[where[in_gap]] = True
        overlap[where[~in_gap]] = True
    out = values.copy()
    out[mask] = loc.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    return out, overlap, gap


def _offset_minutes(col: pd.Series, aware: np.ndarray) -> np.ndarray:
    """The UTC offset each text value of ``col[aware]`` was written with, in minutes (``Z`` is 0)."""
    arr = pa.array(col[aware].astype("str"))
    parts = pc.extract_regex(arr, _OFFSET)
    sign = np.where(pc.struct_field(parts, "sign").to_numpy(zero_copy_only=False) == "-", -1, 1)
    hours = pd.to_numeric(pd.Series(pc.struct_field(parts, "h").to_numpy(zero_copy_only=False)),
                          errors="coerce").fillna(0).to_numpy()
    mins = pd.to_numeric(pd.Series(pc.struct_field(parts, "m").to_numpy(zero_copy_only=False)),
                         errors="coerce").fillna(0).to_numpy()
    return (sign * (hours * 60 + mins)).astype("int64")


def _zone_minutes(utc: np.ndarray, tz: str) -> np.ndarray:
    """The UTC offset of zone ``tz`` at each naive-UTC time, in minutes."""
    at = pd.DatetimeIndex(utc)
    local = at.tz_localize("UTC").tz_convert(tz).tz_localize(None)
    return ((local - at) // pd.Timedelta(minutes=1)).to_numpy().astype("int64")


def to_local(utc: pd.Series, tz: str) -> pd.Series:
    """Naive UTC times as naive wall-clock times of zone ``tz`` (``datetime64[us]``; NaT stays NaT).

    Exact for every instant; two instants of a daylight-saving overlap (clocks
    going back) show the same wall-clock time, as the zone's clocks did.
    """
    if tz == "UTC":
        return utc
    local = utc.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    return local.astype("datetime64[us]")


def as_local(value: object, what: str, tz: str) -> pd.Timestamp | None:
    """``value`` as a naive wall-clock time of zone ``tz``: naive values are taken as they are,
    aware ones converted (None stays None); ConfigError naming ``what`` if unparseable."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what}={value!r} is not a date or timestamp ({exc})") from None
    if ts.tzinfo is not None:
        ts = ts.tz_convert(tz).tz_localize(None)
    return ts.as_unit("us")
