"""The data contract's cheap checks on tables that DuckDB reads in place.

A :class:`~churnml.engine.ParquetSource` is not validated like a frame read
with :func:`churnml.io.read_table`: nothing is mapped, parsed or repaired.
Its rows still decide features and labels, and some bad values would change
them without a word: in DuckDB a NaN amount is ``>= 0`` (a purchase that
makes the sums NaN), a NULL time is never before a cutoff (the row drops
out), a NULL id makes a customer of its own, and a time column with a zone
is compared in the session's zone. :func:`check_sources` therefore refuses,
before any feature or label is computed:

* a column whose type does not fit its kind in :mod:`churnml.schema`
  (ids and text as VARCHAR, times as a TIMESTAMP without zone, numbers
  numeric, flags BOOLEAN);
* a NULL in a column the contract requires (the required and not-nullable
  ones), and a NaN or infinite value in a required number column;
* in a table with one row per customer (``customers``, ``loyalty``: the
  key of :mod:`churnml.schema`), a key on several rows, which would repeat
  that customer's feature rows.

It reads the Parquet footers for the types and, for the values, one scan of
the columns checked: at 52M transactions the amounts' NaN test took 0.1 to
0.3 s and the NULL counts 0.02 s (the footers' statistics). A column that
passed is not scanned again while its files are unchanged (same size and
modification time), so the labels, the population, the plan and the
features share one check. The error names the table, the column, the count,
the first rows (file and row number) and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from churnml.engine import ParquetSource, TableSource, connect, quote_name, quote_string
from churnml.errors import SchemaError
from churnml.rules import (
    EPOCH,
    EPOCH_ALONE,
    FAR_TIME,
    HUGE,
    HUGE_NUMBER,
    NON_NEGATIVE,
    OPEN_END,
    SUMMED_EXACTLY,
    TIME_RANGE,
    epoch_rule,
    epoch_times,
    far_times,
    fractional,
    huge_numbers,
    scale_masks,
    scale_text,
    scores_shown,
)
from churnml.schema import SCORE_SCALES, STAND_IN, TABLE_SPECS, ColumnSpec

__all__ = ["READ_COLUMNS", "STAND_IN", "check_frame", "check_frame_as_read", "check_sources", "frame_problems", "select"]

#: DuckDB types a column of each kind may have (DuckDB's type name before any '(', as DECIMAL(18,2)).
_KIND_TYPES: dict[str, tuple[str, ...]] = {
    "id": ("VARCHAR",),
    "str": ("VARCHAR",),
    "time": ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE"),
    "date": ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE"),
    "float": ("DOUBLE", "FLOAT", "DECIMAL", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
              "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"),
    "int": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"),
    "bool": ("BOOLEAN",),
}
_KIND_WORDS = {
    "id": "text (VARCHAR)",
    "str": "text (VARCHAR)",
    "time": "a TIMESTAMP without time zone, in data.timezone's local time",
    "date": "a DATE or a TIMESTAMP without time zone",
    "float": "a number",
    "int": "an integer",
    "bool": "a BOOLEAN",
}
_SHOWN = 5
#: Of these tables churnml reads only these columns (features and labels); the others are not checked.
READ_COLUMNS: dict[str, tuple[str, ...]] = {"transactions": ("customer_id", "timestamp", "amount")}
_ZONE_FIX = " (convert the times to that zone and drop it, as pandas' tz_convert(zone).tz_localize(None) does)"
_FIX_ROWS = (
    "a ParquetSource is read without validation, so its files must already be canonical. Fix: mend or drop "
    "these rows in the file, or read the table with churnml.io.read_table, which validates and reports them "
    "(a folder of files: read_table(table, folder); other sets of files: read_table(table, "
    "pandas.read_parquet(files)))"
)
_FIX_TYPE = (
    "a ParquetSource is read without validation, so its files must already be canonical. Fix: write the "
    "column with that type (as churnml.io.write_frame writes a validated frame), or read the table with "
    "churnml.io.read_table, which converts and validates it (a folder of files: read_table(table, folder); other "
    "sets of files: read_table(table, pandas.read_parquet(files)))"
)

# (table, column, files with their size and modification time) of the columns that passed.
_passed: set[tuple[str, str, tuple[tuple[str, int, int], ...]]] = set()


def files_state(con: duckdb.DuckDBPyConnection, source: ParquetSource | Sequence[str]
                ) -> tuple[tuple[str, int, int], ...] | None:
    """Each file of ``source`` (or of these paths and patterns) with its size and modification time; None when
    one cannot be seen.

    Patterns are expanded by DuckDB's own ``glob``, so the files are the ones
    DuckDB reads (``**`` included).
    """
    out: list[tuple[str, int, int]] = []
    # a folder is its data files (ParquetSource's expansion)
    for pattern in (source if isinstance(source, ParquetSource) else ParquetSource(list(source)))._paths():
        names = [str(r[0]) for r in con.execute("SELECT file FROM glob(?) ORDER BY file", [pattern]).fetchall()]
        if not names:
            return None
        for name in names:
            try:
                st = os.stat(name)
            except OSError:
                return None
            out.append((os.path.abspath(name), st.st_size, st.st_mtime_ns))
    return tuple(out)


def _type_fits(kind: str, duck_type: str) -> bool:
    """Whether DuckDB's type fits the kind; ``DECIMAL(18,2)`` counts as DECIMAL, a zoned TIMESTAMP fits nothing."""
    return duck_type.upper().split("(")[0].strip() in _KIND_TYPES[kind]


def _zoned(duck_type: str) -> bool:
    return "TIME ZONE" in duck_type.upper() or duck_type.upper().startswith("TIMESTAMPTZ")


def _bad_value_sql(col: ColumnSpec, nulls: bool = True) -> str:
    """The SQL condition of a bad value: NULL (unless the footers rule it out), NaN or infinite for numbers."""
    name = quote_name(col.name)
    terms = [f"{name} IS NULL"] if nulls else []
    if col.kind == "float":
        terms.append(f"NOT isfinite(CAST({name} AS DOUBLE))")
    return "(" + " OR ".join(terms) + ")" if terms else ""


def _null_free(con: duckdb.DuckDBPyConnection, source: ParquetSource, names: list[str]) -> set[str]:
    """The columns whose every row group's footer statistics count zero NULLs (nothing to scan for them)."""
    wanted = ", ".join(quote_string(n) for n in names)
    rows = con.execute(
        f"SELECT path_in_schema, SUM(stats_null_count), COUNT_IF(stats_null_count IS NULL) "
        f"FROM parquet_metadata({source.files_sql()}) WHERE path_in_schema IN ({wanted}) GROUP BY path_in_schema"
    ).fetchall()
    return {str(r[0]) for r in rows if r[1] == 0 and r[2] == 0}


def _value_problems(
    con: duckdb.DuckDBPyConnection,
    view: str,
    source: ParquetSource,
    todo: list[ColumnSpec],
    state: tuple[tuple[str, int, int], ...] | None,
    table: str,
    where: str,
) -> list[str]:
    """NULLs in required columns and non-finite required numbers: footers first, one scan for the rest."""
    free = _null_free(con, source, [c.name for c in todo])
    conds = {c.name: _bad_value_sql(c, nulls=c.name not in free) for c in todo}
    scanned = [c for c in todo if conds[c.name]]
    counts = (
        con.execute("SELECT " + ", ".join(f"COUNT_IF({conds[c.name]})" for c in scanned) + f" FROM {view}").fetchone()
        if scanned else ()
    ) or ()
    bad = dict(zip([c.name for c in scanned], counts, strict=True))
    problems: list[str] = []
    for col in todo:
        n = int(bad.get(col.name) or 0)
        if not n:
            if state is not None:
                _passed.add((table, col.name, state))
            continue
        what = "missing (NULL) or not finite (NaN, inf)" if col.kind == "float" else "missing (NULL)"
        shown = _examples(con, source, _bad_value_sql(col), col.name)
        problems.append(
            f"column '{col.name}' {where}: {n:,} row{'s' if n != 1 else ''} "
            f"{'are' if n != 1 else 'is'} {what}, e.g. {shown}; {_FIX_ROWS}"
        )
    return problems


def _bound_sql(table: str, col: ColumnSpec) -> str:
    """The SQL condition of a value outside the contract's bounds (a far time, a huge amount), or ''."""
    name = quote_name(col.name)
    if col.kind in ("time", "date"):
        low, high = (f"TIMESTAMP '{t}'" for t in TIME_RANGE)
        return f"({name} < {low})" if (table, col.name) in OPEN_END else f"({name} < {low} OR {name} >= {high})"
    if col.name in SUMMED_EXACTLY.get(table, ()):
        return f"(ABS(CAST({name} AS DOUBLE)) >= {HUGE!r} AND isfinite(CAST({name} AS DOUBLE)))"
    return ""


def _edges(con: duckdb.DuckDBPyConnection, view: str, names: list[str]) -> dict[str, tuple[Any, Any]]:
    """MIN and MAX of each column ``names`` in one query (DuckDB answers them from the footers' statistics
    where the writer kept them), for the bound and placeholder checks."""
    if not names:
        return {}
    row = con.execute("SELECT " + ", ".join(f"MIN({quote_name(n)}), MAX({quote_name(n)})" for n in names)
                      + f" FROM {view}").fetchone() or (None,) * (2 * len(names))
    return {n: (row[2 * i], row[2 * i + 1]) for i, n in enumerate(names)}


def _bound_problems(con: duckdb.DuckDBPyConnection, view: str, source: ParquetSource, table: str,
                    cols: list[ColumnSpec], where: str, edges: dict[str, tuple[Any, Any]]) -> list[str]:
    """Far times and huge amounts (:data:`~churnml.rules.FAR_TIME`, :data:`~churnml.rules.HUGE_NUMBER`): the
    columns' ``edges`` (:func:`_edges`) first, the rows only when a bound is crossed."""
    conds = {c.name: cond for c in cols if (cond := _bound_sql(table, c))}
    kinds = {c.name: c.kind for c in cols}
    problems = []
    for name, cond in conds.items():
        low, high = edges[name]
        if low is None:
            continue
        timed = kinds[name] in ("time", "date")
        if timed:
            first, stop = TIME_RANGE
            inside = pd.Timestamp(low) >= first and ((table, name) in OPEN_END or pd.Timestamp(high) < stop)
        else:
            edges_ok = np.isfinite([float(low), float(high)]).all()  # DuckDB sorts NaN last: then count
            inside = bool(edges_ok) and max(abs(float(low)), abs(float(high))) < HUGE
        if inside:
            continue  # both edges inside the bounds: every value is
        n = int((con.execute(f"SELECT COUNT_IF({cond}) FROM {view}").fetchone() or (0,))[0])
        if not n:
            continue
        rule = FAR_TIME if timed else HUGE_NUMBER
        problems.append(f"column '{name}' {where}: {rule.count(n)}, e.g. {_examples(con, source, cond, name)}; "
                        f"fix: {rule.fix}")
    return problems


def _epoch_problems(con: duckdb.DuckDBPyConnection, view: str, source: ParquetSource, cols: list[ColumnSpec],
                    where: str, edges: dict[str, tuple[Any, Any]]) -> list[str]:
    """Times at 1970-01-01 00:00 with no other time of the table within a year (:func:`churnml.rules.epoch_times`:
    an export's placeholder): the columns' ``edges`` (:func:`_edges`) first, the rows only when a column's span
    holds the epoch."""
    times = [c for c in cols if c.kind in ("time", "date")]
    may = [c for c in times if (span := edges[c.name])[0] is not None
           and pd.Timestamp(span[0]) <= EPOCH <= pd.Timestamp(span[1])]
    epoch = f"TIMESTAMP '{EPOCH}'"
    counts = con.execute("SELECT " + ", ".join(f"COUNT_IF({quote_name(c.name)} = {epoch})" for c in may)
                         + f" FROM {view}").fetchone() if may else ()
    found = [(c, int(n)) for c, n in zip(may, counts or (), strict=True) if n]
    if not found:
        return []
    days = EPOCH_ALONE.days
    near = " OR ".join(f"({quote_name(c.name)} <> {epoch} AND {quote_name(c.name)} > {epoch} - INTERVAL {days} DAY "
                       f"AND {quote_name(c.name)} < {epoch} + INTERVAL {days} DAY)" for c in times)
    if (con.execute(f"SELECT COUNT_IF({near}) FROM {view}").fetchone() or (0,))[0]:
        return []  # a history around 1970: its times at the epoch are real
    problems = []
    for c, n in found:
        cond = f"({quote_name(c.name)} = {epoch})"
        rule = epoch_rule(c.nullable)
        problems.append(f"column '{c.name}' {where}: {rule.count(n)}, e.g. {_examples(con, source, cond, c.name)}; "
                        f"fix: {rule.fix}")
    return problems


def _key_problems(
    con: duckdb.DuckDBPyConnection,
    view: str,
    key: tuple[str, ...],
    state: tuple[tuple[str, int, int], ...] | None,
    table: str,
    where: str,
) -> list[str]:
    """A keyed table (one row per customer) with a key on several rows: one GROUP BY of the key."""
    mark = "key:" + ",".join(key)
    if state is not None and (table, mark, state) in _passed:
        return []
    cols = ", ".join(quote_name(k) for k in key)
    repeated = f"SELECT {cols}, COUNT(*) AS n FROM {view} GROUP BY {cols} HAVING COUNT(*) > 1"
    total = con.execute(f"SELECT COUNT(*) FROM ({repeated}) r").fetchone()
    n = int(total[0]) if total else 0
    if not n:
        if state is not None:
            _passed.add((table, mark, state))
        return []
    shown = con.execute(f"{repeated} ORDER BY {cols} LIMIT {_SHOWN}").fetchall()
    names = " and ".join(f"'{k}'" for k in key)
    examples = ", ".join(
        f"{', '.join(repr(v) for v in r[:-1])} ({int(r[-1])} rows)" for r in shown
    )
    return [
        f"column {names} {where}: {n:,} value{'s' if n != 1 else ''} of the key "
        f"{'are' if n != 1 else 'is'} on more than one row, e.g. {examples}; the table holds one row per "
        f"{', '.join(key)}, and a repeated one would repeat that customer's feature rows. Fix: keep one row per "
        f"{', '.join(key)} in the file, or read the table with churnml.io.read_table, whose data.duplicates "
        "setting decides (error or drop)"
    ]


def _examples(con: duckdb.DuckDBPyConnection, source: ParquetSource, cond: str, column: str) -> str:
    """The first bad rows, as data rows counted from 1 in their file (as validation counts them)."""
    # DuckDB 2.0 prunes row groups for a WHERE on NaN by the footers' min/max, which leave NaN out, and so
    # finds no row (the COUNT_IF of the count has no WHERE to push down). Only this error path needs the
    # filter, so it runs without the pushdown.
    con.execute("SET disabled_optimizers = 'filter_pushdown'")
    rows = con.execute(
        f"SELECT filename, file_row_number, {quote_name(column)} FROM read_parquet({source.files_sql()}, filename = true, "
        f"file_row_number = true) WHERE {cond} ORDER BY filename, file_row_number LIMIT {_SHOWN}"
    ).fetchall()
    files_shown = {str(r[0]) for r in rows}
    short = len({os.path.basename(f) for f in files_shown}) == len(files_shown)  # else full paths tell them apart
    return ", ".join(
        f"data row {int(r[1]) + 1} of {os.path.basename(str(r[0])) if short else str(r[0])} ({column} = {r[2]!r})"
        for r in rows
    )


def _missing_required(table: str, source: ParquetSource, present: dict[str, str]) -> list[str]:
    """A whole table without a column the contract requires (a selection names its columns already).

    ``present`` maps the lower-case names of the source's columns to their spelling.
    """
    spec = TABLE_SPECS.get(table)
    if spec is None or source.select is not None:
        return []
    missing = [c for c in spec.required if c.lower() not in present]
    if not missing:
        return []
    return [
        f"the Parquet file(s) {source._paths()} have no column {', '.join(repr(c) for c in missing)}; the data "
        f"contract requires {', '.join(spec.required)} (found {sorted(present.values())}). Fix: write the table with its "
        "canonical columns (churnml.io.write_frame), or read it with churnml.io.read_table(..., columns={canonical: "
        "yours})"
    ]


def _check_one(table: str, source: ParquetSource) -> list[str]:
    spec = TABLE_SPECS.get(table)
    if spec is None:
        return []
    con = connect({table: source})
    view = quote_name(table)
    try:
        state = files_state(con, source)
        # DuckDB matches column names ignoring case (so do the feature queries): so does the check,
        # and it names a column as the file spells it.
        stored = {str(r[0]).lower(): (str(r[0]), str(r[1]))
                  for r in con.execute(f"DESCRIBE SELECT * FROM {view}").fetchall()}
        where = f"in the Parquet file(s) {source.named()}"
        problems: list[str] = []
        todo: list[ColumnSpec] = []
        fitting: list[ColumnSpec] = []  # of the right type, not passed yet: their bounds are checked
        for spec_col in spec.columns:
            if spec_col.name.lower() not in stored:
                continue
            name, duck_type = stored[spec_col.name.lower()]
            col = replace(spec_col, name=name)
            if state is not None and (table, col.name, state) in _passed:
                continue
            if not _type_fits(col.kind, duck_type):
                problems.append(
                    f"column '{col.name}' {where} has type {duck_type}; the data contract wants "
                    f"{_KIND_WORDS[col.kind]}{_ZONE_FIX if _zoned(duck_type) else ''}; {_FIX_TYPE}"
                )
                continue
            fitting.append(col)
            if col.required and not col.nullable:
                todo.append(col)
            elif state is not None:
                _passed.add((table, col.name, state))
        if todo:
            problems += _value_problems(con, view, source, todo, state, table, where)
        edges = _edges(con, view, [c.name for c in fitting if _bound_sql(table, c) or c.kind in ("time", "date")])
        bounded = (_bound_problems(con, view, source, table, fitting, where, edges)
                   + _epoch_problems(con, view, source, fitting, where, edges))
        if bounded and state is not None:  # checked again until the files change
            _passed.difference_update({(table, c.name, state) for c in fitting})
        problems += bounded
        if spec.key and all(k.lower() in stored for k in spec.key) and not problems:
            key = tuple(stored[k.lower()][0] for k in spec.key)
            problems += _key_problems(con, view, key, state, table, where)
        return problems
    finally:
        con.close()


_FIX_FRAME = (
    "a frame given to churnml directly is used as it is. Fix: read it with churnml.io.read_table(table, frame), "
    "which maps, converts and validates the columns and names the rows to mend"
)


def _dtype_fits(kind: str, column: pd.Series) -> bool:
    dtype = column.dtype
    if kind in ("id", "str"):
        return bool(pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
                    or isinstance(dtype, pd.CategoricalDtype))
    if kind in ("time", "date"):
        return pd.api.types.is_datetime64_dtype(dtype) and not isinstance(dtype, pd.DatetimeTZDtype)
    if kind == "bool":
        return pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _not_text(values: pd.Series) -> np.ndarray:
    """The rows of an object id column holding something other than text (none for text dtypes)."""
    if not pd.api.types.is_object_dtype(values.dtype) or pd.api.types.infer_dtype(values, skipna=True) in (
            "string", "empty"):
        return np.zeros(len(values), dtype=bool)
    return (values.notna() & ~values.map(lambda v: isinstance(v, str))).to_numpy(dtype=bool)


def frame_problems(table: str, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[str]:
    """What a frame given as ``table`` breaks of the data contract: missing, mistyped or empty columns.

    ``columns``: the contract's columns the caller reads (default: the
    table's required ones must be there; every contract column present is
    checked). A column of the wrong dtype, a time zone, and missing values in
    a required column (with up to five index labels) are named. A frame from
    :func:`churnml.io.read_table` passes, unless it was changed since; a stand-in
    (``attrs[STAND_IN]``, not data) is not checked.
    """
    spec = TABLE_SPECS.get(table)
    if spec is None or frame.attrs.get(STAND_IN) == table:
        return []
    wanted = list(columns) if columns is not None else list(spec.required)
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        return [f"no column {', '.join(repr(c) for c in missing)} (columns found: {list(frame.columns)[:20]})"]
    problems = []
    typed = set()
    for col in spec.columns:
        if col.name not in frame.columns or (columns is not None and col.name not in columns):
            continue
        values = frame[col.name]
        if len(values) and not _dtype_fits(col.kind, values):  # an empty column has pandas' default dtype
            zone = _ZONE_FIX if isinstance(values.dtype, pd.DatetimeTZDtype) else ""
            problems.append(f"column '{col.name}' has dtype {values.dtype}; the data contract wants "
                            f"{_KIND_WORDS[col.kind]}{zone}")
            continue
        if col.kind == "id" and (odd := _not_text(values)).any():  # an object column mixing 1 and '1'
            problems.append(f"column '{col.name}' has {int(odd.sum())} value(s) that are not text "
                            f"({_index(frame, odd, values.map(lambda v: f'{v!r} ({type(v).__name__})'))}); "
                            "ids are text, or '1' and 1 would be two customers")
            continue
        if col.kind == "bool" and not pd.api.types.is_bool_dtype(values.dtype) and (
                odd := (values.notna() & ~values.isin([0, 1])).to_numpy(dtype=bool)).any():  # 2 read as true
            problems.append(f"column '{col.name}' has {int(odd.sum())} value(s) that are not 0 or 1 "
                            f"({_index(frame, odd, values)}); a flag stored as a number is 1 (true) or 0 (false)")
            continue
        typed.add(col.name)
        if col.required and not col.nullable:
            empty = values.isna().to_numpy()
            if empty.any():
                problems.append(f"column '{col.name}' has {int(empty.sum())} missing value(s) ({_index(frame, empty)}); "
                                "the data contract requires a value in each row")
        if col.kind == "float" and len(values):
            infinite = np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
            if infinite.any():
                problems.append(f"column '{col.name}' has {int(infinite.sum())} infinite value(s) "
                                f"({_index(frame, infinite)}); the data contract wants finite numbers")
    return problems + _row_problems(spec.name, frame, typed)


def _index(frame: pd.DataFrame, mask: np.ndarray, example: pd.Series | None = None) -> str:
    """``index [3, 7]`` of the rows in ``mask`` (up to five), with the first one's value when ``example`` is given."""
    labels = list(frame.index[mask][:_SHOWN])
    more = ", ..." if mask.sum() > _SHOWN else ""
    first = example[mask].iloc[0] if example is not None else None
    first = first.item() if isinstance(first, np.generic) else first  # -5.0, not np.float64(-5.0)
    shown = f", e.g. {first!r}" if example is not None else ""
    return f"index {labels}{more}{shown}"


def _row_problems(table: str, frame: pd.DataFrame, typed: set[str]) -> list[str]:
    """The contract's rules on values that :func:`churnml.io.read_table` enforces: survey types, their
    score scales and whole points, the numbers that cannot be negative (``NON_NEGATIVE``), and one row
    per key (``customers``, ``loyalty``). ``typed``: the columns of the right dtype."""
    problems = []
    spec = TABLE_SPECS[table]
    if table == "surveys" and {"survey", "score"} <= typed:
        survey = frame["survey"]
        unknown, outside = scale_masks(survey, frame["score"])
        if unknown.any():
            problems.append(f"column 'survey' has {int(unknown.sum())} value(s) that are not one of "
                            f"{', '.join(SCORE_SCALES)} in lower case ({_index(frame, unknown, survey)})")
        shown = scores_shown(survey, frame["score"])
        if outside.any():
            problems.append(f"column 'score' has {int(outside.sum())} value(s) outside their survey's scale "
                            f"({scale_text()}) ({_index(frame, outside, shown)})")
        if (between := fractional(frame["score"])).any():
            problems.append(f"column 'score' has {int(between.sum())} value(s) that are not whole points of the "
                            f"scale ({_index(frame, between, shown)})")
    for name in NON_NEGATIVE.get(table, {}):
        if name in typed and (below := (frame[name] < 0).to_numpy(dtype=bool, na_value=False)).any():
            problems.append(f"column {name!r} has {int(below.sum())} negative value(s) "
                            f"({_index(frame, below, frame[name])}); {name} is {NON_NEGATIVE[table][name]}, 0 or more")
    for name in SUMMED_EXACTLY.get(table, ()):
        if name in typed and (huge := huge_numbers(frame[name])).any():
            problems.append(f"column {name!r} has {HUGE_NUMBER.count(int(huge.sum()))} "
                            f"({_index(frame, huge, frame[name])}); {HUGE_NUMBER.fix}")
    times = {c.name: frame[c.name] for c in spec.columns if c.kind in ("time", "date") and c.name in typed}
    for name, col in times.items():
        if (far := far_times(table, name, col)).any():
            problems.append(f"column {name!r} has {FAR_TIME.count(int(far.sum()))} "
                            f"({_index(frame, far, col)}); {FAR_TIME.fix}")
    for name, at in epoch_times(times, times).items():  # a frame's times are local already
        rule = epoch_rule(spec.column(name).nullable)
        problems.append(f"column {name!r} has {rule.count(int(at.sum()))} ({_index(frame, at, times[name])}); "
                        f"{rule.fix}")
    key = list(spec.key or ())
    if key and set(key) <= typed:
        repeated = frame.duplicated(key, keep="first").to_numpy()
        if repeated.any():
            problems.append(f"column {', '.join(repr(k) for k in key)} repeats {int(repeated.sum())} value(s) of "
                            f"earlier rows ({_index(frame, repeated, frame[key[0]])}); the table holds one row per "
                            f"{', '.join(key)} (data.duplicates: keep cannot apply to it; error or drop does)")
    return problems


def select(table: str, source: TableSource, columns: Sequence[str]) -> TableSource:
    """``source[columns]``; for a frame without some of them, a :class:`~churnml.errors.SchemaError` with the fix."""
    if isinstance(source, pd.DataFrame):
        missing = [c for c in columns if c not in source.columns]
        if missing:
            raise SchemaError(f"no column {', '.join(repr(c) for c in missing)} (columns found: "
                              f"{list(source.columns)[:20]}); {_FIX_FRAME}", table=table)
    return source[list(columns)]


def check_frame(table: str, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> None:
    """Raise one :class:`~churnml.errors.SchemaError` with :func:`frame_problems` and the fix, if any."""
    problems = frame_problems(table, frame, columns)
    if problems:
        raise SchemaError([f"{p}; {_FIX_FRAME}" for p in problems], table=table)


def check_frame_as_read(table: str, frame: pd.DataFrame) -> None:
    """:func:`check_frame` on the columns the features and labels read of ``table`` (:data:`READ_COLUMNS`
    for the transactions, else every contract column present or required): an ``order_id`` stored as a
    number stops nothing."""
    spec = TABLE_SPECS[table]
    read = READ_COLUMNS.get(table)
    check_frame(table, frame, [c.name for c in spec.columns if (c.name in frame.columns or c.required)
                               and (read is None or c.name in read)])


def check_sources(tables: Mapping[str, TableSource | None]) -> None:
    """Check every table among ``tables`` (canonical name -> table) against the data contract.

    A frame is checked by :func:`check_frame` (its columns' dtypes, time
    zone and missing values), one from :func:`churnml.io.read_table` too
    (it may have been changed since). Names outside the data contract are
    skipped. Of a :class:`~churnml.engine.ParquetSource`, only the columns it
    selects are checked, and of the transactions only those churnml reads
    (:data:`READ_COLUMNS`): an ``order_id`` stored as a number stops nothing.
    A whole table (no selection) must have the contract's required columns.
    Raises one :class:`~churnml.errors.SchemaError` listing every problem of
    a table.
    """
    for table, source in tables.items():
        spec = TABLE_SPECS.get(table)
        if isinstance(source, pd.DataFrame) and spec is not None:
            check_frame_as_read(table, source)
        if isinstance(source, ParquetSource):
            present = {c.lower(): c for c in source.columns}
            problems = _missing_required(table, source, present)
            if not problems and table in READ_COLUMNS:
                source = source[[present[c] for c in READ_COLUMNS[table] if c in present]]
            problems = problems or _check_one(table, source)
            if problems:
                raise SchemaError(problems, table=table)
