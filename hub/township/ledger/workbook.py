"""The ledger as a printable workbook (XlsxWriter), in Chinese, as a grid office prints it.

Every sheet opens with the title block (merged rows: grid, level, parent, grid worker, phone, the
date it is current to), then a frozen header row that repeats on every printed page; A4 landscape,
fit to the page width. Text is always written as text: a cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is stored as a string with Excel's quote prefix, so neither
the workbook nor a CSV saved from it runs it as a formula.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from hub.events.clock import beijing_now
from hub.township.categories import LEDGER_CATEGORIES
from hub.township.ledger.content import EVENT_KINDS, LEVELS, LedgerContent

FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")
HEADER_ROW = 4  # rows 0-3 are the title block
Column = tuple[str, float, Callable[[dict[str, Any]], Any]]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class LedgerBook:
    def __init__(self, target: str | IO[bytes], content: LedgerContent, reader_name: str) -> None:
        self.content, self.reader_name = content, reader_name
        self.book = xlsxwriter.Workbook(target, {"in_memory": True, "strings_to_formulas": False,
                                                 "strings_to_urls": False, "strings_to_numbers": False})
        font = {"font_name": "WenQuanYi Micro Hei", "font_size": 9, "valign": "vcenter"}
        self.f_title = self.book.add_format({**font, "font_size": 16, "bold": True, "align": "center"})
        self.f_meta = self.book.add_format({**font, "font_size": 10})
        self.f_head = self.book.add_format({**font, "bold": True, "bg_color": "#D9E1F2", "border": 1,
                                            "text_wrap": True, "align": "center"})
        self.f_cell = self.book.add_format({**font, "border": 1, "text_wrap": True})
        self.f_quoted = self.book.add_format({**font, "border": 1, "text_wrap": True, "quote_prefix": True})
        self.f_num = self.book.add_format({**font, "border": 1, "align": "right"})
        self.f_alert = self.book.add_format({**font, "border": 1, "text_wrap": True, "font_color": "#C00000"})
        self.generated = beijing_now().replace(microsecond=0).isoformat()

    def cell(self, ws: Worksheet, row: int, col: int, value: Any, alert: bool = False) -> None:
        if value.__class__ is not str:  # the common case first: most cells are text
            if isinstance(value, int | float) and not isinstance(value, bool):
                ws.write_number(row, col, value, self.f_num)
                return
            value = _text(value)
        fmt = self.f_quoted if value.startswith(FORMULA_LEAD) else self.f_alert if alert else self.f_cell
        ws.write_string(row, col, value, fmt)

    def sheet(self, name: str, subject: str, columns: Sequence[Column], rows: Iterable[dict[str, Any]],
              alert: Callable[[dict[str, Any]], bool] | None = None) -> int:
        t = self.content.title
        ws = self.book.add_worksheet(name[:31])
        last = len(columns) - 1
        parent = f"{t.parent_name or ''}（{t.parent_code}）" if t.parent_code else "无"
        ws.merge_range(0, 0, 0, last, f"{t.name}网格台账 · {subject}", self.f_title)
        ws.merge_range(1, 0, 1, last, f"网格名称：{t.name}　网格编码：{t.code}　层级：{LEVELS.get(t.level, t.level)}"
                                      f"　上级网格：{parent}", self.f_meta)
        ws.merge_range(2, 0, 2, last, f"网格员：{t.manager or '未登记'}　联系电话：{t.manager_phone or '未登记'}"
                                      f"　台账截至：{t.as_of.isoformat()}", self.f_meta)
        ws.merge_range(3, 0, 3, last, f"打印人：{self.reader_name}　生成时间：{self.generated}", self.f_meta)
        ws.set_row(0, 24)
        for i, (head, width, _) in enumerate(columns):
            ws.set_column(i, i, width)
            ws.write_string(HEADER_ROW, i, head, self.f_head)
        n = 0
        for n, row in enumerate(rows, start=1):
            hot = bool(alert and alert(row))
            for i, (_, _, get) in enumerate(columns):
                self.cell(ws, HEADER_ROW + n, i, get(row), hot)
        ws.freeze_panes(HEADER_ROW + 1, 0)
        ws.repeat_rows(HEADER_ROW)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)  # one page wide, as many tall as it takes
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        ws.set_footer(f"&C{t.name}（{t.code}）　{subject}　第 &P 页 共 &N 页")
        return n

    def close(self) -> None:
        self.book.close()


INDEX_COLUMNS: list[Column] = [
    ("台账类别", 10, lambda r: r["ledger"]), ("来源类别", 14, lambda r: r["source"]),
    ("类型", 10, lambda r: r["kind"]), ("编号", 20, lambda r: r["ref"]), ("名称/摘要", 30, lambda r: r["name"]),
    ("地址/地点", 30, lambda r: r["where"]), ("所在网格", 16, lambda r: r["grid"]), ("状态/说明", 18, lambda r: r["state"])]


def index_rows(c: LedgerContent, categories: Any) -> list[dict[str, Any]]:
    """One line per record of the ledger, in the order of the eight categories."""
    rows: list[dict[str, Any]] = []

    def add(kind: str, source: str | None, label: str, ref: Any, name: Any, where: Any, grid: Any, state: Any) -> None:
        rows.append({"ledger": categories.of(kind, source) or "（未归类）", "source": source or "", "kind": label,
                     "ref": ref, "name": name, "where": where, "grid": grid, "state": state})

    for h in c.households:
        head = h["members"][0]["name"] if h["members"] else ""
        add("household", "户籍户", "户", h["household_no"] or h["id"], f"{head}户（{len(h['members'])}人）",
            h["address"], h["grid_code"], "在册" if h["active"] else "注销")
    for p in c.floating:
        add("floating" if p["floating"] else "person", "流动人口" if p["floating"] else "无户人员", "人员", p["id"],
            p["name"], p["address"], p["grid_code"], p["status"])
    for label, persons in c.care.items():
        for p in persons:
            add("care", label, "关爱对象", p["id"], p["name"], p["address"], p["grid_code"], p["status"])
    for s in c.special:
        add("special_population", s["category"], "特殊人群", s["person_id"], s["name"], "", s["grid_code"], s["status"])
    for b in c.buildings:
        add("building", "房屋", "房屋", b["id"], b["address"], b["address"], b["grid_code"], f"{b['households']}户")
    for o in c.organizations:
        add("organization", "单位", "单位", o["credit_code"] or o["id"], o["name"], o["address"], o["grid_code"],
            "重点单位" if o["key_unit"] else "")
        if o["category"]:
            add("fire_unit", o["category"], "消防单位", o["id"], o["name"], o["address"], o["grid_code"], o["fire_status"])
    for e in c.events:
        rows.append({"ledger": e["ledger_category"] or "（未归类）", "source": e["source_category"] or "",
                     "kind": EVENT_KINDS.get(e["kind"], e["kind"]), "ref": e["id"], "name": e["summary"],
                     "where": e["location"], "grid": e["grid_code"], "state": e["status"]})
    order = {name: i for i, name in enumerate(LEDGER_CATEGORIES)}
    rows.sort(key=lambda r: order.get(r["ledger"], len(order)))  # stable: each category keeps its own order
    return rows
