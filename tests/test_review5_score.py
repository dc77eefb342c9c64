"""Scoring fixes from the fifth user review: Spark's nobody-to-score error and leading-zeros hint
are DuckDB's, and the default playbook sends low-risk customers no re-engagement campaign.

The Spark tests score hand-typed tables with a stand-in model (a constant probability of 0.5
and ``scoring.top_k=0``: no reason codes), so no model is trained; DuckDB scores the same
tables with the same stand-in and both must agree exactly.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

import churnml.score as score_cli
from churnml.config import Config, TimeConfig, load_config
from churnml.errors import SchemaError
from churnml.io import Tables, write_frame
from churnml.outreach import NobodyToScoreError
from churnml.playbook import suggest_actions
from churnml.rules import DUPLICATE_KEY, NON_NUMERIC
from churnml.scoring import ScoreResult, score_customers
from churnml.timeparse import as_local
from tests.conftest import frame

if TYPE_CHECKING:
    from pyspark.sql import Column

CUTOFF = "2024-02-01"  # the cutoff of conftest's hand-typed world
HINT = "unknown customer id: not in the transactions, customers or subscriptions tables; {} exists (leading zeros differ; keep the ids as text)"


# ------------------------------------------------------------------------------------------ playbook
def _actions(rows: list[tuple[str, str, float, float, str]]) -> dict[str, str]:
    """The default playbook's action for (customer_id, risk_tier, value_at_risk, tenure_days, reason feature)."""
    outreach = pd.DataFrame({
        "customer_id": pd.Series([r[0] for r in rows], dtype="str"),
        "risk_tier": [r[1] for r in rows],
        "value_at_risk": [r[2] for r in rows],
        "tenure_days": [r[3] for r in rows],
    })
    reasons = pd.DataFrame({"reason_1_feature": pd.Series([r[4] for r in rows], dtype="str")})
    actions = suggest_actions(outreach, Config().scoring.playbook, reasons)
    return dict(zip(outreach["customer_id"], actions, strict=True))


def test_an_open_cancellation_request_gets_a_save_call_before_any_other_rule():
    from churnml.config import PlayRule

    outreach = pd.DataFrame({
        "customer_id": pd.Series(["A", "B", "C", "D", "E"], dtype="str"),
        "risk_tier": ["low", "high", "high", "low", "medium"],
        "value_at_risk": [1.0, 90.0, 80.0, 2.0, 0.5],
        "tenure_days": [20.0, 400.0, 400.0, 400.0, 400.0],
        # A: new and asked to cancel; B: top 20% value at risk and asked; C, D, E: no request
        "cancel_requested_at": pd.to_datetime(["2024-01-20", "2024-01-05", None, None, None]).astype("datetime64[us]"),
    })
    reasons = pd.DataFrame({"reason_1_feature": pd.Series(["evt_logins_30d", "tkt_open_count", "sub_days_to_renewal",
                                                          "rfm_recency_days", "sub_days_since_start"], dtype="str")})
    default = suggest_actions(outreach, Config().scoring.playbook, reasons)
    assert default.tolist() == ["save call", "save call", "retention offer", "check-in email", "retention offer"]
    # without the column (no cancel_requested_at in the subscriptions) nobody has a request
    assert suggest_actions(outreach.drop(columns="cancel_requested_at"), Config().scoring.playbook,
                           reasons).tolist() == ["onboarding call", "personal call from support lead",
                                                 "retention offer", "check-in email", "retention offer"]
    # false: only customers without a request
    rules = [PlayRule(action="keep", cancel_requested=False), PlayRule(action="other")]
    assert suggest_actions(outreach, rules, reasons).tolist() == ["other", "other", "keep", "keep", "keep"]


def test_a_low_risk_high_value_customer_with_an_activity_reason_gets_a_check_in_email_not_a_campaign():
    # L has the highest value at risk of the three and, like H and M, an engagement (evt_) reason.
    assert _actions([
        ("H", "high", 50.0, 400.0, "evt_logins_30d"),
        ("M", "medium", 40.0, 400.0, "evt_count_90d"),
        ("L", "low", 900.0, 400.0, "evt_logins_trend"),
    ]) == {"H": "re-engagement campaign", "M": "re-engagement campaign", "L": "check-in email"}


def test_each_tier_gets_the_action_of_the_first_default_rule_that_holds():
    # Ten customers: the top 20% of value at risk (share <= 0.2) are H1 and H2.
    assert _actions([
        ("H1", "high", 100.0, 400.0, "tkt_open_count"),  # support reason, top 20%
        ("H2", "high", 90.0, 400.0, "rfm_monetary_sum_all"),  # no rule's reason, top 20%
        ("H3", "high", 80.0, 400.0, "tkt_open_count"),  # support reason, not top 20%
        ("H4", "high", 70.0, 400.0, "rfm_recency_days"),
        ("M1", "medium", 60.0, 400.0, "sub_mrr_current"),
        ("M2", "medium", 50.0, 400.0, "rfm_monetary_sum_all"),
        ("L1", "low", 40.0, 400.0, "sub_plan_changes"),  # price reason, but low risk
        ("L2", "low", 30.0, 400.0, "btyd_p_alive"),
        ("L3", "low", 20.0, 30.0, "evt_logins_30d"),  # a new customer
        ("L4", "low", 10.0, 400.0, "srv_nps_last"),
    ]) == {
        "H1": "personal call from support lead", "H2": "personal call", "H3": "check-in email",
        "H4": "re-engagement campaign", "M1": "retention offer", "M2": "check-in email",
        "L1": "check-in email", "L2": "check-in email", "L3": "onboarding call", "L4": "check-in email",
    }


# ------------------------------------------------------------------------------------ Spark scoring
def _stand_in(**time: Any) -> Any:
    """A model as scoring reads it: its feature plan and time model (``time``: TimeConfig keys), a constant
    probability 0.5."""
    return SimpleNamespace(
        extra_={"feature_plan": {"families": ["rfm"], "windows": [30]},
                "time": TimeConfig(**time).model_dump(mode="json")},
        feature_names_=["rfm_tenure_days"],
        categories_={},
        predict_proba=lambda X: np.full(len(X), 0.5),
        unseen_levels=lambda X: {},
    )


def _half(inputs: Column) -> Column:
    from pyspark.sql import functions as F

    return F.lit(0.5)


def _both(spark: Any, tables: Tables, customers: list[str] | None,
          cutoff: str = CUTOFF, listed: bool = False) -> list[ScoreResult | NobodyToScoreError]:
    """Score ``tables`` with DuckDB and with Spark: (DuckDB's outcome, Spark's), result or error; ``listed``:
    list the customers of the tables not at risk (else they are counted)."""
    from churnml.spark import score, spark_tables

    cfg = load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0"])
    given = {name: getattr(tables, name) for name in ("transactions", "customers")
             if getattr(tables, name) is not None}
    outcomes: list[ScoreResult | NobodyToScoreError] = []
    for run in (lambda: score_customers(tables, _stand_in(), cutoff, cfg, customers=customers,
                                        list_not_at_risk=listed),
                lambda: score(spark, spark_tables(spark, given), _stand_in(), cutoff, cfg,
                              predict=_half, customers=customers, list_not_at_risk=listed)):
        try:
            outcomes.append(run())
        except NobodyToScoreError as exc:
            outcomes.append(exc)
    return outcomes


@pytest.mark.spark
@pytest.mark.slow
def test_on_spark_nobody_asked_can_be_scored_raises_duckdbs_error_with_every_asked_id(spark, tiny_tx):
    duck, got = _both(spark, Tables(transactions=tiny_tx), ["C", "NOPE", "C"])  # C buys after the cutoff
    assert isinstance(got, NobodyToScoreError) and isinstance(duck, NobodyToScoreError)
    assert str(got) == str(duck) == (
        f"nobody to score at {CUTOFF}: none of the 3 asked customers can be scored "
        "(no purchase before the cutoff: 1, unknown customer id: 1, duplicate: 1)")
    pd.testing.assert_frame_equal(got.unscored, duck.unscored)
    assert got.unscored.to_dict("list") == {
        "customer_id": ["C", "NOPE", "C"],
        "reason": ["no purchase before the cutoff", "unknown customer id: not in the transactions, customers or subscriptions tables",
                   "duplicate: asked id number 3 repeats number 1"],
    }


@pytest.mark.spark
@pytest.mark.slow
def test_on_spark_nobody_at_risk_at_the_cutoff_raises_duckdbs_error(spark, tiny_tx):
    duck, got = _both(spark, Tables(transactions=tiny_tx), None, cutoff="2023-06-01")  # before every purchase
    assert isinstance(got, NobodyToScoreError) and isinstance(duck, NobodyToScoreError)
    assert str(got) == str(duck) == (
        "nobody to score at 2023-06-01: none of the 4 customers in the tables is at risk (no purchase before the "
        "cutoff: 4); pick a later --cutoff")
    pd.testing.assert_frame_equal(got.unscored, duck.unscored)
    assert got.unscored.empty and got.not_at_risk is None and duck.not_at_risk is None
    duck, got = _both(spark, Tables(transactions=tiny_tx), None, cutoff="2023-06-01", listed=True)
    assert isinstance(got, NobodyToScoreError) and isinstance(duck, NobodyToScoreError)
    assert str(got) == str(duck)
    assert got.not_at_risk is not None and duck.not_at_risk is not None
    pd.testing.assert_frame_equal(got.not_at_risk, duck.not_at_risk)
    assert got.not_at_risk.to_dict("list") == {"customer_id": ["A", "B", "C", "D"],
                                               "reason": ["no purchase before the cutoff"] * 4}


@pytest.mark.spark
@pytest.mark.slow
def test_the_spark_score_command_writes_the_unscored_file_when_nobody_can_be_scored(
        spark, tmp_path: Path, tiny_tx, monkeypatch, capsys):
    monkeypatch.setattr(score_cli, "load_churn_model", lambda uri: _stand_in())
    write_frame(tiny_tx, tmp_path / "transactions.parquet")
    (tmp_path / "ids.csv").write_text("customer_id\nC\nNOPE\nC\n")
    out, side = tmp_path / "list.csv", tmp_path / "list.unscored.csv"
    assert score_cli.main(["--model", str(tmp_path / "no-model"), "--data", str(tmp_path), "--cutoff", CUTOFF,
                           "--out", str(out), "--customers", str(tmp_path / "ids.csv"),
                           "--engine", "spark", "--spark-master", "local[2]"]) == 2
    assert (f"error: nobody to score at {CUTOFF}: none of the 3 asked customers can be scored "
            f"(no purchase before the cutoff: 1, unknown customer id: 1, duplicate: 1); "
            f"every asked id and its reason: {side}\n") in capsys.readouterr().err
    assert pd.read_csv(side, dtype="str")["customer_id"].tolist() == ["C", "NOPE", "C"]
    assert not out.exists()


def _zero_world() -> Tables:
    """Six buyers with three purchases each before the cutoff; 0099 is only in the customers table."""
    ids = ["00017", "042", "A", "B", "D", "E"]
    days = [("2023-10-03", "2023-11-20", "2024-01-15"), ("2023-09-01", "2023-12-24", "2024-01-30"),
            ("2023-11-11", "2023-12-01", "2024-01-05"), ("2023-08-15", "2023-10-15", "2023-12-15"),
            ("2023-10-20", "2023-11-02", "2024-01-20"), ("2023-09-09", "2023-11-30", "2024-01-25")]
    tx = frame(customer_id=[c for c in ids for _ in range(3)], timestamp=[d for ds in days for d in ds],
               amount=[10.0, 20.0, 15.0, 40.0, 35.0, 50.0, 12.0, 8.0, 9.0,
                       60.0, 80.0, 70.0, 25.0, 30.0, 20.0, 5.0, 7.0, 6.0])
    return Tables(transactions=tx, customers=frame(customer_id=["A", "0099"]))


@pytest.mark.spark
@pytest.mark.slow
def test_on_spark_an_unknown_id_that_lost_its_leading_zeros_gets_duckdbs_hint(spark, caplog):
    with caplog.at_level(logging.WARNING, logger="churnml.outreach"):
        duck, got = _both(spark, _zero_world(), ["17", "A", "0042", "99", "X9"])
    assert isinstance(got, ScoreResult) and isinstance(duck, ScoreResult)
    assert got.counts == duck.counts == {"asked": 5, "scored": 1, "listed": 1, "below_cut": 0, "unscored": 4}
    pd.testing.assert_frame_equal(got.unscored, duck.unscored)
    assert dict(zip(got.unscored["customer_id"], got.unscored["reason"], strict=True)) == {
        "17": HINT.format("00017"), "0042": HINT.format("042"), "99": HINT.format("0099"),
        "X9": "unknown customer id: not in the transactions, customers or subscriptions tables",
    }
    assert got.outreach["customer_id"].tolist() == ["A"]
    warning = ("3 asked id(s) are unknown but match a customer id up to leading zeros, e.g. '17' -> '00017', "
               "'0042' -> '042', '99' -> '0099'")
    assert caplog.text.count(warning) == 2  # DuckDB, then Spark


# ------------------------------------------------------------------------------ --data read policy
def _folder_with_a_return(tmp_path: Path) -> Path:
    (tmp_path / "transactions.csv").write_text(
        "customer_id,timestamp,amount\n"
        "A,2024-01-05 10:00:00,20.0\n"
        "A,2024-01-09 10:00:00,-5.0\n"
        "B,2024-01-07 10:00:00,8.0\n", encoding="utf-8")
    return tmp_path


def _policy(*sets: str) -> dict[str, Any]:
    args = SimpleNamespace(set=list(sets))
    return score_cli._folder_policy(args, load_config(None, overrides=list(sets)))  # type: ignore[arg-type]


def test_a_data_folder_keeps_returns_and_duplicates_unless_set_says_otherwise(tmp_path: Path):
    folder = _folder_with_a_return(tmp_path)
    assert _policy() == {"returns": "keep", "duplicates": "keep", "timezone": "UTC", "data_end": None}
    kept = score_cli._folder_tables(folder, _policy())
    assert kept.transactions["amount"].tolist() == [20.0, -5.0, 8.0]
    dropped = score_cli._folder_tables(folder, _policy("data.returns=drop"))
    assert dropped.transactions["amount"].tolist() == [20.0, 8.0]
    with pytest.raises(SchemaError, match="transactions.amount: 1 negative amount"):
        score_cli._folder_tables(folder, _policy("data.returns=error"))


def test_a_data_folder_is_read_with_the_models_training_policy_unless_set_says_otherwise(tmp_path: Path, caplog):
    folder = _folder_with_a_return(tmp_path)
    model = SimpleNamespace(extra_={"data_policy": {"returns": "drop", "duplicates": "error"}})

    def policy(*sets: str) -> dict[str, Any]:
        args = SimpleNamespace(set=list(sets))
        return score_cli._folder_policy(args, load_config(None, overrides=list(sets)), model)  # type: ignore[arg-type]

    with caplog.at_level(logging.INFO, logger="churnml.score"):
        trained_as = policy()
    assert trained_as == {"returns": "drop", "duplicates": "error", "timezone": "UTC", "data_end": None}
    assert ("reading the --data tables with returns=drop (as in the model's training), duplicates=error (as in "
            "the model's training); times in UTC (the model recorded none: UTC)") in caplog.text
    assert score_cli._folder_tables(folder, trained_as).transactions["amount"].tolist() == [20.0, 8.0]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="churnml.score"):
        assert policy("data.returns=keep")["returns"] == "keep"
    assert "returns=keep (--set), duplicates=error (as in the model's training)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="churnml.score"):
        score_cli._folder_policy(SimpleNamespace(set=[]), load_config(None), SimpleNamespace(extra_={}))  # type: ignore[arg-type]
    assert "returns=keep (the model recorded no policy), duplicates=keep (the model recorded no policy)" in caplog.text


def test_a_data_folder_is_read_in_the_models_time_zone_and_another_one_warns(caplog):
    def policy(zone: str, *sets: str) -> dict[str, Any]:
        model = SimpleNamespace(extra_={"data_policy": {"returns": "keep", "duplicates": "keep", "timezone": zone}})
        args = SimpleNamespace(set=list(sets))
        return score_cli._folder_policy(args, load_config(None, overrides=list(sets)), model)  # type: ignore[arg-type]

    with caplog.at_level(logging.INFO, logger="churnml.score"):
        assert policy("Europe/Berlin")["timezone"] == "Europe/Berlin"  # the model's calendar
    assert "times in Europe/Berlin (as in the model's training)" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="churnml.score"):
        assert policy("Europe/Berlin", "data.timezone=Europe/Berlin")["timezone"] == "Europe/Berlin"
        policy("UTC")
    assert caplog.text == ""
    # --set data.end with an offset is read in the zone the folder is read in, not the config's (UTC)
    seoul = policy("Asia/Seoul", "data.end=2024-07-01T00:00:00+09:00")
    assert pd.Timestamp(seoul["data_end"]) == pd.Timestamp("2024-07-01T00:00:00+09:00")
    assert as_local(seoul["data_end"], "data.end", seoul["timezone"]) == pd.Timestamp("2024-07-01")
    assert policy("UTC", "data.end=null")["data_end"] is None
    with caplog.at_level(logging.WARNING, logger="churnml.score"):
        assert policy("Europe/Berlin", "data.timezone=Asia/Tokyo")["timezone"] == "Asia/Tokyo"
    assert ("the model's training read its times in Europe/Berlin, and --set data.timezone=Asia/Tokyo reads these "
            "in Asia/Tokyo: the features' days and the cutoff then follow another calendar than the model "
            "learned") in caplog.text


def test_scoring_another_source_than_the_models_training_warns(caplog):
    files = SimpleNamespace(extra_={"data_source": "files"})
    with caplog.at_level(logging.WARNING, logger="churnml.score"):
        score_cli._warn_other_source(files, load_config(None))  # type: ignore[arg-type]
    assert ("the model was trained on data.source=files, and this run scores data.source=cdnow (the bundled CDNOW "
            "data): if that is not meant, pass the training's --config (or --data DIR)") in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="churnml.score"):
        score_cli._warn_other_source(SimpleNamespace(extra_={"data_source": "cdnow"}), load_config(None))  # type: ignore[arg-type]
        score_cli._warn_other_source(SimpleNamespace(extra_={}), load_config(None))  # type: ignore[arg-type]
    assert caplog.text == ""  # the same source, or a model that recorded none


def test_scoring_a_folder_with_a_model_of_the_bundled_cdnow_data_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="churnml.score"):
        score_cli._warn_folder_source(SimpleNamespace(extra_={"data_source": "cdnow"}), "exports/2024-06")  # type: ignore[arg-type]
    assert ("the model was trained on data.source=cdnow (the bundled CDNOW data), and --data exports/2024-06 gives "
            "it other customers: its probabilities and reasons are what it learned there, not from these tables. "
            "Fix: train a model on these tables under a name of its own (python -m churnml.train --set "
            "data.source=files --set data.tables.transactions.path=... --set tracking.registered_model_name=NAME; a "
            "model of other data never replaces this champion), then score with --model models:/NAME@champion") \
        in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="churnml.score"):  # files: a newer export of the same business
        score_cli._warn_folder_source(SimpleNamespace(extra_={"data_source": "files"}), "x")  # type: ignore[arg-type]
        # a synthetic world's folder (python -m churnml.datasets synthetic --out DIR) is the documented way
        score_cli._warn_folder_source(SimpleNamespace(extra_={"data_source": "synthetic"}), "x")  # type: ignore[arg-type]
        score_cli._warn_folder_source(SimpleNamespace(extra_={}), "x")  # type: ignore[arg-type]
    assert caplog.text == ""


def test_scoring_the_config_in_another_zone_than_the_models_training_warns(caplog):
    seoul = SimpleNamespace(extra_={"data_source": "cdnow", "data_policy": {"timezone": "Asia/Seoul"}})
    with caplog.at_level(logging.WARNING, logger="churnml.score"):
        score_cli._warn_other_source(seoul, load_config(None))  # type: ignore[arg-type]
    assert ("the model's training read its times in Asia/Seoul, and this run reads them in UTC (data.timezone): "
            "the features' days and the cutoff then follow another calendar than the model learned") in caplog.text
    caplog.clear()
    utc = SimpleNamespace(extra_={"data_source": "cdnow", "data_policy": {"timezone": "UTC"}})
    with caplog.at_level(logging.WARNING, logger="churnml.score"):
        score_cli._warn_other_source(utc, load_config(None))  # type: ignore[arg-type]
    assert caplog.text == ""


def test_a_model_trained_in_a_zone_when_days_were_utc_gets_a_warning(caplog):
    old = SimpleNamespace(extra_={"data_policy": {"returns": "keep", "duplicates": "keep", "timezone": "Asia/Seoul"}})
    with caplog.at_level(logging.WARNING, logger="churnml.score"):
        (text,) = score_cli._warn_utc_days(old)  # type: ignore[arg-type]
    assert text.startswith("the model was trained with data.timezone=Asia/Seoul by an older churnml, which counted "
                           "its features' days, months and cutoffs in UTC") and text in caplog.text
    new = SimpleNamespace(extra_={"data_policy": {"timezone": "Asia/Seoul", "days": "timezone"}})
    utc = SimpleNamespace(extra_={"data_policy": {"timezone": "UTC"}})
    assert score_cli._warn_utc_days(new) == score_cli._warn_utc_days(utc) == []  # type: ignore[arg-type]


def test_the_recorded_read_policy_has_the_time_zone_of_the_source():
    from churnml.config import DataConfig
    from churnml.io import read_policy

    assert read_policy(DataConfig(source="cdnow"))["timezone"] == "UTC"
    files = DataConfig(source="files", timezone="Europe/Berlin", tables={"transactions": {"path": "tx.csv"}})
    assert read_policy(files) == {"returns": "error", "duplicates": "error", "timezone": "Europe/Berlin"}


def test_a_refusal_under_the_models_error_policy_says_how_to_score_the_folder(tmp_path: Path):
    folder = _folder_with_a_return(tmp_path)
    model = SimpleNamespace(extra_={"data_policy": {"returns": "error", "duplicates": "error"}})
    args = SimpleNamespace(data=str(folder), set=[], cutoff="2024-02-01", top=None, budget=None)
    with pytest.raises(SchemaError) as err:
        score_cli._score_duckdb(args, load_config(None), model, None)  # type: ignore[arg-type]
    assert "transactions.amount: 1 negative amount" in err.value.problems[0]
    assert err.value.problems[-1] == (  # the folder has a return and no duplicate: only data.returns is named
        "--data reads the folder as the model's training read its tables, and the model was trained with "
        "data.returns=error (its training tables had none); to score this folder, pass "
        "--set data.returns=keep (or drop), as fits what the model learned")
    assert score_cli._error_policies(args, model) == ["returns", "duplicates"]  # type: ignore[arg-type]
    assert score_cli._error_policies(SimpleNamespace(set=["data.returns=drop"]), model) == [  # type: ignore[arg-type]
        "duplicates"]
    assert score_cli._error_policies(args, SimpleNamespace(extra_={})) == []  # type: ignore[arg-type]
    repeated = DUPLICATE_KEY.problem("customers", "customer_id", 2, " at data rows 3, 4 of customers.csv")
    assert score_cli._policy_hint(["returns", "duplicates"], [repeated]).endswith(
        "trained with data.duplicates=error (its training tables had none); to score this folder, pass "
        "--set data.duplicates=keep (or drop), as fits what the model learned")
    unrelated = NON_NUMERIC.problem("transactions", "amount", 1, " at data row 2 of transactions.csv")
    assert score_cli._policy_hint(["returns", "duplicates"], [unrelated]) == ""


def test_with_a_data_folder_only_the_read_policy_keys_of_set_are_used(caplog):
    with caplog.at_level(logging.WARNING, logger="churnml.score"):
        score_cli._check_overrides(["data.returns=drop", "data.end=2024-02-01"], with_data=True)
    assert caplog.text == ""
    with caplog.at_level(logging.WARNING, logger="churnml.score"):
        score_cli._check_overrides(["data.source=cdnow"], with_data=True)
    assert "--set data.source is not used by score (the --data folder replaces the data section" in caplog.text


def test_a_fix_that_asks_for_read_options_says_how_to_get_them_under_data(tmp_path: Path):
    (tmp_path / "transactions.csv").write_text(  # 5 January or 1 May? no day above 12 settles it
        "customer_id,timestamp,amount\nA,05.01.2024,20.0\nB,06.01.2024,8.0\n", encoding="utf-8")
    model = SimpleNamespace(extra_={"data_policy": {"returns": "error", "duplicates": "error"}})
    args = SimpleNamespace(data=str(tmp_path), set=[], cutoff="2024-07-01", top=None, budget=None)
    with pytest.raises(SchemaError) as err:
        score_cli._score_duckdb(args, load_config(None), model, None)  # type: ignore[arg-type]
    assert "read_options.dayfirst" in err.value.problems[0]
    assert err.value.problems[1:] == [score_cli.READ_OPTIONS_HINT]  # and no policy hint: no return, no repeat


# ------------------------------------------------------------- the tables' customers not at risk
def _accounting_world() -> Tables:
    """Five customers at the cutoff 2024-02-01: A, B and D bought before it (D only on 2023-12-02, 61 days
    before), C only after it, Z never (only in the customers table)."""
    tx = frame(customer_id=["A", "A", "B", "C", "C", "D"],
               timestamp=["2024-01-01", "2024-01-11", "2024-01-20", "2024-02-10", "2024-02-12", "2023-12-02"],
               amount=[10.0, 20.0, 50.0, 15.0, 4.0, 8.0])
    return Tables(transactions=tx, customers=frame(customer_id=["A", "B", "Z"]))


def _score_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *more: str, world: Tables | None = None,
               **time: Any) -> int:
    """``python -m churnml.score`` on ``world`` (default :func:`_accounting_world`) written to ``tmp_path/data``,
    with the stand-in."""
    monkeypatch.setattr(score_cli, "load_churn_model", lambda uri: _stand_in(**time))
    world = world or _accounting_world()
    for name in ("transactions", "customers"):
        write_frame(getattr(world, name), tmp_path / "data" / f"{name}.parquet", overwrite=True)
    return score_cli.main(["--model", str(tmp_path / "no-model"), "--data", str(tmp_path / "data"), "--cutoff",
                           CUTOFF, "--out", str(tmp_path / "l.csv"), "--overwrite", "--set", "scoring.top_k=0",
                           "--set", "scoring.playbook_reasons=0", *more])


def test_score_counts_the_customers_of_the_tables_not_at_risk_by_reason_and_lists_them_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    import json

    side = tmp_path / "l.unscored.csv"
    assert _score_cli(tmp_path, monkeypatch, "--top", "2") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "5 customers in the tables: 3 at risk at the cutoff, all scored; 2 not at risk (no purchase before the "
        f"cutoff: 2), counted only (--list-not-at-risk writes them to {side})",
        f"2 on the outreach list {tmp_path / 'l.csv'} (1 scored but below the cut)"]
    assert pd.read_csv(side, dtype="str").empty  # counted only
    assert _score_cli(tmp_path, monkeypatch, "--top", "2", "--list-not-at-risk", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["counts"] == {"asked": 3, "scored": 3, "listed": 2, "below_cut": 1, "unscored": 0,
                                 "in_tables": 5, "not_at_risk": 2}
    assert summary["not_at_risk"] == {"no purchase before the cutoff": 2}
    assert summary["not_at_risk_listed_in"] == str(side)
    assert pd.read_csv(side, dtype="str").to_dict("list") == {
        "customer_id": ["C", "Z"], "reason": ["no purchase before the cutoff"] * 2,
        "model": [str(tmp_path / "no-model")] * 2}
    # within 30 days of the cutoff (from 2024-01-02): D's purchase is too old, A and B are at risk
    assert _score_cli(tmp_path, monkeypatch, "--list-not-at-risk", active_within_days=30) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "5 customers in the tables: 2 at risk at the cutoff, all scored; 3 not at risk (no purchase before the "
        f"cutoff within 30 days: 3), listed in {side}")
    assert pd.read_csv(side, dtype="str")["customer_id"].tolist() == ["C", "D", "Z"]
    # the transactions alone: C (two rows after the cutoff) is one customer not at risk
    alone = score_customers(Tables(transactions=_accounting_world().transactions), _stand_in(), CUTOFF,
                            load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0"]),
                            list_not_at_risk=True)
    assert alone.counts == {"asked": 3, "scored": 3, "listed": 3, "below_cut": 0, "unscored": 0, "in_tables": 4,
                            "not_at_risk": 1}
    assert alone.not_at_risk is not None and alone.not_at_risk["customer_id"].tolist() == ["C"]


def test_without_list_not_at_risk_the_customers_not_at_risk_are_counted_not_collected(monkeypatch):
    import churnml.scoring as scoring

    def collected(*args: Any) -> None:
        raise AssertionError("the customers not at risk were listed, though only counted")

    monkeypatch.setattr(scoring, "not_at_risk", collected)
    result = score_customers(_accounting_world(), _stand_in(), CUTOFF,
                             load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0"]))
    assert result.not_at_risk is None
    assert result.counts == {"asked": 3, "scored": 3, "listed": 3, "below_cut": 0, "unscored": 0, "in_tables": 5,
                             "not_at_risk": 2}
    assert result.not_at_risk_reasons() == {"no purchase before the cutoff": 2}
    assert result.not_listed(True)["customer_id"].tolist() == []  # nothing to write beside the list


def test_nobody_at_risk_counts_the_tables_customers_by_reason_and_lists_them_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    side, out = tmp_path / "l.unscored.csv", tmp_path / "l.csv"
    # 2023-06-01: before every purchase of the five customers (A, B, C, D buy later; Z never)
    assert _score_cli(tmp_path, monkeypatch, "--cutoff", "2023-06-01") == 2
    assert capsys.readouterr().err.startswith(
        "error: nobody to score at 2023-06-01: none of the 5 customers in the tables is at risk (no purchase before "
        "the cutoff: 5); pick a later --cutoff; --list-not-at-risk lists them, with their reason\n")
    assert not side.exists() and not out.exists()
    out.write_text("an older list\n")
    assert _score_cli(tmp_path, monkeypatch, "--cutoff", "2023-06-01", "--list-not-at-risk") == 2
    assert capsys.readouterr().err.startswith(
        "error: nobody to score at 2023-06-01: none of the 5 customers in the tables is at risk (no purchase before "
        f"the cutoff: 5); pick a later --cutoff; the customers not at risk and their reason: {side}; the older "
        f"{out} was removed\n")
    assert pd.read_csv(side, dtype="str").to_dict("list") == {
        "customer_id": ["A", "B", "C", "D", "Z"], "reason": ["no purchase before the cutoff"] * 5,
        "model": [str(tmp_path / "no-model")] * 5}
    assert not out.exists()
    # one customer in the tables, in the contractual words
    subs = frame(customer_id=["A"], start=["2024-03-01"], end=[None])  # starts after the cutoff
    with pytest.raises(NobodyToScoreError) as nobody:
        score_customers(Tables(transactions=_accounting_world().transactions[lambda t: t["customer_id"] == "A"],
                               subscriptions=subs), _stand_in(regime="contractual"), CUTOFF,
                        load_config(None, ["scoring.clv_method=bgnbd"]), list_not_at_risk=True)
    assert str(nobody.value).startswith(f"nobody to score at {CUTOFF}: the one customer in the tables is not at risk "
                                        "(no active subscription at the cutoff); pick a later --cutoff. Also: the "
                                        "cutoff 2024-02-01 is 20 days after the end of the data")  # A's last buy
    assert nobody.value.not_at_risk is not None and nobody.value.not_at_risk["customer_id"].tolist() == ["A"]
    assert nobody.value.in_tables == 1


def test_a_list_of_customers_keeps_its_own_accounting_and_refuses_list_not_at_risk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "ids.csv").write_text("customer_id\nA\nC\n")
    assert _score_cli(tmp_path, monkeypatch, "--customers", str(tmp_path / "ids.csv"), "--list-not-at-risk") == 2
    assert capsys.readouterr().err.startswith(
        "error: --list-not-at-risk is for a run without --customers: with a list, the listed ids not at risk are "
        f"always written to {tmp_path / 'l.unscored.csv'} with their reason; leave it out\n")
    result = score_customers(_accounting_world(), _stand_in(), CUTOFF,
                             load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0"]), customers=["A", "C"])
    assert result.not_at_risk is None and result.not_at_risk_reasons() is None
    assert result.counts == {"asked": 2, "scored": 1, "listed": 1, "below_cut": 0, "unscored": 1}
    assert result.unscored.to_dict("list") == {"customer_id": ["C"], "reason": ["no purchase before the cutoff"]}


def test_the_contractual_regime_counts_customers_without_an_active_subscription():
    subs = frame(customer_id=["A", "B", "Q"], start=["2023-12-01", "2023-11-01", "2024-03-01"],
                 end=[None, "2024-01-15", None])  # A active; B ended before the cutoff; Q starts after it
    world = Tables(transactions=_accounting_world().transactions, customers=frame(customer_id=["A", "Z"]),
                   subscriptions=subs)
    result = score_customers(world, _stand_in(regime="contractual"), CUTOFF,
                             load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0",
                                                "scoring.clv_method=bgnbd"]), list_not_at_risk=True)
    assert result.counts["in_tables"] == 6 and result.counts["scored"] == 1  # A, B, C, D, Q, Z; A scored
    assert result.not_at_risk_reasons() == {"no active subscription at the cutoff": 5}
    assert result.not_at_risk["customer_id"].tolist() == ["B", "C", "D", "Q", "Z"]


@pytest.mark.spark
@pytest.mark.slow
def test_on_spark_the_tables_customers_not_at_risk_are_duckdbs(spark):
    duck, got = _both(spark, _accounting_world(), None)  # counted by a query: no id collected
    assert isinstance(got, ScoreResult) and isinstance(duck, ScoreResult)
    assert got.counts == duck.counts == {"asked": 3, "scored": 3, "listed": 3, "below_cut": 0, "unscored": 0,
                                         "in_tables": 5, "not_at_risk": 2}
    assert got.not_at_risk is None and duck.not_at_risk is None
    assert got.not_at_risk_reasons() == duck.not_at_risk_reasons() == {"no purchase before the cutoff": 2}
    duck, got = _both(spark, _accounting_world(), None, listed=True)
    assert isinstance(got, ScoreResult) and isinstance(duck, ScoreResult)
    assert got.counts == duck.counts == {"asked": 3, "scored": 3, "listed": 3, "below_cut": 0, "unscored": 0,
                                         "in_tables": 5, "not_at_risk": 2}
    assert got.not_at_risk is not None and duck.not_at_risk is not None
    pd.testing.assert_frame_equal(got.not_at_risk, duck.not_at_risk)
    assert got.not_at_risk["customer_id"].tolist() == ["C", "Z"]


# ------------------------------------------------------------------------------ --json warnings
def test_score_json_lists_every_warning_the_run_logged_in_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture):
    import json

    from churnml.rules import case_twins_text

    # z and Z in the customers table: a data warning while the tables are read; an unused --set key before that
    world = Tables(transactions=_accounting_world().transactions, customers=frame(customer_id=["A", "B", "Z", "z"]))
    with caplog.at_level(logging.WARNING):
        assert _score_cli(tmp_path, monkeypatch, "--json", "--set", "metrics.lifespan_years=3", world=world) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert warnings[:2] == [
        "--set metrics.lifespan_years is not used by score (score reads only data.*, scoring.*, tracking.uri and "
        "tracking.registered_model_name)",
        case_twins_text("customers", 2, [["Z", "z"]])]
    assert warnings == [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]  # all, in order


def test_collected_warnings_are_the_warning_records_and_churnmls_python_warnings_in_order(
        caplog: pytest.LogCaptureFixture):
    import warnings

    import churnml
    from churnml.cli import collected_warnings

    inside = Path(churnml.__file__).parent / "a_module.py"  # a warning raised from churnml's code
    with caplog.at_level(logging.INFO), warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with collected_warnings() as got:
            logging.getLogger("churnml.x").warning("first %d", 1)
            logging.getLogger("churnml.x").info("not a warning")
            exec(compile("import warnings; warnings.warn('second', UserWarning)", str(inside), "exec"))
            warnings.warn("from elsewhere: not churnml's", UserWarning, stacklevel=1)
            logging.getLogger("other").error("third")
        logging.getLogger("churnml.x").warning("after the block")
    assert got == ["first 1", "UserWarning: second", "third"]
    assert [str(w.message) for w in shown] == ["second", "from elsewhere: not churnml's"]  # still shown, once each
