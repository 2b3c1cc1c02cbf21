"""Unknown keys in hub.yaml are errors, named with file, line and the closest known key.

A misspelt key must not silently fall back to a default (``databse:`` used to open a new, empty
store). The known keys are read from the pydantic models' declared fields, so a field another
part of the hub adds to ``hub/config.py`` is known at once; a source's connector-specific options
are checked against what its connector declares (``Connector.options``).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

#: key path (("sources", "population", "batch_size")) -> 1-based line in the file
KeyLines = dict[tuple[str, ...], int]


@dataclass(frozen=True)
class UnknownKey:
    path: tuple[str, ...]
    line: int | None
    known: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.path[-1]

    def suggestion(self) -> str | None:
        close = difflib.get_close_matches(self.key, self.known, n=1, cutoff=0.6)
        return close[0] if close else None

    def message(self, file: Path, what: str = "") -> str:
        where = f"{file} line {self.line}" if self.line else str(file)
        dotted = ".".join(self.path)
        hint = self.suggestion()
        tail = f"did you mean {hint!r}?" if hint else f"known: {', '.join(self.known) or 'none'}"
        return f"{where}: unknown key {dotted!r}{what} ({tail})"


def key_lines(text: str) -> KeyLines:
    """Where each mapping key sits, from YAML's node tree (safe_load drops positions)."""
    lines: KeyLines = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = (*path, str(key_node.value))
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key)

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def _arms(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _arms(typing.get_args(annotation)[0])
    return [annotation]


def _closed_keys(key_type: Any) -> tuple[str, ...] | None:
    """A dict keyed by a Literal has a closed set of keys (``resolve: {lower, upper}``)."""
    if typing.get_origin(key_type) is Literal:
        return tuple(str(a) for a in typing.get_args(key_type))
    return None


def _check_value(value: Any, annotation: Any, path: tuple[str, ...], lines: KeyLines,
                 found: list[UnknownKey]) -> None:
    if not isinstance(value, Mapping):
        return
    for arm in _arms(annotation):
        if isinstance(arm, type) and issubclass(arm, BaseModel):
            _check_model(value, arm, path, lines, found)
            return
        if typing.get_origin(arm) in (dict, Mapping, typing.get_origin(Mapping[str, int])):
            key_type, value_type = typing.get_args(arm) or (str, Any)
            closed = _closed_keys(key_type)
            for key, item in value.items():
                sub = (*path, str(key))
                if closed is not None and str(key) not in closed:
                    found.append(UnknownKey(sub, lines.get(sub), closed))
                else:
                    _check_value(item, value_type, sub, lines, found)
            return


def yaml_fields(model: type[BaseModel], hidden: Iterable[str] = ()) -> tuple[str, ...]:
    """The keys a model takes from a file: its declared fields (aliases when set)."""
    return tuple(info.alias or name for name, info in model.model_fields.items() if name not in hidden)


def _check_model(value: Mapping[str, Any], model: type[BaseModel], path: tuple[str, ...], lines: KeyLines,
                 found: list[UnknownKey], hidden: Iterable[str] = ()) -> None:
    known = yaml_fields(model, hidden)
    open_model = model.model_config.get("extra") == "allow" and path != ()
    for key, item in value.items():
        sub = (*path, str(key))
        if str(key) in known:
            field = model.model_fields.get(str(key))
            if field is not None:
                _check_value(item, field.annotation, sub, lines, found)
        elif not open_model:
            found.append(UnknownKey(sub, lines.get(sub), known))


def unknown_keys(raw: Mapping[str, Any], model: type[BaseModel], lines: KeyLines,
                 hidden: Iterable[str] = ()) -> list[UnknownKey]:
    """Every key of ``raw`` (recursively) that ``model`` does not declare, in file order.

    Models that allow extras (a source: its connector's options) are left to ``unknown_options``.
    """
    found: list[UnknownKey] = []
    _check_model(raw, model, (), lines, found, hidden)
    return sorted(found, key=lambda u: (u.line or 0, u.path))


def unknown_options(path: tuple[str, ...], given: Iterable[str], hub_keys: Iterable[str],
                    declared: Iterable[str], lines: KeyLines) -> list[UnknownKey]:
    """A source's keys that neither the hub nor its connector knows."""
    known = tuple(sorted({*hub_keys, *declared}))
    return [UnknownKey((*path, key), lines.get((*path, key)), known) for key in given if key not in known]
