"""Tests of churnml.plots: every figure builds, has its title and artists, and saves as PNG."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from churnml import plots
from churnml.errors import SchemaError
from churnml.explain import Contributions, churn_rate_by_decile, global_importance

Y = np.array([0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0])
MODEL = np.array([0.1, 0.2, 0.8, 0.7, 0.3, 0.9, 0.4, 0.35, 0.6, 0.15, 0.05, 0.5])
BASELINE = np.array([0.5, 0.4, 0.6, 0.3, 0.5, 0.7, 0.2, 0.6, 0.4, 0.5, 0.3, 0.4])


def _title(fig: Figure) -> str:
    return fig.get_suptitle()


def _saves(fig: Figure, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_roc_figure_draws_one_curve_per_model_plus_chance(tmp_path: Path) -> None:
    fig = plots.roc_figure(Y, {"lightgbm": MODEL, "recency": BASELINE})
    (ax,) = fig.axes
    assert _title(fig) == "ROC curve"
    assert len(ax.get_lines()) == 3
    labels = ax.get_legend_handles_labels()[1]
    assert labels[0].startswith("lightgbm (AUC ") and labels[2] == "chance (AUC 0.500)"
    assert ax.get_xlabel() == "false positive rate"
    _saves(fig, tmp_path, "roc")


def test_roc_figure_refuses_labels_of_one_class() -> None:
    with pytest.raises(SchemaError, match="only class 0"):
        plots.roc_figure(np.zeros(4), {"m": [0.1, 0.2, 0.3, 0.4]})
    with pytest.raises(SchemaError, match="have 3 rows but y has 12"):
        plots.roc_figure(Y, {"m": [0.1, 0.2, 0.3]})


def test_pr_figure_draws_curves_and_the_churn_rate(tmp_path: Path) -> None:
    fig = plots.pr_figure(Y, {"lightgbm": MODEL, "recency": BASELINE})
    (ax,) = fig.axes
    assert _title(fig) == "Precision-recall curve"
    assert len(ax.get_lines()) == 3
    assert ax.get_legend_handles_labels()[1][2] == "churn rate 0.417"
    _saves(fig, tmp_path, "pr")


def test_calibration_figure_has_reliability_curves_over_a_histogram(tmp_path: Path) -> None:
    fig = plots.calibration_figure(Y, {"lightgbm": MODEL, "recency": BASELINE}, bins=5)
    top, bottom = fig.axes
    assert _title(fig) == "Calibration"
    assert len(top.get_lines()) == 3
    assert len(bottom.patches) == 2
    x, y = top.get_lines()[1].get_data()
    # bins of width 0.2: [0.05, 0.1, 0.15] -> mean 0.1, none churned; [0.8, 0.9] -> mean 0.85, both churned
    assert x[0] == pytest.approx(0.1) and y[0] == 0.0
    assert x[-1] == pytest.approx(0.85) and y[-1] == 1.0
    _saves(fig, tmp_path, "calibration")


def test_gains_figure_reaches_every_churner_and_shows_lift_per_decile(tmp_path: Path) -> None:
    fig = plots.gains_figure(Y, {"lightgbm": MODEL})
    gains, lift = fig.axes
    assert _title(fig) == "Cumulative gains and lift"
    line = gains.get_lines()[0]
    assert line.get_ydata()[-1] == pytest.approx(1.0)
    assert len(lift.patches) == 10
    assert lift.patches[0].get_height() == pytest.approx(2.4)  # top decile: 2 churners of 2, rate 5/12
    _saves(fig, tmp_path, "gains")


def test_profit_figure_accepts_profit_or_expected_profit(tmp_path: Path) -> None:
    table = pd.DataFrame({"k": [0, 10, 20, 30], "expected_profit": [0.0, 120.0, 150.0, 90.0]})
    fig = plots.profit_figure(table)
    (ax,) = fig.axes
    assert _title(fig) == "Expected profit by number contacted"
    assert ax.texts[0].get_text() == "max 150 at k=20"
    _saves(fig, tmp_path, "profit")
    two = pd.concat([table.rename(columns={"expected_profit": "profit"}).assign(model=m) for m in ("a", "b")])
    assert len(plots.profit_figure(two).axes[0].get_legend().get_texts()) == 2
    with pytest.raises(SchemaError, match="needs columns 'k' and 'profit'"):
        plots.profit_figure(pd.DataFrame({"k": [1]}))


def _contrib() -> tuple[Contributions, pd.DataFrame]:
    rng = np.random.default_rng(1)
    n = 50
    X = pd.DataFrame(
        {
            "rfm_recency_days": rng.integers(0, 100, n).astype("float64"),
            "win_orders_30d": rng.integers(0, 5, n).astype("float64"),
            "cst_segment": pd.Categorical(rng.choice(["gold", "silver"], n)),
        }
    )
    X.loc[3, "win_orders_30d"] = np.nan
    values = pd.DataFrame(rng.normal(size=(n, 3)) * [1.0, 0.5, 0.2], columns=X.columns)
    return Contributions(values, -1.0), X


def test_shap_bar_figure_draws_one_bar_per_feature_largest_on_top(tmp_path: Path) -> None:
    contrib, _ = _contrib()
    fig = plots.shap_bar_figure(global_importance(contrib))
    (ax,) = fig.axes
    assert _title(fig) == "Global churn drivers"
    assert len(ax.patches) == 3
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "rfm_recency_days"
    _saves(fig, tmp_path, "shap_bar")


def test_shap_beeswarm_figure_draws_every_customer_once_per_feature(tmp_path: Path) -> None:
    contrib, X = _contrib()
    fig = plots.shap_beeswarm_figure(contrib, X)
    ax = fig.axes[0]
    assert _title(fig) == "SHAP values per customer"
    assert sum(len(c.get_offsets()) for c in ax.collections) == 3 * 50
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cst_segment", "win_orders_30d", "rfm_recency_days"]
    assert len(fig.axes) == 2  # plot + colour bar
    _saves(fig, tmp_path, "beeswarm")


def test_shap_beeswarm_figure_is_deterministic() -> None:
    contrib, X = _contrib()
    images = []
    for _ in range(2):
        buffer = io.BytesIO()
        plots.shap_beeswarm_figure(contrib.values, X, max_points=30).savefig(buffer, format="png")
        images.append(buffer.getvalue())
    assert images[0] == images[1]


def test_decile_figure_draws_a_bar_per_bin_and_the_overall_rate(tmp_path: Path) -> None:
    table = churn_rate_by_decile(pd.Series(np.arange(20.0), name="rfm_recency_days"), [0, 1] * 10)
    fig = plots.decile_figure(table)
    (ax,) = fig.axes
    assert _title(fig) == "Churn rate by rfm_recency_days"
    assert len(ax.patches) == 10
    assert ax.get_legend_handles_labels()[1] == ["overall 50.0%"]
    _saves(fig, tmp_path, "decile")


def test_cohort_heatmap_leaves_unobserved_cells_blank(tmp_path: Path) -> None:
    rates = pd.DataFrame(
        [[100.0, 40.0, 30.0], [100.0, 50.0, np.nan], [100.0, np.nan, np.nan]],
        index=pd.Index(["2024-01", "2024-02", "2024-03"], name="cohort"),
        columns=pd.Index([0, 1, 2], name="months_since_acquisition"),
    )
    fig = plots.cohort_heatmap(rates)
    ax = fig.axes[0]
    assert _title(fig) == "Cohort retention (%)"
    grid = ax.images[0].get_array()
    assert grid.mask.sum() == 3
    assert ax.get_xlabel() == "months_since_acquisition" and ax.get_ylabel() == "cohort"
    _saves(fig, tmp_path, "cohort")


def test_risk_distribution_figure_is_a_histogram_with_the_mean(tmp_path: Path) -> None:
    fig = plots.risk_distribution_figure(MODEL, bins=10)
    (ax,) = fig.axes
    assert _title(fig) == "Distribution of churn probabilities"
    assert len(ax.patches) == 10
    assert sum(p.get_height() for p in ax.patches) == len(MODEL)
    assert ax.get_legend_handles_labels()[1] == [f"mean {MODEL.mean():.3f}"]
    _saves(fig, tmp_path, "risk")


def test_every_figure_is_small() -> None:
    fig = plots.roc_figure(Y, {"m": MODEL})
    assert tuple(fig.get_size_inches()) == (6.0, 4.0) and fig.dpi == 100


def test_importing_explain_and_plots_loads_no_pyplot_shap_or_lightgbm() -> None:
    code = (
        "import sys\n"
        "import churnml.explain\n"
        "print(sorted(m for m in ('shap', 'lightgbm', 'matplotlib') if m in sys.modules))\n"
        "import churnml.plots\n"
        "print(sorted(m for m in ('shap', 'lightgbm', 'matplotlib.pyplot') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "[]"]
