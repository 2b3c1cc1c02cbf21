"""A house is its village and its number: house numbers repeat in every village (legacy-systems.md, "Addresses")."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from hub.db.models import Building, Household, Organization
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
