"""``data.timezone`` is the business's calendar: days, months and cutoffs are its local ones.

One customer of a shop in Seoul (UTC+09:00, no daylight-saving time) buys at 23:30 and at 00:30
local time on consecutive days, and once more three days later. In UTC both late purchases fall
on 1 March; in Seoul they are two purchase days, and the second is not history for the cutoff
of 2 March. The values below are counted by hand on that calendar.
"""

from __future__ import annotations

import pandas as pd
import pytest

from churnml.config import TimeConfig, load_config
from churnml.errors import SchemaError
from churnml.features import compute_features, plan_features
from churnml.io import Tables, load_tables, read_table
from churnml.labels import population
from churnml.metrics.cohorts import cohort_tables

HEADER = "customer_id,timestamp,amount\n"
ROWS = ("A,2024-02-29T23:30:00+09:00,10\n"  # Seoul 02-29 23:30 = 14:30 UTC on 02-29
        "A,2024-03-01T23:30:00+09:00,10\n"  # Seoul 03-01 23:30 = 14:30 UTC on 03-01
        "A,2024-03-02T00:30:00+09:00,20\n"  # Seoul 03-02 00:30 = 15:30 UTC on 03-01
        "A,2024-03-05T12:00:00+09:00,5\n")
FEATURES = ["rfm_orders_all", "rfm_days_all", "rfm_monetary_sum_all", "rfm_recency_days", "rfm_last_amount"]


def _features(tables: Tables, cutoff: str) -> dict[str, float]:
    time = TimeConfig(horizon_days=30)
    spine = population(tables, [cutoff], time)
    out = compute_features(tables, spine, plan_features(tables, [cutoff]))
    assert out["customer_id"].tolist() == ["A"]
    return {c: float(out[c].iloc[0]) for c in FEATURES}


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "tx.csv"
    p.write_text(HEADER + ROWS, encoding="utf-8")
    return p


def test_seoul_times_are_read_as_seoul_wall_clock(path):
    tx = read_table("transactions", path, timezone="Asia/Seoul")
    assert tx["timestamp"].tolist() == [pd.Timestamp("2024-02-29 23:30"), pd.Timestamp("2024-03-01 23:30"),
                                        pd.Timestamp("2024-03-02 00:30"), pd.Timestamp("2024-03-05 12:00")]


def test_features_count_seoul_days_and_keep_seoul_history(path):
    seoul = Tables(transactions=read_table("transactions", path, timezone="Asia/Seoul"))
    utc = Tables(transactions=read_table("transactions", path))
    # cutoff 2024-03-02 (Seoul's midnight): the 00:30 purchase of 2 March is not history
    assert _features(seoul, "2024-03-02") == {"rfm_orders_all": 2, "rfm_days_all": 2, "rfm_monetary_sum_all": 20,
                                              "rfm_recency_days": 1, "rfm_last_amount": 10}
    # cutoff 2024-03-03: three purchases on three Seoul days, the last day's total 20
    assert _features(seoul, "2024-03-03") == {"rfm_orders_all": 3, "rfm_days_all": 3, "rfm_monetary_sum_all": 40,
                                              "rfm_recency_days": 1, "rfm_last_amount": 20}
    # the same instants on UTC's calendar: 14:30 and 15:30 UTC of 1 March are one day, both history for 03-02
    assert _features(utc, "2024-03-02") == {"rfm_orders_all": 3, "rfm_days_all": 2, "rfm_monetary_sum_all": 40,
                                            "rfm_recency_days": 1, "rfm_last_amount": 30}


def test_months_and_cohorts_are_seoul_months(tmp_path):
    p = tmp_path / "tx.csv"
    # 1 January 2023, 08:00 in Seoul: still 31 December 2022 in UTC
    p.write_text(HEADER + "A,2023-01-01T08:00+09:00,10\nB,2022-12-31T08:00+09:00,10\nA,2023-02-01T08:00+09:00,10\n",
                 encoding="utf-8")
    seoul = cohort_tables(read_table("transactions", p, timezone="Asia/Seoul"))
    assert seoul.counts.index.tolist() == ["2022-12", "2023-01"]
    assert seoul.counts.loc["2023-01"].tolist()[:2] == [1, 1]  # A: acquired in January, back in February
    assert seoul.counts.loc["2022-12"].tolist()[:3] == [1, 0, 0]
    utc = cohort_tables(read_table("transactions", p))  # 08:00 Seoul is 23:00 UTC the day before
    assert utc.counts.index.tolist() == ["2022-12"]
    assert utc.counts.loc["2022-12"].dropna().tolist() == [2, 1]  # the data ends in January there


def test_a_cutoff_with_an_offset_is_refused_with_the_day_to_give():
    from churnml.errors import DataWindowError
    from churnml.windows import to_cutoff

    with pytest.raises(DataWindowError, match=r"cutoff 2024-07-01T00:00:00\+09:00 carries a UTC offset; a cutoff is "
                                              r"a day of data.timezone's calendar, so give the date alone "
                                              r"\(e.g. '2024-07-01'\)"):
        to_cutoff("2024-07-01T00:00:00+09:00")
    assert to_cutoff("2024-07-01T00:00:00Z") == to_cutoff("2024-07-01") == pd.Timestamp("2024-07-01")


def test_the_configured_zone_reaches_the_tables_of_a_run(path):
    cfg = load_config(None, ["data.source=files", f"data.tables.transactions.path={path}",
                             "data.timezone=Asia/Seoul", "data.end=2024-03-06"])
    tx = load_tables(cfg).transactions
    assert tx["timestamp"].max() == pd.Timestamp("2024-03-05 12:00")
    # data.end is Seoul's midnight too: 2024-03-05 (local) puts the purchase at 12:00 after it
    early = load_config(None, ["data.source=files", f"data.tables.transactions.path={path}",
                               "data.timezone=Asia/Seoul", "data.end=2024-03-05"])
    with pytest.raises(Exception, match=r"1 row dated at or after data.end .*data.end \(2024-03-05 00:00:00, "
                                        r"Asia/Seoul\)"):
        load_tables(early)


def test_an_end_given_with_an_offset_follows_a_zone_set_after_loading():
    """data.end 2024-07-01T00:00Z is 09:00 in Seoul and 02:00 in Berlin (summer time), whenever the zone is set;
    an end set later without an offset is a local time and stays as given."""
    import datetime as dt

    cfg = load_config(None, ["data.end=2024-07-01T00:00:00+00:00"])
    assert cfg.data.end == dt.datetime(2024, 7, 1)
    cfg.data.timezone = "Asia/Seoul"
    assert cfg.data.end == dt.datetime(2024, 7, 1, 9)
    copy = cfg.model_copy(deep=True)
    copy.data.timezone = "Europe/Berlin"
    assert (copy.data.end, cfg.data.end) == (dt.datetime(2024, 7, 1, 2), dt.datetime(2024, 7, 1, 9))
    cfg.data.end = dt.datetime(2024, 5, 1)
    cfg.data.timezone = "UTC"
    assert cfg.data.end == dt.datetime(2024, 5, 1)


def test_an_end_set_again_to_the_same_local_time_stays_that_local_time():
    import datetime as dt

    cfg = load_config(None, ["data.end=2024-07-01T00:00:00+00:00", "data.timezone=Asia/Seoul"])
    assert cfg.data.end == dt.datetime(2024, 7, 1, 9)
    cfg.data.end = dt.datetime(2024, 7, 1, 9)  # the same value, now given as Seoul's local time
    cfg.data.timezone = "UTC"
    assert cfg.data.end == dt.datetime(2024, 7, 1, 9)


def test_times_ending_in_utc_or_gmt_are_instants_converted_to_the_zone(tmp_path):
    """BigQuery writes '2023-12-31 20:30:00 UTC': that is 05:30 on 1 January in Seoul, a January purchase. The
    word was dropped and the time read as Seoul's own 20:30 on 31 December."""
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,timestamp,amount\nA,2023-12-31 20:30:00 UTC,1\nB,2023-12-31 20:30:00+00:00,2\n"
                    "C,2023-12-31 21:30:00 GMT+01:00,3\nD,2023-12-31 20:30 GMT,4\n", encoding="utf-8")
    tx = read_table("transactions", path, timezone="Asia/Seoul")
    assert tx["timestamp"].tolist() == [pd.Timestamp("2024-01-01 05:30")] * 4
    # beside times without a zone, they are the mixed zones refused as before
    path.write_text("customer_id,timestamp,amount\nA,2023-12-31 20:30:00 UTC,1\nB,2023-12-31 20:30:00,2\n",
                    encoding="utf-8")
    with pytest.raises(SchemaError, match=r"mixed time zones: 1 value with a UTC offset \(data row 1 of .*, e\.g\. "
                                          r"'2023-12-31 20:30:00 UTC'\) and 1 value without"):
        read_table("transactions", path)
