"""Raw configuration trees: the YAML file, ``--set`` overrides and the error report.

:func:`churnml.config.load_config` is the entry point; the steps live here so
that :mod:`churnml.config` holds only the typed sections. A *tree* is the
nested ``dict`` a YAML file parses to, before validation.
"""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from churnml.errors import ConfigError

__all__ = ["apply_overrides", "read_tree", "validate_tree"]

M = TypeVar("M", bound=BaseModel)


def read_tree(path: str | Path | None) -> tuple[dict[str, Any], str]:
    """Read a YAML config file into a raw tree.

    Parameters
    ----------
    path : str or Path or None
        A YAML file; None means no file (an empty tree, the defaults).

    Returns
    -------
    tree : dict
        The sections of the file (empty for an empty file or ``path=None``).
    origin : str
        Where the tree came from, for error messages: the path or ``defaults``.

    Raises
    ------
    ConfigError
        The file is missing, is not valid YAML or is not a mapping.
    """
    if path is None:
        return {}, "defaults"
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} not found (working folder {Path.cwd()})")
    try:
        loaded = yaml.load(p.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
    except ValueError as exc:  # YAML reads 1998-02-30 as a date, and the date does not exist
        raise ConfigError(f"{p}: {_no_such_date(exc)}") from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"{p}: expected a mapping of sections at the top level")
    return loaded or {}, str(p)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the last, in silence)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *anchor': merged keys may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:  # an unhashable key: the base loader says what is wrong with it
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice in one mapping (first at line {seen[key]}); "
                    "merge the two into one, since YAML would keep only the last", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _no_such_date(exc: ValueError) -> str:
    return (f"a date that does not exist ({exc}); write a real calendar date as YYYY-MM-DD, "
            "e.g. 1998-02-28")


def _set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for k in keys[:-1]:
        child = node.get(k)
        if child is None:
            child = node[k] = {}
        if not isinstance(child, dict):
            raise ConfigError(
                f"--set {dotted}: '{k}' holds a value, not a section; cannot set '{dotted}'"
            )
        node = child
    node[keys[-1]] = value


def apply_overrides(tree: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides to a raw config tree.

    Values are parsed as YAML scalars, so ``90`` is an int, ``null`` is None and
    ``[7, 30]`` is a list.
    """
    bad = [o for o in overrides if "=" not in o or not o.split("=", 1)[0].strip()]
    if bad:
        raise ConfigError(
            f"--set expects section.key=value, got {bad}; e.g. --set time.horizon_days=90"
        )
    for item in overrides:
        key, raw = item.split("=", 1)
        try:
            value = yaml.load(raw, Loader=_UniqueKeyLoader) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item}: the value is not valid YAML ({exc})") from exc
        except ValueError as exc:  # a date that does not exist, e.g. 1998-02-30
            raise ConfigError(f"--set {item}: {_no_such_date(exc)}") from exc
        _set_path(tree, key.strip(), value)
    return tree


def _keys_at(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """The keys a section at ``path`` (below ``model``) accepts; empty when the path leads to no section.

    A mapping of sections (``data.tables``) takes any key, then the section it maps to.
    """
    node: Any = model
    parts = list(path)
    while parts:
        part = parts.pop(0)
        fields = getattr(node, "model_fields", None)
        if fields is None or str(part) not in fields:
            return []
        node = fields[str(part)].annotation
        for _ in range(3):  # unwrap Optional[...] and dict[str, Section]
            if isinstance(node, type) and issubclass(node, BaseModel):
                break
            args = [a for a in typing.get_args(node) if a is not type(None)]
            if typing.get_origin(node) is dict and len(args) == 2:
                if not parts:
                    return []
                parts.pop(0)  # the mapping's own key, e.g. the table name
                node = args[1]
            elif len(args) == 1:
                node = args[0]
            else:
                return []
    return list(getattr(node, "model_fields", {}))


def _dotted_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key of ``model``'s sections, dotted (``time.horizon_days``, ``data.synthetic.customers``); a
    mapping of sections (``data.tables``) is not entered."""
    keys = []
    for name, field in model.model_fields.items():
        node: Any = field.annotation
        args = [a for a in typing.get_args(node) if a is not type(None)]
        if len(args) == 1:  # Optional[Section]
            node = args[0]
        if isinstance(node, type) and issubclass(node, BaseModel):
            keys.extend(_dotted_keys(node, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def _format_errors(err: ValidationError, origin: str, model: type[BaseModel] | None = None,
                   section: str = "", hint: str = "") -> ConfigError:
    lines = []
    # the keys of every section, for a key given in another section (returns: keep at the top, for data.returns)
    every = _dotted_keys(model) if model is not None and not section else []
    for e in err.errors():
        loc = ".".join([section] * bool(section) + [str(p) for p in e["loc"]]) or "(top level)"
        if e["type"] in ("extra_forbidden", "no_such_attribute"):
            name = str(e["loc"][-1])
            elsewhere = [k for k in every
                         if k.rsplit(".", 1)[-1] == name and tuple(k.split(".")[:-1]) != tuple(e["loc"][:-1])]
            near = sorted(elsewhere, key=lambda k: (k.count("."), k)) or difflib.get_close_matches(
                name, _keys_at(model, e["loc"][:-1]) if model else [], n=1)
            msg = (f"unknown key; did you mean {' or '.join(repr(k) for k in near)}?" if near
                   else "unknown key; check its spelling against the documented keys")
        elif e["type"] == "value_error":
            msg = e["msg"].removeprefix("Value error, ")
        else:
            msg = e["msg"]
        got = e.get("input")
        shown = "" if isinstance(got, (dict, BaseModel)) or e["type"] == "missing" else f" (got {got!r})"
        lines.append(f"  - {loc}: {msg}{shown}")
    return ConfigError(f"{origin}: {len(lines)} problem(s) in the configuration:\n" + "\n".join(lines) + hint)


def assignment_error(err: ValidationError, model: type[BaseModel], section: str, name: str = "") -> ConfigError:
    """The error of an assignment a section refuses (``cfg.time.horizon_days = -3``).

    Parameters
    ----------
    err : ValidationError
        pydantic's error for the assignment.
    model : type
        The section's model (its keys suggest the one meant by a misspelt name).
    section : str
        Where the section sits (``time``; empty for the whole configuration).
    name : str
        The key assigned: a check of the section that names it is about that key alone.

    Returns
    -------
    ConfigError
        As loading reports it: the dotted key, what is wrong and the value given.
    """
    across = [e for e in err.errors() if not e["loc"] and not str(e["msg"]).startswith(f"Value error, {name}: ")]
    hint = (f" (keys checked together are set together: give them to load_config(path, overrides=[...]) or assign "
            f"the section whole: cfg{'.' * bool(section)}{section} = {model.__name__}(...))") if across else ""
    # a check across keys: one assignment cannot satisfy it
    return _format_errors(err, f"setting a key of {section or 'the configuration'}", model, section, hint)


def validate_tree(model: type[M], tree: dict[str, Any], origin: str) -> M:
    """Validate a raw tree as ``model``, reporting every problem at once.

    Parameters
    ----------
    model : type
        The pydantic model of the tree (:class:`churnml.config.Config`).
    tree : dict
        The raw tree, after overrides.
    origin : str
        Where the tree came from; starts the error message.

    Raises
    ------
    ConfigError
        One line per problem: the dotted key, what is wrong and the value given.
    """
    try:
        return model.model_validate(tree)
    except ValidationError as exc:
        raise _format_errors(exc, origin, model) from None
