"""The public-security API over HTTP: Bearer auth, bounded retries, one clear line on failure.

The vendor's API throttles (429 + ``Retry-After``), fails now and then (503) and rejects a
bad token (401). Throttling is waited out as the server asks; transient failures are retried
with exponential backoff and jitter up to ``max_retries``; a rejected token stops at once,
because retrying a bad credential only locks the account. The token never leaves this module:
it is read from the environment variable the config names and sent only as a header.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.connector import SourceSpec
from hub.errors import ConfigError, SourceError

if TYPE_CHECKING:  # httpx (and the pygments its CLI pulls) loads when a client is made, not when plugins load
    import ssl

    import httpx

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
MAX_PAGE_SIZE = 500
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
MAX_RETRY_AFTER_S = 300.0  # a server asking for longer than this is down, not throttling
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0


@dataclass(frozen=True)
class ApiSettings:
    """What hub.yaml says about one public-security source."""

    source: str
    base_url: str
    token_env: str
    page_size: int = MAX_PAGE_SIZE
    timeout: float = 30.0
    max_retries: int = 5

    @classmethod
    def from_source(cls, spec: SourceSpec) -> ApiSettings:
        base_url = str(spec.require("base_url")).rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"source {spec.name!r}: base_url must start with http:// or https://, got {base_url!r}")
        try:
            page_size = int(spec.get("page_size", MAX_PAGE_SIZE))
            timeout = float(spec.get("timeout", 30.0))
            max_retries = int(spec.get("max_retries", 5))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"source {spec.name!r}: page_size, timeout and max_retries must be numbers ({exc})") from None
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"source {spec.name!r}: page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        if timeout <= 0 or max_retries < 0:
            raise ConfigError(f"source {spec.name!r}: timeout must be > 0 and max_retries >= 0")
        return cls(source=spec.name, base_url=base_url, token_env=str(spec.require("token_env")),
                   page_size=page_size, timeout=timeout, max_retries=max_retries)

    def token(self) -> str:
        token = os.environ.get(self.token_env, "").strip()
        if not token:
            raise ConfigError(f"source {self.source!r}: environment variable {self.token_env} (token_env) is not set; "
                              "it must hold the public-security API token")
        return token


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` as delta-seconds or an HTTP date (RFC 9110 §10.2.3); None when absent/garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's own default context (certifi's CA bundle, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``), made once a
    process: every ``httpx.Client`` otherwise loads the bundle again, ~20 ms each, three clients a sync
    (issue 19)."""
    import httpx

    return httpx.create_ssl_context()


class ApiClient:
    """One keep-alive connection to the API; counts what it did so runs and benches can report it."""

    def __init__(self, settings: ApiSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        import httpx

        self.settings = settings
        self._sleep = sleep
        self._http = httpx.Client(base_url=settings.base_url, timeout=settings.timeout, verify=tls_context(),
                                  headers={"Authorization": f"Bearer {settings.token()}",
                                           "Accept": "application/json"})
        self.requests = 0
        self.throttled = 0
        self.retried = 0
        self.waited_s = 0.0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, seconds: float) -> None:
        self.waited_s += seconds
        self._sleep(seconds)

    def _backoff(self, attempt: int, floor: float | None) -> float:
        delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1)) * (0.5 + random.random())  # noqa: S311
        return max(delay, floor or 0.0)

    def get(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET one list page; waits out 429s, retries transient failures, raises SourceError otherwise."""
        import httpx

        s = self.settings
        where = f"public-security at {s.base_url} ({endpoint})"
        failures = 0
        throttles = 0
        last = ""
        while True:
            self.requests += 1
            try:
                resp = self._http.get(API_PREFIX + endpoint, params=params)
            except httpx.ConnectError as exc:
                raise SourceError(f"cannot connect to {where}: {_first_line(exc) or 'connection refused'}") from None
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                last = f"{type(exc).__name__}: {_first_line(exc)}" if _first_line(exc) else type(exc).__name__
                resp = None
            if resp is not None:
                if resp.status_code == 200:
                    return _json_page(resp, where)
                if resp.status_code in (401, 403):
                    raise SourceError(f"public-security rejected the token from ${s.token_env} ({resp.status_code})")
                if resp.status_code == 429:
                    throttles += 1
                    self.throttled += 1
                    wait = retry_after_seconds(resp.headers.get("Retry-After"))
                    if wait is not None and wait > MAX_RETRY_AFTER_S:
                        raise SourceError(f"{where} asks to wait {wait:.0f} s (429 Retry-After); try again later")
                    if throttles > max(20, 4 * s.max_retries):
                        raise SourceError(f"{where} kept answering 429 Too Many Requests ({throttles} times)")
                    self._wait(wait if wait is not None else self._backoff(throttles, None))
                    continue
                if resp.status_code not in TRANSIENT_STATUS:
                    raise SourceError(f"{where} answered HTTP {resp.status_code}: {_error_text(resp)}")
                last = f"HTTP {resp.status_code}"
            failures += 1
            if failures > s.max_retries:
                raise SourceError(f"{where} still failing after {s.max_retries} retries (last: {last})")
            self.retried += 1
            floor = retry_after_seconds(resp.headers.get("Retry-After")) if resp is not None else None
            delay = self._backoff(failures, min(floor, MAX_RETRY_AFTER_S) if floor is not None else None)
            log.info("%s: %s, retry %d/%d in %.1f s", where, last, failures, s.max_retries, delay)
            self._wait(delay)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip().splitlines()[0][:200] if resp.text.strip() else resp.reason_phrase
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"]).splitlines()[0][:200]
    return resp.reason_phrase


def _json_page(resp: httpx.Response, where: str) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        raise SourceError(f"{where} sent a page that is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise SourceError(f"{where} sent a page without an items list (expected {{total, page, size, items}})")
    return body
