"""Resolve: project loaded source records into the unified grid model's entities."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.context import HubContext
from hub.resolve.grids import project_grids


@dataclass
class ResolveInfo:
    grids: dict[str, int] = field(default_factory=dict)


def resolve(ctx: HubContext, sources: list[str] | None = None) -> ResolveInfo:
    """Idempotent: running it twice on the same records changes nothing."""
    ctx.ensure_store()
    info = ResolveInfo()
    info.grids = project_grids(ctx)
    return info
