"""``--tune N``: Optuna search of LightGBM parameters, one nested MLflow run per trial.

Each trial fits on the training cutoffs and is judged on the calibration
cutoff only (log-loss of the raw booster, which early stopping also uses),
never on the test cutoff, so the test metrics of the final model stay honest.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from churnml import evaluate
from churnml.config import Config
from churnml.dataset import TARGET, TrainingData
from churnml.errors import ConfigError
from churnml.model import ChurnModel, main_names
from churnml.tracking import start_run
from churnml.training_log import lgbm_params

__all__ = ["tune"]

log = logging.getLogger(__name__)


def _space(trial: Any, rows: int) -> dict[str, Any]:
    """The search space; ``min_data_in_leaf`` (50 to 1000) at most a fifth of the ``rows`` trained on, so that a
    trial can split at all (on a small sample a larger one gives every customer the same probability)."""
    cap = max(2, rows // 5)
    return {
        "num_leaves": trial.suggest_int("num_leaves", 3, 31, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", min(50, cap), min(1000, cap), log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
        "extra_trees": trial.suggest_categorical("extra_trees", [True, False]),
    }


def tune(data: TrainingData, cfg: Config, n_trials: int, uri: str) -> dict[str, Any]:
    """Run ``n_trials`` trials as nested runs of the active run; return the best parameters.

    Raises
    ------
    ConfigError
        When Optuna is not installed (``pip install churnml[tune]``).
    """
    try:
        import optuna
    except ModuleNotFoundError:
        raise ConfigError("--tune needs Optuna: pip install 'churnml[tune]'") from None
    if n_trials < 1:
        raise ConfigError(f"--tune needs at least 1 trial, got {n_trials}")
    F = data.feature_names
    train, cal = data.part("train"), data.part("calibration")
    y_cal = cal[TARGET].to_numpy()
    weight = data.fit_weights("train")

    def objective(trial: Any) -> float:
        params = {**main_names(cfg.model.params), **_space(trial, len(train))}  # the space's names are main ones
        model = ChurnModel(params=params, num_boost_round=cfg.model.num_boost_round,
                           early_stopping_rounds=cfg.model.early_stopping_rounds,
                           calibration="none", random_state=cfg.seed)
        model.fit(train[F], train[TARGET].to_numpy(), X_cal=cal[F], y_cal=y_cal, sample_weight=weight)
        p = model.predict_proba(cal[F])
        report = evaluate.classification_report(y_cal, p, cfg.evaluation.top_fraction)
        tags = {"dataset": cfg.data.source, "regime": cfg.time.regime, "config_name": cfg.name, "model_type": "lightgbm",
                "calibration_horizon_days": str(data.splits.train_horizon_days), "tuning_trial": str(trial.number)}
        with start_run(uri, cfg.tracking.experiment, run_name=f"trial-{trial.number}", nested=True, tags=tags) as run:
            # under the parent run's names (lgbm_*, defaults included), so trials and runs compare in one view
            run.params({**lgbm_params(params), "best_iteration": model.best_iteration_})
            run.metrics({f"calibration_{k}": v for k, v in report.items()})
        return float(report["log_loss"])

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=cfg.seed))
    study.optimize(objective, n_trials=n_trials)
    best = {**main_names(cfg.model.params), **study.best_params}
    log.info("tuning: best calibration log-loss %.5f with %s", study.best_value, best)
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in best.items()}
