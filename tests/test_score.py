"""Scoring for outreach: accounting of every customer, safe files, reason codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnml.config import load_config
from churnml.errors import ChurnMLError
from churnml.io import load_tables
from churnml.scoring import score_customers, spreadsheet_safe
from churnml.training import fit_and_evaluate

pytestmark = pytest.mark.slow

SETTINGS = [
    "data.source=synthetic", "data.synthetic.customers=1500", "data.synthetic.months=18",
    "time.horizon_days=60", "time.train_horizon_days=null", "time.step_days=30",
    "model.num_boost_round=60", "model.min_rows=100", "features.windows=[7, 30, 90]",
]
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
    frame = pd.DataFrame({"customer_id": ["=cmd|' /C calc'!A0", "+1", "ok", None], "p": [0.1, -0.2, 0.3, 0.4]})
    safe = spreadsheet_safe(frame)
    assert safe["customer_id"].tolist()[:3] == ["'=cmd|' /C calc'!A0", "'+1", "ok"]
    assert safe["p"].tolist() == [0.1, -0.2, 0.3, 0.4]


def test_the_cli_writes_atomically_and_never_overwrites(setup, tmp_path):
    from churnml.io import write_frame
    from churnml.score import main

    cfg, tables, _, folder = setup
    data = tmp_path / "data"
    for name in ("transactions", "events", "subscriptions", "surveys", "tickets", "customers"):
        frame = getattr(tables, name)
        if frame is not None:
            write_frame(frame, data / f"{name}.parquet")
    out = tmp_path / "list.csv"
    argv = ["--model", str(folder), "--data", str(data), "--cutoff", CUTOFF, "--out", str(out), "--top", "10",
            *[f"--set={s}" for s in SETTINGS]]
    assert main(argv) == 0
    listed = pd.read_csv(out, dtype={"customer_id": str})
    assert len(listed) == 10 and (tmp_path / "list.unscored.csv").exists()
    before = out.read_bytes()
    assert main(argv) == 2  # exists, no --overwrite
    assert out.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))
    assert main([*argv, "--overwrite"]) == 0


def test_scoring_with_a_missing_model_is_a_clear_error(setup, tmp_path):
    cfg, tables, _, _ = setup
    from churnml.scoring import load_churn_model

    with pytest.raises(ChurnMLError, match="cannot load the model"):
        load_churn_model(str(tmp_path / "nothing-here"))


def test_historical_value_per_year_is_apv_times_apf_over_the_last_year():
    from churnml.scoring import historical_value_per_year
    from tests.conftest import metrics_log

    tx = metrics_log()
    # Purchases before 2024-04-20 (the return on 04-10 is not a purchase):
    # revenue 10+20+30+50+25+5+40+60+15+12 = 267 over 10 orders and 4 customers.
    value = historical_value_per_year(tx, pd.Timestamp("2024-04-20"))
    assert value == pytest.approx((267 / 10) * (10 / 4))
