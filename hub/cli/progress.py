"""Progress for a sync: every stage (extract, validate, load, resolve), not only the long read.

On a terminal (stderr) a rich line per source shows its stage, the rows read so far and the time;
otherwise each stage start is one log line (timestamps come from the log format), and a long read
reports its rows every few seconds.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # hub.stages pulls the whole pipeline (pyarrow, pandas): only the sync command needs it
    from hub.stages.extract import Progress

log = logging.getLogger("hub.progress")

QUIET_S = 5.0  # without a terminal: at most a progress line this often
STAGE_WORDS = {"extract": "reading", "validate": "validating", "load": "loading"}


class SyncProgress:
    """Hooks for ``hub.stages.sync.sync_sources``: ``extract_for``, ``stage``, ``resolve_step``."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}
        self.rows: dict[str, int] = {}
        self.logged = time.monotonic()

    @contextmanager
    def running(self) -> Iterator[SyncProgress]:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress as Bar
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            with Bar(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                     console=Console(stderr=True), transient=True) as bar:
                self.bar = bar
                yield self
            self.bar = None
            return
        yield self

    def _show(self, key: str, text: str) -> None:
        if self.bar is None:  # a log: a line when a stage starts after a few quiet seconds, not for every blip
            if time.monotonic() - self.logged >= QUIET_S:
                log.info("%s", text)
                self.logged = time.monotonic()
            return
        if key not in self.tasks:
            self.tasks[key] = self.bar.add_task(text, total=None)
        else:
            self.bar.update(self.tasks[key], description=text)
        self.bar.refresh()  # drawn now: a stage shorter than the refresh interval is still seen once

    def stage(self, source: str, stage: str) -> None:
        rows = self.rows.get(source)
        done = f" ({rows:,} rows read)" if rows and stage != "extract" else ""
        self._show(source, f"{source}: {STAGE_WORDS.get(stage, stage)}{done}")

    def resolve_step(self, step: str, phase: str) -> None:
        if phase == "start":
            self._show("resolve", f"resolve: {step}")
        elif self.bar is not None and step == "tags":
            self.bar.update(self.tasks["resolve"], visible=False)

    @contextmanager
    def extract_for(self, source: str) -> Iterator[Progress]:
        self.rows[source] = 0
        last = [time.monotonic()]

        def advance(stream: str, rows: int) -> None:
            self.rows[source] += rows
            if self.bar is not None:
                self.bar.update(self.tasks[source], description=f"{source}: reading {stream} "
                                f"({self.rows[source]:,} rows)")
            elif time.monotonic() - last[0] >= QUIET_S:
                last[0] = time.monotonic()
                log.info("%s: reading %s, %d rows so far", source, stream, self.rows[source])

        yield advance
        if self.bar is not None and source in self.tasks:
            self.bar.update(self.tasks[source], visible=False)
