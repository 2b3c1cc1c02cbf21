"""Reads the dispute-mediation event log into two streams: folded ``cases`` and their ``case-parties``.

State of ``cases``: ``{"cursor": {file, offset, tail, seq, gaps}, "cases": {case_no: folded}}``
(see event_log.Cursor and case_book); state of ``case-parties``: ``{"cursor": {...}}`` only,
since parties come whole from ``case.accepted``. Each stream reads the log from its own cursor.
A run emits each touched case (or party) once, in its state after every new event, so the
gate's within-run duplicate check never fires on a case that moved twice in one day. Every
batch carries the state from before the run but the last (empty) one, which carries the new
state; the hub commits it only after the load.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import Any

import pyarrow as pa

from hub.connector import UNREADABLE_COLUMN, Batch, Connector, SourceSpec, Stream
from hub_dispute_mediation.case_book import (
    CASE_COLUMNS,
    PARTY_COLUMNS,
    case_row,
    fold,
    party_rows,
    same_as_applied,
)
from hub_dispute_mediation.event_log import Broken, Cursor, EventLog, Repeat

log = logging.getLogger(__name__)
BATCH_ROWS = 20_000


def _batches(rows: Iterable[dict[str, Any]], columns: tuple[str, ...], state: dict[str, Any]) -> Iterator[Batch]:
    """Rows are built lazily, BATCH_ROWS at a time, so only one batch of them is ever held."""
    names = (*columns, UNREADABLE_COLUMN)
    it = iter(rows)
    while chunk := list(islice(it, BATCH_ROWS)):  # column by column: Table.from_pylist would import pandas
        arrays = [pa.array([row.get(c) for row in chunk], pa.string()) for c in names]
        yield Batch(records=pa.Table.from_arrays(arrays, names=list(names)), state=state)


class _LogStream(Stream):
    cursor_field = "seq"
    columns_: tuple[str, ...] = ()

    def __init__(self, log_: EventLog) -> None:
        self.log = log_

    def columns(self) -> list[str]:
        return list(self.columns_)

    def _finish(self, rows: Iterable[dict[str, Any]], before: dict[str, Any], after: dict[str, Any],
                stats: dict[str, int]) -> Iterator[Batch]:
        if stats:
            log.info("dispute-mediation %s: %s", self.name, ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
        yield from _batches(rows, self.columns_, before)
        yield Batch(records=pa.table({c: pa.array([], pa.string()) for c in (*self.columns_, UNREADABLE_COLUMN)}),
                    state=after)


class CasesStream(_LogStream):
    name = "cases"
    primary_key = ("case_no",)
    columns_ = CASE_COLUMNS

    def read(self, state: dict[str, Any]) -> Iterator[Batch]:
        cursor = Cursor.from_state(state)
        cases: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (state.get("cases") or {}).items()}
        touched: dict[str, None] = {}
        broken: list[dict[str, Any]] = []
        stats: dict[str, int] = {}
        for item in self.log.read(cursor, stats, repeats=True):
            if isinstance(item, Repeat):
                if not same_as_applied(cases.get(item.event.case_no), item.event):
                    stats["conflicts"] = stats.get("conflicts", 0) + 1
                    broken.append({"case_no": f"seq:{item.event.seq}", "summary": item.text,
                                   UNREADABLE_COLUMN: f"{item.where}: seq {item.event.seq} delivered again with "
                                                      "different content; the first delivery stays applied"})
                continue
            if isinstance(item, Broken):
                # the line's text rides in `summary`: it only ever reaches the (encrypted) quarantine
                broken.append({"case_no": item.key, "summary": item.text, UNREADABLE_COLUMN: item.reason})
                continue
            cases[item.case_no] = fold(cases.get(item.case_no, {}), item)
            touched[item.case_no] = None
        if cursor.as_state() == (state.get("cursor") or Cursor().as_state()) and not touched and not broken:
            return
        rows = chain((case_row(case_no, cases[case_no]) for case_no in touched), broken)
        yield from self._finish(rows, state, {"cursor": cursor.as_state(), "cases": cases}, stats)


class CasePartiesStream(_LogStream):
    name = "case-parties"
    primary_key = ("party_key",)
    columns_ = PARTY_COLUMNS

    def read(self, state: dict[str, Any]) -> Iterator[Batch]:
        cursor = Cursor.from_state(state)
        parties: dict[str, dict[str, Any]] = {}
        stats: dict[str, int] = {}
        for item in self.log.read(cursor, stats):
            if not isinstance(item, Broken) and item.type == "case.accepted":
                for row in party_rows(item):
                    parties[row["party_key"]] = row
        if cursor.as_state() == (state.get("cursor") or Cursor().as_state()) and not parties:
            return
        yield from self._finish(parties.values(), state, {"cursor": cursor.as_state()}, {})


class DisputeMediationConnector(Connector):
    name = "dispute-mediation"
    description = "矛盾纠纷多元化解平台: append-only JSON Lines event log folded into cases and parties"
    options = {"path": "folder of the JSON Lines event log"}

    def check(self, source: SourceSpec) -> None:
        EventLog(source.path("path")).check()

    def streams(self, source: SourceSpec) -> list[Stream]:
        log_ = EventLog(source.path("path"))
        return [CasesStream(log_), CasePartiesStream(log_)]
