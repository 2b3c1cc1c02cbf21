"""``hub users create|list|disable``: people who log in to the console (argon2-hashed passwords)."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from hub.cli.state import hub_of
from hub.errors import HubError

users_app = typer.Typer(help="Console users: stewards, township grid offices, viewers.", no_args_is_help=True)
PASSWORD_ENV = "HUB_CONSOLE_PASSWORD"


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


@users_app.command("create")
def create(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="login name (letters, digits, - and _)")],
    role: Annotated[str, typer.Option("--role", help="steward|grid|viewer")],
    grid: Annotated[str | None, typer.Option("--grid", help="the grid whose subtree the user sees (grid role: required)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="display name, e.g. 唐山镇网格办")] = None,
    password_env: Annotated[bool, typer.Option("--password-env", help=f"read the password from ${PASSWORD_ENV}")] = False,
) -> None:
    """Create a console user; the password is asked for twice (or read from $HUB_CONSOLE_PASSWORD)."""
    from hub.console.auth import create_user
    from hub.db.session import transaction

    if password_env:
        password = os.environ.get(PASSWORD_ENV) or ""
        if not password:
            raise HubError(f"--password-env given but ${PASSWORD_ENV} is empty")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    hub = hub_of(ctx)
    hub.ensure_store()
    with transaction(hub.db_url) as session:
        user = create_user(session, username, password, role, grid, name)
        shown = f"{user.username} ({user.role}{f', grid {user.grid_code}' if user.grid_code else ''})"
    typer.echo(f"console user {shown} created")


@users_app.command("list")
def list_users(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every console user: name, role, grid, created, disabled (never a password hash)."""
    from sqlalchemy import select

    from hub.db.models import ConsoleUser
    from hub.db.session import transaction

    hub = hub_of(ctx)
    hub.ensure_store()
    with transaction(hub.db_url) as session:
        rows = [{"username": u.username, "display_name": u.display_name, "role": u.role, "grid": u.grid_code,
                 "created_at": u.created_at.isoformat(sep=" ", timespec="seconds") + " UTC",
                 "disabled_at": u.disabled_at.isoformat(sep=" ", timespec="seconds") + " UTC" if u.disabled_at else None}
                for u in session.scalars(select(ConsoleUser).order_by(ConsoleUser.username))]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for r in rows:
        typer.echo(f"{r['username']}\t{r['role']}\t{r['grid'] or '-'}\t{r['display_name'] or ''}\t"
                   f"created {r['created_at']}" + (f"\tdisabled {r['disabled_at']}" if r["disabled_at"] else ""))


@users_app.command("disable")
def disable(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> None:
    """Disable a user and end their sessions at once."""
    from sqlalchemy import delete, select

    from hub.db.base import utcnow
    from hub.db.models import ConsoleSession, ConsoleUser
    from hub.db.session import transaction

    hub = hub_of(ctx)
    hub.ensure_store()
    with transaction(hub.db_url) as session:
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
        if user is None:
            raise HubError(f"no console user named {username!r} (see `hub users list`)")
        user.disabled_at = user.disabled_at or utcnow()
        session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    typer.echo(f"console user {username} disabled; their sessions are closed")
