"""Done when: every file the hub writes during a county's sync, resolve, serve and exports is private,
and none holds a clear citizen ID or phone outside the store's encrypted columns and the export asked for."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from hub.api.keys import SCOPES, create_key
from hub.api.main import create_app
from hub.context import HubContext
from hub.db.models import AuditEntry, QuarantinedRow, SpecialStatus
from hub.db.session import get_engine, transaction
from hub.privacy.vault import is_token
from hub.resolve import resolve
from hub.stages.load import load
from hub.stages.replay import replay
from hub.stages.sync import sync
from hub.synth import generate
from hub.synth.server import start_in_thread

from .county import department_values, values_in

TOKEN = "security-test-token"
HUB = str(Path(sys.executable).with_name("hub"))


def _serve_and_read(ctx: HubContext, key: str) -> int:
    """Serve the API over loopback and read what a downstream app reads; returns the persons seen."""
    app = create_app(ctx)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            page = client.get("/persons", params={"limit": 200}).json()["items"]
            for p in page[:20]:
                assert client.get(f"/persons/{p['id']}").status_code == 200
            assert client.get("/changes", params={"limit": 500}).status_code == 200
            assert client.get("/events", params={"limit": 100}).status_code == 200
            assert client.get("/organizations", params={"limit": 100}).status_code == 200
        return len(page)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.hub.engine.dispose()


def test_every_file_the_hub_writes_is_private_and_holds_no_clear_id_or_phone(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    old_umask = os.umask(0o022)  # a typical login's umask: files 0644 unless the hub sees to it
    try:
        out = tmp_path / "county"
        generate(out, seed=11, residents=400, days=2, townships=1)
        url, stop = start_in_thread(out, TOKEN, rate_limit_per_s=1e6, fail_rate=0.0)
        cfg = out / "hub.yaml"
        cfg.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{url}"', cfg.read_text(encoding="utf-8")),
                       encoding="utf-8")
        monkeypatch.setenv("PUBLIC_SECURITY_TOKEN", TOKEN)
        os.umask(0o022)
        try:
            ctx = HubContext.from_config(cfg)
            ctx.ensure_store()
            stale = ctx.landing / "retired-source" / "20260101T000000-old"  # a source that stopped syncing
            stale.mkdir(parents=True)
            (stale / "raw-00000.arrow").write_bytes(b"110105194912310021")
            os.utime(stale, (time.time() - 40 * 86400,) * 2)
            runs = {name: sync(ctx, name, resolve=False) for name in ctx.config.sources}
            assert not stale.exists()
            # the Arrow files went when each load committed; a retried load still answers from the ledger
            again = load(ctx, "population", runs["population"].run_id)
            assert again.streams == runs["population"].load.streams
            replayed = replay(ctx, source=next(n for n, r in runs.items()
                                               if sum(c["quarantined"] for c in r.load.streams.values())))
            assert replayed.runs
            resolve(ctx)
            with transaction(ctx.db_url) as s:
                specials = s.execute(select(SpecialStatus.id, SpecialStatus.category_enc).order_by(SpecialStatus.id)).all()
            resolve(ctx)  # compared in clear: an unchanged status is not rewritten with a fresh ciphertext
            with transaction(ctx.db_url) as s:
                assert specials and s.execute(select(SpecialStatus.id, SpecialStatus.category_enc).order_by(SpecialStatus.id)).all() == specials
        finally:
            stop()
        with transaction(ctx.db_url) as s:
            key = create_key(s, "crawl", list(SCOPES))
            quarantined = s.scalar(select(QuarantinedRow.id).order_by(QuarantinedRow.id).limit(1))
        assert _serve_and_read(ctx, key) > 0
        export = out / "exports" / "links.csv"
        env = {**os.environ, "HUB_CONFIG": str(cfg)}
        done = subprocess.run([HUB, "links", "export", "--out", str(export)], env=env, capture_output=True,
                              text=True, timeout=300, preexec_fn=lambda: os.umask(0o022))
        assert done.returncode == 0, done.stderr
        assert "readable only by you" in done.stderr and "hub audit" in done.stderr
        assert quarantined is not None
        shown = subprocess.run([HUB, "quarantine", "show", str(quarantined)], env=env, capture_output=True,
                               text=True, timeout=300, preexec_fn=lambda: os.umask(0o022))
        assert shown.returncode == 0, shown.stderr
        get_engine(ctx.db_url).dispose()

        hub_dirs = [out / "var", out / "exports"]
        clear = department_values(out, hub_dirs)
        assert len(clear) > 300  # the county's IDs and phones, or the crawl proves nothing
        export_values = values_in(export.read_bytes())
        assert export_values & clear  # the export asked for holds the civil-affairs IDs, in clear, on purpose
        leaks: dict[str, list[str]] = {}
        exposed: list[str] = []
        files = 0
        for root in hub_dirs:
            for path in [root, *root.rglob("*")]:
                mode = stat.S_IMODE(path.lstat().st_mode)
                if mode & 0o077:
                    exposed.append(f"{path.relative_to(out)} {oct(mode)}")
                if path.is_file() and path != export:
                    files += 1
                    found = values_in(path.read_bytes()) & clear
                    if found:
                        leaks[str(path.relative_to(out))] = sorted(v.decode() for v in found)[:3]
        assert files > 5
        assert not exposed, exposed
        assert not leaks, leaks
        with transaction(ctx.db_url) as s:
            reads = {e.route: e for e in s.scalars(select(AuditEntry).where(AuditEntry.method == "CLI"))}
            categories = list(s.scalars(select(SpecialStatus.category_enc)))
        assert categories and all(is_token(c) for c in categories)
        assert reads["links export"].person_count and reads["links export"].path == str(export.resolve())
        assert reads["links export"].user_name and reads["quarantine show"].person_count == 1
    finally:
        os.umask(old_umask)
