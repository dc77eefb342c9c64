"""MLflow runs: the store, one run per training, what it logs, and the model it registers.

Runs go to ``sqlite:///mlflow.db`` in the working folder unless a tracking
URI is configured. Models are logged as models-from-code pyfuncs
(:mod:`churnml.scorer`) and registered; :mod:`churnml.tracking.promotion`
gives them their aliases.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnml.engine import ParquetSource
from churnml.errors import ChurnMLError, ConfigError
from churnml.fingerprint import column_kinds, fingerprint
from churnml.io_write import check_writable
from churnml.model import model_input

__all__ = [
    "RunLogger",
    "check_store",
    "load_pyfunc",
    "log_churn_model",
    "missing_store",
    "name_filter",
    "pin_model",
    "resolve_tracking_uri",
    "run_model_uri",
    "spark_udf",
    "start_run",
    "store_lock",
    "ui_command",
]

log = logging.getLogger("churnml.tracking")  # the package's logger, as before the split

SCORER_FILE = Path(__file__).parent.parent / "scorer.py"


def _pip_requirements() -> list[str]:
    """The logged model's requirements, pinned to the versions that trained it (a rebuilt environment then
    reads its bundle as it was written)."""
    from importlib.metadata import PackageNotFoundError, version

    pinned = []
    for name in ("churnml", "lightgbm", "pandas", "scikit-learn", "scipy", "numpy"):
        try:
            pinned.append(f"{name}=={version(name)}")
        except PackageNotFoundError:  # churnml run from a source tree without being installed
            pinned.append(name)
    return pinned


def resolve_tracking_uri(uri: str | None) -> str:
    """The tracking URI to use: ``uri``, else ``$MLFLOW_TRACKING_URI``, else
    ``sqlite:///<absolute path>/mlflow.db`` in the working folder."""
    chosen = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not chosen:
        return f"sqlite:///{(Path.cwd() / 'mlflow.db').resolve()}"
    if chosen.startswith("sqlite:///") and not chosen.startswith("sqlite:////"):
        return f"sqlite:///{Path(chosen[len('sqlite:///'):]).resolve()}"
    return chosen


def _sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI (without SQLAlchemy's ``?options``), else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///"):].split("?", 1)[0])


@contextmanager
def store_lock(uri: str, doing: str) -> Iterator[None]:
    """Hold ``<database>.lock`` beside a SQLite store exclusively, so that jobs of this machine take turns.

    Two first runs on a new store would both create its tables, and two trainings promoting at once
    would both read the champion, compare and set the aliases (the worse one could end as champion).
    Other stores (a tracking server) are not locked here: :func:`promote` checks the champion again
    before it moves the alias. A lock file that cannot be made (a read-only folder, a system without
    ``fcntl``) is skipped: the store's own errors say what is wrong.
    """
    path = _sqlite_file(uri)
    try:
        import fcntl
    except ImportError:  # Windows
        fcntl = None  # type: ignore[assignment]
    if path is None or path.name == ":memory:" or fcntl is None:
        yield
        return
    lock = path.with_name(path.name + ".lock")
    try:
        handle = open(lock, "a")  # held across the yield
    except OSError:
        try:  # a lock file another user made: flock needs no write access
            handle = open(lock)
        except OSError:
            yield
            return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another churnml job on %s to finish %s", path, doing)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_store(uri: str, experiment: str) -> str:
    """Open the MLflow store at ``uri`` and the experiment, and check its artifact folder can be written.

    Called before any data is read, so that a store that cannot be opened or an artifact folder that
    cannot be written is one message, not a traceback after the training. Returns the experiment's
    artifact location (where plots, tables and models go: ``./mlruns`` of the folder the experiment was
    created from, for a SQLite store).

    Raises
    ------
    ConfigError
        Naming the store or the folder and the fix.
    """
    import tempfile
    from urllib.parse import unquote, urlparse

    import mlflow

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    database = _sqlite_file(uri)
    if database is not None and not database.exists():  # MLflow would retry for minutes before it said so
        try:
            check_writable(database)
        except ChurnMLError as exc:
            raise ConfigError(f"tracking: cannot create the MLflow store {uri}: {exc}") from None
    try:
        with store_lock(uri, "opening the store"):  # a new store's tables are made once
            mlflow.set_tracking_uri(uri)
            location = str(mlflow.set_experiment(experiment).artifact_location)
    except Exception as exc:  # any backend: SQLAlchemy, a server's HTTP error, the OS
        first = (str(exc).splitlines() or [""])[0][:300]
        if "deleted experiment" in first:
            raise ConfigError(f"tracking: experiment '{experiment}' in {uri} was deleted; fix: restore it (mlflow "
                              "experiments restore --experiment-id ID) or give --experiment another name") from None
        if "database is locked" in first:
            raise ConfigError(f"tracking: the MLflow store {uri} is locked by another process (sqlite: database "
                              "is locked); fix: run again when that process is done, or give this job a store of "
                              "its own") from None
        raise ConfigError(f"tracking: cannot open the MLflow store {uri} or its experiment '{experiment}' "
                          f"({type(exc).__name__}: {first}); fix: give --tracking-uri (tracking.uri) a store you "
                          "can write, e.g. sqlite:///mlflow.db in a folder of yours") from None
    parsed = urlparse(location)
    if parsed.scheme not in ("", "file"):
        return location  # a server's or a cloud store's: checked when the run logs to it
    folder = Path(unquote(parsed.path) if parsed.scheme else location)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(f"tracking: experiment '{experiment}' keeps its artifacts (plots, tables, the model) in "
                          f"{folder}, which cannot be written ({exc.strerror or exc}); fix: make that folder "
                          "writable, or use another experiment (--experiment; a new one keeps them in ./mlruns of "
                          "the folder it is created from)") from None
    return location


def missing_store(uri: str) -> str | None:
    """The problem with a SQLite tracking URI whose database file does not exist (MLflow would create an empty
    store and then find no model in it), or None."""
    path = _sqlite_file(uri)
    if path is None or path.exists():
        return None
    return (f"no MLflow store at {path} (nothing was trained into it: churnml.train writes mlflow.db in the "
            "folder it runs from); fix: run from the folder you trained in, or give --tracking-uri "
            "sqlite:////absolute/path/to/mlflow.db")


def _registered_version(uri: str) -> Any:
    """The model version a ``models:/NAME@alias`` or ``models:/NAME/N`` URI names now; None for other URIs or
    when it cannot be told."""
    if not uri.startswith("models:/"):
        return None
    from mlflow import MlflowClient

    name, _, rest = uri[len("models:/"):].partition("@")
    try:
        client = MlflowClient()
        if rest:
            return client.get_model_version_by_alias(name, rest)
        name, _, number = name.rpartition("/")
        if number == "latest":  # the newest version
            number = str(max(int(v.version) for v in client.search_model_versions(name_filter(name))))
        return client.get_model_version(name, number)
    except Exception:  # a description only: loading the model reports real problems
        return None


def name_filter(name: str) -> str:
    """MLflow's search filter for the versions of registered model ``name`` (quoted with the quote it does not
    hold)."""
    return f'name="{name}"' if "'" in name else f"name='{name}'"


def pin_model(uri: str) -> tuple[str, str | None]:
    """``uri`` naming the version an alias (or ``latest``) names now (``models:/churnml@champion`` ->
    ``models:/churnml/3``, so that it names the same model after the alias moves; a model folder by its
    absolute path; ``runs:/ID/model`` as :func:`run_model_uri` reads it; other URIs as given), and
    the version and run it names (``models:/churnml@champion is version 3 (run 5f2c...)``; None for other URIs
    or when it cannot be told), from one look-up of the registry (an alias moved between two would make them
    name two versions)."""
    mv = _registered_version(uri)
    if mv is not None:
        return f"models:/{mv.name}/{mv.version}", f"{uri} is version {mv.version} (run {mv.run_id})"
    if "://" not in uri and ":/" not in uri and Path(uri).exists():
        return str(Path(uri).resolve()), None
    return run_model_uri(uri), None


def _mlflow_executable() -> str:
    """The ``mlflow`` next to this Python (relative to the working folder when inside it), else ``mlflow``."""
    beside = Path(sys.executable).parent / "mlflow"
    if not beside.is_file():
        return "mlflow"
    try:
        return str(beside.relative_to(Path.cwd()))
    except ValueError:
        return str(beside)


def ui_command(uri: str) -> str:
    """The exact command that opens the MLflow UI on this store, with telemetry off.

    E.g. ``MLFLOW_DISABLE_TELEMETRY=true .venv/bin/mlflow ui --backend-store-uri
    sqlite:////home/me/churn/mlflow.db``; for a tracking server, where to point a browser.
    """
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser"
    return f"MLFLOW_DISABLE_TELEMETRY=true {_mlflow_executable()} ui --backend-store-uri {uri}"


class RunLogger:
    """Thin, swappable wrapper of an active MLflow run."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def params(self, params: dict[str, Any]) -> None:
        import mlflow

        mlflow.log_params({k: _short(v) for k, v in params.items()})

    def metrics(self, metrics: dict[str, float], step: int = 0, timestamp: int | None = None) -> None:
        """Log ``metrics`` (missing and infinite values left out) at ``step`` of this run, at ``timestamp``
        (milliseconds since 1970-01-01 UTC, not before it; None: now).

        Written with ``MlflowClient.log_batch``, so MLflow never links them to a logged model on its own
        (``mlflow.log_metrics`` links a metric logged after ``log_model`` at the model's step to that
        model). The logged model carries the run's step-0 metrics logged before :func:`log_churn_model`:
        MLflow 3's ``log_model`` copies them onto it.
        """
        from mlflow import MlflowClient
        from mlflow.entities import Metric
        from mlflow.utils.time import get_current_time_millis

        at = get_current_time_millis() if timestamp is None else timestamp
        batch = [Metric(k, float(v), at, step) for k, v in metrics.items() if v is not None and np.isfinite(v)]
        MlflowClient().log_batch(self.run_id, metrics=batch)

    def figure(self, fig: Any, path: str) -> None:
        import mlflow

        mlflow.log_figure(fig, path)

    def table(self, frame: pd.DataFrame, path: str) -> None:
        import mlflow

        mlflow.log_table(data=_jsonable(frame), artifact_file=path)

    def text(self, text: str, path: str) -> None:
        import mlflow

        mlflow.log_text(text, path)

    def json(self, data: dict[str, Any], path: str) -> None:
        import mlflow

        mlflow.log_dict(data, path)

    def tags(self, tags: dict[str, str]) -> None:
        import mlflow

        mlflow.set_tags(tags)

    def dataset(self, table: pd.DataFrame | ParquetSource | str, name: str, context: str,
                path: str | None = None) -> str:
        """Log ``table`` as an MLflow dataset of this run: its digest (:mod:`churnml.fingerprint`), and for a
        frame its rows and column types; ``path`` is where it was read from (None: made by this code). A
        path given as ``table`` is fingerprinted by its files (not read).

        Returns the digest. MLflow's own pandas dataset reads only the first 10,000 rows for its digest, and
        infers the schema value by value (about 6 s for a million rows of 40 features, 47 s for 10M
        transactions: ``benchmarks/log_dataset.py``): neither is used.

        MLflow keeps one dataset record per name and digest in an experiment, with the source of the first
        run that logged it: a later run reading the same rows from another file links that record. The
        run's own ``path`` is therefore also the input's tag ``source`` (and, for ``data.source: files``,
        its ``data_path_<table>`` parameter).
        """
        import mlflow

        found = fingerprint(table)
        schema = None
        profile: dict[str, Any] = {"digest_of": found.covers}
        if isinstance(table, pd.DataFrame):
            from mlflow.types.schema import ColSpec, Schema

            kinds = column_kinds(table)  # MLflow refuses an empty schema: a frame without columns has none
            schema = Schema([ColSpec(kind, col, required=req) for col, kind, req in kinds]) if kinds else None
            profile.update(num_rows=len(table), num_elements=int(table.size))
        mlflow.log_input(_table_dataset(_dataset_source(path), name, found.digest, schema, profile),
                         context=context, tags=None if path is None else {"source": _located(path)})
        return found.digest


def _located(path: str) -> str:
    """A URI as given, a local path made absolute."""
    return path if "://" in path else os.path.abspath(path)


def _dataset_source(path: str | None) -> Any:
    """Where a logged dataset came from: a file's absolute path, or (None) this code, as MLflow records it."""
    if path is not None:
        from mlflow.data.dataset_source_registry import resolve_dataset_source

        try:
            with warnings.catch_warnings():  # "can be interpreted in multiple ways": both are local files
                warnings.simplefilter("ignore", UserWarning)
                return resolve_dataset_source(_located(path))
        except Exception:  # a scheme MLflow has no source for: recorded as code, its path in the params
            log.debug("no MLflow dataset source for %s", path)
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.tracking.context.registry import resolve_tags

    return CodeDatasetSource(tags=resolve_tags())


def _table_dataset(source: Any, name: str, digest: str, schema: Any, profile: dict[str, Any]) -> Any:
    """An MLflow dataset of metadata only: name, digest, source, schema and profile (no data is logged)."""
    from mlflow.data.meta_dataset import MetaDataset

    class TableDataset(MetaDataset):
        @property
        def profile(self) -> dict[str, Any]:
            return profile

        def to_dict(self) -> dict[str, str]:
            return {**super().to_dict(), "profile": json.dumps(profile)}

    return TableDataset(source, name=name, digest=digest, schema=schema)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 6000 else text[:5990] + " ..."


def _jsonable(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("str").where(out[col].notna(), None)
        elif pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return out


@contextmanager
def start_run(uri: str, experiment: str, run_name: str | None = None, tags: dict[str, str] | None = None,
              nested: bool = False, description: str | None = None) -> Iterator[RunLogger]:
    """Start (or nest) an MLflow run on ``uri`` in ``experiment``; ``description`` is the run's note in the UI."""
    import mlflow

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name, tags=tags, nested=nested, description=description or None) as run:
        try:
            yield RunLogger(run.info.run_id)
        except KeyboardInterrupt:  # Ctrl-C or a scheduler's SIGTERM (churnml.cli): stopped, not failed
            mlflow.end_run("KILLED")
            raise


def _signature(example: pd.DataFrame, outputs: pd.DataFrame) -> Any:
    """Every input column required (a missing column is MLflow's clear error, not a silent NaN feature),
    its values may be missing (NaN, null: meaningful to LightGBM); numbers as double."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    def spec(frame: pd.DataFrame, required: bool) -> Schema:
        return Schema([
            ColSpec("double" if pd.api.types.is_float_dtype(frame[c]) else "string", c, required=required)
            for c in frame.columns
        ])

    return ModelSignature(spec(example, True), spec(outputs, True), ParamSchema([ParamSpec("top_k", "long", 3)]))


def log_churn_model(bundle_dir: Path, example: pd.DataFrame, predict_example: pd.DataFrame,
                    registered_name: str | None, name: str = "model") -> tuple[str, str | None]:
    """Log the bundle as a models-from-code pyfunc named ``name``; register it when ``registered_name``.

    The name is the logged model's in the UI (Models tab, the run's *Logged models*) and the last part of
    its run URI, ``runs:/<run id>/<name>`` (:func:`run_model_uri` reads ``runs:/<run id>/model`` as it too).

    Returns
    -------
    (model_uri, version)
        ``version`` is None when not registered.
    """
    import mlflow

    ex = model_input(example)
    signature = _signature(ex, predict_example)
    info = mlflow.pyfunc.log_model(
        name=name,
        python_model=str(SCORER_FILE),
        artifacts={"bundle": str(bundle_dir)},
        signature=signature,
        input_example=ex,
        pip_requirements=_pip_requirements(),
        registered_model_name=registered_name,
    )
    version = str(info.registered_model_version) if info.registered_model_version is not None else None
    return info.model_uri, version


#: The name every churnml model was logged under before they were named for what they answer: ``runs:/ID/model``.
LEGACY_MODEL_NAME = "model"


def run_model_uri(uri: str) -> str:
    """``runs:/<run id>/model[/path]`` naming the run's one logged model when none is named ``model``; other
    URIs as given.

    churnml logs a model under a name that says what it answers (e.g. ``churn-noncontractual-273d``), and
    MLflow finds ``runs:/<run id>/<name>`` by that name; ``runs:/<run id>/model``, the URI of the models
    logged before, keeps naming a run's model. A run with no logged model or several (none named ``model``)
    keeps the URI: MLflow's error then says what is missing.
    """
    if not uri.startswith("runs:/"):
        return uri
    run_id, _, rest = uri[len("runs:/"):].partition("/")
    name, _, path = rest.partition("/")
    if name != LEGACY_MODEL_NAME:
        return uri
    from mlflow import MlflowClient

    try:
        client = MlflowClient()
        outputs = client.get_run(run_id).outputs
        names = {client.get_logged_model(o.model_id).name for o in (outputs.model_outputs if outputs else [])}
    except Exception:  # a run or store that cannot be read: loading the URI reports it
        return uri
    if len(names) != 1 or LEGACY_MODEL_NAME in names:
        return uri
    return f"runs:/{run_id}/{names.pop()}" + (f"/{path}" if path else "")


def load_pyfunc(model_uri: str) -> Any:
    """Load a logged churn pyfunc (``models:/NAME@champion``, ``runs:/...`` (:func:`run_model_uri`), a path)."""
    import mlflow

    return mlflow.pyfunc.load_model(run_model_uri(model_uri))


def spark_udf(spark: Any, model_uri: str, top_k: int = 0) -> Any:
    """The logged churn pyfunc applied in Spark executors (``mlflow.pyfunc.spark_udf``)."""
    import mlflow

    return mlflow.pyfunc.spark_udf(spark, run_model_uri(model_uri), result_type="double", params={"top_k": top_k})
