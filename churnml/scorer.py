"""The MLflow pyfunc of a churn model, logged as *models from code*.

MLflow loads this file to serve a model: it takes raw customer feature rows
(the columns of :func:`churnml.features.compute_features`; extra columns are
ignored), restores the category levels seen in training and returns
``churn_probability``. The model itself lives in the ``bundle`` artifact
(``model.txt`` + ``meta.json``, see :class:`churnml.model.ChurnModel`).

Only MLflow imports this module (``mlflow.models.set_model`` at the end is
what models-from-code requires); churnml code never does.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

from churnml.model import ChurnModel


class ChurnPyfunc(PythonModel):
    """Feature rows in, ``churn_probability`` out."""

    def load_context(self, context: Any) -> None:
        self.model = ChurnModel.load(context.artifacts["bundle"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        frame = pd.DataFrame(model_input)
        return pd.DataFrame(
            {"churn_probability": self.model.predict_proba(frame)}, index=frame.index
        )


set_model(ChurnPyfunc())
