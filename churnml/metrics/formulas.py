"""One pure function per retention metric of METRICS.md.

Every function takes counts, amounts or raw answers and returns a Python
``float``. Rates are in percent (0-100); money is in the unit of the input.
A zero denominator raises :class:`~churnml.errors.EmptyDataError` (the metric
is undefined, not 0); a negative count, a numerator larger than its
denominator or an answer outside its scale raises :class:`ValueError`.

Notation (a period ``[start, end)``): ``S`` customers at the start, ``N`` new
customers acquired in the period, ``L`` customers lost in the period and
``E = S - L + N`` customers at the end.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from churnml.errors import EmptyDataError
from churnml.schema import SCORE_SCALES

__all__ = [
    "aov",
    "arpa",
    "cac",
    "ces",
    "churn_from_retention",
    "churn_rate",
    "cli",
    "csat",
    "csat_from_scores",
    "customer_value",
    "expansion_mrr",
    "fcr",
    "historical_clv",
    "loyalty_active_participation",
    "loyalty_participation_rate",
    "loyalty_redemption_rate",
    "margin_clv",
    "mrr",
    "nps",
    "nps_from_scores",
    "purchase_frequency",
    "referral_rate",
    "repeat_purchase_rate",
    "retention_rate",
]

Scores = Sequence[float] | npt.ArrayLike


def _count(value: float, name: str, metric: str) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{metric}: {name} must be a finite number >= 0, got {value!r}")
    return v


def _share(part: float, whole: float, metric: str, part_name: str, whole_name: str) -> float:
    """``part / whole * 100`` with ``0 <= part <= whole`` and ``whole > 0``."""
    p, w = _count(part, part_name, metric), _count(whole, whole_name, metric)
    if w == 0:
        raise EmptyDataError(
            f"{metric}: {whole_name} is 0, so the rate is undefined (not 0); "
            f"compute it only over periods or groups where {whole_name} > 0"
        )
    if p > w:
        raise ValueError(f"{metric}: {part_name} ({part:g}) cannot exceed {whole_name} ({whole:g})")
    return p / w * 100.0


def _ratio(num: float, den: float, metric: str, num_name: str, den_name: str) -> float:
    """``num / den`` with ``num >= 0`` and ``den > 0`` (no upper bound)."""
    n, d = _count(num, num_name, metric), _count(den, den_name, metric)
    if d == 0:
        raise EmptyDataError(f"{metric}: {den_name} is 0, so {metric} is undefined (not 0)")
    return n / d


def _answers(scores: Scores, survey: str, metric: str) -> npt.NDArray[np.float64]:
    """Answers as a float array, checked against the scale of ``survey``."""
    arr = np.asarray(scores, dtype=np.float64).ravel()
    if arr.size == 0:
        raise EmptyDataError(f"{metric}: no answers given; the score is undefined for zero answers")
    lo, hi = SCORE_SCALES[survey]
    bad = arr[~((arr >= lo) & (arr <= hi))]  # also catches NaN
    if bad.size:
        raise ValueError(
            f"{metric}: {bad.size} answer(s) outside the {survey} scale {lo:g}-{hi:g} "
            f"(examples: {bad[:5].tolist()}); fix or drop them before computing {metric}"
        )
    return arr


def churn_rate(lost: float, start: float) -> float:
    """Churn rate in percent: ``L / S * 100``.

    Examples
    --------
    >>> churn_rate(50, 1000)
    5.0
    """
    return _share(lost, start, "churn_rate", "lost customers", "customers at the start")


def retention_rate(end: float, new: float, start: float) -> float:
    """Customer retention rate (CRR) in percent: ``(E - N) / S * 100``.

    Customers acquired in the period (``N``) are not counted: CRR measures how
    many of those present at the start are still there at the end.

    Examples
    --------
    >>> round(retention_rate(end=90, new=30, start=70), 3)
    85.714
    """
    e, n = _count(end, "end", "retention_rate"), _count(new, "new", "retention_rate")
    if n > e:
        raise ValueError(f"retention_rate: new customers ({new:g}) exceed customers at the end ({end:g})")
    return _share(e - n, start, "retention_rate", "retained customers (E - N)", "customers at the start")


def churn_from_retention(retention: float) -> float:
    """Churn rate implied by a retention rate when no one is acquired: ``100 - CRR``."""
    r = float(retention)
    if not 0.0 <= r <= 100.0:
        raise ValueError(f"churn_from_retention: retention must be in 0-100 percent, got {retention!r}")
    return 100.0 - r


def repeat_purchase_rate(repeat_customers: float, customers: float) -> float:
    """Repeat purchase rate in percent: customers with >= 2 purchases / purchasing customers * 100.

    The "returning / one-time" ratio is not used: it is not a rate.
    """
    return _share(repeat_customers, customers, "repeat_purchase_rate", "repeat customers", "customers")


def aov(revenue: float, orders: float) -> float:
    """Average order value (AOV, also APV): ``revenue / orders`` (money per order)."""
    if not np.isfinite(float(revenue)):
        raise ValueError(f"aov: revenue must be finite, got {revenue!r}")
    d = _count(orders, "orders", "aov")
    if d == 0:
        raise EmptyDataError("aov: orders is 0, so the average order value is undefined (not 0)")
    return float(revenue) / d


def purchase_frequency(orders: float, customers: float) -> float:
    """Average purchase frequency (APF): ``orders / unique customers`` (orders per customer)."""
    return _ratio(orders, customers, "purchase_frequency", "orders", "customers")


def customer_value(aov_value: float, frequency: float) -> float:
    """Customer value: ``AOV * APF`` (money per customer over the same period as APF)."""
    return float(aov_value) * _count(frequency, "frequency", "customer_value")


def historical_clv(annual_value: float, lifespan_years: float) -> float:
    """Historical customer lifetime value: ``annual customer value * lifespan``.

    ``annual_value`` is :func:`customer_value` with APF counted per year
    (money per customer per year); ``lifespan_years`` is the average customer
    lifespan in years.

    Examples
    --------
    >>> historical_clv(customer_value(50, 4), 5)
    1000.0
    """
    return float(annual_value) * _count(lifespan_years, "lifespan_years", "historical_clv")


def margin_clv(revenue: float, acquisition_cost: float, serving_cost: float = 0.0) -> float:
    """Margin CLV: customer revenue minus the cost to acquire and to serve (money)."""
    a = _count(acquisition_cost, "acquisition_cost", "margin_clv")
    s = _count(serving_cost, "serving_cost", "margin_clv")
    return float(revenue) - a - s


def nps(promoters: float, passives: float, detractors: float) -> float:
    """Net promoter score: ``% promoters - % detractors`` of all answers (-100..100).

    Examples
    --------
    >>> nps(90, 70, 40)
    25.0
    """
    p = _count(promoters, "promoters", "nps")
    q = _count(passives, "passives", "nps")
    d = _count(detractors, "detractors", "nps")
    total = p + q + d
    if total == 0:
        raise EmptyDataError("nps: no answers (promoters + passives + detractors = 0); NPS is undefined (not 0)")
    return (p - d) / total * 100.0


def nps_from_scores(scores: Scores) -> float:
    """NPS from 0-10 answers: promoters answer 9-10, detractors 0-6."""
    arr = _answers(scores, "nps", "nps")
    return nps(float((arr >= 9).sum()), float(((arr > 6) & (arr < 9)).sum()), float((arr <= 6).sum()))


def csat(satisfied: float, total: float) -> float:
    """Customer satisfaction score in percent: satisfied answers / all answers * 100."""
    return _share(satisfied, total, "csat", "satisfied answers", "answers")


def csat_from_scores(scores: Scores, satisfied_min: float = 4) -> float:
    """CSAT from 1-5 answers; an answer ``>= satisfied_min`` is satisfied (default: 4-5)."""
    lo, hi = SCORE_SCALES["csat"]
    if not lo < float(satisfied_min) <= hi:
        raise ValueError(f"csat_from_scores: satisfied_min must be in ({lo:g}, {hi:g}], got {satisfied_min!r}")
    arr = _answers(scores, "csat", "csat")
    return csat(float((arr >= satisfied_min).sum()), float(arr.size))


def ces(scores: Scores) -> float:
    """Customer effort score: the mean of 1-7 answers ("the company made it easy ...")."""
    return float(_answers(scores, "ces", "ces").mean())


def cli(*question_scores: Scores) -> float:
    """Customer loyalty index: the mean of the mean answers (1-6) of each question.

    Pass one sequence of answers per question, usually three: would recommend,
    would buy again, would try other products. Each question weighs the same.
    """
    if not question_scores:
        raise EmptyDataError("cli: no questions given; pass one sequence of 1-6 answers per question")
    return float(np.mean([_answers(s, "cli", "cli").mean() for s in question_scores]))


def mrr(recurring_revenue: Scores) -> float:
    """Monthly recurring revenue: the sum of the MRR of the active subscriptions (money/month)."""
    arr = np.asarray(recurring_revenue, dtype=np.float64).ravel()
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError("mrr: every subscription's MRR must be a finite number >= 0")
    return float(arr.sum())


def arpa(mrr_total: float, accounts: float) -> float:
    """Average revenue per account: ``MRR / active accounts`` (money/month per account)."""
    return _ratio(mrr_total, accounts, "arpa", "MRR", "active accounts")


def expansion_mrr(mrr_start: Scores, mrr_end: Scores) -> float:
    """Expansion MRR: recurring revenue added by accounts that were already paying.

    ``sum(max(end_i - start_i, 0))`` over accounts with ``start_i > 0``, where
    ``start_i`` and ``end_i`` are the MRR of account ``i`` at the start and at
    the end of the period (aligned arrays). New accounts are not expansion.
    """
    s = np.asarray(mrr_start, dtype=np.float64).ravel()
    e = np.asarray(mrr_end, dtype=np.float64).ravel()
    if s.shape != e.shape:
        raise ValueError(f"expansion_mrr: mrr_start has {s.size} accounts but mrr_end has {e.size}")
    if not (np.isfinite(s).all() and np.isfinite(e).all()) or (s < 0).any() or (e < 0).any():
        raise ValueError("expansion_mrr: MRR values must be finite numbers >= 0")
    return float(np.clip(e - s, 0.0, None)[s > 0].sum())


def cac(spend: float, new_customers: float) -> float:
    """Customer acquisition cost: acquisition spend / new customers (money per customer)."""
    return _ratio(spend, new_customers, "cac", "spend", "new customers")


def loyalty_participation_rate(enrolled: float, customers: float) -> float:
    """Loyalty participation rate in percent: enrolled customers / all customers * 100."""
    return _share(enrolled, customers, "loyalty_participation_rate", "enrolled customers", "customers")


def loyalty_redemption_rate(redeemed: float, issued: float) -> float:
    """Loyalty redemption rate in percent: rewards redeemed / rewards issued * 100.

    Not capped at 100: rewards issued before the measured span may be redeemed in it.
    """
    return _ratio(redeemed, issued, "loyalty_redemption_rate", "rewards redeemed", "rewards issued") * 100.0


def loyalty_active_participation(active_enrolled: float, enrolled: float) -> float:
    """Loyalty active participation in percent: enrolled customers active in the period / enrolled * 100."""
    return _share(
        active_enrolled, enrolled, "loyalty_active_participation", "active enrolled customers", "enrolled customers"
    )


def fcr(resolved_first_contact: float, tickets: float) -> float:
    """First contact resolution in percent: tickets resolved in the first contact / all tickets * 100."""
    return _share(resolved_first_contact, tickets, "fcr", "tickets resolved at first contact", "tickets")


def referral_rate(referred_new: float, new_customers: float) -> float:
    """Referral rate in percent: new customers acquired through a referral / all new customers * 100."""
    return _share(referred_new, new_customers, "referral_rate", "referred new customers", "new customers")
