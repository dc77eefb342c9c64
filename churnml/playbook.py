"""The outreach playbook: which action to suggest for each customer on the list.

Rules come from ``scoring.playbook`` (see :class:`churnml.config.PlayRule`)
and are tried in order; the first rule whose conditions all hold gives the
action. The default playbook:

===============================  ============================================================
action                           when
===============================  ============================================================
save call                        an open cancellation request (``cancel_requested_at`` on the
                                 list: requested before the cutoff, subscription still active)
onboarding call                  a new customer (first purchase <= 60 days ago), any tier
personal call from support lead  high risk, top 20% value at risk, a support or survey reason
retention offer                  high or medium risk with a price, plan, returns or renewal reason
re-engagement campaign           high or medium risk with a declining activity or engagement
                                 reason
personal call                    high risk, top 20% value at risk
check-in email                   everyone else, so every low-risk customer past onboarding
                                 without a request
===============================  ============================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnml.config import PlayRule

__all__ = ["suggest_actions"]


def _reason_match(reasons: pd.DataFrame, prefixes: list[str]) -> np.ndarray:
    hit = np.zeros(len(reasons), dtype=bool)
    for col in reasons.columns:
        values = reasons[col].fillna("").astype("str")
        for prefix in prefixes:
            hit |= values.str.startswith(prefix).to_numpy()
    return hit


def suggest_actions(
    outreach: pd.DataFrame, rules: list[PlayRule], reason_features: pd.DataFrame, scored: int | None = None
) -> pd.Series:
    """One suggested action per row of ``outreach``.

    Parameters
    ----------
    outreach : DataFrame
        Needs ``risk_tier``, ``value_at_risk`` and ``tenure_days``; with
        ``scored``, also ``rank`` (1 = highest value at risk among everyone scored).
        ``cancel_requested_at``, when present, is what ``cancel_requested``
        reads (absent: nobody has an open request).
    rules : list of PlayRule
        Tried in order; rows no rule matches get "no action".
    reason_features : DataFrame
        The features behind each row's reasons (``reason_i_feature`` columns).
    scored : int, optional
        How many customers were scored when ``outreach`` is a cut of them
        (``--top``, ``--budget``): a value-at-risk share is then of everyone
        scored, so a customer's action does not depend on the cut. Without it,
        the share is of ``outreach``'s rows.
    """
    n = len(outreach)
    action = np.full(n, "", dtype=object)
    todo = np.ones(n, dtype=bool)
    if scored is None:
        var_rank = outreach["value_at_risk"].rank(ascending=False, method="first").to_numpy() / max(n, 1)
    else:
        var_rank = outreach["rank"].to_numpy(dtype="float64") / max(scored, 1)
    requested = (outreach["cancel_requested_at"].notna().to_numpy() if "cancel_requested_at" in outreach.columns
                 else np.zeros(n, dtype=bool))
    for rule in rules:
        ok = todo.copy()
        if rule.tiers is not None:
            ok &= outreach["risk_tier"].isin(rule.tiers).to_numpy()
        if rule.reason_prefixes is not None:
            ok &= _reason_match(reason_features, rule.reason_prefixes)
        if rule.min_value_at_risk_share is not None:
            ok &= var_rank <= rule.min_value_at_risk_share
        if rule.max_tenure_days is not None:
            ok &= (outreach["tenure_days"] <= rule.max_tenure_days).fillna(False).to_numpy()
        if rule.cancel_requested is not None:
            ok &= requested == rule.cancel_requested
        action[ok] = rule.action
        todo &= ~ok
    action[todo] = "no action"
    return pd.Series(action, index=outreach.index, name="suggested_action", dtype="str")
