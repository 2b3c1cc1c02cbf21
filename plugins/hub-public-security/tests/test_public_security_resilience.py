"""A real throttling, failing, token-checking server: 401, 429 + Retry-After, 503, a dead port."""

from __future__ import annotations

import datetime as dt
import email.utils
import socket
import time
from pathlib import Path

import pytest
from hub_public_security.client import retry_after_seconds
from hub_public_security.connector import PublicSecurityConnector

from hub.connector import SourceSpec
from hub.errors import ConfigError, SourceError


def spec_for(url: str, ps, **options) -> SourceSpec:  # type: ignore[no-untyped-def]
    return SourceSpec("public-security", {"base_url": url, "token_env": ps.TOKEN_ENV, **options})


def read_stream(spec: SourceSpec, name: str):  # type: ignore[no-untyped-def]
    stream = PublicSecurityConnector().stream(spec, name)
    keys = [k for b in stream.read({}) for k in b.records.column(stream.key_field).to_pylist()]
    return keys, stream.last_client


def test_bad_token_is_one_line_and_no_retry_loop(serve, ps, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url, handle = serve(fail_rate=0.0)
    monkeypatch.setenv(ps.TOKEN_ENV, "a-wrong-token-123")
    stream = PublicSecurityConnector().stream(spec_for(url, ps, max_retries=5), "floating-persons")
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        list(stream.read({}))
    assert time.monotonic() - started < 2, "a rejected token was retried with backoff"
    assert str(err.value) == f"public-security rejected the token from ${ps.TOKEN_ENV} (401)"
    assert handle.stats == {401: 1}, "a rejected token must not be retried"
    assert "a-wrong-token-123" not in str(err.value)
    # (the CLI's one `error:` line for this case is asserted by the conformance suite's broken source)


def test_missing_token_variable_is_a_config_error_naming_it(serve, ps, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url, handle = serve()
    monkeypatch.delenv(ps.TOKEN_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"environment variable {ps.TOKEN_ENV} \\(token_env\\) is not set") as err:
        PublicSecurityConnector().check(spec_for(url, ps))
    assert "\n" not in str(err.value)
    assert handle.stats == {}, "no request may leave without a token"


def test_dead_port_is_one_line_naming_the_base_url(ps, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(ps.TOKEN_ENV, ps.TOKEN)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        PublicSecurityConnector().check(spec_for(url, ps))
    assert time.monotonic() - started < 5
    assert url in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("bad", [{"page_size": 501}, {"page_size": 0}, {"base_url": "127.0.0.1:8765"},
                                 {"timeout": "soon"}])
def test_bad_settings_are_config_errors(ps, bad) -> None:  # type: ignore[no-untyped-def]
    spec = SourceSpec("public-security", {"base_url": "http://127.0.0.1:8765", "token_env": ps.TOKEN_ENV, **bad})
    with pytest.raises(ConfigError) as err:
        PublicSecurityConnector().streams(spec)
    assert "\n" not in str(err.value) and next(iter(bad)) in str(err.value)


def test_429_waits_as_long_as_retry_after_says(serve, ps, county: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(ps.TOKEN_ENV, ps.TOKEN)
    url, handle = serve(day=2, rate_limit_per_s=2.0)
    keys, client = read_stream(spec_for(url, ps, page_size=30), "floating-persons")
    expected = ps.server_view(county, 2)["floating-persons"]
    assert sorted(keys) == sorted(expected), "throttling lost or doubled records"
    throttled = handle.stats.get(429, 0)
    assert throttled >= 1, "the rate limit never engaged: the test proves nothing"
    assert client.throttled == throttled
    assert client.waited_s >= throttled * 1.0, "a 429 was retried before its Retry-After (>= 1 s) had passed"
    assert throttled <= handle.stats[200], "the client hammered the server instead of waiting"


def test_503s_are_retried_and_the_read_is_complete(serve, ps, county: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(ps.TOKEN_ENV, ps.TOKEN)
    url, handle = serve(day=2, fail_rate=0.3, seed=11)
    spec = spec_for(url, ps, page_size=25, max_retries=8)
    view = ps.server_view(county, 2)
    for name in ("floating-persons", "incidents"):
        keys, client = read_stream(spec, name)
        assert sorted(keys) == sorted(view[name]), name
    assert handle.stats.get(503, 0) >= 1, "no 503 was served: the test proves nothing"


def test_persistent_503_gives_up_after_max_retries(serve, ps, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(ps.TOKEN_ENV, ps.TOKEN)
    url, handle = serve(fail_rate=0.999, seed=1)
    with pytest.raises(SourceError) as err:
        PublicSecurityConnector().check(spec_for(url, ps, max_retries=2))
    message = str(err.value)
    assert "\n" not in message and url in message and "after 2 retries" in message and "HTTP 503" in message
    assert handle.stats == {503: 3}, "expected the first try plus exactly max_retries retries"


def test_retry_after_as_http_date_and_seconds() -> None:
    now = dt.datetime(2026, 11, 29, 12, 0, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=7), usegmt=True)
    assert retry_after_seconds(later, now=now) == 7.0
    assert retry_after_seconds("3", now=now) == 3.0
    assert retry_after_seconds(email.utils.format_datetime(now - dt.timedelta(seconds=9), usegmt=True), now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None and retry_after_seconds(None) is None
