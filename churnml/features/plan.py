"""What to compute: the feature plan, learnt once at training and reused at scoring.

:func:`plan_features` decides, from the tables and the earliest cutoff,
which families run (those whose table is present), which look-back windows
are kept after censoring, and the event and survey types that become
columns. The :class:`FeaturePlan` is stored with a model so that scoring
computes exactly the training columns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from churnml.config import Config, FeaturesConfig
from churnml.engine import ParquetSource, TableSource, as_tables, run_sql
from churnml.errors import ConfigError, SchemaError
from churnml.features.base import FamilyContext, FamilySQL, sql_name
from churnml.features.customers import customers_family
from churnml.features.events import events_family
from churnml.features.rfm import rfm_family
from churnml.features.subscriptions import subscriptions_family
from churnml.features.surveys import surveys_family
from churnml.features.tickets import tickets_family
from churnml.features.windowed import windowed_family
from churnml.schema import STAND_IN, TABLE_SPECS
from churnml.sources import check_sources
from churnml.windows import DAY, cutoff_list, history_sql, to_cutoff

__all__ = ["FAMILIES", "TYPE_COLUMN", "FeaturePlan", "distinct_before", "order_problem", "plan_features", "table_of",
           "type_counts"]

#: The column of each table whose values (event and survey types) name feature columns.
TYPE_COLUMN = {"events": "event_type", "surveys": "survey"}

log = logging.getLogger(__name__)

FAMILIES: dict[str, tuple[str, Callable[[FamilyContext], FamilySQL]]] = {
    "rfm": ("transactions", rfm_family),
    "windowed": ("transactions", windowed_family),
    "events": ("events", events_family),
    "surveys": ("surveys", surveys_family),
    "tickets": ("tickets", tickets_family),
    "subscriptions": ("subscriptions", subscriptions_family),
    "customers": ("customers", customers_family),
}


@dataclass(frozen=True)
class FeaturePlan:
    """What to compute; learned once (at training) and reused (at scoring).

    Attributes
    ----------
    families : tuple of str
        Families whose table is present, in a fixed order.
    windows : tuple of int
        Look-back windows (days) kept: with ``censored="drop"`` only windows
        that fit in the history of the earliest training cutoff.
    dropped_windows : tuple of int
        Windows dropped for censoring.
    data_start : str
        First day of the transactions (ISO date).
    event_types, survey_types : tuple of str
        Per-type columns to produce.
    optional_columns : dict
        Optional canonical columns present per table.
    censored : str
        ``drop`` or ``flag``.
    orders : bool
        Purchases are orders: the transactions had an ``order_id`` column, so
        the rows of one order on one day count as one purchase (one return
        for returns); rows without an order id count one each. ``False``
        (and for plans saved before churnml counted orders): each row is one.
    """

    families: tuple[str, ...]
    windows: tuple[int, ...]
    dropped_windows: tuple[int, ...] = ()
    data_start: str = ""
    event_types: tuple[str, ...] = ()
    survey_types: tuple[str, ...] = ()
    optional_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    censored: str = "drop"
    btyd_horizon_days: int | None = None
    orders: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeaturePlan:
        d = dict(d)
        for key in ("families", "windows", "dropped_windows", "event_types", "survey_types"):
            d[key] = tuple(d.get(key, ()))
        for key in ("event_types", "survey_types"):  # a plan saved before types were read stripped: as now
            d[key] = tuple(dict.fromkeys(t.strip() for t in d[key] if t.strip()))
        d["optional_columns"] = {k: tuple(v) for k, v in d.get("optional_columns", {}).items()}
        return cls(**d)

    def context(self) -> FamilyContext:
        return FamilyContext(
            self.windows,
            self.event_types,
            self.survey_types,
            {k: frozenset(v) for k, v in self.optional_columns.items()},
        )


def table_of(tables: object, name: str) -> TableSource | None:
    """Table ``name`` of a ``Tables``-like object or a mapping; None when absent."""
    found: TableSource | None = getattr(as_tables(tables), name, None)
    return found


def _first_time(tx: TableSource) -> pd.Timestamp:
    """The first transaction time (Parquet: from the column statistics when written)."""
    if isinstance(tx, ParquetSource):
        return pd.Timestamp(run_sql('SELECT MIN("timestamp") AS t FROM tx', {"tx": tx[["timestamp"]]})["t"].iloc[0])
    return pd.Timestamp(tx["timestamp"].min())


def distinct_before(frame: TableSource | None, column: str, before: pd.Timestamp) -> tuple[str, ...]:
    """Sorted distinct non-null values of a text column (event or survey types) in the rows ``timestamp < before``.

    Only rows some cutoff's history holds: a type first seen at or after the last cutoff would add columns
    that are 0 or NaN at every cutoff, and rows appended after the cutoffs would change the frame's columns.
    """
    return tuple(sorted(type_counts(frame, column, before)))


def type_counts(frame: TableSource | None, column: str, before: pd.Timestamp) -> dict[str, int]:
    """Rows per distinct non-null value of a text column (event or survey types) among the rows
    ``timestamp < before`` (:func:`distinct_before`'s values). One DuckDB pass over a frame or a
    :class:`~churnml.engine.ParquetSource` (two columns read).
    """
    if frame is None:
        return {}
    seen = history_sql('"timestamp"', f"TIMESTAMP '{before}'")
    sql = f'SELECT "{column}" AS v, COUNT(*) AS n FROM t WHERE "{column}" IS NOT NULL AND {seen} GROUP BY 1'
    source = frame[[column, "timestamp"]] if isinstance(frame, ParquetSource) else frame
    counts = run_sql(sql, {"t": source})
    return {str(v): int(n) for v, n in zip(counts["v"], counts["n"], strict=True)}


def _types(frame: TableSource | None, table: str, column: str, before: pd.Timestamp,
           reserved: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The distinct values of a type column before the last cutoff that name feature columns (:func:`distinct_before`).

    Feature names keep a value's letters and digits, lower-cased, in ASCII (code points for
    other scripts), with each run of other characters as ``_``
    (:func:`churnml.features.base.sql_name`). Two values
    giving the same name would give two columns of one name, and so would a
    value named like a ``reserved`` name (the events' ``all``, whose
    ``evt_all_count_{W}d`` count every type): both are an error that lists them.
    """
    counts = type_counts(frame, column, before)
    values = tuple(sorted(counts))  # distinct_before's
    by_name: dict[str, list[str]] = {name: [f"the {table} family's own '{name}' columns"] for name in reserved}
    for v in values:
        by_name.setdefault(sql_name(v), []).append(v)
    clashing = {name: vs for name, vs in by_name.items() if len(vs) > 1}
    if clashing:  # each value with its rows, so that the fix knows how much it moves
        stand_in = isinstance(frame, pd.DataFrame) and frame.attrs.get(STAND_IN)  # Spark's: one row per type
        shown = {v: repr(v) + ("" if stand_in else f" ({n:,} row{'s' * (n != 1)})") for v, n in counts.items()}
        clashes = [f"{' and '.join(shown.get(v, v) for v in vs)} (both '{name}')" for name, vs in clashing.items()]
        raise SchemaError(
            f"{table}.{column} has values that give the same feature name: {'; '.join(clashes)}. "
            "Feature names keep letters and digits, lower-cased (accents dropped, other scripts as code points), "
            "and turn each run of other characters into '_'. "
            f"Map each group to one value before computing features: in the file, or with data.tables.{table}.values"
            f"{_map_example(column, clashing, reserved)} (in Python, read_table's values=)",
            table=table,
        )
    return values


def _map_example(column: str, clashing: dict[str, list[str]], reserved: tuple[str, ...]) -> str:
    """``' (e.g. {event_type: {'Log-In': 'log in'}})'``: a value map joining the first group of file values that
    give one feature name ('' when each group holds a family's own name)."""
    for name, group in clashing.items():
        if name not in reserved:
            return f" (e.g. {{{column}: {{{group[1]!r}: {group[0]!r}}}}})"
    return ""


def plan_features(
    tables: object,
    cutoffs: object,
    cfg: FeaturesConfig | Config | None = None,
    horizon_days: int | None = None,
) -> FeaturePlan:
    """Decide what to compute from the tables and the earliest cutoff.

    The event and survey types are those of the rows before the last cutoff
    (a type first seen later has no value at any of them).

    Parameters
    ----------
    tables : Tables or dict of str to DataFrame or ParquetSource
        Canonical tables; ``transactions`` is required. A
        :class:`~churnml.engine.ParquetSource` is read in place by DuckDB.
    cutoffs : date-like or sequence of date-like
        The cutoffs the features will be computed at (one date is one
        cutoff); the earliest one decides which windows are censored.
    cfg : FeaturesConfig or Config, optional
        Families and windows to use (``cfg.features``, or the whole config,
        whose ``time.horizon_days`` is then the horizon unless given).
    horizon_days : int, optional
        The asked horizon; needed by the ``btyd`` family (skipped without it).
    """
    if isinstance(cfg, Config):
        horizon_days = cfg.time.horizon_days if horizon_days is None else horizon_days
        cfg = cfg.features
    cfg = cfg or FeaturesConfig()
    tx = table_of(tables, "transactions")
    if tx is None or len(tx) == 0:
        raise SchemaError("features need a non-empty transactions table", table="transactions")
    families = tuple(f for f in FAMILIES if f in cfg.families and table_of(tables, FAMILIES[f][0]) is not None)
    check_sources({"transactions": tx, **{FAMILIES[f][0]: table_of(tables, FAMILIES[f][0]) for f in families}})
    data_start = _first_time(tx).normalize()
    cuts = [to_cutoff(c) for c in cutoff_list(cutoffs)]  # type: ignore[arg-type]
    if not cuts:
        raise ConfigError("plan_features needs at least one cutoff: the earliest decides which windows are censored")
    first_cut = min(cuts)
    history_days = int((first_cut - data_start) / DAY)
    windows = tuple(sorted(set(cfg.windows)))
    dropped: tuple[int, ...] = ()
    if cfg.censored_windows == "drop":
        dropped = tuple(w for w in windows if w > history_days)
        windows = tuple(w for w in windows if w <= history_days)
        if dropped:
            log.warning(
                "dropping look-back windows %s days: the earliest cutoff %s has only %d days of history",
                list(dropped), first_cut.date(), history_days,
            )
    use_btyd = "btyd" in cfg.families and "rfm" in families and horizon_days is not None
    skipped = [f for f in cfg.families if f not in families and not (f == "btyd" and use_btyd)]
    if skipped:
        log.info("feature families skipped (table absent): %s", skipped)
    events, surveys = table_of(tables, "events"), table_of(tables, "surveys")
    optional = {
        name: tuple(c for c in TABLE_SPECS[name].optional if c in frame.columns)
        for name in TABLE_SPECS
        if (frame := table_of(tables, name)) is not None
    }
    return FeaturePlan(
        families=families,
        windows=windows,
        dropped_windows=dropped,
        data_start=str(data_start.date()),
        event_types=_types(events, "events", TYPE_COLUMN["events"], max(cuts), reserved=("all",)),
        survey_types=_types(surveys, "surveys", TYPE_COLUMN["surveys"], max(cuts)),
        optional_columns=optional,
        censored=cfg.censored_windows,
        btyd_horizon_days=horizon_days if use_btyd else None,
        orders="order_id" in optional.get("transactions", ()),
    )


def order_problem(plan: FeaturePlan, tx_columns: Sequence[str]) -> SchemaError | None:
    """The error when ``plan`` counts orders but the transactions (``tx_columns``) have no ``order_id``."""
    if not plan.orders or "order_id" in tx_columns:
        return None
    return SchemaError(
        "the feature plan counts purchases by order (the transactions had an order_id column when it was made), "
        f"but these transactions have none (columns: {list(tx_columns)[:20]}); map the same order_id column as at "
        "training, so that the features mean what they meant",
        table="transactions",
    )
