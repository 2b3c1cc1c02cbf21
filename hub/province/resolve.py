"""Resolve partitioned by county: one county's entities at a time, then the people who moved.

The province's resolve is four steps, each a plain function (the Airflow DAG maps ``county`` over
the counties, one task each, on any worker):

1. ``prepare``: grid cells, and the person model (Splink m/u) trained once for the province, so
   every county scores with the same model whichever worker runs it;
2. ``county``: persons, households and organisations from one county's sources only; a full run of
   a county compares and retires only entities its own records are linked to;
3. ``movers``: persons whose citizen ID (blind index) is held in two counties, or whose records
   come from two, are re-linked together (the incremental path over just them); the surviving id is
   the one whose earliest record arrived first, so ids are those an unpartitioned run gives;
4. ``finish``: places, events and tags over the store.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.db.models import EntityLink, Household, Organization, Person
from hub.db.session import transaction
from hub.province import stats
from hub.province.counties import county_of
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
        persons = [m for m in read_mentions(session, plans, blind_index=_bidx(ctx))
                   if m.etype == PERSON and not _unlinkable(m, old)]
        linked = session.scalar(select(func.count()).select_from(EntityLink).where(EntityLink.entity_type == PERSON))
    model = load_or_train(ctx.landing / "_resolve" / "person-model.json", persons)
    figures = stats.count(ctx.vault, persons, linked or 0)
    stats.save(ctx.landing, figures)
    return {"grids": grids, "model_trained_on": (model or {}).get("_trained_on", 0),
            "population": figures.population}


def resolve_county(ctx: HubContext, county: str) -> dict[str, int]:
    """Link and golden-record one county's persons, households and organisations (its sources only)."""
    ctx.ensure_store()
    counts: dict[str, int] = defaultdict(int)
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
        counts["mentions"] = len(mentions)
        _resolve(ctx, session, plans, mentions, old, full, new_run_id(), counts, whole_store=False,
                 **_province_figures(ctx, mentions))
    return dict(counts)


def link_movers(ctx: HubContext) -> dict[str, int]:
    """Re-link every person whose citizen ID or records span two counties, as one working set."""
    ctx.ensure_store()
    counts: dict[str, int] = defaultdict(int)
    with transaction(ctx.db_url) as session:
        movers = mover_persons(session)
        counts["movers"] = len(movers)
        if not movers:
            return dict(counts)
        plans = stream_plans(ctx, session)
        old: dict[str, dict] = {t: {} for t in (PERSON, ORG, HOUSEHOLD)}
        # the households they head and the units they answer for name them by id: golden again too
        heads = set(session.scalars(select(Household.id).where(Household.head_person_id.in_(sorted(movers)))))
        units = set(session.scalars(select(Organization.id)
                                    .where(Organization.responsible_person_id.in_(sorted(movers)))))
        mentions = _expand(session, plans, [], old, {PERSON: movers, HOUSEHOLD: heads, ORG: units},
                           blind_index=_bidx(ctx))
        mentions = [m for m in mentions if not _unlinkable(m, old)]
        counts["mentions"] = len(mentions)
        _resolve(ctx, session, plans, mentions, old, False, new_run_id(), counts, **_province_figures(ctx, mentions))
    return dict(counts)


def mover_persons(session: Session) -> set[str]:
    """Persons holding a citizen ID another person holds too, or linked from records of two counties."""
    shared = (select(Person.citizen_id_bidx).where(Person.citizen_id_bidx.is_not(None))
              .group_by(Person.citizen_id_bidx).having(func.count() > 1))
    ids = set(session.scalars(select(Person.id).where(Person.citizen_id_bidx.in_(shared))))
    ids |= set(session.scalars(select(EntityLink.entity_id).where(EntityLink.entity_type == PERSON)
                               .group_by(EntityLink.entity_id)
                               .having(func.count(func.distinct(EntityLink.county_code)) > 1)))
    return ids


def finish(ctx: HubContext, today: dt.date | None = None) -> dict[str, dict[str, int]]:
    """Places, events and tags over the store, after every county and the movers are linked."""
    from hub.resolve.events import project_events
    from hub.resolve.places import place_entities
    from hub.resolve.tags import derive_tags

    return {"places": place_entities(ctx), "events": project_events(ctx, today), "tags": derive_tags(ctx, today)}


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
