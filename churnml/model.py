"""The churn model: LightGBM, early-stopped and calibrated on a later cutoff.

This is lightgbm's one home module. A fitted :class:`ChurnModel` saves to a
folder (``model.txt``: the booster; ``meta.json``: feature names, category
levels, calibrator, horizon power and the feature plan) with no pickle, so a
model can be read back by any churnml version that knows the format.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from churnml.errors import ModelError
from churnml.horizon import horizon_power, to_horizon

__all__ = ["DEFAULT_PARAMS", "ChurnModel", "check_weights", "decided_params", "lightgbm_param_problems", "main_names",
           "model_input"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: horizon_power replaces the log-odds shift of 1
EPS = 1e-6

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.02,
    "num_leaves": 7,
    "max_depth": 6,
    "min_data_in_leaf": 400,
    "extra_trees": True,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbosity": -1,
    "deterministic": True,
    "force_row_wise": True,
}

ROWS_PER_THREAD = 250_000


def _lightgbm_aliases() -> dict[str, list[str]]:
    """LightGBM's main parameter names -> their names and aliases (empty when this LightGBM does not list them)."""
    listed = getattr(getattr(lgb.basic, "_ConfigAliases", None), "_get_all_param_aliases", None)
    if listed is None:
        return {}
    try:
        return {str(main): [str(n) for n in names] for main, names in listed().items()}
    except Exception:  # a private helper of LightGBM: without it, only the values are checked
        return {}


def _lightgbm_names() -> set[str]:
    """Every LightGBM parameter name and alias (empty when this LightGBM does not list them)."""
    aliases = _lightgbm_aliases()
    return set(aliases) | {name for names in aliases.values() for name in names}


def _main_of() -> dict[str, str]:
    """Each LightGBM name and alias -> its main name."""
    return {name: main for main, names in _lightgbm_aliases().items() for name in names}


def main_names(params: dict[str, Any] | None) -> dict[str, Any]:
    """``params`` with each LightGBM alias written as its main name (``eta`` -> ``learning_rate``).

    :data:`DEFAULT_PARAMS` use the main names; LightGBM, given a main name and an alias, keeps the main
    name's value, so an alias in ``model.params`` would lose silently to churnml's default (and be logged
    as if used). Names LightGBM does not list stay as they are.
    """
    main_of = _main_of()
    return {main_of.get(k, k): v for k, v in (params or {}).items()}


def _alias_clashes(params: dict[str, Any]) -> list[str]:
    """Groups of keys of ``params`` that name one LightGBM parameter (``eta`` and ``learning_rate``)."""
    by_main: dict[str, list[str]] = {}
    main_of = _main_of()
    for k in params:
        by_main.setdefault(main_of.get(k, k), []).append(k)
    return [" and ".join(repr(k) for k in keys) + f" both name LightGBM's {main!r}"
            for main, keys in by_main.items() if len(keys) > 1]


#: LightGBM parameters (with their aliases) that churnml sets from its own config keys: given in model.params
#: they were overridden (the seed) or clashed with them (LightGBM's num_iterations wins over num_boost_round).
_DECIDED = (
    (("seed", "random_seed", "random_state"), "the top-level seed: --set seed=1", "ChurnModel's random_state"),
    (("num_iterations", "num_iteration", "n_iter", "num_tree", "num_trees", "num_round", "num_rounds", "nrounds",
      "num_boost_round", "n_estimators", "max_iter"), "model.num_boost_round", "ChurnModel's num_boost_round"),
    (("early_stopping_round", "early_stopping_rounds", "early_stopping", "n_iter_no_change"),
     "model.early_stopping_rounds", "ChurnModel's early_stopping_rounds"),
)


def decided_params(params: dict[str, Any] | None, *, api: bool = False) -> str | None:
    """The problem with LightGBM parameters in ``params`` that churnml sets from its own keys (the config's,
    or :class:`ChurnModel`'s arguments when ``api``), or None."""
    decided = [f"{k!r} (use {arg if api else key})" for k in params or {} for names, key, arg in _DECIDED if k in names]
    one = len(decided) == 1
    return (f"{', '.join(decided)}: churnml sets {'it' if one else 'these'} itself, so given here "
            f"{'it' if one else 'they'} would be overridden or clash") if decided else None


#: Parts of the names of LightGBM settings given per feature or column, or naming files and columns.
_PER_FEATURE = ("column", "file", "model", "constraint", "contri", "cegb_penalty_feature", "_by_feature",
                "categorical", "cat_feature")


def lightgbm_param_problems(params: dict[str, Any]) -> list[str]:
    """What LightGBM would refuse in ``model.params``: names it does not know (with the nearest one) and values.

    Checked before any data is read or any MLflow run is started; LightGBM
    checks the values when a booster is made, here on two rows (well under a
    millisecond). Empty when LightGBM takes them.
    """
    if not params:
        return []
    decided = decided_params(params)
    if decided:
        return [decided]
    names = _lightgbm_names()
    unknown = [k for k in params if names and k not in names]
    if unknown:
        near = {k: difflib.get_close_matches(k, sorted(names), n=1) for k in unknown}
        return ["LightGBM has no parameter " + ", ".join(
            f"{k!r}" + (f" (did you mean {m[0]!r}?)" if m else "") for k, m in near.items())]
    clashes = _alias_clashes(params)
    if clashes:
        return [f"{'; '.join(clashes)}: give one"]
    params = main_names(params)
    # Values are probed on a two-row booster; settings given per feature or column (lists, names) are
    # left to training, since the probe has one feature and no named columns.
    scalars = {k: v for k, v in params.items() if isinstance(v, bool | int | float | str)
               and not any(w in k for w in _PER_FEATURE)}
    quiet = {"verbosity": -1}
    try:
        lgb.Booster(params={**DEFAULT_PARAMS, **scalars, **quiet},
                    train_set=lgb.Dataset(np.array([[0.0], [1.0]]), label=[0, 1], params=quiet))
    except lgb.basic.LightGBMError as exc:
        return [f"LightGBM refuses them: {str(exc).split(' at /')[0].strip()}"]
    return []


def model_input(X: pd.DataFrame) -> pd.DataFrame:
    """Feature rows in the served model's input types.

    Numbers become float64 (NaN = missing) and categories become strings
    (None = missing): the logged model's signature, which any client
    (MLflow serving, Spark) can produce without pandas categories.
    """
    out = {}
    for col in X.columns:
        s = X[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s) or s.dtype == object:
            out[col] = s.astype("object").where(s.notna(), None)
        else:
            out[col] = s.astype("float64")
    return pd.DataFrame(out, index=X.index)


def check_weights(weight: np.ndarray | pd.Series, n: int, what: str) -> np.ndarray:
    """``weight`` as float64 after checking it: one finite, positive value per row.

    Raises
    ------
    ModelError
        Naming the first bad positions.
    """
    w = np.asarray(weight, dtype="float64")
    if w.shape != (n,):
        raise ModelError(f"{what} needs one weight per row: {n} rows, got shape {w.shape}")
    bad = np.flatnonzero(~np.isfinite(w) | (w <= 0))
    if len(bad):
        raise ModelError(f"{what}: {len(bad)} weights are not finite and positive, e.g. {w[bad[:5]].tolist()} at "
                         f"positions {bad[:5].tolist()}; a row's weight is 1 / the probability it was sampled")
    return w


def _stripped(levels: list[Any]) -> list[Any]:
    """A saved model's category levels as text is read now, stripped (a model trained before churnml
    stripped text kept ``' Pro'``); kept as they are if stripping would make two levels one."""
    out = [v.strip() if isinstance(v, str) else v for v in levels]
    return out if len(set(out)) == len(out) else levels


class ChurnModel:
    """LightGBM churn classifier with probability calibration.

    Parameters
    ----------
    params : dict, optional
        LightGBM parameters on top of :data:`DEFAULT_PARAMS`.
    num_boost_round : int
        Maximum number of trees.
    early_stopping_rounds : int
        Stop when the calibration cutoff's log-loss has not improved for this
        many rounds.
    calibration : {"sigmoid", "isotonic", "none"}
        Calibrator fitted on the calibration cutoff's raw scores.
    random_state : int
        Seed of LightGBM's sampling.

    Attributes
    ----------
    booster_ : lightgbm.Booster
    feature_names_ : list of str
    categories_ : dict of str to list
        Category levels seen in training, restored at prediction time.
    calibrator_ : dict
        ``{"kind": ..., ...}`` parameters of the calibrator.
    horizon_power_ : float
        Exponent moving probabilities to the asked horizon (1 when training
        used it); see :func:`horizon_power`.
    best_iteration_ : int
    """

    extra_: dict[str, Any]

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        num_boost_round: int = 1000,
        early_stopping_rounds: int = 50,
        calibration: str = "sigmoid",
        random_state: int = 42,
    ) -> None:
        self.params = params
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: np.ndarray, *, X_cal: pd.DataFrame, y_cal: np.ndarray,
            sample_weight: np.ndarray | None = None) -> ChurnModel:
        """Fit on ``X, y``; early-stop and calibrate on ``X_cal, y_cal``.

        ``sample_weight`` weighs the rows of ``X`` in the trees' loss (e.g. 1 /
        the probability a row was kept by a class-stratified sample), so the
        raw scores estimate the full table's log-odds. The calibration rows are
        not weighted: they must be a representative (e.g. uniform) sample.
        """
        if self.calibration not in ("isotonic", "sigmoid", "none"):
            raise ModelError(f"calibration must be isotonic, sigmoid or none, got {self.calibration!r}")
        if (decided := decided_params(self.params, api=True)) is not None:
            raise ModelError(f"params: {decided}")
        if clashes := _alias_clashes(self.params or {}):
            raise ModelError(f"params: {'; '.join(clashes)}: give one")
        weight = None if sample_weight is None else check_weights(sample_weight, len(X), "sample_weight")
        self.feature_names_ = list(X.columns)
        self.categories_ = {
            c: [str(v) for v in X[c].cat.categories]
            for c in X.columns
            if isinstance(X[c].dtype, pd.CategoricalDtype)
        }
        # One thread per 250k rows: on small tables a second OpenMP thread on a
        # busy 2-core machine makes LightGBM ~10x slower, not faster.
        threads = int(min(os.cpu_count() or 1, max(1, len(X) // ROWS_PER_THREAD)))
        # aliases as main names: LightGBM keeps a main name's value (the default's) over an alias
        params = {"num_threads": threads, **DEFAULT_PARAMS, **main_names(self.params), "seed": self.random_state}
        train = lgb.Dataset(self._prepare(X), label=np.asarray(y), weight=weight, free_raw_data=True)
        valid = lgb.Dataset(self._prepare(X_cal), label=np.asarray(y_cal), reference=train)
        self.booster_ = lgb.train(
            params,
            train,
            num_boost_round=self.num_boost_round,
            valid_sets=[valid],
            valid_names=["calibration"],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        self.calibrator_ = self._fit_calibrator(self.predict_raw(X_cal), np.asarray(y_cal))
        self.horizon_power_ = 1.0
        log.info("LightGBM stopped at %d trees; calibration %s", self.best_iteration_, self.calibration)
        return self

    def _fit_calibrator(self, raw: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        if self.calibration == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=EPS, y_max=1 - EPS).fit(raw, y)
            return {"kind": "isotonic", "x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
        if self.calibration == "sigmoid":
            lr = LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), y)
            return {"kind": "sigmoid", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
        return {"kind": "none"}

    def set_horizon_power(self, X: pd.DataFrame, target_base_rate: float) -> float:
        """Move probabilities to the asked horizon: their mean on ``X`` becomes ``target_base_rate``."""
        self.horizon_power_ = 1.0
        self.horizon_power_ = horizon_power(self.predict_proba(X), target_base_rate)
        return self.horizon_power_

    # -- prediction ------------------------------------------------------------
    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """Columns in training order, categories restored to training levels."""
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise ModelError(
                f"input lacks {len(missing)} feature column(s) the model was trained on: {missing[:10]}; "
                "compute features with the model's feature plan"
            )
        out = X[self.feature_names_].copy()
        for col, levels in self.categories_.items():
            # a level not seen in training (and a missing value) is missing to LightGBM
            values = out[col].astype("object")
            known = values.notna() & values.isin(levels)
            out[col] = pd.Categorical(values.where(known, None), categories=levels)
        return out

    def unseen_levels(self, X: pd.DataFrame) -> dict[str, pd.Series]:
        """Per categorical feature of ``X``, the values that are levels the model never saw in training.

        Returns ``{column: values}`` for the columns with such a value: an object Series indexed like
        ``X``, the unseen value where there is one and missing elsewhere. LightGBM scores those values
        as missing (a plan added since training reads as no plan).
        """
        out = {}
        for col, levels in self.categories_.items():
            if col not in X.columns:
                continue
            known = set(levels)
            values = X[col]
            found = values.cat.categories if isinstance(values.dtype, pd.CategoricalDtype) else values.dropna().unique()
            if all(v in known for v in found):  # the usual case, decided on the distinct values only
                continue
            values = values.astype("object")
            unseen = values.notna() & ~values.isin(levels)
            if unseen.any():
                out[col] = values.where(unseen)
        return out

    def predict_raw(self, X: pd.DataFrame) -> np.ndarray:
        """Raw LightGBM score (log-odds) of the best iteration."""
        self._check_fitted()
        X = self._prepare(X)  # checks the columns, also of an empty frame
        if len(X) == 0:  # LightGBM refuses an empty frame
            return np.empty(0, dtype="float64")
        raw = self.booster_.predict(X, raw_score=True, num_iteration=self.best_iteration_)
        return np.asarray(raw, dtype="float64")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability for the asked horizon, shape (n,)."""
        raw = self.predict_raw(X)
        cal = self.calibrator_
        if cal["kind"] == "isotonic":
            p = np.interp(raw, np.asarray(cal["x"]), np.asarray(cal["y"]))
        elif cal["kind"] == "sigmoid":
            p = expit(cal["a"] * raw + cal["b"])
        else:
            p = expit(raw)
        p = to_horizon(p, self.horizon_power_)
        return np.clip(p, 0.0, 1.0)

    def prepared(self, X: pd.DataFrame) -> pd.DataFrame:
        """The frame exactly as the booster sees it (for SHAP contributions)."""
        self._check_fitted()
        return self._prepare(X)

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise ModelError("this ChurnModel is not fitted; call fit() or ChurnModel.load()")

    # -- persistence -------------------------------------------------------------
    def save(self, folder: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``model.txt`` and ``meta.json`` into ``folder``.

        ``extra``: JSON-able facts kept with the model and read back as ``extra_``
        (default: the model's own ``extra_``, which :func:`churnml.training.fit_and_evaluate`
        fills with the feature plan, time model and data origin that scoring needs).
        """
        self._check_fitted()
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(path / "model.txt"), num_iteration=self.best_iteration_)
        meta = {
            "format_version": FORMAT_VERSION,
            "init": {
                "params": self.params,
                "num_boost_round": self.num_boost_round,
                "early_stopping_rounds": self.early_stopping_rounds,
                "calibration": self.calibration,
                "random_state": self.random_state,
            },
            "feature_names": self.feature_names_,
            "categories": self.categories_,
            "calibrator": self.calibrator_,
            "horizon_power": self.horizon_power_,
            "best_iteration": self.best_iteration_,
            "extra": extra if extra is not None else getattr(self, "extra_", {}),
        }
        (path / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> ChurnModel:
        """Read a model written by :meth:`save`."""
        path = Path(folder)
        if not (path / "meta.json").is_file() or not (path / "model.txt").is_file():
            raise ModelError(f"{path} is not a churnml model folder (needs model.txt and meta.json)")
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(
                f"{path}: model format {meta.get('format_version')} is not {FORMAT_VERSION}; models saved before "
                "churnml moved probabilities to the asked horizon by a power (format 1: a log-odds shift) must be "
                "retrained: python -m churnml.train"
            )
        model = cls(**meta["init"])
        model.booster_ = lgb.Booster(model_file=str(path / "model.txt"))
        model.feature_names_ = meta["feature_names"]
        model.categories_ = {col: _stripped(levels) for col, levels in meta["categories"].items()}
        model.calibrator_ = meta["calibrator"]
        model.horizon_power_ = float(meta["horizon_power"])
        model.best_iteration_ = int(meta["best_iteration"])
        model.extra_ = meta.get("extra", {})
        return model
