"""Training as a sequence of steps: data -> fit -> baselines -> evaluate -> explain.

:func:`fit_and_evaluate` has no side effects; :func:`log_training` writes the
result into one MLflow run. ``python -m churnml.train`` wires the two.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.special import expit, logit
from tqdm.auto import tqdm

from churnml import evaluate, explain, plots
from churnml.baselines import baseline_probabilities
from churnml.config import Config
from churnml.dataset import TARGET, TrainingData, build_training_data
from churnml.errors import ModelError
from churnml.features import feature_docs
from churnml.features.btyd import mean_p_no_purchase
from churnml.model import DEFAULT_PARAMS, ChurnModel, model_input
from churnml.report_html import ModelSection, build_report, render_report
from churnml.tracking import Promotion, RunLogger, load_pyfunc, log_churn_model, promote

__all__ = ["TrainResult", "fit_and_evaluate", "log_training", "report_section"]

log = logging.getLogger(__name__)

SHAP_SAMPLE = 2000


@dataclass
class TrainResult:
    """Everything a training run produced, before it is logged."""

    data: TrainingData
    model: ChurnModel
    test_probabilities: dict[str, np.ndarray]
    metrics: dict[str, dict[str, float]]
    backtest: pd.DataFrame
    profit: pd.DataFrame
    importance: pd.DataFrame
    drivers: str
    contributions: explain.Contributions
    explained: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def y_test(self) -> np.ndarray:
        return self.data.part("test")[TARGET].to_numpy()


def _steps(total: int) -> tqdm:
    return tqdm(total=total, desc="train", unit="step", disable=None, leave=False)


def fit_and_evaluate(tables: object, cfg: Config, data: TrainingData | None = None) -> TrainResult:
    """Build the training table, fit the model, compare it with the baselines.

    ``data`` reuses an already built training table (e.g. after tuning).

    Raises
    ------
    DataWindowError, ModelError
        When the data cannot give matured, two-class splits.
    """
    bar = _steps(5)
    bar.set_postfix_str("features and labels")
    data = data if data is not None else build_training_data(tables, cfg)
    log.info("training table: %s rows, %d features", data.counts(), len(data.feature_names))
    bar.update()
    F = data.feature_names
    train, cal, test = data.part("train"), data.part("calibration"), data.part("test")
    bar.set_postfix_str("LightGBM")
    model = ChurnModel(
        params=cfg.model.params,
        num_boost_round=cfg.model.num_boost_round,
        early_stopping_rounds=cfg.model.early_stopping_rounds,
        calibration=cfg.model.calibration,
        random_state=cfg.seed,
    ).fit(train[F], train[TARGET].to_numpy(), X_cal=cal[F], y_cal=cal[TARGET].to_numpy())
    target = _horizon_target(data, test)
    power = 1.0 if target is None else model.set_horizon_power(test[F], target)
    bar.update()
    bar.set_postfix_str("baselines")
    probs = {"model": model.predict_proba(test[F])}
    probs.update(
        baseline_probabilities(train, cal, test, data.splits.test_horizon_days, target, random_state=cfg.seed)
    )
    bar.update()
    bar.set_postfix_str("evaluation")
    y = test[TARGET].to_numpy()
    metrics = {name: evaluate.classification_report(y, p) for name, p in probs.items()}
    backtest = _backtest(model, data)
    value = None if cfg.evaluation.value_per_save is None else np.full(len(y), cfg.evaluation.value_per_save)
    profit = evaluate.profit_curve(
        y, probs["model"], value,
        contact_cost=cfg.evaluation.contact_cost,
        offer_cost=cfg.evaluation.offer_cost,
        save_rate=cfg.evaluation.save_rate,
    )
    bar.update()
    bar.set_postfix_str("SHAP")
    sample = test.sample(n=min(SHAP_SAMPLE, len(test)), random_state=cfg.seed).sort_index()
    X_sample = model.prepared(sample[F])
    contrib = explain.contributions(model.booster_, X_sample)
    importance = explain.global_importance(contrib)
    drivers = explain.driver_summary(contrib, X_sample, top=5)
    bar.update()
    bar.close()
    return TrainResult(
        data, model, probs, metrics, backtest, profit, importance, drivers, contrib, X_sample,
        extra={"horizon_power": power, "horizon_base_rate": target, "best_k": evaluate.best_k(profit)},
    )


def _horizon_target(data: TrainingData, test: pd.DataFrame) -> float | None:
    """The asked horizon's base rate on the test population, when training used a shorter horizon.

    It is BG/NBD's mean P(no purchase in the asked horizon H) over the test
    population, corrected for BG/NBD's own level error on the newest window
    that can be checked, the calibration cutoff's h-day window (observed
    before the test cutoff):

    ``logit(target) = logit(q_H,test) + logit(churn_h,cal) - logit(q_h,cal)``.

    The model's and the baselines' probabilities are then moved to this
    level with :func:`churnml.horizon.horizon_power`. ``None`` when h == H.
    """
    h, H = data.splits.train_horizon_days, data.splits.test_horizon_days
    if h == H:
        return None
    col = f"btyd_p_no_purchase_{H}d"
    if col not in test.columns or test[col].isna().all():
        raise ModelError(
            f"time.train_horizon_days={h} differs from time.horizon_days={H}: the probabilities are moved to "
            f"the asked horizon with the BG/NBD base rate, which needs the 'btyd' feature family "
            f"(features.families) and the 'rfm' family"
        )
    cal = data.part("calibration")
    q_h_cal = mean_p_no_purchase(cal, h)
    observed = float(cal[TARGET].mean())
    target = float(expit(logit(float(test[col].mean())) + logit(observed) - logit(q_h_cal)))
    log.info("moving probabilities from %d to %d days: BG/NBD %.4f (its %d-day level %.4f vs observed %.4f at "
             "calibration) -> target base rate %.4f", h, H, float(test[col].mean()), h, q_h_cal, observed, target)
    return target


def _backtest(model: ChurnModel, data: TrainingData) -> pd.DataFrame:
    """Model metrics per cutoff (train cutoffs are in-sample)."""
    rows = []
    power = model.horizon_power_
    for cutoff, part in data.table.groupby("cutoff", sort=True):
        split = str(part["split"].iloc[0])
        model.horizon_power_ = power if split == "test" else 1.0
        p = model.predict_proba(part[data.feature_names])
        y = part[TARGET].to_numpy()
        row: dict[str, Any] = {"cutoff": str(cutoff)[:10], "split": split, "rows": len(y)}
        if 0 < y.sum() < len(y):
            row.update(evaluate.classification_report(y, p))
        rows.append(row)
    model.horizon_power_ = power
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# MLflow


def window_key(cfg: Config, data: TrainingData) -> str:
    """Identifies the test window: data, regime, horizon, lead, test cutoff."""
    return "|".join([
        cfg.data.source, cfg.time.regime, f"h{data.splits.test_horizon_days}",
        f"lead{cfg.time.lead_time_days}", str(data.splits.test.date()), str(len(data.part("test"))),
    ])


def run_params(cfg: Config, result: TrainResult) -> dict[str, Any]:
    d = result.data
    params: dict[str, Any] = {
        "dataset": cfg.data.source,
        "regime": cfg.time.regime,
        "lead_time_days": cfg.time.lead_time_days,
        "active_within_days": cfg.time.active_within_days,
        "grace_days": cfg.time.grace_days if cfg.time.regime == "contractual" else None,
        "step_days": cfg.time.step_days,
        "embargo": cfg.time.embargo,
        "data_first": d.span.first.date(),
        "data_end_exclusive": d.span.end.date(),
        **d.splits.as_params(),
        **{f"rows_{k}": v for k, v in d.counts().items()},
        "feature_families": ",".join(d.plan.families + (("btyd",) if d.plan.btyd_horizon_days else ())),
        "windows": ",".join(map(str, d.plan.windows)),
        "windows_dropped": ",".join(map(str, d.plan.dropped_windows)),
        "n_features": len(d.feature_names),
        "calibration": cfg.model.calibration,
        "best_iteration": result.model.best_iteration_,
        "horizon_power": round(result.extra["horizon_power"], 6),
        "horizon_base_rate": None if result.extra["horizon_base_rate"] is None
        else round(result.extra["horizon_base_rate"], 6),
        "seed": cfg.seed,
    }
    params.update({f"lgbm_{k}": v for k, v in {**DEFAULT_PARAMS, **cfg.model.params}.items()})
    return params


def _figures(result: TrainResult) -> dict[str, Any]:
    y = result.y_test
    probs = result.test_probabilities
    top = result.importance.index[0] if len(result.importance) else None
    figs = {
        "plots/roc.png": plots.roc_figure(y, probs),
        "plots/pr.png": plots.pr_figure(y, probs),
        "plots/calibration.png": plots.calibration_figure(y, probs),
        "plots/gains.png": plots.gains_figure(y, probs),
        "plots/profit.png": plots.profit_figure(result.profit.rename(columns={"expected_profit": "profit"})),
        "plots/shap_bar.png": plots.shap_bar_figure(result.importance),
        "plots/shap_beeswarm.png": plots.shap_beeswarm_figure(result.contributions.values, result.explained),
        "plots/risk_distribution.png": plots.risk_distribution_figure(probs["model"]),
    }
    if top is not None:
        test = result.data.part("test")
        table = explain.churn_rate_by_decile(test[top], test[TARGET].to_numpy())
        figs["plots/churn_by_decile_top_feature.png"] = plots.decile_figure(table, feature=str(top))
    return figs


def report_section(result: TrainResult) -> ModelSection:
    """The retention report's model section of a training: drivers, risk and metrics on the test cutoff."""
    d = result.data
    return ModelSection(
        importance=result.importance,
        probabilities=result.test_probabilities["model"],
        scope=(f"{len(result.y_test):,} customers at the test cutoff {d.splits.test.date()}, "
               f"horizon {d.splits.test_horizon_days} days"),
        name="of this run",
        drivers=result.drivers,
        metrics=pd.DataFrame(result.metrics).T,
    )


def log_training(result: TrainResult, cfg: Config, run: RunLogger, tables: object | None = None) -> Promotion | None:
    """Log parameters, metrics, artifacts, the dataset and the model into ``run``.

    With ``tables`` (the tables the model was trained on), the HTML retention
    report with this model's section is logged as ``report/retention_report.html``.
    """
    d = result.data
    run.tags({
        "dataset": cfg.data.source, "regime": cfg.time.regime, "horizon_days": str(d.splits.test_horizon_days),
        "model_type": "lightgbm", "test_cutoff": str(d.splits.test.date()),
        "feature_families": run_params(cfg, result)["feature_families"],
    })
    run.params(run_params(cfg, result))
    for name, values in result.metrics.items():
        run.metrics({f"test_{name}_{k}": v for k, v in values.items()})
    for step, row in result.backtest.iterrows():
        run.metrics({f"backtest_{k}": v for k, v in row.items() if isinstance(v, float)}, step=int(str(step)))
    run.metrics({"best_k_contacts": float(result.extra["best_k"]),
                 "best_k_expected_profit": float(result.profit["expected_profit"].max())})
    for path, fig in _figures(result).items():
        run.figure(fig, path)
    run.table(result.importance.reset_index(), "tables/feature_importance.json")
    run.table(result.backtest, "tables/backtest.json")
    run.table(result.profit.iloc[:: max(1, len(result.profit) // 200)], "tables/profit_curve.json")
    run.table(feature_docs(d.plan), "tables/feature_docs.json")
    comparison = pd.DataFrame(result.metrics).T.reset_index(names="model")
    run.table(comparison, "tables/model_vs_baselines.json")
    run.text(result.drivers, "explain/drivers.txt")
    run.text(yaml.safe_dump(json.loads(cfg.model_dump_json()), sort_keys=False), "config/resolved.yaml")
    if tables is not None:
        report = build_report(tables, cfg, model=report_section(result))
        run.text(render_report(report), "report/retention_report.html")
    table = d.table if cfg.tracking.log_customer_ids else d.table.drop(columns=["customer_id"])
    run.dataset(table, name=f"{cfg.data.source}-training", context="training", targets=TARGET)
    return _log_model(result, cfg)


def _log_model(result: TrainResult, cfg: Config) -> Promotion | None:
    d = result.data
    test = d.part("test")
    X = test[d.feature_names]
    with tempfile.TemporaryDirectory() as tmp:
        bundle = result.model.save(Path(tmp) / "bundle", extra={
            "feature_plan": d.plan.to_dict(),
            "time": json.loads(cfg.time.model_dump_json()),
            "test_cutoff": str(d.splits.test.date()),
            "horizon_days": d.splits.test_horizon_days,
        })
        example = X.head(5)
        predicted = pd.DataFrame({"churn_probability": result.model.predict_proba(example)}, index=example.index)
        name = cfg.tracking.registered_model_name if cfg.tracking.register_model else None
        _, version = log_churn_model(bundle, example, predicted, name)
    if version is None or name is None:
        return None
    metric = cfg.tracking.champion_metric
    y = test[TARGET].to_numpy()

    def score_champion(uri: str) -> float:
        out = load_pyfunc(uri).predict(model_input(X))
        return evaluate.classification_report(y, out["churn_probability"].to_numpy())[metric]

    return promote(name, version, metric, result.metrics["model"][metric], window_key(cfg, d), score_champion)


def config_digest(cfg: Config) -> str:
    return hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()[:12]
