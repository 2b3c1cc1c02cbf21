"""The public-security connector (legacy-systems.md §4): three list endpoints of one JSON API.

Each stream reads what changed after its saved cursor ``{"updatedAt", "id"}`` through
``KeysetReader`` (see paging.py) and yields Arrow batches of the vendor's fields as text, so a
batch's schema never depends on which values happened to be null. A field the vendor adds is
passed through (the gate warns about it); an item the cursor cannot place is a row marked
``_unreadable`` and is quarantined, never dropped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from hub.connector import UNREADABLE_COLUMN, Batch, Connector, SourceSpec, Stream
from hub_public_security.client import ApiClient, ApiSettings
from hub_public_security.paging import CURSOR_FIELD, Cursor, KeysetReader

log = logging.getLogger(__name__)

BATCH_ROWS = 10_000

FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "floating-persons": ("id", ("id", "name", "idNo", "gender", "birthDate", "nativePlace", "address", "gridCode",
                                "registeredAt", "permitExpiry", "employer", "phone", "status", "updatedAt")),
    "special-persons": ("id", ("id", "idNo", "name", "category", "since", "gridCode", "supervisor", "status",
                               "updatedAt")),
    "incidents": ("incidentNo", ("incidentNo", "type", "occurredAt", "address", "gridCode", "lon", "lat", "summary",
                                 "status", "updatedAt")),
}


def as_text(value: Any) -> str | None:
    """Every raw field travels as text: numbers keep their JSON spelling, objects their JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text_column(values: list[Any]) -> pa.Array:
    """Strings straight into Arrow; only a column holding numbers/objects pays for ``as_text``."""
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([as_text(v) for v in values], type=pa.string())


class ApiStream(Stream):
    """One list endpoint; ``read`` pages after the cursor and batches what it gets."""

    cursor_field = CURSOR_FIELD

    def __init__(self, name: str, settings: ApiSettings) -> None:
        self.name = name
        key, fields = FIELDS[name]
        self.key_field, self.fields = key, fields
        self.primary_key = (key,)
        self.settings = settings
        self.last_client: ApiClient | None = None  # kept for benches and tests: requests, retries, waits

    def columns(self) -> list[str]:
        return list(self.fields)

    def _table(self, rows: list[dict[str, Any]]) -> pa.Table:
        known = set(self.fields)
        extra: list[str] = []
        for row in rows:
            if not known.issuperset(row):
                extra.extend(k for k in row if k not in known and k not in extra)
        names = [*self.fields, *extra]
        if any(UNREADABLE_COLUMN in r for r in rows) and UNREADABLE_COLUMN not in names:
            names.append(UNREADABLE_COLUMN)
        return pa.table({n: _text_column([r.get(n) for r in rows]) for n in names})

    def read(self, state: dict[str, Any]) -> Iterator[Batch]:
        start = Cursor.from_state(state)
        with ApiClient(self.settings) as client:
            self.last_client = client
            size = self.settings.page_size

            def fetch(since: str | None, page: int, size: int) -> tuple[int, list[Any]]:
                params: dict[str, Any] = {"page": page, "size": size}
                if since:
                    params["updated_since"] = since
                body = client.get(self.name, params)
                total = body.get("total")
                return (total if isinstance(total, int) else 0), body["items"]

            reader = KeysetReader(fetch, self.key_field, size, endpoint=self.name)
            rows: list[dict[str, Any]] = []
            cursor = start
            for page in reader.read(start):
                rows.extend(page.records)
                rows.extend(self._unreadable_row(item, why) for item, why in page.unreadable)
                cursor = page.cursor
                if len(rows) >= BATCH_ROWS:
                    yield Batch(self._table(rows), cursor.state() if cursor else {})
                    rows = []
            if rows:
                yield Batch(self._table(rows), cursor.state() if cursor else {})
            log.info("public-security %s: %d requests (%d throttled, %d retried, %.1f s waited)", self.name,
                     client.requests, client.throttled, client.retried, client.waited_s)

    def _unreadable_row(self, item: Any, why: str) -> dict[str, Any]:
        if isinstance(item, dict):
            return {**item, UNREADABLE_COLUMN: why}
        return {UNREADABLE_COLUMN: f"{why}: {as_text(item)}"[:500]}


class PublicSecurityConnector(Connector):
    name = "public-security"
    description = "综治/公安: floating persons, special persons and incidents over an HTTP JSON API"
    options = {"base_url": "the API's root URL", "token_env": "environment variable holding the API token",
               "page_size": "records a page, at most 500", "timeout": "seconds a request (default 30)",
               "max_retries": "retries of a failed request (default 5)"}

    def check(self, source: SourceSpec) -> None:
        """One smallest page of each endpoint: proves the address, the token and the API shape."""
        settings = ApiSettings.from_source(source)
        with ApiClient(settings) as client:
            for stream in FIELDS:
                client.get(stream, {"page": 1, "size": 1})

    def streams(self, source: SourceSpec) -> list[Stream]:
        settings = ApiSettings.from_source(source)
        return [ApiStream(name, settings) for name in FIELDS]
