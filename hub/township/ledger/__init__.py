"""一个网格一本台账: a grid's ledger, current to a date, for one reader, as a printable workbook.

``export_ledger`` is what ``hub ledger export`` and ``GET /grids/{code}/ledger.xlsx`` call; the caller
audits the returned ``person_ids`` (the CLI with an audit row of its own, the API through its log).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from hub.api.keys import Principal
from hub.events.clock import beijing_today
from hub.privacy import Vault
from hub.township.categories import LEDGER_CATEGORIES
from hub.township.ledger.content import EVENT_KINDS, LedgerContent, read_ledger
from hub.township.ledger.workbook import INDEX_COLUMNS, Column, LedgerBook, index_rows
from hub.township.rules import TownshipRules

MEMBER_COLUMNS: list[Column] = [
    ("户号", 14, lambda r: r["household_no"]), ("户地址", 24, lambda r: r["h_address"]),
    ("所在网格", 15, lambda r: r["h_grid"]), ("与户主关系", 8, lambda r: r["relation"]), ("姓名", 10, lambda r: r["name"]),
    ("性别", 5, lambda r: r["gender"]), ("出生日期", 11, lambda r: r["birth_date"]), ("年龄", 5, lambda r: r["age"]),
    ("公民身份号码", 20, lambda r: r["citizen_id"]), ("联系电话", 13, lambda r: r["phone"]),
    ("人员状态", 7, lambda r: r["status"]), ("标签", 16, lambda r: "、".join(r["tags"]))]
PERSON_COLUMNS: list[Column] = [
    ("人员编号", 16, lambda r: r["id"]), ("姓名", 10, lambda r: r["name"]), ("性别", 5, lambda r: r["gender"]),
    ("年龄", 5, lambda r: r["age"]), ("公民身份号码", 20, lambda r: r["citizen_id"]),
    ("联系电话", 13, lambda r: r["phone"]), ("地址", 28, lambda r: r["address"]),
    ("所在网格", 15, lambda r: r["grid_code"]), ("状态", 7, lambda r: r["status"]),
    ("标签", 16, lambda r: "、".join(r["tags"]))]
BUILDING_COLUMNS: list[Column] = [
    ("房屋编号", 18, lambda r: r["id"]), ("地址", 40, lambda r: r["address"]), ("所在网格", 16, lambda r: r["grid_code"]),
    ("定位方式", 10, lambda r: r["grid_method"]), ("户数", 6, lambda r: r["households"]),
    ("单位数", 6, lambda r: r["organizations"])]
ORG_COLUMNS: list[Column] = [
    ("单位名称", 24, lambda r: r["name"]), ("统一社会信用代码", 20, lambda r: r["credit_code"]),
    ("单位类别", 14, lambda r: r["category"]), ("重点单位", 6, lambda r: r["key_unit"]),
    ("地址", 24, lambda r: r["address"]), ("法定代表人", 9, lambda r: r["legal_representative"]),
    ("联系电话", 13, lambda r: r["phone"]), ("所在网格", 15, lambda r: r["grid_code"]),
    ("最近检查", 11, lambda r: r["last_inspected"]), ("检查次数", 6, lambda r: r["inspections"]),
    ("消防状态", 14, lambda r: r["fire_status"]),
    ("未整改隐患", 24, lambda r: "；".join(f"{h['id']}（{h['grade'] or ''}，期限{h['due'] or '未定'}）"
                                         for h in r["open_hazards"]))]


def _days(e: dict[str, Any]) -> str:
    n = e["days_left"]
    if n is None:
        return "已办结" if e["finished"] else ""
    return f"剩{n}个工作日" if n >= 0 else f"逾期{-n}个工作日"


EVENT_COLUMNS: list[Column] = [
    ("事件编号", 16, lambda r: r["id"]), ("类型", 8, lambda r: EVENT_KINDS.get(r["kind"], r["kind"])),
    ("来源类别", 9, lambda r: r["source_category"]), ("台账类别", 9, lambda r: r["ledger_category"]),
    ("所在网格", 15, lambda r: r["grid_code"]), ("摘要", 22, lambda r: r["summary"]), ("状态", 8, lambda r: r["status"]),
    ("受理日期", 11, lambda r: r["accepted"]),
    ("办理期限", 11, lambda r: f"{r['due'] or ''}{'（暂定）' if r['provisional'] else ''}"),
    ("办结日期", 11, lambda r: r["finished"]), ("剩余/逾期", 11, _days), ("处理人", 12, lambda r: r["handler"]),
    ("反馈", 7, lambda r: r["feedback"]), ("逾期原因", 22, lambda r: r["reason"])]
SPECIAL_COLUMNS: list[Column] = [
    ("人员编号", 16, lambda r: r["person_id"]), ("姓名", 10, lambda r: r["name"]), ("类别", 14, lambda r: r["category"]),
    ("起始日期", 11, lambda r: r["since"]), ("状态", 8, lambda r: r["status"]),
    ("管控责任人", 10, lambda r: r["supervisor"]), ("所在网格", 15, lambda r: r["grid_code"])]


@dataclass
class LedgerInfo:
    grid_code: str
    grid_name: str
    as_of: dt.date
    sheets: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    person_ids: list[str] = field(default_factory=list)


def write_ledger(content: LedgerContent, target: str | Path | IO[bytes], reader_name: str,
                 rules: TownshipRules) -> LedgerInfo:
    t = content.title
    info = LedgerInfo(grid_code=t.code, grid_name=t.name, as_of=t.as_of, person_ids=list(content.person_ids))
    book = LedgerBook(str(target) if isinstance(target, Path) else target, content, reader_name)

    def sheet(name: str, subject: str, columns: list[Column], rows: list[dict[str, Any]], **kw: Any) -> None:
        info.counts[name] = book.sheet(name, subject, columns, rows, **kw)
        info.sheets.append(name)

    index = index_rows(content, rules.categories)
    sheet("台账目录", "八大项台账目录", INDEX_COLUMNS, index)
    for category in LEDGER_CATEGORIES:
        rows = [r for r in index if r["ledger"] == category]
        if rows:
            sheet(category, category, INDEX_COLUMNS, rows)
    members = [{**m, "household_no": h["household_no"] or h["id"], "h_address": h["address"], "h_grid": h["grid_code"]}
               for h in content.households for m in h["members"]]
    if content.households:
        sheet("户籍", "户籍人口（户主在前）", MEMBER_COLUMNS, members)
    if content.floating:
        sheet("流动及无户人员", "流动人口及无户人员", PERSON_COLUMNS, content.floating)
    sheet("房屋", "房屋", BUILDING_COLUMNS, content.buildings)
    sheet("单位", "单位及消防安全", ORG_COLUMNS, content.organizations,
          alert=lambda r: r["fire_status"].startswith("有重大") or "逾期" in r["fire_status"])
    if content.events:
        sheet("事件", "事件办理（排查报送、处置反馈）", EVENT_COLUMNS, content.events,
              alert=lambda r: r["overdue_open"] and not r["reason"])
    for label, persons in content.care.items():
        sheet(f"关爱-{label}", f"关爱对象：{label}", PERSON_COLUMNS, persons)
    if content.special:
        sheet("特殊人群", "特殊人群（敏感）", SPECIAL_COLUMNS, content.special)
    book.close()
    return info


def export_ledger(session: Session, vault: Vault, grid: str, target: str | Path | IO[bytes], reader: Principal, *,
                  as_of: dt.date | None = None, rules: TownshipRules | None = None) -> LedgerInfo:
    """Read the grid's ledger as ``reader`` may see it and write the workbook to ``target``."""
    rules = rules or TownshipRules()
    content = read_ledger(session, vault, grid, reader, as_of or beijing_today(), rules)
    return write_ledger(content, target, reader.name, rules)
