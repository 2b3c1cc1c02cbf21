"""The public-security API (legacy-systems.md §4) as a real HTTP server over the synth files.

Serves `<data>/<stream>/day-NN.jsonl`: for its current day, the newest version of each
record from days 0..day, ordered by (updatedAt, id). Misbehaves like the vendor's: 401
on a bad token, 429 + Retry-After when called faster than its rate, a seeded share of
503s, and records that move to later pages when the day advances mid-paging.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hmac
import json
import math
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from hub.synth.days import TZ

STREAMS = {"floating-persons": "id", "special-persons": "id", "incidents": "incidentNo"}
MAX_SIZE = 500
DAY_FILE = re.compile(r"day-(\d+)\.jsonl$")


class Store:
    """The records of each stream as of a day, loaded once per (stream, day)."""

    def __init__(self, data_dir: Path) -> None:
        if (data_dir / "public-security").is_dir():
            data_dir = data_dir / "public-security"
        self.dir = data_dir
        self.files: dict[str, dict[int, Path]] = {}
        for stream in STREAMS:
            for f in sorted((data_dir / stream).glob("day-*.jsonl")):
                m = DAY_FILE.search(f.name)
                if m:
                    self.files.setdefault(stream, {})[int(m.group(1))] = f
        if not self.files:
            raise ValueError(f"no public-security data (<stream>/day-NN.jsonl) under {data_dir}")
        self.max_day = max(d for days in self.files.values() for d in days)
        self._cache: dict[tuple[str, int], tuple[list[dt.datetime], list[dict]]] = {}
        self._lock = threading.Lock()

    def view(self, stream: str, day: int) -> tuple[list[dt.datetime], list[dict]]:
        with self._lock:
            hit = self._cache.get((stream, day))
            if hit is None:
                key = STREAMS[stream]
                latest: dict[str, dict] = {}
                for d, path in sorted(self.files.get(stream, {}).items()):
                    if d <= day:
                        with path.open(encoding="utf-8") as f:
                            for line in f:
                                rec = json.loads(line)
                                latest[rec[key]] = rec
                rows = sorted(latest.values(), key=lambda r: (r["updatedAt"], r[key]))
                hit = ([dt.datetime.fromisoformat(r["updatedAt"]) for r in rows], rows)
                self._cache[(stream, day)] = hit
            return hit


class ServerHandle:
    """Stops the server when called; `set_day` moves the world on under a paging client."""

    def __init__(self, httpd: SynthHTTPServer, thread: threading.Thread | None = None) -> None:
        self.httpd, self.thread = httpd, thread

    @property
    def day(self) -> int:
        return self.httpd.day

    @property
    def stats(self) -> dict[int, int]:
        return dict(self.httpd.stats)

    def set_day(self, day: int) -> None:
        self.httpd.day = min(day, self.httpd.store.max_day)

    def __call__(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)


class SynthHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, store: Store, token: str, day: int | None, rate_limit_per_s: float, fail_rate: float,
                 seed: int, advance_after: int | None) -> None:
        super().__init__(addr, Handler)
        self.store, self.token = store, token
        self.day = store.max_day if day is None else min(day, store.max_day)
        self.rate, self.fail_rate, self.advance_after = rate_limit_per_s, fail_rate, advance_after
        self.failures = random.Random(seed)
        self.tokens, self.refilled = max(1.0, rate_limit_per_s), time.monotonic()
        self.served = 0
        self.stats: dict[int, int] = {}
        self.lock = threading.Lock()

    def admit(self) -> float:
        """Token bucket: 0 if the call may proceed, else the seconds to wait."""
        with self.lock:
            if self.rate <= 0:
                return 0.0
            now = time.monotonic()
            self.tokens = min(max(1.0, self.rate), self.tokens + (now - self.refilled) * self.rate)
            self.refilled = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / self.rate

    def unlucky(self) -> bool:
        with self.lock:
            return self.failures.random() < self.fail_rate

    def count(self, status: int) -> None:
        with self.lock:
            self.stats[status] = self.stats.get(status, 0) + 1
            if status == 200:
                self.served += 1
                if self.advance_after and self.served % self.advance_after == 0 and self.day < self.store.max_day:
                    self.day += 1


class Handler(BaseHTTPRequestHandler):
    server: SynthHTTPServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive + small writes would otherwise stall 40 ms a request
    wbufsize = 1 << 16  # headers and body leave in one write; handle_one_request flushes

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet: tests page thousands of times
        pass

    def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.server.count(status)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        srv = self.server
        url = urlsplit(self.path)
        auth = self.headers.get("Authorization", "")
        if not (auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), srv.token.encode())):
            return self._send(401, {"error": "unauthorized"}, {"WWW-Authenticate": "Bearer"})
        wait = srv.admit()
        if wait:
            return self._send(429, {"error": "too many requests"}, {"Retry-After": str(max(1, math.ceil(wait)))})
        if srv.unlucky():
            return self._send(503, {"error": "service unavailable"}, {"Retry-After": "1"})
        m = re.fullmatch(r"/api/v1/([a-z-]+)/?", url.path)
        if not m or m.group(1) not in STREAMS:
            return self._send(404, {"error": f"no such endpoint {url.path}"})
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            page = int(q.get("page", "1"))
            size = min(int(q.get("size", "100")), MAX_SIZE)
            since = _parse_since(q.get("updated_since"))
        except ValueError as exc:
            return self._send(400, {"error": f"bad query: {exc}"})
        if page < 1 or size < 1:
            return self._send(400, {"error": "page and size must be positive"})
        stamps, rows = srv.store.view(m.group(1), srv.day)
        start = bisect.bisect_left(stamps, since) if since else 0
        total = len(rows) - start
        first = start + (page - 1) * size
        self._send(200, {"total": total, "page": page, "size": size, "items": rows[first:first + size]})


def _parse_since(text: str | None) -> dt.datetime | None:
    """ISO-8601; a naive time is local (+08:00). Records with updatedAt >= it are returned."""
    if not text:
        return None
    value = dt.datetime.fromisoformat(text.replace(" ", "+") if re.search(r"\d \d\d:\d\d$", text) else text)
    return value if value.tzinfo else value.replace(tzinfo=TZ)


def make_server(data_dir: Path, host: str, port: int, token: str, *, day: int | None = None,
                rate_limit_per_s: float = 20.0, fail_rate: float = 0.02, seed: int = 0,
                advance_after: int | None = None) -> SynthHTTPServer:
    if not token:
        raise ValueError("a token is required")
    return SynthHTTPServer((host, port), Store(Path(data_dir)), token, day, rate_limit_per_s, fail_rate, seed,
                           advance_after)


def serve(data_dir: Path, host: str, port: int, token: str, *, day: int | None = None,
          rate_limit_per_s: float = 20.0, fail_rate: float = 0.02, seed: int = 0,
          advance_after: int | None = None) -> None:
    """Serve until interrupted."""
    httpd = make_server(data_dir, host, port, token, day=day, rate_limit_per_s=rate_limit_per_s,
                        fail_rate=fail_rate, seed=seed, advance_after=advance_after)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


def start_in_thread(data_dir: Path, token: str, port: int = 0, day: int | None = None,
                    rate_limit_per_s: float = 20.0, fail_rate: float = 0.02, *, host: str = "127.0.0.1",
                    seed: int = 0, advance_after: int | None = None) -> tuple[str, ServerHandle]:
    """For tests: (base_url, handle); call handle() to stop, handle.set_day(k) to move on."""
    httpd = make_server(data_dir, host, port, token, day=day, rate_limit_per_s=rate_limit_per_s,
                        fail_rate=fail_rate, seed=seed, advance_after=advance_after)
    thread = threading.Thread(target=httpd.serve_forever, name="synth-public-security", daemon=True)
    thread.start()
    h, p = httpd.server_address[:2]
    return f"http://{h}:{p}", ServerHandle(httpd, thread)
