"""Random streams, small sampling helpers and the simulated clock.

Simulated times are int64 seconds since ``cfg.start`` (midnight UTC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churnml.config import SyntheticConfig
from churnml.datasets.synthetic.params import DAY, NAT, Arr

__all__: list[str] = []  # internals of churnml.datasets.synthetic


def _rng(seed: int, block: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed % 2**64, spawn_key=(block, stream)))


def _pick(rng: np.random.Generator, probs: tuple[float, ...], n: int) -> Arr:
    """Category codes drawn with the given probabilities."""
    return np.minimum(np.searchsorted(np.cumsum(probs), rng.random(n), side="right"), len(probs) - 1)


def _rank_in_group(counts: Arr) -> Arr:
    """0, 1, ... within each run of a ``np.repeat(..., counts)`` layout."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)


@dataclass(frozen=True)
class _Clock:
    """Simulated time: int64 seconds since ``start``; ``end`` is exclusive."""

    start: np.datetime64
    end: int
    n_months: int

    @classmethod
    def of(cls, cfg: SyntheticConfig) -> _Clock:
        draft = cls(np.datetime64(cfg.start, "D").astype("M8[s]"), 0, 0)
        end = draft.add_months(np.zeros(1, np.int64), np.array([cfg.months]))
        return cls(draft.start, int(end[0]), int(draft.month_index(end - 1)[0]) + 1)

    def absolute(self, t: Arr) -> Arr:
        return self.start + t.astype("m8[s]")

    def month_index(self, t: Arr) -> Arr:
        """Calendar months between the month of ``start`` and that of ``t``."""
        months = self.absolute(t).astype("M8[M]") - self.start.astype("M8[M]")
        return months.astype(np.int64)

    def add_months(self, t: Arr, k: Arr) -> Arr:
        """``t`` plus ``k`` calendar months (day clipped to the month's end)."""
        month = self.absolute(t).astype("M8[M]")
        into = (self.absolute(t) - month.astype("M8[s]")).astype(np.int64)
        target = month + np.asarray(k).astype("m8[M]")
        days = ((target + 1).astype("M8[D]") - target.astype("M8[D]")).astype(np.int64)
        into = np.minimum(into // DAY, days - 1) * DAY + into % DAY
        return (target.astype("M8[s]") + into.astype("m8[s]") - self.start).astype(np.int64)

    def month_start(self, m: Arr) -> Arr:
        first = (self.start.astype("M8[M]") + m.astype("m8[M]")).astype("M8[s]")
        return (first - self.start).astype(np.int64)

    def to_datetime(self, t: Arr) -> Arr:
        """Simulated seconds (``NAT`` = missing) as ``datetime64[us]``."""
        missing = t == NAT
        us = self.start.astype("M8[us]").astype(np.int64) + np.where(missing, 0, t) * 1_000_000
        us[missing] = NAT
        return us.view("M8[us]")
