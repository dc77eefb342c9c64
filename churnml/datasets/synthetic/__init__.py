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
   customer over 24 months at the defaults. About 2 % of the purchases are
   returned: a row with the negative amount 1-30 days later (likelier for
   price-sensitive customers; none after the customer's activity stops), so
   every return follows its purchase. Events (login,
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

import numpy as np
import pandas as pd

from churnml.config import SyntheticConfig
from churnml.datasets.synthetic.activity import _block, _marketing
from churnml.datasets.synthetic.clock import _Clock
from churnml.datasets.synthetic.frames import _frame, _Ids, _merge
from churnml.datasets.synthetic.latent import _intercept
from churnml.datasets.synthetic.params import (
    BLOCK_CUSTOMERS,
    CHANNELS,
    GROUND_TRUTH_COLUMNS,
    TABLES,
)
from churnml.errors import ConfigError

__all__ = [
    "BLOCK_CUSTOMERS",
    "GROUND_TRUTH_COLUMNS",
    "TABLES",
    "count_chunks",
    "generate",
    "generate_chunks",
]

log = logging.getLogger(__name__)


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
