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


def test_the_longest_trainable_horizon_is_the_last_that_leaves_a_training_cutoff():
    import pytest

    from churnml.dataset import longest_trainable_horizon
    from churnml.errors import DataWindowError

    # Training needs end - 2 H (test, then the embargoed calibration) - 7 (one step) >= 01-15: 2 H <= 161, H <= 80.
    # H = 80: test 04-12, calibration 01-23, one training cutoff 01-16. One cutoff alone fits up to 181 days
    # (with one day of history: the minimum history is the training check's to name).
    assert longest_trainable_horizon(SPAN, load_config(None, BASE).time) == 80
    assert _splits("time.horizon_days=80").train == (pd.Timestamp("2024-01-16"),)
    with pytest.raises(DataWindowError, match=r"To fit, set time.horizon_days to at most 80 days, or "):
        _splits("time.horizon_days=81")
    with pytest.raises(DataWindowError) as err:  # past what one cutoff fits: training's limit first, then that
        _splits("time.horizon_days=200")
    assert str(err.value).startswith(
        "Training, which needs a training and a calibration cutoff before the test cutoff, fits time.horizon_days "
        "up to 80 days: set time.horizon_days to at most 80 days. For one cutoff alone (python -m churnml.features "
        "--labels): no cutoff has a matured label window: ")
    assert "The longest horizon that fits is 181 days" in str(err.value)
    # A shorter training horizon lets the asked one grow: 2 H is then H + 30.
    assert longest_trainable_horizon(SPAN, load_config(None, [*BASE, "time.train_horizon_days=30"]).time) == 131


def test_a_too_long_minimum_history_is_named_and_a_set_test_cutoff_gets_trainings_longest_horizon():
    import pytest

    from churnml.errors import DataWindowError

    with pytest.raises(DataWindowError) as err:  # the earliest usable cutoff 06-09 is after the test cutoff
        _splits("time.min_history_days=160")
    assert "set time.min_history_days to at most 115" in str(err.value)  # 04-25 - 01-01 = 115 days
    # A test cutoff of 06-01 matures up to 30 days, and training fits each of them (06-01 - H - 7 >= 01-15).
    with pytest.raises(DataWindowError) as err:
        _splits("time.test_cutoff=2024-06-01", "time.horizon_days=70")
    assert str(err.value).startswith("Training, which needs a training and a calibration cutoff before the test "
                                     "cutoff, fits time.horizon_days up to 30 days: set time.horizon_days to at "
                                     "most 30 days. For one cutoff alone")


def test_a_contractual_model_trains_on_the_asked_horizon_whatever_train_horizon_days_says():
    """The horizon move takes BG/NBD's base rate, a model of purchases: it says nothing of subscriptions."""
    from churnml.config import TimeConfig
    from churnml.dataset import training_horizon

    shorter = ["time.train_horizon_days=20"]
    assert _splits(*shorter).train_horizon_days == 20  # non-contractual: the 20-day window, moved to 30
    s = _splits(*shorter, "time.regime=contractual", "time.grace_days=0")
    assert (s.train_horizon_days, s.test_horizon_days) == (30, 30)
    assert s.calibration == pd.Timestamp("2024-05-02")  # test 06-01 - 30 days, as with the asked horizon
    assert training_horizon(TimeConfig(regime="contractual", horizon_days=273, train_horizon_days=120), 273) == 273
    assert training_horizon(TimeConfig(horizon_days=273, train_horizon_days=120), 273) == 120
    assert training_horizon(TimeConfig(horizon_days=90, train_horizon_days=120), 90) == 90


def test_the_fixes_for_too_little_history_offer_a_shorter_training_horizon_only_where_it_applies():
    import pytest

    from churnml.errors import DataWindowError

    late = ["time.horizon_days=60", "time.train_horizon_days=60", "time.min_history_days=100"]
    with pytest.raises(DataWindowError) as non:
        _splits(*late)
    assert "set time.train_horizon_days to at most" in str(non.value)
    with pytest.raises(DataWindowError) as con:
        _splits(*late, "time.regime=contractual", "time.grace_days=0")
    assert "train_horizon_days" not in str(con.value)
