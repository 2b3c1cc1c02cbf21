"""Downstream access: API keys, the audit log, and ``hub serve`` (the read API on uvicorn)."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer

from hub.cli.output import Column, print_table
from hub.cli.state import hub_of
from hub.errors import HubError


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="API keys for downstream apps (a key is shown once; only its hash is stored).",
                       no_args_is_help=True)
    keys.command("create")(keys_create)
    keys.command("list")(keys_list)
    keys.command("revoke")(keys_revoke)
    keys.command("rotate-secret")(keys_rotate_secret)
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
    from hub.db.session import transaction

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
    from hub.db.session import transaction

    hub = hub_of(ctx)
    hub.ensure_store()
    with transaction(hub.db_url) as session:
        rows = [describe(k) for k in list_keys(session)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    print_table([Column("name", keep=True), Column("prefix", keep=True), "scopes", Column("grid", keep=True),
                 "created", "revoked"],
                [(r["name"], r["prefix"], ", ".join(r["scopes"]), r["grid"], r["created_at"],  # type: ignore[arg-type]
                  r["revoked_at"]) for r in rows])


def keys_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="the key's name")]) -> None:
    """Revoke a key: it answers 401 from then on."""
    from hub.api.keys import revoke_key
    from hub.db.session import transaction

    hub = hub_of(ctx)
    hub.ensure_store()
    with transaction(hub.db_url) as session:
        key = revoke_key(session, name)
        when = key.revoked_at
    typer.echo(f"revoked {name!r} at {when:%Y-%m-%d %H:%M:%S} UTC")


def keys_rotate_secret(
    ctx: typer.Context,
    cipher: Annotated[str | None, typer.Option("--cipher", help="re-encrypt into this cipher: aes-gcm-siv or sm4 "
                                                "(default: cipher in hub.yaml)")] = None,
    keep_secret: Annotated[bool, typer.Option("--keep-secret", help="keep the secret; only re-encrypt "
                                              "(a cipher change, or values still in clear after an upgrade)")] = False,
) -> None:
    """Re-encrypt every ciphertext in the store under a new secret, in one transaction; then replace the key file."""
    from hub.privacy.ciphers import CIPHERS
    from hub.privacy.rotation import rotate_key_file

    hub = hub_of(ctx)
    hub.ensure_store()
    target = cipher or hub.config.cipher
    if target not in CIPHERS:
        raise HubError(f"unknown cipher {target!r} (known: {', '.join(CIPHERS)})")
    info = rotate_key_file(hub.db_url, hub.config.key_path, hub.config.cipher, cipher=target, keep_secret=keep_secret)
    typer.echo(f"re-encrypted {info.values} values ({', '.join(f'{t} {n}' for t, n in info.by_column.items()) or '-'}) "
               f"with {target} in {info.seconds:.1f} s; {'kept the secret' if keep_secret else 'new secret in'} "
               f"{info.key_file}")
    if target != hub.config.cipher:
        typer.echo(f"set `cipher: {target}` in hub.yaml so new values are written with it too", err=True)
    if not keep_secret:
        typer.echo("restart `hub serve` and every Airflow worker: they hold the old key (API cursors issued "
                   "before now answer 400)", err=True)


def audit(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Option("--key", help="only this key's requests (by name)")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The newest requests first: key, route, status, duration and the persons each response showed."""
    from sqlalchemy import select

    from hub.db.base import utc_text
    from hub.db.models import ApiKey, AuditEntry
    from hub.db.session import transaction

    hub = hub_of(ctx)
    hub.ensure_store()
    with transaction(hub.db_url) as session:
        stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        if key is not None:
            key_id = session.scalar(select(ApiKey.id).where(ApiKey.name == key))
            if key_id is None:
                raise HubError(f"no key named {key!r} (see `hub keys list`)")
            stmt = stmt.where(AuditEntry.key_id == key_id)
        rows = [{"at": utc_text(e.at, "milliseconds"), "key": e.key_name, "method": e.method,
                 "route": e.route, "path": e.path, "status": e.status, "duration_ms": e.duration_ms,
                 "person_ids": e.person_ids or [], "person_count": e.person_count, "user": e.user_name,
                 "query": e.query, "client": e.client} for e in session.scalars(stmt)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    table = []
    for r in rows:
        persons = r["person_ids"]
        shown = ", ".join(persons[:3]) + (f" (+{len(persons) - 3})" if len(persons) > 3 else "")
        if not persons and r["person_count"]:
            shown = f"{r['person_count']} persons"
        table.append((r["at"], r["key"] or r["user"] or "-", r["method"], r["route"],
                      r["path"] + (f"?{r['query']}" if r["query"] else ""), r["status"],
                      f"{r['duration_ms']:.1f}", shown or "-"))
    print_table(["at", Column("key", keep=True), "method", "route", Column("path", keep=True), "status", "ms",
                 Column("persons", keep=True)], table)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="default: api.host in hub.yaml")] = None,
    port: Annotated[int | None, typer.Option("--port", help="default: api.port in hub.yaml")] = None,
) -> None:
    """Serve the read API (one uvicorn worker; OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

    from hub.api.audit import access_log_config
    from hub.api.main import MAX_IN_FLIGHT, create_app
    from hub.privacy.rotation import check_key_opens_store

    hub = hub_of(ctx)
    hub.ensure_store()
    check_key_opens_store(hub.db_url, hub.vault)
    app = create_app(hub)
    cfg = hub.config.api
    host, port = host or cfg.host, port or cfg.port
    quiet = logging.getLogger().getEffectiveLevel() > logging.INFO  # --quiet (benchmarks): no access log
    for line in serve_banner(host, port, app):
        typer.echo(line)
    uvicorn.run(app, host=host, port=port, workers=1, log_level="warning" if quiet else "info",
                access_log=not quiet, limit_concurrency=MAX_IN_FLIGHT, log_config=access_log_config())


def serve_banner(host: str, port: int, app: object) -> list[str]:
    """The URLs `hub serve` answers on, so a person knows where to point a browser or an app."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    mounted = {getattr(r, "path", "") for r in getattr(app, "routes", [])}
    lines = [f"gridhub read API on {base}  (listening on {host}:{port})",
             f"  API docs:  {base}/docs   (OpenAPI: {base}/openapi.json)"]
    if "/console" in mounted:
        lines.append(f"  console:   {base}/console")
    lines.append("  every request is logged below; Ctrl-C stops")
    return lines
