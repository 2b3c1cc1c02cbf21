"""Validate beside load: on a large run the gate works on part N+1 in a second process while
load writes part N in this one.

Both halves are the ordinary stages and still hand data over through the landing zone only:
validate writes ``valid-N``, then (here) ``stored-N`` with each valid row's content hash and stored
data (the blind indexes and encryption load would otherwise do), then ``quarantine-N``; load waits
for each part to be complete (``PartWait``) and for ``validate.json`` before it balances the ledger. The gate's work
(normalising, Great Expectations, Data Docs) is Python- and pandas-bound and holds the GIL, so a
thread would not give it a core: it gets a forked process. Load keeps its one transaction, so a
failure on either side leaves the store and the stream state as they were.

Small runs (a day's changes) stay sequential: a process costs more than it saves there.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from hub.connector.landing import RunFolder, part_path, write_table
from hub.context import HubContext
from hub.errors import HubError
from hub.stages.load import LoadInfo, load
from hub.stages.stored import claim_stored, stored_columns
from hub.stages.validate import PartHook, RawParts, ValidateInfo, read_validate_info, validate

log = logging.getLogger(__name__)

#: rows read before validate runs beside load (two batches of the default size, and more)
BESIDE_MIN_ROWS = 40_000
ERROR_FILE = "validate.error"


class StageFailure(HubError):
    """A failure that belongs to a named stage (the run's error says which)."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


def worth_it(rows: int) -> bool:
    return rows >= BESIDE_MIN_ROWS and (os.cpu_count() or 1) > 1


def _warm_up() -> None:
    """Import Great Expectations and build its context while the parent is still extracting: the
    import alone is seconds, and it would otherwise be the first thing load waits for."""
    from hub.quality.expectations import _batch_definition

    _batch_definition()


def _stored_part(ctx: HubContext, source: str, run_id: str) -> PartHook:
    """Each valid part's content hashes and stored data, worked out here rather than in load."""
    folder, connector = RunFolder(ctx.landing, source, run_id), ctx.connector_name(source)

    def write(stream: str, index: int, valid: pa.Table) -> None:
        if not claim_stored(folder.stream_dir(stream), index):
            return  # load reached this part first and makes it itself
        stored = stored_columns(ctx.contracts.get(connector, stream), ctx.vault, valid)
        write_table(part_path(folder.stream_dir(stream), "stored", index), stored)

    return write


def _following(ctx: HubContext, source: str, run_id: str, parent: int) -> RawParts:
    """The raw parts of each stream as the running extract writes them (``raw-N`` is renamed into place
    whole). A stream has no more parts once extract has begun the next stream (its folder exists) or
    written its manifest; validate compares what it saw with the manifest at the end."""
    spec, connector = ctx.source(source)
    names = [stream.name for stream in connector.streams(spec)]
    run = RunFolder(ctx.landing, source, run_id).path

    def indexes(stream_dir: Path, later: list[str]) -> Iterator[int]:
        index = 0
        while True:
            if part_path(stream_dir, "raw", index).exists():
                yield index
                index += 1
                continue
            if (run / "extract.json").exists() or any((run / name).exists() for name in later):
                if part_path(stream_dir, "raw", index).exists():
                    continue  # written between the two looks
                return
            if os.getppid() != parent:
                raise HubError("the syncing process ended before its extract did")
            time.sleep(0.01)

    return [(name, indexes(run / name, names[n + 1:])) for n, name in enumerate(names)]


def _validate_child(ctx: HubContext, source: str, run_id: str, docs: bool, error: Path, parent: int) -> None:
    """The forked validator: its own store connections, its failure written where the parent looks.
    Started during extract, it validates each raw part as extract writes it, and gives up if the parent
    is gone."""
    from hub.db.session import get_engine

    get_engine.cache_clear()  # the parent's pooled connections stay the parent's
    code = 0
    try:
        _warm_up()
        validate(ctx, source, run_id, docs=docs, on_valid=_stored_part(ctx, source, run_id),
                 raw_parts=_following(ctx, source, run_id, parent))
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent as one line
        first = (str(exc).strip().splitlines() or [""])[0]
        error.write_text(first if isinstance(exc, HubError) else f"{type(exc).__name__}: {first}", encoding="utf-8")
        code = 1
    finally:
        logging.shutdown()
        os._exit(code)  # no atexit handlers or finalisers of the parent's objects run here


class ValidationWorker:
    """The validate stage of one run in a child process; ``wait`` is load's ``PartWait``."""

    def __init__(self, ctx: HubContext, source: str, run_id: str, *, docs: bool) -> None:
        self.folder = RunFolder(ctx.landing, source, run_id)
        self.error = self.folder.path / ERROR_FILE
        self.error.unlink(missing_ok=True)
        self.done = self.folder.path / "validate.json"
        self.done.unlink(missing_ok=True)  # a retried run must not take an earlier attempt's result
        for stale in (*self.folder.path.glob("*/stored-*.claim"), *self.folder.path.glob("*/stored-*.arrow")):
            stale.unlink()  # nor its claims on, or its copies of, the stored parts
        fork = multiprocessing.get_context("fork")
        self.process = fork.Process(target=_validate_child,
                                    args=(ctx, source, run_id, docs, self.error, os.getpid()),
                                    name=f"validate {source} {run_id}", daemon=True)

    def start(self) -> None:
        self.process.start()

    def wait(self, path: Path | None) -> None:
        target = path or self.done
        while not target.exists():
            if not self.process.is_alive():
                self.process.join()
                if target.exists():
                    break
                raise self.failure()
            time.sleep(0.01)
        if path is None:
            self.process.join()
            if self.process.exitcode:
                raise self.failure()

    def failure(self) -> StageFailure:
        reason = self.error.read_text(encoding="utf-8") if self.error.exists() else \
            f"the validating process ended with exit code {self.process.exitcode}"
        return StageFailure("validate", reason)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()


def validate_and_load(ctx: HubContext, source: str, run_id: str, worker: ValidationWorker
                      ) -> tuple[ValidateInfo, LoadInfo]:
    """Load what the worker (started during extract) has validated, while it validates the rest;
    both or neither."""
    try:
        loaded = load(ctx, source, run_id, wait=worker.wait, claim=claim_stored)
    except BaseException:
        worker.stop()
        raise
    worker.stop()
    return read_validate_info(ctx, source, run_id), loaded
