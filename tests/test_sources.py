"""Tables read in place (ParquetSource) meet the data contract's cheap checks before features or labels use them."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from churnml.config import FeaturesConfig, TimeConfig
from churnml.engine import ParquetSource
from churnml.errors import SchemaError
from churnml.features import compute_features, plan_features
from churnml.io import Tables
from churnml.labels import contractual_labels, make_labels, population

CUT = pd.Timestamp("2024-02-01")
RFM = FeaturesConfig(windows=[7, 30], families=["rfm"])


def _write(path, stats: bool = True, **columns: pa.Array) -> ParquetSource:
    pq.write_table(pa.table(columns), path, write_statistics=stats)
    return ParquetSource(path)


def _tx(path, amount=(10.0, 5.0, 7.0), ts=None, ids=("A", "A", "B"), stats=True) -> ParquetSource:
    ts = ts if ts is not None else pa.array(pd.to_datetime(["2024-01-02", "2024-01-09", "2024-01-20"]), pa.timestamp("us"))
    return _write(path, stats, customer_id=pa.array(list(ids)), timestamp=ts, amount=pa.array(list(amount), pa.float64()))


def _every_reader(tx: ParquetSource) -> list:
    spine = pd.DataFrame({"customer_id": ["A", "B"], "cutoff": [CUT, CUT]}).astype({"cutoff": "datetime64[us]"})
    plan = plan_features({"transactions": pd.DataFrame({"customer_id": ["A"], "timestamp": [CUT - pd.Timedelta(days=40)],
                                                        "amount": [1.0]})}, [CUT], RFM)
    return [
        lambda: plan_features({"transactions": tx}, [CUT], RFM),
        lambda: compute_features({"transactions": tx}, spine, plan),
        lambda: population(Tables(transactions=tx), [CUT], TimeConfig()),
        lambda: make_labels(Tables(transactions=tx), [CUT], TimeConfig(horizon_days=30)),
    ]


def _problems_of_every_reader(tx: ParquetSource) -> list[list[str]]:
    """The problems each reader of :func:`_every_reader` refuses ``tx`` with (each must refuse it)."""
    said = []
    for call in _every_reader(tx):
        with pytest.raises(SchemaError) as err:
            call()
        said.append(err.value.problems)
    return said


def test_a_nan_or_infinite_amount_in_parquet_is_refused_by_every_reader_with_its_rows_and_the_fix(tmp_path):
    # In DuckDB NaN >= 0 is true: read in place, a NaN amount used to count as a purchase and make the sums NaN.
    tx = _tx(tmp_path / "tx.parquet", amount=(10.0, float("nan"), float("inf")))
    for call in _every_reader(tx):
        with pytest.raises(SchemaError) as err:
            call()
        text = str(err.value)
        assert err.value.table == "transactions"
        assert "column 'amount'" in text and "tx.parquet" in text
        assert "2 rows are missing (NULL) or not finite (NaN, inf)" in text
        assert "data row 2 of tx.parquet (amount = nan), data row 3 of tx.parquet (amount = inf)" in text
        assert "Fix: mend or drop these rows" in text and "churnml.io.read_table" in text


def test_placeholder_times_and_huge_amounts_in_parquet_are_refused_by_every_reader_an_open_end_is_not(tmp_path):
    ts = pa.array(pd.to_datetime(["2024-01-02", "9999-12-31", "2024-01-20"]), pa.timestamp("us"))
    tx = _tx(tmp_path / "tx.parquet", amount=(10.0, 5.0, 1e21), ts=ts)
    for call in _every_reader(tx):
        with pytest.raises(SchemaError) as err:
            call()
        assert err.value.problems == [
            f"column 'timestamp' in the Parquet file(s) ['{tmp_path / 'tx.parquet'}']: 1 time outside the years "
            "1900-2199, e.g. data row 2 of tx.parquet (timestamp = datetime.datetime(9999, 12, 31, 0, 0)); fix: a "
            "placeholder date such as 9999-12-31 or 0001-01-01 (or a spreadsheet's 1899-12-30) is not a time: correct "
            "those rows, leave the cell empty where the column may be empty, or remove them",
            f"column 'amount' in the Parquet file(s) ['{tmp_path / 'tx.parquet'}']: 1 amount of 1e20 or more in size, "
            "e.g. data row 3 of tx.parquet (amount = 1e+21); fix: churnml adds amounts exactly (to 6 decimals, 38 "
            "digits in all), and no amount is this large: correct those rows (a misplaced decimal mark? an id or a "
            "date in this column?)"]
    from churnml.sources import check_sources

    subs = tmp_path / "subs.parquet"  # an open end written far ahead passes, as read_table takes it
    pd.DataFrame({"customer_id": pd.Series(["A"], dtype="str"), "start": pd.to_datetime(["2024-01-01"]),
                  "end": pd.to_datetime(["9999-12-31"])}).astype({"start": "datetime64[us]", "end": "datetime64[us]"}
                                                                ).to_parquet(subs)
    check_sources({"transactions": _tx(tmp_path / "ok.parquet"), "subscriptions": ParquetSource(subs)})
    huge = tmp_path / "huge.parquet"  # a NaN (not a null) sorts last in DuckDB's MAX: the rows are counted then
    day = pa.array(pd.to_datetime(["2024-01-01"] * 2), pa.timestamp("us"))
    pq.write_table(pa.table({"customer_id": ["A", "B"], "start": day, "end": pa.nulls(2, pa.timestamp("us")),
                             "mrr": pa.array([1e21, float("nan")], pa.float64())}), huge)
    with pytest.raises(SchemaError, match=r"column 'mrr' .*: 1 amount of 1e20 or more in size, e.g. data row 1 of"):
        check_sources({"transactions": _tx(tmp_path / "ok.parquet"), "subscriptions": ParquetSource(huge)})


def test_times_at_the_unix_epoch_far_from_the_others_are_refused_in_parquet_and_frames_a_1970_history_is_not(
        tmp_path):
    from churnml.sources import check_frame_as_read, check_sources

    def ts(*days):
        return pa.array(pd.to_datetime(list(days)), pa.timestamp("us"))

    tx = _tx(tmp_path / "tx.parquet", ts=ts("2024-01-02", "1970-01-01", "1970-01-01"))
    fix = ("fix: such a time is an export's placeholder for an unknown time, and read as a time it puts cutoffs, "
           "windows and KPI periods in 1970: write the real times (or the earliest known, e.g. when the "
           "record was migrated), or remove those rows; if they are real times of 1 January 1970, give "
           "the table's history around them too (a time 0 is taken for real when another time of the table is "
           "within a year of it)")
    assert _problems_of_every_reader(tx) == [[
        f"column 'timestamp' in the Parquet file(s) ['{tmp_path / 'tx.parquet'}']: 2 placeholder times "
        "1970-01-01 00:00 (the Unix epoch, time 0; no other time of the table within a year), e.g. data row 2 "
        "of tx.parquet (timestamp = datetime.datetime(1970, 1, 1, 0, 0)), data row 3 of tx.parquet (timestamp "
        f"= datetime.datetime(1970, 1, 1, 0, 0)); {fix}"]] * 4
    # an earlier history does not hide them: the epoch is not the earliest time there
    early = _tx(tmp_path / "early.parquet", ts=ts("1965-06-01", "1970-01-01", "2024-01-05"))
    with pytest.raises(SchemaError, match=r"1 placeholder time 1970-01-01 00:00 .* data row 2 of early.parquet"):
        check_sources({"transactions": early})
    # a history around 1970 keeps them (1969-12-31 is within a year), in a file and in a frame
    check_sources({"transactions": _tx(tmp_path / "real.parquet", ts=ts("1969-12-31", "1970-01-01", "1970-01-01"))})
    frame = pd.DataFrame({"customer_id": pd.Series(["A", "B"], dtype="str"), "amount": [1.0, 2.0],
                          "timestamp": pd.to_datetime(["1970-01-01", "2024-01-02"]).astype("datetime64[us]")})
    with pytest.raises(SchemaError) as err:
        check_frame_as_read("transactions", frame)
    assert "column 'timestamp' has 1 placeholder time 1970-01-01 00:00 (the Unix epoch" in str(err.value)
    assert fix.removeprefix("fix: ") in str(err.value)
    check_frame_as_read("transactions", frame.assign(timestamp=pd.to_datetime(["1970-01-01", "1970-03-02"])
                                                     .astype("datetime64[us]")))


@pytest.mark.parametrize("stats", [True, False], ids=["footers-count-nulls", "no-statistics"])
def test_null_keys_and_times_are_refused_and_every_problem_of_the_table_is_listed(tmp_path, stats):
    # NULL counts come from the footers' statistics when the writer kept them, else from a scan
    ts = pa.array([pd.Timestamp("2024-01-02"), None, pd.Timestamp("2024-01-20")], pa.timestamp("us"))
    tx = _tx(tmp_path / "tx.parquet", ts=ts, ids=("A", None, "B"), stats=stats)
    with pytest.raises(SchemaError) as err:
        plan_features({"transactions": tx}, [CUT], RFM)
    assert err.value.problems == [
        f"column 'customer_id' in the Parquet file(s) ['{tmp_path / 'tx.parquet'}']: 1 row is missing (NULL), "
        "e.g. data row 2 of tx.parquet (customer_id = None); a ParquetSource is read without validation, so its files "
        "must already be canonical. Fix: mend or drop these rows in the file, or read the table with "
        "churnml.io.read_table, which validates and reports them (a folder of files: read_table(table, folder); "
        "other sets of files: read_table(table, pandas.read_parquet(files)))",
        f"column 'timestamp' in the Parquet file(s) ['{tmp_path / 'tx.parquet'}']: 1 row is missing (NULL), "
        "e.g. data row 2 of tx.parquet (timestamp = None); a ParquetSource is read without validation, so its files "
        "must already be canonical. Fix: mend or drop these rows in the file, or read the table with "
        "churnml.io.read_table, which validates and reports them (a folder of files: read_table(table, folder); "
        "other sets of files: read_table(table, pandas.read_parquet(files)))",
    ]


def test_wrong_column_types_are_refused_with_the_type_the_contract_wants(tmp_path):
    zoned = pa.array([pd.Timestamp(d, tz="America/New_York") for d in ("2024-01-02", "2024-01-09", "2024-01-20")],
                     pa.timestamp("us", tz="America/New_York"))
    tx = _write(tmp_path / "tx.parquet", customer_id=pa.array([1, 1, 2]), timestamp=zoned,
                amount=pa.array(["10", "5", "7"]))
    with pytest.raises(SchemaError) as err:
        population(Tables(transactions=tx), [CUT], TimeConfig())
    first, second, third = err.value.problems
    assert "column 'customer_id'" in first and "has type BIGINT; the data contract wants text (VARCHAR)" in first
    assert "has type TIMESTAMP WITH TIME ZONE; the data contract wants a TIMESTAMP without time zone, in " \
           "data.timezone's local time (convert the times to that zone and drop it" in second
    assert "column 'amount'" in third and "has type VARCHAR; the data contract wants a number" in third
    assert "Fix: write the column with that type" in third


def test_only_the_selected_and_required_columns_are_checked(tmp_path):
    # a NULL in an optional (nullable) column is allowed; a table outside the contract is not checked
    src = _write(tmp_path / "tx.parquet", customer_id=pa.array(["A", "B"]),
                 timestamp=pa.array(pd.to_datetime(["2024-01-02", "2024-01-09"]), pa.timestamp("us")),
                 amount=pa.array([1.0, None]), product=pa.array(["x", None]))
    with pytest.raises(SchemaError, match="column 'amount'"):
        population(Tables(transactions=src), [CUT], TimeConfig())
    from churnml.sources import check_sources

    check_sources({"transactions": src[["customer_id", "timestamp", "product"]], "not_a_table": src})


def test_a_file_rewritten_after_passing_is_checked_again(tmp_path):
    path = tmp_path / "tx.parquet"
    tx = _tx(path)
    plan_features({"transactions": tx}, [CUT], RFM)
    before = os.stat(path)
    _tx(path, amount=(10.0, float("nan"), 7.0))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    with pytest.raises(SchemaError, match=r"column 'amount'.*1 row is missing \(NULL\) or not finite"):
        plan_features({"transactions": tx}, [CUT], RFM)


def test_contractual_labels_refuse_a_subscription_without_a_start(tmp_path):
    subs = _write(tmp_path / "subs.parquet", customer_id=pa.array(["A", "B"]),
                  start=pa.array([pd.Timestamp("2024-01-01"), None], pa.timestamp("us")),
                  end=pa.array([None, None], pa.timestamp("us")))
    with pytest.raises(SchemaError, match=r"table 'subscriptions': column 'start'.*data row 2 of subs\.parquet"):
        contractual_labels(subs, [CUT], 30)


def test_a_customer_on_two_rows_of_a_parquet_customers_table_is_refused_before_features_repeat_it(tmp_path):
    tx = pd.DataFrame({"customer_id": ["A", "B"], "timestamp": pd.to_datetime(["2024-01-02", "2024-01-05"]),
                       "amount": [1.0, 2.0]})
    cust = _write(tmp_path / "cust.parquet", customer_id=pa.array(["A", "B", "A", "C", "C", "C"]),
                  region=pa.array(["x", "y", "z", "u", "v", "w"]))
    tables = {"transactions": tx, "customers": cust}
    cfg = FeaturesConfig(windows=[7], families=["rfm", "customers"])
    with pytest.raises(SchemaError) as err:
        plan_features(tables, [CUT], cfg)
    assert err.value.table == "customers"
    assert err.value.problems == [
        f"column 'customer_id' in the Parquet file(s) ['{tmp_path / 'cust.parquet'}']: 2 values of the key are on "
        "more than one row, e.g. 'A' (2 rows), 'C' (3 rows); the table holds one row per customer_id, and a repeated "
        "one would repeat that customer's feature rows. Fix: keep one row per customer_id in the file, or read the "
        "table with churnml.io.read_table, whose data.duplicates setting decides (error or drop)"
    ]
    once = _write(tmp_path / "once.parquet", customer_id=pa.array(["A", "B"]), region=pa.array(["x", "y"]))
    plan = plan_features({"transactions": tx, "customers": once}, [CUT], cfg)
    spine = pd.DataFrame({"customer_id": ["A", "B"], "cutoff": [CUT, CUT]})
    with pytest.raises(SchemaError, match=r"table 'customers': column 'customer_id'.*'A' \(2 rows\)"):
        compute_features(tables, spine, plan)


def test_unread_transaction_columns_are_not_checked_and_a_missing_required_column_is_named(tmp_path):
    ts = pa.array(pd.to_datetime(["2024-01-02", "2024-01-09"]), pa.timestamp("us"))
    # order_id stored as a number: churnml never reads it, so it stops nothing
    ok = _write(tmp_path / "ok.parquet", customer_id=pa.array(["A", "B"]), timestamp=ts,
                amount=pa.array([1.0, 2.0]), order_id=pa.array([7, 8]))
    assert plan_features({"transactions": ok}, [CUT], RFM).families == ("rfm",)
    events = _write(tmp_path / "events.parquet", customer_id=pa.array(["A"]), when=pa.array([1]))
    with pytest.raises(SchemaError) as err:
        plan_features({"transactions": ok, "events": events}, [CUT], FeaturesConfig(windows=[7],
                                                                                    families=["rfm", "events"]))
    assert err.value.table == "events"
    assert err.value.problems == [
        f"the Parquet file(s) ['{tmp_path / 'events.parquet'}'] have no column 'timestamp', 'event_type'; the data "
        "contract requires customer_id, timestamp, event_type (found ['customer_id', 'when']). Fix: write the table "
        "with its canonical columns (churnml.io.write_frame), or read it with churnml.io.read_table(..., "
        "columns={canonical: yours})"
    ]


def test_column_names_match_ignoring_case_as_duckdb_matches_them(tmp_path):
    # the labels select customer_id, timestamp, amount: DuckDB finds Customer_ID, so the check must too
    tx = _write(tmp_path / "tx.parquet", Customer_ID=pa.array(["A", None]),
                Timestamp=pa.array(pd.to_datetime(["2024-01-02", "2024-01-09"]), pa.timestamp("us")),
                Amount=pa.array([1.0, float("nan")]))
    with pytest.raises(SchemaError) as err:
        population(Tables(transactions=tx), [CUT], TimeConfig())
    first, second = err.value.problems
    assert first.startswith("column 'Customer_ID'") and "(Customer_ID = None)" in first
    assert second.startswith("column 'Amount'") and "(Amount = nan)" in second


def test_files_under_a_recursive_glob_are_checked_again_when_one_changes(tmp_path):
    deep = tmp_path / "tx" / "2024" / "01"
    deep.mkdir(parents=True)
    _tx(tmp_path / "tx" / "2024" / "a.parquet", ids=("A", "A", "B"))
    _tx(deep / "part.parquet", ids=("C", "C", "D"))
    tx = ParquetSource(str(tmp_path / "tx" / "**" / "*.parquet"))
    assert len(population(Tables(transactions=tx), [CUT], TimeConfig())) == 4
    before = os.stat(deep / "part.parquet")
    _tx(deep / "part.parquet", amount=(float("nan"), 5.0, 7.0), ids=("C", "C", "D"))
    os.utime(deep / "part.parquet", ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    with pytest.raises(SchemaError, match=r"column 'amount'.*data row 1 of part\.parquet \(amount = nan\)"):
        population(Tables(transactions=tx), [CUT], TimeConfig())


def test_example_rows_name_the_whole_path_when_two_files_share_a_name(tmp_path):
    for month in ("01", "02"):
        (tmp_path / f"month={month}").mkdir()
        _tx(tmp_path / f"month={month}" / "part-0.parquet", amount=(float("nan"), 5.0, 7.0))
    tx = ParquetSource(str(tmp_path / "month=*" / "part-0.parquet"))
    with pytest.raises(SchemaError) as err:
        population(Tables(transactions=tx), [CUT], TimeConfig())
    text = str(err.value)
    assert f"data row 1 of {tmp_path / 'month=01' / 'part-0.parquet'} (amount = nan)" in text
    assert f"data row 1 of {tmp_path / 'month=02' / 'part-0.parquet'} (amount = nan)" in text


def test_a_zoned_nanosecond_time_gets_the_zone_fix_too(tmp_path):
    zoned = pa.array([pd.Timestamp("2024-01-02", tz="UTC")], pa.timestamp("ns", tz="UTC"))
    tx = _write(tmp_path / "tx.parquet", customer_id=pa.array(["A"]), timestamp=zoned, amount=pa.array([1.0]))
    with pytest.raises(SchemaError, match=r"has type TIMESTAMP.*the data contract wants a TIMESTAMP without time zone, "
                                          r"in data.timezone's local time \(convert the times to that zone and drop it"):
        population(Tables(transactions=tx), [CUT], TimeConfig())


def test_a_frame_given_directly_is_checked_against_the_contract_naming_column_rows_and_fix():
    import numpy as np

    from churnml import labels, metrics
    from churnml.io import read_table
    from churnml.sources import check_sources

    ok = pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "amount": [10.0, 20.0, 30.0, 40.0],
                       "timestamp": pd.to_datetime(["2024-01-05", "2024-01-10", "2024-02-01", "2024-03-20"])})
    fix = ("a frame given to churnml directly is used as it is. Fix: read it with churnml.io.read_table(table, "
           "frame), which maps, converts and validates the columns and names the rows to mend")
    with pytest.raises(SchemaError) as err:  # null ids would merge two customers into one 'NaN'
        metrics.retention_kpis(ok.assign(customer_id=["A", None, "C", np.nan]), None, freq="M")
    assert str(err.value) == ("table 'transactions': column 'customer_id' has 2 missing value(s) (index [1, 3]); "
                              f"the data contract requires a value in each row; {fix}")
    with pytest.raises(SchemaError) as err:
        check_sources({"transactions": ok.assign(timestamp=ok["timestamp"].dt.tz_localize("UTC"),
                                                 amount=ok["amount"].astype("str"))})
    assert str(err.value) == (
        "table 'transactions': 2 problems found:\n"
        "  - column 'timestamp' has dtype datetime64[us, UTC]; the data contract wants a TIMESTAMP without time "
        "zone, in data.timezone's local time (convert the times to that zone and drop it, as pandas' "
        f"tz_convert(zone).tz_localize(None) does); {fix}\n"
        f"  - column 'amount' has dtype str; the data contract wants a number; {fix}")
    with pytest.raises(SchemaError, match=r"^table 'transactions': no column 'amount' \(columns found: "
                                          r"\['customer_id', 'timestamp'\]\); a frame given"):
        labels.noncontractual_labels(ok.drop(columns=["amount"]), ["2024-02-01"], 14)
    with pytest.raises(SchemaError, match=r"column 'amount' has 1 missing value\(s\) \(index \[1\]\)"):
        metrics.rfm_table(ok.assign(amount=[10.0, np.nan, 30.0, 40.0]), "2024-03-01")
    # an object column of ids mixing text and numbers would split customer 1 into '1' and '1.0'
    mixed = ok.assign(customer_id=pd.Series(["1", 1, "b", 1.0], dtype="object"))
    with pytest.raises(SchemaError) as err:
        labels.noncontractual_labels(mixed, ["2024-02-01"], 14)
    assert str(err.value) == (
        "table 'transactions': column 'customer_id' has 2 value(s) that are not text (index [1, 3], e.g. "
        f"'1 (int)'); ids are text, or '1' and 1 would be two customers; {fix}")
    assert read_table("transactions", mixed)["customer_id"].tolist() == ["1", "1", "b", "1"]  # the fix works
    # an order_id of numbers is not read, so it stops nothing
    check_sources({"transactions": ok.assign(order_id=[1, 2, 3, 4])})
    assert len(labels.noncontractual_labels(ok, ["2024-02-01"], 14)) == 2  # A and B bought before 02-01
    # a frame from read_table passes, and is checked again once changed (pandas keeps attrs through .assign)
    read = read_table("transactions", ok)
    check_sources({"transactions": read})
    with pytest.raises(SchemaError, match=r"column 'amount' has dtype str; the data contract wants a number"):
        labels.noncontractual_labels(read.assign(amount=read["amount"].astype("str")), ["2024-02-01"], 14)


def test_the_metrics_check_every_table_they_are_given_and_the_contract_s_value_rules():
    """Text flags, money as text, unknown survey types, scores off their scale, a customer on two rows and an
    infinite amount gave wrong KPIs (an FCR of 100, a CAC of 5025) or raw pandas errors; now each is named."""
    import numpy as np

    from churnml.metrics import retention_kpis
    from churnml.sources import check_sources

    def t(*values):
        return pd.Series(pd.to_datetime(list(values))).astype("datetime64[us]")

    ids = pd.Series(["a", "b"], dtype="str")
    tx = pd.DataFrame({"customer_id": ids, "timestamp": t("2024-01-05", "2024-01-10"), "amount": [10.0, 20.0]})
    fix = ("a frame given to churnml directly is used as it is. Fix: read it with churnml.io.read_table(table, "
           "frame), which maps, converts and validates the columns and names the rows to mend")

    def error(**tables) -> str:
        with pytest.raises(SchemaError) as err:
            retention_kpis({"transactions": tx, **tables}, freq="M")
        return str(err.value)

    tickets = pd.DataFrame({"customer_id": ids, "opened_at": t("2024-01-06", "2024-01-07"),
                            "first_contact_resolved": pd.Series(["False", "False"], dtype="str")})
    assert error(tickets=tickets) == (f"table 'tickets': column 'first_contact_resolved' has dtype str; the data "
                                      f"contract wants a BOOLEAN; {fix}")
    # a flag stored as a number is 1 or 0: 2 was an FCR of 100 and a tkt_fcr_share of 2.0
    assert error(tickets=tickets.assign(first_contact_resolved=[2, 0])) == (
        "table 'tickets': column 'first_contact_resolved' has 1 value(s) that are not 0 or 1 (index [0], e.g. 2); a "
        f"flag stored as a number is 1 (true) or 0 (false); {fix}")
    assert error(tickets=tickets.assign(first_contact_resolved=[np.nan, -1.0])).startswith(
        "table 'tickets': column 'first_contact_resolved' has 1 value(s) that are not 0 or 1 (index [1], e.g. -1.0)")
    check_sources({"tickets": tickets.assign(first_contact_resolved=[1.0, np.nan])})  # 1, 0 and missing pass
    spend = pd.DataFrame({"period": t("2024-01-01", "2024-01-01"), "spend": pd.Series(["100", "50"], dtype="str")})
    assert error(marketing_spend=spend).startswith("table 'marketing_spend': column 'spend' has dtype str")
    surveys = pd.DataFrame({"customer_id": ids, "timestamp": t("2024-01-06", "2024-01-07"),
                            "survey": pd.Series(["NPS", "nps"], dtype="str"), "score": [10.0, 11.0]})
    assert error(surveys=surveys) == (
        "table 'surveys': 2 problems found:\n"
        "  - column 'survey' has 1 value(s) that are not one of nps, csat, ces, cli in lower case (index [0], "
        f"e.g. 'NPS'); {fix}\n"
        "  - column 'score' has 1 value(s) outside their survey's scale (nps 0-10, csat 1-5, ces 1-7, cli 1-6) "
        f"(index [1], e.g. 'nps 11.0'); {fix}")
    assert error(surveys=surveys.assign(survey="nps", score=[6.5, 9.0])) == (
        "table 'surveys': column 'score' has 1 value(s) that are not whole points of the scale (index [0], e.g. "
        f"'nps 6.5'); {fix}")
    subs = pd.DataFrame({"customer_id": ids, "start": t("2024-01-01", "2024-01-02"),
                         "end": t(None, None), "mrr": [-5.0, 10.0]})
    assert error(subscriptions=subs) == (
        "table 'subscriptions': column 'mrr' has 1 negative value(s) (index [0], e.g. -5.0); mrr is monthly "
        f"recurring revenue, 0 or more; {fix}")
    assert error(subscriptions=subs.assign(mrr=1.0, start=t("2024-01-01", "9999-12-31"))) == (
        "table 'subscriptions': column 'start' has 1 time outside the years 1900-2199 (index [1], e.g. "
        "Timestamp('9999-12-31 00:00:00')); a placeholder date such as 9999-12-31 or 0001-01-01 (or a spreadsheet's "
        "1899-12-30) is not a time: "
        f"correct those rows, leave the cell empty where the column may be empty, or remove them; {fix}")
    assert error(subscriptions=subs.assign(mrr=[1e20, 10.0])) == (
        "table 'subscriptions': column 'mrr' has 1 amount of 1e20 or more in size (index [0], e.g. 1e+20); churnml "
        "adds amounts exactly (to 6 decimals, 38 digits in all), and no amount is this large: correct those rows (a "
        f"misplaced decimal mark? an id or a date in this column?); {fix}")
    customers = pd.DataFrame({"customer_id": pd.Series(["a", "b", "a"], dtype="str"),
                              "referred_by": pd.Series(["x", None, None], dtype="str")})
    assert error(customers=customers) == (
        "table 'customers': column 'customer_id' repeats 1 value(s) of earlier rows (index [2], e.g. 'a'); "
        "the table holds one row per customer_id (data.duplicates: keep cannot apply to it; error or drop does); "
        f"{fix}")
    with pytest.raises(SchemaError, match=r"column 'amount' has 1 infinite value\(s\) \(index \[1\]\); the data "
                                          r"contract wants finite numbers"):
        check_sources({"transactions": tx.assign(amount=[10.0, np.inf])})
    # the same tables, well typed, give the hand-computed KPIs
    good = retention_kpis({"transactions": tx, "surveys": surveys.assign(survey="nps", score=[10.0, 6.0]),
                           "customers": customers.iloc[:2],
                           "tickets": tickets.assign(first_contact_resolved=[False, True])}, freq="M")
    assert good[["nps", "fcr", "referral_rate"]].iloc[0].tolist() == [0.0, 50.0, 50.0]  # 1 promoter, 1 detractor


def test_a_survey_frame_given_directly_without_any_survey_type_names_the_missing_values():
    from churnml.sources import check_frame

    frame = pd.DataFrame({"customer_id": pd.Series(["a", "b"], dtype="str"),
                          "timestamp": pd.to_datetime(["2024-01-01"] * 2).astype("datetime64[us]"),
                          "survey": pd.Series([None, None], dtype="str"), "score": [6.5, 9.0]})
    with pytest.raises(SchemaError, match=r"column 'survey' has 2 missing value\(s\) \(index \[0, 1\]\)"):
        check_frame("surveys", frame)  # was a TypeError from the text of the scores' examples
