"""The champion by rule: a registered version's aliases after its training (:func:`promote`).

A version becomes ``challenger`` when it answers the champion's question (the
same data source, regime and label window) and ``champion`` when it beats the
champion on ``tracking.champion_metric`` on the same test window (or the
champion re-scored on this one), in that metric's direction, by more than
``tracking.min_improvement``; or when there is none. A version that ranks no
better than chance, or any with ``tracking.promote: false``, never is.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from churnml.config import CHAMPION_METRICS
from churnml.config_data import DATA_SOURCES
from churnml.errors import ConfigError
from churnml.evaluate import is_share_metric
from churnml.tracking.runs import store_lock

__all__ = ["HISTORY_TAG", "Promotion", "champion_history", "promote"]

log = logging.getLogger("churnml.tracking")  # the package's logger, as before the split


@dataclass(frozen=True)
class Promotion:
    """What happened to the aliases after a registration."""

    version: str
    champion: bool
    reason: str
    challenger: bool = True  # False: it answers another question than the champion's, so it has no alias

    @property
    def alias(self) -> str:
        """The alias the version got: ``champion``, ``challenger`` or ``none``."""
        return "champion" if self.champion else "challenger" if self.challenger else "none"


def _higher_is_better(metric: str) -> bool:
    if is_share_metric(metric):  # evaluation.top_fraction's own names
        return True
    if metric not in CHAMPION_METRICS:
        raise ConfigError(f"tracking.champion_metric={metric!r} is not one of {sorted(CHAMPION_METRICS)}")
    return CHAMPION_METRICS[metric]


def promote(name: str, version: str, metric: str, value: float, window: str,
            evaluate_champion: Any = None, labels: str | None = None, *, min_improvement: float = 0.0,
            auto: bool = True, unfit: str | None = None) -> Promotion:
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
    min_improvement : float
        By how much more than the champion's the new value must be better
        (``tracking.min_improvement``, in the metric's units); 0: by more
        than 5e-7.
    auto : bool
        False (``tracking.promote: false``): compared and aliased challenger
        as usual, never made champion; the reason says so.
    unfit : str, optional
        Why this version must not become champion whatever it scores (it
        ranks no better than chance); compared and aliased as usual, and the
        reason ends with it where the version would otherwise have become
        champion.

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
                promotion = _promote(name, version, metric, value, window, evaluate_champion, labels,
                                     min_improvement=min_improvement, auto=auto, unfit=unfit)
                break
            except _ChampionMoved as moved:  # another job promoted while this one compared: compare again
                log.info("%s", moved)
        else:
            promotion = _promote(name, version, metric, value, window, evaluate_champion, labels, recheck=False,
                                 min_improvement=min_improvement, auto=auto, unfit=unfit)
    MlflowClient().set_model_version_tag(name, version, "promotion", promotion.reason)  # shown by the registry UI
    return promotion


#: How often :func:`promote` compares with a champion that another job replaced meanwhile (the last time
#: without checking again).
_PROMOTE_TRIES = 3


class _ChampionMoved(Exception):
    """Another job set the champion alias while :func:`_promote` compared with the one it had read."""


def _champion(client: Any, name: str) -> Any:
    """The model version with the champion alias, or None."""
    return _alias(client, name, "champion")


def _set_champion(client: Any, name: str, version: str, read: Any, recheck: bool) -> None:
    """Make ``version`` champion (the one replaced, ``read``, keeps ``previous_champion``), unless another job
    changed the champion since ``read`` was read (then :class:`_ChampionMoved`, with ``recheck``)."""
    now = _champion(client, name)
    if recheck and (None if now is None else now.version) != (None if read is None else read.version):
        raise _ChampionMoved(f"champion of {name} changed to v{now.version if now else None} while v{version} "
                             "was compared: comparing again")
    if read is not None:
        client.set_registered_model_alias(name, "previous_champion", read.version)  # for a rollback
    client.set_model_version_tag(name, version, "replaced_champion", "" if read is None else read.version)
    history = champion_history(client, name, read)
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join([*history, str(version)][-_HISTORY_KEPT:]))
    client.set_registered_model_alias(name, "champion", version)
    with contextlib.suppress(Exception):  # champion again: no longer rolled back
        client.delete_model_version_tag(name, version, "rolled_back")


#: The registered model's tag listing its champions, oldest first, the current one last: a rollback undoes the
#: last entry (``churnml.registry rollback``).
HISTORY_TAG = "champion_history"
#: How many champions the history keeps (MLflow tag values are limited in length).
_HISTORY_KEPT = 200


def champion_history(client: Any, name: str, champion: Any) -> list[str]:
    """The champions of ``name`` so far, oldest first, ending with ``champion`` (the current one, or None).

    Read from the registered model's ``champion_history`` tag; a champion moved outside churnml (the MLflow
    UI) since is appended to it, as replacing the last recorded one; a model whose champion was set before
    that tag starts from its ``previous_champion`` alias and its champion.
    """
    text = client.get_registered_model(name).tags.get(HISTORY_TAG, "")
    history = [v for v in text.split(",") if v]
    if champion is None or (history and history[-1] == str(champion.version)):
        return history
    if history:  # moved outside churnml: it replaced the last champion churnml recorded
        return [*history, str(champion.version)]
    previous = _alias(client, name, "previous_champion")  # from before the tag: what the aliases say
    return ([str(previous.version)] if previous is not None and str(previous.version) != str(champion.version)
            else []) + [str(champion.version)]


def _promote(name: str, version: str, metric: str, value: float, window: str,
             evaluate_champion: Any = None, labels: str | None = None, recheck: bool = True,
             min_improvement: float = 0.0, auto: bool = True, unfit: str | None = None) -> Promotion:
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
    other = None if champ is None else _another_question(theirs, window)
    if other is not None:
        return Promotion(version, False, f"champion v{champ.version} kept: {other[0]}; give each {other[1]} its own "
                                         "tracking.registered_model_name", challenger=False)
    client.set_registered_model_alias(name, "challenger", version)  # it answers the champion's question
    held = unfit or (None if auto else f"tracking.promote is false (python -m churnml.registry promote {version})")
    if champ is None:
        if held:
            return Promotion(version, False, f"no champion yet; not made champion: {held}")
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
    gain = value - best if higher else best - value
    better = gain > _TIE
    sign = {(True, True): ">", (True, False): "<=", (False, True): "<", (False, False): ">="}[(higher, better)]
    direction = "higher" if higher else "lower"
    digits = 4 if f"{value:.4f}" != f"{best:.4f}" else 10  # values that differ show a difference
    reason = (f"{metric} {value:.{digits}f} {sign} champion v{champ.version} {best:.{digits}f} ({direction} is "
              f"better; {how}{switched})")
    won = gain - min_improvement > _TIE  # a gain equal to min_improvement is not more than it
    if better and not won:
        shown = 4 if f"{gain:.4f}" != f"{min_improvement:.4f}" else 10
        reason += (f"; better by {gain:.{shown}f}, not more than tracking.min_improvement "
                   f"{min_improvement:.{shown}f}: v{champ.version} stays champion")
    elif won and held:
        won = False
        reason += f"; not made champion: {held}"
    if won:
        _set_champion(client, name, version, champ, recheck)
    return Promotion(version, won, reason)


def _another_question(theirs: str, window: str, them: str = "it", us: str = "this version") -> tuple[str, str] | None:
    """Why a version of test window key ``window`` (called ``us``) answers another question than the champion
    (key ``theirs``, called ``them``), and what to give its own registered model name: another data source,
    regime or label window; None when it answers the same one."""
    sources = _source(theirs), _source(window)
    if None not in sources and sources[0] != sources[1]:
        return (f"{them} was trained on data.source={sources[0]} and {us} on {sources[1]}, another business's "
                "customers"), "data set"
    regimes = _regime(theirs), _regime(window)
    if None not in regimes and regimes[0] != regimes[1]:
        return f"{them} predicts {regimes[0]} churn and {us} {regimes[1]} churn", "regime"
    if _other_question(theirs, window):
        return (f"{them} predicts churn {_label_window(theirs)} and {us} churn {_label_window(window)}, another "
                "question, so neither is scored on the other's labels"), "horizon, lead time and grace"
    return None


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


def _alias(client: Any, name: str, alias: str) -> Any:
    """The model version with ``alias``, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
