"""The ``data`` section of the configuration: which source, which tables, which rules.

:class:`DataConfig` and its parts (:class:`TableSource`, :class:`SyntheticConfig`)
live here, with :class:`StrictSection`, the base of every configuration
section. They are re-exported by :mod:`churnml.config`; import them from there.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from churnml.config_load import assignment_error
from churnml.errors import ConfigError

__all__ = ["DATA_SOURCES", "TABLES", "DataConfig", "StrictSection", "SyntheticConfig", "TableSource"]

#: The tables of the data contract, the keys ``data.tables`` accepts.
TABLES = (
    "transactions",
    "events",
    "subscriptions",
    "surveys",
    "tickets",
    "customers",
    "marketing_spend",
    "loyalty",
)


class StrictSection(BaseModel):
    """Base of every configuration section: unknown keys are rejected, assignments validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    #: Where the section sits in the configuration (``time``, ``data.tables.<table>``); names the key
    #: of an assignment the section refuses.
    section: ClassVar[str] = ""

    def __setattr__(self, name: str, value: Any) -> None:
        """Assign a key, refusing a wrong one with :class:`~churnml.errors.ConfigError` (as loading does).

        A refused value is not kept: pydantic leaves it in place when a check of the whole section
        (not of the key alone) refuses it.
        """
        before = dict(self.__dict__)
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise assignment_error(exc, type(self), self.section, name) from None

    @model_validator(mode="before")
    @classmethod
    def _no_yes_no_for_numbers(cls, data: Any) -> Any:
        """``true``/``false`` where a number is wanted is an error (pydantic would read them as 1 and 0)."""
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                value = data.get(name)
                if isinstance(value, bool) and _numeric(field.annotation):
                    raise ValueError(f"{name}: {value} is a yes/no value where a number is wanted; give a number")
                items = list(value.values()) if isinstance(value, dict) else value
                if isinstance(items, list) and _numeric(_item_type(field.annotation)):
                    flags = [item for item in items if isinstance(item, bool)]
                    if flags:
                        raise ValueError(
                            f"{name}: {value} holds the yes/no value {flags[0]} where numbers are wanted; give numbers"
                        )
        return data


def _numeric(annotation: Any) -> bool:
    """Whether a field's type is a number (int or float, optional or not) and not also a bool."""
    kinds = set(getattr(annotation, "__args__", ())) or {annotation}
    return bool(kinds & {int, float}) and bool not in kinds


def _item_type(annotation: Any) -> Any:
    """The item type of ``list[X]`` or the value type of ``dict[K, X]``; None for other types."""
    origin = getattr(annotation, "__origin__", None)
    args: tuple[Any, ...] = getattr(annotation, "__args__", ())
    return args[-1] if origin in (list, dict) and args else None


class TableSource(StrictSection):
    """Where one table comes from and how its columns map to canonical names.

    ``path`` is a file, or a folder of Parquet files (as Spark writes a table;
    ``format`` ``auto`` reads a folder as Parquet). ``columns`` maps canonical
    name -> the name in the user's file, e.g. ``{customer_id: cust_no, timestamp: order_date}``.
    ``values`` maps, per text column (canonical name), the file's values to the ones churnml reads, e.g.
    ``{event_type: {Login: login}, survey: {"Net Promoter Score": nps}}`` (:mod:`churnml.recode`).
    """

    section: ClassVar[str] = "data.tables.<table>"

    path: str
    format: Literal["csv", "parquet", "auto"] = "auto"
    columns: dict[str, str] = Field(default_factory=dict)
    read_options: dict[str, Any] = Field(default_factory=dict)
    values: dict[str, dict[Any, Any]] = Field(default_factory=dict)  # YAML reads `1: basic` with a number key


class SyntheticConfig(StrictSection):
    """Parameters of the seeded synthetic generator (``churnml.datasets``)."""

    section: ClassVar[str] = "data.synthetic"

    customers: int = Field(5_000, ge=10)
    seed: int = 42
    start: dt.date = dt.date(2023, 1, 1)
    months: int = Field(24, ge=3)
    churn_rate: float = Field(0.30, gt=0.0, lt=1.0)
    contractual_share: float = Field(0.4, ge=0.0, le=1.0)


DataSource = Literal["cdnow", "synthetic", "files"]
DATA_SOURCES: tuple[str, ...] = get_args(DataSource)  # the test window key's first field (churnml.tracking)


class DataConfig(StrictSection):
    """Which data to use.

    ``source``: ``cdnow`` (bundled), ``synthetic`` (generated in memory from
    ``synthetic``) or ``files`` (the paths in ``tables``). ``tables`` is read
    only with ``files``, so giving it with another source is an error.
    ``returns``: what negative amounts mean. ``error`` rejects them, ``keep``
    keeps them as returns (the KPI revenue and the RFM segments' monetary
    are net of them, the returns features count them, the spend features and
    the list's historical spend stay gross),
    ``drop`` removes them and logs how many.
    ``timezone``: the business's zone. Naive timestamps are its local times,
    those with an offset are converted to it, and days, months and cutoffs
    are its calendar's. ``end``: the declared last moment of the data
    (exclusive, a local time of ``timezone``); rows at or after it are an
    error.
    """

    section: ClassVar[str] = "data"

    source: DataSource = "cdnow"
    tables: dict[str, TableSource] = Field(default_factory=dict)
    synthetic: SyntheticConfig = Field(default_factory=SyntheticConfig)
    returns: Literal["error", "keep", "drop"] = "error"
    timezone: str = "UTC"
    end: dt.datetime | None = None
    duplicates: Literal["error", "keep", "drop"] = "error"
    #: An ``end`` given with an offset and the local time it became, so that a later ``timezone`` converts it
    #: again (assigning ``end`` forgets it; a copy made with ``model_copy(update=...)`` or a reload does not keep it).
    _end_with_offset: tuple[dt.datetime, dt.datetime] | None = PrivateAttr(None)

    def __setattr__(self, name: str, value: Any) -> None:
        if name != "end":
            super().__setattr__(name, value)
            return
        kept = self._end_with_offset
        self._end_with_offset = None  # an end set now is what it says, even the local time an earlier offset gave
        try:
            super().__setattr__(name, value)
        except ConfigError:  # refused: the end and what it was given as stay
            self._end_with_offset = kept
            raise

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            same = [z for z in sorted(zoneinfo.available_timezones()) if z.lower() == str(value).lower()]
            hint = f"did you mean {same[0]!r}?" if same else "e.g. 'UTC' or 'Europe/Berlin'"
            raise ValueError(f"not an IANA time zone name ({hint}); a fixed offset is not a zone") from None
        return value

    @model_validator(mode="after")
    def _check_tables(self) -> DataConfig:
        unknown = sorted(set(self.tables) - set(TABLES))
        if unknown:
            raise ValueError(
                f"unknown table(s) {unknown}; the data contract has {list(TABLES)}"
            )
        if self.tables and self.source != "files":
            raise ValueError(
                f"data.tables lists {sorted(self.tables)} but data.source is '{self.source}', which does "
                f"not read them (it would analyse the {self.source} data); set data.source: files "
                "(--set data.source=files) to read these tables, or remove data.tables"
            )
        if self.source == "files" and "transactions" not in self.tables:
            raise ValueError(
                "source is 'files' but data.tables has no 'transactions' entry; "
                "add data.tables.transactions.path"
            )
        given, local = self._end_with_offset or (None, None)
        if self.end is not None and self.end.tzinfo is None and self.end == local:
            self.__dict__["end"] = given  # the zone changed since: the instant given, in the new zone
        if self.end is not None and self.end.tzinfo is not None:  # with an offset: as a local time of the zone
            given = self.end
            self.__dict__["end"] = given.astimezone(zoneinfo.ZoneInfo(self.timezone)).replace(tzinfo=None)
            self._end_with_offset = (given, self.end)
        return self
