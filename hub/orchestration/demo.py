"""``hub demo``: a synthetic township through every pipeline on real Airflow, then the read API.

Re-running on the same folder is incremental: the county is synthesised once, and each run
syncs only what changed since the committed state.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hub.errors import HubError

log = logging.getLogger(__name__)

DEMO_TOKEN = "demo-token"
TOKEN_ENV = "PUBLIC_SECURITY_TOKEN"
FINAL_DAGS = ("gridhub_resolve", "gridhub_events", "gridhub_quality")


@dataclass
class DemoSummary:
    folder: Path
    fresh: bool
    dags: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, int]] = field(default_factory=dict)
    entities: dict[str, int] = field(default_factory=dict)
    links: int = 0
    review_pending: int = 0
    overdue_events: int = 0
    quarantine_open: int = 0
    data_docs: str | None = None

    @property
    def ok(self) -> bool:
        return all(d["state"] == "success" for d in self.dags.values())


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_public_security(folder: Path) -> Any:
    """Serve the county's public-security data on the port hub.yaml names (or a free one, rewritten)."""
    from hub.synth.server import start_in_thread

    config = folder / "hub.yaml"
    text = config.read_text(encoding="utf-8")
    match = re.search(r'base_url:\s*"?http://127\.0\.0\.1:(\d+)"?', text)
    port = int(match.group(1)) if match else 8765
    if not _port_free(port):
        port = _free_port()
        text = re.sub(r'(base_url:\s*"?http://127\.0\.0\.1:)\d+', rf"\g<1>{port}", text)
        config.write_text(text, encoding="utf-8")
    os.environ[TOKEN_ENV] = DEMO_TOKEN
    _, handle = start_in_thread(folder / "public-security", DEMO_TOKEN, port=port)
    log.info("simulated public-security API on http://127.0.0.1:%d", port)
    return handle


def run_demo(folder: Path, *, residents: int = 20000, seed: int = 7, days: int = 3) -> DemoSummary:
    from hub.orchestration.airflow_home import airflow_env, apply, migrate_metadata
    from hub.orchestration.tasks import dag_sources

    folder = folder.resolve()
    config = folder / "hub.yaml"
    fresh = not config.exists()
    if fresh:
        from hub.synth import generate

        log.info("synthesising a township of %d residents into %s", residents, folder)
        generate(folder, seed=seed, residents=residents, days=days)
    summary = DemoSummary(folder=folder, fresh=fresh)
    stop_server = start_public_security(folder)
    try:
        env = airflow_env(folder / "airflow", hub_config=config)
        migrate_metadata(env)
        apply(env)
        from hub.orchestration.airflow_run import run_dags

        dag_ids = [s.dag_id for s in dag_sources(config)] + list(FINAL_DAGS)
        summary.dags = run_dags(dag_ids)
    finally:
        stop_server()
    fill_summary(summary, config)
    return summary


def fill_summary(summary: DemoSummary, config: Path) -> None:
    from hub.context import HubContext
    from hub.db import models as m
    from hub.db.session import transaction
    from hub.quality.docs import site_index

    ctx = HubContext.from_config(config)
    with transaction(ctx.db_url) as session:
        for source in ctx.config.sources:
            run = session.scalars(select(m.Run).where(m.Run.source == source).order_by(m.Run.started_at.desc())
                                  .limit(1)).first()
            if run is None:
                continue
            totals = session.execute(
                select(func.sum(m.Run.read), func.sum(m.Run.loaded), func.sum(m.Run.quarantined))
                .where(m.Run.source == source, m.Run.state == "success")).one()
            summary.sources[source] = {"last_run_read": run.read, "last_run_loaded": run.loaded,
                                       "last_run_state": run.state, "read": totals[0] or 0,
                                       "loaded": totals[1] or 0, "quarantined": totals[2] or 0}
        kinds = {"grids": m.GridCell, "persons": m.Person, "households": m.Household, "buildings": m.Building,
                 "organizations": m.Organization, "events": m.Event}
        summary.entities = {k: session.scalar(select(func.count()).select_from(model)) or 0
                            for k, model in kinds.items()}
        summary.links = session.scalar(select(func.count()).select_from(m.EntityLink)) or 0
        summary.review_pending = session.scalar(
            select(func.count()).select_from(m.MatchReview).where(m.MatchReview.status == "pending")) or 0
        summary.overdue_events = session.scalar(
            select(func.count()).select_from(m.Event).where(m.Event.overdue.is_(True))) or 0
        summary.quarantine_open = session.scalar(
            select(func.count()).select_from(m.QuarantinedRow).where(m.QuarantinedRow.status == "open")) or 0
    index = site_index(ctx)
    summary.data_docs = str(index) if index.exists() else None


def demo_key(config: Path) -> str:
    """A fresh all-scopes key for the demo (the previous demo key is revoked)."""
    from hub.api.keys import create_key, revoke_key
    from hub.context import HubContext
    from hub.db.models import ApiKey
    from hub.db.session import transaction

    ctx = HubContext.from_config(config)
    scopes = ["read:grids", "read:people", "read:events", "read:quality"]
    with transaction(ctx.db_url) as session:
        for old in session.scalars(select(ApiKey).where(ApiKey.name.like("demo-%"), ApiKey.revoked_at.is_(None))):
            revoke_key(session, old.name)
        existing = session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.name.like("demo-%"))) or 0
        return create_key(session, f"demo-{existing + 1}", scopes)


def ensure_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise HubError(f"demo folder {folder} exists and is not a folder")
