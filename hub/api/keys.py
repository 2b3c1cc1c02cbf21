"""API keys: shown once at creation, stored only as a SHA-256 hash; scopes and an optional grid binding."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.base import utc_text, utcnow
from hub.db.models import ApiKey, GridCell
from hub.errors import HubError

SCOPES: dict[str, str] = {
    "read:grids": "grids, buildings and organisations, with per-grid summaries",
    "read:people": "persons and households (IDs and phones masked)",
    "read:pii": "unmasked citizen IDs and phones",
    "read:sensitive": "special-population status, police incidents and sensitive tags",
    "read:events": "disputes, incidents (with read:sensitive) and fire hazards",
    "read:quality": "source runs and quality; per-attribute provenance and linked source records",
}
KEY_PREFIX = "ghk_"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    id: int
    name: str
    scopes: frozenset[str]
    grid_code: str | None

    def has(self, scope: str) -> bool:
        return scope in self.scopes


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str) -> list[str]:
    scopes = sorted({s.strip() for s in text.split(",") if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise HubError(f"unknown scope(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(SCOPES)}")
    return scopes


def create_key(session: Session, name: str, scopes: list[str], grid_code: str | None = None) -> str:
    """Insert a key and return it in clear: the only time it is ever visible."""
    if not name or len(name) > 64:
        raise HubError("a key name must be 1-64 characters")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise HubError(f"a key named {name!r} already exists (revoke it or pick another name)")
    if grid_code is not None and session.get(GridCell, grid_code) is None:
        raise HubError(f"unknown grid {grid_code!r}: load the grid registry first (`hub sync grid-registry`)")
    prefix = KEY_PREFIX + secrets.token_hex(4)
    key = f"{prefix}.{secrets.token_urlsafe(32)}"
    session.add(ApiKey(name=name, prefix=prefix, key_hash=hash_key(key), scopes=list(scopes), grid_code=grid_code))
    session.flush()
    return key


def revoke_key(session: Session, name: str) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise HubError(f"no key named {name!r} (see `hub keys list`)")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def authenticate(session: Session, key: str) -> Principal | None:
    """The live key matching ``key``, or None (unknown, malformed or revoked)."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    row = session.execute(
        select(ApiKey.id, ApiKey.name, ApiKey.scopes, ApiKey.grid_code, ApiKey.revoked_at)
        .where(ApiKey.key_hash == hash_key(key))
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(id=row.id, name=row.name, scopes=frozenset(row.scopes or ()), grid_code=row.grid_code)


MISS = object()


class KeyCache:
    """Authenticated keys (and misses) remembered for ``ttl`` seconds, keyed by the key's hash."""

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    def peek(self, key: str) -> Principal | None | object:
        """The cached answer for ``key``, or ``MISS``."""
        return self.lookup(key)[0]

    def lookup(self, key: str) -> tuple[Principal | None | object, bool]:
        """(the cached answer or ``MISS``, whether it is due for a refresh: past half its ``ttl``).

        An answer is never given past its ``ttl`` (a revocation takes effect within it); refreshing it
        ahead, while it still answers, keeps a busy key from ever finding its entry expired."""
        hit = self._entries.get(hash_key(key))
        if hit is None:
            return MISS, True
        age = time.monotonic() - hit[0]
        if age >= self.ttl:
            return MISS, True
        return hit[1], age >= self.ttl / 2

    def put(self, key: str, principal: Principal | None) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[hash_key(key)] = (time.monotonic(), principal)


def describe(key: ApiKey) -> dict[str, object]:
    revoked: dt.datetime | None = key.revoked_at
    return {"name": key.name, "prefix": key.prefix, "scopes": list(key.scopes or []), "grid": key.grid_code,
            "created_at": utc_text(key.created_at, "seconds"), "revoked_at": utc_text(revoked, "seconds")}
