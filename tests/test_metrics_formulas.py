"""Every worked example of METRICS.md, with the exact number, and the error cases."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from churnml.errors import EmptyDataError
from churnml.metrics import formulas as f


def test_churn_rate_of_50_lost_out_of_1000_is_5_percent() -> None:
    assert f.churn_rate(50, 1000) == 5.0


def test_retention_rate_with_70_at_start_30_new_and_90_at_end_is_85_714_percent() -> None:
    assert f.retention_rate(end=90, new=30, start=70) == pytest.approx(600 / 7, rel=1e-12)
    assert round(f.retention_rate(90, 30, 70), 3) == 85.714


def test_churn_is_100_minus_retention_when_no_one_is_acquired() -> None:
    assert f.churn_from_retention(22.5) == 77.5
    assert f.churn_rate(775, 1000) == 100 - f.retention_rate(end=225, new=0, start=1000)


def test_repeat_purchase_rate_of_200_repeat_customers_out_of_1000_is_20_percent() -> None:
    assert f.repeat_purchase_rate(200, 1000) == 20.0


def test_average_order_value_of_20000_over_400_orders_is_50() -> None:
    assert f.aov(20_000, 400) == 50.0


def test_purchase_frequency_of_400_orders_by_180_customers_is_2_22() -> None:
    assert f.purchase_frequency(400, 180) == pytest.approx(2.2222222222, rel=1e-9)


def test_customer_value_is_aov_times_frequency() -> None:
    assert f.customer_value(50, 2.22) == pytest.approx(111.0)
    assert f.customer_value(50, f.purchase_frequency(400, 180)) == pytest.approx(111.111111, rel=1e-6)


def test_historical_clv_is_50_times_4_times_5_and_111_times_5() -> None:
    assert f.historical_clv(f.customer_value(50, 4), 5) == 1000.0
    assert f.historical_clv(111, 5) == 555.0


def test_margin_clv_subtracts_acquisition_and_serving_costs() -> None:
    assert f.margin_clv(1000, acquisition_cost=200, serving_cost=150) == 650.0


def test_nps_of_90_promoters_70_passives_40_detractors_is_25_not_20() -> None:
    assert f.nps(90, 70, 40) == 25.0


def test_nps_from_scores_counts_9_and_10_as_promoters_and_0_to_6_as_detractors() -> None:
    scores = [10] * 45 + [9] * 45 + [8] * 35 + [7] * 35 + [6] * 20 + [0] * 20
    assert f.nps_from_scores(scores) == 25.0
    assert f.nps_from_scores([10, 9, 7, 3]) == 25.0


def test_csat_of_400_satisfied_out_of_500_is_80_percent() -> None:
    assert f.csat(400, 500) == 80.0


def test_csat_from_scores_counts_the_top_two_points_unless_configured() -> None:
    scores = [5] * 300 + [4] * 100 + [3] * 60 + [1] * 40
    assert f.csat_from_scores(scores) == 80.0
    assert f.csat_from_scores(scores, satisfied_min=5) == 60.0


def test_ces_is_the_mean_of_1_to_7_answers() -> None:
    assert f.ces([1, 2, 7, 6]) == 4.0


def test_cli_is_the_mean_of_the_three_question_means() -> None:
    assert f.cli([6, 4], [5], [2, 3]) == pytest.approx((5 + 5 + 2.5) / 3)


def test_mrr_of_100_accounts_at_50_is_5000_and_arpa_gives_50_back() -> None:
    assert f.mrr([50.0] * 100) == 5000.0
    assert f.arpa(5000.0, 100) == 50.0


def test_expansion_mrr_counts_only_increases_of_accounts_already_paying() -> None:
    start = [10.0, 30.0, 0.0, 20.0]
    end = [25.0, 0.0, 40.0, 20.0]
    assert f.expansion_mrr(start, end) == 15.0


def test_cac_is_spend_over_new_customers() -> None:
    assert f.cac(5000, 40) == 125.0


def test_loyalty_rates_are_percentages_of_their_base() -> None:
    assert f.loyalty_participation_rate(250, 1000) == 25.0
    assert f.loyalty_redemption_rate(300, 1200) == 25.0
    assert f.loyalty_active_participation(100, 250) == 40.0


def test_fcr_and_referral_rate_are_percentages() -> None:
    assert f.fcr(70, 100) == 70.0
    assert f.referral_rate(12, 48) == 25.0


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (f.churn_rate, (0, 0)),
        (f.retention_rate, (0, 0, 0)),
        (f.repeat_purchase_rate, (0, 0)),
        (f.aov, (10.0, 0)),
        (f.purchase_frequency, (3, 0)),
        (f.nps, (0, 0, 0)),
        (f.csat, (0, 0)),
        (f.arpa, (100.0, 0)),
        (f.cac, (100.0, 0)),
        (f.loyalty_participation_rate, (0, 0)),
        (f.loyalty_redemption_rate, (5, 0)),
        (f.loyalty_active_participation, (0, 0)),
        (f.fcr, (0, 0)),
        (f.referral_rate, (0, 0)),
    ],
)
def test_a_zero_denominator_raises_empty_data_error_not_zero(
    call: Callable[..., float], args: tuple[float, ...]
) -> None:
    with pytest.raises(EmptyDataError, match="undefined"):
        call(*args)


@pytest.mark.parametrize("call", [f.nps_from_scores, f.csat_from_scores, f.ces, f.cli])
def test_no_answers_raise_empty_data_error(call: Callable[..., float]) -> None:
    with pytest.raises(EmptyDataError):
        call([])


@pytest.mark.parametrize(
    ("call", "scores", "scale"),
    [
        (f.nps_from_scores, [10, 11], "0-10"),
        (f.csat_from_scores, [0, 5], "1-5"),
        (f.ces, [8], "1-7"),
        (f.cli, [np.nan], "1-6"),
    ],
)
def test_answers_outside_their_scale_raise_a_value_error_naming_the_scale(
    call: Callable[..., float], scores: list[float], scale: str
) -> None:
    with pytest.raises(ValueError, match=scale):
        call(scores)


def test_a_numerator_larger_than_its_denominator_is_rejected() -> None:
    with pytest.raises(ValueError, match="cannot exceed"):
        f.churn_rate(11, 10)
    with pytest.raises(ValueError, match="exceed"):
        f.retention_rate(end=5, new=6, start=10)


def test_negative_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        f.purchase_frequency(-1, 10)
    with pytest.raises(ValueError, match=">= 0"):
        f.mrr([10.0, -1.0])


def test_expansion_mrr_needs_aligned_accounts() -> None:
    with pytest.raises(ValueError, match="accounts"):
        f.expansion_mrr([1.0, 2.0], [1.0])


def test_formulas_return_plain_floats() -> None:
    assert type(f.churn_rate(np.int64(1), np.int64(4))) is float
    assert type(f.ces(np.array([1, 2]))) is float
