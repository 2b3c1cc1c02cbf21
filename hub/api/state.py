"""What a running API holds: its settings and the shared state every request reads.

Its own module so that the app factory (``main``) and the request dependencies (``deps``) both
import it and neither imports the other: data and imports flow one way, main → routers → deps → state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.api.audit import AuditLog
from hub.api.keys import KeyCache
from hub.api.masking import MaskedForms
from hub.api.ratelimit import AuthThrottle, RateLimiter
from hub.privacy import Vault


@dataclass
class ApiSettings:
    """What the API needs when there is no hub.yaml (tests, benchmarks, embedding)."""

    database_url: str
    vault: Vault
    rate_limit_per_minute: int = 600
    auth_failures_allowed: int = 10  # bad keys per client address in 10 minutes before lockouts begin
    config: Any = None  # the HubConfig it was started from: the county's calendar, ledger categories, annex
    audit_journal: Path | None = None  # where audit rows wait for the store (default: beside a SQLite store)

    def journal_folder(self) -> Path | None:
        if self.audit_journal is not None:
            return self.audit_journal
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            db = Path(self.database_url[len("sqlite:///"):].split("?", 1)[0])
            return db.parent / f".{db.name}.audit-journal"
        return None


@dataclass
class ApiState:
    settings: ApiSettings
    engine: Engine
    sessions: sessionmaker[Session]
    limiter: RateLimiter
    audit: AuditLog
    keys: KeyCache = field(default_factory=KeyCache)
    route_params: dict[str, frozenset[str]] = field(default_factory=dict)
    grid_levels: dict[str, int] = field(default_factory=dict)
    away: dict[Any, Any] = field(default_factory=dict)  # range -> (person table version, who lives elsewhere)
    auth_throttle: AuthThrottle | None = None
    detail: Any = None  # the person detail's statement compiled for this engine (SQLite; persons.py)
    pages: Any = None  # the plain grid page's statements compiled for this engine (SQLite; grid_page.py)
    key_lookups: dict[str, Any] = field(default_factory=dict)  # key hash -> the one lookup of it in flight
    masked: MaskedForms = field(default_factory=MaskedForms)  # masked IDs and phones by token, never clear values

    def __post_init__(self) -> None:
        if self.auth_throttle is None:
            self.auth_throttle = AuthThrottle(self.settings.auth_failures_allowed)

    @property
    def vault(self) -> Vault:
        return self.settings.vault
