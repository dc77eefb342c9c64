"""Config keys from the user review that were accepted but not read, the CSV data folder, blank referrals.

1. ``time.last_cutoff`` bounds the newest training cutoff (DuckDB and Spark plan through one function).
2. ``evaluation.top_fraction`` gives its own lift and precision, named by the share.
3. ``python -m churnml.datasets synthetic --format csv`` writes ``<table>.csv`` files a ``--data`` folder holds.
4. A blank ``referred_by`` is not a referral, in the features and in the KPIs alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnml import evaluate as ev
from churnml.config import FeaturesConfig, load_config
from churnml.dataset import split_cutoffs
from churnml.datasets.__main__ import main as datasets_main
from churnml.datasets.synthetic import TABLES
from churnml.errors import ConfigError
from churnml.features import compute_features, plan_features
from churnml.io import folder_files, read_table
from churnml.metrics import retention_kpis
from churnml.windows import DataSpan

# ------------------------------------------------------------------ 1. time.last_cutoff
# A tiny log from 2024-01-01 to 2024-06-30: the data ends (exclusive) on 2024-07-01. A 30-day horizon
# trained as it is: test = 07-01 - 30 d = 06-01; with the embargo the calibration cutoff is 30 days
# earlier, 05-02, and the newest training cutoff a step (7 d) before it, 04-25. The earliest usable
# cutoff is 01-01 + 14 d = 01-15.
TINY_LOG = pd.DataFrame({
    "customer_id": pd.Series(["A", "B", "A", "C", "B", "C", "A", "D", "B", "D", "C", "A"], dtype="str"),
    "timestamp": pd.to_datetime([
        "2024-01-01 09:00", "2024-01-03 00:00", "2024-01-20 00:00", "2024-02-02 00:00", "2024-02-20 00:00",
        "2024-03-05 00:00", "2024-03-28 00:00", "2024-04-11 00:00", "2024-05-01 00:00", "2024-05-19 00:00",
        "2024-06-10 00:00", "2024-06-30 18:30",
    ]).astype("datetime64[us]"),
    "amount": [10.0, 20.0, 15.0, 30.0, 25.0, 5.0, 12.0, 40.0, 22.0, 18.0, 9.0, 11.0],
})
BASE = ["time.horizon_days=30", "time.train_horizon_days=null", "time.step_days=7", "time.min_history_days=14",
        "time.max_train_cutoffs=null"]


def _splits(*overrides: str):
    return split_cutoffs(DataSpan.from_times(TINY_LOG["timestamp"]), load_config(None, [*BASE, *overrides]))


def _days(cutoffs) -> list[str]:
    return [str(c.date()) for c in cutoffs]


def test_without_last_cutoff_training_runs_back_from_one_step_before_calibration():
    s = _splits()
    assert (str(s.test.date()), str(s.calibration.date())) == ("2024-06-01", "2024-05-02")
    assert len(s.train) == 15
    assert (_days(s.train)[0], _days(s.train)[-1]) == ("2024-01-18", "2024-04-25")


def test_last_cutoff_is_the_newest_training_cutoff_and_the_steps_run_back_from_it():
    s = _splits("time.last_cutoff=2024-03-01")
    assert _days(s.train) == ["2024-01-19", "2024-01-26", "2024-02-02", "2024-02-09", "2024-02-16",
                              "2024-02-23", "2024-03-01"]
    assert (str(s.test.date()), str(s.calibration.date())) == ("2024-06-01", "2024-05-02")  # unchanged


def test_last_cutoff_and_max_train_cutoffs_together_keep_the_newest_before_it():
    s = _splits("time.last_cutoff=2024-03-01", "time.max_train_cutoffs=2")
    assert _days(s.train) == ["2024-02-23", "2024-03-01"]


def test_a_last_cutoff_after_the_newest_possible_one_changes_nothing(caplog):
    caplog.set_level("INFO", logger="churnml.dataset")
    assert _splits("time.last_cutoff=2024-05-20").train == _splits().train
    assert "time.last_cutoff=2024-05-20 is after the newest possible training cutoff 2024-04-25" in caplog.text


def test_a_last_cutoff_on_the_earliest_usable_day_gives_one_training_cutoff():
    assert _days(_splits("time.last_cutoff=2024-01-15").train) == ["2024-01-15"]


def test_a_last_cutoff_before_any_usable_cutoff_is_a_config_error_with_the_range_that_fits():
    with pytest.raises(ConfigError) as err:
        _splits("time.last_cutoff=2024-01-10")
    message = str(err.value)
    assert "time.last_cutoff=2024-01-10" in message
    assert "between 2024-01-15 and 2024-04-25" in message


def test_first_cutoff_after_last_cutoff_is_the_same_config_error():
    with pytest.raises(ConfigError, match=r"time\.last_cutoff=2024-02-01 .* between 2024-03-01 and 2024-04-25"):
        _splits("time.first_cutoff=2024-03-01", "time.last_cutoff=2024-02-01")


def test_spark_training_plans_its_cutoffs_with_the_same_function():
    pytest.importorskip("pyspark")
    from churnml import dataset
    from churnml.spark import training as spark_training

    assert spark_training.split_cutoffs is dataset.split_cutoffs


# ------------------------------------------------------------------ 2. evaluation.top_fraction
# Ten customers by descending score; 4 churned (base rate 0.4). The top 20% are the first two
# (1 churner): precision 1/2 = 0.5, lift 0.5 / 0.4 = 1.25. The top decile is the first one
# (a churner): precision 1.0, lift 2.5.
SCORES = np.array([0.95, 0.90, 0.80, 0.70, 0.60, 0.50, 0.40, 0.30, 0.20, 0.10])
LABELS = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0])


def test_the_top_fifth_metrics_are_exact_on_ten_hand_typed_customers():
    report = ev.classification_report(LABELS, SCORES, top_fraction=0.2)
    assert report["precision_top_20pct"] == 0.5
    assert report["lift_top_20pct"] == pytest.approx(1.25)
    assert report["precision_top_decile"] == 1.0  # the decile metrics keep their meaning
    assert report["lift_top_decile"] == pytest.approx(2.5)
    assert report["base_rate"] == pytest.approx(0.4)


def test_at_a_tenth_the_report_has_only_the_decile_names():
    report = ev.classification_report(LABELS, SCORES, top_fraction=0.1)
    assert report == ev.classification_report(LABELS, SCORES)
    assert not any(k.endswith("pct") for k in report)


@pytest.mark.parametrize(("fraction", "names"), [
    (0.1, ("lift_top_decile", "precision_top_decile")),
    (0.2, ("lift_top_20pct", "precision_top_20pct")),
    (0.25, ("lift_top_25pct", "precision_top_25pct")),
    (0.025, ("lift_top_2.5pct", "precision_top_2.5pct")),
    (1.0, ("lift_top_100pct", "precision_top_100pct")),
])
def test_the_metric_names_give_the_share_in_percent(fraction, names):
    assert ev.top_metric_names(fraction) == names


def test_a_top_fraction_outside_the_unit_interval_is_a_config_error():
    with pytest.raises(ConfigError, match=r"evaluation\.top_fraction must be in \(0, 1\]; got 0"):
        ev.top_metric_names(0.0)


@pytest.mark.slow
def test_training_reports_the_configured_fraction_for_every_model_and_cutoff_within_last_cutoff():
    from churnml.io import load_tables
    from churnml.training import fit_and_evaluate
    from tests.settings import small_world

    cfg = load_config(None, [*small_world(1200, 18, 30, 100), "evaluation.top_fraction=0.2",
                             "time.last_cutoff=2024-01-01"])
    result = fit_and_evaluate(load_tables(cfg), cfg)
    assert max(result.data.splits.train) == pd.Timestamp("2024-01-01")
    for name, metrics in result.metrics.items():
        y, p = result.y_test, result.test_probabilities[name]
        assert metrics["lift_top_20pct"] == pytest.approx(ev.lift_at(y, p, 0.2)), name
        assert metrics["precision_top_20pct"] == pytest.approx(ev.precision_at(y, p, 0.2)), name
    assert {"lift_top_20pct", "precision_top_20pct"} <= set(result.backtest.columns)
    # The printed summary and the report's metrics table show the lift at the share next to the decile's.
    from churnml.report_sections import _metrics_table
    from churnml.train import _summary

    head, *rows = _summary(result, None).splitlines()[1:1 + 1 + len(result.metrics)]
    assert head.split() == ["roc_auc", "pr_auc", "lift_top_decile", "lift_top_20pct", "brier", "ece"]
    model_row = next(r for r in rows if r.split()[0] == "model").split()
    assert float(model_row[4]) == pytest.approx(result.metrics["model"]["lift_top_20pct"], abs=5e-5)
    assert '<th class="num">lift_top_20pct</th>' in _metrics_table(pd.DataFrame(result.metrics).T)


# ------------------------------------------------------------------ 3. the CSV data folder
def test_synthetic_csv_is_one_file_per_table_that_io_reads_back_with_every_row(tmp_path: Path, capsys):
    args = ["synthetic", "--customers", "300", "--out", str(tmp_path), "--format", "csv",
            "--chunk-customers", "100", "--months", "6", "--seed", "3", "--quiet"]
    assert datasets_main(args) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path}/<table>.csv" in out
    reported = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in out.splitlines()[1:]}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    files = folder_files(tmp_path)
    assert set(files) == set(TABLES) - {"ground_truth"}
    assert all(path.suffix == ".csv" for path in files.values())
    for name, path in files.items():
        table = read_table(name, path, returns="keep", duplicates="keep")
        assert len(table) == reported[name], name
    assert len(pd.read_csv(tmp_path / "ground_truth.csv")) == reported["ground_truth"] == 300
    assert reported["customers"] == 300
    assert (tmp_path / "transactions.csv").read_text().count("customer_id") == 1  # the header once


def test_the_csv_folder_replaces_its_files_only_with_overwrite(tmp_path: Path, capsys):
    args = ["synthetic", "--customers", "50", "--out", str(tmp_path), "--format", "csv", "--months", "3", "--quiet"]
    assert datasets_main(args) == 0
    assert datasets_main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert datasets_main([*args, "--overwrite"]) == 0
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_the_features_cli_reads_a_csv_data_folder(tmp_path: Path, capsys):
    from churnml.features.__main__ import main as features_main

    data = tmp_path / "data"
    assert datasets_main(["synthetic", "--customers", "200", "--out", str(data), "--format", "csv",
                          "--months", "6", "--quiet"]) == 0
    out = tmp_path / "features"
    code = features_main(["--data", str(data), "--cutoff", "2023-05-01", "--out", str(out),
                          "--set", "data.returns=keep", "--set", "features.windows=[7, 30]"])
    assert code == 0, capsys.readouterr().err
    features = pd.read_parquet(out / "features.parquet")
    assert len(features) > 0 and "cst_referred" in features.columns


def test_a_data_folder_holds_one_file_per_table_and_other_files_are_ignored(tmp_path: Path):
    from churnml.errors import ConfigError

    for name in ("transactions.parquet", "customers.csv.gz", "notes.csv", "events.txt"):
        (tmp_path / name).write_text("")
    assert folder_files(tmp_path) == {"transactions": tmp_path / "transactions.parquet",
                                      "customers": tmp_path / "customers.csv.gz"}
    assert folder_files(tmp_path / "missing") == {}
    (tmp_path / "transactions.csv").write_text("")  # which one is current? (it used to be the Parquet, silently)
    with pytest.raises(ConfigError) as err:
        folder_files(tmp_path)
    assert str(err.value) == (f"--data {tmp_path}: transactions.parquet and transactions.csv are there, so which one "
                              "holds the data is not clear; keep one file (or folder) per table in the folder")


def test_the_generator_will_not_write_one_format_beside_the_other(tmp_path: Path, capsys):
    from churnml.datasets.__main__ import main as datasets_main

    data = tmp_path / "data"
    assert datasets_main(["synthetic", "--customers", "20", "--months", "3", "--out", str(data), "--format", "csv",
                          "--quiet"]) == 0
    capsys.readouterr()
    assert datasets_main(["synthetic", "--customers", "20", "--months", "3", "--out", str(data), "--quiet",
                          "--overwrite"]) == 2
    assert f"error: {data} holds transactions.csv, events.csv" in capsys.readouterr().err
    assert sorted(p.suffix for p in data.iterdir()) == [".csv"] * 9


def test_a_data_folder_without_a_required_table_names_the_files_looked_for(tmp_path: Path):
    from churnml.errors import ConfigError

    (tmp_path / "events.parquet").write_text("")
    with pytest.raises(ConfigError, match=r"no transactions\.parquet, transactions\.csv, transactions\.csv\.gz, "
                                          r"transactions/ there"):
        folder_files(tmp_path, required=("events", "transactions"))


# ------------------------------------------------------------------ 4. blank referred_by
# Four customers, each with a first purchase in January 2024 (four new customers that month):
# A was referred by X; B has no referrer (null), C an empty one, D only white space. Referred: A only,
# so cst_referred is 1, 0, 0, 0 and January's referral rate is 1 / 4 = 25%.
CUSTOMERS = pd.DataFrame({
    "customer_id": pd.Series(["A", "B", "C", "D"], dtype="str"),
    "referred_by": pd.Series(["X", None, "", " \t "], dtype="str"),
})
PURCHASES = pd.DataFrame({
    "customer_id": pd.Series(["A", "B", "C", "D"], dtype="str"),
    "timestamp": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-01-09", "2024-01-20"]).astype("datetime64[us]"),
    "amount": [10.0, 20.0, 30.0, 40.0],
})


def _referred_feature(customers: pd.DataFrame) -> dict[str, int]:
    tables = {"transactions": PURCHASES, "customers": customers}
    cutoff = pd.Timestamp("2024-02-01")
    spine = pd.DataFrame({"customer_id": CUSTOMERS["customer_id"], "cutoff": [cutoff] * 4}).astype(
        {"cutoff": "datetime64[us]"})
    plan = plan_features(tables, [cutoff], FeaturesConfig(families=["customers"], windows=[7]))
    feats = compute_features(tables, spine, plan)
    return dict(zip(feats["customer_id"], feats["cst_referred"].astype(int), strict=True))


def _referral_rate(customers: pd.DataFrame) -> float:
    kpis = retention_kpis({"transactions": PURCHASES, "customers": customers}, end="2024-02-01")
    return float(kpis["referral_rate"].iloc[0])


def test_blank_or_null_referred_by_is_not_a_referral_in_the_features():
    assert _referred_feature(CUSTOMERS) == {"A": 1, "B": 0, "C": 0, "D": 0}


def test_blank_or_null_referred_by_is_not_a_referral_in_the_kpis():
    assert _referral_rate(CUSTOMERS) == 25.0


def test_features_and_kpis_agree_on_the_same_customers_after_io():
    customers = read_table("customers", CUSTOMERS.copy())
    assert customers["referred_by"].isna().tolist() == [False, True, True, True]  # io: blank text is missing
    referred = _referred_feature(customers)
    assert referred == {"A": 1, "B": 0, "C": 0, "D": 0}
    assert _referral_rate(customers) == 100.0 * sum(referred.values()) / len(referred)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_counts_the_same_customers_as_referred(spark):
    from churnml import spark as cs

    tables = cs.spark_tables(spark, {"transactions": PURCHASES, "customers": CUSTOMERS})
    cutoff = pd.Timestamp("2024-02-01")
    spine = spark.createDataFrame(pd.DataFrame({"customer_id": CUSTOMERS["customer_id"], "cutoff": [cutoff] * 4})
                                  .astype({"cutoff": "datetime64[us]"}))
    plan = cs.plan_features_spark(tables, [cutoff], FeaturesConfig(families=["customers"], windows=[7]))
    rows = cs.features(spark, tables, spine, plan).select("customer_id", "cst_referred").collect()
    assert {r["customer_id"]: int(r["cst_referred"]) for r in rows} == {"A": 1, "B": 0, "C": 0, "D": 0}
