"""The champion by hand: the registered versions (:func:`model_versions`), a version made champion
(:func:`set_champion`) and a rollback (:func:`rollback`), for ``python -m churnml.registry``."""

from __future__ import annotations

import contextlib
from typing import Any

import pandas as pd

from churnml.errors import ModelError
from churnml.tracking.promotion import (
    HISTORY_TAG,
    _another_question,
    _champion,
    _chosen_on,
    _question,
    _regime,
    _set_champion,
    _test_cutoff,
    champion_history,
)
from churnml.tracking.runs import missing_store, name_filter, store_lock

__all__ = ["alias_problem", "model_versions", "rollback", "set_champion"]


def _registry_client(uri: str, name: str) -> Any:
    """A client of the store at ``uri`` that has the registered model ``name``, else :class:`ModelError`."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    problem = missing_store(uri)
    if problem:
        raise ModelError(problem)
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    try:
        client.get_registered_model(name)
    except MlflowException:
        names = sorted(m.name for m in client.search_registered_models())
        known = f"its registered models: {', '.join(names)}" if names else "it has no registered model"
        raise ModelError(f"no registered model {name!r} in {uri} ({known}); fix: train one with python -m "
                         "churnml.train, or name the model with --name (tracking.registered_model_name)") from None
    return client


def _version(client: Any, name: str, version: str) -> Any:
    """Version ``version`` of ``name``, else :class:`ModelError` naming the versions there are."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, str(version))
    except MlflowException:
        have = sorted(int(v.version) for v in client.search_model_versions(name_filter(name)))
        raise ModelError(f"{name} has no version {version!r} (its versions: {_spans(have)}); fix: give one of "
                         f"them (python -m churnml.registry list)") from None


def _spans(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` as ``1-3, 5``."""
    out: list[str] = []
    for n in numbers:
        if out and n == int(out[-1].rsplit("-", 1)[-1]) + 1:
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out) or "none"


def alias_problem(uri: str) -> str | None:
    """Why ``models:/NAME@alias`` names no version (the model has versions, none with that alias: with
    ``tracking.promote: false``, or a first version that ranked no better than chance), with the fix; None
    when it names one or that cannot be told (loading the model then says what is wrong)."""
    from mlflow import MlflowClient

    if not uri.startswith("models:/") or "@" not in uri:
        return None
    name, _, alias = uri[len("models:/"):].partition("@")
    client = MlflowClient()
    try:
        if alias in client.get_registered_model(name).aliases:
            return None
        versions = sorted(int(v.version) for v in client.search_model_versions(name_filter(name)))
        if not versions:
            return None
        newest = client.get_model_version(name, str(versions[-1]))
    except Exception:  # no such model, a store that cannot be read: loading says which
        return None
    why = newest.tags.get("promotion")
    make = ("make one champion with python -m churnml.registry promote N (python -m churnml.registry list shows "
            "them), or " if alias == "champion" else "")
    return (f"{name} has no version with the alias {alias!r} (its versions: {_spans(versions)}"
            + (f"; v{newest.version}: {why}" if why else "") + f"); fix: {make}score a version with --model "
            f"models:/{name}/{newest.version}")


def model_versions(uri: str, name: str) -> pd.DataFrame:
    """The registered versions of ``name`` in the store at ``uri``, newest first.

    Columns: ``version``, ``aliases`` (a sorted list of ``champion``,
    ``challenger``, ``previous_champion``), ``created`` (UTC), ``run_id``,
    ``regime`` and ``horizon_days`` (the question it answers, from its
    ``test_window`` tag: None when it has none), ``test_cutoff``, ``metric``
    (the ``champion_metric`` it was judged on), ``value`` (its test value),
    ``replaced`` (the champion it replaced, when it was made one),
    ``promotion`` (what became of it: the printed reason) and ``rolled_back``.

    Raises
    ------
    ModelError
        When the store or the registered model does not exist.
    """
    client = _registry_client(uri, name)
    aliases = client.get_registered_model(name).aliases  # {alias: version}
    rows = []
    for mv in client.search_model_versions(name_filter(name)):
        tags = mv.tags or {}
        metric = _chosen_on(tags)
        value = tags.get(f"test_{metric}") if metric else None
        window = tags.get("test_window", "")
        question = _question(window)
        rows.append({
            "version": int(mv.version),
            "aliases": sorted(a for a, v in aliases.items() if str(v) == str(mv.version)),
            "created": pd.Timestamp(mv.creation_timestamp, unit="ms"),
            "run_id": mv.run_id,
            "regime": _regime(window),
            "horizon_days": None if question is None or not question[0].isdigit() else int(question[0]),
            "test_cutoff": _test_cutoff(window),
            "metric": metric,
            "value": None if value is None else float(value),
            "replaced": tags.get("replaced_champion"),
            "promotion": tags.get("promotion"),
            "rolled_back": tags.get("rolled_back"),
        })
    columns = ["version", "aliases", "created", "run_id", "regime", "horizon_days", "test_cutoff", "metric", "value",
               "replaced", "promotion", "rolled_back"]
    frame = pd.DataFrame(rows, columns=columns).astype({"created": "datetime64[ms]", "horizon_days": "Int64"})
    return frame.sort_values("version", ascending=False, ignore_index=True)


def set_champion(uri: str, name: str, version: str, note: str = "", force: bool = False) -> str:
    """Make ``version`` of ``name`` the champion by hand; returns what was done, in words.

    The replaced champion gets ``previous_champion``; the version's
    ``replaced_champion`` tag names it, the champion history records the
    change (so :func:`rollback` undoes it) and its ``promotion`` tag says it
    was set by hand, with ``note``. A version that
    answers another question than the champion's (another data source, regime or
    label window) is refused unless ``force``.

    Raises
    ------
    ModelError
        No such store, model or version, or another question without ``force``.
    """
    client = _registry_client(uri, name)
    target = _version(client, name, version)
    with store_lock(uri, "setting the champion"):
        champ = _champion(client, name)
        if champ is not None and str(champ.version) == str(target.version):
            return f"v{target.version} is already the champion of {name}: nothing changed"
        theirs = "" if champ is None else champ.tags.get("test_window", "")
        other = None if champ is None else _another_question(
            theirs, target.tags.get("test_window", ""), them=f"champion v{champ.version}", us=f"v{target.version}")
        if other is not None and not force:
            raise ModelError(f"v{target.version} answers another question than the champion: {other[0]}; fix: "
                             f"give --force to make it champion anyway (score then answers its question), or "
                             f"give each {other[1]} its own tracking.registered_model_name")
        _set_champion(client, name, str(target.version), champ, recheck=False)
        was = f"v{champ.version}" if champ is not None else "no champion"
        client.set_model_version_tag(name, target.version, "promotion",
                                     f"made champion by hand on {_now()}, replacing {was}" + (f": {note}" if note else ""))
    return f"v{target.version} is now the champion of {name} (was {was})"


def rollback(uri: str, name: str, note: str = "") -> str:
    """Undo the last change of champion: the champion before it gets the alias back; returns what was done.

    The registered model's ``champion_history`` tag lists its champions in
    order, whether made by training or by hand, so each rollback goes one
    change further back (a version made champion twice appears twice); a
    model whose champion was set before that tag starts from the
    ``previous_champion`` alias. ``previous_champion`` then names the champion
    before the restored one (or is removed), and the rolled-back version's
    ``rolled_back`` tag says when, with ``note``.

    Raises
    ------
    ModelError
        No store, model or champion, or nothing to roll back to.
    """
    client = _registry_client(uri, name)
    with store_lock(uri, "rolling back the champion"):
        champ = _champion(client, name)
        if champ is None:
            raise ModelError(f"{name} has no champion to roll back; fix: make one with python -m churnml.registry "
                             "promote N")
        history = champion_history(client, name, champ)
        if len(history) < 2:
            raise ModelError(f"champion v{champ.version} of {name} replaced no champion that churnml recorded: "
                             "nothing to roll back to; fix: make another version champion with python -m "
                             "churnml.registry promote N")
        before = history[-2]
        try:
            target = client.get_model_version(name, before)
        except Exception:  # MlflowException: deleted since
            raise ModelError(f"v{before}, the champion before v{champ.version}, no longer exists in {name}; fix: "
                             "make another version champion with python -m churnml.registry promote N") from None
        client.set_registered_model_alias(name, "champion", target.version)
        client.set_registered_model_tag(name, HISTORY_TAG, ",".join(history[:-1]))
        try:
            if len(history) < 3:
                raise LookupError
            client.set_registered_model_alias(name, "previous_champion", history[-3])
        except Exception:  # none before it, or a deleted version: no previous_champion
            with contextlib.suppress(Exception):  # an alias that is not there
                client.delete_registered_model_alias(name, "previous_champion")
        with contextlib.suppress(Exception):
            client.delete_model_version_tag(name, target.version, "rolled_back")
        client.set_model_version_tag(name, champ.version, "rolled_back",
                                     f"rolled back to v{target.version} on {_now()}" + (f": {note}" if note else ""))
    return f"v{target.version} is the champion of {name} again (v{champ.version} was rolled back)"


def _now() -> str:
    """The time now, as the tags write it."""
    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
