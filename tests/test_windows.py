from __future__ import annotations

import pandas as pd
import pytest

from churnml.errors import DataWindowError
from churnml.windows import (
    DataSpan,
    history_mask,
    in_window_mask,
    label_window,
    latest_matured_cutoff,
    matured_cutoffs,
    rolling_cutoffs,
    to_cutoff,
    to_timestamp,
)


def test_label_window_is_half_open_and_starts_after_the_lead_time():
    w = label_window("2024-02-01", horizon_days=30, lead_time_days=7)
    assert w.start == pd.Timestamp("2024-02-08")
    assert w.end == pd.Timestamp("2024-03-09")
    times = pd.Series(pd.to_datetime(["2024-02-07 23:59", "2024-02-08", "2024-03-08 23:59", "2024-03-09"], format="ISO8601"))
    assert in_window_mask(times, w.start, w.end).tolist() == [False, True, True, False]


def test_history_is_strictly_before_the_cutoff():
    times = pd.Series(pd.to_datetime(["2024-01-31 23:59:59", "2024-02-01 00:00", "2024-02-02"], format="ISO8601"))
    assert history_mask(times, "2024-02-01").tolist() == [True, False, False]


def test_cutoff_is_required_and_must_be_midnight():
    with pytest.raises(DataWindowError, match="required"):
        to_timestamp(None)  # type: ignore[arg-type]
    with pytest.raises(DataWindowError, match="not at midnight"):
        to_cutoff("2024-02-01 12:00")
    # a cutoff is a day of data.timezone's calendar: an offset is refused (UTC's +00:00 is that calendar's when UTC)
    with pytest.raises(DataWindowError, match="carries a UTC offset"):
        to_cutoff("2024-02-01T02:00:00+02:00")
    assert to_cutoff("2024-02-01T00:00:00+00:00") == pd.Timestamp("2024-02-01")


def test_rolling_cutoffs_are_anchored_on_the_newest_cutoff():
    cuts = rolling_cutoffs("2024-01-01", "2024-03-01", step_days=30)
    assert list(cuts) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-31"), pd.Timestamp("2024-03-01")]
    cuts = rolling_cutoffs("2024-01-05", "2024-03-01", step_days=30)
    assert list(cuts) == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-03-01")]


def test_matured_cutoffs_keep_every_label_window_inside_the_data():
    span = DataSpan(pd.Timestamp("1997-01-01"), pd.Timestamp("1998-07-01"))
    assert latest_matured_cutoff(span, 273) == pd.Timestamp("1997-10-01")
    cuts = matured_cutoffs(span, horizon_days=273, step_days=28)
    assert cuts[-1] == pd.Timestamp("1997-10-01")
    assert all(c + pd.Timedelta(days=273) <= span.end for c in cuts)
    assert cuts[0] >= pd.Timestamp("1997-01-02")


def test_a_horizon_longer_than_the_data_names_dates_and_what_would_fit():
    span = DataSpan(pd.Timestamp("1997-01-01"), pd.Timestamp("1998-07-01"))
    with pytest.raises(DataWindowError) as err:
        matured_cutoffs(span, horizon_days=600, step_days=28)
    msg = str(err.value)
    assert "1997-01-01" in msg and "1998-06-30" in msg and "600 days" in msg
    assert "longest horizon that fits is 545 days" in msg


def test_with_grace_the_longest_horizon_leaves_room_for_the_grace_days():
    span = DataSpan(pd.Timestamp("1997-01-01"), pd.Timestamp("1998-07-01"))
    with pytest.raises(DataWindowError, match="longest horizon that fits is 515 days") as err:
        matured_cutoffs(span, horizon_days=540, step_days=28, grace_days=30)
    assert "540 days after a lead time of 0 days and 30 days of grace" in str(err.value)
    # 515 days is the longest that works (1997-01-02 + 515 + 30 = 1998-07-01), 516 is not
    assert matured_cutoffs(span, horizon_days=515, step_days=28, grace_days=30)[-1] == pd.Timestamp("1997-01-02")
    with pytest.raises(DataWindowError):
        matured_cutoffs(span, horizon_days=516, step_days=28, grace_days=30)


def test_when_the_asked_cutoffs_or_the_history_are_the_cause_the_error_says_so():
    span = DataSpan(pd.Timestamp("1997-01-01"), pd.Timestamp("1998-07-01"))
    with pytest.raises(DataWindowError, match=r"last cutoff asked \(time.last_cutoff\) 1997-01-01 is before the "
                       r"earliest usable cutoff 1997-01-02; ask for a last cutoff from 1997-01-02 to 1997-10-01"):
        matured_cutoffs(span, horizon_days=273, step_days=28, last="1997-01-01")
    with pytest.raises(DataWindowError, match=r"first cutoff asked \(time.first_cutoff\) 1998-01-01 is after it; "
                       r"ask for one from 1997-01-02 to 1997-10-01"):
        matured_cutoffs(span, horizon_days=273, step_days=28, first="1998-01-01")
    with pytest.raises(DataWindowError, match="earliest usable cutoff is 1998-08-24 .600 days of history., after the "
                       "data's end: no horizon fits. Lower time.min_history_days"):
        matured_cutoffs(span, horizon_days=30, step_days=28, min_history_days=600)


def test_a_declared_end_off_midnight_still_gives_midnight_cutoffs():
    span = DataSpan.from_times(pd.Series(pd.to_datetime(["1997-01-01 10:00"])), "1997-12-31 18:00")
    cuts = matured_cutoffs(span, horizon_days=30, step_days=28)
    assert cuts[-1] == pd.Timestamp("1997-12-01") and (cuts == cuts.normalize()).all()


@pytest.mark.parametrize("text", ["01/06/2024", "2024", "20240601", "June 1, 2024"])
def test_dates_given_as_text_must_be_iso_as_other_forms_are_ambiguous(text):
    with pytest.raises(DataWindowError, match="is not a date in the form YYYY-MM-DD"):
        to_cutoff(text)
    assert to_cutoff("2024-06-01") == to_timestamp("2024-06-01T02:00+02:00") == pd.Timestamp("2024-06-01")


def test_data_span_ends_the_day_after_the_last_timestamp_unless_declared():
    times = pd.Series(pd.to_datetime(["2024-01-03 10:00", "2024-02-10 23:00"], format="ISO8601"))
    assert DataSpan.from_times(times).end == pd.Timestamp("2024-02-11")
    assert DataSpan.from_times(times, "2024-03-01").end == pd.Timestamp("2024-03-01")


def test_a_declared_end_a_month_after_the_last_transaction_is_named_with_the_end_that_fits_the_rows():
    from churnml.windows import STALE_DAYS, DataSpan, quiet_end_text

    daily = pd.Series(pd.date_range("2024-01-01 09:00", "2024-05-31 09:00", freq="D"))  # a purchase every day
    assert quiet_end_text(daily, DataSpan.from_times(daily, "2024-07-01")) == (
        "no transaction after 2024-05-31: the 30 days before data.end 2024-07-01 (exclusive) have none (in the year "
        "before, at most 0 days in a row had none). If the export stopped early, everyone looks silent in those 30 "
        "days, and churn labels whose window reaches into them count customers as gone who may have bought then. "
        "Load the missing rows, or set data.end to 2024-06-01 if the data ends there")
    assert STALE_DAYS == 7
    assert quiet_end_text(daily, DataSpan.from_times(daily, "2024-06-08")) is None  # 7 days: quiet enough
    assert "the 8 days before data.end 2024-06-09 06:00:00 (exclusive)" in quiet_end_text(
        daily, DataSpan.from_times(daily, "2024-06-09 06:00"))
    assert quiet_end_text(daily, DataSpan.from_times(daily, None)) is None  # the end is the rows' own
    assert quiet_end_text(daily.iloc[:0], DataSpan.from_times(daily, None)) is None
    # a shop selling twice a month is quiet for weeks: 11 days is not long for it, 20 days more than its longest
    sparse = pd.Series(pd.to_datetime(["2024-01-02", "2024-01-17", "2024-02-01", "2024-02-16", "2024-03-01"]))
    assert quiet_end_text(sparse, DataSpan.from_times(sparse, "2024-03-13")) is None
    assert "(in the year before, at most 14 days in a row had none)" in quiet_end_text(
        sparse, DataSpan.from_times(sparse, "2024-03-18"))


def test_a_stray_late_transaction_is_told_apart_from_a_closure_and_a_sparse_shop():
    from churnml.windows import stray_tail_text

    days = pd.date_range("2023-01-01", "2024-01-31")  # 396 days of 10 transactions each
    daily = pd.Series(10, index=days)

    def examples(day):
        return f"from {day.date()}"

    late = pd.concat([daily, pd.Series([1], index=[pd.Timestamp("2024-03-01")])])  # 29 silent days, then one row
    assert stray_tail_text(late, examples) == (
        "transactions.timestamp: 1 row dated 2024-03-01 comes after 29 days without a transaction (from "
        "2024-02-01), where the year before had about 10.0 a day: it looks like a stray date (from 2024-03-01). "
        "With data.end null the data's end is the day after it, 2024-03-02, so everyone looks silent through "
        "those 29 days and churn labels whose window reaches into them count customers as gone. Fix: correct or "
        "remove those rows (or set data.end to 2024-02-01, where the data ends, and they are refused with their "
        "rows); if the silence is real, declare it with data.end 2024-03-02")
    assert stray_tail_text(daily, examples) is None
    # a fortnight's closure, then ten ordinary days: 100 rows where 240 were expected, more than 10%
    closed = pd.concat([daily, pd.Series(10, index=pd.date_range("2024-02-15", "2024-02-24"))])
    assert stray_tail_text(closed, examples) is None
    # a shop that sells every 20 days: a 19-day silence is its usual one, not a gap
    sparse = pd.Series(3, index=pd.date_range("2023-01-01", "2024-03-01", freq="20D"))
    assert stray_tail_text(sparse, examples) is None


def test_training_refuses_a_stray_late_transaction_with_its_row_and_the_fix():
    from churnml.config import load_config
    from churnml.dataset import build_training_data
    from churnml.errors import DataWindowError
    from churnml.io import Tables, load_tables
    from tests.test_train import SETTINGS

    cfg = load_config(None, SETTINGS)
    tables = load_tables(cfg)
    tx = tables.transactions
    stray = pd.DataFrame({"customer_id": pd.Series(["C000001"], dtype="str"),
                          "timestamp": [tx["timestamp"].max().normalize() + pd.Timedelta(days=40)], "amount": [5.0]})
    grown = Tables(transactions=pd.concat([tx, stray], ignore_index=True))
    with pytest.raises(DataWindowError, match=rf"1 row dated {stray['timestamp'][0].date()} comes after 39 days "
                                              r"without a transaction .*e\.g\. customer_id 'C000001' at"):
        build_training_data(grown, cfg)
    cfg_end = load_config(None, [*SETTINGS, f"data.end={(stray['timestamp'][0] + pd.Timedelta(days=1)).date()}"])
    assert len(build_training_data(grown, cfg_end).table) > 0  # a declared end: the silence is the data's
