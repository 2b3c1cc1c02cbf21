"""/persons: filtered, keyset-paginated lists and the golden record of one person.

Ordering follows the index that serves the leading filter, so a page never sorts the table:
with ``grid`` (grid_code, id); else with ``tag`` person_id along the tag index; else with an age
bound (birth_date, id); otherwise id.

Where people live and where they are registered (人户分离): ``grid_code`` is the grid a person lives
in, ``registered_grid_code`` the one their household is registered in. ``grid=`` (or a grid-bound
key) lists, by default, everyone living in the grid's subtree and everyone registered there who
lives elsewhere; each item's ``presence`` says which (``resident`` / ``away``). ``presence=`` narrows
it: ``resident`` (实有人口: living here), ``registered`` (户籍人口: registered here), ``away``
(户在人不在: registered here, living elsewhere), ``incoming`` (人在户不在: living here, registered
elsewhere or outside the county).
A merged id answers ``308`` with ``Location`` of the surviving person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hub.api.audit import audit_persons
from hub.api.deps import (
    PeopleKey,
    canonical_id,
    check_visible,
    key_range,
    masker_of,
    visible_range,
)
from hub.api.keys import Principal
from hub.api.masking import SENSITIVE_STREAMS, Masker
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor, next_cursor
from hub.api.problems import ApiProblem
from hub.api.rendering import JsonBody
from hub.api.routers.grid_page import GridPageReader, shape
from hub.api.routers.person_pages import (
    AWAY,
    LIST_COLUMNS,
    PAGE_TAGS,
    RESIDENTS,
    TABLE_VERSION,
    cursor_kind,
    resident_steps,
)
from hub.api.routers.person_presence import (
    GRID_ORDER,
    GRID_ORDER_CODED,
    after_cursor,
    away_keys,
    away_rows,
    keys_after,
    presence_clause,
    row_key,
)
from hub.api.routers.person_record import (
    HOUSEHOLD_BY_ID,
    PERSON_BY_ID,
    SPECIAL_OF,
    TAGS_OF,
    WELFARE_OF,
    DetailReader,
)
from hub.api.routers.person_sources import links_out, provenance_out, residence_out
from hub.api.schemas.persons import (
    PersonDetail,
    PersonOut,
    Presence,
)
from hub.api.subtree import CodeRange
from hub.db.models import Person, PersonTag
from hub.events.clock import beijing_today
from hub.privacy.sensitive import category_of
from hub.resolve.tags import PERSON_TAGS

router = APIRouter(prefix="/persons", tags=["persons"])
EntityId = Annotated[str, Path(min_length=1, max_length=64)]
MOVED = {308: {"description": "a merged id: `Location` names the surviving person"}}


def today() -> dt.date:
    """Ages count on Beijing's date: a UTC host's date lags it for eight hours a day."""
    return beijing_today()


def age_on(birth: dt.date | None, day: dt.date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def tags_of(session: Session, ids: list[str], key: Principal) -> dict[str, list[str]]:
    if not ids:
        return {}
    out: dict[str, list[str]] = {}
    for pid, tag in session.connection().execute(PAGE_TAGS[key.has("read:sensitive")], {"ids": ids}):
        out.setdefault(pid, []).append(tag)
    return out


def person_out(row: Any, masker: Masker, tags: list[str], day: dt.date, rng: CodeRange | None = None
               ) -> dict[str, Any]:
    presence = None if rng is None else "resident" if rng.contains(row.grid_code) else "away"
    return {"id": row.id, "name": row.name, "gender": row.gender, "birth_date": row.birth_date,
            "age": age_on(row.birth_date, day), "citizen_id": masker.citizen_id(row.citizen_id_enc),
            "phone": masker.phone(row.phone_enc), "grid_code": row.grid_code,
            "registered_grid_code": row.registered_grid_code, "presence": presence,
            "household_id": row.household_id, "status": row.status, "floating": bool(row.floating), "tags": tags}


SORT_KEYS = {"grid": lambda r: [r.grid_code, r.id], "tag": lambda r: [r.id],
             "age": lambda r: [r.birth_date.isoformat(), r.id], "id": lambda r: [r.id]}


def _cursor_date(value: object) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ApiProblem(400, "the cursor is not one this API issued", title="Invalid cursor") from None


@router.get("", response_model=Page[PersonOut], summary="List persons")
def list_persons(
    request: Request, key: PeopleKey,
    grid: Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$", description="the grid's whole subtree")] = None,
    tag: Annotated[str | None, Query(max_length=32, description="one of: " + ", ".join(PERSON_TAGS))] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=50, description="exact name")] = None,
    age_min: Annotated[int | None, Query(ge=0, le=150)] = None,
    age_max: Annotated[int | None, Query(ge=0, le=150)] = None,
    presence: Annotated[Presence, Query(description="with a grid: all (default: living or registered there), "
                                        "resident (living there), registered, away (registered there, living "
                                        "elsewhere), incoming (living there, registered elsewhere)")] = "all",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Any:
    # the session is opened here, in the worker thread, not by a dependency: one fewer for FastAPI to solve
    # on the event loop per request (no docstring: it would become the route's OpenAPI description)
    with request.app.state.hub.sessions() as session:
        if tag is not None and tag not in PERSON_TAGS:  # an empty page would read as "nobody has it"
            raise ApiProblem(400, f"unknown tag {tag!r}; known tags: {', '.join(PERSON_TAGS)}", title="Unknown tag")
        day = today()
        filters = {"grid": grid, "tag": tag, "name": name, "age_min": age_min, "age_max": age_max, "presence": presence}
        rng = visible_range(request, session, key, grid)
        if rng is None and presence != "all":
            raise ApiProblem(400, f"presence={presence} needs a grid: say which grid with grid=", title="Invalid parameter")
        mode = "grid" if rng is not None else "tag" if tag else "age" if (age_min, age_max) != (None, None) else "id"
        after = decode_cursor(cursor, filters, 2 if mode in ("grid", "age") else 1, nullable_first=mode == "grid")
        # everyone a grid concerns (living there OR registered there) is read as two index-ordered halves
        # merged here: one OR over two indexes read the whole subtree and sorted it (9.5 ms -> 1 ms a page)
        halves = rng is not None and presence == "all"
        plain = (tag, name, age_min, age_max) == (None, None, None, None)
        if halves and plain and GRID_PAGE_READER and session.get_bind().dialect.name == "sqlite":
            return _plain_grid_page(request, key, rng, after, limit, filters, day)
        stmt = select(*LIST_COLUMNS)
        if tag is not None:
            stmt = stmt.join(PersonTag, and_(PersonTag.person_id == Person.id, PersonTag.tag == tag))
            if not key.has("read:sensitive"):
                stmt = stmt.where(PersonTag.sensitive.is_(False))
        if rng is not None and not halves:
            stmt = stmt.where(presence_clause(rng, presence))
        if name is not None:
            stmt = stmt.where(Person.name == name)
        if age_min is not None:
            stmt = stmt.where(Person.birth_date <= years_before(day, age_min))
        if age_max is not None:
            stmt = stmt.where(Person.birth_date > years_before(day, age_max + 1))
        if mode == "grid":
            if after:
                stmt = stmt.where(after_cursor(after))
        elif mode == "tag":
            if after:
                stmt = stmt.where(PersonTag.person_id > after[0])
            stmt = stmt.order_by(PersonTag.person_id)
        elif mode == "age":
            if after:
                born = _cursor_date(after[0])
                stmt = stmt.where(or_(Person.birth_date > born, and_(Person.birth_date == born, Person.id > after[1])))
            stmt = stmt.order_by(Person.birth_date, Person.id)
        else:
            if after:
                stmt = stmt.where(Person.id > after[0])
            stmt = stmt.order_by(Person.id)
        if halves:
            run = session.connection().execute  # Core rows: the ORM's per-statement bookkeeping cost ~0.2 ms
            if plain:  # a plain grid page: pre-built statements, each an index seek (``resident_steps``)
                cur = {"g": after[0], "i": after[1]} if after else {}
                residents = []
                for step, values in resident_steps(rng, after):
                    residents += run(RESIDENTS[step], {**values, "n": limit + 1 - len(residents)})
                    if len(residents) > limit:
                        break
                kind = cursor_kind(after)

                def fetch(batch: list[str], want: int) -> Iterable[Any]:
                    return run(AWAY[kind], {"ids": batch, "n": want, **cur})
            else:
                # residents have a grid code: their index's order is the pages'; the cursor's grid code
                # starts the index range itself (the OR of the cursor can't); after a NULL one all follow
                lo = max(rng.lo, str(after[0])) if after and after[0] is not None else rng.lo
                residents = run(stmt.where(CodeRange(lo, rng.hi).clause(Person.grid_code))
                                .order_by(*GRID_ORDER_CODED).limit(limit + 1))

                def fetch(batch: list[str], want: int) -> Iterable[Any]:
                    return run(stmt.where(Person.id.in_(batch)).order_by(*GRID_ORDER).limit(want))
            connection = session.connection()
            keys = away_keys(request.app.state.hub.away, connection, rng, connection.execute(TABLE_VERSION).one())
            both = [*residents, *away_rows(keys_after(keys, after), fetch, limit + 1)]
            rows = sorted(both, key=row_key)[: limit + 1]
        else:
            if mode == "grid":  # only those registered here can have no grid code: they sort first
                stmt = stmt.order_by(*(GRID_ORDER if presence in ("registered", "away") else GRID_ORDER_CODED))
            rows = list(session.connection().execute(stmt.limit(limit + 1)))
        page = rows[:limit]
        ids = [r.id for r in page]
        tags = tags_of(session, ids, key)
        masker = masker_of(request, key)
        masker.prefetch(t for r in page for t in (r.citizen_id_enc, r.phone_enc))
        audit_persons(request, ids)
        # built in the shape of Page[PersonOut] and serialised once, not validated again
        return JsonBody({"items": [person_out(r, masker, tags.get(r.id, []), day, rng) for r in page],
                         "next_cursor": next_cursor(rows, limit, filters, SORT_KEYS[mode])})


#: a plain grid page on SQLite through ``GridPageReader`` (a switch so a test can compare it with the general path)
GRID_PAGE_READER = True


def _plain_grid_page(request: Request, key: Principal, rng: CodeRange, after: list[Any] | None,
                     limit: int, filters: dict[str, Any], day: dt.date) -> JsonBody:
    """``list_persons`` for a grid and nothing else on SQLite (a downstream app walking a village): the
    same answer, read on the driver's connection by ``GridPageReader``."""
    state = request.app.state.hub
    if state.pages is None:
        state.pages = GridPageReader(state.engine)
    reader: GridPageReader = state.pages
    with state.engine.connect() as connection:  # a bare pooled connection: the session's bookkeeping cost ~40 µs
        rows = reader.page(connection, rng, after, limit,
                           lambda: away_keys(state.away, connection, rng, reader.table_version(connection)))
        page = rows[:limit]
        ids = [r[0] for r in page]
        tags = reader.tags_of(connection, ids, key.has("read:sensitive"))
    masker = masker_of(request, key)
    masker.prefetch(t for r in page for t in (r[4], r[5]))
    audit_persons(request, ids)
    more = len(rows) > limit
    return JsonBody({"items": shape(page, masker, tags, day, rng),
                     "next_cursor": encode_cursor(filters, [page[-1][6], page[-1][0]]) if more else None})


#: the one-statement detail on SQLite (a switch so a test can compare it with the six statements)
ONE_STATEMENT = True


def _detail_sqlite(session: Session, request: Request, key: Principal, person: Any) -> dict[str, Any]:
    """``get_person``'s body from the one-statement row: the same values in the same order."""
    masker = masker_of(request, key)
    masker.prefetch((person.citizen_id_enc, person.phone_enc))
    sensitive, quality = key.has("read:sensitive"), key.has("read:quality")
    tags = sorted(t for t, secret in orjson.loads(person.j_tags) if sensitive or not secret)
    detail: dict[str, Any] = {
        **person_out(person, masker, tags, today()),
        "ethnicity": person.ethnicity, "address": person.address, "building_id": person.building_id,
        "updated_at": person.updated_at,
        "household": None if person.hh_id is None else {
            "id": person.hh_id, "household_no": person.hh_no, "address": person.hh_address,
            "grid_code": person.hh_grid, "relation_to_head": person.relation_to_head},
        "welfare": [{"programme": p, "status": st, "since": since, "until": until}
                    for p, st, since, until, _id in sorted(orjson.loads(person.j_welfare),
                                                           key=lambda w: (w[0] or "", w[4]))],
        "special_status": None, "provenance": None, "sources": None,
        "residence": residence_out(person, key, masker),
    }
    if sensitive:
        detail["special_status"] = [
            {"category": category_of(masker.vault, enc), "status": st, "since": since, "supervisor": sup}
            for enc, st, since, sup, _id in sorted(orjson.loads(person.j_special), key=lambda r: r[4])]
    if quality:
        detail["provenance"] = provenance_out(person.provenance, key, masker)
        detail["sources"] = [
            {"source": src, "stream": stream, "source_key": masker.text(skey) or "", "method": method, "score": score}
            for src, stream, skey, method, score in sorted(orjson.loads(person.j_links), key=lambda r: r[:3])
            if (src, stream) not in SENSITIVE_STREAMS or sensitive]
    return detail


def _seen_in(request: Request, session: Session, key: Principal, row: Any) -> str | None:
    """A grid-bound key sees the people living in its grid and those registered there (户在人不在)."""
    bound = key_range(request, session, key)
    if bound is not None and bound.contains(row.registered_grid_code):
        return row.registered_grid_code
    return row.grid_code


@router.get("/{person_id}", response_model=PersonDetail, responses=MOVED, summary="One person's golden record")
async def get_person(person_id: EntityId, request: Request, key: PeopleKey) -> Any:
    """On SQLite one indexed statement on a local file: answered on the event loop, with no thread hop
    and no ORM session; other stores read in a worker thread as every other route does."""
    state = request.app.state.hub
    if ONE_STATEMENT and state.engine.dialect.name == "sqlite":
        with state.engine.connect() as connection:
            return _get_person(person_id, request, connection, key, one_statement=True)
    return await run_in_threadpool(_person_in_session, person_id, request, key)


def _person_in_session(person_id: str, request: Request, key: Principal) -> Any:
    with request.app.state.hub.sessions() as session:
        return _get_person(person_id, request, session, key, one_statement=False)


def _get_person(person_id: str, request: Request, session: Any, key: Principal, *, one_statement: bool) -> Any:
    """The detail through a Session or (SQLite's one statement) a bare Connection: both execute and scalar."""
    connection = session.connection() if isinstance(session, Session) else session
    if one_statement:
        state = request.app.state.hub
        if state.detail is None:
            state.detail = DetailReader(state.engine)
        person = state.detail.first(connection, person_id)
    else:
        person = connection.execute(PERSON_BY_ID, {"pid": person_id}).first()
    if person is None:
        survivor = canonical_id(session, "person", person_id)
        target = session.execute(PERSON_BY_ID, {"pid": survivor}).first() if survivor else None
        if target is None:
            raise ApiProblem(404, f"no person {person_id}", title="Not found")
        check_visible(request, session, key, _seen_in(request, session, key, target), f"person {person_id}")
        return RedirectResponse(request.url_for("get_person", person_id=survivor).path, status_code=308)
    check_visible(request, session, key, _seen_in(request, session, key, person), f"person {person_id}")
    if one_statement:
        audit_persons(request, [person.id])
        return JsonBody(_detail_sqlite(session, request, key, person))
    masker = masker_of(request, key)
    masker.prefetch((person.citizen_id_enc, person.phone_enc))
    sensitive = key.has("read:sensitive")
    household = session.execute(HOUSEHOLD_BY_ID, {"hid": person.household_id}).first() if person.household_id else None
    tags = [t.tag for t in session.execute(TAGS_OF, {"pid": person.id}) if sensitive or not t.sensitive]
    detail: dict[str, Any] = {
        **person_out(person, masker, tags, today()),
        "ethnicity": person.ethnicity, "address": person.address, "building_id": person.building_id,
        "updated_at": person.updated_at,
        "household": None if household is None else {**household._mapping, "relation_to_head": person.relation_to_head},
        "welfare": [dict(w._mapping) for w in session.execute(WELFARE_OF, {"pid": person.id})],
        "special_status": None, "provenance": None, "sources": None,
        "residence": residence_out(person, key, masker),
    }
    if sensitive:
        detail["special_status"] = [
            {"category": category_of(masker.vault, s.category_enc), "status": s.status, "since": s.since,
             "supervisor": s.supervisor} for s in session.execute(SPECIAL_OF, {"pid": person.id})]
    if key.has("read:quality"):
        detail["provenance"] = provenance_out(person.provenance, key, masker)
        detail["sources"] = links_out(session, person.id, key, masker)
    audit_persons(request, [person.id])
    return JsonBody(detail)
