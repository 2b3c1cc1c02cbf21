"""`hub users create|list|disable`: argon2 hashes, clear one-line errors, disabling ends sessions."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from hub.cli import app
from hub.db.models import ConsoleUser
from hub.db.session import transaction

runner = CliRunner()


def test_users_cli(served, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    county = served.county
    config = ["--config", str(county.out / "hub.yaml")]
    monkeypatch.setenv("HUB_CONSOLE_PASSWORD", "office-pass-9")
    ok = runner.invoke(app, [*config, "users", "create", "office", "--role", "grid", "--grid", county.village,
                             "--name", "网格办", "--password-env"])
    assert ok.exit_code == 0, ok.output
    with transaction(county.ctx.db_url) as s:
        stored = s.scalar(select(ConsoleUser.password_hash).where(ConsoleUser.username == "office"))
    assert stored.startswith("$argon2id$") and "office-pass-9" not in stored
    for args, words in ((["office", "--role", "grid", "--grid", county.village], "already exists"),
                        (["other", "--role", "grid"], "needs --grid"),
                        (["other", "--role", "grid", "--grid", "999999999999"], "no grid"),
                        (["other", "--role", "admin"], "unknown role")):
        bad = runner.invoke(app, [*config, "users", "create", *args, "--password-env"])
        assert bad.exit_code != 0 and words in bad.output + str(bad.exception), (args, bad.output)
    listed = json.loads(runner.invoke(app, [*config, "users", "list", "--json"]).output)
    office = next(u for u in listed if u["username"] == "office")
    assert office["role"] == "grid" and office["grid"] == county.village and "password_hash" not in office
    # a live session ends when the user is disabled
    import httpx

    client = httpx.Client(base_url=served.url, follow_redirects=False)
    token = client.get("/console/login").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert client.post("/console/login", data={"username": "office", "password": "office-pass-9",
                                               "csrf": token}).status_code == 303
    assert client.get(f"/console/grids/{county.village}").status_code == 200
    assert runner.invoke(app, [*config, "users", "disable", "office"]).exit_code == 0
    assert client.get(f"/console/grids/{county.village}").status_code == 303  # back to the login form
