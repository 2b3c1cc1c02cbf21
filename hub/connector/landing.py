"""The landing zone: stages hand data over as files under ``<landing>/<source>/<run_id>/``.

Layout of one run (dlt's load packages are the model)::

    <run_id>/extract.json              ExtractInfo: streams, rows, state candidates
    <run_id>/<stream>/raw-00000.arrow  raw batches (Arrow IPC stream format)
    <run_id>/validate.json             ValidateInfo
    <run_id>/<stream>/valid.arrow      canonical rows that passed the gate
    <run_id>/<stream>/quarantine.arrow rows that failed, with reasons

Writes go to a temporary name then ``os.replace`` so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc


class RunFolder:
    def __init__(self, landing: Path, source: str, run_id: str) -> None:
        self.path = landing / source / run_id
        self.source = source
        self.run_id = run_id

    def stream_dir(self, stream: str) -> Path:
        path = self.path / stream
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write_json(self, name: str, payload: dict[str, Any]) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / name
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, ipc.new_stream(sink, table.schema) as writer:
        writer.write(table)
    os.replace(tmp, path)
    return path


def read_table(path: Path) -> pa.Table:
    with pa.OSFile(str(path), "rb") as source:
        return ipc.open_stream(source).read_all()


def iter_raw_tables(stream_dir: Path) -> Iterator[pa.Table]:
    for part in sorted(stream_dir.glob("raw-*.arrow")):
        yield read_table(part)


def prune(landing: Path, source: str, keep_days: float) -> int:
    """Delete a source's run folders older than ``keep_days``: raw extracts hold clear personal data,
    and once a run is loaded (or abandoned) they serve no stage; the store keeps what must be kept."""
    root = landing / source
    if keep_days < 0 or not root.is_dir():
        return 0
    cutoff = time.time() - keep_days * 86400
    removed = 0
    for run in root.iterdir():
        if run.is_dir() and run.stat().st_mtime < cutoff:
            shutil.rmtree(run, ignore_errors=True)
            removed += 1
    return removed
