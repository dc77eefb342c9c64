"""BTYD family: where a customer stands in the cutoff's population, as features.

At each cutoff a BG/NBD model is fitted on that cutoff's population from
their RFM features alone (history only), and gives per customer:

* ``btyd_p_alive``: P(still active) (ranks churn backwards on its own: a
  one-time buyer has P(alive) = 1, so it is a feature, not a score);
* ``btyd_expected_purchases_{H}d``: expected purchases in the next H days;
* ``btyd_p_no_purchase_{H}d``: P(no purchase in the next H days).

Next to these, ``btyd_recency_rank`` places the customer's recency within
the same population: ``(rank - 1) / (n - 1)`` with ``rank`` the average rank
of ``rfm_recency_days`` among the ``n`` customers at risk (0 = the most recent
buyer, 1 = the longest silent; 0.5 when n = 1). Raw recency drifts with the
calendar (at a later cutoff everyone can have been silent longer than any
customer seen in training); its rank means the same at every cutoff.

Every column here depends on who else is at risk, so the family runs on the
whole population at a cutoff, never on a subset of it (scoring a list of
customers computes the family for everyone at risk and keeps the list's rows).

H is the asked horizon, so these features carry the long-horizon view even
when the model is trained on a shorter window. The BG/NBD summary comes from
the SQL RFM features: x = purchase days - 1, t_x = (tenure - recency) / 7,
T = (tenure - 1) / 7 weeks (the conventions of :func:`churnml.btyd.summary_at`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from churnml.btyd import BGNBD
from churnml.btyd.fitting import fit_warnings
from churnml.errors import ChurnMLError
from churnml.features.base import FeatureDoc

__all__ = ["add_btyd_features", "btyd_docs", "mean_p_no_purchase", "p_no_purchase", "recency_rank"]

log = logging.getLogger(__name__)

UNIT_DAYS = 7.0


#: The one btyd column that needs no BG/NBD fit.
RANK_DOC = FeatureDoc("btyd_recency_rank", "btyd",
                      "rank of rfm_recency_days among everyone at risk at the cutoff, 0 (most recent) to 1",
                      "NaN (no purchase)")


def _bgnbd_docs(h: int) -> tuple[FeatureDoc, FeatureDoc, FeatureDoc]:
    """P(alive), expected purchases and P(no purchase) in ``h`` days, in that order."""
    return (
        FeatureDoc("btyd_p_alive", "btyd", "BG/NBD probability the customer is still active",
                   "NaN (no purchase, or fit failed)"),
        FeatureDoc(f"btyd_expected_purchases_{h}d", "btyd", f"BG/NBD expected purchases in the next {h} days",
                   "NaN (no purchase, or fit failed)"),
        FeatureDoc(f"btyd_p_no_purchase_{h}d", "btyd", f"BG/NBD P(no purchase in the next {h} days)",
                   "NaN (no purchase, or fit failed)"),
    )


def btyd_docs(horizon_days: int) -> tuple[FeatureDoc, ...]:
    return (*_bgnbd_docs(horizon_days), RANK_DOC)


def _buyers(rows: pd.DataFrame) -> pd.Series:
    """Rows with a purchase day in their history: the only ones BG/NBD has a summary for.

    A spine can hold customers without one (a subscriber who never bought, a
    customer with returns only); they get NaN and take no part in the fit.
    """
    return (rows["rfm_days_all"] >= 1) & rows["rfm_tenure_days"].notna() & rows["rfm_recency_days"].notna()


def _summary(rows: pd.DataFrame) -> pd.DataFrame:
    """The BG/NBD summary (x, t_x, T in weeks) of rows that all have a purchase (:func:`_buyers`)."""
    return pd.DataFrame(
        {
            "frequency": (rows["rfm_days_all"] - 1).astype("int64").to_numpy(),
            "recency": ((rows["rfm_tenure_days"] - rows["rfm_recency_days"]) / UNIT_DAYS).to_numpy(),
            "T": ((rows["rfm_tenure_days"] - 1) / UNIT_DAYS).to_numpy(),
        }
    )


def p_no_purchase(rows: pd.DataFrame, horizon_days: int, lead_days: int = 0,
                  model: BGNBD | None = None) -> pd.Series:
    """BG/NBD's P(no purchase in ``[c + lead, c + lead + horizon)``) for ``rows`` (one cutoff).

    ``model`` is a BG/NBD already fitted at that cutoff (the family's, on its
    whole population, when ``rows`` are some of it); without one it is fitted
    on the rows with a purchase (:func:`_buyers`), like the family's column,
    which it equals when ``lead_days`` is 0 and ``rows`` are the whole
    population; with a lead time it is the probability of the label window
    itself. Rows without a purchase get NaN.
    """
    out = pd.Series(np.nan, index=rows.index, dtype="float64")
    buyers = _buyers(rows)
    summary = _summary(rows[buyers])
    fitted = BGNBD().fit(summary) if model is None else model
    out[buyers] = fitted.p_no_purchase(horizon_days / UNIT_DAYS, summary, lead=lead_days / UNIT_DAYS).to_numpy()
    return out


def mean_p_no_purchase(rows: pd.DataFrame, horizon_days: int, lead_days: int = 0,
                       model: BGNBD | None = None) -> float:
    """BG/NBD's expected share of ``rows`` (one cutoff) with no purchase in the label window.

    Over the rows with a purchase (:func:`_buyers`), as the pandas mean of the
    ``btyd_p_no_purchase`` column skips the others' NaN (:func:`p_no_purchase`).
    """
    return float(p_no_purchase(rows, horizon_days, lead_days, model).mean())


def recency_rank(features: pd.DataFrame) -> pd.Series:
    """``btyd_recency_rank``: ``(rank - 1) / (n - 1)`` of ``rfm_recency_days`` within each cutoff.

    ``rank`` is the average rank (ties share it), ``n`` the cutoff's rows with
    a recency; a cutoff with one such row gets 0.5, a row without a recency
    (no purchase, e.g. a subscriber who never bought) NaN. Aligned with
    ``features``' index.
    """
    by = features.groupby("cutoff", sort=False)["rfm_recency_days"]
    rank = by.rank(method="average").astype("float64")
    n = by.transform("count").astype("float64")  # customers with a recency (NaN: no purchase, no rank)
    alone = (n == 1) & rank.notna()
    return ((rank - 1.0) / (n - 1.0)).where(~alone, 0.5).rename(RANK_DOC.name)


def add_btyd_features(features: pd.DataFrame, horizon_days: int,
                      fitted: dict[pd.Timestamp, BGNBD] | None = None) -> pd.DataFrame:
    """Add the btyd columns to a feature frame that has the RFM family.

    One BG/NBD fit per cutoff, on that cutoff's rows with a purchase
    (:func:`_buyers`); rows without one get NaN in the BG/NBD columns and do
    not change the others' values. A cutoff whose fit fails (e.g. nobody has
    a repeat purchase yet) gets NaN in the BG/NBD columns, with a warning; the
    recency rank needs no fit. ``fitted``, when given, receives each cutoff's
    fitted model (scoring's CLV reuses it: its summary is the same).
    """
    alive, expected, silent = (d.name for d in _bgnbd_docs(horizon_days))
    out = features.copy()
    for name in (alive, expected, silent):
        out[name] = np.nan
    out[RANK_DOC.name] = recency_rank(out)
    h = horizon_days / UNIT_DAYS
    buyers = _buyers(out)
    groups = out[buyers].groupby("cutoff", sort=True).groups
    warned: dict[str, str] = {}  # cutoff -> the fit's last warning there
    with fit_warnings() as caught:
        for cutoff, idx in groups.items():
            summary = _summary(out.loc[idx])
            seen = len(caught)
            try:
                model = BGNBD().fit(summary)
            except ChurnMLError as exc:
                log.warning("BG/NBD features at cutoff %s left empty: %s", str(cutoff)[:10], exc)
                continue
            finally:
                if len(caught) > seen:
                    warned[str(cutoff)[:10]] = caught[-1]
            if fitted is not None:
                fitted[pd.Timestamp(cutoff)] = model  # type: ignore[arg-type]  # the group keys are the cutoffs
            out.loc[idx, alive] = model.p_alive(summary).to_numpy()
            out.loc[idx, expected] = model.expected_purchases(h, summary).to_numpy()
            out.loc[idx, silent] = model.p_no_purchase(h, summary).to_numpy()
    _say_fit_warnings(warned, len(groups))
    return out


def _say_fit_warnings(warned: dict[str, str], cutoffs: int) -> None:
    """One warning for the BG/NBD fits that warned, however many cutoffs did (was: one per cutoff)."""
    if not warned:
        return
    if len(warned) == 1:
        ((cutoff, text),) = warned.items()
        log.warning("BG/NBD features at cutoff %s: %s", cutoff, text)
        return
    last = max(warned)
    log.warning("BG/NBD features: the fit warned at %d of %d cutoffs (%s to %s); at the last, %s", len(warned),
                cutoffs, min(warned), last, warned[last])
