"""Gather what resolve reads from source records: person, organisation and household mentions.

Streams are recognised by their contract's canonical columns, never by source name, so a county
that names its sources differently (or a new connector using the canonical vocabulary) still
resolves. A person mentioned inside another record (a unit's responsible person, a floating
person's employer) becomes its own mention under the record's key plus ``#role``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, select, type_coerce
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.db.models import SourceRecord
from hub.resolve.store import by_stream, decode_json

PERSON, ORG, HOUSEHOLD = "person", "organization", "household"
CROSSWALK_STREAM = {"case-parties": "cases"}  # stream as loaded -> stream as legacy-systems.md names it
RESPONSIBLE_ROLE = "责任人"
EMPLOYER_ROLE = "employer"


@dataclass(frozen=True)
class StreamPlan:
    """What one (source, stream) holds, decided from its canonical column names."""

    source: str
    stream: str
    connector: str
    person: bool = False  # each record is a person
    org: bool = False  # each record is an organisation
    household: bool = False
    party: bool = False  # each record is a person or an organisation (``party_kind``)
    responsible: bool = False  # flattened ``responsible_*`` person inside the record
    employer: bool = False  # an ``employer`` organisation named inside the record
    key_is_id: bool = False  # the source key is the citizen ID as written (civil-affairs rosters)

    @property
    def link_stream(self) -> str:
        return CROSSWALK_STREAM.get(self.stream, self.stream)

    @property
    def primary_type(self) -> str:
        if self.household:
            return HOUSEHOLD
        return ORG if self.org else PERSON


def plan_for(source: str, stream: str, connector: str, columns: set[str], key_is_id: bool = False) -> StreamPlan | None:
    cols = {c[:-5] if c.endswith("_bidx") else c[:-4] if c.endswith("_enc") else c for c in columns}
    household = "household_no" in cols and ("head_citizen_id" in cols or "head_name" in cols)
    org = "org_name" in cols
    party = "party_kind" in cols
    person = not (household or org or party) and (
        "citizen_id" in cols or ("name" in cols and bool(cols & {"birth_date", "phone", "gender"})))
    plan = StreamPlan(source, stream, connector, person=person, org=org, household=household, party=party,
                      responsible=bool(cols & {"responsible_name", "responsible_citizen_id"}),
                      employer="employer" in cols and person, key_is_id=key_is_id)
    return plan if (plan.person or plan.org or plan.household or plan.party) else None


def stream_plans(ctx: HubContext, session: Session, sources: Iterable[str] | None = None) -> list[StreamPlan]:
    """Every loaded (source, stream) resolve can read; contracts first, a record's keys as fallback."""
    wanted = set(sources) if sources else None
    plans: list[StreamPlan] = []
    pairs = session.execute(select(SourceRecord.source, SourceRecord.stream).distinct()).all()
    for source, stream in sorted(pairs):
        if (wanted is not None and source not in wanted) or source not in ctx.config.sources:
            continue
        connector = ctx.config.sources[source].connector
        contract = ctx.contracts.find(connector, stream)
        key_is_id = False
        if contract is not None:
            columns = {c.name for c in contract.columns}
            key_is_id = any(c.primary_key and (c.options.get("piiKind") or c.normalize == "citizen_id")
                            for c in contract.columns)
        else:
            sample = session.scalar(select(SourceRecord.data).where(
                SourceRecord.source == source, SourceRecord.stream == stream, SourceRecord.deleted.is_(False)).limit(1))
            columns = set(sample or {})
        plan = plan_for(source, stream, connector, columns, key_is_id)
        if plan is not None:
            plans.append(plan)
    return plans


@dataclass(slots=True)
class Mention:
    """One reference to an entity: a whole record, or a ``#role`` inside one."""

    order: tuple[int, int]  # (source_record.id, n): arrival order, the anchor of stable ids
    source: str
    stream: str
    key: str  # the record's source_key
    link_stream: str
    link_key: str
    etype: str
    connector: str
    run_id: str
    deleted: bool
    updated: str = ""
    name: str | None = None
    cid: str | None = None
    cid_enc: str | None = None
    phone: str | None = None
    phone_enc: str | None = None
    gender: str | None = None
    birth: str | None = None
    village: str | None = None
    household_no: str | None = None
    credit: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> tuple[str, str, str]:
        return (self.source, self.link_stream, self.link_key)

    @property
    def ref(self) -> str:
        """``source|stream|source_key``: how the review queue names a record."""
        return f"{self.source}|{self.link_stream}|{self.link_key}"


def _s(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN is truthy: never let it through
        return None
    text = str(value).strip()
    return text or None


PERSON_ATTRS = ("ethnicity", "relation_to_head", "address", "status", "cancel_reason", "category", "since",
                "supervisor", "registered_at", "approved_on", "welfare_status", "lives_alone", "disability",
                "programme")
ORG_ATTRS = ("category", "address", "legal_rep", "lon", "lat", "grid_code", "party_kind", "case_grid_code",
             "case_address")


def key_citizen_id(key: str, blind_index: Callable[[str], str | None]) -> str | None:
    """A tombstone keyed by the ID as written (or a 残疾人证号: the ID plus two digits) keeps its person."""
    from hub.quality.identity import citizen_id
    from hub.quality.normalize import Invalid

    for candidate in (key, key[:18] if len(key.strip()) == 20 else None):
        if candidate:
            try:
                value = citizen_id(candidate)
            except Invalid:
                continue
            if value:
                return blind_index(value)
    return None


def mentions_of(plan: StreamPlan, rid: int, key: str, data: dict[str, Any], deleted: bool,
                run_id: str, updated: dt.datetime | None, delete_reason: str | None = None,
                blind_index: Callable[[str], str | None] | None = None) -> list[Mention]:
    """The mentions one source record carries (its own entity first)."""
    d = dict(data or {})
    if deleted:
        if delete_reason and not d.get("cancel_reason"):
            d["cancel_reason"] = delete_reason
        if plan.key_is_id and not d.get("citizen_id_bidx") and blind_index is not None:
            d["citizen_id_bidx"] = key_citizen_id(key, blind_index)
    stamp = _s(d.get("updated_at")) or (updated.isoformat(sep=" ") if updated else "")
    base = {"source": plan.source, "stream": plan.stream, "key": key, "link_stream": plan.link_stream,
            "connector": plan.connector, "run_id": run_id, "deleted": deleted, "updated": stamp}
    out: list[Mention] = []
    if plan.household:
        out.append(Mention((rid, 0), link_key=key, etype=HOUSEHOLD, household_no=_s(d.get("household_no")) or key,
                           name=_s(d.get("head_name")), cid=_s(d.get("head_citizen_id_bidx")),
                           attrs={k: d.get(k) for k in ("address", "village_code", "group_no", "status")}, **base))
        return out
    kind = (_s(d.get("party_kind")) or "").lower() if plan.party else ""
    if plan.org or (plan.party and (kind.startswith("org") or (not kind and _s(d.get("credit_code"))))):
        out.append(Mention((rid, 0), link_key=key, etype=ORG, name=_s(d.get("org_name") or d.get("name")),
                           credit=_s(d.get("credit_code")),
                           phone=_s(d.get("phone_bidx") or d.get("responsible_phone_bidx")),
                           phone_enc=_s(d.get("phone_enc") or d.get("responsible_phone_enc")),
                           attrs={k: d.get(k) for k in ORG_ATTRS if d.get(k) is not None}, **base))
    elif plan.person or plan.party:
        attrs = {k: d.get(k) for k in PERSON_ATTRS if d.get(k) is not None}
        out.append(Mention((rid, 0), link_key=key, etype=PERSON, name=_s(d.get("name")),
                           cid=_s(d.get("citizen_id_bidx")), cid_enc=_s(d.get("citizen_id_enc")),
                           phone=_s(d.get("phone_bidx")), phone_enc=_s(d.get("phone_enc")),
                           gender=_s(d.get("gender")), birth=_s(d.get("birth_date")),
                           village=_s(d.get("village")), household_no=_s(d.get("household_no")),
                           attrs=attrs, **base))
    if plan.responsible:
        name, cid = _s(d.get("responsible_name")), _s(d.get("responsible_citizen_id_bidx"))
        if name or cid or deleted:
            out.append(Mention((rid, 1), link_key=f"{key}#{RESPONSIBLE_ROLE}", etype=PERSON, name=name, cid=cid,
                               cid_enc=_s(d.get("responsible_citizen_id_enc")),
                               phone=_s(d.get("responsible_phone_bidx")),
                               phone_enc=_s(d.get("responsible_phone_enc")), **base))
    if plan.employer:
        employer = _s(d.get("employer"))
        if employer:
            # where the employee lives: what tells two same-named shops apart (never the org's own address)
            home = {f"home_{k}": d[k] for k in ("grid_code", "address", "village") if d.get(k) not in (None, "")}
            out.append(Mention((rid, 2), link_key=f"{key}#{EMPLOYER_ROLE}", etype=ORG, name=employer, attrs=home,
                               **base))
    return out


def read_mentions(session: Session, plans: list[StreamPlan], record_ids: set[int] | None = None,
                  keys: set[tuple[str, str, str]] | None = None,
                  blind_index: Callable[[str], str | None] | None = None) -> Iterator[Mention]:
    """Stream mentions out of the store; all records of the planned streams, or only the given ones."""
    by_pair = {(p.source, p.stream): p for p in plans}
    # Core rows and the JSON text decoded once here: the ORM row machinery and SQLAlchemy's json.loads
    # cost more than the linking itself at county scale
    cols = (SourceRecord.id, SourceRecord.source, SourceRecord.stream, SourceRecord.source_key,
            type_coerce(SourceRecord.data, Text).label("data"), SourceRecord.deleted, SourceRecord.last_run_id, SourceRecord.updated_at, SourceRecord.delete_reason)
    queries = []
    if record_ids is None and keys is None:
        for p in plans:
            queries.append(select(*cols).where(SourceRecord.source == p.source, SourceRecord.stream == p.stream))
    else:
        ids = sorted(record_ids or ())
        for i in range(0, len(ids), 500):
            queries.append(select(*cols).where(SourceRecord.id.in_(ids[i:i + 500])))
        for source, stream, batch in by_stream(keys or ()):
            queries.append(select(*cols).where(SourceRecord.source == source, SourceRecord.stream == stream,
                                               SourceRecord.source_key.in_(batch)))
    seen: set[int] = set()
    connection = session.connection()
    for query in queries:
        for rid, source, stream, key, data, deleted, run_id, updated, reason in connection.execute(
                query.execution_options(yield_per=20_000)):
            plan = by_pair.get((source, stream))
            if plan is None or rid in seen:
                continue
            seen.add(rid)
            yield from mentions_of(plan, rid, key, decode_json(data), bool(deleted), run_id, updated, reason,
                                   blind_index)
