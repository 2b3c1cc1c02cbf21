"""County IT's commands: init, plugins, check, discover, sync, resolve, runs, grids, db."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.output import Column, echo_json, is_terminal, print_table
from hub.cli.progress import SyncProgress
from hub.cli.starter import STARTER_CONFIG
from hub.cli.state import CliState, UsageError, hub_of
from hub.errors import ConfigError, HubError

if TYPE_CHECKING:  # the store's modules (SQLAlchemy, every model) are imported by the commands that read it
    from rich.tree import Tree

    from hub.db.models import GridCell



def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("plugins")(plugins)
    app.command("check")(check)
    app.command("discover")(discover)
    app.command("sync")(sync_cmd)
    app.command("resolve")(resolve_cmd)
    app.command("runs")(runs)
    app.command("grids")(grids)
    db = typer.Typer(help="Schema migrations of the unified store.", no_args_is_help=True)
    db.command("upgrade")(db_upgrade)
    db.command("downgrade")(db_downgrade)
    app.add_typer(db, name="db")


def init(ctx: typer.Context) -> None:
    """Start a new install: write a starter hub.yaml (if none), a fresh secret key, and the schema."""
    state: CliState = ctx.obj
    if not state.config_path.exists():
        state.config_path.write_text(STARTER_CONFIG, encoding="utf-8")
        typer.echo(f"wrote {state.config_path}: every department system is listed, disabled until you fill it in")
    hub = state.hub
    key = hub.config.key_path
    if key.exists():
        typer.echo(f"secret key already present: {key}")
    else:
        _ = hub.vault
        typer.echo(f"wrote a new secret key: {key} (back it up: stored IDs and phones are unreadable without it)")
    hub.ensure_store()
    typer.echo(f"store ready: {hub.config.database_url}")
    typer.echo(f"next: edit {state.config_path}, then `hub check SOURCE`, `hub discover SOURCE`, `hub sync --all`")


def plugins(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List installed plugins, their versions and what each registers."""
    from hub.plugins import get_host

    infos = get_host().describe()
    if as_json:
        echo_json([vars(i) for i in infos])
        return
    print_table([Column("plugin", keep=True), Column("distribution", keep=True), "version",
                 Column("connectors", keep=True),
                 "checks", "contracts"],
                [(i.name, i.distribution, i.version, ", ".join(i.connectors), ", ".join(i.checks),
                  len(i.contract_paths)) for i in infos])


def check(ctx: typer.Context, source: str) -> None:
    """Test a source's connectivity and credentials."""
    hub = hub_of(ctx)
    spec, connector = hub.source(source)
    connector.check(spec)
    typer.echo(f"ok: {source} ({connector.name}) is reachable")


def discover(ctx: typer.Context, source: str) -> None:
    """Print a source's streams, keys and columns."""
    hub = hub_of(ctx)
    spec, connector = hub.source(source)
    for stream in connector.streams(spec):
        contract = hub.contracts.find(connector.name, stream.name)
        cols = stream.columns() or (contract.raw_columns if contract else [])
        typer.echo(f"{stream.name}  key={'+'.join(stream.primary_key)}  cursor={stream.cursor_field or '-'}")
        for col in cols:
            canonical = next((c for c in contract.columns if c.raw == col), None) if contract else None
            note = f" -> {canonical.name} ({canonical.logical_type}{', ' + canonical.classification if canonical.classification else ''})" if canonical else ""
            typer.echo(f"    {col}{note}")


def sync_cmd(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Argument(help="source name from hub.yaml")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="sync every enabled source")] = False,
    no_resolve: Annotated[bool, typer.Option("--no-resolve", help="stop after load")] = False,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="re-read everything, ignoring saved state")] = False,
) -> None:
    """Extract, validate and load what changed in a source (then resolve).

    With --all, one source failing does not stop the others: the end prints each source's outcome
    and the exit status is non-zero when any failed.
    """
    if all_sources == (source is not None):
        raise UsageError("name one source or pass --all")
    from hub.stages.preflight import preflight
    from hub.stages.sync import sync_sources

    hub = hub_of(ctx)
    names = [n for n, s in hub.config.sources.items() if s.enabled] if all_sources else [str(source)]
    if not names:
        raise ConfigError(f"no enabled sources in {ctx.obj.config_path}: fill one in and set `enabled: true`")
    problems = preflight(hub, names)
    if problems and not all_sources:
        raise ConfigError(str(problems[0].reason))
    for problem in problems:
        typer.echo(f"not syncing {problem}", err=True)
    progress = SyncProgress()
    with progress.running():
        report = sync_sources(hub, names, resolve=not no_resolve, full_refresh=full_refresh,
                              progress_for=progress.extract_for, on_stage=progress.stage,
                              on_resolve_step=progress.resolve_step)
    for outcome in report.outcomes:
        if outcome.info is None:
            continue
        for stream, counts in outcome.info.load.streams.items():
            typer.echo(f"{outcome.source}.{stream}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        typer.echo(f"run {outcome.run_id}: success")
        if outcome.quarantined:
            typer.echo(f"{outcome.quarantined} row(s) quarantined: see `hub quarantine list --source "
                       f"{outcome.source}`")
    if report.resolve is not None:
        print_resolve(report.resolve)
    elif report.resolve_error:
        typer.echo(f"resolve failed: {report.resolve_error}", err=True)
    elif report.resolve_skipped:
        typer.echo("resolve: nothing loaded since the last resolve today (skipped)")
    if all_sources:
        print_table([Column("source", keep=True), "result", Column("run", keep=True), Column("reason", keep=True)],
                    [(o.source, "ok" if o.ok else "FAILED", o.run_id, o.reason) for o in report.outcomes],
                    title="sync summary")
    if not all_sources and report.failed:
        raise HubError(str(report.failed[0].reason))
    if not report.ok:
        failed = ", ".join(o.source for o in report.failed) or "resolve"
        typer.echo(f"error: sync failed for {failed}", err=True)
        raise typer.Exit(1)


def resolve_cmd(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Run the resolve stage on what has been loaded."""
    from dataclasses import asdict

    from hub.resolve import resolve

    info = resolve(hub_of(ctx))
    if as_json:
        typer.echo(json.dumps(asdict(info), ensure_ascii=False, indent=1))
    else:
        print_resolve(info)


def print_resolve(info) -> None:  # type: ignore[no-untyped-def]
    for step, seconds in info.seconds.items():
        counts = getattr(info, step)
        shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "nothing to do"
        typer.echo(f"resolve {step} ({seconds:.1f}s): {shown}")


def runs(ctx: typer.Context, source: Annotated[str | None, typer.Argument()] = None,
         limit: Annotated[int, typer.Option(help="most recent runs to show")] = 20,
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The run ledger: per run and per stream, read = loaded + unchanged + quarantined + tombstoned."""
    from hub.stages.ledger import recent_runs

    hub = hub_of(ctx)
    hub.ensure_store()
    rows = []
    for run in recent_runs(hub, source, limit):
        base = {"source": run.source, "run_id": run.run_id, "started_at": _iso(run.started_at),
                "finished_at": _iso(run.finished_at), "state": run.state}
        rows.append(base | {"stream": None} | _counts(run) | {"stage": run.stage, "error": run.error})
        for s in sorted(run.streams, key=lambda s: s.stream):
            rows.append(base | {"stream": s.stream} | _counts(s) | {"withheld": s.withheld})  # of loaded+unchanged
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        typer.echo("no runs yet: `hub sync SOURCE` or `hub sync --all` starts one")
        return
    numbers = [Column(k, justify="right") for k in ("read", "loaded", "unchanged", "quarantined", "tombstoned")]
    if is_terminal():  # a person reading: each run's line, then its streams (fits 80 columns, ids whole)
        for r in rows:
            if r["stream"] is None:
                typer.echo(f"\nrun {r['run_id']}  {r['source']}  {r['state']}  (started {r['started_at']})")
                streams = [s for s in rows if s["run_id"] == r["run_id"] and s["stream"] is not None]
                print_table([Column("stream", keep=True), *numbers],
                            [(s["stream"], *(s[k] for k in ("read", "loaded", "unchanged", "quarantined",
                                                             "tombstoned"))) for s in [*streams, r | {"stream": "(run)"}]])
                if r.get("error"):
                    typer.echo(f"failed: {r['error']}")
        return
    print_table([Column("run", keep=True), Column("source", keep=True), Column("stream", keep=True), "state",
                 *numbers],
                [(r["run_id"], r["source"], r["stream"] or "(run)", r["state"],
                  *(r[k] for k in ("read", "loaded", "unchanged", "quarantined", "tombstoned"))) for r in rows])
    for r in rows:
        if r["stream"] is None and r.get("error"):
            typer.echo(f"{r['run_id']}: {r['error']}")


def _counts(obj: object) -> dict[str, int]:
    return {k: getattr(obj, k) for k in ("read", "loaded", "unchanged", "quarantined", "tombstoned")}


def _iso(value: dt.datetime | None) -> str | None:
    from hub.db.base import utc_text

    return utc_text(value)


def grids(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The grid tree: township -> village/community -> group."""
    from rich.console import Console
    from rich.tree import Tree
    from sqlalchemy import select

    from hub.db.models import GridCell
    from hub.db.session import transaction

    hub = hub_of(ctx)
    hub.ensure_store()
    with transaction(hub.db_url) as session:
        cells = list(session.scalars(select(GridCell).where(GridCell.retired.is_(False)).order_by(GridCell.code)))
    if as_json:
        typer.echo(json.dumps([{"code": c.code, "name": c.name, "level": c.level, "parent": c.parent_code}
                               for c in cells], ensure_ascii=False, indent=1))
        return
    if not cells:
        typer.echo("no grids loaded yet: run `hub sync grid-registry`")
        return
    by_parent: dict[str | None, list[GridCell]] = {}
    for c in cells:
        by_parent.setdefault(c.parent_code, []).append(c)
    root = Tree(f"grids ({len(cells)})")
    labels = {1: "一级网格", 2: "二级网格", 3: "三级网格"}

    def add(node: Tree, parent: str | None) -> None:
        for c in by_parent.get(parent, []):
            add(node.add(f"{c.name} [dim]{c.code} · level {c.level} {labels.get(c.level, '')}[/dim]"), c.code)

    known = {c.code for c in cells}
    add(root, None)
    for orphan_parent in sorted(p for p in by_parent if p is not None and p not in known):
        add(root, orphan_parent)
    Console().print(root)


def db_upgrade(ctx: typer.Context, revision: str = "heads") -> None:
    """Apply migrations up to REVISION."""
    from hub.db.migrate import upgrade

    hub = hub_of(ctx)
    upgrade(hub.db_url, revision)
    typer.echo(f"upgraded {hub.config.database} to {revision}")


def db_downgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument()] = "base") -> None:
    """Revert migrations down to REVISION."""
    from hub.db.migrate import downgrade

    hub = hub_of(ctx)
    downgrade(hub.db_url, revision)
    typer.echo(f"downgraded {hub.config.database} to {revision}")


