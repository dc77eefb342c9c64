"""Tests of churnml.evaluate on hand-computed examples.

The main example: ten customers, four churners, already sorted by score:

    rank   1    2    3    4    5    6    7    8    9    10
    y      1    0    1    1    0    0    1    0    0    0
    p    .95  .85  .75  .65  .55  .45  .35  .25  .15  .05
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from churnml import evaluate as ev
from churnml.errors import ConfigError, EmptyDataError, SchemaError

Y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0])
P = np.array([0.95, 0.85, 0.75, 0.65, 0.55, 0.45, 0.35, 0.25, 0.15, 0.05])


def test_roc_auc_counts_the_churner_stayer_pairs_ranked_right() -> None:
    # negatives ranked below each churner: 6 + 5 + 5 + 3 = 19 of 4 * 6 = 24 pairs
    assert ev.roc_auc(Y, P) == pytest.approx(19 / 24)


def test_pr_auc_is_the_mean_precision_at_each_churner() -> None:
    assert ev.pr_auc(Y, P) == pytest.approx((1 / 1 + 2 / 3 + 3 / 4 + 4 / 7) / 4)


def test_precision_and_lift_at_the_top_share() -> None:
    assert ev.precision_at(Y, P, 0.1) == 1.0
    assert ev.lift_at(Y, P, 0.1) == pytest.approx(1.0 / 0.4)
    assert ev.precision_at(Y, P, 0.3) == pytest.approx(2 / 3)
    assert ev.lift_at(Y, P, 0.3) == pytest.approx((2 / 3) / 0.4)
    assert ev.precision_at(Y, P, 1.0) == pytest.approx(0.4)  # everyone: the base rate


def test_tied_scores_count_with_their_mean_outcome_whatever_the_row_order() -> None:
    y = np.array([1, 0, 0, 1, 0, 0])
    s = np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.1])
    # top 2 = the 0.9 churner + one of four tied rows holding one churner: 1 + 1/4
    assert ev.precision_at(y, s, 2 / 6) == pytest.approx(1.25 / 2)
    order = np.array([3, 0, 5, 2, 4, 1])
    assert ev.precision_at(y[order], s[order], 2 / 6) == pytest.approx(1.25 / 2)


def test_cumulative_gains_in_five_bins_of_two() -> None:
    table = ev.cumulative_gains(Y, P, n_bins=5)
    assert table["n"].tolist() == [2, 2, 2, 2, 2]
    assert table["churners"].tolist() == [1, 2, 0, 1, 0]
    assert table["churners_cum"].tolist() == [1, 3, 3, 4, 4]
    assert table["gain"].tolist() == pytest.approx([0.25, 0.75, 0.75, 1.0, 1.0])
    assert table["precision"].tolist() == pytest.approx([0.5, 0.75, 0.5, 0.5, 0.4])
    assert table["lift"].tolist() == pytest.approx([1.25, 1.875, 1.25, 1.25, 1.0])


def test_brier_and_log_loss_equal_their_formulas() -> None:
    assert ev.brier(Y, P) == pytest.approx(float(np.mean((P - Y) ** 2)))
    assert ev.brier(Y, P) == pytest.approx(1.925 / 10)
    hand = -sum(math.log(p if y else 1 - p) for y, p in zip(Y, P, strict=True)) / 10
    assert ev.log_loss(Y, P) == pytest.approx(hand)


def test_log_loss_clips_certain_mistakes_instead_of_returning_infinity() -> None:
    assert ev.log_loss([1, 0], [0.0, 1.0]) == pytest.approx(-math.log(1e-15), rel=1e-4)


def test_ece_with_one_customer_per_bin_is_the_mean_absolute_error() -> None:
    assert ev.expected_calibration_error(Y, P) == pytest.approx(float(np.mean(np.abs(Y - P))))
    assert ev.expected_calibration_error(Y, P) == pytest.approx(0.36)


def test_calibration_table_and_ece_in_equal_width_and_equal_mass_bins() -> None:
    y = np.array([0, 1, 0, 1, 1, 0, 1])
    p = np.array([0.12, 0.18, 0.15, 0.62, 0.68, 0.65, 0.91])
    table = ev.calibration_table(y, p)
    assert table["bin"].tolist() == [1, 6, 9]
    assert table["lower"].tolist() == pytest.approx([0.1, 0.6, 0.9])
    assert table["n"].tolist() == [3, 3, 1]
    assert table["mean_predicted"].tolist() == pytest.approx([0.15, 0.65, 0.91])
    assert table["observed_rate"].tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    ece = (3 * (1 / 3 - 0.15) + 3 * (2 / 3 - 0.65) + 1 * (1 - 0.91)) / 7
    assert ev.expected_calibration_error(y, p) == pytest.approx(ece)
    # equal mass, two bins split at the median 0.62: {.12, .18, .15} and {.62, .68, .65, .91}
    halves = ev.calibration_table(y, p, n_bins=2, strategy="quantile")
    assert halves["n"].tolist() == [3, 4]
    assert halves["mean_predicted"].tolist() == pytest.approx([0.15, 2.86 / 4])
    ece2 = (3 * (1 / 3 - 0.15) + 4 * (0.75 - 2.86 / 4)) / 7
    assert ev.expected_calibration_error(y, p, n_bins=2, strategy="quantile") == pytest.approx(ece2)


def test_classification_report_has_stable_names_and_agrees_with_each_metric() -> None:
    report = ev.classification_report(pd.Series(Y.astype(bool)), pd.Series(P))
    assert list(report) == [
        "roc_auc", "pr_auc", "lift_top_decile", "precision_top_decile", "brier", "log_loss", "ece", "base_rate",
    ]
    assert report["roc_auc"] == pytest.approx(19 / 24)
    assert report["lift_top_decile"] == pytest.approx(ev.cumulative_gains(Y, P)["lift"].iloc[0])
    assert report["precision_top_decile"] == 1.0
    assert report["ece"] == pytest.approx(0.36)
    assert report["base_rate"] == pytest.approx(0.4)
    assert all(isinstance(v, float) for v in report.values())


def test_profit_curve_without_values_ranks_by_probability() -> None:
    y, p = np.array([1, 0, 1, 0]), np.array([0.8, 0.6, 0.3, 0.1])
    curve = ev.profit_curve(y, p, contact_cost=0.1, offer_cost=0.2, save_rate=0.5)
    # per customer: expected 0.5 * p * (1 - 0.2) - 0.1, realised 0.5 * y * 0.8 - 0.1
    assert curve["k"].tolist() == [0, 1, 2, 3, 4]
    assert curve["expected_profit"].tolist() == pytest.approx([0.0, 0.22, 0.36, 0.38, 0.32])
    assert curve["realised_profit"].tolist() == pytest.approx([0.0, 0.3, 0.2, 0.5, 0.4])
    assert ev.best_k(curve) == 3
    assert ev.best_k(curve, by="realised_profit") == 3


def test_profit_curve_with_values_ranks_by_expected_value_net_of_the_offer() -> None:
    y, p = np.array([1, 0, 1, 0]), np.array([0.8, 0.6, 0.3, 0.1])
    value = np.array([100.0, 500.0, 50.0, 1000.0])
    curve = ev.profit_curve(y, p, value, contact_cost=5.0, offer_cost=10.0, save_rate=0.5)
    # p * (v - 10) = 72, 294, 12, 99: contact order 2nd, 4th, 1st, 3rd customer
    assert curve["expected_churners"].tolist() == pytest.approx([0.0, 0.6, 0.7, 1.5, 1.8])
    assert curve["churners"].tolist() == pytest.approx([0.0, 0.0, 0.0, 1.0, 2.0])
    assert curve["expected_profit"].tolist() == pytest.approx([0.0, 142.0, 186.5, 217.5, 218.5])
    assert curve["realised_profit"].tolist() == pytest.approx([0.0, -5.0, -10.0, 30.0, 45.0])
    assert ev.best_k(curve) == 4


def test_contacting_nobody_is_best_when_every_contact_loses_money() -> None:
    curve = ev.profit_curve([1, 0, 1], [0.9, 0.5, 0.2], contact_cost=1.0, offer_cost=0.0, save_rate=0.5)
    assert ev.best_k(curve) == 0


def test_metrics_reject_one_class_mismatched_or_missing_inputs() -> None:
    with pytest.raises(EmptyDataError, match="both classes"):
        ev.roc_auc([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(EmptyDataError, match="both classes"):
        ev.classification_report([1, 1], [0.1, 0.2])
    with pytest.raises(SchemaError, match="same length"):
        ev.pr_auc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(SchemaError, match="NaN"):
        ev.brier([0, 1], [0.1, np.nan])
    with pytest.raises(SchemaError, match=r"\[0, 1\]"):
        ev.log_loss([0, 1], [0.1, 1.5])
    with pytest.raises(SchemaError, match="0/1"):
        ev.roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(SchemaError, match="different indexes"):
        ev.roc_auc(pd.Series([0, 1], index=["a", "b"]), pd.Series([0.1, 0.2], index=["b", "a"]))
    with pytest.raises(ConfigError, match="k is the share"):
        ev.precision_at([0, 1], [0.1, 0.2], k=0.0)
    with pytest.raises(ConfigError, match="save_rate"):
        ev.profit_curve([0, 1], [0.1, 0.2], contact_cost=1.0, offer_cost=0.0, save_rate=1.5)
