"""Resolve persons, households and organisations from source records, incrementally.

Work starts from the source records changed since they were last linked (a record whose
``last_run_id`` differs from the ``run_id`` on its link, or that has no link), plus every record
of the entities those touch (their old entities, and those their citizen ID, credit code, 户号 or
Splink match point to). A first run, or one where most records changed, takes everything.
Running it twice on the same records writes nothing. Only the records loaded by runs that ended
since the step last linked are looked at (its mark, :mod:`hub.resolve.watermark`): a one-row run
probes one record, not the county's every record.
"""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.db.models import (
    EntityLink,
    Household,
    MatchReview,
    Organization,
    Person,
    SourceRecord,
)
from hub.db.session import transaction
from hub.db.statistics import PROBED, refresh_stale
from hub.resolve import store, watermark
from hub.resolve.households import choose_head, golden_household, link_households
from hub.resolve.organisations import golden_org, link_orgs, township_names
from hub.resolve.organisations.expand import Lookalikes
from hub.resolve.persons.clusters import assign_ids
from hub.resolve.persons.deterministic import load_decisions
from hub.resolve.persons.golden import golden_person, rules
from hub.resolve.persons.linking import LOWER, UPPER, link_persons, load_or_train
from hub.resolve.persons.probabilistic import pinyin
from hub.resolve.persons.records import HOUSEHOLD, ORG, PERSON, Mention, read_mentions, stream_plans
from hub.resolve.programmes import write_programmes
from hub.stages.ledger import new_run_id

log = logging.getLogger(__name__)
PERSON_COLS = ["name", "name_pinyin", "gender", "birth_date", "ethnicity", "citizen_id_bidx", "citizen_id_enc",
               "phone_bidx", "phone_enc", "household_id", "relation_to_head", "address", "status", "floating",
               "provenance"]
ORG_COLS = ["name", "credit_code", "category", "key_unit", "address", "legal_representative",
            "responsible_person_id", "lon", "lat", "phone_enc", "provenance"]
HH_COLS = ["household_no", "address", "head_person_id", "active"]
ROLE_SUFFIXES = ("#责任人", "#employer")
#: ``session.info`` key of the records ``_expand`` has read in this pass: a day that pulls in a matched
#: person expands again from every mention in play, and would read those records a second time
READ = "hub.resolve.expanded_records"


def _record_address(plans, addr: tuple[str, str, str]) -> tuple[str, str, str] | None:  # type: ignore[no-untyped-def]
    source, link_stream, key = addr
    for p in plans:
        if p.source == source and p.link_stream == link_stream:
            for suffix in ROLE_SUFFIXES:
                if key.endswith(suffix) and not p.party:
                    key = key[: -len(suffix)]
            return (source, p.stream, key)
    return None


def changed_records(session: Session, plans, runs: list[str] | None = None) -> tuple[set[int], int]:  # type: ignore[no-untyped-def]
    """Records whose link is missing or was made from another version of the record, found in SQL
    (an index probe a record) so that a quiet day costs little however large the county.

    ``runs``: only the records last loaded by these runs are probed (the entity step's mark,
    :func:`hub.resolve.watermark.runs_since_linked`), so a one-row run probes one record; None probes
    every record (no mark, or a steward decision since; the province's county tasks)."""
    changed: set[int] = set()
    total = 0
    sr, el = SourceRecord.__table__, EntityLink.__table__
    connection = session.connection()
    # no link at all (a fresh store): every record is changed, no anti-join needed to say so
    any_link = connection.execute(select(el.c.id).limit(1)).first() is not None
    for p in plans:
        types = [PERSON, ORG] if p.party else [p.primary_type]
        linked = select(el.c.id).where(el.c.source == sr.c.source, el.c.stream == p.link_stream,
                                       el.c.source_key == sr.c.source_key, el.c.entity_type.in_(types),
                                       el.c.run_id == sr.c.last_run_id)
        mine = (sr.c.source == p.source, sr.c.stream == p.stream)
        total += connection.execute(select(func.count()).select_from(sr).where(*mine)).scalar_one()
        if not any_link:
            changed.update(connection.execute(select(sr.c.id).where(*mine)).scalars())
            continue
        if runs is None:
            changed.update(connection.execute(select(sr.c.id).where(*mine, ~exists(linked))).scalars())
            continue
        for batch in store.chunks(runs):
            changed.update(connection.execute(select(sr.c.id).where(*mine, sr.c.last_run_id.in_(batch),
                                                                    ~exists(linked))).scalars())
    return changed, total


def _bidx(ctx: HubContext):  # type: ignore[no-untyped-def]
    vault = ctx.vault
    return lambda value: vault.blind_index(value, kind="citizen_id")


def _bands(ctx: HubContext) -> tuple[float, float]:
    cfg = getattr(ctx.config, "resolve", None) or {}
    return float(cfg.get("lower", LOWER)), float(cfg.get("upper", UPPER))


@contextmanager
def few_collections() -> Iterator[None]:
    """Resolve holds a county's mentions (each with a dict of attributes) for its whole run and allocates
    tens of millions of objects of its own, nearly all freed by their reference counts; the cyclic
    garbage collector walked them anyway: 15 full passes were 9 s of a 48 s fresh run at 100,000 residents,
    and with full passes held back the young ones were still 2.4 of ~40 CPU s at 200,000
    (bench/results/resolve_profile.md). So the collector is off for the run (peak memory measured the
    same: what resolve makes in cycles is little, Splink's SQL trees mostly).
    At the end what the run made and still holds is moved to the oldest generation (freeze, then
    unfreeze), so the first young pass after it does not walk it; the collector's state is restored."""
    enabled = gc.isenabled()
    frozen_before = gc.get_freeze_count()
    gc.disable()
    try:
        yield
    finally:
        if not frozen_before:  # never thaw what someone else froze
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


def resolve_entities(ctx: HubContext, sources: list[str] | None = None) -> dict[str, int]:
    """Link, cluster and golden-record persons, households and organisations; returns counts."""
    ctx.ensure_store()
    counts: dict[str, int] = defaultdict(int)
    run_id = new_run_id()
    with transaction(ctx.db_url) as session:
        refresh_stale(session.connection(), PROBED)
    with few_collections(), transaction(ctx.db_url) as session:
        plans = stream_plans(ctx, session)
        mark = watermark.linked_mark(session)
        changed, total = changed_records(session, plans, watermark.runs_since_linked(session))
        watermark.remember_linked(session, mark)  # committed with the links, or not at all
        counts["records_changed"] = len(changed)
        if not changed:
            return dict(counts)
        full = session.scalar(select(EntityLink.id).limit(1)) is None or len(changed) > 0.3 * total
        if full:
            old = {t: store.load_links(session, t) for t in (PERSON, ORG, HOUSEHOLD)}
            mentions = list(read_mentions(session, plans, blind_index=_bidx(ctx)))
        else:
            old = {t: {} for t in (PERSON, ORG, HOUSEHOLD)}
            seeds = list(read_mentions(session, plans, record_ids=changed, blind_index=_bidx(ctx)))
            store.load_links_of(session, old, (m.address for m in seeds))
            seeds = [m for m in seeds if not _unlinkable(m, old)]
            # such tombstones stay "changed" for ever (nothing links them): they are not work
            counts["records_changed"] = len({m.order[0] for m in seeds})
            if not seeds:
                return dict(counts)
            mentions = _expand(session, plans, seeds, old, blind_index=_bidx(ctx))
        mentions = [m for m in mentions if not _unlinkable(m, old)]
        counts["mentions"] = len(mentions)
        _resolve(ctx, session, plans, mentions, old, full, run_id, counts)
    return dict(counts)


def _unlinkable(m: Mention, old: dict[str, dict]) -> bool:
    """A tombstone that was never linked and names nobody (its values are gone) is not linked now."""
    return m.deleted and m.etype != HOUSEHOLD and not m.cid and not m.credit and m.address not in old[m.etype]


def _expand(session: Session, plans, seeds: list[Mention], old: dict[str, dict],  # type: ignore[no-untyped-def]
            extra: dict[str, set[str]] | None = None, blind_index=None) -> list[Mention]:
    """Seeds plus every mention of the entities they touch. A record read for one of its mentions
    (a unit, for its organisation) brings only the mentions of touched entities: its other mentions
    (the unit's responsible person) keep their links, since their entity's other records are not read."""
    touched: dict[str, set[str]] = {t: set(v) for t, v in (extra or {}).items()}
    for m in seeds:
        oid = old[m.etype].get(m.address)
        if oid:
            touched.setdefault(m.etype, set()).add(oid[0])
    cids = sorted({m.cid for m in seeds if m.cid and m.etype == PERSON})
    credits = sorted({m.credit for m in seeds if m.credit and m.etype == ORG})
    names = sorted({m.name for m in seeds if m.name and m.etype == ORG})
    hhs = sorted({m.household_no for m in seeds if m.household_no and m.etype == HOUSEHOLD})
    for batch in store.chunks(cids):
        touched.setdefault(PERSON, set()).update(session.scalars(select(Person.id).where(Person.citizen_id_bidx.in_(batch))))
    for batch in store.chunks(credits):
        touched.setdefault(ORG, set()).update(session.scalars(select(Organization.id).where(Organization.credit_code.in_(batch))))
    if names:  # written another way than the golden name (藁城区华泰机械 for 华泰机械制造有限公司)
        touched.setdefault(ORG, set()).update(Lookalikes.of(session)(session, names))
    for batch in store.chunks(hhs):
        touched.setdefault(HOUSEHOLD, set()).update(session.scalars(select(Household.id).where(Household.household_no.in_(batch))))
    keys: set[tuple[str, str, str]] = set()
    for etype, ids in touched.items():
        for addr in store.links_of(session, etype, ids):
            rec = _record_address(plans, addr)
            if rec:
                keys.add(rec)
    have = {m.order for m in seeds}
    known = session.info.setdefault(READ, {})  # record address -> its mentions, as read before in this pass
    unread = {k for k in keys if k not in known}
    known.update((k, []) for k in unread)
    for m in read_mentions(session, plans, keys=unread, blind_index=blind_index):
        known[(m.source, m.stream, m.key)].append(m)
    more = [m for key in keys for m in known[key] if m.order not in have]
    store.load_links_of(session, old, (m.address for m in more))
    more = [m for m in more if (link := old[m.etype].get(m.address)) is None or link[0] in touched.get(m.etype, ())]
    return sorted(seeds + more, key=lambda m: m.order)


def _names_tf(session: Session, names: set[str]) -> pd.DataFrame:
    """County-wide frequencies (over the golden persons, as the full run saw over all mentions) of the
    names in play: only names compared equal are looked up, so the rest need not be counted."""
    total = session.scalar(select(func.count()).select_from(Person).where(Person.name.is_not(None))) or 1
    rows = []
    for batch in store.chunks(sorted(names)):
        rows += session.execute(select(Person.name, func.count()).where(Person.name.in_(batch))
                                .group_by(Person.name)).all()
    rows = [(name, n / total) for name, n in sorted(rows)] or [("-", 1.0)]  # DuckDB needs a typed column
    return pd.DataFrame(rows, columns=["name", "tf_name"])


def _external_profiles(session: Session, loose: list[Mention], exclude: set[str]) -> pd.DataFrame:
    names = sorted({m.name for m in loose if m.name})
    phones = sorted({m.phone for m in loose if m.phone})
    rows = []
    for batch in store.chunks(names + phones):
        q = select(Person.id, Person.name, Person.birth_date, Person.gender, Person.phone_bidx).where(
            or_(Person.name.in_(batch), Person.phone_bidx.in_(batch)))
        for pid, name, birth, gender, phone in session.execute(q):
            if pid not in exclude:
                rows.append({"unique_id": f"e:{pid}", "name": name, "birth_date": birth.isoformat() if birth else None,
                             "gender": gender, "phone": phone, "village": None})
    return pd.DataFrame(rows, columns=["unique_id", "name", "birth_date", "gender", "phone", "village"]).drop_duplicates(
        "unique_id")


def _resolve(ctx: HubContext, session: Session, plans, mentions: list[Mention], old: dict[str, dict],  # type: ignore[no-untyped-def]
             full: bool, run_id: str, counts: dict[str, int], whole_store: bool = True,
             population: int | None = None, names_tf: pd.DataFrame | None = None) -> None:
    """``whole_store=False``: ``mentions`` are one county's (hub.province): a full run of it compares and
    retires only the entities its records are linked to, never the other counties'. ``population`` and
    ``names_tf``: the province's (hub.province.stats), so a county scores pairs as a whole-store run would."""
    feed: list[dict[str, Any]] = []
    model_path = ctx.landing / "_resolve" / "person-model.json"
    population = population or max(len(old[PERSON]), sum(m.etype == PERSON for m in mentions))
    decisions = load_decisions(session, PERSON)
    for _attempt in range(2):
        persons = [m for m in mentions if m.etype == PERSON]
        old_p = {m.address: old[PERSON][m.address][0] for m in persons if m.address in old[PERSON]}
        loose = [m for m in persons if not m.cid and not m.deleted]
        model = load_or_train(model_path, persons) if loose and full else (
            load_or_train(model_path, []) if loose else None)
        external = pd.DataFrame() if full or not loose else _external_profiles(session, loose, set(old_p.values()))
        tf = names_tf if names_tf is not None else None if full or not loose else _names_tf(
            session, {m.name for m in loose if m.name} | set(external.get("name", pd.Series()).dropna()))
        plinks = link_persons(persons, old_p, decisions, model, external, population, _bands(ctx), tf)
        if not plinks.pull:
            break
        mentions = _expand(session, plans, mentions, old, {PERSON: plinks.pull}, _bidx(ctx))
    session.info.pop(READ, None)  # what _expand remembers holds until resolve writes
    # households
    hhs = [m for m in mentions if m.etype == HOUSEHOLD]
    h_groups = link_households(hhs)
    old_h = {m.address: old[HOUSEHOLD][m.address][0] for m in hhs if m.address in old[HOUSEHOLD]}
    h_assign = assign_ids([[hhs[i] for i in g] for g in h_groups], old_h, "H", _live(session, Household, full, set()),
                          store.redirected_ids(session, HOUSEHOLD))
    household_ids = _household_ids(session, persons, full)
    for g, hid in zip(h_groups, h_assign.ids, strict=True):
        household_ids[hhs[g[0]].household_no or hhs[g[0]].key] = hid
    # persons
    p_clusters = [[persons[i] for i in g] for g in plinks.clusters]
    p_assign = assign_ids(p_clusters, old_p, "P", _live(session, Person, full, set(old_p.values())),
                          store.redirected_ids(session, PERSON))
    rule_of = rules(ctx.config)
    p_rows, p_links = {}, {}
    for g, members, pid in zip(plinks.clusters, p_clusters, p_assign.ids, strict=True):
        values = golden_person(members, rule_of, household_ids)
        values["name_pinyin"] = pinyin(values.get("name"))
        p_rows[pid] = values
        for i in g:
            m = persons[i]
            p_links[m.address] = (pid, plinks.method[i] or "singleton", plinks.score[i], m.run_id)
    heads = _head_candidates(session, {m.cid for m in hhs if m.cid}, p_rows, set(old_p.values()), full)
    h_rows, h_links = {}, {}
    for g, hid in zip(h_groups, h_assign.ids, strict=True):
        values = golden_household([hhs[i] for i in g], lambda cid, hid=hid: choose_head(heads.get(cid or ""), hid))
        values.pop("_provenance")
        h_rows[hid] = values
        for i in g:
            h_links[hhs[i].address] = (hid, "household_no", None, hhs[i].run_id)
    # organisations
    orgs = [m for m in mentions if m.etype == ORG]
    old_o = {m.address: old[ORG][m.address][0] for m in orgs if m.address in old[ORG]}
    lookalikes = Lookalikes.of(session)  # the divisions read once a pass
    towns, divisions = lookalikes.towns, lookalikes.divisions
    o_groups, o_method, o_reviews = link_orgs(orgs, old_o, load_decisions(session, ORG), township_names(towns),
                                              divisions)
    o_assign = assign_ids([[orgs[i] for i in g] for g in o_groups], old_o, "O",
                          _live(session, Organization, full, set(old_o.values())),
                          store.redirected_ids(session, ORG))
    o_rows, o_links = {}, {}
    person_of = {a: v[0] for a, v in old[PERSON].items()} | {a: v[0] for a, v in p_links.items()}
    for g, oid in zip(o_groups, o_assign.ids, strict=True):
        o_rows[oid] = golden_org([orgs[i] for i in g], person_of)
        for i in g:
            o_links[orgs[i].address] = (oid, o_method[i], None, orgs[i].run_id)
    # write: households before persons (FK), persons before organisations (FK)
    Lookalikes.forget(session)  # what it remembers of the stored organisations is about to change
    scope = {m.address for m in mentions}
    for etype, table, cols, rows, assign, links, old_map in (
            (HOUSEHOLD, Household.__table__, HH_COLS, h_rows, h_assign, h_links, old_h),
            (PERSON, Person.__table__, PERSON_COLS, p_rows, p_assign, p_links, old_p),
            (ORG, Organization.__table__, ORG_COLS, o_rows, o_assign, o_links, old_o)):
        done = store.sync_rows(session, table, etype, rows,
                               None if full and whole_store else set(rows) | set(old_map.values()),
                               cols, feed, run_id)
        counts[f"{etype}_created"] += done["created"]
        counts[f"{etype}_updated"] += done["updated"]
        gone = {oid for oid in set(old_map.values()) if oid not in rows}
        moves: dict[str, str | None] = {oid: assign.merged.get(oid) for oid in gone}
        if full and whole_store:  # entities whose records all vanished
            moves.update({eid: None for eid in done["present"] if eid not in rows and eid not in moves})
        store.retire(session, table, etype, moves, feed, run_id)
        store.revive(session, assign.revived, etype, feed, run_id)
        counts[f"{etype}_merged"] += sum(1 for v in moves.values() if v)
        counts["links_written"] += store.write_links(session, etype, links, scope, old[etype])
        rows.clear()  # written: a county's golden rows need not outlive their table's turn
        _write_feed(session, feed, counts)
    write_programmes(session, p_clusters, p_assign.ids, full, ctx.vault)
    for etype, reviews in ((PERSON, plinks.reviews), (ORG, o_reviews)):
        session.add_all(MatchReview(entity_type=etype, status="pending", **review) for review in reviews)
        counts["reviews_added"] += len(reviews)
    _write_feed(session, feed, counts)


def _head_candidates(session: Session, cids: set[str], p_rows: dict[str, dict[str, Any]], in_play: set[str],
                     full: bool) -> dict[str, dict[str, str | None]]:
    """Head citizen ID -> {person id: their household id} of every person holding it: the golden rows
    just made, and (incremental) the stored persons not in play, so both paths see the same candidates."""
    out: dict[str, dict[str, str | None]] = defaultdict(dict)
    for pid, values in p_rows.items():
        if (cid := values.get("citizen_id_bidx")) in cids:
            out[cid][pid] = values.get("household_id")
    if not full:
        for batch in store.chunks(sorted(cids)):
            rows = session.execute(select(Person.id, Person.citizen_id_bidx, Person.household_id)
                                   .where(Person.citizen_id_bidx.in_(batch)))
            for pid, cid, hid in rows:
                if pid not in p_rows and pid not in in_play:
                    out[cid].setdefault(pid, hid)
    return out


def _write_feed(session: Session, feed: list[dict[str, Any]], counts: dict[str, int]) -> None:
    store.write_feed(session, feed)
    counts["changes"] += len(feed)
    feed.clear()


def _live(session: Session, model, full: bool, known: set[str]):  # type: ignore[no-untyped-def]
    """Ids in use (a new id must not collide with one): a full run reads them all in one pass; an
    incremental one asks only about the ids its new entities would take (``store.ids_in_use``)."""
    if full:
        return known | set(session.connection().execute(select(model.id)).scalars())
    return lambda derived: store.ids_in_use(session, model.__table__, derived, known)


def _household_ids(session: Session, persons: list[Mention], full: bool) -> dict[str, str]:
    """户号 -> stored household id: all of them for a full run, those the persons in play name otherwise
    (``household_no`` is unique, so the answer for those is the same)."""
    hh = Household.__table__
    if full:
        return dict(session.connection().execute(select(hh.c.household_no, hh.c.id)).all())
    out: dict[str, str] = {}
    for batch in store.chunks(sorted({m.household_no for m in persons if m.household_no})):
        out.update(session.connection().execute(
            select(hh.c.household_no, hh.c.id).where(hh.c.household_no.in_(batch))).all())
    return out
