"""``python -m churnml.score``: a ranked outreach list a CRM can import.

Writes the list (CSV or Parquet by the suffix of ``--out``) and, beside it,
``<name>.unscored.csv`` (``<name>``: the file name without its format suffix,
``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq``) with every asked customer that
is not on the list and why: not scored (missing or unknown id, not at risk,
duplicate) or, with ``--customers`` and ``--top`` or ``--budget``, below the
cut. Both are written atomically and never replace a file without
``--overwrite``. Every option, the ``--set`` keys, the output
names and the ``--customers`` list are checked before the data or the model is
loaded. With ``--engine spark``, features and probabilities of everyone at
risk (or of the ``--customers`` asked) are computed in Spark
(``churnml.spark.score``); the files and printed lines are the same.
"""

from __future__ import annotations

import os

# Before LightGBM's OpenMP runtime loads (it reads this once): waiting threads
# sleep instead of spinning. Same speed on an idle machine; on a busy 2-core
# one a 1M-row fit took 52 s instead of 69 s (benchmarks/README.md). The user's value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# MLflow draws a "Downloading artifacts" bar for every model it loads (the champion is loaded to compare it, and
# by score): noise in a command's output and its logs. The user's value wins.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import argparse
import contextlib
import csv
import gzip
import logging
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import ValidationError

from churnml.cli import (
    add_engine_options,
    add_json_option,
    base_parser,
    collected_warnings,
    config_from_args,
    print_json,
    refuse_options,
    require_spark,
    run,
)
from churnml.config import Config, ScoringConfig, TimeConfig
from churnml.config_load import apply_overrides, read_tree
from churnml.errors import ChurnMLError, ConfigError, ModelError, SchemaError
from churnml.ids import canonical_ids
from churnml.io import (
    Tables,
    check_writable,
    file_columns,
    folder_files,
    folder_schema_error,
    load_tables,
    not_csv_hint,
    read_policy,
    read_table,
    warn_id_spellings,
    warn_unmatched_ids,
    write_frames,
)
from churnml.io_write import file_format
from churnml.model import ChurnModel
from churnml.outreach import NobodyToScoreError, cut_problems
from churnml.report_template import format_value
from churnml.rules import (
    DUPLICATE_KEY,
    DUPLICATE_ROW,
    NEGATIVE_AMOUNT,
    READ_OPTIONS_HINT,
    header_separator,
)
from churnml.scoring import (
    ScoreResult,
    load_churn_model,
    money_in_cents,
    score_customers,
    spreadsheet_safe,
)
from churnml.tracking import (
    alias_problem,
    missing_store,
    pin_model,
    resolve_tracking_uri,
)
from churnml.windows import to_cutoff

__all__ = ["main"]

log = logging.getLogger(__name__)

#: ``--set`` sections the model fixed when it was trained: scoring uses the model's values.
MODEL_DECIDES = {
    "time": "a model keeps the time model it was trained for: regime, horizon, lead time, active window",
    "features": "a model keeps the features it was trained on: families, windows",
    "model": "LightGBM and calibration settings apply when a model is trained",
}
#: The config keys score reads (a key, or a section ending in '.'); ``data.`` only without --data.
SCORE_READS = ("data.", "scoring.", "tracking.uri", "tracking.registered_model_name")
#: With ``--data``, the read policy keys that ``--set`` may give for the folder's tables. Without them,
#: returns and duplicates are handled as when the model was trained (its ``data_policy``; kept for a model
#: that recorded none), times in the model's data.timezone and no declared end: a canonical folder needs nothing.
DATA_POLICY = ("data.returns", "data.duplicates", "data.timezone", "data.end")
#: The column of the --customers list that holds the ids.
LIST_COLUMN = "customer_id"


def _parser() -> argparse.ArgumentParser:
    p = base_parser("python -m churnml.score", "Score customers and write a ranked outreach list.",
                    set_help="e.g. --set scoring.cost_per_contact=5 (repeatable); "
                             "time.*, features.* and model.* come from the model and are refused")
    p.add_argument("--model", default=None,
                   help="models:/NAME@alias (default: models:/<tracking.registered_model_name>@champion), "
                        "runs:/RUN_ID/model, or a model folder")
    p.add_argument("--data", help="folder with <table>.parquet|.csv files (or <table>/ Parquet folders) in canonical "
                                  "columns (default: the config's data section); returns and duplicates are handled as in the "
                                  "model's training unless --set data.returns=... / data.duplicates=... "
                                  "(also data.timezone, data.end)")
    p.add_argument("--customers", help="CSV with a customer_id column (or the name data.tables.<table>.columns "
                                       "maps to it): the customers to score (default: everyone at risk at the "
                                       "cutoff); other columns are ignored")
    p.add_argument("--cutoff", required=True, help="scoring date, e.g. 1998-07-01 (its midnight in data.timezone, UTC by default)")
    p.add_argument("--out", required=True, help="output file: .csv, .csv.gz or .parquet")
    limit = p.add_mutually_exclusive_group()
    limit.add_argument("--top", type=int, help="keep the N customers with the highest value at risk (N >= 1)")
    limit.add_argument("--budget", type=float,
                       help="contact budget (money, >= 0); see scoring.cost_per_contact")
    p.add_argument("--top-k", type=int, help="reasons per customer, 0-10 (default scoring.top_k)")
    p.add_argument("--tracking-uri",
                   help="MLflow tracking URI (default: the config's tracking.uri, sqlite:///./mlflow.db unless set)")
    p.add_argument("--list-not-at-risk", action="store_true",
                   help="without --customers: also write the customers of the tables not at risk at the cutoff "
                        "(e.g. no purchase before it) to <name>.unscored.csv with the reason (default: counted only)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_engine_options(p)
    add_json_option(p)
    return p


def unscored_path(out: Path) -> Path:
    """Where the asked customers not on the list ``out`` go: ``<name>.unscored.csv`` beside it.

    ``<name>`` is the file name without its format suffix (``.csv.gz`` counts
    as one), so ``list.v1.csv`` and ``list.v2.csv`` get ``list.v1.unscored.csv``
    and ``list.v2.unscored.csv``.
    """
    name = out.name
    cut = len(".csv.gz") if name.lower().endswith(".csv.gz") else len(out.suffix)
    return out.with_name(name[: len(name) - cut] + ".unscored.csv")


# ------------------------------------------------------------------ checks before any data is read
def _option_problems(args: argparse.Namespace) -> list[str]:
    """Every problem with the options that can be seen without data or model."""
    problems = list(cut_problems(args.top, args.budget))
    if args.top_k is not None:
        try:
            ScoringConfig(top_k=args.top_k)
        except ValidationError as exc:
            problems.append(f"--top-k must be a whole number from 0 to 10 (reasons per customer), got "
                            f"{args.top_k}: {exc.errors()[0]['msg'].lower()}")
    try:
        to_cutoff(args.cutoff)
    except ChurnMLError as exc:
        problems.append(f"--cutoff: {exc}")
    out = Path(args.out)
    try:
        file_format(out)
    except ChurnMLError:
        problems.append(f"--out {out}: unknown file type; use a name ending in .csv, .csv.gz or .parquet")
    if out.is_dir():
        problems.append(f"--out {out} is a folder; give a file name, e.g. {out / 'outreach.csv'}")
    if args.data and not Path(args.data).is_dir():
        problems.append(f"--data {args.data}: no such folder (relative paths start at {Path.cwd()})")
    if args.customers and args.list_not_at_risk:
        problems.append(f"--list-not-at-risk is for a run without --customers: with a list, the listed ids not at "
                        f"risk are always written to {unscored_path(out)} with their reason; leave it out")
    if args.customers and not Path(args.customers).is_file():
        problems.append(f"--customers {args.customers}: file not found (relative paths start at {Path.cwd()})")
    return problems


def _set_keys(overrides: list[str]) -> dict[str, str]:
    """The keys of ``--set key=value`` items, each with its item."""
    return {o.split("=", 1)[0].strip(): o for o in overrides if "=" in o}


def _check_overrides(overrides: list[str], with_data: bool) -> None:
    """Refuse ``--set`` keys the model decides; warn about keys score does not read."""
    given = _set_keys(overrides)
    keys = list(given)
    refused = [k for k in keys if k.split(".")[0] in MODEL_DECIDES]
    if refused:
        lines = [f"--set {given[k]}: score cannot change {k}, the model decides it "
                 f"({MODEL_DECIDES[k.split('.')[0]]})" for k in refused]
        raise ConfigError("\n".join(lines) + "\nfix: leave it out of the score command; for another value, "
                          "train a model with it (python -m churnml.train --set ...) and score with that model")
    reads = [r for r in SCORE_READS if not (with_data and r == "data.")] + (list(DATA_POLICY) if with_data else [])
    for key in keys:
        if any(key == r or key.startswith(r if r.endswith(".") else r + ".") for r in reads):
            continue
        why = ("the --data folder replaces the data section; only --set "
               + ", ".join(DATA_POLICY) + " apply to it" if key.startswith("data.") else
               "score reads only data.*, scoring.*, tracking.uri and tracking.registered_model_name")
        log.warning("--set %s is not used by score (%s)", key, why)


def _warn_time_unlike_the_model(config: str | None, model: ChurnModel) -> list[str]:
    """Warn about ``time.*`` keys of ``--config`` that differ from the model's own (score uses the model's).

    ``--set time.*`` is refused, but a config file is shared with ``train``, so its keys are only compared:
    the ones written in the file (not the defaults) whose value is not the model's. Returns the warnings.
    """
    if config is None:
        return []
    tree, _ = read_tree(config)
    section = tree.get("time")
    given: dict[str, Any] = section if isinstance(section, dict) else {}
    own = getattr(model, "extra_", {}).get("time", {})
    try:  # compared as the model stores them (JSON: a date as '1998-01-01', not YAML's date)
        read = TimeConfig.model_validate({**own, **given}).model_dump(mode="json")
    except ValidationError:  # the config's own check names what is wrong with it
        return []
    differ = {k: read[k] for k in given if k in own and k in read and own[k] != read[k]}
    texts = [f"--config {config} sets time.{k}={v!r}, but the model was trained with {own[k]!r}; score uses the "
             f"model's ({MODEL_DECIDES['time']})" for k, v in differ.items()]
    for text in texts:
        log.warning("%s", text)
    return texts


def _check_targets(out: Path, side: Path, overwrite: bool) -> None:
    """Before any work: the list and its companion can be written, and replace no file without --overwrite."""
    for target in (out, side):
        check_writable(target)
        if target.exists() and not overwrite:
            raise ConfigError(f"{target} exists; pass --overwrite to replace it")


def _line_of(src: Path) -> str:
    """``' at line N of the file'``: where the first row whose number of fields differs from the header's (an
    unquoted comma) ends, found by Python's csv module (quoted line breaks included); ``''`` when there is none."""
    opener = gzip.open if src.name.endswith(".gz") else open
    try:
        with opener(src, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
            reader = csv.reader(fh)
            width = 0
            for row in reader:
                if row and not width:
                    width = len(row)
                elif row and len(row) != width:
                    return f" at line {reader.line_num} of the file"
    except (OSError, EOFError, csv.Error):
        return ""
    return ""


def _edge_empty_lines(src: Path) -> tuple[int, int]:
    """Empty lines before the header and after the last row of a CSV file (``.gz`` too).

    Arrow, reading empty lines as rows (so that later rows keep their numbers), would take a leading one for the
    header and give each trailing one a row; neither is a row of the list.
    """
    if src.name.endswith(".gz"):
        with gzip.open(src, "rb") as packed:
            data = packed.read()
        head, tail = data[:65536], data[-65536:]
    else:
        size = src.stat().st_size
        with open(src, "rb") as plain:
            head = plain.read(65536)
            plain.seek(max(0, size - 65536))
            tail = plain.read()

    def lines(b: bytes) -> list[bytes]:
        return b.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")

    first = lines(head.removeprefix(b"\xef\xbb\xbf"))
    lead = next((i for i, line in enumerate(first) if line), len(first))
    last = lines(tail)
    trail = next((i for i, line in enumerate(reversed(last)) if line), len(last))
    return lead, max(trail - 1, 0)  # the file's final line break ends its last row


def _no_column_fix(found: list[Any]) -> str:
    """The fix for a list without a ``customer_id`` column, from what its header looks like."""
    single = str(found[0]) if len(found) == 1 else ""
    sep = {";": "semicolons", "\t": "tabs", "|": "bars"}.get(header_separator(found) or "")
    near = [str(c) for c in found if "".join(ch for ch in str(c).lower() if ch.isalnum()) == "customerid"
            and str(c).isprintable()]
    if sep:
        return (f"its columns are separated by {sep}, and the list is read as comma-separated: save it as "
                f"CSV with commas (or with the one column {LIST_COLUMN})")
    if near:  # CustomerID, Customer_ID, 'customer_id ' (a trailing space)
        return f"rename the column {near[0]!r} to {LIST_COLUMN} (exactly: lower case, no spaces)"
    if single and any(ch.isdigit() for ch in single):  # an id as the header
        return f"the file seems to have no header line: add the line {LIST_COLUMN} at the top"
    return f"name the column of ids {LIST_COLUMN}"


def id_columns(cfg: Config) -> list[str]:
    """The names the config's tables give their ``customer_id`` column (``data.tables.<t>.columns``), once each."""
    names = [t.columns.get(LIST_COLUMN) for t in cfg.data.tables.values()] if cfg.data.source == "files" else []
    return list(dict.fromkeys(n for n in names if n and n != LIST_COLUMN))


def _list_column(found: list[Any], mapped: list[str], where: str) -> str:
    """The column of ids: ``customer_id``, else the one name the tables' column mapping gives it."""
    if LIST_COLUMN in found:
        return LIST_COLUMN
    named = [n for n in mapped if n in found]
    if len(named) == 1:
        log.info("%s: reading its %r column as the ids, the name data.tables maps to %s", where, named[0],
                 LIST_COLUMN)
        return named[0]
    if named:
        raise SchemaError(f"{where}: no {LIST_COLUMN} column, and {len(named)} columns the tables map to it "
                          f"({named}); fix: name the column of ids {LIST_COLUMN}")
    also = f" (or one of the names data.tables maps to it: {mapped})" if mapped else ""
    raise SchemaError(f"{where}: no {LIST_COLUMN} column{also}; found columns {[str(c) for c in found]}; "
                      f"fix: {_no_column_fix(found)}")


def _read_list(path: str, mapped: list[str] | None = None) -> list[str]:
    """The ids of ``--customers``: its ``customer_id`` column only, read as the tables' ids are.

    A list without ``customer_id`` may name the column as the tables do in the
    user's files (``mapped``, from :func:`id_columns`).
    """
    src = Path(path)
    where = f"--customers {src}"
    try:
        kind = file_format(src)
        hint = not_csv_hint(src) if kind == "csv" else ""
        if not hint:  # judged by its first bytes first: a workbook's zip header can decode as a one-column header
            found = file_columns(src, kind)
    except (ChurnMLError, ValueError, OSError, pa.ArrowException) as exc:
        fix = not_csv_hint(src) or f"give a CSV file whose first line is {LIST_COLUMN}, then one id per line"
        raise SchemaError(f"{where}: cannot read it ({exc}); fix: {fix}") from None
    if hint:
        raise SchemaError(f"{where}: cannot read it (not a CSV file); fix: {hint}")
    column = _list_column(found, mapped or [], where)
    others = [str(c) for c in found if c != column]
    if others:
        log.info("%s: reading its %s column only; other columns ignored: %s", where, column, others)
    try:
        # pyarrow, as the tables' CSV files are read: a row with more fields than the header is an error (pandas'
        # C engine would take the first column as an index, or drop the extra field), and NA, null and the like
        # are missing, as in the tables. An empty line is a row (a missing id), so that rows keep their numbers.
        # Empty lines before the header or after the last row are no rows.
        if kind == "csv":
            lead, trail = _edge_empty_lines(src)
            raw = pd.read_csv(src, usecols=[column], dtype="str", engine="pyarrow", skip_blank_lines=False,
                              skiprows=lead)[column]
            raw = raw.iloc[: max(len(raw) - trail, 0)]
        else:
            raw = pd.read_parquet(src, columns=[column])[column]
    except (ValueError, OSError, pa.ArrowException) as exc:
        fix = ("every row needs as many fields as the header line (quote a value that holds a comma)"
               if kind == "csv" else "check the file")
        if kind == "csv" and ("utf8" in str(exc).lower() or isinstance(exc, UnicodeDecodeError)):
            fix = "the file is not UTF-8: save it as 'CSV UTF-8' (a spreadsheet's 'CSV' may be latin-1 or cp1252)"
        line = _line_of(src) if kind == "csv" and "Expected" in str(exc) else ""
        raise SchemaError(f"{where}: cannot read its {column} column ({exc}){line}; "
                          f"fix: {fix}") from None
    if raw.empty:
        raise SchemaError(f"{where} has no ids (only its header line); list one {column} per line, "
                          "or leave --customers out to score everyone at risk")
    ids = canonical_ids(raw)  # the tables' id rule; a missing id is listed as unscored, with its row
    blank = int(ids.isna().sum())
    if blank:
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(ids.isna().to_numpy())[:5])
        log.warning("%s: %d missing id(s) (empty, blank or NA), e.g. at data row(s) %s; they are listed as unscored",
                    where, blank, rows)
    return ids.fillna("").tolist()


# ------------------------------------------------------------------------------------------ scoring
def _recorded_policy(model: ChurnModel | None) -> dict[str, str]:
    """How the model's training read returns, duplicates and times (``extra_["data_policy"]``; empty for
    older models, and without ``timezone`` for models trained before it was recorded)."""
    return _recorded(model, "data_policy") or {}


def _recorded(model: ChurnModel | None, key: str) -> Any:
    """What the model's training recorded under ``key`` (``extra_``), None for a model without it."""
    return (getattr(model, "extra_", None) or {}).get(key)


def _folder_rule(key: str, given: dict[str, str], cfg: Config, recorded: dict[str, str]) -> tuple[str, str]:
    """``data.<key>`` (returns or duplicates) for ``--data``, and why: ``--set``, else the model's, else keep."""
    if f"data.{key}" in given:
        return getattr(cfg.data, key), "--set"
    if key in recorded:
        return recorded[key], "as in the model's training"
    return "keep", "the model recorded no policy"


def _returns_read(args: argparse.Namespace, cfg: Config, model: ChurnModel | None) -> str:
    """The ``data.returns`` this run reads its transactions with."""
    if not args.data:
        return read_policy(cfg.data)["returns"]  # the bundled sources have their own
    return _folder_rule("returns", _set_keys(list(args.set)), cfg, _recorded_policy(model))[0]


#: Added to an unknown id's reason when the transactions were read with ``data.returns=drop``.
DROPPED_RETURNS_NOTE = ("; the transactions were read with data.returns=drop, which also leaves out a customer "
                        "whose only rows are returns")


def _noting_dropped_returns(unscored: pd.DataFrame, returns: str) -> pd.DataFrame:
    """The unscored with :data:`DROPPED_RETURNS_NOTE` on each unknown id, when returns were dropped."""
    unknown = unscored["reason"].str.startswith("unknown customer id")
    if returns != "drop" or not unknown.any():
        return unscored
    out = unscored.copy()
    out.loc[unknown, "reason"] = out.loc[unknown, "reason"] + DROPPED_RETURNS_NOTE
    return out


def _folder_policy(args: argparse.Namespace, cfg: Config, model: ChurnModel | None = None) -> dict[str, Any]:
    """How ``--data`` tables are read.

    ``--set data.<key>=...`` first. Otherwise returns and duplicates as the
    model's training read them (``extra_["data_policy"]``, so that the
    features mean what they meant there), or kept for a model that recorded
    no policy; times in the model's zone (``data.timezone`` is the business's
    calendar, which the features' days and the cutoff follow; UTC for a model
    that recorded none), with a warning when ``--set`` gives another; no
    declared end (a property of the files). The log says which policy applies
    and where it came from.
    """
    given = _set_keys(list(args.set))
    data = cfg.data
    recorded = _recorded_policy(model)
    policy: dict[str, Any] = {}
    origin: list[str] = []
    for key in ("returns", "duplicates"):
        policy[key], why = _folder_rule(key, given, cfg, recorded)
        origin.append(f"{key}={policy[key]} ({why})")
    trained_zone = recorded.get("timezone", "UTC")
    if "data.timezone" in given:
        policy["timezone"], why = data.timezone, "--set"
    else:
        policy["timezone"] = trained_zone
        why = "as in the model's training" if "timezone" in recorded else "the model recorded none: UTC"
    # the --set text, not the config's value: an offset is converted to the zone read here, not the config's
    policy["data_end"] = apply_overrides({}, [given["data.end"]])["data"]["end"] if "data.end" in given else None
    log.info("reading the --data tables with %s; times in %s (%s)", ", ".join(origin), policy["timezone"], why)
    if "data.timezone" in given and data.timezone != trained_zone:
        log.warning("the model's training read its times in %s, and --set data.timezone=%s reads these in %s: "
                    "the features' days and the cutoff then follow another calendar than the model learned",
                    trained_zone, data.timezone, data.timezone)
    return policy


def _folder_tables(folder: Path, policy: dict[str, Any]) -> Tables:
    files = folder_files(folder, required=("transactions",))
    frames = {}
    for name, path in files.items():
        try:
            frames[name] = read_table(name, path, **policy)
        except SchemaError as exc:
            raise folder_schema_error(exc) from None
    warn_id_spellings(frames)
    warn_unmatched_ids(frames)
    return Tables(**frames)


#: The rules whose refusal a read policy decides, by the policy's key.
_POLICY_RULES = {"returns": (NEGATIVE_AMOUNT,), "duplicates": (DUPLICATE_ROW, DUPLICATE_KEY)}


def _error_policies(args: argparse.Namespace, model: ChurnModel) -> list[str]:
    """The read policies the model recorded as 'error' and that ``--set`` leaves as they are."""
    given = _set_keys(list(args.set))
    recorded = _recorded_policy(model)
    return [k for k in ("returns", "duplicates") if recorded.get(k) == "error" and f"data.{k}" not in given]


def _fixes(problems: list[str]) -> list[str]:
    """The fix of each problem (the text after ``; fix: ``, as the rule catalogue words it)."""
    return [p.rsplit("; fix: ", 1)[1] for p in problems if "; fix: " in p]  # the fix comes last


def _policy_hint(keys: list[str], problems: list[str]) -> str:
    """What to add to a refusal of ``--data`` rows that one of the model's 'error' policies (``keys``) made."""
    fixes = _fixes(problems)
    involved = [k for k in keys if any(rule.fix in fixes for rule in _POLICY_RULES[k])]
    if not involved:
        return ""
    return (f"--data reads the folder as the model's training read its tables, and the model was trained with "
            f"{', '.join(f'data.{k}=error' for k in involved)} (its training tables had none); to score this "
            f"folder, pass {' or '.join(f'--set data.{k}=keep (or drop)' for k in involved)}, as fits what the "
            "model learned")


@contextlib.contextmanager
def _hinted(keys: list[str]) -> Iterator[None]:
    """Add hints to a SchemaError raised while the ``--data`` tables are read: the policy hint when one
    of the model's 'error' policies (``keys``) refused rows, and how to get read options applied when a
    fix asks for them."""
    try:
        yield
    except SchemaError as exc:
        policy = _policy_hint(keys, exc.problems)
        options = (any("read_options" in fix for fix in _fixes(exc.problems))
                   and READ_OPTIONS_HINT not in exc.problems)
        hints = [h for h in (policy, READ_OPTIONS_HINT if options else "") if h]
        if not hints:
            raise
        raise SchemaError([*exc.problems, *hints], table=exc.table) from None


def _warn_utc_days(model: ChurnModel) -> list[str]:
    """Warn when the model was trained, in a zone other than UTC, before days followed ``data.timezone``."""
    recorded = _recorded_policy(model)
    zone = recorded.get("timezone", "UTC")
    if zone == "UTC" or "days" in recorded:
        return []
    text = (f"the model was trained with data.timezone={zone} by an older churnml, which counted its features' days, "
            f"months and cutoffs in UTC; this one counts them in {zone}, so the features differ a little from what "
            "the model learned: retrain it")
    log.warning("%s", text)
    return [text]


def _warn_other_source(model: ChurnModel, cfg: Config) -> None:
    """Warn when the config's data source is not the one the model was trained on (e.g. a forgotten --config)."""
    trained = _recorded(model, "data_source")
    if trained is not None and trained != cfg.data.source:
        what = BUNDLED.get(cfg.data.source, "the config's files")
        log.warning("the model was trained on data.source=%s, and this run scores data.source=%s (%s): if that is "
                    "not meant, pass the training's --config (or --data DIR)", trained, cfg.data.source, what)
    zone, trained_zone = read_policy(cfg.data)["timezone"], _recorded_policy(model).get("timezone")
    if trained_zone is not None and zone != trained_zone:
        log.warning("the model's training read its times in %s, and this run reads them in %s (data.timezone): the "
                    "features' days and the cutoff then follow another calendar than the model learned",
                    trained_zone, zone)


#: What the bundled sources are, in the warnings about scoring another source than the model's.
BUNDLED = {"cdnow": "the bundled CDNOW data", "synthetic": "a generated synthetic world"}


def _warn_folder_source(model: ChurnModel, folder: str) -> None:
    """Warn when ``--data`` gives files to a model trained on the bundled CDNOW data: another business's customers.

    Not for a synthetic-trained model: ``python -m churnml.datasets synthetic --out DIR`` writes such folders.
    """
    trained = _recorded(model, "data_source")
    if trained == "cdnow":
        log.warning("the model was trained on data.source=%s (%s), and --data %s gives it other customers: its "
                    "probabilities and reasons are what it learned there, not from these tables. Fix: train a "
                    "model on these tables under a name of its own (python -m churnml.train --set "
                    "data.source=files --set data.tables.transactions.path=... --set "
                    "tracking.registered_model_name=NAME; a model of other data never replaces this champion), "
                    "then score with --model models:/NAME@champion", trained, BUNDLED[trained], folder)


def _folder_config(args: argparse.Namespace, cfg: Config) -> Config:
    """The config a ``--data`` run scores with: no declared end unless ``--set data.end`` gives one (a
    ``--config``'s ``data.end`` is its own files' end, not the folder's: the stale-cutoff warning would
    measure from it)."""
    if "data.end" in _set_keys(list(args.set)) or cfg.data.end is None:
        return cfg
    out = cfg.model_copy(deep=True)
    out.data.end = None
    return out


def _score_duckdb(args: argparse.Namespace, cfg: Config, model: ChurnModel, asked: list[str] | None) -> ScoreResult:
    if args.data:
        _warn_folder_source(model, args.data)
        with _hinted(_error_policies(args, model)):
            tables = _folder_tables(Path(args.data), _folder_policy(args, cfg, model))
        cfg = _folder_config(args, cfg)
    else:
        _warn_other_source(model, cfg)
        tables = load_tables(cfg)
    return score_customers(tables, model, args.cutoff, cfg, asked, args.top, args.budget,
                           list_not_at_risk=args.list_not_at_risk)


def _score_spark(args: argparse.Namespace, cfg: Config, model: ChurnModel, asked: list[str] | None) -> ScoreResult:
    from churnml import spark as cs

    session = cs.local_session(args.spark_master, driver_memory=args.spark_memory)
    if args.data:  # Parquet read and validated by Spark; CSV read and validated here
        _warn_folder_source(model, args.data)
        policy = _folder_policy(args, cfg, model)
        wanted = {f.name for f in fields(cs.SparkTables)}
        with _hinted(_error_policies(args, model)):
            sources: dict[str, Any] = {
                name: path if path.suffix == ".parquet" or path.is_dir() else read_table(name, path, **policy)
                for name, path in folder_files(args.data, required=("transactions",)).items() if name in wanted
            }
            tables = cs.spark_tables(session, sources, returns=policy["returns"], duplicates=policy["duplicates"],
                                     data_end=policy["data_end"], timezone=policy["timezone"])  # as DuckDB's
        cfg = _folder_config(args, cfg)
    else:
        _warn_other_source(model, cfg)
        tables = cs.tables_from_config(session, cfg)
    return cs.score(session, tables, model, args.cutoff, cfg, args.top, args.budget, customers=asked,
                    list_not_at_risk=args.list_not_at_risk)


def _write(frames: list[tuple[pd.DataFrame, Path]], overwrite: bool) -> None:
    """Write the files all or none. In CSV, cells a spreadsheet would run as formulas are guarded and money is in
    cents; Parquet keeps the values."""
    write_frames([(spreadsheet_safe(money_in_cents(frame)) if file_format(path) == "csv" else frame, path)
                  for frame, path in frames], overwrite=overwrite)


def _tables_line(result: ScoreResult, side: Path, written: bool) -> str:
    """The summary's first line when everyone at risk was scored: the customers of the tables, those at risk
    (all scored) and those not at risk, by reason, and where they are listed (``written``: --list-not-at-risk)."""
    c = result.counts
    if "in_tables" not in c:  # a result made otherwise than by score_customers: its counts only
        return f"{c['scored']:,} customer{'s' if c['scored'] != 1 else ''} at risk at the cutoff, all scored"
    reasons = result.not_at_risk_reasons() or {}
    why = f" ({', '.join(f'{r}: {n:,}' for r, n in reasons.items())})" if reasons else ""
    where = "" if not reasons else (f", listed in {side}" if written else
                                    f", counted only (--list-not-at-risk writes them to {side})")
    return (f"{c['in_tables']:,} customer{'s' if c['in_tables'] != 1 else ''} in the tables: {c['scored']:,} at risk "
            f"at the cutoff, all scored; {c['not_at_risk']:,} not at risk{why}{where}")


def _record(result: ScoreResult, args: argparse.Namespace, cfg: Config, out: Path, side: Path, uri: str,
            pinned: str, warned: list[str]) -> dict[str, Any]:
    """The printed summary as data (``--json``): the files, the counts, the model and every warning the run
    emitted (``warned``, from :func:`churnml.cli.collected_warnings`), in order."""
    listed = result.outreach
    reasons = result.not_at_risk_reasons()
    return {
        "list": str(out), "unscored": str(side), "cutoff": args.cutoff, "model": pinned, "model_asked": uri,
        "counts": dict(result.counts), "not_at_risk": reasons,
        "not_at_risk_listed_in": str(side) if args.list_not_at_risk and reasons else None,
        "open_requests": result.open_requests,
        "tiers": {tier: int((listed["risk_tier"] == tier).sum()) for tier in cfg.scoring.tiers},
        "value_at_risk": float(listed["value_at_risk"].sum()) if len(listed) else 0.0,
        "warnings": list(warned),
    }


def _main(args: argparse.Namespace) -> int:
    with collected_warnings() as warned:
        return _scored(args, warned)


def _scored(args: argparse.Namespace, warned: list[str]) -> int:
    """The command; ``warned`` collects the run's warnings as they are logged (the ``--json`` summary lists them)."""
    refuse_options(_option_problems(args))
    _check_overrides(list(args.set), with_data=bool(args.data))
    cfg = config_from_args(args)
    if args.engine == "spark":
        require_spark()
    if args.top_k is not None:
        cfg.scoring.top_k = args.top_k
    out = Path(args.out)
    side = unscored_path(out)
    _check_targets(out, side, args.overwrite)
    asked = _read_list(args.customers, id_columns(cfg)) if args.customers else None
    store = resolve_tracking_uri(args.tracking_uri or cfg.tracking.uri)
    os.environ["MLFLOW_TRACKING_URI"] = store
    uri = args.model or f"models:/{cfg.tracking.registered_model_name}@champion"
    if uri.startswith(("models:/", "runs:/")) and (problem := missing_store(store)):
        raise ModelError(f"cannot load the model {uri!r}: {problem}")
    pinned, which = pin_model(uri)  # the version the alias names now: the list records it, and it is loaded
    if which is None and (problem := alias_problem(uri)):
        raise ModelError(f"cannot load the model {uri!r}: {problem}")
    model = load_churn_model(pinned)
    if which:
        log.info("model: %s", which)
    _warn_time_unlike_the_model(args.config, model)
    _warn_utc_days(model)
    returns = _returns_read(args, cfg, model)
    try:
        result = (_score_spark if args.engine == "spark" else _score_duckdb)(args, cfg, model, asked)
    except NobodyToScoreError as exc:
        # An older list under --out (there only with --overwrite) would read as this run's.
        # Nobody at risk, with --list-not-at-risk: the tables' customers, not at risk, go to the side file.
        outside = exc.not_at_risk if exc.not_at_risk is not None and not exc.not_at_risk.empty else None
        if exc.unscored.empty and outside is None:
            older = [p for p in (out, side) if p.exists()]
            for path in older:
                path.unlink()
            listing = ("; --list-not-at-risk lists them, with their reason" if not args.list_not_at_risk
                       and exc.in_tables else "")
            if older or listing:
                removed = (f"; the older {' and '.join(map(str, older))} {'were' if len(older) > 1 else 'was'} "
                           "removed" if older else "")
                raise NobodyToScoreError(f"{exc}{listing}{removed}", exc.unscored) from None
            raise
        unscored = _noting_dropped_returns(exc.unscored, returns).assign(model=pinned)
        _write([(unscored if outside is None else outside.assign(model=pinned), side)], args.overwrite)
        removed = f"; the older {out} was removed" if out.exists() else ""
        out.unlink(missing_ok=True)
        what = "every asked id and its reason" if outside is None else "the customers not at risk and their reason"
        raise NobodyToScoreError(f"{exc}; {what}: {side}{removed}", unscored, outside) from None
    result.unscored = _noting_dropped_returns(result.unscored, returns)
    _write([(result.outreach.assign(model=pinned), out),
            (result.not_listed(args.list_not_at_risk).assign(model=pinned), side)], args.overwrite)
    c = result.counts
    if args.json:
        print_json(_record(result, args, cfg, out, side, uri, pinned, warned))
        return 0
    if asked is None:  # everyone at risk: nobody unscored; the tables' other customers are counted
        print(_tables_line(result, side, args.list_not_at_risk))
    else:
        print(f"{c['asked']:,} customer{'s' if c['asked'] != 1 else ''} asked: {c['scored']:,} scored, "
              f"{c['unscored']:,} not scored (see {side})")
    beside = f", listed in {side} with their rank" if asked is not None and c["below_cut"] else ""
    print(f"{c['listed']:,} on the outreach list {out} ({c['below_cut']:,} scored but below the cut{beside})")
    if result.open_requests is not None:  # the subscriptions have cancel_requested_at
        n = result.open_requests
        on_list = int(result.outreach["cancel_requested_at"].notna().sum())
        where = f" (listed in {side} with their rank)" if asked is None and n > on_list else ""
        print(f"{n} scored customer{'s' if n != 1 else ''} asked to cancel (cancel_requested_at): {on_list} on the "
              f"list, {n - on_list} below the cut{where}")
    if len(result.outreach):
        cols = ["rank", "customer_id", "churn_probability", "risk_tier", "value_at_risk", "suggested_action"]
        with pd.option_context("display.width", 160, "display.max_columns", 10):
            print(result.outreach[cols].head(10).to_string(
                index=False, formatters={"churn_probability": "{:.3f}".format,
                                         "value_at_risk": lambda v: format_value(v, "money")}))
    print(f"model: {which or uri}")
    for text in result.warnings:  # logged at the start, repeated where the reader looks
        print(f"warning: {text}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    return run(_main, _parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
