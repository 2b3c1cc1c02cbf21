"""What the global options leave for every command: the config path, built lazily into a context."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from hub.context import HubContext


@dataclass
class CliState:
    config_path: Path
    debug: bool = False
    _ctx: HubContext | None = field(default=None, repr=False)

    @property
    def hub(self) -> HubContext:
        if self._ctx is None:
            self._ctx = HubContext.from_config(self.config_path)
        return self._ctx


def hub_of(ctx: typer.Context) -> HubContext:
    state: CliState = ctx.obj
    return state.hub
