"""Placing follows the change: after a first (full) pass, a day of changes and a few hand-made ones
(a household moved to another address, a unit's grid code changed, a person's address changed, a
household cancelled) are placed by re-deciding only what they reach, and the store then equals what a
full pass decides over a copy of it: every building, household, person and organisation placement and
every building link."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parents[1] / "resolve"))

from county import build_county, deliver, stash_days, sync_all  # noqa: E402

from hub.context import HubContext  # noqa: E402
from hub.db.base import utcnow  # noqa: E402
from hub.db.models import (  # noqa: E402
    AddressEvidence,
    Building,
    EntityLink,
    GridCell,
    Household,
    Organization,
    Person,
    Run,
    SourceRecord,
)
from hub.db.session import get_engine, transaction  # noqa: E402
from hub.resolve import resolve  # noqa: E402
from hub.resolve.places import place_entities  # noqa: E402

TODAY = dt.date(2026, 11, 2)


def placements(ctx: HubContext) -> dict[str, list[tuple[Any, ...]]]:
    """Everything placing decides, in a comparable form."""
    queries = {
        "building": select(Building.id, Building.address, Building.address_key, Building.village_code,
                           Building.grid_code, Building.grid_method, Building.lon, Building.lat).order_by(Building.id),
        "household": select(Household.id, Household.building_id, Household.grid_code).order_by(Household.id),
        "person": select(Person.id, Person.building_id, Person.grid_code, Person.registered_grid_code,
                         Person.residence_basis).order_by(Person.id),
        "organization": select(Organization.id, Organization.building_id, Organization.grid_code)
        .order_by(Organization.id),
        "building_link": select(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_id)
        .where(EntityLink.entity_type == "building")
        .order_by(EntityLink.source, EntityLink.stream, EntityLink.source_key),
    }
    with transaction(ctx.db_url) as s:
        return {name: [tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in row)
                       for row in s.execute(q)] for name, q in queries.items()}


def full_pass_over_a_copy(ctx: HubContext, folder: Path) -> tuple[dict[str, int], dict[str, list[tuple[Any, ...]]]]:
    """``place_entities(full=True)`` over a copy of the store, and what it leaves."""
    get_engine(ctx.db_url).dispose()
    source = Path(ctx.db_url.removeprefix("sqlite:///"))
    folder.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as a, sqlite3.connect(folder / "hub.db") as b:  # WAL: the backup API, not a file copy
        a.backup(b)
    cfg = Path(ctx.config.base_dir) / "hub.yaml"
    text = re.sub(r"database: .*", f"database: sqlite:///{folder / 'hub.db'}", cfg.read_text(encoding="utf-8"))
    (folder / "hub.yaml").write_text(text, encoding="utf-8")
    copy = HubContext.from_config(folder / "hub.yaml")
    counts = place_entities(copy, full=True)
    return counts, placements(copy)


def _load(ctx: HubContext, changes: dict[tuple[str, str, str], dict[str, Any] | None]) -> None:
    """Change source records as a load would: a successful run per source, the records stamped with it."""
    now = utcnow()
    with transaction(ctx.db_url) as s:
        runs = {}
        for source in sorted({k[0] for k in changes}):
            runs[source] = f"hand-{source}-{now:%H%M%S%f}"
            s.add(Run(run_id=runs[source], source=source, state="success", stage="load", started_at=now,
                      finished_at=now, read=1, loaded=1))
        s.flush()
        for (source, stream, key), data in changes.items():
            record = s.scalars(select(SourceRecord).where(SourceRecord.source == source, SourceRecord.stream == stream,
                                                          SourceRecord.source_key == key)).one()
            if data is None:
                record.deleted, record.delete_reason = True, "cancelled"
            else:
                record.data = data
            record.content_hash, record.last_run_id, record.updated_at = f"hand{now:%f}", runs[source], now


def _hand_made(ctx: HubContext) -> dict[str, Any]:
    """A household moved, a household cancelled, a unit's grid code and a person's address changed."""
    with transaction(ctx.db_url) as s:
        def live(stream: str) -> list[tuple[str, str, dict[str, Any]]]:
            return [(src, key, data) for src, key, data in s.execute(
                select(SourceRecord.source, SourceRecord.source_key, SourceRecord.data).where(
                    SourceRecord.stream == stream, SourceRecord.deleted.is_(False))
                .order_by(SourceRecord.source_key))]

        households = [h for h in live("households") if h[2].get("address") and h[2].get("village_code")]
        moving, target, cancelled = households[10], households[len(households) // 2], households[20]
        units = live("units")
        unit = units[len(units) // 3]
        old_code = unit[2].get("grid_code")
        new_code = s.scalars(select(GridCell.code).where(GridCell.level == 3, GridCell.code != (old_code or ""))
                             .order_by(GridCell.code).offset(7).limit(1)).one()
        persons = [p for p in live("persons") if p[2].get("household_no")]
        person = persons[len(persons) // 4]
    changes: dict[tuple[str, str, str], dict[str, Any] | None] = {
        (moving[0], "households", moving[1]): {**moving[2], **{k: target[2].get(k) for k in
                                                               ("address", "village_code", "group_no")}},
        (cancelled[0], "households", cancelled[1]): None,
        (unit[0], "units", unit[1]): {**unit[2], "grid_code": new_code},
        (person[0], "persons", person[1]): {**person[2], "address": target[2]["address"],
                                            "updated_at": "2026-11-01 10:00:00"},
    }
    _load(ctx, changes)
    return {"moving": moving[1], "target": target[1], "unit": unit[1], "new_code": new_code}


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", "places-incremental")
        out = tmp_path_factory.mktemp("county")
        ctx, stop, sources = build_county(out, residents=3000, days=2)
        try:
            moved = stash_days(out, out.parent / (out.name + "-stash"))
            stop.set_day(1)
            sync_all(ctx, sources)
            first = resolve(ctx, today=TODAY)
            deliver(moved)
            stop.set_day(2)
            sync_all(ctx, sources)
            hand = _hand_made(ctx)
            day = resolve(ctx, today=TODAY)
            yield ctx, out, first, day, hand
        finally:
            stop()


def test_the_first_pass_places_the_county_and_a_day_only_what_it_reaches(county) -> None:  # type: ignore[no-untyped-def]
    ctx, _, first, day, _ = county
    assert "persons_rechecked" not in first.places and first.places["person_by_household"] > 0
    with transaction(ctx.db_url) as s:
        persons = s.scalar(select(func.count()).select_from(Person))
    assert 0 < day.places["persons_rechecked"] < persons / 4, day.places
    assert day.places["houses_rechecked"] > 0


def test_a_day_of_changes_placed_incrementally_equals_a_full_pass(county, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx, _, _, _, hand = county
    after = placements(ctx)
    counts, reference = full_pass_over_a_copy(ctx, tmp_path / "copy")
    for name in after:
        assert after[name] == reference[name], name
    assert not {k: v for k, v in counts.items() if re.search(r"_(created|updated|removed|links_written)$", k) and v}
    with transaction(ctx.db_url) as s:  # the hand-made changes were placed, not just left alone
        moving = s.scalars(select(Household).where(Household.household_no == hand["moving"])).one()
        target = s.scalars(select(Household).where(Household.household_no == hand["target"])).one()
        assert moving.building_id == target.building_id is not None
        org = s.scalars(select(Organization.grid_code).join(EntityLink, EntityLink.entity_id == Organization.id).where(
            EntityLink.entity_type == "organization", EntityLink.stream == "units",
            EntityLink.source_key == hand["unit"])).one()
        assert org == hand["new_code"]


def test_one_changed_row_rechecks_a_handful_and_still_equals_a_full_pass(county, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx, _, _, _, _ = county
    with transaction(ctx.db_url) as s:
        src, key, data = s.execute(select(SourceRecord.source, SourceRecord.source_key, SourceRecord.data).where(
            SourceRecord.stream == "floating-persons", SourceRecord.deleted.is_(False))
            .order_by(SourceRecord.source_key).offset(3).limit(1)).one()
        other = s.scalars(select(GridCell.code).where(GridCell.level == 3, GridCell.code != (data.get("grid_code") or ""))
                          .order_by(GridCell.code.desc()).limit(1)).one()
    _load(ctx, {(src, "floating-persons", key): {**data, "grid_code": other, "updated_at": "2026-11-02 09:00:00"}})
    row = resolve(ctx, today=TODAY).places
    assert 0 < row["persons_rechecked"] <= 20 and row["houses_rechecked"] <= 50, row
    after = placements(ctx)
    _, reference = full_pass_over_a_copy(ctx, tmp_path / "copy")
    assert after == reference


def test_a_house_also_written_without_a_village_is_not_rechecked_in_every_village(county, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A floating person's address names a house of many villages with no village (``?|8组9号``); then one
    household there is reloaded: the village-less copy and its join are re-decided, not every village's
    copy (a day's scope grew with the county's villages: 15,376 houses for 1,462 records at 200k)."""
    ctx, _, _, _, _ = county
    t = AddressEvidence
    with transaction(ctx.db_url) as s:
        villages = func.count(t.village.distinct())
        house, many = s.execute(select(t.house, villages).where(t.kind == "households", t.village.is_not(None))
                                .group_by(t.house).order_by(villages.desc(), t.house).limit(1)).one()
        source, key = s.execute(select(t.source, t.ref).where(t.kind == "households", t.house == house)
                                .order_by(t.ref).limit(1)).one()
        household = s.scalars(select(SourceRecord.data).where(
            SourceRecord.source == source, SourceRecord.stream == "households", SourceRecord.source_key == key)).one()
        ps_source, ps_key, floating = s.execute(select(SourceRecord.source, SourceRecord.source_key, SourceRecord.data)
                                                .where(SourceRecord.stream == "floating-persons",
                                                       SourceRecord.deleted.is_(False))
                                                .order_by(SourceRecord.source_key).offset(5).limit(1)).one()
    assert many >= 4, (house, many)
    _load(ctx, {(ps_source, "floating-persons", ps_key): {**floating, "address": house, "grid_code": None}})
    resolve(ctx, today=TODAY)
    with transaction(ctx.db_url) as s:  # the village-less copy exists now
        assert s.scalar(select(func.count()).select_from(t).where(t.house == house, t.village.is_(None))), house
    _load(ctx, {(source, "households", key): dict(household)})
    places = resolve(ctx, today=TODAY).places
    assert 0 < places["houses_rechecked"] < many, (house, many, places)
    after = placements(ctx)
    _, reference = full_pass_over_a_copy(ctx, tmp_path / "copy")
    assert after == reference


def test_a_new_grid_registry_places_the_whole_county_again(county) -> None:  # type: ignore[no-untyped-def]
    ctx, _, _, _, _ = county
    with transaction(ctx.db_url) as s:  # a group renamed in the registry: every placement may read it
        cell = s.scalars(select(GridCell).where(GridCell.level == 3).order_by(GridCell.code).limit(1)).one()
        cell.name = cell.name + "（新）"
    counts = place_entities(ctx)
    assert "persons_rechecked" not in counts and counts["person_by_household"] > 0, counts
