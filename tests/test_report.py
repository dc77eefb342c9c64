"""The HTML retention report: hand-computed tiles, stable sections, no network, the CLI, the model part."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import churnml.report as report_cli
from churnml.config import Config, load_config
from churnml.io import Tables, load_tables, read_table
from churnml.report_html import SECTION_IDS, ModelSection, build_report, render_report
from tests.settings import small_world

# A hand-typed log, declared to end on 2024-04-01 (so March is a complete month):
#   Jan: A B C D buy (all new);  Feb: A B buy, E is new;  Mar: A E buy, F is new.
ROWS = [
    ("A", "2024-01-03", 10.0), ("B", "2024-01-04", 20.0), ("C", "2024-01-05", 30.0), ("D", "2024-01-06", 40.0),
    ("A", "2024-02-03", 10.0), ("B", "2024-02-04", 20.0), ("E", "2024-02-05", 30.0),
    ("A", "2024-03-05", 30.0), ("E", "2024-03-20", 30.0), ("F", "2024-03-25", 30.0),
]  # fmt: skip
SETTINGS = ["time.horizon_days=14", "metrics.freq=M", "data.end=2024-04-01"]
SMALL = small_world(1500, 18, 60, 100)


class _Page(HTMLParser):
    """Every tag with its attributes, and the text of the document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _section_ids(html: str) -> list[str]:
    return [a["id"] for tag, a in _parse(html).tags if tag == "section"]


def _tiles(html: str) -> dict[str, tuple[str, str, str]]:
    """Tile label -> (value, change text, mood)."""
    found = re.findall(r'<div class="label">(.*?)</div><div class="value">(.*?)</div>'
                       r'<div class="change (\w+)">(.*?)</div>', html)
    return {label: (value, change, mood) for label, value, mood, change in found}


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def _assert_offline(html: str) -> None:
    """No script, style sheet, frame or font is loaded; images are inline; links stay in the page."""
    page = _parse(html)
    assert not [t for t, _ in page.tags if t in {"script", "link", "iframe", "object", "embed", "base"}]
    for tag, attrs in page.tags:
        if "src" in attrs:
            assert attrs["src"].startswith("data:image/png;base64,"), (tag, attrs["src"][:60])
        if "href" in attrs:
            assert attrs["href"].startswith("#"), (tag, attrs["href"])
    lowered = html.lower()
    for needle in ("http://", "https://", "//fonts.", "@import", "@font-face", "url("):
        assert needle not in lowered, needle


@pytest.fixture
def hand() -> tuple[Tables, Config]:
    tx = read_table("transactions", pd.DataFrame(ROWS, columns=["customer_id", "timestamp", "amount"]))
    customers = read_table("customers", pd.DataFrame(
        {"customer_id": list("ABCDEF"), "segment": ["gold", "gold", "silver", "silver", "silver", "silver"]}))
    surveys = read_table("surveys", pd.DataFrame({
        "customer_id": ["A", "B", "C", "A", "B"],
        "timestamp": ["2024-01-10", "2024-01-11", "2024-01-12", "2024-02-10", "2024-02-11"],
        "survey": ["nps"] * 5,
        "score": [10.0, 9.0, 3.0, 10.0, 5.0],
    }))
    return Tables(transactions=tx, customers=customers, surveys=surveys), load_config(None, SETTINGS)


def test_the_report_has_the_five_sections_in_order_with_stable_ids(hand: tuple[Tables, Config]) -> None:
    html = render_report(build_report(*hand))
    assert SECTION_IDS == ("kpis", "cohorts", "segments", "surveys", "model")
    assert _section_ids(html) == list(SECTION_IDS)
    links = [a["href"] for t, a in _parse(html).tags if t == "a"]
    assert links == [f"#{i}" for i in SECTION_IDS]
    _assert_offline(html)


def test_kpi_tiles_show_march_against_february_as_computed_by_hand(hand: tuple[Tables, Config]) -> None:
    # Feb: S = 4 (A-D), L = 2 (C, D), N = 1 (E), E = 3: churn 50%, CRR (3 - 1) / 4 = 50%, revenue 60.
    # Mar: S = 5 (A-E), L = 3 (B, C, D), N = 1 (F), E = 3: churn 60%, CRR (3 - 1) / 5 = 40%, revenue 90.
    tiles = _tiles(render_report(build_report(*hand)))
    assert tiles["Churn rate"] == ("60.0%", "+10.0 pp vs 2024-02", "bad")
    assert tiles["Retention rate (CRR)"] == ("40.0%", "-10.0 pp vs 2024-02", "bad")
    assert tiles["Customers kept or won (E = S - L + N)"] == ("3", "+0.0% vs 2024-02", "flat")
    assert tiles["Revenue"] == ("90.00", "+50.0% vs 2024-02", "good")
    assert tiles["Average order value"] == ("30.00", "+50.0% vs 2024-02", "good")
    assert "NPS" not in tiles, "no answers in March: no tile rather than a made-up value"


def test_the_contractual_customers_tile_counts_the_subscribers_at_the_period_end() -> None:
    from churnml.config import TimeConfig
    from churnml.metrics import retention_kpis
    from churnml.report_sections import kpi_section
    from tests.conftest import metrics_log

    day = pd.to_datetime
    subs = pd.DataFrame({  # A throughout; B Jan 15 to Feb 20; C joins and leaves in March
        "customer_id": pd.Series(["A", "A", "B", "C"], dtype="str"),
        "start": pd.Series(day(["2023-12-01", "2024-02-10", "2024-01-15", "2024-03-05"]), dtype="datetime64[us]"),
        "end": pd.Series(day(["2024-02-10", None, "2024-02-20", "2024-03-20"]), dtype="datetime64[us]"),
        "mrr": [10.0, 20.0, 30.0, 5.0]})
    kpis = retention_kpis({"transactions": metrics_log(), "subscriptions": subs},
                          TimeConfig(regime="contractual", grace_days=0))
    tiles = _tiles(kpi_section(kpis))
    assert tiles["Subscribers at period end"] == ("1", "+0.0% vs 2024-02", "flat")  # A (S - L + N says 2)
    assert "Customers kept or won (E = S - L + N)" not in tiles
    assert "Periods after 2024-03 are not complete: their churn is not observed yet.</" in kpi_section(kpis)
    # the data ends 04-25: with a 30-day grace, March (ends 04-01) is complete only on 05-01
    graced = retention_kpis({"transactions": metrics_log(), "subscriptions": subs},
                            TimeConfig(regime="contractual", grace_days=30))
    assert ("Periods after 2024-02 are not complete: their churn is not observed yet (a period is complete 30 days "
            "after its end, when the renewal grace of its subscriptions, time.grace_days, has passed).</"
            ) in kpi_section(graced)


def test_cohort_section_summarises_returning_buyers_by_hand(hand: tuple[Tables, Config]) -> None:
    # Jan cohort A-D: month 1 A, B (2 of 4), month 2 A (1 of 4). Feb cohort E: month 1 E (1 of 1).
    body = _section(render_report(build_report(*hand)), "cohorts")
    assert "month 1: 60.0%; month 2: 25.0%" in body  # (2 + 1) / (4 + 1); 1 / 4
    assert "3 cohorts (first-purchase month), 6 customers" in body
    assert body.count("data:image/png;base64,") == 1


def test_segment_churn_uses_the_newest_matured_window_and_the_label_definition(
    hand: tuple[Tables, Config],
) -> None:
    # Cutoff 2024-04-01 - 14 days = 2024-03-18; population A-E; only E buys in [03-18, 04-01).
    report = build_report(*hand)
    assert report.churn.cutoff == pd.Timestamp("2024-03-18")
    rfm = report.churn.by["rfm"]
    assert (int(rfm["customers"].sum()), int(rfm["churned"].sum())) == (5, 4)
    by_segment = report.churn.by["segment"].set_index("segment")
    assert by_segment.loc["gold", ["customers", "churned"]].tolist() == [2, 2]
    assert by_segment.loc["silver", "churn_rate"] == pytest.approx(200 / 3)
    body = _section(render_report(report), "segments")
    assert "[2024-03-18, 2024-04-01)" in body and "66.7%" in body and "100.0%" in body


def test_survey_trends_show_nps_per_month_with_a_gap_where_nobody_answered(hand: tuple[Tables, Config]) -> None:
    # Jan: 10, 9, 3 -> 2/3 promoters - 1/3 detractors = 33.3; Feb: 10, 5 -> 50 - 50 = 0.0; Mar: no answers.
    body = _section(render_report(build_report(*hand)), "surveys")
    assert "<svg" in body and "<polyline" in body
    assert re.search(r"<td>NPS</td><td class=\"num\">33\.3</td><td class=\"num\">0\.0</td><td class=\"num\">-</td>",
                     body)


def test_absent_surveys_and_model_are_explained_with_the_fix(hand: tuple[Tables, Config]) -> None:
    tables, cfg = hand
    html = render_report(build_report(Tables(transactions=tables.transactions), cfg))
    assert _section_ids(html) == list(SECTION_IDS)
    assert "add data.tables.surveys" in _section(html, "surveys")
    assert "--model" in _section(html, "model")
    assert "nps, csat, ces, cli (no surveys table)" in _section(html, "kpis")
    assert "historical_clv, margin_clv (set metrics.lifespan_years)" in _section(html, "kpis")
    assert "Add a missing table under data.tables (with data.source: files)" in _section(html, "kpis")


def test_metrics_missing_only_a_setting_are_not_told_to_add_a_table() -> None:
    from churnml.report_sections import kpi_section

    kpis = pd.DataFrame({"period": ["2024-01"], "start": pd.to_datetime(["2024-01-01"]),
                         "end": pd.to_datetime(["2024-02-01"]), "complete": [True], "historical_clv": [np.nan]})
    kpis.attrs["not_available"] = {"historical_clv": "set metrics.lifespan_years"}
    html = kpi_section(kpis)
    assert "Not computed: historical_clv (set metrics.lifespan_years)." in html and "data.tables" not in html


def test_a_horizon_longer_than_the_data_gives_a_note_not_an_error(hand: tuple[Tables, Config]) -> None:
    tables, _ = hand
    cfg = load_config(None, ["time.horizon_days=400", "metrics.freq=M", "data.end=2024-04-01"])
    html = render_report(build_report(tables, cfg))
    assert "too short for a matured 400-day label window" in _section(html, "segments")


def test_text_from_the_data_is_escaped(hand: tuple[Tables, Config]) -> None:
    tables, cfg = hand
    customers = tables.customers.assign(segment="<b>vip</b> & co")
    html = render_report(build_report(Tables(transactions=tables.transactions, customers=customers), cfg))
    assert "&lt;b&gt;vip&lt;/b&gt; &amp; co" in html and "<b>vip" not in html


def test_the_report_of_the_bundled_cdnow_data_has_every_section_and_needs_no_network() -> None:
    cfg = load_config(Path(__file__).parents[1] / "configs" / "cdnow.yaml", ["metrics.freq=Q"])
    html = render_report(build_report(load_tables(cfg), cfg))
    assert _section_ids(html) == list(SECTION_IDS)
    _assert_offline(html)
    assert _tiles(html)["Churn rate"][0] == "85.9%"  # 1998Q2: 20,253 of 23,570 customers lost
    assert len(html.encode()) < 300_000


def test_the_cli_writes_atomically_and_refuses_to_overwrite(
    hand: tuple[Tables, Config], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_cli, "load_tables", lambda cfg: hand[0])
    out = tmp_path / "reports" / "retention.html"
    argv = [*(f"--set={s}" for s in SETTINGS), "--out", str(out)]
    assert report_cli.main(argv) == 0
    first = out.read_text(encoding="utf-8")
    assert _section_ids(first) == list(SECTION_IDS)
    assert report_cli.main(argv) == 2, "an existing file is not replaced without --overwrite"
    assert out.read_text(encoding="utf-8") == first
    assert report_cli.main([*argv, "--overwrite", "--freq", "Q"]) == 0
    assert "period</dt><dd>quarter" in out.read_text(encoding="utf-8")
    assert [p.name for p in out.parent.iterdir()] == ["retention.html"], "no temporary file is left"


def test_the_cli_rejects_a_cutoff_without_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_cli.main(["--out", str(tmp_path / "r.html"), "--cutoff", "1998-01-01"]) == 2
    assert "give --model too" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_an_impossible_cutoff_stops_before_the_data_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def unread(cfg: Config) -> Tables:
        raise AssertionError("the data was read before the cutoff was checked")

    monkeypatch.setattr(report_cli, "load_tables", unread)
    args = ["--out", str(tmp_path / "r.html"), "--cutoff", "1998-02-30", "--model", "models:/churnml@champion"]
    assert report_cli.main(args) == 2
    assert "1998-02-30" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ the model part


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Tables, Config, Any, Path]:
    from churnml.training import fit_and_evaluate

    cfg = load_config(None, SMALL)
    tables = load_tables(cfg)
    result = fit_and_evaluate(tables, cfg)
    folder = result.model.save(tmp_path_factory.mktemp("bundle") / "bundle", extra={
        "feature_plan": result.data.plan.to_dict(), "time": cfg.time.model_dump(mode="json"),
    })
    return tables, cfg, result, folder


@pytest.mark.slow
def test_the_cli_with_a_model_adds_drivers_risk_and_tiers(
    trained: tuple[Tables, Config, Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables, _, _, folder = trained
    monkeypatch.setattr(report_cli, "load_tables", lambda cfg: tables)
    out = tmp_path / "report.html"
    argv = [*(f"--set={s}" for s in SMALL), "--out", str(out), "--model", str(folder), "--cutoff", "2024-06-01"]
    assert report_cli.main(argv) == 0
    html = out.read_text(encoding="utf-8")
    _assert_offline(html)
    body = _section(html, "model")
    assert body.count("data:image/png;base64,") == 2, "top drivers and the risk distribution"
    assert "customers at risk on 2024-06-01" in body and "Risk tiers" in body
    assert re.search(r"<td>high</td>|<td>medium</td>|<td>low</td>", body)


@pytest.mark.slow
def test_with_a_model_the_segments_churn_is_the_models_not_the_configurations(
    trained: tuple[Tables, Config, Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables, _, _, folder = trained  # trained on a 60-day horizon
    monkeypatch.setattr(report_cli, "load_tables", lambda cfg: tables)
    out = tmp_path / "report.html"
    argv = [*(f"--set={s}" for s in SMALL), "--set=time.horizon_days=120", "--out", str(out), "--model", str(folder)]
    assert report_cli.main(argv) == 0
    segments = _section(out.read_text(encoding="utf-8"), "segments")
    assert "the newest 60-day " in segments and "120-day" not in segments


@pytest.mark.slow
def test_the_model_section_of_a_training_renders_and_logs_as_an_mlflow_artifact(
    trained: tuple[Tables, Config, Any, Path], tmp_path: Path
) -> None:
    """The change proposed for churnml.training: the report as report/retention_report.html of the run."""
    import mlflow

    from churnml.tracking import start_run

    tables, cfg, result, _ = trained
    section = ModelSection(
        importance=result.importance,
        probabilities=result.test_probabilities["model"],
        scope="the test cutoff",
        drivers=result.drivers,
        metrics=pd.DataFrame(result.metrics).T,
    )
    html = render_report(build_report(tables, cfg, model=section))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with start_run(uri, "report-test") as run:
        run.text(html, "report/retention_report.html")
        run_id = run.run_id
    client = mlflow.MlflowClient(uri)
    assert [a.path for a in client.list_artifacts(run_id, "report")] == ["report/retention_report.html"]
    body = _section(html, "model")
    assert "Model and baselines on the test cutoff" in body
    for name in ("model", "recency", "rfm_logistic", "bgnbd", "subscription_logistic", "historical_rate"):
        assert f"<td>{name}</td>" in body
    assert np.isfinite(result.test_probabilities["model"]).all()


def test_the_report_is_written_only_under_an_html_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_cli.main(["--out", str(tmp_path / "r.pdf")]) == 2  # it used to write HTML into r.pdf
    assert f"error: --out {tmp_path / 'r.pdf'}: the report is an HTML page; name it .html" in capsys.readouterr().err
    assert not (tmp_path / "r.pdf").exists()


def test_a_tiers_value_at_risk_says_how_many_customers_of_unknown_clv_it_leaves_out() -> None:
    from churnml.report_sections import _tiers_table

    tiers = pd.DataFrame({"risk_tier": ["high", "low"], "customers": [3, 1], "mean_probability": [0.8, 0.1],
                          "value_at_risk": [120.0, 5.0], "unvalued": [2, 0]})
    html = _tiers_table(tiers)
    assert "(2 with an unknown CLV not counted)" in html and html.count("not counted") == 1
