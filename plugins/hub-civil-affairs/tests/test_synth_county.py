"""civil-affairs on a synthetic county, synced day by day as the rosters are delivered.

The store must mirror the newest roster (live keys = its keys, leavers tombstoned), a second
sync on the same day reads nothing, and the quarantine must match truth/quarantine.csv.
The workbooks are re-read here with openpyxl, independently of the connector's calamine reader.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from hub.db.models import QuarantinedRow, SourceRecord
from hub.db.session import transaction
from hub.stages import sync
from hub.stages.load import stored_source_key
from hub.synth import generate
from hub.testing import ConformanceSetup, context_for

SOURCE = "civil-affairs"
SHEETS = ("低保对象", "特困供养", "残疾人", "高龄老人")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate(out, seed=7, residents=1500, days=3)
    return out


def roster_keys(path: Path) -> dict[str, set[str]]:
    """Source keys per sheet, read with openpyxl: ID cell as written (trimmed), a number in E+ form."""
    wb = load_workbook(path, read_only=True)
    keys: dict[str, set[str]] = {}
    for ws in wb.worksheets:
        rows = ws.iter_rows(values_only=True)
        header = next(r for r in rows if r and ("身份证号码" in r or "残疾人证号" in r))
        at = header.index("残疾人证号" if "残疾人证号" in header else "身份证号码")
        found: set[str] = set()
        for row in rows:
            if row and row[0] == "合计":
                break
            if not row or row[at] is None:
                continue
            value = row[at]
            found.add(format(float(value), ".14E") if isinstance(value, (int, float)) else str(value).strip())
        keys[ws.title] = found
    wb.close()
    return keys


def store(ctx, stream: str) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        rows = session.execute(select(SourceRecord.source_key, SourceRecord.deleted)
                               .where(SourceRecord.source == SOURCE, SourceRecord.stream == stream)).all()
    return {k for k, d in rows if not d}, {k for k, d in rows if d}


def test_day_by_day_mirrors_newest_roster_and_truth(county: Path, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    config = tmp_path / "hub.yaml"
    config.write_text(f"sources:\n  {SOURCE}: {{connector: {SOURCE}, path: {drop}}}\n", "utf-8")
    ctx, _ = context_for(ConformanceSetup(config, SOURCE), tmp_path, "store")

    def tok(sheet: str, key: str) -> str:  # the store keeps a token for a key that is a citizen ID
        return stored_source_key(ctx, SOURCE, sheet, key)

    plan = json.loads((county / "truth" / "days.json").read_text("utf-8"))["days"]
    seen: dict[str, set[str]] = {s: set() for s in SHEETS}
    newest: dict[str, set[str]] = {}
    for day in plan:
        files = day["sources"].get(SOURCE, {}).get("files", [])
        for name in files:
            shutil.copy(county / name, drop / Path(name).name)
            for sheet, keys in roster_keys(drop / Path(name).name).items():
                seen[sheet] |= keys
                newest[sheet] = keys  # a sheet missing from a month keeps the previous month's roster
        info = sync(ctx, SOURCE, resolve=False)
        assert (info.extract.rows > 0) == bool(files), f"day {day['day']}: read {info.extract.rows}"
        assert sync(ctx, SOURCE, resolve=False).extract.rows == 0, "a second sync on the same day read rows"
        with transaction(ctx.db_url) as session:
            bad = {(q.stream, q.source_key) for q in session.scalars(select(QuarantinedRow)
                                                                      .where(QuarantinedRow.source == SOURCE))}
        for sheet in SHEETS:
            live, gone = store(ctx, sheet)
            expected_live = {tok(sheet, k) for k in newest.get(sheet, set())} - {k for s, k in bad if s == sheet}
            assert live == expected_live, f"day {day['day']} {sheet}: store differs from the newest roster"
            left = {tok(sheet, k) for k in seen[sheet] - newest.get(sheet, set())}
            assert gone == left, f"day {day['day']} {sheet}: leavers not tombstoned"

    truth = [r for r in csv.DictReader((county / "truth" / "quarantine.csv").open(encoding="utf-8"))
             if r["source"] == SOURCE]
    assert any(r["reason"] == "id_numeric_cell" for r in truth), "the synth wrote no numeric-cell ID"
    with transaction(ctx.db_url) as session:
        got = {(q.stream, q.source_key): {r["check"] for r in q.reasons}
               for q in session.scalars(select(QuarantinedRow).where(QuarantinedRow.source == SOURCE))}
    for row in truth:
        key = (row["stream"], tok(row["stream"], row["source_key"]))
        _, gone = store(ctx, row["stream"])
        # a bad row is quarantined with truth's reason, unless its holder had already left the roster
        # by the newest month delivered with it (rosters are diffed: only the leave reaches the hub)
        assert row["reason"] in got.get(key, set()) or key[1] in gone, key
    truth_keys = {(r["stream"], tok(r["stream"], r["source_key"])) for r in truth}
    assert set(got) <= truth_keys, f"quarantined beyond truth: {sorted(set(got) - truth_keys)}"
