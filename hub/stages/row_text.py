"""A stored row's JSON text built down Arrow columns instead of one dict and one encoder call a row.

The content hash is an HMAC over ``json.dumps(row, ensure_ascii=False, sort_keys=True,
default=str)`` and the store keeps ``orjson.dumps(row)``: both texts must stay byte for byte what
the row-at-a-time code wrote (stored hashes are compared across versions). So each column becomes
its values' JSON texts in Arrow (strings quoted, integers printed, dates and naive microsecond
timestamps in Python's ``isoformat``), and every value Arrow cannot print provably alike (a string
holding a quote, a backslash or a control character, a float, another type) is printed by the very
encoder the row-at-a-time code used; one element-wise join then makes every row's text. A column
that encoder refuses (orjson and an integer beyond 64 bits) returns None: the caller takes the row
path. tests/quality/test_row_text.py compares both on awkward values.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

#: characters either encoder escapes (json: ``"``, ``\\``, C0; orjson the same): such values go through it
_ESCAPED = r'[\x00-\x1f"\\\x7f]'
_STDLIB = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


def _stdlib(value: Any) -> str:
    return _STDLIB.encode(value)


def _orjson(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class Style:
    """One encoder's way of writing a row: its separators and how it prints one value."""

    def __init__(self, item: str, key: str, encode: Callable[[Any], str], sort: bool) -> None:
        self.item, self.key, self.encode, self.sort = item, key, encode, sort


#: the content hash's text (``json.dumps(..., ensure_ascii=False, sort_keys=True, default=str)``)
HASHED = Style(", ", ": ", _stdlib, sort=True)
#: the store's JSON text (``hub.db.session.json_text``: orjson)
STORED = Style(",", ":", _orjson, sort=False)


def jsonable(value: Any) -> Any:
    """A stored row's value as the row path writes it: dates and times as ISO text."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _quoted(strings: pa.Array, style: Style) -> pa.Array:
    """JSON text of a string column: quoted as it is, or by the style's encoder where it escapes."""
    text = pc.binary_join_element_wise('"', strings, '"', "")
    hard = pc.fill_null(pc.match_substring_regex(strings, _ESCAPED), False)
    if pc.any(hard).as_py():
        rows = pa.array(np.flatnonzero(hard.to_numpy(zero_copy_only=False)))
        text = pc.replace_with_mask(text, hard, pa.array([style.encode(v) for v in strings.take(rows).to_pylist()],
                                                         pa.string()))
    return pc.fill_null(text, "null")


def value_texts(arr: pa.Array, style: Style, *, temporal: bool) -> pa.Array | None:
    """Each value's JSON text (``null`` for a null); ``temporal``: dates written as ISO strings."""
    t = arr.type
    if pa.types.is_null(t):
        return pa.array(["null"] * len(arr), pa.string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _quoted(arr.cast(pa.string()), style)
    if pa.types.is_integer(t):
        return pc.fill_null(arr.cast(pa.string()), "null")
    if pa.types.is_boolean(t):
        return pc.fill_null(pc.if_else(arr, "true", "false"), "null")
    if temporal and pa.types.is_date32(t):  # Arrow and date.isoformat agree on years 1-9999
        return _quoted(arr.cast(pa.string()), style)
    if temporal and pa.types.is_timestamp(t) and t.unit == "us" and t.tz is None:
        # isoformat(sep=" ") leaves out a zero microsecond; Arrow always prints six digits
        return _quoted(pc.replace_substring_regex(arr.cast(pa.string()), r"\.000000$", ""), style)
    values = arr.to_pylist()
    try:
        return pa.array([style.encode(jsonable(v) if temporal else v) for v in values], pa.string())
    except TypeError:  # orjson refuses it: the row path's fallback encodes the whole row differently
        return None


def quoted_texts(values: Sequence[str | None]) -> pa.Array:
    """JSON text of strings that never need escaping (hex digests, base64url tokens), nulls as null."""
    return pc.fill_null(pc.binary_join_element_wise('"', pa.array(values, pa.string()), '"', ""), "null")


def row_texts(columns: dict[str, pa.Array], style: Style, rows: int) -> pa.Array | None:
    """Every row's text of ``{name: value}`` (values already JSON text), in the style's key order."""
    names = sorted(columns) if style.sort else list(columns)
    if not names or any(style.encode(name) != f'"{name}"' for name in names):
        return None  # a key the encoder escapes, or no key at all: the row path
    parts: list[Any] = []
    for n, name in enumerate(names):
        parts.append(("{" if n == 0 else style.item) + f'"{name}"{style.key}')
        parts.append(columns[name])
    parts.append("}")
    joined = pc.binary_join_element_wise(*parts, "")
    return joined if isinstance(joined, pa.Array) else pa.array([joined.as_py()] * rows, pa.string())
