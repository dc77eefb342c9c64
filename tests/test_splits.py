"""Choosing the training, calibration and test cutoffs from the data span (hand-computed dates)."""

from __future__ import annotations

import pandas as pd

from churnml.config import load_config
from churnml.dataset import split_cutoffs
from churnml.windows import DataSpan

# Data from 2024-01-01 to 2024-06-30 (end exclusive 2024-07-01). A 30-day horizon trained as it
# is: test = 07-01 - 30 d = 06-01; with the embargo the calibration cutoff is 30 days earlier,
# 05-02, and the newest training cutoff one step (7 d) before it, 04-25. The earliest usable
# cutoff is 01-01 + 14 d = 01-15, so weekly cutoffs run back from 04-25 to 01-18 (15 of them).
SPAN = DataSpan(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-01"))
BASE = ["time.horizon_days=30", "time.train_horizon_days=null", "time.step_days=7", "time.min_history_days=14"]


def _splits(*overrides: str):
    return split_cutoffs(SPAN, load_config(None, [*BASE, *overrides]))


def test_weekly_training_cutoffs_run_back_from_one_step_before_calibration():
    s = _splits("time.max_train_cutoffs=null")
    assert (s.test, s.calibration) == (pd.Timestamp("2024-06-01"), pd.Timestamp("2024-05-02"))
    assert len(s.train) == 15
    assert (s.train[0], s.train[-1]) == (pd.Timestamp("2024-01-18"), pd.Timestamp("2024-04-25"))
    assert all(b - a == pd.Timedelta(days=7) for a, b in zip(s.train, s.train[1:], strict=False))


def test_max_train_cutoffs_keeps_the_newest_ones_and_moves_nothing_else(caplog):
    caplog.set_level("INFO", logger="churnml.dataset")
    s = _splits("time.max_train_cutoffs=3")
    assert s.train == (pd.Timestamp("2024-04-11"), pd.Timestamp("2024-04-18"), pd.Timestamp("2024-04-25"))
    assert (s.test, s.calibration) == (pd.Timestamp("2024-06-01"), pd.Timestamp("2024-05-02"))
    assert "3 newest of 15 training cutoffs" in caplog.text


def test_a_cap_above_the_number_of_cutoffs_changes_nothing():
    assert _splits("time.max_train_cutoffs=15").train == _splits("time.max_train_cutoffs=null").train
