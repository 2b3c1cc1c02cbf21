"""Another vendor's build of the §4 API, as a small real HTTP server over loopback.

Same spec, other habits: numeric ``id``s (ordered as numbers), a page-size cap below the
requested ``size`` (while ``total`` says more), ``Retry-After`` as an HTTP date, an HTML 503,
``updatedAt`` with ``Z``/``+08:00``/no zone, other gender and date spellings, null optional
fields and extra fields. A user needs every record once, loaded or quarantined with a reason.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hub_public_security.connector import PublicSecurityConnector
from hub_public_security.paging import parse_stamp
from stdnum.iso7064 import mod_11_2

from hub.connector import SourceSpec
from hub.stages import sync
from hub.testing import ConformanceSetup, context_for


class VendorApi(ThreadingHTTPServer):
    """Serves ``records`` per stream ordered by (updatedAt, id) with ``updated_since`` inclusive;
    ``cap`` limits a page whatever ``size`` asked (and still echoes the asked size); ``script``
    holds canned answers sent before the real ones."""

    def __init__(self, token: str, cap: int = 500) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.token, self.cap = token, cap
        self.records: dict[str, list[dict[str, Any]]] = {"floating-persons": [], "special-persons": [],
                                                         "incidents": []}
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.log: list[int] = []

    def page(self, stream: str, since: str | None, page: int, size: int) -> dict[str, Any]:
        key = "incidentNo" if stream == "incidents" else "id"
        rows = sorted(self.records[stream], key=lambda r: (parse_stamp(r["updatedAt"]), r[key]))
        if since:
            start = parse_stamp(since)
            rows = [r for r in rows if parse_stamp(r["updatedAt"]) >= start]
        size_used = min(size, self.cap)
        first = (page - 1) * size_used
        return {"total": len(rows), "page": page, "size": size, "items": rows[first:first + size_used]}


class Handler(BaseHTTPRequestHandler):
    server: VendorApi

    def log_message(self, *args: Any) -> None:
        return None

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.server.log.append(status)  # before the answer: the client may act on it before this thread runs on
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            return self._send(401, {"Content-Type": "text/html"}, b"<html>401 Unauthorized</html>")
        if self.server.script:
            return self._send(*self.server.script.pop(0))
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = self.server.page(url.path.rsplit("/", 1)[-1], q.get("updated_since"), int(q["page"]), int(q["size"]))
        self._send(200, {"Content-Type": "application/json"}, json.dumps(body, ensure_ascii=False).encode())


TOKEN_ENV, TOKEN = "PS_VENDOR_TOKEN", "vendor-token-41"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[VendorApi]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    server = VendorApi(TOKEN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url_of(server: VendorApi) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def read_keys(server: VendorApi, stream: str, state: dict[str, Any] | None = None,
              **options: Any) -> tuple[list[Any], dict[str, Any]]:
    spec = SourceSpec("public-security", {"base_url": url_of(server), "token_env": TOKEN_ENV, **options})
    s = PublicSecurityConnector().stream(spec, stream)
    keys: list[Any] = []
    state = dict(state or {})
    for batch in s.read(dict(state)):
        keys += batch.records.column(s.key_field).to_pylist()
        state = batch.state
    return keys, state


def person(ident: Any, stamp: str, **over: Any) -> dict[str, Any]:
    body = f"130203199001{int(str(ident)[-2:]) % 28 + 1:02d}{int(str(ident)[-3:]) % 1000:03d}"
    row = {"id": ident, "name": "张伟", "idNo": body + mod_11_2.calc_check_digit(body), "gender": "M",
           "birthDate": f"1990-01-{int(body[12:14]):02d}", "nativePlace": "河北", "address": "东村1号",
           "gridCode": None, "registeredAt": "2026-01-02", "permitExpiry": None, "employer": None,
           "phone": None, "status": "active", "updatedAt": stamp}
    return row | over


def test_numeric_ids_in_one_second_across_pages_are_all_read(api: VendorApi) -> None:
    """12 records share a second, ids 1..12 as JSON numbers, pages of 5: the server orders 9 < 10,
    so a cursor comparing ids as text ("10" < "9") would drop 10, 11 and 12."""
    api.records["floating-persons"] = [person(i, "2026-10-30T09:00:00+08:00") for i in range(1, 13)]
    keys, state = read_keys(api, "floating-persons", page_size=5)
    assert keys == [str(i) for i in range(1, 13)]
    api.records["floating-persons"].append(person(13, "2026-10-30T09:00:00+08:00"))  # a late one, same second
    more, _ = read_keys(api, "floating-persons", state, page_size=5)
    assert more == ["13"], "resuming inside a second with numeric ids skipped or repeated records"


def test_page_cap_below_size_while_total_says_more_reads_everything(api: VendorApi) -> None:
    """The vendor serves at most 20 items a page whatever ``size`` says; ``total`` tells the truth.
    One run must read all 130 records, not one page per run."""
    api.cap = 20
    base = dt.datetime(2026, 10, 30, 9, 0, 0)
    api.records["floating-persons"] = [person(f"P{i:04d}", (base + dt.timedelta(seconds=i // 3)).isoformat() + "+08:00")
                                       for i in range(130)]
    api.records["floating-persons"] += [person(f"Q{i:04d}", "2026-10-30T10:00:00+08:00") for i in range(45)]
    keys, _ = read_keys(api, "floating-persons", page_size=100)
    assert sorted(keys) == sorted(r["id"] for r in api.records["floating-persons"])
    assert len(keys) == len(set(keys))


def test_other_vendor_spellings_are_loaded_or_quarantined_with_reasons(api: VendorApi, tmp_path: Path) -> None:
    """Throttled with an HTTP-date Retry-After, an HTML 503, then records with Z/+08:00/naive times,
    other gender and birth date spellings, nulls and extra fields: one sync, each record accounted for."""
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1), usegmt=True)
    api.script = [(429, {"Retry-After": when}, b""),
                  (503, {"Content-Type": "text/html"}, b"<html><body>502 Bad Gateway (nginx)</body></html>")]
    api.records["floating-persons"] = [
        person(1, "2026-10-30T01:00:00Z", gender="U", birthDate="1990-01-02T00:00:00"),
        person(2, "2026-10-30T09:00:01+08:00", gender=None, birthDate="19900103", photoUrl="x.jpg",
               extra={"tags": ["a"]}),
        person(3, "2026-10-30T09:00:02", gender="unknown", employer="唐山钢铁公司", phone="138 1234 5678"),
        person(4, "2026-10-30 09:00:03", gender="X"),
        person(5, "2026-10-30T09:00:04.5+08:00", gridCode=130203101201),
    ]
    written = api.records["floating-persons"][4]["idNo"]
    api.records["floating-persons"][4]["idNo"] = f" {written[:6]} {written[6:]} "
    config = tmp_path / "hub.yaml"
    config.write_text(json.dumps({"sources": {"public-security": {"connector": "public-security",
                                                                  "base_url": url_of(api), "token_env": TOKEN_ENV}}}),
                      "utf-8")
    ctx, _ = context_for(ConformanceSetup(config_path=config, source="public-security", env={TOKEN_ENV: TOKEN}),
                         tmp_path, "store")
    info = sync(ctx, "public-security", resolve=False)
    assert api.log[:3] == [429, 503, 200]
    counts = info.load.streams["floating-persons"]
    assert counts["read"] == 5 and counts["loaded"] + counts["quarantined"] == 5
    from sqlalchemy import select

    from hub.db.models import QuarantinedRow, SourceRecord
    from hub.db.session import transaction

    with transaction(ctx.db_url) as session:
        loaded = {r.source_key: dict(r.data) for r in session.scalars(
            select(SourceRecord).where(SourceRecord.stream == "floating-persons"))}
        entries = list(session.scalars(select(QuarantinedRow).where(QuarantinedRow.stream == "floating-persons")))
        bad = {q.source_key: sorted(r["check"] for r in q.reasons if r["severity"] == "error")
               for q in entries if q.scope == "record"}
        fields = {(q.source_key, q.column_name): [r["check"] for r in q.reasons] for q in entries if q.scope == "field"}
    assert set(loaded) | set(bad) == {"1", "2", "3", "4", "5"} and not set(loaded) & set(bad)
    # gender "X" is a bad field, not a bad record: person 4 loads without it
    assert fields == {("4", "gender"): ["enum"]} and loaded["4"]["gender"] is None and not bad
    assert loaded["1"]["gender"] == "U" and loaded["1"]["birth_date"] == "1990-01-02"
    assert loaded["2"]["birth_date"] == "1990-01-03" and loaded["2"]["gender"] is None
    assert loaded["3"]["gender"] == "U" and loaded["3"]["employer"] == "唐山钢铁公司"
    # Z, +08:00 and no zone land on one clock (Beijing time, like every other department's stamps)
    assert [loaded[k]["updated_at"] for k in "123"] == ["2026-10-30 09:00:00", "2026-10-30 09:00:01",
                                                        "2026-10-30 09:00:02"]
    assert loaded["5"]["grid_code"] == "130203101201"
    blob = json.dumps(loaded, ensure_ascii=False)
    assert "13812345678" not in blob and "138 1234 5678" not in blob
    assert sync(ctx, "public-security", resolve=False).extract.rows == 0, "a re-run read records again"
