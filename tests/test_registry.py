"""The champion by rule and by hand: tracking.min_improvement, tracking.promote and python -m churnml.registry."""

from __future__ import annotations

import json
import re

import pytest

from churnml.errors import ModelError

W = "synthetic|noncontractual|h60|lead0|2024-03-01|500"  # one test window: the versions answer one question


def _aliases(client):
    return {a: str(v) for a, v in client.get_registered_model("m").aliases.items()}


def test_a_gain_not_more_than_min_improvement_keeps_the_champion_in_the_metrics_direction(registry):
    from churnml.tracking import promote

    promote("m", "1", "roc_auc", 0.7000, W, min_improvement=0.002)
    small = promote("m", "2", "roc_auc", 0.7015, W, min_improvement=0.002)
    assert (small.champion, small.alias, small.reason) == (False, "challenger", (
        "roc_auc 0.7015 > champion v1 0.7000 (higher is better; same test window); better by 0.0015, not more "
        "than tracking.min_improvement 0.0020: v1 stays champion"))
    equal = promote("m", "2", "roc_auc", 0.7020, W, min_improvement=0.002)  # 0.702 - 0.7 is 0.0020000000000000018
    assert not equal.champion and "better by 0.0020000000, not more than tracking.min_improvement 0.0020000000" \
        in equal.reason
    big = promote("m", "3", "roc_auc", 0.7030, W, min_improvement=0.002)
    assert (big.champion, big.reason) == (True, "roc_auc 0.7030 > champion v1 0.7000 (higher is better; same test "
                                                "window)")
    assert _aliases(registry) == {"champion": "3", "challenger": "3", "previous_champion": "1"}


def test_min_improvement_for_a_metric_where_lower_is_better(registry):
    from churnml.tracking import promote

    promote("m", "1", "brier", 0.1600, W)
    assert not promote("m", "2", "brier", 0.1590, W, min_improvement=0.005).champion  # 0.001 lower: not enough
    assert promote("m", "3", "brier", 0.1500, W, min_improvement=0.005).champion  # 0.01 lower
    assert not promote("m", "2", "brier", 0.1400, W, min_improvement=0.5).champion


def test_with_promote_false_versions_are_compared_and_challengers_but_never_champion(registry):
    from churnml.tracking import promote

    first = promote("m", "1", "roc_auc", 0.70, W, auto=False)
    assert (first.champion, first.alias, first.reason) == (False, "challenger", (
        "no champion yet; not made champion: tracking.promote is false (python -m churnml.registry promote 1)"))
    assert _aliases(registry) == {"challenger": "1"}
    promote("m", "1", "roc_auc", 0.70, W)  # made champion by the rule
    better = promote("m", "2", "roc_auc", 0.75, W, auto=False)
    assert (better.champion, better.reason) == (False, (
        "roc_auc 0.7500 > champion v1 0.7000 (higher is better; same test window); not made champion: "
        "tracking.promote is false (python -m churnml.registry promote 2)"))
    assert _aliases(registry) == {"champion": "1", "challenger": "2"}
    assert registry.get_model_version("m", "2").tags["promotion"] == better.reason


def _cli(tmp_path, capsys, *argv):
    from churnml.registry import main

    name = [] if "--name" in argv else ["--name", "m"]
    code = main([*argv, "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", *name])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_rollback_goes_back_one_champion_at_a_time_and_promote_by_hand_is_undone_by_it(registry, tmp_path, capsys):
    from churnml.tracking import promote

    for version, auc in (("1", 0.70), ("2", 0.71), ("3", 0.72)):
        assert promote("m", version, "roc_auc", auc, W).champion
    tags = {v: registry.get_model_version("m", v).tags.get("replaced_champion") for v in ("1", "2", "3")}
    assert tags == {"1": "", "2": "1", "3": "2"}
    assert _cli(tmp_path, capsys, "rollback", "--note", "v3 mis-scored Mondays") == (
        0, "v2 is the champion of m again (v3 was rolled back)\n", "")
    assert _aliases(registry) == {"champion": "2", "challenger": "3", "previous_champion": "1"}
    assert registry.get_model_version("m", "3").tags["rolled_back"].endswith(" UTC: v3 mis-scored Mondays")
    assert _cli(tmp_path, capsys, "rollback")[:2] == (0, "v1 is the champion of m again (v2 was rolled back)\n")
    assert _aliases(registry) == {"champion": "1", "challenger": "3"}  # v1 replaced nobody: no previous_champion
    code, out, err = _cli(tmp_path, capsys, "rollback")
    assert (code, out) == (2, "")
    assert ("error: champion v1 of m replaced no champion that churnml recorded: nothing to roll back to; fix: make "
            "another version champion with python -m churnml.registry promote N") in err
    # by hand: v3 again, and a rollback undoes exactly that
    assert _cli(tmp_path, capsys, "promote", "3", "--note", "fixed upstream")[:2] == (
        0, "v3 is now the champion of m (was v1)\n")
    tags3 = registry.get_model_version("m", "3").tags
    assert tags3["replaced_champion"] == "1"
    assert tags3["promotion"].startswith("made champion by hand on ")
    assert tags3["promotion"].endswith(" UTC, replacing v1: fixed upstream")
    assert _aliases(registry) == {"champion": "3", "challenger": "3", "previous_champion": "1"}
    assert _cli(tmp_path, capsys, "promote", "3")[:2] == (0, "v3 is already the champion of m: nothing changed\n")
    assert _cli(tmp_path, capsys, "rollback")[:2] == (0, "v1 is the champion of m again (v3 was rolled back)\n")


def test_rollbacks_undo_the_changes_in_order_after_an_earlier_champion_was_promoted_by_hand(registry, tmp_path,
                                                                                          capsys):
    from churnml.tracking import promote

    for version, auc in (("1", 0.70), ("2", 0.72), ("3", 0.74)):
        promote("m", version, "roc_auc", auc, W)
    assert _cli(tmp_path, capsys, "promote", "1")[0] == 0  # champions: 1, 2, 3, 1
    assert registry.get_registered_model("m").tags["champion_history"] == "1,2,3,1"
    got = [_cli(tmp_path, capsys, "rollback")[:2] for _ in range(4)]
    assert [out for _, out in got[:3]] == ["v3 is the champion of m again (v1 was rolled back)\n",
                                          "v2 is the champion of m again (v3 was rolled back)\n",
                                          "v1 is the champion of m again (v2 was rolled back)\n"]
    assert got[3] == (2, "")  # v1 was the first: no circle back to v3
    assert _aliases(registry) == {"champion": "1", "challenger": "3"}
    assert "rolled_back" not in registry.get_model_version("m", "1").tags  # champion again


def test_rollback_after_the_champion_was_moved_outside_churnml_goes_back_to_the_one_it_replaced(registry, tmp_path,
                                                                                                capsys):
    from churnml.tracking import promote

    for version, auc in (("1", 0.70), ("2", 0.72), ("3", 0.69)):
        promote("m", version, "roc_auc", auc, W)  # champions 1, 2; 3 is a challenger
    registry.set_registered_model_alias("m", "champion", "3")  # by hand, in the MLflow UI: previous_champion stays 1
    assert _cli(tmp_path, capsys, "rollback")[:2] == (0, "v2 is the champion of m again (v3 was rolled back)\n")
    assert _aliases(registry)["champion"] == "2"


def test_rollback_of_a_champion_from_before_the_tag_uses_the_previous_champion_alias(registry, tmp_path, capsys):
    registry.set_registered_model_alias("m", "previous_champion", "1")
    registry.set_registered_model_alias("m", "champion", "2")  # as an older churnml left them: no tags
    assert _cli(tmp_path, capsys, "rollback")[:2] == (0, "v1 is the champion of m again (v2 was rolled back)\n")
    assert _aliases(registry) == {"champion": "1"}


def test_promote_by_hand_refuses_a_version_of_another_question_unless_forced(registry, tmp_path, capsys):
    from churnml.tracking import promote

    promote("m", "1", "roc_auc", 0.70, W)
    other = "synthetic|noncontractual|h90|lead0|2024-03-01|500"
    assert promote("m", "2", "roc_auc", 0.80, other).alias == "none"
    code, _, err = _cli(tmp_path, capsys, "promote", "2")
    assert code == 2
    assert ("error: v2 answers another question than the champion: champion v1 predicts churn within 60 days and "
            "v2 churn within 90 days, another question, so neither is scored on the other's labels; fix: give "
            "--force to make it champion anyway (score then answers its question), or give each horizon, lead "
            "time and grace its own tracking.registered_model_name") in err
    assert _aliases(registry) == {"champion": "1", "challenger": "1"}
    assert _cli(tmp_path, capsys, "promote", "2", "--force")[0] == 0
    assert _aliases(registry) == {"champion": "2", "challenger": "1", "previous_champion": "1"}


def test_list_shows_every_version_newest_first_with_what_became_of_it(registry, tmp_path, capsys):
    from churnml.tracking import promote

    promote("m", "1", "roc_auc", 0.70, W)
    promote("m", "2", "roc_auc", 0.69, W)
    code, out, _ = _cli(tmp_path, capsys, "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["version"], r["aliases"], r["regime"], r["horizon_days"], r["test_cutoff"], r["metric"], r["value"],
             r["replaced"]) for r in rows] \
        == [(3, [], None, None, None, None, None, None),
            (2, ["challenger"], "noncontractual", 60, "2024-03-01", "roc_auc", 0.69, None),
            (1, ["champion"], "noncontractual", 60, "2024-03-01", "roc_auc", 0.70, "")]
    assert rows[1]["promotion"] == "roc_auc 0.6900 <= champion v1 0.7000 (higher is better; same test window)"
    promote("m", "3", "roc_auc", 0.71, "synthetic|contractual|h90|lead7|grace14|2024-03-01|500")
    for alias in ("previous_champion", "challenger"):  # another question takes no alias: two by hand, a list of both
        registry.set_registered_model_alias("m", alias, "3")
    rows = json.loads(_cli(tmp_path, capsys, "list", "--json")[1])
    assert [(r["aliases"], r["regime"], r["horizon_days"]) for r in rows] == [
        (["challenger", "previous_champion"], "contractual", 90), ([], "noncontractual", 60),
        (["champion"], "noncontractual", 60)]
    code, out, _ = _cli(tmp_path, capsys, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("m in sqlite:///")
    assert lines[1].split()[:9] == ["version", "aliases", "created", "regime", "horizon_days", "test_cutoff",
                                    "metric", "value", "replaced"]
    rows = [re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "", line).split()[:7] for line in lines[2:]]  # no created time
    assert rows == [["3", "challenger,", "previous_champion", "contractual", "90", "2024-03-01", "roc_auc"],
                    ["2", "noncontractual", "60", "2024-03-01", "roc_auc", "0.6900", "roc_auc"],
                    ["1", "champion", "noncontractual", "60", "2024-03-01", "roc_auc", "0.7000"]]
    registry.create_registered_model("bob's")  # no versions; a quote in the name
    code, out, _ = _cli(tmp_path, capsys, "list", "--json", "--name", "bob's")
    assert (code, json.loads(out)) == (0, [])
    assert _cli(tmp_path, capsys, "list", "--name", "bob's")[:2] == (0, f"bob's in sqlite:///{tmp_path}/mlflow.db\n"
                                                                        "no versions\n")


def test_a_missing_store_model_or_version_is_one_line_naming_the_fix(registry, tmp_path, capsys):
    from churnml.registry import main

    code, _, err = _cli(tmp_path, capsys, "promote", "9")
    assert code == 2 and "error: m has no version '9' (its versions: 1-3); fix: give one of them" in err
    assert main(["list", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--name", "churn"]) == 2
    assert ("error: no registered model 'churn' in sqlite:///" in capsys.readouterr().err)
    gone = tmp_path / "nope" / "mlflow.db"
    assert main(["list", "--tracking-uri", f"sqlite:///{gone}"]) == 2
    assert f"error: no MLflow store at {gone}" in capsys.readouterr().err
    assert not gone.parent.exists()
    with pytest.raises(ModelError, match="m has no champion to roll back"):
        from churnml.tracking import rollback

        rollback(f"sqlite:///{tmp_path / 'mlflow.db'}", "m")


def test_a_version_that_ranks_no_better_than_chance_is_never_made_champion(registry):
    from churnml.tracking import promote

    chance = "it ranks no better than chance (test ROC-AUC 0.5000)"
    first = promote("m", "1", "ece", 0.0100, W, unfit=chance)  # a constant at the base rate: a fine ECE
    assert (first.champion, first.alias, first.reason) == (
        False, "challenger", "no champion yet; not made champion: it ranks no better than chance (test ROC-AUC 0.5000)")
    assert promote("m", "2", "ece", 0.0500, W).champion
    third = promote("m", "3", "ece", 0.0100, W, unfit=chance)
    assert (third.champion, third.reason) == (False, (
        "ece 0.0100 < champion v2 0.0500 (lower is better; same test window); not made champion: it ranks no better "
        "than chance (test ROC-AUC 0.5000)"))
    assert _aliases(registry) == {"champion": "2", "challenger": "3"}


def test_the_training_warns_of_a_model_no_better_than_chance_or_worse_than_every_baseline():
    from churnml.training import unfit_problem

    def metrics(**auc):
        return {name: {"roc_auc": value} for name, value in auc.items()}

    assert unfit_problem(metrics(model=0.5, recency=0.8, historical_rate=0.5), 1) == (
        "the model ranks no better than chance on the test cutoff (ROC-AUC 0.5000, LightGBM stopped at 1 tree): it "
        "learned nothing to rank customers by; give more customers or cutoffs (time.max_train_cutoffs, a shorter "
        "time.step_days), or check the labels")
    assert unfit_problem(metrics(model=0.61, recency=0.7, bgnbd=0.65, historical_rate=0.5), 40) == (
        "the model ranks worse than every baseline on the test cutoff (ROC-AUC 0.6100; recency 0.7000): too few rows "
        "to learn from, or features that do not carry over from the training cutoffs to the test cutoff")
    assert unfit_problem(metrics(model=0.66, recency=0.7, bgnbd=0.65, historical_rate=0.5), 40) is None
    assert unfit_problem(metrics(model=0.6, historical_rate=0.5), 40) is None


def test_an_alias_that_names_no_version_is_told_with_the_versions_and_the_fix(registry):
    from churnml.tracking import alias_problem, promote

    promote("m", "3", "roc_auc", 0.70, W, auto=False)  # a challenger, no champion
    assert alias_problem("models:/m@champion") == (
        "m has no version with the alias 'champion' (its versions: 1-3; v3: no champion yet; not made champion: "
        "tracking.promote is false (python -m churnml.registry promote 3)); fix: make one champion with python -m "
        "churnml.registry promote N (python -m churnml.registry list shows them), or score a version with --model "
        "models:/m/3")
    assert alias_problem("models:/m@challenger") is None and alias_problem("models:/m/2") is None
    assert alias_problem("models:/nope@champion") is None  # loading the model names that


def test_pin_model_names_a_version_for_an_alias_and_latest_and_a_folder_by_its_path(registry, tmp_path, monkeypatch):
    from churnml.tracking import pin_model, promote

    promote("m", "2", "roc_auc", 0.70, W)
    pinned, text = pin_model("models:/m@champion")
    run = registry.get_model_version("m", "2").run_id
    assert (pinned, text) == ("models:/m/2", f"models:/m@champion is version 2 (run {run})")
    assert pin_model("models:/m/latest")[0] == "models:/m/3"
    (tmp_path / "bundle").mkdir()
    monkeypatch.chdir(tmp_path)
    assert pin_model("bundle") == (str(tmp_path / "bundle"), None)
    assert pin_model("runs:/abc/model") == ("runs:/abc/model", None)
