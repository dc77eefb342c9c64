"""Rows exactly on a boundary, pinned by hand: the cutoff, a window's edge, a zero amount, a tie.

Each test here fails under a one-character change of the comparison it pins (``<`` for
``<=``, ``>`` for ``>=``, a fill value, a sort direction), which the tests on the tiny world
alone did not catch (a mutation run, session 10). Cutoff 2024-02-01 throughout.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from churnml.config import FeaturesConfig, TimeConfig
from churnml.features import compute_features, plan_features
from churnml.io import Tables
from churnml.labels import contractual_labels, noncontractual_labels, population
from tests.conftest import frame

CUT = pd.Timestamp("2024-02-01")
CFG = FeaturesConfig(windows=[7, 30, 60])


def features(tables: dict[str, pd.DataFrame], ids: list[str], cfg: FeaturesConfig = CFG,
             cutoff: pd.Timestamp = CUT) -> pd.DataFrame:
    sp = pd.DataFrame({"customer_id": pd.Series(ids, dtype="str"), "cutoff": [cutoff] * len(ids)})
    sp = sp.astype({"cutoff": "datetime64[us]"})
    return compute_features(tables, sp, plan_features(tables, [cutoff], cfg)).set_index("customer_id")


# --- transactions ------------------------------------------------------------------------------


def test_window_edges_count_a_purchase_exactly_w_days_back():
    # ages (days from the purchase day to the cutoff day): X 30 and 43, Y 60, Z 7
    tx = frame(customer_id=["X", "X", "Y", "Z"],
               timestamp=["2024-01-02 10:00", "2023-12-20", "2023-12-03 10:00", "2024-01-25 10:00"],
               amount=[4.0, 1.0, 2.0, 9.0])
    f = features({"transactions": tx}, ["X", "Y", "Z"], FeaturesConfig(windows=[7, 30, 60], families=["windowed"]))
    # trend = (last 30 d + 1) / (the 30 d before + 1); age 30 is in the last 30, age 60 in the 30 before
    assert f.loc["X", "win_orders_trend_30d"] == 1.0  # (1 + 1) / (1 + 1)
    assert f.loc["Y", "win_orders_trend_30d"] == 0.5  # (0 + 1) / (1 + 1)
    assert (f.loc["Z", "win_orders_7d"], f.loc["Z", "win_spend_7d"], f.loc["Z", "win_active_days_7d"]) == (1, 9.0, 1)
    assert (f.loc["X", "win_spend_30d"], f.loc["X", "win_spend_60d"]) == (4.0, 5.0)


def test_a_zero_amount_is_a_purchase_and_not_a_return():
    tx = frame(customer_id=["B", "B"], timestamp=["2024-01-20 10:00", "2024-01-25 10:00"], amount=[5.0, 0.0])
    b = features({"transactions": tx}, ["B"], FeaturesConfig(windows=[30], families=["rfm", "windowed"])).loc["B"]
    assert (b["rfm_orders_all"], b["rfm_days_all"], b["rfm_recency_days"]) == (2, 2, 7)
    assert b["win_returns_share_all"] == 0.0 and b["rfm_monetary_mean_all"] == 2.5


def test_a_spine_customer_without_history_gets_the_documented_neutral_values():
    tx = frame(customer_id=["A", "A"], timestamp=["2023-11-01", "2024-01-20"], amount=[2.0, 5.0])
    c = features({"transactions": tx}, ["A", "C"], FeaturesConfig(windows=[30, 60], families=["rfm", "windowed"])).loc["C"]
    assert (c["rfm_orders_all"], c["rfm_days_all"], c["rfm_monetary_sum_all"]) == (0, 0, 0.0)
    assert (c["win_orders_30d"], c["win_spend_30d"], c["win_returns_share_all"]) == (0, 0.0, 0.0)
    assert c["win_orders_trend_30d"] == 1.0  # no purchases in either window: steady
    assert math.isnan(c["rfm_recency_days"]) and math.isnan(c["rfm_monetary_mean_all"])


def test_a_window_as_long_as_the_history_is_kept_and_not_flagged():
    # the data starts 2023-12-02: 61 days of history at the cutoff
    tx = frame(customer_id=["A", "A"], timestamp=["2023-12-02 10:00", "2024-01-20"], amount=[1.0, 2.0])
    plan = plan_features({"transactions": tx}, [CUT], FeaturesConfig(windows=[60, 61, 62], families=["windowed"]))
    assert (plan.windows, plan.dropped_windows) == ((60, 61), (62,))
    flag = FeaturesConfig(windows=[61, 62], censored_windows="flag", families=["windowed"])
    f = features({"transactions": tx}, ["A"], flag).loc["A"]
    assert (f["win_censored_61d"], f["win_censored_62d"]) == (0, 1)
    assert f["win_spend_61d"] == 3.0  # the first purchase is 61 days back


# --- events, surveys, tickets, subscriptions, customers ------------------------------------------


def test_event_trend_puts_age_30_in_the_last_30_days_and_age_60_in_the_30_before():
    tx = frame(customer_id=["B", "D"], timestamp=["2023-11-01", "2023-11-01"], amount=[1.0, 1.0])
    ev = frame(customer_id=["B", "D"], timestamp=["2024-01-02", "2023-12-03"], event_type=["login", "login"])
    f = features({"transactions": tx, "events": ev}, ["B", "D"], FeaturesConfig(windows=[30, 60], families=["events"]))
    assert (f.loc["B", "evt_login_trend_30d"], f.loc["D", "evt_login_trend_30d"]) == (2.0, 0.5)
    assert (f.loc["B", "evt_login_days_since"], f.loc["D", "evt_login_days_since"]) == (30, 60)


def test_survey_answers_at_the_same_moment_are_one_answer_with_the_lower_score():
    tx = frame(customer_id=["Y", "Z"], timestamp=["2024-01-01", "2024-01-01"], amount=[1.0, 1.0])
    # Y: 7 on 01-10, then 9 and 4 together on 01-20; Z: only 9 and 4 together.
    sv = frame(customer_id=["Y", "Y", "Y", "Z", "Z"], survey=["nps"] * 5, score=[9.0, 7.0, 4.0, 4.0, 9.0],
               timestamp=["2024-01-20 10:00", "2024-01-10", "2024-01-20 10:00", "2024-01-20", "2024-01-20"])
    f = features({"transactions": tx, "surveys": sv}, ["Y", "Z"], FeaturesConfig(windows=[30], families=["surveys"]))
    y, z = f.loc["Y"], f.loc["Z"]
    # the change is the moment's 4 against the 7 before it, not 4 against the 9 given with it
    assert (y["srv_nps_last"], y["srv_nps_change"], y["srv_nps_category"]) == (4.0, -3.0, "detractor")
    assert y["srv_nps_age_days"] == 12  # 01-20 10:00 to the cutoff 02-01
    assert (z["srv_nps_last"], z["srv_nps_category"]) == (4.0, "detractor")
    assert math.isnan(z["srv_nps_change"])  # one moment: no change


@pytest.mark.parametrize(("score", "category"), [(9.0, "promoter"), (8.0, "passive"), (7.0, "passive"),
                                                 (6.0, "detractor")])
def test_nps_categories_at_their_edges(score, category):
    tx = frame(customer_id=["Y"], timestamp=["2024-01-01"], amount=[1.0])
    sv = frame(customer_id=["Y"], timestamp=["2024-01-20"], survey=["nps"], score=[score])
    y = features({"transactions": tx, "surveys": sv}, ["Y"], FeaturesConfig(windows=[30], families=["surveys"])).loc["Y"]
    assert y["srv_nps_category"] == category


def test_a_ticket_resolved_exactly_at_the_cutoff_is_still_open_at_it():
    tx = frame(customer_id=["B"], timestamp=["2024-01-01"], amount=[1.0])
    tk = frame(customer_id=["B", "B"], opened_at=["2024-01-20", "2024-01-30"],
               resolved_at=["2024-01-21", "2024-02-01 00:00"],
               first_contact_resolved=pd.array([False, True], dtype="boolean"))
    b = features({"transactions": tx, "tickets": tk}, ["B"], FeaturesConfig(windows=[30], families=["tickets"])).loc["B"]
    # only the 01-20 ticket is resolved before the cutoff: 1 day, not on first contact
    assert (b["tkt_open_at_cutoff"], b["tkt_fcr_share"], b["tkt_resolution_mean_days"]) == (1, 0.0, 1.0)


def test_subscriptions_at_the_cutoff_and_ties():
    tx = frame(customer_id=["G"], timestamp=["2024-01-01"], amount=[1.0])
    subs = frame(customer_id=["G", "H", "H", "K", "K", "T", "T"],
                 start=["2023-12-01", "2023-12-01", "2024-01-15", "2023-11-01", "2023-12-01", "2024-01-10",
                        "2024-01-10"],
                 end=["2024-02-01 00:00", None, None, "2023-12-01", None, None, None],
                 plan=["basic", "basic", "pro", "basic", "basic", "pro", "basic"],
                 mrr=[10.0, 10.0, 20.0, 10.0, 10.0, 20.0, 30.0])
    f = features({"transactions": tx, "subscriptions": subs}, ["G", "H", "K", "T"],
                 FeaturesConfig(windows=[30], families=["subscriptions"]))
    assert f.loc["G", "sub_active"] == 1  # it ends at the cutoff: active at it, as in the labels' population
    assert tuple(f.loc["H", ["sub_plan", "sub_mrr", "sub_days_to_renewal"]]) == ("pro", 20.0, 14)  # the latest start
    assert f.loc["K", "sub_downgrades_all"] == 0  # 10 -> 10 is not a downgrade
    assert tuple(f.loc["T", ["sub_plan", "sub_mrr"]]) == ("basic", 30.0)  # same start: the dearer one


def test_a_sign_up_at_the_cutoff_is_not_known_at_it():
    tx = frame(customer_id=["A", "B"], timestamp=["2024-01-01", "2024-01-01"], amount=[1.0, 1.0])
    cu = frame(customer_id=["A", "B"], signup_at=["2024-02-01 00:00", "2024-01-31 23:00"], region=["n", "s"])
    f = features({"transactions": tx, "customers": cu}, ["A", "B"], FeaturesConfig(windows=[30], families=["customers"]))
    assert math.isnan(f.loc["A", "cst_signup_age_days"]) and f.loc["B", "cst_signup_age_days"] == 1


# --- labels and populations ----------------------------------------------------------------------


def test_a_purchase_at_the_window_end_is_outside_the_window():
    tx = frame(customer_id=["E", "E", "F", "F"],
               timestamp=["2024-01-20 10:00", "2024-03-02 00:00", "2024-01-20 10:00", "2024-03-01 23:59"],
               amount=[5.0, 5.0, 5.0, 5.0])
    labels = noncontractual_labels(tx, [CUT], 30, immature="keep")  # window [02-01, 03-02)
    assert dict(zip(labels["customer_id"], labels["churned"], strict=True)) == {"E": 1, "F": 0}


def test_a_first_purchase_at_the_cutoff_is_not_in_the_population():
    tx = frame(customer_id=["A", "F"], timestamp=["2024-01-20", "2024-02-01 00:00"], amount=[5.0, 5.0])
    assert population(Tables(transactions=tx), [CUT], TimeConfig())["customer_id"].tolist() == ["A"]
    assert noncontractual_labels(tx, [CUT], 30, immature="keep")["customer_id"].tolist() == ["A"]


def test_active_within_includes_a_purchase_exactly_w_days_back():
    # active_within 15: from 2024-01-17 00:00; M's purchase is exactly then, N's one second before
    tx = frame(customer_id=["M", "N"], timestamp=["2024-01-17 00:00", "2024-01-16 23:59:59"], amount=[5.0, 5.0])
    labels = noncontractual_labels(tx, [CUT], 30, active_within_days=15, immature="keep")
    pop = population(Tables(transactions=tx), [CUT], TimeConfig(active_within_days=15))
    assert labels["customer_id"].tolist() == pop["customer_id"].tolist() == ["M"]


def test_a_subscription_ending_at_the_cutoff_is_in_the_contractual_population():
    tx = frame(customer_id=["A"], timestamp=["2024-01-01"], amount=[1.0])
    subs = frame(customer_id=["A", "G", "F"], start=["2023-12-01"] * 3,
                 end=[None, "2024-02-01 00:00", "2024-01-31 23:59"])
    pop = population(Tables(transactions=tx, subscriptions=subs), [CUT], TimeConfig(regime="contractual"))
    labels = contractual_labels(subs, [CUT], 30, grace_days=0, immature="keep")
    assert pop["customer_id"].tolist() == labels["customer_id"].tolist() == ["A", "G"]
    assert labels["churned"].tolist() == [0, 1]
