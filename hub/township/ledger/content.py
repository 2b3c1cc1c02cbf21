"""What a grid's ledger holds, read from the unified model for one reader (grid-work.md, 一格一台账).

The reader's scopes decide what is in it, not only how it is shown: households and people need
``read:people``, events ``read:events``; police incidents, sensitive events, special population and
sensitive tags only with ``read:sensitive``; IDs and phones are masked without ``read:pii``.
Every table is one range scan over the grid's subtree (``grid_code`` indexes).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.api.keys import Principal
from hub.api.masking import Masker
from hub.api.subtree import subtree
from hub.db.models import (
    Building,
    Event,
    GridCell,
    Household,
    Inspection,
    Organization,
    Person,
    PersonTag,
    SpecialStatus,
)
from hub.errors import HubError
from hub.privacy import Vault
from hub.privacy.sensitive import category_of
from hub.quality.identity import RELATION_NAMES
from hub.township import handling
from hub.township.rules import TownshipRules

RELATIONS = RELATION_NAMES
GENDERS = {"M": "男", "F": "女", "U": "未知"}
STATUSES = {"active": "在册", "deceased": "死亡", "moved_out": "迁出", "left": "离开"}
LEVELS = {1: "一级网格（乡镇）", 2: "二级网格（村/社区）", 3: "三级网格（村民/居民小组）"}
# the care lists (关爱对象) a grid worker visits; "elderly" (60+, a quarter of a village) is a tag, not a care list
CARE_TAGS = {"elderly_alone": "独居老人", "aged_80": "高龄老人", "disabled": "残疾人", "min_allowance": "低保对象",
             "extreme_poverty": "特困供养"}
TAG_LABELS = {**CARE_TAGS, "elderly": "老年人", "minor": "未成年人", "floating": "流动人口"}
SENSITIVE_TAGS = {"special_population": "特殊人群"}
EVENT_KINDS = {"dispute": "矛盾纠纷", "hazard": "消防隐患", "incident": "警情"}
EVENT_STATUSES = {"open": "待处理", "accepted": "已受理", "assigned": "已分派", "in_progress": "处理中",
                  "resolved": "已化解", "failed": "调解不成", "transferred": "已移交", "closed": "已办结",
                  "rectified": "已整改", "overdue": "逾期"}


@dataclass
class TitleBlock:
    code: str
    name: str
    level: int
    parent_code: str | None
    parent_name: str | None
    manager: str | None
    manager_phone: str | None
    as_of: dt.date


@dataclass
class LedgerContent:
    title: TitleBlock
    households: list[dict[str, Any]] = field(default_factory=list)  # each with "members", head first
    floating: list[dict[str, Any]] = field(default_factory=list)  # persons with no household in the grid
    buildings: list[dict[str, Any]] = field(default_factory=list)
    organizations: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    care: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # tag label -> persons
    special: list[dict[str, Any]] = field(default_factory=list)  # only with read:sensitive
    person_ids: list[str] = field(default_factory=list)  # every person shown, for the audit log


def _age(birth: dt.date | None, day: dt.date) -> int | None:
    return None if birth is None else day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class LedgerReader:
    def __init__(self, session: Session, vault: Vault, grid: str, reader: Principal, as_of: dt.date,
                 rules: TownshipRules) -> None:
        self.session, self.reader, self.as_of, self.rules = session, reader, as_of, rules
        self.cell = session.get(GridCell, grid)
        bound = None
        if reader.grid_code:  # a grid-bound reader sees only its subtree; anything else does not exist for it
            bound = subtree(reader.grid_code, session.scalar(select(GridCell.level).where(
                GridCell.code == reader.grid_code)))
        if self.cell is None or (bound is not None and not bound.contains(grid)):
            raise HubError(f"no grid {grid}")
        self.range = subtree(self.cell.code, self.cell.level)
        self.masker = Masker(vault, reader)
        self.sensitive = reader.has("read:sensitive")

    def title(self) -> TitleBlock:
        c = self.cell
        parent = self.session.get(GridCell, c.parent_code) if c.parent_code else None
        return TitleBlock(code=c.code, name=c.name, level=c.level, parent_code=c.parent_code,
                          parent_name=parent.name if parent else None, manager=c.manager,
                          manager_phone=self.masker.phone(c.manager_phone_enc), as_of=self.as_of)

    def people(self, content: LedgerContent) -> None:
        s, rng = self.session, self.range
        persons = list(s.execute(select(Person.id, Person.name, Person.gender, Person.birth_date, Person.citizen_id_enc,
                                        Person.phone_enc, Person.household_id, Person.relation_to_head, Person.status,
                                        Person.floating, Person.grid_code, Person.address)
                                 .where(rng.clause(Person.grid_code)).order_by(Person.id)))
        self.masker.prefetch(t for p in persons for t in (p.citizen_id_enc, p.phone_enc))
        tags: dict[str, list[str]] = defaultdict(list)
        stmt = (select(PersonTag.person_id, PersonTag.tag, PersonTag.sensitive)
                .join(Person, Person.id == PersonTag.person_id).where(rng.clause(Person.grid_code)))
        for pid, tag, sensitive in s.execute(stmt.order_by(PersonTag.person_id, PersonTag.tag)):
            if not sensitive or self.sensitive:
                tags[pid].append(tag)
        rows = {p.id: {"id": p.id, "name": p.name, "gender": GENDERS.get(p.gender or "", p.gender),
                       "birth_date": p.birth_date, "age": _age(p.birth_date, self.as_of),
                       "citizen_id": self.masker.citizen_id(p.citizen_id_enc), "phone": self.masker.phone(p.phone_enc),
                       "relation": RELATIONS.get(p.relation_to_head or "", p.relation_to_head),
                       "status": STATUSES.get(p.status, p.status), "grid_code": p.grid_code, "address": p.address,
                       "household_id": p.household_id, "floating": bool(p.floating),
                       "tags": [TAG_LABELS.get(t) or SENSITIVE_TAGS.get(t) or t for t in tags.get(p.id, [])]}
                for p in persons}
        members: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for p in rows.values():
            if p["household_id"]:
                members[p["household_id"]].append(p)
        households = s.execute(select(Household).where(rng.clause(Household.grid_code))
                               .order_by(Household.grid_code, Household.household_no, Household.id)).scalars()
        placed: set[str] = set()
        for h in households:
            ms = members.get(h.id, [])
            ms.sort(key=lambda m: (m["id"] != h.head_person_id, m["relation"] != "户主", m["relation"] or "",
                                   m["birth_date"] or dt.date.max, m["id"]))
            placed.update(m["id"] for m in ms)
            content.households.append({"id": h.id, "household_no": h.household_no, "address": h.address,
                                       "grid_code": h.grid_code, "active": h.active, "members": ms})
        content.floating = [p for p in rows.values() if p["id"] not in placed]
        for pid, ts in tags.items():
            for t in ts:
                label = CARE_TAGS.get(t)
                if label and pid in rows:
                    content.care.setdefault(label, []).append(rows[pid])
        content.care = {label: content.care[label] for label in CARE_TAGS.values() if label in content.care}
        content.person_ids.extend(rows)
        if self.sensitive:
            stmt = (select(SpecialStatus, Person.name, Person.grid_code).join(Person, Person.id == SpecialStatus.person_id)
                    .where(rng.clause(Person.grid_code)).order_by(Person.grid_code, Person.id))
            content.special = [{"person_id": st.person_id, "name": name, "grid_code": grid,
                                "category": category_of(self.masker.vault, st.category_enc),
                                "since": st.since, "status": st.status, "supervisor": st.supervisor}
                               for st, name, grid in s.execute(stmt)]

    def places(self, content: LedgerContent) -> None:
        s, rng = self.session, self.range
        households_in = dict(s.execute(select(Household.building_id, func.count()).where(
            rng.clause(Household.grid_code)).group_by(Household.building_id)).all())
        orgs = list(s.scalars(select(Organization).where(rng.clause(Organization.grid_code))
                              .order_by(Organization.grid_code, Organization.name, Organization.id)))
        orgs_in: dict[str | None, int] = defaultdict(int)
        for o in orgs:
            orgs_in[o.building_id] += 1
        for b in s.execute(select(Building.id, Building.address, Building.grid_code, Building.grid_method)
                           .where(rng.clause(Building.grid_code)).order_by(Building.grid_code, Building.address)):
            content.buildings.append({"id": b.id, "address": b.address, "grid_code": b.grid_code,
                                      "grid_method": b.grid_method, "households": households_in.get(b.id, 0),
                                      "organizations": orgs_in.get(b.id, 0)})
        ids = [o.id for o in orgs]
        last: dict[str, dt.date] = {}
        count: dict[str, int] = defaultdict(int)
        hazards: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
            for oid, day in s.execute(select(Inspection.organization_id, Inspection.inspected_on)
                                      .where(Inspection.organization_id.in_(chunk))):
                count[oid] += 1
                if day and (oid not in last or day > last[oid]):
                    last[oid] = day
            for e in s.execute(select(Event.id, Event.organization_id, Event.category, Event.status, Event.due_on,
                                      Event.details).where(Event.organization_id.in_(chunk), Event.kind == "hazard",
                                                           Event.status != "rectified")):
                due = handling._day((e.details or {}).get("rectification_due")) or e.due_on
                hazards[e.organization_id].append({"id": e.id, "grade": e.category, "due": due,
                                                   "overdue": due is not None and due < self.as_of})
        self.masker.prefetch(o.phone_enc for o in orgs)
        for o in orgs:
            open_ = sorted(hazards.get(o.id, []), key=lambda h: h["id"])
            status = ("有重大隐患未整改" if any(h["grade"] == "重大" for h in open_) else
                      "有隐患逾期未整改" if any(h["overdue"] for h in open_) else
                      "有隐患整改中" if open_ else "未检查" if o.id not in last else "无未整改隐患")
            content.organizations.append({
                "id": o.id, "name": o.name, "credit_code": o.credit_code, "category": o.category,
                "key_unit": o.key_unit, "address": o.address, "legal_representative": o.legal_representative,
                "phone": self.masker.phone(o.phone_enc), "grid_code": o.grid_code, "last_inspected": last.get(o.id),
                "inspections": count.get(o.id, 0), "fire_status": status, "open_hazards": open_})

    def events(self, content: LedgerContent) -> None:
        if not self.reader.has("read:events"):
            return
        stmt = select(Event).where(self.range.clause(Event.grid_code)).order_by(Event.accepted_at, Event.id)
        if not self.sensitive:
            stmt = stmt.where(Event.kind != "incident", Event.sensitive.is_(False))
        cal = self.rules.calendar
        for e in self.session.scalars(stmt):
            values = {c: getattr(e, c) for c in ("id", "kind", "grid_code", "remit", "status", "accepted_at",
                                                 "occurred_at", "resolved_at", "closed_at", "history", "details")}
            h = handling.read(values, self.as_of, cal)
            content.events.append({
                "id": e.id, "kind": e.kind, "source_category": e.category,
                "ledger_category": self.rules.categories.of(e.kind, e.category), "grid_code": e.grid_code,
                "summary": self.masker.text(e.summary), "location": e.location,
                "status": EVENT_STATUSES.get(e.status, e.status), "accepted": h.started, "due": h.due,
                "provisional": h.provisional, "finished": h.finished_on,
                "days_left": handling.working_days_left(h, self.as_of, cal), "overdue_open": h.overdue_open,
                "handler": handling.handler_of(values), "feedback": (e.details or {}).get("feedback"),
                "reason": handling.reason_noted(values, h.due)})


def read_ledger(session: Session, vault: Vault, grid: str, reader: Principal, as_of: dt.date,
                rules: TownshipRules) -> LedgerContent:
    if not reader.has("read:grids"):
        raise HubError("the ledger needs the scope read:grids")
    r = LedgerReader(session, vault, grid, reader, as_of, rules)
    content = LedgerContent(title=r.title())
    if reader.has("read:people"):
        r.people(content)
    r.places(content)
    r.events(content)
    return content
