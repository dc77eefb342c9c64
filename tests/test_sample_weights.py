"""Weighted fits for a training table sampled by class (the Spark path's ``--sample-by class``).

A class-stratified sample keeps every row of the rarer class and a share of
the other; each kept row weighs 1 / P(kept). These tests pin what the weights
must do in the fits, on hand-made data, without Spark.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnml.baselines import baseline_probabilities
from churnml.dataset import TrainingData
from churnml.errors import ModelError
from churnml.model import ChurnModel, check_weights


def _data(table: pd.DataFrame) -> TrainingData:
    return TrainingData(table, plan=None, splits=None, span=None)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ TrainingData
def test_fit_weights_are_none_without_a_weight_column_or_with_equal_weights():
    table = pd.DataFrame({"split": ["train", "train", "test"], "churned": [0, 1, 0]})
    assert _data(table).fit_weights() is None
    assert _data(table.assign(sample_weight=[2.5, 2.5, 1.0])).fit_weights() is None  # uniform sample


def test_fit_weights_are_the_train_rows_weights_scaled_to_mean_one():
    table = pd.DataFrame({"split": ["train", "test", "train", "train", "calibration"],
                          "sample_weight": [1.0, 7.0, 4.0, 1.0, 4.0]})
    np.testing.assert_array_equal(_data(table).fit_weights("train"), [0.5, 2.0, 0.5])  # mean of 1, 4, 1 is 2


def test_representative_rows_are_the_uniform_sample_or_all_rows():
    table = pd.DataFrame({"split": ["train"] * 4, "sample_uniform": [True, False, True, False]})
    data = _data(table)
    assert data.representative(table).index.tolist() == [0, 2]
    assert data.representative(table.drop(columns="sample_uniform")).index.tolist() == [0, 1, 2, 3]


# --------------------------------------------------------------------------------------- the model
@pytest.mark.parametrize(("weight", "match"), [
    ([1.0, 2.0], "one weight per row: 3 rows"),
    ([1.0, np.nan, 2.0], r"1 weights are not finite and positive, e\.g\. \[nan\] at positions \[1\]"),
    ([1.0, 0.0, -1.0], r"2 weights .* at positions \[1, 2\]"),
])
def test_bad_weights_are_refused_with_the_positions(weight, match):
    with pytest.raises(ModelError, match=match):
        check_weights(np.asarray(weight), 3, "sample_weight")


def _world(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """P(churn) is 0.1 where x < 0 and 0.3 where x >= 0."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    y = (rng.uniform(size=n) < np.where(x < 0, 0.1, 0.3)).astype("int8")
    return pd.DataFrame({"x": x}), y


def test_weights_let_the_trees_estimate_the_full_tables_probabilities_from_a_class_sample():
    X, y = _world(40_000, 1)
    keep = (y == 1) | (np.random.default_rng(2).uniform(size=len(y)) < 0.2)  # all churners, 20 % of the rest
    weight = np.where(y[keep] == 1, 1.0, 5.0)
    X_cal, y_cal = _world(10_000, 3)
    grid = pd.DataFrame({"x": [-0.5, 0.5]})
    params = {"min_data_in_leaf": 100, "bagging_fraction": 1.0, "feature_fraction": 1.0}

    def raw_probability(w: np.ndarray | None) -> np.ndarray:
        model = ChurnModel(params=params, num_boost_round=200, early_stopping_rounds=20, calibration="none")
        model.fit(X[keep], y[keep], X_cal=X_cal, y_cal=y_cal, sample_weight=w)
        return model.predict_proba(grid)

    # Unweighted, the sample's rates: 0.1 / (0.1 + 0.9 * 0.2) = 0.357 and 0.3 / (0.3 + 0.7 * 0.2) = 0.682.
    np.testing.assert_allclose(raw_probability(None), [0.357, 0.682], atol=0.03)
    np.testing.assert_allclose(raw_probability(weight), [0.1, 0.3], atol=0.02)


# -------------------------------------------------------------------------------------- baselines
def test_the_weighted_rfm_logistic_regression_equals_the_fit_on_repeated_rows():
    rng = np.random.default_rng(0)
    n = 300
    rows = pd.DataFrame({"rfm_recency_days": rng.integers(1, 400, n), "rfm_days_all": rng.integers(1, 20, n),
                         "rfm_monetary_sum_all": rng.uniform(5, 500, n)})
    rows["churned"] = (rng.uniform(size=n) < rows["rfm_recency_days"] / 400).astype("int8")
    train, cal, test = rows.iloc[:200], rows.iloc[200:250], rows.iloc[250:]
    repeats = rng.integers(1, 4, len(train))  # integer weights: the same fit as the rows repeated
    weighted = baseline_probabilities(train, cal, test, 90, train_weight=repeats.astype("float64"))
    repeated = baseline_probabilities(train.loc[train.index.repeat(repeats)], cal, test, 90)
    unweighted = baseline_probabilities(train, cal, test, 90)
    np.testing.assert_allclose(weighted["rfm_logistic"], repeated["rfm_logistic"], rtol=1e-4)
    assert not np.allclose(weighted["rfm_logistic"], unweighted["rfm_logistic"], rtol=1e-3)
    np.testing.assert_array_equal(weighted["recency"], unweighted["recency"])  # fitted on the calibration rows


# ------------------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def class_sample():
    """A small world's training table marked as a class sample would mark it.

    Every third customer is in the uniform sample (weight 3); the other rows
    are there for their class (weight 1, train cutoffs only). The first train
    cutoff has no uniform row at all, as a small fraction can leave it.
    """
    from churnml.config import load_config
    from churnml.dataset import build_training_data
    from churnml.io import load_tables
    from tests.settings import small_world

    cfg = load_config(None, small_world(400, 14, 30, 30))
    data = build_training_data(load_tables(cfg), cfg)
    t = data.table
    code = pd.Series(pd.factorize(t["customer_id"], sort=True)[0], index=t.index)
    first = t["cutoff"] == data.splits.train[0]
    uniform = (code.mod(3).eq(0) & ~first) | (t["split"] != "train")
    t["sample_uniform"] = uniform.to_numpy()
    t["sample_weight"] = np.where(uniform, 3.0, 1.0)
    return cfg, data


def _spy_fit(monkeypatch) -> list:
    seen: list = []
    fit = ChurnModel.fit

    def spy(self, X, y, **kw):
        seen.append(kw.get("sample_weight"))
        return fit(self, X, y, **kw)

    monkeypatch.setattr(ChurnModel, "fit", spy)
    return seen


def test_training_on_a_class_sample_weighs_the_fits_and_measures_each_cutoff_on_its_uniform_rows(
        class_sample, monkeypatch):
    import churnml.training as training

    cfg, data = class_sample
    t = data.table
    fits = _spy_fit(monkeypatch)
    baseline_weights = []
    baselines = training.baseline_probabilities

    def spy_baselines(*args, **kw):
        baseline_weights.append(kw.get("train_weight"))
        return baselines(*args, **kw)

    monkeypatch.setattr(training, "baseline_probabilities", spy_baselines)
    result = training.fit_and_evaluate(None, cfg, data=data)
    train_w = t.loc[t["split"] == "train", "sample_weight"].to_numpy()
    np.testing.assert_allclose(fits[0], train_w / train_w.mean())
    np.testing.assert_allclose(baseline_weights[0], train_w / train_w.mean())
    rows = t.groupby("cutoff")["sample_uniform"].sum()
    assert rows.iloc[0] == 0 and result.backtest["rows"].tolist() == rows.tolist()
    assert result.backtest["roc_auc"].isna().tolist() == [True] + [False] * (len(rows) - 1)


def test_tuning_on_a_class_sample_weighs_each_trials_fit(class_sample, monkeypatch, tmp_path):
    from churnml.tracking import start_run
    from churnml.tuning import tune

    cfg, data = class_sample
    fits = _spy_fit(monkeypatch)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with start_run(uri, "tune"):
        tune(data, cfg, 1, uri)
    assert len(fits) == 1
    np.testing.assert_allclose(fits[0], data.fit_weights())


# ---------------------------------------------------------------------------------- Spark's sample
def test_the_rarer_class_is_counted_on_the_train_split_only():
    pytest.importorskip("pyspark")
    from churnml.spark.training import _rarer_label

    assert _rarer_label({("train", 1): 30, ("train", 0): 70}) == 1
    assert _rarer_label({("train", 1): 70, ("train", 0): 30, ("test", 0): 1000}) == 0
    assert _rarer_label({("train", 1): 50, ("train", 0): 50}) == 1  # a tie keeps the churners
    assert _rarer_label({("train", 1): 10, ("calibration", 0): 5, ("train", 0): 11}) == 1


def test_a_class_sample_of_everyone_is_refused_before_any_spark_work():
    pytest.importorskip("pyspark")
    from churnml.config import load_config
    from churnml.errors import ConfigError
    from churnml.spark.training import training_data

    with pytest.raises(ConfigError, match="give a sample_fraction below 1"):
        training_data(None, None, load_config(None), 1.0, sample_by="class")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="sample_by must be one of customer, class; got 'label'"):
        training_data(None, None, load_config(None), 0.5, sample_by="label")  # type: ignore[arg-type]
