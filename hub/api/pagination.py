"""Keyset cursors: the last row's sort key plus a fingerprint of the filters it was made for, signed
with the install's key (HMAC) so a client can neither forge one nor edit the position it holds."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from hub.api.problems import ApiProblem
from hub.privacy import Vault

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null at the end")


#: the install's vault for this request (set by ``deps.current_key``): cursors are signed with its key
CURSOR_VAULT: ContextVar[Vault | None] = ContextVar("cursor_vault", default=None)
#: a sort key that is a number must fit the smallest integer column it is compared with (PostgreSQL int4)
INT_LIMIT = 2**31 - 1


#: fingerprints already computed, by the filters' (name, type, value) triples: a walk repeats its filters
#: on every page, and each page decodes and encodes a cursor
_FINGERPRINTS: dict[tuple[tuple[str, type, Any], ...], str] = {}


def fingerprint(filters: dict[str, Any]) -> str:
    try:
        memo = tuple(sorted((name, type(value), value) for name, value in filters.items()))
        known = _FINGERPRINTS.get(memo)
    except TypeError:  # an unhashable or unorderable value: computed every time
        memo, known = None, None
    if known is not None:
        return known
    text = json.dumps(filters, sort_keys=True, default=str, ensure_ascii=False)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    if memo is not None:
        if len(_FINGERPRINTS) >= 10_000:  # bounded: dict operations are atomic under the GIL, no lock
            _FINGERPRINTS.clear()
        _FINGERPRINTS[memo] = digest
    return digest


def _invalid(detail: str = "the cursor is not one this API issued") -> ApiProblem:
    return ApiProblem(400, detail, title="Invalid cursor")


def _vault() -> Vault:
    vault = CURSOR_VAULT.get()
    if vault is None:
        raise RuntimeError("no vault for cursors: the route must depend on CurrentKey")
    return vault


def encode_cursor(filters: dict[str, Any], key: list[Any]) -> str:
    """``<payload>.<HMAC>``: the client may read its cursor but not forge or edit one."""
    raw = base64.urlsafe_b64encode(json.dumps([fingerprint(filters), key], separators=(",", ":"),
                                              default=str).encode()).decode().rstrip("=")
    return raw + "." + _vault().sign(raw.encode())


def decode_cursor(cursor: str | None, filters: dict[str, Any], arity: int, *, nullable_first: bool = False
                  ) -> list[Any] | None:
    """The sort key to continue after, or None for the first page; a foreign, edited or forged
    cursor is a 400, whatever it holds (no value from it reaches a query unsigned). With
    ``nullable_first`` the key's first value may be null (a grid page's person with no grid code)."""
    if cursor is None:
        return None
    payload, _, signature = cursor.partition(".")
    if not payload or not signature or not _vault().verify(payload.encode(), signature):
        raise _invalid()
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        fp, key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise _invalid() from None
    if fp != fingerprint(filters):
        raise _invalid("the cursor was issued for other filters: repeat the same query parameters")
    if (not isinstance(key, list) or len(key) != arity
            or not all(isinstance(k, str) or (type(k) is int and abs(k) <= INT_LIMIT)
                       or (k is None and i == 0 and nullable_first) for i, k in enumerate(key))):
        raise _invalid()
    return key


def next_cursor(rows: list[Any], limit: int, filters: dict[str, Any], key_of: Any) -> str | None:
    """``rows`` was fetched with ``limit + 1``: a cursor only when there is more."""
    if len(rows) <= limit:
        return None
    return encode_cursor(filters, list(key_of(rows[limit - 1])))
