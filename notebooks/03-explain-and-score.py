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
# # 03 · Explain and score: drivers, reason codes, the outreach list, value at risk, profit
#
# A churn probability alone does not tell a retention team what to do. This notebook goes from a
# trained model to a call list:
#
# 1. **global drivers**: which features move the churn risk, and in which direction (TreeSHAP);
# 2. the **profit curve**: how many customers a campaign should contact, given its costs;
# 3. the **outreach list** at "now": churn probability, predicted CLV, value at risk, risk tier,
#    the customer's own **reason codes** and a suggested action;
# 4. **value at risk** per tier, and what a fixed budget buys.
#
# * `CHURNML_NB_SMALL=1`: a small world and few trees (CI sets it);
# * `CHURNML_NB_TRACKING_URI`: the MLflow store (default `sqlite:///mlflow.db` in the working folder).

# %%
# %matplotlib inline
import os

from churnml import explain, plots
from churnml.config import load_config
from churnml.dataset import TARGET
from churnml.evaluate import best_k
from churnml.io import load_tables
from churnml.scoring import load_churn_model, score_customers
from churnml.tracking import resolve_tracking_uri, start_run
from churnml.training import fit_and_evaluate, log_training
from churnml.windows import DataSpan

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # churn data is customer data
SMALL = os.environ.get("CHURNML_NB_SMALL") == "1"
URI = resolve_tracking_uri(os.environ.get("CHURNML_NB_TRACKING_URI"))

# %% [markdown]
# ## Train
#
# The synthetic world with every table, a 60-day horizon. The campaign's economics go into
# `evaluation`: a contact costs 2, an accepted offer 10, one churner in five accepts it
# (`save_rate`), and a saved customer is worth 80 (`value_per_save`, in the costs' currency;
# without it training makes no profit curve).

# %%
cfg = load_config(None, [
    "data.source=synthetic",
    f"data.synthetic.customers={1500 if SMALL else 5000}",
    f"data.synthetic.months={18 if SMALL else 24}",
    "time.horizon_days=60",
    "time.train_horizon_days=null",
    "time.step_days=30",
    f"model.num_boost_round={60 if SMALL else 400}",
    "model.min_rows=100",
    "features.windows=[7, 30, 90]",
    "evaluation.contact_cost=2",
    "evaluation.offer_cost=10",
    "evaluation.save_rate=0.2",
    "evaluation.value_per_save=80",
    "tracking.experiment=churnml-notebooks",
    "tracking.registered_model_name=churnml-notebooks-scoring",
])
tables = load_tables(cfg)
result = fit_and_evaluate(tables, cfg)
test = result.data.part("test")
print(f"test cutoff {result.data.splits.test.date()}: {len(test):,} customers, "
      f"churn rate {test[TARGET].mean():.1%}, model ROC AUC {result.metrics['model']['roc_auc']:.3f}")

# %% [markdown]
# The log above may show a warning that starts *BG/NBD features: the fit warned at 3 of 19
# cutoffs*. At the earliest cutoffs the synthetic history is a few months long: too short to
# see a customer stop buying, so the BG/NBD fit behind the `btyd_*` features sends its drop-out
# parameter `a` towards 0 ("nobody leaves"), and says so. Those cutoffs' `btyd_*` features then
# rest on frequency and recency alone; the later cutoffs, the calibration and the test cutoff
# fit normally. Nothing needs fixing here; on your own data the warning ends with what to do.

# %% [markdown]
# ## 1. Global drivers
#
# Mean |SHAP value| per feature on a sample of the test customers, in log-odds of the (uncalibrated)
# booster: how far a feature moves a customer's churn risk on average.

# %%
result.importance.head(10).round(4)

# %%
plots.shap_bar_figure(result.importance, top=15)

# %% [markdown]
# The beeswarm shows the direction: each dot is a customer, red = a high value of the feature.
# Dots right of zero raise the risk.

# %%
plots.shap_beeswarm_figure(result.contributions, result.explained)

# %%
print(result.drivers)

# %% [markdown]
# The observed churn rate per decile of the top feature, on the test cutoff (labels, not SHAP):
# the model's story should be visible in the raw data too.

# %%
top_feature = result.importance.index[0]
by_decile = explain.churn_rate_by_decile(test[top_feature], test[TARGET].to_numpy())
plots.decile_figure(by_decile, feature=top_feature)

# %% [markdown]
# ## 2. The profit curve
#
# Customers ranked by expected saved value; for each number contacted `k`, expected profit =
# `save_rate x sum(p x (value - offer_cost)) - contact_cost x k` (and the realised profit with the
# observed churn of the test cutoff). Contacting everyone is rarely best.

# %%
k = best_k(result.profit)
print(f"best k = {k:,} of {len(test):,} customers "
      f"(expected profit {result.profit['expected_profit'].max():,.0f})")
result.profit.iloc[sorted({0, k // 2, k, min(2 * k, len(test)), len(test)})].round(2)

# %%
plots.profit_figure(result.profit.rename(columns={"expected_profit": "profit"}))

# %% [markdown]
# ## 3. The outreach list
#
# Log the run (this registers the model), load this version back from the registry (`score` loads
# the `@champion` alias, which this version holds only if it won), and
# score everyone at risk at the end of the data: their labels do not exist yet. Reason codes are
# computed for the listed customers only (TreeSHAP costs far more than a probability).

# %%
with start_run(URI, cfg.tracking.experiment, run_name="explain-and-score") as run:
    promotion = log_training(result, cfg, run)
model = load_churn_model(f"models:/{cfg.tracking.registered_model_name}/{promotion.version}")
now = DataSpan.from_times(tables.transactions["timestamp"]).end
print(f"scoring at {now.date()} with model version {promotion.version}")

# %%
scored = score_customers(tables, model, now, cfg, top=20)
print(scored.counts)
columns = ["rank", "customer_id", "churn_probability", "risk_tier", "predicted_clv", "value_at_risk",
           "rfm_segment", "suggested_action"]
scored.outreach[columns].round(3)

# %% [markdown]
# Each customer's own reasons: the features that raise *their* risk most, with their value and a
# sentence a call agent can read.

# %%
reasons = [c for c in scored.outreach.columns if c.startswith("reason_")]
scored.outreach[["customer_id", *reasons]].head(5).T

# %% [markdown]
# ## 4. Value at risk
#
# Value at risk = churn probability x predicted CLV (BG/NBD expected purchases x Gamma-Gamma
# spend over `scoring.clv_horizon_days`, discounted, for a customer still active at the cutoff:
# the churn probability is the risk of losing it, counted once). Scoring everyone without reason codes
# (`scoring.top_k = 0`, and `scoring.playbook_reasons = 0` so that the actions read none either)
# is cheap:

# %%
quick = cfg.model_copy(deep=True)
quick.scoring.top_k = 0
quick.scoring.playbook_reasons = 0
everyone = score_customers(tables, model, now, quick).outreach
tiers = everyone.groupby("risk_tier").agg(
    customers=("customer_id", "size"),
    mean_probability=("churn_probability", "mean"),
    value_at_risk=("value_at_risk", "sum"),
).reindex([t for t in cfg.scoring.tiers if t in set(everyone["risk_tier"])])
tiers["share_of_value_at_risk"] = tiers["value_at_risk"] / tiers["value_at_risk"].sum()
tiers.round(3)

# %%
plots.risk_distribution_figure(everyone["churn_probability"])

# %% [markdown]
# With a budget instead of a count: only customers whose expected saved value
# (`scoring.save_rate x value_at_risk`) exceeds the contact cost are worth a call, and the budget
# pays for the first of them.

# %%
budget = score_customers(tables, model, now, cfg, budget=200)
print(budget.counts)
budget.outreach[["rank", "customer_id", "churn_probability", "value_at_risk", "suggested_action"]].head(10).round(3)

# %% [markdown]
# The same from the command line, as a CSV a CRM can import (with an `.unscored.csv` beside it for
# everyone asked for who is not on the list, and why): this notebook's registered model, on the same
# synthetic data.

# %%
data_sets = " ".join(f"--set {kv}" for kv in [
    "data.source=synthetic",
    f"data.synthetic.customers={cfg.data.synthetic.customers}",
    f"data.synthetic.months={cfg.data.synthetic.months}",
])
print(f"python -m churnml.score --model models:/{cfg.tracking.registered_model_name}@champion "
      f"--tracking-uri {URI} {data_sets} --cutoff {now.date()} --top 500 --out outreach.csv")
