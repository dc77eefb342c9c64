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
# # 01 · Retention metrics: the descriptive baseline
#
# Before a churn model, a retention team already watches a few numbers: churn and retention rate
# per period, revenue, order value, repeat purchases, how acquisition cohorts keep buying, and who
# sits in which RFM segment. A model has to beat what these numbers already say, so this notebook
# computes them first with `churnml.metrics`, on two data sets:
#
# * **CDNOW**, bundled with churnml: the customers who made their first purchase at the CDNOW
#   music store in Q1 1997, followed until June 1998 (transactions only);
# * a **synthetic** world (`data.source: synthetic`) with every table of the data contract:
#   events, subscriptions, surveys, tickets, customers, marketing spend and loyalty.
#
# Every formula is in `docs/METRICS.md`. The churn of a period uses the same definition as the churn
# model's labels: the customers active before the period start who make no purchase in the period.
#
# `CHURNML_NB_SMALL=1` makes the synthetic world small (CI sets it);
# `CHURNML_NB_OUT` is where the HTML report goes (default `outputs/`).

# %%
# %matplotlib inline
import os
from pathlib import Path

from churnml import plots
from churnml.config import load_config
from churnml.io import load_tables
from churnml.metrics import (
    churn_by_segment,
    cohort_tables,
    retention_kpis,
    rfm_table,
    segment_counts,
    summary_text,
)
from churnml.report import write_html
from churnml.report_html import build_report, render_report
from churnml.windows import DataSpan, latest_matured_cutoff

SMALL = os.environ.get("CHURNML_NB_SMALL") == "1"
OUT = Path(os.environ.get("CHURNML_NB_OUT", "outputs"))

# %% [markdown]
# ## CDNOW
#
# The built-in defaults (`configs/default.yaml`) are the CDNOW set-up: non-contractual churn,
# a 39-week horizon. `load_tables` reads and validates the data once; what it returns is trusted
# by everything downstream.

# %%
cdnow_cfg = load_config(None)
cdnow = load_tables(cdnow_cfg)
cdnow

# %% [markdown]
# ### KPIs per quarter
#
# `S` is the number of customers at the start of a period, `N` the new ones, `L` the lost ones
# (active before the period, no purchase in it) and `E = S - L + N`.
# Churn rate = `L / S`; customer retention rate = `(E - N) / S`.

# %%
cdnow_kpis = retention_kpis(cdnow, cdnow_cfg, freq="Q")
print(summary_text(cdnow_kpis))

# %% [markdown]
# Every CDNOW customer arrives in 1997Q1, so `S` stays at 23,570 from then on and the churn rate
# of a quarter is simply the share of all customers who buy nothing in it: roughly four in five,
# and rising. That is the baseline a model must beat: "most customers will not buy next quarter"
# is already known.

# %%
cdnow_kpis[["period", "customers_start", "lost_customers", "churn_rate", "retention_rate", "revenue", "aov"]]

# %% [markdown]
# ### Cohort retention
#
# Rows are acquisition cohorts (first-purchase month), columns months since acquisition, cells
# the share of the cohort with a purchase in that month. Month 0 is 100% by definition; the
# heatmap leaves it out so that the colours show the later months.

# %%
cdnow_cohorts = cohort_tables(cdnow.transactions)
cdnow_cohorts.rates.round(1)

# %%
plots.cohort_heatmap(cdnow_cohorts.rates.drop(columns=[0]))

# %% [markdown]
# ### RFM segments
#
# Recency, frequency (distinct purchase days) and monetary value, each scored 1-5 on the history
# before a cutoff only, then mapped to named segments. At the end of the data:

# %%
cdnow_rfm = rfm_table(cdnow.transactions, cutoff="1998-07-01")
segment_counts(cdnow_rfm).round(1)

# %% [markdown]
# Do the segments predict churn? The churn by RFM segment at the cutoff 1997-10-01 with the 39-week
# (273-day) horizon, the newest window that has fully happened in the data. This is also the test
# window of `make train` (the README's results table).

# %%
churn_by_segment(cdnow, "1997-10-01", 273, by="rfm", cfg=cdnow_cfg).round(1)

# %% [markdown]
# Champions churn far less than the "lost" and "hibernating" customers: the segments rank
# customers already. `make train` compares the churn model with an RFM logistic regression and
# other baselines on exactly this window (notebook 02 does the same on the synthetic world).

# %% [markdown]
# ## The synthetic world: every table
#
# The generator simulates customers with latent drivers (propensity to leave, satisfaction, bad
# support, price sensitivity) and a known churn time, so every KPI of `docs/METRICS.md` has data.

# %%
synthetic_cfg = load_config(None, [
    "name=synthetic",
    "data.source=synthetic",
    f"data.synthetic.customers={1500 if SMALL else 5000}",
    f"data.synthetic.months={18 if SMALL else 24}",
    "time.horizon_days=90",
])
synthetic = load_tables(synthetic_cfg)
synthetic

# %%
synthetic_kpis = retention_kpis(synthetic, synthetic_cfg, freq="Q")
print(summary_text(synthetic_kpis))

# %% [markdown]
# NPS, CSAT, CES and CLI come from the surveys, MRR and ARPA from the subscriptions, CAC from
# the marketing spend, FCR from the tickets, the referral rate from the customers table and the
# loyalty rates from the loyalty table. A metric whose table is absent is reported as not
# available (with the reason), never as 0.

# %%
synthetic_kpis[["period", "churn_rate", "nps", "csat", "ces", "mrr", "arpa", "cac", "fcr", "referral_rate"]].round(2)

# %%
plots.cohort_heatmap(cohort_tables(synthetic.transactions).rates.drop(columns=[0]))

# %% [markdown]
# With a customers table, churn splits by its segment and acquisition channel too (and by its
# region with `by="region"`), and by RFM segment. The cutoff is the newest one whose 90-day
# window has fully happened.

# %%
span = DataSpan.from_times(synthetic.transactions["timestamp"])
synthetic_cutoff = latest_matured_cutoff(span, horizon_days=90)
for by in ("segment", "acquisition_channel", "rfm"):
    print(f"churn by {by} at {synthetic_cutoff.date()}, horizon 90 days")
    print(churn_by_segment(synthetic, synthetic_cutoff, 90, by=by, cfg=synthetic_cfg).round(1).to_string(index=False))
    print()

# %% [markdown]
# ## All of it in one file: the HTML retention report
#
# `python -m churnml.report --config ... --out report.html` writes the same numbers as one
# self-contained HTML file (KPI tiles with the change against the previous period, the cohort
# heatmap, churn by segment, survey trends, and the model's drivers and risk distribution when
# `--model` is given). The same from Python:

# %%
html = render_report(build_report(synthetic, synthetic_cfg, freq="Q"))
path = write_html(html, OUT / "synthetic_retention_report.html", overwrite=True)
print(f"{path}: {len(html.encode()) // 1024} kB, open it in any browser (it loads nothing from the network)")
