"""A small synthetic province (three counties with movers between them), synced once per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

SECRET = "province-tests-secret"


def sync_province(config: Path) -> None:
    """Every enabled source of every county, in name order, without resolving (the test resolves)."""
    from hub.context import HubContext
    from hub.stages.sync import sync_sources

    ctx = HubContext.from_config(config)
    names = sorted(n for n, spec in ctx.config.sources.items() if spec.enabled)
    report = sync_sources(ctx, names, resolve=False)
    assert not report.failed, [(o.source, o.reason) for o in report.failed]


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The province folder (hub.yaml, movers.json), its SQLite store loaded and not yet resolved."""
    from hub.synth.province import generate_province

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", SECRET)
        out = tmp_path_factory.mktemp("province")
        summary = generate_province(out, counties=3, residents=300, days=1, movers=15)
        assert summary.movers == 30
        sync_province(out / "hub.yaml")
        yield out
