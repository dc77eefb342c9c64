"""RFM scores and named segments at a cutoff, on history only.

For each customer with a purchase (``amount >= 0``) before the cutoff:

* **recency** ``recency_days``: days from the last purchase to the cutoff
  (``(cutoff - last purchase) / 1 day``, float);
* **frequency**: the number of distinct calendar days (of ``data.timezone``) with a purchase.
  Days rather than rows, because one visit is often logged as several rows
  (CDNOW has many same-day rows);
* **monetary**: the net sum of ``amount`` before the cutoff (returns reduce it).

Only rows with ``time < cutoff`` are used (:func:`churnml.windows.history_mask`):
never the whole log with "last date + 1".

Scores (1 = worst, ``bins`` = best: most recent, most frequent, highest spend)
are ``1 + floor(bins * w)``, where ``w`` is the share of customers strictly
worse on that measure. Equal values always get equal scores, and the result
does not depend on the row order or on the ids; with many ties the score
groups are uneven (e.g. most CDNOW customers buy on one day only and all get
F = 1).

Segments come from the (R, F) scores through :data:`SEGMENT_MAP`, a 5 x 5
grid; with ``bins != 5`` scores are first mapped linearly onto 1-5
(``1 + round((score - 1) * 4 / (bins - 1))``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnml.engine import in_memory
from churnml.errors import ConfigError, EmptyDataError
from churnml.metrics.inputs import purchases
from churnml.metrics.sums import group_sum
from churnml.sources import check_sources
from churnml.windows import history_mask, to_moment

__all__ = ["SEGMENTS", "SEGMENT_MAP", "rfm_scores", "rfm_table", "segment_counts", "segment_of"]

_SECONDS_PER_DAY = 86_400.0

#: Segment names, from best to worst.
SEGMENTS: tuple[str, ...] = (
    "champions",
    "loyal",
    "potential loyalist",
    "new",
    "promising",
    "need attention",
    "about to sleep",
    "cannot lose",
    "at risk",
    "hibernating",
    "lost",
)

#: ``SEGMENT_MAP[r][f]``: the segment of recency score r and frequency score f (1-5).
_GRID: dict[int, tuple[str, str, str, str, str]] = {
    # F =   1                  2                     3                     4              5
    5: ("new", "potential loyalist", "potential loyalist", "champions", "champions"),
    4: ("promising", "potential loyalist", "potential loyalist", "loyal", "loyal"),
    3: ("about to sleep", "about to sleep", "need attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at risk", "at risk", "cannot lose"),
    1: ("lost", "hibernating", "at risk", "at risk", "cannot lose"),
}
SEGMENT_MAP: dict[int, dict[int, str]] = {r: dict(enumerate(row, start=1)) for r, row in _GRID.items()}


def rfm_scores(values: pd.Series, bins: int = 5, higher_is_better: bool = True) -> pd.Series:
    """Scores ``1..bins``: ``1 + floor(bins * (rank - 1) / n)`` over ``n`` customers, best value last.

    Equal values share one score, from one rank of their group: the group
    holding the worst value takes its first rank (it scores 1), the group
    holding the best value its last (it scores ``bins`` when there are at least
    ``bins`` customers), and every other group its mean rank. So 9 customers of
    10 who bought yesterday score 5 (the share strictly worse, 1 in 10, would
    give them 1), 60 % one-time buyers score 1, and 8 of 10 tied between one
    better and one worse customer score 3. When every value is the same,
    everyone scores 1 (e.g. everyone bought once: recent one-time buyers are
    then ``new``). The result depends only on the values.

    Examples
    --------
    >>> rfm_scores(pd.Series([1, 9, 9, 9, 9]), bins=5).tolist()
    [1, 5, 5, 5, 5]
    >>> rfm_scores(pd.Series([1, 1, 1, 2, 3]), bins=5).tolist()
    [1, 1, 1, 4, 5]
    >>> rfm_scores(pd.Series([1, 2, 2, 2, 2, 2, 2, 2, 2, 3]), bins=5).tolist()
    [1, 3, 3, 3, 3, 3, 3, 3, 3, 5]
    >>> rfm_scores(pd.Series([4, 4, 4, 4]), bins=5).tolist()
    [1, 1, 1, 1]
    """
    goodness = values if higher_is_better else -values
    rank = goodness.rank(method="average")
    best, worst = goodness == goodness.max(), goodness == goodness.min()
    rank = rank.where(~best, goodness.rank(method="max")).where(~worst, goodness.rank(method="min"))
    worse = rank.to_numpy() - 1.0
    score = 1 + np.floor(bins * worse / len(values)).astype("int64")
    return pd.Series(np.clip(score, 1, bins), index=values.index, dtype="int64")


def _to_five(scores: pd.Series, bins: int) -> pd.Series:
    if bins == 5:
        return scores
    return (1 + np.floor((scores - 1) * 4 / (bins - 1) + 0.5)).astype("int64")


def segment_of(r_score: pd.Series, f_score: pd.Series, bins: int = 5) -> pd.Series:
    """Segment names of aligned recency and frequency scores (see :data:`SEGMENT_MAP`)."""
    r5, f5 = _to_five(r_score, bins), _to_five(f_score, bins)
    lookup = pd.Series({(r, f): name for r, row in SEGMENT_MAP.items() for f, name in row.items()})
    keys = pd.MultiIndex.from_arrays([r5.to_numpy(), f5.to_numpy()])
    return pd.Series(lookup.reindex(keys).to_numpy(), index=r_score.index, dtype="str")


def rfm_table(transactions: pd.DataFrame, cutoff: object, bins: int = 5) -> pd.DataFrame:
    """RFM measures, scores and segment of every customer active before ``cutoff``.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (customer_id, timestamp, amount).
    cutoff : date-like
        Required. Only rows with ``timestamp < cutoff`` are used: a date (its
        midnight) or a date and time of the data's calendar (``data.timezone``);
        a non-zero UTC offset is refused (the times are that zone's wall-clock
        times), as for a cutoff of the labels.
        The recency is measured from it in fractional days.
    bins : int
        Number of score levels (2-10); 5 gives quintile scores.

    Returns
    -------
    DataFrame
        Indexed by customer_id (sorted): ``recency_days`` (float64, days),
        ``frequency`` (int64, purchase days), ``monetary`` (float64, money),
        ``r_score``, ``f_score``, ``m_score`` (int64, 1..bins), ``rfm_cell``
        (e.g. ``"545"``) and ``segment`` (str).

    Raises
    ------
    EmptyDataError
        No purchase before the cutoff.
    """
    if not 2 <= bins <= 10:
        raise ConfigError(f"rfm bins must be between 2 and 10 (metrics.rfm_bins), got {bins}")
    transactions = in_memory(transactions, "transactions", "the metrics need")
    check_sources({"transactions": transactions})
    c = to_moment(cutoff)  # type: ignore[arg-type]  # a time of day is a moment; an offset is refused
    hist = transactions.loc[history_mask(transactions["timestamp"], c)]
    buys = purchases(hist)
    if buys.empty:
        raise EmptyDataError(
            f"rfm_table: no purchase (amount >= 0) before the cutoff {c}; "
            "choose a later cutoff or check the transactions table"
        )
    measures = buys.assign(day=buys["timestamp"].dt.normalize()).groupby("customer_id").agg(
        last=("timestamp", "max"), frequency=("day", "nunique")
    )
    spend = group_sum(hist, "customer_id", "amount")
    out = pd.DataFrame(
        {
            "recency_days": (c - measures["last"]).dt.total_seconds() / _SECONDS_PER_DAY,
            "frequency": measures["frequency"].astype("int64"),
            "monetary": spend.reindex(measures.index).astype("float64"),
        }
    ).sort_index()
    out["r_score"] = rfm_scores(out["recency_days"], bins, higher_is_better=False)
    out["f_score"] = rfm_scores(out["frequency"], bins)
    out["m_score"] = rfm_scores(out["monetary"], bins)
    out["rfm_cell"] = (
        out["r_score"].astype("str") + out["f_score"].astype("str") + out["m_score"].astype("str")
    )
    out["segment"] = segment_of(out["r_score"], out["f_score"], bins)
    return out


def segment_counts(rfm: pd.DataFrame) -> pd.DataFrame:
    """Customers per segment (every segment, in :data:`SEGMENTS` order), no customer ids.

    Columns: ``segment``, ``customers``, ``share`` (% of all), and the mean
    ``recency_days``, ``frequency`` and ``monetary`` of the segment (NaN when empty).
    """
    if rfm.empty:
        raise EmptyDataError("segment_counts: the RFM table has no rows")
    stats = rfm.groupby("segment").agg(
        customers=("segment", "size"),
        recency_days=("recency_days", "mean"),
        frequency=("frequency", "mean"),
        monetary=("monetary", "mean"),
    )
    stats = stats.reindex(pd.Index(SEGMENTS, name="segment"))
    stats["customers"] = stats["customers"].fillna(0).astype("int64")
    stats.insert(1, "share", stats["customers"] / len(rfm) * 100.0)
    return stats.reset_index()
