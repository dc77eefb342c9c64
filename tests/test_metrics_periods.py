"""Retention KPIs per period and churn by segment, on a hand-typed log of 12 rows.

The log (2024, data end = 2024-04-26 exclusive, so April is incomplete):

    A  Jan 05 10, Jan 20 20, Mar 03 30
    B  Jan 10 50, Feb 14 25, Feb 14 5   (two rows on one day: two orders)
    C  Feb 02 40, Apr 10 -10            (a return: not a purchase)
    D  Mar 15 60, Mar 20 15, Apr 02 12
    E  Apr 25 100

By hand, per month (S at the start, N new, L lost = no purchase in the month):

    Jan  S=0 N=2 (A, B)  L=0        E=2   churn undefined
    Feb  S=2 (A, B) N=1 (C) L=1 (A)  E=2   churn 50, retention 50
    Mar  S=3 (A, B, C) N=1 (D) L=2 (B, C) E=2  churn 66.67, retention 33.33
    Apr  S=4 N=1 (E)  incomplete: L, E and the rates are missing
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest

from churnml.config import Config, TimeConfig
from churnml.datasets.cdnow import load_cdnow
from churnml.errors import ConfigError, DataWindowError, EmptyDataError, SchemaError
from churnml.labels import noncontractual_labels
from churnml.metrics import churn_by_segment, retention_kpis, rfm_table
from churnml.metrics.table_kpis import SOURCES
from tests.conftest import metrics_log


def ts(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values), dtype="datetime64[us]")


def ids(values: list[str]) -> pd.Series:
    return pd.Series(values, dtype="str")


@pytest.fixture
def tx() -> pd.DataFrame:
    return metrics_log()


@pytest.fixture
def subscriptions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ids(["A", "A", "B"]),
            "start": ts(["2023-12-01", "2024-02-10", "2024-01-15"]),
            "end": ts(["2024-02-10", None, "2024-02-20"]),
            "mrr": [10.0, 20.0, 30.0],
        }
    )


def col(kpis: pd.DataFrame, name: str) -> list[object]:
    return [None if pd.isna(v) else v for v in kpis[name].tolist()]


def test_the_customer_flow_matches_the_hand_computed_s_n_l_e(tx: pd.DataFrame) -> None:
    k = retention_kpis(tx)
    assert k["period"].tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert k["complete"].tolist() == [True, True, True, False]
    assert k["days"].tolist() == [31, 29, 31, 30]
    assert col(k, "customers_start") == [0, 2, 3, 4]
    assert col(k, "new_customers") == [2, 1, 1, 1]
    assert col(k, "lost_customers") == [0, 1, 2, None]
    assert col(k, "customers_end") == [2, 2, 2, None]
    assert col(k, "churn_rate")[:3] == [None, 50.0, pytest.approx(200 / 3)]
    assert col(k, "retention_rate")[:3] == [None, 50.0, pytest.approx(100 / 3)]
    assert col(k, "churn_rate")[3] is None and col(k, "retention_rate")[3] is None


def test_the_purchase_kpis_match_the_hand_computed_values(tx: pd.DataFrame) -> None:
    k = retention_kpis(tx)
    assert k["revenue"].tolist() == [80.0, 70.0, 105.0, 102.0]
    assert k["orders"].tolist() == [3, 3, 3, 2]
    assert k["purchasing_customers"].tolist() == [2, 2, 2, 2]
    assert k["repeat_customers"].tolist() == [1, 1, 1, 0]
    assert k["aov"].tolist() == pytest.approx([80 / 3, 70 / 3, 35.0, 51.0])
    assert k["purchase_frequency"].tolist() == [1.5, 1.5, 1.5, 1.0]
    assert k["repeat_purchase_rate"].tolist() == [50.0, 50.0, 50.0, 0.0]
    assert k["customer_value"].tolist() == pytest.approx([40.0, 35.0, 52.5, 51.0])


def test_rows_of_one_order_id_count_as_one_order(tx: pd.DataFrame) -> None:
    with_ids = tx.assign(order_id=pd.Series([f"o{i}" for i in range(12)], dtype="str"))
    with_ids.loc[5, "order_id"] = "o4"  # B's two rows of Feb 14 are one order
    with_ids.loc[0, "order_id"] = None  # a null id counts as its own order
    k = retention_kpis(with_ids)
    assert k["orders"].tolist() == [3, 2, 3, 2]
    assert k["repeat_customers"].tolist() == [1, 0, 1, 0]


def test_the_identities_of_the_flow_hold_in_every_complete_period(tx: pd.DataFrame) -> None:
    k = retention_kpis(tx)
    done = k.loc[k["complete"] & (k["customers_start"] > 0)]
    assert (done["customers_end"] == done["customers_start"] - done["lost_customers"] + done["new_customers"]).all()
    assert np.allclose(done["churn_rate"] + done["retention_rate"], 100.0)


def test_active_within_days_narrows_the_population_like_the_labels(tx: pd.DataFrame) -> None:
    k = retention_kpis(tx, TimeConfig(active_within_days=30))
    march = k.set_index("period").loc["2024-03"]
    assert (march["customers_start"], march["lost_customers"]) == (2, 2)  # B and C; A's Jan 20 is too old


def test_quarters_and_years_sum_the_same_purchases(tx: pd.DataFrame) -> None:
    q = retention_kpis(tx, freq="Q")
    assert q["period"].tolist() == ["2024Q1", "2024Q2"]
    assert q["revenue"].tolist() == [255.0, 102.0]
    assert q["new_customers"].tolist() == [4, 1]
    assert q["purchasing_customers"].tolist() == [4, 2]
    y = retention_kpis(tx, freq="Y")
    assert y["period"].tolist() == ["2024"] and y["revenue"].tolist() == [357.0]


def test_start_and_end_select_the_periods_and_the_config_supplies_defaults(tx: pd.DataFrame) -> None:
    k = retention_kpis(tx, start="2024-02-15", end="2024-04-01")
    assert k["period"].tolist() == ["2024-02", "2024-03"]
    cfg = Config.model_validate({"metrics": {"freq": "Q", "start": "2024-04-01"}})
    assert retention_kpis(tx, cfg)["period"].tolist() == ["2024Q2"]


def test_a_declared_data_end_completes_the_last_period(tx: pd.DataFrame) -> None:
    cfg = Config.model_validate({"data": {"end": "2024-05-01"}})
    k = retention_kpis(tx, cfg)
    april = k.set_index("period").loc["2024-04"]
    assert bool(april["complete"]) and april["lost_customers"] == 3  # A, B and C (a return only)
    assert april["customers_end"] == 4 - 3 + 1


def test_absent_tables_give_nan_and_a_reason_never_zero(tx: pd.DataFrame) -> None:
    k = retention_kpis(tx)
    reasons = k.attrs["not_available"]
    for table, metrics in SOURCES.items():
        for metric in metrics:
            assert k[metric].isna().all()
            assert reasons[metric] == f"no {table} table"


def test_surveys_give_nps_csat_ces_and_cli_per_period(tx: pd.DataFrame) -> None:
    surveys = pd.DataFrame(
        {
            "customer_id": ids(list("ABCDAABCABAA")),  # answers given together are one customer's each
            "timestamp": ts(["2024-01-03"] * 4 + ["2024-02-03"] + ["2024-01-04"] * 3 + ["2024-01-05"] * 2
                            + ["2024-01-06"] * 2),
            "survey": ["nps"] * 5 + ["csat"] * 3 + ["ces"] * 2 + ["cli"] * 2,
            "score": [10.0, 9.0, 7.0, 3.0, 6.0, 5.0, 4.0, 2.0, 2.0, 4.0, 6.0, 3.0],
            "question": pd.Series([None] * 10 + ["recommend", "buy_again"], dtype="str"),
        }
    )
    k = retention_kpis({"transactions": tx, "surveys": surveys}).set_index("period")
    assert k.loc["2024-01", "nps"] == 25.0 and k.loc["2024-02", "nps"] == -100.0
    assert k.loc["2024-01", "csat"] == pytest.approx(200 / 3)
    assert k.loc["2024-01", "ces"] == 3.0 and math.isnan(k.loc["2024-02", "ces"])
    assert k.loc["2024-01", "cli"] == 4.5
    cfg = Config.model_validate({"metrics": {"csat_satisfied_min": 5}})
    strict = retention_kpis({"transactions": tx, "surveys": surveys}, cfg).set_index("period")
    assert strict.loc["2024-01", "csat"] == pytest.approx(100 / 3)


def test_survey_and_ticket_rows_outside_the_reported_periods_are_named_not_dropped_silently(tx, caplog) -> None:
    # The periods run 2024-01 .. 2024-04 (2024-01-01 to 2024-05-01): X answered on 2023-12-20, Y on 2024-05-02.
    surveys = pd.DataFrame({"customer_id": ids(["X", "A", "Y"]), "timestamp": ts(["2023-12-20", "2024-01-10",
                                                                                   "2024-05-02"]),
                            "survey": ["nps"] * 3, "score": [10.0, 0.0, 10.0]})
    tickets = pd.DataFrame({"customer_id": ids(["A", "B"]), "opened_at": ts(["2024-02-01", "2023-11-30"]),
                            "first_contact_resolved": [True, True]})
    with caplog.at_level(logging.WARNING, logger="churnml.metrics.table_kpis"):
        k = retention_kpis({"transactions": tx, "surveys": surveys, "tickets": tickets}).set_index("period")
    assert k["nps"].tolist()[:1] == [-100.0] and k["nps"].iloc[1:].isna().all()  # A's 0 alone in January
    assert k.loc["2024-02", "fcr"] == 100.0
    warned = [r.getMessage() for r in caplog.records]
    assert ("table 'surveys': 2 of 3 rows (timestamp) fall outside the reported periods 2024-01 .. 2024-04 "
            "(2024-01-01 to 2024-05-01, exclusive) and count in no period's NPS, CSAT, CES or CLI (1 before, 1 at "
            "or after; e.g. customers X, Y). The periods run from metrics.start") in warned[0]
    assert warned[1].startswith("table 'tickets': 1 of 2 rows (opened_at) fall outside the reported periods")
    assert "count in no period's FCR (1 before, 0 at or after; e.g. customers B)" in warned[1] and len(warned) == 2
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="churnml.metrics.table_kpis"):
        retention_kpis({"transactions": tx, "surveys": surveys.iloc[[1]]})
        # A's January answer is inside the data, left out by an asked start: said at INFO only, even beside
        # an answer before the data that the asked periods hold anyway
        retention_kpis({"transactions": tx, "surveys": surveys.iloc[[1]]}, start="2024-02-01")
        early = surveys.iloc[[0, 1]].assign(timestamp=ts(["2024-01-02", "2024-01-10"]))  # 01-02: before the data
        retention_kpis({"transactions": tx, "surveys": early}, end="2024-01-06")  # 01-10 left out by the end
    assert caplog.records == []


def test_answers_repeated_at_one_moment_count_once_with_the_lowest_score_as_in_the_features(tx, caplog) -> None:
    """A's NPS 10 exported twice (two response ids) and once more as 8 at the same moment: one answer of 8 (a
    passive), with B's 3 (a detractor) and C's 10 (a promoter): NPS (1 - 1) / 3 = 0, not (3 - 1) / 5 = 40. A's CLI
    questions answered together stay two answers: (6 + 2) / 2 = 4."""
    surveys = pd.DataFrame({
        "customer_id": ids(["A", "A", "A", "B", "C", "A", "A"]),
        "timestamp": ts(["2024-01-10 10:00"] * 3 + ["2024-01-11 00:00", "2024-01-12 00:00"] + ["2024-01-13 00:00"] * 2),
        "survey": ["nps"] * 5 + ["cli"] * 2, "score": [10.0, 10.0, 8.0, 3.0, 10.0, 6.0, 2.0],
        "question": pd.Series([None] * 5 + ["recommend", "buy_again"], dtype="str"),
        "response_id": ["r1", "r2", "r3", "r4", "r5", "r6", "r6"],
    })
    with caplog.at_level(logging.WARNING, logger="churnml.metrics.table_kpis"):
        k = retention_kpis({"transactions": tx, "surveys": surveys}).set_index("period")
    assert (k.loc["2024-01", "nps"], k.loc["2024-01", "cli"]) == (0.0, 4.0)
    assert [r.getMessage() for r in caplog.records] == [
        "table 'surveys': 2 answer(s) repeat an answer of the same customer, survey type and question and moment "
        "(e.g. customer A, nps at 2024-01-10 10:00:00); NPS, CSAT, CES and "
        "CLI count each such group once, with its lowest score, as the srv_* features do. Fix: remove the repeated "
        "rows if the tool exported one answer twice (data.duplicates: drop removes only whole-row repeats), or "
        "give distinct answers their own times"]


def test_cli_answers_at_one_moment_without_a_question_are_the_index_questions_not_a_repeat(tx, caplog) -> None:
    """A's three CLI answers 6, 2 and 4 at one moment with no question column: the index's three questions,
    whose mean is January's CLI, (6 + 2 + 4) / 3 = 4 (not the lowest, 2), and no repeat warning."""
    surveys = pd.DataFrame({"customer_id": ids(["A"] * 3), "timestamp": ts(["2024-01-05"] * 3),
                            "survey": ["cli"] * 3, "score": [6.0, 2.0, 4.0]})
    with caplog.at_level(logging.WARNING, logger="churnml.metrics.table_kpis"):
        k = retention_kpis({"transactions": tx, "surveys": surveys}).set_index("period")
    assert k.loc["2024-01", "cli"] == 4.0
    assert not [r for r in caplog.records if "repeat an answer" in r.getMessage()]


def test_cli_weighs_each_question_the_same_and_warns_when_some_answers_have_no_question(tx, caplog) -> None:
    """January: recommend 6, 6 and buy again 3 -> (6 + 3) / 2 = 4.5 (not 5, the answers' mean). February has an
    answer without a question: the mean of its answers, (2 + 4) / 2 = 3, with a warning naming the customer."""
    surveys = pd.DataFrame({
        "customer_id": ids(["A", "B", "C", "D", "E"]),
        "timestamp": ts(["2024-01-06", "2024-01-07", "2024-01-08", "2024-02-06", "2024-02-07"]),
        "survey": ["cli"] * 5, "score": [6.0, 6.0, 3.0, 2.0, 4.0],
        "question": pd.Series(["recommend", "recommend", "buy_again", "recommend", None], dtype="str"),
    })
    with caplog.at_level(logging.WARNING):
        k = retention_kpis({"transactions": tx, "surveys": surveys}).set_index("period")
    assert (k.loc["2024-01", "cli"], k.loc["2024-02", "cli"]) == (4.5, 3.0)
    assert "table 'surveys': 1 of 5 CLI answers have no question (e.g. customers ['E'])" in caplog.text


def test_a_survey_type_with_no_answers_is_reported_as_not_available(tx: pd.DataFrame) -> None:
    surveys = pd.DataFrame(
        {"customer_id": ids(["A"]), "timestamp": ts(["2024-01-03"]), "survey": ["nps"], "score": [9.0]}
    )
    k = retention_kpis({"transactions": tx, "surveys": surveys})
    assert k.attrs["not_available"]["ces"] == "no ces answers in the surveys table"
    assert "nps" not in k.attrs["not_available"]


def test_subscriptions_give_mrr_arpa_and_expansion_at_each_period_end(
    tx: pd.DataFrame, subscriptions: pd.DataFrame
) -> None:
    k = retention_kpis({"transactions": tx, "subscriptions": subscriptions})
    assert k["mrr"].tolist() == [40.0, 20.0, 20.0, 20.0]
    assert k["arpa"].tolist() == [20.0, 20.0, 20.0, 20.0]
    assert k["expansion_mrr"].tolist() == [0.0, 10.0, 0.0, 0.0]  # A's upgrade from 10 to 20 in Feb


def test_an_empty_mrr_counts_as_zero_with_a_warning_naming_the_rows(
    tx: pd.DataFrame, subscriptions: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    blank = subscriptions.assign(mrr=subscriptions["mrr"].where(subscriptions["customer_id"] != "A"))
    with caplog.at_level("WARNING", logger="churnml.metrics.table_kpis"):
        k = retention_kpis({"transactions": tx, "subscriptions": blank})
    # A's two subscriptions count 0: January B's 30 over A and B, then A alone at 0
    assert k["mrr"].tolist() == [30.0, 0.0, 0.0, 0.0]
    assert k["arpa"].tolist() == [15.0, 0.0, 0.0, 0.0]
    assert ("table 'subscriptions', column 'mrr': 2 of 3 rows are empty (e.g. customers ['A', 'A']); MRR, ARPA "
            "and expansion MRR count them as 0. Fix: fill mrr (0 for a free plan)") in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="churnml.metrics.table_kpis"):
        retention_kpis({"transactions": tx, "subscriptions": subscriptions})
    assert "column 'mrr'" not in caplog.text


def test_subscriptions_without_an_mrr_column_are_reported_as_not_available(
    tx: pd.DataFrame, subscriptions: pd.DataFrame
) -> None:
    k = retention_kpis({"transactions": tx, "subscriptions": subscriptions.drop(columns="mrr")})
    assert k["mrr"].isna().all()
    assert k.attrs["not_available"]["mrr"] == "no mrr column in the subscriptions table"


def test_cac_fcr_referral_and_loyalty_match_the_hand_computed_values(tx: pd.DataFrame, caplog) -> None:
    tables = {
        "transactions": tx,
        "marketing_spend": pd.DataFrame(
            {
                "period": ts(["2024-01-01", "2024-02-01", "2024-02-01", "2024-03-01"]),
                "spend": [100.0, 30.0, 20.0, 0.0],
            }
        ),
        "tickets": pd.DataFrame(
            {
                "customer_id": ids(["A", "B", "B"]),
                "opened_at": ts(["2024-01-02", "2024-01-12", "2024-01-13"]),
                "first_contact_resolved": pd.array([True, False, None], dtype="boolean"),
            }
        ),
        "customers": pd.DataFrame(
            {"customer_id": ids(["C", "D", "E"]), "referred_by": pd.Series(["A", None, ""], dtype="str")}
        ),
        "loyalty": pd.DataFrame(
            {
                "customer_id": ids(["A", "D", "Z"]),
                "enrolled_at": ts(["2024-01-10", "2024-03-20", "2024-01-01"]),
                "points_issued": [100.0, 50.0, 10.0],
                "points_redeemed": [40.0, 0.0, 10.0],
            }
        ),
    }
    k = retention_kpis(tables)
    assert col(k, "cac") == [50.0, 50.0, 0.0, None]  # no spend rows in April: unknown, not 0
    assert col(k, "fcr") == [50.0, None, None, None]  # the ticket with an unknown outcome is left out
    # With resolved_at, a ticket still open was not resolved in the first contact: it counts, as not resolved
    # (3 tickets in January: A resolved in the first contact, B not, B's third still open); a resolved one with
    # no flag stays unknown.
    tables["tickets"] = tables["tickets"].assign(resolved_at=ts(["2024-01-02", "2024-01-14", None]))
    assert col(retention_kpis(tables), "fcr") == [pytest.approx(100 / 3), None, None, None]
    # A still open but flagged resolved in the first contact: not resolved, whatever the flag (0 of 3), named.
    tables["tickets"] = tables["tickets"].assign(resolved_at=ts([None, "2024-01-14", None]))
    with caplog.at_level(logging.WARNING, logger="churnml.metrics.table_kpis"):
        assert col(retention_kpis(tables), "fcr") == [0.0, None, None, None]
    repeated = tables["tickets"].set_axis([0, 0, 1])  # an index with repeated labels (a concat): the same FCR
    assert col(retention_kpis({**tables, "tickets": repeated}), "fcr") == [0.0, None, None, None]
    assert ("table 'tickets': 1 ticket(s) have first_contact_resolved=true and no resolved_at (still open), e.g. "
            "customers A opened at 2024-01-02 00:00:00; FCR counts them as not resolved in the first contact. Fix: "
            "fill in resolved_at (the moment of that first contact), or the flag false") in caplog.text
    tables["tickets"] = tables["tickets"].assign(resolved_at=ts(["2024-01-02", "2024-01-14", "2024-01-20"]))
    assert col(retention_kpis(tables), "fcr") == [50.0, None, None, None]
    assert col(k, "referral_rate") == [0.0, 100.0, 0.0, 0.0]
    assert k["loyalty_participation_rate"].tolist() == pytest.approx([50.0, 100 / 3, 50.0, 40.0])
    assert k["loyalty_active_participation"].tolist() == pytest.approx([50.0, 0.0, 200 / 3, 100 / 3])
    assert k["loyalty_redemption_rate"].tolist() == pytest.approx([50 / 110 * 100] * 2 + [31.25] * 2)
    # D (from March) redeemed 30 of an unknown number: left out, not 30 more redeemed of 0 more issued (80 / 110)
    tables["loyalty"] = tables["loyalty"].assign(points_issued=[100.0, np.nan, 10.0], points_redeemed=[40.0, 30.0, 10.0])
    assert col(retention_kpis(tables), "loyalty_redemption_rate") == pytest.approx([50 / 110 * 100] * 4)
    assert k.attrs["not_available"] == {m: "no surveys table" for m in SOURCES["surveys"]} | {
        m: "no subscriptions table" for m in SOURCES["subscriptions"]
    } | {"historical_clv": "set metrics.lifespan_years", "margin_clv": "set metrics.lifespan_years",
         "value_per_year": "needs a year of data before a period's end; the data starts on 2024-01-05"}
    with_lifespan = retention_kpis(tables, Config.model_validate({"metrics": {"lifespan_years": 2}}))
    assert with_lifespan.attrs["not_available"]["historical_clv"] == (  # no value to multiply
        "needs a year of data before a period's end; the data starts on 2024-01-05")


def _clv_tables(spend: bool) -> dict[str, pd.DataFrame]:
    tx = pd.DataFrame({
        "customer_id": ids(["A", "A", "B", "B", "C", "B"]),
        "timestamp": ts(["2023-01-01 00:00:00", "2023-06-01 00:00:00", "2023-07-01 00:00:00", "2023-07-01 12:00:00", "2024-01-10 00:00:00", "2024-02-01 00:00:00"]),
        "amount": [100.0, 50.0, 30.0, -10.0, 40.0, 20.0],
    })
    out = {"transactions": tx}
    if spend:
        out["marketing_spend"] = pd.DataFrame({"period": ts(["2023-01-01", "2024-01-01"]), "spend": [40.0, 10.0]})
    return out


def test_value_per_year_and_the_historical_and_margin_clv_match_the_hand_computed_values() -> None:
    cfg = Config.model_validate({"metrics": {"freq": "Y", "lifespan_years": 2, "serving_cost_per_year": 5}})
    k = retention_kpis(_clv_tables(spend=True), cfg)
    assert k["period"].tolist() == ["2023", "2024"] and k["complete"].tolist() == [True, False]
    # 2023: [2023-01-01, 2024-01-01): revenue 100 + 50 + 30 - 10 = 170 (the return nets), 3 orders, 2 buyers:
    # AOV 170/3 x APF 3/2 = 85. 2024 is still running: its year ends with the data (2024-02-02, the day after
    # the last purchase) and starts on 2023-02-02: 50 + 30 - 10 + 40 + 20 = 130 over 4 orders and 3 buyers
    assert k["value_per_year"].tolist() == pytest.approx([85.0, 130 / 3])
    assert k["historical_clv"].tolist() == pytest.approx([170.0, 260 / 3])  # x 2 years
    # less the CAC of the same year and 5 a year for 2 years. 2023: spend 40 / 2 acquired (A, B) = 20. 2024's year
    # [2023-02-02, 2024-02-02): spend 10 (the row of 2024-01-01) / 2 acquired (B in July, C in January) = 5
    assert k["margin_clv"].tolist() == pytest.approx([170.0 - 20 - 10, 260 / 3 - 5 - 10])
    assert "historical_clv" not in k.attrs["not_available"] and "margin_clv" not in k.attrs["not_available"]


def test_the_year_is_a_calendar_year_from_the_first_day_of_data_and_equals_value_per_year() -> None:
    from churnml.metrics.periods import value_per_year

    tx = pd.DataFrame({  # the data starts at 09:00 on a leap year's first day
        "customer_id": ids(["A", "B", "A", "C"]),
        "timestamp": ts(["2024-01-01 09:00:00", "2024-06-01 00:00:00", "2024-12-31 23:00:00", "2025-03-01 00:00:00"]),
        "amount": [1000.0, 10.0, 20.0, 5.0],
    })
    k = retention_kpis(tx, Config.model_validate({"metrics": {"freq": "Y"}}))
    # 2024 is a whole year of data: 366 days, its first sale included (1030 over A and B)
    assert k["value_per_year"].tolist() == pytest.approx([515.0, 35 / 3])  # 2025 (running): from 2024-03-02, 3 buyers
    assert k["value_per_year"].iloc[0] == pytest.approx(k["customer_value"].iloc[0])
    stops = [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-03-02")]  # the period's end, the data's end
    assert [value_per_year(tx, e) for e in stops] == pytest.approx(k["value_per_year"].tolist(), rel=1e-12)


def test_the_clv_columns_say_which_setting_or_table_they_lack_and_a_short_year_has_no_value() -> None:
    reasons = {}
    for sets, spend in (({}, True), ({"lifespan_years": 2}, True), ({"lifespan_years": 2, "serving_cost_per_year": 0},
                                                                    False)):
        k = retention_kpis(_clv_tables(spend), Config.model_validate({"metrics": {"freq": "Y", **sets}}))
        reasons[len(sets)] = {c: k.attrs["not_available"].get(c) for c in ("historical_clv", "margin_clv")}
        assert k["value_per_year"].tolist() == pytest.approx([85.0, 130 / 3])  # needs no setting
    assert reasons == {
        0: {"historical_clv": "set metrics.lifespan_years", "margin_clv": "set metrics.lifespan_years"},
        1: {"historical_clv": None, "margin_clv": "set metrics.serving_cost_per_year"},
        2: {"historical_clv": None, "margin_clv": "no marketing_spend table"},
    }
    monthly = retention_kpis(_clv_tables(False), Config.model_validate({"metrics": {"freq": "M"}}))
    # only periods ending at least 365 days after the first purchase (2023-01-01) have a year's value
    assert monthly["value_per_year"].notna().tolist() == [False] * 11 + [True] * 3  # from December 2023
    with pytest.raises(ValueError, match="lifespan_years"):
        Config.model_validate({"metrics": {"lifespan_years": 0}})


def test_the_contractual_regime_counts_subscribers_and_spells(
    tx: pd.DataFrame, subscriptions: pd.DataFrame
) -> None:
    tables = {"transactions": tx, "subscriptions": subscriptions}
    k = retention_kpis(tables, TimeConfig(regime="contractual", grace_days=0))
    assert col(k, "customers_start") == [1, 2, 1, 1]
    assert col(k, "new_customers") == [1, 0, 0, 0]  # B's first subscription starts in January
    assert col(k, "lost_customers") == [0, 1, 0, None]  # B's only subscription ends Feb 20
    assert col(k, "churn_rate")[:3] == [0.0, 50.0, 0.0]
    graced = retention_kpis(tables, TimeConfig(regime="contractual", grace_days=30))
    assert graced["complete"].tolist() == [True, True, False, False]  # a renewal may still come


def test_the_contractual_regime_without_subscriptions_names_the_missing_table(tx: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="subscriptions"):
        retention_kpis(tx, TimeConfig(regime="contractual"))


def test_empty_or_missing_transactions_raise_a_clear_error(tx: pd.DataFrame) -> None:
    with pytest.raises(EmptyDataError, match="transactions"):
        retention_kpis(tx.iloc[:0])
    with pytest.raises(SchemaError, match="transactions"):
        retention_kpis({"surveys": None})


def test_an_unknown_frequency_or_an_empty_range_is_rejected(tx: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="freq"):
        retention_kpis(tx, freq="W")
    with pytest.raises(DataWindowError, match=r"no period to report: the data ends at 2024-04-26 00:00:00 \(exclusive\), "
                       r"not after the start 2024-06-01 00:00:00: set metrics.start before the data's end"):
        retention_kpis(tx, start="2024-06-01")
    with pytest.raises(DataWindowError, match=r"no period to report: the asked end 2023-12-01 00:00:00 is not after the "
                       r"start 2024-01-05 00:00:00: set metrics.end after the start"):
        retention_kpis(tx, Config.model_validate({"metrics": {"end": "2023-12-01"}}))


def test_churn_by_segment_splits_the_labels_by_the_customers_segment(tx: pd.DataFrame) -> None:
    customers = pd.DataFrame(
        {"customer_id": ids(["A", "C", "D", "E"]), "segment": pd.Series(["gold", "gold", "silver", None], dtype="str")}
    )
    out = churn_by_segment({"transactions": tx, "customers": customers}, "2024-03-01", 31)
    assert out["segment"].tolist() == ["gold", "unknown"]  # B has no customers row
    assert out["customers"].tolist() == [2, 1]
    assert out["churned"].tolist() == [1, 1]
    assert out["churn_rate"].tolist() == [50.0, 100.0]
    assert out["retention_rate"].tolist() == [50.0, 0.0]


def test_churn_by_rfm_segment_covers_the_whole_label_population(tx: pd.DataFrame) -> None:
    out = churn_by_segment(tx, "2024-03-01", 31, by="rfm")
    rfm = rfm_table(tx, "2024-03-01")
    assert out["customers"].sum() == len(rfm) == 3
    assert out["churned"].sum() == 2
    assert set(out["segment"]) == set(rfm["segment"])


def test_churn_by_segment_refuses_an_immature_window_and_an_unknown_split(tx: pd.DataFrame) -> None:
    with pytest.raises(DataWindowError, match="2024-04-26"):
        churn_by_segment(tx, "2024-04-01", 30, by="rfm")
    with pytest.raises(ConfigError, match="by must be"):
        churn_by_segment(tx, "2024-03-01", 31, by="colour")
    with pytest.raises(SchemaError, match="customers"):
        churn_by_segment(tx, "2024-03-01", 31, by="region")


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow()


@pytest.mark.slow
@pytest.mark.parametrize("active_within_days", [None, 90])
def test_churn_rate_of_the_metrics_for_a_period_equals_the_mean_label_for_the_same_cutoff_and_horizon(
    cdnow: pd.DataFrame, active_within_days: int | None
) -> None:
    k = retention_kpis(cdnow, TimeConfig(active_within_days=active_within_days))
    done = k.loc[k["complete"] & (k["customers_start"] > 0)]
    assert len(done) == 17
    for row in done.itertuples():
        labels = noncontractual_labels(
            cdnow, [row.start], int(row.days), active_within_days=active_within_days
        )
        assert row.customers_start == len(labels)
        assert row.churn_rate == pytest.approx(100 * labels["churned"].mean(), abs=1e-12)


def test_churn_by_segment_totals_equal_the_mean_label_on_cdnow(cdnow: pd.DataFrame) -> None:
    out = churn_by_segment(cdnow, "1998-01-01", 90, by="rfm")
    labels = noncontractual_labels(cdnow, ["1998-01-01"], 90)
    assert out["customers"].sum() == len(labels)
    assert out["churned"].sum() == labels["churned"].sum()


def test_customers_at_end_is_the_next_periods_start_where_s_minus_l_plus_n_is_not(
    tx: pd.DataFrame, subscriptions: pd.DataFrame
) -> None:
    # C subscribes on March 5 and leaves on March 20: acquired and lost in March.
    c = pd.DataFrame({"customer_id": ids(["C"]), "start": ts(["2024-03-05"]), "end": ts(["2024-03-20"]),
                      "mrr": [5.0]})
    tables = {"transactions": tx, "subscriptions": pd.concat([subscriptions, c], ignore_index=True)}
    k = retention_kpis(tables, TimeConfig(regime="contractual", grace_days=0))
    assert col(k, "customers_start") == [1, 2, 1, 1]
    assert col(k, "new_customers") == [1, 0, 1, 0]
    assert col(k, "lost_customers") == [0, 1, 0, None]  # of the customers at the start
    assert col(k, "customers_end") == [2, 1, 2, None]  # March: 1 - 0 + 1 counts C, gone by then
    assert col(k, "customers_at_end") == [2, 1, 1, 1]  # A only from March; April ends at the data's end
    assert col(k, "customers_at_end")[:-1] == col(k, "customers_start")[1:]
    # non-contractual: S counts everyone who bought before the start, E the period's buyers
    flow = retention_kpis(tx)
    assert col(flow, "customers_at_end") == [2, 3, 4, 5]
    assert col(flow, "customers_at_end")[:-1] == col(flow, "customers_start")[1:]


def test_the_running_periods_head_count_is_taken_at_the_datas_end() -> None:
    # Purchases A 01-05, B 01-20, A 02-10, C 03-28, D 04-18, E 04-20: the data ends (exclusive) on 04-21.
    # With a 10-day active window, the population at 04-21 is D and E (bought on or after 04-11); at the
    # calendar end of April (05-01) nobody would be left, a day the data never reached.
    rows = [("A", "2024-01-05"), ("B", "2024-01-20"), ("A", "2024-02-10"), ("C", "2024-03-28"),
            ("D", "2024-04-18"), ("E", "2024-04-20")]
    log = pd.DataFrame({"customer_id": ids([r[0] for r in rows]), "timestamp": ts([r[1] for r in rows]),
                        "amount": [10.0] * len(rows)})
    k = retention_kpis(log, TimeConfig(active_within_days=10))
    assert k["period"].tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    # Bought in the 10 days before 02-01: nobody (B on 01-20 is 12 days back); before 03-01: nobody;
    # before 04-01: C (03-28); before the data's end 04-21: D and E.
    assert col(k, "customers_at_end") == [0, 0, 1, 2]
    assert col(k, "customers_at_end")[:-1] == col(k, "customers_start")[1:]


def test_a_data_end_with_a_time_of_day_counts_the_running_periods_head_at_that_days_end() -> None:
    # Same log as above, the data declared to end on 04-20 at 12:00 (E bought at 09:00 that day): the head count
    # is taken at the end of 04-20 (= 04-21 00:00, no row in between), so D and E; it used to be refused as a
    # cutoff "not at midnight" that the user never gave.
    rows = [("A", "2024-01-05"), ("B", "2024-01-20"), ("A", "2024-02-10"), ("C", "2024-03-28"),
            ("D", "2024-04-18"), ("E", "2024-04-20T09:00:00")]
    times = pd.Series(pd.to_datetime([r[1] for r in rows], format="ISO8601"), dtype="datetime64[us]")
    log = pd.DataFrame({"customer_id": ids([r[0] for r in rows]), "timestamp": times,
                        "amount": [10.0] * len(rows)})
    cfg = Config.model_validate({"data": {"end": "2024-04-20T12:00"}, "time": {"active_within_days": 10}})
    k = retention_kpis(log, cfg)
    assert col(k, "customers_at_end") == [0, 0, 1, 2]
    assert col(k, "complete") == [True, True, True, False]
    cfg = Config.model_validate({"data": {"end": "2024-03-31T23:30"}})  # March still running at 23:30
    k = retention_kpis(log.iloc[:4], cfg)
    assert col(k, "customers_at_end") == [2, 2, 3] and col(k, "complete") == [True, True, False]


def test_a_subscription_ending_after_a_data_end_with_a_time_of_day_is_still_counted_at_it() -> None:
    # data.end 04-20 12:00: A open, B ends 04-20 18:00 (scheduled, after the data's end), C ended 04-20 08:00.
    # At the data's end A and B are subscribed: 2 (counted at the following midnight, B's end is not yet).
    subs = pd.DataFrame({"customer_id": ids(["A", "B", "C"]), "start": ts(["2024-01-10", "2024-02-01", "2024-03-01"]),
                         "end": pd.Series(pd.to_datetime([None, "2024-04-20T18:00:00", "2024-04-20T08:00:00"]),
                                          dtype="datetime64[us]"),
                         "mrr": [10.0, 10.0, 10.0]})
    log = pd.DataFrame({"customer_id": ids(["A", "B", "C"]), "timestamp": ts(["2024-01-10", "2024-02-01", "2024-03-01"]),
                        "amount": [10.0, 10.0, 10.0]})
    cfg = Config.model_validate({"data": {"end": "2024-04-20T12:00"}, "time": {"regime": "contractual"}})
    k = retention_kpis({"transactions": log, "subscriptions": subs}, cfg).set_index("period")
    assert k.loc["2024-04", "customers_at_end"] == 2 and k.loc["2024-04", "mrr"] == 20.0
    assert k.loc["2024-03", "customers_at_end"] == 3  # at 04-01 midnight, as before


def test_every_kpi_cohort_and_rfm_value_is_the_same_bits_whatever_the_rows_order() -> None:
    import dataclasses

    from churnml.config import load_config
    from churnml.io import load_tables
    from churnml.metrics import cohort_tables
    from tests.settings import small_world

    cfg = load_config(None, small_world(600, 14, 10, 10))
    tables = load_tables(cfg)
    cut = "2024-06-01"
    base = (retention_kpis(tables, cfg), cohort_tables(tables.transactions).revenue, rfm_table(tables.transactions, cut))
    for seed in (1, 2):
        shuffled = dataclasses.replace(tables, **{
            f.name: frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
            for f in dataclasses.fields(tables) if (frame := getattr(tables, f.name)) is not None})
        again = (retention_kpis(shuffled, cfg), cohort_tables(shuffled.transactions).revenue,
                 rfm_table(shuffled.transactions, cut))
        for a, b in zip(base, again, strict=True):
            pd.testing.assert_frame_equal(a, b, check_exact=True)
