"""MLflow: the one module that imports mlflow (besides the pyfunc file).

Runs go to ``sqlite:///mlflow.db`` in the working folder unless a tracking
URI is configured. Models are logged as models-from-code pyfuncs
(:mod:`churnml.scorer`), registered, and given the alias ``challenger``; a
version becomes ``champion`` when it beats the current champion on the same
test window (or when there is none), on ``tracking.champion_metric`` in that
metric's direction (lower is better for ``brier``, ``log_loss`` and ``ece``).

MLflow 3 sends usage telemetry unless ``MLFLOW_DISABLE_TELEMETRY=true``;
churnml's Makefile and CLIs set it (override by setting it yourself).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnml.config import CHAMPION_METRICS
from churnml.config_data import DATA_SOURCES
from churnml.engine import ParquetSource
from churnml.errors import ChurnMLError, ConfigError
from churnml.evaluate import is_share_metric
from churnml.fingerprint import column_kinds, fingerprint
from churnml.io_write import check_writable
from churnml.model import model_input

__all__ = [
    "Promotion",
    "RunLogger",
    "check_store",
    "missing_store",
    "model_version_text",
    "log_churn_model",
    "promote",
    "resolve_tracking_uri",
    "spark_udf",
    "start_run",
    "ui_command",
]

log = logging.getLogger(__name__)

SCORER_FILE = Path(__file__).with_name("scorer.py")


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


def model_version_text(uri: str) -> str | None:
    """``models:/NAME@alias`` or ``models:/NAME/N`` as the version and run it names, e.g.
    ``models:/churnml@champion is version 3 (run 5f2c...)``; None for other URIs or when it cannot be told."""
    if not uri.startswith("models:/"):
        return None
    from mlflow import MlflowClient

    name, _, rest = uri[len("models:/"):].partition("@")
    try:
        client = MlflowClient()
        if rest:
            mv = client.get_model_version_by_alias(name, rest)
        else:
            name, _, number = name.rpartition("/")
            mv = client.get_model_version(name, number)
    except Exception:  # a description only: loading the model reports real problems
        return None
    return f"{uri} is version {mv.version} (run {mv.run_id})"


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

    def metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        import mlflow

        clean = {k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)}
        mlflow.log_metrics(clean, step=step)

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
                         context=context)
        return found.digest


def _dataset_source(path: str | None) -> Any:
    """Where a logged dataset came from: a file's absolute path, or (None) this code, as MLflow records it."""
    if path is not None:
        from mlflow.data.dataset_source_registry import resolve_dataset_source

        try:
            with warnings.catch_warnings():  # "can be interpreted in multiple ways": both are local files
                warnings.simplefilter("ignore", UserWarning)
                return resolve_dataset_source(path if "://" in path else os.path.abspath(path))
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
                    registered_name: str | None) -> tuple[str, str | None]:
    """Log the bundle as a models-from-code pyfunc; register it when named.

    Returns
    -------
    (model_uri, version)
        ``version`` is None when not registered.
    """
    import mlflow

    ex = model_input(example)
    signature = _signature(ex, predict_example)
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(SCORER_FILE),
        artifacts={"bundle": str(bundle_dir)},
        signature=signature,
        input_example=ex,
        pip_requirements=_pip_requirements(),
        registered_model_name=registered_name,
    )
    version = str(info.registered_model_version) if info.registered_model_version is not None else None
    return info.model_uri, version


@dataclass(frozen=True)
class Promotion:
    """What happened to the aliases after a registration."""

    version: str
    champion: bool
    reason: str
    challenger: bool = True  # False: it answers another question than the champion's, so it has no alias


def _higher_is_better(metric: str) -> bool:
    if is_share_metric(metric):  # evaluation.top_fraction's own names
        return True
    if metric not in CHAMPION_METRICS:
        raise ConfigError(f"tracking.champion_metric={metric!r} is not one of {sorted(CHAMPION_METRICS)}")
    return CHAMPION_METRICS[metric]


def promote(name: str, version: str, metric: str, value: float, window: str,
            evaluate_champion: Any = None, labels: str | None = None) -> Promotion:
    """Alias ``version`` as challenger and make it champion if it beats the champion, when the two compare.

    A version of another data source (``cdnow``, ``synthetic``, ``files``),
    regime or label window (horizon, lead time, grace) predicts another
    question: it is neither challenger nor champion. A champion chosen on
    another metric (its ``champion_metric`` tag) is re-scored on this one, and
    the reason says which metric chose it. A replaced champion
    keeps the ``previous_champion`` alias, and every version gets the
    ``champion_metric`` it was judged on and the ``promotion`` reason as tags. A
    champion judged on another test window is re-scored on this one only
    when its test cutoff is not later than this one's (with the embargo its
    training labels end by its test cutoff, so they end before this test
    window starts); else it is kept, not comparable.

    Parameters
    ----------
    name, version : str
        Registered model and the new version.
    metric, value : str, float
        The comparison metric, a key of :data:`churnml.config.CHAMPION_METRICS`
        (which says whether higher or lower is better) or a lift or precision
        at a share of its own (``lift_top_20pct``: higher is better), and the
        new version's value.
    window : str
        A key of the test window (dataset, cutoff, horizon, regime); metrics are
        only compared on the same window.
    evaluate_champion : callable, optional
        ``f(model_uri) -> float`` scoring the champion on this run's test rows,
        used when the champion was judged on another window, or on this window's
        cutoff and rows with other labels.
    labels : str, optional
        A digest of the test rows' customers and labels (the version's
        ``test_labels`` tag). A champion judged on the same window key with
        other labels (a corrected or late export changed who churned) is
        re-scored on these, not compared by its stored metric.

    Raises
    ------
    ConfigError
        When ``metric`` is not a known champion metric (checked before any alias is set).
    """
    import mlflow
    from mlflow import MlflowClient

    with store_lock(mlflow.get_tracking_uri(), "promoting a model version"):
        for _ in range(_PROMOTE_TRIES - 1):
            try:
                promotion = _promote(name, version, metric, value, window, evaluate_champion, labels)
                break
            except _ChampionMoved as moved:  # another job promoted while this one compared: compare again
                log.info("%s", moved)
        else:
            promotion = _promote(name, version, metric, value, window, evaluate_champion, labels, recheck=False)
    MlflowClient().set_model_version_tag(name, version, "promotion", promotion.reason)  # shown by the registry UI
    return promotion


#: How often :func:`promote` compares with a champion that another job replaced meanwhile (the last time
#: without checking again).
_PROMOTE_TRIES = 3


class _ChampionMoved(Exception):
    """Another job set the champion alias while :func:`_promote` compared with the one it had read."""


def _champion(client: Any, name: str) -> Any:
    """The model version with the champion alias, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, "champion")
    except MlflowException:
        return None


def _set_champion(client: Any, name: str, version: str, read: Any, recheck: bool) -> None:
    """Make ``version`` champion (the one replaced, ``read``, keeps ``previous_champion``), unless another job
    changed the champion since ``read`` was read (then :class:`_ChampionMoved`, with ``recheck``)."""
    now = _champion(client, name)
    if recheck and (None if now is None else now.version) != (None if read is None else read.version):
        raise _ChampionMoved(f"champion of {name} changed to v{now.version if now else None} while v{version} "
                             "was compared: comparing again")
    if read is not None:
        client.set_registered_model_alias(name, "previous_champion", read.version)  # for a rollback
    client.set_registered_model_alias(name, "champion", version)


def _promote(name: str, version: str, metric: str, value: float, window: str,
             evaluate_champion: Any = None, labels: str | None = None, recheck: bool = True) -> Promotion:
    """:func:`promote` without recording its reason."""
    from mlflow import MlflowClient

    higher = _higher_is_better(metric)  # an unknown metric fails here, before any alias changes
    client = MlflowClient()
    client.set_model_version_tag(name, version, "test_window", window)
    if labels is not None:
        client.set_model_version_tag(name, version, "test_labels", labels)
    client.set_model_version_tag(name, version, f"test_{metric}", repr(float(value)))  # exact: compared below
    client.set_model_version_tag(name, version, "champion_metric", metric)
    champ = _champion(client, name)
    theirs = "" if champ is None else champ.tags.get("test_window", "")
    sources = _source(theirs), _source(window)
    if champ is not None and None not in sources and sources[0] != sources[1]:
        return Promotion(version, False, (
            f"champion v{champ.version} kept: it was trained on data.source={sources[0]} and this version on "
            f"{sources[1]}, another business's customers; give each data set its own "
            "tracking.registered_model_name"), challenger=False)
    regimes = _regime(theirs), _regime(window)
    if champ is not None and None not in regimes and regimes[0] != regimes[1]:
        return Promotion(version, False, (
            f"champion v{champ.version} kept: it predicts {regimes[0]} churn and this version {regimes[1]} churn; "
            "give each regime its own tracking.registered_model_name"), challenger=False)
    if champ is not None and _other_question(theirs, window):
        return Promotion(version, False, (
            f"champion v{champ.version} kept: it predicts churn {_label_window(theirs)} and this version churn "
            f"{_label_window(window)}, another question, so neither is scored on the other's labels; give each "
            "horizon, lead time and grace its own tracking.registered_model_name"), challenger=False)
    client.set_registered_model_alias(name, "challenger", version)  # it answers the champion's question
    if champ is None:
        _set_champion(client, name, version, None, recheck)
        return Promotion(version, True, "no champion yet")
    chosen_on = _chosen_on(champ.tags)
    switched = f"; v{champ.version} was chosen on {chosen_on}" if chosen_on not in (None, metric) else ""
    their_cut, our_cut = _test_cutoff(theirs), _test_cutoff(window)
    if their_cut and our_cut and their_cut > our_cut:  # ISO dates: text order is time order
        return Promotion(version, False, (
            f"champion v{champ.version} kept: not comparable, its test cutoff {their_cut} is after this version's "
            f"{our_cut}, so its training labels may reach into this test window; compare on a test cutoff at "
            f"or after {their_cut}"))
    relabelled = theirs == window and None not in (labels, champ.tags.get("test_labels")) \
        and champ.tags["test_labels"] != labels  # the same cutoff and rows, other outcomes: the data changed
    stored = champ.tags.get(f"test_{metric}") if theirs == window else None
    best, how = None, "same test window"
    if relabelled and evaluate_champion is not None:
        try:
            best = float(evaluate_champion(f"models:/{name}/{champ.version}"))
            how = "champion re-scored on this test window, whose labels changed since it was judged (the data changed)"
        except Exception as exc:  # its stored value below, with the reason
            log.warning("could not score champion v%s on this test window's new labels: %s", champ.version, exc)
    if best is None and stored is not None:
        best = float(stored)
        if relabelled:  # judged on other labels and not re-scored: its value still tells, but say so
            how = "same test window; its labels changed since the champion was judged and it was not re-scored"
    elif best is None and evaluate_champion is not None:
        try:
            best = float(evaluate_champion(f"models:/{name}/{champ.version}"))
            how = "champion re-scored on this test window"
        except Exception as exc:  # e.g. a champion whose features cannot be computed from this run's tables
            first = (str(exc).splitlines() or [""])[0]
            why = f"{type(exc).__name__}: {first if len(first) <= 400 else first[:400].rsplit(' ', 1)[0] + ' ...'}"
            log.warning("could not score champion v%s on this test window: %s", champ.version, why)
            return Promotion(version, False, f"champion v{champ.version} kept: not comparable ({why})")
    elif best is None and theirs == window:
        return Promotion(version, False, f"champion v{champ.version} kept: it has no {metric} on this test window "
                                         f"and cannot be re-scored here{switched}")
    elif best is None:
        return Promotion(version, False, f"champion v{champ.version} kept: other test window{switched}")
    # Tags written before the exact value was kept hold six decimals: an identical retrain must not win on them.
    won = value - best > _TIE if higher else best - value > _TIE
    sign = {(True, True): ">", (True, False): "<=", (False, True): "<", (False, False): ">="}[(higher, won)]
    direction = "higher" if higher else "lower"
    digits = 4 if f"{value:.4f}" != f"{best:.4f}" else 10  # values that differ show a difference
    reason = (f"{metric} {value:.{digits}f} {sign} champion v{champ.version} {best:.{digits}f} ({direction} is "
              f"better; {how}{switched})")
    if won:
        _set_champion(client, name, version, champ, recheck)
    return Promotion(version, won, reason)


def _chosen_on(tags: dict[str, str]) -> str | None:
    """The metric a version was judged on: its ``champion_metric`` tag, or for versions registered before
    that tag, the metric of its ``test_<metric>`` tag (each version got one); None when neither is there."""
    if "champion_metric" in tags:
        return tags["champion_metric"]
    judged = [k[len("test_"):] for k in tags if k.startswith("test_") and k != "test_window"]
    return judged[0] if len(judged) == 1 else None


#: A metric must beat the champion's by more than this: half the last digit of the six-decimal tags of older versions.
_TIE = 5e-7


def _test_cutoff(window: str) -> str | None:
    """The test cutoff (``YYYY-MM-DD``) of a test window key, the field before the row count; None if none."""
    parts = window.split("|")
    if len(parts) < 6 or len(parts[-2]) != 10 or parts[-2][4] != "-":
        return None
    return parts[-2]


def _question(window: str) -> tuple[str, str, str | None] | None:
    """(horizon, lead, grace) of a test window key; grace None when the key has none (non-contractual, or
    written before the grace was part of it); None for a key without a horizon and a lead."""
    parts = window.split("|")
    if len(parts) < 4 or not parts[2].startswith("h") or not parts[3].startswith("lead"):
        return None
    grace = parts[4][5:] if len(parts) > 4 and parts[4].startswith("grace") else None
    return parts[2][1:], parts[3][4:], grace


def _other_question(a: str, b: str) -> bool:
    """Whether two test window keys label churn differently (a grace missing from one of them is not known)."""
    qa, qb = _question(a), _question(b)
    if qa is None or qb is None:
        return False
    return qa[:2] != qb[:2] or (None not in (qa[2], qb[2]) and qa[2] != qb[2])


def _label_window(window: str) -> str | None:
    """The label window of a test window key, in words (``within 90 days``), None when it has none."""
    q = _question(window)
    if q is None:
        return None
    horizon, lead, grace = q
    return (f"within {horizon} days" + (f" after a lead time of {lead} days" if lead not in ("", "0") else "")
            + ("" if grace is None else f" (renewals within {grace} days continue a subscription)"))


def _source(window: str) -> str | None:
    """The data source of a test window key (its first field: ``data.source``), None if none."""
    parts = window.split("|")
    return parts[0] if len(parts) > 1 and parts[0] in DATA_SOURCES else None


def _regime(window: str) -> str | None:
    """The regime of a test window key (``source|regime|h..|lead..[|grace..]|cutoff|rows``), None when it has none."""
    parts = window.split("|")
    return parts[1] if len(parts) > 1 and parts[1] in ("contractual", "noncontractual") else None


def load_pyfunc(model_uri: str) -> Any:
    """Load a logged churn pyfunc (``models:/NAME@champion``, ``runs:/...``, a path)."""
    import mlflow

    return mlflow.pyfunc.load_model(model_uri)


def spark_udf(spark: Any, model_uri: str, top_k: int = 0) -> Any:
    """The logged churn pyfunc applied in Spark executors (``mlflow.pyfunc.spark_udf``)."""
    import mlflow

    return mlflow.pyfunc.spark_udf(spark, model_uri, result_type="double", params={"top_k": top_k})
