"""Scoring for outreach: accounting of every customer, safe files, reason codes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from churnml.config import load_config
from churnml.errors import ChurnMLError
from churnml.io import load_tables
from churnml.scoring import money_in_cents, score_customers, spreadsheet_safe
from churnml.training import fit_and_evaluate
from tests.settings import small_world

pytestmark = pytest.mark.slow

SETTINGS = small_world(1500, 18, 60, 100)
CUTOFF = "2024-06-01"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    cfg = load_config(None, SETTINGS)
    tables = load_tables(cfg)
    result = fit_and_evaluate(tables, cfg)
    folder = tmp_path_factory.mktemp("bundle") / "bundle"
    result.model.save(folder, extra={
        "feature_plan": result.data.plan.to_dict(), "time": cfg.time.model_dump(mode="json"),
    })
    from churnml.model import ChurnModel

    return cfg, tables, ChurnModel.load(folder), folder


def test_a_cutoff_long_after_the_data_is_scored_with_a_warning(setup, caplog, capsys, tmp_path):
    from churnml.io import write_frame
    from churnml.score import main

    cfg, tables, model, folder = setup
    last = tables.transactions["timestamp"].max().normalize()
    late = (last + pd.Timedelta(days=9)).date()  # 8 days between the data's end and the cutoff
    with caplog.at_level("WARNING", logger="churnml.scoring"):
        result = score_customers(tables, model, str(late), cfg, top=1)
    end = (last + pd.Timedelta(days=1)).date()  # the data's exclusive end
    text = (f"the cutoff {late} is 8 days after the end of the data ({end}, exclusive): nobody can have bought in "
            "between, so everyone looks silent for 8 more days than they are and the churn probabilities run high. "
            f"Use {end} or load newer data (if the data does run to the cutoff, with no purchase since, declare "
            "data.end)")
    assert text in caplog.text and result.warnings == [text]
    caplog.clear()
    with caplog.at_level("WARNING", logger="churnml.scoring"):
        result = score_customers(tables, model, str((last + pd.Timedelta(days=8)).date()), cfg, top=1)
    assert "after the end of the data" not in caplog.text and result.warnings == []  # 7 days (STALE_DAYS): no warning
    # with nobody to score there is no summary to repeat it after: the error carries it
    from churnml.scoring import NobodyToScoreError

    with pytest.raises(NobodyToScoreError) as nobody:
        score_customers(tables, model, str(late), cfg, customers=["no-such-id"])
    assert str(nobody.value) == (f"nobody to score at {late}: the one asked customer cannot be scored (unknown "
                                 f"customer id: 1). Also: {text}")
    # a declared data.end is the data's end; an aware time is read in UTC
    declared = cfg.model_copy(update={"data": cfg.data.model_copy(update={"end": str(late)})})
    assert score_customers(tables, model, str(late), declared, top=1).warnings == []
    from churnml.scoring import warn_if_stale

    berlin = (last + pd.Timedelta(hours=23, minutes=30)).tz_localize("Europe/Berlin")  # 21:30 or 22:30 UTC
    assert warn_if_stale(berlin, pd.Timestamp(late)) == [text]
    assert warn_if_stale(pd.NaT, pd.Timestamp(late)) == warn_if_stale(None, pd.Timestamp(late)) == []
    # the command line repeats it after its summary
    for name in ("transactions", "events", "subscriptions", "surveys", "tickets", "customers"):
        if getattr(tables, name) is not None:
            write_frame(getattr(tables, name), tmp_path / "data" / f"{name}.parquet")
    capsys.readouterr()
    assert main(["--model", str(folder), "--data", str(tmp_path / "data"), "--cutoff", str(late),
                 "--out", str(tmp_path / "l.csv"), "--top", "2"]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"warning: {text}")
    # a --config's data.end is its own files' end, not the --data folder's: the warning still measures from the folder
    (tmp_path / "other.yaml").write_text(f"data:\n  end: '{late + pd.Timedelta(days=1)}'\n")
    assert main(["--config", str(tmp_path / "other.yaml"), "--model", str(folder), "--data", str(tmp_path / "data"),
                 "--cutoff", str(late), "--out", str(tmp_path / "l2.csv"), "--top", "2"]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"warning: {text}")


def test_every_asked_customer_is_accounted_for(setup):
    cfg, tables, model, _ = setup
    tx = tables.transactions
    scored_before = tx.loc[tx["timestamp"] < pd.Timestamp(CUTOFF), "customer_id"].unique()
    later_only = sorted(set(tx["customer_id"]) - set(scored_before))[:2]
    asked = [*scored_before[:5], scored_before[0], "NOPE-1", *later_only]
    result = score_customers(tables, model, CUTOFF, cfg, customers=asked)
    c = result.counts
    assert c["asked"] == len(asked) == c["scored"] + c["unscored"]
    assert c["scored"] == 5 and c["listed"] == 5
    reasons = dict(zip(result.unscored["customer_id"], result.unscored["reason"], strict=True))
    assert reasons["NOPE-1"].startswith("unknown customer id")
    for cid in later_only:
        assert reasons[cid] == "no purchase before the cutoff"
    assert any(r.startswith("duplicate") for r in result.unscored["reason"])
    assert result.outreach["customer_id"].is_unique


def test_a_customer_gets_the_same_probability_alone_or_with_everyone(setup):
    cfg, tables, model, _ = setup
    assert any(name.startswith("btyd_") for name in model.feature_names_)  # BG/NBD is fitted at scoring
    everyone = score_customers(tables, model, CUTOFF, cfg).outreach.set_index("customer_id")
    few = everyone.index[[0, 7, 300]].tolist()
    alone = score_customers(tables, model, CUTOFF, cfg, customers=few).outreach.set_index("customer_id")
    pd.testing.assert_series_equal(alone["churn_probability"], everyone.loc[few, "churn_probability"],
                                   check_exact=True, check_index=False)


def test_the_list_is_ranked_by_value_at_risk_with_reasons_and_actions(setup):
    cfg, tables, model, _ = setup
    result = score_customers(tables, model, CUTOFF, cfg, top=25)
    out = result.outreach
    assert len(out) == 25 and out["rank"].tolist() == list(range(1, 26))
    assert (np.diff(out["value_at_risk"].to_numpy()) <= 1e-12).all()
    np.testing.assert_allclose(out["value_at_risk"], out["churn_probability"] * out["predicted_clv"])
    assert out["churn_probability"].between(0, 1).all()
    assert {"reason_1", "reason_1_text", "suggested_action", "rfm_segment", "risk_tier"} <= set(out.columns)
    assert (out["suggested_action"] != "").all()
    assert result.counts["below_cut"] == result.counts["scored"] - 25


def test_time_keys_of_a_config_file_unlike_the_model_s_are_warned_about(setup, tmp_path, caplog):
    from churnml.score import _warn_time_unlike_the_model

    _, _, model, _ = setup
    own = model.extra_["time"]
    shared = tmp_path / "shared.yaml"  # a config written for train: the same horizon, another lead time
    shared.write_text(f"time:\n  horizon_days: {own['horizon_days']}\n  lead_time_days: {own['lead_time_days'] + 7}\n"
                      "scoring:\n  top_k: 2\n")
    with caplog.at_level("WARNING", logger="churnml.score"):
        said = _warn_time_unlike_the_model(str(shared), model)
    assert said == [f"--config {shared} sets time.lead_time_days={own['lead_time_days'] + 7}, but the model was "
                    f"trained with {own['lead_time_days']}; score uses the model's (a model keeps the time model it "
                    "was trained for: regime, horizon, lead time, active window)"]
    assert said[0] in caplog.text
    assert _warn_time_unlike_the_model(None, model) == []
    # a date is compared as the model stores it (YAML reads 2024-05-01 as a date, the model keeps '2024-05-01')
    from types import SimpleNamespace

    dated = SimpleNamespace(extra_={"time": {**own, "test_cutoff": "2024-05-01"}})
    shared.write_text("time:\n  test_cutoff: 2024-05-01\n")
    assert _warn_time_unlike_the_model(str(shared), dated) == []  # type: ignore[arg-type]
    shared.write_text("time:\n  test_cutoff: 2024-05-08\n")
    assert _warn_time_unlike_the_model(str(shared), dated)[0].startswith(  # type: ignore[arg-type]
        f"--config {shared} sets time.test_cutoff='2024-05-08', but the model was trained with '2024-05-01'")


def test_the_number_of_reasons_shown_never_changes_an_action(setup):
    """The playbook reads the first scoring.playbook_reasons reasons; --top-k only decides how many are shown."""
    cfg, tables, model, _ = setup
    lists = {}
    for k in (0, 1, 3, 10):
        shown = cfg.model_copy(update={"scoring": cfg.scoring.model_copy(update={"top_k": k})})
        lists[k] = score_customers(tables, model, CUTOFF, shown, top=60).outreach
        assert [c for c in lists[k].columns if c.endswith("_feature")] == [f"reason_{i}_feature"
                                                                          for i in range(1, k + 1)]
    assert lists[3]["suggested_action"].nunique() > 1
    for k in (0, 1, 10):
        pd.testing.assert_series_equal(lists[k]["suggested_action"], lists[3]["suggested_action"])
    for k in (3, 10):  # the shown reasons are the same ones
        pd.testing.assert_frame_equal(lists[k][lists[1].columns], lists[1])
    # the rules read the first three reasons: a customer re-engaged for an activity reason has one among them
    engaged = lists[3][lists[3]["suggested_action"] == "re-engagement campaign"]
    prefixes = ("evt_", "win_", "rfm_recency", "rfm_gap", "btyd_")
    firsts = engaged[[f"reason_{i}_feature" for i in (1, 2, 3)]].fillna("").astype("str")
    assert firsts.apply(lambda r: any(v.startswith(prefixes) for v in r), axis=1).all()


def test_reason_codes_add_up_to_the_model_log_odds(setup):
    from churnml.config import TimeConfig
    from churnml.explain import contributions
    from churnml.features import FeaturePlan, compute_features
    from churnml.labels import population

    cfg, tables, model, _ = setup
    spine = population(tables, [CUTOFF], TimeConfig(**model.extra_["time"])).head(200)
    feats = compute_features(tables, spine, FeaturePlan.from_dict(model.extra_["feature_plan"]))
    X = model.prepared(feats[model.feature_names_])
    contrib = contributions(model.booster_, X)
    np.testing.assert_allclose(contrib.logit().to_numpy(), model.predict_raw(feats[model.feature_names_]), atol=1e-9)


def test_the_pyfunc_returns_reasons_with_top_k_as_a_parameter(setup):
    from churnml.config import TimeConfig
    from churnml.features import FeaturePlan, compute_features
    from churnml.labels import population
    from churnml.model import model_input
    from churnml.scorer import ChurnPyfunc

    cfg, tables, model, folder = setup
    spine = population(tables, [CUTOFF], TimeConfig(**model.extra_["time"])).head(50)
    feats = compute_features(tables, spine, FeaturePlan.from_dict(model.extra_["feature_plan"]))
    py = ChurnPyfunc()
    py.load_context(type("Ctx", (), {"artifacts": {"bundle": str(folder)}})())
    rows = model_input(feats[model.feature_names_])
    two = py.predict(None, rows, params={"top_k": 2})
    assert {"churn_probability", "reason_1", "reason_2_text"} <= set(two.columns) and "reason_3" not in two
    none = py.predict(None, rows, params={"top_k": 0})
    assert list(none.columns) == ["churn_probability"]
    np.testing.assert_allclose(none["churn_probability"], model.predict_proba(feats[model.feature_names_]))


def test_spreadsheet_formulas_are_neutralised():
    frame = pd.DataFrame({"customer_id": ["=cmd|' /C calc'!A0", "+1+1", "ok", None], "p": [0.1, -0.2, 0.3, 0.4]})
    safe = spreadsheet_safe(frame)
    assert safe["customer_id"].tolist()[:3] == ["'=cmd|' /C calc'!A0", "'+1+1", "ok"]
    assert safe["p"].tolist() == [0.1, -0.2, 0.3, 0.4]


def test_csv_lists_show_money_in_cents_and_keep_the_rest():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "churn_probability": [0.123456, 0.5],
                          "predicted_clv": [1496.2712, np.nan], "value_at_risk": [657.7412093380711, np.nan],
                          "historical_spend": [10.005, 2.0]})
    out = money_in_cents(frame)
    assert out["value_at_risk"].tolist()[0] == 657.74 and np.isnan(out["value_at_risk"].tolist()[1])
    assert out["predicted_clv"].tolist()[0] == 1496.27
    assert out["historical_spend"].tolist() == [round(10.005, 2), 2.0]
    assert out["churn_probability"].tolist() == [0.123456, 0.5]  # not money
    assert frame["value_at_risk"].tolist()[0] == 657.7412093380711  # the caller's frame is untouched
    pd.testing.assert_frame_equal(money_in_cents(frame[["customer_id"]]), frame[["customer_id"]])


def test_the_cli_writes_atomically_and_never_overwrites(setup, tmp_path, capsys):
    from churnml.io import write_frame
    from churnml.score import main
    from churnml.scoring import cancel_requests

    cfg, tables, _, folder = setup
    data = tmp_path / "data"
    for name in ("transactions", "events", "subscriptions", "surveys", "tickets", "customers"):
        frame = getattr(tables, name)
        if frame is not None:
            write_frame(frame, data / f"{name}.parquet")
    out = tmp_path / "list.csv"
    argv = ["--model", str(folder), "--data", str(data), "--cutoff", CUTOFF, "--out", str(out), "--top", "10"]
    assert main(argv) == 0
    listed = pd.read_csv(out, dtype={"customer_id": str})
    assert len(listed) == 10 and (tmp_path / "list.unscored.csv").exists()
    # the subscribers of the population who asked to cancel, and how many of them the cut kept
    scored = set(score_customers(tables, setup[2], CUTOFF, cfg).outreach["customer_id"])
    asked = set(cancel_requests(tables, pd.Timestamp(CUTOFF))["customer_id"]) & scored
    kept = int(listed["cancel_requested_at"].notna().sum())
    assert len(asked) > kept
    side = tmp_path / "list.unscored.csv"
    assert (f"{len(asked)} scored customers asked to cancel (cancel_requested_at): {kept} on the list, "
            f"{len(asked) - kept} below the cut (listed in {side} with their rank)") in capsys.readouterr().out
    beside = pd.read_csv(side, dtype={"customer_id": str})
    assert set(beside["customer_id"]) == asked - set(listed["customer_id"])
    assert beside["reason"].str.contains("; --top 10 keeps ranks 1 to 10; asked to cancel on 20").all()
    # Parquet keeps the time type; with the column but no request, the count is 0
    none = tmp_path / "none"
    write_frame(tables.subscriptions.assign(cancel_requested_at=pd.NaT).astype(
        {"cancel_requested_at": tables.subscriptions["cancel_requested_at"].dtype}), none / "subscriptions.parquet")
    for name in ("transactions", "events", "surveys", "tickets", "customers"):
        if getattr(tables, name) is not None:
            write_frame(getattr(tables, name), none / f"{name}.parquet")
    assert main([*argv[:3], str(none), *argv[4:7], str(tmp_path / "none.parquet"), *argv[8:]]) == 0
    assert pd.read_parquet(tmp_path / "none.parquet")["cancel_requested_at"].dtype == "datetime64[us]"
    assert ("0 scored customers asked to cancel (cancel_requested_at): 0 on the list, 0 below the cut\n"
            in capsys.readouterr().out)
    before = out.read_bytes()
    assert main(argv) == 2  # exists, no --overwrite
    assert out.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))
    assert main([*argv, "--overwrite"]) == 0


def test_the_mrr_clv_for_a_model_of_buyers_is_refused_before_any_feature_with_the_fix(setup, tmp_path, capsys,
                                                                                      monkeypatch):
    import churnml.scoring
    from churnml.score import main

    _, _, _, folder = setup

    def no_features(*args, **kwargs):
        raise AssertionError("features computed before the CLV method was checked")

    monkeypatch.setattr(churnml.scoring, "compute_features", no_features)
    argv = ["--model", str(folder), "--cutoff", CUTOFF, "--out", str(tmp_path / "l.csv"), *[
        f"--set={o}" for o in [*[o for o in SETTINGS if o.startswith("data.")], "scoring.clv_method=mrr"]]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert ("scoring.clv_method: mrr values the subscriptions active at the cutoff, but the model's regime is "
            "noncontractual") in err and "Traceback" not in err
    assert not (tmp_path / "l.csv").exists()


def test_an_id_with_only_returns_under_returns_drop_is_unknown_with_the_policy_named(setup, tmp_path):
    from churnml.io import write_frame
    from churnml.score import DROPPED_RETURNS_NOTE, main

    cfg, tables, _, folder = setup
    data = tmp_path / "data"
    tx = tables.transactions
    returns_only = pd.DataFrame({"customer_id": pd.Series(["R-ONLY"], dtype="str"),
                                 "timestamp": pd.Series(pd.to_datetime(["2024-03-01"]), dtype=tx["timestamp"].dtype),
                                 "amount": [-12.5], "order_id": pd.Series(["R-1"], dtype="str")})
    cols = ["customer_id", "timestamp", "amount", "order_id"]  # the model counts orders: it needs the order ids
    write_frame(pd.concat([tx[cols], returns_only], ignore_index=True),
                data / "transactions.parquet")
    for name in ("events", "subscriptions", "surveys", "tickets", "customers"):
        if getattr(tables, name) is not None:
            write_frame(getattr(tables, name), data / f"{name}.parquet")
    (tmp_path / "asked.csv").write_text("customer_id\nR-ONLY\nNOPE-2\n" + tx["customer_id"].iloc[0] + "\n")
    unknown = "unknown customer id: not in the transactions, customers or subscriptions tables"
    for returns, note in (("drop", DROPPED_RETURNS_NOTE), ("keep", "")):
        out = tmp_path / f"{returns}.csv"
        assert main(["--model", str(folder), "--data", str(data), "--cutoff", CUTOFF, "--out", str(out),
                     "--customers", str(tmp_path / "asked.csv"), f"--set=data.returns={returns}"]) == 0
        side = pd.read_csv(tmp_path / f"{returns}.unscored.csv", dtype="str").set_index("customer_id")["reason"]
        assert side["NOPE-2"] == unknown + note
        if returns == "drop":
            assert side["R-ONLY"] == unknown + note
        else:  # kept, the return is a row of R-ONLY: known, with no purchase before the cutoff
            assert side["R-ONLY"] == "no purchase before the cutoff"


def test_the_returns_note_follows_how_the_tables_were_read_not_the_setting_alone():
    from argparse import Namespace

    from churnml.score import _returns_read

    files = load_config(None, ["data.source=files", "data.tables.transactions.path=tx.csv", "data.returns=drop"])
    synthetic = load_config(None, ["data.source=synthetic", "data.returns=drop"])  # generated: returns kept
    assert _returns_read(Namespace(data=None, set=[]), files, None) == "drop"
    assert _returns_read(Namespace(data=None, set=[]), synthetic, None) == "keep"
    assert _returns_read(Namespace(data="d", set=[]), files, None) == "keep"  # --data: the model's, else keep
    assert _returns_read(Namespace(data="d", set=["data.returns=drop"]), files, None) == "drop"


def test_scoring_with_a_missing_model_is_a_clear_error(setup, tmp_path):
    cfg, tables, _, _ = setup
    from churnml.scoring import load_churn_model

    missing = tmp_path / "nothing-here"
    with pytest.raises(ChurnMLError, match=rf"^model '{missing}': no such folder \(working folder .*\); give a "
                                           r"folder saved by ChurnModel.save or logged by train, or a model URI"):
        load_churn_model(str(missing))
    (tmp_path / "empty").mkdir()  # a folder, but no model in it
    with pytest.raises(ChurnMLError, match="cannot load the model"):
        load_churn_model(str(tmp_path / "empty"))


def test_historical_value_per_year_is_apv_times_apf_over_the_last_year():
    from churnml.scoring import historical_value_per_year
    from tests.conftest import metrics_log

    tx = metrics_log()  # from 2024-01-05 to 2024-04-25
    # The year [2024-01-05, 2025-01-05), as the KPI table counts: revenue 10+20+30+50+25+5+40+60+15+12+100 = 367
    # less the return of 04-10 (not a purchase, so not an order, but it reduces revenue) = 357, over 11 orders and
    # 5 customers.
    value = historical_value_per_year(tx, pd.Timestamp("2025-01-05"))
    assert value == pytest.approx((357 / 11) * (11 / 5))
    # A day earlier the year starts on 2024-01-04, before the data: n/a, as the KPI table and the score log say.
    assert np.isnan(historical_value_per_year(tx, pd.Timestamp("2025-01-04")))
    assert np.isnan(historical_value_per_year(tx.iloc[:0], pd.Timestamp("2025-01-05")))


# ------------------------------------------------------------------------------------ outreach_list
def _scored() -> pd.DataFrame:
    """Four scored customers; value at risk = p x CLV: A 0.8 x 100 = 80, B 0.5 x 100 = 50,
    C 0.2 x 250 = 50 (B wins the tie on probability), D 0.9 x 10 = 9."""
    return pd.DataFrame({
        "customer_id": pd.Series(["C", "A", "D", "B"], dtype="str"),
        "cutoff": pd.Series(pd.to_datetime(["2024-06-01"] * 4), dtype="datetime64[us]"),
        "churn_probability": [0.2, 0.8, 0.9, 0.5],
        "predicted_clv": [250.0, 100.0, 10.0, 100.0],
        "historical_spend": [300.0, 120.0, 15.0, 90.0],
        "rfm_segment": ["Champions", "At Risk", "Hibernating", "Need Attention"],
        "tenure_days": [400.0, 30.0, 700.0, 200.0],
    })


def test_the_outreach_list_ranks_by_value_at_risk_then_probability_and_cuts_by_top_or_budget():
    from churnml.scoring import outreach_list

    cfg = load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0", "scoring.cost_per_contact=9", "scoring.save_rate=0.2"])
    asked: list[object] = []

    def rows(ids):
        asked.append(ids)
        raise AssertionError("no reasons asked, so no feature rows are fetched")

    everyone = outreach_list(_scored(), None, rows, cfg)  # type: ignore[arg-type]
    assert everyone["customer_id"].tolist() == ["A", "B", "C", "D"] and everyone["rank"].tolist() == [1, 2, 3, 4]
    assert everyone["value_at_risk"].tolist() == pytest.approx([80.0, 50.0, 50.0, 9.0])
    assert everyone["risk_tier"].tolist() == ["high", "medium", "low", "high"]
    assert list(everyone.columns) == ["rank", "customer_id", "cutoff", "churn_probability", "risk_tier",
                                      "predicted_clv", "value_at_risk", "historical_spend", "rfm_segment",
                                      "suggested_action"]
    assert outreach_list(_scored(), None, rows, cfg, top=2)["customer_id"].tolist() == ["A", "B"]  # type: ignore[arg-type]
    # worth a contact at 9: 0.2 x value at risk > 9, i.e. A (16), B (10), C (10), not D (1.8);
    # a budget of 20 pays 2 contacts, one of 100 pays 11
    assert outreach_list(_scored(), None, rows, cfg, budget=20.0)["customer_id"].tolist() == ["A", "B"]  # type: ignore[arg-type]
    assert outreach_list(_scored(), None, rows, cfg, budget=100.0)["customer_id"].tolist() == ["A", "B", "C"]  # type: ignore[arg-type]
    assert asked == []


def test_a_cut_that_lists_nobody_gives_an_empty_list_with_every_column():
    """Budget 0 (or below one contact) lists nobody; the playbook reads reasons: it used to fail on a KeyError."""
    from churnml.reasons import reason_columns
    from churnml.scoring import outreach_list

    def rows(ids):
        raise AssertionError("nobody listed, so no feature rows are fetched")

    cfg = load_config(None, ["scoring.cost_per_contact=9"])  # top_k 3 and the default playbook, which reads reasons
    for budget in (0.0, 8.99):
        empty = outreach_list(_scored(), None, rows, cfg, budget=budget)  # type: ignore[arg-type]
        assert empty.empty
        assert list(empty.columns) == ["rank", "customer_id", "cutoff", "churn_probability", "risk_tier",
                                       "predicted_clv", "value_at_risk", "historical_spend", "rfm_segment",
                                       *reason_columns(3), "suggested_action"]


def test_a_budget_pays_every_contact_it_covers_exactly_and_actions_do_not_depend_on_the_cut():
    from churnml.scoring import outreach_list

    def rows(ids):
        raise AssertionError("no reasons asked")

    # 3.3 // 1.1 is 2.0 in floats; the budget pays three contacts at 1.1
    cfg = load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0", "scoring.cost_per_contact=1.1", "scoring.save_rate=0.2"])
    assert outreach_list(_scored(), None, rows, cfg, budget=3.3)["customer_id"].tolist() == ["A", "B", "C"]  # type: ignore[arg-type]
    # Ten scored (the four and six of value at risk 1): A, first of ten, is in the top 20 % of value at
    # risk and high risk: a personal call. Cut to two, A is still first of the ten scored, not 1 of 2.
    extra = pd.DataFrame({"customer_id": pd.Series([f"E{i}" for i in range(6)], dtype="str"),
                          "cutoff": pd.Series(pd.to_datetime(["2024-06-01"] * 6), dtype="datetime64[us]"),
                          "churn_probability": [0.1] * 6, "predicted_clv": [10.0] * 6, "historical_spend": [5.0] * 6,
                          "rfm_segment": ["Hibernating"] * 6, "tenure_days": [400.0] * 6})
    ten = pd.concat([_scored(), extra], ignore_index=True)
    ten.loc[ten["customer_id"] == "A", "tenure_days"] = 400.0  # not new: no onboarding call
    everyone = outreach_list(ten, None, rows, cfg)  # type: ignore[arg-type]
    two = outreach_list(ten, None, rows, cfg, top=2)  # type: ignore[arg-type]
    assert everyone["suggested_action"].iloc[0] == "personal call"
    assert two["suggested_action"].tolist() == everyone["suggested_action"].head(2).tolist()


def test_the_asked_customers_below_the_cut_are_given_with_their_rank_and_why(caplog):
    from churnml.scoring import below_the_cut, outreach_list

    cfg = load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0", "scoring.cost_per_contact=9", "scoring.save_rate=0.2"])

    def rows(ids):
        raise AssertionError("no reasons asked")

    top2 = outreach_list(_scored(), None, rows, cfg, top=2)  # type: ignore[arg-type]
    left = below_the_cut(_scored(), top2, cfg, top=2)
    assert left["customer_id"].tolist() == ["C", "D"]  # rank order: C (50, rank 3), D (9, rank 4)
    assert left["reason"].tolist() == [
        "below the cut: rank 3 of 4 by value at risk (50.00); --top 2 keeps ranks 1 to 2",
        "below the cut: rank 4 of 4 by value at risk (9.00); --top 2 keeps ranks 1 to 2",
    ]
    # budget 20 pays 2 contacts at 9: A and B; C (0.2 x 50 = 10 > 9) was worth one, D (1.8) was not
    paid = outreach_list(_scored(), None, rows, cfg, budget=20.0)  # type: ignore[arg-type]
    left = below_the_cut(_scored(), paid, cfg, budget=20.0)
    assert left["customer_id"].tolist() == ["C", "D"]
    assert left["reason"].tolist() == [
        "below the cut: rank 3 of 4 by value at risk (50.00); --budget 20 pays for 2 contact(s) at 9 each",
        "below the cut: rank 4 of 4 by value at risk (9.00); not worth a contact: save rate 0.2 x value at "
        "risk <= cost per contact 9",
    ]
    everyone = outreach_list(_scored(), None, rows, cfg)  # type: ignore[arg-type]
    assert below_the_cut(_scored(), everyone, cfg).empty
    # money as typed; a customer without a predicted CLV has no value at risk, is ranked last and says so
    odd = load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0", "scoring.cost_per_contact=12.345678", "scoring.save_rate=0.2"])
    no_clv = _scored().assign(predicted_clv=[250.0, 100.0, np.nan, 100.0],  # D: a subscriber who never bought
                              rfm_segment=["Champions", "At Risk", None, "Need Attention"])
    listed = outreach_list(no_clv, None, rows, odd)  # type: ignore[arg-type]
    assert listed.set_index("customer_id").loc["D", "rfm_segment"] == "unknown"  # as churn_by_segment says
    with caplog.at_level("WARNING", logger="churnml.outreach"):
        paid = outreach_list(no_clv, None, rows, odd, budget=1234567.0)  # type: ignore[arg-type]
    assert paid["customer_id"].tolist() == ["A"]  # 0.2 x 80 = 16 > 12.345678; B and C give 10
    # 1234567 / 12.345678 = 99999.99...: 99,999 contacts paid for, one customer worth one
    assert ("--budget 1234567 pays for 99,999 contacts at scoring.cost_per_contact = 12.345678 each, but only 1 of "
            "the 4 scored customers are worth a contact (save rate x value at risk > cost): all are listed and "
            "1,234,555 of the budget is left (if that is unexpected: the costs are in the currency of the amounts; "
            "check scoring.cost_per_contact)") in caplog.text
    caplog.clear()
    assert below_the_cut(no_clv, paid, odd, budget=1234567.0)["reason"].tolist() == [
        "below the cut: rank 2 of 4 by value at risk (50.00); not worth a contact: save rate 0.2 x value at risk "
        "<= cost per contact 12.345678",
        "below the cut: rank 3 of 4 by value at risk (50.00); not worth a contact: save rate 0.2 x value at risk "
        "<= cost per contact 12.345678",
        "below the cut: rank 4 of 4 by value at risk (unknown: no predicted CLV); not contacted: its value at risk "
        "is unknown",
    ]
    nine = load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0", "scoring.cost_per_contact=9.5", "scoring.save_rate=0.2"])
    paid = outreach_list(_scored(), None, rows, nine, budget=20.5)  # type: ignore[arg-type]
    assert paid["customer_id"].tolist() == ["A", "B"]  # 20.5 // 9.5 = 2 of the worth A (16), B (10), C (10)
    assert below_the_cut(_scored(), paid, nine, budget=20.5)["reason"].iloc[0] == (
        "below the cut: rank 3 of 4 by value at risk (50.00); --budget 20.5 pays for 2 contact(s) at 9.5 each")
    assert caplog.text == ""  # budgets that run out say nothing


def test_customers_who_asked_to_cancel_below_the_cut_are_written_beside_the_list_with_the_date():
    from churnml.outreach import beside_the_list
    from churnml.scoring import outreach_list

    cfg = load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0"])

    def rows(ids):
        raise AssertionError("no reasons asked")

    # B (rank 2), C (rank 3) and D (rank 4) asked to cancel, A (rank 1) did not; --top 2 keeps A and B
    scored = _scored().assign(cancel_requested_at=pd.Series(pd.to_datetime(
        ["2024-05-30 23:00", None, "2024-01-02", "2024-04-01"], format="ISO8601"), dtype="datetime64[us]"))
    top2 = outreach_list(scored, None, rows, cfg, top=2)  # type: ignore[arg-type]
    assert pd.isna(top2["cancel_requested_at"].iloc[0])
    assert top2["cancel_requested_at"].iloc[1] == pd.Timestamp("2024-04-01")
    assert top2["suggested_action"].tolist() == ["onboarding call", "save call"]  # A: 30 days of tenure
    # everyone at risk scored: only the requesters below the cut are written, the others are counted
    left = beside_the_list(scored, top2, cfg, 2, None, asked=False)
    assert left is not None
    assert left.to_dict("list") == {"customer_id": ["C", "D"], "reason": [
        "below the cut: rank 3 of 4 by value at risk (50.00); --top 2 keeps ranks 1 to 2; asked to cancel on 2024-05-30",
        "below the cut: rank 4 of 4 by value at risk (9.00); --top 2 keeps ranks 1 to 2; asked to cancel on 2024-01-02",
    ]}
    # an asked list: everyone below the cut, the requesters marked
    assert beside_the_list(scored.iloc[[0, 1, 3]], top2.iloc[:1], cfg, 1, None, asked=True)["reason"].tolist() == [
        "below the cut: rank 2 of 3 by value at risk (50.00); --top 1 keeps ranks 1 to 1; asked to cancel on 2024-04-01",
        "below the cut: rank 3 of 3 by value at risk (50.00); --top 1 keeps ranks 1 to 1; asked to cancel on 2024-05-30",
    ]
    # no requests column: nothing beside a list of everyone
    assert beside_the_list(_scored(), top2, cfg, 2, None, asked=False) is None


def test_every_asked_customer_is_on_the_list_or_beside_it_with_a_cut(setup):
    cfg, tables, model, _ = setup
    everyone = score_customers(tables, model, CUTOFF, cfg).outreach
    few = everyone["customer_id"].iloc[[3, 0, 40, 7, 300]].tolist() + ["NOPE-1"]
    result = score_customers(tables, model, CUTOFF, cfg, customers=few, top=2)
    assert result.counts == {"asked": 6, "scored": 5, "listed": 2, "below_cut": 3, "unscored": 1}
    side = result.not_listed()
    assert sorted(result.outreach["customer_id"].tolist() + side["customer_id"].tolist()) == sorted(few)
    assert side["customer_id"].tolist() == ["NOPE-1"] + everyone["customer_id"].iloc[[7, 40, 300]].tolist()
    assert side["reason"].iloc[1:].str.startswith("below the cut: rank 3 of 5 by value at risk").tolist() == [
        True, False, False]
    assert side["reason"].iloc[1:].str.endswith("--top 2 keeps ranks 1 to 2").all()
    # not asked: those below the cut are only counted, but for the ones who asked to cancel
    top2 = score_customers(tables, model, CUTOFF, cfg, top=2)
    requested = everyone.loc[everyone["cancel_requested_at"].notna(), "customer_id"]
    assert len(requested) == top2.open_requests > 0
    below = set(requested) - set(top2.outreach["customer_id"])
    assert set(top2.below_cut["customer_id"]) == below and top2.below_cut["reason"].str.contains("; asked to cancel on ").all()
    from dataclasses import replace
    plain = replace(tables, subscriptions=tables.subscriptions.drop(columns="cancel_requested_at"))
    assert score_customers(plain, model, CUTOFF, cfg, top=2).below_cut is None


def test_the_outreach_list_fetches_feature_rows_of_the_listed_customers_only(setup):
    from churnml.config import TimeConfig
    from churnml.features import FeaturePlan, compute_features
    from churnml.labels import population
    from churnml.scoring import outreach_list

    cfg, tables, model, _ = setup
    spine = population(tables, [CUTOFF], TimeConfig(**model.extra_["time"])).head(30)
    feats = compute_features(tables, spine, FeaturePlan.from_dict(model.extra_["feature_plan"]))
    scored = feats[["customer_id", "cutoff"]].assign(
        churn_probability=model.predict_proba(feats[model.feature_names_]), predicted_clv=100.0,
        historical_spend=feats["rfm_monetary_sum_all"], rfm_segment="At Risk", tenure_days=feats["rfm_tenure_days"])
    asked = []

    def rows(ids):
        asked.append(ids.tolist())
        return feats[feats["customer_id"].isin(set(ids))].iloc[::-1]  # any order: aligned by id

    out = outreach_list(scored, model, rows, cfg, top=5)
    assert asked == [out["customer_id"].tolist()] and len(out) == 5
    assert out["reason_1"].notna().all() and (out["suggested_action"] != "").all()
    with pytest.raises(ChurnMLError, match=r"missing column\(s\) \['tenure_days'\]"):
        outreach_list(scored.drop(columns=["tenure_days"]), model, rows, cfg)


def test_clv_from_summary_is_what_predicted_clv_gives_on_the_same_history(setup):
    from churnml.btyd import summary_at
    from churnml.scoring import clv_from_summary, predicted_clv

    _, tables, _, _ = setup
    cut = pd.Timestamp(CUTOFF)
    direct = predicted_clv(tables.transactions, cut, 365, 0.1)
    again = clv_from_summary(summary_at(tables.transactions, cut, unit_days=7.0), 365, 0.1)
    pd.testing.assert_series_equal(direct, again)
    assert (direct.dropna() >= 0).all()


def test_the_clv_is_a_still_active_customers_so_value_at_risk_counts_the_attrition_once():
    from churnml.btyd import BGNBD, GammaGamma
    from churnml.scoring import clv_from_summary

    # a and b spend alike over 40 weeks; a bought last in week 39, b in week 3 and has been silent since
    rows = {"a": (8, 39.0), "b": (8, 3.0), "c": (2, 20.0), "d": (0, 0.0), "e": (3, 35.0), "f": (1, 10.0)}
    summary = pd.DataFrame({"frequency": [x for x, _ in rows.values()], "recency": [t for _, t in rows.values()],
                            "T": 40.0, "monetary_value": [60.0, 60.0, 20.0, np.nan, 30.0, 25.0]},
                           index=pd.Index(list(rows), name="customer_id"))
    clv = clv_from_summary(summary, 364, 0.1)
    bg, gg = BGNBD().fit(summary), GammaGamma().fit(summary)
    assert bg.p_alive(summary)["b"] < 0.5 * bg.p_alive(summary)["a"]  # BG/NBD thinks b is likelier gone
    assert clv["a"] == clv["b"] > 0  # but b, if kept, is worth what a is: the churn model weighs the silence
    weekly = 1.1 ** (7 / 365.25) - 1  # a year of 365.25 days is discounted by 10 %, as the MRR's months are
    assert (1 + weekly) ** (365.25 / 7) == pytest.approx(1.1, rel=1e-14)
    np.testing.assert_allclose(clv, gg.clv(bg, summary, 52.0, weekly, given_alive=True), rtol=1e-12)


# ------------------------------------------------------------------------------- --engine options
def test_sample_fraction_without_the_spark_engine_is_an_error_naming_the_fix(capsys):
    from churnml.train import main

    assert main(["--sample-fraction", "0.5"]) == 2
    assert "add --engine spark" in capsys.readouterr().err


def test_a_bad_spark_memory_size_is_refused_by_the_parser(capsys):
    from churnml.train import main

    with pytest.raises(SystemExit) as exit_:
        main(["--engine", "spark", "--spark-memory", "4 GB"])
    assert exit_.value.code == 2
    assert "'4 GB' is not a memory size such as 4g or 4096m" in capsys.readouterr().err


@pytest.mark.parametrize(("error", "what"), [
    (ConnectionRefusedError(111, "Connection refused"), "error: Spark's JVM stopped while churnml was talking to it"),
    (RuntimeError("[AGGREGATE_OUT_OF_MEMORY] No enough memory for aggregation"), "error: Spark ran out of memory"),
    (type("Py4JError", (Exception,), {})("Answer from Java side is empty"), "error: Spark's JVM stopped"),
])
def test_spark_out_of_memory_ends_with_the_option_to_raise_it(error, what, capsys):
    import argparse

    from churnml.cli import add_engine_options, base_parser, run

    def failing(args: argparse.Namespace) -> int:
        raise error

    parser = base_parser("x", "y")
    add_engine_options(parser)
    assert run(failing, parser, ["--engine", "spark", "--spark-memory", "6G"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(what) and "give it more with --spark-memory, e.g. --spark-memory 8g (now 6g)" in err
    with pytest.raises(type(error)):  # not a Spark run: the error is not ours to explain
        run(failing, parser, ["--engine", "duckdb"])


@pytest.mark.parametrize(("argv", "fix"), [
    (["--sample-by", "class", "--sample-fraction", "0.5"], "--sample-by class samples on Spark only; add --engine spark"),
    (["--sample-by", "class", "--engine", "spark"], "give it with --sample-fraction below 1, e.g. --sample-fraction 0.1"),
])
def test_sampling_by_class_needs_the_spark_engine_and_a_fraction(argv, fix, capsys):
    from churnml.train import main

    assert main(argv) == 2
    assert fix in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "score"])
def test_the_spark_engine_without_pyspark_names_the_install_command(command, monkeypatch, tmp_path, capsys):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if not installed
    main = importlib.import_module(f"churnml.{command}").main
    extra = ["--cutoff", CUTOFF, "--out", str(tmp_path / "l.csv")] if command == "score" else []
    assert main(["--engine", "spark", *extra]) == 2
    assert "pip install 'churnml[spark]'" in capsys.readouterr().err


def test_tables_other_than_the_transactions_may_stay_on_disk(setup, tmp_path):
    from dataclasses import replace

    from churnml.engine import ParquetSource

    cfg, tables, model, _ = setup
    on_disk = {}
    for name in ("events", "surveys", "tickets", "subscriptions", "customers"):
        frame = getattr(tables, name)
        if frame is not None:
            frame.to_parquet(tmp_path / f"{name}.parquet")
            on_disk[name] = ParquetSource(tmp_path / f"{name}.parquet")
    assert on_disk, "the small world has tables besides the transactions"
    got = score_customers(replace(tables, **on_disk), model, CUTOFF, cfg)
    pd.testing.assert_frame_equal(got.outreach, score_customers(tables, model, CUTOFF, cfg).outreach)
    # a customer list too: the known ids are read from the files (it failed on ParquetSource["customer_id"])
    asked = [*got.outreach["customer_id"].head(3), "NOPE-1"]
    listed = score_customers(replace(tables, **on_disk), model, CUTOFF, cfg, customers=asked)
    in_memory = score_customers(tables, model, CUTOFF, cfg, customers=asked)
    pd.testing.assert_frame_equal(listed.outreach, in_memory.outreach)
    pd.testing.assert_frame_equal(listed.unscored, in_memory.unscored)
    assert listed.unscored["reason"].str.startswith("unknown customer id").tolist() == [True]


def test_the_clv_reuses_the_btyd_features_bgnbd_fit_and_gets_the_same_values(setup, monkeypatch):
    from churnml.btyd import BGNBD
    from churnml.config import TimeConfig
    from churnml.scoring import predicted_clv, shared_bgnbd

    cfg, tables, model, _ = setup
    assert model.extra_["feature_plan"]["btyd_horizon_days"] is not None
    alone = predicted_clv(tables.transactions, pd.Timestamp(CUTOFF), cfg.scoring.clv_horizon_days,
                          cfg.scoring.annual_discount_rate)
    fits = []
    fit = BGNBD.fit

    def counted(self, *args, **kwargs):
        fits.append(1)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(BGNBD, "fit", counted)
    got = score_customers(tables, model, CUTOFF, cfg).outreach.set_index("customer_id")["predicted_clv"]
    assert len(fits) == 1  # the btyd family's fit, reused for the CLV
    np.testing.assert_allclose(got.to_numpy(), alone.reindex(got.index).to_numpy(), rtol=1e-9)
    fitted = {pd.Timestamp(CUTOFF): BGNBD()}
    assert shared_bgnbd(fitted, pd.Timestamp(CUTOFF), TimeConfig()) is fitted[pd.Timestamp(CUTOFF)]
    # being at risk is not having bought: the CLV fits its own
    assert shared_bgnbd(fitted, pd.Timestamp(CUTOFF), TimeConfig(active_within_days=90)) is None
    assert shared_bgnbd(fitted, pd.Timestamp(CUTOFF), TimeConfig(regime="contractual")) is None
    assert shared_bgnbd({}, pd.Timestamp(CUTOFF), TimeConfig()) is None


def test_the_logged_value_per_year_is_na_with_the_reason_before_a_year_of_data():
    from churnml.scoring import _year_value_text
    from tests.conftest import metrics_log

    tx = metrics_log()  # from 2024-01-05
    assert _year_value_text(tx, pd.Timestamp("2024-04-20")).endswith(
        "n/a: the data starts on 2024-01-05, less than a year before the cutoff")
    assert _year_value_text(tx, pd.Timestamp("2025-01-05")).endswith(
        "per buyer of the year before the cutoff) 71.40")  # 367 - the return of 10 = 357, over 5 buyers
    assert _year_value_text(tx, pd.Timestamp("2027-01-01")).endswith("n/a: no purchase in that year")


def test_a_history_too_short_for_the_clv_models_leaves_the_clv_empty_with_a_warning(caplog):
    from churnml.scoring import clv_from_summary

    summary = pd.DataFrame({"frequency": [0, 0, 1], "recency": [0.0, 0.0, 2.0], "T": [3.0, 5.0, 6.0],
                            "monetary_value": [np.nan, np.nan, 10.0]},
                           index=pd.Index(["a", "b", "c"], name="customer_id"))
    with caplog.at_level("WARNING", logger="churnml.scoring"):
        clv = clv_from_summary(summary, 365, 0.1)
    assert clv.index.tolist() == ["a", "b", "c"] and clv.isna().all() and clv.dtype == "float64"
    assert "predicted CLV left empty (NaN): GammaGamma.fit needs customers with a repeat purchase" in caplog.text


def _subs(**columns) -> pd.DataFrame:
    out = pd.DataFrame(columns)
    for name in ("start", "end"):
        out[name] = pd.to_datetime(out[name]).astype("datetime64[us]")
    return out


def test_the_recurring_revenue_is_the_mrr_of_the_subscriptions_active_at_the_cutoff(caplog):
    from dataclasses import dataclass

    from churnml.config import TimeConfig
    from churnml.labels import population
    from churnml.scoring import clv_from_mrr, monthly_clv_factor, recurring_revenue

    @dataclass
    class Tables:
        subscriptions: pd.DataFrame

    subs = _subs(
        customer_id=["A", "A", "B", "C", "D", "E", "F", "F"],
        start=["2024-01-10", "2024-03-01", "2024-01-01", "2024-02-01", "2024-06-01", "2024-01-01", "2024-02-01",
               "2024-03-01"],
        #   A: two active (10 + 5); B ended the day before the cutoff; C active, no MRR; D starts at the cutoff;
        #   E ends at the cutoff (still active then); F one active of 8, one ended
        end=["2024-07-10", None, "2024-05-31", None, None, "2024-06-01", None, "2024-04-01"],
        mrr=[10.0, 5.0, 99.0, np.nan, 7.0, 4.0, 8.0, 50.0],
    )
    tables = Tables(subs)
    c = pd.Timestamp("2024-06-01")
    got = recurring_revenue(tables, c)
    assert got["customer_id"].tolist() == ["A", "C", "E", "F"]
    assert got["mrr"].tolist()[0] == 15.0 and np.isnan(got["mrr"].iloc[1]) and got["mrr"].tolist()[2:] == [4.0, 8.0]
    assert got["mrr_missing"].tolist() == [0, 1, 0, 0]
    # the same customers as the contractual population
    assert population(tables, [c], TimeConfig(regime="contractual"))["customer_id"].tolist() == ["A", "C", "E", "F"]

    # 61 days = 2.0041 months; at 1 % a month: 1/1.01 + 1/1.01^2 + 0.0041068/1.01^3
    #   = 0.99009901 + 0.98029605 + 0.00398600 = 1.97438106
    rate = 1.01**12 - 1
    assert monthly_clv_factor(61, rate) == pytest.approx(1.9743810558, rel=1e-10)
    assert monthly_clv_factor(61, 0.0) == pytest.approx(61 / 30.4375, rel=1e-12)
    assert monthly_clv_factor(365, 0.1) == pytest.approx(11.3930209635, rel=1e-10)
    with caplog.at_level("WARNING", logger="churnml.scoring"):
        clv = clv_from_mrr(got, 61, rate)
    assert clv.index.tolist() == ["A", "C", "E", "F"] and clv.dtype == "float64"
    assert clv["A"] == pytest.approx(15 * 1.9743810558, rel=1e-10) and np.isnan(clv["C"])
    assert clv["F"] == pytest.approx(8 * 1.9743810558, rel=1e-10)
    assert ("predicted CLV left empty (NaN) for 1 subscriber(s) with an active subscription without mrr, "
            "e.g. ['C']") in caplog.text


def test_open_cancellation_requests_are_those_made_before_the_cutoff_on_an_active_subscription():
    from types import SimpleNamespace

    from churnml.outreach import with_cancel_requests
    from churnml.scoring import cancel_requests

    subs = _subs(
        customer_id=["A", "B", "C", "D", "D", "E", "F", "G"],
        start=["2024-01-01"] * 7 + ["2024-06-01"],
        #   A: active, asked before the cutoff; B: asked at the cutoff (not known then); C: ended before it;
        #   D: two active, the later request counts; E: no request; F: ends at the cutoff (still active);
        #   G: starts at the cutoff (not yet active)
        end=[None, None, "2024-05-31", None, "2024-07-01", None, "2024-06-01", None],
        cancel_requested_at=["2024-05-20 10:00", "2024-06-01 00:00", "2024-05-01 00:00", "2024-04-01 00:00", "2024-05-10 00:00", None,
                             "2024-05-15 00:00", "2024-05-30 00:00"],
    )
    subs["cancel_requested_at"] = pd.to_datetime(subs["cancel_requested_at"]).astype("datetime64[us]")
    c = pd.Timestamp("2024-06-01")
    got = cancel_requests(SimpleNamespace(subscriptions=subs), c)
    assert got["customer_id"].tolist() == ["A", "D", "F"]
    assert got["cancel_requested_at"].tolist() == [pd.Timestamp("2024-05-20 10:00"), pd.Timestamp("2024-05-10"),
                                                   pd.Timestamp("2024-05-15")]
    scored = pd.DataFrame({"customer_id": pd.Series(["F", "E", "A"], dtype="str"),
                           "cutoff": pd.Series([c] * 3, dtype="datetime64[us]")})
    out = with_cancel_requests(scored, got)
    assert out["cancel_requested_at"].dtype == scored["cutoff"].dtype
    assert out["cancel_requested_at"].tolist()[0] == pd.Timestamp("2024-05-15")
    assert pd.isna(out["cancel_requested_at"].iloc[1])
    assert out["cancel_requested_at"].tolist()[2] == pd.Timestamp("2024-05-20 10:00")
    none = with_cancel_requests(scored, got.iloc[:0])
    assert none["cancel_requested_at"].isna().all() and none["cancel_requested_at"].dtype == scored["cutoff"].dtype


def test_the_clv_method_follows_the_regime_and_the_mrr_column():
    from churnml.config import TimeConfig
    from churnml.errors import ConfigError, SchemaError
    from churnml.scoring import clv_method_for

    contractual, buyers = TimeConfig(regime="contractual"), TimeConfig()
    with_mrr, without = ["customer_id", "start", "end", "mrr"], ["customer_id", "start", "end"]
    assert clv_method_for("auto", contractual, with_mrr) == "mrr"
    assert clv_method_for("auto", contractual, without) == "bgnbd"
    assert clv_method_for("auto", buyers, with_mrr) == "bgnbd"
    assert clv_method_for("bgnbd", contractual, with_mrr) == "bgnbd"
    assert clv_method_for("mrr", contractual, with_mrr) == "mrr"
    with pytest.raises(ConfigError, match="the model's regime is noncontractual.*Fix: set scoring.clv_method"):
        clv_method_for("mrr", buyers, with_mrr)
    with pytest.raises(SchemaError, match=r"^table 'subscriptions': .*it has no mrr column\. Fix: map"):
        clv_method_for("mrr", contractual, without)
    with pytest.raises(SchemaError, match="no subscriptions table is given"):
        clv_method_for("mrr", contractual, None)


@pytest.fixture(scope="module")
def contractual(tmp_path_factory):
    from churnml.model import ChurnModel

    cfg = load_config(None, small_world(800, 18, 30, 30) + ["time.regime=contractual"])
    tables = load_tables(cfg)
    result = fit_and_evaluate(tables, cfg)
    folder = tmp_path_factory.mktemp("contractual") / "bundle"
    result.model.save(folder, extra={
        "feature_plan": result.data.plan.to_dict(), "time": cfg.time.model_dump(mode="json"),
    })
    return cfg, tables, ChurnModel.load(folder)


def test_a_contractual_model_values_subscribers_by_their_mrr_even_if_they_never_bought(contractual, caplog):
    from dataclasses import replace

    from churnml.scoring import monthly_clv_factor

    cfg, tables, model = contractual
    c = pd.Timestamp(CUTOFF)
    subs = tables.subscriptions
    assert score_customers(tables, model, CUTOFF, cfg).open_requests == int(
        ((subs["start"] < c) & (subs["end"].isna() | (subs["end"] >= c)) & (subs["cancel_requested_at"] < c))
        .groupby(subs["customer_id"]).any().sum())
    # a subscriber who never bought, dearer than anyone else
    new = _subs(customer_id=["NEW-1"], start=["2024-05-20"], end=[None], plan=["max"], mrr=[500.0],
                cancel_requested_at=[None])
    new["cancel_requested_at"] = new["cancel_requested_at"].astype(subs["cancel_requested_at"].dtype)
    tables = replace(tables, subscriptions=pd.concat([subs, new], ignore_index=True))
    with caplog.at_level("INFO", logger="churnml.scoring"):
        out = score_customers(tables, model, CUTOFF, cfg).outreach.set_index("customer_id")
    assert "mean predicted CLV (MRR of the active subscriptions x 11.99 months (11.39 discounted at 0.1 a year))" \
        in caplog.text
    s = tables.subscriptions
    active = s[(s["start"] < c) & (s["end"].isna() | (s["end"] >= c))]
    want = active.groupby("customer_id")["mrr"].sum() * monthly_clv_factor(365, 0.1)
    assert sorted(out.index) == sorted(want.index)  # every subscriber scored, with a value
    np.testing.assert_allclose(out["predicted_clv"].to_numpy(), want.reindex(out.index).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(out["value_at_risk"], out["churn_probability"] * out["predicted_clv"], rtol=1e-12)
    assert out.loc["NEW-1", "predicted_clv"] == pytest.approx(500 * monthly_clv_factor(365, 0.1), rel=1e-12)
    assert out.loc["NEW-1", "rfm_segment"] == "unknown"
    assert out["rank"].is_monotonic_increasing and out["value_at_risk"].is_monotonic_decreasing
    top = score_customers(tables, model, CUTOFF, cfg, top=3).outreach
    assert "NEW-1" in set(top["customer_id"])  # ranked by its value, no longer last
    # open cancellation requests: on the list, and a save call, exactly for the active subscribers who asked
    # before the cutoff
    asked = active[active["cancel_requested_at"] < c].groupby("customer_id")["cancel_requested_at"].max()
    assert len(asked) > 0
    pd.testing.assert_series_equal(out["cancel_requested_at"].dropna(), asked.reindex(out.index).dropna(),
                                   check_names=False)
    assert set(out.index[out["suggested_action"] == "save call"]) == set(asked.index)
    bgnbd = cfg.model_copy(update={"scoring": cfg.scoring.model_copy(update={"clv_method": "bgnbd"})})
    old = score_customers(tables, model, CUTOFF, bgnbd).outreach.set_index("customer_id")
    assert np.isnan(old.loc["NEW-1", "predicted_clv"])  # BG/NBD has no purchases to go by

    # an mrr column without any value: auto falls back to BG/NBD, with a warning; mrr asked keeps NaN
    blank = replace(tables, subscriptions=tables.subscriptions.assign(mrr=np.nan))
    caplog.clear()
    with caplog.at_level("WARNING", logger="churnml.scoring"):
        auto = score_customers(blank, model, CUTOFF, cfg).outreach.set_index("customer_id")
    assert "no subscription active at the cutoff has an mrr (the column is empty)" in caplog.text
    pd.testing.assert_series_equal(auto["predicted_clv"], old["predicted_clv"].reindex(auto.index))
    asked = cfg.model_copy(update={"scoring": cfg.scoring.model_copy(update={"clv_method": "mrr"})})
    assert score_customers(blank, model, CUTOFF, asked).outreach["predicted_clv"].isna().all()


def test_a_bad_cut_or_an_empty_list_is_refused_before_any_feature_in_the_apis_words(setup, monkeypatch):
    import churnml.scoring
    from churnml.errors import ConfigError

    cfg, tables, model, _ = setup

    def no_features(*args, **kwargs):
        raise AssertionError("features computed before the arguments were checked")

    monkeypatch.setattr(churnml.scoring, "compute_features", no_features)
    with pytest.raises(ConfigError, match=r"^top must be a whole number >= 1 \(customers on the list\), got 0$"):
        score_customers(tables, model, CUTOFF, cfg, top=0)
    with pytest.raises(ConfigError, match=r"^budget must be a finite amount of money >= 0 .*got -5$"):
        score_customers(tables, model, CUTOFF, cfg, budget=-5)
    with pytest.raises(ConfigError, match="^customers is an empty list: give the ids to score, or None"):
        score_customers(tables, model, CUTOFF, cfg, customers=[])


def test_scoring_twice_gives_the_same_list_to_the_last_bit(setup):
    # Money is added exactly (churnml.engine.exact_sum): historical_spend and everything computed from the
    # features no longer move in their last bit with the order DuckDB's threads add the rows in.
    cfg, tables, model, _ = setup
    first, second = (score_customers(tables, model, CUTOFF, cfg) for _ in range(2))
    pd.testing.assert_frame_equal(first.outreach, second.outreach, check_exact=True)
    pd.testing.assert_frame_equal(first.unscored, second.unscored, check_exact=True)
    assert first.outreach["historical_spend"].notna().any()


def test_a_level_unseen_in_training_is_warned_about_and_scored_as_missing(setup, caplog, monkeypatch):
    cfg, tables, model, _ = setup
    assert "cst_region" in model.categories_
    customers = tables.customers.copy()
    first = customers["region"].dropna().iloc[0]
    moved = customers["region"] == first
    customers["region"] = customers["region"].where(~moved, "mars")  # a region opened since training
    renamed = dataclasses.replace(tables, customers=customers)
    with caplog.at_level("WARNING", logger="churnml.outreach"):
        got = score_customers(renamed, model, CUTOFF, cfg)
    n = int(got.outreach["customer_id"].isin(customers.loc[moved, "customer_id"]).sum())
    text = (f"cst_region: {n:,} scored customers have a value the model never saw in training ('mars' ({n:,})); "
            "it scores them as if the value were missing, and their reasons say so. Retrain the model to learn "
            "the new values")
    assert n > 0 and text in caplog.text and text in got.warnings
    blank = dataclasses.replace(tables, customers=customers.assign(region=customers["region"].where(~moved)))
    as_missing = score_customers(blank, model, CUTOFF, cfg).outreach.set_index("customer_id")
    probs = got.outreach.set_index("customer_id")["churn_probability"]
    np.testing.assert_array_equal(probs.to_numpy(), as_missing.loc[probs.index, "churn_probability"].to_numpy())
    # the listed customers' reasons are told the unseen values (tests/test_explain.py: what they then say)
    from churnml import explain
    from churnml.reasons import reason_codes as real

    told = []
    monkeypatch.setattr(explain, "reason_codes", lambda *a, **k: told.append(k["unseen"]) or real(*a, **k))
    score_customers(renamed, model, CUTOFF, cfg, top=50)
    listed = told[0]["cst_region"].dropna()
    assert len(listed) > 0 and set(listed) == {"mars"}


def test_an_event_or_survey_type_the_model_knows_but_nobody_scored_has_is_warned_about(setup, caplog):
    """A type renamed in the export ('login' -> 'sign_in') reads as 'never' for everyone: warned, both tables;
    a type the scored customers lack but the table still has is not."""
    from churnml.features.plan import FeaturePlan

    cfg, tables, model, _ = setup
    plan = FeaturePlan.from_dict(model.extra_["feature_plan"])
    etype, stype = plan.event_types[0], plan.survey_types[0]
    events = tables.events.assign(event_type=tables.events["event_type"].replace(etype, "renamed_type"))
    surveys = tables.surveys[tables.surveys["survey"] != stype]
    with caplog.at_level("WARNING", logger="churnml.outreach"):
        got = score_customers(dataclasses.replace(tables, events=events, surveys=surveys), model, CUTOFF, cfg)
    n = got.counts["scored"]
    said = [w for w in got.warnings if "though the model was trained with it" in w]
    assert said == [
        f"events: no event of the type {etype!r} before the cutoff, though the model was trained with it: its "
        f"features say 'never' for all {n:,} customers scored, which the model reads as each customer's behaviour. "
        "Was the type renamed, or is it no longer recorded? Check the table, or retrain without it",
        f"surveys: no answer of the type {stype!r} before the cutoff, though the model was trained with it: its "
        f"features say 'never' for all {n:,} customers scored, which the model reads as each customer's behaviour. "
        "Was the type renamed, or is it no longer recorded? Check the table, or retrain without it"]
    assert said[0] in caplog.text
    assert not [w for w in score_customers(tables, model, CUTOFF, cfg).warnings if "trained with it" in w]
    # asked customers who all lack a type the table still has (one other customer's row): no warning
    rare = tables.events["customer_id"].iloc[0]
    kept = events.assign(event_type=events["event_type"].where(
        ~((events["customer_id"] == rare) & (events["event_type"] == "renamed_type")), etype))
    asked = [c for c in got.outreach["customer_id"] if c != rare][:150]
    few = score_customers(dataclasses.replace(tables, events=kept), model, CUTOFF, cfg, customers=asked)
    assert kept.loc[kept["event_type"] == etype, "customer_id"].unique().tolist() == [rare]
    assert not [w for w in few.warnings if "trained with it" in w]


def test_an_event_type_spelt_otherwise_than_at_training_is_warned_about_with_its_rows():
    """'Login' beside the model's 'login' (both 'login'): the model's evt_login_* count only 'login' rows."""
    from churnml.features.plan import FeaturePlan
    from churnml.outreach import warn_type_spellings

    plan = FeaturePlan(families=("events",), windows=(30,), dropped_windows=(), data_start="2024-01-01",
                       event_types=("Email Opened", "login"))
    got = warn_type_spellings(plan, {"login": 5, "Login": 1234, "email_opened": 2, "Page View": 9, "Email Opened": 1})
    assert got == [
        "events: 1,234 rows before the cutoff have the event type 'Login', which the model was trained with as "
        "'login' (both give the feature name 'login'); the model's evt_login_* features count only the 'login' "
        "rows, so these count only in evt_all_count_*. Fix: write them as 'login', as the training data did (or map "
        "them with data.tables.events.values: {event_type: {'Login': 'login'}}), and score again",
        "events: 2 rows before the cutoff have the event type 'email_opened', which the model was trained with as "
        "'Email Opened' (both give the feature name 'email_opened'); the model's evt_email_opened_* features count "
        "only the 'Email Opened' rows, so these count only in evt_all_count_*. Fix: write them as 'Email Opened', "
        "as the training data did (or map them with data.tables.events.values: {event_type: {'email_opened': "
        "'Email Opened'}}), and score again"]
    assert warn_type_spellings(plan, {"login": 5, "Page View": 9}) == []


def test_scoring_warns_about_a_trained_event_type_written_in_another_case(setup):
    from churnml.features.plan import FeaturePlan

    cfg, tables, model, _ = setup
    etype = FeaturePlan.from_dict(model.extra_["feature_plan"]).event_types[0]
    events = tables.events
    before = events["timestamp"] < pd.Timestamp(CUTOFF)
    ours = events["event_type"] == etype
    upper = ours & before & events["customer_id"].isin(sorted(events["customer_id"].unique())[:50])  # 50 customers
    later = ours & ~before  # rows at or after the cutoff are no history: not counted
    changed = events.assign(event_type=events["event_type"].where(~(upper | later), etype.upper()))
    n = int(upper.sum())
    got = score_customers(dataclasses.replace(tables, events=changed), model, CUTOFF, cfg)
    said = [w for w in got.warnings if "which the model was trained with as" in w]
    assert n > 0 and said == [
        f"events: {n:,} rows before the cutoff have the event type {etype.upper()!r}, which the model was trained "
        f"with as {etype!r} (both give the feature name {etype!r}); the model's evt_{etype}_* features count only "
        f"the {etype!r} rows, so these count only in evt_all_count_*. Fix: write them as {etype!r}, as the training "
        f"data did (or map them with data.tables.events.values: {{event_type: {{{etype.upper()!r}: {etype!r}}}}}), "
        "and score again"]
    assert not [w for w in score_customers(tables, model, CUTOFF, cfg).warnings if "was trained with as" in w]


def test_a_cutoff_before_the_models_test_cutoff_or_long_after_its_data_is_warned_about(caplog):
    from types import SimpleNamespace

    from churnml.scoring import MODEL_AGE_DAYS, warn_model_cutoff

    model = SimpleNamespace(extra_={"test_cutoff": "2024-03-01", "horizon_days": 60,
                                    "time": {"lead_time_days": 14}})  # judged on data up to 2024-05-14
    with caplog.at_level("WARNING", logger="churnml.scoring"):
        early = warn_model_cutoff(model, pd.Timestamp("2024-02-01"))
    assert early == ["the cutoff 2024-02-01 is before the model's test cutoff 2024-03-01: its training labels reach "
                     "past the cutoff, so its probabilities there are in-sample (better than a forecast made then "
                     "could be); to backtest at this cutoff, train on data that ends there"]
    assert early[0] in caplog.text
    assert warn_model_cutoff(model, pd.Timestamp("2024-03-01")) == []
    assert MODEL_AGE_DAYS == 183
    last_quiet = pd.Timestamp("2024-05-14") + pd.Timedelta(days=183)
    assert warn_model_cutoff(model, last_quiet) == []
    assert warn_model_cutoff(model, last_quiet + pd.Timedelta(days=1)) == [
        "the model was judged on data up to 2024-05-14, 184 days before the cutoff 2024-11-14: customers may behave "
        "otherwise now; train it again on newer data"]
    assert warn_model_cutoff(SimpleNamespace(extra_={}), pd.Timestamp("2030-01-01")) == []  # nothing to tell
    assert warn_model_cutoff(object(), pd.Timestamp("2030-01-01")) == []
