"""Logging a training result into one MLflow run: parameters, metrics, plots, tables, the model.

:func:`log_training` is what ``python -m churnml.train`` calls after
:func:`churnml.training.fit_and_evaluate`; the logged model is registered
and promoted by :func:`churnml.tracking.promote`.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from churnml import evaluate, explain, plots
from churnml.config import Config
from churnml.dataset import TARGET, TrainingData
from churnml.engine import ParquetSource, as_tables
from churnml.errors import ModelError
from churnml.features import FeaturePlan, compute_features, feature_docs
from churnml.fingerprint import fingerprint
from churnml.model import DEFAULT_PARAMS, main_names
from churnml.report_html import ModelSection, build_report, render_report
from churnml.schema import TABLE_SPECS
from churnml.tracking import Promotion, RunLogger, load_pyfunc, log_churn_model, promote
from churnml.training_result import TrainResult
from churnml.windows import DataSpan, epoch_day

__all__ = ["champion_scorer", "cutoff_step", "data_source", "default_run_name", "log_training", "logged_model_name",
           "prediction_table", "report_section", "run_params", "window_key"]

log = logging.getLogger(__name__)


def data_source(cfg: Config, result: TrainResult) -> str:
    """Where the model's tables came from (``model.extra_["data_source"]``, :func:`churnml.io.data_origin`):
    ``cfg.data.source``, or ``files`` for frames a caller read or built with a bundled source configured."""
    return str((getattr(result.model, "extra_", None) or {}).get("data_source", cfg.data.source))


def window_key(cfg: Config, data: TrainingData, source: str | None = None) -> str:
    """Identifies the test window: data, regime, horizon, lead (and grace, contractual), test cutoff, rows.

    The data source (``source``, default ``cfg.data.source``) is the first field, the regime the second,
    the horizon, lead and grace the next: :func:`churnml.tracking.promote` reads them.
    """
    grace = [f"grace{cfg.time.grace_days}"] if cfg.time.regime == "contractual" else []
    return "|".join([
        source or cfg.data.source, cfg.time.regime, f"h{data.splits.test_horizon_days}",
        f"lead{cfg.time.lead_time_days}", *grace, str(data.splits.test.date()), str(len(data.part("test"))),
    ])


def logged_model_name(cfg: Config, data: TrainingData) -> str:
    """The name of a run's logged model: what it answers, ``churn-<regime>-<test horizon>d`` (e.g.
    ``churn-noncontractual-273d``), shown in the UI's Models tab and ending its URI ``runs:/<run id>/<name>``."""
    return f"churn-{cfg.time.regime}-{data.splits.test_horizon_days}d"


def cutoff_step(cutoff: str) -> tuple[int, int | None]:
    """The MLflow step and timestamp of a backtest cutoff's metrics: its day number since 1970-01-01 (so a
    step is one cutoff date in every run, whatever the horizon and the step between cutoffs: 1998-01-01 is
    10227), and its midnight UTC in milliseconds (None before 1970: MLflow takes no earlier time), which
    puts the cutoffs' dates on the UI's wall-time axis."""
    day = epoch_day(cutoff)
    return day, day * 86_400_000 if day >= 0 else None


def default_run_name(cfg: Config, data: TrainingData) -> str:
    """The run's name when none is given (``--run-name`` wins): what was trained, ``<data source>-<regime>-
    <test horizon>d-test-<test cutoff>``, e.g. ``cdnow-noncontractual-273d-test-1997-10-01``."""
    return f"{cfg.data.source}-{cfg.time.regime}-{data.splits.test_horizon_days}d-test-{data.splits.test.date()}"


def labels_digest(test: pd.DataFrame) -> str:
    """A digest of the test rows' customers, cutoffs and labels (row order does not change it): two runs
    with one test window key (:func:`window_key`) and other digests were judged on other outcomes."""
    rows = pd.DataFrame({"customer_id": test["customer_id"].astype("object").astype(str).to_numpy(),
                         "cutoff": test["cutoff"].to_numpy().astype("datetime64[us]"),
                         TARGET: test[TARGET].to_numpy().astype("int8")})  # dtypes fixed: a pandas upgrade is not new labels
    return fingerprint(rows).digest


def run_params(cfg: Config, result: TrainResult) -> dict[str, Any]:
    d = result.data
    params: dict[str, Any] = {
        "dataset": data_source(cfg, result),
        "regime": cfg.time.regime,
        "lead_time_days": cfg.time.lead_time_days,
        "active_within_days": cfg.time.active_within_days,
        "grace_days": cfg.time.grace_days if cfg.time.regime == "contractual" else None,
        "step_days": cfg.time.step_days,
        "embargo": cfg.time.embargo,
        "calibration_share": cfg.time.calibration_share,
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
        "min_history_days": cfg.time.min_history_days,
        "max_train_cutoffs": cfg.time.max_train_cutoffs,
        "censored_windows": cfg.features.censored_windows,
        "num_boost_round": cfg.model.num_boost_round,
        "early_stopping_rounds": cfg.model.early_stopping_rounds,
        "min_rows": cfg.model.min_rows,
        "champion_metric": cfg.tracking.champion_metric,
        **{f"evaluation_{k}": v for k, v in cfg.evaluation.model_dump().items()},
        # which files (data.source files): a compare view shows two runs read different exports
        **({f"data_path_{name}": src.path for name, src in cfg.data.tables.items()} if cfg.data.source == "files"
           else {}),
    }
    # how the tables were read (the model's record: CDNOW keeps its repeats whatever data.duplicates says)
    policy = (getattr(result.model, "extra_", None) or {}).get("data_policy", {})
    params.update({f"data_{k}": policy[k] for k in ("returns", "duplicates", "timezone") if k in policy})
    params.update(lgbm_params(cfg.model.params))
    return params


def lgbm_params(params: dict[str, Any]) -> dict[str, Any]:
    """LightGBM's settings of a fit as logged: ``lgbm_<main name>``, churnml's defaults under ``params``
    (aliases as their main names, as the fit uses them)."""
    return {f"lgbm_{k}": v for k, v in {**DEFAULT_PARAMS, **main_names(params)}.items()}


def _figures(result: TrainResult) -> dict[str, Any]:
    y = result.y_test
    probs = result.test_probabilities
    top = result.importance.index[0] if len(result.importance) else None
    figs = {
        "plots/roc.png": plots.roc_figure(y, probs),
        "plots/pr.png": plots.pr_figure(y, probs),
        "plots/calibration.png": plots.calibration_figure(y, probs),
        "plots/gains.png": plots.gains_figure(y, probs),
        "plots/shap_bar.png": plots.shap_bar_figure(result.importance),
        "plots/shap_beeswarm.png": plots.shap_beeswarm_figure(result.contributions.values, result.explained),
        "plots/risk_distribution.png": plots.risk_distribution_figure(probs["model"]),
    }
    if result.profit is not None:
        figs["plots/profit.png"] = plots.profit_figure(result.profit.rename(columns={"expected_profit": "profit"}))
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


#: At most this many test rows are logged in ``tables/test_predictions.json`` (a uniform sample beyond it).
PREDICTION_ROWS = 50_000


def prediction_table(result: TrainResult, cfg: Config) -> pd.DataFrame:
    """The test rows' labels and every model's probability, the rows the test metrics were computed on.

    Columns ``cutoff``, ``churned`` and ``p_<name>`` per model (``p_model``, ``p_recency``, ...), with
    ``customer_id`` first when ``tracking.log_customer_ids``; at most :data:`PREDICTION_ROWS` rows (a
    uniform sample beyond it). Without the ids the rows are shuffled (with ``cfg.seed``): the test table is
    sorted by customer id, so its order alone would tie each row to a customer.
    """
    test = result.data.part("test")
    out = pd.DataFrame({"cutoff": test["cutoff"].dt.strftime("%Y-%m-%d").to_numpy(),
                        "churned": test[TARGET].to_numpy().astype("int64")})
    for name, p in result.test_probabilities.items():
        out[f"p_{name}"] = np.asarray(p, dtype="float64")
    if cfg.tracking.log_customer_ids:
        out.insert(0, "customer_id", test["customer_id"].astype("str").to_numpy())
        if len(out) > PREDICTION_ROWS:
            out = out.sample(n=PREDICTION_ROWS, random_state=cfg.seed).sort_index()
    else:
        out = out.sample(n=min(len(out), PREDICTION_ROWS), random_state=cfg.seed)
    return out.reset_index(drop=True)


def log_training(result: TrainResult, cfg: Config, run: RunLogger, tables: object | None = None) -> Promotion | None:
    """Log parameters, metrics, artifacts, the datasets and the model into ``run``.

    Parameters
    ----------
    result : TrainResult
        From :func:`churnml.training.fit_and_evaluate`.
    cfg : Config
        The config it was trained with (``tracking`` decides the registration).
    run : RunLogger
        The active run: ``with churnml.tracking.start_run(uri, experiment) as run:``.
    tables : Tables or dict, optional
        The tables the model was trained on: with them, each is logged as an
        input dataset (its digest), the champion can be re-scored on them, and
        the HTML retention report with this model's section is logged as
        ``report/retention_report.html``. Without them (Spark), the configured
        files of ``data.source: files`` are logged, fingerprinted by their files.

    Returns
    -------
    Promotion or None
        What became of the registered version (None when not registered).
    """
    tables = as_tables(tables) if tables is not None else None
    d = result.data
    run.tags({
        "dataset": data_source(cfg, result), "regime": cfg.time.regime,
        "horizon_days": str(d.splits.test_horizon_days),
        "model_type": "lightgbm", "test_cutoff": str(d.splits.test.date()),
        "feature_families": run_params(cfg, result)["feature_families"], "config_name": cfg.name,
    })
    run.params(run_params(cfg, result))
    for name, values in result.metrics.items():  # step 0: the logged model's metrics (see _log_model)
        run.metrics({f"test_{name}_{k}": v for k, v in values.items()})
    if result.profit is not None:
        run.metrics({"best_k_contacts": float(result.extra["best_k"]),
                     "best_k_expected_profit": float(result.profit["expected_profit"].max())})
        run.table(result.profit.iloc[:: max(1, len(result.profit) // 200)], "tables/profit_curve.json")
    for path, fig in _figures(result).items():
        run.figure(fig, path)
    run.table(result.importance.reset_index(), "tables/feature_importance.json")
    run.table(result.backtest, "tables/backtest.json")
    run.table(feature_docs(d.plan), "tables/feature_docs.json")
    comparison = pd.DataFrame(result.metrics).T.reset_index(names="model")
    run.table(comparison, "tables/model_vs_baselines.json")
    run.table(prediction_table(result, cfg), "tables/test_predictions.json")
    run.text(result.drivers, "explain/drivers.txt")
    if tables is not None:
        report = build_report(tables, cfg, model=report_section(result))
        run.text(render_report(report), "report/retention_report.html")
    table = d.table if cfg.tracking.log_customer_ids else d.table.drop(columns=["customer_id"])
    run.dataset(table, name=f"{data_source(cfg, result)}-training", context="training")
    files = cfg.data.tables if cfg.data.source == "files" else {}
    digests = {}
    for name in TABLE_SPECS:  # what was read: by content (same rows, same digest), else by the files read
        read = getattr(tables, name, None) if tables is not None else files[name].path if name in files else None
        if isinstance(read, pd.DataFrame | ParquetSource | str):
            digests[name] = run.dataset(read, name=name, context="input", path=files[name].path if name in files
                                        else None)
    run.text(resolved_yaml(cfg, d.span, digests), "config/resolved.yaml")
    version = _log_model(result, cfg)
    for _, row in result.backtest.iterrows():  # after the model: not copied onto it (_log_model)
        step, at = cutoff_step(str(row["cutoff"]))
        run.metrics({f"backtest_{k}": v for k, v in row.items() if isinstance(v, float)}, step=step, timestamp=at)
    promotion = _promote(result, cfg, version, tables)
    if promotion is not None:  # the run says what became of its model, as the version's tags do
        run.tags({"registered_version": promotion.version, "alias": promotion.alias, "promotion": promotion.reason})
    return promotion


def resolved_yaml(cfg: Config, span: DataSpan, digests: Mapping[str, str]) -> str:
    """The run's config as YAML (defaults filled in, overrides applied), headed by comments on the data it read.

    The config names files, and an export at the same path may be overwritten by the next one: the header gives
    the data's span (with ``data.end`` null, the end the run inferred from the last transaction) and each input
    table's digest (the run's datasets), which tell whether a file still holds the rows this run read.
    """
    declared = "data.end" if cfg.data.end is not None else "inferred: the day after the last transaction"
    lines = [
        "# The config of this run: defaults filled in, overrides applied.",
        f"# Data read: from {span.first} to {span.end} (exclusive; {declared}).",
    ]
    if digests:
        lines.append("# Input tables' digests (the run's datasets): "
                     + ", ".join(f"{name} {digest}" for name, digest in digests.items()) + ".")
        lines.append("# A file below overwritten since holds other rows: churnml.fingerprint.fingerprint of the "
                     "table as read again gives another digest.")
    return "\n".join(lines) + "\n" + yaml.safe_dump(json.loads(cfg.model_dump_json()), sort_keys=False)


def champion_scorer(data: TrainingData, metric: str, top: float, tables: object | None) -> Callable[[str], float]:
    """``f(model_uri) -> metric`` of a registered model on this run's test rows and labels.

    The model predicts from its own features: this run's, or, when it was
    trained with other features (another plan), its plan computed from
    ``tables`` at the test rows (a :class:`~churnml.errors.ModelError` when
    the transactions are not a pandas frame, e.g. Spark's, or not given).
    """
    test = data.part("test")
    keys = test[["customer_id", "cutoff"]]
    y = test[TARGET].to_numpy()

    def score(uri: str) -> float:
        model = load_pyfunc(uri).unwrap_python_model().model
        missing = [c for c in model.feature_names_ if c not in test.columns]
        rows = test
        if missing:
            plan = getattr(model, "extra_", {}).get("feature_plan")
            tx = getattr(tables, "transactions", None)
            if plan is None or not isinstance(tx, pd.DataFrame):
                raise ModelError(f"it was trained on {len(missing)} feature(s) this run did not compute (e.g. "
                                 f"{missing[:3]}), and this run cannot compute them (no in-memory tables)")
            log.info("the champion was trained with other features (e.g. %s): computing its own at the test cutoff",
                     missing[:3])
            feats = compute_features(tables, keys, FeaturePlan.from_dict(plan))
            rows = keys.merge(feats, on=["customer_id", "cutoff"], how="left", validate="one_to_one")
        return float(evaluate.classification_report(y, model.predict_proba(rows[model.feature_names_]), top)[metric])

    return score


def _log_model(result: TrainResult, cfg: Config) -> str | None:
    """Log (and, with ``tracking.register_model``, register) the model into the active run; its version.

    MLflow 3 copies the run's metrics at the model's step (0) onto the logged model (its Metrics in the
    UI's Models tab and model page): the test metrics (and ``best_k_*``), logged before it. Metrics logged
    after it with :meth:`RunLogger.metrics` (the backtest's) are not linked to it.
    """
    d = result.data
    X = d.part("test")[d.feature_names]
    with tempfile.TemporaryDirectory() as tmp:
        # the model's extra_ (churnml.training.model_extra): its feature plan and time model, where its tables
        # came from and how they were read (`score --data` reads its folder the same way unless --set says)
        bundle = result.model.save(Path(tmp) / "bundle")
        example = X.head(5)
        predicted = pd.DataFrame({"churn_probability": result.model.predict_proba(example)}, index=example.index)
        name = cfg.tracking.registered_model_name if cfg.tracking.register_model else None
        _, version = log_churn_model(bundle, example, predicted, name, logged_model_name(cfg, d))
    return version


def _promote(result: TrainResult, cfg: Config, version: str | None, tables: object | None) -> Promotion | None:
    """What becomes of the registered ``version`` (:func:`churnml.tracking.promote`); None when not registered."""
    if version is None or not cfg.tracking.register_model:
        return None
    d = result.data
    test = d.part("test")
    name = cfg.tracking.registered_model_name
    top = cfg.evaluation.top_fraction
    metric = evaluate.champion_metric_key(cfg.tracking.champion_metric, top)
    return promote(name, version, metric, result.metrics["model"][metric], window_key(cfg, d, data_source(cfg, result)),
                   champion_scorer(d, metric, top, tables), labels_digest(test),
                   min_improvement=cfg.tracking.min_improvement, auto=cfg.tracking.promote,
                   unfit=_chance_reason(result.metrics["model"]["roc_auc"]))


def _chance_reason(auc: float) -> str | None:
    """Why a version must not become champion: it ranks no better than chance (see
    :func:`churnml.training.unfit_problem`)."""
    return None if evaluate.better_than_chance(auc) else f"it ranks no better than chance (test ROC-AUC {auc:.4f})"
