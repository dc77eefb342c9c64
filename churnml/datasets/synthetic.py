"""Seeded synthetic customer data with a known churn ground truth.

:func:`generate` returns every table of the data contract
(:data:`churnml.schema.TABLE_SPECS`) as canonical frames, plus a
``ground_truth`` frame saying who churned, when, and why.
:func:`generate_chunks` yields the same rows chunk by chunk so that tens of
millions of transactions can be written without holding them in memory.

The simulation
--------------
Time runs from ``cfg.start`` (midnight UTC) for ``cfg.months`` calendar months;
``end`` is exclusive. Customer ``i`` (id ``C0000001`` is ``i = 0``) signs up at
the ``(i + u_i) / N`` quantile of a growing signup density
``f(t) ∝ exp(0.5 t / T)``, so ids follow signup order.

1. **Latent drivers** per customer: ``propensity ~ N(0, 1)``, ``satisfaction``
   (``N(0, 1)``, correlation -0.3 with propensity), ``bad_support`` (20 %),
   ``price_sensitivity ~ Beta(2, 2)``; segment, region, acquisition channel
   (15 % referrals, each naming an earlier customer), plan and discount. A
   share ``cfg.contractual_share`` is contractual (monthly subscription terms).
2. **Churn decision.** ``p_i = expit(a + r_i + log F_i)`` with the risk
   ``r_i = 1.3 propensity + 1.0 bad_support - 0.9 satisfaction + price_i +
   segment_i + channel_i``, where ``price_i = 1.2 ps log(mrr / 25)`` for
   contractual customers and ``0.6 (ps - 0.5)`` otherwise. ``F_i = 1 -
   exp(-e_i / 240 d)`` is the chance that an exponential time to churn fits
   into the customer's exposure ``e_i``: the whole monthly terms before
   ``end`` for contractual customers, the time from signup to ``end`` minus a
   minimum tenure of 14 days otherwise. The intercept ``a`` is solved (Brent)
   so that the mean of ``p_i`` over the whole population equals
   ``cfg.churn_rate``; each customer then churns with probability ``p_i``, so
   the churned share differs from the request by binomial noise only,
   ``sqrt(rate (1 - rate) / N)`` (0.14 points at 100k customers).
3. **Churn time.** A churner's tenure is drawn from that exponential,
   truncated to the exposure. A contractual churner leaves at the end of the
   term containing it: ``churn_at`` is the renewal that does not happen (the
   last term ends there; 85 % of them asked to cancel during that term). After
   ``churn_at`` a customer has no transactions, events, tickets, surveys,
   loyalty enrolment or subscription terms.
4. **The visible warning.** From 4 to 12 weeks before ``churn_at`` a churner's
   activity decays: with ``d(t)`` ramping linearly from 0 at onset to a
   strength ``s ~ Beta(6, 2)`` at ``churn_at``, events are kept with
   probability ``1 - d(t)``, purchases with ``1 - 0.7 d(t)``, tickets become
   up to ``1 + 1.5 s`` times as frequent and survey answers drop by
   ``1.2 d(t)`` standard deviations of satisfaction. 10 % of the others have a
   temporary dip of the same shape that recovers, so the signal is
   informative, not perfect.
5. **Activity.** Purchases are Poisson at ``0.057 exp(0.6 z - 0.5 propensity)``
   per day (mean about 1.7 a month; contractual customers pay each monthly
   term and buy add-ons at 0.4 times that rate): about 16 transactions per
   customer over 24 months at the defaults; about 2 % of the rows are returns
   (negative amounts, likelier for price-sensitive customers). Events (login,
   page_view, email_open, email_click) come at about three times the purchase
   rate. Tickets: twice as many with ``bad_support``, first-contact
   resolution 38 % instead of 72 %, slower resolution. Surveys: relational NPS,
   CES and CLI about every five months, CSAT after a third of the resolved
   tickets; all scores follow satisfaction and lie in ``SCORE_SCALES``.
   Loyalty enrolment is likelier for satisfied, low-propensity customers;
   points are whole money units spent since enrolment (to the end of data).
   Marketing spend per calendar month and channel counts the signups
   (``new_customers``) at a channel cost per acquisition (organic: 0).

Frames are canonical: ``customer_id`` and text are ``str``, times
``datetime64[us]`` (naive UTC), money and scores ``float64``, counts
``int64``, flags ``boolean`` (as :func:`churnml.validation.validate_table`
returns them; ``ground_truth`` flags are plain ``bool``). Every frame is
sorted by customer, then time.

Determinism: customers are simulated in fixed blocks of
:data:`BLOCK_CUSTOMERS`, each with random streams seeded by ``(seed, block)``;
a chunk is a whole number of blocks, so the same seed gives identical frames
whatever ``chunk_customers`` is.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.optimize import brentq
from scipy.special import expit

from churnml.config import SyntheticConfig
from churnml.errors import ConfigError
from churnml.schema import SCORE_SCALES, TABLE_SPECS

__all__ = [
    "BLOCK_CUSTOMERS",
    "GROUND_TRUTH_COLUMNS",
    "TABLES",
    "count_chunks",
    "generate",
    "generate_chunks",
]

log = logging.getLogger(__name__)

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


def _rng(seed: int, block: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed % 2**64, spawn_key=(block, stream)))


def _pick(rng: np.random.Generator, probs: tuple[float, ...], n: int) -> Arr:
    """Category codes drawn with the given probabilities."""
    return np.minimum(np.searchsorted(np.cumsum(probs), rng.random(n), side="right"), len(probs) - 1)


def _rank_in_group(counts: Arr) -> Arr:
    """0, 1, ... within each run of a ``np.repeat(..., counts)`` layout."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)


@dataclass(frozen=True)
class _Clock:
    """Simulated time: int64 seconds since ``start``; ``end`` is exclusive."""

    start: np.datetime64
    end: int
    n_months: int

    @classmethod
    def of(cls, cfg: SyntheticConfig) -> _Clock:
        draft = cls(np.datetime64(cfg.start, "D").astype("M8[s]"), 0, 0)
        end = draft.add_months(np.zeros(1, np.int64), np.array([cfg.months]))
        return cls(draft.start, int(end[0]), int(draft.month_index(end - 1)[0]) + 1)

    def absolute(self, t: Arr) -> Arr:
        return self.start + t.astype("m8[s]")

    def month_index(self, t: Arr) -> Arr:
        """Calendar months between the month of ``start`` and that of ``t``."""
        months = self.absolute(t).astype("M8[M]") - self.start.astype("M8[M]")
        return months.astype(np.int64)

    def add_months(self, t: Arr, k: Arr) -> Arr:
        """``t`` plus ``k`` calendar months (day clipped to the month's end)."""
        month = self.absolute(t).astype("M8[M]")
        into = (self.absolute(t) - month.astype("M8[s]")).astype(np.int64)
        target = month + np.asarray(k).astype("m8[M]")
        days = ((target + 1).astype("M8[D]") - target.astype("M8[D]")).astype(np.int64)
        into = np.minimum(into // DAY, days - 1) * DAY + into % DAY
        return (target.astype("M8[s]") + into.astype("m8[s]") - self.start).astype(np.int64)

    def month_start(self, m: Arr) -> Arr:
        first = (self.start.astype("M8[M]") + m.astype("m8[M]")).astype("M8[s]")
        return (first - self.start).astype(np.int64)

    def to_datetime(self, t: Arr) -> Arr:
        """Simulated seconds (``NAT`` = missing) as ``datetime64[us]``."""
        missing = t == NAT
        us = self.start.astype("M8[us]").astype(np.int64) + np.where(missing, 0, t) * 1_000_000
        us[missing] = NAT
        return us.view("M8[us]")


@dataclass(frozen=True)
class _Latent:
    """Who the customers of one block are (drawn from stream 0)."""

    idx: Arr
    signup: Arr
    contractual: Arr
    propensity: Arr
    satisfaction: Arr
    bad_support: Arr
    price_sensitivity: Arr
    segment: Arr
    region: Arr
    channel: Arr
    referrer: Arr
    plan: Arr
    discount: Arr
    k_max: Arr
    risk: Arr


def _latent(cfg: SyntheticConfig, clock: _Clock, block: int) -> _Latent:
    rng = _rng(cfg.seed, block, 0)
    idx = np.arange(block * BLOCK_CUSTOMERS, min((block + 1) * BLOCK_CUSTOMERS, cfg.customers))
    n, g = idx.size, SIGNUP_GROWTH
    q = (idx + rng.random(n)) / cfg.customers
    signup = np.minimum(np.floor(clock.end / g * np.log1p(q * np.expm1(g))), clock.end - 1)
    signup = signup.astype(np.int64)
    contractual = rng.random(n) < cfg.contractual_share
    propensity = rng.standard_normal(n)
    satisfaction = -0.3 * propensity + math.sqrt(0.91) * rng.standard_normal(n)
    bad_support = rng.random(n) < 0.2
    ps = rng.beta(2.0, 2.0, n)
    segment, region = _pick(rng, SEGMENT_P, n), _pick(rng, REGION_P, n)
    channel = _pick(rng, CHANNEL_P, n)
    referral = CHANNELS.index("referral")
    channel[(channel == referral) & (idx == 0)] = 0  # the first customer has no referrer
    referrer = np.where(channel == referral, np.floor(rng.random(n) * idx), -1).astype(np.int64)
    plan = np.searchsorted([0.0, 1.1], rng.standard_normal(n) - 1.6 * (ps - 0.5))
    discount = np.array([0.0, 0.1, 0.2])[_pick(rng, (0.7, 0.2, 0.1), n)]
    mrr = PLAN_PRICE[plan] * (1.0 - discount)
    k_last = clock.n_months - 1 - clock.month_index(signup)  # terms landing in end's month
    k_max = np.where(clock.add_months(signup, k_last) < clock.end, k_last, k_last - 1)
    exposure = np.where(
        contractual, k_max * MONTH_DAYS, (clock.end - signup) / DAY - MIN_TENURE_DAYS
    )
    with np.errstate(divide="ignore"):
        log_reach = np.log(-np.expm1(-np.maximum(exposure, 0.0) / TENURE_SCALE_DAYS))
    price = np.where(contractual, 1.2 * ps * np.log(mrr / 25.0), 0.6 * (ps - 0.5))
    risk = (
        1.3 * propensity + 1.0 * bad_support - 0.9 * satisfaction + price
        + SEGMENT_LOGIT[segment] + CHANNEL_LOGIT[channel] + log_reach
    )
    return _Latent(
        idx, signup, contractual, propensity, satisfaction, bad_support, ps, segment, region,
        channel, referrer, plan, discount, k_max, risk,
    )


def _intercept(cfg: SyntheticConfig, clock: _Clock, n_blocks: int) -> float:
    """Solve ``mean(expit(a + risk)) = churn_rate`` over the whole population."""
    risk = np.concatenate([_latent(cfg, clock, b).risk for b in range(n_blocks)])
    reachable = float(np.isfinite(risk).mean())
    if cfg.churn_rate > 0.98 * reachable:
        raise ConfigError(
            f"synthetic.churn_rate={cfg.churn_rate} cannot be reached: only "
            f"{reachable:.1%} of the customers sign up early enough to churn within "
            f"{cfg.months} months; lower churn_rate or raise months"
        )
    a = brentq(lambda x: float(expit(x + risk).mean()) - cfg.churn_rate, -60.0, 60.0, xtol=1e-9)
    log.debug("synthetic churn intercept a=%.4f (reachable share %.3f)", a, reachable)
    return float(a)


@dataclass(frozen=True)
class _Fate:
    """Whether, when and how visibly each customer of a block churns."""

    probability: Arr
    churned: Arr
    stop: Arr  # churn_at for churners, the end of the simulation otherwise
    onset: Arr
    until: Arr
    strength: Arr
    n_terms: Arr

    def decline(self, owner: Arr, t: Arr) -> Arr:
        """``d(t)``: 0 before onset, ramping to ``strength`` at ``until``, 0 after."""
        on, until = self.onset[owner], self.until[owner]
        ramp = np.clip((t - on) / np.maximum(until - on, 1), 0.0, 1.0)
        return np.where(t < until, ramp * self.strength[owner], 0.0)


def _fate(lat: _Latent, a: float, clock: _Clock, rng: np.random.Generator) -> _Fate:
    n, tau = lat.idx.size, TENURE_SCALE_DAYS
    p = expit(a + lat.risk)
    churned = rng.random(n) < p
    u = rng.random(n)
    span = (clock.end - lat.signup) / DAY - MIN_TENURE_DAYS
    tenure = MIN_TENURE_DAYS - tau * np.log1p(u * np.expm1(-np.maximum(span, 0.0) / tau))
    free_at = np.minimum(lat.signup + np.floor(tenure * DAY).astype(np.int64), clock.end - 1)
    months = -tau * np.log1p(u * np.expm1(-lat.k_max * MONTH_DAYS / tau)) / MONTH_DAYS
    terms = np.clip(np.ceil(months).astype(np.int64), 1, np.maximum(lat.k_max, 1))
    stop = np.where(lat.contractual, clock.add_months(lat.signup, terms), free_at)
    stop = np.where(churned, stop, clock.end)
    n_terms = np.where(lat.contractual, np.where(churned, terms, lat.k_max + 1), 0)
    lag = np.floor(rng.uniform(28.0, 84.0, n) * DAY).astype(np.int64)
    dip = ~churned & (rng.random(n) < 0.1)
    dip_at = lat.signup + np.floor(rng.random(n) * (clock.end - lat.signup)).astype(np.int64)
    s_churn, s_dip = rng.beta(6.0, 2.0, n), 0.8 * rng.beta(3.0, 3.0, n)
    onset = np.where(churned, np.maximum(stop - lag, lat.signup), np.where(dip, dip_at, 0))
    until = np.where(churned, stop, np.where(dip, dip_at + lag, 0))
    strength = np.where(churned, s_churn, np.where(dip, s_dip, 0.0))
    return _Fate(p, churned, stop, onset, until, strength, n_terms)


def _arrivals(rng: np.random.Generator, lo: Arr, hi: Arr, rate: Arr) -> tuple[Arr, Arr]:
    """Poisson arrivals at ``rate`` per day in ``[lo, hi)``: (owner, time), sorted."""
    span = np.maximum(hi - lo, 0)
    counts = rng.poisson(rate * span / DAY)
    owner = np.repeat(np.arange(lo.size), counts)
    t = lo[owner] + np.floor(rng.random(owner.size) * span[owner]).astype(np.int64)
    key = np.sort((owner << 32) | np.minimum(t, hi[owner] - 1))
    return key >> 32, key & 0xFFFFFFFF


def _sort(cols: Columns, time: str) -> Columns:
    """Rows ordered by customer, then time (times are below 2**32 seconds)."""
    order = np.argsort((cols["customer_id"] << 32) | cols[time])
    return {k: v[order] for k, v in cols.items()}


def _subscriptions(lat: _Latent, fate: _Fate, clock: _Clock, rng: np.random.Generator) -> Columns:
    n = lat.idx.size
    owner = np.repeat(np.arange(n), fate.n_terms)
    k = _rank_in_group(fate.n_terms)
    start = clock.add_months(lat.signup[owner], k)
    end = clock.add_months(lat.signup[owner], k + 1)
    last = k == fate.n_terms[owner] - 1
    end = np.where(last & ~fate.churned[owner], NAT, end)
    upgrade_at = 1 + np.floor(rng.random(n) * np.maximum(fate.n_terms - 1, 0))
    upgrade_at = np.where(rng.random(n) < 0.12, upgrade_at, np.inf)
    plan = np.minimum(lat.plan[owner] + (k >= upgrade_at[owner]), len(PLANS) - 1)
    mrr = np.round(PLAN_PRICE[plan] * (1.0 - lat.discount[owner]), 2)
    window = np.minimum(20 * DAY, end - start)
    cancel = end - 1 - np.floor(rng.random(owner.size) * window).astype(np.int64)
    asked = last & fate.churned[owner] & (rng.random(owner.size) < 0.85)
    return {
        "customer_id": lat.idx[owner], "start": start, "end": end, "plan": plan, "mrr": mrr,
        "cancel_requested_at": np.where(asked, cancel, NAT),
    }


def _transactions(
    lat: _Latent, fate: _Fate, subs: Columns, z_freq: Arr, rng: np.random.Generator
) -> Columns:
    n = lat.idx.size
    z_aov = rng.standard_normal(n)
    fav_cat, fav_chan = _pick(rng, (0.3, 0.15, 0.25, 0.15, 0.15), n), _pick(rng, (0.5, 0.35, 0.15), n)
    rate = TX_RATE * np.exp(0.6 * z_freq - 0.5 * lat.propensity - 0.305)
    owner, t = _arrivals(rng, lat.signup, fate.stop, rate * np.where(lat.contractual, 0.4, 1.0))
    keep = rng.random(owner.size) >= 0.7 * fate.decline(owner, t)
    owner, t = owner[keep], t[keep]
    m = owner.size
    cat = np.where(rng.random(m) < 0.6, fav_cat[owner], _pick(rng, (0.2,) * 5, m))
    chan = np.where(rng.random(m) < 0.7, fav_chan[owner], _pick(rng, (0.5, 0.35, 0.15), m))
    quantity = 1.0 + rng.poisson(0.3, m)
    aov = 28.0 * SEGMENT_SPEND[lat.segment] * np.exp(0.4 * z_aov - 0.08)
    amount = np.round(np.maximum(quantity * aov[owner] * rng.gamma(3.0, 1 / 3.0, m), 1.0), 2)
    returned = rng.random(m) < (0.007 + 0.04 * lat.price_sensitivity)[owner]
    charged = subs["customer_id"] - lat.idx[0]
    c = charged.size
    cols = {
        "customer_id": lat.idx[np.concatenate([owner, charged])],
        "timestamp": np.concatenate([t, subs["start"]]),
        "amount": np.concatenate([np.where(returned, -amount, amount), subs["mrr"]]),
        "order_id": np.zeros(m + c, np.int64),
        "quantity": np.concatenate([quantity, np.ones(c)]),
        "product": np.concatenate([cat * 20 + rng.integers(0, 20, m), 100 + subs["plan"]]),
        "category": np.concatenate([cat, np.full(c, CATEGORIES.index("subscription"))]),
        "channel": np.concatenate([chan, np.full(c, TX_CHANNELS.index("subscription"))]),
    }
    cols = _sort(cols, "timestamp")
    cols["order_id"] = 1 + _rank_in_group(np.bincount(cols["customer_id"] - lat.idx[0], minlength=n))
    return cols


def _events(lat: _Latent, fate: _Fate, z_freq: Arr, rng: np.random.Generator) -> Columns:
    n = lat.idx.size
    z_eng = rng.standard_normal(n)
    rate = EVENT_RATE * np.exp(0.4 * z_freq + 0.4 * z_eng - 0.5 * lat.propensity - 0.285)
    owner, t = _arrivals(rng, lat.signup, fate.stop, rate)
    keep = rng.random(owner.size) >= fate.decline(owner, t)
    owner, t = owner[keep], t[keep]
    kind = _pick(rng, EVENT_P, owner.size)
    seconds = np.round(rng.lognormal(np.log(60.0), 0.8, owner.size))
    value = np.where(kind == EVENT_TYPES.index("page_view"), seconds, np.nan)
    return {"customer_id": lat.idx[owner], "timestamp": t, "event_type": kind, "value": value}


def _tickets(lat: _Latent, fate: _Fate, clock: _Clock, rng: np.random.Generator) -> Columns:
    bad = lat.bad_support
    rate = TICKET_RATE * np.where(bad, 2.0, 1.0) * np.exp(0.3 * lat.propensity - 0.045)
    owner, t = _arrivals(rng, lat.signup, fate.stop, 2.5 * rate)
    keep = rng.random(owner.size) * 2.5 < 1.0 + 1.5 * fate.decline(owner, t)
    owner, t = owner[keep], t[keep]
    m, bad = owner.size, bad[owner]
    fcr = rng.random(m) < np.where(bad, 0.38, 0.72)
    slow = rng.lognormal(np.log(np.where(bad, 60.0, 18.0)), 0.8, m)
    hours = np.where(fcr, rng.lognormal(np.log(0.5), 0.6, m), slow)
    resolved = t + np.ceil(hours * 3600).astype(np.int64)
    still_open = (resolved >= clock.end) | (bad & (rng.random(m) < 0.05))
    return {
        "customer_id": lat.idx[owner], "opened_at": t,
        "resolved_at": np.where(still_open, NAT, resolved),
        "first_contact_resolved": fcr & ~still_open, "channel": _pick(rng, TICKET_P, m),
    }


def _surveys(lat: _Latent, fate: _Fate, tickets: Columns, rng: np.random.Generator) -> Columns:
    owner_r, t_r = _arrivals(rng, lat.signup, fate.stop, np.full(lat.idx.size, SURVEY_RATE))
    kind_r = np.array([0, 2, 3])[_pick(rng, (0.6, 0.2, 0.2), owner_r.size)]
    done = tickets["resolved_at"] != NAT
    sent = done & (rng.random(done.size) < 0.35)
    owner_c = tickets["customer_id"][sent] - lat.idx[0]
    t_c = tickets["resolved_at"][sent] + np.floor(rng.random(owner_c.size) * 2 * DAY)
    ok = t_c < fate.stop[owner_c]
    boost = np.where(tickets["first_contact_resolved"][sent], 0.4, -0.6) - 0.3 * lat.bad_support[owner_c]
    owner = np.concatenate([owner_r, owner_c[ok]])
    t = np.concatenate([t_r, t_c[ok].astype(np.int64)])
    kind = np.concatenate([kind_r, np.ones(int(ok.sum()), np.int64)])
    mood = lat.satisfaction[owner] - 1.2 * fate.decline(owner, t)
    mood += np.concatenate([np.zeros(owner_r.size), boost[ok]])
    center, slope, sd = SURVEY_MODEL[kind].T
    scale = np.array([SCORE_SCALES[s] for s in SURVEYS], dtype=np.float64)[kind]
    score = np.rint(center + slope * mood + sd * rng.standard_normal(owner.size))
    cols = {
        "customer_id": lat.idx[owner], "timestamp": t, "survey": kind,
        "score": np.clip(score, scale[:, 0], scale[:, 1]), "question": kind,
    }
    return _sort(cols, "timestamp")


def _loyalty(lat: _Latent, fate: _Fate, tx: Columns, rng: np.random.Generator) -> Columns:
    n = lat.idx.size
    wants = rng.random(n) < expit(-1.0 - 0.5 * lat.propensity + 0.4 * lat.satisfaction)
    at = lat.signup + np.floor(rng.exponential(45.0 * DAY, n)).astype(np.int64)
    owner = tx["customer_id"] - lat.idx[0]
    earned = (tx["amount"] > 0) & (tx["timestamp"] >= at[owner])
    issued = np.floor(np.bincount(owner, weights=np.where(earned, tx["amount"], 0.0), minlength=n))
    redeemed = np.floor(issued * rng.beta(2.0, 3.0, n))
    rows = wants & (at < fate.stop)
    return {
        "customer_id": lat.idx[rows], "enrolled_at": at[rows],
        "points_issued": issued[rows], "points_redeemed": redeemed[rows],
    }


def _people(lat: _Latent, fate: _Fate) -> dict[str, Columns]:
    """The ``customers`` and ``ground_truth`` rows of a block."""
    customers = {
        "customer_id": lat.idx, "signup_at": lat.signup, "region": lat.region,
        "segment": lat.segment, "acquisition_channel": lat.channel, "referred_by": lat.referrer,
    }
    truth = {
        "customer_id": lat.idx, "churned": fate.churned,
        "churn_at": np.where(fate.churned, fate.stop, NAT),
        "churn_probability": fate.probability, "contractual": lat.contractual,
        "propensity": lat.propensity, "satisfaction": lat.satisfaction,
        "low_nps": SURVEY_MODEL[0, 0] + SURVEY_MODEL[0, 1] * lat.satisfaction < 6.5,
        "bad_support": lat.bad_support, "price_sensitivity": lat.price_sensitivity,
        "engagement_decline": fate.strength,
        "decline_starts_at": np.where(fate.strength > 0, fate.onset, NAT),
    }
    return {"customers": customers, "ground_truth": truth}


def _block(cfg: SyntheticConfig, clock: _Clock, a: float, block: int) -> tuple[dict[str, Columns], Arr]:
    """Every table's columns for one block, and its signups per (month, channel)."""
    lat = _latent(cfg, clock, block)
    rng = _rng(cfg.seed, block, 1)
    fate = _fate(lat, a, clock, rng)
    z_freq = rng.standard_normal(lat.idx.size)
    subs = _subscriptions(lat, fate, clock, rng)
    tx = _transactions(lat, fate, subs, z_freq, rng)
    tickets = _tickets(lat, fate, clock, rng)
    tables = {
        "transactions": tx,
        "events": _events(lat, fate, z_freq, rng),
        "subscriptions": subs,
        "surveys": _surveys(lat, fate, tickets, rng),
        "tickets": tickets,
        "loyalty": _loyalty(lat, fate, tx, rng),
        **_people(lat, fate),
    }
    cell = clock.month_index(lat.signup) * len(CHANNELS) + lat.channel
    return tables, np.bincount(cell, minlength=clock.n_months * len(CHANNELS))


def _marketing(cfg: SyntheticConfig, clock: _Clock, signups: Arr) -> Columns:
    """Spend per calendar month and channel: ``new_customers x CAC x LogNormal(0, 0.15)``."""
    rng = _rng(cfg.seed, 0, 2)
    month = np.repeat(np.arange(clock.n_months), len(CHANNELS))
    channel = np.tile(np.arange(len(CHANNELS)), clock.n_months)
    noise = rng.lognormal(0.0, 0.15, month.size)
    return {
        "period": clock.month_start(month), "spend": np.round(signups * CHANNEL_CAC[channel] * noise, 2),
        "channel": channel, "new_customers": signups,
    }


@dataclass(frozen=True)
class _Ids:
    """The id strings of one chunk's customers (global index ``i`` -> ``C{i + 1}``)."""

    first: int
    width: int
    strings: pa.Array

    @classmethod
    def of(cls, first: int, stop: int, width: int) -> _Ids:
        return cls(first, width, _format_ids(np.arange(first, stop), width))

    def take(self, index: Arr) -> pa.Array:
        return self.strings.take(pa.array(index - self.first))


def _format_ids(index: Arr, width: int) -> pa.Array:
    text = np.strings.add("C", np.strings.zfill((index + 1).astype(str), width))
    return pa.array(text, type=pa.large_string(), mask=index < 0)


def _text(table: str, name: str, cols: Columns, ids: _Ids) -> pa.Array:
    values = cols[name]
    if name == "order_id":
        seq = pc.utf8_lpad(pc.cast(pa.array(values), pa.large_string()), 4, "0")
        dash = pa.scalar("-", pa.large_string())
        return pc.binary_join_element_wise(ids.take(cols["customer_id"]), seq, dash)
    if name == "referred_by":
        return _format_ids(values, ids.width)
    return pa.array(VOCAB[(table, name)], type=pa.large_string()).take(pa.array(values))


def _frame(table: str, cols: Columns, ids: _Ids, clock: _Clock) -> pd.DataFrame:
    """Canonical frame: dtypes follow the kinds of ``schema.TABLE_SPECS``."""
    if table == "ground_truth":
        kinds = list(GROUND_TRUTH_COLUMNS)
    else:
        kinds = [(c.name, c.kind) for c in TABLE_SPECS[table].columns]
    flag = "boolean" if table in TABLE_SPECS else "bool"  # the validator's canonical flags
    numeric = {"float": "float64", "int": "int64", "bool": flag}
    out: dict[str, Any] = {}
    for name, kind in kinds:
        if kind == "id":
            out[name] = pd.array(ids.take(cols[name]), dtype="str")
        elif kind == "str":
            out[name] = pd.array(_text(table, name, cols, ids), dtype="str")
        elif kind in ("time", "date"):
            out[name] = clock.to_datetime(cols[name])
        else:
            out[name] = pd.Series(cols[name], copy=False).astype(numeric[kind])  # type: ignore[call-overload]
    return pd.DataFrame(out, copy=False)


def _merge(parts: list[Columns]) -> Columns:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def count_chunks(customers: int, chunk_customers: int = 200_000) -> int:
    """Number of chunks :func:`generate_chunks` yields.

    A chunk holds ``ceil(chunk_customers / BLOCK_CUSTOMERS)`` whole blocks of
    customers (the last chunk may hold fewer).
    """
    per_chunk = math.ceil(max(chunk_customers, 1) / BLOCK_CUSTOMERS)
    return math.ceil(math.ceil(customers / BLOCK_CUSTOMERS) / per_chunk)


def generate_chunks(
    cfg: SyntheticConfig, *, chunk_customers: int = 200_000
) -> Iterator[dict[str, pd.DataFrame]]:
    """Generate the synthetic tables chunk by chunk of customers.

    Parameters
    ----------
    cfg : SyntheticConfig
        Number of customers, seed, start date, months, churn rate and share of
        contractual customers.
    chunk_customers : int
        Customers per chunk, rounded up to a multiple of
        :data:`BLOCK_CUSTOMERS`. It bounds memory (about 17 transactions and
        50 events per customer at the defaults) and never changes the rows.

    Yields
    ------
    dict of str to DataFrame
        One canonical frame per name in :data:`TABLES`, holding the rows of the
        chunk's customers, sorted by customer then time. ``marketing_spend``
        aggregates all signups, so it is empty in every chunk but the last.

    Raises
    ------
    ConfigError
        When ``chunk_customers < 1`` or the churn rate cannot be reached in
        the simulated period.
    """
    if not isinstance(cfg, SyntheticConfig):
        raise ConfigError(f"generate expects a SyntheticConfig, got {type(cfg).__name__}")
    if chunk_customers < 1:
        raise ConfigError(f"chunk_customers must be >= 1, got {chunk_customers}")
    clock = _Clock.of(cfg)
    n_blocks = -(-cfg.customers // BLOCK_CUSTOMERS)
    a = _intercept(cfg, clock, n_blocks)
    return _chunks(cfg, clock, a, n_blocks, -(-chunk_customers // BLOCK_CUSTOMERS))


def _chunks(
    cfg: SyntheticConfig, clock: _Clock, a: float, n_blocks: int, per_chunk: int
) -> Iterator[dict[str, pd.DataFrame]]:
    width = max(7, len(str(cfg.customers)))
    signups = np.zeros(clock.n_months * len(CHANNELS), np.int64)
    for first in range(0, n_blocks, per_chunk):
        blocks = [_block(cfg, clock, a, b) for b in range(first, min(first + per_chunk, n_blocks))]
        signups += sum(counts for _, counts in blocks)
        tables = {t: _merge([cols.pop(t) for cols, _ in blocks]) for t in list(blocks[0][0])}
        market = _marketing(cfg, clock, signups)
        last = first + per_chunk >= n_blocks
        tables["marketing_spend"] = market if last else {k: v[:0] for k, v in market.items()}
        start = first * BLOCK_CUSTOMERS
        ids = _Ids.of(start, min(start + per_chunk * BLOCK_CUSTOMERS, cfg.customers), width)
        log.debug("synthetic chunk from block %d: %d customers", first, len(ids.strings))
        del blocks
        frames = {t: _frame(t, tables.pop(t), ids, clock) for t in TABLES}
        yield frames
        del frames  # do not hold this chunk while the next one is built


def generate(cfg: SyntheticConfig, *, chunk_customers: int = 200_000) -> dict[str, pd.DataFrame]:
    """Generate every table of the data contract plus the ground truth.

    Parameters
    ----------
    cfg : SyntheticConfig
        What to simulate; the same ``cfg`` always gives identical frames.
    chunk_customers : int
        Working-set size; it does not change the result (see
        :func:`generate_chunks`).

    Returns
    -------
    dict of str to DataFrame
        ``transactions``, ``events``, ``subscriptions``, ``surveys``,
        ``tickets``, ``customers``, ``marketing_spend``, ``loyalty`` as
        canonical frames (dtypes of :data:`churnml.schema.TABLE_SPECS`) and
        ``ground_truth`` with one row per customer: ``churned``, ``churn_at``
        (NaT when the customer stays to the end), ``churn_probability`` (the
        ``p_i`` of the module docstring), ``contractual`` and the latent drivers
        ``propensity``, ``satisfaction``, ``low_nps`` (expected NPS <= 6),
        ``bad_support``, ``price_sensitivity``, ``engagement_decline`` (the
        strength ``s`` of the pre-churn decline or of a temporary dip; 0 = none)
        and ``decline_starts_at``.

    Examples
    --------
    >>> from churnml.config import SyntheticConfig
    >>> data = generate(SyntheticConfig(customers=200, seed=7))
    >>> sorted(data) == sorted(TABLES)
    True
    >>> truth = data["ground_truth"]
    >>> bool((truth["churned"] == truth["churn_at"].notna()).all())
    True
    """
    chunks = list(generate_chunks(cfg, chunk_customers=chunk_customers))
    out = {}
    for table in TABLES:
        frames = [c[table] for c in chunks if len(c[table])] or [chunks[0][table]]
        out[table] = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return out
