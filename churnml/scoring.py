"""Scoring for retention outreach: who to call, why, and what they are worth.

:func:`score_customers` computes features at the cutoff with the model's own
feature plan (the same code as training), then churn probability, predicted
CLV, value at risk, risk tier, RFM segment, rank, reason codes (for the
outreach list only: TreeSHAP costs far more than a probability) and a
suggested action. Every customer asked for is accounted for: scored and on
the list, scored but below the cut, or unscored with a reason.

The last steps are shared by every engine: :func:`clv_from_summary` (CLV
from a BG/NBD summary) or :func:`clv_from_mrr` (CLV from the recurring
revenue of :func:`churnml.label_sql.recurring_revenue_sql`), chosen by
:func:`clv_method_for`, and :func:`churnml.outreach.outreach_list` (tier,
rank, cut, reasons, action; re-exported here). ``churnml.spark.score``
computes the per-customer columns in Spark and calls both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from churnml.btyd import BGNBD, GammaGamma, summary_at
from churnml.config import Config, TimeConfig
from churnml.engine import ParquetSource, as_tables, in_memory, run_sql
from churnml.errors import ChurnMLError, ConfigError, ModelError, SchemaError
from churnml.features import FeaturePlan, compute_features
from churnml.features.plan import TYPE_COLUMN, distinct_before, type_counts
from churnml.label_sql import cancel_requests_sql, recurring_revenue_sql
from churnml.labels import (
    count_customers,
    cutoff_table,
    not_at_risk,
    not_at_risk_reason,
    population,
)
from churnml.metrics.periods import has_a_year, value_per_year
from churnml.metrics.rfm import rfm_table
from churnml.model import ChurnModel
from churnml.outreach import (
    SCORED_COLUMNS,
    NobodyToScoreError,
    TypesPresent,
    account_for,
    below_the_cut,
    beside_the_list,
    cut_problems,
    money_in_cents,
    outreach_list,
    spreadsheet_safe,
    type_columns,
    warn_absent_types,
    warn_type_spellings,
    warn_unseen_levels,
    with_cancel_requests,
)
from churnml.sources import check_sources, select
from churnml.tracking import load_pyfunc
from churnml.windows import MONTH_DAYS, DataSpan, label_window, stale_cutoff_text, to_cutoff

__all__ = [
    "SCORED_COLUMNS",
    "NobodyToScoreError",
    "ScoreResult",
    "account_for",
    "accounting",
    "below_the_cut",
    "beside_the_list",
    "beyond_risk",
    "cancel_requests",
    "clv_from_mrr",
    "choose_clv",
    "clv_from_summary",
    "clv_method_for",
    "historical_value_per_year",
    "load_churn_model",
    "log_accounting",
    "mrr_usable",
    "nobody_text",
    "not_at_risk_counts",
    "open_requests",
    "outreach_list",
    "predicted_clv",
    "recurring_revenue",
    "shared_bgnbd",
    "score_customers",
    "money_in_cents",
    "spreadsheet_safe",
    "TypesPresent",
    "type_columns",
    "warn_absent_types",
    "warn_if_stale",
    "warn_model_cutoff",
    "warn_type_spellings",
    "warn_unseen_levels",
    "with_cancel_requests",
]

log = logging.getLogger(__name__)

UNIT_DAYS = 7.0


@dataclass
class ScoreResult:
    """The ranked outreach list, the unscored customers and the counts.

    ``below_cut``: for a list of asked customers, those scored but left off the
    list by ``top`` or ``budget``, with why (``customer_id``, ``reason``; see
    :func:`churnml.outreach.below_the_cut`); when everyone at risk was scored,
    only those of them with an open cancellation request (the others are
    counted, not listed), or ``None`` when the data has no requests
    (:func:`churnml.outreach.beside_the_list`). ``warnings``: what the run warned
    about the list as a whole (a cutoff long after the data), also logged,
    for a summary to repeat. ``open_requests``: how many scored customers have
    an open cancellation request (``None`` when the subscriptions have no
    ``cancel_requested_at``), on the list or not. ``not_at_risk_counts``: when
    everyone at risk was scored, how many other customers the tables have, by
    reason, which ``counts`` counts too (``in_tables = scored + not_at_risk``);
    ``None`` for a list of asked customers (those not at risk are among the
    unscored). ``not_at_risk``: those customers themselves
    (:func:`churnml.labels.not_at_risk`: ``customer_id``, ``reason``), only
    when they were asked for (``list_not_at_risk``; else they are counted by a
    query, and their ids are not collected); else ``None``.
    """

    outreach: pd.DataFrame
    unscored: pd.DataFrame
    counts: dict[str, int]
    below_cut: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    open_requests: int | None = None
    not_at_risk: pd.DataFrame | None = None
    not_at_risk_counts: dict[str, int] | None = None

    def not_listed(self, with_not_at_risk: bool = False) -> pd.DataFrame:
        """Every asked customer not on the list, and why: the unscored, then those below the cut.

        ``with_not_at_risk``: first the customers of the tables not at risk (:attr:`not_at_risk`), if any.
        """
        parts = [self.not_at_risk if with_not_at_risk else None, self.unscored, self.below_cut]
        shown = [p for p in parts if p is not None and not p.empty]
        return pd.concat(shown, ignore_index=True) if shown else self.unscored

    def not_at_risk_reasons(self) -> dict[str, int] | None:
        """How many customers of the tables are not at risk, by reason (most first); None for asked customers."""
        return None if self.not_at_risk_counts is None else dict(self.not_at_risk_counts)


def load_churn_model(uri: str) -> ChurnModel:
    """A churn model from a registry URI (``models:/NAME@alias``), a run URI
    (``runs:/ID/model``), a logged model folder, or a saved bundle folder."""
    path = Path(uri)
    if (path / "meta.json").is_file():
        return ChurnModel.load(path)
    if len(urlparse(uri).scheme) <= 1 and not path.exists():  # a path (a drive letter is no URI scheme)
        raise ModelError(
            f"model {uri!r}: no such folder (working folder {Path.cwd()}); give a folder saved by ChurnModel.save "
            "or logged by train, or a model URI such as models:/churnml@champion or runs:/<run id>/model")
    try:
        wrapped = load_pyfunc(uri).unwrap_python_model()
    except ChurnMLError:
        raise
    except Exception as exc:
        raise ModelError(f"cannot load the model {uri!r}: {type(exc).__name__}: {str(exc)[:300]}") from None
    model = getattr(wrapped, "model", None)
    if not isinstance(model, ChurnModel):
        raise ModelError(f"{uri!r} is not a churnml model (its pyfunc has no ChurnModel)")
    return model


def predicted_clv(transactions: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int,
                  annual_discount_rate: float, bgnbd: BGNBD | None = None) -> pd.Series:
    """BG/NBD expected purchases x Gamma-Gamma spend over the horizon, discounted, if still a customer.

    Fitted on the history before ``cutoff`` (:func:`churnml.btyd.summary_at`
    in weeks), then :func:`clv_from_summary`. Indexed by customer_id.
    """
    summary = summary_at(transactions, cutoff, unit_days=UNIT_DAYS)
    return clv_from_summary(summary, horizon_days, annual_discount_rate, bgnbd)


def clv_from_summary(summary: pd.DataFrame, horizon_days: int, annual_discount_rate: float,
                     bgnbd: BGNBD | None = None) -> pd.Series:
    """Predicted CLV (money) of each customer of a BG/NBD summary in weeks, if the customer is still one.

    BG/NBD and Gamma-Gamma are fitted on ``summary``; the CLV is the expected
    spend over ``horizon_days / 7`` weekly steps, step ``k`` discounted by
    ``(1 + d)^-k`` with the weekly rate ``d = (1 + annual_discount_rate)^(7/365.25) - 1``
    (a year of 12 months of 30.4375 days, as :func:`monthly_clv_factor`'s).

    The expected purchases are those of a customer still active at the cutoff
    (BG/NBD's without its P(alive) factor; the customer may still drop out
    later): the value a retention contact protects. The churn model's
    probability says how likely the customer is to be lost, so the value at
    risk, probability x CLV, counts the attrition once; with BG/NBD's
    unconditional CLV a long-silent big spender, whom the model rightly calls
    likely lost, would be valued near 0 for the same silence and ranked last.

    Parameters
    ----------
    summary : DataFrame
        Indexed by customer_id, columns ``frequency``, ``recency``, ``T`` (weeks)
        and ``monetary_value``, as :func:`churnml.btyd.summary_at` builds them with
        ``unit_days=7`` (Spark builds the same columns in SQL).
    horizon_days : int
        The CLV horizon (``scoring.clv_horizon_days``), in days.
    annual_discount_rate : float
        ``scoring.annual_discount_rate``, e.g. 0.10.
    bgnbd : BGNBD, optional
        A BG/NBD model already fitted on the same customers' (x, t_x, T), e.g.
        by the ``btyd`` feature family at the same cutoff; fitted on
        ``summary`` when None.

    Returns
    -------
    Series
        float64, indexed by customer_id; all NaN, with a warning, when the
        history cannot fit the models (e.g. fewer than two repeat buyers):
        scoring goes on, and every customer is still accounted for.
    """
    try:
        bg = bgnbd if bgnbd is not None else BGNBD().fit(summary)
        gg = GammaGamma().fit(summary)
        weekly = (1.0 + annual_discount_rate) ** (UNIT_DAYS / (12 * MONTH_DAYS)) - 1.0
        clv = gg.clv(bg, summary, horizon_units=horizon_days / UNIT_DAYS, discount_rate_per_unit=weekly,
                     given_alive=True)
    except ModelError as exc:  # too few repeat buyers, or a spend model without a finite mean
        log.warning("predicted CLV left empty (NaN): %s. Value at risk is NaN too, so the list is ranked by "
                    "churn probability and a --budget selects nobody", str(exc).rstrip("."))
        return pd.Series(np.nan, index=summary.index, dtype="float64")
    if len(clv) and clv.isna().all():
        log.warning("predicted CLV is NaN for every customer (the BG/NBD or Gamma-Gamma fit gave no finite "
                    "value on this history): the list is ranked by churn probability and a --budget selects nobody")
    return clv


def clv_method_for(method: str, time: TimeConfig, subscription_columns: Sequence[str] | None) -> str:
    """``scoring.clv_method`` resolved for one model and its tables: ``bgnbd`` or ``mrr``.

    ``auto`` is ``mrr`` for a contractual model whose subscriptions table has
    an ``mrr`` column, else ``bgnbd``. ``mrr`` asked of a non-contractual
    model, or without an ``mrr`` column, is an error with the fix.
    """
    has_mrr = subscription_columns is not None and "mrr" in subscription_columns
    if method == "auto":
        return "mrr" if time.regime == "contractual" and has_mrr else "bgnbd"
    if method == "mrr" and time.regime != "contractual":
        raise ConfigError(
            f"scoring.clv_method: mrr values the subscriptions active at the cutoff, but the model's regime is "
            f"{time.regime}: its customers are buyers, not subscribers. Fix: set scoring.clv_method to bgnbd "
            "(or auto), or score with a model trained with time.regime: contractual"
        )
    if method == "mrr" and not has_mrr:
        where = "no subscriptions table is given" if subscription_columns is None else "it has no mrr column"
        raise SchemaError(
            f"scoring.clv_method: mrr needs each subscription's monthly recurring revenue, but {where}. Fix: map "
            "the column that holds it to mrr (data.tables.subscriptions.columns), or set scoring.clv_method to "
            "bgnbd (or auto)",
            table="subscriptions",
        )
    if method not in ("bgnbd", "mrr"):
        raise ConfigError(f"scoring.clv_method must be auto, bgnbd or mrr, got {method!r}")
    return method


def monthly_clv_factor(horizon_days: int, annual_discount_rate: float) -> float:
    """Discounted months of revenue over ``horizon_days``: the CLV of an MRR of 1.

    The horizon holds ``n = horizon_days / 30.4375`` months; month ``k`` is paid
    at its end and discounted by ``(1 + annual_discount_rate)^(-k/12)``; a last,
    partial month counts for its fraction: ``sum_{k<=floor(n)} v^k +
    (n - floor(n)) v^(floor(n)+1)`` with ``v = (1 + annual_discount_rate)^(-1/12)``.
    365 days at 10 % a year give 11.39 (11.99 undiscounted).
    """
    months = horizon_days / MONTH_DAYS
    whole = int(np.floor(months))
    v = (1.0 + annual_discount_rate) ** (-1.0 / 12.0)
    return float(sum(v**k for k in range(1, whole + 1)) + (months - whole) * v ** (whole + 1))


def _at_cutoff(tables: object, cutoff: pd.Timestamp, sql: str, column: str, needs: str) -> pd.DataFrame:
    """``sql`` over the subscriptions' keys and ``column`` and a table of the one ``cutoff`` (DuckDB)."""
    subs = getattr(tables, "subscriptions", None)
    if subs is None:
        raise SchemaError(f"{needs} a subscriptions table", table="subscriptions")
    frames = {"subscriptions": select("subscriptions", subs, ["customer_id", "start", "end", column]),
              "cutoffs": cutoff_table([cutoff], 1)}
    check_sources({"subscriptions": frames["subscriptions"]})
    return run_sql(sql, frames)


def recurring_revenue(tables: object, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The MRR of each customer's active subscriptions at ``cutoff`` (DuckDB).

    :func:`churnml.label_sql.recurring_revenue_sql` over ``tables.subscriptions``
    (a frame or a :class:`~churnml.engine.ParquetSource`): ``customer_id``,
    ``cutoff``, ``mrr`` and ``mrr_missing``.
    """
    return _at_cutoff(tables, cutoff, recurring_revenue_sql(), "mrr", "scoring.clv_method: mrr needs")


def cancel_requests(tables: object, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Open cancellation requests at ``cutoff`` (DuckDB): :func:`churnml.label_sql.cancel_requests_sql`.

    Over ``tables.subscriptions`` (a frame or a :class:`~churnml.engine.ParquetSource`
    with a ``cancel_requested_at`` column): ``customer_id``, ``cutoff``,
    ``cancel_requested_at``.
    """
    return _at_cutoff(tables, cutoff, cancel_requests_sql(), "cancel_requested_at",
                      "the open cancellation requests (cancel_requested_at) need")


def clv_from_mrr(revenue: pd.DataFrame, horizon_days: int, annual_discount_rate: float) -> pd.Series:
    """Predicted CLV (money) of each subscriber: its MRR at the cutoff over the CLV horizon.

    ``mrr x`` :func:`monthly_clv_factor`: the recurring revenue the customer
    brings over ``horizon_days`` if the subscriptions go on, which is what is
    lost if they end. ``revenue`` has the columns of
    :func:`churnml.label_sql.recurring_revenue_sql` for one cutoff (either
    engine computes it). A customer with an active subscription without MRR
    gets NaN (unknown, with a warning), not a partial sum.

    Returns
    -------
    Series
        float64, indexed by customer_id.
    """
    rows = revenue.set_index("customer_id")
    factor = monthly_clv_factor(horizon_days, annual_discount_rate)
    unknown = rows["mrr_missing"].astype("int64") > 0
    clv = (rows["mrr"].astype("float64") * factor).where(~unknown)
    if unknown.any():
        log.warning("predicted CLV left empty (NaN) for %d subscriber(s) with an active subscription without mrr, "
                    "e.g. %s: their value at risk is unknown, so they rank last (a --top cut reaches them only after "
                    "every valued customer; a --budget cut leaves them off). Fix: fill subscriptions.mrr",
                    int(unknown.sum()), list(rows.index[unknown][:3]))
    return clv


def mrr_usable(revenue: pd.DataFrame, asked: str) -> bool:
    """Whether the MRR CLV applies: always for ``clv_method: mrr``; for ``auto``, when some active MRR is known.

    An ``mrr`` column with no value for any subscription active at the cutoff
    would leave every CLV unknown: ``auto`` then falls back to BG/NBD, with a
    warning.
    """
    if asked != "auto" or revenue["mrr"].notna().any():
        return True
    log.warning("scoring.clv_method auto: no subscription active at the cutoff has an mrr (the column is empty), so "
                "the predicted CLV is BG/NBD's, built from purchases: subscribers who never bought get none. Fill "
                "subscriptions.mrr, or set scoring.clv_method to bgnbd to say so")
    return False


def choose_clv(method: str, cfg: Config, revenue: Callable[[], pd.DataFrame],
               bgnbd: Callable[[], pd.Series]) -> tuple[pd.Series, str]:
    """The predicted CLV by ``method`` (:func:`clv_method_for`'s) and the method used, for either engine.

    ``revenue()`` gives the engine's :func:`recurring_revenue` and ``bgnbd()``
    its BG/NBD CLV; each is called only when needed. ``mrr`` falls back to
    BG/NBD when ``scoring.clv_method`` is ``auto`` and no active MRR is known
    (:func:`mrr_usable`).
    """
    sc = cfg.scoring
    if method == "mrr":
        rows = revenue()
        if mrr_usable(rows, sc.clv_method):
            return clv_from_mrr(rows, sc.clv_horizon_days, sc.annual_discount_rate), "mrr"
    return bgnbd(), "bgnbd"


def clv_text(method: str, horizon_days: int, annual_discount_rate: float) -> str:
    """How the predicted CLV was made, for the log."""
    if method == "mrr":
        factor = monthly_clv_factor(horizon_days, annual_discount_rate)
        return (f"MRR of the active subscriptions x {horizon_days / MONTH_DAYS:.2f} months "
                f"({factor:.2f} discounted at {annual_discount_rate:g} a year)")
    return f"BG/NBD x Gamma-Gamma over {horizon_days} days"


def shared_bgnbd(fitted: dict[pd.Timestamp, BGNBD], cutoff: pd.Timestamp, time: TimeConfig) -> BGNBD | None:
    """The ``btyd`` family's BG/NBD at ``cutoff`` when the CLV would fit the same one, else None.

    The family fits everyone at risk, the CLV everyone with a purchase before
    the cutoff (:func:`churnml.btyd.summary_at`), with the same purchase days:
    the same customers and the same (x, t_x, T), to rounding (1e-12), when
    being at risk is having bought (non-contractual, no
    ``time.active_within_days``).
    """
    model = fitted.get(cutoff)
    if model is None or time.regime != "noncontractual" or time.active_within_days is not None:
        return None
    log.info("the CLV reuses the BG/NBD fit of the btyd features at %s", cutoff.date())
    return model


def historical_value_per_year(transactions: pd.DataFrame, cutoff: pd.Timestamp) -> float:
    """Customer value per year of METRICS.md (APV x APF) over the year before ``cutoff``.

    The KPI table's ``value_per_year`` (:func:`churnml.metrics.periods.value_per_year`):
    revenue net of returns per customer with a purchase, over the calendar
    year ``[cutoff - 1 year, cutoff)``; the historical CLV is this times an
    average lifespan in years. NaN when the data starts inside that year
    (the KPI table's and the score log's n/a) or nobody bought in it.
    """
    return value_per_year(transactions, cutoff)


def _year_value_text(tx: pd.DataFrame, cutoff: pd.Timestamp) -> str:
    """The log's historical value per year, or why it is n/a (as the KPI table: a year of data is needed)."""
    what = "historical customer value per year (APV x APF of METRICS.md, per buyer of the year before the cutoff)"
    first = tx["timestamp"].min()
    if not has_a_year(cutoff, first):
        return f"{what} n/a: the data starts on {first.date()}, less than a year before the cutoff"
    value = historical_value_per_year(tx, cutoff)
    return f"{what} {value:.2f}" if np.isfinite(value) else f"{what} n/a: no purchase in that year"


def _requested(pop: pd.DataFrame, tables: object, customers: Sequence[str] | None,
               time: TimeConfig) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Split the asked customers into the spine and the unscored (with reasons)."""
    if customers is None:
        none = pd.Series([], dtype="str")
        return pop, pd.DataFrame({"customer_id": none, "reason": none}), len(pop)
    known = set(getattr(tables, "transactions")["customer_id"])  # noqa: B009
    for name in ("customers", "subscriptions"):
        frame = getattr(tables, name, None)
        if isinstance(frame, ParquetSource):  # read in place, as the features read it
            known |= frame.distinct("customer_id")
        elif frame is not None:
            known |= set(frame["customer_id"])
    keep, unscored = account_for(customers, known, set(pop["customer_id"]), time)
    spine = pop[pop["customer_id"].isin(set(keep))].reset_index(drop=True)
    return spine, unscored, len(keep) + len(unscored)


def nobody_text(c: pd.Timestamp, listed: bool, asked: int, unscored: pd.DataFrame, time: TimeConfig,
                warned: Sequence[str] = (), in_tables: int = 0) -> str:
    """Why nobody can be scored: the reasons of the asked customers, counted (or, when everyone at risk was
    asked, the ``in_tables`` customers of the tables, none at risk, by reason), then the warnings of the run
    (``warned``, e.g. :func:`warn_if_stale`'s), which no summary will repeat."""
    also = "".join(f". Also: {w.rstrip('.')}" for w in warned)
    if not listed:
        why = not_at_risk_reason(time)
        who = ("the tables have no customer (no customer_id in the transactions, customers or subscriptions)"
               if in_tables == 0 else f"the one customer in the tables is not at risk ({why})" if in_tables == 1
               else f"none of the {in_tables:,} customers in the tables is at risk ({why}: {in_tables:,})")
        return f"nobody to score at {c.date()}: {who}; pick a later --cutoff{also}"
    kind = unscored["reason"].str.split(";").str[0].str.split(":").str[0]
    counts = kind.value_counts(sort=False).reindex(kind.unique()).sort_values(ascending=False, kind="stable")
    why = ", ".join(f"{reason}: {n}" for reason, n in counts.items())
    who = "the one asked customer cannot" if asked == 1 else f"none of the {asked} asked customers can"
    return f"nobody to score at {c.date()}: {who} be scored ({why}){also}"


def warn_if_stale(last_timestamp: object, cutoff: pd.Timestamp, data_end: object | None = None) -> list[str]:
    """Warn when the cutoff is long after the data: every customer then looks silent for that long.

    ``last_timestamp`` is the transactions' latest (None or NaT when they have
    none); the data's end is the day after it, or ``data_end`` when declared
    (``data.end``). Returns the warning (also logged) as a list of zero or one text.
    """
    last = pd.Series([last_timestamp])
    if last.isna().all():
        return []
    text = stale_cutoff_text(cutoff, DataSpan.from_times(last, data_end).end)
    if text:
        log.warning("%s", text)
    return [text] if text else []


#: A cutoff more days than this after the end of the data a model was judged on gets a warning
#: (:func:`warn_model_cutoff`): half a year.
MODEL_AGE_DAYS = 183


def warn_model_cutoff(model: object, cutoff: pd.Timestamp) -> list[str]:
    """Warn when the model was trained on what follows the cutoff (in-sample), or on data long before it.

    Read from the model's test cutoff and horizon (``model.extra_``); a model without them gets no
    warning. Returns the warnings (also logged).
    """
    extra = getattr(model, "extra_", None) or {}
    if "test_cutoff" not in extra:
        return []
    test = to_cutoff(extra["test_cutoff"])
    texts = []
    if cutoff < test:
        texts.append(f"the cutoff {cutoff.date()} is before the model's test cutoff {test.date()}: its training "
                     "labels reach past the cutoff, so its probabilities there are in-sample (better than a forecast "
                     "made then could be); to backtest at this cutoff, train on data that ends there")
    elif extra.get("horizon_days") is not None:
        lead = int(extra.get("time", {}).get("lead_time_days", 0))
        seen = label_window(test, int(extra["horizon_days"]), lead).end  # the end of its test labels
        age = (cutoff - seen).days
        if age > MODEL_AGE_DAYS:
            texts.append(f"the model was judged on data up to {seen.date()}, {age} days before the cutoff "
                         f"{cutoff.date()}: customers may behave otherwise now; train it again on newer data")
    for text in texts:
        log.warning("%s", text)
    return texts


def _types_present(tables: object, cutoff: pd.Timestamp) -> TypesPresent:
    """Which (table, type) pairs have a row before ``cutoff`` (for :func:`warn_absent_types`)."""
    def present(pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
        seen = {t: set(distinct_before(getattr(tables, t, None), TYPE_COLUMN[t], cutoff)) for t in {t for t, _ in pairs}}
        return {(t, k) for t, k in pairs if k in seen[t]}
    return present


def score_customers(
    tables: object,
    model: ChurnModel,
    cutoff: object,
    cfg: Config | None,
    customers: Sequence[str] | str | None = None,
    top: int | None = None,
    budget: float | None = None,
    list_not_at_risk: bool = False,
) -> ScoreResult:
    """Score the customers at risk at ``cutoff`` and build the outreach list.

    Parameters
    ----------
    tables : Tables or dict of str to DataFrame
        Canonical tables with at least the tables the model's feature plan uses.
        Transactions must be a pandas frame; the others may be
        :class:`~churnml.engine.ParquetSource` (read in place).
    model : ChurnModel
        With ``extra_["feature_plan"]`` and ``extra_["time"]`` from training
        (:func:`churnml.training.fit_and_evaluate`'s ``result.model`` has them,
        and so does a model loaded by :func:`load_churn_model`).
    cutoff : date-like
        The moment of scoring (a midnight); its labels do not exist yet.
    cfg : Config or None
        Its ``scoring`` section and ``data.end`` are used (None: the defaults):
        the time model and the features are the model's own
        (``extra_["time"]``, ``extra_["feature_plan"]``).
    customers : sequence of str, optional
        The customers to score (default: everyone at risk at the cutoff); one
        id given as text is one customer.
    top, budget : optional
        Keep the ``top`` highest value at risk, or as many as ``budget`` pays
        for at ``scoring.cost_per_contact`` among those whose expected saved
        value (``save_rate x value_at_risk``) exceeds the contact cost.
    list_not_at_risk : bool
        Without ``customers``: also list the customers of the tables not at
        risk (:attr:`ScoreResult.not_at_risk`, the command's
        ``--list-not-at-risk``); by default they are only counted, by a query.

    Raises
    ------
    NobodyToScoreError
        No customer (or no asked one) can be scored; its ``unscored`` has
        every asked id with its reason. When nobody at all is at risk, its
        message counts the tables' customers by reason, and with
        ``list_not_at_risk`` its ``not_at_risk`` lists them.
    """
    c = to_cutoff(cutoff)  # type: ignore[arg-type]
    cfg = cfg if cfg is not None else Config()
    tables = as_tables(tables)
    if isinstance(customers, str):
        customers = [customers]
    problems = cut_problems(top, budget)
    if problems:
        raise ConfigError("; ".join(problems).replace("--top", "top").replace("--budget", "budget"))
    if customers is not None and len(customers) == 0:
        raise ConfigError("customers is an empty list: give the ids to score, or None to score everyone at risk")
    tx = in_memory(getattr(tables, "transactions", None), "transactions", "scoring needs")  # for the CLV and RFM segments
    warned = [*warn_if_stale(tx["timestamp"].max(), c, cfg.data.end), *warn_model_cutoff(model, c)]
    extra = getattr(model, "extra_", {})
    if "feature_plan" not in extra:
        raise ModelError("the model has no feature plan; train it with churnml >= 0.1")
    time = TimeConfig(**extra["time"])
    plan = FeaturePlan.from_dict(extra["feature_plan"])
    subs = getattr(tables, "subscriptions", None)
    method = clv_method_for(cfg.scoring.clv_method, time, None if subs is None else list(subs.columns))
    pop = population(tables, [c], time)
    spine, unscored, asked = _requested(pop, tables, customers, time)
    in_tables, outside = (None, None) if customers is not None else beyond_risk(
        list_not_at_risk, len(pop), lambda: count_customers(tables), lambda: not_at_risk(tables, pop, time))
    if spine.empty:
        raise NobodyToScoreError(nobody_text(c, customers is not None, asked, unscored, time, warned,
                                             in_tables or 0), unscored, outside, in_tables)
    log.info("scoring %d customers at %s with the model's time model: %s, horizon %d days, lead time %d days",
             len(spine), c.date(), time.regime, time.horizon_days, time.lead_time_days)
    # The btyd family fits BG/NBD on the spine it is given: fit it on everyone at risk, as at
    # training, and keep the asked customers' rows afterwards.
    subset = plan.btyd_horizon_days is not None and len(spine) < len(pop)
    fitted: dict[pd.Timestamp, BGNBD] = {}
    feats = compute_features(tables, pop if subset else spine, plan, btyd_models=fitted)
    if subset:
        feats = feats[feats["customer_id"].isin(set(spine["customer_id"]))].reset_index(drop=True)
    warned = [*warned, *warn_unseen_levels(model, feats), *warn_absent_types(plan, feats, _types_present(tables, c))]
    if plan.event_types:  # a spelling of a trained type that its columns do not count
        warned += warn_type_spellings(plan, type_counts(getattr(tables, "events", None), "event_type", c))
    clv, method = choose_clv(method, cfg, lambda: recurring_revenue(tables, c), lambda: predicted_clv(
        tx, c, cfg.scoring.clv_horizon_days, cfg.scoring.annual_discount_rate, shared_bgnbd(fitted, c, time)))
    rfm = rfm_table(tx, c)
    scored = pd.DataFrame({
        "customer_id": feats["customer_id"],
        "cutoff": feats["cutoff"],
        "churn_probability": model.predict_proba(feats[model.feature_names_]),
        "predicted_clv": feats["customer_id"].map(clv).astype("float64"),
        "historical_spend": feats["rfm_monetary_sum_all"] if "rfm_monetary_sum_all" in feats else np.nan,
        "rfm_segment": feats["customer_id"].map(rfm["segment"]).astype("str"),
        "tenure_days": feats["rfm_tenure_days"] if "rfm_tenure_days" in feats else np.nan,
    })
    if subs is not None and "cancel_requested_at" in subs.columns:
        scored = with_cancel_requests(scored, cancel_requests(tables, c))
    log.info("value: mean predicted CLV (%s) of the %d scored customers %.2f; %s",
             clv_text(method, cfg.scoring.clv_horizon_days, cfg.scoring.annual_discount_rate), len(scored),
             float(scored["predicted_clv"].mean()), _year_value_text(tx, c))
    by_id = feats.reset_index(drop=True).set_index("customer_id")
    chosen = outreach_list(scored, model, lambda ids: by_id.loc[ids].reset_index(), cfg, top, budget)
    counts = accounting(asked, scored, chosen, unscored, len(pop), in_tables)
    beside = beside_the_list(scored, chosen, cfg, top, budget, asked=customers is not None)
    return ScoreResult(chosen, unscored, counts, beside, warned, open_requests(scored), outside,
                       not_at_risk_counts(counts, time))


def beyond_risk(listed: bool, at_risk: int, count: Callable[[], int],
                rows: Callable[[], pd.DataFrame]) -> tuple[int, pd.DataFrame | None]:
    """How many customers the tables have, and (``listed``: ``--list-not-at-risk``) those of them not at risk.

    Both engines: ``count()`` counts the tables' customers with a query
    (:func:`churnml.labels.count_customers`), ``rows()`` collects the ones not
    at risk with their reason (:func:`churnml.labels.not_at_risk`); only one
    of them runs, so a run that only counts collects no id.
    """
    if listed:
        outside = rows()
        return at_risk + len(outside), outside
    return count(), None


def not_at_risk_counts(counts: dict[str, int], time: TimeConfig) -> dict[str, int] | None:
    """The customers of the tables not at risk by reason (:func:`churnml.labels.not_at_risk_reason`; empty when
    there are none), from the counts of :func:`accounting`; None when they were not counted (asked customers)."""
    if "not_at_risk" not in counts:
        return None
    n = counts["not_at_risk"]
    return {not_at_risk_reason(time): n} if n else {}


def open_requests(scored: pd.DataFrame) -> int | None:
    """How many scored customers have an open cancellation request (None: the column is not there)."""
    if "cancel_requested_at" not in scored.columns:
        return None
    n = int(scored["cancel_requested_at"].notna().sum())
    log.info("%d of the %d scored customers have an open cancellation request (cancel_requested_at)", n, len(scored))
    return n


def accounting(asked: int, scored: pd.DataFrame, listed: pd.DataFrame, unscored: pd.DataFrame, at_risk: int,
               in_tables: int | None) -> dict[str, int]:
    """Where every customer went, checked and logged (both engines): the counts of :class:`ScoreResult`.

    ``asked``: how many customers were asked (everyone at risk: ``at_risk``, the population's size);
    ``in_tables``: how many customers the tables have when everyone at risk was scored (else None,
    :func:`beyond_risk`), which adds ``in_tables`` and ``not_at_risk`` (the others). Raises
    :class:`~churnml.errors.ModelError` when the counts do not add up.
    """
    counts = {"asked": asked, "scored": len(scored), "listed": len(listed),
              "below_cut": len(scored) - len(listed), "unscored": len(unscored)}
    bad = counts["scored"] + counts["unscored"] != asked
    if in_tables is not None:  # everyone at risk was asked: the tables' customers are those and the others
        counts |= {"in_tables": in_tables, "not_at_risk": in_tables - at_risk}
        bad = bad or asked != at_risk or in_tables < at_risk
    if bad:
        raise ModelError(f"customer accounting does not add up: {counts}")
    log_accounting(counts)
    return counts


def log_accounting(counts: dict[str, int]) -> None:
    """Log where every asked customer went (both engines word it so)."""
    tables = (f"{counts['in_tables']} customers in the tables = {counts['scored']} at risk, all scored, + "
              f"{counts['not_at_risk']} not at risk; ") if "in_tables" in counts else ""
    log.info("customers: %s%d asked = %d scored + %d unscored; %d on the list, %d below the cut", tables,
             counts["asked"], counts["scored"], counts["unscored"], counts["listed"], counts["below_cut"])


