"""Moving churn probabilities from the training horizon to the asked one.

When the asked horizon ``H`` cannot mature in training (CDNOW's 39 weeks),
models learn a shorter horizon ``h`` and their probabilities of *no purchase*
are moved to ``H`` with one exponent per model, :func:`horizon_power`, fitted
so that the mean on the scored population equals a base rate for ``H`` that
comes from elsewhere (BG/NBD, see :mod:`churnml.training`).
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.optimize import brentq

from churnml.errors import ModelError

__all__ = ["horizon_power", "to_horizon"]

EPS = 1e-6
#: Exponents beyond this (or below its inverse) are logged as implausible: compounding a
#: 4-week window to a year is a power of 13.
MAX_PLAUSIBLE_POWER = 20.0

log = logging.getLogger(__name__)


def horizon_power(p: np.ndarray, target: float) -> float:
    """Exponent ``g`` with ``mean(p ** g) == target``: moves churn probabilities to another horizon.

    ``p`` are probabilities of *no purchase* in a training horizon ``h``;
    ``p ** g`` are the probabilities for the asked horizon ``H``. This is a
    constant shift on the log cumulative-hazard scale,
    ``log(-log p_H) = log g + log(-log p_h)``: staying silent for ``H`` is
    staying silent for ``h``, ``g`` times over, the exact relation for a
    customer who buys at a constant rate (then ``g = H / h``).
    ``g`` is fitted so that the mean matches the asked horizon's base rate,
    which comes from elsewhere (e.g. BG/NBD). The ranking is unchanged;
    customers near certain churn (``p`` near 1) move least.
    """
    if not 0.0 < target < 1.0:
        raise ModelError(f"target base rate must be in (0, 1), got {target}")
    q = np.clip(np.asarray(p, dtype="float64"), EPS, 1 - EPS)
    if q.size == 0:
        raise ModelError("no probabilities to move to the asked horizon")

    def gap(log_g: float) -> float:
        return float((q ** np.exp(log_g)).mean()) - target

    lo, hi = -12.0, 12.0
    if gap(lo) < 0 or gap(hi) > 0:
        certain = float((q >= 1 - EPS).mean())
        raise ModelError(
            f"no exponent moves these probabilities (mean {q.mean():.4f}; {certain:.1%} at certain churn, which "
            f"cannot move) to the base rate {target:.4f}; the training-horizon model is more certain than the "
            "asked horizon's base rate allows: check time.train_horizon_days against time.horizon_days"
        )
    g = float(np.exp(brentq(gap, lo, hi, xtol=1e-12)))
    if not 1 / MAX_PLAUSIBLE_POWER <= g <= MAX_PLAUSIBLE_POWER:
        log.warning("moving probabilities to the asked horizon needed an exponent of %.3g (mean %.4f -> %.4f); "
                    "the result is dominated by the customers that cannot move (p near 0 or 1)",
                    g, q.mean(), target)
    return g


def to_horizon(p: np.ndarray, power: float) -> np.ndarray:
    """``p ** power`` on probabilities clipped to ``[EPS, 1 - EPS]`` (``power == 1``: unchanged)."""
    p = np.asarray(p, dtype="float64")
    if power == 1.0:
        return p
    return np.clip(p, EPS, 1 - EPS) ** power
