"""Writing outputs: frames, text and JSON, atomically.

Every write goes to a temporary file in the target's folder and is then
renamed into place, so a reader never sees half a file; an existing file is
replaced only with ``overwrite=True``. The file format of a frame follows the
file name (:func:`file_format`). Re-exported by :mod:`churnml.io`; import the
writers from there.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from churnml.errors import ChurnMLError

__all__ = ["file_format", "write_frame", "write_json", "write_text"]

log = logging.getLogger("churnml.io")  # split out of churnml.io; its messages keep that logger


def file_format(path: Path) -> str:
    """The data format of ``path`` by its name: ``parquet`` (``.parquet``, ``.pq``) or ``csv``
    (``.csv``, ``.csv.gz``).

    Raises
    ------
    ChurnMLError
        Any other name.
    """
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith(".parquet") or suffixes.endswith(".pq"):
        return "parquet"
    if suffixes.endswith(".csv") or suffixes.endswith(".csv.gz"):
        return "csv"
    raise ChurnMLError(
        f"cannot tell the file format of {path}: use a name ending in .csv, .csv.gz or .parquet"
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _atomic(path: str | Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it into place.

    Refuses an existing target without ``overwrite``; the file gets the usual
    permissions (0666 minus the umask), not mkstemp's private 0600.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise ChurnMLError(f"{target} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_frame(df: pd.DataFrame, path: str | Path, *, overwrite: bool = False, index: bool = False) -> Path:
    """Write a frame to CSV or Parquet (by suffix), atomically.

    Parameters
    ----------
    df : DataFrame
        What to write. Parquet timestamps are written in microseconds so that
        Spark can read them.
    path : str or Path
        Target file; ``.csv``, ``.csv.gz`` or ``.parquet``.
    overwrite : bool
        Replace an existing file. Without it an existing file is an error.
    index : bool
        Write the index too.

    Returns
    -------
    Path
        The written file.
    """
    target = Path(path)
    fmt = file_format(target)
    with _atomic(target, overwrite) as tmp:
        if fmt == "parquet":
            # without pandas' attrs (pandas keeps them in the file): a frame's record of where it was read from
            # (churnml.io.READ_ATTR) is not the written file's; read_table marks the file when it reads it
            bare = df.copy(deep=False)
            bare.attrs = {}
            bare.to_parquet(tmp, index=index, coerce_timestamps="us", allow_truncated_timestamps=True)
        else:
            df.to_csv(tmp, index=index, compression="gzip" if target.suffix == ".gz" else None)
    log.info("wrote %s rows to %s", len(df), target)
    return target


def write_text(text: str, path: str | Path, overwrite: bool = False) -> Path:
    """Write UTF-8 text (HTML, JSON, ...) to ``path``, atomically."""
    target = Path(path)
    with _atomic(target, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    log.info("wrote %s", target)
    return target


def write_json(obj: object, path: str | Path, overwrite: bool = False) -> Path:
    """Write a JSON-ready object to ``path``, atomically (temporary file, then rename).

    Parameters
    ----------
    obj : object
        Anything :func:`json.dumps` accepts (NaN is not allowed: use None).
    path : str or Path
        Target file, usually ending in ``.json``.
    overwrite : bool
        Replace an existing file. Without it an existing file is an error.

    Returns
    -------
    Path
        The written file.
    """
    try:
        text = json.dumps(obj, indent=2, allow_nan=False, default=str)
    except ValueError as exc:
        raise ChurnMLError(f"cannot write {path} as JSON: {exc}; replace NaN by None") from None
    return write_text(text + "\n", path, overwrite)
