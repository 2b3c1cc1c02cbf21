"""Reads the fire-safety system's drop folder: one ``YYYYMMDD/`` sub-folder of CSV deltas a day.

Stream state is the folders already loaded, each with a digest of its files:
``{"folders": {"20261101": "<32 hex>", ...}}``. A folder whose digest changed (re-delivered
with corrections) is read again, whole. Pending folders are read newest first so that a key in
several folders is emitted once, from the newest one — a key is also left out when an already
loaded newer folder still carries it (a correction of an old day does not undo a later change).
Every batch carries the state from before the run but the last, empty one, which carries the new
state: the hub commits it only after the load, so a crash re-reads, never skips.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from hub.connector import UNREADABLE_COLUMN, Batch, Connector, SourceSpec, Stream
from hub.errors import SourceError
from hub_fire_safety.delta_csv import DeltaFile

DAY_FOLDER = re.compile(r"^\d{8}$")
log = logging.getLogger(__name__)

UNIT_COLUMNS = ("单位编号", "单位名称", "统一社会信用代码", "单位地址", "法定代表人", "消防安全责任人", "责任人身份证号",
                "联系电话", "单位类别", "所属网格", "经度", "纬度", "更新时间")
INSPECTION_COLUMNS = ("检查编号", "单位编号", "检查日期", "检查人员", "检查类型", "发现隐患数", "检查结论")
HAZARD_COLUMNS = ("隐患编号", "检查编号", "隐患描述", "隐患等级", "整改期限", "整改状态", "整改完成日期")

#: stream -> (file in each day folder, key column, the vendor's columns)
STREAMS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "units": ("单位.csv", "单位编号", UNIT_COLUMNS),
    "inspections": ("检查记录.csv", "检查编号", INSPECTION_COLUMNS),
    "hazards": ("隐患.csv", "隐患编号", HAZARD_COLUMNS),
}


class DropFolder:
    """The vendor's drop folder: day folders in name (= date) order, each with a content digest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._digests: dict[str, tuple[tuple[Any, ...], str]] = {}

    def check(self) -> None:
        if not self.root.is_dir():
            raise SourceError(f"fire-safety drop folder not found: {self.root}")
        try:
            os.listdir(self.root)
        except OSError as exc:
            raise SourceError(f"fire-safety drop folder {self.root} cannot be listed: {exc.strerror}") from None

    def days(self) -> list[str]:
        """Day folders; any other sub-folder holding a vendor file is named in a warning, never read.

        Stray files (``.DS_Store``, ``readme.txt``) and folders without vendor files are skipped quietly.
        """
        self.check()
        days = []
        for p in self.root.iterdir():
            if not p.is_dir():
                continue
            if DAY_FOLDER.match(p.name):
                days.append(p.name)
            elif self._holds_vendor_files(p):
                log.warning("fire-safety: folder %r in %s is not named YYYYMMDD; its files are not read",
                            p.name, self.root)
        return sorted(days)

    def digest(self, day: str) -> str:
        """SHA-256 over the folder's file names and bytes (cached while sizes and mtimes hold)."""
        try:
            return self._digest(day)
        except OSError as exc:
            where = Path(exc.filename).name if exc.filename else day
            raise SourceError(f"fire-safety drop folder {day}/: {where} cannot be read ({exc.strerror})") from None

    def _digest(self, day: str) -> str:
        files = sorted(p for p in (self.root / day).iterdir() if p.is_file())
        stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
        cached = self._digests.get(day)
        if cached and cached[0] == stamp:
            return cached[1]
        h = hashlib.sha256()
        for path in files:
            h.update(path.name.encode("utf-8", "surrogateescape") + b"\0" + str(path.stat().st_size).encode() + b"\0")
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        value = h.hexdigest()[:32]
        self._digests[day] = (stamp, value)
        return value

    @classmethod
    def _holds_vendor_files(cls, folder: Path) -> bool:
        try:
            return any(cls._find(folder, name) for name, _, _ in STREAMS.values())
        except OSError:
            return True  # unreadable: worth the warning too

    @staticmethod
    def _find(folder: Path, name: str) -> Path | None:
        """The file by its spec name; another tool's case (``单位.CSV``) is the same file."""
        path = folder / name
        if path.is_file():
            return path
        wanted = name.casefold()
        return next((p for p in sorted(folder.iterdir()) if p.name.casefold() == wanted and p.is_file()), None)

    def file(self, day: str, name: str) -> DeltaFile | None:
        path = self._find(self.root / day, name)
        return DeltaFile(path, f"{day}/{path.name}") if path else None


class DeltaStream(Stream):
    """One of the three CSV files, across all day folders."""

    cursor_field = "folder"

    def __init__(self, name: str, drop: DropFolder) -> None:
        self.name = name
        self.file_name, self.key, self._columns = STREAMS[name]
        self.primary_key = (self.key,)
        self.drop = drop

    def columns(self) -> list[str]:
        return list(self._columns)

    def _empty(self) -> pa.Table:
        return pa.table({c: pa.array([], pa.string()) for c in (*self._columns, UNREADABLE_COLUMN)})

    def read(self, state: dict[str, Any]) -> Iterator[Batch]:
        loaded: dict[str, str] = dict(state.get("folders") or {})
        days = self.drop.days()
        digests = {day: self.drop.digest(day) for day in days}
        pending = [day for day in days if loaded.get(day) != digests[day]]
        if not pending:
            return
        before = {"folders": loaded}
        after = {"folders": {**loaded, **{day: digests[day] for day in pending}}}
        newer_keys: set[str] = set()
        span = [day for day in days if day >= pending[0]]
        for day in reversed(span):
            delta = self.drop.file(day, self.file_name)
            if delta is None:
                continue
            oldest = day == span[0]
            for table in delta.batches(self.key, skip=newer_keys):
                if not oldest and self.key in table.column_names:  # the oldest shadows nothing
                    newer_keys.update(k.strip() for k in table.column(self.key).to_pylist() if k)
                if day in pending:
                    yield Batch(records=table, state=before)
        yield Batch(records=self._empty(), state=after)


class FireSafetyConnector(Connector):
    name = "fire-safety"
    description = "消防监督管理系统: daily GB18030 CSV delta folders (units, inspections, hazards)"
    options = {"path": "drop folder of the daily CSV deltas"}

    def check(self, source: SourceSpec) -> None:
        DropFolder(source.path("path")).check()

    def streams(self, source: SourceSpec) -> list[Stream]:
        drop = DropFolder(source.path("path"))
        return [DeltaStream(name, drop) for name in STREAMS]
