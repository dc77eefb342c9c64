"""What every churnml command line shares: --config, --set, --debug, and
turning churnml errors into one readable line and exit code 2."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable

from churnml.config import Config, load_config
from churnml.errors import ChurnMLError

__all__ = ["base_parser", "config_from_args", "run"]

EXIT_USER_ERROR = 2


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser with the options every command has."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--config", help="YAML config file (default: built-in defaults, bundled CDNOW)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
        help="override one config value, e.g. --set time.horizon_days=90 (repeatable)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    return load_config(args.config, overrides=list(args.set))


def _setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("mlflow", "alembic", "urllib3", "matplotlib", "numba", "shap"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)


def run(main: Callable[[argparse.Namespace], int], parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse ``argv``, run ``main`` and map churnml errors to exit code 2."""
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    _setup_logging(args.debug)
    try:
        return main(args)
    except ChurnMLError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        print("(run again with --debug for the traceback)", file=sys.stderr)
        return EXIT_USER_ERROR
