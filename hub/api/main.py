"""The read API's app factory: ``create_app(HubContext | ApiSettings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from hub.api.audit import AuditLog, AuditMiddleware
from hub.api.keys import KeyCache
from hub.api.problems import install_problem_handlers, problem_openapi
from hub.api.ratelimit import RateLimiter
from hub.context import HubContext
from hub.db.session import session_factory
from hub.privacy import Vault

DESCRIPTION = """Unified grid data (grids, people, households, buildings, organisations, events) for
downstream apps. Send a key from `hub keys create` as `Authorization: Bearer <key>`. Scopes decide what a
key sees; a key bound to a grid sees only that grid's subtree (anything else answers 404). Without
`read:pii`, citizen IDs and phones are masked. Lists are keyset-paginated: pass `next_cursor` back as
`cursor`. Every error is `application/problem+json` (RFC 9457)."""


WORKER_THREADS = 12


@dataclass
class ApiSettings:
    """What the API needs when there is no hub.yaml (tests, benchmarks, embedding)."""

    database_url: str
    vault: Vault
    rate_limit_per_minute: int = 600


@dataclass
class ApiState:
    settings: ApiSettings
    sessions: sessionmaker[Session]
    limiter: RateLimiter
    audit: AuditLog
    keys: KeyCache = field(default_factory=KeyCache)
    route_params: dict[str, frozenset[str]] = field(default_factory=dict)
    grid_levels: dict[str, int] = field(default_factory=dict)

    @property
    def vault(self) -> Vault:
        return self.settings.vault


def settings_of(source: HubContext | ApiSettings) -> ApiSettings:
    if isinstance(source, ApiSettings):
        return source
    return ApiSettings(database_url=source.db_url, vault=source.vault,
                       rate_limit_per_minute=source.config.api.rate_limit_per_minute)


def create_app(source: HubContext | ApiSettings) -> FastAPI:
    from hub.api.routers import ROUTERS

    settings = settings_of(source)
    sessions = session_factory(settings.database_url)
    state = ApiState(settings=settings, sessions=sessions, limiter=RateLimiter(settings.rate_limit_per_minute),
                     audit=AuditLog(sessions))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # as many worker threads as the store's connection pool holds: more only queue on the pool
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        state.audit.start()
        try:
            yield
        finally:
            state.audit.stop()

    app = FastAPI(title="gridhub read API", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.hub = state
    for router in ROUTERS:
        app.include_router(router)
    install_problem_handlers(app)
    problem_openapi(app)
    app.add_middleware(AuditMiddleware, audit=state.audit)
    return app
