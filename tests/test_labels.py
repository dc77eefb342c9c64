from __future__ import annotations

import pandas as pd
import pytest

from churnml.config import TimeConfig
from churnml.errors import ConfigError, SchemaError
from churnml.labels import contractual_labels, make_labels, noncontractual_labels, population
from tests.conftest import frame

CUT = "2024-02-01"


def as_dict(labels: pd.DataFrame) -> dict[str, int]:
    return dict(zip(labels["customer_id"], labels["churned"], strict=True))


def test_noncontractual_labels_by_hand(tiny_tx):
    labels = noncontractual_labels(tiny_tx, [CUT], horizon_days=30)
    # C's first purchase is after the cutoff: not in the population.
    # A buys on 02-05 (inside [02-01, 03-02)); B never again; D only on 03-05.
    assert as_dict(labels) == {"A": 0, "B": 1, "D": 1}
    assert labels["churned"].dtype == "int8"
    assert (labels["cutoff"] == pd.Timestamp(CUT)).all()


def test_a_return_is_not_a_purchase_for_population_or_label(tiny_tx):
    # A's row on 01-31 is a return; with active_within 15 days A's last purchase (01-11) is too old.
    labels = noncontractual_labels(tiny_tx, [CUT], horizon_days=30, active_within_days=15)
    assert as_dict(labels) == {"B": 1, "D": 1}
    ret_only = frame(customer_id=["R", "R"], timestamp=["2024-01-10", "2024-02-10"], amount=[10.0, -10.0])
    assert as_dict(noncontractual_labels(ret_only, [CUT], 30, immature="keep")) == {"R": 1}


def test_lead_time_moves_the_window_and_keeps_the_population(tiny_tx):
    labels = noncontractual_labels(tiny_tx, [CUT], horizon_days=30, lead_time_days=7, immature="keep")
    # window [02-08, 03-09): A's 02-05 purchase falls in the gap; D buys on 03-05.
    assert as_dict(labels) == {"A": 1, "B": 1, "D": 0}


def test_many_cutoffs_equal_one_cutoff_at_a_time(tiny_tx):
    cuts = ["2024-01-15", "2024-02-01", "2024-02-20"]
    together = noncontractual_labels(tiny_tx, cuts, horizon_days=[20, 30, 40], immature="keep")
    apart = pd.concat(
        [noncontractual_labels(tiny_tx, [c], h, immature="keep") for c, h in zip(cuts, [20, 30, 40], strict=True)],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(together, apart)


def test_contractual_labels_follow_spells_and_grace(tiny_subscriptions):
    extra = frame(
        customer_id=["E", "E", "F", "G"],
        start=["2024-01-01", "2024-03-01", "2023-11-01", "2023-12-01"],
        end=["2024-02-15", None, "2024-01-31", "2024-02-01"],
    )
    subs = pd.concat([tiny_subscriptions[["customer_id", "start", "end"]], extra], ignore_index=True)
    labels = contractual_labels(subs, [CUT], horizon_days=30, grace_days=5, immature="keep")
    # A renews in time and is open-ended; B's renewed spell ends 03-10 (after 03-02);
    # E's gap (02-15 -> 03-01) exceeds the grace; F ended before the cutoff; G ends at the cutoff.
    assert as_dict(labels) == {"A": 0, "B": 0, "E": 1, "G": 1}
    assert as_dict(contractual_labels(subs, [CUT], horizon_days=60, grace_days=5, immature="keep"))["B"] == 1
    assert as_dict(contractual_labels(subs, [CUT], horizon_days=30, grace_days=20, immature="keep"))["E"] == 0


def test_contractual_labels_with_a_lead_time_churn_a_spell_ending_in_the_gap():
    subs = frame(
        customer_id=["gap", "window", "after", "stays", "renews"],
        start=["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01"],
        end=["2024-02-05", "2024-02-20", "2024-03-09", None, "2024-02-05"],
    )
    renewal = frame(customer_id=["renews"], start=["2024-02-07"], end=[None])
    subs = pd.concat([subs, renewal], ignore_index=True)
    # cutoff 02-01, lead 7, horizon 30: window [02-08, 03-09). "gap" ends 02-05, in the lead time:
    # no subscription in the window, churned. "after" ends at the window's end: kept. "renews"
    # ends 02-05 too but starts again 02-07, within the 2-day grace: one spell, open-ended.
    labels = contractual_labels(subs, [CUT], horizon_days=30, lead_time_days=7, grace_days=2, immature="keep")
    assert as_dict(labels) == {"gap": 1, "window": 1, "after": 0, "stays": 0, "renews": 0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon_days": 30, "lead_time_days": -5}, "lead_time_days must be whole days from 0 to 36,525, got -5"),
        ({"horizon_days": 30.9}, "horizon_days must be whole days from 1 to 36,525, got 30.9"),
        ({"horizon_days": [30, 40]}, r"one value for all cutoffs or one per cutoff \(1\), got \[30, 40\]"),
        ({"horizon_days": 30, "active_within_days": 0}, "active_within_days must be whole days from 1 to 36,525, got 0"),
        ({"horizon_days": 1_000_000}, "horizon_days must be whole days from 1 to 36,525, got 1000000"),
    ],
)
def test_label_windows_that_the_config_would_reject_are_config_errors(tiny_tx, kwargs, message):
    # A negative lead would put history rows in the window, a fractional horizon was cut silently.
    with pytest.raises(ConfigError, match=message):
        noncontractual_labels(tiny_tx, [CUT], **kwargs)


def test_population_matches_the_labelled_customers(tiny_tx, tiny_subscriptions):
    t = TimeConfig(horizon_days=30)
    pop = population(_Tables(tiny_tx, None), [CUT], t)
    assert pop["customer_id"].tolist() == ["A", "B", "D"]
    tc = TimeConfig(regime="contractual", horizon_days=30)
    pop = population(_Tables(tiny_tx, tiny_subscriptions), [CUT], tc)
    assert pop["customer_id"].tolist() == ["A", "B"]


def test_make_labels_dispatches_on_the_regime_and_needs_the_table(tiny_tx):
    t = TimeConfig(regime="contractual", horizon_days=30)
    with pytest.raises(SchemaError, match="subscriptions"):
        make_labels(_Tables(tiny_tx, None), [CUT], t)
    assert len(make_labels(_Tables(tiny_tx, None), [CUT], TimeConfig(horizon_days=30))) == 3


def test_bad_cutoffs_and_horizons_are_clear_errors(tiny_tx):
    with pytest.raises(ConfigError, match="no cutoffs"):
        noncontractual_labels(tiny_tx, [], 30)
    with pytest.raises(ConfigError, match="distinct"):
        noncontractual_labels(tiny_tx, [CUT, CUT], 30)
    with pytest.raises(ConfigError, match="horizon_days"):
        noncontractual_labels(tiny_tx, [CUT], 0)


class _Tables:
    def __init__(self, transactions, subscriptions):
        self.transactions = transactions
        self.subscriptions = subscriptions


def test_cdnow_churn_rate_at_the_classic_holdout_is_70_06_percent():
    from churnml.datasets.cdnow import load_cdnow

    labels = noncontractual_labels(load_cdnow(), ["1997-10-01"], horizon_days=273)
    assert len(labels) == 23_570
    assert round(labels["churned"].mean() * 100, 2) == 70.06


def test_a_label_window_that_ends_after_the_data_is_refused_with_the_latest_matured_cutoff(tiny_tx):
    from churnml.errors import DataWindowError

    # the data ends 2024-03-05 (exclusive end 03-06): a 30-day window matures for cutoffs up to 02-05
    assert len(noncontractual_labels(tiny_tx, ["2024-02-05"], 30)) == 3
    with pytest.raises(DataWindowError) as err:
        noncontractual_labels(tiny_tx, ["2024-02-01", "2024-02-06", "2024-02-07"], 30)
    assert str(err.value) == (
        "the label window of 2 cutoffs (2024-02-06, 2024-02-07) ends after the data: [2024-02-06, 2024-03-07) "
        "needs data up to 2024-03-07, and the data ends 2024-03-05 (exclusive end 2024-03-06), so churn there is "
        "not yet observed (a customer whose window is not over would count as churned). Fix: use cutoffs on or "
        "before 2024-02-05 (the latest matured one), or a shorter horizon; pass data_end when the data runs later "
        "than its last transaction, or immature='keep' to label it anyway")
    # a lead time moves the window, and the latest matured cutoff with it
    with pytest.raises(DataWindowError, match=r"\[2024-02-08, 2024-03-09\).*on or before 2024-01-29"):
        noncontractual_labels(tiny_tx, ["2024-02-01"], 30, lead_time_days=7)
    # the data is known to run later, or the caller knows the window is not over
    late = noncontractual_labels(tiny_tx, ["2024-02-06"], 30, data_end="2024-03-07")
    assert late.equals(noncontractual_labels(tiny_tx, ["2024-02-06"], 30, immature="keep"))
    with pytest.raises(DataWindowError, match="no cutoff fits: the data runs from 2023-12-02, and even a cutoff on "
                                              "2023-12-03 needs a horizon of at most 94 days"):
        noncontractual_labels(tiny_tx, ["2024-02-01"], 200)
    # each cutoff with its own horizon
    with pytest.raises(DataWindowError, match=r"cutoff 2024-01-15 ends after.*on or before 2023-12-26"):
        noncontractual_labels(tiny_tx, ["2024-01-15", "2024-02-01"], [71, 30])


def test_contractual_windows_need_the_grace_after_them_too(tiny_tx, tiny_subscriptions):
    from churnml.errors import DataWindowError

    # alone, the subscriptions end with their latest start, 2024-01-21 (exclusive end 01-22)
    with pytest.raises(DataWindowError, match=r"\[2024-02-01, 2024-03-02\) and 5 days of grace after it needs data "
                                              r"up to 2024-03-07.*last subscription start"):
        contractual_labels(tiny_subscriptions, [CUT], 30, grace_days=5)
    # make_labels reads the end from the transactions (exclusive end 03-06), as training does: 30 + 5 days fit
    # from a cutoff on or before 2024-01-31
    t = TimeConfig(regime="contractual", horizon_days=30, grace_days=5)
    with pytest.raises(DataWindowError, match="on or before 2024-01-31"):
        make_labels(_Tables(tiny_tx, tiny_subscriptions), [CUT], t)
    got = make_labels(_Tables(tiny_tx, tiny_subscriptions), ["2024-01-31"], t)
    assert got.equals(contractual_labels(tiny_subscriptions, ["2024-01-31"], 30, grace_days=5, data_end="2024-03-06"))


def test_repeated_cutoffs_are_named_as_dates():
    from churnml.errors import ConfigError
    from churnml.labels import cutoff_table

    with pytest.raises(ConfigError) as err:
        cutoff_table(["2024-06-15", "2024-06-01", "2024-06-15"], 30)
    assert str(err.value) == "cutoffs must be distinct; repeated: 2024-06-15"


def test_contractual_maturity_checks_the_tables_before_reading_their_times():
    from churnml.config import TimeConfig
    from churnml.errors import SchemaError
    from churnml.io import Tables
    from churnml.labels import make_labels

    def t(*values):
        return pd.Series(pd.to_datetime(list(values)), dtype="datetime64[us]")

    tx = pd.DataFrame({"customer_id": pd.Series(["A"], dtype="str"), "timestamp": t("2024-01-10"), "amount": [1.0]})
    subs = pd.DataFrame({"customer_id": pd.Series(["A"], dtype="str"), "start": t("2023-06-01").dt.tz_localize("UTC"),
                         "end": t("2024-02-10")})
    with pytest.raises(SchemaError, match=r"^table 'subscriptions': column 'start' has dtype datetime64\[us, UTC\]"):
        make_labels(Tables(transactions=tx, subscriptions=subs), ["2024-01-01"],
                    TimeConfig(regime="contractual", horizon_days=5, grace_days=0))
