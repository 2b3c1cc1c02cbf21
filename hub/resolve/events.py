"""Events (事) from the department records: disputes, police incidents, fire hazards; and inspections.

- dispute: dispute-mediation ``cases`` (folded from the event log) + ``case-parties`` → EventParty,
  each party pointing at the Person or Organization the linking step resolved for ``case_no#N``;
- incident: public-security ``incidents``, always ``sensitive``;
- hazard: fire-safety ``hazards`` joined to their ``inspections`` and the unit's Organization.

Deadlines (``due_on``/``overdue``/``escalated``) come from :mod:`hub.events.deadlines` through
:func:`hub.events.overdue.assess_event`, for the ``today`` given. Runs after :mod:`hub.resolve.places`
(an event without a usable grid code is placed by its coordinates or its address).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Any

from sqlalchemy import delete, insert, select, update

from hub.context import HubContext
from hub.db.models import (
    Building,
    Event,
    EventParty,
    Inspection,
    Organization,
)
from hub.db.session import transaction
from hub.events.calendar import calendar_for
from hub.events.clock import beijing_today
from hub.events.deadlines import remit_for
from hub.events.overdue import assess_event
from hub.resolve.address import building_key
from hub.resolve.eventfields import (
    DISPUTE_STEPS,
    HAZARD_STATUS,
    INCIDENT_STATUS,
    STEP_NOTE,
    advance,
    day_of,
    history_steps,
    source_time,
    text_or_none,
)
from hub.resolve.eventrows import (
    Key,
    finish_incremental,
    fire_units,
    party_links,
    party_records,
)
from hub.resolve.eventscope import EventScope, find_scope, marks, remember_marks
from hub.resolve.gridindex import GridIndex
from hub.resolve.placement import address_key, place_by_address
from hub.resolve.placeread import stream_links
from hub.resolve.places import gc_paused
from hub.resolve.upsert import ChangeWriter, chunks, fetch, records, records_by_key, sources_of

log = logging.getLogger(__name__)
EVENT_FIELDS = ("kind", "source", "source_key", "category", "grid_code", "location", "summary", "remit", "status",
                "sensitive", "organization_id", "inspection_id", "occurred_at", "accepted_at", "resolved_at",
                "closed_at", "due_on", "overdue", "escalated", "history", "details")


def event_id(source: str, key: str) -> str:
    """Short and deterministic: ``E-<source>-<source_key>``."""
    return f"E-{source}-{key}"[:64]


class Projector:
    """Every event (``scope`` None: the reference), or only those of the source keys in ``scope``."""

    def __init__(self, ctx: HubContext, session: Any, today: dt.date, scope: EventScope | None = None) -> None:
        self.ctx, self.session, self.today, self.scope = ctx, session, today, scope
        self.calendar = calendar_for(ctx.config)
        self.index = GridIndex.load(session)
        self.writer = ChangeWriter(session)
        columns = [Event.id, *(getattr(Event, f) for f in EVENT_FIELDS)]
        if scope is None:
            self.existing = fetch(session, columns)
        else:
            ids = sorted({event_id(s, k) for keys in (scope.cases, scope.incidents, scope.hazards) for s, k in keys})
            self.existing = {}
            for batch in chunks(ids):
                self.existing.update(fetch(session, columns, Event.id.in_(batch)))
        self.desired: dict[str, dict[str, Any]] = {}
        self.links: dict[tuple[str, str, str], str] = {}
        self.counts: Counter[str] = Counter()
        self._buildings: dict[str, str | None] | None = None
        self.addressed: dict[str, str] = {}  # event id -> the building key its grid was looked up by
        self._looked_up: str | None = None

    def _grid(self, code: Any, address: Any = None, lon: Any = None, lat: Any = None) -> str | None:
        """Explicit code > point (swap-aware) > the building at the address > the village it names."""
        if code and self.index.known(str(code)):
            return str(code)
        if (hit := self.index.locate(lon, lat)) is not None:
            return hit.code
        key = building_key(address) if address else None
        if key is None:
            return None
        wanted = address_key(self.index, address) or ""
        if self._buildings is None and self.scope is None:
            self._buildings = dict(self.session.connection().execute(select(Building.address_key, Building.grid_code)).all())
        elif self._buildings is None:
            self._buildings = {}
        self._looked_up = wanted
        if self.scope is not None and wanted not in self._buildings:  # a few events: one index probe each
            self._buildings[wanted] = self.session.connection().execute(
                select(Building.grid_code).where(Building.address_key == wanted)).scalar()
        return self._buildings.get(wanted) or place_by_address(self.index, key).grid_code

    def _read(self, sources: list[str], stream: str, keys: set[Key] | None) -> Any:
        """The live records of one stream: all of them, or those with these keys in an incremental pass."""
        return records(self.session, sources, stream) if keys is None else records_by_key(
            self.session, [(s, k) for s, k in keys if s in sources], stream)

    def _put(self, source: str, stream: str, key: str, values: dict[str, Any]) -> None:
        eid = event_id(source, key)
        state = assess_event(values, self.today, self.calendar)
        values.update(due_on=state.due_on if state else None, overdue=bool(state and state.overdue),
                      escalated=bool(state and state.escalated))
        self.desired[eid] = {"source": source, "source_key": key, **values}
        if self._looked_up is not None:
            self.addressed[eid] = self._looked_up
            self._looked_up = None
        self.links[(source, stream, key)] = eid
        self.counts[f"{values['kind']}s"] += 1

    def disputes(self) -> None:
        keys = None if self.scope is None else self.scope.cases
        for source, key, d in self._read(sources_of(self.ctx, "dispute-mediation"), "cases", keys):
            steps = sorted(history_steps(d.get("history")), key=lambda s: (s.get("seq") or 0))
            history, failed_at, passed_up_at = [], None, None
            for step in steps:
                kind = step.get("type")
                history.append({"status": DISPUTE_STEPS.get(kind, kind), "at": step.get("ts"),
                                "note": text_or_none(step.get(STEP_NOTE.get(kind, ""))) or text_or_none(step.get("mediator"))})
                failed_at = failed_at or (source_time(step.get("ts")) if kind == "case.failed" else None)
                passed_up_at = passed_up_at or (step.get("ts") if kind == "case.transferred" else None)
            details = {k: d.get(k) for k in ("level", "mediator", "department", "transferred_to", "agreement",
                                             "amount", "feedback", "failure_reason", "party_count") if d.get(k)
                       not in (None, "")}
            if passed_up_at:
                details["passed_up_at"] = passed_up_at
            self._put(source, "cases", key, {
                "kind": "dispute", "category": text_or_none(d.get("category")),
                "grid_code": self._grid(d.get("grid_code"), d.get("location")),
                "location": text_or_none(d.get("location")), "summary": text_or_none(d.get("summary")),
                "remit": remit_for("dispute", d.get("level")), "status": text_or_none(d.get("status")) or "accepted",
                "sensitive": False, "organization_id": None, "inspection_id": None,
                "occurred_at": source_time(d.get("accepted_at")), "accepted_at": source_time(d.get("accepted_at")),
                "resolved_at": source_time(d.get("resolved_at")) or failed_at, "closed_at": source_time(d.get("closed_at")),
                "history": history, "details": details})

    def incidents(self) -> None:
        keys = None if self.scope is None else self.scope.incidents
        for source, key, d in self._read(sources_of(self.ctx, "public-security"), "incidents", keys):
            raw = text_or_none(d.get("status"))
            status = INCIDENT_STATUS.get(raw or "", raw or "accepted")
            occurred, updated = source_time(d.get("occurred_at")), source_time(d.get("updated_at"))
            old = self.existing.get(event_id(source, key))
            history = list(old["history"]) if old and old["history"] else advance([], "accepted", occurred)
            history = advance(history, status, updated)
            closed_at = next((source_time(h["at"]) for h in history if h["status"] == "closed"), None)
            self._put(source, "incidents", key, {
                "kind": "incident", "category": text_or_none(d.get("type")),
                "grid_code": self._grid(d.get("grid_code"), d.get("address"), d.get("lon"), d.get("lat")),
                "location": text_or_none(d.get("address")), "summary": text_or_none(d.get("summary")),
                "remit": remit_for("incident"), "status": status, "sensitive": True, "organization_id": None,
                "inspection_id": None, "occurred_at": occurred, "accepted_at": occurred, "resolved_at": None,
                "closed_at": closed_at if status == "closed" else None, "history": history,
                "details": {"source_status": raw}})

    def hazards_and_inspections(self) -> None:
        s, fire, scope = self.session, sources_of(self.ctx, "fire-safety"), self.scope
        hazards = list(self._read(fire, "hazards", None if scope is None else scope.hazards))
        needed = None if scope is None else scope.inspections | {(src, d.get("inspection_no") or "")
                                                                 for src, _, d in hazards}
        found = list(self._read(fire, "inspections", needed))
        org_of = fire_units(s, fire, None if scope is None else {(src, d.get("unit_no") or "") for src, _, d in found})
        orgs = fetch(s, [Organization.id, Organization.grid_code, Organization.address],
                     *([] if scope is None else [Organization.id.in_(sorted(set(org_of.values())))]))
        inspections: dict[tuple[str, str], dict[str, Any]] = {}
        wanted: dict[str, dict[str, Any]] = {}
        for source, key, d in found:
            inspections[(source, key)] = d
            wanted[key] = {"organization_id": org_of.get((source, d.get("unit_no") or "")),
                           "unit_no": d.get("unit_no") or "", "inspected_on": day_of(d.get("inspected_on")),
                           "inspector": text_or_none(d.get("inspector")), "kind": text_or_none(d.get("kind")),
                           "hazards_found": d.get("hazards_found"), "conclusion": text_or_none(d.get("conclusion"))}
        have = fetch(s, [Inspection.id, Inspection.organization_id, Inspection.unit_no, Inspection.inspected_on,
                         Inspection.inspector, Inspection.kind, Inspection.hazards_found, Inspection.conclusion],
                     *([] if scope is None else [Inspection.id.in_(sorted(wanted))]))
        self.writer.sync(Inspection, "inspection", have, wanted)
        for source, key, d in hazards:
            insp = inspections.get((source, d.get("inspection_no") or ""), {})
            oid = org_of.get((source, insp.get("unit_no") or ""))
            org = orgs.get(oid or "", {})
            raw = text_or_none(d.get("status"))
            status = HAZARD_STATUS.get(raw or "", raw or "open")
            found = source_time(insp.get("inspected_on"))
            old = self.existing.get(event_id(source, key))
            history = list(old["history"]) if old and old["history"] else advance([], "open", found)
            resolved = source_time(d.get("resolved_on"))
            history = advance(history, status, resolved if status == "rectified" else None)
            details = {"grade": text_or_none(d.get("grade")), "rectification_due": text_or_none(d.get("due_on")),
                       "unit_no": insp.get("unit_no"), "source_status": raw, "inspector": text_or_none(insp.get("inspector"))}
            self._put(source, "hazards", key, {
                "kind": "hazard", "category": text_or_none(d.get("grade")), "grid_code": self._grid(org.get("grid_code")),
                "location": org.get("address"), "summary": text_or_none(d.get("summary")), "remit": remit_for("hazard"),
                "status": status, "sensitive": False, "organization_id": oid,
                "inspection_id": text_or_none(d.get("inspection_no")), "occurred_at": found, "accepted_at": found,
                "resolved_at": resolved if status == "rectified" else None, "closed_at": None,
                "history": history, "details": {k: v for k, v in details.items() if v is not None}})

    def parties(self) -> None:
        s, sources = self.session, sources_of(self.ctx, "dispute-mediation")
        streams = ["case-parties", "cases"]
        who: dict[tuple[str, str], dict[str, str]] = {}
        cases = None if self.scope is None else {(d["source"], d["source_key"]) for d in self.desired.values()
                                                 if d["kind"] == "dispute"}
        if cases is None:
            for source, _, key, etype, eid in stream_links(s, ("person", "organization"), sources, streams):
                who.setdefault((source, key), {})[etype] = eid
        else:
            for source, key, etype, eid in party_links(s, cases):
                who.setdefault((source, key), {})[etype] = eid
        wanted: dict[tuple[str, str], dict[str, Any]] = {}
        for source, key, d in (records(s, sources, "case-parties") if cases is None else party_records(s, cases)):
            eid = event_id(source, str(d.get("case_no") or key.split("#")[0]))
            if eid not in self.desired:
                continue
            ids = who.get((source, key), {})
            wanted[(eid, key)] = {"role": text_or_none(d.get("role")) or "party", "person_id": ids.get("person"),
                                  "organization_id": ids.get("organization"), "name": text_or_none(d.get("name"))}
        stmt = select(EventParty.id, EventParty.event_id, EventParty.party_key, EventParty.role, EventParty.person_id,
                      EventParty.organization_id, EventParty.name).where(EventParty.party_key.is_not(None))
        have = {(r.event_id, r.party_key): r for r in (s.execute(stmt) if cases is None else (
            r for batch in chunks(sorted(self.desired)) for r in s.execute(stmt.where(EventParty.event_id.in_(batch)))))}
        new = [{"event_id": k[0], "party_key": k[1], **v} for k, v in wanted.items() if k not in have]
        changed_keys = [k for k, v in wanted.items() if k in have and any(getattr(have[k], f) != x
                                                                           for f, x in v.items())]
        changed = [{"id": have[k].id, **wanted[k]} for k in changed_keys]
        gone_keys = [k for k in have if k not in wanted and k[0] in self.desired]
        gone = [have[k].id for k in gone_keys]
        for batch in chunks(new):
            s.execute(insert(EventParty), batch)
        for batch in chunks(changed):
            s.execute(update(EventParty), batch)
        for batch in chunks(gone):
            s.execute(delete(EventParty).where(EventParty.id.in_(batch)))
        touched = {r["event_id"] for r in new} | {k[0] for k in changed_keys} | {k[0] for k in gone_keys}
        events_changed = {e for e in touched if e in self.existing and self.existing[e] != {
            f: self.desired[e].get(f) for f in EVENT_FIELDS}}  # already in the feed through sync()
        for eid in sorted(touched - events_changed):
            if eid in self.existing:
                self.writer.feed("event", eid, "updated")
        self.counts["parties_written"] += len(new) + len(changed)
        self.counts["parties_removed"] += len(gone)

    def run(self) -> dict[str, int]:
        self.disputes()
        self.incidents()
        self.hazards_and_inspections()
        self.writer.sync(Event, "event", self.existing, self.desired)
        self.parties()
        if self.scope is None:
            scope = [(src, stream) for connector, stream in (("dispute-mediation", "cases"),
                                                             ("public-security", "incidents"), ("fire-safety", "hazards"))
                     for src in sources_of(self.ctx, connector)]
            self.writer.links("event", self.links, "source_key", scope)
            self.counts["overdue"] = sum(v["overdue"] for v in self.desired.values())
            self.counts["escalated"] = sum(v["escalated"] for v in self.desired.values())
        else:
            self.counts.update(finish_incremental(self.writer, self.scope, self.links, set(self.desired), self.today,
                                                  self.calendar))
        self.writer.flush_feed()
        return dict(sorted((self.counts + self.writer.counts).items()))


def project_events(ctx: HubContext, today: dt.date | None = None, *, full: bool = False) -> dict[str, int]:
    """Project the disputes, incidents and hazards whose inputs changed since the last pass
    (:mod:`hub.resolve.eventscope`), or every one of them (``full``, a first pass, a grid change...).

    A second run with the same data and day writes nothing and reads no record: ``{"unchanged": 1}``."""
    today = today or beijing_today()
    ctx.ensure_store()
    with transaction(ctx.db_url) as session, gc_paused():  # no cycles worth collecting: see places.gc_paused
        current = marks(ctx, session, today)
        scope, why = (None, "full=True") if full else find_scope(ctx, session, today, current)
        if scope is not None and not scope.size() and not scope.daily:
            remember_marks(session, current)
            return {"unchanged": 1}
        projector = Projector(ctx, session, today, scope)
        counts = projector.run()
        session.flush()
        if scope is None:
            current.addressed = {}
        for eid in projector.desired:  # re-projected: looked up by address now, or not any more
            current.addressed.pop(eid, None)
        current.addressed.update(projector.addressed)
        remember_marks(session, current)
        log.debug("events: %s pass (%s)", "incremental" if scope is not None else "full", why)
        return counts

