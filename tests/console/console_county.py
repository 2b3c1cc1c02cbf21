"""A small synthetic county synced and resolved for real, with a pair waiting for review, and one
console user per role. Shared by the console's tests, `make screenshots` and bench_console.py."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from hub.context import HubContext
from hub.db.models import GridCell, MatchReview, SourceRecord
from hub.db.session import transaction
from hub.quality.deferred import build_awaited_docs

TOKEN = "console-test-token"
PASSWORDS = {"steward": "steward-pass-1", "grid": "grid-pass-1", "viewer": "viewer-pass-1"}


@dataclass
class County:
    out: Path
    ctx: HubContext
    village: str  # the grid user's village
    other_village: str  # a village of the same township they must not see
    township: str


def _queue_pair(ctx: HubContext) -> int:
    """Two population records of different people bearing the same name, queued for a steward through the
    hub's own ``request_review`` (at 600 residents the model itself rarely leaves a pair between its thresholds)."""
    from hub.resolve.review import request_review

    with transaction(ctx.db_url) as s:
        rows = s.execute(select(SourceRecord.source_key, SourceRecord.data).where(
            SourceRecord.source == "population", SourceRecord.stream == "persons").order_by(SourceRecord.id)).all()
    by_name: dict[str, list[str]] = {}
    for key, data in rows:
        by_name.setdefault(str((data or {}).get("name")), []).append(key)
    same = next((keys for keys in by_name.values() if len(keys) > 1), [rows[0][0], rows[1][0]])
    left, right = f"population|persons|{same[0]}", f"population|persons|{same[1]}"
    return request_review(ctx, "person", left, right, 0.62, {"name": len(same) > 1, "phone": False})


def build(out: Path, residents: int = 600) -> County:
    """Generate, sync every source, resolve, queue a review pair, create one user per role."""
    from hub.console.auth import create_user
    from hub.resolve import resolve
    from hub.stages.sync import sync
    from hub.synth import generate
    from hub.synth.server import start_in_thread

    generate(out, seed=7, residents=residents, days=1, townships=1)
    url, stop = start_in_thread(out, TOKEN, rate_limit_per_s=1e6, fail_rate=0.0)
    try:
        cfg = out / "hub.yaml"
        cfg.write_text(re.sub(r'base_url: "[^"]+"', f'base_url: "{url}"', cfg.read_text(encoding="utf-8")),
                       encoding="utf-8")
        os.environ["PUBLIC_SECURITY_TOKEN"] = TOKEN
        ctx = HubContext.from_config(cfg)
        ctx.ensure_store()
        installed = set(ctx.host.connectors())
        sources = [name for name, s in ctx.config.sources.items() if s.connector in installed]
        for name in sources:
            sync(ctx, name, resolve=False)
        resolve(ctx)
        build_awaited_docs(ctx)  # the quality pass: Data Docs of the runs checked without GX at sync
        _queue_pair(ctx)
    finally:
        stop()
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(MatchReview.id).where(MatchReview.status == "pending").limit(1)) is not None
        villages = list(s.scalars(select(GridCell.code).where(GridCell.level == 2).order_by(GridCell.code)))
        township = s.scalar(select(GridCell.code).where(GridCell.level == 1))
        create_user(s, "steward", PASSWORDS["steward"], "steward", display_name="县数据管理员")
        create_user(s, "grid", PASSWORDS["grid"], "grid", villages[0], display_name="网格办")
        create_user(s, "viewer", PASSWORDS["viewer"], "viewer", display_name="督查")
    return County(out=out, ctx=ctx, village=villages[0], other_village=villages[-1], township=township)
