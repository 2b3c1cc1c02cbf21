"""Which persons' tags can have changed since the last tags pass: the rest keep theirs untouched.

A person's tags rest on their own golden record (age, status, household, floating), their
household's active members (living alone), the civil-affairs and public-security records linked to
them, and the calendar. So the persons to look at again are:

- those whose golden record or crosswalk changed since the last pass (``updated_at``),
- those linked to a civil-affairs or public-security record loaded since then (``last_run_id``),
- every member of those persons' households (a member moving in or out changes who lives alone),
- the elderly left alone without the tag yet (someone moved out of their household: the mover's
  own record changed, the one left behind's did not, and the household they left is not known any
  more), looked for only when some person changed. Alone means no other *active* member: either
  the household's only member (found on SQLite from two covering indexes, birth dates and household
  sizes, without reading a person row: issue 19, one probe per elderly person was ~0.3 CPU s of a
  one-row sync at 200,000 residents) or the one active member beside members who are not active;
  the households holding such members are few and kept in the pass's state (``INACTIVE``),
- the daily pass: those whose 18th or 60th birthday fell after the last pass's day, up to today.

Nothing here counts over the whole county: household sizes are counted for the households in play.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, text
from sqlalchemy.orm import aliased

from hub.db.models import ChangeFeed, EntityLink, Person, PersonTag, Run, SourceRecord, StreamState
from hub.resolve.upsert import chunks

#: ages at which a tag begins or ends
THRESHOLDS = (18, 60)
#: the change-feed entries that can move an organisation flag (a hazard's status, a unit's key-unit mark)
FLAG_INPUTS = ["event", "organization"]


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def birthdays_passed(connection: Any, since: dt.date, today: dt.date) -> set[str]:
    """Persons who turned 18 or 60 on a day in (since, today]: born in (since - N years, today - N years]."""
    out: set[str] = set()
    if today <= since:
        return out
    for years in THRESHOLDS:
        out.update(connection.execute(select(Person.id).where(
            Person.birth_date > _years_before(since, years), Person.birth_date <= _years_before(today, years))).scalars())
    return out


def touched_persons(connection: Any, since: dt.datetime, streams: dict[str, list[str]]) -> set[str]:
    """Persons whose own inputs changed at or after ``since`` (UTC, naive), and their households' members.

    ``streams``: source -> the civil-affairs / public-security streams whose records give tags."""
    out = set(connection.execute(select(Person.id).where(Person.updated_at >= since)).scalars())
    sources = sorted(streams)
    if sources:
        for source, names in streams.items():  # no entity_type filter in SQL: it would pick the (type, id) index
            for stream in names:                # and read every person link instead of this stream's few
                rows = connection.execute(select(EntityLink.entity_id, EntityLink.entity_type).where(
                    EntityLink.source == source, EntityLink.stream == stream, EntityLink.updated_at >= since))
                out.update(eid for eid, etype in rows if etype == "person")
        runs = list(connection.execute(select(Run.run_id).where(Run.finished_at >= since)).scalars())
        for batch in chunks(runs, 200):
            for source, names in streams.items():
                keys = select(SourceRecord.source, SourceRecord.stream, SourceRecord.source_key).where(
                    SourceRecord.source == source, SourceRecord.stream.in_(names),
                    SourceRecord.last_run_id.in_(batch)).subquery()
                out.update(connection.execute(select(EntityLink.entity_id).join(keys, (
                    (EntityLink.source == keys.c.source) & (EntityLink.stream == keys.c.stream)
                    & (EntityLink.source_key == keys.c.source_key))).where(EntityLink.entity_type == "person")).scalars())
    households: set[str] = set()
    for batch in chunks(sorted(out)):
        households.update(h for h in connection.execute(select(Person.household_id).where(Person.id.in_(batch)))
                          .scalars() if h)
    for batch in chunks(sorted(households)):
        out.update(connection.execute(select(Person.id).where(Person.household_id.in_(batch))).scalars())
    return out


def _alone_query(today: dt.date) -> Any:
    other = aliased(Person)
    return select(Person.id).where(
        Person.birth_date <= _years_before(today, 60), Person.status == "active", Person.household_id.is_not(None),
        ~exists().where(and_(other.household_id == Person.household_id, other.status == "active",
                             other.id != Person.id)),
        ~exists().where(and_(PersonTag.person_id == Person.id, PersonTag.tag == "elderly_alone")))


#: elderly persons who are their household's only member, untagged: covering-index reads (birth date ->
#: rowid, household -> rowid) intersected before any person row is read
_ALONE_BY_SIZE = text(
    "SELECT p.id FROM person AS p WHERE p.rowid IN ("
    " SELECT rowid FROM person WHERE birth_date <= :cutoff"
    " INTERSECT"
    " SELECT max(rowid) FROM person WHERE household_id IS NOT NULL GROUP BY household_id HAVING count(*) = 1)"
    " AND p.status = 'active'"
    " AND NOT EXISTS (SELECT 1 FROM person_tag AS t WHERE t.person_id = p.id AND t.tag = 'elderly_alone')")


def left_alone(connection: Any, today: dt.date, inactive: set[str] | None = None) -> set[str]:
    """Active elderly persons who are the only active member of their household and not yet tagged
    ``elderly_alone`` (those a full pass would tag; usually none).

    ``inactive``: every household holding a member whose status is not ``active`` (see
    :func:`inactive_households`). With it, on SQLite, the households of one member are found by their
    size and only those ``inactive`` names are probed member by member; the answer is the same."""
    if inactive is None or connection.dialect.name != "sqlite":
        return set(connection.execute(_alone_query(today)).scalars())
    out = set(connection.execute(_ALONE_BY_SIZE, {"cutoff": _years_before(today, 60).isoformat()}).scalars())
    for batch in chunks(sorted(inactive)):
        out.update(connection.execute(_alone_query(today).where(Person.household_id.in_(batch))).scalars())
    return out


def inactive_households(connection: Any, households: set[str] | None = None,
                        persons: set[str] | None = None) -> set[str]:
    """Households holding a person whose status is not ``active``: of the county (``None``, ``None``: one
    pass over every person), or among ``households`` and the households of ``persons``."""
    query = select(Person.household_id).where(Person.household_id.is_not(None),
                                              or_(Person.status.is_(None), Person.status != "active"))
    if households is None and persons is None:
        return set(connection.execute(query.distinct()).scalars())
    out: set[str] = set()
    for batch in chunks(sorted(households or ())):
        out.update(connection.execute(query.where(Person.household_id.in_(batch))).scalars())
    for batch in chunks(sorted(persons or ())):
        out.update(connection.execute(query.where(Person.id.in_(batch))).scalars())
    return out


def household_members(connection: Any, persons: set[str] | None = None) -> dict[str, int]:
    """household id -> active members: of every household (one aggregate over the household index), or
    of the households of ``persons`` only."""
    query = select(Person.household_id, func.count()).where(Person.household_id.is_not(None),
                                                            Person.status == "active")
    if persons is None:
        return dict(connection.execute(query.group_by(Person.household_id)).all())
    households: set[str] = set()
    for batch in chunks(sorted(persons)):
        households.update(h for h in connection.execute(select(Person.household_id).where(Person.id.in_(batch)))
                          .scalars() if h)
    out: dict[str, int] = {}
    for batch in chunks(sorted(households)):
        out.update(connection.execute(query.where(Person.household_id.in_(batch)).group_by(Person.household_id)).all())
    return out


def _pass_state(session: Any) -> dict[str, Any]:
    seen = session.get(StreamState, ("resolve", "tags"))
    return (seen.state or {}) if seen is not None else {}


#: pass-state key: the households holding a member who is not active, as the pass that wrote it saw them.
#: Exact from pass to pass: such a member either was one at the last pass (and is listed) or changed
#: since (and is among the touched persons, whose households are added); the listed ones are re-read.
INACTIVE = "inactive"


def remember_pass(session: Any, started: dt.datetime, today: dt.date, seq: int,
                  inactive: set[str] | None = None) -> None:
    """Where the next pass starts from: changes from ``started`` on, birthdays after today, feed after ``seq``;
    ``inactive`` (None: as the last pass left it) for the next :func:`left_alone`."""
    seen = session.get(StreamState, ("resolve", "tags"))
    state: dict[str, Any] = {"since": started.isoformat(), "day": today.isoformat(), "feed": int(seq)}
    if inactive is not None:
        state[INACTIVE] = sorted(inactive)
    elif seen is not None and INACTIVE in (seen.state or {}):
        state[INACTIVE] = seen.state[INACTIVE]
    if seen is None:
        session.add(StreamState(source="resolve", stream="tags", state=state))
    else:
        seen.state = state


def flag_inputs_changed(session: Any, today: dt.date) -> bool:
    """An event or organisation written since the last pass, or another day: the flags are looked at."""
    state = _pass_state(session)
    if state.get("day") != today.isoformat() or "feed" not in state:
        return True
    return session.execute(select(ChangeFeed.seq).where(
        ChangeFeed.seq > int(state["feed"]), ChangeFeed.entity_type.in_(FLAG_INPUTS)).limit(1)).first() is not None


def persons_in_scope(session: Any, today: dt.date, streams: dict[str, list[str]]
                     ) -> tuple[set[str] | None, dict[str, int] | None, set[str] | None]:
    """The persons whose tags can have changed since the last pass (see the module's docstring), the
    active members of their households, and the households holding a member who is not active (None
    when not looked at: nobody changed); or None (every person) when there was no pass to start from
    or it was for a later day. Nothing is counted over the whole county."""
    state = _pass_state(session)
    if not state.get("since") or not state.get("day") or dt.date.fromisoformat(state["day"]) > today:
        return None, None, None
    connection = session.connection()
    since = dt.datetime.fromisoformat(state["since"])
    scope = touched_persons(connection, since, streams)
    inactive: set[str] | None = None
    if scope:  # someone moved or changed: an elderly person they left behind may live alone now
        known = state.get(INACTIVE)
        inactive = (inactive_households(connection) if known is None else  # a pass before the key: once
                    inactive_households(connection, set(known), scope))
        scope |= left_alone(connection, today, inactive)
    scope |= birthdays_passed(connection, dt.date.fromisoformat(state["day"]), today)
    return scope, household_members(connection, scope), inactive
