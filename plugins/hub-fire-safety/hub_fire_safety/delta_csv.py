"""One vendor CSV file of a delta folder, read as raw Arrow batches.

The export tool writes GB18030 (a GBK superset: a rare-character name may only encode in
GB18030); a newer tool slips in UTF-8 with a BOM. The encoding is decided per file from its
first line. Records follow the csv module (quoted fields may hold commas and newlines). A
record that cannot be parsed — wrong field count, stray quote, bytes that are not valid in the
file's encoding — becomes a row with ``_unreadable`` set (quarantined, never dropped); a file
whose header cannot be decoded at all fails the run with one line naming the file.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Container, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hub.connector import UNREADABLE_COLUMN
from hub.errors import SourceError

BOM = codecs.BOM_UTF8
BATCH_ROWS = 20_000
_CHUNK = 1 << 20
_NULL = pa.nulls(1, pa.string())[0]  # the null string scalar; pa.scalar(None, ...) would import pandas at load
_SURROGATE = re.compile("[\udc80-\udcff]")
_UNDECODED_MARK = "\ufffd"


def detect_encoding(path: Path, label: str) -> str:
    """``utf-8-sig`` for a BOM, else GB18030; a header valid as neither fails the run.

    A header that is valid UTF-8 *and* holds non-ASCII text is UTF-8 without a BOM (GBK-encoded
    Chinese is practically never valid UTF-8); the vendor spec does not promise this case, but
    reading it as GB18030 would silently produce mojibake.
    """
    try:
        with path.open("rb") as f:
            head = f.readline(_CHUNK)
    except OSError as exc:
        raise SourceError(f"fire-safety {label}: cannot be read ({exc.strerror})") from None
    if head.startswith(BOM):
        return "utf-8-sig"
    try:
        if not head.isascii():
            head.decode("utf-8")
            return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("gb18030")
    except UnicodeDecodeError:
        raise SourceError(f"fire-safety {label}: header is neither GB18030 nor UTF-8 text; "
                          "the file cannot be read") from None
    return "gb18030"


def decodes_cleanly(path: Path, encoding: str) -> bool:
    """Whether every byte of the file is valid in ``encoding`` (a fast C pass before parsing)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


class _Lines:
    """Physical lines fed to the csv reader, remembering the ones of the current record."""

    def __init__(self, f) -> None:  # type: ignore[no-untyped-def]
        self._f = f
        self.record: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._f)
        self.record.append(line)
        return line


def _unique_header(header: list[str]) -> list[str]:
    """Blank or repeated header cells get a positional name so every column survives.

    Blank cells at the end (a trailing comma, Excel's empty trailing columns) are no columns: rows
    then carry the same empty cells, which ``_trim`` drops. A stray BOM is not part of a name.
    """
    header = [cell.replace("\ufeff", "").strip() for cell in header]
    while header and not header[-1]:
        header.pop()
    out: list[str] = []
    for i, cell in enumerate(header):
        name = cell or f"column_{i + 1}"
        while name in out:
            name = f"{name}_{i + 1}"
        out.append(name)
    return out


class DeltaFile:
    """One CSV file of a day folder (``label`` like ``20261101/单位.csv`` names it in errors)."""

    def __init__(self, path: Path, label: str) -> None:
        self.path = path
        self.label = label

    def batches(self, key: str, skip: Container[str] = frozenset(),
                rows_per_batch: int = BATCH_ROWS) -> Iterator[pa.Table]:
        """Raw rows as string columns named by the header; rows whose key is in ``skip`` are left out."""
        encoding = detect_encoding(self.path, self.label)
        clean = decodes_cleanly(self.path, encoding)
        with self.path.open("r", encoding=encoding, errors="strict" if clean else "surrogateescape",
                            newline="") as f:
            lines = _Lines(f)
            reader = csv.reader(lines, strict=True)
            try:
                header: list[str] = []
                while not header:  # blank lines above the header are no header
                    header = _unique_header(next(reader))
            except StopIteration:
                return  # zero bytes, or a header only: nothing that day
            except csv.Error as exc:
                raise SourceError(f"fire-safety {self.label}: header line cannot be parsed ({exc})") from None
            width = len(header)
            at = header.index(key) if key in header else None
            rows: list[list[str]] = []
            broken: dict[int, str] = {}
            while True:
                lines.record = []
                first = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    broken[len(rows)] = f"{self.label} line {first}: {exc}"
                    rows.append(self._salvage(lines.record, width))
                else:
                    if not any(v.strip() for v in row):
                        continue  # a blank line (or Excel's `,,,,` row) holds no record
                    row = _trim(row, width)
                    problem = None
                    if len(row) != width:
                        problem = f"{len(row)} fields, header has {width}"
                    elif not clean and any(_SURROGATE.search(v) for v in row):
                        problem = f"bytes not valid {encoding}"
                    if problem:
                        broken[len(rows)] = f"{self.label} line {first}: {problem}"
                        rows.append(self._fit(row, width))
                    elif at is not None and skip and row[at].strip() in skip:
                        continue  # a newer folder of this run carries the key: its row wins
                    else:
                        rows.append(row)
                if len(rows) >= rows_per_batch:
                    yield _table(header, rows, broken)
                    rows, broken = [], {}
            if rows:
                yield _table(header, rows, broken)

    @staticmethod
    def _fit(row: list[str], width: int) -> list[str]:
        row = [_SURROGATE.sub(_UNDECODED_MARK, v) for v in row]
        if len(row) > width:
            return row[: width - 1] + [",".join(row[width - 1 :])]
        return row + [""] * (width - len(row))

    @staticmethod
    def _salvage(record: list[str], width: int) -> list[str]:
        """A record the csv module rejected: its raw text in the first column, for the steward."""
        text = _SURROGATE.sub(_UNDECODED_MARK, "".join(record)).rstrip("\r\n")
        parts = text.split(",", width - 1)
        return parts + [""] * (width - len(parts))


def _trim(row: list[str], width: int) -> list[str]:
    """Surplus cells that are all blank (trailing commas) are dropped; any content keeps the row long."""
    if len(row) > width and not any(v.strip() for v in row[width:]):
        return row[:width]
    return row


def _table(header: list[str], rows: list[list[str]], broken: dict[int, str]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    arrays = []
    for values in columns:
        arr = pa.array(values, pa.string())
        arrays.append(pc.if_else(pc.equal(arr, ""), _NULL, arr))
    unreadable = [None] * len(rows)
    for i, reason in broken.items():
        unreadable[i] = reason
    arrays.append(pa.array(unreadable, pa.string()))
    return pa.Table.from_arrays(arrays, names=[*header, UNREADABLE_COLUMN])
