"""What the global options leave for every command: the config path, built lazily into a context."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # the context pulls config, plugins and the vault: built only when a command asks
    from hub.context import HubContext


@dataclass
class CliState:
    config_path: Path
    debug: bool = False
    _ctx: HubContext | None = field(default=None, repr=False)

    @property
    def hub(self) -> HubContext:
        if self._ctx is None:
            from hub.context import HubContext

            self._ctx = HubContext.from_config(self.config_path)
        return self._ctx


def hub_of(ctx: typer.Context) -> HubContext:
    state: CliState = ctx.obj
    return state.hub



def click_exceptions() -> tuple[tuple[type[Exception], ...], tuple[type[BaseException], ...]]:
    """(errors that show themselves, aborts) of both click and the copy typer ≥ 0.2x vendors.

    typer raises its vendored click's exceptions, which are not click's: a handler catching only
    ``click.ClickException`` let every usage error through as "unexpected" (exit 1, no usage).
    """
    import click

    shown: list[type[Exception]] = [click.exceptions.ClickException]
    aborts: list[type[BaseException]] = [click.exceptions.Abort, typer.Abort]
    try:
        from typer._click import exceptions as vendored

        shown.append(vendored.ClickException)
    except ImportError:  # a typer that uses the click package itself
        pass
    return tuple(shown), tuple(aborts)


def _usage_error() -> type[Exception]:
    try:
        from typer._click.exceptions import UsageError as Vendored

        return Vendored
    except ImportError:
        from click.exceptions import UsageError as Click

        return Click


#: raise UsageError("…") for a usage mistake: the usage is printed and the exit status is 2
UsageError = _usage_error()
