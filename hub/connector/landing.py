"""The landing zone: stages hand data over as files under ``<landing>/<source>/<run_id>/``.

Layout of one run (dlt's load packages are the model)::

    <run_id>/extract.json              ExtractInfo: streams, rows, state candidates
    <run_id>/<stream>/raw-00000.arrow  raw batches (Arrow IPC stream format)
    <run_id>/validate.json             ValidateInfo
    <run_id>/<stream>/valid-00000.arrow      canonical rows of raw-00000 that passed the gate
    <run_id>/<stream>/quarantine-00000.arrow rows of raw-00000 that failed, with reasons

Validate writes one valid and one quarantine part per raw batch (the quarantine part last), so
load can take batch N while batch N+1 is still being validated, and never holds more than one
batch. A quarantine replay writes a single ``valid.arrow`` / ``quarantine.arrow`` pair.

Writes go to a temporary name then ``os.replace`` so a crash never leaves half a file. Every folder
is 0700 and every file 0600 (``hub.privacy.files``): raw batches hold clear IDs and phones.

Once a run's load has committed, its Arrow files serve no stage (a retried load after the commit is a
no-op that reads only the JSON manifests; a quarantine replay reads the store's encrypted raw rows),
so ``release`` deletes them at once; the manifests (counts, check statistics, sealed state) stay for
``landing_keep_days``, which ``prune_all`` applies to every source's folders.

Except a run checked without Great Expectations (a day's trickle, ``hub.quality.suite_plan``): its
GX run and Data Docs page are pending, so ``release`` keeps its raw and quarantine parts, sealed with
the install's key (``<part>.sealed``: no clear ID or phone stays on disk after a load), and writes
``docs-pending.json``; the quality pass (``hub.quality.deferred``) opens them, re-checks them in GX,
builds the page, writes ``docs-built.json`` and releases them. Retention still wins: ``prune`` deletes a pending
run older than ``landing_keep_days`` too, and says so.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc

from hub.privacy.files import open_private, private_dir

log = logging.getLogger(__name__)
#: markers in a run's folder: its Data Docs are awaited (parts kept), or were built after the sync
DOCS_PENDING = "docs-pending.json"
DOCS_BUILT = "docs-built.json"
#: the parts the quality pass re-checks: what was landed, and what the sync quarantined of it
KEPT_FOR_DOCS = ("raw-", "quarantine-")
SEALED = ".sealed"  # suffix of a kept part encrypted at rest


class RunFolder:
    def __init__(self, landing: Path, source: str, run_id: str) -> None:
        self.path = landing / source / run_id
        self.source = source
        self.run_id = run_id

    def stream_dir(self, stream: str) -> Path:
        return private_dir(self.path / stream)

    def write_json(self, name: str, payload: dict[str, Any]) -> Path:
        private_dir(self.path)
        target = self.path / name
        tmp = target.with_suffix(target.suffix + ".tmp")
        text = json.dumps(payload, ensure_ascii=False, default=str)  # C encoder: indent= takes Python's
        if len(text) < 65_536:  # a manifest people read: indented; a connector's big state (2 MB) stays compact
            text = json.dumps(payload, ensure_ascii=False, indent=1, default=str)
        with open_private(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
        return target

    def read_json(self, name: str) -> dict[str, Any]:
        target = self.path / name
        if not target.is_file():
            from hub.errors import HubError

            raise HubError(f"run {self.run_id} of {self.source}: {name} missing in {self.path} (earlier stage not run?)")
        return json.loads(target.read_text(encoding="utf-8"))

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()


def write_table(path: Path, table: pa.Table | pa.RecordBatch) -> Path:
    private_dir(path.parent)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open_private(tmp, "wb") as fh, pa.PythonFile(fh, mode="w") as sink, \
            ipc.new_stream(sink, table.schema) as writer:
        writer.write(table)
    os.replace(tmp, path)
    return path


def read_table(path: Path) -> pa.Table:
    with pa.OSFile(str(path), "rb") as source:
        return ipc.open_stream(source).read_all()


def read_sealed_table(path: Path, open_bytes: Callable[[str], bytes]) -> pa.Table:
    """A part ``release`` kept for the quality pass: ``path`` names the Arrow part it was."""
    sealed = path.with_name(path.name + SEALED)
    return ipc.open_stream(pa.py_buffer(open_bytes(sealed.read_text(encoding="ascii")))).read_all()


def part_path(stream_dir: Path, kind: str, index: int) -> Path:
    """``<stream_dir>/<kind>-<index>.arrow``: kind ``raw``, ``valid`` or ``quarantine``."""
    return stream_dir / f"{kind}-{index:05d}.arrow"


def iter_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """A landing file's record batches one at a time (memory holds one batch, not the file)."""
    with pa.OSFile(str(path), "rb") as source:
        yield from ipc.open_stream(source)


def iter_raw_tables(stream_dir: Path) -> Iterator[pa.Table]:
    for part in sorted(stream_dir.glob("raw-*.arrow")):
        yield read_table(part)


def docs_awaited(folder: RunFolder) -> bool:
    """Whether validate checked rows of this run without GX (no page) and no page was built since."""
    if not folder.has("validate.json") or folder.has(DOCS_BUILT):
        return False
    info = folder.read_json("validate.json")
    rows = sum(int(s.get("valid", 0)) + int(s.get("quarantined", 0)) for s in info.get("streams", {}).values())
    return info.get("data_docs") is None and rows > 0


def release(landing: Path, source: str, run_id: str, seal: Callable[[bytes], str] | None = None) -> int:
    """Delete a loaded run's Arrow files (clear personal data) and keep its JSON manifests; call only
    after the load transaction committed. A run whose Data Docs are awaited keeps its raw and
    quarantine parts, sealed by ``seal`` (the vault's), until the quality pass has built them; without
    ``seal`` nothing is kept. Returns the number of files deleted."""
    removed = 0
    folder = RunFolder(landing, source, run_id)
    if not folder.path.is_dir():
        return 0
    parts = list(folder.path.rglob("*.arrow*"))
    # a replay lands no raw parts (it re-reads the store's encrypted rows): nothing to re-check
    keep = seal is not None and any(p.name.startswith("raw-") for p in parts) and docs_awaited(folder)
    kept: list[str] = []
    for part in parts:
        if keep and seal is not None and part.name.startswith(KEPT_FOR_DOCS) and part.name.endswith(".arrow"):
            sealed = part.with_name(part.name + SEALED)
            with open_private(sealed, "w", encoding="ascii") as fh:
                fh.write(seal(part.read_bytes()))
            kept.append(str(sealed.relative_to(folder.path)))
        part.unlink(missing_ok=True)
        removed += 1
    if keep:
        since = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds")  # Beijing time
        folder.write_json(DOCS_PENDING, {"since": since, "kept": sorted(kept)})
    return removed


def prune(landing: Path, source: str, keep_days: float) -> int:
    """Delete a source's run folders older than ``keep_days``: a run abandoned before its load still
    holds its raw extracts; once a run is loaded its folder serves no stage."""
    root = landing / source
    if keep_days < 0 or not root.is_dir():
        return 0
    cutoff = time.time() - keep_days * 86400
    removed = 0
    for run in root.iterdir():
        if run.is_dir() and run.stat().st_mtime < cutoff:
            if (run / DOCS_PENDING).is_file() and not (run / DOCS_BUILT).is_file():
                log.warning("landing: run %s of %s is older than landing_keep_days (%s) and its Data Docs page was "
                            "never built (no quality pass since); its parts are deleted without it", run.name,
                            source, keep_days)
            shutil.rmtree(run, ignore_errors=True)
            removed += 1
    return removed


def prune_all(landing: Path, keep_days: float) -> int:
    """``prune`` over every source's folders, not only the one being synced: a source that stopped
    syncing must not keep its clear extracts for ever."""
    if not landing.is_dir():
        return 0
    return sum(prune(landing, source.name, keep_days) for source in landing.iterdir()
               if source.is_dir() and not source.name.startswith("_"))
