"""Dependencies as ``Annotated`` aliases: a session, the calling key, scope checks, grid visibility."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hub.api.audit import client_of, note_of, sent_key_identity, sent_prefix
from hub.api.keys import MISS, Principal, authenticate, hash_key
from hub.api.masking import Masker
from hub.api.pagination import CURSOR_VAULT
from hub.api.problems import ApiProblem
from hub.api.state import ApiState
from hub.api.subtree import CodeRange, intersect, subtree
from hub.db.models import EntityRedirect, GridCell

bearer = HTTPBearer(auto_error=False, description="an API key from `hub keys create`")


def state_of(request: Request) -> ApiState:
    return request.app.state.hub


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Async on purpose: a Session connects lazily, so making one needs no thread hop; the queries
    themselves run in the endpoint's worker thread."""
    with state_of(request).sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _allowed_params(request: Request) -> frozenset[str] | None:
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return None
    cache = state_of(request).route_params
    allowed = cache.get(route.path)
    if allowed is None:
        allowed = frozenset(p.alias for p in get_flat_dependant(route.dependant).query_params)
        cache[route.path] = allowed
    return allowed


def _lookup(state: ApiState, key: str) -> Principal | None:
    with state.sessions() as session:
        return authenticate(session, key)


def _refresh(state: ApiState, key: str) -> asyncio.Task[Principal | None]:
    """The one lookup of ``key`` in flight, started if there is none (its answer goes into the cache).

    Measured: when a busy key's entry expired, every request in flight missed at once and each sent its
    own query (25 lookups every 2 s at 32 concurrent), queued on the two worker threads behind the event
    loop's work; the requests waiting on them were the detail route's 300-900 ms p99."""
    digest = hash_key(key)
    task: asyncio.Task[Principal | None] | None = state.key_lookups.get(digest)
    if task is None:
        task = asyncio.get_running_loop().create_task(run_in_threadpool(_lookup, state, key))
        state.key_lookups[digest] = task

        def settle(done: asyncio.Task[Principal | None]) -> None:
            state.key_lookups.pop(digest, None)
            if not done.cancelled() and done.exception() is None:  # a failed lookup is raised to its waiters
                state.keys.put(key, done.result())

        task.add_done_callback(settle)
    return task


async def _principal(state: ApiState, key: str) -> Principal | None | object:
    """The key's principal (None: unknown or revoked): from the cache, refreshed ahead while it still
    answers; on a miss, every request waits for the same one lookup. Never a query on the event loop:
    a blocked loop can't return connections."""
    answer, due = state.keys.lookup(key)
    if answer is MISS:
        return await asyncio.shield(_refresh(state, key))  # a client gone away does not cancel the others' lookup
    if due:
        _refresh(state, key)
    return answer


async def current_key(request: Request,
                      creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """401 without a live key, 429 over its rate, 400 on a query parameter the route does not take.

    Keys are looked up through a cache of a few seconds (``KeyCache``): a revocation takes effect
    within that time, and the lookup costs no query on the hot path (``_principal``).
    """
    if creds is None:
        raise ApiProblem(401, "send an API key as `Authorization: Bearer <key>`", title="Missing API key",
                         headers={"WWW-Authenticate": "Bearer"})
    state = state_of(request)
    address = client_of(request.scope) or "-"
    locked = state.auth_throttle.locked(address) if state.auth_throttle else None
    if locked is not None:  # too many bad keys from this address: not even looked up (audited as a 429)
        note_of(request).key_name = sent_prefix(creds.credentials)
        raise ApiProblem(429, "too many failed authentications from this address", title="Too many attempts",
                         headers={"Retry-After": str(locked)})
    principal = await _principal(state, creds.credentials)
    if not isinstance(principal, Principal):
        if state.auth_throttle:
            state.auth_throttle.failed(address)
        note = note_of(request)  # the audit names the key that was sent: its id when it is ours (revoked)
        note.key_id, note.key_name = await run_in_threadpool(sent_key_identity, state.sessions, creds.credentials)
        raise ApiProblem(401, "the API key is unknown or revoked", title="Invalid API key",
                         headers={"WWW-Authenticate": "Bearer"})
    note = note_of(request)
    note.key_id, note.key_name = principal.id, principal.name
    CURSOR_VAULT.set(state.vault)
    wait = state_of(request).limiter.take(principal.id)
    if wait is not None:
        raise ApiProblem(429, f"rate limit of {state_of(request).limiter.per_minute}/min exceeded for this key",
                         headers={"Retry-After": str(wait)})
    values = [*request.query_params.values(), *map(str, request.path_params.values())]
    if any("\x00" in v for v in values):  # no store keeps NUL in text; PostgreSQL refuses it outright
        raise ApiProblem(400, "parameters may not contain NUL characters", title="Invalid parameter")
    allowed = _allowed_params(request)
    if allowed is not None:
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise ApiProblem(400, f"unknown query parameter(s): {', '.join(unknown)}; this route takes: "
                             f"{', '.join(sorted(allowed)) or 'none'}", title="Unknown query parameter")
    return principal


CurrentKey = Annotated[Principal, Depends(current_key)]


def require(scope: str):  # type: ignore[no-untyped-def]
    async def check(key: CurrentKey) -> Principal:
        if not key.has(scope):
            raise ApiProblem(403, f"this key lacks the scope {scope}", title="Missing scope")
        return key

    check.__name__ = f"require_{scope.replace(':', '_')}"
    return Depends(check)


GridsKey = Annotated[Principal, require("read:grids")]
PeopleKey = Annotated[Principal, require("read:people")]
EventsKey = Annotated[Principal, require("read:events")]
QualityKey = Annotated[Principal, require("read:quality")]


def masker_of(request: Request, key: Principal) -> Masker:
    state = state_of(request)
    return Masker(state.vault, key, state.masked)


def grid_level(request: Request, session: Session, code: str) -> int | None:
    """A grid's level (cached: a code's level never changes), or None when there is no such grid."""
    levels = state_of(request).grid_levels
    if code not in levels:
        level = session.scalar(select(GridCell.level).where(GridCell.code == code))
        if level is None:
            return None
        levels[code] = level
    return levels[code]


def key_range(request: Request, session: Session, key: Principal) -> CodeRange | None:
    if key.grid_code is None:
        return None
    return subtree(key.grid_code, grid_level(request, session, key.grid_code))


def visible_range(request: Request, session: Session, key: Principal, grid: str | None) -> CodeRange | None:
    """The code range a list may show: the requested grid's subtree within the key's; 404 outside it."""
    bound = key_range(request, session, key)
    if grid is None:
        return bound
    level = grid_level(request, session, grid)
    if level is None:
        raise ApiProblem(404, f"no grid {grid}", title="Grid not found")
    effective = intersect(subtree(grid, level), bound)
    if effective is False:
        raise ApiProblem(404, f"no grid {grid}", title="Grid not found")
    return effective or None


def check_visible(request: Request, session: Session, key: Principal, grid_code: str | None, what: str) -> None:
    """404 (not 403) for an entity outside a grid-bound key's subtree: its existence is not revealed."""
    bound = key_range(request, session, key)
    if bound is not None and not bound.contains(grid_code):
        raise ApiProblem(404, f"no {what}", title="Not found")


def canonical_id(session: Session, entity_type: str, entity_id: str) -> str | None:
    """Where a merged id now points (following chains), or None when it never was merged."""
    seen: set[str] = set()
    current = entity_id
    while current not in seen and len(seen) < 10:
        seen.add(current)
        nxt = session.scalar(select(EntityRedirect.new_id).where(
            EntityRedirect.old_id == current, EntityRedirect.entity_type == entity_type))
        if nxt is None:
            break
        current = nxt
    return None if current == entity_id else current
