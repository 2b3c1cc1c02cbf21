"""A specimen store for the API's tests, benchmark and demos, straight from the synthetic world.

The resolve stage is what normally fills persons, households, organisations and events; this
writes the same tables directly from ``hub.synth``'s true world (grids, buildings, households,
people with encrypted IDs and phones, organisations), adding tags, welfare, special status,
inspections, events, links, redirects, the change feed and a run ledger, so the read API can be
exercised before, and independently of, resolve.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from hub.db.models import (
    Building,
    ChangeFeed,
    EntityLink,
    EntityRedirect,
    Event,
    EventParty,
    GridCell,
    Household,
    Inspection,
    Organization,
    Person,
    PersonTag,
    QuarantinedRow,
    Run,
    RunStream,
    SpecialStatus,
    WelfareEnrolment,
)
from hub.db.session import session_factory
from hub.privacy import Vault
from hub.synth import noise
from hub.synth.days import DAY0
from hub.synth.grids import build_grids
from hub.synth.organisations import KEY, add_floating, build_organisations
from hub.synth.world import World

PROGRAMMES = ("低保", "特困供养", "残疾人", "高龄老人")
SPECIAL = ("社区矫正", "刑满释放", "严重精神障碍")
STATUSES = ("open", "accepted", "in_progress", "resolved", "closed")
AT = dt.datetime(2026, 11, 1, 8, 0)


@dataclass
class Specimen:
    """What a test needs to know about the store it got."""

    grids: list[str] = field(default_factory=list)
    person_ids: list[str] = field(default_factory=list)
    persons_by_grid: dict[str, list[str]] = field(default_factory=dict)
    clear_ids: set[str] = field(default_factory=set)
    clear_phones: set[str] = field(default_factory=set)
    merged: dict[str, str] = field(default_factory=dict)  # old id -> survivor
    sensitive_person: str = ""
    incident_id: str = ""
    dispute_id: str = ""
    organization_ids: list[str] = field(default_factory=list)
    household_ids: list[str] = field(default_factory=list)
    building_ids: list[str] = field(default_factory=list)


def _bulk(session: Session, model: type, rows: list[dict[str, Any]], chunk: int = 5000) -> None:
    for i in range(0, len(rows), chunk):
        session.execute(insert(model), rows[i:i + chunk])


def _grid_rows(grids: Iterable[Any], vault: Vault) -> list[dict[str, Any]]:
    rows = []
    for g in grids:
        x0, y0, x1, y1 = g.box
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        rows.append({"code": g.code, "name": g.name, "level": g.level, "parent_code": g.parent,
                     "manager": g.manager, "manager_phone_enc": vault.encrypt(g.phone),
                     "geometry": {"type": "Polygon", "coordinates": [ring]}, "min_lon": x0, "min_lat": y0,
                     "max_lon": x1, "max_lat": y1, "retired": False, "updated_at": AT})
    return rows


def build_specimen(db_url: str, vault: Vault, *, seed: int = 7, residents: int = 1500, townships: int = 1) -> Specimen:
    """Fill an empty, migrated store; same arguments, same rows (``townships``: a county of several)."""
    rng = random.Random(f"{seed}:api-specimen")
    grids = build_grids(random.Random(f"{seed}:grids"), townships=townships)
    world = World(random.Random(f"{seed}:world"), grids, residents, noise.profile("default"))
    build_organisations(world, random.Random(f"{seed}:organisations"))
    add_floating(world, random.Random(f"{seed}:floating"), max(10, residents * 8 // 100))
    spec = Specimen(grids=[g.code for g in grids])
    spec.clear_phones |= {g.phone for g in grids if g.phone} | {o.phone for o in world.organisations}
    rows: dict[type, list[dict[str, Any]]] = {m: [] for m in (
        Building, Household, Person, PersonTag, WelfareEnrolment, SpecialStatus, Organization, Inspection,
        Event, EventParty, EntityLink, EntityRedirect, ChangeFeed, Run, RunStream, QuarantinedRow)}

    def link(source: str, stream: str, key: str, etype: str, eid: str, method: str) -> None:
        rows[EntityLink].append({"source": source, "stream": stream, "source_key": key, "entity_type": etype,
                                 "entity_id": eid, "method": method, "score": 1.0, "run_id": "R1",
                                 "updated_at": AT})

    for b in world.buildings:
        rows[Building].append({"id": b.uid, "address": b.address, "address_key": f"{b.address}#{b.uid}",
                               "grid_code": b.grid.code, "grid_method": "code", "lon": b.lon, "lat": b.lat,
                               "updated_at": AT})
        spec.building_ids.append(b.uid)
    for h in world.households:
        rows[Household].append({"id": h.uid, "household_no": h.hh, "address": h.building.address,
                                "building_id": h.building.uid, "grid_code": h.group.code,
                                "head_person_id": h.head.uid, "active": h.status == "0", "updated_at": AT})
        link("population", "households", h.hh, "household", h.uid, "household_no")
        spec.household_ids.append(h.uid)
    for p in world.persons:
        age = p.age_on(DAY0)
        grid = p.building.grid.code
        prov = {"name": {"source": "population", "stream": "persons", "source_key": str(p.ryid), "rule": "registry",
                         "at": "2026-11-01T08:00:00"}} if p.ryid else {}
        rows[Person].append({
            "id": p.uid, "name": p.name, "gender": {"1": "M", "2": "F"}.get(p.sex, "U"), "birth_date": p.birth,
            "ethnicity": p.ethnicity, "citizen_id_bidx": vault.blind_index(p.id18, kind="citizen_id"),
            "citizen_id_enc": vault.encrypt(p.id18), "phone_bidx": vault.blind_index(p.phone, kind="phone"),
            "phone_enc": vault.encrypt(p.phone), "household_id": p.household.uid if p.household else None,
            "relation_to_head": p.relation or None, "grid_code": grid, "building_id": p.building.uid,
            "address": p.building.address, "status": {"dead": "deceased", "moved": "moved_out"}.get(p.status, p.status),
            "floating": p.floating, "provenance": prov, "updated_at": AT})
        spec.person_ids.append(p.uid)
        spec.persons_by_grid.setdefault(grid, []).append(p.uid)
        spec.clear_ids.add(p.id18)
        if p.phone:
            spec.clear_phones.add(p.phone)
        if p.ryid:
            link("population", "persons", str(p.ryid), "person", p.uid, "citizen_id")
        if p.floating:
            link("public-security", "floating-persons", f"FP{p.uid[1:]}", "person", p.uid, "citizen_id")
        tags = set()
        if age >= 60:
            tags.add("elderly")
        if age >= 70 and p.household is not None and len(p.household.members) == 1:
            tags.add("elderly_alone")
        if rng.random() < 0.05:  # a civil-affairs roster keys on the ID as written: PII in a source key
            programme = rng.choice(PROGRAMMES)
            rows[WelfareEnrolment].append({"person_id": p.uid, "programme": programme, "status": "active",
                                           "since": dt.date(2020 + rng.randrange(6), 1 + rng.randrange(12), 1),
                                           "until": None, "details": {}, "source_key": p.id18})
            link("civil-affairs", programme, p.id18, "person", p.uid, "citizen_id")
            prov["welfare"] = {"source": "civil-affairs", "stream": programme, "source_key": p.id18,
                               "rule": "roster", "at": "2026-11-01T08:00:00"}
            tags.add({"低保": "min_allowance", "特困供养": "extreme_poverty", "残疾人": "disabled"}.get(programme, "aged_80"))
        if rng.random() < 0.015 or not spec.sensitive_person:
            rows[SpecialStatus].append({"person_id": p.uid, "category_enc": vault.encrypt(rng.choice(SPECIAL)),
                                        "status": "active",
                                        "since": dt.date(2023, 1 + rng.randrange(12), 1), "supervisor": "王警官",
                                        "source_key": f"SP{p.uid[1:]}", "note": None})
            link("public-security", "special-persons", f"SP{p.uid[1:]}", "person", p.uid, "citizen_id")
            rows[PersonTag].append({"person_id": p.uid, "tag": "special_population", "sensitive": True})
            spec.sensitive_person = spec.sensitive_person or p.uid
        for tag in sorted(tags):
            rows[PersonTag].append({"person_id": p.uid, "tag": tag, "sensitive": False})
    for o in world.organisations:
        rows[Organization].append({
            "id": o.uid, "name": o.name, "credit_code": o.credit, "category": o.category, "key_unit": o.category == KEY,
            "address": o.building.address, "legal_representative": o.legal_rep.name,
            "responsible_person_id": o.responsible.uid, "building_id": o.building.uid, "grid_code": o.building.grid.code,
            "lon": o.building.lon, "lat": o.building.lat, "phone_enc": vault.encrypt(o.phone), "provenance": {},
            "updated_at": AT})
        link("fire-safety", "units", o.unit_no, "organization", o.uid, "credit_code")
        spec.organization_ids.append(o.uid)
        if rng.random() < 0.5:
            rows[Inspection].append({"id": f"JC{o.uid[1:]}", "organization_id": o.uid, "unit_no": o.unit_no,
                                     "inspected_on": dt.date(2026, 1 + rng.randrange(10), 1 + rng.randrange(28)),
                                     "inspector": "李消防", "kind": "日常", "hazards_found": rng.randrange(3),
                                     "conclusion": "合格"})
    _events(world, rng, rows, spec)
    _redirects_and_feed(rng, rows, spec)
    _runs(rows)
    session_factory_ = session_factory(db_url)
    with session_factory_() as session, session.begin():
        _bulk(session, GridCell, _grid_rows(grids, vault))
        for model in (Building, Household, Person, PersonTag, WelfareEnrolment, SpecialStatus, Organization,
                      Inspection, Event, EventParty, EntityLink, EntityRedirect, ChangeFeed, Run, RunStream,
                      QuarantinedRow):
            if rows[model]:
                _bulk(session, model, rows[model])
        if session.get_bind().dialect.name == "postgresql":  # the feed's seqs were given: the next row written
            # (a resolve run, a test's) takes its own from the sequence, which must start past them
            session.execute(text("SELECT setval(pg_get_serial_sequence('change_feed', 'seq'), "
                                 "(SELECT max(seq) FROM change_feed))"))
    return spec


def _events(world: World, rng: random.Random, rows: dict[type, list[dict[str, Any]]], spec: Specimen) -> None:
    people = [p for p in world.persons if p.household is not None]
    n = max(20, len(world.persons) // 40)
    for i in range(n):
        kind = ("dispute", "incident", "hazard")[i % 3]
        status = rng.choice(STATUSES)
        occurred = AT - dt.timedelta(days=rng.randrange(120), hours=rng.randrange(24))
        due = occurred.date() + dt.timedelta(days=rng.choice((5, 10, 30)))
        open_ = status not in ("resolved", "closed")
        org = rng.choice(world.organisations) if kind == "hazard" else None
        party = rng.choice(people)
        grid = (org.building.grid if org else party.building.grid).code
        eid = {"dispute": f"TJ{i:06d}", "incident": f"JQ{i:06d}", "hazard": f"YH{i:06d}"}[kind]
        rows[Event].append({
            "id": eid, "kind": kind, "source": {"dispute": "dispute-mediation", "incident": "public-security",
                                                "hazard": "fire-safety"}[kind],
            "source_key": eid, "category": rng.choice(("邻里纠纷", "婚姻家庭", "消防通道", "盗窃", "电气线路")),
            "grid_code": grid, "location": (org.building if org else party.building).address, "summary": "事件摘要",
            "remit": rng.choice(("village", "township", "county")), "status": status, "sensitive": kind == "incident",
            "organization_id": org.uid if org else None, "inspection_id": None, "occurred_at": occurred,
            "accepted_at": occurred + dt.timedelta(hours=2), "resolved_at": None, "closed_at": None, "due_on": due,
            "overdue": open_ and due < AT.date(), "escalated": False,
            "history": [{"status": "open", "at": occurred.isoformat(), "note": None}], "details": {},
            "updated_at": AT})
        if kind != "hazard":
            other = rng.choice(people)
            for role, person in (("applicant", party), ("respondent", other)):
                rows[EventParty].append({"event_id": eid, "role": role, "person_id": person.uid, "name": person.name,
                                         "organization_id": None, "note": None})
        if kind == "incident" and not spec.incident_id:
            spec.incident_id = eid
        if kind == "dispute" and not spec.dispute_id:
            spec.dispute_id = eid


def _redirects_and_feed(rng: random.Random, rows: dict[type, list[dict[str, Any]]], spec: Specimen) -> None:
    survivors = rng.sample(spec.person_ids, 3)
    for i, survivor in enumerate(survivors):
        old = f"PM{i:06d}"
        rows[EntityRedirect].append({"old_id": old, "entity_type": "person", "new_id": survivor, "reason": "merged",
                                     "created_at": AT})
        spec.merged[old] = survivor
    seq = 0
    for model, etype in ((Person, "person"), (Household, "household"), (Organization, "organization"),
                         (Event, "event"), (Building, "building")):
        for row in rows[model]:
            seq += 1
            rows[ChangeFeed].append({"seq": seq, "entity_type": etype, "entity_id": row["id"], "change": "created",
                                     "run_id": "R1", "changed_at": AT})
    for old in spec.merged:
        seq += 1
        rows[ChangeFeed].append({"seq": seq, "entity_type": "person", "entity_id": old, "change": "merged",
                                 "run_id": "R2", "changed_at": AT})


def _runs(rows: dict[type, list[dict[str, Any]]]) -> None:
    for i, (source, stream) in enumerate((("population", "persons"), ("civil-affairs", "低保对象"),
                                          ("fire-safety", "units"))):
        for day in range(2):
            run_id = f"R{i}{day}"
            counts = {"read": 100 + day, "loaded": 95, "unchanged": 0, "quarantined": 5 + day, "tombstoned": 0,
                      "warnings": 2}
            rows[Run].append({"run_id": run_id, "source": source, "state": "success", "stage": "load",
                              "started_at": AT + dt.timedelta(days=day), "error": None,
                              "finished_at": AT + dt.timedelta(days=day, minutes=1), **counts})
            rows[RunStream].append({"run_id": run_id, "stream": stream, "checks": {"id_checksum": {"failed": 3}},
                                    **counts})
            rows[QuarantinedRow].append({"run_id": run_id, "source": source, "stream": stream, "source_key": None,
                                         "reasons": [{"check": "id_checksum"}], "raw_enc": "x", "status": "open",
                                         "created_at": AT})
