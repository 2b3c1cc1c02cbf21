"""Issue 19's Done-when: every optimisation keeps the output identical.

One synthetic county (~3,000 residents, days 0-2) goes into two stores:

- **day by day**, as a user runs it: each day's deliveries synced, then resolve on that day's date
  (the incremental paths: entities, places, events and tags proportional to what changed, the daily
  deadline and birthday passes), and at the end one changed population row synced and resolved;
- **all at once**: every day synced into an empty store, then one resolve, whose every step is a
  first (full) pass from an empty unified model: the reference.

Then the crosswalk, the golden persons, households and organisations, buildings, events with their
parties, inspections, person tags and organisation flags, and the open quarantine must be equal.

Compared by source keys, not by stored ids where ids are not a function of the records:
an entity id is kept stable across history (the first record that made it), so the same cluster of
records may carry another id in the two stores; each entity is therefore named by the sorted source
keys of its crosswalk rows, and every reference to it (a member's household, a party's person, a tag)
is rewritten to that name before comparing. Encrypted columns are compared decrypted (in the test
only; nothing is printed in clear: a failure shows counts and ids, never a value). Left out, with the
reason:

- ``updated_at``/``run_id``/``created_at``/``seen_run_id`` and provenance's ``at``: when, not what;
- an incident's or hazard's ``history``: those sources tell only the current status, so the timeline
  is what the hub observed: a store that saw an incident on each day holds the statuses in between,
  one that saw only the last day cannot (the last status and the rest of the event must agree).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parents[1] / "resolve"))

from county import build_county, deliver, stash_days, sync_all  # noqa: E402

from hub.context import HubContext  # noqa: E402
from hub.db.models import (  # noqa: E402
    Building,
    EntityLink,
    Event,
    EventParty,
    Household,
    Inspection,
    Organization,
    Person,
    PersonTag,
    QuarantinedRow,
)
from hub.db.models.events import OrganizationTag  # noqa: E402
from hub.db.provenance import unpack  # noqa: E402
from hub.db.session import transaction  # noqa: E402
from hub.resolve import resolve  # noqa: E402

DAYS = [dt.date(2026, 10, 31), dt.date(2026, 11, 1), dt.date(2026, 11, 2)]
VOLATILE = {"updated_at", "run_id", "created_at", "seen_run_id", "changed_at", "resolved_at", "id_"}
ENTITY_TABLES = {"person": Person, "household": Household, "organization": Organization}
#: column -> entity type of the id it holds
REFERENCES = {"household_id": "household", "head_person_id": "person", "person_id": "person",
              "organization_id": "organization", "responsible_person_id": "person"}


def _change_one_phone(out: Path) -> None:
    """One resident's phone changes in the population database, as bench/bench_county.py does."""
    with sqlite3.connect(out / "population.db") as conn:
        ryid = conn.execute("SELECT ryid FROM t_rk_ry WHERE zxbz IS NULL OR zxbz != '1' ORDER BY ryid LIMIT 1 "
                            "OFFSET (SELECT COUNT(*) / 2 FROM t_rk_ry)").fetchone()[0]
        conn.execute("UPDATE t_rk_ry SET lxdh = ?, gxsj = ? WHERE ryid = ?", ("13900001234", "2026-11-02 09:00:00", ryid))


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubContext, HubContext]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", "perf-output-identity")
        out = tmp_path_factory.mktemp("county")
        ctx, server, sources = build_county(out, residents=3000, days=2)
        try:
            later = [stash_days(out, out.parent / f"{out.name}-day{d}", d) for d in (2, 1)][::-1]
            for day, today in enumerate(DAYS):
                if day:
                    deliver(later[day - 1])
                server.set_day(day)
                sync_all(ctx, sources)
                resolve(ctx, today=today)
            _change_one_phone(out)
            sync_all(ctx, ["population"])
            resolve(ctx, today=DAYS[-1])

            text = (out / "hub.yaml").read_text(encoding="utf-8")
            full_yaml = out / "hub-all-at-once.yaml"
            full_yaml.write_text(re.sub(r"^landing: .*$", "landing: var-all/landing", re.sub(
                r"^database: .*$", "database: sqlite:///var-all/hub.db", text, flags=re.M), flags=re.M), encoding="utf-8")
            (out / "var-all").mkdir()
            whole = HubContext.from_config(full_yaml)
            assert whole.db_url != ctx.db_url
            sync_all(whole, sources)
            resolve(whole, today=DAYS[-1])
            yield ctx, whole
        finally:
            server()


def _names(ctx: HubContext) -> tuple[dict[tuple[str, str], str], set[tuple[Any, ...]]]:
    """(entity type, id) -> the entity's name by its records; and the crosswalk written with those names."""
    members: dict[tuple[str, str], list[str]] = {}
    with transaction(ctx.db_url) as s:
        links = s.execute(select(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_type,
                                 EntityLink.entity_id, EntityLink.method)).tuples().all()
    for source, stream, key, etype, eid, _ in links:
        members.setdefault((etype, eid), []).append(f"{source}/{stream}/{key}")
    names = {k: "|".join(sorted(v)) for k, v in members.items()}
    crosswalk = {(source, stream, key, etype, names[(etype, eid)], method)
                 for source, stream, key, etype, eid, method in links}
    return names, crosswalk


def _plain(ctx: HubContext, value: Any, column: str) -> Any:
    if column.endswith("_enc") and value is not None:
        return ctx.vault.decrypt(value)
    if column == "provenance":
        return {a: {k: v for k, v in p.items() if k != "at"} if isinstance(p, dict) else p
                for a, p in (unpack(value) or {}).items()}
    return value


def _rows(ctx: HubContext, model: Any, names: dict[tuple[str, str], str], etype: str | None = None,
          where: Any = None, drop: set[str] = frozenset()) -> dict[Any, dict[str, Any]]:
    """Rows keyed by their name (an entity's records, else their natural key), ids rewritten to names."""
    table = model.__table__
    stmt = select(table) if where is None else select(table).where(where)
    out: dict[Any, dict[str, Any]] = {}
    with transaction(ctx.db_url) as s:
        rows = [dict(r._mapping) for r in s.execute(stmt)]
    for row in rows:
        values = {c: _plain(ctx, v, c) for c, v in row.items() if c not in VOLATILE | drop}
        for column, ref in REFERENCES.items():
            if column in values and values[column] is not None:
                values[column] = names.get((ref, values[column]), f"unlinked:{values[column]}")
        if etype is not None:
            key: Any = names.get((etype, values.pop("id")), f"no records:{row['id']}")
        elif "id" in values and isinstance(values["id"], int):
            values.pop("id")
            key = json.dumps(values, sort_keys=True, default=str)
        else:
            key = values.get("id") or json.dumps(values, sort_keys=True, default=str)
        out[key] = values
    return out


def _differences(a: dict[Any, Any], b: dict[Any, Any]) -> str:
    """"" when equal; else counts, keys and column names only (never values: they may be personal data,
    which is also why the tests assert on this text and not on ``a == b``, whose diff pytest would print)."""
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    changed = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    if not (only_a or only_b or changed):
        return ""
    columns = sorted({c for k in changed for c in a[k] if a[k].get(c) != b[k].get(c)})
    return (f"{len(only_a)} only day by day, {len(only_b)} only all at once, {len(changed)} differ "
            f"(columns {columns}); e.g. {(only_a + only_b + changed)[:3]}")


def test_crosswalk_is_the_same(stores: tuple[HubContext, HubContext]) -> None:
    daily, whole = stores
    (_, a), (_, b) = _names(daily), _names(whole)
    assert a, "the county linked nothing"
    assert not (a ^ b), f"{len(a - b)} crosswalk rows only day by day, {len(b - a)} only all at once: {sorted(a ^ b)[:3]}"


@pytest.mark.parametrize("etype", sorted(ENTITY_TABLES))
def test_golden_records_are_the_same(stores: tuple[HubContext, HubContext], etype: str) -> None:
    daily, whole = stores
    a = _rows(daily, ENTITY_TABLES[etype], _names(daily)[0], etype)
    b = _rows(whole, ENTITY_TABLES[etype], _names(whole)[0], etype)
    assert len(a) > 10
    assert not (diff := _differences(a, b)), diff


def test_buildings_and_inspections_are_the_same(stores: tuple[HubContext, HubContext]) -> None:
    daily, whole = stores
    for model in (Building, Inspection):
        a, b = _rows(daily, model, _names(daily)[0]), _rows(whole, model, _names(whole)[0])
        assert a and not (diff := _differences(a, b)), f"{model.__tablename__}: {diff}"


def test_events_and_parties_are_the_same(stores: tuple[HubContext, HubContext]) -> None:
    daily, whole = stores
    a = _rows(daily, Event, _names(daily)[0])
    b = _rows(whole, Event, _names(whole)[0])
    for rows in (a, b):  # the timeline of a source that tells only its current status: see the docstring
        for row in rows.values():
            if row["kind"] != "dispute":
                row["history"] = [step["status"] for step in row["history"]][-1:]
    assert {r["kind"] for r in a.values()} == {"dispute", "incident", "hazard"}
    assert any(r["overdue"] for r in a.values()) and any(not r["overdue"] for r in a.values())
    assert not (diff := _differences(a, b)), diff
    pa, pb = _rows(daily, EventParty, _names(daily)[0]), _rows(whole, EventParty, _names(whole)[0])
    assert pa and not (diff := _differences(pa, pb)), diff


def test_tags_are_the_same(stores: tuple[HubContext, HubContext]) -> None:
    daily, whole = stores
    for model in (PersonTag, OrganizationTag):
        a, b = _rows(daily, model, _names(daily)[0]), _rows(whole, model, _names(whole)[0])
        if model is PersonTag:
            assert {r["tag"] for r in a.values()} >= {"elderly", "minor", "elderly_alone"}
        assert not (diff := _differences(a, b)), f"{model.__tablename__}: {diff}"


def test_open_quarantine_is_the_same(stores: tuple[HubContext, HubContext]) -> None:
    daily, whole = stores
    keep = {"raw_hash", "source", "stream", "source_key", "scope", "column_name", "reasons"}
    drop = {c.name for c in QuarantinedRow.__table__.columns} - keep
    a = _rows(daily, QuarantinedRow, {}, where=QuarantinedRow.status == "open", drop=drop)
    b = _rows(whole, QuarantinedRow, {}, where=QuarantinedRow.status == "open", drop=drop)
    assert a, "the county's noise quarantined nothing"
    assert not (diff := _differences(a, b)), diff
