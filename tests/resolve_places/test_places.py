"""Houses into grids on a hand-built township, each rule of the precedence exercised."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.db.models import Building, ChangeFeed, EntityLink, Household, Organization, Person
from hub.db.session import transaction
from hub.resolve.placement import building_id
from hub.resolve.places import place_entities, unassigned

ADDR_PREFIX = "河北省唐山市路北区"
EAST, COMM = "130203101201", "130203101001"


def build(store) -> None:  # type: ignore[no-untyped-def]
    # 东村: a house whose household names its group; another only by its address (2组 written as 第二村民小组)
    store.household("H1", "20100001", ADDR_PREFIX + "唐山镇东村1组3号", group="001")
    store.household("H2", "20100002", ADDR_PREFIX + "唐山镇東村第二村民小组７号")
    # 幸福里社区 block 5: one household gives its group, the other (same block, another flat) does not
    store.household("H3", "00100001", ADDR_PREFIX + "唐山镇幸福里社区5号楼1单元101室", village=COMM, group="002")
    store.household("H4", "00100002", "唐山镇幸福里社区5栋2单元202室", village=COMM)
    # a household whose address names only the community: village level, reported as such
    store.household("H5", "00100003", "唐山镇幸福里社区", village=COMM)
    store.person("P1", "H1")
    store.person("P4", "H4")
    # a floating person with a gridCode, one without (placed by their address), one the rosters only name
    store.person("P6", floating=True)
    store.record("public-security", "floating-persons", "FP1", grid_code=EAST + "001", address="唐山镇东村1组9号3室")
    store.link("public-security", "floating-persons", "FP1", "person", "P6")
    store.person("P7", floating=True)
    store.record("public-security", "floating-persons", "FP2", grid_code=None, address="唐山镇幸福里社区5号楼12室")
    store.link("public-security", "floating-persons", "FP2", "person", "P7")
    store.person("P8")
    store.record("civil-affairs", "高龄老人", "X1", village="幸福里")
    store.link("civil-affairs", "高龄老人", "X1", "person", "P8")
    store.person("P9")  # nothing anywhere says where
    # units: explicit code; a point only; swapped coordinates; coordinates blank, address only; nothing
    store.org("O1", "DW1", grid_code=EAST + "002", lon=118.01, lat=39.05, address="唐山镇东村2组40号")
    store.org("O2", "DW2", grid_code=None, lon=118.17, lat=39.02, address="唐山镇幸福里社区30号楼")
    store.org("O3", "DW3", grid_code=None, lon=39.07, lat=118.12, address="唐山镇幸福里社区31号楼")
    store.org("O4", "DW4", grid_code=None, lon=None, lat=None, address="唐山镇东村1组77号")
    store.org("O5", "DW5", grid_code=None, lon=500.0, lat=39.0, address="某地")
    store.org("O6")  # an employer known only by name
    store.commit()


@pytest.fixture
def placed(tmp_path: Path, town):  # type: ignore[no-untyped-def]
    ctx = town.make_context(tmp_path)
    build(town.Store(ctx))
    counts = place_entities(ctx)
    return ctx, counts


def grids(ctx, model) -> dict[str, tuple[str | None, str | None]]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as s:
        return {r[0]: (r[1], r[2]) for r in s.execute(select(model.id, model.grid_code, model.building_id))}


def test_households_by_code_then_building_then_address_then_village(placed) -> None:  # type: ignore[no-untyped-def]
    ctx, counts = placed
    hh = grids(ctx, Household)
    assert hh["H1"][0] == EAST + "001"
    assert hh["H2"][0] == EAST + "002"  # 東村第二村民小组７号: traditional, ordinal, full-width digit
    assert hh["H3"][0] == COMM + "002"
    assert hh["H4"][0] == COMM + "002"  # same block as H3 although another flat and 栋 for 号楼
    assert hh["H3"][1] == hh["H4"][1] == building_id(f"{COMM}|5号")
    assert hh["H5"] == (COMM, None)  # only the community is known: level 2, and no house to sit in
    assert counts["household_by_code"] == 2 and counts["household_by_building"] == 2
    assert counts["household_by_village_code"] == 1


def test_persons_follow_their_household_or_their_own_records(placed) -> None:  # type: ignore[no-untyped-def]
    ctx, counts = placed
    people = grids(ctx, Person)
    assert people["P1"] == (EAST + "001", building_id(f"{EAST}|1组3号"))
    assert people["P4"][0] == COMM + "002"
    assert people["P6"][0] == EAST + "001"
    assert people["P7"] == (COMM + "002", building_id(f"{COMM}|5号"))  # 12室 is a flat of block 5
    assert people["P8"][0] == COMM  # 幸福里 without 社区, from the roster: village level
    assert people["P9"] == (None, None)
    assert counts["person_by_unassigned"] == 1


def test_organisations_by_code_point_swapped_point_and_address(placed) -> None:  # type: ignore[no-untyped-def]
    ctx, counts = placed
    orgs = grids(ctx, Organization)
    assert orgs["O1"][0] == EAST + "002"  # the explicit code wins over a point in group 001
    assert orgs["O2"][0] == COMM + "002"
    assert orgs["O3"][0] == COMM + "001"  # lon/lat swapped: found once read the other way
    assert orgs["O4"][0] == EAST + "001"  # no coordinates: 东村1组 in the address
    assert orgs["O5"] == (None, building_id("?|某地"))  # longitude 500 and an address naming no village
    assert orgs["O6"] == (None, None)
    assert counts["organization_by_point_swapped"] == 1 and counts["organization_by_point"] == 1
    with transaction(ctx.db_url) as s:
        swapped = s.get(Building, building_id(f"{COMM}|31号"))
        assert swapped.grid_method == "point_swapped" and (swapped.lon, swapped.lat) == (118.12, 39.07)
    report = unassigned(ctx)
    assert set(report["organization"]) == {"O5", "O6"} and report["person"] == ["P9"]


def test_second_run_writes_nothing_and_ids_are_stable(placed) -> None:  # type: ignore[no-untyped-def]
    ctx, first = placed
    with transaction(ctx.db_url) as s:
        feed = s.scalar(select(func.count()).select_from(ChangeFeed))
        before = sorted(s.execute(select(Building.id, Building.grid_code)).all())
    assert feed > 0 and first["building_created"] == len(before)
    assert place_entities(ctx) == {"unchanged": 1}  # no input changed: nothing even read
    again = place_entities(ctx, full=True)
    assert not any(v for k, v in again.items() if k.endswith(("_created", "_updated", "_links_written")))
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(func.count()).select_from(ChangeFeed)) == feed
        assert sorted(s.execute(select(Building.id, Building.grid_code)).all()) == before


def test_building_links_for_the_crosswalk(placed) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = placed
    with transaction(ctx.db_url) as s:
        links = {(r.source, r.stream, r.source_key): r.entity_id for r in s.scalars(
            select(EntityLink).where(EntityLink.entity_type == "building"))}
    assert links[("population", "households", "00100001")] == links[("population", "households", "00100002")]
    assert links[("fire-safety", "units", "DW3")] == building_id(f"{COMM}|31号")


def test_a_moved_household_moves_its_grid_and_link(placed) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = placed
    from hub.db.models import SourceRecord

    with transaction(ctx.db_url) as s:
        rec = s.scalar(select(SourceRecord).where(SourceRecord.source_key == "20100002"))
        rec.data = {**rec.data, "address": "唐山镇东村1组5号"}
    counts = place_entities(ctx)
    assert counts["household_updated"] == 1 and counts["building_links_written"] == 1
    assert grids(ctx, Household)["H2"] == (EAST + "001", building_id(f"{EAST}|1组5号"))
    assert grids(ctx, Person)["P1"][0] == EAST + "001"


def test_core_paths_on_each_backend(store_url: str, tmp_path: Path, town) -> None:  # type: ignore[no-untyped-def]
    ctx = town.make_context(tmp_path, store_url)
    build(town.Store(ctx))
    counts = place_entities(ctx)
    assert counts["household_by_code"] == 2
    assert grids(ctx, Organization)["O3"][0] == COMM + "001"
    assert not any(v for k, v in place_entities(ctx, full=True).items() if k.endswith(("_created", "_updated")))
