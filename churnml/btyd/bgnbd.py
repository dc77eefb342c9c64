"""The BG/NBD purchase model (Fader, Hardie & Lee 2005a) and its likelihood.

The BG/NBD story, per customer: while alive, purchases arrive as a Poisson
process with rate ``lambda ~ Gamma(r, alpha)``; right after each *repeat*
purchase the customer drops out for good with probability ``p ~ Beta(a, b)``.
Nobody drops out at the first purchase or between purchases, so a customer
with no repeat purchase is alive for sure (P(alive) = 1; that is why P(alive)
ranks churn backwards and :meth:`BGNBD.p_no_purchase` is the churn score).

All times are in *units* of ``unit_days`` days (weeks by default) from the
customer's first purchase day.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.special import betaln, expit, gammaln, hyp2f1, psi
from sklearn.base import BaseEstimator

from churnml.btyd.fitting import _check_penalizer, _fit_log_params
from churnml.btyd.summary import _rfm
from churnml.errors import ConfigError, ModelError

__all__ = ["BGNBD", "bgnbd_log_likelihood"]

log = logging.getLogger(__name__)


def bgnbd_log_likelihood(r: float, alpha: float, a: float, b: float, summary: pd.DataFrame) -> pd.Series:
    """Log-likelihood of each customer under the BG/NBD (Fader, Hardie & Lee 2005a).

    ``L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
    + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))``,
    with G the gamma function and B the beta function.
    """
    x, tx, T = _rfm(summary, "bgnbd_log_likelihood")
    ll, _ = _bgnbd_ll_grad(np.array([r, alpha, a, b]), x, tx, T, grad=False)
    return pd.Series(ll, index=summary.index, name="log_likelihood")


def _bgnbd_ll_grad(
    params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray, grad: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its gradient in (r, alpha, a, b), shape (4, n)."""
    r, alpha, a, b = params
    rep = x > 0
    xm1 = np.where(rep, x - 1.0, 0.0)  # b + x - 1 only evaluated for repeat buyers
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    a3 = np.where(rep, betaln(a + 1.0, b + xm1) - betaln(a, b) - (r + x) * np.log(alpha + tx), -np.inf)
    top = np.logaddexp(a2, a3)
    ll = a1 + top
    if not grad:
        return ll, np.empty(0)
    w = np.exp(a2 - top)  # share of the "still alive" term; 1 when x = 0
    w3 = 1.0 - w
    d_r = psi(r + x) - psi(r) + np.log(alpha) - w * np.log(alpha + T) - w3 * np.log(alpha + tx)
    d_alpha = r / alpha - (r + x) * (w / (alpha + T) + w3 / (alpha + tx))
    common = psi(a + b) - psi(a + b + x)
    d_a = common - psi(a) + w * psi(a) + w3 * psi(a + 1.0)
    d_b = common - psi(b) + w * psi(b + x) + w3 * np.where(rep, psi(b + xm1), 0.0)
    return ll, np.vstack([d_r, d_alpha, d_a, d_b])


#: Most terms :func:`_hyp2f1_series` adds before it gives up (NaN).
_SERIES_TERMS = 20_000


def _hyp2f1(a: float | np.ndarray, b: float | np.ndarray, c: float | np.ndarray, z: float | np.ndarray) -> np.ndarray:
    """Gauss' 2F1 for |z| < 1: scipy's, and where that is not finite, the series summed term by term.

    scipy's ``hyp2f1`` returns NaN for parameters in the millions (BG/NBD's r and alpha when a fit runs to an
    extreme), although the series converges quickly there (|z| is tiny); its terms are summed then. Every
    2F1 of the model goes through here (the expected purchases and, with a lead time, P(no purchase)).
    """
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype="float64") for v in (a, b, c, z)))
    out = np.asarray(hyp2f1(a, b, c, z), dtype="float64").copy()
    bad = ~np.isfinite(out)
    if bad.any():
        out[bad] = _hyp2f1_series(a[bad], b[bad], c[bad], z[bad])
    return out


def _hyp2f1_series(a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``sum_n (a)_n (b)_n / ((c)_n n!) z^n``, until every term is below 1e-17 of its sum (NaN if it is not
    within :data:`_SERIES_TERMS` terms)."""
    total = np.ones_like(z)
    term = np.ones_like(z)
    done = np.zeros(z.shape, dtype=bool)
    for n in range(_SERIES_TERMS):
        term = term * (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z
        total = np.where(done, total, total + term)
        done |= np.abs(term) <= 1e-17 * np.abs(total)
        if done.all():
            return total
    return np.where(done, total, np.nan)


def _p_silent(
    s: np.ndarray, beta: np.ndarray, a: float | np.ndarray, b: float | np.ndarray,
    lead: float | np.ndarray, h: float,
) -> np.ndarray:
    """P(no purchase in (L, L+h]) for a customer alive at 0 with lambda ~ Gamma(s, beta), p ~ Beta(a, b).

    ``= 1 - E[exp(-lambda p L)] + E[exp(-lambda (p L + h))]``
    ``= 1 - 2F1(s, a; a+b; -L/beta) + (beta/(beta+h))^s 2F1(s, a; a+b; -L/(beta+h))``
    (alive at L with probability exp(-lambda p L); E over p via Euler's integral).
    """
    quiet = np.exp(s * (np.log(beta) - np.log(beta + h)))
    if np.all(np.asarray(lead) == 0):
        return quiet
    return 1.0 - _hyp2f1(s, a, a + b, -lead / beta) + quiet * _hyp2f1(s, a, a + b, -lead / (beta + h))


_EXTREME = (
    "the data barely identify it (little repeat buying in the history, e.g. at an early cutoff, or purchases as "
    "regular as subscription invoices, which BG/NBD's drop-outs do not describe); a longer history identifies the "
    "first; for invoices leave 'btyd' out of features.families (and use scoring.clv_method: mrr); in the Python API "
    "a small penalizer keeps it finite (e.g. BGNBD(penalizer=0.001)); the btyd features and the predicted CLV fit "
    "without one"
)


class BGNBD(BaseEstimator):
    """The BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005a).

    Parameters
    ----------
    penalizer : float
        L2 penalty on the log-parameters, added to the mean negative
        log-likelihood: ``penalizer * sum(log(theta)^2)``, theta = (r, alpha, a, b).

    Attributes
    ----------
    params_ : dict of str to float
        ``r``, ``alpha`` (Gamma purchase rate, alpha in units), ``a``, ``b``
        (Beta drop-out probability).
    log_likelihood_ : float
        Total log-likelihood at ``params_`` (without the penalty).
    converged_ : bool
    n_iter_ : int
    """

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(self, summary: pd.DataFrame) -> BGNBD:
        """Fit by maximum likelihood on a :func:`summary_at` frame; returns self.

        Identical (x, t_x, T) rows are pooled with weights, so the cost grows
        with the number of distinct histories, not of customers.
        """
        _check_penalizer(self.penalizer)
        x, tx, T = _rfm(summary, "BGNBD.fit")
        if not (x > 0).any():
            raise ModelError(
                f"BGNBD.fit: none of the {len(x)} customers has a repeat purchase (frequency is 0 "
                "everywhere), so the drop-out process cannot be estimated; use a later cutoff "
                "or a longer history."
            )
        pooled = pd.DataFrame({"x": x, "tx": tx, "T": T}).groupby(["x", "tx", "T"], sort=False).size()
        ux, utx, uT = (pooled.index.get_level_values(i).to_numpy(dtype="float64") for i in range(3))
        x0 = np.array([1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0])
        theta, ll, self.converged_, self.n_iter_ = _fit_log_params(
            lambda th: _bgnbd_ll_grad(th, ux, utx, uT), pooled.to_numpy(dtype="float64"), x0,
            self.penalizer, "BGNBD.fit", ("r", "alpha", "a", "b"), _EXTREME,
        )
        self.params_ = dict(zip(("r", "alpha", "a", "b"), (float(v) for v in theta), strict=True))
        self.log_likelihood_ = ll
        self.n_customers_ = len(x)
        log.debug("BGNBD fitted on %d customers: %s", len(x), self.params_)
        return self

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise ModelError("this BGNBD is not fitted yet; call fit(summary) first")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def score(self, summary: pd.DataFrame) -> float:
        """Mean log-likelihood per customer (higher is better)."""
        return float(bgnbd_log_likelihood(*self._params(), summary).mean())

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(alive at T | x, t_x, T) (Fader, Hardie & Lee 2005a).

        A customer is dead only if they dropped out right after the last
        repeat purchase; one-time buyers are alive for sure.

        ``1 / (1 + [x > 0] a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x))``.
        """
        r, alpha, a, b = self._params()
        x, tx, T = _rfm(summary, "BGNBD.p_alive")
        rep = x > 0
        log_odds_dead = (np.log(a) - np.log(np.where(rep, b + x - 1.0, 1.0))
                         + (r + x) * (np.log(alpha + T) - np.log(alpha + tx)))
        p = np.where(rep, expit(-log_odds_dead), 1.0)
        return pd.Series(p, index=summary.index, name="p_alive")

    def expected_purchases(self, t: float, summary: pd.DataFrame, given_alive: bool = False) -> pd.Series:
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] (Fader, Hardie & Lee 2005a).

        ``(a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x)
        * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] * P(alive)``, t in units.
        With ``given_alive`` the factor ``P(alive)`` is left out: the expected
        purchases of a customer still active at T (lambda ~ Gamma(r+x, alpha+T),
        p ~ Beta(a, b+x)), who may still drop out after T.
        """
        if not t >= 0:
            raise ConfigError(f"t must be >= 0 units, got {t}")
        r, alpha, a, b = self._params()
        a = a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9  # removable singularity of the formula at a = 1
        x, _, T = _rfm(summary, "BGNBD.expected_purchases")
        s, beta = r + x, alpha + T
        ratio = np.exp(s * (np.log(beta) - np.log(beta + t)))
        tail = 1.0 - ratio * _hyp2f1(s, b + x, a + b + x - 1.0, t / (beta + t))
        e = (a + b + x - 1.0) / (a - 1.0) * tail
        if not given_alive:
            e = e * self.p_alive(summary).to_numpy()
        return pd.Series(e, index=summary.index, name="expected_purchases")

    def p_no_purchase(self, horizon: float, summary: pd.DataFrame, lead: float = 0.0) -> pd.Series:
        """P(no purchase in (T + lead, T + lead + horizon] | x, t_x, T): the churn score.

        ``(1 - P(alive)) + P(alive) * S``. An alive customer has the posterior
        lambda ~ Gamma(r + x, alpha + T) and p ~ Beta(a, b + x), independent.
        A drop-out can only happen right after a purchase, so with no lead time
        ``S = ((alpha + T) / (alpha + T + horizon))^(r + x)`` exactly. With a
        lead time L the customer may buy (and drop out) during the lead:
        ``S = 1 - 2F1(r+x, a; a+b+x; -L/(alpha+T))
        + ((alpha+T)/(alpha+T+h))^(r+x) 2F1(r+x, a; a+b+x; -L/(alpha+T+h))``.
        ``horizon`` and ``lead`` are in units.
        """
        if not (horizon > 0 and lead >= 0):
            raise ConfigError(f"horizon must be > 0 and lead >= 0 units, got {horizon} and {lead}")
        r, alpha, a, b = self._params()
        x, _, T = _rfm(summary, "BGNBD.p_no_purchase")
        alive = self.p_alive(summary).to_numpy()
        silent = _p_silent(r + x, alpha + T, a, b + x, lead, horizon)
        p = np.clip((1.0 - alive) + alive * silent, 0.0, 1.0)
        return pd.Series(p, index=summary.index, name="p_no_purchase")

    def population_p_no_purchase(self, horizon: float, summary: pd.DataFrame, lead: float = 0.0) -> float:
        """Mean of :meth:`p_no_purchase` over the customers: the expected churn rate given their histories."""
        return float(self.p_no_purchase(horizon, summary, lead).mean())

    def expected_base_rate(self, horizon: float, summary: pd.DataFrame, lead: float = 0.0) -> float:
        """Expected churn rate from each customer's age T only (the prior predictive).

        For a customer first seen T units ago, before looking at the history:
        ``P(no purchase in (T+L, T+L+h]) = 1 - 2F1(r, a; a+b; -(T+L)/alpha)
        + (alpha/(alpha+h))^r 2F1(r, a; a+b; -(T+L)/(alpha+h))``, averaged over
        customers. If the model fits, it is close to :meth:`population_p_no_purchase`
        and to the observed rate: a goodness-of-fit check.
        """
        if not (horizon > 0 and lead >= 0):
            raise ConfigError(f"horizon must be > 0 and lead >= 0 units, got {horizon} and {lead}")
        r, alpha, a, b = self._params()
        _, _, T = _rfm(summary, "BGNBD.expected_base_rate")
        silent = _p_silent(np.full_like(T, r), np.full_like(T, alpha), a, b, T + lead, horizon)
        return float(np.clip(silent, 0.0, 1.0).mean())
