"""The Python API takes what a notebook user hands it: a dict of tables, one cutoff as text, the whole config.

On the hand-typed log of ``tests.conftest.metrics_log`` (A, B, C, D bought before 2024-03-01, E on 04-25):
at 2024-03-01 the population is A, B, C (D's first purchase is 03-15).
"""

from __future__ import annotations

import pandas as pd
import pytest

from churnml.config import load_config
from churnml.errors import ConfigError, DataWindowError, SchemaError
from churnml.features import compute_features, plan_features
from churnml.io import Tables, read_table
from churnml.labels import make_labels, noncontractual_labels, population
from churnml.metrics import retention_kpis
from tests.conftest import metrics_log

CFG = load_config(None, ["time.horizon_days=30"])


def test_a_dict_of_tables_one_cutoff_as_text_and_the_whole_config_are_taken_as_their_long_forms() -> None:
    tx = metrics_log()
    expected = make_labels(Tables(transactions=tx), ["2024-03-01"], CFG.time)
    assert expected["customer_id"].tolist() == ["A", "B", "C"] and expected["churned"].tolist() == [0, 1, 1]
    for tables in ({"transactions": tx}, Tables(transactions=tx)):
        for cutoffs in ("2024-03-01", pd.Timestamp("2024-03-01"), ["2024-03-01"]):
            for time in (CFG.time, CFG):
                pd.testing.assert_frame_equal(make_labels(tables, cutoffs, time), expected)
                pd.testing.assert_frame_equal(population(tables, cutoffs, time), expected[["customer_id", "cutoff"]])
    pd.testing.assert_frame_equal(noncontractual_labels(tx, pd.Timestamp("2024-03-01"), 30), expected)
    # a whole config brings its data.end: the window of 03-20 (30 days, to 04-19) ends after a declared end of 04-15
    ended = load_config(None, ["time.horizon_days=30", "data.end=2024-04-15"])
    with pytest.raises(DataWindowError, match="2024-04-15"):
        make_labels(tx, "2024-03-20", ended)
    assert len(make_labels(tx, "2024-03-20", ended.time)) == 4  # the section alone: the data's own end (04-26)
    # a whole config gives plan_features its features section and its horizon (the btyd family needs one)
    plan = plan_features({"transactions": tx}, "2024-03-01", CFG)
    assert plan == plan_features(Tables(transactions=tx), ["2024-03-01"], CFG.features, horizon_days=30)
    assert plan.btyd_horizon_days == 30
    spine = expected[["customer_id", "cutoff"]]
    pd.testing.assert_frame_equal(compute_features({"transactions": tx}, spine, plan),
                                  compute_features(Tables(transactions=tx), spine, plan))


def test_a_misnamed_table_a_stray_second_argument_or_a_policy_typo_is_a_clear_error() -> None:
    tx = metrics_log()
    with pytest.raises(SchemaError, match=r"unknown table name\(s\) \['transaction'\]; the tables are "
                                          r"\['transactions', 'events'"):
        make_labels({"transaction": tx}, "2024-03-01", CFG)
    with pytest.raises(SchemaError, match=r"unknown table name\(s\) \['survey'\]"):
        retention_kpis({"transactions": tx, "survey": tx})
    with pytest.raises(ConfigError, match=r"cfg must be a churnml Config .* got str 'Q'; the period is the freq= "
                                          r"argument \(e.g. freq='Q'\)"):
        retention_kpis(tx, "Q")  # type: ignore[arg-type]
    assert retention_kpis(tx, freq="Q")["period"].tolist() == ["2024Q1", "2024Q2"]
    with pytest.raises(SchemaError, match=r"the spine needs the columns customer_id and cutoff .* it has no "
                                          r"\['cutoff'\]"):
        compute_features({"transactions": tx}, pd.DataFrame({"customer_id": ["A"]}), plan_features(tx, "2024-03-01"))
    with pytest.raises(ConfigError, match=r"read_table\('transactions'\): unknown argument\(s\) \['end'\]; it takes the "
                                          r"read policy \['returns', 'duplicates', 'timezone', 'data_end'\]"):
        read_table("transactions", tx, end="2024-05-01")


@pytest.mark.slow
def test_the_readmes_python_training_block_runs_as_written(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### The same from Python"):]
    start = section.index("```python\n") + len("```python\n")
    block = section[start:section.index("\n```", start)]
    monkeypatch.chdir(tmp_path)  # its mlflow.db and mlruns go here
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert float(capsys.readouterr().out.strip()) == pytest.approx(0.7720, abs=5e-4)  # the README's CDNOW figure
    listed = namespace["listed"].outreach  # type: ignore[attr-defined]
    assert len(listed) == 100 and listed["customer_id"].iloc[0] == "19339"  # as the README's excerpt
    assert namespace["promotion"].champion  # type: ignore[attr-defined]
    assert namespace["labels"]["churned"].mean() == pytest.approx(0.7006, abs=5e-5)  # type: ignore[index]
