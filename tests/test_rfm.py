"""RFM measures, scores and segments on a hand-typed log, cutoff 2024-04-01.

History (rows before the cutoff):

    A  Jan 05 10, Jan 20 20, Mar 03 30  -> recency 29, 3 days, 60
    B  Jan 10 50, Feb 14 25, Feb 14 5   -> recency 47, 2 days, 80
    C  Feb 02 40                        -> recency 59, 1 day,  40
    D  Mar 15 60, Mar 20 15             -> recency 12, 2 days, 75
    (C's return of Apr 10, D's Apr 02 and E's Apr 25 are after the cutoff)

Scores with 4 customers and 5 bins: 1 + floor(5 * customers strictly worse / 4).
"""

from __future__ import annotations

import pandas as pd
import pytest

from churnml.errors import ConfigError, DataWindowError, EmptyDataError
from churnml.metrics import SEGMENT_MAP, SEGMENTS, rfm_table, segment_counts
from churnml.metrics.rfm import rfm_scores, segment_of
from tests.conftest import metrics_log


@pytest.fixture
def tx() -> pd.DataFrame:
    return metrics_log()


def test_the_measures_use_history_only_and_count_purchase_days(tx: pd.DataFrame) -> None:
    r = rfm_table(tx, "2024-04-01")
    assert r.index.tolist() == ["A", "B", "C", "D"]
    assert r["recency_days"].tolist() == [29.0, 47.0 - 17 / 24, 59.0, 12.0]
    assert r["frequency"].tolist() == [3, 2, 1, 2]
    assert r["monetary"].tolist() == [60.0, 80.0, 40.0, 75.0]


def test_the_scores_and_segments_match_the_hand_computed_values(tx: pd.DataFrame) -> None:
    r = rfm_table(tx, "2024-04-01")
    assert r["r_score"].tolist() == [3, 2, 1, 4]
    assert r["f_score"].tolist() == [4, 2, 1, 2]  # B and D tie on 2 days and share a score
    assert r["m_score"].tolist() == [2, 4, 1, 3]
    assert r["rfm_cell"].tolist() == ["342", "224", "111", "423"]
    assert r["segment"].tolist() == ["loyal", "hibernating", "lost", "potential loyalist"]


def test_two_bins_are_mapped_onto_the_five_point_segment_grid(tx: pd.DataFrame) -> None:
    r = rfm_table(tx, "2024-04-01", bins=2)
    assert r["r_score"].tolist() == [2, 1, 1, 2]
    assert r["f_score"].tolist() == [2, 1, 1, 1]
    assert r["segment"].tolist() == ["champions", "lost", "lost", "new"]


def test_rows_at_or_after_the_cutoff_never_change_the_table(tx: pd.DataFrame) -> None:
    before = rfm_table(tx, "2024-04-01")
    late = pd.DataFrame(
        {
            "customer_id": pd.Series(["C", "F", "A"], dtype="str"),
            "timestamp": pd.Series(pd.to_datetime(["2024-04-01", "2024-04-01", "2025-01-01"]), dtype="datetime64[us]"),
            "amount": [500.0, 1.0, 3.0],
        }
    )
    after = rfm_table(pd.concat([tx, late], ignore_index=True), "2024-04-01")
    pd.testing.assert_frame_equal(before, after)


def test_the_table_does_not_depend_on_the_row_order(tx: pd.DataFrame) -> None:
    shuffled = tx.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(rfm_table(tx, "2024-04-01"), rfm_table(shuffled, "2024-04-01"))


def test_equal_values_get_equal_scores_and_the_best_gets_the_top_score() -> None:
    values = pd.Series([1, 1, 1, 2, 5, 9, 9, 3, 4, 7], index=list("abcdefghij"))
    scores = rfm_scores(values, bins=5)
    assert scores.tolist() == [1, 1, 1, 2, 4, 5, 5, 3, 3, 4]
    # lower is better: a, b and c share the best value 1, so the top score (they had 4: 7 of 10 strictly worse)
    assert rfm_scores(values, bins=5, higher_is_better=False).loc[["a", "f"]].tolist() == [5, 1]


def test_a_large_group_tied_at_the_best_value_scores_best_and_the_worst_value_scores_one() -> None:
    # 9 customers bought 1 day ago, J 456 days ago: 1 customer of 10 is worse than the 9, which alone would
    # give them 1 + floor(5 * 1/10) = 1 (the 9 were 'lost' with J); the best value's group takes its last rank,
    # 10, so 1 + floor(5 * 9/10) = 5.
    recency = pd.Series([1.0] * 9 + [456.0], index=[*"ABCDEFGHI", "J"])
    assert rfm_scores(recency, bins=5, higher_is_better=False).tolist() == [5] * 9 + [1]
    # Two of five tie at the top money: both 5 (they scored 4 and nobody had 5); one-time buyers tied at the
    # bottom keep 1.
    assert rfm_scores(pd.Series([100.0, 100.0, 80.0, 40.0, 10.0]), bins=5).tolist() == [5, 5, 3, 2, 1]
    # 6 one-time buyers keep 1; the two 2s take their mean rank 7.5: 1 + floor(5 * 6.5 / 10) = 4
    assert rfm_scores(pd.Series([1, 1, 1, 1, 1, 1, 2, 2, 3, 7]), bins=5).tolist() == [1] * 6 + [4, 4, 5, 5]
    # 8 tied between one better and one worse customer: mean rank 5.5 -> 1 + floor(5 * 4.5 / 10) = 3, not
    # 1 (their first rank, 2) as a group's first rank would give
    assert rfm_scores(pd.Series([1] + [2] * 8 + [3]), bins=5).tolist() == [1] + [3] * 8 + [5]
    # fewer customers than bins: the best takes its last rank, 1 + floor(5 * 1 / 2) = 3
    assert rfm_scores(pd.Series([1.0, 2.0]), bins=5).tolist() == [1, 3]
    # Everyone equal: nothing told apart, everyone 1.
    assert rfm_scores(pd.Series([2.0] * 10), bins=5).tolist() == [1] * 10
    # the whole table: the 9 are champions-side (R=5), J lost
    log = pd.DataFrame({"customer_id": pd.Series([*"ABCDEFGHI", "J"], dtype="str"),
                        "timestamp": pd.Series(pd.to_datetime(["2024-03-31"] * 9 + ["2023-01-01"]),
                                               dtype="datetime64[us]"),
                        "amount": [10.0] * 10})
    table = rfm_table(log, "2024-04-01")
    assert table["r_score"].tolist() == [5] * 9 + [1] and table.loc["J", "segment"] == "lost"
    assert table.loc["A", "segment"] == "new"  # R=5, F=1: all ten bought on one day only


def test_the_segment_map_covers_every_cell_with_a_known_segment() -> None:
    names = {SEGMENT_MAP[r][f] for r in range(1, 6) for f in range(1, 6)}
    assert names == set(SEGMENTS)
    assert SEGMENT_MAP[5][5] == "champions" and SEGMENT_MAP[1][1] == "lost"
    assert SEGMENT_MAP[1][5] == "cannot lose" and SEGMENT_MAP[5][1] == "new"


def test_segment_of_reads_the_map_for_each_pair() -> None:
    r = pd.Series([5, 2, 3], index=["x", "y", "z"])
    f = pd.Series([4, 4, 3], index=["x", "y", "z"])
    assert segment_of(r, f).tolist() == ["champions", "at risk", "need attention"]


def test_segment_counts_list_every_segment_without_customer_ids(tx: pd.DataFrame) -> None:
    counts = segment_counts(rfm_table(tx, "2024-04-01"))
    assert counts["segment"].tolist() == list(SEGMENTS)
    assert counts["customers"].sum() == 4
    assert counts["share"].sum() == pytest.approx(100.0)
    lost = counts.set_index("segment").loc["lost"]
    assert (lost["customers"], lost["monetary"]) == (1, 40.0)
    assert "customer_id" not in counts.columns


def test_a_cutoff_with_a_utc_offset_is_refused_and_a_time_of_day_is_a_moment(tx: pd.DataFrame) -> None:
    # times are wall-clock times of data.timezone: '+02:00' would have been read as 22:00 UTC the day before
    with pytest.raises(DataWindowError, match=r"cutoff 2024-03-01T00:00\+02:00 carries a UTC offset; .* \(e.g. "
                                              r"'2024-03-01 00:00:00' if that is the time meant there\)"):
        rfm_table(tx, "2024-03-01T00:00+02:00")
    assert rfm_table(tx, "2024-03-01T00:00+00:00").equals(rfm_table(tx, "2024-03-01"))
    # at noon on 03-03 A's purchase of 03-03 (midnight) is in, half a day old
    assert rfm_table(tx, "2024-03-03T12:00").loc["A", "recency_days"] == 0.5


def test_no_purchase_before_the_cutoff_raises_a_clear_error(tx: pd.DataFrame) -> None:
    with pytest.raises(EmptyDataError, match="no purchase"):
        rfm_table(tx, "2024-01-01")
    with pytest.raises(ConfigError, match="bins"):
        rfm_table(tx, "2024-04-01", bins=1)
