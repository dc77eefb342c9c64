# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Train two configurations and compare them in MLflow
#
# Does engagement data (events, surveys, tickets, subscriptions, customer attributes) make a
# better churn model than the transaction log alone? This notebook trains both configurations on
# the same synthetic world, logs each to its own MLflow run, and compares them with the MLflow
# API, then shows where to see the same in the MLflow UI.
#
# Each run carries the tags and parameters that make MLflow's compare view meaningful (dataset,
# churn regime, horizon, cutoffs, feature families, model type) and the same metric names
# (`test_{model}_{metric}`), so any two runs line up column by column (a baseline whose inputs a
# run lacks, such as `subscription_logistic` without subscriptions, has no columns in it).
#
# * `CHURNML_NB_SMALL=1`: a small world and few trees (CI sets it);
# * `CHURNML_NB_TRACKING_URI`: the MLflow store (default `sqlite:///mlflow.db` in the working folder).

# %%
# %matplotlib inline
import os

import mlflow
import pandas as pd

from churnml import plots
from churnml.config import load_config
from churnml.io import load_tables
from churnml.tracking import resolve_tracking_uri, start_run, ui_command
from churnml.training import fit_and_evaluate, log_training

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # churn data is customer data
SMALL = os.environ.get("CHURNML_NB_SMALL") == "1"
URI = resolve_tracking_uri(os.environ.get("CHURNML_NB_TRACKING_URI"))
EXPERIMENT = "churnml-notebooks"
print(URI)

# %% [markdown]
# ## Two configurations
#
# Both share the data, the time model and LightGBM's settings; only `features.families` differs.
# The registered model gets its own name, so the notebook never moves the `champion` alias of
# the model that `python -m churnml.train` registers.

# %%
common = [
    "data.source=synthetic",
    f"data.synthetic.customers={1500 if SMALL else 5000}",
    f"data.synthetic.months={18 if SMALL else 24}",
    "time.horizon_days=60",
    "time.train_horizon_days=null",
    "time.step_days=30",
    f"model.num_boost_round={60 if SMALL else 400}",
    "model.min_rows=100",
    "features.windows=[7, 30, 90]",
    f"tracking.experiment={EXPERIMENT}",
    "tracking.registered_model_name=churnml-notebooks",
]
configs = {
    "transactions-only": load_config(None, [*common, "features.families=[rfm, windowed, btyd]"]),
    "all-tables": load_config(None, common),
}
tables = load_tables(configs["all-tables"])
tables

# %% [markdown]
# ## Train and log
#
# `fit_and_evaluate` has no side effects: features and labels on rolling cutoffs, LightGBM
# early-stopped and calibrated on a later cutoff, the baselines, SHAP. `log_training` writes all
# of it into the active run (it is what `python -m churnml.train` does).

# %%
run_ids, results = {}, {}
for name, cfg in configs.items():
    results[name] = fit_and_evaluate(tables, cfg)
    with start_run(URI, EXPERIMENT, run_name=name) as run:
        log_training(results[name], cfg, run)
        run_ids[name] = run.run_id
    print(f"{name}: run {run.run_id}, {len(results[name].data.feature_names)} features, "
          f"test ROC AUC {results[name].metrics['model']['roc_auc']:.4f}")

# %% [markdown]
# The log above may show a warning that starts *BG/NBD features: the fit warned at 3 of 19
# cutoffs*. At the earliest cutoffs the synthetic history is a few months long: too short to
# see a customer stop buying, so the BG/NBD fit behind the `btyd_*` features sends its drop-out
# parameter `a` towards 0 ("nobody leaves"), and says so. Those cutoffs' `btyd_*` features then
# rest on frequency and recency alone; the later cutoffs, the calibration and the test cutoff
# fit normally. Nothing needs fixing here; on your own data the warning ends with what to do.

# %% [markdown]
# Both runs are tested on the same customers at the same cutoff, so their ROC curves share one
# figure, next to the RFM logistic regression baseline:

# %%
test_customers = {name: r.data.part("test")["customer_id"].tolist() for name, r in results.items()}
print("same test customers in the same order:", test_customers["transactions-only"] == test_customers["all-tables"])
plots.roc_figure(results["all-tables"].y_test, {
    **{f"model, {name}": r.test_probabilities["model"] for name, r in results.items()},
    "rfm_logistic": results["all-tables"].test_probabilities["rfm_logistic"],
})

# %% [markdown]
# ## Compare with the MLflow API
#
# `mlflow.search_runs` returns one row per run with `tags.*`, `params.*` and `metrics.*` columns.

# %%
mlflow.set_tracking_uri(URI)
runs = mlflow.search_runs(experiment_names=[EXPERIMENT])
runs = runs.set_index("run_id").loc[list(run_ids.values())]
runs.index = list(run_ids)

# %% [markdown]
# What the runs are about: the tags and the parameters that define the data window. They agree
# except for the feature families (and so the number of features and where early stopping
# stopped), so the comparison is fair: same data, same cutoffs, same horizon, same test customers.

# %%
about = [
    "tags.dataset", "tags.regime", "tags.horizon_days", "tags.test_cutoff", "tags.model_type",
    "tags.feature_families", "params.cutoff_calibration", "params.cutoffs_train", "params.rows_test",
    "params.n_features", "params.calibration", "params.best_iteration",
]
runs[about].T

# %% [markdown]
# The metrics have the same names in every run, so they line up (the all-tables run adds the
# subscription baseline's). The model's test metrics next to
# the RFM logistic regression's (the baseline every run has), per run:

# %%
names = ["roc_auc", "pr_auc", "lift_top_decile", "brier", "ece"]
comparison = pd.DataFrame({
    f"{who} ({run})": [runs.loc[run, f"metrics.test_{who}_{m}"] for m in names]
    for run in runs.index
    for who in ("model", "rfm_logistic")
}, index=names)
comparison.round(4)

# %%
same_metric_names = {
    run: sorted(c for c in runs.columns if c.startswith("metrics.") and pd.notna(runs.loc[run, c]))
    for run in runs.index
}
shared = set.intersection(*(set(v) for v in same_metric_names.values()))
print("metric names only one run has:", sorted(set().union(*same_metric_names.values()) - shared))
print("parameters that differ:",
      [c for c in runs.columns if c.startswith("params.") and runs[c].nunique(dropna=False) > 1])

# %% [markdown]
# The backtest: the model's ROC AUC at every cutoff (`backtest_roc_auc`; its step is the cutoff's
# day number since 1970-01-01, so a step is one date in every run; the training cutoffs are
# in-sample, the last two are the calibration and test cutoffs).

# %%
client = mlflow.MlflowClient(URI)
pd.DataFrame({
    run: {(pd.Timestamp("1970-01-01") + pd.Timedelta(days=m.step)).date(): m.value
          for m in client.get_metric_history(run_id, "backtest_roc_auc")}
    for run, run_id in run_ids.items()
}).rename_axis("cutoff").round(4)

# %% [markdown]
# ## The same in the MLflow UI
#
# Start the UI on the same store (the command below is exact), open the `churnml-notebooks`
# experiment, tick the two runs and press **Compare**:
#
# * **Parameters** and **Tags**: the rows where the runs differ are highlighted; "Show diff only"
#   hides the rest (here: the feature families, the number of features and, where early
#   stopping ended apart, the best iteration);
# * **Metrics**: `test_model_roc_auc`, `test_rfm_logistic_roc_auc`, ... side by side, and the
#   parallel-coordinates, scatter and contour plots over any parameter and metric;
# * each run's **Artifacts**: the ROC, PR, calibration, gains and SHAP plots (and the profit
#   curve, with `evaluation.value_per_save`), the
#   model-vs-baselines table, the drivers in words and the resolved config.
#
# ![MLflow compare view of two churnml runs](../docs/mlflow_compare.png)

# %%
print(ui_command(URI))
