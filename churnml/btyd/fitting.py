"""Maximum-likelihood fitting shared by the BTYD models: penalised L-BFGS-B over log-parameters."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize

from churnml.errors import ConfigError

__all__: list[str] = []  # private helpers of churnml.btyd

log = logging.getLogger(__name__)

_LOG_BOUND = 15.0  # log-parameters live in [-15, 15]: 3e-7 .. 3e6


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
        log.warning("%s: a parameter went to an extreme (%s): the data barely identify it (little repeat buying "
                    "in the history, e.g. at an early cutoff, or purchases as regular as subscription invoices, "
                    "which BG/NBD's drop-outs do not describe); a longer history identifies the first; for "
                    "invoices leave 'btyd' out of features.families (and use scoring.clv_method: mrr); in the "
                    "Python API a small penalizer keeps it finite (e.g. BGNBD(penalizer=0.001)); the btyd "
                    "features and the predicted CLV fit without one", what, np.round(np.exp(res.x), 4).tolist())
    theta = np.exp(res.x)
    return theta, float(weights @ ll_grad(theta)[0]), converged, int(res.nit)


def _check_penalizer(penalizer: float) -> None:
    if not (np.isfinite(penalizer) and penalizer >= 0):
        raise ConfigError(f"penalizer must be a finite number >= 0, got {penalizer}")
