"""The outreach list: tier, rank, cut, reasons and a suggested action.

Shared by every engine: :func:`churnml.scoring.score_customers` (DuckDB)
and ``churnml.spark.score`` compute one row per scored customer
(:data:`SCORED_COLUMNS`) and call :func:`outreach_list`;
:func:`account_for` says why asked customers cannot be scored,
:func:`cut_problems` checks the cut and :func:`spreadsheet_safe` guards the
CSV files written from the list.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from churnml import explain
from churnml.coercion import canonical_ids
from churnml.config import Config, TimeConfig
from churnml.errors import ConfigError, ModelError, SchemaError
from churnml.features.base import sql_name
from churnml.features.events import days_since_column
from churnml.features.plan import FeaturePlan
from churnml.features.surveys import latest_column
from churnml.labels import not_at_risk_reason
from churnml.metrics.segments import UNKNOWN
from churnml.model import ChurnModel
from churnml.playbook import suggest_actions
from churnml.reasons import reason_columns
from churnml.report_template import format_value

__all__ = [
    "OPTIONAL_COLUMNS",
    "SCORED_COLUMNS",
    "FeatureRows",
    "NobodyToScoreError",
    "account_for",
    "below_the_cut",
    "beside_the_list",
    "cut_problems",
    "outreach_list",
    "money_in_cents",
    "spreadsheet_safe",
    "TypesPresent",
    "type_columns",
    "warn_absent_types",
    "warn_type_spellings",
    "warn_unseen_levels",
    "with_cancel_requests",
]

log = logging.getLogger(__name__)

#: The per-customer columns :func:`outreach_list` ranks, in the order the list shows them.
SCORED_COLUMNS = ("customer_id", "cutoff", "churn_probability", "predicted_clv", "historical_spend",
                  "rfm_segment", "tenure_days")

#: Per-customer columns the list carries when the scored frame has them: ``cancel_requested_at``, the
#: latest open cancellation request (:func:`churnml.label_sql.cancel_requests_sql`), given when the
#: subscriptions have that column; NaT for a customer without one.
OPTIONAL_COLUMNS = ("cancel_requested_at",)

#: ``feature_rows(ids)``: the feature rows (``customer_id`` plus the model's features) of those ids.
FeatureRows = Callable[[pd.Series], pd.DataFrame]


def _tiers(p: np.ndarray, tiers: dict[str, float]) -> np.ndarray:
    ordered = sorted(tiers.items(), key=lambda kv: -kv[1])
    out = np.full(len(p), ordered[-1][0], dtype=object)
    for name, bound in reversed(ordered):
        out[p >= bound] = name
    return out


class NobodyToScoreError(ModelError):
    """No customer can be scored; ``unscored`` has every asked id and why (``customer_id``, ``reason``).

    ``not_at_risk``: when everyone at risk was asked (nobody is) and the list of the tables' customers not at
    risk was asked for, that list (``customer_id``, ``reason``); else None. ``in_tables``: when everyone at risk
    was asked, how many customers the tables have (none of them at risk); else None.
    """

    def __init__(self, message: str, unscored: pd.DataFrame, not_at_risk: pd.DataFrame | None = None,
                 in_tables: int | None = None) -> None:
        super().__init__(message)
        self.unscored = unscored
        self.not_at_risk = not_at_risk
        self.in_tables = in_tables


def cut_problems(top: object, budget: object) -> list[str]:
    """What is wrong with the cut of :func:`outreach_list` (empty: nothing).

    ``top`` must be a whole number >= 1 and ``budget`` a finite amount of
    money >= 0 (a budget below one contact lists nobody); at most one of them.
    """
    problems = []
    if top is not None and budget is not None:
        problems.append("give --top or --budget, not both")
    if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1):
        problems.append(f"--top must be a whole number >= 1 (customers on the list), got {top!r}")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float, np.number))
                               or not math.isfinite(float(budget)) or budget < 0):
        problems.append(f"--budget must be a finite amount of money >= 0 (contacts at "
                        f"scoring.cost_per_contact each), got {budget!r}")
    return problems


def _select(ranked: pd.DataFrame, top: int | None, budget: float | None, cfg: Config) -> pd.DataFrame:
    problems = cut_problems(top, budget)
    if problems:
        raise ConfigError("; ".join(problems))
    if top is not None:
        return ranked.head(top)
    if budget is not None:
        cost, save = cfg.scoring.cost_per_contact, cfg.scoring.save_rate
        if cost <= 0:
            raise ConfigError("--budget needs scoring.cost_per_contact > 0")
        worth = ranked[save * ranked["value_at_risk"] > cost]
        # contacts the budget pays for; the epsilon keeps 3.3 / 1.1 (2.9999999999999996 in floats) at 3
        paid = math.floor(budget / cost * (1 + 1e-12))
        if paid > len(worth) and len(worth) > 0:
            log.warning("--budget %s pays for %s contacts at scoring.cost_per_contact = %s each, but only %s of the "
                        "%s scored customers are worth a contact (save rate x value at risk > cost): all are listed "
                        "and %s of the budget is left (if that is unexpected: the costs are in the currency of the "
                        "amounts; check scoring.cost_per_contact)", _as_given(budget), f"{paid:,}", _as_given(cost),
                        f"{len(worth):,}", f"{len(ranked):,}", format_value(budget - len(worth) * cost, "money"))
        return worth.head(paid)
    return ranked


def outreach_list(scored: pd.DataFrame, model: ChurnModel, feature_rows: FeatureRows, cfg: Config,
                  top: int | None = None, budget: float | None = None) -> pd.DataFrame:
    """Tier, rank, cut, explain and suggest: the outreach list of scored customers.

    Shared by :func:`score_customers` and ``churnml.spark.score``.

    * ``risk_tier``: the first tier of ``scoring.tiers`` (highest bound first)
      whose lower bound the churn probability reaches;
    * ``value_at_risk = churn_probability x predicted_clv`` (money);
    * ``rank``: 1 = highest value at risk; ties by higher probability, then customer_id;
    * the cut: the ``top`` first, or as many as ``budget // scoring.cost_per_contact``
      among those with ``save_rate x value_at_risk > cost_per_contact``, or everyone;
    * ``scoring.top_k`` reason codes (TreeSHAP) and a playbook action, for the
      listed customers only; the playbook reads the first
      ``scoring.playbook_reasons`` reasons, whatever ``top_k`` shows.

    Parameters
    ----------
    scored : DataFrame
        One row per scored customer with the :data:`SCORED_COLUMNS`
        (probability in [0, 1], CLV and spend in money, tenure in days), and
        any of the :data:`OPTIONAL_COLUMNS`.
    model : ChurnModel
        The model that gave the probabilities (for the reason codes).
    feature_rows : callable
        ``feature_rows(ids)`` -> the feature rows (``customer_id`` and the
        model's features) of the listed ``ids``; called once, only when reasons
        are asked for, so an engine fetches only those rows.
    cfg : Config
        ``scoring`` section: tiers, top_k, cost_per_contact, save_rate, playbook.
    top, budget : optional
        The cut (at most one of them; see :func:`cut_problems`).

    Returns
    -------
    DataFrame
        ``rank``, ``customer_id``, ``cutoff``, ``churn_probability``, ``risk_tier``,
        ``predicted_clv``, ``value_at_risk``, ``historical_spend``, ``rfm_segment``,
        ``cancel_requested_at`` (when ``scored`` has it), ``reason_i``, ``reason_i_feature``, ``reason_i_value``,
        ``reason_i_contribution``, ``reason_i_text`` (i = 1..top_k) and
        ``suggested_action``, in rank order.
    """
    ranked = _ranked(scored, cfg)
    chosen = _select(ranked, top, budget, cfg).reset_index(drop=True)
    sc = cfg.scoring
    # The playbook reads the first playbook_reasons reasons whatever top_k shows (0 included).
    played = sc.playbook_reasons if any(rule.reason_prefixes is not None for rule in sc.playbook) else 0
    reasons = _reasons(model, feature_rows, chosen, max(sc.top_k, played))
    features = [f"reason_{i}_feature" for i in range(1, played + 1)]
    actions = suggest_actions(chosen, sc.playbook, reasons[features], scored=len(ranked))
    shown = [c for c in reasons.columns if int(c.split("_")[1]) <= sc.top_k]
    return pd.concat([chosen.drop(columns=["tenure_days"]), reasons[shown]], axis=1).assign(suggested_action=actions)


def with_cancel_requests(scored: pd.DataFrame, requests: pd.DataFrame) -> pd.DataFrame:
    """``scored`` with ``cancel_requested_at``: each customer's row of ``requests``, NaT for the others.

    ``requests`` has the columns of :func:`churnml.label_sql.cancel_requests_sql`
    for the scored cutoff (either engine computes it); the column keeps the
    type of ``scored``'s ``cutoff`` (naive times of ``data.timezone``).
    """
    kind = scored["cutoff"].dtype
    asked = requests.set_index("customer_id")["cancel_requested_at"].astype(kind)
    out = scored.copy()
    out["cancel_requested_at"] = pd.Series(asked.reindex(out["customer_id"]).to_numpy(), index=out.index, dtype=kind)
    return out


def _ranked(scored: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Every scored customer with ``rank``, ``risk_tier`` and ``value_at_risk``, in rank order."""
    missing = [col for col in SCORED_COLUMNS if col not in scored.columns]
    if missing:
        raise SchemaError(f"outreach_list: missing column(s) {missing}; found {list(scored.columns)}; "
                          "build the scored frame with every column of churnml.scoring.SCORED_COLUMNS")
    out = scored[list(SCORED_COLUMNS) + [c for c in OPTIONAL_COLUMNS if c in scored.columns]].reset_index(drop=True)
    out["predicted_clv"] = out["predicted_clv"].astype("float64")
    out["rfm_segment"] = out["rfm_segment"].astype("str").fillna(UNKNOWN)  # no purchase yet: as churn_by_segment
    out.insert(3, "risk_tier", _tiers(out["churn_probability"].to_numpy(), cfg.scoring.tiers))
    out.insert(5, "value_at_risk", out["churn_probability"] * out["predicted_clv"])
    ranked = out.sort_values(["value_at_risk", "churn_probability", "customer_id"],
                             ascending=[False, False, True], kind="stable").reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    return ranked


def below_the_cut(scored: pd.DataFrame, listed: pd.DataFrame, cfg: Config, top: int | None = None,
                  budget: float | None = None, requests_only: bool = False) -> pd.DataFrame:
    """The scored customers the cut left off the list, and why (``customer_id``, ``reason``), in rank order.

    For a ``--customers`` list, so that every asked customer is on the list or
    beside it with a reason. ``scored`` and ``listed`` are the input and output
    of :func:`outreach_list` with the same ``cfg``, ``top`` and ``budget``.
    The reason gives the rank among the scored (1 = highest value at risk),
    the value at risk and what the cut kept, e.g. ``below the cut: rank 3 of 4
    by value at risk (12.50); --top 2 keeps ranks 1 to 2``. Under a budget, a
    customer whose expected saved value does not exceed the contact cost says
    so instead. A customer with an open cancellation request (``scored``'s
    ``cancel_requested_at``) adds ``; asked to cancel on 2024-06-14``.
    ``requests_only``: only those customers (for a list of everyone at risk,
    whose other customers below the cut are counted, not listed).
    """
    ranked = _ranked(scored, cfg)
    rest = ranked[~ranked["customer_id"].isin(set(listed["customer_id"]))]
    asked_to_cancel = (rest["cancel_requested_at"].notna() if "cancel_requested_at" in rest.columns
                       else pd.Series(False, index=rest.index))
    if requests_only:
        rest, asked_to_cancel = rest[asked_to_cancel], asked_to_cancel[asked_to_cancel]
    if rest.empty:
        return _nobody_beside()
    unknown = rest["value_at_risk"].isna()  # no predicted CLV: ranked last
    shown = rest["value_at_risk"].map(lambda v: format_value(v, "money")).where(~unknown, "unknown: no predicted CLV")
    where = "below the cut: rank " + rest["rank"].astype("str") + f" of {len(ranked)} by value at risk (" + shown + ")"
    if top is not None:
        why = pd.Series(f"; --top {top} keeps ranks 1 to {min(top, len(ranked))}", index=rest.index)
    elif budget is not None:
        cost, save = cfg.scoring.cost_per_contact, cfg.scoring.save_rate
        why = pd.Series(f"; --budget {_as_given(budget)} pays for {len(listed)} contact(s) at {_as_given(cost)} each",
                        index=rest.index)
        why[~(save * rest["value_at_risk"] > cost) & ~unknown] = (
            f"; not worth a contact: save rate {_as_given(save)} x value at risk <= cost per contact {_as_given(cost)}")
        why[unknown] = "; not contacted: its value at risk is unknown"
    else:
        why = pd.Series("", index=rest.index)
    if asked_to_cancel.any():
        on = rest.loc[asked_to_cancel, "cancel_requested_at"].dt.strftime("%Y-%m-%d")
        why[asked_to_cancel] = why[asked_to_cancel] + "; asked to cancel on " + on
    return pd.DataFrame({"customer_id": rest["customer_id"].astype("str"),
                         "reason": (where + why).astype("str")}).reset_index(drop=True)


def beside_the_list(scored: pd.DataFrame, listed: pd.DataFrame, cfg: Config, top: int | None, budget: float | None,
                    asked: bool) -> pd.DataFrame | None:
    """The scored customers written beside the list, with why (:func:`below_the_cut`'s reasons).

    For a list of ``asked`` customers, every one the cut left off. For
    everyone at risk, only those with an open cancellation request (the
    others below the cut are counted, not listed); ``None`` when ``scored``
    has no ``cancel_requested_at``.
    """
    if asked:
        return below_the_cut(scored, listed, cfg, top, budget)
    if "cancel_requested_at" not in scored.columns:
        return None
    waiting = scored["cancel_requested_at"].notna() & ~scored["customer_id"].isin(set(listed["customer_id"]))
    if not waiting.any():  # nobody to write: spare ranking everyone at risk a second time
        return _nobody_beside()
    return below_the_cut(scored, listed, cfg, top, budget, requests_only=True)


def _nobody_beside() -> pd.DataFrame:
    """The empty frame of :func:`below_the_cut` (``customer_id``, ``reason``)."""
    none = pd.Series([], dtype="str")
    return pd.DataFrame({"customer_id": none, "reason": none})


def _as_given(x: float) -> str:
    """A number as the user typed it, without a float's ``.0``: 20.0 -> '20', 12.345678 -> '12.345678'."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _reasons(model: ChurnModel, feature_rows: FeatureRows, chosen: pd.DataFrame, top_k: int) -> pd.DataFrame:
    """Reason codes of the chosen rows (index ``0..n-1``), from their feature rows."""
    if top_k == 0 or chosen.empty:  # nobody chosen: the columns still, so that the list keeps its shape
        return pd.DataFrame({c: pd.Series(index=chosen.index, dtype="float64" if c.endswith("_contribution") else "str")
                             for c in reason_columns(top_k)}, index=chosen.index)
    ids = chosen["customer_id"]
    rows = feature_rows(ids).drop_duplicates("customer_id").set_index("customer_id")
    absent = ids[~ids.isin(rows.index)]
    if len(absent):
        raise ModelError(f"no feature row for {len(absent)} listed customer(s), e.g. {absent.head(5).tolist()}")
    raw = rows.loc[ids, model.feature_names_]
    Xc = model.prepared(raw)
    contrib = explain.contributions(model.booster_, Xc)
    codes = explain.reason_codes(contrib, Xc, top_k=top_k, unseen=model.unseen_levels(raw))
    codes.index = chosen.index
    return codes


def warn_unseen_levels(model: ChurnModel, features: pd.DataFrame) -> list[str]:
    """Warn, once per column, about categorical values the model never saw in training (returns the warnings).

    The model scores such a value as missing (a plan added since training reads as no plan): the
    probabilities of those customers are the model's guess for "unknown", and their reasons say so.
    """
    warned = []
    for col, values in model.unseen_levels(features).items():
        counts = values.value_counts()
        shown = ", ".join(f"{v!r} ({n:,})" for v, n in counts.head(5).items())
        text = (f"{col}: {int(counts.sum()):,} scored customers have a value the model never saw in training "
                f"({shown}{', ...' if len(counts) > 5 else ''}); it scores them as if the value were missing, "
                "and their reasons say so. Retrain the model to learn the new values")
        log.warning("%s", text)
        warned.append(text)
    return warned


def type_columns(plan: FeaturePlan) -> dict[str, tuple[str, str]]:
    """Per event and survey type of ``plan``, the feature column that is missing for a customer without
    such a row before the cutoff (``evt_{e}_days_since``, ``srv_{k}_last``): column -> (table, type)."""
    return {**{days_since_column(t): ("events", t) for t in plan.event_types},
            **{latest_column(k): ("surveys", k) for k in plan.survey_types}}


#: Which of some (table, type) pairs have a row before the cutoff in their table (an engine's look-up).
TypesPresent = Callable[[list[tuple[str, str]]], set[tuple[str, str]]]


def warn_absent_types(plan: FeaturePlan, features: pd.DataFrame, present: TypesPresent) -> list[str]:
    """Warn about an event or survey type the model was trained with that has no row before the cutoff in its
    table (returns the warnings): renamed in the export, or no longer recorded, it reads as "never" for
    everyone, which the model took as a customer's behaviour. The types whose features are missing for
    every scored customer are looked up in their tables (``present``), so a rare type that the scored
    customers lack is not warned about."""
    if features.empty:
        return []
    columns = type_columns(plan)
    unseen = [columns[c] for c in columns if c in features.columns and features[c].isna().all()]
    found = present(unseen) if unseen else set()
    warned = []
    for table, kind in (pair for pair in unseen if pair not in found):
        noun = "event" if table == "events" else "answer"
        text = (f"{table}: no {noun} of the type {kind!r} before the cutoff, though the model was trained with it: "
                f"its features say 'never' for all {len(features):,} customers scored, which the model reads as "
                "each customer's behaviour. Was the type renamed, or is it no longer recorded? Check the table, "
                "or retrain without it")
        log.warning("%s", text)
        warned.append(text)
    return warned


def warn_type_spellings(plan: FeaturePlan, counts: Mapping[str, int]) -> list[str]:
    """Warn about event types of the scoring data that are spelt otherwise than a type the model was trained with
    but give its feature name (``'Login'`` where the model learnt ``'login'``: both ``login``); returns the warnings.

    The model's ``evt_{type}_*`` columns count the rows of the type as the training data spelt it, so the
    other spelling's rows count only in ``evt_all_count_*``: a customer whose logins are all ``'Login'``
    looks as if they never logged in. Training refuses two such spellings in one table
    (:func:`churnml.features.plan.plan_features`); scoring computes the model's columns and says so.
    ``counts``: rows per event type before the cutoff (:func:`churnml.features.plan.type_counts`).
    """
    planned = {sql_name(t): t for t in plan.event_types}
    known = set(plan.event_types)
    warned = []
    for kind in sorted(counts):
        trained = planned.get(sql_name(kind))
        if kind in known or trained is None:
            continue
        text = (f"events: {counts[kind]:,} rows before the cutoff have the event type {kind!r}, which the model "
                f"was trained with as {trained!r} (both give the feature name {sql_name(kind)!r}); the model's "
                f"evt_{sql_name(kind)}_* features count only the {trained!r} rows, so these count only in "
                f"evt_all_count_*. Fix: write them as {trained!r}, as the training data did (or map them with "
                f"data.tables.events.values: {{event_type: {{{kind!r}: {trained!r}}}}}), and score again")
        log.warning("%s", text)
        warned.append(text)
    return warned


def account_for(customers: Sequence[str], known: Collection[str], at_risk: Collection[str],
                time: TimeConfig) -> tuple[pd.Series, pd.DataFrame]:
    """Which asked customers can be scored, and why the others cannot.

    Every asked id (stripped of surrounding spaces) ends in exactly one of the
    two outputs. Reasons, first match wins: ``missing id`` (missing, empty or
    only white space; with its position in ``customers``, from 1: the data
    row of a ``--customers`` file), ``duplicate`` (asked again: ``duplicate: asked id number 4 repeats number 1``),
    ``unknown customer id`` (not in ``known``: the ids of the transactions,
    customers and subscriptions tables as read), not at risk at the
    cutoff (not in ``at_risk``: :func:`churnml.labels.not_at_risk_reason`, no purchase before it,
    within ``time.active_within_days`` if set, or no active subscription).
    An unknown id made of digits that matches a known id up to leading zeros
    (``7592`` asked, ``07592`` known: a spreadsheet dropped them) says so in
    its reason (``unknown customer id: ...; 07592 exists ...``) and in a
    warning; it is not scored in its place.

    Returns
    -------
    (Series, DataFrame)
        The ids to score, in asking order; the unscored ``customer_id`` and
        ``reason``.
    """
    known = known if isinstance(known, set | frozenset) else set(known)
    asked = _unguarded(canonical_ids(pd.Series(list(customers), dtype=object)).fillna(""), known)  # the id rule
    reason = pd.Series("", index=asked.index, dtype="object")
    number = pd.Series(np.arange(1, len(asked) + 1), index=asked.index)  # from 1, in asking order
    blank = asked == ""
    reason[blank] = "missing id: asked id number " + number[blank].astype("str") + " is empty or NA"
    again = asked.duplicated() & ~blank
    first = number.groupby(asked.to_numpy()).transform("min")
    reason[again] = ("duplicate: asked id number " + number[again].astype("str") + " repeats number "
                     + first[again].astype("str"))
    unknown = ~asked.isin(known) & (reason == "")
    reason[unknown] = "unknown customer id: not in the transactions, customers or subscriptions tables"
    twin = _zero_twins(asked[unknown], known)  # 7592 asked, 07592 known
    if len(twin):
        reason[twin.index] = ("unknown customer id: not in the transactions, customers or subscriptions tables; " + twin
                              + " exists (leading zeros differ; keep the ids as text)")
        log.warning("%d asked id(s) are unknown but match a customer id up to leading zeros, e.g. %s: "
                    "did a spreadsheet drop them? keep the ids as text", len(twin),
                    ", ".join(f"{a!r} -> {b!r}" for a, b in zip(asked[twin.index][:3], twin[:3], strict=True)))
    cased = _case_twins(asked[unknown & ~asked.index.isin(twin.index)], known)  # k90001 asked, K90001 known
    if len(cased):
        reason[cased.index] = ("unknown customer id: not in the transactions, customers or subscriptions tables; "
                               + cased + " exists (upper and lower case differ; ids are compared as written)")
        log.warning("%d asked id(s) are unknown but match a customer id up to case, e.g. %s: write them as the "
                    "tables do", len(cased),
                    ", ".join(f"{a!r} -> {b!r}" for a, b in zip(asked[cased.index][:3], cased[:3], strict=True)))
    not_at_risk = ~asked.isin(set(at_risk)) & (reason == "")
    reason[not_at_risk] = not_at_risk_reason(time)
    keep = asked[reason == ""].reset_index(drop=True)
    unscored = pd.DataFrame({"customer_id": asked[reason != ""], "reason": reason[reason != ""].astype("str")})
    return keep, unscored.reset_index(drop=True)


def _unguarded(asked: pd.Series, known: set[str] | frozenset[str]) -> pd.Series:
    """``asked`` with the spreadsheet guard of :func:`spreadsheet_safe` undone where that names a known id.

    A CSV list writes the id ``=1+1`` as ``'=1+1``; fed back as ``--customers``, ``'=1+1`` is read as
    ``=1+1`` when that id is known and ``'=1+1`` is not (logged)."""
    guarded = asked.str.match(r"'[=+\-@\t\r]").fillna(False).astype(bool)
    if not guarded.any():
        return asked
    bare = asked.str[1:]
    undo = guarded & ~asked.isin(known) & bare.isin(known)
    if undo.any():
        log.info("%d asked id(s) are read without the leading quote a CSV list puts before a cell a spreadsheet "
                 "would run as a formula (e.g. %r -> %r)", int(undo.sum()), asked[undo].iloc[0], bare[undo].iloc[0])
    return asked.where(~undo, bare)


#: Leading zeros tried when looking for the id an unknown digit-only id lost them from.
_MAX_ZEROS = 12


def _zero_twins(unknown: pd.Series, known: Collection[str]) -> pd.Series:
    """The known id equal to each unknown digit-only id up to leading zeros (only those found).

    Tries ``0..12`` leading zeros on the id without its own (fewest first), in
    one vectorised look-up over the unknown ids.
    """
    digits = unknown[unknown.str.fullmatch(r"\d+").fillna(False).astype(bool)]
    if digits.empty:
        return pd.Series([], dtype="str")
    core = digits.str.lstrip("0").to_numpy(dtype=object)
    tries = pd.concat([pd.DataFrame({"row": digits.index, "asked": digits.to_numpy(dtype=object),
                                     "candidate": "0" * zeros + core}) for zeros in range(_MAX_ZEROS + 1)],
                      ignore_index=True)
    found = tries[(tries["candidate"] != tries["asked"]) & tries["candidate"].isin(known)]
    first = found.drop_duplicates("row").sort_values("row")
    return pd.Series(first["candidate"].to_numpy(), index=first["row"].to_numpy(), dtype="str")


def _case_twins(unknown: pd.Series, known: Collection[str]) -> pd.Series:
    """The known id equal to each unknown id up to upper and lower case (only those found; the first
    in sorted order when several are)."""
    if unknown.empty:
        return pd.Series([], dtype="str")
    ids = pd.Series(sorted(known), dtype="str")
    lower = pd.Series(ids.to_numpy(), index=ids.str.lower().to_numpy())
    lower = lower[~lower.index.duplicated()]
    found = unknown.str.lower().map(lower).dropna()
    return found.astype("str")


#: A cell that is a plain number ('-2', '+3.5', '-1e-3', '.5'): a spreadsheet reads it as that number.
_PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


#: Money columns of the list, rounded to cents in CSV files (:func:`money_in_cents`).
MONEY_COLUMNS = ("predicted_clv", "value_at_risk", "historical_spend")


def money_in_cents(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its money columns (:data:`MONEY_COLUMNS`) rounded to two decimals, for CSV files.

    A list read by people and CRMs shows 657.74, not 657.7412093380711; the
    rank was made on the unrounded values, and Parquet files keep them.
    """
    present = [c for c in MONEY_COLUMNS if c in frame.columns]
    return frame.assign(**{c: frame[c].round(2) for c in present}) if present else frame


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading quote.

    For CSV files (Parquet keeps values as they are). A text cell starting
    with ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed with
    ``'`` (OWASP's CSV-injection advice), unless the whole cell is a plain
    number (``-2``, ``+3.5``, ``-1e-3``), which a spreadsheet reads as that
    number; ``-2+3`` is a formula and is quoted. Cells that are not text
    (numbers, dates, missing values) are untouched.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) not in ("string", "mixed",
                                                                                   "mixed-integer"):
            continue  # no text cell in it
        text = s.astype("object")
        starts = text.str[:1].isin(["=", "+", "-", "@", "\t", "\r"]).fillna(False).astype(bool)
        number = text.str.fullmatch(_PLAIN_NUMBER).fillna(False).astype(bool)
        risky = starts & ~number
        if risky.any():
            out[col] = text.where(~risky, "'" + text.where(risky, "").astype("str"))
    return out
