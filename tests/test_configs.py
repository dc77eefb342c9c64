from __future__ import annotations

from pathlib import Path

import pytest

from churnml.config import load_config
from churnml.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_default_yaml_spells_out_the_built_in_defaults():
    from_file = load_config(CONFIGS / "default.yaml").model_dump()
    built_in = load_config(None).model_dump()
    from_file.pop("name")
    built_in.pop("name")
    assert from_file == built_in


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


def test_set_overrides_parse_yaml_values_and_reject_malformed_ones():
    cfg = load_config(None, ["time.horizon_days=90", "features.windows=[7, 30]", "time.test_cutoff=null"])
    assert (cfg.time.horizon_days, cfg.features.windows, cfg.time.test_cutoff) == (90, [7, 30], None)
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, ["time.horizon_days"])
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(None, ["time.nope=1"])


def test_a_missing_config_file_names_the_path():
    with pytest.raises(ConfigError, match="not found"):
        load_config("does/not/exist.yaml")


def test_the_readme_feature_table_is_the_generated_one():
    from churnml.features.docs import feature_table_markdown

    readme = (CONFIGS.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- feature-table:start")
    body = readme[readme.index("\n", start) + 1: readme.index("<!-- feature-table:end -->")]
    assert body.strip() == feature_table_markdown().strip(), "run: python -m churnml.features.docs"
