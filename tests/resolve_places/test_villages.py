"""A house is its village and its number: house numbers repeat in every village (legacy-systems.md, "Addresses")."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from hub.db.models import Building, Household, Organization, Person
from hub.db.session import transaction
from hub.resolve.placement import building_id
from hub.resolve.places import place_entities

EAST, COMM = "130203101201", "130203101001"


def test_two_villages_with_a_12hao_are_two_buildings(tmp_path: Path, town) -> None:  # type: ignore[no-untyped-def]
    ctx = town.make_context(tmp_path)
    st = town.Store(ctx)
    # the road between the two villages: both have a 建设路12号, and the addresses name no village
    st.household("HA", "20100012", "河北省唐山市路北区唐山镇建设路12号", village=EAST, group="001")
    st.household("HB", "00100012", "唐山镇建设路十二号", village=COMM, group="002")
    # one house of 东村 written four ways: 一组/第一村民小组/1组, 十二号/12号楼/12号, with or without 村/村委会
    st.household("HC", "20100013", "唐山镇东村一组十二号楼", village=EAST)
    st.household("HD", "20100014", "东村村委会第一村民小组12号", village=EAST)
    st.household("HE", "20100015", "唐山镇東村1组12号3室", village=EAST, group="001")
    st.household("HF", "20100016", "唐山镇东1组12号", village=EAST)
    # the community's own 12号 (幸福里 written with 居委会), and a unit naming it by 社区
    st.household("HG", "00100013", "唐山镇幸福里居委会12号楼2单元301室", village=COMM, group="001")
    st.org("O2", "DW2", grid_code=None, lon=None, lat=None, address="幸福里社区12号")
    # a unit at 建设路12号 with no code and no point: two villages have one, so no guess
    st.org("O1", "DW1", grid_code=None, lon=None, lat=None, address="建设路12号")
    # an address naming no village that only one village has: it joins that village's house
    st.household("HH", "00100014", "唐山镇和平街3号", village=COMM, group="002")
    st.org("O3", "DW3", grid_code=None, lon=None, lat=None, address="和平街3号")
    st.commit()
    place_entities(ctx)

    with transaction(ctx.db_url) as s:
        hh = {r.id: (r.grid_code, r.building_id) for r in s.scalars(select(Household))}
        orgs = {r.id: (r.grid_code, r.building_id) for r in s.scalars(select(Organization))}
        buildings = {b.id: b for b in s.scalars(select(Building))}
    assert hh["HA"][1] != hh["HB"][1]  # two villages' 12号: two buildings
    assert hh["HA"] == (EAST + "001", building_id(f"{EAST}|建设路12号"))
    assert hh["HB"] == (COMM + "002", building_id(f"{COMM}|建设路12号"))
    assert hh["HC"][1] == hh["HD"][1] == hh["HE"][1] == hh["HF"][1] == building_id(f"{EAST}|1组12号")
    assert {hh[h][0] for h in ("HC", "HD", "HE", "HF")} == {EAST + "001"}
    assert hh["HG"][1] == orgs["O2"][1] == building_id(f"{COMM}|12号")
    assert orgs["O2"][0] == COMM + "001"
    assert orgs["O1"] == (None, building_id("?|建设路12号"))
    assert orgs["O3"] == (COMM + "002", hh["HH"][1])
    # no building holds households of two villages, and every building knows its village
    villages_of: dict[str, set[str]] = {}
    for grid, bid in hh.values():
        villages_of.setdefault(bid, set()).add(grid[:12])
    assert all(len(v) == 1 for v in villages_of.values()), villages_of
    assert all(buildings[bid].village_code in v for bid, v in villages_of.items())
    assert buildings[hh["HC"][1]].address == "唐山镇东村1组12号"


def test_a_village_code_and_a_group_however_written(tmp_path: Path, town) -> None:  # type: ignore[no-untyped-def]
    """组号 typed as 二 / 第二村民小组 / 02; a code naming only the village is refined by the point or address."""
    ctx = town.make_context(tmp_path)
    st = town.Store(ctx)
    st.household("H1", "20100021", "唐山镇东村21号", village=EAST, group="二")
    st.household("H2", "20100022", "唐山镇东村22号", village=EAST, group="第二村民小组")
    st.household("H3", "20100023", "唐山镇东村23号", village=EAST, group="02")
    st.household("H4", "20100024", "唐山镇东村24号", village=EAST, group="九十九")  # no such group: the village
    # a unit whose 所属网格 names only the village, with a point in group 002
    st.org("O1", "DW1", grid_code=EAST, lon=118.07, lat=39.05, address="唐山镇东村工业街1号")
    # a floating person whose gridCode names only the community; the address says block 5 of group 002
    st.household("H5", "00100005", "唐山镇幸福里社区5号楼1单元1室", village=COMM, group="002")
    st.person("P1", floating=True)
    st.record("public-security", "floating-persons", "FP1", grid_code=COMM, status="active",
              address="唐山镇幸福里社区5号楼3室", updated_at="2026-11-01 10:00:00")
    st.link("public-security", "floating-persons", "FP1", "person", "P1")
    st.commit()
    place_entities(ctx)
    with transaction(ctx.db_url) as s:
        hh = {r.id: r.grid_code for r in s.scalars(select(Household))}
        org = s.get(Organization, "O1").grid_code
        person = s.get(Person, "P1").grid_code
    assert hh == {"H1": EAST + "002", "H2": EAST + "002", "H3": EAST + "002", "H4": EAST, "H5": COMM + "002"}
    assert org == EAST + "002"
    assert person == COMM + "002"



def test_village_names_and_codes_as_departments_write_them(tmp_path: Path, town) -> None:  # type: ignore[no-untyped-def]
    from hub.resolve.gridindex import GridIndex

    ctx = town.make_context(tmp_path)
    with transaction(ctx.db_url) as s:
        index = GridIndex.load(s)
    written = ["东村", "东", "唐山镇东村", "东村村委会", "东村3组", "幸福里社区", "幸福里", "幸福里居委会", "唐山镇幸福里社区"]
    assert [index.village_named(n) for n in written] == [EAST] * 5 + [COMM] * 4
    assert index.village_named("西村") is None
    # a vendor storing the group's own code in 村居代码 (no 组号)
    st = town.Store(ctx)
    st.household("H1", "20100031", "唐山镇东村31号", village=EAST + "002")
    st.commit()
    place_entities(ctx)
    with transaction(ctx.db_url) as s:
        assert s.get(Household, "H1").grid_code == EAST + "002"


def test_buildings_keyed_the_old_way_are_rekeyed_on_each_backend(store_url: str, tmp_path: Path, town) -> None:  # type: ignore[no-untyped-def]
    """A store placed before houses had villages: its buildings go, everything points at the new ones."""
    ctx = town.make_context(tmp_path, store_url)
    st = town.Store(ctx)
    st.rows.append(Building(id="B-old", address="唐山镇建设路12号", address_key="唐山镇建设路12号"))
    st.household("HA", "20100012", "唐山镇建设路12号", village=EAST, group="001")
    st.household("HB", "00100012", "唐山镇建设路12号", village=COMM, group="002")
    st.person("P1", "HA", building_id="B-old")
    st.commit()
    with transaction(ctx.db_url) as s:
        for hid in ("HA", "HB"):
            s.get(Household, hid).building_id = "B-old"
    counts = place_entities(ctx)
    assert counts["building_removed"] == 1
    with transaction(ctx.db_url) as s:
        assert s.get(Building, "B-old") is None
        assert s.get(Household, "HA").building_id == s.get(Person, "P1").building_id == building_id(f"{EAST}|建设路12号")
        assert s.get(Household, "HB").building_id == building_id(f"{COMM}|建设路12号")
    assert not any(v for k, v in place_entities(ctx, full=True).items() if k.endswith(("_created", "_updated", "_removed")))
