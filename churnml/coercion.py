"""Turning raw columns into canonical types, and reporting the values that do not convert.

Used by :func:`churnml.validation.validate_table`: :func:`convert_columns`
converts each column of a table spec (times, dates, numbers, counts,
booleans, text) and records every value that does not convert in a
:class:`Report`, which names the table, the column, the rows (file rows or
index labels) and example values, with the fix.

Customer ids follow :func:`churnml.ids.canonical_ids` (re-exported here).
The wording of the rules is the catalogue of :mod:`churnml.rules`, re-exported
here: the pandas path (:mod:`churnml.validation`) and the Spark path
(:mod:`churnml.spark.validate`) both take their messages from it, so the two
say the same thing about the same rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

from churnml.dateformat import NUMBER_FORMATS, ParsedTimes
from churnml.ids import canonical_ids, id_text
from churnml.rules import (
    DATE_ORDER,
    DUPLICATE_KEY,
    DUPLICATE_ROW,
    EPOCH,
    EPOCH_NUMBERS,
    NEGATIVE_AMOUNT,
    NON_INTEGER,
    NON_NUMERIC,
    NOT_BOOL,
    SCORE_OUTSIDE_SCALE,
    TIME_OF_DAY,
    UNKNOWN_SURVEY,
    UNPARSEABLE_TIME,
    Rule,
    ambiguous_date_rule,
    data_end_rule,
    date_format_rule,
    doubled_columns_text,
    emptied_text,
    epoch_number_rule,
    float_ids_text,
    misplaced_marks_rule,
    mixed_times_rule,
    near_epoch,
    null_rule,
    order_rule,
    scale_text,
)
from churnml.schema import TableSpec
from churnml.timeparse import (
    _as_numbers,
    _as_text,
    _localize,
    _number_text,
    _offset_minutes,
    _parse_times,
    _zone_minutes,
)

__all__ = [
    "BOOL_WORDS", "DATE_ORDER", "DUPLICATE_KEY", "DUPLICATE_ROW", "NEGATIVE_AMOUNT", "NON_INTEGER", "NON_NUMERIC",
    "NOT_BOOL", "SCORE_OUTSIDE_SCALE", "SHOWN_EXAMPLES", "SHOWN_ROWS", "STRIPPED_IDS", "STRIPPED_VALUES",
    "TIME_OF_DAY", "UNKNOWN_SURVEY", "UNPARSEABLE_TIME", "Policy", "Report", "Rule", "ambiguous_date_rule",
    "canonical_ids", "convert_columns", "count_text", "data_end_rule", "date_format_rule", "doubled_columns_text",
    "emptied_text", "examples", "missing_mask", "null_rule", "order_rule", "scale_text", "stripped_text",
]

log = logging.getLogger("churnml.validation")  # the messages are validation's (and so is its logger)

Policy = Literal["error", "keep", "drop"]  # data.returns, data.duplicates
SHOWN_ROWS = 5
SHOWN_EXAMPLES = 3
BOOL_WORDS = {"true": True, "t": True, "yes": True, "y": True, "1": True, "1.0": True,
          "false": False, "f": False, "no": False, "n": False, "0": False, "0.0": False}


# ------------------------------------------------------------------------ report
@dataclass
class Report:
    """Collects problems; knows how to name rows (file rows or index labels)."""

    table: str
    source: str | None
    labels: pd.Index
    problems: list[str] = field(default_factory=list)

    def rows(self, mask: np.ndarray) -> str:
        pos = np.flatnonzero(mask)
        more = f" and {len(pos) - SHOWN_ROWS:,} more" if len(pos) > SHOWN_ROWS else ""
        if self.source is not None and isinstance(self.labels, pd.MultiIndex):  # (file, row) of a folder's files
            by_file: dict[str, list[str]] = {}
            for p in pos[:SHOWN_ROWS]:
                file, row = self.labels[p]
                by_file.setdefault(str(file), []).append(str(row))
            return ", ".join(f"data {'row' if len(rows) == 1 else 'rows'} {', '.join(rows)} of {file}"
                             for file, rows in by_file.items()) + more
        shown = ", ".join(str(self.labels[p]) for p in pos[:SHOWN_ROWS])
        if self.source is None:
            return f"index {shown}{more}"
        return f"data {'row' if len(pos) == 1 else 'rows'} {shown}{more} of {self.source}"

    def name(self, position: int) -> str:
        label = self.labels[position]
        if self.source is not None and isinstance(self.labels, pd.MultiIndex):
            return f"data row {label[1]} of {label[0]}"
        return f"index {label}" if self.source is None else f"data row {label}"

    def add(self, column: str | None, rule: Rule, mask: np.ndarray, values: pd.Series | None,
            example: str | None = None, note: str = "") -> None:
        """Record ``rule`` broken at ``mask``: the rows, and examples of ``values`` (or ``example``),
        then ``note``."""
        if values is not None:
            example = examples(values, mask)
        ex = f" (e.g. {example})" if example is not None else ""
        self.problems.append(rule.problem(self.table, column, int(mask.sum()), f" at {self.rows(mask)}{ex}{note}"))


def examples(values: pd.Series, mask: np.ndarray) -> str:
    picked = values.iloc[np.flatnonzero(mask)[:1000]].drop_duplicates().head(SHOWN_EXAMPLES)
    return ", ".join(repr(str(v) if isinstance(v, pd.Timestamp) else v.item() if isinstance(v, np.generic)
                          else v) for v in picked)


def count_text(mask: np.ndarray) -> str:
    n = int(mask.sum())
    return f"{n:,} {'value' if n == 1 else 'values'}"


def missing_mask(col: pd.Series) -> np.ndarray:
    miss = col.isna().to_numpy(dtype=bool)
    if ptypes.is_string_dtype(col.dtype):
        return miss | (col.astype("str") == "").to_numpy(dtype=bool, na_value=False)
    return miss


# --------------------------------------------------------------------------- times
def _convert_time(rep: Report, name: str, col: pd.Series, kind: str, tz: str, fmt: str | None = None,
                  dayfirst: bool | None = None, decimal: str = ".", thousands: str | None = None,
                  nullable: bool = False) -> pd.Series:
    parsed = _parse_times(col, fmt, dayfirst, decimal, thousands)
    values, aware = parsed.values, parsed.aware
    missing = missing_mask(col)
    nat = np.isnat(values)
    unsettled = parsed.ambiguous if parsed.ambiguous is not None else np.zeros(len(col), dtype=bool)
    bad = nat & ~missing & ~unsettled
    if bad.any():
        bad &= ~_add_mixed_kinds(rep, name, col, bad, parsed, dayfirst, nullable)
    if bad.any() and thousands and parsed.given and parsed.fmt in NUMBER_FORMATS and not ptypes.is_numeric_dtype(
            col.dtype):  # times written as numbers with the file's marks out of place: as number columns say
        text, _, misplaced = _number_text(_as_text(col).str.strip(), decimal, thousands)
        bad &= ~_add_misplaced(rep, name, col, text, misplaced & bad, thousands, decimal)
    if bad.any():
        _add_unparseable(rep, name, col, bad, parsed)
    if unsettled.any() and parsed.fmt is not None and parsed.other is not None:
        rep.add(name, ambiguous_date_rule(parsed.fmt, parsed.other), unsettled, col)
    elif parsed.fmt is not None and not parsed.given:
        log.warning("%s.%s: %s not ISO 8601; read them with the inferred format %r (set "
                    "read_options.date_format if that is wrong)", rep.table, name,
                    f"{parsed.by_format:,} {'timestamp is' if parsed.by_format == 1 else 'timestamps are'}",
                    parsed.fmt)
    naive = ~aware & ~nat
    if aware.any() and naive.any():
        rep.problems.append(
            f"{rep.table}.{name}: mixed time zones: {count_text(aware)} with a UTC offset "
            f"({rep.rows(aware)}, e.g. {examples(col, aware)}) and {count_text(naive)} without "
            f"({rep.rows(naive)}, e.g. {examples(col, naive)}); fix: write every timestamp with "
            f"its offset, or none (naive values are read in data.timezone = {tz!r})"
        )
    elif aware.any() and ptypes.is_string_dtype(col.dtype) and parsed.fmt not in NUMBER_FORMATS:
        _note_offsets(rep, name, col, aware, values, tz)
    if kind == "time" and tz != "UTC" and naive.any():
        values, overlap, gap = _localize(values, naive, tz)
        if overlap.any() or gap.any():
            said = [f"{count_text(m)} in {what} ({rep.rows(m)}, e.g. {examples(col, m)}) {done}"
                    for m, what, done in ((overlap, "an overlap, when clocks go back", "read as standard time"),
                                          (gap, "a gap, when clocks go forward", "moved to the first time after it"))
                    if m.any()]
            log.warning("%s.%s: local times that fall in a daylight-saving change of data.timezone = %r: %s; "
                        "fix: if these times are not in %s, set data.timezone to their zone, or write them "
                        "with their UTC offset", rep.table, name, tz, "; ".join(said), tz)
    if kind == "date":
        timed = ~nat & (values != values.astype("datetime64[D]"))
        if timed.any():
            rep.add(name, TIME_OF_DAY, timed, col)
    return pd.Series(values, index=col.index, name=name)


def _note_offsets(rep: Report, name: str, col: pd.Series, aware: np.ndarray, values: np.ndarray,
                  tz: str) -> None:
    """Say which UTC offsets the text times carry (each is converted to data.timezone, whichever it is).

    The two offsets of one zone's winter and summer time are expected: with
    ``data.timezone`` set, offsets that are that zone's at their time get an
    info line, and those that are not get a warning with their rows; without a
    zone, two offsets one hour apart get an info line. Anything else is a warning
    (times written in several zones: their days end at different hours).
    """
    written = _offset_minutes(col, aware)
    kinds, counts = np.unique(written, return_counts=True)
    if len(kinds) < 2:
        return
    listed = ", ".join(f"{_hhmm(int(k))}: {int(c):,}" for k, c in zip(kinds, counts, strict=True))
    head = (f"{rep.table}.{name}: timestamps carry {len(kinds)} UTC offsets ({listed}); each is converted to "
            f"{'UTC' if tz == 'UTC' else repr(tz) + ' time'}")
    if tz != "UTC":
        other = np.zeros(len(col), dtype=bool)
        other[np.flatnonzero(aware)] = written != _zone_minutes(values[aware], tz)
        if not other.any():
            log.info("%s (each is the offset of data.timezone = %r at its time)", head, tz)
        else:
            log.warning("%s; %s (%s, e.g. %s) are not the offset of data.timezone = %r at their time; fix: none "
                        "needed if those rows come from another zone, else check the offsets written there",
                        head, count_text(other), rep.rows(other), examples(col, other), tz)
    elif len(kinds) == 2 and kinds[1] - kinds[0] == 60:
        log.info("%s (one hour apart, as one zone's winter and summer time; set data.timezone to the zone "
                 "to have that checked)", head)
    else:
        log.warning("%s, and days (the features' windows, same-day purchases) are UTC days for all of "
                    "them; fix: none needed if the data come from several zones; if they are one zone's, set "
                    "data.timezone to it to have the offsets checked", head)


def _hhmm(minutes: int) -> str:
    if minutes == 0:
        return "Z"
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _add_unparseable(rep: Report, name: str, col: pd.Series, bad: np.ndarray, parsed: ParsedTimes) -> None:
    if parsed.given and parsed.fmt in NUMBER_FORMATS:
        rep.add(name, date_format_rule(parsed.fmt), bad, col,
                note=f"; read as {NUMBER_FORMATS[parsed.fmt]}, they are not numbers, or too far from today to be "
                     "times (epoch_seconds are about 1e9, epoch_milliseconds about 1e12, excel_serial 61 to 1e5)")
    elif parsed.given and parsed.fmt is not None:
        rep.add(name, date_format_rule(parsed.fmt), bad, col)
    elif parsed.fmt is not None:
        rep.add(name, UNPARSEABLE_TIME, bad, col,
                note=f", neither ISO 8601 nor the format {parsed.fmt!r} inferred from the other values")
    else:
        rep.add(name, UNPARSEABLE_TIME, bad, col, note=_number_hint(col, bad))


def _number_hint(col: pd.Series, bad: np.ndarray) -> str:
    """For unparseable times that are all numbers: which of :data:`NUMBER_FORMATS` their size suggests."""
    numbers = _as_numbers(col[bad])
    if np.isnan(numbers).any():
        return ""
    fmt = _number_kind(numbers)
    if fmt is not None:
        return (f"; they are numbers: if they are {NUMBER_FORMATS[fmt]}, set "
                f"read_options.date_format: {fmt}")
    return f"; they are numbers: for times written as numbers, read_options.date_format takes {list(NUMBER_FORMATS)}"


def _number_kind(numbers: np.ndarray) -> str | None:
    """The one of :data:`NUMBER_FORMATS` the size of all ``numbers`` (finite) suggests, else None."""
    lo, hi = float(numbers.min()), float(numbers.max())
    for fmt, (low, high) in (("epoch_seconds", (1e8, 1e10)), ("epoch_milliseconds", (1e11, 1e13)),
                             ("excel_serial", (61, 1e5))):
        if low <= lo and hi < high:
            return fmt
    return None


def _add_mixed_kinds(rep: Report, name: str, col: pd.Series, bad: np.ndarray, parsed: ParsedTimes,
                     dayfirst: bool | None, nullable: bool = False) -> np.ndarray:
    """A time column mixing text times and times written as numbers ('2024-01-05' and 45296, as a spreadsheet
    writes the cells it took for numbers): one problem naming both kinds with their rows, whose fix is for the
    whole column (a format for either kind refuses the other's rows) and, when ``read_options.date_format``
    gives the text's format, writes the times in it. Returns the unparseable rows it named (the numbers refused
    by a text format, or the text refused by a number format).

    A number for time 0 (:data:`~churnml.rules.EPOCH_NUMBERS`: 0, or 25569 among serial days) is no time
    written as a number but a placeholder, unless another time of the column is near 1970
    (:func:`~churnml.rules.near_epoch`): among text times it gets its own problem (``nullable``: the column may
    be empty); read with a number format it is a time at 1970-01-01, which the table's placeholder rule
    (:func:`~churnml.rules.epoch_rule`) names. Either way, each row is named once."""
    ok = ~np.isnat(parsed.values)
    named = np.zeros(len(col), dtype=bool)
    if not ok.any():
        return named
    numeric = _as_numbers(col)
    is_number = np.isfinite(numeric)
    number_format = parsed.given and parsed.fmt in NUMBER_FORMATS
    if number_format:
        texts = bad & ~is_number  # those written as a time (read as one without the format)
        texts[texts] = ~np.isnat(_parse_times(col[texts], None, dayfirst).values)
        numbers, named = ok & is_number, texts
        zero = numbers & (parsed.values == EPOCH.to_datetime64())
    else:
        numbers = named = bad & is_number
        texts = ok & ~is_number
        nonzero = numbers & (numeric != 0)
        serial = nonzero.any() and _number_kind(numeric[nonzero]) == "excel_serial"
        zero = numbers & ((numeric == 0) | (serial & (numeric == EPOCH_NUMBERS["excel_serial"])))
    if not (numbers.any() and texts.any()):
        return np.zeros(len(col), dtype=bool)
    if zero.any() and not near_epoch(parsed.values[ok & ~zero]):
        if not number_format:
            rep.add(name, epoch_number_rule(nullable), zero, col)
        numbers = numbers & ~zero
        if not numbers.any() and number_format:  # only placeholders: the text is the column's kind
            rep.add(name, date_format_rule(str(parsed.fmt)), texts, col,
                    note=f", written as text times, which are read without this format (the column's only numbers, "
                         f"{examples(col, zero)}, read as 1970-01-01, time 0)")
            return texts
        if not numbers.any():
            return named
    fmt = parsed.fmt if number_format else _number_kind(numeric[numbers])
    example = str(col[numbers].iloc[0]).strip()
    read_as = None
    if fmt is not None:
        at = pd.Timestamp(_parse_times(pd.Series([example]), fmt).values[0])
        read_as = (f"{at:%Y-%m-%d}" if at == at.normalize() else str(at)) + (" UTC" if fmt != "excel_serial" else "")
    text_format = parsed.fmt if parsed.given and not number_format and parsed.fmt not in ("ISO8601", "mixed") else None
    rep.add(name, mixed_times_rule(fmt, example, read_as, text_format), numbers, col,
            note=f" and {int(texts.sum()):,} written as text at {rep.rows(texts)} (e.g. {examples(col, texts)})")
    return named


# ----------------------------------------------------------------------------- ids
def _convert_id(rep: Report, name: str, col: pd.Series) -> pd.Series:
    """Canonical ids (:func:`canonical_ids`); one log line says how many changed by stripping, and one
    warns about ids stored as floats too large to hold every digit."""
    if ptypes.is_float_dtype(col.dtype):
        big = np.abs(col.to_numpy(dtype="float64", na_value=np.nan)) >= 2.0**53
        if big.any():
            log.warning("%s", float_ids_text(rep.table, name, int(big.sum()), id_text(col[big].head(1)).iloc[0]))
    return _stripped(rep, name, id_text(col), *STRIPPED_IDS)


def _convert_text(rep: Report, name: str, col: pd.Series) -> pd.Series:
    """Text stripped of surrounding white space, blank = missing, as ids are (one log line if it changed any):
    an export's ``'login '`` and ``'login'`` are one event type, ``' Pro'`` and ``'Pro'`` one plan."""
    return _stripped(rep, name, _as_text(col), *STRIPPED_VALUES)


def _stripped(rep: Report, name: str, text: pd.Series, noun: tuple[str, str], same: str) -> pd.Series:
    """``text`` by the id rule (:func:`canonical_ids`: stripped, blank = missing), with one log line saying
    how many values stripping changed (``noun``: one and many; ``same``: what values differing only by it are)."""
    out = canonical_ids(text)
    changed = (text.notna() & (text != "") & out.ne(text)).to_numpy(dtype=bool, na_value=False)
    if changed.any():
        shown = pd.DataFrame({"a": text[changed], "b": out[changed]}).drop_duplicates().head(SHOWN_EXAMPLES)
        log.warning("%s", stripped_text(rep.table, name, int(changed.sum()), list(zip(shown["a"], shown["b"],
                                                                                      strict=True)), noun, same))
    return out


def stripped_text(table: str, column: str, n: int, pairs: list[tuple[str, Any]], noun: tuple[str, str],
                  same: str) -> str:
    """The warning that stripping surrounding white space changed ``n`` values of ``table.column`` (both
    engines); ``pairs``: up to :data:`SHOWN_EXAMPLES` (as read, as kept: a non-text one is missing)."""
    shown = ", ".join(f"{a!r} -> {b!r}" if isinstance(b, str) else f"{a!r} -> missing" for a, b in pairs)
    return (f"{table}.{column}: stripped surrounding white space from {n} {noun[n != 1]} (e.g. {shown}); "
            f"{noun[1]} that differ only by it are {same}, blank ones are missing")


#: What :func:`stripped_text` calls the values of an id column and of another text column, and values
#: differing only by white space there.
STRIPPED_IDS: tuple[tuple[str, str], str] = (("id", "ids"), "one customer")
STRIPPED_VALUES: tuple[tuple[str, str], str] = (("value", "values"), "one")


_DECIMAL_COMMA = "; for a CSV file written with a decimal comma ('12,50'), set read_options: {decimal: ','}"
_THOUSANDS = "; for a CSV file written with thousands separators ('1,234,000'), set read_options: {thousands: ','}"


def _stray_dot(decimal: str) -> str:
    return (f"read_options give {decimal!r} as the decimal mark, so a '.' is neither it nor a thousands separator "
            "(is '1.250' 1.25 or 1250?): if the dots separate thousands, add read_options: {thousands: '.'}; "
            f"otherwise write these numbers with {decimal!r} for the decimals")


# -------------------------------------------------------------------- other kinds
def _to_float(text: pd.Series) -> pd.Series:
    """Text numbers as float64 (NaN where a value is not one): Arrow's cast when it reads every value (a tenth
    of pandas' time on 1M numbers), else pandas' ``to_numeric``, which reads what the cast refuses."""
    try:
        values = pc.cast(pa.array(text, type=pa.large_string(), from_pandas=True), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return pd.to_numeric(text, errors="coerce").astype("float64")
    return pd.Series(values.to_numpy(zero_copy_only=False), index=text.index, dtype="float64")


def _add_misplaced(rep: Report, name: str, col: pd.Series, text: pd.Series, misplaced: np.ndarray, thousands: str,
                   decimal: str) -> np.ndarray:
    """Name the rows ``misplaced`` whose ``thousands`` marks are out of place (:func:`misplaced_marks_rule`,
    ``text``: the values with the marks removed, :func:`~churnml.timeparse._number_text`), if any: in a number
    column or a time column written as numbers. Returns ``misplaced``."""
    if misplaced.any():
        rep.add(name, misplaced_marks_rule(thousands, decimal, col[misplaced].iloc[0], text[misplaced].iloc[0]),
                misplaced, col)
    return misplaced


def _convert_number(rep: Report, name: str, col: pd.Series, kind: str, decimal: str = ".",
                    thousands: str | None = None) -> pd.Series:
    stray = misplaced = np.zeros(len(col), dtype=bool)
    if ptypes.is_numeric_dtype(col.dtype) and not ptypes.is_bool_dtype(col.dtype):
        out = col.astype("float64")
    else:  # text the reader could not read as numbers (or, with thousands, was not asked to): the file's marks
        text, stray, misplaced = _number_text(col.astype("str").str.strip(), decimal, thousands)
        out = _to_float(text).mask(stray | misplaced)
        _add_misplaced(rep, name, col, text, misplaced, str(thousands), decimal)
    values = out.to_numpy()
    bad = ~np.isfinite(values) & ~missing_mask(col) & ~misplaced
    if bad.any():
        text = col[bad].astype("str")
        grouped = text.str.fullmatch(r"\s*[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?\s*")  # '1,234,000' ('10,500' too)
        comma = text.str.fullmatch(r"\s*[-+]?\d+,\d+\s*") & ~grouped  # '10,5': a decimal comma
        hints = ((_THOUSANDS if grouped.any() and not thousands else "")
                 + (_DECIMAL_COMMA if comma.any() and decimal == "." else ""))
        rule = replace(NON_NUMERIC, fix=NON_NUMERIC.fix + hints) if hints else NON_NUMERIC
        rep.add(name, replace(rule, fix=_stray_dot(decimal)) if stray[bad].any() else rule, bad, col)
    if kind != "int":
        return out
    fraction = np.isfinite(values) & (values != np.floor(values))
    if fraction.any():
        rep.add(name, NON_INTEGER, fraction, col)
        return out
    return out.astype("Int64") if np.isnan(values).any() else out.astype("int64")


def _convert_bool(rep: Report, name: str, col: pd.Series) -> pd.Series:
    if ptypes.is_bool_dtype(col.dtype):
        return col.astype("boolean")
    mapped = _as_text(col).str.strip().str.lower().map(BOOL_WORDS)
    bad = mapped.isna().to_numpy() & ~missing_mask(col)
    if bad.any():
        rep.add(name, NOT_BOOL, bad, col)
    return mapped.astype("boolean")


def convert_columns(rep: Report, spec: TableSpec, raw: pd.DataFrame, tz: str,
                    date_format: Mapping[str, str] | None = None,
                    dayfirst: bool | None = None, decimal: str = ".",
                    thousands: str | None = None) -> dict[str, pd.Series]:
    """The canonical value of each contract column of ``raw``; problems go to ``rep``.

    ``date_format`` maps time columns (canonical names) to the user's format, read
    strictly; ``dayfirst`` settles the order of day and month of inferred formats;
    ``decimal`` and ``thousands`` are the file's number format (the CSV read options),
    applied to numbers the reader left as text.
    """
    formats = dict(date_format or {})
    out: dict[str, pd.Series] = {}
    for c in spec.columns:
        if c.name not in raw.columns:
            continue
        col = raw[c.name]
        if c.kind in ("time", "date"):
            out[c.name] = _convert_time(rep, c.name, col, c.kind, tz, formats.get(c.name), dayfirst, decimal,
                                        thousands, c.nullable)
        elif c.kind == "id":
            out[c.name] = _convert_id(rep, c.name, col)
        elif c.kind in ("float", "int"):
            out[c.name] = _convert_number(rep, c.name, col, c.kind, decimal, thousands)
        elif c.kind == "bool":
            out[c.name] = _convert_bool(rep, c.name, col)
        else:
            out[c.name] = _convert_text(rep, c.name, col)
        missing = missing_mask(out[c.name] if c.kind in ("id", "str") else col)
        if not c.nullable and missing.any():
            rep.add(c.name, null_rule(c.name, c.kind), missing, None)
    return out
