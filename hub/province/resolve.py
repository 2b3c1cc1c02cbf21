"""Resolve partitioned by county: one county's entities at a time, then the people who moved.

The province's resolve is four steps, each a plain function (the Airflow DAG maps ``county`` over
the counties, one task each, on any worker):

1. ``prepare``: grid cells, and the person model (Splink m/u) trained once for the province, so
   every county scores with the same model whichever worker runs it;
2. ``county``: persons, households and organisations from one county's sources only; a full run of
   a county compares and retires only entities its own records are linked to;
3. ``movers``: persons whose citizen ID (blind index) is held in two counties, or whose records
   come from two, are re-linked together (the incremental path over just them); the surviving id is
   the one whose earliest record arrived first, so ids are those an unpartitioned run gives. So are the
   organisations whose credit code appears in two counties (a chain's shop citing its head office):
   ``prepare`` lists them, the county tasks leave their records alone (two tasks would each create
   the firm), and this step links them as one working set;
4. ``finish``: places, events and tags over the store.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.db.models import ChangeFeed, EntityLink, Household, Organization, Person, StreamState
from hub.db.session import transaction
from hub.db.statistics import PROBED, refresh_stale
from hub.province import stats
from hub.province.counties import county_of
from hub.province.partitions import SCHEMA, partition_name
from hub.resolve import store
from hub.resolve.entities import _bidx, _expand, _resolve, changed_records
from hub.resolve.persons.linking import load_or_train
from hub.resolve.persons.records import HOUSEHOLD, ORG, PERSON, Mention, read_mentions, stream_plans
from hub.stages.ledger import new_run_id


def counties(ctx: HubContext) -> list[str]:
    """The configured counties' codes, in order (the DAG's mapped tasks)."""
    return sorted(ctx.config.counties)


def county_sources(ctx: HubContext, county: str) -> list[str]:
    return sorted(name for name, spec in ctx.config.sources.items() if county_of(name) == county and spec.enabled)


def prepare(ctx: HubContext) -> dict[str, object]:
    """Grid cells, then the province's person model from every county's labelled persons."""
    from hub.resolve.grids import project_grids

    ctx.ensure_store()
    grids = project_grids(ctx)
    with transaction(ctx.db_url) as session:
        plans = stream_plans(ctx, session)
        old: dict[str, dict] = {PERSON: {}}
        mentions = list(read_mentions(session, plans, blind_index=_bidx(ctx)))
        persons = [m for m in mentions if m.etype == PERSON and not _unlinkable(m, old)]
        shared = _save_shared_firms(ctx, mentions)
        linked = session.scalar(select(func.count()).select_from(EntityLink).where(EntityLink.entity_type == PERSON))
    model = load_or_train(ctx.landing / "_resolve" / "person-model.json", persons)
    figures = stats.count(ctx.vault, persons, linked or 0)
    stats.save(ctx.landing, figures)
    return {"grids": grids, "model_trained_on": (model or {}).get("_trained_on", 0),
            "population": figures.population, "firms_in_two_counties": shared}


def resolve_county(ctx: HubContext, county: str) -> dict[str, int]:
    """Link and golden-record one county's persons, households and organisations (its sources only)."""
    ctx.ensure_store()
    counts: dict[str, int] = defaultdict(int)
    with transaction(ctx.db_url) as session:  # its own partitions only: two tasks never analyse one table
        refresh_stale(session.connection(), [f"{SCHEMA}.{partition_name(t, county)}" for t in PROBED])
    with transaction(ctx.db_url) as session:
        plans = stream_plans(ctx, session, county_sources(ctx, county) or ["-"])
        if not plans:
            return dict(counts)
        changed, total = changed_records(session, plans)
        counts["records_changed"] = len(changed)
        if not changed:
            return dict(counts)
        linked = session.scalar(select(EntityLink.id).where(EntityLink.county_code == county).limit(1))
        full = linked is None or len(changed) > 0.3 * total
        if full:
            old = {t: _county_links(session, t, county) for t in (PERSON, ORG, HOUSEHOLD)}
            mentions = list(read_mentions(session, plans, blind_index=_bidx(ctx)))
        else:
            old = {t: {} for t in (PERSON, ORG, HOUSEHOLD)}
            seeds = list(read_mentions(session, plans, record_ids=changed, blind_index=_bidx(ctx)))
            store.load_links_of(session, old, (m.address for m in seeds))
            mentions = _expand(session, plans, seeds, old, blind_index=_bidx(ctx))
        mentions = [m for m in mentions if not _unlinkable(m, old)]
        shared = {tuple(a) for a in _shared_firms(ctx)["records"]}
        if shared:  # a firm with records in two counties is linked by link_movers, never here
            mentions = [m for m in mentions if not (m.etype == ORG and m.address in shared)]
            old[ORG] = {a: v for a, v in old[ORG].items() if a not in shared}
        counts["mentions"] = len(mentions)
        _resolve(ctx, session, plans, mentions, old, full, new_run_id(), counts, whole_store=False,
                 **_province_figures(ctx, mentions))
    return dict(counts)


def link_movers(ctx: HubContext) -> dict[str, int]:
    """Re-link every person whose citizen ID or records span two counties, and every firm whose credit
    code does, as one working set."""
    ctx.ensure_store()
    counts: dict[str, int] = defaultdict(int)
    with transaction(ctx.db_url) as session:
        since = _movers_seen(session)
        movers = mover_persons(session, since)
        counts["movers"] = len(movers)
        firms = _shared_firms(ctx)["records"]
        counts["firm_records_in_two_counties"] = len(firms)
        if not movers and not firms:
            _remember_movers(session)
            return dict(counts)
        plans = stream_plans(ctx, session)
        old: dict[str, dict] = {t: {} for t in (PERSON, ORG, HOUSEHOLD)}
        seeds = [m for m in read_mentions(session, plans, keys={_record_of(plans, tuple(a)) for a in firms} - {None},
                                          blind_index=_bidx(ctx)) if m.etype == ORG]
        store.load_links_of(session, old, (m.address for m in seeds))
        # the households they head and the units they answer for name them by id: golden again too
        heads = set(session.scalars(select(Household.id).where(Household.head_person_id.in_(sorted(movers)))))
        units = set(session.scalars(select(Organization.id)
                                    .where(Organization.responsible_person_id.in_(sorted(movers)))))
        mentions = _expand(session, plans, seeds, old, {PERSON: movers, HOUSEHOLD: heads, ORG: units},
                           blind_index=_bidx(ctx))
        mentions = [m for m in mentions if not _unlinkable(m, old)]
        counts["mentions"] = len(mentions)
        _resolve(ctx, session, plans, mentions, old, False, new_run_id(), counts, **_province_figures(ctx, mentions))
        _remember_movers(session)
    return dict(counts)


def mover_persons(session: Session, since: int | None = None) -> set[str]:
    """Persons holding a citizen ID another person holds too, or linked from records of two counties.

    With ``since`` (the change feed's position after the last movers pass), only those of the second
    kind that a county task has touched since: a county task re-goldens a mover from its own county's
    records alone, and this pass makes them whole again; the others are as the last pass left them."""
    shared = (select(Person.citizen_id_bidx).where(Person.citizen_id_bidx.is_not(None))
              .group_by(Person.citizen_id_bidx).having(func.count() > 1))
    ids = set(session.scalars(select(Person.id).where(Person.citizen_id_bidx.in_(shared))))
    spanning = (select(EntityLink.entity_id).where(EntityLink.entity_type == PERSON)
                .group_by(EntityLink.entity_id).having(func.count(func.distinct(EntityLink.county_code)) > 1))
    if since is None:
        return ids | set(session.scalars(spanning))
    touched = sorted(set(session.scalars(select(ChangeFeed.entity_id).where(
        ChangeFeed.seq > since, ChangeFeed.entity_type == PERSON))))
    for batch in store.chunks(touched):
        ids |= set(session.scalars(spanning.where(EntityLink.entity_id.in_(batch))))
    return ids


def _movers_seen(session: Session) -> int | None:
    state = session.get(StreamState, ("resolve", "movers"))
    return None if state is None else state.state.get("seq")


def _remember_movers(session: Session) -> None:
    """The change feed's position once this pass has written (its own rows are not work for the next)."""
    session.flush()
    seq = session.scalar(select(func.max(ChangeFeed.seq))) or 0
    state = session.get(StreamState, ("resolve", "movers"))
    if state is None:
        session.add(StreamState(source="resolve", stream="movers", state={"seq": seq}))
    else:
        state.state = {"seq": seq}


def _shared_firms_file(ctx: HubContext) -> Path:
    return ctx.landing / "_resolve" / "firms-in-two-counties.json"


def _save_shared_firms(ctx: HubContext, mentions: Iterable[Mention]) -> int:
    """The organisation mentions whose credit code is cited from two counties (a firm's code is public;
    the file is in the private landing zone beside the person model all the same)."""
    counties_of: dict[str, set[str]] = defaultdict(set)
    addresses: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for m in mentions:
        if m.etype == ORG and m.credit:
            counties_of[m.credit].add(county_of(m.source))
            addresses[m.credit].append(m.address)
    records = sorted(a for code, where in counties_of.items() if len(where) > 1 for a in addresses[code])
    path = _shared_firms_file(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"records": records}, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o600)
    return len({code for code, where in counties_of.items() if len(where) > 1})


def _shared_firms(ctx: HubContext) -> dict[str, list]:
    path = _shared_firms_file(ctx)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"records": []}


def _record_of(plans, address: tuple) -> tuple[str, str, str] | None:  # type: ignore[no-untyped-def]
    """The (source, stream, source_key) of the record a mention's crosswalk address belongs to."""
    from hub.resolve.entities import _record_address

    return _record_address(plans, address)


def finish(ctx: HubContext, today: dt.date | None = None) -> dict[str, dict[str, int]]:
    """Places, events and tags over the store, after every county and the movers are linked."""
    from hub.resolve.events import project_events
    from hub.resolve.places import place_entities
    from hub.resolve.tags import derive_tags

    done = {"places": place_entities(ctx), "events": project_events(ctx, today), "tags": derive_tags(ctx, today)}
    with transaction(ctx.db_url) as session:
        if _movers_seen(session) is not None:
            # places, events and tags link nobody: their change-feed rows (a new grid for every placed person)
            # are not work for the next movers pass, which would otherwise re-link every mover each run
            _remember_movers(session)
    return done


def _province_figures(ctx: HubContext, mentions: list[Mention]) -> dict[str, object]:
    """The province's prior and name frequencies (``prepare`` wrote them) for ``_resolve``."""
    figures = stats.load(ctx.landing)
    if figures is None:
        return {}
    persons = [m for m in mentions if m.etype == PERSON]
    return {"population": figures.population, "names_tf": figures.names_tf(ctx.vault, persons)}


def _county_links(session: Session, etype: str, county: str) -> dict:
    rows = session.connection().execute(
        select(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_id, EntityLink.method,
               EntityLink.score, EntityLink.run_id)
        .where(EntityLink.entity_type == etype, EntityLink.county_code == county).execution_options(yield_per=50_000))
    return {(s, st, k): (e, m, sc, r) for s, st, k, e, m, sc, r in rows}


def _unlinkable(m: Mention, old: dict[str, dict]) -> bool:
    """A tombstone never linked that names nobody (its values are gone) is not linked now."""
    return m.deleted and m.etype != HOUSEHOLD and not m.cid and not m.credit and m.address not in old[m.etype]
