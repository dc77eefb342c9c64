"""Exceptions raised by churnml.

Every error a user can cause derives from :class:`ChurnMLError`. Each child is
also a :class:`ValueError` (or another builtin where that fits better) so that
callers who catch the builtin keep working. Messages name the thing, what was
expected, what was found and the fix.
"""

from __future__ import annotations

__all__ = [
    "ChurnMLError",
    "ConfigError",
    "DataWindowError",
    "EmptyDataError",
    "ModelError",
    "SchemaError",
    "raise_collected",
]


class ChurnMLError(Exception):
    """Base class of every error churnml raises on purpose."""


class ConfigError(ChurnMLError, ValueError):
    """The configuration (YAML file or ``--set`` override) is invalid."""


class SchemaError(ChurnMLError, ValueError):
    """An input table does not match the data contract.

    Parameters
    ----------
    problems : list of str
        One readable line per problem found; all problems are reported at once.
    table : str, optional
        The canonical name of the table, when all problems concern one table.
    """

    def __init__(self, problems: list[str] | str, table: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.table = table
        head = f"table '{table}': " if table else ""
        if len(self.problems) == 1:
            message = head + self.problems[0]
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{head}{len(self.problems)} problems found:\n{lines}"
        super().__init__(message)


class EmptyDataError(ChurnMLError, ValueError):
    """A computation received no rows where it needs at least one."""


class DataWindowError(ChurnMLError, ValueError):
    """The data cannot support the asked cutoff, horizon or window."""


class ModelError(ChurnMLError, ValueError):
    """A model cannot be trained, loaded or applied as asked."""


def raise_collected(errors: list[SchemaError | EmptyDataError]) -> None:
    """Raise the errors collected over several tables: one as it is, several as one SchemaError.

    Lets a reader of many tables report every table's problems at once. Nothing is
    raised for an empty list.
    """
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SchemaError([p for e in errors for p in getattr(e, "problems", [str(e)])])

