"""One small synthetic county (1,500 residents, 2 days) synced through every installed connector."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from county import build_county, sync_all  # noqa: E402


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(out dir, ctx, synced sources, first resolve counts); the store is fully resolved once."""
    from hub.resolve.entities import resolve_entities
    from hub.resolve.grids import project_grids

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", "resolve-tests-secret")
        out = tmp_path_factory.mktemp("county")
        ctx, stop, sources = build_county(out, residents=1500, days=2)
        try:
            ctx.ensure_store()
            sync_all(ctx, sources)
            project_grids(ctx)  # as the resolve stage does first: the registry names the townships
            counts = resolve_entities(ctx)
            yield out, ctx, sources, counts
        finally:
            stop()
