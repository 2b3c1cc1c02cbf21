"""Roster workbooks shaped like the real exports: merged title, header, data, blank rows, 合计 footer.

Written with openpyxl in normal mode so each cell's TYPE is what a clerk's Excel would store:
a date cell, a number cell (an ID typed into one), a text cell.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hub_civil_affairs.connector import CivilAffairsConnector
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from hub.connector import SourceSpec
from hub.privacy import Vault
from hub.synth.identity import ric_check

HEADERS = {
    "低保对象": ["序号", "姓名", "身份证号码", "性别", "与户主关系", "户主姓名", "保障人数", "月保障金额(元)",
             "所属村(社区)", "联系电话", "审批日期", "状态"],
    "特困供养": ["序号", "姓名", "身份证号码", "性别", "供养方式", "所属村(社区)", "联系电话", "审批日期", "状态"],
    "残疾人": ["序号", "姓名", "残疾人证号", "残疾类别", "残疾等级", "所属村(社区)", "联系电话", "发证日期"],
    "高龄老人": ["序号", "姓名", "身份证号码", "出生日期", "年龄", "补贴标准", "所属村(社区)", "是否独居"],
}
BLANK: dict[str, Any] = {}


def cid(n: int, birth: str = "19560312", region: str = "130203") -> str:
    """A valid 18-character citizen ID (real MOD 11-2 check character)."""
    body = f"{region}{birth}{n:03d}"
    return body + ric_check(body)


@dataclass
class Sheet:
    """Rows as dicts by header name; ``BLANK`` is a blank row; ``header`` may be reordered or extended."""

    name: str
    rows: list[dict[str, Any]]
    header: list[str] = field(default_factory=list)
    preamble: list[list[Any]] = field(default_factory=list)  # rows between the title and the header
    after_footer: list[list[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.header = self.header or list(HEADERS[self.name])


def write_roster(folder: Path, month: str, sheets: list[Sheet]) -> Path:
    """``民政对象_<month>.xlsx`` with one worksheet per Sheet, in the shape of legacy-systems.md §2."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.name)
        ws.append([f"唐山镇{int(month[:4])}年{int(month[4:])}月{sheet.name}花名册"])
        ws.merge_cells(f"A1:{get_column_letter(len(sheet.header))}1")
        for extra in sheet.preamble:
            ws.append(extra)
        ws.append(sheet.header)
        n = 0
        for row in sheet.rows:
            if row is BLANK:
                ws.append([])
                continue
            n += 1
            ws.append([n if h == "序号" else row.get(h) for h in sheet.header])
        ws.append(["合计", f"{n}人"])
        for extra in sheet.after_footer:
            ws.append(extra)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"民政对象_{month}.xlsx"
    wb.save(path)
    return path


def dibao(n: int, name: str, head: str, village: str = "东村", amount: int = 1200, status: str = "在保",
          approved: Any = dt.datetime(2025, 10, 10), relation: str = "户主", ident: Any = None) -> dict[str, Any]:
    return {"姓名": name, "身份证号码": cid(n) if ident is None else ident, "性别": "男" if n % 2 else "女",
            "与户主关系": relation, "户主姓名": head, "保障人数": 2, "月保障金额(元)": amount, "所属村(社区)": village,
            "联系电话": f"1380000{n:04d}", "审批日期": approved, "状态": status}


def tekun(n: int, name: str, mode: str = "分散") -> dict[str, Any]:
    return {"姓名": name, "身份证号码": cid(n, "19400101"), "性别": "男", "供养方式": mode, "所属村(社区)": "西村社区",
            "联系电话": None, "审批日期": dt.datetime(2019, 9, 19), "状态": "在保"}


def canjiren(n: int, name: str, cat: str = "4", grade: str = "2", card: str | None = None) -> dict[str, Any]:
    return {"姓名": name, "残疾人证号": card or cid(n, "19700505") + cat + grade, "残疾类别": "肢体",
            "残疾等级": f"{grade}级", "所属村(社区)": "北村", "联系电话": f"1390000{n:04d}",
            "发证日期": dt.datetime(2023, 4, 10)}


def gaoling(n: int, name: str, age: int = 86, alone: str = "否") -> dict[str, Any]:
    birth = dt.datetime(2026 - age, 3, 1)
    return {"姓名": name, "身份证号码": cid(n, birth.strftime("%Y%m%d")), "出生日期": birth, "年龄": age,
            "补贴标准": 200 if age >= 90 else 100, "所属村(社区)": "南", "是否独居": alone}


def month_a() -> list[Sheet]:
    """September: every quirk of §2 at once."""
    return [
        Sheet("低保对象", [
            dibao(1, "朱磊", "朱磊"),
            dibao(2, "侯琴", "朱磊", relation="配偶", ident=f"  {cid(2)} "),
            BLANK,
            dibao(3, "王琴", "王琴", village="东", approved=46086),              # Excel serial
            dibao(4, "李娜", "李娜", approved="2026.3.5", ident=float(cid(4))),   # ID typed into a number cell
            BLANK,
            dibao(5, "赵丽", "赵丽", approved="2026年3月5日", status="停保"),
        ], header=[*HEADERS["低保对象"], "备注"], preamble=[["填报单位：唐山镇民政办"]],
            after_footer=[["制表人：张三", "审核人：李四"]]),
        Sheet("特困供养", [tekun(11, "李建", "集中"), tekun(12, "张阳")]),
        Sheet("残疾人", [canjiren(21, "何峰"), canjiren(22, "朱桂", "7", "3")]),
        Sheet("高龄老人", [gaoling(31, "刘伟"), gaoling(32, "赵鑫", 91, "是")]),
    ]


def month_b() -> list[Sheet]:
    """October: 赵丽 left 低保, 孙强 joined, 朱磊's amount changed; columns reordered; 特困供养 missing."""
    header = ["序号", "身份证号码", "姓名", "状态", "性别", "与户主关系", "户主姓名", "保障人数", "月保障金额(元)",
              "所属村(社区)", "联系电话", "审批日期"]
    return [
        Sheet("低保对象", [
            dibao(1, "朱磊", "朱磊", amount=1500),
            dibao(2, "侯琴", "朱磊", relation="配偶", ident=f"  {cid(2)} "),
            dibao(3, "王琴", "王琴", village="东村", approved=dt.datetime(2026, 3, 5)),  # same date, other form
            dibao(4, "李娜", "李娜", approved="2026.3.5", ident=float(cid(4))),
            dibao(6, "孙强", "孙强"),
        ], header=header),
        Sheet("残疾人", [canjiren(21, "何峰"), canjiren(22, "朱桂", "7", "3")]),
        Sheet("高龄老人", [gaoling(31, "刘伟", 87), gaoling(32, "赵鑫", 91, "是")]),
    ]


def write_config(tmp_path: Path, folder: str = "rosters") -> Path:
    config = tmp_path / "hub.yaml"
    config.write_text(f"sources:\n  civil-affairs: {{connector: civil-affairs, path: {folder}}}\n", "utf-8")
    return config


@pytest.fixture
def rosters(tmp_path: Path) -> Path:
    """A roster folder holding September only, and its hub.yaml."""
    write_roster(tmp_path / "rosters", "202609", month_a())
    write_config(tmp_path)
    return tmp_path / "rosters"


VAULT = Vault("test-secret-key")


def read_stream(folder: Path, sheet: str, state: dict[str, Any] | None = None) -> tuple[list[dict], dict]:
    """Every row one read of a sheet's stream emits, and the state it ends on."""
    spec = SourceSpec("civil-affairs", {"path": str(folder)}, vault=VAULT)
    rows: list[dict] = []
    after = dict(state or {})
    for batch in CivilAffairsConnector().stream(spec, sheet).read(dict(state or {})):
        rows.extend(batch.records.to_pylist())
        after = batch.state
    return rows, after


@pytest.fixture
def kit() -> SimpleNamespace:
    """The builders above, for test modules (``--import-mode=importlib`` cannot import conftest)."""
    return SimpleNamespace(Sheet=Sheet, BLANK=BLANK, HEADERS=HEADERS, cid=cid, write_roster=write_roster,
                           write_config=write_config, dibao=dibao, tekun=tekun, canjiren=canjiren,
                           gaoling=gaoling, month_a=month_a, month_b=month_b, read_stream=read_stream,
                           vault=VAULT)
