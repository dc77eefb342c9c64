"""The rows of one block of customers (step 5 of :mod:`churnml.datasets.synthetic`).

Transactions, events, subscriptions, surveys, tickets, loyalty, customers and
the ground truth as integer-coded columns, plus marketing spend per month and
channel.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from churnml.config import SyntheticConfig
from churnml.datasets.synthetic.clock import _Clock, _pick, _rank_in_group, _rng
from churnml.datasets.synthetic.latent import _Fate, _fate, _Latent, _latent
from churnml.datasets.synthetic.params import (
    CATEGORIES,
    CHANNEL_CAC,
    CHANNELS,
    DAY,
    EVENT_P,
    EVENT_RATE,
    EVENT_TYPES,
    NAT,
    PLAN_PRICE,
    PLANS,
    SEGMENT_SPEND,
    SURVEY_MODEL,
    SURVEY_RATE,
    SURVEYS,
    TICKET_P,
    TICKET_RATE,
    TX_CHANNELS,
    TX_RATE,
    Arr,
    Columns,
)
from churnml.schema import SCORE_SCALES

__all__: list[str] = []  # internals of churnml.datasets.synthetic


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
    product = cat * 20 + rng.integers(0, 20, m)
    # A return is its own row 1-30 days after the purchase it refunds (same product, minus the
    # amount), dropped when that falls after the customer's activity stops.
    back = t + (1 + np.floor(rng.random(m) * 30).astype(np.int64)) * DAY
    ret = (rng.random(m) < (0.007 + 0.04 * lat.price_sensitivity)[owner]) & (back < fate.stop[owner])
    charged = subs["customer_id"] - lat.idx[0]
    c = charged.size
    cols = {
        "customer_id": lat.idx[np.concatenate([owner, owner[ret], charged])],
        "timestamp": np.concatenate([t, back[ret], subs["start"]]),
        "amount": np.concatenate([amount, -amount[ret], subs["mrr"]]),
        "order_id": np.zeros(m + int(ret.sum()) + c, np.int64),
        "quantity": np.concatenate([quantity, quantity[ret], np.ones(c)]),
        "product": np.concatenate([product, product[ret], 100 + subs["plan"]]),
        "category": np.concatenate([cat, cat[ret], np.full(c, CATEGORIES.index("subscription"))]),
        "channel": np.concatenate([chan, chan[ret], np.full(c, TX_CHANNELS.index("subscription"))]),
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
