"""The ledger as a township prints it: `hub ledger export`, opened with openpyxl, printed with LibreOffice."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from hub.db.models import AuditEntry
from hub.db.session import transaction
from tests.township import county
from tests.township.conftest import FORMULA_NAME
from tests.township.county import V1

HUB = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hub"
OVERRIDE = "ledger:\n  categories:\n    dispute: {邻里纠纷: 社会事务}\n"


def export(cfg: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HUB), "--config", str(cfg), "ledger", "export", "--grid", V1, "--out", str(out),
                           "--as-of", "2026-10-12", *extra], capture_output=True, text=True, timeout=180)


@pytest.fixture
def ledger(township_store: str, tmp_path: Path) -> tuple[Path, Path]:
    cfg = county.write_config(tmp_path, township_store, OVERRIDE)
    out = tmp_path / "东村台账.xlsx"
    done = export(cfg, out)
    assert done.returncode == 0, done.stderr
    return cfg, out


def rows(ws) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [["" if c is None else str(c) for c in r] for r in ws.iter_rows(values_only=True)]


def test_title_block_categories_and_masking(ledger: tuple[Path, Path], township_store: str) -> None:
    cfg, out = ledger
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "台账目录"
    # a sheet per ledger category with content, in the order of the eight: 党群组织 and 文教体育 have no source;
    # 综治司法 has none either for this reader (every dispute is 邻里纠纷, moved by the county; no incidents)
    assert [n for n in book.sheetnames if n in ("党群组织", "经济财政", "综治司法", "社会事务", "人口计生", "劳动保障",
                                                 "城区管理", "文教体育")] == ["经济财政", "社会事务", "人口计生",
                                                                              "城区管理"]
    assert {"户籍", "房屋", "单位", "事件", "关爱-独居老人", "关爱-低保对象"} <= set(book.sheetnames)
    ws = book["台账目录"]
    title = rows(ws)[:4]
    assert title[0][0] == "东村网格台账 · 八大项台账目录"
    assert "网格编码：130203101201" in title[1][0] and "二级网格" in title[1][0] and "上级网格：唐山镇（130203101000）" in title[1][0]
    assert "网格员：李网格" in title[2][0] and "台账截至：2026-10-12" in title[2][0]
    assert "13800001111" not in title[2][0] and "1111" in title[2][0]  # the worker's phone, masked
    assert any(str(r) == "A1:H1" for r in ws.merged_cells.ranges)
    assert ws.freeze_panes == "A6" and ws.print_title_rows == "$5:$5"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9  # A4 landscape
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0  # fit to width (1 is the default)
    index = rows(ws)[5:]
    # every record shows its source category and its ledger category; the county's override moved 邻里纠纷
    by_ref = {r[3]: r for r in index}
    assert by_ref["e1"][:3] == ["社会事务", "邻里纠纷", "矛盾纠纷"]
    assert by_ref["land"][:2] == ["经济财政", "土地山林"] and by_ref["e6"][:2] == ["城区管理", "一般"]
    assert by_ref["120100000"][:3] == ["人口计生", "户籍户", "户"]
    # households: head first, then members, IDs and phones masked without read:pii, no special population
    members = rows(book["户籍"])[5:]
    first = [r for r in members if r[0] == "120100000"]
    assert [r[3] for r in first] == ["户主", "配偶"] and first[0][4] == "户主0"
    assert first[0][8] != "130203196001010001" and first[0][8].startswith("130203") and first[0][8].endswith("0001")
    everything = [c for n in book.sheetnames for r in rows(book[n]) for c in r]
    assert "130203196001010001" not in everything and "13800000001" not in everything
    assert "特殊人群" not in book.sheetnames and not any("社区矫正" in c for c in everything)
    assert "e8" not in by_ref  # a police incident, without read:sensitive
    events = {r[0]: r for r in rows(book["事件"])[5:]}
    assert events["e2"][10] == "逾期1个工作日" and events["e2"][13] == "当事人外出务工，待返乡后调解"
    assert events["e1"][11] == "周调解／东村调委会" and events["e1"][12] == "满意"
    orgs = {r[0]: r for r in rows(book["单位"])[5:]}
    assert orgs["东村加油站"][10] == "有隐患整改中" and orgs["东村加油站"][11].startswith("h-open")
    assert orgs["东村敬老院"][11] == ""  # its only hazard was rectified
    # every export is audited, naming the persons it showed
    with transaction(township_store) as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.route == "hub ledger export")).one()
    assert audit.key_name.startswith("cli:") and "P000a" in audit.person_ids and "P000a" in audit.person_ids


def test_scopes_unmask_and_add_sensitive(ledger: tuple[Path, Path], tmp_path: Path) -> None:
    cfg, _ = ledger
    out = tmp_path / "full.xlsx"
    done = export(cfg, out, "--scopes", "read:grids,read:people,read:events,read:pii,read:sensitive")
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(out)
    everything = [c for n in book.sheetnames for r in rows(book[n]) for c in r]
    assert "130203196001010001" in everything and "13800001111" in " ".join(everything)
    assert "社区矫正" in [r[2] for r in rows(book["特殊人群"])[5:]]
    assert "e8" in {r[0] for r in rows(book["事件"])[5:]}


def test_text_that_looks_like_a_formula_stays_text(ledger: tuple[Path, Path]) -> None:
    _, out = ledger
    ws = openpyxl.load_workbook(out)["户籍"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == FORMULA_NAME)
    assert cell.data_type == "s" and cell.quotePrefix  # a string, shown and kept as text by Excel


def test_bad_grid_is_one_line(ledger: tuple[Path, Path], tmp_path: Path) -> None:
    cfg, _ = ledger
    done = subprocess.run([str(HUB), "--config", str(cfg), "ledger", "export", "--grid", "999999999999", "--out",
                           str(tmp_path / "x.xlsx")], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and done.stderr.strip() == "error: no grid 999999999999"
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice (libreoffice-calc-nogui) and poppler-utils are installed by make system-deps")
def test_printed_as_a_township_would(ledger: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = ledger
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)], check=True, capture_output=True,
                   timeout=300)
    pdf = out.with_suffix(".pdf")

    def page(n: int) -> str:
        return subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-layout", str(pdf), "-"], check=True,
                              capture_output=True, text=True).stdout

    first, second = page(1), page(2)
    assert "东村网格台账" in first and "网格编码：130203101201" in first and "网格员：李网格" in first
    assert "台账截至：2026-10-12" in first
    header = ["台账类别", "来源类别", "类型", "编号", "名称/摘要", "地址/地点", "所在网格", "状态/说明"]
    assert all(h in first for h in header)
    assert "网格编码" not in second  # page 2 continues the table: no title block ...
    lines = [line for line in second.splitlines() if line.strip()]
    assert all(h in lines[0] for h in header)  # ... but the header row again, first on the page
    assert "户籍户" in second
