"""Findings of the user review on reading tables: day-first dates and customer ids.

B1: ``read_options.date_format`` and ``dayfirst`` are honoured for the time
columns; without them, the order of day and month must be settled by the
values (a day above 12), else the values are refused, never read month-first
in silence. B11: one rule for customer ids everywhere (``canonical_ids``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnml import dateformat
from churnml.coercion import canonical_ids
from churnml.errors import ConfigError, SchemaError
from churnml.io import read_table
from churnml.validation import validate_table

HEADER = "customer_id;timestamp;amount\n"
T = pd.Timestamp


def csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def times(path: Path, **options: object) -> list[pd.Timestamp]:
    return read_table("transactions", path, read_options={"sep": ";", **options})["timestamp"].tolist()


def problems(path: Path, **options: object) -> list[str]:
    with pytest.raises(SchemaError) as exc:
        read_table("transactions", path, read_options={"sep": ";", **options})
    return exc.value.problems


def only(found: list[str]) -> str:
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------ inferred formats
def test_a_day_above_12_settles_day_first_for_every_row_even_when_it_is_not_the_first(tmp_path, caplog):
    path = csv(tmp_path, HEADER + "a;05.01.2024;1\nb;13.01.2024;2\nc;06.02.2024;3\n")
    with caplog.at_level(logging.WARNING, logger="churnml.validation"):
        got = times(path)
    assert got == [T("2024-01-05"), T("2024-01-13"), T("2024-02-06")]
    assert "transactions.timestamp: 3 timestamps are not ISO 8601" in caplog.text
    assert "inferred format '%d.%m.%Y'" in caplog.text


def test_a_day_above_12_settles_month_first_with_times_of_day(tmp_path):
    path = csv(tmp_path, HEADER + "a;01/05/2024 10:00;1\nb;01/13/2024 09:30;2\n")
    assert times(path) == [T("2024-01-05 10:00"), T("2024-01-13 09:30")]


def test_dates_that_no_day_above_12_settles_are_refused_naming_rows_examples_and_both_formats(tmp_path):
    path = csv(tmp_path, HEADER + "a;05.01.2024;1\nb;06.01.2024;2\nc;07.07.2024;3\n")
    msg = only(problems(path))
    assert msg.startswith("transactions.timestamp: 2 dates that read differently day-first and month-first "
                          "at data rows 1, 2 of ")  # 07.07 reads the same either way
    assert "(e.g. '05.01.2024', '06.01.2024')" in msg
    assert "set read_options.date_format to '%d.%m.%Y' (day first) or '%m.%d.%Y' (month first)" in msg
    assert "read_options.dayfirst" in msg


def test_dayfirst_settles_the_order_of_ambiguous_dates(tmp_path):
    path = csv(tmp_path, HEADER + "a;05.01.2024;1\nb;06.01.2024;2\n")
    assert times(path, dayfirst=True) == [T("2024-01-05"), T("2024-01-06")]
    assert times(path, dayfirst=False) == [T("2024-05-01"), T("2024-06-01")]


def test_dayfirst_is_strict_a_value_only_month_first_reads_is_unparseable(tmp_path):
    path = csv(tmp_path, HEADER + "a;01.13.2024;1\nb;01.05.2024;2\n")
    msg = only(problems(path, dayfirst=True))
    assert msg.startswith("transactions.timestamp: 1 unparseable timestamp at data row 1 of ")
    assert "nor the format '%d.%m.%Y' inferred from the other values" in msg


def test_values_that_no_single_order_reads_are_refused(tmp_path):
    path = csv(tmp_path, HEADER + "a;13.01.2024;1\nb;01.14.2024;2\nc;20.01.2024;3\n")
    msg = only(problems(path))
    assert msg.startswith("transactions.timestamp: 1 unparseable timestamp at data row 2 of ")
    assert "(e.g. '01.14.2024')" in msg and "'%d.%m.%Y'" in msg


def test_iso_values_in_a_day_first_column_are_read_as_iso(tmp_path):
    path = csv(tmp_path, HEADER + "a;05.01.2024;1\nb;13.01.2024;2\nc;2024-01-20;3\n")
    assert times(path) == [T("2024-01-05"), T("2024-01-13"), T("2024-01-20")]


def test_iso_and_year_first_dates_are_never_ambiguous_and_dayfirst_does_not_change_them(tmp_path, caplog):
    iso = csv(tmp_path, HEADER + "a;2024-01-05;1\nb;2024-02-06 10:00;2\nc;2024-03-07T08:00:00;3\n")
    expected = [T("2024-01-05"), T("2024-02-06 10:00"), T("2024-03-07 08:00")]
    with caplog.at_level(logging.WARNING, logger="churnml.validation"):
        assert times(iso) == times(iso, dayfirst=True) == times(iso, dayfirst=False) == expected
    assert caplog.text == ""
    slashes = csv(tmp_path, HEADER + "a;2024/01/05;1\nb;2024/02/06;2\n", "slashes.csv")
    assert times(slashes) == times(slashes, dayfirst=True) == [T("2024-01-05"), T("2024-02-06")]


def test_the_order_is_settled_by_a_value_outside_the_deciding_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(dateformat, "DECIDING_SAMPLE", 2)  # decides on rows 1 and 5 only
    path = csv(tmp_path, HEADER + "a;01.02.2024;1\nb;02.03.2024;1\nc;25.12.2024;1\nd;03.04.2024;1\n"
                                  "e;04.05.2024;1\n")
    assert times(path) == [T("2024-02-01"), T("2024-03-02"), T("2024-12-25"), T("2024-04-03"),
                           T("2024-05-04")]


# ---------------------------------------------------------------- given formats
def test_date_format_is_honoured_for_the_excel_export_of_the_review(tmp_path):
    path = csv(tmp_path, "\ufeffcustomer_id;timestamp;amount\n007;05.01.2024;12,50\n008;06.01.2024;3,00\n")
    out = read_table("transactions", path, read_options={"sep": ";", "decimal": ",", "date_format": "%d.%m.%Y"})
    assert out["timestamp"].tolist() == [T("2024-01-05"), T("2024-01-06")]
    assert out["customer_id"].tolist() == ["007", "008"] and out["amount"].tolist() == [12.5, 3.0]


def test_a_value_not_in_the_given_format_is_refused_with_its_row_the_format_and_the_fix(tmp_path):
    path = csv(tmp_path, HEADER + "007;05.01.2024;1\n008;13.01.2024;2\n009;2024-01-20;3\n")
    msg = only(problems(path, date_format="%d.%m.%Y"))
    assert msg.startswith("transactions.timestamp: 1 timestamp not in read_options.date_format '%d.%m.%Y' "
                          "at data row 3 of ")
    assert "(e.g. '2024-01-20'); fix: correct those values, or change read_options.date_format" in msg


def test_a_date_format_mapping_takes_the_file_column_names_as_pandas_does(tmp_path):
    path = csv(tmp_path, "cust;order_date;value\n007;05.01.2024 10:00;1\n")
    cols = {"customer_id": "cust", "timestamp": "order_date", "amount": "value"}
    for fmt in ({"order_date": "%d.%m.%Y %H:%M"}, {"timestamp": "%d.%m.%Y %H:%M"}):
        out = read_table("transactions", path, columns=cols, read_options={"sep": ";", "date_format": fmt})
        assert out["timestamp"].tolist() == [T("2024-01-05 10:00")]
    with pytest.raises(ConfigError, match=r"date_format names \['amount'\], which are not time columns"):
        read_table("transactions", path, columns=cols,
                   read_options={"sep": ";", "date_format": {"value": "%d.%m.%Y"}})


def test_date_format_is_honoured_when_parse_dates_names_the_time_column(tmp_path):
    path = csv(tmp_path, HEADER + "a;05.01.2024;1\nb;06.01.2024;2\n")
    got = times(path, parse_dates=["timestamp"], date_format="%d.%m.%Y")
    assert got == [T("2024-01-05"), T("2024-01-06")]


def test_a_format_with_an_offset_gives_utc_and_a_format_applies_to_every_time_column(tmp_path):
    tx = csv(tmp_path, HEADER + "a;05.01.2024 10:00 +0200;1\n")
    assert times(tx, date_format="%d.%m.%Y %H:%M %z") == [T("2024-01-05 08:00")]
    subs = csv(tmp_path, "customer_id;start;end\na;05.01.2024;13.02.2024\nb;06.01.2024;\n", "subs.csv")
    out = read_table("subscriptions", subs, read_options={"sep": ";", "date_format": "%d.%m.%Y"})
    assert out["start"].tolist() == [T("2024-01-05"), T("2024-01-06")]
    assert out["end"].iloc[0] == T("2024-02-13") and pd.isna(out["end"].iloc[1])


def test_date_options_apply_to_a_dataframe_and_are_checked():
    raw = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["05.01.2024", "06.01.2024"], "amount": [1, 2]})
    assert read_table("transactions", raw, read_options={"dayfirst": True})["timestamp"].tolist() == [
        T("2024-01-05"), T("2024-01-06")]
    assert validate_table("transactions", raw, date_format="%m.%d.%Y")["timestamp"].tolist() == [
        T("2024-05-01"), T("2024-06-01")]
    with pytest.raises(ConfigError, match="dayfirst='yes'; expected true or false"):
        validate_table("transactions", raw, dayfirst="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"read_options \['sep'\] apply to files"):
        read_table("transactions", raw, read_options={"sep": ";", "dayfirst": True})


# ----------------------------------------------------------------------- ids
def test_ids_are_stripped_so_spaced_variants_are_one_customer_and_one_line_is_logged(tmp_path, caplog):
    path = csv(tmp_path, "customer_id,timestamp,amount\n007 ,2024-01-01,1\n 007,2024-01-02,2\n"
                         "007,2024-01-03,3\n\t008\t,2024-01-04,4\n")
    with caplog.at_level(logging.WARNING, logger="churnml.validation"):
        out = read_table("transactions", path)
    assert out["customer_id"].tolist() == ["007", "007", "007", "008"]
    assert out["customer_id"].dtype == "str"
    lines = [r.getMessage() for r in caplog.records if "white space" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("transactions.customer_id: stripped surrounding white space from 3 ids "
                               "(e.g. '007 ' -> '007', ' 007' -> '007', '\\t008\\t' -> '008')")


def test_text_columns_are_stripped_so_an_exports_padded_event_types_and_plans_are_one_value(tmp_path, caplog):
    path = csv(tmp_path, "customer_id,timestamp,event_type\n1,2024-01-01,login \n1,2024-01-02,login\n"
                         "2,2024-01-03, email_open\n2,2024-01-04,email_open\n")
    with caplog.at_level(logging.WARNING, logger="churnml.validation"):
        out = read_table("events", path)
    assert out["event_type"].tolist() == ["login", "login", "email_open", "email_open"]
    lines = [r.getMessage() for r in caplog.records if "white space" in r.getMessage()]
    assert lines == ["events.event_type: stripped surrounding white space from 2 values (e.g. 'login ' -> 'login', "
                     "' email_open' -> 'email_open'); values that differ only by it are one, blank ones are missing"]
    # an optional label: a blank one is missing, like an empty cell; a required one blank is the null rule's
    raw = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "region": [" north", "north", "  ", ""]})
    region = validate_table("customers", raw)["region"]
    assert region.isna().tolist() == [False, False, True, True]
    assert region.dropna().tolist() == ["north", "north"]
    blank = pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-01-01"], "event_type": ["  "]})
    with pytest.raises(SchemaError, match=r"events.event_type: 1 null event_type value at index 0; fix: fill in"):
        validate_table("events", blank)


def test_a_blank_id_is_a_null_id_reported_with_its_row(tmp_path):
    path = csv(tmp_path, 'customer_id,timestamp,amount\n007,2024-01-01,1\n"  ",2024-01-02,2\n')
    with pytest.raises(SchemaError) as exc:
        read_table("transactions", path)
    assert exc.value.problems == [
        "transactions.customer_id: 1 null customer id at data row 2 of " + str(path)
        + "; fix: fill in customer_id or remove those rows (it is required in every row); in a CSV file 'NA', "
        "'NULL', 'None' and the like are missing too: if such a value is real, set read_options: "
        "{keep_default_na: false, na_values: ['']}"]


def test_ids_that_differ_only_by_spaces_are_duplicates_in_a_one_row_per_customer_table():
    raw = pd.DataFrame({"customer_id": ["007", "007 ", "008"], "region": ["n", "s", "e"]})
    with pytest.raises(SchemaError, match=r"customers.customer_id: 1 duplicate row at index 1 \(e.g. index 1 "
                                          r"repeats the customer_id of index 0\)"):
        validate_table("customers", raw)


def test_whole_float_ids_lose_their_fraction_in_float_and_object_columns_alike():
    floats = pd.Series([7.0, 12.0, 7.5, np.nan])
    mixed = pd.Series([7.0, 7, "007", " 7 ", np.float32(8.0), "7.0", None], dtype=object)
    assert canonical_ids(floats).tolist() == ["7", "12", "7.5", np.nan]
    assert canonical_ids(mixed).tolist() == ["7", "7", "007", "7", "8", "7.0", np.nan]
    raw = pd.DataFrame({"customer_id": pd.Series([7.0, 7], dtype=object), "timestamp": ["2024-01-01"] * 2,
                        "amount": [1.0, 2.0]})
    assert validate_table("transactions", raw)["customer_id"].tolist() == ["7", "7"]


def test_canonical_ids_give_a_customer_list_the_ids_of_the_tables(tmp_path):
    path = csv(tmp_path, "customer_id,timestamp,amount\n007 ,2024-01-01,1\n9,2024-01-02,2\n")
    table_ids = set(read_table("transactions", path)["customer_id"])
    asked = canonical_ids(pd.Series([" 007", "007", "", "   ", 9.0], dtype=object))
    assert asked.tolist() == ["007", "007", np.nan, np.nan, "9"]
    assert asked.dropna().isin(table_ids).all()
    assert canonical_ids(pd.Series([], dtype="str")).tolist() == []


# ------------------------------------------------------------------ ids of one table that match no transaction
def test_a_table_whose_ids_do_not_match_the_transactions_is_warned_about_with_the_likely_cause(tmp_path, caplog):
    from churnml.config import load_config
    from churnml.io import load_tables, warn_unmatched_ids

    tx = pd.DataFrame({"customer_id": pd.Series(["0000001", "0000002", "C03", "C04"], dtype="str")})

    def ids(*values):
        return pd.DataFrame({"customer_id": pd.Series(list(values), dtype="str")})

    zeros = warn_unmatched_ids({"transactions": tx, "customers": ids("1", "2")})
    assert zeros == ["table 'customers': none of its 2 customer ids occur in the transactions (e.g. ['1', '2']; the "
                     "transactions have e.g. ['0000001', '0000002', 'C03']); they match once leading zeros and case "
                     "are ignored: write every table's ids the same way (as text, with the same zeros and case). Its "
                     "features and KPIs describe no customers of the transactions"]
    case = warn_unmatched_ids({"transactions": tx, "tickets": ids("c03", "c04", "0000001")})
    assert case[0].startswith("table 'tickets': only 33% of its 3 customer ids occur in the transactions")
    other = warn_unmatched_ids({"transactions": tx, "events": ids("X1")})
    assert other[0].endswith("check that the right column is mapped to customer_id (data.tables.events.columns). "
                             "Its features and KPIs describe no customers of the transactions")
    # free users' events (a few buyers among many who never bought, nothing a spelling would fix): no warning
    assert warn_unmatched_ids({"transactions": tx, "events": ids("C03", "F1", "F2", "F3")}) == []
    # load_tables says it for files
    pd.DataFrame({"customer_id": ["0000001", "0000002"], "timestamp": ["2024-01-02", "2024-01-05"],
                  "amount": [1.0, 2.0]}).to_csv(tmp_path / "tx.csv", index=False)
    pd.DataFrame({"customer_id": [1, 2], "region": ["eu", "us"]}).to_csv(tmp_path / "cu.csv", index=False)
    cfg = load_config(None, ["data.source=files", f"data.tables.transactions.path={tmp_path / 'tx.csv'}",
                             f"data.tables.customers.path={tmp_path / 'cu.csv'}"])
    with caplog.at_level(logging.WARNING, logger="churnml.io"):
        load_tables(cfg)
    assert "table 'customers': none of its 2 customer ids occur in the transactions" in caplog.text


# ------------------------------------------------------------------ read errors that point at the right fix
def test_read_errors_name_the_separator_the_encoding_or_the_read_option_at_fault(tmp_path):
    from churnml.score import _read_list

    semi = csv(tmp_path, "cust_no;order_date;value\nA;2024-01-01;1\n", "semi.csv")
    with pytest.raises(SchemaError) as err:
        read_table("transactions", semi)
    assert str(err.value).endswith("found columns ['cust_no;order_date;value']: the header was read as one column, "
                                   "so the file is separated by ';', not by the separator read; fix: set "
                                   "data.tables.transactions.read_options: {sep: ';'} (in Python: read_table's "
                                   "read_options={'sep': ';'})")
    with pytest.raises(SchemaError) as err:  # a right mapping is not blamed
        read_table("transactions", semi, columns={"customer_id": "cust_no", "timestamp": "order_date",
                                                  "amount": "value"})
    assert "fix data.tables.transactions.columns" not in str(err.value) and "{sep: ';'}" in str(err.value)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("customer_id,timestamp,amount\nAé,2024-01-01,1\n".encode("latin-1"))
    with pytest.raises(SchemaError) as err:
        read_table("transactions", latin)
    assert str(err.value).endswith("fix: the file is not UTF-8; give its encoding: data.tables.transactions."
                                   "read_options: {encoding: latin-1} (or cp1252, the usual one of Windows "
                                   "spreadsheets)")
    assert read_table("transactions", latin, read_options={"encoding": "latin-1"})["customer_id"].tolist() == ["Aé"]
    for options, what in (({"bogus_opt": 1}, "TypeError: read_csv() got an unexpected keyword argument 'bogus_opt'"),
                          ({"encoding": "nosuch"}, "LookupError: unknown encoding: nosuch")):
        with pytest.raises(ConfigError) as err:
            read_table("transactions", latin, read_options=options)
        assert str(err.value).startswith(f"data.tables.transactions.read_options: reading {latin} failed with {what}")
    wide = tmp_path / "utf16.csv"  # UTF-16 is refused with the fix, and read once the encoding is given
    wide.write_text("customer_id,timestamp,amount\nA,2024-01-01,1\n", encoding="utf-16")
    with pytest.raises(SchemaError, match="it is text in UTF-16 or UTF-32: save it as 'CSV UTF-8'"):
        read_table("transactions", wide)
    assert read_table("transactions", wide, read_options={"encoding": "utf-16"})["customer_id"].tolist() == ["A"]
    listed = tmp_path / "ids.csv"
    listed.write_bytes("customer_id\nAé\n".encode("latin-1"))
    with pytest.raises(SchemaError, match=r"fix: the file is not UTF-8: save it as 'CSV UTF-8'"):
        _read_list(str(listed))


def test_ids_stored_as_floats_too_large_for_every_digit_are_warned_about(caplog):
    raw = pd.DataFrame({"customer_id": [9007199254740993.0, 9007199254740992.0, 7.0],
                        "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"], "amount": [1.0, 2.0, 3.0]})
    with caplog.at_level(logging.WARNING, logger="churnml.validation"):
        out = validate_table("transactions", raw)
    assert out["customer_id"].tolist() == ["9007199254740992", "9007199254740992", "7"]  # lost in the float already
    assert ("transactions.customer_id: 2 ids are stored as floating-point numbers of 2^53 (9,007,199,254,740,992) "
            "or more, which cannot hold every digit: two ids may have become one and an id may read as one that "
            "does not exist (e.g. 9007199254740992). Fix: store the ids as text in the file") in caplog.text


def test_ids_spelt_two_ways_in_one_table_are_warned_about_with_examples(tmp_path, caplog):
    from churnml.config import load_config
    from churnml.io import load_tables, warn_id_spellings

    def ids(*values):
        return pd.DataFrame({"customer_id": pd.Series(list(values), dtype="str")})

    tx = ids("c0000001", "C0000001", "C0000001", "C2", "x\u200b", "x", "n\x00", "Bb", "bB", "BB", None)
    # the events' ids are not looked at (they are matched against the transactions' by warn_unmatched_ids)
    said = warn_id_spellings({"transactions": tx, "customers": ids("A", "a2"), "events": ids("e", "E")})
    assert said == [
        "transactions.customer_id: 5 ids differ from another only by upper and lower case (e.g. 'BB' and 'Bb' and "
        "'bB'; 'C0000001' and 'c0000001'); ids are compared as written, so each spelling is a customer of its own. "
        "If they are one customer, write their ids the same way in the file",
        "transactions.customer_id: 2 ids hold characters that do not show when printed (control or zero-width "
        "characters, e.g. 'n\\x00', 'x\\u200b'); ids are compared as written, so such an id is not the same "
        "customer as the id without them. Fix: remove them in the file"]
    assert warn_id_spellings({"transactions": ids("A", "a2", "B01", "b1", "x0", "x")}) == []  # not twins
    # load_tables says it for files
    (tmp_path / "tx.csv").write_text("customer_id,timestamp,amount\nk1,2024-01-02,1\nK1,2024-01-05,2\n")
    cfg = load_config(None, ["data.source=files", f"data.tables.transactions.path={tmp_path / 'tx.csv'}"])
    with caplog.at_level(logging.WARNING, logger="churnml.io"):
        load_tables(cfg)
    assert "transactions.customer_id: 2 ids differ from another only by upper and lower case (e.g. 'K1' and " \
           "'k1')" in caplog.text


def test_ids_differing_only_by_leading_zeros_in_one_table_are_warned_about(tmp_path, caplog):
    from churnml.config import load_config
    from churnml.io import load_tables, warn_id_spellings

    (tmp_path / "tx.csv").write_text("customer_id,timestamp,amount\n7,2024-01-02,1\n00007,2024-01-05,2\n"
                                     "007,2024-02-01,3\n70,2024-02-03,4\n0,2024-02-04,1\n00,2024-02-05,1\n")
    cfg = load_config(None, ["data.source=files", f"data.tables.transactions.path={tmp_path / 'tx.csv'}"])
    with caplog.at_level(logging.WARNING, logger="churnml.io"):
        tables = load_tables(cfg)
    said = ("transactions.customer_id: 5 ids differ from another only by leading zeros (e.g. '0' and '00'; "
            "'00007' and '007' and '7'); ids are compared as written, so each spelling is a customer of its own. "
            "If they are one customer, write their ids the same way in the file (as text, with the same zeros: a "
            "spreadsheet drops them from ids it reads as numbers)")
    assert [r.getMessage() for r in caplog.records if "leading zeros" in r.getMessage()] == [said]
    assert tables.transactions["customer_id"].nunique() == 6  # warned about, not merged
    # only ids of digits: a spreadsheet keeps the zeros of '0A' (not a twin of 'A')
    assert warn_id_spellings({"transactions": pd.DataFrame({"customer_id": pd.Series(["0A", "A", "x"], dtype="str")})}) == []
    # the customers table too, with case twins as well; the case warning comes first
    customers = pd.DataFrame({"customer_id": pd.Series(["C1", "c1", "01", "1"], dtype="str")})
    assert [t.split(" (e.g.")[0] for t in warn_id_spellings({"customers": customers})] == [
        "customers.customer_id: 2 ids differ from another only by upper and lower case",
        "customers.customer_id: 2 ids differ from another only by leading zeros"]


def test_a_csv_whose_data_lines_end_with_a_separator_the_header_lacks_gets_the_fix(tmp_path):
    path = tmp_path / "trail.csv"
    path.write_text("customer_id,timestamp,amount\nA,2024-01-02,1,\nB,2024-03-05,2,\n")
    with pytest.raises(SchemaError) as err:
        read_table("transactions", path)
    assert err.value.problems[0].endswith(
        "fix: its data lines end with a separator ('A,2024-01-02,1,') that its header line lacks; remove it, or set "
        "data.tables.transactions.read_options: {index_col: false}, which reads such lines as the header says")
    # with options only pandas' C reader takes, it made the first column the index and shifted the others
    semi = tmp_path / "semi.csv"
    semi.write_text("customer_id;timestamp;amount\nA;02.01.2024;1,5;\nB;03.01.2024;2,0;\n")
    options = {"sep": ";", "decimal": ",", "date_format": "%d.%m.%Y"}
    with pytest.raises(SchemaError) as err:
        read_table("transactions", semi, read_options=options)
    assert err.value.problems == [
        f"transactions: cannot read {semi} as csv: its data lines have one field more than its header line (a "
        "separator at the end of each?); fix: remove it, or set data.tables.transactions.read_options: {index_col: "
        "false}, which reads such lines as the header says"]
    assert read_table("transactions", semi, read_options={**options, "index_col": False})["amount"].tolist() == [
        1.5, 2.0]
    tab = tmp_path / "tab.csv"  # a trailing tab is a separator too
    tab.write_text("customer_id\ttimestamp\tamount\nA\t2024-01-02\t1\t\n")
    with pytest.raises(SchemaError, match=r"fix: its data lines end with a separator \('A\\t2024-01-02\\t1\\t'\)"):
        read_table("transactions", tab, read_options={"sep": "\t"})
    fixed = read_table("transactions", path, read_options={"index_col": False})
    assert fixed["amount"].tolist() == [1.0, 2.0] and list(fixed.columns) == ["customer_id", "timestamp", "amount"]
    other = tmp_path / "other.csv"  # one column more, but not a trailing separator: the general fix
    other.write_text("customer_id,timestamp,amount\nA,2024-01-02,1,9\n")
    with pytest.raises(SchemaError, match="fix: check the file"):
        read_table("transactions", other)
