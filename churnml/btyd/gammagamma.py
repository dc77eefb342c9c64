"""The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005b) and CLV."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.special import gammaln, psi
from sklearn.base import BaseEstimator

from churnml.btyd.bgnbd import BGNBD
from churnml.btyd.fitting import _check_penalizer, _fit_log_params
from churnml.btyd.summary import _rfm
from churnml.errors import ConfigError, ModelError, SchemaError

__all__ = ["GammaGamma"]

log = logging.getLogger(__name__)


_EXTREME = (
    "spend per purchase barely varies (p: from one purchase of a customer to the next; q and v: between the "
    "customers' means), so the model's spread is not identified; that is harmless: the expected spend per "
    "purchase is then about each customer's own mean (the population's for customers without a repeat purchase), "
    "and the predicted CLV stays usable; in the Python API a small penalizer keeps the parameters finite "
    "(e.g. GammaGamma(penalizer=0.001))"
)


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
            lambda th: _gg_ll_grad(th, xu, mu), np.ones_like(xu), x0, self.penalizer, "GammaGamma.fit",
            ("p", "q", "v"), _EXTREME,
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
        discount_rate_per_unit: float, step: float = 1.0, given_alive: bool = False,
    ) -> pd.Series:
        """Discounted expected revenue over the next ``horizon_units`` units.

        ``CLV = E[spend] * sum_k (E[Y(t_k)] - E[Y(t_(k-1))]) / (1 + d)^(t_k)``,
        with ``t_k = min(k * step, H)`` for k = 1 .. ceil(H / step), t_0 = 0,
        E[Y(t)] from :meth:`BGNBD.expected_purchases` and d the discount rate
        per unit (0.01 per week is about 68% a year). Purchases within a step
        are discounted as if made at its end. With ``given_alive``, the CLV of a
        customer still active at T (:meth:`BGNBD.expected_purchases`): the CLV
        divided by P(alive), computed without the division.
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
            current = bgnbd.expected_purchases(float(t), summary, given_alive).to_numpy()
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
