"""What a stream already holds, for load to compare content hashes against: probed key by key
when a run brings a few rows, read whole when it brings many.

Why: load used to read every (key, id, hash, deleted) of the stream before its first batch. For one
changed population row that read 100,000 rows (0.2-0.3 CPU s on the 100k county, the whole of a
500,000-resident county's persons at 500k) to compare one hash (issue 19: a single changed row in
<= 2 s). A run's batches are probed by primary-key lookups of their keys until it has asked about
more than :data:`PROBE_MAX` keys; from then on the stream is read whole once, as before. Either way
``get`` answers what the store held for a key, or what this run wrote for it since.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from hub.db.models import SourceRecord

#: keys a run may probe before the stream is read whole (a probe is an index lookup: cheap per key,
#: dearer than a scan per row once a run touches a sizeable share of the stream)
PROBE_MAX = 5_000
PROBE_CHUNK = 500  # keys per IN list (SQLite's bound-parameter limit is far above)

Known = tuple[int, str, bool]  # record id (-1: inserted by this run), content hash, deleted


class KnownRecords:
    """A stream's stored records by source key, filled only as far as the run needs."""

    def __init__(self, session: Any, source: str, stream: str) -> None:
        self._session, self._source, self._stream = session, source, stream
        self._rows: dict[str, Known] = {}
        self._asked: set[str] = set()
        self._written: set[str] = set()  # keys this run set: never overwritten by a later read
        self._whole = False

    def need(self, keys: Iterable[str | None]) -> None:
        """Make sure ``get`` can answer for these keys (call before comparing a batch)."""
        if self._whole:
            return
        new = {k for k in keys if k is not None} - self._asked
        if not new:
            return
        if len(self._asked) + len(new) > PROBE_MAX:
            self._read(None)
            self._whole = True
            return
        ordered = sorted(new)
        for start in range(0, len(ordered), PROBE_CHUNK):
            self._read(ordered[start:start + PROBE_CHUNK])
        self._asked |= new

    def _read(self, keys: list[str] | None) -> None:
        sr = SourceRecord
        query = (select(sr.id, sr.source_key, sr.content_hash, sr.deleted)
                 .where(sr.source == self._source, sr.stream == self._stream))
        if keys is not None:
            query = query.where(sr.source_key.in_(keys))
        for rid, key, digest, deleted in self._session.execute(query):
            if key not in self._written:
                self._rows[key] = (rid, digest, deleted)

    def get(self, key: str | None) -> Known | None:
        return self._rows.get(key)  # type: ignore[arg-type]

    def __getitem__(self, key: str) -> Known:
        return self._rows[key]

    def __setitem__(self, key: str, value: Known) -> None:
        self._written.add(key)
        self._rows[key] = value
