"""The ``hub`` command. Every user-facing failure is one line on stderr and a non-zero exit;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.state import CliState
from hub.errors import HubError

app = typer.Typer(name="hub", help="gridhub: one grid data model from a county's department systems.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

# Command groups, one module each; each exposes `register(app)` or is a Typer `app` of its own.
COMMAND_MODULES = ("core", "synth", "quality", "review", "access", "demo", "township", "users", "province")


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[Path, typer.Option("--config", "-c", help="hub.yaml to use", envvar="HUB_CONFIG")] = Path("hub.yaml"),
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks and debug logs")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only warnings and errors")] = False,
) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    configure_logging(level)
    ctx.obj = CliState(config_path=config, debug=debug)


def configure_logging(level: int) -> None:
    root = logging.getLogger()
    if getattr(root, "_hub_configured", False):
        root.setLevel(level)
        return
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_path=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("alembic", "great_expectations", "httpx", "urllib3", "airflow", "splink", "asyncio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    root._hub_configured = True  # type: ignore[attr-defined]


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now: a runner that swaps it (tests, embedding) keeps logs."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"hub.cli.{name}")
        if hasattr(module, "register"):
            module.register(app)
        else:  # a command group shipped as its own Typer app
            app.add_typer(module.app, name=name)


_register_commands()


def main() -> None:
    """Console entry point: turn HubError (and Ctrl-C) into one line and an exit code."""
    debug = "--debug" in sys.argv
    try:
        rc = app(standalone_mode=False)  # click returns (not raises) a typer.Exit's code in this mode
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except HubError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # usage errors (exit 2, with the usage) and the unexpected
        from hub.cli.state import click_exceptions

        shown, aborts = click_exceptions()
        if isinstance(exc, shown):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if isinstance(exc, aborts):
            sys.exit(1)
        if debug or os.environ.get("HUB_DEBUG"):
            raise
        first = (str(exc).splitlines() or [""])[0]
        typer.echo(f"error: unexpected {type(exc).__name__}: {first} (run with --debug for the traceback)", err=True)
        sys.exit(1)
