"""Constants of the synthetic simulation: rates, vocabularies, output columns and type aliases."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from churnml.schema import TABLE_SPECS

__all__ = ["BLOCK_CUSTOMERS", "GROUND_TRUTH_COLUMNS", "TABLES"]


Arr = npt.NDArray[Any]

#: Customers per random stream; a chunk is a whole number of blocks.
BLOCK_CUSTOMERS = 1_000
#: Columns of the ``ground_truth`` frame and their kinds (as in ``schema``).
GROUND_TRUTH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("customer_id", "id"),
    ("churned", "bool"),
    ("churn_at", "time"),
    ("churn_probability", "float"),
    ("contractual", "bool"),
    ("propensity", "float"),
    ("satisfaction", "float"),
    ("low_nps", "bool"),
    ("bad_support", "bool"),
    ("price_sensitivity", "float"),
    ("engagement_decline", "float"),
    ("decline_starts_at", "time"),
)
#: Every table :func:`generate` returns: the data contract plus the ground truth.
TABLES: tuple[str, ...] = (*TABLE_SPECS, "ground_truth")

DAY = 86_400  # seconds; simulated times are int64 seconds since cfg.start
MONTH_DAYS = 30.4375
NAT = np.iinfo(np.int64).min
SIGNUP_GROWTH = 0.5
MIN_TENURE_DAYS = 14.0
TENURE_SCALE_DAYS = 240.0
TX_RATE, EVENT_RATE, TICKET_RATE, SURVEY_RATE = 0.057, 0.18, 0.008, 1 / 150  # per day

REGIONS, REGION_P = ("north_america", "europe", "apac", "latam"), (0.4, 0.3, 0.2, 0.1)
SEGMENTS, SEGMENT_P = ("consumer", "smb", "enterprise"), (0.7, 0.25, 0.05)
SEGMENT_LOGIT, SEGMENT_SPEND = np.array([0.0, -0.2, -0.5]), np.array([1.0, 2.5, 6.0])
CHANNELS = ("organic", "paid_search", "social", "email", "affiliate", "referral")
CHANNEL_P = (0.3, 0.22, 0.15, 0.1, 0.08, 0.15)
CHANNEL_LOGIT = np.array([0.0, 0.1, 0.35, 0.0, 0.25, -0.35])
CHANNEL_CAC = np.array([0.0, 45.0, 35.0, 8.0, 30.0, 20.0])  # money per new customer
PLANS, PLAN_PRICE = ("basic", "standard", "premium"), np.array([19.0, 49.0, 99.0])
CATEGORIES = ("apparel", "electronics", "home", "beauty", "grocery", "subscription")
PRODUCTS = tuple(f"{c}-{k:02d}" for c in CATEGORIES[:5] for k in range(1, 21)) + tuple(
    f"plan-{p}" for p in PLANS
)
TX_CHANNELS = ("web", "app", "store", "subscription")
EVENT_TYPES, EVENT_P = ("login", "page_view", "email_open", "email_click"), (0.3, 0.4, 0.2, 0.1)
TICKET_CHANNELS, TICKET_P = ("email", "chat", "phone"), (0.45, 0.35, 0.2)
SURVEYS = ("nps", "csat", "ces", "cli")
SURVEY_MODEL = np.array([[7.6, 1.9, 1.2], [3.9, 0.8, 0.6], [5.0, 1.0, 0.9], [4.3, 0.9, 0.7]])
QUESTIONS = (
    "How likely are you to recommend us to a friend?",
    "How satisfied were you with the help you received?",
    "The company made it easy for me to handle my issue.",
    "Would you recommend us, buy again and try our other products?",
)
VOCAB: dict[tuple[str, str], tuple[str, ...]] = {
    ("transactions", "product"): PRODUCTS,
    ("transactions", "category"): CATEGORIES,
    ("transactions", "channel"): TX_CHANNELS,
    ("events", "event_type"): EVENT_TYPES,
    ("subscriptions", "plan"): PLANS,
    ("surveys", "survey"): SURVEYS,
    ("surveys", "question"): QUESTIONS,
    ("tickets", "channel"): TICKET_CHANNELS,
    ("customers", "region"): REGIONS,
    ("customers", "segment"): SEGMENTS,
    ("customers", "acquisition_channel"): CHANNELS,
    ("marketing_spend", "channel"): CHANNELS,
}
Columns = dict[str, Arr]
