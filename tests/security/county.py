"""A small synthetic county synced, resolved, served and exported, and what the departments sent.

The clear citizen IDs and phones are collected from the departments' own files (the population
database, the civil-affairs workbooks, the event logs, the public-security data), so a test can look
for each of them in every file the hub wrote.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import openpyxl
from stdnum.cn.ric import calc_check_digit

ID_RE = re.compile(rb"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
PHONE_RE = re.compile(rb"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def is_citizen_id(value: bytes) -> bool:
    """A birth date in the middle and a valid check digit: not a credit code or a long number."""
    text = value.decode().upper()
    try:
        dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    return 1900 <= int(text[6:10]) <= 2100 and calc_check_digit(text[:17]) == text[17]


def values_in(data: bytes) -> set[bytes]:
    ids = {m.group().upper() for m in ID_RE.finditer(data)}
    return {v for v in ids if is_citizen_id(v)} | {m.group() for m in PHONE_RE.finditer(data)}


def department_values(out: Path, hub_dirs: list[Path]) -> set[bytes]:
    """Every citizen ID and mobile phone a department file holds (text, SQLite cells, workbook cells)."""
    found: set[bytes] = set()
    for path in out.rglob("*"):
        if not path.is_file() or any(path.is_relative_to(d) for d in hub_dirs) or path.name == "hub.yaml":
            continue
        if path.suffix.lower() == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            for sheet in book.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    found |= values_in(" ".join(str(v) for v in row if v is not None).encode())
            book.close()
        elif path.suffix == ".db":
            with sqlite3.connect(path) as conn:
                for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
                    for row in conn.execute(f'SELECT * FROM "{table}"'):
                        found |= values_in(" ".join(str(v) for v in row if v is not None).encode())
        else:
            found |= values_in(path.read_bytes())
    return found
