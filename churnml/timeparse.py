"""Timestamp parsing and time-zone handling for :mod:`churnml.validation`.

Raw time columns arrive as text (ISO 8601, with or without a UTC offset, or
in another format inferred from the first value), as naive ``datetime64`` or
as time-zone-aware datetimes. The helpers here turn them into naive UTC
``datetime64[us]`` values and say which values carried an offset;
:mod:`churnml.validation` decides what is a problem and reports it.

Naive values are wall-clock times in the data's IANA zone: :func:`_localize`
converts them to UTC (daylight-saving overlaps are read as standard time,
gaps are shifted forward, both logged). Warnings go to the
``churnml.validation`` logger, as they did before this module was split out.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes
from pandas.tseries.api import guess_datetime_format

from churnml.errors import ConfigError

__all__ = ["as_utc"]  # helpers of churnml.validation (and churnml.spark.validate)

log = logging.getLogger("churnml.validation")  # the messages are validation's (and so is its logger)

_OFFSET = r"(?:Z|[+-]\d\d(?::?\d\d)?)$"
_AWARE = r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*" + _OFFSET


def _as_text(col: pd.Series) -> pd.Series:
    """The column as ``str`` dtype; integral floats lose their ``.0``."""
    if ptypes.is_float_dtype(col.dtype):
        finite = col.dropna()
        if (finite == np.floor(finite)).all():
            return col.astype("Int64").astype("str")
    return col if col.dtype == "str" else col.astype("str")


def _parse_strings(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse text timestamps once; return (naive UTC-or-wall values, aware mask).

    Fast path: Arrow's ISO 8601 cast (all naive, or all with offsets). Otherwise
    the values with an offset are converted to UTC and the others are parsed as
    ISO 8601, or with the format inferred from the first value if that parses more.
    """
    arr = pa.array(text)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    for typ, aware in ((pa.timestamp("us"), False), (pa.timestamp("us", "UTC"), True)):
        try:
            out = pc.cast(pc.cast(arr, typ), pa.timestamp("us"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return out.to_numpy(zero_copy_only=False), np.full(len(text), aware) & text.notna().to_numpy()
    aware_mask = pc.fill_null(pc.match_substring_regex(arr, _AWARE), False).to_numpy(zero_copy_only=False)
    values = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    if aware_mask.any():
        got = pd.to_datetime(text[aware_mask], format="ISO8601", utc=True, errors="coerce")
        values[aware_mask] = got.dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    naive = ~aware_mask & text.notna().to_numpy()
    if naive.any():
        values[naive] = _parse_naive(text[naive])
    return values, aware_mask


def _parse_naive(text: pd.Series) -> np.ndarray:
    iso = pd.to_datetime(text, format="ISO8601", errors="coerce")
    best = iso
    if iso.isna().any():
        first = text[text != ""].iloc[0] if (text != "").any() else None
        fmt = guess_datetime_format(str(first)) if first is not None else None
        if fmt is not None:
            guessed = pd.to_datetime(text, format=fmt, errors="coerce")
            if guessed.notna().sum() > iso.notna().sum():
                log.warning("timestamps are not ISO 8601; read them with the inferred format %r "
                            "(set read_options.date_format if that is wrong)", fmt)
                best = guessed
    return best.to_numpy().astype("datetime64[us]")


def _parse_times(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        utc = col.dt.tz_convert("UTC").dt.tz_localize(None)
        return utc.to_numpy().astype("datetime64[us]"), col.notna().to_numpy()
    if ptypes.is_datetime64_dtype(col.dtype):
        return col.to_numpy().astype("datetime64[us]"), np.zeros(len(col), dtype=bool)
    return _parse_strings(_as_text(col))


def _localize(values: np.ndarray, mask: np.ndarray, tz: str, where: str) -> np.ndarray:
    """Read ``values[mask]`` as wall-clock times in ``tz``; return them converted to naive UTC."""
    local = pd.Series(values[mask])
    loc = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    odd = loc.isna().to_numpy() & local.notna().to_numpy()
    if odd.any():
        loc[odd] = local[odd].dt.tz_localize(
            tz, ambiguous=np.zeros(int(odd.sum()), dtype=bool), nonexistent="shift_forward"
        )
        log.warning("%s: %d local times fall in a daylight-saving overlap or gap of %s; "
                    "taken as standard time or shifted forward", where, int(odd.sum()), tz)
    out = values.copy()
    out[mask] = loc.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    return out


def _log_offsets(col: pd.Series, aware: np.ndarray, where: str) -> None:
    if not ptypes.is_string_dtype(col.dtype):
        return
    arr = pa.array(col[aware].astype("str"))
    found = pc.value_counts(pc.struct_field(pc.extract_regex(arr, f"(?P<o>{_OFFSET})"), "o"))
    if len(found) > 1:
        counts = ", ".join(f"{d['values']}: {d['counts']:,}" for d in found.to_pylist())
        log.warning("%s: timestamps carry %d UTC offsets (%s); each is converted to UTC",
                    where, len(found), counts)


def as_utc(value: object, what: str) -> pd.Timestamp | None:
    """``value`` as a naive UTC Timestamp (None stays None); ConfigError naming ``what`` if unparseable."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what}={value!r} is not a date or timestamp ({exc})") from None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.as_unit("us")
