"""Reading tables: column mapping, file formats, Tables and load_tables."""

from __future__ import annotations

import dataclasses
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from churnml.config import load_config
from churnml.errors import ChurnMLError, ConfigError, SchemaError
from churnml.io import Tables, load_tables, read_table, write_frame

USER_CSV = (
    "cust_no,order_date,value,channel\n"
    "00042,2024-03-01T10:00:00+02:00,19.99,web\n"
    "00007,2024-03-02T08:30:00+02:00,5.00,store\n"
    "00042,2024-03-05T23:15:00+01:00,-2.50,web\n"
)
MAPPING = {"customer_id": "cust_no", "timestamp": "order_date", "amount": "value"}
EXPECTED = pd.DataFrame({
    "customer_id": pd.Series(["00042", "00007", "00042"], dtype="str"),
    "timestamp": pd.to_datetime(["2024-03-01 08:00", "2024-03-02 06:30", "2024-03-05 22:15"]).as_unit("us"),
    "amount": [19.99, 5.0, -2.5],
    "channel": pd.Series(["web", "store", "web"], dtype="str"),
})


@pytest.fixture
def user_csv(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(USER_CSV, encoding="utf-8")
    return path


def test_the_column_mapping_turns_the_users_names_into_canonical_ones(user_csv):
    out = read_table("transactions", user_csv, columns=MAPPING, returns="keep")
    pd.testing.assert_frame_equal(out, EXPECTED)


def test_csv_gzip_parquet_and_dataframe_sources_give_equal_frames(user_csv, tmp_path):
    raw = pd.read_csv(user_csv, dtype={"cust_no": "str"})
    write_frame(raw, tmp_path / "orders.parquet")
    write_frame(raw, tmp_path / "orders.csv.gz")
    for source in (user_csv, tmp_path / "orders.csv.gz", tmp_path / "orders.parquet", raw):
        out = read_table("transactions", source, columns=MAPPING, returns="keep")
        pd.testing.assert_frame_equal(out, EXPECTED)


def test_parquet_with_typed_columns_gives_the_same_frame(tmp_path):
    typed = EXPECTED.assign(timestamp=EXPECTED["timestamp"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris"))
    typed.to_parquet(tmp_path / "typed.parquet")
    pd.testing.assert_frame_equal(read_table("transactions", tmp_path / "typed.parquet", returns="keep"),
                                  EXPECTED)


def test_a_column_of_whole_numbers_with_a_blank_cell_is_read_as_numbers_with_a_missing_value(tmp_path):
    """pandas 3.1's pyarrow CSV reader fails on such a column when given other columns' dtypes; churnml reads it."""
    import numpy as np

    subs = tmp_path / "subs.csv"
    subs.write_text("customer_id,start,end,mrr\n007,2024-01-01,,5\n008,2024-01-01,,\n009,2024-01-01,,12\n",
                    encoding="utf-8")
    out = read_table("subscriptions", subs)
    assert out["customer_id"].tolist() == ["007", "008", "009"]  # ids still text
    np.testing.assert_array_equal(out["mrr"].to_numpy(), [5.0, np.nan, 12.0])
    # a blank required amount is the null rule's problem, not a failure to read the file
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,timestamp,amount\na,2024-01-01,5\nb,2024-01-02,\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"^table 'transactions': transactions.amount: 1 null amount value at "
                                          r"data row 2 of "):
        read_table("transactions", tx)


def test_with_a_decimal_comma_a_dot_is_never_read_as_the_decimal_mark(tmp_path):
    """'1.250' under read_options decimal ',' was read as 1.25 (1000 times too small) when another row made the
    column text; it is refused with the thousands option as the fix, and read as 1250 with it."""
    path = tmp_path / "eu.csv"
    path.write_text("customer_id;timestamp;amount\nA;2024-01-05;1.250\nB;2024-01-06;2.000\nA;2024-02-05;12,50\n",
                    encoding="utf-8")
    with pytest.raises(SchemaError, match=r"transactions.amount: 2 non-numeric values at data rows 1, 2 of .* "
                                          r"\(e.g. '1.250', '2.000'\); fix: read_options give ',' as the decimal "
                                          r"mark, so a '.' is neither it nor a thousands separator"):
        read_table("transactions", path, read_options={"sep": ";", "decimal": ","})
    out = read_table("transactions", path, read_options={"sep": ";", "decimal": ",", "thousands": "."})
    assert out["amount"].tolist() == [1250.0, 2000.0, 12.5]


def test_missing_value_words_stay_labels_in_label_columns_and_mean_missing_elsewhere(tmp_path):
    """The region 'NA' (North America) was read as missing; 'NULL' for an open ticket, 'None' as a referrer and
    'NA' in a number column of the user's still are missing, and a customer id 'NA' is a null id whose fix
    says how to keep it."""
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,region,signup_at,visits,referred_by\nA,NA,NULL,3,None\nB,EU,2024-01-01,NA,A\n"
                         "C,,,,\n", encoding="utf-8")
    out = read_table("customers", customers)
    assert out["region"].tolist()[:2] == ["NA", "EU"] and pd.isna(out["region"].iloc[2])  # blank: missing
    assert out["signup_at"].isna().tolist() == [True, False, True]
    assert out["referred_by"].isna().tolist() == [True, False, True]
    assert out["visits"].dtype == "float64" and out["visits"].isna().tolist() == [False, True, True]
    tickets = tmp_path / "tickets.csv"
    tickets.write_text("customer_id,opened_at,resolved_at,first_contact_resolved,channel\n"
                       "A,2024-01-01,NULL,N/A,NA\nB,2024-01-02,2024-01-03,yes,email\n", encoding="utf-8")
    got = read_table("tickets", tickets)
    assert got["resolved_at"].isna().tolist() == [True, False]
    assert got["first_contact_resolved"].isna().tolist() == [True, False]
    assert got["channel"].tolist() == ["NA", "email"]
    na_id = tmp_path / "tx.csv"
    na_id.write_text("customer_id,timestamp,amount\nNA,2024-01-05,10\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"1 null customer id at data row 1 of .*; fix: fill in customer_id or remove "
                                          r"those rows \(it is required in every row\); in a CSV file 'NA', 'NULL', "
                                          r"'None' and the like are missing too: if such a value is real, set "
                                          r"read_options: \{keep_default_na: false, na_values: \[''\]\}"):
        read_table("transactions", na_id)
    kept = read_table("transactions", na_id, read_options={"keep_default_na": False, "na_values": [""]})
    assert kept["customer_id"].tolist() == ["NA"]
    # the user's own na_values decide: 'NA' is then missing in the region too
    assert read_table("customers", customers, read_options={"na_values": ["NA"]})["region"].isna().sum() == 2
    # an export's 'NULL' order ids are no order id (each row its own order), not one order called 'NULL'
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,timestamp,amount,order_id\nA,2024-01-05,10,NULL\nA,2024-01-06,20,N/A\n"
                      "A,2024-01-07,30,None\nA,2024-01-08,40,o-4\n", encoding="utf-8")
    assert read_table("transactions", orders)["order_id"].isna().tolist() == [True, True, True, False]


def test_a_header_naming_a_column_twice_is_refused_before_pandas_renames_it(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,timestamp,amount,amount\nA,2024-01-05,10.00,-99\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"transactions: column\(s\) \['amount'\] appear more than once; fix: keep "
                                          r"one of each .*\(in the header line of "):
        read_table("transactions", path)


def test_read_options_reach_the_csv_reader(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("customer_id;timestamp;amount\n1;2024-03-01;12,50\n", encoding="utf-8")
    out = read_table("transactions", path, read_options={"sep": ";", "decimal": ","})
    assert out["amount"].tolist() == [12.5] and out["customer_id"].tolist() == ["1"]


def test_a_mapped_column_missing_from_the_file_names_the_columns_found(user_csv):
    with pytest.raises(SchemaError) as exc:
        read_table("transactions", user_csv, columns={**MAPPING, "timestamp": "date"})
    msg = str(exc.value)
    assert msg.startswith("table 'transactions': the column mapping names column(s) ['date']")  # the table once
    assert "found columns ['cust_no', 'order_date', 'value', 'channel']" in msg
    assert "data.tables.transactions.columns (timestamp: date)" in msg


def test_a_dataframe_missing_a_column_gets_the_fix_of_read_tables_columns_argument_not_the_config_key():
    frame = pd.DataFrame({"cust": ["a"], "timestamp": [pd.Timestamp("2024-01-01")], "amount": [1.0]})
    with pytest.raises(SchemaError) as exc:
        read_table("transactions", frame)
    assert str(exc.value).endswith(
        "missing required column(s) ['customer_id']; found columns ['cust', 'timestamp', 'amount']; fix: rename "
        "them in the DataFrame or map them with read_table's columns=, e.g. columns={'customer_id': 'cust'}")
    with pytest.raises(SchemaError) as exc:
        read_table("transactions", frame, columns={"customer_id": "cst"})
    assert str(exc.value).endswith("fix read_table's columns= (customer_id: cst)")
    assert "data.tables" not in str(exc.value)
    assert read_table("transactions", frame, columns={"customer_id": "cust"})["customer_id"].tolist() == ["a"]


def test_a_mapping_to_a_non_canonical_name_is_a_config_error(user_csv):
    with pytest.raises(ConfigError, match=r"maps \['customer'\], which are not columns of transactions") as exc:
        read_table("transactions", user_csv, columns={"customer": "cust_no"})
    assert str(exc.value).endswith("fix: the keys are churnml's column names and the values your file's (did you "
                                   "mean customer_id: cust_no?)")
    with pytest.raises(ConfigError) as exc:  # written the other way round: swapped back
        read_table("transactions", user_csv, columns={"cust_no": "customer_id", "order_date": "timestamp"})
    assert str(exc.value).endswith("(did you mean customer_id: cust_no, timestamp: order_date?)")
    with pytest.raises(ConfigError) as exc:  # a name mapped already is not offered again
        read_table("transactions", user_csv, columns={"amount": "value", "amout": "value2", "customer": "cust_no"})
    assert str(exc.value).endswith("(did you mean customer_id: cust_no?)")


def test_missing_files_unknown_formats_and_broken_csv_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="data.tables.events.path: file .*nope.csv' not found"):
        read_table("events", tmp_path / "nope.csv")
    (tmp_path / "data.xlsx").write_bytes(b"x")
    with pytest.raises(ChurnMLError, match="cannot tell the file format"):
        read_table("events", tmp_path / "data.xlsx")
    broken = tmp_path / "broken.csv"
    broken.write_text("customer_id,timestamp,amount\na,2024-03-01,1\nb,2024-03-01,1,extra,fields\n")
    with pytest.raises(SchemaError, match="cannot read .*broken.csv as csv"):
        read_table("transactions", broken)


def test_tables_lists_the_present_tables_in_contract_order_and_is_frozen():
    tx = EXPECTED.head(1)
    tables = Tables(transactions=tx, surveys=tx, events=tx)
    assert tables.present() == ["transactions", "events", "surveys"]
    assert repr(tables) == "Tables(transactions=1 rows, events=1 rows, surveys=1 rows)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        tables.events = None  # type: ignore[misc]


def _files_config(tmp_path: Path, events: str) -> object:
    tx = tmp_path / "orders.csv"
    tx.write_text(USER_CSV, encoding="utf-8")
    ev = tmp_path / "events.csv"
    ev.write_text(events, encoding="utf-8")
    cols = ",".join(f"{k}: {v}" for k, v in MAPPING.items())
    return load_config(None, overrides=[
        "data.source=files", "data.returns=keep",
        f"data.tables={{transactions: {{path: '{tx}', columns: {{{cols}}}}}, events: {{path: '{ev}'}}}}",
    ])


def test_load_tables_reads_every_configured_file(tmp_path):
    cfg = _files_config(tmp_path, "customer_id,timestamp,event_type\n00042,2024-03-01,login\n")
    tables = load_tables(cfg)  # type: ignore[arg-type]
    assert tables.present() == ["transactions", "events"]
    pd.testing.assert_frame_equal(tables.transactions, EXPECTED)
    assert tables.events is not None and tables.events["event_type"].tolist() == ["login"]


def test_a_local_time_zone_is_said_to_give_the_calendar(tmp_path, caplog):
    cfg = _files_config(tmp_path, "customer_id,timestamp,event_type\n00042,2024-03-01,login\n")
    with caplog.at_level("INFO", logger="churnml.io"):
        load_tables(cfg)  # type: ignore[arg-type]
    assert "data.timezone" not in caplog.text  # UTC: nothing to say
    cfg.data.timezone = "Asia/Seoul"  # type: ignore[attr-defined]
    with caplog.at_level("INFO", logger="churnml.io"):
        load_tables(cfg)  # type: ignore[arg-type]
    assert ("times are Asia/Seoul's (data.timezone): naive ones were read as its local time and those with an "
            "offset converted to it, so days, months and cutoffs are its calendar's") in caplog.text


def test_load_tables_reports_the_problems_of_every_table_at_once(tmp_path):
    cfg = _files_config(tmp_path, "customer_id,timestamp,event_type\n,2024-03-01,login\n")
    cfg.data.returns = "error"  # type: ignore[attr-defined]
    with pytest.raises(SchemaError) as exc:
        load_tables(cfg)  # type: ignore[arg-type]
    assert [p.split(":")[0] for p in exc.value.problems] == ["transactions.amount", "events.customer_id"]


def test_load_tables_loads_the_bundled_cdnow_log():
    tables = load_tables(load_config(None, overrides=["data.source=cdnow"]))
    assert tables.present() == ["transactions"] and len(tables.transactions) == 69_659


def test_load_tables_generates_synthetic_tables_without_the_ground_truth(monkeypatch):
    tx = EXPECTED.head(2)
    fake = types.ModuleType("churnml.datasets.synthetic")
    fake.generate = lambda cfg: {"transactions": tx, "events": tx, "ground_truth": tx}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "churnml.datasets.synthetic", fake)
    tables = load_tables(load_config(None, overrides=["data.source=synthetic"]))
    assert tables.present() == ["transactions", "events"]
    assert tables.transactions is tx


def test_a_workbook_or_utf16_file_named_csv_is_told_what_it_is_and_how_to_save_it(tmp_path):
    import zipfile

    from churnml.io import not_csv_hint

    with zipfile.ZipFile(tmp_path / "book.csv", "w") as z:  # an .xlsx is a zip file
        z.writestr("xl/workbook.xml", "<workbook/>")
    (tmp_path / "u16.csv").write_text("customer_id,timestamp,amount\n", encoding="utf-16")
    (tmp_path / "ok.csv").write_text("customer_id,timestamp,amount\n", encoding="utf-8")
    with pytest.raises(SchemaError) as exc:
        read_table("transactions", tmp_path / "book.csv")
    assert str(exc.value).startswith(f"table 'transactions': cannot read the header of {tmp_path / 'book.csv'} ")
    assert str(exc.value).endswith("fix: it is an Excel workbook (.xlsx), not a CSV file: save it as 'CSV UTF-8'")
    assert not_csv_hint(tmp_path / "u16.csv") == "it is text in UTF-16 or UTF-32: save it as 'CSV UTF-8'"
    (tmp_path / "u16le.csv").write_bytes("customer_id\n".encode("utf-16-le"))  # no byte-order mark
    assert not_csv_hint(tmp_path / "u16le.csv") == "it is text in UTF-16 or UTF-32: save it as 'CSV UTF-8'"
    assert not_csv_hint(tmp_path / "ok.csv") == "" and not_csv_hint(tmp_path / "missing.csv") == ""
    import gzip  # a .gz file is judged by its decompressed bytes (its own header holds NUL bytes)
    (tmp_path / "ok.csv.gz").write_bytes(gzip.compress(b"customer_id,timestamp,amount\n"))
    (tmp_path / "u16.csv.gz").write_bytes(gzip.compress("customer_id\n".encode("utf-16")))
    assert not_csv_hint(tmp_path / "ok.csv.gz") == ""
    assert not_csv_hint(tmp_path / "u16.csv.gz") == "it is text in UTF-16 or UTF-32: save it as 'CSV UTF-8'"
    # judged before pandas reads a header: a workbook's zip header decoded as one column 1 time in 70
    for second in range(0, 60, 2):
        with zipfile.ZipFile(tmp_path / "book.csv", "w") as z:
            z.writestr(zipfile.ZipInfo("xl/workbook.xml", date_time=(2026, 1, 1, 0, 0, second)), "<workbook/>")
        with pytest.raises(SchemaError, match="fix: it is an Excel workbook"):
            read_table("transactions", tmp_path / "book.csv")


def test_an_unknown_table_name_is_a_schema_error_listing_the_tables():
    from churnml.errors import SchemaError
    from churnml.io import read_table

    with pytest.raises(SchemaError, match=r"^unknown table 'orders'; the data contract's tables are \['transactions', "):
        read_table("orders", pd.DataFrame({"customer_id": ["a"]}))


def test_thousands_separators_are_told_the_read_option_that_reads_them(tmp_path):
    from churnml.errors import SchemaError
    from churnml.io import read_table

    path = tmp_path / "tx.csv"
    path.write_text('customer_id,timestamp,amount\na,2024-01-05,"1,234,000"\nb,2024-01-06,"12,500.50"\n')
    with pytest.raises(SchemaError) as err:
        read_table("transactions", path)
    assert str(err.value).endswith("for a CSV file written with thousands separators ('1,234,000'), set "
                                   "read_options: {thousands: ','}")
    assert read_table("transactions", path, read_options={"thousands": ","})["amount"].tolist() == [1234000.0, 12500.5]
    path.write_text('customer_id;timestamp;amount\na;2024-01-05;"10,5"\nb;2024-01-06;"1,000"\n')
    with pytest.raises(SchemaError) as err:  # one of each: both hints
        read_table("transactions", path, read_options={"sep": ";"})
    assert "{thousands: ','}; for a CSV file written with a decimal comma ('12,50'), set read_options: " \
        "{decimal: ','}" in str(err.value)


def test_thousands_separators_out_of_place_are_refused_not_removed(tmp_path):
    """With read_options.thousands pandas removed every mark: '12,5' (a decimal comma) was read as 125."""
    from churnml.errors import SchemaError
    from churnml.io import read_table

    path = tmp_path / "tx.csv"
    path.write_text('customer_id,timestamp,amount,quantity\na,2024-01-05,"1,234.5",1\nb,2024-01-06,"12,5","1,000"\n'
                    'c,2024-01-07,"1,23,4",2\nd,2024-01-08,7,"10,00"\ne,2024-01-09," -12,345 ",1\n')
    with pytest.raises(SchemaError) as err:
        read_table("transactions", path, read_options={"thousands": ","}, returns="keep")
    marks = "thousands separators (read_options.thousands ',') not between groups of three digits"
    assert err.value.problems == [
        f"transactions.amount: 2 numbers with {marks} at data rows 2, 3 of {path} (e.g. '12,5', '1,23,4'); fix: "
        "read with the separators removed they would be other numbers ('12,5' as 125), so they are not read: if "
        "',' is the decimal mark in this file, set read_options.decimal to ',' and read_options.thousands to '.' "
        "or leave it out; otherwise correct those values (1234.5 is written '1,234.5', and India's grouping '1,23,456.5' is read too)",
        f"transactions.quantity: 1 number with {marks} at data row 4 of {path} (e.g. '10,00'); fix: read with the "
        "separators removed they would be other numbers ('10,00' as 1000), so they are not read: if ',' is the "
        "decimal mark in this file, set read_options.decimal to ',' and read_options.thousands to '.' or leave it "
        "out; otherwise correct those values (1234.5 is written '1,234.5', and India's grouping '1,23,456.5' is read too)"]
    path.write_text('customer_id,timestamp,amount,quantity\na,2024-01-05,"1,234.5",1\nb,2024-01-06,7,"1,000"\n'
                    'e,2024-01-09," -12,345 ",1\n')
    out = read_table("transactions", path, read_options={"thousands": ","}, returns="keep")
    assert out["amount"].tolist() == [1234.5, 7.0, -12345.0] and out["quantity"].tolist() == [1.0, 1000.0, 1.0]
    assert out["amount"].dtype == out["quantity"].dtype == "float64"
    # India's grouping is read; a currency sign is no number at all (the non-numeric rule's fix), not a misplaced mark
    path.write_text('customer_id,timestamp,amount\na,2024-01-05,"1,23,456.00"\nb,2024-01-06,"12,34,56,789.5"\n')
    out = read_table("transactions", path, read_options={"thousands": ","})
    assert out["amount"].tolist() == [123456.0, 123456789.5]
    path.write_text('customer_id,timestamp,amount\na,2024-01-05,"$1,234"\n')
    with pytest.raises(SchemaError, match=r"1 non-numeric value at data row 1 of \S*tx.csv \(e.g. '\$1,234'\); fix: "
                                          r"write plain numbers \('12.50': a dot for decimals, no currency sign"):
        read_table("transactions", path, read_options={"thousands": ","})
    # a file written with decimal points read as if its dots were thousands separators
    eu = tmp_path / "eu.csv"
    eu.write_text("customer_id;timestamp;amount\nA;2024-01-05;1.234,5\nB;2024-01-06;12.5\n")
    with pytest.raises(SchemaError, match=r"at data row 2 of \S*eu.csv \(e.g. '12.5'\); fix: read with the separators "
                                          r"removed they would be other numbers \('12.5' as 125\), so they are not "
                                          r"read: if '.' is the decimal mark in this file, set read_options.decimal to "
                                          r"'.' and read_options.thousands to ',' or leave it out; otherwise correct "
                                          r"those values \(1234,5 is written '1.234,5', and India's grouping '1.23.456,5' is read too\)"):
        read_table("transactions", eu, read_options={"sep": ";", "decimal": ",", "thousands": "."})
    # times written as numbers are not read with the marks removed either, and are told so as numbers are
    epoch = tmp_path / "epoch.csv"
    for fmt, good, bad, bare in (("epoch_seconds", "1,700,000,000", "1,7000,00000", "1700000000"),
                                 ("epoch_milliseconds", "1,700,000,000,000", "1,7000,00000000", "1700000000000")):
        epoch.write_text(f'customer_id,timestamp,amount\nA,"{good}",1\nB,"{bad}",2\n')
        with pytest.raises(SchemaError) as err:
            read_table("transactions", epoch, read_options={"thousands": ",", "date_format": fmt})
        assert err.value.problems == [
            "transactions.timestamp: 1 number with thousands separators (read_options.thousands ',') not between "
            f"groups of three digits at data row 2 of {epoch} (e.g. '{bad}'); fix: read with the separators removed "
            f"they would be other numbers ('{bad}' as {bare}), so they are not read: if ',' is the decimal mark in "
            "this file, set read_options.decimal to ',' and read_options.thousands to '.' or leave it out; otherwise "
            "correct those values (1234.5 is written '1,234.5', and India's grouping '1,23,456.5' is read too)"]
        epoch.write_text(f'customer_id,timestamp,amount\nA,"{good}",1\nB,"{bad}x",2\n')  # no number: as before
        with pytest.raises(SchemaError, match=rf"1 timestamp not in read_options.date_format '{fmt}' at data row 2"):
            read_table("transactions", epoch, read_options={"thousands": ",", "date_format": fmt})


def test_a_decimal_comma_is_told_the_read_option_that_reads_it(tmp_path):
    from churnml.errors import SchemaError
    from churnml.io import read_table

    path = tmp_path / "tx.csv"
    path.write_text("customer_id;timestamp;amount\na;2024-01-05;10,5\n")
    with pytest.raises(SchemaError, match=r"set read_options: \{decimal: ','\}"):
        read_table("transactions", path, read_options={"sep": ";"})
    assert read_table("transactions", path, read_options={"sep": ";", "decimal": ","})["amount"].tolist() == [10.5]
    path.write_text("customer_id;timestamp;amount\na;2024-01-05;ten\n")
    with pytest.raises(SchemaError) as err:  # not a decimal comma: no such hint
        read_table("transactions", path, read_options={"sep": ";"})
    assert "no currency sign or thousands separator)" in str(err.value) and "decimal: ','" not in str(err.value)


def test_times_written_as_numbers_are_read_with_a_number_format_and_otherwise_refused_with_its_name(tmp_path):
    path = tmp_path / "tx.csv"
    # 1700000000 s = 2023-11-14 22:13:20 UTC; serial day 45000.5 = 1899-12-30 + 45000.5 days = 2023-03-15 12:00
    path.write_text("customer_id,timestamp,amount\nA,1700000000,10\nB,1700086400.5,5\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"2 unparseable timestamps at data rows 1, 2 of \S*tx.csv \(e.g. '1700000000', "
                       r"'1700086400.5'\); they are numbers: if they are seconds since 1970-01-01 UTC, set "
                       r"read_options.date_format: epoch_seconds; fix: write ISO 8601"):
        read_table("transactions", path)
    utc = read_table("transactions", path, read_options={"date_format": "epoch_seconds"})
    assert utc["timestamp"].tolist() == [pd.Timestamp("2023-11-14 22:13:20"), pd.Timestamp("2023-11-15 22:13:20.5")]
    local = read_table("transactions", path, read_options={"date_format": {"timestamp": "epoch_seconds"}},
                       timezone="America/New_York")  # instants: shown as the zone's wall-clock times (EST, -5 h)
    assert local["timestamp"].tolist() == [pd.Timestamp("2023-11-14 17:13:20"), pd.Timestamp("2023-11-15 17:13:20.5")]
    assert str(local["timestamp"].dtype) == "datetime64[us]"
    path.write_text("customer_id,timestamp,amount\nA,1700000000123,10\n", encoding="utf-8")
    ms = read_table("transactions", path, read_options={"date_format": "epoch_milliseconds"})
    assert ms["timestamp"].tolist() == [pd.Timestamp("2023-11-14 22:13:20.123")]
    path.write_text("customer_id,timestamp,amount\nA,45000.5,10\nB,45001,5\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"they are numbers: if they are spreadsheet serial days \(days since "
                       r"1899-12-30, the time as the fraction\), set read_options.date_format: excel_serial"):
        read_table("transactions", path)
    serial = read_table("transactions", path, read_options={"date_format": "excel_serial"}, timezone="Europe/Berlin")
    assert serial["timestamp"].tolist() == [pd.Timestamp("2023-03-15 12:00"), pd.Timestamp("2023-03-16")]  # as written
    # decimal commas, as a spreadsheet in such a locale writes serial days; to the millisecond (8:00, not 07:59:59.999997)
    path.write_text("customer_id;timestamp;amount\nA;45000,3333333333;1,5\n", encoding="utf-8")
    comma = read_table("transactions", path, read_options={"sep": ";", "decimal": ",", "date_format": "excel_serial"})
    assert comma["timestamp"].tolist() == [pd.Timestamp("2023-03-15 08:00")] and comma["amount"].tolist() == [1.5]
    # date_format as an argument, as read_options take it
    path.write_text("customer_id,timestamp,amount\nA,1700000000,10\n", encoding="utf-8")
    assert read_table("transactions", path, date_format="epoch_seconds")["timestamp"].tolist() == [
        pd.Timestamp("2023-11-14 22:13:20")]
    path.write_text("customer_id,timestamp,amount\nA,1700000000,10\nB,soon,5\nC,60,1\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"1 timestamp not in read_options.date_format 'epoch_seconds' at data row 2 "
                       r"of \S*tx.csv \(e.g. 'soon'\); read as seconds since 1970-01-01 UTC, they are not numbers"):
        read_table("transactions", path, read_options={"date_format": "epoch_seconds"})
    with pytest.raises(SchemaError, match=r"3 timestamps not in read_options.date_format 'excel_serial' at data rows "
                       r"1, 2, 3"):  # 1700000000 days is no date; serial 60 is the spreadsheet's 29 February 1900
        read_table("transactions", path, read_options={"date_format": "excel_serial"})


def test_a_column_mixing_text_dates_and_serial_days_gets_one_fix_for_the_whole_column(tmp_path):
    """The numbers' hint (date_format: excel_serial) made the text rows fail, and the text's fix the numbers."""
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,timestamp,amount\nA,2024-01-05,1\nB,45296,2\nC,2024-01-07,3\nD,45300.5,4\n")
    one_way = ("fix: one read_options.date_format reads one of the two kinds and refuses the other (a number format "
               "the text, a text format the numbers), so write the whole column one way: ")
    said = [f"transactions.timestamp: 2 times written as numbers at data rows 2, 4 of {path} (e.g. '45296', "
            f"'45300.5') and 2 written as text at data rows 1, 3 of {path} (e.g. '2024-01-05', '2024-01-07'); "
            f"{one_way}format its cells as dates (yyyy-mm-dd, or with the time) in the spreadsheet before saving the "
            "CSV, so that every cell is written as a date ('45296' read with excel_serial is 2024-01-05), or convert "
            "the text dates to serial days and set read_options.date_format: excel_serial"]
    for options in (None, {"date_format": "excel_serial"}, {"date_format": "ISO8601"}):  # the same, whichever
        with pytest.raises(SchemaError) as err:
            read_table("transactions", path, read_options=options)
        assert err.value.problems == said
    # both fixes read the whole column
    path.write_text("customer_id,timestamp,amount\nA,2024-01-05,1\nB,2024-01-05,2\nC,2024-01-07,3\n")
    assert read_table("transactions", path)["timestamp"].tolist()[1] == pd.Timestamp("2024-01-05")
    path.write_text("customer_id,timestamp,amount\nA,45296,1\nB,45296,2\nC,45298,3\n")
    assert read_table("transactions", path, read_options={"date_format": "excel_serial"})["timestamp"].tolist()[0] == \
        pd.Timestamp("2024-01-05")
    # epoch seconds among text times; a value of neither kind keeps its own problem
    path.write_text("customer_id,timestamp,amount\nA,2024-01-05 10:00:00,1\nB,1700000000,2\nC,soon,3\n")
    with pytest.raises(SchemaError) as err:
        read_table("transactions", path)
    assert err.value.problems[0] == (
        f"transactions.timestamp: 1 time written as a number at data row 2 of {path} (e.g. '1700000000') and 1 "
        f"written as text at data row 1 of {path} (e.g. '2024-01-05 10:00:00'); {one_way}every time as text (ISO "
        "8601, e.g. '2024-03-01 10:00:00'), or every time as seconds since 1970-01-01 UTC ('1700000000' read with "
        "epoch_seconds is 2023-11-14 22:13:20 UTC) with read_options.date_format: epoch_seconds")
    assert err.value.problems[1].startswith(f"transactions.timestamp: 1 unparseable timestamp at data row 3 of {path} "
                                            "(e.g. 'soon')")


def test_a_time_0_among_text_times_is_one_placeholder_problem_per_row(tmp_path):
    """A 0 (or 25569, a serial day's 1970-01-01) among text dates is an unknown time, not a time written as a
    number; with date_format excel_serial, 25569 was named as a number and as a 1970 placeholder."""
    path = tmp_path / "tx.csv"
    zero = ("placeholder for an unknown time written as a number (time 0: 1970-01-01 00:00) at data row 2 of "
            f"{path}" + " (e.g. '{}'); fix: a 0 (or 25569, a spreadsheet's serial day of 1970-01-01) in a column of "
            "text times is an export's placeholder for an unknown time, not a time, and read as a time it would put "
            "cutoffs, windows and KPI periods in 1970: write the real times as the other rows are written (or the "
            "earliest known, e.g. when the record was migrated), or remove those rows")
    for value in ("0", "25569"):
        path.write_text(f"customer_id,timestamp,amount\nA,2024-01-05,1\nB,{value},2\nC,2024-01-07,3\n")
        with pytest.raises(SchemaError) as err:
            read_table("transactions", path)
        assert err.value.problems == [f"transactions.timestamp: 1 {zero.format(value)}"]
    # read as serial days, 25569 is 1970-01-01: the table's placeholder rule names it, and the text rows are
    # named once, as text the format does not read
    with pytest.raises(SchemaError) as err:
        read_table("transactions", path, read_options={"date_format": "excel_serial"})
    assert err.value.problems[0] == (
        f"transactions.timestamp: 2 timestamps not in read_options.date_format 'excel_serial' at data rows 1, 3 of "
        f"{path} (e.g. '2024-01-05', '2024-01-07'), written as text times, which are read without this format (the "
        "column's only numbers, '25569', read as 1970-01-01, time 0); fix: correct those values, or change "
        "read_options.date_format (strftime codes such as '%d.%m.%Y %H:%M', a mapping column -> format, or "
        "'ISO8601')")
    assert err.value.problems[1].startswith(
        f"transactions.timestamp: 1 placeholder time 1970-01-01 00:00 (the Unix epoch, time 0; no other time of the "
        f"table within a year) at data row 2 of {path} (e.g. '25569'); fix: ")
    assert len(err.value.problems) == 2
    # beside a real serial day: that one is the time written as a number, 25569 the placeholder
    path.write_text("customer_id,timestamp,amount\nA,2024-01-05,1\nB,25569,2\nC,45296,3\n")
    for options, first in (({"date_format": "excel_serial"}, 0), (None, 1)):
        with pytest.raises(SchemaError) as err:
            read_table("transactions", path, read_options=options)
        assert len(err.value.problems) == 2
        assert err.value.problems[first].startswith(
            f"transactions.timestamp: 1 time written as a number at data row 3 of {path} (e.g. '45296') and 1 "
            f"written as text at data row 1 of {path} (e.g. '2024-01-05'); fix: ")
        assert "at data row 2 " in err.value.problems[1 - first] and "placeholder" in err.value.problems[1 - first]
    # a column that may be empty is told so; beside times of 1970, a 0 is a time written as a number
    subs = tmp_path / "subscriptions.csv"
    subs.write_text("customer_id,start,end\nA,2024-01-05,0\nB,2024-01-06,2024-02-01\n")
    with pytest.raises(SchemaError) as err:
        read_table("subscriptions", subs)
    assert err.value.problems == [
        "subscriptions.end: 1 placeholder for an unknown time written as a number (time 0: 1970-01-01 00:00) at data "
        f"row 1 of {subs} (e.g. '0'); fix: " + zero.split("; fix: ")[1] + ", or leave those cells empty (the column "
        "may be empty)"]
    path.write_text("customer_id,timestamp,amount\nA,1970-03-01,1\nB,0,2\n")
    with pytest.raises(SchemaError, match=r"^table 'transactions': transactions.timestamp: 1 time written as a number "
                                          r"at data row 2 of \S*tx.csv \(e.g. '0'\)"):
        read_table("transactions", path)


def test_the_mixed_kinds_fix_writes_the_text_times_in_the_configured_date_format(tmp_path):
    path = tmp_path / "tx.csv"
    one_way = ("fix: one read_options.date_format reads one of the two kinds and refuses the other (a number format "
               "the text, a text format the numbers), so write the whole column one way: ")
    excel = ("customer_id,timestamp,amount\nA,05/01/2024,1\nB,45296,2\nC,07/01/2024,3\n", "%d/%m/%Y",
             f"1 time written as a number at data row 2 of {path} (e.g. '45296') and 2 written as text at data rows 1, "
             f"3 of {path} (e.g. '05/01/2024', '07/01/2024'); {one_way}format its cells as dates (as "
             "read_options.date_format '%d/%m/%Y' reads them, e.g. '01/03/2024') in the spreadsheet before saving the "
             "CSV, so that every cell is written as a date ('45296' read with excel_serial is 2024-01-05), or convert "
             "the text dates to serial days and set read_options.date_format: excel_serial")
    epoch = ("customer_id,timestamp,amount\nA,05/01/2024 10:00,1\nB,1700000000,2\n", "%d/%m/%Y %H:%M",
             f"1 time written as a number at data row 2 of {path} (e.g. '1700000000') and 1 written as text at data "
             f"row 1 of {path} (e.g. '05/01/2024 10:00'); {one_way}every time as text in read_options.date_format "
             "'%d/%m/%Y %H:%M' (e.g. '01/03/2024 10:00'), or every time as seconds since 1970-01-01 UTC ('1700000000' "
             "read with epoch_seconds is 2023-11-14 22:13:20 UTC) with read_options.date_format: epoch_seconds")
    for text, fmt, said in (excel, epoch):
        path.write_text(text)
        with pytest.raises(SchemaError) as err:
            read_table("transactions", path, read_options={"date_format": fmt})
        assert err.value.problems == [f"transactions.timestamp: {said}"]


def test_a_date_format_strptime_cannot_use_is_a_config_error_naming_the_option(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,timestamp,amount\nA,1704067200,5\n", encoding="utf-8")
    for fmt, what in (("%s", "'s' is a bad directive"), ("%Y-%", "stray %")):
        with pytest.raises(ConfigError, match=rf"^data.tables.transactions.read_options.date_format='{fmt}': "
                                              rf"{what} in format '{fmt}'; give a format of strptime codes"):
            read_table("transactions", path, read_options={"date_format": fmt})
        with pytest.raises(ConfigError, match="bad directive|stray"):
            read_table("transactions", path, read_options={"date_format": {"timestamp": fmt}})
