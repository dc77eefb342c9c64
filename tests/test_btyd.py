"""Tests of churnml.btyd: summaries, BG/NBD and Gamma-Gamma.

The reference is Fader, Hardie & Lee (2005): on their 1/10 sample of the CDNOW
cohort (2,357 customers) with the 39-week calibration period 1997-01-01 ..
1997-09-30, the BG/NBD estimates are r = 0.243, alpha = 4.414, a = 0.793,
b = 2.426 (log-likelihood -9582.4), and the Gamma-Gamma spend model gives
p = 6.25, q = 3.74, v = 15.44 on the 946 customers with a repeat purchase.
"""

from __future__ import annotations

import base64
import logging
import math
import zlib

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from churnml.btyd import BGNBD, GammaGamma, _bgnbd_ll_grad, bgnbd_log_likelihood, summary_at
from churnml.errors import ConfigError, EmptyDataError, ModelError, SchemaError

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}

# Master ids of the published 1/10 sample, as gaps between sorted ids (zlib + base64).
# It is a random sample: no "every tenth id" rule reproduces it (ids = 1 mod 10 fit
# r = 0.247, alpha = 4.677, a = 0.710, b = 2.057).
_SAMPLE_GAPS = (
    "eNodltlyxDoOQ4uLVorUZneSuneq5v+/ctDzlJTdtiTgALSG/Kfb/COizWdS7O6Jc/P0rMm3Non32Wr032CPGEt5y7"
    "+FZ7M71tqX1Dm1/B5+aecT6Zit+cMPzXEul8KBt5R4Y1Mnn1K1zGS9zCHOZUqqvresFH3oojLZsLhqKzUzKe3eyszZ"
    "JLE8bS+x7NeFwtoaM3L8LdFDMxXhdOa95EpiWuwenulvJPrl1am+dUrnKLEIp2i5pKyefT7PWmM9teqrjH3Ryb3WPW"
    "mNkgLvPiqSUmEsvIy7aP7opVSNgp+rT75Gg7JaHS+PIaO7cll8Gmmr5TFu2lTCeB78l1Z89rh0TTtpzJenNYpjPaWj"
    "Nc5y3ZKTVts38bjJ9mctprfkeldL2rA3uVPbOG3cZ1etMxJurIPDxfb8I1J5SOQRDFk6s+vdOmCHJM/Mo5VGhxL0/C"
    "QOmI1LeTPvvHRAS4Wyst5ZE3tOped4d66vbsXB8GNK3iXbD8uvvK3FnImTQPkpHHFDqPR5Rovba5cmpUJPe9aZO2Qv"
    "YED16PmDU2uWnkYpyqtEb1Fn+qS2YlvDvaH/vIsfztbz/MmRXd6xeual4tLfT+NaueahWc/X1DF9uQx4WXuRf3NtPF"
    "VLJixhjBMPUln6WqmRxrFwqLlW67diZfvCyhaZm8zX8Ey9xWm/C7d+a6w3BlEucT+13f0iE2I9CGxgGQ4zPYNuK2n+"
    "20fFsodXnqPMR+knpjHDlVKml9HSFEs7wXFLlqENvCjv1NKK9skAY6r/JvcPWVjW1DeAAeB8j+kvPWtPGR+xVcCrjk"
    "xtplZrTVLI0iw5wNxbQB8inHsHo9lomspADGHMuALExZMHyfF9Npf8AzlTa3m0nW0DlF3q3n7muI4/OmLzUFqWfDzq"
    "sg5eYYPh/V6fvwOPkjqdOzzJKqnkwjlPK5b5RJVcFxAqB5BsnY2zOHztlokTpXWjdKHUhsa/D/Txn49EbeuT/XennB"
    "1tROfQHroh1mF78Jwx8dEkLXxPYO7VW7w++GwPXwMRwTbsybgd2c5QrSV4/SYgQ5oM7t/k6C6uKaUA4FRrbynH0V4p"
    "fvRBLzSFd3BtJASUa+uKzBJ20QYkbTgXjTvXBd8NxxheJh7iNX3EFJoliB2LbeBXV8pdriKId0e+l8Xgaa9oVahr7l"
    "Jt0UMwcYK6Ba5yUNnvme6ELWqViwulJDBdi6Z2Kmcy+pK1u8G1MT9byCD1lFaupfPLfjZwI09zvcVGFNtUbTKFfAa6"
    "/Y+7if+gbVHTk9i+fdrT9AcEETwwFpjLSDtKFK3jm6Ab/NA7aw+7re0zRkFD9iR8TeRdeNNgDfp2CNJ+IlpNkdGBAU"
    "zXg+Y71kxpzt2stGFt5HZ2kKOtRyinWHlF1qrCI/mEqC+h83Yp2f/mRQ699vTAz7WQFvR1ura+LVfquWisYZZKgz53"
    "ci+fWuSfmXUShgv2WRD60PZcGRNoQhHLEqOAs4VLgsGBHfSzsa24e6BzBMNpgKBnfgPTr9YMP7Z6RVDPKng1BieH1/"
    "+z+o2lq6YjH3Azm2+ZaqvVgQasCOHkL5lAvFU5rc+xZcPVb8p+JibwwpA6Ej7cMGvBPSvX0WMhUuZQ67cCBhfRjt4w"
    "DyixIiB+0o7ahJv7W1nn9eLIRm+r2diYko0b74I5wRdE1EGvyRh+ILh0TA6sFCitkSajdFD+BUO5YOyhKgMtdxyDBQ"
    "vuvjQjMvv5McEXhctXAC+V3QNZz/wAohX32wH2Ix9pXKoub7Vr+o6oZznaCaV5eOCToWPLSECgA2xPJD3wTUKE7okz"
    "1zcQvbbpyIfHF4kqsf+8516iFYx2VM7dpgb2pUrDcPg4xmigK1wLPiW0sL5MSPdgiDVQGj5OQqf3rBC5IRkLHyvoJ6"
    "Aq7P8DEmFcEg=="
)


def _sample_ids() -> np.ndarray:
    gaps = np.frombuffer(zlib.decompress(base64.b64decode("".join(_SAMPLE_GAPS))), dtype=np.uint8)
    return np.cumsum(gaps.astype(np.int64))


def _tx(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    ids, times, amounts = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype="str"),
            "timestamp": pd.Series(pd.to_datetime(list(times), format="ISO8601"), dtype="datetime64[us]"),
            "amount": pd.Series(amounts, dtype="float64"),
        }
    )


TINY = [
    ("A", "2024-01-01 09:00", 10.0),
    ("A", "2024-01-01 18:00", 5.0),  # same day: one purchase of 15
    ("A", "2024-01-15 12:00", 20.0),
    ("A", "2024-02-10 08:00", 30.0),
    ("A", "2024-02-10 09:00", -4.0),  # a return: no spend (the day's purchases are 30)
    ("A", "2024-03-01 00:00", 99.0),  # at the cutoff: not history
    ("A", "2024-03-05 10:00", 50.0),
    ("B", "2024-02-29 23:59", 12.0),  # first purchase on the last day of history
    ("C", "2023-12-31 10:00", 8.0),
    ("C", "2024-02-28 10:00", 12.0),
    ("C", "2024-02-28 11:00", 3.0),
    ("D", "2024-03-02 10:00", 7.0),  # no history at all
]
CUTOFF = "2024-03-01"  # the last day of history is 2024-02-29 (a leap year)


@pytest.fixture(scope="module")
def cdnow_sample() -> pd.DataFrame:
    from churnml.datasets.cdnow import load_cdnow  # here, so that only the CDNOW tests need it

    tx = load_cdnow()
    return tx[tx["customer_id"].astype("int64").isin(_sample_ids())]


@pytest.fixture(scope="module")
def cdnow_summary(cdnow_sample: pd.DataFrame) -> pd.DataFrame:
    return summary_at(cdnow_sample, "1997-10-01", unit_days=7.0)


def _fitted(**params: float) -> BGNBD:
    model = BGNBD()
    model.params_ = dict(params)
    return model


def _summary(x: list[float], tx: list[float], T: list[float]) -> pd.DataFrame:
    index = pd.Index([f"c{i}" for i in range(len(x))], name="customer_id", dtype="str")
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T}, index=index)


# --- summary_at -------------------------------------------------------------------------------


def test_summary_counts_purchase_days_and_measures_days_from_the_first_purchase_day() -> None:
    got = summary_at(_tx(TINY), CUTOFF, unit_days=1.0)
    expected = pd.DataFrame(
        {
            "frequency": np.array([2, 0, 1], dtype="int64"),
            "recency": [40.0, 0.0, 59.0],
            "T": [59.0, 0.0, 60.0],
            "monetary_value": [(20.0 + 30.0) / 2, np.nan, 15.0],
        },
        index=pd.Index(["A", "B", "C"], name="customer_id", dtype="str"),
    )
    pd.testing.assert_frame_equal(got, expected)


def test_returns_are_neither_purchase_days_nor_spend_and_a_customer_of_returns_only_has_no_summary() -> None:
    rows = [
        ("E", "2024-01-05 10:00", 10.0),
        ("E", "2024-01-20 10:00", -3.0),  # returns only: no purchase day
        ("E", "2024-02-01 10:00", 6.0),
        ("E", "2024-02-01 11:00", -1.0),  # on a purchase day: no spend either (the CLV is gross of returns)
        ("F", "2024-02-10 10:00", -8.0),  # returns only: no summary row
    ]
    got = summary_at(_tx(TINY + rows), CUTOFF, unit_days=1.0)
    assert got.index.tolist() == ["A", "B", "C", "E"]
    # x = 1 repeat day (Jan 20 is none), t_x = Jan 5 -> Feb 1, T = Jan 5 -> Feb 29, m = the repeat day's purchase 6
    assert got.loc["E"].tolist() == [1, 27.0, 55.0, 6.0]
    with pytest.raises(EmptyDataError, match=r"no purchase \(amount >= 0\) before cutoff .* only returns"):
        summary_at(_tx(rows[-1:]), CUTOFF)


def test_the_summary_is_the_one_the_btyd_features_fit_on_returns_included() -> None:
    from churnml.config import TimeConfig
    from churnml.features import compute_features, plan_features
    from churnml.features.btyd import _buyers, _summary
    from churnml.io import Tables
    from churnml.labels import population

    tx = _tx(TINY + [("E", "2024-01-05 10:00", 10.0), ("E", "2024-01-20 10:00", -3.0),
                     ("E", "2024-02-01 10:00", 6.0), ("F", "2024-02-10 10:00", -8.0)])
    cut = pd.Timestamp(CUTOFF)
    tables = Tables(transactions=tx)
    spine = population(tables, [cut], TimeConfig())
    rows = compute_features(tables, spine, plan_features(tables, [cut]))
    rows = rows[_buyers(rows)]
    from_features = _summary(rows).set_index(rows["customer_id"].astype("str").to_numpy())
    want = summary_at(tx, CUTOFF)[["frequency", "recency", "T"]]
    assert from_features.index.tolist() == want.index.tolist() == ["A", "B", "C", "E"]
    np.testing.assert_allclose(from_features.to_numpy(dtype="float64"), want.to_numpy(dtype="float64"), rtol=1e-12)


def test_summary_in_weeks_divides_the_day_differences_by_seven() -> None:
    days = summary_at(_tx(TINY), CUTOFF, unit_days=1.0)
    weeks = summary_at(_tx(TINY), CUTOFF)
    pd.testing.assert_series_equal(weeks["recency"], days["recency"] / 7.0)
    pd.testing.assert_series_equal(weeks["T"], days["T"] / 7.0)


def test_summary_with_a_start_ignores_purchases_before_it() -> None:
    got = summary_at(_tx(TINY), CUTOFF, unit_days=1.0, start="2024-01-10")
    assert got.loc["A"].tolist() == [1, 26.0, 45.0, 30.0]
    assert got.loc["C", ["frequency", "recency", "T"]].tolist() == [0, 0.0, 1.0]


def test_rows_at_or_after_the_cutoff_never_change_the_summary() -> None:
    base = summary_at(_tx(TINY), CUTOFF)
    later = _tx(TINY + [("A", "2024-03-01 00:00", 5.0), ("B", "2024-06-01", 1.0), ("E", "2025-01-01", 3.0)])
    pd.testing.assert_frame_equal(summary_at(later, CUTOFF), base)


def test_summary_without_history_or_columns_raises_clear_errors() -> None:
    with pytest.raises(EmptyDataError, match="no purchase before cutoff"):
        summary_at(_tx(TINY), "2023-01-01")
    with pytest.raises(SchemaError, match="amount"):
        summary_at(_tx(TINY).drop(columns="amount"), CUTOFF)
    with pytest.raises(ConfigError, match="unit_days"):
        summary_at(_tx(TINY), CUTOFF, unit_days=0)


# --- BG/NBD: likelihood, reference fit --------------------------------------------------------


def test_log_likelihood_of_one_customer_equals_the_formula_evaluated_directly() -> None:
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    x, tx, T = 2, 30.43, 38.86
    beta = math.gamma(a) * math.gamma(b) / math.gamma(a + b)
    common = math.gamma(r + x) * alpha**r / math.gamma(r)
    alive = math.gamma(a) * math.gamma(b + x) / math.gamma(a + b + x) / beta * common / (alpha + T) ** (r + x)
    died = math.gamma(a + 1) * math.gamma(b + x - 1) / math.gamma(a + b + x) / beta * common / (alpha + tx) ** (r + x)
    once = (alpha / (alpha + T)) ** r  # a one-time buyer
    got = bgnbd_log_likelihood(r, alpha, a, b, _summary([x, 0], [tx, 0.0], [T, T]))
    assert got.iloc[0] == pytest.approx(math.log(alive + died), rel=1e-12)
    assert got.iloc[1] == pytest.approx(math.log(once), rel=1e-12)


def test_analytic_gradient_matches_finite_differences() -> None:
    x, tx, T = np.array([0.0, 1, 4, 12]), np.array([0.0, 3.5, 20.0, 30.0]), np.array([10.0, 38, 39, 31])
    theta = np.array([0.4, 3.0, 0.9, 2.0])
    _, grad = _bgnbd_ll_grad(theta, x, tx, T)
    for k in range(4):
        step = np.zeros(4)
        step[k] = 1e-6 * theta[k]
        up, _ = _bgnbd_ll_grad(theta + step, x, tx, T, grad=False)
        down, _ = _bgnbd_ll_grad(theta - step, x, tx, T, grad=False)
        np.testing.assert_allclose(grad[k], (up - down) / (2 * step[k]), rtol=1e-6, atol=1e-8)


def test_cdnow_sample_summary_has_the_published_shape(cdnow_summary: pd.DataFrame) -> None:
    assert len(cdnow_summary) == 2357
    assert int((cdnow_summary["frequency"] > 0).sum()) == 946
    assert cdnow_summary.loc["00004"].tolist() == pytest.approx([2, 213 / 7, 272 / 7, (29.73 + 14.96) / 2])


def test_bgnbd_fit_on_the_cdnow_sample_reproduces_the_published_estimates(cdnow_summary: pd.DataFrame) -> None:
    model = BGNBD().fit(cdnow_summary)
    assert model.converged_
    for name, value in PUBLISHED.items():
        assert round(model.params_[name], 3) == value, name
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)


def test_conditional_expectation_reproduces_the_published_worked_example() -> None:
    # x = 2, t_x = 30.43, T = 38.86 weeks: 1.226 purchases expected in the next 39 weeks.
    got = _fitted(**PUBLISHED).expected_purchases(39.0, _summary([2], [30.43], [38.86]))
    assert got.iloc[0] == pytest.approx(1.226, abs=5e-4)


# --- BG/NBD: P(alive) and P(no purchase) ------------------------------------------------------


def test_one_time_buyers_are_alive_for_sure_and_p_no_purchase_follows_the_formula() -> None:
    r, alpha, a, b = 0.25, 4.0, 0.8, 2.4
    model, s = _fitted(r=r, alpha=alpha, a=a, b=b), _summary([0, 3], [0.0, 10.0], [20.0, 30.0])
    alive = model.p_alive(s).to_numpy()
    odds = a / (b + 3 - 1) * ((alpha + 30) / (alpha + 10)) ** (r + 3)
    assert alive.tolist() == pytest.approx([1.0, 1 / (1 + odds)], rel=1e-12)
    h = 13.0
    quiet = np.array([((alpha + 20) / (alpha + 20 + h)) ** r, ((alpha + 30) / (alpha + 30 + h)) ** (r + 3)])
    np.testing.assert_allclose(model.p_no_purchase(h, s), 1 - alive + alive * quiet, rtol=1e-12)


def test_p_no_purchase_is_a_probability_falling_with_horizon_and_rising_with_lead(
    cdnow_summary: pd.DataFrame,
) -> None:
    model = _fitted(**PUBLISHED)
    curves = np.column_stack([model.p_no_purchase(h, cdnow_summary).to_numpy() for h in (1, 4, 13, 26, 52)])
    assert ((curves >= 0) & (curves <= 1)).all()
    assert (np.diff(curves, axis=1) <= 1e-12).all()
    lead = np.column_stack([model.p_no_purchase(13, cdnow_summary, lead=L).to_numpy() for L in (0, 2, 8)])
    assert (np.diff(lead, axis=1) >= -1e-12).all()


def _simulate(n: int, params: dict[str, float], lead: float, horizon: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Draw BG/NBD customers; return their summary at T and purchase counts in (T+lead, T+lead+horizon]."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    T = rng.uniform(10.0, 39.0, n)
    t, x, tx, later = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        t = t + rng.exponential(1 / lam)
        alive &= t <= T + lead + horizon
        seen, counted = alive & (t <= T), alive & (t > T + lead)
        x[seen] += 1
        tx[seen] = t[seen]
        later[counted] += 1
        alive &= rng.random(n) >= p  # drop out right after a repeat purchase
    return _summary(list(x), list(tx), list(T)), later


@pytest.mark.parametrize("lead", [0.0, 6.0])
def test_on_simulated_customers_the_mean_prediction_matches_the_observed_rate(lead: float) -> None:
    params = {"r": 0.5, "alpha": 3.0, "a": 0.9, "b": 3.0}
    s, later = _simulate(40_000, params, lead, 8.0, seed=7)
    model = _fitted(**params)
    observed = float((later == 0).mean())  # standard error about 0.002
    assert model.population_p_no_purchase(8.0, s, lead) == pytest.approx(observed, abs=0.008)
    assert model.expected_base_rate(8.0, s, lead) == pytest.approx(observed, abs=0.008)
    if lead == 0.0:
        assert model.expected_purchases(8.0, s).mean() == pytest.approx(later.mean(), rel=0.05)


def test_fit_recovers_the_parameters_of_simulated_customers() -> None:
    params = {"r": 0.5, "alpha": 3.0, "a": 0.9, "b": 3.0}
    s, _ = _simulate(30_000, params, 0.0, 1.0, seed=3)
    fitted = BGNBD().fit(s).params_
    for name, value in params.items():
        assert fitted[name] == pytest.approx(value, rel=0.15), name


def test_penalizer_pulls_the_log_parameters_towards_zero(cdnow_summary: pd.DataFrame) -> None:
    free = BGNBD().fit(cdnow_summary).params_
    shrunk = BGNBD(penalizer=0.5).fit(cdnow_summary).params_
    assert sum(math.log(v) ** 2 for v in shrunk.values()) < sum(math.log(v) ** 2 for v in free.values())
    # the reported log-likelihood is the data's, without the penalty
    penalized = BGNBD(penalizer=0.5).fit(cdnow_summary)
    assert penalized.log_likelihood_ == pytest.approx(float(bgnbd_log_likelihood(**shrunk, summary=cdnow_summary).sum()))


def test_bgnbd_follows_the_estimator_contract() -> None:
    model = BGNBD(penalizer=0.1)
    assert clone(model).get_params() == {"penalizer": 0.1}
    s = _summary([0, 2, 1, 5], [0.0, 10.0, 3.0, 20.0], [30.0, 30.0, 25.0, 28.0])
    assert model.fit(s) is model
    assert set(model.params_) == {"r", "alpha", "a", "b"}


def test_bgnbd_raises_clear_errors() -> None:
    with pytest.raises(ModelError, match="repeat purchase"):
        BGNBD().fit(_summary([0, 0], [0.0, 0.0], [5.0, 9.0]))
    with pytest.raises(EmptyDataError, match="no customers"):
        BGNBD().fit(_summary([], [], []))
    with pytest.raises(SchemaError, match="recency <= T"):
        BGNBD().fit(_summary([1], [9.0], [5.0]))
    with pytest.raises(ConfigError, match="penalizer"):
        BGNBD(penalizer=-1.0).fit(_summary([1], [2.0], [5.0]))
    with pytest.raises(ModelError, match="not fitted"):
        BGNBD().p_alive(_summary([1], [2.0], [5.0]))


# --- Gamma-Gamma and CLV ----------------------------------------------------------------------


def test_gamma_gamma_on_the_cdnow_sample_reproduces_the_published_estimates(cdnow_summary: pd.DataFrame) -> None:
    model = GammaGamma().fit(cdnow_summary)
    assert model.n_customers_ == 946
    assert model.params_ == pytest.approx({"p": 6.25, "q": 3.74, "v": 15.44}, abs=0.005)


def test_conditional_spend_weights_the_population_mean_against_the_customer_mean() -> None:
    model = GammaGamma()
    model.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    s = _summary([2, 0], [10.0, 0.0], [30.0, 30.0]).assign(monetary_value=[22.345, np.nan])
    p, q, v = 6.25, 3.74, 15.44
    weight = p * 2 / (p * 2 + q - 1)
    expected = [(1 - weight) * p * v / (q - 1) + weight * 22.345, p * v / (q - 1)]
    np.testing.assert_allclose(model.conditional_expected_spend(s), expected, rtol=1e-12)


def test_clv_discounts_the_purchases_expected_in_each_step() -> None:
    bg = _fitted(**PUBLISHED)
    gg = GammaGamma()
    gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    s = _summary([2, 0], [30.43, 0.0], [38.86, 38.86]).assign(monetary_value=[22.345, np.nan])
    spend = gg.conditional_expected_spend(s).to_numpy()
    e26, e52 = bg.expected_purchases(26.0, s).to_numpy(), bg.expected_purchases(52.0, s).to_numpy()
    np.testing.assert_allclose(gg.clv(bg, s, 52.0, 0.0, step=52.0), spend * e52, rtol=1e-12)
    expected = spend * (e26 / 1.01**26 + (e52 - e26) / 1.01**52)
    np.testing.assert_allclose(gg.clv(bg, s, 52.0, 0.01, step=26.0), expected, rtol=1e-12)


def test_given_alive_leaves_out_p_alive_so_the_last_purchases_date_no_longer_matters() -> None:
    bg = _fitted(**PUBLISHED)
    gg = GammaGamma()
    gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    # two customers alike but for the last purchase: week 38 (P(alive) near 1) and week 2 (near 0); a one-time buyer
    s = _summary([6, 6, 0], [38.0, 2.0, 0.0], [38.86] * 3).assign(monetary_value=[50.0, 50.0, np.nan])
    alive = bg.p_alive(s).to_numpy()
    assert alive[0] > 0.85 and alive[1] < 1e-3 and alive[2] == 1.0
    given = bg.expected_purchases(52.0, s, given_alive=True).to_numpy()
    np.testing.assert_allclose(given * alive, bg.expected_purchases(52.0, s).to_numpy(), rtol=1e-12)
    assert given[0] == given[1]  # given alive, lambda ~ Gamma(r + x, alpha + T) and p ~ Beta(a, b + x): no t_x
    clv = gg.clv(bg, s, 52.0, 0.01, given_alive=True).to_numpy()
    np.testing.assert_allclose(clv * alive, gg.clv(bg, s, 52.0, 0.01).to_numpy(), rtol=1e-12)
    assert clv[0] == clv[1] > 0


def test_gamma_gamma_needs_repeat_buyers() -> None:
    s = _summary([0, 0, 1], [0.0, 0.0, 2.0], [5.0, 9.0, 9.0]).assign(monetary_value=[np.nan, np.nan, 10.0])
    with pytest.raises(ModelError, match="repeat purchase"):
        GammaGamma().fit(s)


def test_btyd_features_leave_customers_without_a_purchase_out_of_the_fit(cdnow_summary: pd.DataFrame) -> None:
    """A spine customer with no purchase (a subscriber who never bought) gets NaN, and the others
    keep the values of a fit on the buyers alone (it used to blank the whole cutoff)."""
    from churnml.features.btyd import add_btyd_features

    s = cdnow_summary
    tenure = s["T"] * 7 + 1  # the inverse of the feature family's summary: T = (tenure - 1) / 7
    buyers = pd.DataFrame({
        "customer_id": s.index.astype(str),
        "cutoff": pd.Timestamp("1997-10-01"),
        "rfm_days_all": (s["frequency"] + 1).to_numpy(),
        "rfm_tenure_days": tenure.to_numpy(),
        "rfm_recency_days": (tenure - s["recency"] * 7).to_numpy(),
    })
    never = pd.DataFrame({"customer_id": ["S"], "cutoff": [pd.Timestamp("1997-10-01")], "rfm_days_all": [0],
                          "rfm_tenure_days": [math.nan], "rfm_recency_days": [math.nan]})
    both = add_btyd_features(pd.concat([buyers, never], ignore_index=True), 30)
    alone = add_btyd_features(buyers, 30)
    model = BGNBD().fit(s)
    np.testing.assert_allclose(alone["btyd_p_alive"], model.p_alive(s).to_numpy(), rtol=1e-9)
    cols = ["btyd_p_alive", "btyd_expected_purchases_30d", "btyd_p_no_purchase_30d"]
    pd.testing.assert_frame_equal(both.loc[: len(buyers) - 1, cols], alone[cols])
    assert both.loc[len(buyers), cols].isna().all()


# --- units: a scale parameter has the same room in any time unit or currency -----------------------
@pytest.mark.parametrize("factor", [7.0, 1e4])
def test_bgnbd_fit_is_the_same_in_any_time_unit(cdnow_summary: pd.DataFrame, factor: float, caplog) -> None:
    """Weeks to days (x7) or to a unit 10,000 times smaller: r, a, b stay, alpha scales, and nothing
    is called extreme (alpha used to be bounded at e^15 in any unit)."""
    weeks = BGNBD().fit(cdnow_summary).params_
    scaled = cdnow_summary.assign(recency=cdnow_summary["recency"] * factor, T=cdnow_summary["T"] * factor)
    with caplog.at_level(logging.WARNING, logger="churnml.btyd.fitting"):
        other = BGNBD().fit(scaled).params_
    assert other == pytest.approx({**weeks, "alpha": weeks["alpha"] * factor}, rel=1e-5)
    assert caplog.text == ""


@pytest.mark.parametrize("factor", [100.0, 1e6])
def test_gamma_gamma_fit_is_the_same_in_any_currency(cdnow_summary: pd.DataFrame, factor: float, caplog) -> None:
    """Dollars to cents or to a currency a million times smaller: p, q stay, v scales (v used to be
    bounded at e^15 = 3.3 million, which bent p at 1e6: 58 instead of 6.25)."""
    dollars = GammaGamma().fit(cdnow_summary).params_
    scaled = cdnow_summary.assign(monetary_value=cdnow_summary["monetary_value"] * factor)
    with caplog.at_level(logging.WARNING, logger="churnml.btyd.fitting"):
        other = GammaGamma().fit(scaled).params_
    assert other == pytest.approx({**dollars, "v": dollars["v"] * factor}, rel=1e-5)
    assert caplog.text == ""


def test_gamma_gamma_on_spend_that_never_varies_says_why_and_what_it_means(caplog) -> None:
    """Every purchase costs 50: p and q run away; the warning names them, blames the spend (not the
    repeat buying) and says the expected spend is the customer's mean, which it is."""
    x = np.array([1, 2, 3, 4, 5, 6] * 20)
    s = _summary(x, x * 2.0, np.full(len(x), 20.0)).assign(monetary_value=50.0)
    with caplog.at_level(logging.WARNING, logger="churnml.btyd.fitting"):
        model = GammaGamma().fit(s)
    assert "GammaGamma.fit: parameters went to an extreme (p = " in caplog.text and ", q = " in caplog.text
    assert "spend per purchase barely varies" in caplog.text and "harmless" in caplog.text
    assert "repeat buying" not in caplog.text and "features.families" not in caplog.text
    assert caplog.text.count("WARNING") == 1  # not also "stopped without converging"
    np.testing.assert_allclose(model.conditional_expected_spend(s), 50.0, rtol=1e-4)


def test_btyd_features_say_once_that_the_fit_warned_at_many_cutoffs(caplog) -> None:
    """Purchases as regular as invoices (everyone bought yesterday) send BG/NBD's parameters to an extreme at
    each of three cutoffs: one warning names the count, the first and last cutoff and the last fit's words."""
    from churnml.features.btyd import add_btyd_features

    rows = pd.DataFrame([{"customer_id": f"C{i}", "cutoff": pd.Timestamp(c), "rfm_days_all": 5 + i % 7,
                          "rfm_tenure_days": 100 + i, "rfm_recency_days": 1}
                         for c in ("2024-01-01", "2024-02-01", "2024-03-01") for i in range(60)])
    with caplog.at_level(logging.WARNING):
        out = add_btyd_features(rows, 30)
    assert len(out) == 180
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1, warned
    assert warned[0].startswith("BG/NBD features: the fit warned at 3 of 3 cutoffs (2024-01-01 to 2024-03-01); "
                                "at the last, BGNBD.fit: parameters went to an extreme (")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        add_btyd_features(rows.loc[rows["cutoff"] == "2024-02-01"], 30)
    assert [r.getMessage()[:61] for r in caplog.records] == [
        "BG/NBD features at cutoff 2024-02-01: BGNBD.fit: parameters w"]


def test_the_series_gives_scipys_2f1_on_ordinary_parameters() -> None:
    from scipy.special import hyp2f1

    from churnml.btyd.bgnbd import _hyp2f1_series

    rows = np.array([(0.243, 2.426, 3.2, 0.1), (5.0, 3.0, 7.5, 0.5), (2.0, 1.5, 2.8, 0.9), (12.0, 40.0, 51.0, 0.02)])
    a, b, c, z = rows.T
    np.testing.assert_allclose(_hyp2f1_series(a, b, c, z), hyp2f1(a, b, c, z), rtol=1e-12)


def test_expected_purchases_stay_finite_when_the_fit_runs_to_an_extreme() -> None:
    """r and alpha in the millions, a near 0 (buyers as regular as invoices): scipy's 2F1 was NaN, so were the
    expected purchases and every CLV built on them. With no drop-out to speak of they are the Poisson-Gamma
    mean, (r + x) / (alpha + T) * t."""
    model = BGNBD()
    model.params_ = {"r": 3269017.37, "alpha": 8697094.68, "a": 3.059e-07, "b": 85582.96}
    s = _summary([5.0, 8.0, 11.0], [13.0, 14.0, 14.0], [14.0, 14.0, 14.0])
    got = model.expected_purchases(30 / 7, s).to_numpy()
    limit = (3269017.37 + s["frequency"].to_numpy()) / (8697094.68 + 14.0) * 30 / 7
    np.testing.assert_allclose(got, limit, rtol=1e-4)
    # with a lead time too (2F1 of P(no purchase)): without drop-outs a lead changes nothing, Poisson forgets
    np.testing.assert_allclose(model.p_no_purchase(30 / 7, s, lead=2.0), model.p_no_purchase(30 / 7, s), rtol=1e-9)
