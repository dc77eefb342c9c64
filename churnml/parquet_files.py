"""Folders of Parquet files (as Spark, Hive or pyarrow write a table): their files, schemas and partition values.

A table may be one Parquet file or a folder of them (``transactions/part-00000-....parquet``, ...), in
sub-folders ``column=value`` when the writer partitioned it. Every engine reads the same files of such a
folder: in path order, skipping names that start with ``_`` or ``.`` (``_SUCCESS``, ``.crc`` files), as
Spark and pyarrow do (the partition values are text in :func:`churnml.io.read_table`; DuckDB and Spark
infer their types). The files must agree on the columns churnml reads (:func:`check_same_schema`): a
column absent from one file, stored as another type, or a time with a zone in one file and without in
another would be read as missing, fail deep in a reader, or be read as the wrong instants.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.dataset as ds

from churnml.errors import SchemaError

__all__ = ["check_same_schema", "column_kind", "folder_schemas", "parquet_parts", "partition_values"]

#: The value Hive and Spark write for a null partition value.
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def parquet_parts(folder: str | Path, table: str | None = None) -> list[Path]:
    """The data files of a Parquet folder, in path order (names starting with ``_`` or ``.`` skipped).

    Raises
    ------
    SchemaError
        The folder holds no such file (what it holds instead is named).
    """
    root = Path(folder)
    parts = sorted(p for p in root.rglob("*") if p.is_file()
                   and not any(s.startswith(("_", ".")) for s in p.relative_to(root).parts))
    if not parts:
        raise SchemaError(f"the folder {str(root)!r} holds no data file (names starting with '_' or '.' are "
                          "not read); fix: point to the folder holding the table's Parquet files", table)
    other = [p for p in parts if p.suffix.lower() in (".csv", ".gz", ".json", ".txt", ".orc", ".avro")]
    if other:
        raise SchemaError(f"the folder {str(root)!r} holds {other[0].name}{_more(other)}: a folder is read as Parquet "
                          "files only; fix: write the table as Parquet, or give one CSV file's path", table)
    return parts


def _more(items: Sequence[object]) -> str:
    return f" and {len(items) - 1:,} more" if len(items) > 1 else ""


def partition_values(folder: str | Path, part: Path) -> dict[str, str | None]:
    """The ``column=value`` sub-folders between ``folder`` and ``part``, as text (``%XX`` escapes decoded,
    Hive's null marker as None)."""
    values: dict[str, str | None] = {}
    for step in part.relative_to(folder).parts[:-1]:
        if "=" in step:
            key, value = step.split("=", 1)
            text = unquote(value)
            values[unquote(key)] = None if text == HIVE_NULL else text
    return values


def folder_schemas(folder: str | Path, table: str) -> list[tuple[str, pa.Schema]]:
    """Each data file's path and schema (from its footer), in path order.

    Raises
    ------
    SchemaError
        A file is not Parquet (pyarrow's words, with the file).
    """
    schemas = []
    for part in parquet_parts(folder, table):
        try:
            fragment = next(iter(ds.dataset(str(part), format="parquet").get_fragments()))
            schemas.append((str(part), fragment.physical_schema))
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise SchemaError(f"cannot read {part} (in the folder {str(folder)!r}) as Parquet: {exc}; fix: keep only "
                              "the table's Parquet files in the folder", table) from exc
    return schemas


def column_kind(t: pa.DataType) -> str:
    """A Parquet column's type as the readers tell types apart: text and binary of any width alike, a
    dictionary as its values, times by whether they have a zone (their unit is each file's own), numbers by
    type and width (Spark fails reading an int64 file into an int32 schema)."""
    if pa.types.is_dictionary(t):
        return column_kind(t.value_type)
    if pa.types.is_timestamp(t):
        return "timestamp with a zone" if t.tz is not None else "timestamp without a zone"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    return str(t)


def check_same_schema(path: str | Path, schemas: list[tuple[str, pa.Schema]], table: str,
                      read: Iterable[str]) -> None:
    """Refuse the files of a folder that disagree on a column churnml reads (``read``, the source's names of
    the contract's columns): absent from some (it would be read as missing there), of another type (a reader
    fails deep in its work, or reads one file's bytes as the other's type), or a time with a zone in one file
    and without in another (one file's UTC instants would be read as local times). Other columns may differ."""
    if len(schemas) < 2:
        return
    wanted = set(read)
    kinds: dict[str, dict[str, list[str]]] = {}  # column -> kind -> files
    for file, schema in schemas:
        for f in schema:
            if f.name in wanted:
                kinds.setdefault(f.name, {}).setdefault(column_kind(f.type), []).append(file)

    def some(files: list[str]) -> str:
        return files[0] + _more(files)

    problems = []
    for name, by in sorted(kinds.items()):
        having = [file for files in by.values() for file in files]
        lacking = [file for file, _ in schemas if file not in having]
        if lacking:
            problems.append(f"column {name!r} is in {some(having)} but not in {some(lacking)} (it would be read "
                            "as missing there)")
        if len(by) > 1:
            problems.append(f"column {name!r} is stored as " + "; as ".join(f"{kind} in {some(files)}"
                                                                            for kind, files in sorted(by.items())))
    if problems:
        raise SchemaError(
            f"the Parquet files of {str(path)!r} do not share one schema, which is needed to read them as one "
            f"table: {'; '.join(problems[:5])}{'; ...' if len(problems) > 5 else ''}. Fix: write every file with the "
            "same columns and types (and times all with a zone or all without), e.g. read each with pandas, make "
            "them agree and write them again with churnml.io.write_frame", table=table)
