"""Reading and writing data files: the only module that touches data on disk.

Writes are atomic (a temporary file in the same folder, then a rename) and
never replace an existing file unless ``overwrite=True``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pandas as pd

from churnml.errors import ChurnMLError

__all__ = ["write_frame"]

log = logging.getLogger(__name__)


def _format_of(path: Path) -> str:
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith(".parquet") or suffixes.endswith(".pq"):
        return "parquet"
    if suffixes.endswith(".csv") or suffixes.endswith(".csv.gz"):
        return "csv"
    raise ChurnMLError(
        f"cannot tell the file format of {path}: use a name ending in .csv, .csv.gz or .parquet"
    )


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
    fmt = _format_of(target)
    if target.exists() and not overwrite:
        raise ChurnMLError(f"{target} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if fmt == "parquet":
            df.to_parquet(tmp, index=index, coerce_timestamps="us", allow_truncated_timestamps=True)
        else:
            df.to_csv(tmp, index=index, compression="gzip" if target.suffix == ".gz" else None)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    log.info("wrote %s rows to %s", len(df), target)
    return target
