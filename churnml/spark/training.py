"""Training at scale: labels and features on Spark, a sample of customers, the fit on one machine.

The sample is by customer (a hash of the id), so it keeps the full table's
churn rate and P(churn | features). Sampled by class, it also keeps every
train row of the rarer class and weighs the fit so that probabilities stay the
full table's (:class:`SampleInfo`). The sampled training table is collected
and handed to :func:`churnml.training.fit_and_evaluate`, the same code as
``python -m churnml.train`` on DuckDB.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from churnml.btyd import BGNBD
from churnml.config import Config
from churnml.dataset import (
    CALIBRATION_SALT,
    TARGET,
    UNIFORM,
    WEIGHT,
    SplitCutoffs,
    TrainingData,
    calibration_threshold,
    check_regime_tables,
    check_trainable,
    log_holdout,
    split_cutoffs,
)
from churnml.errors import ConfigError, DataWindowError, EmptyDataError, ModelError
from churnml.spark.sql import KEYS, features, labels, plan_features_spark
from churnml.spark.tables import SparkTables, time_range, to_pandas
from churnml.tracking import Promotion, resolve_tracking_uri, start_run
from churnml.training import TrainResult, fit_and_evaluate, log_training
from churnml.training_log import default_run_name
from churnml.tuning import tune
from churnml.windows import DataSpan, late_rows_text, quiet_end_text, stray_tail_text, year_before

__all__ = ["SampleInfo", "sample_customers", "train", "training_data"]

log = logging.getLogger(__name__)

BUCKETS = 1_000_000


SAMPLE_BY = ("customer", "class")


@dataclass(frozen=True)
class SampleInfo:
    """How the training table was sampled (logged as ``sample_*`` run parameters).

    ``by="customer"``: customers are kept with probability ``fraction`` by a
    hash of their id and ``seed``, the same customers at every cutoff. Whether
    a customer is kept does not depend on their label or features, so the
    sample has the full table's churn rate and P(churn | features): a model
    fitted and calibrated on it is calibrated for everyone, and no weight
    enters the fit.

    ``by="class"``: the same uniform sample, plus every row of the train
    cutoffs whose label is the rarer class there (``keep_label``, by the full
    table's train rows). Those extra rows raise the rarer class's share in the
    fit; each kept train row is weighed by 1 / P(kept) (1 for the rarer class,
    ``1 / fraction`` for the other) so that the trees estimate the full
    table's probabilities. The calibration and test cutoffs stay uniform, so
    the calibrator and every reported metric are unweighted and hold for
    everyone.

    Either way each kept row stands for ``sample_weight`` rows of the full
    table (``1 / fraction``, or 1 for a rarer-class train row): scale counts
    and money totals by it. Probabilities need it only where the class
    sample's train rows are fitted (done by :func:`churnml.training.fit_and_evaluate`).
    The ``weight`` property and the logged ``sample_weight`` are the uniform
    rows' weight, ``1 / fraction``.
    """

    fraction: float
    seed: int
    rows_full: dict[str, int]
    rows_kept: dict[str, int]
    by: str = "customer"
    keep_label: int | None = None

    @property
    def weight(self) -> float:
        """The weight of a row of the uniform sample (``1 / fraction``)."""
        return 1.0 / self.fraction

    def as_params(self) -> dict[str, Any]:
        method = "customer_hash" if self.by == "customer" else "customer_hash_plus_rarer_class"
        extra = {} if self.keep_label is None else {"sample_keep_all_label": self.keep_label}
        return {"sample_method": method, "sample_fraction": self.fraction, "sample_seed": self.seed,
                "sample_weight": round(self.weight, 9), **extra,
                **{f"sample_rows_full_{k}": v for k, v in sorted(self.rows_full.items())},
                **{f"sample_rows_kept_{k}": v for k, v in sorted(self.rows_kept.items())}}


def _buckets(fraction: float) -> int:
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"the sample fraction must be in (0, 1], got {fraction}")
    kept = round(fraction * BUCKETS)
    if kept < 1:
        raise ConfigError(f"the sample fraction {fraction} is below the resolution {1 / BUCKETS}")
    return kept


def sample_customers(frame: DataFrame, fraction: float, seed: int = 42, keep_all: Column | None = None) -> DataFrame:
    """Keep each customer (at every cutoff) with probability ``fraction``, and every row where ``keep_all``.

    A customer is in the uniform sample when ``pmod(xxhash64(str(seed),
    customer_id), 10^6) < round(fraction * 10^6)``: reproducible, independent
    of partitioning, of the label and of the features. Adds
    ``sample_uniform`` (the row is in that sample) and ``sample_weight``,
    1 / P(kept): 1 where ``keep_all`` holds, else ``10^6 / round(fraction *
    10^6)`` (``1 / fraction``). See :class:`SampleInfo` for why this keeps
    probabilities calibrated.
    """
    kept = _buckets(fraction)
    bucket = F.pmod(F.xxhash64(F.lit(str(seed)), F.col("customer_id")), F.lit(BUCKETS))
    uniform = F.lit(True) if kept == BUCKETS else bucket < F.lit(kept)
    every = F.lit(False) if keep_all is None else F.coalesce(keep_all, F.lit(False))
    out = frame.withColumn(UNIFORM, uniform).withColumn("_keep_all", every)
    out = out.where(F.col(UNIFORM) | F.col("_keep_all"))
    weight = F.when(F.col("_keep_all"), F.lit(1.0)).otherwise(F.lit(BUCKETS / kept))
    return out.withColumn(WEIGHT, weight).drop("_keep_all")


def _rarer_label(full: dict[tuple[str, int], int]) -> int:
    """The label of the train split's rarer class (1 = churned on a tie), from ``{(split, label): rows}``."""
    churned, stayed = full.get(("train", 1), 0), full.get(("train", 0), 0)
    return 1 if churned <= stayed else 0


def _log_class_sample(full: dict[tuple[str, int], int], keep_label: int, fraction: float) -> None:
    """Say how many train rows a class sample keeps; warn when that is more than twice a uniform sample's."""
    rarer, other = full.get(("train", keep_label), 0), full.get(("train", 1 - keep_label), 0)
    total = rarer + other
    expected = rarer + fraction * other
    text = (f"sampling by class keeps every train row with {TARGET}={keep_label} ({rarer:,} of {total:,}) and "
            f"{fraction:.4g} of the others: about {expected:,.0f} train rows")
    if total and expected > 2 * fraction * total:
        log.warning("%s, %.1f times a uniform sample's; it pays off when one class is rare "
                    "(--sample-by customer keeps %.4g of the rows)", text, expected / (fraction * total), fraction)
    else:
        log.info("%s", text)


def data_span(tables: SparkTables, cfg: Config) -> DataSpan:
    """First moment and exclusive end of the Spark transactions (``cfg.data.end`` when declared)."""
    return _span(time_range(tables), cfg)


def _span(times: pd.Series, cfg: Config) -> DataSpan:
    """:func:`data_span` of the transactions' first and last times."""
    if times.isna().all():
        raise EmptyDataError("training needs a non-empty transactions table")
    return DataSpan.from_times(times, cfg.data.end)


def _warn_quiet_end(tables: SparkTables, span: DataSpan, times: pd.Series) -> None:
    """:func:`churnml.windows.quiet_end_text` on the days with a transaction in the data's last year (one job)."""
    since = year_before(pd.Timestamp(times.max())).to_pydatetime()
    days = to_pandas(tables.transactions.where(F.col("timestamp") >= F.lit(since))
                     .select(F.to_date("timestamp").alias("day")).distinct())["day"]
    if text := quiet_end_text(days, span):
        log.warning("%s", text)


def _refuse_stray_tail(tables: SparkTables) -> None:
    """:func:`churnml.windows.stray_tail_text` on the transactions per day (one job; a second names rows)."""
    tx = tables.transactions
    daily = to_pandas(tx.groupBy(F.to_date("timestamp").alias("day")).count())

    def dated(day: pd.Timestamp) -> str:
        late = tx.where(F.col("timestamp") >= _day(day)).orderBy("timestamp").limit(3).collect()
        return late_rows_text((r["customer_id"], r["timestamp"]) for r in late)

    if text := stray_tail_text(pd.Series(daily["count"].to_numpy(), index=pd.to_datetime(daily["day"])), dated):
        raise DataWindowError(text)


def _day(ts: pd.Timestamp) -> Column:
    return F.lit(ts.strftime("%Y-%m-%d %H:%M:%S")).cast("timestamp_ntz")


def _split_column(splits: SplitCutoffs) -> Column:
    cut = F.col("cutoff")
    return (F.when(cut == _day(splits.calibration), "calibration")
            .when(cut == _day(splits.test), "test").otherwise("train"))


def calibration_column(share: float) -> Column:
    """:func:`churnml.dataset.calibration_customers` in Spark: the same customers, by the same md5."""
    first = F.conv(F.substring(F.md5(F.concat(F.lit(CALIBRATION_SALT), F.col("customer_id"))), 1, 8), 16, 10)
    return first.cast("long") < F.lit(calibration_threshold(share))


def _fit_rows(lab: DataFrame, share: float) -> DataFrame:
    """:func:`churnml.dataset` keeps these rows: the test's, the calibration customers' at calibration, the rest."""
    held = calibration_column(share)
    split = F.col("split")
    counts = lab.agg(F.count_if((split == "calibration") & held).alias("kept"),
                     F.count_if(split == "calibration").alias("all"),
                     F.count_if((split == "train") & held).alias("dropped")).collect()[0]
    log_holdout(counts["kept"], counts["all"], counts["dropped"], share)
    return lab.where((split == "test") | ((split == "calibration") == held))


def training_data(spark: SparkSession, tables: SparkTables, cfg: Config,
                  sample_fraction: float = 1.0, sample_by: str = "customer") -> tuple[TrainingData, SampleInfo]:
    """The Spark twin of :func:`churnml.dataset.build_training_data`, sampled by customer.

    ``sample_by="class"`` also keeps every train row of the rarer class, with
    weights (:class:`SampleInfo`).

    Labels and features are computed in Spark for the sampled customers (the
    BG/NBD family is fitted on every customer at each cutoff, as at scoring);
    the sampled table is collected to the driver.

    Returns
    -------
    (TrainingData, SampleInfo)
        Ready for ``churnml.training.fit_and_evaluate(None, cfg, data=...)``;
        the table has ``sample_weight`` and ``sample_uniform`` columns.
    """
    if sample_by not in SAMPLE_BY:
        raise ConfigError(f"sample_by must be one of {', '.join(SAMPLE_BY)}; got {sample_by!r}")
    if sample_by == "class" and _buckets(sample_fraction) == BUCKETS:
        raise ConfigError("sample_by='class' keeps a share of the commoner class; give a sample_fraction below 1, "
                          "e.g. 0.1")
    check_regime_tables(tables, cfg.time)
    times = time_range(tables)
    span = _span(times, cfg)
    if cfg.time.regime == "noncontractual" and cfg.data.end is not None:
        _warn_quiet_end(tables, span, times)
    if cfg.data.end is None:
        _refuse_stray_tail(tables)
    splits = split_cutoffs(span, cfg)
    fit_cuts = [*splits.train, splits.calibration]
    lab = labels(spark, tables, fit_cuts, cfg.time, splits.train_horizon_days, data_end=span.end).unionByName(
        labels(spark, tables, [splits.test], cfg.time, splits.test_horizon_days, data_end=span.end)
    ).withColumn("split", _split_column(splits)).persist()  # read five times below
    everyone, lab = lab, _fit_rows(lab, cfg.time.calibration_share)
    by_class = {(r["split"], int(r[TARGET])): int(r["count"]) for r in lab.groupBy("split", TARGET).count().collect()}
    full = {s: sum(n for (split, _), n in by_class.items() if split == s) for s in ("train", "calibration", "test")}
    keep_label = _rarer_label(by_class) if sample_by == "class" else None
    if keep_label is not None:
        _log_class_sample(by_class, keep_label, _buckets(sample_fraction) / BUCKETS)
    keep_all = None if keep_label is None else (F.col("split") == "train") & (F.col(TARGET) == keep_label)
    kept = sample_customers(lab, sample_fraction, cfg.seed, keep_all)
    plan = plan_features_spark(tables, [*fit_cuts, splits.test], cfg.features, splits.test_horizon_days)
    bgnbd: dict[pd.Timestamp, BGNBD] = {}
    feats = features(spark, tables, kept.select(*KEYS), plan, population_spine=everyone.select(*KEYS),
                     btyd_models=bgnbd, check_spine=False)
    # in the order of the DuckDB path (cutoff, then customer): LightGBM's bagging draws rows by position, so
    # another order fits another model on the same rows
    local = to_pandas(feats.join(kept, on=KEYS, how="left").orderBy("cutoff", "customer_id"))
    cats = [f.name for f in feats.schema.fields if isinstance(f.dataType, T.StringType) and f.name != "customer_id"]
    local = local.astype({**{c: "category" for c in cats}, TARGET: "int8", "split": "str"})
    names = [c for c in feats.columns if c not in KEYS]
    everyone.unpersist()
    data = TrainingData(local, plan, splits, span, names, cats, bgnbd)
    try:
        check_trainable(data, cfg)
    except ModelError as exc:
        if sample_fraction >= 1.0:
            raise
        raise ModelError(f"{exc} (this table is a sample: fraction {sample_fraction} kept {data.counts()} of {full} "
                         "rows; a larger --sample-fraction keeps more)") from None
    info = SampleInfo(_buckets(sample_fraction) / BUCKETS, cfg.seed, full, data.counts(), sample_by, keep_label)
    log.info("training table sampled by %s: %s of %s rows kept (fraction %.4g%s)", sample_by, info.rows_kept, full,
             info.fraction, "" if keep_label is None else f", every train row with {TARGET}={keep_label}")
    return data, info


def train(spark: SparkSession, tables: SparkTables, cfg: Config, sample_fraction: float = 1.0,
          run_name: str | None = None, tune_trials: int = 0,
          sample_by: str = "customer", description: str | None = None) -> tuple[TrainResult, Promotion | None, str]:
    """Features and labels on Spark, a customer sample trained on this machine, one MLflow run.

    The run is the one ``python -m churnml.train`` logs, plus the tag
    ``engine=spark`` and the ``sample_*`` parameters of :class:`SampleInfo`.
    It goes to ``cfg.tracking.uri`` (e.g. a shared ``http://`` tracking server).

    Parameters
    ----------
    sample_fraction : float
        Share of customers kept, in (0, 1]; see :func:`sample_customers`.
    sample_by : {"customer", "class"}
        ``"class"`` also keeps every train row of the rarer class, weighted
        (:class:`SampleInfo`).
    run_name : str, optional
        The MLflow run name (default: :func:`churnml.training_log.default_run_name`).
    description : str, optional
        The MLflow run's description (the note on its page).
    tune_trials : int
        When > 0, first that many Optuna trials on the sample
        (:func:`churnml.tuning.tune`, nested runs), then the final fit with the
        best parameters (``cfg`` itself is not changed).

    Returns
    -------
    (TrainResult, Promotion or None, run id)
    """
    data, sample = training_data(spark, tables, cfg, sample_fraction, sample_by)
    uri = resolve_tracking_uri(cfg.tracking.uri)
    name = run_name or default_run_name(cfg, data)
    with start_run(uri, cfg.tracking.experiment, run_name=name, tags={"engine": "spark"},
                   description=description) as run:
        run.params(sample.as_params())
        if tune_trials:
            cfg = cfg.model_copy(deep=True)
            cfg.model.params = tune(data, cfg, tune_trials, uri)
            run.params({"tuning_trials": tune_trials})
        result = fit_and_evaluate(None, cfg, data=data)
        promotion = log_training(result, cfg, run)
        run_id = run.run_id
    return result, promotion, run_id
