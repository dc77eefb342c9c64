"""The training table: spine -> labels + features -> time-ordered splits.

Splits are by cutoff, never by random rows:

* **test**: the newest cutoff whose label window (``horizon_days``) has
  matured, or ``time.test_cutoff``;
* **calibration**: one earlier cutoff, used for early stopping and for
  calibrating probabilities, for the ``time.calibration_share`` of the
  customers held out of training (:func:`calibration_customers`);
* **train**: rolling cutoffs before that, every ``step_days``, the newest
  at most ``time.last_cutoff`` (the ``max_train_cutoffs`` newest of them),
  for the other customers.

The calibration cutoff is one step after the newest training cutoff, so a
customer's label windows at the two overlap (by ``horizon - step`` days):
were the same customers in both, early stopping and the calibrator would
judge the model on outcomes it was trained on, and stop late (on CDNOW
it never stopped). Holding the calibration customers out of training keeps
the split honest without moving the cutoffs back by a whole horizon.

With ``embargo`` (the default) every training and calibration label window
ends at or before the test cutoff: the model learns only from outcomes that
were known at the test cutoff, as it would in production. Training cutoffs
are strictly earlier than the calibration cutoff (by at least one step).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from churnml.btyd import BGNBD
from churnml.config import Config, TimeConfig
from churnml.engine import as_tables, in_memory
from churnml.errors import ConfigError, DataWindowError, ModelError, SchemaError
from churnml.features import FeaturePlan, compute_features, plan_features
from churnml.labels import make_labels
from churnml.windows import (
    DAY,
    DataSpan,
    daily_counts,
    history_mask,
    late_rows_text,
    latest_matured_cutoff,
    matured_cutoffs,
    quiet_end_text,
    rolling_cutoffs,
    stray_tail_text,
    to_cutoff,
    year_before,
)

__all__ = [
    "SplitCutoffs",
    "TrainingData",
    "build_training_data",
    "calibration_customers",
    "calibration_threshold",
    "check_matured",
    "check_regime_tables",
    "check_trainable",
    "horizon_move_problem",
    "longest_trainable_horizon",
    "split_cutoffs",
    "training_horizon",
]

log = logging.getLogger(__name__)

#: Put before a customer id in the hash that picks the calibration customers (:func:`calibration_customers`).
CALIBRATION_SALT = "churnml-calibration:"

ID_COLS = ("customer_id", "cutoff")
TARGET = "churned"
WEIGHT = "sample_weight"  # rows of the full table a sampled row stands for (1 / P(kept))
UNIFORM = "sample_uniform"  # the row is in the uniform customer sample (as opposed to kept for its class)


@dataclass(frozen=True)
class SplitCutoffs:
    """Cutoffs of each split and the horizons their labels use (days)."""

    train: tuple[pd.Timestamp, ...]
    calibration: pd.Timestamp
    test: pd.Timestamp
    train_horizon_days: int
    test_horizon_days: int

    def as_params(self) -> dict[str, str]:
        return {
            "cutoffs_train": ",".join(str(c.date()) for c in self.train),
            "cutoff_calibration": str(self.calibration.date()),
            "cutoff_test": str(self.test.date()),
            "train_horizon_days": str(self.train_horizon_days),
            "horizon_days": str(self.test_horizon_days),
        }


def check_regime_tables(tables: object, time: TimeConfig) -> None:
    """Raise :class:`~churnml.errors.SchemaError` when the table the regime labels from is missing.

    The contractual regime labels churn from ``subscriptions`` (pandas: also
    refused when it has no rows); the non-contractual one from
    ``transactions``, which every source has. Call it before choosing cutoffs,
    so that a missing table is named before any message about dates.
    """
    if time.regime != "contractual":
        return
    subs = getattr(tables, "subscriptions", None)
    if subs is None or (isinstance(subs, pd.DataFrame) and subs.empty):
        found = "none was loaded" if subs is None else "the one loaded has no rows"
        raise SchemaError(
            f"time.regime=contractual labels churn from a subscriptions table (customer_id, start, end), "
            f"but {found}. Provide it with data.source: files and data.tables.subscriptions.path (map its "
            "columns under data.tables.subscriptions.columns), use data.source: synthetic, or set "
            "time.regime=noncontractual",
            table="subscriptions",
        )


def check_matured(span: DataSpan, cutoffs: Sequence[pd.Timestamp], time: TimeConfig,
                  what: str = "the cutoff", where: str = "the cutoffs") -> pd.Timestamp:
    """Raise :class:`~churnml.errors.DataWindowError` unless every cutoff's label window has matured.

    A cutoff is matured when it is on or before
    :func:`churnml.windows.latest_matured_cutoff` for ``horizon_days`` (plus
    ``grace_days`` in the contractual regime) and ``lead_time_days``.

    Parameters
    ----------
    span : DataSpan
        The data's first moment and exclusive end.
    cutoffs : sequence of Timestamp
        The cutoffs to label.
    time : TimeConfig
        Horizon, lead time, grace and regime.
    what : str
        How the message names the cutoffs (``"the test cutoff"``).
    where : str
        The setting to change (``"time.test_cutoff"``, ``"--cutoffs"``).

    Returns
    -------
    Timestamp
        The latest matured cutoff.
    """
    H, lead = time.horizon_days, time.lead_time_days
    grace = time.grace_days if time.regime == "contractual" else 0
    latest = latest_matured_cutoff(span, H + grace, lead)
    late = [c for c in cutoffs if c > latest]
    if late:
        days = ", ".join(str(c.date()) for c in late)
        what, verb = (f"{what}s", "have") if len(late) > 1 else (what, "has")
        raise DataWindowError(
            f"{what} {days} {verb} no matured label window: the data ends {(span.end - DAY).date()}, and a "
            f"{H}-day horizon (+{lead} lead, +{grace} grace) needs a cutoff on or before {latest.date()}, "
            f"the latest matured one. Move {where} on or before {latest.date()}{_shorter(span, max(late), time)}."
        )
    return latest


def _shorter(span: DataSpan, cutoff: pd.Timestamp, time: TimeConfig) -> str:
    """The advice to shorten the horizon so that ``cutoff`` matures, when a horizon of a day or more can."""
    grace = time.grace_days if time.regime == "contractual" else 0
    longest = int((span.end - cutoff) / DAY) - time.lead_time_days - grace
    return f", or set time.horizon_days to at most {longest} days" if longest >= 1 else ""


def _training_longest(span: DataSpan, t: TimeConfig) -> str:
    """What the longest horizon that training fits is, for an error message: its first sentence, since the
    longest horizon of one cutoff alone is longer and would not train."""
    longest = longest_trainable_horizon(span, t)
    if longest is None:
        return ("Training, which needs a training and a calibration cutoff before the test cutoff, fits no horizon "
                "on this data with these settings.")
    return (f"Training, which needs a training and a calibration cutoff before the test cutoff, fits "
            f"time.horizon_days up to {longest} days: set time.horizon_days to at most {longest} days.")


def _history_fixes(span: DataSpan, t: TimeConfig, test: pd.Timestamp, latest: pd.Timestamp,
                   last_train: pd.Timestamp, earliest: pd.Timestamp, h: int) -> list[str]:
    """Settings that each make the last training cutoff reach the earliest usable one (none may fit)."""
    short = int((earliest - last_train) / DAY)  # days the last training cutoff is too early
    fixes = []
    if t.embargo and h - short >= 1 and t.regime == "noncontractual":  # calibration at test - (lead + h + grace)
        fixes.append(f"set time.train_horizon_days to at most {h - short} days")
    if t.test_cutoff is not None and test + short * DAY <= latest.normalize():
        fixes.append(f"set time.test_cutoff between {(test + short * DAY).date()} and "
                     f"{latest.normalize().date()} (null picks {latest.normalize().date()})")
    most_history = int((last_train - span.first.normalize()) / DAY)  # >= 1: one day of history at least
    if most_history < 1:
        return fixes
    parts = []
    if t.first_cutoff is not None and to_cutoff(t.first_cutoff) > last_train:
        parts.append(f"time.first_cutoff on or before {last_train.date()} (or null)")
    if max(t.min_history_days, 1) > most_history:
        parts.append(f"time.min_history_days to at most {most_history}")
    if parts:
        fixes.append("set " + " and ".join(parts))
    return fixes


@dataclass(frozen=True)
class _Dates:
    """The dates :func:`split_cutoffs` derives for one horizon (before any check)."""

    latest: pd.Timestamp  # the newest matured cutoff for the asked horizon
    test: pd.Timestamp
    calibration: pd.Timestamp
    last_train: pd.Timestamp  # the newest training cutoff (one step before calibration)
    earliest: pd.Timestamp  # the earliest usable cutoff (minimum history, time.first_cutoff)
    h: int  # the training horizon


def training_horizon(t: TimeConfig, horizon_days: int) -> int:
    """The label horizon of the training and calibration cutoffs: ``time.train_horizon_days`` when shorter.

    Only in the non-contractual regime: moving probabilities to the asked
    horizon (:mod:`churnml.horizon`) takes its base rate from BG/NBD, a model
    of purchases, which says nothing about when subscriptions end; a
    contractual model is trained on the asked horizon.
    """
    if t.regime == "contractual" or t.train_horizon_days is None:
        return horizon_days
    return min(t.train_horizon_days, horizon_days)


def horizon_move_problem(t: TimeConfig, families: Sequence[str]) -> str | None:
    """Why training cannot move its probabilities to the asked horizon, or None when it can (or need not).

    A training horizon shorter than the asked one (:func:`training_horizon`)
    moves the probabilities with BG/NBD's base rate, which needs the ``rfm``
    and ``btyd`` feature families.
    """
    h, H = training_horizon(t, t.horizon_days), t.horizon_days
    if h == H or {"btyd", "rfm"} <= set(families):
        return None
    return (f"time.train_horizon_days={h} is shorter than time.horizon_days={H}: the probabilities are moved to "
            "the asked horizon with BG/NBD's base rate, which needs the 'rfm' and 'btyd' feature families; add "
            "them to features.families, or set time.train_horizon_days to null (or at least "
            f"{H}) to train on the asked horizon")


def _dates(span: DataSpan, t: TimeConfig, horizon_days: int) -> _Dates:
    """The split rule: test at the newest matured cutoff (or ``time.test_cutoff``), calibration one embargo
    (or one step) before it, the newest training cutoff one step before that."""
    H = horizon_days
    h = training_horizon(t, H)
    grace = t.grace_days if t.regime == "contractual" else 0
    latest = latest_matured_cutoff(span, H + grace, t.lead_time_days)
    test = to_cutoff(t.test_cutoff) if t.test_cutoff else latest.normalize()
    gap = (t.lead_time_days + h + grace) if t.embargo else t.step_days
    calibration = test - gap * DAY
    earliest = span.first.normalize() + max(t.min_history_days, 1) * DAY
    if t.first_cutoff is not None:
        earliest = max(earliest, to_cutoff(t.first_cutoff))
    return _Dates(latest, test, calibration, calibration - t.step_days * DAY, earliest, h)


def _trainable(span: DataSpan, t: TimeConfig, horizon_days: int) -> bool:
    """Whether :func:`split_cutoffs` finds a test, a calibration and a training cutoff for this horizon."""
    d = _dates(span, t, horizon_days)
    return bool(d.test <= d.latest and d.last_train >= d.earliest)


def longest_trainable_horizon(span: DataSpan, t: TimeConfig) -> int | None:
    """The longest ``time.horizon_days`` that training can use on this span with the other settings of ``t``.

    Training needs a test cutoff, a calibration cutoff and at least one
    training cutoff, each with a matured label window, so it fits a shorter
    horizon than one cutoff alone. None when no horizon fits. A longer
    horizon only moves the cutoffs earlier, so a binary search finds it.
    """
    lo, hi = 0, max(int((span.end - span.first) / DAY), 0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _trainable(span, t, mid):
            lo = mid
        else:
            hi = mid - 1
    return lo or None


def _capped_last_train(last: pd.Timestamp, earliest: pd.Timestamp, last_train: pd.Timestamp,
                       calibration: pd.Timestamp) -> pd.Timestamp:
    """The newest training cutoff under ``time.last_cutoff``: ``min(last_cutoff, last_train)``.

    Raises :class:`~churnml.errors.ConfigError` when ``last_cutoff`` is before the earliest usable cutoff.
    """
    if last < earliest:
        raise ConfigError(
            f"time.last_cutoff={last.date()} leaves no training cutoff: the earliest usable cutoff is "
            f"{earliest.date()} (time.min_history_days, time.first_cutoff) and the newest one that keeps its "
            f"label window before the calibration cutoff {calibration.date()} is {last_train.date()}; set "
            f"time.last_cutoff between {earliest.date()} and {last_train.date()}, or null"
        )
    if last > last_train:
        log.info("time.last_cutoff=%s is after the newest possible training cutoff %s; training ends there",
                 last.date(), last_train.date())
        return last_train
    return last


def split_cutoffs(span: DataSpan, cfg: Config) -> SplitCutoffs:
    """Choose the test, calibration and training cutoffs from the data span.

    The newest training cutoff is one step before the calibration cutoff,
    or ``time.last_cutoff`` when that is earlier (the training cutoffs are
    then anchored on it: ``last_cutoff``, ``last_cutoff - step``, ...).

    Raises
    ------
    DataWindowError
        When the asked horizon has no matured test window, or no training
        cutoff fits before the calibration cutoff; the message gives the dates
        and settings that would fit.
    ConfigError
        When ``time.last_cutoff`` is before the earliest usable cutoff; the
        message gives the range that fits.
    """
    t = cfg.time
    H = t.horizon_days
    grace = t.grace_days if t.regime == "contractual" else 0
    try:  # the history check below names the minimum history when that alone is the problem
        matured_cutoffs(span, H, t.step_days, t.lead_time_days, grace_days=grace)
        d = _dates(span, t, H)
        check_matured(span, [d.test], t, what="the test cutoff", where="time.test_cutoff")
    except DataWindowError as exc:  # advice for one cutoff: add what training, which needs three, fits
        raise DataWindowError(f"{_training_longest(span, t)} For one cutoff alone (python -m churnml.features "
                              f"--labels): {exc}") from None
    latest, test, calibration, last_train, earliest, h = (d.latest, d.test, d.calibration, d.last_train,
                                                          d.earliest, d.h)
    if last_train < earliest:
        fixes = _history_fixes(span, t, test, latest, last_train, earliest, h)
        longest = longest_trainable_horizon(span, t)
        if longest is not None and longest < H:
            fixes.insert(0, f"set time.horizon_days to at most {longest} days")
        raise DataWindowError(
            f"not enough history to train a {h}-day horizon before the test cutoff {test.date()}: "
            f"the data starts {span.first.date()}; the calibration cutoff is "
            f"{calibration.date()} and the last training cutoff would be {last_train.date()}, before the "
            f"earliest usable cutoff {earliest.date()}. To fit, "
            + "".join(f"{fix}, or " for fix in fixes) + "give more (earlier) data."
        )
    if t.last_cutoff is not None:
        last_train = _capped_last_train(to_cutoff(t.last_cutoff), earliest, last_train, calibration)
    train = tuple(rolling_cutoffs(earliest, last_train, t.step_days))
    if t.max_train_cutoffs is not None and len(train) > t.max_train_cutoffs:
        log.info("training on the %d newest of %d training cutoffs (time.max_train_cutoffs); from %s",
                 t.max_train_cutoffs, len(train), train[-t.max_train_cutoffs].date())
        train = train[-t.max_train_cutoffs:]
    return SplitCutoffs(train, calibration, test, h, H)


@dataclass
class TrainingData:
    """The training table with its splits and everything needed to redo it.

    ``table`` has ``customer_id``, ``cutoff``, the features, ``churned`` and
    ``split`` (train / calibration / test); one row per customer and cutoff.
    """

    table: pd.DataFrame
    plan: FeaturePlan
    splits: SplitCutoffs
    span: DataSpan
    feature_names: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    #: The BG/NBD the ``btyd`` family fitted at each cutoff on its whole population (before the calibration
    #: cutoff kept only the calibration customers); empty without the family.
    bgnbd: dict[pd.Timestamp, BGNBD] = field(default_factory=dict)

    def part(self, split: str) -> pd.DataFrame:
        return self.table[self.table["split"] == split]

    def counts(self) -> dict[str, int]:
        return {s: int((self.table["split"] == s).sum()) for s in ("train", "calibration", "test")}

    def fit_weights(self, split: str = "train") -> np.ndarray | None:
        """The ``sample_weight`` of a split's rows scaled to mean 1, or None when they are all equal.

        A table sampled by class (``churnml.spark.training``) keeps every row of
        the rarer class and a share of the commoner one; weighing the kept rows
        by 1 / P(kept) makes a fit on them estimate the full table's
        probabilities. Equal weights (no sample, or a uniform one) change
        nothing, so None is returned and fits stay unweighted.
        """
        if WEIGHT not in self.table.columns:
            return None
        w = self.part(split)[WEIGHT].to_numpy(dtype="float64")
        if len(w) == 0 or np.all(w == w[0]):
            return None
        return w / w.mean()

    def representative(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows of a uniform customer sample among ``rows`` (all of them unless sampled by class).

        Metrics such as the churn rate, precision or calibration hold for the
        full table only on these rows.
        """
        if UNIFORM not in rows.columns:
            return rows
        return rows[rows[UNIFORM].to_numpy(dtype=bool)]


def calibration_customers(ids: pd.Series, share: float) -> np.ndarray:
    """Whether each id belongs to the calibration customers: a fixed hash of the id, below ``share``.

    A customer is a calibration customer when the first 4 bytes of
    ``md5(CALIBRATION_SALT + id)`` (UTF-8), read as a big-endian unsigned
    integer, are below ``round(share * 2**32)``: the same customers in every
    run, on every engine (``churnml.spark.training`` computes it in Spark), at
    every cutoff, whatever their label or features.
    """
    codes, uniques = pd.factorize(ids)
    first = np.fromiter(
        (int.from_bytes(hashlib.md5(f"{CALIBRATION_SALT}{u}".encode()).digest()[:4], "big") for u in uniques),
        dtype=np.uint64, count=len(uniques))
    return (first < calibration_threshold(share))[codes]


def calibration_threshold(share: float) -> int:
    """The hash value below which a customer is a calibration customer (:func:`calibration_customers`)."""
    return round(share * 2**32)


def build_training_data(tables: object, cfg: Config) -> TrainingData:
    """Labels and features at every training, calibration and test cutoff.

    Features are computed once over all cutoffs (one pass); labels use the
    training horizon on train/calibration cutoffs and the asked horizon on
    the test cutoff.

    Parameters
    ----------
    tables : Tables or dict of str to DataFrame
        The canonical tables; the transactions as a pandas frame, the others
        may be :class:`~churnml.engine.ParquetSource`.
    cfg : Config
        The time model (splits, horizons), the features and ``data.end``.
    """
    tables = as_tables(tables)
    tx = getattr(tables, "transactions", None)
    if tx is None or len(tx) == 0:
        raise ModelError("training needs a non-empty transactions table")
    tx = in_memory(tx, "transactions", "training needs")
    check_regime_tables(tables, cfg.time)
    span = DataSpan.from_times(tx["timestamp"], cfg.data.end)
    recent = tx["timestamp"][~history_mask(tx["timestamp"], year_before(tx["timestamp"].max()))]
    if cfg.time.regime == "noncontractual" and (text := quiet_end_text(recent, span)):
        log.warning("%s", text)
    if cfg.data.end is None and (text := stray_tail_text(daily_counts(tx["timestamp"]), lambda day: _dated(tx, day))):
        raise DataWindowError(text)
    splits = split_cutoffs(span, cfg)
    fit_cuts = [*splits.train, splits.calibration]
    log.info(
        "cutoffs: train %s .. %s (%d), calibration %s, test %s",
        splits.train[0].date(), splits.train[-1].date(), len(splits.train),
        splits.calibration.date(), splits.test.date(),
    )
    labels = pd.concat(
        [
            make_labels(tables, fit_cuts, cfg.time, horizon_days=splits.train_horizon_days, data_end=span.end),
            make_labels(tables, [splits.test], cfg.time, horizon_days=splits.test_horizon_days, data_end=span.end),
        ],
        ignore_index=True,
    )
    plan = plan_features(tables, [*fit_cuts, splits.test], cfg.features, horizon_days=splits.test_horizon_days)
    bgnbd: dict[pd.Timestamp, BGNBD] = {}
    feats = compute_features(tables, labels[list(ID_COLS)], plan, btyd_models=bgnbd)
    table = feats.merge(labels, on=list(ID_COLS), how="left", validate="one_to_one")
    # after the features: the btyd family is fitted on each cutoff's whole population
    table = table[_fit_rows(table, splits, cfg.time.calibration_share)].reset_index(drop=True)
    split = pd.Series("train", index=table.index, dtype="str")
    split[table["cutoff"] == splits.calibration] = "calibration"
    split[table["cutoff"] == splits.test] = "test"
    table["split"] = split
    features = [c for c in feats.columns if c not in ID_COLS]
    cats = [c for c in features if isinstance(table[c].dtype, pd.CategoricalDtype)]
    data = TrainingData(table, plan, splits, span, features, cats, bgnbd)
    check_trainable(data, cfg)
    return data


def _dated(tx: pd.DataFrame, day: pd.Timestamp) -> str:
    """Up to three transactions dated ``day`` or later, as an error names rows: customer and time."""
    late = tx[~history_mask(tx["timestamp"], day)].sort_values("timestamp").head(3)
    return late_rows_text(zip(late["customer_id"], late["timestamp"], strict=True))


def _fit_rows(table: pd.DataFrame, splits: SplitCutoffs, share: float) -> np.ndarray:
    """Rows to keep: the test cutoff's, the calibration customers' at the calibration cutoff, the others' before."""
    held = calibration_customers(table["customer_id"], share)
    at_test = (table["cutoff"] == splits.test).to_numpy()
    at_cal = (table["cutoff"] == splits.calibration).to_numpy()
    log_holdout(int((at_cal & held).sum()), int(at_cal.sum()), int((~at_test & ~at_cal & held).sum()), share)
    return at_test | (at_cal == held)


def log_holdout(cal_kept: int, cal_all: int, train_dropped: int, share: float) -> None:
    """Say how many rows the calibration customers take from each split (both engines)."""
    log.info("calibration split: %s of the %s customers at the calibration cutoff (time.calibration_share=%g); "
             "their %s rows at the training cutoffs are left out of training", f"{cal_kept:,}", f"{cal_all:,}",
             share, f"{train_dropped:,}")


def check_trainable(data: TrainingData, cfg: Config) -> None:
    """Raise :class:`~churnml.errors.ModelError` unless every split has ``model.min_rows`` rows and two classes."""
    share = cfg.time.calibration_share
    for name in ("train", "calibration", "test"):
        part = data.part(name)
        held = (f" (the time.calibration_share={share:g} of the customers at the calibration cutoff)"
                if name == "calibration" else "")
        if len(part) < cfg.model.min_rows:
            raise ModelError(
                f"the {name} split has {len(part)} customer-cutoff rows{held}, fewer than model.min_rows="
                f"{cfg.model.min_rows}; give more customers or lower model.min_rows"
                + (", or raise time.calibration_share" if held else "")
            )
        classes = sorted(part[TARGET].unique().tolist())
        if len(classes) < 2:
            raise ModelError(
                f"the {name} split has only one label class ({classes}): every customer "
                f"{'churned' if classes == [1] else 'stayed'}; a churn model needs both. Check the horizon "
                f"({cfg.time.horizon_days} days) and the population rule" + (", or raise time.calibration_share"
                                                                              if held else "")
            )
