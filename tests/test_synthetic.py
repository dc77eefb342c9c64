"""The synthetic generator: canonical tables, determinism, and a recoverable ground truth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from churnml.config import SyntheticConfig
from churnml.datasets.__main__ import main
from churnml.datasets.synthetic import (
    BLOCK_CUSTOMERS,
    GROUND_TRUTH_COLUMNS,
    TABLES,
    count_chunks,
    generate,
    generate_chunks,
)
from churnml.errors import ConfigError
from churnml.schema import SCORE_SCALES, TABLE_SPECS
from churnml.validation import validate_table
from churnml.windows import in_window_mask, label_window

END = pd.Timestamp("2025-01-01")  # the default 24 months from 2023-01-01, exclusive
DTYPES = {
    "id": "str",
    "str": "str",
    "time": "datetime64[us]",
    "date": "datetime64[us]",
    "float": "float64",
    "int": "int64",
    "bool": "boolean",
}
ACTIVITY = {
    "transactions": "timestamp",
    "events": "timestamp",
    "tickets": "opened_at",
    "surveys": "timestamp",
    "subscriptions": "start",
    "loyalty": "enrolled_at",
}


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    return generate(SyntheticConfig(customers=3_000, seed=7))


@pytest.fixture(scope="module")
def medium() -> dict[str, pd.DataFrame]:
    return generate(SyntheticConfig(customers=20_000, seed=11))


def _churn_at(data: dict[str, pd.DataFrame], table: str) -> np.ndarray:
    """churn_at of the customer of each row of ``table`` (NaT for those who stay)."""
    truth = data["ground_truth"].set_index("customer_id")["churn_at"]
    return truth.reindex(data[table]["customer_id"]).to_numpy()


# ------------------------------------------------------------------ the contract
def test_every_table_of_the_contract_has_its_columns_with_canonical_dtypes(small):
    assert set(small) == set(TABLES) == {*TABLE_SPECS, "ground_truth"}
    for name, spec in TABLE_SPECS.items():
        frame = small[name]
        assert list(frame.columns) == [c.name for c in spec.columns], name
        for col in spec.columns:
            assert frame[col.name].dtype == DTYPES[col.kind], (name, col.name, frame[col.name].dtype)
            if not col.nullable:
                assert frame[col.name].notna().all(), (name, col.name)
        assert len(frame) > 0, name
        assert isinstance(frame.index, pd.RangeIndex)


def test_every_table_passes_the_validator_unchanged(small):
    for name in TABLE_SPECS:
        checked = validate_table(name, small[name], returns="keep", data_end=END)
        pd.testing.assert_frame_equal(checked, small[name])


def test_ground_truth_has_one_row_per_customer_and_a_churn_time_exactly_for_churners(small):
    truth = small["ground_truth"]
    assert list(truth.columns) == [c for c, _ in GROUND_TRUTH_COLUMNS]
    assert truth["customer_id"].tolist() == small["customers"]["customer_id"].tolist()
    assert truth["customer_id"].iloc[:3].tolist() == ["C0000001", "C0000002", "C0000003"]
    assert truth["customer_id"].is_unique
    assert truth["churned"].dtype == bool
    assert (truth["churned"] == truth["churn_at"].notna()).all()
    assert (truth["churn_at"].dropna() < END).all()
    assert truth["churn_probability"].between(0, 1).all()
    starts = truth["decline_starts_at"]
    assert (starts.notna() == (truth["engagement_decline"] > 0)).all()
    assert (starts[truth["churned"]] < truth["churn_at"][truth["churned"]]).all()


def test_customer_ids_follow_signup_order_and_referrers_signed_up_earlier(small):
    customers = small["customers"]
    assert customers["signup_at"].is_monotonic_increasing
    referred = customers.dropna(subset=["referred_by"])
    assert len(referred) > 0
    assert (referred["acquisition_channel"] == "referral").all()
    signup = customers.set_index("customer_id")["signup_at"]
    assert (signup.reindex(referred["referred_by"]).to_numpy() < referred["signup_at"].to_numpy()).all()


def test_marketing_new_customers_count_the_signups_per_month_and_channel(small):
    customers = small["customers"]
    counted = customers.groupby(
        [customers["signup_at"].dt.to_period("M").dt.start_time.astype("datetime64[us]"),
         "acquisition_channel"]
    ).size()
    spend = small["marketing_spend"].set_index(["period", "channel"])
    assert spend["new_customers"].sum() == len(customers)
    assert (spend["new_customers"].reindex(counted.index) == counted).all()
    assert (spend.loc[spend.index.get_level_values("channel") == "organic", "spend"] == 0).all()
    assert len(spend) == 24 * 6


# ------------------------------------------------------------------ determinism
def test_the_same_seed_gives_identical_frames_and_another_seed_does_not(small):
    again = generate(SyntheticConfig(customers=3_000, seed=7))
    for name in TABLES:
        pd.testing.assert_frame_equal(again[name], small[name])
    other = generate(SyntheticConfig(customers=3_000, seed=8))
    assert not other["transactions"].equals(small["transactions"])


def test_chunk_size_never_changes_a_row(small):
    whole = generate(SyntheticConfig(customers=3_000, seed=7), chunk_customers=10_000)
    chunks = list(generate_chunks(SyntheticConfig(customers=3_000, seed=7), chunk_customers=1))
    assert len(chunks) == count_chunks(3_000, 1) == 3_000 // BLOCK_CUSTOMERS
    for name in TABLES:
        pd.testing.assert_frame_equal(whole[name], small[name])
        stitched = pd.concat([c[name] for c in chunks], ignore_index=True)
        pd.testing.assert_frame_equal(stitched, small[name], check_index_type=False)
    assert [len(c["marketing_spend"]) for c in chunks] == [0, 0, 24 * 6]


def test_bad_arguments_are_config_errors_with_the_fix():
    with pytest.raises(ConfigError, match="chunk_customers must be >= 1"):
        generate_chunks(SyntheticConfig(customers=100), chunk_customers=0)
    with pytest.raises(ConfigError, match="cannot be reached.*lower churn_rate or raise months"):
        generate(SyntheticConfig(customers=100, months=3, churn_rate=0.95))


# ------------------------------------------------------------------ the ground truth
def test_nobody_is_active_at_or_after_their_churn_time(small):
    for table, time in ACTIVITY.items():
        churn_at = _churn_at(small, table)
        times = small[table][time].to_numpy()
        assert not (times >= churn_at).any(), table  # NaT compares False: stayers pass
    subs = small["subscriptions"]
    churn_at = _churn_at(small, "subscriptions")
    churner = ~np.isnat(churn_at)
    assert subs["end"][churner].notna().all()
    assert (subs["end"][churner].to_numpy() <= churn_at[churner]).all()
    last_end = subs[churner].groupby("customer_id")["end"].max()
    truth = small["ground_truth"].set_index("customer_id")["churn_at"]
    assert (last_end == truth.reindex(last_end.index)).all()


def test_activity_lies_between_signup_and_the_end_of_the_period(small):
    signup = small["customers"].set_index("customer_id")["signup_at"]
    for table, time in ACTIVITY.items():
        frame = small[table]
        assert (frame[time] < END).all(), table
        assert (frame[time].to_numpy() >= signup.reindex(frame["customer_id"]).to_numpy()).all(), table


def test_subscription_terms_are_monthly_renewals_with_one_open_term_for_stayers(small):
    subs = small["subscriptions"]
    truth = small["ground_truth"].set_index("customer_id")
    stayers = truth.index[truth["contractual"] & ~truth["churned"]]
    open_terms = subs[subs["end"].isna()]
    assert sorted(open_terms["customer_id"]) == sorted(stayers)
    closed = subs.dropna(subset=["end"])
    days = (closed["end"] - closed["start"]).dt.days
    assert days.between(28, 31).all()
    renewed = subs.groupby("customer_id")["start"].shift(-1).dropna()
    assert (renewed == subs.loc[renewed.index, "end"]).all()
    assert set(subs["plan"]) == {"basic", "standard", "premium"}
    asked = subs.dropna(subset=["cancel_requested_at"])
    assert ((asked["cancel_requested_at"] >= asked["start"]) & (asked["cancel_requested_at"] < asked["end"])).all()


def test_survey_scores_are_whole_numbers_inside_their_scales(small):
    surveys = small["surveys"]
    assert set(surveys["survey"]) == set(SCORE_SCALES)
    for kind, (low, high) in SCORE_SCALES.items():
        score = surveys.loc[surveys["survey"] == kind, "score"]
        assert score.between(low, high).all(), kind
        assert (score == score.round()).all(), kind


def test_volumes_match_the_documented_shape(medium):
    tx, truth = medium["transactions"], medium["ground_truth"]
    assert 12 <= len(tx) / len(truth) <= 20
    assert 2.5 <= len(medium["events"]) / len(tx) <= 3.5
    assert 0.015 <= (tx["amount"] < 0).mean() <= 0.025
    assert set(medium["events"]["event_type"]) == {"login", "page_view", "email_open", "email_click"}
    assert 0.35 <= truth["contractual"].mean() <= 0.45


def test_churners_show_worse_support_lower_scores_and_pricier_plans(medium):
    truth = medium["ground_truth"].set_index("customer_id")
    tickets, surveys = medium["tickets"], medium["surveys"]
    churned_ticket = truth["churned"].reindex(tickets["customer_id"]).to_numpy()
    fcr = tickets["first_contact_resolved"].astype(bool)
    assert fcr[churned_ticket].mean() < fcr[~churned_ticket].mean() - 0.05
    nps = surveys[surveys["survey"] == "nps"]
    churned_nps = truth["churned"].reindex(nps["customer_id"]).to_numpy()
    assert nps["score"][churned_nps].mean() < nps["score"][~churned_nps].mean() - 0.5
    first_plan = medium["subscriptions"].groupby("customer_id")["plan"].first()
    by_plan = truth["churned"].reindex(first_plan.index).groupby(first_plan).mean()
    assert by_plan["premium"] > by_plan["basic"] + 0.1


def test_event_rate_declines_in_the_weeks_before_churn(medium):
    """Churners with half a year of tenure log far fewer events in their last 3 weeks."""
    events, truth = medium["events"], medium["ground_truth"]
    signup = medium["customers"]["signup_at"]
    old_hands = truth["churned"] & (signup <= truth["churn_at"] - pd.Timedelta(days=180))
    mine = events["customer_id"].isin(truth.loc[old_hands, "customer_id"]).to_numpy()
    churn_at = _churn_at(medium, "events")[mine]
    before = (churn_at - events["timestamp"].to_numpy()[mine]) / np.timedelta64(1, "D")
    late = ((before > 0) & (before <= 21)).sum() / 21
    early = ((before > 120) & (before <= 180)).sum() / 60
    assert late < 0.6 * early


def test_a_cutoff_sees_who_will_churn_in_the_next_90_days(medium):
    """Events in the 30 days before a cutoff rank the next 90 days' churners (AUC > 0.65)."""
    cutoff = pd.Timestamp("2024-06-01")
    truth = medium["ground_truth"].set_index("customer_id")
    signup = medium["customers"].set_index("customer_id")["signup_at"]
    alive = truth.index[(signup < cutoff - pd.Timedelta(days=30)) & ~(truth["churn_at"] < cutoff)]
    window = label_window(cutoff, horizon_days=90)
    label = in_window_mask(truth.loc[alive, "churn_at"], window.start, window.end)
    events = medium["events"]
    recent = events[in_window_mask(events["timestamp"], cutoff - pd.Timedelta(days=30), cutoff)]
    counts = recent.groupby("customer_id").size().reindex(alive, fill_value=0)
    assert 0.05 < label.mean() < 0.3
    assert roc_auc_score(label, -counts) > 0.65


@pytest.mark.slow
@pytest.mark.parametrize(
    ("rate", "months", "contractual"), [(0.30, 24, 0.4), (0.12, 12, 0.8)]
)
def test_the_churned_share_is_the_requested_rate_within_one_point_at_100k(rate, months, contractual):
    cfg = SyntheticConfig(
        customers=100_000, seed=3, churn_rate=rate, months=months, contractual_share=contractual
    )
    truth = generate(cfg)["ground_truth"]
    assert abs(truth["churned"].mean() - rate) < 0.01
    assert abs(truth["churn_probability"].mean() - rate) < 1e-6


# ------------------------------------------------------------------ the command line
def test_the_cli_writes_every_table_to_parquet_exactly_as_generated(tmp_path: Path, capsys):
    code = main(["synthetic", "--customers", "1500", "--out", str(tmp_path), "--seed", "5",
                 "--months", "12", "--chunk-customers", "1000"])
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t}.parquet" for t in TABLES)
    expected = generate(SyntheticConfig(customers=1500, seed=5, months=12))
    for name in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}.parquet"), expected[name])
    summary = dict(line.split()[:2] for line in capsys.readouterr().out.splitlines()[1:])
    assert summary == {name: f"{len(expected[name]):,}" for name in TABLES}


def test_the_cli_writes_one_csv_per_table_and_refuses_to_overwrite_without_the_flag(tmp_path: Path, capsys):
    args = ["synthetic", "--customers", "1200", "--out", str(tmp_path), "--format", "csv",
            "--chunk-customers", "1000", "--months", "6", "--quiet"]
    assert main(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    assert len(pd.read_csv(tmp_path / "customers.csv")) == 1200  # two chunks, one header
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--overwrite" in err
    assert main([*args, "--overwrite"]) == 0


def test_cli_errors_print_one_line_and_debug_adds_the_traceback(tmp_path: Path, capsys):
    bad = ["synthetic", "--customers", "5", "--out", str(tmp_path), "--churn-rate", "1.5"]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid synthetic options: --customers:") and err.count("\n") == 1
    assert "--churn-rate" in err
    assert main([*bad, "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err
    assert main(["synthetic", "--customers", "100"]) == 2  # usage error: no --out
    assert "--out" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_module_runs_as_a_program():
    done = subprocess.run(
        [sys.executable, "-m", "churnml.datasets", "synthetic", "--help"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0
    assert "--churn-rate" in done.stdout


def test_the_cli_takes_config_and_set_overrides_with_flags_winning(tmp_path):
    import pandas as pd

    from churnml.datasets.__main__ import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text("data:\n  synthetic:\n    customers: 40\n    months: 6\n    seed: 3\n")
    out = tmp_path / "out"
    assert main(["synthetic", "--config", str(cfg), "--set", "data.synthetic.months=5", "--customers", "30",
                 "--out", str(out), "--quiet"]) == 0
    truth = pd.read_parquet(out / "ground_truth.parquet")
    assert len(truth) == 30
    assert main(["synthetic", "--set", "data.synthetic.nope=1", "--out", str(tmp_path / "x"), "--quiet"]) == 2


def test_every_return_refunds_an_earlier_purchase_of_the_same_customer_and_product(small):
    tx = small["transactions"]
    buys, returns = tx[tx["amount"] >= 0], tx[tx["amount"] < 0]
    assert len(returns) > 0
    pairs = returns.assign(amount=-returns["amount"]).merge(
        buys, on=["customer_id", "product", "amount"], suffixes=("_ret", "_buy")
    )
    gap = pairs["timestamp_ret"] - pairs["timestamp_buy"]
    ok = pairs[(gap >= pd.Timedelta(days=1)) & (gap <= pd.Timedelta(days=30))]
    # every return row has its purchase 1-30 days before it
    assert ok.drop_duplicates(["customer_id", "timestamp_ret", "product", "amount"]).shape[0] == len(returns)
    first = tx.sort_values("timestamp").groupby("customer_id")["amount"].first()
    assert (first >= 0).all()
