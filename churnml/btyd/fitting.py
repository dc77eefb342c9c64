"""Maximum-likelihood fitting shared by the BTYD models: penalised L-BFGS-B over log-parameters."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import numpy as np
from scipy.optimize import minimize

from churnml.errors import ConfigError

__all__ = ["fit_warnings"]

log = logging.getLogger(__name__)

_LOG_BOUND = 15.0  # a log-parameter lives within 15 of its start's log: a factor 3e-7 .. 3e6


@contextlib.contextmanager
def fit_warnings() -> Iterator[list[str]]:
    """The fits' warnings, collected instead of logged, for a caller that fits many times (once per cutoff)
    and says once what they had in common."""
    caught: list[str] = []

    def keep(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            caught.append(record.getMessage())
            return False
        return True

    log.addFilter(keep)
    try:
        yield caught
    finally:
        log.removeFilter(keep)


def _fit_log_params(
    ll_grad: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    weights: np.ndarray,
    x0: np.ndarray,
    penalizer: float,
    what: str,
    names: tuple[str, ...],
    why: str,
) -> tuple[np.ndarray, float, bool, int]:
    """Maximise a weighted log-likelihood over log-parameters with L-BFGS-B.

    Objective: ``-sum_i w_i ll_i / sum_i w_i + penalizer * sum_k log(theta_k)^2``.
    Each log-parameter lives within ``_LOG_BOUND`` of the log of its start
    value, so a parameter in the data's units (a scale such as BG/NBD's alpha
    or Gamma-Gamma's v, started at the data's mean) has the same room in any
    unit or currency. A parameter that ends far from its start is logged with
    ``why`` (what the data lack, and what to do).
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

    start = np.log(x0)
    bounds = [(float(c) - _LOG_BOUND, float(c) + _LOG_BOUND) for c in start]
    res = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-9})
    # A line search that cannot improve on a flat optimum is still converged: judge by the gradient.
    converged = bool(res.success) or float(np.max(np.abs(res.jac))) < 1e-5
    far = np.abs(res.x - start) > _LOG_BOUND - 5
    if far.any():  # a likelihood still rising towards infinity: not converging is part of the same story
        went = ", ".join(f"{nm} = {v:.4g}" for nm, v, f in zip(names, np.exp(res.x), far, strict=True) if f)
        log.warning("%s: %s went to an extreme (%s%s): %s", what,
                    "a parameter" if far.sum() == 1 else "parameters", went,
                    "" if converged else "; the optimiser stopped there", why)
    elif not converged:
        log.warning("%s: the optimiser stopped without converging (%s); the estimates may be off", what, res.message)
    theta = np.exp(res.x)
    return theta, float(weights @ ll_grad(theta)[0]), converged, int(res.nit)


def _check_penalizer(penalizer: float) -> None:
    if not (np.isfinite(penalizer) and penalizer >= 0):
        raise ConfigError(f"penalizer must be a finite number >= 0, got {penalizer}")
