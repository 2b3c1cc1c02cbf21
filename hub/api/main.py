"""The read API's app factory: ``create_app(HubContext | ApiSettings)``."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker

from hub.api.audit import AuditLog, AuditMiddleware
from hub.api.problems import install_problem_handlers, problem_openapi
from hub.api.ratelimit import RateLimiter
from hub.api.state import ApiSettings, ApiState
from hub.console import PREFIX as CONSOLE_PREFIX
from hub.console import create_console
from hub.console.apidocs import install_api_docs
from hub.context import HubContext
from hub.db.session import JSON_CODEC

__all__ = ["ApiSettings", "create_app"]

DESCRIPTION = """Unified grid data (grids, people, households, buildings, organisations, events) for
downstream apps. Send a key from `hub keys create` as `Authorization: Bearer <key>`. Scopes decide what a
key sees; a key bound to a grid sees only that grid's subtree (anything else answers 404). Without
`read:pii`, citizen IDs and phones are masked. Lists are keyset-paginated: pass `next_cursor` back as
`cursor`. Every error is `application/problem+json` (RFC 9457)."""


# Two threads: one can wait on the store while the other computes; more only contend for the GIL
# (measured: 4 threads doubled the p99 of a 50-row page at 4 concurrent, bench/results/api.md).
WORKER_THREADS = 2
# The young generation is collected every GC_YOUNG allocations instead of CPython's 700: a 50-row page
# allocates thousands of short-lived objects, and frequent (cascading) collections were the p99 tail.
GC_YOUNG = 50_000
# A request holds its connection until its response is serialised; the pool must outgrow the
# requests `hub serve` lets in at once (MAX_IN_FLIGHT), or waiting threads starve the ones that
# would return connections.
POOL_SIZE, POOL_OVERFLOW, MAX_IN_FLIGHT = 32, 64, 80


def api_engine(url: str) -> Engine:
    """The API's own engine: the store's settings, a pool sized for concurrent readers."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, **JSON_CODEC)
    engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, **JSON_CODEC)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    return engine


def settings_of(source: HubContext | ApiSettings) -> ApiSettings:
    if isinstance(source, ApiSettings):
        return source
    return ApiSettings(database_url=source.db_url, vault=source.vault,
                       rate_limit_per_minute=source.config.api.rate_limit_per_minute,
                       auth_failures_allowed=source.config.api.auth_failures_allowed, config=source.config,
                       audit_journal=source.landing / "_audit")


def create_app(source: HubContext | ApiSettings) -> FastAPI:
    from hub.api.routers import ROUTERS

    settings = settings_of(source)
    engine = api_engine(settings.database_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    state = ApiState(settings=settings, engine=engine, sessions=sessions, limiter=RateLimiter(settings.rate_limit_per_minute),
                     audit=AuditLog(sessions, journal=settings.journal_folder()))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # as many worker threads as the store's connection pool holds: more only queue on the pool
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        thresholds = gc.get_threshold()
        gc.collect()
        gc.freeze()  # the app's import-time objects are never garbage: keep them out of every collection
        gc.set_threshold(GC_YOUNG, *thresholds[1:])
        state.audit.start()
        try:
            yield
        finally:
            state.audit.stop()
            engine.dispose()
            gc.set_threshold(*thresholds)
            gc.unfreeze()

    app = FastAPI(title="gridhub read API", version="1", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.hub = state
    for router in ROUTERS:
        app.include_router(router)
    install_api_docs(app)  # Swagger UI from vendored assets: a closed network reaches no CDN
    if isinstance(source, HubContext):  # the console needs hub.yaml (contracts for replay, its own config)
        app.mount(CONSOLE_PREFIX, create_console(source, sessions))
    install_problem_handlers(app)
    problem_openapi(app)
    app.add_middleware(AuditMiddleware, audit=state.audit)
    return app
