"""Every client of a process shares one TLS context (issue 19: each ``httpx.Client`` loaded the CA bundle
again, ~20 ms, three clients a sync), and it is httpx's verifying default: certificates and host names
are checked."""

from __future__ import annotations

import ssl

import pytest
from hub_public_security.client import ApiClient, ApiSettings, tls_context


def test_clients_share_one_verifying_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PS_TLS_TEST_TOKEN", "t")
    settings = ApiSettings(source="public-security", base_url="https://ps.example.invalid", token_env="PS_TLS_TEST_TOKEN")
    with ApiClient(settings) as first, ApiClient(settings) as second:
        contexts = {id(c._http._transport._pool._ssl_context) for c in (first, second)}
    assert contexts == {id(tls_context())}
    assert tls_context().verify_mode == ssl.CERT_REQUIRED and tls_context().check_hostname
