"""The notebooks: paired, clean, defining nothing, and executed top to bottom on small data.

Each ``notebooks/*.py`` (jupytext percent format) has a paired ``.ipynb``
without outputs. Execution uses nbclient with ``CHURNML_NB_SMALL=1``, a
temporary MLflow store and output folder; a cell that raises fails the test.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jupytext
import nbclient
import nbformat
import pytest

FOLDER = Path(__file__).parents[1] / "notebooks"
NOTEBOOKS = sorted(p.stem for p in FOLDER.glob("*.py"))
CELL_TIMEOUT = 600  # seconds; the whole of a small notebook takes well under a minute


def test_there_are_three_notebooks_in_reading_order() -> None:
    assert NOTEBOOKS == ["01-retention-metrics", "02-train-and-compare", "03-explain-and-score"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_ipynb_is_the_py_without_outputs(name: str) -> None:
    text = jupytext.read(FOLDER / f"{name}.py")
    paired = nbformat.read(FOLDER / f"{name}.ipynb", as_version=4)
    assert [(c.cell_type, c.source) for c in paired.cells] == [(c.cell_type, c.source) for c in text.cells], (
        f"{name}.ipynb differs from {name}.py; run: .venv/bin/jupytext --sync notebooks/{name}.py"
    )
    code = [c for c in paired.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), (
        f"{name}.ipynb holds outputs; clear them (jupytext --sync writes none)"
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_notebook_imports_churnml_and_defines_nothing_reusable(name: str) -> None:
    tree = ast.parse((FOLDER / f"{name}.py").read_text(encoding="utf-8"))
    defined = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    assert defined == [], "reusable code belongs in churnml, not in a notebook"
    imported = {
        (n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
    } | {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "churnml" in imported


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebooks' working folder: their MLflow store and outputs go here."""
    return tmp_path_factory.mktemp("notebooks")


@pytest.fixture(scope="module")
def execute(workdir: Path) -> Iterator[Callable[[str], Any]]:
    """Run a notebook (once per module, cached) in ``workdir`` on small data; a raising cell fails."""
    done: dict[str, Any] = {}

    def run(name: str) -> Any:
        if name not in done:
            nb = jupytext.read(FOLDER / f"{name}.py")
            client = nbclient.NotebookClient(
                nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
            )
            client.execute()  # raises CellExecutionError, naming the cell and the error, when a cell raises
            done[name] = nb
        return done[name]

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHURNML_NB_SMALL", "1")
        mp.setenv("CHURNML_NB_OUT", str(workdir / "outputs"))
        mp.setenv("CHURNML_NB_TRACKING_URI", f"sqlite:///{workdir / 'mlflow.db'}")
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        yield run


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_notebook_runs_top_to_bottom_on_small_data(name: str, execute: Callable[[str], Any]) -> None:
    nb = execute(name)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the notebook shows its figures"


@pytest.mark.slow
def test_the_first_notebook_writes_the_html_report(execute: Callable[[str], Any], workdir: Path) -> None:
    execute("01-retention-metrics")
    report = workdir / "outputs" / "synthetic_retention_report.html"
    assert report.read_text(encoding="utf-8").count("<section id=") == 5


@pytest.mark.slow
def test_compared_runs_carry_the_tags_and_metric_names_the_compare_view_needs(
    execute: Callable[[str], Any], workdir: Path
) -> None:
    import mlflow

    execute("02-train-and-compare")
    client = mlflow.MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("churnml-notebooks")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    a, b = runs["transactions-only"], runs["all-tables"]
    for run in (a, b):
        for tag in ("dataset", "regime", "horizon_days", "test_cutoff", "model_type", "feature_families"):
            assert run.data.tags.get(tag), tag
        for param in ("cutoff_test", "cutoff_calibration", "cutoffs_train", "feature_families", "calibration"):
            assert param in run.data.params, param
    # metric names are stable across runs; the subscription baseline needs the subscriptions table
    extra = {m for m in b.data.metrics if m.startswith("test_subscription_logistic_")}
    assert extra and set(a.data.metrics) == set(b.data.metrics) - extra, "metric names are stable across runs"
    assert a.data.params["cutoff_test"] == b.data.params["cutoff_test"]
    assert a.data.params["feature_families"] != b.data.params["feature_families"]
