"""The data contract: canonical tables, their columns and types.

Canonical frames are what every module below ``io`` receives and trusts:

* ``customer_id`` is a pandas string column (``str`` dtype), never null;
* every time column is ``datetime64[us]``, timezone-naive: wall-clock times of
  ``data.timezone`` (UTC by default), whose calendar days, months and cutoffs follow;
* amounts, scores and money are ``float64``; counts are ``int64``;
* categorical text (event type, plan, channel, ...) is ``str``.

The validation of raw tables against this contract lives in
:mod:`churnml.validation`; this module only declares the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from churnml.errors import SchemaError

__all__ = ["FOLDER_SUFFIXES", "SCORE_SCALES", "TABLE_SPECS", "STAND_IN", "ColumnSpec", "TableSpec", "spec_for"]

Kind = Literal["id", "time", "float", "int", "str", "bool", "date"]


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column: its name, kind and whether it is required."""

    name: str
    kind: Kind
    required: bool = True
    nullable: bool = False
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    """One canonical table of the data contract.

    ``key`` lists the columns that identify a row for the duplicate check
    (``None``: whole-row duplicates). ``time_column`` is the column the
    time model filters on (history ``< cutoff``).
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    time_column: str | None = None
    key: tuple[str, ...] | None = None
    description: str = ""
    extra_allowed: bool = True
    _by_name: dict[str, ColumnSpec] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def optional(self) -> list[str]:
        return [c.name for c in self.columns if not c.required]

    def column(self, name: str) -> ColumnSpec:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


#: ``frame.attrs`` key set (to the table's name) on a frame that is not data: the Spark planner's
#: stand-ins, which only carry column names and a few values. :func:`churnml.sources.check_sources`
#: skips them. Every other frame is checked, one from :func:`churnml.io.read_table` too (it may have
#: been changed since): about 0.1 s per 10M transactions (the time and amount bounds), 0.2 s per million
#: customers (the key check).
STAND_IN = "churnml_stand_in"


def _c(name: str, kind: Kind, required: bool = True, nullable: bool = False, d: str = "") -> ColumnSpec:
    return ColumnSpec(name, kind, required, nullable, d)


#: The file names a data folder (``--data DIR``) may hold per table: ``<table><suffix>``, one per table.
FOLDER_SUFFIXES = (".parquet", ".csv", ".csv.gz")

#: Allowed score range per survey type (inclusive).
SCORE_SCALES: dict[str, tuple[float, float]] = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 7),
    "cli": (1, 6),
}

TABLE_SPECS: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "transactions",
            (
                _c("customer_id", "id"),
                _c("timestamp", "time", d="moment of the purchase"),
                _c("amount", "float", d="money; negative = return"),
                _c("order_id", "str", False, True),
                _c("quantity", "float", False, True),
                _c("product", "str", False, True),
                _c("category", "str", False, True),
                _c("channel", "str", False, True),
            ),
            time_column="timestamp",
            description="one row per purchase (or return)",
        ),
        TableSpec(
            "events",
            (
                _c("customer_id", "id"),
                _c("timestamp", "time"),
                _c("event_type", "str", d="login, email_open, ..."),
                _c("value", "float", False, True),
            ),
            time_column="timestamp",
            description="engagement events",
        ),
        TableSpec(
            "subscriptions",
            (
                _c("customer_id", "id"),
                _c("start", "time"),
                _c("end", "time", nullable=True, d="null = still active"),
                _c("plan", "str", False, True),
                _c("mrr", "float", False, True),
                _c("cancel_requested_at", "time", False, True),
            ),
            time_column="start",
            description="one row per subscription term; a renewal is a new row",
        ),
        TableSpec(
            "surveys",
            (
                _c("customer_id", "id"),
                _c("timestamp", "time"),
                _c("survey", "str", d="nps, csat, ces or cli"),
                _c("score", "float"),
                _c("question", "str", False, True),
            ),
            time_column="timestamp",
        ),
        TableSpec(
            "tickets",
            (
                _c("customer_id", "id"),
                _c("opened_at", "time"),
                _c("resolved_at", "time", False, True),
                _c("first_contact_resolved", "bool", False, True),
                _c("channel", "str", False, True),
            ),
            time_column="opened_at",
        ),
        TableSpec(
            "customers",
            (
                _c("customer_id", "id"),
                _c("signup_at", "time", False, True),
                _c("region", "str", False, True),
                _c("segment", "str", False, True),
                _c("acquisition_channel", "str", False, True),
                _c("referred_by", "str", False, True),
            ),
            time_column=None,
            key=("customer_id",),
            description="one row per customer: static attributes",
        ),
        TableSpec(
            "marketing_spend",
            (
                _c("period", "date", d="first day of the period"),
                _c("spend", "float"),
                _c("channel", "str", False, True),
                _c("new_customers", "int", False, True),
            ),
            time_column="period",
        ),
        TableSpec(
            "loyalty",
            (
                _c("customer_id", "id"),
                _c("enrolled_at", "time"),
                _c("points_issued", "float", False, True),
                _c("points_redeemed", "float", False, True),
            ),
            time_column="enrolled_at",
            key=("customer_id",),
        ),
    )
}


def spec_for(table: str) -> TableSpec:
    """Return the spec of a canonical table, or raise with the known names."""
    try:
        return TABLE_SPECS[table]
    except KeyError:
        raise SchemaError(f"unknown table {table!r}; the data contract's tables are {list(TABLE_SPECS)}: "
                          "give one of them") from None
