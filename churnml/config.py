"""Typed configuration, loaded from ``configs/*.yaml`` with ``--set`` overrides.

The configuration is one :class:`Config` object passed explicitly to whatever
needs it. Unknown keys are rejected and every mistake is reported at once.
The ``data`` section lives in :mod:`churnml.config_data` and the steps of
:func:`load_config` (YAML file, ``--set`` overrides, error report) in
:mod:`churnml.config_load`; import the section models and
:func:`apply_overrides` from here.

Examples
--------
>>> cfg = load_config(None, overrides=["time.horizon_days=90"])
>>> cfg.time.horizon_days
90
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from churnml.config_data import TABLES as TABLES
from churnml.config_data import DataConfig, StrictSection, SyntheticConfig, TableSource
from churnml.config_load import apply_overrides, read_tree, validate_tree

__all__ = [
    "CHAMPION_METRICS",
    "ChampionMetric",
    "Config",
    "DataConfig",
    "EvaluationConfig",
    "ModelConfig",
    "PlayRule",
    "ScoringConfig",
    "TrackingConfig",
    "FeaturesConfig",
    "MetricsConfig",
    "SyntheticConfig",
    "TableSource",
    "TimeConfig",
    "apply_overrides",
    "load_config",
]


#: The longest span, in days, a time setting may have: 100 years (a horizon of a million days
#: would run past the last date a timestamp holds).
MAX_DAYS = 36_525
#: The most reason codes a customer gets (``scoring.top_k``, :func:`churnml.reasons.reason_codes`).
MAX_TOP_K = 10


class TimeConfig(StrictSection):
    """The time model (see DESIGN.md section 2). All durations are in days.

    ``regime``: ``noncontractual`` (no purchase in the label window) or
    ``contractual`` (subscription ends in the window without renewal within
    ``grace_days``). The label window of a cutoff ``c`` is
    ``[c + lead_time_days, c + lead_time_days + horizon_days)``.
    Training cutoffs run from ``first_cutoff`` to ``last_cutoff`` every
    ``step_days`` (stepping back from the newest); unset ends are derived
    from the data, and ``last_cutoff`` is at most one step before the
    calibration cutoff.

    Training: the test cutoff is ``test_cutoff`` or the newest cutoff whose
    ``horizon_days`` window has matured. ``train_horizon_days``, when shorter
    than ``horizon_days``, is the window of the training and calibration
    labels (made for an asked horizon that cannot mature in training), and the
    probabilities are moved to the asked horizon (:mod:`churnml.horizon`); an
    asked horizon shorter than it is used as it is; None means always the asked
    horizon. Non-contractual only: the move takes its base rate from BG/NBD, a
    model of purchases, so the contractual regime trains on the asked horizon.
    With ``embargo`` every training and calibration label window ends at or
    before the test cutoff.
    ``calibration_share`` of the customers (chosen by a hash of their id) form
    the calibration split and are left out of the training cutoffs: the
    calibration cutoff is one step after the newest training cutoff, so the
    same customer's label windows there would overlap.
    Training uses the ``max_train_cutoffs`` newest training cutoffs (None: all),
    which bounds the training table at weekly steps over a long log.

    The built-in defaults fit the bundled CDNOW data (39-week horizon, the
    holdout of the BTYD literature): see ``configs/default.yaml``.
    """

    section: ClassVar[str] = "time"

    regime: Literal["noncontractual", "contractual"] = "noncontractual"
    horizon_days: int = Field(273, ge=1, le=MAX_DAYS)
    lead_time_days: int = Field(0, ge=0, le=MAX_DAYS)
    active_within_days: int | None = Field(None, ge=1, le=MAX_DAYS)
    grace_days: int = Field(30, ge=0, le=MAX_DAYS)
    step_days: int = Field(7, ge=1, le=MAX_DAYS)
    first_cutoff: dt.date | None = None
    last_cutoff: dt.date | None = None
    min_history_days: int = Field(84, ge=0, le=MAX_DAYS)
    max_train_cutoffs: int | None = Field(26, ge=1)
    train_horizon_days: int | None = Field(120, ge=1, le=MAX_DAYS)
    test_cutoff: dt.date | None = None
    embargo: bool = True
    calibration_share: float = Field(0.2, gt=0, lt=1)


FamilyName = Literal[
    "rfm", "windowed", "events", "surveys", "tickets", "subscriptions", "customers", "btyd"
]


def _all_families() -> list[FamilyName]:
    return ["rfm", "windowed", "events", "surveys", "tickets", "subscriptions", "customers", "btyd"]


class FeaturesConfig(StrictSection):
    """Feature families and windows (days)."""

    section: ClassVar[str] = "features"

    families: list[FamilyName] = Field(default_factory=_all_families)
    windows: list[int] = Field(default_factory=lambda: [7, 30, 90, 180, 365])
    censored_windows: Literal["drop", "flag"] = "drop"

    @field_validator("windows")
    @classmethod
    def _check_windows(cls, windows: list[int]) -> list[int]:
        bad = [w for w in windows if not 1 <= w <= MAX_DAYS]
        if bad:
            raise ValueError(f"look-back windows are whole days from 1 to {MAX_DAYS:,}; {bad} are not")
        return windows


class MetricsConfig(StrictSection):
    """Descriptive metrics: the period grid and the output folder.

    ``csat_satisfied_min``: the lowest CSAT answer counted as satisfied, a
    point of the 1-5 scale above 1 (4: the top two points). ``lifespan_years``: the
    average customer lifespan the historical and margin CLV multiply by, and
    ``serving_cost_per_year``: what serving one customer costs a year (margin
    CLV); the data does not say them, so without them those columns are n/a.
    """

    section: ClassVar[str] = "metrics"

    freq: Literal["M", "Q", "Y"] = "M"
    start: dt.date | None = None
    end: dt.date | None = None
    # The CSAT scale is 1-5 (churnml.schema.SCORE_SCALES["csat"]): the threshold is a point of it
    # above the lowest (1 would count every answer as satisfied: a CSAT of 100 whatever the answers).
    csat_satisfied_min: int = Field(4, gt=1, le=5)
    rfm_bins: int = Field(5, ge=2, le=10)
    lifespan_years: float | None = Field(None, gt=0, allow_inf_nan=False)
    serving_cost_per_year: float | None = Field(None, ge=0, allow_inf_nan=False)
    out_dir: str = "outputs/metrics"


class ModelConfig(StrictSection):
    """LightGBM and calibration.

    ``params`` are passed to LightGBM as they are (checked by
    :func:`churnml.model.lightgbm_param_problems` before training; on top of churnml's
    defaults: binary objective, 7 leaves, max depth 6, learning rate 0.02,
    extremely randomised splits, feature/bagging fraction 0.8, min 400 rows
    per leaf, deterministic). Small, heavily regularised trees generalise
    best across cutoffs on CDNOW (see the README's results).
    ``calibration``: ``sigmoid`` (Platt), ``isotonic`` or ``none``.
    """

    section: ClassVar[str] = "model"

    params: dict[str, Any] = Field(default_factory=dict)
    num_boost_round: int = Field(1000, ge=1)
    early_stopping_rounds: int = Field(50, ge=1)
    calibration: Literal["isotonic", "sigmoid", "none"] = "sigmoid"
    min_rows: int = Field(200, ge=10)


class EvaluationConfig(StrictSection):
    """Business assumptions of the profit curve (money per customer) and the share contacted.

    ``top_fraction``: the share of customers contacted for a lift and precision
    of its own (``lift_top_20pct`` and ``precision_top_20pct`` at 0.2); the
    top-decile metrics are always reported.
    """

    section: ClassVar[str] = "evaluation"

    contact_cost: float = Field(2.0, ge=0)
    offer_cost: float = Field(10.0, ge=0)
    save_rate: float = Field(0.2, ge=0, le=1)
    value_per_save: float | None = Field(None, ge=0)
    top_fraction: float = Field(0.1, gt=0, le=1)


#: The metrics ``tracking.champion_metric`` may name (the keys of
#: ``churnml.evaluate.classification_report`` at the default top fraction but
#: ``base_rate``, which does not judge a model, and the lift and precision at
#: ``evaluation.top_fraction``), each with whether a higher value is better.
CHAMPION_METRICS: dict[str, bool] = {
    "roc_auc": True,
    "pr_auc": True,
    "lift_top_decile": True,
    "precision_top_decile": True,
    "lift_top_fraction": True,
    "precision_top_fraction": True,
    "brier": False,
    "log_loss": False,
    "ece": False,
}

ChampionMetric = Literal[
    "roc_auc", "pr_auc", "lift_top_decile", "precision_top_decile", "lift_top_fraction",
    "precision_top_fraction", "brier", "log_loss", "ece",
]


class TrackingConfig(StrictSection):
    """MLflow: where runs go and how the model is registered.

    ``uri`` None means ``sqlite:///mlflow.db`` in the working folder.
    ``champion_metric``: the test metric a new version must beat to become
    champion; higher is better for ``roc_auc``, ``pr_auc``, ``lift_top_decile``,
    ``precision_top_decile``, ``lift_top_fraction`` and ``precision_top_fraction``
    (the lift and precision at ``evaluation.top_fraction``, compared under their
    own names, e.g. ``lift_top_20pct``), lower for ``brier``, ``log_loss`` and
    ``ece`` (:data:`CHAMPION_METRICS`). ``min_improvement``: by how much more
    than the champion, in the metric's own units (0.002 for ROC-AUC: a new
    version 0.0015 better stays challenger); 0 is any gain above 5e-7.
    ``promote`` false: a registered version is compared and may take the
    challenger alias, never the champion one (make it champion by hand with
    ``python -m churnml.registry promote N``).
    """

    section: ClassVar[str] = "tracking"

    uri: str | None = None
    experiment: str = "churnml"
    registered_model_name: str = "churnml"
    champion_metric: ChampionMetric = "roc_auc"
    min_improvement: float = Field(0.0, ge=0.0, le=1.0e6)
    promote: bool = True
    log_customer_ids: bool = False
    register_model: bool = True


class PlayRule(StrictSection):
    """One row of the outreach playbook; the first matching rule wins.

    A rule matches when every condition given holds: ``tiers`` (risk tier in
    the list), ``reason_prefixes`` (any of the customer's reasons names a
    feature starting with one of them), ``min_value_at_risk_share`` (value at
    risk in the top share of the scored list, e.g. 0.2 = top 20%),
    ``max_tenure_days`` (a new customer), ``cancel_requested`` (true: the
    customer has an open cancellation request, the list's
    ``cancel_requested_at``; false: has none).
    """

    section: ClassVar[str] = "scoring.playbook[i]"

    action: str
    tiers: list[str] | None = None
    reason_prefixes: list[str] | None = None
    min_value_at_risk_share: float | None = Field(None, gt=0, le=1)
    max_tenure_days: int | None = Field(None, ge=0)
    cancel_requested: StrictBool | None = None  # true, false or null only: false is a condition too


def _default_playbook() -> list[PlayRule]:
    return [
        PlayRule(action="save call", cancel_requested=True),
        PlayRule(action="onboarding call", max_tenure_days=60),
        PlayRule(action="personal call from support lead", tiers=["high"], min_value_at_risk_share=0.2,
                 reason_prefixes=["tkt_", "srv_"]),
        PlayRule(action="retention offer", tiers=["high", "medium"], reason_prefixes=["sub_mrr", "sub_plan",
                 "sub_downgrades", "sub_days_to_renewal", "sub_days_since_start", "win_returns"]),
        PlayRule(action="re-engagement campaign", tiers=["high", "medium"],
                 reason_prefixes=["evt_", "win_", "rfm_recency", "rfm_gap", "btyd_"]),
        PlayRule(action="personal call", tiers=["high"], min_value_at_risk_share=0.2),
        PlayRule(action="check-in email"),
    ]


class ScoringConfig(StrictSection):
    """Outreach lists: tiers, value, reasons and the playbook.

    ``tiers``: lower probability bounds of each tier (a customer gets the
    tier with the highest bound they reach). Bounds are distinct, in [0, 1],
    and the lowest is 0 so that every customer has a tier. The predicted
    CLV is the revenue expected over ``clv_horizon_days`` from a customer still
    active at the cutoff, discounted at ``annual_discount_rate``, by
    ``clv_method``: ``bgnbd`` (BG/NBD expected purchases given alive x
    Gamma-Gamma spend), ``mrr`` (the MRR of the subscriptions
    active at the cutoff, paid monthly; contractual regime only) or ``auto``
    (``mrr`` for a contractual model when the subscriptions have an ``mrr``
    column with a value for some active subscription, else ``bgnbd``).
    ``top_k`` reasons are shown per customer; the playbook's
    ``reason_prefixes`` look at the first ``playbook_reasons`` of them
    whatever ``top_k`` shows, so that the suggested action does not depend
    on how many reasons are printed. ``playbook_reasons: 0`` makes rules
    with ``reason_prefixes`` never match; with ``top_k: 0`` as well, no reason
    is computed at all (the fast path for scoring everyone). Every tier a
    playbook rule names must be one of ``tiers``.
    """

    section: ClassVar[str] = "scoring"

    tiers: dict[str, float] = Field(default_factory=lambda: {"high": 0.7, "medium": 0.4, "low": 0.0})
    clv_method: Literal["auto", "bgnbd", "mrr"] = "auto"
    clv_horizon_days: int = Field(365, ge=7, le=MAX_DAYS)
    annual_discount_rate: float = Field(0.10, ge=0, lt=1)
    top_k: int = Field(3, ge=0, le=MAX_TOP_K)
    playbook_reasons: int = Field(3, ge=0, le=10)
    cost_per_contact: float = Field(2.0, ge=0)
    save_rate: float = Field(0.2, ge=0, le=1)
    playbook: list[PlayRule] = Field(default_factory=_default_playbook)

    @field_validator("tiers")
    @classmethod
    def _check_tiers(cls, tiers: dict[str, float]) -> dict[str, float]:
        problems = []
        outside = {k: v for k, v in tiers.items() if not 0.0 <= v <= 1.0}
        if outside:
            problems.append(f"bounds are probabilities in [0, 1]; {outside} are not")
        doubled = sorted({v for v in tiers.values() if list(tiers.values()).count(v) > 1})
        if doubled:
            problems.append(f"bounds must differ; {doubled} is given to more than one tier")
        if not tiers or min(tiers.values()) != 0.0:
            lowest = f"the lowest bound is {min(tiers.values())}" if tiers else "no tier is given"
            problems.append(f"{lowest}, so customers below it would get no tier of their own; "
                            "give the lowest tier the bound 0")
        if problems:
            raise ValueError(
                "scoring.tiers maps each tier to the lowest churn probability in it: "
                + "; ".join(problems) + ". For example: {high: 0.7, medium: 0.4, low: 0.0}"
            )
        return tiers

    @model_validator(mode="after")
    def _check_playbook_tiers(self) -> ScoringConfig:
        unknown = sorted({t for rule in self.playbook for t in rule.tiers or () if t not in self.tiers})
        if unknown:
            raise ValueError(
                f"scoring.playbook names the tier(s) {unknown}, which scoring.tiers {list(self.tiers)} does not "
                "have, so those rules could never match; rename them in the playbook or in scoring.tiers"
            )
        return self


class Config(StrictSection):
    """The whole configuration of a churnml run."""

    name: str = "default"
    data: DataConfig = Field(default_factory=DataConfig)
    time: TimeConfig = Field(default_factory=TimeConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    seed: int = 42


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> Config:
    """Load a YAML config file (or the defaults when ``path`` is None).

    Parameters
    ----------
    path : str or Path or None
        A YAML file. Relative table paths inside it stay relative to the
        current working folder.
    overrides : list of str
        ``section.key=value`` strings applied after the file.

    Raises
    ------
    ConfigError
        Listing every problem at once.
    """
    tree, origin = read_tree(path)
    if overrides:
        tree = apply_overrides(tree, overrides)
        origin += " + --set overrides"
    return validate_tree(Config, tree, origin)
