"""The rule catalogue: the one wording of every row rule of the data contract.

A :class:`Rule` holds the noun of one rule (for one and for several
offending rows) and its fix; the constants and ``*_rule`` functions here are
the one place they are written. The pandas path (:mod:`churnml.coercion`,
:mod:`churnml.validation`) and the Spark path (:mod:`churnml.spark.validate`)
both take their messages from it, so the two say the same thing about the
same rows. Re-exported by :mod:`churnml.coercion`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from churnml.dateformat import NUMBER_FORMATS, day_first
from churnml.schema import SCORE_SCALES

__all__ = [
    "DATE_ORDER", "DUPLICATE_KEY", "DUPLICATE_ROW", "EPOCH", "EPOCH_ALONE", "EPOCH_NUMBERS", "FAR_TIME", "HUGE",
    "HUGE_NUMBER", "INVISIBLE", "NEGATIVE_AMOUNT", "NON_INTEGER", "NON_NEGATIVE", "NON_NUMERIC", "NOT_BOOL",
    "OPEN_END", "READ_OPTIONS_HINT", "SCORE_NOT_WHOLE", "SCORE_OUTSIDE_SCALE", "SHOWN_TWINS", "SPELLED_IDS",
    "SUMMED_EXACTLY", "TIME_OF_DAY", "TIME_RANGE", "UNKNOWN_SURVEY", "UNPARSEABLE_TIME", "Rule",
    "ambiguous_date_rule", "case_twins_text", "data_end_rule", "date_format_rule", "doubled_columns_text",
    "emptied_text", "empty_table_text", "epoch_number_rule", "epoch_rule", "epoch_times", "far_times",
    "float_ids_text", "fractional", "guess_column", "header_separator", "huge_numbers", "invisible_ids_text",
    "misplaced_marks_rule", "missing_columns_text", "mixed_times_rule", "near_epoch", "negative_rule",
    "no_rows_text", "null_rule", "order_rule", "returns_only_text", "scale_masks", "scale_text", "scores_shown",
]


@dataclass(frozen=True)
class Rule:
    """The wording of one row rule: its noun for one and for several offending rows, and its fix.

    A problem reads ``<table>.<column>: <count> <noun><detail>; fix: <fix>``,
    e.g. ``transactions.amount: 3 negative amounts at data rows 2, 8, 9 of
    tx.csv (e.g. -2.0); fix: ...``; the detail (rows, examples) is the
    caller's.

    Attributes
    ----------
    key : str
        Stable name of the rule, e.g. ``"negative_amount"``.
    one, many : str
        The noun after a count of 1 and after any other count.
    fix : str
        What the user should change, after ``fix:``.
    policy : str, optional
        The setting that may keep or drop the offending rows instead of
        raising (``data.returns``, ``data.duplicates``).
    """

    key: str
    one: str
    many: str
    fix: str
    policy: str | None = None

    def count(self, n: int) -> str:
        """``n`` with the noun, e.g. ``1 negative amount``, ``1,250 negative amounts``."""
        return f"{n:,} {self.one if n == 1 else self.many}"

    def problem(self, table: str, column: str | None, n: int, detail: str = "") -> str:
        """The message for ``n`` offending rows; ``column`` None means whole rows."""
        where = f"{table}.{column}" if column else f"{table} (whole rows)"
        return f"{where}: {self.count(n)}{detail}; fix: {self.fix}"

    @property
    def dropped(self) -> str:
        """What a drop under the rule's policy logs, e.g. ``negative amounts (data.returns = drop)``."""
        return f"{self.many} ({self.policy} = drop)"


#: The times churnml takes as data: from 1900 to 2199. Outside them a time is an export's placeholder
#: (``9999-12-31``, ``0001-01-01``), which would pass as a purchase 8,000 years ahead (metrics then build
#: periods up to it). The :data:`OPEN_END` columns may be far ahead: "not yet", as an empty cell is.
TIME_RANGE = (pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01"))
#: Times whose far-future placeholder means "not yet" (an open subscription, an unresolved ticket, no
#: cancellation request): only the lower bound of :data:`TIME_RANGE` applies to them.
OPEN_END = {("subscriptions", "end"), ("subscriptions", "cancel_requested_at"), ("tickets", "resolved_at")}
FAR_TIME = Rule("far_time", "time outside the years 1900-2199", "times outside the years 1900-2199",
                "a placeholder date such as 9999-12-31 or 0001-01-01 (or a spreadsheet's 1899-12-30) is not a "
                "time: correct those rows, leave the cell empty where the column may be empty, or remove them")


#: The size from which an amount or MRR is refused: churnml adds them exactly, to 6 decimals, in a
#: decimal of 38 digits (:data:`churnml.engine.EXACT`), so a value of 1e32 could not even be read
#: into it, and sums of values below 1e20 cannot overflow it. Other numbers are not summed so.
HUGE = 1e20
HUGE_NUMBER = Rule("huge_number", "amount of 1e20 or more in size", "amounts of 1e20 or more in size",
                   "churnml adds amounts exactly (to 6 decimals, 38 digits in all), and no amount is this large: "
                   "correct those rows (a misplaced decimal mark? an id or a date in this column?)")
#: Per table, the columns churnml adds exactly (the features' money, the labels' MRR), which :data:`HUGE` bounds.
SUMMED_EXACTLY: dict[str, tuple[str, ...]] = {"transactions": ("amount",), "subscriptions": ("mrr",)}


def huge_numbers(values: pd.Series) -> np.ndarray:
    """The rows of a numeric column whose value is finite and at least :data:`HUGE` in size."""
    v = values.to_numpy(dtype="float64", na_value=np.nan)
    return np.isfinite(v) & (np.abs(v) >= HUGE)


def far_times(table: str, column: str, local: pd.Series) -> np.ndarray:
    """The rows of a time column (local times) outside :data:`TIME_RANGE` (an :data:`OPEN_END`: before it)."""
    low, high = TIME_RANGE
    far = (local < low) if (table, column) in OPEN_END else (local < low) | (local >= high)
    return far.to_numpy(dtype=bool, na_value=False)


#: 1970-01-01 00:00, the Unix epoch: the time 0 an export writes for an unknown time (an epoch of 0, or a date
#: column's zero value), which would pass as a purchase in 1970 (cutoffs, windows and KPI periods from 1970).
EPOCH = pd.Timestamp("1970-01-01")
#: A time at :data:`EPOCH` is taken for a placeholder when no other time of its table is within this of it; a
#: business with a history around 1970 has its real times there.
EPOCH_ALONE = pd.Timedelta(days=365)


def epoch_times(utc: dict[str, pd.Series], local: dict[str, pd.Series]) -> dict[str, np.ndarray]:
    """Per time column of a table, its rows at :data:`EPOCH` (as an instant, ``utc``, or as a local time,
    ``local``: a naive '1970-01-01' read in data.timezone) when no other time of the table is within
    :data:`EPOCH_ALONE` of it: an export's placeholder. Empty when none (two comparisons per column)."""
    zero = EPOCH.to_datetime64()
    at = {c: (_values(utc[c]) == zero) | (_values(local[c]) == zero) for c in local}  # NaT equals nothing
    if not any(m.any() for m in at.values()):
        return {}
    if any(near_epoch(_values(times)[~at[c]]) for c, times in local.items()):
        return {}
    return {c: m for c, m in at.items() if m.any()}


def near_epoch(times: np.ndarray) -> bool:
    """Whether a time of ``times`` (datetime64) is within :data:`EPOCH_ALONE` of :data:`EPOCH`: then a time 0
    beside them is taken for a real time, not a placeholder."""
    return bool((np.abs(times - EPOCH.to_datetime64()) < EPOCH_ALONE.to_timedelta64()).any())


def _values(times: pd.Series) -> np.ndarray:
    """A time column's datetime64 values (zero copy for a canonical column)."""
    return times.to_numpy(dtype="datetime64[us]")


#: The placeholder rules' other fix in a column that may be empty.
_EMPTY_CELLS = ", or leave those cells empty (the column may be empty)"


def epoch_rule(nullable: bool) -> Rule:
    """Times at :data:`EPOCH` far from the table's other times (:func:`epoch_times`); ``nullable``: the column
    may be empty, so an empty cell is the fix too."""
    empty = _EMPTY_CELLS if nullable else ""
    what = "1970-01-01 00:00 (the Unix epoch, time 0; no other time of the table within a year)"
    return Rule("epoch_time", f"placeholder time {what}", f"placeholder times {what}",
                "such a time is an export's placeholder for an unknown time, and read as a time it puts cutoffs, "
                "windows and KPI periods in 1970: write the real times (or the earliest known, e.g. when the "
                f"record was migrated), or remove those rows{empty}; if they are real times of "
                "1 January 1970, give the table's history around them too (a time 0 is taken for real when "
                "another time of the table is within a year of it)")


#: The numbers that stand for time 0 (1970-01-01 00:00) among text times: the epoch's 0 and the spreadsheet's
#: serial day of 1970-01-01 (:func:`epoch_number_rule`).
EPOCH_NUMBERS = {"epoch_seconds": 0.0, "epoch_milliseconds": 0.0, "excel_serial": 25569.0}


def epoch_number_rule(nullable: bool) -> Rule:
    """Numbers for time 0 (:data:`EPOCH_NUMBERS`) among text times: an export's placeholder for an unknown time
    (as :func:`epoch_rule` calls a time at :data:`EPOCH`), not a time written as a number; ``nullable``: the
    column may be empty, so an empty cell is the fix too."""
    empty = _EMPTY_CELLS if nullable else ""
    what = "written as a number (time 0: 1970-01-01 00:00)"
    return Rule("epoch_number", f"placeholder for an unknown time {what}",
                f"placeholders for an unknown time {what}",
                "a 0 (or 25569, a spreadsheet's serial day of 1970-01-01) in a column of text times is an export's "
                "placeholder for an unknown time, not a time, and read as a time it would put cutoffs, windows and "
                "KPI periods in 1970: write the real times as the other rows are written (or the earliest known, "
                f"e.g. when the record was migrated), or remove those rows{empty}")


UNPARSEABLE_TIME = Rule(
    "unparseable_time", "unparseable timestamp", "unparseable timestamps",
    "write ISO 8601 ('2024-03-01', '2024-03-01 10:00:00' or '2024-03-01T10:00:00+02:00'), "
    "or give the format as read_options.date_format")


def date_format_rule(fmt: str) -> Rule:
    """Text timestamps that do not match the user's ``read_options.date_format`` ``fmt``."""
    return Rule("not_in_date_format", f"timestamp not in read_options.date_format {fmt!r}",
                f"timestamps not in read_options.date_format {fmt!r}",
                "correct those values, or change read_options.date_format (strftime codes such as "
                "'%d.%m.%Y %H:%M', a mapping column -> format, or 'ISO8601')")


def mixed_times_rule(fmt: str | None, example: str, read_as: str | None, text_format: str | None = None) -> Rule:
    """Times written as numbers in a column of text times (or text times among numbers read with a number
    format): one ``read_options.date_format`` reads one kind, so the fix is for the whole column. ``fmt``: the
    number format their size suggests (None: none); ``example``, ``read_as``: one number and its time in it;
    ``text_format``: the strftime format ``read_options.date_format`` gives the text times, which the fix then
    writes them in (else ISO 8601)."""
    seen = f" ({example!r} read with {fmt} is {read_as})" if fmt is not None else ""
    sample = repr(pd.Timestamp("2024-03-01 10:00:00").strftime(text_format or "%Y-%m-%d %H:%M:%S"))
    text = ("as text (ISO 8601, e.g. '2024-03-01 10:00:00')" if text_format is None else
            f"as text in read_options.date_format {text_format!r} (e.g. {sample})")
    one = (f"every time {text}" if fmt is None else
           f"every time {text}, or every time as {NUMBER_FORMATS[fmt]}{seen} with read_options.date_format: {fmt}")
    if fmt == "excel_serial":
        form = ("yyyy-mm-dd, or with the time" if text_format is None else
                f"as read_options.date_format {text_format!r} reads them, e.g. {sample}")
        one = (f"format its cells as dates ({form}) in the spreadsheet before saving the "
               f"CSV, so that every cell is written as a date{seen}, or convert the text dates to serial days and "
               "set read_options.date_format: excel_serial")
    return Rule("mixed_times", "time written as a number", "times written as numbers",
                "one read_options.date_format reads one of the two kinds and refuses the other (a number format "
                f"the text, a text format the numbers), so write the whole column one way: {one}")


def ambiguous_date_rule(fmt: str, other: str) -> Rule:
    """Text dates that read differently day-first and month-first (``fmt`` and ``other``), no value
    having a day above 12 to settle the order."""
    first, second = (fmt, other) if day_first(fmt) else (other, fmt)
    return Rule("ambiguous_date", "date that reads differently day-first and month-first",
                "dates that read differently day-first and month-first",
                f"no day above 12 settles the order of day and month: set read_options.date_format to "
                f"{first!r} (day first) or {second!r} (month first), or read_options.dayfirst to true "
                "or false")


TIME_OF_DAY = Rule("time_of_day", "value with a time of day", "values with a time of day",
                   "give dates only (the first day of the period, e.g. '2024-03-01')")
NON_NUMERIC = Rule("non_numeric", "non-numeric value", "non-numeric values",
                   "write plain numbers ('12.50': a dot for decimals, no currency sign or thousands separator)")


def misplaced_marks_rule(thousands: str, decimal: str, example: str, read_as: str) -> Rule:
    """Text numbers whose ``thousands`` marks (``read_options.thousands``) do not separate groups of three
    digits (nor pairs before a last three, as India groups them); ``example``: one as written, ``read_as``:
    what removing the marks would have made of it."""
    noun = f"thousands separators (read_options.thousands {thousands!r}) not between groups of three digits"
    other = "'.'" if thousands == "," else "','"
    return Rule("misplaced_thousands", f"number with {noun}", f"numbers with {noun}",
                f"read with the separators removed they would be other numbers ({example.strip()!r} as "
                f"{read_as}), so they are not read: if {thousands!r} is the decimal mark in this file, set "
                f"read_options.decimal to {thousands!r} and read_options.thousands to {other} or leave it out; "
                f"otherwise correct those values (1234{decimal}5 is written '1{thousands}234{decimal}5', and "
                f"India's grouping '1{thousands}23{thousands}456{decimal}5' is read too)")


NON_INTEGER = Rule("non_integer", "non-integer count", "non-integer counts", "write whole numbers")
NOT_BOOL = Rule("not_bool", "value that is not true/false", "values that are not true/false",
                "write true/false, yes/no or 1/0")
NEGATIVE_AMOUNT = Rule("negative_amount", "negative amount", "negative amounts",
                       "if they are returns, set data.returns (in Python: returns=) to 'keep' (the KPI revenue "
                       "is net of them, the returns features count them) or 'drop'; otherwise correct them",
                       "data.returns")
DUPLICATE_ROW = Rule("duplicate_row", "duplicate row", "duplicate rows",
                     "if they are real repeat events, set data.duplicates (in Python: duplicates=) to 'keep'; "
                     "else 'drop'",
                     "data.duplicates")
DUPLICATE_KEY = Rule("duplicate_key", "duplicate row", "duplicate rows",
                     "each customer may appear once: merge or remove the repeats, or set data.duplicates to "
                     "'drop' to keep the first of each customer's rows ('keep' cannot apply to a table of one row "
                     "per customer)", "data.duplicates")


#: Per table, the numbers that cannot be negative, with what they count (a return is a negative transaction amount,
#: under ``data.returns``; these have no such meaning, and a metric that adds them would be wrong).
NON_NEGATIVE: dict[str, dict[str, str]] = {
    "subscriptions": {"mrr": "monthly recurring revenue"},
    "marketing_spend": {"spend": "money spent", "new_customers": "customers acquired"},
    "loyalty": {"points_issued": "points issued", "points_redeemed": "points redeemed"},
}


def negative_rule(table: str, column: str) -> Rule:
    """A negative value in one of the :data:`NON_NEGATIVE` columns."""
    return Rule("negative", f"negative {column} value", f"negative {column} values",
                f"correct them: {column} is {NON_NEGATIVE[table][column]}, 0 or more (a credit or refund is "
                "not a negative value here)")


def scale_text() -> str:
    """The survey score scales as text for messages, e.g. ``nps 0-10, csat 1-5, ces 1-7``."""
    return ", ".join(f"{k} {lo:g}-{hi:g}" for k, (lo, hi) in SCORE_SCALES.items())


def scale_masks(survey: pd.Series, score: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose survey type is not one of :data:`~churnml.schema.SCORE_SCALES` (missing types are not), and
    rows whose score is outside its type's scale. Through the distinct types (a few): a map over millions of
    Arrow strings took over a second. Shared by :mod:`churnml.validation` and :mod:`churnml.sources`."""
    codes, kinds = pd.factorize(survey)
    scales = [SCORE_SCALES.get(str(k), (np.nan, np.nan)) for k in kinds] + [(np.nan, np.nan)]  # code -1: missing
    known = np.array([str(k) in SCORE_SCALES for k in kinds] + [True])
    low = np.array([s[0] for s in scales], dtype="float64")[codes]
    high = np.array([s[1] for s in scales], dtype="float64")[codes]
    values = score.to_numpy(dtype="float64", na_value=np.nan)
    return ~known[codes], (values < low) | (values > high)


UNKNOWN_SURVEY = Rule("unknown_survey", "unknown survey type", "unknown survey types",
                      f"use one of {sorted(SCORE_SCALES)} (scales {scale_text()}), or map your tool's names to them "
                      "with data.tables.surveys.values, e.g. {survey: {'Net Promoter Score': nps}}")


def scores_shown(survey: pd.Series, score: pd.Series) -> pd.Series:
    """``'nps 6.5'``: how a problem with a survey score shows the answer (a missing survey type as '')."""
    return survey.astype("object").fillna("").astype("str") + " " + score.astype("str")


def fractional(score: pd.Series) -> np.ndarray:
    """Scores that are numbers but not whole points (NaN and missing are not)."""
    values = score.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values != np.floor(values))


SCORE_NOT_WHOLE = Rule("score_not_whole", "score that is not a whole point", "scores that are not whole points",
                       "give each answer as the point the customer chose (an NPS of 6.5 is neither a detractor's "
                       "nor a passive's); if these are averages of several answers, give the answers instead")
SCORE_OUTSIDE_SCALE = Rule("score_outside_scale", "score outside its survey's scale",
                           "scores outside their survey's scale",
                           f"keep each score within its scale ({scale_text()}) or fix the survey type")


def null_rule(column: str, kind: str) -> Rule:
    """Nulls (or ``''``) in a required column; ``kind`` is the column's ``ColumnSpec.kind``."""
    noun = "customer id" if kind == "id" else f"{column} value"
    words = ("; in a CSV file 'NA', 'NULL', 'None' and the like are missing too: if such a value is real, set "
             "read_options: {keep_default_na: false, na_values: ['']}") if kind in ("id", "str") else ""
    return Rule("null", f"null {noun}", f"null {noun}s",
                f"fill in {column} or remove those rows (it is required in every row){words}")


DATE_ORDER = {"subscriptions": ("start", "end"), "tickets": ("opened_at", "resolved_at")}
"""Per table, the columns ``(first, last)`` of one row where ``last`` may not be before ``first``."""


def order_rule(first: str, last: str) -> Rule:
    """``last`` before ``first`` in one row (a subscription's end before its start, see ``DATE_ORDER``)."""
    return Rule("order", f"{last} before {first}", f"{last}s before {first}",
                f"correct the dates: {last} must be at or after {first}")


def data_end_rule(end: pd.Timestamp, tz: str = "UTC") -> Rule:
    """Rows at or after ``data.end`` (``end``: a naive wall-clock time of zone ``tz``, exclusive)."""
    return Rule("after_data_end", "row dated at or after data.end", "rows dated at or after data.end",
                f"data.end ({end}, {tz}) is exclusive: remove those rows or set data.end later")


def doubled_columns_text(table: str, names: list[str]) -> str:
    """The problem of columns that appear more than once."""
    return (f"{table}: column(s) {names} appear more than once; fix: keep one of each "
            f"(check data.tables.{table}.columns for two names mapped to one column)")


def emptied_text(table: str, of: str) -> str:
    """The message of a table left without rows by ``drop``; ``of`` is ``' (source)'`` or ``''``."""
    return f"table '{table}'{of} has no rows left after dropping returns and duplicates"


# Words that often name a canonical column in a user's file (for the mapping example of a missing column).
_HINTS = {
    "customer_id": ("customer", "cust", "client", "user", "account", "member"),
    "timestamp": ("date", "time", "ts", "created", "day"),
    "amount": ("amount", "value", "price", "revenue", "total", "spend", "sales"),
}


def guess_column(canonical: str, found: list[str]) -> str:
    """The first of ``found`` that looks like ``canonical`` (by :data:`_HINTS`), else ``<your column>``."""
    hints = _HINTS.get(canonical, (canonical.split("_")[0],))
    for name in found:
        if any(h in name.lower() for h in hints):
            return name
    return "<your column>"


def header_separator(found: list[Any]) -> str | None:
    """The separator a header read as one column holds (``'a;b;c'``: ``';'``), else None."""
    if len(found) != 1:
        return None
    return next((s for s in (";", "\t", "|", ",") if s in str(found[0])), None)


def separator_hint(table: str, found: list[Any]) -> str:
    """When the header was read as one column holding a separator (``'a;b;c'``): the fix, else ``''``."""
    sep = header_separator(found)
    if sep is None:
        return ""
    return (f"the header was read as one column, so the file is separated by {sep!r}, not by the separator "
            f"read; fix: set data.tables.{table}.read_options: {{sep: {sep!r}}} (in Python: read_table's "
            f"read_options={{'sep': {sep!r}}})")


#: Said when a ``--data`` folder's file needs a read option (``churnml.io.folder_schema_error``): none can be set.
READ_OPTIONS_HINT = ("--data reads its files with the default read options, so read_options cannot be set for "
                     "them: convert the file as the fix says (UTF-8 text, ISO 8601 dates such as 2024-01-31, "
                     "commas between fields), or leave --data out and give the file under data.tables in a "
                     "--config, with data.tables.<table>.read_options set")
#: The mapping fix of :func:`missing_columns_text` as a ``--data`` folder reads it: its files' own column names.
FOLDER_COLUMNS_FIX = ("with --data the files are read with their own column names (data.tables.* does not apply), "
                      "so rename the columns in the file, or leave --data out and give the files under data.tables "
                      "in a --config, with their columns mapped")


def missing_columns_text(table: str, absent: list[str], found: list[str],
                         given: Literal["file", "frame", "spark"] = "file") -> str:
    """The problem of required columns absent from a table, with a mapping example (both engines).

    ``given``: how the table came: a file read by churnml (``data.tables`` maps its columns, or
    :func:`churnml.io.read_table`'s ``columns=``), a DataFrame given to ``read_table`` (its
    ``columns=``), or a Spark table (``data.tables`` when churnml read it).
    """
    sep = separator_hint(table, found)
    if sep:
        return f"{table}: missing required column(s) {absent}; found columns {found}: {sep}"
    if given == "frame":
        mapping = ", ".join(f"{c!r}: {guess_column(c, found)!r}" for c in absent)
        return (f"{table}: missing required column(s) {absent}; found columns {found}; fix: rename them in the "
                f"DataFrame or map them with read_table's columns=, e.g. columns={{{mapping}}}")
    mapping = ", ".join(f"{c}: {guess_column(c, found)}" for c in absent)
    python = " (in Python: read_table's columns=)" if given == "file" else ""
    return (f"{table}: missing required column(s) {absent}; found columns {found}; fix: rename "
            f"them in the file or map them in data.tables.{table}.columns{python}, e.g. {{{mapping}}}")


def no_rows_text(table: str, of: str) -> str:
    """The message of a transactions table given without rows; ``of`` is ``' (source)'`` or ``''`` (both
    engines). Other tables may have none (:func:`empty_table_text`)."""
    return f"table '{table}'{of} has no rows; it needs at least one (check the file and its read_options)"


def empty_table_text(table: str, of: str) -> str:
    """The warning about an optional table given with columns and no rows (both engines): it is kept, empty."""
    return (f"table '{table}'{of} has no rows: it is taken as given and empty (no customer has any, so its "
            "features are their no-row values and its KPIs 0 or n/a); if this data is not recorded, leave the "
            "table out instead")


def returns_only_text(of: str, rows: int) -> str:
    """The warning about a transactions table whose every row is a return (both engines)."""
    return (f"transactions{of}: every one of its {rows} rows is a return (negative amount), so nobody has "
            "bought: no customer is at risk and the KPIs have no purchase to count. Check the amounts' "
            "sign (are purchases written negative?)")


def float_ids_text(table: str, column: str, rows: int, example: str) -> str:
    """The warning about ids stored as floats too large to hold every digit (both engines)."""
    stored = "ids are stored as floating-point numbers" if rows != 1 else "id is stored as a floating-point number"
    return (f"{table}.{column}: {rows} {stored} of 2^53 (9,007,199,254,740,992) or "
            "more, which cannot hold every digit: two ids may have become one and an id may read as one that does "
            f"not exist (e.g. {example}). Fix: store the ids as text in the file")


#: Examples shown by the id-spelling warnings (groups of twins, or ids).
SHOWN_TWINS = 3

#: The tables whose distinct ids :func:`churnml.io.warn_id_spellings` looks at: those that say who the
#: customers are (the others' ids are looked up in the transactions by ``warn_unmatched_ids``).
SPELLED_IDS = ("transactions", "customers")

#: Characters that do not show when an id is printed: control characters (Unicode's Cc: NUL, tab, ...), format
#: characters (Cf: the soft hyphen, zero-width spaces and joiners, direction marks and isolates, the byte-order
#: mark) and the line and paragraph separators. A regular expression both RE2 (pyarrow) and Java (Spark) read.
INVISIBLE = r"[\p{Cc}\p{Cf}\x{2028}\x{2029}]"


def case_twins_text(table: str, ids: int, shown: list[list[str]], differ: str = "upper and lower case") -> str:
    """The warning about distinct ids of one table equal but for upper and lower case (both engines), or but
    for ``differ``: ``leading zeros`` (ids of digits, both engines); ``ids``: how many ids have such a twin,
    ``shown``: a few groups of them."""
    groups = "; ".join(" and ".join(repr(i) for i in group) for group in shown)
    zeros = (" (as text, with the same zeros: a spreadsheet drops them from ids it reads as numbers)"
             if differ == "leading zeros" else "")
    return (f"{table}.customer_id: {ids} ids differ from another only by {differ} (e.g. {groups}); "
            "ids are compared as written, so each spelling is a customer of its own. If they are one customer, "
            f"write their ids the same way in the file{zeros}")


def invisible_ids_text(table: str, ids: int, shown: list[str]) -> str:
    """The warning about ids holding characters that do not show when printed (both engines)."""
    return (f"{table}.customer_id: {ids} {'ids hold' if ids != 1 else 'id holds'} characters that do not show "
            "when printed (control or "
            f"zero-width characters, e.g. {', '.join(repr(i) for i in shown)}); ids are compared as written, so "
            "such an id is not the same customer as the id without them. Fix: remove them in the file")
