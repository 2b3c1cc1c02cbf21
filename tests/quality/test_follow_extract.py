"""The validator beside load follows a running extract: each raw part as it lands, no part missed."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyarrow as pa

from hub.connector.landing import RunFolder, part_path, write_table
from hub.stages.beside import _following
from tests.quality.conftest import make_context, write_config


def test_parts_are_followed_while_extract_writes_them(county: Path, tmp_path: Path) -> None:
    ctx = make_context(write_config(tmp_path / "hub", county))
    run = RunFolder(ctx.landing, "population", "follow-run").path
    spec, connector = ctx.source("population")
    names = [s.name for s in connector.streams(spec)]
    assert len(names) >= 2
    written: list[tuple[str, int]] = []

    def extract() -> None:  # as hub.stages.extract does: a stream's folder, its parts, then the manifest
        for name, files in zip(names, (3, 2), strict=False):
            (run / name).mkdir(parents=True)
            for index in range(files):
                time.sleep(0.05)
                write_table(part_path(run / name, "raw", index), pa.table({"x": [index]}))
                written.append((name, index))
        (run / "extract.json").write_text("{}")

    writer = threading.Thread(target=extract)
    writer.start()
    seen = []
    for name, indexes in _following(ctx, "population", "follow-run", os.getppid()):
        for index in indexes:
            assert (name, index) in written  # never a part before it is whole
            seen.append((name, index))
            if (name, index) == (names[0], 0):
                assert not (run / "extract.json").exists()  # the first part is taken while extract runs
    writer.join()
    assert seen == written == [(names[0], 0), (names[0], 1), (names[0], 2), (names[1], 0), (names[1], 1)]
