"""The baselines a retention team would use without churnml, side by side.

Each baseline turns the same feature rows into a churn probability for the
same test rows as the model:

``recency``
    The rule "longer since the last purchase = more likely gone": the score
    is the rank of ``rfm_recency_days`` among the rows of its cutoff (0 to 1,
    ties at their mean rank), turned into a probability by a logistic
    regression on the calibration cutoff (increasing in the rank, so the
    list keeps the rule's order; when the calibration rows say the
    opposite, everyone gets the calibration churn rate, with a warning). Ranked, not in days: recency drifts with
    the calendar (on CDNOW 73% of the test customers had been silent longer
    than anyone at the calibration cutoff, and an isotonic fit in days gave
    them all one probability: ROC-AUC 0.7257, against 0.7594 ranked; an
    isotonic fit of the rank ties its steps, 0.7505).
``rfm_logistic``
    Logistic regression on log(1 + recency), log(1 + purchase days) and
    log(1 + spend), standardised, fitted on the training cutoffs.
``bgnbd``
    BG/NBD probability of no purchase in the asked horizon
    (``btyd_p_no_purchase_{H}d``), fitted at each cutoff on history only.
    Not P(alive), which ranks one-time buyers as safest.
``subscription_logistic``
    With the subscriptions family: logistic regression on what a subscription
    business knows of a subscriber (the telecom-style baseline): log(1 + x)
    of ``sub_months_since_first``, ``sub_days_since_start``,
    ``sub_days_to_renewal``, ``sub_mrr``, ``sub_count_all``,
    ``sub_downgrades_all`` and ``sub_active`` (those with a value in some
    training row), a missing value as the training median with a 0/1 column
    saying it was missing, and the plan one-hot over the training's plans;
    standardised, fitted on the training cutoffs. The purchase baselines
    above describe purchases and score about 0.5 ROC-AUC on subscribers.
``historical_rate``
    Everyone gets the same probability: the churn rate of the calibration
    cutoff (or, when the horizons differ, the asked horizon's base rate the
    model is moved to). Its ROC-AUC is 0.5 by construction.

When the training horizon is shorter than the asked one, the recency,
RFM and subscription baselines are moved to the asked horizon like the model: each with its
own :func:`churnml.horizon.horizon_power`, to the same base rate.

A row without a recency (no purchase before the cutoff: in the contractual
regime, a subscriber who never bought) is ranked by the recency rule after
everyone who bought (tied among themselves), and read by the RFM regression as
the longest recency of the rows it is fitted on (training and calibration,
never test), with its purchase days and spend (0). With no recency at all in
the training and calibration rows the two baselines are left out, with a
warning. LightGBM takes the missing value as it is.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from churnml.btyd import BGNBD
from churnml.errors import ChurnMLError, ModelError
from churnml.features.btyd import p_no_purchase, recency_rank
from churnml.horizon import horizon_power, to_horizon

__all__ = ["BASELINES", "baseline_probabilities"]

log = logging.getLogger(__name__)

BASELINES = ("recency", "rfm_logistic", "bgnbd", "subscription_logistic", "historical_rate")
_RFM = ("rfm_recency_days", "rfm_days_all", "rfm_monetary_sum_all")
_SUB = ("sub_months_since_first", "sub_days_since_start", "sub_days_to_renewal", "sub_mrr", "sub_count_all",
        "sub_downgrades_all", "sub_active")
_EPS = 1e-6


def _put_moved(out: dict[str, np.ndarray], name: str, p: np.ndarray, base_rate: float | None) -> None:
    """``out[name]`` = ``p`` moved to the asked horizon's base rate (unchanged when it is None).

    A baseline that cannot be moved is left out with a warning rather than
    stopping the training of the model it is compared with.
    """
    if base_rate is None:
        out[name] = np.asarray(p, dtype="float64")
        return
    try:
        out[name] = to_horizon(p, horizon_power(p, base_rate))
    except ModelError as exc:
        log.warning("baseline %s left out: %s", name, exc)


def _recency(frame: pd.DataFrame, never: float) -> np.ndarray:
    """``rfm_recency_days`` with ``never`` where there is no purchase before the cutoff."""
    days = frame["rfm_recency_days"].to_numpy(dtype="float64")
    return np.where(np.isnan(days), never, days)


def _recency_rank(frame: pd.DataFrame) -> np.ndarray:
    """``btyd_recency_rank`` (:func:`churnml.features.btyd.recency_rank`: 0 the most recent to 1, ties at their
    mean rank, within each cutoff) with no purchase ranked after every purchase."""
    days = frame["rfm_recency_days"].astype("float64").fillna(np.inf)
    cutoff = frame["cutoff"] if "cutoff" in frame.columns else 0
    rows = pd.DataFrame({"cutoff": cutoff, "rfm_recency_days": days}, index=frame.index)
    return recency_rank(rows).to_numpy(dtype="float64")


def _rfm_matrix(frame: pd.DataFrame, never: float) -> np.ndarray:
    missing = [c for c in _RFM if c not in frame.columns]
    if missing:
        raise ModelError(f"the RFM baselines need the rfm feature family; missing {missing}")
    rfm = frame[list(_RFM)].to_numpy(dtype="float64")
    rfm[:, 0] = _recency(frame, never)
    return np.log1p(rfm.clip(min=0))


def baseline_probabilities(
    train: pd.DataFrame,
    calibration: pd.DataFrame,
    test: pd.DataFrame,
    horizon_days: int,
    base_rate: float | None = None,
    target: str = "churned",
    random_state: int = 42,
    train_weight: np.ndarray | None = None,
    lead_days: int = 0,
    bgnbd_model: BGNBD | None = None,
) -> dict[str, np.ndarray]:
    """Churn probabilities of every baseline on the test rows.

    Parameters
    ----------
    train, calibration, test : DataFrame
        Rows of each split with features and (train/calibration) labels.
    horizon_days : int
        The asked horizon (selects the BG/NBD column).
    base_rate : float, optional
        The asked horizon's base rate when the baselines (learnt on the
        training horizon) must be moved to it; None when the horizons agree.
    train_weight : ndarray, optional
        Weights of the train rows (a table sampled by class): the logistic
        regressions' scaling and fit use them. The calibration rows must be a
        uniform sample.
    lead_days : int
        ``time.lead_time_days``: BG/NBD's probability is of no purchase in the
        label window ``[c + lead, c + lead + horizon)``, as the labels count.

    Returns
    -------
    dict of str to ndarray
        One probability array per baseline in :data:`BASELINES` (a baseline
        whose inputs are absent, or that cannot be moved to the asked
        horizon, is left out, with a warning for the latter).
    """
    out: dict[str, np.ndarray] = {}
    y_cal = calibration[target].to_numpy()
    if "rfm_recency_days" in test.columns:  # the rfm family (the splits share their columns)
        _put_rfm(out, train, calibration, test, target, base_rate, train_weight, random_state)
    bgnbd = _bgnbd(test, horizon_days, lead_days, bgnbd_model)
    if bgnbd is not None:
        out["bgnbd"] = bgnbd
    sub = _SubscriptionDesign.of(train)
    if sub is not None:
        p = _logistic(sub.matrix(train), train[target].to_numpy(), sub.matrix(test), train_weight, random_state)
        _put_moved(out, "subscription_logistic", p, base_rate)
    rate = float(np.clip(y_cal.mean(), _EPS, 1 - _EPS)) if base_rate is None else base_rate
    out["historical_rate"] = np.full(len(test), rate)
    return out


def _put_rfm(out: dict[str, np.ndarray], train: pd.DataFrame, calibration: pd.DataFrame, test: pd.DataFrame,
             target: str, base_rate: float | None, train_weight: np.ndarray | None, random_state: int) -> None:
    """The recency rule and the RFM logistic regression (left out, with a warning, without any recency to fit)."""
    seen = np.concatenate([f["rfm_recency_days"].to_numpy(dtype="float64") for f in (train, calibration)])
    if not np.isfinite(seen).any():
        log.warning("baselines recency and rfm_logistic left out: no training or calibration row has a purchase "
                    "before its cutoff")
        return
    never = float(np.nanmax(seen))  # no purchase: the longest recency the fits see (never the test's)
    _put_moved(out, "recency", _recency_rule(calibration, test, target, random_state), base_rate)
    p = _logistic(_rfm_matrix(train, never), train[target].to_numpy(), _rfm_matrix(test, never), train_weight,
                  random_state)
    _put_moved(out, "rfm_logistic", p, base_rate)


def _logistic(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, weight: np.ndarray | None,
              random_state: int) -> np.ndarray:
    """Standardised logistic regression fitted on the training rows (weighted: scaling too); P(churn) of the test rows."""
    lr = _fit_logistic(x_train, y_train, weight, random_state)
    return np.asarray(lr.predict_proba(x_test)[:, 1], dtype="float64")


def _fit_logistic(x_train: np.ndarray, y_train: np.ndarray, weight: np.ndarray | None, random_state: int) -> Any:
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=random_state))
    w = {} if weight is None else {"standardscaler__sample_weight": weight, "logisticregression__sample_weight": weight}
    return lr.fit(x_train, y_train, **w)


def _recency_rule(calibration: pd.DataFrame, test: pd.DataFrame, target: str, random_state: int) -> np.ndarray:
    """The recency rule's probabilities: increasing in the recency rank, or, when the calibration rows say recent
    customers churn more (a fitted slope not above 0), the calibration churn rate for everyone, with a warning."""
    y = calibration[target].to_numpy()
    lr = _fit_logistic(_recency_rank(calibration)[:, None], y, None, random_state)
    if not lr[-1].coef_[0, 0] > 0:
        log.warning("baseline recency: at the calibration cutoff the customers silent longest churned least, so the "
                    "rule 'longer silent = more likely gone' does not hold there; it gives everyone the calibration "
                    "churn rate")
        return np.full(len(test), float(np.clip(y.mean(), _EPS, 1 - _EPS)))
    return np.asarray(lr.predict_proba(_recency_rank(test)[:, None])[:, 1], dtype="float64")


class _SubscriptionDesign:
    """The subscription baseline's inputs, fixed on the training rows (medians, which columns, plans)."""

    def __init__(self, numeric: list[str], medians: np.ndarray, flagged: list[str], plans: list[str]) -> None:
        self.numeric, self.medians, self.flagged, self.plans = numeric, medians, flagged, plans

    @staticmethod
    def _logged(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
        return np.log1p(frame[columns].to_numpy(dtype="float64").clip(min=0))

    @classmethod
    def of(cls, train: pd.DataFrame) -> _SubscriptionDesign | None:
        """None without the subscriptions family (no ``sub_`` column with a value in training)."""
        numeric = [c for c in _SUB if c in train.columns and train[c].notna().any()]
        plans = (sorted(train["sub_plan"].dropna().astype(str).unique().tolist())
                 if "sub_plan" in train.columns else [])
        if not numeric and not plans:
            return None
        x = cls._logged(train, numeric)
        medians = np.nanmedian(x, axis=0) if numeric else np.zeros(0)
        flagged = [c for c, miss in zip(numeric, np.isnan(x).any(axis=0), strict=True) if miss]
        return cls(numeric, medians, flagged, plans)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """log(1 + x) with missing values at the training median, a missing flag per flagged column, plan one-hot."""
        x = self._logged(frame, self.numeric)
        x = np.where(np.isnan(x), self.medians, x)
        flags = frame[self.flagged].isna().to_numpy(dtype="float64")
        plan = (frame["sub_plan"].astype("str").where(frame["sub_plan"].notna()) if "sub_plan" in frame.columns
                else pd.Series(np.nan, index=frame.index))
        onehot = np.column_stack([(plan == p).to_numpy(dtype="float64") for p in self.plans]) if self.plans \
            else np.zeros((len(frame), 0))
        return np.hstack([x, flags, onehot])


def _bgnbd(test: pd.DataFrame, horizon_days: int, lead_days: int, model: BGNBD | None = None) -> np.ndarray | None:
    """BG/NBD's P(no purchase in the label window) of every test row; None, with a warning, when some row has
    none (no purchase before the cutoff, or no BG/NBD fit) or the btyd family is absent (no warning). ``model``:
    the btyd family's fit at the test cutoff, which a lead time's probabilities reuse (else one is fitted)."""
    column = f"btyd_p_no_purchase_{horizon_days}d"
    if column not in test.columns:
        return None
    try:
        silent = test[column] if lead_days == 0 else p_no_purchase(test, horizon_days, lead_days, model)
    except ChurnMLError as exc:  # as the btyd family does: the baseline is left out, with a warning
        log.warning("baseline bgnbd left out: BG/NBD could not be fitted at the test cutoff: %s", exc)
        return None
    missing = silent.isna()
    if not missing.any():
        return silent.to_numpy(dtype="float64")
    never = test["rfm_recency_days"].isna() if "rfm_recency_days" in test.columns else missing
    if (missing & ~never).any():
        log.warning("baseline bgnbd left out: BG/NBD could not be fitted at the test cutoff (see the btyd "
                    "family's warning)")
    else:
        log.warning("baseline bgnbd left out: %s of the %s test rows have no purchase before the cutoff (e.g. "
                    "subscribers who never bought), and BG/NBD models buyers only", f"{int(missing.sum()):,}",
                    f"{len(test):,}")
    return None
