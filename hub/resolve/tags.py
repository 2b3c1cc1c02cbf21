"""Derived tags no single department has, and the per-grid care list built on them.

Person tags (``person_tag``): ``elderly`` (≥ 60), ``elderly_alone`` (≥ 60 and the only active member
of their household, or a civil-affairs 高龄老人 record saying 是否独居=是), ``minor`` (< 18), ``disabled``
(on the 残疾人 roster), ``min_allowance`` / ``extreme_poverty`` (在保 on 低保对象 / 特困供养), ``floating``
(an active floating-population record), ``special_population`` (an active special-persons record;
``sensitive``). Ages are counted on ``today``; only active persons carry tags.

Organisation flag (``organization_tag``): ``key_unit_open_major_hazard`` — a 消防安全重点单位 with a
重大 hazard not yet rectified.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import String, delete, func, insert, select, type_coerce

from hub.context import HubContext
from hub.db.base import utcnow
from hub.db.bulk import executemany
from hub.db.models import (
    Building,
    ChangeFeed,
    EntityLink,
    Event,
    Household,
    Organization,
    Person,
    PersonTag,
)
from hub.db.models.events import OrganizationTag
from hub.db.session import transaction
from hub.events.clock import beijing_today
from hub.events.deadlines import CLOSED_STATUSES
from hub.resolve.placeread import stream_links
from hub.resolve.places import gc_paused
from hub.resolve.tagscope import flag_inputs_changed, household_members, persons_in_scope, remember_pass
from hub.resolve.upsert import ChangeWriter, chunks, records, records_by_key, sources_of

#: every person tag resolve derives, and what it means (README "Person tags"; the API refuses others)
PERSON_TAGS: dict[str, str] = {
    "elderly": "60 or older",
    "elderly_alone": "60 or older and the only active member of the household, or 是否独居=是 on the 高龄老人 roster",
    "minor": "under 18",
    "disabled": "on the civil-affairs 残疾人 roster",
    "min_allowance": "在保 on the civil-affairs 低保对象 roster",
    "extreme_poverty": "在保 on the civil-affairs 特困供养 roster",
    "floating": "an active public-security floating-population record",
    "special_population": "an active public-security special-persons record (sensitive: needs read:sensitive)",
}
KEY_UNIT = "消防安全重点单位"
MAJOR = "重大"
SENSITIVE_TAGS = {"special_population"}
PROGRAMME_TAGS = {"低保对象": "min_allowance", "特困供养": "extreme_poverty", "残疾人": "disabled"}
ORG_FLAG = "key_unit_open_major_hazard"


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class _Ages(dict[Any, int]):
    """Birth date (a date, or its ISO text) -> age on ``today``, each distinct date computed once."""

    def __init__(self, today: dt.date) -> None:
        super().__init__()
        self.today = today

    def __missing__(self, birth: Any) -> int:
        day = dt.date.fromisoformat(birth[:10]) if isinstance(birth, str) else birth
        age = self[birth] = age_on(day, self.today)
        return age


def _yes(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"是", "true", "1", "y", "yes"}


def tag_streams(ctx: HubContext) -> dict[str, list[str]]:
    """source -> the streams whose records give tags (civil-affairs rosters, public-security lists)."""
    out = {s: [*PROGRAMME_TAGS, "高龄老人"] for s in sources_of(ctx, "civil-affairs")}
    out.update({s: ["floating-persons", "special-persons"] for s in sources_of(ctx, "public-security")})
    return out


def _person_links(session: Any, sources: list[str], streams: list[str], only: set[str]
                  ) -> list[tuple[str, str, str, str]]:
    """(source, stream, source_key, person id) of the crosswalk rows of these streams linking the persons
    in ``only``: read once for every stream (a day at 200k probed each person's links seven times)."""
    if not sources:
        return []
    return [tuple(row) for batch in chunks(sorted(only)) for row in session.connection().execute(  # type: ignore[misc]
        select(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_id).where(
            EntityLink.entity_type == "person", EntityLink.entity_id.in_(batch), EntityLink.source.in_(sources),
            EntityLink.stream.in_(streams)))]


def _source_tags(ctx: HubContext, session: Any, only: set[str] | None = None
                 ) -> tuple[dict[str, set[str]], set[str]]:
    """person id -> tags the department records give; and who a 高龄老人 roster says lives alone.
    With ``only``, just the records linked to those persons are read."""
    civil, ps = sources_of(ctx, "civil-affairs"), sources_of(ctx, "public-security")
    mine = None if only is None else _person_links(session, civil + ps, [*PROGRAMME_TAGS, "高龄老人", "floating-persons",
                                                                         "special-persons"], only)

    def read(sources: list[str], stream: str):  # type: ignore[no-untyped-def]
        if mine is None:
            return records(session, sources, stream)
        return records_by_key(session, {(src, key) for src, st, key, _ in mine if st == stream and src in sources},
                              stream)

    tags: dict[str, set[str]] = {}
    alone: set[str] = set()
    facts: dict[tuple[str, str, str], set[str]] = {}
    for stream in (*PROGRAMME_TAGS, "高龄老人"):
        for source, key, data in read(civil, stream):
            if stream in PROGRAMME_TAGS and data.get("status") not in (None, "", "在保"):
                continue  # 停保: suspended, not receiving
            marks = {PROGRAMME_TAGS[stream]} if stream in PROGRAMME_TAGS else set()
            if stream == "高龄老人" and _yes(data.get("lives_alone")):
                marks.add("lives_alone")
            if marks:
                facts[(source, stream, key)] = marks
    for stream, tag in (("floating-persons", "floating"), ("special-persons", "special_population")):
        for source, key, data in read(ps, stream):
            if data.get("status") in (None, "", "active"):
                facts[(source, stream, key)] = {tag}
    streams = sorted({k[1] for k in facts})
    pairs = mine if mine is not None else (
        (src, stream, key, pid) for src, stream, key, _, pid in stream_links(session, ["person"], civil + ps, streams))
    for source, stream, key, pid in pairs:
        for mark in facts.get((source, stream, key), ()):
            if mark == "lives_alone":
                alone.add(pid)
            else:
                tags.setdefault(pid, set()).add(mark)
    return tags, alone


def person_tags(ctx: HubContext, session: Any, today: dt.date, only: set[str] | None = None,
                members: dict[str, int] | None = None, inactive: set[str] | None = None) -> dict[tuple[str, str], bool]:
    """(person id, tag) -> sensitive, for every tag every active person (or each of ``only``) should
    carry today. ``inactive`` collects the households of the persons read whose status is not ``active``
    (what :func:`hub.resolve.tagscope.inactive_households` reads, gathered from this pass's own rows)."""
    from_sources, alone = _source_tags(ctx, session, only)
    # Core rows (the connection, not the ORM session): half a million of them, plain tuples are enough.
    # The birth date as stored (ISO text on SQLite): the Date type's per-row parse was ~0.3 CPU s at 200k,
    # and a county has far fewer distinct birth dates than persons (``_ages``)
    connection = session.connection()
    birth_text = connection.dialect.name == "sqlite"
    columns = (Person.id, type_coerce(Person.birth_date, String) if birth_text else Person.birth_date,
               Person.household_id, Person.status, Person.floating)
    if only is None:
        rows: Any = connection.execute(select(*columns))
        if members is None:  # the whole county: its households' active members counted from these same rows
            rows = rows.all()  # (the aggregate over the household index fetched every person row again)
            members = {}
            for _, _, household, status, _ in rows:
                if household is not None and status == "active":
                    members[household] = members.get(household, 0) + 1
    else:
        rows = [r for batch in chunks(sorted(only)) for r in connection.execute(select(*columns).where(
            Person.id.in_(batch)))]
    members = household_members(connection) if members is None else members
    ages = _Ages(today)
    out: dict[tuple[str, str], bool] = {}
    for pid, birth, household, status, floating in rows:
        if inactive is not None and status != "active" and household is not None:
            inactive.add(household)
        if status not in (None, "active"):
            continue
        tags = set(from_sources.get(pid, ()))
        if floating:
            tags.add("floating")
        if birth is not None:
            age = ages[birth]
            if age >= 60:
                tags.add("elderly")
                if pid in alone or (household is not None and members.get(household) == 1):
                    tags.add("elderly_alone")
            elif age < 18:
                tags.add("minor")
        for tag in tags:
            out[(pid, tag)] = tag in SENSITIVE_TAGS
    return out


def org_flags(session: Any) -> dict[str, list[str]]:
    """organisation id -> the open major hazards that make it a key unit to watch."""
    keyed = select(Organization.id).where((Organization.key_unit.is_(True)) | (Organization.category == KEY_UNIT))
    rows = session.execute(select(Event.organization_id, Event.id).where(
        Event.kind == "hazard", Event.category == MAJOR, Event.status.not_in(CLOSED_STATUSES),
        Event.organization_id.in_(keyed)).order_by(Event.id))
    out: dict[str, list[str]] = {}
    for oid, eid in rows:
        out.setdefault(oid, []).append(eid)
    return out


def derive_tags(ctx: HubContext, today: dt.date | None = None, *, full: bool = False) -> dict[str, int]:
    """Write person tags and organisation flags; only differences are written (idempotent). After a
    first pass only the persons a change can reach are rechecked (:mod:`hub.resolve.tagscope`), and
    nothing is read when no person, no flag input and not the day changed (``{"unchanged": 1}``)."""
    today = today or beijing_today()
    ctx.ensure_store()
    counts: Counter[str] = Counter()
    with transaction(ctx.db_url) as session, gc_paused():  # no cycles worth collecting: see places.gc_paused
        started = utcnow()
        seq = session.execute(select(func.max(ChangeFeed.seq))).scalar() or 0
        scope, members, inactive = (None, None, None) if full else persons_in_scope(session, today, tag_streams(ctx))
        if scope is None:  # the whole county: its households holding a member who is not active, for next time
            inactive = set()  # gathered as every person is read below
        if scope is not None and not scope and not flag_inputs_changed(session, today):
            remember_pass(session, started, today, seq)
            return {"unchanged": 1}
        writer = ChangeWriter(session)
        want = person_tags(ctx, session, today, only=scope, members=members, inactive=inactive if scope is None else None)
        stmt = select(PersonTag.person_id, PersonTag.tag, PersonTag.sensitive)
        have = ({(p, t): s for p, t, s in session.connection().execute(stmt)} if scope is None else
                {(p, t): s for batch in chunks(sorted(scope))
                 for p, t, s in session.connection().execute(stmt.where(PersonTag.person_id.in_(batch)))})
        new = [{"person_id": p, "tag": t, "sensitive": s} for (p, t), s in sorted(want.items())
               if have.get((p, t)) != s]  # key order: the (person, tag) primary key only appends
        gone = [k for k in have if k not in want or want[k] != have[k]]
        for batch in chunks(gone):
            for pid, tag in batch:
                session.execute(delete(PersonTag).where(PersonTag.person_id == pid, PersonTag.tag == tag))
        for batch in chunks(new):
            executemany(session.connection(), insert(PersonTag.__table__), batch)
        now = utcnow()  # one instant for the pass's rows, as ChangeWriter.sync stamps its own
        for pid in sorted({r["person_id"] for r in new} | {k[0] for k in gone}):
            writer.feed("person", pid, "updated", now)
        if scope is None:
            counts.update(f"tag_{t}" for _, t in want)
        else:  # the county's figures, as a full pass reports them
            session.flush()
            counts.update({f"tag_{t}": n for t, n in session.connection().execute(
                select(PersonTag.tag, func.count()).group_by(PersonTag.tag))})
            counts["persons_rechecked"] = len(scope)
        counts["tags_added"], counts["tags_removed"] = len(new), len(gone) - sum(1 for k in gone if k in want)

        flags = org_flags(session)
        have_flags = {o: e for o, e in session.execute(select(OrganizationTag.organization_id,
                                                              OrganizationTag.event_ids)
                                                       .where(OrganizationTag.tag == ORG_FLAG))}
        for oid in sorted(set(have_flags) - set(flags)):
            session.execute(delete(OrganizationTag).where(OrganizationTag.organization_id == oid,
                                                          OrganizationTag.tag == ORG_FLAG))
        for oid, events in flags.items():
            if oid not in have_flags:
                session.add(OrganizationTag(organization_id=oid, tag=ORG_FLAG, event_ids=events))
            elif have_flags[oid] != events:
                session.get(OrganizationTag, (oid, ORG_FLAG)).event_ids = events
        changed = (set(flags) ^ set(have_flags)) | {o for o in flags if o in have_flags and have_flags[o] != flags[o]}
        for oid in sorted(changed):
            writer.feed("organization", oid, "updated")
        counts[f"org_{ORG_FLAG}"] = len(flags)
        writer.flush_feed()
        session.flush()  # the flags' own feed entries are not news for the next pass
        remember_pass(session, started, today, session.execute(select(func.max(ChangeFeed.seq))).scalar() or 0,
                      inactive)
    return dict(sorted(counts.items()))


def _within(column: Any, grid_code: str) -> Any:
    """A township (12 digits ending 000) holds its villages, a village its groups, a group itself."""
    if len(grid_code) == 15:
        return column == grid_code
    prefix = grid_code[:9] if grid_code.endswith("000") else grid_code
    return column.like(f"{prefix}%")


def care_list(ctx: HubContext, grid_code: str, *, everyone: bool = False) -> list[dict[str, Any]]:
    """Elderly people living alone in a grid whose building has an unrectified hazard, or a key unit
    with an open major hazard (``everyone=True``: all elderly living alone, risks listed or empty).

    Rows carry ids and reasons, no personal identifiers: the API decides what else a key may see.
    """
    with transaction(ctx.db_url) as session:
        people = session.execute(
            select(Person.id, Person.grid_code, Person.birth_date,
                   func.coalesce(Person.building_id, Household.building_id))
            .join(PersonTag, (PersonTag.person_id == Person.id) & (PersonTag.tag == "elderly_alone"))
            .outerjoin(Household, Household.id == Person.household_id)
            .where(_within(Person.grid_code, grid_code)).order_by(Person.id)).all()
        buildings = {b for *_, b in people if b}
        hazards: dict[str, list[tuple[str, str | None, str]]] = {}
        flagged = {o for o, in session.execute(select(OrganizationTag.organization_id)
                                                .where(OrganizationTag.tag == ORG_FLAG))}
        for batch in chunks(sorted(buildings)):
            rows = session.execute(select(Organization.building_id, Event.id, Event.category, Organization.id)
                                   .join(Event, Event.organization_id == Organization.id)
                                   .where(Organization.building_id.in_(batch), Event.kind == "hazard",
                                          Event.status.not_in(CLOSED_STATUSES)))
            for bid, eid, grade, oid in rows:
                hazards.setdefault(bid, []).append((eid, grade, oid))
        addresses = dict(session.execute(select(Building.id, Building.address).where(Building.id.in_(buildings)))
                         .all()) if buildings else {}
        tags: dict[str, list[str]] = {}
        for batch in chunks([p[0] for p in people]):
            for pid, tag in session.execute(select(PersonTag.person_id, PersonTag.tag).where(
                    PersonTag.person_id.in_(batch), PersonTag.sensitive.is_(False))):
                tags.setdefault(pid, []).append(tag)
    out = []
    for pid, grid, _birth, bid in people:
        found = hazards.get(bid or "", [])
        reasons = []
        if found:
            reasons.append("unrectified_hazard_in_building")
        if any(grade == MAJOR and oid in flagged for _, grade, oid in found):
            reasons.append("key_unit_open_major_hazard_in_building")
        if reasons or everyone:
            out.append({"person_id": pid, "grid_code": grid, "building_id": bid, "address": addresses.get(bid or ""),
                        "reasons": reasons, "hazard_event_ids": sorted({e for e, _, _ in found}),
                        "tags": sorted(tags.get(pid, []))})
    out.sort(key=lambda r: (-len(r["reasons"]), r["person_id"]))
    return out
