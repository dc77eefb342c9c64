"""What every churnml command line shares: --config, --set, --debug, the
engine options, and turning churnml errors into one readable line and exit code 2."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import math
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from churnml.config import Config, load_config
from churnml.errors import ChurnMLError, ConfigError

__all__ = ["add_engine_options", "add_json_option", "base_parser", "collected_warnings", "config_from_args",
           "print_json", "refuse_options", "require_spark", "run"]

EXIT_USER_ERROR = 2
DEFAULT_SPARK_MASTER = "local[2]"
DEFAULT_SPARK_MEMORY = "4g"  # churnml.spark.local_session's default too


def base_parser(
    prog: str, description: str, set_help: str = "e.g. --set time.horizon_days=90 (repeatable)",
    add_help: bool = True,
) -> argparse.ArgumentParser:
    """A parser with the options every command has; ``set_help`` ends the help of ``--set``; ``add_help``
    False for a parent of subcommands' parsers."""
    parser = argparse.ArgumentParser(prog=prog, description=description, add_help=add_help)
    parser.add_argument("--config", help="YAML config file (default: built-in defaults, bundled CDNOW)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
        help=f"override one config value, {set_help}",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    return parser


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine duckdb|spark`` (default duckdb), ``--spark-master`` and ``--spark-memory``."""
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="where features are computed: duckdb (default, this machine) or spark "
                             "(pip install 'churnml[spark]', Java 17)")
    parser.add_argument("--spark-master", default=DEFAULT_SPARK_MASTER, metavar="URL",
                        help=f"Spark master with --engine spark (default {DEFAULT_SPARK_MASTER}: 2 local cores)")
    parser.add_argument("--spark-memory", default=DEFAULT_SPARK_MEMORY, metavar="SIZE", type=_memory_size,
                        help=f"JVM heap of the Spark driver with --engine spark, e.g. 8g (default "
                             f"{DEFAULT_SPARK_MEMORY}; in local mode all of Spark runs in it)")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: the command's summary as one JSON object on stdout, for a scheduler or a script."""
    parser.add_argument("--json", action="store_true",
                        help="print the summary as one JSON object on stdout instead of text (logs and errors "
                             "stay on stderr)")


def print_json(record: dict[str, Any]) -> None:
    """Print ``record`` as JSON; numbers that JSON cannot hold (NaN, infinities) become null."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if isinstance(value, float | np.floating):
            return float(value) if math.isfinite(value) else None
        if isinstance(value, np.integer | np.bool_):
            return value.item()
        return value

    print(json.dumps(clean(record), indent=2))


#: The folder of churnml's modules: a Python warning raised from a file in it is churnml's.
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


@contextlib.contextmanager
def collected_warnings() -> Iterator[list[str]]:
    """The warnings emitted while the block runs, in order, for a ``--json`` summary.

    Every logging record at WARNING or above that reaches the root logger
    (the WARNING lines of stderr, as ``record.getMessage()``: without time
    stamp, level and logger), and every Python warning raised from churnml's
    own code, as ``<category>: <message>``. Nothing else changes: the records
    are still logged and the warnings still shown on stderr, once each.
    """
    texts: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            texts.append(record.getMessage())

    handler = Collect(logging.WARNING)
    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if os.path.abspath(filename).startswith(_PACKAGE + os.sep):
            texts.append(f"{category.__name__}: {message}")
        shown(message, category, filename, lineno, file, line)

    root = logging.getLogger()
    root.addHandler(handler)
    warnings.showwarning = show
    try:
        yield texts
    finally:
        warnings.showwarning = shown
        root.removeHandler(handler)


def _memory_size(text: str) -> str:
    """A JVM memory size as Spark reads it (``512m``, ``4g``): digits and a unit k, m, g or t."""
    if re.fullmatch(r"[1-9][0-9]*[kmgtKMGT]", text.strip()) is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory size such as 4g or 4096m")
    return text.strip().lower()


def refuse_options(problems: list[str]) -> None:
    """Raise one :class:`ConfigError` for the bad options found (nothing when the list is empty).

    One problem is the message; several are listed under "N problems with the options".
    """
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} problems with the options:\n" + "\n".join(f"  - {p}" for p in problems))


#: The start of the FutureWarning pyspark 4 gives at each pandas conversion when pandas is 3.
PYSPARK_PANDAS_WARNING = "PySpark does not yet fully support pandas"


def require_spark() -> None:
    """Raise :class:`ConfigError` naming the install command unless pyspark can be imported.

    For the command lines' ``--engine spark``, also silences pyspark's warning
    that it does not fully support pandas 3, which it repeated at every
    conversion: churnml requires pandas 3, and tests/test_spark.py checks that
    Spark's features, labels and scores equal DuckDB's with it. Only these
    commands filter it; the Python API leaves warnings to the caller.
    """
    if any(importlib.util.find_spec(name) is None for name in ("pyspark", "py4j")):
        raise ConfigError("--engine spark needs pyspark: pip install 'churnml[spark]' (and Java 17), "
                          "or use --engine duckdb")
    warnings.filterwarnings("ignore", message=PYSPARK_PANDAS_WARNING, category=FutureWarning)


def config_from_args(args: argparse.Namespace) -> Config:
    return load_config(args.config, overrides=list(args.set))


def _setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("mlflow", "alembic", "urllib3", "matplotlib", "numba", "shap"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)


def run(main: Callable[[argparse.Namespace], int], parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse ``argv``, run ``main`` and map churnml errors to exit code 2.

    With ``--engine spark``, a JVM that stopped (e.g. out of heap, see
    :func:`churnml.spark.local_session`) ends with one line naming
    ``--spark-memory`` and exit code 1 instead of py4j's traceback.
    """
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # MLflow, when imported, gives its loggers a handler and format of their own: its lines then read
    # otherwise than churnml's and its INFO lines show whatever the level. The user's value wins.
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    _setup_logging(args.debug)
    try:
        with _stopped_by_sigterm():
            return main(args)
    except KeyboardInterrupt as exc:  # Ctrl-C, or a scheduler's SIGTERM (Stopped)
        if args.debug:
            raise
        signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
        return _failed(f"stopped by {signal.Signals(signum).name}: any MLflow run it started is marked KILLED, and "
                       "the files churnml writes are replaced only whole", 128 + signum, traceback_hint=False)
    except ChurnMLError as exc:
        if args.debug:
            raise
        return _failed(str(exc), EXIT_USER_ERROR)
    except Exception as exc:
        what = None if args.debug or getattr(args, "engine", None) != "spark" else _spark_memory_problem(exc)
        if what is None:
            raise
        return _failed(f"{what}: give it more with --spark-memory, e.g. --spark-memory 8g (now "
                       f"{getattr(args, 'spark_memory', DEFAULT_SPARK_MEMORY)})", 1)


class Stopped(KeyboardInterrupt):
    """A termination signal (SIGTERM, as schedulers send to stop a job), raised where the command was, so
    that it ends as Ctrl-C does: runs marked KILLED, temporary files removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """Turn SIGTERM into :class:`Stopped` while a command runs (in the main thread, when nothing else
    handles it): by default Python dies at once, leaving an MLflow run RUNNING for ever."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise Stopped(signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _failed(message: str, code: int, traceback_hint: bool = True) -> int:
    """Print the one-line error of a command and return its exit code."""
    print(f"error: {message}", file=sys.stderr)
    if traceback_hint:
        print("(run again with --debug for the traceback)", file=sys.stderr)
    return code


def _spark_memory_problem(exc: BaseException) -> str | None:
    """What went wrong when ``exc`` says Spark ran out of memory or its JVM went away; None otherwise."""
    name, text = type(exc).__name__, str(exc)
    if (isinstance(exc, ConnectionRefusedError) or name == "Py4JNetworkError"
            or (name == "Py4JError" and "Answer from Java side is empty" in text)):
        return ("Spark's JVM stopped while churnml was talking to it (if it printed 'Java heap space' just above, "
                "it ran out of memory)")
    if "OUT_OF_MEMORY" in text or "OutOfMemoryError" in text:
        return "Spark ran out of memory"
    return None
