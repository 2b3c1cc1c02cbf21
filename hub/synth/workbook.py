"""Writing an .xlsx the way a county clerk's tool does, but reproducibly.

openpyxl stamps the save time into docProps/core.xml and into every zip entry; we
rewrite both so the same seed gives byte-identical workbooks.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from hub.synth.days import DAY0

FIXED_ZIP_TIME = (DAY0.year, DAY0.month, DAY0.day, 8, 0, 0)
FIXED_ISO = f"{DAY0.isoformat()}T08:00:00Z"


class RosterWorkbook:
    """A write-only workbook of sheets: merged title row, header, data rows, 合计 footer."""

    def __init__(self) -> None:
        self.wb = Workbook(write_only=True)

    def sheet(self, name: str, title: str, header: list[str], rows) -> int:
        ws = self.wb.create_sheet(name)
        ws.merged_cells.add(f"A1:{get_column_letter(len(header))}1")
        ws.append([title])
        ws.append(header)
        n = 0
        for row in rows:
            ws.append(row)
            if row:
                n += 1
        ws.append(["合计", f"{n}人"])
        return n

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        self.wb.save(tmp)
        with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename == "docProps/core.xml":
                    text = data.decode("utf-8")
                    for tag in ("created", "modified"):
                        text = re.sub(rf"(<dcterms:{tag}[^>]*>)[^<]*(</dcterms:{tag}>)", rf"\g<1>{FIXED_ISO}\g<2>", text)
                    data = text.encode("utf-8")
                dst.writestr(zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME), data,
                             compress_type=zipfile.ZIP_DEFLATED)
        tmp.unlink()
