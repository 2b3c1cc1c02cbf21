"""Downstream access: API keys, the audit log, and ``hub serve`` (the read API on uvicorn)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from hub.cli.state import hub_of
from hub.db.models import ApiKey, AuditEntry
from hub.db.session import transaction
from hub.errors import HubError

console = Console()


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="API keys for downstream apps (a key is shown once; only its hash is stored).",
                       no_args_is_help=True)
    keys.command("create")(keys_create)
    keys.command("list")(keys_list)
    keys.command("revoke")(keys_revoke)
    app.add_typer(keys, name="keys")
    app.command("audit")(audit)
    app.command("serve")(serve)


def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="who uses the key, e.g. township-grid-app")],
    scopes: Annotated[str, typer.Option("--scopes", help="comma-separated: read:grids,read:people,...")],
    grid: Annotated[str | None, typer.Option("--grid", help="bind the key to this grid's subtree")] = None,
) -> None:
    """Create a key and print it once."""
    from hub.api.keys import create_key, parse_scopes

    hub = hub_of(ctx)
    hub.ensure_store()
    wanted = parse_scopes(scopes)
    with transaction(hub.db_url) as session:
        key = create_key(session, name, wanted, grid)
    typer.echo(key)
    typer.echo(f"key {name!r} created with {', '.join(wanted)}{f' bound to grid {grid}' if grid else ''}; "
               "store it now: it cannot be shown again", err=True)


def keys_list(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List keys (name, prefix, scopes, grid, created, revoked); never the key itself."""
    from hub.api.keys import describe, list_keys

    hub = hub_of(ctx)
    hub.ensure_store()
    with transaction(hub.db_url) as session:
        rows = [describe(k) for k in list_keys(session)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    table = Table("name", "prefix", "scopes", "grid", "created", "revoked")
    for r in rows:
        table.add_row(str(r["name"]), str(r["prefix"]), ", ".join(r["scopes"]),  # type: ignore[arg-type]
                      str(r["grid"] or "-"), str(r["created_at"]), str(r["revoked_at"] or "-"))
    console.print(table)


def keys_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="the key's name")]) -> None:
    """Revoke a key: it answers 401 from then on."""
    from hub.api.keys import revoke_key

    hub = hub_of(ctx)
    hub.ensure_store()
    with transaction(hub.db_url) as session:
        key = revoke_key(session, name)
        when = key.revoked_at
    typer.echo(f"revoked {name!r} at {when:%Y-%m-%d %H:%M:%S} UTC")


def audit(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Option("--key", help="only this key's requests (by name)")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The newest requests first: key, route, status, duration and the persons each response showed."""
    hub = hub_of(ctx)
    hub.ensure_store()
    with transaction(hub.db_url) as session:
        stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        if key is not None:
            key_id = session.scalar(select(ApiKey.id).where(ApiKey.name == key))
            if key_id is None:
                raise HubError(f"no key named {key!r} (see `hub keys list`)")
            stmt = stmt.where(AuditEntry.key_id == key_id)
        rows = [{"at": e.at.isoformat(timespec="milliseconds"), "key": e.key_name, "method": e.method,
                 "route": e.route, "path": e.path, "status": e.status, "duration_ms": e.duration_ms,
                 "person_ids": e.person_ids or [], "person_count": e.person_count, "user": e.user_name,
                 "query": e.query, "client": e.client} for e in session.scalars(stmt)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    table = Table("at", "key", "method", "route", "path", "status", "ms", "persons")
    for r in rows:
        persons = r["person_ids"]
        shown = ", ".join(persons[:3]) + (f" (+{len(persons) - 3})" if len(persons) > 3 else "")
        if not persons and r["person_count"]:
            shown = f"{r['person_count']} persons"
        table.add_row(r["at"], r["key"] or r["user"] or "-", r["method"], r["route"],
                      r["path"] + (f"?{r['query']}" if r["query"] else ""), str(r["status"]),
                      f"{r['duration_ms']:.1f}", shown or "-")
    console.print(table)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="default: api.host in hub.yaml")] = None,
    port: Annotated[int | None, typer.Option("--port", help="default: api.port in hub.yaml")] = None,
) -> None:
    """Serve the read API (one uvicorn worker; OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

    from hub.api.main import MAX_IN_FLIGHT, create_app

    hub = hub_of(ctx)
    hub.ensure_store()
    app = create_app(hub)
    cfg = hub.config.api
    uvicorn.run(app, host=host or cfg.host, port=port or cfg.port, workers=1, log_level="warning",
                access_log=False, limit_concurrency=MAX_IN_FLIGHT)
