from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from churnml.config import Config, load_config
from churnml.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_default_yaml_spells_out_the_built_in_defaults():
    from_file = load_config(CONFIGS / "default.yaml").model_dump()
    built_in = load_config(None).model_dump()
    from_file.pop("name")
    built_in.pop("name")
    assert from_file == built_in


def _not_spelled_out(built_in: Any, written: Any, key: str = "") -> list[str]:
    """Keys of ``built_in`` missing from ``written`` and values that differ, recursively (dotted keys)."""
    if isinstance(built_in, dict):
        if not isinstance(written, dict):
            return [f"{key}: a section, but the file has {written!r}"]
        return [problem for k, v in built_in.items() for problem in (
            _not_spelled_out(v, written[k], f"{key}{k}.") if k in written else [f"{key}{k}: missing"])]
    if isinstance(built_in, list) and isinstance(written, list) and len(built_in) == len(written):
        return [p for i, (b, w) in enumerate(zip(built_in, written, strict=True))
                for p in _not_spelled_out(b, w, f"{key}{i}.")]
    if built_in != written or isinstance(built_in, bool) != isinstance(written, bool):
        return [f"{key.rstrip('.')}: built-in {built_in!r}, the file has {written!r}"]
    return []


def test_default_yaml_writes_every_key_of_the_built_in_config_with_its_value():
    written = yaml.safe_load((CONFIGS / "default.yaml").read_text(encoding="utf-8"))
    assert _not_spelled_out(Config().model_dump(), written) == []


def test_a_missing_or_different_key_is_found_at_any_depth():
    built_in = {"a": {"b": 1, "c": [{"d": None}]}, "e": True}
    found = _not_spelled_out(built_in, {"a": {"b": 1, "c": [{}]}, "e": 1})
    assert found == ["a.c.0.d: missing", "e: built-in True, the file has 1"]


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    load_config(path)


def test_unknown_keys_and_bad_values_are_all_reported_at_once(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("time:\n  horizon_dayz: 90\n  step_days: -1\nmodel:\n  calibration: magic\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    msg = str(err.value)
    assert "3 problem(s)" in msg
    assert "time.horizon_dayz: unknown key" in msg
    assert "time.step_days" in msg and "model.calibration" in msg


def test_a_misspelled_key_is_told_the_nearest_key_of_its_section():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["time.horizon_day=30", "tme.regime=contractual", "data.source=files",
                           "data.tables.transactions.path=tx.csv", "data.tables.transactions.colums={}",
                           "scoring.zzz=1"])
    msg = str(err.value)
    assert "  - time.horizon_day: unknown key; did you mean 'horizon_days'? (got 30)" in msg
    assert "  - tme: unknown key; did you mean 'time'?" in msg
    assert "  - data.tables.transactions.colums: unknown key; did you mean 'columns'?" in msg  # below a mapping
    assert "  - scoring.zzz: unknown key; check its spelling against the documented keys (got 1)" in msg


def test_a_key_of_another_section_is_told_its_full_name(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(None, ["horizon_days=90", "data.horizon_days=90", "scoring.value_per_save=80"])
    msg = str(err.value)
    assert "  - horizon_days: unknown key; did you mean 'time.horizon_days'? (got 90)" in msg
    assert "  - data.horizon_days: unknown key; did you mean 'time.horizon_days'? (got 90)" in msg
    assert "  - scoring.value_per_save: unknown key; did you mean 'evaluation.value_per_save'? (got 80)" in msg
    with pytest.raises(ConfigError) as err:  # a name of two sections: both, the shallower first
        load_config(None, ["model.seed=1", "time.end=2024-01-01"])
    msg = str(err.value)
    assert "  - model.seed: unknown key; did you mean 'seed' or 'data.synthetic.seed'? (got 1)" in msg
    assert "  - time.end: unknown key; did you mean 'data.end' or 'metrics.end'?" in msg
    path = tmp_path / "mine.yaml"
    path.write_text("returns: keep\n", encoding="utf-8")  # nearest at the top level: 'features'
    with pytest.raises(ConfigError, match=r"  - returns: unknown key; did you mean 'data.returns'\? \(got 'keep'\)"):
        load_config(path)


def test_an_unknown_time_zone_is_reported_with_the_other_config_mistakes():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["time.horizon=30", "data.timezone=Mars/Olympus"])
    msg = str(err.value)
    assert "2 problem(s)" in msg and "time.horizon: unknown key" in msg
    assert ("data.timezone: not an IANA time zone name (e.g. 'UTC' or 'Europe/Berlin'); a fixed offset is not a "
            "zone (got 'Mars/Olympus')") in msg
    assert load_config(None, ["data.timezone=Europe/Berlin"]).data.timezone == "Europe/Berlin"
    with pytest.raises(ConfigError, match=r"did you mean 'Europe/Berlin'\?"):
        load_config(None, ["data.timezone=europe/berlin"])


def test_set_overrides_parse_yaml_values_and_reject_malformed_ones():
    cfg = load_config(None, ["time.horizon_days=90", "features.windows=[7, 30]", "time.test_cutoff=null"])
    assert (cfg.time.horizon_days, cfg.features.windows, cfg.time.test_cutoff) == (90, [7, 30], None)
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, ["time.horizon_days"])
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(None, ["time.nope=1"])
    with pytest.raises(ConfigError, match=r"features.windows.*whole days from 1 to 36,525; \[0, -5\] are not"):
        load_config(None, ["features.windows=[7, 0, -5]"])


def test_a_date_that_does_not_exist_is_a_config_error_in_set_and_in_a_file(tmp_path):
    with pytest.raises(ConfigError, match=r"--set metrics.start=1998-02-30: a date that does not exist \(day is out "
                                          r"of range for month\); write a real calendar date as YYYY-MM-DD"):
        load_config(None, ["metrics.start=1998-02-30"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("time:\n  test_cutoff: 1997-13-01\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: a date that does not exist \(month must be in 1..12\)"):
        load_config(bad)


def test_a_missing_config_file_names_the_path():
    with pytest.raises(ConfigError, match="not found"):
        load_config("does/not/exist.yaml")


def test_the_readme_feature_table_is_the_generated_one():
    from churnml.features.docs import feature_table_markdown

    readme = (CONFIGS.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- feature-table:start")
    body = readme[readme.index("\n", start) + 1: readme.index("<!-- feature-table:end -->")]
    assert body.strip() == feature_table_markdown().strip(), "run: python -m churnml.features.docs"
