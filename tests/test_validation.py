"""The data contract's validation: every rule, read through read_table from a broken CSV."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnml.errors import ConfigError, EmptyDataError, SchemaError
from churnml.io import read_table
from churnml.validation import validate_table

HEADER = "customer_id,timestamp,amount\n"


def csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(table: str, path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(SchemaError) as exc:
        read_table(table, path, **kwargs)  # type: ignore[arg-type]
    assert exc.value.table == table
    return exc.value.problems


def only(found: list[str]) -> str:
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------ each rule
def test_missing_columns_are_named_with_the_columns_found_and_the_mapping_to_set(tmp_path):
    path = csv(tmp_path, "cust_no,order_date,amount\n00001,2024-01-01,5\n")
    msg = only(problems("transactions", path))
    assert "missing required column(s) ['customer_id', 'timestamp']" in msg
    assert "found columns ['cust_no', 'order_date', 'amount']" in msg
    assert "data.tables.transactions.columns" in msg
    assert "{customer_id: cust_no, timestamp: order_date}" in msg


def test_unparseable_timestamps_are_reported_with_their_rows_and_examples(tmp_path):
    path = csv(tmp_path, HEADER + "a,2024-03-01,1\nb,2024-13-01,1\nc,2024-03-02,1\nd,yesterday,1\n")
    msg = only(problems("transactions", path))
    assert msg.startswith("transactions.timestamp: 2 unparseable timestamps at data rows 2, 4 of ")
    assert "'2024-13-01', 'yesterday'" in msg
    assert "ISO 8601" in msg


def test_mixed_aware_and_naive_timestamps_are_one_problem_naming_both_groups(tmp_path):
    path = csv(tmp_path, HEADER + "a,2024-03-01T10:00:00+02:00,1\nb,2024-03-01 09:00:00,1\n"
                                  "c,2024-03-02,1\n")
    msg = only(problems("transactions", path))
    assert msg.startswith("transactions.timestamp: mixed time zones: 1 value with a UTC offset (data row 1")
    assert "2 values without (data rows 2, 3" in msg
    assert "'2024-03-01T10:00:00+02:00'" in msg


def test_null_customer_ids_are_reported_with_their_rows(tmp_path):
    path = csv(tmp_path, HEADER + "a,2024-03-01,1\n,2024-03-01,2\n,2024-03-02,3\n")
    msg = only(problems("transactions", path))
    assert msg.startswith("transactions.customer_id: 2 null customer ids at data rows 2, 3 of ")


def test_non_numeric_amounts_are_reported_with_their_rows_and_values(tmp_path):
    path = csv(tmp_path, HEADER + "a,2024-03-01,1.50\nb,2024-03-01,$5\nc,2024-03-02,2\n")
    msg = only(problems("transactions", path))
    assert msg.startswith("transactions.amount: 1 non-numeric value at data row 2 of ")
    assert "'$5'" in msg


def test_non_numeric_scores_are_reported_with_their_rows(tmp_path):
    path = csv(tmp_path, "customer_id,timestamp,survey,score\na,2024-03-01,nps,9\nb,2024-03-01,nps,high\n")
    msg = only(problems("surveys", path))
    assert msg.startswith("surveys.score: 1 non-numeric value at data row 2 of ")
    assert "'high'" in msg


def test_negative_amounts_are_an_error_unless_returns_is_keep_or_drop(tmp_path, caplog):
    path = csv(tmp_path, HEADER + "a,2024-03-01,10\nb,2024-03-01,-4.5\nc,2024-03-02,3\nd,2024-03-03,-1\n")
    msg = only(problems("transactions", path))
    assert msg.startswith("transactions.amount: 2 negative amounts at data rows 2, 4 of ")
    assert "-4.5, -1.0" in msg and "data.returns" in msg
    kept = read_table("transactions", path, returns="keep")
    assert kept["amount"].tolist() == [10.0, -4.5, 3.0, -1.0]
    with caplog.at_level(logging.WARNING, logger="churnml.validation"):
        dropped = read_table("transactions", path, returns="drop")
    assert dropped["customer_id"].tolist() == ["a", "c"]
    assert "dropped 2 negative amounts" in caplog.text


def test_negative_money_counts_and_points_are_errors_naming_the_rows_whatever_data_returns_says(tmp_path):
    """Only a transaction amount can be a return; a negative MRR, spend, count or points value is an error."""
    spend = csv(tmp_path, "period,spend,new_customers\n2024-01-01,300,4\n2024-02-01,-20,3\n2024-03-01,10,-1\n",
                "spend.csv")
    assert problems("marketing_spend", spend, returns="keep") == [
        f"marketing_spend.spend: 1 negative spend value at data row 2 of {spend} (e.g. -20); fix: correct them: "
        "spend is money spent, 0 or more (a credit or refund is not a negative value here)",
        f"marketing_spend.new_customers: 1 negative new_customers value at data row 3 of {spend} (e.g. -1); fix: "
        "correct them: new_customers is customers acquired, 0 or more (a credit or refund is not a negative value "
        "here)"]
    subs = csv(tmp_path, "customer_id,start,end,mrr\na,2024-01-01,,-5\nb,2024-01-01,,\nc,2024-01-01,,0\n",
               "subs.csv")
    msg = only(problems("subscriptions", subs))
    assert msg.startswith(f"subscriptions.mrr: 1 negative mrr value at data row 1 of {subs} (e.g. -5.0)")
    loyalty = csv(tmp_path, "customer_id,enrolled_at,points_issued,points_redeemed\na,2024-01-01,-10,0\n"
                            "b,2024-01-01,5,-2\nc,2024-01-01,-1,\n", "loyalty.csv")
    assert [p.split(" (e.g.")[0] for p in problems("loyalty", loyalty)] == [
        f"loyalty.points_issued: 2 negative points_issued values at data rows 1, 3 of {loyalty}",
        f"loyalty.points_redeemed: 1 negative points_redeemed value at data row 2 of {loyalty}"]


def test_scores_outside_their_survey_scale_are_reported_with_rows_and_scales(tmp_path):
    path = csv(tmp_path, "customer_id,timestamp,survey,score\n"
                         "a,2024-03-01,csat,5\nb,2024-03-01,nps,11\nc,2024-03-01,csat,0\n"
                         "d,2024-03-01,ces,7\ne,2024-03-01,cli,1\nf,2024-03-01,nps,0\n")
    msg = only(problems("surveys", path))
    assert msg.startswith("surveys.score: 2 scores outside their survey's scale at data rows 2, 3 of ")
    assert "'nps 11.0', 'csat 0.0'" in msg
    assert "nps 0-10, csat 1-5, ces 1-7, cli 1-6" in msg


def test_scores_between_two_points_of_the_scale_are_reported_with_rows(tmp_path):
    """An NPS of 6.5 is neither a detractor's nor a passive's answer; 4.0 written with a decimal is a whole point."""
    path = csv(tmp_path, "customer_id,timestamp,survey,score\n"
                         "a,2024-03-01,nps,6.5\nb,2024-03-01,csat,4.0\nc,2024-03-01,ces,2.25\nd,2024-03-01,nps,9\n")
    msg = only(problems("surveys", path))
    assert msg.startswith(f"surveys.score: 2 scores that are not whole points at data rows 1, 3 of {path} "
                          "(e.g. 'nps 6.5', 'ces 2.25'); fix: give each answer as the point the customer chose")
    ok = csv(tmp_path, "customer_id,timestamp,survey,score\nb,2024-03-01,csat,4.0\n", "ok.csv")
    assert read_table("surveys", ok)["score"].tolist() == [4.0]


def test_unknown_survey_types_are_a_problem_and_known_ones_are_lower_cased(tmp_path):
    bad = csv(tmp_path, "customer_id,timestamp,survey,score\na,2024-03-01,NPS,9\nb,2024-03-01,nss,3\n")
    msg = only(problems("surveys", bad))
    assert msg.startswith("surveys.survey: 1 unknown survey type at data row 2 of ")
    assert "'nss'" in msg
    good = csv(tmp_path, "customer_id,timestamp,survey,score\na,2024-03-01,NPS,9\n", "ok.csv")
    assert read_table("surveys", good)["survey"].tolist() == ["nps"]


def test_whole_row_duplicates_are_an_error_unless_duplicates_is_keep_or_drop(tmp_path, caplog):
    path = csv(tmp_path, HEADER + "a,2024-03-01,10\nb,2024-03-01,5\na,2024-03-01,10\n"
                                  "a,2024-03-01T00:00:00,10\nb,2024-03-01,6\n")
    msg = only(problems("transactions", path))
    assert msg.startswith("transactions (whole rows): 2 duplicate rows at data rows 3, 4 of ")
    assert "e.g. data row 3 repeats data row 1" in msg
    assert "data.duplicates" in msg
    assert len(read_table("transactions", path, duplicates="keep")) == 5
    with caplog.at_level(logging.WARNING, logger="churnml.validation"):
        dropped = read_table("transactions", path, duplicates="drop")
    assert dropped["amount"].tolist() == [10.0, 5.0, 6.0]
    assert "dropped 2 duplicate rows" in caplog.text


def test_duplicates_of_a_table_key_are_reported_on_the_key(tmp_path):
    path = csv(tmp_path, "customer_id,region\na,north\nb,south\na,east\n")
    msg = only(problems("customers", path))
    assert msg.startswith("customers.customer_id: 1 duplicate row at data row 3 of ")
    assert "data row 3 repeats the customer_id of data row 1" in msg


def test_rows_at_or_after_the_declared_end_are_reported(tmp_path):
    path = csv(tmp_path, HEADER + "a,2024-06-30 23:59:59,1\nb,2024-07-01,1\nc,2024-08-01,1\n")
    msg = only(problems("transactions", path, data_end="2024-07-01"))
    assert msg.startswith("transactions.timestamp: 2 rows dated at or after data.end at data rows 2, 3 of ")
    assert "data.end (2024-07-01 00:00:00, UTC) is exclusive" in msg
    assert len(read_table("transactions", path, data_end="2024-08-01 00:00:01")) == 3


def test_data_end_is_a_local_time_and_rows_are_shown_as_written(tmp_path):
    # data.end 2024-07-01 is Berlin's midnight (2024-06-30 22:00 UTC): 06-30 23:30 local is before it,
    # 07-01 00:30 local (22:30 UTC) at or after it. The example is the file's text.
    path = csv(tmp_path, HEADER + "a,2024-06-30 23:30,1\nb,2024-07-01 00:30,1\n")
    msg = only(problems("transactions", path, data_end="2024-07-01", timezone="Europe/Berlin"))
    assert msg.startswith("transactions.timestamp: 1 row dated at or after data.end at data row 2 of ")
    assert "(e.g. '2024-07-01 00:30')" in msg
    assert msg.endswith("fix: data.end (2024-07-01 00:00:00, Europe/Berlin) is exclusive: remove those rows or set "
                        "data.end later")
    # with an offset, data.end is the same instant in Berlin's clock: 2024-06-30T22:00Z is Berlin's 07-01 00:00
    msg = only(problems("transactions", path, data_end="2024-06-30T22:00:00+00:00", timezone="Europe/Berlin"))
    assert "1 row dated at or after data.end at data row 2 of " in msg
    subs = csv(tmp_path, "customer_id,plan,start,end,mrr\nA,basic,2024-05-01 00:30,2024-05-01 00:10,9\n",
               name="subs.csv")
    msg = only(problems("subscriptions", subs, timezone="Europe/Berlin"))
    assert "end before start at data row 1 of " in msg and "(e.g. '2024-05-01 00:10')" in msg


def test_order_rules_compare_instants_across_a_daylight_saving_overlap():
    # Berlin's clocks go back at 03:00 CEST on 2024-10-27: opened 02:40 CEST, resolved 30 minutes later at
    # 02:10 CET. The wall clock runs backwards, the instants do not: no problem, and the times are Berlin's.
    raw = pd.DataFrame({"customer_id": ["a"], "opened_at": ["2024-10-27T02:40:00+02:00"],
                        "resolved_at": ["2024-10-27T02:10:00+01:00"]})
    out = validate_table("tickets", raw, timezone="Europe/Berlin")
    assert out["opened_at"].tolist() == [pd.Timestamp("2024-10-27 02:40")]
    assert out["resolved_at"].tolist() == [pd.Timestamp("2024-10-27 02:10")]
    # two purchases an hour apart show the same local time: two rows, not a duplicate
    tx = pd.DataFrame({"customer_id": ["a", "a"], "timestamp": ["2024-10-27T02:30:00+02:00", "2024-10-27T02:30:00+01:00"],
                       "amount": [5.0, 5.0]})
    assert validate_table("transactions", tx, timezone="Europe/Berlin")["timestamp"].tolist() == [
        pd.Timestamp("2024-10-27 02:30")] * 2
    # data.end is compared with the local times, as on Spark: 02:40 summer time is at or after 02:30
    late = tx.assign(timestamp=["2024-10-27T02:20:00+02:00", "2024-10-27T02:40:00+02:00"])
    with pytest.raises(SchemaError) as err:
        validate_table("transactions", late, data_end="2024-10-27 02:30", timezone="Europe/Berlin")
    assert only(err.value.problems).startswith("transactions.timestamp: 1 row dated at or after data.end at index 1 ")


def test_subscriptions_ending_before_they_start_are_reported(tmp_path):
    path = csv(tmp_path, "customer_id,start,end\na,2024-01-01,2024-02-01\nb,2024-03-01,2024-02-01\n"
                         "c,2024-03-01,\n")
    msg = only(problems("subscriptions", path))
    assert msg.startswith("subscriptions.end: 1 end before start at data row 2 of ")
    assert read_table("subscriptions", csv(tmp_path, "customer_id,start,end\nc,2024-03-01,\n", "ok.csv"))[
        "end"
    ].isna().all()


def test_tickets_resolved_before_they_were_opened_are_reported(tmp_path):
    path = csv(tmp_path, "customer_id,opened_at,resolved_at\na,2024-01-01 10:00,2024-01-01 09:00\n"
                         "b,2024-01-01 10:00,2024-01-02 10:00\n")
    msg = only(problems("tickets", path))
    assert msg.startswith("tickets.resolved_at: 1 resolved_at before opened_at at data row 1 of ")


def test_empty_transactions_are_an_empty_data_error_and_an_empty_optional_table_is_kept_typed(tmp_path, caplog):
    with pytest.raises(EmptyDataError, match=r"table 'transactions' \(.*\) has no rows; it needs at least one"):
        read_table("transactions", csv(tmp_path, "customer_id,timestamp,amount\n"))
    path = tmp_path / "events.csv"  # a nightly export of a quiet day: the header only
    path.write_text("customer_id,timestamp,event_type,value\n")
    with caplog.at_level(logging.WARNING, logger="churnml.validation"):
        out = read_table("events", path)
    assert len(out) == 0 and out.dtypes.astype(str).to_dict() == {
        "customer_id": "str", "timestamp": "datetime64[us]", "event_type": "str", "value": "float64"}
    assert [r.getMessage() for r in caplog.records] == [
        f"table 'events' ({path}) has no rows: it is taken as given and empty (no customer has any, so its features "
        "are their no-row values and its KPIs 0 or n/a); if this data is not recorded, leave the table out instead"]


def test_every_broken_rule_is_reported_at_once_in_one_error(tmp_path):
    path = csv(tmp_path, HEADER + "a,2024-03-01,10\n,2024-03-01,5\nc,not a date,7\nd,2024-03-02,-3\n"
                                  "a,2024-03-01,10\ne,2024-09-01,x\n")
    with pytest.raises(SchemaError) as exc:
        read_table("transactions", path, data_end="2024-07-01")
    found = exc.value.problems
    assert [p.split(":")[0] for p in found] == [
        "transactions.customer_id",
        "transactions.timestamp",
        "transactions.amount",
        "transactions.amount",
        "transactions.timestamp",
        "transactions (whole rows)",
    ]
    assert "null customer id at data row 2" in found[0]
    assert "unparseable timestamp at data row 3" in found[1]
    assert "non-numeric value at data row 6" in found[2]
    assert "negative amount at data row 4" in found[3]
    assert "at or after data.end at data row 6" in found[4]
    assert "duplicate row at data row 5" in found[5]
    assert str(exc.value).startswith("table 'transactions': 6 problems found:\n  - ")


def test_long_row_lists_are_capped_at_five_with_a_count_of_the_rest(tmp_path):
    path = csv(tmp_path, HEADER + "".join(f",2024-03-01,{i}\n" for i in range(8)))
    assert "at data rows 1, 2, 3, 4, 5 and 3 more of" in only(problems("transactions", path))


def test_a_dataframe_source_is_reported_by_index_label():
    raw = pd.DataFrame({"customer_id": ["a", None], "timestamp": ["2024-03-01", "2024-03-02"],
                        "amount": [1.0, 2.0]}, index=[10, 20])
    with pytest.raises(SchemaError, match="1 null customer id at index 20;"):
        validate_table("transactions", raw)


def test_invalid_options_are_config_errors():
    raw = pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-03-01"], "amount": [1.0]})
    with pytest.raises(ConfigError, match="data.timezone='Mars/Olympus'"):
        validate_table("transactions", raw, timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="data.returns='ignore'"):
        validate_table("transactions", raw, returns="ignore")  # type: ignore[arg-type]


# ---------------------------------------------------------------- conversions
def test_offsets_are_converted_to_naive_utc_exactly(tmp_path):
    path = csv(tmp_path, HEADER + "a,2024-03-01T10:00:00+02:00,1\nb,2024-03-01T10:00:00Z,1\n"
                                  "c,2024-07-01T23:30:00-05:00,1\n")
    out = read_table("transactions", path)
    assert out["timestamp"].dtype == "datetime64[us]"
    assert out["timestamp"].tolist() == [pd.Timestamp("2024-03-01 08:00"), pd.Timestamp("2024-03-01 10:00"),
                                         pd.Timestamp("2024-07-02 04:30")]


def test_several_offsets_are_converted_and_logged_not_rejected(tmp_path, caplog):
    path = csv(tmp_path, HEADER + "a,2024-03-30T23:00:00+01:00,1\nb,2024-03-31T23:00:00+02:00,1\n")
    with caplog.at_level(logging.INFO, logger="churnml.validation"):
        out = read_table("transactions", path)
    assert out["timestamp"].tolist() == [pd.Timestamp("2024-03-30 22:00"), pd.Timestamp("2024-03-31 21:00")]
    # one hour apart, as a zone's winter and summer time: a note, not a warning
    (note,) = [r for r in caplog.records if "UTC offsets" in r.getMessage()]
    assert note.levelno == logging.INFO
    assert "2 UTC offsets (+01:00: 1, +02:00: 1)" in note.getMessage()
    assert "as one zone's winter and summer time" in note.getMessage()


def test_offsets_are_checked_against_the_configured_zone(caplog):
    """Berlin's winter time is +01:00 and its summer time (from 2024-03-31 01:00 UTC) +02:00."""
    raw = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                        "timestamp": ["2024-03-30T23:00:00+01:00", "2024-03-31T23:00:00+02:00",
                                      "2024-03-30T23:00:00+02:00", "2024-01-03T23:00:00Z"],
                        "amount": 1.0})
    with caplog.at_level(logging.INFO, logger="churnml.validation"):
        validate_table("transactions", raw.iloc[:2], timezone="Europe/Berlin")
    (note,) = [r for r in caplog.records if "UTC offsets" in r.getMessage()]
    assert note.levelno == logging.INFO and "each is the offset of data.timezone = 'Europe/Berlin'" in note.getMessage()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="churnml.validation"):
        out = validate_table("transactions", raw, timezone="Europe/Berlin")
    # as Berlin's wall clock: 21:00 UTC on 03-30 is 22:00 winter time; 23:00 UTC on 01-03 is midnight on 01-04
    assert out["timestamp"].tolist() == [pd.Timestamp("2024-03-30 23:00"), pd.Timestamp("2024-03-31 23:00"),
                                         pd.Timestamp("2024-03-30 22:00"), pd.Timestamp("2024-01-04 00:00")]
    (warn,) = [r for r in caplog.records if "UTC offsets" in r.getMessage()]
    assert warn.levelno == logging.WARNING
    assert ("3 UTC offsets (Z: 1, +01:00: 1, +02:00: 2); each is converted to 'Europe/Berlin' time; 2 values (index 2, 3, e.g. "
            "'2024-03-30T23:00:00+02:00', '2024-01-03T23:00:00Z') are not the offset of data.timezone = "
            "'Europe/Berlin' at their time") in warn.getMessage()


def test_offsets_of_several_zones_are_a_warning_and_one_offset_is_silent(caplog):
    raw = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                        "timestamp": ["2024-03-30T23:00:00+0530", "2024-03-31T23:00:00-05:00",
                                      "2024-03-31T23:00:00+05", "2024-04-01T23:00:00+05:00"], "amount": 1.0})
    with caplog.at_level(logging.INFO, logger="churnml.validation"):
        out = validate_table("transactions", raw)
    assert out["timestamp"].tolist() == [pd.Timestamp("2024-03-30 17:30"), pd.Timestamp("2024-04-01 04:00"),
                                         pd.Timestamp("2024-03-31 18:00"), pd.Timestamp("2024-04-01 18:00")]
    (warn,) = [r for r in caplog.records if "UTC offsets" in r.getMessage()]
    assert warn.levelno == logging.WARNING
    assert "3 UTC offsets (-05:00: 1, +05:00: 2, +05:30: 1)" in warn.getMessage()  # +05 is +05:00
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="churnml.validation"):
        validate_table("transactions", raw.iloc[2:])
    assert "UTC offsets" not in caplog.text


def test_naive_timestamps_are_local_times_of_the_configured_zone_and_offsets_are_converted_to_it(tmp_path):
    path = csv(tmp_path, HEADER + "a,2024-03-01 10:00,1\nb,2024-07-01 10:00,1\nc,2024-03-01,1\n")
    expected = [pd.Timestamp("2024-03-01 10:00"), pd.Timestamp("2024-07-01 10:00"), pd.Timestamp("2024-03-01")]
    assert read_table("transactions", path)["timestamp"].tolist() == expected
    # naive times are the business's wall clock: they stay as written, and their days are Berlin's
    assert read_table("transactions", path, timezone="Europe/Berlin")["timestamp"].tolist() == expected
    # with an offset: the same instant on Seoul's clock (+09:00), a day later for the evening in New York
    aware = csv(tmp_path, HEADER + "a,2024-03-01T10:00:00-05:00,1\nb,2024-03-01T01:00:00Z,1\n", name="aware.csv")
    seoul = read_table("transactions", aware, timezone="Asia/Seoul")["timestamp"]
    assert seoul.dtype == "datetime64[us]"
    assert seoul.tolist() == [pd.Timestamp("2024-03-02 00:00"), pd.Timestamp("2024-03-01 10:00")]


def test_local_times_in_a_daylight_saving_overlap_or_gap_are_resolved_and_logged(tmp_path, caplog):
    path = csv(tmp_path, HEADER + "a,2024-10-27 02:30,1\nb,2024-03-31 02:30,1\nc,2024-05-01 10:00,1\n"
                                  "d,2024-03-31 02:10,1\n")
    with caplog.at_level(logging.WARNING, logger="churnml.validation"):
        out = read_table("transactions", path, timezone="Europe/Berlin")
    # overlap: taken as standard time (+01:00), the same wall clock; gap: shifted to 03:00 summer time
    assert out["timestamp"].tolist() == [pd.Timestamp("2024-10-27 02:30"), pd.Timestamp("2024-03-31 03:00"),
                                         pd.Timestamp("2024-05-01 10:00"), pd.Timestamp("2024-03-31 03:00")]
    assert ("transactions.timestamp: local times that fall in a daylight-saving change of data.timezone = "
            "'Europe/Berlin': 1 value in an overlap, when clocks go back (data row 1 of ") in caplog.text
    assert ("e.g. '2024-10-27 02:30') read as standard time; 2 values in a gap, when clocks go forward "
            "(data rows 2, 4 of ") in caplog.text
    assert "e.g. '2024-03-31 02:30', '2024-03-31 02:10') moved to the first time after it; fix: " in caplog.text


def test_aware_datetime_columns_are_converted_and_naive_ones_kept():
    aware = pd.Series(pd.to_datetime(["2024-03-01 10:00"]).tz_localize("Asia/Tokyo"))
    raw = pd.DataFrame({"customer_id": [7], "timestamp": aware, "amount": [1]})
    out = validate_table("transactions", raw)
    assert out["timestamp"].tolist() == [pd.Timestamp("2024-03-01 01:00")]
    assert out["customer_id"].tolist() == ["7"] and out["amount"].dtype == "float64"


def test_ids_keep_leading_zeros_and_extra_columns_are_kept_unchanged(tmp_path):
    path = csv(tmp_path, "customer_id,timestamp,amount,quantity,note\n007,2024-03-01,1.5,2,hello\n")
    out = read_table("transactions", path)
    assert out.columns.tolist() == ["customer_id", "timestamp", "amount", "quantity", "note"]
    assert out["customer_id"].tolist() == ["007"] and out["customer_id"].dtype == "str"
    assert out["quantity"].dtype == "float64" and out["note"].tolist() == ["hello"]


def test_compact_and_non_iso_dates_are_parsed(tmp_path, caplog):
    compact = csv(tmp_path, HEADER + "a,19970101,1\nb,19980630,1\n")
    assert read_table("transactions", compact)["timestamp"].tolist() == [
        pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30")]
    us = csv(tmp_path, HEADER + "a,03/15/2024,1\nb,12/01/2024,1\n", "us.csv")
    with caplog.at_level(logging.WARNING, logger="churnml.validation"):
        got = read_table("transactions", us)["timestamp"].tolist()
    assert got == [pd.Timestamp("2024-03-15"), pd.Timestamp("2024-12-01")]
    assert "inferred format '%m/%d/%Y'" in caplog.text


def test_flags_counts_and_dates_get_their_canonical_types(tmp_path):
    tickets = csv(tmp_path, "customer_id,opened_at,first_contact_resolved\na,2024-01-01,yes\n"
                            "b,2024-01-02,0\nc,2024-01-03,\nd,2024-01-04,maybe\n")
    msg = only(problems("tickets", tickets))
    assert msg.startswith("tickets.first_contact_resolved: 1 value that is not true/false at data row 4")
    ok = read_table("tickets", csv(tmp_path, "customer_id,opened_at,first_contact_resolved\n"
                                             "a,2024-01-01,yes\nb,2024-01-02,0\nc,2024-01-03,\n", "t.csv"))
    assert ok["first_contact_resolved"].tolist() == [True, False, pd.NA]
    spend = read_table("marketing_spend", csv(tmp_path, "period,spend,new_customers\n2024-01-01,100,3\n",
                                              "s.csv"))
    assert spend["period"].tolist() == [pd.Timestamp("2024-01-01")]
    assert spend["new_customers"].dtype == "int64" and spend["spend"].dtype == "float64"


def test_validation_does_not_change_the_raw_frame():
    raw = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["2024-03-01", "2024-03-02"],
                        "amount": np.array([1, 2])})
    before = raw.copy()
    validate_table("transactions", raw)
    pd.testing.assert_frame_equal(raw, before)


FAR = ("fix: a placeholder date such as 9999-12-31 or 0001-01-01 (or a spreadsheet's 1899-12-30) is not a time: "
       "correct those rows, leave the cell empty where the column may be empty, or remove them")


def test_placeholder_times_outside_1900_to_2199_are_refused_but_open_ends_may_be_far_ahead(tmp_path):
    path = csv(tmp_path, "customer_id,timestamp,amount\na,2024-01-01,10\nb,9999-12-31,5\nc,0001-01-01,5\n"
                         "d,1899-12-31 23:59,5\ne,1900-01-01,1\nf,2199-12-31 23:59,1\n")
    assert problems("transactions", path) == [
        f"transactions.timestamp: 3 times outside the years 1900-2199 at data rows 2, 3, 4 of {path} (e.g. "
        f"'9999-12-31', '0001-01-01', '1899-12-31 23:59'); {FAR}"]
    # "not yet" written far ahead: an unresolved ticket, an open subscription, no cancellation request
    tickets = csv(tmp_path, "customer_id,opened_at,resolved_at\na,2024-01-01,9999-12-31\nb,2024-01-01,\n",
                  "tickets.csv")
    assert read_table("tickets", tickets)["resolved_at"].tolist()[0] == pd.Timestamp("9999-12-31")
    subs = csv(tmp_path, "customer_id,start,end,cancel_requested_at\na,2024-01-01,9999-12-31,9999-12-31\n"
                         "b,2024-01-01,,\n", "subs.csv")
    assert read_table("subscriptions", subs)["end"].tolist()[0] == pd.Timestamp("9999-12-31")  # open, as empty
    customers = csv(tmp_path, "customer_id,signup_at\na,1899-12-30\nb,2024-01-01\n", "c.csv")  # Excel's day 0
    assert problems("customers", customers) == [
        f"customers.signup_at: 1 time outside the years 1900-2199 at data row 1 of {customers} (e.g. '1899-12-30'); "
        f"{FAR}"]
    # the years are the business zone's: 1900-01-01 05:00 in Tokyo is data, 20:00 UTC the day before is not
    late = csv(tmp_path, "customer_id,timestamp,amount\na,1900-01-01T05:00:00+09:00,1\n", "late.csv")
    assert len(read_table("transactions", late, timezone="Asia/Tokyo")) == 1
    with pytest.raises(SchemaError, match="1 time outside the years 1900-2199"):
        read_table("transactions", late)


EPOCH = ("1970-01-01 00:00 (the Unix epoch, time 0; no other time of the table within a year)",
         "fix: such a time is an export's placeholder for an unknown time, and read as a time it puts cutoffs, "
         "windows and KPI periods in 1970: write the real times (or the earliest known, e.g. when the "
         "record was migrated), or remove those rows{}; if they are real times of 1 January 1970, give the "
         "table's history around them too (a time 0 is taken for real when another time of the table is within a "
         "year of it)")


def test_times_at_the_unix_epoch_years_before_the_others_are_refused_as_placeholders(tmp_path):
    what, fix = EPOCH
    path = csv(tmp_path, "customer_id,timestamp,amount\na,2024-01-01,10\nb,1970-01-01,5\nc,2024-03-05,5\n"
                         "d,1970-01-01 00:00:00,5\ne,1970-01-01T00:00:00Z,1\n")
    # the three spellings of time 0 (naive, with a time, with an offset: that one also mixes zones, problem 0)
    assert problems("transactions", path)[1] == (
        f"transactions.timestamp: 3 placeholder times {what} at data rows 2, 4, 5 of {path} (e.g. '1970-01-01', "
        f"'1970-01-01 00:00:00', '1970-01-01T00:00:00Z'); {fix.format('')}")
    numbers = csv(tmp_path, "customer_id,timestamp,amount\na,1704067200,10\nb,0,5\n", "n.csv")  # epoch 0
    assert problems("transactions", numbers, date_format="epoch_seconds") == [
        f"transactions.timestamp: 1 placeholder time {what} at data row 2 of {numbers} (e.g. '0'); {fix.format('')}"]
    # in Berlin, the naive '1970-01-01' is local midnight and the offset's time 0 is 01:00: both are time 0
    naive = csv(tmp_path, "customer_id,timestamp,amount\na,2024-01-01,10\nb,1970-01-01,5\n", "naive.csv")
    aware = csv(tmp_path, "customer_id,timestamp,amount\na,2024-01-01T00:00:00+01:00,10\n"
                          "b,1970-01-01T00:00:00+00:00,5\n", "aware.csv")
    for path in (naive, aware):
        assert problems("transactions", path, timezone="Europe/Berlin")[0].startswith(
            f"transactions.timestamp: 1 placeholder time {what} at data row 2 of {path}")
    # an optional column's placeholder may be left empty (and is not named again as an end before its start)
    subs = csv(tmp_path, "customer_id,start,end\na,2024-01-01,1970-01-01\nb,2024-02-01,\n", "subs.csv")
    assert problems("subscriptions", subs) == [
        f"subscriptions.end: 1 placeholder time {what} at data row 1 of {subs} (e.g. '1970-01-01'); "
        f"{fix.format(', or leave those cells empty (the column may be empty)')}"]


def test_a_history_around_1970_keeps_its_times_at_the_unix_epoch(tmp_path):
    dense = csv(tmp_path, "customer_id,timestamp,amount\na,1970-01-01,10\nb,1970-01-02,5\nc,1970-12-31,5\n")
    assert read_table("transactions", dense)["timestamp"].tolist() == [
        pd.Timestamp("1970-01-01"), pd.Timestamp("1970-01-02"), pd.Timestamp("1970-12-31")]
    # another time of the table within a year of it, before or after, in any of its time columns
    before = csv(tmp_path, "customer_id,timestamp,amount\na,1970-01-01,10\nb,1969-01-02,5\nc,2024-01-01,5\n", "b.csv")
    assert len(read_table("transactions", before)) == 3
    subs = csv(tmp_path, "customer_id,start,end\na,1969-06-01,1970-01-01\nb,2024-01-01,\n", "s.csv")
    assert read_table("subscriptions", subs)["end"].tolist()[0] == pd.Timestamp("1970-01-01")
    # a year and a day away is too far: time 0 alone
    far = csv(tmp_path, "customer_id,timestamp,amount\na,1970-01-01,10\nb,1971-01-02,5\n", "f.csv")
    assert problems("transactions", far)[0].startswith("transactions.timestamp: 1 placeholder time 1970-01-01")


def test_amounts_of_1e20_or_more_are_refused_before_the_exact_sums_would_overflow(tmp_path):
    path = csv(tmp_path, "customer_id,timestamp,amount\na,2024-01-01,1e32\nb,2024-01-02,9e19\nc,2024-01-03,-2e20\n")
    assert problems("transactions", path, returns="keep") == [
        f"transactions.amount: 2 amounts of 1e20 or more in size at data rows 1, 3 of {path} (e.g. 1e+32, -2e+20); "
        "fix: churnml adds amounts exactly (to 6 decimals, 38 digits in all), and no amount is this large: correct "
        "those rows (a misplaced decimal mark? an id or a date in this column?)"]
    # numbers churnml does not add exactly are not bounded: an event's value in nanoseconds, a score (its scale)
    events = csv(tmp_path, "customer_id,timestamp,event_type,value\na,2024-01-01,download,1.7e18\n", "e.csv")
    assert read_table("events", events)["value"].tolist() == [1.7e18]
    surveys = csv(tmp_path, "customer_id,timestamp,survey,score\na,2024-01-01,nps,1e32\n", "s.csv")
    assert [p.split(" at ")[0] for p in problems("surveys", surveys)] == [
        "surveys.score: 1 score outside its survey's scale"]


def test_a_transactions_table_of_returns_only_is_read_with_a_warning_naming_the_likely_cause(tmp_path, caplog):
    path = csv(tmp_path, "customer_id,timestamp,amount\na,2024-01-01,-10\nb,2024-01-02,-5\n")
    with caplog.at_level(logging.WARNING, logger="churnml.validation"):
        assert len(read_table("transactions", path, returns="keep")) == 2
    assert [r.getMessage() for r in caplog.records] == [
        f"transactions ({path}): every one of its 2 rows is a return (negative amount), so nobody has bought: no "
        "customer is at risk and the KPIs have no purchase to count. Check the amounts' sign (are purchases "
        "written negative?)"]


def test_a_customer_on_two_rows_is_refused_under_duplicates_keep_naming_the_file_rows(tmp_path):
    path = csv(tmp_path, "customer_id,region\nA,eu\nB,us\nA,eu\nC,us\n", "customers.csv")
    expected = [f"customers.customer_id: 1 duplicate row at data row 3 of {path} (e.g. data row 3 repeats the "
                "customer_id of data row 1); fix: each customer may appear once: merge or remove the repeats, or set "
                "data.duplicates to 'drop' to keep the first of each customer's rows ('keep' cannot apply to a table "
                "of one row per customer)"]
    assert problems("customers", path, duplicates="keep") == problems("customers", path) == expected
    assert read_table("customers", path, duplicates="drop")["customer_id"].tolist() == ["A", "B", "C"]
    # a table without a key keeps its repeated rows under keep
    tx = csv(tmp_path, "customer_id,timestamp,amount\nA,2024-01-01,1\nA,2024-01-01,1\n", "tx.csv")
    assert len(read_table("transactions", tx, duplicates="keep")) == 2
