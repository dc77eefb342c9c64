"""Value maps: a table's text values as the file writes them -> the values churnml should read.

``data.tables.<table>.values`` (``read_table``'s ``values=``) maps, per text column, the
file's spellings to one value, e.g. ``{event_type: {Login: login, "Log in": login}}`` or
``{survey: {"Net Promoter Score": nps}}``: an export's several spellings of one event type
(which would name one feature twice) or its own names of the survey types. A value is
matched as the validation reads it, without surrounding spaces; unmapped values stay as they
are. Both engines apply the same check (:func:`check_values`) and the same map before the
table is validated.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from churnml.errors import ConfigError
from churnml.schema import TableSpec

__all__ = ["check_present", "check_values", "recode_frame", "unused_text", "values_key"]

log = logging.getLogger(__name__)


def values_key(table: str) -> str:
    """Where a table's value map is given (the config's key)."""
    return f"data.tables.{table}.values"


def check_values(spec: TableSpec, values: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, str]]:
    """The value map of ``spec``'s table, checked: each column a text column of the contract (event types,
    survey types, plans, channels, ...) or one outside it (a customer attribute), each value a text.

    Returns it with the keys and values as text (YAML reads ``1: basic`` as a number: read as ``'1'``). Raises
    :class:`~churnml.errors.ConfigError` naming every problem and the fix (a yes/no value, as YAML reads an
    unquoted ``Yes``, is refused: its text is not known).
    """
    key = values_key(spec.name)
    problems, out = [], {}
    for column, mapping in values.items():
        if column in spec and spec.column(column).kind != "str":
            kind = spec.column(column).kind
            problems.append(f"{key}.{column}: {column} is a column of {kind}s, not of text; a value map renames "
                            "text values (event and survey types, plans, channels, attributes)")
            continue
        if not isinstance(mapping, Mapping) or not mapping:
            problems.append(f"{key}.{column}: give a map from the file's values to churnml's, e.g. "
                            "{'Log in': login}")
            continue
        empty = [k for k, v in mapping.items() if v is None or not str(v).strip()]
        if empty:
            problems.append(f"{key}.{column}: {sorted(map(str, empty))} map to no value; a value map renames values "
                            "(leave a value out to keep it, or remove its rows from the file)")
            continue
        flags = [x for pair in mapping.items() for x in pair if isinstance(x, bool)]
        if flags:  # YAML reads yes, no, on, off, true and false as yes/no values, not as the text written
            problems.append(f"{key}.{column}: {flags[0]} is a yes/no value, not a text (YAML reads yes, no, on, off, "
                            "true and false so); quote the text as the file writes it, e.g. {'Yes': 'yes'}")
            continue
        out[str(column)] = {str(k).strip(): str(v).strip() for k, v in mapping.items()}
    if problems:
        raise ConfigError("; ".join(problems))
    return out


def check_present(table: str, checked: Mapping[str, object], columns: Sequence[object]) -> None:
    """Refuse a value map naming a column the table (``columns``: canonical names) does not have."""
    absent = sorted(c for c in checked if c not in columns)
    if absent:
        raise ConfigError(f"{values_key(table)} maps the values of {absent}, which the table does not have; "
                          f"its columns are {[str(c) for c in columns]} (the map's keys are churnml's column "
                          "names, after data.tables.<table>.columns)")


def unused_text(table: str, column: str, unused: list[str], found: int) -> str:
    """The warning for map entries no row has (a typo, or another export's spelling)."""
    return (f"{values_key(table)}.{column}: {len(unused)} of the map's values are in no row ({unused[:5]}); the "
            f"column has {found:,} distinct values; check their spelling (matched as written, case counts)")


def _as_written(values: pd.Series) -> pd.Series:
    """Values as the text a map matches: stripped; a whole number in a float column (a column of numbers
    with an empty cell) as the integer its file wrote (``1.0`` as ``'1'``)."""
    text = values.astype("str").str.strip()
    if not pd.api.types.is_float_dtype(values.dtype):
        return text
    whole = (np.abs(values) < 1e15) & (values == values.round())  # exact integers (NaN and inf compare false)
    return text.where(~whole, values.where(whole, 0).round().astype("int64").astype("str"))


def recode_frame(spec: TableSpec, frame: pd.DataFrame, values: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """``frame`` (columns already canonical) with the values of :func:`check_values`' map replaced.

    A column the map names that the frame does not have is a :class:`~churnml.errors.ConfigError`. Each
    column's distinct values are mapped once (cheap beside the column); the number of rows changed is logged,
    and the map's values found in no row get a warning. ``frame`` itself is not changed.
    """
    checked = check_values(spec, values)
    check_present(spec.name, checked, list(frame.columns))
    changed = {}
    for column, mapping in checked.items():
        col = frame[column]
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        seen = _as_written(pd.Series(uniques))
        target = seen.map(mapping)
        hit = target.notna().to_numpy()
        unused = sorted(set(mapping) - set(seen))
        if unused:
            log.warning("%s", unused_text(spec.name, column, unused, len(uniques)))
        if not hit.any():
            continue
        new = pd.Series(uniques, dtype="object").where(~hit, target).to_numpy()
        rows = (codes >= 0) & hit[codes.clip(min=0)]
        changed[column] = pd.Series(new[codes.clip(min=0)], index=frame.index).where(codes >= 0, col)
        log.info("%s.%s: %d row(s) renamed by %s (%s)", spec.name, column, int(rows.sum()), values_key(spec.name),
                 ", ".join(f"{k!r} -> {v!r}" for k, v in list(mapping.items())[:5]))
    return frame.assign(**changed) if changed else frame
