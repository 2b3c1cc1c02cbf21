"""Opaque keyset cursors: the last row's sort key plus a fingerprint of the filters it was made for."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from hub.api.problems import ApiProblem

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null at the end")


def fingerprint(filters: dict[str, Any]) -> str:
    text = json.dumps(filters, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def encode_cursor(filters: dict[str, Any], key: list[Any]) -> str:
    raw = json.dumps([fingerprint(filters), key], separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, filters: dict[str, Any], arity: int) -> list[Any] | None:
    """The sort key to continue after, or None for the first page; a foreign cursor is a 400."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        fp, key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ApiProblem(400, "the cursor is not one this API issued", title="Invalid cursor") from None
    if fp != fingerprint(filters):
        raise ApiProblem(400, "the cursor was issued for other filters: repeat the same query parameters",
                         title="Invalid cursor")
    if not isinstance(key, list) or len(key) != arity or not all(isinstance(k, str | int) for k in key):
        raise ApiProblem(400, "the cursor is not one this API issued", title="Invalid cursor")
    return key


def next_cursor(rows: list[Any], limit: int, filters: dict[str, Any], key_of: Any) -> str | None:
    """``rows`` was fetched with ``limit + 1``: a cursor only when there is more."""
    if len(rows) <= limit:
        return None
    return encode_cursor(filters, list(key_of(rows[limit - 1])))
