"""MLflow: the one package that imports mlflow (besides the pyfunc file, :mod:`churnml.scorer`).

:mod:`~churnml.tracking.runs` (the store, runs, logging the model),
:mod:`~churnml.tracking.promotion` (the champion by rule after a training) and
:mod:`~churnml.tracking.versions` (the champion by hand: ``python -m
churnml.registry``); their names are importable from here.

MLflow 3 sends usage telemetry unless ``MLFLOW_DISABLE_TELEMETRY=true``;
churnml's Makefile and CLIs set it (override by setting it yourself).
"""

from churnml.tracking.promotion import Promotion, promote
from churnml.tracking.runs import (
    RunLogger,
    check_store,
    load_pyfunc,
    log_churn_model,
    missing_store,
    pin_model,
    resolve_tracking_uri,
    spark_udf,
    start_run,
    store_lock,
    ui_command,
)
from churnml.tracking.versions import alias_problem, model_versions, rollback, set_champion

__all__ = [
    "Promotion",
    "alias_problem",
    "RunLogger",
    "check_store",
    "load_pyfunc",
    "log_churn_model",
    "missing_store",
    "model_versions",
    "pin_model",
    "promote",
    "resolve_tracking_uri",
    "rollback",
    "set_champion",
    "spark_udf",
    "start_run",
    "store_lock",
    "ui_command",
]
