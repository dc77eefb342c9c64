"""Row-level validation of Spark tables: the rules, policies and messages of churnml.validation.

One local[2] session for the module. Every frame is hand-typed; counts and example ids are exact.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnml.config import load_config
from churnml.errors import ConfigError, EmptyDataError, SchemaError
from churnml.io import write_frame
from churnml.validation import validate_table
from tests.conftest import frame

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _spark_check(spark, table, raw, **policies):
    from churnml.spark import from_pandas
    from churnml.spark.validate import validate_spark_table

    return validate_spark_table(table, from_pandas(spark, raw), **policies)


def _problems(check) -> list[str]:
    with pytest.raises(SchemaError) as info:
        check()
    return info.value.problems


def _verdict(problem: str) -> tuple[str, str]:
    """(where, count and noun) and the fix of one problem: what both engines must agree on."""
    head = re.match(r"^(.+?: [\d,]+ .+?)(?: at | in | \(e\.g\.|; fix:)", problem)
    assert head, problem
    return head.group(1), problem.split("; fix: ", 1)[1]


def _local(df) -> pd.DataFrame:
    from churnml.spark import to_pandas

    return to_pandas(df)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns)).reset_index(drop=True)


BAD_TX = frame(
    customer_id=["A", "A", "B", None, "C", "C", "D", "E", "E"],
    timestamp=["2024-01-01", "2024-01-02", None, "2024-01-03", "2024-01-04", "2024-01-04", "2024-01-05",
               "2024-01-06", "2024-01-07"],
    amount=[1.0, -2.0, 3.0, 4.0, 5.0, 5.0, float("inf"), -1.0, -7.5],
)

BAD = {  # table -> a raw frame breaking each of its rules
    "transactions": BAD_TX,
    "surveys": frame(customer_id=["A", "B", "C", "D", "E", "F"], timestamp=["2024-01-01"] * 6,
                     survey=[" NPS", "csat", "stars", "ces", "nps", "nps"], score=["11", "3", "4", "x", "-1", "6.5"]),
    "subscriptions": frame(customer_id=["A", "B", "C"], start=["2024-01-10", "2024-01-10", "2024-02-01"],
                           end=["2024-01-09", None, "2024-01-31"], plan=["basic", "pro", None],
                           mrr=["10", "-5", None]),
    "tickets": frame(customer_id=["A", "B", "C"], opened_at=["2024-01-10", "2024-01-10", "2024-01-10"],
                     resolved_at=["2024-01-12", "2024-01-09 23:00", None],
                     first_contact_resolved=["yes", "maybe", None]),
    "customers": frame(customer_id=["A", "B", "A", "C", "", "C"], region=["n", "s", "e", "w", "n", "w"]),
    "events": frame(customer_id=["A", "A", "B"], timestamp=["2024-01-01", "2024-01-01", "2024-01-02"],
                    event_type=["login", "login", None]),
}


@pytest.fixture(scope="module")
def on_spark(spark) -> dict[str, list[str]]:
    """The problems Spark finds in each table of BAD (one validation each, shared by the tests)."""
    return {table: _problems(lambda raw=raw, table=table: _spark_check(spark, table, raw))
            for table, raw in BAD.items()}


# ---------------------------------------------------------------------------------------- errors
def test_every_transactions_rule_raises_with_its_count_example_ids_and_fix(on_spark):
    assert on_spark["transactions"] == [
        "transactions.customer_id: 1 null customer id (e.g. timestamp='2024-01-03 00:00:00'); fix: fill in "
        "customer_id or remove those rows (it is required in every row); in a CSV file 'NA', 'NULL', 'None' and the "
        "like are missing too: if such a value is real, set read_options: {keep_default_na: false, na_values: ['']}",
        "transactions.timestamp: 1 null timestamp value (e.g. customer_id='B'); fix: fill in timestamp or "
        "remove those rows (it is required in every row)",
        "transactions.amount: 1 non-numeric value (e.g. customer_id='D' amount=inf); fix: write plain numbers "
        "('12.50': a dot for decimals, no currency sign or thousands separator)",
        "transactions.amount: 3 negative amounts (e.g. customer_id='A' amount=-2.0, customer_id='E' "
        "amount=-7.5, customer_id='E' amount=-1.0); fix: if they are returns, set data.returns (in Python: "
        "returns=) to 'keep' (the KPI revenue is net of them, the returns features count them) or 'drop'; "
        "otherwise correct them",
        "transactions (whole rows): 1 duplicate row (e.g. customer_id='C' timestamp='2024-01-04 00:00:00' "
        "copies=2); fix: if they are real repeat events, set data.duplicates (in Python: duplicates=) to 'keep'; "
        "else 'drop'",
    ]


def test_the_other_tables_rules_name_the_column_the_count_and_the_example_rows(on_spark):
    assert [p.split("; fix:")[0] for p in on_spark["surveys"]] == [
        "surveys.score: 1 non-numeric value (e.g. customer_id='D' score='x')",
        "surveys.survey: 1 unknown survey type (e.g. customer_id='C' survey='stars')",
        "surveys.score: 2 scores outside their survey's scale (e.g. customer_id='A' survey='nps' score=11.0, "
        "customer_id='E' survey='nps' score=-1.0)",
        "surveys.score: 1 score that is not a whole point (e.g. customer_id='F' survey='nps' score=6.5)",
    ]
    assert [p.split("; fix:")[0] for p in on_spark["subscriptions"]] == [
        "subscriptions.mrr: 1 negative mrr value (e.g. customer_id='B' mrr=-5.0)",
        "subscriptions.end: 2 ends before start (e.g. customer_id='A' start='2024-01-10 00:00:00' "
        "end='2024-01-09 00:00:00', customer_id='C' start='2024-02-01 00:00:00' end='2024-01-31 00:00:00')"]
    assert [p.split("; fix:")[0] for p in on_spark["tickets"]] == [
        "tickets.first_contact_resolved: 1 value that is not true/false (e.g. customer_id='B' "
        "first_contact_resolved='maybe')",
        "tickets.resolved_at: 1 resolved_at before opened_at (e.g. customer_id='B' opened_at='2024-01-10 "
        "00:00:00' resolved_at='2024-01-09 23:00:00')"]
    assert [p.split("; fix:")[0] for p in on_spark["customers"]] == [
        "customers.customer_id: 1 null customer id",  # '' is missing, as in pandas; no other column to show
        "customers.customer_id: 2 duplicate rows (e.g. customer_id='A' copies=2, customer_id='C' copies=2)"]


def test_rows_at_or_after_data_end_and_nan_amounts_are_errors(spark):
    from pyspark.sql import functions as F

    from churnml.spark import from_pandas
    from churnml.spark.validate import validate_spark_table

    raw = frame(customer_id=["A", "B", "C"], timestamp=["2024-01-31 23:59", "2024-02-01", "2024-03-01"],
                amount=[float("nan"), 2.0, 3.0])
    nan = from_pandas(spark, raw).withColumn(  # Arrow turns NaN into null: put a real NaN back
        "amount", F.when(F.col("customer_id") == "A", F.lit(float("nan"))).otherwise(F.col("amount")))
    problems = _problems(lambda: validate_spark_table("transactions", nan, data_end="2024-02-01"))
    pandas = _problems(lambda: validate_table("transactions", raw, data_end="2024-02-01"))
    assert [_verdict(p) for p in problems] == [_verdict(p) for p in pandas]
    assert [p.split("; fix:")[0] for p in problems] == [
        "transactions.amount: 1 null amount value (e.g. customer_id='A')",
        "transactions.timestamp: 2 rows dated at or after data.end (e.g. customer_id='B' "
        "timestamp='2024-02-01 00:00:00', customer_id='C' timestamp='2024-03-01 00:00:00')"]
    assert "data.end (2024-02-01 00:00:00, UTC) is exclusive" in problems[1]


def test_policies_are_checked_and_text_times_are_refused_before_any_row_is_read(spark):
    from churnml.spark import from_pandas
    from churnml.spark.validate import validate_spark_table

    with pytest.raises(ConfigError, match=r"data.returns='never'"):
        _spark_check(spark, "transactions", BAD_TX, returns="never")
    text = from_pandas(spark, pd.DataFrame({"customer_id": ["A"], "timestamp": ["2024-01-01"], "amount": [1.0]}))
    with pytest.raises(SchemaError, match=r"'timestamp' must be a timestamp, found string"):
        validate_spark_table("transactions", text)


# ---------------------------------------------------------------------------------------- parity
@pytest.mark.parametrize("table", list(BAD))
def test_the_same_table_gives_the_same_verdict_on_pandas_and_spark(on_spark, table):
    pandas = _problems(lambda: validate_table(table, BAD[table]))
    assert [_verdict(p) for p in on_spark[table]] == [_verdict(p) for p in pandas]


def test_drop_removes_exactly_the_rows_pandas_drops_and_logs_each_count(spark, caplog):
    tx = BAD_TX.iloc[[0, 1, 4, 5, 7, 8]]  # the negative amounts and the duplicate, nothing else wrong
    caplog.set_level(logging.WARNING, logger="churnml.spark.validate")
    got = _local(_spark_check(spark, "transactions", tx, returns="drop", duplicates="drop"))
    expected = validate_table("transactions", tx, returns="drop", duplicates="drop")
    pd.testing.assert_frame_equal(_sorted(got), _sorted(expected))
    assert sorted(got["amount"]) == [1.0, 5.0]
    assert [r.getMessage() for r in caplog.records if r.name == "churnml.spark.validate"] == [
        "transactions: dropped 3 negative amounts (data.returns = drop)",
        "transactions: dropped 1 duplicate rows (data.duplicates = drop)"]


def test_keep_keeps_the_returns_and_the_repeats(spark):
    tx = BAD_TX.iloc[[0, 1, 4, 5, 7, 8]]
    got = _local(_spark_check(spark, "transactions", tx, returns="keep", duplicates="keep"))
    pd.testing.assert_frame_equal(_sorted(got), _sorted(tx))


def test_dropping_key_duplicates_keeps_one_row_per_customer_the_smallest(spark):
    customers = BAD["customers"].iloc[[0, 1, 2, 3, 5]]
    got = _local(_spark_check(spark, "customers", customers, duplicates="drop")).sort_values("customer_id")
    assert got["customer_id"].tolist() == ["A", "B", "C"] and got["region"].tolist() == ["e", "s", "w"]


def test_a_clean_table_passes_unchanged_and_text_becomes_canonical(spark, tiny_surveys):
    got = _local(_spark_check(spark, "surveys", tiny_surveys))
    pd.testing.assert_frame_equal(got, tiny_surveys)
    raw = tiny_surveys.assign(survey=[" NPS", "nps", "CSat ", "nps"], score=["9", "4", "5.0", "10"],
                              extra=[1, 2, 3, 4])
    canon = _local(_spark_check(spark, "surveys", raw))
    pd.testing.assert_frame_equal(canon.drop(columns="extra"), tiny_surveys)
    pd.testing.assert_frame_equal(canon, validate_table("surveys", raw))  # extras kept, as pandas does


def test_an_empty_table_and_a_table_emptied_by_drop_are_empty_data_errors(spark):
    with pytest.raises(EmptyDataError, match="table 'transactions' has no rows"):
        _spark_check(spark, "transactions", BAD_TX.iloc[:0])
    with pytest.raises(EmptyDataError, match="no rows left after dropping returns"):
        _spark_check(spark, "transactions", BAD_TX.iloc[[1, 7]], returns="drop")


# ------------------------------------------------------------------------------------ wiring
def test_parquet_read_through_the_config_follows_data_returns_and_duplicates(spark, tmp_path):
    from churnml.spark import tables_from_config

    tx = BAD_TX.iloc[[0, 1, 4, 5, 7, 8]]
    write_frame(tx, tmp_path / "transactions.parquet")
    write_frame(BAD["events"].iloc[:2], tmp_path / "events.parquet")
    sets = ["data.source=files", f"data.tables.transactions.path={tmp_path / 'transactions.parquet'}",
            f"data.tables.events.path={tmp_path / 'events.parquet'}"]
    problems = _problems(lambda: tables_from_config(spark, load_config(None, sets)))
    assert [p.split(" (e.g.")[0] for p in problems] == [
        f"transactions.amount: 3 negative amounts at data rows 2, 5, 6 of {tmp_path / 'transactions.parquet'}",
        f"transactions (whole rows): 1 duplicate row at data row 4 of {tmp_path / 'transactions.parquet'}",
        f"events (whole rows): 1 duplicate row at data row 2 of {tmp_path / 'events.parquet'}"]
    got = tables_from_config(spark, load_config(None, [*sets, "data.returns=drop", "data.duplicates=keep"]))
    assert (got.transactions.count(), got.events.count()) == (3, 2)


def test_a_config_of_csv_and_parquet_tables_hands_only_the_csv_from_pandas_and_spark_reads_the_parquet(
        spark, tmp_path, caplog):
    from churnml.io import load_tables
    from churnml.spark import tables_from_config, to_pandas

    tx = tmp_path / "transactions.parquet"
    write_frame(BAD_TX.iloc[[0, 1, 4, 7]], tx)  # A 1.0, A -2.0, C 5.0, E -1.0
    events = tmp_path / "events.csv"
    events.write_text("customer_id,timestamp,event_type\nA,2024-01-01,login\nC,2024-01-02,login\n"
                      "A,2024-01-01,login\n")
    sets = ["data.source=files", f"data.tables.transactions.path={tx}", f"data.tables.events.path={events}"]
    with caplog.at_level(logging.INFO, logger="churnml.spark.tables"):
        problems = _problems(lambda: tables_from_config(spark, load_config(None, sets)))
    assert problems == [  # every table's problems at once; Spark's examples show the id (pandas': the value)
        f"events (whole rows): 1 duplicate row at data row 3 of {events} (e.g. data row 3 repeats data row 1); "
        "fix: if they are real repeat events, set data.duplicates (in Python: duplicates=) to 'keep'; else 'drop'",
        f"transactions.amount: 2 negative amounts at data rows 2, 4 of {tx} (e.g. customer_id='A' amount=-2.0, "
        "customer_id='E' amount=-1.0); fix: if they are returns, set data.returns (in Python: returns=) to 'keep' "
        "(the KPI revenue is net of them, the returns features count them) or 'drop'; otherwise correct them"]
    assert ("data.tables events: CSV read by churnml.io (pandas, on the driver) and handed to Spark; transactions "
            "read by Spark") in caplog.text
    cfg = load_config(None, [*sets, "data.returns=keep", "data.duplicates=keep"])
    got, local = tables_from_config(spark, cfg), load_tables(cfg)
    assert [Path(f).name for f in got.transactions.inputFiles()] == ["transactions.parquet"]
    assert got.events.inputFiles() == []  # handed over from memory
    for name in ("transactions", "events"):
        frame_ = getattr(local, name)
        pd.testing.assert_frame_equal(_sorted(to_pandas(getattr(got, name))), _sorted(frame_[list(frame_.columns)]))


def test_a_folder_in_the_config_is_read_by_spark_and_by_read_table_naming_the_same_file_and_row(spark, tmp_path):
    from churnml.io import read_table
    from churnml.spark import tables_from_config, to_pandas

    folder = tmp_path / "transactions"  # no suffix: format auto takes a folder as Parquet files
    folder.mkdir()
    write_frame(BAD_TX.iloc[[0, 4]], folder / "part-0.parquet")
    write_frame(BAD_TX.iloc[[7, 1]], folder / "part-1.parquet")
    (folder / "_SUCCESS").write_text("")
    sets = ["data.source=files", f"data.tables.transactions.path={folder}"]
    spark_problems = _problems(lambda: tables_from_config(spark, load_config(None, sets)))
    with pytest.raises(SchemaError) as duck:
        read_table("transactions", folder)
    where = f"transactions.amount: 2 negative amounts at data rows 1, 2 of {folder / 'part-1.parquet'}"
    assert [p.split(" (e.g.")[0] for p in spark_problems] == [where]
    assert [p.split(" (e.g.")[0] for p in duck.value.problems] == [where]
    got = to_pandas(tables_from_config(spark, load_config(None, [*sets, "data.returns=keep"])).transactions)
    key = ["customer_id", "timestamp", "amount"]
    pd.testing.assert_frame_equal(got[key].sort_values(key, ignore_index=True),
                                  read_table("transactions", folder, returns="keep")[key].sort_values(
                                      key, ignore_index=True))


def test_spark_dataframes_are_validated_and_pandas_frames_are_taken_as_canonical(spark, tiny_tx):
    from churnml.spark import from_pandas, spark_tables

    given = spark_tables(spark, {"transactions": tiny_tx})  # pandas: trusted (churnml.io validated it)
    assert given.transactions.count() == len(tiny_tx)
    with pytest.raises(SchemaError, match=r"transactions.amount: 1 negative amount \(e.g. customer_id='A'"):
        spark_tables(spark, {"transactions": from_pandas(spark, tiny_tx)})
    kept = spark_tables(spark, {"transactions": from_pandas(spark, tiny_tx)}, returns="keep")
    np.testing.assert_array_equal(np.sort(_local(kept.transactions)["amount"]), np.sort(tiny_tx["amount"]))


def test_example_rows_do_not_depend_on_the_partitioning(spark):
    from churnml.spark import from_pandas
    from churnml.spark.validate import validate_spark_table

    raw = frame(customer_id=[f"c{i:02d}" for i in range(20)], timestamp=["2024-01-01"] * 20,
                amount=[-float(i + 1) for i in range(20)])
    df = from_pandas(spark, raw)
    seen = {tuple(_problems(lambda d=d: validate_spark_table("transactions", d)))
            for d in (df, df.orderBy(df["amount"]), df.repartition(3, "amount"))}
    assert len(seen) == 1
    assert "e.g. customer_id='c00' amount=-1.0, customer_id='c01' amount=-2.0" in next(iter(seen))[0]


def test_java_number_suffixes_are_not_numbers_on_spark_as_on_pandas(spark):
    raw = frame(customer_id=["A", "B", "C", "D", "E"], timestamp=["2024-01-01"] * 5,
                amount=["1d", "2f", "12.5D", "0x1p4", "3"])  # Java reads all four, '0x1p4' as 16
    on_spark = _problems(lambda: _spark_check(spark, "transactions", raw))
    on_pandas = _problems(lambda: validate_table("transactions", raw))
    assert [_verdict(p) for p in on_spark] == [_verdict(p) for p in on_pandas]
    assert on_spark[0].startswith("transactions.amount: 4 non-numeric values")


def test_whole_number_ids_read_as_floats_get_the_ids_pandas_gives(spark):
    raw = pd.DataFrame({"customer_id": [7.0, 12.0, 1e20, -1.5e19],  # beyond 64 bits: exponent form, no overflow
                        "timestamp": pd.to_datetime(["2024-01-01"] * 4).astype("datetime64[us]"),
                        "amount": [1.0, 2.0, 3.0, 4.0]})
    got = _local(_spark_check(spark, "transactions", raw))["customer_id"].tolist()
    assert got == validate_table("transactions", raw)["customer_id"].tolist() == ["7", "12", "1e+20", "-1.5e+19"]


def test_ids_are_stripped_of_the_white_space_python_strips_also_the_separators_u001c_to_u001f(spark):
    raw = frame(customer_id=["A", "A\x1f", "\x1cA", " A\u3000", "B"], timestamp=["2024-01-01"] * 5,
                amount=[1.0, 2.0, 3.0, 4.0, 5.0])
    got = _local(_spark_check(spark, "transactions", raw, duplicates="keep"))["customer_id"].tolist()
    assert got == validate_table("transactions", raw, duplicates="keep")["customer_id"].tolist()
    assert sorted(got) == ["A", "A", "A", "A", "B"]


def test_text_columns_are_stripped_and_blank_is_null_as_on_the_pandas_path(spark):
    raw = frame(customer_id=["A", "A", "B", "B"], timestamp=["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
                event_type=["login ", "login", "\x1cemail_open\u3000", "email_open"], value=[1.0, 2.0, 3.0, 4.0])
    got = _local(_spark_check(spark, "events", raw))
    assert got["event_type"].tolist() == validate_table("events", raw)["event_type"].tolist()
    assert got["event_type"].tolist() == ["login", "login", "email_open", "email_open"]
    subs = frame(customer_id=["A", "B", "C"], start=["2024-01-01"] * 3, end=[None] * 3, plan=[" Pro", "  ", "Pro"])
    plans = _local(_spark_check(spark, "subscriptions", subs))["plan"]
    assert plans.isna().tolist() == validate_table("subscriptions", subs)["plan"].isna().tolist() == [False, True, False]
    assert plans.dropna().tolist() == ["Pro", "Pro"]
    # a required text of spaces is a missing value on both engines (the null rule), not an unknown survey type
    for table, raw in (("events", frame(customer_id=["A"], timestamp=["2024-01-01"], event_type=["   "])),
                       ("surveys", frame(customer_id=["A"], timestamp=["2024-01-01"], survey=["  "], score=[9.0]))):
        column = "event_type" if table == "events" else "survey"
        on_spark = _problems(lambda table=table, raw=raw: _spark_check(spark, table, raw))
        with pytest.raises(SchemaError) as on_pandas:
            validate_table(table, raw)
        assert [p.split(" (e.g.")[0].split(";")[0] for p in on_spark] == [
            p.split(" at index")[0].split(";")[0] for p in on_pandas.value.problems] == [
            f"{table}.{column}: 1 null {column} value"]


def test_stripped_ids_and_text_are_counted_in_the_warning_pandas_gives(spark, caplog):
    raw = frame(customer_id=["   ", " A", " B", "B\t", "A", "C"], timestamp=[f"2024-01-0{d}" for d in range(1, 7)],
                event_type=["login", "login ", "login", "x", "x", "x"], value=[1.0] * 6)
    said = {}
    for engine, check, logger in (("spark", lambda: _spark_check(spark, "events", raw, duplicates="keep"),
                                   "churnml.spark.validate"),
                                  ("pandas", lambda: validate_table("events", raw, duplicates="keep"),
                                   "churnml.validation")):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=logger), pytest.raises(SchemaError, match="1 null customer id"):
            check()
        said[engine] = [r.getMessage() for r in caplog.records if "stripped" in r.getMessage()]
    # the examples are the first rows on pandas, the smallest values on Spark: the same here
    assert said["spark"] == said["pandas"] == [
        "events.customer_id: stripped surrounding white space from 4 ids (e.g. '   ' -> missing, ' A' -> 'A', "
        "' B' -> 'B'); ids that differ only by it are one customer, blank ones are missing",
        "events.event_type: stripped surrounding white space from 1 value (e.g. 'login ' -> 'login'); values that "
        "differ only by it are one, blank ones are missing"]


def test_placeholder_times_are_refused_as_on_the_pandas_path_and_an_open_subscription_end_kept(spark):
    raw = frame(customer_id=["A", "B", "C"], timestamp=["2024-01-01", "9999-12-31", "1899-12-31 23:59"],
                amount=[1.0, 2.0, 3.0])
    spark_problems = _problems(lambda: _spark_check(spark, "transactions", raw))
    assert spark_problems == [
        "transactions.timestamp: 2 times outside the years 1900-2199 (e.g. customer_id='B' timestamp='9999-12-31 "
        "00:00:00', customer_id='C' timestamp='1899-12-31 23:59:00'); fix: a placeholder date such as 9999-12-31 "
        "or 0001-01-01 (or a spreadsheet's 1899-12-30) is not a time: correct those rows, leave the cell empty where "
        "the column may be empty, or remove them"]
    with pytest.raises(SchemaError) as pandas_error:
        validate_table("transactions", raw)
    assert [p.split(" at ")[0] for p in pandas_error.value.problems] == [p.split(" (")[0] for p in spark_problems]
    subs = frame(customer_id=["A"], start=["2024-01-01"], end=["9999-12-31"])
    assert _local(_spark_check(spark, "subscriptions", subs))["end"].tolist() == [pd.Timestamp("9999-12-31")]


def test_amounts_of_1e20_or_more_are_refused_as_on_the_pandas_path(spark):
    raw = frame(customer_id=["A", "B", "C"], timestamp=["2024-01-01"] * 3, amount=[1e32, 1.0, -3e20])
    spark_problems = _problems(lambda: _spark_check(spark, "transactions", raw, returns="keep"))
    assert [p.split(" (e.g.")[0] for p in spark_problems] == ["transactions.amount: 2 amounts of 1e20 or more in size"]
    with pytest.raises(SchemaError) as pandas_error:
        validate_table("transactions", raw, returns="keep")
    assert [p.split(" at ")[0] for p in pandas_error.value.problems] == [p.split(" (e.g.")[0] for p in spark_problems]
    assert spark_problems[0].endswith(pandas_error.value.problems[0].split("; fix:")[1])


def test_tables_outside_the_spark_path_and_non_utc_sessions_are_config_errors(spark):
    raw = frame(customer_id=["A"], timestamp=["2024-01-01"], amount=[1.0])
    with pytest.raises(ConfigError, match="not 'marketing_spend'"):
        _spark_check(spark, "marketing_spend", raw)
    spark.conf.set("spark.sql.session.timeZone", "Europe/Paris")
    try:
        with pytest.raises(ConfigError, match="time zone"):
            _spark_check(spark, "transactions", raw)
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_the_tables_spark_validates_are_the_fields_of_spark_tables():
    from dataclasses import fields

    from churnml.spark import SparkTables
    from churnml.spark.validate import SPARK_TABLES

    assert tuple(f.name for f in fields(SparkTables)) == SPARK_TABLES


# ------------------------------------------------------------------------ rows read from Parquet
def _parquet_problems(spark, table: str, path) -> tuple[list[str], list[str]]:
    """The problems of the Parquet file ``path`` on Spark (read by Spark) and on pandas."""
    from churnml.spark.validate import validate_spark_table

    on_spark = _problems(lambda: validate_spark_table(table, spark.read.parquet(str(path)), source=str(path)))
    on_pandas = _problems(lambda: validate_table(table, pd.read_parquet(path), source=str(path)))
    return on_spark, on_pandas


@pytest.mark.parametrize("table", sorted(BAD))
def test_rows_read_from_parquet_are_named_by_their_data_row_of_the_file_as_pandas_names_them(spark, tmp_path, table):
    path = tmp_path / f"{table}.parquet"
    write_frame(BAD[table], path)
    on_spark, on_pandas = _parquet_problems(spark, table, path)
    where = [re.split(r" \(e\.g\.|; fix:", p)[0] for p in on_spark]  # the examples differ: values or rows
    assert where == [re.split(r" \(e\.g\.|; fix:", p)[0] for p in on_pandas]
    assert all(f" of {path}" in p for p in on_spark)
    duplicates = [p for p in on_spark if "duplicate" in p]  # the example names the rows too, word for word
    assert duplicates == [p for p in on_pandas if "duplicate" in p]


def test_the_places_of_transactions_rows_are_the_first_bad_rows_in_the_file(spark, tmp_path):
    path = tmp_path / "transactions.parquet"
    write_frame(BAD_TX, path)
    on_spark, _ = _parquet_problems(spark, "transactions", path)
    assert on_spark[3].split("; fix:")[0] == (
        f"transactions.amount: 3 negative amounts at data rows 2, 8, 9 of {path} (e.g. customer_id='A' "
        "amount=-2.0, customer_id='E' amount=-1.0, customer_id='E' amount=-7.5)")
    assert on_spark[4].split("; fix:")[0] == (
        f"transactions (whole rows): 1 duplicate row at data row 6 of {path} (e.g. data row 6 repeats data row 5)")
    many = frame(customer_id=[f"c{i}" for i in range(9)], timestamp=["2024-01-01"] * 9, amount=[-1.0] * 9)
    write_frame(many, tmp_path / "many.parquet")
    on_spark, on_pandas = _parquet_problems(spark, "transactions", tmp_path / "many.parquet")
    assert on_spark[0].split(" (e.g.")[0] == on_pandas[0].split(" (e.g.")[0] == (
        f"transactions.amount: 9 negative amounts at data rows 1, 2, 3, 4, 5 and 4 more of {tmp_path / 'many.parquet'}")


def test_a_folder_of_parquet_files_names_each_file_and_drop_keeps_the_first_row_of_a_key_in_file_order(spark, tmp_path):
    from churnml.spark.validate import validate_spark_table

    folder = tmp_path / "customers"
    folder.mkdir()
    write_frame(frame(customer_id=["A", "B"], region=["z", "y"]), folder / "part-1.parquet")
    write_frame(frame(customer_id=["A", "C", "B"], region=["a", "b", "c"]), folder / "part-2.parquet")
    df = spark.read.parquet(str(folder))
    assert _problems(lambda: validate_spark_table("customers", df, source=str(folder))) == [
        f"customers.customer_id: 2 duplicate rows at data rows 1, 3 of {folder / 'part-2.parquet'} (e.g. data row 1 "
        f"of {folder / 'part-2.parquet'} repeats the customer_id of data row 1 of {folder / 'part-1.parquet'}); fix: "
        "each customer may appear once: merge or remove the repeats, or set data.duplicates to 'drop' to keep the "
        "first of each customer's rows ('keep' cannot apply to a table of one row per customer)"]
    # a table of one row per customer refuses repeated ids under keep too, with the same words
    assert _problems(lambda: validate_spark_table("customers", df, duplicates="keep", source=str(folder))) == \
        _problems(lambda: validate_spark_table("customers", df, source=str(folder)))
    # the smallest values would keep A='a' and B='c'; the first in file order keeps the rows of part-1
    kept = _local(validate_spark_table("customers", df.repartition(3), duplicates="drop")).sort_values("customer_id")
    assert kept.to_dict("list") == {"customer_id": ["A", "B", "C"], "region": ["z", "y", "b"]}
    whole = pd.concat([pd.read_parquet(folder / f"part-{i}.parquet") for i in (1, 2)], ignore_index=True)
    pandas_kept = validate_table("customers", whole, duplicates="drop").sort_values("customer_id")
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), pandas_kept.reset_index(drop=True))


def test_files_sort_by_their_path_as_python_sorts_it_not_by_the_escaped_uri(spark, tmp_path):
    from churnml.spark.validate import validate_spark_table

    folder = tmp_path / "customers"
    folder.mkdir()
    # sorted() puts 'a b' (space) before 'a$b'; Spark's URI escapes the space as '%20', which sorts after '$'
    write_frame(frame(customer_id=["A"], region=["space"]), folder / "a b.parquet")
    write_frame(frame(customer_id=["A"], region=["dollar"]), folder / "a$b.parquet")
    assert sorted(p.name for p in folder.iterdir()) == ["a b.parquet", "a$b.parquet"]
    df = spark.read.parquet(str(folder))
    assert _local(validate_spark_table("customers", df, duplicates="drop"))["region"].tolist() == ["space"]
    assert _problems(lambda: validate_spark_table("customers", df))[0].split("; fix:")[0] == (
        f"customers.customer_id: 1 duplicate row at data row 1 of {folder / 'a$b.parquet'} (e.g. data row 1 of "
        f"{folder / 'a$b.parquet'} repeats the customer_id of data row 1 of {folder / 'a b.parquet'})")


def test_a_column_of_the_data_named_metadata_neither_hides_nor_fakes_sparks_row_places(spark, tmp_path):
    from churnml.spark.validate import validate_spark_table

    customers = frame(customer_id=["A", "B", "A"], region=["x", "y", "z"])
    write_frame(customers.assign(_metadata=["m", "m", "m"]), tmp_path / "text.parquet")
    lineage = pd.DataFrame({"file_path": ["/elsewhere/old.parquet"] * 3, "row_index": [10, 9, 8]})
    raw = customers.assign(_metadata=lineage.to_dict("records"))  # a struct with Spark's field names
    write_frame(raw, tmp_path / "struct.parquet")
    for name in ("text", "struct"):
        df = spark.read.parquet(str(tmp_path / f"{name}.parquet"))
        assert _problems(lambda df=df: validate_spark_table("customers", df))[0].split(" (e.g.")[0] == (
            f"customers.customer_id: 1 duplicate row at data row 3 of {tmp_path / f'{name}.parquet'}")
        kept = _local(validate_spark_table("customers", df, duplicates="drop")).sort_values("customer_id")
        assert kept["region"].tolist() == ["x", "y"], name


def test_cached_frames_unions_and_frames_built_in_memory_have_no_row_places_and_log_no_spark_error(spark, tmp_path):
    from churnml.spark import from_pandas
    from churnml.spark.places import file_order
    from churnml.spark.validate import validate_spark_table

    folder = tmp_path / "customers"
    folder.mkdir()
    write_frame(frame(customer_id=["A", "A"], region=["z", "a"]), folder / "part-1.parquet")
    read = spark.read.parquet(str(folder))
    assert file_order(read) is not None and file_order(read.where("region > ''").repartition(2)) is not None
    assert file_order(read.union(read)) is None and file_order(from_pandas(spark, BAD["customers"])) is None
    cached = spark.read.parquet(str(folder)).cache()
    assert cached.count() == 2 and file_order(cached) is None and file_order(cached.where("region > ''")) is None
    (folder / "part-1.parquet").unlink()  # the cache answers: a file order would read the files again
    kept = _local(validate_spark_table("customers", cached, duplicates="drop"))
    assert kept["region"].tolist() == ["a"]  # no order: the smallest values
    cached.unpersist()

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("DataFrameQueryContextLogger")
    logger.addHandler(handler)
    try:
        _problems(lambda: validate_spark_table("customers", from_pandas(spark, BAD["customers"])))
    finally:
        logger.removeHandler(handler)
    assert records == []


def test_parquet_with_nanosecond_times_is_read_as_microseconds_as_the_pandas_reader_does(spark, tmp_path):
    """Spark has no nanosecond time type (INT64 TIMESTAMP(NANOS), pandas' datetime64[ns] written as it is):
    churnml reads the column's integer and makes microsecond times of it, zoned or not, as churnml.io does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from churnml.io import read_table
    from churnml.spark import tables_from_config, to_pandas

    local = pd.Series(pd.to_datetime(["2024-01-05 10:00:00.123456789", "2024-03-31 02:30:00.000000000",
                                      "2024-06-30 23:59:59.999999999"]).astype("datetime64[ns]"))
    tx = pd.DataFrame({"customer_id": ["A", "B", "C"], "timestamp": local, "amount": [1.0, -2.0, 3.0]})
    zoned = tx.assign(timestamp=local.dt.tz_localize("UTC"))  # instants: 9 hours later in Seoul
    for name, raw, shift in (("naive", tx, pd.Timedelta(0)), ("zoned", zoned, pd.Timedelta(hours=9))):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(raw, preserve_index=False), path, coerce_timestamps=None)
        assert pq.read_schema(path).field("timestamp").type.unit == "ns"
        sets = ["data.source=files", f"data.tables.transactions.path={path}", "data.timezone=Asia/Seoul"]
        # the rows keep their file places: the return is data row 2 of the file
        with pytest.raises(SchemaError, match=rf"1 negative amount at data row 2 of .*{name}.parquet"):
            tables_from_config(spark, load_config(None, sets))
        got = to_pandas(tables_from_config(spark, load_config(None, [*sets, "data.returns=keep"])).transactions)
        duck = read_table("transactions", path, returns="keep", timezone="Asia/Seoul")
        got, duck = (f[["customer_id", "timestamp", "amount"]].sort_values("customer_id", ignore_index=True)
                     for f in (got, duck))
        pd.testing.assert_frame_equal(got, duck)
        expected = ["2024-01-05 10:00:00.123456", "2024-03-31 02:30:00", "2024-06-30 23:59:59.999999"]
        assert got["timestamp"].tolist() == [pd.Timestamp(t) + shift for t in expected]


def test_a_folder_mixing_nanosecond_and_microsecond_files_is_refused_naming_both(spark, tmp_path):
    """Spark reads a folder with one schema: the microsecond file's times would be read as nanoseconds (1970)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from churnml.spark import spark_tables

    times = pd.Series(pd.to_datetime(["2024-01-05 10:00:00"]).astype("datetime64[ns]"))
    table = pa.Table.from_pandas(pd.DataFrame({"customer_id": ["A"], "timestamp": times, "amount": [1.0]}),
                                 preserve_index=False)
    for first, second in (("a", "b"), ("b", "a")):  # the nanosecond file first, then second
        folder = tmp_path / f"tx_{first}"
        folder.mkdir()
        pq.write_table(table, folder / f"{first}.parquet", coerce_timestamps=None)
        pq.write_table(table, folder / f"{second}.parquet", coerce_timestamps="us")
        with pytest.raises(SchemaError, match=r"store the time column 'timestamp' in different units \(ns: "
                                              rf".*{first}.parquet; us: .*{second}.parquet\)"):
            spark_tables(spark, {"transactions": str(folder)})


def test_a_folder_whose_files_disagree_on_a_columns_presence_type_or_zone_is_refused_naming_the_files(spark, tmp_path):
    """Spark reads a folder with one file's schema: another type was a Java error, another zone silently read UTC
    instants as local times, a missing column became nulls (named as null amounts, not as the missing column)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from churnml.spark import spark_tables

    base = pd.DataFrame({"customer_id": ["A"], "timestamp": pd.to_datetime(["2024-01-05 10:00"]), "amount": [1.0]})
    seconds = {
        "type": base.assign(amount=[1]),  # int64 beside double
        "zone": base.assign(timestamp=base["timestamp"].dt.tz_localize("UTC")),
        "column": base.rename(columns={"amount": "amt"}),
    }
    for name, second in seconds.items():
        folder = tmp_path / f"tx_{name}"
        folder.mkdir()
        for file, rows in (("part-0", base), ("part-1", second)):
            pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), folder / f"{file}.parquet",
                           coerce_timestamps="us")
        with pytest.raises(SchemaError) as refused:
            spark_tables(spark, {"transactions": str(folder)})
        text = str(refused.value)
        assert text.startswith(f"table 'transactions': the Parquet files of {str(folder)!r} do not share one schema")
        assert text.endswith("Fix: write every file with the same columns and types (and times all with a zone or "
                             "all without), e.g. read each with pandas, make them agree and write them again with "
                             "churnml.io.write_frame")
        expected = {
            "type": f"column 'amount' is stored as double in {folder / 'part-0.parquet'}; as int64 in "
                    f"{folder / 'part-1.parquet'}",
            "zone": f"column 'timestamp' is stored as timestamp with a zone in {folder / 'part-1.parquet'}; as "
                    f"timestamp without a zone in {folder / 'part-0.parquet'}",
            "column": f"column 'amount' is in {folder / 'part-0.parquet'} but not in {folder / 'part-1.parquet'} "
                      "(it would be read as missing there)",
        }[name]
        assert expected in text
    # what may differ: a column churnml does not read; text stored as large_string or as a dictionary
    folder = tmp_path / "tx_fine"
    folder.mkdir()
    for file, rows in (("part-0", base.assign(note=["x"])), ("part-1", base.astype({"customer_id": "category"}))):
        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), folder / f"{file}.parquet",
                       coerce_timestamps="us")
    assert spark_tables(spark, {"transactions": str(folder)}).transactions.count() == 2


def test_nanosecond_times_before_1970_are_cut_towards_the_past(spark, tmp_path):
    """One nanosecond before 1970 is 1969-12-31 23:59:59.999999, not 1970-01-01 (the integer is negative)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from churnml.spark.tables import _as_spark

    stamps = pa.array([-1, -1_000, 1_999], type=pa.timestamp("ns"))
    pq.write_table(pa.table({"t": stamps, "z": stamps.cast(pa.timestamp("ns", tz="UTC"))}), tmp_path / "t.parquet",
                   coerce_timestamps=None)
    got = _as_spark(spark, tmp_path / "t.parquet", "transactions").collect()
    expected = [dt.datetime(1969, 12, 31, 23, 59, 59, 999_999), dt.datetime(1969, 12, 31, 23, 59, 59, 999_999),
                dt.datetime(1970, 1, 1, 0, 0, 0, 1)]
    assert [r["t"] for r in got] == expected
    assert [r["z"] for r in got] == expected  # the session is UTC: the instants show as UTC's wall clock
    assert spark.conf.get("spark.sql.legacy.parquet.nanosAsLong", None) in (None, "false")


def test_parquet_read_by_spark_warns_about_ids_the_transactions_lack_as_duckdbs_path_does(spark, tmp_path, caplog):
    """The same tables give the same warnings, word for word, from churnml.io and from Spark reading Parquet."""
    from churnml.io import warn_unmatched_ids
    from churnml.spark import spark_tables

    def ids(*values, **extra):
        return pd.DataFrame({"customer_id": pd.Series(list(values), dtype="str"), **extra})

    n = 4
    tx = ids("0000001", "0000002", "C03", "C04", timestamp=pd.to_datetime(["2024-01-02"] * n), amount=[1.0] * n)
    tables = {"transactions": tx,
              "customers": ids("1", "2", region=["eu", "us"]),  # leading zeros lost: none match
              "tickets": ids("c03", "c04", "0000001", ticket_id=["t1", "t2", "t3"],  # case: 1 of 3 match
                             opened_at=pd.to_datetime(["2024-01-01"] * 3)),
              "events": ids("C03", "F1", "F2", "F3", event_type=["login"] * 4,  # free users: no warning
                            timestamp=pd.to_datetime(["2024-01-01"] * 4))}
    paths = {}
    for name, table in tables.items():
        paths[name] = str(tmp_path / f"{name}.parquet")
        write_frame(table, paths[name])
    duckdb_side = warn_unmatched_ids(tables)
    assert [w.split(":")[0] for w in duckdb_side] == ["table 'customers'", "table 'tickets'"]
    with caplog.at_level(logging.WARNING, logger="churnml.spark.tables"):
        spark_tables(spark, paths)
    assert [r.getMessage() for r in caplog.records if r.name == "churnml.spark.tables"] == duckdb_side
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="churnml.spark.tables"):  # matching ids: nothing to say
        spark_tables(spark, {"transactions": paths["transactions"], "events": paths["events"]})
    assert not [r for r in caplog.records if r.name == "churnml.spark.tables"]


def test_spark_warns_about_id_spellings_returns_only_and_float_ids_as_the_pandas_path_does(spark, tmp_path, caplog):
    """Ids equal but for case, for leading zeros or holding invisible characters, a transactions table of returns
    only and ids stored as floats of 2^53 or more: the same warnings, word for word, from Parquet read by Spark."""
    from churnml.io import read_table, warn_id_spellings, warn_unmatched_ids
    from churnml.spark import spark_tables

    n = 7
    tx = pd.DataFrame({"customer_id": pd.Series(["c01", "C01", "x\u200b", "x", "0d", "008", "8"], dtype="str"),
                       "timestamp": pd.to_datetime(["2024-01-02"] * n), "amount": [-1.0] * n})
    customers = pd.DataFrame({"customer_id": [9007199254740993.0, 7.0], "region": ["eu", "us"]})
    paths = {"transactions": str(tmp_path / "tx.parquet"), "customers": str(tmp_path / "c.parquet")}
    write_frame(tx, paths["transactions"])
    write_frame(customers, paths["customers"])
    with caplog.at_level(logging.WARNING):
        frames = {name: read_table(name, path, returns="keep") for name, path in paths.items()}
        warn_id_spellings(frames)
        warn_unmatched_ids(frames)  # the customers' ids are not the transactions'
    pandas_side = [r.getMessage() for r in caplog.records]
    assert [m.split(":")[0] for m in pandas_side] == [
        f"transactions ({paths['transactions']})", "customers.customer_id", "transactions.customer_id",
        "transactions.customer_id", "transactions.customer_id", "table 'customers'"]
    assert "(e.g. 'C01' and 'c01')" in pandas_side[2] and "1 id holds characters" in pandas_side[4]
    assert "2 ids differ from another only by leading zeros (e.g. '008' and '8')" in pandas_side[3]
    assert "1 id is stored as a floating-point number of 2^53" in pandas_side[1]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        spark_tables(spark, paths, returns="keep")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("churnml.spark")] == pandas_side
    # a NaN id stored as a float is a missing id on both engines (Spark read it as the text 'NaN', and warned
    # about it as a float of 2^53 or more, since NaN sorts above every number there)
    nan = tmp_path / "nan.parquet"
    write_frame(pd.DataFrame({"customer_id": [1.0, float("nan")], "region": ["eu", "us"]}), nan)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        on_spark, on_pandas = _parquet_problems(spark, "customers", nan)
    assert on_spark == on_pandas and on_spark[0].startswith("customers.customer_id: 1 null customer id")
    assert "2^53" not in caplog.text


def test_a_pandas_frame_handed_to_spark_tables_is_checked_as_the_duckdb_path_checks_it(spark):
    """It was only cast: a null id became a customer of its own and failed later, naming the spine."""
    from churnml.spark import spark_tables

    frame = pd.DataFrame({"cust": ["A", None, "B"], "timestamp": pd.to_datetime(["2024-01-05"] * 3),
                          "amount": [1.0, 2.0, float("nan")]})
    with pytest.raises(SchemaError) as refused:
        spark_tables(spark, {"transactions": frame}, columns={"transactions": {"customer_id": "cust"}})
    text = str(refused.value)
    assert text.startswith("table 'transactions': 2 problems found:\n  - column 'customer_id' has 1 missing "
                           "value(s) (index [1])")
    assert "column 'amount' has 1 missing value(s) (index [2])" in text
    assert "read it with churnml.io.read_table" in text


def test_spark_training_refuses_a_stray_late_transaction_as_duckdb_does(spark):
    from churnml.dataset import _dated, daily_counts
    from churnml.errors import DataWindowError
    from churnml.spark import SparkTables, from_pandas
    from churnml.spark.training import _refuse_stray_tail
    from churnml.windows import stray_tail_text

    days = pd.date_range("2023-01-01", "2024-01-31")
    tx = pd.DataFrame({"customer_id": pd.Series([f"C{i % 7}" for i in range(len(days))] + ["Z"], dtype="str"),
                       "timestamp": [*days, pd.Timestamp("2024-03-01 10:00")], "amount": 1.0})
    tx["timestamp"] = tx["timestamp"].astype("datetime64[us]")
    expected = stray_tail_text(daily_counts(tx["timestamp"]), lambda day: _dated(tx, day))
    assert expected is not None and "e.g. customer_id 'Z' at 2024-03-01 10:00:00" in expected
    with pytest.raises(DataWindowError) as err:
        _refuse_stray_tail(SparkTables(transactions=from_pandas(spark, tx)))
    assert str(err.value) == expected
    _refuse_stray_tail(SparkTables(transactions=from_pandas(spark, tx.iloc[:-1])))  # without it: nothing to say


def test_times_at_the_unix_epoch_far_from_the_others_are_refused_as_read_table_refuses_the_same_file(spark, tmp_path):
    from pyspark.sql import functions as F

    from churnml.io import read_table
    from churnml.spark import from_pandas, tables_from_config
    from churnml.spark.validate import validate_spark_table

    path = tmp_path / "transactions.parquet"
    write_frame(frame(customer_id=["A", "B", "C"], timestamp=["2024-01-02", "1970-01-01", "1970-01-01"],
                      amount=[1.0, 2.0, 3.0]), path)
    sets = ["data.source=files", f"data.tables.transactions.path={path}"]
    on_spark = _problems(lambda: tables_from_config(spark, load_config(None, sets)))
    on_pandas = _problems(lambda: read_table("transactions", path))
    said = ("transactions.timestamp: 2 placeholder times 1970-01-01 00:00 (the Unix epoch, time 0; no other time of "
            f"the table within a year) at data rows 2, 3 of {path} (e.g. {{}}); fix: such a time is an export's "
            "placeholder for an unknown time, and read as a time it puts cutoffs, windows and KPI periods in 1970: "
            "write the real times (or the earliest known, e.g. when the record was migrated), or remove those rows; "
            "if they are real times of 1 January 1970, give the table's history around them too (a time 0 is taken "
            "for real when another time of the table is within a year of it)")
    assert on_pandas == [said.format("'1970-01-01 00:00:00'")]
    assert on_spark == [said.format("customer_id='B' timestamp='1970-01-01 00:00:00', "  # Spark shows the id too
                                    "customer_id='C' timestamp='1970-01-01 00:00:00'")]
    # a history around 1970 (1969-12-31 is within a year) keeps them, on both
    write_frame(frame(customer_id=["A", "B", "C"], timestamp=["1969-12-31", "1970-01-01", "1970-01-01"],
                      amount=[1.0, 2.0, 3.0]), path, overwrite=True)
    assert tables_from_config(spark, load_config(None, sets)).transactions.count() == len(read_table(
        "transactions", path)) == 3
    # a placeholder end is named as one, not again as an end before its start; with a 1970 history it is real
    subs = frame(customer_id=["A", "B"], start=["2024-01-01", "2024-01-01"], end=["1970-01-01", None])
    real = frame(customer_id=["A", "B"], start=["1970-03-01", "1969-06-01"], end=["1970-01-01", None])
    for raw, verdict in ((subs, "subscriptions.end: 1 placeholder time 1970-01-01 00:00"),
                         (real, "subscriptions.end: 1 end before start")):
        got = [_verdict(p) for p in _problems(lambda raw=raw: _spark_check(spark, "subscriptions", raw))]
        assert got == [_verdict(p) for p in _problems(lambda raw=raw: validate_table("subscriptions", raw))]
        assert [where.split(" (")[0] for where, _ in got] == [verdict]
    # in data.timezone Europe/Paris (UTC+1 in 1970) the epoch is found as an instant and as a local time, in
    # times without a zone (local times: 01:00 is the epoch's instant) and in instants (23:00 UTC is 00:00 there)
    naive = frame(customer_id=["A", "B", "C"], timestamp=["2024-01-02 00:00", "1970-01-01 00:00", "1970-01-01 01:00"],
                  amount=[1.0, 2.0, 3.0])
    utc = naive.assign(timestamp=pd.to_datetime(["2024-01-02 00:00", "1970-01-01 00:00", "1969-12-31 23:00"]))
    zoned = utc.assign(timestamp=utc["timestamp"].dt.tz_localize("UTC"))
    for raw, df in ((naive, from_pandas(spark, naive)),  # TIMESTAMP_NTZ: local times
                    (zoned, from_pandas(spark, utc).withColumn("timestamp", F.col("timestamp").cast("timestamp")))):
        got = _problems(lambda df=df: validate_spark_table("transactions", df, timezone="Europe/Paris"))
        want = _problems(lambda raw=raw: validate_table("transactions", raw, timezone="Europe/Paris"))
        assert [_verdict(p) for p in got] == [_verdict(p) for p in want]
        assert [p.split(" (the Unix")[0] for p in got] == ["transactions.timestamp: 2 placeholder times 1970-01-01 00:00"]
