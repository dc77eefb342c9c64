"""Cohort retention tables on a hand-typed log (data end 2024-04-26).

Purchases by month (C's April row is a return, not a purchase):

    A  Jan Jan Mar   cohort 2024-01, active at ages 0, 2
    B  Jan Feb Feb   cohort 2024-01, active at ages 0, 1
    C  Feb (Apr -10) cohort 2024-02, active at age 0
    D  Mar Mar Apr   cohort 2024-03, active at ages 0, 1
    E  Apr           cohort 2024-04, active at age 0
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnml.errors import EmptyDataError
from churnml.metrics import cohort_tables
from tests.conftest import metrics_log

NA = None


@pytest.fixture
def tx() -> pd.DataFrame:
    return metrics_log()


def cells(frame: pd.DataFrame) -> list[list[object]]:
    return [[None if pd.isna(v) else v for v in row] for row in frame.astype("object").to_numpy().tolist()]


def test_the_counts_table_matches_the_hand_computed_cohorts(tx: pd.DataFrame) -> None:
    t = cohort_tables(tx)
    assert t.counts.index.tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert t.counts.columns.tolist() == [0, 1, 2, 3]
    assert cells(t.counts) == [
        [2, 1, 1, 0],
        [1, 0, 0, NA],
        [1, 1, NA, NA],
        [1, NA, NA, NA],
    ]


def test_the_rates_table_is_the_share_of_the_cohort_in_percent(tx: pd.DataFrame) -> None:
    t = cohort_tables(tx)
    assert cells(t.rates) == [
        [100.0, 50.0, 50.0, 0.0],
        [100.0, 0.0, 0.0, NA],
        [100.0, 100.0, NA, NA],
        [100.0, NA, NA, NA],
    ]


def test_the_revenue_table_sums_net_amounts_including_returns(tx: pd.DataFrame) -> None:
    t = cohort_tables(tx)
    assert cells(t.revenue) == [
        [80.0, 30.0, 30.0, 0.0],
        [40.0, 0.0, -10.0, NA],
        [75.0, 12.0, NA, NA],
        [100.0, NA, NA, NA],
    ]


def test_a_return_before_the_first_purchase_is_in_month_zero_and_revenue_is_never_lost(tx: pd.DataFrame) -> None:
    """E (cohort 2024-04) returns 15 in February, of something bought before the data: April's month 0 is 100 - 15,
    and the cohorts' revenue adds up to the log's net amount (a customer of returns only, Z, is in no cohort)."""
    early = pd.DataFrame({"customer_id": ["E", "Z"], "timestamp": pd.to_datetime(["2024-02-20", "2024-03-03"]),
                          "amount": [-15.0, -4.0]})
    log = pd.concat([tx, early], ignore_index=True)
    t = cohort_tables(log)
    assert cells(t.revenue)[3] == [85.0, NA, NA, NA]
    assert cells(t.counts) == cells(cohort_tables(tx).counts)  # a return is no activity
    assert t.revenue.sum().sum() == log.loc[log["customer_id"] != "Z", "amount"].sum()


def test_an_end_keeps_only_the_rows_before_it(tx: pd.DataFrame) -> None:
    t = cohort_tables(tx, end="2024-03-01")
    assert cells(t.counts) == [[2, 1], [1, NA]]


def test_month_zero_holds_every_customer_once(tx: pd.DataFrame) -> None:
    t = cohort_tables(tx)
    assert int(t.counts[0].sum()) == tx["customer_id"].nunique()
    assert np.all(t.rates[0] == 100.0)
    assert np.nanmax(t.rates.to_numpy()) <= 100.0


def test_no_purchase_before_the_end_raises_a_clear_error(tx: pd.DataFrame) -> None:
    with pytest.raises(EmptyDataError, match="no purchase"):
        cohort_tables(tx, end="2024-01-01")
