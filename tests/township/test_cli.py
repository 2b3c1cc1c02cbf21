"""`hub cards` and `hub assess --xlsx`: the printable faces of the grid card and the figures table."""

from __future__ import annotations

import subprocess
from pathlib import Path

import openpyxl
from sqlalchemy import select

from hub.db.models import AuditEntry
from hub.db.session import transaction
from tests.township import county
from tests.township.county import V1, V2

HUB = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hub"


def hub(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HUB), "--config", str(cfg), *args], capture_output=True, text=True, timeout=180)


def test_cards_workbook(township_store: str, tmp_path: Path) -> None:
    cfg = county.write_config(tmp_path, township_store)
    out = tmp_path / "cards.xlsx"
    done = hub(cfg, "cards", "--grid", V1, "--out", str(out))
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(out)
    board = [str(c) for r in book["网格公示牌"].iter_rows(values_only=True) for c in r if c]
    assert "李网格" in board and "13800001111" not in board and "工作职责" in board
    cards = [str(c) for r in book["服务联系卡"].iter_rows(values_only=True) for c in r if c]
    assert "户号：120100000　户主：户主0" in cards
    assert any(c.startswith("网格员：孙组长　电话：") and not c.endswith("13800003333") for c in cards)
    with transaction(township_store) as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.route == "hub cards")).one()
    assert "P000a" in audit.person_ids


def test_assessment_workbook(township_store: str, tmp_path: Path) -> None:
    cfg = county.write_config(tmp_path, township_store)
    out = tmp_path / "q3.xlsx"
    done = hub(cfg, "assess", "--period", "2026Q3", "--as-of", "2026-10-12", "--xlsx", str(out))
    assert done.returncode == 0, done.stderr
    ws = openpyxl.load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[1])
    by_code = {r[0]: dict(zip(header, r, strict=True)) for r in rows[2:]}
    assert (by_code[V1]["受理数"], by_code[V1]["办结数"], by_code[V1]["逾期未办结"]) == (9, 6, 3)
    assert by_code[V2]["满意率"] == 1.0 and by_code[V1]["按期上报率"] == 0.0
    assert "截至2026-10-12" in str(rows[0][0])


def test_assessment_table_and_ranking_table(township_store: str, tmp_path: Path) -> None:
    cfg = county.write_config(tmp_path, township_store)
    table = hub(cfg, "assess", "--period", "2026Q3", "--as-of", "2026-10-12")
    assert table.returncode == 0, table.stderr
    east = next(line for line in table.stdout.splitlines() if V1 in line)
    assert "东村" in east and "66.7%" in east and "0.0%" in east  # closure 6/9; passed up on time 0 of 1
    ranking = hub(cfg, "assess", "ranking", "--period", "2026Q3", "--as-of", "2026-10-12")
    assert ranking.returncode == 0, ranking.stderr and V1 in ranking.stdout
    sample = hub(cfg, "assess", "sample", "--period", "2026Q3", "--grid", V1)
    assert sample.returncode == 0 and "户主" in sample.stdout
    bad = hub(cfg, "assess", "--period", "2026Q5")
    assert bad.returncode != 0 and bad.stderr.strip().startswith("error: period '2026Q5'")
