"""The score command line after the user review: options checked up front, list files, file names.

No model is trained here: the command's model loading and, where the test is about the
files written, its scoring are replaced by fakes (``load_churn_model``, ``_score_duckdb``);
the nobody-to-score test runs the real scoring on the hand-typed transactions of conftest.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import churnml.score as score_cli
from churnml.config import TimeConfig, load_config
from churnml.errors import ConfigError, SchemaError
from churnml.io import write_frame
from churnml.outreach import account_for, outreach_list, spreadsheet_safe
from churnml.scoring import ScoreResult

CUTOFF = "2024-02-01"  # the cutoff of conftest's hand-typed world


def _never_load(uri: str) -> None:
    raise AssertionError(f"the model {uri} must not be loaded when the options are wrong")


@pytest.fixture
def no_model(monkeypatch):
    monkeypatch.setattr(score_cli, "load_churn_model", _never_load)


def _argv(tmp_path: Path, *extra: str, out: str = "list.csv") -> list[str]:
    return ["--model", str(tmp_path / "no-model"), "--data", str(tmp_path), "--cutoff", CUTOFF,
            "--out", str(tmp_path / out), *extra]


def _result() -> ScoreResult:
    """A finished scoring run: one listed customer whose third reason value is the text '-2'."""
    outreach = pd.DataFrame({
        "rank": [1], "customer_id": pd.Series(["A"], dtype="str"), "churn_probability": [0.9],
        "risk_tier": ["high"], "value_at_risk": [80.0], "reason_3_value": pd.Series(["-2"], dtype="str"),
        "reason_3_text": pd.Series(["=1+1"], dtype="str"), "suggested_action": ["personal call"],
    })
    unscored = pd.DataFrame({"customer_id": pd.Series(["Z"], dtype="str"),
                             "reason": ["unknown customer id: not in the transactions, customers or subscriptions tables"]})
    counts = {"asked": 2, "scored": 1, "listed": 1, "below_cut": 0, "unscored": 1}
    return ScoreResult(outreach, unscored, counts)


@pytest.fixture
def fake_run(monkeypatch):
    """Scoring replaced by :func:`_result`; ``calls`` records (cfg, asked ids) of each run."""
    calls: list[tuple[object, object]] = []

    def score(args, cfg, model, asked=None):
        calls.append((cfg, asked))
        return _result()

    monkeypatch.setattr(score_cli, "load_churn_model", lambda uri: object())
    monkeypatch.setattr(score_cli, "_score_duckdb", score)
    return calls


# ------------------------------------------------------------------------------------- B5: budget
@pytest.mark.parametrize("budget", ["-5", "nan", "inf"])
def test_a_negative_or_non_finite_budget_is_refused_before_anything_is_loaded(budget, tmp_path, no_model, capsys):
    assert score_cli.main(_argv(tmp_path, "--budget", budget)) == 2
    err = capsys.readouterr().err
    assert f"error: --budget must be a finite amount of money >= 0 (contacts at scoring.cost_per_contact each), " \
           f"got {float(budget)}" in err


def test_the_outreach_list_refuses_a_negative_budget_instead_of_listing_almost_everyone():
    scored = pd.DataFrame({
        "customer_id": pd.Series(["A", "B", "C"], dtype="str"),
        "cutoff": pd.Series(pd.to_datetime([CUTOFF] * 3), dtype="datetime64[us]"),
        "churn_probability": [0.8, 0.5, 0.2], "predicted_clv": [100.0, 100.0, 100.0],
        "historical_spend": [1.0, 1.0, 1.0], "rfm_segment": ["x", "x", "x"], "tenure_days": [400.0] * 3,
    })
    cfg = load_config(None, ["scoring.top_k=0", "scoring.playbook_reasons=0"])
    with pytest.raises(ConfigError, match=r"--budget must be a finite amount of money >= 0 .*got -5\.0"):
        outreach_list(scored, None, lambda ids: None, cfg, budget=-5.0)  # type: ignore[arg-type]


# ---------------------------------------------------- B6, B12: every option checked up front, exit 2
@pytest.mark.parametrize(("extra", "out", "message"), [
    (["--top-k", "20"], "list.csv",
     "error: --top-k must be a whole number from 0 to 10 (reasons per customer), got 20: "
     "input should be less than or equal to 10\n"),
    (["--top-k", "-1"], "list.csv", "error: --top-k must be a whole number from 0 to 10"),
    (["--top", "0"], "list.csv", "error: --top must be a whole number >= 1 (customers on the list), got 0\n"),
    ([], "list.xlsx", "error: --out {tmp}/list.xlsx: unknown file type; use a name ending in .csv, .csv.gz "
                      "or .parquet\n"),
    (["--cutoff", "yesterday"], "list.csv", "error: --cutoff: cutoff='yesterday' is not a date"),
])
def test_a_bad_option_ends_with_one_readable_message_before_data_or_model_are_loaded(
        extra, out, message, tmp_path, no_model, capsys):
    assert score_cli.main(_argv(tmp_path, *extra, out=out)) == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err
    assert "Traceback" not in err and "ValidationError" not in err and err.count("error:") == 1


def test_several_bad_options_are_reported_at_once(tmp_path, no_model, capsys):
    assert score_cli.main(_argv(tmp_path, "--top", "0", "--top-k", "11", out="l.xlsx")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 3 problems with the options:\n  - --top must")
    assert "  - --top-k must" in err and f"  - --out {tmp_path}/l.xlsx: unknown file type" in err


@pytest.mark.parametrize("existing", ["list.csv", "list.unscored.csv"])
def test_an_existing_output_is_refused_before_the_model_is_loaded(existing, tmp_path, no_model, capsys):
    (tmp_path / existing).write_text("keep me\n")
    assert score_cli.main(_argv(tmp_path, "--top", "5")) == 2
    assert f"error: {tmp_path / existing} exists; pass --overwrite to replace it" in capsys.readouterr().err
    assert (tmp_path / existing).read_text() == "keep me\n"


# ------------------------------------------------------------------- B7: one unscored file per list
@pytest.mark.parametrize(("out", "side"), [
    ("out/list.v1.csv", "out/list.v1.unscored.csv"),
    ("out/list.v2.csv", "out/list.v2.unscored.csv"),
    ("list.csv", "list.unscored.csv"),
    ("list.v1.csv.gz", "list.v1.unscored.csv"),
    ("list.parquet", "list.unscored.csv"),
])
def test_the_unscored_file_is_the_list_name_without_its_format_suffix(out, side):
    assert score_cli.unscored_path(Path(out)) == Path(side)


def test_two_lists_with_dotted_names_get_two_unscored_files(tmp_path, fake_run):
    assert score_cli.main(_argv(tmp_path, out="list.v1.csv")) == 0
    assert score_cli.main(_argv(tmp_path, out="list.v2.csv")) == 0
    assert sorted(p.name for p in tmp_path.glob("*.unscored.csv")) == ["list.v1.unscored.csv",
                                                                      "list.v2.unscored.csv"]


def test_the_asked_customers_below_the_cut_are_written_beside_the_list_after_the_unscored(tmp_path, monkeypatch,
                                                                                          capsys):
    below = pd.DataFrame({"customer_id": pd.Series(["B"], dtype="str"),
                          "reason": ["below the cut: rank 2 of 2 by value at risk (3.00); --top 1 keeps ranks 1 to 1"]})

    def score(args, cfg, model, asked=None):
        done = _result()
        return ScoreResult(done.outreach, done.unscored, {**done.counts, "asked": 3, "scored": 2, "below_cut": 1},
                           below)

    monkeypatch.setattr(score_cli, "load_churn_model", lambda uri: object())
    monkeypatch.setattr(score_cli, "_score_duckdb", score)
    (tmp_path / "asked.csv").write_text("customer_id\nA\nZ\nB\n")
    assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / "asked.csv"), "--top", "1")) == 0
    side = pd.read_csv(tmp_path / "list.unscored.csv", dtype="str")
    assert side["customer_id"].tolist() == ["Z", "B"]
    assert side["reason"].iloc[1] == below["reason"].iloc[0]
    printed = capsys.readouterr().out
    assert f"1 on the outreach list {tmp_path / 'list.csv'} (1 scored but below the cut, listed in " \
           f"{tmp_path / 'list.unscored.csv'} with their rank)" in printed


# ------------------------------------------------------------------- B8: the spreadsheet guard
def test_the_guard_quotes_formulas_but_never_plain_numbers_or_cells_that_are_not_text():
    text = ["-2", "+3.5", "-1e-3", ".5", "=1+1", "@SUM(A1:A2)", "-2+3", "+cmd|' /C calc'!A0", "\tx", "\rx",
            "ok", None]
    frame = pd.DataFrame({"t": pd.Series(text, dtype="str"), "o": pd.Series([-2.0, "-3", *[None] * 10]),
                          "p": [-0.5] * 12})
    safe = spreadsheet_safe(frame)
    assert safe["t"].tolist()[:11] == ["-2", "+3.5", "-1e-3", ".5", "'=1+1", "'@SUM(A1:A2)", "'-2+3",
                                       "'+cmd|' /C calc'!A0", "'\tx", "'\rx", "ok"]
    assert pd.isna(safe["t"].iloc[11])
    assert safe["o"].tolist()[:2] == [-2.0, "-3"]  # a number in a text column stays a number
    assert safe["p"].tolist() == [-0.5] * 12


def test_csv_lists_are_guarded_and_parquet_lists_keep_their_values(tmp_path, fake_run):
    assert score_cli.main(_argv(tmp_path, out="a.csv")) == 0
    assert score_cli.main(_argv(tmp_path, out="b.parquet")) == 0
    csv = pd.read_csv(tmp_path / "a.csv", dtype="str")
    assert csv[["reason_3_value", "reason_3_text"]].iloc[0].tolist() == ["-2", "'=1+1"]
    parquet = pd.read_parquet(tmp_path / "b.parquet")
    assert parquet[["reason_3_value", "reason_3_text"]].iloc[0].tolist() == ["-2", "=1+1"]


# ----------------------------------------------------------------- --set keys the model decides
@pytest.mark.parametrize("key", ["time.horizon_days=90", "features.windows=[7]", "model.num_boost_round=5"])
def test_setting_what_the_model_decides_is_an_error_naming_the_key(key, tmp_path, no_model, capsys):
    assert score_cli.main(_argv(tmp_path, "--set", key)) == 2
    err = capsys.readouterr().err
    name = key.split("=")[0]
    assert err.startswith(f"error: --set {key}: score cannot change {name}, the model decides it (")
    assert "train a model with it" in err


def test_scoring_settings_are_used_and_the_help_example_is_one_of_them(tmp_path, fake_run, capsys):
    assert score_cli.main(_argv(tmp_path, "--set", "scoring.top_k=2")) == 0
    assert fake_run[0][0].scoring.top_k == 2  # type: ignore[attr-defined]
    with pytest.raises(SystemExit):
        score_cli.main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "e.g. --set scoring.cost_per_contact=5" in shown and "time.horizon_days" not in shown


# ------------------------------------------------------------------------- the --customers list
def test_a_list_without_a_customer_id_column_names_the_list_file_and_its_columns(tmp_path, no_model, capsys):
    (tmp_path / "ids.csv").write_text("id,name\n07592,Ann\n")
    assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / "ids.csv"))) == 2
    err = capsys.readouterr().err
    assert (f"error: --customers {tmp_path / 'ids.csv'}: no customer_id column; found columns ['id', 'name']; "
            "fix: name the column of ids customer_id\n") in err
    assert "table 'customers'" not in err and "data.tables" not in err


def test_a_list_may_name_its_id_column_as_the_tables_column_mapping_does(tmp_path, caplog):
    cfg = load_config(None, ["data.source=files", "data.tables.transactions.path=tx.csv",
                             "data.tables.transactions.columns.customer_id=cust_no",
                             "data.tables.customers.path=c.csv", "data.tables.customers.columns.customer_id=cust_no",
                             "data.tables.tickets.path=k.csv"])
    assert score_cli.id_columns(cfg) == ["cust_no"]
    assert score_cli.id_columns(load_config(None, [])) == []  # the bundled data maps nothing
    listed = tmp_path / "ids.csv"
    listed.write_text("cust_no,owner\n07592,Ann\n 00042 ,Bo\n")
    with caplog.at_level(logging.INFO, logger="churnml.score"):
        assert score_cli._read_list(str(listed), ["cust_no"]) == ["07592", "00042"]
    assert "reading its 'cust_no' column as the ids, the name data.tables maps to customer_id" in caplog.text
    listed.write_text("customer_id,cust_no\nA,B\n")  # customer_id itself wins
    assert score_cli._read_list(str(listed), ["cust_no"]) == ["A"]
    listed.write_text("id,name\n07592,Ann\n")
    with pytest.raises(SchemaError) as err:
        score_cli._read_list(str(listed), ["cust_no"])
    assert str(err.value) == (f"--customers {listed}: no customer_id column (or one of the names data.tables maps "
                              "to it: ['cust_no']); found columns ['id', 'name']; fix: name the column of ids "
                              "customer_id")
    listed.write_text("cust_no,client\n1,2\n")
    with pytest.raises(SchemaError) as err:
        score_cli._read_list(str(listed), ["cust_no", "client"])
    assert str(err.value) == (f"--customers {listed}: no customer_id column, and 2 columns the tables map to it "
                              "(['cust_no', 'client']); fix: name the column of ids customer_id")


@pytest.mark.parametrize("header", ["CustomerID", "Customer_ID", "customer_id "])
def test_a_list_whose_id_column_is_spelt_otherwise_is_told_which_column_to_rename(tmp_path, no_model, capsys, header):
    (tmp_path / "ids.csv").write_text(f"{header},owner\n07592,Ann\n")
    assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / "ids.csv"))) == 2
    assert (f"fix: rename the column {header!r} to customer_id (exactly: lower case, no spaces)\n"
            in capsys.readouterr().err)


@pytest.mark.parametrize(("text", "seps"), [("customer_id;owner\n07592;Ann\n", "semicolons"),
                                           ("customer_id\towner\n07592\tAnn\n", "tabs")])
def test_a_list_separated_by_semicolons_or_tabs_is_told_so(tmp_path, no_model, capsys, text, seps):
    (tmp_path / "ids.csv").write_text(text)
    assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / "ids.csv"))) == 2
    assert (f"fix: its columns are separated by {seps}, and the list is read as comma-separated: save it as CSV "
            "with commas (or with the one column customer_id)\n") in capsys.readouterr().err


def test_only_the_id_column_of_the_list_is_read_and_the_others_are_said_to_be_ignored(
        tmp_path, fake_run, caplog):
    (tmp_path / "ids.csv").write_text("customer_id,signup_at\n07592,yesterday\n00001,\n")
    with caplog.at_level(logging.INFO, logger="churnml.score"):
        assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / "ids.csv"))) == 0
    assert fake_run[0][1] == ["07592", "00001"]
    assert f"--customers {tmp_path / 'ids.csv'}: reading its customer_id column only; other columns ignored: " \
           "['signup_at']" in caplog.text


def test_a_missing_id_in_the_list_is_asked_and_listed_as_unscored_with_its_row(tmp_path, fake_run, caplog):
    (tmp_path / "ids.csv").write_text("customer_id,owner\n07592,Ann\n,Bob\n   ,Cy\n07592,Di\nNA,Ed\n")
    # a line of spaces and an empty line are rows with a missing id, so the rows keep their numbers; empty
    # lines after the last row are no rows
    (tmp_path / "one.csv").write_text("customer_id\nA\n   \nB\n\nC\n\n\n")
    (tmp_path / "two.csv").write_text("customer_id,owner\nA,x\n\nB,y\n,z\n\n")
    with caplog.at_level(logging.WARNING, logger="churnml.score"):
        assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / "ids.csv"))) == 0
        assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / "one.csv"), "--overwrite")) == 0
        assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / "two.csv"), "--overwrite")) == 0
    assert fake_run[0][1] == ["07592", "", "", "07592", ""]
    assert fake_run[1][1] == ["A", "", "B", "", "C"]
    assert fake_run[2][1] == ["A", "", "B", ""]
    assert f"--customers {tmp_path / 'one.csv'}: 2 missing id(s) (empty, blank or NA), e.g. at data row(s) 2, 4;" \
           in caplog.text
    assert f"--customers {tmp_path / 'ids.csv'}: 3 missing id(s) (empty, blank or NA), e.g. at data row(s) 2, 3, " \
           "5; they are listed as unscored" in caplog.text
    keep, unscored = account_for(fake_run[0][1], {"07592"}, {"07592"}, TimeConfig())  # type: ignore[arg-type]
    assert keep.tolist() == ["07592"]
    assert unscored.to_dict("list") == {
        "customer_id": ["", "", "07592", ""],
        "reason": ["missing id: asked id number 2 is empty or NA", "missing id: asked id number 3 is empty or NA",
                   "duplicate: asked id number 4 repeats number 1", "missing id: asked id number 5 is empty or NA"],
    }


@pytest.mark.parametrize(("text", "ids"), [
    ("\n\ncustomer_id\na\n\nb\n", ["a", "", "b"]),  # empty lines before the header are no rows
    ("\r\ncustomer_id,n\r\na,1\r\n", ["a"]),
    ("customer_id\na\nb\nNA\n", ["a", "b", ""]),  # a missing id in the last row is a row
    ("customer_id\na\n\"\"\n\n\n", ["a", ""]),
    ("customer_id,name\na,x\n,\n", ["a", ""]),
])
def test_only_empty_lines_around_the_list_are_no_rows(tmp_path, fake_run, text, ids):
    (tmp_path / "ids.csv").write_text(text)
    assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / "ids.csv"))) == 0
    assert fake_run[0][1] == ids


@pytest.mark.parametrize(("text", "line"), [
    ("customer_id,name\n07592,\"Doe, Jane\"\n01412,Smith, John\n", 3),  # an unquoted comma; a quoted one is fine
    ("customer_id\n1,234\n", 2), ("customer_id\r\nA\r\nB,x\r\n", 3),
    ("customer_id,name\nd,e\nx,y: d,e\n", 3),  # the row text holds ': ' and ends like a good row
    ("customer_id,n\na,\"p\nq,r,s\nt\"\nq,r,s\n", 5),  # a quoted line break holds a copy of the bad row
])
@pytest.mark.parametrize("name", ["ids.csv", "ids.csv.gz"])
def test_a_list_row_with_more_fields_than_its_header_is_refused_with_its_line(tmp_path, no_model, capsys, text, line,
                                                                              name):
    import gzip

    (tmp_path / name).write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / name))) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --customers {tmp_path / name}: cannot read its customer_id column (")
    assert "Expected" in err and "columns, got" in err and f") at line {line} of the file; fix: " in err
    assert "fix: every row needs as many fields as the header line (quote a value that holds a comma)\n" in err


def test_ids_that_lost_their_leading_zeros_are_hinted_at(caplog):
    known = {"07592", "01412", "22279"}
    with caplog.at_level(logging.WARNING, logger="churnml.outreach"):
        keep, unscored = account_for(["7592", "22279", "1412", "99"], known, known, TimeConfig())
    assert keep.tolist() == ["22279"]
    assert dict(zip(unscored["customer_id"], unscored["reason"], strict=True)) == {
        "7592": "unknown customer id: not in the transactions, customers or subscriptions tables; 07592 exists (leading zeros differ; keep the ids as text)",
        "1412": "unknown customer id: not in the transactions, customers or subscriptions tables; 01412 exists (leading zeros differ; keep the ids as text)",
        "99": "unknown customer id: not in the transactions, customers or subscriptions tables",
    }
    assert "2 asked id(s) are unknown but match a customer id up to leading zeros, e.g. '7592' -> '07592', " \
           "'1412' -> '01412'" in caplog.text


def test_ids_that_differ_from_a_known_id_only_in_case_are_hinted_at(caplog):
    known = {"K90001", "k00002", "X1"}
    with caplog.at_level(logging.WARNING, logger="churnml.outreach"):
        keep, unscored = account_for(["k90001", "K00002", "X1", "x2"], known, known, TimeConfig())
    assert keep.tolist() == ["X1"]
    unknown = "unknown customer id: not in the transactions, customers or subscriptions tables"
    assert dict(zip(unscored["customer_id"], unscored["reason"], strict=True)) == {
        "k90001": f"{unknown}; K90001 exists (upper and lower case differ; ids are compared as written)",
        "K00002": f"{unknown}; k00002 exists (upper and lower case differ; ids are compared as written)",
        "x2": unknown,
    }
    assert "2 asked id(s) are unknown but match a customer id up to case, e.g. 'k90001' -> 'K90001', " \
           "'K00002' -> 'k00002'" in caplog.text


def test_ids_a_csv_list_guarded_against_formulas_are_read_back_as_the_ids(caplog, tmp_path):
    """A list written to CSV and fed back as --customers: '=1+1 is the id =1+1 (churnml's own guard)."""
    known = {"=1+1", "-7", "'=2", "@x", "A"}
    written = spreadsheet_safe(pd.DataFrame({"customer_id": pd.Series(sorted(known), dtype="str")}))
    assert sorted(written["customer_id"]) == ["'=1+1", "'=2", "'@x", "-7", "A"]  # '=2 is itself an id: unguarded
    with caplog.at_level(logging.INFO, logger="churnml.outreach"):
        keep, unscored = account_for([*written["customer_id"], "'+9", "'=1+1"], known, known, TimeConfig())
    assert sorted(keep) == sorted(known)  # every listed id is scored as itself
    assert dict(zip(unscored["customer_id"], unscored["reason"], strict=True)) == {
        "'+9": "unknown customer id: not in the transactions, customers or subscriptions tables",
        "=1+1": "duplicate: asked id number 7 repeats number 3"}
    assert "3 asked id(s) are read without the leading quote a CSV list puts before a cell a spreadsheet would " \
           "run as a formula (e.g. \"'=1+1\" -> '=1+1')" in caplog.text


@pytest.fixture
def tiny_world(tmp_path, tiny_tx, monkeypatch):
    """conftest's hand-typed transactions in ``tmp_path`` and a model of the rfm family (its plan only)."""
    model = SimpleNamespace(extra_={"feature_plan": {"families": ["rfm"], "windows": [30]},
                                    "time": TimeConfig().model_dump(mode="json")})
    monkeypatch.setattr(score_cli, "load_churn_model", lambda uri: model)
    write_frame(tiny_tx, tmp_path / "transactions.csv")
    return tmp_path


def test_when_nobody_can_be_scored_the_unscored_file_still_lists_every_asked_id(tmp_path, tiny_world, capsys):
    (tmp_path / "ids.csv").write_text("customer_id\nC\nNOPE\nC\n")  # C buys only after the cutoff
    assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / "ids.csv"))) == 2
    side = tmp_path / "list.unscored.csv"
    assert (f"error: nobody to score at {CUTOFF}: none of the 3 asked customers can be scored "
            f"(no purchase before the cutoff: 1, unknown customer id: 1, duplicate: 1); "
            f"every asked id and its reason: {side}\n") in capsys.readouterr().err
    assert pd.read_csv(side, dtype="str").to_dict("list") == {
        "customer_id": ["C", "NOPE", "C"],
        "reason": ["no purchase before the cutoff", "unknown customer id: not in the transactions, customers or subscriptions tables",
                   "duplicate: asked id number 3 repeats number 1"],
        "model": [str(tmp_path / "no-model")] * 3,  # a model folder is named as given
    }
    assert not (tmp_path / "list.csv").exists()
    # an older list under --out is removed, so that it cannot pass for this run's beside this run's unscored file
    (tmp_path / "list.csv").write_text("rank,customer_id\n1,OLD\n")
    assert score_cli.main(_argv(tmp_path, "--customers", str(tmp_path / "ids.csv"), "--overwrite")) == 2
    assert (f"every asked id and its reason: {side}; the older {tmp_path / 'list.csv'} was removed\n"
            in capsys.readouterr().err)
    assert not (tmp_path / "list.csv").exists() and side.exists()


def test_the_nobody_message_counts_each_reason_and_reads_right_for_one_asked_customer():
    from churnml.scoring import nobody_text

    unknown = "unknown customer id: not in the transactions, customers or subscriptions tables"
    four = pd.DataFrame({"customer_id": list("WXYZ"), "reason": [unknown] * 3 + ["no purchase before the cutoff"]})
    cut = pd.Timestamp(CUTOFF)
    assert nobody_text(cut, True, 4, four, TimeConfig()) == (
        f"nobody to score at {CUTOFF}: none of the 4 asked customers can be scored (unknown customer id: 3, "
        "no purchase before the cutoff: 1)")
    assert nobody_text(cut, True, 1, four.head(1), TimeConfig()) == (
        f"nobody to score at {CUTOFF}: the one asked customer cannot be scored (unknown customer id: 1)")


def test_a_data_folder_column_named_otherwise_gets_the_fix_that_applies_to_data(tmp_path, monkeypatch, capsys):
    model = SimpleNamespace(extra_={"feature_plan": {"families": ["rfm"], "windows": [30]},
                                    "time": TimeConfig().model_dump(mode="json")})
    monkeypatch.setattr(score_cli, "load_churn_model", lambda uri: model)
    (tmp_path / "transactions.csv").write_text("cust,timestamp,amount\nA,2024-01-01,1\n")
    assert score_cli.main(_argv(tmp_path)) == 2
    err = capsys.readouterr().err
    assert "map them in data.tables.transactions.columns" not in err  # --data ignores data.tables
    assert ("missing required column(s) ['customer_id']; found columns ['cust', 'timestamp', 'amount']; fix: rename "
            "them in the file (see below)\n  - with --data the files are read with their "
            "own column names (data.tables.* does not apply), so rename the columns in the file") in err


def test_an_output_that_cannot_be_written_is_one_line_before_any_work_and_a_failed_pair_leaves_no_half(
        tmp_path, fake_run, capsys, monkeypatch):
    (tmp_path / "transactions.csv").write_text("customer_id,timestamp,amount\nA,2024-01-01,1\n")
    (tmp_path / "blocker").write_text("a file where a folder is wanted")
    assert score_cli.main(_argv(tmp_path, out="blocker/list.csv")) == 2
    err = capsys.readouterr().err
    assert f"error: cannot write {tmp_path / 'blocker' / 'list.csv'} (" in err and "Traceback" not in err
    assert fake_run == []  # refused before the scoring
    (tmp_path / "folder.csv").mkdir()
    assert score_cli.main(_argv(tmp_path, out="folder.csv")) == 2
    assert f"error: --out {tmp_path / 'folder.csv'} is a folder" in capsys.readouterr().err
    # the companion file fails after the list was written to its temporary file: neither replaces the old pair
    (tmp_path / "list.csv").write_text("old list\n")
    (tmp_path / "list.unscored.csv").write_text("old unscored\n")
    real = pd.DataFrame.to_csv

    def failing(frame, path, *args, **kwargs):
        if ".list.unscored.csv." in str(path):
            raise OSError(28, "No space left on device")
        return real(frame, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing)
    assert score_cli.main(_argv(tmp_path, "--overwrite")) == 2
    assert (f"error: cannot write {tmp_path / 'list.unscored.csv'} (No space left on device)"
            in capsys.readouterr().err)
    assert (tmp_path / "list.csv").read_text() == "old list\n"
    assert (tmp_path / "list.unscored.csv").read_text() == "old unscored\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_nobody_at_risk_with_overwrite_removes_last_runs_list_so_it_cannot_pass_for_this_one(
        tmp_path, tiny_world, capsys):
    (tmp_path / "list.csv").write_text("rank,customer_id\n1,OLD\n")
    (tmp_path / "list.unscored.csv").write_text("customer_id,reason\n")
    argv = ["--model", "x", "--data", str(tmp_path), "--cutoff", "2000-01-01", "--out", str(tmp_path / "list.csv"),
            "--overwrite"]
    assert score_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert (f"; the older {tmp_path / 'list.csv'} and {tmp_path / 'list.unscored.csv'} were removed\n") in err
    assert not (tmp_path / "list.csv").exists() and not (tmp_path / "list.unscored.csv").exists()
