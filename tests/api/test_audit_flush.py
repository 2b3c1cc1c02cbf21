"""A reader that flushes the audit sees every request answered before it asked, even while the
writer thread is in the middle of committing an earlier batch (the ledger-route test once saw 2 of 4)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from hub.api.audit import AuditLog
from hub.db.migrate import upgrade
from hub.db.models import AuditEntry
from hub.db.session import get_engine


class SlowCommit(AuditLog):
    """The real log on a real store, its commit held long enough for a second flush to arrive meanwhile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inserting = threading.Event()

    def _insert(self, rows: list[dict[str, Any]]) -> bool:
        self.inserting.set()
        time.sleep(0.5)
        return super()._insert(rows)


def _row(n: int) -> dict[str, Any]:
    return {"at": dt.datetime.now(dt.UTC).replace(tzinfo=None), "method": "GET", "route": "/persons/{id}",
            "path": f"/persons/P{n}", "status": 200, "duration_ms": 1.0}


def test_flush_waits_for_the_batch_already_being_committed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    log = SlowCommit(sessionmaker(get_engine(url)), interval=60)
    for n in range(3):
        log.record(_row(n))
    writer = threading.Thread(target=log.flush)  # what the writer thread does every interval
    writer.start()
    assert log.inserting.wait(5)
    log.record(_row(3))
    log.flush()  # the reader's flush: must not return before the writer's three rows are committed
    with sessionmaker(get_engine(url))() as s:
        stored = s.scalar(select(func.count()).select_from(AuditEntry))
    writer.join()
    assert stored == 4
