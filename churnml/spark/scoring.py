"""Scoring in Spark: features and probabilities of everyone at risk, the outreach list on the driver.

Spark computes the features, the churn probability (a pandas UDF or
``mlflow.pyfunc.spark_udf``), a per-customer purchase summary and, for the
MRR CLV (``scoring.clv_method``), the recurring revenue at the cutoff; the
driver collects one row per customer (probability, spend, tenure, summary),
makes the CLV with :func:`churnml.scoring.clv_from_summary` or
:func:`churnml.scoring.clv_from_mrr` and builds the list with
:func:`churnml.scoring.outreach_list`, collecting feature rows only for the
customers on the list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from churnml.btyd import BGNBD
from churnml.coercion import canonical_ids
from churnml.config import Config, TimeConfig
from churnml.errors import ModelError, SchemaError
from churnml.features import FeaturePlan
from churnml.features.plan import TYPE_COLUMN
from churnml.label_sql import cancel_requests_sql, recurring_revenue_sql
from churnml.labels import cutoff_table
from churnml.metrics.rfm import rfm_scores, segment_of
from churnml.model import ChurnModel, model_input
from churnml.scoring import (
    NobodyToScoreError,
    ScoreResult,
    TypesPresent,
    account_for,
    accounting,
    beside_the_list,
    beyond_risk,
    choose_clv,
    clv_from_summary,
    clv_method_for,
    clv_text,
    load_churn_model,
    nobody_text,
    not_at_risk_counts,
    open_requests,
    outreach_list,
    shared_bgnbd,
    type_columns,
    warn_absent_types,
    warn_if_stale,
    warn_model_cutoff,
    warn_type_spellings,
    warn_unseen_levels,
    with_cancel_requests,
)
from churnml.spark.canonical import id_key
from churnml.spark.sql import KEYS, count_customers, features, not_at_risk, population, run_sql
from churnml.spark.tables import SparkTables, from_pandas, time_range, to_pandas
from churnml.windows import history_sql, to_cutoff

__all__ = ["customer_summary", "probability_udf", "score"]

log = logging.getLogger(__name__)

#: Per customer: the BG/NBD summary of churnml.btyd.summary_at (weeks) and the RFM measures of
#: churnml.metrics.rfm.rfm_table, from the history before the cutoff. Purchase days only (a day of
#: returns only is none), each day's amount its purchases (returns left out), as summary_at.
_SUMMARY_SQL = """
WITH days AS (
    SELECT t.customer_id, CAST(t."timestamp" AS DATE) AS day, MAX(c.cutoff) AS cutoff,
           SUM(t.amount) FILTER (WHERE t.amount >= 0) AS amount,
           MAX(t."timestamp") FILTER (WHERE t.amount >= 0) AS last_buy
    FROM tx t JOIN cutoffs c ON {history}
    GROUP BY t.customer_id, CAST(t."timestamp" AS DATE)
    HAVING COUNT(*) FILTER (WHERE t.amount >= 0) > 0
),
marked AS (
    SELECT *, MIN(day) OVER (PARTITION BY customer_id) AS first_day FROM days
)
SELECT customer_id,
       COUNT(*) - 1 AS frequency,
       DATE_DIFF('day', MIN(day), MAX(day)) / 7.0 AS recency,
       (DATE_DIFF('day', MIN(day), CAST(MAX(cutoff) AS DATE)) - 1) / 7.0 AS T,
       SUM(CASE WHEN day > first_day THEN amount END) / NULLIF(COUNT(*) - 1, 0) AS monetary_value,
       DATE_DIFF('microsecond', MAX(last_buy), MAX(cutoff)) / 86400000000.0 AS rfm_recency_days,
       COUNT(*) AS rfm_frequency
FROM marked
GROUP BY customer_id
"""

_BTYD = ["frequency", "recency", "T", "monetary_value"]


def customer_summary(spark: SparkSession, tables: SparkTables, cutoff: object) -> pd.DataFrame:
    """Per customer with history before ``cutoff``, computed in Spark and collected.

    Returns
    -------
    DataFrame
        Indexed by customer_id: ``frequency``, ``recency``, ``T``,
        ``monetary_value`` (as :func:`churnml.btyd.summary_at` with weeks) and
        the RFM measures of :func:`churnml.metrics.rfm.rfm_table`:
        ``rfm_recency_days`` (days since the last purchase) and
        ``rfm_frequency`` (purchase days).
    """
    c = to_cutoff(cutoff)  # type: ignore[arg-type]
    cuts = from_pandas(spark, pd.DataFrame({"cutoff": pd.DatetimeIndex([c]).as_unit("us")}))
    sql = _SUMMARY_SQL.format(history=history_sql('t."timestamp"', "c.cutoff"))
    local = to_pandas(run_sql(spark, sql, {"tx": tables.transactions, "cutoffs": cuts}))
    local["frequency"] = local["frequency"].astype("int64")
    local["monetary_value"] = local["monetary_value"].astype("float64")
    return local.set_index("customer_id").sort_index()


def _segments(summary: pd.DataFrame) -> pd.Series:
    """RFM segment (5 bins, as :func:`churnml.metrics.rfm.rfm_table`) of customers with a purchase."""
    buyers = summary[summary["rfm_frequency"] > 0]
    r = rfm_scores(buyers["rfm_recency_days"], 5, higher_is_better=False)
    f = rfm_scores(buyers["rfm_frequency"].astype("int64"), 5)
    return segment_of(r, f, 5)


def _at_cutoff(spark: SparkSession, tables: SparkTables, cutoff: pd.Timestamp, sql: str, column: str,
               needs: str) -> pd.DataFrame:
    """``sql`` over the subscriptions' keys and ``column`` and a table of the one ``cutoff``, collected."""
    if tables.subscriptions is None:
        raise SchemaError(f"{needs} a subscriptions table", table="subscriptions")
    subs = tables.subscriptions.select("customer_id", "start", "end", column)
    cuts = from_pandas(spark, cutoff_table([cutoff], 1))
    return to_pandas(run_sql(spark, sql, {"subscriptions": subs, "cutoffs": cuts}))


def recurring_revenue(spark: SparkSession, tables: SparkTables, cutoff: pd.Timestamp) -> pd.DataFrame:
    """:func:`churnml.scoring.recurring_revenue` in Spark: the same query, collected (one row per subscriber)."""
    return _at_cutoff(spark, tables, cutoff, recurring_revenue_sql(), "mrr", "scoring.clv_method: mrr needs")


def cancel_requests(spark: SparkSession, tables: SparkTables, cutoff: pd.Timestamp) -> pd.DataFrame:
    """:func:`churnml.scoring.cancel_requests` in Spark: the same query, collected (one row per open request)."""
    return _at_cutoff(spark, tables, cutoff, cancel_requests_sql(), "cancel_requested_at",
                      "the open cancellation requests (cancel_requested_at) need")


def _or_nan(frame: DataFrame, column: str) -> Column:
    return F.col(column) if column in frame.columns else F.lit(None).cast("double")


def probability_udf(model: ChurnModel) -> Callable[[Column], Column]:
    """A churn model as a Spark pandas UDF: ``udf(struct(features))`` -> churn probability.

    Computes what the logged pyfunc returns with ``top_k=0``
    (``model.predict_proba`` on :func:`churnml.model.model_input` rows); the
    model (from :func:`churnml.scoring.load_churn_model`, e.g. the registered
    champion) is pickled into the tasks, so executors need churnml installed
    but no access to the tracking server.
    ``mlflow.pyfunc.spark_udf(spark, model_uri, result_type="double", params={"top_k": 0})``
    applies the pyfunc itself (also with ``env_manager="virtualenv"``): pass it
    as ``predict`` to :func:`score`.
    """

    def predict(rows: pd.DataFrame) -> pd.Series:
        return pd.Series(model.predict_proba(model_input(rows)), index=rows.index, dtype="float64")

    return F.pandas_udf(predict, "double")  # type: ignore[call-overload]


def _plan_and_time(model: ChurnModel, name: str) -> tuple[FeaturePlan, TimeConfig]:
    extra = getattr(model, "extra_", {})
    if "feature_plan" not in extra:
        raise ModelError(f"{name} has no feature plan; train it with churnml >= 0.1")
    return FeaturePlan.from_dict(extra["feature_plan"]), TimeConfig(**extra["time"])


def _asked(spark: SparkSession, tables: SparkTables, pop: DataFrame, customers: Sequence[str],
           time: TimeConfig) -> tuple[DataFrame, pd.DataFrame, int]:
    """The spine of the asked customers at risk, the unscored ones with reasons, and how many were asked.

    Only the asked ids travel: Spark semi-joins them with each table's ids
    (up to leading zeros and case, so that the known ids an unknown ``7592``
    may have lost its zeros from, such as ``07592``, or an unknown ``k90001``
    its case, such as ``K90001``, come back too) and with the population, and
    :func:`churnml.scoring.account_for` gives the reasons, with the
    leading-zeros and case hints, on the driver, as in-process scoring does.
    """
    ids = from_pandas(spark, pd.DataFrame({"customer_id": canonical_ids(pd.Series(list(customers), dtype=object)).dropna()})
                      .drop_duplicates())
    cores = ids.select(id_key(F.col("customer_id")).alias("core")).distinct()
    known: set[str] = set()
    for frame in (tables.transactions, tables.customers, tables.subscriptions):
        if frame is not None:
            hits = (frame.select("customer_id")
                    .join(F.broadcast(cores), on=id_key(frame["customer_id"]) == cores["core"],
                          how="left_semi")
                    .distinct())
            known |= set(to_pandas(hits)["customer_id"])
    at_risk = set(to_pandas(pop.select("customer_id").join(F.broadcast(ids), on="customer_id", how="left_semi"))
                  ["customer_id"])
    keep, unscored = account_for(customers, known, at_risk, time)
    chosen = from_pandas(spark, pd.DataFrame({"customer_id": keep.astype("str")}))
    spine = pop.join(F.broadcast(chosen), on="customer_id", how="left_semi")
    return spine, unscored, len(keep) + len(unscored)


def _present(tables: SparkTables, cutoff: pd.Timestamp) -> TypesPresent:
    """Which (table, type) pairs have a row before ``cutoff``: one short job per table (for warn_absent_types)."""
    def present(pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
        found = set()
        for table in {t for t, _ in pairs}:
            frame, column = getattr(tables, table, None), TYPE_COLUMN[table]
            if frame is None:
                continue
            kinds = [k for t, k in pairs if t == table]
            seen = F.expr(history_sql("`timestamp`", f"TIMESTAMP_NTZ '{cutoff}'"))
            rows = frame.where(F.col(column).isin(kinds) & seen).select(column).distinct().collect()
            found |= {(table, r[0]) for r in rows}
        return found
    return present


def _type_counts(tables: SparkTables, cutoff: pd.Timestamp) -> dict[str, int]:
    """Rows per event type before ``cutoff`` (for warn_type_spellings): one short job."""
    if tables.events is None:
        return {}
    seen = F.expr(history_sql("`timestamp`", f"TIMESTAMP_NTZ '{cutoff}'"))
    rows = tables.events.where(F.col("event_type").isNotNull() & seen).groupBy("event_type").count().collect()
    return {str(r[0]): int(r[1]) for r in rows}


def score(spark: SparkSession, tables: SparkTables, model: ChurnModel | str, cutoff: object, cfg: Config,
          top: int | None = None, budget: float | None = None,
          predict: Callable[[Column], Column] | None = None,
          customers: Sequence[str] | None = None, list_not_at_risk: bool = False) -> ScoreResult:
    """The outreach list of :func:`churnml.scoring.score_customers`, scored in Spark.

    Everyone at risk at ``cutoff`` (or the asked ``customers`` among them) is
    scored: features and probabilities in
    Spark (``predict``: default :func:`probability_udf` of the model, or
    ``mlflow.pyfunc.spark_udf``), RFM segment and BG/NBD CLV from
    :func:`customer_summary` (or the MRR CLV from :func:`recurring_revenue`,
    by ``scoring.clv_method``); then :func:`churnml.scoring.outreach_list` on
    the driver (ranking, the ``top`` or ``budget`` cut, reason codes and
    playbook), which collects feature rows for the listed customers only.

    Parameters
    ----------
    model : ChurnModel or str
        A loaded model, or a URI for :func:`churnml.scoring.load_churn_model`
        (``models:/NAME@alias``, ``runs:/ID/model``, a model folder).
    cutoff : date-like
        The moment of scoring (a midnight).
    top, budget : optional
        The cut of :func:`churnml.scoring.outreach_list`.
    predict : callable, optional
        ``predict(struct(features))`` -> probability column.
    customers : sequence of str, optional
        The customers to score (default: everyone at risk). Every asked id is
        accounted for: scored, or unscored with the reason of
        :func:`churnml.scoring.account_for`.
    list_not_at_risk : bool
        Without ``customers``: also collect the customers of the tables not at
        risk (:attr:`~churnml.scoring.ScoreResult.not_at_risk`); by default
        they are only counted, by a query, and no id reaches the driver.

    Returns
    -------
    ScoreResult
        The same outreach list, unscored customers, counts and warnings as
        :func:`churnml.scoring.score_customers`.

    Raises
    ------
    NobodyToScoreError
        No customer (or no asked one) can be scored: the message and the
        ``unscored`` frame (every asked id with its reason) of
        :func:`churnml.scoring.score_customers`.
    """
    c = to_cutoff(cutoff)  # type: ignore[arg-type]
    name = f"the model {model!r}" if isinstance(model, str) else "the model"
    model = load_churn_model(model) if isinstance(model, str) else model
    plan, time = _plan_and_time(model, name)
    warned = [*warn_if_stale(time_range(tables).iloc[1], c, cfg.data.end), *warn_model_cutoff(model, c)]
    subs = tables.subscriptions
    method = clv_method_for(cfg.scoring.clv_method, time, None if subs is None else subs.columns)
    # the customers at risk: counted, the spine, BG/NBD's population and the list of the others read them
    everyone = population(spark, tables, [c], time).persist()
    feats: DataFrame | None = None
    try:
        pop, asked, in_tables, outside = everyone, -1, None, None
        unscored = pd.DataFrame({"customer_id": pd.Series([], dtype="str"), "reason": pd.Series([], dtype="str")})
        if customers is not None:
            pop, unscored, asked = _asked(spark, tables, everyone, customers, time)
            if len(unscored) == asked:  # raised before any feature is computed
                raise NobodyToScoreError(nobody_text(c, True, asked, unscored, time, warned), unscored)
        else:  # everyone at risk is asked: the population's size, and the tables' other customers
            asked = int(everyone.count())
            in_tables, outside = beyond_risk(list_not_at_risk, asked, lambda: count_customers(spark, tables),
                                             lambda: not_at_risk(spark, tables, everyone, time))
            if asked == 0:  # raised before any feature is computed
                raise NobodyToScoreError(nobody_text(c, False, 0, unscored, time, warned, in_tables), unscored, outside,
                                         in_tables)
        # BG/NBD (btyd family) is fitted on everyone at risk, as at training, whoever is asked.
        fitted: dict[pd.Timestamp, BGNBD] = {}
        feats = features(spark, tables, pop, plan, population_spine=everyone, btyd_models=fitted,
                         check_spine=False).persist()  # read twice
        udf = predict if predict is not None else probability_udf(model)
        inputs = F.struct(*[F.col(n) for n in model.feature_names_])
        levels = [n for n in model.categories_ if n in feats.columns]  # for the unseen-levels warning
        typed = [n for n in type_columns(plan) if n in feats.columns and n not in levels]  # absent types
        scored = to_pandas(feats.select(*KEYS, udf(inputs).alias("churn_probability"),
                                         _or_nan(feats, "rfm_monetary_sum_all").alias("historical_spend"),
                                         _or_nan(feats, "rfm_tenure_days").alias("tenure_days"), *levels, *typed))
        warned = [*warned, *warn_unseen_levels(model, scored), *warn_absent_types(plan, scored, _present(tables, c))]
        if plan.event_types:  # a spelling of a trained type that its columns do not count
            warned += warn_type_spellings(plan, _type_counts(tables, c))
        scored = scored.drop(columns=[*levels, *typed])
        if scored.empty:
            raise NobodyToScoreError(nobody_text(c, customers is not None, asked, unscored, time, warned,
                                                 in_tables or 0), unscored, outside, in_tables)
        summary = customer_summary(spark, tables, c)
        clv, method = choose_clv(method, cfg, lambda: recurring_revenue(spark, tables, c), lambda: clv_from_summary(
            summary[_BTYD], cfg.scoring.clv_horizon_days, cfg.scoring.annual_discount_rate,
            shared_bgnbd(fitted, c, time)))
        scored["predicted_clv"] = scored["customer_id"].map(clv).astype("float64")
        scored["rfm_segment"] = scored["customer_id"].map(_segments(summary)).astype("str")
        if subs is not None and "cancel_requested_at" in subs.columns:
            scored = with_cancel_requests(scored, cancel_requests(spark, tables, c))

        def feature_rows(ids: pd.Series) -> pd.DataFrame:
            chosen = from_pandas(spark, pd.DataFrame({"customer_id": ids.astype("str")}))
            return to_pandas(feats.join(F.broadcast(chosen), on="customer_id", how="inner"))

        outreach = outreach_list(scored, model, feature_rows, cfg, top, budget)
    finally:
        if feats is not None:
            feats.unpersist()
        everyone.unpersist()
    log.info("scored %d customers at %s in Spark; mean predicted CLV (%s) %.2f", len(scored), c.date(),
             clv_text(method, cfg.scoring.clv_horizon_days, cfg.scoring.annual_discount_rate),
             float(scored["predicted_clv"].mean()))
    counts = accounting(asked, scored, outreach, unscored, asked, in_tables)
    beside = beside_the_list(scored, outreach, cfg, top, budget, asked=customers is not None)
    return ScoreResult(outreach, unscored, counts, beside, warned, open_requests(scored), outside,
                       not_at_risk_counts(counts, time))
