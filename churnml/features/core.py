"""Point-in-time features at one or many cutoffs, on DuckDB.

:func:`~churnml.features.plan.plan_features` (re-exported here) fixes *what*
is computed (families present, windows kept after censoring, event and
survey types); the plan is stored with a model so that scoring computes
exactly the training columns.
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
from dataclasses import asdict, replace
from typing import TYPE_CHECKING

import pandas as pd

from churnml.engine import TableSource, run_sql
from churnml.errors import ConfigError, SchemaError
from churnml.features.base import (
    FamilySQL,
    FeatureDoc,
    cutoff_literal,
    shared_sql,
)
from churnml.features.btyd import add_btyd_features, btyd_docs
from churnml.features.chunks import normalise, run_chunked
from churnml.features.plan import FAMILIES, FeaturePlan, order_problem, plan_features, table_of
from churnml.sources import check_sources
from churnml.windows import cutoff_column

if TYPE_CHECKING:
    from churnml.btyd import BGNBD

__all__ = ["CHUNK_ROWS", "CHUNK_ROWS_ONE_CUTOFF", "FAMILIES", "SQL_NAMES", "FeaturePlan", "compute_features", "feature_docs", "feature_sql", "plan_features"]

log = logging.getLogger(__name__)

# The SQL refers to tables by these short names.
SQL_NAMES = {"transactions": "tx"}

#: Spine rows per query of :func:`compute_features` (larger spines run in customer ranges):
#: many cutoffs, and one cutoff (the fast path). Measured (benchmarks/README.md): at 50M
#: transactions with one cutoff, 125k rows peak at 1.9 GB against 2.1 GB with 250k, in about
#: the same time; with 12 cutoffs at 10M, 125k rows saved 0.3 GB and took 64 s against 52 s.
CHUNK_ROWS = 250_000
CHUNK_ROWS_ONE_CUTOFF = 125_000


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
    tables = shared_sql(cut, plan.orders)
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


def _spine_cutoffs(spine: pd.DataFrame) -> pd.DataFrame:
    """The spine with its cutoffs checked by :func:`churnml.windows.cutoff_column`.

    The general path compares a row's *day* with the cutoff, which equals
    ``time < cutoff`` only for a midnight cutoff, so any other time of day is
    an error here, as it is for one cutoff (:func:`churnml.windows.to_cutoff`).
    """
    missing = [c for c in ("customer_id", "cutoff") if c not in getattr(spine, "columns", [])]
    if missing:
        raise SchemaError(f"the spine needs the columns customer_id and cutoff (one row per customer and cutoff, "
                          f"e.g. from churnml.labels.population or make_labels); it has no {missing}", table="spine")
    cut, bad = cutoff_column(spine["cutoff"])
    if bad.any():
        rows = spine.loc[bad, ["customer_id", "cutoff"]].head(5)
        shown = "; ".join(f"row {r.Index}: {r.customer_id}, {r.cutoff}" for r in rows.itertuples())
        raise spine_cutoffs_error(int(bad.sum()), shown)
    return spine.assign(cutoff=cut)


def spine_cutoffs_error(n: int, shown: str) -> SchemaError:
    """A spine with ``n`` cutoffs missing or not at midnight (``shown``: examples), in either engine's words."""
    return SchemaError(
        f"spine.cutoff: {n} row(s) are missing, not dates, or not at midnight (e.g. {shown}); "
        "cutoffs are whole days, so that history 'time < cutoff' is the same on timestamps and on dates. "
        "Pass dates such as '2024-02-01' or normalise the cutoffs (Series.dt.normalize())",
        table="spine",
    )


#: A spine with a (customer_id, cutoff) pair twice, in either engine's words.
REPEATED_PAIRS = "the spine has repeated (customer_id, cutoff) pairs; pass each pair once"


def _repeated_pairs(spine: pd.DataFrame) -> int:
    """How many (customer_id, cutoff) pairs the spine repeats (counted by DuckDB: 0.3 s for 3M rows, pandas 1.2 s)."""
    sql = "SELECT COUNT(*) AS n FROM (SELECT customer_id, cutoff FROM spine GROUP BY customer_id, cutoff HAVING COUNT(*) > 1)"
    return int(run_sql(sql, {"spine": spine[["customer_id", "cutoff"]]})["n"].iloc[0])


def compute_features(
    tables: object, spine: pd.DataFrame, plan: FeaturePlan, *, chunk_rows: int | None = None,
    btyd_models: dict[pd.Timestamp, BGNBD] | None = None,
) -> pd.DataFrame:
    """Features of every (customer_id, cutoff) row of ``spine``.

    Parameters
    ----------
    tables : Tables or dict of str to DataFrame or ParquetSource
        Canonical tables; Parquet sources are read in place by DuckDB, so
        large tables need not fit in memory as pandas frames.
    spine : DataFrame
        Columns ``customer_id`` and ``cutoff`` (a midnight), one row per
        pair; from :func:`churnml.labels.make_labels` or
        :func:`churnml.labels.population`.
    plan : FeaturePlan
        From :func:`plan_features`.
    chunk_rows : int, optional
        Spine rows per query (default :data:`CHUNK_ROWS`, or
        :data:`CHUNK_ROWS_ONE_CUTOFF` for a spine with one cutoff). A larger
        spine is cut into ranges of customer ids of about this many rows,
        each computed by one query reading only those customers' rows
        (Parquet row groups of other customers are skipped when the files
        are sorted or clustered by customer), so DuckDB's memory is bounded
        by a chunk and the result is written once. A spine with one cutoff
        uses the one-cutoff fast path (:func:`feature_sql` with ``cutoff``).
        Smaller chunks use less memory and take longer.
    btyd_models : dict, optional
        Receives the BG/NBD model the ``btyd`` family fitted at each cutoff
        (scoring reuses it for the CLV instead of fitting it again).

    Returns
    -------
    DataFrame
        ``customer_id``, ``cutoff`` and the features, sorted by cutoff then
        customer, one row per spine row. Categorical features are pandas
        categories.
    """
    if chunk_rows is not None and chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be >= 1, got {chunk_rows}")
    spine = _spine_cutoffs(spine)
    if _repeated_pairs(spine):
        raise SchemaError(REPEATED_PAIRS, table="spine")
    frames: dict[str, TableSource] = {}
    given: dict[str, TableSource] = {}
    for fam in plan.families:
        table = FAMILIES[fam][0]
        frame = table_of(tables, table)
        if frame is None:
            raise SchemaError(
                f"the feature plan uses the '{fam}' family but no {table} table was given; "
                "give the same tables as at training",
                table=table,
            )
        frames[SQL_NAMES.get(table, table)] = given[table] = frame
    check_sources(given)
    if "tx" in frames and (problem := order_problem(plan, list(frames["tx"].columns))):
        raise problem
    cutoff = _single_cutoff(spine)
    sql = feature_sql(plan, cutoff)
    if chunk_rows is None:
        chunk_rows = CHUNK_ROWS if cutoff is None else CHUNK_ROWS_ONE_CUTOFF
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
        out = add_btyd_features(out, plan.btyd_horizon_days, btyd_models)
    if len(out) != len(spine):
        raise SchemaError(
            f"features returned {len(out)} rows for {len(spine)} spine rows; a table has duplicate keys",
            table="spine",
        )
    return out


def feature_docs(plan: FeaturePlan) -> pd.DataFrame:
    """The documentation table of the plan's features (name, family, meaning, missing)."""
    docs: list[FeatureDoc] = [d for fam in _families(plan) for d in fam.docs]
    if plan.censored == "flag":
        docs += [
            FeatureDoc(f"win_censored_{w}d", "censoring",
                       f"1 when the cutoff has less than {w} days of history (windows of {w} days are cut short)",
                       "never (from the cutoff and the data's first day)")
            for w in plan.windows
        ]
    if plan.btyd_horizon_days is not None:
        docs += btyd_docs(plan.btyd_horizon_days)
    return pd.DataFrame([asdict(d) for d in docs])
