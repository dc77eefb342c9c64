"""Configuration, tracking and command-line mistakes found by a user review: each is refused early and clearly."""

from __future__ import annotations

import logging
import re
import sys
import typing
from pathlib import Path

import pandas as pd
import pytest

from churnml.config import CHAMPION_METRICS, ChampionMetric, load_config
from churnml.dataset import build_training_data, split_cutoffs
from churnml.errors import ConfigError, DataWindowError, SchemaError
from churnml.io import Tables
from churnml.schema import SCORE_SCALES
from churnml.windows import DataSpan
from tests.conftest import frame

# ------------------------------------------------------------------ data.tables needs data.source: files

NOSOURCE = """\
data:
  tables:
    transactions:
      path: orders.csv
      columns: {customer_id: cust_no, timestamp: order_date, amount: value}
  returns: keep
"""


def test_data_tables_without_source_files_is_a_config_error_that_says_to_set_it(tmp_path):
    path = tmp_path / "nosource.yaml"
    path.write_text(NOSOURCE, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert ("data: data.tables lists ['transactions'] but data.source is 'cdnow', which does not read them "
            "(it would analyse the cdnow data); set data.source: files") in str(err.value)
    with pytest.raises(ConfigError, match="data.source is 'synthetic'.*set data.source: files"):
        load_config(None, ["data.source=synthetic", "data.tables.transactions.path=/nonexist.csv"])
    with pytest.raises(ConfigError, match="data.source is 'cdnow'"):
        load_config(None, ["data.tables.transactions.path=/nonexist.csv"])
    cfg = load_config(None, ["data.source=files", "data.tables.transactions.path=/nonexist.csv"])
    assert cfg.data.tables["transactions"].path == "/nonexist.csv"


# ------------------------------------------------------------------ tracking.champion_metric


def test_champion_metrics_are_the_model_metrics_of_the_classification_report():
    from churnml.evaluate import classification_report

    report = classification_report([0, 1, 0, 1], [0.2, 0.7, 0.4, 0.9])
    at_the_share = {"lift_top_fraction", "precision_top_fraction"}  # at evaluation.top_fraction
    assert set(CHAMPION_METRICS) == set(report) - {"base_rate"} | at_the_share
    assert set(typing.get_args(ChampionMetric)) == set(CHAMPION_METRICS)
    assert [m for m, higher in CHAMPION_METRICS.items() if not higher] == ["brier", "log_loss", "ece"]


def test_a_misspelt_champion_metric_is_a_config_error_before_anything_runs():
    with pytest.raises(ConfigError, match=r"tracking\.champion_metric: Input should be 'roc_auc', 'pr_auc'"):
        load_config(None, ["tracking.champion_metric=auc"])


def test_a_lower_brier_wins_the_champion_alias_and_a_higher_one_does_not(registry):
    from churnml.tracking import promote

    assert promote("m", "1", "brier", 0.0638, "W").reason == "no champion yet"
    worse = promote("m", "2", "brier", 0.2065, "W")
    assert (worse.champion, worse.reason) == (
        False, "brier 0.2065 >= champion v1 0.0638 (lower is better; same test window)")
    assert str(registry.get_model_version_by_alias("m", "champion").version) == "1"
    better = promote("m", "3", "brier", 0.0500, "W")
    assert (better.champion, better.reason) == (
        True, "brier 0.0500 < champion v1 0.0638 (lower is better; same test window)")
    assert str(registry.get_model_version_by_alias("m", "champion").version) == "3"


def test_a_higher_roc_auc_wins_and_an_unknown_metric_changes_no_alias(registry):
    from churnml.tracking import promote

    promote("m", "1", "roc_auc", 0.70, "W")
    assert promote("m", "2", "roc_auc", 0.69, "W").reason == (
        "roc_auc 0.6900 <= champion v1 0.7000 (higher is better; same test window)")
    assert promote("m", "3", "roc_auc", 0.71, "W").champion
    with pytest.raises(ConfigError, match="tracking.champion_metric='auc' is not one of"):
        promote("m", "2", "auc", 0.99, "W")
    assert str(registry.get_model_version_by_alias("m", "challenger").version) == "3"


def test_a_champion_chosen_on_another_metric_is_re_scored_on_this_one_and_each_version_says_why(registry):
    from churnml.tracking import promote

    registry.create_model_version("m", source="x")  # version 4
    promote("m", "1", "roc_auc", 0.7720, "W")
    # judged on ece: the champion (chosen on roc_auc) is re-scored on ece on this window, and the line says so
    ece = promote("m", "2", "ece", 0.0374, "W", lambda uri: {"models:/m/1": 0.0411}[uri])
    assert (ece.champion, ece.reason) == (
        True, "ece 0.0374 < champion v1 0.0411 (lower is better; champion re-scored on this test window; v1 was "
              "chosen on roc_auc)")
    # without a way to re-score it (no tables), a champion of the same window with no value of the metric is kept
    kept = promote("m", "3", "roc_auc", 0.7721, "W")
    assert (kept.champion, kept.reason) == (
        False, "champion v2 kept: it has no roc_auc on this test window and cannot be re-scored here; v2 was chosen "
               "on ece")
    aliases = {a: str(registry.get_model_version_by_alias("m", a).version)
               for a in ("champion", "challenger", "previous_champion")}
    assert aliases == {"champion": "2", "challenger": "3", "previous_champion": "1"}  # a rollback is one alias away
    tags = {v: registry.get_model_version("m", v).tags for v in ("1", "2", "3")}
    assert [tags[v]["champion_metric"] for v in ("1", "2", "3")] == ["roc_auc", "ece", "roc_auc"]
    assert [tags[v]["promotion"] for v in ("1", "2", "3")] == ["no champion yet", ece.reason, kept.reason]
    # a champion registered before the champion_metric tag: its test_<metric> tag says what chose it
    registry.delete_model_version_tag("m", "2", "champion_metric")
    assert promote("m", "4", "brier", 0.1, "W").reason.endswith("; v2 was chosen on ece")


def test_a_champion_judged_on_the_same_window_with_other_labels_is_re_scored_not_compared_by_its_tag(registry):
    from churnml.tracking import promote

    promote("m", "1", "roc_auc", 0.80, "W", labels="aaaa")
    assert registry.get_model_version("m", "1").tags["test_labels"] == "aaaa"
    # the same labels: its stored value is compared
    assert promote("m", "2", "roc_auc", 0.79, "W", lambda uri: 1 / 0, labels="aaaa").reason == (
        "roc_auc 0.7900 <= champion v1 0.8000 (higher is better; same test window)")
    # a late export changed who churned on the same cutoff and rows: the champion is scored on the new labels
    relabelled = promote("m", "3", "roc_auc", 0.79, "W", lambda uri: {"models:/m/1": 0.75}[uri], labels="bbbb")
    assert (relabelled.champion, relabelled.reason) == (
        True, "roc_auc 0.7900 > champion v1 0.7500 (higher is better; champion re-scored on this test window, whose "
              "labels changed since it was judged (the data changed))")
    # without a way to re-score it (none given, or it fails), its stored value is compared and the reason says so
    registry.create_model_version("m", source="x")  # version 4
    worse = promote("m", "4", "roc_auc", 0.70, "W", lambda uri: 1 / 0, labels="cccc")
    assert (worse.champion, worse.reason) == (
        False, "roc_auc 0.7000 <= champion v3 0.7900 (higher is better; same test window; its labels changed since "
               "the champion was judged and it was not re-scored)")
    assert promote("m", "4", "roc_auc", 0.95, "W", labels="cccc").champion  # a better one is not blocked


def test_a_version_of_another_regime_does_not_challenge_the_champion(registry):
    from churnml.tracking import promote

    promote("m", "1", "roc_auc", 0.70, "files|noncontractual|h90|lead0|2024-07-01|900")
    other = promote("m", "2", "roc_auc", 0.99, "files|contractual|h90|lead0|2024-07-01|300")
    assert (other.champion, other.reason) == (False, (
        "champion v1 kept: it predicts noncontractual churn and this version contractual churn; give each regime "
        "its own tracking.registered_model_name"))
    assert str(registry.get_model_version_by_alias("m", "champion").version) == "1"
    assert not other.challenger
    # another data set: the CDNOW champion is not re-scored on a synthetic world's test window
    called = []
    world = promote("m", "3", "roc_auc", 0.99, "synthetic|noncontractual|h90|lead0|2024-07-01|900", called.append)
    assert (world.champion, world.challenger, world.reason, called) == (False, False, (
        "champion v1 kept: it was trained on data.source=files and this version on synthetic, another business's "
        "customers; give each data set its own tracking.registered_model_name"), [])
    assert str(registry.get_model_version_by_alias("m", "champion").version) == "1"
    assert str(registry.get_model_version_by_alias("m", "challenger").version) == "1"  # v2 and v3 took no alias


def test_a_version_of_another_horizon_does_not_challenge_the_champion(registry):
    from churnml.tracking import promote

    promote("m", "1", "roc_auc", 0.70, "cdnow|noncontractual|h273|lead0|1997-10-01|23570")
    called = []
    other = promote("m", "2", "roc_auc", 0.99, "cdnow|noncontractual|h180|lead0|1997-12-29|23570", called.append)
    assert (other.champion, other.challenger, other.reason, called) == (False, False, (
        "champion v1 kept: it predicts churn within 273 days and this version churn within 180 days, another "
        "question, so neither is scored on the other's labels; give each horizon, lead time and grace its own "
        "tracking.registered_model_name"), [])
    lead = promote("m", "3", "roc_auc", 0.99, "cdnow|noncontractual|h273|lead14|1997-09-17|23570")
    assert "this version churn within 273 days after a lead time of 14 days" in lead.reason
    assert str(registry.get_model_version_by_alias("m", "champion").version) == "1"


def test_a_champion_whose_test_cutoff_is_later_is_not_re_scored_on_an_earlier_window(registry):
    """Its training labels end by its own test cutoff, which may lie inside the earlier test window."""
    from churnml.tracking import promote

    promote("m", "1", "roc_auc", 0.70, "cdnow|noncontractual|h273|lead0|1997-10-01|23570")
    called = []
    early = promote("m", "2", "roc_auc", 0.99, "cdnow|noncontractual|h273|lead0|1997-08-06|23570", called.append)
    assert (early.champion, called) == (False, [])
    assert early.reason == ("champion v1 kept: not comparable, its test cutoff 1997-10-01 is after this version's "
                            "1997-08-06, so its training labels may reach into this test window; compare on a "
                            "test cutoff at or after 1997-10-01")
    later = promote("m", "3", "roc_auc", 0.80, "cdnow|noncontractual|h273|lead0|1997-12-01|23570", lambda uri: 0.75)
    assert later.champion and later.reason.endswith("(higher is better; champion re-scored on this test window)")


def test_the_challenger_alias_goes_only_to_a_version_that_can_challenge(registry):
    from churnml.tracking import promote

    promote("m", "1", "roc_auc", 0.70, "cdnow|noncontractual|h273|lead0|1997-10-01|23570")
    promote("m", "2", "roc_auc", 0.69, "cdnow|noncontractual|h273|lead0|1997-10-01|23570")
    promote("m", "3", "roc_auc", 0.99, "cdnow|noncontractual|h180|lead0|1997-12-29|23570")  # another question
    assert str(registry.get_model_version_by_alias("m", "challenger").version) == "2"
    assert str(registry.get_model_version_by_alias("m", "champion").version) == "1"


def test_a_contractual_version_with_another_grace_does_not_challenge_the_champion(registry):
    """The grace decides who churned (a renewal within it continues the subscription): another question."""
    from churnml.config import load_config
    from churnml.tracking import promote
    from churnml.training_log import window_key

    class Data:  # what window_key reads of the training data
        splits = type("S", (), {"test_horizon_days": 90, "test": pd.Timestamp("2024-07-01")})()

        @staticmethod
        def part(_):
            return range(300)

    keys = [window_key(load_config(None, ["time.regime=contractual", f"time.grace_days={g}"]), Data)
            for g in (30, 7)]
    assert keys[0] == "cdnow|contractual|h90|lead0|grace30|2024-07-01|300"
    promote("m", "1", "roc_auc", 0.70, keys[0])
    other = promote("m", "2", "roc_auc", 0.99, keys[1])
    assert (other.champion, other.reason) == (False, (
        "champion v1 kept: it predicts churn within 90 days (renewals within 30 days continue a subscription) and "
        "this version churn within 90 days (renewals within 7 days continue a subscription), another question, so "
        "neither is scored on the other's labels; give each horizon, lead time and grace its own "
        "tracking.registered_model_name"))
    # a champion registered before the key held the grace: its grace is not known, so it is re-scored on this
    # version's labels rather than refused
    registry.set_model_version_tag("m", "1", "test_window", "cdnow|contractual|h90|lead0|2024-07-01|300")
    scored = promote("m", "3", "roc_auc", 0.80, keys[0], lambda uri: 0.75)
    assert (scored.champion, scored.reason) == (
        True, "roc_auc 0.8000 > champion v1 0.7500 (higher is better; champion re-scored on this test window)")


def test_an_identical_metric_does_not_win_the_champion_alias_through_rounding(registry):
    from churnml.tracking import promote

    promote("m", "1", "roc_auc", 0.78394449, "W")  # stored as 0.783944 (six decimals) before
    same = promote("m", "2", "roc_auc", 0.78394449, "W")
    assert (same.champion, same.reason) == (
        False, "roc_auc 0.7839444900 <= champion v1 0.7839444900 (higher is better; same test window)")
    assert promote("m", "3", "roc_auc", 0.78394560, "W").champion  # better by more than 5e-7
    # a champion tagged before the exact value was kept holds six decimals: the same score does not beat it
    registry.set_model_version_tag("m", "3", "test_roc_auc", "0.783946")
    assert not promote("m", "2", "roc_auc", 0.78394560, "W").champion


def test_the_lift_at_the_top_fraction_is_compared_under_its_own_name(registry):
    from churnml.evaluate import champion_metric_key
    from churnml.tracking import promote

    assert champion_metric_key("lift_top_fraction", 0.2) == "lift_top_20pct"
    assert champion_metric_key("precision_top_fraction", 0.1) == "precision_top_decile"
    assert champion_metric_key("brier", 0.2) == "brier"
    promote("m", "1", "lift_top_20pct", 2.10, "W")
    lower = promote("m", "2", "lift_top_20pct", 1.90, "W")
    assert lower.reason == "lift_top_20pct 1.9000 <= champion v1 2.1000 (higher is better; same test window)"
    assert promote("m", "3", "lift_top_20pct", 2.25, "W").champion
    # A champion judged at another share has no value under this name: it is re-scored or kept.
    other = promote("m", "2", "lift_top_30pct", 1.70, "W")
    assert (other.champion, other.reason) == (
        False, "champion v3 kept: it has no lift_top_30pct on this test window and cannot be re-scored here; v3 was "
               "chosen on lift_top_20pct")
    assert str(registry.get_model_version_by_alias("m", "champion").version) == "3"


# ------------------------------------------------------------------ features --labels needs matured windows

# Purchases from 2024-01-03 to 2024-03-31: the data ends 2024-03-31 (exclusive 2024-04-01); a 30-day
# horizon matures for cutoffs on or before 2024-04-01 - 30 d = 2024-03-02.
ORDERS = """\
customer_id,timestamp,amount
A,2024-01-03,10
A,2024-02-10,12
A,2024-03-20,8
B,2024-01-05,20
B,2024-01-25,5
C,2024-01-15,7
C,2024-03-31,9
D,2024-02-20,30
"""


def _features(tmp_path: Path, *argv: str) -> int:
    from churnml.features.__main__ import main

    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    sets = ["data.source=files", f"data.tables.transactions.path={tmp_path / 'orders.csv'}",
            "time.horizon_days=30", "features.families=[rfm]", "features.windows=[7, 30]"]
    return main([*(f"--set={s}" for s in sets), "--out", str(tmp_path / "out"), *argv])


def test_features_labels_refuse_cutoffs_whose_window_has_not_matured_naming_them_and_the_latest(tmp_path, capsys):
    assert _features(tmp_path, "--cutoffs", "2024-02-01,2024-03-02,2024-03-15,2024-03-20", "--labels") == 2
    err = capsys.readouterr().err
    assert ("error: the cutoffs 2024-03-15, 2024-03-20 have no matured label window: the data ends 2024-03-31, "
            "and a 30-day horizon (+0 lead, +0 grace) needs a cutoff on or before 2024-03-02, the latest "
            "matured one. Move --cutoff/--cutoffs on or before 2024-03-02, or set time.horizon_days to at most "
            "12 days.") in err
    assert not (tmp_path / "out" / "features.parquet").exists()


def test_features_label_the_latest_matured_cutoff_and_compute_unlabelled_features_at_any_cutoff(tmp_path):
    assert _features(tmp_path, "--cutoffs", "2024-02-01,2024-03-02", "--labels") == 0
    labelled = pd.read_parquet(tmp_path / "out" / "features.parquet")
    got = {(str(c.date()), i): y for c, i, y in labelled[["cutoff", "customer_id", "churned"]].itertuples(index=False)}
    # Windows [02-01, 03-02) and [03-02, 04-01); D's first purchase is after the first cutoff.
    assert got == {("2024-02-01", "A"): 0, ("2024-02-01", "B"): 1, ("2024-02-01", "C"): 1,
                   ("2024-03-02", "A"): 0, ("2024-03-02", "B"): 1, ("2024-03-02", "C"): 0, ("2024-03-02", "D"): 1}
    assert _features(tmp_path, "--cutoff", "2024-03-20", "--overwrite") == 0


def test_features_refuse_cutoffs_where_nobody_is_at_risk_and_warn_about_some_or_a_stale_one(tmp_path, capsys,
                                                                                          caplog):
    assert _features(tmp_path, "--cutoffs", "2023-12-01,2024-01-03") == 2  # nobody bought before 01-03 either
    assert ("error: nobody is at risk at 2023-12-01, 2024-01-03: no customer has a purchase before the cutoff "
            "(noncontractual regime); the transactions run from 2024-01-03 to 2024-03-31; fix: pick cutoffs inside it"
            ) in capsys.readouterr().err
    assert not (tmp_path / "out" / "features.parquet").exists()
    with caplog.at_level(logging.WARNING, logger="churnml.features.__main__"):
        assert _features(tmp_path, "--cutoffs", "2023-12-01,2024-02-01,2024-06-01") == 0
    assert ("nobody is at risk at 2023-12-01 (no customer has a purchase before the cutoff); the transactions run "
            "from 2024-01-03 to 2024-03-31; those cutoffs have no rows") in caplog.text
    # 2024-06-01 is 61 days after 04-01, the day after the data: every recency is 61 days longer than it is
    assert ("the cutoff 2024-06-01 is 61 days after the end of the data (2024-04-01, exclusive): nobody can have "
            "bought in between, so everyone looks silent for 61 more days than they are and every recency runs "
            "long") in caplog.text
    assert "the cutoff 2024-02-01 is" not in caplog.text
    rows = pd.read_parquet(tmp_path / "out" / "features.parquet")
    assert rows.groupby(rows["cutoff"].dt.strftime("%Y-%m-%d")).size().to_dict() == {"2024-02-01": 3,
                                                                                      "2024-06-01": 4}
    # the features are planned on the cutoffs with rows: 2024-02-01 (29 days of history) drops the 30-day
    # window, the empty 2023-12-01 (before the data) would have dropped both
    assert "dropping look-back windows [30] days: the earliest cutoff 2024-02-01 has only 29 days" in caplog.text
    assert "the earliest cutoff 2023-12-01" not in caplog.text
    # every customer of the tables is accounted for, cutoff by cutoff (D bought first after 2024-02-01)
    assert ("4 customers in the tables; at risk (with a purchase before the cutoff), one row each: 0 at 2023-12-01, "
            "3 at 2024-02-01, 4 at 2024-06-01; the others have no row at that cutoff") in capsys.readouterr().out


# ------------------------------------------------------------------ scoring.tiers


@pytest.mark.parametrize(("tiers", "problem"), [
    ("{high: 0.7}", "the lowest bound is 0.7, so customers below it would get no tier of their own"),
    ("{high: 1.5, low: 0}", "bounds are probabilities in [0, 1]; {'high': 1.5} are not"),
    ("{high: 0.5, medium: 0.5, low: 0}", "bounds must differ; [0.5] is given to more than one tier"),
])
def test_risk_tiers_need_a_zero_bound_and_distinct_bounds_in_0_1(tiers, problem):
    with pytest.raises(ConfigError) as err:
        load_config(None, [f"scoring.tiers={tiers}"])
    msg = str(err.value)
    assert "scoring.tiers: scoring.tiers maps each tier to the lowest churn probability in it" in msg
    assert problem in msg and "For example: {high: 0.7, medium: 0.4, low: 0.0}" in msg
    # other names are fine, when the playbook's rules name them too
    renamed = ["scoring.tiers={risky: 0.5, calm: 0}", "scoring.playbook=[{action: call, tiers: [risky]}]"]
    assert load_config(None, renamed).scoring.tiers == {"risky": 0.5, "calm": 0.0}
    with pytest.raises(ConfigError) as err:  # the default playbook's high and medium would never match
        load_config(None, ["scoring.tiers={hi: 0.7, low: 0}"])
    assert ("scoring.playbook names the tier(s) ['high', 'medium'], which scoring.tiers ['hi', 'low'] does not "
            "have, so those rules could never match; rename them in the playbook or in scoring.tiers") in str(err.value)


# ------------------------------------------------------------------ the regime's table comes before dates

# Eight days of data: far too little for any horizon, so the old code spoke of history, not subscriptions.
TINY = Tables(transactions=frame(customer_id=["A", "B"], timestamp=["2024-01-01", "2024-01-08"],
                                 amount=[1.0, 2.0]))


def test_the_contractual_regime_without_subscriptions_names_the_table_before_any_date():
    cfg = load_config(None, ["time.regime=contractual"])
    with pytest.raises(SchemaError) as err:
        build_training_data(TINY, cfg)
    assert str(err.value).startswith("table 'subscriptions': time.regime=contractual labels churn from a "
                                     "subscriptions table (customer_id, start, end), but none was loaded. "
                                     "Provide it with data.source: files and data.tables.subscriptions.path")
    empty = Tables(transactions=TINY.transactions, subscriptions=frame(customer_id=[], start=[], end=[]))
    with pytest.raises(SchemaError, match="but the one loaded has no rows"):
        build_training_data(empty, cfg)
    with pytest.raises(DataWindowError):  # non-contractual: the dates are the problem
        build_training_data(TINY, load_config(None))


def test_training_stops_on_a_missing_table_before_an_mlflow_run_starts(monkeypatch, capsys):
    import churnml.train as train

    monkeypatch.setattr(train, "load_tables", lambda cfg: TINY)
    monkeypatch.setattr(train, "start_run", lambda *a, **k: pytest.fail("a run was started"))
    assert train.main(["--set=time.regime=contractual"]) == 2
    assert "error: table 'subscriptions': time.regime=contractual" in capsys.readouterr().err


# ------------------------------------------------------------------ split advice that works

# CDNOW's span: 1997-01-01 to 1998-06-30. Defaults: the earliest usable cutoff is 01-01 + 84 d = 03-26;
# a test cutoff of 1997-02-01 puts calibration at 02-01 - 120 d = 1996-10-04 and the last training
# cutoff at 1996-09-27, 180 days too early: no positive training horizon fits, a later test cutoff does.
CDNOW_SPAN = DataSpan(pd.Timestamp("1997-01-01"), pd.Timestamp("1998-07-01"))


@pytest.mark.parametrize(("overrides", "advice"), [
    (["time.test_cutoff=1997-02-01"], "set time.test_cutoff between 1997-07-31 and 1997-10-01"),
    (["time.test_cutoff=1997-08-01", "time.min_history_days=200"], "set time.train_horizon_days to at most 5 days"),
    (["time.test_cutoff=1997-08-01", "time.min_history_days=200"], "set time.min_history_days to at most 85"),
    (["time.first_cutoff=1997-09-01"], "set time.first_cutoff on or before 1997-05-27"),
])
def test_not_enough_history_advises_settings_that_work(overrides, advice):
    with pytest.raises(DataWindowError) as err:
        split_cutoffs(CDNOW_SPAN, load_config(None, overrides))
    msg = str(err.value)
    assert advice in msg and "at most 0" not in msg
    key, value = re.match(r"set (time\.\w+) (?:between |to at most |on or before )?([\d-]+)", advice).groups()
    fixed = split_cutoffs(CDNOW_SPAN, load_config(None, [*overrides, f"{key}={value}"]))
    assert len(fixed.train) >= 1 and fixed.train[-1] < fixed.calibration < fixed.test


# ------------------------------------------------------------------ train's command line


def test_a_negative_tune_is_refused_before_data_is_read_or_a_run_starts(monkeypatch, capsys, tmp_path):
    import churnml.train as train

    monkeypatch.setattr(train, "load_tables", lambda cfg: pytest.fail("data was read"))
    monkeypatch.setattr(train, "start_run", lambda *a, **k: pytest.fail("a run was started"))
    assert train.main(["--tune", "-1", "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --tune -1: the number of Optuna trials is 0 (no tuning) or more\n")
    assert err.count("error:") == 1 and not (tmp_path / "m.db").exists()


def test_the_printed_mlflow_ui_command_turns_telemetry_off(monkeypatch):
    from churnml.tracking import ui_command

    venv = Path(sys.executable).parent
    if not (venv / "mlflow").is_file():
        pytest.skip("no mlflow executable next to this Python")
    monkeypatch.chdir(venv.parents[1])
    local = venv.relative_to(venv.parents[1]) / "mlflow"
    assert ui_command("sqlite:////data/mlflow.db") == (
        f"MLFLOW_DISABLE_TELEMETRY=true {local} ui --backend-store-uri sqlite:////data/mlflow.db")
    assert ui_command("http://127.0.0.1:5000") == "open http://127.0.0.1:5000 in a browser"


# ------------------------------------------------------------------ metrics.csat_satisfied_min


def test_the_csat_threshold_is_a_point_of_the_csat_scale_above_its_lowest():
    lo, hi = SCORE_SCALES["csat"]
    assert (lo, hi) == (1, 5)
    for ok in range(int(lo) + 1, int(hi) + 1):
        assert load_config(None, [f"metrics.csat_satisfied_min={ok}"]).metrics.csat_satisfied_min == ok
    # 1 would count every answer as satisfied; the KPI table's CSAT refuses it, so the config does too
    for bad in (int(lo) - 1, int(lo), int(hi) + 1, 9):
        with pytest.raises(ConfigError, match="metrics.csat_satisfied_min"):
            load_config(None, [f"metrics.csat_satisfied_min={bad}"])


# ------------------------------------------------------------------ model.params: LightGBM's names and values
def test_lightgbm_parameters_are_checked_before_the_data_is_read_or_a_run_started(tmp_path, capsys, monkeypatch):
    from churnml import train
    from churnml.model import lightgbm_param_problems

    def no_data(cfg):
        raise AssertionError("the data was read")

    monkeypatch.setattr(train, "load_tables", no_data)
    for bad, problem in (("{num_leavs: 31}", "LightGBM has no parameter 'num_leavs' (did you mean 'num_leaves'?)"),
                         ("{learning_rate: -1}", "LightGBM refuses them: Check failed: (learning_rate) > (0.0)"),
                         ("{max_depth: abc}", 'LightGBM refuses them: Parameter max_depth should be of type int, '
                                              'got "abc"')):
        code = train.main(["--set", f"model.params={bad}", "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"])
        assert code == 2 and f"error: model.params: {problem}\n" in capsys.readouterr().err
    assert not (tmp_path / "m.db").exists()  # no MLflow run was started, so no FAILED run is left
    # names, aliases (lambda_l2 is reg_lambda's) and values LightGBM accepts pass as they are
    assert lightgbm_param_problems({"num_leaves": 15, "lambda_l2": 1.0, "min_child_samples": 50}) == []
    # settings given per feature are left to training (the probe has one feature); their scalars are checked
    assert lightgbm_param_problems({"monotone_constraints": [1, -1, 0], "feature_contri": [1.0, 0.5]}) == []
    assert lightgbm_param_problems({"feature_fraction": 2}) == [
        "LightGBM refuses them: Check failed: (feature_fraction) <= (1.0)"]


def test_lightgbm_parameters_churnml_sets_itself_are_refused_naming_its_own_key(tmp_path, capsys):
    """model.params.seed was overridden by the top-level seed (and logged as if used); n_estimators beat
    model.num_boost_round. Both are refused, with the key that sets them, before anything runs."""
    from churnml import train
    from churnml.errors import ModelError
    from churnml.model import ChurnModel, lightgbm_param_problems

    code = train.main(["--set", "model.params={seed: 1, n_estimators: 5}", "--tracking-uri",
                       f"sqlite:///{tmp_path / 'm.db'}"])
    assert code == 2
    assert capsys.readouterr().err.startswith(
        "error: model.params: 'seed' (use the top-level seed: --set seed=1), 'n_estimators' (use "
        "model.num_boost_round): churnml sets these itself, so given here they would be overridden or clash\n")
    assert not (tmp_path / "m.db").exists()
    assert lightgbm_param_problems({"early_stopping_round": 9}) == [
        "'early_stopping_round' (use model.early_stopping_rounds): churnml sets it itself, so given here it would "
        "be overridden or clash"]
    X = pd.DataFrame({"x": [0.0, 1.0] * 20})
    with pytest.raises(ModelError, match=r"params: 'random_state' \(use ChurnModel's random_state\)"):
        ChurnModel(params={"random_state": 1}).fit(X, [0, 1] * 20, X_cal=X, y_cal=[0, 1] * 20)


def test_a_lightgbm_alias_in_model_params_is_used_and_logged_as_its_main_name():
    """model.params={eta: 0.05} was dropped by LightGBM for the default's learning_rate (0.02), yet logged as
    lgbm_eta=0.05 beside lgbm_learning_rate=0.02: the alias is now the main name, in the fit and in the log."""
    from churnml.errors import ModelError
    from churnml.model import ChurnModel, lightgbm_param_problems, main_names
    from churnml.training_log import lgbm_params

    assert main_names({"eta": 0.05, "min_child_samples": 100, "subsample": 0.5, "num_leaves": 15}) == {
        "learning_rate": 0.05, "min_data_in_leaf": 100, "bagging_fraction": 0.5, "num_leaves": 15}
    assert lightgbm_param_problems({"eta": 0.05}) == []
    assert lightgbm_param_problems({"eta": 0.05, "shrinkage_rate": 0.1, "learning_rate": 0.2}) == [
        "'eta' and 'shrinkage_rate' and 'learning_rate' both name LightGBM's 'learning_rate': give one"]
    X = pd.DataFrame({"x": [0.0, 1.0] * 20})
    model = ChurnModel(params={"eta": 0.3}, num_boost_round=3, calibration="none")
    model.fit(X, [0, 1] * 20, X_cal=X, y_cal=[0, 1] * 20)
    assert model.booster_.params["learning_rate"] == 0.3 and "eta" not in model.booster_.params
    with pytest.raises(ModelError, match=r"params: 'eta' and 'learning_rate' both name LightGBM's 'learning_rate'"):
        ChurnModel(params={"eta": 0.3, "learning_rate": 0.1}).fit(X, [0, 1] * 20, X_cal=X, y_cal=[0, 1] * 20)
    logged = lgbm_params({"eta": 0.05})  # what runs and tuning trials log
    assert logged["lgbm_learning_rate"] == 0.05 and "lgbm_eta" not in logged
    assert logged["lgbm_num_leaves"] == 7  # churnml's defaults beside it


# ------------------------------------------------------------------ YAML that plain loading would take in silence
def test_a_key_given_twice_and_yes_no_for_a_number_are_config_errors(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("time:\n  horizon_days: 90\nmodel:\n  calibration: none\ntime:\n  regime: contractual\n")
    with pytest.raises(ConfigError) as err:  # plain YAML kept the second 'time' only: contractual, horizon 273
        load_config(path)
    assert str(err.value).startswith(f"{path}: not valid YAML: the key 'time' is given twice in one mapping (first "
                                     "at line 1); merge the two into one, since YAML would keep only the last")
    with pytest.raises(ConfigError, match="the key 'high' is given twice"):
        load_config(None, ["scoring.tiers={high: 0.7, high: 0.5, low: 0}"])
    merged = tmp_path / "merged.yaml"  # a merge key's keys may be overridden: not a key given twice
    merged.write_text("data:\n  source: files\n  tables:\n    transactions: &t {path: tx.csv, format: csv}\n"
                      "    events: {<<: *t, path: ev.csv}\n")
    events = load_config(merged).data.tables["events"]
    assert (events.path, events.format) == ("ev.csv", "csv")
    for setting in ("time.horizon_days=true", "scoring.save_rate=false", "time.active_within_days=true"):
        key = setting.split("=")[0].split(".")[1]
        with pytest.raises(ConfigError, match=rf"{key}: (True|False) is a yes/no value where a number is wanted"):
            load_config(None, [setting])
    assert load_config(None, ["time.horizon_days=90"]).time.horizon_days == 90
    # inside a list or a mapping of numbers too (pydantic read [true, 30] as windows [1, 30])
    with pytest.raises(ConfigError, match=r"windows: \[True, 30\] holds the yes/no value True where numbers"):
        load_config(None, ["features.windows=[true, 30]"])
    with pytest.raises(ConfigError, match=r"tiers: .* holds the yes/no value False where numbers"):
        load_config(None, ["scoring.tiers={high: 0.7, low: false}"])
    assert load_config(None, ["features.windows=[7, 30]"]).features.windows == [7, 30]
    # a playbook's cancel_requested is true, false or null: false is a condition, so 0 or "no" is refused
    for value in ("0", "1", "'no'", "'true'"):
        with pytest.raises(ConfigError, match=r"scoring\.playbook\.0\.cancel_requested: Input should be a valid "
                                              r"boolean"):
            load_config(None, [f"scoring.playbook=[{{action: x, cancel_requested: {value}}}]"])
    rules = load_config(None, ["scoring.playbook=[{action: x, cancel_requested: false}, {action: y}]"]).scoring.playbook
    assert [r.cancel_requested for r in rules] == [False, None]


def test_a_short_training_horizon_without_the_btyd_family_is_refused_before_any_data_or_run(tmp_path, capsys):
    from churnml.train import main

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["--set", "features.families=[rfm, windowed]", "--tracking-uri", uri]) == 2
    assert ("time.train_horizon_days=120 is shorter than time.horizon_days=273: the probabilities are moved to the "
            "asked horizon with BG/NBD's base rate, which needs the 'rfm' and 'btyd' feature families") in \
        capsys.readouterr().err
    assert not (tmp_path / "mlflow.db").exists()  # no run was started


@pytest.mark.parametrize("key", ["time.horizon_days", "time.lead_time_days", "time.grace_days", "time.step_days",
                                 "time.active_within_days", "time.min_history_days", "time.train_horizon_days",
                                 "scoring.clv_horizon_days"])
def test_a_span_of_more_than_100_years_is_a_config_error_not_a_crash_past_the_last_timestamp(key):
    assert load_config(None, [f"{key}=36525"]) is not None
    with pytest.raises(ConfigError, match=re.escape(f"{key}: Input should be less than or equal to 36525")):
        load_config(None, [f"{key}=1000000"])
    with pytest.raises(ConfigError, match=r"look-back windows are whole days from 1 to 36,525; \[40000\] are not"):
        load_config(None, ["features.windows=[7,40000]"])


def test_a_data_folder_file_whose_fix_is_a_read_option_says_how_to_get_one_applied(tmp_path, capsys):
    from churnml.features.__main__ import main
    from churnml.rules import READ_OPTIONS_HINT

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "transactions.csv").write_bytes("customer_id,timestamp,amount\nJosé,2024-01-03,5\n"
                                                          .encode("latin-1"))
    assert main(["--data", str(tmp_path / "data"), "--cutoff", "2024-02-01", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "read_options: {encoding: latin-1}" in err and READ_OPTIONS_HINT in err


def test_an_assignment_a_section_refuses_is_a_config_error_naming_the_key_and_keeps_the_old_value():
    from churnml.config import DataConfig

    cfg = load_config(None)
    with pytest.raises(ConfigError, match=re.escape("setting a key of time: 1 problem(s) in the configuration:\n"
                                                    "  - time.horizon_days: Input should be greater than or equal "
                                                    "to 1 (got -3)")):
        cfg.time.horizon_days = -3
    with pytest.raises(ConfigError, match=r"time\.horizonn: unknown key; did you mean 'horizon_days'\? \(got 3\)"):
        cfg.time.horizonn = 3
    with pytest.raises(ConfigError, match=r"  - seed: Input should be a valid integer"):
        cfg.seed = "a"
    with pytest.raises(ConfigError, match=r"data\.tables\.<table>\.format: Input should be 'csv', 'parquet' or"):
        files_cfg = load_config(None, ["data.source=files", "data.tables.transactions.path=x.csv"])
        files_cfg.data.tables["transactions"].format = "xls"
    assert cfg.time.horizon_days == 273 and cfg.seed == 42
    # a check across keys (source and tables) refuses the value; pydantic would have kept it
    with pytest.raises(ConfigError, match=re.escape("data.tables lists ['transactions'] but data.source is 'cdnow'")) \
            as refused:
        cfg.data.tables = {"transactions": {"path": "x.csv"}}
    assert "assign the section whole: cfg.data = DataConfig(...)" in str(refused.value)
    assert cfg.data.tables == {} and cfg.data.source == "cdnow"
    cfg.data = DataConfig(source="files", tables={"transactions": {"path": "x.csv"}})
    assert cfg.data.tables["transactions"].path == "x.csv"
    # an end given with an offset still follows a later zone after a refused end
    cfg.data.end = "1998-07-01T00:00:00+02:00"
    with pytest.raises(ConfigError, match=r"data\.end: Input should be a valid datetime"):
        cfg.data.end = "garbage"
    cfg.data.timezone = "Europe/Berlin"
    assert str(cfg.data.end) == "1998-07-01 00:00:00"


def test_a_champion_another_job_set_while_this_one_compared_is_compared_again(registry):
    from churnml.tracking import promote

    registry.create_model_version("m", source="x")  # version 4
    promote("m", "1", "roc_auc", 0.70, "A")

    def other_job_finishes_first(uri):  # v2, judged on this window, becomes champion meanwhile
        registry.set_model_version_tag("m", "2", "test_window", "B")
        registry.set_model_version_tag("m", "2", "test_roc_auc", "0.95")
        registry.set_registered_model_alias("m", "champion", "2")
        return {"models:/m/1": 0.70}[uri]

    late = promote("m", "3", "roc_auc", 0.85, "B", other_job_finishes_first)
    assert (late.champion, late.reason) == (
        False, "roc_auc 0.8500 <= champion v2 0.9500 (higher is better; same test window)")
    assert str(registry.get_model_version_by_alias("m", "champion").version) == "2"


def test_jobs_on_one_sqlite_store_take_turns_through_a_lock_file(tmp_path, caplog):
    import threading

    from churnml.tracking import store_lock

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    held, release = threading.Event(), threading.Event()

    def first_job():
        with store_lock(uri, "promoting a model version"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=first_job)
    thread.start()
    held.wait(10)
    threading.Timer(0.3, release.set).start()
    with caplog.at_level("INFO", logger="churnml.tracking"), store_lock(uri, "promoting a model version"):
        assert release.is_set()  # entered only after the first job let go
    thread.join()
    assert f"waiting for another churnml job on {tmp_path / 'mlflow.db'} to finish promoting a model version" \
        in caplog.text
    assert (tmp_path / "mlflow.db.lock").exists()
    with store_lock("http://127.0.0.1:5000", "x"):  # a server: no lock file here
        pass


def test_promotion_and_opening_a_store_take_the_stores_lock(registry, tmp_path, monkeypatch):
    import contextlib

    from churnml.tracking import promotion, runs

    taken: list[str] = []

    @contextlib.contextmanager
    def recording(uri, doing):
        taken.append(doing)
        yield

    monkeypatch.setattr(promotion, "store_lock", recording)
    monkeypatch.setattr(runs, "store_lock", recording)
    promotion.promote("m", "1", "roc_auc", 0.7, "W")
    runs.check_store(f"sqlite:///{tmp_path / 'other.db'}", "e")
    assert taken == ["promoting a model version", "opening the store"]


def test_read_policies_set_for_the_bundled_cdnow_log_are_said_not_to_apply(caplog):
    """--set data.duplicates=drop with the default CDNOW source changed nothing and said nothing, while the
    run's config recorded drop: a warning says so (the run's data_duplicates param records keep)."""
    from churnml.io import load_tables

    caplog.set_level("WARNING", logger="churnml.io")
    load_tables(load_config(None, ["data.duplicates=drop"]))
    assert ("data.duplicates=drop not applied: the bundled CDNOW log has no returns and keeps its same-day repeat "
            "rows (real purchases); the read policies apply to data.source=files") in caplog.text
    caplog.clear()
    load_tables(load_config(None))
    assert "not applied" not in caplog.text
