"""Each feature family pinned by hand on the tiny world of conftest.py (cutoff 2024-02-01)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from churnml.config import FeaturesConfig
from churnml.errors import ConfigError, SchemaError
from churnml.features import compute_features, feature_docs, feature_sql, plan_features
from churnml.labels import noncontractual_labels

CUT = pd.Timestamp("2024-02-01")
CFG = FeaturesConfig(windows=[7, 30, 60, 365])


def spine(ids: list[str], cutoff: pd.Timestamp = CUT) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Series(ids, dtype="str"), "cutoff": [cutoff] * len(ids)}).astype(
        {"cutoff": "datetime64[us]"}
    )


def row(features: pd.DataFrame, customer: str) -> dict[str, object]:
    return features.set_index("customer_id").loc[customer].to_dict()


@pytest.fixture
def world(tiny_tx, tiny_events, tiny_surveys, tiny_tickets, tiny_subscriptions, tiny_customers):
    return {
        "transactions": tiny_tx,
        "events": tiny_events,
        "surveys": tiny_surveys,
        "tickets": tiny_tickets,
        "subscriptions": tiny_subscriptions,
        "customers": tiny_customers,
    }


@pytest.fixture
def feats(world):
    plan = plan_features(world, [CUT], CFG)
    return compute_features(world, spine(["A", "B", "D"]), plan)


def test_windows_longer_than_the_history_are_dropped(world):
    plan = plan_features(world, [CUT], CFG)
    # The data starts 2023-12-02: 61 days of history at the cutoff.
    assert plan.windows == (7, 30, 60)
    assert plan.dropped_windows == (365,)
    assert plan.event_types == ("email_open", "login")
    assert plan.survey_types == ("csat", "nps")


def test_event_types_giving_the_same_feature_name_are_an_error(world):
    events = world["events"].copy()
    events.loc[events.index[0], "event_type"] = "Log-In"  # both give "log_in" (the world's "login" gives "login")
    events.loc[events.index[1], "event_type"] = "log in"
    with pytest.raises(SchemaError) as err:
        plan_features(world | {"events": events}, [CUT], CFG)
    msg = str(err.value)
    assert "events.event_type" in msg and "'Log-In' (1 row) and 'log in' (1 row) (both 'log_in')" in msg
    assert msg.endswith("Map each group to one value before computing features: in the file, or with "
                        "data.tables.events.values (e.g. {event_type: {'log in': 'Log-In'}}) (in Python, read_table's "
                        "values=)")
    events.loc[events.index[2], "event_type"] = "log in"  # the error counts each spelling's rows
    with pytest.raises(SchemaError, match=r"'Log-In' \(1 row\) and 'log in' \(2 rows\) \(both 'log_in'\)"):
        plan_features(world | {"events": events}, [CUT], CFG)


def test_an_event_type_named_all_is_an_error_as_it_would_give_the_all_types_columns(world):
    events = world["events"].copy()
    events.loc[events.index[0], "event_type"] = "All"  # evt_all_count_{W}d already counts every type
    with pytest.raises(SchemaError) as err:
        plan_features(world | {"events": events}, [CUT], CFG)
    assert "the events family's own 'all' columns and 'All' (1 row) (both 'all')" in str(err.value)


def test_rfm_family_by_hand(feats):
    a = row(feats, "A")
    # Purchase days 01-01 (10 + 5) and 01-11 (20); the 01-31 row is a return.
    assert a["rfm_recency_days"] == 21
    assert a["rfm_tenure_days"] == 31
    assert a["rfm_orders_all"] == 3
    assert a["rfm_days_all"] == 2
    assert a["rfm_monetary_sum_all"] == pytest.approx(35.0)
    assert a["rfm_monetary_mean_all"] == pytest.approx(35.0 / 3)
    assert a["rfm_monetary_max_all"] == pytest.approx(20.0)
    assert a["rfm_first_amount"] == pytest.approx(15.0)
    assert a["rfm_last_amount"] == pytest.approx(20.0)
    assert a["rfm_gap_mean_days"] == pytest.approx(10.0)
    assert math.isnan(a["rfm_gap_std_days"])
    assert a["rfm_gap_last_days"] == pytest.approx(10.0)
    assert a["rfm_recency_over_gap"] == pytest.approx(2.1)
    d = row(feats, "D")
    assert (d["rfm_recency_days"], d["rfm_tenure_days"], d["rfm_gap_last_days"]) == (2, 61, 59)
    assert d["rfm_recency_over_gap"] == pytest.approx(2 / 59)
    b = row(feats, "B")
    assert math.isnan(b["rfm_gap_mean_days"]) and b["rfm_days_all"] == 1


def test_windowed_family_by_hand(feats):
    a = row(feats, "A")
    assert (a["win_orders_7d"], a["win_orders_30d"], a["win_orders_60d"]) == (0, 1, 3)
    assert (a["win_spend_30d"], a["win_spend_60d"]) == (pytest.approx(20.0), pytest.approx(35.0))
    assert (a["win_active_days_30d"], a["win_active_days_60d"]) == (1, 2)
    # last 30 days: 1 purchase; the 30 days before: 2 -> (1 + 1) / (2 + 1)
    assert a["win_orders_trend_30d"] == pytest.approx(2 / 3)
    assert a["win_returns_share_all"] == pytest.approx(0.25)
    assert a["win_returns_amount_all"] == pytest.approx(5.0)
    d = row(feats, "D")
    # 2023-12-02 is 61 days back: outside the 60-day window.
    assert (d["win_orders_7d"], d["win_orders_60d"], d["win_spend_60d"]) == (1, 1, pytest.approx(12.0))
    assert d["win_orders_trend_30d"] == pytest.approx(2.0)


def test_events_family_by_hand(feats):
    a = row(feats, "A")
    # logins on 01-25 (7 days back) and 01-31; the 02-01 login is at the cutoff: not history.
    assert (a["evt_login_count_7d"], a["evt_login_count_30d"], a["evt_email_open_count_30d"]) == (2, 2, 0)
    assert a["evt_email_open_count_60d"] == 1
    assert (a["evt_login_days_since"], a["evt_email_open_days_since"]) == (1, 43)
    assert a["evt_login_trend_30d"] == pytest.approx(3.0)
    assert a["evt_all_count_7d"] == 2
    b = row(feats, "B")
    assert b["evt_login_count_30d"] == 0 and b["evt_login_trend_30d"] == 1.0
    assert math.isnan(b["evt_login_days_since"])


def test_an_event_type_unseen_at_planning_counts_only_in_the_all_types_columns(world):
    plan = plan_features(world, [CUT], CFG)  # types email_open and login
    new = pd.DataFrame({"customer_id": ["A", "B"], "event_type": ["push_open", "push_open"],
                        "timestamp": pd.to_datetime(["2024-01-30", "2024-01-29"]).astype("datetime64[us]")})
    events = pd.concat([world["events"], new], ignore_index=True)
    one = compute_features(world | {"events": events}, spine(["A", "B"]), plan)
    many = pd.concat([spine(["A", "B"]), spine(["A"], CUT - pd.Timedelta(days=1))])  # two cutoffs: the general path
    two = compute_features(world | {"events": events}, many, plan)
    assert not [c for c in one.columns if "push" in c]
    for feats in (one, two.loc[two["cutoff"] == CUT]):
        a, b = row(feats, "A"), row(feats, "B")
        # A: logins 01-25 and 01-31 plus the push 01-30 in the last 7 days; login counts unchanged.
        assert (a["evt_all_count_7d"], a["evt_login_count_7d"], a["evt_email_open_count_60d"]) == (3, 2, 1)
        # B's only event is of the unseen type: 0 for each known type, never seen, a flat trend.
        assert (b["evt_all_count_7d"], b["evt_all_count_30d"], b["evt_login_count_30d"]) == (1, 1, 0)
        assert math.isnan(b["evt_login_days_since"]) and b["evt_login_trend_30d"] == 1.0


def test_surveys_family_by_hand(feats):
    a = row(feats, "A")
    assert (a["srv_nps_last"], a["srv_nps_age_days"], a["srv_nps_change"]) == (4.0, 12, -5.0)
    assert a["srv_nps_category"] == "detractor"
    assert (a["srv_csat_last"], a["srv_csat_age_days"]) == (5.0, 22)
    assert math.isnan(a["srv_csat_change"])
    d = row(feats, "D")  # D's only answer is at the cutoff
    assert math.isnan(d["srv_nps_last"]) and pd.isna(d["srv_nps_category"])
    assert isinstance(feats["srv_nps_category"].dtype, pd.CategoricalDtype)


def test_tickets_family_uses_only_resolutions_known_at_the_cutoff(feats):
    a = row(feats, "A")
    assert (a["tkt_count_7d"], a["tkt_count_30d"], a["tkt_count_all"]) == (1, 2, 2)
    assert a["tkt_open_at_cutoff"] == 1  # resolved on 02-03
    assert a["tkt_resolution_mean_days"] == pytest.approx(2.0)
    assert a["tkt_fcr_share"] == pytest.approx(1.0)
    b = row(feats, "B")
    assert (b["tkt_count_7d"], b["tkt_open_at_cutoff"], b["tkt_fcr_share"]) == (1, 0, 0.0)
    d = row(feats, "D")
    assert d["tkt_count_all"] == 0 and math.isnan(d["tkt_fcr_share"])


def test_subscriptions_family_by_hand(feats):
    a = row(feats, "A")
    assert (a["sub_active"], a["sub_count_all"], a["sub_plan"], a["sub_mrr"]) == (1, 2, "pro", 20.0)
    assert a["sub_months_since_first"] == pytest.approx(48 / 30.4375)
    assert a["sub_days_to_renewal"] == 14  # started 01-15: renews 02-15
    assert a["sub_days_since_start"] == 17  # the active one started 01-15, 17 days before the cutoff 02-01
    assert a["sub_downgrades_all"] == 0
    b = row(feats, "B")
    # the active one started 01-21: renews 02-21
    assert (b["sub_plan"], b["sub_mrr"], b["sub_downgrades_all"], b["sub_days_to_renewal"]) == ("basic", 10.0, 1, 20)
    assert b["sub_days_since_start"] == 11  # 01-21 to 02-01; its ended first subscription is not counted
    d = row(feats, "D")
    assert (d["sub_active"], d["sub_count_all"]) == (0, 0) and math.isnan(d["sub_mrr"])
    assert math.isnan(d["sub_days_since_start"])


@pytest.mark.parametrize("one_cutoff", [True, False])
def test_days_to_renewal_counts_calendar_months_and_clips_to_the_month_end(tiny_tx, one_cutoff):
    # (start, cutoff, days to the next monthly anniversary of the start), by hand
    cases = {
        "A": ("2023-03-01", "2024-03-01", 0),  # the anniversary is the cutoff's day
        "B": ("2024-01-31", "2024-03-01", 30),  # 02-29 (clipped) has passed: 03-31
        "C": ("2023-09-15", "2024-03-01", 14),  # 03-15
        "D": ("2023-12-31", "2024-02-10", 19),  # 02-29, a leap February's last day
        "E": ("2023-11-20", "2023-12-25", 26),  # 12-20 has passed: 2024-01-20
    }
    subs = pd.DataFrame({
        "customer_id": pd.Series(list(cases), dtype="str"),
        "start": pd.to_datetime([v[0] for v in cases.values()]).astype("datetime64[us]"),
        "end": pd.Series([pd.NaT] * len(cases), dtype="datetime64[us]"),
    })
    tables = {"transactions": tiny_tx, "subscriptions": subs}
    cfg = FeaturesConfig(families=["subscriptions"], windows=[7])
    sp = pd.DataFrame({"customer_id": pd.Series(list(cases), dtype="str"),
                       "cutoff": pd.to_datetime([v[1] for v in cases.values()]).astype("datetime64[us]")})
    if one_cutoff:  # a spine with one cutoff: A, B, C (all at 2024-03-01) alone
        sp = sp[sp["cutoff"] == pd.Timestamp("2024-03-01")]
    plan = plan_features(tables, list(sp["cutoff"]), cfg)
    got = compute_features(tables, sp, plan).set_index("customer_id")["sub_days_to_renewal"]
    assert got.to_dict() == {c: cases[c][2] for c in sp["customer_id"]}


def test_customers_family_by_hand(feats):
    a, b, d = row(feats, "A"), row(feats, "B"), row(feats, "D")
    assert (a["cst_region"], a["cst_referred"], a["cst_signup_age_days"]) == ("north", 0, 62)
    assert (b["cst_region"], b["cst_referred"]) == ("south", 1)
    assert math.isnan(b["cst_signup_age_days"])  # signs up after the cutoff
    assert pd.isna(d["cst_region"])


def test_every_spine_row_comes_back_once_in_order(world):
    cuts = [pd.Timestamp("2024-01-15"), CUT]
    labels = noncontractual_labels(world["transactions"], cuts, 30)
    feats = compute_features(world, labels, plan_features(world, cuts, CFG))
    pd.testing.assert_frame_equal(feats[["customer_id", "cutoff"]], labels[["customer_id", "cutoff"]])


def test_counts_and_whole_days_are_32_bit_integers_on_both_paths(world):
    # Counts and day counts are INTEGER in the SQL (half the memory of int64), on the
    # one-cutoff fast path and on the general path (two cutoffs), also where 0 is filled in.
    ints = {"rfm_recency_days", "rfm_tenure_days", "rfm_orders_all", "rfm_days_all", "win_orders_30d",
            "win_active_days_30d", "evt_all_count_30d", "evt_login_count_30d", "tkt_count_30d", "tkt_count_all",
            "tkt_open_at_cutoff", "sub_count_all", "sub_downgrades_all"}
    cuts = [pd.Timestamp("2024-01-15"), CUT]
    for spine_rows in (spine(["A", "B", "D"]), noncontractual_labels(world["transactions"], cuts, 30)):
        got = compute_features(world, spine_rows, plan_features(world, cuts, CFG))
        assert {c: str(got[c].dtype) for c in ints} == dict.fromkeys(ints, "int32")
    # A column with missing values is float with NaN (only A has events: the others' days-since is unknown).
    assert got["evt_login_days_since"].dtype == "float64"


def test_a_family_whose_table_is_absent_is_skipped_not_zero_filled(tiny_tx):
    plan = plan_features({"transactions": tiny_tx}, [CUT], CFG)
    assert plan.families == ("rfm", "windowed")
    feats = compute_features({"transactions": tiny_tx}, spine(["A"]), plan)
    assert not [c for c in feats.columns if c.startswith(("evt_", "srv_", "tkt_", "sub_", "cst_"))]


def test_scoring_without_a_table_the_plan_needs_is_a_clear_error(world, tiny_tx):
    plan = plan_features(world, [CUT], CFG)
    with pytest.raises(SchemaError, match="events"):
        compute_features({"transactions": tiny_tx}, spine(["A"]), plan)


def test_flag_mode_keeps_censored_windows_and_flags_them(tiny_tx):
    cfg = FeaturesConfig(windows=[30, 90], censored_windows="flag", families=["windowed"])
    plan = plan_features({"transactions": tiny_tx}, [CUT], cfg)
    feats = compute_features({"transactions": tiny_tx}, spine(["A"]), plan)
    assert plan.windows == (30, 90)
    assert (feats["win_censored_30d"].iloc[0], feats["win_censored_90d"].iloc[0]) == (0, 1)
    assert sorted(feature_docs(plan)["name"]) == sorted(c for c in feats.columns if c not in ("customer_id", "cutoff"))


def test_the_feature_table_documents_every_column(world):
    plan = plan_features(world, [CUT], CFG)
    docs = feature_docs(plan)
    feats = compute_features(world, spine(["A"]), plan)
    assert sorted(docs["name"]) == sorted(c for c in feats.columns if c not in ("customer_id", "cutoff"))


def test_the_feature_sql_transpiles_to_spark(world):
    import sqlglot

    sql = feature_sql(plan_features(world, [CUT], CFG))
    assert sqlglot.transpile(sql, read="duckdb", write="spark")


def test_time_zones_are_resolved_to_utc_before_the_history_filter(tmp_path):
    from churnml.io import read_table

    path = tmp_path / "tx.csv"
    path.write_text(
        "customer_id,timestamp,amount\n"
        "Z,2024-01-10T12:00:00+00:00,10\n"
        "Z,2024-02-01T01:30:00+02:00,20\n"  # 2024-01-31 23:30 UTC: before the cutoff
        "Z,2024-02-01T00:30:00-01:00,40\n"  # 2024-02-01 01:30 UTC: at/after the cutoff
    )
    tx = read_table("transactions", path)
    plan = plan_features({"transactions": tx}, [CUT], FeaturesConfig(windows=[7], families=["rfm", "windowed"]))
    z = row(compute_features({"transactions": tx}, spine(["Z"]), plan), "Z")
    assert (z["rfm_orders_all"], z["rfm_monetary_sum_all"], z["rfm_recency_days"]) == (2, 30.0, 1)
    assert z["win_spend_7d"] == pytest.approx(20.0)



def _log() -> dict[str, pd.DataFrame]:
    """Same-day purchases, same-day returns, a return-only day, first purchases after the cutoff."""
    rows = [
        ("P", "2023-11-01 08:00", 10.0), ("P", "2023-11-01 20:00", 15.0), ("P", "2023-11-02 09:00", -5.0),
        ("P", "2023-12-20 10:00", 7.0), ("P", "2023-12-20 11:00", -7.0), ("P", "2024-01-28 10:00", 3.0),
        ("Q", "2024-01-31 23:00", 40.0), ("Q", "2024-01-31 23:30", 2.0),
        ("R", "2023-12-31 10:00", -1.0), ("R", "2024-01-05 10:00", 6.0), ("R", "2024-01-15 10:00", 6.0),
        ("R", "2024-01-25 10:00", 9.0), ("R", "2024-01-25 10:00", 1.0),
        ("S", "2024-01-20 10:00", 5.0), ("S", "2024-02-01 00:00", 5.0), ("T", "2024-02-03 10:00", 8.0),
    ]
    events = [
        ("P", "2024-01-30 10:00", "login"), ("P", "2023-12-25", "login"), ("R", "2024-01-31 23:59", "email_open"),
        ("S", "2024-02-01 00:00", "login"), ("T", "2024-01-10", "login"),
    ]
    kinds = {"customer_id": "str", "timestamp": "datetime64[us]"}
    return {
        "transactions": pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"]).astype(kinds),
        "events": pd.DataFrame(events, columns=["customer_id", "timestamp", "event_type"]).astype(kinds),
    }


LOG_CFG = FeaturesConfig(windows=[7, 30, 60, 90], families=["rfm", "windowed", "events"])


def test_the_one_cutoff_fast_path_gives_the_general_result():
    from churnml.engine import run_sql

    log = _log()
    plan = plan_features(log, [CUT], LOG_CFG)
    frames = {"spine": spine(["P", "Q", "R", "S"]), "tx": log["transactions"], "events": log["events"]}
    fast, general = feature_sql(plan, CUT), feature_sql(plan)
    assert "JOIN spine s" not in fast and "JOIN spine s" in general
    pd.testing.assert_frame_equal(run_sql(fast, frames), run_sql(general, frames))


def test_same_day_purchases_and_returns_by_hand_on_the_fast_path():
    log = _log()
    feats = compute_features(log, spine(["P", "Q", "R"]), plan_features(log, [CUT], LOG_CFG))
    p, q, r = row(feats, "P"), row(feats, "Q"), row(feats, "R")
    # P buys 10 + 15 on 11-01, 7 on 12-20 and 3 on 01-28; two returns are not purchases.
    assert (p["rfm_days_all"], p["rfm_orders_all"], p["rfm_first_amount"], p["rfm_last_amount"]) == (3, 4, 25.0, 3.0)
    assert (p["rfm_gap_mean_days"], p["rfm_gap_last_days"], p["rfm_recency_days"]) == (44.0, 39, 4)
    assert p["rfm_gap_std_days"] == pytest.approx(math.sqrt(50.0))  # gaps 49 and 39: (25 + 25) / (2 - 1)
    assert p["win_returns_share_all"] == pytest.approx(2 / 6) and p["win_returns_amount_all"] == 12.0
    assert (q["rfm_days_all"], q["rfm_first_amount"], q["rfm_last_amount"], q["rfm_recency_days"]) == (1, 42.0, 42.0, 1)
    assert math.isnan(q["rfm_gap_mean_days"]) and q["evt_all_count_90d"] == 0
    # R: a return first, then purchase days 01-05, 01-15 and 01-25 (two rows at the same moment).
    assert (r["rfm_days_all"], r["rfm_tenure_days"], r["rfm_last_amount"], r["rfm_gap_std_days"]) == (3, 27, 10.0, 0.0)
    # 01-25 is 7 days back: inside the 7-day window, both rows of that moment.
    assert (r["win_active_days_7d"], r["win_orders_7d"], r["evt_email_open_days_since"]) == (1, 2, 1)


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 1, 0]])
@pytest.mark.parametrize("cutoffs", [[CUT], [CUT - pd.Timedelta(days=1), CUT]])
def test_money_is_added_exactly_so_row_order_never_moves_a_sum(order, cutoffs, tiny_tickets):
    # In doubles (0.1 + 0.2) + 0.3 is 0.6000000000000001 and (0.3 + 0.2) + 0.1 is 0.6: DuckDB adds in the order its
    # threads meet the rows, so sums moved in the last bit from run to run (a same-seed retrain then differed).
    amounts = [0.1, 0.2, 0.3]
    tx = pd.DataFrame({"customer_id": pd.Series(["X"] * 6, dtype="str"),
                       "timestamp": pd.to_datetime(["2024-01-25 08:00"] * 3 + ["2024-01-03 08:00", "2024-01-13 08:00", "2024-01-14 08:00"]),
                       "amount": [amounts[i] for i in order] + [-amounts[i] for i in order]}).astype(
        {"timestamp": "datetime64[us]"})
    tickets = tiny_tickets.assign(customer_id=pd.Series(["X", "X", "X"], dtype="str"),
                                  opened_at=pd.to_datetime(["2024-01-25 00:00"] * 3).astype("datetime64[us]"))
    tickets["resolved_at"] = (tickets["opened_at"] + pd.to_timedelta([amounts[i] for i in order], unit="D")).astype(
        "datetime64[us]")
    world = {"transactions": tx, "tickets": tickets}
    cfg = FeaturesConfig(windows=[7], families=["rfm", "windowed", "tickets"])
    plan = plan_features(world, cutoffs, cfg)
    ids = ["X"] * len(cutoffs)
    spine_rows = pd.DataFrame({"customer_id": pd.Series(ids, dtype="str"), "cutoff": cutoffs}).astype(
        {"cutoff": "datetime64[us]"})
    x = compute_features(world, spine_rows, plan).iloc[-1]
    assert (x["rfm_monetary_sum_all"], x["rfm_first_amount"], x["win_spend_7d"]) == (0.6, 0.6, 0.6)
    assert x["rfm_monetary_mean_all"] == 0.6 / 3
    assert x["win_returns_amount_all"] == 0.6
    # resolved after 8,640 s, 17,280 s and 25,920 s: 51,840 s / 3 = 17,280 s = 0.2 days
    assert x["tkt_resolution_mean_days"] == 0.2


def test_the_gap_std_is_the_sample_std_of_whole_days_by_hand():
    # Purchase days 01-01, 01-02, 01-04, 01-08 and 01-16: gaps 1, 2, 4, 8; mean 15/4; squares 85;
    # (4 * 85 - 15^2) / (4 * 3) = 115 / 12.
    days = ["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-08", "2024-01-16"]
    tx = pd.DataFrame({"customer_id": pd.Series(["G"] * 5, dtype="str"), "timestamp": pd.to_datetime(days),
                       "amount": [1.0] * 5}).astype({"timestamp": "datetime64[us]"})
    world = {"transactions": tx}
    feats = compute_features(world, spine(["G"]), plan_features(world, [CUT], FeaturesConfig(families=["rfm"])))
    g = row(feats, "G")
    assert g["rfm_gap_std_days"] == math.sqrt(115 / 12)
    assert g["rfm_gap_std_days"] == pytest.approx(pd.Series([1, 2, 4, 8]).std(), rel=1e-15)


def test_a_frame_row_without_an_amount_is_refused_naming_its_index():
    # A frame given directly (not through read_table) is checked against the contract: a NaN amount
    # would otherwise reach DuckDB as NULL, neither a purchase nor a return.
    from churnml.errors import SchemaError

    log = _log()
    tx = log["transactions"]
    extra = tx[tx["customer_id"] == "P"].head(1).assign(amount=float("nan"), timestamp=pd.Timestamp("2024-01-10"))
    with_null = {**log, "transactions": pd.concat([tx, extra], ignore_index=True)}
    plan = plan_features(log, [CUT], LOG_CFG)
    with pytest.raises(SchemaError, match=rf"^table 'transactions': column 'amount' has 1 missing value\(s\) "
                                          rf"\(index \[{len(tx)}\]\); the data contract requires a value in each row; "
                                          r"a frame given to churnml directly is used as it is\. Fix: read it with "
                                          r"churnml\.io\.read_table"):
        compute_features(with_null, spine(["P", "Q"]), plan)


def test_many_cutoffs_give_what_each_cutoff_gives_alone():
    log = _log()
    cuts = [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-26"), CUT]
    plan = plan_features(log, cuts, LOG_CFG)
    both = pd.concat([spine(["P", "R"], cuts[0]), spine(["P", "R", "S"], cuts[1]), spine(["P", "Q", "R", "S"], CUT)])
    together = compute_features(log, both.reset_index(drop=True), plan)
    alone = pd.concat(
        [compute_features(log, part, plan) for _, part in both.groupby("cutoff")], ignore_index=True
    )
    pd.testing.assert_frame_equal(together, alone)


def test_the_population_without_a_look_back_is_the_general_query():
    from churnml.config import TimeConfig
    from churnml.engine import run_sql
    from churnml.io import Tables
    from churnml.labels import cutoff_table, population, population_sql

    log = _log()
    tables = Tables(transactions=log["transactions"])
    cuts = [pd.Timestamp("2023-11-01"), pd.Timestamp("2024-01-01"), CUT, pd.Timestamp("2024-03-01")]
    fast = population(tables, cuts, TimeConfig())
    frames = {"tx": log["transactions"], "cutoffs": cutoff_table(cuts, 1)}
    general = run_sql(population_sql("noncontractual"), frames).astype({"cutoff": "datetime64[us]"})
    pd.testing.assert_frame_equal(fast, general)
    # Nobody before 11-01; at 01-01 only P (R's 12-31 row is a return); T first buys on 02-03.
    assert fast.groupby("cutoff").size().tolist() == [1, 4, 5]
    recent = population(tables, [CUT], TimeConfig(active_within_days=10))
    assert recent["customer_id"].tolist() == ["P", "Q", "R"]


def test_a_spine_run_in_customer_chunks_gives_the_one_query_result(world):
    cuts = [pd.Timestamp("2024-01-15"), CUT]
    labels = noncontractual_labels(world["transactions"], cuts, 30)
    plan = plan_features(world, cuts, CFG)
    whole = compute_features(world, labels, plan)
    chunked = compute_features(world, labels, plan, chunk_rows=1)
    pd.testing.assert_frame_equal(chunked, whole)
    log = _log()
    one = spine(["P", "Q", "R", "S"])
    log_plan = plan_features(log, [CUT], LOG_CFG)
    pd.testing.assert_frame_equal(compute_features(log, one, log_plan, chunk_rows=3), compute_features(log, one, log_plan))


def test_planning_without_a_cutoff_is_a_config_error(tiny_tx):
    with pytest.raises(ConfigError, match="at least one cutoff"):
        plan_features({"transactions": tiny_tx}, [], CFG)


def test_chunk_rows_below_one_is_a_config_error(tiny_tx):

    plan = plan_features({"transactions": tiny_tx}, [CUT], CFG)
    with pytest.raises(ConfigError, match="chunk_rows"):
        compute_features({"transactions": tiny_tx}, spine(["A"]), plan, chunk_rows=0)


def test_spine_cutoffs_off_midnight_are_an_error_on_every_path_and_aware_ones_are_taken_in_utc(tiny_tx):
    tables = {"transactions": tiny_tx}
    plan = plan_features(tables, [CUT], FeaturesConfig(families=["rfm"], windows=[7]))
    # Two cutoffs (the general path), one at noon: a purchase later that day would count.
    noon = pd.DataFrame({"customer_id": ["A", "A"],
                         "cutoff": pd.to_datetime(["2024-01-11 12:00", "2024-02-01 00:00"]).astype("datetime64[us]")})
    with pytest.raises(SchemaError, match=r"spine.cutoff: 1 row\(s\) are missing, not dates, or not at midnight \(e.g. row 0: A"):
        compute_features(tables, noon, plan)
    aware = spine(["A", "B"]).assign(cutoff=lambda f: f["cutoff"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris"))
    pd.testing.assert_frame_equal(compute_features(tables, aware, plan), compute_features(tables, spine(["A", "B"]), plan))
    text = pd.DataFrame({"customer_id": ["A", "B"], "cutoff": ["2024-02-01", "2024-02-01"]})
    pd.testing.assert_frame_equal(compute_features(tables, text, plan), compute_features(tables, spine(["A", "B"]), plan))
    with pytest.raises(SchemaError, match="1 row.s. are missing, not dates, or not at midnight .e.g. row 1: B, soon"):
        compute_features(tables, text.assign(cutoff=["2024-02-01", "soon"]), plan)
    with pytest.raises(SchemaError, match="e.g. row 0: A, 02/01/2024"):  # text is YYYY-MM-DD, as for one cutoff
        compute_features(tables, text.assign(cutoff=["02/01/2024", "2024-02-01"]), plan)


def test_recency_rank_by_hand_with_ties_and_a_lone_cutoff():
    from churnml.features.btyd import recency_rank

    frame = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"],
        "cutoff": pd.to_datetime(["2024-01-01"] * 4 + ["2024-02-01"]),
        "rfm_recency_days": [30.0, 10.0, 50.0, 30.0, 7.0],
    })
    # 2024-01-01: sorted 10, 30, 30, 50 -> average ranks 1, 2.5, 2.5, 4 -> (rank - 1) / 3
    assert recency_rank(frame).tolist() == [0.5, 0.0, 1.0, 0.5, 0.5]  # e: alone at its cutoff -> 0.5


def test_a_customer_without_a_recency_has_no_rank_and_is_not_counted():
    from churnml.features.btyd import recency_rank

    frame = pd.DataFrame({
        "cutoff": pd.to_datetime(["2024-01-01"] * 3 + ["2024-02-01"] * 2),
        "rfm_recency_days": [5.0, 9.0, math.nan, 4.0, math.nan],
    })
    got = recency_rank(frame).tolist()
    assert got[:2] == [0.0, 1.0] and math.isnan(got[2])  # n = 2, not 3
    assert got[3] == 0.5 and math.isnan(got[4])  # alone among those with a recency


def _orders_world() -> dict[str, pd.DataFrame]:
    """A's order lines (cutoff 2024-02-01): O1 on 01-05 has two lines (10 + 20), O2 the same day one (5),
    O3 on 01-20 one (7), a line without an order id on 01-22 (3), O1's return on 01-25 in two lines
    (-4, -6), and O4's two lines, one on 01-31 (8) and one at the cutoff (100: after it, never seen)."""
    from tests.conftest import frame

    tx = frame(
        customer_id=["A"] * 9 + ["B"],
        timestamp=["2024-01-05 10:00", "2024-01-05 10:00", "2024-01-05 17:00", "2024-01-20 09:00", "2024-01-22 12:00",
                   "2024-01-25 08:00", "2024-01-25 08:00", "2024-01-31 23:00", "2024-02-01 00:00", "2024-01-10 10:00"],
        amount=[10.0, 20.0, 5.0, 7.0, 3.0, -4.0, -6.0, 8.0, 100.0, 9.0],
        order_id=pd.Series(["O1", "O1", "O2", "O3", None, "O1", "O1", "O4", "O4", "P1"], dtype="str"),
    )
    return {"transactions": tx}


def test_with_an_order_id_a_purchase_is_an_order_s_rows_of_one_day():
    world = _orders_world()
    plan = plan_features(world, [CUT], FeaturesConfig(windows=[7, 14], families=["rfm", "windowed"]))
    assert plan.orders
    a = row(compute_features(world, spine(["A", "B"]), plan), "A")
    # purchases: O1 30 and O2 5 on 01-05, O3 7, the row without an id 3, O4's line of 01-31 8
    assert a["rfm_orders_all"] == 5 and a["rfm_days_all"] == 4
    assert a["rfm_monetary_sum_all"] == pytest.approx(53.0)
    assert a["rfm_monetary_mean_all"] == pytest.approx(53.0 / 5)
    assert a["rfm_monetary_max_all"] == pytest.approx(30.0)
    assert (a["rfm_first_amount"], a["rfm_last_amount"]) == (pytest.approx(35.0), pytest.approx(8.0))
    assert (a["win_orders_7d"], a["win_orders_14d"]) == (1, 3)  # 7 days: 01-25 .. 01-31; 14: from 01-18
    # one return (O1's two lines of 01-25) among 6 transactions; 10 returned
    assert a["win_returns_share_all"] == pytest.approx(1 / 6)
    assert a["win_returns_amount_all"] == pytest.approx(10.0)
    # the same tables without the order id: every row counts
    rows = {"transactions": world["transactions"].drop(columns="order_id")}
    by_row = plan_features(rows, [CUT], FeaturesConfig(windows=[7, 14], families=["rfm", "windowed"]))
    r = row(compute_features(rows, spine(["A"]), by_row), "A")
    assert not by_row.orders and r["rfm_orders_all"] == 6 and r["win_returns_share_all"] == pytest.approx(2 / 8)
    assert r["rfm_monetary_max_all"] == pytest.approx(20.0) and r["rfm_monetary_sum_all"] == pytest.approx(53.0)
    # many cutoffs (the general path) give the same row at 02-01, and at 01-25 nothing of 01-25 or later
    two = pd.concat([spine(["A"]), spine(["A"], pd.Timestamp("2024-01-25"))], ignore_index=True)
    many = compute_features(world, two, plan).set_index("cutoff")
    assert many.loc[CUT, "rfm_orders_all"] == 5 and many.loc[CUT, "win_returns_share_all"] == pytest.approx(1 / 6)
    assert many.loc[pd.Timestamp("2024-01-25"), "rfm_orders_all"] == 4
    assert many.loc[pd.Timestamp("2024-01-25"), "win_returns_share_all"] == 0
    # a plan that counts orders refuses transactions without the column, with the fix
    with pytest.raises(SchemaError, match="counts purchases by order .* map the same order_id column as at training"):
        compute_features(rows, spine(["A"]), plan)
    # a plan saved before orders were counted reads as rows
    old = plan.to_dict()
    del old["orders"]
    assert not type(plan).from_dict(old).orders


def test_an_optional_table_given_empty_is_present_and_every_customer_gets_its_no_row_values(
        tiny_tx, tiny_events, tiny_surveys, tiny_tickets, tiny_subscriptions, tiny_customers):
    # a header-only export (read_table keeps it, typed and empty): the family is there, nobody has a row
    given = {"transactions": tiny_tx, "events": tiny_events.iloc[:0], "surveys": tiny_surveys.iloc[:0],
             "tickets": tiny_tickets.iloc[:0], "subscriptions": tiny_subscriptions.iloc[:0],
             "customers": tiny_customers.iloc[:0]}
    plan = plan_features(given, ["2024-03-01"], FeaturesConfig(windows=[30]))
    assert set(plan.families) >= {"events", "surveys", "tickets", "subscriptions", "customers"}
    spine = pd.DataFrame({"customer_id": pd.Series(["A", "B"], dtype="str"),
                          "cutoff": pd.to_datetime(["2024-03-01"] * 2).astype("datetime64[us]")})
    out = compute_features(given, spine, plan).set_index("customer_id")
    for col, value in {"evt_all_count_30d": 0, "tkt_count_all": 0, "sub_active": 0, "sub_count_all": 0}.items():
        assert out[col].tolist() == [value, value], col
    for col in ("sub_plan", "sub_mrr", "tkt_resolution_mean_days"):
        assert out[col].isna().all(), col
    assert [c for c in out.columns if c.startswith("srv_")] == ["srv_answers_all"]  # no survey type: no rows
    assert out["srv_answers_all"].tolist() == [0, 0]


def test_event_types_in_any_script_get_distinct_ascii_names(tiny_tx, tiny_events):
    from churnml.features.base import sql_name

    assert [sql_name(v) for v in ["登录", "购买", "Café", "MOSKVA Москва", "😀", "Page View", "—", "バス", "パス",
                                  "कम", "काम", "™"]] == [
        "u767b_u5f55", "u8d2d_u4e70", "cafe", "moskva_u043c_u043e_u0441_u043a_u0432_u0430", "u1f600", "page_view",
        "blank", "u30d0_u30b9", "u30d1_u30b9", "u0915_u092e", "u0915_u093e_u092e", "tm"]  # marks of other scripts stay
    names = dict(zip(sorted(tiny_events["event_type"].unique()), ["登录", "购买", "Café", "😀"], strict=False))
    events = tiny_events.assign(event_type=tiny_events["event_type"].map(names))
    plan = plan_features({"transactions": tiny_tx, "events": events}, ["2024-03-01"], FeaturesConfig(windows=[30]))
    spine = pd.DataFrame({"customer_id": pd.Series(["A", "B"], dtype="str"),
                          "cutoff": pd.to_datetime(["2024-03-01"] * 2).astype("datetime64[us]")})
    out = compute_features({"transactions": tiny_tx, "events": events}, spine, plan)
    same = compute_features({"transactions": tiny_tx, "events": tiny_events}, spine,
                            plan_features({"transactions": tiny_tx, "events": tiny_events}, ["2024-03-01"],
                                          FeaturesConfig(windows=[30])))
    for old, new in names.items():  # the same values under the new names
        assert out[f"evt_{sql_name(new)}_count_30d"].tolist() == same[f"evt_{old}_count_30d"].tolist()


def test_a_plan_saved_with_padded_types_reads_them_as_the_data_is_read_now():
    from churnml.features import FeaturePlan
    from churnml.model import _stripped

    # a model trained before text was stripped stored 'login     ' (a fixed-width export); its data now reads 'login'
    plan = FeaturePlan.from_dict({"families": ["events"], "windows": [7], "event_types": ["login     ", " ", "buy"],
                                  "survey_types": [" nps"]})
    assert plan.event_types == ("login", "buy") and plan.survey_types == ("nps",)
    assert _stripped([" Pro", "basic "]) == ["Pro", "basic"]
    assert _stripped(["Pro", " Pro"]) == ["Pro", " Pro"]  # two levels would become one: as saved
