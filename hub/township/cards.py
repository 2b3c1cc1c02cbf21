"""网格图谱、服务联系卡: a grid's publicity card and each household's service contact card.

Straight from the unified model: the grid's polygon, its worker (the registry's ``manager``/``phone``)
and its households. A household's card names the worker of the finest grid above it that has one.
The worker's phone is masked unless the reader holds ``read:pii``; household cards (a head's name is
personal data) need ``read:people``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.keys import Principal
from hub.api.masking import Masker
from hub.api.subtree import subtree
from hub.db.models import GridCell, Household, Person
from hub.errors import HubError
from hub.privacy import Vault

DUTIES = ("信息采集：人、房、物、事底数清", "矛盾排查：纠纷早发现、早报告、早化解", "安全巡查：消防等安全隐患排查报送",
          "政策宣传与便民服务：代办、帮办、结果反馈", "关爱走访：独居老人、困难群众、残疾人")
LEVEL_NAMES = {1: "一级网格", 2: "二级网格", 3: "三级网格"}


@dataclass
class HouseholdCard:
    household_id: str
    household_no: str | None
    address: str | None
    head_name: str | None
    grid_code: str | None
    grid_name: str | None
    worker: str | None
    worker_phone: str | None


@dataclass
class GridCard:
    code: str
    name: str
    level: int
    parent_code: str | None
    parent_name: str | None
    manager: str | None
    manager_phone: str | None
    duties: list[str]
    bbox: list[float] | None
    geometry: dict[str, Any] | None
    households: list[HouseholdCard] | None = None
    person_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("person_ids")
        return out


def grid_card(session: Session, vault: Vault, grid: str, reader: Principal, *, households: bool = False) -> GridCard:
    cell = session.get(GridCell, grid)
    bound = None
    if reader.grid_code:
        bound = subtree(reader.grid_code, session.scalar(select(GridCell.level).where(GridCell.code == reader.grid_code)))
    if cell is None or (bound is not None and not bound.contains(grid)):
        raise HubError(f"no grid {grid}")
    masker = Masker(vault, reader)
    parent = session.get(GridCell, cell.parent_code) if cell.parent_code else None
    bbox = None if cell.min_lon is None else [cell.min_lon, cell.min_lat, cell.max_lon, cell.max_lat]
    card = GridCard(code=cell.code, name=cell.name, level=cell.level, parent_code=cell.parent_code,
                    parent_name=parent.name if parent else None, manager=cell.manager,
                    manager_phone=masker.phone(cell.manager_phone_enc), duties=list(DUTIES), bbox=bbox,
                    geometry=cell.geometry)
    if households and reader.has("read:people"):
        rng = subtree(cell.code, cell.level)
        # every grid from the township down to this grid's groups: the worker of each household's finest grid
        prefix = cell.code[:9]
        grids = {g.code: g for g in session.scalars(select(GridCell).where(GridCell.code.like(f"{prefix}%")))}
        masker.prefetch(g.manager_phone_enc for g in grids.values())

        def worker(code: str | None) -> GridCell | None:
            while code:
                g = grids.get(code)
                if g is None:
                    return None
                if g.manager:
                    return g
                code = g.parent_code
            return None

        rows = session.execute(select(Household.id, Household.household_no, Household.address, Household.grid_code,
                                      Person.id.label("head_id"), Person.name)
                               .outerjoin(Person, Person.id == Household.head_person_id)
                               .where(rng.clause(Household.grid_code), Household.active.is_(True))
                               .order_by(Household.grid_code, Household.household_no, Household.id)).all()
        card.households = []
        for r in rows:
            w = worker(r.grid_code)
            card.households.append(HouseholdCard(
                household_id=r.id, household_no=r.household_no, address=r.address, head_name=r.name,
                grid_code=r.grid_code, grid_name=grids[r.grid_code].name if r.grid_code in grids else None,
                worker=w.manager if w else None, worker_phone=masker.phone(w.manager_phone_enc) if w else None))
            if r.head_id:
                card.person_ids.append(r.head_id)
    return card


def write_cards(card: GridCard, target: str | Path | IO[bytes]) -> None:
    """A printable workbook: the grid's publicity card, then household cards two to a row, eight to an A4 page."""
    book = xlsxwriter.Workbook(str(target) if isinstance(target, Path) else target,
                               {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    font = {"font_name": "WenQuanYi Micro Hei", "valign": "vcenter", "text_wrap": True}
    big = book.add_format({**font, "font_size": 18, "bold": True, "align": "center", "border": 2})
    line = book.add_format({**font, "font_size": 12, "border": 1})
    small = book.add_format({**font, "font_size": 10, "left": 1, "right": 1})
    head = book.add_format({**font, "font_size": 12, "bold": True, "align": "center", "top": 2, "left": 1, "right": 1,
                            "bg_color": "#FCE4D6"})
    foot = book.add_format({**font, "font_size": 10, "bottom": 2, "left": 1, "right": 1})

    def text(ws: Any, row: int, col: int, value: Any, fmt: Any) -> None:
        ws.write_string(row, col, "" if value is None else str(value), fmt)  # always text, never a formula

    ws = book.add_worksheet("网格公示牌")
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 60)
    ws.merge_range(0, 0, 0, 1, f"{card.name}（{LEVEL_NAMES.get(card.level, '')}）网格公示", big)
    rows = [("网格编码", card.code), ("上级网格", f"{card.parent_name or ''} {card.parent_code or ''}".strip()),
            ("网格员", card.manager or "未登记"), ("联系电话", card.manager_phone or "未登记"),
            ("工作职责", "\n".join(card.duties))]
    for i, (k, v) in enumerate(rows, start=1):
        text(ws, i, 0, k, line)
        text(ws, i, 1, v, line)
    ws.set_row(len(rows), 90)
    ws.set_paper(9)
    ws.fit_to_pages(1, 1)
    if card.households is not None:
        ws = book.add_worksheet("服务联系卡")
        ws.set_column(0, 0, 44)
        ws.set_column(1, 1, 2)
        ws.set_column(2, 2, 44)
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        for i, h in enumerate(card.households):
            top, col = (i // 2) * 6, (i % 2) * 2
            text(ws, top, col, f"网格服务联系卡 · {card.name}", head)
            text(ws, top + 1, col, f"户号：{h.household_no or h.household_id}　户主：{h.head_name or ''}", small)
            text(ws, top + 2, col, f"地址：{h.address or ''}", small)
            text(ws, top + 3, col, f"所在网格：{h.grid_name or ''}（{h.grid_code or ''}）", small)
            text(ws, top + 4, col, f"网格员：{h.worker or '未登记'}　电话：{h.worker_phone or '未登记'}", foot)
        ws.set_h_pagebreaks(list(range(24, (len(card.households) + 1) // 2 * 6, 24)))  # 8 cards a page
    book.close()
