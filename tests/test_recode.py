"""Value maps (data.tables.<table>.values): an export's spellings of event and survey types read as one value."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from churnml.config import load_config
from churnml.errors import ConfigError, SchemaError
from churnml.io import load_tables, read_table

EVENTS = (
    "customer_id,timestamp,event_type\n"
    "A,2024-03-01,Login\n"
    "A,2024-03-02, Log in \n"
    "B,2024-03-02,login\n"
    "B,2024-03-03,Page View\n"
)


@pytest.fixture
def events_csv(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(EVENTS, encoding="utf-8")
    return path


def test_an_exports_spellings_of_one_event_type_are_read_as_one(events_csv, caplog):
    with caplog.at_level("INFO", logger="churnml.recode"):
        out = read_table("events", events_csv, values={"event_type": {"Login": "login", "Log in": "login"}})
    # ' Log in ' is matched without its spaces; 'Page View' is not in the map and stays
    assert out["event_type"].tolist() == ["login", "login", "login", "Page View"]
    assert ("events.event_type: 2 row(s) renamed by data.tables.events.values ('Login' -> 'login', "
            "'Log in' -> 'login')") in caplog.text


def test_a_survey_tools_names_are_read_as_the_contracts_survey_types(tmp_path):
    path = tmp_path / "surveys.csv"
    path.write_text("customer_id,timestamp,survey,score\nA,2024-03-01,Net Promoter Score,9\n"
                    "B,2024-03-01,CSAT (1-5),4\nC,2024-03-02,nps,3\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"2 unknown survey types at data rows 1, 2 of .*\(e.g. 'Net Promoter Score', 'CSAT \(1-5\)'\); .*or map your tool's names to "
                                          r"them with data.tables.surveys.values, e.g. \{survey: \{'Net Promoter "
                                          r"Score': nps\}\}"):
        read_table("surveys", path)
    out = read_table("surveys", path, values={"survey": {"Net Promoter Score": "nps", "CSAT (1-5)": "csat"}})
    assert out["survey"].tolist() == ["nps", "csat", "nps"] and out["score"].tolist() == [9.0, 4.0, 3.0]


def test_a_map_entry_no_row_has_is_warned_about(events_csv, caplog):
    read_table("events", events_csv, values={"event_type": {"Logn": "login", "Login": "login"}})
    assert ("data.tables.events.values.event_type: 1 of the map's values are in no row (['Logn']); the column has "
            "4 distinct values; check their spelling (matched as written, case counts)") in caplog.text


def test_a_value_map_on_a_column_that_is_not_text_or_not_there_is_refused_before_reading(tmp_path):
    missing = tmp_path / "nowhere.csv"  # not read: the map is checked first
    with pytest.raises(ConfigError) as err:
        read_table("transactions", missing, values={"amount": {"1": "2"}, "channel": {}, "product": {"x": None}})
    assert str(err.value) == (
        "data.tables.transactions.values.amount: amount is a column of floats, not of text; a value map renames "
        "text values (event and survey types, plans, channels, attributes); data.tables.transactions.values."
        "channel: give a map from the file's values to churnml's, e.g. {'Log in': login}; "
        "data.tables.transactions.values.product: ['x'] map to no value; a value map renames values (leave a value "
        "out to keep it, or remove its rows from the file)")
    with pytest.raises(ConfigError, match=r"data.tables.events.values maps the values of \['plan'\], which the table "
                                          r"does not have; its columns are \['customer_id', 'timestamp', "
                                          r"'event_type'\]"):
        read_table("events", _events(tmp_path), values={"plan": {"a": "b"}})


def _events(tmp_path: Path) -> Path:
    path = tmp_path / "ev.csv"
    path.write_text(EVENTS, encoding="utf-8")
    return path


def test_a_frame_given_in_is_not_changed_and_numbers_in_yaml_are_text(tmp_path):
    frame = pd.DataFrame({"customer_id": ["A", "B"], "start": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                          "end": pd.to_datetime(["2024-02-01", None]), "plan": ["1", None]})
    given = frame.copy()
    out = read_table("subscriptions", frame, values={"plan": {1: "basic", "2": "pro"}})  # YAML reads 1: as a number
    assert out["plan"].tolist()[0] == "basic" and out["plan"].isna().tolist() == [False, True]
    pd.testing.assert_frame_equal(frame, given)


def test_the_configs_value_map_is_applied_by_load_tables(tmp_path):
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,timestamp,amount\nA,2024-03-01,5\nB,2024-03-02,7\n", encoding="utf-8")
    ev = _events(tmp_path)
    cfg = load_config(None, overrides=[
        "data.source=files",
        f"data.tables={{transactions: {{path: '{tx}'}}, events: {{path: '{ev}', "
        "values: {event_type: {Login: login, 'Log in': login}}}}",
    ])
    tables = load_tables(cfg)  # type: ignore[arg-type]
    assert tables.events is not None
    assert tables.events["event_type"].tolist() == ["login", "login", "login", "Page View"]


def test_a_configs_number_keys_are_read_as_text_and_its_yes_no_values_are_refused(tmp_path):
    """YAML reads `1: basic` with the number 1 as the key (the config refused it: 'Input should be a valid string')
    and an unquoted `Yes` as true (read as the text 'True', it would match no row)."""
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,timestamp,amount\nA,2024-03-01,5\nB,2024-03-02,7\n", encoding="utf-8")
    subs = tmp_path / "subs.csv"
    subs.write_text("customer_id,start,end,plan\nA,2024-01-01,,1\nB,2024-01-01,2024-03-01,2\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"data:\n  source: files\n  tables:\n    transactions: {{path: '{tx}'}}\n"
                      f"    subscriptions: {{path: '{subs}', values: {{plan: {{1: basic, 2: pro}}}}}}\n",
                      encoding="utf-8")
    tables = load_tables(load_config(config))  # type: ignore[arg-type]
    assert tables.subscriptions is not None and tables.subscriptions["plan"].tolist() == ["basic", "pro"]
    config.write_text(config.read_text(encoding="utf-8").replace("{1: basic, 2: pro}", "{Yes: basic}"),
                      encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_tables(load_config(config))  # type: ignore[arg-type]
    assert str(err.value) == (
        "data.tables.subscriptions.values.plan: True is a yes/no value, not a text (YAML reads yes, no, on, off, "
        "true and false so); quote the text as the file writes it, e.g. {'Yes': 'yes'}")


def test_whole_numbers_of_a_column_with_an_empty_cell_match_the_integers_the_file_wrote(tmp_path, caplog):
    """tier 1, 2 and an empty cell: pandas reads 1.0 and 2.0, which the map's 1 and 2 name as the file wrote them."""
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,signup_at,tier\nA,2024-01-01,1\nB,2024-01-02,2\nC,2024-01-03,\nD,2024-01-04,2.5\n",
                    encoding="utf-8")
    out = read_table("customers", path, values={"tier": {1: "x", "2": "y"}})
    assert out["tier"].tolist()[:2] == ["x", "y"] and out["tier"].isna().tolist()[2]
    assert out["tier"].tolist()[3] == 2.5 and "in no row" not in caplog.text
