"""How the metrics read their inputs: the tables and the settings.

The metrics accept the canonical tables in any of three shapes, so that they
do not depend on :mod:`churnml.io`:

* an object with one attribute per canonical table (``churnml.io.Tables``),
  ``None`` for an absent table;
* a mapping ``{"transactions": frame, "surveys": frame, ...}``;
* a bare transactions frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from churnml.config import Config, MetricsConfig, TimeConfig
from churnml.engine import as_tables, in_memory
from churnml.errors import ConfigError, EmptyDataError, SchemaError
from churnml.sources import check_sources

__all__ = ["TablesLike", "purchases", "require_table", "settings_of", "table_of"]

#: A ``churnml.io.Tables``, a mapping of table name to frame, or a transactions frame.
TablesLike = Any


def table_of(tables: TablesLike, name: str) -> pd.DataFrame | None:
    """The canonical table ``name`` from ``tables``, or None when it is absent.

    A table that is given is checked against the data contract first
    (:func:`churnml.sources.check_sources`: columns, dtypes, missing values,
    survey scales, one row per key), so that a text flag or a repeated
    customer is an error that names the rows, not a wrong number.
    """
    if isinstance(tables, pd.DataFrame):
        found = tables if name == "transactions" else None
    elif isinstance(tables, Mapping):  # a misnamed key ('transaction') is refused, as everywhere
        found = getattr(as_tables(tables), name, None)
    else:
        found = getattr(tables, name, None)
    if found is None:
        return None
    frame = in_memory(found, name, "the metrics need")
    check_sources({name: frame})
    return frame


def require_table(tables: TablesLike, name: str, why: str) -> pd.DataFrame:
    """The table ``name``; raise when it is absent or has no rows.

    Parameters
    ----------
    why : str
        What needs the table, for the message (e.g. ``"time.regime=contractual"``).
    """
    frame = table_of(tables, name)
    if frame is None:
        raise SchemaError(
            f"{why} needs the '{name}' table, but none was given; add data.tables.{name} "
            f"to the config (or pass it in the tables)",
            table=name,
        )
    if frame.empty:
        raise EmptyDataError(f"table '{name}' has no rows; {why} needs at least one")
    return frame


def purchases(transactions: pd.DataFrame) -> pd.DataFrame:
    """The purchase rows of a transactions table: ``amount >= 0``.

    The same definition as :mod:`churnml.labels`: returns (negative amounts)
    are not purchases; they still reduce revenue.
    """
    tx = in_memory(transactions, "transactions", "the metrics need")
    return tx.loc[tx["amount"] >= 0]


def settings_of(cfg: Config | TimeConfig | None) -> tuple[TimeConfig, MetricsConfig, object | None]:
    """The time model, the metrics settings and the declared data end of ``cfg``."""
    if isinstance(cfg, Config):
        return cfg.time, cfg.metrics, cfg.data.end
    if isinstance(cfg, TimeConfig):
        return cfg, MetricsConfig(), None
    if cfg is not None:  # e.g. retention_kpis(tx, "Q"): the period is freq=, not the second argument
        raise ConfigError(f"cfg must be a churnml Config (churnml.config.load_config), a TimeConfig or None, got "
                          f"{type(cfg).__name__} {cfg!r}; the period is the freq= argument (e.g. freq='Q')")
    return TimeConfig(), MetricsConfig(), None
