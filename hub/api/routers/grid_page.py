"""A grid's plain page (``/persons?grid=…`` with no other filter) on SQLite: the statements of
``person_pages`` compiled once for the engine and run on the driver's own connection.

The page is a downstream app's walk through a village: three short indexed statements and 50 rows.
Through SQLAlchemy each execution cost its cache-key, execution-context and result bookkeeping, and
each row a Row object: together more CPU than SQLite took to answer. Here a request binds its values
into the SQL compiled at start and decodes the rows with the same type processors SQLAlchemy would
apply (``birth_date``), so a page is byte for byte what the general path answers
(tests/api/test_grid_page_reader.py walks both).

Of those registered in the grid who live elsewhere (户在人不在), only the ones that fall inside the page
are read: their sort keys are known from the range's kept list, so the merge with the residents is
decided before any of them is fetched (most pages of a village need none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Engine

from hub.api.masking import Masker
from hub.api.routers.person_pages import (
    AWAY,
    LIST_COLUMNS,
    PAGE_TAGS,
    RESIDENTS,
    TABLE_VERSION,
    cursor_kind,
    resident_steps,
)
from hub.api.routers.person_presence import SortKey, away_rows, keys_after
from hub.api.subtree import CodeRange

#: a row of LIST_COLUMNS, by position
ID, GRID = 0, 6


class _Statement:
    """One statement compiled for a dialect with positional parameters; an expanding ``IN`` list is
    spliced in as as many ``?`` as it has values (the SQL text is kept per list length)."""

    def __init__(self, stmt: Any, dialect: Any) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql: str = compiled.string
        self.order: list[str] = list(compiled.positiontup or [])
        # literal values bound with the statement (OFFSET 0, ...); the request's own are bound per call
        self.fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        self.expanding = next((n for n in self.order if f"__[POSTCOMPILE_{n}]" in self.sql), None)
        self._texts: dict[int, str] = {}

    def bind(self, values: dict[str, Any]) -> tuple[str, list[Any]]:
        params: list[Any] = []
        sql = self.sql
        for name in self.order:
            value = values[name] if name in values else self.fixed[name]
            if name == self.expanding:
                params += value
                text = self._texts.get(len(value))
                if text is None:
                    text = self._texts[len(value)] = sql.replace(f"__[POSTCOMPILE_{name}]", ",".join("?" * len(value)))
                sql = text
            else:
                params.append(value)
        return sql, params


class GridPageReader:
    """The plain grid page's statements for one SQLite engine (kept in the API's state)."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        self.residents = {k: _Statement(s, dialect) for k, s in RESIDENTS.items()}
        self.away = {k: _Statement(s, dialect) for k, s in AWAY.items()}
        self.tags = {k: _Statement(s, dialect) for k, s in PAGE_TAGS.items()}
        self.version = _Statement(TABLE_VERSION, dialect)
        self._decode = [(i, p) for i, c in enumerate(LIST_COLUMNS)
                        if (p := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None]
        self._version = [c.type.dialect_impl(dialect).result_processor(dialect, None) or (lambda value: value)
                         for c in TABLE_VERSION.selected_columns]

    @staticmethod
    def _execute(connection: Connection, stmt: _Statement, values: dict[str, Any]) -> Any:
        sql, params = stmt.bind(values)
        listeners = connection.dispatch.before_cursor_execute
        if listeners:  # someone watches what runs (tests explain each statement): told as SQLAlchemy tells them
            for listen in listeners:
                listen(connection, None, sql, params, None, False)
        return connection.connection.driver_connection.execute(sql, params)  # type: ignore[union-attr]

    def _rows(self, connection: Connection, stmt: _Statement, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        rows = self._execute(connection, stmt, values).fetchall()
        if not rows:
            return rows
        decode = self._decode
        out = []
        for row in rows:
            values_ = list(row)
            for i, process in decode:
                values_[i] = process(values_[i])
            out.append(tuple(values_))
        return out

    def table_version(self, connection: Connection) -> Any:
        """``TABLE_VERSION``'s row, decoded as SQLAlchemy decodes it (the kept lists compare it)."""
        row = self._execute(connection, self.version, {}).fetchone()
        return tuple(process(value) for process, value in zip(self._version, row, strict=True))

    def page(self, connection: Connection, rng: CodeRange, after: list[Any] | None, limit: int,
             away_keys: Callable[[], list[SortKey]]) -> list[tuple[Any, ...]]:
        """The page's rows (``limit + 1`` at most, the extra one says there is more), in order."""
        cur = {"g": after[0], "i": after[1]} if after else {}
        want = limit + 1
        residents: list[tuple[Any, ...]] = []
        for step, values in resident_steps(rng, after):
            residents += self._rows(connection, self.residents[step], {**values, "n": want - len(residents)})
            if len(residents) >= want:
                break
        keys = keys_after(away_keys(), after)
        # which of them are among the first ``want`` of the merge (both lists are in the page's order)
        needed: list[str] = []
        i = j = 0
        while i + j < want and j < len(keys):
            if i < len(residents) and (True, residents[i][GRID], residents[i][ID]) < keys[j]:
                i += 1
            else:
                needed.append(keys[j][2])
                j += 1
        away: list[tuple[Any, ...]] = []
        kind = cursor_kind(after)
        if needed:
            away = self._rows(connection, self.away[kind], {"ids": needed, "n": len(needed), **cur})
            if len(away) < len(needed):  # gone since the list was kept: read on as the general path does
                away = away_rows(keys, lambda batch, n: self._rows(
                    connection, self.away[kind], {"ids": batch, "n": n, **cur}), want)
        rows = residents + away
        if away:
            rows.sort(key=lambda r: (r[GRID] is not None, r[GRID] or "", r[ID]))
        return rows[:want]

    def tags_of(self, connection: Connection, ids: list[str], sensitive: bool) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if ids:
            for pid, tag in self._execute(connection, self.tags[sensitive], {"ids": ids}):
                out.setdefault(pid, []).append(tag)
        return out


def shape(rows: Iterable[tuple[Any, ...]], masker: Masker, tags: dict[str, list[str]], day: dt.date,
          rng: CodeRange) -> list[dict[str, Any]]:
    """``persons.person_out`` for this reader's rows: the same keys, values and order."""
    citizen_id, phone = masker.citizen_id, masker.phone
    lo, hi = rng.lo, rng.hi
    year, today = day.year, (day.month, day.day)
    out = []
    for pid, name, gender, birth, cid, tel, grid, household, status, floating, registered in rows:
        out.append({
            "id": pid, "name": name, "gender": gender, "birth_date": birth,
            "age": None if birth is None else year - birth.year - (today < (birth.month, birth.day)),
            "citizen_id": citizen_id(cid), "phone": phone(tel), "grid_code": grid, "registered_grid_code": registered,
            "presence": "resident" if grid is not None and grid >= lo and (hi is None or grid < hi) else "away",
            "household_id": household, "status": status, "floating": bool(floating), "tags": tags.get(pid, [])})
    return out
