"""Point-in-time features at one or many cutoffs, on DuckDB.

:func:`plan_features` fixes *what* is computed (families present, windows
kept after censoring, event and survey types); the plan is stored with a
model so that scoring computes exactly the training columns.
:func:`compute_features` runs the plan for a spine of (customer, cutoff)
rows and returns one row per spine row, sorted by cutoff then customer.

Two DuckDB-only execution choices keep the work and memory down without
changing a value: a spine with a single cutoff uses the one-cutoff fast
path of :func:`feature_sql` (history rows aggregated per customer, then
joined to the spine), and a spine of more than :data:`CHUNK_ROWS` rows runs
as several queries over ranges of customer ids, assembled column by column
into the result. The Spark path (``churnml.spark``) runs the general
:func:`feature_sql` once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import pandas as pd

from churnml.config import FeaturesConfig
from churnml.engine import ParquetSource, TableSource, run_sql
from churnml.errors import ConfigError, SchemaError
from churnml.features.base import (
    FamilyContext,
    FamilySQL,
    FeatureDoc,
    cutoff_literal,
    shared_sql,
)
from churnml.features.btyd import add_btyd_features, btyd_docs
from churnml.features.chunks import normalise, run_chunked
from churnml.features.customers import customers_family
from churnml.features.events import events_family
from churnml.features.rfm import rfm_family
from churnml.features.subscriptions import subscriptions_family
from churnml.features.surveys import surveys_family
from churnml.features.tickets import tickets_family
from churnml.features.windowed import windowed_family
from churnml.schema import TABLE_SPECS
from churnml.windows import DAY, to_cutoff

__all__ = ["CHUNK_ROWS", "FeaturePlan", "compute_features", "feature_docs", "feature_sql", "plan_features"]

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

# The SQL refers to tables by these short names.
SQL_NAMES = {"transactions": "tx"}

#: Spine rows per query of :func:`compute_features` (larger spines run in customer ranges).
CHUNK_ROWS = 500_000


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeaturePlan:
        d = dict(d)
        for key in ("families", "windows", "dropped_windows", "event_types", "survey_types"):
            d[key] = tuple(d.get(key, ()))
        d["optional_columns"] = {k: tuple(v) for k, v in d.get("optional_columns", {}).items()}
        return cls(**d)

    def context(self) -> FamilyContext:
        return FamilyContext(
            self.windows,
            self.event_types,
            self.survey_types,
            {k: frozenset(v) for k, v in self.optional_columns.items()},
        )


def _table(tables: object, name: str) -> TableSource | None:
    if isinstance(tables, dict):
        return tables.get(name)
    return getattr(tables, name, None)


def _first_time(tx: TableSource) -> pd.Timestamp:
    """The first transaction time (Parquet: from the column statistics when written)."""
    if isinstance(tx, ParquetSource):
        return pd.Timestamp(run_sql('SELECT MIN("timestamp") AS t FROM tx', {"tx": tx[["timestamp"]]})["t"].iloc[0])
    return pd.Timestamp(tx["timestamp"].min())


def _distinct(frame: TableSource | None, column: str) -> tuple[str, ...]:
    """Sorted distinct non-null values of a text column (event or survey types)."""
    if frame is None:
        return ()
    if isinstance(frame, ParquetSource):
        sql = f'SELECT DISTINCT "{column}" AS v FROM t WHERE "{column}" IS NOT NULL'
        values = run_sql(sql, {"t": frame[[column]]})["v"].tolist()
    else:
        values = frame[column].dropna().unique().tolist()
    return tuple(sorted(str(v) for v in values))


def plan_features(
    tables: object,
    cutoffs: object,
    cfg: FeaturesConfig | None = None,
    horizon_days: int | None = None,
) -> FeaturePlan:
    """Decide what to compute from the tables and the earliest cutoff.

    Parameters
    ----------
    tables : Tables or dict of str to DataFrame or ParquetSource
        Canonical tables; ``transactions`` is required. A
        :class:`~churnml.engine.ParquetSource` is read in place by DuckDB.
    cutoffs : sequence of date-like
        The cutoffs the features will be computed at; the earliest one
        decides which windows are censored.
    cfg : FeaturesConfig
        Families and windows to use.
    horizon_days : int, optional
        The asked horizon; needed by the ``btyd`` family (skipped without it).
    """
    cfg = cfg or FeaturesConfig()
    tx = _table(tables, "transactions")
    if tx is None or len(tx) == 0:
        raise SchemaError("features need a non-empty transactions table", table="transactions")
    data_start = _first_time(tx).normalize()
    first_cut = min(to_cutoff(c) for c in cutoffs)  # type: ignore[attr-defined]
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
    families = tuple(f for f in FAMILIES if f in cfg.families and _table(tables, FAMILIES[f][0]) is not None)
    use_btyd = "btyd" in cfg.families and "rfm" in families and horizon_days is not None
    skipped = [f for f in cfg.families if f not in families and not (f == "btyd" and use_btyd)]
    if skipped:
        log.info("feature families skipped (table absent): %s", skipped)
    events, surveys = _table(tables, "events"), _table(tables, "surveys")
    optional = {
        name: tuple(c for c in TABLE_SPECS[name].optional if c in frame.columns)
        for name in TABLE_SPECS
        if (frame := _table(tables, name)) is not None
    }
    return FeaturePlan(
        families=families,
        windows=windows,
        dropped_windows=dropped,
        data_start=str(data_start.date()),
        event_types=_distinct(events, "event_type"),
        survey_types=_distinct(surveys, "survey"),
        optional_columns=optional,
        censored=cfg.censored_windows,
        btyd_horizon_days=horizon_days if use_btyd else None,
    )


def _families(plan: FeaturePlan, cutoff: str = "") -> list[FamilySQL]:
    ctx = replace(plan.context(), cutoff=cutoff)
    return [FAMILIES[f][1](ctx) for f in plan.families]


def _literal(value: float) -> str:
    """An integral fill stays an integer so that counts keep an integer type."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def feature_sql(plan: FeaturePlan, cutoff: object = None) -> str:
    """The one query computing every feature of the plan for ``spine``.

    Tables it reads: ``spine`` (customer_id, cutoff) and the family tables
    (``tx``, ``events``, ``surveys``, ``tickets``, ``subscriptions``,
    ``customers``). Families aggregating the same history stream (RFM and
    windowed read ``tx_hist``) share one ``GROUP BY``, a CTE ``<stream>_agg``.

    Parameters
    ----------
    plan : FeaturePlan
        What to compute.
    cutoff : date-like, optional
        Only when every spine row has this one cutoff: the one-cutoff fast
        path (see :mod:`churnml.features.base`), same result, each history
        row aggregated once per customer instead of joined to the spine.
        Without it (the default, and what the Spark path uses) the query
        handles any number of cutoffs.
    """
    cut = "" if cutoff is None else cutoff_literal(cutoff)  # type: ignore[arg-type]
    fams = _families(plan, cut)
    selects = ["sp.customer_id", "sp.cutoff"]
    joins: list[str] = []
    streams: dict[str, list[str]] = {}
    for i, fam in enumerate(fams):
        if fam.source:
            alias = f"{fam.source}_agg"
            if fam.source not in streams:
                streams[fam.source] = []
                joins.append(f"LEFT JOIN {alias}\n  ON sp.customer_id = {alias}.customer_id AND sp.cutoff = {alias}.cutoff")
            streams[fam.source] += fam.aggregates
        else:
            alias = f"f{i}"
            joins.append(
                f"LEFT JOIN ({fam.sql}) {alias}\n  ON sp.customer_id = {alias}.customer_id AND sp.cutoff = {alias}.cutoff"
            )
        for col in fam.columns:
            fill = fam.fill.get(col)
            expr = f"{alias}.{col}" if fill is None else f"COALESCE({alias}.{col}, {_literal(fill)})"
            selects.append(f"{expr} AS {col}")
    if plan.censored == "flag":
        start = f"TIMESTAMP '{plan.data_start}'"
        for w in plan.windows:
            selects.append(
                f"CASE WHEN DATE_DIFF('day', CAST({start} AS DATE), CAST(sp.cutoff AS DATE)) < {w} "
                f"THEN 1 ELSE 0 END AS win_censored_{w}d"
            )
    body = ",\n       ".join(selects)
    tables = shared_sql(cut)
    ctes = [f"{name} AS ({tables[name]})" for name in sorted({name for fam in fams for name in fam.shared})]
    for source, aggregates in streams.items():
        aggs = ",\n           ".join(aggregates)
        ctes.append(
            f"{source}_agg AS (\n    SELECT customer_id, cutoff,\n           {aggs}\n"
            f"    FROM {source}\n    GROUP BY customer_id, cutoff\n)"
        )
    head = "WITH " + ",\n".join(ctes) + "\n" if ctes else ""
    return head + f"SELECT {body}\nFROM spine sp\n" + "\n".join(joins) + "\nORDER BY sp.cutoff, sp.customer_id"


def _single_cutoff(spine: pd.DataFrame) -> pd.Timestamp | None:
    """The cutoff of a non-empty spine whose rows all share it (the fast path), else None."""
    if len(spine) == 0:
        return None
    first, last = spine["cutoff"].min(), spine["cutoff"].max()
    return pd.Timestamp(first) if first == last else None


def compute_features(
    tables: object, spine: pd.DataFrame, plan: FeaturePlan, *, chunk_rows: int = CHUNK_ROWS
) -> pd.DataFrame:
    """Features of every (customer_id, cutoff) row of ``spine``.

    Parameters
    ----------
    tables : Tables or dict of str to DataFrame or ParquetSource
        Canonical tables; Parquet sources are read in place by DuckDB, so
        large tables need not fit in memory as pandas frames.
    spine : DataFrame
        Columns ``customer_id`` and ``cutoff`` (midnight UTC), one row per
        pair; from :func:`churnml.labels.make_labels` or
        :func:`churnml.labels.population`.
    plan : FeaturePlan
        From :func:`plan_features`.
    chunk_rows : int
        Spine rows per query. A larger spine is cut into ranges of
        customer ids of about this many rows, each computed by one query
        reading only those customers' rows (Parquet row groups of other
        customers are skipped when the files are sorted or clustered by
        customer), so DuckDB's memory is bounded by a chunk and the
        result is written once. A spine with one cutoff uses the one-cutoff
        fast path (:func:`feature_sql` with ``cutoff``).

    Returns
    -------
    DataFrame
        ``customer_id``, ``cutoff`` and the features, sorted by cutoff then
        customer, one row per spine row. Categorical features are pandas
        categories.
    """
    if chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be >= 1, got {chunk_rows}")
    if spine.duplicated(["customer_id", "cutoff"]).any():
        raise SchemaError("the spine has repeated (customer_id, cutoff) pairs; pass each pair once", table="spine")
    frames: dict[str, TableSource] = {}
    for fam in plan.families:
        table = FAMILIES[fam][0]
        frame = _table(tables, table)
        if frame is None:
            raise SchemaError(
                f"the feature plan uses the '{fam}' family but no {table} table was given; "
                "give the same tables as at training",
                table=table,
            )
        frames[SQL_NAMES.get(table, table)] = frame
    cutoff = _single_cutoff(spine)
    sql = feature_sql(plan, cutoff)
    if len(spine) <= chunk_rows:
        out = normalise(run_sql(sql, {"spine": spine[["customer_id", "cutoff"]], **frames}))
    else:
        n_chunks = -(-len(spine) // chunk_rows)
        out = run_chunked(sql, spine[["customer_id", "cutoff"]], frames, n_chunks, cutoff is not None)
    cats = [c for fam in _families(plan) for c in fam.categorical]
    for col in cats:
        out[col] = out[col].astype("category")
    out["cutoff"] = out["cutoff"].astype("datetime64[us]")
    if plan.btyd_horizon_days is not None:
        out = add_btyd_features(out, plan.btyd_horizon_days)
    if len(out) != len(spine):
        raise SchemaError(
            f"features returned {len(out)} rows for {len(spine)} spine rows; a table has duplicate keys",
            table="spine",
        )
    return out


def feature_docs(plan: FeaturePlan) -> pd.DataFrame:
    """The documentation table of the plan's features (name, family, meaning, missing)."""
    docs: list[FeatureDoc] = [d for fam in _families(plan) for d in fam.docs]
    if plan.btyd_horizon_days is not None:
        docs += btyd_docs(plan.btyd_horizon_days)
    return pd.DataFrame([asdict(d) for d in docs])
