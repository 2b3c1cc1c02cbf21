"""Guessing console passwords: an address that keeps failing is held off, even with the right password.

A module of its own: the lockout holds the loopback address, which the other console tests share.
"""

from __future__ import annotations

import time

import httpx
from console_county import PASSWORDS
from sqlalchemy import func, select

from hub.db.models import AuditEntry
from hub.db.session import transaction


def _attempt(client: httpx.Client, password: str) -> httpx.Response:
    page = client.get("/console/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return client.post("/console/login", data={"username": "steward", "password": password, "csrf": token,
                                               "next": "/console/"})


def test_repeated_wrong_passwords_lock_the_address_out(served) -> None:  # type: ignore[no-untyped-def]
    allowed = served.county.ctx.config.api.auth_failures_allowed
    served.flush_audit()
    with transaction(served.county.ctx.db_url) as s:
        before = s.scalar(select(func.max(AuditEntry.id))) or 0
    client = httpx.Client(base_url=served.url, timeout=30, follow_redirects=False)
    for _ in range(allowed):
        bad = _attempt(client, "not-the-password")
        assert bad.status_code == 401 and "用户名或密码错误" in bad.text

    locked = _attempt(client, PASSWORDS["steward"])  # the right password, but the address is locked out
    assert locked.status_code == 429, locked.text
    wait = int(locked.headers["Retry-After"])
    assert 1 <= wait <= 900 and f"请 {wait} 秒后再试" in locked.text
    assert "hub_console=" not in locked.headers.get("set-cookie", "")  # no session was opened

    time.sleep(wait + 0.2)
    ok = _attempt(client, PASSWORDS["steward"])
    assert ok.status_code == 303 and ok.headers["location"] == "/console/"

    served.flush_audit()  # every attempt is in the audit, the refused one with its 429
    with transaction(served.county.ctx.db_url) as s:
        statuses = s.scalars(select(AuditEntry.status).where(
            AuditEntry.id > before, AuditEntry.path == "/console/login", AuditEntry.method == "POST",
            AuditEntry.user_name == "steward").order_by(AuditEntry.id)).all()
    assert statuses == [401] * allowed + [429, 303]
