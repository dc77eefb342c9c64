"""``python -m churnml.metrics``: files, summary, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import churnml.metrics.__main__ as cli
from churnml.config import Config
from churnml.errors import ChurnMLError
from tests.conftest import metrics_log


@pytest.fixture
def hand_tables(monkeypatch: pytest.MonkeyPatch) -> dict[str, pd.DataFrame]:
    """The 12-row log of test_metrics_periods, served instead of the configured source."""
    tx = metrics_log()
    tables = {"transactions": tx}

    def fake_load(cfg: Config) -> dict[str, pd.DataFrame]:
        return tables

    monkeypatch.setattr(cli, "load_tables", fake_load)
    return tables


def test_the_cli_writes_every_file_with_the_hand_computed_kpis(
    hand_tables: dict[str, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(cli.OUTPUTS)
    kpis = pd.read_csv(tmp_path / "kpis.csv")
    assert kpis["period"].tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert kpis["lost_customers"].tolist()[:3] == [0, 1, 2]
    assert kpis["churn_rate"].tolist()[1] == 50.0
    counts = pd.read_csv(tmp_path / "cohort_counts.csv", index_col="cohort")
    assert counts.loc["2024-01"].tolist() == [2, 1, 1, 0]
    segments = pd.read_csv(tmp_path / "rfm_segments.csv")
    assert segments["customers"].sum() == 5 and "customer_id" not in segments.columns
    doc = json.loads((tmp_path / "kpis.json").read_text())
    assert doc["periods"][0]["churn_rate"] is None
    assert doc["not_available"]["nps"] == "no surveys table"
    out = capsys.readouterr().out
    assert "n/a (no surveys table)" in out and "churn_rate" in out and "2024-04" in out
    # E is METRICS.md's identity, printed as such beside the head count (customers_at_end)
    assert [line.split()[:2] for line in out.splitlines() if line.startswith("customers_")][:3] == [
        ["customers_start", "0"], ["customers_end", "(S-L+N)"], ["customers_at_end", "2"]]


def test_the_cli_refuses_to_overwrite_without_the_flag(
    hand_tables: dict[str, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert cli.main(["--out", str(tmp_path), "--freq", "Q"]) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert cli.main(["--out", str(tmp_path), "--freq", "Q", "--overwrite"]) == 0
    assert pd.read_csv(tmp_path / "kpis.csv")["period"].tolist() == ["2024Q1", "2024Q2"]


def test_a_config_error_is_one_readable_message_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--set", "metrics.fre=Q", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "metrics.fre" in err and "Traceback" not in err


def test_debug_shows_the_exception(tmp_path: Path) -> None:
    with pytest.raises(ChurnMLError):
        cli.main(["--set", "metrics.fre=Q", "--out", str(tmp_path), "--debug"])


def test_the_cli_on_cdnow_writes_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--set", "data.source=cdnow", "--out", str(tmp_path)]) == 0
    kpis = pd.read_csv(tmp_path / "kpis.csv")
    assert len(kpis) == 18 and kpis["period"].iloc[-1] == "1998-06"
    assert kpis["new_customers"].sum() == 23_570
    assert kpis["revenue"].sum() == pytest.approx(2_500_315.63, abs=0.01)
    rates = pd.read_csv(tmp_path / "cohort_rates.csv", index_col="cohort")
    assert rates.index.tolist() == ["1997-01", "1997-02", "1997-03"]
    assert (rates["0"] == 100.0).all()
    segments = pd.read_csv(tmp_path / "rfm_segments.csv")
    assert segments["customers"].sum() == 23_570
    assert "RFM segments at 1998-07-01 (history before it)" in capsys.readouterr().out  # a date, not a midnight


def test_last_must_be_a_whole_number_of_periods(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("-3", "0", "two"):
        with pytest.raises(SystemExit) as stop:
            cli.main(["--last", bad, "--out", str(tmp_path)])
        assert stop.value.code == 2
        assert f"argument --last: a whole number of periods >= 1, got '{bad}'" in capsys.readouterr().err
