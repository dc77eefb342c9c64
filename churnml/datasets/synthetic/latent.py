"""Who the customers of a block are and their fate.

Latent drivers and churn risk (steps 1-2 of :mod:`churnml.datasets.synthetic`),
the intercept that hits ``cfg.churn_rate``, and whether, when and how visibly
each customer churns (steps 3-4).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

from churnml.config import SyntheticConfig
from churnml.datasets.synthetic.clock import _Clock, _pick, _rng
from churnml.datasets.synthetic.params import (
    BLOCK_CUSTOMERS,
    CHANNEL_LOGIT,
    CHANNEL_P,
    CHANNELS,
    DAY,
    MIN_TENURE_DAYS,
    MONTH_DAYS,
    PLAN_PRICE,
    REGION_P,
    SEGMENT_LOGIT,
    SEGMENT_P,
    SIGNUP_GROWTH,
    TENURE_SCALE_DAYS,
    Arr,
)
from churnml.errors import ConfigError

__all__: list[str] = []  # internals of churnml.datasets.synthetic

log = logging.getLogger(__name__)


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
