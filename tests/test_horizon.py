"""Moving probabilities from the training horizon to the asked one (churnml.horizon)."""

from __future__ import annotations

import numpy as np
import pytest

from churnml.errors import ModelError
from churnml.horizon import horizon_power, to_horizon


def test_the_exponent_is_found_from_the_target_mean() -> None:
    # sqrt(0.25) = 0.5 and sqrt(0.64) = 0.8: mean 0.65 is reached by g = 0.5
    assert horizon_power(np.array([0.25, 0.64]), 0.65) == pytest.approx(0.5, abs=1e-9)


def test_a_constant_rate_customer_gets_exactly_the_longer_horizons_probability() -> None:
    # P(no purchase in h) = exp(-rate * h); the asked horizon is 3 h
    rate, h = 0.01, 40.0
    p_h = np.array([np.exp(-rate * h)])
    g = horizon_power(p_h, float(np.exp(-rate * 3 * h)))
    assert g == pytest.approx(3.0, rel=1e-9)
    assert to_horizon(p_h, g)[0] == pytest.approx(np.exp(-rate * 3 * h), rel=1e-9)


def test_moving_keeps_the_ranking_and_lands_on_the_base_rate() -> None:
    p = np.random.default_rng(0).uniform(0.05, 0.95, 1_000)
    moved = to_horizon(p, horizon_power(p, 0.3))
    assert moved.mean() == pytest.approx(0.3, abs=1e-9)
    assert (np.argsort(moved, kind="stable") == np.argsort(p, kind="stable")).all()


def test_certain_churners_move_least() -> None:
    p = np.array([0.2, 0.5, 0.99])
    moved = to_horizon(p, horizon_power(p, 0.4))
    drop = p - moved
    assert drop[2] < drop[1] and drop[2] < 0.02


def test_the_target_mean_itself_needs_no_move() -> None:
    p = np.array([0.1, 0.4, 0.7])
    assert horizon_power(p, float(p.mean())) == pytest.approx(1.0, abs=1e-9)
    assert (to_horizon(p, 1.0) == p).all()


@pytest.mark.parametrize("target", [0.0, 1.0, -0.1, float("nan")])
def test_an_impossible_base_rate_is_a_clear_error(target: float) -> None:
    with pytest.raises(ModelError, match="target base rate"):
        horizon_power(np.array([0.3, 0.6]), target)


def test_no_probabilities_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="no probabilities"):
        horizon_power(np.array([]), 0.5)


def test_probabilities_stuck_at_certain_churn_make_a_low_base_rate_an_error_naming_them() -> None:
    p = np.array([1 - 1e-6] * 4 + [0.2] * 6)  # 40 % cannot move below about 0.85
    with pytest.raises(ModelError, match=r"40\.0% at certain churn"):
        horizon_power(p, 0.3)


def test_an_implausible_exponent_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    p = np.array([1 - 1e-6] * 4 + [0.2] * 6)
    with caplog.at_level("WARNING", logger="churnml.horizon"):
        g = horizon_power(p, 0.35)
    assert g > 1_000 and "exponent" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="churnml.horizon"):
        horizon_power(p, 0.5)
    assert caplog.text == ""


def test_a_moved_model_saves_and_loads_with_its_exponent(tmp_path) -> None:
    import json

    import pandas as pd

    from churnml.model import ChurnModel

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    y = (X["a"] + rng.normal(size=400) > 0).astype(int).to_numpy()
    model = ChurnModel(params={"min_data_in_leaf": 5}, num_boost_round=5).fit(X, y, X_cal=X, y_cal=y)
    model.set_horizon_power(X, 0.3)
    assert model.horizon_power_ != 1.0 and model.predict_proba(X).mean() == pytest.approx(0.3, abs=1e-9)
    model.save(tmp_path / "m")
    loaded = ChurnModel.load(tmp_path / "m")
    assert loaded.horizon_power_ == model.horizon_power_
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    meta["format_version"] = 1
    (tmp_path / "m" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="must be retrained"):
        ChurnModel.load(tmp_path / "m")
