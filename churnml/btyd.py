"""Buy-till-you-die baselines: the BG/NBD purchase model and Gamma-Gamma spend.

Written from the published formulas of Fader, Hardie and Lee (2005a),
"Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD Model",
*Marketing Science* 24(2), and (2005b) "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis", *Journal of Marketing Research* 42(4).

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
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, expit, gammaln, hyp2f1, psi
from sklearn.base import BaseEstimator

from churnml.errors import ConfigError, EmptyDataError, ModelError, SchemaError
from churnml.windows import history_mask, in_window_mask, to_timestamp

__all__ = ["BGNBD", "GammaGamma", "bgnbd_log_likelihood", "summary_at"]

log = logging.getLogger(__name__)

_LOG_BOUND = 15.0  # log-parameters live in [-15, 15]: 3e-7 .. 3e6


def summary_at(
    transactions: pd.DataFrame, cutoff: object, unit_days: float = 7.0, start: object | None = None
) -> pd.DataFrame:
    """Per-customer (x, t_x, T, m) at a cutoff, from the history ``time < cutoff``.

    Purchases are counted in *purchase days*: all rows of a customer on one
    calendar day form one purchase whose amount is their sum. Times are
    differences between calendar days, so ``t_x <= T`` always, and T runs to
    the *last day of the history* (``cutoff - 1 day`` for a midnight cutoff).
    This is the convention of Fader, Hardie & Lee (2005a), e.g. T = 38.86
    weeks for a first purchase on 1997-01-01 and cutoff 1997-10-01. A label
    window ``[cutoff, cutoff + H days)`` is then the model's ``(T, T + H / unit_days]``.
    Returns (negative amounts) are netted within their day; a day of returns
    only still counts as a purchase day, so drop returns upstream if needed.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``timestamp``, ``amount``).
    cutoff : date-like
        Moment of the prediction; only rows with ``timestamp < cutoff`` count.
    unit_days : float
        Length of the time unit in days (7 = weeks).
    start : date-like, optional
        When given, rows before ``start`` are ignored too, so a customer's
        first purchase is their first on or after ``start``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, one row per customer with history:

        * ``frequency`` x = distinct purchase days - 1 (repeat purchases), int64;
        * ``recency`` t_x = (last purchase day - first purchase day) / unit;
        * ``T`` = (last day of the history - first purchase day) / unit;
        * ``monetary_value`` = mean amount per repeat purchase day, the first
          day excluded: (total - first-day amount) / x; NaN when x = 0.
    """
    missing = [c for c in ("customer_id", "timestamp", "amount") if c not in transactions.columns]
    if missing:
        raise SchemaError(
            f"missing columns {missing}; found {list(transactions.columns)}. Map them in the config.",
            table="transactions",
        )
    if not unit_days > 0:
        raise ConfigError(f"unit_days must be > 0 (7 = weeks), got {unit_days}")
    c = to_timestamp(cutoff)  # type: ignore[arg-type]
    times = transactions["timestamp"]
    keep = history_mask(times, c) if start is None else in_window_mask(times, start, c)
    hist = transactions.loc[keep, ["customer_id", "amount"]].assign(day=times[keep].dt.floor("D"))
    if hist.empty:
        first = times.min()
        raise EmptyDataError(
            f"table 'transactions': no purchase before cutoff {c} (start={start}); the data "
            f"begins at {first}. Choose a later cutoff."
        )
    days = hist.groupby(["customer_id", "day"], sort=True, as_index=False).agg(amount=("amount", "sum"))
    per = days.groupby("customer_id", sort=True).agg(  # days are sorted: "first" is the first day
        n_days=("day", "size"),
        first=("day", "min"),
        last=("day", "max"),
        total=("amount", "sum"),
        first_amount=("amount", "first"),
    )
    last_day = (c - pd.Timedelta(microseconds=1)).floor("D")  # the day of the last moment of history
    unit_seconds = 86400.0 * unit_days
    x = per["n_days"] - 1
    out = pd.DataFrame(
        {
            "frequency": x.astype("int64"),
            "recency": (per["last"] - per["first"]).dt.total_seconds() / unit_seconds,
            "T": (last_day - per["first"]).dt.total_seconds() / unit_seconds,
            "monetary_value": ((per["total"] - per["first_amount"]) / x.where(x > 0)).astype("float64"),
        },
        index=per.index,
    )
    out.index.name = "customer_id"
    return out


def _rfm(summary: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a summary frame and return x, t_x, T as float arrays."""
    missing = [c for c in ("frequency", "recency", "T") if c not in summary.columns]
    if missing:
        raise SchemaError(f"{what}: summary lacks columns {missing}; build it with summary_at()")
    if len(summary) == 0:
        raise EmptyDataError(f"{what}: the summary has no customers; check the cutoff")
    x, tx, T = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    bad = ~(np.isfinite(x) & np.isfinite(tx) & np.isfinite(T) & (x >= 0) & (tx >= 0) & (tx <= T + 1e-9 * (1 + T)))
    if bad.any():
        rows = list(summary.index[bad][:5])
        raise SchemaError(
            f"{what}: {int(bad.sum())} customers need finite frequency >= 0 and 0 <= recency <= T; "
            f"e.g. {rows}. Rebuild the summary with summary_at()."
        )
    return x, tx, T


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


def _fit_log_params(
    ll_grad: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    weights: np.ndarray,
    x0: np.ndarray,
    penalizer: float,
    what: str,
) -> tuple[np.ndarray, float, bool, int]:
    """Maximise a weighted log-likelihood over log-parameters with L-BFGS-B.

    Objective: ``-sum_i w_i ll_i / sum_i w_i + penalizer * sum_k log(theta_k)^2``.
    """
    n = weights.sum()

    def objective(log_theta: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(log_theta)
        ll, g = ll_grad(theta)
        value = -(weights @ ll) / n + penalizer * float(log_theta @ log_theta)
        gradient = -(g @ weights) / n * theta + 2.0 * penalizer * log_theta
        if not np.isfinite(value):
            return 1e100, np.zeros_like(log_theta)
        return float(value), gradient

    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(x0)
    res = minimize(objective, np.log(x0), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-9})
    # A line search that cannot improve on a flat optimum is still converged: judge by the gradient.
    converged = bool(res.success) or float(np.max(np.abs(res.jac))) < 1e-5
    if not converged:
        log.warning("%s: the optimiser stopped without converging (%s); the estimates may be off", what, res.message)
    if np.any(np.abs(res.x) > _LOG_BOUND - 5):
        log.warning("%s: a parameter went to an extreme (%s): the data barely identify it; "
                    "a small penalizer (e.g. 0.001) keeps it finite", what, np.round(np.exp(res.x), 4).tolist())
    theta = np.exp(res.x)
    return theta, float(weights @ ll_grad(theta)[0]), converged, int(res.nit)


def _check_penalizer(penalizer: float) -> None:
    if not (np.isfinite(penalizer) and penalizer >= 0):
        raise ConfigError(f"penalizer must be a finite number >= 0, got {penalizer}")


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
    return 1.0 - hyp2f1(s, a, a + b, -lead / beta) + quiet * hyp2f1(s, a, a + b, -lead / (beta + h))


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
            self.penalizer, "BGNBD.fit",
        )
        self.params_ = dict(zip(("r", "alpha", "a", "b"), (float(v) for v in theta), strict=True))
        self.log_likelihood_ = ll
        self.n_customers_ = len(x)
        log.info("BGNBD fitted on %d customers: %s", len(x), self.params_)
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

    def expected_purchases(self, t: float, summary: pd.DataFrame) -> pd.Series:
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] (Fader, Hardie & Lee 2005a).

        ``(a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x)
        * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] * P(alive)``, t in units.
        """
        if not t >= 0:
            raise ConfigError(f"t must be >= 0 units, got {t}")
        r, alpha, a, b = self._params()
        a = a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9  # removable singularity of the formula at a = 1
        x, _, T = _rfm(summary, "BGNBD.expected_purchases")
        s, beta = r + x, alpha + T
        ratio = np.exp(s * (np.log(beta) - np.log(beta + t)))
        tail = 1.0 - ratio * hyp2f1(s, b + x, a + b + x - 1.0, t / (beta + t))
        e = (a + b + x - 1.0) / (a - 1.0) * tail * self.p_alive(summary).to_numpy()
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


class GammaGamma(BaseEstimator):
    """Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005b).

    Each purchase amount of a customer is Gamma(p, nu); across customers
    ``nu ~ Gamma(q, v)``. The model assumes spend is independent of the
    purchase process. Mean spend per purchase in the population: ``p v / (q - 1)``.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the log-parameters (see :class:`BGNBD`).

    Attributes
    ----------
    params_ : dict of str to float
        ``p``, ``q``, ``v`` (v in money).
    """

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    @staticmethod
    def _repeaters(summary: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, m and the mask of customers usable by the spend model (x > 0, m > 0)."""
        x, _, _ = _rfm(summary, what)
        if "monetary_value" not in summary.columns:
            raise SchemaError(f"{what}: summary lacks column 'monetary_value'; build it with summary_at()")
        m = summary["monetary_value"].to_numpy(dtype="float64")
        use = (x > 0) & np.isfinite(m) & (m > 0)
        return x, m, use

    def fit(self, summary: pd.DataFrame) -> GammaGamma:
        """Fit on the customers with x > 0 (and positive mean spend); returns self.

        Maximises ``sum_i ln f(m_i | x_i)`` with ``f(m | x) = G(px+q) / (G(px) G(q))
        * v^q m^(px-1) x^(px) / (v + m x)^(px+q)``, the density of the mean
        spend m of x purchases (Fader, Hardie & Lee 2005b).
        """
        _check_penalizer(self.penalizer)
        x, m, use = self._repeaters(summary, "GammaGamma.fit")
        dropped = int(((x > 0) & ~use).sum())
        if dropped:
            log.warning("GammaGamma.fit: %d repeat customers with mean spend <= 0 left out", dropped)
        if use.sum() < 2:
            raise ModelError(
                f"GammaGamma.fit needs customers with a repeat purchase and positive spend; found "
                f"{int(use.sum())} of {len(x)}. Use a later cutoff or a longer history."
            )
        xu, mu = x[use], m[use]
        x0 = np.array([1.0, 2.0, float(np.mean(mu))])
        theta, ll, self.converged_, self.n_iter_ = _fit_log_params(
            lambda th: _gg_ll_grad(th, xu, mu), np.ones_like(xu), x0, self.penalizer, "GammaGamma.fit"
        )
        self.params_ = dict(zip(("p", "q", "v"), (float(v) for v in theta), strict=True))
        self.log_likelihood_ = ll
        self.n_customers_ = int(use.sum())
        return self

    def conditional_expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """E[spend per purchase | x, m] (Fader, Hardie & Lee 2005b), in money.

        ``(q - 1) / (p x + q - 1) * p v / (q - 1) + p x / (p x + q - 1) * m``
        ``= p (v + m x) / (p x + q - 1)``; customers without usable spend
        history get the population mean ``p v / (q - 1)``.
        """
        if not hasattr(self, "params_"):
            raise ModelError("this GammaGamma is not fitted yet; call fit(summary) first")
        p, q, v = self.params_["p"], self.params_["q"], self.params_["v"]
        if q <= 1:
            raise ModelError(f"GammaGamma: q = {q:.3f} <= 1, the population mean spend is infinite")
        x, m, use = self._repeaters(summary, "GammaGamma.conditional_expected_spend")
        mx = np.where(use, m * x, 0.0)
        spend = np.where(use, p * (v + mx) / (p * x + q - 1.0), p * v / (q - 1.0))
        return pd.Series(spend, index=summary.index, name="expected_spend")

    def clv(
        self, bgnbd: BGNBD, summary: pd.DataFrame, horizon_units: float,
        discount_rate_per_unit: float, step: float = 1.0,
    ) -> pd.Series:
        """Discounted expected revenue over the next ``horizon_units`` units.

        ``CLV = E[spend] * sum_k (E[Y(t_k)] - E[Y(t_(k-1))]) / (1 + d)^(t_k)``,
        with ``t_k = min(k * step, H)`` for k = 1 .. ceil(H / step), t_0 = 0,
        E[Y(t)] from :meth:`BGNBD.expected_purchases` and d the discount rate
        per unit (0.01 per week is about 68% a year). Purchases within a step
        are discounted as if made at its end.
        """
        if not (horizon_units > 0 and step > 0 and discount_rate_per_unit > -1):
            raise ConfigError(
                f"clv needs horizon_units > 0, step > 0 and discount_rate_per_unit > -1; got "
                f"{horizon_units}, {step}, {discount_rate_per_unit}"
            )
        n_steps = int(np.ceil(horizon_units / step - 1e-12))
        ends = np.minimum(np.arange(1, n_steps + 1) * step, horizon_units)
        total = np.zeros(len(summary))
        previous = np.zeros(len(summary))
        for t in ends:
            current = bgnbd.expected_purchases(float(t), summary).to_numpy()
            total += (current - previous) / (1.0 + discount_rate_per_unit) ** t
            previous = current
        value = self.conditional_expected_spend(summary).to_numpy() * total
        return pd.Series(value, index=summary.index, name="clv")


def _gg_ll_grad(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend and its gradient in (p, q, v)."""
    p, q, v = params
    px = p * x
    log_vmx = np.log(v + m * x)
    ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1.0) * np.log(m)
          + px * np.log(x) - (px + q) * log_vmx)
    d_p = x * (psi(px + q) - psi(px) + np.log(m) + np.log(x) - log_vmx)
    d_q = psi(px + q) - psi(q) + np.log(v) - log_vmx
    d_v = q / v - (px + q) / (v + m * x)
    return ll, np.vstack([d_p, d_q, d_v])
