"""The champion by hand: the registered versions (:func:`model_versions`), a version made champion
(:func:`set_champion`) and a rollback (:func:`rollback`), for ``python -m churnml.registry``."""

from __future__ import annotations

import contextlib
from typing import Any

import pandas as pd

from churnml.errors import ModelError
from churnml.tracking.promotion import (
    _alias,
    _another_question,
    _champion,
    _chosen_on,
    _set_champion,
    _test_cutoff,
)
from churnml.tracking.runs import missing_store, store_lock

__all__ = ["model_versions", "rollback", "set_champion"]


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
        have = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
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


def model_versions(uri: str, name: str) -> pd.DataFrame:
    """The registered versions of ``name`` in the store at ``uri``, newest first.

    Columns: ``version``, ``aliases`` (``champion``, ``challenger``,
    ``previous_champion``), ``created`` (UTC), ``run_id``, ``test_cutoff``,
    ``metric`` (the ``champion_metric`` it was judged on), ``value`` (its test
    value), ``replaced`` (the champion it replaced, when it was made one) and
    ``promotion`` (what became of it: the printed reason).

    Raises
    ------
    ModelError
        When the store or the registered model does not exist.
    """
    client = _registry_client(uri, name)
    aliases = client.get_registered_model(name).aliases  # {alias: version}
    rows = []
    for mv in client.search_model_versions(f"name='{name}'"):
        tags = mv.tags or {}
        metric = _chosen_on(tags)
        value = tags.get(f"test_{metric}") if metric else None
        rows.append({
            "version": int(mv.version),
            "aliases": ", ".join(sorted(a for a, v in aliases.items() if str(v) == str(mv.version))),
            "created": pd.Timestamp(mv.creation_timestamp, unit="ms"),
            "run_id": mv.run_id,
            "test_cutoff": _test_cutoff(tags.get("test_window", "")),
            "metric": metric,
            "value": None if value is None else float(value),
            "replaced": tags.get("replaced_champion"),
            "promotion": tags.get("promotion"),
            "rolled_back": tags.get("rolled_back"),
        })
    columns = ["version", "aliases", "created", "run_id", "test_cutoff", "metric", "value", "replaced", "promotion",
               "rolled_back"]
    return pd.DataFrame(rows, columns=columns).sort_values("version", ascending=False, ignore_index=True)


def set_champion(uri: str, name: str, version: str, note: str = "", force: bool = False) -> str:
    """Make ``version`` of ``name`` the champion by hand; returns what was done, in words.

    The replaced champion gets ``previous_champion``; the version's
    ``replaced_champion`` tag names it (so :func:`rollback` undoes this) and its
    ``promotion`` tag says it was set by hand, with ``note``. A version that
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
        when = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
        was = f"v{champ.version}" if champ is not None else "no champion"
        client.set_model_version_tag(name, target.version, "promotion",
                                     f"made champion by hand on {when}, replacing {was}" + (f": {note}" if note else ""))
    return f"v{target.version} is now the champion of {name} (was {was})"


def rollback(uri: str, name: str, note: str = "") -> str:
    """Give the champion alias back to the version the current champion replaced; returns what was done.

    The replaced version comes from the champion's ``replaced_champion`` tag
    (set whenever a version is made champion), so rolling back again goes one
    more champion back; a champion made before that tag existed falls back to
    the ``previous_champion`` alias. ``previous_champion`` then names the
    restored version's own predecessor (or is removed), and the rolled-back
    version's ``rolled_back`` tag says when, with ``note``.

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
        before = champ.tags.get("replaced_champion")
        if before is None:  # made champion by a churnml that did not tag it
            previous = _alias(client, name, "previous_champion")
            before = "" if previous is None or str(previous.version) == str(champ.version) else str(previous.version)
        if not before:
            raise ModelError(f"champion v{champ.version} of {name} replaced no champion (it was the first): nothing "
                             "to roll back to; fix: make another version champion with python -m churnml.registry "
                             "promote N")
        target = _version(client, name, before)
        client.set_registered_model_alias(name, "champion", target.version)
        earlier = target.tags.get("replaced_champion")
        if earlier:
            client.set_registered_model_alias(name, "previous_champion", earlier)
        else:
            with contextlib.suppress(Exception):  # an alias that is not there
                client.delete_registered_model_alias(name, "previous_champion")
        when = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
        client.set_model_version_tag(name, champ.version, "rolled_back",
                                     f"rolled back to v{target.version} on {when}" + (f": {note}" if note else ""))
    return f"v{target.version} is the champion of {name} again (v{champ.version} was rolled back)"
