"""The bundled CDNOW log and its config."""

from __future__ import annotations

import gzip
import hashlib
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from churnml.config import load_config
from churnml.datasets import load_cdnow
from churnml.datasets.cdnow import CDNOW_FILE
from churnml.errors import SchemaError

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL = Path("/work/shared/data/CDNOW_master.txt")
ORIGINAL_SHA256 = "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow()


def bundled_text() -> bytes:
    ref = resources.files("churnml.datasets").joinpath("data", CDNOW_FILE)
    return gzip.decompress(ref.read_bytes())


def test_the_bundled_file_is_the_original_log_byte_for_byte():
    assert hashlib.sha256(bundled_text()).hexdigest() == ORIGINAL_SHA256


@pytest.mark.skipif(not ORIGINAL.exists(), reason="the shared original is not on this machine")
def test_the_bundled_file_matches_the_shared_original():
    assert bundled_text() == ORIGINAL.read_bytes()


def test_cdnow_has_the_published_size_and_span(cdnow):
    assert len(cdnow) == 69_659
    assert cdnow["customer_id"].nunique() == 23_570
    assert cdnow["timestamp"].min() == pd.Timestamp("1997-01-01")
    assert cdnow["timestamp"].max() == pd.Timestamp("1998-06-30")


def test_cdnow_is_a_canonical_transactions_frame(cdnow):
    assert cdnow.columns.tolist() == ["customer_id", "timestamp", "amount", "quantity"]
    assert cdnow.dtypes.astype(str).tolist() == ["str", "datetime64[us]", "float64", "float64"]
    assert cdnow["customer_id"].str.fullmatch(r"\d{5}").all()
    assert cdnow["customer_id"].iloc[:3].tolist() == ["00001", "00002", "00002"]
    assert (cdnow["timestamp"] == cdnow["timestamp"].dt.normalize()).all()


def test_cdnow_totals_equal_the_files_sums(cdnow):
    lines = bundled_text().decode().splitlines()[1:]
    dollars = sum(Decimal(line.split()[3]) for line in lines)
    cds = sum(int(line.split()[2]) for line in lines)
    assert dollars == Decimal("2500315.63")
    assert cdnow["amount"].sum() == pytest.approx(float(dollars), abs=1e-6)
    assert cdnow["quantity"].sum() == cds == 167_881


def test_same_day_repeat_purchases_are_kept(cdnow):
    assert int(cdnow.duplicated().sum()) == 255


def test_a_declared_end_before_the_last_day_is_reported():
    with pytest.raises(SchemaError, match="rows dated at or after data.end at data rows .* of CDNOW"):
        load_cdnow(data_end="1998-06-30")
    assert len(load_cdnow(data_end="1998-07-01")) == 69_659


def test_the_cdnow_config_is_valid_and_keeps_duplicates():
    cfg = load_config(ROOT / "configs" / "cdnow.yaml")
    assert (cfg.data.source, cfg.data.duplicates) == ("cdnow", "keep")
    assert (cfg.time.regime, cfg.time.horizon_days, cfg.time.step_days) == ("noncontractual", 273, 7)
