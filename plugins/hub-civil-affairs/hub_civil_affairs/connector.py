"""The civil-affairs connector: four roster sheets, four streams, each emitting only what changed.

Rows carry the sheet's columns under the vendor's names (extra clerk columns pass through;
the gate warns), plus:

- ``_month``: the roster month (``YYYYMM``) the row's value comes from (a leave: the month it left);
- ``_op``/``_reason``: ``delete``/``left roster`` on a leave's tombstone;
- ``_unreadable``: set on a row found under the 合计 footer (the gate quarantines it, ``unreadable``);
- on ``残疾人`` only, the parts of the ``残疾人证号`` (18-character citizen ID + category digit +
  grade digit): ``证号.身份证号码`` (the ID as written, so the gate normalises and checks it like
  any other), ``证号.残疾类别码`` (1 视力 … 7 多重) and ``证号.残疾等级码`` (1-4). A number that
  is not 18+2 (or 15+2) characters is passed whole as the ID and the gate judges it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from hub.connector import OP_COLUMN, REASON_COLUMN, UNREADABLE_COLUMN, Batch, Connector, SourceSpec, Stream
from hub.errors import SourceError
from hub_civil_affairs.roster import SHEETS, BelowFooter, RosterSheet, SheetSpec, roster_files
from hub_civil_affairs.snapshot import PendingMonth, Plan, plan

log = logging.getLogger(__name__)

MONTH_COLUMN = "_month"
LEFT_ROSTER = "left roster"
BATCH_ROWS = 20_000
CARD = "残疾人证号"
CARD_PARTS = ("证号.身份证号码", "证号.残疾类别码", "证号.残疾等级码")
_NUMERIC_FORM = re.compile(r"^\d\.\d+E[+-]\d+$", re.IGNORECASE)


def split_card(card: str | None) -> tuple[str | None, str | None, str | None]:
    """``残疾人证号`` -> (citizen ID as written, category digit, grade digit)."""
    if card is None or _NUMERIC_FORM.match(card):
        return card, None, None
    compact = re.sub(r"\s+", "", unicodedata.normalize("NFKC", card))
    if len(compact) not in (17, 20) or not compact[-2:].isdigit():
        return card, None, None
    cut, dropped = len(card), 0
    while dropped < 2:  # drop the last two written digits, whatever spacing the clerk typed
        cut -= 1
        if not card[cut].isspace():
            dropped += 1
    return card[:cut].strip(), compact[-2], compact[-1]


class MonthBatches:
    """One month's emitted rows, kept raw and converted a column at a time when a batch is cut."""

    def __init__(self, sheet: RosterSheet, derived: tuple[str, ...], month: str, state: dict[str, Any]) -> None:
        self.sheet, self.derived, self.month, self.state = sheet, derived, month, state
        self.columns = sheet.output_columns()
        self.names = [n for n, _ in self.columns] + list(derived) + [MONTH_COLUMN, OP_COLUMN, REASON_COLUMN,
                                                                     UNREADABLE_COLUMN]
        self.schema = pa.schema([(n, pa.string()) for n in self.names])
        self.key_name = sheet.spec.key
        self.rows: list[list[Any]] = []
        self.leaves: list[str] = []

    def add(self, row: list[Any]) -> Batch | None:
        self.rows.append(row)
        return self.flush() if len(self.rows) >= BATCH_ROWS else None

    def leave(self, key: str) -> Batch | None:
        self.leaves.append(key)
        return self.flush() if len(self.leaves) >= BATCH_ROWS else None

    def flush(self) -> Batch | None:
        rows, leaves = self.rows, self.leaves
        if not rows and not leaves:
            return None
        self.rows, self.leaves = [], []
        n, k = len(rows), len(leaves)
        data: dict[str, list[str | None]] = {}
        for name, j in self.columns:
            data[name] = self.sheet.column(rows, j) + (list(leaves) if name == self.key_name else [None] * k)
        if self.derived:
            parts = [split_card(card) for card in data[CARD][:n]]
            for i, name in enumerate(self.derived):
                data[name] = [p[i] for p in parts] + [None] * k
        data[MONTH_COLUMN] = [self.month] * (n + k)
        data[OP_COLUMN] = ["upsert"] * n + ["delete"] * k
        data[REASON_COLUMN] = [None] * n + [LEFT_ROSTER] * k
        data[UNREADABLE_COLUMN] = [r.reason() if type(r) is BelowFooter else None for r in rows] + [None] * k
        table = pa.Table.from_arrays([pa.array(data[c], pa.string()) for c in self.names], schema=self.schema)
        return Batch(records=table, state=self.state)


class RosterStream(Stream):
    """One sheet across the monthly workbooks; stream name = sheet name (legacy-systems.md)."""

    cursor_field = "_month"

    def __init__(self, folder: Path, spec: SheetSpec, source: SourceSpec) -> None:
        self.folder, self.spec, self.source = folder, spec, source
        self.name = spec.name
        self.primary_key = (spec.key,)
        self.derived = CARD_PARTS if spec.key == CARD else ()

    def columns(self) -> list[str]:
        return [*self.spec.columns, *self.derived, MONTH_COLUMN]

    def read(self, state: dict[str, Any]) -> Iterator[Batch]:
        todo = plan(roster_files(self.folder), self.spec, state, self.source)
        if todo is None:
            return
        yielded = False
        for i, month in enumerate(todo.months):
            for batch in self._month(todo, i, month):
                yielded = True
                yield batch
        log.info("civil-affairs %s: %d month(s) replayed up to %s, %d key(s) changed", self.name,
                 len(todo.months), todo.state["month"], todo.changed_keys)
        if not yielded:  # nothing changed, but the months still count as loaded
            yield Batch(records=pa.table({}), state=todo.state)

    def _month(self, todo: Plan, i: int, month: PendingMonth) -> Iterator[Batch]:
        upserts, deletes = todo.upserts(i), todo.deletes(i)
        if not month.present or not (upserts or deletes or month.keyless):
            return
        sheet = month.sheet or RosterSheet.open(month.path, self.spec)
        if sheet is None:
            raise SourceError(f"{month.path.name}: sheet {self.spec.name} vanished while being read")
        sheet.unnamed_with_data = month.unnamed_with_data
        out = MonthBatches(sheet, self.derived, month.month, todo.state)
        if upserts or month.keyless:
            for row in month.news if month.news is not None else sheet.data_rows():
                key = sheet.key(row)
                if (key is None or key in upserts) and (batch := out.add(row)) is not None:
                    yield batch
        for key in deletes:
            if (batch := out.leave(key)) is not None:
                yield batch
        if (batch := out.flush()) is not None:
            yield batch
        month.sheet, month.news = None, None  # let calamine free the sheet


class CivilAffairsConnector(Connector):
    name = "civil-affairs"
    description = "民政综合业务系统: monthly Excel rosters (低保对象, 特困供养, 残疾人, 高龄老人)"
    options = {"path": "folder of the monthly roster workbooks"}

    def check(self, source: SourceSpec) -> None:
        folder = source.path("path")
        files = roster_files(folder)
        if not files:
            raise SourceError(f"no 民政对象_YYYYMM.xlsx roster in {folder}")
        month, path = files[-1]
        found = [spec.name for spec in SHEETS if RosterSheet.open(path, spec) is not None]
        if not found:
            raise SourceError(f"{path.name}: none of the sheets {', '.join(s.name for s in SHEETS)} is present")

    def streams(self, source: SourceSpec) -> list[Stream]:
        folder = source.path("path")
        return [RosterStream(folder, spec, source) for spec in SHEETS]
