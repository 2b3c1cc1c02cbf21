"""Resolve partitioned by county, then movers, gives what one whole-store resolve gives."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.context import HubContext
from hub.db.models import EntityLink, EntityRedirect, Organization, Person
from hub.db.session import transaction
from hub.resolve.crosswalk import export_links
from tests.province.conftest import SECRET

GOLDEN = {
    "person": "SELECT id, name, birth_date, citizen_id_bidx, household_id, grid_code, registered_grid_code, "
              "building_id, status FROM person ORDER BY id",
    "household": "SELECT id, household_no, head_person_id, building_id, grid_code FROM household ORDER BY id",
    "organization": "SELECT id, name, credit_code, responsible_person_id, grid_code FROM organization ORDER BY id",
}


def _copy(province: Path, name: str, tmp: Path) -> Path:
    """A copy of the loaded province (same records, same arrival order) to resolve one way."""
    target = tmp / name
    shutil.copytree(province, target)
    return target


def _golden(folder: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(folder / "var" / "hub.db") as con:
        return {kind: con.execute(sql).fetchall() for kind, sql in GOLDEN.items()}


@pytest.fixture(scope="module")
def resolved(province: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from hub.province import resolve as by_county
    from hub.resolve import resolve

    tmp = tmp_path_factory.mktemp("resolved")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", SECRET)
        whole, parts = _copy(province, "whole", tmp), _copy(province, "parts", tmp)
        resolve(HubContext.from_config(whole / "hub.yaml"))
        ctx = HubContext.from_config(parts / "hub.yaml")
        assert by_county.counties(ctx) == ["130102", "130104", "130105"]
        by_county.prepare(ctx)
        for county in by_county.counties(ctx):
            counts = by_county.resolve_county(ctx, county)
            assert counts["person_created"] > 250, counts
        assert by_county.link_movers(ctx)["person_merged"] == 30
        by_county.finish(ctx)
    return whole, parts


def test_crosswalk_and_golden_records_equal_the_whole_store_run(resolved: tuple[Path, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SECRET_KEY", SECRET)
    whole, parts = resolved
    n = export_links(HubContext.from_config(whole / "hub.yaml"), whole / "links.csv")
    assert export_links(HubContext.from_config(parts / "hub.yaml"), parts / "links.csv") == n > 2500
    assert (parts / "links.csv").read_text("utf-8") == (whole / "links.csv").read_text("utf-8")
    assert _golden(parts) == _golden(whole)


def test_each_mover_is_one_person_linked_from_both_counties(resolved: tuple[Path, Path], province: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SECRET_KEY", SECRET)
    _, parts = resolved
    ctx = HubContext.from_config(parts / "hub.yaml")
    movers = json.loads((province / "movers.json").read_text("utf-8"))
    with transaction(ctx.db_url) as session:
        for mover in movers:
            bidx = ctx.vault.blind_index(mover["id18"], kind="citizen_id")
            ids = session.scalars(select(Person.id).where(Person.citizen_id_bidx == bidx)).all()
            assert len(ids) == 1, mover["to"]
            counties = set(session.scalars(select(EntityLink.county_code).where(
                EntityLink.entity_type == "person", EntityLink.entity_id == ids[0])))
            assert counties == {mover["from"], mover["to"]}
        # the id each county gave its half first redirects to the survivor: nobody downstream loses it
        merged = session.scalar(select(func.count()).select_from(EntityRedirect)
                                .where(EntityRedirect.reason == "merged", EntityRedirect.entity_type == "person"))
        assert merged == len(movers)


def test_a_firm_cited_from_two_counties_is_one_organisation(resolved: tuple[Path, Path], province: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Two county tasks would each create the firm (the 1M run stopped on uq_organization_credit_code)."""
    monkeypatch.setenv("HUB_SECRET_KEY", SECRET)
    _, parts = resolved
    code = (province / "shared-credit-code.txt").read_text("utf-8")
    with transaction(HubContext.from_config(parts / "hub.yaml").db_url) as session:
        ids = session.scalars(select(Organization.id).where(Organization.credit_code == code)).all()
        assert len(ids) == 1
        counties = set(session.scalars(select(EntityLink.county_code).where(
            EntityLink.entity_type == "organization", EntityLink.entity_id == ids[0])))
    assert counties == {"130102", "130104"}


def test_a_second_pass_changes_nothing(resolved: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.province import resolve as by_county

    monkeypatch.setenv("HUB_SECRET_KEY", SECRET)
    _, parts = resolved
    ctx = HubContext.from_config(parts / "hub.yaml")
    for county in by_county.counties(ctx):
        assert by_county.resolve_county(ctx, county).get("records_changed", 0) == 0
    again = by_county.link_movers(ctx)
    assert again["person_merged"] == 0 and again["links_written"] == 0 and again["changes"] == 0, again
    # finish placed every person (a change-feed row each) after the movers pass: that is no work for it
    assert again["movers"] == 0, again


def test_a_day_relinks_only_the_movers_it_touched(resolved: tuple[Path, Path], province: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """One mover's phone changes in the county they moved to: the county task re-goldens them from that
    county's records alone, the movers pass makes them whole again (and leaves the other movers be),
    and the store equals a whole-store resolve of the same day."""
    from hub.province import resolve as by_county
    from hub.resolve import resolve
    from hub.stages.sync import sync_sources

    monkeypatch.setenv("HUB_SECRET_KEY", SECRET)
    movers = json.loads((province / "movers.json").read_text("utf-8"))
    whole, parts = (Path(shutil.copytree(folder, tmp_path / folder.name)) for folder in resolved)
    mover = next(m for m in movers if sqlite3.connect(parts / m["to"] / "population.db").execute(
        "SELECT 1 FROM t_rk_ry WHERE sfzh = ?", (m["id18"],)).fetchone())
    for folder in (whole, parts):
        with sqlite3.connect(folder / mover["to"] / "population.db") as con:
            con.execute("UPDATE t_rk_ry SET lxdh = '13900001234', gxsj = '2026-12-01 09:00:00' WHERE sfzh = ?",
                        (mover["id18"],))
        report = sync_sources(HubContext.from_config(folder / "hub.yaml"), [f"{mover['to']}.population"],
                              resolve=False)
        assert not report.failed
    ctx = HubContext.from_config(parts / "hub.yaml")
    by_county.prepare(ctx)
    changed = {c: by_county.resolve_county(ctx, c).get("records_changed", 0) for c in by_county.counties(ctx)}
    assert changed[mover["to"]] >= 1 and sum(changed.values()) == changed[mover["to"]]
    day = by_county.link_movers(ctx)
    assert 1 <= day["movers"] < len(movers) // 2, day  # the one touched (and whoever shares its household)
    by_county.finish(ctx)
    resolve(HubContext.from_config(whole / "hub.yaml"))
    n = export_links(HubContext.from_config(whole / "hub.yaml"), whole / "links.csv")
    assert export_links(ctx, parts / "links.csv") == n
    assert (parts / "links.csv").read_text("utf-8") == (whole / "links.csv").read_text("utf-8")
    assert _golden(parts) == _golden(whole)
    with transaction(ctx.db_url) as session:
        bidx = ctx.vault.blind_index(mover["id18"], kind="citizen_id")
        assert len(session.scalars(select(Person.id).where(Person.citizen_id_bidx == bidx)).all()) == 1


def test_cli_lists_counties_and_refuses_an_unknown_one(province: Path) -> None:
    import os
    import subprocess
    import sys

    hub = [sys.executable, "-m", "hub", "--config", str(province / "hub.yaml"), "province"]
    env = {**os.environ, "HUB_SECRET_KEY": SECRET}
    listed = subprocess.run([*hub, "counties", "--json"], capture_output=True, text=True, env=env, check=True)
    rows = json.loads(listed.stdout)
    assert [r["county"] for r in rows] == ["130102", "130104", "130105"]
    assert rows[0]["sources"] == ["130102.civil-affairs", "130102.dispute-mediation", "130102.fire-safety",
                                  "130102.grid-registry", "130102.population"]  # public-security: disabled
    wrong = subprocess.run([*hub, "resolve", "--county", "999999"], capture_output=True, text=True, env=env)
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == "error: unknown county '999999' (configured: 130102, 130104, 130105)"
