"""``sync --all`` prunes every source's expired landing folders once, before its first source, not in each
source's extract (issue 19: a week of 5-minute syncs of six sources is ~12,000 run folders, ~0.09 CPU s
a listing, six listings a sync); folders still within the retention stay, as before."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hub.stages.sync import sync_sources

from .conftest import make_context, write_config


def test_sync_sources_prunes_expired_folders_of_every_source(county: Path, tmp_path: Path) -> None:
    ctx = make_context(write_config(tmp_path / "hub", county))
    expired, recent = ctx.landing / "population" / "20260101T000000-dead", ctx.landing / "old-source" / "r1"
    kept = ctx.landing / "fire-safety" / "20261101T000000-live"
    for folder in (expired, recent, kept):
        folder.mkdir(parents=True)
    week_ago = time.time() - 8 * 86400
    os.utime(expired, (week_ago, week_ago))
    os.utime(recent, (week_ago, week_ago))
    report = sync_sources(ctx, ["fire-safety"], resolve=False)
    assert report.ok
    assert not expired.exists() and not recent.exists()  # another source's, and one no longer configured
    assert kept.exists()
