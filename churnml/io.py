"""Reading and writing data files: with :mod:`churnml.io_write`, the only code touching data on disk.

Reads (:func:`read_table`, :func:`load_tables`) map the user's column names to
the canonical ones and validate each table once
(:func:`churnml.validation.validate_table`): what they return is a canonical
frame that the rest of churnml trusts.

Writes (:func:`write_frame`, :func:`write_text`, :func:`write_json`) live in
:mod:`churnml.io_write` and are re-exported here: they are atomic (a temporary
file in the same folder, then a rename) and never replace an existing file
unless ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import difflib
import gzip
import importlib
import inspect
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd
import pandas.api.types as ptypes
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from churnml.config import Config, DataConfig
from churnml.errors import ConfigError, EmptyDataError, SchemaError, raise_collected
from churnml.io_write import (
    check_writable,
    file_format,
    write_frame,
    write_frames,
    write_json,
    write_text,
)
from churnml.parquet_files import check_same_schema, folder_schemas, parquet_parts, partition_values
from churnml.recode import check_values, recode_frame
from churnml.rules import (
    FOLDER_COLUMNS_FIX,
    INVISIBLE,
    READ_OPTIONS_HINT,
    SHOWN_TWINS,
    SPELLED_IDS,
    case_twins_text,
    doubled_columns_text,
    invisible_ids_text,
    separator_hint,
)
from churnml.schema import FOLDER_SUFFIXES, TABLE_SPECS, TableSpec, spec_for
from churnml.validation import validate_table

log = logging.getLogger(__name__)

__all__ = [
    "FOLDER_SUFFIXES",
    "READ_ATTR",
    "Tables",
    "check_mapped_present",
    "check_mapping",
    "data_origin",
    "file_columns",
    "folder_files",
    "folder_schema_error",
    "file_not_found_text",
    "load_tables",
    "read_file_tables",
    "read_policy",
    "read_table",
    "unmatched_ids_text",
    "warn_id_spellings",
    "warn_unmatched_ids",
    "check_writable",
    "write_frame",
    "write_frames",
    "write_json",
    "write_text",
]

#: read_options applied by the validation to the table's time columns (not passed to pandas there).
_DATE_OPTIONS = ("date_format", "dayfirst")

#: read_csv options the (fast, multi-threaded) pyarrow engine understands.
_PYARROW_OPTIONS = frozenset({
    "sep", "delimiter", "header", "names", "usecols", "dtype", "na_values", "keep_default_na",
    "true_values", "false_values", "encoding", "quotechar", "skiprows", "compression",
})


@dataclass(frozen=True, eq=False, repr=False)
class Tables:
    """The canonical tables of one data source (see ``schema.TABLE_SPECS``).

    Only ``transactions`` is required; every other table is ``None`` when the
    source does not have it.
    """

    transactions: pd.DataFrame
    events: pd.DataFrame | None = None
    subscriptions: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    tickets: pd.DataFrame | None = None
    customers: pd.DataFrame | None = None
    marketing_spend: pd.DataFrame | None = None
    loyalty: pd.DataFrame | None = None

    def present(self) -> list[str]:
        """Names of the tables that are given, in contract order."""
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={len(getattr(self, n)):,} rows" for n in self.present())
        return f"Tables({shown})"


# ---------------------------------------------------------------------- reading
def read_table(
    table: str,
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    fmt: str = "auto",
    read_options: Mapping[str, Any] | None = None,
    values: Mapping[str, Mapping[str, Any]] | None = None,
    **validate_kwargs: Any,
) -> pd.DataFrame:
    """Read one table, map its columns to canonical names and validate it.

    Parameters
    ----------
    table : str
        Canonical table name (``transactions``, ``events``, ...).
    source : str, Path or DataFrame
        A ``.csv``, ``.csv.gz`` or ``.parquet`` file, a folder of Parquet files
        (as Spark writes a table: its files in path order, names starting with
        ``_`` or ``.`` skipped, the values of ``key=value`` sub-folders read as
        text columns; the files must agree on the contract's columns), or a
        frame already in memory.
    columns : mapping, optional
        Canonical name -> the user's column name, e.g. ``{"customer_id": "cust_no"}``
        (``data.tables.<table>.columns``). Unmapped columns keep their names.
    fmt : {'auto', 'csv', 'parquet'}
        File format; ``auto`` decides by the file name (a folder is Parquet).
    read_options : mapping, optional
        Extra keyword arguments of :func:`pandas.read_csv` or
        :func:`pandas.read_parquet` (e.g. ``{"sep": ";"}``). CSV files are read
        with the multi-threaded pyarrow engine unless an option needs pandas' C
        engine (or ``engine`` is given). Identifier, text and time columns are
        read as text, so that ids keep leading zeros and every timestamp is
        parsed once, by the validation (with ``thousands``, the contract's
        numbers too: a thousands mark out of place, '12,5', is refused, not
        removed as pandas would): ``date_format`` (one format, or a
        mapping column -> format; file or canonical column names; for times
        written as numbers ``epoch_seconds``, ``epoch_milliseconds`` or
        ``excel_serial``) is applied to the time columns strictly, and
        ``dayfirst`` (true/false) settles
        the order of day and month when the format is inferred (see
        :func:`churnml.validation.validate_table`). These two also apply to a
        DataFrame source; the other options only to files.
    values : mapping, optional
        Per text column (canonical name), the file's values -> the ones to read,
        e.g. ``{"event_type": {"Login": "login"}}`` (``data.tables.<table>.values``;
        :func:`churnml.recode.recode_frame`), applied before the validation;
        values are matched without surrounding spaces, unmapped ones kept.
    **validate_kwargs
        ``returns``, ``duplicates``, ``timezone``, ``data_end`` of
        :func:`churnml.validation.validate_table`.

    Returns
    -------
    DataFrame
        The canonical frame (see :func:`churnml.validation.validate_table`).

    Raises
    ------
    ConfigError
        The file does not exist, or the format or options are invalid.
    SchemaError
        A mapped column is missing from the source, the file cannot be parsed,
        or the table breaks the data contract (every problem at once).
    EmptyDataError
        The table has no rows.
    """
    spec = spec_for(table)
    unknown = sorted(set(validate_kwargs) - {*_POLICY_KEYWORDS, *_DATE_OPTIONS})
    if unknown:  # before a large file is read
        raise ConfigError(f"read_table({table!r}): unknown argument(s) {unknown}; it takes the read policy "
                          f"{list(_POLICY_KEYWORDS)} (the config's data.end is data_end here) and "
                          f"{list(_DATE_OPTIONS)}")
    mapping = dict(columns or {})
    check_mapping(spec, mapping)
    check_values(spec, values or {})  # before a large file is read
    opts = dict(read_options or {})
    dates = _date_options(spec, mapping, opts, validate_kwargs)
    if isinstance(source, pd.DataFrame):
        if opts:
            raise ConfigError(f"{table}: read_options {sorted(opts)} apply to files, not to a DataFrame "
                              "source (only date_format and dayfirst apply to both)")
        check_mapped_present(table, mapping, list(source.columns), "the DataFrame")
        raw, name = source, None
    else:
        path, kind = _resolve(table, source, fmt)
        found = _folder_header(table, path, spec, mapping) if path.is_dir() else _header(table, path, kind, opts)
        check_mapped_present(table, mapping, found, str(path))
        raw = _read(table, path, kind, opts, _text_columns(spec, mapping, found, numbers="thousands" in opts),
                    _label_columns(spec, mapping, found))
        name = str(path)
        if kind == "csv":  # numbers pandas left as text are read with the file's marks by the validation
            dates |= {"decimal": opts.get("decimal", "."), "thousands": opts.get("thousands")}
    raw = raw.rename(columns={user: canonical for canonical, user in mapping.items()})
    if values:
        raw = recode_frame(spec, raw, values)
    out = validate_table(table, raw, source=name, **dates, **validate_kwargs)
    policy = inspect.signature(validate_table).parameters  # its defaults, for the keywords not given
    out.attrs[READ_ATTR] = {"source": "files", **{k: str(validate_kwargs.get(k, policy[k].default))
                                                  for k in ("returns", "duplicates", "timezone")}}
    return out


#: The keyword arguments of :func:`read_table` that go to the validation (the read policy).
_POLICY_KEYWORDS = ("returns", "duplicates", "timezone", "data_end")
#: The key of a table frame's ``attrs`` where :func:`read_table` and :func:`load_tables` record where it came
#: from (``source``: ``files``, ``cdnow`` or ``synthetic``) and how it was read (``returns``, ``duplicates``,
#: ``timezone``): what a model trained on it records (:func:`data_origin`). pandas keeps ``attrs`` through
#: filters, copies and ``assign``, so it says how the table was read, not what was done to it since (returns
#: dropped by hand after ``returns="keep"`` still read ``keep``); a merge or a concat of frames read otherwise
#: drops it (then the config's policy is recorded, with a warning). :func:`write_frame` does not write it.
READ_ATTR = "churnml_read"


def data_origin(tables: object | None, data: DataConfig) -> tuple[str, dict[str, str]]:
    """Where ``tables`` came from and how they were read: (data source, read policy).

    The transactions frame's record (:data:`READ_ATTR`, written by :func:`read_table` and
    :func:`load_tables`) when it has one; else the config's (:func:`read_policy`). Frames built by hand
    with a bundled ``data.source`` (the default, ``cdnow``) are recorded as ``files`` read with the data
    section's policy, with a warning: they are not the bundled data.
    """
    tx = getattr(tables, "transactions", None) if tables is not None else None
    record = tx.attrs.get(READ_ATTR) if isinstance(tx, pd.DataFrame) else None
    if isinstance(record, Mapping) and {"source", "returns", "duplicates", "timezone"} <= set(record):
        return str(record["source"]), {k: str(record[k]) for k in ("returns", "duplicates", "timezone")}
    if tx is None or data.source == "files":
        return data.source, read_policy(data)
    log.warning("the tables were not read by churnml.io (read_table or load_tables), and data.source is %r: "
                "they are recorded as data.source=files read with data.returns=%s, data.duplicates=%s, "
                "data.timezone=%s; read them with churnml.io.read_table to record how they were read",
                data.source, data.returns, data.duplicates, data.timezone)
    return "files", read_policy(data.model_copy(update={"source": "files"}))


def _date_options(spec: TableSpec, mapping: dict[str, str], opts: dict[str, Any],
                  validate_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take ``date_format`` and ``dayfirst`` out of ``opts``, for the validation to apply.

    The time columns of the table are read as text and parsed once, by the
    validation, so these two options are never pandas' there. A mapping's keys
    may be the file's column names (as pandas takes them) or canonical names;
    keys naming other columns in ``parse_dates`` stay with pandas.
    """
    doubled = sorted(k for k in _DATE_OPTIONS if k in opts and k in validate_kwargs)
    if doubled:
        raise ConfigError(f"{spec.name}: {doubled} given both in read_options and as arguments; give each once")
    dates = {k: opts.pop(k) for k in _DATE_OPTIONS if k in opts}
    fmt = dates.get("date_format")
    if isinstance(fmt, Mapping):
        to_canon = {user: canonical for canonical, user in mapping.items()}
        times = {c.name for c in spec.columns if c.kind in ("time", "date")}
        parsed = opts.get("parse_dates")
        extra = {k: v for k, v in fmt.items() if to_canon.get(k, k) not in times
                 and isinstance(parsed, list) and k in parsed}
        dates["date_format"] = {to_canon.get(k, k): v for k, v in fmt.items() if k not in extra}
        if extra:
            opts["date_format"] = extra
    return dates


def _meant_mapping(unknown: list[str], mapping: dict[str, str], names: list[str]) -> list[str]:
    """``canonical: file column`` for each key of ``mapping`` that is not a canonical name, where one is likely.

    A value that is a canonical name means the mapping was written the other way round (``cust_no:
    customer_id``): swap it. Otherwise the nearest canonical name not mapped already, each at most once.
    """
    free = [n for n in names if n not in mapping]
    out = []
    for key in unknown:
        if mapping[key] in names:
            out.append(f"{mapping[key]}: {key}")
            continue
        near = difflib.get_close_matches(key, free, n=1)
        if near:
            free.remove(near[0])
            out.append(f"{near[0]}: {mapping[key]}")
    return out


def check_mapping(spec: TableSpec, mapping: dict[str, str]) -> None:
    """Refuse a column mapping (canonical name -> the source's) naming a column the table does not have, or
    mapping one source column twice (a ConfigError naming both, with the fix)."""
    unknown = [c for c in mapping if c not in spec]
    doubled = sorted({u for u in mapping.values() if list(mapping.values()).count(u) > 1})
    problems = []
    if unknown:
        names = [c.name for c in spec.columns]
        meant = ", ".join(_meant_mapping(unknown, mapping, names))
        problems.append(f"data.tables.{spec.name}.columns (in Python: read_table's columns=) maps {unknown}, "
                        f"which are not columns of "
                        f"{spec.name}; its columns are {names}; fix: the keys are churnml's column names and the "
                        f"values your file's" + (f" (did you mean {meant}?)" if meant else ""))
    if doubled:
        problems.append(f"data.tables.{spec.name}.columns (in Python: read_table's columns=) maps the file "
                        f"column(s) {doubled} to "
                        "more than one canonical column; map each file column once")
    if problems:
        raise ConfigError("; ".join(problems))


def check_mapped_present(table: str, mapping: Mapping[str, str], found: list[Any], where: str,
                         key: str | None = None) -> None:
    """Refuse a mapping that names columns the source (``where``: a path, or "the DataFrame") does not have
    (``found``: its columns); ``key``: where the mapping was given (default: the config's, or read_table's
    ``columns=`` for a DataFrame)."""
    absent = {c: u for c, u in mapping.items() if u not in found}
    if absent:
        names = [str(c) for c in found]
        sep = separator_hint(table, names)
        key = key or ("read_table's columns=" if where == "the DataFrame" else f"data.tables.{table}.columns")
        fix = f": {sep}" if sep else f"; fix {key} ({', '.join(f'{c}: {u}' for c, u in absent.items())})"
        raise SchemaError(
            f"the column mapping names column(s) {sorted(absent.values())} that {where} does "
            f"not have; found columns {names}{fix}",
            table,
        )


def file_not_found_text(table: str, path: Path) -> str:
    """A table's file that is not there (both engines)."""
    return (f"data.tables.{table}.path: file {str(path)!r} not found "
            f"(relative paths start at the working folder {Path.cwd()})")


def _resolve(table: str, source: str | Path, fmt: str) -> tuple[Path, str]:
    path = Path(source)
    if fmt not in ("auto", "csv", "parquet"):
        raise ConfigError(f"data.tables.{table}.format={fmt!r}; expected 'auto', 'csv' or 'parquet'")
    if path.is_dir():
        if fmt == "csv":
            raise ConfigError(f"data.tables.{table}: the path {str(path)!r} is a folder and the format csv; a folder "
                              "is read as a table's Parquet files (as Spark writes one); fix: give one CSV file's "
                              "path, or format parquet (or auto) for a folder of Parquet files")
        return path, "parquet"
    if not path.is_file():
        raise ConfigError(file_not_found_text(table, path))
    return path, file_format(path) if fmt == "auto" else fmt


def _folder_header(table: str, folder: Path, spec: TableSpec, mapping: dict[str, str]) -> list[str]:
    """The columns of a folder of Parquet files: the first file's, then any partition column (``key=value``
    sub-folders). The files must agree on the columns the contract reads (:func:`check_same_schema`)."""
    schemas = folder_schemas(folder, table)
    check_same_schema(folder, schemas, table, {mapping.get(c.name, c.name) for c in spec.columns})
    found = list(schemas[0][1].names)
    for file, _ in schemas:
        found += [k for k in partition_values(folder, Path(file)) if k not in found]
    return found


def _read_folder(table: str, folder: Path, opts: dict[str, Any]) -> pd.DataFrame:
    """A folder's Parquet files as one frame, file after file, with each file's partition values (text) as
    columns; indexed by (file, 1-based row of that file), which the validation's messages name."""
    frames = []
    for part in parquet_parts(folder, table):
        frame = pd.read_parquet(part, **{"partitioning": None, **opts})  # the values below, as text
        for key, value in partition_values(folder, part).items():
            if key not in frame.columns:
                frame[key] = pd.Series(value, index=frame.index, dtype="str")
        frame.index = pd.MultiIndex.from_product([[str(part)], range(1, len(frame) + 1)], names=["file", "row"])
        frames.append(frame)
    return pd.concat(frames)


def _text_columns(spec: TableSpec, mapping: dict[str, str], found: list[Any], numbers: bool = False) -> list[str]:
    """The file columns read as text: ids, text and times; with ``numbers`` (a ``thousands`` read option) the
    contract's numbers too, which the validation then reads with the file's marks, refusing a thousands mark
    out of place ('12,5', which pandas reads as 125)."""
    kinds = ("id", "str", "time", "date", *(("float", "int") if numbers else ()))
    text = [mapping.get(c.name, c.name) for c in spec.columns if c.kind in kinds]
    return [c for c in text if c in found]


def _label_columns(spec: TableSpec, mapping: dict[str, str], found: list[Any]) -> list[str]:
    """The optional text columns that label a row (region, segment, plan, channel, product, ...): values such as
    'NA' (North America) are labels there. Not the ids, the required types, ``referred_by`` nor ``order_id``,
    where such a word in an export means missing (a 'None' referrer is no referral; 'NULL' orders are not one
    order)."""
    labels = [mapping.get(c.name, c.name) for c in spec.columns
              if c.kind == "str" and not c.required and c.name not in ("referred_by", "order_id")]
    return [c for c in labels if c in found]


#: The cells pandas.read_csv reads as missing by default (its documented ``na_values``), the empty cell aside.
NA_WORDS = frozenset({"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
                      "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})


def _na_words_missing(frame: pd.DataFrame, labels: list[str], as_text: list[str]) -> pd.DataFrame:
    """Missing-value words ('NULL', 'N/A', ...) as missing in every column but the labels (``labels``).

    The file was read with only empty cells missing, so that a region 'NA' (North America) stays text;
    elsewhere (ids, times, amounts, flags, the user's own columns) such a word means missing, as pandas
    reads it, and a column of the user's whose other values are all numbers becomes numbers, as pandas makes it
    (not the columns read as text on purpose, ``as_text``: times are parsed by the validation).
    """
    for name in frame.columns:
        col = frame[name]
        if name in labels or ptypes.is_numeric_dtype(col.dtype) or ptypes.is_bool_dtype(col.dtype):
            continue
        na = col.isin(NA_WORDS).to_numpy(dtype=bool)
        if not na.any():
            continue
        col = col.mask(na)
        if name not in as_text:
            with contextlib.suppress(ValueError, TypeError):
                col = pd.to_numeric(col)
        frame[name] = col
    return frame


def file_columns(path: Path, kind: str, opts: dict[str, Any] | None = None) -> list[Any]:
    """Column names of a ``parquet`` or ``csv`` file, from its schema or header line only.

    ``opts`` are the read options (those that shape the header apply).
    Raises what pandas or Arrow raise (ValueError, OSError, ArrowException).
    """
    if kind == "parquet":
        return list(pq.read_schema(path).names)
    head = {k: v for k, v in (opts or {}).items() if k not in ("engine", "dtype", "parse_dates")}
    return list(pd.read_csv(path, nrows=0, **head).columns)


#: First bytes of files that are not the text CSV they are named as, and what to do.
_NOT_CSV = ((b"PK\x03\x04", "an Excel workbook (.xlsx), not a CSV file"),
            (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls), not a CSV file"),
            (b"\xff\xfe", "text in UTF-16 or UTF-32"), (b"\xfe\xff", "text in UTF-16 or UTF-32"))


def not_csv_hint(path: Path) -> str:
    """What a ``.csv`` file really is and the fix (an Excel workbook, UTF-16 text), from its first bytes; else ``''``.

    A ``.gz`` file's first bytes are read decompressed.
    """
    try:
        with (gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")) as fh:
            head = fh.read(4)
    except (OSError, EOFError):
        return ""
    found = [what for magic, what in _NOT_CSV if head.startswith(magic)]
    if not found and b"\x00" in head:  # UTF-16 or UTF-32 without a byte-order mark
        found = ["text in UTF-16 or UTF-32"]
    return f"it is {found[0]}: save it as 'CSV UTF-8'" if found else ""


def _options_error(table: str, path: Path, exc: Exception) -> ConfigError:
    """A read option pandas refuses (an unknown name, a value of the wrong type, an unknown encoding)."""
    return ConfigError(f"data.tables.{table}.read_options: reading {path} failed with {type(exc).__name__}: {exc}; "
                       "fix: give options of pandas.read_csv (or read_parquet for Parquet files) with valid "
                       "values, e.g. {sep: ';', encoding: latin-1, decimal: ',', skiprows: 2}")


def _encoding_hint(table: str, exc: Exception) -> str:
    """When a file is not UTF-8 (pandas' or Arrow's decoding error): the fix, else ``''``."""
    text = str(exc).lower()
    if isinstance(exc, UnicodeDecodeError) or "utf8" in text or "utf-8" in text:
        return (f"the file is not UTF-8; give its encoding: data.tables.{table}.read_options: "
                "{encoding: latin-1} (or cp1252, the usual one of Windows spreadsheets)")
    return ""


def _header(table: str, path: Path, kind: str, opts: dict[str, Any]) -> list[Any]:
    # By its first bytes, unless the options say how to read them (a UTF-16 encoding, a zip compression):
    # a workbook's zip header can decode as a one-column "header" (1 time in 70).
    hint = not_csv_hint(path) if kind == "csv" and not {"encoding", "compression"} & set(opts or {}) else ""
    if hint:
        raise SchemaError(f"cannot read the header of {path} as csv; fix: {hint}", table)
    try:
        found = file_columns(path, kind, opts)
        doubled = _doubled_names(path, kind, opts)
    except (TypeError, LookupError) as exc:
        raise _options_error(table, path, exc) from exc
    except (ValueError, OSError, pa.ArrowException) as exc:
        fix = (not_csv_hint(path) if kind == "csv" else "") or _encoding_hint(table, exc) or (
            f"check the file, or data.tables.{table}.format and read_options")
        raise SchemaError(f"cannot read the header of {path} as {kind}: {exc}; fix: {fix}", table) from exc
    if doubled:  # pandas would rename the second 'amount' to 'amount.1' and read the first as the amount
        raise SchemaError(f"{doubled_columns_text(table, doubled)} (in the header line of {path})", table)
    return found


#: read_csv options that do not shape the header line, or clash with reading it alone.
_NOT_FOR_THE_HEADER = frozenset({"engine", "dtype", "parse_dates", "usecols", "na_values", "keep_default_na",
                                 "na_filter", "converters", "index_col", "nrows", "skipfooter", "chunksize",
                                 "iterator"})


def _doubled_names(path: Path, kind: str, opts: dict[str, Any]) -> list[str]:
    """Names the header line of a CSV file holds more than once (before pandas makes them unique)."""
    if kind != "csv" or {"header", "names"} & set(opts):
        return []
    head = {k: v for k, v in opts.items() if k not in _NOT_FOR_THE_HEADER}
    first = pd.read_csv(path, nrows=1, header=None, dtype="str", keep_default_na=False, **head)
    names = [str(v) for v in first.iloc[0]] if len(first) else []
    return sorted({n for n in names if names.count(n) > 1})


def _copy(dtype: Any) -> Any:
    """A dtype mapping as a new dict (pandas' pyarrow reader adds entries to the one it is given)."""
    return dict(dtype) if isinstance(dtype, Mapping) else dtype


def _read(table: str, path: Path, kind: str, opts: dict[str, Any], text: list[str],
          labels: list[str]) -> pd.DataFrame:
    """The file's rows; a CSV's label columns (``labels``) keep 'NA' and the like as text
    (:func:`_na_words_missing`) unless ``na_values``, ``keep_default_na`` or ``na_filter`` is given."""
    if kind != "csv" or {"na_values", "keep_default_na", "na_filter"} & set(opts):
        return _read_file(table, path, kind, opts, text)
    frame = _read_file(table, path, kind, {**opts, "keep_default_na": False, "na_values": [""]}, text)
    return _na_words_missing(frame, labels, text)


def _read_file(table: str, path: Path, kind: str, opts: dict[str, Any], text: list[str]) -> pd.DataFrame:
    """The file's rows as pandas reads them with ``opts``, the ``text`` columns as text."""
    sep = opts.get("sep", opts.get("delimiter", ","))
    try:
        if kind == "parquet":
            return _read_folder(table, path, opts) if path.is_dir() else pd.read_parquet(path, **opts)
        dtype = opts.pop("dtype", None)
        if isinstance(opts.get("parse_dates"), list):  # time columns are parsed once, by the validation
            opts["parse_dates"] = [c for c in opts["parse_dates"] if c not in text]
        forced = dict.fromkeys(text, "str")
        if isinstance(dtype, Mapping) or dtype is None:
            dtype = forced | dict(dtype or {})
        fast = set(opts) <= _PYARROW_OPTIONS and isinstance(sep, str) and len(sep) == 1
        engine = opts.pop("engine", "pyarrow" if fast else "c")
        try:
            frame = pd.read_csv(path, dtype=_copy(dtype), engine=engine, **opts)
        except ValueError as exc:
            if engine != "pyarrow" or "cannot convert NA to integer" not in str(exc):
                raise
            # pandas 3.1's pyarrow reader, given the text columns' dtypes, fails on a column of whole numbers with a
            # blank (an MRR or points column with an empty cell); its C reader reads it as float64 with NaN.
            frame = pd.read_csv(path, dtype=_copy(dtype), engine="c", **opts)
        if "index_col" not in opts and not isinstance(frame.index, pd.RangeIndex):
            # pandas' C reader, given lines with one field more than the header, makes the first column the
            # index and shifts every other column one place left, silently
            raise SchemaError(f"{table}: cannot read {path} as {kind}: its data lines have one field more than its "
                              f"header line (a separator at the end of each?); fix: {_trailing_separator_fix(table)}",
                              table)
        return frame
    except SchemaError:
        raise
    except (TypeError, LookupError) as exc:
        raise _options_error(table, path, exc) from exc
    except (ValueError, OSError, pa.ArrowException) as exc:
        fix = _encoding_hint(table, exc) or _trailing_separator_hint(table, exc, kind, sep) or (
            f"check the file (separator: read_options.sep) or data.tables.{table}.format")
        raise SchemaError(f"{table}: cannot read {path} as {kind}: {exc}; fix: {fix}", table) from exc


def _trailing_separator_hint(table: str, exc: Exception, kind: str, sep: object) -> str | None:
    """The fix for a CSV whose data lines end with a separator its header line lacks ('A,1,' under
    'customer_id,amount'), from pyarrow's reader's message (which quotes the line)."""
    text = str(exc)
    found = re.search(r"Expected (\d+) columns, got (\d+)", text)
    if kind != "csv" or found is None or int(found[2]) != int(found[1]) + 1 or not isinstance(sep, str):
        return None
    line = text.rsplit(": ", 1)[-1].rstrip("\r\n")
    if not sep or not line.endswith(sep):
        return None
    return f"its data lines end with a separator ({line!r}) that its header line lacks; {_trailing_separator_fix(table)}"


def _trailing_separator_fix(table: str) -> str:
    return (f"remove it, or set data.tables.{table}.read_options: {{index_col: false}}, which reads such lines as "
            "the header says")


# ---------------------------------------------------------------------- loading


def folder_files(folder: str | Path, required: tuple[str, ...] = ()) -> dict[str, Path]:
    """The table files of a data folder: ``folder/<table>.parquet``, ``.csv`` or ``.csv.gz``, or a folder
    of Parquet files ``folder/<table>/`` (or ``<table>.parquet/``, as Spark writes a table).

    One file per canonical table (``schema.TABLE_SPECS``), with a suffix of
    :data:`FOLDER_SUFFIXES`, or one folder; two of one table (``transactions.parquet``
    and ``transactions.csv``) are an error; other files are ignored. The folder
    ``python -m churnml.datasets synthetic`` writes (either format) is one.

    Returns
    -------
    dict
        Table name -> path, in contract order; empty when no table is there.

    Raises
    ------
    ConfigError
        A table of ``required`` has no file in the folder (every such table is named), or a
        table has two.
    """
    found: dict[str, Path] = {}
    doubled = []
    for name in TABLE_SPECS:
        paths = [p for p in (Path(folder) / f"{name}{suffix}" for suffix in FOLDER_SUFFIXES) if p.is_file()]
        # a folder of Parquet files (as Spark writes a table): <table>/ or <table>.parquet/
        paths += [p for p in (Path(folder) / name, Path(folder) / f"{name}.parquet") if p.is_dir()]
        if paths:
            found[name] = paths[0]
        if len(paths) > 1:
            doubled.append(" and ".join(p.name for p in paths))
    if doubled:
        raise ConfigError(f"--data {folder}: {'; '.join(doubled)} are there, so which one holds the data is not "
                          "clear; keep one file (or folder) per table in the folder")
    missing = [t for t in required if t not in found]
    if missing:
        looked = "; ".join(", ".join([f"{t}{s}" for s in FOLDER_SUFFIXES] + [f"{t}/"]) for t in missing)
        raise ConfigError(f"--data {folder}: no {looked} there")
    return found


def load_tables(cfg: Config) -> Tables:
    """Load and validate every table of the configured data source.

    ``cfg.data.source``: ``files`` reads ``cfg.data.tables`` (each through
    :func:`read_table` with ``data.returns``, ``duplicates``, ``timezone`` and
    ``end``); ``cdnow`` loads the bundled CDNOW log
    (:func:`churnml.datasets.cdnow.load_cdnow`; its same-day repeat rows are real
    purchases and always kept); ``synthetic`` generates the tables from
    ``cfg.data.synthetic`` (its ``ground_truth`` is not a table and is left out).

    Raises
    ------
    SchemaError
        Listing the problems of every file table at once.
    """
    data = cfg.data
    if data.source == "cdnow":
        from churnml.datasets.cdnow import load_cdnow

        ignored = [f"data.{k}={getattr(data, k)}" for k in ("returns", "duplicates") if getattr(data, k) != "error"]
        if ignored:
            log.warning("%s not applied: the bundled CDNOW log has no returns and keeps its same-day repeat rows "
                        "(real purchases); the read policies apply to data.source=files", ", ".join(ignored))
        tables = Tables(transactions=load_cdnow(data_end=data.end))
    elif data.source == "synthetic":
        tables = _synthetic_tables(data)
    else:
        return _file_tables(data)  # read_table records each file's policy
    for name in tables.present():
        getattr(tables, name).attrs[READ_ATTR] = {"source": data.source, **read_policy(data)}
    return tables


def read_policy(data: DataConfig) -> dict[str, str]:
    """How the configured source reads returns, duplicates and naive times (what a model trained on it records).

    ``files``: the data section's ``returns``, ``duplicates`` and ``timezone``.
    The bundled sources have their own: CDNOW keeps its same-day repeat rows
    (real purchases) and has no returns to refuse; synthetic tables are
    generated, not read, and keep both. Both have UTC times.
    """
    if data.source == "cdnow":
        return {"returns": "error", "duplicates": "keep", "timezone": "UTC"}
    if data.source == "synthetic":
        return {"returns": "keep", "duplicates": "keep", "timezone": "UTC"}
    return {"returns": data.returns, "duplicates": data.duplicates, "timezone": data.timezone}


def _file_tables(data: DataConfig) -> Tables:
    frames, errors = read_file_tables(data, list(data.tables))
    raise_collected(errors)
    warn_id_spellings(frames)
    warn_unmatched_ids(frames)
    if data.timezone != "UTC":
        log.info("times are %s's (data.timezone): naive ones were read as its local time and those with an offset "
                 "converted to it, so days, months and cutoffs are its calendar's", data.timezone)
    return Tables(**frames)


def read_file_tables(data: DataConfig, names: list[str]) -> tuple[dict[str, pd.DataFrame],
                                                                  list[SchemaError | EmptyDataError]]:
    """The tables ``names`` of ``data.tables``, each read by :func:`read_table` with its entry (path, columns,
    format, read_options, values) and the read policies (``data.returns``, ``duplicates``, ``timezone``, ``end``), in
    contract order: the frames read, and the error of each table that could not be (to list them all at once)."""
    frames: dict[str, pd.DataFrame] = {}
    errors: list[SchemaError | EmptyDataError] = []
    for name in (t for t in TABLE_SPECS if t in data.tables and t in names):
        src = data.tables[name]
        try:
            frames[name] = read_table(
                name, src.path, columns=src.columns, fmt=src.format, read_options=src.read_options, values=src.values,
                returns=data.returns, duplicates=data.duplicates, timezone=data.timezone,
                data_end=data.end,
            )
        except (SchemaError, EmptyDataError) as exc:
            errors.append(exc)
    return frames, errors


def folder_schema_error(exc: SchemaError) -> SchemaError:
    """``exc`` as a ``--data`` folder's tables raise it: a missing column's fix is not a ``data.tables`` mapping,
    and a fix asking for a read option says how to get one applied.

    A ``--data DIR`` folder's files are read with their own column names and the default read
    options; the mapping or option the message suggests would not apply there. Other errors are
    returned as they are.
    """
    problems = list(exc.problems)
    if any("missing required column" in p for p in problems):
        problems = [re.sub(r" or map them in data\.tables\.\w+\.columns( \(in Python: [^)]*\))?, e\.g\. \{.*\}$", " (see below)", p)
                    for p in problems] + [FOLDER_COLUMNS_FIX]
    if any("read_options" in p for p in problems) and READ_OPTIONS_HINT not in problems:
        problems.append(READ_OPTIONS_HINT)
    return exc if problems == list(exc.problems) else SchemaError(problems, exc.table)


def _id_key(ids: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Ids without leading zeros, in lower case: how two spellings of one id are told apart in a hint."""
    return pc.utf8_lower(_without_zeros(ids))


def _without_zeros(ids: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Ids without their leading zeros (``00007`` -> ``7``)."""
    return pc.utf8_ltrim(ids, characters="0")


#: Ids of a table looked up in the transactions by :func:`warn_unmatched_ids` (a spread sample of its rows).
_ID_SAMPLE = 10_000


def _arrow_ids(ids: pd.Series) -> pa.Array:
    """Ids as an Arrow large_string array (zero copy for pandas' Arrow-backed strings)."""
    arr = pa.array(ids, from_pandas=True)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr.cast(pa.large_string())


def _present(ids: pa.Array, column: pa.Array) -> float:
    """The share of ``ids`` (distinct) found in ``column``: one pass of ``column`` against a small hash set."""
    found = pc.unique(pc.filter(column, pc.is_in(column, value_set=ids)))
    return len(found) / len(ids)


def warn_unmatched_ids(frames: Mapping[str, pd.DataFrame]) -> list[str]:
    """Warn about a table whose customer ids do not occur in the transactions (returns the warnings).

    A table none of whose ids is in the transactions, or one where fewer than
    half are but more would be with leading zeros and case ignored (``1``
    against ``0000001``, ``c01`` against ``C01``), is almost surely mis-keyed:
    its features and KPIs would describe no customer of the transactions (a
    referral rate of 0, every segment ``unknown``). Other tables may hold
    customers who never bought (free users' events): they are not warned about.
    """
    tx = frames.get("transactions")
    if tx is None or tx.empty:
        return []
    known = _arrow_ids(tx["customer_id"])
    warned = []
    for name, frame in frames.items():
        if name == "transactions" or "customer_id" not in frame.columns or frame.empty:
            continue
        # A spread sample of the table's rows, its distinct ids looked up in one pass over the transactions'
        # (pandas' isin on millions of Arrow strings took seconds; 50M transactions here take about 0.5 s).
        step = max(len(frame) // (10 * _ID_SAMPLE), 1)
        ids = pc.unique(_arrow_ids(frame["customer_id"].iloc[::step].dropna()))[:_ID_SAMPLE]
        if len(ids) == 0:
            continue
        share = _present(ids, known)
        fixed = _present(pc.unique(_id_key(ids)), _id_key(known)) if share < 0.5 else share
        text = unmatched_ids_text(name, ids.to_pylist(), share, fixed, tx["customer_id"].head(3).tolist(),
                                  whole=step == 1 and len(ids) < _ID_SAMPLE)
        if text:
            log.warning("%s", text)
            warned.append(text)
    return warned


def warn_id_spellings(frames: Mapping[str, pd.DataFrame]) -> list[str]:
    """Warn about ids that are likely one customer's spelt two ways (returns the warnings).

    Among the distinct ids of each table of :data:`~churnml.rules.SPELLED_IDS`: ids equal but for upper
    and lower case (``c0000001`` and ``C0000001``), ids of digits equal but for leading zeros (``7`` and
    ``00007``, as a spreadsheet writes an id it read as a number), and ids holding characters that do not show when
    printed (:data:`~churnml.rules.INVISIBLE`: a NUL, a zero-width space). Ids are compared as written,
    so each is a customer of its own; only a warning, since some systems' ids are case-sensitive.
    One pass over the ids for their distinct values, the rest on those: 0.7-0.9 s per 10M transactions
    (600k customers) with the customers table, 2.4-2.5 s per 53M (measured).
    """
    warned = []
    for name in SPELLED_IDS:
        frame = frames.get(name)
        if frame is None or "customer_id" not in frame.columns or frame.empty:
            continue
        ids = pc.unique(_arrow_ids(frame["customer_id"]).drop_null())
        texts = []
        # ASCII letters only: Spark's and Arrow's Unicode lower cases differ; zeros only of ids of digits, as a
        # spreadsheet drops them (0A and A are not such twins)
        digits = pc.filter(ids, pc.match_substring_regex(ids, r"^[0-9]+$"))
        for some, key, differ in ((ids, pc.ascii_lower(ids), "upper and lower case"),
                                  (digits, _without_zeros(digits), "leading zeros")):
            if len(pc.unique(key)) < len(some):
                keyed = pd.DataFrame({"id": some.to_pandas(), "key": key.to_pandas()})
                keyed = keyed[keyed["key"].duplicated(keep=False)].sort_values(["key", "id"])
                groups = [g.tolist() for _, g in keyed.groupby("key", sort=False)["id"]]
                texts.append(case_twins_text(name, len(keyed), groups[:SHOWN_TWINS], differ))
        hidden = pc.filter(ids, pc.match_substring_regex(ids, INVISIBLE))
        if len(hidden):
            texts.append(invisible_ids_text(name, len(hidden), sorted(hidden.to_pylist())[:SHOWN_TWINS]))
        for text in texts:
            log.warning("%s", text)
        warned += texts
    return warned


def _few(ids: list[str]) -> list[str]:
    """Up to three distinct ids, in their order (a sample of rows may repeat one)."""
    return list(dict.fromkeys(str(i) for i in ids))[:3]


def unmatched_ids_text(table: str, ids: list[str], share: float, fixed: float, tx_ids: list[str], *,
                       whole: bool) -> str | None:
    """The warning of :func:`warn_unmatched_ids` (also Spark's) about one table, or None when it needs none.

    ``ids``: the table's distinct ids looked at (all of them when ``whole``, else a sample); ``share``: the
    share of them in the transactions; ``fixed``: the same share with leading zeros and case ignored;
    ``tx_ids``: a few of the transactions' ids to show.
    """
    if share >= 0.5 or (share > 0 and fixed <= share):
        return None
    hint = ("; they match once leading zeros and case are ignored: write every table's ids the same way "
            "(as text, with the same zeros and case)" if fixed > share else
            "; check that the right column is mapped to customer_id "
            f"(data.tables.{table}.columns)")
    whose = (f"its {len(ids):,} customer ids" if whole
             else f"{len(ids):,} customer ids sampled from its rows")
    return (f"table '{table}': {'none' if share == 0 else f'only {share:.0%}'} of {whose} "
            f"occur in the transactions (e.g. {_few(ids)}; the transactions have e.g. {_few(tx_ids)}){hint}. "
            "Its features and KPIs describe "
            f"{'no' if share == 0 else 'few'} customers of the transactions")


def _synthetic_tables(data: DataConfig) -> Tables:
    name = "churnml.datasets.synthetic"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise ConfigError(f"data.source is 'synthetic' but {name} is not available in this version; "
                          "use data.source: cdnow or files") from None
    frames = module.generate(data.synthetic)
    return Tables(**{k: v for k, v in frames.items() if k in TABLE_SPECS})
