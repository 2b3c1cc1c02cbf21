"""Reading one sheet of a monthly roster workbook (legacy-systems.md §2) with python-calamine.

A sheet is: a merged title row, the header row, data rows (blank rows may sit in the middle),
and a footer whose first cell is ``合计``. The header row is searched for, not assumed; columns
are found by name, so a clerk's reordering or extra column does not shift any value. Other
counties' exports write the footer ``合 计``, ``总计`` or ``合计：5人``, put ``小计`` rows between
villages, leave whitespace-only "blank" rows, and add a late person BELOW the footer: such a row
is emitted marked unreadable (the gate quarantines it for a person to look at), never dropped. Cells come
out as the text Excel shows, with one deliberate exception: an ID typed into a numeric cell is
rendered in Excel's 15-significant-digit scientific form (``1.10105194912310E+17``) so that the
quality gate sees it for what it is (digits lost) instead of a plausible, wrong, rounded number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from hub.errors import SourceError
from hub.quality import normalize

log = logging.getLogger(__name__)

ROW_NO = "序号"
#: a first cell starting so ends the data (``合计``, ``合 计``, ``总计``, ``合计：5人``)
FOOTER = re.compile(r"^(合计|总计|共计)")
#: a row whose first cell ends so (``东村小计``) is a village subtotal, not a person
SUBTOTAL = re.compile(r"(小计|合计)$")
BELOW_FOOTER = "below the 合计 footer"
HEADER_SEARCH_ROWS = 12
#: ``.XLSX`` too: Windows tools upper-case extensions
FILE_PATTERN = re.compile(r"^民政对象_(\d{4})(0[1-9]|1[0-2])\.xlsx$", re.IGNORECASE)
FILE_PREFIX = "民政对象"
#: a sheet named for its month or as a 花名册 (``10月低保对象花名册``) is still that programme's sheet
SHEET_AFFIXES = r"^(?:\d{{4}}年)?(?:\d{{1,2}}月份?)?{name}(?:花名册|名册|名单|清册|表)?$"
_warned: set[str] = set()


def warn_once(message: str) -> None:
    """A workbook is opened once per stream: say each thing about it once per process."""
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


@dataclass(frozen=True)
class SheetSpec:
    """One programme's sheet: its columns as the vendor names them and which one is the key."""

    name: str
    columns: tuple[str, ...]
    key: str
    id_columns: tuple[str, ...]
    date_columns: tuple[str, ...] = ()


SHEETS: tuple[SheetSpec, ...] = (
    SheetSpec("低保对象", ("序号", "姓名", "身份证号码", "性别", "与户主关系", "户主姓名", "保障人数",
                       "月保障金额(元)", "所属村(社区)", "联系电话", "审批日期", "状态"), "身份证号码", ("身份证号码",), ("审批日期",)),
    SheetSpec("特困供养", ("序号", "姓名", "身份证号码", "性别", "供养方式", "所属村(社区)", "联系电话", "审批日期",
                       "状态"), "身份证号码", ("身份证号码",), ("审批日期",)),
    SheetSpec("残疾人", ("序号", "姓名", "残疾人证号", "残疾类别", "残疾等级", "所属村(社区)", "联系电话", "发证日期"),
              "残疾人证号", ("残疾人证号",), ("发证日期",)),
    SheetSpec("高龄老人", ("序号", "姓名", "身份证号码", "出生日期", "年龄", "补贴标准", "所属村(社区)", "是否独居"),
              "身份证号码", ("身份证号码",), ("出生日期",)),
)
VILLAGE = "所属村(社区)"

#: header spellings seen from other export tools, folded onto the spec's names
ALIASES = {"身份证号": "身份证号码", "公民身份号码": "身份证号码", "身份证": "身份证号码", "所属村": "所属村(社区)",
           "所属社区": "所属村(社区)", "村(社区)": "所属村(社区)", "月保障金额": "月保障金额(元)", "残疾证号": "残疾人证号"}


def header_name(value: Any) -> str:
    """A header cell folded for matching: NFKC (full-width brackets) and no whitespace."""
    name = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value)))
    return ALIASES.get(name, name)


def roster_files(folder: Path) -> list[tuple[str, Path]]:
    """``(YYYYMM, path)`` of every ``民政对象_YYYYMM.xlsx`` in the folder, oldest first.

    A file that looks meant as a roster but is not named like one (``… - 副本.xlsx``, ``.xls``) is
    warned about, not read; Excel's ``~$`` lock files are skipped quietly. Two files for one month
    (``.xlsx`` and ``.XLSX``) is an error: which one is the roster is not ours to guess.
    """
    if not folder.is_dir():
        raise SourceError(f"civil-affairs roster folder not found: {folder}")
    found: dict[str, Path] = {}
    for path in folder.iterdir():
        m = FILE_PATTERN.match(path.name)
        if not m or not path.is_file():
            if path.name.startswith(FILE_PREFIX):
                warn_once(f"civil-affairs: {path.name} ignored (not a 民政对象_YYYYMM.xlsx roster name)")
            continue
        month = m[1] + m[2]
        if month in found:
            first, second = sorted((found[month].name, path.name))
            raise SourceError(f"civil-affairs roster {month} delivered twice: {first} and {second}; remove one")
        found[month] = path
    return sorted(found.items())


def cell_text(value: Any) -> str | None:
    """The value as Excel shows it; ``None`` for an empty cell."""
    if type(value) is str:
        value = value.strip()
        return value or None
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip() or None


def id_text(value: Any) -> str | None:
    """An ID cell: text as written; a number in Excel's own 15-digit form, never a rounded integer."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(float(value), ".14E")
    return cell_text(value)


EXCEL_EPOCH = dt.date(1899, 12, 30).toordinal()
SUFFIXES = ("村", "社区", "居委会")


def date_key(value: Any) -> Any:
    """A date cell, its serial number and ``2026年3月5日`` are one date: compare day numbers."""
    kind = type(value)
    if kind is dt.datetime or kind is dt.date:
        return value.toordinal()
    if (kind is float or kind is int) and 1 <= value < 2958466:
        return int(value) + EXCEL_EPOCH
    if kind is float or kind is int:  # 20260305 typed as a number: the same day as the text 20260305
        return date_key(cell_text(value))
    if kind is str and value:
        try:
            parsed = normalize.date(value)
        except normalize.Invalid:
            return value
        return parsed.toordinal() if parsed else None
    return value


def village_key(value: Any) -> Any:
    """``东村`` and ``东`` are the same village written two ways, not a move."""
    if type(value) is str:
        value = value.strip()
        for suffix in SUFFIXES:
            if value.endswith(suffix) and len(value) > len(suffix):
                return value[: -len(suffix)]
    return value


@dataclass
class SheetLayout:
    """Where a sheet's header is and what each column index is called."""

    header_row: int
    names: list[str | None]
    index: dict[str, int] = field(default_factory=dict)


class BelowFooter(list[Any]):
    """A row with an ID found under the 合计 footer: delivered, so never dropped, but not trusted."""

    def __init__(self, row: list[Any], line: int) -> None:
        super().__init__(row)
        self.line = line  # 1-based row number in the sheet, for the person who looks at it

    def reason(self) -> str:
        return f"{BELOW_FOOTER} (sheet row {self.line}): a late addition or another list? check the roster"


def _filled(value: Any) -> bool:
    """A cell holding something other than whitespace."""
    return value is not None and (type(value) is not str or value.strip() != "")


def _id_like(value: Any) -> bool:
    """A number, or text with a run of six digits (full-width too): what an ID cell holds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    return type(value) is str and re.search(r"\d{6}", unicodedata.normalize("NFKC", value)) is not None


def _letter(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def find_layout(rows: list[list[Any]], spec: SheetSpec, where: str) -> SheetLayout:
    """The header is the first of the top rows naming at least three of the spec's columns."""
    wanted = set(spec.columns)
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        folded = [header_name(c) if cell_text(c) is not None else None for c in row]
        if len(wanted.intersection(folded)) >= 3:
            names: list[str | None] = []
            index: dict[str, int] = {}
            for j, name in enumerate(folded):
                if name is not None and name in index:  # a copied column keeps its data under a new name
                    name = f"{name}_{_letter(j)}"
                names.append(name)
                if name is not None:
                    index[name] = j
            if spec.key not in index:
                raise SourceError(f"{where}: key column {spec.key!r} missing from the header row (row {i + 1})")
            return SheetLayout(header_row=i, names=names, index=index)
    raise SourceError(f"{where}: no header row naming the {spec.name} columns in the first {HEADER_SEARCH_ROWS} rows")


def sheet_for(sheet_names: list[str], spec: SheetSpec, file_name: str) -> str | None:
    """The workbook's sheet for ``spec``: its name folded, else one named for the month or as a 花名册.

    Sheets that are no programme's are reported (once): a renamed tab must not pass for a missing one.
    """
    folded = {n: header_name(n) for n in sheet_names}
    unknown = [n for n, f in folded.items() if not any(_sheet_pattern(s.name).match(f) for s in SHEETS)]
    if unknown:
        warn_once(f"civil-affairs: {file_name} sheet(s) {', '.join(map(repr, unknown))} match no programme "
                  f"({', '.join(s.name for s in SHEETS)}); not read")
    exact = [n for n, f in folded.items() if f == spec.name]
    if exact:
        return exact[0]
    loose = [n for n, f in folded.items() if _sheet_pattern(spec.name).match(f)]
    if len(loose) > 1:
        raise SourceError(f"civil-affairs roster {file_name}: sheets {', '.join(map(repr, loose))} "
                          f"could each be {spec.name}; rename all but one")
    return loose[0] if loose else None


@cache
def _sheet_pattern(name: str) -> re.Pattern[str]:
    return re.compile(SHEET_AFFIXES.format(name=re.escape(name)))


class RosterSheet:
    """One sheet of one month's workbook, opened once and iterable more than once."""

    def __init__(self, path: Path, spec: SheetSpec, sheet: CalamineSheet) -> None:
        self.path, self.spec, self.sheet = path, spec, sheet
        self.where = f"{path.name} sheet {spec.name}"
        top = []
        for i, row in enumerate(sheet.iter_rows()):
            top.append(row)
            if i + 1 >= HEADER_SEARCH_ROWS:
                break
        self.layout = find_layout(top, spec, self.where)
        names = self.layout.names
        self.key_at = self.layout.index[spec.key]
        self.row_no_at = self.layout.index.get(ROW_NO, -1)
        self.convert = [id_text if n in spec.id_columns else cell_text for n in names]
        # what a change is: the shown values of the spec's columns except 序号 (it shifts every month),
        # compared in name order (a reordered sheet is no change), dates as day numbers, villages
        # without suffix; extra columns only when they hold something (an empty new column is no change)
        plain = sorted((n, j) for j, n in enumerate(names) if n in spec.columns and n != ROW_NO
                       and n not in spec.date_columns and n != VILLAGE)
        self._plain = itemgetter(*(j for _, j in plain)) if plain else (lambda row: ())
        self._dates = sorted((n, j) for j, n in enumerate(names) if n in spec.date_columns)
        self._village = self.layout.index.get(VILLAGE, -1)
        self._extras = [(n, j) for j, n in enumerate(names) if n is not None and n not in spec.columns]
        self.unnamed = [j for j, n in enumerate(names) if n is None]
        #: unnamed columns (no header cell) that hold data somewhere: kept as ``列X``
        self.unnamed_with_data: set[int] = set()

    @classmethod
    def open(cls, path: Path, spec: SheetSpec) -> RosterSheet | None:
        """The sheet, or ``None`` when this month's workbook has no such sheet (or only a blank tab)."""
        try:
            workbook = CalamineWorkbook.from_path(str(path))
            name = sheet_for(workbook.sheet_names, spec, path.name)
            if name is None:
                return None
            sheet = workbook.get_sheet_by_name(name)
        except (CalamineError, OSError, ValueError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else "no detail"
            raise SourceError(f"civil-affairs roster {path.name}: cannot be read ({type(exc).__name__}: {detail})") from None
        if not any(cell_text(v) is not None for row in sheet.iter_rows() for v in row):
            warn_once(f"civil-affairs: {path.name} sheet {name!r} is blank; read as absent this month (nobody left)")
            return None
        return cls(path, spec, sheet)

    def data_rows(self) -> Iterator[list[Any]]:
        """Each non-blank data row after the header (rows padded to the header).

        The footer ends the data, but a row holding an ID under it was still delivered: it comes as
        a ``BelowFooter`` row (the connector flags it unreadable, so the gate quarantines it for a
        person to judge). Blank means nothing but whitespace (or only a 序号: a clerk's pre-numbered
        empty line); a row whose first cell ends in 小计 is a village subtotal.
        """
        header_row, row_no_at, key_at = self.layout.header_row, self.row_no_at, self.key_at
        width = len(self.layout.names)
        below = False
        for i, row in enumerate(self.sheet.iter_rows()):
            if i <= header_row:
                continue
            if len(row) < width:
                row = row + [""] * (width - len(row))
            first = row[0]
            if type(first) is str and "计" in first:
                folded = header_name(first)
                if FOOTER.match(folded):
                    below = True
                    continue
                if SUBTOTAL.search(folded):
                    continue
            key = row[key_at]
            if below:
                if _id_like(key):  # not a signature or a note that happens to reach the ID column
                    yield BelowFooter(row, i + 1)
            elif _filled(key) or any(_filled(v) for j, v in enumerate(row) if j != row_no_at):
                yield row

    def key(self, row: list[Any]) -> str | None:
        return id_text(row[self.key_at])

    def digest(self, row: list[Any]) -> bytes:
        """A short fingerprint of what the row says (see ``__init__`` for what counts as a change)."""
        extras = [(n, row[j]) for n, j in self._extras if row[j] != "" and row[j] is not None]
        for j in self.unnamed:
            if row[j] != "" and row[j] is not None:
                self.unnamed_with_data.add(j)
                extras.append((_letter(j), row[j]))
        for j in range(len(self.layout.names), len(row)):
            if row[j] != "" and row[j] is not None:
                self.unnamed_with_data.add(j)
                extras.append((_letter(j), row[j]))
        village = village_key(row[self._village]) if self._village >= 0 else None
        payload: tuple[Any, ...] = (self._plain(row), [date_key(row[j]) for _, j in self._dates], village, extras)
        if type(row) is BelowFooter:  # moving up above the footer later is news (it can load then)
            payload += (BELOW_FOOTER,)
        return hashlib.blake2b(repr(payload).encode(), digest_size=6).digest()

    def output_columns(self) -> list[tuple[str, int]]:
        """Named columns, then unnamed ones that held data during the scan (as ``列X``): nothing dropped."""
        named = [(n, j) for j, n in enumerate(self.layout.names) if n is not None]
        return named + [(f"列{_letter(j)}", j) for j in sorted(self.unnamed_with_data)]

    def column(self, rows: list[list[Any]], j: int) -> list[str | None]:
        """One column of many rows as shown text (a column at a time: the hot loop stays small)."""
        if j < len(self.convert) and self.convert[j] is id_text:
            return [id_text(row[j]) if j < len(row) else None for row in rows]
        out: list[str | None] = []
        append = out.append
        for row in rows:
            v = row[j] if j < len(row) else None
            kind = type(v)
            if kind is str:
                v = v.strip()
                append(v or None)
            elif kind is float:
                append(str(int(v)) if v.is_integer() else repr(v))
            else:
                append(cell_text(v))
        return out
