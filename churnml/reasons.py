"""Per-customer reason codes: which features raise a customer's churn risk, in plain sentences.

:func:`reason_codes` names, per customer, the ``top_k`` features (or feature
groups) whose TreeSHAP contributions (see :mod:`churnml.explain`) raise the
risk most, with the customer's value and a plain sentence taken from a small
template table (:data:`REASON_TEMPLATES`). :func:`describe_values` formats
values for people and :func:`default_groups` groups windowed features.

This module sits one layer below :mod:`churnml.explain`, which re-exports its
public names; it needs only the ``values`` frame of a
:class:`churnml.explain.Contributions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from churnml.config import MAX_TOP_K
from churnml.errors import ConfigError, SchemaError
from churnml.report_template import format_value

__all__ = [
    "REASON_TEMPLATES",
    "UNSEEN_NOTE",
    "ReasonTemplate",
    "default_groups",
    "describe_values",
    "reason_codes",
    "reason_columns",
]

#: ``describe(feature, values, rows) -> Series of sentences | None`` (None: use the templates).
Describe = Callable[[str, pd.Series, pd.DataFrame], "pd.Series | None"]


class _Explained(Protocol):
    """What reason codes need of :class:`churnml.explain.Contributions`."""

    @property
    def values(self) -> pd.DataFrame:
        """``n x features`` contributions in log-odds."""
        ...


def _check_same_rows(contrib: _Explained, X: pd.DataFrame, where: str) -> None:
    missing = [c for c in contrib.values.columns if c not in X.columns]
    if missing:
        raise SchemaError(f"{where}: X lacks features {missing[:10]} of the contributions; pass the explained X")
    if not X.index.equals(contrib.values.index):
        raise SchemaError(
            f"{where}: X ({len(X)} rows) and the contributions ({len(contrib.values)} rows) have different "
            "indexes; pass the same X that was explained"
        )


def _is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


_WINDOW = re.compile(r"_\d+d$")


#: Features that describe one thing another feature describes, so that they take one reason between them:
#: the latest NPS answer's category is its score in words.
_SAME_AS = {"srv_nps_category": "srv_nps_last"}


def default_groups(features: Any) -> dict[str, str]:
    """Default feature groups: strip a trailing ``_{N}d`` window (``win_orders_30d`` -> ``win_orders``);
    the latest NPS answer's category joins its score (``srv_nps_category`` -> ``srv_nps_last``)."""
    return {f: _SAME_AS.get(f, _WINDOW.sub("", f)) for f in features}


def describe_values(values: pd.Series, kind: str = "number") -> pd.Series:
    """Format values for people, vectorised; missing values become ``"missing"``.

    ``kind``: ``number`` (integer-valued as integers, else at most 2 decimals:
    141.99999 -> ``"142"``, 12.50 -> ``"12.5"``), ``money`` (2 decimals below 1,000:
    ``"49.00"``; whole and grouped from 1,000 on: ``"2,644,000"``), ``share``
    (a fraction as a percentage: 0.5 -> ``"50%"``), ``yesno`` (a 0/1 flag: 1 ->
    ``"yes"``, 0 -> ``"no"``, other values as numbers), ``level`` (the value as
    text; also used for any non-numeric column).
    """
    ok = values.notna().to_numpy()
    text = np.full(len(values), "missing", dtype="object")
    if kind == "level" or _is_categorical(values):
        text[ok] = values.to_numpy(dtype="object")[ok].astype(str)
    else:
        text[ok] = _format_numbers(values.to_numpy(dtype="float64", na_value=np.nan)[ok], kind)
    return pd.Series(text, index=values.index, dtype="str")


def _format_numbers(num: np.ndarray, kind: str) -> np.ndarray:
    if kind == "yesno":
        flag = np.where(num == 1, "yes", np.where(num == 0, "no", ""))
        return np.where(flag == "", _format_numbers(num, "number"), flag).astype("object")
    if kind == "money":  # as the report: 1,234,567 from 1,000 on, else 12.35
        return np.array([format_value(v, "money") for v in num.tolist()], dtype="object")
    rounded = np.round(num * 100.0 if kind == "share" else num, 2)
    whole = np.isfinite(rounded) & (rounded == np.round(rounded))
    out = np.full(len(num), "", dtype="object")
    out[whole] = np.round(rounded[whole]).astype("int64").astype(str)
    out[~whole] = np.char.rstrip(np.char.mod("%.2f", rounded[~whole]), "0")
    return out + "%" if kind == "share" else out


@dataclass(frozen=True)
class ReasonTemplate:
    """A sentence for a feature family.

    ``pattern`` must match the whole feature name; ``text`` uses ``{v}`` (the
    formatted value), ``{s}`` (plural "s" unless the value is 1; after ``{v}``),
    ``{feature}``, the regex's named groups (``{N}``, ``{name}`` with spaces,
    ``{NAME}`` upper-cased). ``kind`` is the value format (see
    :func:`describe_values`); ``missing`` is the sentence for a missing value.
    """

    pattern: str
    text: str
    kind: str = "number"
    missing: str | None = None


#: Templates tried in order; the first whole-name match wins, else ``"<feature> = <value>"``.
REASON_TEMPLATES: tuple[ReasonTemplate, ...] = (
    ReasonTemplate("rfm_recency_days", "no purchase for {v} days", missing="no purchase yet"),
    ReasonTemplate("rfm_tenure_days", "first purchase {v} days ago", missing="no purchase yet"),
    ReasonTemplate("rfm_orders_all", "{v} purchase{s} in total"),
    ReasonTemplate("rfm_days_all", "bought on {v} different day{s}"),
    ReasonTemplate("rfm_gap_mean_days", "usually buys every {v} days", missing="fewer than two purchase days"),
    ReasonTemplate("rfm_recency_over_gap", "{v} times the usual gap since the last purchase"),
    ReasonTemplate("rfm_monetary_sum_all", "spent {v} in total", "money"),
    ReasonTemplate("rfm_monetary_mean_all", "spends {v} per purchase on average", "money"),
    ReasonTemplate("rfm_monetary_max_all", "largest purchase {v}", "money"),
    ReasonTemplate("rfm_first_amount", "spent {v} on the first purchase day", "money"),
    ReasonTemplate("rfm_last_amount", "spent {v} on the last purchase day", "money"),
    ReasonTemplate("rfm_gap_std_days", "irregular rhythm: gaps vary by {v} days", missing="fewer than three purchase days"),
    ReasonTemplate("rfm_gap_last_days", "{v} days between the last two purchases", missing="only one purchase day"),
    ReasonTemplate(r"win_orders_trend_(?P<N>\d+)d", "purchase trend {v} (last {N} days vs the {N} before; 1 = steady)"),
    ReasonTemplate(r"win_censored_(?P<N>\d+)d", "less than {N} days of history at the cutoff: {v} (1 = yes)"),
    ReasonTemplate("win_returns_share_all", "{v} of transactions were returns", "share"),
    ReasonTemplate("win_returns_amount_all", "returned {v} in total", "money"),
    ReasonTemplate("btyd_p_alive", "purchase model: {v} chance still active", "share"),
    ReasonTemplate(r"btyd_expected_purchases_(?P<N>\d+)d", "purchase model expects {v} purchases in {N} days"),
    ReasonTemplate(r"btyd_p_no_purchase_(?P<N>\d+)d", "purchase model: {v} chance of no purchase in {N} days", "share"),
    ReasonTemplate("btyd_recency_rank", "silent for longer than {v} of the customers at risk", "share"),
    ReasonTemplate(r"win_orders_(?P<N>\d+)d", "{v} purchase{s} in the last {N} days"),
    ReasonTemplate(r"win_spend_(?P<N>\d+)d", "spent {v} in the last {N} days", "money"),
    ReasonTemplate(r"win_active_days_(?P<N>\d+)d", "bought on {v} day{s} in the last {N} days"),
    ReasonTemplate(r"evt_all_count_(?P<N>\d+)d", "{v} event{s} in the last {N} days"),
    ReasonTemplate(r"evt_(?P<name>\w+)_count_(?P<N>\d+)d", "{v} {name} event{s} in the last {N} days"),
    ReasonTemplate(r"evt_(?P<name>\w+)_days_since", "last {name} event {v} days ago", missing="no {name} event yet"),
    ReasonTemplate(r"evt_(?P<name>\w+)_trend_(?P<N>\d+)d", "{name} trend {v} (last {N} days vs the {N} before; 1 = steady)"),
    ReasonTemplate("srv_nps_category", "latest NPS answer is a {v}", "level", missing="no NPS answer yet"),
    ReasonTemplate(r"srv_(?P<name>\w+)_last", "latest {NAME} answer {v}", missing="no {NAME} answer yet"),
    ReasonTemplate(r"srv_(?P<name>\w+)_change", "latest {NAME} answer changed by {v}", missing="no earlier {NAME} answer"),
    ReasonTemplate(r"srv_(?P<name>\w+)_age_days", "latest {NAME} answer {v} days ago", missing="no {NAME} answer yet"),
    ReasonTemplate("tkt_open_at_cutoff", "{v} support ticket{s} still open"),
    ReasonTemplate(r"tkt_count_(?P<N>\d+)d", "{v} support ticket{s} in the last {N} days"),
    ReasonTemplate("tkt_count_all", "{v} support ticket{s} in total"),
    ReasonTemplate("tkt_fcr_share", "{v} of resolved tickets solved on first contact", "share", "no resolved ticket"),
    ReasonTemplate("tkt_resolution_mean_days", "tickets take {v} days to resolve on average", missing="no resolved ticket"),
    ReasonTemplate("sub_mrr", "pays {v} a month", "money", missing="no active subscription"),
    ReasonTemplate("sub_plan", "plan is '{v}'", "level", missing="no active subscription"),
    ReasonTemplate("sub_days_to_renewal", "renewal in {v} day{s}", missing="no active subscription"),
    ReasonTemplate("sub_days_since_start", "current subscription started {v} day{s} ago",
                   missing="no active subscription"),
    ReasonTemplate("sub_downgrades_all", "{v} downgrade{s}"),
    ReasonTemplate("sub_months_since_first", "subscriber for {v} months"),
    ReasonTemplate("sub_active", "subscription active at the cutoff: {v}", "yesno"),
    ReasonTemplate("sub_count_all", "{v} subscription{s} started so far"),
    ReasonTemplate("cst_referred", "acquired through a referral: {v}", "yesno"),
    ReasonTemplate("cst_known", "in the customers table: {v}", "yesno"),
    ReasonTemplate("cst_signup_age_days", "signed up {v} days ago", missing="signup date unknown"),
    ReasonTemplate(r"cst_(?P<name>(?!referred$|known$)\w+)", "{name} is '{v}'", "level", missing="{name} unknown"),
)


def _template(feature: str) -> tuple[ReasonTemplate, dict[str, str]]:
    for tpl in REASON_TEMPLATES:
        match = re.fullmatch(tpl.pattern, feature)
        if match:
            name = match.groupdict().get("name") or ""
            consts = {**match.groupdict(), "feature": feature, "name": name.replace("_", " "), "NAME": name.upper()}
            return tpl, consts
    return ReasonTemplate(feature, "{feature} = {v}", "number", "{feature} is missing"), {"feature": feature}


def _sentences(feature: str, values: pd.Series, shown: pd.Series, X: pd.DataFrame, where: np.ndarray) -> pd.Series:
    """Sentences of one feature for the rows ``where`` of ``X``; ``shown`` = the formatted values."""
    tpl, consts = _template(feature)
    head, _, tail = tpl.text.format(**consts, v="\0", s="\1").partition("\0")
    before, plural, after = tail.partition("\1")
    out = head + shown + before
    if plural:
        one = values.to_numpy(dtype="float64", na_value=np.nan) == 1 if not _is_categorical(values) else False
        out = out + pd.Series(np.where(one, "", "s"), index=values.index, dtype="str")
    out = out + after
    if feature == "rfm_recency_days" and "rfm_gap_mean_days" in X:
        gap = X["rfm_gap_mean_days"].iloc[where]
        out = out.where(gap.isna(), out + "; this customer's usual gap is " + describe_values(gap) + " days")
    if feature == "srv_nps_last":
        label = np.select([values < 7, values < 9], [" (detractor)", " (passive)"], " (promoter)")
        out = out + pd.Series(label, index=values.index, dtype="str")
    if re.fullmatch(r"srv_\w+_change", feature):  # "changed by 0" reads as a change
        out = out.where(values.to_numpy(dtype="float64", na_value=np.nan) != 0,
                        "latest {NAME} answer the same as the previous one".format(**consts))
    missing = values.isna()
    if missing.any():
        out = out.where(~missing, (tpl.missing or "{feature} is missing").format(**consts))
    return out


def _group_sums(phi: np.ndarray, labels: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Group contributions (n x g, sums of members) and the column of each cell's largest member."""
    indicator = np.zeros((phi.shape[1], n_groups))
    indicator[np.arange(phi.shape[1]), labels] = 1.0
    best = np.empty((phi.shape[0], n_groups), dtype="int64")
    for g in range(n_groups):
        cols = np.flatnonzero(labels == g)
        best[:, g] = cols[np.argmax(phi[:, cols], axis=1)] if len(cols) > 1 else cols[0]
    return phi @ indicator, best



def reason_codes(
    contrib: _Explained,
    X: pd.DataFrame,
    top_k: int = 3,
    groups: Mapping[str, str] | None = None,
    describe: Describe | None = None,
    unseen: Mapping[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """Per-customer reason codes: the ``top_k`` features or groups that raise the churn risk most.

    A group's contribution is the sum of its members' contributions (log-odds);
    only positive contributions are reasons, so a row may have fewer than
    ``top_k`` (the rest are missing). Ties go to the group whose first member
    comes first in ``X``.

    Parameters
    ----------
    contrib : churnml.explain.Contributions
        From :func:`churnml.explain.contributions` on ``X`` (only its ``values`` are used).
    X : DataFrame
        The explained feature rows (same index; categoricals' values are level names).
    top_k : int
        Number of reason slots, 0 to :data:`~churnml.config.MAX_TOP_K` (0: no columns).
    groups : mapping feature -> group, optional
        Default :func:`default_groups` (``win_orders_7d``, ``win_orders_30d`` -> ``win_orders``).
        When given, unmapped features are their own group (``{}``: no grouping).
    describe : callable, optional
        ``describe(feature, values, rows)`` returning a Series of sentences for
        the chosen rows of one feature, or None to use :data:`REASON_TEMPLATES`.
    unseen : mapping feature -> Series, optional
        Categorical values the model did not see in training (indexed like ``X``,
        missing elsewhere; :meth:`churnml.model.ChurnModel.unseen_levels`): ``X``
        has them as missing, as the model scores them; a reason names the value
        and says it is new (:data:`UNSEEN_NOTE`).

    Returns
    -------
    DataFrame
        Indexed like ``X``; for i in 1..top_k: ``reason_i`` (group or feature),
        ``reason_i_feature`` (the member with the largest contribution),
        ``reason_i_value`` (its value as text), ``reason_i_contribution``
        (log-odds, the group sum) and ``reason_i_text`` (a plain sentence).
    """
    if not isinstance(top_k, int | np.integer) or not 0 <= top_k <= MAX_TOP_K:
        raise ConfigError(f"reason_codes: top_k must be a whole number from 0 (no reasons) to {MAX_TOP_K}, as "
                          f"scoring.top_k, got {top_k!r}")
    _check_same_rows(contrib, X, "reason_codes")
    new = {f: v for f, v in (unseen or {}).items() if f in X.columns and v.notna().any()}
    if new:  # the value as written, for the sentence
        X = X.assign(**{f: X[f].astype("object").where(v.isna(), v.astype("object")) for f, v in new.items()})
    features = list(contrib.values.columns)
    mapping = default_groups(features) if groups is None else {f: groups.get(f, f) for f in features}
    labels, names = pd.factorize(pd.Series([mapping[f] for f in features], dtype="object"))
    sums, best = _group_sums(contrib.values.to_numpy(dtype="float64"), labels, len(names))
    order = np.argsort(-sums, axis=1, kind="stable")
    rows = np.arange(len(X))
    out: dict[str, Any] = {}
    for j in range(top_k):
        g = order[:, min(j, len(names) - 1)]
        value = sums[rows, g]
        chosen = (value > 0) & (j < len(names))
        member = np.where(chosen, best[rows, g], -1)
        slot = f"reason_{j + 1}"
        out[slot] = pd.Series(np.asarray(names, dtype="object")[g]).where(chosen).to_numpy()
        out[f"{slot}_feature"] = pd.Series(np.asarray(features, dtype="object")[member]).where(chosen).to_numpy()
        out[f"{slot}_value"], out[f"{slot}_text"] = _render_slot(X, features, member, describe, new)
        out[f"{slot}_contribution"] = np.where(chosen, value, np.nan)
    frame = pd.DataFrame(out, index=X.index)
    cols = reason_columns(top_k)
    return frame[cols].astype({c: "str" for c in cols if not c.endswith("_contribution")})


def reason_columns(top_k: int) -> list[str]:
    """The columns of :func:`reason_codes` for ``top_k`` reasons, in order (contributions are floats, the rest text)."""
    return [f"reason_{j}{s}" for j in range(1, top_k + 1) for s in ("", "_feature", "_value", "_contribution", "_text")]


#: Said after the reason of a categorical value the model did not see in training (it scores it as missing).
UNSEEN_NOTE = " (new since the model was trained: scored as if missing)"


def _render_slot(
    X: pd.DataFrame, features: list[str], member: np.ndarray, describe: Describe | None,
    unseen: Mapping[str, pd.Series],
) -> tuple[np.ndarray, np.ndarray]:
    """Value text and sentence of one reason slot, rendered once per chosen feature."""
    values = np.full(len(X), None, dtype="object")
    texts = np.full(len(X), None, dtype="object")
    for f in np.unique(member[member >= 0]):
        where = np.flatnonzero(member == f)
        feature = features[f]
        column = X[feature].iloc[where]
        shown = describe_values(column, _template(feature)[0].kind)
        values[where] = shown.to_numpy(dtype="object")
        custom = describe(feature, column, X.iloc[where]) if describe is not None else None
        if custom is None:
            custom = _sentences(feature, column, shown, X, where)
        texts[where] = np.asarray(custom, dtype="object")
        if feature in unseen:
            marked = where[unseen[feature].iloc[where].notna().to_numpy()]
            texts[marked] = texts[marked] + UNSEEN_NOTE
    return values, texts
