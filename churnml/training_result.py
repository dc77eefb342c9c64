"""What a training run produced, before it is logged: :class:`TrainResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churnml import explain
from churnml.dataset import TARGET, TrainingData
from churnml.model import ChurnModel

__all__ = ["TrainResult"]


@dataclass
class TrainResult:
    """Everything a training run produced, before it is logged."""

    data: TrainingData
    model: ChurnModel
    test_probabilities: dict[str, np.ndarray]
    metrics: dict[str, dict[str, float]]
    backtest: pd.DataFrame
    profit: pd.DataFrame | None  # None without evaluation.value_per_save
    importance: pd.DataFrame
    drivers: str
    contributions: explain.Contributions
    explained: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def y_test(self) -> np.ndarray:
        return self.data.part("test")[TARGET].to_numpy()
