"""Training as a sequence of steps: data -> fit -> baselines -> evaluate -> explain.

:func:`fit_and_evaluate` has no side effects; :func:`log_training`
(:mod:`churnml.training_log`, re-exported here) writes the result into one
MLflow run. ``python -m churnml.train`` wires the two.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from tqdm.auto import tqdm

from churnml import evaluate, explain
from churnml.baselines import baseline_probabilities
from churnml.config import Config, TimeConfig
from churnml.dataset import TARGET, TrainingData, build_training_data, horizon_move_problem
from churnml.engine import as_tables
from churnml.errors import ModelError
from churnml.features.btyd import mean_p_no_purchase
from churnml.io import data_origin
from churnml.model import ChurnModel
from churnml.training_log import log_training, report_section
from churnml.training_result import TrainResult

__all__ = ["TrainResult", "fit_and_evaluate", "log_training", "model_extra", "report_section"]

log = logging.getLogger(__name__)

SHAP_SAMPLE = 2000


def _steps(total: int) -> tqdm:
    return tqdm(total=total, desc="train", unit="step", disable=None, leave=False)


def fit_and_evaluate(tables: object, cfg: Config, data: TrainingData | None = None) -> TrainResult:
    """Build the training table, fit the model, compare it with the baselines.

    The metrics of the model and the baselines are
    :func:`churnml.evaluate.classification_report` with
    ``evaluation.top_fraction`` (adding e.g. ``lift_top_20pct`` at 0.2).

    Parameters
    ----------
    tables : Tables or dict of str to DataFrame
        The canonical tables (:func:`churnml.io.load_tables`, or frames read with
        :func:`churnml.io.read_table`); None only with ``data``.
    cfg : Config
        Every section but ``tracking`` is read (time model, features, model,
        evaluation, seed; ``data.end``).
    data : TrainingData, optional
        An already built training table (e.g. after tuning), used instead of
        building one from ``tables``.

    Returns
    -------
    TrainResult
        The training table, the fitted model (its ``extra_`` holds what scoring
        needs: :func:`model_extra`), each model's test probabilities and
        metrics, the backtest, the profit curve and the SHAP drivers.

    Raises
    ------
    DataWindowError, ModelError
        When the data cannot give matured, two-class splits.
    """
    tables = as_tables(tables)
    bar = _steps(5)
    bar.set_postfix_str("features and labels")
    data = data if data is not None else build_training_data(tables, cfg)
    log.info("training table: %s rows, %d features", data.counts(), len(data.feature_names))
    bar.update()
    F = data.feature_names
    train, cal, test = data.part("train"), data.part("calibration"), data.part("test")
    weight = data.fit_weights("train")
    if weight is not None:
        log.info("the training rows are weighted (sampled by class): weights %.4g to %.4g, mean 1",
                 weight.min(), weight.max())
    bar.set_postfix_str("LightGBM")
    model = ChurnModel(
        params=cfg.model.params,
        num_boost_round=cfg.model.num_boost_round,
        early_stopping_rounds=cfg.model.early_stopping_rounds,
        calibration=cfg.model.calibration,
        random_state=cfg.seed,
    ).fit(train[F], train[TARGET].to_numpy(), X_cal=cal[F], y_cal=cal[TARGET].to_numpy(), sample_weight=weight)
    target = _horizon_target(data, test, cfg.time)
    power = 1.0 if target is None else model.set_horizon_power(test[F], target)
    bar.update()
    bar.set_postfix_str("baselines")
    probs = {"model": model.predict_proba(test[F])}
    probs.update(
        baseline_probabilities(train, cal, test, data.splits.test_horizon_days, target, random_state=cfg.seed,
                               train_weight=weight, lead_days=cfg.time.lead_time_days,
                               bgnbd_model=data.bgnbd.get(data.splits.test))
    )
    bar.update()
    bar.set_postfix_str("evaluation")
    y = test[TARGET].to_numpy()
    top = cfg.evaluation.top_fraction
    metrics = {name: evaluate.classification_report(y, p, top) for name, p in probs.items()}
    problem = unfit_problem(metrics, model.best_iteration_)
    if problem:
        log.warning("%s", problem)
    backtest = _backtest(model, data, top)
    profit = _profit(y, probs["model"], cfg)
    bar.update()
    bar.set_postfix_str("SHAP")
    sample = test.sample(n=min(SHAP_SAMPLE, len(test)), random_state=cfg.seed).sort_index()
    X_sample = model.prepared(sample[F])
    contrib = explain.contributions(model.booster_, X_sample)
    importance = explain.global_importance(contrib)
    drivers = explain.driver_summary(contrib, X_sample, top=5)
    bar.update()
    bar.close()
    model.extra_ = model_extra(cfg, data, tables)
    return TrainResult(
        data, model, probs, metrics, backtest, profit, importance, drivers, contrib, X_sample,
        extra={"horizon_power": power, "horizon_base_rate": target,
               "best_k": None if profit is None else evaluate.best_k(profit)},
    )


def unfit_problem(metrics: dict[str, dict[str, float]], trees: int) -> str | None:
    """Why a fitted model should not be trusted, from its test metrics, or None.

    A model whose test ROC-AUC is not above 0.5 ranks no better than chance
    (a LightGBM stopped at one tree on too few rows predicts one value for
    everyone), and :func:`churnml.tracking.promote` never makes it champion;
    one that loses to every ranking baseline is only warned about.
    """
    auc = metrics["model"]["roc_auc"]
    if not evaluate.better_than_chance(auc):
        return (f"the model ranks no better than chance on the test cutoff (ROC-AUC {auc:.4f}, LightGBM stopped at "
                f"{trees} tree{'s' if trees != 1 else ''}): it learned nothing to rank customers by; give more "
                "customers or cutoffs (time.max_train_cutoffs, a shorter time.step_days), or check the labels")
    others = {n: m["roc_auc"] for n, m in metrics.items() if n not in ("model", "historical_rate")}
    if others and all(auc < v for v in others.values()):
        best = max(others, key=lambda n: others[n])
        return (f"the model ranks worse than every baseline on the test cutoff (ROC-AUC {auc:.4f}; {best} "
                f"{others[best]:.4f}): too few rows to learn from, or features that do not carry over from the "
                "training cutoffs to the test cutoff")
    return None


def model_extra(cfg: Config, data: TrainingData, tables: object | None = None) -> dict[str, Any]:
    """What a trained model keeps besides LightGBM's trees (``ChurnModel.extra_``, saved with it).

    ``feature_plan`` and ``time`` (how :func:`churnml.scoring.score_customers` computes its features and
    population), ``data_source`` and ``data_policy`` (where its tables came from and how they were read:
    :func:`churnml.io.data_origin`, which ``score`` compares with what it reads; ``days``: days counted in
    ``data.timezone``), the test cutoff and horizon.
    """
    source, policy = data_origin(tables, cfg.data)
    return {
        "feature_plan": data.plan.to_dict(),
        "time": json.loads(cfg.time.model_dump_json()),
        "data_policy": {**policy, "days": "timezone"},
        "data_source": source,
        "test_cutoff": str(data.splits.test.date()),
        "horizon_days": data.splits.test_horizon_days,
    }


def _profit(y: np.ndarray, p: np.ndarray, cfg: Config) -> pd.DataFrame | None:
    """The test cutoff's profit curve, or None without ``evaluation.value_per_save``.

    Its costs are money; without the money a saved customer keeps, a curve
    would weigh costs in money against customers (every contact a loss at the
    default costs), so none is made.
    """
    ev = cfg.evaluation
    if ev.value_per_save is None:
        log.info("no profit curve: evaluation.value_per_save (what a saved customer is worth, in the currency of "
                 "contact_cost and offer_cost) is not set")
        return None
    return evaluate.profit_curve(y, p, np.full(len(y), ev.value_per_save), contact_cost=ev.contact_cost,
                                 offer_cost=ev.offer_cost, save_rate=ev.save_rate)


def _horizon_target(data: TrainingData, test: pd.DataFrame, time: TimeConfig) -> float | None:
    """The asked horizon's base rate on the test population, when training used a shorter horizon.

    It is BG/NBD's mean P(no purchase in the asked label window: H days after
    the lead time) over the test population, corrected for BG/NBD's own level
    error on the newest window that can be checked, the calibration
    customers' h-day window at the calibration cutoff (observed before the
    test cutoff). At both cutoffs BG/NBD is the one the ``btyd`` family fitted
    on everyone at risk there (:attr:`TrainingData.bgnbd`):

    ``logit(target) = logit(q_H,test) + logit(churn_h,cal) - logit(q_h,cal)``.

    The model's and the baselines' probabilities are then moved to this
    level with :func:`churnml.horizon.horizon_power`. ``None`` when h == H.
    """
    h, H = data.splits.train_horizon_days, data.splits.test_horizon_days
    if h == H:
        return None
    col = f"btyd_p_no_purchase_{H}d"
    if col not in test.columns:  # not planned: python -m churnml.train refuses this before reading the data
        raise ModelError(horizon_move_problem(time, ()) or f"the feature {col} is missing")
    if test[col].isna().all():
        raise ModelError(f"time.train_horizon_days={h} is shorter than time.horizon_days={H}, so the probabilities "
                         "are moved with BG/NBD's base rate, but BG/NBD could not be fitted at the test cutoff (see "
                         "the warning above); set time.train_horizon_days to null to train on the asked horizon")
    cal = data.part("calibration")
    lead = time.lead_time_days  # the label windows come after the lead time
    # both levels from BG/NBD fitted on everyone at risk at its cutoff (the family's fits); a table built
    # without them (by hand) fits one on the rows given
    q_h_cal = mean_p_no_purchase(cal, h, lead, data.bgnbd.get(data.splits.calibration))
    q_H_test = float(test[col].mean()) if lead == 0 else mean_p_no_purchase(test, H, lead,
                                                                             data.bgnbd.get(data.splits.test))
    observed = float(cal[TARGET].mean())
    target = float(expit(logit(q_H_test) + logit(observed) - logit(q_h_cal)))
    log.info("moving probabilities from %d to %d days: BG/NBD %.4f (its %d-day level %.4f vs observed %.4f at "
             "calibration) -> target base rate %.4f", h, H, q_H_test, h, q_h_cal, observed, target)
    return target


def _backtest(model: ChurnModel, data: TrainingData, top_fraction: float = 0.1) -> pd.DataFrame:
    """Model metrics per cutoff (train cutoffs are in-sample); ``top_fraction`` as in ``classification_report``.

    In a table sampled by class, each cutoff is measured on its uniform
    customer sample only (:meth:`TrainingData.representative`), so the rates
    are the full table's, and ``rows`` counts those rows (0, with no metrics,
    for a cutoff the uniform sample missed).
    """
    rows = []
    power = model.horizon_power_
    for cutoff, whole in data.table.groupby("cutoff", sort=True):
        part = data.representative(whole)
        split = str(whole["split"].iloc[0])
        row: dict[str, Any] = {"cutoff": str(cutoff)[:10], "split": split, "rows": len(part)}
        rows.append(row)
        if part.empty:
            continue
        model.horizon_power_ = power if split == "test" else 1.0
        p = model.predict_proba(part[data.feature_names])
        y = part[TARGET].to_numpy()
        if 0 < y.sum() < len(y):
            row.update(evaluate.classification_report(y, p, top_fraction))
    model.horizon_power_ = power
    return pd.DataFrame(rows)
