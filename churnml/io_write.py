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
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pandas as pd

from churnml.errors import ChurnMLError

__all__ = ["check_writable", "file_format", "write_frame", "write_frames", "write_json", "write_text"]

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


def _cannot_write(target: Path, exc: OSError) -> ChurnMLError:
    return ChurnMLError(f"cannot write {target} ({exc.strerror or exc}); fix: give a file in a folder you can write "
                        "(with room for it)")


def check_writable(path: str | Path) -> None:
    """Check, before the work that makes it, that a file can be written at ``path``: its folder is created if
    missing and a temporary file made and removed there; ``path`` is not a folder.

    Raises
    ------
    ChurnMLError
        Naming the file, what the system said and the fix.
    """
    target = Path(path)
    if target.is_dir():
        raise ChurnMLError(f"cannot write {target}: it is a folder; fix: give a file name (e.g. {target / 'list.csv'})")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent):
            pass
    except OSError as exc:
        raise _cannot_write(target, exc) from None


@contextmanager
def _atomic(path: str | Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it into place.

    Refuses an existing target without ``overwrite``; the file gets the usual
    permissions (0666 minus the umask), not mkstemp's private 0600. A file that
    cannot be written (no such folder, no permission, a full disk) is a
    :class:`~churnml.errors.ChurnMLError` naming it.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise ChurnMLError(f"{target} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, target)
        except OSError as exc:
            raise _cannot_write(target, exc) from None
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
    file_format(target)  # an unknown suffix before anything is made
    with _atomic(target, overwrite) as tmp:
        _write_to(df, target, tmp, index)
    log.info("wrote %s rows to %s", len(df), target)
    return target


def _write_to(df: pd.DataFrame, target: Path, tmp: Path, index: bool = False) -> None:
    """Write ``df`` to ``tmp`` in the format ``target``'s name says."""
    if file_format(target) == "parquet":
        # without pandas' attrs (pandas keeps them in the file): a frame's record of where it was read from
        # (churnml.io.READ_ATTR) is not the written file's; read_table marks the file when it reads it
        bare = df.copy(deep=False)
        bare.attrs = {}
        bare.to_parquet(tmp, index=index, coerce_timestamps="us", allow_truncated_timestamps=True)
    else:
        df.to_csv(tmp, index=index, compression="gzip" if target.suffix == ".gz" else None)


class _SignalsHeld:
    """Entered first, left last: after :meth:`hold`, Ctrl-C and SIGTERM wait until the context is left (POSIX,
    main thread; elsewhere nothing is held)."""

    def __init__(self) -> None:
        self.held: set[int | signal.Signals] | None = None

    def __enter__(self) -> _SignalsHeld:
        return self

    def hold(self) -> None:
        if hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread():
            self.held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})

    def __exit__(self, *exc: object) -> None:
        if self.held is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.held)


def write_frames(frames: list[tuple[pd.DataFrame, str | Path]], *, overwrite: bool = False) -> list[Path]:
    """Write several frames as :func:`write_frame` does, all or none: each goes to a temporary file first,
    and the files are renamed into place, one after the other with Ctrl-C and SIGTERM held back, only when
    every one was written (a failed write leaves the older files as they were)."""
    targets = [Path(p) for _, p in frames]
    with ExitStack() as stack:
        signals = stack.enter_context(_SignalsHeld())
        for (df, _), target in zip(frames, targets, strict=True):
            _write_to(df, target, stack.enter_context(_atomic(target, overwrite)))
        signals.hold()  # leaving the stack renames every file, then lets the signals through
    for (df, _), target in zip(frames, targets, strict=True):
        log.info("wrote %s rows to %s", len(df), target)
    return targets


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
