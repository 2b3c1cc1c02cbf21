"""Progress for long reads: a rich bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from hub.stages.extract import Progress

log = logging.getLogger("hub.progress")


@contextmanager
def extract_progress(source: str) -> Iterator[Progress]:
    if sys.stderr.isatty():
        from rich.progress import Progress as Bar
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        with Bar(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} rows"),
                 TimeElapsedColumn(), transient=True) as bar:
            tasks: dict[str, int] = {}

            def advance(stream: str, rows: int) -> None:
                if stream not in tasks:
                    tasks[stream] = bar.add_task(f"{source}.{stream}", total=None)
                bar.advance(tasks[stream], rows)

            yield advance
        return
    totals: dict[str, int] = {}
    last = [time.monotonic()]

    def log_line(stream: str, rows: int) -> None:
        totals[stream] = totals.get(stream, 0) + rows
        if time.monotonic() - last[0] >= 5:
            last[0] = time.monotonic()
            log.info("reading %s.%s: %d rows so far", source, stream, totals[stream])

    yield log_line
