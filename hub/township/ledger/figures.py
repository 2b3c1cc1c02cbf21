"""The assessment table as a printable workbook (``hub assess --xlsx``): one row per grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xlsxwriter

from hub.township.assessment import Assessment

COLUMNS: list[tuple[str, str]] = [
    ("code", "网格编码"), ("name", "网格名称"), ("accepted", "受理数"), ("finished", "办结数"),
    ("closure_rate", "办结率"), ("finished_on_time", "按期办结数"), ("on_time_rate", "按期办结率"),
    ("overdue_open", "逾期未办结"), ("county_remit", "县级事项"), ("passed_up_on_time", "按期上报数"), ("passed_up_on_time_rate", "按期上报率"),
    ("closed_with_feedback", "有反馈办结"), ("satisfaction", "满意率"), ("hazards_found", "发现隐患"),
    ("hazards_rectified_on_time", "隐患按期整改数"), ("hazards_rectified_on_time_rate", "隐患按期整改率"), ("key_units", "重点单位"), ("inspection_coverage", "重点单位检查覆盖率"),
    ("provisional_due", "暂定期限数")]
RATES = {"closure_rate", "on_time_rate", "passed_up_on_time_rate", "satisfaction", "hazards_rectified_on_time_rate",
         "inspection_coverage"}


def write_assessment(result: Assessment, path: Path) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    ws = book.add_worksheet(result.period)
    font = {"font_name": "WenQuanYi Micro Hei", "font_size": 9, "border": 1}
    title = book.add_format({"font_name": "WenQuanYi Micro Hei", "font_size": 14, "bold": True, "align": "center"})
    head = book.add_format({**font, "bold": True, "bg_color": "#D9E1F2", "text_wrap": True})
    text, pct, num = book.add_format(font), book.add_format({**font, "num_format": "0.0%"}), book.add_format(font)
    ws.merge_range(0, 0, 0, len(COLUMNS) - 1, f"督查考核 {result.period}（{result.start}至{result.end}，截至"
                                              f"{result.as_of}）", title)
    for i, (_, label) in enumerate(COLUMNS):
        ws.write_string(1, i, label, head)
        ws.set_column(i, i, 16 if i == 1 else 10)
    for r, g in enumerate(result.grids, start=2):
        row: dict[str, Any] = g.to_dict()
        for i, (key, _) in enumerate(COLUMNS):
            value = row[key]
            if value is None:
                ws.write_string(r, i, "-", text)
            elif isinstance(value, str):
                ws.write_string(r, i, value, text)
            else:
                ws.write_number(r, i, value, pct if key in RATES else num)
    ws.freeze_panes(2, 2)
    ws.repeat_rows(1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    book.close()
