"""The MLflow pyfunc of a churn model, logged as *models from code*.

MLflow loads this file to serve a model: it takes raw customer feature rows
(the columns of :func:`churnml.features.compute_features`, numbers as
doubles, categories as strings; extra columns are ignored), restores the
category levels seen in training and returns ``churn_probability`` and, for
``top_k > 0`` (a request parameter, default 3), the reason codes
``reason_i``, ``reason_i_text`` and ``reason_i_contribution`` from LightGBM's
native TreeSHAP (no shap needed). The model itself lives in the ``bundle``
artifact (``model.txt`` + ``meta.json``, see :class:`churnml.model.ChurnModel`).

Only MLflow imports this module (``set_model`` at the end is what
models-from-code requires); churnml code never does.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

from churnml.explain import contributions, reason_codes
from churnml.model import ChurnModel

DEFAULT_TOP_K = 3


class ChurnPyfunc(PythonModel):
    """Feature rows in; ``churn_probability`` and reason codes out."""

    def load_context(self, context: Any) -> None:
        self.model = ChurnModel.load(context.artifacts["bundle"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        frame = pd.DataFrame(model_input)
        out = pd.DataFrame({"churn_probability": self.model.predict_proba(frame)}, index=frame.index)
        top_k = int((params or {}).get("top_k", DEFAULT_TOP_K))
        if top_k > 0 and len(frame):
            X = self.model.prepared(frame)
            codes = reason_codes(contributions(self.model.booster_, X), X, top_k=top_k,
                                 unseen=self.model.unseen_levels(frame))
            keep = [c for c in codes.columns if not c.endswith(("_feature", "_value"))]
            out = pd.concat([out, codes[keep]], axis=1)
        return out


set_model(ChurnPyfunc())
