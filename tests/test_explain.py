"""Tests of churnml.explain: TreeSHAP contributions, global drivers and reason codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnml.errors import ConfigError, ModelError, SchemaError
from churnml.explain import (
    Contributions,
    churn_rate_by_decile,
    contributions,
    default_groups,
    describe_values,
    driver_summary,
    global_importance,
    reason_codes,
)

lgb = pytest.importorskip("lightgbm")


@pytest.fixture(scope="module")
def tiny_model() -> tuple[object, pd.DataFrame]:
    rng = np.random.default_rng(7)
    n = 300
    X = pd.DataFrame(
        {
            "rfm_recency_days": rng.integers(0, 200, n).astype("float64"),
            "win_orders_30d": rng.integers(0, 6, n).astype("float64"),
            "cst_segment": pd.Categorical(rng.choice(["bronze", "gold", "silver"], n)),
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )
    logit = 0.02 * X["rfm_recency_days"] - 0.5 * X["win_orders_30d"] - 1.0 + (X["cst_segment"] == "gold") * 1.5
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit.to_numpy()))).astype(int)
    params = {"objective": "binary", "deterministic": True, "seed": 3, "num_threads": 1, "verbose": -1,
              "num_leaves": 7, "min_data_in_leaf": 10, "min_data_per_group": 5, "cat_smooth": 1.0}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=20)
    return booster, X


def test_contributions_plus_base_value_equal_the_raw_score(tiny_model) -> None:
    booster, X = tiny_model
    contrib = contributions(booster, X)
    assert contrib.values.index.equals(X.index)
    assert list(contrib.values.columns) == list(X.columns)
    raw = booster.predict(X, raw_score=True)
    np.testing.assert_allclose(contrib.logit().to_numpy(), raw, rtol=0, atol=1e-9)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_contributions_equal_shap_tree_explainer(tiny_model) -> None:
    shap = pytest.importorskip("shap")
    booster, X = tiny_model
    explainer = shap.TreeExplainer(booster)
    theirs = Contributions.from_array(explainer.shap_values(X), X, explainer.expected_value)
    ours = contributions(booster, X)
    np.testing.assert_allclose(ours.values.to_numpy(), theirs.values.to_numpy(), rtol=0, atol=1e-9)
    assert ours.base_value == pytest.approx(theirs.base_value, abs=1e-9)


def test_contributions_follow_the_column_order_of_x(tiny_model) -> None:
    booster, X = tiny_model
    shuffled = X[["cst_segment", "rfm_recency_days", "win_orders_30d"]]
    contrib = contributions(booster, shuffled)
    assert list(contrib.values.columns) == list(shuffled.columns)
    pd.testing.assert_frame_equal(contrib.values[list(X.columns)], contributions(booster, X).values)


def test_contributions_reject_x_without_the_model_features(tiny_model) -> None:
    booster, X = tiny_model
    with pytest.raises(ModelError, match="missing \\['win_orders_30d'\\]"):
        contributions(booster, X.drop(columns="win_orders_30d"))


def test_from_array_normalises_every_known_shap_shape() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    phi = np.array([[0.1, -0.2], [0.3, 0.4]])
    lightgbm_style = np.column_stack([phi, [0.5, 0.5]])
    shapes = [
        Contributions.from_array(lightgbm_style, X),
        Contributions.from_array(phi, X, 0.5),
        Contributions.from_array(phi, X, np.array([0.5])),
        Contributions.from_array([-phi, phi], X, [-0.5, 0.5]),
        Contributions.from_array(np.stack([-phi, phi], axis=2), X, [-0.5, 0.5]),
    ]
    for c in shapes:
        np.testing.assert_array_equal(c.values.to_numpy(), phi)
        assert c.base_value == 0.5
    np.testing.assert_allclose(shapes[0].logit().to_numpy(), [0.4, 1.2])
    with pytest.raises(ModelError, match="do not fit X"):
        Contributions.from_array(np.zeros((2, 5)), X)


def _hand_contrib() -> tuple[Contributions, pd.DataFrame]:
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "seg": pd.Categorical(["gold", "gold", "silver", "silver"])})
    values = pd.DataFrame({"a": [-2.0, -1.0, 1.0, 2.0], "seg": [0.5, 0.5, -0.5, -0.5]})
    return Contributions(values, -1.0), X


def test_global_importance_is_mean_absolute_shap_with_shares() -> None:
    contrib, _ = _hand_contrib()
    imp = global_importance(contrib)
    assert list(imp.index) == ["a", "seg"]
    np.testing.assert_allclose(imp["mean_abs_shap"], [1.5, 0.5])
    np.testing.assert_allclose(imp["share"], [0.75, 0.25])
    np.testing.assert_allclose(imp["mean_shap"], [0.0, 0.0])


def test_driver_summary_names_direction_and_top_level() -> None:
    contrib, X = _hand_contrib()
    assert driver_summary(contrib, X) == (
        "Top 2 churn drivers (mean |SHAP| in log-odds):\n"
        "1. a: higher values raise churn risk (mean |SHAP| 1.50)\n"
        "2. seg: level 'gold' raises churn risk most (mean |SHAP| 0.50)"
    )


def test_churn_rate_by_decile_cuts_numeric_features_into_ten_bins() -> None:
    x = pd.Series(np.arange(20.0), name="rfm_recency_days")
    y = np.array([0, 0] * 5 + [1, 1] * 5)
    table = churn_rate_by_decile(x, y)
    assert len(table) == 10
    assert table["bin"].tolist()[:2] == ["0 to 1", "2 to 3"]
    assert table["customers"].tolist() == [2] * 10
    assert table["churn_rate"].tolist() == [0.0] * 5 + [1.0] * 5
    assert table.attrs["feature"] == "rfm_recency_days"


def test_churn_rate_by_decile_groups_levels_and_missing_values() -> None:
    x = pd.Series(pd.Categorical(["gold", "gold", "silver", None]), name="seg")
    table = churn_rate_by_decile(x, [1, 0, 1, 1])
    assert table["bin"].tolist() == ["gold", "silver", "missing"]
    assert table["customers"].tolist() == [2, 1, 1]
    assert table["churn_rate"].tolist() == [0.5, 1.0, 1.0]
    few = churn_rate_by_decile(pd.Series([0.0, 1.0, 1.0, 3.0]), [0, 1, 0, 1])
    assert few["bin"].tolist() == ["0", "1", "3"]
    with pytest.raises(SchemaError, match="x has 4 rows but y has 3"):
        churn_rate_by_decile(x, [1, 0, 1])


def test_describe_values_shows_values_without_float_noise() -> None:
    v = pd.Series([141.99999, 30.25, np.nan, 2.0])
    assert describe_values(v).tolist() == ["142", "30.25", "missing", "2"]
    assert describe_values(pd.Series([49.0, 10.5]), "money").tolist() == ["49.00", "10.50"]
    # large amounts (won, yen) grouped and whole, as the report shows them; negative ones too
    assert describe_values(pd.Series([2644000.0, 999.994, 1000.4, -1234.5]), "money").tolist() == [
        "2,644,000", "999.99", "1,000", "-1,234"]
    assert describe_values(pd.Series([0.5, 1 / 3]), "share").tolist() == ["50%", "33.33%"]
    assert describe_values(pd.Series(pd.Categorical(["gold", None]))).tolist() == ["gold", "missing"]


def test_default_groups_strip_the_window_suffix() -> None:
    assert default_groups(["win_orders_7d", "win_orders_30d", "rfm_recency_days", "evt_login_days_since"]) == {
        "win_orders_7d": "win_orders",
        "win_orders_30d": "win_orders",
        "rfm_recency_days": "rfm_recency_days",
        "evt_login_days_since": "evt_login_days_since",
    }
    assert default_groups(["srv_nps_last", "srv_nps_category", "srv_csat_last"]) == {
        "srv_nps_last": "srv_nps_last", "srv_nps_category": "srv_nps_last", "srv_csat_last": "srv_csat_last"}


FEATURES = pd.DataFrame(
    {
        "rfm_recency_days": [142.0, 141.99999, 10.0],
        "rfm_gap_mean_days": [30.0, np.nan, 12.5],
        "win_orders_7d": [0.0, 1.0, 0.0],
        "win_orders_30d": [3.0, 1.0, 1.0],
        "evt_login_count_30d": [2.0, 0.0, 1.0],
        "srv_nps_last": [4.0, np.nan, 9.0],
        "tkt_open_at_cutoff": [2, 1, 0],
        "sub_mrr": [49.0, 10.5, 0.0],
        "cst_segment": pd.Categorical(["gold", None, "silver"]),
        "foo_ratio": [1.5, 2.0, 0.25],
    },
    index=pd.Index(["A", "B", "C"], name="customer_id"),
)
#                  rec   gap   w7    w30   login  nps   tkt   mrr   seg   foo
PHI = np.array([[0.50, 0.00, 0.10, 0.30, 0.05, 0.20, 0.45, -0.1, 0.01, 0.02],
                [0.60, 0.00, 0.30, 0.10, 0.00, 0.35, -0.2, 0.70, 0.50, -0.3],
                [-0.1, -0.1, 0.00, 0.02, 0.30, 0.03, 0.00, 0.00, 0.00, 0.90]])


def _reasons(top_k: int = 3, **kwargs) -> pd.DataFrame:
    contrib = Contributions(pd.DataFrame(PHI, index=FEATURES.index, columns=FEATURES.columns), -2.0)
    return reason_codes(contrib, FEATURES, top_k=top_k, **kwargs)


def test_reason_codes_pick_the_top_positive_groups_in_order() -> None:
    r = _reasons()
    assert r.loc["A", ["reason_1", "reason_2", "reason_3"]].tolist() == ["rfm_recency_days", "tkt_open_at_cutoff", "win_orders"]
    assert r.loc["B", ["reason_1", "reason_2", "reason_3"]].tolist() == ["sub_mrr", "rfm_recency_days", "cst_segment"]
    assert r.loc["A", "reason_1_contribution"] == 0.5
    assert r.loc["A", "reason_3_contribution"] == pytest.approx(0.4)


def test_reason_codes_sum_window_groups_and_name_the_largest_member() -> None:
    r = _reasons()
    assert r.loc["A", "reason_3_feature"] == "win_orders_30d"
    assert r.loc["A", "reason_3_value"] == "3"
    assert r.loc["A", "reason_3_text"] == "3 purchases in the last 30 days"
    ungrouped = _reasons(groups={})
    assert ungrouped.loc["A", "reason_3"] == "win_orders_30d"
    assert ungrouped.loc["A", "reason_3_contribution"] == pytest.approx(0.3)


def test_reason_codes_render_the_exact_sentences() -> None:
    r = _reasons()
    assert r.loc["A", "reason_1_text"] == "no purchase for 142 days; this customer's usual gap is 30 days"
    assert r.loc["A", "reason_2_text"] == "2 support tickets still open"
    assert r.loc["B", "reason_1_text"] == "pays 10.50 a month"
    assert r.loc["B", "reason_2_text"] == "no purchase for 142 days"
    assert r.loc["B", "reason_2_value"] == "142"
    assert r.loc["B", "reason_3_text"] == "segment unknown"
    assert r.loc["C", "reason_1_text"] == "foo_ratio = 0.25"
    assert r.loc["C", "reason_2_text"] == "1 login event in the last 30 days"
    assert r.loc["C", "reason_3_text"] == "latest NPS answer 9 (promoter)"


def test_reason_codes_render_nps_and_categorical_levels() -> None:
    r = _reasons(top_k=6)
    assert r.loc["A", "reason_4_text"] == "latest NPS answer 4 (detractor)"
    assert r.loc["A", "reason_5_text"] == "2 login events in the last 30 days"
    assert r.loc["A", "reason_6_text"] == "foo_ratio = 1.5"
    assert r.loc["B", "reason_4_text"] == "1 purchase in the last 7 days"
    assert r.loc["B", "reason_5_text"] == "no NPS answer yet"
    x = FEATURES.assign(cst_segment=pd.Categorical(["gold", "gold", "silver"]))
    contrib = Contributions(pd.DataFrame(PHI, index=x.index, columns=x.columns), 0.0)
    assert reason_codes(contrib, x).loc["B", "reason_3_text"] == "segment is 'gold'"
    assert reason_codes(contrib, x).loc["B", "reason_3_value"] == "gold"


def test_reason_codes_leave_slots_empty_when_nothing_raises_the_risk() -> None:
    r = _reasons(top_k=4)
    assert r.loc["C", "reason_4"] == "win_orders"
    more = _reasons(top_k=8)
    assert pd.isna(more.loc["C", "reason_5"]) and pd.isna(more.loc["C", "reason_5_text"])
    assert np.isnan(more.loc["C", "reason_5_contribution"])
    assert more["reason_8"].isna().all()


def test_reason_codes_use_a_custom_describe_when_it_answers() -> None:
    def describe(feature: str, values: pd.Series, rows: pd.DataFrame) -> pd.Series | None:
        return "tickets: " + values.astype(str) if feature == "tkt_open_at_cutoff" else None

    r = _reasons(describe=describe)
    assert r.loc["A", "reason_2_text"] == "tickets: 2"
    assert r.loc["A", "reason_3_text"] == "3 purchases in the last 30 days"


def test_reason_codes_reject_bad_top_k_and_foreign_rows() -> None:
    for bad in (-1, 11, 2.5):  # 0 to 10, as scoring.top_k and the served model's top_k
        with pytest.raises(ConfigError, match=r"top_k must be a whole number from 0 \(no reasons\) to 10"):
            _reasons(top_k=bad)
    none = _reasons(top_k=0)
    assert list(none.columns) == [] and none.index.equals(FEATURES.index)
    contrib = Contributions(pd.DataFrame(PHI, index=FEATURES.index, columns=FEATURES.columns), 0.0)
    with pytest.raises(SchemaError, match="different indexes"):
        reason_codes(contrib, FEATURES.reset_index(drop=True))


def test_reason_codes_on_a_real_model_show_category_levels(tiny_model) -> None:
    booster, X = tiny_model
    r = reason_codes(contributions(booster, X), X, top_k=3)
    segment = r["reason_1_feature"] == "cst_segment"
    assert segment.any()
    assert set(r.loc[segment, "reason_1_value"]) <= {"bronze", "gold", "silver"}
    assert (r.loc[segment, "reason_1_text"] == "segment is '" + r.loc[segment, "reason_1_value"] + "'").all()
    assert (r["reason_1_contribution"].dropna() > 0).all()



def test_describe_values_says_yes_and_no_for_flags() -> None:
    assert describe_values(pd.Series([1.0, 0.0, np.nan, 2.0]), "yesno").tolist() == ["yes", "no", "missing", "2"]


def test_flags_counts_and_event_trends_read_as_sentences() -> None:
    x = pd.DataFrame({"sub_active": [0.0, 1.0], "sub_count_all": [1.0, 3.0], "evt_page_view_trend_30d": [0.69, 2.0]},
                     index=pd.Index(["A", "B"], name="customer_id"))
    phi = np.array([[0.3, 0.2, 0.1], [0.3, 0.2, 0.1]])
    r = reason_codes(Contributions(pd.DataFrame(phi, index=x.index, columns=x.columns), 0.0), x, top_k=3)
    assert r.loc["A", ["reason_1_text", "reason_2_text", "reason_3_text"]].tolist() == [
        "subscription active at the cutoff: no", "1 subscription started so far",
        "page view trend 0.69 (last 30 days vs the 30 before; 1 = steady)",
    ]
    assert r.loc["B", "reason_1_text"] == "subscription active at the cutoff: yes"
    assert r.loc["B", "reason_2_text"] == "3 subscriptions started so far"


def test_the_nps_score_and_its_category_take_one_reason_and_no_change_reads_as_the_same() -> None:
    x = pd.DataFrame({"srv_nps_last": [5.0, 8.0], "srv_nps_category": pd.Categorical(["detractor", "passive"]),
                      "srv_nps_change": [0.0, -2.0], "rfm_recency_days": [40.0, 10.0]},
                     index=pd.Index(["A", "B"], name="customer_id"))
    # A: score 0.3 + category 0.2 = 0.5, one reason told by its larger member; B: the category is larger
    phi = np.array([[0.3, 0.2, 0.25, 0.1], [0.05, 0.15, 0.3, 0.01]])
    r = reason_codes(Contributions(pd.DataFrame(phi, index=x.index, columns=x.columns), 0.0), x, top_k=3)
    assert r.loc["A", ["reason_1", "reason_2", "reason_3"]].tolist() == ["srv_nps_last", "srv_nps_change",
                                                                       "rfm_recency_days"]
    assert r.loc["A", "reason_1_contribution"] == pytest.approx(0.5)
    assert r.loc["A", ["reason_1_text", "reason_2_text"]].tolist() == [
        "latest NPS answer 5 (detractor)", "latest NPS answer the same as the previous one"]
    assert r.loc["B", ["reason_1_feature", "reason_1_text", "reason_2_text"]].tolist() == [
        "srv_nps_change", "latest NPS answer changed by -2", "latest NPS answer is a passive"]


def test_every_documented_feature_has_a_sentence() -> None:
    from dataclasses import replace

    from churnml.features.core import feature_docs
    from churnml.features.docs import _EXAMPLE_PLAN
    from churnml.reasons import _template

    plan = replace(_EXAMPLE_PLAN, event_types=("page_view", "login"), survey_types=("nps", "csat", "ces"))
    names = feature_docs(plan)["name"].tolist()
    generic = [n for n in names if _template(n)[0].text.startswith("{feature} =")]
    assert len(names) > 60 and generic == []


def test_a_subscriber_who_never_bought_reads_no_purchase_yet() -> None:
    from churnml.reasons import _sentences

    x = pd.DataFrame({"rfm_recency_days": [np.nan, 12.0], "rfm_tenure_days": [np.nan, 40.0]})
    where = np.arange(2)
    assert _sentences("rfm_recency_days", x["rfm_recency_days"], describe_values(x["rfm_recency_days"]), x,
                      where).tolist() == ["no purchase yet", "no purchase for 12 days"]
    assert _sentences("rfm_tenure_days", x["rfm_tenure_days"], describe_values(x["rfm_tenure_days"]), x,
                      where).tolist() == ["no purchase yet", "first purchase 40 days ago"]


def test_a_level_unseen_in_training_is_named_in_its_reason_which_says_it_was_scored_as_missing() -> None:
    # the model scores 'enterprise' (a plan added since training) and 'mars' as missing: X has them missing
    x = pd.DataFrame({"sub_plan": pd.Categorical([None, None, "basic"], categories=["basic", "pro"]),
                      "cst_region": pd.Categorical([None, None, None], categories=["north"])},
                     index=pd.Index(["A", "B", "C"], name="customer_id"))
    unseen = {"sub_plan": pd.Series(["enterprise", None, None], index=x.index, dtype="object"),
              "cst_region": pd.Series([None, "mars", None], index=x.index, dtype="object")}
    phi = np.array([[0.4, 0.1], [0.1, 0.4], [0.4, 0.1]])
    r = reason_codes(Contributions(pd.DataFrame(phi, index=x.index, columns=x.columns), 0.0), x, top_k=2,
                     unseen=unseen)
    note = " (new since the model was trained: scored as if missing)"
    assert r["reason_1_text"].tolist() == ["plan is 'enterprise'" + note, "region is 'mars'" + note, "plan is 'basic'"]
    assert r["reason_1_value"].tolist() == ["enterprise", "mars", "basic"]
    assert r["reason_2_text"].tolist() == ["region unknown", "no active subscription", "region unknown"]
    plain = reason_codes(Contributions(pd.DataFrame(phi, index=x.index, columns=x.columns), 0.0), x, top_k=2)
    assert plain["reason_1_text"].tolist()[:2] == ["no active subscription", "region unknown"]  # without: untrue
