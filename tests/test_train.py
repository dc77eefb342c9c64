"""End-to-end training on a small synthetic world into a temporary SQLite MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnml.config import load_config
from churnml.dataset import TARGET
from churnml.errors import DataWindowError, ModelError
from churnml.io import load_tables, read_policy
from churnml.model import model_input
from churnml.training import fit_and_evaluate
from tests.settings import small_world

pytestmark = pytest.mark.slow

SETTINGS = small_world(1500, 18, 60, 100)

#: The calibration customers among C000000 .. C000039 at time.calibration_share 0.2 (computed once by hand with
#: hashlib: int(md5("churnml-calibration:" + id).hexdigest()[:8], 16) < 0.2 * 2**32).
PINNED_CALIBRATION_IDS = ["C000000", "C000004", "C000010", "C000013", "C000018", "C000021", "C000024", "C000026",
                          "C000036"]


@pytest.fixture(scope="module")
def cfg():
    return load_config(None, SETTINGS)


@pytest.fixture(scope="module")
def tables(cfg):
    return load_tables(cfg)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cfg):
    from churnml.train import main

    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    argv = [f"--set={s}" for s in SETTINGS] + ["--tracking-uri", uri, "--experiment", "test",
                                                "--description", "why: *baseline* run"]
    assert main(argv) == 0
    return uri


def _client(uri):
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow.MlflowClient()


def test_the_test_predictions_are_logged_and_give_the_logged_metrics(trained, tmp_path):
    """tables/test_predictions.json holds the rows the test metrics were computed on: recomputed from it,
    every model's ROC-AUC and Brier score are the logged ones; no customer ids by default."""
    import json

    from sklearn.metrics import brier_score_loss, roc_auc_score

    client = _client(trained)
    (run,) = client.search_runs([client.get_experiment_by_name("test").experiment_id])
    path = client.download_artifacts(run.info.run_id, "tables/test_predictions.json", str(tmp_path))
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    table = pd.DataFrame(raw["data"], columns=raw["columns"])
    m = run.data.metrics
    assert "customer_id" not in table.columns
    assert len(table) == int(run.data.params["rows_test"])
    assert set(table["cutoff"]) == {run.data.params["cutoff_test"][:10]}
    for name in ("model", "recency", "rfm_logistic", "bgnbd", "subscription_logistic", "historical_rate"):
        p = table[f"p_{name}"].to_numpy(dtype="float64")
        assert roc_auc_score(table["churned"], p) == pytest.approx(m[f"test_{name}_roc_auc"], abs=1e-12)
        assert brier_score_loss(table["churned"], p) == pytest.approx(m[f"test_{name}_brier"], rel=1e-9)


def test_the_resolved_config_loads_as_the_runs_config_and_names_the_data_it_read(trained, tables, cfg, tmp_path):
    from churnml.dataset import build_training_data
    from churnml.fingerprint import fingerprint

    client = _client(trained)
    (run,) = client.search_runs([client.get_experiment_by_name("test").experiment_id])
    path = Path(client.download_artifacts(run.info.run_id, "config/resolved.yaml", str(tmp_path)))
    head = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    span = build_training_data(tables, cfg).span
    digests = ", ".join(f"{t} {fingerprint(getattr(tables, t)).digest}" for t in tables.present())
    assert head[:3] == [
        "# The config of this run: defaults filled in, overrides applied.",
        f"# Data read: from {span.first} to {span.end} (exclusive; inferred: the day after the last transaction).",
        f"# Input tables' digests (the run's datasets): {digests}.",
    ]
    logged = load_config(path)  # the comments are YAML comments: the file is the run's config
    assert (logged.tracking.uri, logged.tracking.experiment) == (trained, "test")  # from the command
    assert logged.model_copy(update={"tracking": cfg.tracking}) == cfg


def test_a_run_logs_the_data_window_metrics_and_artifacts(trained, tables):
    from churnml.fingerprint import fingerprint

    client = _client(trained)
    exp = client.get_experiment_by_name("test")
    (run,) = client.search_runs([exp.experiment_id])
    p, m = run.data.params, run.data.metrics
    for key in ("regime", "horizon_days", "lead_time_days", "cutoff_test", "cutoff_calibration", "cutoffs_train",
                "rows_train", "rows_test", "feature_families", "lgbm_learning_rate", "best_iteration"):
        assert key in p, key
    assert p["horizon_days"] == "60" and p["regime"] == "noncontractual"
    for name in ("model", "recency", "rfm_logistic", "bgnbd", "subscription_logistic", "historical_rate"):
        assert 0.0 <= m[f"test_{name}_roc_auc"] <= 1.0
        assert f"test_{name}_ece" in m and f"test_{name}_brier" in m
    assert m["test_historical_rate_roc_auc"] == pytest.approx(0.5)
    arts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/roc.png", "plots/pr.png", "plots/calibration.png", "plots/gains.png",
            "plots/shap_beeswarm.png", "plots/shap_bar.png"} <= arts
    logged_tables = {a.path for a in client.list_artifacts(run.info.run_id, "tables")}
    assert {"tables/feature_importance.json", "tables/backtest.json"} <= logged_tables
    logged = {(d.dataset.name, [t.value for t in d.tags if t.key == "mlflow.data.context"][0]): d.dataset
              for d in run.inputs.dataset_inputs}
    assert set(logged) == {("synthetic-training", "training"), *((t, "input") for t in tables.present())}
    for name in tables.present():  # each input table by its content: the tables these tests load are the same
        assert logged[name, "input"].digest == fingerprint(getattr(tables, name)).digest, name
        assert json.loads(logged[name, "input"].profile)["num_rows"] == len(getattr(tables, name))
    assert run.data.tags["model_type"] == "lightgbm"
    # what a compare view needs: the settings that change the model or its judging, and what became of it
    assert (p["champion_metric"], p["num_boost_round"], p["min_history_days"], p["evaluation_top_fraction"]) == (
        "roc_auc", "60", "84", "0.1")
    # how the tables were read: the synthetic tables keep returns and repeats (churnml.io.read_policy)
    assert (p["data_returns"], p["data_duplicates"], p["data_timezone"]) == ("keep", "keep", "UTC")
    assert run.data.tags["config_name"] == "default"
    assert run.data.tags["mlflow.note.content"] == "why: *baseline* run"  # --description: the UI's run description
    assert (run.data.tags["registered_version"], run.data.tags["alias"], run.data.tags["promotion"]) == (
        "1", "champion", "no champion yet")
    # no evaluation.value_per_save: no profit curve (its money costs would be weighed against customers)
    assert "plots/profit.png" not in arts and "tables/profit_curve.json" not in logged_tables
    assert "best_k_contacts" not in m


def test_the_logged_model_carries_the_test_metrics_and_not_the_in_sample_backtest(trained):
    """MLflow 3 copies a run's step-0 metrics onto its logged model (the UI's Models tab and model page): they
    are the test cutoff's (the model's and the baselines'), never a backtest cutoff's, whose first are
    in-sample."""
    import mlflow

    client = _client(trained)
    exp = client.get_experiment_by_name("test")
    (run,) = client.search_runs([exp.experiment_id])
    (model,) = mlflow.search_logged_models(experiment_ids=[exp.experiment_id], output_format="list")
    assert model.source_run_id == run.info.run_id
    carried = {m.key: (m.step, m.value) for m in mlflow.get_logged_model(model.model_id).metrics}
    tested = {k: v for k, v in run.data.metrics.items() if k.startswith("test_")}
    assert len(tested) == 6 * 8 and carried == {k: (0, v) for k, v in tested.items()}  # 6 models, 8 metrics
    backtest = {k for k in run.data.metrics if k.startswith("backtest_")}
    assert backtest == {f"backtest_{k}" for k in ("roc_auc", "pr_auc", "lift_top_decile", "precision_top_decile",
                                                  "brier", "log_loss", "ece", "base_rate")}
    assert set(run.data.metrics) == set(tested) | backtest
    assert all(m.model_id is None for m in client.get_metric_history(run.info.run_id, "backtest_roc_auc"))


def test_the_logged_model_is_named_for_what_it_answers_and_its_run_uri_with_model_still_loads_it(trained):
    """The Models tab tells a 60-day model from a 90-day one by name; runs:/ID/model (the URI of models logged
    before they were named) names the run's model too."""
    import mlflow

    from churnml.scoring import load_churn_model
    from churnml.tracking import pin_model

    client = _client(trained)
    exp = client.get_experiment_by_name("test")
    (run,) = client.search_runs([exp.experiment_id])
    (model,) = mlflow.search_logged_models(experiment_ids=[exp.experiment_id], output_format="list")
    assert model.name == "churn-noncontractual-60d"
    rid = run.info.run_id
    assert pin_model(f"runs:/{rid}/model") == (f"runs:/{rid}/churn-noncontractual-60d", None)
    assert pin_model(f"runs:/{rid}/model/MLmodel")[0] == f"runs:/{rid}/churn-noncontractual-60d/MLmodel"
    assert pin_model(f"runs:/{rid}/churn-noncontractual-60d")[0] == f"runs:/{rid}/churn-noncontractual-60d"
    champion = load_churn_model("models:/churnml@champion")
    for uri in (f"runs:/{rid}/churn-noncontractual-60d", f"runs:/{rid}/model"):
        assert load_churn_model(uri).feature_names_ == champion.feature_names_, uri


def test_a_backtest_step_is_its_cutoffs_day_number_and_its_time_the_cutoffs_midnight(trained):
    """Step N is one cutoff date in every run, whatever the horizon or the step between cutoffs: the training
    cutoffs 2023-04-08 (day 19455 since 1970-01-01) to 2024-02-02 every 30 days, the calibration cutoff
    2024-03-03 (19785) and the test cutoff 2024-05-02 (19845); the run's value is the test cutoff's."""
    client = _client(trained)
    (run,) = client.search_runs([client.get_experiment_by_name("test").experiment_id])
    assert (run.data.params["cutoffs_train"].split(",")[0], run.data.params["cutoff_test"][:10]) == (
        "2023-04-08", "2024-05-02")
    history = sorted(client.get_metric_history(run.info.run_id, "backtest_roc_auc"), key=lambda m: m.step)
    days = [*range(19455, 19756, 30), 19785, 19845]
    assert [(m.step, m.timestamp) for m in history] == [(d, d * 86_400_000) for d in days]
    assert run.data.metrics["backtest_roc_auc"] == history[-1].value


def test_a_run_without_run_name_is_named_for_what_was_trained(trained):
    """Not MLflow's random name: the data source, regime, test horizon and test cutoff (--run-name wins:
    test_train_json_says_what_became_of_the_version_and_promote_false_keeps_it_from_champion)."""
    client = _client(trained)
    (run,) = client.search_runs([client.get_experiment_by_name("test").experiment_id])
    assert run.info.run_name == "synthetic-noncontractual-60d-test-2024-05-02"


def test_a_cutoff_before_1970_has_a_negative_step_and_the_logging_time():
    from churnml.training_log import cutoff_step

    assert [cutoff_step(c) for c in ("1970-01-01", "1969-12-31", "1998-01-01")] == [
        (0, 0), (-1, None), (10227, 10227 * 86_400_000)]


def test_the_profit_curve_needs_the_value_of_a_saved_customer(tables):
    from churnml.evaluate import profit_curve

    cfg = load_config(None, [*SETTINGS, "evaluation.value_per_save=80"])
    result = fit_and_evaluate(tables, cfg)
    y, p = result.y_test, result.test_probabilities["model"]
    expected = profit_curve(y, p, np.full(len(y), 80.0), contact_cost=2.0, offer_cost=10.0, save_rate=0.2)
    pd.testing.assert_frame_equal(result.profit, expected)
    assert result.extra["best_k"] == int(expected["k"][expected["expected_profit"].idxmax()]) > 0


def test_the_first_registered_version_is_champion_and_loads_by_alias(trained, cfg, tables):
    import mlflow

    client = _client(trained)
    version = client.get_model_version_by_alias("churnml", "champion")
    assert client.get_model_version_by_alias("churnml", "challenger").version == version.version
    model = mlflow.pyfunc.load_model("models:/churnml@champion")
    result = fit_and_evaluate(tables, cfg)
    test = result.data.part("test")
    X = model_input(test[result.data.feature_names])
    served = model.predict(X)["churn_probability"].to_numpy()
    assert ((served >= 0) & (served <= 1)).all()
    np.testing.assert_allclose(served, result.model.predict_proba(test[result.data.feature_names]), atol=1e-12)


def test_score_json_and_the_list_name_the_version_the_alias_named(trained, tables, tmp_path, capsys):
    """The list and its companion record the model as a version, not as an alias that moves on; --json gives the
    printed summary as data."""
    from churnml.score import main as score_main

    version = _client(trained).get_model_version_by_alias("churnml", "champion").version
    out = tmp_path / "l.csv"
    argv = [f"--set={s}" for s in SETTINGS if s.startswith("data.")] + [
        "--cutoff", str(tables.transactions["timestamp"].max().date()), "--out", str(out), "--top", "5"]
    assert score_main([*argv, "--tracking-uri", trained, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)  # stdout is the JSON alone
    listed, side = pd.read_csv(out, dtype=str), pd.read_csv(tmp_path / "l.unscored.csv", dtype=str)
    assert set(listed["model"]) == {f"models:/churnml/{version}"} and len(listed) == 5
    assert set(side["model"]) <= {f"models:/churnml/{version}"}
    assert (summary["model"], summary["model_asked"]) == (f"models:/churnml/{version}", "models:/churnml@champion")
    assert (summary["list"], summary["unscored"]) == (str(out), str(tmp_path / "l.unscored.csv"))
    c = summary["counts"]
    assert c["listed"] == 5 and c["listed"] + c["below_cut"] == c["scored"] == c["asked"]
    assert summary["tiers"] == {t: int((listed["risk_tier"] == t).sum()) for t in ("high", "medium", "low")}
    assert summary["value_at_risk"] == pytest.approx(listed["value_at_risk"].astype(float).sum(), abs=0.03)


def test_train_json_says_what_became_of_the_version_and_promote_false_keeps_it_from_champion(tmp_path, capsys):
    from churnml.train import main

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    argv = [f"--set={s}" for s in SETTINGS] + ["--tracking-uri", uri, "--set", "tracking.promote=false", "--json",
                                               "--run-name", "no promotion"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    client = _client(uri)
    run = client.get_run(summary["run_id"])
    assert run.info.run_name == "no promotion"
    assert (summary["version"], summary["alias"], summary["promoted"], summary["model_uri"]) == (
        "1", "challenger", False, "models:/churnml/1")
    assert summary["promotion"] == run.data.tags["promotion"] == (
        "no champion yet; not made champion: tracking.promote is false (python -m churnml.registry promote 1)")
    assert {a: str(v) for a, v in client.get_registered_model("churnml").aliases.items()} == {"challenger": "1"}
    for name, values in summary["metrics"].items():
        for key, value in values.items():
            assert value == run.data.metrics[f"test_{name}_{key}"], (name, key)
    assert summary["test_cutoff"] == run.data.params["cutoff_test"][:10]
    assert summary["test_customers"] == int(run.data.params["rows_test"])


def test_a_model_that_learned_nothing_is_warned_about_and_not_made_champion(tmp_path, capsys, caplog):
    from churnml.train import main

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # no leaf can hold a million rows: no split, one value for everyone
    argv = [f"--set={s}" for s in SETTINGS] + ["--tracking-uri", uri, "--set", "model.params={min_data_in_leaf: 1000000}",
                                               "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["metrics"]["model"]["roc_auc"] == 0.5
    assert (summary["alias"], summary["promoted"], summary["promotion"]) == (
        "challenger", False, "no champion yet; not made champion: it ranks no better than chance (test ROC-AUC 0.5000)")
    assert "the model ranks no better than chance on the test cutoff (ROC-AUC 0.5000" in caplog.text


def test_score_names_the_model_version_it_used_and_a_missing_store_is_an_error(trained, tables, tmp_path, capsys):
    from churnml.score import main as score_main

    client = _client(trained)
    version = client.get_model_version_by_alias("churnml", "champion")
    argv = [f"--set={s}" for s in SETTINGS if s.startswith("data.")] + [
        "--cutoff", str(tables.transactions["timestamp"].max().date()), "--out", str(tmp_path / "l.csv"), "--top", "5"]
    assert score_main([*argv, "--tracking-uri", trained]) == 0
    assert f"model: models:/churnml@champion is version {version.version} (run {version.run_id})\n" in \
        capsys.readouterr().out
    typo = tmp_path / "typo" / "mlflow.db"
    assert score_main([*argv, "--tracking-uri", f"sqlite:///{typo}", "--overwrite"]) == 2
    assert f"no MLflow store at {typo} (nothing was trained into it" in capsys.readouterr().err
    assert not typo.parent.exists()  # MLflow made an empty store there before


def test_a_store_or_artifact_folder_that_cannot_be_written_is_refused_before_the_fit(tmp_path, monkeypatch, capsys):
    from churnml import train

    def no_fit(*args, **kwargs):
        raise AssertionError("the model was fitted")

    monkeypatch.setattr(train, "fit_and_evaluate", no_fit)
    (tmp_path / "afile").touch()
    assert train.main(["--tracking-uri", f"sqlite:///{tmp_path / 'afile' / 'x.db'}"]) == 2
    assert capsys.readouterr().err.startswith(  # at once: MLflow took minutes of retries to say so
        f"error: tracking: cannot create the MLflow store sqlite:///{tmp_path / 'afile' / 'x.db'}: cannot write "
        f"{tmp_path / 'afile' / 'x.db'} (File exists); fix: give a file in a folder you can write")
    work = tmp_path / "work"
    work.mkdir()
    (work / "mlruns").touch()  # a new experiment keeps its artifacts in ./mlruns: here a file, not a folder
    monkeypatch.chdir(work)
    assert train.main(["--tracking-uri", f"sqlite:///{work / 'm.db'}"]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: tracking: experiment 'churnml' keeps its artifacts (plots, tables, the model) in {work / 'mlruns'}/1, "
        "which cannot be written (Not a directory); fix: make that folder writable")
    # a data error ends before the store is opened: nothing is left in the working folder
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert train.main(["--set", "data.source=files", "--set", "data.tables.transactions.path=nope.csv"]) == 2
    assert "nope.csv" in capsys.readouterr().err and list(empty.iterdir()) == []


def test_a_run_on_files_logs_each_tables_path(cfg, tables):
    from churnml.training_log import run_params

    result = fit_and_evaluate(tables, cfg)
    files = load_config(None, ["data.source=files", "data.tables.transactions.path=/x/orders.csv",
                               "data.tables.events.path=/x/events.parquet"])
    params = run_params(cfg.model_copy(update={"data": files.data}), result)
    assert {k: v for k, v in params.items() if k.startswith("data_path_")} == {
        "data_path_transactions": "/x/orders.csv", "data_path_events": "/x/events.parquet"}
    assert not [k for k in run_params(cfg, result) if k.startswith("data_path_")]  # synthetic: no files


def test_without_tables_a_run_on_files_logs_each_configured_file_by_its_files(cfg, tables, tmp_path):
    import mlflow

    from churnml.fingerprint import fingerprint
    from churnml.tracking import start_run
    from churnml.training import log_training

    result = fit_and_evaluate(tables, cfg)
    tables.transactions.to_parquet(tmp_path / "tx.parquet")
    tables.events.to_parquet(tmp_path / "events.parquet")
    on_files = cfg.model_copy(deep=True)
    on_files.data = load_config(None, ["data.source=files", f"data.tables.transactions.path={tmp_path / 'tx.parquet'}",
                                       f"data.tables.events.path={tmp_path / 'events.parquet'}"]).data
    on_files.tracking.register_model = False
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    with start_run(uri, "files") as run:
        log_training(result, on_files, run)  # no tables: as the Spark path logs
    logged = {d.dataset.name: d.dataset for d in mlflow.MlflowClient(uri).get_run(run.run_id).inputs.dataset_inputs}
    assert set(logged) == {"synthetic-training", "transactions", "events"}
    for name in ("transactions", "events"):
        assert logged[name].digest == fingerprint(str(tmp_path / f"{name if name == 'events' else 'tx'}.parquet")).digest
        assert json.loads(logged[name].profile) == {"digest_of": "files"}
        assert json.loads(logged[name].source)["uri"] == str(tmp_path / f"{name if name == 'events' else 'tx'}.parquet")


def test_the_logged_model_records_how_its_training_tables_were_read(trained, cfg):
    from churnml.scoring import load_churn_model

    _client(trained)
    model = load_churn_model("models:/churnml@champion")
    assert model.extra_["data_policy"] == {**read_policy(cfg.data), "days": "timezone"}
    assert model.extra_["data_source"] == cfg.data.source == "synthetic"
    # what the source did, not the data section: CDNOW keeps its repeats, generated tables keep both
    assert read_policy(load_config(None, ["data.source=cdnow"]).data) == {"returns": "error", "duplicates": "keep",
                                                                                       "timezone": "UTC"}
    assert read_policy(load_config(None, ["data.source=synthetic"]).data) == {"returns": "keep", "duplicates": "keep",
                                                                                          "timezone": "UTC"}
    files = load_config(None, ["data.source=files", "data.tables.transactions.path=x.csv", "data.returns=drop"])
    assert read_policy(files.data) == {"returns": "drop", "duplicates": "error", "timezone": "UTC"}


def test_a_model_records_where_its_tables_came_from_and_scores_from_python_without_mlflow(cfg, tables, caplog):
    import dataclasses
    import logging

    from churnml.io import data_origin, read_table
    from churnml.scoring import score_customers

    # read by load_tables: the configured bundled source and its policy
    assert data_origin(tables, cfg.data) == ("synthetic", {"returns": "keep", "duplicates": "keep", "timezone": "UTC"})
    # read by the caller with read_table, whatever data.source says: files, read as they were read
    own = dataclasses.replace(tables, transactions=read_table("transactions", tables.transactions,
                                                              returns="keep", duplicates="keep"))
    result = fit_and_evaluate(own, cfg)
    assert result.model.extra_["data_source"] == "files"
    assert result.model.extra_["data_policy"] == {"returns": "keep", "duplicates": "keep", "timezone": "UTC",
                                                  "days": "timezone"}
    assert set(result.model.extra_) >= {"feature_plan", "time", "test_cutoff", "horizon_days"}
    # the fitted model scores as it is (no MLflow round trip): everyone at risk at the test cutoff is accounted for
    scored = score_customers(own, result.model, result.data.splits.test.date().isoformat(), cfg)
    assert len(scored.outreach) + len(scored.unscored) == len(result.data.part("test"))
    # a dict of tables, the default config, one id as text: that one customer, as in the full list
    first = scored.outreach["customer_id"].iloc[0]
    one = score_customers({n: getattr(own, n) for n in own.present()}, result.model,
                          result.data.splits.test.date().isoformat(), None, customers=first)
    assert one.outreach["customer_id"].tolist() == [first]
    assert one.outreach["churn_probability"].iloc[0] == scored.outreach["churn_probability"].iloc[0]
    # built by hand (no record) with a bundled source configured: files, the data section's policy, a warning
    bare = dataclasses.replace(tables, transactions=tables.transactions.copy())
    bare.transactions.attrs.clear()
    with caplog.at_level(logging.WARNING, logger="churnml.io"):
        assert data_origin(bare, cfg.data) == ("files", {"returns": "error", "duplicates": "error", "timezone": "UTC"})
    assert "the tables were not read by churnml.io (read_table or load_tables), and data.source is 'synthetic'" \
        in caplog.text


def test_training_twice_with_the_same_seed_gives_identical_metrics(cfg, tables):
    a, b = fit_and_evaluate(tables, cfg), fit_and_evaluate(tables, cfg)
    assert a.metrics == b.metrics
    pd.testing.assert_frame_equal(a.backtest, b.backtest)


def test_splits_are_by_cutoff_and_never_share_a_customer_cutoff(cfg, tables):
    result = fit_and_evaluate(tables, cfg)
    t = result.data.table
    assert not t.duplicated(["customer_id", "cutoff"]).any()
    by_split = t.groupby("split")["cutoff"].agg(["min", "max"])
    assert by_split.loc["train", "max"] < by_split.loc["calibration", "min"]
    assert by_split.loc["calibration", "max"] < by_split.loc["test", "min"]
    s = result.data.splits
    assert s.calibration + pd.Timedelta(days=s.train_horizon_days) <= s.test  # embargo
    assert set(t[TARGET].unique()) == {0, 1}


def test_the_calibration_customers_are_held_out_of_training_and_everyone_else_is_kept(cfg, tables):
    """The calibration cutoff is one step after the newest training cutoff, so their label windows overlap:
    the calibration split's customers must not be trained on, and no other row may go missing."""
    from churnml.dataset import build_training_data, calibration_customers
    from churnml.labels import make_labels

    data = build_training_data(tables, cfg)
    t, s = data.table, data.splits
    cal, train, test = (set(data.part(x)["customer_id"]) for x in ("calibration", "train", "test"))
    assert cal and train and not cal & train
    everyone = make_labels(tables, [*s.train, s.calibration], cfg.time, horizon_days=s.train_horizon_days)
    held = calibration_customers(everyone["customer_id"], cfg.time.calibration_share)
    at_cal = (everyone["cutoff"] == s.calibration).to_numpy()
    expected = everyone[(at_cal & held) | (~at_cal & ~held)]
    got = t[t["split"] != "test"][["customer_id", "cutoff", TARGET]]
    key = ["cutoff", "customer_id"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  expected[got.columns].sort_values(key).reset_index(drop=True), check_dtype=False)
    at_test = make_labels(tables, [s.test], cfg.time, horizon_days=s.test_horizon_days)
    assert test == set(at_test["customer_id"])  # the test split keeps every customer
    assert 0.1 < len(cal) / at_cal.sum() < 0.3  # about time.calibration_share = 0.2 of 1,500


def test_calibration_customers_are_a_fixed_hash_of_the_id():
    from churnml.dataset import calibration_customers

    ids = pd.Series([f"C{i:06d}" for i in range(100_000)], dtype="str")
    held = calibration_customers(ids, 0.2)
    assert abs(held.mean() - 0.2) < 0.005
    assert held.tolist()[:12] == calibration_customers(ids[:12][::-1], 0.2).tolist()[::-1]  # by id, not position
    # pinned: the same customers in every run and release (md5("churnml-calibration:" + id)[:4] < 0.2 * 2**32)
    assert [i for i, h in zip(ids[:40], held[:40], strict=True) if h] == PINNED_CALIBRATION_IDS
    assert calibration_customers(ids, 0.5)[held].all()  # a larger share keeps the smaller share's customers


def test_a_shorter_training_horizon_moves_every_score_to_one_base_rate_keeping_the_ranking(tables):
    cfg = load_config(None, [*SETTINGS, "time.horizon_days=120", "time.train_horizon_days=60"])
    result = fit_and_evaluate(tables, cfg)
    assert result.data.splits.train_horizon_days == 60 and result.data.splits.test_horizon_days == 120
    base_rate, power = result.extra["horizon_base_rate"], result.extra["horizon_power"]
    assert 0.0 < base_rate < 1.0 and power != 1.0
    for name in ("model", "recency", "rfm_logistic", "subscription_logistic", "historical_rate"):
        assert result.test_probabilities[name].mean() == pytest.approx(base_rate, abs=1e-9), name
    model, X = result.model, result.data.part("test")[result.data.feature_names]
    moved = model.predict_proba(X)
    model.horizon_power_ = 1.0
    learnt = model.predict_proba(X)
    model.horizon_power_ = power
    np.testing.assert_allclose(moved, np.clip(learnt, 1e-6, 1 - 1e-6) ** power, rtol=1e-12)
    assert (np.argsort(moved, kind="stable") == np.argsort(learnt, kind="stable")).all()


def test_a_horizon_longer_than_the_data_is_a_clear_error(tables):
    cfg = load_config(None, [*SETTINGS, "time.horizon_days=900"])
    with pytest.raises(DataWindowError, match="longest horizon that fits|no matured label window"):
        fit_and_evaluate(tables, cfg)


def test_too_few_customers_is_a_clear_error(tables):
    cfg = load_config(None, [*SETTINGS, "model.min_rows=100000"])
    with pytest.raises(ModelError, match="fewer than model.min_rows"):
        fit_and_evaluate(tables, cfg)
    # a calibration split too small for its share names the share
    few = load_config(None, [*SETTINGS, "time.calibration_share=0.01"])
    with pytest.raises(ModelError, match=r"the calibration split has \d+ customer-cutoff rows \(the "
                                         r"time.calibration_share=0.01 of the customers at the calibration cutoff\), "
                                         r"fewer than model.min_rows=100; .* or raise time.calibration_share$"):
        fit_and_evaluate(tables, few)


def test_one_class_labels_are_a_clear_error(tables):
    tx = tables.transactions
    # Everyone buys every day of the last months: nobody churns in any window.
    ids = tx["customer_id"].unique()[:300]
    days = pd.date_range(tx["timestamp"].min().normalize(), tx["timestamp"].max(), freq="D")
    grid = pd.DataFrame({"customer_id": np.repeat(ids, len(days)), "timestamp": np.tile(days, len(ids))})
    grid["timestamp"] = grid["timestamp"].astype("datetime64[us]")
    grid["amount"] = 1.0
    grid["customer_id"] = grid["customer_id"].astype("str")

    class OnlyTx:
        transactions = grid

    cfg = load_config(None, [*SETTINGS, "features.families=[rfm, windowed]"])
    with pytest.raises(ModelError, match="only one label class"):
        fit_and_evaluate(OnlyTx(), cfg)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_mlflow_models_serve_answers_with_probabilities(trained, cfg, tables):
    import json
    import os
    import shutil
    import subprocess
    import sys
    import time
    import urllib.request

    result = fit_and_evaluate(tables, cfg)
    rows = model_input(result.data.part("test")[result.data.feature_names].head(5))
    payload = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split"))}).encode()
    port = _free_port()
    mlflow_bin = shutil.which("mlflow", path=os.path.dirname(sys.executable)) or "mlflow"
    # mlflow starts uvicorn by name: the virtualenv's bin folder must be on PATH.
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": trained, "MLFLOW_DISABLE_TELEMETRY": "true"}
    proc = subprocess.Popen(
        [mlflow_bin, "models", "serve", "-m", "models:/churnml@champion", "--env-manager", "local",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("mlflow models serve did not come up on loopback within 120 s")
                time.sleep(1)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=payload, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = json.loads(resp.read())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    served = [row["churn_probability"] for row in body["predictions"]]
    expected = result.model.predict_proba(result.data.part("test")[result.data.feature_names].head(5))
    np.testing.assert_allclose(served, expected, atol=1e-9)


def test_tuning_keeps_min_data_in_leaf_to_a_fifth_of_the_training_rows():
    from churnml.tuning import _space

    class Trial:  # records the ranges asked for, answers their lower end
        asked: dict = {}

        def suggest_int(self, name, low, high, log=False):
            self.asked[name] = (low, high)
            return low

        def suggest_float(self, name, low, high, log=False):
            return low

        def suggest_categorical(self, name, choices):
            return choices[0]

    trial = Trial()
    _space(trial, 100_000)
    assert trial.asked["min_data_in_leaf"] == (50, 1000)
    _space(trial, 840)  # 168: a leaf of 1000 rows could never split 840
    assert trial.asked["min_data_in_leaf"] == (50, 168)
    _space(trial, 100)
    assert trial.asked["min_data_in_leaf"] == (20, 20)


def test_tuning_logs_each_trial_as_a_nested_run(tmp_path):
    from churnml.train import main

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    argv = [f"--set={s}" for s in SETTINGS] + ["--set=tracking.register_model=false", "--tracking-uri", uri,
                                                "--set=evaluation.top_fraction=0.2",
                                                "--experiment", "tune", "--tune", "2"]
    assert main(argv) == 0
    client = _client(uri)
    runs = client.search_runs([client.get_experiment_by_name("tune").experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    trials = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(trials) == 2
    assert all(t.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for t in trials)
    assert all("calibration_log_loss" in t.data.metrics for t in trials)
    assert all("calibration_lift_top_20pct" in t.data.metrics for t in trials)  # evaluation.top_fraction
    assert parents[0].data.params["tuning_trials"] == "2"
    assert sorted(t.data.tags["tuning_trial"] for t in trials) == ["0", "1"]
    assert {(t.data.tags["dataset"], t.data.tags["regime"], t.data.tags["calibration_horizon_days"]) for t in trials} \
        == {("synthetic", "noncontractual", "60")}
    # trials log LightGBM's settings under the parent's names (lgbm_*, defaults included): one compare view
    lgbm = {k for k in parents[0].data.params if k.startswith("lgbm_")}
    assert all({k for k in t.data.params if k.startswith("lgbm_")} == lgbm for t in trials)
    best = min(trials, key=lambda t: t.data.metrics["calibration_log_loss"])
    assert {k: parents[0].data.params[k] for k in lgbm} == {k: best.data.params[k] for k in lgbm}


def test_a_logged_table_has_its_rows_types_and_content_digest_without_mlflows_schema_hint(tmp_path, recwarn):
    import mlflow

    from churnml.fingerprint import fingerprint
    from churnml.tracking import RunLogger

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'm.db'}")
    exp = mlflow.MlflowClient().create_experiment("hint")  # not the active experiment of an earlier test's store
    frame = pd.DataFrame({"win_orders_30d": np.array([0, 2], dtype="int32"), "churned": np.array([1, 0], dtype="int8"),
                          "rfm_recency_days": [3.5, np.nan]})
    with mlflow.start_run(experiment_id=exp) as run:
        digest = RunLogger(run.info.run_id).dataset(frame, name="train", context="training")
    hints = [w for w in recwarn if "Inferred schema contains integer" in str(w.message)]
    assert hints == []
    (logged,) = mlflow.MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
    assert (logged.dataset.name, logged.dataset.digest, digest) == ("train", fingerprint(frame).digest, digest)
    assert [t.value for t in logged.tags if t.key == "mlflow.data.context"] == ["training"]
    assert json.loads(logged.dataset.profile) == {"digest_of": "rows", "num_rows": 2, "num_elements": 6}
    assert json.loads(logged.dataset.schema)["mlflow_colspec"] == [
        {"type": "integer", "name": "win_orders_30d", "required": True},
        {"type": "integer", "name": "churned", "required": True},
        {"type": "double", "name": "rfm_recency_days", "required": False}]


def test_the_same_rows_read_from_another_file_keep_their_digest_and_the_run_records_its_own_file(tmp_path):
    """MLflow keeps one dataset per name and digest in an experiment, with the first run's source: the second
    run's dataset names the first file, and its input's source tag names its own."""
    import mlflow

    from churnml.tracking import RunLogger

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'm.db'}")
    exp = mlflow.MlflowClient().create_experiment("two-files")
    frame = pd.DataFrame({"customer_id": ["A", "B"], "amount": [1.0, 2.0]})
    logged = []
    for path in ("october/tx.csv", "november/tx.csv"):
        with mlflow.start_run(experiment_id=exp) as run:
            RunLogger(run.info.run_id).dataset(frame, name="transactions", context="input", path=str(tmp_path / path))
        (used,) = mlflow.MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
        logged.append((used.dataset.digest, json.loads(used.dataset.source)["uri"],
                       {t.key: t.value for t in used.tags}))
    first, second = str(tmp_path / "october/tx.csv"), str(tmp_path / "november/tx.csv")
    assert logged[0] == (logged[1][0], first, {"mlflow.data.context": "input", "source": first})
    assert logged[1][1:] == (first, {"mlflow.data.context": "input", "source": second})  # MLflow's record: the first


def test_the_recency_rule_ranks_recency_within_its_cutoff_so_a_later_cutoff_keeps_its_order():
    """The rank among the cutoff's rows, 0 (most recent) to 1, ties at their mean rank, mapped to a probability by
    the standardised logistic regression of the calibration rows' labels on their ranks. At the test cutoff
    everyone is silent longer than anyone at calibration: in days (as before) an isotonic fit gave them one
    probability."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from churnml.baselines import baseline_probabilities

    def rows(cutoff, recency, churned):
        return pd.DataFrame({"cutoff": pd.Timestamp(cutoff), "rfm_recency_days": recency,
                             "rfm_days_all": 1, "rfm_monetary_sum_all": 10.0, "churned": churned})

    train = rows("2024-01-01", [5.0, 50.0, 9.0, 70.0], [0, 1, 0, 1])
    cal = rows("2024-02-01", [10.0, 20.0, 30.0, 40.0, 25.0], [0, 1, 0, 1, 1])
    test = pd.concat([rows("2024-09-01", [500.0, 600.0, 700.0, 600.0, np.nan], [0, 0, 1, 1, 1]),
                      rows("2024-10-01", [999.0], [1])], ignore_index=True)
    got = baseline_probabilities(train, cal, test, 90)["recency"]
    cal_ranks = [0.0, 0.25, 0.75, 1.0, 0.5]  # 10, 20, 30, 40, 25 among five rows
    # 2024-09-01: 500 -> 0, the two 600s -> mean rank 1.5 of 0..4 -> 3/8, 700 -> 3/4, no purchase -> 1 (after every
    # purchase); the lone row of 2024-10-01 -> 1/2
    test_ranks = [0.0, 3 / 8, 3 / 4, 3 / 8, 1.0, 0.5]
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=42))
    lr.fit(np.array(cal_ranks)[:, None], cal["churned"].to_numpy())
    np.testing.assert_allclose(got, lr.predict_proba(np.array(test_ranks)[:, None])[:, 1], rtol=1e-12)
    assert got[0] < got[1] == got[3] < got[5] < got[2] < got[4]  # the rule's order, ties kept
    # calibration rows where the longest silent churned least: the rule does not hold there, and is not reversed
    backwards = cal.assign(churned=[1, 1, 0, 0, 0])
    flat = baseline_probabilities(train, backwards, test, 90)["recency"]
    np.testing.assert_array_equal(flat, np.full(len(test), 0.4))


def test_a_subscriber_who_never_bought_is_the_longest_recency_to_the_regression_and_last_to_the_rule():
    from churnml.baselines import baseline_probabilities

    def rows(recency, days, spend, churned):
        return pd.DataFrame({"rfm_recency_days": recency, "rfm_days_all": days, "rfm_monetary_sum_all": spend,
                             "churned": churned})

    nan = np.nan  # no purchase before the cutoff: recency missing, 0 purchase days and spend
    train = rows([5.0, 40.0, 90.0, 200.0, nan, 10.0], [6, 3, 2, 1, 0, 4], [60.0, 30.0, 20.0, 5.0, 0.0, 50.0],
                 [0, 0, 1, 1, 1, 0])
    cal = rows([8.0, nan, 250.0, 30.0], [5, 0, 1, 2], [40.0, 0.0, 9.0, 25.0], [0, 1, 1, 0])
    test = rows([nan, 20.0, 400.0], [0, 3, 1], [0.0, 35.0, 8.0], [1, 0, 1])
    got = baseline_probabilities(train, cal, test, 90)
    # the regression: 250, the longest recency of the rows it is fitted on (training and calibration); not the
    # test's 400
    filled = baseline_probabilities(*(f.fillna({"rfm_recency_days": 250.0}) for f in (train, cal, test)), 90)
    np.testing.assert_array_equal(got["rfm_logistic"], filled["rfm_logistic"])
    # the recency rule ranks no purchase after every purchase of its cutoff
    last = baseline_probabilities(*(f.fillna({"rfm_recency_days": 1e9}) for f in (train, cal, test)), 90)
    np.testing.assert_array_equal(got["recency"], last["recency"])
    assert np.isfinite(got["recency"]).all() and np.isfinite(got["rfm_logistic"]).all()
    never = [f.assign(rfm_recency_days=nan) for f in (train, cal)]
    assert set(baseline_probabilities(*never, test, 90)) == {"historical_rate"}  # left out, with a warning


def test_the_subscription_baseline_is_a_logistic_regression_on_what_a_subscription_business_knows():
    """log(1 + x) of the sub_ columns, a missing value at the training median with a flag (only for
    columns missing somewhere in training), the plan one-hot over the training's plans; the same
    standardised regression as the RFM baseline, on the matrix built here by hand."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from churnml.baselines import baseline_probabilities

    def rows(months, renewal, mrr, plan, churned):
        return pd.DataFrame({"sub_months_since_first": months, "sub_days_to_renewal": renewal, "sub_mrr": mrr,
                             "sub_plan": pd.Categorical(plan), "churned": churned})

    nan = np.nan
    train = rows([1.0, 3.0, 12.0, 0.0, 7.0, 24.0], [20.0, 3.0, nan, 29.0, 10.0, 1.0],
                 [10.0, 10.0, 30.0, 10.0, 30.0, 30.0], ["basic", "basic", "pro", "basic", None, "pro"],
                 [1, 1, 0, 1, 0, 0])
    cal = rows([2.0, 5.0], [4.0, 9.0], [10.0, 30.0], ["basic", "pro"], [1, 0])
    test = rows([4.0, 0.0, 30.0], [nan, 15.0, 2.0], [nan, 10.0, 30.0], ["team", "basic", "pro"], [0, 1, 0])
    got = baseline_probabilities(train, cal, test, 90)
    assert set(got) == {"subscription_logistic", "historical_rate"}  # no rfm, no btyd columns here
    renewal_median = np.median(np.log1p([20.0, 3.0, 29.0, 10.0, 1.0]))  # log1p(10): the training median
    x_train = np.array([
        # months, renewal, mrr, renewal missing, basic, pro
        [np.log1p(1), np.log1p(20), np.log1p(10), 0, 1, 0],
        [np.log1p(3), np.log1p(3), np.log1p(10), 0, 1, 0],
        [np.log1p(12), renewal_median, np.log1p(30), 1, 0, 1],
        [np.log1p(0), np.log1p(29), np.log1p(10), 0, 1, 0],
        [np.log1p(7), np.log1p(10), np.log1p(30), 0, 0, 0],  # no plan: no one-hot
        [np.log1p(24), np.log1p(1), np.log1p(30), 0, 0, 1],
    ])
    mrr_median = (np.log1p(10.0) + np.log1p(30.0)) / 2  # median of log1p([10, 10, 30, 10, 30, 30])
    x_test = np.array([
        [np.log1p(4), renewal_median, mrr_median, 1, 0, 0],  # plan "team" unseen: no one-hot; mrr never flagged
        [np.log1p(0), np.log1p(15), np.log1p(10), 0, 1, 0],
        [np.log1p(30), np.log1p(2), np.log1p(30), 0, 0, 1],
    ])
    assert renewal_median == pytest.approx(np.log1p(10.0))
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=42))
    lr.fit(x_train, train["churned"].to_numpy())
    np.testing.assert_allclose(got["subscription_logistic"], lr.predict_proba(x_test)[:, 1], rtol=1e-12)
    # newest subscribers churn most here, and the model says so
    assert got["subscription_logistic"][1] > got["subscription_logistic"][2]


def test_a_category_level_not_seen_in_training_is_scored_as_missing(recwarn):
    import warnings

    from churnml.model import ChurnModel

    rng = np.random.default_rng(1)
    n = 400
    plan = rng.choice(["basic", "pro"], n)
    X = pd.DataFrame({"a": rng.normal(size=n), "plan": pd.Categorical(plan)})
    y = ((X["a"] + (plan == "pro") + rng.normal(size=n)) > 0.5).astype(int).to_numpy()
    model = ChurnModel(params={"min_data_in_leaf": 5}, num_boost_round=10).fit(X, y, X_cal=X, y_cal=y)
    rows = pd.DataFrame({"a": [0.3, 0.3, 0.3, 0.3], "plan": ["max", None, "pro", "basic"]})
    warnings.simplefilter("error")  # pandas deprecates a Categorical built from values outside its levels
    got = model.predict_proba(rows)
    assert got[0] == got[1]  # the new plan "max" reads as missing
    assert got[2] != got[1] and got[3] != got[1]


def test_a_champion_trained_on_other_features_is_re_scored_on_its_own(trained, cfg, tables):
    from dataclasses import replace

    from churnml.errors import ModelError
    from churnml.evaluate import champion_metric_key
    from churnml.training_log import champion_scorer

    client = _client(trained)
    version = client.get_model_version_by_alias("churnml", "champion").version
    logged = float(client.get_model_version("churnml", version).tags["test_roc_auc"])
    data = fit_and_evaluate(tables, cfg).data
    metric = champion_metric_key("roc_auc", 0.1)
    uri = f"models:/churnml/{version}"
    assert champion_scorer(data, metric, 0.1, tables)(uri) == pytest.approx(logged, abs=1e-6)
    # a run without the champion's columns (another plan) computes them from the tables with its plan
    lacking = replace(data, table=data.table.drop(columns=["rfm_recency_days", "btyd_p_alive"]))
    assert champion_scorer(lacking, metric, 0.1, tables)(uri) == pytest.approx(logged, abs=1e-6)
    with pytest.raises(ModelError, match=r"trained on 2 feature\(s\) this run did not compute \(e\.g\. "
                                         r"\['rfm_recency_days', 'btyd_p_alive'\]\)"):
        champion_scorer(lacking, metric, 0.1, None)(uri)


def test_the_served_model_needs_every_column_and_takes_missing_values(trained, cfg, tables):
    import mlflow
    from mlflow.exceptions import MlflowException

    _client(trained)
    model = mlflow.pyfunc.load_model("models:/churnml@champion")
    inputs = model.metadata.get_input_schema()
    assert all(spec.required for spec in inputs.inputs)
    data = fit_and_evaluate(tables, cfg).data
    X = model_input(data.part("test")[data.feature_names].head(20))
    text = [c for c in X.columns if X[c].dtype == object][0]
    gaps = X.assign(rfm_recency_days=np.nan, **{text: None})
    got = model.predict(gaps, params={"top_k": 0})["churn_probability"]
    assert got.notna().all() and len(got) == 20
    with pytest.raises(MlflowException, match=r"Model is missing inputs \['rfm_recency_days'\]"):
        model.predict(X.drop(columns=["rfm_recency_days"]))
    for top_k in (0, 3):  # an empty batch gives an empty answer (LightGBM refuses empty input)
        empty = model.predict(X.iloc[:0], params={"top_k": top_k})
        assert empty.empty and "churn_probability" in empty.columns
    # the pins of the logged environment: the versions that trained it
    from importlib.metadata import version

    from churnml.tracking.runs import _pip_requirements
    assert f"lightgbm=={version('lightgbm')}" in _pip_requirements()


def test_with_a_lead_time_the_bgnbd_baseline_scores_the_label_window_not_the_next_days(tables):
    """Labels count purchases in [c + lead, c + lead + H); BG/NBD's baseline must answer that question."""
    from churnml.features.btyd import p_no_purchase

    cfg = load_config(None, [*SETTINGS, "time.lead_time_days=30"])
    result = fit_and_evaluate(tables, cfg)
    test = result.data.part("test")
    got = result.test_probabilities["bgnbd"]
    window = p_no_purchase(test, 60, 30).to_numpy()
    np.testing.assert_allclose(got, window, rtol=1e-12)
    next_days = test["btyd_p_no_purchase_60d"].to_numpy()  # the feature: the 60 days right after the cutoff
    assert (window >= next_days - 1e-12).all() and (window > next_days + 1e-3).mean() > 0.5  # drop-outs in the lead
    np.testing.assert_allclose(p_no_purchase(test, 60, 0).to_numpy(), next_days, rtol=1e-9)


def test_with_a_lead_time_the_bgnbd_baseline_reuses_the_families_fit_at_the_test_cutoff(tables, monkeypatch):
    from churnml.baselines import _bgnbd
    from churnml.btyd import BGNBD
    from churnml.dataset import build_training_data
    from churnml.features.btyd import p_no_purchase

    data = build_training_data(tables, load_config(None, [*SETTINGS, "time.lead_time_days=30"]))
    test, fitted = data.part("test"), data.bgnbd[data.splits.test]
    expected = p_no_purchase(test, 60, 30, fitted).to_numpy()

    def no_refit(self, *args, **kwargs):
        raise AssertionError("BG/NBD fitted again at the test cutoff")

    monkeypatch.setattr(BGNBD, "fit", no_refit)
    np.testing.assert_array_equal(_bgnbd(test, 60, 30, fitted), expected)


def test_the_bgnbd_baseline_is_left_out_with_the_reason_when_a_test_row_has_no_probability(caplog):
    from churnml.baselines import _bgnbd

    def rows(p, recency):
        return pd.DataFrame({"btyd_p_no_purchase_90d": p, "rfm_recency_days": recency})

    np.testing.assert_array_equal(_bgnbd(rows([0.2, 0.7], [5.0, 40.0]), 90, 0), [0.2, 0.7])
    caplog.set_level("WARNING", logger="churnml.baselines")
    assert _bgnbd(rows([0.2, np.nan], [5.0, np.nan]), 90, 0) is None  # a subscriber who never bought
    assert "baseline bgnbd left out: 1 of the 2 test rows have no purchase before the cutoff" in caplog.text
    caplog.clear()
    assert _bgnbd(rows([np.nan, np.nan], [5.0, 40.0]), 90, 0) is None  # buyers without a value: no fit
    assert "baseline bgnbd left out: BG/NBD could not be fitted at the test cutoff" in caplog.text
    assert _bgnbd(pd.DataFrame({"rfm_recency_days": [5.0]}), 90, 0) is None  # no btyd family: nothing to say


def test_with_a_lead_time_the_horizon_move_takes_bgnbds_rates_of_the_label_windows(tables):
    from scipy.special import expit, logit

    from churnml.features.btyd import mean_p_no_purchase, p_no_purchase

    cfg = load_config(None, [*SETTINGS, "time.train_horizon_days=30", "time.lead_time_days=14"])
    result = fit_and_evaluate(tables, cfg)
    data = result.data
    cal, test = data.part("calibration"), data.part("test")
    # both levels come from the btyd family's BG/NBD, fitted on everyone at risk at its cutoff: at the calibration
    # cutoff it gave the calibration customers their feature column, and it is not a fit on them alone
    at_cal, at_test = data.bgnbd[data.splits.calibration], data.bgnbd[data.splits.test]
    np.testing.assert_allclose(p_no_purchase(cal, 60, 0, at_cal), cal["btyd_p_no_purchase_60d"], rtol=1e-9)
    assert np.abs(p_no_purchase(cal, 60, 0) - cal["btyd_p_no_purchase_60d"]).max() > 1e-4
    q_h, q_H = mean_p_no_purchase(cal, 30, 14, at_cal), mean_p_no_purchase(test, 60, 14, at_test)
    assert q_H == pytest.approx(mean_p_no_purchase(test, 60, 14), rel=1e-9)  # the test rows are everyone at risk
    assert q_H > mean_p_no_purchase(test, 60, 0)  # the window after the lead, not the 60 days after the cutoff
    expected = float(expit(logit(q_H) + logit(cal[TARGET].mean()) - logit(q_h)))
    assert result.extra["horizon_base_rate"] == pytest.approx(expected, rel=1e-12)


def test_the_console_table_keeps_its_columns_under_the_headers_for_long_baseline_names():
    from types import SimpleNamespace

    from churnml.train import _summary

    scores = {"roc_auc": 0.75, "pr_auc": 0.5, "lift_top_decile": 2.0, "brier": 0.2, "ece": 0.03, "base_rate": 0.25}
    data = SimpleNamespace(splits=SimpleNamespace(test=pd.Timestamp("2024-07-01"), test_horizon_days=60),
                           part=lambda name: [0] * 8)
    result = SimpleNamespace(metrics={"model": scores, "subscription_logistic": scores}, data=data)
    head, header, *rows = _summary(result, None).splitlines()  # type: ignore[arg-type]
    assert head == "test cutoff 2024-07-01, horizon 60 days, 8 customers, churn rate 25.00%"
    ends = [i + 1 for i, ch in enumerate(header) if ch != " " and (i + 1 == len(header) or header[i + 1] == " ")]
    for row in rows:
        assert len(row) == len(header)
        assert [i + 1 for i, ch in enumerate(row) if ch != " " and (i + 1 == len(row) or row[i + 1] == " ")][1:] \
            == ends  # each number ends where its header ends
    assert rows[1].startswith("subscription_logistic ")


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_a_command_stopped_by_a_signal_marks_its_run_killed_and_ends_with_one_line(signum, tmp_path, capsys):
    import argparse
    import os
    import signal

    import mlflow

    from churnml.cli import run
    from churnml.tracking import start_run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    started: list[str] = []

    def job(args: argparse.Namespace) -> int:
        with start_run(uri, "stopped") as logger:
            started.append(logger.run_id)
            os.kill(os.getpid(), getattr(signal, signum))  # a scheduler stopping the job mid-run
            raise AssertionError("the signal stops the command before this line")

    parser = argparse.ArgumentParser()
    parser.add_argument("--debug", action="store_true")
    assert run(job, parser, []) == 128 + getattr(signal, signum)
    assert capsys.readouterr().err == (f"error: stopped by {signum}: any MLflow run it started is marked KILLED, "
                                       "and the files churnml writes are replaced only whole\n")
    assert mlflow.MlflowClient(uri).get_run(started[0]).info.status == "KILLED"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is the command's only
